"""A replica whose files on disk are corrupted (a committed segment file gone) is discarded and
recovered afresh from its primary when its node returns — the cluster turns green by itself and
the copy holds every document — instead of failing to open, being placed on the same node again
and failing again for ever (the hour soak of 2026-11-30 saw that loop on four nodes)."""

import time

import pytest

pytestmark = pytest.mark.integration


def test_a_replica_with_a_missing_segment_file_is_recovered_from_the_primary(node_factory, call):
    members = node_factory.start_cluster(3)
    first = members[0].base_url
    status, _ = call(first, "PUT", "/fragile", {"settings": {"number_of_shards": 1, "number_of_replicas": 1}})
    assert status == 200
    assert call(first, "GET", "/_cluster/health/fragile?wait_for_status=green&timeout=60s")[1]["status"] == "green"
    for number in range(20):
        assert call(first, "PUT", f"/fragile/_doc/{number}", {"n": number})[0] in (200, 201)
    assert call(first, "POST", "/fragile/_flush")[0] == 200
    shards = call(first, "GET", "/_cat/shards/fragile?format=json")[1]
    replica_node = next(shard["node"] for shard in shards if shard["prirep"] == "r")
    primary_node = next(shard["node"] for shard in shards if shard["prirep"] == "p")
    victim = next(member for member in members if member.flags["name"] == replica_node)
    survivor = next(member for member in members if member is not victim).base_url
    # the third node takes no copy: the replica can only come back on the victim, from its own files
    bystander = next(member.flags["name"] for member in members
                     if member.flags["name"] not in (replica_node, primary_node))
    status, _ = call(first, "PUT", "/_cluster/settings",
                     {"persistent": {"cluster.routing.allocation.exclude._name": bystander}})
    assert status == 200
    victim.stop()
    segment_files = sorted(victim.data_directory.glob("**/indices/*/0/seg_*.seg"))
    assert segment_files, "the replica's copy has committed segment files"
    segment_files[0].unlink()
    for number in range(20, 30):
        assert call(survivor, "PUT", f"/fragile/_doc/{number}", {"n": number})[0] in (200, 201)
    victim.start()
    health = call(survivor, "GET", "/_cluster/health/fragile?wait_for_status=green&timeout=90s")[1]
    assert health["status"] == "green"
    victim_output = "".join(path.read_text(errors="replace")
                            for path in victim.data_directory.parent.glob(f"{replica_node}*.out"))
    assert "corrupted: discarding them" in victim_output
    # the recovered copy answers alone with every document
    victim_url = victim.base_url
    assert call(victim_url, "POST", "/fragile/_refresh")[0] == 200
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        count = call(victim_url, "GET", "/fragile/_count?preference=_only_local")[1].get("count")
        if count == 30:
            break
        time.sleep(0.5)
    assert count == 30
