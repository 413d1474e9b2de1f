"""OpenSearch's document routing: which shard number a document id (or _routing) lands on.

Owns murmur3_x86_32 over a Java string's UTF-16LE code units (OpenSearch's Murmur3HashFunction),
the scaled shard id ``floorMod(hash + partition_offset, routing_num_shards) / routing_factor``
(OperationRouting.generateShardId) and the default routing_num_shards
(MetadataCreateIndexService.calculateNumRoutingShards). ADR 0005 fixes this choice: changing any
of it reroutes every existing document, so it must never change. Pure functions; no I/O.
"""

from __future__ import annotations

import struct

_MASK32 = 0xFFFFFFFF
_MAXIMUM_SHARDS_LOG2 = 10  # 1024 shards: OpenSearch's ceiling for automatic routing shards


def _to_signed_int32(value: int) -> int:
    value &= _MASK32
    return value - 0x1_0000_0000 if value & 0x8000_0000 else value


def murmur3_x86_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit of ``data``, returned as a signed 32-bit int like Java's."""
    length = len(data)
    hash_value = seed & _MASK32
    block_end = length - (length & 3)
    # One struct call decodes every 4-byte little-endian block in C; the loop body is inlined
    # (no helper calls) because routing runs once per document of every bulk request.
    for block in (struct.unpack_from(f"<{block_end >> 2}I", data) if block_end else ()):
        k = (block * 0xCC9E2D51) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        hash_value ^= (k * 0x1B873593) & 0xFFFFFFFF
        hash_value = ((hash_value << 13) | (hash_value >> 19)) & 0xFFFFFFFF
        hash_value = (hash_value * 5 + 0xE6546B64) & 0xFFFFFFFF
    tail_length = length & 3
    if tail_length:
        k = data[block_end]
        if tail_length >= 2:
            k ^= data[block_end + 1] << 8
        if tail_length == 3:
            k ^= data[block_end + 2] << 16
        k = (k * 0xCC9E2D51) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        hash_value ^= (k * 0x1B873593) & 0xFFFFFFFF
    hash_value ^= length
    hash_value ^= hash_value >> 16
    hash_value = (hash_value * 0x85EBCA6B) & 0xFFFFFFFF
    hash_value ^= hash_value >> 13
    hash_value = (hash_value * 0xC2B2AE35) & 0xFFFFFFFF
    hash_value ^= hash_value >> 16
    return hash_value - 0x1_0000_0000 if hash_value & 0x8000_0000 else hash_value


def routing_hash(routing_value: str) -> int:
    """OpenSearch's Murmur3HashFunction.hash(String): murmur3 over the UTF-16LE code units.

    'surrogatepass' keeps a lone surrogate (legal in a Java string, and in JSON via \\ud800)
    as its code unit instead of failing, exactly as Java would hash it.
    """
    return murmur3_x86_32(routing_value.encode("utf-16-le", "surrogatepass"), 0)


def default_routing_num_shards(number_of_shards: int) -> int:
    """The largest ``number_of_shards * 2**k`` ≤ 1024 with k ≥ 1 (so the index can split once)."""
    if number_of_shards < 1:
        raise ValueError(f"number_of_shards must be at least 1, got {number_of_shards}")
    ceiling_log2_shards = (number_of_shards - 1).bit_length()
    number_of_splits = max(1, _MAXIMUM_SHARDS_LOG2 - ceiling_log2_shards)
    return number_of_shards << number_of_splits


def shard_for_routing(routing_value: str, number_of_shards: int, routing_num_shards: int,
                      partition_offset: int = 0) -> int:
    """The shard number for an effective routing value (``_routing`` if given, else ``_id``)."""
    if routing_num_shards % number_of_shards != 0:
        raise ValueError(
            f"routing_num_shards must be a multiple of number_of_shards, got {routing_num_shards} "
            f"and {number_of_shards}")
    routing_factor = routing_num_shards // number_of_shards
    # Java int addition wraps; Python's % on a positive modulus is Math.floorMod.
    hash_value = _to_signed_int32(routing_hash(routing_value) + partition_offset)
    return (hash_value % routing_num_shards) // routing_factor


def shard_for_document(document_id: str, routing: str | None, number_of_shards: int,
                       routing_num_shards: int, routing_partition_size: int = 1) -> int:
    """OperationRouting.generateShardId: ``routing`` overrides the id; a partitioned index
    (index.routing_partition_size > 1) spreads one routing value over that many shards by id."""
    effective_routing = document_id if routing is None else routing
    partition_offset = 0
    if routing_partition_size > 1:
        partition_offset = routing_hash(document_id) % routing_partition_size
    return shard_for_routing(effective_routing, number_of_shards, routing_num_shards, partition_offset)
