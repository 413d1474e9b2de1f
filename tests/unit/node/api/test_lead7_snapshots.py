"""Snapshots through the in-process node: an fs repository inside ``path.repo`` (the data
directory's ``snapshots`` by default), a snapshot of some indices with every document and each
index's settings, mappings and aliases, GET / _status / _cat views, restore under a new name and
over a deleted index with ids, routing, versions and sources intact, and OpenSearch's errors."""

from __future__ import annotations

import orjson

MAPPINGS = {"properties": {"title": {"type": "text"}, "tag": {"type": "keyword"}}}


async def _index(api_node, name, count, shards=2):
    status, _ = await api_node.request("PUT", f"/{name}", {
        "settings": {"number_of_shards": shards, "number_of_replicas": 0}, "mappings": MAPPINGS,
        "aliases": {f"{name}-alias": {"filter": {"term": {"tag": "kept"}}}}})
    assert status == 200
    lines = []
    for number in range(count):
        action = {"_index": name, "_id": str(number)}
        if number % 7 == 0:
            action["routing"] = f"r{number}"
        lines += [{"index": action}, {"title": f"{name} {number}", "tag": "kept" if number % 2 else "other"}]
    status, answer = await api_node.request("POST", "/_bulk", raw=b"".join(orjson.dumps(line) + b"\n" for line in lines),
                                            content_type="application/x-ndjson")
    assert status == 200 and not answer["errors"]
    await api_node.request("PUT", f"/{name}/_doc/1", {"title": "changed", "tag": "kept"})    # version 2


async def _documents(api_node, name):
    await api_node.request("POST", f"/{name}/_refresh")
    status, body = await api_node.request("POST", f"/{name}/_search", {"size": 500, "version": True})
    assert status == 200, body
    return {hit["_id"]: (hit["_source"], hit.get("_routing"), hit["_version"]) for hit in body["hits"]["hits"]}


async def test_snapshot_then_restore_renamed_and_over_a_deleted_index(api_node):
    await _index(api_node, "books", 120)
    await _index(api_node, "films", 30, shards=1)
    await _index(api_node, "other", 5, shards=1)
    status, answer = await api_node.request("PUT", "/_snapshot/backups", {"type": "fs", "settings": {"location": "b1"}})
    assert status == 200 and answer == {"acknowledged": True}
    status, repositories = await api_node.request("GET", "/_snapshot")
    assert repositories == {"backups": {"type": "fs", "settings": {"location": "b1"}}}

    status, taken = await api_node.request("PUT", "/_snapshot/backups/snap-1?wait_for_completion=true",
                                           {"indices": "books,films", "metadata": {"taken_by": "test"}})
    assert status == 200, taken
    info = taken["snapshot"]
    assert info["state"] == "SUCCESS" and info["indices"] == ["books", "films"]
    assert info["shards"] == {"total": 3, "failed": 0, "successful": 3} and info["metadata"] == {"taken_by": "test"}
    status, listed = await api_node.request("GET", "/_snapshot/backups/_all")
    assert [snapshot["snapshot"] for snapshot in listed["snapshots"]] == ["snap-1"]
    status, described = await api_node.request("GET", "/_snapshot/backups/snap-1/_status")
    assert described["snapshots"][0]["shards_stats"]["done"] == 3
    status, cat = await api_node.request("GET", "/_cat/snapshots/backups?h=id,status,total_shards")
    assert cat.split() == ["snap-1", "SUCCESS", "3"]

    before = await _documents(api_node, "books")
    status, restored = await api_node.request("POST", "/_snapshot/backups/snap-1/_restore?wait_for_completion=true", {
        "indices": "books", "rename_pattern": "(.+)", "rename_replacement": "restored-$1",
        "include_aliases": False, "index_settings": {"index.number_of_replicas": 0}})
    assert status == 200, restored
    assert restored["snapshot"]["indices"] == ["restored-books"]
    assert await _documents(api_node, "restored-books") == before
    assert before["1"] == ({"title": "changed", "tag": "kept"}, None, 2) and before["14"][1] == "r14"
    status, mapping = await api_node.request("GET", "/restored-books/_mapping")
    assert mapping["restored-books"]["mappings"] == MAPPINGS

    films = await _documents(api_node, "films")
    await api_node.request("DELETE", "/films")
    await api_node.request("PUT", "/films/_doc/late", {"title": "not in the snapshot"})   # auto-created, open
    status, refused = await api_node.request("POST", "/_snapshot/backups/snap-1/_restore?wait_for_completion=true",
                                             {"indices": "films"})
    assert status == 500 and refused["error"]["type"] == "snapshot_restore_exception"
    assert "an open index with same name already exists" in refused["error"]["reason"]
    await api_node.request("DELETE", "/films")
    status, _ = await api_node.request("POST", "/_snapshot/backups/snap-1/_restore?wait_for_completion=true",
                                       {"indices": "films"})
    assert status == 200 and await _documents(api_node, "films") == films
    status, aliased = await api_node.request("POST", "/films-alias/_count", {})
    assert aliased["count"] == 15                             # the alias and its filter came back

    status, _ = await api_node.request("DELETE", "/_snapshot/backups/snap-1")
    assert status == 200
    status, missing = await api_node.request("GET", "/_snapshot/backups/snap-1")
    assert status == 404 and missing["error"]["type"] == "snapshot_missing_exception"


async def test_repository_and_snapshot_errors_are_opensearch_s(api_node, tmp_path):
    status, error = await api_node.request("PUT", "/_snapshot/r", {"type": "s3", "settings": {"bucket": "b"}})
    assert status == 500 and error["error"]["type"] == "repository_exception"
    assert error["error"]["reason"] == "[r] repository type [s3] does not exist"
    status, error = await api_node.request("PUT", "/_snapshot/r", {"type": "fs", "settings": {"location": "/etc/x"}})
    assert status == 500 and error["error"]["reason"] == \
        "[r] location [/etc/x] doesn't match any of the locations specified by path.repo"
    status, error = await api_node.request("PUT", "/_snapshot/r", {"type": "fs", "settings": {}})
    assert status == 500 and error["error"]["reason"] == "[r] missing location"
    status, error = await api_node.request("GET", "/_snapshot/nope")
    assert status == 404 and error["error"]["type"] == "repository_missing_exception"
    absolute = tmp_path / "snapshots" / "abs"
    status, _ = await api_node.request("PUT", "/_snapshot/r", {"type": "fs", "settings": {"location": str(absolute)}})
    assert status == 200 and absolute.is_dir()
    for name, why in (("Upper", "must be lowercase"), ("_x", "must not start with '_'"),
                      ("a b", "must not contain whitespace")):
        status, error = await api_node.request("PUT", f"/_snapshot/r/{name}", {})
        assert status == 400 and error["error"]["type"] == "invalid_snapshot_name_exception"
        assert error["error"]["reason"].endswith(why)
    status, answer = await api_node.request("PUT", "/_snapshot/r/empty", {})
    assert status == 200 and answer == {"accepted": True}
    status, error = await api_node.request("PUT", "/_snapshot/r/empty?wait_for_completion=true", {})
    assert status == 400 and "snapshot with the same name already exists" in error["error"]["reason"]
    status, cat = await api_node.request("GET", "/_cat/repositories")
    assert cat.split() == ["r", "fs"]
    status, _ = await api_node.request("DELETE", "/_snapshot/r")
    assert status == 200
    status, _ = await api_node.request("GET", "/_snapshot/r")
    assert status == 404


async def test_cat_snapshots_help_the_deprecated_form_and_remote_info(api_node):
    status, help_text = await api_node.request("GET", "/_cat/snapshots?help")
    assert status == 200 and [line.split()[0] for line in help_text.splitlines()][:3] == ["id", "status", "start_epoch"]
    status, _ = await api_node.request("PUT", "/_snapshot/old", {"type": "fs", "settings": {"location": "old"}})
    assert status == 200
    status, body = await api_node.request("GET", "/_cat/snapshots?q=repository:old")
    assert status == 200 and not body                         # no snapshot yet: an empty table
    status, body = await api_node.request("GET", "/_remote/info")
    assert status == 200 and body == {}


async def test_get_snapshot_verbose_false_answers_the_short_form(api_node):
    await api_node.request("PUT", "/_snapshot/r", {"type": "fs", "settings": {"location": "r"}})
    await api_node.request("PUT", "/_snapshot/r/s?wait_for_completion=true", {})
    status, body = await api_node.request("GET", "/_snapshot/r/s?verbose=false")
    assert status == 200 and set(body["snapshots"][0]) == {"snapshot", "uuid", "indices", "data_streams", "state"}
