"""The errors of the Painless subset, and the OpenSearch ``script_exception`` fields they render to.

Owns: ``PainlessError`` and its two kinds — ``ScriptCompileError`` (the source does not lex, parse
or resolve: OpenSearch answers "compile error") and ``ScriptRuntimeError`` (the script failed while
running: "runtime error") — and ``script_exception_fields(error, source)``, which builds the body
fields OpenSearch's ScriptException carries (``script_stack``, ``script``, ``lang``, ``position``,
``caused_by``).

Must never: import node/, index/ or raft/, or know HTTP status codes (node/ maps these to 400).

    PainlessError
    ├── ScriptCompileError     lexing, parsing, an unknown name, a method outside the subset,
    │                          the script over ``script.max_size_in_bytes``
    └── ScriptRuntimeError     null dereference, bad cast, index out of bounds, / by zero,
                               the statement budget exhausted (``painless_error``)
"""

from __future__ import annotations

from typing import Any

# how many characters of source each side of the failing offset the script_stack shows
SCRIPT_STACK_CONTEXT_CHARACTERS = 25


class PainlessError(Exception):
    """Base of every error the Painless subset raises on purpose.

    ``cause_type`` is the Java exception's OpenSearch name that becomes ``caused_by.type``;
    ``offset`` is the character offset in the source where it happened (or None)."""

    summary = "error"
    default_cause_type = "illegal_argument_exception"

    def __init__(self, reason: str, offset: int | None = None, cause_type: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset
        self.cause_type = cause_type or self.default_cause_type


class ScriptCompileError(PainlessError):
    summary = "compile error"


class ScriptRuntimeError(PainlessError):
    summary = "runtime error"


def script_stack(source: str, offset: int | None) -> list[str]:
    """The two lines OpenSearch shows: a snippet around ``offset`` and a caret pointing at it."""
    if offset is None:
        return []
    offset = max(0, min(offset, len(source)))
    start = max(0, offset - SCRIPT_STACK_CONTEXT_CHARACTERS)
    end = min(len(source), offset + SCRIPT_STACK_CONTEXT_CHARACTERS)
    return [source[start:end], " " * (offset - start) + "^---- HERE"]


def script_exception_fields(error: PainlessError, source: str, lang: str = "painless") -> dict[str, Any]:
    """The fields of OpenSearch's ``script_exception`` for ``error`` (without ``type``), e.g.
    {"reason": "compile error", "script_stack": [...], "script": source, "lang": "painless",
    "position": {"offset", "start", "end"}, "caused_by": {"type", "reason"}}."""
    fields: dict[str, Any] = {"reason": error.summary, "script_stack": script_stack(source, error.offset),
                              "script": source, "lang": lang}
    if error.offset is not None:
        offset = max(0, min(error.offset, len(source)))
        fields["position"] = {"offset": offset, "start": max(0, offset - SCRIPT_STACK_CONTEXT_CHARACTERS),
                              "end": min(len(source), offset + SCRIPT_STACK_CONTEXT_CHARACTERS)}
    fields["caused_by"] = {"type": error.cause_type, "reason": error.reason}
    return fields
