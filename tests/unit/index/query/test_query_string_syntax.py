"""query_string / simple_query_string syntax trees and Lucene's occur rules."""

import pytest

from index.errors import QueryShardError
from index.query.query_string import SyntaxBool, SyntaxLeaf, parse_query_string_syntax


def occurs(syntax):
    return [(occur, clause.text if isinstance(clause, SyntaxLeaf) else "group") for occur, clause in syntax.clauses]


def test_default_operator_or_makes_bare_terms_should():
    assert occurs(parse_query_string_syntax("a b", simple=False)) == [("should", "a"), ("should", "b")]


def test_default_operator_and_makes_bare_terms_must():
    assert occurs(parse_query_string_syntax("a b", simple=False, default_operator="and")) == [
        ("must", "a"), ("must", "b")]


def test_and_marks_both_neighbours_required_and_not_prohibits():
    assert occurs(parse_query_string_syntax("a AND b OR c", simple=False)) == [
        ("must", "a"), ("must", "b"), ("should", "c")]
    assert occurs(parse_query_string_syntax("a && !b", simple=False)) == [("must", "a"), ("must_not", "b")]
    assert occurs(parse_query_string_syntax("+a -b c", simple=False)) == [
        ("must", "a"), ("must_not", "b"), ("should", "c")]


def test_fields_phrases_ranges_and_modifiers_become_leaves():
    syntax = parse_query_string_syntax('title:"big dog"~2^3 count:[1 TO *} name:jo* te?t fuzzy~1 /re.ex/ '
                                       '_exists_:tag age:>=18', simple=False)
    leaves = [clause for _, clause in syntax.clauses]
    assert leaves[0] == SyntaxLeaf("phrase", "big dog", field="title", slop=2, boost=3.0)
    assert leaves[1] == SyntaxLeaf("range", "[1 TO *}", field="count", lower="1", upper=None,
                                   include_lower=True, include_upper=False)
    assert leaves[2] == SyntaxLeaf("prefix", "jo", field="name")
    assert leaves[3] == SyntaxLeaf("wildcard", "te?t")
    assert leaves[4] == SyntaxLeaf("fuzzy", "fuzzy", fuzziness="1")
    assert leaves[5] == SyntaxLeaf("regexp", "re.ex")
    assert leaves[6] == SyntaxLeaf("exists", "tag", field="tag")
    assert leaves[7] == SyntaxLeaf("range", ">=18", field="age", lower="18", include_lower=True)


def test_groups_nest_and_carry_their_field():
    syntax = parse_query_string_syntax("title:(a OR b) AND c", simple=False)
    group = syntax.clauses[0][1]
    assert isinstance(group, SyntaxBool) and group.field == "title"
    assert occurs(syntax) == [("must", "group"), ("must", "c")]


def test_escaped_characters_are_literal():
    syntax = parse_query_string_syntax(r"a\:b c\-d", simple=False)
    assert [clause.text for _, clause in syntax.clauses] == ["a:b", "c-d"]


@pytest.mark.parametrize("text", ["(a AND b", "a)", '"open phrase', "a AND", "[1 TO", "title:(a"])
def test_malformed_query_strings_are_shard_errors(text):
    with pytest.raises(QueryShardError, match="Failed to parse query"):
        parse_query_string_syntax(text, simple=False)


def test_simple_syntax_never_fails_and_uses_binary_operators():
    syntax = parse_query_string_syntax('a + b | "c d', simple=True)
    assert isinstance(syntax, SyntaxBool)
    top_occurs = [occur for occur, _ in syntax.clauses]
    assert top_occurs == ["should", "should"]
    inner = syntax.clauses[0][1]
    assert [(occur, clause.text) for occur, clause in inner.clauses] == [("must", "a"), ("must", "b")]


def test_simple_negation_keeps_everything_but_the_term():
    syntax = parse_query_string_syntax("-a", simple=True)
    assert [(occur, clause.kind) for occur, clause in syntax.clauses] == [("must_not", "term"), ("should", "match_all")]
