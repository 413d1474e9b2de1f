"""index/aggregations — OpenSearch aggregations over doc values, mergeable across segments,
shards and nodes.

Owns the whole aggregation pipeline of one search request:

    parse_aggregations(aggs_json)             → AggregationTree          (tree.py)
    collect_segment(tree, segment, docs, ctx) → AggregationPartial       (collect.py)
    reduce_for_shard_response(partial, tree)  → partial cut to shard_size (partials.py, optional)
    collect_shard(tree, [(segment, docs, scores)], ctx) → the same cut partial, breadth-first
    merge_partials(partials, tree)            → AggregationPartial       (partials.py — THE merge)
    partial.to_wire() / AggregationPartial.from_wire(dict)               (crosses processes)
    render(partial, tree)                     → the response's "aggregations" object (render.py;
                                                pipeline aggregations run here, pipelines.py)
    render_response(aggs_json, partial|None)  → the same from the raw request JSON (coordinator)

Must never: import the query engine eagerly (filter clauses are parsed through an injected or
lazily imported parser and evaluated through context.filter_bitmap), loop per document in
Python on the hot path, or know about HTTP. Errors are index.errors.AggregationError (and its
subclass TooManyBucketsError).
"""

from index.aggregations.collect import collect_segment, collect_shard, filter_source
from index.aggregations.partials import (
    AggregationPartial, empty_partial, merge_partials, reduce_for_shard_response)
from index.aggregations.render import MAX_BUCKETS, TooManyBucketsError, render, render_response
from index.aggregations.tree import AggregationNode, AggregationTree, parse_aggregations, tree_needs_scores

__all__ = [
    "AggregationNode", "AggregationPartial", "AggregationTree", "MAX_BUCKETS",
    "TooManyBucketsError", "collect_segment", "collect_shard", "empty_partial", "filter_source",
    "merge_partials", "parse_aggregations", "reduce_for_shard_response", "render",
    "render_response", "tree_needs_scores",
]
