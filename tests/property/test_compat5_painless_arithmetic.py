"""Painless arithmetic held against a direct Python model of Java's rules: random expression
trees over int and double literals evaluate to what the model computes (Java's truncating
integer division and remainder, int/double promotion), or both fail on an integer / by zero."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from udf.painless import ScriptRuntimeError, compile_script


def _java_divide(left, right):
    if isinstance(left, int) and isinstance(right, int):
        if right == 0:
            raise ZeroDivisionError
        quotient = abs(left) // abs(right)
        return quotient if (left >= 0) == (right >= 0) else -quotient
    if right == 0:
        return math.nan if left == 0 or math.isnan(left) else math.copysign(math.inf, left) * math.copysign(1, right)
    return left / right


def _java_remainder(left, right):
    if isinstance(left, int) and isinstance(right, int):
        if right == 0:
            raise ZeroDivisionError
        return left - right * _java_divide(left, right)
    if right == 0 or math.isinf(left):
        return math.nan
    return math.fmod(left, right)


OPERATIONS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
              "/": _java_divide, "%": _java_remainder}

literals = st.one_of(st.integers(-1000, 1000), st.floats(-1000, 1000, allow_nan=False).map(lambda v: round(v, 3)))


def _render(value):
    if isinstance(value, float):
        return repr(value)
    return str(value)


expressions = st.recursive(
    literals.map(lambda value: (_render(value), value)),
    lambda children: st.tuples(children, st.sampled_from(sorted(OPERATIONS)), children).map(
        lambda parts: (f"({parts[0][0]} {parts[1]} {parts[2][0]})", (parts[1], parts[0][1], parts[2][1]))),
    max_leaves=8,
)


def _model(tree):
    if not isinstance(tree, tuple):
        return tree
    operator, left, right = tree
    return OPERATIONS[operator](_model(left), _model(right))


def _same(left, right):
    if isinstance(left, float) or isinstance(right, float):
        if math.isnan(left) and math.isnan(right):
            return True
        return type(left) is type(right) and (left == right or math.isclose(left, right, rel_tol=1e-12))
    return type(left) is type(right) and left == right


@settings(max_examples=300, deadline=None)
@given(expressions)
def test_arithmetic_matches_javas_rules(expression):
    source, tree = expression
    try:
        expected = _model(tree)
    except ZeroDivisionError:
        expected = ZeroDivisionError
    script = compile_script(source, frozenset())
    if expected is ZeroDivisionError:
        try:
            script.execute({})
        except ScriptRuntimeError as error:
            assert error.cause_type == "arithmetic_exception"
            return
        raise AssertionError(f"{source} should fail with / by zero")
    assert _same(script.execute({}), expected), source
