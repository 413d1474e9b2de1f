"""``_cluster/allocation/explain`` judges with the master's liveness and disk figures: the
``cluster.allocation_inputs`` answer of a leading failure detector round-trips through
``master_allocation_inputs``; a node that does not lead, or a master that cannot be reached, gives
"unknown" (every node live, no disk figures) instead of failing the explanation."""

import logging
from types import SimpleNamespace

from node.cluster.failure_detector import FailureDetector, master_allocation_inputs, register_allocation_inputs_handler
from node.transport.server import TransportHandlers
from raft.deciders import DiskUsage


def detector_with(role):
    nodes = {name: SimpleNamespace(transport_address=f"addr-{name}") for name in ("self", "b", "c")}
    metadata = SimpleNamespace(state=SimpleNamespace(nodes=nodes), status=lambda: SimpleNamespace(role=role))
    detector = FailureDetector(metadata, None, "self", logging.getLogger("test"),
                               local_disk_usage=lambda: DiskUsage(1000, 300))
    detector.dead_node_ids.add("c")
    detector.disk_by_node["b"] = DiskUsage(1000, 50)
    handlers = TransportHandlers()
    register_allocation_inputs_handler(handlers, detector)
    return handlers


class PeersThroughHandlers:
    """Delivers a request to another node's handlers, as the transport would."""

    def __init__(self, handlers_by_address):
        self.handlers_by_address = handlers_by_address

    async def request(self, address, method, payload, body=b"", timeout_seconds=None):
        if address not in self.handlers_by_address:
            raise ConnectionError(f"cannot reach {address}")
        return await self.handlers_by_address[address].dispatch(method, payload, body)


async def test_the_master_answers_its_dead_nodes_and_every_disk_it_knows_itself_included():
    master = detector_with("leader")
    for inputs in (await master_allocation_inputs(master, None, None, is_self=True),
                   await master_allocation_inputs(detector_with("follower"), PeersThroughHandlers({"m": master}),
                                                  "m", is_self=False)):
        assert inputs.dead_node_ids == frozenset({"c"})
        assert inputs.disk_usage == {"b": DiskUsage(1000, 50), "self": DiskUsage(1000, 300)}


async def test_a_follower_or_an_unreachable_or_unknown_master_gives_no_figures():
    follower = detector_with("follower")
    asked = [await master_allocation_inputs(follower, None, None, is_self=True),
             await master_allocation_inputs(follower, PeersThroughHandlers({}), "gone", is_self=False),
             await master_allocation_inputs(follower, PeersThroughHandlers({}), None, is_self=False)]
    for inputs in asked:
        assert inputs.dead_node_ids == frozenset() and inputs.disk_usage is None
