"""udf/painless: a subset of OpenSearch's Painless scripting language, as a synchronous library.

Owns: compiling a script's source (lexer.py → parser.py → syntax.py's frozen nodes →
interpreter.py's closures) once per (source, variable names) in a bounded cache, and running it
on the variables a context gives (``ctx``, ``params``, ``doc``…) under explicit limits:

- ``DEFAULT_MAX_SCRIPT_SIZE_BYTES`` (65535: OpenSearch's ``script.max_size_in_bytes``) — a longer
  source is a compile error;
- ``DEFAULT_STATEMENT_BUDGET`` (1,000,000: Painless's loop counter) — statements and loop
  iterations one run may execute;
- ``parser.MAXIMUM_NESTING_DEPTH`` (32) — nesting of blocks, expressions and operator chains,
  which also bounds the compiler's and the interpreter's recursion;
- ``SCRIPT_CACHE_SIZE`` (100: OpenSearch's ``script.cache.max_size``) compiled scripts kept.

What the subset covers and refuses is listed in docs/api.md (*Scripting*). Errors are drawn in
udf/painless/errors.py; ``script_exception_fields`` renders OpenSearch's ``script_exception``.

Must never: import index/, raft/, node/ or any async library; do I/O; run unbounded.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

from udf.painless.errors import PainlessError, ScriptCompileError, ScriptRuntimeError, script_exception_fields
from udf.painless.interpreter import DEFAULT_STATEMENT_BUDGET, Frame, compile_tree
from udf.painless.parser import MAXIMUM_NESTING_DEPTH, parse
from udf.painless.values import DocFields, DocValues, ReadOnlyMap

DEFAULT_MAX_SCRIPT_SIZE_BYTES = 65535
SCRIPT_CACHE_SIZE = 100

__all__ = [
    "CompiledScript", "DEFAULT_MAX_SCRIPT_SIZE_BYTES", "DEFAULT_STATEMENT_BUDGET", "DocFields", "DocValues",
    "MAXIMUM_NESTING_DEPTH", "PainlessError", "SCRIPT_CACHE_SIZE", "ScriptCompileError", "ScriptRuntimeError",
    "cache_statistics", "compile_script", "script_exception_fields",
]


@dataclass(frozen=True)
class CompiledScript:
    source: str
    variable_names: frozenset[str]
    run: Callable[[Frame], Any]

    def execute(self, variables: dict[str, Any], statement_budget: int = DEFAULT_STATEMENT_BUDGET) -> Any:
        """Runs the script with ``variables`` (every name in ``variable_names`` must be given;
        values may be mutated in place, as ``ctx._source`` is) and answers its ``return`` value
        (None without one). A ``params`` dict is handed over read-only. Raises ScriptRuntimeError."""
        missing = self.variable_names - variables.keys()
        if missing:
            raise ValueError(f"painless variables {sorted(missing)} were declared at compile time but not given")
        variables = dict(variables)
        if type(variables.get("params")) is dict:
            variables["params"] = ReadOnlyMap(variables["params"])   # scripts read params, never change them
        return self.run(Frame(variables, [statement_budget]))


def compile_script(source: str, variable_names: frozenset[str] | set[str] | tuple[str, ...],
                   max_size_bytes: int = DEFAULT_MAX_SCRIPT_SIZE_BYTES) -> CompiledScript:
    """The compiled script for ``source`` in a context whose variables are ``variable_names``;
    cached (the same source and names compile once). Raises ScriptCompileError."""
    if not isinstance(source, str):
        raise ScriptCompileError(f"script source must be a string, got [{type(source).__name__}]", 0)
    size = len(source.encode("utf-8"))
    if size > max_size_bytes:
        raise ScriptCompileError(f"exceeded max allowed inline script size in bytes [{max_size_bytes}] with size "
                                 f"[{size}] for script [{source[:64]}]", 0)
    return _compile_cached(source, frozenset(variable_names))


@functools.lru_cache(maxsize=SCRIPT_CACHE_SIZE)
def _compile_cached(source: str, variable_names: frozenset[str]) -> CompiledScript:
    # errors are not cached (lru_cache keeps only returned values): a bad script costs a parse each time
    tree = parse(source)
    try:
        run = compile_tree(tree, variable_names)
    except RecursionError:
        raise ScriptCompileError(f"the script nests deeper than the limit of [{MAXIMUM_NESTING_DEPTH}] levels",
                                 0) from None
    return CompiledScript(source, variable_names, run)


def cache_statistics() -> dict[str, int]:
    info = _compile_cached.cache_info()
    return {"cache_size": info.currsize, "cache_hits": info.hits, "compilations": info.misses,
            "cache_max_size": SCRIPT_CACHE_SIZE}
