"""ip fields where OpenSearch parses values differently per query and aggregation: a range bound
is a single address (a CIDR block, which term/terms take, is refused there), and a numeric metric
on an ip field is refused naming the mapped type [ip] (ip values travel as keyword ordinals)."""

import orjson
import pytest

from index.analysis import AnalysisRegistry
from index.errors import AggregationError, QueryShardError
from index.mapping import Mapping
from index.operations import IndexOperation
from index.query import SearchContext, parse_search_request, search_shard
from index.shard import Shard, ShardSettings

MAPPING = {"properties": {"ip": {"type": "ip"}, "name": {"type": "keyword"}}}


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    shard = Shard.open(tmp_path_factory.mktemp("ip6"), ShardSettings(refresh_interval_seconds=None),
                       Mapping.from_json(MAPPING), AnalysisRegistry.from_index_settings({}))
    documents = [("1", {"ip": "10.0.0.1", "name": "a"}), ("2", {"ip": "192.168.1.1", "name": "b"}),
                 ("3", {"ip": "2001:db8::1", "name": "c"})]
    shard.apply_as_primary([IndexOperation(i, orjson.dumps(s)) for i, s in documents], 1)
    shard.refresh()
    yield shard.acquire_searcher()
    shard.close()


def test_a_range_bound_that_is_a_cidr_block_is_not_an_ip_literal(searcher):
    with pytest.raises(QueryShardError) as failed:
        search_shard(searcher, parse_search_request({"query": {"range": {"ip": {"gte": "192.168.0.0/16"}}}}),
                     SearchContext(index_name="test"))
    assert str(failed.value) == "failed to create query: '192.168.0.0/16' is not an IP string literal."


def test_range_bounds_are_addresses_with_exclusive_ends_moved_by_one_address(searcher):
    request = parse_search_request({"query": {"range": {"ip": {"gt": "10.0.0.1", "lt": "2001:db8::1"}}}})
    result = search_shard(searcher, request, SearchContext(index_name="test"))
    assert result.total_hits == 1
    request = parse_search_request({"query": {"range": {"ip": {"gte": "10.0.0.1", "lte": "2001:db8::1"}}}})
    assert search_shard(searcher, request, SearchContext(index_name="test")).total_hits == 3


@pytest.mark.parametrize("metric", ["min", "max", "avg", "sum", "stats"])
def test_a_numeric_metric_on_an_ip_field_names_the_ip_type(searcher, metric):
    request = parse_search_request({"size": 0, "aggs": {"m": {metric: {"field": "ip"}}}})
    with pytest.raises(AggregationError) as failed:
        search_shard(searcher, request, SearchContext(index_name="test"))
    assert str(failed.value) == f"Field [ip] of type [ip] is not supported for aggregation [{metric}]"
    request = parse_search_request({"size": 0, "aggs": {"m": {metric: {"field": "name"}}}})
    with pytest.raises(AggregationError) as failed:
        search_shard(searcher, request, SearchContext(index_name="test"))
    assert "of type [keyword]" in str(failed.value)
