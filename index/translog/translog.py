"""The write-ahead log of one shard: generations of framed records plus a checkpoint file.

Owns: the files under ``<shard>/translog/``: ``translog-<generation>.tlog`` (header, then records
framed by index/translog/records.py) and ``translog.ckp`` (a checked file, replaced atomically,
naming the log's uuid, the current generation, the sealed generations with their seq_no ranges,
and rolled-back seq_no ranges).

Durability policies (``durability``):
  "request": the caller calls ``ensure_synced(location)`` before acknowledging. Concurrent
             callers share fsyncs (group commit): one fsync covers every record written before
             it started, so waiting callers find their location already synced.
  "async":   nothing is fsynced per call. ``sync_if_due()`` fsyncs when the interval has passed;
             it is caller-driven (the shard calls it after each write and from
             ``Shard.run_scheduled_maintenance``); there is no daemon thread.

Opening: sealed generations must verify completely (a bad record there is CorruptedLogError
naming the file). In the current generation a bad record with no valid record after it is a
torn tail and is cut off; a bad record followed by a valid one is corruption.

After an fsync or a write failure the log is "failed": every later call raises StorageError
and the shard must be reopened (the page cache state after a failed fsync is unknowable).

Must never: interpret operations beyond their seq_no, or decide what the shard replays.
"""

from __future__ import annotations

import os
import threading
import time
import uuid as uuid_module
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from index import failpoints
from index.errors import CorruptedIndexError, CorruptedLogError, StorageError
from index.format import (
    HEADER, TRANSLOG_CHECKPOINT, TRANSLOG_DATA, check_header, encode_checked_file, encode_header,
    fsync_directory, read_checked_file, replace_file_atomically,
)
from index.operations import ReplicatedOperation
from index.translog.records import (
    FRAME_HEADER, decode_payload, frame_encoded, frame_record, record_at, summarize_payload,
)

CHECKPOINT_FILE_NAME = "translog.ckp"
DURABILITY_POLICIES = ("request", "async")
MIN_PAYLOAD_BYTES = 9          # the smallest zstd frame
ZSTD_FRAME_MAGIC = 0xFD2FB528   # every record payload is one zstd frame


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """Where a record ends: (generation, byte offset after it). Ordered like the log."""

    generation: int
    offset: int


@dataclass(slots=True)
class _GenerationInfo:
    operations: int = 0
    min_seq_no: int | None = None
    max_seq_no: int | None = None
    size_bytes: int = 0

    def note(self, operations: Sequence[ReplicatedOperation]) -> None:
        seq_nos = [operation.seq_no for operation in operations]
        self.note_range(len(seq_nos), min(seq_nos, default=None), max(seq_nos, default=None))

    def note_range(self, operation_count: int, min_seq_no: int | None, max_seq_no: int | None) -> None:
        self.operations += operation_count
        if min_seq_no is not None and (self.min_seq_no is None or min_seq_no < self.min_seq_no):
            self.min_seq_no = min_seq_no
        if max_seq_no is not None and (self.max_seq_no is None or max_seq_no > self.max_seq_no):
            self.max_seq_no = max_seq_no

    def to_json(self) -> dict:
        return {"operations": self.operations, "min_seq_no": self.min_seq_no,
                "max_seq_no": self.max_seq_no, "size_bytes": self.size_bytes}


@dataclass(frozen=True, slots=True)
class TranslogStatistics:
    operations: int
    size_bytes: int
    generations: int
    uncommitted_operations: int
    current_generation: int
    fsyncs: int


def generation_file_name(generation: int) -> str:
    return f"translog-{generation}.tlog"


class Translog:
    """One shard's write-ahead log. Thread safe: appends serialize, fsyncs are shared."""

    def __init__(self, directory: Path, durability: str = "request", sync_interval_seconds: float = 5.0,
                 clock=time.monotonic) -> None:
        if durability not in DURABILITY_POLICIES:
            raise ValueError(f"translog durability must be one of {DURABILITY_POLICIES}, got {durability!r}")
        self.directory = Path(directory)
        self.durability = durability
        self.sync_interval_seconds = sync_interval_seconds
        self._clock = clock
        self._write_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._failure: str | None = None
        self._closed = False
        self.fsync_count = 0
        self.directory.mkdir(parents=True, exist_ok=True)
        self._open_or_create()
        self._last_sync_time = self._clock()

    # ---- opening -------------------------------------------------------------------------

    def _open_or_create(self) -> None:
        checkpoint_path = self.directory / CHECKPOINT_FILE_NAME
        if not checkpoint_path.exists():
            leftovers = sorted(self.directory.glob("translog-*.tlog"))
            # a crash while the log was first created leaves generation 1 with at most its header
            # (the checkpoint is written before any record can be appended): start afresh then
            if leftovers and all(path.stat().st_size <= HEADER.size + 32 for path in leftovers):
                for path in leftovers:
                    path.unlink()
                leftovers = []
            if leftovers:
                raise CorruptedLogError(
                    f"translog checkpoint [{checkpoint_path}] is missing but generation files exist "
                    f"({leftovers[0].name} ...)", file=str(checkpoint_path))
            self.uuid = uuid_module.uuid4().hex
            self.current_generation = 1
            self._sealed: dict[int, _GenerationInfo] = {}
            self._trimmed_above: dict[int, int] = {}
            self._create_generation_file(1)
            self._write_checkpoint()
        else:
            self._read_checkpoint(checkpoint_path)
            # a generation created by a roll whose checkpoint never landed holds no records
            for path in self.directory.glob("translog-*.tlog"):
                generation = int(path.stem.split("-")[1])
                if generation > self.current_generation or generation < self._minimum_generation():
                    path.unlink()
            for generation in self._sealed:
                self._scan_generation(generation, sealed=True)
        self._current_info = self._scan_generation(self.current_generation, sealed=False)
        path = self._generation_path(self.current_generation)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        self._written = Location(self.current_generation, self._current_info.size_bytes)
        self._synced = self._written

    def _minimum_generation(self) -> int:
        return min(self._sealed) if self._sealed else self.current_generation

    def _read_checkpoint(self, path: Path) -> None:
        try:
            _, body = read_checked_file(path, TRANSLOG_CHECKPOINT)
        except CorruptedIndexError as error:
            raise CorruptedLogError(error.reason, file=str(path)) from None
        state = orjson.loads(bytes(body))
        self.uuid = state["uuid"]
        self.current_generation = state["current_generation"]
        self._sealed = {int(generation): _GenerationInfo(**info) for generation, info in state["sealed"].items()}
        self._trimmed_above = {int(generation): seq for generation, seq in state["trimmed_above"].items()}

    def _write_checkpoint(self) -> None:
        body = orjson.dumps({
            "uuid": self.uuid,
            "current_generation": self.current_generation,
            "sealed": {str(generation): info.to_json() for generation, info in self._sealed.items()},
            "trimmed_above": {str(generation): seq for generation, seq in self._trimmed_above.items()},
        })
        replace_file_atomically(self.directory / CHECKPOINT_FILE_NAME,
                                encode_checked_file(TRANSLOG_CHECKPOINT, body), "translog.checkpoint")

    def _generation_path(self, generation: int) -> Path:
        return self.directory / generation_file_name(generation)

    def _create_generation_file(self, generation: int) -> None:
        path = self._generation_path(generation)
        try:
            with open(path, "wb") as handle:
                handle.write(encode_header(TRANSLOG_DATA) + self.uuid.encode("ascii"))
                handle.flush()
                os.fsync(handle.fileno())
            fsync_directory(self.directory)
        except OSError as error:
            raise StorageError(f"cannot create translog generation [{path}]: {error}", file=str(path)) from error

    def _header_size(self) -> int:
        return HEADER.size + len(self.uuid)

    def _read_generation_bytes(self, generation: int) -> tuple[Path, bytes]:
        path = self._generation_path(generation)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CorruptedLogError(f"translog generation [{path}] is missing", file=str(path)) from None
        except OSError as error:
            raise StorageError(f"cannot read translog generation [{path}]: {error}", file=str(path)) from error
        check_header(path, TRANSLOG_DATA, data, CorruptedLogError)
        file_uuid = data[HEADER.size: self._header_size()].decode("ascii", "replace")
        if file_uuid != self.uuid:
            raise CorruptedLogError(
                f"translog generation [{path}] belongs to another log: expected uuid {self.uuid}, got {file_uuid}",
                file=str(path))
        return path, data

    def _scan_generation(self, generation: int, sealed: bool) -> _GenerationInfo:
        """Verify every record; cut a torn tail off the current generation."""
        path, data = self._read_generation_bytes(generation)
        info = _GenerationInfo()
        offset = self._header_size()
        while offset < len(data):
            record = record_at(data, offset)
            if record is None:
                if sealed or self._valid_record_follows(data, offset):
                    raise CorruptedLogError(
                        f"translog generation [{path}] is corrupted at byte {offset} of {len(data)}: "
                        f"record fails its checksum before the end of the log", file=str(path))
                self._truncate(path, offset)
                break
            payload, offset = record
            try:
                info.note_range(*summarize_payload(payload))   # headers only: replay decodes
            except Exception as error:  # a crc-valid record that does not decode is corruption
                raise CorruptedLogError(
                    f"translog generation [{path}] has an undecodable record ending at byte {offset}: {error}",
                    file=str(path)) from None
        info.size_bytes = min(offset, len(data))
        return info

    @staticmethod
    def _valid_record_follows(data: bytes, bad_offset: int) -> bool:
        # a torn write only loses a suffix, so a good record after a bad one means corruption;
        # random bytes pass a crc32 by chance with probability 2^-32 per position. Only offsets
        # whose payload starts with the zstd frame magic and whose length is plausible (at least a
        # minimal frame, and it fits) are checksummed, found with numpy over every offset at once.
        start = bad_offset + 1
        count = len(data) - (FRAME_HEADER.size + 4) - start + 1
        if count <= 0:
            return False
        lengths = np.ndarray((count,), dtype="<u4", buffer=data, offset=start + 4, strides=(1,))
        payload_magic = np.ndarray((count,), dtype="<u4", buffer=data, offset=start + 8, strides=(1,))
        room = len(data) - FRAME_HEADER.size - np.arange(start, start + count, dtype=np.int64)
        plausible = np.flatnonzero((payload_magic == ZSTD_FRAME_MAGIC) & (lengths >= MIN_PAYLOAD_BYTES)
                                   & (lengths <= room)) + start
        view = memoryview(data)
        return any(record_at(view, int(candidate)) is not None for candidate in plausible)

    @staticmethod
    def _truncate(path: Path, offset: int) -> None:
        try:
            with open(path, "r+b") as handle:
                handle.truncate(offset)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            raise StorageError(f"cannot cut the torn tail of [{path}]: {error}", file=str(path)) from error

    # ---- writing -------------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._closed:
            raise StorageError(f"translog [{self.directory}] is closed", file=str(self.directory))
        if self._failure is not None:
            raise StorageError(f"translog [{self.directory}] failed earlier and must be reopened: {self._failure}",
                               file=str(self.directory))

    def append(self, operations: Sequence[ReplicatedOperation]) -> Location:
        """Write one record holding ``operations``; return where it ends (not yet durable)."""
        operations = list(operations)
        seq_nos = [operation.seq_no for operation in operations]
        return self._write_record(frame_record(operations), len(operations),
                                  min(seq_nos, default=None), max(seq_nos, default=None))

    def append_encoded(self, encoded_operations: bytes, operation_count: int, min_seq_no: int,
                       max_seq_no: int) -> Location:
        """``append`` for a batch the caller already encoded (records.encode_index_batch, the
        primary's bulk fast path): same record, same durability contract; the caller vouches that
        the batch holds ``operation_count`` operations with seq_nos in [min_seq_no, max_seq_no]."""
        return self._write_record(frame_encoded(encoded_operations), operation_count, min_seq_no, max_seq_no)

    def _write_record(self, record: bytes, operation_count: int, min_seq_no: int | None,
                      max_seq_no: int | None) -> Location:
        with self._write_lock:
            self._check_usable()
            path = self._generation_path(self.current_generation)
            start = self._written.offset
            try:
                failpoints.check("translog.append")
                written = 0
                while written < len(record):
                    written += os.write(self._fd, record[written:])
            except OSError as error:
                # leave no partial record behind: later records would sit after garbage
                try:
                    os.ftruncate(self._fd, start)
                except OSError as truncate_error:
                    self._failure = f"write failed ({error}) and truncate failed ({truncate_error})"
                raise StorageError(f"cannot append to translog [{path}]: {error}", file=str(path)) from error
            self._written = Location(self.current_generation, start + len(record))
            self._current_info.note_range(operation_count, min_seq_no, max_seq_no)
            self._current_info.size_bytes = self._written.offset
            return self._written

    @property
    def current_generation_bytes(self) -> int:
        """Bytes written to the current generation so far (its header included)."""
        return self._written.offset

    def ensure_synced(self, location: Location) -> None:
        """Return once ``location`` is durable; concurrent callers share one fsync."""
        if location <= self._synced:
            return
        with self._sync_lock:
            if location <= self._synced:
                return
            with self._write_lock:
                self._check_usable()
                target = self._written
                descriptor = self._fd
            self._fsync(descriptor, self._generation_path(target.generation))
            self._synced = target
            self._last_sync_time = self._clock()

    def _fsync(self, descriptor: int, path: Path) -> None:
        try:
            failpoints.check("translog.fsync")
            os.fsync(descriptor)
            self.fsync_count += 1
        except OSError as error:
            self._failure = f"fsync failed: {error}"
            raise StorageError(f"cannot fsync translog [{path}]: {error}", file=str(path)) from error

    def sync(self) -> None:
        with self._write_lock:
            location = self._written
        self.ensure_synced(location)

    def sync_needed(self) -> bool:
        return self._synced < self._written

    def sync_if_due(self) -> bool:
        """The "async" policy's fsync: run it when the interval has passed; True if it synced."""
        if not self.sync_needed() or self._clock() - self._last_sync_time < self.sync_interval_seconds:
            return False
        self.sync()
        return True

    def roll_generation(self, trim_above_seq_no: int | None = None) -> int:
        """Seal the current generation (fsynced) and start a new one; return the new number. With
        ``trim_above_seq_no``, the same checkpoint write also hides every operation above it in the
        sealed generations (a rollback is then atomic: all hidden, or none)."""
        with self._sync_lock, self._write_lock:
            self._check_usable()
            self._fsync(self._fd, self._generation_path(self.current_generation))
            new_generation = self.current_generation + 1
            self._create_generation_file(new_generation)
            self._sealed[self.current_generation] = self._current_info
            previous_generation = self.current_generation
            previous_trims = dict(self._trimmed_above)
            self.current_generation = new_generation
            if trim_above_seq_no is not None:
                for generation in self._sealed:
                    current = self._trimmed_above.get(generation)
                    self._trimmed_above[generation] = (trim_above_seq_no if current is None
                                                       else min(current, trim_above_seq_no))
            try:
                self._write_checkpoint()
            except StorageError:
                self._sealed.pop(previous_generation)
                self._trimmed_above = previous_trims
                self.current_generation = previous_generation
                os.unlink(self._generation_path(new_generation))
                raise
            os.close(self._fd)
            self._fd = os.open(self._generation_path(new_generation), os.O_WRONLY | os.O_APPEND)
            self._current_info = _GenerationInfo(size_bytes=self._header_size())
            self._written = self._synced = Location(new_generation, self._header_size())
            return new_generation

    def trim_generations_at_or_below(self, seq_no: int) -> int:
        """Delete sealed generations, oldest first, whose every operation has seq_no <= ``seq_no``.

        The caller passes min(local checkpoint of the last commit, retention floor). Returns how
        many generations were deleted."""
        with self._write_lock:
            doomed = []
            for generation in sorted(self._sealed):
                info = self._sealed[generation]
                if info.max_seq_no is not None and info.max_seq_no > seq_no:
                    break
                doomed.append(generation)
            if not doomed:
                return 0
            kept_sealed = {g: i for g, i in self._sealed.items() if g not in doomed}
            previous = self._sealed, self._trimmed_above
            self._sealed = kept_sealed
            self._trimmed_above = {g: s for g, s in self._trimmed_above.items() if g not in doomed}
            try:
                self._write_checkpoint()
            except StorageError:
                self._sealed, self._trimmed_above = previous
                raise
        for generation in doomed:
            try:
                os.unlink(self._generation_path(generation))
            except OSError:
                pass  # unreferenced by the checkpoint: deleted at the next open
        return len(doomed)

    def trim_operations_above(self, seq_no: int) -> None:
        """Roll back: operations now in the log with seq_no > ``seq_no`` are never read again.

        Rolls a new generation in the same checkpoint write, so later operations that reuse those
        seq_nos (from a newer primary term) are not hidden."""
        self.roll_generation(trim_above_seq_no=seq_no)

    # ---- reading -------------------------------------------------------------------------

    def read_operations(self, above_seq_no: int = -1) -> Iterator[ReplicatedOperation]:
        """Every retained operation with seq_no > ``above_seq_no``, in log order (not seq_no order)."""
        for batch in self.read_operation_batches(above_seq_no):
            yield from batch

    def read_operation_batches(self, above_seq_no: int = -1) -> Iterator[list[ReplicatedOperation]]:
        """``read_operations`` one record at a time: the operations of each record that are kept
        (seq_no > ``above_seq_no``, not trimmed), in log order; records left with none are skipped.
        Start-up replay applies a record as one batch (ADR 0245)."""
        with self._write_lock:
            # a sealed generation whose every operation is at or below ``above_seq_no`` (the ones a
            # flush committed and the log keeps only for peer recovery) is not even read: opening a
            # shard decoded all of them just to drop them (ADR 0293)
            generations = [generation for generation, info in sorted(self._sealed.items())
                           if info.max_seq_no is not None and info.max_seq_no > above_seq_no]
            generations.append(self.current_generation)
            current_end = self._written.offset
            trimmed = dict(self._trimmed_above)
        for generation in generations:
            path, data = self._read_generation_bytes(generation)
            end = current_end if generation == generations[-1] else len(data)
            trim = trimmed.get(generation)
            offset = self._header_size()
            while offset < end:
                record = record_at(data, offset)
                if record is None:
                    raise CorruptedLogError(
                        f"translog generation [{path}] is corrupted at byte {offset}", file=str(path))
                payload, offset = record
                operations = decode_payload(payload)
                if above_seq_no >= 0 or trim is not None:
                    # the common case (nothing to skip) keeps the decoded list as it is
                    highest = trim if trim is not None else None
                    operations = [operation for operation in operations if operation.seq_no > above_seq_no
                                  and (highest is None or operation.seq_no <= highest)]
                if operations:
                    yield operations

    def min_retained_seq_no(self) -> int | None:
        """The lowest seq_no the log still holds (None when empty)."""
        with self._write_lock:
            values = [info.min_seq_no for info in (*self._sealed.values(), self._current_info)
                      if info.min_seq_no is not None]
        return min(values) if values else None

    def record_bytes_from_generation(self, generation: int) -> int:
        """Bytes of records in the generations numbered ``generation`` and later — with the last
        commit's generation, what OpenSearch calls the uncommitted size of the log. File headers are
        left out, so a log holding no records measures 0 however small a flush threshold is."""
        with self._write_lock:
            infos = [info for number, info in self._sealed.items() if number >= generation]
            if self.current_generation >= generation:
                infos.append(self._current_info)
            return sum(max(info.size_bytes - self._header_size(), 0) for info in infos)

    def statistics(self, uncommitted_above_seq_no: int = -1) -> TranslogStatistics:
        with self._write_lock:
            infos = [*self._sealed.values(), self._current_info]
            uncommitted = sum(info.operations for info in infos
                              if info.max_seq_no is not None and info.max_seq_no > uncommitted_above_seq_no)
            return TranslogStatistics(
                operations=sum(info.operations for info in infos),
                size_bytes=sum(info.size_bytes for info in infos),
                generations=len(infos),
                uncommitted_operations=uncommitted,
                current_generation=self.current_generation,
                fsyncs=self.fsync_count,
            )

    def close_without_sync_for_tests(self) -> None:
        """Drop the file handle as a crash would: no final fsync (tests only)."""
        with self._sync_lock, self._write_lock:
            if not self._closed:
                self._closed = True
                os.close(self._fd)

    def close(self) -> None:
        with self._sync_lock, self._write_lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self._failure is None and self._synced < self._written:
                    os.fsync(self._fd)
            except OSError:
                pass
            finally:
                os.close(self._fd)
