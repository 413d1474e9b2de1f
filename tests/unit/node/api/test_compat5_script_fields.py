"""script_fields in _search: painless per hit over doc values read from the source (typed and
sorted by the mapping), params and _source, the request's _source choice applied afterwards,
and OpenSearch's errors (text fields without field data, unmapped fields, compile errors)."""

from __future__ import annotations


async def _catalog(api_node):
    await api_node.request("PUT", "/catalog", {
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {"properties": {"price": {"type": "double"}, "stock": {"type": "integer"},
                                    "title": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
                                    "tags": {"type": "keyword"}}}})
    await api_node.request("PUT", "/catalog/_doc/1", {"price": 10, "stock": 3, "title": "Red Shoe",
                                                      "tags": ["b", "a"]})
    await api_node.request("PUT", "/catalog/_doc/2?refresh=true", {"price": 2.5, "title": "Hat", "tags": []})


async def test_script_fields_compute_values_per_hit(api_node):
    await _catalog(api_node)
    status, body = await api_node.request("POST", "/catalog/_search", {
        "sort": [{"price": "desc"}],
        "script_fields": {
            "total": {"script": {"source": "doc['price'].value * params.factor", "params": {"factor": 2}}},
            "first_tag": {"script": "doc['tags'].size() == 0 ? null : doc['tags'].value"},
            "raw_title": {"script": "doc['title.raw'].value.toUpperCase()"},
            "has_stock": {"script": "!doc['stock'].empty"},
            "from_source": {"script": "params._source.title + '/' + _source.price"}}})
    assert status == 200
    first, second = body["hits"]["hits"]
    assert first["fields"] == {"total": [20.0], "first_tag": ["a"], "raw_title": ["RED SHOE"], "has_stock": [True],
                               "from_source": ["Red Shoe/10"]}
    assert second["fields"]["total"] == [5.0] and second["fields"]["first_tag"] == [None]
    assert second["fields"]["has_stock"] == [False]
    assert first["_source"]["title"] == "Red Shoe"


async def test_the_requests_source_choice_applies_after_the_scripts(api_node):
    await _catalog(api_node)
    status, body = await api_node.request("POST", "/catalog/_search", {
        "_source": False, "query": {"ids": {"values": ["1"]}},
        "script_fields": {"p": {"script": "params._source.price + 1"}}})
    assert status == 200 and "_source" not in body["hits"]["hits"][0]
    assert body["hits"]["hits"][0]["fields"] == {"p": [11]}
    status, body = await api_node.request("POST", "/catalog/_search", {
        "_source": ["stock"], "query": {"ids": {"values": ["1"]}},
        "script_fields": {"p": {"script": "doc['price'].value"}}})
    assert body["hits"]["hits"][0]["_source"] == {"stock": 3} and body["hits"]["hits"][0]["fields"] == {"p": [10.0]}


async def test_text_fields_unmapped_fields_and_compile_errors_fail_the_search(api_node):
    await _catalog(api_node)
    for source, reason in (("doc['title'].value", "Text fields are not optimised"),
                           ("doc['nope'].value", "No field found for [nope] in mapping"),
                           ("doc['price'].value +", "compile error")):
        status, body = await api_node.request("POST", "/catalog/_search", {"script_fields": {"f": {"script": source}}})
        assert status == 400 and body["error"]["type"] == "search_phase_execution_exception", (source, body)
        assert reason in str(body["error"]["caused_by"]), (source, body)


async def test_a_failing_field_with_ignore_failure_is_left_out(api_node):
    await _catalog(api_node)
    status, body = await api_node.request("POST", "/catalog/_search", {
        "query": {"ids": {"values": ["2"]}},
        "script_fields": {"stock": {"script": "doc['stock'].value", "ignore_failure": True},
                          "price": {"script": "doc['price'].value"}}})
    assert status == 200 and body["hits"]["hits"][0]["fields"] == {"price": [2.5]}


async def test_msearch_items_carry_script_fields(api_node):
    await _catalog(api_node)
    import orjson
    lines = [{"index": "catalog"}, {"query": {"ids": {"values": ["1"]}}, "script_fields": {
        "p": {"script": "doc['price'].value / 2"}}}]
    status, body = await api_node.request("POST", "/_msearch", raw=b"".join(orjson.dumps(line) + b"\n"
                                                                          for line in lines),
                                          content_type="application/x-ndjson")
    assert status == 200 and body["responses"][0]["hits"]["hits"][0]["fields"] == {"p": [5.0]}


async def test_doc_values_are_typed_as_their_mapping_stores_them(api_node):
    # OpenSearch's lang-painless 50_script_doc_values.yml (the types Quidditch maps)
    status, _ = await api_node.request("PUT", "/typed", {"mappings": {"properties": {
        "boolean": {"type": "boolean"}, "date": {"type": "date"}, "ip": {"type": "ip"},
        "keyword": {"type": "keyword"}, "long": {"type": "long"}, "integer": {"type": "integer"},
        "short": {"type": "short"}, "byte": {"type": "byte"}, "double": {"type": "double"},
        "float": {"type": "float"}, "half_float": {"type": "half_float"},
        "scaled_float": {"type": "scaled_float", "scaling_factor": 100}}}})
    assert status == 200     # token_count and geo_point, which Quidditch does not map, are left out
    await api_node.request("PUT", "/typed/_doc/1?refresh=true", {
        "boolean": True, "date": "2017-01-01T12:11:12", "ip": "192.168.0.1", "keyword": "not split at all",
        "long": 12348732141234, "integer": 134134566, "short": 1324, "byte": 12, "double": 3.14159265358979,
        "float": 3.141592654, "half_float": 3.140625, "scaled_float": 3.14})
    expected = {"boolean": True, "date": "2017-01-01T12:11:12.000Z", "ip": "192.168.0.1",
                "keyword": "not split at all", "long": 12348732141234, "integer": 134134566, "short": 1324,
                "byte": 12, "double": 3.14159265358979, "float": 3.1415927410125732, "half_float": 3.140625,
                "scaled_float": 3.14}
    for name, value in expected.items():
        for source in (f"doc['{name}'].get(0)", f"doc.{name}.value"):
            status, body = await api_node.request("POST", "/typed/_search", {
                "script_fields": {"field": {"script": {"source": source}}}})
            assert status == 200, (source, body["error"]["caused_by"].get("caused_by"))
            assert body["hits"]["hits"][0]["fields"]["field"] == [value], (source, body["hits"]["hits"][0])
