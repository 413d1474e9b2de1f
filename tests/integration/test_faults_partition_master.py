"""Three real nodes started with QUIDDITCH_TEST_FAULTS_FILE: isolating the master through the
faults file makes writes coordinated by the isolated node fail (never acknowledged), writes
through the majority succeed once it has failed over, and after healing the file every copy
converges (the minority's write is nowhere, the majority's everywhere)."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.integration

FAULTS_FILE_VARIABLE = "QUIDDITCH_TEST_FAULTS_FILE"
CEILING_SECONDS = 120.0
INDEX = "faults-partition"


def http(base_url, method, path, body=None, timeout=120):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
    except (TimeoutError, urllib.error.URLError) as error:  # a hung request is not an acknowledgement
        return 0, {"error": str(error)}


def write_faults(path, members, links, generation):
    nodes = {}
    for member in members:
        nodes[member.flags["name"]] = {kind: member.ports[kind]["address"] for kind in ("http", "transport", "raft")}
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps({"version": 1, "generation": generation, "nodes": nodes, "links": links}))
    os.replace(temporary, path)


def isolation_links(name, names):
    return [link for other in names if other != name
            for link in ({"from": name, "to": other, "drop": True}, {"from": other, "to": name, "drop": True})]


def eventually(check, what, members):
    deadline = time.monotonic() + CEILING_SECONDS
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    pytest.fail(f"gave up waiting for {what}; last answer {last!r}\n" + "\n".join(m.log_tail(30) for m in members))


def master_name(member):
    status, state = http(member.base_url, "GET", "/_cluster/state/master_node,nodes", timeout=10)
    if status != 200 or not state.get("master_node"):
        return None
    return state["nodes"].get(state["master_node"], {}).get("name")


def test_a_partitioned_master_acknowledges_nothing_and_the_majority_fails_over_and_heals(
        node_factory, tmp_path, monkeypatch):
    faults_path = tmp_path / "faults.json"
    monkeypatch.setenv(FAULTS_FILE_VARIABLE, str(faults_path))  # inherited by the node processes
    members = node_factory.start_cluster(3, prefix="faults")
    by_name = {member.flags["name"]: member for member in members}
    names = sorted(by_name)
    write_faults(faults_path, members, [], generation=1)
    for member in members:  # the setting is honoured and announced where jepsen-lite looks for it
        assert FAULTS_FILE_VARIABLE in member.log_path.read_text(errors="replace")
    status, health = http(members[0].base_url, "GET", "/_cluster/health?wait_for_nodes=3&timeout=90s")
    assert status == 200, health
    status, body = http(members[0].base_url, "PUT", "/_cluster/settings",
                        {"persistent": {"quidditch.replication.copy_removal_timeout": "5s"}})
    assert status == 200, body
    status, body = http(members[0].base_url, "PUT", f"/{INDEX}",
                        {"settings": {"number_of_shards": 1, "number_of_replicas": 2}})
    assert status == 200, body
    status, health = http(members[0].base_url, "GET", f"/_cluster/health/{INDEX}?wait_for_status=green&timeout=90s")
    assert status == 200 and health["status"] == "green", health
    status, body = http(members[0].base_url, "PUT", f"/{INDEX}/_doc/before?refresh=true", {"n": 0})
    assert status in (200, 201), body

    old_master = eventually(lambda: master_name(members[0]), "a master", members)
    minority = by_name[old_master]
    majority = [by_name[name] for name in names if name != old_master]
    write_faults(faults_path, members, isolation_links(old_master, names), generation=2)
    time.sleep(0.5)  # past every node's 100 ms poll of the file

    # through the isolated node: it cannot replicate nor reach the primary, and cannot get a copy
    # removed through Raft without a quorum — so the write must not be acknowledged
    status, body = http(minority.base_url, "PUT", f"/{INDEX}/_doc/minority-write", {"n": 1})
    assert status not in (200, 201), (status, body)

    # the majority elects another master and (if the primary was on the isolated node) promotes a replica
    eventually(lambda: master_name(majority[0]) not in (None, old_master), "a master on the majority side", members)

    def majority_write():
        status, body = http(majority[0].base_url, "PUT", f"/{INDEX}/_doc/majority-write", {"n": 2}, timeout=60)
        return status in (200, 201) and body

    eventually(majority_write, "a write acknowledged through the majority", members)

    write_faults(faults_path, members, [], generation=3)
    for member in members:
        eventually(lambda: http(member.base_url, "GET", "/_cluster/health?wait_for_nodes=3&timeout=5s",
                                timeout=10)[0] == 200, f"{member.flags['name']} seeing three nodes", members)
    eventually(lambda: http(majority[0].base_url, "GET",
                            f"/_cluster/health/{INDEX}?wait_for_status=green&timeout=5s", timeout=10)[0] == 200,
               "green after healing", members)

    def converged():
        http(majority[0].base_url, "POST", f"/{INDEX}/_refresh", timeout=30)
        status, rows = http(majority[0].base_url, "GET", f"/_cat/shards/{INDEX}?format=json", timeout=10)
        if status != 200 or len(rows) != 3 or any(row.get("state") != "STARTED" for row in rows):
            return None
        return {row["docs"] for row in rows} == {"2"} and rows

    eventually(converged, "every copy holding exactly the two acknowledged documents", members)
    for member in members:
        status, _ = http(member.base_url, "GET", f"/{INDEX}/_doc/majority-write", timeout=30)
        assert status == 200
        status, _ = http(member.base_url, "GET", f"/{INDEX}/_doc/minority-write", timeout=30)
        assert status == 404
