"""raft.allocation moves several copies in one round onto a node that came back (bounded by
cluster_concurrent_rebalance and the target's node_concurrent_recoveries), never a shard that
is still recovering, and never more than one move per shard."""

import itertools

from raft import commands as c
from raft.allocation import allocation_decisions
from raft.apply import apply
from raft.state import INITIALIZING, NodeInfo, initial_cluster_state


def node(node_id):
    return NodeInfo(node_id=node_id, name=node_id, http_address=f"{node_id}:9200",
                    transport_address=f"{node_id}:9300")


def applied(state, commands):
    for command in commands:
        state, outcome = apply(state, command)
        assert outcome.accepted, outcome
    return state


def start_every_copy(state):
    for index_name, shards in state.routing_table.items():
        for shard in shards:
            for shard_copy in shard.copies:
                if shard_copy.state == INITIALIZING:
                    state = applied(state, [c.StartCopy(index_name=index_name, shard_number=shard.shard_number,
                                                        allocation_id=shard_copy.allocation_id)])
    return state


def balanced_cluster_then_one_node_empty(shard_count, settings=None):
    """n1..n3 hold every copy (started); n4 joins empty."""
    counter = itertools.count(1)
    state = applied(initial_cluster_state("t"), [c.BootstrapCluster(cluster_uuid="u")]
                    + [c.RegisterNode(node=node(f"n{number}")) for number in (1, 2, 3)])
    if settings:
        state = applied(state, [c.PutClusterSettings(persistent=settings)])
    state = applied(state, [c.CreateIndex(index_name="logs", index_uuid="logs-uuid", creation_date=1, settings={
        "index": {"number_of_shards": shard_count, "number_of_replicas": 1}})])
    for _ in range(3):
        state = start_every_copy(applied(state, allocation_decisions(
            state, ("n1", "n2", "n3"), lambda: f"a{next(counter)}")))
    state = applied(state, [c.RegisterNode(node=node("n4"))])
    return state, counter


def moves(decisions):
    return [command for command in decisions if isinstance(command, c.RelocateCopy)]


def test_a_node_that_joins_empty_receives_two_copies_in_one_round_by_default():
    state, counter = balanced_cluster_then_one_node_empty(6)
    decisions = allocation_decisions(state, ("n1", "n2", "n3", "n4"), lambda: f"b{next(counter)}")
    relocations = moves(decisions)
    assert len(relocations) == 2
    assert {command.target_node_id for command in relocations} == {"n4"}
    assert len({(command.index_name, command.shard_number) for command in relocations}) == 2


def test_cluster_concurrent_rebalance_of_one_keeps_a_single_move_in_flight():
    state, counter = balanced_cluster_then_one_node_empty(
        6, {"cluster.routing.allocation.cluster_concurrent_rebalance": "1"})
    live = ("n1", "n2", "n3", "n4")
    first = moves(allocation_decisions(state, live, lambda: f"b{next(counter)}"))
    assert len(first) == 1
    state = applied(state, first)
    # the move is still recovering: nothing new starts
    assert allocation_decisions(state, live, lambda: f"b{next(counter)}") == []


def test_moves_in_flight_count_against_the_budget_until_they_complete():
    state, counter = balanced_cluster_then_one_node_empty(6)
    live = ("n1", "n2", "n3", "n4")
    state = applied(state, allocation_decisions(state, live, lambda: f"b{next(counter)}"))
    assert moves(allocation_decisions(state, live, lambda: f"b{next(counter)}")) == []
    state = start_every_copy(state)
    decisions = allocation_decisions(state, live, lambda: f"b{next(counter)}")
    completions = [command for command in decisions if isinstance(command, c.CompleteRelocation)]
    assert len(completions) == 2


def test_rebalancing_converges_without_ever_losing_an_in_sync_copy():
    state, counter = balanced_cluster_then_one_node_empty(6)
    live = ("n1", "n2", "n3", "n4")
    for _ in range(20):
        decisions = allocation_decisions(state, live, lambda: f"b{next(counter)}")
        if not decisions:
            break
        state = start_every_copy(applied(state, decisions))
        for shard in state.routing_table["logs"]:
            started_in_sync = [copy for copy in shard.copies
                               if copy.state == "STARTED" and copy.allocation_id in shard.in_sync_allocation_ids]
            assert len(started_in_sync) >= 2
    else:
        raise AssertionError("rebalancing did not converge in 20 rounds")
    per_node = {}
    for shard in state.routing_table["logs"]:
        for shard_copy in shard.copies:
            per_node[shard_copy.node_id] = per_node.get(shard_copy.node_id, 0) + 1
    assert sorted(per_node.values()) == [3, 3, 3, 3]


def test_cluster_concurrent_rebalance_of_minus_one_is_unlimited_and_zero_stops_moves():
    state, counter = balanced_cluster_then_one_node_empty(
        12, {"cluster.routing.allocation.cluster_concurrent_rebalance": "-1",
             "cluster.routing.allocation.node_concurrent_recoveries": "10"})
    live = ("n1", "n2", "n3", "n4")
    # n1..n3 hold 8 copies each; n4 needs 6 to balance
    assert len(moves(allocation_decisions(state, live, lambda: f"b{next(counter)}"))) == 6
    stopped, _ = apply(state, c.PutClusterSettings(
        persistent={"cluster.routing.allocation.cluster_concurrent_rebalance": "0"}))
    assert moves(allocation_decisions(stopped, live, lambda: f"b{next(counter)}")) == []


def test_a_target_takes_no_more_moves_than_node_concurrent_recoveries():
    state, counter = balanced_cluster_then_one_node_empty(
        12, {"cluster.routing.allocation.cluster_concurrent_rebalance": "-1"})
    relocations = moves(allocation_decisions(state, ("n1", "n2", "n3", "n4"), lambda: f"b{next(counter)}"))
    assert len(relocations) == 2  # node_concurrent_recoveries defaults to 2
