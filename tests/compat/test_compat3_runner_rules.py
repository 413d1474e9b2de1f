"""The runner's own rules (no node): `skip: version:` ranges, `_arbitrary_key_` paths, null
arguments, and `match: {x: null}` holding for a missing key (a missing key is null), as OpenSearch's
Java YAML runner reads them."""

from __future__ import annotations

import pytest


def test_version_ranges_are_open_at_an_empty_end_and_all_matches_everything(compat_runner):
    runner = compat_runner
    assert runner.version_in_ranges("3.0.0", " - 2.99.99") is False
    assert runner.version_in_ranges("2.5.0", " - 2.99.99") is True
    assert runner.version_in_ranges("3.0.0", "3.0.0 - ") is True
    assert runner.version_in_ranges("3.0.0", " - 7.7.99 , 2.0.0 - ") is True
    assert runner.version_in_ranges("1.5.0", "all") is True


def test_a_skip_by_version_is_read_only_when_the_runner_has_a_version(compat_runner):
    runner = compat_runner
    step = {"skip": {"version": " - 2.99.99", "reason": "old"}}
    runner.Runner("http://unused").run_step(step)  # no version: not skipped
    try:
        runner.Runner("http://unused", skip_version="2.0.0").run_step(step)
    except runner.SkipTest as skipped:
        assert "2.0.0" in str(skipped)
    else:
        raise AssertionError("a version inside the range must skip")


def test_an_arbitrary_key_path_reads_any_key_of_the_object(compat_runner):
    runner = compat_runner
    instance = runner.Runner("http://unused")
    instance.last = runner.Response(200, {"nodes": {"abc": {"roles": ["data"]}}}, "")
    assert instance.value_at("nodes._arbitrary_key_") == "abc"


def test_matching_null_passes_for_a_missing_key_and_fails_for_a_present_one(compat_runner):
    runner = compat_runner
    instance = runner.Runner("http://unused")
    instance.last = runner.Response(200, {"settings": {"a": "1"}}, "")
    instance.match({"settings.b": None})
    with pytest.raises(runner.StepFailure):
        instance.match({"settings.a": None})
    with pytest.raises(runner.StepFailure):
        instance.match({"settings.b": "1"})


def test_conform7_legacy_elasticsearch_versions_sort_below_every_opensearch_version(compat_runner):
    # OpenSearch's Version masks its own ids, so 6.x/7.x ranges never cover an OpenSearch release
    runner = compat_runner
    assert runner.version_in_ranges("3.0.0", " - 6.9.99") is False
    assert runner.version_in_ranges("3.0.0", " - 7.10.99") is False
    assert runner.version_in_ranges("1.0.0", "7.0.0 - ") is True
    assert runner.version_in_ranges("2.19.0", " - 2.99.99") is True
