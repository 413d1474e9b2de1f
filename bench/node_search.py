"""bench/node_search.py — the 1,000-query mix over HTTP against a real node, beside the HTTP ceiling.

Starts one ``python -m node`` (data under DATA_DIR), loads the first N documents of
../shared/bench's english.ndjson through `_bulk` (untimed here: node_bulk.py times loading),
refreshes, then sends the mix of queries.json as `POST /bench/_search` bodies
(bench_engines.to_opensearch: top-10, no _source, no exact total) at 1, 4 and 16
concurrent keep-alive clients: p50/p99 per request and QPS. In the same run, with the same client
code, it measures a bare hypercorn "hello" route (bench/hello_server.py) at the same client counts: the
HTTP ceiling that the targets are ratios of (issue 3: p99 ≤ 10 ms at 1 client; QPS at 16 clients
≥ 0.6× the ceiling).

    python bench/node_search.py --data DATA_DIR --n 100000 [--reps 1] [--shards 1] [--workers W]
                                [--peers none|tantivy,lucene,sqlite] [--keep]
                                [--clients 1,4,16]

The index has ONE shard by default (since session 7): OpenSearch's default and the node's own
(``PUT /bench`` without settings gives one shard), i.e. what a user measuring search gets. Until
session 6 the bench used ``--shards 2`` to put a shard on each of the two workers; with two shards
every search costs two worker calls and two per-shard searches (measured at 16 clients, same
code, alternated passes: front 1.62 vs 1.21 ms and workers 2.35 vs 1.05 ms of CPU per search for
two vs one shard — docs/benchmarks.md, session 7). Run ``--shards 2`` beside it to compare with
earlier sessions; docs/benchmarks.md reports both.

Rows are appended to DATA_DIR/results/quidditch-node-search-N.ndjson (one per client count, plus
one per hello measurement, ../shared/bench's fields with `null` where not measured).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from harness import bench_engines  # noqa: E402

DEFAULT_CLIENT_COUNTS = (1, 4, 16)


def time_requests(port: int, client_count: int, requests: list[tuple[str, str, bytes | None]],
                  check) -> dict:
    """Send every (method, path, body) once over client_count connections; latency per request."""
    def handle(client: harness.HttpClient, request):
        method, path, body = request
        started = time.perf_counter_ns()
        status, answer = client.request(method, path, body)
        elapsed_ms = (time.perf_counter_ns() - started) / 1e6
        return elapsed_ms, check(status, answer)

    wall_seconds, results = harness.run_clients(
        client_count, requests, lambda: harness.HttpClient("127.0.0.1", port), handle)
    latencies = [elapsed for elapsed, _ in results]
    return {
        "clients": client_count, "requests": len(requests), "wall_s": round(wall_seconds, 3),
        "qps": round(len(requests) / wall_seconds, 1),
        "p50_ms": round(harness.percentile(latencies, 50), 3),
        "p99_ms": round(harness.percentile(latencies, 99), 3),
        "results": [outcome for _, outcome in results],
        "latencies": latencies,
    }


def hits_of_search(status: int, answer: bytes) -> int:
    if status != 200:
        raise RuntimeError(f"_search answered {status}: {answer[:500]!r}")
    document = orjson.loads(answer)
    if document.get("_shards", {}).get("failed"):
        raise RuntimeError(f"_search had failed shards: {document['_shards']}")
    return len(document["hits"]["hits"])


def check_hello(status: int, answer: bytes) -> int:
    if status != 200:
        raise RuntimeError(f"hello answered {status}")
    return 0


def measure_hello(request_count: int, client_counts: tuple[int, ...]) -> dict[int, dict]:
    port = harness.free_ports(1)[0]
    server = subprocess.Popen([sys.executable, str(Path(__file__).resolve().parent / "hello_server.py"),
                               str(port)], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                harness.HttpClient("127.0.0.1", port, 2).request("GET", "/")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("hello server did not start") from None
                time.sleep(0.05)
        requests = [("POST", "/bench/_search", b'{"query":{"match_all":{}}}')] * request_count
        time_requests(port, 1, requests[:200], check_hello)  # warm-up
        results = {}
        for count in client_counts:
            cpu_before = harness.read_process_stat(server.pid)[1]
            results[count] = time_requests(port, count, requests, check_hello)
            # the server's CPU per request: what the node's front is compared with
            results[count]["cpu_ms_per_request"] = round(
                (harness.read_process_stat(server.pid)[1] - cpu_before) * 1000 / len(requests), 3)
        return results
    finally:
        server.terminate()
        server.wait(10)


def load_index(node: harness.NodeProcess, lines: list[bytes], shards: int) -> None:
    client = node.client()
    status, answer = client.json("PUT", "/bench", {
        "settings": {"number_of_shards": shards, "number_of_replicas": 0},
        "mappings": harness.BENCH_MAPPING})
    if status != 200:
        raise RuntimeError(f"creating the index answered {status}: {answer}")
    bodies = harness.bulk_bodies(lines, "bench", 1_000)
    harness.run_clients(4, bodies, node.client, lambda http_client, body: harness.check_bulk_response(
        *http_client.request("POST", "/_bulk", body, "application/x-ndjson")))
    status, answer = client.json("POST", "/bench/_refresh")
    if status != 200:
        raise RuntimeError(f"_refresh answered {status}: {answer}")
    client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=1, help="timed passes over the 1,000 queries")
    parser.add_argument("--shards", type=int, default=1,
                        help="primary shards of the bench index (1: OpenSearch's default; see above)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--peers", default="none")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--clients", default=",".join(map(str, DEFAULT_CLIENT_COUNTS)),
                        help="comma-separated client counts, each measured for the node and for hello")
    arguments = parser.parse_args(argv)
    client_counts = tuple(int(count) for count in arguments.clients.split(",") if count.strip())

    data = arguments.data.resolve()
    if harness.REPOSITORY in data.parents or data == harness.REPOSITORY:
        parser.error("--data must be outside the repository")
    command = "python bench/node_search.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    run_id = bench_engines.new_run_id()
    peer_rows = []
    if arguments.peers != "none":
        peer_rows = bench_engines.run_peers(str(data), arguments.n, arguments.peers, run_id=run_id,
                                            env={"BENCH_COMMAND": command})
    workload = bench_engines.Workload.load(str(data / "english.ndjson"), arguments.n,
                                           str(data / "queries.json"))
    lines = [line.rstrip(b"\n") for line in workload.lines]
    search_requests = [("POST", "/bench/_search", orjson.dumps(bench_engines.to_opensearch(query)))
                       for query in workload.queries] * arguments.reps

    base_directory = Path(tempfile.mkdtemp(prefix="quidditch-node-search-", dir=str(data)))
    load_start = harness.load_now()
    node = harness.start_single_node(base_directory, arguments.workers)
    try:
        load_index(node, lines, arguments.shards)
        # the merges the load leaves behind (the idle merge of ADR 0380 starts a second after the
        # last write) are done before anything is timed, as bench/cluster.py waits for them
        settle = harness.wait_for_settled_index(node, "bench")
        time_requests(node.http_port, 1, search_requests[:len(workload.queries)], hits_of_search)  # warm-up
        node_results = {}
        for client_count in client_counts:
            before = harness.sample_family(node.pid)
            node_results[client_count] = time_requests(node.http_port, client_count, search_requests,
                                                       hits_of_search)
            node_results[client_count]["node"] = harness.family_usage(
                before, harness.sample_family(node.pid), node_results[client_count]["wall_s"])
    finally:
        node.stop()
        if not arguments.keep:
            shutil.rmtree(base_directory, ignore_errors=True)
    hello_results = measure_hello(len(search_requests), client_counts)
    load_end = harness.load_now()

    rows = list(peer_rows)
    for client_count in client_counts:
        measured = node_results[client_count]
        ceiling = hello_results[client_count]
        by_type: dict[str, list[float]] = {}
        for query, latency in zip(workload.queries * arguments.reps, measured["latencies"]):
            by_type.setdefault(query["type"], []).append(latency)
        rows.append(harness.result_row(
            workload.ndjson_bytes, arguments.n, engine="quidditch-node",
            label=f"quidditch-http-{client_count}c", run_id=run_id, command=command, threads=client_count,
            corpus_sha256=workload.corpus_sha256, queries_sha256=workload.queries_sha256,
            docs=len(lines), queries=len(workload.queries), warmup_passes=1, reps=arguments.reps,
            qps=measured["qps"], p50_ms=measured["p50_ms"], p99_ms=measured["p99_ms"],
            by_type={kind: {"p50_ms": round(harness.percentile(values, 50), 4),
                            "p99_ms": round(harness.percentile(values, 99), 4)}
                     for kind, values in sorted(by_type.items())},
            queries_with_hits=sum(1 for hits in measured["results"][:len(workload.queries)] if hits),
            maxrss_mb=measured["node"]["total_rss_mb"], loadavg_end=bench_engines.loadavg(),
            http_search={"clients": client_count, "shards": arguments.shards, "workers": arguments.workers,
                         "node": measured["node"], "hello_qps": ceiling["qps"],
                         "hello_p50_ms": ceiling["p50_ms"], "hello_p99_ms": ceiling["p99_ms"],
                         "hello_cpu_ms_per_request": ceiling["cpu_ms_per_request"],
                         "qps_vs_hello": round(measured["qps"] / ceiling["qps"], 3),
                         "uptime_load_start": load_start, "uptime_load_end": load_end, "settle": settle}))
        rows.append(harness.result_row(
            workload.ndjson_bytes, arguments.n, engine="hypercorn-hello", label=f"hello-http-{client_count}c",
            run_id=run_id, command=command, threads=client_count, queries=ceiling["requests"],
            corpus_sha256=workload.corpus_sha256, queries_sha256=workload.queries_sha256,
            qps=ceiling["qps"], p50_ms=ceiling["p50_ms"], p99_ms=ceiling["p99_ms"], reps=arguments.reps))
    for row in rows[len(peer_rows):]:
        bench_engines.append_row(str(data / "results" / f"quidditch-node-search-{arguments.n}.ndjson"), row)

    print(f"$ {command}")
    print(f"load (1/5/15 min) at start {load_start}, at end {load_end}")
    print(f"settled after the load in {settle['seconds']} s (segments {settle['segments_after_refresh']} -> "
          f"{settle['segments_when_timed']}, merges {settle['merges_when_timed']})")
    print(f"{'what':<22} {'clients':>7} {'QPS':>9} {'p50 ms':>9} {'p99 ms':>9} {'QPS / hello':>12}")
    for client_count in client_counts:
        measured, ceiling = node_results[client_count], hello_results[client_count]
        print(f"{'quidditch _search':<22} {client_count:>7} {measured['qps']:>9,.0f} {measured['p50_ms']:>9.3f} "
              f"{measured['p99_ms']:>9.3f} {measured['qps'] / ceiling['qps']:>12.3f}")
        print(f"{'hypercorn hello':<22} {client_count:>7} {ceiling['qps']:>9,.0f} {ceiling['p50_ms']:>9.3f} "
              f"{ceiling['p99_ms']:>9.3f} {'1.000':>12}   server cpu {ceiling['cpu_ms_per_request']:.2f} ms "
              f"per request")
        for process in measured["node"]["processes"]:
            print(f"    pid {process['pid']:>7} {process['role']:<7} cpu {process['cpu_s']:>6.2f} s "
                  f"= {process['cpu_s'] * 1000 / measured['requests']:.2f} ms per search "
                  f"= {process['core_share']:.2f} of a core, rss {process['rss_mb']:.0f} MB")
        front_ms = sum(process["cpu_s"] for process in measured["node"]["processes"]
                       if process["role"] == "front") * 1000 / measured["requests"]
        # what the front spends per search beyond a whole bare-hypercorn request (the HTTP floor)
        print(f"    front beyond hello: {front_ms - ceiling['cpu_ms_per_request']:.2f} ms per search")
    print(f"queries with hits: {rows[len(peer_rows)]['queries_with_hits']}")
    if peer_rows:
        print(bench_engines.format_table(rows, ref="tantivy-1t"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
