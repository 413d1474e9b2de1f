"""routing_batch's ASCII path (one encode of the joined keys, numpy rows per key length) agrees
with raft's OpenSearch murmur3 reference, with ids of one length and of many."""

from __future__ import annotations

import string

from hypothesis import given, settings, strategies as st

from node.coordination.routing_batch import shard_numbers
from node.coordination.writes import new_document_ids
from raft.routing import default_routing_num_shards, shard_for_document

ascii_keys = st.text(alphabet=string.printable, min_size=0, max_size=30)


def reference(document_ids, routings, number_of_shards):
    routing_num_shards = default_routing_num_shards(number_of_shards)
    return [shard_for_document(document_id, routing, number_of_shards, routing_num_shards)
            for document_id, routing in zip(document_ids, routings)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(ascii_keys, st.one_of(st.none(), ascii_keys)), min_size=1, max_size=80),
       st.integers(min_value=2, max_value=40))
def test_ascii_keys_of_mixed_lengths_route_as_the_reference(items, number_of_shards):
    document_ids = [document_id for document_id, _ in items]
    routings = [routing for _, routing in items]
    assert shard_numbers(document_ids, routings, number_of_shards, default_routing_num_shards(number_of_shards)) \
        == reference(document_ids, routings, number_of_shards)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.integers(min_value=2, max_value=12))
def test_generated_ids_of_one_length_route_as_the_reference(count, number_of_shards):
    document_ids = new_document_ids(count)
    routings = [None] * count
    assert shard_numbers(document_ids, routings, number_of_shards, default_routing_num_shards(number_of_shards)) \
        == reference(document_ids, routings, number_of_shards)


def test_one_non_ascii_key_sends_the_batch_through_the_general_encoding():
    document_ids = ["plain", "naïve", "日本", "x" * 17]
    assert shard_numbers(document_ids, [None] * 4, 5, default_routing_num_shards(5)) == \
        reference(document_ids, [None] * 4, 5)
