"""Three voters, 3 shards x 1 replica, continuous indexing through opensearch-py while faults
happen: SIGKILL of the node holding primaries and its restart, SIGKILL of the master, a rolling
restart of every node, a 4th node joining (copies
rebalance onto it), draining a node by exclude._name, and a full-cluster restart. After each
step health is green, every acknowledged document is found by search and by _mget on every node,
and the two copies of each shard hold the same number of documents."""

import json
import re
import threading
import time
import urllib.error
import urllib.request

import pytest
from opensearchpy import OpenSearch

pytestmark = pytest.mark.integration

INDEX = "faults"
GREEN_TIMEOUT = "90s"


def http(base_url, method, path, body=None):
    request = urllib.request.Request(base_url + path, data=None if body is None else json.dumps(body).encode(),
                                     method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def wait_green(node, nodes_count):
    """Green with nothing moving, twice in a row with no state change in between: moves run one
    at a time, so a single green answer can fall between two moves of a rebalance."""
    for _ in range(60):
        status, health = http(node.base_url, "GET", f"/_cluster/health?wait_for_status=green"
                              f"&wait_for_nodes={nodes_count}&wait_for_no_relocating_shards=true"
                              f"&wait_for_no_initializing_shards=true&timeout={GREEN_TIMEOUT}")
        assert status == 200 and health["status"] == "green" and not health["timed_out"], health
        _, before = http(node.base_url, "GET", "/_cluster/state")
        time.sleep(2.0)  # longer than the master's allocation tick: a next move would be visible
        _, after = http(node.base_url, "GET", "/_cluster/state")
        if before["version"] == after["version"]:
            return health
    raise AssertionError("the cluster never settled")


class Indexer:
    """Indexes one document at a time through ``node`` until stopped; remembers acknowledged ids."""

    def __init__(self, node, prefix):
        self.client = OpenSearch(hosts=[node.base_url], timeout=60, max_retries=0)
        self.prefix = prefix
        self.acknowledged = []
        self.failures = 0
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        number = 0
        while not self.stop_event.is_set():
            document_id = f"{self.prefix}-{number}"
            number += 1
            try:
                answer = self.client.index(index=INDEX, id=document_id, body={"n": number, "step": self.prefix})
                if answer.get("result") in ("created", "updated"):
                    self.acknowledged.append(document_id)
            except Exception:  # noqa: BLE001 — not acknowledged: the test only counts acknowledged ids
                self.failures += 1
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop_event.set()
        self.thread.join(timeout=120)


def assert_every_acknowledged_document_everywhere(nodes, acknowledged):
    assert acknowledged, "nothing was acknowledged: the indexer never reached the cluster"
    status, _ = http(nodes[0].base_url, "POST", f"/{INDEX}/_refresh")
    assert status == 200
    for node in nodes:
        status, found = http(node.base_url, "POST", f"/{INDEX}/_search",
                             {"size": 10000, "_source": False, "query": {"match_all": {}}})
        assert status == 200 and found["_shards"]["failed"] == 0, found
        missing = set(acknowledged) - {hit["_id"] for hit in found["hits"]["hits"]}
        status, got = http(node.base_url, "POST", f"/{INDEX}/_mget", {"ids": list(acknowledged)})
        assert status == 200, got
        not_found = [document["_id"] for document in got["docs"] if not document.get("found")]
        _, rows = http(node.base_url, "GET", f"/_cat/shards/{INDEX}?format=json")
        assert not missing and not not_found, (
            f"on {node.flags['name']}: search misses acknowledged {sorted(missing)[:10]}, _mget misses "
            f"{not_found[:10]}; shards {[(r['shard'], r['prirep'], r['node'], r['docs']) for r in rows]}")
    status, rows = http(nodes[0].base_url, "GET", f"/_cat/shards/{INDEX}?format=json")
    by_shard = {}
    for row in rows:
        assert row["state"] == "STARTED", rows
        by_shard.setdefault(row["shard"], set()).add(int(row["docs"]))
    assert all(len(counts) == 1 for counts in by_shard.values()), f"copies disagree: {rows}"


def shard_rows(node):
    status, rows = http(node.base_url, "GET", f"/_cat/shards/{INDEX}?format=json")
    assert status == 200, rows
    return rows


def raft_term(node):
    with urllib.request.urlopen(node.base_url + "/_prometheus/metrics", timeout=30) as response:
        text = response.read().decode()
    return float(re.search(r"^quidditch_raft_term (\S+)$", text, re.MULTILINE).group(1))


def test_acknowledged_writes_survive_kills_joins_drains_and_a_full_restart(node_factory):
    members = node_factory.start_cluster(3, prefix="faults")
    wait_green(members[0], 3)
    status, body = http(members[0].base_url, "PUT", f"/{INDEX}", {
        "settings": {"number_of_shards": 3, "number_of_replicas": 1},
        "mappings": {"properties": {"n": {"type": "integer"}, "step": {"type": "keyword"}}}})
    assert status == 200, body
    wait_green(members[0], 3)
    acknowledged = []

    # 1. SIGKILL the node holding the most primaries, index through another, restart it
    primaries = [row["node"] for row in shard_rows(members[0]) if row["prirep"] == "p"]
    victim = max(members, key=lambda member: primaries.count(member.flags["name"]))
    coordinator = next(member for member in members if member is not victim)
    with Indexer(coordinator, "kill") as indexer:
        time.sleep(1.0)
        victim.kill()
        time.sleep(6.0)  # past the failure detector: replicas are promoted while writes continue
        victim.start()
        time.sleep(1.0)
    acknowledged += indexer.acknowledged
    wait_green(coordinator, 3)
    assert_every_acknowledged_document_everywhere(members, acknowledged)

    # 1b. SIGKILL the master (Raft leader) under indexing, then restart it
    _, rows = http(members[0].base_url, "GET", "/_cat/master?format=json")
    master = next(member for member in members if member.flags["name"] == rows[0]["node"])
    coordinator = next(member for member in members if member is not master)
    with Indexer(coordinator, "master") as indexer:
        time.sleep(1.0)
        master.kill()
        time.sleep(3.0)
        master.start()
        time.sleep(1.0)
    acknowledged += indexer.acknowledged
    wait_green(coordinator, 3)
    assert_every_acknowledged_document_everywhere(members, acknowledged)

    # 1c. restart every node one at a time (SIGTERM), indexing through another node meanwhile
    for position, member in enumerate(members):
        coordinator = members[(position + 1) % len(members)]
        with Indexer(coordinator, f"rolling{position}") as indexer:
            member.restart()
            wait_green(coordinator, 3)
        acknowledged += indexer.acknowledged
    assert_every_acknowledged_document_everywhere(members, acknowledged)

    # 2. a 4th (non-voting) node joins: copies rebalance onto it
    joiner = node_factory.start_node("faults-joiner", workers=1, seed_hosts=members[0].flags["seed-hosts"],
                                     cluster_secret_file=members[0].flags["cluster-secret-file"])
    with Indexer(members[0], "join") as indexer:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if any(row["node"] == "faults-joiner" and row["state"] == "STARTED" for row in shard_rows(members[0])):
                break
            time.sleep(0.5)
    acknowledged += indexer.acknowledged
    everyone = members + [joiner]
    wait_green(members[0], 4)
    assert any(row["node"] == "faults-joiner" for row in shard_rows(members[0])), "nothing moved to the new node"
    assert_every_acknowledged_document_everywhere(everyone, acknowledged)

    # 3. drain a voter: every copy moves off it, the cluster stays green
    drained = members[2]
    status, body = http(members[0].base_url, "PUT", "/_cluster/settings", {
        "persistent": {"cluster.routing.allocation.exclude._name": drained.flags["name"]}})
    assert status == 200, body
    with Indexer(members[0], "drain") as indexer:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if not any(row["node"] == drained.flags["name"] for row in shard_rows(members[0])):
                break
            time.sleep(0.5)
    acknowledged += indexer.acknowledged
    wait_green(members[0], 4)
    assert not any(row["node"] == drained.flags["name"] for row in shard_rows(members[0]))
    assert_every_acknowledged_document_everywhere(everyone, acknowledged)

    # 4. full-cluster restart: every index, mapping and document back; the Raft term moves forward
    term_before = max(raft_term(member) for member in members)
    for node in everyone:
        node.kill()
    for node in everyone:
        node.launch()
    for node in everyone:
        node.wait_until_ready()
    wait_green(members[0], 4)
    assert max(raft_term(member) for member in members) > term_before
    status, mapping = http(joiner.base_url, "GET", f"/{INDEX}/_mapping")
    assert mapping[INDEX]["mappings"]["properties"]["step"] == {"type": "keyword"}
    assert_every_acknowledged_document_everywhere(everyone, acknowledged)
