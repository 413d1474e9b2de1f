"""Merges segments at the postings level: no re-analysis, no re-parsing of _source.

Owns: ``merge_segments(parts)``, which writes the body of one segment holding the chosen docs of
several segments, in order (part after part, docs ascending within a part). Term dictionaries
are unioned, postings entries (doc, frequency, positions) are remapped to the new doc ids and
regrouped by term with one stable sort; field lengths, numeric and keyword doc values are
gathered per doc; _source bytes are copied into a new block stream. The result is the same,
section for section, as building the kept documents from scratch (a property test holds it so).

Must never: change a document's content, or reorder documents within a part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, compress
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyroaring import BitMap

from index.analysis.batch_terms import sorted_string_order
from index.errors import MergeAbortedError
from index.segment.builder import (
    _write_inverted, write_numeric_columns, write_sorted_set, write_sources,
)
from index.segment.allocation import segment_build_allocation
from index.segment.inverter import InvertedField, stable_order_by_term
from index.segment.layout import MERGED_SEGMENT_ZSTD_LEVEL, SectionWriter, zstd_level
from index.segment.reader import SegmentCore
from index.segment.types import FIELD_NAMES_FIELD, ID_FIELD


@dataclass(frozen=True, slots=True)
class MergePart:
    core: SegmentCore
    kept_docs: np.ndarray        # int64, ascending local doc ids carried into the merged segment


def _gather_ranges(offsets: np.ndarray, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For CSR ``offsets`` and selected rows: (flat indices of their elements, per-row counts)."""
    starts = offsets[selected]
    counts = offsets[selected + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), counts
    row_starts = np.cumsum(counts) - counts
    flat = np.arange(total, dtype=np.int64) - np.repeat(row_starts, counts) + np.repeat(starts, counts)
    return flat, counts


def merge_segments(parts: Sequence[MergePart], should_stop: Callable[[], bool] = lambda: False) -> bytes:
    """The body of one segment holding the kept documents of ``parts`` in order. ``should_stop`` is
    asked between fields and between source blocks; when it answers True the merge raises
    MergeAbortedError (a 333k-document merge takes ~5 s; a closing shard must not wait for it)."""
    # a merge writes the long-lived segments: the denser zstd level (ADR 0335)
    with segment_build_allocation(), zstd_level(MERGED_SEGMENT_ZSTD_LEVEL):   # temporaries: ADR 0295
        return _merge_segments(parts, should_stop)


def _stop_if_asked(should_stop: Callable[[], bool]) -> None:
    if should_stop():
        raise MergeAbortedError("the merge was aborted: its shard is closing")


def _checked_blocks(blocks: Iterable[Iterable[bytes]], should_stop: Callable[[], bool]) -> Iterator[Iterable[bytes]]:
    for block in blocks:
        _stop_if_asked(should_stop)
        yield block


def _merge_segments(parts: Sequence[MergePart], should_stop: Callable[[], bool]) -> bytes:
    writer = SectionWriter()
    sizes = [len(part.kept_docs) for part in parts]
    max_doc = int(sum(sizes))
    bases = np.cumsum([0] + sizes)[:-1]
    remaps = []
    for part, base in zip(parts, bases):
        remap = np.full(part.core.max_doc, -1, dtype=np.int64)
        remap[part.kept_docs] = base + np.arange(len(part.kept_docs), dtype=np.int64)
        remaps.append(remap)
    writer.metadata["max_doc"] = max_doc
    fields_metadata: dict[str, dict[str, Any]] = {}
    writer.metadata["fields"] = fields_metadata

    field_types: dict[str, str] = {}
    for part in parts:
        for path, meta in part.core._fields.items():
            known = field_types.setdefault(path, meta["type"])
            if known != meta["type"]:
                raise ValueError(f"field [{path}] has type {known} in one segment and {meta['type']} in another")

    kept_bitmaps = [BitMap(part.kept_docs.tolist()) for part in parts]
    for path in sorted(field_types):
        _stop_if_asked(should_stop)
        if path not in (ID_FIELD, FIELD_NAMES_FIELD) and not any(
                part.core.postings(FIELD_NAMES_FIELD, path) & kept for part, kept in zip(parts, kept_bitmaps)):
            continue   # no kept document has a value: the field is absent, as a fresh build would have it
        metas = [part.core._fields.get(path) for part in parts]
        metadata: dict[str, Any] = {"type": field_types[path]}
        if any(meta and meta.get("inverted") for meta in metas):
            with_positions = any(meta and meta.get("positions") for meta in metas)
            inverted, lengths = _merge_inverted(parts, remaps, path, max_doc, with_positions)
            _stop_if_asked(should_stop)
            _write_inverted(writer, path, inverted, lengths, max_doc, metadata, with_positions=with_positions)
        numeric_kinds = {meta["numeric"] for meta in metas if meta and "numeric" in meta}
        if numeric_kinds:
            offsets, values = _merge_numeric(parts, path, "float" in numeric_kinds)
            write_numeric_columns(writer, path, offsets, values, metadata, "float" in numeric_kinds)
        if any(meta and meta.get("keyword_doc_values") for meta in metas):
            write_sorted_set(writer, path, *_merge_sorted_set(parts, path), metadata)
        fields_metadata[path] = metadata

    document_ids: list[str] = []
    routings: list[str] = []
    routed = BitMap()
    tombstones = BitMap()
    for part, base, remap in zip(parts, bases, remaps):
        core = part.core
        kept = part.kept_docs.tolist()
        document_ids.extend(map(core.document_ids().__getitem__, kept))
        if core.tombstones:
            tombstones.update(remap[np.asarray((core.tombstones & BitMap(kept)).to_array(), dtype=np.int64)].tolist())
        if not core.has_routing():
            routings.extend([""] * len(kept))     # no custom routing in this part: a C-level fill
            continue
        for new_doc, doc in enumerate(kept, start=int(base)):
            routing = core.routing(doc)
            if routing is not None:
                routed.add(new_doc)
            routings.append(routing or "")
    writer.add_strings("document_ids", document_ids)
    for column in ("seq_nos", "primary_terms", "versions"):
        writer.add_array(column, np.concatenate([getattr(part.core, column)[part.kept_docs] for part in parts])
                         if parts else np.zeros(0, dtype=np.int64))
    writer.add_bytes("tombstones", tombstones.serialize())
    if routed:
        writer.add_bytes("routed_docs", routed.serialize())
        writer.add_strings("routings", routings)
    # block by block (each decompressed once), streamed: one block of each side in memory
    sources = chain.from_iterable(_checked_blocks(
        chain.from_iterable(part.core.source_chunks(part.kept_docs) for part in parts), should_stop))
    write_sources(writer, sources, max_doc)
    return writer.encode()


def _merge_inverted(parts: Sequence[MergePart], remaps: list[np.ndarray], path: str, max_doc: int,
                    with_positions: bool) -> tuple[InvertedField, np.ndarray]:
    term_lists = [list(part.core.terms(path)) for part in parts]
    # the union of the parts' term dictionaries and every local term's global number, from one
    # numpy-keyed sort of all of them (a set, sorted() and a dict cost ~1 µs a term more)
    concatenated = list(chain.from_iterable(term_lists))
    order = sorted_string_order(concatenated)
    in_order = list(map(concatenated.__getitem__, order.tolist()))
    starts_new_term = np.fromiter(chain((True,), map(str.__ne__, in_order[1:], in_order[:-1])),
                                  dtype=bool, count=len(in_order))
    all_terms = list(compress(in_order, starts_new_term.tolist()))
    global_of_concatenated = np.empty(len(concatenated), dtype=np.int64)
    global_of_concatenated[order] = np.cumsum(starts_new_term) - 1
    part_term_starts = np.cumsum([0] + [len(terms) for terms in term_lists]).tolist()
    term_ids, docs, frequencies, positions, lengths = [], [], [], [], np.zeros(max_doc, dtype=np.uint32)
    for part_number, (part, remap, terms) in enumerate(zip(parts, remaps, term_lists)):
        core = part.core
        data = core._inverted_field(path)
        if data is None or not terms:
            continue
        entry_offsets = data.entry_offsets
        per_term = np.diff(entry_offsets)
        entry_docs = core.entry_docs(path).astype(np.int64)
        local_to_global = global_of_concatenated[part_term_starts[part_number]:part_term_starts[part_number + 1]]
        new_docs = remap[entry_docs]
        keep = np.flatnonzero(new_docs >= 0)
        term_ids.append(np.repeat(local_to_global, per_term)[keep])
        docs.append(new_docs[keep])
        frequencies.append(data.frequencies[keep])
        if with_positions:
            if data.has_positions:
                flat, _ = _gather_ranges(data.position_offsets, keep)
                positions.append(data.positions[flat])
            else:
                positions.append(np.zeros(int(data.frequencies[keep].sum()), dtype=np.uint32))
        kept_docs = part.kept_docs
        lengths[remap[kept_docs]] = data.lengths[kept_docs]
    if not term_ids:
        empty = np.zeros(0, dtype=np.uint32)
        return InvertedField([], np.zeros(1, dtype=np.int64), empty, empty, np.zeros(1, dtype=np.int64), empty), lengths
    term_ids_all = np.concatenate(term_ids)
    docs_all = np.concatenate(docs)
    frequencies_all = np.concatenate(frequencies).astype(np.uint32)
    # drop terms that lost every posting, then regroup entries by term (parts are in doc order,
    # so a stable sort keeps docs ascending inside each term)
    used = np.zeros(len(all_terms), dtype=bool)
    used[term_ids_all] = True
    compact = np.cumsum(used) - 1
    kept_terms = [term for term, is_used in zip(all_terms, used.tolist()) if is_used]
    term_ids_all = compact[term_ids_all]
    order = stable_order_by_term(term_ids_all, len(kept_terms))
    sorted_terms = term_ids_all[order]
    entry_frequencies = frequencies_all[order]
    entry_position_offsets = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(entry_frequencies, out=entry_position_offsets[1:])
    if with_positions:
        positions_all = np.concatenate(positions).astype(np.uint32)
        source_offsets = np.zeros(len(order) + 1, dtype=np.int64)
        np.cumsum(frequencies_all, out=source_offsets[1:])
        flat, _ = _gather_ranges(source_offsets, order)
        merged_positions = positions_all[flat]
    else:
        merged_positions = np.zeros(int(entry_position_offsets[-1]), dtype=np.uint32)
    term_entry_offsets = np.searchsorted(sorted_terms, np.arange(len(kept_terms) + 1)).astype(np.int64)
    return InvertedField(kept_terms, term_entry_offsets, docs_all[order].astype(np.uint32), entry_frequencies,
                         entry_position_offsets, merged_positions), lengths


def _merge_numeric(parts: Sequence[MergePart], path: str, is_float: bool) -> tuple[np.ndarray, np.ndarray]:
    counts, values = [], []
    dtype = np.float64 if is_float else np.int64
    for part in parts:
        doc_values = part.core.numeric_doc_values(path)
        if doc_values is None:
            counts.append(np.zeros(len(part.kept_docs), dtype=np.int64))
            continue
        flat, part_counts = _gather_ranges(doc_values.offsets, part.kept_docs)
        counts.append(part_counts)
        values.append(doc_values.values[flat].astype(dtype))
    offsets = np.zeros(sum(len(c) for c in counts) + 1, dtype=np.int64)
    if counts:
        np.cumsum(np.concatenate(counts), out=offsets[1:])
    return offsets, (np.concatenate(values) if values else np.zeros(0, dtype=dtype))


def _merge_sorted_set(parts: Sequence[MergePart], path: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    per_part = [part.core.keyword_doc_values(path) for part in parts]
    used_terms: set[str] = set()
    gathered = []
    for part, doc_values in zip(parts, per_part):
        if doc_values is None:
            gathered.append((None, np.zeros(len(part.kept_docs), dtype=np.int64), None))
            continue
        flat, counts = _gather_ranges(doc_values.offsets, part.kept_docs)
        ordinals = doc_values.ordinals[flat]
        used_terms.update(doc_values.terms[ordinal] for ordinal in np.unique(ordinals).tolist())
        gathered.append((doc_values, counts, ordinals))
    terms = sorted(used_terms)
    new_ordinal = {term: ordinal for ordinal, term in enumerate(terms)}
    counts_all, ordinals_all = [], []
    for doc_values, counts, ordinals in gathered:
        counts_all.append(counts)
        if doc_values is None or not len(ordinals):
            continue
        # the old -> new ordinal map is monotonic (both sorted), so each doc's ordinals stay sorted
        mapping = np.fromiter((new_ordinal.get(term, -1) for term in doc_values.terms), dtype=np.int64,
                              count=len(doc_values.terms))
        ordinals_all.append(mapping[ordinals])
    offsets = np.zeros(sum(len(c) for c in counts_all) + 1, dtype=np.int64)
    if counts_all:
        np.cumsum(np.concatenate(counts_all), out=offsets[1:])
    ordinals = np.concatenate(ordinals_all).astype(np.int32) if ordinals_all else np.zeros(0, dtype=np.int32)
    return terms, offsets, ordinals
