"""search_shard + merge_shard_results: sorting, paging, totals, ties and the one merge."""

import orjson
import pytest

from index.errors import QueryShardError
from index.query import (
    FilterCache, SearchContext, ShardSearchResult, count_shard, merge_shard_results, parse_query,
    parse_search_request, search_shard,
)
from index.query.collector import SortFieldError
from index.testing import build_reference_searcher

MAPPING = {"properties": {"title": {"type": "text"}, "tag": {"type": "keyword"}, "count": {"type": "long"},
                          "price": {"type": "double"}, "day": {"type": "date"}}}


def document(number, **fields):
    return (str(number), fields)


CORPUS = [
    document(1, title="red apple", tag="fruit", count=3, price=1.5, day="2024-01-03"),
    document(2, title="green apple pie", tag="food", count=1, day="2024-01-01"),
    document(3, title="red red wine", tag="drink", count=3, price=9.0),
    document(4, title="apple juice", tag=["drink", "fruit"], count=10, price=2.25, day="2024-01-02"),
    document(5, title="bread", count=7),
    document(6, title="apple apple apple", tag="fruit", price=0.5),
]


@pytest.fixture(scope="module")
def searcher():
    return build_reference_searcher([CORPUS[:2], CORPUS[2:4], CORPUS[4:]], MAPPING)


def run(searcher, body, shard_index=0, **context):
    request = parse_search_request(body)
    return request, search_shard(searcher, request, SearchContext(index_name="shop", shard_index=shard_index,
                                                                  now_millis=0, **context))


def page_ids(searcher, body):
    request, result = run(searcher, body)
    return [hit.document_id for hit in merge_shard_results([result], request).hits]


def test_default_order_is_score_descending(searcher):
    request, result = run(searcher, {"query": {"match": {"title": "apple"}}})
    scores = [hit.score for hit in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert result.hits[0].document_id == "6"
    assert result.max_score == scores[0]
    assert result.hits[0].sort_values is None


def test_sort_by_number_then_keyword_with_missing_last(searcher):
    body = {"sort": [{"count": "desc"}, "tag"], "size": 10}
    request, result = run(searcher, body)
    assert [hit.document_id for hit in result.hits] == ["4", "5", "3", "1", "2", "6"]
    assert result.hits[0].sort_values == (10, "drink")
    assert result.hits[1].sort_values == (7, None)
    assert result.hits[-1].sort_values == (None, "fruit")
    assert all(hit.score is None for hit in result.hits)
    assert result.max_score is None


def test_missing_first_and_custom_missing_value(searcher):
    assert page_ids(searcher, {"sort": [{"price": {"order": "asc", "missing": "_first"}}, "_doc"]})[:2] == ["2", "5"]
    assert page_ids(searcher, {"sort": [{"price": {"order": "asc", "missing": 5}}]}) == ["6", "1", "4", "2", "5", "3"]


def test_keyword_sort_mode_picks_among_several_values(searcher):
    ascending = page_ids(searcher, {"query": {"ids": {"values": ["1", "4"]}}, "sort": [{"tag": "asc"}]})
    descending = page_ids(searcher, {"query": {"ids": {"values": ["1", "4"]}}, "sort": [{"tag": "desc"}]})
    assert ascending == ["4", "1"]          # min of {drink, fruit} = drink < fruit
    assert descending == ["1", "4"]         # max of {drink, fruit} = fruit ties with doc 1; doc order decides


def test_date_sort_values_are_epoch_millis(searcher):
    request, result = run(searcher, {"sort": [{"day": "asc"}], "size": 1})
    assert result.hits[0].document_id == "2"
    assert result.hits[0].sort_values == (1704067200000,)


def test_sorting_on_a_text_field_is_refused(searcher):
    with pytest.raises(SortFieldError, match="Text fields are not optimised"):
        run(searcher, {"sort": ["title"]})


def test_sorting_on_an_unmapped_field_needs_unmapped_type(searcher):
    with pytest.raises(QueryShardError, match=r"No mapping found for \[nope\] in order to sort on"):
        run(searcher, {"sort": ["nope"]})
    assert len(page_ids(searcher, {"sort": [{"nope": {"unmapped_type": "long"}}]})) == 6


def test_search_after_pages_through_every_document_once(searcher):
    body = {"sort": [{"count": "asc"}, {"tag": "asc"}, "_doc"], "size": 2}
    seen = []
    search_after = None
    while True:
        page_body = dict(body, search_after=search_after) if search_after else body
        request, result = run(searcher, page_body)
        hits = merge_shard_results([result], request).hits
        if not hits:
            break
        seen.extend(hit.document_id for hit in hits)
        search_after = list(hits[-1].sort_values)
    assert sorted(seen) == ["1", "2", "3", "4", "5", "6"]
    assert seen == page_ids(searcher, dict(body, size=10))


def test_from_and_size_page_the_ranked_hits(searcher):
    everything = page_ids(searcher, {"sort": ["_doc"], "size": 6})
    assert page_ids(searcher, {"sort": ["_doc"], "from": 2, "size": 2}) == everything[2:4]
    request, result = run(searcher, {"sort": ["_doc"], "from": 2, "size": 2})
    assert len(result.hits) == 4         # a shard returns its top from+size


def test_size_zero_counts_without_hits(searcher):
    request, result = run(searcher, {"size": 0, "query": {"match": {"title": "apple"}}})
    assert result.hits == () and result.total_hits == 4


def test_track_total_hits_caps_the_count_with_relation_gte(searcher):
    request, result = run(searcher, {"track_total_hits": 2})
    merged = merge_shard_results([result], request)
    assert merged.total_json() == {"value": 2, "relation": "gte"}
    request, result = run(searcher, {"track_total_hits": False})
    assert merge_shard_results([result], request).total_json() is None
    request, result = run(searcher, {"track_total_hits": True})
    assert merge_shard_results([result], request).total_json() == {"value": 6, "relation": "eq"}


def test_min_score_and_post_filter(searcher):
    request, result = run(searcher, {"query": {"match": {"title": "apple"}}, "min_score": 0.6})
    assert all(hit.score >= 0.6 for hit in result.hits)
    body = {"query": {"match": {"title": "apple"}}, "post_filter": {"term": {"tag": "fruit"}},
            "aggs": {"tags": {"terms": {"field": "tag"}}}}
    request, result = run(searcher, body)
    assert {hit.document_id for hit in result.hits} == {"1", "4", "6"}
    from index.aggregations import parse_aggregations, render

    rendered = render(merge_shard_results([result], request).aggregations, parse_aggregations(body["aggs"]))
    counts = {bucket["key"]: bucket["doc_count"] for bucket in rendered["tags"]["buckets"]}
    assert counts == {"fruit": 3, "drink": 1, "food": 1}    # aggregations ignore post_filter


def test_deleted_documents_never_match(searcher):
    deleted = build_reference_searcher([CORPUS[:3], CORPUS[3:]], MAPPING, deleted_document_ids=["1", "6"])
    request, result = run(deleted, {"query": {"match": {"title": "apple"}}})
    assert {hit.document_id for hit in result.hits} == {"2", "4"}
    assert count_shard(deleted, parse_query({"match_all": {}}), SearchContext()) == 4


def test_merge_breaks_score_ties_by_shard_then_doc(searcher):
    request = parse_search_request({"query": {"constant_score": {"filter": {"match_all": {}}}}, "size": 4})
    results = [search_shard(searcher, request, SearchContext(index_name="shop", shard_index=shard_index))
               for shard_index in (1, 0)]
    merged = merge_shard_results(results, request)
    assert [(hit.shard_index, hit.document_id) for hit in merged.hits] == [(0, "1"), (0, "2"), (0, "3"), (0, "4")]
    assert merged.total_json() == {"value": 12, "relation": "eq"}


def test_merge_of_shards_equals_search_over_their_union():
    first, second = CORPUS[:3], CORPUS[3:]
    request = parse_search_request({"sort": [{"price": "desc"}], "size": 3, "from": 1})
    shard_results = [search_shard(build_reference_searcher([part], MAPPING), request,
                                  SearchContext(shard_index=index)) for index, part in enumerate((first, second))]
    merged = merge_shard_results(shard_results, request)
    whole = search_shard(build_reference_searcher([first, second], MAPPING), request, SearchContext())
    assert [hit.document_id for hit in merged.hits] == [hit.document_id for hit in whole.hits][1:]


def test_shard_result_round_trips_through_its_wire_form(searcher):
    request, result = run(searcher, {"query": {"match": {"title": "apple"}}, "sort": ["_score", {"count": "asc"}],
                                     "aggs": {"avg_count": {"avg": {"field": "count"}}}, "profile": True})
    wire = orjson.loads(orjson.dumps(result.to_wire()))
    again = ShardSearchResult.from_wire(wire)
    assert again.hits == result.hits
    assert again.total_hits == result.total_hits and again.profile == result.profile
    assert again.aggregations.to_wire() == result.aggregations.to_wire()


def test_profile_reports_the_plan_tree_in_opensearchs_shape(searcher):
    request, result = run(searcher, {"query": {"bool": {"must": [{"match": {"title": "apple"}}],
                                                        "filter": [{"range": {"count": {"gte": 1}}}]}},
                                     "profile": True}, node_id="node-a")
    profile = result.profile
    assert profile["id"] == "[node-a][shop][0]"
    query = profile["searches"][0]["query"][0]
    assert query["type"] == "BooleanQuery"
    assert {child["type"] for child in query["children"]} == {"TermQuery", "IndexOrDocValuesQuery"}
    assert query["time_in_nanos"] >= 0 and "breakdown" in query
    assert profile["searches"][0]["collector"][0]["reason"] == "search_top_hits"


def test_terminate_after_stops_counting(searcher):
    request, result = run(searcher, {"terminate_after": 3, "sort": ["_doc"]})
    assert result.total_hits == 3 and result.terminated_early


def test_filter_cache_serves_repeated_filters(searcher):
    cache = FilterCache(max_bytes=1 << 20)
    body = {"query": {"bool": {"filter": [{"range": {"count": {"gte": 2}}}]}}}
    first = run(searcher, body, filter_cache=cache)[1]
    misses = cache.statistics().misses
    second = run(searcher, body, filter_cache=cache)[1]
    assert [hit.document_id for hit in first.hits] == [hit.document_id for hit in second.hits]
    assert cache.statistics().hits >= 3 and cache.statistics().misses == misses


def test_merge_breaks_ties_across_indices_by_index_name_then_shard(searcher):
    request = parse_search_request({"query": {"constant_score": {"filter": {"ids": {"values": ["1"]}}}}})
    results = [search_shard(searcher, request, SearchContext(index_name=index_name, shard_index=shard_index))
               for index_name, shard_index in (("b", 0), ("a", 1), ("a", 0))]
    merged = merge_shard_results(results, request)
    assert [(hit.index_name, hit.shard_index) for hit in merged.hits] == [("a", 0), ("a", 1), ("b", 0)]


def test_size_zero_reports_no_max_score_like_opensearch(searcher):
    request, result = run(searcher, {"size": 0, "query": {"match": {"title": "apple"}}})
    assert result.max_score is None and result.total_hits == 4


def test_numeric_sort_modes_reduce_multi_valued_fields():
    searcher = build_reference_searcher([[("a", {"v": [1, 2, 100]}), ("b", {"v": [10, 20]}), ("c", {"v": 15})]],
                                        {"properties": {"v": {"type": "long"}}})

    def ordered(mode, order="asc"):
        request = parse_search_request({"sort": [{"v": {"order": order, "mode": mode}}]})
        hits = search_shard(searcher, request, SearchContext()).hits
        return [(hit.document_id, hit.sort_values[0]) for hit in hits]

    assert ordered("min") == [("a", 1), ("b", 10), ("c", 15)]
    assert ordered("max") == [("c", 15), ("b", 20), ("a", 100)]
    assert ordered("sum") == [("c", 15), ("b", 30), ("a", 103)]
    assert ordered("avg") == [("b", 15.0), ("c", 15.0), ("a", 103 / 3)]     # a tie keeps doc order
    assert ordered("median") == [("a", 2.0), ("b", 15.0), ("c", 15.0)]
    assert ordered(None, "desc") == [("a", 100), ("b", 20), ("c", 15)]


def test_an_empty_shard_answers_with_nothing():
    empty = build_reference_searcher([], MAPPING)
    request, result = run(empty, {"query": {"match": {"title": "apple"}}, "sort": [{"count": "desc"}],
                                  "aggs": {"tags": {"terms": {"field": "tag"}}}})
    assert result.hits == () and result.total_hits == 0 and result.max_score is None
    merged = merge_shard_results([result], request)
    assert merged.total_json() == {"value": 0, "relation": "eq"}
    assert merged.aggregations is not None
