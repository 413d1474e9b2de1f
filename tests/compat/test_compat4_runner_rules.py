"""The runner's match rule for null, as OpenSearch's Java YAML runner reads it: a missing key is
null, so `match: {x: null}` holds when x is absent, and a present value still fails it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _runner():
    name = "quidditch_compat_runner"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "compat_runner.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_matching_null_passes_for_a_missing_key_and_fails_for_a_present_one():
    runner = _runner()
    instance = runner.Runner("http://unused")
    instance.last = runner.Response(200, {"settings": {"a": "1"}}, "")
    instance.match({"settings.b": None})
    with pytest.raises(runner.StepFailure):
        instance.match({"settings.a": None})
    with pytest.raises(runner.StepFailure):
        instance.match({"settings.b": "1"})
