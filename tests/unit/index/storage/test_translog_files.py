"""The write-ahead log: append/replay, torn tails, corruption, generations and trimming."""

from __future__ import annotations

import errno
import os

import pytest

from index import failpoints
from index.errors import CorruptedLogError, StorageError
from index.operations import ReplicatedOperation
from index.translog import Translog
from index.translog.translog import generation_file_name


def operation(seq_no: int, term: int = 1, source: bytes | None = None) -> ReplicatedOperation:
    return ReplicatedOperation("index", seq_no, term, 1, f"doc-{seq_no}", source or b'{"n":%d}' % seq_no)


def replayed_seq_nos(translog: Translog, above: int = -1) -> list[int]:
    return [op.seq_no for op in translog.read_operations(above)]


def test_appended_operations_replay_in_order_after_reopen(tmp_path):
    translog = Translog(tmp_path)
    for seq_no in range(5):
        translog.ensure_synced(translog.append([operation(seq_no)]))
    translog.append([operation(5), operation(6), ReplicatedOperation("noop", 7, 1, 1, reason="gap")])
    translog.sync()
    translog.close()
    reopened = Translog(tmp_path)
    operations = list(reopened.read_operations())
    assert [op.seq_no for op in operations] == list(range(8))
    assert operations[7].kind == "noop" and operations[7].reason == "gap" and operations[7].document_id is None
    assert operations[3].source == b'{"n":3}'
    assert replayed_seq_nos(reopened, above=4) == [5, 6, 7]


def _last_record_bounds(tmp_path, translog: Translog) -> tuple[str, int, int]:
    path = tmp_path / generation_file_name(translog.current_generation)
    before = os.path.getsize(path)
    translog.ensure_synced(translog.append([operation(99, source=b"x" * 300)]))
    return path, before, os.path.getsize(path)


def test_truncating_the_last_record_at_any_byte_keeps_every_earlier_record(tmp_path):
    translog = Translog(tmp_path / "log")
    for seq_no in range(3):
        translog.ensure_synced(translog.append([operation(seq_no)]))
    path, start, end = _last_record_bounds(tmp_path / "log", translog)
    translog.close()
    original = path.read_bytes()
    for cut in range(start, end):
        path.write_bytes(original[:cut])
        reopened = Translog(tmp_path / "log")
        assert replayed_seq_nos(reopened) == [0, 1, 2], f"cut at byte {cut}"
        # the torn tail is gone from disk and new appends land after the good records
        reopened.ensure_synced(reopened.append([operation(3)]))
        reopened.close()
        assert replayed_seq_nos(Translog(tmp_path / "log")) == [0, 1, 2, 3]
    path.write_bytes(original)
    assert replayed_seq_nos(Translog(tmp_path / "log")) == [0, 1, 2, 99]


def test_zero_filled_garbage_after_the_last_record_is_cut_off(tmp_path):
    translog = Translog(tmp_path)
    translog.ensure_synced(translog.append([operation(0)]))
    translog.close()
    path = tmp_path / generation_file_name(1)
    with open(path, "ab") as handle:
        handle.write(b"\0" * 100)
    assert replayed_seq_nos(Translog(tmp_path)) == [0]


def test_a_flipped_bit_in_an_earlier_record_refuses_to_open_and_names_the_file(tmp_path):
    translog = Translog(tmp_path)
    ends = []
    for seq_no in range(4):
        ends.append(translog.append([operation(seq_no)]).offset)
    translog.sync()
    translog.close()
    path = tmp_path / generation_file_name(1)
    original = path.read_bytes()
    first_record_start = ends[0] - (ends[1] - ends[0])
    for byte_index in range(first_record_start, ends[2]):   # every byte of records 0..2
        for bit in (0, 7):
            corrupted = bytearray(original)
            corrupted[byte_index] ^= 1 << bit
            path.write_bytes(bytes(corrupted))
            with pytest.raises(CorruptedLogError) as raised:
                Translog(tmp_path)
            assert generation_file_name(1) in str(raised.value)
    path.write_bytes(original)
    assert replayed_seq_nos(Translog(tmp_path)) == [0, 1, 2, 3]


def test_corruption_in_a_sealed_generation_refuses_to_open(tmp_path):
    translog = Translog(tmp_path)
    translog.ensure_synced(translog.append([operation(0)]))
    translog.roll_generation()
    translog.ensure_synced(translog.append([operation(1)]))
    translog.close()
    path = tmp_path / generation_file_name(1)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptedLogError, match="translog-1.tlog"):
        Translog(tmp_path)


def test_generations_are_trimmed_only_when_wholly_at_or_below_the_floor(tmp_path):
    translog = Translog(tmp_path)
    translog.append([operation(0), operation(1)])
    translog.roll_generation()
    translog.append([operation(3), operation(2)])
    translog.roll_generation()
    translog.append([operation(4)])
    translog.sync()
    assert translog.trim_generations_at_or_below(0) == 0   # generation 1 holds seq 1
    assert translog.trim_generations_at_or_below(2) == 1   # generation 2 holds seq 3: kept
    assert replayed_seq_nos(translog) == [3, 2, 4]
    assert translog.trim_generations_at_or_below(3) == 1
    translog.close()
    reopened = Translog(tmp_path)
    assert replayed_seq_nos(reopened) == [4]
    assert not (tmp_path / generation_file_name(1)).exists()
    assert reopened.min_retained_seq_no() == 4


def test_trimming_operations_above_a_seq_no_hides_them_but_not_later_appends(tmp_path):
    translog = Translog(tmp_path)
    translog.append([operation(0), operation(1), operation(2)])
    translog.trim_operations_above(0)
    translog.append([operation(1, term=2)])
    translog.sync()
    translog.close()
    operations = list(Translog(tmp_path).read_operations())
    assert [(op.seq_no, op.primary_term) for op in operations] == [(0, 1), (1, 2)]


def test_a_failed_append_leaves_no_record_and_the_log_stays_usable(tmp_path):
    translog = Translog(tmp_path)
    translog.ensure_synced(translog.append([operation(0)]))
    with failpoints.armed("translog.append", errno.ENOSPC):
        with pytest.raises(StorageError, match="translog-1.tlog"):
            translog.append([operation(1)])
    translog.ensure_synced(translog.append([operation(2)]))
    translog.close()
    assert replayed_seq_nos(Translog(tmp_path)) == [0, 2]


def test_a_failed_fsync_fails_the_log_until_it_is_reopened(tmp_path):
    translog = Translog(tmp_path)
    location = translog.append([operation(0)])
    with failpoints.armed("translog.fsync", errno.EIO):
        with pytest.raises(StorageError):
            translog.ensure_synced(location)
    with pytest.raises(StorageError, match="must be reopened"):
        translog.append([operation(1)])
    translog.close()
    reopened = Translog(tmp_path)
    reopened.ensure_synced(reopened.append([operation(1)]))
    assert replayed_seq_nos(reopened) == [0, 1]


def test_async_durability_syncs_only_when_the_interval_has_passed(tmp_path):
    now = [0.0]
    translog = Translog(tmp_path, durability="async", sync_interval_seconds=5.0, clock=lambda: now[0])
    translog.append([operation(0)])
    assert translog.sync_if_due() is False
    now[0] = 6.0
    assert translog.sync_if_due() is True
    assert translog.sync_needed() is False


def test_concurrent_writers_sharing_fsyncs_lose_no_record(tmp_path):
    import threading
    translog = Translog(tmp_path)
    barrier = threading.Barrier(8)

    def writer(writer_number: int) -> None:
        barrier.wait()
        for index in range(25):
            translog.ensure_synced(translog.append([operation(writer_number * 100 + index)]))

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    translog.close()
    assert sorted(replayed_seq_nos(Translog(tmp_path))) == sorted(w * 100 + i for w in range(8) for i in range(25))


def test_a_large_torn_record_and_a_zero_filled_tail_are_cut_off_quickly(tmp_path):
    translog = Translog(tmp_path)
    translog.ensure_synced(translog.append([operation(0)]))
    big = os.urandom(3_000_000)                           # incompressible: the record is ~3 MB
    translog.ensure_synced(translog.append([operation(1, source=big)]))
    translog.close()
    path = tmp_path / generation_file_name(1)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1000] + b"\0" * 500_000)
    assert replayed_seq_nos(Translog(tmp_path)) == [0]


def test_writers_waiting_behind_an_fsync_share_the_next_one(tmp_path, monkeypatch):
    import threading
    translog = Translog(tmp_path)
    real_fsync = os.fsync
    calls = []
    first_started, release_first = threading.Event(), threading.Event()

    def slow_first_fsync(descriptor):
        calls.append(descriptor)
        if len(calls) == 1:
            first_started.set()
            release_first.wait(10)
        return real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", slow_first_fsync)
    first = threading.Thread(target=lambda: translog.ensure_synced(translog.append([operation(0)])))
    first.start()
    first_started.wait(10)
    # two more writers append while the first fsync is in flight, then both wait for durability
    second_location = translog.append([operation(1)])
    third_location = translog.append([operation(2)])
    waiters = [threading.Thread(target=translog.ensure_synced, args=(location,))
               for location in (second_location, third_location)]
    for waiter in waiters:
        waiter.start()
    release_first.set()
    for thread in [first, *waiters]:
        thread.join()
    assert len(calls) == 2          # one for the first writer, one shared by the other two
    assert not translog.sync_needed()


def test_a_crash_while_the_log_is_first_created_is_recovered_but_a_lost_checkpoint_is_not(tmp_path):
    first = Translog(tmp_path / "fresh")
    first.close()
    (tmp_path / "fresh" / "translog.ckp").unlink()        # the checkpoint never landed
    assert replayed_seq_nos(Translog(tmp_path / "fresh")) == []
    used = Translog(tmp_path / "used")
    used.ensure_synced(used.append([operation(0)]))
    used.close()
    (tmp_path / "used" / "translog.ckp").unlink()
    with pytest.raises(CorruptedLogError, match="checkpoint"):
        Translog(tmp_path / "used")
