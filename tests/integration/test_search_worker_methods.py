"""The worker-side search methods (node/workers/search_service.py) in-process over real shards:
query phase, fetch from the query's snapshot, scroll batches that never skip or repeat a hit
(ties included), reader contexts, count and explain. No node process is started here."""

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.analysis import AnalysisRegistry
from index.errors import SearchContextMissingError
from index.mapping import Mapping
from index.operations import IndexOperation
from index.query import parse_search_request
from index.shard import Shard, ShardSettings
from node.coordination.search import decode_search_id, encode_search_id, ShardTarget
from node.errors import IllegalArgumentError
from node.workers.registry import ShardRegistry
from node.workers.search_service import SEARCH_METHODS

MAPPING = {"properties": {"title": {"type": "text"}, "rank": {"type": "long"}, "tag": {"type": "keyword"}}}


def open_registry(directory, documents, shard_count=1):
    registry = ShardRegistry(directory)
    for shard_number in range(shard_count):
        shard = Shard.open(registry.shard_path("uuid", shard_number), ShardSettings(refresh_interval_seconds=None),
                           Mapping.from_json(MAPPING), AnalysisRegistry.from_index_settings({}))
        mine = [(document_id, source) for position, (document_id, source) in enumerate(documents)
                if position % shard_count == shard_number]
        if mine:
            shard.apply_as_primary([IndexOperation(document_id, orjson.dumps(source)) for document_id, source in mine], 1)
        shard.refresh()
        registry.put("uuid", shard_number, shard)
    return registry


def call(registry, method, shard_number=0, **payload):
    reply, _ = SEARCH_METHODS[method](registry, {"index_uuid": "uuid", "shard_number": shard_number,
                                                 "index_name": "books", **payload}, b"")
    return reply


def wire(body):
    return parse_search_request(body).to_wire()


def test_query_then_fetch_returns_the_page_from_the_query_phase_snapshot(tmp_path):
    registry = open_registry(tmp_path, [(str(n), {"title": f"snow {n}", "rank": n}) for n in range(5)])
    request = wire({"sort": [{"rank": "desc"}], "size": 2})
    queried = call(registry, "search_shard", request=request)
    hits = queried["result"]["hits"]
    assert [hit[5] for hit in hits] == ["4", "3"]
    # the document changes after the query phase: the fetch still reads the ranked snapshot
    shard = registry.get("uuid", 0)
    shard.apply_as_primary([IndexOperation("4", orjson.dumps({"title": "changed", "rank": 4}))], 1)
    shard.refresh()
    fetched = call(registry, "fetch", request=request, hits=hits, fetch_token=queried["fetch_token"])
    assert fetched["hits"][0]["_source"]["title"] == "snow 4"
    assert fetched["hits"][0]["sort"] == [4]


def test_query_and_fetch_in_one_call_skips_from(tmp_path):
    registry = open_registry(tmp_path, [(str(n), {"rank": n}) for n in range(5)])
    reply = call(registry, "search_shard", request=wire({"sort": ["rank"], "from": 1, "size": 2}), fetch=True)
    assert [hit["_id"] for hit in reply["hits"]] == ["1", "2"]


def test_a_scroll_hands_out_every_hit_once_even_when_sort_keys_tie(tmp_path):
    # every document has the same rank: only the _doc tie-break keeps pages apart
    registry = open_registry(tmp_path, [(str(n), {"rank": 7}) for n in range(23)])
    request = wire({"sort": [{"rank": "asc"}], "size": 5})
    first = call(registry, "search_shard", request=request, open_scroll_seconds=60, scroll=True, fetch=True)
    context_id = first["reader_context_id"]
    seen = [hit["_id"] for hit in first["hits"]]
    assert all(hit["sort"] == [7] for hit in first["hits"])
    while True:
        page = call(registry, "search_shard", request=None, reader_context_id=context_id, keep_alive_seconds=60,
                    scroll=True, fetch=True)
        if not page["hits"]:
            break
        seen += [hit["_id"] for hit in page["hits"]]
    assert sorted(seen, key=int) == [str(n) for n in range(23)]
    assert call(registry, "close_reader_context", id=context_id)["closed"] is True
    with pytest.raises(SearchContextMissingError):
        call(registry, "search_shard", request=None, reader_context_id=context_id, scroll=True, fetch=True)


def test_a_scroll_batch_not_consumed_is_offered_again(tmp_path):
    registry = open_registry(tmp_path, [(str(n), {"rank": n}) for n in range(6)])
    request = wire({"sort": ["rank"], "size": 3})
    first = call(registry, "search_shard", request=request, open_scroll_seconds=60, scroll=True)
    context_id = first["reader_context_id"]
    assert [hit[5] for hit in first["result"]["hits"]] == ["0", "1", "2"]
    # the coordinator used only one hit of this shard's batch
    call(registry, "fetch", request=request, hits=first["result"]["hits"][:1], fetch_token=first["fetch_token"],
         scroll_context_id=context_id, scroll_advance=1)
    second = call(registry, "search_shard", request=None, reader_context_id=context_id, scroll=True)
    assert [hit[5] for hit in second["result"]["hits"]] == ["1", "2", "3"]
    assert second["request"] == request


def test_reader_contexts_open_and_close_and_count_matches(tmp_path):
    registry = open_registry(tmp_path, [(str(n), {"tag": "a" if n % 2 else "b"}) for n in range(10)])
    assert call(registry, "count", query={"term": {"tag": "a"}})["count"] == 5
    opened = call(registry, "open_reader_context", keep_alive_seconds=60)
    assert call(registry, "close_all_reader_contexts")["freed"] == 1
    assert call(registry, "close_reader_context", id=opened["id"])["closed"] is False


def test_explain_reports_found_and_matched(tmp_path):
    registry = open_registry(tmp_path, [("1", {"title": "snow crash"}), ("2", {"title": "dune"})])
    assert call(registry, "explain", id="1", query={"match": {"title": "snow"}})["matched"] is True
    unmatched = call(registry, "explain", id="2", query={"match": {"title": "snow"}})
    assert unmatched == {"found": True, "matched": False}
    assert call(registry, "explain", id="3", query={"match_all": {}})["found"] is False


@settings(max_examples=50, deadline=None)
@given(targets=st.lists(st.tuples(st.text(min_size=1, max_size=8), st.integers(0, 50), st.text(max_size=12)),
                        max_size=5))
def test_search_ids_round_trip_through_their_opaque_form(targets):
    shard_targets = [ShardTarget(f"index-{name}", f"uuid-{name}", number, f"node-{name}", ordinal, context)
                     for ordinal, (name, number, context) in enumerate(targets)]
    decoded, _ = decode_search_id(encode_search_id("scroll", shard_targets), "scroll")
    assert decoded == shard_targets


@pytest.mark.parametrize("bad_id", ["", "not base64 !", "e30", 17])
def test_a_malformed_search_id_is_an_illegal_argument(bad_id):
    with pytest.raises(IllegalArgumentError):
        decode_search_id(bad_id, "scroll")


def test_a_point_in_time_id_is_not_a_scroll_id():
    pit_id = encode_search_id("pit", [ShardTarget("i", "u", 0, "n", 0, "c")])
    with pytest.raises(IllegalArgumentError):
        decode_search_id(pit_id, "scroll")


def test_a_query_phase_with_no_fetch_to_follow_keeps_no_snapshot(tmp_path):
    registry = open_registry(tmp_path, [("1", {"rank": 1})])
    request = wire({"size": 0, "aggs": {"ranks": {"max": {"field": "rank"}}}})
    assert "fetch_token" not in call(registry, "search_shard", request=request, fetch_expected=False)
    assert "fetch_token" in call(registry, "search_shard", request=wire({"size": 1}))


def test_a_reader_context_past_its_keep_alive_is_missing_and_a_used_one_is_extended(tmp_path):
    now = [1000.0]
    registry = ShardRegistry(tmp_path)
    shard = Shard.open(registry.shard_path("uuid", 0), ShardSettings(refresh_interval_seconds=None),
                       Mapping.from_json(MAPPING), AnalysisRegistry.from_index_settings({}), clock=lambda: now[0])
    shard.apply_as_primary([IndexOperation("1", orjson.dumps({"rank": 1}))], 1)
    shard.refresh()
    registry.put("uuid", 0, shard)
    request = wire({"size": 1})
    kept = call(registry, "search_shard", request=request, open_scroll_seconds=60, scroll=True, fetch=True)
    dropped = call(registry, "search_shard", request=request, open_scroll_seconds=60, scroll=True, fetch=True)
    now[0] += 50
    # using a context with a keep-alive extends it from now
    call(registry, "search_shard", request=None, reader_context_id=kept["reader_context_id"],
         keep_alive_seconds=60, scroll=True, fetch=True)
    now[0] += 50
    assert call(registry, "search_shard", request=None, reader_context_id=kept["reader_context_id"],
                keep_alive_seconds=60, scroll=True, fetch=True)["hits"] == []
    with pytest.raises(SearchContextMissingError):
        call(registry, "search_shard", request=None, reader_context_id=dropped["reader_context_id"],
             keep_alive_seconds=60, scroll=True, fetch=True)
    shard.close()
