"""Partial aggregation results and THE one merge function.

Owns: AggregationPartial (a name → state map, one state per aggregation of a tree level), the
state value types, their wire form (orjson-able dicts; partials cross processes and nodes),
`merge_partials` — used alike for segments within a shard, shards within a node and nodes in
the cluster — and `reduce_for_shard_response`, the optional shard-level `shard_size` cut of
terms buckets that gives OpenSearch's `doc_count_error_upper_bound` semantics.

States: StatsState (avg/min/max/sum/stats/extended_stats), ValueCountState, CardinalityState,
DigestState (percentiles, percentile_ranks, median_absolute_deviation), WeightedAvgState,
TopHitsState, SingleBucketState (filter/missing/global), KeyedBucketsState (terms with
sub-aggregations, histograms, ranges, filters), FlatTermsState (terms without sub-aggregations,
as columns) and CompositeState.

Must never: read segments (collect.py does) or produce response JSON (render.py does).

The terms error bookkeeping follows OpenSearch's InternalTerms.reduce: every partial carries
`doc_count_error` (0 when it is exact — e.g. a merge of whole segments — the smallest kept
count when a shard cut it to shard_size under a count-descending order, -1 when unbounded);
a merged bucket's error is the sum of the errors of the partials that did not return it; the
merged aggregation's error is the sum of the inputs' errors, except that reducing exactly one
partial reports 0, as OpenSearch does.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Sequence

import numpy as np

from index.aggregations.sketches import CardinalitySketch, TDigest
from index.aggregations.tree import AggregationNode, AggregationTree, BucketOrder
from index.errors import AggregationError


@dataclass(frozen=True, slots=True)
class AggregationPartial:
    """The states of one tree level, by aggregation name."""

    states: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict:
        return {name: state.to_wire() for name, state in self.states.items()}

    @classmethod
    def from_wire(cls, wire: dict) -> AggregationPartial:
        if not isinstance(wire, dict):
            raise AggregationError(f"an aggregation partial must be an object, got "
                                   f"[{type(wire).__name__}]")
        return cls({name: _state_from_wire(state_wire) for name, state_wire in wire.items()})


EMPTY_PARTIAL = AggregationPartial({})

# --------------------------------------------------------------------------- metric states


@dataclass(frozen=True, slots=True)
class StatsState:
    """count/sum/min/max/sum of squares: avg, min, max, sum, stats and extended_stats."""

    count: int = 0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    sum_of_squares: float = 0.0
    value_type: str = "double"
    date_format: str | None = None
    kind = "stats"

    def to_wire(self) -> dict:
        return {"kind": self.kind, "count": self.count, "sum": self.total,
                "min": None if self.count == 0 else self.minimum,
                "max": None if self.count == 0 else self.maximum,
                "sum_of_squares": self.sum_of_squares, "value_type": self.value_type,
                "date_format": self.date_format}

    @classmethod
    def from_wire(cls, wire: dict) -> StatsState:
        count = int(wire["count"])
        return cls(count, float(wire["sum"]),
                   math.inf if count == 0 else float(wire["min"]),
                   -math.inf if count == 0 else float(wire["max"]),
                   float(wire["sum_of_squares"]), wire.get("value_type", "double"),
                   wire.get("date_format"))

    @staticmethod
    def merge(states: Sequence[StatsState], node: AggregationNode) -> StatsState:
        typed = _first_typed(states)
        return StatsState(sum(state.count for state in states),
                          math.fsum(state.total for state in states),
                          min((state.minimum for state in states), default=math.inf),
                          max((state.maximum for state in states), default=-math.inf),
                          math.fsum(state.sum_of_squares for state in states),
                          typed.value_type, typed.date_format)


@dataclass(frozen=True, slots=True)
class ValueCountState:
    count: int = 0
    kind = "value_count"

    def to_wire(self) -> dict:
        return {"kind": self.kind, "count": self.count}

    @classmethod
    def from_wire(cls, wire: dict) -> ValueCountState:
        return cls(int(wire["count"]))

    @staticmethod
    def merge(states, node) -> ValueCountState:
        return ValueCountState(sum(state.count for state in states))


@dataclass(frozen=True, slots=True)
class CardinalityState:
    sketch: CardinalitySketch
    kind = "cardinality"

    def to_wire(self) -> dict:
        return {"kind": self.kind, "sketch": self.sketch.to_wire()}

    @classmethod
    def from_wire(cls, wire: dict) -> CardinalityState:
        return cls(CardinalitySketch.from_wire(wire["sketch"]))

    @staticmethod
    def merge(states, node) -> CardinalityState:
        return CardinalityState(functools.reduce(lambda left, right: left.merge(right),
                                                 (state.sketch for state in states)))


@dataclass(frozen=True, slots=True)
class DigestState:
    """percentiles and percentile_ranks."""

    digest: TDigest
    value_type: str = "double"
    date_format: str | None = None
    kind = "digest"

    def to_wire(self) -> dict:
        return {"kind": self.kind, "digest": self.digest.to_wire(), "value_type": self.value_type,
                "date_format": self.date_format}

    @classmethod
    def from_wire(cls, wire: dict) -> DigestState:
        return cls(TDigest.from_wire(wire["digest"]), wire.get("value_type", "double"),
                   wire.get("date_format"))

    @staticmethod
    def merge(states, node) -> DigestState:
        typed = _first_typed(states)
        return DigestState(functools.reduce(lambda left, right: left.merge(right),
                                            (state.digest for state in states)),
                           typed.value_type, typed.date_format)


@dataclass(frozen=True, slots=True)
class WeightedAvgState:
    weighted_sum: float = 0.0
    weight_sum: float = 0.0
    count: int = 0
    kind = "weighted_avg"

    def to_wire(self) -> dict:
        return {"kind": self.kind, "weighted_sum": self.weighted_sum,
                "weight_sum": self.weight_sum, "count": self.count}

    @classmethod
    def from_wire(cls, wire: dict) -> WeightedAvgState:
        return cls(float(wire["weighted_sum"]), float(wire["weight_sum"]), int(wire["count"]))

    @staticmethod
    def merge(states, node) -> WeightedAvgState:
        return WeightedAvgState(math.fsum(state.weighted_sum for state in states),
                                math.fsum(state.weight_sum for state in states),
                                sum(state.count for state in states))


@dataclass(frozen=True, slots=True)
class TopHit:
    """One hit of a top_hits bucket, already fetched: the segment was at hand when collecting,
    so `_id` and the filtered `_source` travel in the partial and no fetch phase is needed."""

    sort_values: tuple          # per sort spec; None = missing
    score: float | None
    index_name: str | None
    document_id: str
    source: Any                 # the filtered _source (dict) or None when disabled
    tiebreak: tuple             # (shard index, segment name, doc) — stable order on ties
    metadata: dict | None = None    # _version / _seq_no / _primary_term when requested


@dataclass(frozen=True, slots=True)
class TopHitsState:
    total: int = 0
    max_score: float | None = None
    hits: tuple[TopHit, ...] = ()
    kind = "top_hits"

    def to_wire(self) -> dict:
        return {"kind": self.kind, "total": self.total, "max_score": self.max_score,
                "hits": [[list(hit.sort_values), hit.score, hit.index_name, hit.document_id,
                          hit.source, list(hit.tiebreak), hit.metadata] for hit in self.hits]}

    @classmethod
    def from_wire(cls, wire: dict) -> TopHitsState:
        hits = tuple(TopHit(tuple(sort_values), score, index_name, document_id, source,
                            tuple(tiebreak), metadata)
                     for sort_values, score, index_name, document_id, source, tiebreak, metadata
                     in wire["hits"])
        return cls(int(wire["total"]), wire["max_score"], hits)

    @staticmethod
    def merge(states, node) -> TopHitsState:
        spec = node.spec
        all_hits = [hit for state in states for hit in state.hits]
        try:
            all_hits.sort(key=functools.cmp_to_key(functools.partial(compare_top_hits, spec)))
        except TypeError:
            raise _mixed_types_error(node) from None
        scores = [state.max_score for state in states if state.max_score is not None]
        return TopHitsState(sum(state.total for state in states),
                            max(scores) if scores else None,
                            tuple(all_hits[:spec.offset + spec.size]))


def compare_top_hits(spec, left: TopHit, right: TopHit) -> int:
    sorts = spec.sort
    if not sorts:
        left_score = left.score if left.score is not None else -math.inf
        right_score = right.score if right.score is not None else -math.inf
        if left_score != right_score:
            return -1 if left_score > right_score else 1
        return _compare_plain(left.tiebreak, right.tiebreak)
    for position, sort_spec in enumerate(sorts):
        left_value, right_value = left.sort_values[position], right.sort_values[position]
        if left_value == right_value:
            continue
        if left_value is None or right_value is None:
            # missing sorts last (or first) whatever the direction
            left_missing_first = (left_value is None) != sort_spec.missing_last
            return -1 if left_missing_first else 1
        result = -1 if left_value < right_value else 1
        return result if sort_spec.ascending else -result
    return _compare_plain(left.tiebreak, right.tiebreak)


def _compare_plain(left, right) -> int:
    return (left > right) - (left < right)

# --------------------------------------------------------------------------- bucket states


class Bucket(NamedTuple):
    """One bucket. A NamedTuple rather than a dataclass: terms can hold hundreds of thousands
    of them and a tuple is several times cheaper to create."""

    doc_count: int
    sub: AggregationPartial
    doc_count_error: int = 0     # terms only


@dataclass(frozen=True, slots=True)
class SingleBucketState:
    """filter, missing and global: one bucket with sub-aggregations."""

    doc_count: int
    sub: AggregationPartial
    kind = "single_bucket"

    def to_wire(self) -> dict:
        return {"kind": self.kind, "doc_count": self.doc_count, "sub": self.sub.to_wire()}

    @classmethod
    def from_wire(cls, wire: dict) -> SingleBucketState:
        return cls(int(wire["doc_count"]), AggregationPartial.from_wire(wire["sub"]))

    @staticmethod
    def merge(states, node) -> SingleBucketState:
        return SingleBucketState(sum(state.doc_count for state in states),
                                 merge_partials([state.sub for state in states],
                                                node.sub_aggregations))


@dataclass(frozen=True, slots=True)
class KeyedBucketsState:
    """terms, histogram, date_histogram, range, date_range, filters: buckets by key.

    Keys are str (keyword, filters, ranges' positions), int (long, date epoch ms, boolean 0/1,
    histogram bucket index) or float (double terms)."""

    kind_name: str                     # "terms" / "histogram" / "range" / "filters"
    value_type: str                    # keyword long double date boolean (or "" for filters)
    buckets: dict                      # key -> Bucket
    other_doc_count: int = 0           # terms: sum_other_doc_count so far
    doc_count_error: int = 0           # terms: 0 exact, >0 bounded, -1 unbounded
    date_format: str | None = None
    extended_bounds: tuple | None = None     # date_histogram bounds resolved at collection
    range_bounds: tuple = ()           # range: ((key, from, to), ...) in response order
    kind = "buckets"

    def to_wire(self) -> dict:
        return {"kind": self.kind, "kind_name": self.kind_name, "value_type": self.value_type,
                "buckets": [[key, bucket.doc_count, bucket.doc_count_error, bucket.sub.to_wire()]
                            for key, bucket in self.buckets.items()],
                "other_doc_count": self.other_doc_count, "doc_count_error": self.doc_count_error,
                "date_format": self.date_format,
                "extended_bounds": None if self.extended_bounds is None else list(self.extended_bounds),
                "range_bounds": [list(bound) for bound in self.range_bounds]}

    @classmethod
    def from_wire(cls, wire: dict) -> KeyedBucketsState:
        buckets = {}
        for key, doc_count, error, sub_wire in wire["buckets"]:
            buckets[key] = Bucket(int(doc_count), AggregationPartial.from_wire(sub_wire), int(error))
        bounds = wire.get("extended_bounds")
        return cls(wire["kind_name"], wire["value_type"], buckets, int(wire["other_doc_count"]),
                   int(wire["doc_count_error"]), wire.get("date_format"),
                   None if bounds is None else tuple(bounds),
                   tuple(tuple(bound) for bound in wire.get("range_bounds", [])))

    @staticmethod
    def merge(states, node) -> KeyedBucketsState:
        if node.type == "terms":
            _check_same_kind_of_keys(states, node)
        typed = _first_typed(states)
        counts: dict = {}
        errors: dict = {}
        subs: dict = {}
        other_doc_count = 0
        sum_error = 0
        has_sub_aggregations = bool(node.sub_aggregations)
        for state in states:
            other_doc_count += state.other_doc_count
            this_error = state.doc_count_error
            if sum_error != -1:
                sum_error = -1 if this_error == -1 else sum_error + this_error
            for key, bucket in state.buckets.items():
                counts[key] = counts.get(key, 0) + bucket.doc_count
                if bucket.doc_count_error or this_error:
                    errors[key] = errors.get(key, 0) + bucket.doc_count_error - this_error
                if has_sub_aggregations:
                    subs.setdefault(key, []).append(bucket.sub)
        buckets = {}
        empty = AggregationPartial({})
        for key, doc_count in counts.items():
            error = -1 if sum_error == -1 else errors.get(key, 0) + sum_error
            sub = merge_partials(subs[key], node.sub_aggregations) if has_sub_aggregations else empty
            buckets[key] = Bucket(doc_count, sub, error)
        if sum_error == -1:
            merged_error = -1
        else:
            merged_error = 0 if len(states) == 1 else sum_error
        extended = next((state.extended_bounds for state in states
                         if state.extended_bounds is not None), None)
        range_bounds = next((state.range_bounds for state in states if state.range_bounds), ())
        return KeyedBucketsState(typed.kind_name, typed.value_type, buckets, other_doc_count,
                                 merged_error, typed.date_format, extended, range_bounds)


@dataclass(frozen=True, slots=True)
class FlatTermsState:
    """terms without sub-aggregations, held as columns: a key list and numpy counts.

    High-cardinality terms (ids, users) have hundreds of thousands of buckets; one Python object
    per bucket made merging them seconds long. Columns merge with one dict pass and bincount and
    are cut with numpy top-k selection (select_flat_terms)."""

    value_type: str
    keys: list                          # str / int / float bucket keys
    counts: np.ndarray                  # int64 doc counts, aligned with keys
    errors: np.ndarray | None = None    # int64 per-bucket doc count errors (None: all zero)
    other_doc_count: int = 0
    doc_count_error: int = 0            # as KeyedBucketsState: 0 exact, >0 bounded, -1 unbounded
    date_format: str | None = None
    kind = "flat_terms"

    def to_wire(self) -> dict:
        return {"kind": self.kind, "value_type": self.value_type, "keys": list(self.keys),
                "counts": self.counts.tolist(),
                "errors": None if self.errors is None else self.errors.tolist(),
                "other_doc_count": self.other_doc_count, "doc_count_error": self.doc_count_error,
                "date_format": self.date_format}

    @classmethod
    def from_wire(cls, wire: dict) -> FlatTermsState:
        errors = wire.get("errors")
        return cls(wire["value_type"], list(wire["keys"]), np.asarray(wire["counts"], dtype=np.int64),
                   None if errors is None else np.asarray(errors, dtype=np.int64),
                   int(wire["other_doc_count"]), int(wire["doc_count_error"]), wire.get("date_format"))

    @staticmethod
    def merge(states, node) -> FlatTermsState:
        _check_same_kind_of_keys(states, node)
        typed = _first_typed(states)
        other_doc_count = 0
        sum_error = 0
        all_keys: list = []
        count_parts = []
        error_parts = []
        any_error = False
        for state in states:
            other_doc_count += state.other_doc_count
            this_error = state.doc_count_error
            if sum_error != -1:
                sum_error = -1 if this_error == -1 else sum_error + this_error
            all_keys.extend(state.keys)
            count_parts.append(state.counts)
            errors = np.zeros(len(state.keys), dtype=np.int64) if state.errors is None else state.errors
            if state.errors is not None or this_error:
                any_error = True
            error_parts.append(errors - this_error)
        # Factorise the keys with C-level dict construction and map() rather than a Python
        # loop: dict.fromkeys keeps first-seen order, zip numbers them.
        positions_by_key = dict(zip(dict.fromkeys(all_keys), range(len(all_keys))))
        positions = np.fromiter(map(positions_by_key.__getitem__, all_keys), dtype=np.int64,
                                count=len(all_keys))
        bucket_count = len(positions_by_key)
        # bincount sums in float64: exact for counts below 2**53.
        counts = np.zeros(bucket_count, dtype=np.int64)
        if positions.size:
            counts = np.rint(np.bincount(positions, weights=np.concatenate(count_parts),
                                         minlength=bucket_count)).astype(np.int64)
        errors = None
        if sum_error == -1:
            errors = np.full(bucket_count, -1, dtype=np.int64)
        elif any_error or sum_error:
            errors = np.zeros(bucket_count, dtype=np.int64)
            if positions.size:
                errors = np.rint(np.bincount(positions, weights=np.concatenate(error_parts),
                                             minlength=bucket_count)).astype(np.int64)
            errors += sum_error
        merged_error = -1 if sum_error == -1 else (0 if len(states) == 1 else sum_error)
        return FlatTermsState(typed.value_type, list(positions_by_key), counts, errors,
                              other_doc_count, merged_error, typed.date_format)


def select_flat_terms(state: FlatTermsState, orders: Sequence[BucketOrder], minimum_doc_count: int,
                      limit: int) -> tuple[list[int], int]:
    """Indexes of the `limit` best buckets in order, and the summed doc_count of the eligible
    buckets left out. Orders are _count and/or _key (a terms without sub-aggregations cannot
    order by anything else). Top-k by count is np.partition; ties at the cut are settled by key
    with heapq, so a million buckets of count 1 still cost one pass."""
    import heapq
    counts = state.counts
    keys = state.keys
    eligible = np.flatnonzero(counts >= minimum_doc_count)
    eligible_total = int(counts[eligible].sum())
    primary = orders[0]
    key_order = next((order for order in orders if order.path == "_key"), BucketOrder("_key", True))
    if primary.path == "_key":
        chosen = sorted(eligible.tolist(), key=keys.__getitem__, reverse=not primary.ascending)[:limit]
    else:
        if primary.path != "_count":
            raise AggregationError(f"terms without sub-aggregations cannot be ordered by "
                                   f"[{primary.path}]")
        chosen_array = eligible
        if limit < eligible.size:
            eligible_counts = counts[eligible]
            if primary.ascending:
                threshold = np.partition(eligible_counts, limit - 1)[limit - 1]
                certain = eligible[eligible_counts < threshold]
            else:
                threshold = np.partition(eligible_counts, eligible.size - limit)[eligible.size - limit]
                certain = eligible[eligible_counts > threshold]
            tied = eligible[eligible_counts == threshold].tolist()
            pick = heapq.nsmallest if key_order.ascending else heapq.nlargest
            chosen_array = np.concatenate([certain, np.asarray(
                pick(limit - certain.size, tied, key=keys.__getitem__), dtype=np.int64)])
        chosen = sorted(chosen_array.tolist(), key=keys.__getitem__, reverse=not key_order.ascending)
        chosen.sort(key=lambda index: int(counts[index]), reverse=not primary.ascending)
        chosen = chosen[:limit]
    kept_total = int(counts[chosen].sum()) if chosen else 0
    return chosen, eligible_total - kept_total


@dataclass(frozen=True, slots=True)
class CompositeState:
    """composite: the first `size` combinations (tuples, in order) after `after`, each a Bucket."""

    keys: tuple                        # tuple of key tuples, sorted
    buckets: tuple                     # Bucket per key
    value_types: tuple = ()            # per source: keyword long double date boolean unmapped
    kind = "composite"

    def to_wire(self) -> dict:
        return {"kind": self.kind, "value_types": list(self.value_types),
                "buckets": [[list(key), bucket.doc_count, bucket.sub.to_wire()]
                            for key, bucket in zip(self.keys, self.buckets)]}

    @classmethod
    def from_wire(cls, wire: dict) -> CompositeState:
        keys, buckets = [], []
        for key, doc_count, sub_wire in wire["buckets"]:
            keys.append(tuple(key))
            buckets.append(Bucket(int(doc_count), AggregationPartial.from_wire(sub_wire)))
        return cls(tuple(keys), tuple(buckets), tuple(wire.get("value_types", ())))

    @staticmethod
    def merge(states, node) -> CompositeState:
        from index.aggregations.composite import sort_key_function
        counts: dict = {}
        subs: dict = {}
        for state in states:
            for key, bucket in zip(state.keys, state.buckets):
                counts[key] = counts.get(key, 0) + bucket.doc_count
                subs.setdefault(key, []).append(bucket.sub)
        try:
            keys = sorted(counts, key=sort_key_function(node.spec.sources))[:node.spec.size]
        except TypeError:
            raise _mixed_types_error(node) from None
        buckets = tuple(Bucket(counts[key], merge_partials(subs[key], node.sub_aggregations))
                        for key in keys)
        value_types = next((state.value_types for state in states
                            if any(kind != "unmapped" for kind in state.value_types)),
                           states[0].value_types)
        return CompositeState(tuple(keys), buckets, value_types)


from index.aggregations.significant import SignificantTermsState   # noqa: E402 (a state kind too)

_STATE_TYPES = {state_type.kind: state_type for state_type in (
    StatsState, ValueCountState, CardinalityState, DigestState, WeightedAvgState, TopHitsState,
    SingleBucketState, KeyedBucketsState, FlatTermsState, CompositeState, SignificantTermsState)}


def _state_from_wire(wire: dict):
    state_type = _STATE_TYPES.get(wire.get("kind")) if isinstance(wire, dict) else None
    if state_type is None:
        raise AggregationError(f"unknown aggregation partial kind "
                               f"[{wire.get('kind') if isinstance(wire, dict) else wire!r}]")
    return state_type.from_wire(wire)


def _mixed_types_error(node) -> AggregationError:
    return AggregationError(
        f"Merging/Reducing the aggregations failed when computing the aggregation [{node.name}] "
        f"because the field you gave in the aggregation query existed as two different types in "
        f"two different indices")


def _check_same_kind_of_keys(states, node) -> None:
    """Keys of a keyword field and of a numeric field cannot be merged (the field is mapped
    differently in two indices of the search), as in OpenSearch."""
    kinds = {"keyword" if state.value_type == "keyword" else "number"
             for state in states if state.value_type not in ("", "unmapped")}
    if len(kinds) > 1:
        raise _mixed_types_error(node)


def _first_typed(states):
    """Prefer a state collected from a mapped field (an unmapped segment has no value type)."""
    for state in states:
        if getattr(state, "value_type", "") not in ("", "unmapped"):
            return state
    return states[0]

# --------------------------------------------------------------------------- merging


def empty_state(node: AggregationNode):
    """The state of an aggregation that saw no documents (or whose field is unmapped)."""
    spec = node.spec
    kind = node.type
    if kind in ("avg", "min", "max", "sum", "stats", "extended_stats"):
        return StatsState(value_type="unmapped")
    if kind == "value_count":
        return ValueCountState()
    if kind == "cardinality":
        return CardinalityState(CardinalitySketch.empty(spec.precision_threshold))
    if kind in ("percentiles", "percentile_ranks", "median_absolute_deviation"):
        return DigestState(TDigest.empty(spec.compression), "unmapped")
    if kind == "weighted_avg":
        return WeightedAvgState()
    if kind == "top_hits":
        return TopHitsState()
    if kind in ("filter", "missing", "global"):
        return SingleBucketState(0, empty_partial(node.sub_aggregations))
    if kind == "rare_terms":
        if node.sub_aggregations:
            return KeyedBucketsState("terms", "unmapped", {})
        return FlatTermsState("unmapped", [], np.zeros(0, dtype=np.int64))
    if kind == "terms":
        if not node.sub_aggregations:
            return FlatTermsState("unmapped", [], np.zeros(0, dtype=np.int64))
        return KeyedBucketsState("terms", "unmapped", {})
    if kind in ("histogram", "date_histogram"):
        return KeyedBucketsState("histogram", "unmapped", {})
    if kind in ("range", "date_range", "ip_range"):
        return KeyedBucketsState("range", "unmapped", {})
    if kind == "filters":
        return KeyedBucketsState("filters", "", {})
    if kind == "significant_terms":
        return SignificantTermsState("unmapped", [], np.zeros(0, dtype=np.int64),
                                     np.zeros(0, dtype=np.int64))
    if kind == "composite":
        return CompositeState((), (), tuple("unmapped" for _ in spec.sources))
    raise AggregationError(f"Unknown aggregation type [{kind}]")


def empty_partial(tree: AggregationTree) -> AggregationPartial:
    return AggregationPartial({node.name: empty_state(node) for node in tree})


def merge_partials(partials: Sequence[AggregationPartial], tree: AggregationTree) -> AggregationPartial:
    """Merge partials of the same tree: segments of a shard, shards, or nodes — one function.

    Exact aggregations merge exactly; sketches merge by their own rule; terms buckets are never
    dropped here (only reduce_for_shard_response and render cut them)."""
    partials = [partial for partial in partials if partial is not None]
    states = {}
    for node in tree:
        node_states = [partial.states[node.name] for partial in partials
                       if node.name in partial.states]
        if not node_states:
            states[node.name] = empty_state(node)
        elif len(node_states) == 1 and node.type != "terms":
            states[node.name] = node_states[0]
        else:
            first_type = type(node_states[0])
            if any(type(state) is not first_type for state in node_states):
                raise AggregationError(f"cannot merge partials of aggregation [{node.name}]: "
                                       f"different kinds of state")
            states[node.name] = first_type.merge(node_states, node)
    return AggregationPartial(states)

# --------------------------------------------------------------------------- ordering


def bucket_sort_key_function(orders: Sequence[BucketOrder], node: AggregationNode):
    """A cmp function over (key, Bucket) pairs implementing a terms/histogram `order`."""
    def compare(left, right) -> int:
        for order in orders:
            if order.path == "_count":
                left_value, right_value = left[1].doc_count, right[1].doc_count
            elif order.path == "_key":
                left_value, right_value = left[0], right[0]
            else:
                left_value = sub_metric_value(left[1].sub, order.path, node)
                right_value = sub_metric_value(right[1].sub, order.path, node)
                if left_value is None or right_value is None:
                    if left_value is None and right_value is None:
                        continue
                    return 1 if left_value is None else -1     # empty metrics sort last
            if left_value == right_value:
                continue
            result = -1 if left_value < right_value else 1
            return result if order.ascending else -result
        return 0
    return functools.cmp_to_key(compare)


def sub_metric_value(sub: AggregationPartial, path: str, node: AggregationNode):
    """The value a bucket order path names: `agg`, `agg.metric`, or through single-bucket
    aggregations `filter_agg>agg.metric` (a single-bucket agg at the end gives its doc_count)."""
    *through, last = path.split(">")
    name, _, metric = last.partition(".")
    current_node, current_sub = node, sub
    for step in through:
        child = current_node.sub_aggregations.node(step)
        state = current_sub.states.get(step)
        if child is None or not isinstance(state, SingleBucketState):
            return None
        current_node, current_sub = child, state.sub
    child = current_node.sub_aggregations.node(name)
    state = current_sub.states.get(name)
    if child is None or state is None:
        return None
    if isinstance(state, SingleBucketState):
        return state.doc_count
    from index.aggregations.render import metric_value   # render owns the metric formulas
    return metric_value(child, state, metric or None)


def best_buckets(buckets: dict, orders: Sequence[BucketOrder], node: AggregationNode,
                 minimum_doc_count: int, limit: int) -> tuple[list, int]:
    """The `limit` best (key, Bucket) pairs with doc_count >= minimum_doc_count, in order, and
    the summed doc_count of the eligible ones left out. The common orders (count desc then key,
    key asc/desc) avoid a Python comparison function: numpy preselects by count and a native
    tuple sort orders the candidates."""
    items = [(key, bucket) for key, bucket in buckets.items() if bucket.doc_count >= minimum_doc_count]
    eligible_total = sum(bucket.doc_count for _, bucket in items)
    paths = [(order.path, order.ascending) for order in orders]
    if paths[:2] == [("_count", False), ("_key", True)] and _keys_comparable(items):
        if limit < len(items):
            counts = np.fromiter((bucket.doc_count for _, bucket in items), dtype=np.int64, count=len(items))
            threshold = np.partition(counts, len(items) - limit)[len(items) - limit]
            items = [item for item in items if item[1].doc_count >= threshold]
        items.sort(key=lambda item: (-item[1].doc_count, item[0]))
    elif paths[0][0] == "_key" and _keys_comparable(items):
        items.sort(key=lambda item: item[0], reverse=not paths[0][1])
    else:
        items.sort(key=bucket_sort_key_function(orders, node))
    kept = items[:limit]
    return kept, eligible_total - sum(bucket.doc_count for _, bucket in kept)


def _keys_comparable(items) -> bool:
    """All keys str, or all numbers: then native ordering equals the bucket key order."""
    kinds = {str if isinstance(key, str) else float for key, _ in items}
    return len(kinds) <= 1


def reduce_for_shard_response(partial: AggregationPartial, tree: AggregationTree) -> AggregationPartial:
    """Cut every terms aggregation to its `shard_size` best buckets, as a shard does before
    answering, recording OpenSearch's doc count error. Optional: without it partials stay exact
    (doc_count_error_upper_bound 0) and only larger. Call on a shard's merged partial."""
    states = {}
    for node in tree:
        state = partial.states.get(node.name)
        if state is None:
            continue
        states[node.name] = _reduce_state_for_shard(state, node)
    return AggregationPartial(states)


def shard_cut_terms_state(state, node: AggregationNode, counts: FlatTermsState,
                          chosen: list[int], left_out: int):
    """The shard response of a breadth-first terms aggregation (collect_shard): `state` holds
    the sub-aggregated buckets of the `chosen` terms only; the doc count error and
    sum_other_doc_count come from the full counts, as reduce_for_shard_response computes them."""
    spec = node.spec
    primary = spec.order[0]
    if len(chosen) < spec.shard_size or primary.path == "_key":
        doc_count_error = 0
    elif primary.path == "_count" and not primary.ascending:
        doc_count_error = int(counts.counts[chosen].min())
    else:
        doc_count_error = -1
    buckets = state.buckets if isinstance(state, KeyedBucketsState) else {}
    reduced = {key: Bucket(bucket.doc_count,
                           reduce_for_shard_response(bucket.sub, node.sub_aggregations),
                           bucket.doc_count_error)
               for key, bucket in buckets.items()}
    value_type = state.value_type if isinstance(state, KeyedBucketsState) else counts.value_type
    date_format = state.date_format if isinstance(state, KeyedBucketsState) else counts.date_format
    return KeyedBucketsState("terms", value_type, reduced, left_out, doc_count_error, date_format)


def _reduce_state_for_shard(state, node: AggregationNode):
    if isinstance(state, CompositeState):
        return CompositeState(state.keys, tuple(
            Bucket(bucket.doc_count, reduce_for_shard_response(bucket.sub, node.sub_aggregations))
            for bucket in state.buckets), state.value_types)
    if isinstance(state, FlatTermsState):
        spec = node.spec
        chosen, left_out = select_flat_terms(
            state, spec.order, max(spec.shard_min_doc_count, 1 if spec.min_doc_count else 0),
            spec.shard_size)
        doc_count_error = state.doc_count_error
        primary = spec.order[0]
        if len(chosen) < spec.shard_size or primary.path == "_key":
            pass
        elif primary.path == "_count" and not primary.ascending:
            if doc_count_error <= 0:      # OpenSearch's getDocCountError
                doc_count_error = int(state.counts[chosen].min())
        else:
            doc_count_error = -1
        index = np.asarray(chosen, dtype=np.int64)
        return FlatTermsState(state.value_type, [state.keys[position] for position in chosen], state.counts[index],
                              None if state.errors is None else state.errors[index],
                              state.other_doc_count + left_out, doc_count_error, state.date_format)
    if isinstance(state, SingleBucketState):
        return SingleBucketState(state.doc_count,
                                 reduce_for_shard_response(state.sub, node.sub_aggregations))
    if not isinstance(state, KeyedBucketsState):
        return state
    buckets = state.buckets
    other_doc_count = state.other_doc_count
    doc_count_error = state.doc_count_error
    if node.type == "terms":
        spec = node.spec
        kept, left_out = best_buckets(
            buckets, spec.order, node,
            max(spec.shard_min_doc_count, 1 if spec.min_doc_count else 0), spec.shard_size)
        other_doc_count += left_out
        primary = spec.order[0]
        if len(kept) < spec.shard_size or primary.path == "_key":
            doc_count_error = max(doc_count_error, 0) if doc_count_error != -1 else -1
        elif primary.path == "_count" and not primary.ascending:
            if doc_count_error <= 0:
                doc_count_error = min(bucket.doc_count for _, bucket in kept)
        else:
            doc_count_error = -1
        buckets = dict(kept)
    reduced = {key: Bucket(bucket.doc_count,
                           reduce_for_shard_response(bucket.sub, node.sub_aggregations),
                           bucket.doc_count_error)
               for key, bucket in buckets.items()}
    return KeyedBucketsState(state.kind_name, state.value_type, reduced, other_doc_count,
                             doc_count_error, state.date_format, state.extended_bounds,
                             state.range_bounds)
