"""The tiered merge policy as a pure function."""

from __future__ import annotations

from index.merge import MergeCandidate, choose_force_merge, choose_idle_merge, choose_merge


def candidates(*live_and_max):
    return [MergeCandidate(f"s{number}", live, maximum) for number, (live, maximum) in enumerate(live_and_max)]


def test_a_full_tier_of_small_segments_is_merged_smallest_first():
    segments = candidates(*[(100 + n, 100 + n) for n in range(12)])
    assert choose_merge(segments, segments_per_tier=10) == [f"s{n}" for n in range(10)]


def test_fewer_segments_than_a_tier_are_left_alone():
    assert choose_merge(candidates((100, 100), (50_000, 50_000), (200, 200)), segments_per_tier=3) is None


def test_segments_in_different_tiers_do_not_count_together():
    segments = candidates((10, 10), (20, 20), (50_000, 50_000), (60_000, 60_000))
    assert choose_merge(segments, segments_per_tier=3) is None


def test_a_mostly_deleted_segment_is_rewritten():
    assert choose_merge(candidates((10, 100), (90, 100)), segments_per_tier=10) == ["s0"]


def test_force_merge_merges_the_smallest_down_to_the_target_count():
    segments = candidates((5, 5), (1, 1), (9, 9), (3, 3))
    assert choose_force_merge(segments, max_num_segments=2) == ["s1", "s3", "s0"]
    assert choose_force_merge(candidates((5, 5)), max_num_segments=1) is None
    assert choose_force_merge(candidates((5, 6)), max_num_segments=1) == ["s0"]


def test_an_idle_merge_takes_the_smallest_segments_down_to_the_target_count():
    # the shape a 333k-doc copy had after bench/cluster.py's load: two big segments and ten ~8k ones
    sizes = [206_568, 51_007, 9_316, 9_024, 8_757, 8_430, 8_334, 8_327, 7_990, 7_619, 6_699, 967]
    segments = candidates(*[(size, size) for size in sizes])
    assert choose_idle_merge(segments, max_segments=3) == ["s11", "s10", "s9", "s8", "s7", "s6", "s5", "s4",
                                                           "s3", "s2"]


def test_an_idle_merge_never_makes_a_segment_larger_than_the_largest():
    # merging all but two would rewrite 150 docs into a segment bigger than the largest (100)
    segments = candidates((100, 100), (60, 60), (50, 50), (40, 40), (1, 1))
    assert choose_idle_merge(segments, max_segments=2) == ["s4", "s3", "s2"]
    # no two small segments fit under the largest: nothing to do
    assert choose_idle_merge(candidates((10, 10), (9, 9), (8, 8)), max_segments=1) is None


def test_an_idle_merge_does_not_rewrite_a_big_segment_to_absorb_a_few_documents():
    # idle-merged once to three, then a few writes: the new tiny segment waits for the tiered policy
    assert choose_idle_merge(candidates((206_000, 206_000), (75_000, 75_000), (51_000, 51_000), (30, 30)),
                             max_segments=3) is None
    # the lopsided member is left out, the balanced rest still merges
    assert choose_idle_merge(candidates((100, 100), (90, 90), (3, 3), (2, 2), (1, 1)),
                             max_segments=2) == ["s4", "s3", "s2"]


def test_an_idle_shard_already_in_shape_is_left_alone():
    assert choose_idle_merge(candidates((5, 5), (1, 1), (9, 9)), max_segments=3) is None
