"""jepsen-lite is a separate package directory with a dash in its name (jepsen-lite/jepsen_lite):
put it on sys.path so the tests import it exactly as the installed console script would."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

JEPSEN_LITE_DIRECTORY = Path(__file__).resolve().parents[2] / "jepsen-lite"
if str(JEPSEN_LITE_DIRECTORY) not in sys.path:
    sys.path.insert(0, str(JEPSEN_LITE_DIRECTORY))


def pytest_configure(config):
    config.addinivalue_line("markers", "jepsen_cluster: runs real nodes under faults (minutes; deselect with "
                                       "-m 'not jepsen_cluster')")


@pytest.fixture
def kept_run_directory(request):
    """A run directory outside pytest's tmp_path (which concurrent pytest runs prune): removed
    when the test passes, kept — and its path printed — when it fails."""
    root = Path(os.environ.get("JEPSEN_LITE_RUNS", Path(tempfile.gettempdir()) / "jepsen-lite-runs"))
    directory = root / f"{request.node.name[:40]}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    yield directory
    report = getattr(request.node, "jepsen_call_report", None)
    # an expected failure (xfail: an open anomaly) keeps its directory: it is evidence
    if report is not None and (report.passed or (report.skipped and not hasattr(report, "wasxfail"))):
        shutil.rmtree(directory, ignore_errors=True)
    else:
        print(f"\njepsen-lite run directory kept: {directory}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.jepsen_call_report = report
