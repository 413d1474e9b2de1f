"""index/segment/allocation.py: the allocation regime of segment builds and merges (ADR 0295)
changes only where memory comes from — every process setting is back when the last regime ends,
regimes nest and overlap across threads, and a segment built inside one is byte-identical."""

from __future__ import annotations

import threading

import pytest

from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.segment import allocation
from index.segment.allocation import regime_depth, segment_build_allocation
from index.segment.builder import _build_segment, build_segment
from index.segment.types import SegmentDocument

pytestmark = pytest.mark.skipif(allocation._set_madvise_hugepage is None,
                                reason="this numpy has no huge-page switch to observe")


def _hugepage_hint() -> bool:
    # the switch returns the previous value: read it by setting it back at once
    previous = allocation._set_madvise_hugepage(True)
    allocation._set_madvise_hugepage(previous)
    return bool(previous)


@pytest.fixture(params=[True, False], ids=["hint-on-before", "hint-off-before"])
def hint_before(request):
    original = allocation._set_madvise_hugepage(request.param)
    yield request.param
    allocation._set_madvise_hugepage(original)


def test_the_huge_page_hint_is_off_inside_and_restored_after(hint_before):
    with segment_build_allocation():
        assert _hugepage_hint() is False
        assert regime_depth() == 1
    assert _hugepage_hint() is hint_before
    assert regime_depth() == 0


def test_nested_regimes_restore_only_when_the_outermost_ends(hint_before):
    with segment_build_allocation():
        with segment_build_allocation():
            assert regime_depth() == 2
        assert _hugepage_hint() is False      # the outer build is still running
    assert _hugepage_hint() is hint_before


def test_an_exception_inside_still_restores_the_settings(hint_before):
    with pytest.raises(RuntimeError):
        with segment_build_allocation():
            raise RuntimeError("build failed")
    assert _hugepage_hint() is hint_before
    assert regime_depth() == 0


def test_regimes_overlapping_in_two_threads_restore_when_the_last_one_ends(hint_before):
    first_inside, second_may_leave, first_left = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with segment_build_allocation():
            first_inside.set()
            second_may_leave.wait(10)
        first_left.set()

    thread = threading.Thread(target=first)
    thread.start()
    first_inside.wait(10)
    with segment_build_allocation():
        second_may_leave.set()
        first_left.wait(10)
        assert regime_depth() == 1
        assert _hugepage_hint() is False      # the other thread's end changed nothing
    thread.join(10)
    assert _hugepage_hint() is hint_before


def test_a_segment_built_inside_the_regime_is_byte_identical_to_one_built_outside():
    mapping = Mapping.from_json({"properties": {"body": {"type": "text"}, "n": {"type": "integer"},
                                                "tag": {"type": "keyword"}}})
    analysis = AnalysisRegistry.from_index_settings({})
    documents = [SegmentDocument(str(number), b"{}",
                                 {"body": [f"the quick fox number {number} jumps"], "n": [number],
                                  "tag": ["even" if number % 2 == 0 else "odd"]}, number, 1, 1)
                 for number in range(200)]
    outside = _build_segment(documents, mapping, analysis)    # no regime at all
    assert regime_depth() == 0
    assert build_segment(documents, mapping, analysis) == outside
