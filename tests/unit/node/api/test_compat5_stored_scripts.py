"""Stored painless scripts (`_scripts`): put (compiled first), get, delete, their use by id in
_update and _update_by_query with the request's params, and the script metadata endpoints —
as OpenSearch's lang-painless 16_update2/17_update_error and core scripts/ YAML expect."""

from __future__ import annotations


async def test_a_stored_script_is_put_read_and_deleted(api_node):
    script = {"lang": "painless", "source": "_score * doc['myParent.weight'].value"}
    status, body = await api_node.request("PUT", "/_scripts/1", {"script": script})
    assert status == 200 and body == {"acknowledged": True}
    status, body = await api_node.request("GET", "/_scripts/1")
    assert status == 200 and body == {"_id": "1", "found": True, "script": script}
    status, body = await api_node.request("GET", "/_scripts/2")
    assert status == 404 and body == {"_id": "2", "found": False}
    status, body = await api_node.request("DELETE", "/_scripts/1")
    assert status == 200 and body == {"acknowledged": True}
    status, body = await api_node.request("DELETE", "/_scripts/non_existing")
    assert status == 404 and body["error"]["type"] == "resource_not_found_exception"
    status, body = await api_node.request("GET", "/_cluster/settings")
    assert "quidditch" not in str(body)


async def test_a_stored_script_that_does_not_compile_is_refused_with_its_position(api_node):
    status, body = await api_node.request("PUT", "/_scripts/1/score", {"script": {
        "lang": "painless", "source": "_score * foo bar + doc['myParent.weight'].value"}})
    assert status == 400 and body["error"]["reason"] == "compile error"
    assert body["error"]["root_cause"][0]["position"] == {"offset": 13, "start": 0, "end": 38}


async def test_update_and_update_by_query_run_a_stored_script_with_the_requests_params(api_node):
    await api_node.request("PUT", "/_scripts/bump", {"script": {"lang": "painless",
                                                                "source": "ctx._source.n += params.by"}})
    await api_node.request("PUT", "/t", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.request("PUT", "/t/_doc/1?refresh=true", {"n": 1})
    status, _ = await api_node.request("POST", "/t/_update/1?refresh=true",
                                       {"script": {"id": "bump", "params": {"by": 10}}})
    assert status == 200
    status, body = await api_node.request("POST", "/t/_update_by_query?refresh=true",
                                          {"script": {"id": "bump", "params": {"by": 100}}})
    assert status == 200 and body["updated"] == 1
    _, document = await api_node.request("GET", "/t/_doc/1")
    assert document["_source"] == {"n": 111}


async def test_a_stored_script_changing_params_fails_at_the_dot(api_node):
    # 17_update_error.yml "Test modifying params map from script leads to exception"
    await api_node.request("PUT", "/_scripts/except", {"script": {"lang": "painless", "source": "params.that = 3"}})
    await api_node.request("PUT", "/t/_doc/1", {"this": 1, "that": 2})
    status, body = await api_node.request("POST", "/t/_update/1", {"script": {"id": "except",
                                                                              "params": {"this": 2}}})
    assert status == 400 and "unsupported_operation_exception" in str(body)
    assert body["error"]["caused_by"]["position"] == {"offset": 6, "start": 0, "end": 15}


async def test_the_script_metadata_endpoints(api_node):
    status, body = await api_node.request("GET", "/_script_language")
    assert status == 200 and body["types_allowed"] == ["inline", "stored"]
    status, body = await api_node.request("GET", "/_script_context")
    assert status == 200 and body["contexts"][0]["name"]
    assert body["contexts"][0]["methods"][0]["name"] == "execute" and body["contexts"][0]["methods"][0]["return_type"]
