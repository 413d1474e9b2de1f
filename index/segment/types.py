"""The read protocol of a segment and the values it returns (contracts §3).

Owns: ``SegmentReader`` (what every query and aggregation reads), ``FieldStatistics``,
``NumericDocValues``, ``SortedSetDocValues``, ``SegmentDocument`` (one document as the
segment builder receives it), ``DocumentColumns`` (a batch of same-shaped live documents as columns,
ADR 0360) and ``BufferedDocuments`` (the indexing buffer's sequence of both: what the builder reads).

Must never: do I/O or know how a segment is laid out on disk.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
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


@dataclass(frozen=True, slots=True)
class DocumentColumns:
    """A batch of live documents whose parsed values are columns (ADR 0360): ``values`` maps each
    leaf path to exactly one (non-None) value per document, in order, so document ``i`` is the
    ``SegmentDocument`` whose ``values`` are ``{path: [column[i]] for path, column in values}``.
    Seq_nos are consecutive from ``first_seq_no`` and every term is ``primary_term`` unless
    ``seq_nos``/``primary_terms`` list them (a replica's batch); ``versions``/``routings`` None:
    all 1 / all None. No per-document object is made until one is asked for (``document``)."""

    document_ids: list[str]
    sources: list[bytes]
    values: dict[str, list[Any]]
    first_seq_no: int
    primary_term: int
    versions: list[int] | None = None
    routings: list[str | None] | None = None
    seq_nos: list[int] | None = None
    primary_terms: list[int] | None = None

    def __len__(self) -> int:
        return len(self.document_ids)

    def document(self, position: int) -> SegmentDocument:
        return SegmentDocument(
            self.document_ids[position], self.sources[position],
            {path: [column[position]] for path, column in self.values.items()},
            self.first_seq_no + position if self.seq_nos is None else self.seq_nos[position],
            self.primary_term if self.primary_terms is None else self.primary_terms[position],
            1 if self.versions is None else self.versions[position],
            None if self.routings is None else self.routings[position])

    def version_column(self) -> Iterable[int]:
        return repeat(1, len(self.document_ids)) if self.versions is None else self.versions

    def routing_column(self) -> Iterable[str | None]:
        return repeat(None, len(self.document_ids)) if self.routings is None else self.routings


class BufferedDocuments(Sequence):
    """The indexing buffer's documents in order: runs of ``SegmentDocument``s (the general write
    paths) and ``DocumentColumns`` (the columnar primary path). A ``Sequence`` of SegmentDocument
    (indexing materialises a columnar document); the builder reads the columnar runs as columns
    (``parts``). Appending is the only mutation."""

    __slots__ = ("_parts", "_starts", "_length")

    def __init__(self, parts: Iterable[list[SegmentDocument] | DocumentColumns] = ()) -> None:
        self._parts: list[list[SegmentDocument] | DocumentColumns] = []
        self._starts: list[int] = []
        self._length = 0
        for part in parts:
            self._add_part(part if isinstance(part, DocumentColumns) else list(part))

    def _add_part(self, part: list[SegmentDocument] | DocumentColumns) -> None:
        if not len(part):
            return
        self._parts.append(part)
        self._starts.append(self._length)
        self._length += len(part)

    @property
    def parts(self) -> tuple[list[SegmentDocument] | DocumentColumns, ...]:
        return tuple(self._parts)

    def __len__(self) -> int:
        return self._length

    def _locate(self, position: int) -> tuple[list[SegmentDocument] | DocumentColumns, int]:
        if position < 0:
            position += self._length
        if not 0 <= position < self._length:
            raise IndexError(f"buffered document [{position}] out of range: the buffer holds {self._length}")
        number = bisect_right(self._starts, position) - 1
        return self._parts[number], position - self._starts[number]

    def __getitem__(self, position):  # type: ignore[override]
        if isinstance(position, slice):
            return [self[number] for number in range(*position.indices(self._length))]
        part, offset = self._locate(position)
        return part.document(offset) if isinstance(part, DocumentColumns) else part[offset]

    def source_at(self, position: int) -> bytes:
        part, offset = self._locate(position)
        return part.sources[offset] if isinstance(part, DocumentColumns) else part[offset].source

    def routing_at(self, position: int) -> str | None:
        part, offset = self._locate(position)
        if isinstance(part, DocumentColumns):
            return None if part.routings is None else part.routings[offset]
        return part[offset].routing

    def __iter__(self) -> Iterator[SegmentDocument]:
        for part in self._parts:
            if isinstance(part, DocumentColumns):
                yield from map(part.document, range(len(part)))
            else:
                yield from part

    def append(self, document: SegmentDocument) -> None:
        if self._parts and isinstance(self._parts[-1], list):
            self._parts[-1].append(document)
            self._length += 1
        else:
            self._add_part([document])

    def extend(self, documents: Iterable[SegmentDocument]) -> None:
        if self._parts and isinstance(self._parts[-1], list):
            last = self._parts[-1]
            before = len(last)
            last.extend(documents)
            self._length += len(last) - before
        else:
            self._add_part(list(documents))

    def append_columns(self, columns: DocumentColumns) -> None:
        self._add_part(columns)

    def __add__(self, other: Iterable[SegmentDocument]) -> BufferedDocuments:
        """This buffer's documents followed by ``other``'s: columnar runs shared (they are frozen),
        runs of SegmentDocuments copied (shallow), so appending to either never changes the other."""
        other_parts = other._parts if isinstance(other, BufferedDocuments) else [list(other)]
        return BufferedDocuments([*self._parts, *other_parts])
