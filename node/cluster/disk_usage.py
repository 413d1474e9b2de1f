"""This node's data-directory disk, as the master's disk watermarks need it.

Owns ``data_directory_disk_usage`` (total and available bytes of the file system holding the data
directory, from ``os.statvfs``) and its wire form in ping answers. With the test-only setting
QUIDDITCH_TEST_DISK_USAGE_FILE (node/testing_settings.py) a JSON file — ``{"used_percent": 96}`` or
``{"total_bytes": ..., "available_bytes": ...}`` — read at every call stands in for the disk, so a
test can fill a node's disk and empty it again. It never decides anything (raft/deciders.py does).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from node import testing_settings
from raft.deciders import DiskUsage

SIMULATED_TOTAL_BYTES = 100 * 1024 ** 3


def data_directory_disk_usage(data_directory: Path) -> DiskUsage | None:
    """None when the file system cannot be read (the master then does not judge this node)."""
    override = testing_settings.current().disk_usage_file
    if override is not None:
        try:
            document = orjson.loads(override.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            document = None
        if isinstance(document, dict):
            if "used_percent" in document:
                used = float(document["used_percent"])
                return DiskUsage(SIMULATED_TOTAL_BYTES, int(SIMULATED_TOTAL_BYTES * (100.0 - used) / 100.0))
            return DiskUsage(int(document["total_bytes"]), int(document["available_bytes"]))
    try:
        figures = os.statvfs(data_directory)
    except OSError:
        return None
    return DiskUsage(figures.f_blocks * figures.f_frsize, figures.f_bavail * figures.f_frsize)


def disk_usage_to_wire(usage: DiskUsage | None) -> dict[str, int] | None:
    return None if usage is None else {"total_bytes": usage.total_bytes, "available_bytes": usage.available_bytes}


def disk_usage_from_wire(data: Any) -> DiskUsage | None:
    if not isinstance(data, dict):
        return None
    try:
        return DiskUsage(int(data["total_bytes"]), int(data["available_bytes"]))
    except (KeyError, TypeError, ValueError):
        return None
