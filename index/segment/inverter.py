"""Turns (term, doc, position) token columns into an inverted field, with numpy grouping.

Owns: ``InvertedField`` (sorted terms; per term a range of postings entries; per entry its doc,
term frequency and a range of positions) and ``invert_tokens``, which builds it with one stable
argsort by term id (DESIGN §9: no per-token dict of lists).

Must never: do I/O or analysis; it receives tokens already analysed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


def invert_tokens(terms: list[str], docs: np.ndarray, positions: np.ndarray) -> InvertedField:
    """``docs``/``positions`` give each token's document and position; tokens must be ordered by
    (doc, position) — the stable sort by term keeps that order inside each term."""
    if not terms:
        empty64 = np.zeros(1, dtype=np.int64)
        return InvertedField([], empty64, np.zeros(0, np.uint32), np.zeros(0, np.uint32),
                             empty64.copy(), np.zeros(0, np.uint32))
    sorted_terms = sorted(set(terms))
    term_id_of = {term: term_id for term_id, term in enumerate(sorted_terms)}
    term_ids = np.fromiter(map(term_id_of.__getitem__, terms), dtype=np.int64, count=len(terms))
    order = stable_order_by_term(term_ids, len(sorted_terms))
    grouped_terms = term_ids[order]
    grouped_docs = np.asarray(docs, dtype=np.int64)[order]
    grouped_positions = np.asarray(positions, dtype=np.int64)[order]
    token_count = len(terms)
    starts_entry = np.ones(token_count, dtype=bool)
    starts_entry[1:] = (grouped_terms[1:] != grouped_terms[:-1]) | (grouped_docs[1:] != grouped_docs[:-1])
    entry_starts = np.flatnonzero(starts_entry)
    entry_position_offsets = np.append(entry_starts, token_count).astype(np.int64)
    entry_terms = grouped_terms[entry_starts]
    term_entry_offsets = np.searchsorted(entry_terms, np.arange(len(sorted_terms) + 1), side="left").astype(np.int64)
    return InvertedField(
        terms=sorted_terms,
        term_entry_offsets=term_entry_offsets,
        entry_docs=grouped_docs[entry_starts].astype(np.uint32),
        entry_frequencies=np.diff(entry_position_offsets).astype(np.uint32),
        entry_position_offsets=entry_position_offsets,
        positions=grouped_positions.astype(np.uint32),
    )
