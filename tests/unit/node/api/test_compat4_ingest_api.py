"""Ingest pipelines through the REST API in one process: CRUD, _simulate, ?pipeline= on index and
bulk, index.default_pipeline / final_pipeline, _none, drop, and pipelines kept out of the cluster
settings views."""

from __future__ import annotations

UPPER_TITLE = {"description": "d", "processors": [{"uppercase": {"field": "title"}},
                                                   {"set": {"field": "seen", "value": True}}]}


async def _put(api_node, name, body):
    status, answer = await api_node.request("PUT", f"/_ingest/pipeline/{name}", body)
    assert status == 200 and answer == {"acknowledged": True}, answer


async def test_pipelines_are_stored_listed_and_deleted(api_node):
    await _put(api_node, "upper", UPPER_TITLE)
    await _put(api_node, "other", {"processors": []})
    status, body = await api_node.request("GET", "/_ingest/pipeline/upper")
    assert status == 200 and body == {"upper": UPPER_TITLE}
    status, body = await api_node.request("GET", "/_ingest/pipeline")
    assert sorted(body) == ["other", "upper"]
    status, body = await api_node.request("GET", "/_ingest/pipeline/nope")
    assert status == 404 and body == {}
    status, body = await api_node.request("DELETE", "/_ingest/pipeline/upper")
    assert status == 200 and body == {"acknowledged": True}
    status, body = await api_node.request("DELETE", "/_ingest/pipeline/upper")
    assert status == 404 and body["error"]["type"] == "resource_not_found_exception"
    assert body["error"]["reason"] == "pipeline [upper] is missing"


async def test_an_invalid_pipeline_is_refused_and_not_stored(api_node):
    status, body = await api_node.request("PUT", "/_ingest/pipeline/bad", {"processors": [{"nope": {}}]})
    assert status == 400 and body["error"]["type"] == "parse_exception"
    assert body["error"]["reason"] == "No processor type exists with name [nope]"
    status, _ = await api_node.request("GET", "/_ingest/pipeline/bad")
    assert status == 404


async def test_pipelines_never_show_as_cluster_settings_nor_fall_to_a_wildcard_reset(api_node):
    await _put(api_node, "upper", UPPER_TITLE)
    status, body = await api_node.request("GET", "/_cluster/settings?flat_settings=true")
    assert body["persistent"] == {}
    await api_node.request("PUT", "/_cluster/settings", {"persistent": {"*": None}})
    status, _ = await api_node.request("GET", "/_ingest/pipeline/upper")
    assert status == 200
    status, body = await api_node.request("PUT", "/_cluster/settings",
                                          {"persistent": {"quidditch.ingest.pipeline.x": "{}"}})
    assert status == 400


async def test_simulate_inline_and_stored_pipelines(api_node):
    docs = [{"_index": "i", "_id": "1", "_source": {"title": "abc"}}, {"_source": {"other": 1}}]
    status, body = await api_node.request("POST", "/_ingest/pipeline/_simulate", {"pipeline": UPPER_TITLE, "docs": docs})
    assert status == 200
    first, second = body["docs"]
    assert first["doc"]["_source"] == {"title": "ABC", "seen": True} and first["doc"]["_index"] == "i"
    assert second["error"]["type"] == "illegal_argument_exception"
    await _put(api_node, "upper", UPPER_TITLE)
    status, body = await api_node.request("POST", "/_ingest/pipeline/upper/_simulate?verbose=true", {"docs": docs[:1]})
    results = body["docs"][0]["processor_results"]
    assert [result["processor_type"] for result in results] == ["uppercase", "set"]
    assert results[0]["status"] == "success" and results[0]["doc"]["_source"]["title"] == "ABC"


async def test_index_and_bulk_run_the_requested_default_and_final_pipelines(api_node):
    await _put(api_node, "upper", UPPER_TITLE)
    await _put(api_node, "final", {"processors": [{"set": {"field": "final", "value": "{{_index}}"}}]})
    await _put(api_node, "dropper", {"processors": [{"drop": {}}]})
    await api_node.request("PUT", "/docs", {"settings": {"number_of_shards": 1, "number_of_replicas": 0,
                                                         "index.final_pipeline": "final"}})
    await api_node.settle()
    status, body = await api_node.request("PUT", "/docs/_doc/1?pipeline=upper&refresh=true", {"title": "hello"})
    assert status == 201, body
    status, body = await api_node.request("GET", "/docs/_doc/1")
    assert body["_source"] == {"title": "HELLO", "seen": True, "final": "docs"}
    status, body = await api_node.request("PUT", "/docs/_settings", {"index.default_pipeline": "upper"})
    assert status == 200
    await api_node.request("PUT", "/docs/_doc/2", {"title": "two"})
    await api_node.request("PUT", "/docs/_doc/3?pipeline=_none", {"title": "three"})
    assert (await api_node.request("GET", "/docs/_doc/2"))[1]["_source"]["title"] == "TWO"
    assert (await api_node.request("GET", "/docs/_doc/3"))[1]["_source"] == {"title": "three", "final": "docs"}
    status, body = await api_node.request("PUT", "/docs/_doc/4?pipeline=dropper", {"title": "gone"})
    assert status == 200 and body["result"] == "noop"
    assert (await api_node.request("GET", "/docs/_doc/4"))[0] == 404
    status, body = await api_node.request("PUT", "/docs/_doc/5?pipeline=missing", {"title": "x"})
    assert status == 400 and body["error"]["reason"] == "pipeline with id [missing] does not exist"
    ndjson = (b'{"index":{"_index":"docs","_id":"b1"}}\n{"title":"bulk"}\n'
              b'{"index":{"_index":"docs","_id":"b2","pipeline":"dropper"}}\n{"title":"dropped"}\n'
              b'{"index":{"_index":"docs","_id":"b3","pipeline":"missing"}}\n{"title":"x"}\n')
    status, body = await api_node.request("POST", "/_bulk?refresh=true", raw=ndjson,
                                          content_type="application/x-ndjson")
    assert status == 200 and body["errors"] is True
    first, second, third = (item["index"] for item in body["items"])
    assert first["result"] == "created" and second["result"] == "noop" and third["status"] == 400
    assert (await api_node.request("GET", "/docs/_doc/b1"))[1]["_source"] == {"title": "BULK", "seen": True,
                                                                                "final": "docs"}


async def test_an_empty_pipeline_parameter_is_a_bad_request(api_node):
    status, body = await api_node.request("PUT", "/plain/_doc/1?pipeline=", {"a": 1})
    assert status == 400 and body["error"]["reason"] == "pipeline with id [] does not exist"


async def test_summary_lists_pipeline_ids_only(api_node):
    await _put(api_node, "upper", UPPER_TITLE)
    status, body = await api_node.request("GET", "/_ingest/pipeline?summary=true")
    assert status == 200 and body == {"upper": {}}


async def test_nodes_info_lists_the_ingest_processors_and_grok_patterns_are_served(api_node):
    status, body = await api_node.request("GET", "/_nodes/ingest")
    (node,) = body["nodes"].values()
    types = {processor["type"] for processor in node["ingest"]["processors"]}
    assert {"set", "grok", "kv", "dissect", "csv", "script"} <= types
    status, body = await api_node.request("GET", "/_ingest/processor/grok")
    assert status == 200 and body["patterns"]["WORD"] == r"\b\w+\b"
