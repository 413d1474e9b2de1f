"""Scripted _update through the in-process node: ctx._source changes, ctx.op noop and delete,
upsert and scripted_upsert, retry-free conflicts with if_seq_no, and OpenSearch's error shapes."""

from __future__ import annotations


async def _index_with(api_node, document):
    await api_node.request("PUT", "/u", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    status, _ = await api_node.request("PUT", "/u/_doc/1?refresh=true", document)
    assert status == 201


async def test_a_script_changes_the_source_and_the_update_answers_updated(api_node):
    await _index_with(api_node, {"count": 1, "tags": ["a"]})
    status, body = await api_node.request("POST", "/u/_update/1", {"script": {
        "source": "ctx._source.count += params.n; ctx._source.tags.add(params.tag)",
        "lang": "painless", "params": {"n": 4, "tag": "b"}}})
    assert status == 200 and body["result"] == "updated" and body["_version"] == 2
    _, document = await api_node.request("GET", "/u/_doc/1")
    assert document["_source"] == {"count": 5, "tags": ["a", "b"]}


async def test_a_script_given_as_a_string_is_its_source(api_node):
    await _index_with(api_node, {"count": 1})
    status, _ = await api_node.request("POST", "/u/_update/1", {"script": "ctx._source.count++"})
    assert status == 200
    _, document = await api_node.request("GET", "/u/_doc/1")
    assert document["_source"] == {"count": 2}


async def test_ctx_op_noop_writes_nothing_and_answers_noop(api_node):
    await _index_with(api_node, {"count": 1})
    status, body = await api_node.request("POST", "/u/_update/1", {"script": {"source": "ctx.op = 'noop'"}})
    assert status == 200 and body["result"] == "noop" and body["_version"] == 1
    assert body["_shards"] == {"total": 0, "successful": 0, "failed": 0}


async def test_ctx_op_delete_deletes_the_document(api_node):
    await _index_with(api_node, {"count": 1})
    status, body = await api_node.request("POST", "/u/_update/1", {
        "script": {"source": "if (ctx._source.count == 1) { ctx.op = 'delete' }"}})
    assert status == 200 and body["result"] == "deleted"
    status, _ = await api_node.request("GET", "/u/_doc/1")
    assert status == 404


async def test_a_missing_document_without_upsert_is_document_missing(api_node):
    await _index_with(api_node, {"count": 1})
    status, body = await api_node.request("POST", "/u/_update/2", {"script": "ctx._source.count++"})
    assert status == 404 and body["error"]["type"] == "document_missing_exception"
    assert body["error"]["reason"] == "[2]: document missing"


async def test_upsert_creates_the_document_without_running_the_script(api_node):
    await _index_with(api_node, {"count": 1})
    status, body = await api_node.request("POST", "/u/_update/2", {"script": "ctx._source.count++",
                                                                   "upsert": {"count": 10}})
    assert status == 201 and body["result"] == "created"
    _, document = await api_node.request("GET", "/u/_doc/2")
    assert document["_source"] == {"count": 10}


async def test_scripted_upsert_runs_the_script_on_the_upsert_document(api_node):
    await _index_with(api_node, {"count": 1})
    status, body = await api_node.request("POST", "/u/_update/2", {
        "script": {"source": "ctx._source.count = params.start; ctx._source.created = ctx.op",
                   "params": {"start": 7}},
        "upsert": {}, "scripted_upsert": True})
    assert status == 201
    _, document = await api_node.request("GET", "/u/_doc/2")
    assert document["_source"] == {"count": 7, "created": "create"}


async def test_the_updated_source_is_returned_when_asked(api_node):
    await _index_with(api_node, {"count": 1, "other": "x"})
    status, body = await api_node.request("POST", "/u/_update/1", {"script": "ctx._source.count = 3",
                                                                   "_source": ["count"]})
    assert status == 200 and body["get"]["_source"] == {"count": 3}


async def test_a_compile_error_is_a_400_caused_by_a_script_exception(api_node):
    await _index_with(api_node, {"count": 1})
    status, body = await api_node.request("POST", "/u/_update/1", {"script": "ctx._source.count += nothing"})
    assert status == 400
    error = body["error"]
    assert error["type"] == "illegal_argument_exception" and error["reason"] == "failed to execute script"
    cause = error["caused_by"]
    assert cause["type"] == "script_exception" and cause["reason"] == "compile error"
    assert cause["lang"] == "painless" and cause["script"] == "ctx._source.count += nothing"
    assert cause["script_stack"][1].endswith("^---- HERE") and "offset" in cause["position"]
    assert cause["caused_by"]["type"] == "illegal_argument_exception"


async def test_a_runtime_error_is_a_400_naming_the_java_exception(api_node):
    await _index_with(api_node, {"count": 1})
    status, body = await api_node.request("POST", "/u/_update/1", {"script": "ctx._source.missing.length()"})
    assert status == 400
    cause = body["error"]["caused_by"]
    assert cause["reason"] == "runtime error" and cause["caused_by"]["type"] == "null_pointer_exception"
    _, document = await api_node.request("GET", "/u/_doc/1")
    assert document["_version"] == 1


async def test_another_language_and_a_missing_stored_script_are_refused(api_node):
    await _index_with(api_node, {"count": 1})
    status, body = await api_node.request("POST", "/u/_update/1", {"script": {"source": "x", "lang": "mustache"}})
    assert status == 400 and "script_lang not supported [mustache]" in body["error"]["reason"]
    status, body = await api_node.request("POST", "/u/_update/1", {"script": {"id": "my-script"}})
    assert status == 404 and body["error"]["reason"] == "unable to find script [my-script] in cluster state"


async def test_a_stale_if_seq_no_is_a_version_conflict(api_node):
    await _index_with(api_node, {"count": 1})
    status, body = await api_node.request("POST", "/u/_update/1?if_seq_no=5&if_primary_term=1",
                                          {"script": "ctx._source.count++"})
    assert status == 409 and body["error"]["type"] == "version_conflict_engine_exception"


async def test_a_script_and_a_doc_together_are_refused(api_node):
    await _index_with(api_node, {"count": 1})
    status, body = await api_node.request("POST", "/u/_update/1", {"script": "ctx._source.count++",
                                                                   "doc": {"count": 3}})
    assert status == 400 and "can't provide both script and doc" in body["error"]["reason"]


async def test_a_source_that_contains_itself_is_opensearchs_self_reference_error(api_node):
    # OpenSearch's lang-painless 15_update.yml "Update Script with script error"
    await _index_with(api_node, {"count": 1})
    status, body = await api_node.request("POST", "/u/_update/1", {"script": {"source": "ctx._source.ctx = ctx"}})
    assert status == 400 and body["error"]["type"] == "illegal_argument_exception"
    assert body["error"]["root_cause"][0]["type"] == "illegal_argument_exception"
    assert body["error"]["reason"] == "Iterable object is self-referencing itself"


async def test_changing_params_is_an_unsupported_operation_at_the_dot(api_node):
    await _index_with(api_node, {"count": 1})
    status, body = await api_node.request("POST", "/u/_update/1", {"script": {"source": "params.that = 3",
                                                                              "params": {"this": 2}}})
    assert status == 400 and "unsupported_operation_exception" in str(body)
    assert body["error"]["caused_by"]["position"] == {"offset": 6, "start": 0, "end": 15}


async def test_a_null_safe_call_on_a_missing_field_stores_null(api_node):
    await _index_with(api_node, {"foo": "yyy"})
    status, _ = await api_node.request("POST", "/u/_update/1", {"script": {
        "source": "ctx._source.missing_length = ctx._source.missing?.length(); "
                  "ctx._source.foo_length = ctx._source.foo?.length()"}})
    assert status == 200
    _, document = await api_node.request("GET", "/u/_doc/1")
    assert document["_source"] == {"foo": "yyy", "missing_length": None, "foo_length": 3}


async def test_concurrent_scripted_increments_retry_their_conflicts_and_none_is_lost(api_node):
    import trio

    await _index_with(api_node, {"count": 0})
    statuses = []

    async def increment():
        status, _ = await api_node.request("POST", "/u/_update/1?retry_on_conflict=20",
                                           {"script": "ctx._source.count += 1"})
        statuses.append(status)

    async with trio.open_nursery() as nursery:
        for _ in range(8):
            nursery.start_soon(increment)
    assert statuses == [200] * 8
    _, document = await api_node.request("GET", "/u/_doc/1")
    assert document["_source"] == {"count": 8} and document["_version"] == 9


async def test_without_retries_a_concurrent_change_is_a_version_conflict(api_node):
    import trio

    await _index_with(api_node, {"count": 0})
    statuses = []

    async def increment():
        status, _ = await api_node.request("POST", "/u/_update/1", {"script": "ctx._source.count += 1"})
        statuses.append(status)

    async with trio.open_nursery() as nursery:
        for _ in range(8):
            nursery.start_soon(increment)
    _, document = await api_node.request("GET", "/u/_doc/1")
    # every success is counted once, every failure is a 409: nothing is lost or applied twice
    assert set(statuses) <= {200, 409} and document["_source"]["count"] == statuses.count(200)


async def test_a_scripted_upsert_whose_op_is_not_create_does_nothing(api_node):
    await _index_with(api_node, {"count": 1})
    for operation in ("none", "index", "delete"):
        status, body = await api_node.request("POST", "/u/_update/9", {
            "script": f"ctx.op = '{operation}'", "upsert": {"count": 0}, "scripted_upsert": True})
        assert status == 200 and body["result"] == "noop", operation
    status, _ = await api_node.request("GET", "/u/_doc/9")
    assert status == 404
