"""spread_over_nodes: a search without a preference on an otherwise idle coordinator puts its shards
on as many nodes as their copies allow, so they are searched in parallel."""

from hypothesis import given, strategies as st

from node.coordination.search import ShardTarget, spread_over_nodes


def target(shard, node_id, *others):
    return ShardTarget("logs", "uuid", shard, node_id, shard, other_node_ids=tuple(others))


def test_three_shards_with_a_replica_each_on_three_nodes_go_to_three_nodes():
    # n0 coordinates and holds shards 0 and 1 (local first), shard 2 lives on n1 and n2
    local_first = [target(0, "n0", "n1"), target(1, "n0", "n2"), target(2, "n1", "n2")]
    spread = spread_over_nodes(local_first)
    assert [shard.node_id for shard in spread] == ["n0", "n2", "n1"]
    assert spread[1].other_node_ids == ("n0",)   # the copy not chosen is the first retry
    assert spread[0] is local_first[0]


def test_shards_without_other_copies_stay_where_they_are():
    local_first = [target(0, "n0"), target(1, "n0"), target(2, "n0", "n1")]
    assert [shard.node_id for shard in spread_over_nodes(local_first)] == ["n0", "n0", "n1"]


@given(st.lists(st.lists(st.sampled_from(["n0", "n1", "n2", "n3"]), min_size=1, max_size=4, unique=True),
                min_size=1, max_size=8))
def test_every_shard_keeps_all_its_copies_and_no_node_gets_more_than_it_must(copies_per_shard):
    targets = [target(number, copies[0], *copies[1:]) for number, copies in enumerate(copies_per_shard)]
    spread = spread_over_nodes(targets)
    for before, after in zip(targets, spread):
        assert (after.shard_number, after.shard_index) == (before.shard_number, before.shard_index)
        assert {after.node_id, *after.other_node_ids} == {before.node_id, *before.other_node_ids}
        assert len(after.other_node_ids) == len(before.other_node_ids)
    load = {}
    for shard in spread:   # each shard went to a node no busier (in this search, so far) than its other copies'
        assert all(load.get(shard.node_id, 0) <= load.get(other, 0) for other in shard.other_node_ids)
        load[shard.node_id] = load.get(shard.node_id, 0) + 1
