"""The byte path's non-separator pattern, built by a few regex passes over every BMP character, is the
pattern the per-code-point definition gives (two regex matches per character), for both tokenizers."""

from __future__ import annotations

import re

import pytest

from index.analysis import encoded_batch
from index.analysis.tokenizers import (
    _BMP_PICTOGRAPHS, _DIGIT_JOINERS, _LETTER_JOINERS, _SPECIAL_SCRIPTS, LETTER_RUN_PATTERN, coarse_word_pattern,
)


def reference_pattern(kind: str) -> str:
    """The definition: a non-ASCII BMP character is a plain separator when the tokenizer's word
    pattern does not match it alone, it is no joiner and no special-script or pictograph character."""
    if kind == "simple":
        def is_separator(character: str) -> bool:
            return LETTER_RUN_PATTERN.match(character) is None
    else:
        word = coarse_word_pattern()
        special = re.compile(f"[{_SPECIAL_SCRIPTS}{_BMP_PICTOGRAPHS}]")
        joiners = set(_LETTER_JOINERS) | set(_DIGIT_JOINERS)

        def is_separator(character: str) -> bool:
            return word.match(character) is None and character not in joiners and special.match(character) is None
    ranges: list[tuple[int, int]] = []
    for code in range(0x80, 0x10000):
        if 0xD800 <= code < 0xE000 or not is_separator(chr(code)):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    body = "".join(re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
                   for low, high in ranges)
    return f"[^\\x00-\\x7f{body}]"


@pytest.mark.parametrize("kind", ["standard", "simple"])
def test_the_pattern_equals_the_per_character_definition(kind):
    encoded_batch._non_separator_pattern.cache_clear()
    assert encoded_batch._non_separator_pattern(kind).pattern == reference_pattern(kind)


def test_the_standard_pattern_tells_separators_from_word_joiner_and_cjk_characters():
    pattern = encoded_batch._non_separator_pattern("standard")
    for separator in "\u00a0\u2014\u201c\u2500":          # no-break space, em dash, curly quote, box line
        assert pattern.search(separator) is None, hex(ord(separator))
    for other in "é\u2019中\u0301\U0001F600":             # letter, joiner, CJK, combining mark, beyond the BMP
        assert pattern.search(other) is not None, hex(ord(other))
