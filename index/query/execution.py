"""Executable query plans: per-segment matching (bitmaps) and scoring (numpy arrays).

Owns the plan classes the planner builds from query nodes, and the two per-request execution
states: ``ShardExecution`` (one searcher snapshot, the request clock, shard-wide statistics for
BM25, the filter cache, profile timings) and ``SegmentExecution`` (one segment's live docs and
decoded doc values). Every plan answers two questions for a segment:

- ``matches(segment_execution) -> BitMap`` — filter context: which docs match (deleted docs
  included: live docs are applied once, at the top);
- ``scores(segment_execution) -> DocScores`` — query context: the matching docs as a sorted
  int64 array and their scores as a float64 array, computed with numpy over posting arrays.

It must never parse JSON or know about HTTP; it reads segments only through the SegmentReader
protocol (contracts §3). No per-document Python loop runs on the hot path, except sloppy phrase
matching over the (already intersected) candidates.
"""

from __future__ import annotations

import dataclasses

import math
import time
from array import array
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from pyroaring import BitMap

from index.errors import QueryShardError

BM25_K1 = 1.2
BM25_B = 0.75
# OpenSearch scores with Lucene's LegacyBM25Similarity, which keeps (k1 + 1) in the numerator
# (a lone match of a term in a one-doc index scores 0.2876821, as users see in OpenSearch).
BM25_NUMERATOR = BM25_K1 + 1.0
EMPTY_DOCS = np.zeros(0, dtype=np.int64)
EMPTY_SCORES = np.zeros(0, dtype=np.float64)
# Positions are shifted by this bias inside 64-bit (doc << 32 | position) keys so that phrase
# positions minus their offset in the phrase stay non-negative.
_POSITION_BIAS = 1 << 20


@dataclass(frozen=True, slots=True)
class DocScores:
    docs: np.ndarray      # int64, sorted ascending, unique
    scores: np.ndarray    # float64, aligned with docs

    @staticmethod
    def empty() -> "DocScores":
        return DocScores(EMPTY_DOCS, EMPTY_SCORES)


def docs_from_bitmap(bitmap: BitMap) -> np.ndarray:
    if not bitmap:
        return EMPTY_DOCS
    return np.frombuffer(bitmap.to_array(), dtype=np.uint32).astype(np.int64)


def bitmap_from_docs(docs: np.ndarray) -> BitMap:
    if len(docs) == 0:
        return BitMap()
    doc_array = array("I")
    doc_array.frombytes(np.ascontiguousarray(docs, dtype=np.uint32).tobytes())
    return BitMap(doc_array)


def term_docs(segment: Any, field_name: str, term: str) -> np.ndarray:
    """A term's postings as a sorted int64 array: the reader's decoded cache when it has one."""
    fast = getattr(segment, "postings_docs", None)
    if fast is not None:
        return fast(field_name, term)
    return docs_from_bitmap(segment.postings(field_name, term))


# Below this many docs to look up, a binary search of the postings beats building a rank index.
RANK_LOOKUP_MINIMUM_DOCS = 256


def postings_entries(segment: Any, field_name: str, term: str, docs: np.ndarray,
                     postings: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(which of ``docs`` (ascending) hold ``term``: a bool mask, the postings entry of each that
    does). A long list is looked up in the reader's rank index (bitset + ranks, a few linear
    passes) when it has one; otherwise by binary search of the decoded postings."""
    if len(docs) == 0:
        return np.zeros(0, dtype=bool), EMPTY_DOCS
    rank_index = getattr(segment, "postings_rank_index", None) if len(docs) >= RANK_LOOKUP_MINIMUM_DOCS else None
    index = rank_index(field_name, term) if rank_index is not None else None
    if index is not None:
        words, ranks = index
        word_numbers = docs >> 6
        bits = (docs & 63).astype(np.uint64)
        chosen_words = words[word_numbers]
        found = ((chosen_words >> bits) & np.uint64(1)).astype(bool)
        below = chosen_words[found] & ((np.uint64(1) << bits[found]) - np.uint64(1))
        return found, ranks[word_numbers[found]] + np.bitwise_count(below)
    if postings is None:
        postings = term_docs(segment, field_name, term)
    if len(postings) == 0:
        return np.zeros(len(docs), dtype=bool), EMPTY_DOCS
    positions = np.minimum(np.searchsorted(postings, docs), len(postings) - 1)
    found = postings[positions] == docs
    return found, positions[found]


def term_document_frequency(segment: Any, field_name: str, term: str) -> int:
    fast = getattr(segment, "document_frequency", None)
    if fast is not None:
        return fast(field_name, term)
    return len(segment.postings(field_name, term))


# Block-max bounds are computed with the score's own formula on (max frequency, min length); the
# rounding of each float operation is monotone but their composition need not be, so bounds are
# widened by far more than a float64 rounding error and than the float32 step of the ranking key.
_BOUND_SLACK = 1.0 + 1e-6
# Below this many postings entries (or 4x the window) a term is scored whole: pruning's bookkeeping
# would cost more than it saves. Tests lower it to exercise pruning on small corpora.
PRUNING_MINIMUM_ENTRIES = 2048
# A disjunction of terms is pruned (MaxScore) only above this many times as many entries in all.
DISJUNCTION_PRUNING_FACTOR = 16
# A phrase with at most this many candidate docs (or 4x the window) is evaluated whole; pruned
# ones evaluate their best-bounded candidates in chunks starting at this size (or 2x the window).
PHRASE_PRUNING_MINIMUM_CANDIDATES = 512
PHRASE_PRUNING_FIRST_CHUNK = 128


def _block_entries(blocks: np.ndarray, block_size: int, entry_count: int) -> np.ndarray:
    """Entry indexes of the given ascending blocks, ascending."""
    entries = (blocks[:, None] * block_size + np.arange(block_size, dtype=np.int64)[None, :]).ravel()
    if len(blocks) and blocks[-1] * block_size + block_size > entry_count:
        entries = entries[entries < entry_count]
    return entries


def kth_ranking_score(scores: np.ndarray, k: int) -> float:
    """The k-th best ranking key (float32 score, as the collector compares) as a float64."""
    keys = scores.astype(np.float32)
    return float(np.partition(keys, len(keys) - k)[len(keys) - k])


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Ascending distinct values. A stable sort merges already-sorted runs (concatenated postings)
    in linear time, and numpy 2's hash-based np.unique measured 10-200x slower on such input."""
    if len(values) == 0:
        return values
    ordered = np.sort(values, kind="stable")
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def sorted_unique_with_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ascending distinct values, each value's index in them) — np.unique(return_inverse=True)
    without its sort: a stable argsort merges concatenated sorted runs (postings) in linear time,
    measured 2-3x cheaper here on two terms' postings."""
    if len(values) == 0:
        return values, np.zeros(0, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.empty(len(ordered), dtype=bool)
    starts[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    inverse = np.empty(len(values), dtype=np.int64)
    inverse[order] = np.cumsum(starts) - 1
    return ordered[starts], inverse


def sorted_run_counts(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values, how many times each occurs) of an ascending array, by run boundaries."""
    if len(ordered) == 0:
        return ordered, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    return ordered[starts], np.diff(np.append(starts, len(ordered)))


def sorted_membership(values: np.ndarray, sorted_members: np.ndarray) -> np.ndarray:
    """Which of ``values`` occur in ``sorted_members`` (ascending): binary search per value,
    O(n log m) with no sort — np.isin and np.intersect1d sort their concatenation."""
    if len(values) == 0 or len(sorted_members) == 0:
        return np.zeros(len(values), dtype=bool)
    positions = np.minimum(np.searchsorted(sorted_members, values), len(sorted_members) - 1)
    return sorted_members[positions] == values


def sorted_intersection(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(common values, their indexes in left, in right) of two ascending unique arrays."""
    if len(left) > len(right):
        common, right_index, left_index = sorted_intersection(right, left)
        return common, left_index, right_index
    if len(left) == 0 or len(right) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return left[:0], empty, empty
    positions = np.minimum(np.searchsorted(right, left), len(right) - 1)
    found = right[positions] == left
    return left[found], np.flatnonzero(found), positions[found]


def _restrict(doc_scores: DocScores, keep: np.ndarray) -> DocScores:
    return DocScores(doc_scores.docs[keep], doc_scores.scores[keep])


def bitmap_membership(docs: np.ndarray, bitmap: BitMap) -> np.ndarray:
    """Which of ``docs`` (ascending, unique) are in ``bitmap``, as a bool mask."""
    if len(docs) == 0:
        return np.zeros(0, dtype=bool)
    if len(bitmap) > 4 * len(docs):
        # a wide filter (a cached range): intersect in roaring rather than widen the whole filter;
        # the survivors are a subset of docs, so they are searched in docs (not docs in them)
        kept = docs_from_bitmap(bitmap_from_docs(docs) & bitmap)
        keep = np.zeros(len(docs), dtype=bool)
        keep[np.searchsorted(docs, kept)] = True
        return keep
    return sorted_membership(docs, docs_from_bitmap(bitmap))


def restrict_to_bitmap(doc_scores: DocScores, bitmap: BitMap) -> DocScores:
    if len(doc_scores.docs) == 0:
        return doc_scores
    return _restrict(doc_scores, bitmap_membership(doc_scores.docs, bitmap))


def remove_bitmap(doc_scores: DocScores, bitmap: BitMap) -> DocScores:
    if len(doc_scores.docs) == 0 or not bitmap:
        return doc_scores
    return _restrict(doc_scores, ~sorted_membership(doc_scores.docs, docs_from_bitmap(bitmap)))


def bm25_idf(document_frequency: int, document_count: int) -> float:
    return math.log(1.0 + (document_count - document_frequency + 0.5) / (document_frequency + 0.5))


def _detail(value: float, description: str, details: list | None = None) -> dict:
    return {"value": float(value), "description": description, "details": details or []}


# -- execution state -------------------------------------------------------------------------------


class ShardExecution:
    """One request on one shard: the snapshot, the clock, shard-wide statistics and caches."""

    def __init__(self, searcher: Any, context: Any, filter_cache: Any = None, profile: bool = False) -> None:
        self.searcher = searcher
        self.context = context
        self.mapping = searcher.mapping
        self.analysis = searcher.analysis
        self.filter_cache = filter_cache
        self.profile = profile
        self.profile_timings: dict[int, list[int]] = {}   # id(plan) -> [nanoseconds, calls]
        self._field_statistics: dict[str, tuple[int, int]] = {}
        self._document_frequencies: dict[tuple[str, str], int] = {}
        self.clause_count = 0
        # dfs_query_then_fetch: statistics summed over every shard by node/, used where present
        global_statistics = getattr(context, "term_statistics", None)
        if global_statistics is not None:
            self._field_statistics.update(global_statistics.field_statistics)
            self._document_frequencies.update(global_statistics.document_frequencies)

    @property
    def now_millis(self) -> int:
        return int(self.context.now_millis)

    def field_statistics(self, field_name: str) -> tuple[int, int]:
        """(documents with the field, total tokens in the field) summed over every segment."""
        cached = self._field_statistics.get(field_name)
        if cached is None:
            document_count = 0
            total_term_frequency = 0
            for segment in self.searcher.segments:
                if field_name not in segment.field_names():
                    continue
                statistics = segment.field_statistics(field_name)
                document_count += statistics.doc_count
                total_term_frequency += statistics.sum_total_term_freq
            cached = (document_count, total_term_frequency)
            self._field_statistics[field_name] = cached
        return cached

    def document_frequency(self, field_name: str, term: str) -> int:
        key = (field_name, term)
        cached = self._document_frequencies.get(key)
        if cached is None:
            cached = sum(term_document_frequency(segment, field_name, term) for segment in self.searcher.segments)
            self._document_frequencies[key] = cached
        return cached

    def recorded_field_statistics(self) -> dict[str, tuple[int, int]]:
        return dict(self._field_statistics)

    def recorded_document_frequencies(self) -> dict[tuple[str, str], int]:
        return dict(self._document_frequencies)

    def expand_terms(self, field_name: str, select: Callable[[Sequence[str]], list]) -> list:
        """Union over segments of ``select(segment terms)`` (selections must be hashable items).

        Each segment's sorted dictionary is searched on its own (bisection for prefixes), so no
        shard-wide vocabulary is ever materialised."""
        selected: set = set()
        for segment in self.searcher.segments:
            if field_name in segment.field_names():
                selected.update(select(segment.terms(field_name)))
        return sorted(selected)

    def record_time(self, plan: "Plan", nanoseconds: int) -> None:
        entry = self.profile_timings.setdefault(id(plan), [0, 0])
        entry[0] += nanoseconds
        entry[1] += 1


class SegmentExecution:
    """One segment within a ShardExecution: live docs and decoded doc values, computed once."""

    def __init__(self, shard: ShardExecution, segment: Any, segment_index: int, doc_base: int = 0) -> None:
        self.shard = shard
        self.segment = segment
        self.segment_index = segment_index
        self.doc_base = doc_base
        self._live_docs: BitMap | None = None
        self._value_docs: dict[str, np.ndarray] = {}
        self._all_docs: BitMap | None = None
        self._live_mask: np.ndarray | None | bool = False   # False: not computed yet
        # the filter cache follows the segment's immutable content, not its (reusable) name
        self.cache_identity = getattr(segment, "core", segment)

    @property
    def max_doc(self) -> int:
        return int(self.segment.max_doc)

    def live_docs(self) -> BitMap:
        if self._live_docs is None:
            self._live_docs = self.segment.live_docs()
        return self._live_docs

    def live_mask(self) -> np.ndarray | None:
        """Boolean per doc (True = live), or None when every doc is live."""
        if self._live_mask is False:
            fast = getattr(self.segment, "live_mask", None)
            if fast is not None:
                self._live_mask = fast()
            else:
                live = self.live_docs()
                if len(live) == self.max_doc:
                    self._live_mask = None
                else:
                    mask = np.zeros(self.max_doc, dtype=bool)
                    mask[docs_from_bitmap(live)] = True
                    self._live_mask = mask
        return self._live_mask

    def all_docs(self) -> BitMap:
        if self._all_docs is None:
            self._all_docs = BitMap(range(self.max_doc))
        return self._all_docs

    def has_field(self, field_name: str) -> bool:
        return field_name in self.segment.field_names()

    def value_docs(self, field_name: str, offsets: np.ndarray) -> np.ndarray:
        """For CSR doc values: the doc of every value (non-decreasing), cached per field."""
        cached = self._value_docs.get(field_name)
        if cached is None:
            counts = np.diff(offsets.astype(np.int64))
            cached = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
            self._value_docs[field_name] = cached
        return cached

    def run_matches(self, plan: "Plan") -> BitMap:
        cache = self.shard.filter_cache
        cache_key = plan.cache_key() if cache is not None else None
        if cache_key is not None:
            cached = cache.get(self.cache_identity, cache_key)
            if cached is not None:
                return cached
        if self.shard.profile:
            started = time.perf_counter_ns()
            result = plan.matches(self)
            self.shard.record_time(plan, time.perf_counter_ns() - started)
        else:
            result = plan.matches(self)
        if cache_key is not None:
            cache.put(self.cache_identity, cache_key, result)
        return result

    def run_scores(self, plan: "Plan") -> DocScores:
        if self.shard.profile:
            started = time.perf_counter_ns()
            result = plan.scores(self)
            self.shard.record_time(plan, time.perf_counter_ns() - started)
            return result
        return plan.scores(self)


# -- plans -----------------------------------------------------------------------------------------


class Plan:
    """A query ready to run on the segments of one shard snapshot."""

    boost: float = 1.0
    profile_type = "Query"
    # whether count_live after top_candidates costs little next to scoring every match; when it
    # does not (phrases), a request that needs the exact total is not pruned
    exact_count_is_cheap = True

    def children(self) -> tuple["Plan", ...]:
        return ()

    def description(self) -> str:
        return self.profile_type

    def cost(self, segment_execution: SegmentExecution) -> int:
        return segment_execution.max_doc

    def cache_key(self) -> str | None:
        """A stable key when this plan is worth caching as a filter bitmap; None otherwise."""
        return None

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        return bitmap_from_docs(self.scores(segment_execution).docs)

    def scores(self, segment_execution: SegmentExecution) -> DocScores:
        docs = docs_from_bitmap(segment_execution.run_matches(self))
        return DocScores(docs, np.full(len(docs), float(self.boost)))

    def explain(self, segment_execution: SegmentExecution, doc: int) -> dict | None:
        if doc not in segment_execution.run_matches(self):
            return None
        return _detail(self.boost, f"{self.description()}")

    def top_candidates(self, segment_execution: SegmentExecution, window: int,
                       floor: float = -math.inf) -> DocScores | None:
        """Live docs with their exact scores, a superset of the segment's best ``window`` by
        (float32 score descending, doc ascending) among the docs whose float32 score reaches
        ``floor`` (the shard's window-th best so far: earlier segments already hold ``window``
        docs at least that good) — or None when this plan cannot prune (the caller then scores
        every match). Used only when the window is all the request needs."""
        return None

    def count_live(self, segment_execution: SegmentExecution) -> int:
        """How many live docs match (the exact total when candidates were pruned)."""
        return segment_execution.run_matches(self).intersection_cardinality(segment_execution.live_docs())

    def highlight_matchers(self, collected: dict[str, list[Callable[[str], bool]]]) -> None:
        for child in self.children():
            child.highlight_matchers(collected)


class MatchAllPlan(Plan):
    profile_type = "MatchAllDocsQuery"

    def __init__(self, boost: float = 1.0) -> None:
        self.boost = boost

    def description(self) -> str:
        return "*:*"

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        return segment_execution.all_docs()

    def top_candidates(self, segment_execution: SegmentExecution, window: int,
                       floor: float = -math.inf) -> DocScores | None:
        # every doc scores the boost: the best window are the first live docs, nothing to score
        if window <= 0 or np.float32(self.boost) < floor:
            return DocScores.empty()
        docs = np.fromiter(segment_execution.live_docs()[:window], dtype=np.int64)
        return DocScores(docs, np.full(len(docs), float(self.boost)))


class MatchNonePlan(Plan):
    profile_type = "MatchNoDocsQuery"

    def __init__(self, reason: str = "") -> None:
        self.reason = reason

    def description(self) -> str:
        return f"MatchNoDocsQuery(\"{self.reason}\")"

    def cost(self, segment_execution: SegmentExecution) -> int:
        return 0

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        return BitMap()

    def scores(self, segment_execution: SegmentExecution) -> DocScores:
        return DocScores.empty()


class TermPlan(Plan):
    """One term, scored with BM25 from shard-wide statistics (idf, average field length)."""

    profile_type = "TermQuery"

    def __init__(self, shard: ShardExecution, field_name: str, term: str, boost: float = 1.0,
                 uses_norms: bool = True, document_frequency_override: int | None = None) -> None:
        self.field_name = field_name
        self.term = term
        self.boost = boost
        self.uses_norms = uses_norms
        document_count, total_term_frequency = shard.field_statistics(field_name)
        self.document_frequency = (document_frequency_override if document_frequency_override is not None
                                   else shard.document_frequency(field_name, term))
        self.document_count = max(document_count, self.document_frequency)
        # statistics without tokens (a reader that reports none) must not divide by zero
        self.average_length = (total_term_frequency / document_count) if total_term_frequency > 0 and document_count > 0 else 1.0
        self.idf = bm25_idf(self.document_frequency, self.document_count)

    def description(self) -> str:
        return f"{self.field_name}:{self.term}"

    def cost(self, segment_execution: SegmentExecution) -> int:
        return term_document_frequency(segment_execution.segment, self.field_name, self.term)

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        return segment_execution.segment.postings(self.field_name, self.term)

    def _lengths(self, segment_execution: SegmentExecution, docs: np.ndarray) -> np.ndarray:
        if not self.uses_norms:
            return np.ones(len(docs), dtype=np.float64)
        return segment_execution.segment.field_lengths(self.field_name)[docs].astype(np.float64)

    def _bm25(self, frequencies: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        # the one formula: full scoring, scoring a subset and block bounds must agree bit for bit
        normaliser = BM25_K1 * (1.0 - BM25_B + BM25_B * lengths / self.average_length)
        return (self.boost * BM25_NUMERATOR * self.idf) * frequencies / (frequencies + normaliser)

    def scores(self, segment_execution: SegmentExecution) -> DocScores:
        segment = segment_execution.segment
        docs = term_docs(segment, self.field_name, self.term)
        if len(docs) == 0:
            return DocScores.empty()
        frequencies = segment.term_frequencies(self.field_name, self.term).astype(np.float64)
        return DocScores(docs, self._bm25(frequencies, self._lengths(segment_execution, docs)))

    def scores_at(self, segment_execution: SegmentExecution, docs: np.ndarray) -> np.ndarray:
        """Scores of ``docs`` (ascending, every one in this term's postings), no other posting touched."""
        segment = segment_execution.segment
        entries = np.searchsorted(term_docs(segment, self.field_name, self.term), docs)
        frequencies = segment.term_frequencies(self.field_name, self.term)[entries].astype(np.float64)
        return self._bm25(frequencies, self._lengths(segment_execution, docs))

    def scores_of_entries(self, segment_execution: SegmentExecution, docs: np.ndarray,
                          entries: np.ndarray) -> np.ndarray:
        """Scores of ``docs`` given their indexes into this term's postings."""
        frequencies = segment_execution.segment.term_frequencies(self.field_name, self.term)[entries]
        return self._bm25(frequencies.astype(np.float64), self._lengths(segment_execution, docs))

    def block_bounds(self, segment_execution: SegmentExecution) -> tuple[int, np.ndarray] | None:
        """(block size, an upper bound of the score per block of postings entries), or None."""
        maxima = getattr(segment_execution.segment, "term_block_maxima", None)
        if maxima is None or self.boost <= 0:
            return None

        def score_entries(frequencies: np.ndarray, lengths: np.ndarray) -> np.ndarray:
            lengths = lengths.astype(np.float64) if self.uses_norms else np.ones(len(lengths), dtype=np.float64)
            return self._bm25(frequencies.astype(np.float64), lengths)

        # the block maxima are exact scores under these statistics: they are the cache key
        key = (self.uses_norms, self.average_length, self.boost * BM25_NUMERATOR * self.idf)
        block_size, block_maxima = maxima(self.field_name, self.term, key, score_entries)
        return block_size, block_maxima * _BOUND_SLACK

    def _entries_scored(self, segment_execution: SegmentExecution, docs: np.ndarray, entries: np.ndarray,
                        allowed: BitMap | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(live docs, scores) of the given postings entries (only docs in ``allowed`` if given)."""
        segment = segment_execution.segment
        chosen = docs[entries]
        live = segment_execution.live_mask()
        if live is not None:
            keep = live[chosen]
            chosen, entries = chosen[keep], entries[keep]
        if allowed is not None and len(chosen):
            keep = bitmap_membership(chosen, allowed)
            chosen, entries = chosen[keep], entries[keep]
        frequencies = segment.term_frequencies(self.field_name, self.term)[entries].astype(np.float64)
        return chosen, self._bm25(frequencies, self._lengths(segment_execution, chosen))

    def top_candidates(self, segment_execution: SegmentExecution, window: int, floor: float = -math.inf,
                       allowed: BitMap | None = None) -> DocScores | None:
        """Block-max pruning: a threshold from the block maxima (or, with deleted docs or an
        ``allowed`` filter, from scoring the best blocks until ``window`` docs qualify), then every
        block whose bound reaches it."""
        docs = term_docs(segment_execution.segment, self.field_name, self.term)
        entry_count = len(docs)
        bounds = self.block_bounds(segment_execution) if entry_count > max(4 * window, PRUNING_MINIMUM_ENTRIES) else None
        if bounds is None:
            return None
        block_size, block_bounds = bounds
        if len(block_bounds) <= window:
            return None
        if segment_execution.live_mask() is None and allowed is None:
            # every block's maximum is some live doc's exact score, so the window-th largest block
            # maximum is at most the window-th best score: a threshold without scoring anything
            threshold = kth_ranking_score(block_bounds / _BOUND_SLACK, window)
        else:
            order = np.argsort(-block_bounds, kind="stable")
            take = window
            while True:
                chosen_blocks = np.sort(order[:take])
                _, scores = self._entries_scored(segment_execution, docs,
                                                 _block_entries(chosen_blocks, block_size, entry_count), allowed)
                if len(scores) >= window or take >= len(order):
                    break
                take *= 4
            if len(scores) < window and floor == -math.inf:
                return None        # fewer qualifying docs than the window: nothing to prune
            threshold = kth_ranking_score(scores, window) if len(scores) >= window else floor
        selected = np.flatnonzero(block_bounds >= max(threshold, floor))
        chosen, scores = self._entries_scored(segment_execution, docs,
                                              _block_entries(selected, block_size, entry_count), allowed)
        return DocScores(chosen, scores)

    def count_live(self, segment_execution: SegmentExecution) -> int:
        if segment_execution.live_mask() is None:
            return term_document_frequency(segment_execution.segment, self.field_name, self.term)
        return super().count_live(segment_execution)

    def explain(self, segment_execution: SegmentExecution, doc: int) -> dict | None:
        segment = segment_execution.segment
        postings = segment.postings(self.field_name, self.term)
        if doc not in postings:
            return None
        rank = postings.rank(doc) - 1
        frequency = float(segment.term_frequencies(self.field_name, self.term)[rank])
        length = float(self._lengths(segment_execution, np.array([doc], dtype=np.int64))[0])
        tf = frequency / (frequency + BM25_K1 * (1 - BM25_B + BM25_B * length / self.average_length))
        score = self.boost * BM25_NUMERATOR * self.idf * tf
        return _detail(score, f"weight({self.field_name}:{self.term} in {doc}) [PerFieldSimilarity], result of:", [
            _detail(score, f"score(freq={frequency}), computed as boost * idf * tf from:", [
                _detail(self.boost * BM25_NUMERATOR, "boost"),
                _detail(self.idf, "idf, computed as log(1 + (N - n + 0.5) / (n + 0.5)) from:", [
                    _detail(self.document_frequency, "n, number of documents containing term"),
                    _detail(self.document_count, "N, total number of documents with field"),
                ]),
                _detail(tf, "tf, computed as freq / (freq + k1 * (1 - b + b * dl / avgdl)) from:", [
                    _detail(frequency, "freq, occurrences of term within document"),
                    _detail(BM25_K1, "k1, term saturation parameter"),
                    _detail(BM25_B, "b, length normalization parameter"),
                    _detail(length, "dl, length of field"),
                    _detail(self.average_length, "avgdl, average length of field"),
                ]),
            ]),
        ])

    def highlight_matchers(self, collected: dict[str, list[Callable[[str], bool]]]) -> None:
        term = self.term
        collected.setdefault(self.field_name, []).append(lambda candidate: candidate == term)


class PostingsUnionPlan(Plan):
    """Constant-score union of postings: terms, prefix, wildcard, regexp, case-insensitive term.

    ``select_terms`` picks the terms from one segment's sorted dictionary (patterns expand per
    segment, as Lucene's constant-score rewrite does)."""

    profile_type = "MultiTermQueryConstantScoreWrapper"

    def __init__(self, field_name: str, label: str, select_terms: Callable[[Sequence[str]], list[str]],
                 boost: float = 1.0, fixed_terms: tuple[str, ...] | None = None,
                 term_predicate: Callable[[str], bool] | None = None) -> None:
        self.field_name = field_name
        self.label = label
        self.select_terms = select_terms
        self.boost = boost
        self.fixed_terms = fixed_terms
        self.term_predicate = term_predicate

    def description(self) -> str:
        return f"{self.field_name}:{self.label}"

    def cache_key(self) -> str | None:
        return f"postings|{self.field_name!r}|{self.label!r}|{self.fixed_terms!r}"

    def _terms(self, segment_execution: SegmentExecution) -> list[str]:
        if self.fixed_terms is not None:
            return list(self.fixed_terms)
        if not segment_execution.has_field(self.field_name):
            return []
        return self.select_terms(segment_execution.segment.terms(self.field_name))

    def cost(self, segment_execution: SegmentExecution) -> int:
        if self.fixed_terms is not None:
            return sum(len(segment_execution.segment.postings(self.field_name, term)) for term in self.fixed_terms)
        return segment_execution.max_doc

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        segment = segment_execution.segment
        bitmaps = [segment.postings(self.field_name, term) for term in self._terms(segment_execution)]
        bitmaps = [bitmap for bitmap in bitmaps if bitmap]
        if not bitmaps:
            return BitMap()
        if len(bitmaps) == 1:
            return bitmaps[0]
        return BitMap.union(*bitmaps)

    def highlight_matchers(self, collected: dict[str, list[Callable[[str], bool]]]) -> None:
        if self.term_predicate is not None:
            collected.setdefault(self.field_name, []).append(self.term_predicate)
        elif self.fixed_terms is not None:
            fixed = frozenset(self.fixed_terms)
            collected.setdefault(self.field_name, []).append(lambda candidate: candidate in fixed)


class NumericRangePlan(Plan):
    """Numbers, dates and booleans through their doc values: a vectorised comparison."""

    profile_type = "IndexOrDocValuesQuery"

    def __init__(self, field_name: str, lower: float | int | None, upper: float | int | None,
                 include_lower: bool = True, include_upper: bool = True, boost: float = 1.0) -> None:
        self.field_name = field_name
        self.lower = lower
        self.upper = upper
        self.include_lower = include_lower
        self.include_upper = include_upper
        self.boost = boost

    def description(self) -> str:
        left = "[" if self.include_lower else "{"
        right = "]" if self.include_upper else "}"
        lower = "*" if self.lower is None else self.lower
        upper = "*" if self.upper is None else self.upper
        return f"{self.field_name}:{left}{lower} TO {upper}{right}"

    def cache_key(self) -> str | None:
        return f"range|{self.field_name!r}|{self.lower!r}|{self.upper!r}|{self.include_lower}|{self.include_upper}"

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        doc_values = field_numeric_doc_values(segment_execution, self.field_name)
        if doc_values is None or len(doc_values.values) == 0:
            return BitMap()
        values = doc_values.values
        keep = np.ones(len(values), dtype=bool)
        if self.lower is not None:
            keep &= (values >= self.lower) if self.include_lower else (values > self.lower)
        if self.upper is not None:
            keep &= (values <= self.upper) if self.include_upper else (values < self.upper)
        value_docs = segment_execution.value_docs(self.field_name, doc_values.offsets)[keep]
        if len(value_docs) == 0:
            return BitMap()
        # value_docs is non-decreasing: dropping repeats is a shifted comparison, not a sort
        distinct = np.concatenate(([True], value_docs[1:] != value_docs[:-1]))
        return bitmap_from_docs(value_docs[distinct])


class NumericTermsPlan(Plan):
    """Exact numeric values through doc values (term/terms on numbers, dates, booleans)."""

    profile_type = "PointInSetQuery"

    def __init__(self, field_name: str, values: Sequence[float | int], boost: float = 1.0) -> None:
        self.field_name = field_name
        self.values = tuple(values)
        self.boost = boost

    def description(self) -> str:
        return f"{self.field_name}:{list(self.values)}"

    def cache_key(self) -> str | None:
        return f"numeric_terms|{self.field_name!r}|{self.values!r}"

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        doc_values = field_numeric_doc_values(segment_execution, self.field_name)
        if doc_values is None or len(doc_values.values) == 0 or not self.values:
            return BitMap()
        wanted = np.array(self.values)
        if doc_values.values.dtype == np.uint64:
            # compare as uint64: a mixed int64/uint64 comparison would go through doubles
            wanted = np.array([int(value) for value in self.values
                               if float(value).is_integer() and 0 <= int(value) < 2 ** 64], dtype=np.uint64)
        keep = np.isin(doc_values.values, wanted)
        value_docs = segment_execution.value_docs(self.field_name, doc_values.offsets)[keep]
        if len(value_docs) == 0:
            return BitMap()
        distinct = np.concatenate(([True], value_docs[1:] != value_docs[:-1]))
        return bitmap_from_docs(value_docs[distinct])


def field_numeric_doc_values(segment_execution: "SegmentExecution", field_name: str) -> Any:
    """A field's numeric doc values as the query engine compares them. unsigned_long values are
    written as uint64, but a segment merge may carry them as int64 bit patterns (values past 2^63
    then look negative): every reader sees them as uint64 again (the cast restores the bits)."""
    doc_values = segment_execution.segment.numeric_doc_values(field_name)
    if doc_values is None or doc_values.values.dtype.kind != "i":
        return doc_values
    mapping = getattr(segment_execution.shard, "mapping", None)
    field_mapping = mapping.field(field_name) if mapping is not None else None
    if field_mapping is None or field_mapping.type != "unsigned_long":
        return doc_values
    return dataclasses.replace(doc_values, values=np.asarray(doc_values.values).astype(np.uint64))


class TermRangePlan(Plan):
    """A range over a keyword/text term dictionary, ordered by term string."""

    profile_type = "TermRangeQuery"

    def __init__(self, field_name: str, lower: str | None, upper: str | None, include_lower: bool,
                 include_upper: bool, boost: float = 1.0) -> None:
        self.field_name = field_name
        self.lower = lower
        self.upper = upper
        self.include_lower = include_lower
        self.include_upper = include_upper
        self.boost = boost

    def description(self) -> str:
        left = "[" if self.include_lower else "{"
        right = "]" if self.include_upper else "}"
        return f"{self.field_name}:{left}{self.lower or '*'} TO {self.upper or '*'}{right}"

    def cache_key(self) -> str | None:
        return (f"term_range|{self.field_name!r}|{self.lower!r}|{self.upper!r}|{self.include_lower}|"
                f"{self.include_upper}")

    def _slice(self, terms: Sequence[str]) -> tuple[int, int]:
        from bisect import bisect_left, bisect_right

        start = 0
        end = len(terms)
        if self.lower is not None:
            start = bisect_left(terms, self.lower) if self.include_lower else bisect_right(terms, self.lower)
        if self.upper is not None:
            end = bisect_right(terms, self.upper) if self.include_upper else bisect_left(terms, self.upper)
        return start, max(start, end)

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        segment = segment_execution.segment
        keyword_values = segment.keyword_doc_values(self.field_name)
        if keyword_values is not None:
            start, end = self._slice(keyword_values.terms)
            if start >= end:
                return BitMap()
            keep = (keyword_values.ordinals >= start) & (keyword_values.ordinals < end)
            value_docs = segment_execution.value_docs("#keyword#" + self.field_name, keyword_values.offsets)[keep]
            if len(value_docs) == 0:
                return BitMap()
            distinct = np.concatenate(([True], value_docs[1:] != value_docs[:-1]))
            return bitmap_from_docs(value_docs[distinct])
        if not segment_execution.has_field(self.field_name):
            return BitMap()
        terms = segment.terms(self.field_name)
        start, end = self._slice(terms)
        bitmaps = [segment.postings(self.field_name, terms[index]) for index in range(start, end)]
        return BitMap.union(*bitmaps) if bitmaps else BitMap()


class ExistsPlan(Plan):
    """Docs with a value in the field (or, for an object path, in any field below it)."""

    profile_type = "ConstantScoreQuery"

    def __init__(self, field_names: tuple[str, ...], object_prefix: str | None, boost: float = 1.0) -> None:
        self.field_names = field_names
        self.object_prefix = object_prefix
        self.boost = boost

    def description(self) -> str:
        return f"_field_names:{','.join(self.field_names) or self.object_prefix}"

    def cache_key(self) -> str | None:
        return f"exists|{self.field_names}|{self.object_prefix}"

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        segment = segment_execution.segment
        names = set(self.field_names)
        if self.object_prefix is not None:
            names.update(name for name in segment.field_names() if name.startswith(self.object_prefix))
        bitmaps = []
        has_field_names = "_field_names" in segment.field_names()
        for name in names:
            if has_field_names:
                bitmap = segment.postings("_field_names", name)
                if bitmap:
                    bitmaps.append(bitmap)
                    continue
            bitmaps.append(_docs_with_values(segment_execution, name))
        bitmaps = [bitmap for bitmap in bitmaps if bitmap]
        return BitMap.union(*bitmaps) if bitmaps else BitMap()


def _docs_with_values(segment_execution: SegmentExecution, field_name: str) -> BitMap:
    """Fallback for segments without ``_field_names``: doc values, then field lengths."""
    segment = segment_execution.segment
    numeric = segment.numeric_doc_values(field_name)
    if numeric is not None:
        return bitmap_from_docs(np.flatnonzero(np.diff(numeric.offsets) > 0))
    keyword = segment.keyword_doc_values(field_name)
    if keyword is not None:
        return bitmap_from_docs(np.flatnonzero(np.diff(keyword.offsets) > 0))
    if field_name in segment.field_names():
        return bitmap_from_docs(np.flatnonzero(segment.field_lengths(field_name) > 0))
    return BitMap()


class IdsPlan(Plan):
    profile_type = "TermInSetQuery"

    def __init__(self, document_ids: tuple[str, ...], boost: float = 1.0) -> None:
        self.document_ids = document_ids
        self.boost = boost

    def description(self) -> str:
        return f"_id:{list(self.document_ids)}"

    def cost(self, segment_execution: SegmentExecution) -> int:
        return len(self.document_ids)

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        segment = segment_execution.segment
        result = BitMap()
        for document_id in self.document_ids:
            postings = segment.postings("_id", document_id)
            if postings:
                result |= postings
            else:
                doc = segment.lookup_id(document_id)
                if doc is not None:
                    result.add(doc)
        return result


def _intersect_scored(left: DocScores, right: DocScores) -> DocScores:
    docs, left_index, right_index = sorted_intersection(left.docs, right.docs)
    return DocScores(docs, left.scores[left_index] + right.scores[right_index])


def _union_with_counts(parts: list[DocScores], max_doc: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Union of several DocScores: (docs, summed scores, match counts, inverse of concatenation).

    Large unions accumulate into max_doc-sized arrays with bincount (linear, no sort); small
    ones sort their concatenation (a stable merge of the sorted runs), cheaper than touching
    max_doc slots."""
    all_docs = np.concatenate([part.docs for part in parts])
    all_scores = np.concatenate([part.scores for part in parts])
    if len(all_docs) * 8 >= max_doc > 0:
        dense_counts = np.bincount(all_docs, minlength=max_doc)
        dense_sums = np.bincount(all_docs, weights=all_scores, minlength=max_doc)
        docs = np.flatnonzero(dense_counts)
        # inverse: each concatenated entry's position in docs (docs is sorted, so searchsorted)
        inverse = np.searchsorted(docs, all_docs)
        return docs, dense_sums[docs], dense_counts[docs], inverse
    docs, inverse = sorted_unique_with_inverse(all_docs)
    sums = np.bincount(inverse, weights=all_scores, minlength=len(docs))
    counts = np.bincount(inverse, minlength=len(docs))
    return docs, sums, counts, inverse


class BoolPlan(Plan):
    """must/should/filter/must_not with a resolved minimum_should_match count."""

    profile_type = "BooleanQuery"

    def __init__(self, must: list[Plan], should: list[Plan], filters: list[Plan], must_not: list[Plan],
                 minimum_should_match: int, boost: float = 1.0) -> None:
        self.must = must
        self.should = should
        self.filters = filters
        self.must_not = must_not
        self.boost = boost
        self.is_empty = not (must or should or filters or must_not)
        # Lucene: a disjunction with no required clause needs at least one optional match.
        has_required = bool(must or filters)
        self.required_should = max(minimum_should_match, 0 if has_required else (1 if should else 0))
        self.cannot_match = minimum_should_match > len(should)

    def children(self) -> tuple[Plan, ...]:
        return tuple(self.must + self.should + self.filters + self.must_not)

    def description(self) -> str:
        parts = [f"+{plan.description()}" for plan in self.must]
        parts += [plan.description() for plan in self.should]
        parts += [f"#{plan.description()}" for plan in self.filters]
        parts += [f"-{plan.description()}" for plan in self.must_not]
        return " ".join(parts)

    def cache_key(self) -> str | None:
        keys = []
        for occur, plans in (("must", self.must), ("should", self.should), ("filter", self.filters),
                             ("must_not", self.must_not)):
            for plan in plans:
                key = plan.cache_key()
                if key is None:
                    return None
                keys.append(f"{occur}:{key}")
        return f"bool|{self.required_should}|" + "|".join(keys) if keys else None

    def cost(self, segment_execution: SegmentExecution) -> int:
        required = self.must + self.filters
        if required:
            return min(plan.cost(segment_execution) for plan in required)
        if self.should:
            return sum(plan.cost(segment_execution) for plan in self.should)
        return segment_execution.max_doc

    def _required_bitmap(self, segment_execution: SegmentExecution, plans: list[Plan]) -> BitMap | None:
        """Intersect pairwise from the cheapest clause, stopping as soon as nothing is left."""
        if not plans:
            return None
        ordered = sorted(plans, key=lambda plan: plan.cost(segment_execution))
        result: BitMap | None = None
        for plan in ordered:
            bitmap = segment_execution.run_matches(plan)
            result = bitmap if result is None else (result & bitmap)
            if not result:
                return BitMap()
        return result

    def _excluded(self, segment_execution: SegmentExecution) -> BitMap:
        bitmaps = [segment_execution.run_matches(plan) for plan in self.must_not]
        bitmaps = [bitmap for bitmap in bitmaps if bitmap]
        return BitMap.union(*bitmaps) if bitmaps else BitMap()

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        if self.is_empty:
            return segment_execution.all_docs()
        if self.cannot_match:
            return BitMap()
        result = self._required_bitmap(segment_execution, self.must + self.filters)
        if result is not None and not result:
            return result
        if self.should and self.required_should > 0:
            if self.required_should == 1:
                bitmaps = [segment_execution.run_matches(plan) for plan in self.should]
                optional = BitMap.union(*bitmaps) if len(bitmaps) > 1 else bitmaps[0]
            else:
                all_docs = np.concatenate([docs_from_bitmap(segment_execution.run_matches(plan))
                                           for plan in self.should])
                docs, match_counts = sorted_run_counts(np.sort(all_docs, kind="stable"))
                optional = bitmap_from_docs(docs[match_counts >= self.required_should])
            result = optional if result is None else (result & optional)
        if result is None:
            result = segment_execution.all_docs()
        if self.must_not:
            excluded = self._excluded(segment_execution)
            if excluded:
                result = result - excluded
        return result

    def scores(self, segment_execution: SegmentExecution) -> DocScores:
        if self.is_empty:
            return DocScores(docs_from_bitmap(segment_execution.all_docs()),
                             np.full(segment_execution.max_doc, float(self.boost)))
        if self.cannot_match:
            return DocScores.empty()
        current: DocScores | None = None
        ordered_must = sorted(self.must, key=lambda plan: plan.cost(segment_execution))
        filter_bitmap = None
        if len(ordered_must) and all(isinstance(plan, TermPlan) for plan in ordered_must) \
                and not segment_execution.shard.profile:
            # intersect the postings (and the filters) first, then score only the survivors;
            # the sums fold in the same clause order as _intersect_scored, so scores are equal
            segment = segment_execution.segment
            docs = term_docs(segment, ordered_must[0].field_name, ordered_must[0].term)
            entries = [np.arange(len(docs))]     # each clause's postings entry of every survivor
            for plan in ordered_must[1:]:
                if len(docs) == 0:
                    break
                other = term_docs(segment, plan.field_name, plan.term)
                if len(other) == 0:
                    docs = docs[:0]
                    break
                found, other_entries = postings_entries(segment, plan.field_name, plan.term, docs, other)
                docs = docs[found]
                entries = [clause_entries[found] for clause_entries in entries] + [other_entries]
            filter_bitmap = self._required_bitmap(segment_execution, self.filters) if len(docs) else None
            if filter_bitmap is not None:
                keep = bitmap_membership(docs, filter_bitmap)
                docs = docs[keep]
                entries = [clause_entries[keep] for clause_entries in entries]
            if len(docs) == 0:
                return DocScores.empty()
            scores = ordered_must[0].scores_of_entries(segment_execution, docs, entries[0])
            for plan, clause_entries in zip(ordered_must[1:], entries[1:]):
                scores = scores + plan.scores_of_entries(segment_execution, docs, clause_entries)
            current = DocScores(docs, scores)
            filter_bitmap = None          # already applied
        else:
            for plan in ordered_must:
                part = segment_execution.run_scores(plan)
                current = part if current is None else _intersect_scored(current, part)
                if len(current.docs) == 0:
                    return current
            filter_bitmap = self._required_bitmap(segment_execution, self.filters)
        if filter_bitmap is not None:
            if current is None:
                docs = docs_from_bitmap(filter_bitmap)
                current = DocScores(docs, np.zeros(len(docs)))
            else:
                current = restrict_to_bitmap(current, filter_bitmap)
        if self.should:
            parts = [segment_execution.run_scores(plan) for plan in self.should]
            if current is None:
                docs, sums, counts, _ = _union_with_counts(parts, segment_execution.max_doc)
                keep = counts >= self.required_should
                current = DocScores(docs[keep], sums[keep])
            elif len(current.docs):
                sums = current.scores.copy()
                counts = np.zeros(len(current.docs), dtype=np.int64)
                for part in parts:
                    if len(part.docs) == 0:
                        continue
                    index = np.searchsorted(current.docs, part.docs)
                    index_clipped = np.minimum(index, len(current.docs) - 1)
                    found = current.docs[index_clipped] == part.docs
                    sums[index_clipped[found]] += part.scores[found]
                    counts[index_clipped[found]] += 1
                keep = counts >= self.required_should
                current = DocScores(current.docs[keep], sums[keep])
        if current is None:   # only must_not clauses: everything, unscored
            docs = docs_from_bitmap(segment_execution.all_docs())
            current = DocScores(docs, np.zeros(len(docs)))
        if self.must_not and len(current.docs):
            current = remove_bitmap(current, self._excluded(segment_execution))
        if self.boost != 1.0:
            current = DocScores(current.docs, current.scores * self.boost)
        return current

    def _is_term_disjunction(self) -> bool:
        return (len(self.should) >= 2 and self.required_should == 1 and self.boost == 1.0
                and not (self.must or self.filters or self.must_not or self.cannot_match)
                and all(isinstance(plan, TermPlan) for plan in self.should))

    def _disjunction_scores_at(self, segment_execution: SegmentExecution, docs: np.ndarray,
                               postings: list[np.ndarray]) -> np.ndarray:
        # summed in clause order from 0.0, as _union_with_counts' bincount adds them
        sums = np.zeros(len(docs))
        if len(docs) == 0:
            return sums
        segment = segment_execution.segment
        for plan, plan_docs in zip(self.should, postings):
            if len(plan_docs) == 0:
                continue
            present, entries = postings_entries(segment, plan.field_name, plan.term, docs, plan_docs)
            if len(entries):
                sums[present] += plan.scores_of_entries(segment_execution, docs[present], entries)
        return sums

    def top_candidates(self, segment_execution: SegmentExecution, window: int,
                       floor: float = -math.inf) -> DocScores | None:
        """MaxScore over block-max bounds for a disjunction of terms: a threshold from the union of
        each term's own top candidates, then per term (rarest first) only the blocks whose bound
        plus the best the terms after it could add reaches the threshold."""
        if segment_execution.shard.profile:
            return None
        if self._is_filtered_term():
            # a scored term under filters (range_term): block-max over the term, filters applied
            # to the blocks it scores; the filters add nothing to the score
            allowed = self._required_bitmap(segment_execution, self.filters)
            if allowed is not None and not allowed:
                return DocScores.empty()
            return self.must[0].top_candidates(segment_execution, window, floor, allowed)
        if not self._is_term_disjunction():
            return None
        segment = segment_execution.segment
        postings = [term_docs(segment, plan.field_name, plan.term) for plan in self.should]
        # MaxScore's per-term bookkeeping (seeds, block lookups, a second scoring of survivors)
        # measured dearer than the exhaustive merge-and-sum of two or three terms up to ~26k
        # postings entries per segment on the bench mix (0.3-0.75 vs 1.0-1.8 ms), cheaper from ~44k
        if sum(len(docs) for docs in postings) <= max(8 * window, DISJUNCTION_PRUNING_FACTOR * PRUNING_MINIMUM_ENTRIES):
            return None
        bounds = [plan.block_bounds(segment_execution) for plan in self.should]
        if any(bound is None for bound in bounds):
            return None
        seeds = []
        for plan, docs in zip(self.should, postings):
            own = plan.top_candidates(segment_execution, window, floor)
            if own is None:    # a short list: every live doc of it is a seed
                own_docs = docs
                live = segment_execution.live_mask()
                own = DocScores(own_docs if live is None else own_docs[live[own_docs]], EMPTY_SCORES)
            seeds.append(own.docs)
        seed_docs = sorted_unique(np.concatenate(seeds))
        if len(seed_docs) < window and floor == -math.inf:
            return None
        threshold = floor
        if len(seed_docs) >= window:
            seed_scores = self._disjunction_scores_at(segment_execution, seed_docs, postings)
            threshold = max(threshold, kth_ranking_score(seed_scores, window))
        maxima = [float(block_bounds.max()) if len(block_bounds) else 0.0 for _, block_bounds in bounds]
        rarest_first = sorted(range(len(self.should)), key=lambda number: len(postings[number]))
        live = segment_execution.live_mask()
        pieces = []
        for rank, number in enumerate(rarest_first):
            # a doc is judged at its first term in this order: the terms before it do not hold it,
            # so its score is at most its exact score here plus the later terms' bounds
            later_terms = rarest_first[rank + 1:]
            block_size, block_bounds = bounds[number]
            selected = np.flatnonzero(block_bounds + sum(maxima[other] for other in later_terms) >= threshold)
            if len(selected) == 0:
                continue
            docs = postings[number]
            entries = _block_entries(selected, block_size, len(docs))
            plan = self.should[number]
            chosen, exact = plan._entries_scored(segment_execution, docs, entries)
            if len(chosen) == 0:
                continue
            upper = exact.copy()
            for other in later_terms:
                # the bound of the later term's block that would hold the doc (0 past its last doc)
                other_size, other_bounds = bounds[other]
                block_first_docs = postings[other][::other_size]
                block = np.searchsorted(block_first_docs, chosen, side="right") - 1
                upper += np.where(block >= 0, other_bounds[np.maximum(block, 0)], 0.0)
            pieces.append(chosen[upper * _BOUND_SLACK >= threshold])
        candidates = sorted_unique(np.concatenate(pieces)) if pieces else EMPTY_DOCS
        return DocScores(candidates, self._disjunction_scores_at(segment_execution, candidates, postings))

    def _is_filtered_term(self) -> bool:
        return (len(self.must) == 1 and isinstance(self.must[0], TermPlan) and self.boost == 1.0
                and not (self.should or self.must_not or self.cannot_match))

    def count_live(self, segment_execution: SegmentExecution) -> int:
        if self._is_filtered_term() and not self.filters:
            return self.must[0].count_live(segment_execution)
        if self._is_term_disjunction():
            bitmaps = [segment_execution.run_matches(plan) for plan in self.should]
            return BitMap.union(*bitmaps).intersection_cardinality(segment_execution.live_docs())
        return super().count_live(segment_execution)

    def explain(self, segment_execution: SegmentExecution, doc: int) -> dict | None:
        if doc not in self.matches(segment_execution):
            return None
        details = []
        total = 0.0
        for plan in self.must + self.should:
            explanation = plan.explain(segment_execution, doc)
            if explanation is not None:
                details.append(explanation)
                total += explanation["value"]
        for plan in self.filters:
            details.append(_detail(0.0, f"match on required clause, product of:", [
                _detail(0.0, "# clause"), _detail(1.0, plan.description())]))
        total *= self.boost
        return _detail(total, "sum of:", details)


class DisMaxPlan(Plan):
    profile_type = "DisjunctionMaxQuery"

    def __init__(self, plans: list[Plan], tie_breaker: float, boost: float = 1.0) -> None:
        self.plans = plans
        self.tie_breaker = tie_breaker
        self.boost = boost

    def children(self) -> tuple[Plan, ...]:
        return tuple(self.plans)

    def description(self) -> str:
        return "(" + " | ".join(plan.description() for plan in self.plans) + ")" + (
            f"~{self.tie_breaker}" if self.tie_breaker else "")

    def cost(self, segment_execution: SegmentExecution) -> int:
        return sum(plan.cost(segment_execution) for plan in self.plans)

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        bitmaps = [segment_execution.run_matches(plan) for plan in self.plans]
        return BitMap.union(*bitmaps) if len(bitmaps) > 1 else bitmaps[0]

    def scores(self, segment_execution: SegmentExecution) -> DocScores:
        parts = [segment_execution.run_scores(plan) for plan in self.plans]
        parts = [part for part in parts if len(part.docs)]
        if not parts:
            return DocScores.empty()
        docs, sums, _, inverse = _union_with_counts(parts, segment_execution.max_doc)
        maxima = np.full(len(docs), -np.inf)
        np.maximum.at(maxima, inverse, np.concatenate([part.scores for part in parts]))
        scores = maxima + self.tie_breaker * (sums - maxima)
        return DocScores(docs, scores * self.boost)

    def explain(self, segment_execution: SegmentExecution, doc: int) -> dict | None:
        details = [explanation for plan in self.plans
                   if (explanation := plan.explain(segment_execution, doc)) is not None]
        if not details:
            return None
        values = [detail["value"] for detail in details]
        score = (max(values) + self.tie_breaker * (sum(values) - max(values))) * self.boost
        return _detail(score, f"max plus {self.tie_breaker} times others of:", details)


class ConstantScorePlan(Plan):
    profile_type = "ConstantScoreQuery"

    def __init__(self, inner: Plan, boost: float = 1.0) -> None:
        self.inner = inner
        self.boost = boost

    def children(self) -> tuple[Plan, ...]:
        return (self.inner,)

    def description(self) -> str:
        return f"ConstantScore({self.inner.description()})"

    def cost(self, segment_execution: SegmentExecution) -> int:
        return self.inner.cost(segment_execution)

    def cache_key(self) -> str | None:
        inner_key = self.inner.cache_key()
        return None if inner_key is None else f"constant|{inner_key}"

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        return segment_execution.run_matches(self.inner)

    def explain(self, segment_execution: SegmentExecution, doc: int) -> dict | None:
        if doc not in segment_execution.run_matches(self.inner):
            return None
        return _detail(self.boost, f"{self.description()}")


class BoostingPlan(Plan):
    profile_type = "BoostingQuery"

    def __init__(self, positive: Plan, negative: Plan, negative_boost: float, boost: float = 1.0) -> None:
        self.positive = positive
        self.negative = negative
        self.negative_boost = negative_boost
        self.boost = boost

    def children(self) -> tuple[Plan, ...]:
        return (self.positive, self.negative)

    def cost(self, segment_execution: SegmentExecution) -> int:
        return self.positive.cost(segment_execution)

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        return segment_execution.run_matches(self.positive)

    def scores(self, segment_execution: SegmentExecution) -> DocScores:
        positive = segment_execution.run_scores(self.positive)
        if len(positive.docs) == 0:
            return positive
        negative_docs = docs_from_bitmap(segment_execution.run_matches(self.negative))
        demoted = sorted_membership(positive.docs, negative_docs)
        scores = np.where(demoted, positive.scores * self.negative_boost, positive.scores)
        return DocScores(positive.docs, scores * self.boost)


class PhrasePlan(Plan):
    """A phrase: slots of terms (several for a prefix expansion) at relative positions.

    Exact phrases intersect 64-bit (doc, start position) keys with numpy; sloppy phrases find,
    per candidate doc, the windows whose adjusted positions span at most ``slop`` (Lucene's
    sloppy frequency: the sum of 1 / (1 + span))."""

    profile_type = "PhraseQuery"

    def __init__(self, shard: ShardExecution, field_name: str, slots: list[tuple[int, tuple[str, ...]]],
                 slop: int, boost: float = 1.0) -> None:
        self.field_name = field_name
        self.slots = slots
        self.slop = slop
        self.boost = boost
        document_count, total_term_frequency = shard.field_statistics(field_name)
        self.idf = 0.0
        for _, terms in slots:
            for term in terms:
                frequency = shard.document_frequency(field_name, term)
                self.idf += bm25_idf(frequency, max(document_count, frequency))
        self.average_length = (total_term_frequency / document_count) if total_term_frequency > 0 and document_count > 0 else 1.0

    def description(self) -> str:
        words = []
        for _, terms in self.slots:
            words.append(terms[0] if len(terms) == 1 else "(" + " ".join(terms) + ")")
        return f"{self.field_name}:\"{' '.join(words)}\"" + (f"~{self.slop}" if self.slop else "")

    def cost(self, segment_execution: SegmentExecution) -> int:
        segment = segment_execution.segment
        return min(sum(term_document_frequency(segment, self.field_name, term) for term in terms)
                   for _, terms in self.slots)

    def _slot_keys(self, segment_execution: SegmentExecution, relative_position: int,
                   terms: tuple[str, ...], candidates: np.ndarray | None = None,
                   known_entries: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Sorted (doc << 32 | biased position) keys of one slot; with ``candidates`` (ascending docs
        every slot shares) only those docs' positions are read."""
        segment = segment_execution.segment
        pieces = []
        for term in terms:
            if candidates is not None and known_entries and term in known_entries and len(terms) == 1:
                # the term holds every candidate: its entries were found while intersecting
                counts, flat_positions = segment.positions_at(self.field_name, term, known_entries[term])
                doc_of_position = np.repeat(candidates, counts)
            elif candidates is not None:
                docs = term_docs(segment, self.field_name, term)
                if len(docs) == 0:
                    continue
                entries = np.minimum(np.searchsorted(docs, candidates), len(docs) - 1)
                present = docs[entries] == candidates
                entries = entries[present]
                if len(entries) == 0:
                    continue
                counts, flat_positions = segment.positions_at(self.field_name, term, entries)
                doc_of_position = np.repeat(candidates[present], counts)
            else:
                postings = segment.postings(self.field_name, term)
                if not postings:
                    continue
                docs = docs_from_bitmap(postings)
                offsets, flat_positions = segment.positions(self.field_name, term)
                counts = np.diff(offsets.astype(np.int64))
                doc_of_position = np.repeat(docs, counts)
            adjusted = flat_positions.astype(np.int64) - relative_position + _POSITION_BIAS
            pieces.append((doc_of_position << 32) | adjusted)
        if not pieces:
            return EMPTY_DOCS
        keys = np.concatenate(pieces)
        return sorted_unique(keys) if len(pieces) > 1 else keys

    def _candidates(self, segment_execution: SegmentExecution) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
        """Docs holding some term of every slot (rarest slot first), with the postings entries of
        those docs for the terms that fill a slot alone (found while intersecting); None when the
        reader has no bulk position access (then every posting's positions are read)."""
        segment = segment_execution.segment
        if getattr(segment, "positions_at", None) is None:
            return None
        slot_docs = []
        for _, terms in self.slots:
            arrays = [docs for term in terms if len(docs := term_docs(segment, self.field_name, term))]
            if not arrays:
                return EMPTY_DOCS, {}
            alone = terms[0] if len(terms) == 1 else None
            slot_docs.append((arrays[0] if alone is not None else sorted_unique(np.concatenate(arrays)), alone))
        slot_docs.sort(key=lambda slot: len(slot[0]))
        candidates, first_term = slot_docs[0]
        entries: dict[str, np.ndarray] = {}
        if first_term is not None:
            entries[first_term] = np.arange(len(candidates))
        for docs, term in slot_docs[1:]:
            if term is not None:
                found, term_entries = postings_entries(segment, self.field_name, term, candidates, docs)
            else:
                positions = np.minimum(np.searchsorted(docs, candidates), len(docs) - 1)
                found = docs[positions] == candidates
            candidates = candidates[found]
            entries = {known: known_entries[found] for known, known_entries in entries.items()}
            if term is not None:
                entries[term] = term_entries
            if len(candidates) == 0:
                break
        return candidates, entries

    def _frequencies(self, segment_execution: SegmentExecution) -> tuple[np.ndarray, np.ndarray]:
        """(docs, phrase frequency) for the docs where the phrase occurs."""
        found = self._candidates(segment_execution)
        candidates, known_entries = found if found is not None else (None, {})
        return self._frequencies_among(segment_execution, candidates, known_entries)

    def _frequencies_among(self, segment_execution: SegmentExecution, candidates: np.ndarray | None,
                           known_entries: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(docs, phrase frequency) of the ``candidates`` (ascending; None = every doc) where the
        phrase occurs; ``known_entries`` are their postings entries of single-term slots."""
        if candidates is not None and len(candidates) == 0:
            return EMPTY_DOCS, EMPTY_SCORES
        slot_keys = []
        for relative_position, terms in sorted(self.slots, key=lambda slot: len(slot[1])):
            keys = self._slot_keys(segment_execution, relative_position, terms, candidates, known_entries)
            if len(keys) == 0:
                return EMPTY_DOCS, EMPTY_SCORES
            slot_keys.append(keys)
        if self.slop == 0:
            common = slot_keys[0]
            for keys in slot_keys[1:]:
                common = sorted_intersection(common, keys)[0]
                if len(common) == 0:
                    return EMPTY_DOCS, EMPTY_SCORES
            docs, counts = sorted_run_counts(common >> 32)
            return docs, counts.astype(np.float64)
        return sloppy_frequencies(slot_keys, self.slop)

    def _bm25(self, frequencies: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        # the one formula: full scoring, scoring candidates and their bounds must agree bit for bit
        normaliser = BM25_K1 * (1.0 - BM25_B + BM25_B * lengths / self.average_length)
        return (self.boost * BM25_NUMERATOR * self.idf) * frequencies / (frequencies + normaliser)

    def _scored(self, segment_execution: SegmentExecution, docs: np.ndarray, frequencies: np.ndarray) -> DocScores:
        if len(docs) == 0:
            return DocScores.empty()
        lengths = segment_execution.segment.field_lengths(self.field_name)[docs].astype(np.float64)
        return DocScores(docs, self._bm25(frequencies, lengths))

    def scores(self, segment_execution: SegmentExecution) -> DocScores:
        return self._scored(segment_execution, *self._frequencies(segment_execution))

    # a phrase's exact count needs every candidate's positions: pruning saves nothing then
    exact_count_is_cheap = False

    def top_candidates(self, segment_execution: SegmentExecution, window: int,
                       floor: float = -math.inf) -> DocScores | None:
        """Exact phrases of single terms: each candidate's phrase frequency is at most the least
        frequency of its terms in it (every occurrence at start p needs term i at p + i), so
        that frequency scored with the doc's length bounds its score. Candidates are evaluated
        best bound first, in growing chunks, until the window-th exact score found exceeds every
        bound left; ties with that score are kept, as in the exhaustive path."""
        if self.slop != 0 or self.boost <= 0 or any(len(terms) != 1 for _, terms in self.slots):
            return None
        found = self._candidates(segment_execution)
        if found is None:
            return None
        candidates, known_entries = found
        live = segment_execution.live_mask()
        if live is not None and len(candidates):
            keep = live[candidates]
            candidates = candidates[keep]
            known_entries = {term: entries[keep] for term, entries in known_entries.items()}
        if len(candidates) <= max(4 * window, PHRASE_PRUNING_MINIMUM_CANDIDATES) \
                or len(known_entries) == 0:
            return self._scored(segment_execution,
                                *self._frequencies_among(segment_execution, candidates, known_entries))
        segment = segment_execution.segment
        bound_frequencies = None
        for term, entries in known_entries.items():
            term_frequencies = segment.term_frequencies(self.field_name, term)[entries]
            bound_frequencies = (term_frequencies if bound_frequencies is None
                                 else np.minimum(bound_frequencies, term_frequencies))
        lengths = segment.field_lengths(self.field_name)[candidates].astype(np.float64)
        bounds = self._bm25(bound_frequencies.astype(np.float64), lengths) * _BOUND_SLACK
        # a partition, not a sort, picks each chunk: a full argsort of the bounds cost as much as
        # evaluating the first chunk
        pending = np.ones(len(candidates), dtype=bool)
        threshold = floor
        take = max(2 * window, PHRASE_PRUNING_FIRST_CHUNK)
        doc_pieces: list[np.ndarray] = []
        score_pieces: list[np.ndarray] = []
        while True:
            if threshold == -math.inf:
                # the best-bounded pending candidates (evaluated ones are pending no more)
                pending_indexes = np.flatnonzero(pending)
                if len(pending_indexes) > take:
                    best = np.argpartition(-bounds[pending_indexes], take - 1)[:take]
                    chunk = np.sort(pending_indexes[best])
                else:
                    chunk = pending_indexes
                take *= 4
            else:
                # every pending candidate whose bound reaches the threshold, all at once
                chunk = np.flatnonzero(pending & (bounds >= threshold))
            if len(chunk) == 0:
                break
            pending[chunk] = False
            piece = self._scored(segment_execution, *self._frequencies_among(
                segment_execution, candidates[chunk],
                {term: entries[chunk] for term, entries in known_entries.items()}))
            doc_pieces.append(piece.docs)
            score_pieces.append(piece.scores)
            scores_so_far = np.concatenate(score_pieces) if len(score_pieces) > 1 else score_pieces[0]
            if len(scores_so_far) >= window:
                threshold = max(threshold, kth_ranking_score(scores_so_far, window))
        if not doc_pieces:
            return DocScores.empty()
        docs = np.concatenate(doc_pieces)
        scores = np.concatenate(score_pieces)
        ascending = np.argsort(docs, kind="stable")
        return DocScores(docs[ascending], scores[ascending])

    def count_live(self, segment_execution: SegmentExecution) -> int:
        docs = self._frequencies(segment_execution)[0]
        live = segment_execution.live_mask()
        return len(docs) if live is None else int(live[docs].sum())

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        return bitmap_from_docs(self._frequencies(segment_execution)[0])

    def explain(self, segment_execution: SegmentExecution, doc: int) -> dict | None:
        result = self.scores(segment_execution)
        index = np.searchsorted(result.docs, doc)
        if index >= len(result.docs) or result.docs[index] != doc:
            return None
        return _detail(result.scores[index], f"weight({self.description()} in {doc}) [PerFieldSimilarity], result of:", [
            _detail(self.idf, "idf, sum of the idf of the phrase's terms")])

    def highlight_matchers(self, collected: dict[str, list[Callable[[str], bool]]]) -> None:
        phrase_terms = frozenset(term for _, terms in self.slots for term in terms)
        collected.setdefault(self.field_name, []).append(lambda candidate: candidate in phrase_terms)


def sloppy_frequencies(slot_keys: list[np.ndarray], slop: int) -> tuple[np.ndarray, np.ndarray]:
    """(docs, sloppy frequency) from each slot's sorted (doc << 32 | adjusted position) keys.

    Vectorised form of ``_sloppy_frequency`` for every doc at once: merge all slots' positions
    per doc in (position, slot) order; at step t the window holds, for every slot, its first
    position not yet passed; a window counts 1 / (1 + span) when its span is within the slop; the
    steps of a doc end when some slot has no position left."""
    position_mask = (1 << 32) - 1
    slot_docs = [keys >> 32 for keys in slot_keys]
    candidates = sorted_unique(slot_docs[0])
    for docs in slot_docs[1:]:
        candidates = np.intersect1d(candidates, docs, assume_unique=False)
    if len(candidates) == 0:
        return EMPTY_DOCS, EMPTY_SCORES
    slot_keys = [keys[np.isin(docs, candidates)] for keys, docs in zip(slot_keys, slot_docs)]
    slot_docs = [keys >> 32 for keys in slot_keys]
    labels = np.concatenate([np.full(len(keys), slot, dtype=np.int64) for slot, keys in enumerate(slot_keys)])
    merged_keys = np.concatenate(slot_keys)
    order = np.argsort(merged_keys, kind="stable")        # equal positions: lower slot first, as the heap
    merged_keys = merged_keys[order]
    merged_labels = labels[order]
    merged_docs = merged_keys >> 32
    group = np.searchsorted(candidates, merged_docs)      # which candidate each merged entry belongs to
    group_start = np.searchsorted(merged_docs, merged_docs, "left")
    valid = np.ones(len(merged_keys), dtype=bool)
    minimum = np.full(len(merged_keys), np.iinfo(np.int64).max)
    maximum = np.full(len(merged_keys), np.iinfo(np.int64).min)
    for slot, keys in enumerate(slot_keys):
        is_slot = (merged_labels == slot).astype(np.int64)
        inclusive = np.cumsum(is_slot)
        before_group = np.where(group_start > 0, inclusive[np.maximum(group_start - 1, 0)], 0)
        passed = inclusive - is_slot - before_group        # this slot's positions passed before step t
        slot_start = np.searchsorted(slot_docs[slot], merged_docs, "left")
        slot_end = np.searchsorted(slot_docs[slot], merged_docs, "right")
        index = slot_start + passed
        valid &= index < slot_end
        current = keys[np.minimum(index, len(keys) - 1)] & position_mask
        minimum = np.minimum(minimum, current)
        maximum = np.maximum(maximum, current)
    span = maximum - minimum
    counted = valid & (span <= slop)
    contributions = np.where(counted, 1.0 / (1.0 + np.where(counted, span, 0)), 0.0)
    frequencies = np.bincount(group, weights=contributions, minlength=len(candidates))
    keep = frequencies > 0
    return candidates[keep], frequencies[keep]


def _sloppy_frequency(position_lists: list[list[int]], slop: int) -> float:
    """Sum of 1/(1+span) over the minimal windows that take one position from every slot.

    The obviously-correct per-document form; ``sloppy_frequencies`` is its vectorised twin and a
    property test holds them equal."""
    import heapq

    if any(not positions for positions in position_lists):
        return 0.0
    pointers = [0] * len(position_lists)
    heap = [(positions[0], slot) for slot, positions in enumerate(position_lists)]
    heapq.heapify(heap)
    current_maximum = max(positions[0] for positions in position_lists)
    frequency = 0.0
    while True:
        minimum, slot = heap[0]
        span = current_maximum - minimum
        if span <= slop:
            frequency += 1.0 / (1.0 + span)
        pointers[slot] += 1
        if pointers[slot] >= len(position_lists[slot]):
            break
        following = position_lists[slot][pointers[slot]]
        heapq.heapreplace(heap, (following, slot))
        current_maximum = max(current_maximum, following)
    return frequency


class FunctionScorePlan(Plan):
    """function_score: functions (with optional filters) combined by score_mode and boost_mode."""

    profile_type = "FunctionScoreQuery"

    def __init__(self, query: Plan, functions: list[tuple[Plan | None, Callable, float | None]],
                 score_mode: str, boost_mode: str, max_boost: float | None, min_score: float | None,
                 boost: float = 1.0) -> None:
        self.query = query
        self.functions = functions    # (filter plan, evaluate(segment_execution, docs) -> values, weight)
        self.score_mode = score_mode
        self.boost_mode = boost_mode
        self.max_boost = max_boost
        self.min_score = min_score
        self.boost = boost

    def children(self) -> tuple[Plan, ...]:
        return (self.query,) + tuple(filter_plan for filter_plan, _, _ in self.functions if filter_plan is not None)

    def cost(self, segment_execution: SegmentExecution) -> int:
        return self.query.cost(segment_execution)

    def matches(self, segment_execution: SegmentExecution) -> BitMap:
        if self.min_score is None:
            return segment_execution.run_matches(self.query)
        return bitmap_from_docs(self.scores(segment_execution).docs)

    def scores(self, segment_execution: SegmentExecution) -> DocScores:
        inner = segment_execution.run_scores(self.query)
        docs = inner.docs
        if len(docs) == 0:
            return inner
        count = len(docs)
        matched_any = np.zeros(count, dtype=bool)
        combined: np.ndarray
        if self.score_mode == "multiply":
            combined = np.ones(count)
        elif self.score_mode in ("sum", "avg"):
            combined = np.zeros(count)
        elif self.score_mode == "max":
            combined = np.full(count, -np.inf)
        elif self.score_mode == "min":
            combined = np.full(count, np.inf)
        else:  # first
            combined = np.ones(count)
        weight_total = np.zeros(count)
        for filter_plan, evaluate, weight in self.functions:
            if filter_plan is None:
                applies = np.ones(count, dtype=bool)
            else:
                applies = sorted_membership(docs, docs_from_bitmap(segment_execution.run_matches(filter_plan)))
            if not applies.any():
                continue
            values = evaluate(segment_execution, docs) if evaluate is not None else np.ones(count)
            if weight is not None:
                values = values * weight
            function_weight = 1.0 if weight is None else weight
            if self.score_mode == "multiply":
                combined = np.where(applies, combined * values, combined)
            elif self.score_mode == "sum":
                combined = np.where(applies, combined + values, combined)
            elif self.score_mode == "avg":
                combined = np.where(applies, combined + values, combined)
                weight_total = np.where(applies, weight_total + function_weight, weight_total)
            elif self.score_mode == "max":
                combined = np.where(applies, np.maximum(combined, values), combined)
            elif self.score_mode == "min":
                combined = np.where(applies, np.minimum(combined, values), combined)
            else:
                combined = np.where(applies & ~matched_any, values, combined)
            matched_any |= applies
        if self.score_mode == "avg":
            combined = np.where(weight_total > 0, combined / np.where(weight_total > 0, weight_total, 1), combined)
        # OpenSearch: a doc no function applies to has the factor 1, then boost_mode combines as
        # usual (so "replace" gives 1 and "sum" adds 1, as FunctionScoreQuery does)
        combined = np.where(matched_any, combined, 1.0)
        if self.max_boost is not None:
            combined = np.minimum(combined, self.max_boost)
        query_scores = inner.scores
        if self.boost_mode == "multiply":
            final = query_scores * combined
        elif self.boost_mode == "replace":
            final = combined.copy()
        elif self.boost_mode == "sum":
            final = query_scores + combined
        elif self.boost_mode == "avg":
            final = (query_scores + combined) / 2.0
        elif self.boost_mode == "max":
            final = np.maximum(query_scores, combined)
        else:
            final = np.minimum(query_scores, combined)
        final = final * self.boost
        result = DocScores(docs, final)
        if self.min_score is not None:
            result = _restrict(result, final >= self.min_score)
        return result

    def explain(self, segment_execution: SegmentExecution, doc: int) -> dict | None:
        result = self.scores(segment_execution)
        index = np.searchsorted(result.docs, doc)
        if index >= len(result.docs) or result.docs[index] != doc:
            return None
        inner = self.query.explain(segment_execution, doc)
        return _detail(result.scores[index], f"function score, score mode [{self.score_mode}], "
                                             f"boost mode [{self.boost_mode}]", [inner] if inner else [])


class ExtensionPlan(Plan):
    """A registered query node (udf's wasm_udf, script_score) that evaluates itself.

    The node implements ``evaluate_segment(executor) -> DocScores`` where ``executor`` is this
    plan's ``SegmentExtensionExecutor``: it gives the segment, the request context and a way to
    run child query nodes."""

    profile_type = "ExtensionQuery"

    def __init__(self, node: Any, child_plans: dict[int, Plan], boost: float = 1.0) -> None:
        self.node = node
        self.child_plans = child_plans
        self.boost = boost

    def children(self) -> tuple[Plan, ...]:
        return tuple(self.child_plans.values())

    def description(self) -> str:
        return type(self.node).__name__

    def scores(self, segment_execution: SegmentExecution) -> DocScores:
        result = self.node.evaluate_segment(SegmentExtensionExecutor(self, segment_execution))
        query_name = getattr(self.node, "query_type", "?")
        if not isinstance(result, DocScores):
            raise QueryShardError(f"query [{query_name}] returned {type(result).__name__}, expected DocScores")
        docs = np.asarray(result.docs, dtype=np.int64)
        scores = np.asarray(result.scores, dtype=np.float64)
        if docs.shape != scores.shape:
            raise QueryShardError(f"query [{query_name}] returned {len(docs)} docs but {len(scores)} scores")
        if len(docs) and (np.any(np.diff(docs) <= 0) or docs[0] < 0 or docs[-1] >= segment_execution.max_doc):
            raise QueryShardError(f"query [{query_name}] returned docs that are not ascending, unique segment doc ids")
        return DocScores(docs, scores)


@dataclass
class SegmentExtensionExecutor:
    plan: ExtensionPlan
    segment_execution: SegmentExecution

    @property
    def segment(self) -> Any:
        return self.segment_execution.segment

    @property
    def context(self) -> Any:
        return self.segment_execution.shard.context

    @property
    def mapping(self) -> Any:
        return self.segment_execution.shard.mapping

    def child_scores(self, child_node: Any) -> DocScores:
        return self.segment_execution.run_scores(self.plan.child_plans[id(child_node)])

    def child_matches(self, child_node: Any) -> BitMap:
        return self.segment_execution.run_matches(self.plan.child_plans[id(child_node)])
