"""Term expansion over sorted dictionaries: prefix, wildcard, regexp, fuzzy."""

import pytest

from index.errors import QueryShardError
from index.query.term_expansion import (
    bounded_edit_distance, fuzzy_terms, prefix_terms, regexp_terms, wildcard_terms,
)

TERMS = sorted(["apple", "apply", "applied", "banana", "band", "bandana", "can", "cane", "Candle"])


def test_prefix_uses_dictionary_order_and_limit():
    assert prefix_terms(TERMS, "app") == ["apple", "applied", "apply"]
    assert prefix_terms(TERMS, "app", limit=2) == ["apple", "applied"]
    assert prefix_terms(TERMS, "can", case_insensitive=True) == ["Candle", "can", "cane"]
    assert prefix_terms(TERMS, "zzz") == []


def test_wildcard_star_and_question_mark_are_anchored():
    assert wildcard_terms(TERMS, "ban*a") == ["banana", "bandana"]
    assert wildcard_terms(TERMS, "can?") == ["cane"]
    assert wildcard_terms(TERMS, "*and*") == ["Candle", "band", "bandana"]
    assert wildcard_terms(TERMS, "CAN*", case_insensitive=True) == ["Candle", "can", "cane"]
    assert wildcard_terms(["a*b", "axb"], r"a\*b") == ["a*b"]


def test_regexp_is_anchored_and_a_bad_pattern_is_a_shard_error():
    assert regexp_terms(TERMS, "ban(an)?a") == ["banana"]
    assert regexp_terms(TERMS, "ca.e") == ["cane"]
    with pytest.raises(QueryShardError, match="invalid regular expression"):
        regexp_terms(TERMS, "(unclosed")


@pytest.mark.parametrize("left, right, distance", [
    ("kitten", "sitting", 3), ("abc", "abc", 0), ("abc", "acb", 1), ("abc", "", 3), ("ab", "ba", 1),
])
def test_edit_distance_counts_transpositions_as_one_edit(left, right, distance):
    assert bounded_edit_distance(left, right, 5) == distance


def test_edit_distance_stops_above_the_maximum():
    assert bounded_edit_distance("kitten", "sitting", 1) == 2
    assert bounded_edit_distance("ab", "ba", 1, transpositions=False) == 2


def test_fuzzy_terms_honour_edits_and_common_prefix():
    assert fuzzy_terms(TERMS, "aple", 1, 0) == [("apple", 1)]
    assert sorted(fuzzy_terms(TERMS, "bandana", 2, 0)) == [("banana", 1), ("bandana", 0)]
    assert fuzzy_terms(TERMS, "xand", 1, 1) == []
    assert fuzzy_terms(TERMS, "can", 0, 0) == [("can", 0)]


@pytest.mark.parametrize("pattern", ["(a+)+b", "(a|aa)*c", "(x*){2,}"])
def test_regexps_that_could_backtrack_exponentially_are_refused(pattern):
    with pytest.raises(QueryShardError, match="repeats a repeated group"):
        regexp_terms(TERMS, pattern)


def test_regexps_longer_than_the_limit_are_refused():
    with pytest.raises(QueryShardError, match="index.max_regex_length"):
        regexp_terms(TERMS, "a" * 1001)


def test_ordinary_groups_still_work():
    assert regexp_terms(TERMS, "(ban)+ana") == ["banana"]
    assert regexp_terms(TERMS, "(app)(le|ly)") == ["apple", "apply"]
