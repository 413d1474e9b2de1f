"""_bulk conformance details found against OpenSearch's rest-api-spec: empty ids, the empty action
line, require_alias per item and per request."""

from __future__ import annotations

import orjson


def ndjson(*lines) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


async def bulk(node, body: bytes, path="/_bulk"):
    return await node.request("POST", path, raw=body, content_type="application/x-ndjson")


async def test_an_index_item_with_an_empty_id_fails_alone_as_an_illegal_argument(api_node):
    body = ndjson({"index": {"_index": "e", "_id": ""}}, {"a": 1}, {"index": {"_index": "e", "_id": "1"}}, {"a": 2})
    status, response = await bulk(api_node, body)
    assert status == 200 and response["errors"] is True
    failed = response["items"][0]["index"]
    assert failed["status"] == 400
    assert failed["error"]["type"] == "illegal_argument_exception"
    assert failed["error"]["reason"] == "if _id is specified it must not be empty"
    assert response["items"][1]["index"]["status"] == 201


async def test_a_delete_item_with_an_empty_id_reports_the_missing_id(api_node):
    status, response = await bulk(api_node, ndjson({"delete": {"_index": "e", "_id": ""}}))
    assert status == 200 and response["errors"] is True
    assert "id is missing" in response["items"][0]["delete"]["error"]["reason"]


async def test_an_empty_action_line_names_its_line_and_the_end_of_object(api_node):
    body = ndjson({"index": {"_index": "e", "_id": "1"}}, {"a": 1}, {}, {"a": 2})
    status, response = await bulk(api_node, body)
    assert status == 400
    assert response["error"]["reason"] == ("Malformed action/metadata line [3], expected FIELD_NAME "
                                           "but found [END_OBJECT]")


async def test_require_alias_on_an_item_refuses_a_missing_index_and_does_not_create_it(api_node):
    body = ndjson({"index": {"_index": "new_index", "_id": "1", "require_alias": True}}, {"a": 1})
    status, response = await bulk(api_node, body)
    assert status == 200 and response["errors"] is True
    item = response["items"][0]["index"]
    assert item["status"] == 404
    assert item["error"]["type"] == "index_not_found_exception"
    assert item["error"]["reason"] == ("no such index [new_index] and [require_alias] request flag is [true] "
                                       "and [new_index] is not an alias")
    status, _ = await api_node.request("GET", "/new_index")
    assert status == 404


async def test_require_alias_as_a_request_parameter_applies_to_every_item(api_node):
    body = ndjson({"index": {"_index": "plain", "_id": "1"}}, {"a": 1})
    status, response = await bulk(api_node, body, "/_bulk?require_alias=true")
    assert status == 200 and response["items"][0]["index"]["status"] == 404
    status, _ = await api_node.request("GET", "/plain")
    assert status == 404


async def test_require_alias_accepts_a_write_through_an_alias(api_node):
    await api_node.request("PUT", "/backing", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                               "aliases": {"front": {}}})
    body = ndjson({"index": {"_index": "front", "_id": "1", "require_alias": True}}, {"a": 1},
                  {"index": {"_index": "backing", "_id": "2", "require_alias": True}}, {"a": 2})
    status, response = await bulk(api_node, body)
    assert status == 200
    assert response["items"][0]["index"]["status"] == 201
    assert response["items"][0]["index"]["_index"] == "backing"
    # the index exists but its name is not an alias: refused, as OpenSearch does
    assert response["items"][1]["index"]["status"] == 404


async def test_require_alias_false_on_the_item_overrides_the_request_parameter(api_node):
    body = ndjson({"index": {"_index": "auto", "_id": "1", "require_alias": False}}, {"a": 1})
    status, response = await bulk(api_node, body, "/_bulk?require_alias=true")
    assert status == 200 and response["items"][0]["index"]["status"] == 201


async def test_require_alias_on_a_single_index_request_refuses_a_missing_index(api_node):
    status, body = await api_node.request("PUT", "/test_require_alias/_doc/1?require_alias=true", {"foo": "bar"})
    assert status == 404 and body["error"]["type"] == "index_not_found_exception"
    assert "[require_alias] request flag is [true]" in body["error"]["reason"]
    status, _ = await api_node.request("GET", "/test_require_alias")
    assert status == 404


async def test_require_alias_on_an_upsert_refuses_a_missing_index_and_accepts_an_alias(api_node):
    update = {"doc": {"foo": "bar"}, "doc_as_upsert": True}
    status, _ = await api_node.request("POST", "/test_require_alias/_update/1?require_alias=true", update)
    assert status == 404
    await api_node.request("PUT", "/backing_index", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                                     "aliases": {"test_require_alias": {}}})
    status, body = await api_node.request("POST", "/test_require_alias/_update/1?require_alias=true", update)
    assert status in (200, 201) and body["_index"] == "backing_index"
    status, body = await api_node.request("POST", "/test_require_alias/_doc?require_alias=true", {"foo": "baz"})
    assert status == 201 and body["_index"] == "backing_index"


async def seed_source_documents(node):
    await node.request("PUT", "/test_index", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    for number, (foo, bar) in enumerate([("bar", "foo"), ("qux", "pux"), ("corge", "forge")], start=1):
        await node.request("PUT", f"/test_index/_doc/test_id_{number}?refresh=true", {"foo": foo, "bar": bar})


async def test_bulk_updates_return_their_source_when_the_action_line_or_the_body_asks(api_node):
    await seed_source_documents(api_node)
    body = ndjson({"update": {"_index": "test_index", "_id": "test_id_1", "_source": True}}, {"doc": {"foo": "baz"}},
                  {"update": {"_index": "test_index", "_id": "test_id_2"}}, {"_source": True, "doc": {"foo": "quux"}},
                  {"update": {"_index": "test_index", "_id": "test_id_3"}}, {"doc": {"foo": "plain"}})
    status, response = await bulk(api_node, body)
    assert status == 200 and response["errors"] is False
    first, second, third = (item["update"] for item in response["items"])
    assert first["get"]["_source"] == {"foo": "baz", "bar": "foo"} and first["get"]["found"] is True
    assert first["get"]["_seq_no"] == first["_seq_no"]
    assert second["get"]["_source"] == {"foo": "quux", "bar": "pux"}
    assert "get" not in third


async def test_bulk_update_source_filters_come_from_the_action_line_the_body_or_the_request(api_node):
    await seed_source_documents(api_node)
    body = ndjson({"update": {"_index": "test_index", "_id": "test_id_1", "_source": {"includes": "bar"}}},
                  {"doc": {"foo": "baz"}},
                  {"update": {"_index": "test_index", "_id": "test_id_2"}},
                  {"_source": {"includes": "foo"}, "doc": {"foo": "quux"}})
    status, response = await bulk(api_node, body)
    assert [item["update"]["get"]["_source"] for item in response["items"]] == [{"bar": "foo"}, {"foo": "quux"}]
    status, response = await bulk(api_node, ndjson({"update": {"_id": "test_id_3"}}, {"doc": {"foo": "garply"}}),
                                  "/test_index/_bulk?_source_includes=foo")
    assert response["items"][0]["update"]["get"]["_source"] == {"foo": "garply"}
    status, response = await bulk(api_node, ndjson({"update": {"_id": "test_id_3"}}, {"doc": {"foo": "waldo"}}),
                                  "/test_index/_bulk?_source=true")
    assert response["items"][0]["update"]["get"]["_source"] == {"foo": "waldo", "bar": "forge"}


async def test_an_index_action_with_op_type_create_is_a_create(api_node):
    await api_node.request("PUT", "/ot", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    body = ndjson({"index": {"_index": "ot", "op_type": "create"}}, {"f": 5},
                  {"index": {"_index": "ot", "_id": "1", "op_type": "create"}}, {"f": 6},
                  {"index": {"_index": "ot", "_id": "1", "op_type": "create"}}, {"f": 7})
    status, response = await bulk(api_node, body)
    assert status == 200
    assert [list(item)[0] for item in response["items"]] == ["create", "create", "create"]
    assert [item["create"]["status"] for item in response["items"]] == [201, 201, 409]


async def test_an_unknown_op_type_on_a_bulk_item_is_a_400(api_node):
    status, response = await bulk(api_node, ndjson({"index": {"_index": "ot", "op_type": "upsert"}}, {"f": 5}))
    assert status == 400 and "opType must be 'create' or 'index'" in response["error"]["reason"]
