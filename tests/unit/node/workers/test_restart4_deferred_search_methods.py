"""The worker imports its search and UDF methods only when first idle or first asked (ADR 0291):
opening, replaying and recovering shards after a restart does not wait for index.query or wasmtime,
and every deferred method still dispatches to the real one."""

from __future__ import annotations

import subprocess
import sys

import orjson

from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.operations import IndexOperation
from index.query import parse_search_request
from index.shard import Shard, ShardSettings
from node.workers import shard_service
from node.workers.registry import ShardRegistry


def test_importing_the_worker_methods_leaves_search_and_udf_modules_unimported():
    probe = ("import sys, node.workers.worker_main, node.workers.shard_service; "
             "print(','.join(sorted(name for name in ('index.query', 'wasmtime', 'node.udf.queries', 'node.udf.host', "
             "'node.workers.search_service', 'node.coordination.writes') if name in sys.modules)))")
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == ""


def test_the_deferred_method_table_matches_what_the_modules_export():
    loaded = shard_service.load_deferred_methods()    # raises when the table is out of date
    assert set(loaded) == set(shard_service.DEFERRED_METHODS)
    assert set(shard_service.DEFERRED_METHODS) <= set(shard_service.SHARD_METHODS)
    inline = {name for name, is_inline in shard_service.DEFERRED_METHODS.items() if is_inline}
    assert inline <= shard_service.INLINE_METHODS


def test_a_deferred_method_called_through_shard_methods_answers_like_the_search_service(tmp_path):
    registry = ShardRegistry(tmp_path)
    shard = Shard.open(registry.shard_path("uuid", 0), ShardSettings(refresh_interval_seconds=None),
                       Mapping.from_json({"properties": {"title": {"type": "text"}}}),
                       AnalysisRegistry.from_index_settings({}))
    shard.apply_as_primary([IndexOperation(str(number), orjson.dumps({"title": f"snow {number}"}))
                            for number in range(3)], 1)
    shard.refresh()
    registry.put("uuid", 0, shard)
    try:
        payload = {"index_uuid": "uuid", "shard_number": 0, "index_name": "books",
                   "request": parse_search_request({"query": {"match": {"title": "snow"}}}).to_wire()}
        reply, _ = shard_service.SHARD_METHODS["search_shard"](registry, payload, b"")
        assert sorted(hit[5] for hit in reply["result"]["hits"]) == ["0", "1", "2"]
    finally:
        shard.close()


def test_the_worker_is_idle_only_with_no_call_in_flight_for_the_idle_time(tmp_path):
    registry = ShardRegistry(tmp_path)
    seen_busy = []

    def probe(registry, payload, body):
        seen_busy.append(not shard_service.worker_is_idle(idle_seconds=0.0))
        return {}, b""

    shard_service._noting_activity(probe)(registry, {}, b"")
    assert seen_busy == [True], "a call in flight is activity"
    assert shard_service.worker_is_idle(idle_seconds=0.0)
    assert not shard_service.worker_is_idle(idle_seconds=3600.0), "a call just ended"


def test_a_worker_left_idle_imports_the_deferred_methods_by_itself():
    probe = ("import sys, time\n"
             "from node.workers import shard_service\n"
             "shard_service.PRELOAD_IDLE_SECONDS = 0.0\n"
             "shard_service.start_preloading_deferred_methods().join(120)\n"
             "print('index.query' in sys.modules and 'node.udf.queries' in sys.modules)\n")
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "True"
