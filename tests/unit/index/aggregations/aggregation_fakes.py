"""Tests-only SegmentReader-shaped fakes for the aggregation tests (contracts §3 subset).

A FakeSegment is built from plain dicts (field → value or list of values) and exposes exactly
the doc-values half of SegmentReader that aggregations read, plus live_docs / source /
document_id. `brute_*` helpers compute expected results the dumb way, per document.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any

import numpy as np
import orjson
from pyroaring import BitMap

from index.aggregations import tree as aggregation_tree

NUMERIC_TYPES = {"long", "double", "date", "boolean", "integer", "float"}


@dataclass(frozen=True)
class FakeNumericDocValues:
    offsets: np.ndarray
    values: np.ndarray
    is_float: bool


@dataclass(frozen=True)
class FakeSortedSetDocValues:
    terms: tuple
    offsets: np.ndarray
    ordinals: np.ndarray


@dataclass(frozen=True)
class FakeFieldMapping:
    path: str
    type: str
    date_format: str = "strict_date_optional_time||epoch_millis"
    doc_values: bool = True


class FakeMapping:
    def __init__(self, field_types: dict[str, str]) -> None:
        self.field_types = field_types

    def field(self, path: str):
        field_type = self.field_types.get(path)
        return None if field_type is None else FakeFieldMapping(path, field_type)


def _values_of(document: dict, field_name: str) -> list:
    value = document.get(field_name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


class FakeSegment:
    def __init__(self, documents: list[dict], field_types: dict[str, str], name: str = "seg0",
                 deleted: set[int] = frozenset(), ids: list[str] | None = None) -> None:
        self.name = name
        self.documents = documents
        self.field_types = field_types
        self.max_doc = len(documents)
        self.deleted = set(deleted)
        self.ids = ids or [f"{name}-{doc}" for doc in range(len(documents))]
        self.seq_nos = np.arange(len(documents), dtype=np.int64) + 100
        self.primary_terms = np.ones(len(documents), dtype=np.int64)
        self.versions = np.arange(len(documents), dtype=np.int64) + 1

    def live_docs(self) -> BitMap:
        return BitMap([doc for doc in range(self.max_doc) if doc not in self.deleted])

    def field_names(self):
        return frozenset(self.field_types)

    def numeric_doc_values(self, field_name: str):
        field_type = self.field_types.get(field_name)
        if field_type not in NUMERIC_TYPES:
            return None
        is_float = field_type in ("double", "float")
        offsets = [0]
        values = []
        for document in self.documents:
            document_values = sorted(
                (float(v) if is_float else int(v)) for v in _values_of(document, field_name))
            values.extend(document_values)
            offsets.append(len(values))
        if len(values) == 0 and not any(field_name in document for document in self.documents):
            return None
        return FakeNumericDocValues(np.asarray(offsets, dtype=np.int64),
                                    np.asarray(values, dtype=np.float64 if is_float else np.int64),
                                    is_float)

    def keyword_doc_values(self, field_name: str):
        if self.field_types.get(field_name) != "keyword":
            return None
        terms = sorted({str(v) for document in self.documents for v in _values_of(document, field_name)})
        if not terms:
            return None
        ordinal_of = {term: ordinal for ordinal, term in enumerate(terms)}
        offsets = [0]
        ordinals = []
        for document in self.documents:
            ordinals.extend(sorted({ordinal_of[str(v)] for v in _values_of(document, field_name)}))
            offsets.append(len(ordinals))
        return FakeSortedSetDocValues(tuple(terms), np.asarray(offsets, dtype=np.int64),
                                      np.asarray(ordinals, dtype=np.int32))

    def source(self, doc: int) -> bytes:
        return orjson.dumps(self.documents[doc])

    def document_id(self, doc: int) -> str:
        return self.ids[doc]

    def matching_docs(self, predicate=None) -> np.ndarray:
        return np.asarray([doc for doc in range(self.max_doc) if doc not in self.deleted
                           and (predicate is None or predicate(self.documents[doc]))],
                          dtype=np.int64)


@dataclass(frozen=True)
class TermQuery:
    field: str
    value: Any


def fake_parse_query(clause: dict):
    """Understands {"term": {field: value}} and {"match_all": {}}: enough for filter aggs."""
    (kind, body), = clause.items()
    if kind == "match_all":
        return TermQuery("*", None)
    if kind != "term":
        raise ValueError(f"fake parser: unsupported query [{kind}]")
    (field_name, value), = body.items()
    return TermQuery(field_name, value)


def query_matches(query: TermQuery, document: dict) -> bool:
    if query.field == "*":
        return True
    return query.value in _values_of(document, query.field)


@dataclass
class FakeContext:
    mapping: Any = None
    index_name: str = "test-index"
    now_millis: int = 1_600_000_000_000
    shard_index: int = 0
    filter_calls: list = dataclass_field(default_factory=list)

    def filter_bitmap(self, query, segment) -> BitMap:
        self.filter_calls.append(query)
        return BitMap([doc for doc in range(segment.max_doc)
                       if query_matches(query, segment.documents[doc])])


def parse(aggs_json: dict):
    return aggregation_tree.parse_aggregations(aggs_json, parse_query=fake_parse_query)
