"""How operations are encoded inside one write-ahead log record, and how records are framed.

Owns: the frame ``crc32 (u32 LE) | length (u32 LE) | payload`` where the crc covers the length
bytes and the payload, and the payload is one zstd frame holding a batch of operations (one
append call = one record, so a batch is all-or-nothing on replay).

Must never: do file I/O (index/translog/translog.py does), or rely on zstd to detect a torn
record (a streaming zstd reader returns partial data silently: DESIGN §8).
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
import zstandard

from index.operations import ReplicatedOperation, build_replicated_operation

FRAME_HEADER = struct.Struct("<II")
OPERATION_HEADER = struct.Struct("<Bqqqiii")
MAX_RECORD_LENGTH = 1 << 31

_KIND_CODES = {"index": 1, "delete": 2, "noop": 3}
_KIND_NAMES = {code: name for name, code in _KIND_CODES.items()}
# set on the kind byte when a routing value (int32 length + utf-8) follows the reason: records
# without routing are byte-for-byte the format-1 layout
_HAS_ROUTING = 0x80
_ROUTING_LENGTH = struct.Struct("<i")
_ABSENT = -1

# zstd (de)compressor objects are not thread safe: one per thread
_per_thread = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    compressor = getattr(_per_thread, "compressor", None)
    if compressor is None:
        compressor = _per_thread.compressor = zstandard.ZstdCompressor(level=1)
    return compressor


def encode_operations(operations: list[ReplicatedOperation] | tuple[ReplicatedOperation, ...]) -> bytes:
    parts: list[bytes] = []
    for operation in operations:
        identifier = None if operation.document_id is None else operation.document_id.encode("utf-8")
        reason = None if operation.reason is None else operation.reason.encode("utf-8")
        source = operation.source
        routing = None if operation.routing is None else operation.routing.encode("utf-8")
        parts.append(OPERATION_HEADER.pack(
            _KIND_CODES[operation.kind] | (0 if routing is None else _HAS_ROUTING), operation.seq_no, operation.primary_term, operation.version,
            _ABSENT if identifier is None else len(identifier),
            _ABSENT if source is None else len(source),
            _ABSENT if reason is None else len(reason),
        ))
        if identifier is not None:
            parts.append(identifier)
        if source is not None:
            parts.append(source)
        if reason is not None:
            parts.append(reason)
        if routing is not None:
            parts.append(_ROUTING_LENGTH.pack(len(routing)))
            parts.append(routing)
    return b"".join(parts)


# OPERATION_HEADER as a packed numpy record, to write the headers of a whole batch at once
_OPERATION_HEADER_DTYPE = np.dtype([("kind", "u1"), ("seq_no", "<i8"), ("primary_term", "<i8"), ("version", "<i8"),
                                    ("id_length", "<i4"), ("source_length", "<i4"), ("reason_length", "<i4")])
assert _OPERATION_HEADER_DTYPE.itemsize == OPERATION_HEADER.size


def encode_index_batch(first_seq_no: int, primary_term: int, versions: Sequence[int], document_ids: Sequence[str],
                       sources: Sequence[bytes], routings: Sequence[str | None] | None = None) -> bytes:
    """The bytes ``encode_operations`` gives for index operations with consecutive seq_nos from
    ``first_seq_no``, one term, and no reason — without a ReplicatedOperation or a struct.pack per
    operation: the headers are one numpy record array, the record one join (the primary's bulk
    fast path; the log format is unchanged)."""
    count = len(document_ids)
    return encode_index_columns(np.arange(first_seq_no, first_seq_no + count, dtype=np.int64), primary_term,
                                versions, document_ids, sources, routings)


def encode_index_columns(seq_nos: Any, primary_terms: Any, versions: Sequence[int], document_ids: Sequence[str],
                         sources: Sequence[bytes], routings: Sequence[str | None] | None = None) -> bytes:
    """``encode_operations`` of index operations (no reason) given as columns: ``seq_nos`` and
    ``primary_terms`` are each a sequence of ints (or one int for every operation). Byte-for-byte
    the per-operation encoding (the replica's batch fast path, ADR 0245; ``encode_index_batch``)."""
    count = len(document_ids)
    if not count:
        return b""
    id_bytes = list(map(str.encode, document_ids))     # utf-8, the default
    headers = np.empty(count, dtype=_OPERATION_HEADER_DTYPE)
    headers["kind"] = _KIND_CODES["index"]
    headers["seq_no"] = seq_nos if isinstance(seq_nos, (int, np.ndarray)) else np.fromiter(
        seq_nos, dtype=np.int64, count=count)
    headers["primary_term"] = primary_terms if isinstance(primary_terms, int) else np.fromiter(
        primary_terms, dtype=np.int64, count=count)
    headers["version"] = np.fromiter(versions, dtype=np.int64, count=count)
    headers["id_length"] = np.fromiter(map(len, id_bytes), dtype=np.int32, count=count)
    headers["source_length"] = np.fromiter(map(len, sources), dtype=np.int32, count=count)
    headers["reason_length"] = _ABSENT
    routed = routings is not None and any(routing is not None for routing in routings)
    if routed:
        headers["kind"] = [_KIND_CODES["index"] | (0 if routing is None else _HAS_ROUTING) for routing in routings]
    header_bytes = headers.tobytes()
    size = OPERATION_HEADER.size
    header_slices = map(header_bytes.__getitem__, map(slice, range(0, count * size, size),
                                                      range(size, count * size + size, size)))
    if not routed:
        return b"".join(chain.from_iterable(zip(header_slices, id_bytes, sources)))
    routing_parts = []
    for routing in routings:
        if routing is None:
            routing_parts.append(b"")
        else:
            encoded = routing.encode("utf-8")
            routing_parts.append(_ROUTING_LENGTH.pack(len(encoded)) + encoded)
    return b"".join(chain.from_iterable(zip(header_slices, id_bytes, sources, routing_parts)))


def decode_operations(raw: bytes) -> list[ReplicatedOperation]:
    # one loop with locals and plain bytes slices (one copy each, no memoryview): start-up replay
    # decodes every logged operation, so this loop bounds restart time (ADR 0245)
    operations = []
    append = operations.append
    unpack_from = OPERATION_HEADER.unpack_from
    header_size = OPERATION_HEADER.size
    kind_names = _KIND_NAMES
    build = build_replicated_operation
    offset = 0
    end = len(raw)
    while offset < end:
        kind_code, seq_no, primary_term, version, id_length, source_length, reason_length = unpack_from(raw, offset)
        offset += header_size
        document_id = source = reason = routing = None
        if id_length != _ABSENT:
            document_id = raw[offset: offset + id_length].decode("utf-8")
            offset += id_length
        if source_length != _ABSENT:
            source = raw[offset: offset + source_length]
            offset += source_length
        if reason_length != _ABSENT:
            reason = raw[offset: offset + reason_length].decode("utf-8")
            offset += reason_length
        if kind_code & _HAS_ROUTING:
            (routing_length,) = _ROUTING_LENGTH.unpack_from(raw, offset)
            offset += _ROUTING_LENGTH.size
            routing = raw[offset: offset + routing_length].decode("utf-8")
            offset += routing_length
            kind_code &= ~_HAS_ROUTING
        # the builder, not __init__ (a frozen dataclass's per-field setattr)
        append(build(kind_names[kind_code], seq_no, primary_term, version, document_id, source, reason, routing))
    if offset != end:
        raise ValueError(f"operation batch overruns its record: expected {end} bytes, got {offset}")
    return operations


def summarize_operations(raw: bytes) -> tuple[int, int | None, int | None]:
    """(operation count, min seq_no, max seq_no) of an encoded batch, walking the headers only —
    what opening a log needs of every record, without building the operations (which replay then
    does once). Raises ValueError on an unknown kind or a batch that overruns its bytes, like
    ``decode_operations``; it does not check the utf-8 of ids (the record's crc already vouches)."""
    unpack_from = OPERATION_HEADER.unpack_from
    header_size = OPERATION_HEADER.size
    routing_length_of = _ROUTING_LENGTH.unpack_from
    routing_header = _ROUTING_LENGTH.size
    count = 0
    lowest = highest = None
    offset = 0
    end = len(raw)
    while offset < end:
        kind_code, seq_no, _term, _version, id_length, source_length, reason_length = unpack_from(raw, offset)
        if (kind_code & ~_HAS_ROUTING) not in _KIND_NAMES:
            raise ValueError(f"unknown operation kind code {kind_code} at byte {offset}")
        offset += header_size + max(id_length, 0) + max(source_length, 0) + max(reason_length, 0)
        if kind_code & _HAS_ROUTING:
            offset += routing_header + routing_length_of(raw, offset)[0]
        count += 1
        if lowest is None or seq_no < lowest:
            lowest = seq_no
        if highest is None or seq_no > highest:
            highest = seq_no
    if offset != end:
        raise ValueError(f"operation batch overruns its record: expected {end} bytes, got {offset}")
    return count, lowest, highest


def frame_record(operations) -> bytes:
    return frame_encoded(encode_operations(operations))


def frame_encoded(encoded_operations: bytes) -> bytes:
    """The framed record of an already encoded batch (``encode_operations``/``encode_index_batch``)."""
    payload = _compressor().compress(encoded_operations)
    length_bytes = struct.pack("<I", len(payload))
    crc = zlib.crc32(payload, zlib.crc32(length_bytes))
    return struct.pack("<I", crc) + length_bytes + payload


def record_at(data: bytes | memoryview, offset: int) -> tuple[bytes, int] | None:
    """The verified payload of the record starting at ``offset`` and the offset after it, or None
    when the bytes there are not a complete record with a matching crc."""
    end_of_data = len(data)
    if offset + FRAME_HEADER.size > end_of_data:
        return None
    crc, length = FRAME_HEADER.unpack_from(data, offset)
    end = offset + FRAME_HEADER.size + length
    if end > end_of_data:
        return None
    actual = zlib.crc32(data[offset + FRAME_HEADER.size: end], zlib.crc32(data[offset + 4: offset + 8]))
    if actual != crc:
        return None
    return bytes(data[offset + FRAME_HEADER.size: end]), end


def summarize_payload(payload: bytes) -> tuple[int, int | None, int | None]:
    """``summarize_operations`` of a record's payload."""
    return summarize_operations(zstandard.ZstdDecompressor().decompress(payload))


def decode_payload(payload: bytes) -> list[ReplicatedOperation]:
    # the frame's content size is always written by ZstdCompressor.compress, so one-shot is safe
    return decode_operations(zstandard.ZstdDecompressor().decompress(payload))
