"""Turns (term, doc, position) token columns into an inverted field, with numpy grouping.

Owns: ``InvertedField`` (sorted terms; per term a range of postings entries; per entry its doc,
term frequency and a range of positions), ``invert_term_ids`` (from dictionary-encoded tokens:
one stable grouping by term id, no Python object per token — DESIGN §9) and ``invert_tokens``
(from a list of term strings: encodes them with a dict first).

Must never: do I/O or analysis; it receives tokens already analysed.
"""

from __future__ import annotations

from dataclasses import dataclass

import sys

import numpy as np

_LITTLE_ENDIAN = sys.byteorder == "little"


@dataclass(frozen=True, slots=True)
class InvertedField:
    terms: list[str]                  # sorted ascending, distinct
    term_entry_offsets: np.ndarray    # int64 len terms+1: entries of term t are [o[t], o[t+1])
    entry_docs: np.ndarray            # uint32, ascending within a term
    entry_frequencies: np.ndarray     # uint32
    entry_position_offsets: np.ndarray  # int64 len entries+1 into positions
    positions: np.ndarray             # uint32


def stable_order_by_term(term_ids: np.ndarray, term_count: int) -> np.ndarray:
    """A stable argsort of small non-negative ids: numpy's stable sort is a radix sort for 16-bit
    keys (~4x faster here than for int64), so sort by 16-bit digits, least significant first."""
    if term_count <= 1 << 16:
        return np.argsort(term_ids.astype(np.uint16), kind="stable")
    order = np.argsort((term_ids & 0xFFFF).astype(np.uint16), kind="stable")
    shifted = term_ids[order] >> 16
    if term_count <= 1 << 32:
        return order[np.argsort(shifted.astype(np.uint16), kind="stable")]
    return order[np.argsort(shifted, kind="stable")]


def _group_by_term(term_ids: np.ndarray, term_count: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, grouped term ids): a stable sort of the tokens by term id. Term id and token index
    packed into one uint64 are all distinct, so numpy's plain (vectorised) sort of them is a
    stable argsort — faster here than the two 16-bit radix passes of stable_order_by_term."""
    token_count = len(term_ids)
    if token_count < 1 << 32 and term_count < 1 << 32:
        packed = term_ids.astype(np.uint64)
        packed <<= np.uint64(32)
        packed |= np.arange(token_count, dtype=np.uint64)
        packed.sort()
        # the halves as strided uint32 views (little-endian: the token index is the low word):
        # no new token-long arrays but the int64 order numpy indexing wants
        halves = packed.view(np.uint32)
        low, high = (halves[0::2], halves[1::2]) if _LITTLE_ENDIAN else (halves[1::2], halves[0::2])
        return low.astype(np.int64), high
    order = stable_order_by_term(term_ids, term_count)
    return order, term_ids[order]


def invert_term_ids(terms: list[str], term_ids: np.ndarray, docs: np.ndarray, positions: np.ndarray,
                    every_term_used: bool = False) -> InvertedField:
    """``terms`` sorted and distinct, token i is ``terms[term_ids[i]]`` in document ``docs[i]`` at
    ``positions[i]``; tokens must be ordered by (doc, position) — the stable grouping by term
    keeps that order inside each term. A term no token uses is left out, unless the caller
    vouches with ``every_term_used`` that there is none (EncodedTokenBatch guarantees it)."""
    term_ids = np.asarray(term_ids, dtype=np.int64)
    token_count = len(term_ids)
    if not token_count:
        empty64 = np.zeros(1, dtype=np.int64)
        return InvertedField([], empty64, np.zeros(0, np.uint32), np.zeros(0, np.uint32),
                             empty64.copy(), np.zeros(0, np.uint32))
    used = None if every_term_used else np.bincount(term_ids, minlength=len(terms)) > 0
    if used is not None and not used.all():   # renumber to the used terms only (sorted order is kept)
        renumber = np.cumsum(used) - 1
        term_ids = renumber[term_ids]
        terms = [term for term, is_used in zip(terms, used.tolist()) if is_used]
    order, grouped_terms = _group_by_term(term_ids, len(terms))
    # docs and positions end as uint32 (a segment's doc ids are below 2^31): narrowed before the
    # gathers, so the gathered token-long arrays are half as big
    grouped_docs = np.asarray(docs).astype(np.uint32)[order]
    grouped_positions = np.asarray(positions).astype(np.uint32)[order]
    starts_entry = np.empty(token_count, dtype=bool)
    starts_entry[0] = True
    starts_entry[1:] = (grouped_terms[1:] != grouped_terms[:-1]) | (grouped_docs[1:] != grouped_docs[:-1])
    entry_starts = np.flatnonzero(starts_entry)
    entry_position_offsets = np.empty(entry_starts.size + 1, dtype=np.int64)
    entry_position_offsets[:-1] = entry_starts
    entry_position_offsets[-1] = token_count
    entry_terms = grouped_terms[entry_starts]
    term_entry_offsets = np.searchsorted(entry_terms, np.arange(len(terms) + 1), side="left").astype(np.int64)
    return InvertedField(
        terms=list(terms),
        term_entry_offsets=term_entry_offsets,
        entry_docs=grouped_docs[entry_starts],
        entry_frequencies=np.diff(entry_position_offsets).astype(np.uint32),
        entry_position_offsets=entry_position_offsets,
        positions=grouped_positions,
    )


def invert_tokens(terms: list[str], docs: np.ndarray, positions: np.ndarray) -> InvertedField:
    """``docs``/``positions`` give each token's document and position; tokens must be ordered by
    (doc, position) — the stable sort by term keeps that order inside each term."""
    if not terms:
        return invert_term_ids([], np.zeros(0, dtype=np.int64), docs, positions)
    sorted_terms = sorted(set(terms))
    term_id_of = {term: term_id for term_id, term in enumerate(sorted_terms)}
    term_ids = np.fromiter(map(term_id_of.__getitem__, terms), dtype=np.int64, count=len(terms))
    return invert_term_ids(sorted_terms, term_ids, docs, positions)
