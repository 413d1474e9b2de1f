"""spread_over_nodes breaks ties between equally idle copies so that the later shards still find
an idle node: the 3-node bench placement where ties to the earlier candidate left one node idle
now searches on all three."""

from itertools import product

from hypothesis import given, settings, strategies as st

from node.coordination.search import ShardTarget, spread_over_nodes


def target(shard, node_id, *others):
    return ShardTarget("bench", "uuid", shard, node_id, shard, other_node_ids=tuple(others))


def loads(node_ids):
    counted = {}
    for node_id in node_ids:
        counted[node_id] = counted.get(node_id, 0) + 1
    return counted


def test_the_bench_placement_that_left_a_node_idle_now_uses_all_three_nodes():
    # seen in bench/cluster.py at 1M: shard 0 on member-2 (primary) and member-1, shard 1 on
    # member-1 and member-0, shard 2 on member-0 and member-2; member-0 coordinates (local first)
    local_first = [target(0, "n2", "n1"), target(1, "n0", "n1"), target(2, "n0", "n2")]
    spread = spread_over_nodes(local_first)
    assert sorted(shard.node_id for shard in spread) == ["n0", "n1", "n2"]
    for before, after in zip(local_first, spread):
        assert {after.node_id, *after.other_node_ids} == {before.node_id, *before.other_node_ids}


def test_a_placement_the_first_choice_already_spreads_keeps_that_choice():
    local_first = [target(0, "n0", "n1"), target(1, "n0", "n2"), target(2, "n1", "n2")]
    assert [shard.node_id for shard in spread_over_nodes(local_first)] == ["n0", "n2", "n1"]


def least_loaded_choices(copies_per_shard):
    """Every assignment in which each shard, in order, goes to a least-loaded copy so far."""
    found = []
    for choice in product(*copies_per_shard):
        load, fair = {}, True
        for node_id, copies in zip(choice, copies_per_shard):
            if load.get(node_id, 0) > min(load.get(other, 0) for other in copies):
                fair = False
                break
            load[node_id] = load.get(node_id, 0) + 1
        if fair:
            found.append(choice)
    return found


def evenness(node_ids):
    counted = loads(node_ids)
    return max(counted.values()), sum(count * count for count in counted.values())


@settings(max_examples=300)
@given(st.lists(st.lists(st.sampled_from(["n0", "n1", "n2", "n3"]), min_size=1, max_size=3, unique=True),
                min_size=1, max_size=6))
def test_the_choice_is_the_most_even_of_the_least_loaded_ways(copies_per_shard):
    targets = [target(number, copies[0], *copies[1:]) for number, copies in enumerate(copies_per_shard)]
    chosen = [shard.node_id for shard in spread_over_nodes(targets)]
    assert tuple(chosen) in least_loaded_choices(copies_per_shard)
    best = min(evenness(choice) for choice in least_loaded_choices(copies_per_shard))
    assert evenness(chosen) == best
