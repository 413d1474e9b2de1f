"""The read protocol of a segment and the values it returns (contracts §3).

Owns: ``SegmentReader`` (what every query and aggregation reads), ``FieldStatistics``,
``NumericDocValues``, ``SortedSetDocValues``, and ``SegmentDocument`` (one document as the
segment builder receives it).

Must never: do I/O or know how a segment is laid out on disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from pyroaring import BitMap

ID_FIELD = "_id"
FIELD_NAMES_FIELD = "_field_names"


@dataclass(frozen=True, slots=True)
class FieldStatistics:
    doc_count: int              # documents with at least one token in the field (live or not)
    sum_total_term_freq: int    # tokens in the field over all documents


@dataclass(frozen=True, slots=True)
class NumericDocValues:
    offsets: np.ndarray         # int64 len max_doc+1
    values: np.ndarray          # int64 or float64, sorted within each doc
    is_float: bool


@dataclass(frozen=True, slots=True)
class SortedSetDocValues:
    terms: Sequence[str]        # sorted distinct values in this segment
    offsets: np.ndarray         # int64 len max_doc+1
    ordinals: np.ndarray        # int32 into terms, sorted within each doc


@dataclass(frozen=True, slots=True)
class SegmentDocument:
    """One document handed to the segment builder.

    ``values`` is ``ParsedDocument.values`` (leaf path -> canonical values); None marks a delete
    tombstone: a document that is never live and only records the delete's seq_no/term/version
    (so a rollback can tell what an id looked like before a rolled-back operation)."""

    document_id: str
    source: bytes
    values: dict[str, list[Any]] | None
    seq_no: int
    primary_term: int
    version: int
    routing: str | None = None

    @property
    def is_tombstone(self) -> bool:
        return self.values is None


@runtime_checkable
class SegmentReader(Protocol):
    name: str
    max_doc: int

    def live_docs(self) -> BitMap: ...
    def field_names(self) -> frozenset[str]: ...
    def terms(self, field: str) -> Sequence[str]: ...
    def postings(self, field: str, term: str) -> BitMap: ...
    def term_frequencies(self, field: str, term: str) -> np.ndarray: ...
    def positions(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]: ...
    def field_lengths(self, field: str) -> np.ndarray: ...
    def field_statistics(self, field: str) -> FieldStatistics: ...
    def numeric_doc_values(self, field: str) -> NumericDocValues | None: ...
    def keyword_doc_values(self, field: str) -> SortedSetDocValues | None: ...
    def source(self, doc: int) -> bytes: ...
    def document_id(self, doc: int) -> str: ...
    def lookup_id(self, document_id: str) -> int | None: ...

    @property
    def seq_nos(self) -> np.ndarray: ...
    @property
    def primary_terms(self) -> np.ndarray: ...
    @property
    def versions(self) -> np.ndarray: ...
