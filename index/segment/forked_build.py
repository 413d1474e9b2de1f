"""Segment files written by a forked child process while the parent's writes go on (ADR 0310).

Owns: the process-wide switch (``use_forked_segment_builds``, off unless a program turns it on),
``run_in_forked_child`` (fork; the child runs one function that writes one new file and returns
its size; the parent's calling thread waits without the GIL) and ``statistics()`` (how many
builds ran forked and the children's CPU seconds, from ``os.wait4``, so a benchmark can count
them with the parent's).

Why a fork and not a thread: a segment build is mostly interpreter work that holds the GIL, so a
build thread beside the writing thread mostly takes turns with it (measured: more CPU, no faster).
A forked child inherits the documents, the mapping and the analyzers by copy-on-write — nothing is
serialised — and runs on the other core; the parent only opens the finished file afterwards.
It pays only when the thread that waits is not the writing thread (node/'s maintenance thread, or
the bench's), and only on a spare core: a node running one worker process per core must leave it
off.

Crash safety: the child writes only the new, not yet referenced file, with the same
``write_checked_file`` as an in-process build. If the child fails or is killed, the parent
removes that file and raises ``StorageError`` naming it: the shard keeps the buffer (it puts the
documents back, as after any failed build) and an unreferenced leftover is removed at the next
flush or open, as any other.

Must never: run in the child anything but the one function and ``os._exit`` (no atexit, no
flushing of inherited buffers, no locks another parent thread may have held at the fork beyond
those this module re-creates), or be on by default.
"""

from __future__ import annotations

import os
import signal
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from index.errors import StorageError

_RESULT = struct.Struct("<q")
_OK, _FAILED = b"k", b"f"

_switch_lock = threading.Lock()
_enabled = False
_minimum_documents = 20_000
_split = True
_builds = 0
_children_cpu_seconds = 0.0


@dataclass(frozen=True, slots=True)
class ForkedBuildStatistics:
    enabled: bool
    minimum_documents: int
    builds: int                      # forked children reaped so far (files and split halves)
    children_cpu_seconds: float      # user + system CPU of those children and theirs (os.wait4)


def use_forked_segment_builds(enabled: bool, minimum_documents: int = 20_000, split: bool = True) -> None:
    """Turn forked builds on or off for this process. Builds of fewer than ``minimum_documents``
    documents stay in process (a fork costs a few ms of the parent's time and page-table copy).
    ``split``: the forked child hands the leading fields (about half the work: the bench's body
    text) to a grandchild of its own and builds the rest meanwhile (index/segment/builder.py)."""
    global _enabled, _minimum_documents, _split
    if minimum_documents < 1:
        raise ValueError(f"minimum_documents must be at least 1, got {minimum_documents}")
    if enabled and not hasattr(os, "fork"):
        raise ValueError("forked segment builds need os.fork, which this platform lacks")
    with _switch_lock:
        _enabled, _minimum_documents, _split = enabled, minimum_documents, split


def should_fork(document_count: int) -> bool:
    return _enabled and document_count >= _minimum_documents


def split_builds_enabled() -> bool:
    return _enabled and _split


def statistics() -> ForkedBuildStatistics:
    with _switch_lock:
        return ForkedBuildStatistics(_enabled, _minimum_documents, _builds, _children_cpu_seconds)


class ForkedChildFailed(Exception):
    """A forked child raised, was killed or answered nothing (the reason says which)."""


class ForkedChild:
    """One forked child computing ``produce() -> bytes``. ``result`` waits (without the GIL) and
    returns those bytes or raises ``ForkedChildFailed``; ``abandon`` kills and reaps it. Exactly
    one of them must be called."""

    def __init__(self, produce: Callable[[], bytes]) -> None:
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            raise
        if pid == 0:   # the child: never returns
            _child(read_end, write_end, produce)
        os.close(write_end)
        self.pid, self.read_end = pid, read_end

    def result(self) -> bytes:
        try:
            answer = _read_all(self.read_end)      # blocks without the GIL until the child exits
        finally:
            os.close(self.read_end)
            status = self._reap()
        exit_code = os.waitstatus_to_exitcode(status)
        if answer[:1] == _OK and exit_code == 0:
            return answer[1:]
        if answer[:1] == _FAILED:
            failure = orjson.loads(answer[1:])
            raise ForkedChildFailed(f"{failure['type']}: {failure['message']}")
        raise ForkedChildFailed(f"the child ended with exit code {exit_code} and no answer")

    def abandon(self) -> None:
        os.close(self.read_end)
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._reap()

    def _reap(self) -> int:
        global _builds, _children_cpu_seconds
        _, status, usage = os.wait4(self.pid, 0)
        # a child's usage from wait4 includes the grandchildren it reaped (Linux: RUSAGE_BOTH)
        with _switch_lock:
            _builds += 1
            _children_cpu_seconds += usage.ru_utime + usage.ru_stime
        return status


def start_forked_child(produce: Callable[[], bytes]) -> ForkedChild:
    return ForkedChild(produce)


def run_in_forked_child(path: Path, write: Callable[[], int]) -> int:
    """Run ``write`` (it writes the new file ``path`` and returns its size) in a forked child and
    return what it returned. Any failure of the child — an exception, a signal, a short answer —
    removes ``path`` and raises ``StorageError`` naming it."""
    try:
        child = ForkedChild(lambda: _RESULT.pack(write()))
    except OSError as error:
        raise StorageError(f"cannot fork a process to write [{path}]: {error}", file=str(path)) from error
    try:
        answer = child.result()
        if len(answer) != _RESULT.size:
            raise ForkedChildFailed(f"an answer of {len(answer)} bytes, expected {_RESULT.size}")
    except ForkedChildFailed as failure:
        _remove_quietly(path)
        raise StorageError(f"cannot write file [{path}] in a forked process: {failure}", file=str(path)) from None
    return _RESULT.unpack(answer)[0]


def _child(read_end: int, write_end: int, produce: Callable[[], bytes]) -> None:
    exit_code = 1
    try:
        os.close(read_end)
        _recreate_inherited_locks()
        try:
            answer = _OK + produce()
            exit_code = 0
        except BaseException as error:  # noqa: BLE001 — every failure goes back to the parent as data
            answer = _FAILED + orjson.dumps({"type": type(error).__name__, "message": str(error)[:2000]})
        view = memoryview(answer)
        while view:
            view = view[os.write(write_end, view):]
    finally:
        os._exit(exit_code)


def _recreate_inherited_locks() -> None:
    """Locks another parent thread may have held at the fork would never be released in the child:
    the child gets fresh ones for what a build takes (the allocation regime's depth counter)."""
    from index.segment import allocation
    allocation.reset_after_fork()


def _read_all(descriptor: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(descriptor, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
