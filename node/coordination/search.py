"""Search coordination: query-then-fetch across shards, scroll, point in time, count, explain,
and the search-driven writes (_delete_by_query, _update_by_query).

Owns ``SearchCoordinator``: it resolves index expressions to one copy of every shard (the local
copy when this node holds one, else the started primary, else any started copy), parses the
request ONCE (index/query ``parse_search_request``), ships its wire form to each shard's worker
(local pool or another node's ``shard/call``), merges with index/query's one
``merge_shard_results``, fetches ``_source`` for the final page only (query and fetch in one call
when a single shard is searched), and renders OpenSearch's response: took, timed_out, _shards
(failures with partial results; 400-class ``search_phase_execution_exception`` with root causes
when every shard failed), hits, aggregations, _scroll_id / pit_id.

Scroll and point-in-time ids are opaque base64url JSON naming, per shard, (node id, index name,
index uuid, shard number, reader context id). The worker keeps the snapshot (index.Shard reader
contexts, keep-alive enforced there) and each scroll's position; an expired or unknown context
surfaces as ``search_context_missing_exception`` (404).

It must never read segments or rank hits itself, and never open a shard: workers do both.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass, replace
from typing import Any, Sequence

import orjson
import trio

from index.errors import IndexEngineError, LimitExceededError, QueryParsingError
from index.query import SearchRequest, merge_shard_results, parse_search_request
from index.query.query_string import regular_expressions_in
from index.query.request import TRACK_ALL_TOTAL_HITS, TRACK_NO_TOTAL_HITS
from index.query.results import ShardHit, ShardSearchResult
from node.coordination.resolve import IndicesOptions, index_block_error, resolve_indices
from node.coordination.terms_lookup import resolve_terms_lookups
from node.coordination.shards import SHARD_CALL_TRANSPORT_METHOD
from node.coordination.values import parse_boolean, parse_integer, parse_time_seconds
from node.transport.errors import rebuild_exception
from node.errors import (
    ApiError, IllegalArgumentError, NotSupportedError, STATUS_BY_OPENSEARCH_TYPE, error_fields,
)

DEFAULT_MAX_RESULT_WINDOW = 10_000
DEFAULT_SCROLL_KEEP_ALIVE_SECONDS = 60.0
MAX_KEEP_ALIVE_SECONDS = 24 * 3600.0            # OpenSearch's search.max_keep_alive
LOCAL_COPY_OPEN_WAIT_SECONDS = 10.0
SHARD_CALL_TIMEOUT_SECONDS = 120.0
FETCH_WITH_QUERY_MAX_WINDOW = 50         # from + size
FETCH_WITH_QUERY_MAX_SHARDS = 8
SEARCH_ID_VERSION = 1
# one worker call for all local shards of a search that share a worker (ADR 0320); the worker's
# search_shard answers {BATCH_PAYLOAD_KEY: [{"reply": ...} | {"error": described}, ...]}
BATCH_LOCAL_SHARD_CALLS = True
BATCH_PAYLOAD_KEY = "batch"
BATCHABLE_METHODS = frozenset({"search_shard"})
# a fan-out sends its frames to other nodes before its local worker calls (ADR 0371): the remote
# chain (peer front, its worker, back) is the longest, and trio starts a batch of tasks in random
# order while a woken worker preempts the sender inside send(), delaying the frames after it
REMOTE_SHARD_CALLS_FIRST = True
DEFAULT_MAX_DOCVALUE_FIELDS_SEARCH = 100   # index.max_docvalue_fields_search, OpenSearch's default
DEFAULT_MAX_REGEX_LENGTH = 1000           # index.max_regex_length, OpenSearch's default
# transport methods between coordinators (registered by node/api/search.py)
CLOSE_ALL_CONTEXTS_METHOD = "search/close_all_contexts"
LIST_POINT_IN_TIMES_METHOD = "search/list_point_in_times"


# --------------------------------------------------------------------------- values


def without_disabled_sources(hits: list[dict], state: Any) -> list[dict]:
    """Hits of indices whose mapping says ``_source: {enabled: false}`` carry no ``_source``, as in
    OpenSearch (the shard still keeps the source internally: the log and recovery need it)."""
    disabled = set()
    for name, index in state.indices.items():
        source_mapping = (getattr(index, "mappings", None) or {}).get("_source")
        if isinstance(source_mapping, dict) and source_mapping.get("enabled") is False:
            disabled.add(name)
    if not disabled:
        return hits
    return [{key: value for key, value in hit.items() if key != "_source"} if hit.get("_index") in disabled else hit
            for hit in hits]


INT_BODY_FIELDS = ("size", "from")
INT_MINIMUM, INT_MAXIMUM = -2 ** 31, 2 ** 31 - 1


def check_int_fields(body: dict) -> None:
    """OpenSearch reads ``size`` and ``from`` as Java ints: a JSON number beyond them is a 400
    ``input_coercion_exception`` from the parser, before any shard is asked."""
    for name in INT_BODY_FIELDS:
        value = body.get(name)
        if type(value) is int and not INT_MINIMUM <= value <= INT_MAXIMUM:
            raise ApiError(f"Numeric value ({value}) out of range of int ({INT_MINIMUM} - {INT_MAXIMUM})",
                           opensearch_type="input_coercion_exception", status=400)


def reported_max_score(request: SearchRequest, max_score: float | None) -> float | None:
    """``hits.max_score`` as OpenSearch 2.x/3.x report it: a sorted search tracks it only with
    ``track_scores`` or when its sort starts with ``_score`` descending (the relevance order);
    ``sort: [{_score: asc}, ...]`` computes scores for the sort but reports null."""
    if max_score is None or not request.sort or request.track_scores:
        return max_score
    first = request.sort[0]
    return max_score if first.field == "_score" and first.order == "desc" else None


@dataclass(frozen=True, slots=True)
class ShardTarget:
    """One shard copy a request goes to; ``shard_index`` orders shards for tie-breaks."""

    index_name: str
    index_uuid: str
    shard_number: int
    node_id: str
    shard_index: int
    reader_context_id: str | None = None
    # other started copies, tried in order when this one fails (never for reader contexts,
    # which live on one copy)
    other_node_ids: tuple[str, ...] = ()


MAX_REMEMBERED_RESOLUTIONS = 1024


@dataclass(frozen=True, slots=True)
class ResolvedTargets:
    """What a search's index expression means in one cluster state (``resolved_targets``)."""

    index_names: tuple[str, ...]
    targets: tuple[ShardTarget, ...]
    unavailable: tuple[ShardFailure, ...]
    alias_filters: dict[str, dict]     # never mutated by readers
    # the same shards with their copies spread over the nodes (``spread_over_nodes``), for a search
    # without a preference that finds this node otherwise idle; None when a preference was given or
    # spreading changes nothing
    spread_targets: tuple[ShardTarget, ...] | None = None


# the dynamic cluster setting that lets an idle coordinator spread a search's shards over the nodes
SPREAD_IDLE_SEARCHES_SETTING = "quidditch.search.spread_idle_searches"
# spread_over_nodes compares at most this many ways of breaking its ties (a search of up to this
# many shards; larger ones keep the first way: ties to the earlier candidate)
SPREAD_MAX_ASSIGNMENTS_COMPARED = 64
SPREAD_MAX_SHARDS_SEARCHED = 32


def spread_over_nodes(targets: Sequence[ShardTarget]) -> tuple[ShardTarget, ...]:
    """Each shard's copy chosen so the shards spread over as many nodes as their copies allow: in
    shard order, each shard goes to one of its candidates (the preferred copy, then the retry
    order) holding the fewest shards of this search so far. Three shards with a replica each on
    three nodes then search on three nodes at once instead of two shards one after the other on
    the coordinating node's worker; OpenSearch's default (adaptive replica selection) does not
    prefer the local copy either. The copy not chosen comes first in the retry order.

    Which of several equally idle candidates a shard takes decides what is left for the later
    shards: ties always going to the earlier candidate put two of three shards on one node for
    one placement in three of the 3-node bench (shard 0 on n2/n1, 1 on n1/n0, 2 on n0/n2, from
    n0: n2, n0, n0 — n1 idle). So the ways of breaking ties are compared (up to
    SPREAD_MAX_ASSIGNMENTS_COMPARED, in candidate order, the old choice first) and the most even
    one wins: the smallest largest load, then the smallest sum of squared loads; equals keep the
    earlier (more preferred) way."""
    candidates_of = [tuple(dict.fromkeys((target.node_id, *target.other_node_ids))) for target in targets]
    chosen_nodes = _most_even_choice(candidates_of)
    spread = []
    for target, candidates, chosen in zip(targets, candidates_of, chosen_nodes):
        if chosen == target.node_id:
            spread.append(target)
        else:
            spread.append(replace(target, node_id=chosen, other_node_ids=tuple(
                node_id for node_id in (target.node_id, *target.other_node_ids) if node_id != chosen)))
    return tuple(spread)


def _most_even_choice(candidates_of: list[tuple[str, ...]]) -> list[str]:
    """One node per shard, each among its candidates least loaded by the shards before it (see
    ``spread_over_nodes``); tie-breaking ways explored depth first in candidate order."""
    load: dict[str, int] = {}
    if len(candidates_of) > SPREAD_MAX_SHARDS_SEARCHED:
        chosen = []
        for candidates in candidates_of:
            node = min(candidates, key=lambda node_id: (load.get(node_id, 0), candidates.index(node_id)))
            load[node] = load.get(node, 0) + 1
            chosen.append(node)
        return chosen
    best: list[str] = []
    best_key: tuple[int, int] | None = None
    compared = 0
    path: list[str] = []

    def explore(position: int) -> None:
        nonlocal best, best_key, compared
        if compared >= SPREAD_MAX_ASSIGNMENTS_COMPARED:
            return
        if position == len(candidates_of):
            compared += 1
            key = (max(load.values(), default=0), sum(count * count for count in load.values()))
            if best_key is None or key < best_key:
                best, best_key = list(path), key
            return
        candidates = candidates_of[position]
        least = min(load.get(node_id, 0) for node_id in candidates)
        for node_id in candidates:
            if load.get(node_id, 0) != least:
                continue
            load[node_id] = least + 1
            path.append(node_id)
            explore(position + 1)
            path.pop()
            load[node_id] = least

    explore(0)
    return best


@dataclass(frozen=True, slots=True)
class ShardFailure:
    index_name: str
    index_uuid: str | None
    shard_number: int
    node_id: str | None
    error: BaseException

    @property
    def status(self) -> int:
        status = getattr(self.error, "status", None)
        if isinstance(status, int):
            return status
        return STATUS_BY_OPENSEARCH_TYPE.get(error_fields(self.error)["type"], 500)

    def cause(self) -> dict[str, Any]:
        fields = error_fields(self.error)
        fields.pop("shard", None)
        fields.setdefault("index_uuid", self.index_uuid or "_na_")
        fields["index"] = self.index_name
        return fields

    def to_json(self) -> dict[str, Any]:
        return {"shard": self.shard_number, "index": self.index_name, "node": self.node_id,
                "reason": self.cause()}


class SearchPhaseExecutionError(ApiError):
    """Every shard failed: OpenSearch's status is the first failure's (a 5xx one wins)."""

    opensearch_type = "search_phase_execution_exception"

    def __init__(self, phase: str, failures: list[ShardFailure], reason: str = "all shards failed") -> None:
        status = failures[0].status if failures else 503
        for failure in failures[1:]:
            if failure.status >= 500:
                status = failure.status
        root_causes: list[dict] = []
        seen: set[tuple] = set()
        for failure in failures:
            cause = failure.cause()
            key = (cause.get("type"), cause.get("reason"), cause.get("index"))
            if key not in seen:
                seen.add(key)
                root_causes.append(cause)
        super().__init__(reason, status=status, root_cause=root_causes, phase=phase, grouped=True,
                         failed_shards=[failure.to_json() for failure in _grouped(failures)])


def _grouped(failures: list[ShardFailure]) -> list[ShardFailure]:
    """OpenSearch groups failures with the same cause and index: the first shard stands for them."""
    grouped: list[ShardFailure] = []
    seen: set[tuple] = set()
    for failure in failures:
        cause = failure.cause()
        key = (cause.get("type"), cause.get("reason"), failure.index_name)
        if key not in seen:
            seen.add(key)
            grouped.append(failure)
    return grouped


class SearchContextMissingApiError(ApiError):
    opensearch_type = "search_context_missing_exception"
    status = 404


# --------------------------------------------------------------------------- ids


def encode_search_id(kind: str, targets: list[ShardTarget], extra: dict | None = None) -> str:
    document = {"v": SEARCH_ID_VERSION, "k": kind,
                "s": [[t.node_id, t.index_name, t.index_uuid, t.shard_number, t.reader_context_id] for t in targets]}
    if extra:
        document.update(extra)
    return base64.urlsafe_b64encode(orjson.dumps(document)).decode("ascii").rstrip("=")


def decode_search_id(search_id: Any, kind: str) -> tuple[list[ShardTarget], dict]:
    what = "scroll id" if kind == "scroll" else "point in time id"
    if not isinstance(search_id, str) or not search_id:
        raise IllegalArgumentError(f"Cannot parse {what}: expected a non-empty string, got [{search_id}]")
    try:
        padded = search_id + "=" * (-len(search_id) % 4)
        document = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if document.get("v") != SEARCH_ID_VERSION or document.get("k") != kind:
            raise ValueError("wrong version or kind")
        targets = [ShardTarget(index_name=str(index_name), index_uuid=str(index_uuid), shard_number=int(shard_number),
                               node_id=str(node_id), shard_index=ordinal, reader_context_id=str(context_id))
                   for ordinal, (node_id, index_name, index_uuid, shard_number, context_id)
                   in enumerate(document["s"])]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeEncodeError, orjson.JSONDecodeError,
            AttributeError):
        raise IllegalArgumentError(f"Cannot parse {what} [{search_id}]") from None
    return targets, document


def keep_alive_seconds(value: Any, name: str = "keep_alive", default: float | None = None) -> float | None:
    if value is None or value == "":
        return default
    seconds = parse_time_seconds(value, name)
    if seconds is None:
        return default
    if seconds > MAX_KEEP_ALIVE_SECONDS:
        raise IllegalArgumentError(
            f"Keep alive for request ({value}) is too large. It must be less than (1d). This limit can be set by "
            f"changing the [search.max_keep_alive] cluster level setting.")
    return seconds


# --------------------------------------------------------------------------- the coordinator


@dataclass
class QueryThenFetchOutcome:
    request: SearchRequest
    merged: Any
    hits: list[dict]
    failures: list[ShardFailure]
    total_shards: int
    replies: dict[int, dict]            # shard_index → the query-phase reply
    hit_shard_indexes: list[int] | None = None   # aligned with hits: which target each came from
    timed_out: bool = False
    targets: tuple = ()                          # the shard targets searched


class SearchCoordinator:
    def __init__(self, services: Any) -> None:
        self.services = services
        self.context = services.context
        # point in times opened through this node: pit id → (keep-alive seconds, creation time ms),
        # for GET /_search/point_in_time/_all and DELETE .../_all
        self.open_point_in_times: dict[str, tuple[float, int]] = {}
        # index expression → resolved targets, for the cluster state they were computed from
        self._resolved_state: Any = None
        self._resolved: dict[tuple, ResolvedTargets] = {}

    # ------------------------------------------------------------------ shard selection

    @property
    def state(self) -> Any:
        return self.context.metadata.state

    def resolve(self, index_expression: str | None, query_params: dict[str, str]) -> list[str]:
        options = IndicesOptions.from_params(query_params)
        return resolve_indices(self.state, index_expression, options)

    def resolved_targets(self, index_expression: str | None, query_params: dict[str, str]) -> ResolvedTargets:
        """``resolve`` + ``shard_targets`` + ``alias_filters`` of a search, remembered for the
        cluster state they were computed from: all three are pure functions of that immutable
        state, the expression and these parameters, and together cost a few tens of µs per
        search. Errors (a missing or closed index, a read block) are never remembered."""
        state = self.state
        key = (index_expression, query_params.get("expand_wildcards"), query_params.get("ignore_unavailable"),
               query_params.get("allow_no_indices"), query_params.get("routing"), query_params.get("preference"))
        if state is not self._resolved_state:
            self._resolved_state = state
            self._resolved = {}
        found = self._resolved.get(key)
        if found is not None:
            return found
        index_names = self.resolve(index_expression, query_params)
        self._check_read_blocks(index_names)      # a block is part of the state: checked once per state
        targets, unavailable = self.shard_targets(index_names, query_params.get("routing"),
                                                  query_params.get("preference"))
        spread = (spread_over_nodes(targets) if query_params.get("preference") in (None, "")
                  and any(target.other_node_ids for target in targets) else None)
        found = ResolvedTargets(tuple(index_names), tuple(targets), tuple(unavailable),
                                self.alias_filters(index_expression, index_names),
                                spread if spread is not None and spread != tuple(targets) else None)
        if self.state is state:
            if len(self._resolved) >= MAX_REMEMBERED_RESOLUTIONS:
                self._resolved.clear()
            self._resolved[key] = found
        return found

    def alias_filters(self, index_expression: str | None, index_names: list[str]) -> dict[str, dict]:
        """Index name → the filter its searched aliases impose (absent: searched unfiltered).

        As OpenSearch: an index named directly (or by a wildcard over index names) is searched
        whole; reached only through aliases, it is filtered by the OR of their filters, and one
        alias without a filter lifts the filter."""
        import fnmatch

        state = self.state
        wanted = set(index_names)
        unfiltered: set[str] = set()
        filters: dict[str, list[dict]] = {}

        def through_alias(alias: str) -> None:
            for name in state.resolve_alias(alias):
                if name not in wanted:
                    continue
                alias_filter = state.indices[name].aliases[alias].filter
                if alias_filter:
                    filters.setdefault(name, []).append(alias_filter)
                else:
                    unfiltered.add(name)

        parts = [part.strip() for part in (index_expression or "_all").split(",") if part.strip()]
        for part in parts:
            if part.startswith("-"):
                continue
            if part in ("_all", "*") or "*" in part or "?" in part:
                pattern = "*" if part == "_all" else part
                unfiltered.update(name for name in wanted if fnmatch.fnmatchcase(name, pattern))
                for alias in state.all_alias_names():
                    if fnmatch.fnmatchcase(alias, pattern):
                        through_alias(alias)
            elif part in state.indices:
                unfiltered.add(part)
            else:
                through_alias(part)
        result: dict[str, dict] = {}
        for name, found in filters.items():
            if name in unfiltered or not found:
                continue
            result[name] = found[0] if len(found) == 1 else {"bool": {"should": found, "minimum_should_match": 1}}
        return result

    def filtered_requests(self, request: SearchRequest, alias_filters: dict[str, dict]) -> dict[str, dict]:
        """Index name → the request wire with its alias filter added (only filtered indices)."""
        from index.query import parse_query

        wires: dict[str, dict] = {}
        for name, alias_filter in alias_filters.items():
            query = parse_query({"bool": {"must": [request.query.to_json()], "filter": [alias_filter]}})
            wires[name] = replace(request, query=query).to_wire()
        return wires

    def shard_targets(self, index_names: list[str], routing: str | None = None,
                      preference: str | None = None) -> tuple[list[ShardTarget], list[ShardFailure]]:
        """One copy of every shard of ``index_names`` (only the routed shards when ``routing`` —
        comma-separated values — is given, as OpenSearch's search routing), chosen by
        ``preference`` (see ``order_copies``); the other started copies are the retry order."""
        state = self.state
        targets: list[ShardTarget] = []
        failures: list[ShardFailure] = []
        ordinal = 0
        only_shards: set[int] | None = None
        if preference and preference.startswith("_shards:"):
            # "_shards:0,2" or "_shards:0,2|<another preference>"
            listed, _, rest = preference[len("_shards:"):].partition("|")
            try:
                only_shards = {int(number) for number in listed.split(",") if number.strip()}
            except ValueError:
                raise IllegalArgumentError(f"no Preference for [{preference}]") from None
            preference = rest or None
        for index_name in sorted(index_names):
            index = state.indices.get(index_name)
            if index is None:
                continue
            if index.state != "open":
                raise ApiError(f"closed", opensearch_type="index_closed_exception", index=index_name,
                               index_uuid=index.uuid)
            routed = routed_shards(index, routing) if routing else None
            for shard in state.routing_table.get(index_name, ()):
                if (routed is not None and shard.shard_number not in routed) or (
                        only_shards is not None and shard.shard_number not in only_shards):
                    continue
                started = [c for c in shard.copies if c.node_id and c.state in ("STARTED", "RELOCATING")]
                ordered = order_copies(started, self.context.node_id, preference, index.uuid, shard.shard_number)
                chosen = ordered[0] if ordered else None
                if chosen is None:
                    failures.append(ShardFailure(index_name, index.uuid, shard.shard_number, None, ApiError(
                        f"No shard available for [{index_name}][{shard.shard_number}]",
                        opensearch_type="no_shard_available_action_exception")))
                else:
                    others = tuple(c.node_id for c in ordered[1:])
                    targets.append(ShardTarget(index_name, index.uuid, shard.shard_number, chosen.node_id, ordinal,
                                               other_node_ids=others))
                ordinal += 1
        return targets, failures

    def smallest_index_setting(self, index_names: list[str], key: str, default: int) -> int:
        """The smallest value of an integer index setting over ``index_names`` (each index's own
        limit holds for a search spanning several), ``default`` where unset."""
        values = []
        for index_name in index_names:
            index = self.state.indices.get(index_name)
            raw = index.settings.get(key) if index is not None else None
            values.append(parse_integer(raw, key, default, minimum=0) if raw not in (None, "") else default)
        return min(values, default=default)

    def check_request_limits(self, request: SearchRequest, index_names: list[str]) -> None:
        """index.max_docvalue_fields_search (100) and index.max_regex_length (1000), with
        OpenSearch's messages, before any shard does the work."""
        docvalue_limit = self.smallest_index_setting(index_names, "index.max_docvalue_fields_search",
                                                     DEFAULT_MAX_DOCVALUE_FIELDS_SEARCH)
        if len(request.docvalue_fields) > docvalue_limit:
            raise IllegalArgumentError(
                f"Trying to retrieve too many docvalue_fields. Must be less than or equal to: [{docvalue_limit}] "
                f"but was [{len(request.docvalue_fields)}]. This limit can be set by changing the "
                f"[index.max_docvalue_fields_search] index level setting.")
        regex_limit = self.smallest_index_setting(index_names, "index.max_regex_length", DEFAULT_MAX_REGEX_LENGTH)
        queries = [request.query] + ([request.post_filter] if request.post_filter is not None else [])
        for query in queries:
            for expression in regular_expressions_in(query):
                if len(expression) > regex_limit:
                    raise IllegalArgumentError(
                        f"The length of regex [{len(expression)}] used in the Regexp Query request has exceeded "
                        f"the allowed maximum of [{regex_limit}]. This maximum can be set by changing the "
                        f"[index.max_regex_length] index level setting.")

    def max_result_window(self, index_names: list[str]) -> int:
        window = None
        for index_name in index_names:
            index = self.state.indices.get(index_name)
            if index is None:
                continue
            raw = index.settings.get("index.max_result_window")
            value = int(raw) if raw not in (None, "") else DEFAULT_MAX_RESULT_WINDOW
            window = value if window is None else min(window, value)
        return DEFAULT_MAX_RESULT_WINDOW if window is None else window

    async def wait_for_local_copy(self, target: ShardTarget) -> None:
        """A local copy still opening (just allocated, or its worker restarting) is waited for."""
        local = self.services.director.local.get((target.index_uuid, target.shard_number))
        if local is not None and not local.opened.is_set():
            with trio.move_on_after(LOCAL_COPY_OPEN_WAIT_SECONDS):
                await local.opened.wait()

    async def call_shard(self, target: ShardTarget, method: str, payload: dict,
                         body: bytes = b"") -> tuple[dict, bytes]:
        if target.node_id == self.context.node_id:
            await self.wait_for_local_copy(target)
            return await self.context.workers.call(target.index_uuid, target.shard_number, method, payload, body,
                                                   timeout_seconds=SHARD_CALL_TIMEOUT_SECONDS)
        node = self.state.nodes.get(target.node_id)
        if node is None:
            raise ApiError(f"node [{target.node_id}] is not in the cluster",
                           opensearch_type="node_not_connected_exception")
        return await self.context.peers.request(
            node.transport_address, SHARD_CALL_TRANSPORT_METHOD,
            {"index_uuid": target.index_uuid, "shard_number": target.shard_number, "method": method,
             "payload": payload}, body, SHARD_CALL_TIMEOUT_SECONDS)

    async def fan_out(self, targets: list[ShardTarget], method: str, payload_for: Any,
                      timeout_seconds: float | None = None,
                      timed_out: set[int] | None = None) -> tuple[dict[int, dict], list[ShardFailure]]:
        """Call ``method`` on every target at once; one shard's failure never cancels the others.
        With ``timeout_seconds``, a shard that has not answered in time is left out and its
        shard_index added to ``timed_out`` (OpenSearch's search ``timeout``: partial results)."""
        replies: dict[int, dict] = {}
        failures: list[ShardFailure] = []

        async def attempts(target: ShardTarget, payload: dict, first_error: BaseException | None = None) -> None:
            """``first_error``: the first copy already failed with it (in a batched call)."""
            copies = [target]
            if target.other_node_ids and target.reader_context_id is None and "reader_context_id" not in payload:
                copies += [replace(target, node_id=node_id) for node_id in target.other_node_ids]
            for attempt, copy in enumerate(copies):
                try:
                    if attempt == 0 and first_error is not None:
                        raise first_error
                    reply, _ = await self.call_shard(copy, method, payload)
                except Exception as error:  # noqa: BLE001 — reported per shard, as OpenSearch does
                    error = _unwrap(error)
                    if attempt + 1 < len(copies) and _worth_another_copy(error):
                        continue
                    failures.append(ShardFailure(copy.index_name, copy.index_uuid, copy.shard_number,
                                                 copy.node_id, error))
                    return
                # later phases (fetch, release, the reader context) go where this one ran
                reply["served_by"] = copy.node_id
                replies[target.shard_index] = reply
                return

        async def one(target: ShardTarget) -> None:
            payload = payload_for(target)
            if timeout_seconds is None:
                # no cancel scope of our own: the call's own deadline (SHARD_CALL_TIMEOUT_SECONDS)
                # bounds it, and a scope per shard is measurable on the search path
                await attempts(target, payload)
                return
            with trio.move_on_after(timeout_seconds) as scope:
                await attempts(target, payload)
            if scope.cancelled_caught and timed_out is not None:
                timed_out.add(target.shard_index)

        async def one_call_for_several(group: list[ShardTarget]) -> None:
            """Local shards of one worker searched in one call (ADR 0320): one frame each way
            instead of one per shard. A shard that failed there is retried on its other copies
            exactly as if it had been called alone."""
            payloads = [payload_for(target) for target in group]
            for target in group:
                await self.wait_for_local_copy(target)
            batch = [{**payload, "index_uuid": target.index_uuid, "shard_number": target.shard_number}
                     for target, payload in zip(group, payloads)]
            first = group[0]
            try:
                reply, _ = await self.context.workers.call(first.index_uuid, first.shard_number, method,
                                                           {BATCH_PAYLOAD_KEY: batch},
                                                           timeout_seconds=SHARD_CALL_TIMEOUT_SECONDS)
                outcomes = reply[BATCH_PAYLOAD_KEY]
                if not isinstance(outcomes, list) or len(outcomes) != len(group):
                    raise ApiError(f"a batched {method} answered {type(outcomes).__name__} for {len(group)} shards",
                                   opensearch_type="illegal_state_exception")
            except Exception as error:  # noqa: BLE001 — every shard of the call failed with it
                outcomes = [{"error": _unwrap(error)}] * len(group)
            for target, payload, outcome in zip(group, payloads, outcomes):
                if "reply" in outcome:
                    answer = outcome["reply"]
                    answer["served_by"] = target.node_id
                    replies[target.shard_index] = answer
                    continue
                error = outcome["error"]
                await attempts(target, payload, error if isinstance(error, BaseException) else rebuild_exception(error))

        if len(targets) == 1:
            await one(targets[0])
        else:
            groups = self._local_worker_groups(targets, method, payload_for, timeout_seconds)
            local_node_id = self.context.node_id
            remote = [group for group in groups if group[0].node_id != local_node_id]
            local = [group for group in groups if group[0].node_id == local_node_id]
            first_local = local[0] if (REMOTE_SHARD_CALLS_FIRST and remote and local) else None
            async with trio.open_nursery() as nursery:
                for group in (remote + local if REMOTE_SHARD_CALLS_FIRST else groups):
                    if group is first_local:
                        # one scheduler pass: the remote tasks run to their send() before the
                        # local ones exist (tasks spawned during a pass wait for the next one)
                        await trio.lowlevel.checkpoint()
                    if len(group) == 1:
                        nursery.start_soon(one, group[0])
                    else:
                        nursery.start_soon(one_call_for_several, group)
        failures.sort(key=lambda failure: (failure.index_name, failure.shard_number))
        return replies, failures

    def _local_worker_groups(self, targets: list[ShardTarget], method: str, payload_for: Any,
                             timeout_seconds: float | None) -> list[list[ShardTarget]]:
        """``targets`` in call groups: the plain query phases (no reader context, no scroll being
        opened, no per-shard timeout) of local shards that live on the same worker form one group
        (one worker call); every other target is a group of its own."""
        if method not in BATCHABLE_METHODS or timeout_seconds is not None or not BATCH_LOCAL_SHARD_CALLS:
            return [[target] for target in targets]
        local_node_id = self.context.node_id
        worker_for = getattr(self.context.workers, "worker_for", None)
        by_worker: dict[int, list[ShardTarget]] = {}
        groups: list[list[ShardTarget]] = []
        for target in targets:
            if target.node_id != local_node_id or target.reader_context_id is not None or worker_for is None:
                groups.append([target])
                continue
            by_worker.setdefault(worker_for(target.index_uuid, target.shard_number), []).append(target)
        for group in by_worker.values():
            # the payload decides too: a scroll's first page opens a context on the copy it runs on
            plain = [target for target in group if not _opens_or_reads_context(payload_for(target))]
            groups.extend([target] for target in group if target not in plain)
            if len(plain) > 1:
                groups.append(plain)
            else:
                groups.extend([target] for target in plain)
        return groups

    # ------------------------------------------------------------------ query then fetch

    def parse_request(self, body: Any, query_params: dict[str, str], index_names: list[str],
                      targets: list[ShardTarget], scroll: bool = False) -> SearchRequest:
        if body is not None and not isinstance(body, dict):
            raise QueryParsingError("request body is required to be an object")
        if body:
            check_int_fields(body)
        window = self.max_result_window(index_names)
        try:
            request = parse_search_request(body, query_params, registry=self.services.query_registry,
                                           max_result_window=window if not scroll else 2 ** 31)
        except LimitExceededError as error:
            if getattr(error, "details", {}).get("limit") == "max_result_window" and targets:
                raise SearchPhaseExecutionError("query", [
                    ShardFailure(t.index_name, t.index_uuid, t.shard_number, t.node_id, error) for t in targets])
            raise
        self.check_request_limits(request, index_names)
        if parse_boolean(query_params.get("rest_total_hits_as_int"), "rest_total_hits_as_int"):
            tracked = request.track_total_hits
            if tracked not in (TRACK_ALL_TOTAL_HITS, TRACK_NO_TOTAL_HITS):
                if "track_total_hits" in query_params or (isinstance(body, dict) and "track_total_hits" in body):
                    raise IllegalArgumentError(
                        f"[rest_total_hits_as_int] cannot be used if the tracking of total hits is not accurate, "
                        f"got {tracked}")
                # as OpenSearch: an integer total must be exact, so the default becomes "track all"
                request = replace(request, track_total_hits=TRACK_ALL_TOTAL_HITS)
        if scroll:
            if request.from_ > 0:
                raise ApiError("Validation Failed: 1: using [from] is not allowed in a scroll context;",
                               opensearch_type="action_request_validation_exception")
            if request.size > window:
                raise SearchPhaseExecutionError("query", [
                    ShardFailure(t.index_name, t.index_uuid, t.shard_number, t.node_id, IllegalArgumentError(
                        f"Batch size is too large, size must be less than or equal to: [{window}] but was "
                        f"[{request.size}]. Scroll batch sizes cost as much memory as result windows so they are "
                        f"controlled by the [index.max_result_window] index level setting.")) for t in targets])
        return request

    async def query_then_fetch(self, targets: list[ShardTarget], request: SearchRequest | None,
                               extra_payload: Any = None, scroll: bool = False,
                               initial_failures: list[ShardFailure] | None = None,
                               request_wires_by_index: dict[str, dict] | None = None,
                               timeout_seconds: float | None = None) -> QueryThenFetchOutcome:
        """``request`` None = a scroll continuation: the workers hold the request."""
        outcome = await self._query_then_fetch(targets, request, extra_payload, scroll, initial_failures,
                                               request_wires_by_index, timeout_seconds)
        outcome.targets = tuple(targets)
        return outcome

    async def _query_then_fetch(self, targets: list[ShardTarget], request: SearchRequest | None,
                                extra_payload: Any, scroll: bool, initial_failures: list[ShardFailure] | None,
                                request_wires_by_index: dict[str, dict] | None,
                                timeout_seconds: float | None) -> QueryThenFetchOutcome:
        now_millis = int(time.time() * 1000)
        request_wire = request.to_wire() if request is not None else None
        inline_fetch = len(targets) == 1
        # small pages over few shards: every shard fetches its whole window with the query phase
        # (a few wasted source reads) instead of a second round trip per shard
        fetch_windows = (not inline_fetch and not scroll and request is not None
                         and 0 < request.window_size <= FETCH_WITH_QUERY_MAX_WINDOW
                         and len(targets) <= FETCH_WITH_QUERY_MAX_SHARDS)
        base = {"request": request_wire, "now_millis": now_millis, "node_id": self.context.node_id,
                "fetch": "window" if fetch_windows else inline_fetch, "scroll": scroll,
                # size 0 (aggregations only): no fetch phase will follow, so keep no snapshot for it
                "fetch_expected": request is None or request.size > 0}

        def payload_for(target: ShardTarget) -> dict:
            payload = {**base, "index_name": target.index_name, "shard_index": target.shard_index}
            if request_wires_by_index and target.index_name in request_wires_by_index:
                payload["request"] = request_wires_by_index[target.index_name]
            if extra_payload is not None:
                payload.update(extra_payload(target))
            return payload

        timed_out: set[int] = set()
        replies, failures = await self.fan_out(targets, "search_shard", payload_for, timeout_seconds, timed_out)
        failures = list(initial_failures or ()) + failures
        total_shards = len(targets) + len(initial_failures or ())
        if not replies:
            if failures:
                raise SearchPhaseExecutionError("query", failures)
            request = request or SearchRequest()
            merged = merge_shard_results([], request)
            return QueryThenFetchOutcome(request, merged, [], failures, total_shards, replies,
                                         timed_out=bool(timed_out))
        if request is None:
            stored = next((reply.get("request") for reply in replies.values() if reply.get("request")), None)
            if stored is None:
                raise ApiError("the scroll's request was not found on any shard",
                               opensearch_type="search_context_missing_exception", status=404)
            request = SearchRequest.from_wire(stored)
        results = [ShardSearchResult.from_wire(reply["result"]) for reply in replies.values()]
        merge_request = replace(request, from_=0) if scroll else request
        merged = merge_shard_results(results, merge_request)
        page = list(merged.hits)
        if fetch_windows:
            fetched: dict[tuple[int, int, int], dict] = {}
            for result in results:
                window_hits = replies[result.shard_index].get("window_hits") or []
                for hit, rendered in zip(result.hits, window_hits):
                    fetched[(hit.shard_index, hit.segment_index, hit.doc)] = rendered
            hits = [fetched[(hit.shard_index, hit.segment_index, hit.doc)] for hit in page]
            return QueryThenFetchOutcome(request, merged, hits, failures, total_shards, replies,
                                         [hit.shard_index for hit in page], bool(timed_out))
        if inline_fetch:
            hits = next(iter(replies.values())).get("hits") or []
            return QueryThenFetchOutcome(request, merged, hits, failures, total_shards, replies,
                                         [targets[0].shard_index] * len(hits), bool(timed_out))
        pairs = await self._fetch(targets, request, page, replies, now_millis, scroll, failures)
        return QueryThenFetchOutcome(request, merged, [hit for _, hit in pairs], failures, total_shards, replies,
                                     [shard_index for shard_index, _ in pairs], bool(timed_out))

    async def _fetch(self, targets: list[ShardTarget], request: SearchRequest, page: list[ShardHit],
                     replies: dict[int, dict], now_millis: int, scroll: bool,
                     failures: list[ShardFailure]) -> list[tuple[int, dict]]:
        by_shard: dict[int, list[int]] = {}
        for position, hit in enumerate(page):
            by_shard.setdefault(hit.shard_index, []).append(position)
        targets_by_index = {target.shard_index: target for target in targets}
        fetched: list[dict | None] = [None] * len(page)
        request_wire = request.to_wire()

        async def fetch_one(target: ShardTarget, positions: list[int]) -> None:
            reply = replies[target.shard_index]
            target = replace(target, node_id=reply.get("served_by", target.node_id))
            payload = {"request": request_wire, "hits": [page[p].to_wire() for p in positions],
                       "fetch_token": reply.get("fetch_token"), "index_name": target.index_name,
                       "shard_index": target.shard_index, "now_millis": now_millis,
                       "node_id": self.context.node_id}
            context_id = target.reader_context_id or reply.get("reader_context_id")
            if context_id:
                payload["reader_context_id"] = context_id
            if scroll:
                payload["scroll_context_id"] = context_id
                payload["scroll_advance"] = len(positions)
            try:
                result, _ = await self.call_shard(target, "fetch", payload)
            except Exception as error:  # noqa: BLE001 — a fetch failure drops that shard's hits
                failures.append(ShardFailure(target.index_name, target.index_uuid, target.shard_number,
                                             target.node_id, _unwrap(error)))
                return
            for position, hit in zip(positions, result["hits"]):
                fetched[position] = hit

        async def release(target: ShardTarget) -> None:
            target = replace(target, node_id=replies[target.shard_index].get("served_by", target.node_id))
            token = replies[target.shard_index].get("fetch_token")
            if token:
                try:
                    await self.call_shard(target, "release_fetch", {"fetch_tokens": [token]})
                except Exception:  # noqa: BLE001 — the hand-over expires by itself
                    pass

        async with trio.open_nursery() as nursery:
            for shard_index in replies:
                target = targets_by_index[shard_index]
                if shard_index in by_shard:
                    nursery.start_soon(fetch_one, target, by_shard[shard_index])
                else:
                    nursery.start_soon(release, target)
        return [(page[position].shard_index, hit) for position, hit in enumerate(fetched) if hit is not None]

    # ------------------------------------------------------------------ rendering

    def render(self, outcome: QueryThenFetchOutcome, started: float, query_params: dict[str, str],
               extra: dict | None = None) -> dict:
        merged = outcome.merged
        response: dict[str, Any] = {}
        if extra:
            response.update(extra)
        response["took"] = int((time.perf_counter() - started) * 1000)
        response["timed_out"] = outcome.timed_out
        if merged.terminated_early:
            response["terminated_early"] = True
        response["_shards"] = shards_header(outcome.total_shards, outcome.failures)
        hits: dict[str, Any] = {}
        total = merged.total_json()
        as_int = parse_boolean(query_params.get("rest_total_hits_as_int"), "rest_total_hits_as_int")
        if total is not None:
            hits["total"] = total["value"] if as_int else total
        elif as_int:
            hits["total"] = -1   # track_total_hits: false, rendered as OpenSearch renders it as an integer
        hits["max_score"] = reported_max_score(outcome.request, merged.max_score)
        hits["hits"] = without_disabled_sources(outcome.hits, self.state)
        response["hits"] = hits
        if outcome.request.aggregations is not None:
            from index.aggregations import render_response

            response["aggregations"] = render_response(outcome.request.aggregations, merged.aggregations)
            if parse_boolean(query_params.get("typed_keys"), "typed_keys"):
                from index.aggregations import parse_aggregations

                response["aggregations"] = typed_aggregation_keys(
                    response["aggregations"], parse_aggregations(outcome.request.aggregations),
                    self.field_type_lookup({target.index_name for target in outcome.targets}))
        if outcome.request.profile:
            response["profile"] = {"shards": list(merged.profiles)}
        return response

    def field_type_lookup(self, index_names: Any) -> Any:
        """field path → mapped type in the first searched index that maps it (for typed_keys)."""
        from index.mapping import Mapping

        state = self.state
        mappings = [Mapping.from_json(state.indices[name].mappings) for name in sorted(set(index_names))
                    if name in state.indices]

        def field_type(path: str) -> str | None:
            for mapping in mappings:
                field = mapping.field(path)
                if field is not None:
                    return field.type
            return None
        return field_type

    # ------------------------------------------------------------------ the APIs

    async def search(self, index_expression: str | None, body: Any, query_params: dict[str, str]) -> dict:
        started = time.perf_counter()
        body = dict(body) if isinstance(body, dict) else body
        body = await resolve_terms_lookups(self.services, body)
        pit = body.pop("pit", None) if isinstance(body, dict) else None
        if pit is not None:
            if index_expression not in (None, ""):
                raise ApiError("Validation Failed: 1: [indices] cannot be used with point in time. Do not specify "
                               "any index with point in time.;",
                               opensearch_type="action_request_validation_exception")
            return await self._search_point_in_time(pit, body, query_params, started)
        scroll_seconds = keep_alive_seconds(query_params.get("scroll"), "scroll")
        boosts = self.indices_boost(body.pop("indices_boost", None) if isinstance(body, dict) else None)
        timeout_value = body.pop("timeout", None) if isinstance(body, dict) else None
        timeout_value = query_params.get("timeout", timeout_value)
        timeout_seconds = parse_time_seconds(timeout_value, "timeout") if timeout_value not in (None, "", "-1") \
            else None
        resolved = self.resolved_targets(index_expression, query_params)
        chosen_targets = resolved.targets
        if resolved.spread_targets is not None and self.services.admission.search_requests <= 1 \
                and str(self.state.setting(SPREAD_IDLE_SEARCHES_SETTING, "false")).lower() == "true":
            # asked for (ADR 0351; off by default): this node coordinates no other search, so
            # spread the shards over the nodes to search them in parallel; otherwise this node's
            # own copies cost the cluster less (one worker call for all of them, no transport;
            # ADR 0320), which measured better on two cores even for a lone search
            chosen_targets = resolved.spread_targets
        index_names, targets, unavailable = (list(resolved.index_names), list(chosen_targets),
                                             list(resolved.unavailable))
        self._check_allow_partial(query_params, unavailable)
        request = self.parse_request(body, query_params, index_names, targets, scroll=scroll_seconds is not None)
        filtered = self.filtered_requests(request, resolved.alias_filters)
        if scroll_seconds is None:
            outcome = await self.query_then_fetch(targets, request, initial_failures=unavailable,
                                                  request_wires_by_index=filtered, timeout_seconds=timeout_seconds,
                                                  extra_payload=_boost_payload(boosts))
            self._check_partial(query_params, outcome.failures)
            self.services.record_search(index_names, (time.perf_counter() - started) * 1000)
            return self.render(outcome, started, query_params)
        outcome = await self.query_then_fetch(
            targets, request, extra_payload=lambda target: {"open_scroll_seconds": scroll_seconds,
                                                            **_boost_payload(boosts)(target)}, scroll=True,
            initial_failures=unavailable, request_wires_by_index=filtered)
        opened = [_opened_on(target, outcome.replies[target.shard_index], "reader_context_id")
                  for target in targets if target.shard_index in outcome.replies]
        scroll_id = encode_search_id("scroll", opened)
        self.services.record_search(index_names, (time.perf_counter() - started) * 1000, scroll=True)
        return self.render(outcome, started, query_params, extra={"_scroll_id": scroll_id})

    def indices_boost(self, value: Any) -> dict[str, float]:
        """``indices_boost`` ([{expression: boost}, ...] or {name: boost}) → concrete index → boost;
        the first entry naming an index wins, as OpenSearch."""
        if value is None:
            return {}
        entries: list[tuple[str, Any]] = []
        if isinstance(value, dict):
            entries = list(value.items())
        elif isinstance(value, list) and all(isinstance(item, dict) and len(item) == 1 for item in value):
            entries = [next(iter(item.items())) for item in value]
        else:
            raise QueryParsingError("[indices_boost] failed to parse: expected an array of {index: boost} objects")
        boosts: dict[str, float] = {}
        for expression, boost in entries:
            if isinstance(boost, bool) or not isinstance(boost, (int, float)):
                raise QueryParsingError(f"[indices_boost] boost for [{expression}] must be a number, got [{boost}]")
            for name in resolve_indices(self.state, str(expression), IndicesOptions()):
                boosts.setdefault(name, float(boost))
        return boosts

    def _check_allow_partial(self, query_params: dict[str, str], failures: list[ShardFailure]) -> None:
        if failures and not parse_boolean(query_params.get("allow_partial_search_results"),
                                          "allow_partial_search_results", True):
            raise SearchPhaseExecutionError("query", failures, reason="Search rejected due to missing shards "
                                            f"[{', '.join(f'[{f.index_name}][{f.shard_number}]' for f in failures)}]. "
                                            "Consider using `allow_partial_search_results` setting to bypass this "
                                            "error.")

    def _check_partial(self, query_params: dict[str, str], failures: list[ShardFailure]) -> None:
        if failures and not parse_boolean(query_params.get("allow_partial_search_results"),
                                          "allow_partial_search_results", True):
            raise SearchPhaseExecutionError("query", failures, reason="Partial shards failure")

    async def scroll(self, scroll_id: Any, scroll_value: Any, query_params: dict[str, str]) -> dict:
        started = time.perf_counter()
        targets, _ = decode_search_id(scroll_id, "scroll")
        seconds = keep_alive_seconds(scroll_value, "scroll")
        outcome = await self.query_then_fetch(
            targets, None, scroll=True,
            extra_payload=lambda target: {"reader_context_id": target.reader_context_id,
                                          "keep_alive_seconds": seconds})
        index_names = sorted({target.index_name for target in targets})
        self.services.record_search(index_names, (time.perf_counter() - started) * 1000, scroll=True)
        return self.render(outcome, started, query_params, extra={"_scroll_id": scroll_id})

    async def clear_scroll(self, scroll_ids: list[Any] | None) -> tuple[dict, int]:
        """None = every scroll context on every node (``_all``)."""
        if scroll_ids is None:
            replies = await self.on_every_node(CLOSE_ALL_CONTEXTS_METHOD, {"kind": "scroll"})
            return {"succeeded": True, "num_freed": sum(int(reply.get("freed", 0)) for reply in replies)}, 200
        targets: list[ShardTarget] = []
        for scroll_id in scroll_ids:
            decoded, _ = decode_search_id(scroll_id, "scroll")
            targets.extend(decoded)
        freed = await self._close_contexts(targets)
        return {"succeeded": True, "num_freed": freed}, (200 if freed or not targets else 404)

    async def on_every_node(self, method: str, payload: dict) -> list[dict]:
        """Run one of this module's transport methods here and on every other node; a node that
        does not answer is left out (its contexts expire by their keep-alive)."""
        replies: list[dict] = []

        async def one(node_id: str, node: Any) -> None:
            try:
                if node_id == self.context.node_id:
                    reply, _ = await self.transport_methods()[method](payload, b"")
                else:
                    reply, _ = await self.context.peers.request(node.transport_address, method, payload, b"",
                                                                SHARD_CALL_TIMEOUT_SECONDS)
            except Exception:  # noqa: BLE001 — best effort, as the keep-alive bounds what is left
                return
            replies.append(reply)

        nodes = dict(self.state.nodes)
        nodes.setdefault(self.context.node_id, None)
        async with trio.open_nursery() as nursery:
            for node_id, node in nodes.items():
                nursery.start_soon(one, node_id, node)
        return replies

    def transport_methods(self) -> dict[str, Any]:
        return {CLOSE_ALL_CONTEXTS_METHOD: self.handle_close_all_contexts,
                LIST_POINT_IN_TIMES_METHOD: self.handle_list_point_in_times}

    async def handle_close_all_contexts(self, payload: dict, body: bytes) -> tuple[dict, bytes]:
        """This node's part of ``_all``: close its shards' contexts of one kind; for "pit" also
        forget (and report) the PIT ids opened through this node."""
        kind = payload.get("kind")
        freed = 0
        for local in self.services.director.local_copies():
            try:
                reply, _ = await self.context.workers.call(local.index_uuid, local.shard_number,
                                                           "close_all_reader_contexts", {"kind": kind})
                freed += int(reply.get("freed", 0))
            except Exception:  # noqa: BLE001 — a shard that went away has no contexts left
                continue
        pit_ids: list[str] = []
        if kind in (None, "pit"):
            pit_ids = list(self.open_point_in_times)
            self.open_point_in_times.clear()
        return {"freed": freed, "pit_ids": pit_ids}, b""

    async def handle_list_point_in_times(self, payload: dict, body: bytes) -> tuple[dict, bytes]:
        return self.list_local_point_in_times(), b""

    async def _close_contexts(self, targets: list[ShardTarget]) -> int:
        targets = [replace(target, shard_index=position) for position, target in enumerate(targets)]
        replies, _ = await self.fan_out(targets, "close_reader_context",
                                        lambda target: {"id": target.reader_context_id})
        return sum(1 for reply in replies.values() if reply.get("closed"))

    # ------------------------------------------------------------------ point in time

    async def open_point_in_time(self, index_expression: str | None, query_params: dict[str, str]) -> dict:
        seconds = keep_alive_seconds(query_params.get("keep_alive"), "keep_alive")
        if seconds is None:
            raise ApiError("Validation Failed: 1: [keep_alive] is missing;",
                           opensearch_type="action_request_validation_exception")
        if index_expression in (None, ""):
            raise ApiError("Validation Failed: 1: [index] is missing;",
                           opensearch_type="action_request_validation_exception")
        index_names = self.resolve(index_expression, query_params)
        targets, unavailable = self.shard_targets(index_names)
        replies, failures = await self.fan_out(targets, "open_reader_context",
                                               lambda target: {"keep_alive_seconds": seconds})
        failures = unavailable + failures
        if failures:
            opened = [_opened_on(t, replies[t.shard_index], "id") for t in targets if t.shard_index in replies]
            await self._close_contexts(opened)
            raise SearchPhaseExecutionError("query", failures)
        opened = [_opened_on(target, replies[target.shard_index], "id") for target in targets]
        creation_time = int(time.time() * 1000)
        pit_id = encode_search_id("pit", opened, {"t": creation_time})
        self._forget_expired_point_in_times()
        self.open_point_in_times[pit_id] = (seconds, creation_time)
        return {"pit_id": pit_id, "_shards": shards_header(len(targets), []), "creation_time": creation_time}

    def _forget_expired_point_in_times(self) -> None:
        now = int(time.time() * 1000)
        for pit_id, (seconds, creation_time) in list(self.open_point_in_times.items()):
            if creation_time + seconds * 1000 < now:
                # a search may have extended it; keep listing it for a day at most
                if creation_time + MAX_KEEP_ALIVE_SECONDS * 1000 < now:
                    self.open_point_in_times.pop(pit_id, None)

    async def close_point_in_time(self, pit_ids: list[Any] | None) -> list[tuple[str, int, int]]:
        """(pit id, contexts freed, contexts named) per id; None = every PIT in the cluster."""
        if pit_ids is None:
            replies = await self.on_every_node(CLOSE_ALL_CONTEXTS_METHOD, {"kind": "pit"})
            results = []
            for reply in replies:
                for pit_id in reply.get("pit_ids", ()):
                    targets, _ = decode_search_id(pit_id, "pit")
                    results.append((pit_id, len(targets), len(targets)))
            return results
        results = []
        for pit_id in pit_ids:
            targets, _ = decode_search_id(pit_id, "pit")
            freed = await self._close_contexts(targets)
            self.open_point_in_times.pop(pit_id, None)
            results.append((pit_id, freed, len(targets)))
        return results

    async def list_point_in_times(self) -> dict:
        replies = await self.on_every_node(LIST_POINT_IN_TIMES_METHOD, {})
        return {"pits": [pit for reply in replies for pit in reply.get("pits", ())]}

    def list_local_point_in_times(self) -> dict:
        self._forget_expired_point_in_times()
        return {"pits": [{"pit_id": pit_id, "creation_time": creation_time, "keep_alive": int(seconds * 1000)}
                         for pit_id, (seconds, creation_time) in self.open_point_in_times.items()]}

    async def _search_point_in_time(self, pit: Any, body: dict, query_params: dict[str, str],
                                    started: float) -> dict:
        if not isinstance(pit, dict) or "id" not in pit:
            raise QueryParsingError("[pit] failed to parse: expected an object with [id]")
        unknown = sorted(set(pit) - {"id", "keep_alive"})
        if unknown:
            raise QueryParsingError(f"[pit] unknown field [{unknown[0]}]")
        targets, _ = decode_search_id(pit["id"], "pit")
        if query_params.get("scroll") is not None:
            raise ApiError("Validation Failed: 1: using [point in time] is not allowed in a scroll context;",
                           opensearch_type="action_request_validation_exception")
        seconds = keep_alive_seconds(pit.get("keep_alive"), "keep_alive")
        index_names = sorted({target.index_name for target in targets})
        request = self.parse_request(body, query_params, index_names, targets)
        outcome = await self.query_then_fetch(
            targets, request,
            extra_payload=lambda target: {"reader_context_id": target.reader_context_id,
                                          "keep_alive_seconds": seconds})
        self._check_partial(query_params, outcome.failures)
        self.services.record_search(index_names, (time.perf_counter() - started) * 1000)
        return self.render(outcome, started, query_params, extra={"pit_id": pit["id"]})

    # ------------------------------------------------------------------ count, explain

    def _check_read_blocks(self, index_names: list[str]) -> None:
        """OpenSearch's 403 cluster_block_exception for a search of an index with a read block."""
        for name in index_names:
            blocked = index_block_error(self.state, name, "read")
            if blocked is not None:
                raise blocked

    async def count(self, index_expression: str | None, body: Any, query_params: dict[str, str]) -> dict:
        if body is not None and not isinstance(body, dict):
            raise QueryParsingError("request body is required to be an object")
        body = await resolve_terms_lookups(self.services, body or {})
        unknown = sorted(set(body) - {"query"})
        if unknown:
            raise QueryParsingError(f"request does not support [{unknown[0]}]")
        resolved = self.resolved_targets(index_expression, query_params)
        index_names, targets, unavailable = (list(resolved.index_names), list(resolved.targets),
                                             list(resolved.unavailable))
        uri = {key: value for key, value in query_params.items()
               if key in ("q", "df", "default_operator", "analyzer", "lenient", "analyze_wildcard")}
        request = parse_search_request(body, uri, registry=self.services.query_registry)
        query_json = request.query.to_json()
        filters = resolved.alias_filters
        now_millis = int(time.time() * 1000)

        def count_payload(target: ShardTarget) -> dict:
            query = query_json
            if target.index_name in filters:
                query = {"bool": {"must": [query_json], "filter": [filters[target.index_name]]}}
            return {"query": query, "now_millis": now_millis, "index_name": target.index_name}

        replies, failures = await self.fan_out(targets, "count", count_payload)
        failures = unavailable + failures
        if failures and not replies:
            raise SearchPhaseExecutionError("query", failures)
        total = sum(int(reply["count"]) for reply in replies.values())
        return {"count": total, "_shards": shards_header(len(targets) + len(unavailable), failures)}

    async def explain(self, index_name: str, document_id: str, body: Any, query_params: dict[str, str]) -> tuple[dict, int]:
        from raft.routing import shard_for_document

        index_names = self.resolve(index_name, query_params)
        if len(index_names) != 1:
            raise IllegalArgumentError(f"explain needs exactly one index, [{index_name}] names {len(index_names)}")
        concrete = index_names[0]
        index = self.state.indices[concrete]
        if body is not None and not isinstance(body, dict):
            raise QueryParsingError("request body is required to be an object")
        body = await resolve_terms_lookups(self.services, body or {})
        self._check_read_blocks([concrete])
        uri = {key: value for key, value in query_params.items()
               if key in ("q", "df", "default_operator", "analyzer", "lenient", "analyze_wildcard")}
        if "query" not in body and "q" not in uri:
            raise ApiError("Validation Failed: 1: query is missing;",
                           opensearch_type="action_request_validation_exception")
        unknown = sorted(set(body) - {"query"})
        if unknown:
            raise QueryParsingError(f"request does not support [{unknown[0]}]")
        request = parse_search_request(body, uri, registry=self.services.query_registry)
        routing = query_params.get("routing")
        shard_number = shard_for_document(document_id, routing, index.number_of_shards, index.routing_num_shards,
                                          int(index.settings.get("index.routing_partition_size", "1")))
        targets, unavailable = self.shard_targets([concrete])
        target = next((t for t in targets if t.shard_number == shard_number), None)
        if target is None:
            raise unavailable[0].error if unavailable else ApiError(
                f"No shard available for [{concrete}][{shard_number}]",
                opensearch_type="no_shard_available_action_exception")
        reply, _ = await self.call_shard(target, "explain", {
            "id": document_id, "query": request.query.to_json(), "index_name": concrete,
            "now_millis": int(time.time() * 1000), "node_id": self.context.node_id})
        response: dict[str, Any] = {"_index": concrete, "_id": document_id, "matched": bool(reply.get("matched"))}
        if not reply.get("found"):
            return response, 404
        if reply.get("matched"):
            response["explanation"] = reply.get("explanation")
        else:
            response["explanation"] = {"value": 0.0, "description": "no matching term", "details": []}
        return response, 200


    # ------------------------------------------------------------------ by-query writes

    async def write_by_query(self, action: str, index_expression: str, body: Any,
                             query_params: dict[str, str]) -> tuple[dict, int]:
        """_delete_by_query (action "delete") and _update_by_query (action "update": each matching
        document is reindexed unchanged, guarded by its seq_no and primary term)."""
        from node.coordination.writes import WriteRequest, execute_writes
        from raft.routing import shard_for_document

        started = time.perf_counter()
        if body is not None and not isinstance(body, dict):
            raise QueryParsingError("request body is required to be an object")
        body = dict(await resolve_terms_lookups(self.services, body or {}))
        if "script" in body or "script" in query_params:
            raise NotSupportedError(f"scripts are not supported: _{action}_by_query with a [script] cannot run here "
                                    f"(painless is not implemented)")
        if "slice" in body or "slices" in query_params and query_params.get("slices") not in ("1", "auto"):
            raise NotSupportedError("sliced by-query requests are not supported")
        if not parse_boolean(query_params.get("wait_for_completion"), "wait_for_completion", True):
            raise NotSupportedError("wait_for_completion=false needs the tasks API, which is not implemented")
        conflicts = body.pop("conflicts", None) or query_params.get("conflicts") or "abort"
        if conflicts not in ("abort", "proceed"):
            raise IllegalArgumentError(f"conflicts may only be \"proceed\" or \"abort\" but was [{conflicts}]")
        max_docs_value = body.pop("max_docs", None) or query_params.get("max_docs") or query_params.get("size")
        max_docs = int(max_docs_value) if max_docs_value not in (None, "") else None
        unknown = sorted(set(body) - {"query"})
        if unknown:
            raise QueryParsingError(f"Unknown key for a VALUE in [{unknown[0]}].")
        batch_size = int(query_params.get("scroll_size") or 1000)
        refresh = parse_boolean(query_params.get("refresh"), "refresh", False)
        index_names = self.resolve(index_expression, query_params)
        targets, unavailable = self.shard_targets(index_names)
        if unavailable:
            raise SearchPhaseExecutionError("query", unavailable)
        uri = {key: value for key, value in query_params.items()
               if key in ("q", "df", "default_operator", "analyzer", "lenient", "analyze_wildcard")}
        search_body = {"query": body.get("query", {"match_all": {}}), "size": batch_size, "sort": ["_doc"],
                       "seq_no_primary_term": True, "version": True, "_source": action == "update"}
        request = parse_search_request(search_body, uri, registry=self.services.query_registry,
                                       max_result_window=2 ** 31)
        filtered = self.filtered_requests(request, self.alias_filters(index_expression, index_names))
        counters = {"total": 0, "done": 0, "batches": 0, "version_conflicts": 0, "noops": 0}
        failures: list[dict] = []
        scroll_seconds = 300.0
        outcome = await self.query_then_fetch(
            targets, request, extra_payload=lambda target: {"open_scroll_seconds": scroll_seconds}, scroll=True,
            request_wires_by_index=filtered)
        opened = [_opened_on(target, outcome.replies[target.shard_index], "reader_context_id")
                  for target in targets if target.shard_index in outcome.replies]
        targets_by_index = {target.shard_index: target for target in opened}
        aborted = False
        try:
            while True:
                if outcome.failures:
                    for failure in outcome.failures:
                        failures.append({"index": failure.index_name, "shard": failure.shard_number,
                                         "node": failure.node_id, "reason": failure.cause()})
                    aborted = True
                    break
                hits = outcome.hits
                if max_docs is not None:
                    hits = hits[:max(0, max_docs - counters["total"])]
                if not hits:
                    break
                counters["batches"] += 1
                requests = []
                for hit, shard_index in zip(hits, outcome.hit_shard_indexes or []):
                    target = targets_by_index.get(shard_index)
                    index = self.state.indices.get(hit["_index"])
                    params = {"if_seq_no": hit.get("_seq_no"), "if_primary_term": hit.get("_primary_term")}
                    error = None
                    # the hit carries the routing it was indexed with (_routing), which routes the write
                    routing = hit.get("_routing")
                    if index is not None and target is not None and shard_for_document(
                            hit["_id"], routing, index.number_of_shards, index.routing_num_shards,
                            int(index.settings.get("index.routing_partition_size", "1"))) != target.shard_number:
                        error = NotSupportedError(f"document [{hit['_id']}] is on shard [{target.shard_number}] "
                                                  f"but its routing [{routing}] names another; by-query writes "
                                                  f"cannot route it")
                    if action == "delete":
                        requests.append(WriteRequest("delete", hit["_index"], hit["_id"], routing=routing,
                                                     params=params, error=error))
                    else:
                        requests.append(WriteRequest("index", hit["_index"], hit["_id"],
                                                     orjson.dumps(hit.get("_source") or {}), routing=routing,
                                                     params=params, error=error))
                counters["total"] += len(requests)
                results = await execute_writes(self.services, requests, refresh="false")
                for result in results:
                    status = result.status
                    if status < 300 and result.body.get("result") in ("deleted", "updated", "created"):
                        counters["done"] += 1
                    elif status < 300 and result.body.get("result") == "noop":
                        counters["noops"] += 1
                    elif status == 409:
                        counters["version_conflicts"] += 1
                        if conflicts == "abort":
                            failures.append(_write_failure(result.body))
                    elif status == 404 and action == "delete":
                        counters["version_conflicts"] += 1     # deleted meanwhile: OpenSearch counts a conflict
                        if conflicts == "abort":
                            failures.append(_write_failure(result.body))
                    else:
                        failures.append(_write_failure(result.body))
                if failures:
                    aborted = True
                    break
                if max_docs is not None and counters["total"] >= max_docs:
                    break
                outcome = await self.query_then_fetch(
                    opened, None, scroll=True,
                    extra_payload=lambda target: {"reader_context_id": target.reader_context_id,
                                                  "keep_alive_seconds": scroll_seconds})
        finally:
            with trio.CancelScope(shield=True):
                await self._close_contexts(opened)
        if refresh:
            await self.refresh_targets(targets)
        response = {"took": int((time.perf_counter() - started) * 1000), "timed_out": False,
                    "total": counters["total"]}
        if action == "delete":
            response["deleted"] = counters["done"]
        else:
            response["updated"] = counters["done"]
            response["deleted"] = 0
        response.update({"batches": counters["batches"], "version_conflicts": counters["version_conflicts"],
                         "noops": counters["noops"], "retries": {"bulk": 0, "search": 0}, "throttled_millis": 0,
                         "requests_per_second": -1.0, "throttled_until_millis": 0, "failures": failures})
        status = 200
        if aborted and failures:
            status = max(int(failure.get("status", 500)) for failure in failures)
        return response, status

    async def refresh_targets(self, targets: list[ShardTarget]) -> None:
        await self.fan_out(targets, "refresh", lambda target: {})


def _write_failure(item: dict) -> dict:
    return {"index": item.get("_index"), "id": item.get("_id"), "cause": item.get("error"),
            "status": int(item.get("status", 500))}


PREFERENCE_VALUES = ("_local", "_only_local", "_primary", "_primary_first", "_replica", "_replica_first")


def order_copies(copies: list[Any], local_node_id: str, preference: str | None, index_uuid: str,
                 shard_number: int) -> list[Any]:
    """Started copies in the order a search tries them, as OpenSearch's ``preference``:
    default and ``_local`` — this node's copy, then the primary, then the others; ``_only_local``
    — this node's copy only; ``_primary``/``_replica`` — only those; ``_primary_first``/
    ``_replica_first`` — those first; ``_only_nodes:a,b`` / ``_prefer_nodes:a,b`` — by node id;
    any other string — a stable order per (string, shard), so repeated searches with one
    preference hit the same copies."""
    local_first = sorted(copies, key=lambda c: (c.node_id != local_node_id, not c.primary, c.node_id))
    if preference is None or preference in ("", "_local"):
        return local_first
    if preference == "_only_local":
        return [c for c in copies if c.node_id == local_node_id]
    if preference == "_primary":
        return [c for c in local_first if c.primary]
    if preference == "_replica":
        return [c for c in local_first if not c.primary]
    if preference == "_primary_first":
        return sorted(local_first, key=lambda c: not c.primary)
    if preference == "_replica_first":
        return sorted(local_first, key=lambda c: c.primary)
    if preference.startswith("_only_nodes:"):
        wanted = {node.strip() for node in preference.split(":", 1)[1].split(",")}
        return [c for c in local_first if c.node_id in wanted]
    if preference.startswith("_prefer_nodes:"):
        wanted = {node.strip() for node in preference.split(":", 1)[1].split(",")}
        return sorted(local_first, key=lambda c: c.node_id not in wanted)
    if preference.startswith("_"):
        raise IllegalArgumentError(f"no Preference for [{preference}]")
    import zlib

    ranked = sorted(copies, key=lambda c: c.node_id)
    if not ranked:
        return ranked
    start = zlib.crc32(f"{preference}/{index_uuid}/{shard_number}".encode()) % len(ranked)
    return ranked[start:] + ranked[:start]


TYPED_AGGREGATION_NAMES = {
    "percentiles": "tdigest_percentiles", "percentile_ranks": "tdigest_percentile_ranks",
    "avg_bucket": "simple_value", "sum_bucket": "simple_value", "cumulative_sum": "simple_value",
    "min_bucket": "bucket_metric_value", "max_bucket": "bucket_metric_value",
}
TERMS_TYPED_NAMES = {"keyword": "sterms", "text": "sterms", "ip": "sterms", "double": "dterms", "float": "dterms",
                     "long": "lterms", "integer": "lterms", "short": "lterms", "byte": "lterms", "date": "lterms",
                     "date_nanos": "lterms", "boolean": "lterms", "unsigned_long": "ulterms"}


def typed_aggregation_keys(rendered: Any, tree: Any, field_type: Any) -> Any:
    """typed_keys=true: every aggregation key becomes "<internal type>#<name>", as OpenSearch
    names them (sterms/lterms/dterms for terms by field type, tdigest_percentiles, ...)."""
    if not isinstance(rendered, dict):
        return rendered
    nodes = {node.name: node for node in list(tree.nodes) + list(getattr(tree, "pipelines", ()))}
    typed: dict[str, Any] = {}
    for name, body in rendered.items():
        node = nodes.get(name)
        if node is None:
            typed[name] = body
            continue
        if node.type == "terms":
            type_name = TERMS_TYPED_NAMES.get(field_type(getattr(node.spec, "field", "")) or "", "sterms")
        else:
            type_name = TYPED_AGGREGATION_NAMES.get(node.type, node.type)
        typed[f"{type_name}#{name}"] = _typed_body(body, node, field_type)
    return typed


def _typed_body(body: Any, node: Any, field_type: Any) -> Any:
    sub_tree = node.sub_aggregations
    if not isinstance(body, dict) or not (len(sub_tree) or getattr(sub_tree, "pipelines", ())):
        return body
    body = dict(body)
    buckets = body.get("buckets")
    if isinstance(buckets, list):
        body["buckets"] = [_typed_bucket(bucket, sub_tree, field_type) for bucket in buckets]
    elif isinstance(buckets, dict):
        body["buckets"] = {key: _typed_bucket(bucket, sub_tree, field_type) for key, bucket in buckets.items()}
    else:
        body = _typed_bucket(body, sub_tree, field_type)      # single-bucket: sub-aggregations inline
    return body


def _typed_bucket(bucket: Any, sub_tree: Any, field_type: Any) -> Any:
    if not isinstance(bucket, dict):
        return bucket
    names = {node.name for node in list(sub_tree.nodes) + list(getattr(sub_tree, "pipelines", ()))}
    plain = {key: value for key, value in bucket.items() if key not in names}
    subs = {key: value for key, value in bucket.items() if key in names}
    return {**plain, **typed_aggregation_keys(subs, sub_tree, field_type)}


def _opened_on(target: ShardTarget, reply: dict, id_key: str) -> ShardTarget:
    """The target as a reader context id names it: the copy that opened it, and only that one."""
    return replace(target, node_id=reply.get("served_by", target.node_id), reader_context_id=reply[id_key],
                   other_node_ids=())


def _worth_another_copy(error: BaseException) -> bool:
    """A copy that could not be reached or no longer holds the shard: another copy may answer.
    A query that fails on its own terms (parsing, a bad value, a text-field sort) fails on every
    copy, so it is reported at once."""
    if isinstance(error, IndexEngineError):
        return error.opensearch_type in ("index_closed_exception", "translog_exception", "corrupt_index_exception")
    # udf-node: a UDF that traps or runs out of fuel does so on every copy (ran its full budget once)
    if getattr(error, "opensearch_type", None) == "script_exception":
        return False
    return True


def _boost_payload(boosts: dict[str, float]) -> Any:
    def payload(target: ShardTarget) -> dict:
        boost = boosts.get(target.index_name)
        return {"score_boost": boost} if boost is not None else {}
    return payload


def routed_shards(index: Any, routing: str) -> set[int]:
    from raft.routing import shard_for_routing

    partition_size = int(index.settings.get("index.routing_partition_size", "1") or 1)
    shards: set[int] = set()
    for value in (part.strip() for part in routing.split(",")):
        if not value:
            continue
        for offset in range(partition_size):
            shards.add(shard_for_routing(value, index.number_of_shards, index.routing_num_shards, offset))
    return shards


def shards_header(total: int, failures: list[ShardFailure]) -> dict[str, Any]:
    failed_shards = {(failure.index_name, failure.shard_number) for failure in failures}
    header: dict[str, Any] = {"total": total, "successful": total - len(failed_shards), "skipped": 0,
                              "failed": len(failed_shards)}
    if failures:
        header["failures"] = [failure.to_json() for failure in failures]
    return header


def _opens_or_reads_context(payload: dict) -> bool:
    return bool(payload.get("reader_context_id") or payload.get("open_scroll_seconds") is not None)


def _unwrap(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


__all__ = ["routed_shards", "SearchCoordinator", "SearchPhaseExecutionError", "ShardFailure", "ShardTarget", "decode_search_id",
           "encode_search_id", "keep_alive_seconds", "shards_header"]
