"""Which index settings a create-index or PUT _settings request may carry, as OpenSearch judges them.

Owns the table of OpenSearch's index-scoped settings (its IndexScopedSettings: every built-in key
with its value type, range and whether it is dynamic, static or final; the group prefixes
``index.analysis.``, ``index.similarity.``, ``index.routing.allocation.{include,exclude,require}.``),
the settings Quidditch adds (``index.translog.retention.operations``, ``index.udf.*``), and two
checks built on it:

- ``validate_new_index_settings(flat)`` — at index creation: an unknown key is 400
  illegal_argument_exception "unknown setting [index.x] please check that any required plugins are
  installed, …" (or "… did you mean [index.y]?" when a known key is close, as OpenSearch's
  Levenshtein suggestion); a private key (``index.uuid``, ``index.creation_date``, …) is 400
  validation_exception "private index setting [index.uuid] can not be set explicitly"; a value
  that does not parse as its type is 400 with OpenSearch's wording.
- ``validate_index_settings_update(flat, indices)`` — PUT _settings: the same key and value checks,
  a private key is "can not update private setting [x]; this setting is managed by OpenSearch",
  and a static or final key on an open index is "Can't update non dynamic settings [[x]] for open
  indices [[name/uuid]]".

Settings are given flat with the ``index.`` prefix (raft.apply.normalize_index_settings has
already turned nested, flat and bare forms into that). A null value resets a setting: its value is
not checked, and a wildcard key (``index.routing.allocation.include.*``) may reset a group.

Whether a value is honoured is decided where it is read (node/coordination/values.py for the
shard settings, raft/apply.py for shards and replicas, node/udf for ``index.udf.*``); many
OpenSearch settings here are accepted and stored without effect (codec, slow logs, merge
scheduler…), as docs/api.md lists. This module must never read or change the cluster state: it
only judges a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from node.errors import ApiError, IllegalArgumentError

DYNAMIC = "dynamic"
STATIC = "static"
FINAL = "final"

ValueCheck = Callable[[str, Any], None]


@dataclass(frozen=True, slots=True)
class IndexSettingDefinition:
    key: str
    check_value: ValueCheck
    updatability: str          # DYNAMIC: any time; STATIC: only on a closed index; FINAL: never


@dataclass(frozen=True, slots=True)
class IndexSettingGroup:
    """Every key under ``prefix`` (index.analysis.*): one updatability, values checked elsewhere or not at all."""
    prefix: str
    updatability: str
    check_key: Callable[[str], None] | None = None


# --------------------------------------------------------------------------- value checks
# Each raises IllegalArgumentError with the wording OpenSearch's Setting parsers use.


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def any_string(key: str, value: Any) -> None:
    return None


def boolean_value(key: str, value: Any) -> None:
    if _text(value) not in ("true", "false"):
        raise IllegalArgumentError(f"Failed to parse value [{_text(value)}] as only [true] or [false] are allowed.")


def integer_value(minimum: int | None = None, maximum: int | None = None) -> ValueCheck:
    def check(key: str, value: Any) -> None:
        text = _text(value).strip()
        if not re.fullmatch(r"[+-]?\d+", text):
            raise IllegalArgumentError(f"Failed to parse value [{text}] for setting [{key}]")
        number = int(text)
        if minimum is not None and number < minimum:
            raise IllegalArgumentError(f"Failed to parse value [{text}] for setting [{key}] must be >= {minimum}")
        if maximum is not None and number > maximum:
            raise IllegalArgumentError(f"Failed to parse value [{text}] for setting [{key}] must be <= {maximum}")
    return check


def double_value(minimum: float | None = None) -> ValueCheck:
    def check(key: str, value: Any) -> None:
        text = _text(value).strip()
        try:
            number = float(text)
        except ValueError:
            raise IllegalArgumentError(f"Failed to parse value [{text}] for setting [{key}]") from None
        if minimum is not None and number < minimum:
            raise IllegalArgumentError(f"Failed to parse value [{text}] for setting [{key}] must be >= {minimum}")
    return check


_TIME_UNITS_SECONDS = {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_TIME_VALUE = re.compile(r"(-?\d+(?:\.\d+)?)(nanos|micros|ms|s|m|h|d)")


def time_seconds(key: str, value: Any) -> float:
    """OpenSearch's TimeValue.parseTimeValue: "-1" and "0" need no unit, anything else does; -1 means
    "disabled" and is the only negative value."""
    text = _text(value).strip()
    lowered = text.lower()
    if lowered in ("-1", "0"):
        return float(lowered)
    match = _TIME_VALUE.fullmatch(lowered)
    if match is None:
        raise IllegalArgumentError(f"failed to parse setting [{key}] with value [{text}] as a time value: "
                                   "unit is missing or unrecognized")
    number = float(match.group(1))
    if number < 0:
        raise IllegalArgumentError(f"failed to parse setting [{key}] with value [{text}] as a time value: "
                                   "negative durations are not supported")
    return number * _TIME_UNITS_SECONDS[match.group(2)]


def time_value(minimum_text: str | None = None) -> ValueCheck:
    minimum_seconds = time_seconds("minimum", minimum_text) if minimum_text is not None else None

    def check(key: str, value: Any) -> None:
        seconds = time_seconds(key, value)
        if minimum_seconds is not None and seconds < minimum_seconds:
            raise IllegalArgumentError(f"failed to parse value [{_text(value).strip()}] for setting [{key}], "
                                       f"must be >= [{minimum_text}]")
    return check


_BYTE_UNITS = {"b": 1, "k": 1024, "kb": 1024, "m": 1024 ** 2, "mb": 1024 ** 2, "g": 1024 ** 3, "gb": 1024 ** 3,
               "t": 1024 ** 4, "tb": 1024 ** 4, "p": 1024 ** 5, "pb": 1024 ** 5}
_BYTE_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")


def byte_size(key: str, value: Any) -> None:
    """OpenSearch's ByteSizeValue: a unit (b, k/kb, m/mb, g/gb, t/tb, p/pb, any case) unless the value
    is "0" or "-1". Ranges are left to where the value is read."""
    text = _text(value).strip()
    lowered = text.lower()
    if lowered in ("0", "-1"):
        return
    match = _BYTE_SIZE.fullmatch(lowered)
    if match is None or match.group(2) not in _BYTE_UNITS:
        raise IllegalArgumentError(f"failed to parse setting [{key}] with value [{text}] as a size in bytes: "
                                   "unit is missing or unrecognized")


def one_of(choices: Iterable[str], message: Callable[[str], str]) -> ValueCheck:
    allowed = frozenset(choices)

    def check(key: str, value: Any) -> None:
        if _text(value).strip().lower() not in allowed:
            raise IllegalArgumentError(message(_text(value)))
    return check


def auto_expand_replicas(key: str, value: Any) -> None:
    """"false", or "min-max" where max is a number or "all" (OpenSearch's AutoExpandReplicas.parse)."""
    text = _text(value).strip()
    if text == "false":
        return
    dash = text.find("-")
    if dash <= 0:
        raise IllegalArgumentError(f"failed to parse [{key}] from value: [{text}] at index {dash}")
    low, high = text[:dash], text[dash + 1:]
    if not low.isdigit():
        raise IllegalArgumentError(f"failed to parse [{key}] from value: [{text}] at index {dash}")
    if high != "all" and not high.isdigit():
        raise IllegalArgumentError(f"failed to parse [{key}] from value: [{text}] at index {dash}")
    if high != "all" and int(low) > int(high):
        raise IllegalArgumentError(f"[{key}] minReplicas must be =< maxReplicas but wasn't {low} > {high}")


def _no_built_in_similarity(key: str) -> None:
    name = key[len("index.similarity."):].split(".", 1)[0]
    if name in ("BM25", "boolean"):
        raise IllegalArgumentError(f"illegal value for [index.similarity.{name}] cannot redefine built-in similarity")


# --------------------------------------------------------------------------- the table

_BOOLEAN, _STRING, _TIME, _BYTES = boolean_value, any_string, time_value(), byte_size
_NON_NEGATIVE, _POSITIVE = integer_value(0), integer_value(1)
_DURABILITY = one_of(("request", "async"),
                     lambda value: f"No enum constant org.opensearch.index.translog.Translog.Durability.{value.upper()}")
_ALLOCATION_ENABLE = one_of(("all", "primaries", "new_primaries", "none"),
                            lambda value: f"Illegal allocation.enable value [{value.upper()}]")
_REBALANCE_ENABLE = one_of(("all", "primaries", "replicas", "none"),
                           lambda value: f"Illegal rebalance.enable value [{value.upper()}]")
_REPLICATION_TYPE = one_of(("document", "segment"),
                           lambda value: f"Could not parse ReplicationStrategy for [{value}]")

_D, _S, _F = DYNAMIC, STATIC, FINAL

_DEFINITIONS: tuple[tuple[str, ValueCheck, str], ...] = (
    # shards, replicas, routing
    ("index.number_of_shards", integer_value(1, 1024), _F),
    ("index.number_of_routing_shards", integer_value(1, 1024 * 1024), _F),
    ("index.routing_partition_size", integer_value(1), _F),
    ("index.number_of_replicas", _NON_NEGATIVE, _D),
    ("index.number_of_search_replicas", _NON_NEGATIVE, _D),
    ("index.auto_expand_replicas", auto_expand_replicas, _D),
    ("index.auto_expand_search_replicas", auto_expand_replicas, _D),
    ("index.priority", _NON_NEGATIVE, _D),
    ("index.hidden", _BOOLEAN, _D),
    ("index.write.wait_for_active_shards", _STRING, _D),
    ("index.replication.type", _REPLICATION_TYPE, _F),
    ("index.append_only.enabled", _BOOLEAN, _F),
    ("index.bulk_adaptive_shard_selection.enabled", _BOOLEAN, _D),
    ("index.routing.allocation.enable", _ALLOCATION_ENABLE, _D),
    ("index.routing.rebalance.enable", _REBALANCE_ENABLE, _D),
    ("index.routing.allocation.total_shards_per_node", integer_value(-1), _D),
    ("index.routing.allocation.total_primary_shards_per_node", integer_value(-1), _D),
    ("index.allocation.max_retries", _NON_NEGATIVE, _D),
    ("index.allocation.existing_shards_allocator", _STRING, _S),
    ("index.unassigned.node_left.delayed_timeout", _TIME, _D),
    ("index.data_path", _STRING, _S),
    ("index.format", integer_value(), _S),
    # blocks
    ("index.blocks.read_only", _BOOLEAN, _D),
    ("index.blocks.read", _BOOLEAN, _D),
    ("index.blocks.write", _BOOLEAN, _D),
    ("index.blocks.metadata", _BOOLEAN, _D),
    ("index.blocks.read_only_allow_delete", _BOOLEAN, _D),
    ("index.blocks.search_only", _BOOLEAN, _D),
    # refresh, flush, translog, soft deletes
    ("index.refresh_interval", _TIME, _D),
    ("index.translog.durability", _DURABILITY, _D),
    ("index.translog.sync_interval", time_value("100ms"), _D),
    ("index.translog.flush_threshold_size", _BYTES, _D),
    ("index.translog.generation_threshold_size", _BYTES, _D),
    ("index.translog.retention.age", _TIME, _D),
    ("index.translog.retention.size", _BYTES, _D),
    ("index.translog.read_forward", _BOOLEAN, _S),
    ("index.flush_after_merge", _BYTES, _D),
    ("index.gc_deletes", _TIME, _D),
    ("index.soft_deletes.enabled", _BOOLEAN, _F),
    ("index.soft_deletes.retention.operations", _NON_NEGATIVE, _D),
    ("index.soft_deletes.retention_lease.period", _TIME, _D),
    ("index.check_pending_flush.enabled", _BOOLEAN, _D),
    ("index.publish_referenced_segments_interval", _TIME, _D),
    ("index.remote_store.translog.buffer_interval", _TIME, _D),
    ("index.remote_store.translog.keep_extra_gen", _NON_NEGATIVE, _D),
    ("index.remote_store.enabled", _BOOLEAN, _F),
    ("index.remote_store.segment.repository", _STRING, _F),
    ("index.remote_store.translog.repository", _STRING, _F),
    # merges
    ("index.merge.policy", _STRING, _S),
    ("index.merge.policy.deletes_pct_allowed", double_value(0.0), _D),
    ("index.merge.policy.expunge_deletes_allowed", double_value(0.0), _D),
    ("index.merge.policy.floor_segment", _BYTES, _D),
    ("index.merge.policy.max_merge_at_once", integer_value(2), _D),
    ("index.merge.policy.max_merge_at_once_explicit", integer_value(2), _D),
    ("index.merge.policy.max_merged_segment", _BYTES, _D),
    ("index.merge.policy.segments_per_tier", double_value(2.0), _D),
    ("index.merge.policy.reclaim_deletes_weight", double_value(0.0), _D),
    ("index.merge.log_byte_size_policy.merge_factor", integer_value(2), _D),
    ("index.merge.log_byte_size_policy.min_merge", _BYTES, _D),
    ("index.merge.log_byte_size_policy.max_merge_segment", _BYTES, _D),
    ("index.merge.log_byte_size_policy.max_merge_segment_forced_merge", _BYTES, _D),
    ("index.merge.log_byte_size_policy.max_merged_docs", _POSITIVE, _D),
    ("index.merge.log_byte_size_policy.no_cfs_ratio", _STRING, _D),
    ("index.merge.scheduler.auto_throttle", _BOOLEAN, _D),
    ("index.merge.scheduler.max_merge_count", _POSITIVE, _D),
    ("index.merge.scheduler.max_thread_count", _POSITIVE, _D),
    ("index.merge.scheduler.max_force_merge_mb_per_sec", double_value(0.0), _D),
    ("index.merge_on_flush.enabled", _BOOLEAN, _D),
    ("index.merge_on_flush.max_full_flush_merge_wait_time", _TIME, _D),
    ("index.merge_on_flush.policy", _STRING, _D),
    ("index.compound_format", _STRING, _D),
    ("index.use_compound_file", _BOOLEAN, _S),
    ("index.auto_force_merges.enabled", _BOOLEAN, _D),
    # search limits and behaviour
    ("index.max_result_window", _POSITIVE, _D),
    ("index.max_inner_result_window", _POSITIVE, _D),
    ("index.max_rescore_window", _POSITIVE, _D),
    ("index.max_docvalue_fields_search", _NON_NEGATIVE, _D),
    ("index.max_script_fields", _NON_NEGATIVE, _D),
    ("index.max_ngram_diff", _NON_NEGATIVE, _D),
    ("index.max_shingle_diff", _NON_NEGATIVE, _D),
    ("index.max_adjacency_matrix_filters", integer_value(2), _D),
    ("index.max_terms_count", _POSITIVE, _D),
    ("index.max_regex_length", _POSITIVE, _D),
    ("index.max_refresh_listeners", _NON_NEGATIVE, _D),
    ("index.max_slices_per_scroll", _POSITIVE, _D),
    ("index.max_slices_per_pit", _POSITIVE, _D),
    ("index.analyze.max_token_count", _POSITIVE, _D),
    ("index.highlight.max_analyzed_offset", _POSITIVE, _D),
    ("index.query.max_nested_depth", _POSITIVE, _D),
    ("index.query.default_field", _STRING, _D),
    ("index.query_string.lenient", _BOOLEAN, _D),
    ("index.query.parse.allow_unmapped_fields", _BOOLEAN, _D),
    ("index.query.derived_field.enabled", _BOOLEAN, _D),
    ("index.search.idle.after", _TIME, _D),
    ("index.search.throttled", _BOOLEAN, _D),
    ("index.search.default_pipeline", _STRING, _D),
    ("index.search.concurrent_segment_search.enabled", _BOOLEAN, _D),
    ("index.search.concurrent_segment_search.mode", _STRING, _D),
    ("index.search.concurrent_segment_search.max_slice_count", _NON_NEGATIVE, _D),
    ("index.requests.cache.enable", _BOOLEAN, _D),
    ("index.queries.cache.enabled", _BOOLEAN, _S),
    ("index.warmer.enabled", _BOOLEAN, _D),
    ("index.optimize_doc_id_lookup.fuzzy_set.enabled", _BOOLEAN, _D),
    ("index.optimize_doc_id_lookup.fuzzy_set.false_positive_probability", double_value(0.0), _D),
    # slow logs
    *((f"index.search.slowlog.threshold.{phase}.{level}", _TIME, _D)
      for phase in ("query", "fetch") for level in ("warn", "info", "debug", "trace")),
    ("index.search.slowlog.level", _STRING, _D),
    *((f"index.indexing.slowlog.threshold.index.{level}", _TIME, _D) for level in ("warn", "info", "debug", "trace")),
    ("index.indexing.slowlog.level", _STRING, _D),
    ("index.indexing.slowlog.reformat", _BOOLEAN, _D),
    ("index.indexing.slowlog.source", _STRING, _D),
    # mapping
    ("index.mapping.total_fields.limit", _NON_NEGATIVE, _D),
    ("index.mapping.depth.limit", _POSITIVE, _D),
    ("index.mapping.nested_fields.limit", _NON_NEGATIVE, _D),
    ("index.mapping.nested_objects.limit", _NON_NEGATIVE, _D),
    ("index.mapping.field_name_length.limit", _POSITIVE, _D),
    ("index.mapping.ignore_malformed", _BOOLEAN, _S),
    ("index.mapping.coerce", _BOOLEAN, _S),
    ("index.mapper.dynamic", _BOOLEAN, _D),
    ("index.allow_derived_field", _BOOLEAN, _D),
    ("index.derived_source.enabled", _BOOLEAN, _F),
    # store, codec, caches
    ("index.codec", _STRING, _S),
    ("index.codec.compression_level", integer_value(1, 22), _S),
    ("index.store.type", _STRING, _S),
    ("index.store.preload", _STRING, _S),
    ("index.store.hybrid.nio.extensions", _STRING, _S),
    ("index.store.hybrid.mmap.extensions", _STRING, _S),
    ("index.store.fs.fs_lock", one_of(("native", "simple"),
                                      lambda value: f"unrecognized [index.store.fs.fs_lock] \"{value}\": must be native or simple"),
     _S),
    ("index.store.stats_refresh_interval", _TIME, _S),
    ("index.recovery.type", _STRING, _S),
    ("index.shard.check_on_startup", _STRING, _S),
    ("index.load_fixed_bitset_filters_eagerly", _BOOLEAN, _S),
    ("index.fielddata.cache", _STRING, _S),
    ("index.optimize_auto_generated_id", _BOOLEAN, _D),
    # sorting
    ("index.sort.field", _STRING, _F),
    ("index.sort.order", _STRING, _F),
    ("index.sort.missing", _STRING, _F),
    ("index.sort.mode", _STRING, _F),
    # ingest (pipelines are not run by Quidditch: the names are stored, docs/api.md)
    ("index.default_pipeline", _STRING, _D),
    ("index.final_pipeline", _STRING, _D),
    # Quidditch's own
    ("index.translog.retention.operations", _NON_NEGATIVE, _D),
    ("index.udf.fuel_per_query", _POSITIVE, _D),
    ("index.udf.timeout", _STRING, _D),   # node/udf/store.py parses it (milliseconds or a time value)
)

INDEX_SETTINGS: dict[str, IndexSettingDefinition] = {
    key: IndexSettingDefinition(key, check, updatability) for key, check, updatability in _DEFINITIONS}

INDEX_SETTING_GROUPS: tuple[IndexSettingGroup, ...] = (
    IndexSettingGroup("index.analysis.", STATIC),
    IndexSettingGroup("index.similarity.", STATIC, _no_built_in_similarity),
    IndexSettingGroup("index.routing.allocation.include.", DYNAMIC),
    IndexSettingGroup("index.routing.allocation.exclude.", DYNAMIC),
    IndexSettingGroup("index.routing.allocation.require.", DYNAMIC),
)

# Computed by OpenSearch (or by Quidditch's raft/apply.py) for every index; a user may neither set nor change them.
PRIVATE_INDEX_SETTINGS = frozenset({
    "index.uuid", "index.creation_date", "index.version.created", "index.version.upgraded", "index.provided_name",
    "index.history.uuid", "index.verified_before_close", "index.resize.source.uuid", "index.resize.source.name",
    "index.shrink.source.uuid", "index.shrink.source.name",
})
_PRIVATE_INDEX_SETTING_PREFIXES = ("index.routing.allocation.initial_recovery.", "index.searchable_snapshot.")


# --------------------------------------------------------------------------- lookups


def is_private_index_setting(key: str) -> bool:
    return key in PRIVATE_INDEX_SETTINGS or key.startswith(_PRIVATE_INDEX_SETTING_PREFIXES)


def updatability_of(key: str) -> str | None:
    """DYNAMIC, STATIC or FINAL for a known key; None for an unknown one."""
    definition = INDEX_SETTINGS.get(key)
    if definition is not None:
        return definition.updatability
    for group in INDEX_SETTING_GROUPS:
        if key.startswith(group.prefix) and len(key) > len(group.prefix):
            return group.updatability
    return None


def _levenshtein_similarity(first: str, second: str) -> float:
    """Lucene's LevenshteinDistance.getDistance: 1 - edits / the longer length."""
    if not first or not second:
        return 1.0 if first == second else 0.0
    previous = list(range(len(second) + 1))
    for row, first_character in enumerate(first, start=1):
        current = [row] + [0] * len(second)
        for column, second_character in enumerate(second, start=1):
            current[column] = min(previous[column] + 1, current[column - 1] + 1,
                                  previous[column - 1] + (first_character != second_character))
        previous = current
    return 1.0 - previous[-1] / max(len(first), len(second))


def unknown_setting_message(key: str) -> str:
    """OpenSearch's AbstractScopedSettings wording: known keys closer than 0.7 are suggested, nearest first."""
    scored = sorted(((_levenshtein_similarity(key, known), known) for known in INDEX_SETTINGS),
                    key=lambda pair: (-pair[0], pair[1]))
    suggestions = [known for similarity, known in scored if similarity > 0.7]
    if len(suggestions) == 1:
        return f"unknown setting [{key}] did you mean [{suggestions[0]}]?"
    if suggestions:
        return f"unknown setting [{key}] did you mean any of [{', '.join(suggestions)}]?"
    return (f"unknown setting [{key}] please check that any required plugins are installed, or check the "
            "breaking changes documentation for removed settings")


def _check_known_and_value(key: str, value: Any) -> None:
    updatability = updatability_of(key)
    if updatability is None:
        raise IllegalArgumentError(unknown_setting_message(key))
    for group in INDEX_SETTING_GROUPS:
        if key.startswith(group.prefix) and group.check_key is not None:
            group.check_key(key)
    definition = INDEX_SETTINGS.get(key)
    if definition is None or value is None:
        return
    for item in (value if isinstance(value, list) else [value]):
        if definition.check_value is not any_string:
            definition.check_value(key, item)


# --------------------------------------------------------------------------- the two checks


def validate_new_index_settings(flat_settings: Mapping[str, Any]) -> None:
    """Create index (the body's ``settings``, flat ``index.*`` keys): raises on the first key, in
    sorted order as OpenSearch's Settings iterate, that is unknown, private, or whose value does not parse."""
    for key in sorted(flat_settings):
        if is_private_index_setting(key):
            raise ApiError(f"Validation Failed: 1: private index setting [{key}] can not be set explicitly;",
                           opensearch_type="validation_exception", status=400)
        _check_known_and_value(key, flat_settings[key])


def validate_index_settings_update(flat_settings: Mapping[str, Any], indices: Iterable[Any]) -> None:
    """PUT _settings on ``indices`` (cluster-state IndexMetadata: name, uuid, state, settings).

    A null value that resets a key the index already holds is let through even when the key is
    unknown, so a setting stored before this validation existed can still be removed."""
    indices = list(indices)
    held = set().union(*(index.settings for index in indices)) if indices else set()
    non_dynamic: list[str] = []
    for key in sorted(flat_settings):
        value = flat_settings[key]
        if value is None and ("*" in key or key in held):
            continue
        if is_private_index_setting(key):
            raise ApiError(f"can not update private setting [{key}]; this setting is managed by OpenSearch",
                           opensearch_type="illegal_argument_exception", status=400)
        _check_known_and_value(key, value)
        if updatability_of(key) != DYNAMIC:
            non_dynamic.append(key)
    open_indices = [index for index in indices if getattr(index, "state", "open") == "open"]
    if non_dynamic and open_indices:
        listed = ", ".join(f"[{index.name}/{index.uuid}]" for index in open_indices)
        raise IllegalArgumentError(f"Can't update non dynamic settings [[{', '.join(non_dynamic)}]] "
                                   f"for open indices [{listed}]")
