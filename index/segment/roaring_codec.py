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
