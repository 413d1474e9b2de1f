"""THE merge: one function combines query-phase results of segments, shards and the cluster.

Owns ``merge_shard_results``: hits ordered by the request's sort (scores descending by default;
numbers by value, keywords by term string, missing values _first/_last), ties broken by shard
(index name and shard number), then segment, then doc — as OpenSearch breaks them — cut to from+size; total hits summed
and capped by track_total_hits (relation "gte" beyond it); max_score; aggregation partials merged
through index.aggregations' ``merge_partials``; shard profiles collected. search_shard uses it to
merge its segments, node/ uses it to merge shards: there is no second merge to drift apart.

It must never read segments or re-sort by anything a hit does not carry.
"""

from __future__ import annotations

from typing import Any, Sequence

from index.query.request import TRACK_NO_TOTAL_HITS, SearchRequest
from index.query.results import MergedSearchResult, ShardHit, ShardSearchResult


def _comparable(value: Any) -> tuple:
    # numbers before strings, so a sort over mixed field types across indices never raises
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    if isinstance(value, bool):
        return (0, int(value), "")
    return (1, 0, str(value))


def order_hits(hits: list[ShardHit], request: SearchRequest) -> list[ShardHit]:
    # OpenSearch breaks ties by the shard's position in the request, whose shards are ordered by
    # ShardId (index name, then shard number); within a shard by segment order and doc.
    ordered = sorted(hits, key=lambda hit: (hit.index_name, hit.shard_index, hit.segment_index, hit.doc))
    if not request.sort:
        ordered.sort(key=lambda hit: hit.score if hit.score is not None else float("-inf"), reverse=True)
        return ordered
    # stable sorts from the least significant key to the most significant one
    for position in range(len(request.sort) - 1, -1, -1):
        sort_field = request.sort[position]
        descending = sort_field.order == "desc"
        present = [hit for hit in ordered if hit.sort_values is not None and hit.sort_values[position] is not None]
        missing = [hit for hit in ordered if hit.sort_values is None or hit.sort_values[position] is None]
        present.sort(key=lambda hit: _comparable(hit.sort_values[position]), reverse=descending)
        missing_first = sort_field.missing == "_first"
        ordered = missing + present if missing_first else present + missing
    return ordered


def _merge_aggregations(results: Sequence[ShardSearchResult], request: SearchRequest) -> Any:
    partials = [result.aggregations for result in results if result.aggregations is not None]
    if not partials or request.aggregations is None:
        return None
    from index.aggregations import merge_partials, parse_aggregations

    return merge_partials(partials, parse_aggregations(request.aggregations))


def merge_total_hits(results: Sequence[ShardSearchResult], request: SearchRequest) -> tuple[int | None, str]:
    if request.track_total_hits == TRACK_NO_TOTAL_HITS:
        return None, "eq"
    total = sum(result.total_hits for result in results)
    relation = "gte" if any(result.total_relation == "gte" for result in results) else "eq"
    if total > request.track_total_hits:
        return request.track_total_hits, "gte"
    return total, relation


def merge_shard_results(results: Sequence[ShardSearchResult], request: SearchRequest) -> MergedSearchResult:
    hits = [hit for result in results for hit in result.hits]
    ranked = tuple(order_hits(hits, request)[:request.window_size])
    total_hits, total_relation = merge_total_hits(results, request)
    scores = [result.max_score for result in results if result.max_score is not None]
    return MergedSearchResult(
        ranked_hits=ranked,
        hits=ranked[request.from_:],
        total_hits=total_hits,
        total_relation=total_relation,
        max_score=max(scores) if scores else None,
        aggregations=_merge_aggregations(results, request),
        profiles=tuple(result.profile for result in results if result.profile is not None),
        terminated_early=any(result.terminated_early for result in results),
    )
