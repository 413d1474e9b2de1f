"""Terms lookup resolution over a fake document fetcher: where lookups are found, what values a
path yields, and OpenSearch's errors for malformed lookups."""

from __future__ import annotations

import pytest

from node.coordination.terms_lookup import resolve_terms_lookups_with, values_at_path
from node.errors import ApiError

DOCUMENTS = {
    ("users", "1", None): {"followers": ["a", "b"], "nested": {"ids": [1, 2]},
                           "people": [{"name": "x"}, {"name": "y"}, {"other": 1}], "dotted.key": "d"},
    ("users", "2", "r1"): {"followers": "only-routed"},
}


class RecordingFetcher:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    async def __call__(self, index: str, document_id: str, routing: str | None) -> dict | None:
        self.calls.append((index, document_id, routing))
        return DOCUMENTS.get((index, document_id, routing))


async def test_a_lookup_in_the_query_is_replaced_by_the_values_at_its_path():
    body = {"query": {"terms": {"user": {"index": "users", "id": "1", "path": "followers"}, "boost": 2}}}
    resolved = await resolve_terms_lookups_with(body, RecordingFetcher())
    assert resolved == {"query": {"terms": {"user": ["a", "b"], "boost": 2}}}
    assert body["query"]["terms"]["user"] == {"index": "users", "id": "1", "path": "followers"}  # not mutated


async def test_lookups_nested_in_bool_filters_and_filter_aggregations_are_all_replaced_with_one_fetch_each():
    lookup = {"index": "users", "id": "1", "path": "nested.ids"}
    body = {"query": {"bool": {"filter": [{"terms": {"n": lookup}}, {"match_all": {}}]}},
            "aggs": {"f": {"filter": {"terms": {"n": dict(lookup)}},
                           "aggs": {"t": {"terms": {"field": "n", "order": {"_count": "asc"}}}}}}}
    fetcher = RecordingFetcher()
    resolved = await resolve_terms_lookups_with(body, fetcher)
    assert resolved["query"]["bool"]["filter"][0] == {"terms": {"n": [1, 2]}}
    assert resolved["aggs"]["f"]["filter"] == {"terms": {"n": [1, 2]}}
    assert resolved["aggs"]["f"]["aggs"]["t"] == {"terms": {"field": "n", "order": {"_count": "asc"}}}
    assert fetcher.calls == [("users", "1", None)]


async def test_a_body_without_lookups_is_returned_as_the_same_object_and_nothing_is_fetched():
    body = {"query": {"terms": {"f": ["a"]}}, "aggs": {"terms": {"terms": {"field": "f"}}}}
    fetcher = RecordingFetcher()
    assert await resolve_terms_lookups_with(body, fetcher) is body
    assert fetcher.calls == []


async def test_a_missing_document_or_path_gives_no_terms_and_routing_is_passed_on():
    body = {"query": {"bool": {"should": [
        {"terms": {"a": {"index": "users", "id": "404", "path": "followers"}}},
        {"terms": {"b": {"index": "users", "id": "1", "path": "absent"}}},
        {"terms": {"c": {"index": "users", "id": "2", "path": "followers", "routing": "r1"}}}]}}}
    resolved = await resolve_terms_lookups_with(body, RecordingFetcher())
    should = resolved["query"]["bool"]["should"]
    assert should == [{"terms": {"a": []}}, {"terms": {"b": []}}, {"terms": {"c": ["only-routed"]}}]


def test_values_at_a_path_walk_arrays_of_objects_and_dotted_keys_and_drop_objects_and_nulls():
    source = DOCUMENTS[("users", "1", None)]
    assert values_at_path(source, "people.name") == ["x", "y"]
    assert values_at_path(source, "dotted.key") == ["d"]
    assert values_at_path(source, "nested") == []
    assert values_at_path({"v": [1, None, [2, 3]]}, "v") == [1, 2, 3]


@pytest.mark.parametrize(("lookup", "reason"), [
    ({"id": "1", "path": "p"}, "[terms] index cannot be null or empty for TermsLookup"),
    ({"index": "users", "id": "1"}, "[terms] path cannot be null or empty for TermsLookup"),
    ({"index": "users", "path": "p"}, "[terms] query lookup element requires specifying either the id or the query."),
    ({"index": "users", "id": "1", "path": "p", "type": "_doc"},
     "[terms] query does not support [type] within lookup element"),
])
async def test_a_malformed_lookup_is_a_400_with_opensearch_wording(lookup, reason):
    with pytest.raises(ApiError) as raised:
        await resolve_terms_lookups_with({"query": {"terms": {"f": lookup}}}, RecordingFetcher())
    assert raised.value.reason == reason
