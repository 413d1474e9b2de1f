"""Immutable segments (contracts §3): the read protocol and values (types.py), the numpy inverter
(inverter.py), the file body layout (layout.py), the builder (builder.py), the memory-mapped reader
and live-docs files (reader.py), the postings-level merger (merger.py), and an in-memory reference
model of the protocol (memory.py).

Must never: modify a segment after it is written; deletes live in separate live-docs files.
"""

from index.segment.builder import build_segment, segment_file_name, write_segment_file
from index.segment.reader import (
    SegmentCore, SegmentView, live_docs_file_name, live_docs_of, read_live_docs_file, write_live_docs_file,
)
from index.segment.types import (
    FIELD_NAMES_FIELD, ID_FIELD, FieldStatistics, NumericDocValues, SegmentDocument, SegmentReader,
    SortedSetDocValues,
)

__all__ = [
    "FIELD_NAMES_FIELD", "ID_FIELD", "FieldStatistics", "NumericDocValues", "SegmentCore", "SegmentDocument",
    "SegmentReader", "SegmentView", "SortedSetDocValues", "build_segment", "live_docs_file_name", "live_docs_of",
    "read_live_docs_file", "segment_file_name", "write_live_docs_file", "write_segment_file",
]
