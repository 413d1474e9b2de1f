"""Term statistics for ``dfs_query_then_fetch``: gather per shard, sum, score with the sum.

Owns ``TermStatistics`` (field statistics and document frequencies, with a wire form),
``collect_term_statistics`` (what the query needs on one shard: the planner records every
statistic it reads) and ``merge_term_statistics`` (sums over shards). node/ runs the DFS phase
— collect on every shard, merge, then pass the merged statistics in
``SearchContext.term_statistics`` to ``search_shard`` — so every shard scores with the same idf
and average length. Terms a shard expands on its own (fuzzy, prefix of a phrase) and that the
merged statistics lack fall back to the shard's local numbers.

It must never read documents or scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from index.query.context import SearchContext


@dataclass(frozen=True, slots=True)
class TermStatistics:
    field_statistics: dict[str, tuple[int, int]] = field(default_factory=dict)     # field → (doc_count, sum_ttf)
    document_frequencies: dict[tuple[str, str], int] = field(default_factory=dict)  # (field, term) → doc freq

    def to_wire(self) -> dict:
        return {
            "fields": {name: list(values) for name, values in self.field_statistics.items()},
            "terms": [[field_name, term, frequency]
                      for (field_name, term), frequency in self.document_frequencies.items()],
        }

    @classmethod
    def from_wire(cls, wire: dict) -> "TermStatistics":
        return cls(
            {name: (int(values[0]), int(values[1])) for name, values in wire["fields"].items()},
            {(field_name, term): int(frequency) for field_name, term, frequency in wire["terms"]},
        )


def collect_term_statistics(searcher: Any, request: Any, context: SearchContext) -> TermStatistics:
    """The statistics ``request`` reads on this shard (its query and post_filter)."""
    from index.query.execution import ShardExecution
    from index.query.planner import plan_query

    local_context = SearchContext(now_millis=context.now_millis, shard_index=context.shard_index,
                                  index_name=context.index_name, udf_hooks=context.udf_hooks,
                                  max_clause_count=context.max_clause_count, node_id=context.node_id)
    shard = ShardExecution(searcher, local_context)
    plan_query(request.query, shard)
    if request.post_filter is not None:
        plan_query(request.post_filter, shard)
    return TermStatistics(dict(shard.recorded_field_statistics()), dict(shard.recorded_document_frequencies()))


def merge_term_statistics(statistics: Sequence[TermStatistics]) -> TermStatistics:
    fields: dict[str, tuple[int, int]] = {}
    frequencies: dict[tuple[str, str], int] = {}
    for part in statistics:
        for name, (document_count, total_term_frequency) in part.field_statistics.items():
            previous = fields.get(name, (0, 0))
            fields[name] = (previous[0] + document_count, previous[1] + total_term_frequency)
        for key, frequency in part.document_frequencies.items():
            frequencies[key] = frequencies.get(key, 0) + frequency
    return TermStatistics(fields, frequencies)
