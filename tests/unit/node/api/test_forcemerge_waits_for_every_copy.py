"""A waiting ``_forcemerge`` gives every copy as long as its merge takes (OpenSearch answers when
all copies have merged): a remote copy's merge of a few hundred thousand documents outlasts the
30 s a refresh or flush allows per copy, and was reported as a shard failure while it went on."""

from __future__ import annotations

from node.api.indices import FORCE_MERGE_TASK_SECONDS
from node.coordination.services import services_of


async def test_a_waiting_force_merge_allows_each_copy_the_force_merge_bound(api_node):
    status, _ = await api_node.request("PUT", "/merged", {"settings": {"number_of_shards": 2,
                                                                     "number_of_replicas": 0}})
    assert status == 200
    director = services_of(api_node.app).director
    allowed: dict[str, list[float]] = {}
    real_call_copy = director.call_copy

    async def recording_call_copy(index, shard_number, shard_copy, method, payload, body=b"", **options):
        allowed.setdefault(method, []).append(options.get("timeout_seconds"))
        return await real_call_copy(index, shard_number, shard_copy, method, payload, body, **options)

    director.call_copy = recording_call_copy
    status, body = await api_node.request("POST", "/merged/_forcemerge?max_num_segments=1")
    assert status == 200 and body["_shards"] == {"total": 2, "successful": 2, "failed": 0}
    status, _ = await api_node.request("POST", "/merged/_refresh")
    assert status == 200
    assert allowed["force_merge"] == [FORCE_MERGE_TASK_SECONDS] * 2
    assert allowed["refresh"] == [30.0] * 2
