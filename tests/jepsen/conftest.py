"""jepsen-lite is a separate package directory with a dash in its name (jepsen-lite/jepsen_lite):
put it on sys.path so the tests import it exactly as the installed console script would."""

from __future__ import annotations

import sys
from pathlib import Path

JEPSEN_LITE_DIRECTORY = Path(__file__).resolve().parents[2] / "jepsen-lite"
if str(JEPSEN_LITE_DIRECTORY) not in sys.path:
    sys.path.insert(0, str(JEPSEN_LITE_DIRECTORY))


def pytest_configure(config):
    config.addinivalue_line("markers", "jepsen_cluster: runs real nodes under faults (minutes; deselect with "
                                       "-m 'not jepsen_cluster')")
