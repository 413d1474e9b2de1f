"""Data streams through opensearch-py on a real node: a data-stream template, writes with
``helpers.bulk`` (op_type create) that create the stream, search by the stream's name and by a
wildcard, a rollover, and the data stream API's get and delete."""

import pytest
from opensearchpy import helpers

pytestmark = pytest.mark.integration


def test_a_data_stream_with_opensearch_py(opensearch_client):
    client = opensearch_client
    client.indices.put_index_template(name="events", body={
        "index_patterns": ["events-*"], "data_stream": {}, "priority": 50,
        "template": {"settings": {"number_of_shards": 1, "number_of_replicas": 0}}})
    helpers.bulk(client, [{"_op_type": "create", "_index": "events-web",
                           "_source": {"@timestamp": f"2026-11-30T10:{minute:02d}:00Z", "path": f"/p{minute}"}}
                          for minute in range(40)], refresh=True)
    stream = client.indices.get_data_stream(name="events-web")["data_streams"][0]
    assert stream["generation"] == 1 and stream["indices"][0]["index_name"] == ".ds-events-web-000001"
    assert client.count(index="events-web")["count"] == 40
    assert client.search(index="events-*", body={"query": {"term": {"path.keyword": "/p7"}}})["hits"]["total"]["value"] == 1

    rolled = client.indices.rollover(alias="events-web")
    assert rolled["rolled_over"] and rolled["new_index"] == ".ds-events-web-000002"
    client.index(index="events-web", body={"@timestamp": "2026-11-30T11:00:00Z", "path": "/late"},
                 op_type="create", refresh=True)
    assert client.count(index="events-web")["count"] == 41

    assert client.indices.delete_data_stream(name="events-web")["acknowledged"]
    assert client.indices.get_data_stream(name="*")["data_streams"] == []
