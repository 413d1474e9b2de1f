"""Stop word lists, keyed by the names OpenSearch accepts (`_english_`, `_none_`).

Owns only data. It must never import anything from index/.
"""

from __future__ import annotations

# Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, the list OpenSearch's `_english_` names.
ENGLISH_STOP_WORDS: frozenset[str] = frozenset(
    """a an and are as at be but by for if in into is it no not of on or such that the their
    then there these they this to was will with""".split()
)

PREDEFINED_STOP_WORD_LISTS: dict[str, frozenset[str]] = {
    "_english_": ENGLISH_STOP_WORDS,
    "_none_": frozenset(),
}
