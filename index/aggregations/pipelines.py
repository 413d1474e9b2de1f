"""Pipeline aggregations: computed from the rendered buckets of the final response.

Owns: parsing of the pipeline types we support and applying them to the response body:
- sibling pipelines (next to a multi-bucket aggregation, `buckets_path` "agg>metric"):
  avg_bucket, sum_bucket, min_bucket, max_bucket, stats_bucket;
- parent pipelines (inside a histogram / date_histogram, `buckets_path` relative to each
  bucket): cumulative_sum, derivative; and bucket_sort (inside any multi-bucket aggregation).

Pipelines collect nothing and merge nothing: OpenSearch runs them in the final reduce, which for
us is `render`, so they read the already rendered bucket objects. Must never touch segments or
partials. Scripted pipelines (bucket_script, bucket_selector) are refused with a clear error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from index.errors import AggregationError

SIBLING_TYPES = frozenset({"avg_bucket", "sum_bucket", "min_bucket", "max_bucket", "stats_bucket"})
PARENT_TYPES = frozenset({"cumulative_sum", "derivative", "bucket_sort"})
PIPELINE_TYPES = SIBLING_TYPES | PARENT_TYPES
REFUSED_TYPES = frozenset({"bucket_script", "bucket_selector", "moving_fn", "moving_avg",
                           "serial_diff", "percentiles_bucket", "extended_stats_bucket"})


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    buckets_path: str | None
    gap_policy: str = "skip"                 # skip | insert_zeros
    sort: tuple[tuple[str, bool], ...] = ()  # bucket_sort: (path, ascending)
    offset: int = 0                          # bucket_sort "from"
    size: int | None = None                  # bucket_sort


def parse_pipeline(name: str, type_name: str, body: dict) -> PipelineSpec:
    body = dict(body)
    buckets_path = body.pop("buckets_path", None)
    gap_policy = body.pop("gap_policy", "skip")
    body.pop("format", None)
    if gap_policy not in ("skip", "insert_zeros"):
        raise AggregationError(f"Invalid gap policy: [{gap_policy}], accepted values: [insert_zeros, skip] "
                               f"in [{name}]")
    if type_name == "bucket_sort":
        sort = []
        for item in body.pop("sort", []) or []:
            if isinstance(item, str):
                sort.append((item, item == "_key"))
                continue
            if not isinstance(item, dict) or len(item) != 1:
                raise AggregationError(f"[sort] of bucket_sort [{name}] must name one path per entry")
            (path, options), = item.items()
            order = options.get("order", "asc") if isinstance(options, dict) else options
            if order not in ("asc", "desc"):
                raise AggregationError(f"Unknown SortOrder [{order}] in [{name}]")
            sort.append((path, order == "asc"))
        offset = body.pop("from", 0)
        size = body.pop("size", None)
        if body:
            raise AggregationError(f"[bucket_sort] unknown field [{next(iter(body))}] in [{name}]")
        if not isinstance(offset, int) or offset < 0 or (size is not None and (not isinstance(size, int) or size < 0)):
            raise AggregationError(f"[from] and [size] of bucket_sort [{name}] must be non-negative integers")
        return PipelineSpec(None, gap_policy, tuple(sort), offset, size)
    if body:
        key = next(iter(body))
        raise AggregationError(f"[{type_name}] unknown field [{key}] in aggregation [{name}]")
    if not isinstance(buckets_path, str) or not buckets_path:
        raise AggregationError(f"[buckets_path] must be a single path (a string) for pipeline "
                               f"aggregation [{name}] of type [{type_name}]")
    return PipelineSpec(buckets_path, gap_policy)


def validate_sibling(node, level_nodes):
    """The sibling pipeline node, checked against its level; returned with its path normalised:
    ``"sales.total"`` where ``sales`` is a multi-bucket sibling means ``"sales>total"``, as
    OpenSearch's AggregationPath reads it."""
    path = node.spec.buckets_path
    head = path.split(">")[0]
    names = {candidate.name for candidate in level_nodes}
    if head not in names and ">" not in path and "." in path and path.split(".", 1)[0] in names:
        head, rest = path.split(".", 1)
        path = f"{head}>{rest}"
        node = replace(node, spec=replace(node.spec, buckets_path=path))
    target = next((candidate for candidate in level_nodes if candidate.name == head), None)
    if target is None:
        raise AggregationError(f"No aggregation found for path [{node.spec.buckets_path}] in "
                               f"[{node.name}]")
    if target.type not in ("terms", "rare_terms", "histogram", "date_histogram", "range", "date_range", "ip_range",
                           "filters"):
        raise AggregationError(f"The first aggregation in buckets_path must be a multi-bucket "
                               f"aggregation for aggregation [{node.name}] found :"
                               f"{target.type} for buckets path: {node.spec.buckets_path}")
    return node


def validate_parent(node, parent) -> None:
    if node.type in ("cumulative_sum", "derivative") and parent.type not in ("histogram", "date_histogram"):
        raise AggregationError(f"{node.type} aggregation [{node.name}] must have a histogram, "
                               f"date_histogram or auto_date_histogram as parent")
    if parent.type not in ("terms", "rare_terms", "histogram", "date_histogram", "range", "date_range", "ip_range",
                           "filters"):
        raise AggregationError(f"{node.type} aggregation [{node.name}] must have a multi-bucket "
                               f"aggregation as parent")

# --------------------------------------------------------------------------- values


def bucket_value(bucket: dict, path: str, gap_policy: str = "skip", empty_bucket_is_gap: bool = True):
    """The number `path` names inside one rendered bucket ("_count", "agg", "agg.metric",
    "single>agg.metric"); None for a gap (insert_zeros turns gaps into 0). A bucket without
    documents is a gap for any path but ``_count`` (``empty_bucket_is_gap``), as OpenSearch's
    BucketHelpers.resolveBucketValue."""
    value = _resolve(bucket, path)
    if empty_bucket_is_gap and path not in ("_count", "_key") and bucket.get("doc_count") == 0:
        # an empty bucket's metric is a gap, as OpenSearch's BucketHelpers.resolveBucketValue
        # (a sum of nothing is 0.0 but must not pull an avg_bucket down)
        value = None
    if value is None or (isinstance(value, float) and math.isnan(value)) or isinstance(value, str):
        return 0.0 if gap_policy == "insert_zeros" else None
    return value


def _resolve(bucket: dict, path: str):
    if path == "_count":
        return bucket.get("doc_count")
    if path == "_key":
        return bucket.get("key")
    *through, last = path.split(">")
    current = bucket
    for step in through:
        current = current.get(step)
        if not isinstance(current, dict):
            raise AggregationError(f"No aggregation found for path [{path}]")
        if "buckets" in current:
            # stepping through a multi-bucket aggregation reaches many values (OpenSearch: Object[])
            raise AggregationError(f"{_NOT_A_NUMBER}, got: [Object[]] at aggregation [{step}]")
    name, _, metric = last.partition(".")
    if name == "_count":
        return current.get("doc_count")
    aggregation = current.get(name)
    if not isinstance(aggregation, dict):
        raise AggregationError(f"No aggregation found for path [{path}]")
    if not metric:
        if "value" in aggregation:
            return aggregation["value"]
        if "doc_count" in aggregation:
            return aggregation["doc_count"]
        if "buckets" in aggregation:
            raise AggregationError(f"{_NOT_A_NUMBER}, got: [{_multi_bucket_class(aggregation)}] at "
                                   f"aggregation [{name}]")
        raise AggregationError(f"{_NOT_A_NUMBER}, but [{name}] contains multiple values. Please specify "
                               f"which to use.")
    if metric in ("_count", "doc_count") and "doc_count" in aggregation:
        return aggregation["doc_count"]
    if metric in aggregation:
        return aggregation[metric]
    values = aggregation.get("values")
    if values is not None:
        from index.aggregations.render import java_double_string
        try:
            wanted = java_double_string(float(metric))
        except ValueError:
            wanted = metric
        if isinstance(values, dict):
            return values.get(wanted)
        for item in values:
            if java_double_string(float(item["key"])) == wanted:
                return item["value"]
    raise AggregationError(f"No metric [{metric}] in aggregation [{name}] for path [{path}]")


_NOT_A_NUMBER = "buckets_path must reference either a number value or a single value numeric metric aggregation"


def _multi_bucket_class(aggregation: dict) -> str:
    """The OpenSearch class name of a rendered multi-bucket aggregation, for error messages."""
    buckets = aggregation["buckets"]
    first = next(iter(buckets.values() if isinstance(buckets, dict) else buckets), None)
    key = first.get("key") if isinstance(first, dict) else None
    if "sum_other_doc_count" in aggregation:
        if isinstance(key, str):
            return "StringTerms"
        return "DoubleTerms" if isinstance(key, float) else "LongTerms"
    if isinstance(first, dict) and ("from" in first or "to" in first):
        return "InternalRange"
    if isinstance(key, int) and "key_as_string" in first:
        return "InternalDateHistogram"
    if isinstance(key, float):
        return "InternalHistogram"
    return "InternalFilters" if isinstance(buckets, dict) else "InternalMultiBucketAggregation"


def _bucket_list(rendered_buckets) -> list[tuple[Any, dict]]:
    if isinstance(rendered_buckets, dict):
        return list(rendered_buckets.items())
    return [(bucket.get("key_as_string", bucket.get("key")), bucket) for bucket in rendered_buckets]

# --------------------------------------------------------------------------- applying


def apply_sibling_pipelines(level_result: dict, pipelines) -> None:
    """Add each sibling pipeline's output to the rendered level (in place)."""
    for node in pipelines:
        if node.type not in SIBLING_TYPES:
            continue
        head, _, rest = node.spec.buckets_path.partition(">")
        target = level_result.get(head)
        if not isinstance(target, dict) or "buckets" not in target:
            raise AggregationError(f"No aggregation found for path [{node.spec.buckets_path}]")
        keyed_values = []
        for key, bucket in _bucket_list(target["buckets"]):
            value = bucket_value(bucket, rest or "_count", node.spec.gap_policy)
            if value is not None:
                keyed_values.append((key if isinstance(key, str) else _key_text(key), float(value)))
        body = _sibling_result(node.type, keyed_values)
        if node.meta is not None:
            body = {"meta": node.meta, **body}
        level_result[node.name] = body


def _key_text(key) -> str:
    if isinstance(key, float):
        from index.aggregations.render import java_double_string
        return java_double_string(key)
    return str(key)


def _sibling_result(type_name: str, keyed_values: list[tuple[str, float]]) -> dict:
    values = [value for _, value in keyed_values]
    if type_name == "sum_bucket":
        return {"value": math.fsum(values)}
    if type_name == "avg_bucket":
        return {"value": math.fsum(values) / len(values) if values else None}
    if type_name in ("min_bucket", "max_bucket"):
        if not values:
            return {"value": None, "keys": []}
        best = min(values) if type_name == "min_bucket" else max(values)
        return {"value": best, "keys": [key for key, value in keyed_values if value == best]}
    count = len(values)
    return {"count": count, "min": min(values) if values else None,
            "max": max(values) if values else None,
            "avg": math.fsum(values) / count if count else None, "sum": math.fsum(values)}


def apply_parent_pipelines(body: dict, pipelines) -> dict:
    """Apply cumulative_sum / derivative / bucket_sort of a multi-bucket aggregation's
    sub-aggregations to its rendered buckets; returns the (possibly re-ordered) body."""
    if not pipelines or "buckets" not in body:
        return body
    keyed = isinstance(body["buckets"], dict)
    items = _bucket_list(body["buckets"])
    for node in pipelines:
        spec = node.spec
        if node.type == "cumulative_sum":
            running = 0.0
            for _, bucket in items:
                value = bucket_value(bucket, spec.buckets_path, spec.gap_policy)
                if value is not None:
                    running += float(value)
                bucket[node.name] = _with_meta({"value": running}, node)
        elif node.type == "derivative":
            # as OpenSearch's DerivativePipelineAggregator: every bucket after the first carries a
            # derivative; a gap (NaN there: an empty bucket under `skip`) on either side makes it
            # NaN, rendered null
            first = True
            previous = None
            for _, bucket in items:
                value = bucket_value(bucket, spec.buckets_path, spec.gap_policy)
                if not first:
                    gradient = None if value is None or previous is None else float(value) - float(previous)
                    bucket[node.name] = _with_meta({"value": gradient}, node)
                first = False
                previous = value
        elif node.type == "bucket_sort":
            if spec.sort:
                for path, ascending in reversed(spec.sort):   # stable: least significant first
                    def sort_value(item, path=path):
                        return _resolve(item[1], path) if path == "_key" else bucket_value(item[1], path)
                    present = [item for item in items if sort_value(item) is not None]
                    missing = [item for item in items if sort_value(item) is None]
                    present.sort(key=sort_value, reverse=not ascending)
                    items = present + missing
            end = None if spec.size is None else spec.offset + spec.size
            items = items[spec.offset:end]
    if keyed:
        return {**body, "buckets": {key: bucket for key, bucket in items}}
    return {**body, "buckets": [bucket for _, bucket in items]}


def _with_meta(body: dict, node) -> dict:
    return {"meta": node.meta, **body} if node.meta is not None else body
