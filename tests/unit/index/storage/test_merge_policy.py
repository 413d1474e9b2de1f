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


def test_an_idle_merge_writes_at_most_max_merged_docs():
    segments = candidates((100, 100), (60, 60), (50, 50), (40, 40), (1, 1))
    # everything into one: the biggest member holds 100 of 251 documents
    assert choose_idle_merge(segments, max_segments=1, max_merged_docs=1_000) == ["s4", "s3", "s2", "s1", "s0"]
    # at most 100 documents per merge: the three smallest (91)
    assert choose_idle_merge(segments, max_segments=1, max_merged_docs=100) == ["s4", "s3", "s2"]
    # no two segments fit under the bound: nothing to do
    assert choose_idle_merge(candidates((10, 10), (9, 9), (8, 8)), max_segments=1, max_merged_docs=16) is None


def test_a_document_is_idle_merged_only_a_logarithmic_number_of_times():
    # a trickle: one document at a time, the shard idle after each; the segment a document is in
    # must at least grow by half every time it is rewritten
    segments: list[tuple[str, int]] = []
    rewrites: dict[str, int] = {}
    names = iter(range(10_000))
    for _ in range(3_000):
        name = f"n{next(names)}"
        segments.append((name, 1))
        rewrites[name] = 0
        while True:
            chosen = choose_idle_merge([MergeCandidate(n, docs, docs) for n, docs in segments], max_segments=1)
            if not chosen:
                break
            merged = f"n{next(names)}"
            members = [(n, docs) for n, docs in segments if n in chosen]
            segments = [(n, docs) for n, docs in segments if n not in chosen] + [(merged, sum(d for _, d in members))]
            rewrites[merged] = max(rewrites[n] for n, _ in members) + 1
    assert sum(docs for _, docs in segments) == 3_000
    # log base 3/2 of 3,000 is 19.7
    assert max(rewrites[n] for n, _ in segments) <= 20


def test_an_idle_merge_does_not_rewrite_a_big_segment_to_absorb_a_few_documents():
    # idle-merged once to three, then a few writes: the new tiny segment waits for the tiered policy
    assert choose_idle_merge(candidates((206_000, 206_000), (75_000, 75_000), (51_000, 51_000), (30, 30)),
                             max_segments=3) is None
    # the lopsided member is left out, the balanced rest still merges
    assert choose_idle_merge(candidates((100, 100), (90, 90), (3, 3), (2, 2), (1, 1)),
                             max_segments=2) == ["s4", "s3", "s2"]


def test_an_idle_shard_already_in_shape_is_left_alone():
    assert choose_idle_merge(candidates((5, 5), (1, 1), (9, 9)), max_segments=3) is None
