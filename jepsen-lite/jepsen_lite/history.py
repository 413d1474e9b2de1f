"""The history of a run: every client operation as an invoke record and one completion record.

Owns: the Operation value, the thread-safe History recorder that appends history.jsonl as it
goes (so a crashed run still leaves its history), reading a history back, and pairing
invocations with completions. Must never interpret operations: that is the checkers' job.

Record types follow Jepsen: ``invoke`` (the client is about to send), then exactly one of
``ok`` (definitely happened), ``fail`` (definitely did not happen) or ``info`` (unknown: a
timeout, a dropped connection, a 5xx whose effect is unknown). An invocation with no
completion (the run ended first) is treated as ``info``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable

import orjson

OPERATION_TYPES = ("invoke", "ok", "fail", "info")


@dataclass(frozen=True)
class Operation:
    """One history record. ``index`` is the record's position in the history (a total order
    consistent with real time, which is what the linearizability checker needs); ``time`` is
    seconds since the run started, for humans and recovery-time measurements."""

    index: int
    time: float
    process: int
    type: str
    f: str
    value: Any
    node: str | None = None

    def to_json_line(self) -> bytes:
        return orjson.dumps({"index": self.index, "time": round(self.time, 6), "process": self.process,
                             "type": self.type, "f": self.f, "value": self.value, "node": self.node}) + b"\n"

    @classmethod
    def from_mapping(cls, mapping: dict) -> "Operation":
        operation_type = mapping["type"]
        if operation_type not in OPERATION_TYPES:
            raise ValueError(f"history record type: expected one of {OPERATION_TYPES}, got {operation_type!r}")
        value = mapping.get("value")
        if isinstance(value, list):
            value = tuple(value) if mapping["f"] == "cas" else value
        return cls(index=int(mapping["index"]), time=float(mapping.get("time", 0.0)),
                   process=int(mapping["process"]), type=operation_type, f=str(mapping["f"]),
                   value=value, node=mapping.get("node"))


class History:
    """Append-only, thread-safe. ``path`` (optional) receives one JSON line per record, flushed
    at once, so the file is readable while the run goes on and survives a crash of the runner."""

    def __init__(self, path: Path | None = None) -> None:
        self.operations: list[Operation] = []
        self.started_at = time.monotonic()
        self.lock = threading.Lock()
        self.file = open(path, "ab") if path is not None else None

    def record(self, process: int, operation_type: str, f: str, value: Any, node: str | None) -> Operation:
        if operation_type not in OPERATION_TYPES:
            raise ValueError(f"operation type: expected one of {OPERATION_TYPES}, got {operation_type!r}")
        with self.lock:
            operation = Operation(index=len(self.operations), time=time.monotonic() - self.started_at,
                                  process=process, type=operation_type, f=f, value=value, node=node)
            self.operations.append(operation)
            if self.file is not None:
                self.file.write(operation.to_json_line())
                self.file.flush()
            return operation

    def invoke(self, process: int, f: str, value: Any, node: str | None) -> Operation:
        return self.record(process, "invoke", f, value, node)

    def complete(self, invocation: Operation, operation_type: str, value: Any) -> Operation:
        if operation_type == "invoke":
            raise ValueError("completion type: expected ok, fail or info, got 'invoke'")
        return self.record(invocation.process, operation_type, invocation.f, value, invocation.node)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def snapshot(self) -> list[Operation]:
        with self.lock:
            return list(self.operations)


def read_history(path: Path) -> list[Operation]:
    operations = []
    for line_number, line in enumerate(Path(path).read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            operations.append(Operation.from_mapping(orjson.loads(line)))
        except (orjson.JSONDecodeError, KeyError, ValueError) as error:
            raise ValueError(f"{path}: line {line_number}: expected a history record, got {line[:80]!r} ({error})")
    return operations


@dataclass(frozen=True)
class CompletedOperation:
    """An invocation paired with its completion. ``completion`` is None when the run ended
    before the operation completed; ``outcome`` is then ``info``."""

    invocation: Operation
    completion: Operation | None

    @property
    def outcome(self) -> str:
        return "info" if self.completion is None else self.completion.type

    @property
    def invoke_index(self) -> int:
        return self.invocation.index

    @property
    def complete_index(self) -> float:
        """The completion's index; infinity for unknown outcomes, which may take effect any
        time after their invocation (Jepsen's rule for crashed operations)."""
        if self.completion is None or self.completion.type == "info":
            return float("inf")
        return self.completion.index

    @property
    def value(self) -> Any:
        """The completion's value when it carries one (reads), else the invocation's."""
        if self.completion is not None and self.completion.value is not None:
            return self.completion.value
        return self.invocation.value


def pair_operations(operations: Iterable[Operation]) -> list[CompletedOperation]:
    """Pairs each invoke with the next completion of the same process, in invocation order.
    A process has at most one operation outstanding at a time (Jepsen's rule); a second
    invoke before a completion is an error in the history."""
    outstanding: dict[int, Operation] = {}
    pairs: dict[int, CompletedOperation] = {}
    for operation in sorted(operations, key=lambda record: record.index):
        if operation.type == "invoke":
            if operation.process in outstanding:
                raise ValueError(f"history: process {operation.process} invoked record {operation.index} "
                                 f"while record {outstanding[operation.process].index} was still outstanding")
            outstanding[operation.process] = operation
            pairs[operation.index] = CompletedOperation(operation, None)
        else:
            invocation = outstanding.pop(operation.process, None)
            if invocation is None:
                raise ValueError(f"history: record {operation.index} completes process {operation.process}, "
                                 "which has nothing outstanding")
            pairs[invocation.index] = replace(pairs[invocation.index], completion=operation)
    return [pairs[index] for index in sorted(pairs)]
