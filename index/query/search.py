"""The per-shard query phase: ``search_shard`` and ``count_shard``.

Owns the loop over a searcher's segments for one request: plan once per shard snapshot, then
per segment evaluate the query (scores only when something uses them), apply live docs,
min_score, aggregations (before post_filter, as OpenSearch does), post_filter, terminate_after,
and the top-k collector; finally merge the segments with THE merge function and, when asked,
build the profile. It must never fetch ``_source`` (fetch.py does, for the final page only) and
never know which node or process it runs in.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from index.query.collector import ScoreOrderCollector, as_reported_score, collect_top_hits, resolve_sorts
from index.query.context import SearchContext
from index.query.execution import SegmentExecution, ShardExecution, docs_from_bitmap, sorted_membership
from index.query.merge import merge_shard_results
from index.query.nodes import QueryNode
from index.query.planner import plan_query, profile_tree
from index.query.request import TRACK_NO_TOTAL_HITS, SearchRequest
from index.query.results import ShardSearchResult


class AggregationContext:
    """What index.aggregations reads from its context (filter_bitmap, mapping, clock, shard)."""

    def __init__(self, shard: ShardExecution) -> None:
        self.shard = shard
        self.mapping = shard.mapping
        self.now_millis = shard.now_millis
        self.index_name = shard.context.index_name
        self.shard_index = shard.context.shard_index
        self._plans: dict[int, Any] = {}
        self._segment_executions: dict[int, SegmentExecution] = {}

    def register_segment(self, segment_execution: SegmentExecution) -> None:
        self._segment_executions[id(segment_execution.segment)] = segment_execution

    def filter_bitmap(self, query_node: QueryNode, segment: Any):
        plan = self._plans.get(id(query_node))
        if plan is None:
            plan = plan_query(query_node, self.shard)
            self._plans[id(query_node)] = plan
        segment_execution = self._segment_executions.get(id(segment))
        if segment_execution is None:
            segment_execution = SegmentExecution(self.shard, segment, -1)
        return segment_execution.run_matches(plan) & segment_execution.live_docs()


def _sorted_by_score_descending(request: SearchRequest) -> bool:
    if not request.sort:
        return True
    return len(request.sort) == 1 and request.sort[0].field == "_score" and request.sort[0].order == "desc"


def _live_only(segment_execution: SegmentExecution, docs: np.ndarray, scores: np.ndarray | None):
    live = segment_execution.live_docs()
    if len(live) == segment_execution.max_doc or len(docs) == 0:
        return docs, scores
    mask = segment_execution.live_mask()
    keep = mask[docs] if mask is not None else sorted_membership(docs, docs_from_bitmap(live))
    return docs[keep], (scores[keep] if scores is not None else None)


def search_shard(searcher: Any, request: SearchRequest, context: SearchContext) -> ShardSearchResult:
    started = time.perf_counter_ns()
    shard = ShardExecution(searcher, context, context.filter_cache, profile=request.profile)
    plan = plan_query(request.query, shard)
    post_filter_plan = plan_query(request.post_filter, shard) if request.post_filter is not None else None
    resolved_sorts = resolve_sorts(request, shard)
    rewrite_nanoseconds = time.perf_counter_ns() - started
    aggregation_tree = None
    aggregation_context = None
    aggregations_read_scores = False
    if request.aggregations is not None:
        from index.aggregations import parse_aggregations, tree_needs_scores

        aggregation_tree = parse_aggregations(request.aggregations)
        aggregation_context = AggregationContext(shard)
        aggregations_read_scores = tree_needs_scores(aggregation_tree)
    # size 0 (counting, dashboards' aggregations) skips scoring unless something reads scores:
    # min_score, or a top_hits aggregation ordered by _score
    needs_scores = request.needs_scores and (request.window_size > 0 or request.min_score is not None
                                             or aggregations_read_scores)
    # sorted by _score ascending first, OpenSearch (3.2+) reports no max_score: its collector only
    # tracks the maximum while the best score comes first
    score_ascending_first = bool(request.sort) and request.sort[0].field == "_score" and request.sort[0].order == "asc"
    keep_max_score = needs_scores and (not request.sort or request.track_scores or (
        not score_ascending_first and any(sort_field.field == "_score" for sort_field in request.sort)))
    # Top-k pruning (block-max / MaxScore in the plans) when the best window by score is all the
    # request needs from the matches: nothing else reads every match or its score.
    prune_window = request.window_size if (
        needs_scores and request.window_size > 0 and request.min_score is None and post_filter_plan is None
        and aggregation_tree is None and request.terminate_after <= 0 and request.search_after is None
        and not request.profile and _sorted_by_score_descending(request)
        and (plan.exact_count_is_cheap or request.track_total_hits == TRACK_NO_TOTAL_HITS)) else 0
    pruned_total_is_lower_bound = False
    # the default order is selected once over every segment (hits made for the window only)
    score_collector = (ScoreOrderCollector(request.window_size)
                       if needs_scores and not request.sort and request.search_after is None else None)
    segment_results: list[ShardSearchResult] = []
    aggregation_inputs: list[tuple[Any, np.ndarray, np.ndarray | None]] = []
    total_hits = 0
    doc_base = 0
    collector_nanoseconds = 0
    remaining_before_termination = request.terminate_after if request.terminate_after > 0 else None
    terminated_early = False
    for segment_index, segment in enumerate(searcher.segments):
        segment_execution = SegmentExecution(shard, segment, segment_index, doc_base)
        doc_base += int(segment.max_doc)
        if remaining_before_termination is not None and remaining_before_termination <= 0:
            terminated_early = True
            break
        candidates = None
        if prune_window:
            floor = score_collector.floor() if score_collector is not None else -math.inf
            candidates = plan.top_candidates(segment_execution, prune_window, floor)
        if candidates is not None:
            # candidates are live already; the total is counted from bitmaps only when reported
            docs, scores = candidates.docs, candidates.scores
            if score_collector is not None:
                score_collector.add(segment_execution, docs, scores)
                hits = []
            else:
                hits = collect_top_hits(segment_execution, resolved_sorts, request, docs, scores)
            if request.track_total_hits == TRACK_NO_TOTAL_HITS:
                matched = len(docs)
                pruned_total_is_lower_bound = True
            else:
                matched = plan.count_live(segment_execution)
            total_hits += matched
            max_score = as_reported_score(scores.max()) if keep_max_score and len(scores) else None
            segment_results.append(ShardSearchResult(context.index_name, context.shard_index, tuple(hits), matched,
                                                     "eq", max_score, None))
            continue
        if needs_scores:
            doc_scores = segment_execution.run_scores(plan)
            docs, scores = doc_scores.docs, doc_scores.scores
        else:
            docs, scores = docs_from_bitmap(segment_execution.run_matches(plan)), None
        docs, scores = _live_only(segment_execution, docs, scores)
        if request.min_score is not None and scores is not None:
            keep = scores >= request.min_score
            docs, scores = docs[keep], scores[keep]
        if remaining_before_termination is not None:
            if len(docs) >= remaining_before_termination:
                terminated_early = terminated_early or len(docs) > remaining_before_termination
                docs = docs[:remaining_before_termination]
                scores = scores[:remaining_before_termination] if scores is not None else None
            remaining_before_termination -= len(docs)
        if aggregation_tree is not None:
            # aggregations see every match, before post_filter; collected per shard at the end
            aggregation_context.register_segment(segment_execution)
            aggregation_inputs.append((segment, docs, scores if aggregations_read_scores else None))
        if post_filter_plan is not None and len(docs):
            keep = sorted_membership(docs, docs_from_bitmap(segment_execution.run_matches(post_filter_plan)))
            docs, scores = docs[keep], (scores[keep] if scores is not None else None)
        collector_started = time.perf_counter_ns()
        if score_collector is not None and scores is not None:
            score_collector.add(segment_execution, docs, scores)
            hits = []
        else:
            hits = collect_top_hits(segment_execution, resolved_sorts, request, docs, scores)
        collector_nanoseconds += time.perf_counter_ns() - collector_started
        total_hits += len(docs)
        max_score = as_reported_score(scores.max()) if keep_max_score and scores is not None and len(scores) else None
        segment_results.append(ShardSearchResult(context.index_name, context.shard_index, tuple(hits), len(docs),
                                                 "eq", max_score, None))
    if score_collector is not None:
        collector_started = time.perf_counter_ns()
        segment_results.append(ShardSearchResult(context.index_name, context.shard_index,
                                                 tuple(score_collector.hits()), 0, "eq", None, None))
        collector_nanoseconds += time.perf_counter_ns() - collector_started
    merged = merge_shard_results(segment_results, request)
    aggregations = None
    if aggregation_tree is not None:
        from index.aggregations import collect_shard, empty_partial

        # collect_shard = merge of per-segment partials cut to shard_size, with terms collected
        # breadth-first (sub-aggregations only for the buckets the shard returns)
        aggregations = (collect_shard(aggregation_tree, aggregation_inputs, aggregation_context)
                        if aggregation_inputs else empty_partial(aggregation_tree))
    relation = "gte" if pruned_total_is_lower_bound else "eq"
    reported_total = total_hits
    if 0 <= request.track_total_hits < total_hits:
        reported_total, relation = request.track_total_hits, "gte"
    profile = None
    if request.profile:
        profile = {
            "id": f"[{context.node_id}][{context.index_name}][{context.shard_index}]",
            "searches": [{
                "query": [profile_tree(plan, shard)],
                "rewrite_time": rewrite_nanoseconds,
                "collector": [{
                    "name": "SimpleTopScoreDocCollector" if not request.sort else "SimpleFieldCollector",
                    "reason": "search_top_hits",
                    "time_in_nanos": collector_nanoseconds,
                }],
            }],
            "aggregations": [],
        }
    return ShardSearchResult(
        index_name=context.index_name, shard_index=context.shard_index, hits=merged.ranked_hits,
        total_hits=reported_total, total_relation=relation, max_score=merged.max_score,
        aggregations=aggregations, profile=profile, terminated_early=terminated_early,
    )


def count_shard(searcher: Any, query: QueryNode, context: SearchContext) -> int:
    """Live docs matching ``query`` (``_count``): bitmaps only, no scores."""
    shard = ShardExecution(searcher, context, context.filter_cache)
    plan = plan_query(query, shard)
    total = 0
    for segment_index, segment in enumerate(searcher.segments):
        segment_execution = SegmentExecution(shard, segment, segment_index)
        total += len(segment_execution.run_matches(plan) & segment_execution.live_docs())
    return total
