"""The inverter's hot path: many texts → dictionary-encoded tokens, with no Python object per token.

Owns: ``encode_text_batch`` (what ``Analyzer.analyze_batch_encoded`` runs) and the byte-level
ASCII tokenizer under it, ``ascii_token_bounds``. DESIGN §9: the texts are joined into one byte
buffer; ``bytes.translate`` classifies and lowercases every byte; numpy finds the token bounds;
index/analysis/batch_terms.py turns the bounds into term ids; only the *distinct* terms become
``str`` and go through the analyzer's remaining per-token filters (stop words, stemming), which
are functions of the term alone (Analyzer._plan_batch admits no other), so filtering each
distinct term once is the same as filtering every token.

Texts with characters beyond ASCII: when every such character is a plain separator for the
tokenizer (no word character, joiner, mark, emoji or CJK: a no-break space, a dash, a curly
double quote, a box-drawing line...), replacing it with a space changes no token, and the text
takes the byte path; other texts are tokenised one by one with the exact Unicode tokenizer and
their (few) tokens join the same byte buffer as UTF-8.

Must never: give a result that differs from ``Analyzer.analyze_batch`` (property-tested); when
it cannot be sure (a hash collision) it returns None and the caller takes the string path.
"""

from __future__ import annotations

import functools
import re
from itertools import chain, compress
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from index.analysis.batch_terms import encode_byte_tokens, sorted_string_order
from index.analysis.tokenizers import (
    _BMP_PICTOGRAPHS,
    _basic_plane_word_characters,
    _DIGIT_JOINERS,
    _LETTER_JOINERS,
    _SPECIAL_SCRIPTS,
    DEFAULT_MAX_TOKEN_LENGTH,
    LETTER_RUN_PATTERN,
)
from index.analysis.token_filters import TokenFilter


@dataclass(frozen=True, slots=True)
class EncodedTokenBatch:
    """The tokens of many texts, dictionary-encoded: token i is ``terms[term_ids[i]]``."""

    terms: list[str]          # sorted ascending, distinct
    term_ids: np.ndarray      # int64, one per token, into terms
    text_index: np.ndarray    # int64, which input text each token came from (non-decreasing)
    positions: np.ndarray     # int64, position of the token within its text

    def __len__(self) -> int:
        return len(self.term_ids)


# -- the byte tables ---------------------------------------------------------------------------
_PADDING = b"\n" * 8          # the 8-byte key windows may read past the last token


def _table(chosen: Callable[[int], bool]) -> bytes:
    return bytes(1 if code < 128 and chosen(code) else 0 for code in range(256))


_LETTER_BYTES = _table(lambda code: chr(code).isalpha())
_DIGIT_BYTES = _table(lambda code: chr(code).isdigit())
_STANDARD_WORD_BYTES = _table(lambda code: chr(code).isalnum() or chr(code) == "_")
_LETTER_JOINER_BYTES = _table(lambda code: chr(code) in "':.")
_DIGIT_JOINER_BYTES = _table(lambda code: chr(code) in ".,;'")
_ANY_JOINER_BYTES = _table(lambda code: chr(code) in "':.,;")
_UNDERSCORE_BYTES = _table(lambda code: chr(code) == "_")
_LOWERCASE_BYTES = bytes(code + 32 if 65 <= code <= 90 else code for code in range(256))
_LETTER_TABLE = np.frombuffer(_LETTER_BYTES, dtype=bool)
_DIGIT_TABLE = np.frombuffer(_DIGIT_BYTES, dtype=bool)
_LETTER_JOINER_TABLE = np.frombuffer(_LETTER_JOINER_BYTES, dtype=bool)
_DIGIT_JOINER_TABLE = np.frombuffer(_DIGIT_JOINER_BYTES, dtype=bool)


def _drop_underscore_only_runs(is_underscore: np.ndarray, in_token: np.ndarray) -> None:
    """A run of underscores alone is no word in UAX#29: take such runs out of in_token (only the
    underscores are looked at: a token run without a letter or digit is all underscores)."""
    underscores = np.flatnonzero(is_underscore)
    if not underscores.size:
        return
    breaks = np.flatnonzero(np.diff(underscores) != 1)
    run_first = underscores[np.concatenate(([0], breaks + 1))]
    run_last = underscores[np.concatenate((breaks, [underscores.size - 1]))]
    # the buffer starts and ends with a newline: every run has neighbours
    alone = ~(in_token[run_first - 1] | in_token[run_last + 1])
    if alone.any():
        run_of_underscore = np.repeat(np.arange(run_first.size), run_last - run_first + 1)
        in_token[underscores[alone[run_of_underscore]]] = False


@dataclass(frozen=True, slots=True)
class ByteTokens:
    """Token bounds in one padded, lowercased byte buffer."""

    buffer: np.ndarray        # uint8, ends with at least 8 padding bytes
    starts: np.ndarray        # int64 byte offset of each token
    lengths: np.ndarray       # int64 byte length of each token
    text_index: np.ndarray    # int64, which input text
    positions: np.ndarray     # int64, rank of the token within its text


# Texts are tokenised a chunk at a time: every temporary of a chunk (~4 MB of text: the translated
# bytes, the in-token mask, its changes) stays below glibc's mmap threshold (32 MB at most), so it
# is recycled heap memory, warm in cache. One pass over a whole 250k-document body field (~45 MB)
# made a dozen fresh 45–100 MB arrays instead, each faulted in and zeroed by the kernel (measured
# here ~0.35–0.65 ms of system time per MB: 0.8 s of system time per segment for this function).
_CHUNK_TEXT_BYTES = 4 << 20


def ascii_token_bounds(texts: Sequence[str], kind: str) -> ByteTokens:
    """Lowercased token bounds of ASCII texts, exactly as the regex tokenizer of ``kind``
    ("standard" or "simple", default max_token_length) finds them."""
    count = len(texts)
    text_lengths = np.fromiter(map(len, texts), dtype=np.int64, count=count)
    # chunk c holds texts [chunk_firsts[c], chunk_firsts[c + 1]): cut where the running length
    # crosses a multiple of the chunk size (a text longer than a chunk is a chunk of its own)
    running = np.cumsum(text_lengths + 1)
    cuts = np.flatnonzero(np.diff(running // _CHUNK_TEXT_BYTES)) + 1 if count else np.zeros(0, np.int64)
    chunk_firsts = [0, *cuts.tolist(), count] if count else [0, 0]
    lowered_chunks: list[bytes | bytearray] = []
    start_parts: list[np.ndarray] = []
    length_parts: list[np.ndarray] = []
    text_index_parts: list[np.ndarray] = []
    position_parts: list[np.ndarray] = []
    chunk_base = 0        # where the chunk's bytes begin in the whole buffer
    for first, end in zip(chunk_firsts[:-1], chunk_firsts[1:]):
        # the chunk's texts between newlines, a newline before the first and after the last (so
        # the whole buffer is "\n" t0 "\n" ... "\n" "\n" t_k ... : a newline is never in a token)
        raw = "\n".join(chain(("",), texts[first:end], ("",))).encode("ascii")
        starts, lengths = _chunk_token_bounds(raw, kind)
        chunk_text_lengths = text_lengths[first:end]
        text_starts = np.empty(end - first, dtype=np.int64)   # byte offset of each text in raw
        if end > first:
            text_starts[0] = 1
            np.cumsum(chunk_text_lengths[:-1] + 1, out=text_starts[1:])
            text_starts[1:] += 1
        # tokens of one text are contiguous: count them per text instead of searching per token
        first_token_of_text = np.searchsorted(starts, text_starts, side="left")
        tokens_per_text = np.diff(first_token_of_text, append=starts.size)
        text_index_parts.append(np.repeat(np.arange(first, end, dtype=np.int64), tokens_per_text))
        positions = np.repeat(first_token_of_text, tokens_per_text)
        np.subtract(np.arange(starts.size, dtype=np.int64), positions, out=positions)
        position_parts.append(positions)
        starts += chunk_base
        start_parts.append(starts)
        length_parts.append(lengths)
        lowered_chunks.append(raw.translate(_LOWERCASE_BYTES))
        chunk_base += len(raw)
    lowered_chunks.append(_PADDING)
    buffer = np.frombuffer(b"".join(lowered_chunks), dtype=np.uint8)
    if len(start_parts) == 1:
        return ByteTokens(buffer, start_parts[0], length_parts[0], text_index_parts[0], position_parts[0])
    return ByteTokens(buffer, np.concatenate(start_parts), np.concatenate(length_parts),
                      np.concatenate(text_index_parts), np.concatenate(position_parts))


def _chunk_token_bounds(raw: bytes, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(int64 start, int64 length) of every token of ``raw`` (ASCII texts between newlines,
    starting and ending with one), over-long tokens already cut in pieces."""
    # bytes.translate is one C pass (~1 ns a byte); a numpy table lookup costs several times more
    if kind == "simple":
        in_token = np.frombuffer(bytearray(raw.translate(_LETTER_BYTES)), dtype=bool)
    else:
        in_token = np.frombuffer(bytearray(raw.translate(_STANDARD_WORD_BYTES)), dtype=bool)
        joiners = np.flatnonzero(np.frombuffer(raw.translate(_ANY_JOINER_BYTES), dtype=bool))
        if joiners.size:   # never the first or last byte (newlines)
            raw_bytes = np.frombuffer(raw, dtype=np.uint8)
            before, joiner, after = raw_bytes[joiners - 1], raw_bytes[joiners], raw_bytes[joiners + 1]
            joins = (_LETTER_JOINER_TABLE[joiner] & _LETTER_TABLE[before] & _LETTER_TABLE[after]) | (
                _DIGIT_JOINER_TABLE[joiner] & _DIGIT_TABLE[before] & _DIGIT_TABLE[after])
            in_token[joiners[joins]] = True
        if b"_" in raw:
            _drop_underscore_only_runs(np.frombuffer(raw.translate(_UNDERSCORE_BYTES), dtype=bool), in_token)
    # in_token starts and ends False (newlines), so its changes alternate: start, end, start, ...
    # changes[k] is the byte before the k-th change: a token starts one byte after an even one
    # and ends one byte after the next (odd) one
    changes = np.flatnonzero(in_token[1:] != in_token[:-1])
    starts = changes[0::2] + 1
    lengths = changes[1::2] - changes[0::2]
    if lengths.size and int(lengths.max()) > DEFAULT_MAX_TOKEN_LENGTH:
        # before the text numbers: a piece starts inside its token's text, so the per-text counts
        # hold for the pieces too, and no text-number array has to be expanded
        starts, lengths = _split_overlong(starts, lengths)
    return starts, lengths


def _split_overlong(starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lucene (and the regex tokenizers' _split_long) cut a token longer than max_token_length
    into pieces of that length, each its own token at the next position (ASCII: a character is
    a byte, so the pieces are byte ranges). Only the (few) over-long tokens are expanded: the
    arrays are re-assembled from slices with one concatenate each (np.insert, measured 2-3x
    dearer, builds a mask over the whole array)."""
    limit = DEFAULT_MAX_TOKEN_LENGTH
    overlong = np.flatnonzero(lengths > limit)
    pieces = (lengths[overlong] + limit - 1) // limit
    extra = pieces - 1                                   # pieces after the first of each token
    owner = np.repeat(overlong, extra)
    extra_before = np.cumsum(extra) - extra              # extra pieces of earlier over-long tokens
    piece_number = 1 + np.arange(owner.size) - np.repeat(extra_before, extra)
    extra_starts = starts[owner] + limit * piece_number
    extra_lengths = np.minimum(lengths[owner] - limit * piece_number, limit)
    start_parts: list[np.ndarray] = []
    length_parts: list[np.ndarray] = []
    previous_cut = previous_extra = 0
    for cut, extra_end in zip((overlong + 1).tolist(), (extra_before + extra).tolist()):
        # the tokens up to and including an over-long one, then its extra pieces, in order
        start_parts += (starts[previous_cut:cut], extra_starts[previous_extra:extra_end])
        length_parts += (lengths[previous_cut:cut], extra_lengths[previous_extra:extra_end])
        previous_cut, previous_extra = cut, extra_end
    start_parts.append(starts[previous_cut:])
    length_parts.append(lengths[previous_cut:])
    new_lengths = np.concatenate(length_parts)
    new_lengths[overlong + extra_before] = limit         # the first piece stays in place
    return np.concatenate(start_parts), new_lengths


# -- which non-ASCII texts may take the byte path ---------------------------------------------
@functools.lru_cache(maxsize=2)
def _non_separator_pattern(kind: str) -> re.Pattern[str]:
    """Matches a non-ASCII character that is NOT a plain separator for the tokenizer ``kind``.

    A plain separator is never part of a token and never consulted by a rule that joins
    characters (it is no word character, joiner, mark, format character, emoji part or CJK
    character), so replacing it with a space leaves every token unchanged. Characters beyond
    the BMP never count as separators (the standard tokenizer takes its exact path for them).

    Built once per process, at a worker's first segment build: every non-ASCII BMP character is
    classified by a few ``re.sub`` passes over one string of them all (the classes match single
    characters, so deleting their matches leaves exactly the separators) instead of two regex
    matches per code point in Python (~60 -> ~10 ms; the same pattern, tested).
    """
    characters = "".join(map(chr, chain(range(0x80, 0xD800), range(0xE000, 0x10000))))
    if kind == "simple":
        separators = LETTER_RUN_PATTERN.sub("", characters)
    else:
        not_separators = re.compile(f"[{_basic_plane_word_characters()}]|[{_SPECIAL_SCRIPTS}{_BMP_PICTOGRAPHS}]"
                                    f"|[{re.escape(_LETTER_JOINERS + _DIGIT_JOINERS)}]")
        separators = not_separators.sub("", characters)
    codes = np.frombuffer(separators.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    if codes.size:
        breaks = np.flatnonzero(np.diff(codes) != 1)
        lows = codes[np.concatenate(([0], breaks + 1))].tolist()
        highs = codes[np.concatenate((breaks, [codes.size - 1]))].tolist()
    else:
        lows = highs = []
    body = "".join(re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
                   for low, high in zip(lows, highs))
    return re.compile(f"[^\\x00-\\x7f{body}]")


_NON_ASCII = re.compile("[^\\x00-\\x7f]")


def _to_byte_path_text(text: str, kind: str) -> str | None:
    """The text with its non-ASCII separators replaced by spaces, or None if it holds any other
    non-ASCII character."""
    if _non_separator_pattern(kind).search(text) is not None:
        return None
    return _NON_ASCII.sub(" ", text)


# -- the batch ---------------------------------------------------------------------------------
def _utf8_token_bounds(token_lists: list[list[str]], text_numbers: list[int]) -> ByteTokens:
    """Tokens already cut (as strings) laid into one UTF-8 buffer, newline-separated."""
    counts = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    all_terms = [term for terms in token_lists for term in terms]
    raw = ("\n" + "\n".join(all_terms) + "\n").encode("utf-8")
    buffer = np.frombuffer(raw + _PADDING, dtype=np.uint8)
    if all_terms:   # a term never holds a newline (UTF-8 never makes one from other characters)
        newlines = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == 10)
        starts, lengths = newlines[:-1] + 1, np.diff(newlines)
        lengths -= 1
    else:
        starts = lengths = np.zeros(0, dtype=np.int64)
    text_index = np.repeat(np.asarray(text_numbers, dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    positions = np.arange(len(all_terms), dtype=np.int64) - np.repeat(first, counts)
    return ByteTokens(buffer, starts.astype(np.int64), lengths.astype(np.int64), text_index, positions)


def _merge(byte_path: ByteTokens | None, byte_path_numbers: np.ndarray | None, other: ByteTokens | None
           ) -> ByteTokens:
    """Both token sets in one buffer, ordered by (text, position); ``byte_path_numbers`` maps
    the byte path's text numbers to the batch's (None: the identity)."""
    if byte_path is None:
        assert other is not None
        return other
    byte_path_text_index = byte_path.text_index
    if byte_path_numbers is not None:
        byte_path_text_index = byte_path_numbers[byte_path_text_index]
    if other is None or not other.starts.size:
        return ByteTokens(byte_path.buffer, byte_path.starts, byte_path.lengths, byte_path_text_index,
                          byte_path.positions)
    if not byte_path.starts.size:
        return other
    # each of the other texts' tokens go before the first byte-path token of a later text
    insert_at = np.searchsorted(byte_path_text_index, other.text_index, side="right")
    shift = byte_path.buffer.size
    # other token j lands at insert_at[j] + j of the merged order (insert_at never decreases: the
    # other tokens are in text order), the byte path's tokens fill the rest in their own order:
    # one mask and two masked assignments per array, no Python loop over the runs of other tokens
    # (a slice pair per run cost ~3 % of a bench segment build with a few hundred such texts)
    other_slots = np.zeros(byte_path.starts.size + insert_at.size, dtype=bool)
    other_slots[insert_at + np.arange(insert_at.size, dtype=np.int64)] = True
    byte_slots = ~other_slots

    def interleaved(byte_array: np.ndarray, other_array: np.ndarray) -> np.ndarray:
        merged = np.empty(other_slots.size, dtype=np.result_type(byte_array, other_array))
        merged[byte_slots] = byte_array
        merged[other_slots] = other_array
        return merged

    return ByteTokens(
        np.concatenate((byte_path.buffer, other.buffer)),
        interleaved(byte_path.starts, other.starts + shift),
        interleaved(byte_path.lengths, other.lengths),
        interleaved(byte_path_text_index, other.text_index),
        interleaved(byte_path.positions, other.positions),
    )


def encode_text_batch(texts: Sequence[str], kind: str, lowercased_tokens_of_one_text: Callable[[str], list[str]],
                      remaining_filters: Sequence[TokenFilter]) -> EncodedTokenBatch | None:
    """The analysed tokens of ``texts`` for an analyzer whose chain is ``kind``'s tokenizer, a
    lowercase filter, then ``remaining_filters`` (each a function of one term), or None when
    the byte path cannot be sure of its result."""
    is_ascii = np.fromiter(map(str.isascii, texts), dtype=bool, count=len(texts))
    byte_path_texts: Sequence[str] = texts
    byte_path_numbers: np.ndarray | None = None           # None: every text
    other_numbers: list[int] = []
    if not is_ascii.all():
        byte_path_texts = list(texts)
        for number in np.flatnonzero(~is_ascii).tolist():
            substituted = _to_byte_path_text(texts[number], kind)
            if substituted is None:
                other_numbers.append(number)
            else:
                byte_path_texts[number] = substituted
        if other_numbers:
            on_byte_path = np.ones(len(texts), dtype=bool)
            on_byte_path[other_numbers] = False
            byte_path_numbers = np.flatnonzero(on_byte_path)
            byte_path_texts = list(compress(byte_path_texts, on_byte_path.tolist()))
    byte_path = ascii_token_bounds(byte_path_texts, kind) if byte_path_texts else None
    other = None
    if other_numbers:
        other = _utf8_token_bounds([lowercased_tokens_of_one_text(texts[number]) for number in other_numbers],
                                   other_numbers)
    if byte_path is None and other is None:   # no texts
        return EncodedTokenBatch([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    tokens = _merge(byte_path, byte_path_numbers, other)
    # with no per-term filter the distinct terms are the final ones: sorted on their bytes, decoded in order
    encoded = encode_byte_tokens(tokens.buffer, tokens.starts, tokens.lengths, sort=not remaining_filters)
    if encoded is None:
        return None
    raw_terms, raw_ids = encoded
    if not remaining_filters:
        return EncodedTokenBatch(raw_terms, raw_ids, tokens.text_index, tokens.positions)
    return _filter_distinct_terms(raw_terms, raw_ids, tokens.text_index, tokens.positions, remaining_filters)


def _filter_distinct_terms(raw_terms: list[str], raw_ids: np.ndarray, text_index: np.ndarray,
                           positions: np.ndarray, remaining_filters: Sequence[TokenFilter]) -> EncodedTokenBatch:
    """Runs the per-term filters once per distinct term, then sorts the surviving terms."""
    surviving = None          # indices into raw_terms of the terms no filter dropped
    terms = raw_terms
    for token_filter in remaining_filters:
        terms, kept_mask = token_filter.filter_batch(terms)
        if kept_mask is not None:
            kept = np.flatnonzero(kept_mask)
            surviving = kept if surviving is None else surviving[kept]
    # sort the distinct strings once, by index (numpy keys, batch_terms.sorted_string_order): no
    # dict from term to id. Without filters they are distinct already; a filter may map two
    # terms to one, so merge equal neighbours.
    order = sorted_string_order(terms)
    sorted_terms = list(map(terms.__getitem__, order.tolist()))
    mapped = np.empty(len(terms), dtype=np.int64)
    if remaining_filters and len(sorted_terms) > 1:
        starts_new_term = np.fromiter(chain((True,), map(str.__ne__, sorted_terms[1:], sorted_terms[:-1])),
                                      dtype=bool, count=len(sorted_terms))
        mapped[order] = np.cumsum(starts_new_term) - 1
        final_terms = list(compress(sorted_terms, starts_new_term.tolist()))
    else:
        mapped[order] = np.arange(len(terms), dtype=np.int64)
        final_terms = sorted_terms
    if surviving is None:
        token_ids = mapped[raw_ids]
    else:
        final_of_raw = np.full(len(raw_terms), -1, dtype=np.int64)
        final_of_raw[surviving] = mapped
        token_ids = final_of_raw[raw_ids]
        if surviving.size < len(raw_terms):
            kept_tokens = token_ids >= 0
            token_ids, text_index, positions = token_ids[kept_tokens], text_index[kept_tokens], positions[kept_tokens]
    return EncodedTokenBatch(final_terms, token_ids, text_index, positions)
