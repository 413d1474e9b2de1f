"""A master change during a metadata command is retried with the same command id, as OpenSearch's
master actions retry across a failover, instead of failing the user's request with a 503."""

from __future__ import annotations

from node.cluster.errors import CommandOutcomeUnknownError


def _lose_the_first_outcome(metadata):
    real_submit = metadata.submit
    lost = {"count": 0}

    async def submit(command, timeout_seconds=10.0):
        if lost["count"] == 0:
            lost["count"] += 1
            await real_submit(command, timeout_seconds)  # committed, but the answer never arrives
            raise CommandOutcomeUnknownError("the command's outcome is unknown: leader_changed")
        return await real_submit(command, timeout_seconds)

    metadata.submit = submit
    return lost


async def test_a_dynamic_mapping_update_survives_an_unknown_outcome(api_node):
    status, _ = await api_node.request("PUT", "/books", {"mappings": {"properties": {"title": {"type": "text"}}}})
    assert status == 200
    await api_node.settle()
    metadata = api_node.context.metadata
    lost = _lose_the_first_outcome(metadata)
    status, body = await api_node.request("PUT", "/books/_doc/1", {"title": "a", "year": 2001})
    assert status == 201, body
    assert lost["count"] == 1
    put_mappings = [command for command in metadata.submitted if command.command_type == "put_mapping"]
    assert len({command.command_id for command in put_mappings}) == 1  # one command, resubmitted
    assert api_node.state.indices["books"].mappings["properties"]["year"]["type"] == "long"


async def test_creating_an_index_survives_an_unknown_outcome(api_node):
    metadata = api_node.context.metadata
    _lose_the_first_outcome(metadata)
    status, body = await api_node.request("PUT", "/movies")
    assert status == 200, body
    assert body["acknowledged"] is True
    assert "movies" in api_node.state.indices
