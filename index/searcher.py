"""The searcher: an immutable snapshot of a shard's segments, as queries and aggregations see it.

Owns: ``Searcher`` (contracts §4): the segment readers of one refresh, with their live docs
frozen at that point, plus the mapping and analysis registry in force.

Must never: change after it is built. A searcher stays valid after later refreshes, merges and
even deletion of its files (segment content is held in memory by the readers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from index.segment.types import SegmentReader


@dataclass(frozen=True)
class Searcher:
    segments: tuple[SegmentReader, ...]
    mapping: Any               # index.mapping.Mapping
    analysis: Any              # index.analysis.AnalysisRegistry

    @property
    def doc_count(self) -> int:
        return sum(len(segment.live_docs()) for segment in self.segments)

    def get(self, document_id: str) -> tuple[SegmentReader, int] | None:
        """The segment and local doc of the live document with ``document_id``, if any."""
        for segment in reversed(self.segments):
            doc = segment.lookup_id(document_id)
            if doc is not None:
                return segment, doc
        return None
