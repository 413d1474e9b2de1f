"""``_reindex``, ``_update_by_query`` and ``_delete_by_query``: documents read from a scroll over
the source indices, changed by an optional painless script, written back in batches through the
one write path (node/coordination/writes.py), so every write replicates like any other.

Owns the route ``POST /_reindex`` and the by-query drivers node/api/search.py's routes prepare
(``prepare_scripted_update_by_query``, ``prepare_by_query``). All answer OpenSearch's BulkByScrollResponse: ``took``,
``timed_out``, ``total``, ``updated``, ``created``, ``deleted``, ``batches``,
``version_conflicts``, ``noops``, ``retries``, ``throttled_millis``, ``requests_per_second``,
``throttled_until_millis``, ``failures`` (409 or the failure's status when aborted).

_reindex body: ``source`` {``index`` (expression or list), ``query``, ``_source``, ``size``
(batch)}, ``dest`` {``index``, ``op_type`` index|create, ``pipeline``, ``version_type``
internal|external|external_gte, ``routing`` keep|discard|=value}, ``max_docs`` (or legacy
``size``), ``conflicts`` abort|proceed, ``script`` (``ctx`` = {_index, _id, _version, _routing,
_source, op}; ``op`` noop skips the document, delete deletes it from the destination).
Params ``refresh``, ``max_docs``, ``scroll_size``, ``wait_for_completion`` (false: the request runs
as a task on this node and answers ``{"task": "<node_id>:<n>"}``, node/api/tasks.py); ``source.remote``,
``slice``/``slices`` > 1 are 400s.

Every request is first *prepared* (``prepare_reindex``, ``prepare_scripted_update_by_query``,
``prepare_by_query``: every check that answers 400/404 runs here, before any task exists) into a
``ByScrollJob``; running the job is what a task does. Its ``ByScrollProgress`` is the task's
status while it runs, and its cancellation flag is read before each batch: a cancelled job stops
at the next batch boundary and answers ``"canceled": "by user request"``. ``prepare_by_query`` is
the script-less _delete_by_query/_update_by_query driver (node/api/search.py's routes use it for
every by-query request; node/coordination/search.py's ``write_by_query`` is no longer called).

Must never: write around node/coordination/writes.py or read shards directly (it reads through
the search coordinator's scroll, which honours alias filters and shard failures).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import trio

from node.api import params, read_json_body, respond
from node.api.scripting import compile_request, parse_script, run_script, script_source_bytes
from node.api.stored_scripts import register as register_stored_scripts
from node.api.stored_scripts import stored_script_lookup
from node.coordination.tasks import DELETE_BY_QUERY_ACTION, REINDEX_ACTION, UPDATE_BY_QUERY_ACTION
from node.coordination.resolve import IndicesOptions, resolve_indices, resolve_write_target
from node.coordination.values import parse_boolean
from node.coordination.writes import WriteRequest, execute_writes
from node.errors import ActionRequestValidationError, ApiError, IllegalArgumentError

REINDEX_SCRIPT_VARIABLES = frozenset({"ctx", "params"})
DEFAULT_BATCH_SIZE = 1000
SCROLL_KEEP_ALIVE = "5m"
SOURCE_KEYS = ("index", "query", "_source", "size", "sort", "remote", "slice")
REMOTE_KEYS = ("host", "username", "password", "headers", "socket_timeout", "connect_timeout")
DEST_KEYS = ("index", "op_type", "pipeline", "version_type", "routing", "type")
BODY_KEYS = ("source", "dest", "max_docs", "size", "conflicts", "script")


class ScrollReader:
    """Pages of hits (with _seq_no, _primary_term, _version, _routing) from the search
    coordinator's scroll; ``close`` frees the scroll contexts."""

    def __init__(self, coordinator: Any) -> None:
        self.coordinator = coordinator
        self.scroll_id: str | None = None

    async def first(self, index_expression: str, body: dict, query_params: dict[str, str]) -> list[dict]:
        search_params = {key: value for key, value in query_params.items()
                         if key in ("q", "df", "default_operator", "analyzer", "lenient", "analyze_wildcard",
                                    "routing", "preference", "expand_wildcards", "ignore_unavailable",
                                    "allow_no_indices")}
        search_params["scroll"] = SCROLL_KEEP_ALIVE
        response = await self.coordinator.search(index_expression, body, search_params)
        return self._hits(response)

    async def next(self) -> list[dict]:
        response = await self.coordinator.scroll(self.scroll_id, SCROLL_KEEP_ALIVE, {})
        return self._hits(response)

    def _hits(self, response: dict) -> list[dict]:
        self.scroll_id = response.get("_scroll_id", self.scroll_id)
        shards = response.get("_shards", {})
        if shards.get("failed"):
            raise SearchFailures(shards.get("failures", []))
        return response["hits"]["hits"]

    async def close(self) -> None:
        if self.scroll_id is not None:
            try:
                await self.coordinator.clear_scroll([self.scroll_id])
            except Exception:  # noqa: BLE001 — contexts expire on their own; the answer stands
                pass


class SearchFailures(Exception):
    def __init__(self, failures: list[dict]) -> None:
        super().__init__("search failures")
        self.failures = failures


class ByScrollProgress:
    """What a by-scroll request has done so far: OpenSearch's BulkByScrollTask.Status while it runs
    (``status()``), its BulkByScrollResponse at the end (``response()``). ``cancel_reason`` is
    read before each batch (a task's cancellation; None = go on)."""

    def __init__(self) -> None:
        self.total = 0
        self.created = 0
        self.updated = 0
        self.deleted = 0
        self.batches = 0
        self.version_conflicts = 0
        self.noops = 0
        self.failures: list[dict] = []
        self.written_indices: set[str] = set()
        self.cancel_reason: Callable[[], str | None] = lambda: None
        self.cancelled_with: str | None = None
        self.requests_per_second: float | None = None      # None: unlimited (OpenSearch's -1)
        self.throttled_seconds = 0.0
        self.throttled_until: float | None = None           # trio.current_time() the current wait ends at
        self._woken = trio.Event()

    def _counts(self, with_created: bool) -> dict[str, Any]:
        counts: dict[str, Any] = {"total": self.total, "updated": self.updated}
        if with_created:
            counts["created"] = self.created
        counts.update({"deleted": self.deleted, "batches": self.batches, "version_conflicts": self.version_conflicts,
                       "noops": self.noops, "retries": {"bulk": 0, "search": 0},
                       "throttled_millis": int(self.throttled_seconds * 1000),
                       "requests_per_second": -1.0 if self.requests_per_second is None else self.requests_per_second})
        if self.cancelled_with is not None:
            counts["canceled"] = self.cancelled_with
        until = self.throttled_until
        counts["throttled_until_millis"] = 0 if until is None else max(0, int((until - trio.current_time()) * 1000))
        return counts

    def status(self) -> dict[str, Any]:
        """The running task's status, as OpenSearch's BulkByScrollTask.Status (``created`` always)."""
        return self._counts(with_created=True)

    def response(self, started: float, with_created: bool, status_when_aborted: bool) -> tuple[dict, int]:
        body: dict[str, Any] = {"took": int((time.perf_counter() - started) * 1000), "timed_out": False,
                                **self._counts(with_created), "failures": self.failures}
        status = 200
        if status_when_aborted and self.failures:
            status = max(int(failure.get("status", 500)) for failure in self.failures)
        return body, status

    def rethrottle(self, requests_per_second: float | None) -> None:
        """A new rate (None: unlimited). As OpenSearch: a faster rate shortens the wait in progress
        at once; a slower one applies from the next batch."""
        self.requests_per_second = requests_per_second
        self.wake()

    def wake(self) -> None:
        """Ends a throttle wait early so a new rate or a cancellation is seen at once."""
        self._woken.set()
        self._woken = trio.Event()

    async def throttle(self, batch_started: float, batch_size: int) -> None:
        """Wait until ``batch_size`` documents started at ``batch_started`` (trio.current_time()) fit the
        rate, as OpenSearch's WorkerBulkByScrollTaskState delays the next batch."""
        rate = self.requests_per_second
        if rate is None or batch_size <= 0:
            return
        deadline = batch_started + batch_size / rate
        waited_from = trio.current_time()
        try:
            while not self.should_stop():
                now = trio.current_time()
                if now >= deadline:
                    return
                self.throttled_until = deadline
                woken = self._woken
                with trio.move_on_after(deadline - now):
                    await woken.wait()
                rate = self.requests_per_second
                if rate is None:
                    return
                deadline = min(deadline, batch_started + batch_size / rate)
        finally:
            self.throttled_until = None
            self.throttled_seconds += trio.current_time() - waited_from

    def should_stop(self) -> bool:
        """True once the task was cancelled (remembered for the response's ``canceled``)."""
        if self.cancelled_with is None:
            self.cancelled_with = self.cancel_reason()
        return self.cancelled_with is not None


@dataclass(frozen=True, slots=True)
class ByScrollJob:
    """A validated by-scroll request, ready to run (as a task or while its client waits).
    ``action``/``description`` are the task's, as OpenSearch names them."""
    action: str
    description: str
    progress: ByScrollProgress
    run: Callable[[], Awaitable[tuple[dict, int]]]


CONTEXT_KEYS = frozenset({"_index", "_type", "_id", "_version", "_routing", "_source", "op", "_now"})
UNCHANGEABLE_BY_UPDATE_BY_QUERY = ("_index", "_id", "_version", "_routing")


def _checked_context(ctx: dict, hit: dict, may_change_metadata: bool) -> str:
    """The script's ``ctx.op`` after OpenSearch's checks of what a by-scroll script may do: no new
    keys in ctx, an op among noop/index/delete, and (for _update_by_query) unchanged metadata."""
    invalid = sorted(set(ctx) - CONTEXT_KEYS)
    if invalid:
        raise IllegalArgumentError(f"Invalid fields added to context [{','.join(invalid)}]")
    if not may_change_metadata:
        for name in UNCHANGEABLE_BY_UPDATE_BY_QUERY:
            if ctx.get(name) != hit.get(name):
                raise IllegalArgumentError(f"Modifying [{name}] not allowed")
    operation = ctx.get("op")
    if operation == "none":
        operation = "noop"
    if operation not in ("noop", "index", "delete"):
        raise IllegalArgumentError(f"Operation type [{operation}] not allowed, only [noop, index, delete] are allowed")
    return str(operation)


def _failure(item: dict) -> dict:
    return {"index": item.get("_index"), "id": item.get("_id"), "cause": item.get("error"),
            "status": int(item.get("status", 500))}


def _search_failure(failure: dict) -> dict:
    return {"index": failure.get("index"), "shard": failure.get("shard"), "node": failure.get("node"),
            "reason": failure.get("reason"), "status": int(failure.get("status", 500))}


def _common_params(query: dict[str, str]) -> None:
    parse_boolean(query.get("wait_for_completion"), "wait_for_completion", True)   # a bad value is a 400 now
    if query.get("slices") not in (None, "", "1", "auto"):
        raise IllegalArgumentError("sliced requests (slices > 1) are not supported")


def _record(counters: ByScrollProgress, outcome: Any, conflicts: str) -> None:
    body = outcome.body
    if body.get("_index"):
        counters.written_indices.add(str(body["_index"]))
    status = outcome.status
    result = body.get("result")
    if status < 300:
        if result == "created":
            counters.created += 1
        elif result == "updated":
            counters.updated += 1
        elif result == "deleted":
            counters.deleted += 1
        elif result == "noop":
            counters.noops += 1
        return
    if status == 404 and outcome.action == "delete" and "error" not in body:
        counters.deleted += 1     # a delete that found nothing is no failure; OpenSearch counts it deleted
        return
    if status == 409 or (status == 404 and outcome.action == "delete"):
        counters.version_conflicts += 1
        if conflicts == "abort":
            counters.failures.append(_failure(body))
        return
    counters.failures.append(_failure(body))


async def _by_scroll(services: Any, coordinator: Any, expression: str, search_body: dict, query: dict[str, str],
                     max_docs: int | None, conflicts: str, counters: ByScrollProgress,
                     request_for: Callable[[dict], WriteRequest | None]) -> None:
    """Scroll through ``expression`` page by page (at most ``max_docs`` hits), turn each hit into a
    write (``request_for``: None skips it — a noop, counted there) and write each page through the
    write path; stops at the first failure (``conflicts=abort``) and always frees the scroll."""
    reader = ScrollReader(coordinator)
    try:
        hits = await reader.first(expression, search_body, query)
        last_batch: tuple[float, int] | None = None
        while hits:
            if last_batch is not None:
                await counters.throttle(*last_batch)
            if counters.should_stop():
                break
            if max_docs is not None:
                hits = hits[:max(0, max_docs - counters.total)]
            if not hits:
                break
            last_batch = (trio.current_time(), len(hits))
            counters.batches += 1
            requests: list[WriteRequest] = []
            for hit in hits:
                counters.total += 1
                request = request_for(hit)
                if request is not None:
                    requests.append(request)
            await _write_batch(services, requests, counters, conflicts)
            if counters.failures or (max_docs is not None and counters.total >= max_docs):
                break
            hits = await reader.next()
    except SearchFailures as failed:
        counters.failures.extend(_search_failure(failure) for failure in failed.failures)
    finally:
        await reader.close()


async def _write_batch(services: Any, requests: list[WriteRequest], counters: ByScrollProgress, conflicts: str) -> None:
    """One scroll page's writes through the ordinary write path (admission included), counted."""
    if not requests:
        return
    with services.admission.write(sum(len(request.source) for request in requests)):
        outcomes = await execute_writes(services, requests, refresh="false")
    for outcome in outcomes:
        _record(counters, outcome, conflicts)


def _scroll_size(query: dict[str, str]) -> int:
    """The URL's ``scroll_size`` (the batch size), parsed as OpenSearch's paramAsInt."""
    value = query.get("scroll_size")
    if value in (None, ""):
        return DEFAULT_BATCH_SIZE
    try:
        return int(value)
    except ValueError:
        raise IllegalArgumentError(f"Failed to parse int parameter [scroll_size] with value [{value}]") from None


def _check_by_query_body(body: dict, action: str) -> None:
    """What a by-query body (a search source) may not hold, with OpenSearch's words, and the query
    a delete needs; then any key that is no by-query key is a parsing error."""
    problems = []
    if "stored_fields" in body:
        problems.append("stored_fields is not supported in this context")
    if "from" in body:
        problems.append("from is not supported in this context")
    if action == "update" and body.get("_source") is False:
        problems.append("_source:false is not supported in this context")
    if problems:
        raise ActionRequestValidationError(*problems)


def _integer_value(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ApiError(f"For input string: \"{str(value).lower()}\"", opensearch_type="number_format_exception",
                       status=400)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ApiError(f"For input string: \"{value}\"", opensearch_type="number_format_exception", status=400)
    return int(text)


def _max_docs(body_size: Any, body_max_docs: Any, query: dict[str, str]) -> int | None:
    """max_docs from the body's legacy ``size``, its ``max_docs`` and the URL's, as OpenSearch
    reconciles them (two different values are refused; negative ones too)."""
    values: list[int] = []
    for value in (body_size, body_max_docs, query.get("max_docs")):
        if value is None or value == "":
            continue
        number = _integer_value(value, "max_docs")
        if number < 0 and number != -1:
            raise IllegalArgumentError(f"[max_docs] parameter cannot be negative, found [{number}]")
        if values and values[0] != number:
            raise IllegalArgumentError(f"[max_docs] set to two different values [{values[0]}] and [{number}]")
        values.append(number)
    if not values or values[0] == -1:
        return None
    return values[0]


def requests_per_second_of(query: dict[str, str]) -> float | None:
    """The URL's ``requests_per_second`` once validated (None: unlimited, OpenSearch's -1)."""
    value = query.get("requests_per_second")
    if value is None or float(value) == -1:
        return None
    return float(value)


def validate_requests_per_second(query: dict[str, str]) -> None:
    if "requests_per_second" in query:
        value = query["requests_per_second"]
        try:
            rate = float(value)
        except ValueError:
            rate = 0.0
        if value in ("", "unlimited") or (rate <= 0 and rate != -1) or rate != rate:
            raise IllegalArgumentError("[requests_per_second] must be a float greater than 0. Use -1 to disable "
                                       "throttling.")


def _check_throttling_and_slices(query: dict[str, str], max_docs: int | None) -> None:
    validate_requests_per_second(query)
    slices = query.get("slices")
    if slices is not None and slices != "auto":
        if not re.fullmatch(r"\d+", slices) or int(slices) <= 0:
            raise IllegalArgumentError("[slices] must be a positive integer or the string \"auto\"")
        if max_docs is not None and max_docs < int(slices):
            raise ActionRequestValidationError("[max_docs] should be >= [slices]")


def _check_remote(remote: Any) -> None:
    """A remote source is refused as OpenSearch refuses one outside ``reindex.remote.allowlist``
    (empty here: Quidditch does not reindex from other clusters), after the same checks of the block."""
    if not isinstance(remote, dict):
        raise ApiError("[remote] must be an object", opensearch_type="parsing_exception", status=400)
    host = str(remote.get("host", ""))
    match = re.fullmatch(r"(?P<scheme>[^:]+)://(?P<host>[^:/]+):(?P<port>\d+)(?P<path>/.*)?", host)
    if match is None:
        raise IllegalArgumentError(f"[host] must be of the form [scheme]://[host]:[port](/[pathPrefix])? but was "
                                   f"[{host}]")
    unsupported = [key for key in remote if key not in REMOTE_KEYS]
    if unsupported:
        raise IllegalArgumentError(f"Unsupported fields in [remote]. [{','.join(unsupported)}]")
    for name in ("socket_timeout", "connect_timeout"):
        value = remote.get(name)
        if value is not None and not re.fullmatch(r"-?\d+(\.\d+)?(nanos|micros|ms|s|m|h|d)?", str(value)):
            raise ApiError(f"For input string: \"{value}\"", opensearch_type="number_format_exception", status=400)
    raise IllegalArgumentError(f"[{match['host']}:{match['port']}] not allowlisted in reindex.remote.allowlist")


def _search_body_of(source: dict, batch_size: int) -> dict[str, Any]:
    """The scroll's search body from ``source`` (a search request in OpenSearch: ``query``,
    ``_source``, ``size``…); what a reindex cannot honour is refused with OpenSearch's words."""
    for key, value in source.items():
        if key in SOURCE_KEYS:
            continue
        if key == "from":
            raise ActionRequestValidationError("from is not supported in this context")
        if key == "stored_fields":
            raise ActionRequestValidationError("stored_fields is not supported in this context")
        token = "START_OBJECT" if isinstance(value, dict) else "START_ARRAY" if isinstance(value, list) else "VALUE"
        raise ApiError(f"Unknown key for a {token} in [{key}].", opensearch_type="parsing_exception", status=400)
    if source.get("_source") is False:
        raise ActionRequestValidationError("_source:false is not supported in this context")
    body: dict[str, Any] = {"query": source.get("query") or {"match_all": {}}, "size": batch_size,
                            "sort": ["_doc"], "version": True, "seq_no_primary_term": True}
    if source.get("_source") not in (None, True):
        body["_source"] = source["_source"]
    if source.get("sort") is not None:
        body["sort"] = source["sort"]     # deprecated in OpenSearch but honoured: with max_docs it picks which
    return body


async def reindex(services: Any, coordinator: Any, body: Any, query: dict[str, str]) -> tuple[dict, int]:
    """_reindex while the client waits: prepare, then run."""
    job = await prepare_reindex(services, coordinator, body, query)
    return await job.run()


async def prepare_reindex(services: Any, coordinator: Any, body: Any, query: dict[str, str]) -> ByScrollJob:
    """Every check of a _reindex request (400/404 answered here), then the job that copies."""
    from node.api.ingest import ingest_may_apply, ingest_write, pipeline_lookup

    started = time.perf_counter()
    if not isinstance(body, dict):
        raise ActionRequestValidationError("request body is required")
    unknown = sorted(set(body) - set(BODY_KEYS))
    if unknown:
        raise ApiError(f"[reindex] unknown field [{unknown[0]}]", opensearch_type="x_content_parse_exception",
                       status=400)
    source = body.get("source") if isinstance(body.get("source"), dict) else {}
    dest = body.get("dest") if isinstance(body.get("dest"), dict) else {}
    for key in dest:
        if key not in DEST_KEYS:
            raise ApiError(f"[dest] unknown field [{key}]", opensearch_type="x_content_parse_exception", status=400)
    conflicts = body.get("conflicts") or query.get("conflicts") or "abort"
    if conflicts not in ("abort", "proceed"):
        raise IllegalArgumentError(f"conflicts may only be \"proceed\" or \"abort\" but was [{conflicts}]")
    batch_size = _integer_value(source["size"], "size") if source.get("size") is not None else \
        _scroll_size(query)
    max_docs = _max_docs(body.get("size"), body.get("max_docs"), query)
    _check_throttling_and_slices(query, max_docs)
    _common_params(query)
    if source.get("remote") is not None:
        _check_remote(source["remote"])
    if source.get("slice") is not None:
        raise IllegalArgumentError("sliced reindex is not supported")
    if max_docs is not None:
        batch_size = max(1, min(batch_size, max_docs))
    search_body = _search_body_of(source, batch_size)
    problems = []
    if source.get("index") in (None, "", []):
        problems.append("use _all if you really want to copy from all existing indexes")
    if not dest.get("index"):
        problems.append("index must be specified")
    if problems:
        raise ActionRequestValidationError(*problems)
    op_type = dest.get("op_type") or "index"
    if op_type not in ("index", "create"):
        raise IllegalArgumentError(f"opType must be 'create' or 'index', found: [{op_type}]")
    version_type = dest.get("version_type") or "internal"
    if version_type not in ("internal", "external", "external_gte"):
        raise IllegalArgumentError(f"No version type match [{version_type}]")
    if op_type == "create" and version_type != "internal":
        raise ActionRequestValidationError("create operations only support internal versioning. use index instead")
    routing_rule = dest.get("routing") or "keep"
    if routing_rule not in ("keep", "discard") and not str(routing_rule).startswith("="):
        raise IllegalArgumentError(f"[routing] must be [keep], [discard] or [=<something>] but was [{routing_rule}]")
    pipeline = dest.get("pipeline")
    script = parse_script(body["script"], stored_script=stored_script_lookup(services)) \
        if body.get("script") is not None else None
    compiled = compile_request(script, REINDEX_SCRIPT_VARIABLES) if script is not None else None
    source_expression = ",".join(source["index"]) if isinstance(source["index"], list) else str(source["index"])
    dest_name = str(dest["index"])

    state = services.state
    source_names = resolve_indices(state, source_expression, IndicesOptions.from_params(query))
    dest_target = resolve_write_target(state, dest_name)
    if dest_target is not None and dest_target.index_name in source_names:
        raise ActionRequestValidationError(f"reindex cannot write into an index its reading from "
                                           f"[{dest_target.index_name}]")

    counters = ByScrollProgress()
    counters.requests_per_second = requests_per_second_of(query)
    lookup = pipeline_lookup(lambda: services.state)

    def request_for(hit: dict) -> WriteRequest | None:
        document = hit.get("_source")
        if not isinstance(document, dict):
            raise IllegalArgumentError(f"[{hit['_index']}][{hit['_id']}] didn't store _source")
        ctx = {"_index": hit["_index"], "_id": hit["_id"], "_version": hit.get("_version"),
               "_routing": hit.get("_routing"), "_source": document, "op": "index"}
        if compiled is not None:
            # a failing script fails the whole request (400 script_exception), as OpenSearch's
            run_script(compiled, {"ctx": ctx, "params": script.params})
            if _checked_context(ctx, hit, may_change_metadata=True) == "noop":
                counters.noops += 1
                return None
        target_index = dest_name if ctx.get("_index") == hit["_index"] else str(ctx.get("_index"))
        # a script may set ctx._id to null: the destination then picks an id
        document_id = None if ctx.get("_id") is None else str(ctx["_id"])
        if routing_rule == "keep":
            routing = ctx.get("_routing")
        elif routing_rule == "discard":
            routing = None
        else:
            routing = str(routing_rule)[1:]
        if ctx.get("op") == "delete":
            return WriteRequest("delete", target_index, document_id, b"", routing=routing)
        write_params: dict[str, Any] = {}
        if version_type != "internal" and ctx.get("_version") is not None:
            # external versions carry the source's; a script's null version forces a plain write
            write_params = {"version": ctx["_version"], "version_type": version_type}
        item = WriteRequest(op_type, target_index, document_id, script_source_bytes(ctx.get("_source")),
                            routing=None if routing is None else str(routing), params=write_params)
        if ingest_may_apply(services.state, pipeline):
            try:
                ingested = ingest_write(services.state, item, pipeline, lookup)
            except ApiError as error:
                item.error = error
                ingested = item
            if ingested is None:
                counters.noops += 1
                return None
            item = ingested
        return item

    refresh = parse_boolean(query.get("refresh"), "refresh", False)

    async def run() -> tuple[dict, int]:
        await _by_scroll(services, coordinator, source_expression, search_body, query, max_docs, conflicts, counters,
                         request_for)
        if refresh:
            await refresh_indices(services, coordinator, ",".join(sorted({dest_name, *counters.written_indices})))
        return counters.response(started, with_created=True, status_when_aborted=True)

    described_sources = ", ".join(source_names)
    script_part = f" updated with {_script_description(script)}" if script is not None else ""
    return ByScrollJob(REINDEX_ACTION, f"reindex from [{described_sources}]{script_part} to [{dest_name}]", counters,
                       run)


async def scripted_update_by_query(services: Any, coordinator: Any, index_expression: str, body: dict,
                                   query: dict[str, str]) -> tuple[dict, int]:
    """A scripted _update_by_query while the client waits: prepare, then run."""
    job = await prepare_scripted_update_by_query(services, coordinator, index_expression, body, query)
    return await job.run()


async def prepare_scripted_update_by_query(services: Any, coordinator: Any, index_expression: str, body: dict,
                                           query: dict[str, str]) -> ByScrollJob:
    """_update_by_query with a script: each matching document runs the script (``ctx`` as in
    _reindex; ``op`` noop skips, delete deletes) and is written back guarded by the
    ``_seq_no``/``_primary_term`` it was read with (a concurrent change is a version conflict)."""
    started = time.perf_counter()
    body = dict(body)
    _check_by_query_body(body, "update")
    script = parse_script(body.pop("script"), stored_script=stored_script_lookup(services))
    compiled = compile_request(script, REINDEX_SCRIPT_VARIABLES)
    conflicts = body.pop("conflicts", None) or query.get("conflicts") or "abort"
    if conflicts not in ("abort", "proceed"):
        raise IllegalArgumentError(f"conflicts may only be \"proceed\" or \"abort\" but was [{conflicts}]")
    max_docs = _max_docs(query.get("size"), body.pop("max_docs", None), query)
    _check_throttling_and_slices(query, max_docs)
    _common_params(query)
    if "slice" in body:
        raise ApiError("sliced by-query requests are not supported", opensearch_type="illegal_argument_exception",
                       status=400)
    unknown = sorted(set(body) - {"query"})
    if unknown:
        raise ApiError(f"Unknown key for a VALUE in [{unknown[0]}].", opensearch_type="parsing_exception", status=400)
    batch_size = _scroll_size(query)
    if max_docs is not None:
        batch_size = max(1, min(batch_size, max_docs))
    pipeline = query.get("pipeline")
    search_body = {"query": body.get("query") or {"match_all": {}}, "size": batch_size, "sort": ["_doc"],
                   "version": True, "seq_no_primary_term": True}
    counters = ByScrollProgress()
    counters.requests_per_second = requests_per_second_of(query)
    from node.api.ingest import ingest_may_apply, ingest_write, pipeline_lookup
    lookup = pipeline_lookup(lambda: services.state)

    def request_for(hit: dict) -> WriteRequest | None:
        document = hit.get("_source")
        if not isinstance(document, dict):
            raise IllegalArgumentError(f"[{hit['_index']}][{hit['_id']}] didn't store _source")
        ctx = {"_index": hit["_index"], "_id": hit["_id"], "_version": hit.get("_version"),
               "_routing": hit.get("_routing"), "_source": document, "op": "index"}
        run_script(compiled, {"ctx": ctx, "params": script.params})
        operation = _checked_context(ctx, hit, may_change_metadata=False)
        guard = {"if_seq_no": hit.get("_seq_no"), "if_primary_term": hit.get("_primary_term")}
        if operation == "noop":
            counters.noops += 1
            return None
        if operation == "delete":
            return WriteRequest("delete", hit["_index"], hit["_id"], b"", routing=hit.get("_routing"), params=guard)
        item = WriteRequest("index", hit["_index"], hit["_id"], script_source_bytes(ctx.get("_source") or {}),
                            routing=hit.get("_routing"), params=guard)
        if ingest_may_apply(services.state, pipeline):
            ingested = ingest_write(services.state, item, pipeline, lookup)
            if ingested is None:
                counters.noops += 1
                return None
            item = ingested
        return item

    index_names = resolve_indices(services.state, index_expression, IndicesOptions.from_params(query))
    refresh = parse_boolean(query.get("refresh"), "refresh", False)

    async def run() -> tuple[dict, int]:
        await _by_scroll(services, coordinator, index_expression, search_body, query, max_docs, conflicts, counters,
                         request_for)
        if refresh:
            await refresh_indices(services, coordinator, index_expression)
        return counters.response(started, with_created=False, status_when_aborted=True)

    return ByScrollJob(UPDATE_BY_QUERY_ACTION, f"update-by-query [{', '.join(index_names)}] updated with "
                                               f"{_script_description(script)}", counters, run)


def _script_description(script: Any) -> str:
    """A script as OpenSearch's Script.toString shows it in a task's description."""
    lang = getattr(script, "lang", "painless") or "painless"
    return (f"Script{{type=inline, lang='{lang}', idOrCode='{getattr(script, 'source', '')}', options={{}}, "
            f"params={getattr(script, 'params', {}) or {}}}}")


BY_QUERY_BODY_KEYS = frozenset({"query"})


async def prepare_by_query(services: Any, coordinator: Any, action: str, index_expression: str, body: Any,
                           query: dict[str, str]) -> ByScrollJob:
    """A script-less _delete_by_query (``action`` "delete") or _update_by_query ("update": each
    match rewritten unchanged) over the same scroll-and-write driver as _reindex, so it can run
    as a task with a live status and stop at a batch boundary when cancelled. Each write is
    guarded by the ``_seq_no``/``_primary_term`` it was read with; a concurrent change (or a
    delete meanwhile) is a version conflict, as OpenSearch counts them."""
    started = time.perf_counter()
    if body is not None and not isinstance(body, dict):
        raise ApiError("request body is required to be an object", opensearch_type="parsing_exception", status=400)
    body = dict(body or {})
    _check_by_query_body(body, action)
    if action == "delete" and "query" not in body and not query.get("q"):
        raise ActionRequestValidationError("query is missing")
    conflicts = body.pop("conflicts", None) or query.get("conflicts") or "abort"
    if conflicts not in ("abort", "proceed"):
        raise IllegalArgumentError(f"conflicts may only be \"proceed\" or \"abort\" but was [{conflicts}]")
    max_docs = _max_docs(query.get("size"), body.pop("max_docs", None), query)
    _check_throttling_and_slices(query, max_docs)
    _common_params(query)    # after the checks of the values: slices > 1 is refused only once well-formed
    if "slice" in body:
        raise ApiError("sliced by-query requests are not supported", opensearch_type="illegal_argument_exception",
                       status=400)
    unknown = sorted(set(body) - BY_QUERY_BODY_KEYS)
    if unknown:
        raise ApiError(f"Unknown key for a VALUE in [{unknown[0]}].", opensearch_type="parsing_exception", status=400)
    batch_size = _scroll_size(query)
    if max_docs is not None:
        batch_size = max(1, min(batch_size, max_docs))
    index_names = resolve_indices(services.state, index_expression, IndicesOptions.from_params(query))
    search_body: dict[str, Any] = {"query": body.get("query") or {"match_all": {}}, "size": batch_size,
                                   "sort": ["_doc"], "version": True, "seq_no_primary_term": True}
    if action == "delete":
        search_body["_source"] = False       # a delete needs only the id, routing and sequence number
    counters = ByScrollProgress()
    counters.requests_per_second = requests_per_second_of(query)
    refresh = parse_boolean(query.get("refresh"), "refresh", False)

    def request_for(hit: dict) -> WriteRequest:
        guard = {"if_seq_no": hit.get("_seq_no"), "if_primary_term": hit.get("_primary_term")}
        if action == "delete":
            return WriteRequest("delete", hit["_index"], hit["_id"], b"", routing=hit.get("_routing"), params=guard)
        document = hit.get("_source")
        if not isinstance(document, dict):
            raise IllegalArgumentError(f"[{hit['_index']}][{hit['_id']}] didn't store _source")
        return WriteRequest("index", hit["_index"], hit["_id"], script_source_bytes(document),
                            routing=hit.get("_routing"), params=guard)

    async def run() -> tuple[dict, int]:
        await _by_scroll(services, coordinator, index_expression, search_body, query, max_docs, conflicts, counters,
                         request_for)
        if refresh:
            await refresh_indices(services, coordinator, index_expression)
        body, status = counters.response(started, with_created=False, status_when_aborted=True)
        if action == "delete":
            body.pop("updated", None)
        return body, status

    task_action = DELETE_BY_QUERY_ACTION if action == "delete" else UPDATE_BY_QUERY_ACTION
    return ByScrollJob(task_action, f"{action}-by-query [{', '.join(index_names)}]", counters, run)


async def refresh_indices(services: Any, coordinator: Any, index_expression: str) -> None:
    """Refresh every shard of the indices ``index_expression`` names (missing ones are skipped)."""
    state = services.state
    try:
        names = resolve_indices(state, index_expression, IndicesOptions.from_params({"ignore_unavailable": "true"}))
    except ApiError:
        return
    targets, _ = coordinator.shard_targets(names)
    await coordinator.refresh_targets(targets)


def register(app: Any, services: Any) -> None:
    """``POST /_reindex`` and the stored-script routes (node/api/stored_scripts.py), registered
    from node/api/search.py's ``register_routes`` (after the search coordinator exists)."""
    from node.api.search import coordinator_of
    from node.api.tasks import respond_as_task

    register_stored_scripts(app, services)

    @app.route("/_reindex", methods=["POST"])
    async def reindex_route() -> Any:
        query = params()
        body = await read_json_body(required=True)
        job = await prepare_reindex(services, coordinator_of(app), body, query)
        return await respond_as_task(app, services, job, query)
