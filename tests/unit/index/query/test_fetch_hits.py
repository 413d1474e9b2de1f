"""fetch_hits: OpenSearch hit objects with filtered _source, highlight, explain and metadata."""

import pytest

from index.query import SearchContext, fetch_hits, filter_source, merge_shard_results, parse_search_request, search_shard
from index.query.fetch import source_values
from index.testing import build_reference_searcher

MAPPING = {"properties": {"title": {"type": "text"}, "tag": {"type": "keyword"}, "day": {"type": "date"},
                          "count": {"type": "long"}}}
LONG_TEXT = ("Once upon a time there was a fox. " * 3) + "The middle has nothing. " * 4 + "At the end the fox slept."


@pytest.fixture(scope="module")
def searcher():
    return build_reference_searcher([[
        ("a", {"title": "The quick brown fox", "tag": "x", "day": "2024-02-03", "count": 4,
               "meta": {"owner": "ann", "secret": "s", "nested": {"deep": 1}}}),
        ("b", {"title": LONG_TEXT, "tag": ["y", "x"]}),
        ("c", {"title": "<b>fox</b> & hound", "tag": "z"}),
    ]], MAPPING)


def fetched(searcher, body, context=None):
    request = parse_search_request(body)
    context = context or SearchContext(index_name="idx", now_millis=0)
    result = search_shard(searcher, request, context)
    return fetch_hits(searcher, request, merge_shard_results([result], request).hits, context)


def test_hit_carries_index_id_score_and_source(searcher):
    hit = fetched(searcher, {"query": {"ids": {"values": ["a"]}}})[0]
    assert hit["_index"] == "idx" and hit["_id"] == "a" and hit["_score"] == 1.0
    assert hit["_source"]["meta"]["owner"] == "ann"
    assert "sort" not in hit and "highlight" not in hit


@pytest.mark.parametrize("includes, excludes, expected", [
    (["title"], [], {"title": "t"}),
    (["meta"], ["meta.secret"], {"meta": {"owner": "ann", "nested": {"deep": 1}}}),
    (["meta.*"], [], {"meta": {"owner": "ann", "secret": "s", "nested": {"deep": 1}}}),
    (["*.deep"], [], {"meta": {"nested": {"deep": 1}}}),
    ([], ["meta", "tag", "list"], {"title": "t"}),
    (["m*"], ["*.owner"], {"meta": {"secret": "s", "nested": {"deep": 1}}}),
    (["list.keep"], [], {"list": [{"keep": 1}, {"keep": 2}]}),
])
def test_source_filtering_with_paths_and_wildcards(includes, excludes, expected):
    source = {"title": "t", "tag": "x", "meta": {"owner": "ann", "secret": "s", "nested": {"deep": 1}},
              "list": [{"keep": 1, "drop": 0}, {"keep": 2}]}
    assert filter_source(source, includes, excludes) == expected


def test_source_disabled_leaves_it_out(searcher):
    hit = fetched(searcher, {"query": {"ids": {"values": ["a"]}}, "_source": False})[0]
    assert "_source" not in hit


def test_sort_values_are_returned_with_the_hit(searcher):
    hits = fetched(searcher, {"sort": [{"tag": "desc"}]})
    assert [hit["sort"] for hit in hits] == [["z"], ["y"], ["x"]]
    assert all(hit["_score"] is None for hit in hits)


def test_highlight_wraps_matching_terms_in_tags(searcher):
    hits = fetched(searcher, {"query": {"match": {"title": "fox"}}, "highlight": {"fields": {"title": {}}}})
    by_id = {hit["_id"]: hit for hit in hits}
    assert by_id["a"]["highlight"] == {"title": ["The quick brown <em>fox</em>"]}


def test_highlight_fragments_are_bounded_in_size_and_count(searcher):
    hits = fetched(searcher, {"query": {"match": {"title": "slept"}},
                              "highlight": {"fields": {"title": {"fragment_size": 30, "number_of_fragments": 1}}}})
    fragments = hits[0]["highlight"]["title"]
    assert len(fragments) == 1
    assert "<em>slept</em>" in fragments[0]
    assert len(fragments[0].replace("<em>", "").replace("</em>", "")) <= 40


def test_highlight_whole_field_with_number_of_fragments_zero_and_custom_tags(searcher):
    body = {"query": {"match": {"title": "quick fox"}},
            "highlight": {"pre_tags": ["["], "post_tags": ["]"], "fields": {"title": {"number_of_fragments": 0}}}}
    by_id = {hit["_id"]: hit for hit in fetched(searcher, body)}
    assert by_id["a"]["highlight"]["title"] == ["The [quick] brown [fox]"]


def test_highlight_html_encoder_escapes_the_text(searcher):
    body = {"query": {"match": {"title": "hound"}}, "highlight": {"encoder": "html", "fields": {"title": {}}}}
    assert fetched(searcher, body)[0]["highlight"]["title"] == ["&lt;b&gt;fox&lt;/b&gt; &amp; <em>hound</em>"]


def test_highlight_requires_field_match_by_default(searcher):
    body = {"query": {"term": {"tag": "x"}}, "highlight": {"fields": {"title": {}}}}
    assert all("highlight" not in hit for hit in fetched(searcher, body))


def test_explain_returns_the_bm25_breakdown(searcher):
    hit = fetched(searcher, {"query": {"match": {"title": "quick"}}, "explain": True})[0]
    explanation = hit["_explanation"]
    assert explanation["value"] == pytest.approx(hit["_score"])
    assert explanation["description"].startswith("weight(title:quick in 0)")
    descriptions = str(explanation)
    assert "idf, computed as log(1 + (N - n + 0.5) / (n + 0.5))" in descriptions
    assert "tf, computed as freq / (freq + k1 * (1 - b + b * dl / avgdl))" in descriptions


def test_bool_explanation_sums_its_clauses(searcher):
    hit = fetched(searcher, {"query": {"match": {"title": "quick fox"}}, "explain": True})[0]
    assert hit["_explanation"]["description"] == "sum of:"
    assert sum(detail["value"] for detail in hit["_explanation"]["details"]) == pytest.approx(hit["_score"])


def test_version_seq_no_and_docvalue_fields(searcher):
    body = {"query": {"ids": {"values": ["a"]}}, "version": True, "seq_no_primary_term": True,
            "docvalue_fields": ["tag", "count", {"field": "day", "format": "epoch_millis"}]}
    hit = fetched(searcher, body)[0]
    assert hit["_version"] == 1 and hit["_seq_no"] == 0 and hit["_primary_term"] == 1
    assert hit["fields"] == {"tag": ["x"], "count": [4], "day": ["1706918400000"]}   # a string, as OpenSearch


def test_a_hit_from_an_older_snapshot_is_found_again_by_id(searcher):
    request = parse_search_request({"query": {"ids": {"values": ["c"]}}})
    hits = search_shard(searcher, request, SearchContext()).hits
    rebuilt = build_reference_searcher([[("c", {"title": "moved"})]], MAPPING)
    renamed = [hit.__class__(hit.index_name, hit.shard_index, 7, "gone", 99, hit.document_id, hit.score)
               for hit in hits]
    assert fetch_hits(rebuilt, request, renamed)[0]["_source"] == {"title": "moved"}


def test_source_values_walks_dotted_paths_and_arrays():
    source = {"a": [{"b": 1}, {"b": [2, 3]}], "c.d": 4, "e": {"f": None}}
    assert source_values(source, "a.b") == [1, 2, 3]
    assert source_values(source, "c.d") == [4]
    assert source_values(source, "e.f") == []


def test_fields_api_returns_mapped_values_from_source(searcher):
    hit = fetched(searcher, {"query": {"ids": {"values": ["b"]}}, "fields": ["tag", "t*"], "_source": False})[0]
    assert hit["fields"]["tag"] == ["y", "x"]
    assert "_source" not in hit


def test_explain_document_reports_match_and_explanation(searcher):
    from index.query import explain_document, parse_query

    body = explain_document(searcher, parse_query({"match": {"title": "fox"}}), "a", SearchContext(index_name="idx"))
    assert body["matched"] is True and body["_id"] == "a" and body["explanation"]["value"] > 0
    missed = explain_document(searcher, parse_query({"match": {"title": "zebra"}}), "a")
    assert missed["matched"] is False and missed["explanation"]["value"] == 0.0
    assert explain_document(searcher, parse_query({"match_all": {}}), "nope") is None
