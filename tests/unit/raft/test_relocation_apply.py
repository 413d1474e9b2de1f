"""raft.apply for relocation: the new copy is added before the old one leaves, and a failure on
either side of a move leaves the shard with exactly 1 + number_of_replicas slots."""

from raft import commands as c
from raft.apply import apply
from raft.state import NodeInfo, initial_cluster_state


def accepted(state, command):
    new_state, outcome = apply(state, command)
    assert outcome.accepted, outcome
    return new_state


def green_shard_with_a_move_started(source="r"):
    state = accepted(initial_cluster_state("t"), c.BootstrapCluster(cluster_uuid="u"))
    for node_id in ("n1", "n2", "n3"):
        state = accepted(state, c.RegisterNode(node=NodeInfo(node_id=node_id, name=node_id, http_address="h",
                                                             transport_address="t")))
    state = accepted(state, c.CreateIndex(index_name="i", index_uuid="iu", creation_date=1,
                                          settings={"index": {"number_of_shards": 1, "number_of_replicas": 1}}))
    for allocation_id, node_id, primary in (("p", "n1", True), ("r", "n2", False)):
        state = accepted(state, c.AllocateCopy(index_name="i", shard_number=0, node_id=node_id,
                                               allocation_id=allocation_id, primary=primary))
        state = accepted(state, c.StartCopy(index_name="i", shard_number=0, allocation_id=allocation_id))
    return accepted(state, c.RelocateCopy(index_name="i", shard_number=0, allocation_id=source,
                                          target_node_id="n3", target_allocation_id="t"))


def layout(state):
    return [(copy.allocation_id, copy.node_id, copy.primary, copy.state) for copy in state.shard("i", 0).copies]


def test_a_move_adds_the_target_and_keeps_the_source_active_and_the_shard_green():
    state = green_shard_with_a_move_started()
    assert layout(state) == [("p", "n1", True, "STARTED"), ("r", "n2", False, "RELOCATING"),
                             ("t", "n3", False, "INITIALIZING")]
    assert state.shard("i", 0).health == "green"
    _, outcome = apply(state, c.RelocateCopy(index_name="i", shard_number=0, allocation_id="p",
                                             target_node_id="n3", target_allocation_id="x"))
    assert not outcome.accepted  # one move at a time per shard


def test_the_source_leaves_only_after_the_target_started_and_in_sync_never_fewer_copies():
    state = green_shard_with_a_move_started()
    _, early = apply(state, c.CompleteRelocation(index_name="i", shard_number=0, allocation_id="r"))
    assert not early.accepted
    state = accepted(state, c.StartCopy(index_name="i", shard_number=0, allocation_id="t"))
    state = accepted(state, c.CompleteRelocation(index_name="i", shard_number=0, allocation_id="r"))
    assert layout(state) == [("p", "n1", True, "STARTED"), ("t", "n3", False, "STARTED")]
    assert state.shard("i", 0).in_sync_allocation_ids == ("p", "t")


def test_a_relocating_primary_hands_over_to_the_named_replica_with_a_new_term():
    state = green_shard_with_a_move_started(source="p")
    state = accepted(state, c.StartCopy(index_name="i", shard_number=0, allocation_id="t"))
    term = state.shard("i", 0).primary_term
    state = accepted(state, c.CompleteRelocation(index_name="i", shard_number=0, allocation_id="p",
                                                 promote_allocation_id="t"))
    assert layout(state) == [("t", "n3", True, "STARTED"), ("r", "n2", False, "STARTED")]
    assert state.shard("i", 0).primary_term == term + 1


def test_a_failed_target_cancels_the_move_and_a_failed_source_leaves_the_target_as_replacement():
    state = green_shard_with_a_move_started()
    cancelled = accepted(state, c.FailCopy(index_name="i", shard_number=0, allocation_id="t"))
    assert layout(cancelled) == [("p", "n1", True, "STARTED"), ("r", "n2", False, "STARTED")]
    source_lost = accepted(state, c.FailCopy(index_name="i", shard_number=0, allocation_id="r"))
    assert layout(source_lost) == [("p", "n1", True, "STARTED"), ("t", "n3", False, "INITIALIZING")]
