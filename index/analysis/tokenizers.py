"""Tokenizers: text in, raw tokens (term, start, end, type) out, positions consecutive.

Owns word segmentation for the standard, letter, whitespace, keyword, pattern, ngram and
edge_ngram tokenizers. The standard tokenizer approximates Unicode UAX#29 word boundaries with a
regular expression (differences are listed in docs/analysis.md). It must never lowercase or
otherwise normalise terms: that is the token filters' job, as in Lucene.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from index.errors import AnalysisError

RawToken = tuple[str, int, int, str]  # term, start_offset, end_offset, type

DEFAULT_MAX_TOKEN_LENGTH = 255


# UAX#29 WB4: Extend (marks) and Format characters (soft hyphen, joiners, bidi marks) never break
# a word. The zero-width space is not Format in the word-break tables, so it still separates.
_INSIDE_WORD_CATEGORIES = ("Mn", "Mc", "Me", "Cf")


def _combining_mark_class() -> str:
    """Every combining mark (Mn, Mc, Me) as a regex class body.

    Python's \\w excludes marks, but UAX#29 keeps them inside a word (Extend), so without them
    Devanagari or decomposed Latin would be cut at every vowel sign or accent.
    """
    ranges: list[tuple[int, int]] = []
    for code_point in range(0xAD, 0xE0080):
        if unicodedata.category(chr(code_point)) in _INSIDE_WORD_CATEGORIES and code_point != 0x200B:
            if ranges and ranges[-1][1] == code_point - 1:
                ranges[-1] = (ranges[-1][0], code_point)
            else:
                ranges.append((code_point, code_point))
    return "".join(
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
        for low, high in ranges
    )


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


def _basic_plane_word_characters() -> str:
    """Every BMP character of \\w or a combining mark, spelled out one by one.

    `re` compiles a class of literal BMP characters into a 64K bitmap (~28 MB/s for a word scan),
    while "\\w plus mark ranges" tests a list of ranges per character (~10-14 MB/s) — measured.
    """
    characters = [
        character for character in map(chr, range(0x10000))
        if not 0xD800 <= ord(character) < 0xE000
        and (character.isalnum() or character == "_"
             or (unicodedata.category(character) in _INSIDE_WORD_CATEGORIES and character != "\u200b"))
    ]
    return re.escape("".join(characters))


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
_HAS_LETTER = re.compile(_LETTER)
LETTER_RUN_PATTERN = re.compile(r"[^\W\d_]+")
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
        if not is_ascii and (max(text) > "\uffff" or _HAS_BMP_PICTOGRAPH.search(text)):
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
        if text.isascii() or (max(text) <= "\uffff" and _SPECIAL_SCRIPT.search(text) is None
                              and _HAS_BMP_PICTOGRAPH.search(text) is None):
            terms = coarse_word_pattern().findall(text)
            if not terms:
                return terms
            if max(map(len, terms)) <= self.max_token_length and all(
                    term[0].isalnum() for term in terms):
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
