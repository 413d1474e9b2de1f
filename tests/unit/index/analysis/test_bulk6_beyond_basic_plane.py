"""tokenizers.beyond_basic_plane is ``max(text) > "\\uffff"``, the test the tokenizers used to make."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.analysis.tokenizers import beyond_basic_plane


@settings(max_examples=400, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40))
def test_beyond_basic_plane_agrees_with_the_largest_character(text):
    assert beyond_basic_plane(text) == (max(text) > "\uffff")


def test_the_edges_of_the_basic_plane():
    assert not beyond_basic_plane("plain \uffff café")
    assert beyond_basic_plane("a \U00010000")
    assert beyond_basic_plane("\U0010ffff")
    assert not beyond_basic_plane("")
