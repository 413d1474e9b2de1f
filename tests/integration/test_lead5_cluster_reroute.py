"""``_cluster/reroute``: after every in-sync copy of a shard is lost, only the operator's explicit
allocate_stale_primary / allocate_empty_primary (with accept_data_loss) makes it writable again,
and the copies that held data from before that decision never bring it back (issue 4, DESIGN §10).
Real nodes on loopback, driven with opensearch-py."""

import time

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import RequestError, TransportError

pytestmark = pytest.mark.integration


def health(client, index=None, **wanted):
    """``_cluster/health`` with its wait_for_* conditions, retried while no master is elected
    yet (a killed master's successor takes a Raft election; health answers 503 until then)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            return client.cluster.health(index=index, params={"timeout": "90s", "request_timeout": 120,
                                                              **{key: str(value) for key, value in wanted.items()}})
        except TransportError as error:
            if error.status_code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def client_for(member):
    return OpenSearch(hosts=[member.base_url], timeout=60, max_retries=0)


def copies_of(client, index):
    return client.cat.shards(index=index, format="json")


def ids_on_node(client, index, node_name):
    """The documents the copy on ``node_name`` holds (a search pinned to that node)."""
    node_id = next(node_id for node_id, node in client.nodes.info()["nodes"].items() if node["name"] == node_name)
    client.indices.refresh(index=index)
    hits = client.search(index=index, body={"size": 100, "query": {"match_all": {}}},
                         params={"preference": f"_only_nodes:{node_id}"})["hits"]["hits"]
    return sorted(hit["_id"] for hit in hits)


def test_an_empty_primary_needs_accept_data_loss_and_stale_copies_do_not_come_back(node_factory, wait_until):
    members = node_factory.start_cluster(3)
    by_name = {member.flags["name"]: member for member in members}
    client = client_for(members[0])
    client.indices.create(index="lost", body={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    health(client, index="lost", wait_for_status="green")
    for number in range(5):
        client.index(index="lost", id=f"old-{number}", body={"n": number})
    client.indices.flush(index="lost")
    holder_name = copies_of(client, "lost")[0]["node"]
    survivors = [name for name in by_name if name != holder_name]
    client = client_for(by_name[survivors[0]])
    by_name[holder_name].kill()
    assert wait_until(lambda: health(client, index="lost")["status"] == "red")
    time.sleep(2)  # the allocator runs rounds meanwhile: the shard stays red, never an empty primary
    assert client.cluster.health(index="lost")["status"] == "red"

    target = {"index": "lost", "shard": 0, "node": survivors[0]}
    with pytest.raises(RequestError) as refused:
        client.cluster.reroute(body={"commands": [{"allocate_empty_primary": target}]})
    assert refused.value.error == "illegal_argument_exception"
    assert "accept_data_loss" in str(refused.value.info)
    with pytest.raises(RequestError) as no_data:  # the survivor never held this shard
        client.cluster.reroute(body={"commands": [{"allocate_stale_primary": {**target, "accept_data_loss": True}}]})
    assert "no data for shard" in str(no_data.value.info)

    explained = client.cluster.reroute(
        body={"commands": [{"allocate_empty_primary": target},
                           {"allocate_empty_primary": {**target, "accept_data_loss": True}}]},
        params={"dry_run": "true", "explain": "true"})
    assert [e["decisions"][0]["decision"] for e in explained["explanations"]] == ["NO", "YES"]
    assert explained["explanations"][0]["decisions"][0]["decider"] == "allocate_empty_primary_allocation_command"
    assert "metadata" not in explained["state"]
    assert client.cluster.health(index="lost")["status"] == "red"  # a dry run changes nothing

    answer = client.cluster.reroute(body={"commands": [{"allocate_empty_primary": {**target, "accept_data_loss": True}}]})
    assert answer["acknowledged"] is True
    health(client, index="lost", wait_for_status="green")
    new_ids = [f"new-{number}" for number in range(8)]
    for document_id in new_ids:  # more than the old history: a recovery by operations would
        client.index(index="lost", id=document_id, body={"n": 100})  # only fetch seq_nos 5–7
    client.indices.refresh(index="lost")
    assert client.count(index="lost")["count"] == 8

    # the old holder returns with its five documents on disk; it must become a copy of the new
    # history, not bring them back beside it
    client.cluster.put_settings(body={"persistent": {"cluster.routing.allocation.exclude._name": survivors[1]}})
    by_name[holder_name].start()
    client.indices.put_settings(index="lost", body={"index": {"number_of_replicas": 1}})
    health(client, index="lost", wait_for_status="green", wait_for_nodes=3)
    assert sorted(copy["node"] for copy in copies_of(client, "lost")) == sorted([survivors[0], holder_name])
    assert ids_on_node(client, "lost", holder_name) == new_ids
    assert ids_on_node(client, "lost", survivors[0]) == new_ids


def test_a_stale_primary_is_the_operators_choice_and_the_newer_copy_is_rewritten_from_it(node_factory, wait_until):
    members = node_factory.start_cluster(3)
    by_name = {member.flags["name"]: member for member in members}
    names = sorted(by_name)
    client = client_for(members[0])
    client.cluster.put_settings(body={"persistent": {"cluster.routing.allocation.exclude._name": names[2]}})
    client.indices.create(index="stale", body={"settings": {"number_of_shards": 1, "number_of_replicas": 1}})
    health(client, index="stale", wait_for_status="green")
    for number in range(3):
        client.index(index="stale", id=f"both-{number}", body={"n": number})
    copies = {copy["prirep"]: copy["node"] for copy in copies_of(client, "stale")}
    primary_name, replica_name = copies["p"], copies["r"]
    client = client_for(by_name[names[2]])  # coordinates from the node that holds no copy

    by_name[replica_name].kill()
    for number in range(2):  # acknowledged by the primary alone once the replica is failed
        client.index(index="stale", id=f"primary-only-{number}", body={"n": number})
    # let the primary's global checkpoint sync run (1 s after writes stop, ADR 0294): its
    # checkpoint then covers the two documents only it holds, so a recovery by operations
    # would keep them on it beside the forced primary's different history
    time.sleep(3)
    by_name[primary_name].kill()
    by_name[replica_name].start()  # back at once: two of the three voters keep a master
    health(client, wait_for_nodes=2)
    assert wait_until(lambda: health(client, index="stale")["status"] == "red")
    time.sleep(2)  # the returned node reports its copy, which is not in sync: still red
    assert client.cluster.health(index="stale")["status"] == "red"

    client.cluster.reroute(body={"commands": [{"allocate_stale_primary": {
        "index": "stale", "shard": 0, "node": replica_name, "accept_data_loss": True}}]})
    health(client, index="stale", wait_for_status="yellow")
    for number in range(4):  # seq_nos 3–6: past the old primary's history, which ends at 4
        client.index(index="stale", id=f"after-{number}", body={"n": number})
    by_name[primary_name].start()
    health(client, index="stale", wait_for_status="green", wait_for_nodes=3)
    expected = ["after-0", "after-1", "after-2", "after-3", "both-0", "both-1", "both-2"]
    assert ids_on_node(client, "stale", replica_name) == expected
    assert ids_on_node(client, "stale", primary_name) == expected  # its two newer documents are gone
