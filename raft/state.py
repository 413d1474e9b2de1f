"""The cluster state as plain frozen data, and its JSON schema.

Owns ``ClusterState`` and the values inside it (nodes, index metadata, the routing table, UDFs,
cluster settings) plus their lossless round trip to JSON. It must never change a state in place:
the only way to a new state is ``raft.apply.apply``. Dict-valued fields are read-only by
convention (copying every map on every read would cost more than it protects); anyone who needs
a changed copy builds a new dict. It never imports pysyncobj, index/, udf/, node/ or trio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from raft.errors import StateDecodeError

STATE_FORMAT_VERSION = 1

# Index states as OpenSearch names them in _cat/indices and cluster state.
INDEX_STATE_OPEN = "open"
INDEX_STATE_CLOSE = "close"

# Shard copy states as OpenSearch's ShardRoutingState.
UNASSIGNED = "UNASSIGNED"
INITIALIZING = "INITIALIZING"
STARTED = "STARTED"
RELOCATING = "RELOCATING"
SHARD_COPY_STATES = (UNASSIGNED, INITIALIZING, STARTED, RELOCATING)

# How many recent command ids the state remembers for idempotency. A retry of an "unknown"
# outcome arrives within seconds, so a window of this size is ample; it is bounded because it
# lives in every snapshot.
APPLIED_COMMAND_ID_WINDOW = 1024

UNBOOTSTRAPPED_CLUSTER_UUID = "_na_"


@dataclass(frozen=True, slots=True)
class NodeInfo:
    node_id: str
    name: str
    http_address: str
    transport_address: str
    raft_address: str | None = None
    roles: tuple[str, ...] = ("cluster_manager", "data", "ingest")
    attributes: dict[str, str] = field(default_factory=dict)
    voter: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id, "name": self.name, "http_address": self.http_address,
            "transport_address": self.transport_address, "raft_address": self.raft_address,
            "roles": list(self.roles), "attributes": dict(self.attributes), "voter": self.voter,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NodeInfo:
        return cls(
            node_id=_require_str(data, "node_id"), name=_require_str(data, "name"),
            http_address=_require_str(data, "http_address"),
            transport_address=_require_str(data, "transport_address"),
            raft_address=data.get("raft_address"),
            roles=tuple(data.get("roles", ())), attributes=dict(data.get("attributes") or {}),
            voter=bool(data.get("voter", False)),
        )


@dataclass(frozen=True, slots=True)
class AliasMetadata:
    alias: str
    filter: dict[str, Any] | None = None
    index_routing: str | None = None
    search_routing: str | None = None
    is_write_index: bool | None = None
    is_hidden: bool | None = None

    def to_json(self) -> dict[str, Any]:
        body = {
            "alias": self.alias, "filter": self.filter, "index_routing": self.index_routing,
            "search_routing": self.search_routing, "is_write_index": self.is_write_index,
        }
        if self.is_hidden is not None:
            body["is_hidden"] = self.is_hidden  # only when set: older states' JSON stays byte-identical
        return body

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AliasMetadata:
        return cls(
            alias=_require_str(data, "alias"), filter=data.get("filter"),
            index_routing=data.get("index_routing"), search_routing=data.get("search_routing"),
            is_write_index=data.get("is_write_index"), is_hidden=data.get("is_hidden"),
        )


@dataclass(frozen=True, slots=True)
class IndexMetadata:
    name: str
    uuid: str
    creation_date: int
    state: str
    settings: dict[str, Any]
    number_of_shards: int
    number_of_replicas: int
    routing_num_shards: int
    mappings: dict[str, Any]
    mapping_version: int = 1
    settings_version: int = 1
    aliases_version: int = 1
    aliases: dict[str, AliasMetadata] = field(default_factory=dict)

    @property
    def routing_partition_size(self) -> int:
        """index.routing_partition_size (1 = not partitioned), for raft.routing."""
        return int(self.settings.get("index.routing_partition_size", "1"))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "uuid": self.uuid, "creation_date": self.creation_date,
            "state": self.state, "settings": self.settings,
            "number_of_shards": self.number_of_shards,
            "number_of_replicas": self.number_of_replicas,
            "routing_num_shards": self.routing_num_shards, "mappings": self.mappings,
            "mapping_version": self.mapping_version, "settings_version": self.settings_version,
            "aliases_version": self.aliases_version,
            "aliases": {name: alias.to_json() for name, alias in sorted(self.aliases.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IndexMetadata:
        state = data.get("state")
        if state not in (INDEX_STATE_OPEN, INDEX_STATE_CLOSE):
            raise StateDecodeError(f"index state must be open or close, got {state!r}")
        return cls(
            name=_require_str(data, "name"), uuid=_require_str(data, "uuid"),
            creation_date=_require_int(data, "creation_date"), state=state,
            settings=dict(data.get("settings") or {}),
            number_of_shards=_require_int(data, "number_of_shards"),
            number_of_replicas=_require_int(data, "number_of_replicas"),
            routing_num_shards=_require_int(data, "routing_num_shards"),
            mappings=dict(data.get("mappings") or {}),
            mapping_version=int(data.get("mapping_version", 1)),
            settings_version=int(data.get("settings_version", 1)),
            aliases_version=int(data.get("aliases_version", 1)),
            aliases={name: AliasMetadata.from_json(alias)
                     for name, alias in (data.get("aliases") or {}).items()},
        )


@dataclass(frozen=True, slots=True)
class ShardCopy:
    allocation_id: str | None
    node_id: str | None
    primary: bool
    state: str = UNASSIGNED
    unassigned_reason: str | None = None
    # Allocations of this slot that failed in a row (OpenSearch's UnassignedInfo.failedAllocations):
    # counted on ALLOCATION_FAILED, carried while the slot is tried again, cleared once a copy
    # starts or by ``_cluster/reroute?retry_failed``. The allocator stops placing a slot at
    # ``index.allocation.max_retries`` instead of retrying a broken copy for ever.
    failed_allocations: int = 0

    @property
    def assigned(self) -> bool:
        return self.state != UNASSIGNED

    def to_json(self) -> dict[str, Any]:
        encoded = {
            "allocation_id": self.allocation_id, "node_id": self.node_id, "primary": self.primary,
            "state": self.state, "unassigned_reason": self.unassigned_reason,
        }
        if self.failed_allocations:
            encoded["failed_allocations"] = self.failed_allocations
        return encoded

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShardCopy:
        state = data.get("state")
        if state not in SHARD_COPY_STATES:
            raise StateDecodeError(f"shard copy state must be one of {SHARD_COPY_STATES}, got {state!r}")
        return cls(
            allocation_id=data.get("allocation_id"), node_id=data.get("node_id"),
            primary=bool(data.get("primary")), state=state,
            unassigned_reason=data.get("unassigned_reason"),
            failed_allocations=int(data.get("failed_allocations") or 0),
        )


@dataclass(frozen=True, slots=True)
class ShardRouting:
    """One shard number of one index: its copies (primary slot first), in-sync set and term."""

    index_name: str
    shard_number: int
    copies: tuple[ShardCopy, ...]
    in_sync_allocation_ids: tuple[str, ...] = ()
    primary_term: int = 0
    # The primary term at which an operator accepted data loss (``_cluster/reroute``
    # allocate_stale_primary / allocate_empty_primary), 0 if never. Data a copy wrote under an
    # older term may hold operations the forced primary never had, so a node discards such data
    # before the copy recovers from that primary (OpenSearch forces a file copy by a new history
    # uuid); ``empty_primary_allocation_id`` is the forced primary that must start empty.
    data_loss_term: int = 0
    empty_primary_allocation_id: str | None = None

    def primary(self) -> ShardCopy | None:
        """The assigned primary copy, or None when the primary slot is unassigned."""
        for shard_copy in self.copies:
            if shard_copy.primary and shard_copy.assigned:
                return shard_copy
        return None

    def replicas(self) -> tuple[ShardCopy, ...]:
        return tuple(shard_copy for shard_copy in self.copies if not shard_copy.primary)

    def copy_with_allocation_id(self, allocation_id: str) -> ShardCopy | None:
        for shard_copy in self.copies:
            if shard_copy.allocation_id == allocation_id:
                return shard_copy
        return None

    def assigned_node_ids(self) -> frozenset[str]:
        return frozenset(c.node_id for c in self.copies if c.assigned and c.node_id is not None)

    @property
    def health(self) -> str:
        """green: every copy started; yellow: primary started; red: no started primary."""
        primary_copy = self.primary()
        if primary_copy is None or primary_copy.state not in (STARTED, RELOCATING):
            return "red"
        waiting = [c for c in self.copies if c.state not in (STARTED, RELOCATING)]
        if not waiting:
            return "green"
        # a relocation's target is an extra copy: the shard is as healthy as before it began
        if (len(waiting) == 1 and waiting[0].state == INITIALIZING
                and any(c.state == RELOCATING for c in self.copies)):
            return "green"
        return "yellow"

    def to_json(self) -> dict[str, Any]:
        return {
            "index_name": self.index_name, "shard_number": self.shard_number,
            "copies": [c.to_json() for c in self.copies],
            "in_sync_allocation_ids": list(self.in_sync_allocation_ids),
            "primary_term": self.primary_term,
            **({"data_loss_term": self.data_loss_term} if self.data_loss_term else {}),
            **({"empty_primary_allocation_id": self.empty_primary_allocation_id}
               if self.empty_primary_allocation_id else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShardRouting:
        return cls(
            index_name=_require_str(data, "index_name"),
            shard_number=_require_int(data, "shard_number"),
            copies=tuple(ShardCopy.from_json(c) for c in data.get("copies") or ()),
            in_sync_allocation_ids=tuple(data.get("in_sync_allocation_ids") or ()),
            primary_term=int(data.get("primary_term", 0)),
            data_loss_term=int(data.get("data_loss_term") or 0),
            empty_primary_allocation_id=data.get("empty_primary_allocation_id"),
        )


@dataclass(frozen=True, slots=True)
class UdfMetadata:
    name: str
    wasm_base64: str
    sha256: str
    description: str = ""
    inputs: tuple[Any, ...] = ()
    abi_version: int = 1
    # what the module provides ("filter", "score"); () = whatever it exports. Written to JSON only
    # when set, so states and commands from before this field read and re-encode unchanged.
    kind: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name, "wasm_base64": self.wasm_base64, "sha256": self.sha256,
            "description": self.description, "inputs": list(self.inputs),
            "abi_version": self.abi_version,
        }
        if self.kind:
            body["kind"] = list(self.kind)
        return body

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UdfMetadata:
        kind = data.get("kind") or ()
        if isinstance(kind, str):
            kind = (kind,)
        if not isinstance(kind, (list, tuple)) or not all(isinstance(entry, str) for entry in kind):
            raise StateDecodeError(f"udf field [kind] must be a list of strings, got {kind!r}")
        return cls(
            name=_require_str(data, "name"), wasm_base64=_require_str(data, "wasm_base64"),
            sha256=_require_str(data, "sha256"), description=str(data.get("description") or ""),
            inputs=tuple(data.get("inputs") or ()), abi_version=int(data.get("abi_version", 1)),
            kind=tuple(kind),
        )


@dataclass(frozen=True, slots=True)
class ClusterState:
    cluster_name: str
    cluster_uuid: str = UNBOOTSTRAPPED_CLUSTER_UUID
    version: int = 0
    term: int = 0
    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    indices: dict[str, IndexMetadata] = field(default_factory=dict)
    routing_table: dict[str, tuple[ShardRouting, ...]] = field(default_factory=dict)
    udfs: dict[str, UdfMetadata] = field(default_factory=dict)
    persistent_settings: dict[str, Any] = field(default_factory=dict)
    transient_settings: dict[str, Any] = field(default_factory=dict)
    applied_command_ids: tuple[str, ...] = ()

    # ---- reading helpers -------------------------------------------------------------------

    def shard(self, index_name: str, shard_number: int) -> ShardRouting:
        """The routing entry of one shard; KeyError/IndexError when absent."""
        return self.routing_table[index_name][shard_number]

    def resolve_alias(self, alias_name: str) -> list[str]:
        """Names of the indices that carry the alias, sorted."""
        return sorted(name for name, index in self.indices.items() if alias_name in index.aliases)

    def all_alias_names(self) -> frozenset[str]:
        return frozenset(alias for index in self.indices.values() for alias in index.aliases)

    def index_by_uuid(self, index_uuid: str) -> IndexMetadata | None:
        for index in self.indices.values():
            if index.uuid == index_uuid:
                return index
        return None

    def setting(self, key: str, default: Any = None) -> Any:
        """A cluster setting as OpenSearch resolves it: transient over persistent over default."""
        if key in self.transient_settings:
            return self.transient_settings[key]
        return self.persistent_settings.get(key, default)

    # ---- JSON ------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": STATE_FORMAT_VERSION,
            "cluster_name": self.cluster_name, "cluster_uuid": self.cluster_uuid,
            "version": self.version, "term": self.term,
            "nodes": {node_id: node.to_json() for node_id, node in sorted(self.nodes.items())},
            "indices": {name: index.to_json() for name, index in sorted(self.indices.items())},
            "routing_table": {
                name: [shard.to_json() for shard in shards]
                for name, shards in sorted(self.routing_table.items())
            },
            "udfs": {name: udf.to_json() for name, udf in sorted(self.udfs.items())},
            "persistent_settings": self.persistent_settings,
            "transient_settings": self.transient_settings,
            "applied_command_ids": list(self.applied_command_ids),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClusterState:
        if not isinstance(data, dict):
            raise StateDecodeError(f"cluster state must be a JSON object, got {type(data).__name__}")
        format_version = data.get("format_version")
        if format_version != STATE_FORMAT_VERSION:
            raise StateDecodeError(
                f"cluster state format_version must be {STATE_FORMAT_VERSION}, got {format_version!r}")
        try:
            return cls(
                cluster_name=_require_str(data, "cluster_name"),
                cluster_uuid=_require_str(data, "cluster_uuid"),
                version=_require_int(data, "version"), term=_require_int(data, "term"),
                nodes={k: NodeInfo.from_json(v) for k, v in (data.get("nodes") or {}).items()},
                indices={k: IndexMetadata.from_json(v) for k, v in (data.get("indices") or {}).items()},
                routing_table={
                    k: tuple(ShardRouting.from_json(s) for s in v)
                    for k, v in (data.get("routing_table") or {}).items()
                },
                udfs={k: UdfMetadata.from_json(v) for k, v in (data.get("udfs") or {}).items()},
                persistent_settings=dict(data.get("persistent_settings") or {}),
                transient_settings=dict(data.get("transient_settings") or {}),
                applied_command_ids=tuple(data.get("applied_command_ids") or ()),
            )
        except StateDecodeError:
            raise
        except (TypeError, ValueError, AttributeError, KeyError) as error:
            raise StateDecodeError(f"cluster state does not match the schema: {error}") from error

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> ClusterState:
        try:
            decoded = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise StateDecodeError(f"cluster state is not valid JSON: {error}") from error
        return cls.from_json(decoded)


def initial_cluster_state(cluster_name: str) -> ClusterState:
    """The state every node starts from before the first command: version 0, no uuid yet."""
    return ClusterState(cluster_name=cluster_name)


def _require_str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise StateDecodeError(f"field [{key}] must be a string, got {value!r}")
    return value


def _require_int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise StateDecodeError(f"field [{key}] must be an integer, got {value!r}")
    return value
