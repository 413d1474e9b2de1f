"""bench/engine.py — one shard of index/ beside tantivy, Lucene and SQLite FTS5, in one run.

Indexes the first N documents of ../shared/bench's english.ndjson through the shard's
write-ahead log (one fsync per batch: durability "request"), refreshes and flushes to a durable
commit, then times the 1,000-query mix in-process (no HTTP), with the same measure() procedure
and result-row format as the peers. The peers run first, through ../shared/bench/peers.sh, with
the same run id, so the table printed at the end holds only ratios measured in this run.

    python bench/engine.py --data DATA_DIR --n 100000 [--peers tantivy,lucene,sqlite | --peers none]
                           [--batch 5000] [--reps 3] [--keep] [--flush-every-operations N]
                           [--segment-builds forked|in-process] [--inline-maintenance]

Maintenance runs on its own thread, as node/workers' "shard-maintenance" thread does, so the
segment builds it starts overlap the writes; by default those builds run in a forked child on the
second core (index/segment/forked_build.py, ADR 0310) and the children's CPU seconds are added to
the row's index_cpu_s (process_time sees only this process).

Commits: like the peers (one commit at the end; Lucene's and tantivy's writers buffer 256 MB), the
shard flushes only when OpenSearch would — its log past index.translog.flush_threshold_size — plus
the final flush. node/'s shards also flush every ShardSettings.flush_threshold_operations (10,000)
operations to bound a restart's replay (ADR 0290): with refresh off that writes a 10k-document
segment every two batches for the merges to rewrite (measured at 300k documents: 23.2 against 14.8
index CPU-s). ``--flush-every-operations 10000`` measures that configuration.

DATA_DIR is the ../shared/bench corpus folder (make_corpus.sh DATA_DIR), outside the repository.
Rows are appended to DATA_DIR/results/quidditch-engine-N.ndjson.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import threading
from pathlib import Path

os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
REPOSITORY = Path(__file__).resolve().parent.parent
SHARED_BENCH = REPOSITORY.parent / "shared" / "bench"
sys.path.insert(0, str(SHARED_BENCH))
sys.path.insert(0, str(REPOSITORY))

import bench_engines  # noqa: E402  (shared/bench, by path)

from index.analysis import AnalysisRegistry  # noqa: E402
from index.mapping import Mapping  # noqa: E402
from index.operations import IndexOperation, frozen_dataclass_builder  # noqa: E402
from index.query import FilterCache, SearchContext, parse_search_request, search_shard  # noqa: E402
from index.segment import forked_build  # noqa: E402
from index.shard import Shard, ShardSettings  # noqa: E402

BENCH_MAPPING = {
    "properties": {
        "id": {"type": "long"},
        "src": {"type": "keyword"},
        "title": {"type": "text"},
        "body": {"type": "text"},
        "n_words": {"type": "integer"},
        "n_chars": {"type": "integer"},
    }
}


# IndexOperation without the frozen __init__'s per-field setattr: only for a batch the columnar
# path declines (ADR 0205; the bench corpus never has one)
_build_index_operation = frozen_dataclass_builder(IndexOperation)


class _MaintenanceThread:
    """node/workers' maintenance thread for the bench's one shard: ``scheduled_maintenance`` runs
    once after every ``wake`` (a batch written), on its own thread, never two at a time; a batch
    written while one runs wakes it once more when it ends. ``stop`` waits for the last run and
    re-raises its error, so a failed segment build fails the bench instead of vanishing."""

    def __init__(self, shard: Shard) -> None:
        self.shard = shard
        self.condition = threading.Condition()
        self.pending = False
        self.stopping = False
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="bench-shard-maintenance", daemon=True)
        self.thread.start()

    def wake(self) -> None:
        with self.condition:
            if self.error is not None:
                raise RuntimeError("scheduled maintenance failed") from self.error
            self.pending = True
            self.condition.notify()

    def stop(self) -> None:
        with self.condition:
            self.stopping = True
            self.condition.notify()
        self.thread.join()
        if self.error is not None:
            raise RuntimeError("scheduled maintenance failed") from self.error

    def _run(self) -> None:
        while True:
            with self.condition:
                while not self.pending and not self.stopping:
                    self.condition.wait()
                if not self.pending:
                    return
                self.pending = False
            try:
                self.shard.scheduled_maintenance()
            except BaseException as error:  # noqa: BLE001 — handed to the writing thread by wake/stop
                with self.condition:
                    self.error = error
                return


class QuidditchShard:
    """The bench_engines adapter protocol over one in-process index.Shard."""

    engine = "quidditch-shard"
    version = "0.1.0"
    threads = 1
    exact_count = False

    def __init__(self, index_dir: Path, batch_size: int, flush_every_operations: int | None = None,
                 background_maintenance: bool = True) -> None:
        self.index_dir = str(index_dir)
        self.background_maintenance = background_maintenance
        self.batch_size = batch_size
        self.flush_every_operations = flush_every_operations
        self.shard: Shard | None = None
        self.searcher = None
        self.segments = None
        self.doc_count = None
        self.forked_build_cpu_seconds = 0.0     # CPU of forked segment builds (ADR 0310), not in process_time

    def _open_shard(self) -> Shard:
        return Shard.open(
            Path(self.index_dir),
            # no operation-count flush unless asked (module docstring): commits as the peers make them
            ShardSettings(refresh_interval_seconds=None, flush_threshold_operations=self.flush_every_operations),
            Mapping.from_json(BENCH_MAPPING),
            AnalysisRegistry.from_index_settings({}),
        )

    def index(self, lines: list[bytes]) -> int:
        forked_cpu_before = forked_build.statistics().children_cpu_seconds
        shard = self._open_shard()
        maintenance = _MaintenanceThread(shard) if self.background_maintenance else None
        try:
            for start in range(0, len(lines), self.batch_size):
                batch = lines[start:start + self.batch_size]
                sources = [line.rstrip(b"\n") for line in batch]
                document_ids = list(map(str, range(start, start + len(batch))))
                # the columnar write a node's _bulk makes on its worker (ADR 0265,
                # node/workers/shard_service.py _write_columns): ids and sources as columns, no
                # operation or result object per document, answered as columns
                outcome = shard.apply_index_batch_as_primary(document_ids, sources, None, primary_term=1)
                if outcome is None:   # the shard declined the batch (nothing applied): the general path
                    build = _build_index_operation
                    # IndexOperation(document_id, source, op_type) with every other field at its default
                    shard.apply_as_primary([build(document_id, source, "index", None, None, None, None, "internal")
                                            for document_id, source in zip(document_ids, sources)], primary_term=1)
                # what node/'s timer does between writes: with refresh off, this is what writes an
                # unpublished segment once the buffer passes indexing_buffer_bytes (without it 1M docs
                # stayed in the buffer: 6.7 GB RSS), flushes when the log is big, and merges. On
                # node/'s own thread ("shard-maintenance", node/workers/shard_service.py), so a
                # segment build runs beside the writes as it does in a node; --inline-maintenance:
                # on the writing thread, between batches (the session-4 bench)
                if maintenance is not None:
                    maintenance.wake()
                else:
                    shard.scheduled_maintenance()
        finally:
            if maintenance is not None:
                maintenance.stop()
        shard.refresh()
        shard.flush()
        self.shard = shard
        self.forked_build_cpu_seconds = forked_build.statistics().children_cpu_seconds - forked_cpu_before
        return shard.statistics().doc_count

    def open(self) -> None:
        if self.shard is None:
            self.shard = self._open_shard()
        self.searcher = self.shard.acquire_searcher()
        statistics = self.shard.statistics()
        self.segments = statistics.segment_count
        self.doc_count = statistics.doc_count
        # a filter cache per shard, as node/workers/search_service.py gives every shard it hosts
        # (without it every range_term query rescans the n_words doc values)
        self.context = SearchContext(index_name="bench", filter_cache=FilterCache())

    def build(self, query: dict):
        return parse_search_request(bench_engines.to_opensearch(query))

    def search(self, request):
        return search_shard(self.searcher, request, self.context).hits

    def close(self) -> None:
        if self.shard is not None:
            self.shard.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path, help="the ../shared/bench DATA_DIR")
    parser.add_argument("--n", type=int, default=100_000, help="index the first N documents")
    parser.add_argument("--peers", default="tantivy,lucene,sqlite", help="peer engines, or 'none'")
    parser.add_argument("--batch", type=int, default=5_000, help="documents per apply call (one fsync each)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the shard directory")
    parser.add_argument("--flush-every-operations", type=int, default=None,
                        help="also flush every N operations, as node/'s shards do (ADR 0290); default: "
                             "only when the log passes flush_threshold_size, as OpenSearch")
    parser.add_argument("--segment-builds", choices=("forked", "in-process"), default="forked",
                        help="forked (default): segments of 20,000+ documents are built by a forked child "
                             "on the second core while writes go on (ADR 0310); in-process: on the "
                             "maintenance thread itself")
    parser.add_argument("--inline-maintenance", action="store_true",
                        help="run the shard's scheduled maintenance on the writing thread between batches "
                             "(the session-4 bench) instead of on its own thread as node/ does")
    arguments = parser.parse_args(argv)

    data = arguments.data.resolve()
    if REPOSITORY in data.parents or data == REPOSITORY:
        parser.error("--data must be outside the repository")
    command = "python bench/engine.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    run_id = bench_engines.new_run_id()
    rows = []
    if arguments.peers != "none":
        rows = bench_engines.run_peers(
            str(data), arguments.n, arguments.peers, run_id=run_id,
            env={"BENCH_COMMAND": command},
        )
    workload = bench_engines.Workload.load(
        str(data / "english.ndjson"), arguments.n, str(data / "queries.json"))
    forked_build.use_forked_segment_builds(arguments.segment_builds == "forked")
    index_dir = Path(tempfile.mkdtemp(prefix="quidditch-engine-", dir=str(data)))
    adapter = QuidditchShard(index_dir, arguments.batch, arguments.flush_every_operations,
                             background_maintenance=not arguments.inline_maintenance)
    try:
        row = bench_engines.measure(adapter, workload, run_id=run_id, reps=arguments.reps, warmup=1,
                                    command=command)
        # the forked builds' CPU belongs to indexing: measure() sees only this process's
        if adapter.forked_build_cpu_seconds:
            row["index_cpu_s"] = round(row["index_cpu_s"] + adapter.forked_build_cpu_seconds, 2)
        print(f"index CPU-s {row['index_cpu_s']} (of which forked segment builds "
              f"{adapter.forked_build_cpu_seconds:.2f}), wall {row['index_s']} s", file=sys.stderr)
    finally:
        adapter.close()
        if not arguments.keep:
            shutil.rmtree(index_dir, ignore_errors=True)
    bench_engines.append_row(str(data / "results" / f"quidditch-engine-{arguments.n}.ndjson"), row)
    rows.append(row)
    print(f"$ {command}")
    print(bench_engines.format_table(rows, ref="lucene-1t" if len(rows) > 1 else None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
