"""hypercorn's trio TCPServer with node/http/serving.py's direct socket I/O (ADR 0367): small
responses leave in one direct write, bytes stay whole and ordered when the kernel takes only part
of one, a broken peer closes the connection as hypercorn does, and pipelined requests are all
answered in order by the direct read loop."""

import os
import socket

import trio
import trio.testing
import hypercorn.trio.tcp_server as hypercorn_tcp_server
from hypercorn.config import Config
from hypercorn.events import Closed, RawData
from hypercorn.trio import serve

from node.http.serving import install_direct_socket_io, install_reusable_idle_timers, install_single_write_responses


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    while (await receive()).get("more_body"):
        pass
    body = scope["path"].encode() * 3
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def start_server(nursery, shutdown: trio.Event) -> int:
    # the three adjustments serve_http installs
    install_single_write_responses()
    install_reusable_idle_timers()
    install_direct_socket_io()
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    binds = await nursery.start(lambda task_status: serve(application, config, shutdown_trigger=shutdown.wait,
                                                          task_status=task_status))
    return int(binds[0].rsplit(":", 1)[1])


async def read_responses(stream, count: int) -> list[bytes]:
    """The bodies of ``count`` Content-Length framed responses."""
    buffer = bytearray()
    bodies = []
    while len(bodies) < count:
        while b"\r\n\r\n" not in buffer:
            chunk = await stream.receive_some(65536)
            assert chunk, "the server closed the connection early"
            buffer += chunk
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")[1:]
                      if line.lower().startswith(b"content-length"))
        buffer = bytearray(rest)
        while len(buffer) < length:
            buffer += await stream.receive_some(65536)
        bodies.append(bytes(buffer[:length]))
        buffer = buffer[length:]
    return bodies


async def test_keep_alive_responses_leave_in_one_direct_write_each(monkeypatch):
    shutdown = trio.Event()
    writes = []
    original_write = os.write
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            port = await start_server(nursery, shutdown)
            stream = await trio.open_tcp_stream("127.0.0.1", port)

            def counting_write(descriptor, data):
                if descriptor != stream.socket.fileno():
                    writes.append((descriptor, len(data)))
                return original_write(descriptor, data)

            monkeypatch.setattr(os, "write", counting_write)
            for number in range(10):
                await stream.send_all(f"GET /r{number} HTTP/1.1\r\nhost: t\r\n\r\n".encode())
                assert await read_responses(stream, 1) == [f"/r{number}".encode() * 3]
            monkeypatch.undo()
            shutdown.set()
    assert len(writes) == 10, writes


async def test_pipelined_requests_are_all_answered_in_order():
    shutdown = trio.Event()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            port = await start_server(nursery, shutdown)
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.send_all(b"".join(f"GET /p{number} HTTP/1.1\r\nhost: t\r\n\r\n".encode()
                                           for number in range(40)))
            assert await read_responses(stream, 40) == [f"/p{number}".encode() * 3 for number in range(40)]
            await stream.aclose()
            shutdown.set()


class FakeProtocol:
    def __init__(self) -> None:
        self.events = []

    async def handle(self, event) -> None:
        self.events.append(event)


class FakeServer:
    """What TCPServer.protocol_send touches: its stream, send lock, protocol."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.send_lock = trio.Lock()
        self.protocol = FakeProtocol()


def socket_stream_pair():
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return (trio.SocketStream(trio.socket.from_stdlib_socket(left)),
            trio.SocketStream(trio.socket.from_stdlib_socket(right)))


async def test_responses_stay_whole_and_ordered_when_the_kernel_takes_only_part_of_one():
    install_direct_socket_io()
    server_stream, client_stream = socket_stream_pair()
    server_stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    server = FakeServer(server_stream)
    chunks = [bytes([40 + number]) * (5000 + number * 997 % 40_000) for number in range(30)]
    received = bytearray()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            for chunk in chunks:
                nursery.start_soon(hypercorn_tcp_server.TCPServer.protocol_send, server, RawData(data=chunk))
            await trio.testing.wait_all_tasks_blocked()
            assert server.send_lock.locked(), "the socket never filled: the partial path was not exercised"
            expected = sum(len(chunk) for chunk in chunks)
            while len(received) < expected:
                received += await client_stream.receive_some(65536)
    # every chunk arrives whole (runs of one letter of the right lengths), in some order
    runs = []
    position = 0
    while position < len(received):
        end = position
        while end < len(received) and received[end] == received[position]:
            end += 1
        runs.append(bytes(received[position:end]))
        position = end
    assert sorted(runs) == sorted(chunks)
    assert server.protocol.events == []


async def test_a_write_to_a_vanished_peer_closes_the_connection_as_hypercorn_does():
    install_direct_socket_io()
    server_stream, client_stream = socket_stream_pair()
    await client_stream.aclose()
    server = FakeServer(server_stream)
    with trio.fail_after(30):
        await hypercorn_tcp_server.TCPServer.protocol_send(server, RawData(data=b"HTTP/1.1 200 OK\r\n\r\n"))
    assert [type(event) for event in server.protocol.events] == [Closed]


def test_the_node_config_answers_the_date_header_hypercorn_would_to_the_second(monkeypatch):
    import time as time_module
    import hypercorn.config as hypercorn_config
    from hypercorn.config import Config as StockConfig
    from node.http.serving import NodeHypercornConfig

    node_config, stock_config = NodeHypercornConfig(), StockConfig()
    node_config.include_server_header = stock_config.include_server_header = False
    for moment in (1_700_000_000.0, 1_700_000_000.9, 1_700_000_001.2, 1_800_000_123.5):
        monkeypatch.setattr(time_module, "time", lambda moment=moment: moment)
        monkeypatch.setattr(hypercorn_config, "time", lambda moment=moment: moment)   # its own import
        assert node_config.response_headers("h11") == stock_config.response_headers("h11")
    node_config.include_server_header = stock_config.include_server_header = True
    assert node_config.response_headers("h11") == stock_config.response_headers("h11")
    node_config.include_date_header = False
    assert node_config.response_headers("h11") == [(b"server", b"hypercorn-h11")]
