"""The query tree: small frozen, typed, serializable query nodes.

This module owns the value types the query DSL parses into (one class per query type) and
their canonical JSON form. ``node.to_json()`` returns OpenSearch query DSL that
``parse_query`` turns back into an equal node, so the tree travels between processes as plain
DSL. Nodes hold only what the user wrote (date math and field wildcards stay unresolved): they
are resolved per shard at execution time, where the mapping and the request clock are known.

It must never touch segments, mappings or analyzers: nodes are values, nothing more.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar


class QueryNode:
    """Base of every query node. Subclasses are frozen slotted dataclasses."""

    __slots__ = ()
    query_type: ClassVar[str] = ""

    def to_json(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} does not define to_json")

    def children(self) -> tuple["QueryNode", ...]:
        return ()

    @classmethod
    def from_json(cls, query_json: dict) -> "QueryNode":
        from index.query.parser import parse_query

        return parse_query(query_json)


@dataclass(frozen=True, slots=True)
class NamedQuery(QueryNode):
    """A query clause that carried ``_name``: it matches exactly as ``query`` does; the fetch phase
    reports the names of the named clauses each hit matches (``matched_queries``)."""

    query: QueryNode
    name: str
    query_type: ClassVar[str] = "_named"

    def children(self) -> tuple[QueryNode, ...]:
        return (self.query,)

    def to_json(self) -> dict:
        inner = self.query.to_json()
        (query_name, body), = inner.items()
        if isinstance(body, dict):
            return {query_name: {**body, "_name": self.name}}
        return inner   # a body that is not an object cannot carry a name (no such query today)


def named_queries(*roots: "QueryNode | None") -> list[NamedQuery]:
    """Every NamedQuery inside ``roots``, in the order the query names them (depth first)."""
    found: list[NamedQuery] = []
    pending = [root for root in reversed(roots) if root is not None]
    while pending:
        node = pending.pop()
        if isinstance(node, NamedQuery):
            found.append(node)
        pending.extend(reversed(node.children()))
    return found


def _non_default_parameters(node: Any, skip: tuple[str, ...] = ("field",)) -> dict:
    """The dataclass attributes of ``node`` that differ from their defaults, as DSL keys."""
    parameters: dict[str, Any] = {}
    for dataclass_field in dataclasses.fields(node):
        if dataclass_field.name in skip:
            continue
        value = getattr(node, dataclass_field.name)
        if dataclass_field.default is not dataclasses.MISSING and value == dataclass_field.default:
            continue
        if isinstance(value, tuple):
            value = list(value)
        parameters[dataclass_field.name] = value
    return parameters


class _FieldLevelQuery(QueryNode):
    """Queries written ``{type: {field: {parameter: value}}}``."""

    __slots__ = ()

    def to_json(self) -> dict:
        return {self.query_type: {self.field: _non_default_parameters(self)}}  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class MatchAllQuery(QueryNode):
    query_type: ClassVar[str] = "match_all"
    boost: float = 1.0

    def to_json(self) -> dict:
        return {"match_all": _non_default_parameters(self)}


@dataclass(frozen=True, slots=True)
class MatchNoneQuery(QueryNode):
    query_type: ClassVar[str] = "match_none"
    boost: float = 1.0

    def to_json(self) -> dict:
        return {"match_none": _non_default_parameters(self)}


@dataclass(frozen=True, slots=True)
class MatchQuery(_FieldLevelQuery):
    query_type: ClassVar[str] = "match"
    field: str
    query: Any
    operator: str = "or"
    minimum_should_match: str | None = None
    fuzziness: str | None = None
    prefix_length: int = 0
    max_expansions: int = 50
    fuzzy_transpositions: bool = True
    analyzer: str | None = None
    zero_terms_query: str = "none"
    lenient: bool = False
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class MatchPhraseQuery(_FieldLevelQuery):
    query_type: ClassVar[str] = "match_phrase"
    field: str
    query: Any
    slop: int = 0
    analyzer: str | None = None
    zero_terms_query: str = "none"
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class MatchPhrasePrefixQuery(_FieldLevelQuery):
    query_type: ClassVar[str] = "match_phrase_prefix"
    field: str
    query: Any
    slop: int = 0
    max_expansions: int = 50
    analyzer: str | None = None
    zero_terms_query: str = "none"
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class MatchBoolPrefixQuery(_FieldLevelQuery):
    """Terms as a bool query; the last one is a prefix (search-as-you-type)."""

    query_type: ClassVar[str] = "match_bool_prefix"
    field: str
    query: Any
    operator: str = "or"
    minimum_should_match: str | None = None
    fuzziness: str | None = None
    prefix_length: int = 0
    max_expansions: int = 50
    fuzzy_transpositions: bool = True
    analyzer: str | None = None
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class MultiMatchQuery(QueryNode):
    query_type: ClassVar[str] = "multi_match"
    query: Any
    fields: tuple[str, ...] = ()          # may hold "title^3" and "name.*"; () = default fields
    type: str = "best_fields"
    operator: str = "or"
    minimum_should_match: str | None = None
    tie_breaker: float | None = None
    fuzziness: str | None = None
    prefix_length: int = 0
    max_expansions: int = 50
    analyzer: str | None = None
    slop: int = 0
    zero_terms_query: str = "none"
    lenient: bool = False
    boost: float = 1.0

    def to_json(self) -> dict:
        return {"multi_match": _non_default_parameters(self, skip=())}


@dataclass(frozen=True, slots=True)
class TermQuery(_FieldLevelQuery):
    query_type: ClassVar[str] = "term"
    field: str
    value: Any
    case_insensitive: bool = False
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class TermsQuery(QueryNode):
    query_type: ClassVar[str] = "terms"
    field: str
    values: tuple[Any, ...]
    boost: float = 1.0

    def to_json(self) -> dict:
        body: dict[str, Any] = {self.field: list(self.values)}
        if self.boost != 1.0:
            body["boost"] = self.boost
        return {"terms": body}


@dataclass(frozen=True, slots=True)
class RangeQuery(_FieldLevelQuery):
    """A range; ``from/to/include_*`` are normalised into gt/gte/lt/lte at parse time."""

    query_type: ClassVar[str] = "range"
    field: str
    gt: Any = None
    gte: Any = None
    lt: Any = None
    lte: Any = None
    format: str | None = None
    time_zone: str | None = None
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class BoolQuery(QueryNode):
    query_type: ClassVar[str] = "bool"
    must: tuple[QueryNode, ...] = ()
    should: tuple[QueryNode, ...] = ()
    filter: tuple[QueryNode, ...] = ()
    must_not: tuple[QueryNode, ...] = ()
    minimum_should_match: str | None = None
    boost: float = 1.0

    def children(self) -> tuple[QueryNode, ...]:
        return self.must + self.should + self.filter + self.must_not

    def to_json(self) -> dict:
        body: dict[str, Any] = {}
        for occur in ("must", "should", "filter", "must_not"):
            clauses = getattr(self, occur)
            if clauses:
                body[occur] = [clause.to_json() for clause in clauses]
        if self.minimum_should_match is not None:
            body["minimum_should_match"] = self.minimum_should_match
        if self.boost != 1.0:
            body["boost"] = self.boost
        return {"bool": body}


@dataclass(frozen=True, slots=True)
class IdsQuery(QueryNode):
    query_type: ClassVar[str] = "ids"
    values: tuple[str, ...]
    boost: float = 1.0

    def to_json(self) -> dict:
        return {"ids": _non_default_parameters(self, skip=())}


@dataclass(frozen=True, slots=True)
class ExistsQuery(QueryNode):
    query_type: ClassVar[str] = "exists"
    field: str
    boost: float = 1.0

    def to_json(self) -> dict:
        return {"exists": _non_default_parameters(self, skip=())}


@dataclass(frozen=True, slots=True)
class PrefixQuery(_FieldLevelQuery):
    query_type: ClassVar[str] = "prefix"
    field: str
    value: str
    case_insensitive: bool = False
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class WildcardQuery(_FieldLevelQuery):
    query_type: ClassVar[str] = "wildcard"
    field: str
    value: str
    case_insensitive: bool = False
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class RegexpQuery(_FieldLevelQuery):
    query_type: ClassVar[str] = "regexp"
    field: str
    value: str
    flags: str = "ALL"
    case_insensitive: bool = False
    max_determinized_states: int = 10000
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class FuzzyQuery(_FieldLevelQuery):
    query_type: ClassVar[str] = "fuzzy"
    field: str
    value: Any
    fuzziness: str = "AUTO"
    prefix_length: int = 0
    max_expansions: int = 50
    transpositions: bool = True
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class QueryStringQuery(QueryNode):
    query_type: ClassVar[str] = "query_string"
    query: str
    default_field: str | None = None
    fields: tuple[str, ...] = ()
    default_operator: str = "or"
    analyzer: str | None = None
    analyze_wildcard: bool = False
    allow_leading_wildcard: bool = True
    lenient: bool = False
    minimum_should_match: str | None = None
    fuzziness: str = "AUTO"
    phrase_slop: int = 0
    tie_breaker: float | None = None
    time_zone: str | None = None
    boost: float = 1.0

    def to_json(self) -> dict:
        return {"query_string": _non_default_parameters(self, skip=())}


@dataclass(frozen=True, slots=True)
class SimpleQueryStringQuery(QueryNode):
    query_type: ClassVar[str] = "simple_query_string"
    query: str
    fields: tuple[str, ...] = ()
    default_operator: str = "or"
    analyzer: str | None = None
    flags: str = "ALL"
    lenient: bool = False
    minimum_should_match: str | None = None
    analyze_wildcard: bool = False
    boost: float = 1.0

    def to_json(self) -> dict:
        return {"simple_query_string": _non_default_parameters(self, skip=())}


@dataclass(frozen=True, slots=True)
class ConstantScoreQuery(QueryNode):
    query_type: ClassVar[str] = "constant_score"
    filter: QueryNode
    boost: float = 1.0

    def children(self) -> tuple[QueryNode, ...]:
        return (self.filter,)

    def to_json(self) -> dict:
        body: dict[str, Any] = {"filter": self.filter.to_json()}
        if self.boost != 1.0:
            body["boost"] = self.boost
        return {"constant_score": body}


@dataclass(frozen=True, slots=True)
class BoostingQuery(QueryNode):
    query_type: ClassVar[str] = "boosting"
    positive: QueryNode
    negative: QueryNode
    negative_boost: float
    boost: float = 1.0

    def children(self) -> tuple[QueryNode, ...]:
        return (self.positive, self.negative)

    def to_json(self) -> dict:
        body: dict[str, Any] = {
            "positive": self.positive.to_json(),
            "negative": self.negative.to_json(),
            "negative_boost": self.negative_boost,
        }
        if self.boost != 1.0:
            body["boost"] = self.boost
        return {"boosting": body}


@dataclass(frozen=True, slots=True)
class DisMaxQuery(QueryNode):
    query_type: ClassVar[str] = "dis_max"
    queries: tuple[QueryNode, ...]
    tie_breaker: float = 0.0
    boost: float = 1.0

    def children(self) -> tuple[QueryNode, ...]:
        return self.queries

    def to_json(self) -> dict:
        body: dict[str, Any] = {"queries": [query.to_json() for query in self.queries]}
        if self.tie_breaker != 0.0:
            body["tie_breaker"] = self.tie_breaker
        if self.boost != 1.0:
            body["boost"] = self.boost
        return {"dis_max": body}


# -- function_score ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldValueFactorFunction:
    function_type: ClassVar[str] = "field_value_factor"
    field: str
    factor: float = 1.0
    modifier: str = "none"
    missing: float | None = None

    def to_json(self) -> dict:
        return _non_default_parameters(self, skip=())


@dataclass(frozen=True, slots=True)
class DecayFunction:
    """gauss / exp / linear decay; origin/scale/offset stay as written (numbers or dates)."""

    function_type: str       # "gauss" | "exp" | "linear"
    field: str
    origin: Any
    scale: Any
    offset: Any = None
    decay: float = 0.5
    multi_value_mode: str = "min"

    def to_json(self) -> dict:
        placement: dict[str, Any] = {"origin": self.origin, "scale": self.scale, "decay": self.decay}
        if self.origin is None:
            del placement["origin"]
        if self.offset is not None:
            placement["offset"] = self.offset
        body: dict[str, Any] = {self.field: placement}
        if self.multi_value_mode != "min":
            body["multi_value_mode"] = self.multi_value_mode
        return body


@dataclass(frozen=True, slots=True)
class RandomScoreFunction:
    function_type: ClassVar[str] = "random_score"
    seed: int | None = None
    field: str | None = None

    def to_json(self) -> dict:
        return _non_default_parameters(self, skip=())


@dataclass(frozen=True, slots=True)
class ScoreFunctionSpec:
    """One entry of function_score's ``functions``: an optional filter, a function, a weight."""

    function: FieldValueFactorFunction | DecayFunction | RandomScoreFunction | None
    filter: QueryNode | None = None
    weight: float | None = None

    def to_json(self) -> dict:
        body: dict[str, Any] = {}
        if self.filter is not None:
            body["filter"] = self.filter.to_json()
        if self.function is not None:
            body[self.function.function_type] = self.function.to_json()
        if self.weight is not None:
            body["weight"] = self.weight
        return body


@dataclass(frozen=True, slots=True)
class FunctionScoreQuery(QueryNode):
    query_type: ClassVar[str] = "function_score"
    query: QueryNode = field(default_factory=MatchAllQuery)
    functions: tuple[ScoreFunctionSpec, ...] = ()
    score_mode: str = "multiply"
    boost_mode: str = "multiply"
    max_boost: float | None = None
    min_score: float | None = None
    boost: float = 1.0

    def children(self) -> tuple[QueryNode, ...]:
        return (self.query,) + tuple(spec.filter for spec in self.functions if spec.filter is not None)

    def to_json(self) -> dict:
        body: dict[str, Any] = {
            "query": self.query.to_json(),
            "functions": [spec.to_json() for spec in self.functions],
        }
        for name in ("score_mode", "boost_mode"):
            if getattr(self, name) != "multiply":
                body[name] = getattr(self, name)
        for name in ("max_boost", "min_score"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        if self.boost != 1.0:
            body["boost"] = self.boost
        return {"function_score": body}


BUILTIN_QUERY_NODE_TYPES: tuple[type, ...] = (
    MatchAllQuery, MatchNoneQuery, MatchQuery, MatchPhraseQuery, MatchPhrasePrefixQuery,
    MatchBoolPrefixQuery, MultiMatchQuery, TermQuery, TermsQuery, RangeQuery, BoolQuery, IdsQuery, ExistsQuery,
    PrefixQuery, WildcardQuery, RegexpQuery, FuzzyQuery, QueryStringQuery,
    SimpleQueryStringQuery, ConstantScoreQuery, BoostingQuery, DisMaxQuery, FunctionScoreQuery,
)
