"""index/query — the query DSL, planning, scoring, top-k and fetch (contracts §5).

Data flows through the modules in this order:

    parser.py / query_string.py   DSL JSON → frozen query nodes (nodes.py), at the coordinator
    request.py                    a whole search body + URI params → SearchRequest (to_wire/from_wire)
    planner.py                    nodes → executable plans for one shard snapshot (mapping, analysis,
                                  date math, expansions, shard-wide BM25 statistics)
    execution.py                  plans → per-segment bitmaps (filters) and numpy scores (BM25)
    collector.py                  per-segment top-k, sort values, search_after
    merge.py                      THE merge: segments within a shard and shards in the cluster alike
    fetch.py                      hits → OpenSearch hit objects (_source filtering, highlight, explain)
    search.py                     search_shard / count_shard: the per-shard query phase
    statistics.py                 dfs_query_then_fetch: per-shard term statistics, summed by node/

It must never import node/, raft/, udf/ or any async/HTTP library, and reads segments only through
the SegmentReader protocol (contracts §3).
"""

from index.query.context import SearchContext
from index.query.fetch import explain_document, fetch_hits, filter_source
from index.query.filter_cache import FilterCache, FilterCacheStatistics
from index.query.merge import merge_shard_results
from index.query.nodes import QueryNode
from index.query.parser import (
    DEFAULT_QUERY_REGISTRY, QueryLimits, QueryParseContext, QueryRegistry, TooManyClausesError, parse_query,
)
from index.query.request import (
    HighlightField, HighlightSpec, SearchRequest, SortField, SourceFilter, parse_search_request,
)
from index.query.results import MergedSearchResult, ShardHit, ShardSearchResult
from index.query.search import count_shard, search_shard
from index.query.statistics import TermStatistics, collect_term_statistics, merge_term_statistics

__all__ = [
    "DEFAULT_QUERY_REGISTRY", "FilterCache", "FilterCacheStatistics", "HighlightField", "HighlightSpec",
    "MergedSearchResult", "QueryLimits", "QueryNode", "QueryParseContext", "QueryRegistry", "SearchContext",
    "SearchRequest", "ShardHit", "ShardSearchResult", "SortField", "SourceFilter", "TooManyClausesError",
    "count_shard", "explain_document", "fetch_hits", "filter_source", "merge_shard_results", "parse_query", "parse_search_request",
    "search_shard", "TermStatistics", "collect_term_statistics", "merge_term_statistics",
]
