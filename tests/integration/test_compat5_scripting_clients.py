"""Painless scripting and _reindex through the official clients on real node processes:
opensearch-py's update with a script (upsert, scripted_upsert, noop), update_by_query with a
script, reindex (query, script, max_docs) and helpers.reindex, an ingest pipeline with a script
processor and an `if`; elasticsearch-py 7.17's update with a script; and on two nodes, scripted
updates and a reindex reaching both copies of a replicated shard (they take the ordinary write
path)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

SETTINGS = {"settings": {"number_of_shards": 2, "number_of_replicas": 0}}


def test_opensearch_py_scripted_updates(opensearch_client):
    client = opensearch_client
    client.indices.create(index="scripted", body=SETTINGS)
    client.index(index="scripted", id="1", body={"counter": 1, "tags": ["red"]}, refresh=True)
    answer = client.update(index="scripted", id="1", body={"script": {
        "source": "ctx._source.counter += params.count; if (!ctx._source.tags.contains(params.tag)) "
                  "{ ctx._source.tags.add(params.tag) }", "lang": "painless", "params": {"count": 4, "tag": "blue"}}})
    assert answer["result"] == "updated" and answer["_version"] == 2
    assert client.get(index="scripted", id="1")["_source"] == {"counter": 5, "tags": ["red", "blue"]}
    answer = client.update(index="scripted", id="1", body={"script": "ctx.op = 'noop'"})
    assert answer["result"] == "noop"
    answer = client.update(index="scripted", id="2", body={"script": {"source": "ctx._source.counter += 1"},
                                                           "upsert": {"counter": 1}})
    assert answer["result"] == "created"
    answer = client.update(index="scripted", id="3", body={
        "script": {"source": "ctx._source.counter = params.start", "params": {"start": 10}},
        "upsert": {}, "scripted_upsert": True}, refresh=True)
    assert answer["result"] == "created" and client.get(index="scripted", id="3")["_source"] == {"counter": 10}
    from opensearchpy.exceptions import RequestError

    with pytest.raises(RequestError) as failed:
        client.update(index="scripted", id="1", body={"script": "ctx._source.counter += missing_variable"})
    assert failed.value.status_code == 400
    assert failed.value.info["error"]["caused_by"]["type"] == "script_exception"


def test_opensearch_py_update_by_query_and_reindex(opensearch_client):
    from opensearchpy import helpers

    client = opensearch_client
    client.indices.create(index="catalog", body=SETTINGS)
    helpers.bulk(client, [{"_index": "catalog", "_id": str(number),
                           "_source": {"price": number, "kind": "even" if number % 2 == 0 else "odd"}}
                          for number in range(30)], refresh=True)
    answer = client.update_by_query(index="catalog", body={
        "query": {"term": {"kind": "odd"}}, "script": {"source": "ctx._source.price *= 2"}}, refresh=True)
    assert answer["updated"] == 15 and answer["failures"] == []
    assert client.get(index="catalog", id="3")["_source"]["price"] == 6
    answer = client.reindex(body={"source": {"index": "catalog", "query": {"range": {"price": {"lt": 10}}}},
                                  "dest": {"index": "catalog-cheap"},
                                  "script": {"source": "ctx._source.cheap = true"}}, refresh=True)
    assert answer["created"] == 7 and answer["total"] == 7 and answer["failures"] == []
    assert client.count(index="catalog-cheap")["count"] == 7
    assert client.get(index="catalog-cheap", id="4")["_source"] == {"price": 4, "kind": "even", "cheap": True}
    answer = client.reindex(body={"source": {"index": "catalog", "size": 4}, "dest": {"index": "catalog-some"},
                                  "max_docs": 10}, refresh=True)
    assert answer["created"] == 10 and answer["batches"] == 3
    copied, errors = helpers.reindex(client, source_index="catalog", target_index="catalog-helper")
    assert copied == 30 and not errors


def test_opensearch_py_ingest_pipeline_with_a_script_and_a_condition(opensearch_client):
    client = opensearch_client
    client.ingest.put_pipeline(id="scored", body={"processors": [
        {"script": {"source": "ctx.total = ctx.price * params.rate", "params": {"rate": 2}}},
        {"set": {"field": "expensive", "value": True, "if": "ctx.total > 100"}}]})
    client.index(index="priced", id="1", body={"price": 10}, pipeline="scored", refresh=True)
    client.index(index="priced", id="2", body={"price": 60}, pipeline="scored", refresh=True)
    assert client.get(index="priced", id="1")["_source"] == {"price": 10, "total": 20}
    assert client.get(index="priced", id="2")["_source"] == {"price": 60, "total": 120, "expensive": True}


def test_elasticsearch_py_scripted_update(elasticsearch_client):
    client = elasticsearch_client
    client.index(index="es-scripted", id="1", body={"n": 1}, refresh=True)
    answer = client.update(index="es-scripted", id="1", body={"script": {"source": "ctx._source.n++"}})
    assert answer["result"] == "updated"
    assert client.get(index="es-scripted", id="1")["_source"] == {"n": 2}


def test_scripted_writes_reach_both_copies_on_two_nodes(node_factory, call):
    first, second = node_factory.start_cluster(2, prefix="scripting")
    status, health = call(first.base_url, "GET", "/_cluster/health?wait_for_nodes=2&timeout=90s")
    assert status == 200, health
    status, body = call(first.base_url, "PUT", "/copies", {"settings": {"number_of_shards": 1,
                                                                        "number_of_replicas": 1}})
    assert status == 200, body
    status, health = call(first.base_url, "GET", "/_cluster/health/copies?wait_for_status=green&timeout=90s")
    assert status == 200 and health["status"] == "green", health
    call(second.base_url, "PUT", "/copies/_doc/1", {"n": 1})
    status, body = call(second.base_url, "POST", "/copies/_update/1?refresh=true", {"script": "ctx._source.n += 41"})
    assert status == 200 and body["_shards"] == {"total": 2, "successful": 2, "failed": 0}, body
    status, body = call(first.base_url, "POST", "/_reindex?refresh=true", {
        "source": {"index": "copies"}, "dest": {"index": "copies-2"}, "script": "ctx._source.copied = true"})
    assert status == 200 and body["created"] == 1, body
    for preference in ("_primary", "_replica"):
        status, document = call(first.base_url, "GET", f"/copies/_doc/1?preference={preference}")
        assert status == 200 and document["_source"] == {"n": 42}, (preference, document)


def test_opensearch_py_search_with_script_fields(opensearch_client):
    client = opensearch_client
    client.indices.create(index="fielded", body={"mappings": {"properties": {"price": {"type": "double"}}}})
    client.index(index="fielded", id="1", body={"price": 4}, refresh=True)
    answer = client.search(index="fielded", body={"script_fields": {
        "doubled": {"script": {"source": "doc['price'].value * params.n", "params": {"n": 2}}}}})
    assert answer["hits"]["hits"][0]["fields"] == {"doubled": [8.0]}
