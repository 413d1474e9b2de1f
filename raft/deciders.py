"""Allocation deciders read from settings: which nodes a shard's copies may live on, how many per
node, and whether allocation or rebalancing is switched on — OpenSearch's FilterAllocationDecider,
ShardsLimitAllocationDecider and EnableAllocationDecider, as pure functions of the cluster state.

Owns the meaning of ``{cluster,index}.routing.allocation.{require,include,exclude}.<attribute>``
(attributes ``_name``, ``_id``, ``_host``, ``_ip``, ``_host_ip``, ``_publish_ip`` and the node's
own attributes; comma-separated values with ``*`` wildcards), ``{cluster,index}.routing.allocation
.total_shards_per_node``, ``{cluster,index}.routing.allocation.enable`` (all / primaries /
new_primaries / none) and ``{cluster,index}.routing.rebalance.enable`` (all / primaries / replicas
/ none); the index setting wins over the cluster one for ``enable``; the disk watermarks
``cluster.routing.allocation.disk.watermark.{low,high,flood_stage}`` over the disk usage each node
reports with its ping answers (``DiskUsage``), which indices the flood stage blocks, and shard
awareness over node attributes (``cluster.routing.allocation.awareness.*``). Each rejection is returned as
OpenSearch's explanation text, so ``_cluster/allocation/explain`` shows the allocator's own reason.
It never changes a state and never decides placement order (raft.allocation does).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from raft.state import ClusterState, NodeInfo

FILTER_KINDS = ("require", "include", "exclude")
CLUSTER_PREFIX = "cluster.routing.allocation."
INDEX_PREFIX = "index.routing.allocation."
TOTAL_SHARDS_PER_NODE = "total_shards_per_node"
ALLOCATION_ENABLE = "routing.allocation.enable"
REBALANCE_ENABLE = "routing.rebalance.enable"
ALLOCATION_ENABLE_VALUES = ("all", "primaries", "new_primaries", "none")
REBALANCE_ENABLE_VALUES = ("all", "primaries", "replicas", "none")
ADDRESS_ATTRIBUTES = ("_host", "_ip", "_host_ip", "_publish_ip")


def _node_attribute(node_id: str, node: NodeInfo, attribute: str) -> tuple[str, ...]:
    """The values a node has for a filter attribute (none: the filter does not match it)."""
    if attribute == "_name":
        return (node.name,)
    if attribute == "_id":
        return (node_id,)
    if attribute in ADDRESS_ATTRIBUTES:
        hosts = []
        for address in (node.transport_address, node.http_address):
            host = (address or "").rpartition(":")[0].strip("[]")
            if host and host not in hosts:
                hosts.append(host)
        return tuple(hosts)
    value = node.attributes.get(attribute)
    return () if value is None else (str(value),)


def _patterns(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


def _filters(settings: Mapping[str, Any], prefix: str, kind: str) -> dict[str, tuple[str, ...]]:
    start = f"{prefix}{kind}."
    found = {}
    for key, value in settings.items():
        if key.startswith(start) and _patterns(value):
            found[key[len(start):]] = _patterns(value)
    return found


def _matches(node_id: str, node: NodeInfo, attribute: str, patterns: Iterable[str]) -> bool:
    values = _node_attribute(node_id, node, attribute)
    return any(fnmatch.fnmatchcase(value, pattern) for value in values for pattern in patterns)


def _describe(filters: Mapping[str, tuple[str, ...]]) -> str:
    return ",".join(f'{attribute}:"{",".join(patterns)}"' for attribute, patterns in sorted(filters.items()))


def _filter_rejection(settings: Mapping[str, Any], prefix: str, scope: str, node_id: str,
                      node: NodeInfo) -> str | None:
    setting = prefix.rstrip(".")
    require = _filters(settings, prefix, "require")
    if require and not all(_matches(node_id, node, attribute, patterns) for attribute, patterns in require.items()):
        return f"node does not match {scope} setting [{setting}.require] filters [{_describe(require)}]"
    include = _filters(settings, prefix, "include")
    if include and not any(_matches(node_id, node, attribute, patterns) for attribute, patterns in include.items()):
        return f"node does not match {scope} setting [{setting}.include] filters [{_describe(include)}]"
    exclude = _filters(settings, prefix, "exclude")
    if exclude and any(_matches(node_id, node, attribute, patterns) for attribute, patterns in exclude.items()):
        return f"node matches {scope} setting [{setting}.exclude] filters [{_describe(exclude)}]"
    return None


def _cluster_settings(state: ClusterState) -> dict[str, Any]:
    return {**state.persistent_settings, **state.transient_settings}


def cluster_filter_rejection(state: ClusterState, node_id: str) -> str | None:
    """Why the cluster-wide filters keep every shard off ``node_id`` (None: they do not)."""
    return _filter_rejection(_cluster_settings(state), CLUSTER_PREFIX, "cluster", node_id, state.nodes[node_id])


def filter_rejection(state: ClusterState, index_name: str, node_id: str) -> str | None:
    """Why the filters keep ``index_name``'s copies off ``node_id``: the cluster's first, then the
    index's own (None: the node may hold them)."""
    rejection = cluster_filter_rejection(state, node_id)
    if rejection is not None:
        return rejection
    index = state.indices.get(index_name)
    if index is None:
        return None
    return _filter_rejection(index.settings, INDEX_PREFIX, "index", node_id, state.nodes[node_id])


def _int_setting(value: Any) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return -1


def has_shards_limit(state: ClusterState, index_name: str) -> bool:
    """Whether any ``total_shards_per_node`` (index or cluster) applies to ``index_name``."""
    index = state.indices.get(index_name)
    if index is not None and _int_setting(index.settings.get(INDEX_PREFIX + TOTAL_SHARDS_PER_NODE)) >= 0:
        return True
    return _int_setting(state.setting(CLUSTER_PREFIX + TOTAL_SHARDS_PER_NODE)) >= 0


def shards_limit_rejection(state: ClusterState, index_name: str, node_id: str,
                           copies_of_index_on_node: int, copies_on_node: int, remaining: bool = False) -> str | None:
    """``total_shards_per_node`` (index, then cluster; -1 or unset: no limit) for one more copy, or
    (``remaining``: the counts include the copy) for a copy already on the node staying there."""
    # one more copy needs count < limit; a copy already counted may stay while count <= limit
    over = (lambda limit, count: 0 <= limit < count) if remaining else (lambda limit, count: 0 <= limit <= count)
    index = state.indices.get(index_name)
    index_limit = _int_setting(index.settings.get(INDEX_PREFIX + TOTAL_SHARDS_PER_NODE)) if index else -1
    if over(index_limit, copies_of_index_on_node):
        return (f"too many shards [{copies_of_index_on_node}] allocated to this node for index [{index_name}], "
                f"index setting [{INDEX_PREFIX}{TOTAL_SHARDS_PER_NODE}={index_limit}]")
    cluster_limit = _int_setting(state.setting(CLUSTER_PREFIX + TOTAL_SHARDS_PER_NODE))
    if over(cluster_limit, copies_on_node):
        return (f"too many shards [{copies_on_node}] allocated to this node, cluster setting "
                f"[{CLUSTER_PREFIX}{TOTAL_SHARDS_PER_NODE}={cluster_limit}]")
    return None


def _enable_value(state: ClusterState, index_name: str, suffix: str, allowed: tuple[str, ...]) -> tuple[str, str]:
    """(value, the setting it came from): the index setting over the cluster one, default "all"."""
    index = state.indices.get(index_name)
    index_value = index.settings.get(f"index.{suffix}") if index else None
    if index_value is not None and str(index_value).lower() in allowed:
        return str(index_value).lower(), f"index.{suffix}"
    cluster_value = state.setting(f"cluster.{suffix}")
    if cluster_value is not None and str(cluster_value).lower() in allowed:
        return str(cluster_value).lower(), f"cluster.{suffix}"
    return "all", f"cluster.{suffix}"


def allocation_enable_rejection(state: ClusterState, index_name: str, primary: bool,
                                new_primary: bool) -> str | None:
    """``routing.allocation.enable`` for placing a copy: a replica needs ``all``, a primary that
    held data (restored from a node's disk) ``all`` or ``primaries``, the primary of a shard that
    never started anything but ``none``. Promoting an in-sync replica is not an allocation."""
    value, setting = _enable_value(state, index_name, ALLOCATION_ENABLE, ALLOCATION_ENABLE_VALUES)
    allowed = {"all": True, "primaries": primary, "new_primaries": primary and new_primary, "none": False}[value]
    if allowed:
        return None
    what = "replica" if not primary else "primary"
    return f"{what} allocations are forbidden due to {setting}={value}"


def rebalance_enable_rejection(state: ClusterState, index_name: str, primary: bool) -> str | None:
    """``routing.rebalance.enable`` for moving a copy to even out the nodes (not for moving it off a
    node its filters exclude, which is not a rebalance)."""
    value, setting = _enable_value(state, index_name, REBALANCE_ENABLE, REBALANCE_ENABLE_VALUES)
    allowed = {"all": True, "primaries": primary, "replicas": not primary, "none": False}[value]
    if allowed:
        return None
    return f"{'primary' if primary else 'replica'} rebalancing is forbidden due to {setting}={value}"


# ---- disk usage: OpenSearch's DiskThresholdDecider and the flood-stage block ----------------

DISK_THRESHOLD_ENABLED = "cluster.routing.allocation.disk.threshold_enabled"
SINGLE_DATA_NODE = "cluster.routing.allocation.disk.watermark.enable_for_single_data_node"
WATERMARK_LOW = "cluster.routing.allocation.disk.watermark.low"
WATERMARK_HIGH = "cluster.routing.allocation.disk.watermark.high"
WATERMARK_FLOOD_STAGE = "cluster.routing.allocation.disk.watermark.flood_stage"
WATERMARK_DEFAULTS = {WATERMARK_LOW: "85%", WATERMARK_HIGH: "90%", WATERMARK_FLOOD_STAGE: "95%"}
FLOOD_STAGE_BLOCK = "index.blocks.read_only_allow_delete"
_BYTE_UNITS = {"b": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3, "tb": 1024 ** 4, "pb": 1024 ** 5}


@dataclass(frozen=True, slots=True)
class DiskUsage:
    """One node's data-directory file system, as its ping answer reported it."""

    total_bytes: int
    available_bytes: int

    @property
    def used_percent(self) -> float:
        return 100.0 * (self.total_bytes - self.available_bytes) / self.total_bytes if self.total_bytes > 0 else 0.0

    @property
    def free_percent(self) -> float:
        return 100.0 - self.used_percent


def watermark_setting(state: ClusterState, key: str) -> tuple[str, float | None, int | None]:
    """(the value as set, the used-percent limit, or the free-bytes floor): ``85%``, ``0.85`` or
    ``500mb`` as OpenSearch accepts them; an unreadable value falls back to the default."""
    raw = str(state.setting(key, WATERMARK_DEFAULTS[key])).strip().lower()
    for text in (raw, WATERMARK_DEFAULTS[key]):
        try:
            if text.endswith("%"):
                return text, float(text[:-1]), None
            number = float(text)
            if number <= 1.0:
                return text, number * 100.0, None
        except ValueError:
            pass
        for unit in sorted(_BYTE_UNITS, key=len, reverse=True):
            if text.endswith(unit):
                try:
                    return text, None, int(float(text[:-len(unit)]) * _BYTE_UNITS[unit])
                except ValueError:
                    break
    return WATERMARK_DEFAULTS[key], float(WATERMARK_DEFAULTS[key][:-1]), None


def _exceeds(state: ClusterState, key: str, usage: DiskUsage) -> bool:
    _, percent, free_floor = watermark_setting(state, key)
    if percent is not None:
        return usage.used_percent >= percent
    return usage.available_bytes < (free_floor or 0)


def disk_threshold_enabled(state: ClusterState) -> bool:
    """The watermarks apply: switched on (the default), and — unless
    ``watermark.enable_for_single_data_node`` is true — more than one data node is registered
    (OpenSearch's default: a one-node cluster, e.g. on a laptop, never has its only copies held
    back or its indices blocked by them)."""
    if str(state.setting(DISK_THRESHOLD_ENABLED, "true")).lower() == "false":
        return False
    if str(state.setting(SINGLE_DATA_NODE, "false")).lower() == "true":
        return True
    return sum(1 for node in state.nodes.values() if "data" in node.roles) > 1


def disk_rejection(state: ClusterState, node_id: str, disk_usage: Mapping[str, DiskUsage] | None,
                   primary: bool, new_primary: bool) -> str | None:
    """Above the high watermark a node takes no copy; above the low one only the primary of a
    shard that never held data (a new index must be creatable). None when the node has not
    reported its disk (yet) or the decider is switched off."""
    usage = (disk_usage or {}).get(node_id)
    if usage is None or not disk_threshold_enabled(state):
        return None
    for key, name in ((WATERMARK_HIGH, "high"), (WATERMARK_LOW, "low")):
        if name == "low" and primary and new_primary:
            continue
        if _exceeds(state, key, usage):
            text, percent, free_floor = watermark_setting(state, key)
            limit = f"using more disk space than the maximum allowed [{percent:.1f}%]" if percent is not None else \
                f"leaving less free disk space than the minimum allowed [{text}]"
            return (f"the node is above the {name} watermark cluster setting [{key}={text}], {limit}, "
                    f"actual free: [{usage.free_percent:.1f}%]")
    return None


def nodes_above_watermark(state: ClusterState, disk_usage: Mapping[str, DiskUsage] | None, key: str) -> frozenset[str]:
    if not disk_usage or not disk_threshold_enabled(state):
        return frozenset()
    return frozenset(node_id for node_id, usage in disk_usage.items()
                     if node_id in state.nodes and _exceeds(state, key, usage))


def flood_stage_block_changes(state: ClusterState, disk_usage: Mapping[str, DiskUsage] | None
                              ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(indices to block, indices to release): an index with a copy on a node at or above the
    flood stage gets ``index.blocks.read_only_allow_delete`` (writes refused, deletes allowed);
    an index holding that block with no copy on a node above the HIGH watermark any more is
    released (OpenSearch's automatic release). Nodes that did not report are not judged."""
    if not disk_usage or not disk_threshold_enabled(state):
        return (), ()
    flooded = nodes_above_watermark(state, disk_usage, WATERMARK_FLOOD_STAGE)
    high = nodes_above_watermark(state, disk_usage, WATERMARK_HIGH)
    to_block, to_release = [], []
    for index_name in sorted(state.indices):
        holders = {shard_copy.node_id for shard in state.routing_table.get(index_name, ())
                   for shard_copy in shard.copies if shard_copy.node_id is not None}
        blocked = str(state.indices[index_name].settings.get(FLOOD_STAGE_BLOCK, "false")).lower() == "true"
        if holders & flooded and not blocked:
            to_block.append(index_name)
        elif blocked and not holders & high and holders <= set(disk_usage):
            to_release.append(index_name)
    return tuple(to_block), tuple(to_release)


# ---- awareness: spread each shard's copies over the values of node attributes ---------------

AWARENESS_ATTRIBUTES = "cluster.routing.allocation.awareness.attributes"
AWARENESS_FORCE_PREFIX = "cluster.routing.allocation.awareness.force."


def awareness_rejection(state: ClusterState, shard: Any, node_id: str) -> str | None:
    """OpenSearch's AwarenessAllocationDecider for one more copy of ``shard`` on ``node_id``: for each
    attribute of ``cluster.routing.allocation.awareness.attributes``, a node without it takes no
    copy, and no value may hold more than ceil(copies / values) of the shard's copies, where the
    values are those of the registered nodes plus ``awareness.force.<attribute>.values`` (forced
    values keep copies unassigned rather than doubled up when a zone is missing)."""
    attributes = _patterns(state.setting(AWARENESS_ATTRIBUTES))
    if not attributes:
        return None
    node = state.nodes[node_id]
    copies_wanted = len(shard.copies)
    for attribute in attributes:
        value = node.attributes.get(attribute)
        if value is None:
            return f"node does not contain the awareness attribute [{attribute}]; required attributes " \
                   f"cluster setting [{AWARENESS_ATTRIBUTES}={','.join(attributes)}]"
        values = {info.attributes[attribute] for info in state.nodes.values() if attribute in info.attributes}
        values |= set(_patterns(state.setting(f"{AWARENESS_FORCE_PREFIX}{attribute}.values")))
        per_value_limit = -(-copies_wanted // len(values))
        holding = sum(1 for shard_copy in shard.copies
                      if shard_copy.node_id is not None and shard_copy.node_id in state.nodes
                      and state.nodes[shard_copy.node_id].attributes.get(attribute) == value
                      and shard_copy.node_id != node_id)
        if holding + 1 > per_value_limit:
            return (f"there are [{holding}] copies of this shard and [{copies_wanted}] total configured shard "
                    f"copies for this shard id and [{len(values)}] total attribute values, expected the allocated "
                    f"shard count per attribute [{holding + 1}] to be less than or equal to the upper bound of the "
                    f"required number of shards per attribute [{per_value_limit}]")
    return None
