"""Rollover: the new index's name is validated before the conditions, in a dry run too (an
existing index is a ``resource_already_exists_exception``, a bad name an
``invalid_index_name_exception``), and ``max_size`` reads the segments' size (an empty index is
0 bytes), as OpenSearch's TransportRolloverAction does."""

from __future__ import annotations

import pytest


async def _logs(api_node, documents=0):
    status, _ = await api_node.request("PUT", "/logs-1", {"aliases": {"logs_search": {}}})
    assert status == 200
    for number in range(documents):
        status, _ = await api_node.request("PUT", f"/logs-1/_doc/{number}?refresh=true", {"foo": "hello world"})
        assert status == 201


@pytest.mark.parametrize("dry_run", ["true", "false"])
async def test_an_existing_rollover_index_is_refused_even_in_a_dry_run(api_node, dry_run):
    await _logs(api_node)
    status, _ = await api_node.request("PUT", "/logs-000002", {})
    assert status == 200
    status, error = await api_node.request("POST", f"/logs_search/_rollover?dry_run={dry_run}",
                                           {"conditions": {"max_docs": 1}})
    assert status == 400 and error["error"]["type"] == "resource_already_exists_exception"
    assert error["error"]["reason"].startswith("index [logs-000002/")


async def test_an_invalid_rollover_index_name_is_refused_in_a_dry_run(api_node):
    await _logs(api_node)
    status, error = await api_node.request("POST", "/logs_search/_rollover/invalid%7Cindex%7Cname?dry_run=true",
                                           {"conditions": {"max_docs": 1}})
    assert status == 400 and error["error"]["type"] == "invalid_index_name_exception"


async def test_max_size_counts_no_bytes_for_an_empty_index(api_node):
    await _logs(api_node, documents=1)
    status, answer = await api_node.request("POST", "/logs_search/_rollover", {"conditions": {"max_size": "10b"}})
    assert status == 200 and answer["rolled_over"] is True and answer["conditions"] == {"[max_size: 10b]": True}
    status, answer = await api_node.request("POST", "/logs_search/_rollover", {"conditions": {"max_size": "1b"}})
    assert status == 200 and answer["rolled_over"] is False and answer["conditions"] == {"[max_size: 1b]": False}
