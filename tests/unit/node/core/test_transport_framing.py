"""Frames: round trip, HMAC rejection of tampered or foreign frames, torn streams."""

import pytest
import trio
import trio.testing

from node.transport.errors import FrameAuthenticationError, FrameError
from node.transport.framing import FrameStream, decode_frame, encode_frame

SECRET = b"k" * 32


def test_a_frame_round_trips_header_and_raw_body():
    frame = b"".join(encode_frame(SECRET, {"method": "bulk", "n": 3}, b"\x00raw\xffbytes"))
    header, body = decode_frame(SECRET, frame[4:])
    assert header == {"method": "bulk", "n": 3}
    assert body == b"\x00raw\xffbytes"


def test_a_tampered_frame_is_rejected():
    frame = bytearray(b"".join(encode_frame(SECRET, {"method": "delete"}, b"payload")))
    frame[-1] ^= 0x01
    with pytest.raises(FrameAuthenticationError):
        decode_frame(SECRET, bytes(frame[4:]))


def test_a_frame_signed_with_another_secret_is_rejected():
    frame = b"".join(encode_frame(b"other-secret", {"method": "ping"}))
    with pytest.raises(FrameAuthenticationError):
        decode_frame(SECRET, frame[4:])


async def test_frames_cross_a_stream_in_order_even_when_split_into_tiny_chunks():
    left, right = trio.testing.memory_stream_pair()
    sender, receiver = FrameStream(left, SECRET), FrameStream(right, SECRET)
    big_body = bytes(range(256)) * 5000
    await sender.send_frame({"id": 1}, b"a")
    await sender.send_frame({"id": 2}, big_body)
    assert await receiver.receive_frame() == ({"id": 1}, b"a")
    assert await receiver.receive_frame() == ({"id": 2}, big_body)
    await sender.aclose()
    assert await receiver.receive_frame() is None


async def test_a_frame_over_the_size_limit_is_refused_before_it_is_read():
    left, right = trio.testing.memory_stream_pair()
    sender, receiver = FrameStream(left, SECRET), FrameStream(right, SECRET, max_frame_bytes=100)
    await sender.send_frame({"id": 1}, b"x" * 200)
    with pytest.raises(FrameError, match="exceeds the limit"):
        await receiver.receive_frame()


async def test_a_stream_that_ends_inside_a_frame_is_an_error():
    left, right = trio.testing.memory_stream_pair()
    receiver = FrameStream(right, SECRET)
    frame = b"".join(encode_frame(SECRET, {"id": 1}, b"body"))
    await left.send_all(frame[:-2])
    await left.aclose()
    with pytest.raises(FrameError, match="closed inside a frame"):
        await receiver.receive_frame()
