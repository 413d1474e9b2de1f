"""batch_terms.sorted_string_order is Python's stable string sort, computed with numpy keys."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.analysis.batch_terms import sorted_string_order

# few letters and long shared prefixes: ties on the first 24 bytes are common, which is the
# path that re-sorts runs by the strings themselves
PREFIXES = st.sampled_from(["", "a", "internationalization", "x" * 23, "x" * 24, "y" * 40])
SUFFIXES = st.text(alphabet=st.sampled_from(["a", "b", "z", "é", "ß", "中", "\U0001F600", "\n", "\x00", "~"]),
                   max_size=12)
STRINGS = st.lists(st.builds(lambda prefix, suffix: prefix + suffix, PREFIXES, SUFFIXES), max_size=60)


def expected_order(strings: list[str]) -> list[int]:
    return sorted(range(len(strings)), key=strings.__getitem__)


@settings(max_examples=300, deadline=None)
@given(STRINGS)
def test_the_order_is_the_stable_sort_of_the_strings(strings):
    assert sorted_string_order(strings).tolist() == expected_order(strings)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=40))
def test_any_unicode_text_sorts_as_python_sorts_it(strings):
    assert sorted_string_order(strings).tolist() == expected_order(strings)


def test_equal_strings_keep_their_original_order_and_prefixes_sort_first():
    strings = ["b" * 30 + "c", "b" * 30, "a", "b" * 30, "", "b" * 24]
    assert sorted_string_order(strings).tolist() == [4, 2, 5, 1, 3, 0]


def test_lone_surrogates_fall_back_to_the_python_sort():
    strings = ["\ud800", "a", "\ud7ff"]
    assert sorted_string_order(strings).tolist() == expected_order(strings)


def test_equal_key_length_strings_after_a_longer_one_with_their_prefix_still_sort_together():
    # a merge's concatenated dictionaries: the longer term of one part comes before two copies
    # of its 24-byte prefix (found by the merger's equivalence check: the copies were split)
    prefix = "_mm512_maskz_fmsubadd_pd"
    strings = [prefix + ".html", prefix, prefix, "a", prefix + ".html"]
    assert sorted_string_order(strings).tolist() == [1, 2, 0, 4, 3] == expected_order(strings)
