"""composite: every combination of source values, in order, paged with `after` — against a
brute-force enumeration, across segments, and page by page."""

import collections
import itertools

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from aggregation_fakes import FakeContext, FakeMapping, FakeSegment, parse
from index.aggregations import AggregationPartial, collect_segment, merge_partials, render
from index.errors import AggregationError

FIELD_TYPES = {"tag": "keyword", "n": "long", "x": "double", "when": "date", "flag": "boolean"}


def run(aggs_json, documents, pieces=1):
    tree = parse(aggs_json)
    partials = []
    for piece in range(pieces):
        segment = FakeSegment(documents[piece::pieces], FIELD_TYPES, name=f"s{piece}")
        partial = collect_segment(tree, segment, segment.matching_docs(), FakeContext(FakeMapping(FIELD_TYPES)))
        partials.append(AggregationPartial.from_wire(orjson.loads(orjson.dumps(partial.to_wire()))))
    return render(merge_partials(partials, tree), tree)


def values_of(document, field_name):
    value = document.get(field_name)
    return [] if value is None else (value if isinstance(value, list) else [value])


def brute_force(documents, sources):
    """sources: (name, field, key function, ascending, missing_bucket)."""
    counts = collections.Counter()
    for document in documents:
        per_source = []
        for _, field_name, key_function, _, missing_bucket in sources:
            keys = sorted({key_function(value) for value in values_of(document, field_name)})
            if not keys:
                keys = [None] if missing_bucket else []
            per_source.append(keys)
        for combination in itertools.product(*per_source):
            counts[combination] += 1

    def order_key(item):
        parts = []
        for (_, _, _, ascending, _), value in zip(sources, item[0]):
            missing_rank = 0 if value is None else 1
            parts.append((missing_rank, value) if ascending else _Reverse((missing_rank, value)))
        return parts
    return sorted(counts.items(), key=order_key)


class _Reverse:
    def __init__(self, value):
        self.value = value

    def __lt__(self, other):
        return other.value < self.value

    def __eq__(self, other):
        return self.value == other.value


DOCUMENTS = [
    {"tag": ["a", "b"], "n": 1, "x": 1.5, "when": 1_577_836_800_000, "flag": True},
    {"tag": "b", "n": [1, 2], "x": 7.0, "when": 1_577_923_200_000},
    {"tag": "a", "x": 12.0, "flag": False},
    {"n": 3, "when": 1_580_515_200_000},
    {"tag": "c", "n": 2, "x": 7.5, "when": 1_577_840_000_000, "flag": True},
]


def test_terms_sources_enumerate_every_combination_in_order_with_after_key():
    result = run({"c": {"composite": {"size": 100, "sources": [
        {"t": {"terms": {"field": "tag"}}}, {"n": {"terms": {"field": "n", "order": "desc"}}}]}}},
        DOCUMENTS, pieces=2)["c"]
    expected = brute_force(DOCUMENTS, [("t", "tag", str, True, False), ("n", "n", int, False, False)])
    assert [((b["key"]["t"], b["key"]["n"]), b["doc_count"]) for b in result["buckets"]] == expected
    assert result["after_key"] == result["buckets"][-1]["key"]


def test_missing_bucket_sorts_first_ascending_and_last_descending():
    ascending = run({"c": {"composite": {"sources": [
        {"t": {"terms": {"field": "tag", "missing_bucket": True}}}]}}}, DOCUMENTS)["c"]["buckets"]
    assert [b["key"]["t"] for b in ascending] == [None, "a", "b", "c"]
    descending = run({"c": {"composite": {"sources": [
        {"t": {"terms": {"field": "tag", "missing_bucket": True, "order": "desc"}}}]}}}, DOCUMENTS)["c"]["buckets"]
    assert [b["key"]["t"] for b in descending] == ["c", "b", "a", None]


def test_histogram_and_date_histogram_sources_with_format_and_sub_aggregations():
    result = run({"c": {"composite": {"sources": [
        {"day": {"date_histogram": {"field": "when", "calendar_interval": "day", "format": "yyyy-MM-dd"}}},
        {"x": {"histogram": {"field": "x", "interval": 5}}}]},
        "aggs": {"m": {"max": {"field": "x"}}}}}, DOCUMENTS, pieces=3)["c"]["buckets"]
    assert [(b["key"], b["doc_count"], b["m"]["value"]) for b in result] == [
        ({"day": "2020-01-01", "x": 0.0}, 1, 1.5), ({"day": "2020-01-01", "x": 5.0}, 1, 7.5),
        ({"day": "2020-01-02", "x": 5.0}, 1, 7.0)]


def test_booleans_are_keyed_true_and_false():
    result = run({"c": {"composite": {"sources": [{"f": {"terms": {"field": "flag"}}}]}}}, DOCUMENTS)["c"]
    assert [(b["key"]["f"], b["doc_count"]) for b in result["buckets"]] == [(False, 1), (True, 2)]


@settings(max_examples=40, deadline=None)
@given(documents=st.lists(st.fixed_dictionaries({}, optional={
    "tag": st.lists(st.sampled_from("abcd"), max_size=2), "n": st.lists(st.integers(0, 4), max_size=2)}),
    max_size=25), size=st.integers(1, 4), pieces=st.integers(1, 3), descending=st.booleans(),
    missing_bucket=st.booleans())
def test_paging_with_after_visits_exactly_the_brute_force_combinations(documents, size, pieces,
                                                                        descending, missing_bucket):
    sources = [{"t": {"terms": {"field": "tag", "missing_bucket": missing_bucket}}},
               {"n": {"terms": {"field": "n", "order": "desc" if descending else "asc"}}}]
    expected = brute_force(documents, [("t", "tag", str, True, missing_bucket),
                                       ("n", "n", int, not descending, False)])
    visited = []
    after = None
    for _ in range(len(expected) + 2):
        body = {"size": size, "sources": sources}
        if after is not None:
            body["after"] = after
        result = run({"c": {"composite": body}}, documents, pieces)["c"]
        page = [((b["key"]["t"], b["key"]["n"]), b["doc_count"]) for b in result["buckets"]]
        visited.extend(page)
        if len(page) < size:
            break
        after = result["after_key"]
    assert visited == expected


def test_composite_is_refused_below_another_aggregation_and_checks_after():
    with pytest.raises(AggregationError, match=r"cannot be used with a parent"):
        parse({"t": {"terms": {"field": "tag"}, "aggs": {"c": {"composite": {"sources": [
            {"a": {"terms": {"field": "tag"}}}]}}}}})
    with pytest.raises(AggregationError, match=r"\[after\] has"):
        parse({"c": {"composite": {"sources": [{"a": {"terms": {"field": "tag"}}}], "after": {"b": 1}}}})
