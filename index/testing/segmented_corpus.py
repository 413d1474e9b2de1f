"""One corpus, two searchers: a real on-disk shard whose documents were written as several
segments (cut where asked) with some deleted, and the in-memory reference searcher over exactly
the same segments and deletes — what the property tests of the query fast paths compare.

Test support only: production code must never import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import orjson

from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.operations import DeleteOperation, IndexOperation
from index.shard import Shard, ShardSettings
from index.testing.reference_segment import build_reference_searcher

Document = tuple[str, dict[str, Any]]   # (document id, source)


def _segments(documents: Sequence[Document], cut_points: Iterable[int]) -> list[Sequence[Document]]:
    segments, start = [], 0
    for cut in [*cut_points, len(documents)]:
        if cut > start:
            segments.append(documents[start:cut])
            start = cut
    return segments


def shard_with_segments(directory: Path | str, mapping_json: dict, documents: Sequence[Document],
                        cut_points: Iterable[int] = (), deleted_ids: Iterable[str] = ()) -> Shard:
    """An open shard (no periodic refresh) holding ``documents``, one refreshed segment per run
    between ``cut_points``, then ``deleted_ids`` deleted and refreshed. The caller closes it."""
    shard = Shard.open(Path(directory), ShardSettings(refresh_interval_seconds=None), Mapping.from_json(mapping_json),
                       AnalysisRegistry.from_index_settings({}))
    for segment in _segments(documents, cut_points):
        shard.apply_as_primary([IndexOperation(document_id, orjson.dumps(source)) for document_id, source in segment], 1)
        shard.refresh()
    deleted = list(deleted_ids)
    if deleted:
        shard.apply_as_primary([DeleteOperation(document_id) for document_id in deleted], 1)
        shard.refresh()
    return shard


def reference_with_segments(mapping_json: dict, documents: Sequence[Document], cut_points: Iterable[int] = (),
                            deleted_ids: Iterable[str] = ()):
    """The reference searcher over the same segments and deletes as ``shard_with_segments``."""
    return build_reference_searcher(_segments(documents, cut_points), mapping_json,
                                    deleted_document_ids=list(deleted_ids))


def ranked(result) -> tuple[list[tuple[str, float]], float | None]:
    """What two searches must agree on: (id, score) in order, and max_score."""
    return [(hit.document_id, hit.score) for hit in result.hits], result.max_score
