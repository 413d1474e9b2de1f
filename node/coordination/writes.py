"""The coordinating side of every write: single documents, updates, deletes and _bulk items.

Owns ``WriteRequest`` (one item, its raw source bytes untouched), ``execute_writes`` (resolve the
target index or alias — auto-creating it when ``action.auto_create_index`` allows — route each
item with OpenSearch murmur3 (routing_batch.py, vectorized; raft.routing is the reference),
group items per shard, send ONE ``write`` call per shard per request (one log append, one fsync), commit dynamic mapping updates
through Raft BEFORE retrying the batch, retry updates on conflict, and render per-item results in
the request's order with OpenSearch's shapes and statuses). ``execute_columnar_writes`` is the
same for the common _bulk shape (index/create items with only _index/_id) carried as columns — ids
and lengths in lists, one joined source blob per shard, the worker's answer as columns, each
item encoded from the columns by one bytes template — and declines (None, nothing sent) whenever
a target needs the general path.

It must never parse a document's source (the shard does) nor acknowledge an item the shard's
primary did not report durable.
"""

from __future__ import annotations

import base64
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import orjson
import trio

from node.coordination.resolve import (
    auto_create_allowed, data_stream_write_error, data_streams, index_block_error, resolve_write_target,
)
from node.coordination.stats import record_write_counters
from node.errors import (
    ApiError, IndexNotFoundError, STATUS_BY_OPENSEARCH_TYPE, error_fields, item_error, remote_error_fields,
)
from index.shard import cyclic_gc_paused as shard_cyclic_gc_paused
from node.coordination.routing_batch import shard_numbers

MAX_MAPPING_ROUNDS = 20
STATUS_BY_RESULT = {"created": 201, "updated": 200, "deleted": 200, "noop": 200, "not_found": 404}


def new_document_id() -> str:
    """20 URL-safe base64 characters, the length and alphabet of OpenSearch's auto ids."""
    return base64.urlsafe_b64encode(os.urandom(15)).decode("ascii")


@dataclass
class WriteRequest:
    action: str                       # index | create | update | delete
    index: str | None                 # the target name as given (index or alias)
    document_id: str | None
    source: bytes = b""               # index/create: the document; update: the update body
    routing: str | None = None
    params: dict[str, Any] = field(default_factory=dict)   # if_seq_no, if_primary_term, version, version_type
    retry_on_conflict: int = 0
    error: BaseException | None = None   # found while parsing the request: reported, never sent


@dataclass
class WriteOutcome:
    action: str
    body: dict[str, Any]              # the item as the bulk response shows it (with "status")
    source: bytes | None = None       # the resulting _source when asked for (updates)

    @property
    def status(self) -> int:
        return int(self.body.get("status", 200))


def _failed(request: WriteRequest, index_name: str | None, error: BaseException,
            index_uuid: str | None = None, shard_number: int | None = None) -> WriteOutcome:
    fields = item_error(error, index_name, index_uuid, shard_number)
    status = getattr(error, "status", None) or STATUS_BY_OPENSEARCH_TYPE.get(fields["type"], 500)
    return WriteOutcome(request.action, {"_index": index_name or request.index, "_id": request.document_id,
                                         "status": status, "error": fields})


async def execute_writes(services: Any, requests: list[WriteRequest], refresh: str = "false",
                         timeout_seconds: float = 60.0, return_sources: bool = False,
                         wait_for_active_shards: str | None = None) -> list[WriteOutcome]:
    outcomes: list[WriteOutcome | None] = [None] * len(requests)
    targets = await _resolve_targets(services, requests, timeout_seconds)
    groups: dict[tuple[str, int], list[int]] = {}
    routed: dict[str, list[int]] = {}       # index name → positions, routed per index in one batch
    for position, request in enumerate(requests):
        if request.error is not None:
            outcomes[position] = _failed(request, request.index, request.error)
            continue
        target = targets.get(request.index or "")
        if isinstance(target, BaseException):
            outcomes[position] = _failed(request, request.index, target)
            continue
        refused = data_stream_write_error(services.state, request.index, request.action, request.source)
        if refused is not None:
            outcomes[position] = _failed(request, target[0], refused)
            continue
        index_name, alias_routing = target
        index = services.state.indices.get(index_name)
        if index is None:
            outcomes[position] = _failed(request, index_name, IndexNotFoundError(index_name))
            continue
        if index.state != "open":
            outcomes[position] = _failed(request, index_name, ApiError(
                "closed", opensearch_type="index_closed_exception", index_uuid=index.uuid, index=index_name))
            continue
        blocked = index_block_error(services.state, index_name, "write", deleting=request.action == "delete")
        if blocked is not None:
            outcomes[position] = _failed(request, index_name, blocked)
            continue
        routing = request.routing if request.routing is not None else alias_routing
        request.routing = routing
        if routing is None and index.mappings.get("_routing", {}).get("required"):
            outcomes[position] = _failed(request, index_name, ApiError(
                f"routing is required for [{index_name}]/[{request.document_id}]",
                opensearch_type="routing_missing_exception", status=400))
            continue
        if request.document_id is None:
            request.document_id = new_document_id()
        routed.setdefault(index_name, []).append(position)
    for index_name, positions in routed.items():
        index = services.state.indices[index_name]
        partition_size = int(index.settings.get("index.routing_partition_size", "1"))
        numbers = shard_numbers([requests[p].document_id for p in positions], [requests[p].routing for p in positions],
                                index.number_of_shards, index.routing_num_shards, partition_size)
        for position, shard_number in zip(positions, numbers):
            groups.setdefault((index_name, shard_number), []).append(position)

    async def run_group(index_name: str, shard_number: int, positions: list[int]) -> None:
        results = await _write_to_shard(services, index_name, shard_number,
                                        [requests[p] for p in positions], refresh, timeout_seconds,
                                        return_sources, wait_for_active_shards)
        for position, outcome in zip(positions, results):
            outcomes[position] = outcome

    async with trio.open_nursery() as nursery:
        for (index_name, shard_number), positions in groups.items():
            nursery.start_soon(run_group, index_name, shard_number, positions)
    return [outcome for outcome in outcomes if outcome is not None]


async def _resolve_targets(services: Any, requests: list[WriteRequest],
                           timeout_seconds: float) -> dict[str, Any]:
    """target name → (index name, alias routing) or the error every item to it reports."""
    targets: dict[str, Any] = {}
    # deletes never create an index (OpenSearch's TransportBulkAction skips them)
    creating_names = {request.index or "" for request in requests if request.action != "delete"}
    for request in requests:
        name = request.index or ""
        if request.error is not None or name in targets:
            continue
        try:
            target = resolve_write_target(services.state, name)
            if target is None:
                if name not in creating_names or not auto_create_allowed(services.state, name):
                    raise IndexNotFoundError(name)
                try:
                    await services.create_index(name, None, wait_seconds=timeout_seconds)
                except ApiError as error:
                    if error.opensearch_type != "resource_already_exists_exception":
                        raise
                target = resolve_write_target(services.state, name)
                if target is None:
                    raise IndexNotFoundError(name)
            targets[name] = (target.index_name, target.routing)
        except Exception as error:  # noqa: BLE001 — becomes each item's error
            targets[name] = error
    return targets


def _worker_item(request: WriteRequest) -> list[Any]:
    params = {key: value for key, value in request.params.items() if value is not None}
    if request.routing is not None:
        params["routing"] = request.routing
    params["length"] = len(request.source)
    return [request.action, request.document_id, params]


async def wait_for_active_copies(services: Any, index_name: str, shard_number: int, wanted: str | None,
                                 timeout_seconds: float) -> None:
    """``wait_for_active_shards``: wait until that many copies of the shard are started (``all``:
    every copy), else 503 unavailable_shards_exception as OpenSearch after the timeout."""
    if wanted is None or wanted in ("", "1"):
        return
    deadline = trio.current_time() + timeout_seconds
    while True:
        index = services.state.indices.get(index_name)
        if index is None:
            raise IndexNotFoundError(index_name)
        shard = services.state.routing_table[index_name][shard_number]
        active = sum(1 for copy in shard.copies if copy.state in ("STARTED", "RELOCATING"))
        if wanted == "all":
            needed = len(shard.copies)
        else:
            try:
                needed = int(wanted)
            except ValueError:
                raise ApiError(f"wait_for_active_shards: expected a number or [all], got [{wanted}]",
                               opensearch_type="illegal_argument_exception") from None
            if needed > len(shard.copies) or needed < 0:
                raise ApiError(f"Value for wait_for_active_shards [{wanted}] must be between 0 and the number of "
                               f"copies [{len(shard.copies)}]", opensearch_type="illegal_argument_exception")
        if active >= needed:
            return
        remaining = deadline - trio.current_time()
        if remaining <= 0:
            label = "ALL" if wanted == "all" else str(needed)
            raise ApiError(f"[{index_name}][{shard_number}] Not enough active copies to meet shard count of "
                           f"[{label}] (have {active}, needed {needed}). Timeout: [{int(timeout_seconds)}s]",
                           opensearch_type="unavailable_shards_exception", index=index_name,
                           shard=str(shard_number), index_uuid=index.uuid)
        await services.director.wait_for_state_change(min(remaining, 0.25))


@dataclass(frozen=True, slots=True)
class PrimaryWriteAnswer:
    """The primary's answer to a ``write`` that needed no (further) mapping update."""
    answer: dict[str, Any]
    body: bytes
    index: Any                        # the index metadata the last call ran under
    shard: Any                        # its routing entry (copies, primary term)
    elapsed_millis: float             # the last call's round trip


async def write_on_primary(services: Any, index_name: str, shard_number: int,
                           payload_for: Callable[[Any], dict[str, Any]], body: bytes,
                           timeout_seconds: float) -> PrimaryWriteAnswer:
    """ONE shard's ``write`` on its primary, for both the general and the columnar path. While the
    primary answers that the mapping must grow (``mapping_update``: committed through Raft first)
    or that it holds an older mapping than the payload names (``stale_mapping``), the newest
    mapping is pushed to it and the write is sent again — rebuilt by ``payload_for(index)`` so it
    names the new mapping version — at most MAX_MAPPING_ROUNDS calls in all. Errors propagate:
    the caller fails every item it sent."""
    for _ in range(MAX_MAPPING_ROUNDS):
        index = services.state.indices.get(index_name)
        if index is None:
            raise IndexNotFoundError(index_name)
        call_started = time.monotonic()
        answer, answer_body, index, shard = await services.director.call_primary(
            index_name, shard_number, "write", payload_for(index), body, timeout_seconds)
        elapsed_millis = (time.monotonic() - call_started) * 1000
        if "mapping_update" not in answer and "stale_mapping" not in answer:
            return PrimaryWriteAnswer(answer, answer_body, index, shard, elapsed_millis)
        if "mapping_update" in answer:
            index = await services.commit_mapping_update(index_name, answer["mapping_update"])
        await services.director.call_primary(
            index_name, shard_number, "update_mapping",
            {"mappings": index.mappings, "mapping_version": index.mapping_version}, b"", timeout_seconds)
    raise ApiError(f"[{index_name}][{shard_number}] the write kept needing mapping updates; "
                   f"gave up after {MAX_MAPPING_ROUNDS} rounds", opensearch_type="illegal_state_exception")


async def _write_to_shard(services: Any, index_name: str, shard_number: int, batch: list[WriteRequest],
                          refresh: str, timeout_seconds: float, return_sources: bool,
                          wait_for_active_shards: str | None = None) -> list[WriteOutcome]:
    results: list[WriteOutcome | None] = [None] * len(batch)
    pending = list(range(len(batch)))
    retries_left = [request.retry_on_conflict for request in batch]
    index_uuid: str | None = None
    try:
        await wait_for_active_copies(services, index_name, shard_number, wait_for_active_shards, timeout_seconds)
    except Exception as error:  # noqa: BLE001 — every item of this shard reports it
        return [_failed(request, index_name, error, None, shard_number) for request in batch]
    while pending:
        known = services.state.indices.get(index_name)
        index_uuid = known.uuid if known is not None else index_uuid
        items = [_worker_item(batch[i]) for i in pending]
        try:
            written = await write_on_primary(
                services, index_name, shard_number,
                lambda index, items=items: {"items": items, "refresh": refresh, "mapping_version": index.mapping_version,
                                            "return_sources": return_sources},
                b"".join(batch[i].source for i in pending), timeout_seconds)
        except Exception as error:  # noqa: BLE001 — every pending item reports it
            for i in pending:
                results[i] = _failed(batch[i], index_name, error, index_uuid, shard_number)
            break
        answer, answer_body, index, shard = written.answer, written.body, written.index, written.shard
        per_item_millis = written.elapsed_millis / max(1, len(pending))
        copies = len(shard.copies)
        counters = services.index_counters[index_name]
        offset = 0
        retry: list[int] = []
        forced_refresh = bool(answer.get("forced_refresh"))
        for i, item in zip(pending, answer["results"]):
            length = int(item.get("source_length", 0))
            source = answer_body[offset:offset + length] if length else None
            offset += length
            request = batch[i]
            if "error" in item:
                error_type = item["error"]["type"]
                if (error_type == "version_conflict_engine_exception" and request.action == "update"
                        and retries_left[i] > 0):
                    retries_left[i] -= 1
                    retry.append(i)
                    continue
                record_write_counters(counters, request.action, None, True, 0.0)
                results[i] = WriteOutcome(request.action, {
                    "_index": index_name, "_id": item.get("_id") or request.document_id,
                    "status": STATUS_BY_OPENSEARCH_TYPE.get(error_type, 500),
                    "error": remote_error_fields(error_type, item["error"]["reason"], index_name, index.uuid,
                                                 shard_number, item["error"].get("caused_by"))})
                continue
            result = item["result"]
            record_write_counters(counters, request.action, result, False, per_item_millis)
            shards = ({"total": 0, "successful": 0, "failed": 0} if result == "noop"
                      else {"total": copies, "successful": int(answer.get("successful_copies", 1)),
                            "failed": int(answer.get("failed_copies", 0))})
            rendered: dict[str, Any] = {"_index": index_name, "_id": item["_id"], "_version": item["_version"],
                                        "result": result}
            if forced_refresh and result != "noop":
                rendered["forced_refresh"] = True
            rendered.update({"_shards": shards, "_seq_no": item["_seq_no"], "_primary_term": item["_primary_term"],
                             "status": STATUS_BY_RESULT.get(result, 200)})
            results[i] = WriteOutcome(request.action, rendered, source)
        pending = retry
    _record_metrics(services, index_name, batch, results)
    return [result if result is not None else _failed(batch[i], index_name, ApiError(
        "the write produced no result", opensearch_type="illegal_state_exception"))
        for i, result in enumerate(results)]


def _record_metrics(services: Any, index_name: str, batch: list[WriteRequest],
                    results: list[WriteOutcome | None]) -> None:
    metrics = getattr(services.context, "metrics", None)
    if metrics is None:
        return
    counts: dict[tuple[str, str], int] = {}
    for request, outcome in zip(batch, results):
        if outcome is None:
            continue
        result = outcome.body.get("result") or outcome.body.get("error", {}).get("type", "error")
        counts[(request.action, result)] = counts.get((request.action, result), 0) + 1
    for (action, result), count in counts.items():
        metrics.record_indexing(index_name, action, result, count)


# --------------------------------------------------------------------------- the columnar bulk path
#
# The common _bulk shape (every item index/create with only _index/_id, sources untouched) costs the
# front a few µs per document when it travels as columns: ids and source lengths in lists, the
# sources as one joined blob per shard, the worker's answer as columns, the response items encoded
# straight from the columns (docs/benchmarks.md F5). Anything unusual falls back to execute_writes
# with WriteRequests, so per-item errors stay exactly the general path's.

AUTO_ID_RAW_BYTES = 15               # 15 random bytes = 20 URL-safe base64 characters, no padding
AUTO_ID_LENGTH = 20


@dataclass(frozen=True, slots=True)
class ColumnarWrites:
    """index/create items of one _bulk request, column by column (one entry per item)."""
    actions: list[str]                # "index" | "create"
    index_names: list[str]            # the target name as given (index or alias)
    document_ids: list[str | None]    # None: an id is generated
    sources: list[bytes]              # the source lines, untouched

    def as_write_requests(self) -> list[WriteRequest]:
        """The same items for the general path (execute_writes)."""
        return [WriteRequest(action, index_name, document_id, source) for action, index_name, document_id, source
                in zip(self.actions, self.index_names, self.document_ids, self.sources)]


@dataclass(frozen=True, slots=True)
class ColumnarOutcome:
    items_json: bytes                 # the response's "items" array, encoded
    errors: bool                      # any item failed


def new_document_ids(count: int) -> list[str]:
    """``count`` auto ids (as new_document_id) from one urandom call and one base64 encoding."""
    if count == 0:
        return []
    encoded = base64.urlsafe_b64encode(os.urandom(AUTO_ID_RAW_BYTES * count)).decode("ascii")
    return [encoded[start:start + AUTO_ID_LENGTH] for start in range(0, AUTO_ID_LENGTH * count, AUTO_ID_LENGTH)]


async def execute_columnar_writes(services: Any, writes: ColumnarWrites, refresh: str = "false",
                                  timeout_seconds: float = 60.0,
                                  wait_for_active_shards: str | None = None) -> ColumnarOutcome | None:
    """Run the items column by column; None when some target needs the general path (an alias
    with routing, a mapping requiring routing, a closed, missing or failing index): the caller
    then runs ``execute_writes(writes.as_write_requests())`` — nothing was sent to a shard yet."""
    count = len(writes.actions)
    distinct_names = set(writes.index_names)
    if not distinct_names.isdisjoint(data_streams(services.state)):
        return None     # the general path checks each item's action and timestamp (data streams)
    probes = [WriteRequest("index", name, None) for name in distinct_names]
    targets = await _resolve_targets(services, probes, timeout_seconds)
    resolved: dict[str, Any] = {}
    for name in distinct_names:
        target = targets.get(name)
        if target is None or isinstance(target, BaseException) or target[1] is not None:
            return None
        index = services.state.indices.get(target[0])
        if index is None or index.state != "open" or index.mappings.get("_routing", {}).get("required"):
            return None
        if index_block_error(services.state, index.name, "write") is not None:
            return None     # the general path answers each item with the block's 403
        if int(index.settings.get("index.routing_partition_size", "1")) > 1:
            return None
        resolved[name] = index
    document_ids = writes.document_ids
    missing = [position for position, document_id in enumerate(document_ids) if document_id is None]
    if missing:
        document_ids = list(document_ids)
        for position, generated in zip(missing, new_document_ids(len(missing))):
            document_ids[position] = generated
    # per index name: the positions of its items (nearly always one index: no per-item work)
    if len(distinct_names) == 1:
        per_index = {writes.index_names[0]: None}
    else:
        per_index = {}
        for position, name in enumerate(writes.index_names):
            per_index.setdefault(name, []).append(position)
    groups: list[tuple[str, int, list[int] | None]] = []
    for name, positions in per_index.items():
        index = resolved[name]
        if index.number_of_shards == 1:
            groups.append((index.name, 0, positions))
            continue
        ids = document_ids if positions is None else [document_ids[p] for p in positions]
        numbers = np.asarray(shard_numbers(ids, [None] * len(ids), index.number_of_shards,
                                           index.routing_num_shards), dtype=np.int64)
        order = np.argsort(numbers, kind="stable")
        boundaries = np.flatnonzero(np.diff(numbers[order])) + 1
        base = None if positions is None else np.asarray(positions, dtype=np.int64)
        for chunk in np.split(order, boundaries):
            if not len(chunk):
                continue
            members = chunk if base is None else base[chunk]
            groups.append((index.name, int(numbers[chunk[0]]), members.tolist()))
    rendered: list[bytes] = [b""] * count
    any_error = False

    async def run_group(index_name: str, shard_number: int, positions: list[int] | None) -> None:
        nonlocal any_error
        if positions is None:
            group_ids, group_actions, group_sources = document_ids, writes.actions, writes.sources
        else:
            group_ids = [document_ids[p] for p in positions]
            group_actions = [writes.actions[p] for p in positions]
            group_sources = [writes.sources[p] for p in positions]
        items, failed = await _write_columns_to_shard(services, index_name, shard_number, group_actions,
                                                      group_ids, group_sources, refresh, timeout_seconds,
                                                      wait_for_active_shards)
        if failed:
            any_error = True
        if positions is None:
            rendered[:] = items
        else:
            for position, item in zip(positions, items):
                rendered[position] = item

    if len(groups) == 1:
        await run_group(*groups[0])
    else:
        async with trio.open_nursery() as nursery:
            for group in groups:
                nursery.start_soon(run_group, *group)
    return ColumnarOutcome(b"[" + b",".join(rendered) + b"]", any_error)


# one pause, shared with the shard's own (index/shard.py): two independent depth counters in one
# worker process could switch the collector back on while the other still needs it off
cyclic_gc_paused = shard_cyclic_gc_paused


def json_string_bodies(values: list[str]) -> list[bytes]:
    """Each string JSON-encoded WITHOUT its quotes, from one orjson.dumps of the list split on
    ``","``. That split is exact only when no value holds a quote: an escaped quote followed by
    ``,"`` inside a value (``'",'``) reads as a separator, so such lists are encoded one by one."""
    if not values:
        return []
    if '"' in "".join(values):
        return [orjson.dumps(value)[1:-1] for value in values]
    return orjson.dumps(values)[2:-2].split(b'","')


RESULT_BYTES = {"created": b"created", "updated": b"updated", "deleted": b"deleted", "noop": b"noop",
                "not_found": b"not_found"}


def _success_items(actions: list[str], document_ids: list[str], index_name: str, results: dict,
                   shards_applied: dict, forced_refresh: bool) -> list[bytes]:
    """Each successful item encoded straight from the columns, the same JSON (and key order) as
    the general path's item dicts. When action, version, result (so status) are the same for every
    item — a bulk of new documents — only the id and seq_no differ, and the items are built by a
    few C-level joins over the two encoded columns instead of one format operation per item."""
    versions, result_column, seq_nos = results["version"], results["result"], results["seq_no"]
    encoded_ids = json_string_bodies(document_ids)
    count = len(encoded_ids)
    head = b'"_index":' + orjson.dumps(index_name) + b',"_id":"'
    tail = ((b'"forced_refresh":true,' if forced_refresh else b"") + b'"_shards":' + orjson.dumps(shards_applied)
            + b',"_seq_no":')
    term = b',"_primary_term":' + str(int(results["primary_term"])).encode() + b',"status":'
    if (count and actions.count(actions[0]) == count and versions.count(versions[0]) == count
            and result_column.count(result_column[0]) == count):
        result = result_column[0]
        prefix = b'{"' + actions[0].encode() + b'":{' + head
        middle = (b'","_version":' + str(int(versions[0])).encode() + b',"result":"'
                  + (RESULT_BYTES.get(result) or result.encode()) + b'",' + tail)
        suffix = term + str(STATUS_BY_RESULT.get(result, 200)).encode() + b"}}"
        encoded_seq_nos = orjson.dumps(seq_nos)[1:-1].split(b",")
        # a newline never occurs inside the encoded items (orjson escapes it in strings), so it
        # separates them exactly: one join builds every item, one split cuts them apart
        joined = prefix + (suffix + b"\n" + prefix).join(map(middle.join, zip(encoded_ids, encoded_seq_nos))) + suffix
        return joined.split(b"\n")
    # the index name is data, not format: a "%" in it (a legal index name character) is escaped
    template = (b'{"%s":{' + head.replace(b"%", b"%%") + b'%s","_version":%d,"result":"%s",'
                + tail.replace(b"%", b"%%") + b"%d" + term + b"%d}}")
    action_bytes = {action: action.encode() for action in set(actions)}
    status_of = {result: STATUS_BY_RESULT.get(result, 200) for result in set(result_column)}
    result_bytes = {result: RESULT_BYTES.get(result) or result.encode() for result in status_of}
    return [template % (action_bytes[action], encoded_id, version, result_bytes[result], seq_no, status_of[result])
            for action, encoded_id, version, result, seq_no
            in zip(actions, encoded_ids, versions, result_column, seq_nos)]


def _columnar_failure(actions: list[str], document_ids: list[str], index_name: str, error: BaseException,
                      index_uuid: str | None, shard_number: int | None) -> list[bytes]:
    fields = item_error(error, index_name, index_uuid, shard_number)
    status = getattr(error, "status", None) or STATUS_BY_OPENSEARCH_TYPE.get(fields["type"], 500)
    return [orjson.dumps({action: {"_index": index_name, "_id": document_id, "status": status, "error": fields}})
            for action, document_id in zip(actions, document_ids)]


async def _write_columns_to_shard(services: Any, index_name: str, shard_number: int, actions: list[str],
                                  document_ids: list[str], sources: list[bytes], refresh: str,
                                  timeout_seconds: float, wait_for_active_shards: str | None
                                  ) -> tuple[list[bytes], bool]:
    """One shard's items: ONE write call (more only around mapping updates); the encoded items in
    order and whether any failed."""
    try:
        await wait_for_active_copies(services, index_name, shard_number, wait_for_active_shards, timeout_seconds)
    except Exception as error:  # noqa: BLE001 — every item of this shard reports it
        _record_columnar_failure(services, index_name, actions, error)
        return _columnar_failure(actions, document_ids, index_name, error, None, shard_number), True
    first_action = actions[0]
    uniform_action = first_action if actions.count(first_action) == len(actions) else None
    columns = {"actions": uniform_action or actions, "ids": document_ids, "lengths": list(map(len, sources))}
    body = b"".join(sources)
    known = services.state.indices.get(index_name)
    index_uuid = known.uuid if known is not None else None
    try:
        written = await write_on_primary(
            services, index_name, shard_number,
            lambda index: {"columns": columns, "refresh": refresh, "mapping_version": index.mapping_version,
                           "return_sources": False},
            body, timeout_seconds)
    except Exception as error:  # noqa: BLE001 — every item reports it
        _record_columnar_failure(services, index_name, actions, error)
        return _columnar_failure(actions, document_ids, index_name, error, index_uuid, shard_number), True
    answer, index, shard, elapsed_millis = written.answer, written.index, written.shard, written.elapsed_millis
    results = answer["results"]
    shards_applied = {"total": len(shard.copies), "successful": int(answer.get("successful_copies", 1)),
                      "failed": int(answer.get("failed_copies", 0))}
    with cyclic_gc_paused():
        items = _success_items(actions, document_ids, index_name, results, shards_applied,
                               bool(answer.get("forced_refresh")))
        result_column = results["result"]
        counts = (Counter(zip(actions, result_column)) if uniform_action is None else
                  Counter({(uniform_action, result): number for result, number in Counter(result_column).items()}))
    failed = results.get("errors") or []
    for position, error_type, reason, *cause in failed:
        action = actions[position]
        items[position] = orjson.dumps({action: {
            "_index": index_name, "_id": document_ids[position],
            "status": STATUS_BY_OPENSEARCH_TYPE.get(error_type, 500),
            "error": remote_error_fields(error_type, reason, index_name, index.uuid, shard_number,
                                         cause[0] if cause else None)}})
        counts[(action, result_column[position])] -= 1
        counts[(action, error_type)] += 1
    _record_columnar_counts(services, index_name, counts, elapsed_millis / max(1, len(actions)))
    return items, bool(failed)


def _record_columnar_failure(services: Any, index_name: str, actions: list[str], error: BaseException) -> None:
    """A failed shard call: counted in the metrics per item, not as index failures of the
    counters (as the general path)."""
    error_type = item_error(error, index_name, None, None)["type"]
    _record_columnar_counts(services, index_name, Counter((action, error_type) for action in actions), 0.0,
                            count_failures=False)


def _record_columnar_counts(services: Any, index_name: str, counts: Counter, per_item_millis: float,
                            count_failures: bool = True) -> None:
    """What _record_metrics and record_write_counters count per item, per (action, result)."""
    counters = services.index_counters[index_name]
    metrics = getattr(services.context, "metrics", None)
    for (action, result), number in counts.items():
        if number <= 0:
            continue
        if result not in STATUS_BY_RESULT:
            if count_failures:
                counters.index_failed += number
        elif result == "noop":
            counters.noop_update_total += number
        else:
            counters.index_total += number
            counters.index_time_millis += per_item_millis * number
        if metrics is not None:
            metrics.record_indexing(index_name, action, result, number)

def parse_source_object(source: bytes, what: str = "document") -> dict:
    """Validate that a request body is one JSON object (front-side, for single-document APIs)."""
    try:
        value = orjson.loads(source)
    except orjson.JSONDecodeError as error:
        raise ApiError(f"failed to parse the {what}: {error}", opensearch_type="mapper_parsing_exception") from None
    if not isinstance(value, dict):
        raise ApiError(f"failed to parse the {what}: expected a JSON object, got {type(value).__name__}",
                       opensearch_type="mapper_parsing_exception")
    return value


__all__ = ["ColumnarOutcome", "ColumnarWrites", "WriteOutcome", "WriteRequest", "execute_columnar_writes",
           "execute_writes", "new_document_id", "new_document_ids", "parse_source_object",
           "error_fields"]
