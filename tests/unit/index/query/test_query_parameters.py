"""minimum_should_match, fuzziness and field^boost grammars."""

import pytest

from index.errors import QueryParsingError
from index.query.parameters import (
    maximum_edits_for_term, normalise_fuzziness, resolve_minimum_should_match, split_field_boost,
    validate_minimum_should_match,
)


@pytest.mark.parametrize("specification, optional, expected", [
    ("3", 5, 3),
    ("-2", 5, 3),
    ("75%", 4, 3),
    ("75%", 3, 2),          # 2.25 rounds down
    ("-25%", 4, 3),
    ("-25%", 3, 3),         # -0.75 truncates to 0 → all
    ("3<90%", 3, 3),        # at or below 3 clauses: all required
    ("3<90%", 10, 9),
    ("2<-25% 9<-3", 2, 2),
    ("2<-25% 9<-3", 8, 6),
    ("2<-25% 9<-3", 12, 9),
    ("0", 4, 0),
    ("-10", 4, 0),          # never negative
    (None, 4, 0),
])
def test_minimum_should_match_follows_lucenes_calculation(specification, optional, expected):
    assert resolve_minimum_should_match(specification, optional) == expected


def test_invalid_minimum_should_match_is_a_parsing_error():
    with pytest.raises(QueryParsingError, match="minimum_should_match"):
        validate_minimum_should_match("three", "match")


@pytest.mark.parametrize("fuzziness, term, edits", [
    ("AUTO", "ab", 0), ("AUTO", "abc", 1), ("AUTO", "abcde", 1), ("AUTO", "abcdef", 2),
    ("AUTO:2,4", "ab", 1), ("AUTO:2,4", "abcd", 2), ("0", "anything", 0), ("1", "x", 1), (None, "abc", 0),
])
def test_fuzziness_gives_edits_by_term_length(fuzziness, term, edits):
    assert maximum_edits_for_term(fuzziness, term) == edits


def test_fuzziness_above_two_is_capped_like_lucene():
    assert normalise_fuzziness(5, "fuzzy") == "2"


def test_field_boost_suffix_is_split():
    assert split_field_boost("title^3") == ("title", 3.0)
    assert split_field_boost("title") == ("title", 1.0)
    with pytest.raises(QueryParsingError, match="title\\^x"):
        split_field_boost("title^x")
