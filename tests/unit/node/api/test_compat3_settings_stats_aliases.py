"""OpenSearch rest-api-spec behaviours of cluster settings, index stats metrics, _mget bodies and
aliases (session 3): flat and string-valued settings echoes, the search backpressure settings,
every _stats metric section and the unknown-metric 400, `ids` with `docs`, alias `is_hidden`, and
PUT alias with the index and alias named in the body."""

from __future__ import annotations


async def test_cluster_settings_echo_flat_keys_with_flat_settings_and_string_values(api_node):
    status, body = await api_node.request(
        "PUT", "/_cluster/settings?flat_settings=true",
        {"transient": {"cluster.routing.allocation.enable": "none"}, "persistent": {"search.max_buckets": 3}})
    assert status == 200
    assert body["transient"] == {"cluster.routing.allocation.enable": "none"}
    assert body["persistent"] == {"search.max_buckets": "3"}
    status, body = await api_node.request("GET", "/_cluster/settings")
    assert body["persistent"] == {"search": {"max_buckets": "3"}}
    assert body["transient"] == {"cluster": {"routing": {"allocation": {"enable": "none"}}}}
    status, body = await api_node.request("PUT", "/_cluster/settings?flat_settings=true",
                                          {"transient": {"cluster.routing.allocation.enable": None}})
    assert status == 200 and body["transient"] == {}


async def test_search_backpressure_settings_are_accepted_and_validated_as_opensearch(api_node):
    status, body = await api_node.request("PUT", "/_cluster/settings",
                                          {"persistent": {"search_backpressure.mode": "monitor_only"}})
    assert status == 200 and body["persistent"] == {"search_backpressure": {"mode": "monitor_only"}}
    status, body = await api_node.request("PUT", "/_cluster/settings",
                                          {"persistent": {"search_backpressure.mode": "monitor-only"}})
    assert status == 400 and body["error"]["reason"] == "Invalid SearchBackpressureMode: monitor-only"
    status, body = await api_node.request(
        "PUT", "/_cluster/settings", {"transient": {"search_backpressure.search_task.cancellation_rate": 0.0}})
    assert status == 400
    assert body["error"]["reason"] == "search_backpressure.search_task.cancellation_rate must be greater than zero"
    status, _ = await api_node.request(
        "PUT", "/_cluster/settings", {"transient": {"search_backpressure.search_task.cancellation_rate": 0.1}})
    status, body = await api_node.request("GET", "/_cluster/settings")
    assert body["transient"]["search_backpressure"]["search_task"]["cancellation_rate"] == "0.1"


async def test_every_stats_metric_returns_its_section_and_an_unknown_metric_is_a_400(api_node):
    await api_node.request("PUT", "/s", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    status, body = await api_node.request("GET", "/s/_stats/request_cache")
    assert status == 200
    assert set(body["_all"]["total"]) == {"request_cache"}
    assert body["_all"]["total"]["request_cache"]["miss_count"] == 0
    status, body = await api_node.request("GET", "/s/_stats/merge,suggest,get")
    assert set(body["indices"]["s"]["primaries"]) == {"merges", "search", "get"}
    status, body = await api_node.request("GET", "/_stats/fieldata")
    assert status == 400 and body["error"]["type"] == "illegal_argument_exception"
    assert body["error"]["reason"] == ("request [/_stats/fieldata] contains unrecognized metric: [fieldata] "
                                       "-> did you mean [fielddata]?")
    status, body = await api_node.request("GET", "/s/_stats")
    assert {"docs", "query_cache", "fielddata", "completion", "warmer", "recovery"} <= set(body["_all"]["total"])


async def test_mget_with_ids_and_docs_takes_both_and_validates_each(api_node):
    await api_node.request("PUT", "/m", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.request("PUT", "/m/_doc/1?refresh=true", {"a": 1})
    await api_node.request("PUT", "/m/_doc/2?refresh=true", {"a": 2})
    status, body = await api_node.request("POST", "/_mget", {"docs": [{"_index": "m", "_id": "1"}], "ids": ["2"]})
    assert status == 400 and body["error"]["type"] == "action_request_validation_exception"
    assert "index is missing for doc 1" in body["error"]["reason"]
    status, body = await api_node.request("POST", "/m/_mget", {"docs": [{"_id": "1"}], "ids": ["2"]})
    assert status == 200 and [doc["_id"] for doc in body["docs"]] == ["1", "2"]
    status, body = await api_node.request("POST", "/m/_mget", {"idz": ["2"]})
    assert status == 400 and body["error"]["type"] == "parsing_exception"


async def test_alias_is_hidden_is_stored_and_shown(api_node):
    await api_node.request("PUT", "/h", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    status, _ = await api_node.request("PUT", "/h/_alias/ha", {"is_hidden": True})
    assert status == 200
    status, body = await api_node.request("GET", "/h/_alias/ha")
    assert body == {"h": {"aliases": {"ha": {"is_hidden": True}}}}
    status, body = await api_node.request("POST", "/_aliases", {"actions": [
        {"add": {"index": "h", "alias": "hb", "is_hidden": False}}]})
    status, body = await api_node.request("GET", "/h/_alias")
    assert body["h"]["aliases"]["hb"] == {"is_hidden": False}
    status, body = await api_node.request("PUT", "/h/_alias/hc", {"is_hidden": "yes"})
    assert status == 400


async def test_put_alias_takes_index_and_alias_from_the_body_and_refuses_unknown_fields(api_node):
    await api_node.request("PUT", "/p", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    status, _ = await api_node.request("PUT", "/_alias/pa", {"index": "p"})
    assert status == 200
    status, _ = await api_node.request("PUT", "/unknown_index/_alias/pb", {"index": "p", "alias": "pc"})
    assert status == 200
    status, body = await api_node.request("GET", "/p/_alias")
    assert set(body["p"]["aliases"]) == {"pa", "pc"}
    status, body = await api_node.request("PUT", "/p/_alias/pd", {"abc": 1})
    assert status == 400 and body["error"]["reason"] == "unknown field [abc]"
    status, body = await api_node.request("PUT", "/_alias")
    assert status == 400 and body["error"]["type"] == "action_request_validation_exception"


async def test_get_alias_names_every_missing_alias_sorted(api_node):
    await api_node.request("PUT", "/g", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                         "aliases": {"ga": {}}})
    status, body = await api_node.request("GET", "/_alias/ga,zz,aa")
    assert status == 404 and body["error"] == "aliases [aa,zz] missing"
    assert body["g"] == {"aliases": {"ga": {}}}
    status, body = await api_node.request("GET", "/_alias/ga,zz")
    assert body["error"] == "alias [zz] missing"


async def test_settings_include_defaults_reports_what_the_index_does_not_set(api_node):
    await api_node.request("PUT", "/d", {"settings": {"number_of_shards": 1, "number_of_replicas": 0,
                                                      "refresh_interval": "5s"}})
    status, body = await api_node.request("GET", "/d/_settings?include_defaults=true&flat_settings=true")
    defaults = body["d"]["defaults"]
    assert defaults["index.max_result_window"] == "10000"
    assert "index.refresh_interval" not in defaults and body["d"]["settings"]["index.refresh_interval"] == "5s"
    status, body = await api_node.request("GET", "/_cluster/settings?include_defaults=true&flat_settings=true")
    assert body["defaults"]["search.max_buckets"] == "65535"


async def test_nodes_info_reads_a_lone_metric_name_as_a_metric_and_filters_sections(api_node):
    status, body = await api_node.request("GET", "/_nodes/http")
    assert status == 200 and len(body["nodes"]) == 1
    (entry,) = body["nodes"].values()
    assert "http" in entry and "transport" not in entry and "name" in entry


async def test_nodes_stats_index_metric_keeps_only_those_sections_and_cluster_stats_has_cache_sections(api_node):
    status, body = await api_node.request("GET", "/_nodes/stats/indices/docs")
    (entry,) = body["nodes"].values()
    assert set(entry["indices"]) == {"docs"}
    status, body = await api_node.request("GET", "/_cluster/stats")
    assert {"fielddata", "query_cache", "completion"} <= set(body["indices"])


async def test_field_mapping_with_include_defaults_fills_the_parameters_left_out(api_node):
    await api_node.request("PUT", "/fm", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                          "mappings": {"properties": {"t": {"type": "text"},
                                                                      "w": {"type": "text", "analyzer": "whitespace"},
                                                                      "k": {"type": "keyword"}}}})
    status, body = await api_node.request("GET", "/fm/_mapping/field/t,w,k?include_defaults=true")
    mappings = body["fm"]["mappings"]
    assert mappings["t"]["mapping"]["t"]["analyzer"] == "default"
    assert mappings["w"]["mapping"]["w"]["search_analyzer"] == "whitespace"
    assert mappings["k"]["mapping"]["k"]["index"] is True and mappings["k"]["mapping"]["k"]["doc_values"] is True
    status, body = await api_node.request("GET", "/fm/_mapping/field/k")
    assert body["fm"]["mappings"]["k"]["mapping"] == {"k": {"type": "keyword"}}


async def test_cluster_settings_defaults_list_this_nodes_name_and_attributes(api_node):
    status, body = await api_node.request("GET", "/_cluster/settings?include_defaults=true&flat_settings=true")
    assert body["defaults"]["cluster.name"] == "test-cluster"
    node = api_node.state.nodes.get(api_node.context.node_id)
    expected = {f"node.attr.{name}": str(value) for name, value in (node.attributes if node else {}).items()}
    assert {key: value for key, value in body["defaults"].items() if key.startswith("node.attr.")} == expected


async def test_an_update_with_if_seq_no_of_a_missing_document_is_document_missing(api_node):
    await api_node.request("PUT", "/u3", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    status, body = await api_node.request("POST", "/u3/_update/1?if_seq_no=1&if_primary_term=1", {"doc": {"a": 1}})
    assert status == 404 and body["error"]["type"] == "document_missing_exception"
    assert body["error"]["reason"] == "[1]: document missing"
    await api_node.request("PUT", "/u3/_doc/1", {"a": 0})
    status, body = await api_node.request("POST", "/u3/_update/1?if_seq_no=99&if_primary_term=1", {"doc": {"a": 1}})
    assert status == 409 and body["error"]["type"] == "version_conflict_engine_exception"


async def test_an_alias_is_hidden_on_all_its_indices_or_on_none(api_node):
    for name in ("h1", "h2"):
        await api_node.request("PUT", f"/{name}", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.request("PUT", "/h1/_alias/ha", {"is_hidden": True})
    status, body = await api_node.request("PUT", "/h2/_alias/ha")
    assert status >= 400 and body["error"]["type"] == "illegal_state_exception"
    assert body["error"]["reason"] == ("alias [ha] has is_hidden set to true on indices [h1] but does not have "
                                       "is_hidden set to true on indices [h2]; alias must have the same is_hidden "
                                       "setting on all indices")
    status, _ = await api_node.request("PUT", "/h2/_alias/ha", {"is_hidden": True})
    assert status == 200
