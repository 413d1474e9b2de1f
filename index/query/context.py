"""The per-request, per-shard inputs of query execution that are not the query itself.

Owns ``SearchContext``: the request clock (``now`` for date math is fixed once per request, so
every shard resolves ``now-1d`` identically), which shard of which index this is, the filter
cache of the shard, the clause limit, and ``udf_hooks`` — objects node/ plugs in for registered
query types (index/ never imports udf/). It must never hold a searcher or per-segment state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping


def current_time_millis() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class SearchContext:
    now_millis: int = field(default_factory=current_time_millis)
    shard_index: int = 0
    index_name: str = ""
    udf_hooks: Mapping[str, Any] = field(default_factory=dict)
    filter_cache: Any = None            # a FilterCache owned by the shard's host, or None
    max_clause_count: int = 1024
    node_id: str = "_na"                # only used in profile output ("[node][index][shard]")
    term_statistics: Any = None         # dfs_query_then_fetch: merged TermStatistics of every shard
