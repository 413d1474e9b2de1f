"""A replica finishing peer recovery submits StartCopy; when the master changes at that moment the
submit raises a ClusterError (outcome unknown). That must not take the node down: the copy
recovers again (StartCopy is idempotent) and is started by the next attempt."""

import logging
from types import SimpleNamespace

import trio

from node.cluster.errors import ClusterUnavailableError
from node.coordination.replication import Replication
from raft import commands as c
from raft.apply import apply
from raft.state import NodeInfo, initial_cluster_state

INDEX_UUID = "logs-uuid"


def accepted(state, command):
    new_state, outcome = apply(state, command)
    assert outcome.accepted, outcome
    return new_state


def cluster_with_recovering_replica_on_n2():
    state = accepted(initial_cluster_state("test"), c.BootstrapCluster(cluster_uuid="u"))
    for node_id in ("n1", "n2"):
        state = accepted(state, c.RegisterNode(node=NodeInfo(node_id=node_id, name=node_id,
                                                             http_address=f"{node_id}:9200",
                                                             transport_address=f"{node_id}:9300")))
    state = accepted(state, c.CreateIndex(index_name="logs", index_uuid=INDEX_UUID, creation_date=1,
                                          settings={"index": {"number_of_shards": 1, "number_of_replicas": 1}}))
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n1",
                                           allocation_id="p", primary=True))
    state = accepted(state, c.StartCopy(index_name="logs", shard_number=0, allocation_id="p"))
    return accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2",
                                          allocation_id="r", primary=False))


class EmptyCopyWorker:
    async def call(self, index_uuid, shard_number, method, payload, body=b"", timeout_seconds=None):
        if method == "stats":
            return {"local_checkpoint": -1, "global_checkpoint": -1, "max_seq_no": -1}, b""
        if method in ("refresh", "prepare_recovery"):
            return {"local_checkpoint": -1}, b""
        raise AssertionError(f"unexpected worker method {method}")


class PrimaryPeer:
    async def request(self, address, method, request, body, timeout_seconds=None, channel=None):
        return {"operations": []}, b""


class MasterChangingOnce:
    """The first StartCopy meets a master change; the next one is accepted."""

    def __init__(self, state):
        self.state = state
        self.submitted = []

    async def submit(self, command):
        self.submitted.append(command)
        if len(self.submitted) == 1:
            raise ClusterUnavailableError("the leader changed while the command was in flight")
        self.state, outcome = apply(self.state, command)
        return outcome


async def test_a_master_change_while_starting_a_recovered_replica_recovers_again_instead_of_crashing(autojump_clock):
    metadata = MasterChangingOnce(cluster_with_recovering_replica_on_n2())
    context = SimpleNamespace(node_id="n2", metadata=metadata, workers=EmptyCopyWorker(), peers=PrimaryPeer(),
                              logger=logging.getLogger("test.recovery_start_copy"), metrics=None, background=None)
    director = SimpleNamespace(local={}, wait_for_state_change=lambda seconds: trio.sleep(seconds))
    replication = Replication(context, director)
    local = SimpleNamespace(index_uuid=INDEX_UUID, index_name="logs", shard_number=0, allocation_id="r",
                            primary=False, closed=False)

    await replication.recover(local, -1)

    assert [type(command).__name__ for command in metadata.submitted] == ["StartCopy", "StartCopy"]
    replica = [copy for copy in metadata.state.routing_table["logs"][0].copies if copy.allocation_id == "r"][0]
    assert replica.state == "STARTED"
