"""pytest plumbing of the YAML REST compat suite: the real node the files run against (node-core's
NodeFactory from tests/integration/conftest.py), and the run's summary printed at the end and
written to the run's temp dir (compat-summary.txt).

By default one node serves the whole suite and the runner wipes it after every test (indices,
scrolls, points in time, cluster settings), so each test starts from an empty cluster: a fresh
node per YAML file costs ~5 s of start-up each on this 2-core box, which alone would overrun the
suite's CI budget. Set QUIDDITCH_COMPAT_NODE_PER_FILE=1 for a fresh node per file.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPOSITORY_ROOT = HERE.parent.parent
COMPAT_TESTS_DIRECTORY = REPOSITORY_ROOT.parent / "shared" / "compat" / "elasticsearch-clients-tests" / "tests"
OUTCOMES_KEY = pytest.StashKey[list]()
SUMMARY_PATH_KEY = pytest.StashKey[Path]()


def load_module(name: str, path: Path):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def runner_module():
    return load_module("quidditch_compat_runner", HERE / "compat_runner.py")


@pytest.fixture(scope="session")
def compat_runner():
    """The YAML runner module (tests/compat/compat_runner.py), for tests of its own rules."""
    return runner_module()


def node_fixtures_module():
    return load_module("quidditch_integration_fixtures", REPOSITORY_ROOT / "tests" / "integration" / "conftest.py")


class NodePerFile:
    """Starts a fresh node when the YAML file changes; stops the previous one."""

    def __init__(self, base_directory: Path) -> None:
        self.factory = node_fixtures_module().NodeFactory(base_directory)
        self.current_file: str | None = None
        self.node = None

    def __init_subclass__(cls) -> None:
        raise TypeError("NodePerFile is not meant to be subclassed")

    def node_for(self, yaml_file: str):
        per_file = os.environ.get("QUIDDITCH_COMPAT_NODE_PER_FILE", "") not in ("", "0", "false")
        if self.node is None or (per_file and yaml_file != self.current_file):
            if self.node is not None:
                self.node.stop()
            safe = yaml_file.replace("/", "-").replace(".yml", "")
            self.node = self.factory.start_node(f"compat-{safe}", workers=1)
            self.current_file = yaml_file
        return self.node

    def close(self) -> None:
        self.factory.close()


@pytest.fixture(scope="session")
def compat_nodes(tmp_path_factory, request):
    base = tmp_path_factory.mktemp("compat")
    request.config.stash[SUMMARY_PATH_KEY] = base / "compat-summary.txt"
    nodes = NodePerFile(base)
    yield nodes
    nodes.close()


@pytest.fixture(scope="session")
def compat_outcomes(request):
    outcomes: list = []
    request.config.stash[OUTCOMES_KEY] = outcomes
    return outcomes


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    outcomes = config.stash.get(OUTCOMES_KEY, None)
    if not outcomes:
        return
    path = config.stash.get(SUMMARY_PATH_KEY, None) or Path("compat-summary.txt")
    text = runner_module().write_summary(outcomes, path)
    terminalreporter.write_sep("=", "YAML REST compat summary")
    terminalreporter.write(text)
    terminalreporter.write_line(f"(written to {path})")
