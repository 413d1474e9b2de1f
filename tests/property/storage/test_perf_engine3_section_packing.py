"""Format 2 packs integer arrays (narrow types, deltas, deltas restarting per run) and the reader
gives back exactly the array that was written, in its own dtype (ADR 0285)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.segment.layout import SectionReader, SectionWriter

DTYPES = st.sampled_from([np.int64, np.int32, np.uint32, np.uint16, np.int16, np.uint8, np.float64])
VALUES = st.one_of(
    st.integers(-3, 300), st.integers(0, 70_000), st.integers(-(2 ** 63), 2 ** 63 - 1), st.integers(0, 2 ** 32 - 1),
)


def read_back(writer: SectionWriter) -> SectionReader:
    return SectionReader(memoryview(writer.encode()))


def fitting(values: list[int], dtype) -> np.ndarray:
    limits = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if limits is not None:
        values = [min(max(value, limits.min), limits.max) for value in values]
    return np.asarray(values, dtype=dtype)


@settings(max_examples=150, deadline=None)
@given(st.lists(VALUES, max_size=50), DTYPES, st.booleans(), st.booleans())
def test_any_integer_array_reads_back_equal_with_its_dtype(values, dtype, ascending, compress):
    array = fitting(values, dtype)
    if ascending:
        array = np.sort(array)
    writer = SectionWriter()
    writer.add_array("values", array, compress=compress)
    got = read_back(writer).array("values")
    assert got.dtype == array.dtype
    assert got.tobytes() == array.tobytes()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.integers(0, 70_000), min_size=1, max_size=6), max_size=30),
       st.sampled_from([np.uint32, np.int64]))
def test_positions_that_ascend_within_runs_read_back_equal(runs, dtype):
    run_lengths = np.asarray([len(run) for run in runs], dtype=np.uint32)
    positions = np.asarray([value for run in runs for value in sorted(run)], dtype=dtype)
    writer = SectionWriter()
    writer.add_array("frequencies", run_lengths)
    writer.add_array("positions", positions, runs="frequencies")
    reader = read_back(writer)
    got = reader.array("positions")
    assert got.dtype == positions.dtype
    assert got.tolist() == positions.tolist()
    assert reader.array("frequencies").tolist() == run_lengths.tolist()


def test_ascending_offsets_are_stored_as_one_byte_deltas():
    offsets = np.arange(0, 3_000_000, 3, dtype=np.int64)
    writer = SectionWriter()
    writer.add_array("offsets", offsets, compress=False)
    assert writer.sections["offsets"][1] == offsets.size          # one byte per value
    assert writer.sections["offsets"][5][0] == "delta"
    assert np.array_equal(read_back(writer).array("offsets"), offsets)


def test_run_lengths_that_do_not_cover_the_array_are_refused():
    writer = SectionWriter()
    writer.add_array("frequencies", np.asarray([2, 2], dtype=np.uint32))
    with pytest.raises(ValueError, match="expected run lengths adding up to 5"):
        writer.add_array("positions", np.arange(5, dtype=np.uint32), runs="frequencies")


def test_an_unknown_packing_is_a_named_error():
    writer = SectionWriter()
    writer.add_array("values", np.asarray([5, 1, 9], dtype=np.int64))
    writer.sections["values"][5] = ["zigzag", "|u1"]
    with pytest.raises(ValueError, match="'values': unknown integer packing 'zigzag'"):
        read_back(writer).array("values")


def test_a_packed_array_reads_back_read_only_like_an_unpacked_one():
    writer = SectionWriter()
    writer.add_array("packed", np.arange(10, dtype=np.int64))
    writer.add_array("plain", np.asarray([0.5, 1.5]))
    reader = read_back(writer)
    assert reader.sections["packed"][5][0] == "delta"
    assert not reader.array("packed").flags.writeable
    assert not reader.array("plain").flags.writeable
