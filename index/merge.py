"""The tiered merge policy: which segments to rewrite together.

Owns: ``choose_merge`` (a pure function over segment sizes), ``choose_idle_merge`` and
``choose_force_merge``. Tiers are powers of ``segments_per_tier`` in live documents: when one tier
holds at least ``segments_per_tier`` segments, its smallest ones are merged into one (which lands
in the next tier). Segments with more than half their documents deleted are merged too. A shard
that stopped taking writes merges its smallest segments down to a few (ADR 0380): a search pays
per segment, and the tiers leave up to ``segments_per_tier - 1`` small ones behind a load.

Must never: touch files; index/shard.py performs the merge the policy chooses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_TIER_DOCS = 1_000


@dataclass(frozen=True, slots=True)
class MergeCandidate:
    name: str
    live_docs: int
    max_doc: int


# the most documents one idle merge writes (~30 CPU-µs per document here: about a minute of one
# core); Lucene's tiered policy caps a merged segment at 5 GB for the same reason
DEFAULT_IDLE_MERGE_MAX_DOCS = 2_000_000


def _tier(live_docs: int, segments_per_tier: int) -> int:
    if live_docs <= MIN_TIER_DOCS:
        return 0
    return int(math.log(live_docs / MIN_TIER_DOCS, max(segments_per_tier, 2))) + 1


def choose_merge(segments: Sequence[MergeCandidate], segments_per_tier: int = 10) -> list[str] | None:
    """Names of segments to merge into one, or None when the shard is in shape."""
    tiers: dict[int, list[MergeCandidate]] = {}
    for segment in segments:
        tiers.setdefault(_tier(segment.live_docs, segments_per_tier), []).append(segment)
    for tier in sorted(tiers):
        members = sorted(tiers[tier], key=lambda segment: (segment.live_docs, segment.name))
        if len(members) >= segments_per_tier:
            return [segment.name for segment in members[:segments_per_tier]]
    mostly_deleted = [segment.name for segment in segments
                      if segment.max_doc and segment.live_docs * 2 < segment.max_doc]
    if mostly_deleted:
        return mostly_deleted
    return None


def choose_idle_merge(segments: Sequence[MergeCandidate], max_segments: int,
                      max_merged_docs: int = DEFAULT_IDLE_MERGE_MAX_DOCS) -> list[str] | None:
    """For a write-idle shard: the smallest segments to merge into one so that at most
    ``max_segments`` remain — never more than ``max_merged_docs`` documents in the merged segment
    (one idle merge is a bounded piece of background work), and never a merge whose biggest member
    holds more than two thirds of its documents: a document's segment at least grows by half each
    time it is idle-merged, so it is rewritten O(log n) times at most, and a big segment is not
    rewritten to absorb a few new documents. None when the shard is in shape or no such merge
    exists."""
    max_segments = max(1, max_segments)
    if len(segments) <= max_segments:
        return None
    ordered = sorted(segments, key=lambda segment: (segment.live_docs, segment.name))
    chosen: list[MergeCandidate] = []
    merged_docs = 0
    for segment in ordered[: len(ordered) - max_segments + 1]:
        if chosen and merged_docs + segment.live_docs > max_merged_docs:
            break
        chosen.append(segment)
        merged_docs += segment.live_docs
    # no lopsided merge: rewriting a big segment to absorb a few small ones (say the handful of
    # documents written after the shard was idle-merged once) costs the big one's rewrite for
    # nothing a search notices; the biggest member must not hold more than two thirds of the documents
    while len(chosen) >= 2 and chosen[-1].live_docs * 3 > merged_docs * 2:
        merged_docs -= chosen.pop().live_docs
    return [segment.name for segment in chosen] if len(chosen) >= 2 else None


def choose_force_merge(segments: Sequence[MergeCandidate], max_num_segments: int) -> list[str] | None:
    """Merge the smallest segments until at most ``max_num_segments`` remain; also rewrite a lone
    segment that holds deleted documents (force-merge drops them)."""
    max_num_segments = max(1, max_num_segments)
    ordered = sorted(segments, key=lambda segment: (segment.live_docs, segment.name))
    if len(ordered) > max_num_segments:
        return [segment.name for segment in ordered[: len(ordered) - max_num_segments + 1]]
    with_deletes = [segment.name for segment in ordered if segment.live_docs < segment.max_doc]
    return with_deletes or None
