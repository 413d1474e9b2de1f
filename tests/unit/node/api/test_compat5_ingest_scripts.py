"""Ingest pipelines with painless: the script processor on ctx (source fields and metadata), `if`
conditions on any processor (false skips it, verbose traces say so), params, and runtime failures
that on_failure and ignore_failure handle like any processor's."""

from __future__ import annotations

import pytest

from node.api.ingest_processors import IngestDocument, compile_pipeline
from node.errors import ApiError


def _run(processors, source, metadata=None):
    document = IngestDocument(source, metadata or {"_index": "idx", "_id": "1"})
    compile_pipeline("p", {"processors": processors}).execute(document)
    return document


def test_a_script_processor_changes_source_fields_through_ctx():
    document = _run([{"script": {"source": "ctx.total = ctx.a + params.b; ctx.remove('a')",
                                 "params": {"b": 2}}}], {"a": 1, "keep": "x"})
    assert document.source == {"keep": "x", "total": 3}


def test_a_script_processor_reads_and_changes_metadata():
    document = _run([{"script": {"source": "ctx.seen = ctx._index; ctx._index = 'other'"}}], {})
    assert document.source == {"seen": "idx"} and document.metadata["_index"] == "other"


def test_an_if_condition_skips_the_processor_when_false():
    processors = [{"set": {"field": "flag", "value": True, "if": "ctx.level == 'error'"}},
                  {"uppercase": {"field": "level", "if": {"source": "ctx.level.length() > params.n",
                                                          "params": {"n": 3}}}}]
    assert _run(processors, {"level": "error"}).source == {"level": "ERROR", "flag": True}
    assert _run(processors, {"level": "ok"}).source == {"level": "ok"}


def test_an_if_condition_cannot_change_the_document():
    document = _run([{"set": {"field": "x", "value": 1, "if": "ctx.nested.put('changed', true); true"}}],
                    {"nested": {}})
    assert document.source == {"nested": {}, "x": 1}


def test_an_if_condition_that_is_not_a_boolean_fails_the_document():
    with pytest.raises(ApiError) as raised:
        _run([{"set": {"field": "x", "value": 1, "if": "ctx.a"}}], {"a": 5})
    assert "must return a boolean" in str(raised.value)


def test_a_failing_script_is_a_script_exception_that_on_failure_handles():
    with pytest.raises(ApiError) as raised:
        _run([{"script": {"source": "ctx.missing.length()"}}], {})
    assert raised.value.opensearch_type == "script_exception" and raised.value.reason == "runtime error"
    document = _run([{"script": {"source": "ctx.missing.length()",
                                 "on_failure": [{"set": {"field": "failed", "value": True}}]}}], {})
    assert document.source == {"failed": True}
    assert _run([{"script": {"source": "ctx.missing.length()", "ignore_failure": True}}], {"a": 1}).source == {"a": 1}


def test_verbose_traces_mark_a_skipped_processor():
    document = IngestDocument({"a": 1}, {"_index": "idx", "_id": "1"})
    document.trace = []
    compile_pipeline("p", {"processors": [{"set": {"tag": "t", "field": "b", "value": 2, "if": "ctx.a == 2"}}]}
                     ).execute(document)
    assert document.trace == [{"processor_type": "set", "status": "skipped", "tag": "t"}]


def test_another_script_language_or_a_stored_script_is_refused_at_put_time():
    for script in ({"source": "x", "lang": "mustache"}, {"id": "stored"}):
        with pytest.raises(ApiError) as raised:
            compile_pipeline("p", {"processors": [{"script": script}]})
        assert raised.value.status == 400 and raised.value.opensearch_type == "parse_exception"


async def test_a_pipeline_with_a_script_runs_on_index_requests(api_node):
    status, _ = await api_node.request("PUT", "/_ingest/pipeline/scripted", {"processors": [
        {"script": {"source": "ctx.words = ctx.title.matches('a.*')"}}]})
    assert status == 400     # String.matches is outside the subset: refused when stored
    status, _ = await api_node.request("PUT", "/_ingest/pipeline/scripted", {"processors": [
        {"script": {"source": "ctx.words = ctx.title.splitOnToken(' ').length"}},
        {"set": {"field": "long", "value": True, "if": "ctx.words > 2"}}]})
    assert status == 200
    await api_node.request("PUT", "/docs", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    status, _ = await api_node.request("PUT", "/docs/_doc/1?pipeline=scripted", {"title": "a b c"})
    assert status == 201
    _, body = await api_node.request("GET", "/docs/_doc/1")
    assert body["_source"] == {"title": "a b c", "words": 3, "long": True}


def test_scripts_call_the_ingest_processors_functions():
    # OpenSearch's ingest-common 190_script_processor.yml
    for source, given, expected in (
            ("ctx.target_field = Processors.bytes(ctx.source_field)", "1kb", 1024),
            ("ctx.target_field = Processors.lowercase(ctx.source_field)", "FooBar", "foobar"),
            ("ctx.target_field = Processors.uppercase(ctx.source_field)", "FooBar", "FOOBAR"),
            ("ctx.target_field = Processors.json(ctx.source_field)", '{"foo":"bar"}', {"foo": "bar"}),
            ("ctx.target_field = Processors.urlDecode(ctx.source_field)", "foo%20bar", "foo bar")):
        document = _run([{"script": {"lang": "painless", "source": source}}], {"source_field": given})
        assert document.source == {"source_field": given, "target_field": expected}, source
    document = _run([{"script": {"source": "Processors.json(ctx, 'source_field')"}}], {"source_field": '{"foo":"bar"}'})
    assert document.source == {"source_field": '{"foo":"bar"}', "foo": "bar"}


def test_a_self_referencing_ctx_fails_and_an_ignored_failure_leaves_the_document_unchanged():
    processors = [{"script": {"source": "ctx.foo['foo']=ctx.foo;ctx['test-field']='test-value'",
                              "ignore_failure": True}},
                  {"script": {"source": "ctx.target_field = Processors.uppercase(ctx.source_field)"}}]
    document = _run(processors, {"source_field": "fooBar", "foo": {"foo": "bar"}})
    assert document.source == {"source_field": "fooBar", "foo": {"foo": "bar"}, "target_field": "FOOBAR"}
    del processors[0]["script"]["ignore_failure"]
    with pytest.raises(ApiError) as raised:
        _run(processors, {"source_field": "fooBar", "foo": {"foo": "bar"}})
    assert raised.value.opensearch_type == "illegal_argument_exception"
    assert str(raised.value) == "Iterable object is self-referencing itself (ingest script)"
