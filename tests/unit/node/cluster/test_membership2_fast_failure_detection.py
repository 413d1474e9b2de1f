"""The failure detector's fast path: a node whose transport port actively refuses connections is
dead after one failed ping; one that only times out (busy, paused) still needs three misses; a
closed ping connection makes the master ping again within ~0.1 s instead of waiting a round."""

import logging
from types import SimpleNamespace

import trio

from node.cluster.failure_detector import FailureDetector, connection_refused
from node.transport.errors import RequestTimeoutError


class ClosedClient:
    closed_reason = "connection closed by peer"


class FakePeers:
    def __init__(self):
        self.unreachable = set()
        self.silent = set()
        self.ping_times = []
        self.clients = {}

    async def request(self, address, method, payload, body=b"", timeout_seconds=None, channel="default"):
        self.ping_times.append((address, trio.current_time()))
        if address in self.unreachable:
            raise ConnectionError(f"cannot reach {address}")
        if address in self.silent:
            raise RequestTimeoutError(f"no response within {timeout_seconds}s")
        return {"node_id": address.replace("addr-", "")}, b""


def make_detector(refused_addresses):
    nodes = {name: SimpleNamespace(transport_address=f"addr-{name}") for name in ("self", "b", "c")}
    metadata = SimpleNamespace(state=SimpleNamespace(nodes=nodes), status=lambda: SimpleNamespace(role="leader"))
    peers = FakePeers()
    probes = []

    async def probe(address):
        probes.append(address)
        return address in refused_addresses

    detector = FailureDetector(metadata, peers, "self", logging.getLogger("test"), interval_seconds=1.0,
                               failures_before_dead=3, connect_probe=probe)
    return detector, peers, metadata, probes


async def test_a_node_whose_port_refuses_connections_is_dead_after_one_failed_ping(autojump_clock):
    detector, peers, metadata, probes = make_detector(refused_addresses={"addr-b"})
    peers.unreachable.add("addr-b")
    await detector.ping_everyone()
    assert detector.live_node_ids(metadata.state) == ("self", "c")
    assert probes == ["addr-b"] * 3  # every probe had to be refused


async def test_a_node_that_only_times_out_still_needs_three_missed_pings(autojump_clock):
    detector, peers, metadata, probes = make_detector(refused_addresses=set())
    peers.unreachable.add("addr-b")
    await detector.ping_everyone()
    await detector.ping_everyone()
    assert detector.live_node_ids(metadata.state) == ("self", "b", "c")
    await detector.ping_everyone()
    assert detector.live_node_ids(metadata.state) == ("self", "c")
    assert probes == ["addr-b"] * 2  # one unrefused probe per miss ends the fast path


async def test_one_accepted_connect_among_the_probes_keeps_the_slow_path(autojump_clock):
    nodes = {name: SimpleNamespace(transport_address=f"addr-{name}") for name in ("self", "b")}
    metadata = SimpleNamespace(state=SimpleNamespace(nodes=nodes), status=lambda: SimpleNamespace(role="leader"))
    peers = FakePeers()
    peers.unreachable.add("addr-b")
    answers = iter([True, False, True])

    async def probe(address):
        return next(answers)

    detector = FailureDetector(metadata, peers, "self", logging.getLogger("test"), connect_probe=probe)
    await detector.ping_everyone()
    assert detector.live_node_ids(metadata.state) == ("self", "b")


async def test_a_closed_ping_connection_brings_the_next_ping_forward(autojump_clock):
    detector, peers, metadata, _ = make_detector(refused_addresses=set())
    async with trio.open_nursery() as nursery:
        nursery.start_soon(detector.run)
        await trio.sleep(2.5)  # rounds at 0, 1 and 2 s
        before = len(peers.ping_times)
        peers.clients[("addr-b", "ping")] = ClosedClient()
        closed_at = trio.current_time()
        await trio.sleep(0.3)
        nursery.cancel_scope.cancel()
    later = [at for address, at in peers.ping_times[before:] if address == "addr-b"]
    assert later and later[0] - closed_at <= 0.2


async def test_connection_refused_is_true_only_for_a_port_nobody_listens_on():
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen()
    listening_port = listener.getsockname()[1]
    closed = trio.socket.socket()
    await closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        assert await connection_refused(f"127.0.0.1:{closed_port}") is True
        assert await connection_refused(f"127.0.0.1:{listening_port}") is False
        assert await connection_refused("not-an-address") is False
    finally:
        listener.close()


async def test_a_node_that_becomes_leader_pings_at_once_instead_of_after_a_round(autojump_clock):
    detector, peers, metadata, _ = make_detector(refused_addresses=set())
    role = ["follower"]
    metadata.status = lambda: SimpleNamespace(role=role[0])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(detector.run)
        await trio.sleep(2.45)  # follower rounds at 0, 1 and 2 s: no pings
        assert peers.ping_times == []
        role[0] = "leader"
        elected_at = trio.current_time()
        await trio.sleep(0.3)
        nursery.cancel_scope.cancel()
    assert peers.ping_times and peers.ping_times[0][1] - elected_at <= 0.2


async def test_a_ping_that_timed_out_is_not_followed_by_connect_probes(autojump_clock):
    detector, peers, metadata, probes = make_detector(refused_addresses={"addr-b"})
    peers.silent.add("addr-b")
    await detector.ping_everyone()
    assert probes == []
    assert detector.live_node_ids(metadata.state) == ("self", "b", "c")
