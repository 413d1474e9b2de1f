"""A ``_forcemerge?wait_for_completion=false`` task is described as OpenSearch 2.13-3.8 describes
it (ForceMergeRequest.getDescription, ``primaryOnly`` included)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("extra, primary_only", [("", "false"), ("&primary_only=true", "true")])
async def test_a_force_merge_task_description_names_primary_only(api_node, extra, primary_only):
    status, _ = await api_node.request("PUT", "/test_index", {"settings": {"number_of_replicas": 0}})
    assert status == 200
    status, body = await api_node.request(
        "POST", f"/test_index/_forcemerge?wait_for_completion=false&max_num_segments=1{extra}")
    assert status == 200
    status, result = await api_node.request("GET", f"/_tasks/{body['task']}?wait_for_completion=true")
    assert status == 200 and result["task"]["action"] == "indices:admin/forcemerge"
    assert result["task"]["description"] == ("Force-merge indices [test_index], maxSegments[1], "
                                             f"onlyExpungeDeletes[false], flush[true], primaryOnly[{primary_only}]")
