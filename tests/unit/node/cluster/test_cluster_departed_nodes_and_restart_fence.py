"""node/cluster and the reopened-primary fence: dead nodes leave the registry only once their
copies are failed and register again on return; a primary that restarted fails the copies that
were recovering from it, so none of them can start missing a write."""

import logging

import trio

from node.cluster.master import departed_node_commands
from node.cluster.membership import stay_registered
from node.coordination.shards import unregistered_recovery_failures
from raft import commands as c
from raft.apply import apply
from raft.state import NodeInfo, initial_cluster_state


def node(node_id):
    return NodeInfo(node_id=node_id, name=node_id, http_address=f"{node_id}:9200",
                    transport_address=f"{node_id}:9300")


def accepted(state, command):
    new_state, outcome = apply(state, command)
    assert outcome.accepted, outcome
    return new_state


def cluster_with_recovering_replica():
    """n1 holds the started primary of logs[0]; n2's replica is INITIALIZING (recovering)."""
    state = accepted(initial_cluster_state("test"), c.BootstrapCluster(cluster_uuid="u"))
    for node_id in ("n1", "n2", "n3"):
        state = accepted(state, c.RegisterNode(node=node(node_id)))
    state = accepted(state, c.CreateIndex(index_name="logs", index_uuid="logs-uuid", creation_date=1,
                                          settings={"index": {"number_of_shards": 1, "number_of_replicas": 1}}))
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n1",
                                           allocation_id="p", primary=True))
    state = accepted(state, c.StartCopy(index_name="logs", shard_number=0, allocation_id="p"))
    return accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2",
                                          allocation_id="r", primary=False))


def test_a_dead_node_that_still_holds_a_copy_is_not_deregistered_yet():
    state = cluster_with_recovering_replica()
    assert departed_node_commands(state, {"n2"}) == []


def test_a_dead_node_without_copies_is_deregistered_and_live_nodes_never_are():
    state = cluster_with_recovering_replica()
    commands = departed_node_commands(state, {"n3"})
    assert [command.node_id for command in commands] == ["n3"]
    assert departed_node_commands(state, set()) == []
    after, outcome = apply(state, commands[0])
    assert outcome.accepted and "n3" not in after.nodes
    assert departed_node_commands(after, {"n3"}) == []


def test_a_reopened_primary_fails_every_recovery_it_is_not_forwarding_writes_to():
    state = cluster_with_recovering_replica()
    shard = state.routing_table["logs"][0]
    assert unregistered_recovery_failures(shard, {"r"}) == []
    failures = unregistered_recovery_failures(shard, set())
    assert [(f.allocation_id, f.primary_term) for f in failures] == [("r", shard.primary_term)]
    after, outcome = apply(state, failures[0])
    assert outcome.accepted
    # the recovery that was confirmed before the restart can no longer start the copy
    _, start = apply(after, c.StartCopy(index_name="logs", shard_number=0, allocation_id="r"))
    assert not start.accepted


def test_the_restart_fence_is_rejected_when_a_newer_primary_term_exists():
    state = cluster_with_recovering_replica()
    stale = unregistered_recovery_failures(state.routing_table["logs"][0], set())[0]
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="p"))
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n3",
                                           allocation_id="p", primary=True))
    _, outcome = apply(state, stale)
    assert outcome.error_type == "stale_primary_term_exception"


class FakeMetadata:
    def __init__(self, state):
        self.state = state
        self.submitted = []

    async def submit(self, command, timeout_seconds=None):
        self.submitted.append(command)
        self.state, outcome = apply(self.state, command)
        return outcome


async def test_a_deregistered_node_registers_itself_again(autojump_clock):
    state = cluster_with_recovering_replica()
    metadata = FakeMetadata(accepted(state, c.DeregisterNode(node_id="n3")))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(stay_registered, metadata, node("n3"), logging.getLogger("test"))
        await trio.sleep(5)
        nursery.cancel_scope.cancel()
    assert metadata.state.nodes["n3"] == node("n3")
    assert [command.command_type for command in metadata.submitted] == ["register_node"]


def test_a_replica_rejects_writes_forwarded_under_an_older_primary_term_than_its_state_names():
    import pytest

    from node.errors import ApiError
    from node.coordination.replication import reject_older_primary_term

    state = cluster_with_recovering_replica()
    term = state.routing_table["logs"][0].primary_term
    reject_older_primary_term(state, "logs-uuid", 0, term)
    reject_older_primary_term(state, "logs-uuid", 0, None)
    with pytest.raises(ApiError) as raised:
        reject_older_primary_term(state, "logs-uuid", 0, term - 1)
    assert raised.value.opensearch_type == "stale_primary_term_exception"
