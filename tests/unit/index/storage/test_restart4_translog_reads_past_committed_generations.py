"""Reading the log above a seq_no skips the sealed generations that hold nothing above it (ADR
0293): a shard's open decoded every retained operation only to drop those its commit covers."""

from __future__ import annotations

from index.operations import ReplicatedOperation
from index.translog import Translog


def operation(seq_no: int, term: int = 1) -> ReplicatedOperation:
    return ReplicatedOperation("index", seq_no, term, 1, f"doc-{seq_no}", b'{"n":%d}' % seq_no)


def log_with_three_generations(path) -> Translog:
    translog = Translog(path)
    translog.append([operation(0), operation(1)])
    translog.roll_generation()                     # generation 1: 0..1
    translog.append([operation(2), operation(3)])
    translog.roll_generation()                     # generation 2: 2..3
    translog.append([operation(4)])                # generation 3 (current): 4
    translog.sync()
    return translog


def generations_read(translog: Translog, above: int, monkeypatch) -> tuple[list[int], list[int]]:
    read: list[int] = []
    original = translog._read_generation_bytes

    def spy(generation):
        read.append(generation)
        return original(generation)

    monkeypatch.setattr(translog, "_read_generation_bytes", spy)
    seq_nos = [op.seq_no for op in translog.read_operations(above)]
    return read, seq_nos


def test_generations_wholly_at_or_below_the_seq_no_are_not_read(tmp_path, monkeypatch):
    translog = log_with_three_generations(tmp_path)
    read, seq_nos = generations_read(translog, 1, monkeypatch)
    assert seq_nos == [2, 3, 4] and read == [2, 3]
    read, seq_nos = generations_read(translog, 3, monkeypatch)
    assert seq_nos == [4] and read == [3], "the current generation is always read"


def test_every_generation_is_read_from_the_start_and_after_a_reopen(tmp_path, monkeypatch):
    log_with_three_generations(tmp_path).close()
    reopened = Translog(tmp_path)
    read, seq_nos = generations_read(reopened, -1, monkeypatch)
    assert seq_nos == [0, 1, 2, 3, 4] and read == [1, 2, 3]
    read, seq_nos = generations_read(reopened, 2, monkeypatch)
    assert seq_nos == [3, 4] and read == [2, 3]


def test_a_generation_holding_an_operation_above_the_seq_no_out_of_order_is_still_read(tmp_path, monkeypatch):
    translog = Translog(tmp_path)
    translog.append([operation(5), operation(1)])  # a replica's out-of-order arrivals
    translog.roll_generation()
    translog.append([operation(2)])
    read, seq_nos = generations_read(translog, 3, monkeypatch)
    assert seq_nos == [5] and read == [1, 2]
