"""Property: malformed bodies — any JSON under any query or request key — are rejected with an
index error naming the problem, never a Python exception (which would be a 500)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from index.errors import IndexEngineError
from index.query import parse_query, parse_search_request
from index.query.parser import builtin_parse_functions

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=5), st.sampled_from(["query", "field", "value", "must", "AUTO", "75%", "and"])),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.sampled_from(
                                   ["query", "field", "fields", "value", "values", "must", "should", "filter",
                                    "must_not", "boost", "operator", "minimum_should_match", "gte", "lt", "format",
                                    "slop", "fuzziness", "functions", "filter", "weight", "gauss", "origin", "scale",
                                    "queries", "positive", "negative", "negative_boost", "title", "match_all"]),
                                   children, max_size=3)),
    max_leaves=8)
query_names = st.sampled_from(sorted(builtin_parse_functions()) + ["nope"])
request_keys = st.sampled_from(["query", "from", "size", "sort", "search_after", "track_total_hits", "_source",
                                "highlight", "min_score", "post_filter", "aggs", "docvalue_fields", "fields",
                                "explain", "stored_fields", "terminate_after", "unknown"])


@settings(max_examples=200, deadline=None)
@given(query_names, json_values)
def test_any_query_body_parses_or_fails_with_an_index_error(query_name, body):
    try:
        parse_query({query_name: body})
    except IndexEngineError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(request_keys, json_values, max_size=3))
def test_any_request_body_parses_or_fails_with_an_index_error(body):
    try:
        parse_search_request(body)
    except IndexEngineError:
        pass
