"""Index expressions → concrete index names, as OpenSearch's IndexNameExpressionResolver.

Owns: ``IndicesOptions`` (expand_wildcards, ignore_unavailable, allow_no_indices from request
parameters), ``resolve_indices`` (comma lists, ``_all``/``*``, wildcards, ``-exclusions``,
aliases, data streams — a data stream's name stands for its backing indices), ``resolve_write_target``
(index, alias with one write index — routing from the alias —, or a data stream's newest backing
index), ``data_streams`` (the data streams of a state, ADR 0378), ``data_stream_write_error``
(what a data stream refuses: anything but ``create``, a document without its single timestamp)
and ``auto_create_allowed`` (``action.auto_create_index``).

It reads a ``raft.state.ClusterState`` and never changes it, never awaits, never does I/O;
errors are node/errors.py ApiErrors (404 index_not_found_exception ...).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Mapping

import orjson

from node.coordination.values import parse_boolean
from node.errors import ApiError, IllegalArgumentError, IndexNotFoundError

EXPAND_WILDCARD_VALUES = ("open", "closed", "hidden", "all", "none")
# a data stream is a hidden persistent cluster setting holding its JSON (node/api/data_streams.py)
DATA_STREAM_PREFIX = "quidditch.data_stream."
# (the persistent settings object last read, its data streams): one parse per settings change, as
# resolve_indices runs on every search
_data_streams_seen: tuple[Any, dict[str, dict[str, Any]]] = (None, {})


def data_streams(state: Any) -> dict[str, dict[str, Any]]:
    """name → {"name", "timestamp_field", "indices": [{"index_name", "index_uuid"}], "generation",
    "template"} for every data stream of ``state``."""
    global _data_streams_seen
    settings = state.persistent_settings
    if _data_streams_seen[0] is not settings:
        _data_streams_seen = (settings, {key[len(DATA_STREAM_PREFIX):]: orjson.loads(value)
                                         for key, value in settings.items()
                                         if key.startswith(DATA_STREAM_PREFIX) and isinstance(value, str)})
    return _data_streams_seen[1]


def data_stream_write_error(state: Any, name: str | None, action: str, source: bytes) -> ApiError | None:
    """Why a write addressed to ``name`` is refused when ``name`` is a data stream, as OpenSearch:
    only ``create`` is allowed (an update, a delete or an ``index`` must address the backing index),
    and the document must hold exactly one value of the stream's timestamp field. None otherwise
    (a source that is no JSON object is left to the shard, which reports the parse error)."""
    stream = data_streams(state).get(name or "")
    if stream is None:
        return None
    if action != "create":
        return IllegalArgumentError("only write ops with an op_type of create are allowed in data streams")
    field = (stream.get("timestamp_field") or {}).get("name") or "@timestamp"
    try:
        document = orjson.loads(source)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict) or _timestamp_value_count(document, field) == 1:
        return None
    reason = f"documents must contain a single-valued timestamp field '{field}' of date type"
    return ApiError("failed to parse", opensearch_type="mapper_parsing_exception", status=400,
                    caused_by={"type": "illegal_argument_exception", "reason": reason})


def _timestamp_value_count(document: dict, field: str) -> int:
    """How many values ``field`` has in the document: a literal dotted key or an object path."""
    if field in document:
        value = document[field]
    else:
        value = document
        for part in field.split("."):
            if not isinstance(value, dict) or part not in value:
                return 0
            value = value[part]
    if isinstance(value, list):
        return sum(1 for item in value if isinstance(item, (str, int, float)) and not isinstance(item, bool))
    return 1 if isinstance(value, (str, int, float)) and not isinstance(value, bool) else 0


def _backing_indices(state: Any, stream: dict[str, Any]) -> list[str]:
    return [entry["index_name"] for entry in stream["indices"] if entry["index_name"] in state.indices]


@dataclass(frozen=True, slots=True)
class IndicesOptions:
    expand_open: bool = True
    expand_closed: bool = False
    ignore_unavailable: bool = False
    allow_no_indices: bool = True
    # hidden indices (index.hidden: true) and hidden aliases (is_hidden) are matched by a wildcard
    # only when expand_wildcards names "hidden" or "all", or when the pattern and the name both
    # start with a dot (".*" finds ".kibana"), as OpenSearch; a name given exactly always resolves
    expand_hidden: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, str], default: IndicesOptions | None = None) -> IndicesOptions:
        base = default or cls()
        expand_open, expand_closed, expand_hidden = base.expand_open, base.expand_closed, base.expand_hidden
        raw_expand = params.get("expand_wildcards")
        if raw_expand is not None:
            expand_open = expand_closed = expand_hidden = False
            for value in raw_expand.split(","):
                value = value.strip()
                if value not in EXPAND_WILDCARD_VALUES:
                    raise IllegalArgumentError(f"No enum constant for [expand_wildcards]: expected one of "
                                               f"{', '.join(EXPAND_WILDCARD_VALUES)}, got [{value}]")
                if value in ("open", "all"):
                    expand_open = True
                if value in ("closed", "all"):
                    expand_closed = True
                if value in ("hidden", "all"):
                    expand_hidden = True
        return cls(expand_open, expand_closed,
                   parse_boolean(params.get("ignore_unavailable"), "ignore_unavailable", base.ignore_unavailable),
                   parse_boolean(params.get("allow_no_indices"), "allow_no_indices", base.allow_no_indices),
                   expand_hidden=expand_hidden)


# what OpenSearch uses for APIs that act on existing concrete indices and tolerate nothing missing
STRICT_EXPAND_OPEN = IndicesOptions()
STRICT_EXPAND_OPEN_CLOSED = IndicesOptions(expand_closed=True)
LENIENT_EXPAND_OPEN = IndicesOptions(ignore_unavailable=True)


def _is_wildcard(expression: str) -> bool:
    return "*" in expression or "?" in expression


def _matches_state(index: Any, options: IndicesOptions) -> bool:
    return (options.expand_open and index.state == "open") or (options.expand_closed and index.state == "close")


def is_hidden_index(index: Any) -> bool:
    return str(index.settings.get("index.hidden", "false")).lower() == "true"


def _wildcard_may_match_hidden(pattern: str, name: str, options: IndicesOptions) -> bool:
    return options.expand_hidden or (pattern.startswith(".") and name.startswith("."))


def resolve_indices(state: Any, expression: str | None, options: IndicesOptions = STRICT_EXPAND_OPEN) -> list[str]:
    """Concrete index names for ``expression`` (None, "", "_all" and "*" mean every index)."""
    parts = [part.strip() for part in (expression or "_all").split(",") if part.strip()]
    if not parts or parts == ["_all"]:
        parts = ["*"]
    resolved: dict[str, None] = {}
    saw_wildcard = False
    hidden_aliases: set[str] | None = None
    for position, part in enumerate(parts):
        if part.startswith("-") and position > 0 and (saw_wildcard or resolved):
            pattern = part[1:]
            for name in list(resolved):
                if fnmatch.fnmatchcase(name, pattern):
                    resolved.pop(name)
            continue
        if part == "_all":
            part = "*"
        if _is_wildcard(part):
            saw_wildcard = True
            for name in sorted(state.indices):
                index = state.indices[name]
                if fnmatch.fnmatchcase(name, part) and _matches_state(index, options) and (
                        not is_hidden_index(index) or _wildcard_may_match_hidden(part, name, options)):
                    resolved[name] = None
            for alias in sorted(state.all_alias_names()):
                if fnmatch.fnmatchcase(alias, part):
                    if hidden_aliases is None:
                        hidden_aliases = _hidden_alias_names(state)  # once per call, only when needed
                    if alias in hidden_aliases and not _wildcard_may_match_hidden(part, alias, options):
                        continue
                    for name in state.resolve_alias(alias):
                        if _matches_state(state.indices[name], options):
                            resolved[name] = None
            for stream_name, stream in sorted(data_streams(state).items()):
                if fnmatch.fnmatchcase(stream_name, part) and (
                        not stream_name.startswith(".") or _wildcard_may_match_hidden(part, stream_name, options)):
                    for name in _backing_indices(state, stream):
                        if _matches_state(state.indices[name], options):
                            resolved[name] = None
            continue
        if part in state.indices:
            resolved[part] = None
            continue
        alias_targets = state.resolve_alias(part)
        if alias_targets:
            for name in alias_targets:
                resolved[name] = None
            continue
        stream = data_streams(state).get(part)
        if stream is not None:
            for name in _backing_indices(state, stream):
                resolved[name] = None
            continue
        if not options.ignore_unavailable:
            raise IndexNotFoundError(part)
    if not resolved and not options.allow_no_indices:
        raise IndexNotFoundError(expression or "_all")
    return list(resolved)


def _hidden_alias_names(state: Any) -> set[str]:
    return {alias_name for index in state.indices.values() for alias_name, alias in index.aliases.items()
            if getattr(alias, "is_hidden", None) is True}


@dataclass(frozen=True, slots=True)
class WriteTarget:
    index_name: str
    routing: str | None        # the alias's index_routing, when written through an alias


def resolve_write_target(state: Any, name: str) -> WriteTarget | None:
    """The index a write to ``name`` goes to; None when nothing by that name exists."""
    if name in state.indices:
        return WriteTarget(name, None)
    targets = state.resolve_alias(name)
    if not targets:
        stream = data_streams(state).get(name)
        if stream is not None and _backing_indices(state, stream):
            return WriteTarget(_backing_indices(state, stream)[-1], None)
        return None
    if len(targets) == 1:
        alias = state.indices[targets[0]].aliases[name]
        if alias.is_write_index is not False:
            return WriteTarget(targets[0], alias.index_routing)
    for index_name in targets:
        alias = state.indices[index_name].aliases[name]
        if alias.is_write_index:
            return WriteTarget(index_name, alias.index_routing)
    raise IllegalArgumentError(
        f"no write index is defined for alias [{name}]. The write index may be explicitly disabled using "
        f"is_write_index=false or the alias points to multiple indices without one being designated as a "
        f"write index")


def auto_create_allowed(state: Any, index_name: str) -> bool:
    """``action.auto_create_index``: true (default), false, or "+pattern,-pattern" lists."""
    setting = state.setting("action.auto_create_index", "true")
    text = str(setting).strip().lower() if isinstance(setting, (bool, str)) else "true"
    if text in ("true", ""):
        return True
    if text == "false":
        return False
    for pattern in str(setting).split(","):
        pattern = pattern.strip()
        if not pattern:
            continue
        allow = not pattern.startswith("-")
        bare = pattern.lstrip("+-")
        if fnmatch.fnmatchcase(index_name, bare):
            return allow
    return False


# OpenSearch's API index blocks: the index.blocks.* setting → (block id, description, levels it blocks)
INDEX_BLOCK_SETTINGS: dict[str, tuple[int, str, tuple[str, ...]]] = {
    "index.blocks.read_only": (5, "index read-only (api)", ("write", "metadata_write")),
    "index.blocks.read": (7, "index read (api)", ("read",)),
    "index.blocks.write": (8, "index write (api)", ("write",)),
    "index.blocks.metadata": (9, "index metadata (api)", ("metadata_read", "metadata_write")),
    # the block the disk flood stage sets (raft.deciders); OpenSearch answers it with 429
    "index.blocks.read_only_allow_delete": (12, "disk usage exceeded flood-stage watermark, index has "
                                                "read-only-allow-delete block", ("write", "metadata_write")),
}
# blocks whose exception is TOO_MANY_REQUESTS (429) instead of FORBIDDEN (403); the answer takes
# the highest status among the blocks that apply, as OpenSearch's ClusterBlockException does
TOO_MANY_REQUESTS_BLOCKS = frozenset({"index.blocks.read_only_allow_delete"})


def index_block_error(state: Any, index_name: str, level: str, deleting: bool = False) -> ApiError | None:
    """OpenSearch's 403 (429 for the flood-stage block) cluster_block_exception when ``index_name`` has a block for ``level``
    ("write", "read", "metadata_write", "metadata_read"); None when nothing blocks it. A delete
    passes a read_only_allow_delete block (that block exists to let deletes free disk)."""
    index = state.indices.get(index_name)
    if index is None:
        return None
    blocked, status = [], 403
    for setting, (block_id, description, levels) in INDEX_BLOCK_SETTINGS.items():
        if level not in levels or str(index.settings.get(setting, "false")).lower() != "true":
            continue
        if deleting and setting == "index.blocks.read_only_allow_delete":
            continue
        if setting in TOO_MANY_REQUESTS_BLOCKS:
            blocked.append(f"[TOO_MANY_REQUESTS/{block_id}/{description}]")
            status = 429
        else:
            blocked.append(f"[FORBIDDEN/{block_id}/{description}]")
    if not blocked:
        return None
    return ApiError(f"index [{index_name}] blocked by: {', '.join(blocked)};", opensearch_type="cluster_block_exception",
                    status=status)


def single_index(services: Any, name: str) -> Any:
    """The one concrete, open index behind ``name`` (an index, or an alias of exactly one index), as
    a single-document API (GET, update, terms lookup...) resolves its target."""
    state = services.state
    names = resolve_indices(state, name, STRICT_EXPAND_OPEN)
    if not names:
        raise IndexNotFoundError(name)
    if len(names) > 1:
        raise IllegalArgumentError(f"alias [{name}] has more than one index associated with it "
                                   f"[{', '.join(sorted(names))}], can't execute a single index op")
    index = state.indices[names[0]]
    if index.state != "open":
        raise ApiError("closed", opensearch_type="index_closed_exception", index_uuid=index.uuid, index=index.name)
    return index
