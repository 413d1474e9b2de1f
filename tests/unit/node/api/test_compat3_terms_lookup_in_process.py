"""Terms lookup against a real (in-process) node: the looked-up document is read through the
realtime get path, so a document indexed a moment ago is seen without a refresh."""

from __future__ import annotations

import pytest

from node.coordination.services import services_of
from node.coordination.terms_lookup import resolve_terms_lookups


async def test_a_lookup_reads_the_document_through_the_realtime_get_path(api_node):
    await api_node.request("PUT", "/users", {"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    status, _ = await api_node.request("PUT", "/users/_doc/u1", {"followers": ["1", "3"]})
    assert status == 201
    services = services_of(api_node.app)
    body = {"query": {"terms": {"user": {"index": "users", "id": "u1", "path": "followers"}}}}
    assert await resolve_terms_lookups(services, body) == {"query": {"terms": {"user": ["1", "3"]}}}
    missing = {"query": {"terms": {"user": {"index": "users", "id": "nope", "path": "followers"}}}}
    assert await resolve_terms_lookups(services, missing) == {"query": {"terms": {"user": []}}}


async def test_a_lookup_in_an_index_that_does_not_exist_is_index_not_found(api_node):
    services = services_of(api_node.app)
    body = {"query": {"terms": {"user": {"index": "absent", "id": "1", "path": "followers"}}}}
    with pytest.raises(Exception) as raised:
        await resolve_terms_lookups(services, body)
    assert getattr(raised.value, "opensearch_type", "") == "index_not_found_exception"
