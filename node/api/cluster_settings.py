"""Which dynamic cluster settings PUT /_cluster/settings accepts, and whether their values parse.

Owns ``validate_cluster_settings(scope, flat_settings)``: every key of one scope ("persistent" or
"transient") must be a setting this engine reads — an exact key of ``EXACT_SETTINGS`` or a key
under a prefix of ``SETTING_PREFIXES`` — or OpenSearch's 400 "persistent setting [x], not
recognized" is raised; a value that would not parse where the setting is read is refused here,
before it reaches the replicated cluster state (a stored state must always parse).

A null value removes a setting and is always accepted for a known key, and for wildcards
("*", "quidditch.*") as OpenSearch resets groups. This module must never submit anything to the
cluster state or read it: it only judges a request.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Callable, Mapping

from node.coordination.values import parse_time_seconds
from node.errors import IllegalArgumentError


def _non_negative_integer(key: str, value: Any) -> None:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise IllegalArgumentError(f"Failed to parse value [{value}] for setting [{key}]: "
                                   "expected a non-negative integer") from None
    if number < 0:
        raise IllegalArgumentError(f"Failed to parse value [{value}] for setting [{key}] must be >= 0")


def _integer_or_minus_one(key: str, value: Any) -> None:
    """OpenSearch's "-1 means unlimited" integers (cluster_concurrent_rebalance)."""
    if str(value).strip() != "-1":
        _non_negative_integer(key, value)


def _time_value(key: str, value: Any) -> None:
    parse_time_seconds(value, key)


def _auto_create_index(key: str, value: Any) -> None:
    if isinstance(value, bool):
        return
    if not isinstance(value, str) or not value.strip():
        raise IllegalArgumentError(f"setting [{key}]: expected true, false or a list of index patterns, "
                                   f"got [{value}]")


SEARCH_BACKPRESSURE_MODES = ("disabled", "monitor_only", "enforced")


def _search_backpressure_mode(key: str, value: Any) -> None:
    if str(value) not in SEARCH_BACKPRESSURE_MODES:
        raise IllegalArgumentError(f"Invalid SearchBackpressureMode: {value}")


def _positive_number(key: str, value: Any) -> None:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise IllegalArgumentError(f"Failed to parse value [{value}] for setting [{key}]: expected a number") from None
    if number <= 0:
        raise IllegalArgumentError(f"{key} must be greater than zero")


def _boolean(key: str, value: Any) -> None:
    if str(value).lower() not in ("true", "false"):
        raise IllegalArgumentError(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")


def _udf_limit(key: str, value: Any) -> None:
    from node.udf.store import limits_from_settings

    try:
        limits_from_settings(lambda name, default=None: value if name == key else default)
    except ValueError as error:
        raise IllegalArgumentError(str(error)) from None


SettingValidator = Callable[[str, Any], None]

EXACT_SETTINGS: dict[str, SettingValidator] = {
    "action.auto_create_index": _auto_create_index,
    "search.max_buckets": _non_negative_integer,   # read by index/aggregations at render
    "quidditch.write.max_in_flight_requests": _non_negative_integer,
    "quidditch.write.max_in_flight_bytes": _non_negative_integer,
    "quidditch.search.max_in_flight_requests": _non_negative_integer,
    "quidditch.search.spread_idle_searches": _boolean,
    "quidditch.bulk.max_operations": _non_negative_integer,
    "quidditch.replication.copy_removal_timeout": _time_value,
    "quidditch.udf.fuel_per_query": _udf_limit,
    "quidditch.udf.timeout": _udf_limit,
    "quidditch.udf.max_module_size": _udf_limit,
    "quidditch.udf.max_memory_per_instance": _udf_limit,
    "cluster.routing.allocation.node_concurrent_recoveries": _non_negative_integer,
    "cluster.routing.allocation.node_initial_primaries_recoveries": _non_negative_integer,
    "cluster.routing.allocation.cluster_concurrent_rebalance": _integer_or_minus_one,  # raft/allocation, ADR 0250
    # OpenSearch's search backpressure: Quidditch has none, so these are stored and reported but
    # change nothing (docs/api.md); accepted so clients and tools that set them are not refused
    "search_backpressure.mode": _search_backpressure_mode,
    **{f"search_backpressure.{task}.{name}": _positive_number
       for task in ("search_task", "search_shard_task")
       for name in ("cancellation_rate", "cancellation_ratio", "cancellation_burst")},
}

# families read by name patterns (allocation filters take any attribute: exclude._name, ._ip ...)
SETTING_PREFIXES: tuple[str, ...] = ("cluster.routing.allocation.", "search_backpressure.")


def rendered_setting_value(value: Any) -> Any:
    """A cluster setting's value as OpenSearch echoes and returns it: a string ("3", "true",
    "0.1"), a list of strings, whatever JSON type the request carried. The cluster state keeps
    the request's JSON type (readers parse either)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [rendered_setting_value(item) for item in value]
    return value


# Cluster-state entries kept as persistent settings that are not settings: ingest pipelines
# (node/api/ingest.py, ADR 0305). Never shown, never matched by a wildcard reset.
# (and index templates, node/api/templates.py, ADR 0306; stored painless scripts,
# node/api/stored_scripts.py, ADR 0325; the pipeline prefix stays first)
HIDDEN_SETTING_PREFIXES: tuple[str, ...] = ("quidditch.ingest.pipeline.", "quidditch.template.legacy.",
                                            "quidditch.template.index.", "quidditch.template.component.",
                                            "quidditch.script.", "quidditch.snapshot.repository.",
                                            "quidditch.data_stream.")


def is_hidden_setting(key: str) -> bool:
    return key.startswith(HIDDEN_SETTING_PREFIXES)


def visible_settings(flat_settings: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in flat_settings.items() if not is_hidden_setting(key)}


def rendered_settings(flat_settings: Mapping[str, Any]) -> dict[str, Any]:
    return {key: rendered_setting_value(value) for key, value in flat_settings.items()
            if value is not None and not is_hidden_setting(key)}


def is_known_setting(key: str) -> bool:
    return key in EXACT_SETTINGS or any(key.startswith(prefix) for prefix in SETTING_PREFIXES)


def validate_cluster_settings(scope: str, flat_settings: dict[str, Any]) -> None:
    """Raise IllegalArgumentError for the first unknown key or unparsable value of ``scope``."""
    for key, value in flat_settings.items():
        if value is None and "*" in key:
            continue  # a wildcard reset removes whatever it matches; matching nothing is harmless
        if not is_known_setting(key):
            raise IllegalArgumentError(f"{scope} setting [{key}], not recognized")
        if value is None:
            continue
        validator = EXACT_SETTINGS.get(key)
        if validator is not None:
            validator(key, value)


def expand_wildcard_resets(flat_settings: dict[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """``{"quidditch.*": null}`` → a null for every current key it matches (OpenSearch resets
    groups by pattern; the state machine removes exact keys only)."""
    expanded: dict[str, Any] = {}
    for key, value in flat_settings.items():
        if value is None and "*" in key:
            for existing in current:
                if fnmatch.fnmatchcase(existing, key) and not is_hidden_setting(existing):
                    expanded[existing] = None
        else:
            expanded[key] = value
    return expanded
