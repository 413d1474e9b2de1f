"""The YAML REST conformance files as pytest tests: one test per YAML test, each against a fresh
node per file, verdicts (pass / fail / skip with its reason) collected into the run's summary.

Opt-in second suite: with QUIDDITCH_COMPAT_OPENSEARCH_DIR set to a folder of OpenSearch's own
rest-api-spec YAML files (kept outside the repository; docs/compat.md says how to fetch them),
those run too, as `opensearch/<file>::<test>`, with `skip: version:` ranges read against
QUIDDITCH_COMPAT_OPENSEARCH_VERSION (default 3.0.0)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.compat, pytest.mark.integration]

HERE = Path(__file__).resolve().parent
COMPAT_TESTS_DIRECTORY = HERE.parent.parent.parent / "shared" / "compat" / "elasticsearch-clients-tests" / "tests"


def _runner_module():
    name = "quidditch_compat_runner"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "compat_runner.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _collected_tests():
    if not COMPAT_TESTS_DIRECTORY.is_dir():
        return [pytest.param(None, id="suite-absent", marks=pytest.mark.skip(
            reason=f"the YAML REST test files are not at {COMPAT_TESTS_DIRECTORY}"))]
    return [pytest.param(test, id=test.test_id) for test in _runner_module().load_tests(COMPAT_TESTS_DIRECTORY)]


def _opensearch_tests():
    directory = os.environ.get("QUIDDITCH_COMPAT_OPENSEARCH_DIR")
    if not directory:
        return []
    return [pytest.param(test, id=f"opensearch/{test.test_id}")
            for test in _runner_module().load_tests(Path(directory))]


@pytest.mark.parametrize("yaml_test", _collected_tests() + _opensearch_tests())
def test_yaml_rest_conformance(yaml_test, compat_nodes, compat_outcomes):
    runner_module = _runner_module()
    node = compat_nodes.node_for(yaml_test.file)
    opensearch_directory = os.environ.get("QUIDDITCH_COMPAT_OPENSEARCH_DIR")
    from_opensearch = bool(opensearch_directory) and (Path(opensearch_directory) / yaml_test.file).is_file() and \
        not (COMPAT_TESTS_DIRECTORY / yaml_test.file).is_file()
    skip_version = os.environ.get("QUIDDITCH_COMPAT_OPENSEARCH_VERSION", "3.0.0") if from_opensearch else None
    outcome = runner_module.Runner(node.base_url, skip_version=skip_version).run_test(yaml_test)
    compat_outcomes.append(outcome)
    if outcome.verdict == "skip":
        pytest.skip(outcome.reason)
    assert outcome.verdict == "pass", outcome.reason
