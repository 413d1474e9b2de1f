"""The per-segment top-k collector: sort keys, search_after and the k best docs of a segment.

Owns sort resolution against the mapping (``resolve_sorts``: _score, _doc, numbers and dates
through numeric doc values, keywords through ordinals; missing _first/_last or a value; mode
min/max/sum/avg; unmapped_type) and ``collect_top_hits``, which turns a segment's matching docs
(and scores) into its best ``from+size`` ShardHits with their sort values. Every sort key is
mapped into one ascending float64 space so that selection is ``np.partition`` + ``np.lexsort``
over arrays (ties by doc). Keyword keys are segment-local ordinals: they become term strings in
the hit's sort values, and the merge compares strings across segments and shards.

It must never compare across segments: that is merge.py's job.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.errors import QueryShardError
from index.query.execution import SegmentExecution, ShardExecution, field_numeric_doc_values
from index.query.request import SearchRequest, SortField
from index.query.results import ShardHit

_NUMERIC_SORT_TYPES = frozenset({"long", "integer", "short", "byte", "double", "float", "half_float",
                                 "scaled_float", "unsigned_long", "date", "date_nanos", "boolean"})
_FLOAT_SORT_TYPES = frozenset({"double", "float", "half_float", "scaled_float"})


class SortFieldError(QueryShardError):
    """Sorting on a field that cannot be sorted on (OpenSearch: illegal_argument_exception)."""

    opensearch_type = "illegal_argument_exception"


@dataclass(frozen=True, slots=True)
class ResolvedSort:
    sort_field: SortField
    kind: str                 # score | doc | numeric | keyword | missing
    descending: bool
    missing_last: bool
    missing_value: Any        # a stand-in value for docs without one, or None
    mode: str                 # min | max | sum | avg
    is_float: bool = False
    is_ip: bool = False       # keyword kind over ip's stored form: search_after/missing given as addresses
    date_type: str | None = None      # "date" / "date_nanos": a search_after date string is parsed with
    date_format: str | None = None    # the field's format (OpenSearch accepts the formatted sort value)


def _ip_stored(resolved: ResolvedSort, value: Any) -> Any:
    """An address given by the user (search_after, missing) → the stored form the ordinals sort by;
    a value already stored (sort values travel between shards in that form) is kept."""
    if not resolved.is_ip or value is None:
        return value
    from index.mapping.ip import IpValueError, is_stored_ip, parse_ip

    if is_stored_ip(value):
        return value
    try:
        return parse_ip(value)
    except IpValueError as error:
        raise QueryShardError(f"[{resolved.sort_field.field}] {error}", field=resolved.sort_field.field) from None


def _resolve_missing(sort_field: SortField) -> tuple[bool, Any]:
    if sort_field.missing in (None, "_last"):
        return True, None
    if sort_field.missing == "_first":
        return False, None
    return True, sort_field.missing


def resolve_sorts(request: SearchRequest, shard: ShardExecution) -> list[ResolvedSort]:
    if not request.sort:
        return [ResolvedSort(SortField("_score", "desc"), "score", True, True, None, "max")]
    resolved = []
    for sort_field in request.sort:
        descending = sort_field.order == "desc"
        missing_last, missing_value = _resolve_missing(sort_field)
        mode = sort_field.mode or ("max" if descending else "min")
        if sort_field.field == "_score":
            resolved.append(ResolvedSort(sort_field, "score", descending, True, None, mode))
            continue
        if sort_field.field == "_doc":
            resolved.append(ResolvedSort(sort_field, "doc", descending, True, None, mode))
            continue
        field_mapping = shard.mapping.field(sort_field.field)
        type_name = field_mapping.type if field_mapping is not None else sort_field.unmapped_type
        if type_name is None:
            raise QueryShardError(f"No mapping found for [{sort_field.field}] in order to sort on",
                                  field=sort_field.field)
        if type_name == "text" and field_mapping is not None and getattr(field_mapping, "fielddata", False):
            type_name = "text_fielddata"   # sorts by its analysed terms, uninverted (keyword kind)
        if type_name == "text":
            raise SortFieldError(
                f"Text fields are not optimised for operations that require per-document field data like "
                f"aggregations and sorting, so these operations are disabled by default. Please use a keyword field "
                f"instead. Alternatively, set fielddata=true on [{sort_field.field}] in order to load field data by "
                f"uninverting the inverted index. Note that this can use significant memory.", field=sort_field.field)
        if field_mapping is None:
            kind = "missing"
        elif type_name in _NUMERIC_SORT_TYPES:
            kind = "numeric"
        elif type_name in ("keyword", "ip", "text_fielddata"):
            kind = "keyword"
        else:
            raise SortFieldError(f"cannot sort on field [{sort_field.field}] of type [{type_name}]")
        if kind == "numeric" and missing_value is not None and type_name == "date" and isinstance(missing_value, str):
            from index.query.planner import parse_date_bound

            missing_value = parse_date_bound(shard, sort_field.field, missing_value, None, None, round_up=False)
        if (kind == "numeric" and missing_value is not None and type_name == "date_nanos"
                and isinstance(missing_value, str) and missing_value not in ("_last", "_first")):
            from index.query.planner import nanos_bound

            missing_value = nanos_bound(shard, sort_field.field, missing_value, None, None, round_up=False)
        is_date = type_name in ("date", "date_nanos") and field_mapping is not None
        resolved.append(ResolvedSort(sort_field, kind, descending, missing_last, missing_value, mode,
                                     is_float=type_name in _FLOAT_SORT_TYPES, is_ip=type_name == "ip",
                                     date_type=type_name if is_date else None,
                                     date_format=getattr(field_mapping, "date_format", None) if is_date else None))
    return resolved


def _numeric_per_doc(segment_execution: SegmentExecution, field_name: str, docs: np.ndarray,
                     mode: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """(value, has value, is float) per doc, reducing several values by mode."""
    doc_values = field_numeric_doc_values(segment_execution, field_name)
    if doc_values is None or len(doc_values.values) == 0:
        return np.zeros(len(docs)), np.zeros(len(docs), dtype=bool), False
    offsets = doc_values.offsets
    starts = offsets[docs]
    ends = offsets[docs + 1]
    has_value = ends > starts
    values = doc_values.values
    last_index = len(values) - 1
    if mode == "max":
        picked = values[np.clip(ends - 1, 0, last_index)]
    elif mode in ("sum", "avg"):
        cumulative = np.concatenate(([0], np.cumsum(values)))
        picked = cumulative[ends] - cumulative[starts]
        if mode == "avg":
            picked = picked / np.maximum(ends - starts, 1)
    elif mode == "median":
        # values are sorted within each doc: the middle one, or the mean of the middle two
        counts = ends - starts
        lower = values[np.clip(starts + (counts - 1) // 2, 0, last_index)]
        upper = values[np.clip(starts + counts // 2, 0, last_index)]
        picked = (lower.astype(np.float64) + upper.astype(np.float64)) / 2.0
    else:
        picked = values[np.clip(starts, 0, last_index)]
    return picked, has_value, bool(doc_values.is_float) or mode in ("avg", "median")


def _keyword_per_doc(segment_execution: SegmentExecution, field_name: str, docs: np.ndarray,
                     mode: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    doc_values = segment_execution.segment.keyword_doc_values(field_name)
    if doc_values is None:
        field_mapping = segment_execution.shard.mapping.field(field_name)
        if field_mapping is not None and field_mapping.type == "text" and getattr(field_mapping, "fielddata", False):
            from index.aggregations.collect import uninverted_text

            doc_values = uninverted_text(segment_execution.segment, field_name)
    if doc_values is None or len(doc_values.ordinals) == 0:
        return np.zeros(len(docs), dtype=np.int64), np.zeros(len(docs), dtype=bool), []
    offsets = doc_values.offsets
    starts = offsets[docs]
    ends = offsets[docs + 1]
    has_value = ends > starts
    last_index = len(doc_values.ordinals) - 1
    index = np.clip(ends - 1, 0, last_index) if mode == "max" else np.clip(starts, 0, last_index)
    return doc_values.ordinals[index].astype(np.int64), has_value, list(doc_values.terms)


def as_reported_score(score: float) -> float:
    """A score as OpenSearch reports it: Lucene scores are 32-bit floats, printed in their shortest
    form (0.2876821, not 0.28768207245178085), so hits and max_score carry the float32 value."""
    return float(str(np.float32(score)))


def _keyword_rank(terms: list[str], value: str) -> float:
    """Where a term string falls among a segment's ordinals (x.5 when it is not in the segment)."""
    position = bisect_left(terms, value)
    if position < len(terms) and terms[position] == value:
        return float(position)
    return position - 0.5


@dataclass
class _SegmentSortColumn:
    key: np.ndarray             # ascending-space float64, one per candidate doc
    values: Any                 # raw values per doc (numbers or ordinals), for the hit's sort values
    has_value: np.ndarray
    terms: list[str] | None = None
    is_float: bool = False
    table: np.ndarray | None = None   # integers past 2^53: the sorted distinct values the keys rank into


def _column(resolved: ResolvedSort, segment_execution: SegmentExecution, docs: np.ndarray,
            scores: np.ndarray | None) -> _SegmentSortColumn:
    sign = -1.0 if resolved.descending else 1.0
    missing_key = np.inf if resolved.missing_last else -np.inf
    if resolved.kind == "score":
        # rank by the float32 score Lucene would compare, so equal reported scores tie by doc
        values = scores.astype(np.float32).astype(np.float64) if scores is not None else np.zeros(len(docs))
        return _SegmentSortColumn(sign * values, values, np.ones(len(docs), dtype=bool), is_float=True)
    if resolved.kind == "doc":
        global_docs = docs + segment_execution.doc_base
        return _SegmentSortColumn(sign * global_docs.astype(np.float64), global_docs, np.ones(len(docs), dtype=bool))
    if resolved.kind == "missing":
        values = np.zeros(len(docs))
        has_value = np.zeros(len(docs), dtype=bool)
        if resolved.missing_value is not None:
            return _SegmentSortColumn(np.zeros(len(docs)), values, has_value)
        return _SegmentSortColumn(np.full(len(docs), missing_key), values, has_value)
    field_name = resolved.sort_field.field
    if resolved.kind == "numeric":
        values, has_value, is_float = _numeric_per_doc(segment_execution, field_name, docs, resolved.mode)
        if not is_float and values.dtype.kind in "iu" and len(values) and has_value.any() and (
                int(values.max()) > _EXACT_DOUBLE_INTEGER or int(values.min()) < -_EXACT_DOUBLE_INTEGER):
            return _exact_integer_column(resolved, values, has_value, sign, missing_key)
        key = values.astype(np.float64)
        if resolved.missing_value is not None:
            try:
                stand_in = float(resolved.missing_value)
            except (TypeError, ValueError):
                raise QueryShardError(f"[{field_name}] sort missing value [{resolved.missing_value}] is not a number") from None
            key = np.where(has_value, key, stand_in) * sign
        else:
            key = np.where(has_value, key * sign, missing_key)
        return _SegmentSortColumn(key, values, has_value, is_float=is_float or resolved.is_float)
    ordinals, has_value, terms = _keyword_per_doc(segment_execution, field_name, docs, resolved.mode)
    key = ordinals.astype(np.float64)
    if resolved.missing_value is not None:
        key = np.where(has_value, key, _keyword_rank(terms, str(_ip_stored(resolved, resolved.missing_value)))) * sign
    else:
        key = np.where(has_value, key * sign, missing_key)
    return _SegmentSortColumn(key, ordinals, has_value, terms=terms)


_NUMBER_TEXT = re.compile(r"[+-]?\d+(\.\d+)?")


def _parse_date_after(resolved: ResolvedSort, text: str) -> int:
    """A search_after value given as a formatted date: epoch ms (date) or ns (date_nanos)."""
    from index.errors import MapperParsingError
    from index.mapping.dates import parse_date, parse_date_nanos

    try:
        if resolved.date_type == "date_nanos":
            return parse_date_nanos(text, resolved.date_format or "strict_date_optional_time_nanos||epoch_millis")
        return parse_date(text, resolved.date_format or "strict_date_optional_time||epoch_millis")
    except MapperParsingError as error:
        raise QueryShardError(f"search_after value [{text}] does not fit the sort on [{resolved.sort_field.field}]: "
                              f"{error.reason}", field=resolved.sort_field.field) from None


_EXACT_DOUBLE_INTEGER = 2 ** 53   # past it a double no longer tells neighbouring integers apart


def _integer_rank(table: np.ndarray, value: Any) -> float:
    """Where a number falls among a column's sorted distinct integers (x.5 between two of them)."""
    if isinstance(value, float) and not value.is_integer():
        return int(np.searchsorted(table.astype(np.float64), value)) - 0.5
    number = int(value)
    try:
        position = int(np.searchsorted(table, number))
    except OverflowError:   # outside the column's integer type: before or after every value
        return -0.5 if number < 0 else len(table) - 0.5
    if position < len(table) and int(table[position]) == number:
        return float(position)
    return position - 0.5


def _exact_integer_column(resolved: ResolvedSort, values: np.ndarray, has_value: np.ndarray, sign: float,
                          missing_key: float) -> _SegmentSortColumn:
    """Sort keys for integers a double cannot hold apart (longs and unsigned_longs past 2^53): each
    value's rank among the column's distinct values, which a double holds exactly."""
    table = np.unique(values[has_value])
    ranks = np.searchsorted(table, values).astype(np.float64)
    if resolved.missing_value is not None:
        try:
            stand_in = _integer_rank(table, resolved.missing_value)
        except (TypeError, ValueError):
            raise QueryShardError(f"[{resolved.sort_field.field}] sort missing value [{resolved.missing_value}] "
                                  f"is not a number") from None
        key = np.where(has_value, ranks, stand_in) * sign
    else:
        key = np.where(has_value, ranks * sign, missing_key)
    return _SegmentSortColumn(key, values, has_value, is_float=False, table=table)


def _after_key(resolved: ResolvedSort, column: _SegmentSortColumn, after_value: Any) -> float:
    sign = -1.0 if resolved.descending else 1.0
    missing_key = np.inf if resolved.missing_last else -np.inf
    if resolved.kind == "missing":
        return 0.0 if resolved.missing_value is not None else missing_key
    if after_value is None:
        if resolved.missing_value is not None:
            after_value = resolved.missing_value
        else:
            return missing_key
    if resolved.kind == "keyword":
        return sign * _keyword_rank(column.terms or [], str(_ip_stored(resolved, after_value)))
    if resolved.date_type is not None and isinstance(after_value, str) and not _NUMBER_TEXT.fullmatch(after_value):
        after_value = _parse_date_after(resolved, after_value)
    try:
        if column.table is not None:
            return sign * _integer_rank(column.table, after_value)
        if resolved.kind == "score":
            # the key holds float32 scores widened to float64; the reported sort value is that
            # float32 printed shortest, so widen the after-value the same way or ties repeat; a
            # value past float32's range is infinite as a float32 (no score reaches it)
            with np.errstate(over="ignore"):
                return sign * float(np.float32(float(after_value)))
        return sign * float(after_value)
    except (TypeError, ValueError):
        raise QueryShardError(f"search_after value [{after_value}] does not fit the sort on "
                              f"[{resolved.sort_field.field}]") from None


def _sort_value(resolved: ResolvedSort, column: _SegmentSortColumn, row: int) -> Any:
    if resolved.kind == "score":
        return as_reported_score(column.values[row])
    if resolved.kind == "doc":
        return int(column.values[row])
    if not column.has_value[row]:
        return _ip_stored(resolved, resolved.missing_value)
    if resolved.kind == "keyword":
        return column.terms[int(column.values[row])]
    value = column.values[row]
    return float(value) if column.is_float else int(value)


def _top_hits_by_score(segment_execution: SegmentExecution, window: int, docs: np.ndarray,
                       scores: np.ndarray) -> list[ShardHit]:
    """The default order (float32 score descending, doc ascending) without the sort columns: what
    almost every search asks, so its fixed cost matters."""
    keys = scores.astype(np.float32)
    count = len(keys)
    if window < count:
        kth = np.partition(keys, count - window)[count - window]
        rows = np.flatnonzero(keys >= kth)
    else:
        rows = np.arange(count)
    ordered_rows = rows[np.lexsort((docs[rows], -keys[rows]))][:window]
    segment = segment_execution.segment
    shard = segment_execution.shard
    index_name = shard.context.index_name
    shard_index = shard.context.shard_index
    segment_index = segment_execution.segment_index
    segment_name = segment.name
    document_id = segment.document_id
    return [ShardHit(index_name, shard_index, segment_index, segment_name, doc, document_id(doc),
                     float(str(key)), None)
            for doc, key in zip(docs[ordered_rows].tolist(), keys[ordered_rows])]


class ScoreOrderCollector:
    """The shard's best ``window`` docs in the default order (float32 score descending, then
    segment, then doc — the merge's order, since reported scores order as their float32 keys),
    selected over every segment at once so ShardHits are made for the window only, not for
    every segment's window."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._parts: list[tuple[SegmentExecution, np.ndarray, np.ndarray]] = []

    def add(self, segment_execution: SegmentExecution, docs: np.ndarray, scores: np.ndarray) -> None:
        if self.window == 0 or len(docs) == 0:
            return
        keys = scores.astype(np.float32)
        if self.window < len(keys):
            kth = np.partition(keys, len(keys) - self.window)[len(keys) - self.window]
            rows = np.flatnonzero(keys >= kth)
            docs, keys = docs[rows], keys[rows]
        self._parts.append((segment_execution, docs, keys))

    def floor(self) -> float:
        """The window-th best float32 score collected so far (-inf before ``window`` docs): a later
        segment's doc must reach it to enter the window."""
        if sum(len(keys) for _, _, keys in self._parts) < self.window or self.window == 0:
            return -np.inf
        keys = np.concatenate([keys for _, _, keys in self._parts])
        return float(np.partition(keys, len(keys) - self.window)[len(keys) - self.window])

    def hits(self) -> list[ShardHit]:
        if not self._parts:
            return []
        docs = np.concatenate([docs for _, docs, _ in self._parts])
        keys = np.concatenate([keys for _, _, keys in self._parts])
        parts = np.concatenate([np.full(len(part_docs), number, dtype=np.int64)
                                for number, (_, part_docs, _) in enumerate(self._parts)])
        # segment_index grows with the part number (segments are added in order)
        ordered = np.lexsort((docs, parts, -keys))[:self.window]
        hits = []
        for doc, part, key in zip(docs[ordered].tolist(), parts[ordered].tolist(), keys[ordered]):
            segment_execution = self._parts[part][0]
            context = segment_execution.shard.context
            segment = segment_execution.segment
            hits.append(ShardHit(context.index_name, context.shard_index, segment_execution.segment_index,
                                 segment.name, doc, segment.document_id(doc), float(str(key)), None))
        return hits


def collect_top_hits(segment_execution: SegmentExecution, resolved_sorts: list[ResolvedSort],
                     request: SearchRequest, docs: np.ndarray, scores: np.ndarray | None) -> list[ShardHit]:
    """The segment's best ``window`` docs (after search_after), as ShardHits in rank order."""
    window = request.window_size
    if window == 0 or len(docs) == 0:
        return []
    if not request.sort and request.search_after is None and scores is not None:
        return _top_hits_by_score(segment_execution, window, docs, scores)
    columns = [_column(resolved, segment_execution, docs, scores) for resolved in resolved_sorts]
    candidate_rows = np.arange(len(docs))
    if request.search_after is not None:
        greater = np.zeros(len(docs), dtype=bool)
        equal = np.ones(len(docs), dtype=bool)
        for resolved, column, after_value in zip(resolved_sorts, columns, request.search_after):
            after = _after_key(resolved, column, after_value)
            greater |= equal & (column.key > after)
            equal &= column.key == after
        candidate_rows = np.flatnonzero(greater)
        if len(candidate_rows) == 0:
            return []
    primary = columns[0].key[candidate_rows]
    if window < len(candidate_rows):
        threshold = np.partition(primary, window - 1)[window - 1]
        candidate_rows = candidate_rows[primary <= threshold]
    lexsort_keys = [docs[candidate_rows]] + [column.key[candidate_rows] for column in reversed(columns)]
    ordered_rows = candidate_rows[np.lexsort(lexsort_keys)][:window]
    segment = segment_execution.segment
    shard = segment_execution.shard
    explicit_sort = bool(request.sort)
    keep_scores = scores is not None and (not explicit_sort or request.track_scores
                                          or any(resolved.kind == "score" for resolved in resolved_sorts))
    hits = []
    for row in ordered_rows.tolist():
        doc = int(docs[row])
        hits.append(ShardHit(
            index_name=shard.context.index_name,
            shard_index=shard.context.shard_index,
            segment_index=segment_execution.segment_index,
            segment_name=segment.name,
            doc=doc,
            document_id=segment.document_id(doc),
            score=as_reported_score(scores[row]) if keep_scores else None,
            sort_values=tuple(_sort_value(resolved, column, row) for resolved, column in zip(resolved_sorts, columns))
            if explicit_sort else None,
        ))
    return hits
