"""wasm_udf and script_score (lang wasm) parse, travel as DSL, and run per segment in batches."""

import math

import numpy as np
import orjson
import pytest

import udf.examples as examples
from index.errors import QueryParsingError, QueryShardError
from index.query import SearchContext, SearchRequest, parse_search_request, search_shard
from index.testing import build_reference_searcher
from node.udf import queries
from node.udf.host import UdfHost
from node.udf.store import StaticUdfCatalog, UdfLimits
from udf import UdfMemoryLimitError, UdfOutOfFuelError, UdfRuntime, UdfRuntimeConfig, UdfTimeoutError

DAY_MILLIS = 86_400_000
NOW = 1_700_000_000_000


@pytest.fixture(scope="module")
def runtime():
    with UdfRuntime(UdfRuntimeConfig(max_memory_bytes_per_instance=4 << 20)) as built:
        yield built


@pytest.fixture(scope="module")
def definitions(runtime):
    return {name: runtime.build_definition(name, examples.wat_registration_body(name))
            for name in ("range_filter", "recency_scorer", "infinite_loop", "memory_hog")}


def host_for(runtime, definitions, limits=UdfLimits()):
    return UdfHost(StaticUdfCatalog(definitions, limits), runtime=runtime)


@pytest.fixture(scope="module")
def searcher():
    first = [(str(number), {"value": number, "title": "alpha beta" if number % 2 else "alpha",
                            "published_at": NOW - number * DAY_MILLIS}) for number in range(0, 20)]
    second = [(str(number), {"value": number, "title": "alpha"}) for number in range(20, 30)]
    second.append(("nothing", {"title": "alpha"}))
    return build_reference_searcher([first, second], {"properties": {
        "value": {"type": "long"}, "title": {"type": "text"}, "published_at": {"type": "date"}}})


def run(searcher, host, body, size=100):
    request = parse_search_request({**body, "size": size})
    # the request crosses to the shard as wire JSON, as it does to a worker
    request = SearchRequest.from_wire(orjson.loads(orjson.dumps(request.to_wire())))
    return search_shard(searcher, request, SearchContext(udf_hooks={"udf_host": host}, now_millis=NOW))


def test_wasm_udf_alone_keeps_the_live_documents_the_filter_keeps(searcher, runtime, definitions):
    result = run(searcher, host_for(runtime, definitions),
                 {"query": {"wasm_udf": {"name": "range_filter", "params": {"lo": 5, "hi": 24}}}})
    assert sorted(int(hit.document_id) for hit in result.hits) == list(range(5, 25))
    assert {hit.score for hit in result.hits} == {1.0}


def test_wasm_udf_inside_a_bool_filter_restricts_a_scored_query(searcher, runtime, definitions):
    body = {"query": {"bool": {"must": [{"match": {"title": "beta"}}],
                               "filter": [{"wasm_udf": {"name": "range_filter", "params": {"lo": 0, "hi": 9}}}]}}}
    result = run(searcher, host_for(runtime, definitions), body)
    assert sorted(int(hit.document_id) for hit in result.hits) == [1, 3, 5, 7, 9]
    assert all(hit.score > 0 for hit in result.hits)


def test_wasm_udf_with_an_inner_query_keeps_its_scores(searcher, runtime, definitions):
    plain = run(searcher, host_for(runtime, definitions), {"query": {"match": {"title": "beta"}}})
    filtered = run(searcher, host_for(runtime, definitions), {"query": {"wasm_udf": {
        "name": "range_filter", "params": {"lo": 10, "hi": 100}, "query": {"match": {"title": "beta"}}}}})
    plain_scores = {hit.document_id: hit.score for hit in plain.hits if int(hit.document_id) >= 10}
    assert {hit.document_id: hit.score for hit in filtered.hits} == plain_scores


def test_script_score_ranking_matches_a_python_reference(searcher, runtime, definitions):
    weight = 3.0
    body = {"query": {"script_score": {"query": {"match": {"title": "alpha"}}, "script": {
        "lang": "wasm", "source": "recency_scorer", "params": {"now_millis": NOW, "weight": weight}}}}}
    base = {hit.document_id: hit.score for hit in run(searcher, host_for(runtime, definitions),
                                                      {"query": {"match": {"title": "alpha"}}}).hits}
    result = run(searcher, host_for(runtime, definitions), body)
    ages = {str(number): number for number in range(20)}          # days old; the rest have no date
    expected = {document_id: (score * (1 + weight / (1 + ages[document_id])) if document_id in ages else score)
                for document_id, score in base.items()}
    assert len(result.hits) == len(expected)
    for hit in result.hits:
        assert math.isclose(hit.score, expected[hit.document_id], rel_tol=1e-6)
    ranked = [hit.document_id for hit in result.hits]
    reference = sorted(expected, key=lambda document_id: (-np.float32(expected[document_id]), ))
    assert [np.float32(expected[d]) for d in ranked] == [np.float32(expected[d]) for d in reference]


def test_script_score_min_score_and_boost_apply_to_the_udf_score(searcher, runtime, definitions):
    body = {"query": {"script_score": {"query": {"match_all": {}}, "min_score": 3.5, "boost": 2.0, "script": {
        "lang": "wasm", "source": "recency_scorer", "params": {"now_millis": NOW, "weight": 1.0}}}}}
    result = run(searcher, host_for(runtime, definitions), body)
    # match_all scores 1; (1 + 1/(1+age)) x 2 >= 3.5 only for age 0 (score 4; age 1 gives 3)
    assert [(hit.document_id, hit.score) for hit in result.hits] == [("0", 4.0)]


def test_an_infinite_loop_fails_the_shard_with_a_script_exception_naming_the_function(searcher, runtime, definitions):
    host = host_for(runtime, definitions, UdfLimits(fuel_per_query=2_000_000))
    with pytest.raises(UdfOutOfFuelError) as raised:
        run(searcher, host, {"query": {"wasm_udf": {"name": "infinite_loop"}}})
    assert raised.value.opensearch_type == "script_exception"
    assert "udf [infinite_loop]" in raised.value.reason and "fuel" in raised.value.reason
    assert host.statistics()["calls"] == [["infinite_loop", "filter", "out_of_fuel", 1]]


def test_the_fuel_budget_is_shared_by_every_segment_of_one_query(searcher, runtime, definitions):
    host = host_for(runtime, definitions, UdfLimits(fuel_per_query=2_000_000))
    with pytest.raises(UdfOutOfFuelError):
        run(searcher, host, {"query": {"wasm_udf": {"name": "infinite_loop"}}})
    # the first segment used the whole budget: the second was refused without running
    assert sum(count for *_, count in host.statistics()["calls"]) == 1


def test_a_memory_hungry_module_fails_with_a_memory_error(searcher, runtime, definitions):
    with pytest.raises(UdfMemoryLimitError) as raised:
        run(searcher, host_for(runtime, definitions), {"query": {"wasm_udf": {"name": "memory_hog"}}})
    assert "udf [memory_hog]" in raised.value.reason and "memory limit" in raised.value.reason


def test_a_filter_used_as_a_scorer_is_a_shard_error(searcher, runtime, definitions):
    body = {"query": {"script_score": {"query": {"match_all": {}}, "script": {
        "lang": "wasm", "source": "range_filter", "params": {"lo": 1, "hi": 2}}}}}
    with pytest.raises(QueryShardError, match="kind"):
        run(searcher, host_for(runtime, definitions), body)


def test_painless_and_unknown_keys_are_parsing_errors():
    with pytest.raises(QueryParsingError, match="lang \\[painless\\]"):
        parse_search_request({"query": {"script_score": {"query": {"match_all": {}},
                                                         "script": {"source": "doc['a'].value"}}}})
    with pytest.raises(QueryParsingError, match="does not support \\[nme\\]"):
        parse_search_request({"query": {"wasm_udf": {"nme": "x"}}})
    with pytest.raises(QueryParsingError, match="finite number"):
        parse_search_request({"query": {"wasm_udf": {"name": "x", "params": {"lo": "1"}}}})


def test_the_coordinator_resolver_refuses_unknown_functions_and_params_and_stamps_the_sha256(definitions):
    def resolver(name):
        from udf import UdfInvocationError
        if name not in definitions:
            raise UdfInvocationError(f"udf [{name}] is not registered", function_name=name)
        return definitions[name]

    registry = queries.coordinator_query_registry(resolver)
    with pytest.raises(QueryParsingError, match="not registered"):
        parse_search_request({"query": {"wasm_udf": {"name": "nope"}}}, registry=registry)
    with pytest.raises(QueryParsingError, match="param \\[hi\\] is required"):
        parse_search_request({"query": {"wasm_udf": {"name": "range_filter", "params": {"lo": 1}}}},
                             registry=registry)
    request = parse_search_request({"query": {"wasm_udf": {"name": "range_filter", "params": {"lo": 1, "hi": 2}}}},
                                   registry=registry)
    assert request.query.sha256 == definitions["range_filter"].sha256
    assert request.query.to_json()["wasm_udf"]["sha256"] == definitions["range_filter"].sha256
    # the default registry (a shard worker's, or another node's in this process) resolves nothing
    unresolved = parse_search_request({"query": {"wasm_udf": {"name": "nope"}}})
    assert unresolved.query.sha256 is None


def test_a_coordinator_registry_leaves_no_resolver_behind_for_other_parses(definitions):
    def refuse_everything(name):
        from udf import UdfInvocationError
        raise UdfInvocationError(f"udf [{name}] is not registered", function_name=name)

    first_node = queries.coordinator_query_registry(refuse_everything)
    with pytest.raises(QueryParsingError, match="not registered"):
        parse_search_request({"query": {"wasm_udf": {"name": "range_filter", "params": {"lo": 1, "hi": 2}}}},
                             registry=first_node)
    second_node = queries.coordinator_query_registry(definitions.__getitem__)
    request = parse_search_request({"query": {"wasm_udf": {"name": "range_filter", "params": {"lo": 1, "hi": 2}}}},
                                   registry=second_node)
    assert request.query.sha256 == definitions["range_filter"].sha256


def test_the_wall_clock_bound_stops_a_module_that_still_has_fuel(searcher, runtime, definitions):
    host = host_for(runtime, definitions, UdfLimits(fuel_per_query=10**15, timeout_milliseconds=100.0))
    with pytest.raises(UdfTimeoutError) as raised:
        run(searcher, host, {"query": {"wasm_udf": {"name": "infinite_loop"}}})
    assert raised.value.opensearch_type == "script_exception"
    assert "udf [infinite_loop]" in raised.value.reason and "timed out" in raised.value.reason
    assert host.statistics()["calls"] == [["infinite_loop", "filter", "timeout", 1]]


def test_an_index_fuel_setting_applies_to_searches_on_that_index(searcher, runtime, definitions):
    host = UdfHost(StaticUdfCatalog(definitions, UdfLimits(fuel_per_query=10**15, timeout_milliseconds=100.0),
                                    {"tight": UdfLimits(fuel_per_query=1_000_000)}), runtime=runtime)
    request = parse_search_request({"query": {"wasm_udf": {"name": "infinite_loop"}}})
    with pytest.raises(UdfOutOfFuelError):
        search_shard(searcher, request, SearchContext(udf_hooks={"udf_host": host}, index_name="tight"))
    with pytest.raises(UdfTimeoutError):
        search_shard(searcher, request, SearchContext(udf_hooks={"udf_host": host}, index_name="other"))
