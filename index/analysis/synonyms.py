"""The synonym and synonym_graph token filters (inline Solr-format rules).

Owns parsing rules ("a, b, c" equivalences, "a, b => c" replacements) and rewriting a token
stream with them: the longest matching run of consecutive tokens is replaced by (or, for an
expanded equivalence, joined by) its synonyms at the same position. Rule words are analysed by
the chain that precedes the filter, as OpenSearch does, so the registry must call `prepare`.
It must never read files (`synonyms_path` is refused by the registry) nor tokenise text itself.
"""

from __future__ import annotations

from typing import Callable

from index.analysis.tokens import Token
from index.errors import AnalysisError

Phrase = tuple[str, ...]


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(text):
        character = text[index]
        if character == "\\" and index + 1 < len(text):
            current.append(text[index + 1])
            index += 2
            continue
        if text.startswith(separator, index):
            parts.append("".join(current))
            current = []
            index += len(separator)
            continue
        current.append(character)
        index += 1
    parts.append("".join(current))
    return parts


class SynonymFilter:
    """Token filter interface (see token_filters.TokenFilter) built from inline rules."""

    name = "synonym"

    def __init__(self, rules: list[str], expand: bool = True, lenient: bool = False) -> None:
        self.rules = rules
        self.expand = expand
        self.lenient = lenient
        self._map: dict[Phrase, list[Phrase]] | None = None
        self._longest = 1

    def prepare(self, analyze_phrase: Callable[[str], list[str]]) -> None:
        """Builds the rule table, analysing every rule word with the preceding chain."""
        table: dict[Phrase, list[Phrase]] = {}

        def phrases(side: str, rule: str) -> list[Phrase]:
            output = []
            for raw in _split_unescaped(side, ","):
                raw = raw.strip()
                if not raw:
                    continue
                analysed = tuple(analyze_phrase(raw))
                if not analysed:
                    if self.lenient:
                        continue
                    raise AnalysisError(f"failed to build synonyms: term [{raw}] in rule [{rule}] was"
                                        " completely eliminated by the analyzer")
                output.append(analysed)
            return output

        for rule in self.rules:
            if not isinstance(rule, str):
                raise AnalysisError(f"failed to build synonyms: rule [{rule}] must be a string")
            stripped = rule.strip()
            if not stripped or stripped.startswith("#"):
                continue
            sides = _split_unescaped(stripped, "=>")
            if len(sides) > 2:
                raise AnalysisError(f"failed to build synonyms: more than one explicit mapping in rule [{rule}]")
            if len(sides) == 2:
                inputs, outputs = phrases(sides[0], rule), phrases(sides[1], rule)
                for phrase in inputs:
                    table.setdefault(phrase, [])
                    table[phrase].extend(output for output in outputs if output not in table[phrase])
            else:
                group = phrases(sides[0], rule)
                targets = group if self.expand else group[:1]
                for phrase in group:
                    table.setdefault(phrase, [])
                    table[phrase].extend(target for target in targets if target not in table[phrase])
        self._map = table
        self._longest = max((len(phrase) for phrase in table), default=1)

    def _rewrite(self, tokens: list[Token]) -> list[Token]:
        if self._map is None:
            raise AnalysisError("synonym filter used before its rules were prepared")
        output: list[Token] = []
        index = 0
        table = self._map
        while index < len(tokens):
            match_length = 0
            replacements: list[Phrase] = []
            for length in range(min(self._longest, len(tokens) - index), 0, -1):
                phrase = tuple(token.term for token in tokens[index:index + length])
                found = table.get(phrase)
                if found is not None:
                    match_length, replacements = length, found
                    break
            if not match_length:
                output.append(tokens[index])
                index += 1
                continue
            matched = tokens[index:index + match_length]
            first = matched[0]
            start_offset, end_offset = first.start_offset, matched[-1].end_offset
            original = tuple(token.term for token in matched)
            emitted: list[Token] = []
            if original in replacements:
                emitted.extend(matched)  # the original tokens keep their positions and types
            for replacement in replacements:
                if replacement == original:
                    continue
                emitted.extend(Token(term, first.position + offset, start_offset, end_offset, "SYNONYM")
                               for offset, term in enumerate(replacement))
            emitted.sort(key=lambda token: token.position)  # stable: originals first at each position
            output.extend(emitted)
            index += match_length
        return output

    def filter_tokens(self, tokens: list[Token]) -> list[Token]:
        return self._rewrite(tokens)

    def filter_terms(self, terms: list[str], positions: list[int]) -> tuple[list[str], list[int]]:
        rewritten = self._rewrite([Token(term, position, 0, 0) for term, position in zip(terms, positions)])
        return [token.term for token in rewritten], [token.position for token in rewritten]

    def filter_batch(self, terms: list[str]):  # never called: not a one-token-at-a-time filter
        raise AnalysisError("the synonym filter cannot run over a whole batch at once")
