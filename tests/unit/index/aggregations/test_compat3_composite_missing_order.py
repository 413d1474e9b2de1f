"""Composite terms sources with `missing_bucket`: `missing_order` first/last places the missing
bucket, whatever the source's order; the default stays first ascending, last descending."""

import pytest

from index.aggregations import collect_segment, merge_partials, parse_aggregations, render
from index.errors import AggregationError
from index.testing import build_reference_searcher

DOCUMENTS = [("1", {"k": "b"}), ("2", {"k": "a"}), ("3", {"other": 1}), ("4", {"k": "c"})]


class Context:
    def __init__(self, mapping):
        self.mapping = mapping
        self.now_millis = 0


@pytest.fixture(scope="module")
def searcher():
    return build_reference_searcher([DOCUMENTS[:2], DOCUMENTS[2:]],
                                    {"properties": {"k": {"type": "keyword"}, "other": {"type": "long"}}})


def composite_keys(searcher, source, after=None):
    body = {"c": {"composite": {"sources": [{"k": {"terms": {"field": "k", "missing_bucket": True, **source}}}],
                                **({"after": after} if after is not None else {})}}}
    tree = parse_aggregations(body)
    context = Context(searcher.mapping)
    partials = [collect_segment(tree, segment, sorted(segment.live_docs()), context) for segment in searcher.segments]
    rendered = render(merge_partials(partials, tree), tree)
    return [bucket["key"]["k"] for bucket in rendered["c"]["buckets"]]


@pytest.mark.parametrize("source, expected", [
    ({}, [None, "a", "b", "c"]),
    ({"order": "desc"}, ["c", "b", "a", None]),
    ({"missing_order": "last"}, ["a", "b", "c", None]),
    ({"missing_order": "first", "order": "desc"}, [None, "c", "b", "a"]),
    ({"missing_order": "default", "order": "desc"}, ["c", "b", "a", None]),
])
def test_missing_order_places_the_missing_bucket(searcher, source, expected):
    assert composite_keys(searcher, source) == expected


def test_paging_after_a_value_reaches_a_missing_bucket_ordered_last(searcher):
    assert composite_keys(searcher, {"missing_order": "last"}, after={"k": "b"}) == ["c", None]


def test_missing_order_without_missing_bucket_is_refused():
    with pytest.raises(AggregationError, match="missingOrder can only be set if missingBucket is true"):
        parse_aggregations({"c": {"composite": {"sources": [{"k": {"terms": {"field": "k", "missing_order": "last"}}}]}}})
