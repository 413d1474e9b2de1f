"""Small value parsers shared by the front and the shard workers: OpenSearch time values, byte
sizes, booleans, and index settings → ``index.shard.ShardSettings``.

Owns the one reading of "1s", "500ms", "-1", "true"/"false" the API uses. It must never import
trio, quart or anything that does I/O: the worker process imports it too.
"""

from __future__ import annotations

import re
from typing import Any

from node.errors import IllegalArgumentError

_TIME_UNITS_SECONDS = {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
                       "d": 86400.0}
_TIME_PATTERN = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(nanos|micros|ms|s|m|h|d)?\s*$")


def parse_time_seconds(value: Any, setting_name: str, allow_minus_one: bool = False) -> float | None:
    """"1s" → 1.0, "250ms" → 0.25; "-1" → None when allowed (e.g. refresh_interval)."""
    if value is None:
        return None
    text = str(value).strip()
    if allow_minus_one and text in ("-1", "-1s", "-1ms"):
        return None
    match = _TIME_PATTERN.match(text)
    if match is None or (match.group(2) is None and text not in ("0", "-1")):
        raise IllegalArgumentError(
            f"failed to parse setting [{setting_name}] with value [{text}] as a time value: "
            f"unit is missing or unrecognized")
    number = float(match.group(1))
    if number < 0:
        raise IllegalArgumentError(f"failed to parse setting [{setting_name}]: expected a non-negative "
                                   f"time value, got [{text}]")
    return number * _TIME_UNITS_SECONDS[match.group(2) or "ms"]


_BYTE_UNITS = {"b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3,
               "t": 1024**4, "tb": 1024**4, "p": 1024**5, "pb": 1024**5}
_BYTE_SIZE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)?\s*$")


def parse_byte_size_setting(value: Any, setting_name: str, minimum_bytes: int = 0) -> int:
    """OpenSearch's ByteSizeValue: "512mb" → 536870912 (units b, k/kb, m/mb, g/gb, t/tb, p/pb, powers of
    1024, any case; a unitless value only for 0), at least ``minimum_bytes``."""
    text = str(value).strip()
    match = _BYTE_SIZE_PATTERN.match(text.lower())
    unit = match.group(2) if match is not None else None
    if match is None or (unit is None and float(match.group(1)) != 0) or (unit is not None and unit not in _BYTE_UNITS):
        raise IllegalArgumentError(
            f"failed to parse setting [{setting_name}] with value [{text}] as a size in bytes: "
            f"unit is missing or unrecognized")
    size = int(float(match.group(1)) * _BYTE_UNITS[unit or "b"])
    if size < minimum_bytes:
        raise IllegalArgumentError(
            f"failed to parse value [{text}] for setting [{setting_name}], must be >= [{minimum_bytes}b]")
    return size


def parse_boolean(value: Any, parameter_name: str, default: bool = False) -> bool:
    """OpenSearch's strict booleans: "true", "false", and an empty value means true."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "true"):
        return True
    if text == "false":
        return False
    raise IllegalArgumentError(
        f"Failed to parse value [{value}] as only [true] or [false] are allowed for [{parameter_name}]")


def parse_integer(value: Any, parameter_name: str, default: int | None = None,
                  minimum: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise IllegalArgumentError(f"Failed to parse int parameter [{parameter_name}] with value "
                                   f"[{value}]") from None
    if minimum is not None and number < minimum:
        raise IllegalArgumentError(f"[{parameter_name}] must be >= {minimum}, got [{value}]")
    return number


FLUSH_THRESHOLD_MINIMUM_BYTES = 56


def shard_settings_from_index_settings(settings: dict[str, Any]) -> Any:
    """The flat ``index.*`` settings of the cluster state → the engine's ShardSettings."""
    from index.shard import ShardSettings  # local: keeps this module importable without the engine

    defaults = ShardSettings()
    refresh = settings.get("index.refresh_interval")
    refresh_seconds = (defaults.refresh_interval_seconds if refresh is None
                       else parse_time_seconds(refresh, "index.refresh_interval", allow_minus_one=True))
    durability = str(settings.get("index.translog.durability", defaults.translog_durability)).lower()
    if durability not in ("request", "async"):
        raise IllegalArgumentError(f"index.translog.durability: expected request or async, got [{durability}]")
    sync_interval = settings.get("index.translog.sync_interval")
    sync_seconds = (defaults.translog_sync_interval_seconds if sync_interval is None
                    else parse_time_seconds(sync_interval, "index.translog.sync_interval"))
    max_result_window = parse_integer(settings.get("index.max_result_window"), "index.max_result_window",
                                      defaults.max_result_window, minimum=1)
    segments_per_tier = parse_integer(settings.get("index.merge.policy.segments_per_tier"),
                                      "index.merge.policy.segments_per_tier",
                                      defaults.merge_segments_per_tier, minimum=2)
    retention_operations = parse_integer(settings.get("index.translog.retention.operations"),
                                         "index.translog.retention.operations",
                                         defaults.translog_retention_operations, minimum=0)
    flush_threshold = settings.get("index.translog.flush_threshold_size")
    # dynamic, as in OpenSearch: PUT _settings reaches the open shards through update_settings. The
    # minimum is OpenSearch's too (its empty log is 55 bytes; below it a flush could never satisfy it)
    flush_threshold_bytes = (defaults.flush_threshold_bytes if flush_threshold is None
                             else parse_byte_size_setting(flush_threshold, "index.translog.flush_threshold_size",
                                                          minimum_bytes=FLUSH_THRESHOLD_MINIMUM_BYTES))
    gc_deletes = settings.get("index.gc_deletes")
    gc_deletes_seconds = (defaults.gc_deletes_seconds if gc_deletes is None
                          else parse_time_seconds(gc_deletes, "index.gc_deletes"))
    if settings.get("index.search.idle.after") is not None:
        # read by the shard workers (search idle, ADR 0220); refused here so a bad value is a 400
        parse_time_seconds(settings["index.search.idle.after"], "index.search.idle.after")
    return ShardSettings(
        refresh_interval_seconds=refresh_seconds, translog_durability=durability,
        translog_sync_interval_seconds=sync_seconds or defaults.translog_sync_interval_seconds,
        translog_retention_operations=retention_operations,
        merge_segments_per_tier=segments_per_tier, max_result_window=max_result_window,
        flush_threshold_bytes=flush_threshold_bytes, gc_deletes_seconds=gc_deletes_seconds)
