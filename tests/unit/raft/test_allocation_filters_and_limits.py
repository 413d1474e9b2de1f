"""The allocation filters, per-node shard limits, enable switches and disk watermarks the allocator
honours (raft.deciders): before session 6 the index-level settings were accepted and stored but
placement ignored them, so `require._name` silently did nothing, and nothing watched the disks."""

import itertools

import pytest

from raft import commands as c
from raft.allocation import allocation_decisions, auto_expanded_replicas, explain_unassigned_copy, remain_rejections
from raft.apply import apply
from raft.deciders import DiskUsage, disk_rejection, filter_rejection, flood_stage_block_changes
from raft.state import NodeInfo, initial_cluster_state

NODES = {"n1": {"box_type": "hot"}, "n2": {"box_type": "hot"}, "n3": {"box_type": "warm"}}
LIVE = tuple(NODES)
_allocation_ids = (f"a{n}" for n in itertools.count())


def accepted(state, command):
    new_state, outcome = apply(state, command)
    assert outcome.accepted, outcome
    return new_state


def cluster(**cluster_settings):
    state = initial_cluster_state("test-cluster")
    for number, (node_id, attributes) in enumerate(NODES.items(), start=1):
        state = accepted(state, c.RegisterNode(node=NodeInfo(
            node_id=node_id, name=f"name-{node_id}", http_address=f"10.0.0.{number}:9200",
            transport_address=f"10.0.0.{number}:9300", attributes=attributes)))
    if cluster_settings:
        state = accepted(state, c.PutClusterSettings(persistent=cluster_settings))
    return state


def with_index(state, shards=1, replicas=1, **settings):
    index_settings = {"index.number_of_shards": shards, "index.number_of_replicas": replicas, **settings}
    return accepted(state, c.CreateIndex(index_name="logs", index_uuid="logs-uuid", creation_date=1,
                                         settings=index_settings))


def settle(state, rounds=6, disk=None):
    """Run the allocator as the master would (with these disk reports), starting every copy it
    places (a move's target too), until it is quiet."""
    for _ in range(rounds):
        commands = allocation_decisions(state, LIVE, lambda: next(_allocation_ids), disk_usage=disk)
        if not commands:
            return state
        for command in commands:
            state = accepted(state, command)
        for shard in state.routing_table["logs"]:
            for shard_copy in shard.copies:
                if shard_copy.state == "INITIALIZING" and (shard_copy.primary or
                                                           shard.primary().state in ("STARTED", "RELOCATING")):
                    state = accepted(state, c.StartCopy(index_name="logs", shard_number=shard.shard_number,
                                                        allocation_id=shard_copy.allocation_id))
    return state


def placement(state):
    """{(shard, primary): node} of assigned copies, and the number of unassigned ones."""
    placed, unassigned = {}, 0
    for shard in state.routing_table["logs"]:
        for shard_copy in shard.copies:
            if shard_copy.node_id is None:
                unassigned += 1
            else:
                placed.setdefault(shard_copy.node_id, []).append((shard.shard_number, shard_copy.primary))
    return placed, unassigned


def test_an_index_required_on_one_node_by_name_puts_every_copy_there_or_nowhere():
    state = settle(with_index(cluster(), **{"index.routing.allocation.require._name": "name-n2"}))
    placed, unassigned = placement(state)
    assert placed == {"n2": [(0, True)]} and unassigned == 1
    can_allocate, _, decisions = explain_unassigned_copy(state, "logs", 0, False, LIVE)
    assert can_allocate == "no"
    by_node = {decision.node_id: decision for decision in decisions}
    assert ("filter", "NO", 'node does not match index setting [index.routing.allocation.require] '
                            'filters [_name:"name-n2"]') in by_node["n1"].deciders


@pytest.mark.parametrize("settings, allowed", [
    ({"index.routing.allocation.include._name": "name-n1,name-n3"}, {"n1", "n3"}),
    ({"index.routing.allocation.exclude._name": "*-n1"}, {"n2", "n3"}),
    ({"index.routing.allocation.require.box_type": "hot"}, {"n1", "n2"}),
    ({"index.routing.allocation.exclude._ip": "10.0.0.2"}, {"n1", "n3"}),
    ({"index.routing.allocation.include._id": "n2,n3"}, {"n2", "n3"}),
])
def test_include_exclude_and_require_on_names_ids_addresses_and_node_attributes(settings, allowed):
    state = settle(with_index(cluster(), shards=2, replicas=1, **settings))
    placed, unassigned = placement(state)
    assert set(placed) == allowed and unassigned == 0


def test_cluster_wide_require_applies_to_every_index():
    state = settle(with_index(cluster(**{"cluster.routing.allocation.require.box_type": "warm"})))
    placed, unassigned = placement(state)
    assert set(placed) == {"n3"} and unassigned == 1
    assert filter_rejection(state, "logs", "n1") == (
        'node does not match cluster setting [cluster.routing.allocation.require] filters [box_type:"warm"]')


def test_a_started_copy_on_a_node_its_index_now_excludes_moves_off_it():
    state = settle(with_index(cluster(), shards=1, replicas=1))
    holders = set(placement(state)[0])
    leaving = sorted(holders)[0]
    state = accepted(state, c.UpdateIndexSettings(index_names=("logs",), settings={
        "index.routing.allocation.exclude._id": leaving}))
    commands = allocation_decisions(state, LIVE, lambda: next(_allocation_ids))
    moves = [command for command in commands if isinstance(command, c.RelocateCopy)]
    assert len(moves) == 1 and moves[0].target_node_id == ({"n1", "n2", "n3"} - holders).pop()


def test_total_shards_per_node_leaves_copies_unassigned_rather_than_doubling_up():
    state = settle(with_index(cluster(), shards=2, replicas=1,
                              **{"index.routing.allocation.total_shards_per_node": 1}))
    placed, unassigned = placement(state)
    assert all(len(copies) == 1 for copies in placed.values())
    assert len(placed) == 3 and unassigned == 1
    shard_with_gap = next(shard.shard_number for shard in state.routing_table["logs"]
                          if any(copy.node_id is None for copy in shard.copies))
    _, _, decisions = explain_unassigned_copy(state, "logs", shard_with_gap, False, LIVE)
    assert any(decider == "shards_limit" and "total_shards_per_node=1" in text
               for decision in decisions for decider, _, text in decision.deciders)


def test_allocation_enable_primaries_places_primaries_only_and_none_places_nothing():
    primaries_only = settle(with_index(cluster(**{"cluster.routing.allocation.enable": "primaries"})))
    placed, unassigned = placement(primaries_only)
    assert [copy for copies in placed.values() for copy in copies] == [(0, True)] and unassigned == 1
    nothing = settle(with_index(cluster(**{"cluster.routing.allocation.enable": "none"})))
    assert placement(nothing) == ({}, 2)
    # the index setting wins over the cluster's
    index_wins = settle(with_index(cluster(**{"cluster.routing.allocation.enable": "none"}),
                                   **{"index.routing.allocation.enable": "all"}))
    assert placement(index_wins)[1] == 0


def test_new_primaries_places_a_new_index_primary_but_no_replica():
    state = settle(with_index(cluster(**{"cluster.routing.allocation.enable": "new_primaries"})))
    placed, unassigned = placement(state)
    assert [copy for copies in placed.values() for copy in copies] == [(0, True)] and unassigned == 1


def test_rebalance_enable_none_stops_rebalancing_but_not_moves_off_an_excluded_node():
    crowded = settle(with_index(cluster(), shards=3, replicas=0,
                                **{"index.routing.allocation.require._id": "n1"}))
    assert set(placement(crowded)[0]) == {"n1"}
    no_rebalance = accepted(crowded, c.UpdateIndexSettings(index_names=("logs",), settings={
        "index.routing.allocation.require._id": None, "index.routing.rebalance.enable": "none"}))
    assert not [command for command in allocation_decisions(no_rebalance, LIVE, lambda: next(_allocation_ids))
                if isinstance(command, c.RelocateCopy)]
    excluded = accepted(no_rebalance, c.UpdateIndexSettings(index_names=("logs",), settings={
        "index.routing.allocation.exclude._id": "n1"}))
    moves = [command for command in allocation_decisions(excluded, LIVE, lambda: next(_allocation_ids))
             if isinstance(command, c.RelocateCopy)]
    assert moves and all(move.target_node_id in {"n2", "n3"} for move in moves)


# ---- disk watermarks -------------------------------------------------------------------------

GIB = 1024 ** 3


def used(percent):
    return DiskUsage(total_bytes=100 * GIB, available_bytes=int((100 - percent) * GIB))


def test_above_the_low_watermark_a_node_takes_a_new_primary_but_no_replica():
    disk = {"n1": used(87), "n2": used(87), "n3": used(50)}
    state = settle(with_index(cluster(), shards=2, replicas=1), disk=disk)
    placed, unassigned = placement(state)
    replicas_on_full_nodes = [copy for node in ("n1", "n2") for copy in placed.get(node, []) if not copy[1]]
    assert replicas_on_full_nodes == [] and unassigned == 0
    assert disk_rejection(state, "n1", disk, primary=False, new_primary=False) == (
        "the node is above the low watermark cluster setting [cluster.routing.allocation.disk.watermark.low=85%], "
        "using more disk space than the maximum allowed [85.0%], actual free: [13.0%]")
    assert disk_rejection(state, "n1", disk, primary=True, new_primary=True) is None


def test_above_the_high_watermark_a_node_takes_nothing_and_its_copies_move_off():
    state = settle(with_index(cluster(), shards=1, replicas=0))
    holder = next(iter(placement(state)[0]))
    disk = {node_id: used(91 if node_id == holder else 40) for node_id in LIVE}
    moves = [command for command in allocation_decisions(state, LIVE, lambda: next(_allocation_ids), disk_usage=disk)
             if isinstance(command, c.RelocateCopy)]
    assert len(moves) == 1 and moves[0].target_node_id != holder
    assert "high watermark" in disk_rejection(state, holder, disk, primary=True, new_primary=True)


def test_a_byte_watermark_counts_free_space_and_the_decider_can_be_switched_off():
    state = cluster(**{"cluster.routing.allocation.disk.watermark.low": "20gb",
                       "cluster.routing.allocation.disk.watermark.high": "10gb"})
    assert "minimum allowed [20gb]" in disk_rejection(state, "n1", {"n1": used(85)}, False, False)
    assert disk_rejection(state, "n1", {"n1": used(75)}, False, False) is None
    switched_off = accepted(state, c.PutClusterSettings(persistent={
        "cluster.routing.allocation.disk.threshold_enabled": "false"}))
    assert disk_rejection(switched_off, "n1", {"n1": used(99)}, False, False) is None


def test_the_flood_stage_blocks_an_index_on_a_full_node_and_releases_it_below_the_high_watermark():
    state = settle(with_index(cluster(), shards=1, replicas=0))
    holder = next(iter(placement(state)[0]))
    healthy = {node_id: used(40) for node_id in LIVE}
    assert flood_stage_block_changes(state, healthy) == ((), ())
    assert flood_stage_block_changes(state, {**healthy, holder: used(96)}) == (("logs",), ())
    blocked = accepted(state, c.UpdateIndexSettings(index_names=("logs",), settings={
        "index.blocks.read_only_allow_delete": "true"}))
    assert flood_stage_block_changes(blocked, {**healthy, holder: used(92)}) == ((), ()), "above high: kept"
    assert flood_stage_block_changes(blocked, {**healthy, holder: used(80)}) == ((), ("logs",))
    assert flood_stage_block_changes(blocked, {}) == ((), ()), "no reports: nothing judged"


# ---- awareness ---------------------------------------------------------------------------------

def box_types_of_copies(state, shard_number=0):
    shard = state.routing_table["logs"][shard_number]
    return sorted(NODES[shard_copy.node_id]["box_type"] for shard_copy in shard.copies if shard_copy.node_id)


def test_awareness_puts_a_shard_s_two_copies_on_different_attribute_values():
    state = settle(with_index(cluster(**{"cluster.routing.allocation.awareness.attributes": "box_type"}),
                              shards=3, replicas=1))
    for shard_number in range(3):
        assert box_types_of_copies(state, shard_number) == ["hot", "warm"]


def test_forced_awareness_values_leave_a_copy_unassigned_rather_than_doubled_up():
    unforced = settle(with_index(cluster(**{"cluster.routing.allocation.awareness.attributes": "box_type"}),
                                 replicas=2))
    assert placement(unforced)[1] == 0 and box_types_of_copies(unforced) == ["hot", "hot", "warm"]
    forced = settle(with_index(cluster(**{"cluster.routing.allocation.awareness.attributes": "box_type",
                                          "cluster.routing.allocation.awareness.force.box_type.values":
                                              "hot,warm,cold"}), replicas=2))
    assert placement(forced)[1] == 1 and box_types_of_copies(forced) == ["hot", "warm"]
    _, _, decisions = explain_unassigned_copy(forced, "logs", 0, False, LIVE)
    assert any(decider == "awareness" for decision in decisions for decider, _, _ in decision.deciders)


def test_a_node_without_an_awareness_attribute_takes_no_copy():
    state = settle(with_index(cluster(**{"cluster.routing.allocation.awareness.attributes": "zone"})))
    assert placement(state) == ({}, 2)


def test_a_single_data_node_is_not_judged_by_the_watermarks_unless_asked():
    alone = initial_cluster_state("test-cluster")
    alone = accepted(alone, c.RegisterNode(node=NodeInfo(node_id="n1", name="n1", http_address="10.0.0.1:9200",
                                                         transport_address="10.0.0.1:9300")))
    full = {"n1": used(99)}
    assert disk_rejection(alone, "n1", full, primary=True, new_primary=True) is None
    asked = accepted(alone, c.PutClusterSettings(persistent={
        "cluster.routing.allocation.disk.watermark.enable_for_single_data_node": "true"}))
    assert "high watermark" in disk_rejection(asked, "n1", full, primary=True, new_primary=True)


def test_a_lowered_total_shards_per_node_moves_the_extra_copy_off_and_explain_says_it_cannot_remain():
    state = settle(with_index(cluster(), shards=3, replicas=0))
    state = accepted(state, c.UpdateIndexSettings(index_names=("logs",), settings={
        "index.routing.allocation.exclude._id": "n3"}))
    state = settle(state)
    assert sorted(len(copies) for copies in placement(state)[0].values()) == [1, 2]
    crowded = next(node for node, copies in placement(state)[0].items() if len(copies) == 2)
    state = accepted(state, c.UpdateIndexSettings(index_names=("logs",), settings={
        "index.routing.allocation.exclude._id": None, "index.routing.allocation.total_shards_per_node": 1}))
    shard = next(shard for shard in state.routing_table["logs"] if shard.primary().node_id == crowded)
    assert remain_rejections(state, shard, shard.primary()) == [
        ("shards_limit", "too many shards [2] allocated to this node for index [logs], "
                         "index setting [index.routing.allocation.total_shards_per_node=1]")]
    moves = [command for command in allocation_decisions(state, LIVE, lambda: next(_allocation_ids))
             if isinstance(command, c.RelocateCopy)]
    assert [move.target_node_id for move in moves] == ["n3"]     # one move: the node is then at the limit
    assert all(len(copies) == 1 for copies in placement(settle(state))[0].values())


def test_copies_that_awareness_set_later_finds_on_one_attribute_value_spread_out():
    state = settle(with_index(cluster(**{"cluster.routing.allocation.exclude._id": "n3"}), shards=1, replicas=1))
    assert box_types_of_copies(state) == ["hot", "hot"]
    state = accepted(state, c.PutClusterSettings(persistent={"cluster.routing.allocation.exclude._id": None,
                                                             "cluster.routing.allocation.awareness.attributes": "box_type"}))
    shard = state.routing_table["logs"][0]
    assert {decider for copy in shard.copies for decider, _ in remain_rejections(state, shard, copy)} == {"awareness"}
    assert box_types_of_copies(settle(state)) == ["hot", "warm"]
    assert all(remain_rejections(settle(state), shard, copy) == []
               for shard in settle(state).routing_table["logs"] for copy in shard.copies)


@pytest.mark.parametrize("value, data_nodes, wanted", [
    ("0-1", 1, 0), ("0-1", 2, 1), ("0-1", 3, 1), ("0-all", 3, 2), ("0-all", 1, 0), ("2-5", 1, 2),
    ("1-all", 2, 1)])
def test_auto_expand_replicas_asks_for_one_copy_per_data_node_within_its_bounds(value, data_nodes, wanted):
    state = cluster(**({"cluster.routing.allocation.exclude._id": ",".join(list(NODES)[data_nodes:])}
                       if data_nodes < len(NODES) else {}))
    state = with_index(state, replicas=3, **{"index.auto_expand_replicas": value})
    updates = auto_expanded_replicas(state)
    assert [(update.index_names, update.settings) for update in updates] == [
        (("logs",), {"index.number_of_replicas": str(wanted)})]
    assert auto_expanded_replicas(accepted(state, updates[0])) == []      # settled: nothing more to change


def test_auto_expand_replicas_false_unset_or_a_closed_index_is_left_alone():
    for settings in ({}, {"index.auto_expand_replicas": "false"}):
        assert auto_expanded_replicas(with_index(cluster(), replicas=2, **settings)) == []
    closed = accepted(with_index(cluster(), replicas=2, **{"index.auto_expand_replicas": "0-1"}),
                      c.CloseIndex(index_names=("logs",)))
    assert auto_expanded_replicas(closed) == []
