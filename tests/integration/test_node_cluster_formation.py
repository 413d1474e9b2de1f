"""Three voters started with --seed-hosts form one cluster and agree on it."""

import json
import urllib.request

import pytest

pytestmark = pytest.mark.integration


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_three_seed_hosts_bootstrap_one_cluster_and_every_node_reports_its_uuid(node_factory):
    members = node_factory.start_cluster(3)
    uuids = set()
    for member in members:
        # readiness does not imply the cluster formed: poll each node's root until bootstrapped
        for _ in range(600):
            root = get_json(member.base_url + "/")
            if root["cluster_uuid"] != "_na_":
                break
            __import__("time").sleep(0.1)
        uuids.add(root["cluster_uuid"])
    assert len(uuids) == 1
    assert "_na_" not in uuids
    for member in members:
        assert member.stop() == 0


def test_a_node_outside_the_seed_list_joins_as_a_non_voting_member(node_factory):
    members = node_factory.start_cluster(3, prefix="voter")
    follower = node_factory.start_node(
        "non-voter", workers=1, seed_hosts=members[0].flags["seed-hosts"],
        cluster_secret_file=members[0].flags["cluster-secret-file"])
    voters_uuid = get_json(members[0].base_url + "/")["cluster_uuid"]
    assert get_json(follower.base_url + "/")["cluster_uuid"] == voters_uuid
    log_lines = [json.loads(line) for line in follower.log_path.read_text().splitlines() if line.strip()]
    roles = {line["fields"]["role"] for line in log_lines if line["message"] == "raft status"}
    assert roles == {"read_only"}
    assert any(line["message"] == "node registered in the cluster state" for line in log_lines)
