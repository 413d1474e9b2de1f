"""The search APIs through real HTTP clients (opensearch-py and elasticsearch-py 7.17) against a
real node: queries of every family, aggregations, sort/from/size/search_after, scroll and
helpers.scan, point in time, msearch, count, by-query writes, explain and OpenSearch error bodies."""

import pytest
from opensearchpy import helpers as opensearch_helpers
from opensearchpy.exceptions import NotFoundError, RequestError

pytestmark = pytest.mark.integration

INDEX = "library"
GENRES = ["scifi", "fantasy", "history"]


def book(number):
    return {"title": f"book {number} " + ("snow crash" if number % 5 == 0 else "quiet river"),
            "genre": GENRES[number % 3], "pages": 100 + number * 10, "year": 1950 + number,
            "published": f"{1950 + number}-06-01", "available": number % 2 == 0}


@pytest.fixture(scope="module")
def library(opensearch_client):
    opensearch_client.indices.create(index=INDEX, body={
        "settings": {"number_of_shards": 3, "number_of_replicas": 0},
        "mappings": {"properties": {"title": {"type": "text"}, "genre": {"type": "keyword"},
                                    "pages": {"type": "integer"}, "year": {"type": "long"},
                                    "published": {"type": "date"}, "available": {"type": "boolean"}}}})
    actions = [{"_index": INDEX, "_id": str(number), "_source": book(number)} for number in range(30)]
    opensearch_helpers.bulk(opensearch_client, actions, refresh=True)
    return opensearch_client


def ids(response):
    return [hit["_id"] for hit in response["hits"]["hits"]]


@pytest.mark.parametrize("query, expected_count", [
    ({"match_all": {}}, 30),
    ({"match": {"title": "snow"}}, 6),
    ({"match_phrase": {"title": "snow crash"}}, 6),
    ({"term": {"genre": "scifi"}}, 10),
    ({"terms": {"genre": ["scifi", "history"]}}, 20),
    ({"range": {"pages": {"gte": 200, "lt": 300}}}, 10),
    ({"range": {"published": {"gte": "1970-01-01"}}}, 10),
    ({"exists": {"field": "genre"}}, 30),
    ({"prefix": {"genre": "fan"}}, 10),
    ({"wildcard": {"genre": "h*y"}}, 10),
    ({"ids": {"values": ["1", "2", "99"]}}, 2),
    ({"bool": {"must": [{"match": {"title": "river"}}], "filter": [{"term": {"available": True}}],
               "must_not": [{"term": {"genre": "scifi"}}]}}, 8),
    ({"query_string": {"query": "title:snow AND genre:scifi"}}, 2),
    ({"simple_query_string": {"query": "snow + crash", "fields": ["title"]}}, 6),
    ({"multi_match": {"query": "snow", "fields": ["title", "genre"]}}, 6),
    ({"fuzzy": {"genre": "scifu"}}, 10),
    ({"constant_score": {"filter": {"term": {"genre": "history"}}}}, 10),
])
def test_every_query_family_counts_the_same_through_search_and_count(library, query, expected_count):
    response = library.search(index=INDEX, body={"query": query, "size": 50})
    assert response["hits"]["total"] == {"value": expected_count, "relation": "eq"}
    assert len(response["hits"]["hits"]) == expected_count
    assert library.count(index=INDEX, body={"query": query})["count"] == expected_count


def test_a_search_reports_every_shard_as_successful_with_the_opensearch_header(library):
    response = library.search(index=INDEX, body={"query": {"match_all": {}}})
    assert response["_shards"] == {"total": 3, "successful": 3, "skipped": 0, "failed": 0}
    assert response["timed_out"] is False
    assert isinstance(response["took"], int)


def test_uri_search_uses_q_df_and_default_operator(library):
    response = library.search(index=INDEX, q="snow crash", df="title", default_operator="AND", size=50)
    assert sorted(ids(response), key=int) == [str(n) for n in range(0, 30, 5)]


def test_sort_from_and_size_page_through_hits_in_order(library):
    first = library.search(index=INDEX, body={"sort": [{"pages": "desc"}], "size": 5})
    second = library.search(index=INDEX, body={"sort": [{"pages": "desc"}], "size": 5, "from": 5})
    assert ids(first) == ["29", "28", "27", "26", "25"]
    assert ids(second) == ["24", "23", "22", "21", "20"]
    assert first["hits"]["hits"][0]["sort"] == [390]


def test_search_after_continues_where_the_previous_page_ended(library):
    seen = []
    after = None
    while True:
        body = {"sort": [{"year": "asc"}], "size": 7}
        if after is not None:
            body["search_after"] = after
        page = library.search(index=INDEX, body=body)["hits"]["hits"]
        if not page:
            break
        seen += [hit["_id"] for hit in page]
        after = page[-1]["sort"]
    assert seen == [str(number) for number in range(30)]


def test_source_filtering_from_body_and_parameters(library):
    response = library.search(index=INDEX, body={"query": {"ids": {"values": ["3"]}}, "_source": ["genre"]})
    assert response["hits"]["hits"][0]["_source"] == {"genre": "scifi"}
    response = library.search(index=INDEX, body={"query": {"ids": {"values": ["3"]}}}, _source="false")
    assert "_source" not in response["hits"]["hits"][0]


def test_terms_and_metric_aggregations_merge_across_shards(library):
    response = library.search(index=INDEX, body={"size": 0, "aggs": {
        "genres": {"terms": {"field": "genre"}, "aggs": {"pages": {"sum": {"field": "pages"}}}},
        "max_year": {"max": {"field": "year"}}}})
    buckets = {bucket["key"]: bucket for bucket in response["aggregations"]["genres"]["buckets"]}
    assert {key: bucket["doc_count"] for key, bucket in buckets.items()} == {"scifi": 10, "fantasy": 10, "history": 10}
    assert buckets["scifi"]["pages"]["value"] == sum(100 + n * 10 for n in range(0, 30, 3))
    assert response["aggregations"]["max_year"]["value"] == 1979
    assert response["hits"]["hits"] == []


def test_track_total_hits_false_leaves_the_total_out_and_rest_total_hits_as_int_flattens_it(library):
    response = library.search(index=INDEX, body={"track_total_hits": False})
    assert "total" not in response["hits"]
    response = library.search(index=INDEX, params={"rest_total_hits_as_int": "true"})
    assert response["hits"]["total"] == 30


def test_rest_total_hits_as_int_needs_an_exact_total_and_renders_an_untracked_one_as_minus_one(library):
    response = library.search(index=INDEX, params={"rest_total_hits_as_int": "true", "track_total_hits": "false"})
    assert response["hits"]["total"] == -1
    with pytest.raises(RequestError) as raised:
        library.search(index=INDEX, params={"rest_total_hits_as_int": "true", "track_total_hits": "10"})
    assert raised.value.info["error"]["reason"] == ("[rest_total_hits_as_int] cannot be used if the tracking of "
                                                    "total hits is not accurate, got 10")


def test_an_index_with_source_disabled_returns_hits_without_source(opensearch_client):
    opensearch_client.indices.create(index="no-source-search", body={
        "settings": {"number_of_replicas": 0}, "mappings": {"_source": {"enabled": False}}})
    try:
        opensearch_client.index(index="no-source-search", id="1", body={"foo": "bar"}, refresh=True)
        hit = opensearch_client.search(index="no-source-search")["hits"]["hits"][0]
        assert hit["_id"] == "1" and "_source" not in hit
    finally:
        opensearch_client.indices.delete(index="no-source-search")


def test_scroll_returns_every_document_once_and_clear_scroll_frees_it(library):
    response = library.search(index=INDEX, scroll="1m", body={"size": 4, "sort": ["_doc"]})
    scroll_id = response["_scroll_id"]
    seen = ids(response)
    while True:
        response = library.scroll(scroll_id=scroll_id, scroll="1m")
        if not response["hits"]["hits"]:
            break
        seen += ids(response)
        assert response["_scroll_id"] == scroll_id
    assert sorted(seen, key=int) == [str(number) for number in range(30)]
    cleared = library.clear_scroll(scroll_id=scroll_id)
    assert cleared["succeeded"] is True and cleared["num_freed"] == 3
    with pytest.raises(NotFoundError) as missing:
        library.scroll(scroll_id=scroll_id, scroll="1m")
    assert missing.value.info["error"]["root_cause"][0]["type"] == "search_context_missing_exception"


def test_helpers_scan_reads_the_whole_index(library):
    scanned = list(opensearch_helpers.scan(library, index=INDEX, query={"query": {"term": {"genre": "fantasy"}}},
                                           size=3))
    assert sorted(int(hit["_id"]) for hit in scanned) == list(range(1, 30, 3))


def test_a_scroll_keeps_its_snapshot_while_documents_change(library):
    response = library.search(index=INDEX, scroll="1m", body={"size": 10, "query": {"term": {"genre": "scifi"}}})
    library.index(index=INDEX, id="scroll-extra", body={"title": "late", "genre": "scifi"}, refresh=True)
    try:
        seen = ids(response)
        while True:
            response = library.scroll(scroll_id=response["_scroll_id"], scroll="1m")
            if not response["hits"]["hits"]:
                break
            seen += ids(response)
        assert "scroll-extra" not in seen and len(seen) == 10
    finally:
        library.delete(index=INDEX, id="scroll-extra", refresh=True)
        library.clear_scroll(scroll_id=response["_scroll_id"])


def test_point_in_time_search_sees_its_snapshot_and_closes(library):
    opened = library.transport.perform_request("POST", f"/{INDEX}/_search/point_in_time",
                                               params={"keep_alive": "1m"})
    pit_id = opened["pit_id"]
    library.index(index=INDEX, id="pit-extra", body={"title": "late", "genre": "history"}, refresh=True)
    try:
        response = library.search(body={"pit": {"id": pit_id, "keep_alive": "1m"}, "size": 100,
                                        "query": {"term": {"genre": "history"}}})
        assert response["pit_id"] == pit_id
        assert "pit-extra" not in ids(response) and len(ids(response)) == 10
        listed = library.transport.perform_request("GET", "/_search/point_in_time/_all")
        assert pit_id in [pit["pit_id"] for pit in listed["pits"]]
    finally:
        library.delete(index=INDEX, id="pit-extra", refresh=True)
    closed = library.transport.perform_request("DELETE", "/_search/point_in_time", body={"pit_id": [pit_id]})
    assert closed["pits"] == [{"pit_id": pit_id, "successful": True}]


def test_msearch_answers_each_item_with_its_own_status(library):
    response = library.msearch(body=[
        {"index": INDEX}, {"query": {"term": {"genre": "scifi"}}, "size": 0},
        {"index": "no-such-index"}, {"query": {"match_all": {}}},
        {"index": INDEX}, {"query": {"no_such_query": {}}},
    ])
    first, second, third = response["responses"]
    assert first["status"] == 200 and first["hits"]["total"]["value"] == 10
    assert second["status"] == 404 and second["error"]["type"] == "index_not_found_exception"
    assert third["status"] == 400 and third["error"]["type"] == "parsing_exception"


def test_delete_by_query_and_update_by_query_report_their_counts(opensearch_client):
    opensearch_client.indices.create(index="by-query", body={"settings": {"number_of_shards": 2}})
    opensearch_helpers.bulk(opensearch_client, [{"_index": "by-query", "_id": str(n), "_source": {"n": n}}
                                                for n in range(20)], refresh=True)
    updated = opensearch_client.update_by_query(index="by-query", body={"query": {"range": {"n": {"lt": 5}}}},
                                                refresh=True)
    assert updated["updated"] == 5 and updated["total"] == 5 and updated["failures"] == []
    assert opensearch_client.get(index="by-query", id="1")["_version"] == 2
    deleted = opensearch_client.delete_by_query(index="by-query", body={"query": {"range": {"n": {"gte": 10}}}},
                                                refresh=True, scroll_size=3)
    assert deleted["deleted"] == 10 and deleted["batches"] == 4 and deleted["version_conflicts"] == 0
    assert opensearch_client.count(index="by-query")["count"] == 10
    # with a script (node/api/reindex.py, session 5): each match runs it and is written back
    scripted = opensearch_client.update_by_query(index="by-query", body={
        "query": {"range": {"n": {"lt": 3}}}, "script": {"source": "ctx._source.n += 100"}}, refresh=True)
    assert scripted["updated"] == 3 and scripted["failures"] == []
    assert opensearch_client.get(index="by-query", id="2")["_source"] == {"n": 102}


def test_explain_says_whether_and_why_a_document_matches(library):
    matched = library.explain(index=INDEX, id="5", body={"query": {"match": {"title": "snow"}}})
    assert matched["matched"] is True and matched["explanation"]["value"] > 0
    unmatched = library.explain(index=INDEX, id="1", body={"query": {"match": {"title": "snow"}}})
    assert unmatched["matched"] is False


def test_an_unknown_query_is_a_400_parsing_exception(library):
    with pytest.raises(RequestError) as error:
        library.search(index=INDEX, body={"query": {"no_such_query": {}}})
    assert error.value.status_code == 400
    assert error.value.info["error"]["type"] == "parsing_exception"


def test_a_window_beyond_max_result_window_is_a_400_search_phase_execution_exception(library):
    with pytest.raises(RequestError) as error:
        library.search(index=INDEX, body={"from": 9_995, "size": 10})
    body = error.value.info["error"]
    assert body["type"] == "search_phase_execution_exception"
    assert body["root_cause"][0]["type"] == "illegal_argument_exception"
    assert "Result window is too large" in body["root_cause"][0]["reason"]


def test_sorting_a_text_field_fails_every_shard_with_root_causes(library):
    with pytest.raises(RequestError) as error:
        library.search(index=INDEX, body={"sort": [{"title": "asc"}]})
    body = error.value.info["error"]
    assert body["type"] == "search_phase_execution_exception" and body["reason"] == "all shards failed"
    assert body["phase"] == "query" and body["grouped"] is True
    assert body["root_cause"][0]["index"] == INDEX
    assert body["failed_shards"][0]["index"] == INDEX


def test_one_failing_index_gives_partial_results_with_shard_failures(library, opensearch_client):
    # "title" is a keyword in the second index: sorting on it works there and fails in the first
    opensearch_client.indices.create(index="library-keyword", body={
        "settings": {"number_of_shards": 1}, "mappings": {"properties": {"title": {"type": "keyword"}}}})
    opensearch_client.index(index="library-keyword", id="k1", body={"title": "zzz"}, refresh=True)
    response = library.search(index=f"{INDEX},library-keyword", body={"sort": [{"title": "asc"}]})
    assert response["_shards"]["total"] == 4 and response["_shards"]["failed"] == 3
    assert response["_shards"]["successful"] == 1
    assert response["_shards"]["failures"][0]["index"] == INDEX
    assert response["_shards"]["failures"][0]["reason"]["type"] == "illegal_argument_exception"
    assert ids(response) == ["k1"]
    with pytest.raises(RequestError):
        library.search(index=f"{INDEX},library-keyword", body={"sort": [{"title": "asc"}]},
                       allow_partial_search_results="false")


def test_elasticsearch_py_searches_scrolls_and_counts(library, elasticsearch_client):
    from elasticsearch import helpers as elasticsearch_helpers

    response = elasticsearch_client.search(index=INDEX, query={"term": {"genre": "scifi"}}, size=3)
    assert response["hits"]["total"]["value"] == 10 and len(response["hits"]["hits"]) == 3
    scanned = list(elasticsearch_helpers.scan(elasticsearch_client, index=INDEX, size=7))
    assert len(scanned) == 30
    assert elasticsearch_client.count(index=INDEX, q="genre:history")["count"] == 10


def test_elasticsearch_point_in_time_routes_open_search_and_close(library, elasticsearch_client):
    opened = elasticsearch_client.open_point_in_time(index=INDEX, keep_alive="1m")
    response = elasticsearch_client.search(pit={"id": opened["id"], "keep_alive": "1m"}, size=1)
    assert response["pit_id"] == opened["id"] and response["hits"]["total"]["value"] == 30
    closed = elasticsearch_client.close_point_in_time(body={"id": opened["id"]})
    assert closed["succeeded"] is True and closed["num_freed"] == 3


def test_a_filtered_alias_restricts_search_count_and_scroll(library):
    library.indices.update_aliases(body={"actions": [
        {"add": {"index": INDEX, "alias": "library-scifi", "filter": {"term": {"genre": "scifi"}}}},
        {"add": {"index": INDEX, "alias": "library-all"}}]})
    assert library.search(index="library-scifi", body={"size": 0})["hits"]["total"]["value"] == 10
    assert library.count(index="library-scifi")["count"] == 10
    # one unfiltered route to the index lifts the filter, as OpenSearch does
    assert library.count(index="library-scifi,library-all")["count"] == 30
    scanned = list(opensearch_helpers.scan(library, index="library-scifi", size=4))
    assert sorted(int(hit["_id"]) for hit in scanned) == list(range(0, 30, 3))


def test_a_search_timeout_that_expires_reports_timed_out_and_the_node_keeps_serving(library):
    expired = library.search(index=INDEX, body={"query": {"match_all": {}}, "timeout": "0ms"})
    assert expired["timed_out"] is True and expired["hits"]["hits"] == []
    assert expired["_shards"]["failed"] == 0
    generous = library.search(index=INDEX, body={"query": {"match_all": {}}, "timeout": "1m", "size": 0})
    assert generous["timed_out"] is False and generous["hits"]["total"]["value"] == 30



def test_routing_restricts_a_search_to_the_routed_shard(opensearch_client):
    opensearch_client.indices.create(index="routed", body={"settings": {"number_of_shards": 4}})
    for user in ("alice", "bob", "carol", "dave"):
        opensearch_client.index(index="routed", id=f"{user}-doc", body={"user": user}, routing=user)
    opensearch_client.indices.refresh(index="routed")
    everything = opensearch_client.search(index="routed", body={"size": 10})
    assert everything["_shards"]["total"] == 4 and everything["hits"]["total"]["value"] == 4
    routed = opensearch_client.search(index="routed", routing="alice", body={"size": 10})
    assert routed["_shards"]["total"] == 1
    assert "alice-doc" in ids(routed)
    assert opensearch_client.count(index="routed", routing="alice")["_shards"]["total"] == 1


def test_indices_boost_multiplies_the_scores_of_one_index(opensearch_client):
    for name in ("boost-a", "boost-b"):
        opensearch_client.index(index=name, id="same", body={"text": "identical words"}, refresh=True)
    plain = opensearch_client.search(index="boost-a,boost-b", body={"query": {"match": {"text": "words"}}})
    boosted = opensearch_client.search(index="boost-a,boost-b", body={
        "query": {"match": {"text": "words"}}, "indices_boost": [{"boost-b": 3.0}]})
    scores = {hit["_index"]: hit["_score"] for hit in plain["hits"]["hits"]}
    boosted_scores = {hit["_index"]: hit["_score"] for hit in boosted["hits"]["hits"]}
    assert boosted["hits"]["hits"][0]["_index"] == "boost-b"
    assert boosted_scores["boost-b"] == pytest.approx(scores["boost-b"] * 3.0)
    assert boosted_scores["boost-a"] == pytest.approx(scores["boost-a"])
    assert boosted["hits"]["max_score"] == pytest.approx(scores["boost-b"] * 3.0)


def test_clearing_all_scrolls_leaves_points_in_time_open_and_clearing_all_pits_closes_them(library):
    scroll = library.search(index=INDEX, scroll="1m", body={"size": 1})
    opened = library.transport.perform_request("POST", f"/{INDEX}/_search/point_in_time", params={"keep_alive": "1m"})
    cleared = library.transport.perform_request("DELETE", "/_search/scroll/_all")
    assert cleared["succeeded"] is True and cleared["num_freed"] >= 3
    with pytest.raises(NotFoundError):
        library.scroll(scroll_id=scroll["_scroll_id"], scroll="1m")
    still_open = library.search(body={"pit": {"id": opened["pit_id"]}, "size": 0})
    assert still_open["hits"]["total"]["value"] == 30
    closed = library.transport.perform_request("DELETE", "/_search/point_in_time/_all")
    assert {"pit_id": opened["pit_id"], "successful": True} in closed["pits"]
    with pytest.raises(NotFoundError):
        library.search(body={"pit": {"id": opened["pit_id"]}, "size": 0})


def test_preference_shards_restricts_the_search_and_other_preferences_are_honoured(library):
    one_shard = library.search(index=INDEX, preference="_shards:1", body={"size": 0})
    assert one_shard["_shards"]["total"] == 1
    everything = library.search(index=INDEX, preference="_local", body={"size": 0})
    assert everything["_shards"]["total"] == 3 and everything["hits"]["total"]["value"] == 30
    with pytest.raises(RequestError):
        library.search(index=INDEX, preference="_nearest", body={"size": 0})


def test_typed_keys_prefixes_every_aggregation_with_its_type(library):
    response = library.search(index=INDEX, typed_keys="true", body={"size": 0, "aggs": {
        "genres": {"terms": {"field": "genre"}, "aggs": {"pages": {"sum": {"field": "pages"}}}},
        "years": {"terms": {"field": "year", "size": 1}},
        "only_scifi": {"filter": {"term": {"genre": "scifi"}}, "aggs": {"p": {"percentiles": {"field": "pages"}}}}}})
    aggregations = response["aggregations"]
    assert set(aggregations) == {"sterms#genres", "lterms#years", "filter#only_scifi"}
    assert "sum#pages" in aggregations["sterms#genres"]["buckets"][0]
    assert "tdigest_percentiles#p" in aggregations["filter#only_scifi"]


def test_stored_fields_leave_the_source_out_unless_they_list_it(library):
    hit = library.search(index=INDEX, body={"stored_fields": ["genre"], "size": 1})["hits"]["hits"][0]
    assert "_source" not in hit
    hit = library.search(index=INDEX, body={"stored_fields": ["genre", "_source"], "size": 1})["hits"]["hits"][0]
    assert hit["_source"]["genre"] in GENRES


def test_docvalue_fields_and_regex_length_are_bounded_by_their_index_settings(opensearch_client):
    opensearch_client.indices.create(index="limits", body={"settings": {
        "number_of_replicas": 0, "index.max_docvalue_fields_search": 2, "index.max_regex_length": 10}})
    try:
        with pytest.raises(RequestError) as raised:
            opensearch_client.search(index="limits", body={"docvalue_fields": ["one", "two", "three"]})
        assert raised.value.info["error"]["reason"].startswith(
            "Trying to retrieve too many docvalue_fields. Must be less than or equal to: [2] but was [3].")
        with pytest.raises(RequestError) as raised:
            opensearch_client.search(index="limits", body={"query": {"regexp": {"f": "a" * 11}}})
        assert raised.value.info["error"]["reason"].startswith("The length of regex [11] used in the Regexp Query")
        with pytest.raises(RequestError):
            opensearch_client.search(index="limits", body={"query": {"query_string": {"query": "/" + "b" * 11 + "/"}}})
        opensearch_client.search(index="limits", body={"docvalue_fields": ["one", "two"],
                                                       "query": {"regexp": {"f": "a" * 10}}})
    finally:
        opensearch_client.indices.delete(index="limits")
