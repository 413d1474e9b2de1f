"""The test-only switch QUIDDITCH_TEST_UNSAFE_ACK_BEFORE_REPLICATION really breaks the
"acknowledged ⇒ on every in-sync copy" invariant (so jepsen-lite can show it catches a broken
build): with the replica's node frozen, a write is acknowledged and the replica stays in the
in-sync set without having it. The node announces the switch in its log at start-up."""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.integration

UNSAFE_ACK_VARIABLE = "QUIDDITCH_TEST_UNSAFE_ACK_BEFORE_REPLICATION"
INDEX = "unsafe-ack"


def http(base_url, method, path, body=None, timeout=120):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_with_the_unsafe_switch_a_write_is_acknowledged_that_an_in_sync_replica_never_received(
        node_factory, monkeypatch):
    monkeypatch.setenv(UNSAFE_ACK_VARIABLE, "1")
    members = node_factory.start_cluster(2, prefix="unsafe")
    for member in members:
        assert UNSAFE_ACK_VARIABLE in member.log_path.read_text(errors="replace")
    status, health = http(members[0].base_url, "GET", "/_cluster/health?wait_for_nodes=2&timeout=90s")
    assert status == 200, health
    status, body = http(members[0].base_url, "PUT", f"/{INDEX}",
                        {"settings": {"number_of_shards": 1, "number_of_replicas": 1}})
    assert status == 200, body
    status, health = http(members[0].base_url, "GET", f"/_cluster/health/{INDEX}?wait_for_status=green&timeout=90s")
    assert status == 200 and health["status"] == "green", health
    status, rows = http(members[0].base_url, "GET", f"/_cat/shards/{INDEX}?format=json&h=prirep,node")
    primary_name = next(row["node"] for row in rows if row["prirep"] == "p")
    primary = next(m for m in members if m.flags["name"] == primary_name)
    replica = next(m for m in members if m is not primary)
    # the mapping of "n" is committed now: the unconfirmed write below needs no Raft round trip
    status, body = http(primary.base_url, "PUT", f"/{INDEX}/_doc/confirmed", {"n": 0})
    assert status in (200, 201), body
    _, state = http(primary.base_url, "GET", "/_cluster/state/metadata")
    in_sync_before = state["metadata"]["indices"][INDEX]["in_sync_allocations"]["0"]
    assert len(in_sync_before) == 2

    os.killpg(replica.process.pid, signal.SIGSTOP)  # the replica's node (and its workers) freeze
    try:
        status, body = http(primary.base_url, "PUT", f"/{INDEX}/_doc/unconfirmed", {"n": 1}, timeout=60)
        assert status in (200, 201), body
        _, state = http(primary.base_url, "GET", "/_cluster/state/metadata")
        # the broken invariant: acknowledged, yet the copy that cannot have it is still in sync
        assert state["metadata"]["indices"][INDEX]["in_sync_allocations"]["0"] == in_sync_before
    finally:
        os.killpg(replica.process.pid, signal.SIGCONT)
