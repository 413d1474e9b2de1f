"""A trio stream that reads and writes whole frames (the front, node-to-node).

The frame format itself and its blocking carrier for the trio-less shard worker live in
``node.transport.frames`` (re-exported here); this module adds only what needs trio. It must
never interpret a header beyond decoding it.

Over a socket (the front's worker socketpairs, node-to-node TCP) a small frame is written with
one non-blocking ``os.write`` on the socket's descriptor and replies are read the same way, with
trio's ``wait_readable`` only when nothing is there (ADR 0365): trio's ``send_all`` and
``receive_some`` each yield to the scheduler on every call even when the kernel had room or data
(two extra task switches per call, ~20 % of the front's CPU per worker call). It must never
skip the send lock or reorder frames: a direct write happens only when no other task is inside a
send, and whatever the kernel did not take is finished under the lock before anyone else sends.
"""

from __future__ import annotations

import os
import socket

import trio

from node.transport.frames import (  # noqa: F401 — the frame format, re-exported for its users
    DEFAULT_MAX_FRAME_BYTES,
    HMAC_BYTES,
    LENGTH_PREFIX,
    RECEIVE_CHUNK_BYTES,
    SMALL_RECEIVE_BYTES,
    THREADED_HMAC_BYTES,
    BlockingFrameSocket,
    decode_frame,
    encode_frame,
    frame_hmac,
)
from node.transport.errors import FrameError

# A frame whose encoded size is below this is written directly (one os.write, no scheduler trip);
# larger ones keep trio's send_all, which waits for room as often as it needs.
DIRECT_WRITE_LIMIT_BYTES = 65536
# A receiver that found data this many times in a row yields once anyway, so a peer that keeps
# the socket full cannot starve the other tasks of the loop.
DIRECT_READS_BETWEEN_CHECKPOINTS = 32


def direct_socket_of(stream: trio.abc.Stream) -> trio.socket.SocketType | None:
    """The trio socket under ``stream`` when it is a plain stream socket (its descriptor is then
    written and read directly); None for any other stream (memory streams in tests, TLS)."""
    if type(stream) is not trio.SocketStream:
        return None
    carrier = stream.socket
    if carrier.type != socket.SOCK_STREAM or carrier.family not in (socket.AF_UNIX, socket.AF_INET,
                                                                     socket.AF_INET6):
        return None
    return carrier


class FrameStream:
    """Whole frames over a trio byte stream. Sends are serialised by a lock (many tasks share one
    connection); receives must come from one task only."""

    def __init__(self, stream: trio.abc.Stream, secret: bytes,
                 max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self.stream = stream
        self.secret = secret
        self.max_frame_bytes = max_frame_bytes
        self.send_lock = trio.Lock()
        self.buffer = bytearray()
        self.frames_sent = 0
        self.frames_received = 0
        self.direct_socket = direct_socket_of(stream)
        self.direct_writes = 0            # frames written whole without a scheduler trip (tests)
        self.reads_without_checkpoint = 0

    def _descriptor(self) -> int:
        descriptor = self.direct_socket.fileno()
        if descriptor < 0:
            raise trio.ClosedResourceError("frame stream: the socket was closed")
        return descriptor

    def _write_now(self, data: bytes) -> int:
        """Write what the kernel takes now without blocking; the count written (0 if full)."""
        try:
            return os.write(self._descriptor(), data)
        except BlockingIOError:
            return 0
        except OSError as error:
            raise trio.BrokenResourceError(f"frame stream: send failed: {error}") from error

    def _read_now(self, max_bytes: int) -> bytes | None:
        """What the kernel holds now (b"" at end of stream), or None when nothing is there yet."""
        try:
            return os.read(self._descriptor(), max_bytes)
        except BlockingIOError:
            return None
        except OSError as error:
            raise trio.BrokenResourceError(f"frame stream: receive failed: {error}") from error

    async def _receive_some(self, max_bytes: int) -> bytes:
        if self.direct_socket is None:
            return await self.stream.receive_some(max_bytes)
        while True:
            chunk = self._read_now(max_bytes)
            if chunk is not None:
                self.reads_without_checkpoint += 1
                if self.reads_without_checkpoint >= DIRECT_READS_BETWEEN_CHECKPOINTS:
                    self.reads_without_checkpoint = 0
                    await trio.lowlevel.checkpoint()
                return chunk
            self.reads_without_checkpoint = 0
            await trio.lowlevel.wait_readable(self.direct_socket)

    async def send_frame(self, header: dict, body: bytes = b"") -> None:
        if len(body) > THREADED_HMAC_BYTES:
            buffers = await trio.to_thread.run_sync(encode_frame, self.secret, header, body)
        else:
            buffers = encode_frame(self.secret, header, body)
        if self.direct_socket is not None and len(body) < DIRECT_WRITE_LIMIT_BYTES \
                and not self.send_lock.locked():
            # nobody is inside a send: write now; nothing awaits before the lock is taken below,
            # so no other frame can start between a partial write and its remainder
            data = b"".join(buffers)
            written = self._write_now(data)
            if written == len(data):
                self.frames_sent += 1
                self.direct_writes += 1
                return
            self.send_lock.acquire_nowait()
            try:
                await self.stream.send_all(memoryview(data)[written:])
                self.frames_sent += 1
            finally:
                self.send_lock.release()
            return
        # An uncontended lock is taken without trio.Lock's scheduling checkpoint (~10 µs here, two
        # frames per search); send_all below still checkpoints. Contended: wait in line as before.
        try:
            self.send_lock.acquire_nowait()
        except trio.WouldBlock:
            await self.send_lock.acquire()
        try:
            # small frames go out in one write; a large body is written without concatenation
            if len(body) < 65536:
                await self.stream.send_all(b"".join(buffers))
            else:
                await self.stream.send_all(b"".join(buffers[:4]))
                await self.stream.send_all(body)
            self.frames_sent += 1
        finally:
            self.send_lock.release()

    async def _fill(self, needed: int) -> bool:
        """Read until the buffer holds ``needed`` bytes; False on end of stream at a boundary."""
        while len(self.buffer) < needed:
            missing = needed - len(self.buffer)
            chunk = await self._receive_some(
                SMALL_RECEIVE_BYTES if missing <= SMALL_RECEIVE_BYTES else min(missing, RECEIVE_CHUNK_BYTES))
            if not chunk:
                if self.buffer:
                    raise FrameError(f"connection closed inside a frame: {len(self.buffer)} of "
                                     f"{needed} bytes received")
                return False
            self.buffer += chunk
        return True

    async def receive_frame(self) -> tuple[dict, bytes] | None:
        """The next frame, or None when the peer closed the stream cleanly between frames."""
        if not await self._fill(LENGTH_PREFIX.size):
            return None
        (frame_length,) = LENGTH_PREFIX.unpack_from(self.buffer, 0)
        if frame_length > self.max_frame_bytes:
            raise FrameError(f"frame length {frame_length} exceeds the limit of {self.max_frame_bytes} bytes")
        total = LENGTH_PREFIX.size + frame_length
        if not await self._fill(total):
            raise FrameError("connection closed inside a frame")
        if frame_length > THREADED_HMAC_BYTES:
            # copy out first: the buffer must not be resized while a thread reads a view of it
            frame_bytes = bytes(memoryview(self.buffer)[LENGTH_PREFIX.size:total])
            del self.buffer[:total]
            decoded = await trio.to_thread.run_sync(decode_frame, self.secret, frame_bytes)
        else:
            frame = memoryview(self.buffer)[LENGTH_PREFIX.size:total]
            try:
                decoded = decode_frame(self.secret, frame)
            finally:
                frame.release()
            del self.buffer[:total]
        self.frames_received += 1
        return decoded

    async def aclose(self) -> None:
        await self.stream.aclose()
