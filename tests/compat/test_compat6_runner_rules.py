"""The runner's rules added in session 6 (no node), as OpenSearch's Java YAML runner reads them:
`is_true`/`is_false` take 0, "0", "" and "false" (any case) as false; a `catch: /regex/` also
matches the parsed error as Java's toString shows it (quotes unescaped)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("value", [0, "0", "", "false", "FALSE", False, None])
def test_is_false_holds_for_what_java_reads_as_false(value, compat_runner):
    runner = compat_runner
    instance = runner.Runner("http://unused")
    instance.last = runner.Response(200, {"deleted": value}, "")
    instance.run_step({"is_false": "deleted"})
    with pytest.raises(runner.StepFailure):
        instance.run_step({"is_true": "deleted"})


@pytest.mark.parametrize("value", [1, 0.0, "no", {}, [], True])
def test_is_true_holds_for_everything_else(value, compat_runner):
    runner = compat_runner
    instance = runner.Runner("http://unused")
    instance.last = runner.Response(200, {"field": value}, "")
    instance.run_step({"is_true": "field"})


def test_a_catch_regex_matches_the_error_as_java_prints_it(compat_runner):
    runner = compat_runner
    body = {"error": {"root_cause": [{"type": "illegal_argument_exception",
                                      "reason": "[slices] must be a positive integer or the string \"auto\""}]},
            "status": 400}
    response = runner.Response(400, body, '{"error":{"reason":"[slices] must be ... the string \\"auto\\""}}')
    assert runner._java_to_string(body["error"]) == ("{root_cause=[{type=illegal_argument_exception, "
                                                     "reason=[slices] must be a positive integer or the string "
                                                     "\"auto\"}]}")
    runner.Runner("http://unused")._check_catch('/must be a positive integer or the string "auto"/', response,
                                                "delete_by_query")
    with pytest.raises(runner.StepFailure):
        runner.Runner("http://unused")._check_catch("/something else/", response, "delete_by_query")
