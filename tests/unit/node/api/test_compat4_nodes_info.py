"""GET /_nodes reports total_indexing_buffer_in_bytes (the per-copy buffer budget times the copies the
node holds) and, with human=true, its readable twin in OpenSearch's ByteSizeValue format."""

from __future__ import annotations

import re

import pytest

from index.shard import ShardSettings
from node.api.cluster import readable_byte_size


@pytest.mark.parametrize(("size", "text"), [(0, "0b"), (1023, "1023b"), (1024, "1kb"), (1536, "1.5kb"),
                                            (64 * 1024 * 1024, "64mb"), (3 * 1024 ** 4, "3tb"),
                                            (2 * 1024 ** 5, "2pb")])
def test_byte_sizes_read_as_opensearch_prints_them(size, text):
    assert readable_byte_size(size) == text


async def test_the_indexing_buffer_counts_the_copies_this_node_holds(api_node):
    status, body = await api_node.request("GET", "/_nodes")
    (before,) = body["nodes"].values()
    assert status == 200 and before["total_indexing_buffer_in_bytes"] == 0
    assert "total_indexing_buffer" not in before
    await api_node.request("PUT", "/buffered", {"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    await api_node.settle()
    status, body = await api_node.request("GET", "/_nodes?human=true")
    (after,) = body["nodes"].values()
    assert after["total_indexing_buffer_in_bytes"] == 2 * ShardSettings().indexing_buffer_bytes
    assert re.fullmatch(r"\d+(\.\d+)?(b|kb|mb|gb|tb|pb)", after["total_indexing_buffer"])
