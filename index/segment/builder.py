"""Builds one immutable segment file from a batch of documents.

Owns: turning ``SegmentDocument``s (the mapping's parsed values, the _source bytes and the
seq_no/term/version of each) into the sections of a segment: per field an inverted index
(term dictionary, roaring postings in zstd blocks, term frequencies, positions, field lengths),
numeric and keyword doc values, ``_id`` and ``_field_names`` postings, stored _source in zstd
blocks (built as a stream), and the seq_no/primary_term/version columns. Text is analysed a
field at a time with ``Analyzer.analyze_batch_encoded`` (term ids, no Python object per token;
``analyze_batch`` for analyzers without it) and inverted with numpy (index/segment/inverter.py).

Must never: write anything but a new file (segments are immutable), or change the mapping.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
from pyroaring import BitMap

from index.analysis.batch_terms import sorted_string_order
from index.format import SEGMENT, write_checked_file
from index.segment import forked_build
from index.segment.allocation import segment_build_allocation
from index.segment.inverter import InvertedField, invert_term_ids, invert_tokens
from index.segment.layout import SectionWriter, compressor
from index.segment.roaring_codec import serialize_postings
from index.segment.types import FIELD_NAMES_FIELD, ID_FIELD, BufferedDocuments, DocumentColumns, SegmentDocument

POSTINGS_BLOCK_BYTES = 64 * 1024
SOURCE_BLOCK_BYTES = 32 * 1024
POSITION_INCREMENT_GAP = 100       # between the values of a multi-valued text field, as OpenSearch
INTEGER_TYPES = frozenset({"long", "integer", "short", "byte", "date", "date_nanos", "unsigned_long"})
FLOAT_TYPES = frozenset({"double", "float", "half_float", "scaled_float"})


def segment_file_name(segment_name: str) -> str:
    return f"{segment_name}.seg"


def _field_kind(mapping: Any, path: str, sample: Any) -> tuple[str, bool, bool, str]:
    """(type, indexed, has doc values, analyzer) for a field, inferring the type when unmapped."""
    field_mapping = mapping.field(path) if mapping is not None else None
    if field_mapping is not None:
        return (field_mapping.type, field_mapping.index, field_mapping.doc_values,
                field_mapping.analyzer or "standard")
    if isinstance(sample, bool):
        return "boolean", True, True, "standard"
    if isinstance(sample, int):
        return "long", True, True, "standard"
    if isinstance(sample, float):
        return "double", True, True, "standard"
    return "keyword", True, True, "standard"


def build_segment(documents: Sequence[SegmentDocument], mapping: Any, analysis: Any,
                  fork_leading_fields: bool = False) -> bytes:
    """The body of a segment file holding ``documents`` in order (local doc id = index).
    ``fork_leading_fields``: the leading fields (in section order) that hold about half of the
    work are built by a forked child at the same time as the rest (ADR 0310) — the same bytes."""
    with segment_build_allocation():     # where the build's temporaries come from (ADR 0295)
        return _build_segment(documents, mapping, analysis, fork_leading_fields)


def _build_segment(documents: Sequence[SegmentDocument], mapping: Any, analysis: Any,
                   fork_leading_fields: bool = False) -> bytes:
    max_doc = len(documents)
    values_by_field, tombstones = _gather_columns(documents)
    paths = sorted(values_by_field)
    leading = _leading_fields_for_a_child(paths, values_by_field, documents) if fork_leading_fields else 0
    if leading:
        return _build_with_leading_fields_forked(documents, mapping, analysis, values_by_field, tombstones,
                                                 paths, leading)
    writer = SectionWriter()
    writer.metadata["max_doc"] = max_doc
    fields_metadata: dict[str, dict[str, Any]] = {}
    writer.metadata["fields"] = fields_metadata
    for path in paths:
        fields_metadata[path] = _write_field(writer, path, values_by_field[path], mapping, analysis, max_doc)
    _write_document_sections(writer, documents, values_by_field, tombstones, fields_metadata)
    return writer.encode()


def _build_with_leading_fields_forked(documents: Sequence[SegmentDocument], mapping: Any, analysis: Any,
                                      values_by_field: dict[str, tuple[list[int], list[Any]]], tombstones: BitMap,
                                      paths: list[str], leading: int) -> bytes:
    """A child writes the sections of ``paths[:leading]`` (they come first in the file) while this
    process writes the rest; the child's sections are then put in front, their offsets unchanged,
    ours shifted past them: exactly the sequential build's directory and bytes."""
    max_doc = len(documents)

    def write_leading_fields() -> bytes:
        writer = SectionWriter()
        fields = {path: _write_field(writer, path, values_by_field[path], mapping, analysis, max_doc)
                  for path in paths[:leading]}
        return writer.export(fields)

    child = forked_build.start_forked_child(write_leading_fields)
    try:
        rest = SectionWriter()
        rest_fields = {path: _write_field(rest, path, values_by_field[path], mapping, analysis, max_doc)
                       for path in paths[leading:]}
        _write_document_sections(rest, documents, values_by_field, tombstones, rest_fields)
    except BaseException:
        child.abandon()
        raise
    first, first_fields = SectionWriter.imported(child.result())
    writer = first.followed_by(rest)
    writer.metadata["max_doc"] = max_doc
    writer.metadata["fields"] = {**first_fields, **rest_fields}
    return writer.encode()


# the share of a build's work the leading fields must reach before a child is worth its fork:
# a text field's analysis dominates (per character of text); every other column and the per-document
# sections cost about as much per value / per source byte as these weights say (profiled on the bench
# corpus; a wrong weight only unbalances the two halves, never changes the bytes)
_TEXT_COST_PER_CHARACTER = 1.0
_OTHER_COST_PER_VALUE = 24.0
_DOCUMENT_SECTIONS_COST_PER_SOURCE_BYTE = 0.45
_MINIMUM_LEADING_SHARE = 0.2


def _leading_fields_for_a_child(paths: list[str], values_by_field: dict[str, tuple[list[int], list[Any]]],
                                documents: Sequence[SegmentDocument]) -> int:
    """How many leading fields a child should build: the prefix that best balances the two halves
    by estimated cost, or 0 when the best prefix is too small a share to pay for a fork."""
    costs = []
    for path in paths:
        _, values = values_by_field[path]
        if values and isinstance(values[0], str) and len(values) <= 4 * len(documents):
            sampled = values[:: max(1, len(values) // 2000)]
            costs.append(_TEXT_COST_PER_CHARACTER * len(values) * sum(map(len, sampled)) / len(sampled))
        else:
            costs.append(_OTHER_COST_PER_VALUE * len(values))
    step = max(1, len(documents) // 2000)
    if isinstance(documents, BufferedDocuments):
        sampled_sources = [documents.source_at(position) for position in range(0, len(documents), step)]
    else:
        sampled_sources = [document.source for document in documents[::step]]
    tail = _DOCUMENT_SECTIONS_COST_PER_SOURCE_BYTE * len(documents) * \
        sum(map(len, sampled_sources)) / max(1, len(sampled_sources))
    total = sum(costs) + tail
    best, best_makespan, prefix = 0, total, 0.0
    for count in range(1, len(paths) + 1):
        prefix += costs[count - 1]
        makespan = max(prefix, total - prefix)
        if makespan < best_makespan:
            best, best_makespan = count, makespan
    if best and min(sum(costs[:best]), total - sum(costs[:best])) < _MINIMUM_LEADING_SHARE * total:
        return 0
    return best


def _write_field(writer: SectionWriter, path: str, column: tuple[list[int], list[Any]], mapping: Any,
                 analysis: Any, max_doc: int) -> dict[str, Any]:
    """Write one field's sections; return its metadata."""
    doc_list, value_list = column
    field_type, indexed, doc_values, analyzer_name = _field_kind(mapping, path, value_list[0])
    metadata: dict[str, Any] = {"type": field_type}
    docs = np.asarray(doc_list, dtype=np.int64)
    if field_type == "text":
        if indexed:
            analyzer = analysis.get(analyzer_name)
            inverted, lengths = _invert_text(analyzer, docs, [str(v) for v in value_list], max_doc)
            _write_inverted(writer, path, inverted, lengths, max_doc, metadata, with_positions=True)
    elif field_type in INTEGER_TYPES or field_type in FLOAT_TYPES:
        if doc_values or indexed:
            is_float = field_type in FLOAT_TYPES
            # unsigned_long keeps all 64 bits as uint64 (a `<u8` section); the query side reads
            # int64 bit patterns a merge may leave as uint64 again (query.execution)
            integer_dtype = np.uint64 if field_type == "unsigned_long" else np.int64
            try:
                numbers = np.asarray(value_list, dtype=np.float64 if is_float else integer_dtype)
            except (OverflowError, TypeError, ValueError):
                # beyond int64 (unsigned_long near 2^64) or not a number after all: a segment that
                # can never be written would wedge every refresh, so keep what a double can hold
                numbers, is_float = np.asarray([float(value) for value in value_list], dtype=np.float64), True
            _write_numeric(writer, path, docs, numbers, max_doc, metadata, is_float)
    elif field_type == "boolean":
        flags = [bool(value) for value in value_list]
        if indexed:
            terms = ["true" if flag else "false" for flag in flags]
            _write_keyword_inverted(writer, path, docs, terms, max_doc, metadata)
        if doc_values or indexed:
            _write_numeric(writer, path, docs, np.asarray(flags, dtype=np.int64), max_doc, metadata, False)
    else:  # keyword and everything term-like
        terms = [value if isinstance(value, str) else _term_text(value) for value in value_list]
        if indexed:
            _write_keyword_inverted(writer, path, docs, terms, max_doc, metadata)
        if doc_values:
            _write_keyword_doc_values(writer, path, docs, terms, max_doc, metadata)
    return metadata


def _write_document_sections(writer: SectionWriter, documents: Sequence[SegmentDocument],
                             values_by_field: dict[str, tuple[list[int], list[Any]]], tombstones: BitMap,
                             fields_metadata: dict[str, dict[str, Any]]) -> None:
    """What follows the fields: ``_id`` and ``_field_names``, the per-document columns, sources."""
    max_doc = len(documents)
    document_ids, sources, seq_nos, primary_terms, versions, routings = _per_document_columns(documents)
    all_docs = np.arange(max_doc, dtype=np.int64)
    id_metadata: dict[str, Any] = {"type": "keyword"}
    _write_keyword_inverted(writer, ID_FIELD, all_docs, document_ids, max_doc, id_metadata)
    fields_metadata[ID_FIELD] = id_metadata
    names_metadata: dict[str, Any] = {"type": "keyword"}
    field_names, field_name_lengths = _field_names_inverted(values_by_field, max_doc)
    _write_inverted(writer, FIELD_NAMES_FIELD, field_names, field_name_lengths, max_doc, names_metadata,
                    with_positions=False)
    fields_metadata[FIELD_NAMES_FIELD] = names_metadata

    writer.add_strings("document_ids", document_ids)
    writer.add_array("seq_nos", seq_nos)
    writer.add_array("primary_terms", primary_terms)
    writer.add_array("versions", versions)
    writer.add_bytes("tombstones", tombstones.serialize())
    routed = BitMap()
    if routings.count(None) != max_doc:
        routed = BitMap(doc for doc, routing in enumerate(routings) if routing is not None)
    if routed:   # optional section: segments without custom routing (format 1 fixture) have none
        writer.add_bytes("routed_docs", routed.serialize())
        writer.add_strings("routings", [routing or "" for routing in routings])
    write_sources(writer, sources, max_doc)


def _per_document_columns(documents: Sequence[SegmentDocument]
                          ) -> tuple[list[str], list[bytes], np.ndarray, np.ndarray, np.ndarray, list[str | None]]:
    """(ids, sources, seq_nos, primary terms, versions, routings), one entry per document; the
    columnar runs of a BufferedDocuments are read as the columns they are (ADR 0360)."""
    parts = documents.parts if isinstance(documents, BufferedDocuments) else (documents,)
    document_ids: list[str] = []
    sources: list[bytes] = []
    routings: list[str | None] = []
    seq_nos, primary_terms, versions = [], [], []
    for part in parts:
        count = len(part)
        if isinstance(part, DocumentColumns):
            document_ids.extend(part.document_ids)
            sources.extend(part.sources)
            routings.extend(part.routing_column())
            seq_nos.append(np.arange(part.first_seq_no, part.first_seq_no + count, dtype=np.int64)
                           if part.seq_nos is None else np.asarray(part.seq_nos, dtype=np.int64))
            primary_terms.append(np.full(count, part.primary_term, dtype=np.int64) if part.primary_terms is None
                                 else np.asarray(part.primary_terms, dtype=np.int64))
            versions.append(np.ones(count, dtype=np.int64) if part.versions is None
                            else np.asarray(part.versions, dtype=np.int64))
            continue
        document_ids.extend([document.document_id for document in part])
        sources.extend([document.source for document in part])
        routings.extend([document.routing for document in part])
        seq_nos.append(np.fromiter((d.seq_no for d in part), dtype=np.int64, count=count))
        primary_terms.append(np.fromiter((d.primary_term for d in part), dtype=np.int64, count=count))
        versions.append(np.fromiter((d.version for d in part), dtype=np.int64, count=count))

    def joined(pieces: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(pieces) if len(pieces) != 1 else pieces[0]

    if not seq_nos:
        empty = np.zeros(0, dtype=np.int64)
        return document_ids, sources, empty, empty.copy(), empty.copy(), routings
    return document_ids, sources, joined(seq_nos), joined(primary_terms), joined(versions), routings


def _gather_columns(documents: Sequence[SegmentDocument]) -> tuple[dict[str, tuple[list[int], list[Any]]], BitMap]:
    """path -> (doc ids ascending, values, one entry per non-None value), and the tombstones.

    Column by column rather than document by document: one list comprehension per field over
    the documents' value dicts, and the common shape (one non-None value per document that has
    the field) costs no Python loop of our own. A buffer of columnar runs with one set of paths
    is already that answer (ADR 0360): the runs' columns are concatenated."""
    if isinstance(documents, BufferedDocuments):
        gathered = _concatenated_columnar_runs(documents)
        if gathered is not None:
            return gathered, BitMap()
    document_values = [document.values for document in documents]
    tombstones = BitMap()
    if None in document_values:
        tombstones = BitMap(doc for doc, values in enumerate(document_values) if values is None)
        document_values = [values if values is not None else {} for values in document_values]
    paths = list(set(chain.from_iterable(document_values)))
    uniform = _uniform_single_value_columns(document_values, paths) if not tombstones else None
    if uniform is not None:
        return uniform, tombstones
    values_by_field: dict[str, tuple[list[int], list[Any]]] = {}
    columns: dict[str, Sequence[Any]] = {}
    if len(paths) > 1:
        try:   # every document has every field: one C pass that visits each values dict once
            columns = dict(zip(paths, zip(*map(itemgetter(*paths), document_values))))
        except KeyError:
            columns = {}
    for path in paths:
        column = columns.get(path)
        if column is None:
            try:   # map(itemgetter) is one C loop; most fields are in every document
                column = list(map(itemgetter(path), document_values))
            except KeyError:
                column = [values.get(path) for values in document_values]
        if all(column):      # every document has a non-empty list: the common shape
            present: list[int] = list(range(len(column)))
            lists = column
        else:
            present = [doc for doc, values in enumerate(column) if values]
            if not present:
                continue
            lists = [column[doc] for doc in present]
        # every list is non-empty, so as many values as lists means one value each
        flat = list(chain.from_iterable(lists))
        if len(flat) == len(lists) and None not in flat:
            values_by_field[path] = (present, flat)
            continue
        doc_list: list[int] = []
        value_list: list[Any] = []
        for doc, values in zip(present, lists):
            for value in values:
                if value is not None:
                    doc_list.append(doc)
                    value_list.append(value)
        if doc_list:
            values_by_field[path] = (doc_list, value_list)
    return values_by_field, tombstones


def _concatenated_columnar_runs(documents: BufferedDocuments) -> dict[str, tuple[list[int], list[Any]]] | None:
    """_gather_columns' answer for a buffer made only of DocumentColumns runs over the same paths
    (every document live with one non-None value per path), else None."""
    parts = documents.parts
    if not parts or not all(isinstance(part, DocumentColumns) for part in parts):
        return None
    paths = parts[0].values.keys()
    if any(part.values.keys() != paths for part in parts[1:]):
        return None
    every_doc = list(range(len(documents)))
    if len(parts) == 1:
        return {path: (every_doc, list(column)) for path, column in parts[0].values.items()}
    return {path: (every_doc, list(chain.from_iterable(part.values[path] for part in parts))) for path in paths}


def _uniform_single_value_columns(document_values: list[dict[str, list[Any]]], paths: list[str]
                                  ) -> dict[str, tuple[list[int], list[Any]]] | None:
    """_gather_columns' answer when every document has every path with exactly one non-None value
    (a bulk of same-shaped flat documents: the common case), else None. Two C-level flattenings
    (document -> its value lists, lists -> values) and one strided slice per path, instead of
    transposing tuples of lists: measured 1.2 -> 0.7 µs per bench document (six fields)."""
    width = len(paths)
    if width < 2:
        return None
    try:
        value_lists = list(chain.from_iterable(map(itemgetter(*paths), document_values)))
    except KeyError:
        return None          # a document without some path
    if not all(value_lists):
        return None          # an empty list: no value for that path in that document
    values = list(chain.from_iterable(value_lists))
    # every list is non-empty, so as many values as lists means one value each
    if len(values) != len(value_lists) or None in values:
        return None
    count = len(document_values)
    return {path: (list(range(count)), values[number::width]) for number, path in enumerate(paths)}


def _field_names_inverted(values_by_field: dict[str, tuple[list[int], list[Any]]], max_doc: int
                          ) -> tuple[InvertedField, np.ndarray]:
    """``_field_names`` (which documents have a value in each path) straight from the gathered
    columns: the same inverted field as inverting one (path, doc) token per document and path."""
    terms = sorted(values_by_field)
    doc_pieces: list[np.ndarray] = []
    term_entry_offsets = np.zeros(len(terms) + 1, dtype=np.int64)
    for term_number, path in enumerate(terms):
        docs = np.asarray(values_by_field[path][0], dtype=np.int64)
        if len(docs) > 1:   # ascending; a multi-valued document repeats: keep it once
            docs = docs[np.concatenate(([True], docs[1:] != docs[:-1]))]
        doc_pieces.append(docs)
        term_entry_offsets[term_number + 1] = term_entry_offsets[term_number] + len(docs)
    entry_docs = np.concatenate(doc_pieces) if doc_pieces else np.zeros(0, dtype=np.int64)
    entry_count = len(entry_docs)
    inverted = InvertedField(
        terms=terms,
        term_entry_offsets=term_entry_offsets,
        entry_docs=entry_docs.astype(np.uint32),
        entry_frequencies=np.ones(entry_count, dtype=np.uint32),
        entry_position_offsets=np.arange(entry_count + 1, dtype=np.int64),
        positions=np.zeros(entry_count, dtype=np.uint32),
    )
    lengths = np.bincount(entry_docs, minlength=max_doc).astype(np.uint32)
    return inverted, lengths


def _term_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _invert_text(analyzer: Any, text_docs: np.ndarray, texts: list[str], max_doc: int
                 ) -> tuple[InvertedField, np.ndarray]:
    # the dictionary-encoded path (no Python object per token) where the analyzer offers it;
    # analyzers without it (custom chains it cannot prove identical, test stand-ins) give strings
    analyze_batch_encoded = getattr(analyzer, "analyze_batch_encoded", None)
    encoded = analyze_batch_encoded(texts) if analyze_batch_encoded is not None else None
    if encoded is not None:
        text_index, batch_positions = encoded.text_index, encoded.positions
    else:
        batch = analyzer.analyze_batch(texts)
        text_index, batch_positions = batch.text_index, batch.positions
    text_index = np.asarray(text_index, dtype=np.int64)
    positions = np.asarray(batch_positions, dtype=np.int64)
    several_values = bool(len(texts)) and bool(np.any(text_docs[1:] == text_docs[:-1]))
    if not len(text_index):
        token_docs = np.zeros(0, dtype=np.int64)
    elif not several_values and len(texts) == max_doc:
        # one text per document, ascending: text_docs is 0..max_doc-1, so a token's text number is
        # its document (the common shape; saves a gather as long as all the tokens)
        token_docs = text_index
    else:
        token_docs = text_docs[text_index]
    if several_values:
        # several values of one document: continue positions after the previous value + gap
        last_position = np.full(len(texts), -1, dtype=np.int64)
        if len(text_index):
            np.maximum.at(last_position, text_index, positions)
        base = np.zeros(len(texts), dtype=np.int64)
        previous_doc, running = -1, 0
        for index, doc in enumerate(text_docs.tolist()):
            if doc != previous_doc:
                previous_doc, running = doc, 0
            base[index] = running
            running += last_position[index] + 1 + POSITION_INCREMENT_GAP
        positions = positions + base[text_index]
    lengths = np.bincount(token_docs, minlength=max_doc).astype(np.uint32)
    if encoded is not None:
        return invert_term_ids(encoded.terms, encoded.term_ids, token_docs, positions, every_term_used=True), lengths
    return invert_tokens(batch.terms, token_docs, positions), lengths


def _write_keyword_inverted(writer: SectionWriter, path: str, docs: np.ndarray, terms: list[str],
                            max_doc: int, metadata: dict[str, Any]) -> None:
    # position of a keyword value = its index among the document's values
    positions = np.zeros(len(terms), dtype=np.int64)
    if len(terms) > 1:
        same_doc = np.concatenate(([False], docs[1:] == docs[:-1]))
        run_starts = np.flatnonzero(~same_doc)
        run_ids = np.cumsum(~same_doc) - 1
        positions = np.arange(len(terms), dtype=np.int64) - run_starts[run_ids]
    inverted = _invert_distinct_single_values(terms, docs) if len(terms) > 1 else None
    if inverted is None:
        inverted = invert_tokens(terms, docs, positions)
    lengths = np.bincount(docs, minlength=max_doc).astype(np.uint32) if len(docs) else np.zeros(max_doc, np.uint32)
    _write_inverted(writer, path, inverted, lengths, max_doc, metadata, with_positions=False)


def _invert_distinct_single_values(terms: list[str], docs: np.ndarray) -> InvertedField | None:
    """The inverted field when every value is a distinct term in a different document (``_id``,
    unique keywords): one entry per term, so it is just the terms' sort order — what
    invert_tokens gives, without its dict and grouping. None when the shape does not hold."""
    if np.any(docs[1:] == docs[:-1]) or len(set(terms)) < len(terms):
        return None     # a multi-valued document, or a repeated term
    order = sorted_string_order(terms)          # numpy keys: ~3x cheaper than sorted(key=)
    sorted_terms = list(map(terms.__getitem__, order.tolist()))
    count = len(terms)
    return InvertedField(
        terms=sorted_terms,
        term_entry_offsets=np.arange(count + 1, dtype=np.int64),
        entry_docs=np.asarray(docs, dtype=np.int64)[order].astype(np.uint32),
        entry_frequencies=np.ones(count, dtype=np.uint32),
        entry_position_offsets=np.arange(count + 1, dtype=np.int64),
        positions=np.zeros(count, dtype=np.uint32),   # a keyword value's position: its index in the doc
    )


def _write_inverted(writer: SectionWriter, path: str, inverted: InvertedField, lengths: np.ndarray,
                    max_doc: int, metadata: dict[str, Any], with_positions: bool) -> None:
    prefix = f"inverted/{path}/"
    writer.add_strings(prefix + "terms", inverted.terms)
    # serialized bitmaps packed greedily into blocks of at most POSTINGS_BLOCK_BYTES (a larger
    # bitmap alone), each block one zstd frame; all bitmaps are serialized in one numpy pass
    blob, term_starts = serialize_postings(inverted.entry_docs, inverted.term_entry_offsets)
    term_count = len(inverted.terms)
    term_locations = np.zeros((term_count, 3), dtype=np.int64)   # block, start, length
    term_locations[:, 2] = np.diff(term_starts)
    term_ends = term_starts[1:]
    block_parts: list[bytes] = []
    block_offsets = [0]
    first_term = 0
    while first_term < term_count:
        block_start = int(term_starts[first_term])
        end_term = max(int(np.searchsorted(term_ends, block_start + POSTINGS_BLOCK_BYTES, side="right")),
                       first_term + 1)
        term_locations[first_term:end_term, 0] = len(block_offsets) - 1
        term_locations[first_term:end_term, 1] = term_starts[first_term:end_term] - block_start
        compressed = compressor().compress(blob[block_start:int(term_starts[end_term])].tobytes())
        block_parts.append(compressed)
        block_offsets.append(block_offsets[-1] + len(compressed))
        first_term = end_term
    writer.add_bytes(prefix + "postings_blocks", b"".join(block_parts), compress=False)
    writer.add_array(prefix + "postings_block_offsets", np.asarray(block_offsets, dtype=np.int64))
    writer.add_array(prefix + "term_locations", term_locations)
    writer.add_array(prefix + "term_entry_offsets", inverted.term_entry_offsets)
    writer.add_array(prefix + "frequencies", inverted.entry_frequencies)
    if with_positions:
        # no position offsets section: they are the running sum of the frequencies (the reader
        # derives them), and stored they cost ~9% of a text-heavy segment
        writer.add_array(prefix + "positions", inverted.positions, runs=prefix + "frequencies")
    writer.add_array(prefix + "lengths", lengths)
    metadata["inverted"] = True
    metadata["positions"] = with_positions
    metadata["doc_count"] = int(np.count_nonzero(lengths))
    metadata["sum_total_term_freq"] = int(lengths.sum(dtype=np.int64))


def _csr_offsets(docs: np.ndarray, max_doc: int) -> np.ndarray:
    offsets = np.zeros(max_doc + 1, dtype=np.int64)
    if len(docs):
        np.cumsum(np.bincount(docs, minlength=max_doc), out=offsets[1:])
    return offsets


def _write_numeric(writer: SectionWriter, path: str, docs: np.ndarray, values: np.ndarray, max_doc: int,
                   metadata: dict[str, Any], is_float: bool) -> None:
    order = np.lexsort((values, docs))
    write_numeric_columns(writer, path, _csr_offsets(docs, max_doc), values[order], metadata, is_float)


def write_numeric_columns(writer: SectionWriter, path: str, offsets: np.ndarray, values: np.ndarray,
                          metadata: dict[str, Any], is_float: bool) -> None:
    writer.add_array(f"numeric/{path}/offsets", offsets)
    writer.add_array(f"numeric/{path}/values", values)
    metadata["numeric"] = "float" if is_float else "integer"


def _write_keyword_doc_values(writer: SectionWriter, path: str, docs: np.ndarray, terms: list[str],
                              max_doc: int, metadata: dict[str, Any]) -> None:
    distinct = sorted(set(terms))
    ordinal_of = {term: ordinal for ordinal, term in enumerate(distinct)}
    ordinals = np.fromiter(map(ordinal_of.__getitem__, terms), dtype=np.int64, count=len(terms))
    order = np.lexsort((ordinals, docs))
    sorted_docs, sorted_ordinals = docs[order], ordinals[order]
    # a sorted set: one ordinal per distinct value per document
    keep = np.ones(len(sorted_docs), dtype=bool)
    if len(sorted_docs) > 1:
        keep[1:] = (sorted_docs[1:] != sorted_docs[:-1]) | (sorted_ordinals[1:] != sorted_ordinals[:-1])
    write_sorted_set(writer, path, distinct, _csr_offsets(sorted_docs[keep], max_doc),
                     sorted_ordinals[keep].astype(np.int32), metadata)


def write_sorted_set(writer: SectionWriter, path: str, terms: list[str], offsets: np.ndarray,
                     ordinals: np.ndarray, metadata: dict[str, Any]) -> None:
    writer.add_strings(f"keyword/{path}/terms", terms)
    writer.add_array(f"keyword/{path}/offsets", offsets)
    writer.add_array(f"keyword/{path}/ordinals", ordinals)
    metadata["keyword_doc_values"] = True


def write_sources(writer: SectionWriter, sources: Iterable[bytes], count: int) -> None:
    """Stored _source as a stream of zstd blocks: never holds more than one block uncompressed.

    A block closes once it holds SOURCE_BLOCK_BYTES or more. Given a list (the builder's sources
    are in memory already) the block bounds come from one cumulative sum; an iterator (the
    merger's, read back block by block) is consumed one source at a time."""
    if isinstance(sources, list):
        _write_source_list(writer, sources, count)
        return
    source_ends = array("q")        # end offset of each source (a typed array: no numpy per item)
    block_first_docs = [0]
    block_offsets = [0]
    compressed_blocks: list[bytes] = []
    pending: list[bytes] = []
    pending_size = 0
    total = 0
    for doc, source in enumerate(sources):
        if pending_size >= SOURCE_BLOCK_BYTES:
            compressed = compressor().compress(b"".join(pending))
            compressed_blocks.append(compressed)
            block_offsets.append(block_offsets[-1] + len(compressed))
            block_first_docs.append(doc)
            pending, pending_size = [], 0
        pending.append(source)
        size = len(source)
        pending_size += size
        total += size
        source_ends.append(total)
    if pending or not compressed_blocks:
        compressed = compressor().compress(b"".join(pending))
        compressed_blocks.append(compressed)
        block_offsets.append(block_offsets[-1] + len(compressed))
    block_first_docs.append(count)
    source_offsets = np.zeros(count + 1, dtype=np.int64)
    source_offsets[1:len(source_ends) + 1] = np.frombuffer(source_ends, dtype=np.int64)
    writer.add_bytes("sources/blocks", b"".join(compressed_blocks), compress=False)
    writer.add_array("sources/block_offsets", np.asarray(block_offsets, dtype=np.int64))
    writer.add_array("sources/block_first_docs", np.asarray(block_first_docs, dtype=np.int64))
    writer.add_array("sources/offsets", source_offsets)


def _write_source_list(writer: SectionWriter, sources: list[bytes], count: int) -> None:
    """write_sources for a list: the same blocks, found with numpy instead of a loop per source."""
    sizes = np.fromiter(map(len, sources), dtype=np.int64, count=len(sources))
    ends = np.cumsum(sizes)                     # ends[d]: bytes of sources 0..d
    block_first_docs = [0]
    compressed_blocks: list[bytes] = []
    first = 0
    while first < len(sources):
        before = int(ends[first - 1]) if first else 0
        # the first doc at which the block holds SOURCE_BLOCK_BYTES closes it (it is included)
        last = int(np.searchsorted(ends, before + SOURCE_BLOCK_BYTES, side="left"))
        end = min(last + 1, len(sources))
        compressed_blocks.append(compressor().compress(b"".join(sources[first:end])))
        if end < len(sources):
            block_first_docs.append(end)
        first = end
    if not compressed_blocks:
        compressed_blocks.append(compressor().compress(b""))
    block_first_docs.append(count)
    block_offsets = np.zeros(len(compressed_blocks) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, compressed_blocks), dtype=np.int64, count=len(compressed_blocks)),
              out=block_offsets[1:])
    source_offsets = np.zeros(count + 1, dtype=np.int64)
    source_offsets[1:len(sources) + 1] = ends
    writer.add_bytes("sources/blocks", b"".join(compressed_blocks), compress=False)
    writer.add_array("sources/block_offsets", block_offsets)
    writer.add_array("sources/block_first_docs", np.asarray(block_first_docs, dtype=np.int64))
    writer.add_array("sources/offsets", source_offsets)


def write_segment_file(directory: Path, segment_name: str, documents: Sequence[SegmentDocument],
                       mapping: Any, analysis: Any, durable: bool = True) -> int:
    """Build and write ``<segment_name>.seg`` (fsynced if ``durable``); return its size in bytes.
    In a forked child when forked builds are on and the batch is large enough (ADR 0310): the
    same bytes, built on another core while the caller's thread waits without the GIL."""
    path = Path(directory) / segment_file_name(segment_name)

    def write(fork_leading_fields: bool = False) -> int:
        with segment_build_allocation():     # the file's copies too (ADR 0295)
            body = build_segment(documents, mapping, analysis, fork_leading_fields)
            return write_checked_file(path, SEGMENT, body, "segment.write", durable)

    if forked_build.should_fork(len(documents)):
        # the child itself forks a grandchild for the leading fields when asked: two cores on one build
        return forked_build.run_in_forked_child(
            path, lambda: write(fork_leading_fields=forked_build.split_builds_enabled()))
    return write()
