"""node.api.rollover without a node: the next index name and the conditions' parsing."""

import pytest

from node.api.rollover import next_index_name, parse_conditions
from node.errors import IllegalArgumentError, RequestParsingError


@pytest.mark.parametrize("old, new", [("logs-000001", "logs-000002"), ("a-b-9", "a-b-000010"),
                                      ("x-1234567", "x-1234568"), ("-0", "-000001")])
def test_the_trailing_number_is_incremented_and_padded_to_six_digits(old, new):
    assert next_index_name(old) == new


def test_a_name_without_a_trailing_number_cannot_be_rolled_over_by_name():
    with pytest.raises(IllegalArgumentError, match="does not match pattern"):
        next_index_name("logs")


def test_conditions_parse_with_their_units():
    parsed = parse_conditions({"max_age": "2h", "max_docs": 5, "max_size": "1kb", "max_primary_shard_size": "2mb"})
    assert parsed == {"max_age": (7200.0, "2h"), "max_docs": (5, "5"), "max_size": (1024, "1kb"),
                      "max_primary_shard_size": (2 * 1024 * 1024, "2mb")}


@pytest.mark.parametrize("conditions, error", [({"max_speed": 1}, RequestParsingError),
                                               ({"max_docs": "many"}, RequestParsingError),
                                               ({"max_age": "3 fortnights"}, IllegalArgumentError),
                                               ({"max_size": "12"}, IllegalArgumentError)])
def test_unknown_conditions_and_bad_values_are_refused(conditions, error):
    with pytest.raises(error):
        parse_conditions(conditions)
