"""Named failure points on the durability paths, for crash and fault tests.

Owns: a process-wide registry of armed failure points. Storage code calls ``check(name)`` at
each point where the disk can fail; tests arm a point so the next call(s) raise an ``OSError``
(ENOSPC by default, or EIO). Disarmed, ``check`` is one truthiness test of an empty dict.

Points in use: translog.append, translog.fsync, translog.checkpoint, segment.write, segment.fsync,
live_docs.write, commit.rename.write, commit.rename.

Must never: be armed by production code, or raise anything but OSError (the callers translate
OSError into StorageError naming the file).
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(slots=True)
class _ArmedPoint:
    error_number: int
    remaining: int | None      # None = fail every time until disarmed
    times_triggered: int = 0


_armed_points: dict[str, _ArmedPoint] = {}
_lock = threading.Lock()


def check(name: str) -> None:
    """Raise the armed OSError for ``name``; a no-op (one dict test) when nothing is armed."""
    if not _armed_points:
        return
    with _lock:
        point = _armed_points.get(name)
        if point is None:
            return
        if point.remaining is not None:
            if point.remaining <= 0:
                return
            point.remaining -= 1
        point.times_triggered += 1
        error_number = point.error_number
    raise OSError(error_number, f"{os.strerror(error_number)} (failpoint {name})")


def arm(name: str, error_number: int = errno.ENOSPC, times: int | None = None) -> None:
    with _lock:
        _armed_points[name] = _ArmedPoint(error_number, times)


def disarm(name: str) -> None:
    with _lock:
        _armed_points.pop(name, None)


def disarm_all() -> None:
    with _lock:
        _armed_points.clear()


def times_triggered(name: str) -> int:
    with _lock:
        point = _armed_points.get(name)
        return 0 if point is None else point.times_triggered


@contextlib.contextmanager
def armed(name: str, error_number: int = errno.ENOSPC, times: int | None = None) -> Iterator[None]:
    """Arm ``name`` for the duration of the block."""
    arm(name, error_number, times)
    try:
        yield
    finally:
        disarm(name)
