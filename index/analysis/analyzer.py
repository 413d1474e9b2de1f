"""Analyzer: char filters → tokenizer → token filters, with three entry points.

`analyze` gives full tokens (offsets, types) for `_analyze`; `terms_and_positions` is the
cheap per-text path; `analyze_batch` tokenises many texts at once and, for the standard and
simple tokenizers over ASCII text, finds token bounds with numpy over one joined buffer (DESIGN
§9); `analyze_batch_encoded` (the segment builder's path) goes further and returns term ids with
no Python object per token (index/analysis/encoded_batch.py). All must agree on terms and
positions: property tests hold the batched paths to the per-text one. An Analyzer never reads settings; the registry builds it.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from index.analysis.char_filters import CharFilter
from index.analysis.encoded_batch import EncodedTokenBatch, encode_text_batch
from index.analysis.tokenizers import (
    DEFAULT_MAX_TOKEN_LENGTH,
    KeywordTokenizer,
    LetterTokenizer,
    StandardTokenizer,
    Tokenizer,
)
from index.analysis.token_filters import (
    ApostropheFilter,
    AsciiFoldingFilter,
    DecimalDigitFilter,
    ElisionFilter,
    EnglishPossessiveFilter,
    IdentityFilter,
    KeepWordsFilter,
    KeywordMarkerFilter,
    LengthFilter,
    LowercaseFilter,
    MinimalEnglishStemFilter,
    PatternReplaceFilter,
    PorterStemFilter,
    ProtectedStemFilter,
    ReverseFilter,
    StemmerFilter,
    StopFilter,
    TokenFilter,
    TrimFilter,
    TruncateFilter,
    UppercaseFilter,
)
from index.analysis.tokens import Token, TokenBatch

# Filters that look at one token at a time and never add tokens, so they can run once over a
# whole batch's terms (a stop filter that keeps a trailing stop word looks at text ends: not here).
_ONE_TOKEN_AT_A_TIME = (LowercaseFilter, UppercaseFilter, StemmerFilter, PorterStemFilter, MinimalEnglishStemFilter,
                        EnglishPossessiveFilter, TrimFilter, TruncateFilter, ReverseFilter,
                        LengthFilter, KeywordMarkerFilter, ProtectedStemFilter, IdentityFilter, ElisionFilter,
                        ApostropheFilter, DecimalDigitFilter, PatternReplaceFilter, KeepWordsFilter)


def _runs_per_token(token_filter: TokenFilter) -> bool:
    if isinstance(token_filter, StopFilter):
        return token_filter.remove_trailing
    if isinstance(token_filter, AsciiFoldingFilter):
        return not token_filter.preserve_original
    return isinstance(token_filter, _ONE_TOKEN_AT_A_TIME)


class Analyzer:
    """Every analyzer, built-in or custom."""

    def __init__(self, name: str, tokenizer: Tokenizer, token_filters: Sequence[TokenFilter] = (),
                 char_filters: Sequence[CharFilter] = (), position_increment_gap: int = 0,
                 is_custom_chain: bool = False) -> None:
        self.name = name
        self.is_custom_chain = is_custom_chain  # built from a custom definition (tokenizer + filters)
        self.tokenizer = tokenizer
        self.token_filters = tuple(token_filters)
        self.char_filters = tuple(char_filters)
        self.position_increment_gap = position_increment_gap
        # a filter that selects by token type (keep_types) needs the full tokens even on the cheap path
        self._terms_need_tokens = any(getattr(token_filter, "needs_types", False) for token_filter in self.token_filters)
        self._batch_tokenizer_kind, self._batch_remaining_filters = self._plan_batch()

    def __repr__(self) -> str:
        return f"Analyzer({self.name!r})"

    def _plan_batch(self) -> tuple[str | None, tuple[TokenFilter, ...]]:
        """Which numpy tokenizer the batch path may use, and the filters left to run after it."""
        if self.char_filters:
            return None, ()
        tokenizer = self.tokenizer
        if type(tokenizer) is StandardTokenizer and tokenizer.max_token_length == DEFAULT_MAX_TOKEN_LENGTH:
            kind = "standard"
        elif type(tokenizer) is LetterTokenizer and tokenizer.max_token_length == DEFAULT_MAX_TOKEN_LENGTH:
            kind = "simple"
        else:
            return None, ()
        filters = self.token_filters
        if filters and isinstance(filters[0], LowercaseFilter):
            remaining = filters[1:]
        elif (len(filters) >= 2 and isinstance(filters[0], EnglishPossessiveFilter)
              and isinstance(filters[1], LowercaseFilter)):
            # the possessive filter strips 's and 'S alike, so it commutes with lowercasing
            remaining = (filters[0],) + filters[2:]
        else:
            return None, ()
        if not all(_runs_per_token(token_filter) for token_filter in remaining):
            return None, ()
        return kind, remaining

    # -- per text -------------------------------------------------------------------------
    def _filtered_text(self, text: str) -> tuple[str, list[int] | None, list[int] | None]:
        if not self.char_filters:
            return text, None, None
        starts = list(range(len(text)))
        ends = list(range(1, len(text) + 1))
        for char_filter in self.char_filters:
            text, starts, ends = char_filter.apply(text, starts, ends)
        return text, starts, ends

    def analyze_with_end(self, text: str) -> tuple[list[Token], int, int]:
        """Tokens, the position after the last tokenizer token, and the end offset (for `_analyze`)."""
        filtered, starts, ends = self._filtered_text(text)
        raw_tokens = self.tokenizer.tokenize(filtered)
        if starts is None or ends is None:
            tokens = [Token(term, position, start, end, token_type)
                      for position, (term, start, end, token_type) in enumerate(raw_tokens)]
        else:
            tokens = []
            for position, (term, start, end, token_type) in enumerate(raw_tokens):
                original_start = starts[start] if start < len(starts) else len(text)
                original_end = ends[end - 1] if end > start else original_start
                tokens.append(Token(term, position, original_start, original_end, token_type))
        for token_filter in self.token_filters:
            tokens = token_filter.filter_tokens(tokens)
        return tokens, len(raw_tokens), len(text)

    def analyze(self, text: str) -> list[Token]:
        return self.analyze_with_end(text)[0]

    def terms_and_positions(self, text: str) -> tuple[list[str], list[int]]:
        if self._terms_need_tokens:
            tokens = self.analyze(text)
            return [token.term for token in tokens], [token.position for token in tokens]
        filtered, _, _ = self._filtered_text(text)
        terms = self.tokenizer.terms(filtered)
        positions = list(range(len(terms)))
        for token_filter in self.token_filters:
            terms, positions = token_filter.filter_terms(terms, positions)
        return terms, positions

    # -- batched ----------------------------------------------------------------------------
    def analyze_batch(self, texts: Sequence[str]) -> TokenBatch:
        if self._batch_tokenizer_kind is not None and texts:
            return self._analyze_batch_fast(texts)
        if type(self.tokenizer) is KeywordTokenizer and not self.token_filters and not self.char_filters:
            return TokenBatch(list(texts), np.arange(len(texts), dtype=np.int32),
                              np.zeros(len(texts), dtype=np.int32))
        all_terms: list[str] = []
        all_positions: list[int] = []
        counts = np.zeros(len(texts), dtype=np.int64)
        for text_number, text in enumerate(texts):
            terms, positions = self.terms_and_positions(text)
            all_terms.extend(terms)
            all_positions.extend(positions)
            counts[text_number] = len(terms)
        return TokenBatch(all_terms, np.repeat(np.arange(len(texts), dtype=np.int32), counts),
                          np.asarray(all_positions, dtype=np.int32))

    def analyze_batch_encoded(self, texts: Sequence[str]) -> EncodedTokenBatch | None:
        """The tokens of ``texts`` dictionary-encoded (sorted distinct terms + an id per token),
        with no Python object per token (index/analysis/encoded_batch.py), for the chains the
        numpy path supports; None for the others (use ``analyze_batch``). Decoded, it equals
        ``analyze_batch(texts)`` exactly (property-tested)."""
        if self._batch_tokenizer_kind is None:
            return None
        return encode_text_batch(texts, self._batch_tokenizer_kind, self._lowercased_tokens_of_one_text,
                                 self._batch_remaining_filters)

    def _lowercased_tokens_of_one_text(self, text: str) -> list[str]:
        return [term.lower() for term in self.tokenizer.terms(text)]

    def _analyze_batch_fast(self, texts: Sequence[str]) -> TokenBatch:
        non_ascii_numbers = [number for number, text in enumerate(texts) if not text.isascii()]
        fast = None
        if len(non_ascii_numbers) < len(texts):
            if non_ascii_numbers:
                skip = set(non_ascii_numbers)
                ascii_texts = [text for number, text in enumerate(texts) if number not in skip]
            else:
                ascii_texts = texts
            fast = ascii_token_batch(ascii_texts, self._batch_tokenizer_kind)
            if fast is None:
                # an over-long token: only the texts that may hold one take the regex path (which
                # splits it), the rest of the batch stays on the numpy path
                skip = set(non_ascii_numbers)
                skip.update(number for number, text in enumerate(texts)
                            if number not in skip and _MAYBE_OVERLONG_ASCII_TOKEN.search(text))
                non_ascii_numbers = sorted(skip)
                ascii_texts = [text for number, text in enumerate(texts) if number not in skip]
                fast = ascii_token_batch(ascii_texts, self._batch_tokenizer_kind) if ascii_texts else None
                if fast is None:
                    non_ascii_numbers = list(range(len(texts)))
        if not non_ascii_numbers:
            terms, text_index, positions = fast
        else:
            # Splice: runs of ASCII texts are copied from the numpy result as whole slices, the
            # (few) other texts are tokenised one by one in between.
            terms = []
            index_pieces: list[np.ndarray] = []
            position_pieces: list[np.ndarray] = []
            if fast is not None:
                fast_terms, fast_text_index, fast_positions = fast
                fast_bounds = np.searchsorted(fast_text_index, np.arange(len(texts) - len(non_ascii_numbers) + 1))
            next_number = 0  # first original text not yet placed
            next_rank = 0    # its rank among the ASCII texts
            for number in non_ascii_numbers + [len(texts)]:
                if number > next_number:  # the ASCII run next_number .. number-1
                    rank_end = next_rank + (number - next_number)
                    low, high = int(fast_bounds[next_rank]), int(fast_bounds[rank_end])
                    terms.extend(fast_terms[low:high])
                    index_pieces.append(fast_text_index[low:high] + (next_number - next_rank))
                    position_pieces.append(fast_positions[low:high])
                    next_rank = rank_end
                if number < len(texts):
                    text_terms = self._lowercased_tokens_of_one_text(texts[number])
                    terms.extend(text_terms)
                    index_pieces.append(np.full(len(text_terms), number, dtype=np.int32))
                    position_pieces.append(np.arange(len(text_terms), dtype=np.int32))
                next_number = number + 1
            text_index = np.concatenate(index_pieces).astype(np.int32) if index_pieces else np.zeros(0, np.int32)
            positions = np.concatenate(position_pieces).astype(np.int32) if position_pieces else np.zeros(0, np.int32)
        for token_filter in self._batch_remaining_filters:
            terms, kept_mask = token_filter.filter_batch(terms)
            if kept_mask is not None:  # a dropping filter: carry the survivors' columns
                text_index = text_index[kept_mask]
                positions = positions[kept_mask]
        return TokenBatch(terms, text_index.astype(np.int32, copy=False),
                          positions.astype(np.int32, copy=False))


# -- the numpy tokenizer for ASCII -----------------------------------------------------------
# Every character an ASCII token can hold (word characters and joiners): a text without such a
# run longer than the limit cannot yield an over-long token.
_MAYBE_OVERLONG_ASCII_TOKEN = re.compile("[A-Za-z0-9_':.,;]{%d}" % (DEFAULT_MAX_TOKEN_LENGTH + 1))
_OTHER, _LETTER, _DIGIT, _UNDERSCORE = 0, 1, 2, 3
_CHARACTER_CLASS = np.zeros(256, dtype=np.uint8)
for _code in range(128):
    if chr(_code).isalpha():
        _CHARACTER_CLASS[_code] = _LETTER
    elif chr(_code).isdigit():
        _CHARACTER_CLASS[_code] = _DIGIT
_CHARACTER_CLASS[ord("_")] = _UNDERSCORE
# Joiner kinds (UAX#29 MidLetter/MidNum/MidNumLet restricted to ASCII): bit 1 joins two letters,
# bit 2 joins two digits.
_JOIN_KIND = np.zeros(256, dtype=np.uint8)
for _character in "':.":
    _JOIN_KIND[ord(_character)] |= 1
for _character in ".,;'":
    _JOIN_KIND[ord(_character)] |= 2
_LOWERCASE = np.arange(256, dtype=np.uint8)
_LOWERCASE[ord("A"):ord("Z") + 1] += 32
_SPACE = np.uint8(32)
_UNDERSCORE_BYTE = np.uint8(ord("_"))


def _drop_underscore_only_runs(buffer: np.ndarray, in_token: np.ndarray) -> None:
    """A run of underscores alone is no word in UAX#29: take such runs out of in_token.

    A token run without a letter or digit can only be made of underscores (a joiner is in a
    token only between two letters or digits), so only the underscores are looked at — O(number
    of underscores), where a cumulative sum over the whole batch cost a third of the tokenizer
    (measured: 207 ms of ~620 ms for 50k bodies).
    """
    underscores = np.flatnonzero(buffer == _UNDERSCORE_BYTE)
    if not underscores.size:
        return
    # maximal runs of consecutive underscores: [run_first[k], run_last[k]] inclusive
    breaks = np.flatnonzero(np.diff(underscores) != 1)
    run_first = underscores[np.concatenate(([0], breaks + 1))]
    run_last = underscores[np.concatenate((breaks, [underscores.size - 1]))]
    before_is_token = np.zeros(run_first.size, dtype=bool)
    has_before = run_first > 0
    before_is_token[has_before] = in_token[run_first[has_before] - 1]
    after_is_token = np.zeros(run_first.size, dtype=bool)
    has_after = run_last < in_token.size - 1
    after_is_token[has_after] = in_token[run_last[has_after] + 1]
    alone = ~(before_is_token | after_is_token)
    if alone.any():
        run_of_underscore = np.repeat(np.arange(run_first.size), run_last - run_first + 1)
        in_token[underscores[alone[run_of_underscore]]] = False


def ascii_token_batch(texts: Sequence[str], kind: str) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """Lowercased tokens of ASCII texts, exactly as the regex tokenizer of `kind` would give.

    One pass of table lookups classifies every byte; the rare joiner characters ("don't", "3.14")
    are checked against their neighbours only where they occur. Returns None when a token is
    longer than the default max_token_length (rare; the caller then uses the regex path, which
    splits it).
    """
    lengths = np.fromiter((len(text) for text in texts), dtype=np.int64, count=len(texts))
    text_starts = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=text_starts[1:])  # "\n" between texts is never part of a token
    raw = "\n".join(texts).encode("ascii")
    buffer = np.frombuffer(raw, dtype=np.uint8)
    if buffer.size == 0:
        return [], np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    classes = _CHARACTER_CLASS[buffer]
    if kind == "simple":
        in_token = classes == _LETTER
    else:
        in_token = classes != _OTHER
        joiner_kinds = _JOIN_KIND[buffer[1:-1]]
        candidates = np.flatnonzero(joiner_kinds) + 1
        if candidates.size:
            kinds = joiner_kinds[candidates - 1]
            before = classes[candidates - 1]
            after = classes[candidates + 1]
            joins = (((kinds & 1) != 0) & (before == _LETTER) & (after == _LETTER)) | (
                ((kinds & 2) != 0) & (before == _DIGIT) & (after == _DIGIT))
            in_token[candidates[joins]] = True
        if b"_" in raw:
            _drop_underscore_only_runs(buffer, in_token)
    edges = np.diff(in_token.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    token_starts = np.flatnonzero(edges == 1)
    token_ends = np.flatnonzero(edges == -1)
    if token_starts.size and int((token_ends - token_starts).max()) > DEFAULT_MAX_TOKEN_LENGTH:
        return None
    output = np.where(in_token, _LOWERCASE[buffer], _SPACE)
    terms = output.tobytes().decode("ascii").split()
    text_index = np.searchsorted(text_starts, token_starts, side="right") - 1
    first_token_of_text = np.searchsorted(token_starts, text_starts, side="left")
    positions = np.arange(token_starts.size, dtype=np.int64) - first_token_of_text[text_index]
    return terms, text_index.astype(np.int32), positions.astype(np.int32)
