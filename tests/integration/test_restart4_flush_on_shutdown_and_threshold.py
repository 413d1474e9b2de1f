"""Issue 3/4 over real HTTP: a clean shutdown (SIGTERM) flushes, so the restarted node replays
nothing from its translog; index.translog.flush_threshold_size is validated, and a lowered value
set live through PUT _settings makes maintenance flush (ADR 0290)."""

from __future__ import annotations

import time

import orjson


def uncommitted_operations(call, node, index):
    status, stats = call(node.base_url, "GET", f"/{index}/_stats")
    assert status == 200, stats
    return stats["indices"][index]["primaries"]["translog"]["uncommitted_operations"]


def bulk_index(call, node, index, count, prefix):
    lines = []
    for number in range(count):
        lines.append(orjson.dumps({"index": {"_index": index, "_id": f"{prefix}{number}"}}))
        lines.append(orjson.dumps({"title": f"document {number}", "n": number}))
    import urllib.request
    request = urllib.request.Request(node.base_url + "/_bulk", data=b"\n".join(lines) + b"\n", method="POST",
                                     headers={"Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = orjson.loads(response.read())
    assert answer["errors"] is False, answer


def wait_for_green(call, node, index):
    status, health = call(node.base_url, "GET", f"/_cluster/health/{index}?wait_for_status=green&timeout=60s")
    assert status == 200 and health["status"] == "green", health


def test_a_clean_shutdown_flushes_so_the_restarted_node_replays_nothing(node_factory, call):
    node = node_factory.start_node(workers=1)
    status, answer = call(node.base_url, "PUT", "/books", {
        "settings": {"number_of_shards": 1, "number_of_replicas": 0,
                     "index": {"translog": {"flush_threshold_size": "1gb"}}}})
    assert status == 200, answer
    wait_for_green(call, node, "books")
    bulk_index(call, node, "books", 40, "a")
    assert uncommitted_operations(call, node, "books") == 40
    node.restart()
    wait_for_green(call, node, "books")
    assert uncommitted_operations(call, node, "books") == 0
    status, counted = call(node.base_url, "GET", "/books/_count")
    assert status == 200 and counted["count"] == 40
    status, settings = call(node.base_url, "GET", "/books/_settings?flat_settings=true")
    assert settings["books"]["settings"]["index.translog.flush_threshold_size"] == "1gb"


def test_the_flush_threshold_is_validated_and_a_lowered_one_applies_live(node_factory, call):
    node = node_factory.start_node(workers=1)
    status, answer = call(node.base_url, "PUT", "/bad", {"settings": {"index.translog.flush_threshold_size": "10b"}})
    assert status == 400 and "must be >= [56b]" in answer["error"]["reason"], answer
    status, answer = call(node.base_url, "PUT", "/live", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    assert status == 200, answer
    wait_for_green(call, node, "live")
    bulk_index(call, node, "live", 30, "b")
    assert uncommitted_operations(call, node, "live") == 30
    status, answer = call(node.base_url, "PUT", "/live/_settings", {"index.translog.flush_threshold_size": "lots"})
    assert status == 400 and "unit is missing or unrecognized" in answer["error"]["reason"], answer
    status, answer = call(node.base_url, "PUT", "/live/_settings", {"index.translog.flush_threshold_size": "56b"})
    assert status == 200, answer
    deadline = time.monotonic() + 60
    while uncommitted_operations(call, node, "live") != 0:
        assert time.monotonic() < deadline, "maintenance never flushed under the lowered threshold"
        time.sleep(0.2)
