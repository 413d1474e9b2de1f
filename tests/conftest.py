"""Test-wide settings: hypothesis profiles and the per-part time budgets of the CI run.

Tests mirror the source tree under tests/unit/; tests/property/ holds hypothesis suites,
tests/integration/ starts real node processes, tests/compat/ runs the YAML REST suite.
CI has 2 cores and a 90-minute limit; the whole run must stay under 25 minutes, so each part has
a budget that the terminal summary reports (and flags when it is overrun).
"""

from __future__ import annotations

import collections
import os
from pathlib import Path

import hypothesis
import pytest

hypothesis.settings.register_profile("ci", max_examples=100, deadline=None, print_blob=True)
hypothesis.settings.register_profile("dev", max_examples=30, deadline=None, print_blob=True)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TESTS_ROOT = Path(__file__).resolve().parent


class ManualClock:
    """A clock (index/'s shards, node/'s search idle) that stands still until the test sets ``now``."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()

# Seconds each part of the suite may take on CI's 2 cores (the sum stays under 25 minutes).
PART_BUDGET_SECONDS = {
    "unit": 240,
    "property": 240,
    "scenarios": 60,
    "integration": 540,
    "compat": 60,
    "jepsen": 300,
    "other": 45,
}

_seconds_by_part: collections.Counter[str] = collections.Counter()


def _part_of(nodeid: str) -> str:
    first = nodeid.split("/", 1)[0] if "/" in nodeid else "other"
    if first == "tests":
        rest = nodeid.split("/")
        first = rest[1] if len(rest) > 2 else "other"
    return first if first in PART_BUDGET_SECONDS else "other"


def pytest_runtest_logreport(report):
    _seconds_by_part[_part_of(report.nodeid)] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _seconds_by_part:
        return
    terminalreporter.section("time budget per part (seconds used / budget)")
    for part, budget in PART_BUDGET_SECONDS.items():
        used = _seconds_by_part.get(part, 0.0)
        if used == 0.0:
            continue
        flag = "  OVER BUDGET" if used > budget else ""
        terminalreporter.write_line(f"{part:12s} {used:8.1f} / {budget:5d}{flag}")
