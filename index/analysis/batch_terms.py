"""Dictionary-encodes byte tokens with numpy: one exact 64-bit key per token, no Python object per token.

Owns: ``encode_byte_tokens`` — given one byte buffer and each token's (start, byte length), the
distinct terms (one ``str`` per *distinct* term) and every token's index into them. DESIGN §9's
technique: a token of at most 7 bytes is its own key (its bytes, zero padded: tokens never hold
a zero byte, so the key is exact); a longer token's key is a 64-bit hash of its length and
bytes, with the top bit set so that it never equals a short token's key. Keys become ids
through a vectorised open-addressing hash table of the distinct keys (one sort of the keys, no
argsort and no per-token binary search). Every hashed token is then checked against its term's
representative occurrence (same length, same bytes word by word): a hash collision makes the
call return None, and the caller takes the string path, so the result is exact whatever the
hash does (ADR 0200).

Must never: analyse text (the tokenizers find the bounds) or decide term order for a segment
(callers sort the few distinct strings); it must never return a wrong id — only exact ids or None.
"""

from __future__ import annotations

import numpy as np

_WORD_BYTES = 8
# MASK_OF_VALID_BYTES[v]: the first v bytes of a little-endian word (v = 0..8). Keys need only be
# exact, not ordered: callers sort the distinct strings, so the native byte order is used.
_MASK_OF_VALID_BYTES = np.array([(1 << (8 * valid)) - 1 for valid in range(9)], dtype=np.uint64)
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)     # odd: multiplication is a bijection mod 2^64
_MIX_MULTIPLIER = np.uint64(0xBF58476D1CE4E5B9)      # splitmix64's finaliser constants
_MIX_MULTIPLIER_2 = np.uint64(0x94D049BB133111EB)
_SLOT_MULTIPLIER = np.uint64(0xD6E8FEB86659FD93)
_SHORT_TOKEN_MAX_BYTES = 7                           # its key is its bytes, the top byte stays 0
_LONG_KEY_BIT = np.uint64(1 << 63)


def _mix(values: np.ndarray) -> np.ndarray:
    values = values ^ (values >> np.uint64(30))
    values = values * _MIX_MULTIPLIER
    values = values ^ (values >> np.uint64(27))
    values = values * _MIX_MULTIPLIER_2
    return values ^ (values >> np.uint64(31))


def word_view(padded_buffer: bytes | bytearray | np.ndarray) -> np.ndarray:
    """Every 8-byte window of the buffer as a little-endian uint64 (a strided view, no copy): the
    window starting at byte i is element i. The buffer must end with at least 7 padding bytes."""
    buffer = np.frombuffer(padded_buffer, dtype=np.uint8) if not isinstance(padded_buffer, np.ndarray) \
        else padded_buffer
    return np.ndarray(shape=(max(buffer.size - (_WORD_BYTES - 1), 0),), dtype="<u8",
                      buffer=buffer, offset=0, strides=(1,))


def _word(words: np.ndarray, starts: np.ndarray, lengths: np.ndarray, word_number: int) -> np.ndarray:
    if word_number == 0:
        return words[starts] & _MASK_OF_VALID_BYTES[np.minimum(lengths, _WORD_BYTES)]
    valid = np.clip(lengths - _WORD_BYTES * word_number, 0, _WORD_BYTES)
    return words[starts + _WORD_BYTES * word_number] & _MASK_OF_VALID_BYTES[valid]


def token_keys(words: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """One uint64 per token: its bytes when it has at most 7 (below 2^56), else a hash of its
    length and all its bytes with the top bit set (at least 2^63) — the two kinds never meet."""
    keys = _word(words, starts, lengths, 0)
    long_tokens = np.flatnonzero(lengths > _SHORT_TOKEN_MAX_BYTES)
    if long_tokens.size:
        long_starts, long_lengths = starts[long_tokens], lengths[long_tokens]
        hashes = _mix(keys[long_tokens] ^ long_lengths.astype(np.uint64))
        word_number = 1
        active = np.flatnonzero(long_lengths > _WORD_BYTES)
        while active.size:
            word = _word(words, long_starts[active], long_lengths[active], word_number)
            hashes[active] = _mix((hashes[active] * _HASH_MULTIPLIER) ^ word)
            word_number += 1
            active = active[long_lengths[active] > _WORD_BYTES * word_number]
        keys[long_tokens] = hashes | _LONG_KEY_BIT
    return keys


def _distinct_sorted(keys: np.ndarray) -> np.ndarray:
    # np.sort of uint64 is a vectorised sort (~7 ns an element here); np.unique is several times slower
    ordered = np.sort(keys)
    if ordered.size < 2:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def lookup_ids(distinct_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The index of each key in ``distinct_keys`` (every key must be there), through an
    open-addressing table with linear probing (at most half full), built and probed a whole
    array at a time. (np.searchsorted costs ~5x more here: a binary search per token.)"""
    bits = max(int(distinct_keys.size * 2 - 1).bit_length(), 4)
    shift = np.uint64(64 - bits)
    table_size = 1 << bits
    slot_mask = table_size - 1
    table_ids = np.full(table_size, -1, dtype=np.int64)
    slots = ((distinct_keys * _SLOT_MULTIPLIER) >> shift).astype(np.int64)
    pending = np.arange(distinct_keys.size, dtype=np.int64)
    while pending.size:
        candidate_slots = slots[pending]
        free = table_ids[candidate_slots] < 0
        contenders, contended = pending[free], candidate_slots[free]
        table_ids[contended] = contenders                  # one contender per slot wins
        lost = np.ones(pending.size, dtype=bool)
        lost[np.flatnonzero(free)[table_ids[contended] == contenders]] = False
        pending = pending[lost]
        slots[pending] = (slots[pending] + 1) & slot_mask
    table_keys = np.zeros(table_size, dtype=np.uint64)
    occupied = np.flatnonzero(table_ids >= 0)
    table_keys[occupied] = distinct_keys[table_ids[occupied]]
    token_slots = ((keys * _SLOT_MULTIPLIER) >> shift).astype(np.int64)
    ids = np.take(table_ids, token_slots)
    unresolved = np.flatnonzero(np.take(table_keys, token_slots) != keys)
    while unresolved.size:
        probe = (token_slots[unresolved] + 1) & slot_mask
        token_slots[unresolved] = probe
        ids[unresolved] = np.take(table_ids, probe)
        unresolved = unresolved[np.take(table_keys, probe) != keys[unresolved]]
    return ids


def _same_bytes_as_representative(words: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                                   ids: np.ndarray, representatives: np.ndarray) -> bool:
    """Whether every hashed token equals its term's representative occurrence byte for byte (a
    short token's key is its bytes, and short and hashed keys never meet: nothing to check)."""
    long_tokens = np.flatnonzero(lengths > _SHORT_TOKEN_MAX_BYTES)
    if not long_tokens.size:
        return True
    token_starts, token_lengths = starts[long_tokens], lengths[long_tokens]
    representative_of_token = representatives[ids[long_tokens]]
    if not np.array_equal(lengths[representative_of_token], token_lengths):
        return False
    other_starts = starts[representative_of_token]
    active = np.arange(long_tokens.size)
    word_number = 0
    while active.size:
        mine = _word(words, token_starts[active], token_lengths[active], word_number)
        theirs = _word(words, other_starts[active], token_lengths[active], word_number)
        if not np.array_equal(mine, theirs):
            return False
        word_number += 1
        active = active[token_lengths[active] > _WORD_BYTES * word_number]
    return True


def decode_tokens(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> list[str]:
    """The UTF-8 text of the given tokens, gathered in one numpy pass and split once."""
    if not starts.size:
        return []
    with_separator = lengths + 1
    output_ends = np.cumsum(with_separator)
    output_starts = output_ends - with_separator
    source_index = np.arange(int(output_ends[-1]), dtype=np.int64) - np.repeat(output_starts - starts, with_separator)
    gathered = buffer[source_index]
    gathered[output_ends - 1] = 10   # "\n": never inside a token
    return gathered.tobytes().decode("utf-8").split("\n")[:-1]


def encode_byte_tokens(padded_buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray, sort: bool = False
                       ) -> tuple[list[str], np.ndarray] | None:
    """(distinct terms — in no particular order, or ascending with ``sort`` —, int64 id of each token
    into them), or None when a hash collision is detected (the caller then takes its string path).

    ``padded_buffer`` is uint8 and holds at least 7 bytes after the last token; tokens are
    non-empty, hold no zero byte and no newline, and are valid UTF-8. ``sort`` orders the distinct
    terms by their bytes before any becomes a ``str`` (UTF-8 byte order is code point order, which is
    Python's string order), so the strings are created in their final order: no join and encode of
    them to sort them, and no gather of ~50k new strings in sorted order (a cache miss each: that
    gather and the string sort were ~14 % of a bench body field's analysis, py-spy).
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if not starts.size:
        return [], np.zeros(0, dtype=np.int64)
    words = word_view(padded_buffer)
    keys = token_keys(words, starts, lengths)
    distinct_keys = _distinct_sorted(keys)
    ids = lookup_ids(distinct_keys, keys)
    representatives = np.empty(distinct_keys.size, dtype=np.int64)
    representatives[ids] = np.arange(ids.size, dtype=np.int64)   # any occurrence will do
    if not _same_bytes_as_representative(words, starts, lengths, ids, representatives):
        return None
    if sort and representatives.size > 1:
        buffer = np.frombuffer(padded_buffer, dtype=np.uint8) if not isinstance(padded_buffer, np.ndarray) \
            else padded_buffer
        order = _byte_string_order(buffer, words, starts[representatives], lengths[representatives])
        representatives = representatives[order]
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size, dtype=np.int64)
        ids = rank[ids]
    terms = decode_tokens(padded_buffer, starts[representatives], lengths[representatives])
    return terms, ids


def _byte_string_order(buffer: np.ndarray, words: np.ndarray, starts: np.ndarray, lengths: np.ndarray
                       ) -> np.ndarray:
    """int64 indices that put the DISTINCT byte strings ``buffer[starts[i]:starts[i] + lengths[i]]``
    (no zero byte in any) in ascending byte order. Most terms differ in their first 8 bytes: one
    argsort of that big-endian word orders them; only the strings that share it with another (they
    are at least 8 bytes long) are sorted again on their first 24 bytes, and the few that still tie
    by their whole bytes (~3x cheaper than a lexsort of three words over every term)."""
    last_window = words.size - 1

    def key_word(word_number: int, which: np.ndarray | None = None) -> np.ndarray:
        # big-endian, zero padded (a prefix sorts first: no string holds a zero byte). The buffer's
        # padding covers one word past a token, not three: a window past its end is only read for
        # a token with no bytes there (masked to zero), so it is clamped
        token_starts = starts if which is None else starts[which]
        token_lengths = lengths if which is None else lengths[which]
        valid = np.clip(token_lengths - _WORD_BYTES * word_number, 0, _WORD_BYTES)
        word = words[np.minimum(token_starts + _WORD_BYTES * word_number, last_window)] & _MASK_OF_VALID_BYTES[valid]
        return word.byteswap()

    first_words = key_word(0)
    order = np.argsort(first_words)
    ordered_first = first_words[order]
    same_first = ordered_first[1:] == ordered_first[:-1]
    if not same_first.any():
        return order.astype(np.int64, copy=False)
    # the runs sharing a first word lie at consecutive places of ``order``, runs in first-word order:
    # sorting all their members by (first, second, third word) keeps every run at its places
    shared = np.zeros(order.size, dtype=bool)
    shared[1:] |= same_first
    shared[:-1] |= same_first
    places = np.flatnonzero(shared)
    members = order[places]
    keys = (key_word(2, members), key_word(1, members), ordered_first[places])
    by_prefix = np.lexsort(keys)
    members = members[by_prefix]
    order[places] = members
    # members that agree on all 24 bytes (longer strings with a long common prefix): by their bytes
    agree = np.ones(members.size - 1, dtype=bool)
    for key in keys:
        ordered = key[by_prefix]
        agree &= ordered[1:] == ordered[:-1]
    tied = np.flatnonzero(agree)
    if tied.size:
        run_breaks = np.flatnonzero(np.diff(tied) != 1)
        run_firsts = tied[np.concatenate(([0], run_breaks + 1))].tolist()
        run_lasts = (tied[np.concatenate((run_breaks, [tied.size - 1]))] + 1).tolist()
        member_places = places.tolist()
        for first, last in zip(run_firsts, run_lasts):
            run = members[first:last + 1].tolist()
            order[member_places[first]:member_places[last] + 1] = sorted(
                run, key=lambda index: buffer[starts[index]:starts[index] + lengths[index]].tobytes())
    return order.astype(np.int64, copy=False)


_SORT_KEY_WORDS = 3          # the first 24 bytes of every string decide its place with numpy
_KEY_BYTES = _WORD_BYTES * _SORT_KEY_WORDS
_SORT_PADDING = b"\n" * _KEY_BYTES


def sorted_string_order(strings: list[str]) -> np.ndarray:
    """int64 indices that put ``strings`` in ascending order: ``[strings[i] for i in result]``
    is ``sorted(strings)``, ties (equal strings) in their original order.

    Why: ``sorted(range(n), key=strings.__getitem__)`` is ~1.3 µs a string for the ~170k distinct
    terms of a 100k-document body field (the strings sit all over the heap). Here the strings are
    joined and encoded once (UTF-8 byte order is code point order, which is Python's string
    order); each string's first 24 bytes become three big-endian uint64 words, zero padded (no
    string holds a zero byte on this path: zero sorts below every byte, so a prefix sorts first);
    one ``np.lexsort`` orders them, and only runs that agree on all 24 bytes and hold a longer
    string (long strings with a common prefix) are sorted again by Python."""
    count = len(strings)
    if count < 2:
        return np.arange(count, dtype=np.int64)
    joined = "\n".join(strings)
    try:
        raw = joined.encode("utf-8")
    except UnicodeEncodeError:      # lone surrogates: no byte order to lean on
        raw = b""
    if not raw or b"\x00" in raw or joined.count("\n") != count - 1:
        return np.asarray(sorted(range(count), key=strings.__getitem__), dtype=np.int64)
    buffer = np.frombuffer(raw + b"\n" + _SORT_PADDING, dtype=np.uint8)
    ends = np.flatnonzero(buffer[:len(raw) + 1] == 10)
    starts = np.empty(count, dtype=np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts
    words = word_view(buffer)
    # lexsort's last key is the primary one; byteswap makes the first byte the most significant
    keys = [_word(words, starts, lengths, word_number).byteswap()
            for word_number in range(_SORT_KEY_WORDS - 1, -1, -1)]
    order = np.lexsort(keys)
    same_as_previous = np.ones(count - 1, dtype=bool)
    for key in keys:
        ordered = key[order]
        same_as_previous &= ordered[1:] == ordered[:-1]
    tied = np.flatnonzero(same_as_previous)
    if tied.size:
        # runs of neighbours that agree on all key words. A run of strings no longer than the key
        # holds equal strings only, already in their original order (lexsort is stable): only
        # runs with a longer string are re-sorted by the strings themselves (a merge's
        # concatenated dictionaries repeat most terms: those runs are left alone)
        run_breaks = np.flatnonzero(np.diff(tied) != 1)
        run_firsts = tied[np.concatenate(([0], run_breaks + 1))]
        run_lasts = tied[np.concatenate((run_breaks, [tied.size - 1]))] + 1
        long_before = np.zeros(count + 1, dtype=np.int64)      # long strings among the first i
        np.cumsum(lengths[order] > _KEY_BYTES, out=long_before[1:])
        with_long = (long_before[run_lasts + 1] - long_before[run_firsts]) > 0
        for first, last in zip(run_firsts[with_long].tolist(), run_lasts[with_long].tolist()):
            run = sorted(order[first:last + 1].tolist())      # original order first: stable ties
            order[first:last + 1] = sorted(run, key=strings.__getitem__)
    return order.astype(np.int64, copy=False)
