"""apply(state, command) -> (state, outcome): the cluster state machine, pure and deterministic.

Owns every rule about what a command may change: OpenSearch's index and alias name rules, the
shard-copy lifecycle (allocate → start → fail/promote), the in-sync set and primary term
invariants of DESIGN §10, fencing by term and state version, and idempotency by command id.
It must never raise (DESIGN §8: an exception in the replicated method re-runs the entry forever
and wedges the cluster), never read a clock, a random source, the network or the disk, and never
mutate its input: a rejected command returns the very same state object with a typed outcome.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

from raft import commands as c
from raft.errors import CommandDecodeError
from raft.routing import default_routing_num_shards
from raft.state import (
    APPLIED_COMMAND_ID_WINDOW, INDEX_STATE_CLOSE, INDEX_STATE_OPEN, INITIALIZING, RELOCATING,
    STARTED, UNASSIGNED, UNBOOTSTRAPPED_CLUSTER_UUID, AliasMetadata, ClusterState,
    IndexMetadata, ShardCopy, ShardRouting,
)

MAXIMUM_NUMBER_OF_SHARDS = 1024
ALLOCATION_FAILED_REASON = "ALLOCATION_FAILED"  # OpenSearch's UnassignedInfo reason; counted
MAXIMUM_INDEX_NAME_BYTES = 255
# As OpenSearch prints Strings.INVALID_FILENAME_CHARS (a HashSet's iteration order).
_INVALID_NAME_CHARACTERS_TEXT = '[ , ", *, \\, <, |, ,, >, /, ?]'
_INVALID_NAME_CHARACTERS = frozenset('\\/*?"<>| ,')
# Settings OpenSearch computes itself; a user may neither set nor update them.
_PRIVATE_INDEX_SETTINGS = frozenset({
    "index.uuid", "index.creation_date", "index.provided_name", "index.version.created",
    "index.version.upgraded",
})
# Settings fixed at creation (OpenSearch: final or static on open indices).
_FINAL_INDEX_SETTINGS = frozenset({
    "index.number_of_shards", "index.number_of_routing_shards", "index.routing_partition_size",
})
_STATIC_INDEX_SETTING_PREFIXES = ("index.analysis.",)


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    command_id: str
    command_type: str
    accepted: bool
    state_version: int
    duplicate: bool = False
    error_type: str | None = None
    reason: str | None = None
    result: dict[str, Any] = field(default_factory=dict)


class _Rejection(Exception):
    """Internal only: unwinds a handler; apply() turns it into a rejected outcome."""

    def __init__(self, error_type: str, reason: str) -> None:
        super().__init__(reason)
        self.error_type = error_type
        self.reason = reason


def apply(state: ClusterState, command: c.Command | bytes) -> tuple[ClusterState, CommandOutcome]:
    """Apply one command. Never raises; see the module docstring."""
    try:
        if isinstance(command, (bytes, bytearray, memoryview)):
            try:
                command = c.decode_command(bytes(command))
            except CommandDecodeError as error:
                return state, CommandOutcome(
                    command_id="", command_type="", accepted=False, state_version=state.version,
                    error_type="illegal_argument_exception", reason=str(error))
        return _apply_decoded(state, command)
    except Exception as error:  # a bug must not wedge the cluster: report it as a rejection
        return state, CommandOutcome(
            command_id=getattr(command, "command_id", ""),
            command_type=getattr(command, "command_type", ""), accepted=False,
            state_version=state.version, error_type="state_machine_exception",
            reason=f"internal error applying command: {type(error).__name__}: {error}")


def _apply_decoded(state: ClusterState, command: c.Command) -> tuple[ClusterState, CommandOutcome]:
    def rejected(error_type: str, reason: str) -> tuple[ClusterState, CommandOutcome]:
        return state, CommandOutcome(
            command_id=command.command_id, command_type=command.command_type, accepted=False,
            state_version=state.version, error_type=error_type, reason=reason)

    if command.command_id in state.applied_command_ids:
        return state, CommandOutcome(
            command_id=command.command_id, command_type=command.command_type, accepted=True,
            state_version=state.version, duplicate=True)
    if command.expected_term is not None and command.expected_term < state.term:
        return rejected("stale_cluster_state_exception",
                        f"command written in raft term [{command.expected_term}] but the state is "
                        f"already at term [{state.term}]")
    if (command.expected_state_version is not None
            and command.expected_state_version != state.version):
        return rejected("stale_cluster_state_exception",
                        f"command expected cluster state version [{command.expected_state_version}] "
                        f"but it is [{state.version}]")
    try:
        new_state, result = _dispatch(state, command)
    except _Rejection as rejection:
        return rejected(rejection.error_type, rejection.reason)
    recent_ids = state.applied_command_ids + (command.command_id,)
    if len(recent_ids) > APPLIED_COMMAND_ID_WINDOW:
        recent_ids = recent_ids[-APPLIED_COMMAND_ID_WINDOW:]
    new_state = dataclasses.replace(
        new_state, version=state.version + 1,
        term=max(state.term, command.expected_term or 0), applied_command_ids=recent_ids)
    return new_state, CommandOutcome(
        command_id=command.command_id, command_type=command.command_type, accepted=True,
        state_version=new_state.version, result=result)


def _dispatch(state: ClusterState, command: c.Command) -> tuple[ClusterState, dict[str, Any]]:
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise _Rejection("illegal_argument_exception",
                         f"unknown command type [{command.command_type}]")
    return handler(state, command)


# ---- names ---------------------------------------------------------------------------------

def invalid_index_or_alias_name_reason(name: str) -> str | None:
    """Why OpenSearch would refuse ``name`` as an index or alias name, or None if it is valid."""
    if any(character in _INVALID_NAME_CHARACTERS for character in name):
        return f"must not contain the following characters {_INVALID_NAME_CHARACTERS_TEXT}"
    if not name:
        return "must not be empty"
    if "#" in name:
        return "must not contain '#'"
    if ":" in name:
        return "must not contain ':'"
    if name[0] in "_-+":
        return "must not start with '_', '-', or '+'"
    byte_count = len(name.encode("utf-8", "surrogatepass"))
    if byte_count > MAXIMUM_INDEX_NAME_BYTES:
        return f"index name is too long, ({byte_count} > {MAXIMUM_INDEX_NAME_BYTES})"
    if name in (".", ".."):
        return "must not be '.' or '..'"
    return None


def _validate_new_index_name(state: ClusterState, name: str) -> None:
    reason = invalid_index_or_alias_name_reason(name)
    if reason is None and name.lower() != name:
        reason = "must be lowercase"
    if reason is not None:
        raise _Rejection("invalid_index_name_exception", f"Invalid index name [{name}], {reason}")
    existing = state.indices.get(name)
    if existing is not None:
        raise _Rejection("resource_already_exists_exception",
                         f"index [{name}/{existing.uuid}] already exists")
    if name in state.all_alias_names():
        raise _Rejection("invalid_index_name_exception",
                         f"Invalid index name [{name}], already exists as alias")


def _validate_alias_name(state: ClusterState, alias: str, index_name_being_created: str | None = None) -> None:
    # Punctuation differs on purpose: OpenSearch's two InvalidAliasNameException constructors
    # format "[name]: reason" and "[name], reason".
    if not alias:
        raise _Rejection("illegal_argument_exception", "alias name is required")
    reason = invalid_index_or_alias_name_reason(alias)
    if reason is not None:
        raise _Rejection("invalid_alias_name_exception", f"Invalid alias name [{alias}]: {reason}")
    if alias in state.indices or alias == index_name_being_created:
        raise _Rejection("invalid_alias_name_exception",
                         f"Invalid alias name [{alias}], an index exists with the same name as "
                         f"the alias")


def _require_index(state: ClusterState, name: str) -> IndexMetadata:
    index = state.indices.get(name)
    if index is None:
        raise _Rejection("index_not_found_exception", f"no such index [{name}]")
    return index


def _require_shard(state: ClusterState, index_name: str, shard_number: int) -> ShardRouting:
    _require_index(state, index_name)
    shards = state.routing_table.get(index_name, ())
    if not 0 <= shard_number < len(shards):
        raise _Rejection("shard_not_found_exception",
                         f"no such shard [{index_name}][{shard_number}]")
    return shards[shard_number]


# ---- settings ------------------------------------------------------------------------------

def normalize_index_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Nested or flat, with or without the ``index.`` prefix → flat ``index.*`` with string
    values (lists of strings stay lists; None stays None, meaning "reset"), as OpenSearch keeps them."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
            return
        key = prefix if prefix.startswith("index.") else f"index.{prefix}"
        flat[key] = _setting_value_to_string(value)

    walk("", settings or {})
    return flat


def _setting_value_to_string(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return [_setting_value_to_string(item) for item in value]
    return str(value)


def _parse_setting_integer(settings: dict[str, Any], key: str, default: int, minimum: int,
                           maximum: int | None = None) -> int:
    raw = settings.get(key)
    if raw is None:
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise _Rejection("illegal_argument_exception",
                         f"Failed to parse value [{raw}] for setting [{key}]") from None
    if value < minimum:
        raise _Rejection("illegal_argument_exception",
                         f"Failed to parse value [{raw}] for setting [{key}] must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise _Rejection("illegal_argument_exception",
                         f"Failed to parse value [{raw}] for setting [{key}] must be <= {maximum}")
    return value


# ---- shard copies --------------------------------------------------------------------------

def _unassigned_copy(primary: bool, reason: str, failed_allocations: int = 0) -> ShardCopy:
    return ShardCopy(allocation_id=None, node_id=None, primary=primary, state=UNASSIGNED,
                     unassigned_reason=reason, failed_allocations=failed_allocations)


def _new_shard_routing(index_name: str, shard_number: int, number_of_replicas: int,
                       reason: str) -> ShardRouting:
    copies = (_unassigned_copy(True, reason),) + tuple(
        _unassigned_copy(False, reason) for _ in range(number_of_replicas))
    return ShardRouting(index_name=index_name, shard_number=shard_number, copies=copies)


def _with_shard(state: ClusterState, shard: ShardRouting) -> ClusterState:
    index = state.indices.get(shard.index_name)
    if index is not None:
        shard = _settle_relocation(shard, index.number_of_replicas)
    shards = list(state.routing_table[shard.index_name])
    shards[shard.shard_number] = shard
    routing_table = dict(state.routing_table)
    routing_table[shard.index_name] = tuple(shards)
    return dataclasses.replace(state, routing_table=routing_table)


def _with_index(state: ClusterState, index: IndexMetadata) -> ClusterState:
    indices = dict(state.indices)
    indices[index.name] = index
    return dataclasses.replace(state, indices=indices)


def _settle_relocation(shard: ShardRouting, number_of_replicas: int) -> ShardRouting:
    """A relocation adds one copy beyond 1 + number_of_replicas. When a copy of such a shard
    fails, its now-unassigned slot is dropped instead of re-allocated, and a RELOCATING copy
    whose target is gone is simply STARTED again. A no-op for shards that never relocated."""
    wanted = 1 + number_of_replicas
    copies = list(shard.copies)
    if len(copies) <= wanted and not any(copy.state == RELOCATING for copy in copies):
        return shard
    index = len(copies) - 1
    while len(copies) > wanted and index >= 0:
        if not copies[index].primary and copies[index].state == UNASSIGNED:
            copies.pop(index)
        index -= 1
    if len(copies) <= wanted:
        copies = [dataclasses.replace(copy, state=STARTED) if copy.state == RELOCATING else copy
                  for copy in copies]
    if tuple(copies) == shard.copies:
        return shard
    return dataclasses.replace(shard, copies=tuple(copies))


def _resize_replicas(shard: ShardRouting, number_of_replicas: int) -> ShardRouting:
    primary_slots = [copy for copy in shard.copies if copy.primary]
    replicas = [copy for copy in shard.copies if not copy.primary]
    in_sync = set(shard.in_sync_allocation_ids)
    primary_copy = shard.primary()
    # Without an active primary, a removed copy may hold the only acknowledged writes: its id
    # stays in the in-sync set so the shard stays red rather than looking new (DESIGN §10).
    may_forget_in_sync = primary_copy is not None and primary_copy.state in (STARTED, RELOCATING)
    while len(replicas) < number_of_replicas:
        replicas.append(_unassigned_copy(False, "REPLICA_ADDED"))
    # Shrinking drops the least useful copies first: unassigned, then recovering, then started.
    for doomed_state in (UNASSIGNED, INITIALIZING, RELOCATING, STARTED):
        index = len(replicas) - 1
        while len(replicas) > number_of_replicas and index >= 0:
            if replicas[index].state == doomed_state:
                removed = replicas.pop(index)
                if removed.allocation_id is not None and may_forget_in_sync:
                    in_sync.discard(removed.allocation_id)
            index -= 1
    return dataclasses.replace(shard, copies=tuple(primary_slots + replicas),
                               in_sync_allocation_ids=tuple(sorted(in_sync)))


def _started_in_sync_ids(copies: tuple[ShardCopy, ...], in_sync: tuple[str, ...]) -> set[str]:
    return {copy.allocation_id for copy in copies
            if copy.allocation_id in in_sync and copy.state in (STARTED, RELOCATING)}


def _has_other_started_in_sync_copy(shard: ShardRouting, excluded_allocation_id: str) -> bool:
    return any(
        copy.allocation_id is not None and copy.allocation_id != excluded_allocation_id
        and copy.state in (STARTED, RELOCATING) and copy.allocation_id in shard.in_sync_allocation_ids
        for copy in shard.copies)


# ---- handlers ------------------------------------------------------------------------------

Handler = Callable[[ClusterState, Any], tuple[ClusterState, dict[str, Any]]]


def _bootstrap_cluster(state: ClusterState, command: c.BootstrapCluster):
    if not command.cluster_uuid or command.cluster_uuid == UNBOOTSTRAPPED_CLUSTER_UUID:
        raise _Rejection("illegal_argument_exception",
                         f"cluster_uuid must be a fresh uuid, got [{command.cluster_uuid}]")
    if state.cluster_uuid not in (UNBOOTSTRAPPED_CLUSTER_UUID, command.cluster_uuid):
        raise _Rejection("illegal_state_exception",
                         f"cluster already bootstrapped with uuid [{state.cluster_uuid}]")
    return dataclasses.replace(state, cluster_uuid=command.cluster_uuid), {
        "cluster_uuid": command.cluster_uuid}


def _create_index(state: ClusterState, command: c.CreateIndex):
    name = command.index_name
    _validate_new_index_name(state, name)
    if not command.index_uuid:
        raise _Rejection("illegal_argument_exception", "index_uuid must not be empty")
    settings = normalize_index_settings(command.settings)
    for key in settings:
        if key in _PRIVATE_INDEX_SETTINGS:
            raise _Rejection("illegal_argument_exception",
                             f"private index setting [{key}] can not be set explicitly")
    settings = {key: value for key, value in settings.items() if value is not None}
    number_of_shards = _parse_setting_integer(
        settings, "index.number_of_shards", 1, 1, MAXIMUM_NUMBER_OF_SHARDS)
    number_of_replicas = _parse_setting_integer(settings, "index.number_of_replicas", 1, 0)
    routing_num_shards = _parse_setting_integer(
        settings, "index.number_of_routing_shards", default_routing_num_shards(number_of_shards),
        number_of_shards)
    if routing_num_shards % number_of_shards != 0:
        raise _Rejection(
            "illegal_argument_exception",
            f"the number of source shards [{number_of_shards}] must be a factor of "
            f"[{routing_num_shards}]")
    routing_partition_size = _parse_setting_integer(settings, "index.routing_partition_size", 1, 1)
    if routing_partition_size > 1 and routing_partition_size >= number_of_shards:
        raise _Rejection("illegal_argument_exception",
                         "routing partition size [%d] should be a positive number less than the "
                         "number of shards [%d] for [%s]" % (routing_partition_size,
                                                             number_of_shards, name))
    settings.update({
        "index.number_of_shards": str(number_of_shards),
        "index.number_of_replicas": str(number_of_replicas),
        "index.uuid": command.index_uuid,
        "index.creation_date": str(command.creation_date),
        "index.provided_name": name,
    })
    aliases = _parse_creation_aliases(state, name, command.aliases)
    index = IndexMetadata(
        name=name, uuid=command.index_uuid, creation_date=command.creation_date,
        state=INDEX_STATE_OPEN, settings=dict(sorted(settings.items())),
        number_of_shards=number_of_shards, number_of_replicas=number_of_replicas,
        routing_num_shards=routing_num_shards, mappings=dict(command.mappings or {}),
        aliases=aliases)
    new_state = _with_index(state, index)
    routing_table = dict(new_state.routing_table)
    routing_table[name] = tuple(
        _new_shard_routing(name, shard_number, number_of_replicas, "INDEX_CREATED")
        for shard_number in range(number_of_shards))
    new_state = dataclasses.replace(new_state, routing_table=routing_table)
    _check_write_indices(new_state)
    return new_state, {"index": name, "index_uuid": command.index_uuid}


def _parse_creation_aliases(state: ClusterState, index_name: str,
                            aliases_json: dict[str, Any]) -> dict[str, AliasMetadata]:
    aliases: dict[str, AliasMetadata] = {}
    for alias_name, body in (aliases_json or {}).items():
        _validate_alias_name(state, alias_name, index_name_being_created=index_name)
        aliases[alias_name] = _alias_from_body(alias_name, body or {})
    return aliases


def _alias_from_body(alias_name: str, body: dict[str, Any]) -> AliasMetadata:
    if not isinstance(body, dict):
        raise _Rejection("illegal_argument_exception",
                         f"alias [{alias_name}] definition must be an object")
    routing = body.get("routing")
    index_routing = body.get("index_routing", routing)
    search_routing = body.get("search_routing", routing)
    is_write_index = body.get("is_write_index")
    if is_write_index is not None and not isinstance(is_write_index, bool):
        raise _Rejection("illegal_argument_exception",
                         f"alias [{alias_name}] is_write_index must be a boolean, got {is_write_index!r}")
    is_hidden = body.get("is_hidden")
    if is_hidden is not None and not isinstance(is_hidden, bool):
        raise _Rejection("illegal_argument_exception",
                         f"alias [{alias_name}] is_hidden must be a boolean, got {is_hidden!r}")
    filter_json = body.get("filter")
    if filter_json is not None and not isinstance(filter_json, dict):
        raise _Rejection("illegal_argument_exception",
                         f"alias [{alias_name}] filter must be an object")
    if index_routing is not None and "," in str(index_routing):
        raise _Rejection("illegal_argument_exception",
                         f"alias [{alias_name}] has several index routing values associated with it")
    return AliasMetadata(
        alias=alias_name, filter=filter_json,
        index_routing=None if index_routing is None else str(index_routing),
        search_routing=None if search_routing is None else str(search_routing),
        is_write_index=is_write_index, is_hidden=is_hidden)


def _check_hidden_aliases(state: ClusterState) -> None:
    """An alias is hidden on every one of its indices or on none (OpenSearch's rule)."""
    hidden_on: dict[str, list[str]] = {}
    visible_on: dict[str, list[str]] = {}
    for index in state.indices.values():
        for alias in index.aliases.values():
            (hidden_on if alias.is_hidden else visible_on).setdefault(alias.alias, []).append(index.name)
    for alias_name in sorted(set(hidden_on) & set(visible_on)):
        raise _Rejection("illegal_state_exception",
                         f"alias [{alias_name}] has is_hidden set to true on indices "
                         f"[{','.join(sorted(hidden_on[alias_name]))}] but does not have is_hidden set to true on "
                         f"indices [{','.join(sorted(visible_on[alias_name]))}]; alias must have the same is_hidden "
                         f"setting on all indices")


def _check_write_indices(state: ClusterState) -> None:
    _check_hidden_aliases(state)
    write_indices: dict[str, list[str]] = {}
    for index in state.indices.values():
        for alias in index.aliases.values():
            if alias.is_write_index:
                write_indices.setdefault(alias.alias, []).append(index.name)
    for alias_name, names in sorted(write_indices.items()):
        if len(names) > 1:
            raise _Rejection("illegal_state_exception",
                             f"alias [{alias_name}] has more than one write index "
                             f"[{','.join(sorted(names))}]")


def _delete_index(state: ClusterState, command: c.DeleteIndex):
    index = _require_index(state, command.index_name)
    indices = dict(state.indices)
    del indices[command.index_name]
    routing_table = dict(state.routing_table)
    routing_table.pop(command.index_name, None)
    return dataclasses.replace(state, indices=indices, routing_table=routing_table), {
        "index": index.name, "index_uuid": index.uuid}


def _put_mapping(state: ClusterState, command: c.PutMapping):
    index = _require_index(state, command.index_name)
    if command.expected_mapping_version != index.mapping_version:
        raise _Rejection(
            "stale_mapping_version_exception",
            f"mapping of [{index.name}] expected at version [{command.expected_mapping_version}] "
            f"but it is at [{index.mapping_version}]")
    if command.mappings == index.mappings:
        return state, {"mapping_version": index.mapping_version, "changed": False}
    updated = dataclasses.replace(index, mappings=dict(command.mappings),
                                  mapping_version=index.mapping_version + 1)
    return _with_index(state, updated), {"mapping_version": updated.mapping_version,
                                         "changed": True}


def _update_index_settings(state: ClusterState, command: c.UpdateIndexSettings):
    changes = normalize_index_settings(command.settings)
    if not changes:
        raise _Rejection("action_request_validation_exception",
                         "Validation Failed: 1: no settings to update;")
    new_state = state
    for index_name in command.index_names:
        index = _require_index(new_state, index_name)
        for key in changes:
            if key in _PRIVATE_INDEX_SETTINGS or key in _FINAL_INDEX_SETTINGS:
                raise _Rejection("illegal_argument_exception",
                                 f"final {index.name} setting [{key}], not updateable")
            if index.state == INDEX_STATE_OPEN and key.startswith(_STATIC_INDEX_SETTING_PREFIXES):
                raise _Rejection(
                    "illegal_argument_exception",
                    f"Can't update non dynamic settings [[{key}]] for open indices "
                    f"[[{index.name}/{index.uuid}]]")
        settings = dict(index.settings)
        for key, value in changes.items():
            if value is None:
                settings.pop(key, None)
            else:
                settings[key] = value
        number_of_replicas = _parse_setting_integer(settings, "index.number_of_replicas", 1, 0)
        settings["index.number_of_replicas"] = str(number_of_replicas)
        updated = dataclasses.replace(
            index, settings=dict(sorted(settings.items())), number_of_replicas=number_of_replicas,
            settings_version=index.settings_version + 1)
        new_state = _with_index(new_state, updated)
        if number_of_replicas != index.number_of_replicas:
            new_state = _set_replicas_in_routing(new_state, index_name, number_of_replicas)
    return new_state, {}


def _set_replicas_in_routing(state: ClusterState, index_name: str, number_of_replicas: int) -> ClusterState:
    routing_table = dict(state.routing_table)
    routing_table[index_name] = tuple(
        _settle_relocation(_resize_replicas(shard, number_of_replicas), number_of_replicas)
        for shard in routing_table[index_name])
    return dataclasses.replace(state, routing_table=routing_table)


def _set_number_of_replicas(state: ClusterState, command: c.SetNumberOfReplicas):
    if command.number_of_replicas < 0:
        raise _Rejection("illegal_argument_exception",
                         f"Failed to parse value [{command.number_of_replicas}] for setting "
                         f"[index.number_of_replicas] must be >= 0")
    return _update_index_settings(state, c.UpdateIndexSettings(
        index_names=command.index_names,
        settings={"index.number_of_replicas": str(command.number_of_replicas)}))


def _update_aliases(state: ClusterState, command: c.UpdateAliases):
    if not command.actions:
        raise _Rejection("action_request_validation_exception",
                         "Validation Failed: 1: At least one action is required;")
    new_state = state
    for action in command.actions:
        if not isinstance(action, dict) or len(action) != 1:
            raise _Rejection("illegal_argument_exception",
                             f"each alias action must be an object with one key, got {action!r}")
        (action_type, body), = action.items()
        if not isinstance(body, dict):
            raise _Rejection("illegal_argument_exception",
                             f"alias action [{action_type}] must be an object")
        index_names = _names_from(body, "index", "indices")
        if not index_names:
            raise _Rejection("action_request_validation_exception",
                             "Validation Failed: 1: One of [index] or [indices] is required;")
        if action_type == "remove_index":
            for index_name in index_names:
                new_state, _ = _delete_index(new_state, c.DeleteIndex(index_name=index_name))
            continue
        alias_names = _names_from(body, "alias", "aliases")
        if not alias_names:
            raise _Rejection("action_request_validation_exception",
                             "Validation Failed: 1: One of [alias] or [aliases] is required;")
        for index_name in index_names:
            index = _require_index(new_state, index_name)
            aliases = dict(index.aliases)
            for alias_name in alias_names:
                if action_type == "add":
                    _validate_alias_name(new_state, alias_name)
                    aliases[alias_name] = _alias_from_body(alias_name, body)
                elif action_type == "remove":
                    if alias_name not in aliases:
                        if body.get("must_exist") is False:
                            continue
                        raise _Rejection("aliases_not_found_exception",
                                         f"aliases [{alias_name}] missing")
                    del aliases[alias_name]
                else:
                    raise _Rejection("illegal_argument_exception",
                                     f"unknown alias action [{action_type}]")
            new_state = _with_index(new_state, dataclasses.replace(
                index, aliases=aliases, aliases_version=index.aliases_version + 1))
    _check_write_indices(new_state)
    return new_state, {}


def _names_from(body: dict[str, Any], single_key: str, plural_key: str) -> list[str]:
    names: list[str] = []
    if body.get(single_key) is not None:
        names.append(body[single_key])
    plural = body.get(plural_key)
    if plural is not None:
        names.extend(plural if isinstance(plural, list) else [plural])
    for name in names:
        if not isinstance(name, str):
            raise _Rejection("illegal_argument_exception",
                             f"[{single_key}] must be a string, got {name!r}")
    return names


def _set_index_state(state: ClusterState, index_names: tuple[str, ...], index_state: str):
    new_state = state
    for index_name in index_names:
        index = _require_index(new_state, index_name)
        if index.state != index_state:
            new_state = _with_index(new_state, dataclasses.replace(
                index, state=index_state, settings_version=index.settings_version + 1))
    return new_state, {"indices": list(index_names)}


def _open_index(state: ClusterState, command: c.OpenIndex):
    return _set_index_state(state, command.index_names, INDEX_STATE_OPEN)


def _close_index(state: ClusterState, command: c.CloseIndex):
    return _set_index_state(state, command.index_names, INDEX_STATE_CLOSE)


def _register_node(state: ClusterState, command: c.RegisterNode):
    if not command.node.node_id:
        raise _Rejection("illegal_argument_exception", "node_id must not be empty")
    nodes = dict(state.nodes)
    nodes[command.node.node_id] = command.node
    return dataclasses.replace(state, nodes=nodes), {"node_id": command.node.node_id}


def _deregister_node(state: ClusterState, command: c.DeregisterNode):
    if command.node_id not in state.nodes:
        raise _Rejection("illegal_argument_exception", f"unknown node [{command.node_id}]")
    nodes = dict(state.nodes)
    del nodes[command.node_id]
    return dataclasses.replace(state, nodes=nodes), {"node_id": command.node_id}


def _allocate_copy(state: ClusterState, command: c.AllocateCopy):
    shard = _require_shard(state, command.index_name, command.shard_number)
    label = f"[{command.index_name}][{command.shard_number}]"
    if command.node_id not in state.nodes:
        raise _Rejection("illegal_argument_exception", f"unknown node [{command.node_id}]")
    if command.node_id in shard.assigned_node_ids():
        raise _Rejection("illegal_argument_exception",
                         f"shard {label} already has a copy on node [{command.node_id}]")
    if not command.allocation_id:
        raise _Rejection("illegal_argument_exception", "allocation_id must not be empty")
    if shard.copy_with_allocation_id(command.allocation_id) is not None:
        raise _Rejection("illegal_argument_exception",
                         f"allocation id [{command.allocation_id}] is already used by {label}")
    in_sync = shard.in_sync_allocation_ids
    primary_term = shard.primary_term
    data_loss_term, empty_primary_allocation_id = shard.data_loss_term, shard.empty_primary_allocation_id
    if command.empty_store and not (command.primary and command.accept_data_loss):
        raise _Rejection("illegal_argument_exception",
                         "an empty store is only for a primary allocated with accept_data_loss")
    if command.primary:
        if shard.primary() is not None:
            raise _Rejection("illegal_argument_exception", f"shard {label} already has a primary")
        if command.accept_data_loss:
            in_sync = ()
            data_loss_term = primary_term + 1
            empty_primary_allocation_id = command.allocation_id if command.empty_store else None
        elif in_sync and command.allocation_id not in in_sync:
            # DESIGN §10: never an empty or stale primary by accident.
            raise _Rejection(
                "illegal_argument_exception",
                f"no in-sync copy of {label} for allocation id [{command.allocation_id}]; "
                f"allocating a stale or empty primary needs accept_data_loss")
        primary_term += 1
    else:
        primary_copy = shard.primary()
        if primary_copy is None or primary_copy.state not in (STARTED, RELOCATING):
            raise _Rejection("illegal_argument_exception",
                             f"primary of {label} is not active; replicas recover from it")
    # the free slot of that kind with the fewest failed allocations (the first on a tie)
    free_slots = [(copy.failed_allocations, i) for i, copy in enumerate(shard.copies)
                  if copy.primary == command.primary and copy.state == UNASSIGNED]
    slot_index = min(free_slots)[1] if free_slots else None
    if slot_index is None:
        kind = "primary" if command.primary else "replica"
        raise _Rejection("illegal_argument_exception", f"shard {label} has no unassigned {kind} slot")
    copies = list(shard.copies)
    copies[slot_index] = ShardCopy(allocation_id=command.allocation_id, node_id=command.node_id,
                                   primary=command.primary, state=INITIALIZING,
                                   failed_allocations=copies[slot_index].failed_allocations)
    updated = dataclasses.replace(shard, copies=tuple(copies), in_sync_allocation_ids=in_sync,
                                  primary_term=primary_term, data_loss_term=data_loss_term,
                                  empty_primary_allocation_id=empty_primary_allocation_id)
    return _with_shard(state, updated), {"primary_term": primary_term}


def _start_copy(state: ClusterState, command: c.StartCopy):
    shard = _require_shard(state, command.index_name, command.shard_number)
    copy = shard.copy_with_allocation_id(command.allocation_id)
    if copy is None:
        raise _Rejection("shard_not_found_exception",
                         f"no copy [{command.allocation_id}] of [{command.index_name}]"
                         f"[{command.shard_number}]")
    if copy.state != INITIALIZING:
        raise _Rejection("illegal_state_exception",
                         f"copy [{command.allocation_id}] is {copy.state}, expected INITIALIZING")
    if not copy.primary:
        primary_copy = shard.primary()
        if primary_copy is None or primary_copy.state not in (STARTED, RELOCATING):
            raise _Rejection("illegal_state_exception",
                             f"replica [{command.allocation_id}] can not start without an active "
                             f"primary of [{command.index_name}][{command.shard_number}]")
    copies = tuple(dataclasses.replace(existing, state=STARTED, failed_allocations=0)
                   if existing.allocation_id == command.allocation_id else existing
                   for existing in shard.copies)
    if copy.primary:
        # An active primary holds every acknowledged operation, so ids of lost copies kept only
        # to keep the shard red are no longer needed (and must not linger as phantom replicas).
        in_sync = _started_in_sync_ids(copies, shard.in_sync_allocation_ids) | {command.allocation_id}
    else:
        in_sync = set(shard.in_sync_allocation_ids) | {command.allocation_id}
    in_sync = tuple(sorted(in_sync))
    return _with_shard(state, dataclasses.replace(
        shard, copies=copies, in_sync_allocation_ids=in_sync)), {}


def _fail_copy(state: ClusterState, command: c.FailCopy):
    shard = _require_shard(state, command.index_name, command.shard_number)
    failed = shard.copy_with_allocation_id(command.allocation_id)
    if command.primary_term is not None and command.primary_term != shard.primary_term:
        raise _Rejection("stale_primary_term_exception",
                         f"primary term [{command.primary_term}] of [{command.index_name}]"
                         f"[{command.shard_number}] is stale; current term is [{shard.primary_term}]")
    if failed is None:
        raise _Rejection("shard_not_found_exception",
                         f"no copy [{command.allocation_id}] of [{command.index_name}]"
                         f"[{command.shard_number}]")
    # OpenSearch counts failed allocations in a row (a started copy's count is 0, so its failure
    # counts 1); any other reason (a node left, a cancellation) starts the count again
    failed_allocations = failed.failed_allocations + 1 if command.reason == ALLOCATION_FAILED_REASON else 0
    copies = tuple(_unassigned_copy(existing.primary, command.reason, failed_allocations)
                   if existing.allocation_id == command.allocation_id else existing
                   for existing in shard.copies)
    if failed.primary:
        # Replicas still recovering were copying from this primary: their recovery cannot
        # finish, and they must not later join the in-sync set of a different primary.
        copies = tuple(_unassigned_copy(False, "PRIMARY_FAILED")
                       if not existing.primary and existing.state == INITIALIZING else existing
                       for existing in copies)
    in_sync = set(shard.in_sync_allocation_ids)
    # The last in-sync copy keeps its id even when it fails, so the shard stays red until that
    # very copy returns instead of silently accepting a stale or empty one (OpenSearch does the same).
    if not command.preserve_in_sync and _has_other_started_in_sync_copy(shard, command.allocation_id):
        in_sync.discard(command.allocation_id)
    return _with_shard(state, dataclasses.replace(
        shard, copies=copies, in_sync_allocation_ids=tuple(sorted(in_sync)))), {}


def _remove_from_in_sync(state: ClusterState, command: c.RemoveFromInSync):
    shard = _require_shard(state, command.index_name, command.shard_number)
    label = f"[{command.index_name}][{command.shard_number}]"
    if command.primary_term != shard.primary_term:
        raise _Rejection("stale_primary_term_exception",
                         f"primary term [{command.primary_term}] of {label} is stale; current "
                         f"term is [{shard.primary_term}]")
    primary_copy = shard.primary()
    if primary_copy is None or primary_copy.state not in (STARTED, RELOCATING):
        raise _Rejection("illegal_state_exception",
                         f"shard {label} has no active primary to remove copies from its in-sync set")
    doomed = set(command.allocation_ids)
    if primary_copy.allocation_id in doomed:
        raise _Rejection("illegal_argument_exception",
                         f"the primary [{primary_copy.allocation_id}] of {label} can not be "
                         f"removed from its own in-sync set")
    copies = tuple(_unassigned_copy(False, ALLOCATION_FAILED_REASON, existing.failed_allocations + 1)
                   if existing.allocation_id in doomed else existing
                   for existing in shard.copies)
    in_sync = tuple(sorted(set(shard.in_sync_allocation_ids) - doomed))
    return _with_shard(state, dataclasses.replace(
        shard, copies=copies, in_sync_allocation_ids=in_sync)), {}


def _promote_replica(state: ClusterState, command: c.PromoteReplica):
    shard = _require_shard(state, command.index_name, command.shard_number)
    label = f"[{command.index_name}][{command.shard_number}]"
    if shard.primary() is not None:
        raise _Rejection("illegal_argument_exception",
                         f"shard {label} still has a primary; fail it first")
    candidate = shard.copy_with_allocation_id(command.allocation_id)
    if candidate is None or candidate.primary or candidate.state not in (STARTED, RELOCATING):
        raise _Rejection("illegal_argument_exception",
                         f"[{command.allocation_id}] is not a started replica of {label}")
    if command.allocation_id not in shard.in_sync_allocation_ids:
        raise _Rejection("illegal_argument_exception",
                         f"replica [{command.allocation_id}] of {label} is not in sync")
    promoted = dataclasses.replace(candidate, primary=True)
    replicas = []
    for existing in shard.copies:
        if existing.allocation_id == command.allocation_id:
            continue
        if existing.primary:  # the empty primary slot becomes a replica slot
            replicas.append(_unassigned_copy(False, existing.unassigned_reason or "PRIMARY_FAILED"))
        else:
            replicas.append(existing)
    copies = (promoted, *replicas)
    updated = dataclasses.replace(
        shard, copies=copies, primary_term=shard.primary_term + 1,
        in_sync_allocation_ids=tuple(sorted(_started_in_sync_ids(copies, shard.in_sync_allocation_ids))))
    return _with_shard(state, updated), {"primary_term": updated.primary_term}


def _relocate_copy(state: ClusterState, command: c.RelocateCopy):
    shard = _require_shard(state, command.index_name, command.shard_number)
    label = f"[{command.index_name}][{command.shard_number}]"
    source = shard.copy_with_allocation_id(command.allocation_id)
    if source is None or source.state != STARTED or command.allocation_id not in shard.in_sync_allocation_ids:
        raise _Rejection("illegal_argument_exception",
                         f"[{command.allocation_id}] is not a started in-sync copy of {label}")
    if not all(copy.state == STARTED for copy in shard.copies):
        # one move at a time, and only from a green shard: the copies never drop below that
        raise _Rejection("illegal_state_exception",
                         f"shard {label} is not green with every copy started; relocation waits")
    if command.target_node_id not in state.nodes:
        raise _Rejection("illegal_argument_exception", f"unknown node [{command.target_node_id}]")
    if command.target_node_id in shard.assigned_node_ids():
        raise _Rejection("illegal_argument_exception",
                         f"shard {label} already has a copy on node [{command.target_node_id}]")
    if not command.target_allocation_id or shard.copy_with_allocation_id(command.target_allocation_id):
        raise _Rejection("illegal_argument_exception",
                         f"target allocation id [{command.target_allocation_id}] is empty or already used")
    copies = tuple(dataclasses.replace(copy, state=RELOCATING) if copy.allocation_id == command.allocation_id
                   else copy for copy in shard.copies)
    target = ShardCopy(allocation_id=command.target_allocation_id, node_id=command.target_node_id,
                       primary=False, state=INITIALIZING)
    shards = list(state.routing_table[command.index_name])
    shards[command.shard_number] = dataclasses.replace(shard, copies=copies + (target,))
    # written directly: the extra copy is the point, it must not be settled away
    routing_table = dict(state.routing_table)
    routing_table[command.index_name] = tuple(shards)
    return dataclasses.replace(state, routing_table=routing_table), {}


def _complete_relocation(state: ClusterState, command: c.CompleteRelocation):
    shard = _require_shard(state, command.index_name, command.shard_number)
    label = f"[{command.index_name}][{command.shard_number}]"
    source = shard.copy_with_allocation_id(command.allocation_id)
    if source is None or source.state != RELOCATING:
        raise _Rejection("illegal_state_exception", f"[{command.allocation_id}] is not relocating in {label}")
    others = [copy for copy in shard.copies if copy.allocation_id != command.allocation_id]
    if not all(copy.state == STARTED and copy.allocation_id in shard.in_sync_allocation_ids for copy in others):
        raise _Rejection("illegal_state_exception",
                         f"every other copy of {label} must be started and in sync before the move completes")
    in_sync = tuple(sorted(set(shard.in_sync_allocation_ids) - {command.allocation_id}))
    primary_term = shard.primary_term
    if source.primary:
        promoted = next((copy for copy in others if copy.allocation_id == command.promote_allocation_id), None)
        if promoted is None:
            raise _Rejection("illegal_argument_exception",
                             f"a relocating primary of {label} needs promote_allocation_id naming a started "
                             f"in-sync replica, got [{command.promote_allocation_id}]")
        others = [dataclasses.replace(promoted, primary=True)] + [copy for copy in others if copy is not promoted]
        primary_term += 1
    return _with_shard(state, dataclasses.replace(
        shard, copies=tuple(others), in_sync_allocation_ids=in_sync, primary_term=primary_term)), (
        {"primary_term": primary_term} if source.primary else {})


def _put_cluster_settings(state: ClusterState, command: c.PutClusterSettings):
    def merged(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        result = dict(current)
        for key, value in _flatten(changes).items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = value
        return dict(sorted(result.items()))

    return dataclasses.replace(
        state, persistent_settings=merged(state.persistent_settings, command.persistent),
        transient_settings=merged(state.transient_settings, command.transient)), {}


def flatten_settings(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested setting maps → flat dotted keys (values untouched; None means "remove")."""
    return _flatten(settings, prefix)


def _flatten(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in (settings or {}).items():
        full_key = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_flatten(value, full_key))
        else:
            flat[full_key] = value
    return flat


def _put_udf(state: ClusterState, command: c.PutUdf):
    if not command.udf.name:
        raise _Rejection("illegal_argument_exception", "udf name must not be empty")
    udfs = dict(state.udfs)
    udfs[command.udf.name] = command.udf
    return dataclasses.replace(state, udfs=udfs), {"name": command.udf.name}


def _delete_udf(state: ClusterState, command: c.DeleteUdf):
    if command.name not in state.udfs:
        raise _Rejection("resource_not_found_exception", f"udf [{command.name}] not found")
    udfs = dict(state.udfs)
    del udfs[command.name]
    return dataclasses.replace(state, udfs=udfs), {"name": command.name}


def _retry_failed_allocations(state: ClusterState, command: c.RetryFailedAllocations):
    """``_cluster/reroute?retry_failed``: every count of failed allocations starts again at 0."""
    routing_table = {}
    reset = 0
    for index_name, shards in state.routing_table.items():
        updated_shards = []
        for shard in shards:
            if any(copy.failed_allocations for copy in shard.copies):
                reset += sum(1 for copy in shard.copies if copy.failed_allocations)
                shard = dataclasses.replace(shard, copies=tuple(
                    dataclasses.replace(copy, failed_allocations=0) for copy in shard.copies))
            updated_shards.append(shard)
        routing_table[index_name] = tuple(updated_shards)
    return dataclasses.replace(state, routing_table=routing_table), {"reset_copies": reset}


def _batch(state: ClusterState, command: c.Batch):
    new_state = state
    results = []
    for position, inner in enumerate(command.commands):
        if isinstance(inner, c.Batch):
            raise _Rejection("illegal_argument_exception", "a batch must not contain a batch")
        try:
            new_state, result = _dispatch(new_state, inner)
        except _Rejection as rejection:
            raise _Rejection(rejection.error_type,
                             f"batch command [{position}] ({inner.command_type}): "
                             f"{rejection.reason}") from None
        results.append(result)
    return new_state, {"results": results}


_HANDLERS: dict[type, Handler] = {
    c.BootstrapCluster: _bootstrap_cluster,
    c.CreateIndex: _create_index,
    c.DeleteIndex: _delete_index,
    c.PutMapping: _put_mapping,
    c.UpdateIndexSettings: _update_index_settings,
    c.UpdateAliases: _update_aliases,
    c.OpenIndex: _open_index,
    c.CloseIndex: _close_index,
    c.RegisterNode: _register_node,
    c.DeregisterNode: _deregister_node,
    c.AllocateCopy: _allocate_copy,
    c.StartCopy: _start_copy,
    c.FailCopy: _fail_copy,
    c.RemoveFromInSync: _remove_from_in_sync,
    c.PromoteReplica: _promote_replica,
    c.RelocateCopy: _relocate_copy,
    c.CompleteRelocation: _complete_relocation,
    c.SetNumberOfReplicas: _set_number_of_replicas,
    c.PutClusterSettings: _put_cluster_settings,
    c.PutUdf: _put_udf,
    c.DeleteUdf: _delete_udf,
    c.RetryFailedAllocations: _retry_failed_allocations,
    c.Batch: _batch,
}
