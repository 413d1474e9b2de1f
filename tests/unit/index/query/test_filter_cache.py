"""FilterCache: least-recently-used bitmaps, bounded in bytes, private copies."""

from pyroaring import BitMap

from index.query import FilterCache
from index.query.filter_cache import bitmap_size_in_bytes


def test_a_stored_bitmap_is_returned_and_counted_as_a_hit():
    cache = FilterCache(max_bytes=10_000)
    cache.put("seg", "key", BitMap([1, 2, 3]))
    assert cache.get("seg", "key") == BitMap([1, 2, 3])
    assert cache.get("seg", "other") is None
    statistics = cache.statistics()
    assert (statistics.hits, statistics.misses, statistics.entries) == (1, 1, 1)


def test_the_cache_keeps_a_private_copy():
    cache = FilterCache()
    bitmap = BitMap([1])
    cache.put("seg", "key", bitmap)
    bitmap.add(2)
    assert cache.get("seg", "key") == BitMap([1])


def test_least_recently_used_entries_are_evicted_to_stay_within_the_byte_bound():
    one_entry = bitmap_size_in_bytes(BitMap([1]))
    cache = FilterCache(max_bytes=one_entry * 2)
    cache.put("seg", "a", BitMap([1]))
    cache.put("seg", "b", BitMap([2]))
    cache.get("seg", "a")
    cache.put("seg", "c", BitMap([3]))
    assert cache.get("seg", "b") is None
    assert cache.get("seg", "a") is not None and cache.get("seg", "c") is not None
    statistics = cache.statistics()
    assert statistics.bytes <= cache.max_bytes and statistics.evictions == 1


def test_a_bitmap_larger_than_the_whole_cache_is_not_stored():
    cache = FilterCache(max_bytes=10)
    cache.put("seg", "big", BitMap(range(100_000)))
    assert cache.statistics().entries == 0


def test_dropping_a_segment_forgets_its_entries_only():
    cache = FilterCache()
    cache.put("old", "k", BitMap([1]))
    cache.put("new", "k", BitMap([2]))
    cache.drop_segment("old")
    assert cache.get("old", "k") is None and cache.get("new", "k") == BitMap([2])


class SegmentContent:
    """Stands in for a segment's immutable core object."""


def test_segment_objects_are_keyed_by_identity_and_forgotten_when_collected():
    import gc

    cache = FilterCache()
    first, second = SegmentContent(), SegmentContent()
    cache.put(first, "k", BitMap([1]))
    assert cache.get(first, "k") == BitMap([1])
    assert cache.get(second, "k") is None          # same filter, different content: no reuse
    del first
    gc.collect()
    assert cache.statistics().entries == 0


def test_objects_that_cannot_be_weakly_referenced_are_never_cached():
    cache = FilterCache()
    cache.put(("not", "weakref-able"), "k", BitMap([1]))
    assert cache.statistics().entries == 0
