"""Cluster health from the routing table, and this node's operating-system figures.

Owns ``compute_health`` (green/yellow/red per shard, index and cluster exactly as OpenSearch
derives them from shard copy states; closed indices are left out), ``health_body``
(the /_cluster/health document at level cluster/indices/shards), ``master_node_id``, and
``local_os_figures`` (load, memory, disk, process figures read from /proc and os.statvfs).
It never waits and never changes anything; the API layer does the waiting.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from typing import Any

HEALTH_ORDER = {"green": 0, "yellow": 1, "red": 2}


def worst(statuses: list[str]) -> str:
    return max(statuses, key=lambda status: HEALTH_ORDER[status]) if statuses else "green"


@dataclass(frozen=True, slots=True)
class ShardCounts:
    active_primary_shards: int = 0
    active_shards: int = 0
    relocating_shards: int = 0
    initializing_shards: int = 0
    unassigned_shards: int = 0

    def plus(self, other: ShardCounts) -> ShardCounts:
        return ShardCounts(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple())))

    def as_tuple(self) -> tuple[int, ...]:
        return (self.active_primary_shards, self.active_shards, self.relocating_shards, self.initializing_shards,
                self.unassigned_shards)

    def as_json(self) -> dict[str, int]:
        return {"active_primary_shards": self.active_primary_shards, "active_shards": self.active_shards,
                "relocating_shards": self.relocating_shards, "initializing_shards": self.initializing_shards,
                "unassigned_shards": self.unassigned_shards}


def shard_counts(shard: Any) -> ShardCounts:
    active_primary = active = relocating = initializing = unassigned = 0
    # as in OpenSearch, a relocation's target is part of the relocating copy, not an initializing one
    relocation_targets = sum(1 for shard_copy in shard.copies if shard_copy.state == "RELOCATING")
    for shard_copy in shard.copies:
        if shard_copy.state == "INITIALIZING" and not shard_copy.primary and relocation_targets:
            relocation_targets -= 1
            continue
        if shard_copy.state in ("STARTED", "RELOCATING"):
            active += 1
            if shard_copy.primary:
                active_primary += 1
            if shard_copy.state == "RELOCATING":
                relocating += 1
        elif shard_copy.state == "INITIALIZING":
            initializing += 1
        else:
            unassigned += 1
    return ShardCounts(active_primary, active, relocating, initializing, unassigned)


def index_health(state: Any, index_name: str) -> tuple[str, ShardCounts, list[tuple[Any, str, ShardCounts]]]:
    shards = state.routing_table.get(index_name, ())
    per_shard = [(shard, shard.health, shard_counts(shard)) for shard in shards]
    counts = ShardCounts()
    for _, _, shard_count in per_shard:
        counts = counts.plus(shard_count)
    return worst([health for _, health, _ in per_shard]), counts, per_shard


def master_node_id(state: Any, status: Any) -> str | None:
    leader = getattr(status, "leader_address", None)
    if leader is None:
        return None
    for node_id, node in state.nodes.items():
        if node.raft_address == leader:
            return node_id
    return None


def health_body(state: Any, status: Any, index_names: list[str] | None, level: str = "cluster",
                missing_indices: bool = False) -> dict[str, Any]:
    names = [name for name in (index_names if index_names is not None else sorted(state.indices))
             if name in state.indices and state.indices[name].state == "open"]
    statuses = []
    counts = ShardCounts()
    indices_body: dict[str, Any] = {}
    for name in names:
        health, index_counts, per_shard = index_health(state, name)
        statuses.append(health)
        counts = counts.plus(index_counts)
        if level in ("indices", "shards"):
            index = state.indices[name]
            entry = {"status": health, "number_of_shards": index.number_of_shards,
                     "number_of_replicas": index.number_of_replicas, **index_counts.as_json()}
            if level == "shards":
                entry["shards"] = {str(shard.shard_number): {
                    "status": shard_health, "primary_active": shard_count.active_primary_shards > 0,
                    **{k: v for k, v in shard_count.as_json().items() if k != "active_primary_shards"}}
                    for shard, shard_health, shard_count in per_shard}
            indices_body[name] = entry
    cluster_status = "red" if missing_indices else worst(statuses)
    total = counts.active_shards + counts.initializing_shards + counts.unassigned_shards
    data_nodes = sum(1 for node in state.nodes.values() if "data" in node.roles)
    has_master = master_node_id(state, status) is not None or getattr(status, "leader_address", None) is not None
    body = {
        "cluster_name": state.cluster_name, "status": cluster_status, "timed_out": False,
        "number_of_nodes": len(state.nodes), "number_of_data_nodes": data_nodes,
        "discovered_master": has_master, "discovered_cluster_manager": has_master,
        **counts.as_json(), "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0,
        "number_of_in_flight_fetch": 0, "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": 100.0 if total == 0 else 100.0 * counts.active_shards / total,
    }
    if level in ("indices", "shards"):
        body["indices"] = indices_body
    return body


# --------------------------------------------------------------------------- this machine


def _meminfo() -> dict[str, int]:
    figures: dict[str, int] = {}
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                key, _, rest = line.partition(":")
                parts = rest.split()
                if parts:
                    figures[key] = int(parts[0]) * 1024
    except OSError:
        pass
    return figures


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def local_os_figures(data_directory: Any) -> dict[str, Any]:
    now = int(time.time() * 1000)
    try:
        load = os.getloadavg()
    except OSError:
        load = (0.0, 0.0, 0.0)
    memory = _meminfo()
    total_memory = memory.get("MemTotal", 0)
    free_memory = memory.get("MemAvailable", memory.get("MemFree", 0))
    used_memory = max(0, total_memory - free_memory)
    try:
        disk = os.statvfs(str(data_directory))
        disk_total = disk.f_blocks * disk.f_frsize
        disk_free = disk.f_bfree * disk.f_frsize
        disk_available = disk.f_bavail * disk.f_frsize
    except OSError:
        disk_total = disk_free = disk_available = 0
    cpu_count = os.cpu_count() or 1
    usage = resource.getrusage(resource.RUSAGE_SELF)
    try:
        open_files = len(os.listdir("/proc/self/fd"))
    except OSError:
        open_files = -1
    soft_limit, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return {
        "os": {"timestamp": now,
               "cpu": {"percent": int(min(100.0, 100.0 * load[0] / cpu_count)),
                       "load_average": {"1m": round(load[0], 2), "5m": round(load[1], 2), "15m": round(load[2], 2)}},
               "mem": {"total_in_bytes": total_memory, "free_in_bytes": free_memory, "used_in_bytes": used_memory,
                       "free_percent": int(100 * free_memory / total_memory) if total_memory else 0,
                       "used_percent": int(100 * used_memory / total_memory) if total_memory else 0}},
        "process": {"timestamp": now, "open_file_descriptors": open_files, "max_file_descriptors": soft_limit,
                    "cpu": {"percent": 0, "total_in_millis": int((usage.ru_utime + usage.ru_stime) * 1000)},
                    "mem": {"resident_in_bytes": _resident_bytes()}},
        "fs": {"timestamp": now,
               "total": {"total_in_bytes": disk_total, "free_in_bytes": disk_free,
                         "available_in_bytes": disk_available},
               "data": [{"path": str(data_directory), "total_in_bytes": disk_total, "free_in_bytes": disk_free,
                         "available_in_bytes": disk_available}]},
    }
