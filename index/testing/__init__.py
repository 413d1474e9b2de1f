"""Test support shared by index/ tests (and node/ tests): in-memory reference models.

Owns the reference ``SegmentReader`` (reference_segment.py). It must never be imported by
production code paths.
"""

from index.testing.reference_segment import (
    ReferenceSearcher, ReferenceSegment, build_reference_searcher, grow_mapping,
)

__all__ = ["ReferenceSearcher", "ReferenceSegment", "build_reference_searcher", "grow_mapping"]
