"""Document APIs against an in-process node: statuses, bodies, versioning, routing, _source."""

from __future__ import annotations


async def create(node, name="docs", shards=2):
    status, body = await node.request("PUT", f"/{name}", {"settings": {"number_of_shards": shards,
                                                                       "number_of_replicas": 0}})
    assert status == 200, body
    return body


async def test_indexing_a_new_document_answers_201_with_seq_no_and_location(api_node):
    await create(api_node)
    status, body = await api_node.request("PUT", "/docs/_doc/1", {"title": "hello"})
    assert status == 201
    assert body["result"] == "created"
    assert body["_version"] == 1 and body["_seq_no"] == 0 and body["_primary_term"] == 1
    assert body["_shards"] == {"total": 1, "successful": 1, "failed": 0}


async def test_reindexing_the_same_id_updates_and_bumps_the_version(api_node):
    await create(api_node)
    await api_node.request("PUT", "/docs/_doc/1", {"title": "a"})
    status, body = await api_node.request("PUT", "/docs/_doc/1", {"title": "b"})
    assert status == 200 and body["result"] == "updated" and body["_version"] == 2
    status, body = await api_node.request("GET", "/docs/_doc/1")
    assert status == 200 and body["_source"] == {"title": "b"} and body["found"] is True


async def test_a_missing_document_answers_404_with_found_false(api_node):
    await create(api_node)
    status, body = await api_node.request("GET", "/docs/_doc/nope")
    assert status == 404
    assert body == {"_index": "docs", "_id": "nope", "found": False}


async def test_create_of_an_existing_id_is_a_409_with_the_shard_in_the_error(api_node):
    await create(api_node)
    await api_node.request("PUT", "/docs/_create/1", {"x": 1})
    status, body = await api_node.request("PUT", "/docs/_create/1", {"x": 2})
    assert status == 409
    error = body["error"]
    assert error["type"] == "version_conflict_engine_exception"
    assert error["index"] == "docs" and "shard" in error and "index_uuid" in error
    assert error["root_cause"][0]["type"] == "version_conflict_engine_exception"


async def test_if_seq_no_mismatch_is_a_conflict_and_a_match_succeeds(api_node):
    await create(api_node)
    _, first = await api_node.request("PUT", "/docs/_doc/1", {"x": 1})
    status, _ = await api_node.request("PUT", "/docs/_doc/1?if_seq_no=99&if_primary_term=1", {"x": 2})
    assert status == 409
    status, body = await api_node.request(
        "PUT", f"/docs/_doc/1?if_seq_no={first['_seq_no']}&if_primary_term={first['_primary_term']}", {"x": 3})
    assert status == 200 and body["_version"] == 2


async def test_external_versions_must_increase(api_node):
    await create(api_node)
    status, body = await api_node.request("PUT", "/docs/_doc/1?version=10&version_type=external", {"x": 1})
    assert status == 201 and body["_version"] == 10
    status, _ = await api_node.request("PUT", "/docs/_doc/1?version=5&version_type=external", {"x": 1})
    assert status == 409


async def test_internal_version_parameter_on_writes_is_a_validation_error(api_node):
    await create(api_node)
    status, body = await api_node.request("PUT", "/docs/_doc/1?version=3", {"x": 1})
    assert status == 400 and body["error"]["type"] == "action_request_validation_exception"


async def test_auto_ids_are_twenty_url_safe_characters(api_node):
    await create(api_node)
    status, body = await api_node.request("POST", "/docs/_doc", {"x": 1})
    assert status == 201
    assert len(body["_id"]) == 20
    assert all(character.isalnum() or character in "-_" for character in body["_id"])


async def test_delete_then_get_is_404_and_a_second_delete_is_not_found(api_node):
    await create(api_node)
    await api_node.request("PUT", "/docs/_doc/1", {"x": 1})
    status, body = await api_node.request("DELETE", "/docs/_doc/1")
    assert status == 200 and body["result"] == "deleted"
    status, body = await api_node.request("DELETE", "/docs/_doc/1")
    assert status == 404 and body["result"] == "not_found"
    status, _ = await api_node.request("GET", "/docs/_doc/1")
    assert status == 404


async def test_update_merges_the_partial_doc_and_detects_noops(api_node):
    await create(api_node)
    await api_node.request("PUT", "/docs/_doc/1", {"a": 1, "nested": {"b": 1}})
    status, body = await api_node.request("POST", "/docs/_update/1", {"doc": {"nested": {"c": 2}}})
    assert status == 200 and body["result"] == "updated"
    _, got = await api_node.request("GET", "/docs/_doc/1")
    assert got["_source"] == {"a": 1, "nested": {"b": 1, "c": 2}}
    status, body = await api_node.request("POST", "/docs/_update/1", {"doc": {"a": 1}})
    assert status == 200 and body["result"] == "noop"


async def test_update_of_a_missing_document_is_404_unless_upserting(api_node):
    await create(api_node)
    status, body = await api_node.request("POST", "/docs/_update/9", {"doc": {"a": 1}})
    assert status == 404 and body["error"]["type"] == "document_missing_exception"
    status, body = await api_node.request("POST", "/docs/_update/9", {"doc": {"a": 1}, "doc_as_upsert": True})
    assert status == 201 and body["result"] == "created"


async def test_a_scripted_update_of_a_missing_document_is_document_missing(api_node):
    # scripted updates run (tests/unit/node/api/test_compat5_scripted_update.py); a missing document
    # without upsert is OpenSearch's 404
    await create(api_node)
    status, body = await api_node.request("POST", "/docs/_update/1", {"script": {"source": "ctx._source.a++"}})
    assert status == 404 and body["error"]["type"] == "document_missing_exception"


async def test_source_filtering_on_get(api_node):
    await create(api_node)
    await api_node.request("PUT", "/docs/_doc/1", {"a": 1, "b": {"c": 2, "d": 3}})
    _, body = await api_node.request("GET", "/docs/_doc/1?_source_includes=b.c")
    assert body["_source"] == {"b": {"c": 2}}
    _, body = await api_node.request("GET", "/docs/_doc/1?_source=false")
    assert "_source" not in body
    _, body = await api_node.request("GET", "/docs/_doc/1?_source_excludes=b")
    assert body["_source"] == {"a": 1}
    status, body = await api_node.request("GET", "/docs/_source/1")
    assert status == 200 and body == {"a": 1, "b": {"c": 2, "d": 3}}


async def test_routing_decides_the_shard_and_a_wrong_routing_misses(api_node):
    await create(api_node, shards=4)
    await api_node.request("PUT", "/docs/_doc/1?routing=alpha", {"x": 1})
    status, _ = await api_node.request("GET", "/docs/_doc/1?routing=alpha")
    assert status == 200
    found = []
    for routing in ("beta", "gamma", "delta", "epsilon", "zeta"):
        status, _ = await api_node.request("GET", f"/docs/_doc/1?routing={routing}")
        found.append(status)
    assert 404 in found  # at least one other routing value lands on a different shard


async def test_writing_to_a_missing_index_creates_it_with_a_dynamic_mapping(api_node):
    status, body = await api_node.request("PUT", "/fresh/_doc/1", {"title": "text", "count": 3})
    assert status == 201, body
    mappings = api_node.state.indices["fresh"].mappings
    assert mappings["properties"]["count"]["type"] == "long"
    assert mappings["properties"]["title"]["type"] == "text"


async def test_auto_create_can_be_disabled_by_cluster_setting(api_node):
    status, _ = await api_node.request("PUT", "/_cluster/settings", {"persistent": {"action.auto_create_index": False}})
    assert status == 200
    status, body = await api_node.request("PUT", "/fresh/_doc/1", {"x": 1})
    assert status == 404 and body["error"]["type"] == "index_not_found_exception"


async def test_a_value_that_does_not_fit_its_field_is_a_mapper_parsing_400(api_node):
    await create(api_node)
    await api_node.request("PUT", "/docs/_doc/1", {"n": 1})
    status, body = await api_node.request("PUT", "/docs/_doc/2", {"n": "not a number"})
    assert status == 400 and body["error"]["type"] == "mapper_parsing_exception"


async def test_mget_mixes_found_missing_and_missing_index(api_node):
    await create(api_node)
    await api_node.request("PUT", "/docs/_doc/1", {"a": 1})
    status, body = await api_node.request("POST", "/_mget", {"docs": [
        {"_index": "docs", "_id": "1"}, {"_index": "docs", "_id": "2"}, {"_index": "nope", "_id": "1"}]})
    assert status == 200
    first, second, third = body["docs"]
    assert first["found"] is True and first["_source"] == {"a": 1}
    assert second == {"_index": "docs", "_id": "2", "found": False}
    assert third["error"]["type"] == "index_not_found_exception"
    status, body = await api_node.request("POST", "/docs/_mget", {"ids": ["1", "2"]})
    assert [doc["found"] for doc in body["docs"]] == [True, False]


async def test_writes_through_an_alias_reach_its_write_index(api_node):
    await create(api_node, "target")
    await api_node.request("POST", "/_aliases", {"actions": [{"add": {"index": "target", "alias": "current"}}]})
    status, body = await api_node.request("PUT", "/current/_doc/1", {"a": 1})
    assert status == 201 and body["_index"] == "target"
    status, body = await api_node.request("GET", "/current/_doc/1")
    assert status == 200 and body["_index"] == "target"


async def test_head_of_a_document_answers_by_status_only(api_node):
    await create(api_node)
    await api_node.request("PUT", "/docs/_doc/1", {"a": 1})
    status, body = await api_node.request("HEAD", "/docs/_doc/1")
    assert status == 200 and body is None
    status, body = await api_node.request("HEAD", "/docs/_doc/2")
    assert status == 404 and body is None


async def test_an_alias_with_index_routing_routes_writes(api_node):
    await create(api_node, "routed", shards=4)
    await api_node.request("POST", "/_aliases", {"actions": [{"add": {"index": "routed", "alias": "via",
                                                                      "routing": "tenant-1"}}]})
    await api_node.request("PUT", "/via/_doc/1", {"a": 1})
    status, _ = await api_node.request("GET", "/routed/_doc/1?routing=tenant-1")
    assert status == 200
    status, _ = await api_node.request("GET", "/via/_doc/1")
    assert status == 200


async def test_a_body_that_is_not_an_object_is_a_mapper_parsing_error(api_node):
    await create(api_node)
    status, body = await api_node.request("PUT", "/docs/_doc/1", [1, 2])
    assert status == 400 and body["error"]["type"] == "mapper_parsing_exception"
    status, body = await api_node.request("PUT", "/docs/_doc/1", raw=b"{not json")
    assert status == 400


async def test_wait_for_active_shards_beyond_the_started_copies_times_out_with_503(api_node):
    await api_node.request("PUT", "/waiting", {"settings": {"number_of_replicas": 1}})
    status, body = await api_node.request("PUT", "/waiting/_doc/1?wait_for_active_shards=all&timeout=100ms",
                                          {"a": 1})
    assert status == 503 and body["error"]["type"] == "unavailable_shards_exception"
    status, _ = await api_node.request("PUT", "/waiting/_doc/1?wait_for_active_shards=1", {"a": 1})
    assert status == 201


async def test_get_mget_and_search_render_the_routing_a_document_was_indexed_with(api_node):
    await create(api_node, shards=2)
    await api_node.request("PUT", "/docs/_doc/r1?routing=tenant-7&refresh=true", {"x": 1})
    await api_node.request("PUT", "/docs/_doc/plain?refresh=true", {"x": 2})
    status, body = await api_node.request("GET", "/docs/_doc/r1?routing=tenant-7")
    assert status == 200 and body["_routing"] == "tenant-7"
    _, body = await api_node.request("GET", "/docs/_doc/plain")
    assert "_routing" not in body
    _, body = await api_node.request("POST", "/_mget", {"docs": [{"_index": "docs", "_id": "r1", "routing": "tenant-7"},
                                                                  {"_index": "docs", "_id": "plain"}]})
    assert body["docs"][0]["_routing"] == "tenant-7" and "_routing" not in body["docs"][1]
    _, body = await api_node.request("POST", "/docs/_search", {"query": {"match_all": {}}})
    routings = {hit["_id"]: hit.get("_routing") for hit in body["hits"]["hits"]}
    assert routings == {"r1": "tenant-7", "plain": None}


async def test_delete_by_query_routes_each_delete_with_the_documents_own_routing(api_node):
    await create(api_node, shards=4)
    for number in range(6):
        await api_node.request("PUT", f"/docs/_doc/d{number}?routing=r{number}&refresh=true", {"kind": "gone"})
    status, body = await api_node.request("POST", "/docs/_delete_by_query?refresh=true",
                                          {"query": {"match": {"kind": "gone"}}})
    assert status == 200 and body["deleted"] == 6 and body["failures"] == []
    _, body = await api_node.request("POST", "/docs/_count", {})
    assert body["count"] == 0


async def test_get_and_mget_honour_preference_as_opensearch_does(api_node):
    await create(api_node, shards=1)
    await api_node.request("PUT", "/docs/_doc/1", {"x": 1})   # unrefreshed: only a realtime read sees it
    for preference in ("_local", "_primary", "_only_local", "my-session-7"):
        status, body = await api_node.request("GET", f"/docs/_doc/1?preference={preference}")
        assert status == 200 and body["_source"] == {"x": 1}, preference
    status, body = await api_node.request("GET", "/docs/_doc/1?preference=_replica")
    assert status == 503 and body["error"]["type"] == "no_shard_available_action_exception"
    status, body = await api_node.request("GET", "/docs/_doc/1?preference=_only_nodes:elsewhere")
    assert status == 503
    status, body = await api_node.request("GET", "/docs/_doc/1?preference=_bogus")
    assert status == 400 and body["error"]["reason"] == "no Preference for [_bogus]"
    status, body = await api_node.request("POST", "/docs/_mget?preference=_local", {"ids": ["1", "2"]})
    assert status == 200 and [doc["found"] for doc in body["docs"]] == [True, False]
    _, body = await api_node.request("POST", "/docs/_mget?preference=_replica", {"ids": ["1"]})
    assert body["docs"][0]["error"]["type"] == "no_shard_available_action_exception"
