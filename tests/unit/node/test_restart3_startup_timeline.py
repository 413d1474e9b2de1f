"""node/server.py's start-up timeline: each step is recorded once, in seconds since the process
was launched (so the interpreter's start and imports count), and logged as it happens."""

import logging
import subprocess
import sys

from node.server import StartupTimeline, seconds_since_process_start


def test_a_process_knows_how_long_ago_it_was_launched():
    probe = "import time; time.sleep(0.3); from node.server import seconds_since_process_start as s; print(s())"
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert float(completed.stdout) >= 0.3


def test_steps_are_kept_once_in_order_and_logged(caplog):
    timeline = StartupTimeline()
    with caplog.at_level(logging.INFO):
        timeline.mark("imported", logging.getLogger("test.timeline"))
        timeline.mark("listening", logging.getLogger("test.timeline"))
        first_listening = timeline.as_fields()["listening"]
        timeline.mark("listening", logging.getLogger("test.timeline"))
    steps = timeline.as_fields()
    assert list(steps) == ["imported", "listening"]
    assert steps["listening"] == first_listening  # a repeated step keeps its first time
    assert 0 <= steps["imported"] <= steps["listening"]
    assert seconds_since_process_start() is None or steps["imported"] <= seconds_since_process_start() + 0.01
    assert [record.getMessage() for record in caplog.records].count("start-up step") == 3
