"""Serializes every term's postings of one field as roaring bitmaps in one vectorized pass.

Owns: ``serialize_postings``, which produces, for all terms at once, exactly the bytes that
``pyroaring.BitMap(array('I', docs)).serialize()`` gives (the portable roaring format after
``run_optimize``), laid end to end. A Python loop building one BitMap per term costs ~3 µs a term
(most terms of a text field have a handful of postings); numpy does the common containers (array
and run containers, at most 4096 values) for all terms together, and pyroaring still serializes
the few terms with a denser container (bitset), so the output is byte-identical either way.

Must never: change the bytes a reader sees — tests compare this with pyroaring on random inputs.
"""

from __future__ import annotations

from array import array

import numpy as np
from pyroaring import BitMap

_COOKIE_WITHOUT_RUNS = 12346
_COOKIE_WITH_RUNS = 12347
_NO_OFFSET_THRESHOLD = 4           # the run format carries container offsets only from 4 containers
_ARRAY_CONTAINER_MAX = 4096        # beyond this a container is a bitset: left to pyroaring


def _put_u16(out: np.ndarray, positions: np.ndarray, values: np.ndarray) -> None:
    # one 1-D scatter per byte: a 2-D fancy index (positions[:, None] + arange(2)) costs ~3x more
    if len(positions):
        values = np.asarray(values)
        out[positions] = values & 0xFF
        out[positions + 1] = (values >> 8) & 0xFF


def _put_u32(out: np.ndarray, positions: np.ndarray, values: np.ndarray) -> None:
    if len(positions):
        values = np.asarray(values)
        for byte_number in range(4):
            out[positions + byte_number] = (values >> (8 * byte_number)) & 0xFF


def serialize_postings(entry_docs: np.ndarray, term_entry_offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(all serialized bitmaps as one uint8 array, int64 byte offsets: term t is [o[t], o[t+1])).

    ``entry_docs`` holds each term's doc ids ascending and distinct, term t's at
    ``[term_entry_offsets[t], term_entry_offsets[t+1])``; every term has at least one doc."""
    offsets = np.asarray(term_entry_offsets, dtype=np.int64)
    term_count = len(offsets) - 1
    if term_count <= 0:
        return np.zeros(0, dtype=np.uint8), np.zeros(1, dtype=np.int64)
    docs = np.asarray(entry_docs, dtype=np.uint32)
    entry_count = len(docs)
    entry_terms = np.repeat(np.arange(term_count, dtype=np.int64), np.diff(offsets))
    keys = (docs >> 16).astype(np.int64)
    lows = (docs & 0xFFFF).astype(np.int64)

    # containers: a run of entries with one term and one high 16-bit key
    starts_container = np.ones(entry_count, dtype=bool)
    starts_container[1:] = (entry_terms[1:] != entry_terms[:-1]) | (keys[1:] != keys[:-1])
    container_first = np.flatnonzero(starts_container)
    container_count = len(container_first)
    container_cardinality = np.diff(np.append(container_first, entry_count))
    container_term = entry_terms[container_first]
    container_key = keys[container_first]
    starts_run = starts_container.copy()
    starts_run[1:] |= lows[1:] != lows[:-1] + 1
    container_runs = np.add.reduceat(starts_run.astype(np.int64), container_first)
    # run_optimize keeps an array container unless the run form is strictly smaller
    container_is_run = (2 + 4 * container_runs) < 2 * container_cardinality
    container_data_size = np.where(container_is_run, 2 + 4 * container_runs, 2 * container_cardinality)

    term_container_first = np.searchsorted(container_term, np.arange(term_count + 1))
    term_containers = np.diff(term_container_first)
    term_first = term_container_first[:-1]
    term_any_run = np.add.reduceat(container_is_run.astype(np.int64), term_first) > 0
    term_header = np.where(
        term_any_run,
        4 + (term_containers + 7) // 8 + 4 * term_containers
        + np.where(term_containers >= _NO_OFFSET_THRESHOLD, 4 * term_containers, 0),
        8 + 8 * term_containers)
    term_size = term_header + np.add.reduceat(container_data_size, term_first)

    # terms with a bitset-sized container: pyroaring serializes them
    dense_terms = np.unique(container_term[container_cardinality > _ARRAY_CONTAINER_MAX]).tolist()
    dense_bytes: dict[int, bytes] = {}
    for term in dense_terms:
        doc_ids = array("I")
        doc_ids.frombytes(docs[offsets[term]: offsets[term + 1]].tobytes())
        dense_bytes[term] = BitMap(doc_ids).serialize()
        term_size[term] = len(dense_bytes[term])

    term_start = np.zeros(term_count + 1, dtype=np.int64)
    np.cumsum(term_size, out=term_start[1:])
    out = np.zeros(int(term_start[-1]), dtype=np.uint8)
    sparse_term = np.ones(term_count, dtype=bool)
    if dense_terms:
        sparse_term[dense_terms] = False
    sparse_container = sparse_term[container_term]

    # per-term header: cookie (and the container count in the format without runs)
    sparse_terms = np.flatnonzero(sparse_term)
    cookies = np.where(term_any_run, _COOKIE_WITH_RUNS | ((term_containers - 1) << 16), _COOKIE_WITHOUT_RUNS)
    _put_u32(out, term_start[sparse_terms], cookies[sparse_terms])
    without_runs = sparse_terms[~term_any_run[sparse_terms]]
    _put_u32(out, term_start[without_runs] + 4, term_containers[without_runs])
    descriptive_base = term_start[:-1] + np.where(term_any_run, 4 + (term_containers + 7) // 8, 8)

    # per-container: key and cardinality-1, run flag, offset, where its data goes
    containers = np.flatnonzero(sparse_container)
    index_in_term = np.arange(container_count, dtype=np.int64) - term_first[container_term]
    descriptive_at = descriptive_base[container_term] + 4 * index_in_term
    _put_u16(out, descriptive_at[containers], container_key[containers])
    _put_u16(out, descriptive_at[containers] + 2, container_cardinality[containers] - 1)
    run_containers = containers[container_is_run[containers]]
    if len(run_containers):
        flag_at = term_start[container_term[run_containers]] + 4 + index_in_term[run_containers] // 8
        np.bitwise_or.at(out, flag_at, (1 << (index_in_term[run_containers] % 8)).astype(np.uint8))
    data_before = np.zeros(container_count + 1, dtype=np.int64)
    np.cumsum(container_data_size, out=data_before[1:])
    data_relative = term_header[container_term] + data_before[:-1] - data_before[term_first[container_term]]
    with_offsets = containers[(~term_any_run[container_term[containers]])
                              | (term_containers[container_term[containers]] >= _NO_OFFSET_THRESHOLD)]
    offsets_at = (descriptive_base[container_term] + 4 * term_containers[container_term] + 4 * index_in_term)
    _put_u32(out, offsets_at[with_offsets], data_relative[with_offsets])
    data_at = term_start[container_term] + data_relative

    # container contents: the low 16 bits (array) or (start, length-1) pairs after a count (run)
    entry_container = np.cumsum(starts_container) - 1
    entry_sparse = sparse_container[entry_container]
    array_entries = np.flatnonzero(entry_sparse & ~container_is_run[entry_container])
    array_containers = entry_container[array_entries]
    _put_u16(out, data_at[array_containers] + 2 * (array_entries - container_first[array_containers]),
             lows[array_entries])
    if len(run_containers):
        _put_u16(out, data_at[run_containers], container_runs[run_containers])
        run_first = np.flatnonzero(starts_run)
        run_length = np.diff(np.append(run_first, entry_count))
        run_container = entry_container[run_first]
        first_run_of_container = np.searchsorted(run_first, container_first)
        keep = container_is_run[run_container] & sparse_container[run_container]
        run_first, run_length, run_container = run_first[keep], run_length[keep], run_container[keep]
        run_index = np.flatnonzero(keep) - first_run_of_container[run_container]
        run_at = data_at[run_container] + 2 + 4 * run_index
        _put_u16(out, run_at, lows[run_first])
        _put_u16(out, run_at + 2, run_length - 1)

    for term, serialized in dense_bytes.items():
        out[term_start[term]: term_start[term + 1]] = np.frombuffer(serialized, dtype=np.uint8)
    return out, term_start


def _unaligned_view(buffer: np.ndarray, dtype: str) -> np.ndarray:
    """Element i is the little-endian integer of ``dtype`` starting at byte i (a strided view)."""
    width = np.dtype(dtype).itemsize
    return np.ndarray(shape=(max(buffer.size - width + 1, 0),), dtype=dtype, buffer=buffer, offset=0, strides=(1,))


def deserialize_postings(buffer: np.ndarray, term_starts: np.ndarray, term_lengths: np.ndarray,
                         expected_counts: np.ndarray) -> np.ndarray:
    """The docs of every serialized bitmap (term t's bytes are ``buffer[term_starts[t]:][:term_lengths[t]]``),
    concatenated term after term as uint32: what ``BitMap.deserialize(bytes).to_array()`` per term
    gives, decoded for all terms at once. ``expected_counts[t]`` is term t's number of docs (the
    segment's entry offsets): a bitmap that disagrees is corrupt (ValueError). Array and run
    containers are decoded with numpy; a term with a bitset container goes through pyroaring.

    Why: a merge reads every posting of every term; one ``deserialize`` + ``to_array`` per term
    cost ~2.5 µs (a 100k-document body field has ~170k terms, most with a handful of docs)."""
    buffer = np.ascontiguousarray(buffer, dtype=np.uint8)
    starts = np.asarray(term_starts, dtype=np.int64)
    lengths = np.asarray(term_lengths, dtype=np.int64)
    expected = np.asarray(expected_counts, dtype=np.int64)
    term_count = starts.size
    if term_count == 0:
        return np.zeros(0, dtype=np.uint32)
    padded = np.concatenate((buffer, np.zeros(8, dtype=np.uint8)))   # headers read 4 bytes at a time
    u16 = _unaligned_view(padded, "<u2")
    u32 = _unaligned_view(padded, "<u4")
    cookies = u32[starts].astype(np.int64)
    has_runs = (cookies & 0xFFFF) == _COOKIE_WITH_RUNS
    if not np.all(has_runs | (cookies == _COOKIE_WITHOUT_RUNS)):
        bad = int(np.flatnonzero(~(has_runs | (cookies == _COOKIE_WITHOUT_RUNS)))[0])
        raise ValueError(f"postings of term number {bad}: expected a roaring cookie, got {int(cookies[bad])}")
    sizes = np.where(has_runs, (cookies >> 16) + 1, u32[starts + 4].astype(np.int64))
    descriptive_base = starts + np.where(has_runs, 4 + (sizes + 7) // 8, 8)
    container_count = int(sizes.sum())
    container_term = np.repeat(np.arange(term_count, dtype=np.int64), sizes)
    first_container = np.cumsum(sizes) - sizes
    index_in_term = np.arange(container_count, dtype=np.int64) - first_container[container_term]
    descriptive_at = descriptive_base[container_term] + 4 * index_in_term
    keys = u16[descriptive_at].astype(np.uint32)
    cardinality = u16[descriptive_at + 2].astype(np.int64) + 1
    run_flag_byte = padded[starts[container_term] + 4 + index_in_term // 8].astype(np.int64)
    is_run = has_runs[container_term] & (((run_flag_byte >> (index_in_term % 8)) & 1) == 1)
    is_bitset = ~is_run & (cardinality > _ARRAY_CONTAINER_MAX)

    # where each container's data starts: from the offsets section when there is one, else
    # (run format, fewer than 4 containers) one after the other from the end of the header
    has_offsets = ~has_runs | (sizes >= _NO_OFFSET_THRESHOLD)
    header_end = descriptive_base + 4 * sizes
    data_at = np.zeros(container_count, dtype=np.int64)
    with_offsets = np.flatnonzero(has_offsets[container_term])
    data_at[with_offsets] = starts[container_term[with_offsets]] + u32[
        header_end[container_term[with_offsets]] + 4 * index_in_term[with_offsets]].astype(np.int64)
    sequential = np.flatnonzero(~has_offsets[container_term])
    if sequential.size:
        for number in range(_NO_OFFSET_THRESHOLD - 1):      # containers 0, 1, 2 of such a term
            these = sequential[index_in_term[sequential] == number]
            if number == 0:
                data_at[these] = header_end[container_term[these]]
            else:
                previous = these - 1
                run_size = 2 + 4 * u16[data_at[previous]].astype(np.int64)
                previous_size = np.where(is_run[previous], run_size,
                                         np.where(is_bitset[previous], 8192, 2 * cardinality[previous]))
                data_at[these] = data_at[previous] + previous_size
    dense_terms = np.unique(container_term[is_bitset])
    # every container of a term with a bitset is left to pyroaring (below), whatever its kind
    numpy_decoded = np.ones(container_count, dtype=bool)
    if dense_terms.size:
        dense_term = np.zeros(term_count, dtype=bool)
        dense_term[dense_terms] = True
        numpy_decoded = ~dense_term[container_term]
    term_totals = np.bincount(container_term, weights=cardinality, minlength=term_count).astype(np.int64)
    if not np.array_equal(term_totals, expected):
        bad = int(np.flatnonzero(term_totals != expected)[0])
        raise ValueError(f"postings of term number {bad}: expected {int(expected[bad])} docs, "
                         f"its bitmap holds {int(term_totals[bad])}")
    output_at = np.cumsum(cardinality) - cardinality            # each container's first output slot
    docs = np.zeros(int(cardinality.sum()), dtype=np.uint32)

    arrays = np.flatnonzero(~is_run & ~is_bitset & numpy_decoded)
    if arrays.size:
        counts = cardinality[arrays]
        within = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        read_at = np.repeat(data_at[arrays], counts) + 2 * within
        docs[np.repeat(output_at[arrays], counts) + within] = \
            (np.repeat(keys[arrays], counts) << np.uint32(16)) | u16[read_at].astype(np.uint32)
    runs = np.flatnonzero(is_run & numpy_decoded)
    if runs.size:
        run_counts = u16[data_at[runs]].astype(np.int64)
        run_number = np.arange(int(run_counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(run_counts) - run_counts,
                                                                                 run_counts)
        run_at = np.repeat(data_at[runs], run_counts) + 2 + 4 * run_number
        run_starts = u16[run_at].astype(np.int64)
        run_lengths = u16[run_at + 2].astype(np.int64) + 1
        run_container = np.repeat(runs, run_counts)
        # each run's values go after the earlier runs of its container
        run_output = np.cumsum(run_lengths) - run_lengths
        container_first_run = np.repeat(np.cumsum(run_counts) - run_counts, run_counts)
        run_output = run_output - run_output[container_first_run] + output_at[run_container]
        value_count = int(run_lengths.sum())
        within = np.arange(value_count, dtype=np.int64) - np.repeat(np.cumsum(run_lengths) - run_lengths, run_lengths)
        docs[np.repeat(run_output, run_lengths) + within] = (
            (np.repeat(keys[run_container], run_lengths) << np.uint32(16))
            | (np.repeat(run_starts, run_lengths) + within).astype(np.uint32))
    if dense_terms.size:
        term_output = np.cumsum(term_totals) - term_totals
        for term in dense_terms.tolist():
            start = int(starts[term])
            bitmap = BitMap.deserialize(buffer[start:start + int(lengths[term])].tobytes())
            docs[term_output[term]:term_output[term] + term_totals[term]] = np.frombuffer(
                bitmap.to_array(), dtype=np.uint32)
    return docs
