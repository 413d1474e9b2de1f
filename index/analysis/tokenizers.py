"""Tokenizers: text in, raw tokens (term, start, end, type) out, positions consecutive.

Owns word segmentation for the standard, letter, whitespace, keyword, pattern, ngram and
edge_ngram tokenizers. The standard tokenizer approximates Unicode UAX#29 word boundaries with a
regular expression (differences are listed in docs/analysis.md). It must never lowercase or
otherwise normalise terms: that is the token filters' job, as in Lucene.
"""

from __future__ import annotations

import functools
import operator
import re
import unicodedata
from typing import Any

from index.errors import AnalysisError

RawToken = tuple[str, int, int, str]  # term, start_offset, end_offset, type

DEFAULT_MAX_TOKEN_LENGTH = 255


# UAX#29 WB4: Extend (marks) and Format characters (soft hyphen, joiners, bidi marks) never break
# a word. The zero-width space is not Format in the word-break tables, so it still separates.
_INSIDE_WORD_CATEGORIES = ("Mn", "Mc", "Me", "Cf")


def _scan_inside_word_ranges() -> list[tuple[int, int]]:
    """Inclusive code point ranges of the marks and Format characters that stay inside a word."""
    ranges: list[tuple[int, int]] = []
    for code_point in range(0xAD, 0xE0080):
        if unicodedata.category(chr(code_point)) in _INSIDE_WORD_CATEGORIES and code_point != 0x200B:
            if ranges and ranges[-1][1] == code_point - 1:
                ranges[-1] = (ranges[-1][0], code_point)
            else:
                ranges.append((code_point, code_point))
    return ranges


# What _scan_inside_word_ranges() returns for the Unicode database of CPython 3.11 (14.0.0), as
# flat low/high pairs: the scan visits 917k code points (~0.14 CPU-s), paid by every shard worker
# at start-up and on every restart. Another Unicode version scans; a unit test holds the table to
# the scan.
_INSIDE_WORD_RANGES_UNICODE_VERSION = "14.0.0"
_INSIDE_WORD_RANGES_FLAT = (
    0x000AD, 0x000AD, 0x00300, 0x0036F, 0x00483, 0x00489, 0x00591, 0x005BD, 0x005BF, 0x005BF,
    0x005C1, 0x005C2, 0x005C4, 0x005C5, 0x005C7, 0x005C7, 0x00600, 0x00605, 0x00610, 0x0061A,
    0x0061C, 0x0061C, 0x0064B, 0x0065F, 0x00670, 0x00670, 0x006D6, 0x006DD, 0x006DF, 0x006E4,
    0x006E7, 0x006E8, 0x006EA, 0x006ED, 0x0070F, 0x0070F, 0x00711, 0x00711, 0x00730, 0x0074A,
    0x007A6, 0x007B0, 0x007EB, 0x007F3, 0x007FD, 0x007FD, 0x00816, 0x00819, 0x0081B, 0x00823,
    0x00825, 0x00827, 0x00829, 0x0082D, 0x00859, 0x0085B, 0x00890, 0x00891, 0x00898, 0x0089F,
    0x008CA, 0x00903, 0x0093A, 0x0093C, 0x0093E, 0x0094F, 0x00951, 0x00957, 0x00962, 0x00963,
    0x00981, 0x00983, 0x009BC, 0x009BC, 0x009BE, 0x009C4, 0x009C7, 0x009C8, 0x009CB, 0x009CD,
    0x009D7, 0x009D7, 0x009E2, 0x009E3, 0x009FE, 0x009FE, 0x00A01, 0x00A03, 0x00A3C, 0x00A3C,
    0x00A3E, 0x00A42, 0x00A47, 0x00A48, 0x00A4B, 0x00A4D, 0x00A51, 0x00A51, 0x00A70, 0x00A71,
    0x00A75, 0x00A75, 0x00A81, 0x00A83, 0x00ABC, 0x00ABC, 0x00ABE, 0x00AC5, 0x00AC7, 0x00AC9,
    0x00ACB, 0x00ACD, 0x00AE2, 0x00AE3, 0x00AFA, 0x00AFF, 0x00B01, 0x00B03, 0x00B3C, 0x00B3C,
    0x00B3E, 0x00B44, 0x00B47, 0x00B48, 0x00B4B, 0x00B4D, 0x00B55, 0x00B57, 0x00B62, 0x00B63,
    0x00B82, 0x00B82, 0x00BBE, 0x00BC2, 0x00BC6, 0x00BC8, 0x00BCA, 0x00BCD, 0x00BD7, 0x00BD7,
    0x00C00, 0x00C04, 0x00C3C, 0x00C3C, 0x00C3E, 0x00C44, 0x00C46, 0x00C48, 0x00C4A, 0x00C4D,
    0x00C55, 0x00C56, 0x00C62, 0x00C63, 0x00C81, 0x00C83, 0x00CBC, 0x00CBC, 0x00CBE, 0x00CC4,
    0x00CC6, 0x00CC8, 0x00CCA, 0x00CCD, 0x00CD5, 0x00CD6, 0x00CE2, 0x00CE3, 0x00D00, 0x00D03,
    0x00D3B, 0x00D3C, 0x00D3E, 0x00D44, 0x00D46, 0x00D48, 0x00D4A, 0x00D4D, 0x00D57, 0x00D57,
    0x00D62, 0x00D63, 0x00D81, 0x00D83, 0x00DCA, 0x00DCA, 0x00DCF, 0x00DD4, 0x00DD6, 0x00DD6,
    0x00DD8, 0x00DDF, 0x00DF2, 0x00DF3, 0x00E31, 0x00E31, 0x00E34, 0x00E3A, 0x00E47, 0x00E4E,
    0x00EB1, 0x00EB1, 0x00EB4, 0x00EBC, 0x00EC8, 0x00ECD, 0x00F18, 0x00F19, 0x00F35, 0x00F35,
    0x00F37, 0x00F37, 0x00F39, 0x00F39, 0x00F3E, 0x00F3F, 0x00F71, 0x00F84, 0x00F86, 0x00F87,
    0x00F8D, 0x00F97, 0x00F99, 0x00FBC, 0x00FC6, 0x00FC6, 0x0102B, 0x0103E, 0x01056, 0x01059,
    0x0105E, 0x01060, 0x01062, 0x01064, 0x01067, 0x0106D, 0x01071, 0x01074, 0x01082, 0x0108D,
    0x0108F, 0x0108F, 0x0109A, 0x0109D, 0x0135D, 0x0135F, 0x01712, 0x01715, 0x01732, 0x01734,
    0x01752, 0x01753, 0x01772, 0x01773, 0x017B4, 0x017D3, 0x017DD, 0x017DD, 0x0180B, 0x0180F,
    0x01885, 0x01886, 0x018A9, 0x018A9, 0x01920, 0x0192B, 0x01930, 0x0193B, 0x01A17, 0x01A1B,
    0x01A55, 0x01A5E, 0x01A60, 0x01A7C, 0x01A7F, 0x01A7F, 0x01AB0, 0x01ACE, 0x01B00, 0x01B04,
    0x01B34, 0x01B44, 0x01B6B, 0x01B73, 0x01B80, 0x01B82, 0x01BA1, 0x01BAD, 0x01BE6, 0x01BF3,
    0x01C24, 0x01C37, 0x01CD0, 0x01CD2, 0x01CD4, 0x01CE8, 0x01CED, 0x01CED, 0x01CF4, 0x01CF4,
    0x01CF7, 0x01CF9, 0x01DC0, 0x01DFF, 0x0200C, 0x0200F, 0x0202A, 0x0202E, 0x02060, 0x02064,
    0x02066, 0x0206F, 0x020D0, 0x020F0, 0x02CEF, 0x02CF1, 0x02D7F, 0x02D7F, 0x02DE0, 0x02DFF,
    0x0302A, 0x0302F, 0x03099, 0x0309A, 0x0A66F, 0x0A672, 0x0A674, 0x0A67D, 0x0A69E, 0x0A69F,
    0x0A6F0, 0x0A6F1, 0x0A802, 0x0A802, 0x0A806, 0x0A806, 0x0A80B, 0x0A80B, 0x0A823, 0x0A827,
    0x0A82C, 0x0A82C, 0x0A880, 0x0A881, 0x0A8B4, 0x0A8C5, 0x0A8E0, 0x0A8F1, 0x0A8FF, 0x0A8FF,
    0x0A926, 0x0A92D, 0x0A947, 0x0A953, 0x0A980, 0x0A983, 0x0A9B3, 0x0A9C0, 0x0A9E5, 0x0A9E5,
    0x0AA29, 0x0AA36, 0x0AA43, 0x0AA43, 0x0AA4C, 0x0AA4D, 0x0AA7B, 0x0AA7D, 0x0AAB0, 0x0AAB0,
    0x0AAB2, 0x0AAB4, 0x0AAB7, 0x0AAB8, 0x0AABE, 0x0AABF, 0x0AAC1, 0x0AAC1, 0x0AAEB, 0x0AAEF,
    0x0AAF5, 0x0AAF6, 0x0ABE3, 0x0ABEA, 0x0ABEC, 0x0ABED, 0x0FB1E, 0x0FB1E, 0x0FE00, 0x0FE0F,
    0x0FE20, 0x0FE2F, 0x0FEFF, 0x0FEFF, 0x0FFF9, 0x0FFFB, 0x101FD, 0x101FD, 0x102E0, 0x102E0,
    0x10376, 0x1037A, 0x10A01, 0x10A03, 0x10A05, 0x10A06, 0x10A0C, 0x10A0F, 0x10A38, 0x10A3A,
    0x10A3F, 0x10A3F, 0x10AE5, 0x10AE6, 0x10D24, 0x10D27, 0x10EAB, 0x10EAC, 0x10F46, 0x10F50,
    0x10F82, 0x10F85, 0x11000, 0x11002, 0x11038, 0x11046, 0x11070, 0x11070, 0x11073, 0x11074,
    0x1107F, 0x11082, 0x110B0, 0x110BA, 0x110BD, 0x110BD, 0x110C2, 0x110C2, 0x110CD, 0x110CD,
    0x11100, 0x11102, 0x11127, 0x11134, 0x11145, 0x11146, 0x11173, 0x11173, 0x11180, 0x11182,
    0x111B3, 0x111C0, 0x111C9, 0x111CC, 0x111CE, 0x111CF, 0x1122C, 0x11237, 0x1123E, 0x1123E,
    0x112DF, 0x112EA, 0x11300, 0x11303, 0x1133B, 0x1133C, 0x1133E, 0x11344, 0x11347, 0x11348,
    0x1134B, 0x1134D, 0x11357, 0x11357, 0x11362, 0x11363, 0x11366, 0x1136C, 0x11370, 0x11374,
    0x11435, 0x11446, 0x1145E, 0x1145E, 0x114B0, 0x114C3, 0x115AF, 0x115B5, 0x115B8, 0x115C0,
    0x115DC, 0x115DD, 0x11630, 0x11640, 0x116AB, 0x116B7, 0x1171D, 0x1172B, 0x1182C, 0x1183A,
    0x11930, 0x11935, 0x11937, 0x11938, 0x1193B, 0x1193E, 0x11940, 0x11940, 0x11942, 0x11943,
    0x119D1, 0x119D7, 0x119DA, 0x119E0, 0x119E4, 0x119E4, 0x11A01, 0x11A0A, 0x11A33, 0x11A39,
    0x11A3B, 0x11A3E, 0x11A47, 0x11A47, 0x11A51, 0x11A5B, 0x11A8A, 0x11A99, 0x11C2F, 0x11C36,
    0x11C38, 0x11C3F, 0x11C92, 0x11CA7, 0x11CA9, 0x11CB6, 0x11D31, 0x11D36, 0x11D3A, 0x11D3A,
    0x11D3C, 0x11D3D, 0x11D3F, 0x11D45, 0x11D47, 0x11D47, 0x11D8A, 0x11D8E, 0x11D90, 0x11D91,
    0x11D93, 0x11D97, 0x11EF3, 0x11EF6, 0x13430, 0x13438, 0x16AF0, 0x16AF4, 0x16B30, 0x16B36,
    0x16F4F, 0x16F4F, 0x16F51, 0x16F87, 0x16F8F, 0x16F92, 0x16FE4, 0x16FE4, 0x16FF0, 0x16FF1,
    0x1BC9D, 0x1BC9E, 0x1BCA0, 0x1BCA3, 0x1CF00, 0x1CF2D, 0x1CF30, 0x1CF46, 0x1D165, 0x1D169,
    0x1D16D, 0x1D182, 0x1D185, 0x1D18B, 0x1D1AA, 0x1D1AD, 0x1D242, 0x1D244, 0x1DA00, 0x1DA36,
    0x1DA3B, 0x1DA6C, 0x1DA75, 0x1DA75, 0x1DA84, 0x1DA84, 0x1DA9B, 0x1DA9F, 0x1DAA1, 0x1DAAF,
    0x1E000, 0x1E006, 0x1E008, 0x1E018, 0x1E01B, 0x1E021, 0x1E023, 0x1E024, 0x1E026, 0x1E02A,
    0x1E130, 0x1E136, 0x1E2AE, 0x1E2AE, 0x1E2EC, 0x1E2EF, 0x1E8D0, 0x1E8D6, 0x1E944, 0x1E94A,
    0xE0001, 0xE0001, 0xE0020, 0xE007F,
)


@functools.lru_cache(maxsize=1)
def _inside_word_ranges() -> tuple[tuple[int, int], ...]:
    if unicodedata.unidata_version == _INSIDE_WORD_RANGES_UNICODE_VERSION:
        flat = _INSIDE_WORD_RANGES_FLAT
        return tuple(zip(flat[0::2], flat[1::2]))
    return tuple(_scan_inside_word_ranges())


def _class_body_of_ranges(ranges) -> str:
    """Inclusive (low, high) code point ranges as a regex class body: `re` compiles "a-z" into the
    same charset as 26 literal characters, but parses it ~13x faster (3 ms instead of 40 ms for
    the BMP word class — measured)."""
    return "".join(
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
        for low, high in ranges
    )


def _combining_mark_class() -> str:
    """Every combining mark (Mn, Mc, Me) and Format character (Cf) as a regex class body.

    Python's \\w excludes marks, but UAX#29 keeps them inside a word (Extend), so without them
    Devanagari or decomposed Latin would be cut at every vowel sign or accent.
    """
    return _class_body_of_ranges(_inside_word_ranges())


# Scripts Lucene's StandardTokenizer does not treat as ordinary letters.
_IDEOGRAPHIC = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef\U00030000-\U0003134f"
_HIRAGANA = "\u3040-\u309f"
_KATAKANA = "\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
_SPECIAL_SCRIPTS = _IDEOGRAPHIC + _HIRAGANA + _KATAKANA + _HANGUL
# Emoji (an approximation of Extended_Pictographic): one token per emoji, with its variation
# selector, skin-tone modifiers and zero-width-joined parts; a pair of regional indicators is a flag.
_BMP_PICTOGRAPHS = "\u231a\u231b\u23e9-\u23fa\u24c2\u25aa-\u25fe\u2600-\u27bf\u2934\u2935\u2b05-\u2b55\u3030\u303d\u3297\u3299"
_PICTOGRAPHS = _BMP_PICTOGRAPHS + "\U0001f000-\U0001f1e5\U0001f200-\U0001faff"
_EMOJI_PART = f"[{_PICTOGRAPHS}]\ufe0f?[\U0001f3fb-\U0001f3ff]?"
_EMOJI = f"[\U0001f1e6-\U0001f1ff]{{2}}|{_EMOJI_PART}(?:\u200d{_EMOJI_PART})*"
_HAS_BMP_PICTOGRAPH = re.compile(f"[{_BMP_PICTOGRAPHS}]")

_LETTER = rf"[^\W\d_{_SPECIAL_SCRIPTS}]"
# UAX#29 WB6/7 (MidLetter, MidNumLet between letters) and WB11/12 (MidNum, MidNumLet between
# digits): "don't", "u.s.a", "3.14", "1,000" stay one token; "wi-fi" or "a.1" do not.
_LETTER_JOINERS = "'\u2019.:\u00b7\u2018\u2024\ufe52\ufe55\uff07\uff0e\uff1a"
_DIGIT_JOINERS = ".,;'\u2019\u2018\u2024\ufe50\ufe52\ufe54\uff07\uff0c\uff0e\uff1b"


@functools.lru_cache(maxsize=1)
def _basic_plane_word_characters() -> str:
    """Every BMP character of \\w or a combining mark, as a class body of ranges.

    `re` compiles a class of BMP characters into a 64K bitmap (~28 MB/s for a word scan),
    while "\\w plus mark ranges" tests a list of ranges per character (~10-14 MB/s) — measured.
    """
    inside_word = bytearray(0x10000)
    for low, high in _inside_word_ranges():
        if low < 0x10000:
            inside_word[low:min(high, 0xFFFF) + 1] = b"\x01" * (min(high, 0xFFFF) + 1 - low)
    ranges: list[tuple[int, int]] = []
    for code_point in range(0x10000):
        if 0xD800 <= code_point < 0xE000:
            continue
        character = chr(code_point)
        if character.isalnum() or character == "_" or inside_word[code_point]:
            if ranges and ranges[-1][1] == code_point - 1:
                ranges[-1] = (ranges[-1][0], code_point)
            else:
                ranges.append((code_point, code_point))
    return _class_body_of_ranges(ranges)


@functools.lru_cache(maxsize=1)
def standard_token_pattern() -> re.Pattern[str]:
    """The exact pattern: special scripts split per character or run, words with UAX#29 joiners.

    Built on first use (compiling the big classes costs ~0.1-0.3 s; a process that never
    tokenises, like the HTTP front, should not pay it at import).
    """
    word_character = rf"(?:[^\W{_SPECIAL_SCRIPTS}]|[{_combining_mark_class()}])"
    standard_word = (
        rf"{word_character}+(?:(?:(?<={_LETTER})[{re.escape(_LETTER_JOINERS)}](?={_LETTER})"
        rf"|(?<=\d)[{re.escape(_DIGIT_JOINERS)}](?=\d)){word_character}+)*"
    )
    return re.compile(
        rf"(?P<ideographic>[{_IDEOGRAPHIC}])|(?P<hiragana>[{_HIRAGANA}])"
        rf"|(?P<katakana>[{_KATAKANA}]+)|(?P<hangul>[{_HANGUL}]+)|(?P<emoji>{_EMOJI})|(?P<word>{standard_word})"
    )


@functools.lru_cache(maxsize=1)
def coarse_word_pattern() -> re.Pattern[str]:
    """One class of literal characters, no per-character alternation (the fast path).

    It admits special scripts into words, which StandardTokenizer.tokenize then splits exactly;
    texts with characters beyond the BMP take the exact pattern.
    """
    word_character = f"[{_basic_plane_word_characters()}]"
    letter = r"[^\W\d_]"
    return re.compile(
        rf"{word_character}+(?:(?:(?<={letter})[{re.escape(_LETTER_JOINERS)}](?={letter})"
        rf"|(?<=\d)[{re.escape(_DIGIT_JOINERS)}](?=\d)){word_character}+)*"
    )


_SPECIAL_SCRIPT = re.compile(f"[{_SPECIAL_SCRIPTS}]")
_SPECIAL_GROUP_TYPES = {
    "ideographic": "<IDEOGRAPHIC>",
    "hiragana": "<HIRAGANA>",
    "katakana": "<KATAKANA>",
    "hangul": "<HANGUL>",
    "emoji": "<EMOJI>",
}
_HAS_ALPHANUMERIC = re.compile(r"[^\W_]")
_FIRST_CHARACTER = operator.itemgetter(0)
_HAS_LETTER = re.compile(_LETTER)
LETTER_RUN_PATTERN = re.compile(r"[^\W\d_]+")
_BEYOND_BASIC_PLANE = re.compile("[\U00010000-\U0010ffff]")


def beyond_basic_plane(text: str) -> bool:
    """Whether ``text`` holds a character beyond the BMP: ``max(text) > "\\uffff"`` as one regex scan
    (~9 ns a character here instead of ~36 for max, which makes a string per character)."""
    return _BEYOND_BASIC_PLANE.search(text) is not None
# Java's Character.isWhitespace: no-break spaces are not whitespace there.
WHITESPACE_RUN_PATTERN = re.compile(
    "[^ \t\n\x0b\x0c\r\x1c-\x1f\u1680\u2000-\u2006\u2008-\u200a\u2028\u2029\u205f\u3000]+"
)


def _split_long(term: str, start: int, token_type: str, max_token_length: int,
                output: list[RawToken]) -> None:
    # Lucene splits an over-long token at max_token_length intervals rather than dropping it.
    for chunk_start in range(0, len(term), max_token_length):
        chunk = term[chunk_start:chunk_start + max_token_length]
        output.append((chunk, start + chunk_start, start + chunk_start + len(chunk), token_type))


class Tokenizer:
    """Base of every tokenizer. `tokenize` gives offsets, `terms` is the cheap path."""

    name: str = "tokenizer"

    def tokenize(self, text: str) -> list[RawToken]:
        raise NotImplementedError

    def terms(self, text: str) -> list[str]:
        return [raw[0] for raw in self.tokenize(text)]


class StandardTokenizer(Tokenizer):
    name = "standard"

    def __init__(self, max_token_length: int = DEFAULT_MAX_TOKEN_LENGTH) -> None:
        if max_token_length < 1:
            raise AnalysisError(
                f"max_token_length must be at least 1, got [{max_token_length}]")
        self.max_token_length = max_token_length

    def _emit_word(self, term: str, start: int, end: int, output: list[RawToken]) -> None:
        if not term[0].isalnum() and not _HAS_ALPHANUMERIC.search(term):
            return  # underscores or marks alone are not a word
        token_type = "<ALPHANUM>" if _HAS_LETTER.search(term) else "<NUM>"
        if len(term) > self.max_token_length:
            _split_long(term, start, token_type, self.max_token_length, output)
        else:
            output.append((term, start, end, token_type))

    def _tokenize_exact(self, text: str, start: int, end: int, output: list[RawToken]) -> None:
        for match in standard_token_pattern().finditer(text, start, end):
            group_name = match.lastgroup
            if group_name == "word":
                self._emit_word(match.group(), match.start(), match.end(), output)
            else:
                special_term = match.group()
                token_type = _SPECIAL_GROUP_TYPES[group_name]
                if len(special_term) > self.max_token_length:
                    _split_long(special_term, match.start(), token_type, self.max_token_length, output)
                else:
                    output.append((special_term, match.start(), match.end(), token_type))

    def tokenize(self, text: str) -> list[RawToken]:
        output: list[RawToken] = []
        is_ascii = text.isascii()
        if not is_ascii and (beyond_basic_plane(text) or _HAS_BMP_PICTOGRAPH.search(text)):
            self._tokenize_exact(text, 0, len(text), output)
            return output
        has_special_scripts = not is_ascii and _SPECIAL_SCRIPT.search(text) is not None
        for coarse in coarse_word_pattern().finditer(text):
            term = coarse.group()
            if has_special_scripts and _SPECIAL_SCRIPT.search(term):
                # The coarse pattern lets CJK run into words; the exact pattern splits them. Its
                # tokens never cross a coarse token's bounds, so re-reading the span is exact.
                self._tokenize_exact(text, coarse.start(), coarse.end(), output)
            else:
                self._emit_word(term, coarse.start(), coarse.end(), output)
        return output

    def terms(self, text: str) -> list[str]:
        is_ascii = text.isascii()
        if is_ascii or (not beyond_basic_plane(text) and _HAS_BMP_PICTOGRAPH.search(text) is None):
            if is_ascii or _SPECIAL_SCRIPT.search(text) is None:
                terms = coarse_word_pattern().findall(text)
            else:
                # CJK without emoji: the exact pattern over the whole text is the reference
                # (tokenize equals it, property-tested); findall gives one tuple of groups per
                # match with exactly one group non-empty, so joining a tuple gives the match
                terms = list(map("".join, standard_token_pattern().findall(text)))
            if not terms:
                return terms
            # nothing to drop (a word of underscores or marks alone) and nothing to split
            if max(map(len, terms)) <= self.max_token_length and all(
                    map(str.isalnum, map(_FIRST_CHARACTER, terms))):
                return terms
        return [raw[0] for raw in self.tokenize(text)]


_COMMON_TOP_LEVEL_DOMAINS = ("com|org|net|edu|gov|mil|int|io|co|info|biz|dev|app|ai|me|tv|us|uk|de|fr|es|it|nl|"
                             "se|no|fi|dk|pl|ru|cn|jp|kr|in|br|au|ca|ch|at|be|eu")
_URL_OR_EMAIL = re.compile(
    r"(?P<email>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,})"
    r"|(?P<url>(?:(?:https?|ftp|file)://|www\.)[^\s<>\"'\])]*[^\s<>\"'\]).,;:!?]"
    rf"|\b(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+(?:{_COMMON_TOP_LEVEL_DOMAINS})\b(?:/[^\s<>\"']*[^\s<>\"'.,;:!?)])?)"
)


class UrlEmailTokenizer(StandardTokenizer):
    """uax_url_email: the standard tokenizer, but URLs and e-mail addresses stay one token.

    An approximation of Lucene's UAX29URLEmailTokenizer: schemes http(s)/ftp/file, `www.` and
    bare domains under common top-level domains (Lucene knows every IANA TLD).
    """

    name = "uax_url_email"

    def tokenize(self, text: str) -> list[RawToken]:
        output: list[RawToken] = []
        cursor = 0
        for match in _URL_OR_EMAIL.finditer(text):
            if match.start() > cursor:
                output.extend((term, start + cursor, end + cursor, token_type) for term, start, end, token_type
                              in super().tokenize(text[cursor:match.start()]))
            token_type = "<EMAIL>" if match.lastgroup == "email" else "<URL>"
            term = match.group()
            if len(term) > self.max_token_length:
                _split_long(term, match.start(), token_type, self.max_token_length, output)
            else:
                output.append((term, match.start(), match.end(), token_type))
            cursor = match.end()
        if cursor < len(text):
            output.extend((term, start + cursor, end + cursor, token_type) for term, start, end, token_type
                          in super().tokenize(text[cursor:]))
        return output

    def terms(self, text: str) -> list[str]:
        return [raw[0] for raw in self.tokenize(text)]


class _RunTokenizer(Tokenizer):
    """Maximal runs of a character class, split at max_token_length (letter, whitespace)."""

    pattern: re.Pattern[str]

    def __init__(self, max_token_length: int = DEFAULT_MAX_TOKEN_LENGTH) -> None:
        if max_token_length < 1:
            raise AnalysisError(
                f"max_token_length must be at least 1, got [{max_token_length}]")
        self.max_token_length = max_token_length

    def tokenize(self, text: str) -> list[RawToken]:
        output: list[RawToken] = []
        max_length = self.max_token_length
        for match in self.pattern.finditer(text):
            term = match.group()
            if len(term) > max_length:
                _split_long(term, match.start(), "word", max_length, output)
            else:
                output.append((term, match.start(), match.end(), "word"))
        return output

    def terms(self, text: str) -> list[str]:
        terms = self.pattern.findall(text)
        if any(len(term) > self.max_token_length for term in terms):
            return [raw[0] for raw in self.tokenize(text)]
        return terms


class LetterTokenizer(_RunTokenizer):
    name = "letter"
    pattern = LETTER_RUN_PATTERN


class LowercaseTokenizer(LetterTokenizer):
    """Lucene's LowerCaseTokenizer: letter runs, lowercased."""

    name = "lowercase"

    def tokenize(self, text: str) -> list[RawToken]:
        return [(term.lower(), start, end, token_type) for term, start, end, token_type in super().tokenize(text)]

    def terms(self, text: str) -> list[str]:
        return [term.lower() for term in super().terms(text)]


class WhitespaceTokenizer(_RunTokenizer):
    name = "whitespace"
    pattern = WHITESPACE_RUN_PATTERN

    def terms(self, text: str) -> list[str]:
        if text.isascii():
            # on ASCII, str.split's whitespace is exactly Java's Character.isWhitespace set
            terms = text.split()
            if not terms or max(map(len, terms)) <= self.max_token_length:
                return terms
        return super().terms(text)


class KeywordTokenizer(Tokenizer):
    """The whole input as one token (Lucene emits it even when the input is empty)."""

    name = "keyword"

    def tokenize(self, text: str) -> list[RawToken]:
        return [(text, 0, len(text), "word")]

    def terms(self, text: str) -> list[str]:
        return [text]


class PatternTokenizer(Tokenizer):
    """Splits on a regex (group -1, the default) or emits a capture group's matches."""

    name = "pattern"

    def __init__(self, pattern: str = r"\W+", flags: str = "", group: int = -1) -> None:
        # Java's \w, \d, \s and case folding are ASCII-only unless UNICODE_CHARACTER_CLASS is set
        regex_flags = re.ASCII
        flag_names = [flag.strip() for flag in (flags or "").split("|") if flag.strip()]
        if "UNICODE_CHARACTER_CLASS" in flag_names:
            regex_flags = 0
        for flag_name in flag_names:
            flag_value = {"CASE_INSENSITIVE": re.IGNORECASE, "MULTILINE": re.MULTILINE,
                          "DOTALL": re.DOTALL, "COMMENTS": re.VERBOSE,
                          "UNICODE_CASE": 0, "UNICODE_CHARACTER_CLASS": 0}.get(flag_name)
            if flag_value is None:
                raise AnalysisError(f"unknown regex flag [{flag_name}] in pattern tokenizer")
            regex_flags |= flag_value
        try:
            self.pattern = re.compile(pattern, regex_flags)
        except re.error as error:
            raise AnalysisError(f"invalid pattern [{pattern}]: {error}") from None
        self.group = int(group)

    def tokenize(self, text: str) -> list[RawToken]:
        output: list[RawToken] = []
        if self.group >= 0:
            for match in self.pattern.finditer(text):
                if match.group(self.group):
                    output.append((match.group(self.group), match.start(self.group),
                                   match.end(self.group), "word"))
            return output
        previous_end = 0
        for match in self.pattern.finditer(text):
            if match.start() > previous_end:
                output.append((text[previous_end:match.start()], previous_end, match.start(), "word"))
            previous_end = max(previous_end, match.end())
        if previous_end < len(text):
            output.append((text[previous_end:], previous_end, len(text), "word"))
        return output


_TOKEN_CHAR_CLASSES = {
    "letter": lambda character: character.isalpha(),
    "digit": lambda character: character.isdigit(),
    "whitespace": lambda character: character.isspace(),
    "punctuation": lambda character: unicodedata.category(character).startswith("P"),
    "symbol": lambda character: unicodedata.category(character).startswith("S"),
}


class NGramTokenizer(Tokenizer):
    """Grams of min_gram..max_gram characters over runs of token_chars (all chars if empty)."""

    name = "ngram"
    edge_only = False

    def __init__(self, min_gram: int = 1, max_gram: int = 2,
                 token_chars: list[str] | None = None) -> None:
        if min_gram < 1 or max_gram < min_gram:
            raise AnalysisError(
                f"ngram tokenizer needs 1 <= min_gram <= max_gram, got min_gram [{min_gram}]"
                f" and max_gram [{max_gram}]")
        self.min_gram = min_gram
        self.max_gram = max_gram
        for class_name in token_chars or []:
            if class_name not in _TOKEN_CHAR_CLASSES:
                raise AnalysisError(f"unknown token type: [{class_name}], must be one of "
                                    f"{sorted(_TOKEN_CHAR_CLASSES)}")
        self.token_chars = [_TOKEN_CHAR_CLASSES[name] for name in token_chars or []]

    def _runs(self, text: str) -> list[tuple[int, int]]:
        if not self.token_chars:
            return [(0, len(text))] if text else []
        runs: list[tuple[int, int]] = []
        run_start = None
        for index, character in enumerate(text):
            keep = any(test(character) for test in self.token_chars)
            if keep and run_start is None:
                run_start = index
            elif not keep and run_start is not None:
                runs.append((run_start, index))
                run_start = None
        if run_start is not None:
            runs.append((run_start, len(text)))
        return runs

    def tokenize(self, text: str) -> list[RawToken]:
        output: list[RawToken] = []
        for run_start, run_end in self._runs(text):
            starts = [run_start] if self.edge_only else range(run_start, run_end)
            for gram_start in starts:
                for length in range(self.min_gram, self.max_gram + 1):
                    if gram_start + length > run_end:
                        break
                    output.append((text[gram_start:gram_start + length], gram_start,
                                   gram_start + length, "word"))
        return output


class EdgeNGramTokenizer(NGramTokenizer):
    name = "edge_ngram"
    edge_only = True


def build_tokenizer(type_name: str, parameters: dict[str, Any], definition_name: str) -> Tokenizer:
    """A tokenizer from its settings (`type` plus parameters); AnalysisError if unknown."""

    def integer(key: str, default: int) -> int:
        value = parameters.get(key, default)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise AnalysisError(
                f"failed to parse [{key}] of tokenizer [{definition_name}]: expected an integer,"
                f" got [{value}]") from None

    if type_name in ("standard", "classic"):
        return StandardTokenizer(integer("max_token_length", DEFAULT_MAX_TOKEN_LENGTH))
    if type_name == "uax_url_email":
        return UrlEmailTokenizer(integer("max_token_length", DEFAULT_MAX_TOKEN_LENGTH))
    if type_name == "letter":
        return LetterTokenizer(integer("max_token_length", DEFAULT_MAX_TOKEN_LENGTH))
    if type_name == "lowercase":
        return LowercaseTokenizer(integer("max_token_length", DEFAULT_MAX_TOKEN_LENGTH))
    if type_name == "whitespace":
        return WhitespaceTokenizer(integer("max_token_length", DEFAULT_MAX_TOKEN_LENGTH))
    if type_name == "keyword":
        return KeywordTokenizer()
    if type_name == "pattern":
        return PatternTokenizer(parameters.get("pattern", r"\W+"), parameters.get("flags", ""),
                                integer("group", -1))
    if type_name in ("ngram", "nGram"):
        return NGramTokenizer(integer("min_gram", 1), integer("max_gram", 2),
                              parameters.get("token_chars"))
    if type_name in ("edge_ngram", "edgeNGram"):
        return EdgeNGramTokenizer(integer("min_gram", 1), integer("max_gram", 2),
                                  parameters.get("token_chars"))
    raise AnalysisError(f"failed to find global tokenizer under [{type_name}]")


BUILT_IN_TOKENIZER_NAMES = ("standard", "classic", "uax_url_email", "letter", "lowercase", "whitespace", "keyword",
                            "pattern", "ngram", "edge_ngram")
