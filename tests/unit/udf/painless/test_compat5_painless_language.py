"""The Painless subset as a language: what common update, ingest and reindex scripts use runs as
Painless runs it, and what lies outside the subset is a compile error at its offset."""

from __future__ import annotations

import math

import pytest

from udf.painless import (
    DEFAULT_MAX_SCRIPT_SIZE_BYTES, DocFields, MAXIMUM_NESTING_DEPTH, ScriptCompileError, ScriptRuntimeError,
    cache_statistics, compile_script, script_exception_fields,
)

NAMES = frozenset({"ctx", "params", "doc"})


def run(source, ctx=None, params=None, doc=None, **budget):
    script = compile_script(source, NAMES)
    return script.execute({"ctx": ctx if ctx is not None else {}, "params": params or {},
                           "doc": doc if doc is not None else DocFields(lambda name: None)}, **budget)


def test_source_fields_are_read_and_written_by_dot_and_bracket():
    ctx = {"_source": {"a": 1, "b": {"c": "x"}}}
    run("ctx._source.a += 2; ctx._source['d'] = ctx._source.b.c + '!'; ctx._source.b['c'] = null", ctx)
    assert ctx["_source"] == {"a": 3, "b": {"c": None}, "d": "x!"}


def test_the_last_expression_is_the_scripts_value():
    assert run("params.x == 1", params={"x": 1}) is True
    assert run("def a = 2; a * 3") == 6


def test_java_integer_division_and_remainder_truncate_toward_zero():
    assert run("-7 / 2") == -3
    assert run("-7 % 3") == -1
    assert run("7 / 2.0") == 3.5


def test_integer_division_by_zero_is_an_arithmetic_exception_and_a_double_one_is_infinity():
    with pytest.raises(ScriptRuntimeError) as caught:
        run("1 / 0")
    assert caught.value.cause_type == "arithmetic_exception"
    assert run("1.0 / 0") == math.inf


def test_string_concatenation_renders_java_values():
    assert run("'a' + 1 + 2.0 + null + true") == "a12.0nulltrue"


def test_null_safe_access_and_elvis():
    assert run("ctx?.missing?.length()", {"x": 1}) is None
    assert run("params.name ?: 'anonymous'") == "anonymous"


def test_a_null_dereference_is_a_null_pointer_exception_at_its_offset():
    with pytest.raises(ScriptRuntimeError) as caught:
        run("def x = params.missing; x.length()")
    assert caught.value.cause_type == "null_pointer_exception"
    assert caught.value.offset == len("def x = params.missing; x")    # at the dot, as Painless


def test_control_flow_loops_and_early_return():
    source = """
        int total = 0;
        for (int i = 0; i < 10; i++) { if (i % 2 == 0) { continue; } total += i; if (total > 10) break; }
        def words = [];
        for (def word : params.words) { words.add(word.toUpperCase()); }
        for (w in params.words) { total++ }
        int n = 0; while (n < 3) { n++; }
        do { n--; } while (n > 0);
        if (total > 100) { return 'big' } else if (total > 0) { return words + ':' + total + ':' + n }
        return 'none'
    """
    assert run(source, params={"words": ["a", "b"]}) == "[A, B]:18:0"


def test_list_methods():
    ctx = {"_source": {"tags": ["a", "b", "c"]}}
    result = run("""
        def tags = ctx._source.tags;
        tags.add('d'); tags.remove(0); tags.removeIf(t -> t == 'c');
        [tags.size(), tags.contains('b'), tags.isEmpty(), tags.indexOf('d'), tags.get(1), tags[-1]]
    """, ctx)
    assert result == [2, True, False, 1, "d", "d"]
    assert ctx["_source"]["tags"] == ["b", "d"]


def test_map_methods_and_literals():
    result = run("""
        def m = ['a': 1, 'b': 2]; m.put('c', 3); m.remove('a');
        Map empty = [:]; def copy = new HashMap(m); copy.x = 9;
        [m.containsKey('b'), m.get('c'), m.size(), empty.isEmpty(), m.getOrDefault('z', 0), copy.x, m.x]
    """)
    assert result == [True, 3, 2, True, 0, 9, None]


def test_string_methods():
    result = run("""
        String s = '  Hello, World  '.trim();
        [s.length(), s.substring(7), s.substring(0, 5), s.contains('World'), s.startsWith('He'),
         s.endsWith('d'), s.toLowerCase(), s.toUpperCase(), s.indexOf('o'), s.replace('l', 'L'),
         'a,b,,c,,'.split(','), s.charAt(0)]
    """)
    assert result == [12, "World", "Hello", True, True, True, "hello, world", "HELLO, WORLD", 4,
                      "HeLLo, WorLd", ["a", "b", "", "c"], "H"]


def test_math_and_casts():
    assert run("Math.max(3, 7) + Math.min(1.5, 2) + Math.abs(-2)") == 10.5
    assert run("Math.sqrt(16) + Math.pow(2, 3) + Math.floor(2.7) + Math.round(2.5)") == 17.0
    assert run("(int) 7.9 + (long) -7.9") == 0
    assert run("(double) 3 / 2") == 1.5
    assert run("int x = 5; double y = x; y") == 5.0


def test_ternary_boolean_operators_and_comparisons():
    assert run("params.a > 1 && !(params.b <= 0) || false ? 'yes' : 'no'", params={"a": 2, "b": 1}) == "yes"
    assert run("1 == 1.0 && 'a' != 'b' && null == null && 1 != null") is True


def test_conditions_must_be_booleans():
    with pytest.raises(ScriptRuntimeError) as caught:
        run("if (params.x) { 1 }", params={"x": 1})
    assert caught.value.cause_type == "class_cast_exception"


def test_doc_values_give_value_size_and_empty():
    values = {"price": [10.0], "tags": ["a", "b"], "none": []}
    doc = DocFields(lambda name: values.get(name))
    assert run("doc['price'].value * 2 + doc['tags'].size() + (doc['none'].empty ? 1 : 0)", doc=doc) == 23.0
    with pytest.raises(ScriptRuntimeError) as caught:
        run("doc['none'].value", doc=doc)
    assert "doesn't have a value" in caught.value.reason
    with pytest.raises(ScriptRuntimeError) as caught:
        run("doc['unmapped'].value", doc=doc)
    assert "No field found for [unmapped]" in caught.value.reason


def test_an_endless_loop_spends_its_statement_budget_and_fails():
    with pytest.raises(ScriptRuntimeError) as caught:
        run("while (true) { }", statement_budget=1000)
    assert caught.value.cause_type == "painless_error"
    assert "maximum number of statements" in caught.value.reason


@pytest.mark.parametrize("source, reason", [
    ("undefined_name + 1", "cannot resolve symbol [undefined_name]"),
    ("def x = 1; def x = 2", "variable [x] is already defined"),
    ("ctx._source.x.frobnicate()", "dynamic method [frobnicate/0] not found"),
    ("int f(int x) { return x } f(1)", "function definitions are not supported"),
    ("try { 1 } catch (Exception e) { 2 }", "[try] is not supported"),
    ("ctx._source.x =~ /ab(c/", "invalid regex [ab(c]"),
    ("break", "[break] is not allowed outside of a loop"),
    ("'unterminated", "unterminated string"),
    ("ctx._source.x ++ ;; 1 +", "unexpected end of script"),
])
def test_what_lies_outside_the_subset_is_a_compile_error(source, reason):
    with pytest.raises(ScriptCompileError) as caught:
        compile_script(source, NAMES)
    assert reason in caught.value.reason


def test_a_script_over_the_size_limit_is_refused():
    source = "'" + "x" * DEFAULT_MAX_SCRIPT_SIZE_BYTES + "'"
    with pytest.raises(ScriptCompileError) as caught:
        compile_script(source, NAMES)
    assert "exceeded max allowed inline script size in bytes [65535]" in caught.value.reason


@pytest.mark.parametrize("source", [
    "(" * (MAXIMUM_NESTING_DEPTH + 5) + "1" + ")" * (MAXIMUM_NESTING_DEPTH + 5),
    "1" + " + 1" * 5000,
    "if (true) { " * (MAXIMUM_NESTING_DEPTH + 1) + "1" + " }" * (MAXIMUM_NESTING_DEPTH + 1),
])
def test_nesting_or_chaining_deeper_than_the_limit_is_a_compile_error(source):
    with pytest.raises(ScriptCompileError) as caught:
        compile_script(source, NAMES)
    assert "nests deeper" in caught.value.reason


def test_a_script_at_the_nesting_limit_compiles_and_runs():
    depth = MAXIMUM_NESTING_DEPTH // 2 - 1   # each level is a parenthesis and a `+`
    assert run("(" * depth + "1" + " + 1)" * depth) == depth + 1


def test_a_compiled_script_is_cached_by_source_and_names():
    compile_script("params.cached + 1", NAMES)
    before = cache_statistics()
    first = compile_script("params.cached + 1", NAMES)
    second = compile_script("params.cached + 1", NAMES)
    after = cache_statistics()
    assert first is second and after["compilations"] == before["compilations"]
    assert after["cache_hits"] == before["cache_hits"] + 2


def test_the_script_exception_fields_have_opensearchs_shape():
    source = "ctx._source.x + missing"
    with pytest.raises(ScriptCompileError) as caught:
        compile_script(source, NAMES)
    fields = script_exception_fields(caught.value, source)
    assert fields["reason"] == "compile error" and fields["lang"] == "painless" and fields["script"] == source
    offset = source.index("missing")
    assert fields["position"]["offset"] == offset
    snippet, caret = fields["script_stack"]
    assert snippet[caret.index("^")] == "m"
    assert fields["caused_by"] == {"type": "illegal_argument_exception",
                                   "reason": "cannot resolve symbol [missing]"}


def test_a_lambda_reads_the_variables_around_it_and_sorts_with_a_comparator():
    ctx = {"_source": {"values": [3, 1, 2]}}
    run("def offset = 10; ctx._source.values.sort((a, b) -> b - a); "
        "ctx._source.shifted = []; ctx._source.values.forEach(v -> ctx._source.shifted.add(v + offset))", ctx)
    assert ctx["_source"] == {"values": [3, 2, 1], "shifted": [13, 12, 11]}


def test_params_are_read_only_at_the_top_level():
    with pytest.raises(ScriptRuntimeError) as caught:
        run("params.that = 3", params={"this": 2})
    assert caught.value.cause_type == "unsupported_operation_exception" and caught.value.offset == len("params")
    with pytest.raises(ScriptRuntimeError):
        run("params.put('a', 1)")
    assert run("params.list.add(1); params.list", params={"list": []}) == [1]


def test_string_digests():
    assert run("'bar'.sha1()") == "62cdb7020ff920e5aa642c3d4066950dd1f01f4d"
    assert run("'bar'.sha256()") == "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"


@pytest.mark.parametrize("source, cause", [
    ("'a'.split('[')", "illegal_argument_exception"),
    ("[1, 2].subList(0, 'x')", "class_cast_exception"),
    ("['a', 1].sort(null)", "class_cast_exception"),
    ("String.join(',', 5)", "class_cast_exception"),
    ("'a'.substring()", "illegal_argument_exception"),
])
def test_library_methods_given_bad_values_fail_as_painless_errors(source, cause):
    with pytest.raises(ScriptRuntimeError) as caught:
        run(source)
    assert caught.value.cause_type == cause


def test_narrowing_casts_and_round_saturate_as_java():
    assert run("(int) 1e10") == 2 ** 31 - 1
    assert run("(long) -1e300") == -(2 ** 63)
    assert run("Math.round(Double.NaN)") == 0
    assert run("Math.round(2.5) + Math.round(-2.5)") == 1


def test_map_entries_iterate_with_keys_and_values():
    ctx = {"_source": {"scores": {"a": 1, "b": 2}}}
    result = run("""
        def names = [];
        for (def entry : ctx._source.scores.entrySet()) { names.add(entry.getKey() + '=' + entry.value); }
        for (e in ctx._source.scores.entrySet()) { e.setValue(e.getValue() * 10) }
        names""", ctx)
    assert result == ["a=1", "b=2"] and ctx["_source"]["scores"] == {"a": 10, "b": 20}


def test_split_on_token_is_literal_keeps_empty_parts_and_reads_length_like_an_array():
    assert run("'a.b..c'.splitOnToken('.')") == ["a", "b", "", "c"]
    assert run("'a--b--c'.splitOnToken('--', 2)") == ["a", "b--c"]
    assert run("'x y z'.split(' ').length") == 3


def test_regex_find_and_match_with_flags():
    assert run("'Error: disk' =~ /error/i") is True
    assert run("'Error: disk' ==~ /error/i") is False
    assert run("'abc' ==~ /a.c/ && !('abd' ==~ /a.c/)") is True
    assert run("def n = 10; n / 2 / 5") == 1          # division still divides after a value
    assert run("if (params.path =~ /\\/var\\//) { return 'var' } return 'other'", params={"path": "/var/log"}) == "var"
    with pytest.raises(ScriptRuntimeError) as caught:
        run("params.missing =~ /x/")
    assert caught.value.cause_type == "null_pointer_exception"
