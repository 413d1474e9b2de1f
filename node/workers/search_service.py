"""Worker-side search methods: the per-shard query phase, fetch phase, count, explain and the
reader contexts behind scroll and point in time.

Owns ``SEARCH_METHODS`` (method name → ``function(registry, payload, body) -> (payload, body)``),
merged into the worker's method table by node/workers/shard_service.py, and the worker-local
bookkeeping those methods need: one ``FilterCache`` per hosted shard, the short-lived
"query → fetch" searcher hand-over (so the fetch phase reads the very snapshot the query phase
ranked), each scroll's cursor (ADR 0080) and the kind (scroll / pit) of every reader context
opened here.

Wire shapes: docs/contracts.md §11 (``index_uuid``/``shard_number`` are added by the pool):
search_shard, fetch, release_fetch, count, open_reader_context, close_reader_context,
close_all_reader_contexts, explain.

It must never talk to the cluster state, Raft or the network, and never rank across shards:
the coordinator (node/coordination/search.py) does that with index/query's one merge.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import replace
from typing import Any, Callable

from index.analysis import AnalysisRegistry
from index.errors import SearchContextMissingError
from index.query import (
    FilterCache, SearchContext, SearchRequest, SortField, count_shard, fetch_hits, parse_query, search_shard,
)
from index.query.results import ShardHit
from node.workers.registry import ShardRegistry

SearchMethod = Callable[[ShardRegistry, dict, bytes], tuple[dict, bytes]]
_logger = logging.getLogger("worker.search_service")

# a query phase's searcher waits this long for its fetch phase (a shard whose hits did not make
# the final page is never fetched: the entry simply expires)
FETCH_HAND_OVER_SECONDS = 60.0
MAX_PENDING_FETCHES = 512

_lock = threading.Lock()
_filter_caches: dict[tuple[str, int], FilterCache] = {}
_pending_fetches: dict[str, tuple[Any, float]] = {}       # token → (searcher, expires at)
# scroll reader context id → {"after": the extended sort key of the last consumed hit, "position":
# hits consumed so far, "batch": the extended sort keys of the last batch returned, "request": the
# request wire, "shard": its key}
_scroll_states: dict[str, dict[str, Any]] = {}
_token_counter = [0]
# reader contexts opened through these methods, per shard: context id → "scroll" | "pit"
# (for DELETE /_search/scroll/_all and /_search/point_in_time/_all)
_opened_contexts: dict[tuple[str, int], dict[str, str]] = {}


PRUNE_TRACKED_CONTEXTS_ABOVE = 256


def _track_context(payload: dict, context_id: str, kind: str, shard: Any) -> None:
    key = _key(payload)
    with _lock:
        tracked = _opened_contexts.setdefault(key, {})
        tracked[context_id] = kind
        candidates = list(tracked) if len(tracked) > PRUNE_TRACKED_CONTEXTS_ABOVE else []
    for candidate in candidates:
        # expired contexts leave the shard by its sweep; forget them here too
        try:
            shard.reader_context(candidate)
        except Exception:  # noqa: BLE001 — missing or expired
            with _lock:
                tracked.pop(candidate, None)
                _scroll_states.pop(candidate, None)


def _key(payload: dict) -> tuple[str, int]:
    return payload["index_uuid"], int(payload["shard_number"])


def _filter_cache(payload: dict) -> FilterCache:
    key = _key(payload)
    with _lock:
        cache = _filter_caches.get(key)
        if cache is None:
            cache = _filter_caches[key] = FilterCache()
        return cache


def _context(payload: dict) -> SearchContext:
    return SearchContext(now_millis=int(payload.get("now_millis") or time.time() * 1000),
                         shard_index=int(payload.get("shard_index", 0)),
                         index_name=str(payload.get("index_name", "")),
                         filter_cache=_filter_cache(payload),
                         node_id=str(payload.get("node_id", "_na")))


def _remember_searcher(searcher: Any) -> str:
    now = time.monotonic()
    with _lock:
        for token, (_, expires) in list(_pending_fetches.items()):
            if expires < now:
                del _pending_fetches[token]
        while len(_pending_fetches) >= MAX_PENDING_FETCHES:
            del _pending_fetches[next(iter(_pending_fetches))]
        _token_counter[0] += 1
        token = f"{_token_counter[0]:x}-{int(now * 1000):x}"
        _pending_fetches[token] = (searcher, now + FETCH_HAND_OVER_SECONDS)
        return token


def _take_searcher(token: str | None) -> Any | None:
    if not token:
        return None
    with _lock:
        entry = _pending_fetches.pop(token, None)
    return None if entry is None else entry[0]


def _searcher_for(shard: Any, payload: dict) -> tuple[Any, str | None]:
    """(searcher, reader context id opened here or None) for a query phase."""
    context_id = payload.get("reader_context_id")
    if context_id:
        keep_alive = payload.get("keep_alive_seconds")
        return shard.reader_context(context_id, float(keep_alive) if keep_alive is not None else None), None
    open_seconds = payload.get("open_scroll_seconds")
    if open_seconds is not None:
        new_id = shard.open_reader_context(float(open_seconds))
        _track_context(payload, new_id, "scroll", shard)
        return shard.reader_context(new_id), new_id
    return shard.acquire_searcher(), None


def _prune_scroll_states(shard: Any, shard_key: tuple[str, int]) -> None:
    """Forget the positions of this shard's scroll contexts that expired inside the shard."""
    with _lock:
        context_ids = [context_id for context_id, state in _scroll_states.items() if state["shard"] == shard_key]
    for context_id in context_ids:
        try:
            shard.reader_context(context_id)        # no keep-alive given: does not extend it
        except Exception:  # noqa: BLE001 — missing or expired
            with _lock:
                _scroll_states.pop(context_id, None)


# the coordinator's one call for several local shards of a search on this worker (ADR 0320)
BATCH_PAYLOAD_KEY = "batch"


def _search_shards_in_one_call(registry: ShardRegistry, payload: dict) -> tuple[dict, bytes]:
    """``payload["batch"]``: one search_shard payload per shard (each names its shard), searched
    one after the other on this thread; each answers ``{"reply": ...}`` or ``{"error": ...}`` (the
    error as an error frame describes it), so one shard's failure never hides the others'. The
    method table noted the search of the call's own shard for search idle; the others are noted
    here, before they are searched, exactly as a call of their own would have been."""
    from node.transport.errors import describe_exception
    from node.workers import shard_service     # imported already: it imports this module

    outcomes: list[dict] = []
    outer_key = _key(payload)
    for shard_payload in payload[BATCH_PAYLOAD_KEY]:
        try:
            if _key(shard_payload) != outer_key:
                shard_service.search_idle.on_search(registry, _key(shard_payload))
            reply, _ = search_shard_method(registry, shard_payload, b"")
            outcomes.append({"reply": reply})
        except Exception as error:  # noqa: BLE001 — reported per shard, as separate calls would
            traceback_text = None
            if not getattr(error, "opensearch_type", None):
                traceback_text = traceback.format_exc()
                _logger.error("batched search_shard failed unexpectedly", exc_info=True)
            outcomes.append({"error": describe_exception(error, traceback_text)})
    return {BATCH_PAYLOAD_KEY: outcomes}, b""


def search_shard_method(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    if BATCH_PAYLOAD_KEY in payload:
        return _search_shards_in_one_call(registry, payload)
    shard = registry.get(*_key(payload))
    searcher, opened_context_id = _searcher_for(shard, payload)
    scroll = bool(payload.get("scroll"))
    if scroll and opened_context_id is not None:
        _prune_scroll_states(shard, _key(payload))
    context_id = opened_context_id or payload.get("reader_context_id")
    context = _context(payload)
    reply: dict[str, Any] = {}
    if opened_context_id is not None:
        reply["reader_context_id"] = opened_context_id
    if scroll and context_id:
        with _lock:
            state = _scroll_states.get(context_id)
            if state is None:
                if payload.get("request") is None:
                    raise SearchContextMissingError(f"No search context found for id [{context_id}]",
                                                    context_id=context_id)
                state = _scroll_states[context_id] = {"after": None, "position": 0, "batch": [],
                                                      "request": payload["request"], "shard": _key(payload)}
            after = state["after"]
            position = int(state["position"])
            stored_request_wire = state["request"]
        if payload.get("request") is None:
            reply["request"] = stored_request_wire
        request = SearchRequest.from_wire(stored_request_wire)
        # the shard's next batch: size hits after the last one the coordinator consumed, in the
        # request's order made total by a _doc tie-break (so search_after never skips a tie).
        # Scores are not exact cursor keys (a hit's _score value is rounded, the ranking key is
        # not), so a scroll ordered by score counts its position instead (O(position) per page).
        page_request = _scroll_page_request(request, after, position)
        result = _boosted(search_shard(searcher, page_request, context), payload.get("score_boost"))
        if page_request.from_:
            result = replace(result, hits=result.hits[page_request.from_:])
        with _lock:
            state["batch"] = [hit.sort_values for hit in result.hits]
        result = replace(result, hits=tuple(_strip_tie_break(hit, request) for hit in result.hits))
        if payload.get("fetch"):
            page = result.hits[:request.size]
            _advance_scroll(context_id, len(page))
            reply["hits"] = _fetch_with_routing(searcher, request, page, context)
        else:
            reply["fetch_token"] = _remember_searcher(searcher)
        reply["result"] = result.to_wire()
        return reply, b""
    request = SearchRequest.from_wire(payload["request"])
    result = _boosted(search_shard(searcher, request, context), payload.get("score_boost"))
    if payload.get("fetch") == "window":
        # the coordinator will pick the page from every shard's window: fetch all of ours now
        reply["window_hits"] = _fetch_with_routing(searcher, request, result.hits, context)
    elif payload.get("fetch"):
        reply["hits"] = _fetch_with_routing(searcher, request, result.hits[request.from_:], context)
    elif payload.get("fetch_expected", True):
        reply["fetch_token"] = _remember_searcher(searcher)
    reply["result"] = result.to_wire()
    return reply, b""


def _boosted(result: Any, boost: Any) -> Any:
    """indices_boost: this index's scores times ``boost`` (uniform, so the shard's ranking holds)."""
    if boost is None or float(boost) == 1.0:
        return result
    factor = float(boost)
    hits = tuple(replace(hit, score=hit.score * factor) if hit.score is not None else hit for hit in result.hits)
    max_score = result.max_score * factor if result.max_score is not None else None
    return replace(result, hits=hits, max_score=max_score)


def _scroll_page_request(request: SearchRequest, after: list | None, position: int) -> SearchRequest:
    sort = tuple(request.sort) or (SortField("_score", "desc"),)
    if not any(sort_field.field == "_doc" for sort_field in sort):
        sort = sort + (SortField("_doc", "asc"),)
    if any(sort_field.field == "_score" for sort_field in sort):
        return replace(request, from_=position, sort=sort, search_after=None)
    return replace(request, from_=0, sort=sort, search_after=tuple(after) if after is not None else None)


def _strip_tie_break(hit: ShardHit, request: SearchRequest) -> ShardHit:
    """The hit as the user's own sort shows it (without the scroll's added sort keys)."""
    if not request.sort:
        return replace(hit, sort_values=None)
    return replace(hit, sort_values=tuple(hit.sort_values[:len(request.sort)]) if hit.sort_values else None)


def _advance_scroll(context_id: str | None, consumed: int) -> None:
    """The coordinator used the first ``consumed`` hits of this shard's last batch."""
    if not context_id or consumed <= 0:
        return
    with _lock:
        state = _scroll_states.get(context_id)
        if state is not None and len(state["batch"]) >= consumed:
            state["after"] = list(state["batch"][consumed - 1])
            state["position"] = int(state["position"]) + consumed
            state["batch"] = []


def fetch_method(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    shard = registry.get(*_key(payload))
    searcher = _take_searcher(payload.get("fetch_token"))
    if searcher is None and payload.get("reader_context_id"):
        searcher = shard.reader_context(payload["reader_context_id"])
    if searcher is None:
        # the hand-over expired: fetch_hits finds the docs again by _id in a fresh snapshot
        searcher = shard.acquire_searcher()
    request = SearchRequest.from_wire(payload["request"])
    hits = [ShardHit.from_wire(hit) for hit in payload["hits"]]
    _advance_scroll(payload.get("scroll_context_id"), int(payload.get("scroll_advance") or 0))
    return {"hits": _fetch_with_routing(searcher, request, hits, _context(payload))}, b""


def _fetch_with_routing(searcher: Any, request: SearchRequest, hits: Any, context: Any) -> list[dict]:
    rendered = fetch_hits(searcher, request, hits, context)
    _add_routing(searcher, hits, rendered)
    return rendered


def _add_routing(searcher: Any, hits: Any, rendered: list[dict]) -> None:
    """``_routing`` on each hit indexed with a custom routing value, as OpenSearch renders it
    (index/query/fetch.py renders the rest of the hit; the routing is a per-document column)."""
    segments = searcher.segments
    by_name = {segment.name: segment for segment in segments}
    for hit, body in zip(hits, rendered):
        segment = by_name.get(hit.segment_name)
        doc = hit.doc
        if segment is None:
            for candidate in segments:
                doc = candidate.lookup_id(hit.document_id)
                if doc is not None:
                    segment = candidate
                    break
        routing_of = getattr(segment, "routing", None)
        routing = routing_of(doc) if routing_of is not None and doc is not None else None
        if routing is not None:
            body["_routing"] = routing


def release_method(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    """Drop fetch hand-overs the coordinator knows it will not use."""
    for token in payload.get("fetch_tokens") or ():
        _take_searcher(token)
    return {"released": True}, b""


def count_method(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    shard = registry.get(*_key(payload))
    searcher = shard.acquire_searcher()
    query = parse_query(payload.get("query"))
    return {"count": count_shard(searcher, query, _context(payload))}, b""


def open_reader_context_method(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    shard = registry.get(*_key(payload))
    context_id = shard.open_reader_context(float(payload["keep_alive_seconds"]))
    _track_context(payload, context_id, str(payload.get("kind") or "pit"), shard)
    return {"id": context_id}, b""


def close_reader_context_method(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    context_id = str(payload["id"])
    with _lock:
        _scroll_states.pop(context_id, None)
        _opened_contexts.get(_key(payload), {}).pop(context_id, None)
    try:
        shard = registry.get(*_key(payload))
    except Exception:  # noqa: BLE001 — the shard is gone, and its contexts with it
        return {"closed": False}, b""
    return {"closed": bool(shard.close_reader_context(context_id))}, b""


def close_all_reader_contexts_method(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    """Close every context of one kind ("scroll" or "pit"; None: both) these methods opened here."""
    key = _key(payload)
    kind = payload.get("kind")
    with _lock:
        tracked = _opened_contexts.get(key, {})
        context_ids = [context_id for context_id, opened_kind in tracked.items() if kind in (None, opened_kind)]
        for context_id in context_ids:
            tracked.pop(context_id, None)
            _scroll_states.pop(context_id, None)
    shard = registry.shards.get(key)
    freed = 0
    if shard is not None:
        freed = sum(1 for context_id in context_ids if shard.close_reader_context(context_id))
    return {"freed": freed}, b""


def explain_method(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    from index.query import parse_search_request

    shard = registry.get(*_key(payload))
    document_id = str(payload["id"])
    searcher = shard.acquire_searcher()
    if searcher.get(document_id) is None:
        return {"found": False, "matched": False}, b""
    user_query = payload.get("query") or {"match_all": {}}
    request = parse_search_request({"query": {"bool": {"must": [user_query],
                                                       "filter": [{"ids": {"values": [document_id]}}]}},
                                    "size": 1, "explain": True, "_source": False})
    context = _context(payload)
    result = search_shard(searcher, request, context)
    if not result.hits:
        return {"found": True, "matched": False}, b""
    hits = fetch_hits(searcher, request, result.hits[:1], context)
    explanation = hits[0].get("_explanation") if hits else None
    # the explanation holds the ids filter as a zero-scoring clause; report the user's query's part
    return {"found": True, "matched": True, "explanation": _unwrap_explanation(explanation)}, b""


def _unwrap_explanation(explanation: Any) -> Any:
    if not isinstance(explanation, dict):
        return explanation
    details = explanation.get("details") or []
    scoring = [detail for detail in details if isinstance(detail, dict)
               and "match on required clause" not in str(detail.get("description", ""))]
    if len(details) == 2 and len(scoring) == 1 and scoring[0].get("value") == explanation.get("value"):
        return scoring[0]
    return explanation


SEARCH_METHODS: dict[str, SearchMethod] = {
    "search_shard": search_shard_method,
    "fetch": fetch_method,
    "release_fetch": release_method,
    "count": count_method,
    "open_reader_context": open_reader_context_method,
    "close_reader_context": close_reader_context_method,
    "close_all_reader_contexts": close_all_reader_contexts_method,
    "explain": explain_method,
}

# cheap and never blocking: answered on the worker loop without a thread hop
INLINE_METHODS: frozenset[str] = frozenset({"open_reader_context", "close_reader_context", "release_fetch"})


def _warm_up_analysis() -> None:
    # the standard tokenizer compiles a large Unicode pattern on first use (~1 s here): pay it
    # when the worker starts rather than in the first user's search
    try:
        AnalysisRegistry.from_index_settings({}).get("standard").terms_and_positions("warm up")
    except Exception:  # noqa: BLE001 — only a warm-up; the first search pays instead
        pass


threading.Thread(target=_warm_up_analysis, name="search-warm-up", daemon=True).start()
