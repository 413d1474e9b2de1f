"""filter_path as OpenSearch: dotted paths, * inside a segment, ** at any depth, arrays crossed
element by element, -exclusions, {} when nothing matches; a property test holds the include
filter against a dumb model on flat documents."""

from __future__ import annotations

from hypothesis import given, strategies as st

from node.api import filtered_by_path

BODY = {"took": 3, "hits": {"total": {"value": 2}, "hits": [{"_id": "1", "_source": {"a": 1, "b": 2}},
                                                            {"_id": "2", "_source": {"a": 3}}]},
        "nodes": {"n1": {"total_indexing_buffer": "10mb", "total_indexing_buffer_in_bytes": 10, "name": "x"}}}


def test_dotted_paths_keep_only_what_they_name_through_arrays():
    assert filtered_by_path(BODY, "hits.hits._id") == {"hits": {"hits": [{"_id": "1"}, {"_id": "2"}]}}
    assert filtered_by_path(BODY, "took,hits.total") == {"took": 3, "hits": {"total": {"value": 2}}}


def test_wildcards_inside_a_segment_and_double_star_at_any_depth():
    assert filtered_by_path(BODY, "nodes.*.total_indexing_buffer*") == {
        "nodes": {"n1": {"total_indexing_buffer": "10mb", "total_indexing_buffer_in_bytes": 10}}}
    assert filtered_by_path(BODY, "**.a") == {"hits": {"hits": [{"_source": {"a": 1}}, {"_source": {"a": 3}}]}}


def test_exclusions_and_an_empty_match():
    assert filtered_by_path(BODY, "-hits,-nodes") == {"took": 3}
    assert filtered_by_path(BODY, "hits.hits,-hits.hits._source") == {"hits": {"hits": [{"_id": "1"}, {"_id": "2"}]}}
    assert filtered_by_path(BODY, "nothing.here") == {}


@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.integers(), max_size=4),
       st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=3))
def test_including_top_level_names_keeps_exactly_those_present(document, names):
    expected = {key: value for key, value in document.items() if key in names}
    assert filtered_by_path(document, ",".join(names)) == expected


async def test_respond_applies_filter_path_to_successful_answers_only(api_node):
    status, body = await api_node.request("GET", "/_cluster/health?filter_path=status,number_of_nodes")
    assert status == 200 and set(body) == {"status", "number_of_nodes"}
    status, body = await api_node.request("GET", "/missing/_settings?filter_path=status")
    assert status == 404 and body["error"]["type"] == "index_not_found_exception"
