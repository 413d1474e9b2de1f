"""The public surface of index.query is deliberate: adding or removing a name is a contract change."""

import index.query


def test_exported_names_are_exactly_the_contract():
    assert sorted(index.query.__all__) == sorted([
        "DEFAULT_QUERY_REGISTRY", "FilterCache", "FilterCacheStatistics", "HighlightField", "HighlightSpec",
        "MergedSearchResult", "QueryLimits", "QueryNode", "QueryParseContext", "QueryRegistry", "SearchContext",
        "SearchRequest", "ShardHit", "ShardSearchResult", "SortField", "SourceFilter", "TermStatistics",
        "TooManyClausesError", "collect_term_statistics", "count_shard", "explain_document", "fetch_hits",
        "filter_source", "merge_shard_results", "merge_term_statistics", "parse_query", "parse_search_request",
        "search_shard",
    ])
    for name in index.query.__all__:
        assert hasattr(index.query, name), name
