"""Whatever text arrives as a script, the Painless subset answers with its own errors only: random
token soup either compiles or is a ScriptCompileError, and a compiled one either runs (within a
small statement budget) or is a ScriptRuntimeError — never a Python TypeError, KeyError or
RecursionError leaking out as a 500."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from udf.painless import PainlessError, compile_script

TOKENS = [
    "ctx", "params", "ctx._source", ".", "?.", "x", "y", "tags", "count", "def", "int", "String", "List", "Map",
    "=", "+=", "-=", "*=", "/=", "%=", "++", "--", "+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=",
    "&&", "||", "!", "?", ":", "?:", "(", ")", "[", "]", "{", "}", ";", ",", "0", "1", "2", "-1", "1.5", "0.0",
    "'a'", "\"b\"", "null", "true", "false", "if", "else", "for", "while", "in", "return", "break", "continue",
    "add", "remove", "size", "get", "put", "contains", "containsKey", "length", "substring", "split",
    "isEmpty", "indexOf", "Math", "max", "abs", "->", "new", "ArrayList", "HashMap", "(int)", "(double)",
    "(String)", "instanceof", "op", "value", "empty", "doc", "[:]", "[]", " ", "=~", "==~", "/a/", "/(/", "/x/i",
]

sources = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=30).map(" ".join)


def _variables():
    return {"ctx": {"_source": {"count": 1, "tags": ["a", "b"], "x": None, "y": "text"}, "op": "index"},
            "params": {"count": 2, "x": [1, 2], "y": {"k": 1}}}


@settings(max_examples=600, deadline=None)
@given(sources)
def test_random_scripts_fail_only_with_painless_errors(source):
    try:
        script = compile_script(source, frozenset({"ctx", "params"}))
    except PainlessError:
        return
    try:
        script.execute(_variables(), statement_budget=200)
    except PainlessError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_fails_only_with_painless_errors(source):
    try:
        compile_script(source, frozenset({"ctx", "params"})).execute(_variables(), statement_budget=200)
    except PainlessError:
        pass
