"""Node-to-node frames follow the faults file per directed link: a cut request is never sent
(the handler never runs), a cut answer reaches the caller as a lost connection (outcome unknown,
never a hang), and the receiving end enforces a cut even when the sender's view of the file is
healthy. Healthy links carry requests as before."""

import functools
import logging

import orjson
import pytest
import trio

from node.transport.errors import ConnectionClosedError
from node.transport.faults import TransportFaults
from node.transport.server import PeerConnections, TransportHandlers, serve_transport

SECRET = b"f" * 32
LOGGER = logging.getLogger("test.transport.faults")


def write_faults(path, server_address, links, generation=1):
    path.write_bytes(orjson.dumps({"version": 1, "generation": generation, "nodes": {
        "n0": {"transport": "127.0.0.1:1"}, "n1": {"transport": server_address}}, "links": links}))


async def start_server(nursery, faults_path, calls):
    handlers = TransportHandlers()

    async def echo(payload, body):
        calls.append(payload)
        return {"echoed": payload}, body

    handlers.register("test.echo", echo)
    faults = TransportFaults.from_file(faults_path, "n1")
    host, port = await nursery.start(functools.partial(
        serve_transport, "127.0.0.1", 0, SECRET, handlers, LOGGER, faults=faults))
    return f"{host}:{port}"


@pytest.mark.parametrize("links, handler_runs, error", [
    ([], True, None),
    ([{"from": "n0", "to": "n1", "drop": True}], False, "cannot connect"),
    ([{"from": "n1", "to": "n0", "drop": True}], True, "connection closed|outcome is unknown"),
    ([{"from": "n0", "to": "n1", "delay_ms": 20}], True, None),
])
async def test_a_request_suffers_the_fault_of_each_direction_of_its_link(tmp_path, links, handler_runs, error):
    faults_path = tmp_path / "faults.json"
    calls = []
    async with trio.open_nursery() as nursery:
        write_faults(faults_path, "127.0.0.1:0", [])
        address = await start_server(nursery, faults_path, calls)
        write_faults(faults_path, address, links)
        peers = PeerConnections(SECRET, nursery, LOGGER, faults=TransportFaults.from_file(faults_path, "n0"))
        if error is None:
            payload, _ = await peers.request(address, "test.echo", {"n": 1}, timeout_seconds=30)
            assert payload == {"echoed": {"n": 1}}
        else:
            with pytest.raises(ConnectionClosedError, match=error):
                await peers.request(address, "test.echo", {"n": 1}, timeout_seconds=30)
        assert (calls == [{"n": 1}]) == handler_runs
        await peers.aclose()
        nursery.cancel_scope.cancel()


async def test_the_receiver_drops_a_request_over_a_cut_link_even_if_the_sender_sees_no_fault(tmp_path):
    sender_view, receiver_view = tmp_path / "sender.json", tmp_path / "receiver.json"
    calls = []
    async with trio.open_nursery() as nursery:
        write_faults(receiver_view, "127.0.0.1:0", [])
        address = await start_server(nursery, receiver_view, calls)
        write_faults(sender_view, address, [])
        write_faults(receiver_view, address, [{"from": "n0", "to": "n1", "drop": True}])
        peers = PeerConnections(SECRET, nursery, LOGGER, faults=TransportFaults.from_file(sender_view, "n0"))
        with pytest.raises(ConnectionClosedError):
            await peers.request(address, "test.echo", {"n": 1}, timeout_seconds=30)
        assert calls == []
        await peers.aclose()
        nursery.cancel_scope.cancel()


async def test_healing_the_file_lets_requests_through_again(tmp_path):
    faults_path = tmp_path / "faults.json"
    calls = []
    async with trio.open_nursery() as nursery:
        write_faults(faults_path, "127.0.0.1:0", [])
        address = await start_server(nursery, faults_path, calls)
        write_faults(faults_path, address, [{"from": "n0", "to": "n1", "drop": True}], generation=1)
        peers = PeerConnections(SECRET, nursery, LOGGER, faults=TransportFaults.from_file(faults_path, "n0"))
        with pytest.raises(ConnectionClosedError):
            await peers.request(address, "test.echo", {"n": 1}, timeout_seconds=30)
        write_faults(faults_path, address, [], generation=2)
        await trio.sleep(0.25)  # past the 100 ms poll interval, so the rewrite is seen
        payload, _ = await peers.request(address, "test.echo", {"n": 2}, timeout_seconds=30)
        assert payload == {"echoed": {"n": 2}} and calls == [{"n": 2}]
        await peers.aclose()
        nursery.cancel_scope.cancel()
