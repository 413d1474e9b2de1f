"""The public surface of index.aggregations is what contracts §6 promises; changing it is a
contract change (update docs/contracts.md and the callers in index/query and node/)."""

import index.aggregations as aggregations


def test_the_exported_names_are_exactly_the_contract():
    assert sorted(aggregations.__all__) == sorted([
        "AggregationNode", "AggregationPartial", "AggregationTree", "MAX_BUCKETS", "TooManyBucketsError",
        "collect_segment", "collect_shard", "empty_partial", "filter_source", "merge_partials",
        "parse_aggregations", "reduce_for_shard_response", "render", "render_response",
        "tree_needs_scores"])
    for name in aggregations.__all__:
        assert getattr(aggregations, name) is not None


def test_too_many_buckets_is_an_aggregation_error_with_its_opensearch_type():
    from index.errors import AggregationError
    assert issubclass(aggregations.TooManyBucketsError, AggregationError)
    assert aggregations.TooManyBucketsError.opensearch_type == "too_many_buckets_exception"
