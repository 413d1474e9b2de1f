"""Terms lookup: ``{"terms": {"field": {"index": "i", "id": "1", "path": "p"}}}`` resolved at the
coordinator into the plain ``{"terms": {"field": [values...]}}`` that index/query parses.

Owns: finding every lookup in a search body (the query, post_filter, filter/filters aggregations,
rescore and any nesting of them — the whole body is walked), validating each lookup as OpenSearch
does (its errors, wording of OpenSearch 3.x), fetching each distinct looked-up document once
through the realtime get path (its primary, as GET /{index}/_doc/{id}), and reading the values at
``path`` (dotted, through objects and arrays of objects; arrays flattened; nulls and objects
dropped). A missing document, or a document without ``path``, gives no terms (the query then
matches nothing), as in OpenSearch; a missing or closed lookup index is an error.

Entry points: ``resolve_terms_lookups(services, body)`` (what the search coordinator calls before
parsing) and ``resolve_terms_lookups_with(body, fetch_source)`` (the same over any fetcher: tests).
Both return the body unchanged (the same object) when it holds no lookup, else a new body; the
caller's body is never mutated.

This module must never parse queries beyond recognising a lookup, and never touch a shard except
through ``ShardDirector.call_primary(..., "get", ...)``.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import orjson
import trio

from node.coordination.resolve import single_index
from node.errors import ApiError, IllegalArgumentError
from raft.routing import shard_for_document

# the keys a lookup object may hold (`store` asks for stored fields: Quidditch reads a stored
# field's values from the source, see node/api/documents.py, so it changes nothing here)
LOOKUP_KEYS = frozenset(("index", "id", "path", "routing", "store", "query"))
# keys of a `terms` object whose values may be objects without being a lookup (a terms
# aggregation's order/include/exclude/script)
TERMS_PARAMETER_KEYS = frozenset(("order", "include", "exclude", "script", "missing", "boost", "_name"))
# an object under `terms` is a lookup when it names one of these (so an aggregation that happens to
# be named "terms" is not mistaken for one)
LOOKUP_MARKER_KEYS = frozenset(("index", "id", "path"))

# (index expression, document id, routing): one fetch per distinct key
LookupKey = tuple[str, str, "str | None"]
SourceFetcher = Callable[[str, str, "str | None"], Awaitable["dict | None"]]


def is_lookup(field_name: str, field_value: Any) -> bool:
    return (field_name not in TERMS_PARAMETER_KEYS and isinstance(field_value, dict)
            and not LOOKUP_MARKER_KEYS.isdisjoint(field_value))


def parse_lookup(field_name: str, lookup: dict[str, Any]) -> tuple[str, str, str, str | None]:
    """(index, id, path, routing) of one lookup object, or OpenSearch's 400."""
    for key in lookup:
        if key not in LOOKUP_KEYS:
            raise ApiError(f"[terms] query does not support [{key}] within lookup element",
                           opensearch_type="parsing_exception", status=400)
    index = lookup.get("index")
    path = lookup.get("path")
    document_id = lookup.get("id")
    if index is None or index == "":
        raise IllegalArgumentError("[terms] index cannot be null or empty for TermsLookup")
    if path is None or path == "":
        raise IllegalArgumentError("[terms] path cannot be null or empty for TermsLookup")
    if "query" in lookup:
        if document_id is not None:
            raise IllegalArgumentError("[terms] query lookup element cannot specify both id and query.")
        raise ApiError(f"[terms] lookup by [query] (field [{field_name}]) is not supported: look up one "
                       f"document by [id]", opensearch_type="not_supported_exception", status=400)
    if document_id is None:
        raise IllegalArgumentError("[terms] query lookup element requires specifying either the id or the query.")
    for key, value in (("index", index), ("id", document_id), ("path", path)):
        if isinstance(value, (dict, list, bool)):
            raise ApiError(f"[terms] lookup element [{key}] must be a string, got [{orjson.dumps(value).decode()}]",
                           opensearch_type="parsing_exception", status=400)
    routing = lookup.get("routing")
    return str(index), str(document_id), str(path), None if routing is None else str(routing)


def values_at_path(source: Any, dotted_path: str) -> list[Any]:
    """The leaf values at ``dotted_path`` of a document source, as OpenSearch's extractRawValues:
    objects are walked by name, arrays are walked element by element and flattened, a key that
    itself contains dots (``{"a.b": 1}``) is matched too; nulls and objects are not terms."""
    found: list[Any] = []

    def walk(value: Any, remaining: list[str]) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item, remaining)
            return
        if not remaining:
            if value is not None and not isinstance(value, dict):
                found.append(value)
            return
        if not isinstance(value, dict):
            return
        # the longest matching key first: {"a.b": ...} and {"a": {"b": ...}} both answer "a.b"
        for length in range(len(remaining), 0, -1):
            key = ".".join(remaining[:length])
            if key in value:
                walk(value[key], remaining[length:])

    walk(source, dotted_path.split("."))
    return found


def _lookups_in(node: Any, found: dict[LookupKey, None]) -> None:
    # only objects and arrays are walked, and never the value lists of a terms query: a search body
    # with a 65,536-term list costs one dict look-up here, not 65,536 calls
    if isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                _lookups_in(item, found)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "terms" and isinstance(value, dict):
            for field_name, field_value in value.items():
                if is_lookup(field_name, field_value):
                    index, document_id, _, routing = parse_lookup(field_name, field_value)
                    found[(index, document_id, routing)] = None
                elif isinstance(field_value, dict):
                    _lookups_in(field_value, found)
        elif isinstance(value, (dict, list)):
            _lookups_in(value, found)


def _replaced(node: Any, terms_by_key: dict[LookupKey, dict | None]) -> Any:
    if isinstance(node, list):
        return [_replaced(item, terms_by_key) for item in node]
    if not isinstance(node, dict):
        return node
    result = {}
    for key, value in node.items():
        if key == "terms" and isinstance(value, dict):
            terms = {}
            for field_name, field_value in value.items():
                if is_lookup(field_name, field_value):
                    index, document_id, path, routing = parse_lookup(field_name, field_value)
                    source = terms_by_key[(index, document_id, routing)]
                    terms[field_name] = [] if source is None else values_at_path(source, path)
                else:
                    terms[field_name] = _replaced(field_value, terms_by_key)
            result[key] = terms
        else:
            result[key] = _replaced(value, terms_by_key)
    return result


async def resolve_terms_lookups_with(body: Any, fetch_source: SourceFetcher) -> Any:
    """``body`` with every terms lookup replaced by the looked-up values; ``fetch_source(index,
    id, routing)`` answers a document's source (a dict) or None when the document does not exist."""
    if not isinstance(body, (dict, list)):
        return body
    found: dict[LookupKey, None] = {}
    _lookups_in(body, found)
    if not found:
        return body
    sources: dict[LookupKey, dict | None] = {}
    errors: list[Exception] = []

    async def fetch(key: LookupKey) -> None:
        index, document_id, routing = key
        try:
            sources[key] = await fetch_source(index, document_id, routing)
        except Exception as error:  # noqa: BLE001 — re-raised below, alone (not as a group)
            errors.append(error)

    async with trio.open_nursery() as nursery:
        for key in found:
            nursery.start_soon(fetch, key)
    if errors:
        raise errors[0]  # the request's error, as OpenSearch's first failed lookup
    return _replaced(body, sources)


async def fetch_source_for_lookup(services: Any, index_expression: str, document_id: str,
                                  routing: str | None) -> dict | None:
    """The realtime source of one document, as GET /{index}/_doc/{id}: an index or an alias of
    exactly one index; its primary answers."""
    index = single_index(services, index_expression)
    if routing is None:
        for alias in index.aliases.values():
            if alias.alias == index_expression and alias.search_routing is not None:
                routing = alias.search_routing
    partition_size = int(index.settings.get("index.routing_partition_size", "1"))
    shard_number = shard_for_document(document_id, routing, index.number_of_shards, index.routing_num_shards,
                                      partition_size)
    answer, source_bytes, _, _ = await services.director.call_primary(
        index.name, shard_number, "get", {"id": document_id, "realtime": True})
    if not answer.get("found"):
        return None
    source = orjson.loads(source_bytes) if source_bytes else None
    return source if isinstance(source, dict) else None


async def resolve_terms_lookups(services: Any, body: Any) -> Any:
    """THE hook for the search coordinator: ``body = await resolve_terms_lookups(services, body)``
    before the body is parsed (search, count, explain, by-query writes, each msearch item)."""
    async def fetch(index_expression: str, document_id: str, routing: str | None) -> dict | None:
        return await fetch_source_for_lookup(services, index_expression, document_id, routing)

    return await resolve_terms_lookups_with(body, fetch)
