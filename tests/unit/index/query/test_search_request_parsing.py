"""parse_search_request: body keys, URI parameters, limits, and the wire form."""

import orjson
import pytest

from index.errors import AggregationError, LimitExceededError, QueryParsingError
from index.query import SearchRequest, SortField, SourceFilter, parse_search_request
from index.query import nodes
from index.query.request import TRACK_ALL_TOTAL_HITS, TRACK_NO_TOTAL_HITS


def test_defaults_match_opensearch():
    request = parse_search_request(None)
    assert request.query == nodes.MatchAllQuery()
    assert (request.from_, request.size, request.track_total_hits) == (0, 10, 10_000)
    assert request.source == SourceFilter()
    assert request.sort == ()


def test_sort_forms_parse_with_default_orders():
    request = parse_search_request({"sort": ["_score", "title", {"count": "desc"},
                                             {"price": {"order": "asc", "missing": "_first", "mode": "max"}},
                                             {"gone": {"unmapped_type": "long"}}, "_doc"]})
    assert request.sort == (
        SortField("_score", "desc"), SortField("title", "asc"), SortField("count", "desc"),
        SortField("price", "asc", "_first", "max"), SortField("gone", "asc", "_last", None, "long"),
        SortField("_doc", "asc"))


def test_a_single_sort_object_is_accepted():
    assert parse_search_request({"sort": {"count": "desc"}}).sort == (SortField("count", "desc"),)


def test_bad_sort_order_is_rejected():
    with pytest.raises(QueryParsingError, match="sort order"):
        parse_search_request({"sort": [{"count": "sideways"}]})


def test_track_total_hits_forms():
    assert parse_search_request({"track_total_hits": True}).track_total_hits == TRACK_ALL_TOTAL_HITS
    assert parse_search_request({"track_total_hits": False}).track_total_hits == TRACK_NO_TOTAL_HITS
    assert parse_search_request({"track_total_hits": 50}).track_total_hits == 50
    assert parse_search_request({}, {"track_total_hits": "true"}).track_total_hits == TRACK_ALL_TOTAL_HITS


def test_source_filter_forms():
    assert parse_search_request({"_source": False}).source == SourceFilter(enabled=False)
    assert parse_search_request({"_source": "a.*"}).source == SourceFilter(includes=("a.*",))
    assert parse_search_request({"_source": ["a", "b"]}).source == SourceFilter(includes=("a", "b"))
    assert parse_search_request({"_source": {"includes": ["a"], "excludes": "a.b"}}).source == SourceFilter(
        True, ("a",), ("a.b",))
    params = {"_source_includes": "x,y", "_source_excludes": "y.z"}
    assert parse_search_request({}, params).source == SourceFilter(True, ("x", "y"), ("y.z",))


def test_uri_parameters_override_the_body():
    request = parse_search_request({"size": 5, "from": 1}, {"size": "20", "from": "2", "sort": "count:desc,_score"})
    assert (request.from_, request.size) == (2, 20)
    assert request.sort == (SortField("count", "desc"), SortField("_score", "desc"))


def test_q_parameter_becomes_a_query_string_query():
    request = parse_search_request(None, {"q": "title:fox", "df": "body", "default_operator": "AND"})
    assert request.query == nodes.QueryStringQuery(query="title:fox", default_field="body", default_operator="and")


def test_result_window_is_enforced_with_opensearchs_message():
    with pytest.raises(LimitExceededError, match=r"Result window is too large, from \+ size must be less than or "
                                                 r"equal to: \[10000\] but was \[10010\]"):
        parse_search_request({"from": 10, "size": 10_000})
    parse_search_request({"from": 0, "size": 10_000})
    with pytest.raises(LimitExceededError):
        parse_search_request({"size": 11}, max_result_window=10)


def test_negative_from_and_size_are_rejected():
    with pytest.raises(QueryParsingError, match=r"\[from\] parameter cannot be negative"):
        parse_search_request({"from": -1})
    with pytest.raises(QueryParsingError, match=r"\[size\] parameter cannot be negative"):
        parse_search_request({"size": -1})


def test_search_after_must_match_the_sort_length_and_start_at_zero():
    parse_search_request({"sort": ["a", "b"], "search_after": [1, "x"]})
    with pytest.raises(QueryParsingError, match="search_after has 1 value"):
        parse_search_request({"sort": ["a", "b"], "search_after": [1]})
    with pytest.raises(QueryParsingError, match=r"\[from\] parameter must be set to 0"):
        parse_search_request({"sort": ["a"], "search_after": [1], "from": 5})


def test_unknown_body_key_is_named():
    with pytest.raises(QueryParsingError, match=r"Unknown key for a START_OBJECT in \[qeury\]"):
        parse_search_request({"qeury": {"match_all": {}}})
    with pytest.raises(QueryParsingError, match=r"Unknown key for a VALUE_NUMBER in \[sise\]"):
        parse_search_request({"sise": 3})


def test_unsupported_features_say_so_instead_of_being_ignored():
    with pytest.raises(QueryParsingError, match=r"\[collapse\] is not supported"):
        parse_search_request({"collapse": {"field": "a"}})


def test_highlight_parses_global_and_per_field_options():
    request = parse_search_request({"highlight": {"pre_tags": ["<b>"], "post_tags": ["</b>"], "fragment_size": 50,
                                                  "fields": {"title": {"number_of_fragments": 0}, "body": {}}}})
    highlight = request.highlight
    assert highlight.pre_tags == ("<b>",) and highlight.fragment_size == 50
    assert [field.name for field in highlight.fields] == ["title", "body"]
    assert highlight.fields[0].number_of_fragments == 0
    with pytest.raises(QueryParsingError, match="highlight"):
        parse_search_request({"highlight": {"fields": {}}})


def test_aggregations_are_validated_and_kept_raw():
    aggs = {"by_tag": {"terms": {"field": "tag"}}}
    assert parse_search_request({"aggs": aggs}).aggregations == aggs
    assert parse_search_request({"aggregations": aggs}).aggregations == aggs
    with pytest.raises(AggregationError):
        parse_search_request({"aggs": {"broken": {"no_such_aggregation": {}}}})


def test_post_filter_min_score_and_flags():
    request = parse_search_request({"post_filter": {"term": {"a": "b"}}, "min_score": 0.5, "explain": True,
                                    "profile": True, "version": True, "seq_no_primary_term": True,
                                    "track_scores": True, "docvalue_fields": ["a", {"field": "d", "format": "epoch_millis"}]})
    assert request.post_filter == nodes.TermQuery("a", "b")
    assert request.min_score == 0.5
    assert request.explain and request.profile and request.version and request.seq_no_primary_term
    assert request.docvalue_fields == (("a", None), ("d", "epoch_millis"))


def test_search_request_round_trips_through_its_wire_form():
    body = {
        "query": {"bool": {"must": [{"match": {"title": "fox"}}], "filter": [{"range": {"d": {"gte": "now-1d"}}}]}},
        "from": 0, "size": 7, "sort": [{"count": {"order": "desc", "missing": "_first"}}, "_score"],
        "search_after": [5, 1.5], "track_total_hits": 100, "_source": {"includes": ["a*"], "excludes": ["b"]},
        "highlight": {"fields": [{"title": {"fragment_size": 20}}]}, "explain": True, "min_score": 0.1,
        "post_filter": {"term": {"tag": "x"}}, "aggs": {"t": {"terms": {"field": "tag"}}}, "terminate_after": 9,
    }
    request = parse_search_request(body)
    wire = orjson.loads(orjson.dumps(request.to_wire()))
    assert SearchRequest.from_wire(wire) == request


@pytest.mark.parametrize("body, key", [
    ({"_source": [1, 2]}, "_source"),
    ({"_source": {"includes": [None]}}, "_source"),
    ({"highlight": {"fields": {"title": ["fragment_size"]}}}, "highlight"),
    ({"stored_fields": {"a": 1}}, "stored_fields"),
])
def test_malformed_options_are_parsing_errors_naming_the_key(body, key):
    with pytest.raises(QueryParsingError, match=rf"\[{key}\]"):
        parse_search_request(body)


def test_too_many_docvalue_fields_is_a_limit_error():
    parse_search_request({"docvalue_fields": [f"f{number}" for number in range(100)]})
    with pytest.raises(LimitExceededError, match="too many docvalue_fields"):
        parse_search_request({"docvalue_fields": [f"f{number}" for number in range(101)]})
