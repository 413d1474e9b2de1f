"""The ingest pipeline engine: OpenSearch's script-free processors on one document, the common
options (ignore_failure, on_failure, tag), templates, and the PUT-time refusals with its wording."""

from __future__ import annotations

import pytest

from node.api.ingest_processors import DocumentDropped, IngestDocument, compile_pipeline
from node.errors import ApiError


def _run(processors, source, lookup=None, **metadata):
    document = IngestDocument(source, {"_index": "idx", "_id": "1", **metadata}, timestamp="2024-01-01T00:00:00Z")
    compile_pipeline("p", {"processors": processors}, lookup).execute(document)
    return document


def test_set_remove_rename_and_case_processors_change_the_source():
    document = _run([{"set": {"field": "a.b", "value": "{{name}}-x"}}, {"remove": {"field": "drop_me"}},
                     {"rename": {"field": "old", "target_field": "new"}}, {"lowercase": {"field": "upper"}},
                     {"uppercase": {"field": "lower"}}, {"trim": {"field": "padded"}}],
                    {"name": "n", "drop_me": 1, "old": 2, "upper": "ABC", "lower": "abc", "padded": "  p "})
    assert document.source == {"name": "n", "a": {"b": "n-x"}, "new": 2, "upper": "abc", "lower": "ABC",
                               "padded": "p"}


def test_split_join_convert_gsub_append_json_and_bytes():
    document = _run([{"split": {"field": "csv", "separator": ","}}, {"join": {"field": "parts", "separator": "-"}},
                     {"convert": {"field": "number", "type": "integer"}}, {"convert": {"field": "flag", "type": "boolean"}},
                     {"gsub": {"field": "dashed", "pattern": "-", "replacement": "."}},
                     {"append": {"field": "tags", "value": ["b", "{{name}}"]}}, {"json": {"field": "raw"}},
                     {"bytes": {"field": "size", "target_field": "size_in_bytes"}}],
                    {"csv": "a,b,c", "parts": ["x", "y"], "number": "42", "flag": "TRUE", "dashed": "1-2-3",
                     "tags": "a", "name": "n", "raw": '{"k": [1, 2]}', "size": "1kb"})
    assert document.source["csv"] == ["a", "b", "c"] and document.source["parts"] == "x-y"
    assert document.source["number"] == 42 and document.source["flag"] is True
    assert document.source["dashed"] == "1.2.3" and document.source["tags"] == ["a", "b", "n"]
    assert document.source["raw"] == {"k": [1, 2]} and document.source["size_in_bytes"] == 1024


def test_date_processor_writes_the_timestamp_in_opensearchs_default_output_format():
    document = _run([{"date": {"field": "when", "formats": ["yyyy-MM-dd"]}}], {"when": "2016-06-12"})
    assert document.source["@timestamp"] == "2016-06-12T00:00:00.000Z"


def test_a_missing_field_fails_with_opensearchs_message_unless_ignored():
    with pytest.raises(ApiError) as raised:
        _run([{"lowercase": {"field": "absent"}}], {})
    assert str(raised.value) == "field [absent] not present as part of path [absent]"
    assert _run([{"lowercase": {"field": "absent", "ignore_missing": True}}], {}).source == {}
    assert _run([{"lowercase": {"field": "absent", "ignore_failure": True}}], {}).source == {}


def test_on_failure_sees_the_failure_message_and_processor():
    document = _run([{"convert": {"field": "n", "type": "integer", "tag": "conv", "on_failure": [
        {"set": {"field": "why", "value": "{{_ingest.on_failure_message}} in {{_ingest.on_failure_processor_type}}"}}]}}],
        {"n": "abc"})
    assert document.source["why"] == "unable to convert [abc] to integer in convert"


def test_metadata_fields_can_be_read_and_changed():
    document = _run([{"set": {"field": "_id", "value": "new-{{_id}}"}}, {"set": {"field": "from", "value": "{{_index}}"}}],
                    {})
    assert document.metadata["_id"] == "new-1" and document.source["from"] == "idx"


def test_drop_and_fail_processors():
    with pytest.raises(DocumentDropped):
        _run([{"drop": {}}], {})
    with pytest.raises(ApiError) as raised:
        _run([{"fail": {"message": "bad {{x}}"}}], {"x": 1})
    assert str(raised.value) == "bad 1" and raised.value.opensearch_type == "fail_processor_exception"


def test_the_pipeline_processor_runs_another_pipeline_and_detects_cycles():
    inner = compile_pipeline("inner", {"processors": [{"set": {"field": "inner", "value": True}}]})
    assert _run([{"pipeline": {"name": "inner"}}], {}, lookup={"inner": inner}.get).source == {"inner": True}
    pipelines = {}
    pipelines["loop"] = compile_pipeline("loop", {"processors": [{"pipeline": {"name": "loop"}}]}, pipelines.get)
    with pytest.raises(ApiError) as raised:
        pipelines["loop"].execute(IngestDocument({}, {}))
    assert "Cycle detected for pipeline: loop" in str(raised.value)


def test_foreach_runs_its_processor_on_every_element():
    document = _run([{"foreach": {"field": "values", "processor": {"uppercase": {"field": "_ingest._value"}}}}],
                    {"values": ["a", "b"]})
    assert document.source["values"] == ["A", "B"]


@pytest.mark.parametrize(("definition", "reason"), [
    ({}, "[processors] required property is missing"),
    ({"processors": [{"frobnicate": {}}]}, "No processor type exists with name [frobnicate]"),
    ({"processors": [{"set": {"value": 1}}]}, "[field] required property is missing"),
    ({"processors": [{"set": {"field": "a", "value": 1, "bogus": 2}}]},
     "processor [set] doesn't support one or more provided configuration parameters [bogus]"),
])
def test_definitions_opensearch_refuses_are_parse_exceptions(definition, reason):
    with pytest.raises(ApiError) as raised:
        compile_pipeline("p", definition)
    assert raised.value.status == 400 and raised.value.opensearch_type == "parse_exception"
    assert str(raised.value) == reason


def test_scripts_and_if_conditions_that_do_not_compile_are_refused_clearly():
    # scripts run since session 5 (tests/unit/node/api/test_compat5_ingest_scripts.py); a broken one
    # is refused when the pipeline is stored
    for definition in ({"processors": [{"script": {"source": "ctx.a = "}}]},
                       {"processors": [{"set": {"field": "a", "value": 1, "if": "ctx.b != nothing"}}]}):
        with pytest.raises(ApiError) as raised:
            compile_pipeline("p", definition)
        assert raised.value.status == 400 and str(raised.value) == "compile error"
        assert raised.value.extra["caused_by"]["type"] == "script_exception"


def _verbose(processors, source, lookup=None):
    document = IngestDocument(source, {"_index": "idx", "_id": "1"})
    document.trace = []
    try:
        compile_pipeline("p", {"processors": processors}, lookup).execute(document)
    except ApiError:
        pass
    return document.trace


def test_verbose_traces_record_on_failure_handlers_after_the_failed_processor():
    trace = _verbose([{"rename": {"tag": "r", "field": "missing", "target_field": "x",
                                  "on_failure": [{"set": {"field": "handled", "value": True}}]}}], {})
    assert [(entry["processor_type"], entry["status"]) for entry in trace] == [("rename", "error"), ("set", "success")]
    assert trace[0]["error"]["reason"] == "field [missing] doesn't exist"
    assert trace[1]["doc"]["_ingest"]["on_failure_processor_tag"] == "r"
    assert trace[1]["doc"]["_ingest"]["pipeline"] == "p"


def test_ignore_failure_wins_over_on_failure_and_is_traced_as_error_ignored():
    trace = _verbose([{"rename": {"field": "missing", "target_field": "x", "ignore_failure": True,
                                  "on_failure": [{"set": {"field": "handled", "value": True}}]}}], {})
    assert len(trace) == 1 and trace[0]["status"] == "error_ignored"
    assert trace[0]["ignored_error"]["error"]["type"] == "illegal_argument_exception"
    assert "handled" not in trace[0]["doc"]["_source"]


def test_a_pipeline_processor_is_traced_before_what_its_pipeline_ran_and_cycles_once():
    pipelines = {"inner": compile_pipeline("inner", {"processors": [{"set": {"field": "i", "value": 1}}]})}
    trace = _verbose([{"pipeline": {"name": "inner"}}], {}, pipelines.get)
    assert [(entry["processor_type"], entry.get("doc", "absent") is None) for entry in trace] == [
        ("pipeline", True), ("set", False)]
    pipelines["a"] = compile_pipeline("a", {"processors": [{"pipeline": {"name": "b"}}]}, pipelines.get)
    pipelines["b"] = compile_pipeline("b", {"processors": [{"pipeline": {"name": "a"}}]}, pipelines.get)
    trace = _verbose([{"pipeline": {"name": "a"}}], {}, pipelines.get)
    assert len(trace) == 1 and trace[0]["error"]["reason"] == "Cycle detected for pipeline: a"


def test_kv_splits_pairs_into_fields_and_dissect_splits_on_delimiters():
    document = _run([{"kv": {"field": "kv", "field_split": "&", "value_split": "=", "target_field": "params"}},
                     {"dissect": {"field": "line", "pattern": "[%{level}] %{+who} %{+who} %{?skip}: %{message}",
                                  "append_separator": " "}}],
                    {"kv": "a=1&b=2", "line": "[warn] ann lee x: disk full"})
    assert document.source["params"] == {"a": "1", "b": "2"}
    assert document.source["level"] == "warn" and document.source["who"] == "ann lee"
    assert document.source["message"] == "disk full" and "skip" not in document.source
    with pytest.raises(ApiError) as raised:
        _run([{"dissect": {"field": "line", "pattern": "%{a},%{b}"}}], {"line": "no commas"})
    assert str(raised.value) == "Unable to find match for dissect pattern: %{a},%{b} against source: no commas"


def test_the_running_pipeline_is_visible_as_ingest_pipeline():
    assert _run([{"set": {"field": "by", "value": "{{_ingest.pipeline}}"}}], {}).source == {"by": "p"}


def test_csv_splits_a_quoted_line_into_its_target_fields():
    document = _run([{"csv": {"field": "line", "target_fields": ["a", "b", "c", "d"], "trim": True,
                              "empty_value": "none"}}], {"line": 'x, "y, z" ,,w'})
    assert {key: document.source[key] for key in "abcd"} == {"a": "x", "b": "y, z", "c": "none", "d": "w"}


def test_grok_sets_the_named_captures_of_the_first_matching_pattern():
    line = '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "-" "Mozilla/4.08"'
    document = _run([{"grok": {"field": "message", "patterns": ["%{NUMBER:n:int} nothing", "%{COMBINEDAPACHELOG}"]}}],
                    {"message": line})
    assert document.source["clientip"] == "127.0.0.1" and document.source["verb"] == "GET"
    assert document.source["response"] == "200" and document.source["agent"] == '"Mozilla/4.08"'
    document = _run([{"grok": {"field": "m", "patterns": ["%{IP:client} %{NUMBER:bytes:int} %{MY:word}"],
                               "pattern_definitions": {"MY": "[a-z]+"}}}], {"m": "fe80::1 15824 hello"})
    assert (document.source["client"], document.source["bytes"], document.source["word"]) == ("fe80::1", 15824, "hello")
    with pytest.raises(ApiError) as raised:
        _run([{"grok": {"field": "m", "patterns": ["%{INT:i}"]}}], {"m": "no digits"})
    assert str(raised.value) == "Provided Grok expressions do not match field value: [no digits]"
    with pytest.raises(ApiError) as raised:
        compile_pipeline("p", {"processors": [{"grok": {"field": "m", "patterns": ["%{NOPE:x}"]}}]})
    assert str(raised.value) == "Unable to find pattern [NOPE] in Grok's pattern dictionary"


def test_remove_by_pattern_removes_matching_or_all_but_excluded_top_level_fields():
    assert _run([{"remove_by_pattern": {"field_pattern": "foo*"}}], {"foo1": 1, "foo2": 2, "zoo": 3}).source == {"zoo": 3}
    assert _run([{"remove_by_pattern": {"exclude_field_pattern": ["foo*"]}}], {"foo1": 1, "zoo": 3}).source == {"foo1": 1}
    with pytest.raises(ApiError):
        compile_pipeline("p", {"processors": [{"remove_by_pattern": {}}]})


def test_date_index_name_routes_the_document_to_the_index_of_its_rounded_date():
    document = _run([{"date_index_name": {"field": "date", "index_name_prefix": "events-", "date_rounding": "M"}}],
                    {"date": "2016-04-25T12:24:17.000Z"})
    assert document.metadata["_index"] == "events-2016-04-01"
    document = _run([{"date_index_name": {"field": "date", "date_rounding": "y", "index_name_format": "yyyy",
                                          "date_formats": ["UNIX_MS"]}}], {"date": 1461587057000})
    assert document.metadata["_index"] == "2016"
