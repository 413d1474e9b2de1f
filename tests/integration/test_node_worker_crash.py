"""A shard worker killed under a running node is restarted and its shards answer again."""

import os
import signal
import time
from pathlib import Path

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError

pytestmark = pytest.mark.integration


def child_pids(parent_pid):
    children = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent_pid:
            children.append(int(status.parent.name))
    return children


def read_all(client, index, count):
    found = {}
    deadline = time.monotonic() + 90
    while len(found) < count and time.monotonic() < deadline:
        for number in range(count):
            if number in found:
                continue
            try:
                found[number] = client.get(index=index, id=str(number))["_source"]["value"]
            except TransportError:
                time.sleep(0.1)  # restarting; the outcome of a call racing the crash is unknown
    return found


def test_killed_workers_come_back_with_their_shards_and_a_clean_restart_keeps_everything(node_factory):
    running = node_factory.start_node("crashing-workers", workers=2)
    client = OpenSearch(hosts=[running.base_url], timeout=30)
    client.indices.create(index="crash", body={
        "settings": {"number_of_shards": 2, "number_of_replicas": 0},
        "mappings": {"properties": {"value": {"type": "long"}}}})
    for number in range(6):
        client.index(index="crash", id=str(number), body={"value": number})
    workers = child_pids(running.process.pid)
    assert len(workers) == 2
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    assert read_all(client, "crash", 6) == {number: number for number in range(6)}
    assert set(child_pids(running.process.pid)).isdisjoint(workers)
    client.close()
    assert running.stop() == 0
    running.start()
    client = OpenSearch(hosts=[running.base_url], timeout=30)
    assert read_all(client, "crash", 6) == {number: number for number in range(6)}
    client.close()
