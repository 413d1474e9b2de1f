"""The batch ABI between the host and a UDF module: names, signatures and the byte layout.

Owns: the ABI version(s) this build speaks, the export names and signatures a module must
have, the layout of the batch region in linear memory (header, params, scores, field columns,
presence masks, output), and the numpy code that writes a batch into that region and reads the
output back. docs/udf.md is the prose version of this module; keep them in step.

Must never: import wasmtime (the runtime hands it a writable uint8 view of memory), index/,
raft/, node/ or trio; loop per document in Python.

Layout, ABI version 1 (little-endian; every offset relative to the region start, which the
module returns from ``quidditch_reserve`` and which must be 8-byte aligned):

    offset  type  field
    0       u32   abi_version            1
    4       u32   document_count         N
    8       u32   field_count            F (declared fields, in declaration order)
    12      u32   param_count            P (declared params, in declaration order)
    16      u32   params_offset          P   x f64
    20      u32   scores_offset          N   x f64 (current scores; 0.0 for a filter with none)
    24      u32   field_values_offset    F*N x f64, column-major: field i at +i*N*8; NaN if missing
    28      u32   field_present_offset   F*N x u8,  column-major: field i at +i*N; 1 present, 0 missing
    32      u32   output_offset          N x f64 (score_batch) or N x u8 (filter_batch), zeroed
    36      u32   kind                   0 = filter_batch call, 1 = score_batch call
    40..63        reserved, zero
    64      ...   the sections above, each starting 8-byte aligned, in the order listed
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

ABI_VERSION = 1
SUPPORTED_ABI_VERSIONS: tuple[int, ...] = (1,)

MEMORY_EXPORT = "memory"
ABI_VERSION_EXPORT = "quidditch_abi_version"
RESERVE_EXPORT = "quidditch_reserve"
FILTER_EXPORT = "filter_batch"
SCORE_EXPORT = "score_batch"

KIND_FILTER = "filter"
KIND_SCORE = "score"
KINDS: tuple[str, ...] = (KIND_FILTER, KIND_SCORE)
EXPORT_FOR_KIND = {KIND_FILTER: FILTER_EXPORT, KIND_SCORE: SCORE_EXPORT}
KIND_CODE = {KIND_FILTER: 0, KIND_SCORE: 1}

# Export name → (parameter types, result types), as wasmtime spells value types.
REQUIRED_FUNCTION_SIGNATURES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ABI_VERSION_EXPORT: ((), ("i32",)),
    RESERVE_EXPORT: (("i32",), ("i32",)),
}
BATCH_FUNCTION_SIGNATURE: tuple[tuple[str, ...], tuple[str, ...]] = (("i32", "i32"), ("i32",))

HEADER_BYTES = 64
ALIGNMENT = 8
# The region must be addressable with i32 offsets and a u32 header; wasm32 memory tops out at
# 4 GiB, and wasmtime-py wraps out-of-range integers silently, so refuse anything near 2 GiB.
MAX_REGION_BYTES = (1 << 31) - 1

# Header field byte offsets (u32 each).
HEADER_ABI_VERSION = 0
HEADER_DOCUMENT_COUNT = 4
HEADER_FIELD_COUNT = 8
HEADER_PARAM_COUNT = 12
HEADER_PARAMS_OFFSET = 16
HEADER_SCORES_OFFSET = 20
HEADER_FIELD_VALUES_OFFSET = 24
HEADER_FIELD_PRESENT_OFFSET = 28
HEADER_OUTPUT_OFFSET = 32
HEADER_KIND = 36


def _align(byte_count: int) -> int:
    return (byte_count + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


@dataclass(frozen=True, slots=True)
class BatchLayout:
    """Where each section of one batch lives, relative to the region start."""

    document_count: int
    field_count: int
    param_count: int
    params_offset: int
    scores_offset: int
    field_values_offset: int
    field_present_offset: int
    output_offset: int
    total_bytes: int


@functools.lru_cache(maxsize=256)
def plan_batch_layout(document_count: int, field_count: int, param_count: int) -> BatchLayout:
    """The layout of a batch of ``document_count`` documents; ValueError if it cannot fit.

    Cached: a run of full batches asks for the same layout every time."""
    if document_count < 0 or field_count < 0 or param_count < 0:
        raise ValueError(
            f"batch dimensions must be non-negative, got documents={document_count} "
            f"fields={field_count} params={param_count}"
        )
    params_offset = HEADER_BYTES
    scores_offset = params_offset + _align(8 * param_count)
    field_values_offset = scores_offset + _align(8 * document_count)
    field_present_offset = field_values_offset + _align(8 * document_count * field_count)
    output_offset = field_present_offset + _align(document_count * field_count)
    # The output section is sized for f64 whatever the kind, so one reservation fits both.
    total_bytes = output_offset + _align(8 * document_count)
    if total_bytes > MAX_REGION_BYTES:
        raise ValueError(
            f"a batch of {document_count} documents with {field_count} fields needs "
            f"{total_bytes} bytes, more than the {MAX_REGION_BYTES} an i32 region can address"
        )
    return BatchLayout(
        document_count=document_count, field_count=field_count, param_count=param_count,
        params_offset=params_offset, scores_offset=scores_offset,
        field_values_offset=field_values_offset, field_present_offset=field_present_offset,
        output_offset=output_offset, total_bytes=total_bytes,
    )


def write_batch(
    region: np.ndarray,
    layout: BatchLayout,
    kind: str,
    params: np.ndarray,
    scores: np.ndarray | None,
    field_values: list[np.ndarray],
    field_present: list[np.ndarray],
) -> None:
    """Write one batch into ``region`` (a writable uint8 view of exactly ``layout.total_bytes``).

    ``field_values[i]`` is float64 of length N with NaN where ``field_present[i]`` is False;
    ``field_present[i]`` is bool or uint8 of length N. One slice assignment per column.
    """
    region[:HEADER_BYTES] = _header_bytes(layout, kind)

    document_count = layout.document_count
    if layout.param_count:
        end = layout.params_offset + 8 * layout.param_count
        region[layout.params_offset:end].view("<f8")[:] = params
    scores_end = layout.scores_offset + 8 * document_count
    if scores is None:
        region[layout.scores_offset:scores_end] = 0
    else:
        region[layout.scores_offset:scores_end].view("<f8")[:] = scores
    for field_index in range(layout.field_count):
        values_start = layout.field_values_offset + field_index * 8 * document_count
        region[values_start:values_start + 8 * document_count].view("<f8")[:] = field_values[field_index]
        present_start = layout.field_present_offset + field_index * document_count
        region[present_start:present_start + document_count] = field_present[field_index]
    region[layout.output_offset:layout.total_bytes] = 0


@functools.lru_cache(maxsize=256)
def _header_bytes(layout: BatchLayout, kind: str) -> np.ndarray:
    header = np.zeros(HEADER_BYTES // 4, dtype="<u4")
    header[HEADER_ABI_VERSION // 4] = ABI_VERSION
    header[HEADER_DOCUMENT_COUNT // 4] = layout.document_count
    header[HEADER_FIELD_COUNT // 4] = layout.field_count
    header[HEADER_PARAM_COUNT // 4] = layout.param_count
    header[HEADER_PARAMS_OFFSET // 4] = layout.params_offset
    header[HEADER_SCORES_OFFSET // 4] = layout.scores_offset
    header[HEADER_FIELD_VALUES_OFFSET // 4] = layout.field_values_offset
    header[HEADER_FIELD_PRESENT_OFFSET // 4] = layout.field_present_offset
    header[HEADER_OUTPUT_OFFSET // 4] = layout.output_offset
    header[HEADER_KIND // 4] = KIND_CODE[kind]
    header_bytes = header.view(np.uint8)
    header_bytes.flags.writeable = False      # shared by every batch with this layout
    return header_bytes


def read_filter_output(region: np.ndarray, layout: BatchLayout) -> np.ndarray:
    """The N keep flags as a bool array (a copy): any non-zero byte means keep."""
    start = layout.output_offset
    return region[start:start + layout.document_count] != 0


def read_score_output(region: np.ndarray, layout: BatchLayout) -> np.ndarray:
    """The N new scores as float64 (a copy, so it outlives the instance's memory)."""
    start = layout.output_offset
    return region[start:start + 8 * layout.document_count].view("<f8").copy()
