"""Properties: splitting documents over segments and shards and merging (through the wire)
gives exactly what one segment gives for exact aggregations; sketches stay within their
stated error bounds; terms and stats agree with a brute-force model."""

import collections
import math

import numpy as np
import orjson
from hypothesis import HealthCheck, given, settings, strategies as st

from aggregation_fakes import FakeContext, FakeMapping, FakeSegment, parse
from index.aggregations import (
    AggregationPartial, collect_segment, merge_partials, reduce_for_shard_response, render)
from index.aggregations.sketches import CardinalitySketch, TDigest, hash_numbers

FIELD_TYPES = {"tag": "keyword", "n": "long", "x": "double", "when": "date", "seq": "long"}

EXACT_AGGREGATIONS = {
    "terms": {"terms": {"field": "tag", "size": 3, "order": [{"_count": "desc"}]},
              "aggs": {"s": {"stats": {"field": "n"}}, "h": {"histogram": {"field": "x", "interval": 7}}}},
    "numeric_terms": {"terms": {"field": "n", "size": 100, "min_doc_count": 2}},
    "stats": {"extended_stats": {"field": "n"}},
    "minimum": {"min": {"field": "x"}},
    "count": {"value_count": {"field": "tag"}},
    "distinct": {"cardinality": {"field": "tag"}},
    "distinct_numbers": {"cardinality": {"field": "n"}},
    "histogram": {"histogram": {"field": "n", "interval": 5, "offset": 1}},
    "dates": {"date_histogram": {"field": "when", "calendar_interval": "week",
                                 "time_zone": "America/New_York"},
              "aggs": {"t": {"terms": {"field": "tag"}}}},
    "ranges": {"range": {"field": "x", "ranges": [{"to": -5}, {"from": -5, "to": 5}, {"from": 0}]}},
    "missing": {"missing": {"field": "tag"}, "aggs": {"a": {"avg": {"field": "n"}}}},
    "filters": {"filters": {"filters": {"a": {"term": {"tag": "a"}}}, "other_bucket": True}},
    "top": {"top_hits": {"size": 3, "sort": [{"seq": "desc"}], "_source": ["seq"]}},
    "significant": {"significant_terms": {"field": "tag", "min_doc_count": 1}},
    "significant_numbers": {"significant_terms": {"field": "n", "percentage": {}, "min_doc_count": 1}},
}

documents_strategy = st.lists(
    st.fixed_dictionaries({}, optional={
        "tag": st.one_of(st.sampled_from("abcdef"), st.lists(st.sampled_from("abcdef"), max_size=3)),
        "n": st.one_of(st.integers(-30, 30), st.lists(st.integers(-30, 30), max_size=3)),
        "x": st.integers(-20, 20).map(float),
        "when": st.integers(1_583_000_000_000, 1_590_000_000_000),
    }), max_size=40)


def with_sequence(documents):
    return [{**document, "seq": position} for position, document in enumerate(documents)]


def collect_one(tree, documents):
    segment = FakeSegment(documents, FIELD_TYPES, name="whole")
    context = FakeContext(FakeMapping(FIELD_TYPES))
    return collect_segment(tree, segment, segment.matching_docs(), context)


def collect_split(tree, documents, assignment, shard_count):
    """Documents go to (shard, segment) by `assignment`; each shard merges its segments, then
    the partials cross the wire and the coordinator merges them."""
    by_place = collections.defaultdict(list)
    for document, place in zip(documents, assignment):
        by_place[place].append(document)
    shard_partials = []
    for shard in range(shard_count):
        segment_partials = []
        for (place_shard, place_segment), part in sorted(by_place.items()):
            if place_shard != shard:
                continue
            # Deleted documents are appended and excluded from matching docs: they must not count.
            segment = FakeSegment(part + [{"tag": "zzz", "n": 999}], FIELD_TYPES,
                                  name=f"{shard}-{place_segment}", deleted={len(part)})
            context = FakeContext(FakeMapping(FIELD_TYPES), shard_index=shard)
            segment_partials.append(collect_segment(tree, segment, segment.matching_docs(), context))
        shard_partial = merge_partials(segment_partials, tree)
        shard_partials.append(AggregationPartial.from_wire(orjson.loads(orjson.dumps(shard_partial.to_wire()))))
    return merge_partials(shard_partials, tree)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents=documents_strategy, data=st.data())
def test_splitting_over_segments_and_shards_then_merging_equals_one_segment(documents, data):
    documents = with_sequence(documents)
    shard_count = data.draw(st.integers(1, 3))
    assignment = data.draw(st.lists(st.tuples(st.integers(0, shard_count - 1), st.integers(0, 2)),
                                    min_size=len(documents), max_size=len(documents)))
    tree = parse(EXACT_AGGREGATIONS)
    expected = render(collect_one(tree, documents), tree)
    actual = render(collect_split(tree, documents, assignment, shard_count), tree)
    # top_hits carry segment-specific _id values; compare their sort values and sources.
    for result in (expected, actual):
        for hit in result["top"]["hits"]["hits"]:
            hit.pop("_id")
    assert actual == expected


@settings(max_examples=40, deadline=None)
@given(documents=documents_strategy)
def test_terms_and_stats_agree_with_a_brute_force_model(documents):
    tree = parse({"t": {"terms": {"field": "tag", "size": 10},
                        "aggs": {"m": {"max": {"field": "n"}}, "c": {"value_count": {"field": "tag"}},
                                 "p": {"percentiles": {"field": "n", "percents": [100]}}}},
                  "s": {"stats": {"field": "n"}}})
    result = render(collect_one(tree, documents), tree)
    counts = collections.Counter()
    numbers = []
    bucket_numbers = collections.defaultdict(list)
    bucket_tag_values = collections.Counter()
    for document in documents:
        tags = document.get("tag", [])
        tags = tags if isinstance(tags, list) else [tags]
        counts.update(set(tags))
        value = document.get("n", [])
        values = value if isinstance(value, list) else [value]
        numbers.extend(values)
        for tag in set(tags):
            bucket_numbers[tag].extend(values)
            bucket_tag_values[tag] += len(set(tags))   # keyword doc values are a set per doc
    expected_buckets = []
    for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        maximum = float(max(bucket_numbers[key])) if bucket_numbers[key] else None
        expected_buckets.append({"key": key, "doc_count": count, "m": {"value": maximum},
                                 "c": {"value": bucket_tag_values[key]},
                                 "p": {"values": {"100.0": maximum}}})
    assert result["t"]["buckets"] == expected_buckets
    assert result["s"]["count"] == len(numbers)
    assert result["s"]["sum"] == float(sum(numbers))
    assert result["s"]["min"] == (float(min(numbers)) if numbers else None)


@settings(max_examples=25, deadline=None)
@given(distinct=st.integers(0, 30_000), pieces=st.integers(1, 5), threshold=st.sampled_from([100, 3000]),
       seed=st.integers(0, 2**32 - 1))
def test_cardinality_is_exact_below_the_threshold_and_within_six_percent_above(distinct, pieces,
                                                                                threshold, seed):
    values = np.random.default_rng(seed).permutation(distinct).astype(np.int64) * 7919 + seed
    sketches = [CardinalitySketch.from_hashes(hash_numbers(part), threshold)
                for part in np.array_split(np.concatenate([values, values[: distinct // 3]]), pieces)]
    merged = sketches[0]
    for sketch in sketches[1:]:
        merged = merged.merge(sketch)
    estimate = merged.estimate()
    if distinct <= threshold:
        assert estimate == distinct
    else:
        assert abs(estimate - distinct) <= 0.06 * distinct
    wire = orjson.loads(orjson.dumps(merged.to_wire()))
    assert CardinalitySketch.from_wire(wire).estimate() == estimate


@settings(max_examples=25, deadline=None)
@given(size=st.integers(1, 20_000), pieces=st.integers(1, 6), seed=st.integers(0, 2**32 - 1),
       distribution=st.sampled_from(["normal", "lognormal", "integers"]))
def test_merged_percentiles_stay_within_the_stated_rank_bound(size, pieces, seed, distribution):
    rng = np.random.default_rng(seed)
    values = {"normal": lambda: rng.normal(size=size), "lognormal": lambda: rng.lognormal(size=size),
              "integers": lambda: rng.integers(0, 50, size).astype(float)}[distribution]()
    digests = [TDigest.from_values(part) for part in np.array_split(values, pieces)]
    merged = digests[0]
    for digest in digests[1:]:
        merged = merged.merge(digest)
    ordered = np.sort(values)
    # the stated bound: π/δ of rank, plus one value's worth of rank for interpolating
    # between neighbouring data points
    bound = math.pi / merged.compression + 1.0 / size
    quantiles = np.asarray([0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0])
    for quantile, estimate in zip(quantiles, merged.quantiles(quantiles)):
        below = np.searchsorted(ordered, estimate, side="left") / size
        at_or_below = np.searchsorted(ordered, estimate, side="right") / size
        assert below - bound <= quantile <= at_or_below + bound
        assert ordered[0] <= estimate <= ordered[-1]


@settings(max_examples=60, deadline=None)
@given(documents=documents_strategy, data=st.data())
def test_columnar_and_per_bucket_terms_agree_after_shard_cuts(documents, data):
    """terms without sub-aggregations use columns (FlatTermsState); with them, one object per
    bucket. Cut at shard_size on every shard and merged, both must give the same buckets,
    errors and other counts."""
    shard_count = data.draw(st.integers(1, 4))
    assignment = data.draw(st.lists(st.tuples(st.integers(0, shard_count - 1), st.integers(0, 1)),
                                    min_size=len(documents), max_size=len(documents)))
    size = data.draw(st.integers(1, 4))
    order = data.draw(st.sampled_from([{"_count": "desc"}, {"_count": "asc"}, {"_key": "desc"},
                                       [{"_count": "desc"}, {"_key": "desc"}]]))
    field_name = data.draw(st.sampled_from(["tag", "n"]))
    terms = {"field": field_name, "size": size, "shard_size": size + data.draw(st.integers(0, 2)),
             "order": order, "show_term_doc_count_error": True}
    tree = parse({"flat": {"terms": terms},
                  "objects": {"terms": terms, "aggs": {"c": {"value_count": {"field": "tag"}}}}})
    by_place = collections.defaultdict(list)
    for document, place in zip(documents, assignment):
        by_place[place].append(document)
    shard_partials = []
    for shard in range(shard_count):
        segment_partials = []
        for (place_shard, place_segment), part in sorted(by_place.items()):
            if place_shard == shard:
                segment = FakeSegment(part, FIELD_TYPES, name=f"{shard}-{place_segment}")
                segment_partials.append(collect_segment(tree, segment, segment.matching_docs(),
                                                        FakeContext(FakeMapping(FIELD_TYPES))))
        shard_partial = reduce_for_shard_response(merge_partials(segment_partials, tree), tree)
        shard_partials.append(AggregationPartial.from_wire(orjson.loads(orjson.dumps(shard_partial.to_wire()))))
    result = render(merge_partials(shard_partials, tree), tree)
    for bucket in result["objects"]["buckets"]:
        bucket.pop("c")
    assert result["flat"] == result["objects"]


GROUPED_TREE = {
    "by_tag": {"terms": {"field": "tag", "size": 3},
               "aggs": {"numbers": {"terms": {"field": "n"}}, "xs": {"histogram": {"field": "x", "interval": 4}},
                        "weeks": {"date_histogram": {"field": "when", "calendar_interval": "week",
                                                     "time_zone": "Europe/Paris"}},
                        "tags": {"terms": {"field": "tag", "order": {"_key": "asc"}}},
                        "s": {"stats": {"field": "n"}}, "c": {"value_count": {"field": "tag"}},
                        "distinct_tags": {"cardinality": {"field": "tag"}},
                        "distinct_numbers": {"cardinality": {"field": "n", "precision_threshold": 2}},
                        "p": {"percentiles": {"field": "x", "percents": [10, 50]}},
                        "r": {"percentile_ranks": {"field": "n", "values": [2]}},
                        "mad": {"median_absolute_deviation": {"field": "n"}}}},
    "by_week": {"date_histogram": {"field": "when", "fixed_interval": "3d"},
                "aggs": {"t": {"terms": {"field": "tag"}}, "a": {"avg": {"field": "x"}}}},
}


@settings(max_examples=50, deadline=None)
@given(documents=documents_strategy)
def test_grouped_sub_aggregations_equal_the_per_bucket_recursion(documents):
    """Sub-aggregations computed for all parent buckets at once (bincount / lexsort over
    (parent, key) pairs) give exactly the partial of collecting each bucket on its own."""
    import importlib
    collect_module = importlib.import_module("index.aggregations.collect")
    tree = parse(GROUPED_TREE)
    grouped = collect_one(tree, documents).to_wire()
    collect_module.GROUPED_SUB_AGGREGATIONS = False
    try:
        per_bucket = collect_one(tree, documents).to_wire()
    finally:
        collect_module.GROUPED_SUB_AGGREGATIONS = True
    assert orjson.loads(orjson.dumps(grouped)) == orjson.loads(orjson.dumps(per_bucket))


@settings(max_examples=50, deadline=None)
@given(documents=documents_strategy, data=st.data())
def test_breadth_first_collect_shard_equals_collecting_every_segment_then_cutting(documents, data):
    from index.aggregations import collect_shard
    shard_count = data.draw(st.integers(1, 3))
    assignment = data.draw(st.lists(st.tuples(st.integers(0, shard_count - 1), st.integers(0, 2)),
                                    min_size=len(documents), max_size=len(documents)))
    size = data.draw(st.integers(1, 3))
    order = data.draw(st.sampled_from([{"_count": "desc"}, {"_count": "asc"}, {"_key": "asc"}]))
    field_name = data.draw(st.sampled_from(["tag", "n"]))
    tree = parse({"t": {"terms": {"field": field_name, "size": size, "shard_size": size, "order": order,
                                  "show_term_doc_count_error": True},
                        "aggs": {"s": {"sum": {"field": "x"}}, "inner": {"terms": {"field": "tag"}}}},
                  "c": {"value_count": {"field": "n"}}})
    by_place = collections.defaultdict(list)
    for document, place in zip(documents, assignment):
        by_place[place].append(document)
    usual, breadth_first = [], []
    for shard in range(shard_count):
        inputs = []
        for (place_shard, place_segment), part in sorted(by_place.items()):
            if place_shard == shard:
                segment = FakeSegment(part, FIELD_TYPES, name=f"{shard}-{place_segment}")
                inputs.append((segment, segment.matching_docs(), None))
        context = FakeContext(FakeMapping(FIELD_TYPES))
        usual.append(reduce_for_shard_response(merge_partials(
            [collect_segment(tree, segment, docs, context) for segment, docs, _ in inputs], tree), tree))
        breadth_first.append(collect_shard(tree, inputs, context))
    assert render(merge_partials(breadth_first, tree), tree) == render(merge_partials(usual, tree), tree)
