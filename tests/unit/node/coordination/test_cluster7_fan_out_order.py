"""The order a search's fan-out sends its calls in (ADR 0371): frames to other nodes leave before
the local worker calls, whatever order trio starts a batch of tasks in."""

from types import SimpleNamespace

import trio

from node.coordination import search as search_module
from node.coordination.search import SearchCoordinator, ShardTarget

LOCAL_NODE = "node-a"
REMOTE_NODE = "node-b"


class RecordingWorkers:
    def __init__(self, sent: list, worker_of_shard) -> None:
        self.sent = sent
        self.worker_of_shard = worker_of_shard

    def worker_for(self, index_uuid: str, shard_number: int) -> int:
        return self.worker_of_shard(shard_number)

    async def call(self, index_uuid, shard_number, method, payload, body=b"", timeout_seconds=None):
        self.sent.append(("local", shard_number))
        await trio.sleep(0)
        if "batch" in payload:
            return {"batch": [{"reply": {"shard": item["shard_number"]}} for item in payload["batch"]]}, b""
        return {"shard": shard_number}, b""


class RecordingPeers:
    def __init__(self, sent: list) -> None:
        self.sent = sent

    async def request(self, address, method, payload, body=b"", timeout_seconds=None):
        self.sent.append(("remote", payload["shard_number"]))
        await trio.sleep(0)
        return {"shard": payload["shard_number"]}, b""


def coordinator(sent: list, worker_of_shard=lambda shard_number: shard_number) -> SearchCoordinator:
    """A coordinator on LOCAL_NODE; by default every shard on a worker of its own."""
    state = SimpleNamespace(nodes={REMOTE_NODE: SimpleNamespace(transport_address="127.0.0.1:1")})
    context = SimpleNamespace(node_id=LOCAL_NODE, workers=RecordingWorkers(sent, worker_of_shard),
                              peers=RecordingPeers(sent),
                              metadata=SimpleNamespace(state=state))
    services = SimpleNamespace(context=context, director=SimpleNamespace(local={}))
    return SearchCoordinator(services)


def targets(local_shards: list[int], remote_shards: list[int]) -> list[ShardTarget]:
    listed = [ShardTarget("bench", "uuid", number, LOCAL_NODE, number) for number in local_shards]
    listed += [ShardTarget("bench", "uuid", number, REMOTE_NODE, number) for number in remote_shards]
    return sorted(listed, key=lambda target: target.shard_index)


async def test_the_frame_to_another_node_leaves_before_any_local_worker_call():
    # trio reverses half of its scheduling batches: 30 searches would put a local call first
    # in some of them if the order were left to the scheduler
    for _ in range(30):
        sent: list = []
        replies, failures = await coordinator(sent).fan_out(
            targets([0, 2], [1]), "search_shard", lambda target: {"request": {}})
        assert sent[0] == ("remote", 1)
        assert sorted(sent[1:]) == [("local", 0), ("local", 2)]
        assert sorted(replies) == [0, 1, 2] and failures == []


async def test_several_remote_frames_all_leave_before_the_batched_local_call():
    for _ in range(30):
        sent: list = []
        replies, failures = await coordinator(sent, lambda shard_number: 0).fan_out(
            targets([0, 2, 4], [1, 3]), "search_shard", lambda target: {"request": {}})
        # shards 0, 2 and 4 share worker 0: one batched call, after both remote frames
        assert sorted(sent[:2]) == [("remote", 1), ("remote", 3)]
        assert sent[2:] == [("local", 0)]
        assert sorted(replies) == [0, 1, 2, 3, 4] and failures == []


async def test_a_search_of_local_shards_only_calls_every_worker():
    sent: list = []
    replies, _ = await coordinator(sent).fan_out(targets([0, 1], []), "search_shard", lambda target: {"request": {}})
    assert sorted(sent) == [("local", 0), ("local", 1)]
    assert sorted(replies) == [0, 1]


async def test_without_the_ordering_the_calls_start_together(monkeypatch):
    # the switch exists to measure the ordering against trio's own order (docs/benchmarks.md)
    monkeypatch.setattr(search_module, "REMOTE_SHARD_CALLS_FIRST", False)
    firsts = set()
    for _ in range(60):
        sent: list = []
        await coordinator(sent).fan_out(targets([0, 2], [1]), "search_shard", lambda target: {"request": {}})
        firsts.add(sent[0][0])
    assert firsts == {"local", "remote"}
