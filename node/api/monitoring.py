"""Monitoring APIs that read what exists: GET /{index}/_recovery, GET /_segments and
/{index}/_segments, GET /_nodes/usage, GET /_nodes/hot_threads, POST /_nodes/reload_secure_settings.

``_recovery`` lists one entry per assigned copy, from the recovery record its node keeps
(node/coordination/replication.py ``RecoveryProgress``, asked with ``recovery/progress``): type
(EMPTY_STORE / EXISTING_STORE / PEER), stage (INIT, INDEX, TRANSLOG, FINALIZE, DONE), files and
bytes copied by a file-based recovery, operations replayed, start/stop time, source and target
node. A copy whose node kept no record or did not answer is shown from the routing table alone
(stage DONE or INIT, 0 of 0 figures), never with invented progress.

``_segments`` asks each started copy's worker for its searchable segments (the ``segments`` shard
method) and renders them keyed ``_<generation in base 36>`` as Lucene names them.

``_nodes/usage`` counts REST calls per route endpoint at this node since it started (other nodes
are asked nothing: their counts are theirs; they answer with what this node saw of them: none).
``_nodes/hot_threads`` is a text snapshot of the front process's threads (Python stacks, no CPU
sampling). ``reload_secure_settings`` reloads nothing (there is no keystore) and says so per node.

It must never change the cluster state, nor invent progress or usage figures.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections import Counter
from typing import Any

import trio
from quart import request

from index.format import FORMAT_VERSION
from node.api import params, respond, text_response
from node.api.cluster import selected_node_ids
from node.coordination.resolve import IndicesOptions, resolve_indices
from node.coordination.stats import gather_recoveries, recovery_percent
from node.coordination.values import parse_boolean

SEGMENTS_TIMEOUT_SECONDS = 10.0


# a segment's `version`: this build's segment file format (index/format.py) as a dotted number,
# where OpenSearch shows the Lucene version that wrote the segment
SEGMENT_FORMAT_VERSION = f"{FORMAT_VERSION}.0"


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    if number == 0:
        return "0"
    text = ""
    while number:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
    return text


def recovery_type(shard: Any, shard_copy: Any) -> str:
    if not shard_copy.primary:
        return "PEER"
    return "EMPTY_STORE" if shard.primary_term <= 1 else "EXISTING_STORE"


def node_summary(state: Any, node_id: str | None) -> dict[str, Any]:
    node = state.nodes.get(node_id) if node_id is not None else None
    host = node.http_address.rsplit(":", 1)[0] if node else None
    return {"id": node_id, "host": host, "transport_address": node.transport_address if node else None,
            "ip": host, "name": node.name if node else None}


def iso_millis(millis: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis / 1000)) + f".{millis % 1000:03d}Z"


def recovery_entry_from_record(state: Any, shard: Any, shard_copy: Any, record: dict, now_millis: int,
                               human: bool) -> dict[str, Any]:
    """One ``_recovery`` shard entry from the target node's RecoveryProgress record."""
    finished = record["stage"] == "DONE"
    stop_millis = record.get("stop_time_millis")
    total_millis = max(0, (stop_millis if stop_millis is not None else now_millis) - int(record["start_time_millis"]))
    translog_total = int(record["operations_total"])
    entry: dict[str, Any] = {
        "id": shard.shard_number, "type": record["recovery_type"], "stage": record["stage"],
        "primary": shard_copy.primary, "start_time_in_millis": int(record["start_time_millis"])}
    if stop_millis is not None:
        entry["stop_time_in_millis"] = int(stop_millis)
    entry["total_time_in_millis"] = total_millis
    if human:
        entry["start_time"] = iso_millis(int(record["start_time_millis"]))
        if stop_millis is not None:
            entry["stop_time"] = iso_millis(int(stop_millis))
        entry["total_time"] = f"{total_millis / 1000:.1f}s"
    entry["source"] = node_summary(state, record.get("source_node_id")) if record["recovery_type"] == "PEER" else {}
    entry["target"] = node_summary(state, record["target_node_id"])
    entry["index"] = {
        "size": {"total_in_bytes": int(record["bytes_total"]), "reused_in_bytes": 0,
                 "recovered_in_bytes": int(record["bytes_recovered"]),
                 "percent": recovery_percent(int(record["bytes_recovered"]), int(record["bytes_total"]), finished)},
        "files": {"total": int(record["files_total"]), "reused": 0, "recovered": int(record["files_recovered"]),
                  "percent": recovery_percent(int(record["files_recovered"]), int(record["files_total"]), finished)},
        "total_time_in_millis": int(record["index_time_millis"]), "source_throttle_time_in_millis": 0,
        "target_throttle_time_in_millis": 0}
    entry["translog"] = {
        "recovered": int(record["operations_recovered"]), "total": translog_total,
        "percent": recovery_percent(int(record["operations_recovered"]), translog_total, finished),
        "total_on_start": translog_total, "total_time_in_millis": int(record["translog_time_millis"])}
    entry["verify_index"] = {"check_index_time_in_millis": 0, "total_time_in_millis": 0}
    return entry


def recovery_entry_from_routing(state: Any, shard: Any, shard_copy: Any) -> dict[str, Any]:
    """A copy whose node kept no record (or did not answer): what the routing table says, with no
    progress figures (0 of 0), never invented ones."""
    done = shard_copy.state in ("STARTED", "RELOCATING")
    kind = recovery_type(shard, shard_copy)
    entry: dict[str, Any] = {
        "id": shard.shard_number, "type": kind, "stage": "DONE" if done else "INIT",
        "primary": shard_copy.primary, "target": node_summary(state, shard_copy.node_id),
        "index": {"size": {"total_in_bytes": 0, "reused_in_bytes": 0, "recovered_in_bytes": 0,
                           "percent": "100.0%" if done else "0.0%"},
                  "files": {"total": 0, "reused": 0, "recovered": 0, "percent": "100.0%" if done else "0.0%"},
                  "total_time_in_millis": 0, "source_throttle_time_in_millis": 0,
                  "target_throttle_time_in_millis": 0},
        "translog": {"recovered": 0, "total": 0, "percent": "100.0%" if done else "-1.0%",
                     "total_on_start": 0, "total_time_in_millis": 0},
        "verify_index": {"check_index_time_in_millis": 0, "total_time_in_millis": 0}}
    if kind == "PEER":
        primary = shard.primary()
        entry["source"] = node_summary(state, primary.node_id if primary is not None else None)
    else:
        entry["source"] = {}
    return entry


def register(app: Any, services: Any) -> None:
    context = services.context
    rest_action_counts: Counter[str] = Counter()
    started_millis = int(time.time() * 1000)

    @app.before_request
    async def count_rest_action() -> None:
        endpoint = request.endpoint
        if endpoint:
            rest_action_counts[endpoint] += 1

    # ------------------------------------------------------------------ recovery

    async def indices_recovery(index: str | None = None) -> Any:
        query = params()
        state = services.state
        names = resolve_indices(state, index, IndicesOptions())
        active_only = query.get("active_only") in ("true", "")
        human = query.get("human") in ("true", "")
        detailed = parse_boolean(query.get("detailed"), "detailed", False)
        records = await gather_recoveries(services, names)
        now_millis = int(time.time() * 1000)
        body: dict[str, Any] = {}
        for name in names:
            entries = []
            index_uuid = state.indices[name].uuid if name in state.indices else None
            for shard in state.routing_table.get(name, ()):
                for shard_copy in shard.copies:
                    if not shard_copy.assigned:
                        continue
                    record = records.get((index_uuid, shard.shard_number, shard_copy.allocation_id))
                    entry = (recovery_entry_from_record(state, shard, shard_copy, record, now_millis, human)
                             if record is not None else recovery_entry_from_routing(state, shard, shard_copy))
                    if state.indices[name].state == "close" and entry["type"] == "EMPTY_STORE":
                        # OpenSearch re-initializes a closed index's primaries from their existing
                        # store (replicated closed indices, 7.2+): never an empty one again
                        entry["type"] = "EXISTING_STORE"
                    if detailed:
                        # the per-file list of OpenSearch's detailed view: Quidditch keeps no file
                        # names in its recovery records, so the list is empty, never invented
                        entry["index"]["files"]["details"] = []
                    if active_only and entry["stage"] == "DONE":
                        continue
                    entries.append(entry)
            if entries or not active_only:
                body[name] = {"shards": entries}
        return respond(body)

    app.add_url_rule("/_recovery", "indices_recovery_all", indices_recovery, methods=["GET"])
    app.add_url_rule("/<index>/_recovery", "indices_recovery", indices_recovery, methods=["GET"])

    # ------------------------------------------------------------------ segments

    async def indices_segments(index: str | None = None) -> Any:
        state = services.state
        names = resolve_indices(state, index, IndicesOptions())
        counts = {"total": 0, "successful": 0, "failed": 0}
        failures: list[dict] = []
        indices_body: dict[str, Any] = {name: {"shards": {}} for name in names}

        async def one(name: str, index: Any, shard: Any, shard_copy: Any) -> None:
            try:
                answer, _ = await services.director.call_copy(index, shard.shard_number, shard_copy, "segments", {},
                                                              b"", SEGMENTS_TIMEOUT_SECONDS)
            except Exception as error:  # noqa: BLE001 — reported in _shards.failures, as OpenSearch does
                counts["failed"] += 1
                failures.append({"shard": shard.shard_number, "index": name, "node": shard_copy.node_id,
                                 "reason": {"type": getattr(error, "opensearch_type", "exception"),
                                            "reason": getattr(error, "reason", str(error))}})
                return
            counts["successful"] += 1
            segments = {f"_{base36(int(segment['generation']))}": {
                "generation": int(segment["generation"]), "num_docs": int(segment["docs.count"]),
                "deleted_docs": int(segment["docs.deleted"]), "size_in_bytes": int(segment["size"]),
                "memory_in_bytes": 0, "committed": True, "search": True, "version": SEGMENT_FORMAT_VERSION,
                "compound": False, "attributes": {}, "name": segment["segment"]}
                for segment in answer["segments"]}
            indices_body[name]["shards"].setdefault(str(shard.shard_number), []).append({
                "routing": {"state": shard_copy.state, "primary": shard_copy.primary, "node": shard_copy.node_id},
                "num_committed_segments": len(segments), "num_search_segments": len(segments),
                "segments": segments})

        async with trio.open_nursery() as nursery:
            for name in names:
                index = state.indices[name]
                for shard in state.routing_table.get(name, ()):
                    for shard_copy in shard.copies:
                        counts["total"] += 1
                        if shard_copy.state in ("STARTED", "RELOCATING"):
                            nursery.start_soon(one, name, index, shard, shard_copy)
        for name in names:
            for copies in indices_body[name]["shards"].values():
                copies.sort(key=lambda entry: not entry["routing"]["primary"])
        shards_body: dict[str, Any] = dict(counts)
        if failures:
            shards_body["failures"] = failures
        return respond({"_shards": shards_body, "indices": indices_body})

    app.add_url_rule("/_segments", "indices_segments_all", indices_segments, methods=["GET"])
    app.add_url_rule("/<index>/_segments", "indices_segments", indices_segments, methods=["GET"])

    # ------------------------------------------------------------------ nodes

    def nodes_header(selected: list[str]) -> dict[str, Any]:
        return {"_nodes": {"total": len(selected), "successful": len(selected), "failed": 0},
                "cluster_name": services.state.cluster_name}

    async def nodes_usage(node_filter: str | None = None, metric: str | None = None) -> Any:
        selected = selected_node_ids(services, node_filter)
        wanted = set((metric or "_all").split(","))
        nodes_body = {}
        for node_id in selected:
            entry: dict[str, Any] = {"timestamp": int(time.time() * 1000)}
            if node_id == context.node_id:
                entry["since"] = started_millis
                if wanted & {"_all", "rest_actions"}:
                    entry["rest_actions"] = dict(sorted(rest_action_counts.items()))
                if wanted & {"_all", "aggregations"}:
                    entry["aggregations"] = {}
            nodes_body[node_id] = entry
        return respond({**nodes_header(selected), "nodes": nodes_body})

    app.add_url_rule("/_nodes/usage", "nodes_usage", nodes_usage, methods=["GET"])
    app.add_url_rule("/_nodes/usage/<metric>", "nodes_usage_metric", nodes_usage, methods=["GET"])
    app.add_url_rule("/_nodes/<node_filter>/usage", "nodes_usage_filter", nodes_usage, methods=["GET"])
    app.add_url_rule("/_nodes/<node_filter>/usage/<metric>", "nodes_usage_filter_metric", nodes_usage,
                     methods=["GET"])

    async def nodes_hot_threads(node_filter: str | None = None) -> Any:
        query = params()
        threads_wanted = int(query.get("threads", "3"))
        state = services.state
        lines: list[str] = []
        now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
        for node_id in selected_node_ids(services, node_filter):
            node = state.nodes[node_id]
            host = node.http_address.rsplit(":", 1)[0]
            lines.append(f"::: {{{node.name}}}{{{node_id}}}{{{host}}}{{{node.transport_address}}}")
            lines.append(f"   Hot threads at {now}, interval={query.get('interval', '500ms')}, "
                         f"busiestThreads={threads_wanted}, ignoreIdleThreads="
                         f"{query.get('ignore_idle_threads', 'true')}:")
            if node_id != context.node_id:
                lines.append("    (threads of other nodes are not collected by this node)")
                continue
            lines.append("    (a snapshot of the front process's thread stacks; CPU time is not sampled)")
            names = {thread.ident: thread.name for thread in threading.enumerate()}
            for ident, frame in list(sys._current_frames().items())[:threads_wanted]:
                lines.append(f"    thread [{names.get(ident, ident)}]")
                for summary in traceback.extract_stack(frame)[-5:]:
                    lines.append(f"      {summary.filename}:{summary.lineno} {summary.name}")
            lines.append("")
        return text_response("\n".join(lines) + "\n")

    for path in ("/_nodes/hot_threads", "/_nodes/hotthreads", "/_cluster/nodes/hot_threads"):
        app.add_url_rule(path, f"nodes_hot_threads{path}", nodes_hot_threads, methods=["GET"])
    for path in ("/_nodes/<node_filter>/hot_threads", "/_nodes/<node_filter>/hotthreads",
                 "/_cluster/nodes/<node_filter>/hot_threads"):
        app.add_url_rule(path, f"nodes_hot_threads_filter{path}", nodes_hot_threads, methods=["GET"])

    async def reload_secure_settings(node_filter: str | None = None) -> Any:
        selected = selected_node_ids(services, node_filter)
        # there is no keystore: every node reloads nothing, successfully (OpenSearch's answer for a
        # node whose keystore holds no reloadable setting)
        return respond({**nodes_header(selected),
                        "nodes": {node_id: {"name": services.state.nodes[node_id].name} for node_id in selected}})

    app.add_url_rule("/_nodes/reload_secure_settings", "nodes_reload_secure_settings", reload_secure_settings,
                     methods=["POST"])
    app.add_url_rule("/_nodes/<node_filter>/reload_secure_settings", "nodes_reload_secure_settings_filter",
                     reload_secure_settings, methods=["POST"])
