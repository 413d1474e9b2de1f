"""Shard statistics gathered from the primaries and shaped as OpenSearch's index stats.

Owns ``gather_shard_statistics`` (one ``stats`` call per started primary, in parallel; a shard
that cannot answer is counted as failed, never invented), ``IndexCounters`` (per-index indexing
and search counters the front keeps: the engine counts segments and refreshes, the front counts
requests), and ``index_stats_section`` (docs, store, indexing, search, refresh, flush, merges,
translog, segments — the body of one "primaries"/"total" object in ``_stats``).

It must never change a shard: ``stats`` is read-only on the worker.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import trio

from node.errors import IllegalArgumentError

STATS_TIMEOUT_SECONDS = 10.0


@dataclass
class IndexCounters:
    index_total: int = 0
    index_failed: int = 0
    index_time_millis: float = 0.0
    delete_total: int = 0
    delete_time_millis: float = 0.0
    noop_update_total: int = 0
    query_total: int = 0
    query_time_millis: float = 0.0
    fetch_total: int = 0
    fetch_time_millis: float = 0.0
    scroll_total: int = 0
    extra: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ShardStatisticsAnswer:
    index_name: str
    shard_number: int
    node_id: str | None
    statistics: dict[str, Any] | None      # ShardStatistics as a dict; None when it failed
    error: str | None = None


async def gather_shard_statistics(services: Any, index_names: list[str]) -> list[ShardStatisticsAnswer]:
    state = services.state
    answers: list[ShardStatisticsAnswer] = []

    async def one(index_name: str, shard_number: int, node_id: str | None) -> None:
        try:
            payload, _, _, _ = await services.director.call_primary(
                index_name, shard_number, "stats", {}, b"", timeout_seconds=STATS_TIMEOUT_SECONDS)
            answers.append(ShardStatisticsAnswer(index_name, shard_number, node_id, payload))
        except Exception as error:  # noqa: BLE001 — a failed shard is reported as failed
            answers.append(ShardStatisticsAnswer(index_name, shard_number, node_id, None,
                                                 getattr(error, "reason", str(error))))

    async with trio.open_nursery() as nursery:
        for index_name in index_names:
            index = state.indices.get(index_name)
            if index is None or index.state != "open":
                continue
            for shard in state.routing_table.get(index_name, ()):
                primary = shard.primary()
                if primary is None or primary.state not in ("STARTED", "RELOCATING"):
                    continue
                nursery.start_soon(one, index_name, shard.shard_number, primary.node_id)
    answers.sort(key=lambda answer: (answer.index_name, answer.shard_number))
    return answers


def _millis(seconds: float) -> int:
    return int(round(seconds * 1000))


def index_stats_section(shard_statistics: list[dict[str, Any]], counters: IndexCounters | None) -> dict[str, Any]:
    """One ``primaries`` / ``total`` object of the _stats API from the shards' statistics."""
    def total(key: str) -> float:
        return sum(statistics.get(key, 0) for statistics in shard_statistics)

    counters = counters or IndexCounters()
    return {
        "docs": {"count": int(total("doc_count")), "deleted": int(total("deleted_docs"))},
        "store": {"size_in_bytes": int(total("size_bytes") + total("translog_size_bytes")),
                  "reserved_in_bytes": 0},
        "indexing": {"index_total": counters.index_total, "index_time_in_millis": int(counters.index_time_millis),
                     "index_current": 0, "index_failed": counters.index_failed,
                     "delete_total": counters.delete_total,
                     "delete_time_in_millis": int(counters.delete_time_millis), "delete_current": 0,
                     "noop_update_total": counters.noop_update_total, "is_throttled": False,
                     "throttle_time_in_millis": 0},
        "search": {"open_contexts": int(total("open_reader_contexts")), "query_total": counters.query_total,
                   "query_time_in_millis": int(counters.query_time_millis), "query_current": 0,
                   "fetch_total": counters.fetch_total, "fetch_time_in_millis": int(counters.fetch_time_millis),
                   "fetch_current": 0, "scroll_total": counters.scroll_total, "scroll_time_in_millis": 0,
                   "scroll_current": 0, "suggest_total": 0, "suggest_time_in_millis": 0, "suggest_current": 0},
        "refresh": {"total": int(total("refresh_total")), "total_time_in_millis": _millis(total("refresh_time_seconds")),
                    "external_total": int(total("refresh_total")),
                    "external_total_time_in_millis": _millis(total("refresh_time_seconds")), "listeners": 0},
        "flush": {"total": int(total("flush_total")), "periodic": 0,
                  "total_time_in_millis": _millis(total("flush_time_seconds"))},
        "merges": {"current": int(total("merge_current")), "current_docs": int(total("merge_current_docs")),
                   "current_size_in_bytes": 0, "total": int(total("merge_total")),
                   "total_time_in_millis": _millis(total("merge_time_seconds")),
                   "total_docs": int(total("merged_docs_total")), "total_size_in_bytes": 0,
                   "total_stopped_time_in_millis": 0, "total_throttled_time_in_millis": 0,
                   "total_auto_throttle_in_bytes": 0},
        "translog": {"operations": int(total("translog_operations")),
                     "size_in_bytes": int(total("translog_size_bytes")),
                     "uncommitted_operations": int(total("translog_uncommitted_operations")),
                     "uncommitted_size_in_bytes": 0, "earliest_last_modified_age": 0},
        "segments": {"count": int(total("segment_count")), "memory_in_bytes": 0},
        # sections of caches and subsystems Quidditch does not have (no get/request/query cache,
        # no fielddata, no completion suggester, no warmers): their counters are truly zero
        "get": {"total": 0, "time_in_millis": 0, "exists_total": 0, "exists_time_in_millis": 0, "missing_total": 0,
                "missing_time_in_millis": 0, "current": 0},
        "warmer": {"current": 0, "total": 0, "total_time_in_millis": 0},
        "query_cache": {"memory_size_in_bytes": 0, "total_count": 0, "hit_count": 0, "miss_count": 0,
                        "cache_size": 0, "cache_count": 0, "evictions": 0},
        "fielddata": {"memory_size_in_bytes": 0, "evictions": 0},
        "completion": {"size_in_bytes": 0},
        "request_cache": {"memory_size_in_bytes": 0, "evictions": 0, "hit_count": 0, "miss_count": 0},
        "recovery": {"current_as_source": 0, "current_as_target": 0, "throttle_time_in_millis": 0},
    }


# the metric names of GET /_stats/{metric} → the section each selects ("merge" → "merges",
# "suggest" is part of "search")
INDEX_STATS_METRIC_SECTIONS: dict[str, str] = {
    "docs": "docs", "store": "store", "indexing": "indexing", "get": "get", "search": "search",
    "suggest": "search", "merge": "merges", "refresh": "refresh", "flush": "flush", "warmer": "warmer",
    "query_cache": "query_cache", "fielddata": "fielddata", "completion": "completion",
    "segments": "segments", "translog": "translog", "request_cache": "request_cache", "recovery": "recovery",
}


def index_stats_sections_for(metric: str | None, request_path: str) -> set[str] | None:
    """The sections ``metric`` (comma-separated, from the URL) selects; None for every section
    (no metric, or ``_all``). An unknown metric is OpenSearch's 400, with its suggestion."""
    names = [name for name in (metric or "_all").split(",") if name]
    if "_all" in names:
        return None
    unknown = [name for name in names if name not in INDEX_STATS_METRIC_SECTIONS]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(INDEX_STATS_METRIC_SECTIONS), n=1, cutoff=0.6)
        suggestion = f" -> did you mean [{close[0]}]?" if close else ""
        raise IllegalArgumentError(f"request [{request_path}] contains unrecognized metric: "
                                   f"[{unknown[0]}]{suggestion}")
    return {INDEX_STATS_METRIC_SECTIONS[name] for name in names}


def record_write_counters(counters: IndexCounters, action: str, result: str | None, failed: bool,
                          elapsed_millis: float) -> None:
    if failed:
        counters.index_failed += 1 if action != "delete" else 0
        return
    if action == "delete":
        counters.delete_total += 1
        counters.delete_time_millis += elapsed_millis
    elif result == "noop":
        counters.noop_update_total += 1
    else:
        counters.index_total += 1
        counters.index_time_millis += elapsed_millis


async def gather_copy_statistics(services: Any, index_names: list[str]) -> dict[tuple[str, int, str], dict]:
    """Statistics of every started copy (primaries and replicas), keyed by
    (index name, shard number, allocation id); copies that cannot answer are left out."""
    state = services.state
    found: dict[tuple[str, int, str], dict] = {}

    async def one(index: Any, shard_number: int, shard_copy: Any) -> None:
        try:
            payload, _ = await services.director.call_copy(index, shard_number, shard_copy, "stats", {},
                                                           timeout_seconds=STATS_TIMEOUT_SECONDS)
        except Exception:  # noqa: BLE001 — an unreachable copy shows no figures
            return
        found[(index.name, shard_number, shard_copy.allocation_id)] = payload

    async with trio.open_nursery() as nursery:
        for index_name in index_names:
            index = state.indices.get(index_name)
            if index is None or index.state != "open":
                continue
            for shard in state.routing_table.get(index_name, ()):
                for shard_copy in shard.copies:
                    if shard_copy.state in ("STARTED", "RELOCATING") and shard_copy.allocation_id:
                        nursery.start_soon(one, index, shard.shard_number, shard_copy)
    return found


RECOVERY_PROGRESS_TIMEOUT_SECONDS = 5.0


async def gather_recoveries(services: Any, index_names: list[str]) -> dict[tuple[str, int, str], dict[str, Any]]:
    """The recovery records (replication.RecoveryProgress as wire dicts) of every assigned copy of
    ``index_names``, keyed (index_uuid, shard_number, allocation_id), asked of the nodes holding
    them (``recovery/progress``) in parallel. A node that does not answer in time contributes
    nothing: the caller shows those copies from the routing table alone, never invented figures."""
    from node.coordination.replication import RECOVERY_PROGRESS_METHOD

    state = services.state
    context = services.context
    node_ids = {shard_copy.node_id for name in index_names for shard in state.routing_table.get(name, ())
                for shard_copy in shard.copies if shard_copy.node_id is not None}
    wanted_uuids = {state.indices[name].uuid for name in index_names if name in state.indices}
    found: dict[tuple[str, int, str], dict[str, Any]] = {}

    async def one(node_id: str) -> None:
        with trio.move_on_after(RECOVERY_PROGRESS_TIMEOUT_SECONDS):
            try:
                if node_id == context.node_id:
                    answer, _ = await services.director.replication.handle_recovery_progress({}, b"")
                else:
                    node = state.nodes.get(node_id)
                    peers = getattr(context, "peers", None)
                    if node is None or peers is None:
                        return
                    answer, _ = await peers.request(node.transport_address, RECOVERY_PROGRESS_METHOD, {}, b"",
                                                    RECOVERY_PROGRESS_TIMEOUT_SECONDS)
            except Exception:  # noqa: BLE001 — that node's copies are shown from the routing table
                return
            for record in answer.get("recoveries", ()):
                if record.get("index_uuid") in wanted_uuids:
                    found[(record["index_uuid"], int(record["shard_number"]), record["allocation_id"])] = record

    async with trio.open_nursery() as nursery:
        for node_id in sorted(node_ids):
            nursery.start_soon(one, node_id)
    return found


def recovery_percent(done: int, total: int, finished: bool) -> str:
    """OpenSearch's percentages: 0 of 0 is 100% once finished (nothing to copy), else 0%."""
    if total <= 0:
        return "100.0%" if finished else "0.0%"
    return f"{100.0 * min(done, total) / total:.1f}%"


def millis_as_time_value(millis: int) -> str:
    """OpenSearch's TimeValue.toString of a millisecond count: ``0s`` for zero, else the largest
    unit keeping the number at least 1 (``12ms``, ``1.5s``)."""
    if millis == 0:
        return "0s"
    from node.api.cat import time_value_text   # local: node/api imports this module

    return time_value_text(int(millis) * 1_000_000)


def get_section_with_human_times(section: dict[str, Any]) -> dict[str, Any]:
    """The ``get`` stats with ``human=true`` as OpenSearch 3.0 writes them: each ``*_time_in_millis``
    gets its readable twin, and ``time`` is also written as ``getTime`` (both kept since 3.0)."""
    human = dict(section)
    human["getTime"] = millis_as_time_value(int(section.get("time_in_millis", 0)))
    human["time"] = human["getTime"]
    for key in ("exists", "missing"):
        human[f"{key}_time"] = millis_as_time_value(int(section.get(f"{key}_time_in_millis", 0)))
    return human
