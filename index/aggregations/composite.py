"""The composite aggregation: paging through every combination of source values.

Owns: parsing `composite` (sources terms / histogram / date_histogram, size, after,
missing_bucket, order), collecting a segment's combinations with numpy (per-source dense ids,
one lexsort, boundaries; Python tuples only for the at most `size` kept combinations), the
CompositeState partial and its merge, and the response shape (`after_key`, `buckets[].key`
objects).

Pagination is exact at every level: each segment keeps its first `size` combinations after
`after`, and the first `size` of the union are among those, so merging cuts to `size` again.

Must never: render other aggregation types or read anything but doc values through collect.py's
helpers.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass

import numpy as np

from index.aggregations import dates
from index.errors import AggregationError


@dataclass(frozen=True, slots=True)
class CompositeSource:
    name: str
    kind: str                        # terms | histogram | date_histogram
    field: str
    ascending: bool = True
    missing_bucket: bool = False
    interval: float | None = None    # histogram
    calendar_unit: str | None = None
    fixed_interval_millis: int | None = None
    time_zone: str = "UTC"
    offset_millis: int = 0
    format: str | None = None
    missing_order: str = "default"   # first | last | default (first ascending, last descending)

    @property
    def missing_first(self) -> bool:
        if self.missing_order == "default":
            return self.ascending
        return self.missing_order == "first"

    def rounding(self) -> dates.DateRounding:
        return dates.DateRounding(self.calendar_unit, self.fixed_interval_millis,
                                  dates.parse_time_zone(self.time_zone), self.offset_millis)


@dataclass(frozen=True, slots=True)
class CompositeSpec:
    sources: tuple[CompositeSource, ...]
    size: int = 10
    after: tuple | None = None       # one value per source (None for a missing bucket)


def parse_composite(name: str, body: dict) -> CompositeSpec:
    body = dict(body)
    sources_json = body.pop("sources", None)
    if not isinstance(sources_json, list) or not sources_json:
        raise AggregationError(f"Composite [sources] cannot be null or empty in [{name}]")
    sources = []
    for source_json in sources_json:
        if not isinstance(source_json, dict) or len(source_json) != 1:
            raise AggregationError(f"each of [sources] of composite [{name}] must be an object with "
                                   f"one named source")
        (source_name, definition), = source_json.items()
        if not isinstance(definition, dict) or len(definition) != 1:
            raise AggregationError(f"composite source [{source_name}] must have exactly one type")
        (kind, params), = definition.items()
        sources.append(_parse_source(name, source_name, kind, dict(params)))
    names = [source.name for source in sources]
    if len(set(names)) != len(names):
        raise AggregationError(f"Composite source names must be unique, found duplicates in [{name}]")
    size = body.pop("size", 10)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise AggregationError(f"[size] must be greater than 0. Found [{size}] in [{name}]")
    after_json = body.pop("after", None)
    if body:
        raise AggregationError(f"[composite] unknown field [{next(iter(body))}] in [{name}]")
    after = None
    if after_json is not None:
        if not isinstance(after_json, dict) or set(after_json) != set(names):
            raise AggregationError(f"[after] has [{len(after_json) if isinstance(after_json, dict) else 0}] "
                                   f"values, but [sources] has [{len(names)}] in [{name}]")
        after = tuple(_after_value(source, after_json[source.name]) for source in sources)
    return CompositeSpec(tuple(sources), size, after)


def _parse_source(name: str, source_name: str, kind: str, params: dict) -> CompositeSource:
    field_name = params.pop("field", None)
    if "script" in params:
        raise AggregationError(f"[script] is not supported in composite source [{source_name}]")
    if not isinstance(field_name, str):
        raise AggregationError(f"Required one of fields [field, script], but none were specified. "
                               f"in composite source [{source_name}]")
    order = params.pop("order", "asc")
    if order not in ("asc", "desc"):
        raise AggregationError(f"Unknown SortOrder [{order}] in composite source [{source_name}]")
    missing_bucket = params.pop("missing_bucket", False)
    if not isinstance(missing_bucket, bool):
        raise AggregationError(f"[missing_bucket] must be a boolean in [{source_name}]")
    missing_order = params.pop("missing_order", "default")
    if not isinstance(missing_order, str) or missing_order.lower() not in ("first", "last", "default"):
        raise AggregationError(f"Unknown MissingOrder [{missing_order}] in composite source [{source_name}]")
    missing_order = missing_order.lower()
    if missing_order != "default" and not missing_bucket:
        raise AggregationError("missingOrder can only be set if missingBucket is true")
    params.pop("value_type", None)
    format_ = params.pop("format", None)
    common = dict(name=source_name, field=field_name, ascending=order == "asc",
                  missing_bucket=missing_bucket, missing_order=missing_order)
    if kind == "terms":
        source = CompositeSource(kind="terms", **common)
    elif kind == "histogram":
        interval = params.pop("interval", None)
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
            raise AggregationError(f"[interval] must be > 0 for histogram source [{source_name}]")
        source = CompositeSource(kind="histogram", interval=float(interval), **common)
    elif kind == "date_histogram":
        calendar, fixed = params.pop("calendar_interval", None), params.pop("fixed_interval", None)
        legacy = params.pop("interval", None)
        calendar_unit = fixed_millis = None
        if calendar is not None:
            calendar_unit = dates.CALENDAR_UNITS.get(str(calendar))
            if calendar_unit is None:
                raise AggregationError(f"The supplied interval [{calendar}] could not be parsed as a "
                                       f"calendar interval.")
        elif fixed is not None:
            fixed_millis = dates.parse_fixed_interval(fixed, "fixed_interval")
        elif legacy is not None:
            calendar_unit = dates.CALENDAR_UNITS.get(str(legacy))
            if calendar_unit is None:
                fixed_millis = dates.parse_fixed_interval(legacy, "interval")
        else:
            raise AggregationError(f"Invalid interval specified for composite source [{source_name}]")
        time_zone = str(params.pop("time_zone", "UTC"))
        dates.parse_time_zone(time_zone)
        offset = dates.parse_offset_millis(params.pop("offset", 0), "offset")
        if format_ is not None:
            dates.validate_date_format(format_)
        source = CompositeSource(kind="date_histogram", calendar_unit=calendar_unit,
                                 fixed_interval_millis=fixed_millis, time_zone=time_zone,
                                 offset_millis=offset, format=format_, **common)
    else:
        raise AggregationError(f"Unknown composite source type [{kind}] in [{name}]: expected terms, "
                               f"histogram or date_histogram")
    if params:
        raise AggregationError(f"[{kind}] unknown field [{next(iter(params))}] in composite source "
                               f"[{source_name}]")
    return source


def _after_value(source: CompositeSource, value):
    if value is None:
        return None
    if source.kind == "date_histogram" and isinstance(value, str):
        return dates.parse_date_bound(value, now_millis=None, date_format=source.format,
                                      time_zone=dates.parse_time_zone(source.time_zone),
                                      round_up=False, key=f"after.{source.name}")
    return value

# --------------------------------------------------------------------------- ordering


def compare_keys(sources, left: tuple, right: tuple) -> int:
    """Lexicographic by source; a missing value (None) sorts where the source's missing_order puts
    it (by default first ascending, last descending)."""
    for source, left_value, right_value in zip(sources, left, right):
        if left_value == right_value:
            continue
        if left_value is None or right_value is None:
            missing_first = getattr(source, "missing_first", source.ascending)
            return (-1 if missing_first else 1) if left_value is None else (1 if missing_first else -1)
        result = -1 if left_value < right_value else 1
        return result if source.ascending else -result
    return 0


def sort_key_function(sources):
    return functools.cmp_to_key(functools.partial(compare_keys, sources))

# --------------------------------------------------------------------------- collecting


def collect_combinations(spec: CompositeSpec, source_columns: list) -> tuple[list[tuple], list[np.ndarray]]:
    """The first `size` combinations after `spec.after`, in order, with the rows of each.

    `source_columns[i]` is (rows, values, missing_rows, to_python) for source i: deduplicated
    (row, value) pairs with rows non-decreasing, the rows without any value, and the function
    turning a value into its key (an ordinal into its term, say). Rows index the matching
    documents; values must sort like their keys."""
    combination_rows = None
    columns: list[np.ndarray] = []           # one dense rank per source, aligned with rows
    value_tables: list[np.ndarray] = []
    converters = [column[3] for column in source_columns]
    for source, (rows, values, missing_rows, _) in zip(spec.sources, source_columns):
        table, ranks = np.unique(values, return_inverse=True) if values.size else (values[:0], np.zeros(0, np.int64))
        ranks = ranks.reshape(-1).astype(np.int64)
        if not source.ascending:
            ranks = table.size - 1 - ranks
        if source.missing_bucket and missing_rows.size:
            # the missing bucket ranks -1 (before every value) or table.size (after every value)
            missing_rank = -1 if source.missing_first else table.size
            rows = np.concatenate([rows, missing_rows])
            ranks = np.concatenate([ranks, np.full(missing_rows.size, missing_rank, dtype=np.int64)])
            order = np.argsort(rows, kind="stable")
            rows, ranks = rows[order], ranks[order]
        value_tables.append(table)
        if combination_rows is None:
            combination_rows, columns = rows, [ranks]
            continue
        combination_rows, columns = _join_on_rows(combination_rows, columns, rows, ranks)
    if combination_rows is None or combination_rows.size == 0:
        return [], []
    order = np.lexsort(columns[::-1])          # the first source is the most significant
    sorted_columns = [column[order] for column in columns]
    sorted_rows = combination_rows[order]
    change = np.zeros(order.size, dtype=bool)
    change[0] = True
    for column in sorted_columns:
        change[1:] |= column[1:] != column[:-1]
    starts = np.flatnonzero(change)
    boundaries = np.append(starts, order.size)

    def key_at(group: int) -> tuple:
        position = starts[group]
        return tuple(_rank_value(source, table, int(column[position]), to_python)
                     for source, table, column, to_python
                     in zip(spec.sources, value_tables, sorted_columns, converters))

    first_group = 0
    if spec.after is not None:
        after = spec.after
        groups = _KeyView(starts.size, key_at, spec.sources)
        first_group = bisect.bisect_right(groups, _Comparable(after, spec.sources))
    kept = range(first_group, min(first_group + spec.size, starts.size))
    keys = [key_at(group) for group in kept]
    rows = [sorted_rows[boundaries[group]:boundaries[group + 1]] for group in kept]
    return keys, rows


def _rank_value(source, table, rank, to_python):
    size = table.size
    if rank == -1 or rank == size:
        return None
    if not source.ascending:
        rank = size - 1 - rank
    value = table[rank]
    return to_python(value.item() if hasattr(value, "item") else value)


class _Comparable:
    __slots__ = ("key", "sources")

    def __init__(self, key, sources):
        self.key, self.sources = key, sources

    def __lt__(self, other):
        return compare_keys(self.sources, self.key, other.key) < 0


class _KeyView:
    """Sorted groups seen as a sequence of comparable keys, built lazily for bisect."""

    def __init__(self, length, key_at, sources):
        self.length, self.key_at, self.sources = length, key_at, sources

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        return _Comparable(self.key_at(index), self.sources)


def _join_on_rows(left_rows, left_columns, right_rows, right_ranks):
    """Every (left combination, right value) pair sharing a row: a cross product per row."""
    if left_rows.size == 0 or right_rows.size == 0:
        return left_rows[:0], [column[:0] for column in left_columns] + [right_ranks[:0]]
    row_count = int(max(left_rows.max(), right_rows.max())) + 1
    right_counts = np.bincount(right_rows, minlength=row_count)
    right_starts = np.concatenate([[0], np.cumsum(right_counts)[:-1]])
    repeats = right_counts[left_rows]
    expanded_left = np.repeat(np.arange(left_rows.size), repeats)
    run_starts = np.repeat(np.cumsum(repeats) - repeats, repeats)
    right_positions = (np.arange(expanded_left.size) - run_starts
                       + np.repeat(right_starts[left_rows], repeats))
    rows = left_rows[expanded_left]
    columns = [column[expanded_left] for column in left_columns] + [right_ranks[right_positions]]
    return rows, columns
