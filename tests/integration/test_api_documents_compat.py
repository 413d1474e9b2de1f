"""Single-document API details OpenSearch clients and its REST suite rely on, on a real node:
stored_fields on GET and _mget, and the "did you mean" hint for a misspelt update key."""

from __future__ import annotations

import pytest
from opensearchpy.exceptions import RequestError

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stored_index(opensearch_client):
    opensearch_client.indices.create(index="stored-fields", body={
        "settings": {"number_of_replicas": 0},
        "mappings": {"properties": {"foo": {"type": "keyword", "store": True},
                                    "count": {"type": "integer", "store": True},
                                    "plain": {"type": "keyword"},
                                    "inner": {"properties": {"tags": {"type": "keyword", "store": True}}}}}})
    opensearch_client.index(index="stored-fields", id="1", body={"foo": "bar", "count": 1, "plain": "p",
                                                           "inner": {"tags": ["x", "y"]}})
    yield "stored-fields"
    opensearch_client.indices.delete(index="stored-fields")


def test_get_with_stored_fields_returns_their_values_and_no_source(opensearch_client, stored_index):
    answer = opensearch_client.get(index=stored_index, id="1", stored_fields="foo,count,plain,inner.tags")
    assert answer["fields"] == {"foo": ["bar"], "count": [1], "inner.tags": ["x", "y"]}  # plain is not stored
    assert "_source" not in answer


def test_get_with_stored_fields_including_source_returns_both(opensearch_client, stored_index):
    answer = opensearch_client.get(index=stored_index, id="1", stored_fields="foo,_source")
    assert answer["fields"] == {"foo": ["bar"]}
    assert answer["_source"]["foo"] == "bar"


def test_mget_entries_take_their_own_stored_fields(opensearch_client, stored_index):
    answer = opensearch_client.mget(body={"docs": [
        {"_index": stored_index, "_id": "1", "stored_fields": ["count"]},
        {"_index": stored_index, "_id": "1"}]})
    first, second = answer["docs"]
    assert first["fields"] == {"count": [1]} and "_source" not in first
    assert "fields" not in second and second["_source"]["plain"] == "p"


def test_a_misspelt_update_key_names_the_key_it_probably_meant(opensearch_client, stored_index):
    with pytest.raises(RequestError) as raised:
        opensearch_client.update(index=stored_index, id="1", body={"dac": {"foo": "baz"}, "upsert": {"foo": "bar"}})
    assert raised.value.status_code == 400
    assert raised.value.info["error"]["reason"] == "[UpdateRequest] unknown field [dac] did you mean [doc]?"


def test_an_index_with_source_disabled_never_returns_the_source(opensearch_client):
    from opensearchpy.exceptions import NotFoundError

    opensearch_client.indices.create(index="no-source", body={
        "settings": {"number_of_replicas": 0}, "mappings": {"_source": {"enabled": False}}})
    try:
        opensearch_client.index(index="no-source", id="1", body={"foo": "bar"}, refresh=True)
        answer = opensearch_client.get(index="no-source", id="1")
        assert answer["found"] is True and "_source" not in answer
        with pytest.raises(NotFoundError):
            opensearch_client.get_source(index="no-source", id="1")
        docs = opensearch_client.mget(body={"docs": [{"_index": "no-source", "_id": "1"}]})["docs"]
        assert docs[0]["found"] is True and "_source" not in docs[0]
    finally:
        opensearch_client.indices.delete(index="no-source")
