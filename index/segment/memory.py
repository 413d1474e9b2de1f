"""An in-memory segment built the slow, obvious way: the reference model of ``SegmentReader``.

Owns: ``MemorySegment``, built from the same ``SegmentDocument``s as the on-disk builder with
plain dicts and per-value analysis (``Analyzer.terms_and_positions``). Tests hold the fast
builder + reader against it, and query/aggregation tests may use it to build fixtures without
touching disk.

Must never: be used by the shard engine for real data (no persistence, no compression).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pyroaring import BitMap, FrozenBitMap

from index.segment.builder import FLOAT_TYPES, INTEGER_TYPES, POSITION_INCREMENT_GAP, _field_kind, _term_text
from index.segment.types import FIELD_NAMES_FIELD, ID_FIELD, FieldStatistics, NumericDocValues, SegmentDocument, SortedSetDocValues


class MemorySegment:
    def __init__(self, name: str, documents: Sequence[SegmentDocument], mapping: Any, analysis: Any,
                 deleted: Sequence[int] = ()) -> None:
        self.name = name
        self.max_doc = len(documents)
        self._documents = list(documents)
        # field -> term -> doc -> positions
        self._postings: dict[str, dict[str, dict[int, list[int]]]] = {}
        self._lengths: dict[str, np.ndarray] = {}
        self._numeric: dict[str, tuple[dict[int, list], bool]] = {}
        self._keyword: dict[str, dict[int, set[str]]] = {}
        self._text_fields: set[str] = set()      # only text keeps positions (as on disk)
        live = BitMap(range(self.max_doc)) - BitMap(deleted)
        for doc, document in enumerate(documents):
            self._add_term(ID_FIELD, document.document_id, doc, 0)
            if document.values is None:
                live.discard(doc)
                continue
            for path, raw_values in document.values.items():
                values = [value for value in raw_values if value is not None]
                if not values:
                    continue
                self._add_term(FIELD_NAMES_FIELD, path, doc, 0)
                field_type, indexed, doc_values, analyzer_name = _field_kind(mapping, path, values[0])
                if field_type == "text":
                    if not indexed:
                        continue
                    self._text_fields.add(path)
                    analyzer = analysis.get(analyzer_name)
                    base = 0
                    for value in values:
                        terms, positions = analyzer.terms_and_positions(str(value))
                        for term, position in zip(terms, positions):
                            self._add_term(path, term, doc, base + position)
                        base += (max(positions) + 1 if positions else 0) + POSITION_INCREMENT_GAP
                elif field_type in INTEGER_TYPES or field_type in FLOAT_TYPES:
                    per_doc, _ = self._numeric.setdefault(path, ({}, field_type in FLOAT_TYPES))
                    per_doc.setdefault(doc, []).extend(values)
                elif field_type == "boolean":
                    for index, value in enumerate(values):
                        if indexed:
                            self._add_term(path, "true" if value else "false", doc, index)
                    per_doc, _ = self._numeric.setdefault(path, ({}, False))
                    per_doc.setdefault(doc, []).extend(int(bool(value)) for value in values)
                else:
                    for index, value in enumerate(values):
                        term = value if isinstance(value, str) else _term_text(value)
                        if indexed:
                            self._add_term(path, term, doc, index)
                        if doc_values:
                            self._keyword.setdefault(path, {}).setdefault(doc, set()).add(term)
        for field, by_term in self._postings.items():
            lengths = np.zeros(self.max_doc, dtype=np.uint32)
            for by_doc in by_term.values():
                for doc, positions in by_doc.items():
                    lengths[doc] += len(positions)
            self._lengths[field] = lengths
        self._live = FrozenBitMap(live)

    def _add_term(self, field: str, term: str, doc: int, position: int) -> None:
        self._postings.setdefault(field, {}).setdefault(term, {}).setdefault(doc, []).append(position)

    def live_docs(self) -> FrozenBitMap:
        return self._live

    def field_names(self) -> frozenset[str]:
        return frozenset(self._postings)

    def terms(self, field: str) -> Sequence[str]:
        return sorted(self._postings.get(field, {}))

    def postings(self, field: str, term: str) -> BitMap:
        return BitMap(self._postings.get(field, {}).get(term, {}).keys())

    def term_frequencies(self, field: str, term: str) -> np.ndarray:
        by_doc = self._postings.get(field, {}).get(term, {})
        return np.asarray([len(by_doc[doc]) for doc in sorted(by_doc)], dtype=np.uint32)

    def positions(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        by_doc = self._postings.get(field, {}).get(term, {})
        offsets, flat = [0], []
        for doc in sorted(by_doc):
            positions = sorted(by_doc[doc]) if field in self._text_fields else [0] * len(by_doc[doc])
            flat.extend(positions)
            offsets.append(len(flat))
        return np.asarray(offsets, dtype=np.uint32), np.asarray(flat, dtype=np.uint32)

    def field_lengths(self, field: str) -> np.ndarray:
        return self._lengths.get(field, np.zeros(self.max_doc, dtype=np.uint32))

    def field_statistics(self, field: str) -> FieldStatistics:
        lengths = self.field_lengths(field)
        return FieldStatistics(int(np.count_nonzero(lengths)), int(lengths.sum()))

    def numeric_doc_values(self, field: str) -> NumericDocValues | None:
        if field not in self._numeric:
            return None
        per_doc, is_float = self._numeric[field]
        offsets, values = [0], []
        for doc in range(self.max_doc):
            values.extend(sorted(per_doc.get(doc, [])))
            offsets.append(len(values))
        return NumericDocValues(np.asarray(offsets, dtype=np.int64),
                                np.asarray(values, dtype=np.float64 if is_float else np.int64), is_float)

    def keyword_doc_values(self, field: str) -> SortedSetDocValues | None:
        if field not in self._keyword:
            return None
        per_doc = self._keyword[field]
        terms = sorted(set().union(*per_doc.values()))
        ordinal_of = {term: ordinal for ordinal, term in enumerate(terms)}
        offsets, ordinals = [0], []
        for doc in range(self.max_doc):
            ordinals.extend(sorted(ordinal_of[term] for term in per_doc.get(doc, ())))
            offsets.append(len(ordinals))
        return SortedSetDocValues(terms, np.asarray(offsets, dtype=np.int64), np.asarray(ordinals, dtype=np.int32))

    def source(self, doc: int) -> bytes:
        return self._documents[doc].source

    def document_id(self, doc: int) -> str:
        return self._documents[doc].document_id

    def routing(self, doc: int) -> str | None:
        return self._documents[doc].routing

    def lookup_id(self, document_id: str) -> int | None:
        for doc in sorted(self._postings.get(ID_FIELD, {}).get(document_id, {})):
            if doc in self._live:
                return doc
        return None

    @property
    def seq_nos(self) -> np.ndarray:
        return np.asarray([d.seq_no for d in self._documents], dtype=np.int64)

    @property
    def primary_terms(self) -> np.ndarray:
        return np.asarray([d.primary_term for d in self._documents], dtype=np.int64)

    @property
    def versions(self) -> np.ndarray:
        return np.asarray([d.version for d in self._documents], dtype=np.int64)
