"""Small parameter grammars shared by the parser and the executor.

Owns ``minimum_should_match`` (every OpenSearch form: ``3``, ``-2``, ``75%``, ``-25%``,
``3<90%``, ``2<-25% 9<-3``), ``fuzziness`` (``AUTO``, ``AUTO:low,high``, ``0``/``1``/``2``) and
``field^boost`` names. Pure functions of their arguments; never touches segments.
"""

from __future__ import annotations

import re

from index.errors import QueryParsingError

_CONDITIONAL_SPACES = re.compile(r"\s*<\s*")


def validate_minimum_should_match(specification: str, query_name: str) -> str:
    """Check the grammar at parse time so a bad value is a parsing error, not a shard failure."""
    try:
        resolve_minimum_should_match(specification, 10)
    except (ValueError, IndexError):
        raise QueryParsingError(
            f"[{query_name}] failed to parse [minimum_should_match], expected an integer, "
            f"a percentage or a combination, got [{specification}]"
        ) from None
    return specification


def resolve_minimum_should_match(specification: str | None, optional_clause_count: int) -> int:
    """How many of ``optional_clause_count`` clauses must match, as Lucene's Queries computes it."""
    if specification is None:
        return 0
    specification = str(specification).strip()
    result = optional_clause_count
    if "<" in specification:
        specification = _CONDITIONAL_SPACES.sub("<", specification)
        for condition in specification.split():
            upper_bound_text, _, rest = condition.partition("<")
            upper_bound = int(upper_bound_text)
            if optional_clause_count <= upper_bound:
                return result
            result = resolve_minimum_should_match(rest, optional_clause_count)
        return result
    if specification.endswith("%"):
        percent = int(specification[:-1])
        calculated = optional_clause_count * percent / 100.0
        result = optional_clause_count + int(calculated) if calculated < 0 else int(calculated)
    else:
        calculated_count = int(specification)
        result = optional_clause_count + calculated_count if calculated_count < 0 else calculated_count
    return max(result, 0)


def normalise_fuzziness(value: object, query_name: str) -> str:
    """Canonical fuzziness text: "AUTO", "AUTO:3,6", "0", "1" or "2"."""
    text = str(value).strip()
    if text.upper() == "AUTO":
        return "AUTO"
    if text.upper().startswith("AUTO:"):
        bounds = text[5:].split(",")
        if len(bounds) != 2 or not all(bound.strip().isdigit() for bound in bounds):
            raise QueryParsingError(
                f"[{query_name}] failed to parse [fuzziness], expected AUTO:[low],[high], got [{text}]"
            )
        return f"AUTO:{int(bounds[0])},{int(bounds[1])}"
    try:
        edits = float(text)
    except ValueError:
        raise QueryParsingError(
            f"[{query_name}] failed to parse [fuzziness], expected AUTO, 0, 1 or 2, got [{text}]"
        ) from None
    # Lucene caps edit distance at 2; OpenSearch clamps larger values the same way.
    return str(min(int(edits), 2))


def maximum_edits_for_term(fuzziness: str | None, term: str) -> int:
    """The edit distance fuzziness allows for ``term`` (AUTO depends on its length)."""
    if fuzziness is None:
        return 0
    if fuzziness.startswith("AUTO"):
        low, high = 3, 6
        if ":" in fuzziness:
            low_text, high_text = fuzziness[5:].split(",")
            low, high = int(low_text), int(high_text)
        length = len(term)
        if length < low:
            return 0
        if length < high:
            return 1
        return 2
    return int(fuzziness)


def split_field_boost(field_specification: str) -> tuple[str, float]:
    """``"title^3"`` → ``("title", 3.0)``; a bare name has boost 1."""
    name, caret, boost_text = field_specification.partition("^")
    if not caret:
        return field_specification, 1.0
    try:
        return name, float(boost_text)
    except ValueError:
        raise QueryParsingError(
            f"failed to parse field boost, expected a number after '^' in [{field_specification}]"
        ) from None
