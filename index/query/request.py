"""A whole search request: ``parse_search_request`` → frozen ``SearchRequest`` (to_wire/from_wire).

Owns the search body and its URI parameters: query, from/size and the result window, sort
(fields, _score, _doc, order, missing, mode, unmapped_type), search_after, track_total_hits
(true/false/int, default 10 000 → relation "gte"), track_scores, _source filtering, stored and
docvalue fields, highlight (plain), explain, profile, min_score, post_filter, aggregations (the
raw JSON, validated by index.aggregations when it is present), version and seq_no_primary_term,
and the ``q=`` URI search. Errors carry OpenSearch's texts.

It must never read segments: the request is parsed once at the coordinator and shipped to shards
as ``to_wire()`` (plain, orjson-able dicts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from index.errors import LimitExceededError, QueryParsingError
from index.query import nodes
from index.query.parser import DEFAULT_QUERY_REGISTRY, QueryLimits, QueryRegistry, parse_query

DEFAULT_TRACK_TOTAL_HITS = 10_000
TRACK_ALL_TOTAL_HITS = 2 ** 31 - 1     # what OpenSearch stores for track_total_hits: true
TRACK_NO_TOTAL_HITS = -1               # track_total_hits: false — no "total" in the response
DEFAULT_MAX_RESULT_WINDOW = 10_000
DEFAULT_MAX_DOCVALUE_FIELDS = 100      # index.max_docvalue_fields_search


@dataclass(frozen=True, slots=True)
class SortField:
    field: str                        # a field path, "_score" or "_doc"
    order: str = "asc"
    missing: Any = "_last"            # "_last", "_first" or a value standing in for missing docs
    mode: str | None = None           # min | max | sum | avg | median (numbers); min | max (keywords)
    unmapped_type: str | None = None

    def to_wire(self) -> dict:
        return {"field": self.field, "order": self.order, "missing": self.missing, "mode": self.mode,
                "unmapped_type": self.unmapped_type}

    @classmethod
    def from_wire(cls, wire: dict) -> "SortField":
        return cls(**wire)


@dataclass(frozen=True, slots=True)
class SourceFilter:
    enabled: bool = True
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()

    def to_wire(self) -> dict:
        return {"enabled": self.enabled, "includes": list(self.includes), "excludes": list(self.excludes)}

    @classmethod
    def from_wire(cls, wire: dict) -> "SourceFilter":
        return cls(wire["enabled"], tuple(wire["includes"]), tuple(wire["excludes"]))


@dataclass(frozen=True, slots=True)
class HighlightField:
    name: str                         # may be a wildcard pattern
    fragment_size: int | None = None
    number_of_fragments: int | None = None
    pre_tags: tuple[str, ...] | None = None
    post_tags: tuple[str, ...] | None = None
    no_match_size: int | None = None
    require_field_match: bool | None = None


@dataclass(frozen=True, slots=True)
class HighlightSpec:
    fields: tuple[HighlightField, ...]
    pre_tags: tuple[str, ...] = ("<em>",)
    post_tags: tuple[str, ...] = ("</em>",)
    fragment_size: int = 100
    number_of_fragments: int = 5
    require_field_match: bool = True
    no_match_size: int = 0
    encoder: str = "default"
    order: str = "none"

    def to_wire(self) -> dict:
        wire = {key: getattr(self, key) for key in ("fragment_size", "number_of_fragments", "require_field_match",
                                                     "no_match_size", "encoder", "order")}
        wire["pre_tags"] = list(self.pre_tags)
        wire["post_tags"] = list(self.post_tags)
        wire["fields"] = [{"name": spec.name, "fragment_size": spec.fragment_size,
                           "number_of_fragments": spec.number_of_fragments,
                           "pre_tags": list(spec.pre_tags) if spec.pre_tags is not None else None,
                           "post_tags": list(spec.post_tags) if spec.post_tags is not None else None,
                           "no_match_size": spec.no_match_size, "require_field_match": spec.require_field_match}
                          for spec in self.fields]
        return wire

    @classmethod
    def from_wire(cls, wire: dict) -> "HighlightSpec":
        fields = tuple(HighlightField(
            name=item["name"], fragment_size=item["fragment_size"], number_of_fragments=item["number_of_fragments"],
            pre_tags=tuple(item["pre_tags"]) if item["pre_tags"] is not None else None,
            post_tags=tuple(item["post_tags"]) if item["post_tags"] is not None else None,
            no_match_size=item["no_match_size"], require_field_match=item["require_field_match"],
        ) for item in wire["fields"])
        return cls(fields=fields, pre_tags=tuple(wire["pre_tags"]), post_tags=tuple(wire["post_tags"]),
                   fragment_size=wire["fragment_size"], number_of_fragments=wire["number_of_fragments"],
                   require_field_match=wire["require_field_match"], no_match_size=wire["no_match_size"],
                   encoder=wire["encoder"], order=wire["order"])


@dataclass(frozen=True, slots=True)
class SearchRequest:
    query: nodes.QueryNode = field(default_factory=nodes.MatchAllQuery)
    from_: int = 0
    size: int = 10
    sort: tuple[SortField, ...] = ()
    search_after: tuple | None = None
    track_total_hits: int = DEFAULT_TRACK_TOTAL_HITS
    track_scores: bool = False
    source: SourceFilter = field(default_factory=SourceFilter)
    stored_fields: tuple[str, ...] | None = None
    docvalue_fields: tuple[tuple[str, str | None], ...] = ()
    fields: tuple[tuple[str, str | None], ...] = ()     # the "fields" API: values from _source
    highlight: HighlightSpec | None = None
    explain: bool = False
    profile: bool = False
    min_score: float | None = None
    post_filter: nodes.QueryNode | None = None
    aggregations: dict | None = None        # raw JSON; index.aggregations parses it
    version: bool = False
    seq_no_primary_term: bool = False
    terminate_after: int = 0
    include_named_queries_score: bool = False   # matched_queries as {name: score} instead of names

    @property
    def window_size(self) -> int:
        """How many top hits each shard (and each segment) must return: from + size."""
        return self.from_ + self.size

    @property
    def sorts_by_score_only(self) -> bool:
        return not self.sort or (len(self.sort) == 1 and self.sort[0].field == "_score")

    @property
    def needs_scores(self) -> bool:
        return (not self.sort or any(sort_field.field == "_score" for sort_field in self.sort)
                or self.track_scores or self.min_score is not None)

    def to_wire(self) -> dict:
        return {
            "query": self.query.to_json(),
            "from": self.from_,
            "size": self.size,
            "sort": [sort_field.to_wire() for sort_field in self.sort],
            "search_after": list(self.search_after) if self.search_after is not None else None,
            "track_total_hits": self.track_total_hits,
            "track_scores": self.track_scores,
            "source": self.source.to_wire(),
            "stored_fields": list(self.stored_fields) if self.stored_fields is not None else None,
            "docvalue_fields": [list(item) for item in self.docvalue_fields],
            "fields": [list(item) for item in self.fields],
            "highlight": self.highlight.to_wire() if self.highlight is not None else None,
            "explain": self.explain,
            "profile": self.profile,
            "min_score": self.min_score,
            "post_filter": self.post_filter.to_json() if self.post_filter is not None else None,
            "aggregations": self.aggregations,
            "version": self.version,
            "seq_no_primary_term": self.seq_no_primary_term,
            "terminate_after": self.terminate_after,
            "include_named_queries_score": self.include_named_queries_score,
        }

    @classmethod
    def from_wire(cls, wire: dict, registry: QueryRegistry | None = None) -> "SearchRequest":
        registry = registry or DEFAULT_QUERY_REGISTRY
        # the query was validated at the coordinator; shards re-check only the structure
        no_limits = QueryLimits(max_clause_count=2 ** 31 - 1, max_depth=2 ** 31 - 1, max_terms_count=2 ** 31 - 1)
        return cls(
            query=parse_query(wire["query"], registry, no_limits),
            from_=wire["from"], size=wire["size"],
            sort=tuple(SortField.from_wire(item) for item in wire["sort"]),
            search_after=tuple(wire["search_after"]) if wire["search_after"] is not None else None,
            track_total_hits=wire["track_total_hits"], track_scores=wire["track_scores"],
            source=SourceFilter.from_wire(wire["source"]),
            stored_fields=tuple(wire["stored_fields"]) if wire["stored_fields"] is not None else None,
            docvalue_fields=tuple((item[0], item[1]) for item in wire["docvalue_fields"]),
            fields=tuple((item[0], item[1]) for item in wire.get("fields", [])),
            highlight=HighlightSpec.from_wire(wire["highlight"]) if wire["highlight"] is not None else None,
            explain=wire["explain"], profile=wire["profile"], min_score=wire["min_score"],
            post_filter=parse_query(wire["post_filter"], registry, no_limits) if wire["post_filter"] is not None else None,
            aggregations=wire["aggregations"], version=wire["version"],
            seq_no_primary_term=wire["seq_no_primary_term"], terminate_after=wire["terminate_after"],
            include_named_queries_score=bool(wire.get("include_named_queries_score", False)),
        )


# -- parsing ---------------------------------------------------------------------------------------


def _token_name(value: Any) -> str:
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, bool):
        return "VALUE_BOOLEAN"
    if isinstance(value, (int, float)):
        return "VALUE_NUMBER"
    if value is None:
        return "VALUE_NULL"
    return "VALUE_STRING"


def _int_parameter(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise QueryParsingError(f"[{name}] failed to parse, expected an integer, got [{value}]")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise QueryParsingError(f"[{name}] failed to parse, expected an integer, got [{value}]") from None


def _bool_parameter(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", ""):
        return value.lower() != "false"
    raise QueryParsingError(f"[{name}] failed to parse, expected true or false, got [{value}]")


def _parse_sort_entry(entry: Any) -> SortField:
    if isinstance(entry, str):
        if entry == "_score":
            return SortField("_score", "desc")
        return SortField(entry, "asc")
    if isinstance(entry, dict) and len(entry) == 1:
        (field_name, specification), = entry.items()
        default_order = "desc" if field_name == "_score" else "asc"
        if isinstance(specification, str):
            order = specification.lower()
            if order not in ("asc", "desc"):
                raise QueryParsingError(f"[sort] unknown sort order [{specification}], expected [asc] or [desc]")
            return SortField(field_name, order)
        if isinstance(specification, dict):
            order = str(specification.get("order", default_order)).lower()
            if order not in ("asc", "desc"):
                raise QueryParsingError(f"[sort] unknown sort order [{specification.get('order')}], expected [asc] or [desc]")
            mode = specification.get("mode")
            if mode is not None and str(mode).lower() not in ("min", "max", "sum", "avg", "median"):
                raise QueryParsingError(f"[sort] unknown sort mode [{mode}]")
            for key in specification:
                if key not in ("order", "missing", "mode", "unmapped_type", "numeric_type", "format"):
                    raise QueryParsingError(f"[{field_name}] unknown field [{key}] in sort", key=key)
            missing = specification.get("missing", "_last")
            return SortField(field_name, order, missing if missing is not None else "_last",
                             str(mode).lower() if mode is not None else None, specification.get("unmapped_type"))
    raise QueryParsingError(f"[sort] malformed sort entry, expected a field name or {{field: order}}, got [{entry}]")


def parse_sort(value: Any) -> tuple[SortField, ...]:
    entries = value if isinstance(value, list) else [value]
    return tuple(_parse_sort_entry(entry) for entry in entries)


def _parse_uri_sort(text: str) -> tuple[SortField, ...]:
    sorts = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, _, order = part.partition(":")
        order = order.lower() or ("desc" if name == "_score" else "asc")
        if order not in ("asc", "desc"):
            raise QueryParsingError(f"[sort] unknown sort order [{order}], expected [asc] or [desc]")
        sorts.append(SortField(name, order))
    return tuple(sorts)


def parse_source_filter(value: Any) -> SourceFilter:
    if isinstance(value, bool):
        return SourceFilter(enabled=value)
    if isinstance(value, str):
        return SourceFilter(includes=(value,))
    if isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise QueryParsingError(f"[_source] failed to parse, expected an array of strings, got [{value}]")
        return SourceFilter(includes=tuple(value))
    if isinstance(value, dict):
        includes: tuple[str, ...] = ()
        excludes: tuple[str, ...] = ()
        for key, item in value.items():
            items = [item] if isinstance(item, str) else item
            if not isinstance(items, list) or not all(isinstance(pattern, str) for pattern in items):
                raise QueryParsingError(f"[_source] failed to parse [{key}], expected a string or an array of strings")
            if key in ("includes", "include"):
                includes = tuple(items)
            elif key in ("excludes", "exclude"):
                excludes = tuple(items)
            else:
                raise QueryParsingError(f"[_source] unknown key [{key}], expected [includes] or [excludes]", key=key)
        return SourceFilter(True, includes, excludes)
    raise QueryParsingError(f"[_source] failed to parse, expected a boolean, a string, an array or an object")


def _parse_track_total_hits(value: Any) -> int:
    if isinstance(value, bool):
        return TRACK_ALL_TOTAL_HITS if value else TRACK_NO_TOTAL_HITS
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return TRACK_ALL_TOTAL_HITS if value.lower() == "true" else TRACK_NO_TOTAL_HITS
    number = _int_parameter("track_total_hits", value)
    if number < -1:
        raise QueryParsingError(f"[track_total_hits] parameter must be positive or equals to -1, got {number}")
    return TRACK_ALL_TOTAL_HITS if number == -1 else number


def _tags(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise QueryParsingError(f"[highlight] failed to parse [{name}], expected an array of strings")


def parse_highlight(value: Any) -> HighlightSpec:
    if not isinstance(value, dict):
        raise QueryParsingError("[highlight] failed to parse, expected an object")
    top: dict[str, Any] = {}
    fields: list[HighlightField] = []
    for key, item in value.items():
        if key == "fields":
            entries: list[tuple[str, Any]] = []
            if isinstance(item, dict):
                entries = list(item.items())
            elif isinstance(item, list):
                for element in item:
                    if not isinstance(element, dict) or len(element) != 1:
                        raise QueryParsingError("[highlight] fields given as an array must hold one field per object")
                    entries.extend(element.items())
            else:
                raise QueryParsingError("[highlight] failed to parse [fields], expected an object or an array")
            for name, options in entries:
                options = options or {}
                if not isinstance(options, dict):
                    raise QueryParsingError(f"[highlight] field [{name}] options must be an object, got [{options}]")
                fields.append(HighlightField(
                    name=name,
                    fragment_size=_int_parameter("fragment_size", options["fragment_size"]) if "fragment_size" in options else None,
                    number_of_fragments=_int_parameter("number_of_fragments", options["number_of_fragments"])
                    if "number_of_fragments" in options else None,
                    pre_tags=_tags("pre_tags", options["pre_tags"]) if "pre_tags" in options else None,
                    post_tags=_tags("post_tags", options["post_tags"]) if "post_tags" in options else None,
                    no_match_size=_int_parameter("no_match_size", options["no_match_size"]) if "no_match_size" in options else None,
                    require_field_match=_bool_parameter("require_field_match", options["require_field_match"])
                    if "require_field_match" in options else None,
                ))
        elif key in ("pre_tags", "post_tags"):
            top[key] = _tags(key, item)
        elif key in ("fragment_size", "number_of_fragments", "no_match_size"):
            top[key] = _int_parameter(key, item)
        elif key == "require_field_match":
            top[key] = _bool_parameter(key, item)
        elif key == "encoder":
            if item not in ("default", "html"):
                raise QueryParsingError(f"[highlight] unknown encoder [{item}], expected [default] or [html]")
            top[key] = item
        elif key == "order":
            top[key] = str(item)
        elif key == "tags_schema":
            if item == "styled":
                top["pre_tags"] = tuple(f'<em class="hlt{number}">' for number in range(1, 11))
                top["post_tags"] = ("</em>",)
        elif key in ("type", "fragmenter", "boundary_scanner", "boundary_chars", "boundary_max_scan",
                     "highlight_query", "phrase_limit", "max_analyzed_offset", "force_source"):
            continue   # accepted; the plain highlighter ignores them (docs/query-dsl.md)
        else:
            raise QueryParsingError(f"[highlight] unknown field [{key}]", key=key)
    if not fields:
        raise QueryParsingError("[highlight] requires at least one field in [fields]")
    return HighlightSpec(fields=tuple(fields), **top)


def _parse_docvalue_fields(value: Any, key: str = "docvalue_fields") -> tuple[tuple[str, str | None], ...]:
    entries = value if isinstance(value, list) else [value]
    parsed = []
    for entry in entries:
        if isinstance(entry, str):
            parsed.append((entry, None))
        elif isinstance(entry, dict) and "field" in entry:
            parsed.append((str(entry["field"]), entry.get("format")))
        else:
            raise QueryParsingError(f"[{key}] failed to parse entry [{entry}]")
    return tuple(parsed)


_UNSUPPORTED_BODY_KEYS = {
    "collapse": "field collapsing", "rescore": "rescoring", "suggest": "suggesters",
    "script_fields": "script fields", "runtime_mappings": "runtime fields", "slice": "sliced scroll",
    "knn": "k-NN search", "indices_boost": "per-index score boosts",
}
# accepted and without effect here: timeout (searches are not interrupted), stats groups,
# ext, and pit (node/ resolves point-in-time ids into a pinned searcher before calling index/)
_IGNORED_BODY_KEYS = {"timeout", "stats", "ext", "pit", "_name"}


def parse_search_request(body: dict | None, params: dict[str, str] | None = None,
                         registry: QueryRegistry | None = None, limits: QueryLimits = QueryLimits(),
                         max_result_window: int = DEFAULT_MAX_RESULT_WINDOW,
                         max_docvalue_fields: int = DEFAULT_MAX_DOCVALUE_FIELDS) -> SearchRequest:
    """Parse a search body and its URI parameters (URI parameters win, as in OpenSearch)."""
    body = body or {}
    params = params or {}
    if not isinstance(body, dict):
        raise QueryParsingError("request body is required to be an object")
    registry = registry or DEFAULT_QUERY_REGISTRY
    values: dict[str, Any] = {}
    for key, value in body.items():
        if key == "query":
            values["query"] = parse_query(value, registry, limits)
        elif key == "from":
            values["from_"] = _int_parameter("from", value)
        elif key == "size":
            values["size"] = _int_parameter("size", value)
        elif key == "sort":
            values["sort"] = parse_sort(value)
        elif key == "search_after":
            if not isinstance(value, list):
                raise QueryParsingError("[search_after] failed to parse, expected an array of sort values")
            values["search_after"] = tuple(value)
        elif key == "track_total_hits":
            values["track_total_hits"] = _parse_track_total_hits(value)
        elif key in ("track_scores", "explain", "profile", "version", "seq_no_primary_term",
                     "include_named_queries_score"):
            values[key] = _bool_parameter(key, value)
        elif key == "_source":
            values["source"] = parse_source_filter(value)
        elif key == "stored_fields":
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
                raise QueryParsingError(f"[stored_fields] failed to parse, expected a string or an array of strings, "
                                        f"got [{value}]")
            values["stored_fields"] = tuple(names)
        elif key == "docvalue_fields":
            values["docvalue_fields"] = _parse_docvalue_fields(value)
        elif key == "fields":
            values["fields"] = _parse_docvalue_fields(value, "fields")
        elif key == "highlight":
            values["highlight"] = parse_highlight(value)
        elif key == "min_score":
            try:
                values["min_score"] = float(value)
            except (TypeError, ValueError):
                raise QueryParsingError(f"[min_score] failed to parse, expected a number, got [{value}]") from None
        elif key == "post_filter":
            values["post_filter"] = parse_query(value, registry, limits)
        elif key in ("aggs", "aggregations"):
            if "aggregations" in values:
                raise QueryParsingError("Found two aggregation type definitions in [aggs] and [aggregations]")
            values["aggregations"] = _validated_aggregations(value)
        elif key == "terminate_after":
            values["terminate_after"] = _int_parameter(key, value)
        elif key in _UNSUPPORTED_BODY_KEYS:
            raise QueryParsingError(f"[{key}] is not supported: {_UNSUPPORTED_BODY_KEYS[key]} is not implemented",
                                    key=key)
        elif key in _IGNORED_BODY_KEYS:
            continue
        else:
            raise QueryParsingError(f"Unknown key for a {_token_name(value)} in [{key}].", key=key)
    _apply_uri_parameters(values, params, registry, limits)
    request = SearchRequest(**values)
    _validate(request, max_result_window)
    if len(request.docvalue_fields) > max_docvalue_fields:
        raise LimitExceededError(
            f"Trying to retrieve too many docvalue_fields. Must be less than or equal to: [{max_docvalue_fields}] but "
            f"was [{len(request.docvalue_fields)}]. This limit can be set by changing the "
            f"[index.max_docvalue_fields_search] index level setting.", limit="max_docvalue_fields_search")
    return request


def _validated_aggregations(value: Any) -> dict:
    if not isinstance(value, dict):
        raise QueryParsingError("[aggregations] failed to parse, expected an object")
    try:
        from index.aggregations import parse_aggregations
    except ImportError:
        return value
    parse_aggregations(value)    # AggregationError surfaces at the coordinator
    return value


def _apply_uri_parameters(values: dict[str, Any], params: dict[str, str], registry: QueryRegistry,
                          limits: QueryLimits) -> None:
    if "q" in params:
        query_string: dict[str, Any] = {"query": params["q"]}
        if "df" in params:
            query_string["default_field"] = params["df"]
        if "default_operator" in params:
            query_string["default_operator"] = params["default_operator"]
        if "analyzer" in params:
            query_string["analyzer"] = params["analyzer"]
        if "lenient" in params:
            query_string["lenient"] = _bool_parameter("lenient", params["lenient"])
        if "analyze_wildcard" in params:
            query_string["analyze_wildcard"] = _bool_parameter("analyze_wildcard", params["analyze_wildcard"])
        values["query"] = parse_query({"query_string": query_string}, registry, limits)
    if "from" in params:
        values["from_"] = _int_parameter("from", params["from"])
    if "size" in params:
        values["size"] = _int_parameter("size", params["size"])
    if "sort" in params:
        values["sort"] = _parse_uri_sort(params["sort"])
    if "track_total_hits" in params:
        values["track_total_hits"] = _parse_track_total_hits(params["track_total_hits"])
    for key in ("track_scores", "explain", "version", "seq_no_primary_term", "include_named_queries_score"):
        if key in params:
            values[key] = _bool_parameter(key, params[key])
    if "_source" in params:
        text = params["_source"]
        if text.lower() in ("true", "false"):
            values["source"] = SourceFilter(enabled=text.lower() == "true")
        else:
            values["source"] = SourceFilter(includes=tuple(part for part in text.split(",") if part))
    includes = params.get("_source_includes", params.get("_source_include"))
    excludes = params.get("_source_excludes", params.get("_source_exclude"))
    if includes is not None or excludes is not None:
        current: SourceFilter = values.get("source", SourceFilter())
        values["source"] = SourceFilter(
            True,
            tuple(part for part in includes.split(",") if part) if includes is not None else current.includes,
            tuple(part for part in excludes.split(",") if part) if excludes is not None else current.excludes)
    if "stored_fields" in params:
        values["stored_fields"] = tuple(part for part in params["stored_fields"].split(",") if part)
    if "docvalue_fields" in params:
        values["docvalue_fields"] = tuple((part, None) for part in params["docvalue_fields"].split(",") if part)
    if "terminate_after" in params:
        values["terminate_after"] = _int_parameter("terminate_after", params["terminate_after"])


def _validate(request: SearchRequest, max_result_window: int) -> None:
    if request.from_ < 0:
        raise QueryParsingError(f"[from] parameter cannot be negative, found [{request.from_}]")
    if request.size < 0:
        raise QueryParsingError(f"[size] parameter cannot be negative, found [{request.size}]")
    if request.from_ + request.size > max_result_window:
        raise LimitExceededError(
            f"Result window is too large, from + size must be less than or equal to: [{max_result_window}] but was "
            f"[{request.from_ + request.size}]. See the scroll api for a more efficient way to request large data "
            f"sets. This limit can be set by changing the [index.max_result_window] index level setting.",
            limit="max_result_window")
    if request.search_after is not None:
        if request.from_ > 0:
            raise QueryParsingError("[from] parameter must be set to 0 when [search_after] is used")
        sort_length = len(request.sort) if request.sort else 1
        if len(request.search_after) != sort_length:
            raise QueryParsingError(
                f"search_after has {len(request.search_after)} value(s) but sort has {sort_length}.")
