"""The shard worker's loop-free RPC server (serve_rpc_blocking over BlockingFrameSocket) against
the front's trio RpcClient: replies, errors, request ids, inline vs threaded methods, shutdown."""

import logging
import socket
import threading

import pytest
import trio

from index.errors import VersionConflictError
from node.logs import request_id
from node.transport.errors import ConnectionClosedError, FrameAuthenticationError, RemoteError
from node.transport.framing import BlockingFrameSocket, FrameStream, decode_frame, encode_frame
from node.transport.rpc import RpcClient, serve_rpc_blocking

SECRET = b"b" * 32


class Server:
    """serve_rpc_blocking on a thread over one end of a socketpair; the test holds the other."""

    def __init__(self, handler, threads=2, on_reader_thread=lambda method: False):
        self.front_socket, worker_socket = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.frames = BlockingFrameSocket(worker_socket, SECRET)
        self.returned = threading.Event()
        self.error = None

        def run():
            try:
                serve_rpc_blocking(self.frames, handler, logging.getLogger("test.blocking"), threads,
                                   on_reader_thread)
            except BaseException as error:  # noqa: BLE001 — reported by the test
                self.error = error
            finally:
                self.returned.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def client(self, nursery):
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(self.front_socket))
        client = RpcClient(FrameStream(stream, SECRET), name="worker under test")
        nursery.start_soon(client.run)
        return client


def echo_handler(method, payload, body):
    if method == "echo":
        return {"echo": payload, "thread": threading.current_thread().name}, body
    if method == "conflict":
        raise VersionConflictError("[1]: version conflict, current version [2] is different")
    if method == "trace":
        return {"trace": request_id.get()}, b""
    if method == "broken":
        raise ZeroDivisionError("division by zero in a shard method")
    raise KeyError(method)


async def test_a_request_is_answered_with_its_payload_and_raw_body():
    server = Server(echo_handler)
    async with trio.open_nursery() as nursery:
        client = server.client(nursery)
        payload, body = await client.request("echo", {"n": 1}, b"\x00raw\xff" * 1000)
        assert payload["echo"] == {"n": 1}
        assert body == b"\x00raw\xff" * 1000
        await client.aclose()
    with trio.fail_after(30):
        await trio.to_thread.run_sync(server.returned.wait)
    assert server.error is None


async def test_many_concurrent_requests_each_get_their_own_answer():
    server = Server(echo_handler, threads=3)
    answers = {}
    async with trio.open_nursery() as nursery:
        client = server.client(nursery)

        async def ask(number):
            answers[number] = await client.request("echo", {"n": number}, str(number).encode())

        async with trio.open_nursery() as askers:
            for number in range(60):
                askers.start_soon(ask, number)
        await client.aclose()
    assert {number: (answer[0]["echo"], answer[1]) for number, answer in answers.items()} == {
        number: ({"n": number}, str(number).encode()) for number in range(60)}


async def test_engine_errors_arrive_as_the_same_class_and_unexpected_ones_as_remote_errors():
    server = Server(echo_handler)
    async with trio.open_nursery() as nursery:
        client = server.client(nursery)
        with pytest.raises(VersionConflictError, match="version conflict"):
            await client.request("conflict", {})
        with pytest.raises(RemoteError, match="division by zero in a shard method"):
            await client.request("broken", {})
        # the connection survives both failures
        payload, _ = await client.request("echo", {"after": True})
        assert payload["echo"] == {"after": True}
        await client.aclose()


async def test_the_http_request_id_is_set_for_the_method_and_not_left_behind_on_the_thread():
    server = Server(echo_handler, threads=1)
    async with trio.open_nursery() as nursery:
        client = server.client(nursery)
        token = request_id.set("req-42")
        try:
            payload, _ = await client.request("trace", {})
        finally:
            request_id.reset(token)
        assert payload["trace"] == "req-42"
        payload, _ = await client.request("trace", {})
        assert payload["trace"] != "req-42"
        await client.aclose()


async def test_reader_thread_methods_are_answered_while_every_handler_thread_is_busy():
    release = threading.Event()
    started = threading.Event()

    def handler(method, payload, body):
        if method == "block":
            started.set()
            release.wait(30)
            return {"blocked": True}, b""
        return {"method": method, "thread": threading.current_thread().name}, b""

    server = Server(handler, threads=1, on_reader_thread=lambda method: method == "cheap")
    async with trio.open_nursery() as nursery:
        client = server.client(nursery)
        blocked = {}

        async def block():
            blocked["answer"] = await client.request("block", {})

        nursery.start_soon(block)
        await trio.to_thread.run_sync(started.wait, 30)
        with trio.fail_after(30):
            payload, _ = await client.request("cheap", {})
        assert payload["method"] == "cheap"
        assert not payload["thread"].startswith("rpc-handler-")   # answered by the reader
        assert "answer" not in blocked
        release.set()
        with trio.fail_after(30):
            while "answer" not in blocked:
                await trio.sleep(0.01)
        assert blocked["answer"] == ({"blocked": True}, b"")
        await client.aclose()


async def test_the_server_returns_after_answering_what_was_queued_when_the_front_closes():
    release = threading.Event()
    finished = []

    def handler(method, payload, body):
        release.wait(30)
        finished.append(payload["n"])
        return {}, b""

    server = Server(handler, threads=1)
    front = BlockingFrameSocket(server.front_socket, SECRET)
    for number in range(3):
        front.send_frame({"id": number, "kind": "request", "method": "slow", "payload": {"n": number}})
    front.connection.shutdown(socket.SHUT_WR)
    release.set()
    assert server.returned.wait(30)
    assert sorted(finished) == [0, 1, 2]
    assert server.error is None


async def test_pending_calls_fail_when_the_worker_side_closes():
    started = threading.Event()

    def handler(method, payload, body):
        started.set()
        threading.Event().wait(0.5)
        return {}, b""

    server = Server(handler, threads=1)
    async with trio.open_nursery() as nursery:
        client = server.client(nursery)

        async def close_worker_side():
            await trio.to_thread.run_sync(started.wait, 30)
            server.frames.close()

        nursery.start_soon(close_worker_side)
        with pytest.raises(ConnectionClosedError):
            await client.request("slow", {})
        await client.aclose()


def test_a_frame_signed_with_another_secret_is_refused_by_the_blocking_reader():
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    reader = BlockingFrameSocket(right, SECRET)
    left.sendall(b"".join(encode_frame(b"x" * 32, {"kind": "request"}, b"body")))
    with pytest.raises(FrameAuthenticationError):
        reader.receive_frame()
    left.close()
    reader.close()


def test_frames_larger_than_the_receive_buffer_and_split_sends_arrive_whole():
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    reader = BlockingFrameSocket(right, SECRET)
    big = bytes(range(256)) * 8192                  # 2 MiB: read straight into an exact buffer
    frames = [({"n": 1}, b"small"), ({"n": 2}, big), ({"n": 3}, b"")]
    wire = b"".join(b"".join(encode_frame(SECRET, header, body)) for header, body in frames)

    def send_in_pieces():
        for start in range(0, len(wire), 7777):
            left.sendall(wire[start:start + 7777])
        left.close()

    sender = threading.Thread(target=send_in_pieces)
    sender.start()
    received = [reader.receive_frame() for _ in frames]
    assert reader.receive_frame() is None            # clean end between frames
    sender.join()
    assert received == frames
    reader.close()


def test_a_blocking_send_is_what_the_trio_side_decodes():
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    writer = BlockingFrameSocket(left, SECRET)
    writer.send_frame({"id": 7, "kind": "response"}, b"x" * 100_000)
    writer.close()
    data = b""
    while True:
        chunk = right.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    assert decode_frame(SECRET, data[4:]) == ({"id": 7, "kind": "response"}, b"x" * 100_000)
    right.close()


async def test_a_reply_that_cannot_be_encoded_reaches_the_caller_as_an_error_and_the_thread_lives_on():
    def handler(method, payload, body):
        if method == "unencodable":
            return {"value": {1, 2, 3}}, b""                # a set: orjson refuses it
        return {"fine": True}, b""

    server = Server(handler, threads=1)
    async with trio.open_nursery() as nursery:
        client = server.client(nursery)
        with trio.fail_after(30):
            with pytest.raises(RemoteError, match="not JSON serializable"):
                await client.request("unencodable", {})
            # the only handler thread is still serving
            assert await client.request("after", {}) == ({"fine": True}, b"")
        await client.aclose()
