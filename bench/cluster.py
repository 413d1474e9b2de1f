"""bench/cluster.py — three local nodes, 3 shards × 1 replica: bulk, search, failover, restart.

Starts three voters (``python -m node`` with --seed-hosts, data under DATA_DIR; two shard workers
each, as the node's own default gives a 2-core machine — ``--workers`` changes it, ADR 0370), creates
``bench`` with 3 primaries and 1 replica, waits for green, then measures:

1. bulk: the first N documents through `_bulk` (--clients connections spread over the nodes,
   fsync per request, each write acknowledged by primary and replica): docs/s;
2. search: once the index has settled — no merge running and every copy's segment count and the
   merge count unchanged for three polls (harness.wait_for_settled_index: the merges the load left
   behind, idle merges included, are done; the wait and the counts are reported; ``--no-settle``
   searches right after the refresh as sessions 1-6 did) —, the 1,000-query mix at 1 and 16 clients spread over the nodes
   (p50/p99/QPS), beside the bare hypercorn "hello" ceiling measured in the same run
   (bench/hello_server.py);
3. failover: SIGKILL of the node holding the primary of shard 0; the time until a `_bulk` sent to
   a surviving node with one document for every shard is acknowledged without item errors;
4. restart: the killed node started again on its data directory; the time from launch until every
   shard copy allocated to it is STARTED in `_cat/shards` (searchable), and until green.

    python bench/cluster.py --data DATA_DIR --n 20000 [--clients 4] [--reps 1] [--workers 2] [--no-settle] [--keep] [--skip-search]
                            [--log-level INFO] [--latency-log FILE] [--compare-local ROUNDS] [--skip-failover]

``--latency-log`` writes one line per timed search (wall start, latency, the coordinator's took) to
line the tail up with the nodes' own records; ``--compare-local`` alternates 1-client passes of the
default path (an idle coordinator spreads its shards) with ``?preference=_local``; the report names
the shard placement, which decides whether spreading can use three nodes.

``--log-level`` sets every node's log level from launch (default WARNING; the restarted node always
logs at INFO), so the master's allocation rounds can be lined up with the restarted node's log.

Whatever fails is reported as failed (with the node logs' location), not hidden: the cluster code
is young. Rows go to DATA_DIR/results/quidditch-cluster-N.ndjson.
"""

from __future__ import annotations

import argparse
import inspect
import shlex
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import node_search  # noqa: E402
from harness import bench_engines  # noqa: E402

FAILOVER_DEADLINE_SECONDS = 60.0
RESTART_DEADLINE_SECONDS = 120.0
WRITE_ATTEMPT_TIMEOUT_SECONDS = 5.0
# the search phase's client counts (node_search.py's own default list may differ)
SEARCH_CLIENT_COUNTS = (1, 16)
get_json = harness.get_json


def cat_shards(node: harness.NodeProcess) -> list[dict]:
    return get_json(node, "/_cat/shards/bench?format=json", list, 5.0)


def wait_for_health(node: harness.NodeProcess, status_wanted: str, timeout_seconds: float) -> float:
    """Seconds until /_cluster/health reports status_wanted (polled; raises past the deadline)."""
    start = time.monotonic()
    client = node.client(timeout_seconds=10.0)
    try:
        while time.monotonic() - start < timeout_seconds:
            try:
                status, health = client.json("GET", "/_cluster/health")
                if status == 200 and health.get("status") == status_wanted:
                    return time.monotonic() - start
            except OSError:
                client.close()
            time.sleep(0.1)
    finally:
        client.close()
    raise RuntimeError(f"cluster not {status_wanted} within {timeout_seconds} s")


def one_document_per_shard_body(attempt: int) -> bytes:
    # 30 ids spread over the 3 shards by murmur3 routing (all three get some, whichever they are)
    parts = []
    for number in range(30):
        parts.append(b'{"index":{"_index":"bench","_id":"failover-%d-%d"}}\n' % (attempt, number))
        parts.append(b'{"body":"failover probe","n_words":2}\n')
    return b"".join(parts)


def measure_failover(nodes: list[harness.NodeProcess]) -> dict:
    shards = cat_shards(nodes[0])
    primary_of_zero = next(row for row in shards if str(row["shard"]) == "0" and row["prirep"] == "p")
    victim = next(node for node in nodes if node.name == primary_of_zero["node"])
    copies_before = sum(1 for row in shards if row.get("node") == victim.name)
    # a master's death adds a Raft election (pysyncobj's election timeout) to the failover
    master = harness.get_json(nodes[0], "/_cat/cluster_manager?format=json", list, 10.0)
    victim_was_master = bool(master) and master[0].get("node") == victim.name
    survivors = [node for node in nodes if node is not victim]
    victim.kill(signal.SIGKILL)
    killed_at = time.monotonic()
    attempts, last_error = 0, None
    client = survivors[0].client(timeout_seconds=WRITE_ATTEMPT_TIMEOUT_SECONDS + 5)
    try:
        while time.monotonic() - killed_at < FAILOVER_DEADLINE_SECONDS:
            attempts += 1
            try:
                status, body = client.request(
                    "POST", f"/_bulk?timeout={int(WRITE_ATTEMPT_TIMEOUT_SECONDS)}s",
                    one_document_per_shard_body(attempts), "application/x-ndjson")
                harness.check_bulk_response(status, body)
                return {"victim": victim.name, "victim_was_master": victim_was_master,
                        "seconds_to_accept_writes": round(time.monotonic() - killed_at, 3),
                        "attempts": attempts, "last_error": last_error, "copies_before": copies_before}
            except (RuntimeError, OSError) as error:
                last_error = str(error)[:300]
                client.close()
            time.sleep(0.05)
    finally:
        client.close()
    return {"victim": victim.name, "victim_was_master": victim_was_master, "seconds_to_accept_writes": None,
            "attempts": attempts, "last_error": last_error, "copies_before": copies_before,
            "failed": f"no acknowledged write within {FAILOVER_DEADLINE_SECONDS} s"}


def measure_restart(nodes: list[harness.NodeProcess], victim_name: str, copies_before: int = 1) -> dict:
    victim = next(node for node in nodes if node.name == victim_name)
    observer = next(node for node in nodes if node is not victim)
    # the restarted node logs at INFO (state applied, copies opened, recovery attempts) so that a
    # slow restart can be explained from DATA_DIR/<base>/<victim>.out
    victim.flags["log-level"] = "INFO"
    launched_at = time.monotonic()
    launched_at_epoch_millis = int(time.time() * 1000)
    victim.launch()
    victim.wait_until_ready(RESTART_DEADLINE_SECONDS)
    ready_seconds = time.monotonic() - launched_at
    # CPU seconds the restarted node's processes (front + workers) used since the launch: the
    # load-independent side of the wall times above (this 2-core box runs other work beside)
    cpu_at_ready = _family_cpu_seconds(victim.pid)
    cpu_at_started = None
    searchable_seconds, copies = None, []
    while time.monotonic() - launched_at < RESTART_DEADLINE_SECONDS:
        try:
            copies = [row for row in cat_shards(observer) if row["node"] == victim.name]
        except (RuntimeError, OSError):
            copies = []
        # as many copies as it held before the kill, all STARTED (the master may place them one by one)
        if len(copies) >= copies_before and all(row["state"] == "STARTED" for row in copies):
            searchable_seconds = time.monotonic() - launched_at
            cpu_at_started = _family_cpu_seconds(victim.pid)
            break
        time.sleep(0.1)
    recoveries = []
    try:
        recovery_client = observer.client(timeout_seconds=5.0)
        _, rows = recovery_client.json("GET", "/_cat/recovery/bench?format=json&h=shard,type,stage,time,"
                                              "source_node,target_node,files_total,bytes_total,translog_ops,"
                                              "start_time_millis,stop_time_millis")
        recovery_client.close()
        recoveries = [row for row in rows if row.get("target_node") == victim.name] if isinstance(rows, list) else []
        for row in recoveries:
            # when each copy's opening began and ended, in seconds after the launch (allocation delay
            # = the first start minus seconds_to_http_ready)
            for column in ("start_time_millis", "stop_time_millis"):
                if row.get(column):
                    row[column.replace("_time_millis", "_seconds_after_launch")] = round(
                        (int(row.pop(column)) - launched_at_epoch_millis) / 1000, 3)
    except (RuntimeError, OSError):
        pass
    result = {"node": victim.name, "seconds_to_http_ready": round(ready_seconds, 3),
              "cpu_seconds_to_http_ready": cpu_at_ready, "cpu_seconds_to_own_copies_started": cpu_at_started,
              "recoveries_on_node": recoveries,
              "seconds_to_own_copies_started": None if searchable_seconds is None else round(searchable_seconds, 3),
              "copies_on_node": [{k: row.get(k) for k in ("shard", "prirep", "state", "docs")} for row in copies]}
    try:
        wait_for_health(observer, "green", RESTART_DEADLINE_SECONDS)
        result["seconds_to_green"] = round(time.monotonic() - launched_at, 3)  # since launch, counted once
    except RuntimeError as error:
        result["seconds_to_green"] = None
        result["green_failed"] = str(error)
        # what the cluster looks like instead, for whoever debugs it
        try:
            result["shards_at_deadline"] = [{k: row.get(k) for k in ("shard", "prirep", "state", "node", "docs")}
                                            for row in cat_shards(observer)]
            health_client = observer.client(timeout_seconds=5.0)
            result["health_at_deadline"] = health_client.json("GET", "/_cluster/health")[1]
            health_client.close()
        except (RuntimeError, OSError) as snapshot_error:
            result["shards_at_deadline"] = f"unavailable: {snapshot_error}"
    return result


def _family_cpu_seconds(root_pid: int) -> dict | None:
    """{"front": s, "workers": s, "total": s}: CPU seconds so far of a node's process family."""
    try:
        sample = harness.sample_family(root_pid)
    except OSError:
        return None
    front = sum(cpu for pid, cpu in sample.cpu_seconds_by_pid.items() if sample.role_by_pid.get(pid) == "front")
    total = sum(sample.cpu_seconds_by_pid.values())
    return {"front": round(front, 2), "workers": round(total - front, 2), "total": round(total, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=4, help="bulk clients")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2,
                        help="shard workers per node (default 2, one per core as the node itself defaults to): "
                             "each node holds two of the six copies, which then sit on different workers and "
                             "are searched in parallel (ADR 0370; sessions 1-6 ran 1)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--log-level", default="WARNING", choices=("DEBUG", "INFO", "WARNING"),
                        help="every node's log level from launch (the restarted node logs at INFO anyway)")
    parser.add_argument("--latency-log", type=Path, default=None,
                        help="write one JSON line per timed search (phase, query number, wall start, latency, "
                             "the coordinator's took) to this file: which requests make the tail, and when")
    parser.add_argument("--compare-local", type=int, default=0, metavar="ROUNDS",
                        help="after the search phases, ROUNDS alternated 1-client passes of the mix through "
                             "node 0: default (the idle coordinator spreads its shards, ADR 0332) vs "
                             "?preference=_local (local copies first): p50/p99 and CPU per search of each")
    parser.add_argument("--no-settle", action="store_true",
                        help="search right after the load's refresh (sessions 1-6) instead of once the index "
                             "has settled (no merge running, segment and merge counts stable)")
    parser.add_argument("--skip-failover", action="store_true",
                        help="stop after the search phase (no failover, no restart): for search iterations")
    parser.add_argument("--skip-search", action="store_true",
                        help="measure bulk, failover and restart only (no search phase, no hello ceiling)")
    arguments = parser.parse_args(argv)

    data = arguments.data.resolve()
    if harness.REPOSITORY in data.parents or data == harness.REPOSITORY:
        parser.error("--data must be outside the repository")
    command = "python bench/cluster.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    run_id = bench_engines.new_run_id()
    workload = bench_engines.Workload.load(str(data / "english.ndjson"), arguments.n, str(data / "queries.json"))
    lines = [line.rstrip(b"\n") for line in workload.lines]
    base_directory = Path(tempfile.mkdtemp(prefix="quidditch-cluster-", dir=str(data)))
    load_start = harness.load_now()
    report: dict = {"uptime_load_start": load_start, "base_directory": str(base_directory)}
    nodes: list[harness.NodeProcess] = []
    try:
        started = time.monotonic()
        nodes = harness.start_cluster(base_directory, 3, arguments.workers, log_level=arguments.log_level)
        report["seconds_to_form"] = round(time.monotonic() - started, 3)
        client = nodes[0].client()
        status, answer = client.json("PUT", "/bench", {
            "settings": {"number_of_shards": 3, "number_of_replicas": 1}, "mappings": harness.BENCH_MAPPING})
        if status != 200:
            raise RuntimeError(f"creating the index answered {status}: {answer}")
        report["seconds_to_green_after_create"] = round(wait_for_health(nodes[0], "green", 60), 3)

        bodies = harness.bulk_bodies(lines, "bench", 1_000)
        ports = [node.http_port for node in nodes]
        client_numbers = iter(range(10_000))
        wall_seconds, item_counts = harness.run_clients(
            arguments.clients, bodies,
            lambda: harness.HttpClient("127.0.0.1", ports[next(client_numbers) % len(ports)]),
            lambda http_client, body: harness.check_bulk_response(
                *http_client.request("POST", "/_bulk", body, "application/x-ndjson")))
        report["bulk"] = {"docs": sum(item_counts), "seconds": round(wall_seconds, 3),
                          "docs_per_s": round(sum(item_counts) / wall_seconds), "clients": arguments.clients}
        status, answer = client.json("POST", "/bench/_refresh")
        status, counted = client.json("GET", "/bench/_count")
        report["bulk"]["count_after_refresh"] = counted.get("count") if isinstance(counted, dict) else counted
        client.close()
        if not arguments.no_settle:
            # the background merges that follow the load: right after the refresh a copy holds 2 to
            # 14 segments (300k, session 7), the copies of one shard differently, and a small
            # segment costs a shard search ~80 us per query whatever its size — so which copies
            # the coordinator holds decided the search phases' CPU. Measure the settled index.
            report["settle"] = harness.wait_for_settled_index(nodes[0], "bench")

        search_bodies = [orjson.dumps(bench_engines.to_opensearch(query)) for query in workload.queries]
        search_requests = [("POST", "/bench/_search", body) for body in search_bodies] * arguments.reps
        if not arguments.skip_search:
            # warm up through EVERY node: the 16-client phase spreads its clients over all three,
            # and each coordinator searches its own copies first. A copy never searched decodes its
            # segments' term dictionaries on its first query (0.5-1 s at 200k, seconds at 1M),
            # which stalled every request in flight at once: the 6.1 s p99 of session 4 was that
            # cold start of the two nodes the 1-client phase never asked (docs/benchmarks.md).
            # The whole mix once through each node, as node_search.py and the in-process bench
            # warm up (one pass): a term's postings blocks and rank index are decoded on its
            # first query, which 200 queries left to the timed pass for 800 of the 1,000.
            report["warm_up_first_search_ms"] = [
                round(node_search.time_requests(port, 1, search_requests[:len(workload.queries)],
                                                node_search.hits_of_search)["latencies"][0], 1)
                for port in ports]
        report["search"] = {}
        for client_count in (() if arguments.skip_search else SEARCH_CLIENT_COUNTS):
            # spread clients over the nodes: a client connects to the node its thread number picks
            spread = iter(range(10_000))
            cpu_before = [_family_cpu_seconds(node.pid) for node in nodes]
            wall, results = harness.run_clients(
                client_count, search_requests,
                lambda: harness.HttpClient("127.0.0.1", ports[next(spread) % len(ports)]),
                lambda http_client, request: _timed_search(http_client, request,
                                                           arguments.latency_log is not None))
            cpu_after = [_family_cpu_seconds(node.pid) for node in nodes]
            latencies = [latency for latency, _, _ in results]
            if arguments.latency_log is not None:
                with open(arguments.latency_log, "ab") as latency_file:
                    for number, (latency, hits, detail) in enumerate(results):
                        latency_file.write(orjson.dumps({"clients": client_count, "request": number,
                                                         "query": number % len(workload.queries),
                                                         "latency_ms": round(latency, 3), **detail}) + b"\n")
            report["search"][str(client_count)] = {
                "qps": round(len(search_requests) / wall, 1),
                "p50_ms": round(harness.percentile(latencies, 50), 3),
                "p99_ms": round(harness.percentile(latencies, 99), 3),
                "max_ms": round(max(latencies), 3),
                "queries_with_hits": sum(1 for _, hits, _ in results[:len(workload.queries)] if hits),
                # CPU ms per search of each node's front and workers (steadier than wall time)
                "cpu_ms_per_search": [_cpu_per_search(before, after, len(search_requests))
                                      for before, after in zip(cpu_before, cpu_after)]}

        # where the copies are: whether an idle coordinator can spread its shards depends on it
        report["placement"] = sorted(f"{row['shard']}{row['prirep']}:{row['node']}" for row in cat_shards(nodes[0]))
        if arguments.compare_local and not arguments.skip_search:
            report["compare_local"] = compare_local(nodes, search_requests[:len(workload.queries)],
                                                    arguments.compare_local)
        if not arguments.skip_failover:
            failover = measure_failover(nodes)
            report["failover"] = failover
            report["restart"] = measure_restart(nodes, failover["victim"], failover.get("copies_before", 1))
    except Exception as error:  # noqa: BLE001 — a benchmark reports how far it got
        report["failed"] = f"{type(error).__name__}: {error}"
        report["traceback"] = traceback.format_exc()[-2000:]
    finally:
        for node in nodes:
            node.stop()
    hello = {} if arguments.skip_search else _measure_hello(len(workload.queries) * arguments.reps)
    report["hello"] = {str(count): {"qps": result["qps"], "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"]}
                       for count, result in hello.items()}
    report["uptime_load_end"] = harness.load_now()
    if not arguments.keep and "failed" not in report:
        shutil.rmtree(base_directory, ignore_errors=True)

    row = harness.result_row(
        workload.ndjson_bytes, arguments.n, engine="quidditch-cluster", label="quidditch-3node-3x1",
        run_id=run_id, command=command, threads=arguments.clients, corpus_sha256=workload.corpus_sha256,
        queries_sha256=workload.queries_sha256, docs=report.get("bulk", {}).get("docs"),
        docs_per_s=report.get("bulk", {}).get("docs_per_s"),
        qps=report.get("search", {}).get("16", {}).get("qps"),
        p50_ms=report.get("search", {}).get("16", {}).get("p50_ms"),
        p99_ms=report.get("search", {}).get("16", {}).get("p99_ms"),
        loadavg_end=bench_engines.loadavg(), cluster=report)
    bench_engines.append_row(str(data / "results" / f"quidditch-cluster-{arguments.n}.ndjson"), row)
    print(f"$ {command}")
    print(orjson.dumps({k: v for k, v in report.items() if k != "traceback"},
                       option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())
    if "traceback" in report:
        print(report["traceback"], file=sys.stderr)
    for name, pooled in report.get("compare_local", {}).get("pooled", {}).items():
        print(f"compare-local {name}: p50 {pooled['p50_ms']} ms, p99 {pooled['p99_ms']} ms, "
              f"cluster CPU {pooled['cluster_cpu_ms_per_search']} ms per search")
    for count in SEARCH_CLIENT_COUNTS:
        measured = report.get("search", {}).get(str(count))
        if measured:
            print(f"search {count} clients: QPS {measured['qps']} = {measured['qps'] / hello[count]['qps']:.3f}x "
                  f"hello ({hello[count]['qps']}), p50 {measured['p50_ms']} ms, p99 {measured['p99_ms']} ms, "
                  f"max {measured.get('max_ms')} ms; CPU ms per search by node (front/workers) "
                  f"{[(cpu or {}).get('front') for cpu in measured.get('cpu_ms_per_search', [])]} / "
                  f"{[(cpu or {}).get('workers') for cpu in measured.get('cpu_ms_per_search', [])]}")
    return 1 if "failed" in report else 0


def compare_local(nodes: list[harness.NodeProcess], requests: list, rounds: int) -> dict:
    """Alternated 1-client passes through node 0, default path vs ?preference=_local: the same
    minutes for both, so the machine's load falls on both alike (docs/benchmarks.md, session 6)."""
    variants = {"spread": "", "local": "?preference=_local"}
    latencies: dict[str, list[float]] = {name: [] for name in variants}
    cpu_ms: dict[str, list[float]] = {name: [] for name in variants}
    per_round = []
    for round_number in range(rounds):
        for name, suffix in variants.items():
            timed = [(method, path + suffix, body) for method, path, body in requests]
            cpu_before = [_family_cpu_seconds(node.pid) for node in nodes]
            _, results = harness.run_clients(1, timed, lambda: nodes[0].client(),
                                             lambda http_client, request: _timed_search(http_client, request))
            cpu_after = [_family_cpu_seconds(node.pid) for node in nodes]
            round_latencies = [latency for latency, _, _ in results]
            latencies[name] += round_latencies
            total_cpu_ms = sum((after["total"] - before["total"]) for before, after in zip(cpu_before, cpu_after)
                               if before and after) * 1000 / len(timed)
            cpu_ms[name].append(total_cpu_ms)
            per_round.append({"round": round_number, "variant": name,
                              "p50_ms": round(harness.percentile(round_latencies, 50), 3),
                              "p99_ms": round(harness.percentile(round_latencies, 99), 3),
                              "cluster_cpu_ms_per_search": round(total_cpu_ms, 3), "load": harness.load_now()})
    return {"rounds": per_round, "pooled": {
        name: {"p50_ms": round(harness.percentile(latencies[name], 50), 3),
               "p99_ms": round(harness.percentile(latencies[name], 99), 3),
               "cluster_cpu_ms_per_search": round(sum(cpu_ms[name]) / len(cpu_ms[name]), 3)}
        for name in variants}}


def _measure_hello(request_count: int) -> dict[int, dict]:
    """node_search.measure_hello at SEARCH_CLIENT_COUNTS (newer node_search takes the counts)."""
    if len(inspect.signature(node_search.measure_hello).parameters) >= 2:
        return node_search.measure_hello(request_count, SEARCH_CLIENT_COUNTS)
    return node_search.measure_hello(request_count)


def _cpu_per_search(before: dict | None, after: dict | None, searches: int) -> dict | None:
    if before is None or after is None or searches <= 0:
        return None
    return {role: round((after[role] - before[role]) * 1000 / searches, 3) for role in ("front", "workers")}


def _timed_search(http_client: harness.HttpClient, request, with_detail: bool = False) -> tuple[float, int, dict]:
    """(latency ms, hits, detail); detail (only when asked: it costs a parse) holds the wall start
    (epoch seconds, to line requests up with the nodes' own records) and the coordinator's took."""
    method, path, body = request
    wall_start = time.time() if with_detail else 0.0
    started = time.perf_counter_ns()
    status, answer = http_client.request(method, path, body)
    elapsed_ms = (time.perf_counter_ns() - started) / 1e6
    hits = node_search.hits_of_search(status, answer)
    detail = {}
    if with_detail:
        detail = {"wall_start": round(wall_start, 6), "took_ms": orjson.loads(answer).get("took"),
                  "port": http_client.port}
    return elapsed_ms, hits, detail


if __name__ == "__main__":
    raise SystemExit(main())
