"""Property: any sequence of frames, delivered in any chunking, decodes to exactly what was sent;
flipping any single byte of a frame is detected."""

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from node.transport.errors import FrameError
from node.transport.framing import FrameStream, decode_frame, encode_frame

SECRET = b"p" * 32
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53), st.text(max_size=20))
headers = st.dictionaries(st.text(max_size=10), st.one_of(json_scalars, st.lists(json_scalars, max_size=4)),
                          max_size=5)
frames = st.lists(st.tuples(headers, st.binary(max_size=3000)), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(frames=frames, chunk_sizes=st.lists(st.integers(1, 700), min_size=1, max_size=30))
def test_frames_survive_any_chunking(frames, chunk_sizes):
    wire = b"".join(b"".join(encode_frame(SECRET, header, body)) for header, body in frames)

    async def scenario():
        sender, receiver_stream = trio.testing.memory_stream_pair()
        receiver = FrameStream(receiver_stream, SECRET)
        position, index = 0, 0
        while position < len(wire):
            size = chunk_sizes[index % len(chunk_sizes)]
            await sender.send_all(wire[position:position + size])
            position += size
            index += 1
        await sender.aclose()
        received = []
        while (frame := await receiver.receive_frame()) is not None:
            received.append(frame)
        return received

    assert trio.run(scenario) == [(header, body) for header, body in frames]


@settings(max_examples=60, deadline=None)
@given(header=headers, body=st.binary(max_size=200), data=st.data())
def test_any_flipped_byte_is_detected(header, body, data):
    frame = bytearray(b"".join(encode_frame(SECRET, header, body))[4:])
    position = data.draw(st.integers(0, len(frame) - 1))
    frame[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(FrameError):
        decode_frame(SECRET, bytes(frame))
