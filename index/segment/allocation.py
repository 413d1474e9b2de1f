"""How a segment build or merge asks for memory: a scoped allocation regime (ADR 0295).

Owns: ``segment_build_allocation()``, the context manager ``write_segment_file`` and the merger
run under. A build makes dozens of numpy temporaries as long as a field's tokens (tens of MB at a
250k-document segment). Measured here (2-core VM, 230k bench documents), the kernel time of a
build — faulting in and zeroing fresh pages — was 2.6–2.9 CPU-s beside ~5 CPU-s of user time:

- numpy asks for transparent huge pages on every array of 4 MB and more (``madvise``); with the
  host's THP ``defrag=madvise`` each such fault may compact memory and zeroes 2 MB at once;
- glibc hands out every block above its mmap threshold (dynamic, at most 32 MB) as a fresh
  ``mmap`` and unmaps it on free, and trims the heap top whenever 2× the threshold is free: the
  next temporary of the same size faults in again.

Inside the regime numpy's huge-page hint is off and glibc keeps freed heap memory (mmap threshold
fixed at its 32 MB maximum, trim threshold 1 GiB), so a build's temporaries reuse warm pages:
2.8 → 1.0 system CPU-s for that segment, same bytes written. When the last regime ends the huge
page hint is restored and the free heap is returned to the system (``malloc_trim``), so an idle
process does not keep a build's peak; glibc's mmap threshold stays fixed at 32 MB (the value its
dynamic rule reaches anyway once a large block has been freed).

Must never: change what is computed (it only changes where memory comes from), fail a build
(anything unavailable — not glibc, another numpy — makes it a no-op), or be entered outside a
segment build or merge.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

# mallopt parameter numbers (glibc malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
_MMAP_MAX_OUTSIDE = 65536                       # glibc's default
_MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024       # glibc's largest allowed value (HEAP_MAX_SIZE / 2)
_TRIM_THRESHOLD_INSIDE_BYTES = 1 << 30
_TRIM_THRESHOLD_OUTSIDE_BYTES = 128 * 1024     # glibc's default


def _find_glibc() -> Any:
    try:
        name = ctypes.util.find_library("c")
        library = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if library is None or not hasattr(library, "mallopt") or not hasattr(library, "malloc_trim"):
        return None
    return library


def _find_hugepage_switch() -> Any:
    for module_name in ("_core", "core"):     # numpy 2.x, numpy 1.x
        multiarray = getattr(getattr(np, module_name, None), "multiarray", None)
        switch = getattr(multiarray, "_set_madvise_hugepage", None)
        if switch is not None:
            return switch
    return None


_glibc = _find_glibc()
_set_madvise_hugepage = _find_hugepage_switch()
_lock = threading.Lock()
_depth = 0
_hugepage_before = False
_trim_when_the_last_regime_ends = True     # not in a forked build's child: it exits right after


def _enter() -> None:
    global _depth, _hugepage_before
    with _lock:
        _depth += 1
        if _depth > 1:
            return
        if _set_madvise_hugepage is not None:
            _hugepage_before = bool(_set_madvise_hugepage(False))
        if _glibc is not None:
            _glibc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
            # no mmap at all inside: blocks above the threshold (a 250k-document field's token
            # arrays are 48 MB) come from the heap too, so they are recycled like the smaller ones
            _glibc.mallopt(_M_MMAP_MAX, 0)
            _glibc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_INSIDE_BYTES)


def _leave() -> None:
    global _depth
    with _lock:
        _depth -= 1
        if _depth > 0:
            return
        if _set_madvise_hugepage is not None:
            _set_madvise_hugepage(_hugepage_before)
        if _glibc is not None:
            _glibc.mallopt(_M_MMAP_MAX, _MMAP_MAX_OUTSIDE)
            _glibc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_OUTSIDE_BYTES)
            if _trim_when_the_last_regime_ends:
                _glibc.malloc_trim(0)


@contextlib.contextmanager
def segment_build_allocation() -> Iterator[None]:
    """The allocation regime of a segment build or merge (module docstring). Regimes nest and
    overlap across threads: the process settings change when the first one starts and are
    restored when the last one ends."""
    _enter()
    try:
        yield
    finally:
        _leave()


def regime_depth() -> int:
    """How many regimes are open now (for tests and statistics)."""
    return _depth


def reset_after_fork() -> None:
    """In a forked child (index/segment/forked_build.py): a fresh lock and no open regime. Another
    parent thread may have held the lock at the fork, and the regimes the parent's threads had open
    do not exist in the child; the process settings they made stay until the child's own regime
    sets and restores them."""
    global _lock, _depth, _trim_when_the_last_regime_ends
    _lock = threading.Lock()
    _depth = 0
    # the child exits when its build ends: giving its heap back page by page first is wasted work
    _trim_when_the_last_regime_ends = False
