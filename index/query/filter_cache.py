"""A per-shard cache of filter bitmaps, least recently used first out, bounded in bytes.

Owns ``FilterCache``: (segment name, filter key) → BitMap of matching docs *before* live docs are
applied (so deletes never make an entry stale; segments are immutable). Keys come from
``Plan.cache_key()`` and include resolved values (a ``now-1d`` bound resolves to a number, so
entries for moving dates simply age out). It must never cache scores or live docs, and never
grow past ``max_bytes``. Thread safe: a shard serves concurrent searches.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

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


class FilterCache:
    def __init__(self, max_bytes: int = 32 * 1024 * 1024, min_cardinality_to_cache: int = 0) -> None:
        self.max_bytes = max_bytes
        self.min_cardinality_to_cache = min_cardinality_to_cache
        self._entries: OrderedDict[tuple[str, str], tuple[BitMap, int]] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self._lock = threading.Lock()

    def get(self, segment_name: str, filter_key: str) -> BitMap | None:
        with self._lock:
            entry = self._entries.get((segment_name, filter_key))
            if entry is None:
                self._misses += 1
                return None
            self._entries.move_to_end((segment_name, filter_key))
            self._hits += 1
            return entry[0]

    def put(self, segment_name: str, filter_key: str, bitmap: BitMap) -> None:
        size = bitmap_size_in_bytes(bitmap)
        if size > self.max_bytes or len(bitmap) < self.min_cardinality_to_cache:
            return
        frozen = BitMap(bitmap)   # a private copy: callers may mutate the bitmap they hold
        with self._lock:
            key = (segment_name, filter_key)
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= previous[1]
            self._entries[key] = (frozen, size)
            self._bytes += size
            while self._bytes > self.max_bytes and self._entries:
                _, (_, evicted_size) = self._entries.popitem(last=False)
                self._bytes -= evicted_size
                self._evictions += 1

    def drop_segment(self, segment_name: str) -> None:
        """Forget a merged-away segment's entries at once instead of waiting for eviction."""
        with self._lock:
            for key in [key for key in self._entries if key[0] == segment_name]:
                self._bytes -= self._entries.pop(key)[1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def statistics(self) -> FilterCacheStatistics:
        with self._lock:
            return FilterCacheStatistics(len(self._entries), self._bytes, self._hits, self._misses, self._evictions)
