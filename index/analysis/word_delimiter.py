"""The word_delimiter and word_delimiter_graph token filters.

Owns splitting one token into sub-words the way Lucene's WordDelimiterIterator does: at
non-alphanumeric characters, at lower→upper case changes ("PowerShot" → Power, Shot), and between
letters and digits ("SD500" → SD, 500), dropping an English possessive first. Parts take
consecutive positions; catenated forms and the preserved original sit at the first part's
position (the flattened form of Lucene's graph). It must never tokenise whole texts.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.analysis.tokens import Token

_LOWER, _UPPER, _DIGIT, _DELIMITER = 1, 2, 4, 8


def _character_type(character: str) -> int:
    if character.isdigit():
        return _DIGIT
    if character.isalpha():
        return _UPPER if character.isupper() else _LOWER
    return _DELIMITER


@dataclass(frozen=True, slots=True)
class WordDelimiterOptions:
    generate_word_parts: bool = True
    generate_number_parts: bool = True
    catenate_words: bool = False
    catenate_numbers: bool = False
    catenate_all: bool = False
    split_on_case_change: bool = True
    split_on_numerics: bool = True
    preserve_original: bool = False
    stem_english_possessive: bool = True
    protected_words: frozenset[str] = frozenset()


class WordDelimiterFilter:
    """Token filter interface (see token_filters.TokenFilter)."""

    name = "word_delimiter"

    def __init__(self, options: WordDelimiterOptions) -> None:
        self.options = options

    def _is_break(self, last_type: int, current_type: int) -> bool:
        if last_type & current_type:
            return False
        alpha = _LOWER | _UPPER
        if not self.options.split_on_case_change and last_type & alpha and current_type & alpha:
            return False
        if last_type & _UPPER and current_type & alpha:
            return False
        if not self.options.split_on_numerics and (
                (last_type & alpha and current_type & _DIGIT) or (last_type & _DIGIT and current_type & alpha)):
            return False
        return True

    def _parts(self, term: str) -> list[tuple[int, int, bool]]:
        """(start, end, is_number) of each sub-word of term."""
        end_of_word = len(term)
        if (self.options.stem_english_possessive and end_of_word >= 2 and term[-1] in "sS"
                and term[-2] in ("'", "\u2019")):
            end_of_word -= 2
        parts: list[tuple[int, int, bool]] = []
        start = None
        last_type = 0
        for index in range(end_of_word):
            current_type = _character_type(term[index])
            if current_type == _DELIMITER:
                if start is not None:
                    parts.append((start, index, last_type == _DIGIT))
                    start = None
                last_type = _DELIMITER
                continue
            if start is None:
                start = index
            elif self._is_break(last_type, current_type):
                parts.append((start, index, last_type == _DIGIT))
                start = index
            last_type = current_type
        if start is not None:
            parts.append((start, end_of_word, last_type == _DIGIT))
        return parts

    def _split(self, token: Token, position: int) -> tuple[list[Token], int]:
        """The tokens one input token becomes, and how many positions they take."""
        options = self.options
        term = token.term
        if term in options.protected_words:
            return [Token(term, position, token.start_offset, token.end_offset, token.type)], 1
        parts = self._parts(term)
        if len(parts) == 1 and parts[0][0] == 0 and parts[0][1] == len(term):
            return [Token(term, position, token.start_offset, token.end_offset, token.type)], 1
        output: list[Token] = []
        if options.preserve_original:
            output.append(Token(term, position, token.start_offset, token.end_offset, token.type))
        kept = [(start, end, is_number) for start, end, is_number in parts
                if (options.generate_number_parts if is_number else options.generate_word_parts)]
        base = token.start_offset
        extra: list[Token] = []

        def catenation(selected: list[tuple[int, int, bool]]) -> None:
            if len(selected) > 1:
                extra.append(Token("".join(term[start:end] for start, end, _ in selected), position,
                                   base + selected[0][0], base + selected[-1][1], token.type))

        if options.catenate_all:
            catenation(parts)
        else:
            # runs of consecutive word parts / number parts
            run: list[tuple[int, int, bool]] = []
            for part in parts + [(0, 0, None)]:  # type: ignore[list-item]
                if run and (part[2] is not run[-1][2]):
                    if (options.catenate_numbers if run[-1][2] else options.catenate_words):
                        catenation(run)
                    run = []
                if part[2] is not None:
                    run.append(part)
        for offset, (start, end, _) in enumerate(kept):
            output.append(Token(term[start:end], position + offset, base + start, base + end, token.type))
            if offset == 0 and extra:
                output.extend(extra)
                extra = []
        output.extend(extra)
        return output, max(len(kept), 1)

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        output: list[Token] = []
        shift = 0  # positions added by earlier tokens that split into several parts
        previous_position = None
        for token in tokens:
            if previous_position is not None and token.position == previous_position:
                position = output[-1].position if output else token.position + shift
            else:
                position = token.position + shift
            produced, width = self._split(token, position)
            output.extend(produced)
            shift += width - 1
            previous_position = token.position
        return output

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        tokens = self.filter_tokens([Token(term, position, 0, len(term)) for term, position in zip(terms, positions)])
        return [token.term for token in tokens], [token.position for token in tokens]
