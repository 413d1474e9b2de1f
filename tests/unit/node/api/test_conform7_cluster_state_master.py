"""``GET _cluster/state`` waits for a known cluster manager, as OpenSearch's cluster-manager read
does (a just-started node never answers ``master_node: null``), answers 503
``cluster_manager_not_discovered_exception`` when none appears within ``cluster_manager_timeout``,
and ``local=true`` answers from the local state at once."""

from __future__ import annotations

from types import SimpleNamespace

import trio


def _leaderless_until_flipped(api_node):
    known = api_node.context.metadata.status()
    current = {"status": SimpleNamespace(leader_address=None, role="follower", raft_term=1, is_ready=True,
                                         has_quorum=False)}
    api_node.context.metadata.status = lambda: current["status"]

    def flip() -> None:
        current["status"] = known
    return flip


async def test_cluster_state_waits_until_a_cluster_manager_is_known(api_node):
    flip = _leaderless_until_flipped(api_node)
    answers = []

    async def read() -> None:
        answers.append(await api_node.request("GET", "/_cluster/state/master_node"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read)
        await trio.sleep(0.2)
        assert answers == []                              # still waiting for a leader
        flip()
    status, body = answers[0]
    assert status == 200 and body["master_node"] == "node-one"


async def test_cluster_state_without_a_cluster_manager_in_time_is_a_503(api_node):
    _leaderless_until_flipped(api_node)
    status, error = await api_node.request("GET", "/_cluster/state?cluster_manager_timeout=100ms")
    assert status == 503 and error["error"]["type"] == "cluster_manager_not_discovered_exception"


async def test_a_local_cluster_state_answers_at_once_without_a_cluster_manager(api_node):
    _leaderless_until_flipped(api_node)
    status, body = await api_node.request("GET", "/_cluster/state/master_node?local=true")
    assert status == 200 and body["master_node"] is None
