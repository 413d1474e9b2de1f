"""Failed allocations in a row: counted in the routing table, honoured by the allocator up to
``index.allocation.max_retries``, and cleared by RetryFailedAllocations (reroute?retry_failed)."""

import itertools

from raft import commands as c
from raft.allocation import allocation_decisions
from raft.apply import apply
from raft.state import ClusterState, NodeInfo, initial_cluster_state

LIVE = ("n1", "n2", "n3")


def accepted(state, command):
    new_state, outcome = apply(state, command)
    assert outcome.accepted, outcome
    return new_state


def cluster_with_index(replicas=1, max_retries=None):
    state = initial_cluster_state("test-cluster")
    for node_id in LIVE:
        state = accepted(state, c.RegisterNode(node=NodeInfo(
            node_id=node_id, name=node_id, http_address=f"{node_id}:9200",
            transport_address=f"{node_id}:9300")))
    index_settings = {"number_of_shards": 1, "number_of_replicas": replicas}
    if max_retries is not None:
        index_settings["allocation"] = {"max_retries": max_retries}
    return accepted(state, c.CreateIndex(index_name="logs", index_uuid="logs-uuid",
                                         creation_date=1700000000000,
                                         settings={"index": index_settings}))


_allocation_ids = (f"a{n}" for n in itertools.count())


def allocate_once(state):
    """Apply what the allocator decides now (as the master would); the commands it made."""
    commands = allocation_decisions(state, LIVE, lambda: next(_allocation_ids))
    for command in commands:
        state = accepted(state, command)
    return state, commands


def allocations(commands):
    return [command for command in commands if isinstance(command, c.AllocateCopy)]


def initializing_copy(state: ClusterState, primary: bool):
    return next(copy for copy in state.shard("logs", 0).copies
                if copy.primary == primary and copy.state == "INITIALIZING")


def fail_allocation(state, primary):
    copy = initializing_copy(state, primary)
    return accepted(state, c.FailCopy(index_name="logs", shard_number=0,
                                      allocation_id=copy.allocation_id, reason="ALLOCATION_FAILED"))


def started_primary_state(**index):
    state, _ = allocate_once(cluster_with_index(**index))
    primary = initializing_copy(state, primary=True)
    return accepted(state, c.StartCopy(index_name="logs", shard_number=0, allocation_id=primary.allocation_id))


def test_a_replica_that_fails_to_allocate_is_tried_max_retries_times_and_then_left_unassigned():
    state = started_primary_state(max_retries=3)
    for attempt in range(1, 4):
        state, commands = allocate_once(state)
        assert len(allocations(commands)) == 1, f"attempt {attempt} was not made"
        state = fail_allocation(state, primary=False)
        replica = state.shard("logs", 0).replicas()[0]
        assert (replica.state, replica.failed_allocations) == ("UNASSIGNED", attempt)
    state, commands = allocate_once(state)
    assert allocations(commands) == []
    assert state.shard("logs", 0).replicas()[0].unassigned_reason == "ALLOCATION_FAILED"


def test_retry_failed_allocations_lets_the_allocator_place_the_copy_again():
    state = started_primary_state(max_retries=1)
    state, _ = allocate_once(state)
    state = fail_allocation(state, primary=False)
    assert allocations(allocate_once(state)[1]) == []
    state = accepted(state, c.RetryFailedAllocations())
    assert state.shard("logs", 0).replicas()[0].failed_allocations == 0
    state, commands = allocate_once(state)
    assert len(allocations(commands)) == 1


def test_the_default_limit_is_five_as_in_opensearch():
    state = started_primary_state()
    attempts = 0
    while True:
        state, commands = allocate_once(state)
        if not allocations(commands):
            break
        attempts += 1
        state = fail_allocation(state, primary=False)
        assert attempts <= 5
    assert attempts == 5


def test_a_started_copy_clears_its_count_and_a_node_leaving_does_not_count():
    state = started_primary_state(max_retries=5)
    state, _ = allocate_once(state)
    state = fail_allocation(state, primary=False)
    state, _ = allocate_once(state)
    replica = initializing_copy(state, primary=False)
    assert replica.failed_allocations == 1  # carried while the slot is tried again
    state = accepted(state, c.StartCopy(index_name="logs", shard_number=0, allocation_id=replica.allocation_id))
    assert state.shard("logs", 0).replicas()[0].failed_allocations == 0
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0,
                                       allocation_id=replica.allocation_id, reason="NODE_LEFT"))
    assert state.shard("logs", 0).replicas()[0].failed_allocations == 0


def test_a_new_primary_that_fails_to_open_max_retries_times_leaves_the_shard_red():
    state = cluster_with_index(replicas=0, max_retries=2)
    for _ in range(2):
        state, commands = allocate_once(state)
        assert len(allocations(commands)) == 1
        state = fail_allocation(state, primary=True)
    state, commands = allocate_once(state)
    assert allocations(commands) == []
    assert state.shard("logs", 0).primary() is None


def test_the_count_survives_the_state_wire_format():
    state = started_primary_state(max_retries=3)
    state, _ = allocate_once(state)
    state = fail_allocation(state, primary=False)
    decoded = ClusterState.from_json(state.to_json())
    assert decoded.shard("logs", 0).replicas()[0].failed_allocations == 1
    assert decoded == state


def test_a_forced_primary_records_the_term_at_which_data_loss_was_accepted():
    state = started_primary_state(replicas=0)
    primary = state.shard("logs", 0).primary()
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0,
                                       allocation_id=primary.allocation_id, reason="NODE_LEFT"))
    assert state.shard("logs", 0).in_sync_allocation_ids == (primary.allocation_id,)  # red, waiting
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2",
                                           allocation_id="forced", primary=True, accept_data_loss=True,
                                           empty_store=True))
    shard = state.shard("logs", 0)
    assert (shard.primary_term, shard.data_loss_term, shard.empty_primary_allocation_id) == (2, 2, "forced")
    assert ClusterState.from_json(state.to_json()) == state


def test_an_empty_store_needs_an_explicit_acceptance_of_data_loss():
    state = cluster_with_index(replicas=0)
    _, outcome = apply(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n1",
                                             allocation_id="x", primary=True, empty_store=True))
    assert not outcome.accepted and "accept_data_loss" in outcome.reason


def test_a_forced_primary_that_fails_before_starting_is_not_replaced_by_an_empty_one():
    state = started_primary_state(replicas=0)
    primary = state.shard("logs", 0).primary()
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0,
                                       allocation_id=primary.allocation_id, reason="NODE_LEFT"))
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2",
                                           allocation_id="stale", primary=True, accept_data_loss=True))
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="stale"))
    state, commands = allocate_once(state)
    assert allocations(commands) == [] and state.shard("logs", 0).primary() is None


def test_the_explanation_of_an_unassigned_copy_names_the_rules_the_allocator_applies():
    from raft.allocation import explain_unassigned_copy

    state = started_primary_state(max_retries=1)
    state, _ = allocate_once(state)
    state = fail_allocation(state, primary=False)
    state = accepted(state, c.PutClusterSettings(persistent={"cluster.routing.allocation.exclude._name": "n3"}))
    can_allocate, _, decisions = explain_unassigned_copy(state, "logs", 0, False, LIVE)
    assert can_allocate == "no"
    by_node = {decision.node_id: {name for name, _, _ in decision.deciders} for decision in decisions}
    primary_node = state.shard("logs", 0).primary().node_id
    assert "same_shard" in by_node[primary_node] and "max_retry" in by_node[primary_node]
    assert by_node["n3"] >= {"filter", "max_retry"}
    state = accepted(state, c.RetryFailedAllocations())
    can_allocate, _, decisions = explain_unassigned_copy(state, "logs", 0, False, LIVE)
    assert can_allocate == "yes"
    assert [decision.node_id for decision in decisions if decision.decision == "yes"] == \
        sorted(set(LIVE) - {primary_node, "n3"})


def test_a_lost_primary_with_in_sync_copies_is_no_valid_shard_copy():
    from raft.allocation import explain_unassigned_copy

    state = started_primary_state(replicas=0)
    primary = state.shard("logs", 0).primary()
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0,
                                       allocation_id=primary.allocation_id, reason="NODE_LEFT"))
    can_allocate, explanation, _ = explain_unassigned_copy(state, "logs", 0, True, LIVE)
    assert can_allocate == "no_valid_shard_copy" and "accept_data_loss" in explanation
