"""Collecting segments: doc values of the matching documents → an AggregationPartial.

Owns: `collect_segment`, `collect_shard` (all of a shard's segments, terms breadth-first), the
CSR gathering of doc values for a set of documents, and one collector per aggregation type,
each vectorised with numpy over the matching documents' values (bucketing by np.bincount /
np.unique / lexsort). Sub-aggregations of a bucket aggregation are computed for all parent
buckets at once where the type allows (metrics, sketches, terms / histograms without their own
sub-aggregations) and otherwise recurse once per bucket — never once per document.

Must never: parse JSON, render responses, or touch anything but the SegmentReader protocol
(contracts §3) and the caller's context. The context is duck-typed; what is read from it:
  context.filter_bitmap(query_node, segment) -> BitMap   filter / filters aggregations
  context.mapping           (optional) Mapping: field types and date formats (date, boolean)
  context.now_millis        (optional) for date math in date_range / extended_bounds
  context.index_name        (optional) `_index` of top_hits hits, and the `_index` field
  context.shard_index       (optional) tie-break of top_hits hits across shards
Without a mapping, a field's type is inferred from its doc values (keyword / long / double);
dates then render as numbers and booleans as 0/1 — pass the mapping. With it, the segment is
seen through `_SegmentWithIndexField`: `_index` as a keyword, date_nanos in milliseconds,
fielddata text fields uninverted, unsigned_long as uint64; ip fields are keyword ordinals over
their stored form (IP_KEY_FORMAT marks their states for render).
"""

from __future__ import annotations

import fnmatch
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from index.aggregations import dates
from index.aggregations.partials import (
    AggregationPartial, Bucket, CardinalityState, CompositeState, DigestState, FlatTermsState,
    KeyedBucketsState,
    SingleBucketState,
    StatsState, TopHit, TopHitsState, ValueCountState, WeightedAvgState, empty_state)
from index.aggregations.sketches import CardinalitySketch, TDigest, hash_numbers, hash_strings
from index.aggregations.tree import AggregationNode, AggregationTree, TermsPartition
from index.errors import AggregationError

_EMPTY_INT = np.zeros(0, dtype=np.int64)
# The `date_format` slot of a keyword state holding ip values in their stored form: render turns
# each key back into an address (a keyword state has no date format of its own to clash with).
IP_KEY_FORMAT = "ip"

_NUMERIC_TYPES = {"long": "long", "integer": "long", "short": "long", "byte": "long",
                  "unsigned_long": "long", "double": "double", "float": "double",
                  "half_float": "double", "scaled_float": "double", "date": "date",
                  "date_nanos": "date", "boolean": "boolean", "keyword": "keyword",
                  "ip": "keyword", "constant_keyword": "keyword", "wildcard": "keyword"}


def collect_segment(tree: AggregationTree, segment, matching_docs: np.ndarray, context,
                    scores: np.ndarray | None = None) -> AggregationPartial:
    """Aggregate the matching (live) documents of one segment.

    `matching_docs` are segment-local doc ids, ascending, deletes already removed. `scores`,
    when given, is aligned with `matching_docs` (used by top_hits only)."""
    docs = np.asarray(matching_docs, dtype=np.int64)
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != docs.shape:
            raise AggregationError(f"scores must align with matching_docs: expected "
                                   f"{docs.shape[0]} scores, got {scores.shape[0]}")
    index_name = getattr(context, "index_name", None)
    nanos_fields, fielddata_fields, unsigned_fields = _special_fields(getattr(context, "mapping", None))
    if index_name or nanos_fields or fielddata_fields or unsigned_fields:
        segment = _SegmentWithIndexField(segment, str(index_name or ""), nanos_fields, fielddata_fields,
                                         unsigned_fields)
    return _collect_tree(tree, segment, docs, scores, context)


_SPECIAL_FIELDS_BY_MAPPING: dict[int, tuple[Any, frozenset, frozenset, frozenset]] = {}


def _special_fields(mapping) -> tuple[frozenset, frozenset, frozenset]:
    """(date_nanos paths, text paths with fielddata, unsigned_long paths) of a mapping, remembered
    per Mapping object (it is immutable): the fields whose doc values the segment view rewrites."""
    if mapping is None or not hasattr(mapping, "fields"):
        return frozenset(), frozenset(), frozenset()
    remembered = _SPECIAL_FIELDS_BY_MAPPING.get(id(mapping))
    if remembered is not None and remembered[0] is mapping:
        return remembered[1], remembered[2], remembered[3]
    fields = mapping.fields()
    nanos = frozenset(field.path for field in fields if field.type == "date_nanos")
    fielddata = frozenset(field.path for field in fields
                          if field.type == "text" and getattr(field, "fielddata", False))
    unsigned = frozenset(field.path for field in fields if field.type == "unsigned_long")
    if len(_SPECIAL_FIELDS_BY_MAPPING) > 64:
        _SPECIAL_FIELDS_BY_MAPPING.clear()
    _SPECIAL_FIELDS_BY_MAPPING[id(mapping)] = (mapping, nanos, fielddata, unsigned)
    return nanos, fielddata, unsigned


_UNINVERTED: dict[tuple[int, str], tuple[Any, Any]] = {}


def uninverted_text(segment, field_name: str):
    """A text field's analysed terms per document as sorted-set doc values, built from the
    postings (OpenSearch's fielddata: every term of the segment, each doc's distinct terms).
    Remembered per segment object (segments never change), a few at a time."""
    key = (id(segment), field_name)
    remembered = _UNINVERTED.get(key)
    if remembered is not None and remembered[0] is segment:
        return remembered[1]
    terms = list(segment.terms(field_name))
    max_doc = int(segment.max_doc)
    doc_parts, ordinal_parts = [], []
    for ordinal, term in enumerate(terms):
        postings = segment.postings(field_name, term)
        if len(postings):
            docs = np.asarray(postings.to_array(), dtype=np.int64)
            doc_parts.append(docs)
            ordinal_parts.append(np.full(docs.size, ordinal, dtype=np.int64))
    docs = np.concatenate(doc_parts) if doc_parts else _EMPTY_INT
    ordinals = np.concatenate(ordinal_parts) if ordinal_parts else _EMPTY_INT
    order = np.lexsort((ordinals, docs))
    docs, ordinals = docs[order], ordinals[order]
    offsets = np.zeros(max_doc + 1, dtype=np.int64)
    np.cumsum(np.bincount(docs, minlength=max_doc)[:max_doc], out=offsets[1:])
    doc_values = _IndexFieldDocValues(tuple(terms), offsets, ordinals.astype(np.int32))
    if len(_UNINVERTED) > 32:
        _UNINVERTED.clear()
    _UNINVERTED[key] = (segment, doc_values)
    return doc_values


def collect_shard(tree: AggregationTree, segment_inputs, context) -> AggregationPartial:
    """A shard's response partial from all its segments at once: the same result as
    `reduce_for_shard_response(merge_partials([collect_segment(...) for each segment]))`, but
    a top-level terms aggregation with sub-aggregations (ordered by count or key) is collected
    breadth-first, as OpenSearch does: first the counts of every term over all segments, then
    the sub-aggregations only for the shard_size terms the shard will return. With many distinct
    terms this saves building sub-aggregations for buckets that would be cut anyway.

    `segment_inputs` is an iterable of (segment, matching_docs, scores or None)."""
    from dataclasses import replace
    from index.aggregations.partials import (
        merge_partials, reduce_for_shard_response, select_flat_terms, shard_cut_terms_state)
    inputs = [(segment, docs, scores) for segment, docs, scores in segment_inputs]
    deferred = {}
    phase_nodes = []
    for node in tree:
        spec = node.spec
        if (node.type == "terms" and node.sub_aggregations and spec.min_doc_count > 0
                and all(order.path in ("_count", "_key") for order in spec.order)
                and spec.include is None and spec.exclude is None and spec.missing is None):
            counts_tree = AggregationTree((replace(node, sub_aggregations=AggregationTree()),))
            counts = merge_partials([collect_segment(counts_tree, segment, docs, context)
                                     for segment, docs, _ in inputs], counts_tree).states[node.name]
            minimum = max(spec.shard_min_doc_count, 1)
            chosen, left_out = select_flat_terms(counts, spec.order, minimum, spec.shard_size)
            if left_out or len(chosen) < int((counts.counts >= minimum).sum()):
                keys = tuple(counts.keys[index] for index in chosen)
                restricted = replace(node, spec=replace(spec, include=keys))
                deferred[node.name] = (counts, chosen, left_out)
                phase_nodes.append(restricted)
                continue
        phase_nodes.append(node)
    phase_tree = AggregationTree(tuple(phase_nodes), tree.pipelines)
    merged = merge_partials([collect_segment(phase_tree, segment, docs, context, scores)
                             for segment, docs, scores in inputs], phase_tree)
    states = dict(reduce_for_shard_response(merged, phase_tree).states)
    for name, (counts, chosen, left_out) in deferred.items():
        node = tree.node(name)
        states[name] = shard_cut_terms_state(merged.states[name], node, counts, chosen, left_out)
    return AggregationPartial(states)


@dataclass(frozen=True, slots=True)
class _IndexFieldDocValues:
    terms: tuple
    offsets: np.ndarray
    ordinals: np.ndarray


@dataclass(frozen=True, slots=True)
class _MillisDocValues:
    offsets: np.ndarray
    values: np.ndarray
    is_float: bool = False


class _SegmentWithIndexField:
    """A segment seen with the `_index` metadata field as keyword doc values (every document
    holds the index name), so terms / cardinality / composite on `_index` work as in OpenSearch;
    with date_nanos doc values in epoch milliseconds, so every date aggregation works on
    them unchanged (at millisecond resolution: date_histogram keys are milliseconds in
    OpenSearch too); with fielddata text fields uninverted; and unsigned_long values as uint64."""

    def __init__(self, segment, index_name: str, nanos_fields: frozenset = frozenset(),
                 fielddata_fields: frozenset = frozenset(), unsigned_fields: frozenset = frozenset()) -> None:
        self._segment = segment
        self._index_name = index_name
        self._nanos_fields = nanos_fields
        self._fielddata_fields = fielddata_fields
        self._unsigned_fields = unsigned_fields

    def __getattr__(self, attribute):
        return getattr(self._segment, attribute)

    def keyword_doc_values(self, field_name: str):
        if field_name in self._fielddata_fields:
            return uninverted_text(self._segment, field_name)
        if field_name == "_index" and self._index_name:
            max_doc = int(self._segment.max_doc)
            return _IndexFieldDocValues((self._index_name,), np.arange(max_doc + 1, dtype=np.int64),
                                        np.zeros(max_doc, dtype=np.int32))
        return self._segment.keyword_doc_values(field_name)

    def numeric_doc_values(self, field_name: str):
        if field_name == "_index" and self._index_name:
            return None
        doc_values = self._segment.numeric_doc_values(field_name)
        if doc_values is not None and field_name in self._nanos_fields:
            # floor division keeps each doc's values sorted, as the protocol requires
            return _MillisDocValues(doc_values.offsets, np.asarray(doc_values.values) // 1_000_000)
        if (doc_values is not None and field_name in self._unsigned_fields
                and np.asarray(doc_values.values).dtype.kind == "i"):
            # unsigned_long past 2^63 may arrive as int64 bit patterns from a merge: uint64 again
            return _MillisDocValues(doc_values.offsets, np.asarray(doc_values.values).astype(np.uint64))
        return doc_values


def _collect_tree(tree, segment, docs, scores, context) -> AggregationPartial:
    return AggregationPartial({node.name: _COLLECTORS[node.type](node, segment, docs, scores, context)
                               for node in tree})

# --------------------------------------------------------------------------- field access


@dataclass(frozen=True, slots=True)
class FieldInfo:
    value_type: str            # keyword long double date boolean unmapped
    date_format: str | None = None


def resolve_field(context, segment, field_name: str, aggregation: AggregationNode) -> FieldInfo:
    mapping = getattr(context, "mapping", None)
    field_mapping = mapping.field(field_name) if mapping is not None else None
    if field_mapping is not None:
        mapped_type = field_mapping.type
        if mapped_type == "text" and getattr(field_mapping, "fielddata", False):
            # fielddata: the analysed terms per document, uninverted from the postings
            # (_SegmentWithIndexField.keyword_doc_values), aggregate as keyword values
            return FieldInfo("keyword")
        if mapped_type == "text":
            raise AggregationError(
                f"Text fields are not optimised for operations that require per-document field "
                f"data like aggregations and sorting, so these operations are disabled by default. "
                f"Please use a keyword field instead. Alternatively, set fielddata=true on "
                f"[{field_name}] in order to load field data by uninverting the inverted index. "
                f"Note that this can use significant memory.")
        value_type = _NUMERIC_TYPES.get(mapped_type)
        if mapped_type == "ip" and getattr(field_mapping, "doc_values", True) is not False:
            # ip values are keyword ordinals over their sortable stored form; the format marker
            # travels in the states so render shows addresses (index/mapping/ip.py)
            return FieldInfo("keyword", IP_KEY_FORMAT)
        if value_type is None:
            raise AggregationError(f"Field [{field_name}] of type [{mapped_type}] is not supported "
                                   f"for aggregation [{aggregation.type}]")
        if getattr(field_mapping, "doc_values", True) is False:
            raise AggregationError(f"Can't load fielddata on [{field_name}] because fielddata is "
                                   f"unsupported on fields of type [{mapped_type}]. Use doc "
                                   f"values instead.")
        date_format = getattr(field_mapping, "date_format", None) if value_type == "date" else None
        return FieldInfo(value_type, date_format or (dates.DEFAULT_DATE_FORMAT
                                                     if value_type == "date" else None))
    if mapping is not None and hasattr(mapping, "field"):
        # Mapped nowhere: OpenSearch treats an unmapped field as having no values.
        if segment.keyword_doc_values(field_name) is None and segment.numeric_doc_values(field_name) is None:
            return FieldInfo("unmapped")
    if segment.keyword_doc_values(field_name) is not None:
        return FieldInfo("keyword")
    numeric = segment.numeric_doc_values(field_name)
    if numeric is not None:
        return FieldInfo("double" if numeric.is_float else "long")
    return FieldInfo("unmapped")


def _expand(offsets: np.ndarray, docs: np.ndarray):
    """CSR gather: (rows into docs, positions into the value array, per-doc value counts)."""
    if docs.size == 0:
        return _EMPTY_INT, _EMPTY_INT, _EMPTY_INT
    if (docs.size == offsets.size - 1 and docs[0] == 0 and docs[-1] == docs.size - 1
            and bool((docs[1:] > docs[:-1]).all())):
        # Every document of the segment, in order: no gathers needed.
        starts = offsets[:-1]
        lengths = np.diff(offsets)
    else:
        starts = offsets[docs]
        lengths = offsets[docs + 1] - starts
    total = int(lengths.sum())
    nonzero = np.flatnonzero(lengths)
    if total == nonzero.size:          # single-valued fast path
        return nonzero, starts[nonzero], lengths
    rows = np.repeat(np.arange(docs.size, dtype=np.int64), lengths)
    run_starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    positions = np.arange(total, dtype=np.int64) - run_starts + np.repeat(starts, lengths)
    return rows, positions, lengths


def numeric_values(segment, field_name: str, docs: np.ndarray, missing=None,
                   info: FieldInfo | None = None):
    """(rows, values, lengths) of a numeric field for `docs`; `missing` fills empty docs."""
    doc_values = segment.numeric_doc_values(field_name)
    if doc_values is None:
        rows, values, lengths = _EMPTY_INT, np.zeros(0), np.zeros(docs.size, dtype=np.int64)
    else:
        rows, positions, lengths = _expand(np.asarray(doc_values.offsets), docs)
        values = np.asarray(doc_values.values)[positions]
    if missing is not None:
        fill = _numeric_missing(missing, info, field_name)
        empty_rows = np.flatnonzero(lengths == 0)
        if empty_rows.size:
            rows = np.concatenate([rows, empty_rows])
            values = np.concatenate([values.astype(np.float64) if isinstance(fill, float) else values,
                                     np.full(empty_rows.size, fill)])
            order = np.argsort(rows, kind="stable")
            rows, values = rows[order], values[order]
    return rows, values, lengths


def _numeric_missing(missing, info: FieldInfo | None, field_name: str):
    if info is not None and info.value_type == "date" and isinstance(missing, str):
        return dates.parse_date_bound(missing, now_millis=None, date_format=info.date_format,
                                      time_zone=dates.parse_time_zone("UTC"), round_up=False,
                                      key="missing")
    if info is not None and info.value_type == "boolean":
        if missing in (True, "true"):
            return 1
        if missing in (False, "false"):
            return 0
    if isinstance(missing, bool):
        return int(missing)
    try:
        number = float(missing)
    except (TypeError, ValueError):
        raise AggregationError(f"[missing] value [{missing}] cannot be used on numeric field "
                               f"[{field_name}]") from None
    if info is not None and info.value_type in ("long", "date", "boolean") and number.is_integer():
        return int(number)
    return number


def keyword_ordinals(segment, field_name: str, docs: np.ndarray):
    """(rows, ordinals, lengths, terms) of a keyword field for `docs`."""
    doc_values = segment.keyword_doc_values(field_name)
    if doc_values is None:
        return _EMPTY_INT, _EMPTY_INT, np.zeros(docs.size, dtype=np.int64), ()
    rows, positions, lengths = _expand(np.asarray(doc_values.offsets), docs)
    return rows, np.asarray(doc_values.ordinals)[positions].astype(np.int64), lengths, doc_values.terms


def _dedup_adjacent(rows: np.ndarray, keys: np.ndarray):
    """Drop repeated (row, key) pairs; within one doc, values (hence keys) are sorted."""
    if rows.size < 2:
        return rows, keys
    keep = np.ones(rows.size, dtype=bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (keys[1:] != keys[:-1])
    return rows[keep], keys[keep]


def _unique_inverse_counts(values: np.ndarray):
    return dates.unique_inverse_counts(values)


def _unique_sorted(rows: np.ndarray) -> np.ndarray:
    """Unique values of a non-decreasing array in O(n) (no sort)."""
    if rows.size < 2:
        return rows
    keep = np.ones(rows.size, dtype=bool)
    keep[1:] = rows[1:] != rows[:-1]
    return rows[keep]


def _metric_field_info(node, segment, context, field_name, numeric_only=True) -> FieldInfo:
    info = resolve_field(context, segment, field_name, node)
    if numeric_only and info.value_type == "keyword":
        # ip values travel as keyword ordinals (ADR 0275); the message names the mapped type
        type_name = "ip" if info.date_format == IP_KEY_FORMAT else "keyword"
        raise AggregationError(f"Field [{field_name}] of type [{type_name}] is not supported for "
                               f"aggregation [{node.type}]")
    return info

# --------------------------------------------------------------------------- metrics


def _collect_stats(node, segment, docs, scores, context):
    spec = node.spec
    info = _metric_field_info(node, segment, context, spec.field)
    if info.value_type == "unmapped" and spec.missing is None:
        return empty_state(node)
    _, values, _ = numeric_values(segment, spec.field, docs, spec.missing, info)
    if values.size == 0:
        return StatsState(value_type=info.value_type, date_format=info.date_format)
    as_float = values.astype(np.float64)
    return StatsState(int(values.size), float(as_float.sum()), float(as_float.min()),
                      float(as_float.max()), float(np.dot(as_float, as_float)),
                      info.value_type, info.date_format)


def _collect_value_count(node, segment, docs, scores, context):
    spec = node.spec
    info = resolve_field(context, segment, spec.field, node)
    if info.value_type == "keyword":
        rows, _, lengths, _ = keyword_ordinals(segment, spec.field, docs)
        count = rows.size + (int(np.count_nonzero(lengths == 0)) if spec.missing is not None else 0)
        return ValueCountState(int(count))
    if info.value_type == "unmapped" and spec.missing is None:
        return ValueCountState(0)
    _, values, _ = numeric_values(segment, spec.field, docs, spec.missing, info)
    return ValueCountState(int(values.size))


def _collect_cardinality(node, segment, docs, scores, context):
    spec = node.spec
    info = resolve_field(context, segment, spec.field, node)
    if info.value_type == "keyword":
        rows, ordinals, lengths, terms = keyword_ordinals(segment, spec.field, docs)
        used = np.unique(ordinals)
        hashes = hash_strings([terms[ordinal] for ordinal in used.tolist()])
        if spec.missing is not None and np.any(lengths == 0):
            hashes = np.concatenate([hashes, hash_strings([str(spec.missing)])])
    elif info.value_type == "unmapped" and spec.missing is None:
        return empty_state(node)
    elif info.value_type == "unmapped" and isinstance(spec.missing, str):
        # an unmapped field with a string `missing` counts that one value (OpenSearch: a keyword)
        hashes = hash_strings([spec.missing]) if docs.size else hash_strings([])
    else:
        _, values, _ = numeric_values(segment, spec.field, docs, spec.missing, info)
        hashes = hash_numbers(np.unique(values))
        return CardinalityState(CardinalitySketch.from_hashes(hashes, spec.precision_threshold,
                                                              assume_unique=True))
    return CardinalityState(CardinalitySketch.from_hashes(hashes, spec.precision_threshold,
                                                          assume_unique=True))


def _collect_digest(node, segment, docs, scores, context):
    spec = node.spec
    info = _metric_field_info(node, segment, context, spec.field)
    if info.value_type == "unmapped" and spec.missing is None:
        return empty_state(node)
    _, values, _ = numeric_values(segment, spec.field, docs, spec.missing, info)
    return DigestState(TDigest.from_values(values.astype(np.float64), spec.compression),
                       info.value_type, info.date_format)


def _collect_weighted_avg(node, segment, docs, scores, context):
    spec = node.spec
    value_info = _metric_field_info(node, segment, context, spec.value_field)
    weight_info = _metric_field_info(node, segment, context, spec.weight_field)
    value_rows, values, _ = numeric_values(segment, spec.value_field, docs, spec.value_missing, value_info)
    weight_rows, weights, weight_lengths = numeric_values(segment, spec.weight_field, docs,
                                                          spec.weight_missing, weight_info)
    if np.any(weight_lengths > 1):
        raise AggregationError(f"Encountered more than one weight for a single document. Use a "
                               f"script to combine multiple weights-per-doc into a single value. "
                               f"[{node.name}]")
    per_doc_weight = np.full(docs.size, np.nan)
    per_doc_weight[weight_rows] = weights
    value_weights = per_doc_weight[value_rows]
    present = ~np.isnan(value_weights)
    values = values.astype(np.float64)[present]
    value_weights = value_weights[present]
    return WeightedAvgState(float(np.dot(values, value_weights)), float(value_weights.sum()),
                            int(values.size))


def _collect_top_hits(node, segment, docs, scores, context):
    spec = node.spec
    total = int(docs.size)
    if docs.size == 0:
        return TopHitsState()
    effective_scores = scores if scores is not None else np.ones(docs.size)
    by_score = not spec.sort or spec.track_scores or any(sort.field == "_score" for sort in spec.sort)
    max_score = float(effective_scores.max()) if (not spec.sort or spec.track_scores) else None
    want = spec.offset + spec.size
    if want == 0:
        return TopHitsState(total, max_score, ())
    sort_columns = []        # lexsort keys per sort spec, most significant first
    value_lists = []         # the matching sort value getters
    for sort_spec in spec.sort or ():
        key, values = _sort_column(sort_spec, segment, docs, effective_scores, context, node)
        sort_columns.append(key)
        value_lists.append(values)
    if not spec.sort:
        sort_columns.append(-effective_scores)
    candidates = np.arange(docs.size)
    primary = sort_columns[0]
    if want < docs.size:
        # Only rows at or before the want-th smallest primary key can make the cut; ties at the
        # threshold are all kept so the lexsort below still breaks them exactly.
        threshold = np.partition(primary, want - 1)[want - 1]
        candidates = np.flatnonzero(primary <= threshold)
    keys = [docs[candidates]] + [column[candidates] for column in sort_columns[::-1]]
    order = candidates[np.lexsort(keys)[:want]]     # lexsort: the last key is the primary one
    index_name = getattr(context, "index_name", None)
    shard_index = int(getattr(context, "shard_index", 0) or 0)
    hits = []
    for row in order.tolist():
        doc = int(docs[row])
        source = None
        if spec.source_enabled:
            source = filter_source(orjson.loads(segment.source(doc)), spec.source_includes,
                                   spec.source_excludes)
        sort_values = tuple(value_of(row) for value_of in value_lists)
        score = float(effective_scores[row]) if by_score else None
        metadata = None
        if spec.version or spec.seq_no_primary_term:
            metadata = {}
            if spec.version:
                metadata["_version"] = int(segment.versions[doc])
            if spec.seq_no_primary_term:
                metadata["_seq_no"] = int(segment.seq_nos[doc])
                metadata["_primary_term"] = int(segment.primary_terms[doc])
        hits.append(TopHit(sort_values, score, index_name, segment.document_id(doc), source,
                           (shard_index, str(segment.name), doc), metadata))
    return TopHitsState(total, max_score, tuple(hits))


def _sort_column(sort_spec, segment, docs, scores, context, node):
    """A lexsort key (ascending sorts the wanted order) and a function giving the sort value of
    a row — called only for the few rows kept, never for every document."""
    if sort_spec.field == "_score":
        return (scores if sort_spec.ascending else -scores), lambda row: float(scores[row])
    if sort_spec.field == "_doc":
        return (docs if sort_spec.ascending else -docs), lambda row: int(docs[row])
    info = resolve_field(context, segment, sort_spec.field, node)
    missing_rank = np.inf if sort_spec.missing_last else -np.inf
    ranks = np.full(docs.size, missing_rank)
    keyword = info.value_type == "keyword"
    doc_values = (segment.keyword_doc_values(sort_spec.field) if keyword
                  else segment.numeric_doc_values(sort_spec.field))
    if doc_values is None:
        return ranks, lambda row: None
    offsets = np.asarray(doc_values.offsets)
    starts, ends = offsets[docs], offsets[docs + 1]
    present = ends > starts
    present_rows = np.flatnonzero(present)
    # mode min for ascending, max for descending (values are sorted within each document)
    pick = np.where(sort_spec.ascending, starts, ends - 1)
    if keyword:
        ordinals = np.asarray(doc_values.ordinals, dtype=np.int64)[pick[present_rows]]
        ranks[present_rows] = ordinals if sort_spec.ascending else -ordinals
        row_ordinals = np.full(docs.size, -1, dtype=np.int64)
        row_ordinals[present_rows] = ordinals
        terms = doc_values.terms
        return ranks, lambda row: terms[row_ordinals[row]] if row_ordinals[row] >= 0 else None
    picked = np.asarray(doc_values.values)[pick[present_rows]]
    ranks[present_rows] = picked if sort_spec.ascending else -picked.astype(np.float64)
    row_values = np.zeros(docs.size, dtype=picked.dtype)
    row_values[present_rows] = picked
    return ranks, lambda row: row_values[row].item() if present[row] else None


def filter_source(source: Any, includes: tuple[str, ...], excludes: tuple[str, ...]) -> Any:
    """`_source` includes/excludes with wildcards over dotted paths."""
    if not includes and not excludes:
        return source
    if not isinstance(source, dict):
        return source
    return _filter_object(source, "", includes, excludes)


def _filter_object(obj: dict, prefix: str, includes, excludes) -> dict:
    result = {}
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in excludes):
            continue
        fully_included = not includes or any(
            fnmatch.fnmatchcase(path, pattern) or path.startswith(pattern + ".")
            for pattern in includes)
        if fully_included:
            if isinstance(value, dict) and excludes:
                value = _filter_object(value, path + ".", (), excludes)
            result[key] = value
            continue
        might_contain = any(pattern.startswith(path + ".") or
                            ("*" in pattern and fnmatch.fnmatchcase(path + ".", pattern.split("*")[0] + "*"))
                            for pattern in includes)
        if might_contain and isinstance(value, dict):
            filtered = _filter_object(value, path + ".", includes, excludes)
            if filtered:
                result[key] = filtered
    return result

# --------------------------------------------------------------------------- buckets


def _sub_partial(node, segment, docs, scores, rows, context) -> AggregationPartial:
    if not node.sub_aggregations:
        return AggregationPartial({})
    sub_scores = None if scores is None else scores[rows]
    return _collect_tree(node.sub_aggregations, segment, docs[rows], sub_scores, context)


_GROUPED_METRIC_TYPES = frozenset({"avg", "min", "max", "sum", "stats", "extended_stats", "value_count"})


def _make_buckets(node, segment, docs, scores, context, keys: list, counts: np.ndarray,
                  rows: np.ndarray, key_ids: np.ndarray) -> dict:
    """Buckets with their sub-aggregations. Simple numeric metrics (avg, sum, stats, ...) are
    computed for all buckets at once with bincount / reduceat; anything else recurses once per
    bucket over that bucket's documents."""
    bucket_count = len(keys)
    if not node.sub_aggregations:
        empty = AggregationPartial({})
        return {key: Bucket(int(count), empty) for key, count in zip(keys, counts.tolist())}
    # A stable argsort of 16-bit keys is a radix sort in numpy: several times faster than int64.
    narrow_ids = key_ids.astype(np.uint16) if bucket_count <= 65536 else key_ids
    order = np.argsort(narrow_ids, kind="stable")
    sorted_rows, sorted_ids = rows[order], key_ids[order]
    boundaries = np.searchsorted(sorted_ids, np.arange(bucket_count + 1))
    grouped_states = {}
    per_bucket_nodes = []
    group_docs = docs[sorted_rows]
    for sub_node in node.sub_aggregations:
        states = None
        if GROUPED_SUB_AGGREGATIONS and sub_node.type in _GROUPED_METRIC_TYPES:
            states = _grouped_metric_states(sub_node, segment, group_docs, sorted_ids,
                                            bucket_count, context)
        elif GROUPED_SUB_AGGREGATIONS and sub_node.type in _GROUPED_BUCKET_TYPES:
            states = _grouped_bucket_states(sub_node, segment, group_docs, sorted_ids,
                                            bucket_count, context)
        elif GROUPED_SUB_AGGREGATIONS and sub_node.type in _GROUPED_SKETCH_TYPES:
            states = _grouped_sketch_states(sub_node, segment, group_docs, sorted_ids,
                                            bucket_count, context)
        if states is None:
            per_bucket_nodes.append(sub_node)
        else:
            grouped_states[sub_node.name] = states
    per_bucket_tree = AggregationTree(tuple(per_bucket_nodes))
    buckets = {}
    for position, (key, count) in enumerate(zip(keys, counts.tolist())):
        states = {name: grouped[position] for name, grouped in grouped_states.items()}
        if per_bucket_nodes:
            group = sorted_rows[boundaries[position]:boundaries[position + 1]]
            sub_scores = None if scores is None else scores[group]
            states.update(_collect_tree(per_bucket_tree, segment, docs[group], sub_scores, context).states)
        buckets[key] = Bucket(int(count), AggregationPartial(states))
    return buckets


# Tests switch this off to check the grouped paths against the per-bucket recursion.
GROUPED_SUB_AGGREGATIONS = True
_GROUPED_BUCKET_TYPES = frozenset({"terms", "histogram", "date_histogram"})


_GROUPED_SKETCH_TYPES = frozenset({"cardinality", "percentiles", "percentile_ranks",
                                   "median_absolute_deviation"})


def _grouped_sketch_states(node, segment, group_docs, group_ids, bucket_count, context):
    """cardinality and t-digest metrics for every parent bucket from one sort; the sketches are
    built from exactly the values the per-bucket path would use, so they are identical."""
    spec = node.spec
    if spec.missing is not None:
        return None
    info = resolve_field(context, segment, spec.field, node)
    if info.value_type == "unmapped":
        return None
    if node.type == "cardinality":
        if info.value_type == "keyword":
            rows, ordinals, _, terms = keyword_ordinals(segment, spec.field, group_docs)
            pair_ordinals, _, bounds = _pair_counts(group_ids[rows], ordinals, bucket_count)
            used = np.unique(pair_ordinals)
            hash_table = np.zeros(len(terms), dtype=np.uint64)
            hash_table[used] = hash_strings([terms[ordinal] for ordinal in used.tolist()])
            pair_hashes = hash_table[pair_ordinals]
        else:
            rows, values, _ = numeric_values(segment, spec.field, group_docs, None, info)
            pair_values, _, bounds = _pair_counts(group_ids[rows], values, bucket_count)
            pair_hashes = hash_numbers(pair_values)
        return [CardinalityState(CardinalitySketch.from_hashes(
                    pair_hashes[bounds[parent]:bounds[parent + 1]], spec.precision_threshold, assume_unique=True))
                for parent in range(bucket_count)]
    if info.value_type == "keyword":
        return None          # the per-bucket path raises the proper error
    rows, values, _ = numeric_values(segment, spec.field, group_docs, None, info)
    values = values.astype(np.float64)
    parents = group_ids[rows]
    present = ~np.isnan(values)
    values, parents = values[present], parents[present]
    order = np.lexsort((values, parents))
    sorted_values, sorted_parents = values[order], parents[order]
    bounds = np.searchsorted(sorted_parents, np.arange(bucket_count + 1))
    return [DigestState(TDigest.from_sorted_values(sorted_values[bounds[parent]:bounds[parent + 1]], spec.compression),
                        info.value_type, info.date_format)
            for parent in range(bucket_count)]


def _pair_counts(parents: np.ndarray, keys: np.ndarray, bucket_count: int):
    """Distinct (parent bucket, key) pairs with their counts, grouped by parent: returns the
    pair keys, pair counts and, per parent, the [start, end) of its pairs."""
    order = np.lexsort((keys, parents))
    sorted_parents, sorted_keys = parents[order], keys[order]
    change = np.ones(order.size, dtype=bool)
    change[1:] = (sorted_parents[1:] != sorted_parents[:-1]) | (sorted_keys[1:] != sorted_keys[:-1])
    starts = np.flatnonzero(change)
    pair_counts = np.diff(np.append(starts, order.size))
    pair_parents = sorted_parents[starts]
    parent_bounds = np.searchsorted(pair_parents, np.arange(bucket_count + 1))
    return sorted_keys[starts], pair_counts, parent_bounds


def _grouped_bucket_states(node, segment, group_docs, group_ids, bucket_count, context):
    """terms / histogram / date_histogram without their own sub-aggregations, for every parent
    bucket at once (one lexsort over (parent, key) pairs); None when an option needs the
    per-bucket path (missing, include/exclude, min_doc_count 0, hard_bounds)."""
    spec = node.spec
    if node.sub_aggregations or getattr(spec, "missing", None) is not None:
        return None
    if getattr(spec, "hard_bounds", None) is not None:
        return None
    if node.type == "terms" and (spec.include is not None or spec.exclude is not None
                                 or spec.min_doc_count == 0):
        return None
    info = resolve_field(context, segment, spec.field, node)
    if info.value_type == "unmapped" or (node.type != "terms" and info.value_type == "keyword"):
        return None
    if node.type == "terms":
        if info.value_type == "keyword":
            rows, ordinals, _, terms = keyword_ordinals(segment, spec.field, group_docs)
            rows, ordinals = _dedup_adjacent(rows, ordinals)
            pair_keys, pair_counts, bounds = _pair_counts(group_ids[rows], ordinals, bucket_count)
            return [FlatTermsState("keyword", [terms[ordinal] for ordinal in pair_keys[bounds[parent]:bounds[parent + 1]].tolist()],
                                   pair_counts[bounds[parent]:bounds[parent + 1]].astype(np.int64),
                                   date_format=info.date_format)
                    for parent in range(bucket_count)]
        rows, values, _ = numeric_values(segment, spec.field, group_docs, None, info)
        rows, values = _dedup_adjacent(rows, values)
        pair_keys, pair_counts, bounds = _pair_counts(group_ids[rows], values, bucket_count)
        convert = float if info.value_type == "double" else int
        return [FlatTermsState(info.value_type, [convert(key) for key in pair_keys[bounds[parent]:bounds[parent + 1]].tolist()],
                               pair_counts[bounds[parent]:bounds[parent + 1]].astype(np.int64),
                               date_format=info.date_format)
                for parent in range(bucket_count)]
    rows, values, _ = numeric_values(segment, spec.field, group_docs, None, info)
    if node.type == "histogram":
        keys = np.floor((values.astype(np.float64) - spec.offset) / spec.interval).astype(np.int64)
        value_type, date_format, bounds_of_dates = info.value_type, info.date_format, None
    else:
        if info.value_type not in ("date", "long"):
            return None
        keys = spec.rounding().round(values.astype(np.int64))
        value_type, date_format = "date", info.date_format or dates.DEFAULT_DATE_FORMAT
        bounds_of_dates = _resolve_date_bounds(spec.extended_bounds, spec, info, context, "extended_bounds")
    rows, keys = _dedup_adjacent(rows, keys)
    pair_keys, pair_counts, bounds = _pair_counts(group_ids[rows], keys, bucket_count)
    empty = AggregationPartial({})
    states = []
    for parent in range(bucket_count):
        start, end = bounds[parent], bounds[parent + 1]
        buckets = {int(key): Bucket(int(count), empty)
                   for key, count in zip(pair_keys[start:end].tolist(), pair_counts[start:end].tolist())}
        states.append(KeyedBucketsState("histogram", value_type, buckets, date_format=date_format,
                                        extended_bounds=bounds_of_dates))
    return states


def _grouped_metric_states(node, segment, group_docs, group_ids, bucket_count, context):
    """One state per bucket for a simple metric, or None when it must run per bucket."""
    spec = node.spec
    info = resolve_field(context, segment, spec.field, node)
    if info.value_type == "keyword":
        if node.type != "value_count":
            return None      # the per-bucket path raises the proper error
        rows, _, lengths, _ = keyword_ordinals(segment, spec.field, group_docs)
        counts = np.bincount(group_ids[rows], minlength=bucket_count)
        if spec.missing is not None:
            counts = counts + np.bincount(group_ids[lengths == 0], minlength=bucket_count)
        return [ValueCountState(int(count)) for count in counts.tolist()]
    if info.value_type == "unmapped" and spec.missing is None:
        state = empty_state(node)
        return [state] * bucket_count
    rows, values, _ = numeric_values(segment, spec.field, group_docs, spec.missing, info)
    value_buckets = group_ids[rows]
    counts = np.bincount(value_buckets, minlength=bucket_count)
    if node.type == "value_count":
        return [ValueCountState(int(count)) for count in counts.tolist()]
    as_float = values.astype(np.float64)
    sums = np.bincount(value_buckets, weights=as_float, minlength=bucket_count)
    squares = np.bincount(value_buckets, weights=as_float * as_float, minlength=bucket_count)
    minimums = np.full(bucket_count, np.inf)
    maximums = np.full(bucket_count, -np.inf)
    nonempty = np.flatnonzero(counts)
    if nonempty.size:
        # Values are grouped by bucket (rows follow the bucket order), so reduceat over the
        # start of each non-empty bucket's run gives its minimum and maximum.
        starts = np.searchsorted(value_buckets, nonempty)
        minimums[nonempty] = np.minimum.reduceat(as_float, starts)
        maximums[nonempty] = np.maximum.reduceat(as_float, starts)
    return [StatsState(count, total, minimum, maximum, square, info.value_type, info.date_format)
            for count, total, minimum, maximum, square in zip(
                counts.tolist(), sums.tolist(), minimums.tolist(), maximums.tolist(), squares.tolist())]


def _collect_terms(node, segment, docs, scores, context):
    spec = node.spec
    info = resolve_field(context, segment, spec.field, node)
    if info.value_type == "unmapped" and spec.missing is None:
        return empty_state(node)
    value_type = getattr(spec, "value_type", None)
    if info.value_type == "unmapped" and value_type not in (None, "keyword"):
        # the `missing` value of an unmapped field takes the hinted type (a date renders as one)
        info = FieldInfo(value_type, dates.DEFAULT_DATE_FORMAT if value_type == "date" else None)
    if info.value_type in ("keyword", "unmapped"):
        rows, ordinals, lengths, terms = keyword_ordinals(segment, spec.field, docs)
        rows, ordinals = _dedup_adjacent(rows, ordinals)
        terms = list(terms)
        if spec.missing is not None:
            empty_rows = np.flatnonzero(lengths == 0)
            if empty_rows.size:
                missing_key = str(spec.missing)
                if info.date_format == IP_KEY_FORMAT:
                    from index.mapping.ip import IpValueError, parse_ip

                    try:
                        missing_key = parse_ip(missing_key)
                    except IpValueError as error:
                        raise AggregationError(f"[missing] of aggregation [{node.name}]: {error}") from None
                if missing_key in terms:
                    missing_ordinal = terms.index(missing_key)
                else:
                    missing_ordinal = len(terms)
                    terms.append(missing_key)
                rows = np.concatenate([rows, empty_rows])
                ordinals = np.concatenate([ordinals, np.full(empty_rows.size, missing_ordinal)])
        counts = np.bincount(ordinals, minlength=len(terms)) if ordinals.size else np.zeros(len(terms), np.int64)
        if spec.min_doc_count == 0:
            used = np.arange(len(terms))
        else:
            used = np.flatnonzero(counts)
        _refuse_regex_on_ip(node, info)
        used = _filter_terms(used, [terms[ordinal] for ordinal in used.tolist()], spec, info)
        dense = np.full(len(terms), -1, dtype=np.int64)
        dense[used] = np.arange(used.size)
        key_ids = dense[ordinals]
        keep = key_ids >= 0
        keys = [terms[ordinal] for ordinal in used.tolist()]
        if not node.sub_aggregations:
            return FlatTermsState("keyword", keys, counts[used].astype(np.int64), date_format=info.date_format)
        buckets = _make_buckets(node, segment, docs, scores, context, keys, counts[used],
                                rows[keep], key_ids[keep])
        return KeyedBucketsState("terms", "keyword", buckets, date_format=info.date_format)
    if isinstance(spec.include, str) or isinstance(spec.exclude, str):
        raise AggregationError(f"Aggregation [{node.name}] cannot support regular expression style "
                               f"include/exclude settings as they can only be applied to string "
                               f"fields. Use an array of values for include/exclude clauses")
    rows, values, _ = numeric_values(segment, spec.field, docs, spec.missing, info)
    rows, values = _dedup_adjacent(rows, values)
    unique_values, key_ids, counts = _unique_inverse_counts(values)
    doc_values = segment.numeric_doc_values(spec.field)
    if spec.min_doc_count == 0 and doc_values is not None:
        # min_doc_count 0: every value the segment holds is a bucket, matched or not.
        all_values = np.union1d(np.asarray(doc_values.values), unique_values)
        all_counts = np.zeros(all_values.size, dtype=np.int64)
        positions = np.searchsorted(all_values, unique_values)
        all_counts[positions] = counts
        key_ids = positions[key_ids] if key_ids.size else key_ids
        unique_values, counts = all_values, all_counts
    if info.value_type == "double":
        keys = [float(value) for value in unique_values.tolist()]
    else:
        keys = [int(value) for value in unique_values.tolist()]
    selected = _filter_terms(np.arange(len(keys)), keys, spec, info)
    if selected.size != len(keys):
        dense = np.full(len(keys), -1, dtype=np.int64)
        dense[selected] = np.arange(selected.size)
        key_ids = dense[key_ids]
        keep = key_ids >= 0
        rows, key_ids = rows[keep], key_ids[keep]
        keys = [keys[position] for position in selected.tolist()]
        counts = counts[selected]
    if not node.sub_aggregations:
        return FlatTermsState(info.value_type, keys, np.asarray(counts, dtype=np.int64),
                              date_format=info.date_format)
    buckets = _make_buckets(node, segment, docs, scores, context, keys, counts, rows, key_ids)
    return KeyedBucketsState("terms", info.value_type, buckets, date_format=info.date_format)


def _filter_terms(indexes: np.ndarray, keys: list, spec, info: FieldInfo | None = None) -> np.ndarray:
    """Apply include/exclude: a regex over the whole string, or a list of exact values (a value
    matches a key equal to it, or whose text equals the value's text: [1] matches key 1.0). On a
    date or boolean field the listed values are parsed as the field's values first, as OpenSearch
    does ("2016-05-03" matches the key 1462233600000, "true" the key 1)."""
    if spec.include is None and spec.exclude is None:
        return indexes
    include = _term_rule(_as_field_values(spec.include, info))
    exclude = _term_rule(_as_field_values(spec.exclude, info))
    keep = np.fromiter(
        ((include is None or include(key)) and (exclude is None or not exclude(key)) for key in keys),
        dtype=bool, count=len(keys))
    return np.asarray(indexes)[keep]


def _as_field_values(rule, info: FieldInfo | None):
    if info is not None and info.date_format == IP_KEY_FORMAT and info.value_type == "keyword":
        return _as_ip_values(rule)
    if not isinstance(rule, tuple) or info is None or info.value_type not in ("date", "boolean"):
        return rule
    converted = []
    for value in rule:
        if info.value_type == "boolean":
            converted.append({True: 1, False: 0, "true": 1, "false": 0}.get(value, value))
        elif isinstance(value, str):
            converted.append(dates.parse_date_bound(value, now_millis=None, date_format=info.date_format,
                                                    time_zone=dates.parse_time_zone("UTC"), round_up=False,
                                                    key="include"))
        else:
            converted.append(value)
    return tuple(converted)


def _refuse_regex_on_ip(node, info: FieldInfo) -> None:
    spec = node.spec
    if info.date_format == IP_KEY_FORMAT and (isinstance(spec.include, str) or isinstance(spec.exclude, str)):
        raise AggregationError(f"Aggregation [{node.name}] cannot support regular expression style include/exclude"
                               f" settings as they can only be applied to string fields. Use an array of values for"
                               f" include/exclude clauses")


def _as_ip_values(rule):
    """include/exclude on an ip field: listed addresses compare as stored forms; a regex cannot
    apply (OpenSearch allows regular expressions on string fields only)."""
    if isinstance(rule, str):
        raise AggregationError("Aggregation cannot support regular expression style include/exclude settings as"
                               " they can only be applied to string fields. Use an array of values for"
                               " include/exclude clauses")
    if not isinstance(rule, tuple):
        return rule
    from index.mapping.ip import IpValueError, parse_ip

    from index.mapping.ip import is_stored_ip

    try:
        # stored forms arrive when the shard collector restricts terms to the keys it chose
        return tuple(value if is_stored_ip(value) else parse_ip(value) for value in rule)
    except IpValueError as error:
        raise AggregationError(f"[include]/[exclude] of an ip field: {error}") from None


def _term_rule(rule):
    if rule is None:
        return None
    if isinstance(rule, TermsPartition):
        return lambda key: term_partition(key, rule.num_partitions) == rule.partition
    if isinstance(rule, str):
        pattern = re.compile(rule)
        return lambda key: pattern.fullmatch(str(key)) is not None
    values = set()
    texts = set()
    for value in rule:
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            values.add(value)
        texts.add(str(value))
    return lambda key: key in values or str(key) in texts


_MASK_32 = 0xFFFFFFFF
_MASK_64 = 0xFFFFFFFFFFFFFFFF


def term_partition(key, num_partitions: int) -> int:
    """The partition of a terms key, computed as OpenSearch's IncludeExclude does: murmur3
    x86_32 (seed 31) of a string's UTF-8 bytes, HPPC's BitMixer.mix64 of a number (a double
    through its sortable long bits), then floorMod."""
    if isinstance(key, str):
        hashed = _murmur3_x86_32(key.encode("utf-8"), 31)
        hashed = hashed - (1 << 32) if hashed >= 1 << 31 else hashed       # Java int
    else:
        if isinstance(key, float):
            import struct
            bits = struct.unpack("<q", struct.pack("<d", key))[0]
            bits ^= (bits >> 63) & 0x7FFFFFFFFFFFFFFF                        # sortable long
        else:
            bits = int(key)
        hashed = _bit_mixer_mix64(bits & _MASK_64)
        hashed = hashed - (1 << 64) if hashed >= 1 << 63 else hashed       # Java long
    return hashed % num_partitions                                          # floorMod


def _bit_mixer_mix64(value: int) -> int:
    # HPPC's BitMixer.mix64, which OpenSearch's PartitionedLongFilter applies to each long
    value = ((value ^ (value >> 32)) * 0x4CD6944C5CC20B6D) & _MASK_64
    value = ((value ^ (value >> 29)) * 0xFC12C5B19D3259E9) & _MASK_64
    return value ^ (value >> 32)


def _murmur3_x86_32(data: bytes, seed: int) -> int:
    c1, c2 = 0xCC9E2D51, 0x1B873593
    hashed = seed & _MASK_32
    block_end = len(data) & ~3
    for offset in range(0, block_end, 4):
        block = int.from_bytes(data[offset:offset + 4], "little")
        block = (block * c1) & _MASK_32
        block = ((block << 15) | (block >> 17)) & _MASK_32
        block = (block * c2) & _MASK_32
        hashed ^= block
        hashed = ((hashed << 13) | (hashed >> 19)) & _MASK_32
        hashed = (hashed * 5 + 0xE6546B64) & _MASK_32
    tail = data[block_end:]
    if tail:
        block = int.from_bytes(tail, "little")
        block = (block * c1) & _MASK_32
        block = ((block << 15) | (block >> 17)) & _MASK_32
        block = (block * c2) & _MASK_32
        hashed ^= block
    hashed ^= len(data)
    hashed ^= hashed >> 16
    hashed = (hashed * 0x85EBCA6B) & _MASK_32
    hashed ^= hashed >> 13
    hashed = (hashed * 0xC2B2AE35) & _MASK_32
    hashed ^= hashed >> 16
    return hashed


def _collect_histogram(node, segment, docs, scores, context):
    spec = node.spec
    info = _metric_field_info(node, segment, context, spec.field)
    if info.value_type == "unmapped" and spec.missing is None:
        return empty_state(node)
    rows, values, _ = numeric_values(segment, spec.field, docs, spec.missing, info)
    bucket_indexes = np.floor((values.astype(np.float64) - spec.offset) / spec.interval).astype(np.int64)
    if spec.hard_bounds is not None:
        low, high = spec.hard_bounds
        bucket_keys = bucket_indexes * spec.interval + spec.offset
        inside = np.ones(bucket_keys.size, dtype=bool)
        # OpenSearch keeps a bucket when its key lies within [min, max].
        if low is not None:
            inside &= bucket_keys >= low
        if high is not None:
            inside &= bucket_keys <= high
        rows, bucket_indexes = rows[inside], bucket_indexes[inside]
    return _histogram_state(node, segment, docs, scores, context, rows, bucket_indexes,
                            info, "histogram", None)


def _histogram_state(node, segment, docs, scores, context, rows, keys, info, kind, bounds):
    rows, keys = _dedup_adjacent(rows, keys)
    unique_keys, key_ids, counts = _unique_inverse_counts(keys)
    python_keys = [int(key) for key in unique_keys.tolist()]
    buckets = _make_buckets(node, segment, docs, scores, context, python_keys, counts, rows, key_ids)
    return KeyedBucketsState(kind, info.value_type, buckets, date_format=info.date_format,
                             extended_bounds=bounds)


def _collect_date_histogram(node, segment, docs, scores, context):
    spec = node.spec
    info = _metric_field_info(node, segment, context, spec.field)
    rounding = spec.rounding()
    bounds = _resolve_date_bounds(spec.extended_bounds, spec, info, context, "extended_bounds")
    if info.value_type == "unmapped" and spec.missing is None:
        state = empty_state(node)
        return KeyedBucketsState("histogram", "date", {}, extended_bounds=bounds,
                                 date_format=dates.DEFAULT_DATE_FORMAT) if bounds else state
    if info.value_type not in ("date", "long", "unmapped"):
        raise AggregationError(f"Field [{spec.field}] of type [{info.value_type}] is not supported "
                               f"for aggregation [date_histogram]")
    rows, values, _ = numeric_values(segment, spec.field, docs, spec.missing,
                                     FieldInfo("date", info.date_format))
    keys = rounding.round(values.astype(np.int64))
    hard = _resolve_date_bounds(spec.hard_bounds, spec, info, context, "hard_bounds")
    if hard is not None:
        inside = np.ones(keys.size, dtype=bool)
        if hard[0] is not None:
            inside &= keys >= hard[0]
        if hard[1] is not None:
            inside &= keys <= hard[1]
        rows, keys = rows[inside], keys[inside]
    date_info = FieldInfo("date", info.date_format or dates.DEFAULT_DATE_FORMAT)
    return _histogram_state(node, segment, docs, scores, context, rows, keys, date_info,
                            "histogram", bounds)


def _resolve_date_bounds(bounds, spec, info, context, key):
    if bounds is None:
        return None
    zone = dates.parse_time_zone(spec.time_zone)
    now = getattr(context, "now_millis", None)
    resolved = []
    for position, value in enumerate(bounds):
        if value is None:
            resolved.append(None)
        else:
            resolved.append(dates.parse_date_bound(value, now_millis=now,
                                                   date_format=spec.format or info.date_format,
                                                   time_zone=zone, round_up=position == 1,
                                                   key=f"{key}.{'max' if position else 'min'}"))
    return tuple(resolved)


def _collect_range(node, segment, docs, scores, context):
    spec = node.spec
    info = _metric_field_info(node, segment, context, spec.field)
    is_date = spec.is_date or info.value_type == "date"
    zone = dates.parse_time_zone(spec.time_zone)
    now = getattr(context, "now_millis", None)
    resolved = []
    for item in spec.ranges:
        bounds = []
        for position, value in enumerate((item.from_value, item.to_value)):
            if value is None:
                bounds.append(None)
            elif spec.is_date:
                bounds.append(float(dates.parse_range_bound(
                    value, now_millis=now, date_format=spec.format or info.date_format,
                    time_zone=zone, key="from" if position == 0 else "to")))
            else:
                bounds.append(float(value))
        resolved.append((item.key, bounds[0], bounds[1]))
    # OpenSearch answers ranges ordered by (from, to), unbounded first.
    resolved.sort(key=lambda bound: (-math.inf if bound[1] is None else bound[1],
                                     math.inf if bound[2] is None else bound[2]))
    if info.value_type == "unmapped" and spec.missing is None:
        rows, values = _EMPTY_INT, np.zeros(0)
    else:
        rows, values, _ = numeric_values(segment, spec.field, docs, spec.missing, info)
    values = values.astype(np.float64)
    buckets = {}
    for position, (key, low, high) in enumerate(resolved):
        inside = np.ones(values.size, dtype=bool)
        if low is not None:
            inside &= values >= low
        if high is not None:
            inside &= values < high
        bucket_rows = _unique_sorted(rows[inside])
        buckets[position] = Bucket(int(bucket_rows.size),
                                   _sub_partial(node, segment, docs, scores, bucket_rows, context))
    value_type = "date" if is_date else info.value_type
    date_format = spec.format or info.date_format or (dates.DEFAULT_DATE_FORMAT if is_date else None)
    return KeyedBucketsState("range", value_type, buckets, date_format=date_format,
                             range_bounds=tuple(resolved))


def ip_range_order(items) -> list:
    """The ranges of an ip_range as OpenSearch answers them: by (from, to), unbounded first/last."""
    return sorted(range(len(items)), key=lambda position: (
        items[position].lower is not None, items[position].lower or "",
        items[position].upper is None, items[position].upper or ""))


def _collect_ip_range(node, segment, docs, scores, context):
    """Ranges over ip values: each bound becomes an ordinal position in the segment's sorted
    stored forms, so a range is an ordinal interval (from inclusive, to exclusive)."""
    from bisect import bisect_left

    spec = node.spec
    info = resolve_field(context, segment, spec.field, node)
    if info.value_type not in ("keyword", "unmapped") or (info.value_type == "keyword"
                                                          and info.date_format != IP_KEY_FORMAT):
        raise AggregationError(f"Field [{spec.field}] of type [{info.value_type}] is not supported for"
                               f" aggregation [ip_range]")
    rows, ordinals, lengths, terms = keyword_ordinals(segment, spec.field, docs)
    terms = list(terms)
    missing_stored = None
    empty_rows = _EMPTY_INT
    if spec.missing is not None:
        from index.mapping.ip import IpValueError, parse_ip

        try:
            missing_stored = parse_ip(str(spec.missing))
        except IpValueError as error:
            raise AggregationError(f"[missing] of aggregation [{node.name}]: {error}") from None
        empty_rows = np.flatnonzero(lengths == 0)
    buckets = {}
    order = ip_range_order(spec.ranges)
    for position, item_index in enumerate(order):
        item = spec.ranges[item_index]
        inside = np.ones(ordinals.size, dtype=bool)
        if item.lower is not None:
            inside &= ordinals >= bisect_left(terms, item.lower)
        if item.upper is not None:
            inside &= ordinals < bisect_left(terms, item.upper)
        bucket_rows = _unique_sorted(rows[inside])
        if empty_rows.size and ((item.lower is None or missing_stored >= item.lower)
                                and (item.upper is None or missing_stored < item.upper)):
            # docs without a value count as the `missing` address
            bucket_rows = np.union1d(bucket_rows, empty_rows)
        buckets[position] = Bucket(int(bucket_rows.size),
                                   _sub_partial(node, segment, docs, scores, bucket_rows, context))
    bounds = tuple((spec.ranges[index].key, spec.ranges[index].lower, spec.ranges[index].upper) for index in order)
    return KeyedBucketsState("range", "ip", buckets, range_bounds=bounds)


def _docs_mask(bitmap, segment, docs: np.ndarray) -> np.ndarray:
    """Which of `docs` are in the bitmap (a bitmap of segment-local doc ids)."""
    members = np.frombuffer(memoryview(bitmap.to_array()), dtype=np.uint32) if len(bitmap) else np.zeros(0, np.uint32)
    mask = np.zeros(max(int(segment.max_doc), int(docs.max()) + 1 if docs.size else 0), dtype=bool)
    mask[members[members < mask.size]] = True
    return mask[docs]


def _filter_bitmap(context, query, segment):
    function = getattr(context, "filter_bitmap", None)
    if function is None:
        raise AggregationError("filter aggregations need context.filter_bitmap(query_node, segment)")
    if isinstance(segment, _SegmentWithIndexField):
        segment = segment._segment      # the caller's own segment object, as it knows it
    return function(query, segment)


def _collect_filter(node, segment, docs, scores, context):
    rows = np.flatnonzero(_docs_mask(_filter_bitmap(context, node.spec.query, segment), segment, docs))
    return SingleBucketState(int(rows.size), _sub_partial(node, segment, docs, scores, rows, context))


def _collect_filters(node, segment, docs, scores, context):
    spec = node.spec
    buckets = {}
    matched_any = np.zeros(docs.size, dtype=bool)
    for key, query in spec.filters:
        inside = _docs_mask(_filter_bitmap(context, query, segment), segment, docs)
        matched_any |= inside
        rows = np.flatnonzero(inside)
        buckets[key] = Bucket(int(rows.size), _sub_partial(node, segment, docs, scores, rows, context))
    if spec.other_bucket:
        rows = np.flatnonzero(~matched_any)
        buckets[spec.other_bucket_key] = Bucket(
            int(rows.size), _sub_partial(node, segment, docs, scores, rows, context))
    return KeyedBucketsState("filters", "", buckets)


def _collect_missing(node, segment, docs, scores, context):
    spec = node.spec
    info = resolve_field(context, segment, spec.field, node)
    if info.value_type == "keyword":
        _, _, lengths, _ = keyword_ordinals(segment, spec.field, docs)
    else:
        _, _, lengths = numeric_values(segment, spec.field, docs)
    rows = np.flatnonzero(lengths == 0)
    return SingleBucketState(int(rows.size), _sub_partial(node, segment, docs, scores, rows, context))


def _collect_global(node, segment, docs, scores, context):
    # global ignores the query: every live document of the segment, without scores.
    live = segment.live_docs()
    all_docs = (np.frombuffer(memoryview(live.to_array()), dtype=np.uint32).astype(np.int64)
                if len(live) else _EMPTY_INT)
    rows = np.arange(all_docs.size, dtype=np.int64)
    return SingleBucketState(int(all_docs.size),
                             _sub_partial(node, segment, all_docs, None, rows, context))


def _collect_composite(node, segment, docs, scores, context):
    from index.aggregations.composite import collect_combinations
    spec = node.spec
    columns = []
    value_types = []
    for position, source in enumerate(spec.sources):
        info = resolve_field(context, segment, source.field, node)
        is_ip = info.value_type == "keyword" and info.date_format == IP_KEY_FORMAT
        # "ip" keys travel in their stored form (sorted and merged as such); render shows addresses
        value_types.append("ip" if is_ip else info.value_type)
        if is_ip and spec.after is not None and isinstance(spec.after[position], str):
            from dataclasses import replace
            from index.mapping.ip import IpValueError, is_stored_ip, parse_ip

            if not is_stored_ip(spec.after[position]):
                try:
                    stored = parse_ip(spec.after[position])
                except IpValueError as error:
                    raise AggregationError(f"[after] of composite [{node.name}]: {error}") from None
                spec = replace(spec, after=spec.after[:position] + (stored,) + spec.after[position + 1:])
        if info.value_type == "keyword":
            if source.kind != "terms":
                raise AggregationError(f"Field [{source.field}] of type [keyword] is not supported "
                                       f"for composite source [{source.name}] of type [{source.kind}]")
            rows, ordinals, lengths, terms = keyword_ordinals(segment, source.field, docs)
            rows, ordinals = _dedup_adjacent(rows, ordinals)
            columns.append((rows, ordinals, np.flatnonzero(lengths == 0), terms.__getitem__))
            continue
        rows, values, lengths = numeric_values(segment, source.field, docs, None, info)
        if source.kind == "histogram":
            values = np.floor(values.astype(np.float64) / source.interval) * source.interval
            to_python = float
        elif source.kind == "date_histogram":
            values = source.rounding().round(values.astype(np.int64))
            to_python = int
        elif info.value_type == "double":
            to_python = float
        elif info.value_type == "boolean":
            to_python = bool
        else:
            to_python = int
        rows, values = _dedup_adjacent(rows, values)
        columns.append((rows, values, np.flatnonzero(lengths == 0), to_python))
    keys, groups = collect_combinations(spec, columns)
    buckets = tuple(Bucket(int(group.size), _sub_partial(node, segment, docs, scores, group, context))
                    for group in groups)
    return CompositeState(tuple(keys), buckets, tuple(value_types))


def _collect_significant_terms(node, segment, docs, scores, context):
    from index.aggregations.significant import SignificantTermsState
    spec = node.spec
    info = resolve_field(context, segment, spec.field, node)
    live = segment.live_docs()
    live_docs = (np.frombuffer(memoryview(live.to_array()), dtype=np.uint32).astype(np.int64)
                 if len(live) else _EMPTY_INT)
    empty_counts = np.zeros(0, dtype=np.int64)
    if info.value_type == "unmapped":
        return SignificantTermsState("unmapped", [], empty_counts, empty_counts, int(docs.size),
                                     int(live_docs.size))
    if info.value_type == "keyword":
        _, ordinals, _, terms = keyword_ordinals(segment, spec.field, docs)
        _, background_ordinals, _, _ = keyword_ordinals(segment, spec.field, live_docs)
        foreground = np.bincount(ordinals, minlength=len(terms))
        background = np.bincount(background_ordinals, minlength=len(terms))
        used = np.flatnonzero(foreground)
        _refuse_regex_on_ip(node, info)
        used = _filter_terms(used, [terms[ordinal] for ordinal in used.tolist()], spec, info)
        keys = [terms[ordinal] for ordinal in used.tolist()]
        value_type = "ip" if info.date_format == IP_KEY_FORMAT else "keyword"   # ip keys render as addresses
        return SignificantTermsState(value_type, keys, foreground[used].astype(np.int64),
                                     background[used].astype(np.int64), int(docs.size), int(live_docs.size))
    rows, values, _ = numeric_values(segment, spec.field, docs, None, info)
    rows, values = _dedup_adjacent(rows, values)
    unique_values, _, counts = _unique_inverse_counts(values)
    background_rows, background_values, _ = numeric_values(segment, spec.field, live_docs, None, info)
    background_rows, background_values = _dedup_adjacent(background_rows, background_values)
    background_unique, _, background_counts = _unique_inverse_counts(background_values)
    # the matching documents are live documents, so every foreground value is in the background
    background_for_keys = background_counts[np.searchsorted(background_unique, unique_values)]
    convert = float if info.value_type == "double" else int
    keys = [convert(value) for value in unique_values.tolist()]
    selected = _filter_terms(np.arange(len(keys)), keys, spec, info)
    return SignificantTermsState(info.value_type, [keys[position] for position in selected.tolist()],
                                 counts[selected].astype(np.int64),
                                 background_for_keys[selected].astype(np.int64),
                                 int(docs.size), int(live_docs.size))


_COLLECTORS = {
    "composite": _collect_composite, "significant_terms": _collect_significant_terms,
    "rare_terms": _collect_terms,
    "avg": _collect_stats, "min": _collect_stats, "max": _collect_stats, "sum": _collect_stats,
    "stats": _collect_stats, "extended_stats": _collect_stats,
    "value_count": _collect_value_count, "cardinality": _collect_cardinality,
    "percentiles": _collect_digest, "percentile_ranks": _collect_digest,
    "median_absolute_deviation": _collect_digest,
    "weighted_avg": _collect_weighted_avg, "top_hits": _collect_top_hits,
    "terms": _collect_terms, "histogram": _collect_histogram,
    "date_histogram": _collect_date_histogram, "range": _collect_range,
    "date_range": _collect_range, "ip_range": _collect_ip_range, "filter": _collect_filter, "filters": _collect_filters,
    "missing": _collect_missing, "global": _collect_global,
}
