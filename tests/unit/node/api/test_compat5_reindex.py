"""_reindex and scripted _update_by_query through the in-process node: copies with queries,
source filtering, max_docs, op_type create conflicts, scripts (changes, noop, delete), routing,
pipelines, and the refusals (remote, reading and writing one index)."""

from __future__ import annotations

import orjson

SETTINGS = {"settings": {"number_of_shards": 2, "number_of_replicas": 0}}


async def _source_index(api_node, count=5):
    await api_node.request("PUT", "/src", SETTINGS)
    lines = []
    for number in range(count):
        lines.append({"index": {"_index": "src", "_id": str(number)}})
        lines.append({"n": number, "kind": "even" if number % 2 == 0 else "odd", "extra": "x"})
    body = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    status, response = await api_node.request("POST", "/_bulk?refresh=true", raw=body,
                                              content_type="application/x-ndjson")
    assert status == 200 and response["errors"] is False


async def _dest_sources(api_node, name="dst"):
    await api_node.request("POST", f"/{name}/_refresh")
    status, body = await api_node.request("POST", f"/{name}/_search", {"size": 100, "sort": [{"n": "asc"}]})
    assert status == 200
    return {hit["_id"]: hit["_source"] for hit in body["hits"]["hits"]}


async def test_reindex_copies_every_document_and_answers_like_opensearch(api_node):
    await _source_index(api_node)
    status, body = await api_node.request("POST", "/_reindex?refresh=true",
                                          {"source": {"index": "src"}, "dest": {"index": "dst"}})
    assert status == 200
    assert body["total"] == 5 and body["created"] == 5 and body["updated"] == 0 and body["failures"] == []
    assert body["batches"] == 1 and body["version_conflicts"] == 0 and body["noops"] == 0
    assert set(body) >= {"took", "timed_out", "deleted", "retries", "throttled_millis", "requests_per_second",
                         "throttled_until_millis"}
    documents = await _dest_sources(api_node)
    assert documents["3"] == {"n": 3, "kind": "odd", "extra": "x"} and len(documents) == 5
    status, body = await api_node.request("POST", "/_reindex", {"source": {"index": "src"}, "dest": {"index": "dst"}})
    assert body["updated"] == 5 and body["created"] == 0


async def test_reindex_takes_a_query_source_filter_batch_size_and_max_docs(api_node):
    await _source_index(api_node)
    status, body = await api_node.request("POST", "/_reindex", {
        "source": {"index": ["src"], "query": {"term": {"kind": "even"}}, "_source": ["n"], "size": 1},
        "dest": {"index": "dst"}, "max_docs": 2})
    assert status == 200 and body["total"] == 2 and body["created"] == 2 and body["batches"] == 2
    documents = await _dest_sources(api_node)
    assert len(documents) == 2 and all(document == {"n": int(key)} and int(key) % 2 == 0
                                       for key, document in documents.items())


async def test_op_type_create_counts_conflicts_and_proceeds_when_asked(api_node):
    await _source_index(api_node)
    await api_node.request("PUT", "/dst/_doc/1?refresh=true", {"n": 100})
    status, body = await api_node.request("POST", "/_reindex", {
        "source": {"index": "src"}, "dest": {"index": "dst", "op_type": "create"}})
    assert status == 409 and body["failures"][0]["cause"]["type"] == "version_conflict_engine_exception"
    status, body = await api_node.request("POST", "/_reindex", {
        "source": {"index": "src"}, "dest": {"index": "dst", "op_type": "create"}, "conflicts": "proceed"})
    assert status == 200 and body["version_conflicts"] >= 1 and body["failures"] == []
    documents = await _dest_sources(api_node)
    assert documents["1"] == {"n": 100} and len(documents) == 5


async def test_a_reindex_script_changes_skips_and_renames(api_node):
    await _source_index(api_node)
    status, body = await api_node.request("POST", "/_reindex", {
        "source": {"index": "src"}, "dest": {"index": "dst"},
        "script": {"source": "if (ctx._source.kind == 'odd') { ctx.op = 'noop' } "
                             "else { ctx._source.n *= params.factor; ctx._id = 'copy-' + ctx._id; "
                             "ctx._source.remove('extra') }", "params": {"factor": 10}}})
    assert status == 200 and body["noops"] == 2 and body["created"] == 3
    documents = await _dest_sources(api_node)
    assert documents == {"copy-0": {"n": 0, "kind": "even"}, "copy-2": {"n": 20, "kind": "even"},
                         "copy-4": {"n": 40, "kind": "even"}}


async def test_reindex_runs_the_destination_pipeline(api_node):
    await _source_index(api_node, count=2)
    await api_node.request("PUT", "/_ingest/pipeline/tag", {"processors": [{"set": {"field": "tagged", "value": True}}]})
    status, body = await api_node.request("POST", "/_reindex", {
        "source": {"index": "src"}, "dest": {"index": "dst", "pipeline": "tag"}})
    assert status == 200 and body["created"] == 2
    documents = await _dest_sources(api_node)
    assert all(document["tagged"] is True for document in documents.values())


async def test_reindex_refusals(api_node):
    await _source_index(api_node, count=1)
    status, body = await api_node.request("POST", "/_reindex", {"source": {"index": "src"}, "dest": {"index": "src"}})
    assert status == 400 and "reindex cannot write into an index its reading from [src]" in body["error"]["reason"]
    status, body = await api_node.request("POST", "/_reindex", {"source": {"index": "src"}})
    assert status == 400 and body["error"]["type"] == "action_request_validation_exception"
    status, body = await api_node.request("POST", "/_reindex", {
        "source": {"index": "src", "remote": {"host": "http://other:9200"}}, "dest": {"index": "dst"}})
    assert status == 400 and "remote" in body["error"]["reason"]
    status, body = await api_node.request("POST", "/_reindex?wait_for_completion=false", {
        "source": {"index": "src"}, "dest": {"index": "dst"}})
    assert status == 200 and set(body) == {"task"}     # runs as a task since compat6 (test_compat6_tasks_api.py)
    await api_node.request("GET", f"/_tasks/{body['task']}?wait_for_completion=true")
    status, body = await api_node.request("POST", "/_reindex", {"source": {"index": "missing"},
                                                                "dest": {"index": "dst"}})
    assert status == 404 and body["error"]["type"] == "index_not_found_exception"
    status, body = await api_node.request("POST", "/_reindex", {"source": {"index": "src"}, "dest": {"index": "dst"},
                                                                "script": {"source": "ctx._source.n +"}})
    assert status == 400 and body["error"]["type"] == "script_exception"


async def test_update_by_query_with_a_script_updates_matching_documents(api_node):
    await _source_index(api_node)
    status, body = await api_node.request("POST", "/src/_update_by_query?refresh=true", {
        "query": {"term": {"kind": "odd"}}, "script": {"source": "ctx._source.n += params.d", "params": {"d": 100}}})
    assert status == 200 and body["updated"] == 2 and body["total"] == 2 and body["failures"] == []
    documents = await _dest_sources(api_node, "src")
    assert documents["1"]["n"] == 101 and documents["3"]["n"] == 103 and documents["2"]["n"] == 2


async def test_update_by_query_script_noop_and_delete(api_node):
    await _source_index(api_node)
    status, body = await api_node.request("POST", "/src/_update_by_query?refresh=true", {
        "script": "if (ctx._source.n == 0) { ctx.op = 'delete' } else if (ctx._source.n > 2) { ctx.op = 'noop' } "
                  "else { ctx._source.touched = true }"})
    assert status == 200 and body["deleted"] == 1 and body["noops"] == 2 and body["updated"] == 2
    documents = await _dest_sources(api_node, "src")
    assert set(documents) == {"1", "2", "3", "4"} and documents["1"]["touched"] is True


async def test_update_by_query_the_yaml_suites_ctx_source_increment(api_node):
    # shared/compat update_by_query/10_basic.yml
    await api_node.request("PUT", "/update_by_query", {})
    await api_node.request("POST", "/update_by_query/_doc?refresh=true", {"name": "user", "age": 29})
    status, body = await api_node.request("POST", "/update_by_query/_update_by_query", {
        "query": {"term": {"name": "user"}}, "script": {"source": "ctx._source.age++", "lang": "painless"}})
    assert status == 200 and body["updated"] == 1


async def test_reindex_validation_speaks_opensearchs_words(api_node):
    # OpenSearch's modules/reindex 20_validation.yml
    cases = [
        ({"junk": {"more_junk": None}}, {}, "unknown field [junk]"),
        ({"source": {"junk": {}}}, {}, "Unknown key for a START_OBJECT in [junk]."),
        ({"dest": {"junk": {}}}, {}, "unknown field [junk]"),
        ({"dest": {}}, {}, "index must be specified"),
        ({"source": {"size": "cat"}, "dest": {"index": "dest"}}, {}, 'For input string: "cat"'),
        ({"source": {"from": 1}, "dest": {"index": "dest"}}, {}, "from is not supported in this context"),
        ({"dest": {"version": 10}}, {}, "[dest] unknown field [version]"),
        ({"conflicts": "cat"}, {}, 'conflicts may only be "proceed" or "abort" but was [cat]'),
        ({"source": {"index": "src"}, "dest": {"index": "dest"}, "size": -4}, {},
         "[max_docs] parameter cannot be negative, found [-4]"),
        ({"source": {"index": "src"}, "dest": {"index": "dest"}}, {"max_docs": "-4"},
         "[max_docs] parameter cannot be negative, found [-4]"),
        ({"source": {"index": "src"}, "dest": {"index": "dest"}}, {"max_docs": "1", "slices": "2"},
         "[max_docs] should be >= [slices]"),
        ({"source": {"index": "src"}, "dest": {"index": "dest"}, "size": 4, "max_docs": 5}, {},
         "[max_docs] set to two different values [4] and [5]"),
        ({"source": {"index": "src"}, "dest": {"index": "dest"}}, {"requests_per_second": "0"},
         "[requests_per_second] must be a float greater than 0. Use -1 to disable throttling."),
        ({"source": {"index": "src", "stored_fields": ["_id"]}, "dest": {"index": "dest"}}, {},
         "stored_fields is not supported in this context"),
        ({"source": {"index": "src", "remote": {"host": "http://badremote:9200"}}, "dest": {"index": "dest"}}, {},
         "[badremote:9200] not allowlisted in reindex.remote.allowlist"),
        ({"source": {"index": "src", "remote": {"host": "badremote", "weird": "stuff"}}, "dest": {"index": "dest"}},
         {}, "[host] must be of the form [scheme]://[host]:[port](/[pathPrefix])? but was [badremote]"),
        ({"source": {"index": "src", "remote": {"host": "http://okremote:9200", "weird": "stuff", "badkey": "is bad"}},
          "dest": {"index": "dest"}}, {}, "Unsupported fields in [remote]. [weird,badkey]"),
        ({"source": {"index": "src"}, "dest": {"index": "dest"}}, {"slices": "junk"},
         '[slices] must be a positive integer or the string "auto"'),
        ({"source": {"index": "src", "_source": False}, "dest": {"index": "dest"}}, {},
         "_source:false is not supported in this context"),
    ]
    await _source_index(api_node, count=1)
    for body, parameters, reason in cases:
        path = "/_reindex" + ("?" + "&".join(f"{key}={value}" for key, value in parameters.items())
                              if parameters else "")
        status, answer = await api_node.request("POST", path, body)
        assert status == 400 and reason in answer["error"]["reason"], (body, parameters, answer)


async def test_reindex_scripts_change_routing_ids_indices_and_delete(api_node):
    # OpenSearch's modules/reindex 85_scripting.yml
    await _source_index(api_node, count=3)
    status, body = await api_node.request("POST", "/_reindex?refresh=true", {
        "source": {"index": "src"}, "dest": {"index": "dst"},
        "script": {"source": "ctx._routing = ctx._source.kind; if (ctx._id == '0') { ctx._index = 'other' } "
                             "if (ctx._id == '2') { ctx._id = null }"}})
    assert status == 200 and body["created"] == 3
    status, document = await api_node.request("GET", "/dst/_doc/1?routing=odd")
    assert status == 200 and document["_routing"] == "odd"
    status, _ = await api_node.request("GET", "/other/_doc/0?routing=even")
    assert status == 200
    documents = await _dest_sources(api_node)
    assert set(documents) - {"1"} and "2" not in documents    # the null id became a generated one
    status, body = await api_node.request("POST", "/_reindex?refresh=true", {
        "source": {"index": "src"}, "dest": {"index": "dst"},
        "script": {"source": "ctx._id = 'x' + ctx._id; if (ctx._source.n == 1) { ctx.op = 'delete' }"}})
    assert status == 200 and body["deleted"] == 1 and body["created"] == 2 and body["failures"] == []
    documents = await _dest_sources(api_node)
    assert {"x0", "x2"} <= set(documents) and "x1" not in documents


async def test_a_reindex_whose_script_noops_everything_creates_no_index(api_node):
    await _source_index(api_node, count=2)
    status, body = await api_node.request("POST", "/_reindex", {
        "source": {"index": "src"}, "dest": {"index": "never"}, "script": "ctx.op = 'noop'"})
    assert status == 200 and body["noops"] == 2 and body["updated"] == 0
    status, _ = await api_node.request("HEAD", "/never")
    assert status == 404


async def test_external_versions_are_copied_and_a_null_version_forces_the_write(api_node):
    await api_node.request("PUT", "/src/_doc/1?version=1&version_type=external&refresh=true", {"user": "foobar"})
    await api_node.request("PUT", "/dst/_doc/1?version=1&version_type=external", {"user": "foobar"})
    status, body = await api_node.request("POST", "/_reindex?refresh=true", {
        "source": {"index": "src"}, "dest": {"index": "dst", "version_type": "external"}, "conflicts": "proceed"})
    assert status == 200 and body["version_conflicts"] == 1
    status, body = await api_node.request("POST", "/_reindex?refresh=true", {
        "source": {"index": "src"}, "dest": {"index": "dst", "version_type": "external"},
        "script": "ctx._source.user = 'other' + ctx._source.user; ctx._version = null"})
    assert status == 200 and body["updated"] == 1
    _, document = await api_node.request("GET", "/dst/_doc/1")
    assert document["_source"] == {"user": "otherfoobar"}


async def test_a_source_without_stored_source_is_refused(api_node):
    await api_node.request("PUT", "/nosrc", {"mappings": {"_source": {"enabled": False}}})
    await api_node.request("PUT", "/nosrc/_doc/1?refresh=true", {"age": 23})
    status, body = await api_node.request("POST", "/_reindex", {"source": {"index": "nosrc"},
                                                                "dest": {"index": "dst"}})
    assert status == 400 and "[nosrc][1] didn't store _source" in body["error"]["reason"]


async def test_update_by_query_scripts_may_not_add_context_fields_change_metadata_or_invent_ops(api_node):
    # OpenSearch's modules/reindex update_by_query/80_scripting.yml
    await _source_index(api_node, count=2)
    for source, reason in (("ctx.junk = 'stuff'", "Invalid fields added to context [junk]"),
                           ("ctx._id = 'stuff'", "Modifying [_id] not allowed"),
                           ("if (ctx._source.n == 0) { ctx.op = 'index' } else { ctx.op = 'junk' }",
                            "Operation type [junk] not allowed, only [noop, index, delete] are allowed"),
                           ("syntax errors are fun!", "compile error")):
        status, body = await api_node.request("POST", "/src/_update_by_query", {"script": {"source": source}})
        assert status == 400 and body["error"]["reason"] == reason, (source, body)


async def test_update_by_query_counts_updates_deletes_and_noops_in_one_batch(api_node):
    await _source_index(api_node, count=4)
    status, body = await api_node.request("POST", "/src/_update_by_query?refresh=true", {"script": {"source": """
        int choice = ctx._source.n % 3;
        if (choice == 0) { ctx._source.kind = 'changed'; } else if (choice == 1) { ctx.op = "noop"; }
        else { ctx.op = "delete"; }"""}})
    assert status == 200 and (body["updated"], body["deleted"], body["noops"], body["batches"]) == (2, 1, 1, 1)


async def test_a_source_sort_with_max_docs_picks_which_documents_are_copied(api_node):
    await _source_index(api_node)
    status, body = await api_node.request("POST", "/_reindex", {
        "source": {"index": "src", "sort": [{"n": "desc"}]}, "dest": {"index": "dst"}, "max_docs": 2})
    assert status == 200 and body["created"] == 2
    assert set(await _dest_sources(api_node)) == {"3", "4"}
