"""Ingest pipelines and index settings validation through opensearch-py on a real node process:
put/get/simulate/delete a pipeline, index and helpers.bulk through it (request pipeline and
index.default_pipeline), and OpenSearch's 400 for an unknown index setting."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

PIPELINE = {"description": "normalise", "processors": [
    {"lowercase": {"field": "user"}},
    {"convert": {"field": "count", "type": "integer"}},
    {"set": {"field": "source_index", "value": "{{_index}}"}}]}


def test_opensearch_py_runs_ingest_pipelines_on_index_and_bulk(opensearch_client):
    from opensearchpy import helpers
    from opensearchpy.exceptions import NotFoundError, RequestError

    client = opensearch_client
    assert client.ingest.put_pipeline(id="normalise", body=PIPELINE) == {"acknowledged": True}
    assert client.ingest.get_pipeline(id="normalise") == {"normalise": PIPELINE}
    simulated = client.ingest.simulate(id="normalise", body={"docs": [{"_index": "x", "_source": {"user": "ANN",
                                                                                                   "count": "3"}}]})
    assert simulated["docs"][0]["doc"]["_source"] == {"user": "ann", "count": 3, "source_index": "x"}
    client.indices.create(index="ingested", body={"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    client.index(index="ingested", id="1", body={"user": "BOB", "count": "7"}, pipeline="normalise", refresh=True)
    assert client.get(index="ingested", id="1")["_source"] == {"user": "bob", "count": 7, "source_index": "ingested"}
    client.indices.put_settings(index="ingested", body={"index": {"default_pipeline": "normalise"}})
    actions = [{"_index": "ingested", "_id": f"b{number}", "_source": {"user": f"USER{number}", "count": str(number)}}
               for number in range(20)]
    succeeded, errors = helpers.bulk(client, actions, refresh=True)
    assert succeeded == 20 and errors == []
    assert client.get(index="ingested", id="b7")["_source"] == {"user": "user7", "count": 7,
                                                                 "source_index": "ingested"}
    with pytest.raises(RequestError) as missing:
        client.index(index="ingested", id="2", body={"user": "X"}, pipeline="absent")
    assert missing.value.status_code == 400
    assert client.ingest.delete_pipeline(id="normalise") == {"acknowledged": True}
    with pytest.raises(NotFoundError):
        client.ingest.get_pipeline(id="normalise")


def test_opensearch_py_gets_opensearchs_400_for_unknown_and_non_dynamic_index_settings(opensearch_client):
    from opensearchpy.exceptions import RequestError

    client = opensearch_client
    with pytest.raises(RequestError) as unknown:
        client.indices.create(index="strict-settings", body={"settings": {"index": {"frobnicate": True}}})
    assert unknown.value.error == "illegal_argument_exception"
    assert unknown.value.info["error"]["reason"].startswith("unknown setting [index.frobnicate] please check")
    assert not client.indices.exists(index="strict-settings")
    client.indices.create(index="strict-settings", body={"settings": {"number_of_replicas": 0}})
    with pytest.raises(RequestError) as static:
        client.indices.put_settings(index="strict-settings", body={"index": {"codec": "best_compression"}})
    assert "Can't update non dynamic settings [[index.codec]]" in static.value.info["error"]["reason"]


def test_opensearch_py_index_templates_shape_new_indices(opensearch_client):
    client = opensearch_client
    client.indices.put_template(name="legacy-logs", body={"index_patterns": ["tlogs-*"], "order": 1,
                                                           "settings": {"number_of_shards": 2, "number_of_replicas": 0},
                                                           "aliases": {"tlogs": {}}})
    assert client.indices.exists_template(name="legacy-logs")
    client.cluster.put_component_template(name="keyword-host", body={"template": {
        "mappings": {"properties": {"host": {"type": "keyword"}}}}})
    client.indices.put_index_template(name="tmetrics", body={"index_patterns": ["tmetrics-*"], "priority": 5,
                                                             "composed_of": ["keyword-host"],
                                                             "template": {"settings": {"number_of_replicas": 0}}})
    client.index(index="tlogs-1", id="1", body={"message": "auto-created"}, refresh=True)
    assert client.indices.get_settings(index="tlogs-1")["tlogs-1"]["settings"]["index"]["number_of_shards"] == "2"
    assert client.count(index="tlogs")["count"] == 1
    client.indices.create(index="tmetrics-1")
    mapping = client.indices.get_mapping(index="tmetrics-1")["tmetrics-1"]["mappings"]
    assert mapping["properties"]["host"] == {"type": "keyword"}
    templates = client.indices.get_index_template(name="tmetrics")["index_templates"]
    assert templates[0]["index_template"]["composed_of"] == ["keyword-host"]
    client.indices.delete_index_template(name="tmetrics")
    client.indices.delete_template(name="legacy-logs")
    assert not client.indices.exists_template(name="legacy-logs")
