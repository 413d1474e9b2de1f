"""Fixtures for the storage tests: a small stand-in mapping and analysis registry, and a clock
the test moves (``manual_clock``: a shard's maintenance timings without sleeping).

They implement just the slice of contracts §1-2 the storage engine calls (Mapping.field,
parse_document raising MappingUpdateRequired, merge; AnalysisRegistry.get; Analyzer
analyze_batch / terms_and_positions), so these tests pin the storage engine alone. One test
module (test_shard_with_real_mapping.py) runs the shard against the real index.mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pytest

from index import failpoints
from index.errors import MapperParsingError, MappingUpdateRequired


@dataclass(frozen=True)
class StubTokenBatch:
    terms: list
    text_index: np.ndarray
    positions: np.ndarray


class StubStandardAnalyzer:
    name = "standard"

    def terms_and_positions(self, text):
        terms = re.findall(r"\w+", text.lower())
        return terms, list(range(len(terms)))

    def analyze_batch(self, texts):
        terms, text_index, positions = [], [], []
        for index, text in enumerate(texts):
            found, found_positions = self.terms_and_positions(text)
            terms.extend(found)
            text_index.extend([index] * len(found))
            positions.extend(found_positions)
        return StubTokenBatch(terms, np.asarray(text_index, dtype=np.int32), np.asarray(positions, dtype=np.int32))


class StubAnalysisRegistry:
    def get(self, name):
        return StubStandardAnalyzer()

    def names(self):
        return ["standard"]


@dataclass(frozen=True)
class StubFieldMapping:
    path: str
    type: str
    analyzer: str = "standard"
    index: bool = True
    doc_values: bool = True


class StubMapping:
    """Leaf path -> type; dynamic fields are refused with MappingUpdateRequired."""

    def __init__(self, types: dict[str, str]) -> None:
        self.types = dict(types)

    def field(self, path):
        field_type = self.types.get(path)
        return None if field_type is None else StubFieldMapping(path, field_type)

    def fields(self):
        return [StubFieldMapping(path, field_type) for path, field_type in sorted(self.types.items())]

    def merge(self, update):
        merged = dict(self.types)
        merged.update({path: spec["type"] for path, spec in update["properties"].items()})
        return StubMapping(merged)

    def to_json(self):
        return {"properties": {path: {"type": field_type} for path, field_type in self.types.items()}}

    def parse_document(self, source, document_id=None):
        values: dict[str, list] = {}
        missing: dict[str, dict] = {}

        def walk(prefix, value):
            if isinstance(value, dict):
                for key, inner in value.items():
                    walk(f"{prefix}.{key}" if prefix else key, inner)
                return
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict):
                    walk(prefix, item)
                    continue
                if item is None:
                    continue
                field_type = self.types.get(prefix)
                if field_type is None:
                    missing[prefix] = {"type": _infer(item)}
                    continue
                values.setdefault(prefix, []).append(_canonical(prefix, field_type, item))

        walk("", source)
        if missing:
            raise MappingUpdateRequired({"properties": missing})
        return StubParsedDocument(values)


@dataclass(frozen=True)
class StubParsedDocument:
    values: dict


def _infer(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    return "text"


def _canonical(path, field_type, value):
    try:
        if field_type in ("long", "integer", "date"):
            return int(value)
        if field_type in ("double", "float"):
            return float(value)
        if field_type == "boolean":
            return bool(value)
        return str(value)
    except (TypeError, ValueError):
        raise MapperParsingError(f"failed to parse field [{path}] of type [{field_type}]: got {value!r}") from None


DEFAULT_TYPES = {"title": "text", "body": "text", "tag": "keyword", "count": "long", "price": "double",
                 "flag": "boolean", "n": "long", "meta.count": "long", "meta.tag": "keyword"}


@pytest.fixture
def stub_mapping():
    return StubMapping(DEFAULT_TYPES)


@pytest.fixture
def stub_analysis():
    return StubAnalysisRegistry()


@pytest.fixture(autouse=True)
def _no_failpoints_leak():
    yield
    failpoints.disarm_all()

