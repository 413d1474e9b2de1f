"""HeldCopies: the node remembers the allocation ids of its copies and reports those on disk."""

import logging

from node.cluster.held_copies import HeldCopies, reported_copies_from_wire
from raft import commands as c
from raft.apply import apply
from raft.state import NodeInfo, initial_cluster_state


def state_with_copy_on(node_id):
    state = initial_cluster_state("test")
    for command in (
        c.BootstrapCluster(cluster_uuid="cluster-1"),
        c.RegisterNode(node=NodeInfo(node_id=node_id, name=node_id, http_address="h:1",
                                     transport_address="t:1", raft_address="r:1", voter=True)),
        c.CreateIndex(index_name="logs", index_uuid="uuid-logs", creation_date=0,
                      settings={"index.number_of_shards": "1", "index.number_of_replicas": "0"}),
        c.AllocateCopy(index_name="logs", shard_number=0, node_id=node_id, allocation_id="alloc-1",
                       primary=True),
    ):
        state, outcome = apply(state, command)
        assert outcome.accepted, outcome
    return state


def test_a_copy_assigned_here_is_remembered_across_restarts_and_reported_while_on_disk(tmp_path):
    state = state_with_copy_on("node-a")
    held = HeldCopies(tmp_path, "node-a", logging.getLogger("test"))
    held.on_state_applied(None, state)
    assert held.reported_copies(state) == []          # no shard directory yet: nothing to offer
    (tmp_path / "indices" / "uuid-logs" / "0").mkdir(parents=True)
    reopened = HeldCopies(tmp_path, "node-a", logging.getLogger("test"))
    [copy] = reopened.reported_copies(state)
    assert (copy.index_name, copy.shard_number, copy.allocation_id) == ("logs", 0, "alloc-1")
    assert reported_copies_from_wire(reopened.to_wire(state)) == [copy]


def test_copies_of_other_nodes_and_deleted_indices_are_not_reported(tmp_path):
    state = state_with_copy_on("node-b")
    held = HeldCopies(tmp_path, "node-a", logging.getLogger("test"))
    held.on_state_applied(None, state)
    assert held.allocation_ids == {}
    mine = HeldCopies(tmp_path, "node-b", logging.getLogger("test"))
    mine.on_state_applied(None, state)
    deleted, outcome = apply(state, c.DeleteIndex(index_name="logs"))
    assert outcome.accepted
    mine.on_state_applied(state, deleted)
    assert mine.allocation_ids == {}


def test_malformed_reports_from_the_wire_are_ignored():
    assert reported_copies_from_wire([{"index_name": "a"}, None, {"index_name": "b", "shard_number": "1",
                                                                   "allocation_id": "x"}])[0].shard_number == 1


def test_an_empty_state_at_start_up_does_not_erase_what_the_node_holds(tmp_path):
    state = state_with_copy_on("node-a")
    held = HeldCopies(tmp_path, "node-a", logging.getLogger("test"))
    held.on_state_applied(None, state)
    restarted = HeldCopies(tmp_path, "node-a", logging.getLogger("test"))
    empty = initial_cluster_state("test")
    restarted.on_state_applied(empty, empty)       # Raft has not replayed its journal yet
    assert restarted.allocation_ids == {"uuid-logs/0": "alloc-1"}
    assert HeldCopies(tmp_path, "node-a", logging.getLogger("test")).allocation_ids == {"uuid-logs/0": "alloc-1"}
