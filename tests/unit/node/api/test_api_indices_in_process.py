"""Index APIs in process: create/get/delete, settings forms, mappings, aliases, close/open, stats."""

from __future__ import annotations


async def test_create_index_accepts_nested_prefixed_and_flat_settings(api_node):
    for name, settings in (("a", {"index": {"number_of_shards": 2}}), ("b", {"number_of_shards": 2}),
                           ("c", {"index.number_of_shards": 2})):
        status, body = await api_node.request("PUT", f"/{name}", {"settings": settings})
        assert status == 200 and body == {"acknowledged": True, "shards_acknowledged": True, "index": name}
        assert api_node.state.indices[name].number_of_shards == 2


async def test_create_index_with_mappings_and_aliases(api_node):
    status, _ = await api_node.request("PUT", "/m", {"mappings": {"properties": {"title": {"type": "text"}}},
                                                     "aliases": {"m-alias": {}}})
    assert status == 200
    status, body = await api_node.request("GET", "/m")
    assert body["m"]["mappings"]["properties"]["title"]["type"] == "text"
    assert body["m"]["aliases"] == {"m-alias": {}}
    assert body["m"]["settings"]["index"]["number_of_shards"] == "1"


async def test_invalid_and_duplicate_index_names_are_400s_as_opensearch(api_node):
    status, body = await api_node.request("PUT", "/UPPER")
    assert status == 400 and body["error"]["type"] == "invalid_index_name_exception"
    status, body = await api_node.request("PUT", "/_under")
    assert status == 400 and body["error"]["type"] == "invalid_index_name_exception"
    await api_node.request("PUT", "/dup")
    status, body = await api_node.request("PUT", "/dup")
    assert status == 400 and body["error"]["type"] == "resource_already_exists_exception"


async def test_head_and_get_of_a_missing_index(api_node):
    status, _ = await api_node.request("HEAD", "/missing")
    assert status == 404
    status, body = await api_node.request("GET", "/missing")
    assert status == 404
    assert body["error"]["type"] == "index_not_found_exception"
    assert body["error"]["resource.type"] == "index_or_alias" and body["error"]["index_uuid"] == "_na_"


async def test_delete_by_wildcard_and_missing_delete(api_node):
    for name in ("logs-1", "logs-2", "other"):
        await api_node.request("PUT", f"/{name}")
    status, _ = await api_node.request("DELETE", "/logs-*")
    assert status == 200
    assert sorted(api_node.state.indices) == ["other"]
    status, body = await api_node.request("DELETE", "/missing")
    assert status == 404


async def test_index_patterns_with_exclusions_and_ignore_unavailable(api_node):
    for name in ("logs-a", "logs-b", "metrics"):
        await api_node.request("PUT", f"/{name}")
    _, body = await api_node.request("GET", "/logs-*,-logs-b/_settings")
    assert sorted(body) == ["logs-a"]
    status, _ = await api_node.request("GET", "/logs-a,nope/_mapping")
    assert status == 404
    status, body = await api_node.request("GET", "/logs-a,nope/_mapping?ignore_unavailable=true")
    assert status == 200 and sorted(body) == ["logs-a"]
    status, body = await api_node.request("GET", "/nothing-*/_mapping")
    assert status == 200 and body == {}
    status, _ = await api_node.request("GET", "/nothing-*/_mapping?allow_no_indices=false")
    assert status == 404


async def test_dynamic_settings_update_and_static_ones_are_refused(api_node):
    await api_node.request("PUT", "/s")
    status, body = await api_node.request("PUT", "/s/_settings", {"index": {"refresh_interval": "5s"}})
    assert status == 200 and body == {"acknowledged": True}
    _, body = await api_node.request("GET", "/s/_settings?flat_settings=true")
    assert body["s"]["settings"]["index.refresh_interval"] == "5s"
    status, body = await api_node.request("PUT", "/s/_settings", {"index": {"number_of_shards": 3}})
    assert status == 400 and body["error"]["type"] == "illegal_argument_exception"
    status, body = await api_node.request("PUT", "/s/_settings", {"index": {"refresh_interval": "soon"}})
    assert status == 400


async def test_put_mapping_adds_fields_and_refuses_type_changes(api_node):
    await api_node.request("PUT", "/pm", {"mappings": {"properties": {"a": {"type": "keyword"}}}})
    status, _ = await api_node.request("PUT", "/pm/_mapping", {"properties": {"b": {"type": "long"}}})
    assert status == 200
    _, body = await api_node.request("GET", "/pm/_mapping")
    assert set(body["pm"]["mappings"]["properties"]) == {"a", "b"}
    status, body = await api_node.request("PUT", "/pm/_mapping", {"properties": {"a": {"type": "long"}}})
    assert status == 400 and body["error"]["type"] == "illegal_argument_exception"


async def test_alias_actions_and_alias_apis(api_node):
    await api_node.request("PUT", "/one")
    await api_node.request("PUT", "/two")
    status, _ = await api_node.request("POST", "/_aliases", {"actions": [
        {"add": {"indices": ["one", "two"], "alias": "both"}},
        {"add": {"index": "one", "alias": "first", "is_write_index": True}}]})
    assert status == 200
    _, body = await api_node.request("GET", "/_alias/both")
    assert sorted(body) == ["one", "two"]
    status, _ = await api_node.request("HEAD", "/_alias/first")
    assert status == 200
    status, _ = await api_node.request("PUT", "/two/_alias/second")
    assert status == 200
    status, _ = await api_node.request("DELETE", "/two/_alias/second")
    assert status == 200
    status, body = await api_node.request("DELETE", "/two/_alias/second")
    assert status == 404 and body["error"]["type"] == "aliases_not_found_exception"
    status, body = await api_node.request("GET", "/_alias/nope")
    assert status == 404
    status, _ = await api_node.request("POST", "/_aliases", {"actions": [{"remove": {"index": "*", "alias": "bo*"}}]})
    assert status == 200
    assert not api_node.state.resolve_alias("both")


async def test_deleting_an_alias_name_as_an_index_is_refused(api_node):
    await api_node.request("PUT", "/real", {"aliases": {"nick": {}}})
    status, body = await api_node.request("DELETE", "/nick")
    assert status == 400 and "matches an alias" in body["error"]["reason"]


async def test_close_and_open_an_index(api_node):
    await api_node.request("PUT", "/co/_doc/1", {"a": 1})
    status, body = await api_node.request("POST", "/co/_close")
    assert status == 200 and body["indices"] == {"co": {"closed": True}}
    status, body = await api_node.request("GET", "/co/_doc/1")
    assert status == 400 and body["error"]["type"] == "index_closed_exception"
    status, _ = await api_node.request("POST", "/co/_open")
    assert status == 200
    await api_node.settle()
    status, body = await api_node.request("GET", "/co/_doc/1")
    assert status == 200 and body["_source"] == {"a": 1}


async def test_refresh_flush_forcemerge_and_stats(api_node):
    await api_node.request("PUT", "/st", {"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    for n in range(6):
        await api_node.request("PUT", f"/st/_doc/{n}", {"n": n})
    status, body = await api_node.request("POST", "/st/_refresh")
    assert status == 200 and body["_shards"] == {"total": 2, "successful": 2, "failed": 0}
    status, _ = await api_node.request("POST", "/st/_flush")
    assert status == 200
    status, _ = await api_node.request("POST", "/st/_forcemerge?max_num_segments=1")
    assert status == 200
    _, stats = await api_node.request("GET", "/st/_stats")
    primaries = stats["indices"]["st"]["primaries"]
    assert primaries["docs"]["count"] == 6
    assert primaries["indexing"]["index_total"] == 6
    assert stats["_all"]["primaries"]["docs"]["count"] == 6
    assert {"docs", "store", "indexing", "search", "refresh", "flush", "merges"} <= set(primaries)
    _, only_docs = await api_node.request("GET", "/st/_stats/docs")
    assert set(only_docs["indices"]["st"]["primaries"]) == {"docs"}


async def test_analyze_global_and_by_index_field(api_node):
    status, body = await api_node.request("POST", "/_analyze", {"analyzer": "standard", "text": "Hello World"})
    assert [token["token"] for token in body["tokens"]] == ["hello", "world"]
    await api_node.request("PUT", "/an", {"mappings": {"properties": {"title": {"type": "text", "analyzer": "english"},
                                                                      "tag": {"type": "keyword"}}}})
    _, body = await api_node.request("POST", "/an/_analyze", {"field": "title", "text": "running dogs"})
    assert [token["token"] for token in body["tokens"]] == ["run", "dog"]
    _, body = await api_node.request("POST", "/an/_analyze", {"field": "tag", "text": "Running Dogs"})
    assert [token["token"] for token in body["tokens"]] == ["Running Dogs"]
    _, body = await api_node.request("POST", "/_analyze", {"tokenizer": "whitespace", "filter": ["lowercase"],
                                                           "text": ["A B", "C"]})
    assert [token["token"] for token in body["tokens"]] == ["a", "b", "c"]


async def test_deleting_an_index_closes_its_shards_and_removes_their_files(api_node):
    await api_node.request("PUT", "/gone/_doc/1", {"a": 1})
    index_uuid = api_node.state.indices["gone"].uuid
    shard_directory = api_node.registry.shard_path(index_uuid, 0)
    assert shard_directory.exists() and (index_uuid, 0) in api_node.registry.shards
    await api_node.request("DELETE", "/gone")
    await api_node.settle()
    assert (index_uuid, 0) not in api_node.registry.shards
    assert not shard_directory.exists()


async def test_a_mapping_change_reaches_the_open_shard(api_node):
    await api_node.request("PUT", "/mapped/_doc/1", {"a": 1})
    await api_node.request("PUT", "/mapped/_mapping", {"properties": {"title": {"type": "keyword"}}})
    await api_node.settle()
    index_uuid = api_node.state.indices["mapped"].uuid
    shard = api_node.registry.get(index_uuid, 0)
    assert shard.mapping.field("title").type == "keyword"


async def test_field_mappings_by_name_and_wildcard(api_node):
    await api_node.request("PUT", "/fm", {"mappings": {"properties": {
        "title": {"type": "text", "fields": {"raw": {"type": "keyword"}}}, "user": {"properties": {
            "age": {"type": "integer"}}}}}})
    status, body = await api_node.request("GET", "/fm/_mapping/field/title.raw,user.*")
    assert status == 200
    found = body["fm"]["mappings"]
    assert found["title.raw"] == {"full_name": "title.raw", "mapping": {"raw": {"type": "keyword"}}}
    assert found["user.age"]["mapping"] == {"age": {"type": "integer"}}
    status, body = await api_node.request("GET", "/_cluster/pending_tasks")
    assert status == 200 and body == {"tasks": []}


async def test_an_index_created_beyond_its_field_limits_is_refused(api_node):
    fields = {f"f{number}": {"type": "keyword"} for number in range(4)}
    status, body = await api_node.request("PUT", "/too-wide", {
        "settings": {"index.mapping.total_fields.limit": 3}, "mappings": {"properties": fields}})
    assert status == 400 and body["error"]["reason"] == "Limit of total fields [3] has been exceeded"
    status, body = await api_node.request("PUT", "/too-deep", {
        "settings": {"index.mapping.depth.limit": 2},
        "mappings": {"properties": {"a": {"properties": {"b": {"properties": {"c": {"type": "long"}}}}}}}})
    assert status == 400 and "Limit of mapping depth [2]" in body["error"]["reason"]


async def test_put_mapping_respects_the_indexs_own_total_fields_limit(api_node):
    status, _ = await api_node.request("PUT", "/narrow", {"settings": {"index.mapping.total_fields.limit": 2},
                                                          "mappings": {"properties": {"a": {"type": "long"}}}})
    assert status == 200
    status, _ = await api_node.request("PUT", "/narrow/_mapping", {"properties": {"b": {"type": "long"}}})
    assert status == 200
    status, body = await api_node.request("PUT", "/narrow/_mapping", {"properties": {"c": {"type": "long"}}})
    assert status == 400 and body["error"]["reason"] == "Limit of total fields [2] has been exceeded"


async def test_analyze_honours_the_index_token_limit_and_explains_each_stage(api_node):
    await api_node.request("PUT", "/an", {"settings": {"index.analyze.max_token_count": 3}})
    status, body = await api_node.request("POST", "/an/_analyze", {"analyzer": "standard", "text": "a b c d"})
    assert status == 400 and "[3]" in body["error"]["reason"]
    status, body = await api_node.request("POST", "/an/_analyze", {"analyzer": "standard", "text": "a b c"})
    assert status == 200 and len(body["tokens"]) == 3
    status, body = await api_node.request("POST", "/_analyze", {
        "tokenizer": "standard", "filter": ["lowercase"], "text": "Hello World", "explain": True})
    assert status == 200 and body["detail"]["custom_analyzer"] is True
    assert [token["token"] for token in body["detail"]["tokenizer"]["tokens"]] == ["Hello", "World"]
    assert [token["token"] for token in body["detail"]["tokenfilters"][0]["tokens"]] == ["hello", "world"]
    status, body = await api_node.request("POST", "/_analyze", {"analyzer": "standard", "text": "Hi", "explain": True})
    assert body["detail"]["custom_analyzer"] is False and body["detail"]["analyzer"]["tokens"][0]["token"] == "hi"


async def test_a_document_whose_dynamic_fields_exceed_the_limit_is_refused_and_the_mapping_unchanged(api_node):
    await api_node.request("PUT", "/dyn", {"settings": {"index.mapping.total_fields.limit": 2}})
    status, _ = await api_node.request("PUT", "/dyn/_doc/1", {"a": 1, "b": 2})
    assert status == 201
    status, body = await api_node.request("PUT", "/dyn/_doc/2", {"c": 3})
    assert status == 400 and body["error"]["reason"] == "Limit of total fields [2] has been exceeded"
    _, mapping = await api_node.request("GET", "/dyn/_mapping")
    assert sorted(mapping["dyn"]["mappings"]["properties"]) == ["a", "b"]


async def test_mappings_nested_under_the_doc_type_are_refused_as_opensearch_refuses_them(api_node):
    typed = {"_doc": {"properties": {"field": {"type": "keyword"}}}}
    status, body = await api_node.request("PUT", "/typed", {"mappings": typed})
    assert status == 400 and body["error"]["type"] == "illegal_argument_exception"
    assert body["error"]["reason"] == ("The mapping definition cannot be nested under a type [_doc] unless "
                                       "include_type_name is set to true.")
    assert "typed" not in api_node.state.indices
    await api_node.request("PUT", "/untyped")
    status, body = await api_node.request("PUT", "/untyped/_mapping", typed)
    assert status == 400 and body["error"]["reason"] == "Types cannot be provided in put mapping requests"


async def test_an_empty_field_name_is_a_mapper_parsing_exception_caused_by_an_illegal_argument(api_node):
    status, body = await api_node.request("PUT", "/empty-name", {"mappings": {"properties": {"": {"type": "keyword"}}}})
    assert status == 400 and body["error"]["type"] == "mapper_parsing_exception"
    assert body["error"]["caused_by"]["type"] == "illegal_argument_exception"
    assert "empty-name" not in api_node.state.indices


async def test_an_alias_action_with_an_empty_aliases_list_is_refused_by_name(api_node):
    await api_node.request("PUT", "/aliased")
    status, body = await api_node.request("POST", "/_aliases", {"actions": [
        {"remove": {"index": "aliased", "aliases": [], "must_exist": True}}]})
    assert status == 400 and body["error"]["reason"] == "[aliases] can't be empty"


async def test_named_settings_of_every_index_without_an_index_in_the_path(api_node):
    await api_node.request("PUT", "/s1", {"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    await api_node.request("PUT", "/s2", {"settings": {"number_of_shards": 3, "number_of_replicas": 0}})
    status, body = await api_node.request("GET", "/_settings/index.number_of_shards")
    assert status == 200
    assert body["s1"]["settings"] == {"index": {"number_of_shards": "2"}}
    assert body["s2"]["settings"] == {"index": {"number_of_shards": "3"}}


async def test_an_invalid_search_idle_time_is_refused_at_create_and_at_update(api_node):
    status, body = await api_node.request("PUT", "/idle", {"settings": {"index.search.idle.after": "soon"}})
    assert status == 400 and "index.search.idle.after" in body["error"]["reason"]
    assert "idle" not in api_node.state.indices
    await api_node.request("PUT", "/idle", {"settings": {"index.search.idle.after": "10s"}})
    status, body = await api_node.request("PUT", "/idle/_settings", {"index": {"search.idle.after": "-5"}})
    assert status == 400 and "index.search.idle.after" in body["error"]["reason"]
