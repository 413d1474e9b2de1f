"""FrameStream over a real socket writes small frames with one direct write and reads without a
scheduler trip when data is there (ADR 0365) — and still keeps frames whole and in order when the
kernel takes only part of one, fails cleanly when the socket closes, and never starves the loop."""

import os
import socket

import pytest
import trio
import trio.testing

from node.transport.framing import DIRECT_READS_BETWEEN_CHECKPOINTS, FrameStream

SECRET = b"s" * 32


def socket_stream_pair() -> tuple[trio.SocketStream, trio.SocketStream]:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return (trio.SocketStream(trio.socket.from_stdlib_socket(left)),
            trio.SocketStream(trio.socket.from_stdlib_socket(right)))


async def test_a_small_frame_over_a_socket_is_written_directly_and_read_back_intact():
    left, right = socket_stream_pair()
    sender, receiver = FrameStream(left, SECRET), FrameStream(right, SECRET)
    assert sender.direct_socket is not None
    with trio.fail_after(30):
        for number in range(50):
            await sender.send_frame({"number": number}, os.urandom(number * 37))
        for number in range(50):
            header, body = await receiver.receive_frame()
            assert header == {"number": number} and len(body) == number * 37
    assert sender.direct_writes == 50 and sender.frames_sent == 50
    assert receiver.frames_received == 50


async def test_memory_streams_keep_the_trio_path():
    left, _right = trio.testing.memory_stream_pair()
    assert FrameStream(left, SECRET).direct_socket is None


async def test_frames_stay_whole_and_ordered_when_the_kernel_takes_only_part_of_one():
    left, right = socket_stream_pair()
    # a small send buffer: the peer does not read yet, so direct writes soon land partially
    left.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    sender, receiver = FrameStream(left, SECRET), FrameStream(right, SECRET)
    bodies = {number: os.urandom(1000 + number * 211 % 60_000) for number in range(60)}
    received = {}
    order = []
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            async def send(number: int) -> None:
                await sender.send_frame({"number": number}, bodies[number])

            for number in bodies:
                nursery.start_soon(send, number)
            await trio.testing.wait_all_tasks_blocked()
            for _ in bodies:
                header, body = await receiver.receive_frame()
                received[header["number"]] = body
                order.append(header["number"])
    assert received == bodies
    assert sender.direct_writes < len(bodies), "the socket never filled: the partial path was not exercised"
    assert not sender.send_lock.locked()


async def test_a_receiver_waiting_on_a_closed_stream_is_told_so():
    left, right = socket_stream_pair()
    receiver = FrameStream(right, SECRET)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            outcome = []

            async def receive() -> None:
                try:
                    outcome.append(await receiver.receive_frame())
                except trio.ClosedResourceError:
                    outcome.append("closed")

            nursery.start_soon(receive)
            await trio.testing.wait_all_tasks_blocked()
            await receiver.aclose()
    assert outcome == ["closed"]
    with pytest.raises(trio.ClosedResourceError):
        await FrameStream(right, SECRET).send_frame({"after": "close"})


async def test_the_peer_closing_between_frames_ends_the_stream_cleanly():
    left, right = socket_stream_pair()
    sender, receiver = FrameStream(left, SECRET), FrameStream(right, SECRET)
    with trio.fail_after(30):
        await sender.send_frame({"last": True}, b"x")
        await sender.aclose()
        assert await receiver.receive_frame() == ({"last": True}, b"x")
        assert await receiver.receive_frame() is None


class TaskSteps(trio.abc.Instrument):
    """Counts how often one task is resumed by the scheduler: a step more = it yielded once."""

    def __init__(self, task: object) -> None:
        self.task = task
        self.steps = 0

    def before_task_step(self, task: object) -> None:
        if task is self.task:
            self.steps += 1


async def test_a_read_that_finds_data_skips_the_scheduler_until_the_checkpoint_quota_is_used():
    left, right = socket_stream_pair()
    sender, receiver = FrameStream(left, SECRET), FrameStream(right, SECRET)
    steps = TaskSteps(trio.lowlevel.current_task())
    trio.lowlevel.add_instrument(steps)
    try:
        with trio.fail_after(30):
            # data already there, quota not used: sending and receiving never yield
            before = steps.steps
            await sender.send_frame({"first": True})
            receiver.reads_without_checkpoint = 0
            assert await receiver.receive_frame() == ({"first": True}, b"")
            assert steps.steps == before
            # the quota's last read yields once, so a socket that is never empty cannot starve the loop
            await sender.send_frame({"second": True})
            receiver.reads_without_checkpoint = DIRECT_READS_BETWEEN_CHECKPOINTS - 1
            assert await receiver.receive_frame() == ({"second": True}, b"")
            assert steps.steps == before + 1
            assert receiver.reads_without_checkpoint == 0
    finally:
        trio.lowlevel.remove_instrument(steps)
