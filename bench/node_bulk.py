"""bench/node_bulk.py — load the corpus into a real node through `_bulk` over HTTP.

Starts one ``python -m node`` (data under DATA_DIR, HTTP on a free port), creates the index
``bench`` (the corpus mapping, --shards primaries, no replicas), and sends the first N documents
of ../shared/bench's english.ndjson as `_bulk` requests of --docs-per-request documents from
--clients concurrent keep-alive connections. Durability is the default ``request``: every bulk
request is fsynced before it is acknowledged. Reports docs/s (wall clock, first request sent to
last acknowledged; a refresh and a count check follow untimed), the CPU seconds, share of a
core and CPU µs per document of the front process and of each shard worker over the load, the client's own CPU, and the
node family's RSS. Optionally the peers (../shared/bench/peers.sh) run first with the same run id.

    python bench/node_bulk.py --data DATA_DIR --n 100000 [--clients 4] [--docs-per-request 1000]
                              [--shards 2] [--workers W] [--refresh-interval -1]
                              [--peers none|tantivy,lucene,sqlite] [--keep]

Rows (../shared/bench's fields, `null` where not measured, plus `http_bulk`) are appended to
DATA_DIR/results/quidditch-node-bulk-N.ndjson. Must never run inside the repository's folder.
"""

from __future__ import annotations

import argparse
import resource
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402  (bench/, by path: bench is not a package)
from harness import bench_engines  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path, help="the ../shared/bench DATA_DIR")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--docs-per-request", type=int, default=1_000)
    parser.add_argument("--shards", type=int, default=2, help="primaries of the bench index")
    parser.add_argument("--workers", type=int, default=None, help="node --workers (default: the node's)")
    parser.add_argument("--refresh-interval", default=None,
                        help="index.refresh_interval of the bench index, e.g. -1 (default: not set, so the "
                             "node's 1s with search idle after 30s, as OpenSearch)")
    parser.add_argument("--peers", default="none", help="peer engines to run first, or 'none'")
    parser.add_argument("--keep", action="store_true", help="keep the node's data directory")
    arguments = parser.parse_args(argv)

    data = arguments.data.resolve()
    if harness.REPOSITORY in data.parents or data == harness.REPOSITORY:
        parser.error("--data must be outside the repository")
    command = "python bench/node_bulk.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    run_id = bench_engines.new_run_id()
    peer_rows = []
    if arguments.peers != "none":
        peer_rows = bench_engines.run_peers(str(data), arguments.n, arguments.peers, run_id=run_id,
                                            env={"BENCH_COMMAND": command})

    lines = harness.read_corpus_lines(data, arguments.n)
    ndjson_bytes = sum(len(line) + 1 for line in lines)
    bodies = harness.bulk_bodies(lines, "bench", arguments.docs_per_request)
    base_directory = Path(tempfile.mkdtemp(prefix="quidditch-node-bulk-", dir=str(data)))
    load_start = harness.load_now()
    node = harness.start_single_node(base_directory, arguments.workers)
    try:
        client = node.client()
        index_settings: dict = {"number_of_shards": arguments.shards, "number_of_replicas": 0}
        if arguments.refresh_interval is not None:
            index_settings["refresh_interval"] = arguments.refresh_interval
        status, answer = client.json("PUT", "/bench", {
            "settings": index_settings,
            "mappings": harness.BENCH_MAPPING,
        })
        if status != 200:
            raise RuntimeError(f"creating the index answered {status}: {answer}")
        before = harness.sample_family(node.pid)
        client_cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        wall_seconds, item_counts = harness.run_clients(
            arguments.clients, bodies, node.client,
            lambda http_client, body: harness.check_bulk_response(
                *http_client.request("POST", "/_bulk", body, "application/x-ndjson")))
        after = harness.sample_family(node.pid)
        client_cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu_seconds = (client_cpu_after.ru_utime + client_cpu_after.ru_stime
                              - client_cpu_before.ru_utime - client_cpu_before.ru_stime)
        usage = harness.family_usage(before, after, wall_seconds)
        load_end = harness.load_now()

        refresh_start = time.perf_counter()
        status, answer = client.json("POST", "/bench/_refresh")
        refresh_seconds = time.perf_counter() - refresh_start
        # the CPU until every document is searchable: a node that builds its segments during the
        # load (flushes, full buffers) and one that leaves them all to this refresh do the same work
        after_refresh = harness.sample_family(node.pid)
        cpu_through_refresh = harness.family_usage(before, after_refresh, wall_seconds + refresh_seconds)["total_cpu_s"]
        # how the shards built their segments during the load and the refresh (ADR 0315)
        status, stats_answer = client.json("GET", "/bench/_stats/refresh,flush,merge,segments")
        segment_work = {}
        if status == 200:
            primaries = stats_answer["_all"]["primaries"]
            segment_work = {"refreshes": primaries["refresh"]["total"], "flushes": primaries["flush"]["total"],
                            "merges": primaries["merges"]["total"], "merged_docs": primaries["merges"]["total_docs"],
                            "merge_s": round(primaries["merges"]["total_time_in_millis"] / 1000, 2),
                            "segments": primaries["segments"]["count"]}
        status, counted = client.json("GET", "/bench/_count")
        document_count = counted.get("count") if isinstance(counted, dict) else None
        if document_count != len(lines):
            print(f"WARNING: _count says {document_count}, expected {len(lines)}", file=sys.stderr)
        client.close()
        index_bytes = bench_engines.du(str(node.data_directory))
    finally:
        node.stop()
        if not arguments.keep:
            shutil.rmtree(base_directory, ignore_errors=True)

    documents = sum(item_counts)
    docs_per_second = documents / wall_seconds
    row = harness.result_row(
        ndjson_bytes, arguments.n, engine="quidditch-node", label=f"quidditch-http-bulk-{arguments.clients}c",
        run_id=run_id, command=command, threads=arguments.clients,
        corpus_sha256=harness.corpus_sha256(lines),
        docs=documents, index_s=round(wall_seconds, 3), index_cpu_s=usage["total_cpu_s"],
        docs_per_s=round(docs_per_second), mb_per_s=round(ndjson_bytes / 1e6 / wall_seconds, 2),
        index_bytes=index_bytes, index_vs_ndjson=round(index_bytes / ndjson_bytes, 3),
        maxrss_mb=usage["total_rss_mb"], loadavg_end=bench_engines.loadavg(),
        http_bulk={
            "clients": arguments.clients, "docs_per_request": arguments.docs_per_request,
            "requests": len(bodies), "shards": arguments.shards, "workers": arguments.workers,
            "refresh_interval": arguments.refresh_interval,
            "count_after_refresh": document_count, "refresh_s": round(refresh_seconds, 3),
            "node_cpu_s_through_refresh": cpu_through_refresh,
            "client_cpu_s": round(client_cpu_seconds, 2), "node": usage, "segment_work": segment_work,
            "uptime_load_start": load_start, "uptime_load_end": load_end,
            "note": "index_bytes = the node's whole data directory (shards, translog, raft state, logs)",
        },
    )
    bench_engines.append_row(str(data / "results" / f"quidditch-node-bulk-{arguments.n}.ndjson"), row)
    print(f"$ {command}")
    print(f"load (1/5/15 min) at start {load_start}, at end {load_end}")
    print(f"{documents:,} docs in {wall_seconds:.2f} s = {docs_per_second:,.0f} docs/s over HTTP "
          f"({arguments.clients} clients x {arguments.docs_per_request} docs/request, fsync per request); "
          f"_count after refresh {document_count}")
    print(f"refresh after the load (untimed above): {refresh_seconds:.2f} s; node CPU through it "
          f"(load + refresh: all documents searchable) {cpu_through_refresh:.1f} s "
          f"= {cpu_through_refresh * 1e6 / max(1, documents):.1f} µs/doc")
    print("segment work through the refresh (primaries): " + (
        ", ".join(f"{name} {value}" for name, value in segment_work.items()) or "not available"))
    print(f"node CPU {usage['total_cpu_s']:.1f} s ({usage['total_cpu_s'] / wall_seconds:.2f} cores), "
          f"client CPU {client_cpu_seconds:.1f} s, node RSS {usage['total_rss_mb']:.0f} MB, "
          f"data dir {index_bytes / 1e6:.1f} MB ({index_bytes / ndjson_bytes:.2f}x NDJSON)")
    for process in usage["processes"]:
        print(f"  pid {process['pid']:>7} {process['role']:<7} cpu {process['cpu_s']:>7.2f} s "
              f"= {process['core_share']:.2f} of a core = {process['cpu_s'] * 1e6 / max(1, documents):.1f} µs/doc, "
              f"rss {process['rss_mb']:.0f} MB")
    if peer_rows:
        print(bench_engines.format_table(peer_rows + [row], ref="tantivy-1t"))
    print(orjson.dumps({k: row[k] for k in ("run_id", "docs_per_s", "index_cpu_s", "maxrss_mb")}).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
