"""The resize API through the official clients on a real node: opensearch-py's
``indices.shrink`` / ``split`` / ``clone`` and elasticsearch-py 7's ``indices.shrink``, on a
write-blocked index, give targets with every document and the requested shard counts."""

import pytest
from opensearchpy import helpers

pytestmark = pytest.mark.integration


def test_shrink_split_and_clone_with_opensearch_py_and_elasticsearch_py(opensearch_client, elasticsearch_client):
    client = opensearch_client
    client.indices.create(index="logs-big", body={"settings": {"number_of_shards": 4, "number_of_replicas": 0}})
    helpers.bulk(client, [{"_index": "logs-big", "_id": str(number), "_source": {"n": number}}
                          for number in range(200)], refresh=True)
    client.indices.put_settings(index="logs-big", body={"index.blocks.write": True})
    clear = {"index.blocks.write": None, "index.number_of_replicas": 0}

    shrunk = client.indices.shrink(index="logs-big", target="logs-small",
                                   body={"settings": {**clear, "index.number_of_shards": 1}})
    split = client.indices.split(index="logs-big", target="logs-wide",
                                 body={"settings": {**clear, "index.number_of_shards": 8}})
    cloned = client.indices.clone(index="logs-big", target="logs-copy", body={"settings": clear})
    elastic = elasticsearch_client.indices.shrink(index="logs-big", target="logs-half",
                                                  body={"settings": {**clear, "index.number_of_shards": 2}})
    for answer, name in ((shrunk, "logs-small"), (split, "logs-wide"), (cloned, "logs-copy"), (elastic, "logs-half")):
        assert answer == {"acknowledged": True, "shards_acknowledged": True, "index": name}
    for name, shards in (("logs-small", 1), ("logs-wide", 8), ("logs-copy", 4), ("logs-half", 2)):
        assert client.count(index=name)["count"] == 200
        assert client.indices.get_settings(index=name)[name]["settings"]["index"]["number_of_shards"] == str(shards)
        assert client.get(index=name, id="123")["_source"] == {"n": 123}
