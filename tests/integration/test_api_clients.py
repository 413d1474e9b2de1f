"""The REST API through the clients users have: opensearch-py and elasticsearch-py 7.17, on a
real node process — indices, mappings, settings, aliases, CRUD with parameters, conflicts,
helpers.bulk / parallel_bulk, error bodies, cat and health."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_opensearch_py_index_lifecycle_mappings_settings_and_aliases(opensearch_client):
    client = opensearch_client
    created = client.indices.create(index="lifecycle", body={
        "settings": {"index": {"number_of_shards": 2, "number_of_replicas": 0}},
        "mappings": {"properties": {"title": {"type": "text"}, "tag": {"type": "keyword"}}},
        "aliases": {"lifecycle-alias": {}}})
    assert created == {"acknowledged": True, "shards_acknowledged": True, "index": "lifecycle"}
    assert client.indices.exists(index="lifecycle")
    assert not client.indices.exists(index="no-such-index")
    mapping = client.indices.get_mapping(index="lifecycle")
    assert mapping["lifecycle"]["mappings"]["properties"]["tag"]["type"] == "keyword"
    client.indices.put_mapping(index="lifecycle", body={"properties": {"count": {"type": "long"}}})
    assert "count" in client.indices.get_mapping(index="lifecycle")["lifecycle"]["mappings"]["properties"]
    client.indices.put_settings(index="lifecycle", body={"index": {"refresh_interval": "2s"}})
    settings = client.indices.get_settings(index="lifecycle")["lifecycle"]["settings"]["index"]
    assert settings["refresh_interval"] == "2s" and settings["number_of_shards"] == "2"
    assert client.indices.exists_alias(name="lifecycle-alias")
    client.indices.put_alias(index="lifecycle", name="second")
    assert sorted(client.indices.get_alias(index="lifecycle")["lifecycle"]["aliases"]) == ["lifecycle-alias", "second"]
    client.indices.delete_alias(index="lifecycle", name="second")
    assert client.indices.delete(index="lifecycle") == {"acknowledged": True}
    assert not client.indices.exists(index="lifecycle")


def test_opensearch_py_document_crud_with_parameters_and_conflicts(opensearch_client):
    from opensearchpy.exceptions import ConflictError, NotFoundError, RequestError

    client = opensearch_client
    client.indices.create(index="crud", body={"settings": {"number_of_shards": 3, "number_of_replicas": 0}})
    indexed = client.index(index="crud", body={"title": "one", "n": 1}, id="1", refresh=True)
    assert indexed["result"] == "created" and indexed["_version"] == 1
    got = client.get(index="crud", id="1")
    assert got["_source"] == {"title": "one", "n": 1} and got["_seq_no"] == indexed["_seq_no"]
    assert client.get_source(index="crud", id="1") == {"title": "one", "n": 1}
    assert client.exists(index="crud", id="1") and not client.exists(index="crud", id="2")
    client.index(index="crud", body={"title": "routed"}, id="r", routing="user-7")
    assert client.get(index="crud", id="r", routing="user-7")["found"]
    with pytest.raises(ConflictError) as conflict:
        client.create(index="crud", id="1", body={"title": "again"})
    assert conflict.value.status_code == 409
    assert conflict.value.error == "version_conflict_engine_exception"
    with pytest.raises(ConflictError):
        client.index(index="crud", body={"title": "stale"}, id="1", if_seq_no=indexed["_seq_no"] + 100,
                     if_primary_term=indexed["_primary_term"])
    updated = client.index(index="crud", body={"title": "fresh"}, id="1", if_seq_no=indexed["_seq_no"],
                           if_primary_term=indexed["_primary_term"], refresh="wait_for")
    assert updated["_version"] == 2
    external = client.index(index="crud", body={"v": 1}, id="ext", version=5, version_type="external")
    assert external["_version"] == 5
    partial = client.update(index="crud", id="1", body={"doc": {"extra": True}}, retry_on_conflict=2)
    assert partial["result"] == "updated"
    assert client.get(index="crud", id="1", _source_includes="extra")["_source"] == {"extra": True}
    upserted = client.update(index="crud", id="u", body={"doc": {"a": 1}, "doc_as_upsert": True})
    assert upserted["result"] == "created"
    assert client.delete(index="crud", id="u")["result"] == "deleted"
    with pytest.raises(NotFoundError) as missing:
        client.get(index="crud", id="u")
    assert missing.value.info == {"_index": "crud", "_id": "u", "found": False}
    with pytest.raises(NotFoundError) as missing_index:
        client.get(index="no-such-index", id="1")
    assert missing_index.value.error == "index_not_found_exception"
    with pytest.raises(RequestError):
        client.index(index="crud", body={"n": "not-a-number"}, id="bad")
    many = client.mget(body={"ids": ["1", "ext", "nope"]}, index="crud")
    assert [doc["found"] for doc in many["docs"]] == [True, True, False]


def test_opensearch_py_bulk_helpers_index_everything(opensearch_client):
    from opensearchpy import helpers

    client = opensearch_client
    actions = ({"_index": "bulk-helper", "_id": str(n), "_source": {"n": n, "word": f"w{n % 7}"}}
               for n in range(1500))
    success, errors = helpers.bulk(client, actions, chunk_size=400, refresh=True)
    assert success == 1500 and errors == []
    results = list(helpers.parallel_bulk(client, ({"_index": "bulk-helper", "_id": f"p{n}", "_source": {"n": n}}
                                                  for n in range(600)), thread_count=3, chunk_size=100))
    assert all(ok for ok, _ in results) and len(results) == 600
    client.indices.refresh(index="bulk-helper")
    assert client.cat.count(index="bulk-helper", format="json")[0]["count"] == "2100"
    failed = helpers.bulk(client, [{"_op_type": "create", "_index": "bulk-helper", "_id": "1", "_source": {}}],
                          raise_on_error=False)
    assert failed[0] == 0 and failed[1][0]["create"]["status"] == 409


def test_health_and_cat_apis_through_the_client(opensearch_client):
    client = opensearch_client
    client.indices.create(index="cat-me", body={"settings": {"number_of_replicas": 0}})
    client.index(index="cat-me", body={"a": 1}, id="1", refresh=True)
    health = client.cluster.health(wait_for_status="green", index="cat-me")
    assert health["status"] == "green" and health["timed_out"] is False
    indices = client.cat.indices(index="cat-me", format="json")
    assert indices[0]["index"] == "cat-me" and indices[0]["docs.count"] == "1"
    text = client.cat.indices(index="cat-me", v=True, h="index,docs.count")
    assert text.splitlines()[0].split() == ["index", "docs.count"]
    assert client.cat.health(format="json")[0]["status"] in ("green", "yellow")
    assert any(row["index"] == "cat-me" for row in client.cat.shards(format="json"))
    assert len(client.cat.nodes(format="json")) == 1
    stats = client.indices.stats(index="cat-me")
    assert stats["indices"]["cat-me"]["primaries"]["docs"]["count"] == 1
    node_stats = client.nodes.stats()
    assert node_stats["_nodes"]["successful"] == 1
    state = client.cluster.state(metric="metadata", index="cat-me")
    assert "cat-me" in state["metadata"]["indices"]


def test_elasticsearch_py_7_crud_bulk_and_errors(elasticsearch_client):
    from elasticsearch import helpers
    from elasticsearch.exceptions import ConflictError, NotFoundError

    client = elasticsearch_client
    client.indices.create(index="es7", settings={"number_of_shards": 2, "number_of_replicas": 0})
    assert client.index(index="es7", id="1", document={"a": 1}, refresh=True)["result"] == "created"
    assert client.get(index="es7", id="1")["_source"] == {"a": 1}
    with pytest.raises(ConflictError):
        client.create(index="es7", id="1", document={"a": 2})
    with pytest.raises(NotFoundError):
        client.get(index="es7", id="missing")
    success, _ = helpers.bulk(client, ({"_index": "es7", "_id": f"b{n}", "_source": {"n": n}} for n in range(300)))
    assert success == 300
    client.indices.refresh(index="es7")
    assert client.indices.stats(index="es7")["indices"]["es7"]["primaries"]["docs"]["count"] == 301
    assert client.cluster.health(index="es7")["status"] == "green"
    client.indices.put_alias(index="es7", name="es7-alias")
    assert client.indices.get_alias(name="es7-alias") == {"es7": {"aliases": {"es7-alias": {}}}}
    client.indices.delete(index="es7")
