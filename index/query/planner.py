"""The planner: query nodes → executable plans for one shard snapshot.

Owns every rewrite that needs the mapping, the analyzers, the request clock or shard-wide
statistics: analysing ``match`` text into term clauses, resolving field wildcards and
``field^boost`` lists for ``multi_match``/``query_string``, date math in ranges, expanding fuzzy
and phrase-prefix terms over the shard's term dictionaries, and choosing the cheap evaluation
for each clause (numbers and dates through doc values, keywords through postings; filter
context evaluates to bitmaps, constant_score where scores are unused). It also turns a plan and
its timings into OpenSearch's profile shape.

It must never touch documents: plans run in index.query.execution.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
from typing import Any, Callable, Sequence

import numpy as np

from index.errors import QueryShardError
from index.query import nodes
from index.query.execution import (
    BoolPlan, BoostingPlan, ConstantScorePlan, DisMaxPlan, ExistsPlan, ExtensionPlan, FunctionScorePlan,
    IdsPlan, MatchAllPlan, MatchNonePlan, NumericRangePlan, NumericTermsPlan, PhrasePlan, Plan,
    PostingsUnionPlan, SegmentExecution, ShardExecution, TermPlan, TermRangePlan,
)
from index.query.parameters import maximum_edits_for_term, resolve_minimum_should_match, split_field_boost
from index.query.parser import TooManyClausesError
from index.query.term_expansion import (
    fuzzy_terms, lucene_regexp_to_python, prefix_terms, regexp_terms, wildcard_terms,
    wildcard_to_regular_expression,
)

NUMERIC_TYPES = frozenset({"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
                           "unsigned_long"})
INTEGER_TYPES = frozenset({"long", "integer", "short", "byte", "unsigned_long"})
TERM_TYPES = frozenset({"text", "keyword", "_id"})
DEFAULT_FIELD_TYPES = frozenset({"text", "keyword"})


# -- field helpers ---------------------------------------------------------------------------------


def field_type(shard: ShardExecution, path: str) -> str | None:
    if path == "_id":
        return "_id"
    if path == "_index":
        return "_index"
    field_mapping = shard.mapping.field(path)
    return None if field_mapping is None else field_mapping.type


def _is_object_path(shard: ShardExecution, path: str) -> bool:
    prefix = path + "."
    return any(mapping.path.startswith(prefix) for mapping in shard.mapping.fields())


def resolve_field_pattern(shard: ShardExecution, pattern: str, types: frozenset[str] | None = None) -> list[str]:
    """Concrete field paths for a name or wildcard pattern.

    As OpenSearch's QueryParserHelper does, a wildcard pattern only selects fields that can be
    searched as text (text and keyword); a plain name is taken as is, whatever its type."""
    if "*" not in pattern and "?" not in pattern:
        return [pattern]
    allowed = types or DEFAULT_FIELD_TYPES
    return [mapping.path for mapping in shard.mapping.fields()
            if fnmatch.fnmatchcase(mapping.path, pattern) and (allowed is None or mapping.type in allowed)]


def resolve_weighted_fields(shard: ShardExecution, specifications: tuple[str, ...],
                            default: tuple[str, ...] = ("*",)) -> list[tuple[str, float]]:
    weighted: dict[str, float] = {}
    for specification in specifications or default:
        name, boost = split_field_boost(specification)
        for path in resolve_field_pattern(shard, name):
            weighted[path] = weighted.get(path, 1.0) * boost if path in weighted else boost
    return list(weighted.items())


def _analyzer_for(shard: ShardExecution, path: str, override: str | None) -> Any:
    field_mapping = shard.mapping.field(path)
    name = override or (field_mapping.search_analyzer if field_mapping is not None else None) or (
        field_mapping.analyzer if field_mapping is not None else "standard")
    return shard.analysis.get(name)


def _keyword_value(shard: ShardExecution, path: str, value: Any) -> str:
    """What a keyword field indexed for this value: its normalizer applied, as at index time."""
    text = _stringify(value)
    field_mapping = shard.mapping.field(path)
    if field_mapping is None or getattr(field_mapping, "normalizer", None) is None:
        return text
    from index.mapping.mapping import normalize_keyword

    return normalize_keyword(field_mapping, text)


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


def parse_number(shard: ShardExecution, path: str, value: Any, lenient: bool = False) -> float | int | None:
    """A query value for a numeric field; None when it cannot match (lenient or a decimal on an integer)."""
    type_name = field_type(shard, path)
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
        if math.isnan(number):
            raise ValueError
    except (TypeError, ValueError):
        if lenient:
            return None
        raise QueryShardError(f"failed to create query: For input string: \"{value}\"", field=path) from None
    if type_name in INTEGER_TYPES:
        # an integer given exactly (a JSON integer or its text) stays exact: a double holds only
        # 53 bits, and longs (unsigned_long too) go further
        exact = exact_integer(value)
        if exact is None:
            if not number.is_integer():
                return None
            exact = int(number)
        lowest, highest = (0, 2 ** 64 - 1) if type_name == "unsigned_long" else (-(2 ** 63), 2 ** 63 - 1)
        return exact if lowest <= exact <= highest else None
    return number


def exact_integer(value: Any) -> int | None:
    """``value`` as an exact int when it is a JSON integer or the text of one, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text and (text.isdigit() or (text[0] in "+-" and text[1:].isdigit())):
            return int(text)
    return None


def parse_date_bound(shard: ShardExecution, path: str, value: Any, date_format: str | None,
                     time_zone: str | None, round_up: bool) -> int:
    from index.mapping.dates import parse_date_math

    field_mapping = shard.mapping.field(path)
    default_format = getattr(field_mapping, "date_format", None) if field_mapping is not None else None
    try:
        return int(parse_date_math(value, shard.now_millis, date_format or default_format, time_zone,
                                   round_up=round_up))
    except QueryShardError:
        raise
    except Exception as error:   # MapperParsingError and friends: a bad bound is the query's fault
        reason = getattr(error, "reason", str(error))
        if not reason.startswith("failed to parse"):
            reason = f"failed to parse date field [{value}] with format [{date_format or default_format}]: [{reason}]"
        raise QueryShardError(reason, field=path) from None


def nanos_bound(shard: ShardExecution, path: str, value: Any, date_format: str | None, time_zone: str | None,
                round_up: bool) -> int:
    """A date_nanos bound in epoch nanoseconds: date math resolves to the millisecond (as for
    date fields) and stands for that whole millisecond when rounding up; a literal with digits
    below the millisecond keeps them."""
    from index.mapping.dates import _sub_millisecond_nanos

    millis = parse_date_bound(shard, path, value, date_format, time_zone, round_up)
    field_mapping = shard.mapping.field(path)
    sub_millis = 0
    if isinstance(value, str) and "||" not in value and not value.startswith("now"):
        sub_millis = _sub_millisecond_nanos(value, date_format or getattr(field_mapping, "date_format", None)
                                            or "strict_date_optional_time_nanos")
    if sub_millis:
        return millis * 1_000_000 + sub_millis
    return millis * 1_000_000 + (999_999 if round_up else 0)


def _boolean_term(value: Any) -> str | None:
    if value in (True, "true"):
        return "true"
    if value in (False, "false", ""):
        return "false"
    return None


def ip_bounds(path: str, value: Any) -> tuple[str, str]:
    """An ip query value → inclusive (lowest, highest) stored forms: one address, or a CIDR block."""
    from index.mapping.ip import IpValueError, parse_cidr, parse_ip

    try:
        if isinstance(value, str) and "/" in value:
            return parse_cidr(value)
        stored = parse_ip(value)
        return stored, stored
    except IpValueError as error:
        raise QueryShardError(f"failed to create query: {error}", field=path) from None


def _ip_range_bound(path: str, value: Any, inclusive: bool, is_lower: bool) -> str | None:
    """A range bound on an ip field as an inclusive stored bound (None: the range is empty). A bound
    is one address: OpenSearch parses range bounds with InetAddresses.forString, so a CIDR block
    (which term/terms take) is "not an IP string literal" here."""
    from index.mapping.ip import IpValueError, parse_ip, stored_predecessor, stored_successor

    try:
        stored = parse_ip(value)
    except IpValueError as error:
        raise QueryShardError(f"failed to create query: {error}", field=path) from None
    if is_lower:
        return stored if inclusive else stored_successor(stored)
    return stored if inclusive else stored_predecessor(stored)


# -- the planner -----------------------------------------------------------------------------------


class Planner:
    def __init__(self, shard: ShardExecution) -> None:
        self.shard = shard
        limit = getattr(shard.context, "max_clause_count", 1024)
        self.max_clause_count = limit

    def count_clauses(self, count: int) -> None:
        self.shard.clause_count += count
        if self.shard.clause_count > self.max_clause_count:
            raise TooManyClausesError(f"maxClauseCount is set to {self.max_clause_count}", limit="max_clause_count")

    def plan(self, node: nodes.QueryNode) -> Plan:
        method = getattr(self, "_plan_" + type(node).__name__, None)
        if method is not None:
            return method(node)
        if hasattr(node, "evaluate_segment"):
            child_plans = {id(child): self.plan(child) for child in node.children()}
            return ExtensionPlan(node, child_plans, getattr(node, "boost", 1.0))
        raise QueryShardError(f"no executor for query [{getattr(node, 'query_type', type(node).__name__)}]")

    # -- leaves

    def _plan_NamedQuery(self, node: nodes.NamedQuery) -> Plan:
        return self.plan(node.query)   # a name changes what fetch reports, never what matches

    def _plan_MatchAllQuery(self, node: nodes.MatchAllQuery) -> Plan:
        return MatchAllPlan(node.boost)

    def _plan_MatchNoneQuery(self, node: nodes.MatchNoneQuery) -> Plan:
        return MatchNonePlan("match_none")

    def _term_scoring_plan(self, path: str, term: str, boost: float) -> Plan:
        self.count_clauses(1)
        type_name = field_type(self.shard, path)
        return TermPlan(self.shard, path, term, boost, uses_norms=type_name == "text")

    def _exact_value_plan(self, path: str, value: Any, boost: float, lenient: bool = False,
                          case_insensitive: bool = False) -> Plan:
        """term semantics for any field type: postings for strings, doc values for numbers/dates."""
        type_name = field_type(self.shard, path)
        if type_name is None:
            return MatchNonePlan(f"unmapped field [{path}]")
        if type_name == "_id":
            return IdsPlan((_stringify(value),), boost)
        if type_name == "_index":
            return self._index_name_plan([value], boost)
        if type_name in ("text", "keyword"):
            term = _keyword_value(self.shard, path, value) if type_name == "keyword" else _stringify(value)
            if case_insensitive:
                lowered = term.lower()
                return PostingsUnionPlan(
                    path, f"{term} (case insensitive)",
                    lambda terms: [candidate for candidate in terms if candidate.lower() == lowered], boost,
                    term_predicate=lambda candidate: candidate.lower() == lowered)
            return self._term_scoring_plan(path, term, boost)
        if type_name == "boolean":
            term = _boolean_term(value)
            if term is None:
                if lenient:
                    return MatchNonePlan("not a boolean")
                raise QueryShardError(f"failed to create query: Can't parse boolean value [{value}], "
                                      f"expected [true] or [false]", field=path)
            return self._term_scoring_plan(path, term, boost)
        if type_name == "date":
            lower = parse_date_bound(self.shard, path, value, None, None, round_up=False)
            upper = parse_date_bound(self.shard, path, value, None, None, round_up=True)
            return NumericRangePlan(path, lower, upper, True, True, boost)
        if type_name == "date_nanos":
            lower = nanos_bound(self.shard, path, value, None, None, round_up=False)
            upper = nanos_bound(self.shard, path, value, None, None, round_up=True)
            return NumericRangePlan(path, lower, upper, True, True, boost)
        if type_name in NUMERIC_TYPES:
            number = parse_number(self.shard, path, value, lenient)
            if number is None:
                return MatchNonePlan("value does not fit the field")
            return NumericTermsPlan(path, (number,), boost)
        if type_name == "ip":
            # constant score, as OpenSearch's point query; a CIDR block is a range of stored forms
            try:
                lowest, highest = ip_bounds(path, value)
            except QueryShardError:
                if lenient:
                    return MatchNonePlan("not an ip address")
                raise
            return ConstantScorePlan(TermRangePlan(path, lowest, highest, True, True), boost)
        raise QueryShardError(f"field [{path}] of type [{type_name}] does not support term queries")

    def _index_name_plan(self, values: Sequence[Any], boost: float) -> Plan:
        """``_index`` is constant per shard: every doc matches when a value names this index."""
        index_name = getattr(self.shard.context, "index_name", "")
        if any(fnmatch.fnmatchcase(index_name, _stringify(value)) for value in values):
            return MatchAllPlan(boost)
        return MatchNonePlan(f"_index is [{index_name}]")

    def _plan_TermQuery(self, node: nodes.TermQuery) -> Plan:
        return self._exact_value_plan(node.field, node.value, node.boost, case_insensitive=node.case_insensitive)

    def _plan_TermsQuery(self, node: nodes.TermsQuery) -> Plan:
        path = node.field
        type_name = field_type(self.shard, path)
        if type_name is None or not node.values:
            return MatchNonePlan(f"unmapped field [{path}]" if type_name is None else "no terms")
        if type_name == "_id":
            return IdsPlan(tuple(_stringify(value) for value in node.values), node.boost)
        if type_name == "_index":
            return self._index_name_plan(node.values, node.boost)
        if type_name in ("text", "keyword"):
            terms = tuple(sorted({_keyword_value(self.shard, path, value) if type_name == "keyword"
                                  else _stringify(value) for value in node.values}))
            return PostingsUnionPlan(path, "(" + " ".join(terms) + ")", lambda _: list(terms), node.boost,
                                     fixed_terms=terms)
        if type_name == "boolean":
            terms = tuple(sorted({term for value in node.values if (term := _boolean_term(value)) is not None}))
            return PostingsUnionPlan(path, "(" + " ".join(terms) + ")", lambda _: list(terms), node.boost,
                                     fixed_terms=terms)
        if type_name in ("date", "date_nanos", "ip"):
            plans: list[Plan] = [self._exact_value_plan(path, value, 1.0) for value in node.values]
            return ConstantScorePlan(BoolPlan([], plans, [], [], 1), node.boost)
        numbers = [number for value in node.values
                   if (number := parse_number(self.shard, path, value)) is not None]
        return NumericTermsPlan(path, numbers, node.boost)

    def _plan_RangeQuery(self, node: nodes.RangeQuery) -> Plan:
        path = node.field
        type_name = field_type(self.shard, path)
        if type_name is None:
            return MatchNonePlan(f"unmapped field [{path}]")
        lower_value = node.gte if node.gte is not None else node.gt
        upper_value = node.lte if node.lte is not None else node.lt
        include_lower = node.gt is None
        include_upper = node.lt is None
        if type_name == "date":
            # lte and gt round up (OpenSearch: "lte 2020-01-01||/d" includes the whole day)
            lower = None if lower_value is None else parse_date_bound(
                self.shard, path, lower_value, node.format, node.time_zone, round_up=not include_lower)
            upper = None if upper_value is None else parse_date_bound(
                self.shard, path, upper_value, node.format, node.time_zone, round_up=include_upper)
            return NumericRangePlan(path, lower, upper, include_lower, include_upper, node.boost)
        if type_name == "date_nanos":
            lower = None if lower_value is None else nanos_bound(
                self.shard, path, lower_value, node.format, node.time_zone, round_up=not include_lower)
            upper = None if upper_value is None else nanos_bound(
                self.shard, path, upper_value, node.format, node.time_zone, round_up=include_upper)
            return NumericRangePlan(path, lower, upper, include_lower, include_upper, node.boost)
        if type_name in NUMERIC_TYPES:
            lower = None if lower_value is None else self._range_number(path, lower_value)
            upper = None if upper_value is None else self._range_number(path, upper_value)
            return NumericRangePlan(path, lower, upper, include_lower, include_upper, node.boost)
        if type_name == "ip":
            lower_ip = None if lower_value is None else _ip_range_bound(path, lower_value, include_lower, True)
            upper_ip = None if upper_value is None else _ip_range_bound(path, upper_value, include_upper, False)
            if (lower_value is not None and lower_ip is None) or (upper_value is not None and upper_ip is None):
                return MatchNonePlan("empty ip range")
            return ConstantScorePlan(TermRangePlan(path, lower_ip, upper_ip, True, True), node.boost)
        if type_name == "boolean":
            lower = None if lower_value is None else (1 if _boolean_term(lower_value) == "true" else 0)
            upper = None if upper_value is None else (1 if _boolean_term(upper_value) == "true" else 0)
            return NumericRangePlan(path, lower, upper, include_lower, include_upper, node.boost)
        lower_text = None if lower_value is None else self._pattern(path, _stringify(lower_value))
        upper_text = None if upper_value is None else self._pattern(path, _stringify(upper_value))
        return TermRangePlan(path, lower_text, upper_text, include_lower, include_upper, node.boost)

    def _range_number(self, path: str, value: Any) -> float | int:
        if field_type(self.shard, path) in INTEGER_TYPES:
            exact = exact_integer(value)
            if exact is not None:
                return exact    # exact, as parse_number: doubles round longs past 2^53
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except (TypeError, ValueError):
            raise QueryShardError(f"failed to create query: For input string: \"{value}\"", field=path) from None

    def _plan_IdsQuery(self, node: nodes.IdsQuery) -> Plan:
        return IdsPlan(node.values, node.boost)

    def _plan_ExistsQuery(self, node: nodes.ExistsQuery) -> Plan:
        if "*" in node.field:
            paths = [mapping.path for mapping in self.shard.mapping.fields()
                     if fnmatch.fnmatchcase(mapping.path, node.field)]
            return ExistsPlan(tuple(paths), None, node.boost)
        if self.shard.mapping.field(node.field) is not None:
            return ExistsPlan((node.field,), None, node.boost)
        if _is_object_path(self.shard, node.field):
            return ExistsPlan((), node.field + ".", node.boost)
        return MatchNonePlan(f"unmapped field [{node.field}]")

    def _require_term_field(self, query_name: str, path: str) -> str | None:
        type_name = field_type(self.shard, path)
        if type_name is None:
            return None
        if type_name not in TERM_TYPES:
            raise QueryShardError(
                f"Can only use {query_name} queries on keyword and text fields - not on [{path}] which is of type "
                f"[{type_name}]", field=path)
        return type_name

    def _pattern(self, path: str, value: str) -> str:
        """Patterns on a keyword field go through its normalizer, as OpenSearch does."""
        return _keyword_value(self.shard, path, value) if field_type(self.shard, path) == "keyword" else value

    def _plan_PrefixQuery(self, node: nodes.PrefixQuery) -> Plan:
        if self._require_term_field("prefix", node.field) is None:
            return MatchNonePlan(f"unmapped field [{node.field}]")
        value, insensitive = self._pattern(node.field, node.value), node.case_insensitive
        lowered = value.lower()
        predicate = ((lambda candidate: candidate.lower().startswith(lowered)) if insensitive
                     else (lambda candidate: candidate.startswith(value)))
        return PostingsUnionPlan(node.field, f"{value}*" + (" (case insensitive)" if insensitive else ""),
                                 lambda terms: prefix_terms(terms, value, insensitive),
                                 node.boost, term_predicate=predicate)

    def _plan_WildcardQuery(self, node: nodes.WildcardQuery) -> Plan:
        if self._require_term_field("wildcard", node.field) is None:
            return MatchNonePlan(f"unmapped field [{node.field}]")
        value, insensitive = self._pattern(node.field, node.value), node.case_insensitive
        compiled = wildcard_to_regular_expression(value, insensitive)
        return PostingsUnionPlan(node.field, f"wildcard {value}" + (" (case insensitive)" if insensitive else ""),
                                 lambda terms: wildcard_terms(terms, value, insensitive),
                                 node.boost, term_predicate=lambda candidate: compiled.fullmatch(candidate) is not None)

    def _plan_RegexpQuery(self, node: nodes.RegexpQuery) -> Plan:
        if self._require_term_field("regexp", node.field) is None:
            return MatchNonePlan(f"unmapped field [{node.field}]")
        value, insensitive = node.value, node.case_insensitive
        compiled = lucene_regexp_to_python(value, insensitive)
        return PostingsUnionPlan(node.field, f"/{value}/" + (" (case insensitive)" if insensitive else ""),
                                 lambda terms: regexp_terms(terms, value, insensitive),
                                 node.boost, term_predicate=lambda candidate: compiled.fullmatch(candidate) is not None)

    def _fuzzy_plan(self, path: str, term: str, fuzziness: str, prefix_length: int, max_expansions: int,
                    transpositions: bool, boost: float) -> Plan:
        """Lucene's top-terms blended rewrite: the closest terms, scored with the largest doc freq."""
        maximum_edits = maximum_edits_for_term(fuzziness, term)
        if maximum_edits == 0:
            return self._term_scoring_plan(path, term, boost)
        candidates = self.shard.expand_terms(path, lambda terms: fuzzy_terms(
            terms, term, maximum_edits, prefix_length, transpositions))
        if not candidates:
            return MatchNonePlan(f"no terms within {maximum_edits} edits of [{term}]")
        candidates.sort(key=lambda pair: (pair[1], pair[0]))
        selected = candidates[:max(1, max_expansions)]
        self.count_clauses(len(selected))
        blended_frequency = max(self.shard.document_frequency(path, candidate) for candidate, _ in selected)
        type_name = field_type(self.shard, path)
        plans: list[Plan] = []
        for candidate, edits in selected:
            similarity = 1.0 - edits / max(1, min(len(candidate), len(term)))
            plans.append(TermPlan(self.shard, path, candidate, boost * max(similarity, 0.0),
                                  uses_norms=type_name == "text", document_frequency_override=blended_frequency))
        if len(plans) == 1:
            return plans[0]
        return BoolPlan([], plans, [], [], 1)

    def _plan_FuzzyQuery(self, node: nodes.FuzzyQuery) -> Plan:
        type_name = self._require_term_field("fuzzy", node.field)
        if type_name is None:
            return MatchNonePlan(f"unmapped field [{node.field}]")
        return self._fuzzy_plan(node.field, _stringify(node.value), node.fuzziness, node.prefix_length,
                                node.max_expansions, node.transpositions, node.boost)

    # -- full text

    def _analyze(self, path: str, text: Any, analyzer: str | None) -> tuple[list[str], list[int]]:
        return _analyzer_for(self.shard, path, analyzer).terms_and_positions(_stringify(text))

    def _zero_terms(self, zero_terms_query: str) -> Plan:
        return MatchAllPlan() if zero_terms_query == "all" else MatchNonePlan("no terms after analysis")

    def _plan_MatchQuery(self, node: nodes.MatchQuery) -> Plan:
        path = node.field
        type_name = field_type(self.shard, path)
        if type_name is None:
            return MatchNonePlan(f"unmapped field [{path}]")
        if type_name != "text":
            if node.fuzziness is not None and type_name in ("keyword", "_id"):
                return self._fuzzy_plan(path, _keyword_value(self.shard, path, node.query), node.fuzziness,
                                        node.prefix_length, node.max_expansions, node.fuzzy_transpositions, node.boost)
            return self._exact_value_plan(path, node.query, node.boost, lenient=node.lenient)
        terms, _ = self._analyze(path, node.query, node.analyzer)
        if not terms:
            return self._zero_terms(node.zero_terms_query)
        if node.fuzziness is not None:
            term_plans = [self._fuzzy_plan(path, term, node.fuzziness, node.prefix_length, node.max_expansions,
                                           node.fuzzy_transpositions, 1.0) for term in terms]
        else:
            term_plans = [self._term_scoring_plan(path, term, 1.0) for term in terms]
        if len(term_plans) == 1:
            return self._reboost(term_plans[0], node.boost)
        if node.operator == "and":
            return BoolPlan(term_plans, [], [], [], 0, node.boost)
        required = resolve_minimum_should_match(node.minimum_should_match, len(term_plans))
        return BoolPlan([], term_plans, [], [], required, node.boost)

    def _plan_MatchBoolPrefixQuery(self, node: nodes.MatchBoolPrefixQuery) -> Plan:
        path = node.field
        type_name = field_type(self.shard, path)
        if type_name is None:
            return MatchNonePlan(f"unmapped field [{path}]")
        if type_name != "text":
            if type_name in ("keyword", "_id"):
                return self._plan_PrefixQuery(nodes.PrefixQuery(field=path, value=_stringify(node.query),
                                                                boost=node.boost))
            return self._exact_value_plan(path, node.query, node.boost)
        terms, _ = self._analyze(path, node.query, node.analyzer)
        if not terms:
            return MatchNonePlan("no terms after analysis")
        plans: list[Plan] = []
        for term in terms[:-1]:
            if node.fuzziness is not None:
                plans.append(self._fuzzy_plan(path, term, node.fuzziness, node.prefix_length, node.max_expansions,
                                              node.fuzzy_transpositions, 1.0))
            else:
                plans.append(self._term_scoring_plan(path, term, 1.0))
        plans.append(self._plan_PrefixQuery(nodes.PrefixQuery(field=path, value=terms[-1])))
        if len(plans) == 1:
            return self._reboost(plans[0], node.boost)
        if node.operator == "and":
            return BoolPlan(plans, [], [], [], 0, node.boost)
        return BoolPlan([], plans, [], [], resolve_minimum_should_match(node.minimum_should_match, len(plans)),
                        node.boost)

    def _reboost(self, plan: Plan, boost: float) -> Plan:
        if boost == 1.0:
            return plan
        if isinstance(plan, (TermPlan, PhrasePlan)):
            plan.boost *= boost
            return plan
        if isinstance(plan, (MatchNonePlan,)):
            return plan
        return BoolPlan([plan], [], [], [], 0, boost)

    def _phrase_plan(self, path: str, text: Any, slop: int, analyzer: str | None, zero_terms_query: str,
                     boost: float, prefix_expansions: int | None = None) -> Plan:
        type_name = field_type(self.shard, path)
        if type_name is None:
            return MatchNonePlan(f"unmapped field [{path}]")
        if type_name != "text":
            if prefix_expansions is not None and type_name in ("keyword", "_id"):
                return self._plan_PrefixQuery(nodes.PrefixQuery(field=path, value=_stringify(text), boost=boost))
            return self._exact_value_plan(path, text, boost)
        terms, positions = self._analyze(path, text, analyzer)
        if not terms:
            return self._zero_terms(zero_terms_query)
        first_position = positions[0]
        slots: list[tuple[int, tuple[str, ...]]] = [
            (position - first_position, (term,)) for term, position in zip(terms, positions)]
        if prefix_expansions is not None:
            last_relative, (last_term,) = slots[-1]
            limit = max(1, prefix_expansions)
            # the first `limit` of each segment suffice: the shard-wide first `limit` are among them
            expansions = self.shard.expand_terms(path, lambda terms: prefix_terms(terms, last_term, limit=limit))[:limit]
            if not expansions:
                return MatchNonePlan(f"no terms start with [{last_term}]")
            slots[-1] = (last_relative, tuple(expansions))
        elif len(slots) == 1:
            return self._term_scoring_plan(path, terms[0], boost)
        self.count_clauses(sum(len(slot_terms) for _, slot_terms in slots))
        return PhrasePlan(self.shard, path, slots, slop, boost)

    def _plan_MatchPhraseQuery(self, node: nodes.MatchPhraseQuery) -> Plan:
        return self._phrase_plan(node.field, node.query, node.slop, node.analyzer, node.zero_terms_query, node.boost)

    def _plan_MatchPhrasePrefixQuery(self, node: nodes.MatchPhrasePrefixQuery) -> Plan:
        return self._phrase_plan(node.field, node.query, node.slop, node.analyzer, node.zero_terms_query,
                                 node.boost, prefix_expansions=node.max_expansions)

    def _plan_MultiMatchQuery(self, node: nodes.MultiMatchQuery) -> Plan:
        weighted_fields = resolve_weighted_fields(self.shard, node.fields)
        lenient = node.lenient or not node.fields
        if not weighted_fields:
            return MatchNonePlan("no fields match the multi_match field patterns")
        per_field: list[Plan] = []
        if node.type == "cross_fields":
            return self._cross_fields(node, weighted_fields, lenient)
        for path, field_boost in weighted_fields:
            if lenient and field_type(self.shard, path) not in ("text", "keyword"):
                continue
            if node.type == "bool_prefix":
                plan = self._plan_MatchBoolPrefixQuery(nodes.MatchBoolPrefixQuery(
                    field=path, query=node.query, operator=node.operator,
                    minimum_should_match=node.minimum_should_match, fuzziness=node.fuzziness,
                    prefix_length=node.prefix_length, max_expansions=node.max_expansions, analyzer=node.analyzer,
                    boost=field_boost))
            elif node.type in ("phrase", "phrase_prefix"):
                plan = self._phrase_plan(path, node.query, node.slop, node.analyzer, node.zero_terms_query,
                                         field_boost,
                                         prefix_expansions=node.max_expansions if node.type == "phrase_prefix" else None)
            else:
                plan = self._plan_MatchQuery(nodes.MatchQuery(
                    field=path, query=node.query, operator=node.operator,
                    minimum_should_match=node.minimum_should_match, fuzziness=node.fuzziness,
                    prefix_length=node.prefix_length, max_expansions=node.max_expansions, analyzer=node.analyzer,
                    zero_terms_query=node.zero_terms_query, lenient=lenient, boost=field_boost))
            per_field.append(plan)
        if not per_field:
            return MatchNonePlan("no eligible fields")
        if node.type == "most_fields":
            combined: Plan = BoolPlan([], per_field, [], [], 1, node.boost)
            return combined
        tie_breaker = node.tie_breaker if node.tie_breaker is not None else 0.0
        if len(per_field) == 1:
            return self._reboost(per_field[0], node.boost)
        return DisMaxPlan(per_field, tie_breaker, node.boost)

    def _cross_fields(self, node: nodes.MultiMatchQuery, weighted_fields: list[tuple[str, float]],
                      lenient: bool) -> Plan:
        """Term-centric: each term may match in any field (dis_max over fields), then the operator.

        Differs from OpenSearch: field statistics are not blended across fields."""
        text_fields = [(path, boost) for path, boost in weighted_fields
                       if field_type(self.shard, path) in ("text", "keyword")]
        if not text_fields:
            return MatchNonePlan("no eligible fields")
        first_path = text_fields[0][0]
        terms, _ = self._analyze(first_path, node.query, node.analyzer) if field_type(
            self.shard, first_path) == "text" else ([_stringify(node.query)], [0])
        if not terms:
            return self._zero_terms(node.zero_terms_query)
        per_term: list[Plan] = []
        for term in terms:
            alternatives = [self._term_scoring_plan(path, term if field_type(self.shard, path) == "text"
                                                    else _stringify(node.query), boost)
                            for path, boost in text_fields]
            per_term.append(alternatives[0] if len(alternatives) == 1 else DisMaxPlan(
                alternatives, node.tie_breaker or 0.0))
        if len(per_term) == 1:
            return self._reboost(per_term[0], node.boost)
        if node.operator == "and":
            return BoolPlan(per_term, [], [], [], 0, node.boost)
        return BoolPlan([], per_term, [], [], resolve_minimum_should_match(node.minimum_should_match, len(per_term)),
                        node.boost)

    def _query_string_plan(self, node: Any, simple: bool) -> Plan:
        from index.query.query_string import QueryStringOptions, parse_query_string_syntax, syntax_to_query_nodes

        if simple:
            specifications = node.fields
        else:
            specifications = node.fields or ((node.default_field,) if node.default_field else ())
        weighted_fields = resolve_weighted_fields(self.shard, specifications)
        lenient = node.lenient or not specifications or any("*" in spec for spec in specifications)
        options = QueryStringOptions(
            default_operator=node.default_operator, analyzer=node.analyzer,
            fuzziness=getattr(node, "fuzziness", "AUTO"), phrase_slop=getattr(node, "phrase_slop", 0),
            tie_breaker=getattr(node, "tie_breaker", None) or 0.0, lenient=lenient,
            allow_leading_wildcard=getattr(node, "allow_leading_wildcard", True),
            time_zone=getattr(node, "time_zone", None))
        syntax = parse_query_string_syntax(node.query, simple=simple, default_operator=node.default_operator)
        query_node = syntax_to_query_nodes(
            syntax, weighted_fields, lambda pattern: resolve_field_pattern(self.shard, pattern),
            lambda path: field_type(self.shard, path), options, node.query)
        if node.minimum_should_match is not None and isinstance(query_node, nodes.BoolQuery):
            query_node = dataclasses.replace(query_node, minimum_should_match=node.minimum_should_match)
        plan = self._plan_lenient(query_node, lenient)
        return self._reboost(plan, node.boost)

    def _plan_lenient(self, query_node: nodes.QueryNode, lenient: bool) -> Plan:
        if not lenient:
            return self.plan(query_node)
        clauses_before = self.shard.clause_count
        try:
            return self.plan(query_node)
        except QueryShardError:
            self.shard.clause_count = clauses_before     # the retry below counts its clauses again
            if isinstance(query_node, (nodes.BoolQuery, nodes.DisMaxQuery)):
                children = query_node.queries if isinstance(query_node, nodes.DisMaxQuery) else None
                if children is not None:
                    plans = [self._plan_lenient(child, True) for child in children]
                    return DisMaxPlan(plans, query_node.tie_breaker, query_node.boost)
                bool_node: nodes.BoolQuery = query_node  # type: ignore[assignment]
                return BoolPlan(
                    [self._plan_lenient(child, True) for child in bool_node.must],
                    [self._plan_lenient(child, True) for child in bool_node.should],
                    [self._plan_lenient(child, True) for child in bool_node.filter],
                    [self._plan_lenient(child, True) for child in bool_node.must_not],
                    self._bool_minimum(bool_node), bool_node.boost)
            return MatchNonePlan("lenient: value does not fit the field")

    def _plan_QueryStringQuery(self, node: nodes.QueryStringQuery) -> Plan:
        return self._query_string_plan(node, simple=False)

    def _plan_SimpleQueryStringQuery(self, node: nodes.SimpleQueryStringQuery) -> Plan:
        return self._query_string_plan(node, simple=True)

    # -- compound

    def _bool_minimum(self, node: nodes.BoolQuery) -> int:
        if node.minimum_should_match is None:
            return 0
        return resolve_minimum_should_match(node.minimum_should_match, len(node.should))

    def _plan_BoolQuery(self, node: nodes.BoolQuery) -> Plan:
        return BoolPlan(
            [self.plan(child) for child in node.must],
            [self.plan(child) for child in node.should],
            [self.plan(child) for child in node.filter],
            [self.plan(child) for child in node.must_not],
            self._bool_minimum(node), node.boost)

    def _plan_ConstantScoreQuery(self, node: nodes.ConstantScoreQuery) -> Plan:
        return ConstantScorePlan(self.plan(node.filter), node.boost)

    def _plan_BoostingQuery(self, node: nodes.BoostingQuery) -> Plan:
        return BoostingPlan(self.plan(node.positive), self.plan(node.negative), node.negative_boost, node.boost)

    def _plan_DisMaxQuery(self, node: nodes.DisMaxQuery) -> Plan:
        return DisMaxPlan([self.plan(child) for child in node.queries], node.tie_breaker, node.boost)

    def _plan_FunctionScoreQuery(self, node: nodes.FunctionScoreQuery) -> Plan:
        from index.query.function_score import build_score_function

        functions = []
        for spec in node.functions:
            filter_plan = self.plan(spec.filter) if spec.filter is not None else None
            evaluate = build_score_function(self, spec.function) if spec.function is not None else None
            functions.append((filter_plan, evaluate, spec.weight))
        return FunctionScorePlan(self.plan(node.query), functions, node.score_mode, node.boost_mode,
                                 node.max_boost, node.min_score, node.boost)


def plan_query(node: nodes.QueryNode, shard: ShardExecution) -> Plan:
    return Planner(shard).plan(node)


# -- profile ---------------------------------------------------------------------------------------


def profile_tree(plan: Plan, shard: ShardExecution) -> dict:
    """One plan node in OpenSearch's profile shape (times are inclusive of children)."""
    nanoseconds, calls = shard.profile_timings.get(id(plan), [0, 0])
    return {
        "type": plan.profile_type,
        "description": plan.description(),
        "time_in_nanos": nanoseconds,
        "breakdown": {
            "score": nanoseconds, "score_count": calls, "build_scorer": 0, "build_scorer_count": calls,
            "create_weight": 0, "create_weight_count": 1, "next_doc": 0, "next_doc_count": 0,
            "match": 0, "match_count": 0, "advance": 0, "advance_count": 0,
        },
        "children": [profile_tree(child, shard) for child in plan.children()],
    }
