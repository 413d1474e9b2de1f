"""Property: wasm_udf and script_score over any documents and segment split agree with Python."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import udf.examples as examples
from index.query import SearchContext, parse_search_request, search_shard
from index.testing import build_reference_searcher
from node.udf import queries  # noqa: F401  (registers the query types)
from node.udf.host import UdfHost
from node.udf.store import StaticUdfCatalog
from udf import UdfRuntime

DAY_MILLIS = 86_400_000
NOW = 1_700_000_000_000


@pytest.fixture(scope="module")
def host():
    with UdfRuntime() as runtime:
        definitions = {name: runtime.build_definition(name, examples.wat_registration_body(name))
                       for name in ("range_filter", "recency_scorer")}
        yield UdfHost(StaticUdfCatalog(definitions), runtime=runtime)


documents_strategy = st.lists(
    st.tuples(st.one_of(st.none(), st.integers(-1000, 1000)), st.one_of(st.none(), st.integers(0, 5000))),
    min_size=1, max_size=60)


def build(documents, split):
    sources = []
    for number, (value, age_days) in enumerate(documents):
        source = {"tag": "x"}
        if value is not None:
            source["value"] = value
        if age_days is not None:
            source["published_at"] = NOW - age_days * DAY_MILLIS
        sources.append((str(number), source))
    split = min(split, len(sources))
    segments = [part for part in (sources[:split], sources[split:]) if part]
    return build_reference_searcher(segments, {"properties": {
        "value": {"type": "long"}, "published_at": {"type": "date"}, "tag": {"type": "keyword"}}})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents=documents_strategy, split=st.integers(0, 60), lo=st.integers(-1100, 1100),
       width=st.integers(0, 2200))
def test_wasm_udf_range_filter_keeps_exactly_the_documents_python_keeps(host, documents, split, lo, width):
    hi = lo + width
    searcher = build(documents, split)
    request = parse_search_request({"size": 100, "query": {"wasm_udf": {"name": "range_filter",
                                                                         "params": {"lo": lo, "hi": hi}}}})
    result = search_shard(searcher, request, SearchContext(udf_hooks={"udf_host": host}))
    expected = {str(number) for number, (value, _) in enumerate(documents) if value is not None and lo <= value <= hi}
    assert {hit.document_id for hit in result.hits} == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents=documents_strategy, split=st.integers(0, 60), weight=st.floats(0, 100))
def test_script_score_with_the_recency_scorer_scores_as_the_python_formula(host, documents, split, weight):
    searcher = build(documents, split)
    request = parse_search_request({"size": 100, "query": {"script_score": {
        "query": {"term": {"tag": "x"}},
        "script": {"lang": "wasm", "source": "recency_scorer", "params": {"now_millis": NOW, "weight": weight}}}}})
    base = {hit.document_id: hit.score for hit in search_shard(
        searcher, parse_search_request({"size": 100, "query": {"term": {"tag": "x"}}}), SearchContext()).hits}
    result = search_shard(searcher, request, SearchContext(udf_hooks={"udf_host": host}))
    assert len(result.hits) == len(documents)
    for hit in result.hits:
        age_days = documents[int(hit.document_id)][1]
        expected = base[hit.document_id] * (1 + weight / (1 + age_days)) if age_days is not None else base[hit.document_id]
        assert math.isclose(hit.score, expected, rel_tol=1e-6)
