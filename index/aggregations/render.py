"""Rendering a final (fully merged) partial as OpenSearch's `aggregations` response body.

Owns: `render`, the final reduce of bucket aggregations (terms cut to `size` with
`sum_other_doc_count`, empty histogram buckets filled for `min_doc_count: 0`, bucket order),
the metric formulas (avg, variance, ...) shared with bucket ordering, Java's Double.toString
for keys ("100.0", "1.0E7"), and the exact response shapes (nulls for empty metrics, keyed
variants, key_as_string for dates and booleans, `meta`).

Must never: read segments or merge partials of different origins (partials.py does).
"""

from __future__ import annotations

import contextvars
import decimal
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.aggregations import dates, pipelines
from index.aggregations.partials import (
    AggregationPartial, CardinalityState, CompositeState, DigestState, FlatTermsState,
    KeyedBucketsState,
    SingleBucketState, select_flat_terms,
    StatsState, TopHitsState, ValueCountState, WeightedAvgState, best_buckets, bucket_sort_key_function,
    empty_partial, empty_state)
from index.aggregations.tree import AggregationNode, AggregationTree
from index.errors import AggregationError

MAX_BUCKETS = 65535          # OpenSearch's search.max_buckets default


class TooManyBucketsError(AggregationError):
    """More buckets than search.max_buckets would be returned."""

    opensearch_type = "too_many_buckets_exception"


# Buckets rendered so far in the current render() call (search.max_buckets counts every bucket
# of the response, sub-aggregations' included). A ContextVar keeps concurrent renders apart.
_rendered_bucket_count: contextvars.ContextVar[list] = contextvars.ContextVar("rendered_bucket_count")


def render(partial: AggregationPartial, tree: AggregationTree) -> dict:
    """The value of a search response's "aggregations" key (empty dict for an empty tree)."""
    token = _rendered_bucket_count.set([0])
    try:
        return _render_level(partial, tree)
    finally:
        _rendered_bucket_count.reset(token)


def _consume_buckets(count: int, node) -> None:
    counter = _rendered_bucket_count.get(None)
    if counter is None:
        return
    counter[0] += count
    _check_bucket_count(counter[0], node)


def render_response(aggs_json: dict | None, partial: AggregationPartial | None, *,
                    parse_query=None) -> dict | None:
    """The response's "aggregations" value from the request's raw `aggs` JSON and the merged
    partial (None when no shard contributed one); None when the request asked for none."""
    if aggs_json is None:
        return None
    from index.aggregations.tree import parse_aggregations
    tree = parse_aggregations(aggs_json, parse_query=parse_query)
    return render(partial if partial is not None else empty_partial(tree), tree)


def _render_level(partial: AggregationPartial, tree: AggregationTree) -> dict:
    result = {}
    for node in tree:
        state = partial.states.get(node.name)
        if state is None:
            state = empty_state(node)
        body = _RENDERERS[node.type](node, state)
        parent_pipelines = [pipeline for pipeline in node.sub_aggregations.pipelines
                            if pipeline.type in pipelines.PARENT_TYPES]
        if parent_pipelines:
            body = pipelines.apply_parent_pipelines(body, parent_pipelines)
        if node.meta is not None:
            body = {"meta": node.meta, **body}
        result[node.name] = body
    if tree.pipelines:
        pipelines.apply_sibling_pipelines(result, tree.pipelines)
    return result

# --------------------------------------------------------------------------- numbers


def java_double_string(value: float) -> str:
    """Java's Double.toString: "100.0", "0.001", "1.0E7", "1.234E-5"."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = repr(value)
        if "e" in text or "E" in text:
            text = format(decimal.Decimal(text), "f")
        return text if "." in text else text + ".0"
    sign, digits, exponent = decimal.Decimal(repr(value)).as_tuple()
    digit_text = "".join(map(str, digits)).rstrip("0") or "0"
    scientific_exponent = len(digits) + exponent - 1
    mantissa = digit_text[0] + "." + (digit_text[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{scientific_exponent}"


def _json_double(value: float):
    """A double for JSON: OpenSearch prints NaN/Infinity as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


@dataclass(frozen=True, slots=True)
class DecimalPattern:
    """The parts of a java.text.DecimalFormat pattern this renderer understands: a literal
    prefix and suffix around `#`/`0` digits with optional `,` grouping and a `.` fraction."""

    prefix: str
    suffix: str
    minimum_integer_digits: int
    grouping_size: int            # 0: no grouping
    minimum_fraction_digits: int
    maximum_fraction_digits: int


def parse_decimal_pattern(pattern: str, name: str = "") -> DecimalPattern:
    number_characters = "#0,."
    start = next((position for position, character in enumerate(pattern) if character in number_characters), None)
    if start is None:
        raise AggregationError(f"[format] [{pattern}] of [{name}] is not a decimal pattern: expected digits "
                               f"(# or 0)")
    end = start
    while end < len(pattern) and pattern[end] in number_characters:
        end += 1
    number = pattern[start:end]
    if number.count(".") > 1 or not any(character in "#0" for character in number):
        raise AggregationError(f"[format] [{pattern}] of [{name}] is not a decimal pattern")
    integer_part, _, fraction_part = number.partition(".")
    grouping = len(integer_part) - integer_part.rfind(",") - 1 if "," in integer_part else 0
    return DecimalPattern(pattern[:start].replace("'", ""), pattern[end:].replace("'", ""),
                          integer_part.count("0"), grouping, fraction_part.count("0"),
                          sum(character in "#0" for character in fraction_part))


def format_decimal(value: float, pattern: str) -> str:
    """``value`` as java.text.DecimalFormat prints it with ``pattern`` (HALF_EVEN rounding)."""
    parsed = parse_decimal_pattern(pattern)
    quantum = decimal.Decimal(1).scaleb(-parsed.maximum_fraction_digits)
    number = decimal.Decimal(repr(float(value))).quantize(quantum, rounding=decimal.ROUND_HALF_EVEN)
    negative = number < 0
    integer_text, _, fraction_text = f"{abs(number):f}".partition(".")
    fraction_text = fraction_text.rstrip("0")
    fraction_text = fraction_text.ljust(parsed.minimum_fraction_digits, "0")
    integer_text = integer_text.lstrip("0").rjust(parsed.minimum_integer_digits, "0")
    if parsed.grouping_size and integer_text:
        groups = []
        while len(integer_text) > parsed.grouping_size:
            groups.insert(0, integer_text[-parsed.grouping_size:])
            integer_text = integer_text[:-parsed.grouping_size]
        integer_text = ",".join([integer_text, *groups])
    text = integer_text + ("." + fraction_text if fraction_text else "")
    return f"{'-' if negative else ''}{parsed.prefix}{text or '0'}{parsed.suffix}"


def _display_key(key, value_type: str, date_format: str | None):
    """A bucket key as shown: ip keys travel in their sortable stored form (collect.IP_KEY_FORMAT)."""
    if date_format == "ip" and value_type == "keyword" and isinstance(key, str):
        from index.mapping.ip import format_ip, is_stored_ip

        return format_ip(key) if is_stored_ip(key) else key
    return key


def _format_value(value, value_type: str, date_format: str | None, zone_name: str = "UTC"):
    if value_type == "date":
        return dates.format_epoch_millis(int(value), date_format, dates.parse_time_zone(zone_name))
    if value_type == "boolean":
        return "true" if value else "false"
    return None

# --------------------------------------------------------------------------- metrics


def metric_value(node: AggregationNode, state, metric: str | None):
    """The single value a metric exposes, for bucket ordering (`order: {"agg.metric": ...}`)."""
    stats = _stats_values(state) if isinstance(state, StatsState) else None
    if node.type in ("avg", "min", "max", "sum"):
        return stats[node.type]
    if node.type in ("stats", "extended_stats"):
        if node.type == "extended_stats":
            stats.update(_extended_values(state, node.spec.sigma))
        if metric not in stats:
            raise AggregationError(f"Invalid aggregation order path [{node.name}.{metric}]: "
                                   f"unknown metric [{metric}]")
        value = stats[metric]
        return value if not isinstance(value, dict) else None
    if node.type == "value_count":
        return state.count
    if node.type == "cardinality":
        return state.sketch.estimate()
    if node.type == "median_absolute_deviation":
        return median_absolute_deviation(state.digest)
    if node.type == "weighted_avg":
        return state.weighted_sum / state.weight_sum if state.weight_sum else None
    if node.type in ("percentiles", "percentile_ranks"):
        try:
            point = float(metric)
        except (TypeError, ValueError):
            raise AggregationError(f"Invalid aggregation order path [{node.name}.{metric}]: "
                                   f"expected a number") from None
        if state.digest.weights.size == 0:
            return None
        if node.type == "percentiles":
            return float(state.digest.quantiles(np.asarray([point / 100.0]))[0])
        return float(state.digest.ranks(np.asarray([point]))[0] * 100.0)
    raise AggregationError(f"aggregation [{node.name}] of type [{node.type}] cannot order buckets")


def _stats_values(state: StatsState) -> dict:
    empty = state.count == 0
    return {"count": state.count,
            "min": None if empty else state.minimum,
            "max": None if empty else state.maximum,
            "avg": None if empty else state.total / state.count,
            "sum": state.total}


def _extended_values(state: StatsState, sigma: float) -> dict:
    if state.count == 0:
        bounds = {name: None for name in ("upper", "lower", "upper_population", "lower_population",
                                           "upper_sampling", "lower_sampling")}
        return {"sum_of_squares": None, "variance": None, "variance_population": None,
                "variance_sampling": None, "std_deviation": None, "std_deviation_population": None,
                "std_deviation_sampling": None, "std_deviation_bounds": bounds}
    count, total = state.count, state.total
    average = total / count
    population = max((state.sum_of_squares - total * total / count) / count, 0.0)
    sampling = (max((state.sum_of_squares - total * total / count) / (count - 1), 0.0)
                if count > 1 else math.nan)
    population_std = math.sqrt(population)
    sampling_std = math.sqrt(sampling) if count > 1 else math.nan
    return {"sum_of_squares": state.sum_of_squares,
            "variance": population, "variance_population": population,
            "variance_sampling": _json_double(sampling),
            "std_deviation": population_std, "std_deviation_population": population_std,
            "std_deviation_sampling": _json_double(sampling_std),
            "std_deviation_bounds": {
                "upper": average + sigma * population_std,
                "lower": average - sigma * population_std,
                "upper_population": average + sigma * population_std,
                "lower_population": average - sigma * population_std,
                "upper_sampling": _json_double(average + sigma * sampling_std),
                "lower_sampling": _json_double(average - sigma * sampling_std)}}


def _render_single_metric(node, state):
    if isinstance(state, StatsState):
        value = _stats_values(state)[node.type]
        body = {"value": value}
        if value is not None and state.value_type == "date":
            body["value_as_string"] = _format_value(value, "date", state.date_format)
        return body
    raise AggregationError(f"unexpected partial for [{node.name}]")


def _render_stats(node, state: StatsState):
    values = _stats_values(state)
    if node.type == "extended_stats":
        values.update(_extended_values(state, node.spec.sigma))
    if state.value_type == "date" and state.count:
        for name in ("min", "max", "avg", "sum"):
            values[f"{name}_as_string"] = _format_value(values[name], "date", state.date_format)
    return values


def _render_value_count(node, state: ValueCountState):
    return {"value": state.count}


def _render_cardinality(node, state: CardinalityState):
    return {"value": state.sketch.estimate()}


def _render_weighted_avg(node, state: WeightedAvgState):
    return {"value": state.weighted_sum / state.weight_sum if state.count and state.weight_sum else None}


def _render_percentiles(node, state: DigestState):
    spec = node.spec
    points = spec.percents if node.type == "percentiles" else spec.values
    empty = state.digest.weights.size == 0
    if empty:
        results = [None] * len(points)
    elif node.type == "percentiles":
        results = state.digest.quantiles(np.asarray(points) / 100.0).tolist()
    else:
        results = (state.digest.ranks(np.asarray(points)) * 100.0).tolist()
    as_dates = state.value_type == "date" and node.type == "percentiles"
    if spec.keyed:
        values = {}
        for point, result in zip(points, results):
            key = java_double_string(point)
            values[key] = result
            if as_dates and result is not None:
                values[f"{key}_as_string"] = _format_value(result, "date", state.date_format)
        return {"values": values}
    items = []
    for point, result in zip(points, results):
        item = {"key": point, "value": result}
        if as_dates and result is not None:
            item["value_as_string"] = _format_value(result, "date", state.date_format)
        items.append(item)
    return {"values": items}


def median_absolute_deviation(digest) -> float | None:
    """As OpenSearch approximates it: the median of |centroid - median| over the digest's
    centroids, weighted, read from a second digest."""
    from index.aggregations.sketches import TDigest
    if digest.weights.size == 0:
        return None
    median = float(digest.quantiles(np.asarray([0.5]))[0])
    deviations = TDigest.from_weighted(np.abs(digest.means - median), digest.weights, digest.compression)
    return float(deviations.quantiles(np.asarray([0.5]))[0])


def _render_median_absolute_deviation(node, state: DigestState):
    return {"value": median_absolute_deviation(state.digest)}


def _render_top_hits(node, state: TopHitsState):
    spec = node.spec
    hits = []
    for hit in state.hits[spec.offset:spec.offset + spec.size]:
        rendered = {"_index": hit.index_name, "_id": hit.document_id, **(hit.metadata or {}),
                    "_score": hit.score}
        if hit.source is not None:
            rendered["_source"] = hit.source
        if spec.sort:
            rendered["sort"] = list(hit.sort_values)
        hits.append(rendered)
    return {"hits": {"total": {"value": state.total, "relation": "eq"},
                     "max_score": state.max_score, "hits": hits}}

# --------------------------------------------------------------------------- buckets


def _bucket_body(node, bucket) -> dict:
    _consume_buckets(1, node)
    return _render_level(bucket.sub, node.sub_aggregations)


def _render_single_bucket(node, state: SingleBucketState):
    return {"doc_count": state.doc_count, **_render_level(state.sub, node.sub_aggregations)}


def _render_flat_terms(node, state: FlatTermsState):
    spec = node.spec
    chosen, left_out = select_flat_terms(state, spec.order, spec.min_doc_count, spec.size)
    _consume_buckets(len(chosen), node)
    date_format = spec.format or state.date_format
    buckets = []
    for index in chosen:
        key = state.keys[index]
        rendered = {"key": _display_key(key, state.value_type, state.date_format)}
        formatted = _format_value(key, state.value_type, date_format)
        if formatted is not None:
            rendered["key_as_string"] = formatted
        rendered["doc_count"] = int(state.counts[index])
        if spec.show_term_doc_count_error:
            rendered["doc_count_error_upper_bound"] = (
                int(state.errors[index]) if state.errors is not None else 0)
        buckets.append(rendered)
    return {"doc_count_error_upper_bound": state.doc_count_error,
            "sum_other_doc_count": state.other_doc_count + left_out, "buckets": buckets}


def _render_terms(node, state):
    if isinstance(state, FlatTermsState):
        return _render_flat_terms(node, state)
    spec = node.spec
    kept, left_out = best_buckets(state.buckets, spec.order, node, spec.min_doc_count, spec.size)
    other_doc_count = state.other_doc_count + left_out
    buckets = []
    for key, bucket in kept:
        rendered = {"key": _display_key(key, state.value_type, state.date_format)}
        formatted = _format_value(key, state.value_type,
                                  spec.format or state.date_format)
        if formatted is not None:
            rendered["key_as_string"] = formatted
        rendered["doc_count"] = bucket.doc_count
        if spec.show_term_doc_count_error:
            rendered["doc_count_error_upper_bound"] = bucket.doc_count_error
        rendered.update(_bucket_body(node, bucket))
        buckets.append(rendered)
    return {"doc_count_error_upper_bound": state.doc_count_error,
            "sum_other_doc_count": other_doc_count, "buckets": buckets}


def set_max_buckets_provider(provider) -> None:
    """``provider()`` → the current search.max_buckets (an int, or None for the default). The
    node installs one reading its cluster state; this library cannot see cluster settings."""
    global _max_buckets_provider
    _max_buckets_provider = provider


_max_buckets_provider = None


def max_buckets() -> int:
    provider = _max_buckets_provider
    if provider is None:
        return MAX_BUCKETS
    try:
        limit = provider()
        return MAX_BUCKETS if limit is None else int(limit)
    except Exception:  # noqa: BLE001 — a provider whose node is gone, or an unparsable value:
        return MAX_BUCKETS   # never takes searches down; the settings API validates the value


def _check_bucket_count(count: int, node) -> None:
    limit = max_buckets()
    if count > limit:
        raise TooManyBucketsError(
            f"Trying to create too many buckets. Must be less than or equal to: [{limit}] "
            f"but was [{count}]. This limit can be set by changing the [search.max_buckets] "
            f"cluster level setting. [{node.name}]", max_buckets=limit)


def _render_histogram(node, state: KeyedBucketsState):
    spec = node.spec
    buckets = dict(state.buckets)
    if spec.min_doc_count == 0:
        indexes = list(buckets)
        if spec.extended_bounds is not None:
            low, high = spec.extended_bounds
            if math.isfinite(low):
                indexes.append(math.floor((low - spec.offset) / spec.interval))
            if math.isfinite(high):
                indexes.append(math.floor((high - spec.offset) / spec.interval))
        if indexes:
            first, last = min(indexes), max(indexes)
            if spec.hard_bounds is not None:
                hard_low, hard_high = spec.hard_bounds
                if hard_low is not None:
                    first = max(first, math.ceil((hard_low - spec.offset) / spec.interval))
                if hard_high is not None:
                    last = min(last, math.floor((hard_high - spec.offset) / spec.interval))
            _check_bucket_count(last - first + 1, node)
            empty_sub = None
            for index in range(first, last + 1):
                if index not in buckets:
                    if empty_sub is None:
                        empty_sub = empty_partial(node.sub_aggregations)
                    buckets[index] = _empty_bucket(empty_sub)
    else:
        buckets = {key: bucket for key, bucket in buckets.items() if bucket.doc_count >= spec.min_doc_count}
    items = sorted(buckets.items(), key=bucket_sort_key_function(spec.order, node))
    rendered = []
    for index, bucket in items:
        key = index * spec.interval + spec.offset
        if state.value_type == "date":
            # a histogram over a date field prints its keys with the field's format too
            key_as_string = _format_value(key, "date", state.date_format)
            rendered.append((key_as_string, {"key_as_string": key_as_string, "key": key,
                                             "doc_count": bucket.doc_count, **_bucket_body(node, bucket)}))
            continue
        if getattr(spec, "format", None):
            key_as_string = format_decimal(key, spec.format)
            rendered.append((key_as_string, {"key_as_string": key_as_string, "key": key,
                                             "doc_count": bucket.doc_count, **_bucket_body(node, bucket)}))
            continue
        rendered.append((java_double_string(key),
                         {"key": key, "doc_count": bucket.doc_count, **_bucket_body(node, bucket)}))
    return _keyed_or_list(spec.keyed, rendered)


def _empty_bucket(empty_sub):
    from index.aggregations.partials import Bucket
    return Bucket(0, empty_sub)


def _render_date_histogram(node, state: KeyedBucketsState):
    spec = node.spec
    rounding = spec.rounding()
    buckets = dict(state.buckets)
    if spec.min_doc_count == 0:
        keys = list(buckets)
        bounds = state.extended_bounds
        if bounds is None and spec.extended_bounds is not None:
            # No segment anywhere resolved the bounds (an empty index): resolve them here.
            bounds = tuple(None if bound is None else dates.parse_date_bound(
                bound, now_millis=None, date_format=spec.format, time_zone=rounding.time_zone,
                round_up=position == 1, key="extended_bounds")
                for position, bound in enumerate(spec.extended_bounds))
        if bounds is not None:
            for bound in bounds:
                if bound is not None:
                    keys.append(int(rounding.round(np.asarray([bound]))[0]))
        if keys:
            try:
                every_key = rounding.keys_between(min(keys), max(keys), max_buckets())
            except OverflowError:
                _check_bucket_count(max_buckets() + 1, node)
            empty_sub = None
            for key in every_key.tolist():
                if key not in buckets:
                    if empty_sub is None:
                        empty_sub = empty_partial(node.sub_aggregations)
                    buckets[key] = _empty_bucket(empty_sub)
    else:
        buckets = {key: bucket for key, bucket in buckets.items() if bucket.doc_count >= spec.min_doc_count}
    items = sorted(buckets.items(), key=bucket_sort_key_function(spec.order, node))
    date_format = spec.format or state.date_format or dates.DEFAULT_DATE_FORMAT
    rendered = []
    for key, bucket in items:
        key_as_string = dates.format_epoch_millis(key, date_format, rounding.time_zone)
        rendered.append((key_as_string, {"key_as_string": key_as_string, "key": key,
                                         "doc_count": bucket.doc_count,
                                         **_bucket_body(node, bucket)}))
    return _keyed_or_list(spec.keyed, rendered)


def _keyed_or_list(keyed: bool, rendered: list) -> dict:
    if keyed:
        return {"buckets": {key: body for key, body in rendered}}
    return {"buckets": [body for _, body in rendered]}


def _render_range(node, state: KeyedBucketsState):
    spec = node.spec
    is_date = state.value_type == "date" or spec.is_date
    zone = dates.parse_time_zone(spec.time_zone)
    date_format = spec.format or state.date_format or dates.DEFAULT_DATE_FORMAT
    bounds = state.range_bounds
    if not bounds:
        # Nothing was collected anywhere (empty shard set): show the requested ranges, empty.
        # (a date range parses its bounds here, as the collectors would have: OpenSearch shows
        # "2020-01-01T00:00:00.000Z-*" even for an unmapped field)
        def bound(value, key):
            if value is None:
                return None
            if is_date:
                return float(dates.parse_range_bound(value, now_millis=None, date_format=spec.format,
                                                     time_zone=zone, key=key))
            return float(value)
        bounds = tuple((item.key, bound(item.from_value, "from"), bound(item.to_value, "to"))
                       for item in spec.ranges)
        bounds = tuple(sorted(bounds, key=lambda bound: (-math.inf if bound[1] is None else bound[1],
                                                         math.inf if bound[2] is None else bound[2])))
    rendered = []
    empty_sub = None
    for position, (key, low, high) in enumerate(bounds):
        bucket = state.buckets.get(position)
        if bucket is None:
            if empty_sub is None:
                empty_sub = empty_partial(node.sub_aggregations)
            bucket = _empty_bucket(empty_sub)
        if is_date:
            low_text = "*" if low is None else dates.format_epoch_millis(int(low), date_format, zone)
            high_text = "*" if high is None else dates.format_epoch_millis(int(high), date_format, zone)
        else:
            low_text = "*" if low is None else java_double_string(low)
            high_text = "*" if high is None else java_double_string(high)
        bucket_key = key if key is not None else f"{low_text}-{high_text}"
        # Keyed range buckets carry their key only as the object key, as in OpenSearch.
        body: dict[str, Any] = {} if spec.keyed else {"key": bucket_key}
        if low is not None:
            body["from"] = float(low)
            if is_date:
                body["from_as_string"] = low_text
        if high is not None:
            body["to"] = float(high)
            if is_date:
                body["to_as_string"] = high_text
        body["doc_count"] = bucket.doc_count
        body.update(_bucket_body(node, bucket))
        rendered.append((bucket_key, body))
    return _keyed_or_list(spec.keyed, rendered)


def _render_ip_range(node, state: KeyedBucketsState):
    """ip_range buckets: from/to shown as addresses, key "from-to" (or the mask), OpenSearch's order."""
    from index.aggregations.collect import ip_range_order
    from index.mapping.ip import format_ip

    spec = node.spec
    order = ip_range_order(spec.ranges)
    rendered = []
    empty_sub = None
    for position, item_index in enumerate(order):
        item = spec.ranges[item_index]
        bucket = state.buckets.get(position)
        if bucket is None:
            if empty_sub is None:
                empty_sub = empty_partial(node.sub_aggregations)
            bucket = _empty_bucket(empty_sub)
        low_text = None if item.lower is None else format_ip(item.lower)
        high_text = None if item.upper is None else format_ip(item.upper)
        bucket_key = item.key if item.key is not None else (
            item.mask if item.mask is not None else f"{low_text or '*'}-{high_text or '*'}")
        body: dict[str, Any] = {} if spec.keyed else {"key": bucket_key}
        if low_text is not None:
            body["from"] = low_text
        if high_text is not None:
            body["to"] = high_text
        body["doc_count"] = bucket.doc_count
        body.update(_bucket_body(node, bucket))
        rendered.append((bucket_key, body))
    return _keyed_or_list(spec.keyed, rendered)


def _render_filters(node, state: KeyedBucketsState):
    spec = node.spec
    keys = [key for key, _ in spec.filters]
    if spec.other_bucket:
        keys.append(spec.other_bucket_key)
    empty_sub = None
    rendered = []
    for key in keys:
        bucket = state.buckets.get(key)
        if bucket is None:
            if empty_sub is None:
                empty_sub = empty_partial(node.sub_aggregations)
            bucket = _empty_bucket(empty_sub)
        rendered.append((key, {"doc_count": bucket.doc_count, **_bucket_body(node, bucket)}))
    return _keyed_or_list(spec.named and spec.keyed, rendered)


def _render_composite(node, state: CompositeState):
    # OpenSearch reserves `size` buckets up front: a size over search.max_buckets fails even
    # when fewer combinations exist
    _check_bucket_count(node.spec.size, node)
    sources = node.spec.sources
    value_types = state.value_types or tuple("unmapped" for _ in sources)
    buckets = []
    for key, bucket in zip(state.keys, state.buckets):
        key_object = {}
        for source, value_type, value in zip(sources, value_types, key):
            if value is not None and source.kind == "date_histogram" and source.format is not None:
                value = dates.format_epoch_millis(int(value), source.format,
                                                  dates.parse_time_zone(source.time_zone))
            elif value_type == "ip" and isinstance(value, str):
                value = _display_key(value, "keyword", "ip")
            key_object[source.name] = value
        buckets.append({"key": key_object, "doc_count": bucket.doc_count, **_bucket_body(node, bucket)})
    if buckets:
        return {"after_key": dict(buckets[-1]["key"]), "buckets": buckets}
    return {"buckets": buckets}


def _render_significant_terms(node, state):
    from index.aggregations.significant import render_significant_terms
    body = render_significant_terms(node, state)
    _consume_buckets(len(body["buckets"]), node)
    return body


def _render_rare_terms(node, state):
    if not isinstance(state, FlatTermsState):
        # with sub-aggregations: buckets by key, the rarest first, then by key
        chosen = sorted(((key, bucket) for key, bucket in state.buckets.items()
                         if 1 <= bucket.doc_count <= node.spec.max_doc_count),
                        key=lambda item: (item[1].doc_count, item[0]))
        _consume_buckets(len(chosen), node)
        buckets = []
        for key, bucket in chosen:
            rendered = {"key": _display_key(key, state.value_type, state.date_format)}
            formatted = _format_value(key, state.value_type, state.date_format)
            if formatted is not None:
                rendered["key_as_string"] = formatted
            rendered["doc_count"] = bucket.doc_count
            rendered.update(_bucket_body(node, bucket))
            buckets.append(rendered)
        return {"buckets": buckets}
    rare = np.flatnonzero((state.counts >= 1) & (state.counts <= node.spec.max_doc_count))
    ordered = sorted(rare.tolist(), key=lambda position: state.keys[position])
    ordered.sort(key=lambda position: int(state.counts[position]))
    _consume_buckets(len(ordered), node)
    buckets = []
    for position in ordered:
        key = state.keys[position]
        bucket = {"key": _display_key(key, state.value_type, state.date_format)}
        formatted = _format_value(key, state.value_type, state.date_format)
        if formatted is not None:
            bucket["key_as_string"] = formatted
        bucket["doc_count"] = int(state.counts[position])
        buckets.append(bucket)
    return {"buckets": buckets}


_RENDERERS = {
    "composite": _render_composite, "significant_terms": _render_significant_terms,
    "rare_terms": _render_rare_terms,
    "avg": _render_single_metric, "min": _render_single_metric, "max": _render_single_metric,
    "sum": _render_single_metric, "stats": _render_stats, "extended_stats": _render_stats,
    "value_count": _render_value_count, "cardinality": _render_cardinality,
    "percentiles": _render_percentiles, "percentile_ranks": _render_percentiles,
    "median_absolute_deviation": _render_median_absolute_deviation,
    "weighted_avg": _render_weighted_avg, "top_hits": _render_top_hits,
    "terms": _render_terms, "histogram": _render_histogram, "date_histogram": _render_date_histogram,
    "range": _render_range, "date_range": _render_range, "ip_range": _render_ip_range,
    "filter": _render_single_bucket,
    "filters": _render_filters, "missing": _render_single_bucket, "global": _render_single_bucket,
}
