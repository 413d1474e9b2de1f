"""The "fields" search option renders each mapped value as its type does (search/330_fetch_fields):
dates in the asked or the field's format, malformed values left out, keywords as strings,
numbers as given, ip as addresses; a format on a type without formats is refused."""

import pytest

from index.query import SearchContext, fetch_hits, merge_shard_results, parse_search_request, search_shard
from index.query.fetch import FieldFormatError
from index.testing import build_reference_searcher

MAPPING = {"properties": {"keyword": {"type": "keyword"}, "date": {"type": "date"},
                          "integer": {"type": "integer", "ignore_malformed": True}, "ratio": {"type": "float"},
                          "flag": {"type": "boolean"}}}


@pytest.fixture(scope="module")
def searcher():
    return build_reference_searcher([[
        ("1", {"keyword": ["a", 5], "date": "1990-12-29T22:30:00.000Z", "integer": 42, "ratio": 0.1, "flag": "true"}),
        ("2", {"keyword": "b", "date": "2024-01-02", "integer": "not an integer"})]], MAPPING)


def fields_of(searcher, body):
    request = parse_search_request({"sort": ["keyword"], **body})
    merged = merge_shard_results([search_shard(searcher, request, SearchContext())], request)
    return [hit.get("fields") for hit in fetch_hits(searcher, request, merged.hits, SearchContext())]


def test_a_date_in_the_asked_format(searcher):
    assert fields_of(searcher, {"fields": [{"field": "date", "format": "yyyy/MM/dd"}]}) == [
        {"date": ["1990/12/29"]}, {"date": ["2024/01/02"]}]


def test_a_date_in_the_fields_first_format(searcher):
    assert fields_of(searcher, {"fields": ["date"]})[1] == {"date": ["2024-01-02T00:00:00.000Z"]}


def test_a_malformed_value_kept_by_ignore_malformed_is_left_out(searcher):
    assert fields_of(searcher, {"fields": ["integer"]}) == [{"integer": [42]}, None]


def test_keywords_are_strings_numbers_as_given_booleans_parsed(searcher):
    assert fields_of(searcher, {"fields": ["keyword", "ratio", "flag"]})[0] == {
        "keyword": ["a", "5"], "ratio": [0.1], "flag": [True]}


def test_a_format_on_a_keyword_is_refused(searcher):
    with pytest.raises(FieldFormatError, match=r"Field \[keyword\] of type \[keyword\] doesn't support formats."):
        fields_of(searcher, {"fields": [{"field": "keyword", "format": "yyyy/MM/dd"}]})


def test_the_fields_option_on_an_index_without_source_is_refused():
    searcher = build_reference_searcher([[("1", {"keyword": "a"})]],
                                        {"_source": {"enabled": False}, "properties": {"keyword": {"type": "keyword"}}})
    request = parse_search_request({"fields": ["keyword"]})
    context = SearchContext(index_name="test")
    merged = merge_shard_results([search_shard(searcher, request, context)], request)
    with pytest.raises(FieldFormatError, match=r"^Unable to retrieve the requested \[fields\] since _source is "
                                               r"disabled in the mappings for index \[test\]$"):
        fetch_hits(searcher, request, merged.hits, context)


def test_docvalue_fields_format_numbers_with_a_decimal_pattern(searcher):
    assert fields_of(searcher, {"docvalue_fields": [{"field": "integer", "format": "#.0"}]})[0] == {"integer": ["42.0"]}
