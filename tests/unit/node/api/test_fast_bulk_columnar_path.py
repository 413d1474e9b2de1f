"""The columnar _bulk path (node/api/bulk.py parse_common_bulk_body, node/coordination/writes.py
execute_columnar_writes, the worker's columnar ``write``): which bodies take it, and that its
responses are the general path's, item for item."""

from __future__ import annotations

import string

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from node.api import bulk as bulk_module
from node.api.bulk import parse_bulk_body, parse_common_bulk_body
from node.coordination import writes as writes_module
from node.coordination.writes import new_document_ids


def ndjson(*lines) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


def common(body: bytes, default_index: str | None = None, query: dict | None = None, limit: int = 100_000):
    return parse_common_bulk_body(body, default_index, query or {}, limit)


def test_index_and_create_items_with_only_index_and_id_become_columns():
    body = ndjson({"index": {"_index": "a", "_id": "1"}}, {"x": 1}, {"create": {"_index": "b"}}, {"y": 2},
                  {"index": {"_id": "3"}}, {"z": 3})
    columns = common(body, default_index="d")
    assert columns.actions == ["index", "create", "index"]
    assert columns.index_names == ["a", "b", "d"]
    assert columns.document_ids == ["1", None, "3"]
    assert columns.sources == [b'{"x":1}', b'{"y":2}', b'{"z":3}']


@pytest.mark.parametrize("body, query", [
    (ndjson({"update": {"_index": "a", "_id": "1"}}, {"doc": {"x": 1}}), {}),
    (ndjson({"delete": {"_index": "a", "_id": "1"}}), {}),
    (ndjson({"delete": {"_index": "a", "_id": "1"}}, {"index": {"_index": "a"}}), {}),
    (ndjson({"index": {"_index": "a", "_id": "1", "version": 3, "version_type": "external"}}, {"x": 1}), {}),
    (ndjson({"index": {"_index": "a", "routing": "r"}}, {"x": 1}), {}),
    (ndjson({"index": {"_index": "a", "pipeline": "p"}}, {"x": 1}), {}),
    (ndjson({"index": {"_index": "a"}}, {"x": 1}), {"routing": "r"}),
    (ndjson({"index": {"_index": "a", "_id": 7}}, {"x": 1}), {}),
    (ndjson({"index": {"_index": "a", "_id": "x" * 129}}, {"x": 1}), {}),
    (ndjson({"index": {"_index": 5}}, {"x": 1}), {}),
    (ndjson({"index": {}}, {"x": 1}), {}),
    (b'{"index":{"_index":"a"}}\n\n{"x":1}\n', {}),
    (b'{"index":{"_index":"a"}}\r\n{"x":1}\r\n', {}),
    (b'{"index":{"_index":"a"}}\n{"x":1}', {}),
    (b'{"index":{"_index":"a"}} {"index":{"_index":"a"}}\n{"x":1}\n', {}),
    (b'{"index":{"_index":"a"}},{"index":{"_index":"a"}}\n{"x":1}\n', {}),
    (b'{"index":{"_index":"a"}\n{"x":1}\n', {}),
    (b'{"index":{"_index":"a"},"create":{}}\n{"x":1}\n', {}),
    (b'["index"]\n{"x":1}\n', {}),
])
def test_anything_but_the_common_shape_is_left_to_the_general_parser(body, query):
    assert common(body, query=query) is None


def test_more_items_than_the_limit_are_left_to_the_general_parser_which_refuses_them():
    body = ndjson({"index": {"_index": "a"}}, {"x": 1}, {"index": {"_index": "a"}}, {"x": 2})
    assert common(body, limit=1) is None
    assert len(common(body, limit=2).actions) == 2


_ids = st.one_of(st.none(), st.text(alphabet=string.ascii_letters + string.digits + "-_é€\"\\/", max_size=20))
_items = st.lists(st.tuples(st.sampled_from(["index", "create"]), st.sampled_from(["a", "b", None]), _ids,
                            st.dictionaries(st.text(max_size=5), st.integers(-2**60, 2**60) | st.text(max_size=10), max_size=3)),
                  min_size=1, max_size=30)


@settings(max_examples=100, deadline=None)
@given(_items)
def test_columns_carry_exactly_what_the_general_parser_reads(items):
    lines = []
    for action, index_name, document_id, source in items:
        metadata = {}
        if index_name is not None:
            metadata["_index"] = index_name
        if document_id is not None:
            metadata["_id"] = document_id
        lines += [{action: metadata}, source]
    body = ndjson(*lines)
    columns = common(body, default_index="dflt")
    general = parse_bulk_body(body, "dflt", {}, 100_000)
    assert columns is not None
    converted = columns.as_write_requests()
    assert [(r.action, r.index, r.document_id, bytes(r.source), r.routing, r.error) for r in converted] == \
        [(r.action, r.index, r.document_id, bytes(r.source), r.routing, r.error) for r in general]


def test_generated_ids_are_twenty_url_safe_characters_and_distinct():
    generated = new_document_ids(500)
    assert len(set(generated)) == 500
    allowed = set(string.ascii_letters + string.digits + "-_")
    assert all(len(document_id) == 20 and set(document_id) <= allowed for document_id in generated)
    assert new_document_ids(0) == []


async def bulk(node, body: bytes, path="/_bulk"):
    return await node.request("POST", path, raw=body, content_type="application/x-ndjson")


def _normalised(items: list[dict], index_name: str) -> list[dict]:
    """Items with the index name and uuid blanked (the two runs write to different indices)."""
    normalised = []
    for item in items:
        (action, body), = item.items()
        body = dict(body)
        assert body.pop("_index") == index_name
        if "error" in body:
            error = dict(body["error"])
            error.pop("index_uuid", None)
            assert error.pop("index") == index_name
            body["error"] = error
        normalised.append({action: body})
    return normalised


async def test_the_columnar_path_answers_exactly_as_the_general_path(api_node, monkeypatch):
    for name in ("columnar", "general"):
        status, _ = await api_node.request("PUT", f"/{name}", {"settings": {"number_of_shards": 3,
                                                                           "number_of_replicas": 0}})
        assert status == 200
    lines = []
    for number in range(40):
        lines += [{"index" if number % 3 else "create": {"_id": str(number % 30)}}, {"n": number, "t": "text"}]
    lines += [{"index": {"_id": "bad"}}, {"n": "not a number"}]     # mapper_parsing_exception, 400
    lines += [{"create": {"_id": "1"}}, {"n": 1}]                    # version_conflict_engine_exception, 409
    body = ndjson(*lines)
    used = []
    real_columnar = writes_module.execute_columnar_writes

    async def spying_columnar(*arguments, **keywords):
        used.append("columnar")
        return await real_columnar(*arguments, **keywords)

    monkeypatch.setattr(bulk_module, "execute_columnar_writes", spying_columnar)
    status, columnar = await bulk(api_node, body, "/columnar/_bulk?refresh=true")
    assert status == 200 and used == ["columnar"]
    monkeypatch.setattr(bulk_module, "parse_common_bulk_body", lambda *arguments: None)
    status, general = await bulk(api_node, body, "/general/_bulk?refresh=true")
    assert status == 200
    assert columnar["errors"] is general["errors"] is True
    assert _normalised(columnar["items"], "columnar") == _normalised(general["items"], "general")
    statuses = [next(iter(item.values()))["status"] for item in columnar["items"]]
    assert statuses[-2:] == [400, 409] and statuses.count(201) == 30
    assert columnar["items"][0]["index" if 0 % 3 else "create"]["forced_refresh"] is True
    status, count = await api_node.request("GET", "/columnar/_count")
    assert count["count"] == 30


async def test_items_without_ids_get_generated_ids_and_are_stored(api_node):
    body = ndjson(*[line for number in range(10) for line in ({"index": {"_index": "auto"}}, {"n": number})])
    status, response = await bulk(api_node, body + b"")
    assert status == 200 and response["errors"] is False
    ids = [item["index"]["_id"] for item in response["items"]]
    assert len(set(ids)) == 10 and all(len(document_id) == 20 for document_id in ids)
    status, document = await api_node.request("GET", f"/auto/_doc/{ids[3]}")
    assert status == 200 and document["_source"] == {"n": 3}


async def test_a_closed_target_index_falls_back_to_the_general_paths_per_item_errors(api_node, monkeypatch):
    await api_node.request("PUT", "/shut", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    status, _ = await api_node.request("POST", "/shut/_close")
    assert status == 200
    general_calls = []
    real_general = writes_module.execute_writes

    async def spying_general(*arguments, **keywords):
        general_calls.append(len(arguments[1]))
        return await real_general(*arguments, **keywords)

    monkeypatch.setattr(bulk_module, "execute_writes", spying_general)
    status, response = await bulk(api_node, ndjson({"index": {"_index": "shut", "_id": "1"}}, {"a": 1},
                                                   {"index": {"_index": "open", "_id": "1"}}, {"a": 1}))
    assert status == 200 and general_calls == [2]
    assert response["items"][0]["index"]["error"]["type"] == "index_closed_exception"
    assert response["items"][1]["index"]["status"] == 201


async def test_an_alias_with_routing_falls_back_and_routes_by_the_alias(api_node):
    await api_node.request("PUT", "/target", {"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    status, _ = await api_node.request("POST", "/_aliases", {"actions": [
        {"add": {"index": "target", "alias": "routed", "routing": "r1"}}]})
    assert status == 200
    status, response = await bulk(api_node, ndjson({"index": {"_index": "routed", "_id": "1"}}, {"a": 1}))
    assert status == 200 and response["errors"] is False
    status, document = await api_node.request("GET", "/target/_doc/1?routing=r1")
    assert status == 200 and document.get("_routing") == "r1"


async def test_new_fields_in_columnar_items_commit_a_mapping_update_first(api_node):
    body = ndjson({"index": {"_index": "m", "_id": "1"}}, {"fresh_field": "text here", "count": 3})
    status, response = await bulk(api_node, body)
    assert status == 200 and response["errors"] is False
    status, mapping = await api_node.request("GET", "/m/_mapping")
    properties = mapping["m"]["mappings"]["properties"]
    assert properties["count"]["type"] == "long" and properties["fresh_field"]["type"] == "text"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=20))
def test_json_string_bodies_are_each_string_encoded_without_its_quotes(values):
    from node.coordination.writes import json_string_bodies

    assert [orjson.loads(b'"' + body + b'"') for body in json_string_bodies(values)] == values
    assert json_string_bodies(values) == [orjson.dumps(value)[1:-1] for value in values]


def test_the_encoded_success_items_are_the_general_paths_item_objects():
    from node.coordination.writes import _success_items

    results = {"result": ["created", "updated"], "seq_no": [7, 8], "version": [1, 4], "primary_term": 3}
    shards = {"total": 2, "successful": 2, "failed": 0}
    for forced in (False, True):
        encoded = _success_items(["index", "create"], ['a"b', "é"], "idx", results, shards, forced)
        expected = []
        for action, document_id, version, result, seq_no, status in (
                ("index", 'a"b', 1, "created", 7, 201), ("create", "é", 4, "updated", 8, 200)):
            body = {"_index": "idx", "_id": document_id, "_version": version, "result": result}
            if forced:
                body["forced_refresh"] = True
            body.update({"_shards": shards, "_seq_no": seq_no, "_primary_term": 3, "status": status})
            expected.append(orjson.dumps({action: body}))
        assert encoded == expected


def test_the_worker_reads_columns_into_the_same_operations_as_items():
    from index.operations import IndexOperation
    from node.workers.shard_service import _operations_from_columns

    body = b'{"a":1}{"b":22}{}'
    operations = _operations_from_columns({"actions": ["index", "create", "index"], "ids": ["1", None, "3"],
                                           "lengths": [7, 8, 2]}, body)
    assert operations == [IndexOperation("1", b'{"a":1}', "index"), IndexOperation(None, b'{"b":22}', "create"),
                          IndexOperation("3", b"{}", "index")]
    assert _operations_from_columns({"actions": "create", "ids": ["x"], "lengths": [2]}, b"{}") == \
        [IndexOperation("x", b"{}", "create")]


@pytest.mark.parametrize("columns, body", [
    ({"actions": "index", "ids": ["1", "2"], "lengths": [2]}, b"{}"),
    ({"actions": "index", "ids": ["1"], "lengths": [3]}, b"{}"),
    ({"actions": ["index", "index"], "ids": ["1"], "lengths": [2]}, b"{}"),
    ({"actions": "delete", "ids": ["1"], "lengths": [2]}, b"{}"),
])
def test_inconsistent_columns_are_refused_by_the_worker(columns, body):
    from node.workers.shard_service import _operations_from_columns

    with pytest.raises(ValueError, match="write columns"):
        _operations_from_columns(columns, body)


def test_overlapping_gc_pauses_bring_the_collector_back_when_the_last_ends():
    import gc

    from node.coordination.writes import cyclic_gc_paused

    assert gc.isenabled()
    first = cyclic_gc_paused()
    second = cyclic_gc_paused()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)      # ends before the one it overlaps
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()          # a collector that was off stays off
    finally:
        gc.enable()


_metadata_values = st.one_of(st.sampled_from(["a", "b", "", "x" * 130, "é"]), st.integers(0, 5), st.none())
_valid_pair = st.builds(
    lambda action, metadata, source: [orjson.dumps({action: metadata}), orjson.dumps(source)],
    st.sampled_from(["index", "create"]),
    st.fixed_dictionaries({}, optional={"_index": st.sampled_from(["a", "b"]), "_id": st.sampled_from(["1", "2", "é"])}),
    st.dictionaries(st.sampled_from(["index", "doc", "n"]), st.integers(0, 3), max_size=2))
_odd_lines = st.one_of(
    st.builds(lambda action, metadata: [orjson.dumps({action: metadata})],
              st.sampled_from(["index", "create", "update", "delete", "other"]),
              st.dictionaries(st.sampled_from(["_index", "_id", "routing", "version", "if_seq_no"]),
                              _metadata_values, max_size=3)),
    st.sampled_from([[b""], [b" "], [b"{"], [b"[]"], [b"1"], [b'{"index":{}} {"index":{}}'], [b'{"index":{}}\r'],
                     [b'{"index":{"_index":"a"},"create":{}}']]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_valid_pair, _valid_pair, _valid_pair, _valid_pair, _odd_lines), min_size=1, max_size=10))
def test_whenever_the_columnar_parser_accepts_a_body_the_general_parser_reads_the_same_items(groups):
    body = b"\n".join(line for group in groups for line in group) + b"\n"
    columns = common(body, default_index="dflt")
    if columns is None:
        return
    general = parse_bulk_body(body, "dflt", {}, 100_000)
    assert all(request.error is None for request in general)
    assert [(r.action, r.index, r.document_id, bytes(r.source)) for r in columns.as_write_requests()] == \
        [(r.action, r.index, r.document_id, bytes(r.source)) for r in general]
