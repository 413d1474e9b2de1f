"""Multi-term expansion: which indexed terms a prefix, wildcard, regexp or fuzzy pattern selects.

Owns the pattern matching over a segment's sorted term dictionary (``SegmentReader.terms``):
prefix ranges by bisection, wildcard and Lucene-style regexp by compiled Python regular
expressions, fuzzy by a bounded Damerau–Levenshtein distance with a length and common-prefix
pre-filter. It must never build postings or scores: it returns terms; the executor does the rest.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache
from typing import Sequence

from index.errors import QueryShardError


def prefix_terms(terms: Sequence[str], prefix: str, case_insensitive: bool = False,
                 limit: int | None = None) -> list[str]:
    """Terms starting with ``prefix`` in dictionary order (at most ``limit`` of them)."""
    if case_insensitive:
        lowered = prefix.lower()
        matching = [term for term in terms if term.lower().startswith(lowered)]
        return matching if limit is None else matching[:limit]
    start = bisect_left(terms, prefix)
    selected: list[str] = []
    for index in range(start, len(terms)):
        term = terms[index]
        if not term.startswith(prefix) or (limit is not None and len(selected) >= limit):
            break
        selected.append(term)
    return selected


@lru_cache(maxsize=256)
def wildcard_to_regular_expression(pattern: str, case_insensitive: bool) -> re.Pattern:
    pieces: list[str] = []
    index = 0
    while index < len(pattern):
        character = pattern[index]
        if character == "\\" and index + 1 < len(pattern):
            pieces.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        if character == "*":
            pieces.append(".*")
        elif character == "?":
            pieces.append(".")
        else:
            pieces.append(re.escape(character))
        index += 1
    flags = re.DOTALL | (re.IGNORECASE if case_insensitive else 0)
    return re.compile("".join(pieces), flags)


def wildcard_terms(terms: Sequence[str], pattern: str, case_insensitive: bool = False) -> list[str]:
    # The literal prefix before the first wildcard narrows the scan to a sorted range.
    literal_prefix = re.split(r"[*?\\]", pattern, maxsplit=1)[0]
    compiled = wildcard_to_regular_expression(pattern, case_insensitive)
    candidates = terms if case_insensitive or not literal_prefix else prefix_terms(terms, literal_prefix)
    return [term for term in candidates if compiled.fullmatch(term)]


MAX_REGEX_LENGTH = 1000     # OpenSearch's index.max_regex_length default
# A group that repeats and is itself repeated ("(a+)+", "(a|aa)*"): Python's backtracking engine
# can take exponential time on such patterns, where Lucene's automata cannot. Refused.
_NESTED_REPETITION = re.compile(r"\([^()]*(?:[+*]|\{\d*,?\d*\}|\|)[^()]*\)\s*(?:[+*]|\{\d*,\d*\})")


@lru_cache(maxsize=256)
def lucene_regexp_to_python(pattern: str, case_insensitive: bool) -> re.Pattern:
    """Lucene regexps are anchored and mostly Python-compatible; translate the differences."""
    if len(pattern) > MAX_REGEX_LENGTH:
        raise QueryShardError(
            f"The length of regex [{len(pattern)}] used in the Regexp Query request has exceeded the allowed "
            f"maximum of [{MAX_REGEX_LENGTH}]. This maximum can be set by changing the [index.max_regex_length] "
            f"index level setting.")
    if _NESTED_REPETITION.search(pattern):
        raise QueryShardError(f"failed to create query: regexp [{pattern}] repeats a repeated group, which is not "
                              f"supported (it can take exponential time)")
    translated = pattern.replace("@", ".*") if "@" in pattern and "\\@" not in pattern else pattern
    # Lucene's interval <1-10> (numeric range) is not translated: documented as unsupported.
    flags = re.DOTALL | (re.IGNORECASE if case_insensitive else 0)
    try:
        return re.compile(translated, flags)
    except re.error as error:
        raise QueryShardError(f"failed to create query: invalid regular expression [{pattern}]: {error}") from None


def regexp_terms(terms: Sequence[str], pattern: str, case_insensitive: bool = False) -> list[str]:
    compiled = lucene_regexp_to_python(pattern, case_insensitive)
    return [term for term in terms if compiled.fullmatch(term)]


def bounded_edit_distance(left: str, right: str, maximum: int, transpositions: bool = True) -> int:
    """Optimal-string-alignment distance, or maximum + 1 as soon as it must exceed maximum."""
    if abs(len(left) - len(right)) > maximum:
        return maximum + 1
    previous_previous: list[int] | None = None
    previous = list(range(len(right) + 1))
    for left_index in range(1, len(left) + 1):
        current = [left_index] + [0] * len(right)
        row_minimum = current[0]
        left_character = left[left_index - 1]
        for right_index in range(1, len(right) + 1):
            cost = 0 if left_character == right[right_index - 1] else 1
            value = min(previous[right_index] + 1, current[right_index - 1] + 1, previous[right_index - 1] + cost)
            if (transpositions and previous_previous is not None and left_index > 1 and right_index > 1
                    and left_character == right[right_index - 2] and left[left_index - 2] == right[right_index - 1]):
                value = min(value, previous_previous[right_index - 2] + 1)
            current[right_index] = value
            row_minimum = min(row_minimum, value)
        if row_minimum > maximum:
            return maximum + 1
        previous_previous, previous = previous, current
    return previous[len(right)]


def fuzzy_terms(terms: Sequence[str], term: str, maximum_edits: int, prefix_length: int,
                transpositions: bool = True) -> list[tuple[str, int]]:
    """(term, edits) for every indexed term within ``maximum_edits`` sharing the first prefix_length chars."""
    if maximum_edits == 0:
        index = bisect_left(terms, term)
        return [(term, 0)] if index < len(terms) and terms[index] == term else []
    common_prefix = term[:prefix_length]
    candidates = prefix_terms(terms, common_prefix) if common_prefix else terms
    selected: list[tuple[str, int]] = []
    for candidate in candidates:
        if abs(len(candidate) - len(term)) > maximum_edits:
            continue
        edits = bounded_edit_distance(term, candidate, maximum_edits, transpositions)
        if edits <= maximum_edits:
            selected.append((candidate, edits))
    return selected
