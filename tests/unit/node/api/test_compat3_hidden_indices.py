"""Hidden indices and hidden aliases (OpenSearch): wildcards skip them unless expand_wildcards
names hidden/all or the pattern and the name both start with a dot; exact names always resolve."""

from __future__ import annotations


async def _hidden_index(api_node, aliases=None):
    status, _ = await api_node.request("PUT", "/index1", {
        "settings": {"number_of_shards": 1, "number_of_replicas": 0, "index": {"hidden": True}},
        "aliases": aliases or {}})
    assert status == 200
    await api_node.settle()


async def _hidden_index_with_aliases(api_node):
    await _hidden_index(api_node, {"visible": {}, ".dotted": {"is_hidden": True}})


async def test_wildcards_skip_a_hidden_index_unless_hidden_is_expanded(api_node):
    await _hidden_index(api_node)
    status, body = await api_node.request("GET", "/_cat/indices?h=index")
    assert status == 200 and (body or "").strip() == ""
    status, body = await api_node.request("GET", "/_cat/indices?h=index&expand_wildcards=open,hidden")
    assert body.strip() == "index1"


async def test_a_hidden_index_is_found_by_exact_name_through_a_visible_alias_or_a_dotted_pattern(api_node):
    await _hidden_index_with_aliases(api_node)
    status, body = await api_node.request("GET", "/_cat/indices/i*?h=index")
    assert (body or "").strip() == ""
    status, body = await api_node.request("GET", "/_cat/indices/visible?h=index")
    assert body.strip() == "index1"
    status, body = await api_node.request("GET", "/_cat/indices/.*?h=index")
    assert body.strip() == "index1"  # through the dot-prefixed hidden alias


async def test_cat_aliases_leaves_out_hidden_aliases_when_hidden_is_not_expanded(api_node):
    await _hidden_index_with_aliases(api_node)
    status, body = await api_node.request("GET", "/_cat/aliases?h=alias")
    assert sorted(body.split()) == [".dotted", "visible"]
    status, body = await api_node.request("GET", "/_cat/aliases?h=alias&expand_wildcards=open,closed")
    assert (body or "").strip() == ""
