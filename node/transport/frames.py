"""The frame format and a blocking socket that reads and writes whole frames, without trio.

    u32 frame length (bytes after this field, big-endian)
    32 bytes HMAC-SHA256(cluster secret, everything after the HMAC)
    u32 header length
    header: one orjson object
    body: raw bytes (bulk lines, stored sources ...) — never JSON-encoded a second time

A frame whose HMAC does not match is refused with FrameAuthenticationError and the connection
must be dropped: after a bad frame nothing on the stream can be trusted. This module owns the
bytes on the wire; it must never interpret a header beyond decoding it, and never import trio:
the shard worker, which has no event loop (ADR 0215), starts by importing it, and a restarted
node's shards wait for that start (trio costs ~0.5 CPU-s to import). ``node.transport.framing``
adds the trio carrier of the same frames, ``FrameStream``.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import struct
import threading

import orjson

from node.transport.errors import FrameAuthenticationError, FrameError

LENGTH_PREFIX = struct.Struct(">I")
HMAC_BYTES = 32
# the largest HTTP body (--max-content-length ≤ 2gb) plus room for its header; u32 allows 4 GiB
DEFAULT_MAX_FRAME_BYTES = 2 * 1024**3 + 64 * 1024**2
# Above this size the HMAC runs in a worker thread (hashlib releases the GIL on big buffers), so a
# 100 MB bulk body does not stall the event loop for the ~100 ms its digest takes.
THREADED_HMAC_BYTES = 1024 * 1024
RECEIVE_CHUNK_BYTES = 4 * 1024 * 1024  # recv allocates max_bytes each call: keep it bounded
# What one receive asks for when no more than this is known to be missing. socket.recv allocates
# its whole max_bytes and shrinks the result: asking for 4 MiB to read a 2 KB search reply cost
# ~25 µs of CPU per receive here (glibc hands such blocks out and back with mmap/trim), 64 KiB
# costs ~4 µs — most frames (every search phase) are far smaller.
SMALL_RECEIVE_BYTES = 64 * 1024


def frame_hmac(secret: bytes, *parts: bytes) -> bytes:
    if len(parts) == 1:
        return hmac.digest(secret, parts[0], "sha256")   # OpenSSL's one-shot: no HMAC object
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part)
    return mac.digest()


def encode_frame(secret: bytes, header: dict, body: bytes = b"") -> list[bytes]:
    """The frame as a list of buffers (so a large body is not copied into one bytes object)."""
    header_bytes = orjson.dumps(header)
    header_length = LENGTH_PREFIX.pack(len(header_bytes))
    if len(body) < 65536:
        # one short buffer through the one-shot digest costs less than three HMAC updates
        digest = frame_hmac(secret, header_length + header_bytes + body)
    else:
        digest = frame_hmac(secret, header_length, header_bytes, body)
    total = HMAC_BYTES + LENGTH_PREFIX.size + len(header_bytes) + len(body)
    return [LENGTH_PREFIX.pack(total), digest, header_length, header_bytes, body]


def decode_frame(secret: bytes, frame: bytes | bytearray | memoryview) -> tuple[dict, bytes]:
    """Decode one frame *without* its leading length field."""
    view = memoryview(frame)
    if len(view) < HMAC_BYTES + LENGTH_PREFIX.size:
        raise FrameError(f"frame too short: expected at least {HMAC_BYTES + 4} bytes, got {len(view)}")
    received_digest = bytes(view[:HMAC_BYTES])
    authenticated = view[HMAC_BYTES:]
    expected_digest = frame_hmac(secret, authenticated)
    if not hmac.compare_digest(received_digest, expected_digest):
        raise FrameAuthenticationError("frame hmac mismatch: wrong cluster secret or tampered frame")
    (header_length,) = LENGTH_PREFIX.unpack_from(authenticated, 0)
    header_end = LENGTH_PREFIX.size + header_length
    if header_end > len(authenticated):
        raise FrameError(f"frame header length {header_length} exceeds frame size {len(authenticated)}")
    try:
        header = orjson.loads(authenticated[LENGTH_PREFIX.size:header_end])
    except orjson.JSONDecodeError as error:
        raise FrameError(f"frame header is not valid json: {error}") from None
    if not isinstance(header, dict):
        raise FrameError(f"frame header: expected a json object, got {type(header).__name__}")
    return header, bytes(authenticated[header_end:])


# a blocking receive reads into one reusable buffer of this size; a frame whose missing part is
# larger is read straight into a buffer of exactly that size (one copy, no repeated appends)
BLOCKING_RECEIVE_BUFFER_BYTES = 256 * 1024


class BlockingFrameSocket:
    """Whole frames over a blocking stdlib socket. ``send_frame`` may be called from any thread
    (a lock keeps frames whole); ``receive_frame`` from one thread only. Used by the shard
    worker, whose method threads write their own replies: no event loop sits between a finished
    shard method and the socket (ADR 0215)."""

    def __init__(self, connection: socket.socket, secret: bytes,
                 max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        connection.setblocking(True)
        self.connection = connection
        self.secret = secret
        self.max_frame_bytes = max_frame_bytes
        self.send_lock = threading.Lock()
        self.buffer = bytearray()
        self.receive_chunk = bytearray(BLOCKING_RECEIVE_BUFFER_BYTES)
        self.receive_view = memoryview(self.receive_chunk)
        self.frames_sent = 0
        self.frames_received = 0

    def send_frame(self, header: dict, body: bytes = b"") -> None:
        buffers = encode_frame(self.secret, header, body)
        with self.send_lock:
            if len(body) < 65536:
                self.connection.sendall(b"".join(buffers))
            else:
                self.connection.sendall(b"".join(buffers[:4]))
                self.connection.sendall(body)
            self.frames_sent += 1

    def _fill(self, needed: int) -> bool:
        """Read until the buffer holds ``needed`` bytes; False on end of stream at a boundary."""
        while len(self.buffer) < needed:
            missing = needed - len(self.buffer)
            if missing > BLOCKING_RECEIVE_BUFFER_BYTES:
                exact = bytearray(missing)
                view = memoryview(exact)
                received = 0
                while received < missing:
                    count = self.connection.recv_into(view[received:])
                    if count == 0:
                        raise FrameError(f"connection closed inside a frame: {len(self.buffer) + received} "
                                         f"of {needed} bytes received")
                    received += count
                view.release()
                self.buffer += exact
                return True
            count = self.connection.recv_into(self.receive_view)
            if count == 0:
                if self.buffer:
                    raise FrameError(f"connection closed inside a frame: {len(self.buffer)} of "
                                     f"{needed} bytes received")
                return False
            self.buffer += self.receive_view[:count]
        return True

    def receive_frame(self) -> tuple[dict, bytes] | None:
        """The next frame, or None when the peer closed the socket cleanly between frames."""
        if not self._fill(LENGTH_PREFIX.size):
            return None
        (frame_length,) = LENGTH_PREFIX.unpack_from(self.buffer, 0)
        if frame_length > self.max_frame_bytes:
            raise FrameError(f"frame length {frame_length} exceeds the limit of {self.max_frame_bytes} bytes")
        total = LENGTH_PREFIX.size + frame_length
        if not self._fill(total):
            raise FrameError("connection closed inside a frame")
        frame = memoryview(self.buffer)[LENGTH_PREFIX.size:total]
        try:
            decoded = decode_frame(self.secret, frame)
        finally:
            frame.release()
        del self.buffer[:total]
        self.frames_received += 1
        return decoded

    def close(self) -> None:
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed by the peer
        self.connection.close()
