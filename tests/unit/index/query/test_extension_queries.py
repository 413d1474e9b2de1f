"""A query type registered from outside index/ parses, travels as DSL, and executes per segment."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import orjson
import pytest

from index.errors import QueryShardError
from index.query import (
    DEFAULT_QUERY_REGISTRY, QueryNode, SearchContext, SearchRequest, parse_search_request, search_shard,
)
from index.query.execution import DocScores
from index.testing import build_reference_searcher


@dataclass(frozen=True, slots=True)
class TimesFieldQuery(QueryNode):
    """Scores the inner query's matches by inner score × a numeric field × a hook's factor."""

    query_type: ClassVar[str] = "times_field"
    query: QueryNode
    field: str

    def children(self):
        return (self.query,)

    def to_json(self):
        return {"times_field": {"query": self.query.to_json(), "field": self.field}}

    def evaluate_segment(self, executor):
        inner = executor.child_scores(self.query)
        doc_values = executor.segment.numeric_doc_values(self.field)
        starts = doc_values.offsets[inner.docs]
        has_value = doc_values.offsets[inner.docs + 1] > starts
        values = np.where(has_value, doc_values.values[np.minimum(starts, len(doc_values.values) - 1)], 0)
        factor = executor.context.udf_hooks.get("factor", 1.0)
        keep = has_value
        return DocScores(inner.docs[keep], inner.scores[keep] * values[keep] * factor)


@dataclass(frozen=True, slots=True)
class BrokenQuery(QueryNode):
    query_type: ClassVar[str] = "broken"

    def to_json(self):
        return {"broken": {}}

    def evaluate_segment(self, executor):
        return [1, 2, 3]


def registry():
    extended = DEFAULT_QUERY_REGISTRY.copy()
    extended.register("times_field", lambda body, context: TimesFieldQuery(
        query=context.parse_inner(body["query"]), field=body["field"]))
    extended.register("broken", lambda body, context: BrokenQuery())
    return extended


@pytest.fixture(scope="module")
def searcher():
    documents = [("1", {"n": 2, "tag": "a"}), ("2", {"n": 5, "tag": "a"}), ("3", {"tag": "a"}),
                 ("4", {"n": 9, "tag": "b"})]
    return build_reference_searcher([documents[:2], documents[2:]],
                                    {"properties": {"n": {"type": "long"}, "tag": {"type": "keyword"}}})


def test_registered_query_executes_inside_bool_and_uses_context_hooks(searcher):
    extended = registry()
    body = {"query": {"bool": {"must": [{"times_field": {"query": {"constant_score": {"filter": {"term": {"tag": "a"}}}},
                                                          "field": "n"}}]}}}
    request = parse_search_request(body, registry=extended)
    wire = orjson.loads(orjson.dumps(request.to_wire()))
    request = SearchRequest.from_wire(wire, extended)
    result = search_shard(searcher, request, SearchContext(udf_hooks={"factor": 10.0}))
    assert [(hit.document_id, hit.score) for hit in result.hits] == [("2", 50.0), ("1", 20.0)]


def test_registered_query_returning_the_wrong_type_is_a_shard_error(searcher):
    request = parse_search_request({"query": {"broken": {}}}, registry=registry())
    with pytest.raises(QueryShardError, match="expected DocScores"):
        search_shard(searcher, request, SearchContext())


@dataclass(frozen=True, slots=True)
class UnsortedQuery(QueryNode):
    query_type: ClassVar[str] = "unsorted"

    def to_json(self):
        return {"unsorted": {}}

    def evaluate_segment(self, executor):
        return DocScores(np.array([1, 0]), np.array([1.0, 2.0]))


def test_registered_query_returning_unsorted_docs_is_a_shard_error(searcher):
    extended = registry()
    extended.register("unsorted", lambda body, context: UnsortedQuery())
    request = parse_search_request({"query": {"unsorted": {}}}, registry=extended)
    with pytest.raises(QueryShardError, match="ascending"):
        search_shard(searcher, request, SearchContext())
