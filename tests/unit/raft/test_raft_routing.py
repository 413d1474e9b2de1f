"""raft.routing against values published in OpenSearch/Elasticsearch's own tests."""

import pytest

from raft.routing import (
    default_routing_num_shards, murmur3_x86_32, routing_hash, shard_for_document,
    shard_for_routing,
)


@pytest.mark.parametrize("expected_unsigned, text", [
    (0x5A0CB7C3, "hell"),
    (0xD7C31989, "hello"),
    (0x22AB2984, "hello w"),
    (0xDF0CA123, "hello wo"),
    (0xE7744D61, "hello wor"),
    (0xE07DB09C, "The quick brown fox jumps over the lazy dog"),
    (0x4E63D2AD, "The quick brown fox jumps over the lazy cog"),
])
def test_routing_hash_matches_murmur3_hash_function_known_values(expected_unsigned, text):
    assert routing_hash(text) & 0xFFFFFFFF == expected_unsigned


def test_routing_hash_is_a_signed_java_int():
    assert routing_hash("The quick brown fox jumps over the lazy dog") < 0
    assert -(2 ** 31) <= routing_hash("x") < 2 ** 31


@pytest.mark.parametrize("data, seed, expected_unsigned", [
    (b"", 0, 0),
    (b"", 1, 0x514E28B7),
    (b"a", 0, 1009084850),
    (b"abc", 0, 3017643002),
    (b"abcd", 0, 1139631978),
    (b"abcdefghi", 0, 1108608752),
])
def test_murmur3_x86_32_matches_reference_vectors_over_raw_bytes(data, seed, expected_unsigned):
    assert murmur3_x86_32(data, seed) & 0xFFFFFFFF == expected_unsigned


@pytest.mark.parametrize("number_of_shards, expected", [
    (1, 1024), (2, 1024), (3, 768), (9, 576), (512, 1024), (1024, 2048), (2048, 4096),
])
def test_default_routing_num_shards_matches_calculate_num_routing_shards(number_of_shards, expected):
    assert default_routing_num_shards(number_of_shards) == expected


# OperationRoutingTests.testBWC: 8 shards, routing_num_shards 8 (IndexMetadata's builder default).
KNOWN_EIGHT_SHARD_ROUTING = {
    "sEERfFzPSI": 1, "cNRiIrjzYd": 7, "BgfLBXUyWT": 5, "cnepjZhQnb": 3, "OKCmuYkeCK": 6,
    "OutXGRQUja": 5, "yCdyocKWou": 1, "KXuNWWNgVj": 2, "DGJOYrpESx": 4, "upLDybdTGs": 5,
    "hswhrppvDH": 0, "FYQRIBcNqz": 0, "AITyyoyLLs": 4, "nGzpgwsSBc": 4, "wRZXPSoEgd": 3,
}


@pytest.mark.parametrize("value, expected_shard", sorted(KNOWN_EIGHT_SHARD_ROUTING.items()))
def test_document_id_routes_to_the_same_shard_as_opensearch(value, expected_shard):
    assert shard_for_document(value, None, 8, 8) == expected_shard


@pytest.mark.parametrize("value, expected_shard", sorted(KNOWN_EIGHT_SHARD_ROUTING.items()))
def test_explicit_routing_overrides_the_document_id(value, expected_shard):
    assert shard_for_document("foobar", value, 8, 8) == expected_shard


# OperationRoutingTests.testPartitionedIndexBWC: 6 shards, routing_partition_size 2.
@pytest.mark.parametrize("routing, document_id, expected_shard", [
    ("a", "a_0", 3), ("a", "a_1", 2), ("a", "a_2", 2), ("a", "a_3", 3),
    ("b", "b_0", 5), ("b", "b_1", 0), ("b", "b_2", 0), ("b", "b_3", 0),
    ("c", "c_0", 4), ("c", "c_1", 4), ("c", "c_2", 3), ("c", "c_3", 4),
    ("d", "d_0", 3), ("d", "d_1", 4), ("d", "d_2", 4), ("d", "d_3", 4),
])
def test_partitioned_index_spreads_a_routing_value_like_opensearch(routing, document_id, expected_shard):
    assert shard_for_document(document_id, routing, 6, 6, routing_partition_size=2) == expected_shard


def test_routing_num_shards_scales_down_to_the_shard_count():
    shards = {shard_for_routing(str(i), 5, default_routing_num_shards(5)) for i in range(500)}
    assert shards == {0, 1, 2, 3, 4}


def test_a_lone_surrogate_is_hashed_as_its_code_unit_instead_of_failing():
    assert routing_hash("\ud800") == murmur3_x86_32(b"\x00\xd8")


def test_routing_num_shards_that_is_not_a_multiple_is_refused():
    with pytest.raises(ValueError, match="multiple"):
        shard_for_routing("x", 3, 8)
