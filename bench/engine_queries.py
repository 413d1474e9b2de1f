"""bench/engine_queries.py — the query half of bench/engine.py, per query, on a shard kept on disk.

Builds (once, with bench/engine.py's adapter) or reopens a shard directory holding the first N
documents, runs the 1,000-query mix in-process `--reps` times after one warm-up pass, and prints
what the p99 is made of: p50/p99 of wall time and of the thread's CPU time per query (CPU is the
steadier figure on a shared machine), the p99 of each query's best repetition, per-type figures
and the slowest queries by their best repetition. `--save FILE` writes every query's hits and
totals; `--compare FILE` checks them against a saved run (the "identical hits/scores/order"
check of an optimisation, exit status 1 on any difference).

    python bench/engine_queries.py --data DATA_DIR --n 1000000 --index-dir /tmp/me-1m [--reps 3]
                                   [--slowest 25] [--save hits.json] [--compare hits.json]

Run it twice with PYTHONPATH pointing at two clones (before/after) to compare code on one index.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import engine  # noqa: E402  (bench/engine.py: the adapter that builds and opens the shard)
from engine import bench_engines  # noqa: E402
from index.query import search_shard  # noqa: E402


def percentile(values: list[float], percent: float) -> float:
    return bench_engines.percentile(values, percent)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path, help="the ../shared/bench DATA_DIR")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--index-dir", required=True, type=Path, help="shard directory, built when empty")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--slowest", type=int, default=25)
    parser.add_argument("--save", type=Path, help="write every query's hits and totals here")
    parser.add_argument("--compare", type=Path, help="check hits and totals against a --save file")
    arguments = parser.parse_args(argv)

    queries = bench_engines.load_queries(str(arguments.data / "queries.json"))
    adapter = engine.QuidditchShard(arguments.index_dir, 5_000)
    if not (arguments.index_dir / "commit.qcp").exists():
        arguments.index_dir.mkdir(parents=True, exist_ok=True)
        workload = bench_engines.Workload.load(str(arguments.data / "english.ndjson"), arguments.n,
                                               str(arguments.data / "queries.json"))
        started = time.perf_counter()
        adapter.index(workload.lines)
        print(f"built {arguments.index_dir} in {time.perf_counter() - started:.1f} s", flush=True)
    adapter.open()
    built = [adapter.build(query) for query in queries]
    results = [search_shard(adapter.searcher, request, adapter.context) for request in built]   # warm-up
    wall = [[] for _ in queries]
    cpu = [[] for _ in queries]
    for _ in range(arguments.reps):
        for number, request in enumerate(built):
            wall_started, cpu_started = time.perf_counter_ns(), time.thread_time_ns()
            search_shard(adapter.searcher, request, adapter.context)
            cpu[number].append((time.thread_time_ns() - cpu_started) / 1e6)
            wall[number].append((time.perf_counter_ns() - wall_started) / 1e6)
    adapter.close()

    all_wall = [ms for samples in wall for ms in samples]
    all_cpu = [ms for samples in cpu for ms in samples]
    best_cpu = [min(samples) for samples in cpu]
    print(f"{len(queries)} queries x {arguments.reps} reps, {adapter.segments} segments, {adapter.doc_count} docs, "
          f"load {bench_engines.loadavg()}")
    print(f"wall ms  p50 {percentile(all_wall, 50):.3f}  p99 {percentile(all_wall, 99):.3f}")
    print(f"cpu ms   p50 {percentile(all_cpu, 50):.3f}  p99 {percentile(all_cpu, 99):.3f}  "
          f"best-rep p99 {percentile(best_cpu, 99):.3f}  mean {statistics.fmean(all_cpu):.3f}")
    by_type: dict[str, list[float]] = {}
    for query, samples in zip(queries, cpu):
        by_type.setdefault(query["type"], []).extend(samples)
    for kind, samples in sorted(by_type.items()):
        print(f"  {kind:<11} cpu ms p50 {percentile(samples, 50):.3f}  p99 {percentile(samples, 99):.3f}  "
              f"mean {statistics.fmean(samples):.3f}")
    print(f"slowest {arguments.slowest} by best-repetition CPU:")
    for number in sorted(range(len(queries)), key=lambda index: -best_cpu[index])[:arguments.slowest]:
        print(f"  {best_cpu[number]:7.3f} ms  #{number} {queries[number]['type']} {queries[number]['terms']}")

    answers = [{"hits": [[hit.document_id, hit.score] for hit in result.hits],
                "max_score": result.max_score, "total": [result.total_hits, result.total_relation]}
               for result in results]
    if arguments.save is not None:
        arguments.save.write_bytes(orjson.dumps(answers))
    if arguments.compare is not None:
        expected = orjson.loads(arguments.compare.read_bytes())
        differing = [number for number, (got, want) in enumerate(zip(answers, expected))
                     if got["hits"] != want["hits"] or got["max_score"] != want["max_score"]]
        totals = sum(1 for got, want in zip(answers, expected) if got["total"] != want["total"])
        print(f"compared with {arguments.compare}: {len(differing)} queries with other hits/scores/order "
              f"{differing[:10]}, {totals} with another total (a pruned total is a 'gte' lower bound)")
        if differing or len(expected) != len(answers):
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
