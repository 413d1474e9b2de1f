"""The values the query phase returns: ``ShardHit``, ``ShardSearchResult``, ``MergedSearchResult``.

Owns their shapes and their wire form (``to_wire()``/``from_wire()`` — plain orjson-able dicts,
because shard results cross process and node boundaries). A hit names its doc by shard, segment
(index and name) and segment-local doc id, plus its ``_id`` so a fetch against a different
snapshot can still find it. It must never hold segments, searchers or numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ShardHit:
    index_name: str
    shard_index: int
    segment_index: int
    segment_name: str
    doc: int                              # segment-local doc id
    document_id: str
    score: float | None
    sort_values: tuple | None = None      # the response's "sort" array; None when sorted by score only

    def to_wire(self) -> list:
        return [self.index_name, self.shard_index, self.segment_index, self.segment_name, self.doc,
                self.document_id, self.score, list(self.sort_values) if self.sort_values is not None else None]

    @classmethod
    def from_wire(cls, wire: list) -> "ShardHit":
        return cls(wire[0], wire[1], wire[2], wire[3], wire[4], wire[5], wire[6],
                   tuple(wire[7]) if wire[7] is not None else None)


def _partial_to_wire(partial: Any) -> Any:
    return None if partial is None else partial.to_wire()


def _partial_from_wire(wire: Any) -> Any:
    if wire is None:
        return None
    from index.aggregations import AggregationPartial

    return AggregationPartial.from_wire(wire)


@dataclass(frozen=True, slots=True)
class ShardSearchResult:
    """One shard's (or one segment's) query-phase answer: its top from+size hits and counts."""

    index_name: str
    shard_index: int
    hits: tuple[ShardHit, ...]
    total_hits: int
    total_relation: str = "eq"            # "eq" | "gte"
    max_score: float | None = None
    aggregations: Any = None              # an index.aggregations AggregationPartial, or None
    profile: dict | None = None
    terminated_early: bool = False

    def to_wire(self) -> dict:
        return {
            "index_name": self.index_name, "shard_index": self.shard_index,
            "hits": [hit.to_wire() for hit in self.hits], "total_hits": self.total_hits,
            "total_relation": self.total_relation, "max_score": self.max_score,
            "aggregations": _partial_to_wire(self.aggregations), "profile": self.profile,
            "terminated_early": self.terminated_early,
        }

    @classmethod
    def from_wire(cls, wire: dict) -> "ShardSearchResult":
        return cls(
            index_name=wire["index_name"], shard_index=wire["shard_index"],
            hits=tuple(ShardHit.from_wire(hit) for hit in wire["hits"]), total_hits=wire["total_hits"],
            total_relation=wire["total_relation"], max_score=wire["max_score"],
            aggregations=_partial_from_wire(wire["aggregations"]), profile=wire["profile"],
            terminated_early=wire.get("terminated_early", False),
        )


@dataclass(frozen=True, slots=True)
class MergedSearchResult:
    """The merge of several ShardSearchResults (segments of a shard, or shards of a cluster).

    ``ranked_hits`` is the top from+size in order; ``hits`` is the requested page of it."""

    ranked_hits: tuple[ShardHit, ...]
    hits: tuple[ShardHit, ...]
    total_hits: int | None                # None when track_total_hits is false
    total_relation: str
    max_score: float | None
    aggregations: Any = None
    profiles: tuple[dict, ...] = field(default_factory=tuple)
    terminated_early: bool = False

    def total_json(self) -> dict | None:
        """The response's ``hits.total`` object, or None when it must be left out."""
        if self.total_hits is None:
            return None
        return {"value": self.total_hits, "relation": self.total_relation}
