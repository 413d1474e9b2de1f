"""FrameStream: frames sent concurrently by many tasks (the uncontended lock taken without a
checkpoint, the contended one waited for) arrive whole and uninterleaved, and frames of every
size — far below, at and far above one 64 KiB receive — are read back intact."""

import os

import trio
import trio.testing

from node.transport.framing import SMALL_RECEIVE_BYTES, FrameStream

SECRET = b"s" * 32


async def test_concurrent_senders_never_interleave_their_frames_even_when_each_send_blocks():
    # lockstep streams block every send_all until the peer reads: senders really contend
    sender_stream, receiver_stream = trio.testing.lockstep_stream_pair()
    sender = FrameStream(sender_stream, SECRET)
    receiver = FrameStream(receiver_stream, SECRET)
    bodies = {number: os.urandom(number * 997 % 150_000) for number in range(40)}
    received = {}
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            async def send(number: int) -> None:
                await sender.send_frame({"number": number}, bodies[number])

            for number in bodies:
                nursery.start_soon(send, number)
            for _ in bodies:
                header, body = await receiver.receive_frame()
                received[header["number"]] = body
    assert received == bodies
    assert sender.frames_sent == len(bodies)
    assert not sender.send_lock.locked()


async def test_frames_around_and_far_above_one_small_receive_arrive_intact():
    sender_stream, receiver_stream = trio.testing.memory_stream_pair()
    sender = FrameStream(sender_stream, SECRET)
    receiver = FrameStream(receiver_stream, SECRET)
    sizes = [0, 1, SMALL_RECEIVE_BYTES - 100, SMALL_RECEIVE_BYTES, SMALL_RECEIVE_BYTES + 1, 3 * 1024 * 1024 + 7]
    with trio.fail_after(60):
        for size in sizes:
            body = os.urandom(size)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(sender.send_frame, {"size": size}, body)
                header, received = await receiver.receive_frame()
            assert header == {"size": size} and received == body


async def test_a_cancelled_sender_waiting_for_the_lock_leaves_it_usable():
    sender_stream, receiver_stream = trio.testing.lockstep_stream_pair()
    sender = FrameStream(sender_stream, SECRET)
    receiver = FrameStream(receiver_stream, SECRET)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sender.send_frame, {"first": True}, b"a" * 70_000)
            await trio.testing.wait_all_tasks_blocked()
            assert sender.send_lock.locked()
            with trio.move_on_after(0.01):
                await sender.send_frame({"cancelled": True}, b"b")
            header, body = await receiver.receive_frame()
            assert header == {"first": True}
        assert not sender.send_lock.locked()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sender.send_frame, {"after": True}, b"c")
            header, body = await receiver.receive_frame()
        assert (header, body) == ({"after": True}, b"c")
