"""A trio stream that reads and writes whole frames (the front, node-to-node).

The frame format itself and its blocking carrier for the trio-less shard worker live in
``node.transport.frames`` (re-exported here); this module adds only what needs trio. It must
never interpret a header beyond decoding it.
"""

from __future__ import annotations

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

    async def send_frame(self, header: dict, body: bytes = b"") -> None:
        if len(body) > THREADED_HMAC_BYTES:
            buffers = await trio.to_thread.run_sync(encode_frame, self.secret, header, body)
        else:
            buffers = encode_frame(self.secret, header, body)
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
            chunk = await self.stream.receive_some(
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
