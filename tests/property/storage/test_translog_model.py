"""The write-ahead log against a list model, with crash-and-reopen steps.

A crash keeps every synced record and an arbitrary byte prefix of what was written after the
last sync (the page cache may have written some of it). The model: after reopen the log holds
every synced operation, followed by a prefix of the unsynced ones, in order.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from index.operations import ReplicatedOperation
from index.translog import Translog
from index.translog.translog import generation_file_name


class TranslogAgainstListModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="translog-model-"))
        self.translog = Translog(self.directory)
        self.next_seq_no = 0
        self.synced: list[int] = []       # seq_nos guaranteed to survive
        self.unsynced: list[int] = []     # written, may or may not survive a crash
        self.trimmed_at_or_below = -1

    def teardown(self) -> None:
        self.translog.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    @rule(batch_size=st.integers(1, 4), payload_size=st.integers(0, 200))
    def append(self, batch_size: int, payload_size: int) -> None:
        operations = [ReplicatedOperation("index", self.next_seq_no + i, 1, 1, f"id{i}", b"p" * payload_size)
                      for i in range(batch_size)]
        self.translog.append(operations)
        self.next_seq_no += batch_size
        self.unsynced.append(tuple(op.seq_no for op in operations))

    @rule()
    def sync(self) -> None:
        self.translog.sync()
        self.synced.extend(seq for batch in self.unsynced for seq in batch)
        self.unsynced = []

    @precondition(lambda self: not self.unsynced)
    @rule()
    def roll(self) -> None:
        self.translog.roll_generation()

    @precondition(lambda self: not self.unsynced)
    @rule()
    def trim_everything_committed(self) -> None:
        floor = self.next_seq_no - 1
        self.translog.trim_generations_at_or_below(floor)

    @rule(keep_fraction=st.floats(0, 1))
    def crash_and_reopen(self, keep_fraction: float) -> None:
        path = self.directory / generation_file_name(self.translog.current_generation)
        synced_size = self.translog._synced.offset
        self.translog.close_without_sync_for_tests()
        size = os.path.getsize(path)
        keep = synced_size + int((size - synced_size) * keep_fraction)
        with open(path, "r+b") as handle:
            handle.truncate(keep)
        self.translog = Translog(self.directory)
        survivors = [op.seq_no for op in self.translog.read_operations()]
        retained = [seq for seq in self.synced if seq in set(survivors)]
        unsynced_flat = [seq for batch in self.unsynced for seq in batch]
        tail = survivors[len(retained):]
        assert tail == unsynced_flat[: len(tail)], (survivors, self.synced, unsynced_flat)
        # whole batches only: a record is all-or-nothing
        assert len(tail) in {sum(len(b) for b in self.unsynced[:k]) for k in range(len(self.unsynced) + 1)}
        self.synced = retained + tail
        self.unsynced = []

    @invariant()
    def every_synced_operation_is_readable_in_order(self) -> None:
        survivors = [op.seq_no for op in self.translog.read_operations()]
        synced_and_retained = [seq for seq in survivors if seq in set(self.synced)]
        # trimmed generations remove a prefix; what remains is the synced suffix in order
        assert synced_and_retained == self.synced[len(self.synced) - len(synced_and_retained):]
        self.synced = synced_and_retained


TranslogAgainstListModel.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
test_translog_against_list_model = TranslogAgainstListModel.TestCase
