"""Node-to-node transport over TCP: handlers, peer connections, wrong-secret peers dropped."""

import logging

import pytest
import trio

from node.transport.errors import ConnectionClosedError, UnknownTransportMethodError
from node.transport.server import PeerConnections, TransportHandlers, serve_transport

SECRET = b"t" * 32


async def start_server(nursery, secret=SECRET):
    handlers = TransportHandlers()

    async def echo(payload, body):
        return {"echoed": payload}, body[::-1]

    handlers.register("test.echo", echo)
    host, port = await nursery.start(serve_transport, "127.0.0.1", 0, secret, handlers,
                                     logging.getLogger("test.transport"))
    return f"{host}:{port}"


async def test_a_peer_request_reaches_the_registered_handler_over_tcp():
    async with trio.open_nursery() as nursery:
        address = await start_server(nursery)
        peers = PeerConnections(SECRET, nursery, logging.getLogger("test.peers"))
        payload, body = await peers.request(address, "test.echo", {"n": 1}, b"abc", timeout_seconds=30)
        assert payload == {"echoed": {"n": 1}}
        assert body == b"cba"
        # the connection is reused, not reopened
        client = peers.clients[(address, "default")]
        await peers.request(address, "test.echo", {"n": 2}, timeout_seconds=30)
        assert peers.clients[(address, "default")] is client
        await peers.request(address, "test.echo", {"n": 3}, timeout_seconds=30, channel="replication")
        assert peers.clients[(address, "replication")] is not client
        with pytest.raises(UnknownTransportMethodError, match="no transport handler"):
            await peers.request(address, "test.nope", {}, timeout_seconds=30)
        await peers.aclose()
        nursery.cancel_scope.cancel()


async def test_a_peer_with_another_secret_is_dropped_without_an_answer():
    async with trio.open_nursery() as nursery:
        address = await start_server(nursery)
        intruder = PeerConnections(b"wrong-secret-wrong-secret-000000", nursery, logging.getLogger("test.peers"))
        with pytest.raises(ConnectionClosedError):
            await intruder.request(address, "test.echo", {"n": 1}, timeout_seconds=30)
        await intruder.aclose()
        nursery.cancel_scope.cancel()


async def test_connecting_to_a_closed_port_is_a_connection_error():
    with trio.socket.socket() as probe:
        await probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    async with trio.open_nursery() as nursery:
        peers = PeerConnections(SECRET, nursery, logging.getLogger("test.peers"))
        with pytest.raises(ConnectionClosedError, match="cannot connect"):
            await peers.request(f"127.0.0.1:{closed_port}", "test.echo", {}, timeout_seconds=30)
        nursery.cancel_scope.cancel()
