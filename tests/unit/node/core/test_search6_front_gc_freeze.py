"""The front freezes its start-up heap (ADR 0340): full collections no longer walk it."""

from __future__ import annotations

import gc
import weakref

import pytest

from node.server import freeze_start_up_heap


class Node:
    def __init__(self) -> None:
        self.partner: Node | None = None


def cycle() -> tuple[Node, Node]:
    first, second = Node(), Node()
    first.partner, second.partner = second, first
    return first, second


@pytest.fixture(autouse=True)
def unfrozen_afterwards():
    yield
    gc.unfreeze()


def test_objects_alive_at_the_call_are_frozen_and_counted():
    kept = cycle()
    frozen = freeze_start_up_heap()
    # frozen objects that die (reference counting, on any thread) leave the permanent generation,
    # so the count can only have shrunk since the call returned it (CI saw 268,674 then 268,663)
    assert 0 < gc.get_freeze_count() <= frozen
    # a full collection no longer sees them: they are in no generation
    assert all(not any(obj is kept[0] for obj in gc.get_objects(generation)) for generation in (0, 1, 2))


def test_garbage_cycles_from_before_the_call_are_collected_not_frozen():
    first, _ = cycle()
    dead = weakref.ref(first)
    del first, _
    freeze_start_up_heap()
    assert dead() is None


def test_cycles_made_after_the_freeze_are_still_collected():
    freeze_start_up_heap()
    first, _ = cycle()
    later = weakref.ref(first)
    del first, _
    gc.collect()
    assert later() is None


def test_an_acyclic_frozen_object_is_still_freed_by_reference_counting():
    kept = Node()
    released = weakref.ref(kept)
    freeze_start_up_heap()
    del kept
    assert released() is None
