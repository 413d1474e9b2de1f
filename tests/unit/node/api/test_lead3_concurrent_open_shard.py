"""Concurrent open_shard calls for one shard (the front retrying an open that outlived its call
timeout) open ONE Shard: the second waits for the first and finds it open. Two instances on one
directory replayed into the same segment names and deleted each other's files — the hour soak's
"segment file [...] is missing" copies."""

from __future__ import annotations

import logging
import threading

from index.shard import Shard
from node.workers import shard_service
from node.workers.registry import ShardRegistry


def payload():
    return {"index_uuid": "race-uuid", "shard_number": 0, "settings": {"index.refresh_interval": "-1"},
            "mappings": {}, "mapping_version": 1}


def test_two_concurrent_opens_of_one_shard_open_it_once(tmp_path, monkeypatch):
    registry = ShardRegistry(tmp_path / "data", 0)
    first_open_entered, release_first_open = threading.Event(), threading.Event()
    opened_instances = []
    real_open = Shard.open

    def slow_open(*arguments, **keywords):
        shard = real_open(*arguments, **keywords)
        opened_instances.append(shard)
        if len(opened_instances) == 1:
            first_open_entered.set()
            release_first_open.wait(timeout=30)
        return shard

    monkeypatch.setattr(shard_service.Shard, "open", staticmethod(slow_open))
    answers = []
    first = threading.Thread(target=lambda: answers.append(shard_service.open_shard(registry, payload(), b"")[0]))
    first.start()
    assert first_open_entered.wait(timeout=30)
    second = threading.Thread(target=lambda: answers.append(shard_service.open_shard(registry, payload(), b"")[0]))
    second.start()
    second.join(timeout=0.5)          # with the lock the second waits for the first here
    release_first_open.set()
    first.join()
    second.join()
    try:
        assert len(opened_instances) == 1
        assert sorted(answer.get("opened") for answer in answers) == [False, True]
        assert registry.shards[("race-uuid", 0)] is opened_instances[0]
    finally:
        registry.close_all(logging.getLogger("test"), flush=False)
        for shard in opened_instances:
            shard.close()
