"""Cluster and _cat APIs in process: health levels and waits, state, settings, nodes, cat tables."""

from __future__ import annotations


async def test_health_is_green_with_no_indices_and_yellow_with_unassigned_replicas(api_node):
    status, body = await api_node.request("GET", "/_cluster/health")
    assert status == 200 and body["status"] == "green" and body["number_of_nodes"] == 1
    await api_node.request("PUT", "/rep", {"settings": {"number_of_replicas": 1}})
    _, body = await api_node.request("GET", "/_cluster/health?level=indices")
    assert body["status"] == "yellow"
    assert body["indices"]["rep"]["unassigned_shards"] == 1
    assert body["active_shards_percent_as_number"] == 50.0


async def test_waiting_for_green_that_never_comes_times_out_with_408(api_node):
    await api_node.request("PUT", "/rep", {"settings": {"number_of_replicas": 1}})
    status, body = await api_node.request("GET", "/_cluster/health?wait_for_status=green&timeout=100ms")
    assert status == 408 and body["timed_out"] is True and body["status"] == "yellow"
    status, body = await api_node.request("GET", "/_cluster/health?wait_for_status=yellow&timeout=1s")
    assert status == 200 and body["timed_out"] is False


async def test_health_of_a_missing_index_is_red_and_shards_level_lists_shards(api_node):
    status, body = await api_node.request("GET", "/_cluster/health/missing?timeout=50ms")
    assert status == 408 and body["status"] == "red"
    await api_node.request("PUT", "/two", {"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    _, body = await api_node.request("GET", "/_cluster/health/two?level=shards")
    assert sorted(body["indices"]["two"]["shards"]) == ["0", "1"]
    assert body["indices"]["two"]["shards"]["0"]["primary_active"] is True


async def test_wait_for_nodes_accepts_comparisons(api_node):
    status, _ = await api_node.request("GET", "/_cluster/health?wait_for_nodes=>=1&timeout=1s")
    assert status == 200
    status, _ = await api_node.request("GET", "/_cluster/health?wait_for_nodes=2&timeout=50ms")
    assert status == 408


async def test_cluster_state_has_metadata_and_routing_and_filters_by_metric(api_node):
    await api_node.request("PUT", "/cs")
    _, body = await api_node.request("GET", "/_cluster/state")
    assert body["cluster_uuid"] == "cluster-uuid"
    assert body["master_node"] == "node-one"
    assert "cs" in body["metadata"]["indices"]
    shard_copies = body["routing_table"]["indices"]["cs"]["shards"]["0"]
    assert shard_copies[0]["primary"] is True and shard_copies[0]["state"] == "STARTED"
    _, body = await api_node.request("GET", "/_cluster/state/metadata/cs")
    assert "routing_table" not in body and list(body["metadata"]["indices"]) == ["cs"]


async def test_cluster_settings_round_trip_and_reset_with_null(api_node):
    status, body = await api_node.request("PUT", "/_cluster/settings",
                                          {"persistent": {"action": {"auto_create_index": "false"}}})
    assert status == 200 and body["acknowledged"] is True
    _, body = await api_node.request("GET", "/_cluster/settings?flat_settings=true")
    assert body["persistent"] == {"action.auto_create_index": "false"}
    await api_node.request("PUT", "/_cluster/settings", {"persistent": {"action.auto_create_index": None}})
    _, body = await api_node.request("GET", "/_cluster/settings")
    assert body["persistent"] == {}


async def test_nodes_info_and_stats_describe_this_node(api_node):
    _, body = await api_node.request("GET", "/_nodes")
    assert body["_nodes"] == {"total": 1, "successful": 1, "failed": 0}
    assert body["nodes"]["node-one"]["name"] == "one"
    await api_node.request("PUT", "/ns/_doc/1?refresh=true", {"a": 1})
    _, body = await api_node.request("GET", "/_nodes/stats")
    node = body["nodes"]["node-one"]
    assert node["indices"]["docs"]["count"] == 1
    assert {"os", "process", "fs"} <= set(node)
    _, body = await api_node.request("GET", "/_nodes/_local/stats/os")
    assert "os" in body["nodes"]["node-one"] and "indices" not in body["nodes"]["node-one"]


async def test_cat_indices_text_with_headers_columns_and_sorting(api_node):
    await api_node.request("PUT", "/zeta/_doc/1?refresh=true", {"a": 1})
    await api_node.request("PUT", "/alpha/_doc/1?refresh=true", {"a": 1})
    status, text = await api_node.request("GET", "/_cat/indices?v&h=index,docs.count&s=index")
    lines = text.strip().splitlines()
    assert lines[0].split() == ["index", "docs.count"]
    assert [line.split()[0] for line in lines[1:]] == ["alpha", "zeta"]
    _, text = await api_node.request("GET", "/_cat/indices?h=i&s=i:desc")
    assert text.split() == ["zeta", "alpha"]


async def test_cat_json_format_uses_opensearch_column_names(api_node):
    await api_node.request("PUT", "/j/_doc/1?refresh=true", {"a": 1})
    _, rows = await api_node.request("GET", "/_cat/indices?format=json")
    assert rows[0]["index"] == "j" and rows[0]["docs.count"] == "1" and rows[0]["health"] in ("green", "yellow")
    _, rows = await api_node.request("GET", "/_cat/shards?format=json")
    assert {row["prirep"] for row in rows} == {"p", "r"}
    _, rows = await api_node.request("GET", "/_cat/count/j?format=json")
    assert rows[0]["count"] == "1"
    _, rows = await api_node.request("GET", "/_cat/health?format=json")
    assert rows[0]["status"] == "yellow"
    _, rows = await api_node.request("GET", "/_cat/cluster_manager?format=json")
    assert rows[0]["id"] == "node-one"
    _, rows = await api_node.request("GET", "/_cat/indices?format=json&bytes=b")
    assert rows[0]["store.size"].isdigit()


async def test_cat_rejects_unknown_columns(api_node):
    status, body = await api_node.request("GET", "/_cat/indices?h=nonsense")
    assert status == 400


async def test_cat_nodes_segments_aliases_allocation_recovery_answer(api_node):
    await api_node.request("PUT", "/seg/_doc/1?refresh=true", {"a": 1})
    await api_node.request("POST", "/_aliases", {"actions": [{"add": {"index": "seg", "alias": "s"}}]})
    for path in ("nodes", "segments", "aliases", "allocation", "recovery", "master", "thread_pool"):
        status, text = await api_node.request("GET", f"/_cat/{path}?v")
        assert status == 200, path
        assert len(text.strip().splitlines()) >= 2, path


async def test_cluster_settings_reject_an_unknown_setting_as_opensearch_does(api_node):
    status, body = await api_node.request("PUT", "/_cluster/settings", {"persistent": {"no.such.setting": "1"}})
    assert status == 400
    assert body["error"]["type"] == "illegal_argument_exception"
    assert body["error"]["reason"] == "persistent setting [no.such.setting], not recognized"
    status, body = await api_node.request("PUT", "/_cluster/settings", {"transient": {"quidditch.write.bogus": 1}})
    assert status == 400 and body["error"]["reason"] == "transient setting [quidditch.write.bogus], not recognized"
    _, body = await api_node.request("GET", "/_cluster/settings?flat_settings=true")
    assert body == {"persistent": {}, "transient": {}}


async def test_cluster_settings_refuse_a_value_that_would_not_parse(api_node):
    status, body = await api_node.request("PUT", "/_cluster/settings",
                                          {"transient": {"quidditch.bulk.max_operations": "many"}})
    assert status == 400 and "quidditch.bulk.max_operations" in body["error"]["reason"]
    status, body = await api_node.request("PUT", "/_cluster/settings",
                                          {"transient": {"quidditch.udf.fuel_per_query": "-5"}})
    assert status == 400 and "quidditch.udf.fuel_per_query" in body["error"]["reason"]


async def test_cluster_settings_accept_every_family_the_engine_reads_and_wildcard_resets(api_node):
    status, _ = await api_node.request("PUT", "/_cluster/settings", {
        "persistent": {"cluster.routing.allocation.exclude._name": "x", "quidditch.udf.timeout": "2s",
                       "quidditch.search.max_in_flight_requests": 10},
        "transient": {"quidditch.replication.copy_removal_timeout": "5s", "action.auto_create_index": False}})
    assert status == 200
    status, _ = await api_node.request("PUT", "/_cluster/settings", {"persistent": {"*": None},
                                                                     "transient": {"*": None}})
    assert status == 200
    _, body = await api_node.request("GET", "/_cluster/settings?flat_settings=true")
    assert body == {"persistent": {}, "transient": {}}


async def test_recovery_lists_a_new_primary_as_an_empty_store_that_is_done(api_node):
    await api_node.request("PUT", "/rec", {"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    status, body = await api_node.request("GET", "/rec/_recovery?human=true")
    assert status == 200
    assert sorted(entry["id"] for entry in body["rec"]["shards"]) == [0, 1]
    assert {(entry["type"], entry["stage"], entry["primary"]) for entry in body["rec"]["shards"]} == {
        ("EMPTY_STORE", "DONE", True)}
    _, body = await api_node.request("GET", "/rec/_recovery?active_only=true")
    assert body == {}


async def test_segments_lists_each_started_copy_with_lucene_style_segment_names(api_node):
    await api_node.request("PUT", "/seg", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.request("PUT", "/seg/_doc/1?refresh=true", {"foo": "bar"})
    status, body = await api_node.request("GET", "/seg/_segments")
    assert status == 200 and body["_shards"] == {"total": 1, "successful": 1, "failed": 0}
    copy = body["indices"]["seg"]["shards"]["0"][0]
    assert copy["routing"]["primary"] is True
    assert copy["segments"]["_0"]["num_docs"] == 1
    _, everything = await api_node.request("GET", "/_segments")
    assert "seg" in everything["indices"]


async def test_nodes_usage_hot_threads_and_reload_secure_settings_are_not_read_as_node_filters(api_node):
    await api_node.request("GET", "/_cluster/health")
    status, body = await api_node.request("GET", "/_nodes/usage")
    assert status == 200 and body["_nodes"]["total"] == 1
    assert body["nodes"]["node-one"]["rest_actions"]["cluster_health"] >= 1
    status, body = await api_node.request("POST", "/_nodes/reload_secure_settings")
    assert status == 200 and body["nodes"] == {"node-one": {"name": "one"}} and body["cluster_name"]
    response = await api_node.client.get("/_nodes/hot_threads")
    text = (await response.get_data()).decode()
    assert response.status_code == 200 and "Hot threads at" in text and "{node-one}" in text


async def test_nodes_info_reports_an_active_test_only_switch_and_nothing_otherwise(api_node):
    import logging

    from node import testing_settings

    _, body = await api_node.request("GET", "/_nodes/_local")
    (only_node,) = body["nodes"].values()
    assert "settings" not in only_node
    previous = testing_settings.current()
    testing_settings.activate(testing_settings.TestingSettings(unsafe_ack_before_replication=True),
                              logging.getLogger("test"))
    try:
        _, body = await api_node.request("GET", "/_nodes/_local")
        (only_node,) = body["nodes"].values()
        assert only_node["settings"] == {"quidditch.test.unsafe_ack_before_replication": "true"}
    finally:
        testing_settings.activate(previous, logging.getLogger("test"))


async def test_concurrent_rebalance_takes_minus_one_or_a_count_and_refuses_anything_else(api_node):
    key = "cluster.routing.allocation.cluster_concurrent_rebalance"
    for good in (-1, 0, 4):
        status, _ = await api_node.request("PUT", "/_cluster/settings", {"persistent": {key: good}})
        assert status == 200, good
    for bad in ("many", -2):
        status, body = await api_node.request("PUT", "/_cluster/settings", {"persistent": {key: bad}})
        assert status == 400 and key in body["error"]["reason"], bad


async def test_cat_indices_shows_the_health_of_a_closed_index_and_refuses_an_unknown_health_filter(api_node):
    await api_node.request("PUT", "/closing", {"settings": {"number_of_replicas": 0}})
    await api_node.request("POST", "/closing/_close")
    _, rows = await api_node.request("GET", "/_cat/indices/closing?format=json")
    assert rows[0]["status"] == "close" and rows[0]["health"] in ("green", "yellow", "red")
    _, open_rows = await api_node.request("GET", "/_cat/indices?format=json")
    _, green = await api_node.request("GET", "/_cat/indices?format=json&health=" + rows[0]["health"])
    assert "closing" in {row["index"] for row in green} and len(green) <= len(open_rows)
    status, body = await api_node.request("GET", "/_cat/indices?health=invalid-health-value")
    assert status == 400 and body["error"]["type"] == "illegal_argument_exception"
