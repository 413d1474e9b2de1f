"""search_after on _score pages through every hit exactly once (reported float32 scores)."""

from index.query import SearchContext, merge_shard_results, parse_search_request, search_shard
from index.testing import build_reference_searcher


def test_paging_by_score_with_search_after_visits_each_document_once():
    documents = [(str(i), {"body": "fox " * (1 + i % 7) + "dog " * (i % 3), "n": i}) for i in range(60)]
    searcher = build_reference_searcher([documents[:30], documents[30:]], {"properties": {"body": {"type": "text"}, "n": {"type": "long"}}})
    seen = []
    after = None
    for _page in range(60):  # at most one page per document; more means pages repeat
        body = {"query": {"match": {"body": "fox"}}, "size": 7, "sort": ["_score", {"n": "asc"}]}
        if after is not None:
            body["search_after"] = after
        request = parse_search_request(body)
        merged = merge_shard_results([search_shard(searcher, request, SearchContext(index_name="i"))], request)
        if not merged.hits:
            break
        seen.extend(hit.document_id for hit in merged.hits)
        after = list(merged.hits[-1].sort_values)
    else:
        raise AssertionError(f"paging did not end; saw {len(seen)} hits")
    assert sorted(seen, key=int) == [str(i) for i in range(60)]
