"""_cat text rendering as OpenSearch's RestTable: a column asked for by an alias is headed by that
alias, a column asked for twice shows twice, every cell but a left-aligned last one is padded
(empty middle cells keep their separators), ts=false drops the time columns of _cat/health, and
the node resource and recovery byte columns carry units."""

from __future__ import annotations

import re


async def test_an_alias_in_h_heads_its_column_and_a_repeated_column_shows_twice(api_node):
    await api_node.request("PUT", "/c1", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.settle()
    status, body = await api_node.request("GET", "/_cat/indices?h=i,cd,creation.date&v=true")
    header, row = body.splitlines()
    assert header.split() == ["i", "cd", "creation.date"]
    assert row.split()[0] == "c1" and row.split()[1] == row.split()[2]
    status, body = await api_node.request("GET", "/_cat/indices?h=i,cd&format=json")
    assert set(body[0]) == {"i", "cd"}


async def test_empty_cells_of_a_closed_index_keep_their_separators(api_node):
    await api_node.request("PUT", "/c2", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.settle()
    await api_node.request("POST", "/c2/_close")
    status, body = await api_node.request("GET", "/_cat/indices/c2")
    assert re.fullmatch(r"green close c2 \S{22} 1 0 {4}\n", body), repr(body)


async def test_cat_health_without_timestamps_and_cat_nodes_resource_columns(api_node):
    status, body = await api_node.request("GET", "/_cat/health?ts=false")
    assert body.split()[0] == "test-cluster"
    status, body = await api_node.request("GET", "/_cat/nodes?h=heap.*,diskAvail,fdc&v=true")
    header, row = body.splitlines()
    assert header.split() == ["heap.current", "heap.percent", "heap.max", "diskAvail", "fdc"]
    values = row.split()
    assert re.fullmatch(r"\d+(\.\d+)?[kmgtp]?b", values[0]) and values[1].isdigit()
    assert re.fullmatch(r"\d+(\.\d+)?[kmgtp]?b", values[3]) and values[4].isdigit()


async def test_cat_tables_of_things_quidditch_does_not_have_are_empty_and_nodeattrs_lists_attributes(api_node):
    for path in ("/_cat/plugins", "/_cat/pending_tasks", "/_cat/templates", "/_cat/fielddata/foo"):
        status, body = await api_node.request("GET", path)
        assert status == 200 and not body, path
    status, body = await api_node.request("GET", "/_cat/pending_tasks?v=true")
    assert body.split() == ["insertOrder", "timeInQueue", "priority", "source"]
    status, body = await api_node.request("GET", "/_cat/nodeattrs?format=json")
    assert status == 200 and isinstance(body, list)


async def test_cat_segments_names_segments_as_lucene_and_shows_a_dotted_format_version(api_node):
    await api_node.request("PUT", "/s1", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.request("PUT", "/s1/_doc/1?refresh=true", {"a": 1})
    status, body = await api_node.request("GET", "/_cat/segments/s1")
    assert re.fullmatch(r"s1 0 p \S+ _0 0 1 0 \S+b 0 true true \d+\.\d+ false\n", body), repr(body)


async def test_cat_allocation_counts_the_bytes_of_the_copies_each_node_holds_and_filters_nodes(api_node):
    await api_node.request("PUT", "/a1", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.request("PUT", "/a1/_doc/1?refresh=true", {"a": 1})
    status, body = await api_node.request("GET", "/_cat/allocation?h=shards,disk.indices&bytes=b&format=json")
    assert body[0]["shards"] == "1" and int(body[0]["disk.indices"]) > 0
    status, body = await api_node.request("GET", "/_cat/allocation/nobody?h=shards")
    assert status == 200 and not body
