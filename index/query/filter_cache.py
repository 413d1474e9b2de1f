"""A per-shard cache of filter bitmaps, least recently used first out, bounded in bytes.

Owns ``FilterCache``: (segment, filter key) → BitMap of matching docs *before* live docs are
applied (so deletes never make an entry stale; segments are immutable). A segment is identified
by the object that holds its immutable content (``segment.core`` for on-disk views, else the
reader itself), never by its name alone: a replica that copies a primary's files during recovery
can reuse a name for different content. Entries of a segment object are dropped when it is
garbage collected. Filter keys come from ``Plan.cache_key()`` and include resolved values (a
``now-1d`` bound resolves to a number, so entries for moving dates simply age out). It must never
cache scores or live docs, and never grow past ``max_bytes``. Thread safe: a shard serves
concurrent searches.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pyroaring import BitMap


@dataclass(frozen=True, slots=True)
class FilterCacheStatistics:
    entries: int
    bytes: int
    hits: int
    misses: int
    evictions: int


def bitmap_size_in_bytes(bitmap: BitMap) -> int:
    statistics = bitmap.get_statistics()
    payload = (statistics["n_bytes_array_containers"] + statistics["n_bytes_run_containers"]
               + statistics["n_bytes_bitset_containers"])
    # fixed overhead per container and per entry, so that many empty bitmaps still count
    return payload + 16 * statistics["n_containers"] + 64


def segment_cache_identity(segment: Any) -> Any:
    """The object whose lifetime and content a segment's cache entries follow."""
    return getattr(segment, "core", segment)


class FilterCache:
    def __init__(self, max_bytes: int = 32 * 1024 * 1024, min_cardinality_to_cache: int = 0) -> None:
        self.max_bytes = max_bytes
        self.min_cardinality_to_cache = min_cardinality_to_cache
        self._entries: OrderedDict[tuple[Any, str], tuple[BitMap, int]] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self._lock = threading.Lock()
        self._watched: set[int] = set()
        self._forgotten: list[int] = []

    def _segment_key(self, segment: Any, register: bool) -> Any:
        """A string names a segment directly (tests, callers with unique names); any other object
        is keyed by identity and its entries die with it, so an id is never reused while cached."""
        if isinstance(segment, str):
            return segment
        identity = id(segment)
        if register and identity not in self._watched:
            try:
                weakref.finalize(segment, self._forget_identity, identity)
            except TypeError:
                return None          # not weak-referenceable: never cached, never stale
            self._watched.add(identity)
        return ("object", identity) if identity in self._watched else None

    def _forget_identity(self, identity: int) -> None:
        # Runs inside garbage collection, possibly while this thread holds the lock: only queue
        # the id (list.append is atomic); the next get/put purges it before any lookup, so a new
        # object that reuses the address never sees the old entries.
        self._forgotten.append(identity)

    def _purge_forgotten(self) -> None:
        while self._forgotten:
            identity = self._forgotten.pop()
            self._watched.discard(identity)
            for key in [key for key in self._entries if key[0] == ("object", identity)]:
                self._bytes -= self._entries.pop(key)[1]

    def get(self, segment: Any, filter_key: str) -> BitMap | None:
        with self._lock:
            self._purge_forgotten()
            segment_key = self._segment_key(segment, register=False)
            entry = self._entries.get((segment_key, filter_key)) if segment_key is not None else None
            if entry is None:
                self._misses += 1
                return None
            self._entries.move_to_end((segment_key, filter_key))
            self._hits += 1
            return entry[0]

    def put(self, segment: Any, filter_key: str, bitmap: BitMap) -> None:
        size = bitmap_size_in_bytes(bitmap)
        if size > self.max_bytes or len(bitmap) < self.min_cardinality_to_cache:
            return
        frozen = BitMap(bitmap)   # a private copy: callers may mutate the bitmap they hold
        with self._lock:
            self._purge_forgotten()
            segment_key = self._segment_key(segment, register=True)
            if segment_key is None:
                return
            key = (segment_key, filter_key)
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= previous[1]
            self._entries[key] = (frozen, size)
            self._bytes += size
            while self._bytes > self.max_bytes and self._entries:
                _, (_, evicted_size) = self._entries.popitem(last=False)
                self._bytes -= evicted_size
                self._evictions += 1

    def drop_segment(self, segment: Any) -> None:
        """Forget a merged-away segment's entries at once instead of waiting for eviction."""
        with self._lock:
            segment_key = segment if isinstance(segment, str) else ("object", id(segment))
            for key in [key for key in self._entries if key[0] == segment_key]:
                self._bytes -= self._entries.pop(key)[1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def statistics(self) -> FilterCacheStatistics:
        with self._lock:
            self._purge_forgotten()
            return FilterCacheStatistics(len(self._entries), self._bytes, self._hits, self._misses, self._evictions)
