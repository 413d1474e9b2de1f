"""DESIGN §10 on one shard: a primary write returns (so the worker answers, so the front
acknowledges) only after an fsync that covers its log record has COMPLETED — and the fsync of one
write does not stop the next write from being applied meanwhile (group commit: the fsync runs
outside the writer lock and releases the GIL).

The log's fsync is replaced by a controllable one that blocks until the test releases it and
records, when it completes, how far the log was written when it started (what a real fsync makes
durable). A write that returned while no completed fsync covered its record would be an
acknowledgement that overtook its fsync: these tests fail on it."""

from __future__ import annotations

import threading

import orjson

from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.operations import IndexOperation
from index.shard import Shard, ShardSettings
from index.translog.translog import Translog

MAPPING = {"properties": {"title": {"type": "text"}, "n": {"type": "integer"}}}
GUARD_SECONDS = 30.0     # only a deadlock guard: no assertion depends on how long anything takes


def open_shard(path):
    return Shard.open(path, ShardSettings(refresh_interval_seconds=None), Mapping.from_json(MAPPING),
                      AnalysisRegistry.from_index_settings({}))


def batch(prefix, count=50):
    return [IndexOperation(f"{prefix}{number}", orjson.dumps({"title": f"words {prefix} {number}", "n": number}))
            for number in range(count)]


class ControlledFsync:
    """Stands in for Translog._fsync: each call waits for its own release; on completion it notes
    the log position written before it started (all a real fsync is guaranteed to cover)."""

    def __init__(self, real_fsync):
        self.real_fsync = real_fsync
        self.lock = threading.Lock()
        self.started = threading.Semaphore(0)
        self.releases = threading.Semaphore(0)
        self.completed_coverage = []

    def __call__(self, translog, descriptor, path):
        covered = translog._written
        self.started.release()
        assert self.releases.acquire(timeout=GUARD_SECONDS), "the test never released this fsync"
        self.real_fsync(translog, descriptor, path)
        with self.lock:
            self.completed_coverage.append(covered)

    def durable_up_to(self):
        with self.lock:
            return max(self.completed_coverage, default=None)


class RecordingWriter(threading.Thread):
    """Runs one apply_as_primary; notes its record's location once applied in memory, and what
    the completed fsyncs covered at the moment it returned."""

    def __init__(self, shard, operations, fsync, writers_by_thread):
        super().__init__(daemon=True)
        self.shard, self.operations, self.fsync = shard, operations, fsync
        self.writers_by_thread = writers_by_thread
        self.applied_in_memory = threading.Event()
        self.may_wait_for_durability = threading.Event()
        self.may_wait_for_durability.set()
        self.returned = threading.Event()
        self.location = None
        self.durable_at_return = None
        self.error = None

    def run(self):
        self.writers_by_thread[threading.get_ident()] = self
        try:
            self.shard.apply_as_primary(self.operations, 1)
            self.durable_at_return = self.fsync.durable_up_to()
        except BaseException as error:  # noqa: BLE001 — reported by the test
            self.error = error
        finally:
            self.returned.set()


def install(monkeypatch, shard):
    fsync = ControlledFsync(Translog._fsync)
    monkeypatch.setattr(Translog, "_fsync", lambda translog, descriptor, path: fsync(translog, descriptor, path))
    writers_by_thread = {}
    in_memory = shard._apply_as_primary_in_memory

    def noting_location(operations, primary_term):
        results, location = in_memory(operations, primary_term)
        writer = writers_by_thread[threading.get_ident()]
        writer.location = location
        writer.applied_in_memory.set()
        assert writer.may_wait_for_durability.wait(GUARD_SECONDS)
        return results, location

    monkeypatch.setattr(shard, "_apply_as_primary_in_memory", noting_location)

    def start(operations, hold_before_durability=False):
        writer = RecordingWriter(shard, operations, fsync, writers_by_thread)
        if hold_before_durability:
            writer.may_wait_for_durability.clear()
        writer.start()
        return writer

    return fsync, start


def test_a_write_returns_only_after_an_fsync_covering_its_record_completed(tmp_path, monkeypatch):
    shard = open_shard(tmp_path)
    fsync, start = install(monkeypatch, shard)
    first = start(batch("a"))
    assert fsync.started.acquire(timeout=GUARD_SECONDS)
    # the first write is applied and its fsync is running (held): it must not have returned
    assert first.applied_in_memory.is_set() and not first.returned.is_set()
    fsync.releases.release()
    assert first.returned.wait(GUARD_SECONDS) and first.error is None
    assert first.durable_at_return is not None and first.durable_at_return >= first.location
    shard.close()


def test_the_next_write_is_applied_while_the_previous_fsync_runs_and_waits_for_its_own(tmp_path, monkeypatch):
    shard = open_shard(tmp_path)
    fsync, start = install(monkeypatch, shard)
    first = start(batch("a"))
    assert fsync.started.acquire(timeout=GUARD_SECONDS)          # the first fsync is in flight, held
    second = start(batch("b"))
    # indexing overlaps the fsync: the second batch gets its seq_nos and reaches memory meanwhile
    assert second.applied_in_memory.wait(GUARD_SECONDS)
    assert shard.max_seq_no == 99 and second.location > first.location
    assert not first.returned.is_set() and not second.returned.is_set()
    fsync.releases.release()                                     # the first fsync completes
    assert first.returned.wait(GUARD_SECONDS) and first.error is None
    # it started before the second record was written, so it cannot acknowledge the second write
    assert first.durable_at_return >= first.location
    assert not second.returned.is_set()
    assert fsync.started.acquire(timeout=GUARD_SECONDS)          # the second write's own fsync
    assert not second.returned.is_set()
    fsync.releases.release()
    assert second.returned.wait(GUARD_SECONDS) and second.error is None
    assert second.durable_at_return >= second.location
    assert len(fsync.completed_coverage) == 2
    shard.close()


def test_writes_waiting_behind_one_fsync_are_all_covered_by_the_next_one(tmp_path, monkeypatch):
    shard = open_shard(tmp_path)
    fsync, start = install(monkeypatch, shard)
    first = start(batch("a"))
    assert fsync.started.acquire(timeout=GUARD_SECONDS)
    waiting = [start(batch(prefix)) for prefix in ("b", "c", "d")]
    for writer in waiting:
        assert writer.applied_in_memory.wait(GUARD_SECONDS)
    fsync.releases.release()
    assert first.returned.wait(GUARD_SECONDS)
    assert fsync.started.acquire(timeout=GUARD_SECONDS)          # ONE more fsync for the three
    fsync.releases.release()
    for writer in waiting:
        assert writer.returned.wait(GUARD_SECONDS) and writer.error is None
        assert writer.durable_at_return >= writer.location
    assert len(fsync.completed_coverage) == 2
    assert shard.get("d49").version == 1
    shard.close()


def test_a_write_logged_before_an_fsync_started_returns_only_when_that_fsync_completed(tmp_path, monkeypatch):
    """The record is covered by an fsync still in flight: the writer must wait for it to complete
    (a log that marked positions durable when an fsync STARTED would let it return at once)."""
    shard = open_shard(tmp_path)
    fsync, start = install(monkeypatch, shard)
    logged_first = start(batch("x"), hold_before_durability=True)
    assert logged_first.applied_in_memory.wait(GUARD_SECONDS)    # logged, not yet waiting for durability
    syncing = start(batch("a"))
    assert fsync.started.acquire(timeout=GUARD_SECONDS)          # this fsync covers both records, held
    logged_first.may_wait_for_durability.set()
    # on correct code this wait always times out; it gives a premature acknowledgement the chance
    # to show itself (the assertions after the release catch it either way)
    assert not logged_first.returned.wait(0.2)
    fsync.releases.release()
    for writer in (syncing, logged_first):
        assert writer.returned.wait(GUARD_SECONDS) and writer.error is None
        assert writer.durable_at_return is not None and writer.durable_at_return >= writer.location
    assert len(fsync.completed_coverage) == 1
    shard.close()
