"""The master's failure detector: missed pings in a row make a node dead, one answer revives it."""

import logging
from types import SimpleNamespace

import trio

from node.cluster.failure_detector import FailureDetector


class FakePeers:
    def __init__(self):
        self.unreachable = set()
        self.pings = 0

    async def request(self, address, method, payload, body=b"", timeout_seconds=None, channel="default"):
        self.pings += 1
        if address in self.unreachable:
            raise ConnectionError(f"cannot reach {address}")
        return {"node_id": address.replace("addr-", "")}, b""


def make_detector(role="leader"):
    nodes = {name: SimpleNamespace(transport_address=f"addr-{name}") for name in ("self", "b", "c")}
    metadata = SimpleNamespace(state=SimpleNamespace(nodes=nodes),
                               status=lambda: SimpleNamespace(role=role))
    peers = FakePeers()
    detector = FailureDetector(metadata, peers, "self", logging.getLogger("test"),
                               interval_seconds=1.0, failures_before_dead=3)
    return detector, peers, metadata


async def test_a_node_missing_three_pings_in_a_row_is_dead_and_one_answer_revives_it(autojump_clock):
    detector, peers, metadata = make_detector()
    changes = []
    detector.on_liveness_changed(lambda: changes.append(sorted(detector.dead_node_ids)))
    peers.unreachable.add("addr-b")
    await detector.ping_everyone()
    await detector.ping_everyone()
    assert detector.live_node_ids(metadata.state) == ("self", "b", "c")
    await detector.ping_everyone()
    assert detector.live_node_ids(metadata.state) == ("self", "c")
    peers.unreachable.clear()
    await detector.ping_everyone()
    assert detector.live_node_ids(metadata.state) == ("self", "b", "c")
    # c's first answer wakes allocation too (ADR 0270: no moves to a node before its first report),
    # then b's death, then b's answer
    assert changes == [[], ["b"], []]


async def test_a_follower_never_pings_and_trusts_every_registered_node(autojump_clock):
    detector, peers, metadata = make_detector(role="follower")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(detector.run)
        await trio.sleep(10)
        nursery.cancel_scope.cancel()
    assert peers.pings == 0
    assert detector.live_node_ids(metadata.state) == ("self", "b", "c")
