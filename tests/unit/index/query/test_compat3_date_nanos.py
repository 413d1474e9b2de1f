"""`date_nanos` fields: values stored as epoch nanoseconds (1970..2262), sorted and returned in
nanoseconds, range/term queries at nanosecond precision, doc values in any format, and date
aggregations at millisecond resolution."""

import orjson
import pytest

from index.aggregations import render_response
from index.analysis import AnalysisRegistry
from index.errors import MapperParsingError
from index.mapping import Mapping
from index.mapping.dates import format_date_nanos, parse_date_nanos
from index.operations import IndexOperation
from index.query import SearchContext, fetch_hits, merge_shard_results, parse_search_request, search_shard
from index.shard import Shard, ShardSettings

MAPPING = {"properties": {"date": {"type": "date_nanos"}, "field": {"type": "long"}}}
DOCUMENTS = [("first", {"date": "2018-10-29T12:12:12.123456789Z", "field": 1}),
             ("second", {"date": "2018-10-29T12:12:12.987654321Z", "field": 2}),
             ("third", {"date": "2018-10-30T01:00:00Z"})]


def test_values_parse_to_epoch_nanoseconds_and_format_back():
    parsed = Mapping.from_json(MAPPING).parse_document({"date": ["2018-10-29T12:12:12.123456789Z", 1540815132123]})
    assert parsed.values["date"] == [1540815132123456789, 1540815132123000000]
    assert format_date_nanos(1540815132123456789) == "2018-10-29T12:12:12.123456789Z"
    assert format_date_nanos(1540815132123456789, "epoch_millis") == "1540815132123.456789"
    assert format_date_nanos(1540815132123456789, "strict_date_optional_time") == "2018-10-29T12:12:12.123Z"
    assert parse_date_nanos("1540815132123.456789") == 1540815132123456789
    assert format_date_nanos(1540815132123456789, "uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSSX") == "2018-10-29T12:12:12.123456789Z"


def test_the_mapping_shows_only_what_was_given():
    assert Mapping.from_json(MAPPING).to_json() == MAPPING


@pytest.mark.parametrize("value, reason", [
    ("1969-10-28T12:12:12.123456789Z",
     "date[1969-10-28T12:12:12.123456789Z] is before the epoch in 1970 and cannot be stored in nanosecond resolution"),
    ("2263-10-29T12:12:12.123456789Z",
     "date[2263-10-29T12:12:12.123456789Z] is after 2262-04-11T23:47:16.854775807 and cannot be stored in "
     "nanosecond resolution"),
])
def test_dates_outside_what_a_long_of_nanoseconds_holds_are_refused(value, reason):
    with pytest.raises(MapperParsingError) as raised:
        Mapping.from_json(MAPPING).parse_document({"date": value}, "1")
    assert raised.value.reason.startswith("failed to parse field [date] of type [date_nanos]")
    assert raised.value.details["caused_by"] == reason


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    shard = Shard.open(tmp_path_factory.mktemp("nanos"), ShardSettings(refresh_interval_seconds=None),
                       Mapping.from_json(MAPPING), AnalysisRegistry.from_index_settings({}))
    shard.apply_as_primary([IndexOperation(i, orjson.dumps(s)) for i, s in DOCUMENTS[:1]], 1)
    shard.refresh()
    shard.apply_as_primary([IndexOperation(i, orjson.dumps(s)) for i, s in DOCUMENTS[1:]], 1)
    shard.refresh()
    yield shard.acquire_searcher()
    shard.close()


def search(searcher, body):
    request = parse_search_request(body)
    context = SearchContext(index_name="test")
    merged = merge_shard_results([search_shard(searcher, request, context)], request)
    hits = fetch_hits(searcher, request, merged.hits, context)
    return hits, (render_response(request.aggregations, merged.aggregations) if request.aggregations else None)


def test_sort_values_are_epoch_nanoseconds(searcher):
    hits, _ = search(searcher, {"sort": [{"date": "desc"}]})
    assert [(hit["_id"], hit["sort"]) for hit in hits] == [
        ("third", [1540861200000000000]), ("second", [1540815132987654321]), ("first", [1540815132123456789])]


def test_range_bounds_keep_digits_below_the_millisecond(searcher):
    hits, _ = search(searcher, {"query": {"range": {"date": {"gt": "2018-10-29T12:12:12.123456788Z",
                                                             "lt": "2018-10-29T12:12:12.987654321Z"}}}})
    assert [hit["_id"] for hit in hits] == ["first"]


def test_date_math_bounds_cover_whole_milliseconds(searcher):
    hits, _ = search(searcher, {"query": {"range": {"date": {"lte": "2018-10-29||/d"}}}})
    assert sorted(hit["_id"] for hit in hits) == ["first", "second"]


def test_term_on_an_exact_instant(searcher):
    hits, _ = search(searcher, {"query": {"term": {"date": "2018-10-29T12:12:12.987654321Z"}}})
    assert [hit["_id"] for hit in hits] == ["second"]


def test_docvalue_fields_in_several_formats_list_every_rendering(searcher):
    hits, _ = search(searcher, {"query": {"ids": {"values": ["first"]}}, "docvalue_fields": [
        {"field": "date", "format": "strict_date_optional_time"}, {"field": "date", "format": "epoch_millis"}, "date"]})
    assert hits[0]["fields"] == {"date": ["2018-10-29T12:12:12.123Z", "1540815132123.456789",
                                          "2018-10-29T12:12:12.123456789Z"]}


def test_date_histogram_keys_are_milliseconds(searcher):
    _, aggregations = search(searcher, {"size": 0, "aggs": {
        "days": {"date_histogram": {"field": "date", "calendar_interval": "1d"}}, "latest": {"max": {"field": "date"}}}})
    assert aggregations["days"]["buckets"] == [
        {"key_as_string": "2018-10-29T00:00:00.000Z", "key": 1540771200000, "doc_count": 2},
        {"key_as_string": "2018-10-30T00:00:00.000Z", "key": 1540857600000, "doc_count": 1}]
    assert aggregations["latest"]["value"] == 1540861200000.0


def test_sort_tells_apart_instants_one_nanosecond_apart(tmp_path):
    shard = Shard.open(tmp_path, ShardSettings(refresh_interval_seconds=None), Mapping.from_json(MAPPING),
                       AnalysisRegistry.from_index_settings({}))
    try:
        shard.apply_as_primary([IndexOperation(str(nanos), orjson.dumps({"date": f"2018-10-29T12:12:12.12345678{nanos}Z"}))
                                for nanos in (3, 1, 2)], 1)
        shard.refresh()
        hits, _ = search(shard.acquire_searcher(), {"sort": [{"date": "asc"}]})
    finally:
        shard.close()
    assert [hit["_id"] for hit in hits] == ["1", "2", "3"]


def test_search_after_takes_a_formatted_date(tmp_path):
    mapping = {"properties": {"ns": {"type": "date_nanos", "format": "yyyy-MM-dd HH:mm:ss.SSSSSS"},
                              "ms": {"type": "date", "format": "yyyy-MM-dd HH:mm:ss.SSS"}}}
    shard = Shard.open(tmp_path, ShardSettings(refresh_interval_seconds=None), Mapping.from_json(mapping),
                       AnalysisRegistry.from_index_settings({}))
    try:
        shard.apply_as_primary([
            IndexOperation("early", orjson.dumps({"ns": "2019-10-21 00:30:04.828740", "ms": "2019-10-21 00:30:04.828"})),
            IndexOperation("late", orjson.dumps({"ns": "2019-10-21 08:30:04.828733", "ms": "2019-10-21 08:30:04.828"}))], 1)
        shard.refresh()
        searcher = shard.acquire_searcher()
        nanos, _ = search(searcher, {"sort": [{"ns": "desc"}], "search_after": ["2019-10-21 08:30:04.828733"]})
        millis, _ = search(searcher, {"sort": [{"ms": "desc"}], "search_after": ["2019-10-21 08:30:04.828"]})
        exact, _ = search(searcher, {"sort": [{"ns": "desc"}], "search_after": [1571646604828733000]})
    finally:
        shard.close()
    assert [(hit["_id"], hit["sort"]) for hit in nanos] == [("early", [1571617804828740000])]
    assert [(hit["_id"], hit["sort"]) for hit in millis] == [("early", [1571617804828])]
    assert [hit["_id"] for hit in exact] == ["early"]
