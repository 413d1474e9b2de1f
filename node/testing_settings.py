"""The ONE place test-only settings are read (from the environment, by explicit name only).

    QUIDDITCH_TEST_FAULTS_FILE=<path>                    the faults file of docs/testing.md:
        Raft messages and node-to-node frames are dropped/delayed/lost per directed link
    QUIDDITCH_TEST_UNSAFE_ACK_BEFORE_REPLICATION=1       a deliberately broken build: a primary
        acknowledges a write before its replicas confirm it (jepsen-lite must then fail)
    QUIDDITCH_TEST_DISK_USAGE_FILE=<path>                a JSON file standing in for the data
        directory's disk in what the node reports to the master (node/cluster/disk_usage.py)

Nothing here is active unless its variable is set. Every active setting is logged at WARNING at
start-up with the variable's name (jepsen-lite looks for that name in <data>/logs/node.log) and is
reported by ``reported_settings()``. This module must never be consulted for anything a user would
configure, and never turn a setting on by default.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

FAULTS_FILE_VARIABLE = "QUIDDITCH_TEST_FAULTS_FILE"
UNSAFE_ACK_VARIABLE = "QUIDDITCH_TEST_UNSAFE_ACK_BEFORE_REPLICATION"
DISK_USAGE_FILE_VARIABLE = "QUIDDITCH_TEST_DISK_USAGE_FILE"
_TRUE_WORDS = ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class TestingSettings:
    faults_file: Path | None = None
    unsafe_ack_before_replication: bool = False
    disk_usage_file: Path | None = None

    @property
    def any_active(self) -> bool:
        return self.faults_file is not None or self.unsafe_ack_before_replication or self.disk_usage_file is not None

    def reported_settings(self) -> dict[str, str]:
        """What GET /_nodes may show under "settings" (only the active ones)."""
        reported = {}
        if self.faults_file is not None:
            reported["quidditch.test.faults_file"] = str(self.faults_file)
        if self.unsafe_ack_before_replication:
            reported["quidditch.test.unsafe_ack_before_replication"] = "true"
        if self.disk_usage_file is not None:
            reported["quidditch.test.disk_usage_file"] = str(self.disk_usage_file)
        return reported


def read_testing_settings(environment: Mapping[str, str] | None = None) -> TestingSettings:
    environment = os.environ if environment is None else environment
    faults_file_text = environment.get(FAULTS_FILE_VARIABLE, "").strip()
    unsafe_text = environment.get(UNSAFE_ACK_VARIABLE, "").strip().lower()
    if unsafe_text and unsafe_text not in _TRUE_WORDS + ("0", "false", "no", "off"):
        raise ValueError(f"{UNSAFE_ACK_VARIABLE}: expected 1/true/yes/on or 0/false/no/off, got {unsafe_text!r}")
    disk_usage_text = environment.get(DISK_USAGE_FILE_VARIABLE, "").strip()
    return TestingSettings(faults_file=Path(faults_file_text) if faults_file_text else None,
                           unsafe_ack_before_replication=unsafe_text in _TRUE_WORDS,
                           disk_usage_file=Path(disk_usage_text) if disk_usage_text else None)


_current = TestingSettings()


def current() -> TestingSettings:
    """The settings this process started with (``activate`` sets them once at start-up)."""
    return _current


def activate(settings: TestingSettings, logger: logging.Logger | Any) -> None:
    """Make ``settings`` current for this process and log every active one loudly."""
    global _current
    _current = settings
    if settings.faults_file is not None:
        logger.warning(f"TEST-ONLY SETTING ACTIVE: {FAULTS_FILE_VARIABLE}={settings.faults_file} — Raft and "
                       f"transport traffic follow this faults file; never use this in production")
    if settings.disk_usage_file is not None:
        logger.warning(f"TEST-ONLY SETTING ACTIVE: {DISK_USAGE_FILE_VARIABLE}={settings.disk_usage_file} — the disk "
                       f"usage this node reports to the master comes from this file; never use this in production")
    if settings.unsafe_ack_before_replication:
        logger.warning(f"TEST-ONLY SETTING ACTIVE: {UNSAFE_ACK_VARIABLE}=1 — primaries acknowledge writes "
                       f"BEFORE replicas confirm them (deliberately unsafe); never use this in production")


def unsafe_ack_before_replication() -> bool:
    return _current.unsafe_ack_before_replication
