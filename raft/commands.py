"""Cluster-state commands: a versioned tagged union serialized as JSON bytes.

Owns the command types, their wire format (``{"v": 1, "type": "create_index", "command_id": ...}``)
and decoding with schema checks. A command is a request for a change, carrying everything the
change needs (uuids, timestamps, allocation ids are chosen by the submitter) so that applying it
is deterministic on every node. It must never decide anything about the state (that is
raft.apply) and never pickle: the log holds only these JSON bytes.

Every command carries:
  command_id              idempotency key: applying an accepted id again is a no-op
  expected_term           fencing: the submitter's Raft term; rejected if older than the state's
  expected_state_version  fencing: rejected unless equal to the state's version
"""

from __future__ import annotations

import dataclasses
import reprlib
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from raft.errors import CommandDecodeError
from raft.state import NodeInfo, UdfMetadata

COMMAND_FORMAT_VERSION = 1


def new_command_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Base of every command; ``command_type`` is the wire tag."""

    command_type: ClassVar[str] = ""
    command_id: str = field(default_factory=new_command_id)
    expected_term: int | None = None
    expected_state_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BootstrapCluster(Command):
    command_type: ClassVar[str] = "bootstrap_cluster"
    cluster_uuid: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateIndex(Command):
    command_type: ClassVar[str] = "create_index"
    index_name: str
    index_uuid: str
    creation_date: int
    settings: dict = field(default_factory=dict)
    mappings: dict = field(default_factory=dict)
    aliases: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteIndex(Command):
    command_type: ClassVar[str] = "delete_index"
    index_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PutMapping(Command):
    """The caller merges the mapping (index.mapping) and sends the whole result."""

    command_type: ClassVar[str] = "put_mapping"
    index_name: str
    mappings: dict
    expected_mapping_version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateIndexSettings(Command):
    command_type: ClassVar[str] = "update_index_settings"
    index_names: tuple[str, ...]
    settings: dict


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateAliases(Command):
    """``actions`` as the _aliases API takes them, with concrete index and alias names."""

    command_type: ClassVar[str] = "update_aliases"
    actions: tuple[dict, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenIndex(Command):
    command_type: ClassVar[str] = "open_index"
    index_names: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseIndex(Command):
    command_type: ClassVar[str] = "close_index"
    index_names: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterNode(Command):
    command_type: ClassVar[str] = "register_node"
    node: NodeInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class DeregisterNode(Command):
    command_type: ClassVar[str] = "deregister_node"
    node_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocateCopy(Command):
    """Assign an unassigned slot to a node. ``accept_data_loss`` is the operator's explicit
    "allocate a stale or empty primary" (OpenSearch reroute allocate_stale/empty_primary)."""

    command_type: ClassVar[str] = "allocate_copy"
    index_name: str
    shard_number: int
    node_id: str
    allocation_id: str
    primary: bool
    accept_data_loss: bool = False
    # with accept_data_loss: the primary starts from an empty store (allocate_empty_primary);
    # without it, from whatever the node holds (allocate_stale_primary)
    empty_store: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class StartCopy(Command):
    command_type: ClassVar[str] = "start_copy"
    index_name: str
    shard_number: int
    allocation_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FailCopy(Command):
    command_type: ClassVar[str] = "fail_copy"
    index_name: str
    shard_number: int
    allocation_id: str
    reason: str = "ALLOCATION_FAILED"
    # Keep the id in the in-sync set even if another started in-sync copy exists: the master sets
    # it when that other copy is failing in the same batch (every in-sync copy lost at once).
    preserve_in_sync: bool = False
    # A primary failing a replica that did not confirm a write passes the term it wrote under:
    # if a newer primary exists the command is rejected, so a deposed primary can never evict
    # the new primary's copies and then acknowledge a write only it holds (DESIGN §10).
    primary_term: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveFromInSync(Command):
    """A primary evicts replicas that did not answer; fenced by the primary's term."""

    command_type: ClassVar[str] = "remove_from_in_sync"
    index_name: str
    shard_number: int
    allocation_ids: tuple[str, ...]
    primary_term: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PromoteReplica(Command):
    command_type: ClassVar[str] = "promote_replica"
    index_name: str
    shard_number: int
    allocation_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RelocateCopy(Command):
    """Start moving a started in-sync copy: it becomes RELOCATING (still active, still written
    to) and a new replica copy, INITIALIZING on ``target_node_id``, recovers from the primary."""

    command_type: ClassVar[str] = "relocate_copy"
    index_name: str
    shard_number: int
    allocation_id: str
    target_node_id: str
    target_allocation_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CompleteRelocation(Command):
    """Drop the RELOCATING copy once every other copy is started and in sync. A relocating
    primary hands over to ``promote_allocation_id`` (a started in-sync replica; term + 1)."""

    command_type: ClassVar[str] = "complete_relocation"
    index_name: str
    shard_number: int
    allocation_id: str
    promote_allocation_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetNumberOfReplicas(Command):
    command_type: ClassVar[str] = "set_number_of_replicas"
    index_names: tuple[str, ...]
    number_of_replicas: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PutClusterSettings(Command):
    """Flat setting maps; a None value removes the setting, as in OpenSearch."""

    command_type: ClassVar[str] = "put_cluster_settings"
    persistent: dict = field(default_factory=dict)
    transient: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class PutUdf(Command):
    command_type: ClassVar[str] = "put_udf"
    udf: UdfMetadata


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteUdf(Command):
    command_type: ClassVar[str] = "delete_udf"
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryFailedAllocations(Command):
    """Clear every copy's count of failed allocations, so the allocator tries the copies it gave
    up on (``index.allocation.max_retries``) again: ``POST _cluster/reroute?retry_failed=true``."""

    command_type: ClassVar[str] = "retry_failed_allocations"


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch(Command):
    """Several commands applied all-or-nothing as one state version (allocation decisions).
    The fencing and id of the inner commands are ignored; the batch's own apply."""

    command_type: ClassVar[str] = "batch"
    commands: tuple[Command, ...]


COMMAND_TYPES: dict[str, type[Command]] = {
    command_class.command_type: command_class
    for command_class in (
        BootstrapCluster, CreateIndex, DeleteIndex, PutMapping, UpdateIndexSettings,
        UpdateAliases, OpenIndex, CloseIndex, RegisterNode, DeregisterNode, AllocateCopy,
        StartCopy, FailCopy, RemoveFromInSync, PromoteReplica, SetNumberOfReplicas,
        PutClusterSettings, PutUdf, DeleteUdf, Batch, RelocateCopy, CompleteRelocation,
        RetryFailedAllocations,
    )
}


def command_to_json(command: Command) -> dict[str, Any]:
    body: dict[str, Any] = {"v": COMMAND_FORMAT_VERSION, "type": command.command_type}
    for command_field in dataclasses.fields(command):
        value = getattr(command, command_field.name)
        if isinstance(value, (NodeInfo, UdfMetadata)):
            value = value.to_json()
        elif isinstance(value, tuple):
            value = [command_to_json(v) if isinstance(v, Command) else v for v in value]
        body[command_field.name] = value
    return body


def encode_command(command: Command) -> bytes:
    return orjson.dumps(command_to_json(command))


def decode_command(data: bytes) -> Command:
    """Bytes → command; CommandDecodeError names the field that does not fit."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise CommandDecodeError(f"command is not valid JSON: {error}") from error
    return command_from_json(body)


def command_from_json(body: Any) -> Command:
    if not isinstance(body, dict):
        raise CommandDecodeError(f"command must be a JSON object, got {type(body).__name__}")
    if body.get("v") != COMMAND_FORMAT_VERSION:
        raise CommandDecodeError(
            f"command field [v] must be {COMMAND_FORMAT_VERSION}, got {body.get('v')!r}")
    command_type = body.get("type")
    command_class = COMMAND_TYPES.get(command_type)  # type: ignore[arg-type]
    if command_class is None:
        raise CommandDecodeError(f"command field [type] is unknown: {command_type!r}")
    known_fields = {f.name: f for f in dataclasses.fields(command_class)}
    unknown = sorted(set(body) - set(known_fields) - {"v", "type"})
    if unknown:
        raise CommandDecodeError(f"command [{command_type}] has unknown fields {unknown}")
    arguments: dict[str, Any] = {}
    for name, command_field in known_fields.items():
        if name not in body:
            has_default = (command_field.default is not dataclasses.MISSING
                           or command_field.default_factory is not dataclasses.MISSING)
            if not has_default:
                raise CommandDecodeError(f"command [{command_type}] is missing field [{name}]")
            continue
        arguments[name] = _decode_field(command_type, name, str(command_field.type), body[name])
    try:
        return command_class(**arguments)
    except (TypeError, ValueError) as error:
        raise CommandDecodeError(f"command [{command_type}] is invalid: {error}") from error


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxstring = 60
_SHORT_REPR.maxother = 60
_SHORT_REPR.maxlevel = 3


def _short_repr(value: Any) -> str:
    return _SHORT_REPR.repr(value)


def _decode_field(command_type: str, name: str, annotation: str, value: Any) -> Any:
    """Check a value against the field's annotation (as a string, PEP 563)."""
    optional = annotation.endswith("| None")
    base = annotation.removesuffix(" | None").strip()
    if value is None:
        if optional:
            return None
        raise CommandDecodeError(f"command [{command_type}] field [{name}] must not be null")
    # Built only on failure, and shortened: a repr of a 1 MiB module (or of hostile nesting)
    # costs time on every decode and can exceed the recursion limit.
    def problem() -> str:
        return f"command [{command_type}] field [{name}] must be {base}, got {_short_repr(value)}"
    if base == "str":
        if not isinstance(value, str):
            raise CommandDecodeError(problem())
    elif base == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise CommandDecodeError(problem())
    elif base == "bool":
        if not isinstance(value, bool):
            raise CommandDecodeError(problem())
    elif base == "dict":
        if not isinstance(value, dict):
            raise CommandDecodeError(problem())
    elif base == "NodeInfo":
        if not isinstance(value, dict):
            raise CommandDecodeError(problem())
        try:
            return NodeInfo.from_json(value)
        except Exception as error:  # the state schema's own error names the inner field
            raise CommandDecodeError(f"command [{command_type}] field [{name}]: {error}") from error
    elif base == "UdfMetadata":
        if not isinstance(value, dict):
            raise CommandDecodeError(problem())
        try:
            return UdfMetadata.from_json(value)
        except Exception as error:
            raise CommandDecodeError(f"command [{command_type}] field [{name}]: {error}") from error
    elif base.startswith("tuple["):
        if not isinstance(value, list):
            raise CommandDecodeError(problem())
        element = base[len("tuple["):-1].split(",")[0].strip()
        if element == "Command":
            # One level only: a nested batch is refused before it can recurse (orjson accepts
            # JSON nested 1024 deep, deeper than Python's recursion limit through this decoder).
            if any(isinstance(item, dict) and item.get("type") == Batch.command_type for item in value):
                raise CommandDecodeError(f"command [{command_type}] field [{name}] must not "
                                         f"contain a batch")
            return tuple(command_from_json(item) for item in value)
        expected_type = {"str": str, "dict": dict}[element]
        if not all(isinstance(item, expected_type) for item in value):
            raise CommandDecodeError(problem())
        return tuple(value)
    return value
