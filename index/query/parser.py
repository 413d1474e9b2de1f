"""Query DSL → query nodes: ``parse_query``, ``QueryRegistry``, ``QueryLimits``.

This module owns the translation of OpenSearch query JSON into the frozen nodes of
``index.query.nodes``, with OpenSearch's error texts for unknown queries and malformed bodies,
and the parse-time limits (clause count, nesting depth). ``QueryRegistry.register`` is the
extension point through which node/ plugs in queries such as ``wasm_udf``.

It must never read segments or mappings: parsing happens once, at the coordinating node,
before any shard is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from index.errors import LimitExceededError, QueryParsingError, QueryShardError
from index.query import nodes
from index.query.parameters import normalise_fuzziness, split_field_boost, validate_minimum_should_match


class TooManyClausesError(LimitExceededError):
    """More clauses than ``max_clause_count`` (OpenSearch's ``too_many_clauses``)."""

    opensearch_type = "too_many_clauses"


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """Parse-time limits. ``max_depth`` mirrors ``indices.query.bool.max_nested_depth``."""

    max_clause_count: int = 1024
    max_depth: int = 20
    max_terms_count: int = 65536


ParseFunction = Callable[[Any, "QueryParseContext"], nodes.QueryNode]


class QueryRegistry:
    """Query name → parse function. Copy the default registry before registering extensions."""

    def __init__(self, parse_functions: dict[str, ParseFunction] | None = None) -> None:
        self._parse_functions: dict[str, ParseFunction] = dict(parse_functions or {})

    def register(self, name: str, parse_function: ParseFunction) -> None:
        self._parse_functions[name] = parse_function

    def get(self, name: str) -> ParseFunction | None:
        return self._parse_functions.get(name)

    def names(self) -> list[str]:
        return sorted(self._parse_functions)

    def copy(self) -> "QueryRegistry":
        return QueryRegistry(self._parse_functions)


class QueryParseContext:
    """State of one parse: the registry, the limits, the current depth and the clause count."""

    def __init__(self, registry: QueryRegistry, limits: QueryLimits) -> None:
        self.registry = registry
        self.limits = limits
        self.depth = 0
        self.clause_count = 0

    def parse_inner(self, query_json: Any) -> nodes.QueryNode:
        if not isinstance(query_json, dict):
            raise QueryParsingError(
                f"[_na] query malformed, must start with start_object, got [{type(query_json).__name__}]"
            )
        if not query_json:
            raise QueryParsingError("query malformed, empty clause found")
        keys = list(query_json)
        if len(keys) > 1:
            raise QueryParsingError(
                f"[{keys[0]}] malformed query, expected [END_OBJECT] but found [FIELD_NAME] [{keys[1]}]"
            )
        query_name = keys[0]
        parse_function = self.registry.get(query_name)
        if parse_function is None:
            raise QueryParsingError(f"unknown query [{query_name}]", query_name=query_name)
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise LimitExceededError(
                f"the nested depth of the query exceeds the maximum nested depth for queries set in "
                f"[indices.query.bool.max_nested_depth] ({self.limits.max_depth})",
                limit="max_depth",
            )
        body, name = _take_query_name(query_json[query_name])
        try:
            parsed = parse_function(body, self)
        finally:
            self.depth -= 1
        return parsed if name is None else nodes.NamedQuery(parsed, name)

    def add_clauses(self, count: int) -> None:
        self.clause_count += count
        if self.clause_count > self.limits.max_clause_count:
            raise TooManyClausesError(
                f"maxClauseCount is set to {self.limits.max_clause_count}", limit="max_clause_count"
            )


def _take_query_name(body: Any) -> tuple[Any, str | None]:
    """(body without ``_name``, the name or None). OpenSearch takes ``_name`` beside the query's
    parameters: at the top of the body (``{"bool": {..., "_name": n}}``, ``{"terms": {f: [...],
    "_name": n}}``) or inside the one field object of a field-level query (``{"match": {f:
    {"query": q, "_name": n}}}``). Parse functions never see it."""
    if not isinstance(body, dict):
        return body, None
    if "_name" in body:
        name = body["_name"]
        if not isinstance(name, str):
            raise QueryParsingError(f"[_name] must be a string, got [{name}]")
        return {key: value for key, value in body.items() if key != "_name"}, name
    field_keys = [key for key in body if key not in ("boost", "_name")]
    if len(field_keys) == 1 and isinstance(body[field_keys[0]], dict) and "_name" in body[field_keys[0]]:
        field_body = body[field_keys[0]]
        name = field_body["_name"]
        if not isinstance(name, str):
            raise QueryParsingError(f"[_name] must be a string, got [{name}]")
        return {**body, field_keys[0]: {key: value for key, value in field_body.items() if key != "_name"}}, name
    return body, None


def parse_query(query_json: dict | None, registry: QueryRegistry | None = None,
                limits: QueryLimits = QueryLimits()) -> nodes.QueryNode:
    """Parse OpenSearch query DSL; ``None`` means match_all. QueryParsingError names the key."""
    if query_json is None:
        return nodes.MatchAllQuery()
    context = QueryParseContext(registry or DEFAULT_QUERY_REGISTRY, limits)
    return context.parse_inner(query_json)


# -- typed parameter readers -----------------------------------------------------------------------


def read_float(query_name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise QueryParsingError(f"[{query_name}] failed to parse [{key}], expected a number, got [{value}]")
    try:
        return float(value)
    except ValueError:
        raise QueryParsingError(
            f"[{query_name}] failed to parse [{key}], expected a number, got [{value}]"
        ) from None


def read_int(query_name: str, key: str, value: Any) -> int:
    if isinstance(value, bool):
        raise QueryParsingError(f"[{query_name}] failed to parse [{key}], expected an integer, got [{value}]")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise QueryParsingError(
            f"[{query_name}] failed to parse [{key}], expected an integer, got [{value}]"
        ) from None


def read_bool(query_name: str, key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise QueryParsingError(f"[{query_name}] failed to parse [{key}], expected true or false, got [{value}]")


def read_operator(query_name: str, key: str, value: Any) -> str:
    text = str(value).lower()
    if text not in ("and", "or"):
        raise QueryParsingError(f"[{query_name}] failed to parse [{key}], expected [and] or [or], got [{value}]")
    return text


def read_zero_terms_query(query_name: str, value: Any) -> str:
    text = str(value).lower()
    if text not in ("none", "all"):
        raise QueryParsingError(
            f"[{query_name}] unsupported zero_terms_query value [{value}], expected [none] or [all]"
        )
    return text


def read_minimum_should_match(query_name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise QueryParsingError(
            f"[{query_name}] failed to parse [minimum_should_match], expected an integer or a string, got [{value}]"
        )
    return validate_minimum_should_match(str(value), query_name)


def _require_object(query_name: str, body: Any) -> dict:
    if not isinstance(body, dict):
        raise QueryParsingError(f"[{query_name}] query malformed, expected an object, got [{body}]")
    return body


def _single_field(query_name: str, body: Any, extra_keys: tuple[str, ...] = ()) -> tuple[str, Any, dict]:
    """Split ``{field: value, extra...}`` into (field, value, extras); more fields is an error."""
    body = _require_object(query_name, body)
    field_name: str | None = None
    field_value: Any = None
    extras: dict[str, Any] = {}
    for key, value in body.items():
        if key in extra_keys or key == "_name":
            extras[key] = value
            continue
        if field_name is not None:
            raise QueryParsingError(
                f"[{query_name}] query doesn't support multiple fields, found [{field_name}] and [{key}]"
            )
        field_name, field_value = key, value
    if field_name is None:
        raise QueryParsingError(f"[{query_name}] query malformed, no field specified")
    return field_name, field_value, extras


def _unsupported(query_name: str, key: str) -> QueryParsingError:
    return QueryParsingError(f"[{query_name}] query does not support [{key}]", key=key)


# Parameters OpenSearch accepts that change nothing here (rewrite methods, synonyms, names).
_IGNORED_PARAMETERS = frozenset({
    "_name", "rewrite", "fuzzy_rewrite", "auto_generate_synonyms_phrase_query", "cutoff_frequency",
    "adjust_pure_negative", "quote_analyzer", "quote_field_suffix", "auto_generate_phrase_queries",
    "escape", "enable_position_increments", "fuzzy_max_expansions", "fuzzy_prefix_length",
    "fuzzy_transpositions_unused", "time_zone_unused", "flags_value", "type_unused",
})


# -- leaf queries ----------------------------------------------------------------------------------


def _parse_match_all(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    body = _require_object("match_all", body)
    boost = 1.0
    for key, value in body.items():
        if key == "boost":
            boost = read_float("match_all", key, value)
        elif key not in _IGNORED_PARAMETERS:
            raise _unsupported("match_all", key)
    context.add_clauses(1)
    return nodes.MatchAllQuery(boost=boost)


def _parse_match_none(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    body = _require_object("match_none", body)
    boost = 1.0
    for key, value in body.items():
        if key == "boost":
            boost = read_float("match_none", key, value)
        elif key not in _IGNORED_PARAMETERS:
            raise _unsupported("match_none", key)
    context.add_clauses(1)
    return nodes.MatchNoneQuery(boost=boost)


def _match_family_parameters(query_name: str, field_value: Any, allowed: dict[str, Callable]) -> dict:
    if not isinstance(field_value, dict):
        return {"query": field_value}
    parameters: dict[str, Any] = {}
    for key, value in field_value.items():
        if key in allowed:
            parameters[key] = allowed[key](query_name, key, value)
        elif key not in _IGNORED_PARAMETERS:
            raise _unsupported(query_name, key)
    if "query" not in parameters:
        raise QueryParsingError(f"[{query_name}] requires query value")
    return parameters


def _identity(query_name: str, key: str, value: Any) -> Any:
    return value


def _read_query_value(query_name: str, key: str, value: Any) -> Any:
    if isinstance(value, (dict, list)) or value is None:
        raise QueryParsingError(f"[{query_name}] unknown token [{type(value).__name__}] after [{key}]")
    return value


def _read_string(query_name: str, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise QueryParsingError(f"[{query_name}] failed to parse [{key}], expected a string, got [{value}]")
    return value


_MATCH_PARAMETERS: dict[str, Callable] = {
    "query": _read_query_value,
    "operator": read_operator,
    "minimum_should_match": lambda name, key, value: read_minimum_should_match(name, value),
    "fuzziness": lambda name, key, value: normalise_fuzziness(value, name),
    "prefix_length": read_int,
    "max_expansions": read_int,
    "fuzzy_transpositions": read_bool,
    "analyzer": _read_string,
    "zero_terms_query": lambda name, key, value: read_zero_terms_query(name, value),
    "lenient": read_bool,
    "boost": read_float,
}


def _parse_match(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    field_name, field_value, _ = _single_field("match", body)
    parameters = _match_family_parameters("match", field_value, _MATCH_PARAMETERS)
    parameters["query"] = _read_query_value("match", "query", parameters["query"])
    context.add_clauses(1)
    return nodes.MatchQuery(field=field_name, **parameters)


_PHRASE_PARAMETERS: dict[str, Callable] = {
    "query": _read_query_value,
    "slop": read_int,
    "analyzer": _read_string,
    "zero_terms_query": lambda name, key, value: read_zero_terms_query(name, value),
    "boost": read_float,
}


def _parse_match_phrase(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    field_name, field_value, _ = _single_field("match_phrase", body)
    parameters = _match_family_parameters("match_phrase", field_value, _PHRASE_PARAMETERS)
    parameters["query"] = _read_query_value("match_phrase", "query", parameters["query"])
    context.add_clauses(1)
    return nodes.MatchPhraseQuery(field=field_name, **parameters)


def _parse_match_phrase_prefix(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    field_name, field_value, _ = _single_field("match_phrase_prefix", body)
    allowed = dict(_PHRASE_PARAMETERS, max_expansions=read_int)
    parameters = _match_family_parameters("match_phrase_prefix", field_value, allowed)
    parameters["query"] = _read_query_value("match_phrase_prefix", "query", parameters["query"])
    context.add_clauses(1)
    return nodes.MatchPhrasePrefixQuery(field=field_name, **parameters)


def _parse_match_bool_prefix(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    field_name, field_value, _ = _single_field("match_bool_prefix", body)
    allowed = {key: reader for key, reader in _MATCH_PARAMETERS.items()
               if key not in ("zero_terms_query", "lenient")}
    parameters = _match_family_parameters("match_bool_prefix", field_value, allowed)
    parameters["query"] = _read_query_value("match_bool_prefix", "query", parameters["query"])
    context.add_clauses(1)
    return nodes.MatchBoolPrefixQuery(field=field_name, **parameters)


_MULTI_MATCH_TYPES = ("best_fields", "most_fields", "cross_fields", "phrase", "phrase_prefix", "bool_prefix")


def _parse_multi_match(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    body = _require_object("multi_match", body)
    allowed = dict(_MATCH_PARAMETERS, tie_breaker=read_float, slop=read_int)
    parameters: dict[str, Any] = {}
    for key, value in body.items():
        if key == "fields":
            field_list = [value] if isinstance(value, str) else value
            if not isinstance(field_list, list) or not all(isinstance(item, str) for item in field_list):
                raise QueryParsingError(f"[multi_match] failed to parse [fields], expected strings, got [{value}]")
            for field_specification in field_list:
                split_field_boost(field_specification)
            parameters["fields"] = tuple(field_list)
        elif key == "type":
            type_name = str(value).lower()
            if type_name not in _MULTI_MATCH_TYPES:
                raise QueryParsingError(f"[multi_match] query does not allow type [{value}]")
            parameters["type"] = type_name
        elif key in allowed:
            parameters[key] = allowed[key]("multi_match", key, value)
        elif key not in _IGNORED_PARAMETERS:
            raise _unsupported("multi_match", key)
    if "query" not in parameters:
        raise QueryParsingError("[multi_match] requires query value")
    context.add_clauses(1)
    return nodes.MultiMatchQuery(**parameters)


def _read_term_value(query_name: str, key: str, value: Any) -> Any:
    if isinstance(value, (dict, list)) or value is None:
        raise QueryParsingError(f"[{query_name}] query does not support array or object values for [{key}]")
    return value


def _parse_term(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    field_name, field_value, _ = _single_field("term", body)
    context.add_clauses(1)
    if not isinstance(field_value, dict):
        if isinstance(field_value, list):
            raise QueryParsingError("[term] query does not support array of values")
        return nodes.TermQuery(field=field_name, value=_read_term_value("term", field_name, field_value))
    parameters: dict[str, Any] = {}
    for key, value in field_value.items():
        if key in ("value", "term"):
            parameters["value"] = _read_term_value("term", key, value)
        elif key == "boost":
            parameters["boost"] = read_float("term", key, value)
        elif key == "case_insensitive":
            parameters["case_insensitive"] = read_bool("term", key, value)
        elif key not in _IGNORED_PARAMETERS:
            raise _unsupported("term", key)
    if "value" not in parameters:
        raise QueryParsingError("[term] query requires a value")
    return nodes.TermQuery(field=field_name, **parameters)


def _parse_terms(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    field_name, field_value, extras = _single_field("terms", body, extra_keys=("boost",))
    if isinstance(field_value, dict):
        raise QueryParsingError("[terms] query lookup (index/id/path) is not supported")
    if not isinstance(field_value, list):
        raise QueryParsingError(f"[terms] query requires an array of values for field [{field_name}]")
    if len(field_value) > context.limits.max_terms_count:
        raise LimitExceededError(
            f"the number of terms [{len(field_value)}] used in the terms query exceeds the allowed maximum "
            f"of [{context.limits.max_terms_count}]",
            limit="max_terms_count",
        )
    values = tuple(_read_term_value("terms", field_name, value) for value in field_value)
    boost = read_float("terms", "boost", extras["boost"]) if "boost" in extras else 1.0
    context.add_clauses(1)
    return nodes.TermsQuery(field=field_name, values=values, boost=boost)


def _parse_range(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    field_name, field_value, _ = _single_field("range", body)
    field_value = _require_object("range", field_value)
    lower: Any = None
    upper: Any = None
    include_lower = True
    include_upper = True
    other: dict[str, Any] = {}
    for key, value in field_value.items():
        if key == "from":
            lower = value
        elif key == "to":
            upper = value
        elif key == "include_lower":
            include_lower = read_bool("range", key, value)
        elif key == "include_upper":
            include_upper = read_bool("range", key, value)
        elif key == "gt":
            lower, include_lower = value, False
        elif key == "gte":
            lower, include_lower = value, True
        elif key == "lt":
            upper, include_upper = value, False
        elif key == "lte":
            upper, include_upper = value, True
        elif key in ("format", "time_zone"):
            other[key] = _read_string("range", key, value)
        elif key == "boost":
            other["boost"] = read_float("range", key, value)
        elif key == "relation":
            if str(value).lower() not in ("intersects", "contains", "within"):
                raise QueryParsingError(f"[range] query does not support relation [{value}]")
        elif key not in _IGNORED_PARAMETERS:
            raise QueryParsingError(f"[range] query does not support [{key}]", key=key)
    for bound in (lower, upper):
        if isinstance(bound, (dict, list)):
            raise QueryParsingError(f"[range] query does not support object or array bounds, got [{bound}]")
    bounds: dict[str, Any] = {}
    if lower is not None:
        bounds["gte" if include_lower else "gt"] = lower
    if upper is not None:
        bounds["lte" if include_upper else "lt"] = upper
    context.add_clauses(1)
    return nodes.RangeQuery(field=field_name, **bounds, **other)


def _parse_ids(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    body = _require_object("ids", body)
    values: tuple[str, ...] = ()
    boost = 1.0
    for key, value in body.items():
        if key == "values":
            if not isinstance(value, list):
                raise QueryParsingError(f"[ids] failed to parse [values], expected an array, got [{value}]")
            values = tuple(str(item) for item in value)
        elif key == "boost":
            boost = read_float("ids", key, value)
        elif key not in _IGNORED_PARAMETERS and key != "type":
            raise _unsupported("ids", key)
    context.add_clauses(1)
    return nodes.IdsQuery(values=values, boost=boost)


def _parse_exists(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    body = _require_object("exists", body)
    field_name: str | None = None
    boost = 1.0
    for key, value in body.items():
        if key == "field":
            field_name = _read_string("exists", key, value)
        elif key == "boost":
            boost = read_float("exists", key, value)
        elif key not in _IGNORED_PARAMETERS:
            raise _unsupported("exists", key)
    if not field_name:
        raise QueryParsingError("[exists] must be provided with a [field]")
    context.add_clauses(1)
    return nodes.ExistsQuery(field=field_name, boost=boost)


def _multi_term_parser(query_name: str, node_type: type, value_keys: tuple[str, ...],
                       extra: dict[str, Callable]) -> ParseFunction:
    def parse(body: Any, context: QueryParseContext) -> nodes.QueryNode:
        field_name, field_value, _ = _single_field(query_name, body)
        context.add_clauses(1)
        if not isinstance(field_value, dict):
            return node_type(field=field_name, value=_read_term_value(query_name, field_name, field_value))
        parameters: dict[str, Any] = {}
        for key, value in field_value.items():
            if key in value_keys:
                parameters["value"] = _read_term_value(query_name, key, value)
            elif key in extra:
                parameters[key] = extra[key](query_name, key, value)
            elif key not in _IGNORED_PARAMETERS:
                raise _unsupported(query_name, key)
        if "value" not in parameters:
            raise QueryParsingError(f"[{query_name}] query requires a value for field [{field_name}]")
        if query_name != "fuzzy":
            parameters["value"] = str(parameters["value"])
        return node_type(field=field_name, **parameters)

    return parse


_COMMON_MULTI_TERM = {"boost": read_float, "case_insensitive": read_bool}


def _read_regexp_flags(query_name: str, key: str, value: Any) -> str:
    allowed = {"ALL", "ANYSTRING", "COMPLEMENT", "EMPTY", "INTERSECTION", "INTERVAL", "NONE"}
    flags = [flag.strip().upper() for flag in str(value).split("|") if flag.strip()]
    for flag in flags:
        if flag not in allowed:
            raise QueryParsingError(f"[regexp] unknown regexp flag [{flag}]")
    return "|".join(flags) or "NONE"


# -- compound queries ------------------------------------------------------------------------------


def _clause_list(context: QueryParseContext, query_name: str, key: str, value: Any) -> tuple[nodes.QueryNode, ...]:
    items = value if isinstance(value, list) else [value]
    parsed: list[nodes.QueryNode] = []
    for item in items:
        if not isinstance(item, dict):
            raise QueryParsingError(f"[{query_name}] failed to parse [{key}], expected a query object, got [{item}]")
        parsed.append(context.parse_inner(item))
    return tuple(parsed)


def _parse_bool(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    body = _require_object("bool", body)
    occurs: dict[str, tuple[nodes.QueryNode, ...]] = {}
    minimum_should_match: str | None = None
    boost = 1.0
    for key, value in body.items():
        if key in ("must", "should", "filter", "must_not", "mustNot"):
            occur = "must_not" if key == "mustNot" else key
            occurs[occur] = occurs.get(occur, ()) + _clause_list(context, "bool", key, value)
        elif key == "minimum_should_match":
            minimum_should_match = read_minimum_should_match("bool", value)
        elif key == "boost":
            boost = read_float("bool", key, value)
        elif key not in _IGNORED_PARAMETERS:
            raise _unsupported("bool", key)
    return nodes.BoolQuery(minimum_should_match=minimum_should_match, boost=boost, **occurs)


def _parse_constant_score(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    body = _require_object("constant_score", body)
    inner: nodes.QueryNode | None = None
    boost = 1.0
    for key, value in body.items():
        if key == "filter":
            inner = context.parse_inner(value)
        elif key == "boost":
            boost = read_float("constant_score", key, value)
        elif key not in _IGNORED_PARAMETERS:
            raise _unsupported("constant_score", key)
    if inner is None:
        raise QueryParsingError("[constant_score] requires a 'filter' element")
    return nodes.ConstantScoreQuery(filter=inner, boost=boost)


def _parse_boosting(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    body = _require_object("boosting", body)
    parameters: dict[str, Any] = {}
    for key, value in body.items():
        if key in ("positive", "negative"):
            parameters[key] = context.parse_inner(value)
        elif key in ("negative_boost", "boost"):
            parameters[key] = read_float("boosting", key, value)
        elif key not in _IGNORED_PARAMETERS:
            raise _unsupported("boosting", key)
    for required in ("positive", "negative"):
        if required not in parameters:
            raise QueryParsingError(f"[boosting] query requires '{required}' query to be set")
    if parameters.get("negative_boost", -1.0) < 0:
        raise QueryParsingError("[boosting] query requires 'negative_boost' to be set to be a positive value")
    return nodes.BoostingQuery(**parameters)


def _parse_dis_max(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    body = _require_object("dis_max", body)
    parameters: dict[str, Any] = {}
    for key, value in body.items():
        if key == "queries":
            parameters["queries"] = _clause_list(context, "dis_max", key, value)
        elif key in ("tie_breaker", "boost"):
            parameters[key] = read_float("dis_max", key, value)
        elif key not in _IGNORED_PARAMETERS:
            raise _unsupported("dis_max", key)
    if not parameters.get("queries"):
        raise QueryParsingError("[dis_max] requires 'queries' field with at least one clause")
    return nodes.DisMaxQuery(**parameters)


_QUERY_STRING_PARAMETERS: dict[str, Callable] = {
    "query": _read_string,
    "default_field": _read_string,
    "default_operator": read_operator,
    "analyzer": _read_string,
    "analyze_wildcard": read_bool,
    "allow_leading_wildcard": read_bool,
    "lenient": read_bool,
    "minimum_should_match": lambda name, key, value: read_minimum_should_match(name, value),
    "fuzziness": lambda name, key, value: normalise_fuzziness(value, name),
    "phrase_slop": read_int,
    "tie_breaker": read_float,
    "time_zone": _read_string,
    "boost": read_float,
}


def _read_fields(query_name: str, value: Any) -> tuple[str, ...]:
    field_list = [value] if isinstance(value, str) else value
    if not isinstance(field_list, list) or not all(isinstance(item, str) for item in field_list):
        raise QueryParsingError(f"[{query_name}] failed to parse [fields], expected an array of strings, got [{value}]")
    for field_specification in field_list:
        split_field_boost(field_specification)
    return tuple(field_list)


def _parse_query_string(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    from index.query.query_string import parse_query_string_syntax

    body = _require_object("query_string", body)
    parameters: dict[str, Any] = {}
    for key, value in body.items():
        if key == "fields":
            parameters["fields"] = _read_fields("query_string", value)
        elif key in _QUERY_STRING_PARAMETERS:
            parameters[key] = _QUERY_STRING_PARAMETERS[key]("query_string", key, value)
        elif key in ("type", "max_determinized_states", "fuzzy_transpositions", "fuzzy_max_expansions",
                     "fuzzy_prefix_length", "auto_generate_synonyms_phrase_query", "split_on_whitespace"):
            continue
        elif key not in _IGNORED_PARAMETERS:
            raise _unsupported("query_string", key)
    if "query" not in parameters:
        raise QueryParsingError("[query_string] must be provided with a [query]")
    # Syntax errors surface now, at the coordinator, rather than once per shard.
    try:
        parse_query_string_syntax(parameters["query"], simple=False)
    except QueryShardError:
        raise
    context.add_clauses(1)
    return nodes.QueryStringQuery(**parameters)


def _parse_simple_query_string(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    body = _require_object("simple_query_string", body)
    parameters: dict[str, Any] = {}
    allowed = {
        "query": _read_string, "default_operator": read_operator, "analyzer": _read_string,
        "lenient": read_bool, "analyze_wildcard": read_bool, "boost": read_float,
        "minimum_should_match": lambda name, key, value: read_minimum_should_match(name, value),
        "flags": lambda name, key, value: str(value),
    }
    for key, value in body.items():
        if key == "fields":
            parameters["fields"] = _read_fields("simple_query_string", value)
        elif key in allowed:
            parameters[key] = allowed[key]("simple_query_string", key, value)
        elif key in ("auto_generate_synonyms_phrase_query", "fuzzy_max_expansions", "fuzzy_prefix_length",
                     "fuzzy_transpositions", "quote_field_suffix"):
            continue
        elif key not in _IGNORED_PARAMETERS:
            raise _unsupported("simple_query_string", key)
    if "query" not in parameters:
        raise QueryParsingError("[simple_query_string] requires a [query]")
    context.add_clauses(1)
    return nodes.SimpleQueryStringQuery(**parameters)


# -- function_score --------------------------------------------------------------------------------

_SCORE_MODES = ("multiply", "sum", "avg", "first", "max", "min")
_BOOST_MODES = ("multiply", "replace", "sum", "avg", "max", "min")
_FIELD_VALUE_MODIFIERS = ("none", "log", "log1p", "log2p", "ln", "ln1p", "ln2p", "square", "sqrt", "reciprocal")
_DECAY_TYPES = ("gauss", "exp", "linear")
_MULTI_VALUE_MODES = ("min", "max", "avg", "sum")


def _parse_score_function(function_name: str, value: Any) -> Any:
    value = _require_object(function_name, value)
    if function_name == "field_value_factor":
        parameters: dict[str, Any] = {}
        for key, item in value.items():
            if key == "field":
                parameters["field"] = _read_string(function_name, key, item)
            elif key in ("factor", "missing"):
                parameters[key] = read_float(function_name, key, item)
            elif key == "modifier":
                modifier = str(item).lower()
                if modifier not in _FIELD_VALUE_MODIFIERS:
                    raise QueryParsingError(f"[field_value_factor] unknown modifier [{item}]")
                parameters["modifier"] = modifier
            else:
                raise _unsupported(function_name, key)
        if "field" not in parameters:
            raise QueryParsingError("[field_value_factor] required field 'field' missing")
        return nodes.FieldValueFactorFunction(**parameters)
    if function_name == "random_score":
        parameters = {}
        for key, item in value.items():
            if key == "seed":
                parameters["seed"] = read_int(function_name, key, item)
            elif key == "field":
                parameters["field"] = _read_string(function_name, key, item)
            else:
                raise _unsupported(function_name, key)
        return nodes.RandomScoreFunction(**parameters)
    # decay functions
    field_name: str | None = None
    placement: dict[str, Any] = {}
    multi_value_mode = "min"
    for key, item in value.items():
        if key == "multi_value_mode":
            multi_value_mode = str(item).lower()
            if multi_value_mode not in _MULTI_VALUE_MODES:
                raise QueryParsingError(f"[{function_name}] illegal multi_value_mode [{item}]")
        elif isinstance(item, dict):
            if field_name is not None:
                raise QueryParsingError(f"[{function_name}] query doesn't support multiple fields, found [{field_name}] and [{key}]")
            field_name, placement = key, item
        else:
            raise _unsupported(function_name, key)
    if field_name is None:
        raise QueryParsingError(f"[{function_name}] requires a field with origin, scale, offset and decay")
    if "scale" not in placement:
        raise QueryParsingError(f"[{function_name}] must be given a [scale] for field [{field_name}]")
    for key in placement:
        if key not in ("origin", "scale", "offset", "decay"):
            raise _unsupported(function_name, key)
    decay = read_float(function_name, "decay", placement.get("decay", 0.5))
    if not 0.0 < decay < 1.0:
        raise QueryParsingError(f"[{function_name}] decay must be in the range (0..1), got [{decay}]")
    return nodes.DecayFunction(
        function_type=function_name, field=field_name, origin=placement.get("origin"),
        scale=placement["scale"], offset=placement.get("offset"), decay=decay, multi_value_mode=multi_value_mode,
    )


_FUNCTION_NAMES = ("field_value_factor", "random_score") + _DECAY_TYPES


def _parse_function_spec(item: Any, context: QueryParseContext) -> nodes.ScoreFunctionSpec:
    item = _require_object("function_score", item)
    function: Any = None
    filter_node: nodes.QueryNode | None = None
    weight: float | None = None
    for key, value in item.items():
        if key == "filter":
            filter_node = context.parse_inner(value)
        elif key == "weight":
            weight = read_float("function_score", key, value)
        elif key in _FUNCTION_NAMES:
            if function is not None:
                raise QueryParsingError("[function_score] failed to parse function, expected one function per entry")
            function = _parse_score_function(key, value)
        elif key == "script_score":
            raise QueryParsingError("[function_score] script_score functions are not supported")
        else:
            raise QueryParsingError(f"[function_score] unknown function [{key}]", key=key)
    if function is None and weight is None:
        raise QueryParsingError("[function_score] an entry of [functions] needs a function or a weight")
    return nodes.ScoreFunctionSpec(function=function, filter=filter_node, weight=weight)


def _parse_function_score(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    body = _require_object("function_score", body)
    parameters: dict[str, Any] = {}
    functions: list[nodes.ScoreFunctionSpec] = []
    single_function: Any = None
    single_weight: float | None = None
    for key, value in body.items():
        if key == "query":
            parameters["query"] = context.parse_inner(value)
        elif key == "functions":
            if not isinstance(value, list):
                raise QueryParsingError("[function_score] failed to parse [functions], expected an array")
            functions.extend(_parse_function_spec(item, context) for item in value)
        elif key == "score_mode":
            if str(value).lower() not in _SCORE_MODES:
                raise QueryParsingError(f"[function_score] illegal score_mode [{value}]")
            parameters["score_mode"] = str(value).lower()
        elif key == "boost_mode":
            if str(value).lower() not in _BOOST_MODES:
                raise QueryParsingError(f"[function_score] illegal boost_mode [{value}]")
            parameters["boost_mode"] = str(value).lower()
        elif key in ("max_boost", "min_score", "boost"):
            parameters[key] = read_float("function_score", key, value)
        elif key == "weight":
            single_weight = read_float("function_score", key, value)
        elif key in _FUNCTION_NAMES:
            single_function = _parse_score_function(key, value)
        elif key == "script_score":
            raise QueryParsingError("[function_score] script_score functions are not supported")
        elif key not in _IGNORED_PARAMETERS:
            raise _unsupported("function_score", key)
    if single_function is not None or single_weight is not None:
        if functions:
            raise QueryParsingError(
                "[function_score] already found [functions] array, now encountering a single function"
            )
        functions.append(nodes.ScoreFunctionSpec(function=single_function, weight=single_weight))
    return nodes.FunctionScoreQuery(functions=tuple(functions), **parameters)


def _parse_wrapper(body: Any, context: QueryParseContext) -> nodes.QueryNode:
    """``{"wrapper": {"query": <base64 of query JSON>}}`` is transparent: it parses to the inner query."""
    import base64
    import binascii

    import orjson

    body = _require_object("wrapper", body)
    encoded = body.get("query")
    if not isinstance(encoded, str):
        raise QueryParsingError("[wrapper] query malformed, expected a base64 string in [query]")
    try:
        inner = orjson.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise QueryParsingError("[wrapper] query malformed, [query] is not base64-encoded JSON") from None
    return context.parse_inner(inner)


def builtin_parse_functions() -> dict[str, ParseFunction]:
    return {
        "match_all": _parse_match_all,
        "match_none": _parse_match_none,
        "match": _parse_match,
        "match_phrase": _parse_match_phrase,
        "match_phrase_prefix": _parse_match_phrase_prefix,
        "match_bool_prefix": _parse_match_bool_prefix,
        "multi_match": _parse_multi_match,
        "term": _parse_term,
        "terms": _parse_terms,
        "range": _parse_range,
        "bool": _parse_bool,
        "ids": _parse_ids,
        "exists": _parse_exists,
        "prefix": _multi_term_parser("prefix", nodes.PrefixQuery, ("value", "prefix"), _COMMON_MULTI_TERM),
        "wildcard": _multi_term_parser("wildcard", nodes.WildcardQuery, ("value", "wildcard"), _COMMON_MULTI_TERM),
        "regexp": _multi_term_parser(
            "regexp", nodes.RegexpQuery, ("value",),
            dict(_COMMON_MULTI_TERM, flags=_read_regexp_flags, max_determinized_states=read_int),
        ),
        "fuzzy": _multi_term_parser(
            "fuzzy", nodes.FuzzyQuery, ("value",),
            {"boost": read_float, "fuzziness": lambda name, key, value: normalise_fuzziness(value, name),
             "prefix_length": read_int, "max_expansions": read_int, "transpositions": read_bool},
        ),
        "query_string": _parse_query_string,
        "simple_query_string": _parse_simple_query_string,
        "constant_score": _parse_constant_score,
        "boosting": _parse_boosting,
        "dis_max": _parse_dis_max,
        "function_score": _parse_function_score,
        "wrapper": _parse_wrapper,
    }


DEFAULT_QUERY_REGISTRY = QueryRegistry(builtin_parse_functions())
