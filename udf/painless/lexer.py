"""The Painless subset's lexer: source text → a list of ``Token`` (kind, text, value, offset).

Owns the token kinds: ``number`` (int, long ``L``, float/double ``f``/``d``, hex), ``string``
(single or double quotes, backslash escapes), ``regex`` (``/pattern/flags`` where an expression
may start; its value the compiled pattern), ``identifier``, ``keyword``, ``operator`` (longest
match first) and ``end``. Comments (``//`` and ``/* */``) and whitespace are skipped.

Must never: evaluate anything or know the grammar beyond tokens (the one exception: whether a ``/``
divides or opens a regex depends on the token before it); a character it cannot read is a
``ScriptCompileError`` at that offset.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

from udf.painless.errors import ScriptCompileError

KEYWORDS = frozenset({
    "if", "else", "while", "do", "for", "in", "continue", "break", "return", "new", "try", "catch",
    "throw", "this", "instanceof", "true", "false", "null",
})

# longest first, so ">>>=" wins over ">>" and "?." over "?"
OPERATORS = sorted([
    ">>>=", "===", "!==", "==~", "=~", ">>>", "<<=", ">>=", "?.", "?:", "->", "::", "==", "!=", "<=", ">=", "&&", "||", "++",
    "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<", ">>", "+", "-", "*", "/", "%", "=", "<", ">",
    "!", "~", "&", "|", "^", "?", ":", ".", ",", ";", "(", ")", "[", "]", "{", "}",
], key=len, reverse=True)

DIGITS = frozenset("0123456789")   # str.isdigit() also accepts "²" and other non-ASCII digits
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "\\": "\\", "'": "'", '"': '"', "0": "\0"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str          # number | string | identifier | keyword | operator | end
    text: str
    offset: int
    value: Any = None  # the number's or string's value


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    length = len(source)
    while position < length:
        character = source[position]
        if character.isspace():
            position += 1
            continue
        if source.startswith("//", position):
            newline = source.find("\n", position)
            position = length if newline < 0 else newline + 1
            continue
        if source.startswith("/*", position):
            closing = source.find("*/", position + 2)
            if closing < 0:
                raise ScriptCompileError("unterminated comment: expected [*/] before the end of the script", position)
            position = closing + 2
            continue
        if character in DIGITS or (character == "." and position + 1 < length and source[position + 1] in DIGITS):
            token, position = _number(source, position)
            tokens.append(token)
            continue
        if character in "'\"":
            token, position = _string(source, position)
            tokens.append(token)
            continue
        if character.isalpha() or character in "_$":
            start = position
            while position < length and (source[position].isalnum() or source[position] in "_$"):
                position += 1
            word = source[start:position]
            tokens.append(Token("keyword" if word in KEYWORDS else "identifier", word, start))
            continue
        if character == "/" and _regex_may_start(tokens):
            token, position = _regex(source, position)
            tokens.append(token)
            continue
        for operator in OPERATORS:
            if source.startswith(operator, position):
                tokens.append(Token("operator", operator, position))
                position += len(operator)
                break
        else:
            raise ScriptCompileError(f"unexpected character [{character}]", position)
    tokens.append(Token("end", "<EOF>", length))
    return tokens


# flags after a regex literal, as Painless maps them onto java.util.regex.Pattern's
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE, "u": 0, "U": 0,
                "c": 0, "l": 0}


def _regex_may_start(tokens: list[Token]) -> bool:
    """A ``/`` opens a regex where an expression may start (after an operator, a keyword such as
    ``return``, or at the start), and divides after a value."""
    if not tokens:
        return True
    previous = tokens[-1]
    if previous.kind in ("number", "string", "identifier", "regex"):
        return False
    if previous.kind == "keyword":
        return previous.text not in ("true", "false", "null", "this")
    return previous.text not in (")", "]", "++", "--")


def _regex(source: str, start: int) -> tuple[Token, int]:
    position = start + 1
    pattern: list[str] = []
    while True:
        if position >= len(source) or source[position] == "\n":
            raise ScriptCompileError("unterminated regex: expected a closing [/]", start)
        character = source[position]
        if character == "\\" and position + 1 < len(source):
            if source[position + 1] == "/":
                pattern.append("/")
            else:
                pattern.append(source[position:position + 2])
            position += 2
            continue
        if character == "/":
            break
        pattern.append(character)
        position += 1
    position += 1
    flags = 0
    while position < len(source) and source[position].isalpha():
        flag = source[position]
        if flag not in _REGEX_FLAGS:
            raise ScriptCompileError(f"unknown regex flag [{flag}]", position)
        flags |= _REGEX_FLAGS[flag]
        position += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # re's FutureWarnings ("possible nested set") are not the user's
            compiled = re.compile("".join(pattern), flags)
    except re.error as error:
        raise ScriptCompileError(f"invalid regex [{''.join(pattern)}]: {error}", start) from None
    return Token("regex", source[start:position], start, compiled), position


def _number(source: str, start: int) -> tuple[Token, int]:
    length = len(source)
    position = start
    if source.startswith(("0x", "0X"), position):
        position += 2
        while position < length and source[position] in "0123456789abcdefABCDEF":
            position += 1
        text = source[start:position]
        if len(text) == 2:
            raise ScriptCompileError(f"invalid hex constant [{text}]", start)
        if position < length and source[position] in "lL":
            position += 1
        return Token("number", source[start:position], start, int(text, 16)), position
    while position < length and source[position] in DIGITS:
        position += 1
    is_float = False
    if position < length and source[position] == "." and position + 1 < length and source[position + 1] in DIGITS:
        is_float = True
        position += 1
        while position < length and source[position] in DIGITS:
            position += 1
    if position < length and source[position] in "eE":
        exponent = position + 1
        if exponent < length and source[exponent] in "+-":
            exponent += 1
        if exponent < length and source[exponent] in DIGITS:
            is_float = True
            position = exponent
            while position < length and source[position] in DIGITS:
                position += 1
    text = source[start:position]
    if position < length and source[position] in "fFdD":
        position += 1
        return Token("number", source[start:position], start, float(text)), position
    if position < length and source[position] in "lL":
        position += 1
        if is_float:
            raise ScriptCompileError(f"invalid long constant [{source[start:position]}]", start)
        return Token("number", source[start:position], start, int(text)), position
    if position < length and (source[position].isalpha() or source[position] == "_"):
        raise ScriptCompileError(f"invalid number [{source[start:position + 1]}]", start)
    value: Any = float(text) if is_float else int(text)
    if not is_float and value > 2 ** 31 - 1:
        raise ScriptCompileError(f"invalid int constant [{text}]", start)
    return Token("number", text, start, value), position


def _string(source: str, start: int) -> tuple[Token, int]:
    quote = source[start]
    position = start + 1
    characters: list[str] = []
    while True:
        if position >= len(source):
            raise ScriptCompileError("unterminated string: expected a closing quote before the end of the script",
                                     start)
        character = source[position]
        if character == quote:
            return Token("string", source[start:position + 1], start, "".join(characters)), position + 1
        if character == "\\" and position + 1 < len(source):
            escaped = source[position + 1]
            if escaped == "u" and position + 5 < len(source):
                digits = source[position + 2:position + 6]
                if not all(digit in "0123456789abcdefABCDEF" for digit in digits):
                    raise ScriptCompileError(f"invalid unicode escape [\\u{digits}]", position)
                characters.append(chr(int(digits, 16)))
                position += 6
                continue
            characters.append(_ESCAPES.get(escaped, escaped))
            position += 2
            continue
        characters.append(character)
        position += 1
