"""Parsing the `aggs` / `aggregations` JSON of a search request into a typed tree.

Owns: AggregationTree / AggregationNode and one frozen spec dataclass per aggregation type,
`parse_aggregations`, and every "this request is malformed" error, with OpenSearch's reasons
("Unknown aggregation type [x]", "Required one of fields [field, script], but none were
specified.", ...) naming the aggregation and the key.

Must never: read segments or compute anything. The tree is parsed once per request on each
side of a process boundary (the raw JSON is what travels), so it has no wire form of its own.
Query clauses inside `filter` / `filters` are parsed with the query engine's parser (injected,
or index.query.parse_query by default) and handed back to the caller's
`context.filter_bitmap(query_node, segment)` untouched.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from index.aggregations import dates, pipelines
from index.aggregations.sketches import DEFAULT_COMPRESSION, DEFAULT_PRECISION_THRESHOLD, MAX_PRECISION_THRESHOLD
from index.errors import AggregationError

_VALID_NAME = re.compile(r"^[^\[\]>]+$")


@dataclass(frozen=True, slots=True)
class AggregationNode:
    name: str
    type: str                       # "terms", "avg", ...
    spec: Any                       # the frozen *Spec of that type
    sub_aggregations: AggregationTree
    meta: dict | None = None


@dataclass(frozen=True, slots=True)
class AggregationTree:
    """One level of aggregations. Iterating yields the data aggregations (collected, merged);
    `pipelines` (pipelines.py) run only when rendering."""

    nodes: tuple[AggregationNode, ...] = ()
    pipelines: tuple[AggregationNode, ...] = ()

    def __iter__(self):
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __bool__(self) -> bool:
        return bool(self.nodes)

    def node(self, name: str) -> AggregationNode | None:
        for node in self.nodes:
            if node.name == name:
                return node
        return None


EMPTY_TREE = AggregationTree(())

# --------------------------------------------------------------------------- specs


@dataclass(frozen=True, slots=True)
class MetricSpec:                         # avg min max sum value_count stats
    field: str
    missing: Any = None


@dataclass(frozen=True, slots=True)
class ExtendedStatsSpec:
    field: str
    missing: Any = None
    sigma: float = 2.0


@dataclass(frozen=True, slots=True)
class CardinalitySpec:
    field: str
    missing: Any = None
    precision_threshold: int = DEFAULT_PRECISION_THRESHOLD


@dataclass(frozen=True, slots=True)
class PercentilesSpec:
    field: str
    percents: tuple[float, ...] = (1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0)   # DEFAULT_PERCENTS
    keyed: bool = True
    compression: float = DEFAULT_COMPRESSION
    missing: Any = None


@dataclass(frozen=True, slots=True)
class PercentileRanksSpec:
    field: str
    values: tuple[float, ...]
    keyed: bool = True
    compression: float = DEFAULT_COMPRESSION
    missing: Any = None


@dataclass(frozen=True, slots=True)
class WeightedAvgSpec:
    value_field: str
    weight_field: str
    value_missing: Any = None
    weight_missing: Any = None


@dataclass(frozen=True, slots=True)
class SortSpec:
    field: str                # "_score", "_doc" or a field path
    ascending: bool
    missing_last: bool = True


@dataclass(frozen=True, slots=True)
class TopHitsSpec:
    size: int = 3
    offset: int = 0           # "from"
    sort: tuple[SortSpec, ...] = ()           # empty: by _score descending
    source_enabled: bool = True
    source_includes: tuple[str, ...] = ()
    source_excludes: tuple[str, ...] = ()
    track_scores: bool = False
    version: bool = False
    seq_no_primary_term: bool = False


@dataclass(frozen=True, slots=True)
class BucketOrder:
    path: str                 # "_count", "_key", "sub_agg" or "sub_agg.metric"
    ascending: bool


DEFAULT_TERMS_ORDER = (BucketOrder("_count", False), BucketOrder("_key", True))
DEFAULT_PERCENTS = (1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0)


@dataclass(frozen=True, slots=True)
class TermsSpec:
    field: str
    size: int = 10
    shard_size: int = 25
    min_doc_count: int = 1
    shard_min_doc_count: int = 0
    order: tuple[BucketOrder, ...] = DEFAULT_TERMS_ORDER
    missing: Any = None
    include: Any = None       # regex string, or tuple of exact values
    exclude: Any = None
    show_term_doc_count_error: bool = False
    format: str | None = None
    # `value_type`: how an unmapped field's `missing` value is typed (keyword long double date
    # boolean), as OpenSearch's ValueType hint; None: keyword, the field being unmapped
    value_type: str | None = None


@dataclass(frozen=True, slots=True)
class TermsPartition:
    """`include: {"partition": p, "num_partitions": n}`: the terms whose hash falls in part p."""

    partition: int
    num_partitions: int


@dataclass(frozen=True, slots=True)
class HistogramSpec:
    field: str
    interval: float
    offset: float = 0.0
    min_doc_count: int = 0
    extended_bounds: tuple[float, float] | None = None
    hard_bounds: tuple[float | None, float | None] | None = None
    keyed: bool = False
    missing: Any = None
    order: tuple[BucketOrder, ...] = (BucketOrder("_key", True),)
    format: str | None = None        # a java DecimalFormat pattern for key_as_string


@dataclass(frozen=True, slots=True)
class DateHistogramSpec:
    field: str
    calendar_unit: str | None
    fixed_interval_millis: int | None
    time_zone: str = "UTC"
    offset_millis: int = 0
    min_doc_count: int = 0
    extended_bounds: tuple[Any, Any] | None = None     # raw; resolved at collection (date math)
    hard_bounds: tuple[Any, Any] | None = None
    keyed: bool = False
    format: str | None = None
    missing: Any = None
    order: tuple[BucketOrder, ...] = (BucketOrder("_key", True),)

    def rounding(self) -> dates.DateRounding:
        return dates.DateRounding(self.calendar_unit, self.fixed_interval_millis,
                                  dates.parse_time_zone(self.time_zone), self.offset_millis)


@dataclass(frozen=True, slots=True)
class RangeItem:
    key: str | None
    from_value: Any           # number, or a date string for date_range; None = unbounded
    to_value: Any


@dataclass(frozen=True, slots=True)
class RangeSpec:
    field: str
    ranges: tuple[RangeItem, ...]
    keyed: bool = False
    is_date: bool = False
    format: str | None = None
    time_zone: str = "UTC"
    missing: Any = None


@dataclass(frozen=True, slots=True)
class IpRangeItem:
    key: str | None           # the explicit key, else rendered "from-to" (or the mask)
    lower: str | None         # inclusive bound, ip stored form (index/mapping/ip.py); None = unbounded
    upper: str | None         # exclusive bound, stored form; None = unbounded
    mask: str | None = None   # the CIDR block as given, when the range was a mask


@dataclass(frozen=True, slots=True)
class IpRangeSpec:
    field: str
    ranges: tuple[IpRangeItem, ...]
    keyed: bool = False
    missing: Any = None


@dataclass(frozen=True, slots=True)
class FilterSpec:
    query: Any                # a QueryNode of index.query (opaque here)


@dataclass(frozen=True, slots=True)
class FiltersSpec:
    named: bool
    filters: tuple[tuple[str, Any], ...]
    other_bucket: bool = False
    other_bucket_key: str = "_other_"
    keyed: bool = True


@dataclass(frozen=True, slots=True)
class MissingSpec:
    field: str


@dataclass(frozen=True, slots=True)
class GlobalSpec:
    pass


METRIC_TYPES = frozenset({"avg", "min", "max", "sum", "value_count", "stats", "extended_stats",
                          "cardinality", "percentiles", "percentile_ranks", "weighted_avg",
                          "top_hits", "median_absolute_deviation"})
BUCKET_TYPES = frozenset({"terms", "histogram", "date_histogram", "range", "date_range", "ip_range",
                          "filter", "filters", "missing", "global", "composite"})

# --------------------------------------------------------------------------- parsing


def parse_aggregations(aggs_json: dict | None, *,
                       parse_query: Callable[[dict], Any] | None = None) -> AggregationTree:
    """Parse the value of a request's `aggs` (or `aggregations`) key.

    `parse_query` turns a query clause (of `filter` / `filters`) into the query engine's node;
    by default index.query.parse_query, imported only when such an aggregation appears."""
    if aggs_json is None:
        return EMPTY_TREE
    return _parse_level(aggs_json, parse_query, path="aggregations", depth=0)


def tree_needs_scores(tree: AggregationTree) -> bool:
    """Whether collect_segment should be given scores: some top_hits sorts by (or tracks) _score."""
    for node in tree:
        if node.type == "top_hits":
            spec = node.spec
            if not spec.sort or spec.track_scores or any(sort.field == "_score" for sort in spec.sort):
                return True
        if tree_needs_scores(node.sub_aggregations):
            return True
    return False


def _parse_level(level_json: Any, parse_query, path: str, depth: int) -> AggregationTree:
    if not isinstance(level_json, dict):
        raise AggregationError(f"[{path}] expected an object of named aggregations, "
                               f"got [{type(level_json).__name__}]")
    if depth > 20:
        raise AggregationError(f"aggregations are nested too deeply at [{path}] (limit 20)")
    nodes = []
    pipeline_nodes = []
    for name, definition in level_json.items():
        if not isinstance(name, str) or not name or not _VALID_NAME.match(name):
            raise AggregationError(f"Invalid aggregation name [{name}]. Aggregation names can "
                                   f"contain any character except '[', ']', and '>'")
        node = _parse_node(name, definition, parse_query, depth)
        (pipeline_nodes if node.type in pipelines.PIPELINE_TYPES else nodes).append(node)
    for position, node in enumerate(pipeline_nodes):
        if node.type in pipelines.SIBLING_TYPES:
            pipeline_nodes[position] = pipelines.validate_sibling(node, nodes)
        elif depth == 0:
            if node.type in ("cumulative_sum", "derivative"):
                raise AggregationError(f"{node.type} aggregation [{node.name}] must have a histogram, "
                                       f"date_histogram or auto_date_histogram as parent but doesn't have "
                                       f"a parent")
            # OpenSearch's wording (validateHasParent)
            raise AggregationError(f"{node.type} aggregation [{node.name}] must be declared inside of "
                                   f"another aggregation")
    return AggregationTree(tuple(nodes), tuple(pipeline_nodes))


def _parse_node(name: str, definition: Any, parse_query, depth: int) -> AggregationNode:
    if not isinstance(definition, dict):
        raise AggregationError(f"Expected [START_OBJECT] under [{name}], but got a "
                               f"[{type(definition).__name__}] in [{name}]")
    type_name = None
    body = None
    meta = None
    sub_json = None
    for key, value in definition.items():
        if key in ("aggs", "aggregations"):
            if sub_json is not None:
                raise AggregationError(f"Found two sub aggregation definitions under [{name}]")
            sub_json = value
        elif key == "meta":
            if not isinstance(value, dict):
                raise AggregationError(f"[meta] of aggregation [{name}] must be an object")
            meta = value
        else:
            if type_name is not None:
                raise AggregationError(f"Found two aggregation type definitions in [{name}]: "
                                       f"[{type_name}] and [{key}]")
            type_name, body = key, value
    if type_name is None:
        raise AggregationError(f"Missing definition for aggregation [{name}]")
    if type_name in pipelines.REFUSED_TYPES:
        raise AggregationError(f"[{type_name}] pipeline aggregations are not supported (aggregation "
                               f"[{name}])")
    if type_name in pipelines.PIPELINE_TYPES:
        if not isinstance(body, dict):
            raise AggregationError(f"Expected [START_OBJECT] under [{type_name}] in [{name}]")
        if sub_json is not None:
            raise AggregationError(f"Aggregator [{name}] of type [{type_name}] cannot accept "
                                   f"sub-aggregations")
        return AggregationNode(name, type_name, pipelines.parse_pipeline(name, type_name, body),
                               EMPTY_TREE, meta)
    parser = _PARSERS.get(type_name)
    if parser is None:
        raise AggregationError(f"Unknown aggregation type [{type_name}] did you mean "
                               f"[{_closest(type_name)}]?" if _closest(type_name)
                               else f"Unknown aggregation type [{type_name}]")
    if not isinstance(body, dict):
        raise AggregationError(f"Expected [START_OBJECT] under [{type_name}], but got a "
                               f"[{type(body).__name__}] in [{name}]")
    spec = parser(name, type_name, dict(body), parse_query)
    sub_tree = EMPTY_TREE
    if sub_json is not None:
        if type_name == "significant_terms":
            raise AggregationError(f"sub-aggregations of [{type_name}] are not supported "
                                   f"(aggregation [{name}])")
        if type_name in METRIC_TYPES:
            raise AggregationError(f"Aggregator [{name}] of type [{type_name}] cannot accept "
                                   f"sub-aggregations")
        sub_tree = _parse_level(sub_json, parse_query, path=f"{name}.aggs", depth=depth + 1)
        for pipeline_node in sub_tree.pipelines:
            if pipeline_node.type in pipelines.PARENT_TYPES:
                pipelines.validate_parent(pipeline_node, AggregationNode(name, type_name, None, EMPTY_TREE))
        for sub_node in sub_tree:
            if sub_node.type == "composite":
                raise AggregationError(f"[composite] aggregation cannot be used with a parent "
                                       f"aggregation of type: [{type_name}]")
            if sub_node.type == "global":
                raise AggregationError(f"Aggregator [{sub_node.name}] of type [global] cannot be "
                                       f"a sub-aggregation of [{name}]: global must be top level")
    node = AggregationNode(name, type_name, spec, sub_tree, meta)
    _check_order_paths(node)
    return node


def _closest(type_name: str) -> str | None:
    import difflib
    matches = difflib.get_close_matches(type_name, sorted(set(_PARSERS) | pipelines.PIPELINE_TYPES),
                                        n=1, cutoff=0.75)
    return matches[0] if matches else None


class _Body:
    """The parameters of one aggregation, consumed key by key so leftovers can be refused."""

    def __init__(self, name: str, type_name: str, body: dict) -> None:
        self.name, self.type_name, self.body = name, type_name, body
        self.asked: set[str] = {"field"}     # the keys the parser knows, for "did you mean"

    def take(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return self.body.pop(key, default)

    def required_field(self) -> str:
        value = self.take("field")
        if "script" in self.body:
            raise AggregationError(f"[script] is not supported in aggregation [{self.name}] "
                                   f"of type [{self.type_name}]")
        if value is None:
            raise AggregationError(f"Required one of fields [field, script], but none were "
                                   f"specified. in [{self.name}]")
        if not isinstance(value, str):
            raise AggregationError(f"[field] of aggregation [{self.name}] must be a string, "
                                   f"got [{value!r}]")
        return value

    def integer(self, key: str, default: int, minimum: int | None = None) -> int:
        value = self.take(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise AggregationError(f"[{key}] of aggregation [{self.name}] must be an integer, "
                                   f"got [{value!r}]")
        try:
            number = int(value)
        except ValueError:
            raise AggregationError(f"[{key}] of aggregation [{self.name}] must be an integer, "
                                   f"got [{value!r}]") from None
        if minimum is not None and number < minimum:
            raise AggregationError(f"[{key}] must be greater than or equal to {minimum}. "
                                   f"Found [{number}] in [{self.name}]")
        return number

    def number(self, key: str, default: float | None) -> float | None:
        value = self.take(key, default)
        if value is None:
            return None
        if isinstance(value, bool):
            raise AggregationError(f"[{key}] of aggregation [{self.name}] must be a number, "
                                   f"got [{value!r}]")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise AggregationError(f"[{key}] of aggregation [{self.name}] must be a number, "
                                   f"got [{value!r}]") from None

    def boolean(self, key: str, default: bool) -> bool:
        value = self.take(key, default)
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        if not isinstance(value, bool):
            raise AggregationError(f"[{key}] of aggregation [{self.name}] must be a boolean, "
                                   f"got [{value!r}]")
        return value

    def finish(self) -> None:
        if self.body:
            key = next(iter(self.body))
            suggestion = did_you_mean(key, self.asked)
            raise AggregationError(f"[{self.type_name}] unknown field [{key}]{suggestion} in aggregation "
                                   f"[{self.name}]")


def did_you_mean(unknown: str, known) -> str:
    """OpenSearch's suggestion for a misspelt key (`` did you mean [jlh]?``), or ""."""
    import difflib
    close = difflib.get_close_matches(unknown, sorted(known), n=1, cutoff=0.6)
    return f" did you mean [{close[0]}]?" if close else ""


def _parse_metric(name, type_name, body, parse_query):
    params = _Body(name, type_name, body)
    field_name = params.required_field()
    missing = params.take("missing")
    if type_name == "extended_stats":
        sigma = params.number("sigma", 2.0)
        if sigma < 0:
            raise AggregationError(f"[sigma] must be greater than or equal to 0. Found [{sigma}] "
                                   f"in [{name}]")
        params.finish()
        return ExtendedStatsSpec(field_name, missing, sigma)
    if type_name == "cardinality":
        threshold = params.integer("precision_threshold", DEFAULT_PRECISION_THRESHOLD)
        if threshold < 0:
            # OpenSearch names the Java field in this message
            raise AggregationError(f"[precisionThreshold] must be greater than or equal to 0. Found "
                                   f"[{threshold}] in [{name}]")
        params.take("execution_hint")
        params.finish()
        return CardinalitySpec(field_name, missing, min(threshold, MAX_PRECISION_THRESHOLD))
    params.take("format")   # value_as_string formatting for numbers is not rendered
    params.finish()
    return MetricSpec(field_name, missing)


def _parse_compression(params: _Body) -> float:
    tdigest = params.take("tdigest")
    compression = DEFAULT_COMPRESSION
    if tdigest is not None:
        if not isinstance(tdigest, dict):
            raise AggregationError(f"[tdigest] of aggregation [{params.name}] must be an object")
        compression = float(tdigest.get("compression", DEFAULT_COMPRESSION))
        if compression < 0:
            raise AggregationError(f"[compression] must be greater than or equal to 0. Found "
                                   f"[{compression}] in [{params.name}]")
        compression = max(compression, 1.0)   # OpenSearch accepts [0, 1); our digest needs 1 at least
    if params.take("hdr") is not None:
        raise AggregationError(f"[hdr] percentiles are not supported in [{params.name}]: use "
                               f"the default tdigest method")
    params.take("method")
    return compression


def _parse_percentiles(name, type_name, body, parse_query):
    params = _Body(name, type_name, body)
    field_name = params.required_field()
    percents = params.take("percents", DEFAULT_PERCENTS)
    if not isinstance(percents, (list, tuple)) or not percents:
        raise AggregationError(f"[percents] must not be empty in [{name}]")
    checked = []
    for percent in percents:
        if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 <= percent <= 100:
            raise AggregationError(f"percent must be in [0,100], got [{percent}]: [{name}]")
        checked.append(float(percent))
    keyed = params.boolean("keyed", True)
    missing = params.take("missing")
    compression = _parse_compression(params)
    params.take("format")
    params.finish()
    return PercentilesSpec(field_name, tuple(checked), keyed, compression, missing)


def _parse_percentile_ranks(name, type_name, body, parse_query):
    params = _Body(name, type_name, body)
    field_name = params.required_field()
    values = params.take("values")
    if not isinstance(values, (list, tuple)) or not values:
        raise AggregationError(f"[values] must not be null or empty: [{name}]")
    if any(isinstance(value, bool) or not isinstance(value, (int, float)) for value in values):
        raise AggregationError(f"[values] of [{name}] must be numbers, got {values!r}")
    keyed = params.boolean("keyed", True)
    missing = params.take("missing")
    compression = _parse_compression(params)
    params.take("format")
    params.finish()
    return PercentileRanksSpec(field_name, tuple(float(value) for value in values), keyed,
                               compression, missing)


@dataclass(frozen=True, slots=True)
class MedianAbsoluteDeviationSpec:
    field: str
    compression: float = 1000.0      # OpenSearch's default for this aggregation
    missing: Any = None


def _parse_median_absolute_deviation(name, type_name, body, parse_query):
    params = _Body(name, type_name, body)
    field_name = params.required_field()
    compression = params.number("compression", 1000.0)
    if compression < 0:
        raise AggregationError(f"[compression] must be greater than or equal to 0. Found "
                               f"[{compression}] in [{name}]")
    compression = max(compression, 1.0)   # OpenSearch accepts [0, 1); our digest needs 1 at least
    missing = params.take("missing")
    params.take("format")
    params.finish()
    return MedianAbsoluteDeviationSpec(field_name, compression, missing)


def _parse_weighted_avg(name, type_name, body, parse_query):
    params = _Body(name, type_name, body)
    sources = {}
    for key in ("value", "weight"):
        source = params.take(key)
        if not isinstance(source, dict) or not isinstance(source.get("field"), str):
            raise AggregationError(f"[{key}] of [weighted_avg] aggregation [{name}] must be an "
                                   f"object with a [field]")
        sources[key] = source
    params.take("format")
    params.finish()
    return WeightedAvgSpec(sources["value"]["field"], sources["weight"]["field"],
                           sources["value"].get("missing"), sources["weight"].get("missing"))


def parse_sort(sort_json: Any, owner: str) -> tuple[SortSpec, ...]:
    """The `sort` of top_hits: a field name, {field: order}, {field: {order, missing}}, or a list."""
    items = sort_json if isinstance(sort_json, list) else [sort_json]
    result = []
    for item in items:
        if isinstance(item, str):
            result.append(SortSpec(item, ascending=item not in ("_score",)))
            continue
        if not isinstance(item, dict) or len(item) != 1:
            raise AggregationError(f"[sort] of [{owner}] must be a field name or an object with "
                                   f"one field, got [{item!r}]")
        (field_name, options), = item.items()
        default_ascending = field_name != "_score"
        missing_last = True
        if isinstance(options, str):
            order = options
        elif isinstance(options, dict):
            order = options.get("order", "asc" if default_ascending else "desc")
            missing = options.get("missing", "_last")
            if missing not in ("_last", "_first"):
                raise AggregationError(f"[missing] of sort on [{field_name}] in [{owner}] must be "
                                       f"_last or _first, got [{missing}]")
            missing_last = missing == "_last"
        else:
            raise AggregationError(f"[sort] of [{owner}] has a malformed entry for [{field_name}]")
        if order not in ("asc", "desc"):
            raise AggregationError(f"Unknown SortOrder [{order}] in [{owner}]")
        result.append(SortSpec(field_name, order == "asc", missing_last))
    return tuple(result)


def _parse_top_hits(name, type_name, body, parse_query):
    params = _Body(name, type_name, body)
    size = params.integer("size", 3, minimum=0)
    offset = params.integer("from", 0, minimum=0)
    if size + offset > 100:
        raise AggregationError(f"Top hits result window is too large, the top hits aggregator "
                               f"[{name}]'s from + size must be less than or equal to: [100] but "
                               f"was [{size + offset}].")
    sort = parse_sort(params.take("sort", []), name) if "sort" in params.body else ()
    source = params.take("_source", True)
    enabled, includes, excludes = True, (), ()
    if isinstance(source, bool):
        enabled = source
    elif isinstance(source, str):
        includes = (source,)
    elif isinstance(source, list):
        includes = tuple(source)
    elif isinstance(source, dict):
        includes = tuple(_as_list(source.get("includes", source.get("include", []))))
        excludes = tuple(_as_list(source.get("excludes", source.get("exclude", []))))
    else:
        raise AggregationError(f"[_source] of [{name}] must be a boolean, string, list or object")
    track_scores = params.boolean("track_scores", False)
    version = params.boolean("version", False)
    seq_no_primary_term = params.boolean("seq_no_primary_term", False)
    for unsupported in ("explain", "highlight", "docvalue_fields", "stored_fields", "script_fields"):
        if params.take(unsupported) not in (None, False, [], {}):
            raise AggregationError(f"[{unsupported}] is not supported in top_hits [{name}]")
    params.finish()
    return TopHitsSpec(size, offset, sort, enabled, includes, excludes, track_scores, version,
                       seq_no_primary_term)


def _as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value or [])


def _parse_order(order_json: Any, name: str, default_tiebreak: bool) -> tuple[BucketOrder, ...]:
    items = order_json if isinstance(order_json, list) else [order_json]
    orders = []
    for item in items:
        if not isinstance(item, dict) or len(item) != 1:
            raise AggregationError(f"[order] of [{name}] must be an object like "
                                   f"{{\"_count\": \"desc\"}}, got [{item!r}]")
        (path, direction), = item.items()
        if direction not in ("asc", "desc"):
            raise AggregationError(f"Unknown order direction [{direction}] in [{name}]")
        if path in ("_term", "_time"):
            path = "_key"      # the deprecated names of the key order (terms / date_histogram)
        orders.append(BucketOrder(path, direction == "asc"))
    if default_tiebreak and not any(order.path == "_key" for order in orders):
        # OpenSearch breaks ties by key ascending (count and sub-aggregation orders alike).
        orders.append(BucketOrder("_key", True))
    return tuple(orders)


def _parse_terms(name, type_name, body, parse_query):
    params = _Body(name, type_name, body)
    field_name = params.required_field()
    # the bounds and wording of OpenSearch's TermsAggregationBuilder (Java field names)
    size = params.integer("size", 10)
    if size <= 0:
        raise AggregationError(f"[size] must be greater than 0. Found [{size}] in [{name}]")
    shard_size_given = "shard_size" in params.body
    shard_size = params.integer("shard_size", -1)
    if shard_size_given and shard_size <= 0:
        raise AggregationError(f"[shardSize] must be greater than 0. Found [{shard_size}] in [{name}]")
    if shard_size < 0:
        # OpenSearch's heuristic, applied when the request does not set shard_size.
        shard_size = int(size * 1.5 + 10)
    shard_size = max(shard_size, size)
    min_doc_count = params.integer("min_doc_count", 1)
    if min_doc_count < 0:
        raise AggregationError(f"[minDocCount] must be greater than or equal to 0. Found [{min_doc_count}] "
                               f"in [{name}]")
    shard_min_doc_count = params.integer("shard_min_doc_count", 0)
    if shard_min_doc_count < 0:
        raise AggregationError(f"[shardMinDocCount] must be greater than or equal to 0. Found "
                               f"[{shard_min_doc_count}] in [{name}]")
    order = DEFAULT_TERMS_ORDER
    if "order" in params.body:
        order = _parse_order(params.take("order"), name, default_tiebreak=True)
    missing = params.take("missing")
    include = _parse_include_exclude(params.take("include"), "include", name)
    exclude = _parse_include_exclude(params.take("exclude"), "exclude", name)
    if isinstance(include, TermsPartition) and exclude is not None:
        raise AggregationError(f"Cannot specify any excludes when using a partition-based include "
                               f"in [{name}]")
    show_error = params.boolean("show_term_doc_count_error", False)
    format_ = params.take("format")
    value_type = _parse_value_type(params.take("value_type"), name)
    for ignored in ("execution_hint", "collect_mode"):
        params.take(ignored)
    params.finish()
    return TermsSpec(field_name, size, shard_size, min_doc_count, shard_min_doc_count, order,
                     missing, include, exclude, show_error, format_, value_type)


# OpenSearch's ValueType names → the value types the collectors know
_VALUE_TYPES = {"string": "keyword", "keyword": "keyword", "long": "long", "integer": "long", "short": "long",
                "byte": "long", "number": "double", "numeric": "double", "double": "double", "float": "double",
                "date": "date", "boolean": "boolean"}


def _parse_value_type(value, name: str) -> str | None:
    if value is None:
        return None
    value_type = _VALUE_TYPES.get(value) if isinstance(value, str) else None
    if value_type is None:
        raise AggregationError(f"Unknown value type [{value}] in [{name}]: expected one of "
                               f"[{', '.join(sorted(_VALUE_TYPES))}]")
    return value_type


@dataclass(frozen=True, slots=True)
class RareTermsSpec(TermsSpec):
    """rare_terms: every term held by at most max_doc_count documents, rarest first. Collected
    and merged exactly like terms (never cut), selected when rendering."""

    max_doc_count: int = 1


def _parse_rare_terms(name, type_name, body, parse_query):
    params = _Body(name, type_name, body)
    field_name = params.required_field()
    max_doc_count = params.integer("max_doc_count", 1, minimum=1)
    if max_doc_count > 100:
        raise AggregationError(f"[max_doc_count] must be smaller than or equal to [100] in [{name}], "
                               f"found [{max_doc_count}]")
    missing = params.take("missing")
    include = _parse_include_exclude(params.take("include"), "include", name)
    exclude = _parse_include_exclude(params.take("exclude"), "exclude", name)
    value_type = _parse_value_type(params.take("value_type"), name)
    params.take("precision")
    params.finish()
    unlimited = 2**31 - 1    # no shard cut: rarity is only known after the merge
    return RareTermsSpec(field_name, unlimited, unlimited, 1, 0,
                         (BucketOrder("_count", True), BucketOrder("_key", True)), missing, include,
                         exclude, False, None, value_type, max_doc_count=max_doc_count)


def _parse_include_exclude(value, key: str, name: str):
    if value is None:
        return None
    if isinstance(value, str):
        try:
            re.compile(value)
        except re.error as error:
            raise AggregationError(f"[{key}] of [{name}] is not a valid regular expression: "
                                   f"{error}") from None
        return value
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict) and key == "include" and ("partition" in value or "num_partitions" in value):
        partition, partitions = value.get("partition"), value.get("num_partitions")
        if (isinstance(partition, bool) or isinstance(partitions, bool) or not isinstance(partition, int)
                or not isinstance(partitions, int) or partitions < 1 or not 0 <= partition < partitions):
            raise AggregationError(f"[include] partition of [{name}] needs integers 0 <= partition < "
                                   f"num_partitions, got [{value!r}]")
        return TermsPartition(partition, partitions)
    raise AggregationError(f"[{key}] of [{name}] must be a regular expression or an array of "
                           f"values, got [{value!r}]")


def _parse_bounds(value, key: str, name: str, numeric: bool):
    if value is None:
        return None
    if not isinstance(value, dict):
        raise AggregationError(f"[{key}] of [{name}] must be an object with min and max")
    low, high = value.get("min"), value.get("max")
    if numeric:
        try:
            low = None if low is None else float(low)
            high = None if high is None else float(high)
        except (TypeError, ValueError):
            raise AggregationError(f"[{key}] of [{name}] must have numeric min and max") from None
        if low is not None and high is not None and low > high:
            raise AggregationError(f"[{key}.min][{low}] cannot be greater than "
                                   f"[{key}.max][{high}] for histogram aggregation [{name}]")
    return (low, high)


def _parse_histogram(name, type_name, body, parse_query):
    params = _Body(name, type_name, body)
    field_name = params.required_field()
    if "interval" not in params.body:
        raise AggregationError(f"Missing required field [interval] for histogram aggregation "
                               f"[{name}]")
    interval = params.number("interval", None)
    if interval is None or not interval > 0 or math.isinf(interval):
        raise AggregationError(f"[interval] must be >0 for histogram aggregation [{name}]")
    offset = params.number("offset", 0.0)
    min_doc_count = params.integer("min_doc_count", 0, minimum=0)
    extended = _parse_bounds(params.take("extended_bounds"), "extended_bounds", name, True)
    hard = _parse_bounds(params.take("hard_bounds"), "hard_bounds", name, True)
    if extended is not None and (extended[0] is None or extended[1] is None):
        extended = (extended[0] if extended[0] is not None else math.inf,
                    extended[1] if extended[1] is not None else -math.inf)
    keyed = params.boolean("keyed", False)
    missing = params.number("missing", None)
    order = (BucketOrder("_key", True),)
    if "order" in params.body:
        order = _parse_order(params.take("order"), name, default_tiebreak=True)
    format_ = params.take("format")
    if format_ is not None:
        from index.aggregations.render import parse_decimal_pattern
        if not isinstance(format_, str):
            raise AggregationError(f"[format] of [{name}] must be a string, got [{format_!r}]")
        parse_decimal_pattern(format_, name)     # refused now rather than at render
    params.finish()
    return HistogramSpec(field_name, interval, offset % interval, min_doc_count, extended, hard,
                         keyed, missing, order, format_)


def _parse_date_histogram(name, type_name, body, parse_query):
    params = _Body(name, type_name, body)
    field_name = params.required_field()
    calendar = params.take("calendar_interval")
    fixed = params.take("fixed_interval")
    legacy = params.take("interval")
    if sum(value is not None for value in (calendar, fixed, legacy)) > 1:
        raise AggregationError(f"Cannot use more than one of [calendar_interval], "
                               f"[fixed_interval] and [interval] in [{name}]")
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
            fixed_millis = (int(legacy) if isinstance(legacy, int) and not isinstance(legacy, bool)
                            else dates.parse_fixed_interval(legacy, "interval"))
    else:
        raise AggregationError(f"Invalid interval specified, must be non-null and non-empty in "
                               f"[{name}]: set [calendar_interval] or [fixed_interval]")
    time_zone = params.take("time_zone", "UTC")
    dates.parse_time_zone(time_zone)          # reject unknown zones at parse time
    offset_millis = dates.parse_offset_millis(params.take("offset", 0), "offset")
    min_doc_count = params.integer("min_doc_count", 0, minimum=0)
    extended = _parse_bounds(params.take("extended_bounds"), "extended_bounds", name, False)
    hard = _parse_bounds(params.take("hard_bounds"), "hard_bounds", name, False)
    keyed = params.boolean("keyed", False)
    format_ = params.take("format")
    if format_ is not None:
        dates.validate_date_format(format_)
    missing = params.take("missing")
    order = (BucketOrder("_key", True),)
    if "order" in params.body:
        order = _parse_order(params.take("order"), name, default_tiebreak=True)
    params.finish()
    return DateHistogramSpec(field_name, calendar_unit, fixed_millis, str(time_zone),
                             offset_millis, min_doc_count, extended, hard, keyed, format_,
                             missing, order)


def _range_entries(params, name, label, allowed):
    """(position, object) of a range aggregation's ``ranges``, each checked as OpenSearch does."""
    ranges_json = params.take("ranges")
    if not isinstance(ranges_json, list) or not ranges_json:
        raise AggregationError(f"No [ranges] specified for the [{name}] aggregation")
    for index, range_json in enumerate(ranges_json):
        if not isinstance(range_json, dict):
            raise AggregationError(f"[ranges][{index}] of [{name}] must be an object")
        unknown = set(range_json) - allowed
        if unknown:
            raise AggregationError(f"[{label}] unknown field [{sorted(unknown)[0]}] in [{name}]")
    return enumerate(ranges_json)


def _parse_range(name, type_name, body, parse_query):
    params = _Body(name, type_name, body)
    field_name = params.required_field()
    is_date = type_name == "date_range"
    items = []
    for index, range_json in _range_entries(params, name, "range", {"key", "from", "to"}):
        from_value, to_value = range_json.get("from"), range_json.get("to")
        if not is_date:
            from_value, to_value = (_range_number(from_value, "from", name),
                                    _range_number(to_value, "to", name))
        key = range_json.get("key")
        items.append(RangeItem(None if key is None else str(key), from_value, to_value))
    keyed = params.boolean("keyed", False)
    format_ = params.take("format")
    if format_ is not None:
        if not is_date:
            raise AggregationError(f"[format] on a numeric range is not supported in [{name}]")
        dates.validate_date_format(format_)
    time_zone = params.take("time_zone", "UTC")
    dates.parse_time_zone(time_zone)
    missing = params.take("missing")
    params.finish()
    return RangeSpec(field_name, tuple(items), keyed, is_date, format_, str(time_zone), missing)


def _parse_ip_range(name, type_name, body, parse_query):
    from index.mapping.ip import IpValueError, parse_cidr, parse_ip, stored_successor

    params = _Body(name, type_name, body)
    field_name = params.required_field()
    items = []
    for index, range_json in _range_entries(params, name, "ip_range", {"key", "from", "to", "mask"}):
        key = range_json.get("key")
        try:
            mask = range_json.get("mask")
            if mask is not None:
                if range_json.get("from") is not None or range_json.get("to") is not None:
                    raise AggregationError(f"[ranges][{index}] of [{name}]: a range has either a [mask] or"
                                           f" [from]/[to], not both")
                lowest, highest = parse_cidr(str(mask))
                items.append(IpRangeItem(None if key is None else str(key), lowest, stored_successor(highest),
                                         str(mask)))
                continue
            lower = None if range_json.get("from") is None else parse_ip(str(range_json["from"]))
            upper = None if range_json.get("to") is None else parse_ip(str(range_json["to"]))
        except IpValueError as error:
            raise AggregationError(f"[ranges][{index}] of [{name}]: {error}") from None
        items.append(IpRangeItem(None if key is None else str(key), lower, upper))
    keyed = params.boolean("keyed", False)
    missing = params.take("missing")
    params.finish()
    return IpRangeSpec(field_name, tuple(items), keyed, missing)


def _range_number(value, key: str, name: str):
    if value is None:
        return None
    if isinstance(value, bool):
        raise AggregationError(f"[{key}] of a range in [{name}] must be a number, got [{value}]")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AggregationError(f"[{key}] of a range in [{name}] must be a number, "
                               f"got [{value!r}]") from None


def _query_parser(parse_query):
    if parse_query is not None:
        return parse_query
    try:
        from index.query.parser import parse_query as default_parse_query   # the query team's
    except ImportError:
        raise AggregationError("filter aggregations need index.query.parse_query, which is not "
                               "available") from None
    return default_parse_query


def _parse_clause(parse_query, clause, where: str):
    if not isinstance(clause, dict):
        raise AggregationError(f"[{where}] must be a query object, got [{clause!r}]")
    try:
        return _query_parser(parse_query)(clause)
    except AggregationError:
        raise
    except Exception as error:
        if hasattr(error, "opensearch_type"):
            raise    # the query engine's own typed error (QueryParsingError ...) passes through
        raise AggregationError(f"failed to parse the query of [{where}]: {error}") from None


def _parse_filter(name, type_name, body, parse_query):
    return FilterSpec(_parse_clause(parse_query, body, name))


def _parse_filters(name, type_name, body, parse_query):
    params = _Body(name, type_name, body)
    filters_json = params.take("filters")
    other_bucket = params.boolean("other_bucket", False)
    other_key = params.take("other_bucket_key")
    if other_key is not None:
        other_bucket = True
    keyed = params.boolean("keyed", True)
    params.finish()
    if isinstance(filters_json, dict):
        named = True
        filters = tuple((key, _parse_clause(parse_query, clause, f"{name}.filters.{key}"))
                        for key, clause in sorted(filters_json.items()))
    elif isinstance(filters_json, list):
        named = False
        filters = tuple((str(index), _parse_clause(parse_query, clause, f"{name}.filters[{index}]"))
                        for index, clause in enumerate(filters_json))
    else:
        raise AggregationError(f"[filters] of [{name}] must be an object of named filters or an "
                               f"array of anonymous filters")
    return FiltersSpec(named, filters, other_bucket, str(other_key or "_other_"), keyed)


def _parse_missing(name, type_name, body, parse_query):
    params = _Body(name, type_name, body)
    field_name = params.required_field()
    params.finish()
    return MissingSpec(field_name)


def _parse_global(name, type_name, body, parse_query):
    if body:
        raise AggregationError(f"[global] unknown field [{next(iter(body))}] in [{name}]")
    return GlobalSpec()


def _parse_composite(name, type_name, body, parse_query):
    from index.aggregations.composite import parse_composite
    return parse_composite(name, body)


def _parse_significant_terms(name, type_name, body, parse_query):
    from index.aggregations.significant import parse_significant_terms
    return parse_significant_terms(name, body, _parse_include_exclude)


_PARSERS: dict[str, Callable] = {
    "composite": _parse_composite, "significant_terms": _parse_significant_terms,
    "rare_terms": _parse_rare_terms,
    "avg": _parse_metric, "min": _parse_metric, "max": _parse_metric, "sum": _parse_metric,
    "value_count": _parse_metric, "stats": _parse_metric, "extended_stats": _parse_metric,
    "cardinality": _parse_metric,
    "percentiles": _parse_percentiles, "percentile_ranks": _parse_percentile_ranks,
    "median_absolute_deviation": _parse_median_absolute_deviation,
    "weighted_avg": _parse_weighted_avg, "top_hits": _parse_top_hits,
    "terms": _parse_terms, "histogram": _parse_histogram, "date_histogram": _parse_date_histogram,
    "range": _parse_range, "date_range": _parse_range, "ip_range": _parse_ip_range,
    "filter": _parse_filter, "filters": _parse_filters,
    "missing": _parse_missing, "global": _parse_global,
}


_SINGLE_BUCKET_TYPES = frozenset({"filter", "missing", "global"})
_MULTI_VALUE_METRICS = frozenset({"stats", "extended_stats", "percentiles", "percentile_ranks"})
_SINGLE_VALUE_METRICS = frozenset({"avg", "min", "max", "sum", "value_count", "cardinality",
                                   "weighted_avg", "median_absolute_deviation"})


def _check_order_paths(node: AggregationNode) -> None:
    """An order path is `agg`, `agg.metric` or `single_bucket>...>agg[.metric]`, ending at a
    metric (multi-value ones need the metric name) or a single-bucket aggregation."""
    order = getattr(node.spec, "order", None)
    if not order:
        return
    for bucket_order in order:
        path = bucket_order.path
        if path in ("_count", "_key"):
            continue
        *through, last = path.split(">")
        name, _, metric = last.partition(".")
        current = node
        for step in through:
            child = current.sub_aggregations.node(step)
            if child is None or child.type not in _SINGLE_BUCKET_TYPES:
                raise AggregationError(
                    f"Invalid aggregator order path [{path}]. [{step}] must be a single-bucket "
                    f"sub-aggregation of [{current.name}]")
            current = child
        child = current.sub_aggregations.node(name)
        if child is None:
            raise AggregationError(f"Invalid aggregator order path [{path}]. Unknown "
                                   f"aggregation [{name}] in [{current.name}]")
        if child.type in _SINGLE_BUCKET_TYPES and metric in ("", "_count", "doc_count"):
            continue
        if child.type in _MULTI_VALUE_METRICS and not metric:
            raise AggregationError(f"Invalid aggregation order path [{path}]. When "
                                   f"ordering on a multi-value metrics aggregation a metric name "
                                   f"must be specified.")
        if child.type not in _MULTI_VALUE_METRICS | _SINGLE_VALUE_METRICS:
            raise AggregationError(f"Invalid aggregation order path [{path}]. "
                                   f"Buckets can only be sorted on a sub-aggregator path that is "
                                   f"built out of zero or more single-bucket aggregations within "
                                   f"the path and a final single-bucket or a metrics aggregation "
                                   f"at the path end.")
