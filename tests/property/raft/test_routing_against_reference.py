"""The fast murmur3 (struct-decoded blocks, inlined rotations) against a literal, byte-at-a-time
transcription of the reference algorithm."""

from hypothesis import given
from hypothesis import strategies as st

from raft.routing import murmur3_x86_32, routing_hash, shard_for_routing


def reference_murmur3_x86_32(data: bytes, seed: int) -> int:
    def rotl(x, r):
        return ((x << r) | (x >> (32 - r))) & 0xFFFFFFFF

    h = seed & 0xFFFFFFFF
    blocks = len(data) // 4
    for i in range(blocks):
        k = data[4 * i] | data[4 * i + 1] << 8 | data[4 * i + 2] << 16 | data[4 * i + 3] << 24
        k = rotl((k * 0xCC9E2D51) & 0xFFFFFFFF, 15)
        k = (k * 0x1B873593) & 0xFFFFFFFF
        h = rotl(h ^ k, 13)
        h = (h * 5 + 0xE6546B64) & 0xFFFFFFFF
    tail = data[blocks * 4:]
    k = 0
    for position in reversed(range(len(tail))):
        k ^= tail[position] << (8 * position)
    if tail:
        k = rotl((k * 0xCC9E2D51) & 0xFFFFFFFF, 15)
        h ^= (k * 0x1B873593) & 0xFFFFFFFF
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h - (1 << 32) if h >= 1 << 31 else h


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=2 ** 32 - 1))
def test_fast_murmur3_equals_the_reference_transcription(data, seed):
    assert murmur3_x86_32(data, seed) == reference_murmur3_x86_32(data, seed)


@given(st.text(max_size=40), st.integers(min_value=1, max_value=64))
def test_every_routing_value_lands_on_an_existing_shard(routing_value, number_of_shards):
    routing_num_shards = number_of_shards * 4
    shard = shard_for_routing(routing_value, number_of_shards, routing_num_shards)
    assert 0 <= shard < number_of_shards
    assert routing_hash(routing_value) == reference_murmur3_x86_32(
        routing_value.encode("utf-16-le", "surrogatepass"), 0)
