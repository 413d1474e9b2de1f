"""The precomputed inside-word table and the range-built classes match what a full scan gives."""

from __future__ import annotations

import re
import unicodedata

from index.analysis import tokenizers


def test_precomputed_inside_word_ranges_equal_a_scan_of_the_unicode_database():
    assert tokenizers._inside_word_ranges() == tuple(tokenizers._scan_inside_word_ranges())


def test_the_zero_width_space_still_separates_words():
    assert all(not low <= 0x200B <= high for low, high in tokenizers._inside_word_ranges())


def test_basic_plane_word_class_holds_exactly_word_characters_and_marks():
    word_class = re.compile(f"[{tokenizers._basic_plane_word_characters()}]")
    for code_point in range(0x10000):
        if 0xD800 <= code_point < 0xE000:
            continue
        character = chr(code_point)
        expected = (character.isalnum() or character == "_"
                    or (unicodedata.category(character) in ("Mn", "Mc", "Me", "Cf") and character != "\u200b"))
        assert bool(word_class.fullmatch(character)) == expected, hex(code_point)
