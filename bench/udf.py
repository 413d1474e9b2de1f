"""bench/udf.py — a WASM scorer and filter over N candidates, against the same query without them.

Builds one in-process shard (index.Shard) of N small documents ({"value", "published_at",
"title"}), then times, in one run and on the same searcher:

    match_all                          vs  script_score(match_all, recency_scorer)   (the scorer)
    range value in [lo, hi]            vs  wasm_udf range_filter (same bounds)       (the filter)

through index/query's search_shard with node/udf's query nodes and host (the code a shard worker
runs; no HTTP, no worker hop). Every candidate goes through the UDF in batches of 4096.

    /work/venv/bin/python bench/udf.py [--n 1000000] [--reps 5] [--segments 1]
    /work/venv/bin/python bench/udf.py --http http://127.0.0.1:9200 [--n 100000] [--reps 5]

With ``--http`` the same pairs run through a node's REST API instead (index ``udf-bench`` is
created and filled there, the example UDFs registered; ``took`` and the client's wall clock are
both reported): the whole path, coordinator and worker hop included.

Prints one line per query (median and best of --reps, milliseconds) and the UDF's overhead.
Nothing is kept: the shard lives in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson  # noqa: E402

import udf.examples as examples  # noqa: E402
from index.analysis import AnalysisRegistry  # noqa: E402
from index.mapping import Mapping  # noqa: E402
from index.operations import IndexOperation  # noqa: E402
from index.query import SearchContext, SearchRequest, parse_search_request, search_shard  # noqa: E402
from index.shard import Shard, ShardSettings  # noqa: E402
from node.udf import queries  # noqa: E402,F401  (registers wasm_udf / script_score)
from node.udf.host import UdfHost  # noqa: E402
from node.udf.store import StaticUdfCatalog  # noqa: E402
from udf import UdfRuntime  # noqa: E402

NOW = 1_700_000_000_000
DAY_MILLIS = 86_400_000
MAPPING = {"properties": {"value": {"type": "long"}, "published_at": {"type": "date"}, "title": {"type": "keyword"}}}


def build_shard(directory: Path, document_count: int, segments: int) -> Shard:
    shard = Shard.open(directory, ShardSettings(refresh_interval_seconds=None, translog_durability="async"),
                       Mapping.from_json(MAPPING), AnalysisRegistry.from_index_settings({}))
    per_segment = -(-document_count // segments)
    batch = 20_000
    for start in range(0, document_count, batch):
        operations = [IndexOperation(document_id=str(number), source=orjson.dumps(
            {"value": number % 1000, "published_at": NOW - (number % 3650) * DAY_MILLIS, "title": "t"}))
            for number in range(start, min(start + batch, document_count))]
        shard.apply_as_primary(operations, primary_term=1)
        if (start + batch) % per_segment < batch:
            shard.refresh()
    shard.refresh()
    return shard


def time_query(searcher, body: dict, context: SearchContext, reps: int) -> tuple[float, float, object]:
    request = SearchRequest.from_wire(orjson.loads(orjson.dumps(parse_search_request(body).to_wire())))
    result = search_shard(searcher, request, context)  # warm-up (compiles the module once)
    timings = []
    for _ in range(reps):
        started = time.perf_counter()
        result = search_shard(searcher, request, context)
        timings.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(timings), min(timings), result


def _http(base_url: str, method: str, path: str, body: object = None) -> dict:
    import urllib.request

    data = None if body is None else (body if isinstance(body, bytes) else orjson.dumps(body))
    request = urllib.request.Request(base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/x-ndjson" if isinstance(body, bytes)
                                              else "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return orjson.loads(response.read() or b"null")


def run_over_http(base_url: str, document_count: int, reps: int) -> None:
    import urllib.error

    for name in ("recency_scorer", "range_filter"):
        _http(base_url, "PUT", f"/_udf/{name}", examples.wat_registration_body(name))
    try:
        _http(base_url, "DELETE", "/udf-bench")
    except urllib.error.HTTPError:
        pass
    _http(base_url, "PUT", "/udf-bench", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                          "mappings": MAPPING})
    started = time.perf_counter()
    batch = 10_000
    for start in range(0, document_count, batch):
        lines = b"".join(b'{"index":{"_id":"%d"}}\n' % number + orjson.dumps(
            {"value": number % 1000, "published_at": NOW - (number % 3650) * DAY_MILLIS, "title": "t"}) + b"\n"
            for number in range(start, min(start + batch, document_count)))
        _http(base_url, "POST", "/udf-bench/_bulk", lines)
    _http(base_url, "POST", "/udf-bench/_refresh")
    print(f"indexed {document_count} documents over HTTP in {time.perf_counter() - started:.1f}s")
    pairs = [
        ("scorer", {"query": {"match_all": {}}, "size": 10},
         {"query": {"script_score": {"query": {"match_all": {}}, "script": {
             "lang": "wasm", "source": "recency_scorer", "params": {"now_millis": NOW, "weight": 2.0}}}}, "size": 10}),
        ("filter", {"query": {"range": {"value": {"gte": 100, "lte": 499}}}, "size": 10},
         {"query": {"wasm_udf": {"name": "range_filter", "params": {"lo": 100, "hi": 499}}}, "size": 10}),
    ]
    for label, plain, with_udf in pairs:
        figures = []
        for body in (plain, with_udf):
            _http(base_url, "POST", "/udf-bench/_search?request_cache=false", body)   # warm-up
            walls, tooks = [], []
            for _ in range(reps):
                began = time.perf_counter()
                response = _http(base_url, "POST", "/udf-bench/_search", body)
                walls.append((time.perf_counter() - began) * 1000.0)
                tooks.append(response["took"])
            figures.append((statistics.median(walls), statistics.median(tooks)))
        (plain_wall, plain_took), (udf_wall, udf_took) = figures
        print(f"{label} over http: without udf median {plain_wall:.1f} ms (took {plain_took}); with udf "
              f"{udf_wall:.1f} ms (took {udf_took}); overhead {udf_wall - plain_wall:.1f} ms per query")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/udf.py")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--segments", type=int, default=1)
    parser.add_argument("--http", help="a running node's base URL: run the pairs through its REST API")
    arguments = parser.parse_args(argv)
    if arguments.http:
        run_over_http(arguments.http.rstrip("/"), arguments.n, arguments.reps)
        return 0

    runtime = UdfRuntime()
    definitions = {name: runtime.build_definition(name, examples.wat_registration_body(name))
                   for name in ("recency_scorer", "range_filter")}
    host = UdfHost(StaticUdfCatalog(definitions), runtime=runtime)
    with tempfile.TemporaryDirectory(prefix="quidditch-udf-bench-") as directory:
        started = time.perf_counter()
        shard = build_shard(Path(directory), arguments.n, arguments.segments)
        searcher = shard.acquire_searcher()
        print(f"indexed {arguments.n} documents in {len(searcher.segments)} segment(s) in "
              f"{time.perf_counter() - started:.1f}s")
        pairs = [
            ("scorer", {"query": {"match_all": {}}, "size": 10},
             {"query": {"script_score": {"query": {"match_all": {}}, "script": {
                 "lang": "wasm", "source": "recency_scorer", "params": {"now_millis": NOW, "weight": 2.0}}}},
              "size": 10}),
            ("filter", {"query": {"range": {"value": {"gte": 100, "lte": 499}}}, "size": 10},
             {"query": {"wasm_udf": {"name": "range_filter", "params": {"lo": 100, "hi": 499}}}, "size": 10}),
        ]
        for label, plain, with_udf in pairs:
            # a fresh context per query: the fuel budget is per query, as in a worker
            plain_median, plain_best, plain_result = time_query(searcher, plain, SearchContext(), arguments.reps)
            udf_times = []
            udf_result = None
            for _ in range(arguments.reps + 1):
                context = SearchContext(udf_hooks={"udf_host": host})
                _, best, udf_result = time_query(searcher, with_udf, context, 1)
                udf_times.append(best)
            udf_median, udf_best = statistics.median(udf_times[1:]), min(udf_times[1:])
            assert udf_result.total_hits == plain_result.total_hits or label == "scorer", (
                udf_result.total_hits, plain_result.total_hits)
            print(f"{label}: without udf median {plain_median:.1f} ms (best {plain_best:.1f}); with udf median "
                  f"{udf_median:.1f} ms (best {udf_best:.1f}); overhead {udf_median - plain_median:.1f} ms per "
                  f"query = {(udf_median - plain_median) * 1e6 / arguments.n:.0f} ns per candidate; "
                  f"hits {udf_result.total_hits}")
        statistics_body = host.statistics()
        print(f"udf batches: {statistics_body['batch_count']}, "
              f"mean {statistics_body['batch_seconds_sum'] / max(statistics_body['batch_count'], 1) * 1e6:.0f} µs "
              f"per batch")
        shard.close()
    runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
