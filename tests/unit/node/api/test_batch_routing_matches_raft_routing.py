"""The vectorized routing of bulk requests agrees with raft's OpenSearch murmur3 reference."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from node.coordination.routing_batch import shard_numbers
from raft.routing import default_routing_num_shards, shard_for_document

keys = st.text(min_size=0, max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(keys, st.one_of(st.none(), keys)), min_size=1, max_size=60),
       st.integers(min_value=1, max_value=40))
def test_batch_routing_equals_the_reference_for_every_document(items, number_of_shards):
    routing_num_shards = default_routing_num_shards(number_of_shards)
    document_ids = [document_id for document_id, _ in items]
    routings = [routing for _, routing in items]
    expected = [shard_for_document(document_id, routing, number_of_shards, routing_num_shards)
                for document_id, routing in items]
    assert shard_numbers(document_ids, routings, number_of_shards, routing_num_shards) == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(keys, min_size=1, max_size=30), st.integers(min_value=2, max_value=6))
def test_partitioned_indices_fall_back_to_the_reference(document_ids, partition_size):
    number_of_shards = 8
    routing_num_shards = default_routing_num_shards(number_of_shards)
    routings = ["user"] * len(document_ids)
    expected = [shard_for_document(document_id, "user", number_of_shards, routing_num_shards, partition_size)
                for document_id in document_ids]
    assert shard_numbers(document_ids, routings, number_of_shards, routing_num_shards, partition_size) == expected
