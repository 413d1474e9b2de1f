"""serve_http writes each HTTP/1.1 response (head and body) with one socket send, bytes unchanged:
keep-alive, HEAD, an empty body and a large body all still arrive whole."""

import logging
import os
from types import SimpleNamespace

import orjson
import trio

from node.config import NodeConfig
from node.http.app import create_app, json_response
from node.http.context import NodeContext
from node.http.serving import serve_http
from node.metrics import NodeMetrics
from raft.state import initial_cluster_state


def make_app():
    config = NodeConfig(node_name="n1", workers=1)
    context = NodeContext(
        config=config, node_id="id-1", node_name="n1", cluster_name="c1", started_at_millis=0,
        metadata=SimpleNamespace(state=initial_cluster_state("c1")), workers=None,
        metrics=NodeMetrics(), logger=logging.getLogger("test.http"), background=None,
        transport_handlers=None, peers=None)
    app = create_app(context, register_api=False)

    @app.route("/_test/big", methods=["GET"])
    async def big():
        return json_response({"data": "x" * 300_000})

    @app.route("/_test/empty", methods=["GET"])
    async def empty():
        return json_response(b"", status=200)

    return app


async def read_response(stream, buffer: bytearray, method: str) -> tuple[bytes, bytes, bytearray]:
    """(head, body, rest of the buffer) for one response framed by Content-Length (none after HEAD)."""
    while b"\r\n\r\n" not in buffer:
        buffer += await stream.receive_some(65536)
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    rest = bytearray(rest)
    if method == "HEAD":
        length = 0
    while len(rest) < length:
        rest += await stream.receive_some(65536)
    return head, bytes(rest[:length]), rest[length:]


async def test_each_response_is_one_send_and_keep_alive_responses_arrive_whole(monkeypatch):
    # every await on the client side is bounded: a framing mistake fails instead of hanging
    sends_by_server = []
    original_send_all = trio.SocketStream.send_all

    client_streams = []

    async def counting_send_all(self, data):
        if not any(self is stream for stream in client_streams):
            sends_by_server.append(len(data))
        await original_send_all(self, data)

    app = make_app()
    stop = trio.Event()
    answers = []
    with trio.fail_after(60):
        await exchange(app, stop, client_streams, sends_by_server, counting_send_all, monkeypatch, answers)
    assert all(status.startswith(b"HTTP/1.1 200") for status, _ in answers)
    assert orjson.loads(answers[0][1])["cluster_name"] == "c1"
    assert orjson.loads(answers[1][1]) == {"data": "x" * 300_000}
    assert answers[2][1] == b""
    assert answers[3][1] == b""
    assert answers[4][1] == answers[0][1]


async def exchange(app, stop, client_streams, sends_by_server, counting_send_all, monkeypatch, answers):
    async with trio.open_nursery() as nursery:
        host, port = await nursery.start(serve_http, app, "127.0.0.1", 0, stop.wait)
        stream = await trio.open_tcp_stream(host, port)
        client_streams.append(stream)
        monkeypatch.setattr(trio.SocketStream, "send_all", counting_send_all)
        # the server writes a plain socket directly when no other send is in progress (ADR 0367):
        # count those writes too (the client here only uses send_all)
        original_write = os.write

        def counting_write(descriptor, data):
            written = original_write(descriptor, data)
            if descriptor != stream.socket.fileno():
                sends_by_server.append(written)
            return written

        monkeypatch.setattr(os, "write", counting_write)
        buffer = bytearray()
        for path, method in [("/", "GET"), ("/_test/big", "GET"), ("/_test/empty", "GET"), ("/", "HEAD"),
                             ("/", "GET")]:
            before = len(sends_by_server)
            await stream.send_all(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            head, body, buffer = await read_response(stream, buffer, method)
            answers.append((head.split(b"\r\n")[0], body))
            server_sends = [size for size in sends_by_server[before:] if size]
            assert len(server_sends) == 1, (path, method, sends_by_server[before:])
        monkeypatch.undo()
        await stream.aclose()
        stop.set()
