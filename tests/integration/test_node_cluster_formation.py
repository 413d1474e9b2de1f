"""Three voters started with --seed-hosts form one cluster and agree on it."""

import json
import time
import urllib.request

import pytest

pytestmark = pytest.mark.integration


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_three_seed_hosts_form_one_cluster_that_a_non_voter_can_join(node_factory):
    members = node_factory.start_cluster(3)
    uuids = {get_json(member.base_url + "/")["cluster_uuid"] for member in members}
    assert len(uuids) == 1 and "_na_" not in uuids
    follower = node_factory.start_node(
        "non-voter", workers=1, seed_hosts=members[0].flags["seed-hosts"],
        cluster_secret_file=members[0].flags["cluster-secret-file"])
    assert get_json(follower.base_url + "/")["cluster_uuid"] in uuids
    # a node answers HTTP as soon as it knows the cluster; it registers itself right after (ADR 0271)
    health = get_json(follower.base_url + "/_cluster/health?wait_for_nodes=4&timeout=60s")
    assert health["number_of_nodes"] == 4 and not health["timed_out"], health
    deadline = time.monotonic() + 30
    while True:   # the line is written once the registration's outcome reaches the follower
        log_lines = [json.loads(line) for line in follower.log_path.read_text().splitlines() if line.strip()]
        registered = any(line["message"] == "node registered in the cluster state" for line in log_lines)
        if registered or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert registered
    roles = {line["fields"]["role"] for line in log_lines if line["message"] == "raft status"}
    assert roles == {"read_only"}
    for member in members:
        assert member.stop() == 0
