"""frozen_dataclass_builder: the cheap constructor the write path uses returns instances of the very
class, equal (and hashing equal) to what the dataclass's own __init__ builds, and just as frozen."""

from __future__ import annotations

import dataclasses

import pytest

from index.operations import (
    OperationResult, ReplicatedOperation, build_operation_result, build_replicated_operation,
    frozen_dataclass_builder,
)
from index.segment import SegmentDocument


def test_built_values_are_the_same_class_equal_and_frozen() -> None:
    built = build_replicated_operation("index", 4, 2, 3, "id", b"{}", None, "r")
    constructed = ReplicatedOperation("index", 4, 2, 3, "id", b"{}", routing="r")
    assert type(built) is ReplicatedOperation and built == constructed and hash(built) == hash(constructed)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.seq_no = 5
    assert dataclasses.replace(built, primary_term=9).primary_term == 9
    result = build_operation_result("id", "created", 4, 2, 3, None, built, b"{}")
    assert result == OperationResult("id", "created", 4, 2, 3, replicated=constructed, source=b"{}")


def test_segment_documents_built_cheaply_equal_constructed_ones() -> None:
    build = frozen_dataclass_builder(SegmentDocument)
    built = build("id", b"{}", {"a": [1]}, 1, 1, 1, None)
    assert built == SegmentDocument("id", b"{}", {"a": [1]}, 1, 1, 1) and not built.is_tombstone
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.values = None


def test_a_class_that_is_not_a_frozen_slotted_dataclass_is_refused() -> None:
    @dataclasses.dataclass(slots=True)
    class Mutable:
        value: int

    @dataclasses.dataclass(frozen=True)
    class WithoutSlots:
        value: int

    for cls in (Mutable, WithoutSlots):
        with pytest.raises(TypeError, match="frozen dataclass with slots"):
            frozen_dataclass_builder(cls)
