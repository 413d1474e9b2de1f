"""Token filters: lowercase, uppercase, asciifolding, stop, stemmers, length, unique, trim,
truncate, ngram/edge_ngram, reverse, and the english possessive filter.

Each filter works on two shapes: full tokens (with offsets, for `_analyze` and highlighting) and
the cheap (terms, positions) pair the indexer uses. Both shapes must give the same terms and
positions; the property tests hold them together. A filter never tokenises.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from itertools import compress
from typing import Any

import numpy as np

import Stemmer

from index.analysis.porter import PorterStemmer
from index.analysis.stopwords import ENGLISH_STOP_WORDS, PREDEFINED_STOP_WORD_LISTS
from index.analysis.tokens import Token
from index.errors import AnalysisError


class TokenFilter:
    """Base: subclasses override `filter_terms` and, if they add or drop tokens, `filter_tokens`."""

    name = "filter"

    def map_term(self, term: str) -> str:  # for one-to-one filters
        raise NotImplementedError

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        map_term = self.map_term
        return [map_term(term) for term in terms], positions

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        map_term = self.map_term
        return [Token(map_term(token.term), token.position, token.start_offset,
                      token.end_offset, token.type) for token in tokens]

    def filter_batch(self, terms: list[str]) -> tuple[list[str], np.ndarray | None]:
        """A whole batch's terms at once, for filters that look at one token at a time.

        Returns the new terms and, if tokens were dropped, the boolean mask of kept input tokens.
        """
        # positions carry input indices, so a filter that only drops tokens yields its keep-mask
        filtered, carried = self.filter_terms(terms, list(range(len(terms))))
        if len(filtered) == len(terms):
            return filtered, None
        if len(filtered) > len(terms):
            raise AnalysisError(f"filter [{self.name}] adds tokens and cannot run over a whole batch")
        mask = np.zeros(len(terms), dtype=bool)
        mask[np.asarray(carried, dtype=np.int64)] = True
        return filtered, mask


class LowercaseFilter(TokenFilter):
    name = "lowercase"

    def map_term(self, term: str) -> str:
        return term.lower()

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        return [term.lower() for term in terms], positions


class UppercaseFilter(TokenFilter):
    name = "uppercase"

    def map_term(self, term: str) -> str:
        return term.upper()


# Letters that do not decompose under NFKD but that Lucene's ASCIIFoldingFilter folds.
_FOLDING_EXCEPTIONS = str.maketrans({
    "ß": "ss", "Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "Ł": "L", "ł": "l",
    "Œ": "OE", "œ": "oe", "Þ": "TH", "þ": "th", "Ð": "D", "ð": "d", "ı": "i", "Ħ": "H", "ħ": "h",
    "ŋ": "n", "Ŋ": "N", "ſ": "s", "“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-",
    "«": '"', "»": '"', "…": "...",
})


@functools.lru_cache(maxsize=8192)
def _fold_character(character: str) -> str:
    """One character's ASCII folding, or the character itself when it has none.

    Lucene's ASCIIFoldingFilter only folds characters with an ASCII equivalent (Latin letters with
    accents, ligatures, typographic symbols); decomposing everything would also break Hangul
    syllables into jamo and strip the voicing marks of kana.
    """
    if character.isascii():
        return character
    excepted = character.translate(_FOLDING_EXCEPTIONS)
    if excepted != character:
        return excepted
    folded = "".join(part for part in unicodedata.normalize("NFKD", character) if not unicodedata.combining(part))
    return folded if folded and folded.isascii() else character


class AsciiFoldingFilter(TokenFilter):
    name = "asciifolding"

    def __init__(self, preserve_original: bool = False) -> None:
        self.preserve_original = preserve_original

    def map_term(self, term: str) -> str:
        if term.isascii():
            return term
        return "".join(_fold_character(character) for character in term)

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        if not self.preserve_original:
            return [self.map_term(term) for term in terms], positions
        tokens = self.filter_tokens([Token(term, position, 0, 0) for term, position in zip(terms, positions)])
        return [token.term for token in tokens], [token.position for token in tokens]

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        output: list[Token] = []
        for token in tokens:
            folded = self.map_term(token.term)
            output.append(Token(folded, token.position, token.start_offset, token.end_offset, token.type))
            if self.preserve_original and folded != token.term:
                # Lucene emits the folded term first, then the original at the same position.
                output.append(token)
        return output


class StopFilter(TokenFilter):
    """Drops stop words; the next kept token keeps its own position, so a gap remains."""

    name = "stop"

    def __init__(self, stop_words: frozenset[str] = ENGLISH_STOP_WORDS, ignore_case: bool = False,
                 remove_trailing: bool = True) -> None:
        self.ignore_case = ignore_case
        self.stop_words = frozenset(word.lower() for word in stop_words) if ignore_case else stop_words
        self.remove_trailing = remove_trailing

    def _is_stop(self, term: str) -> bool:
        return (term.lower() if self.ignore_case else term) in self.stop_words

    def _keep(self, count: int, terms: list[str]) -> list[bool]:
        keep = [not self._is_stop(term) for term in terms]
        if not self.remove_trailing and count and not keep[-1]:
            keep[-1] = True  # remove_trailing=false keeps a final stop word (search-as-you-type)
        return keep

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        keep = self._keep(len(terms), terms)
        return ([term for term, kept in zip(terms, keep) if kept],
                [position for position, kept in zip(positions, keep) if kept])

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        keep = self._keep(len(tokens), [token.term for token in tokens])
        return [token for token, kept in zip(tokens, keep) if kept]

    def filter_batch(self, terms: list[str]) -> tuple[list[str], np.ndarray | None]:
        stop_words = self.stop_words
        if self.ignore_case:
            keep = [term.lower() not in stop_words for term in terms]
        else:
            keep = [term not in stop_words for term in terms]
        return list(compress(terms, keep)), np.array(keep, dtype=bool)


class StemmerFilter(TokenFilter):
    """Snowball stemmers from PyStemmer (C); see ADR 0004 for the english/porter choice.

    PyStemmer's Stemmer objects are not thread-safe, and searches analyse on several threads, so
    each thread gets its own.
    """

    name = "stemmer"

    def __init__(self, snowball_algorithm: str) -> None:
        self.snowball_algorithm = snowball_algorithm
        self._per_thread = threading.local()
        Stemmer.Stemmer(snowball_algorithm)  # fail now, not on first use, for an unknown language

    @property
    def stemmer(self) -> Any:
        stemmer = getattr(self._per_thread, "stemmer", None)
        if stemmer is None:
            stemmer = self._per_thread.stemmer = Stemmer.Stemmer(self.snowball_algorithm)
        return stemmer

    def map_term(self, term: str) -> str:
        return self.stemmer.stemWord(term)

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        return self.stemmer.stemWords(terms), positions

    def filter_batch(self, terms: list[str]) -> tuple[list[str], np.ndarray | None]:
        # A batch repeats words a lot: stem each distinct term once (~5x cheaper per token).
        distinct = list(dict.fromkeys(terms))
        stem_of = dict(zip(distinct, self.stemmer.stemWords(distinct)))
        return [stem_of[term] for term in terms], None


class PorterStemFilter(TokenFilter):
    """Lucene's PorterStemFilter (the reference Porter algorithm, memoised): see porter.py."""

    name = "porter_stem"

    def __init__(self) -> None:
        self.stemmer = PorterStemmer()

    def map_term(self, term: str) -> str:
        return self.stemmer.stem(term)

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        return self.stemmer.stem_words(terms), positions

    def filter_batch(self, terms: list[str]) -> tuple[list[str], np.ndarray | None]:
        return self.stemmer.stem_words(terms), None


class MinimalEnglishStemFilter(TokenFilter):
    """Lucene's EnglishMinimalStemmer: plural stripping only (ies→y, es→e, s→'')."""

    name = "minimal_english"

    def map_term(self, term: str) -> str:
        length = len(term)
        if length < 3 or term[-1] != "s":
            return term
        second_last = term[-2]
        if second_last in ("u", "s"):
            return term
        if second_last == "e":
            if length > 3 and term[-3] == "i" and term[-4] not in ("a", "e"):
                return term[:-3] + "y"
            if term[-3] in ("i", "a", "o", "e"):
                return term
            return term[:-1]
        return term[:-1]


class EnglishPossessiveFilter(TokenFilter):
    """Removes a trailing 's (any of Lucene's three apostrophes) from each term."""

    name = "english_possessive"
    _SUFFIXES = ("'s", "'S", "\u2019s", "\u2019S", "\uff07s", "\uff07S")

    def map_term(self, term: str) -> str:
        return term[:-2] if term.endswith(self._SUFFIXES) else term

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        suffixes = self._SUFFIXES
        return [term[:-2] if term.endswith(suffixes) else term for term in terms], positions


class LengthFilter(TokenFilter):
    name = "length"

    def __init__(self, minimum: int = 0, maximum: int = 2**31 - 1) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        keep = [self.minimum <= len(term) <= self.maximum for term in terms]
        return ([term for term, kept in zip(terms, keep) if kept],
                [position for position, kept in zip(positions, keep) if kept])

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        return [token for token in tokens if self.minimum <= len(token.term) <= self.maximum]

    def filter_batch(self, terms: list[str]) -> tuple[list[str], np.ndarray | None]:
        minimum, maximum = self.minimum, self.maximum
        keep = [minimum <= len(term) <= maximum for term in terms]
        return list(compress(terms, keep)), np.array(keep, dtype=bool)


class UniqueFilter(TokenFilter):
    name = "unique"

    def __init__(self, only_on_same_position: bool = False) -> None:
        self.only_on_same_position = only_on_same_position

    def _keys(self, terms: list[str], positions: list[int]) -> list[bool]:
        seen: set = set()
        keep: list[bool] = []
        for term, position in zip(terms, positions):
            key = (term, position) if self.only_on_same_position else term
            keep.append(key not in seen)
            seen.add(key)
        return keep

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        keep = self._keys(terms, positions)
        return ([term for term, kept in zip(terms, keep) if kept],
                [position for position, kept in zip(positions, keep) if kept])

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        keep = self._keys([token.term for token in tokens], [token.position for token in tokens])
        return [token for token, kept in zip(tokens, keep) if kept]


class TrimFilter(TokenFilter):
    name = "trim"

    def map_term(self, term: str) -> str:
        return term.strip()


class TruncateFilter(TokenFilter):
    name = "truncate"

    def __init__(self, length: int = 10) -> None:
        if length < 1:
            raise AnalysisError(f"length parameter must be provided and be at least 1, got [{length}]")
        self.length = length

    def map_term(self, term: str) -> str:
        return term[:self.length]


class ReverseFilter(TokenFilter):
    name = "reverse"

    def map_term(self, term: str) -> str:
        return term[::-1]


class NGramFilter(TokenFilter):
    """Grams of each term; all grams of one term share its position (as Lucene since 4.4)."""

    name = "ngram"
    edge_only = False

    def __init__(self, min_gram: int = 1, max_gram: int = 2) -> None:
        if min_gram < 1 or max_gram < min_gram:
            raise AnalysisError(
                f"ngram filter needs 1 <= min_gram <= max_gram, got min_gram [{min_gram}] and"
                f" max_gram [{max_gram}]")
        self.min_gram = min_gram
        self.max_gram = max_gram

    def _grams(self, term: str) -> list[str]:
        grams: list[str] = []
        starts = [0] if self.edge_only else range(len(term))
        if self.edge_only:
            return [term[:length] for length in range(self.min_gram, min(self.max_gram, len(term)) + 1)]
        for length in range(self.min_gram, self.max_gram + 1):
            for start in starts:
                if start + length <= len(term):
                    grams.append(term[start:start + length])
        return grams

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        output_terms: list[str] = []
        output_positions: list[int] = []
        for term, position in zip(terms, positions):
            grams = self._grams(term)
            output_terms.extend(grams)
            output_positions.extend([position] * len(grams))
        return output_terms, output_positions

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        return [Token(gram, token.position, token.start_offset, token.end_offset, token.type)
                for token in tokens for gram in self._grams(token.term)]


class EdgeNGramFilter(NGramFilter):
    name = "edge_ngram"
    edge_only = True


class ShingleFilter(TokenFilter):
    """Word n-grams ("quick brown") at the position of their first word, after the unigrams."""

    name = "shingle"

    def __init__(self, min_size: int = 2, max_size: int = 2, output_unigrams: bool = True,
                 separator: str = " ") -> None:
        if min_size < 2 or max_size < min_size:
            raise AnalysisError(f"shingle sizes must satisfy 2 <= min_shingle_size <= max_shingle_size, got"
                                f" [{min_size}] and [{max_size}]")
        self.min_size = min_size
        self.max_size = max_size
        self.output_unigrams = output_unigrams
        self.separator = separator

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        output: list[Token] = []
        for index, token in enumerate(tokens):
            if self.output_unigrams:
                output.append(token)
            for size in range(self.min_size, self.max_size + 1):
                if index + size > len(tokens):
                    break
                window = tokens[index:index + size]
                output.append(Token(self.separator.join(item.term for item in window), token.position,
                                    token.start_offset, window[-1].end_offset, "shingle"))
        return output

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        tokens = self.filter_tokens([Token(term, position, 0, 0) for term, position in zip(terms, positions)])
        return [token.term for token in tokens], [token.position for token in tokens]


class KeywordMarkerFilter(TokenFilter):
    """Marks terms the stemmers after it must leave alone (keyword_marker, stem_exclusion).

    It changes no term itself; the registry hands its test to the stemmers that follow it
    (ProtectedStemFilter), which is what Lucene's KeywordAttribute achieves.
    """

    name = "keyword_marker"

    def __init__(self, keywords: frozenset[str] = frozenset(), pattern: str | None = None,
                 ignore_case: bool = False) -> None:
        self.ignore_case = ignore_case
        self.keywords = frozenset(word.lower() for word in keywords) if ignore_case else keywords
        try:
            self.pattern = re.compile(pattern) if pattern else None
        except re.error as error:
            raise AnalysisError(f"invalid keywords_pattern [{pattern}]: {error}") from None

    def is_keyword(self, term: str) -> bool:
        if (term.lower() if self.ignore_case else term) in self.keywords:
            return True
        return self.pattern is not None and self.pattern.fullmatch(term) is not None

    def map_term(self, term: str) -> str:
        return term

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        return terms, positions

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        return tokens

    def filter_batch(self, terms: list[str]) -> tuple[list[str], np.ndarray | None]:
        return terms, None


class ProtectedStemFilter(TokenFilter):
    """A stemmer that skips the terms a preceding keyword marker protects."""

    name = "protected_stemmer"

    def __init__(self, stemmer: TokenFilter, markers: tuple[KeywordMarkerFilter, ...]) -> None:
        self.stemmer = stemmer
        self.markers = markers

    def _protected(self, term: str) -> bool:
        return any(marker.is_keyword(term) for marker in self.markers)

    def map_term(self, term: str) -> str:
        return term if self._protected(term) else self.stemmer.map_term(term)

    def filter_batch(self, terms: list[str]) -> tuple[list[str], np.ndarray | None]:
        distinct = list(dict.fromkeys(terms))
        stem_of = {term: self.map_term(term) for term in distinct}
        return [stem_of[term] for term in terms], None


class ElisionFilter(TokenFilter):
    """Removes elided articles ("l'avion" → "avion")."""

    name = "elision"
    DEFAULT_ARTICLES = frozenset({"l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu"})

    def __init__(self, articles: frozenset[str] = DEFAULT_ARTICLES, articles_case: bool = False) -> None:
        self.ignore_case = not articles_case
        self.articles = frozenset(article.lower() for article in articles) if self.ignore_case else articles

    def map_term(self, term: str) -> str:
        for index, character in enumerate(term):
            if character in ("'", "\u2019"):
                article = term[:index]
                if (article.lower() if self.ignore_case else article) in self.articles:
                    return term[index + 1:]
                return term
        return term


class ApostropheFilter(TokenFilter):
    """Strips everything from the first apostrophe on (Turkish: "Türkiye'de" → "Türkiye")."""

    name = "apostrophe"

    def map_term(self, term: str) -> str:
        for index, character in enumerate(term):
            if character in ("'", "\u2019"):
                return term[:index]
        return term


class DecimalDigitFilter(TokenFilter):
    """Unicode decimal digits of any script → ASCII digits."""

    name = "decimal_digit"

    def map_term(self, term: str) -> str:
        if term.isascii():
            return term
        return "".join(str(unicodedata.decimal(character)) if character.isdecimal() else character
                       for character in term)


class PatternReplaceFilter(TokenFilter):
    name = "pattern_replace"

    def __init__(self, pattern: str, replacement: str = "", replace_all: bool = True) -> None:
        try:
            self.pattern = re.compile(pattern, re.ASCII)  # Java's character classes are ASCII-only
        except re.error as error:
            raise AnalysisError(f"invalid pattern [{pattern}]: {error}") from None
        self.replacement = re.sub(r"\$(\d+)", r"\\\1", replacement)
        self.count = 0 if replace_all else 1

    def map_term(self, term: str) -> str:
        return self.pattern.sub(self.replacement, term, count=self.count)


class _DroppingFilter(TokenFilter):
    """Base of filters that keep or drop each token on its own (keep, keep_types, limit...)."""

    def keep(self, token: Token) -> bool:
        raise NotImplementedError

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        return [token for token in tokens if self.keep(token)]

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        kept = [self.keep(Token(term, position, 0, 0)) for term, position in zip(terms, positions)]
        return ([term for term, keep in zip(terms, kept) if keep],
                [position for position, keep in zip(positions, kept) if keep])


class KeepWordsFilter(_DroppingFilter):
    name = "keep"

    def __init__(self, words: frozenset[str], lowercase_words: bool = False) -> None:
        # keep_words_case lowercases the word list only (tokens are compared as they are)
        self.words = frozenset(word.lower() for word in words) if lowercase_words else words

    def keep(self, token: Token) -> bool:
        return token.term in self.words


class KeepTypesFilter(TokenFilter):
    """Keeps (or, in exclude mode, drops) tokens by type; the cheap path has no types, so it
    re-runs the full analysis (see Analyzer.terms_and_positions)."""

    name = "keep_types"
    needs_types = True

    def __init__(self, types: frozenset[str], include: bool = True) -> None:
        self.types = types
        self.include = include

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        return [token for token in tokens if (token.type in self.types) == self.include]


class LimitFilter(TokenFilter):
    name = "limit"

    def __init__(self, max_token_count: int = 1) -> None:
        self.max_token_count = max_token_count

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        return tokens[:self.max_token_count]

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        return terms[:self.max_token_count], positions[:self.max_token_count]


class RemoveDuplicatesFilter(TokenFilter):
    """Drops a token equal to an earlier one at the same position."""

    name = "remove_duplicates"

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        seen: set[tuple[str, int]] = set()
        output = []
        for token in tokens:
            key = (token.term, token.position)
            if key not in seen:
                seen.add(key)
                output.append(token)
        return output

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        tokens = self.filter_tokens([Token(term, position, 0, 0) for term, position in zip(terms, positions)])
        return [token.term for token in tokens], [token.position for token in tokens]


class FingerprintFilter(TokenFilter):
    """All distinct terms, sorted, joined by a separator into one token (dropped if too long)."""

    name = "fingerprint"

    def __init__(self, separator: str = " ", max_output_size: int = 255) -> None:
        self.separator = separator
        self.max_output_size = max_output_size

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        if not tokens:
            return []
        joined = self.separator.join(sorted({token.term for token in tokens}))
        if len(joined) > self.max_output_size:
            return []
        return [Token(joined, 0, tokens[0].start_offset, tokens[-1].end_offset, "fingerprint")]

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        tokens = self.filter_tokens([Token(term, position, 0, 0) for term, position in zip(terms, positions)])
        return [token.term for token in tokens], [token.position for token in tokens]


class IdentityFilter(TokenFilter):
    """flatten_graph: our token streams are already flat, so there is nothing to do."""

    name = "flatten_graph"

    def map_term(self, term: str) -> str:
        return term

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        return terms, positions

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        return tokens

    def filter_batch(self, terms: list[str]) -> tuple[list[str], np.ndarray | None]:
        return terms, None


def _word_list(value: Any, key: str, filter_name: str) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(word.strip() for word in value.split(",") if word.strip())
    if isinstance(value, list) and all(isinstance(word, str) for word in value):
        return frozenset(value)
    raise AnalysisError(f"[{key}] of [{filter_name}] must be a list of strings, got [{value}]")


# OpenSearch `stemmer` language names → (snowball algorithm | special filter name).
STEMMER_LANGUAGES: dict[str, str] = {
    "english": "lucene_porter", "porter": "lucene_porter", "porter2": "english",
    "light_english": "minimal_english",  # KStem is not available: documented approximation
    "minimal_english": "minimal_english", "possessive_english": "english_possessive",
    "arabic": "arabic", "armenian": "armenian", "basque": "basque", "catalan": "catalan",
    "danish": "danish", "dutch": "dutch", "finnish": "finnish", "french": "french",
    "light_french": "french", "german": "german", "light_german": "german",
    "german2": "german", "greek": "greek", "hindi": "hindi", "hungarian": "hungarian",
    "indonesian": "indonesian", "irish": "irish", "italian": "italian",
    "light_italian": "italian", "lithuanian": "lithuanian", "norwegian": "norwegian",
    "portuguese": "portuguese", "light_portuguese": "portuguese", "romanian": "romanian",
    "russian": "russian", "light_russian": "russian", "spanish": "spanish",
    "light_spanish": "spanish", "swedish": "swedish", "light_swedish": "swedish",
    "turkish": "turkish",
}


def stemmer_for_language(language: str) -> TokenFilter:
    target = STEMMER_LANGUAGES.get(language)
    if target is None:
        raise AnalysisError(f"unknown stemmer language [{language}]")
    if target == "lucene_porter":
        return PorterStemFilter()
    if target == "minimal_english":
        return MinimalEnglishStemFilter()
    if target == "english_possessive":
        return EnglishPossessiveFilter()
    return StemmerFilter(target)


def stop_words_from_setting(value: Any, filter_name: str) -> frozenset[str]:
    if value is None:
        return ENGLISH_STOP_WORDS
    if isinstance(value, str):
        if value in PREDEFINED_STOP_WORD_LISTS:
            return PREDEFINED_STOP_WORD_LISTS[value]
        if value.startswith("_") and value.endswith("_"):
            raise AnalysisError(f"unknown stop word list [{value}] in [{filter_name}]:"
                                f" only {sorted(PREDEFINED_STOP_WORD_LISTS)} are available")
        return frozenset(word.strip() for word in value.split(",") if word.strip())
    if isinstance(value, list) and all(isinstance(word, str) for word in value):
        words: set[str] = set()
        for word in value:
            if word in PREDEFINED_STOP_WORD_LISTS:
                words |= PREDEFINED_STOP_WORD_LISTS[word]
            else:
                words.add(word)
        return frozenset(words)
    raise AnalysisError(f"[stopwords] of [{filter_name}] must be a list of strings or a named"
                        f" list like _english_, got [{value}]")


def _boolean(value: Any, key: str, filter_name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise AnalysisError(f"failed to parse [{key}] of filter [{filter_name}]: expected true or"
                        f" false, got [{value}]")


def _integer(value: Any, key: str, filter_name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise AnalysisError(f"failed to parse [{key}] of filter [{filter_name}]: expected an"
                            f" integer, got [{value}]") from None


def build_token_filter(type_name: str, parameters: dict[str, Any], definition_name: str) -> TokenFilter:
    """A token filter from its settings (`type` plus parameters); AnalysisError if unknown."""
    if type_name == "lowercase":
        if parameters.get("language") not in (None, "greek", "irish", "turkish"):
            raise AnalysisError(f"unknown lowercase language [{parameters['language']}]")
        return LowercaseFilter()
    if type_name == "uppercase":
        return UppercaseFilter()
    if type_name == "asciifolding":
        return AsciiFoldingFilter(_boolean(parameters.get("preserve_original", False),
                                           "preserve_original", definition_name))
    if type_name == "stop":
        if "stopwords_path" in parameters:
            raise AnalysisError(f"[stopwords_path] of [{definition_name}] is not supported:"
                                " give the words inline with [stopwords]")
        return StopFilter(stop_words_from_setting(parameters.get("stopwords"), definition_name),
                          _boolean(parameters.get("ignore_case", False), "ignore_case", definition_name),
                          _boolean(parameters.get("remove_trailing", True), "remove_trailing",
                                   definition_name))
    if type_name == "stemmer":
        language = parameters.get("language", parameters.get("name", "english"))
        return stemmer_for_language(str(language))
    if type_name == "porter_stem":
        return PorterStemFilter()
    if type_name == "snowball":
        language = str(parameters.get("language", "English")).lower()
        if language not in Stemmer.algorithms():
            raise AnalysisError(f"unknown snowball language [{parameters.get('language')}]")
        return StemmerFilter(language)
    if type_name == "kstem":
        return MinimalEnglishStemFilter()  # documented approximation (no KStem in Python)
    if type_name in ("english_possessive", "possessive_english"):
        return EnglishPossessiveFilter()
    if type_name == "length":
        return LengthFilter(_integer(parameters.get("min", 0), "min", definition_name),
                            _integer(parameters.get("max", 2**31 - 1), "max", definition_name))
    if type_name == "unique":
        return UniqueFilter(_boolean(parameters.get("only_on_same_position", False),
                                     "only_on_same_position", definition_name))
    if type_name == "trim":
        return TrimFilter()
    if type_name == "truncate":
        return TruncateFilter(_integer(parameters.get("length", 10), "length", definition_name))
    if type_name == "reverse":
        return ReverseFilter()
    if type_name in ("ngram", "nGram"):
        return NGramFilter(_integer(parameters.get("min_gram", 1), "min_gram", definition_name),
                           _integer(parameters.get("max_gram", 2), "max_gram", definition_name))
    if type_name in ("edge_ngram", "edgeNGram"):
        return EdgeNGramFilter(_integer(parameters.get("min_gram", 1), "min_gram", definition_name),
                               _integer(parameters.get("max_gram", 2), "max_gram", definition_name))
    if type_name == "keyword_marker":
        if "keywords_path" in parameters:
            raise AnalysisError(f"[keywords_path] of [{definition_name}] is not supported: give the words inline")
        if "keywords" not in parameters and "keywords_pattern" not in parameters:
            raise AnalysisError("keyword filter requires either `keywords`, `keywords_path`, or `keywords_pattern` to be configured")
        return KeywordMarkerFilter(_word_list(parameters.get("keywords", []), "keywords", definition_name),
                                   parameters.get("keywords_pattern"),
                                   _boolean(parameters.get("ignore_case", False), "ignore_case", definition_name))
    if type_name == "elision":
        articles = parameters.get("articles")
        return ElisionFilter(_word_list(articles, "articles", definition_name) if articles is not None
                             else ElisionFilter.DEFAULT_ARTICLES,
                             _boolean(parameters.get("articles_case", False), "articles_case", definition_name))
    if type_name == "apostrophe":
        return ApostropheFilter()
    if type_name == "decimal_digit":
        return DecimalDigitFilter()
    if type_name == "pattern_replace":
        if "pattern" not in parameters:
            raise AnalysisError(f"pattern is missing for [{definition_name}] token filter of type 'pattern_replace'")
        return PatternReplaceFilter(str(parameters["pattern"]), str(parameters.get("replacement", "")),
                                    _boolean(parameters.get("all", True), "all", definition_name))
    if type_name == "keep":
        if "keep_words_path" in parameters:
            raise AnalysisError(f"[keep_words_path] of [{definition_name}] is not supported: give [keep_words]")
        if "keep_words" not in parameters:
            raise AnalysisError("keep requires `keep_words` or `keep_words_path` to be configured")
        return KeepWordsFilter(_word_list(parameters["keep_words"], "keep_words", definition_name),
                               _boolean(parameters.get("keep_words_case", False), "keep_words_case", definition_name))
    if type_name == "keep_types":
        mode = parameters.get("mode", "include")
        if mode not in ("include", "exclude"):
            raise AnalysisError(f"`keep_types` tokenfilter mode can only be [include] or [exclude] but was [{mode}]")
        if "types" not in parameters:
            raise AnalysisError("keep_types requires `types` to be configured")
        return KeepTypesFilter(_word_list(parameters["types"], "types", definition_name), mode == "include")
    if type_name == "limit":
        return LimitFilter(_integer(parameters.get("max_token_count", 1), "max_token_count", definition_name))
    if type_name == "remove_duplicates":
        return RemoveDuplicatesFilter()
    if type_name == "flatten_graph":
        return IdentityFilter()
    if type_name == "fingerprint":
        return FingerprintFilter(str(parameters.get("separator", " ")),
                                 _integer(parameters.get("max_output_size", 255), "max_output_size", definition_name))
    if type_name in ("word_delimiter", "word_delimiter_graph"):
        from index.analysis.word_delimiter import WordDelimiterFilter, WordDelimiterOptions  # late: peer module
        for unsupported in ("type_table", "type_table_path", "protected_words_path"):
            if unsupported in parameters:
                raise AnalysisError(f"[{unsupported}] of [{definition_name}] is not supported")
        flags = {name: _boolean(parameters[name], name, definition_name)
                 for name in ("generate_word_parts", "generate_number_parts", "catenate_words", "catenate_numbers",
                              "catenate_all", "split_on_case_change", "split_on_numerics", "preserve_original",
                              "stem_english_possessive")
                 if name in parameters}
        protected = _word_list(parameters.get("protected_words", []), "protected_words", definition_name)
        return WordDelimiterFilter(WordDelimiterOptions(**flags, protected_words=protected))
    if type_name in ("synonym", "synonym_graph"):
        if "synonyms_path" in parameters:
            raise AnalysisError(f"[synonyms_path] of [{definition_name}] is not supported: give the rules"
                                " inline with [synonyms]")
        rules = parameters.get("synonyms", [])
        if not isinstance(rules, list):
            raise AnalysisError(f"[synonyms] of [{definition_name}] must be a list of rules, got [{rules}]")
        from index.analysis.synonyms import SynonymFilter  # late: synonyms imports this module's peers
        return SynonymFilter(rules, _boolean(parameters.get("expand", True), "expand", definition_name),
                             _boolean(parameters.get("lenient", False), "lenient", definition_name))
    if type_name == "shingle":
        return ShingleFilter(_integer(parameters.get("min_shingle_size", 2), "min_shingle_size", definition_name),
                             _integer(parameters.get("max_shingle_size", 2), "max_shingle_size", definition_name),
                             _boolean(parameters.get("output_unigrams", True), "output_unigrams", definition_name),
                             str(parameters.get("token_separator", " ")))
    raise AnalysisError(f"failed to find global filter under [{type_name}]")


# Filters that build with no parameters (the ones needing parameters, like keep, keep_types,
# keyword_marker and pattern_replace, are left out).
BUILT_IN_FILTER_NAMES = ("lowercase", "uppercase", "asciifolding", "stop", "stemmer", "porter_stem", "snowball",
                         "kstem", "english_possessive", "length", "unique", "trim", "truncate", "reverse", "ngram",
                         "edge_ngram", "shingle", "synonym", "synonym_graph", "elision", "apostrophe",
                         "decimal_digit", "limit", "remove_duplicates", "flatten_graph", "fingerprint", "word_delimiter",
                         "word_delimiter_graph")
