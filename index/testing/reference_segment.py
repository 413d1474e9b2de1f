"""The reference segment: a dumb, obviously-correct ``SegmentReader`` for tests.

Owns ``ReferenceSegment`` — built from ``(document_id, source dict)`` pairs with a Mapping and
an AnalysisRegistry, held in plain dicts and sets, implementing every method of the
SegmentReader protocol (contracts §3) — and ``build_reference_searcher``, which builds a
Searcher of several reference segments (with deletes), growing a dynamic mapping the way
node/ would. Query, aggregation and storage tests hold their fast code against it.

Conventions (the same as the on-disk segment's): text is analysed per value with the field's
analyzer, later values of an array continue after the previous value's last position plus the
position increment gap (100); keyword terms are the values, positions are the value's index;
booleans index the terms "true"/"false" and numeric doc values 0/1; numbers and dates (epoch
millis) are numeric doc values only; ``_id`` has one posting per doc, ``_field_names`` one per
leaf with a value. Field length = tokens (text) or values (keyword/boolean) in the doc.

It must never be used for real data and never be clever: correctness by inspection is the point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import orjson
from pyroaring import BitMap

from index.errors import MappingUpdateRequired
from index.segment.types import FieldStatistics, NumericDocValues, SortedSetDocValues

POSITION_INCREMENT_GAP = 100
_INTEGER_TYPES = frozenset({"long", "integer", "short", "byte", "unsigned_long", "date"})
_FLOAT_TYPES = frozenset({"double", "float", "half_float", "scaled_float"})


class ReferenceSegment:
    def __init__(self, name: str, documents: Sequence[tuple[str, dict]], mapping: Any, analysis: Any,
                 deleted_document_ids: Iterable[str] = (), first_seq_no: int = 0) -> None:
        self.name = name
        self.max_doc = len(documents)
        self._document_ids = [document_id for document_id, _ in documents]
        self._sources = [orjson.dumps(source) for _, source in documents]
        # field -> term -> doc -> [positions]
        self._inverted: dict[str, dict[str, dict[int, list[int]]]] = {}
        self._numeric: dict[str, dict[int, list]] = {}
        self._numeric_is_float: dict[str, bool] = {}
        self._keyword: dict[str, dict[int, set[str]]] = {}
        for doc, (document_id, source) in enumerate(documents):
            self._add(doc, "_id", document_id, 0)
            parsed = mapping.parse_document(source)
            for path, values in parsed.values.items():
                values = [value for value in values if value is not None]
                if not values:
                    continue
                self._add(doc, "_field_names", path, 0)
                field_mapping = mapping.field(path)
                self._index_values(doc, path, field_mapping, values, analysis)
        deleted = set(deleted_document_ids)
        self._live = BitMap(doc for doc in range(self.max_doc) if self._document_ids[doc] not in deleted)
        self.seq_nos = np.arange(first_seq_no, first_seq_no + self.max_doc, dtype=np.int64)
        self.primary_terms = np.ones(self.max_doc, dtype=np.int64)
        self.versions = np.ones(self.max_doc, dtype=np.int64)

    def _add(self, doc: int, field_name: str, term: str, position: int) -> None:
        self._inverted.setdefault(field_name, {}).setdefault(term, {}).setdefault(doc, []).append(position)

    def _index_values(self, doc: int, path: str, field_mapping: Any, values: list, analysis: Any) -> None:
        field_type = field_mapping.type
        if field_type == "text":
            if not field_mapping.index:
                return
            analyzer = analysis.get(field_mapping.analyzer or "standard")
            next_base = 0
            for value in values:
                terms, positions = analyzer.terms_and_positions(str(value))
                for term, position in zip(terms, positions):
                    self._add(doc, path, term, next_base + position)
                if positions:
                    next_base = next_base + max(positions) + 1 + POSITION_INCREMENT_GAP
                else:
                    next_base += POSITION_INCREMENT_GAP
        elif field_type == "keyword":
            for index, value in enumerate(values):
                if field_mapping.index:
                    self._add(doc, path, str(value), index)
                if field_mapping.doc_values:
                    self._keyword.setdefault(path, {}).setdefault(doc, set()).add(str(value))
        elif field_type == "boolean":
            for index, value in enumerate(values):
                if field_mapping.index:
                    self._add(doc, path, "true" if value else "false", index)
            self._numeric.setdefault(path, {}).setdefault(doc, []).extend(int(bool(value)) for value in values)
            self._numeric_is_float[path] = False
        elif field_type in _INTEGER_TYPES or field_type in _FLOAT_TYPES:
            self._numeric.setdefault(path, {}).setdefault(doc, []).extend(values)
            self._numeric_is_float[path] = field_type in _FLOAT_TYPES

    # -- SegmentReader -----------------------------------------------------------------------------
    # The segment never changes, so derived arrays are computed once per field (tests build
    # thousands of docs and query them many times); every computation stays the obvious one.

    def _memoised(self, kind: str, field: str, compute: Any) -> Any:
        memo = self.__dict__.setdefault("_memo", {})
        key = (kind, field)
        if key not in memo:
            value = compute()
            # shared between callers: read-only, so a caller that writes into it fails loudly
            for array in ([value] if isinstance(value, np.ndarray) else
                          [getattr(value, name) for name in ("offsets", "values", "ordinals") if hasattr(value, name)]):
                array.flags.writeable = False
            memo[key] = value
        return memo[key]

    def live_docs(self) -> BitMap:
        return BitMap(self._live)

    def field_names(self) -> frozenset[str]:
        return frozenset(self._inverted)

    def terms(self, field: str) -> Sequence[str]:
        return self._memoised("terms", field, lambda: sorted(self._inverted.get(field, {})))

    def postings(self, field: str, term: str) -> BitMap:
        return BitMap(self._inverted.get(field, {}).get(term, {}).keys())

    def term_frequencies(self, field: str, term: str) -> np.ndarray:
        by_doc = self._inverted.get(field, {}).get(term, {})
        return np.array([len(by_doc[doc]) for doc in sorted(by_doc)], dtype=np.uint32)

    def positions(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        by_doc = self._inverted.get(field, {}).get(term, {})
        offsets = [0]
        flat: list[int] = []
        for doc in sorted(by_doc):
            flat.extend(sorted(by_doc[doc]))
            offsets.append(len(flat))
        return np.array(offsets, dtype=np.uint32), np.array(flat, dtype=np.uint32)

    def field_lengths(self, field: str) -> np.ndarray:
        return self._memoised("lengths", field, lambda: self._compute_field_lengths(field))

    def _compute_field_lengths(self, field: str) -> np.ndarray:
        lengths = np.zeros(self.max_doc, dtype=np.uint32)
        for by_doc in self._inverted.get(field, {}).values():
            for doc, positions in by_doc.items():
                lengths[doc] += len(positions)
        return lengths

    def field_statistics(self, field: str) -> FieldStatistics:
        lengths = self.field_lengths(field)
        return FieldStatistics(doc_count=int(np.count_nonzero(lengths)), sum_total_term_freq=int(lengths.sum()))

    def numeric_doc_values(self, field: str) -> NumericDocValues | None:
        return self._memoised("numeric", field, lambda: self._compute_numeric_doc_values(field))

    def _compute_numeric_doc_values(self, field: str) -> NumericDocValues | None:
        if field not in self._numeric:
            return None
        is_float = self._numeric_is_float[field]
        offsets = [0]
        values: list = []
        for doc in range(self.max_doc):
            values.extend(sorted(self._numeric[field].get(doc, [])))
            offsets.append(len(values))
        return NumericDocValues(np.array(offsets, dtype=np.int64),
                                np.array(values, dtype=np.float64 if is_float else np.int64), is_float)

    def keyword_doc_values(self, field: str) -> SortedSetDocValues | None:
        return self._memoised("keyword", field, lambda: self._compute_keyword_doc_values(field))

    def _compute_keyword_doc_values(self, field: str) -> SortedSetDocValues | None:
        if field not in self._keyword:
            return None
        per_doc = self._keyword[field]
        terms = sorted(set().union(*per_doc.values()))
        ordinal_of = {term: ordinal for ordinal, term in enumerate(terms)}
        offsets = [0]
        ordinals: list[int] = []
        for doc in range(self.max_doc):
            ordinals.extend(sorted(ordinal_of[term] for term in per_doc.get(doc, ())))
            offsets.append(len(ordinals))
        return SortedSetDocValues(terms, np.array(offsets, dtype=np.int64), np.array(ordinals, dtype=np.int32))

    def source(self, doc: int) -> bytes:
        return self._sources[doc]

    def document_id(self, doc: int) -> str:
        return self._document_ids[doc]

    def lookup_id(self, document_id: str) -> int | None:
        for doc in range(self.max_doc):
            if self._document_ids[doc] == document_id and doc in self._live:
                return doc
        return None


@dataclass(frozen=True)
class ReferenceSearcher:
    """Same fields as index.shard.Searcher (used when that module is not importable)."""

    segments: tuple
    mapping: Any
    analysis: Any


def _searcher_type() -> type:
    try:
        from index.searcher import Searcher
        return Searcher
    except ImportError:
        return ReferenceSearcher


def grow_mapping(mapping: Any, sources: Iterable[dict]) -> Any:
    """Apply every dynamic mapping update the sources need, as node/ would through Raft."""
    for source in sources:
        while True:
            try:
                mapping.parse_document(source)
                break
            except MappingUpdateRequired as update_required:
                mapping = mapping.merge(update_required.update)
    return mapping


def build_reference_searcher(segments_documents: Sequence[Sequence[tuple[str, dict]]],
                             mapping_json: dict | None = None, index_settings: dict | None = None,
                             deleted_document_ids: Iterable[str] = ()) -> Any:
    """A Searcher over one reference segment per inner list; ``deleted_document_ids`` are not live.

    A document id that appears in a later segment is treated as updated: its earlier copies are
    deleted, as the engine would have done."""
    from index.analysis import AnalysisRegistry
    from index.mapping import Mapping

    analysis = AnalysisRegistry.from_index_settings(index_settings or {})
    mapping = grow_mapping(Mapping.from_json(mapping_json),
                           (source for documents in segments_documents for _, source in documents))
    deleted = set(deleted_document_ids)
    segments = []
    first_seq_no = 0
    for segment_index, documents in enumerate(segments_documents):
        superseded = {document_id for later in segments_documents[segment_index + 1:] for document_id, _ in later}
        segments.append(ReferenceSegment(f"ref_{segment_index}", documents, mapping, analysis,
                                         deleted | superseded, first_seq_no))
        first_seq_no += len(documents)
    try:
        return _searcher_type()(segments=tuple(segments), mapping=mapping, analysis=analysis)
    except TypeError:   # index.shard.Searcher grew required fields: the reference shape still serves
        return ReferenceSearcher(segments=tuple(segments), mapping=mapping, analysis=analysis)
