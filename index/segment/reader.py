"""Reads a segment file and serves the ``SegmentReader`` protocol over it.

Owns: ``SegmentCore`` (one segment file, memory-mapped and checksum-verified, decoded lazily: a
field's term dictionary, frequencies, positions and doc values are decoded on first use and
kept; postings blocks go through a small decoded-block LRU cache), ``SegmentView`` (a core plus
the live-docs bitmap of one searcher snapshot: what queries receive), and the live-docs files
(``<segment>_<generation>.liv``: the bitmap of deleted docs, written whole, never modified).

Beyond the protocol (optional fast paths index/query uses when present): ``document_frequency``
(from offsets, nothing decoded), ``postings_docs`` (decoded postings as int64 arrays, a bounded
LRU per core) and ``term_block_maxima`` (per-block max score for top-k pruning, computed lazily
per scoring statistics and kept; no format change), ``positions_at`` (positions of chosen entries only),
``postings_rank_index`` (a long list's bitset with ranks: postings entries of docs without a binary
search, built lazily, bounded LRU) and the view's ``live_mask``.

Thread safety: a core is shared by every snapshot; its lazy caches are filled idempotently
(two threads may decode the same thing once each; both results are equal) except a field's term
dictionary, which one thread decodes while the others wait for it; the block cache has a lock.
Views are immutable.

Must never: modify a segment file or a live-docs file once written.
"""

from __future__ import annotations

import bisect
import mmap
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pyroaring import BitMap, FrozenBitMap

from index.errors import CorruptedIndexError, StorageError
from index.format import LIVE_DOCS, SEGMENT, decode_checked_file, read_checked_file, write_checked_file
from index.segment.builder import segment_file_name
from index.segment.layout import SectionReader, decompressor
from index.segment.roaring_codec import deserialize_postings
from index.segment.types import ID_FIELD, FieldStatistics, NumericDocValues, SortedSetDocValues

DECODED_BLOCK_CACHE_SIZE = 64
# Decoded postings of hot terms, as sorted int64 doc arrays (what queries compute on): bounded by
# bytes per segment core, least recently used first out. Decoding a roaring bitmap and widening it
# costs more than scoring it for common terms; a query mix keeps hitting the same few thousand.
DECODED_POSTINGS_CACHE_BYTES = 48 * 1024 * 1024
# postings entries summarised per block-max impact (the top-k pruning granularity of index/query)
IMPACT_BLOCK_SIZE = 64
BLOCK_MAXIMA_CACHE_TERMS = 20_000
# Postings at least this long get a rank index on first lookup (postings_rank_index): finding the
# entries of some docs in a long list by binary search cost ~50 ns per doc here, a bitset lookup
# a third of that; shorter lists are searched (their index would cost more than it saves).
RANK_INDEX_MINIMUM_POSTINGS = 8192
RANK_INDEX_CACHE_BYTES = 32 * 1024 * 1024
_BITWISE_COUNT = getattr(np, "bitwise_count", None)     # numpy >= 2.0; without it, no rank index
TERM_NUMBER_CACHE_SIZE = 50_000     # per field of a segment core; cleared whole when full
_UNKNOWN = object()
_EMPTY_U32 = np.zeros(0, dtype=np.uint32)
_EMPTY_I64 = np.zeros(0, dtype=np.int64)
_EMPTY_F64 = np.zeros(0, dtype=np.float64)


def live_docs_file_name(segment_name: str, generation: int) -> str:
    return f"{segment_name}_{generation}.liv"


def write_live_docs_file(directory: Path, segment_name: str, generation: int, deleted: BitMap) -> str:
    name = live_docs_file_name(segment_name, generation)
    write_checked_file(Path(directory) / name, LIVE_DOCS, BitMap(deleted).serialize(), "live_docs.write")
    return name


def read_live_docs_file(directory: Path, segment_name: str, generation: int) -> BitMap:
    path = Path(directory) / live_docs_file_name(segment_name, generation)
    _, body = read_checked_file(path, LIVE_DOCS)
    try:
        return BitMap.deserialize(bytes(body))
    except Exception as error:
        raise CorruptedIndexError(f"live docs file [{path}] does not decode: {error}", file=str(path)) from None


def _map_checked_segment(path: Path) -> tuple[int, memoryview]:
    """Memory-map a segment file and verify its checksum. The compressed postings and _source blocks
    are then served from the page cache instead of the process heap (several worker processes and
    the merge all share it); segment files are never modified or truncated, so the mapping is safe."""
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                raise CorruptedIndexError(f"segment file [{path}] is empty", file=str(path))
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        raise CorruptedIndexError(f"segment file [{path}] is missing", file=str(path)) from None
    except OSError as error:
        raise StorageError(f"cannot read segment file [{path}]: {error}", file=str(path)) from error
    return decode_checked_file(path, SEGMENT, mapped)


class _InvertedFieldData:
    __slots__ = ("terms", "term_locations", "block_offsets", "blocks", "entry_offsets", "frequencies",
                 "position_offsets", "positions", "lengths", "has_positions", "term_numbers")


class SegmentCore:
    """One segment file's immutable content, decoded lazily."""

    def __init__(self, directory: Path, name: str) -> None:
        self.name = name
        self.path = Path(directory) / segment_file_name(name)
        _, body = _map_checked_segment(self.path)
        self.size_bytes = len(body)
        try:
            self._sections = SectionReader(body)
            metadata = self._sections.metadata
            self.max_doc: int = metadata["max_doc"]
            self._fields: dict[str, dict[str, Any]] = metadata["fields"]
            self.seq_nos = self._sections.array("seq_nos")
            self.primary_terms = self._sections.array("primary_terms")
            self.versions = self._sections.array("versions")
            self.tombstones = FrozenBitMap(BitMap.deserialize(self._sections.bytes("tombstones")))
            self._source_block_offsets = self._sections.array("sources/block_offsets")
            self._source_block_first_docs = self._sections.array("sources/block_first_docs")
            self._source_offsets = self._sections.array("sources/offsets")
        except CorruptedIndexError:
            raise
        except Exception as error:
            raise CorruptedIndexError(f"segment file [{self.path}] does not decode: {error}",
                                      file=str(self.path)) from None
        self._inverted: dict[str, _InvertedFieldData] = {}
        # one decode of a field's term dictionary at a time: the first searches of a new segment
        # arrive together (16 clients after a refresh or a restart), and each decoding the same
        # field again multiplied the CPU of that cold start (session 5, bench/cluster.py)
        self._inverted_decode_lock = threading.Lock()
        self._numeric: dict[str, NumericDocValues] = {}
        self._keyword: dict[str, SortedSetDocValues] = {}
        self._document_ids: list[str] | None = None
        self._id_hashes: np.ndarray | None = None
        self._routings: list[str] | None = None
        self._routed_docs: BitMap | None = None
        self._block_cache: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._block_cache_lock = threading.Lock()
        self._postings_docs_cache: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._postings_docs_bytes = 0
        self._block_maxima: OrderedDict[tuple, tuple[int, np.ndarray]] = OrderedDict()
        self._rank_indexes: OrderedDict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._rank_index_bytes = 0
        self.indexed_field_names = frozenset(
            path for path, meta in self._fields.items() if meta.get("inverted") and meta["doc_count"] > 0)
        self.all_field_names = frozenset(self._fields)

    # ---- inverted index --------------------------------------------------------------------

    @property
    def has_decoded_term_dictionaries(self) -> bool:
        """Whether a search (or a warm-up) has decoded the term dictionary of some field other than
        ``_id`` (which the write path's id lookups decode whether or not anyone searches)."""
        decoded = self._inverted     # searches add to it concurrently: no iteration, two atomic reads
        return len(decoded) > (ID_FIELD in decoded)

    def warm_term_dictionaries(self) -> None:
        """Decode every inverted field's term dictionary now, as the first search would."""
        for field in self.indexed_field_names:
            self._inverted_field(field)

    def _inverted_field(self, field: str) -> _InvertedFieldData | None:
        data = self._inverted.get(field)
        if data is not None:
            return data
        meta = self._fields.get(field)
        if meta is None or not meta.get("inverted"):
            return None
        with self._inverted_decode_lock:
            data = self._inverted.get(field)     # decoded while this thread waited
            if data is not None:
                return data
            return self._decode_inverted_field(field, meta)

    def _decode_inverted_field(self, field: str, meta: dict) -> _InvertedFieldData:
        prefix = f"inverted/{field}/"
        sections = self._sections
        data = _InvertedFieldData()
        data.terms = sections.strings(prefix + "terms")
        data.term_numbers = {}
        data.term_locations = sections.array(prefix + "term_locations").reshape(-1, 3)
        data.block_offsets = sections.array(prefix + "postings_block_offsets")
        data.blocks = sections.raw(prefix + "postings_blocks")
        data.entry_offsets = sections.array(prefix + "term_entry_offsets")
        data.frequencies = sections.array(prefix + "frequencies")
        data.has_positions = bool(meta.get("positions"))
        data.position_offsets = None
        if data.has_positions:
            if sections.has(prefix + "position_offsets"):   # segments written before it was derived
                data.position_offsets = sections.array(prefix + "position_offsets")
            else:   # an entry's positions follow the previous entry's: offsets are the running frequencies
                data.position_offsets = np.zeros(len(data.frequencies) + 1, dtype=np.int64)
                np.cumsum(data.frequencies, out=data.position_offsets[1:])
        data.positions = sections.array(prefix + "positions") if data.has_positions else None
        data.lengths = sections.array(prefix + "lengths")
        self._inverted[field] = data
        return data

    def _term_number(self, data: _InvertedFieldData, term: str) -> int | None:
        # a query asks the same term several times (statistics, postings, frequencies, bounds):
        # remember recent lookups (absent terms too) instead of bisecting each time
        cached = data.term_numbers.get(term, _UNKNOWN)
        if cached is not _UNKNOWN:
            return cached
        index = bisect.bisect_left(data.terms, term)
        number = index if index < len(data.terms) and data.terms[index] == term else None
        if len(data.term_numbers) >= TERM_NUMBER_CACHE_SIZE:
            data.term_numbers.clear()
        data.term_numbers[term] = number
        return number

    def _decoded_block(self, field: str, data: _InvertedFieldData, block: int) -> bytes:
        key = (field, block)
        with self._block_cache_lock:
            cached = self._block_cache.get(key)
            if cached is not None:
                self._block_cache.move_to_end(key)
                return cached
        start, end = int(data.block_offsets[block]), int(data.block_offsets[block + 1])
        decoded = decompressor().decompress(data.blocks[start:end])
        with self._block_cache_lock:
            self._block_cache[key] = decoded
            if len(self._block_cache) > DECODED_BLOCK_CACHE_SIZE:
                self._block_cache.popitem(last=False)
        return decoded

    def terms(self, field: str) -> Sequence[str]:
        data = self._inverted_field(field)
        return () if data is None else data.terms

    def postings(self, field: str, term: str) -> BitMap:
        data = self._inverted_field(field)
        term_number = None if data is None else self._term_number(data, term)
        if term_number is None:
            return BitMap()
        block, start, length = data.term_locations[term_number].tolist()
        decoded = self._decoded_block(field, data, block)
        return BitMap.deserialize(decoded[start: start + length])

    def document_frequency(self, field: str, term: str) -> int:
        """How many docs (deleted included) carry ``term``: from the entry offsets, nothing decoded."""
        data = self._inverted_field(field)
        term_number = None if data is None else self._term_number(data, term)
        if term_number is None:
            return 0
        return int(data.entry_offsets[term_number + 1] - data.entry_offsets[term_number])

    def postings_docs(self, field: str, term: str) -> np.ndarray:
        """``postings(field, term)`` as a sorted int64 array (shared, read-only: never modify it)."""
        data = self._inverted_field(field)
        term_number = None if data is None else self._term_number(data, term)
        if term_number is None:
            return _EMPTY_I64
        key = (field, term_number)
        with self._block_cache_lock:
            cached = self._postings_docs_cache.get(key)
            if cached is not None:
                self._postings_docs_cache.move_to_end(key)
                return cached
        block, start, length = data.term_locations[term_number].tolist()
        decoded = self._decoded_block(field, data, block)
        bitmap = BitMap.deserialize(decoded[start: start + length])
        docs = np.frombuffer(bitmap.to_array(), dtype=np.uint32).astype(np.int64)
        docs.flags.writeable = False
        if docs.nbytes * 4 > DECODED_POSTINGS_CACHE_BYTES:   # a huge list would evict everything
            return docs
        with self._block_cache_lock:
            if key not in self._postings_docs_cache:
                self._postings_docs_cache[key] = docs
                self._postings_docs_bytes += docs.nbytes
                while self._postings_docs_bytes > DECODED_POSTINGS_CACHE_BYTES:
                    _, evicted = self._postings_docs_cache.popitem(last=False)
                    self._postings_docs_bytes -= evicted.nbytes
        return docs

    def postings_rank_index(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(words, ranks) of a long postings list, or None (short list, absent term, old numpy):
        ``words`` the postings as a bitset of uint64 words (doc d is bit d & 63 of word d >> 6),
        ``ranks`` the number of postings before each word, so a present doc's postings entry is
        ranks[d >> 6] + popcount(words[d >> 6] & ((1 << (d & 63)) - 1)). Built on first use from
        the decoded postings, kept in a bytes-bounded LRU (max_doc / 4 bytes each)."""
        if _BITWISE_COUNT is None:
            return None
        data = self._inverted_field(field)
        term_number = None if data is None else self._term_number(data, term)
        if term_number is None or int(data.entry_offsets[term_number + 1] - data.entry_offsets[term_number]) \
                < RANK_INDEX_MINIMUM_POSTINGS:
            return None
        key = (field, term_number)
        with self._block_cache_lock:
            cached = self._rank_indexes.get(key)
            if cached is not None:
                self._rank_indexes.move_to_end(key)
                return cached
        docs = self.postings_docs(field, term)
        word_count = (self.max_doc + 63) >> 6
        present = np.zeros(word_count * 64, dtype=bool)
        present[docs] = True
        # little-endian bytes of little-endian bit order: bit j of word w is doc 64 * w + j
        words = np.packbits(present, bitorder="little").view("<u8")
        ranks = np.zeros(word_count, dtype=np.int64)
        np.cumsum(_BITWISE_COUNT(words[:-1]), out=ranks[1:])
        words.flags.writeable = False
        ranks.flags.writeable = False
        index = (words, ranks)
        with self._block_cache_lock:
            if key not in self._rank_indexes:
                self._rank_indexes[key] = index
                self._rank_index_bytes += words.nbytes + ranks.nbytes
                while self._rank_index_bytes > RANK_INDEX_CACHE_BYTES:
                    _, (evicted_words, evicted_ranks) = self._rank_indexes.popitem(last=False)
                    self._rank_index_bytes -= evicted_words.nbytes + evicted_ranks.nbytes
        return index

    def term_block_maxima(self, field: str, term: str, key: Hashable,
                          score_entries: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> tuple[int, np.ndarray]:
        """(block size, the highest score in each block of ``IMPACT_BLOCK_SIZE`` postings entries of
        ``term``) where ``score_entries(frequencies, field lengths)`` scores entries and ``key``
        names that scoring (its statistics): the block-max impacts of top-k pruning, computed on
        first use from the term's own arrays and kept (a float per block, bounded LRU)."""
        data = self._inverted_field(field)
        term_number = None if data is None else self._term_number(data, term)
        if term_number is None:
            return IMPACT_BLOCK_SIZE, _EMPTY_F64
        cache_key = (field, term_number, key)
        with self._block_cache_lock:
            cached = self._block_maxima.get(cache_key)
            if cached is not None:
                self._block_maxima.move_to_end(cache_key)
                return cached
        first, last = int(data.entry_offsets[term_number]), int(data.entry_offsets[term_number + 1])
        if last == first:
            return IMPACT_BLOCK_SIZE, _EMPTY_F64
        scores = score_entries(data.frequencies[first:last], data.lengths[self.postings_docs(field, term)])
        block_size = IMPACT_BLOCK_SIZE
        maxima = np.maximum.reduceat(scores, np.arange(0, last - first, block_size))
        maxima.flags.writeable = False
        with self._block_cache_lock:
            self._block_maxima[cache_key] = (block_size, maxima)
            if len(self._block_maxima) > BLOCK_MAXIMA_CACHE_TERMS:
                self._block_maxima.popitem(last=False)
        return block_size, maxima

    def positions_at(self, field: str, term: str, entries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of some postings entries of ``term`` only (``entries``: ascending indexes into
        ``postings_docs``): (count per entry int64, their positions concatenated), read in bulk
        without materialising the term's other positions."""
        data = self._inverted_field(field)
        term_number = None if data is None else self._term_number(data, term)
        if term_number is None or len(entries) == 0:
            return np.zeros(len(entries), dtype=np.int64), _EMPTY_U32
        absolute = entries.astype(np.int64) + int(data.entry_offsets[term_number])
        if not data.has_positions:   # keyword-like fields: every occurrence reports position 0
            counts = data.frequencies[absolute].astype(np.int64)
            return counts, np.zeros(int(counts.sum()), dtype=np.uint32)
        starts = data.position_offsets[absolute].astype(np.int64)
        counts = data.position_offsets[absolute + 1].astype(np.int64) - starts
        total = int(counts.sum())
        if total == 0:
            return counts, _EMPTY_U32
        # index of every wanted position: its entry's start plus its rank within the entry
        shift = starts - (np.cumsum(counts) - counts)
        return counts, data.positions[np.repeat(shift, counts) + np.arange(total, dtype=np.int64)]

    def entry_docs(self, field: str) -> np.ndarray:
        """The doc of every postings entry of ``field``, term after term (what merges read): every
        block is decompressed once, without going through the block cache, and all bitmaps are
        decoded together (roaring_codec.deserialize_postings)."""
        data = self._inverted_field(field)
        if data is None:
            return np.zeros(0, dtype=np.uint32)
        block_offsets = data.block_offsets.tolist()
        decoded_blocks = [decompressor().decompress(data.blocks[block_offsets[block]:block_offsets[block + 1]])
                          for block in range(len(block_offsets) - 1)]
        block_bases = np.zeros(len(decoded_blocks) + 1, dtype=np.int64)
        np.cumsum([len(decoded) for decoded in decoded_blocks], out=block_bases[1:])
        buffer = np.frombuffer(b"".join(decoded_blocks), dtype=np.uint8)
        locations = data.term_locations.astype(np.int64)
        try:
            return deserialize_postings(buffer, block_bases[locations[:, 0]] + locations[:, 1], locations[:, 2],
                                        np.diff(data.entry_offsets))
        except (ValueError, IndexError) as error:
            raise CorruptedIndexError(f"segment file [{self.path}] field [{field}]: postings do not decode: {error}",
                                      file=str(self.path)) from None

    def term_frequencies(self, field: str, term: str) -> np.ndarray:
        data = self._inverted_field(field)
        term_number = None if data is None else self._term_number(data, term)
        if term_number is None:
            return _EMPTY_U32
        return data.frequencies[data.entry_offsets[term_number]: data.entry_offsets[term_number + 1]]

    def positions(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        data = self._inverted_field(field)
        term_number = None if data is None else self._term_number(data, term)
        if term_number is None:
            return np.zeros(1, dtype=np.uint32), _EMPTY_U32
        first, last = int(data.entry_offsets[term_number]), int(data.entry_offsets[term_number + 1])
        if data.has_positions:
            bounds = data.position_offsets[first: last + 1]
            flat = data.positions[bounds[0]: bounds[-1]]
            return (bounds - bounds[0]).astype(np.uint32), flat
        # keyword-like fields keep no positions: every occurrence reports position 0
        frequencies = data.frequencies[first:last]
        offsets = np.zeros(len(frequencies) + 1, dtype=np.uint32)
        np.cumsum(frequencies, out=offsets[1:])
        return offsets, np.zeros(int(offsets[-1]), dtype=np.uint32)

    def field_lengths(self, field: str) -> np.ndarray:
        data = self._inverted_field(field)
        return np.zeros(self.max_doc, dtype=np.uint32) if data is None else data.lengths

    def field_statistics(self, field: str) -> FieldStatistics:
        meta = self._fields.get(field)
        if meta is None or not meta.get("inverted"):
            return FieldStatistics(0, 0)
        return FieldStatistics(meta["doc_count"], meta["sum_total_term_freq"])

    # ---- doc values ------------------------------------------------------------------------

    def numeric_doc_values(self, field: str) -> NumericDocValues | None:
        values = self._numeric.get(field)
        if values is None:
            meta = self._fields.get(field)
            if meta is None or "numeric" not in meta:
                return None
            values = NumericDocValues(self._sections.array(f"numeric/{field}/offsets"),
                                      self._sections.array(f"numeric/{field}/values"),
                                      meta["numeric"] == "float")
            self._numeric[field] = values
        return values

    def keyword_doc_values(self, field: str) -> SortedSetDocValues | None:
        values = self._keyword.get(field)
        if values is None:
            meta = self._fields.get(field)
            if meta is None or not meta.get("keyword_doc_values"):
                return None
            values = SortedSetDocValues(self._sections.strings(f"keyword/{field}/terms"),
                                        self._sections.array(f"keyword/{field}/offsets"),
                                        self._sections.array(f"keyword/{field}/ordinals"))
            self._keyword[field] = values
        return values

    def field_type(self, field: str) -> str | None:
        meta = self._fields.get(field)
        return None if meta is None else meta["type"]

    # ---- stored ----------------------------------------------------------------------------

    def source(self, doc: int) -> bytes:
        if not 0 <= doc < self.max_doc:
            raise IndexError(f"doc {doc} outside segment {self.name} (max_doc {self.max_doc})")
        block = int(np.searchsorted(self._source_block_first_docs, doc, side="right")) - 1
        decoded = self._decoded_source_block(block)
        block_start = int(self._source_offsets[self._source_block_first_docs[block]])
        return decoded[int(self._source_offsets[doc]) - block_start: int(self._source_offsets[doc + 1]) - block_start]

    def _decoded_source_block(self, block: int) -> bytes:
        key = ("\0sources", block)
        with self._block_cache_lock:
            cached = self._block_cache.get(key)
            if cached is not None:
                self._block_cache.move_to_end(key)
                return cached
        start, end = int(self._source_block_offsets[block]), int(self._source_block_offsets[block + 1])
        first_doc = int(self._source_block_first_docs[block])
        last_doc = int(self._source_block_first_docs[block + 1])
        raw_length = int(self._source_offsets[last_doc] - self._source_offsets[first_doc])
        decoded = decompressor().decompress(self._sections.raw("sources/blocks")[start:end],
                                            max_output_size=max(raw_length, 1))
        with self._block_cache_lock:
            self._block_cache[key] = decoded
            if len(self._block_cache) > DECODED_BLOCK_CACHE_SIZE:
                self._block_cache.popitem(last=False)
        return decoded

    def source_chunks(self, docs: np.ndarray) -> Iterator[list[bytes]]:
        """The _source of each of ``docs`` (ascending local ids), one list per stored block in
        order: each block is decompressed once, outside the block cache (what merges read; a
        ``source()`` call per document cost ~3 µs, most of a merge's source copy)."""
        docs = np.asarray(docs, dtype=np.int64)
        if not docs.size:
            return
        first_docs = self._source_block_first_docs
        blocks = np.searchsorted(first_docs, docs, side="right") - 1
        group_starts = np.flatnonzero(np.concatenate(([True], blocks[1:] != blocks[:-1])))
        group_ends = np.append(group_starts[1:], docs.size)
        offsets = self._source_offsets
        for group_start, group_end in zip(group_starts.tolist(), group_ends.tolist()):
            block = int(blocks[group_start])
            start, end = int(self._source_block_offsets[block]), int(self._source_block_offsets[block + 1])
            block_base = int(offsets[first_docs[block]])
            raw_length = int(offsets[first_docs[block + 1]]) - block_base
            decoded = decompressor().decompress(self._sections.raw("sources/blocks")[start:end],
                                                max_output_size=max(raw_length, 1))
            group = docs[group_start:group_end]
            starts = (offsets[group] - block_base).tolist()
            ends = (offsets[group + 1] - block_base).tolist()
            yield [decoded[source_start:source_end] for source_start, source_end in zip(starts, ends)]

    def document_ids(self) -> list[str]:
        """Every document's ``_id`` in local doc order (shared: never modify it)."""
        if self._document_ids is None:
            self._document_ids = self._sections.strings("document_ids")
        return self._document_ids

    def document_id(self, doc: int) -> str:
        if self._document_ids is None:
            self._document_ids = self._sections.strings("document_ids")
        return self._document_ids[doc]

    def id_hashes(self) -> np.ndarray:
        """Sorted int64 ``hash()`` of every ``_id`` in the segment (this process only: str hashes are
        salted per process). Lets a writer test a whole batch of ids for possible presence at once."""
        hashes = self._id_hashes
        if hashes is None:
            terms = self.terms("_id")
            hashes = np.sort(np.fromiter(map(hash, terms), dtype=np.int64, count=len(terms)))
            self._id_hashes = hashes
        return hashes

    def has_routing(self) -> bool:
        """Whether any document of the segment was indexed with a custom routing value."""
        return self._sections.has("routed_docs")

    def routing(self, doc: int) -> str | None:
        """The custom routing value the document was indexed with (``_routing``), if any."""
        if not self._sections.has("routed_docs"):
            return None
        if self._routings is None:
            self._routed_docs = BitMap.deserialize(self._sections.bytes("routed_docs"))
            self._routings = self._sections.strings("routings")
        return self._routings[doc] if doc in self._routed_docs else None

    def docs_with_id(self, document_id: str) -> list[int]:
        """Every local doc carrying ``document_id``, deleted and tombstones included."""
        return self.postings("_id", document_id).to_array().tolist()


class SegmentView:
    """A segment as one searcher snapshot sees it: the shared core plus a frozen live-docs bitmap."""

    __slots__ = ("core", "name", "max_doc", "_live_docs", "_live_mask")

    def __init__(self, core: SegmentCore, live_docs: FrozenBitMap) -> None:
        self.core = core
        self.name = core.name
        self.max_doc = core.max_doc
        self._live_docs = live_docs
        self._live_mask: np.ndarray | bool | None = None   # False: every doc is live

    def live_docs(self) -> FrozenBitMap:
        return self._live_docs

    def field_names(self) -> frozenset[str]:
        return self.core.indexed_field_names

    def terms(self, field: str) -> Sequence[str]:
        return self.core.terms(field)

    def postings(self, field: str, term: str) -> BitMap:
        return self.core.postings(field, term)

    def entry_docs(self, field: str) -> np.ndarray:
        return self.core.entry_docs(field)

    def document_frequency(self, field: str, term: str) -> int:
        return self.core.document_frequency(field, term)

    def postings_docs(self, field: str, term: str) -> np.ndarray:
        return self.core.postings_docs(field, term)

    def term_block_maxima(self, field: str, term: str, key: Hashable,
                          score_entries: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> tuple[int, np.ndarray]:
        return self.core.term_block_maxima(field, term, key, score_entries)

    def postings_rank_index(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        return self.core.postings_rank_index(field, term)

    def positions_at(self, field: str, term: str, entries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.core.positions_at(field, term, entries)

    def live_mask(self) -> np.ndarray | None:
        """Boolean per doc (True = live), or None when every doc is live; computed once per view."""
        mask = self._live_mask
        if mask is None:
            if len(self._live_docs) == self.max_doc:
                mask = False
            else:
                mask = np.zeros(self.max_doc, dtype=bool)
                mask[np.frombuffer(self._live_docs.to_array(), dtype=np.uint32)] = True
                mask.flags.writeable = False
            self._live_mask = mask
        return None if mask is False else mask

    def term_frequencies(self, field: str, term: str) -> np.ndarray:
        return self.core.term_frequencies(field, term)

    def positions(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        return self.core.positions(field, term)

    def field_lengths(self, field: str) -> np.ndarray:
        return self.core.field_lengths(field)

    def field_statistics(self, field: str) -> FieldStatistics:
        return self.core.field_statistics(field)

    def numeric_doc_values(self, field: str) -> NumericDocValues | None:
        return self.core.numeric_doc_values(field)

    def keyword_doc_values(self, field: str) -> SortedSetDocValues | None:
        return self.core.keyword_doc_values(field)

    def source(self, doc: int) -> bytes:
        return self.core.source(doc)

    def document_id(self, doc: int) -> str:
        return self.core.document_id(doc)

    def routing(self, doc: int) -> str | None:
        return self.core.routing(doc)

    def lookup_id(self, document_id: str) -> int | None:
        for doc in self.core.docs_with_id(document_id):
            if doc in self._live_docs:
                return doc
        return None

    @property
    def seq_nos(self) -> np.ndarray:
        return self.core.seq_nos

    @property
    def primary_terms(self) -> np.ndarray:
        return self.core.primary_terms

    @property
    def versions(self) -> np.ndarray:
        return self.core.versions


def live_docs_of(core: SegmentCore, deleted: BitMap) -> FrozenBitMap:
    live = BitMap(range(core.max_doc))
    live -= core.tombstones
    if deleted:
        live -= deleted
    return FrozenBitMap(live)
