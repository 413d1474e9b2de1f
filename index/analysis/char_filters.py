"""Character filters: html_strip, mapping and pattern_replace.

A char filter rewrites the text before tokenising and returns, for every output character, the
original offsets of the span it came from (start and end), so tokens still report offsets into
the text the user sent: a token made of a replacement ends where the replaced text ended, as
Lucene's offset correction does. It must never tokenise or touch terms.
"""

from __future__ import annotations

import html
import re
from typing import Any

from index.errors import AnalysisError

# (filtered text, original start offset of each character, original end offset of each character)
FilteredText = tuple[str, list[int], list[int]]


class CharFilter:
    name = "char_filter"

    def apply(self, text: str, starts: list[int], ends: list[int]) -> FilteredText:
        raise NotImplementedError


def _replace_spans(text: str, starts: list[int], ends: list[int],
                   replacements: list[tuple[int, int, str]]) -> FilteredText:
    """Rebuilds text with (start, end, replacement) spans, keeping both offset maps aligned."""
    pieces: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    cursor = 0
    for start, end, replacement in replacements:
        pieces.append(text[cursor:start])
        new_starts.extend(starts[cursor:start])
        new_ends.extend(ends[cursor:start])
        if replacement:
            span_start = starts[start] if start < len(text) else (ends[-1] if ends else 0)
            span_end = ends[end - 1] if end > start else span_start
            pieces.append(replacement)
            new_starts.extend([span_start] * len(replacement))
            new_ends.extend([span_end] * len(replacement))
        cursor = end
    pieces.append(text[cursor:])
    new_starts.extend(starts[cursor:])
    new_ends.extend(ends[cursor:])
    return "".join(pieces), new_starts, new_ends


_BLOCK_TAGS = frozenset("""address article aside blockquote br dd div dl dt fieldset figcaption figure
footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table td th tr ul""".split())
_HTML_MARKUP = re.compile(
    r"(?P<skip><(?P<skip_tag>script|style)\b[^>]*>.*?</(?P=skip_tag)\s*>)"
    r"|(?P<comment><!--.*?-->)"
    r"|(?P<tag></?(?P<name>[A-Za-z][A-Za-z0-9]*)\b[^>]*>)"
    r"|(?P<entity>&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);)",
    re.DOTALL | re.IGNORECASE,
)


class HtmlStripCharFilter(CharFilter):
    """Removes tags, comments, script and style bodies; block tags become a newline; decodes
    entities. `escaped_tags` keeps the named tags."""

    name = "html_strip"

    def __init__(self, escaped_tags: list[str] | None = None) -> None:
        self.escaped_tags = frozenset(tag.lower() for tag in escaped_tags or [])

    def apply(self, text: str, starts: list[int], ends: list[int]) -> FilteredText:
        replacements: list[tuple[int, int, str]] = []
        for match in _HTML_MARKUP.finditer(text):
            if match.group("entity"):
                decoded = html.unescape(match.group("entity"))
                replacements.append((match.start(), match.end(), decoded))
            elif match.group("tag"):
                tag_name = match.group("name").lower()
                if tag_name in self.escaped_tags:
                    continue
                replacements.append((match.start(), match.end(), "\n" if tag_name in _BLOCK_TAGS else ""))
            else:
                replacements.append((match.start(), match.end(), ""))
        if not replacements:
            return text, starts, ends
        return _replace_spans(text, starts, ends, replacements)


class MappingCharFilter(CharFilter):
    """Replaces each key with its value, longest key first (`mappings: ["a => b", ...]`)."""

    name = "mapping"

    def __init__(self, mappings: dict[str, str]) -> None:
        if not mappings:
            raise AnalysisError("mapping requires either `mappings` or `mappings_path` to be configured")
        self.mappings = mappings
        keys = sorted(mappings, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(key) for key in keys))

    def apply(self, text: str, starts: list[int], ends: list[int]) -> FilteredText:
        replacements = [(match.start(), match.end(), self.mappings[match.group()])
                        for match in self.pattern.finditer(text)]
        if not replacements:
            return text, starts, ends
        return _replace_spans(text, starts, ends, replacements)


class PatternReplaceCharFilter(CharFilter):
    name = "pattern_replace"

    def __init__(self, pattern: str, replacement: str = "") -> None:
        try:
            self.pattern = re.compile(pattern, re.ASCII)  # Java's character classes are ASCII-only
        except re.error as error:
            raise AnalysisError(f"invalid pattern [{pattern}]: {error}") from None
        # Java writes group references as $1; Python as \1
        self.replacement = re.sub(r"\$(\d+)", r"\\\1", replacement)

    def apply(self, text: str, starts: list[int], ends: list[int]) -> FilteredText:
        replacements = [(match.start(), match.end(), match.expand(self.replacement))
                        for match in self.pattern.finditer(text)]
        if not replacements:
            return text, starts, ends
        return _replace_spans(text, starts, ends, replacements)


def _parse_mapping_rule(rule: str, definition_name: str) -> tuple[str, str]:
    if "=>" not in rule:
        raise AnalysisError(f"invalid mapping rule [{rule}] in char filter [{definition_name}]:"
                            " expected [key => value]")
    key, value = rule.split("=>", 1)
    key, value = key.strip(), value.strip()

    def unescape(part: str) -> str:
        return re.sub(r"\\u([0-9a-fA-F]{4})", lambda match: chr(int(match.group(1), 16)),
                      part).replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")

    if not key:
        raise AnalysisError(f"invalid mapping rule [{rule}] in char filter [{definition_name}]:"
                            " the key is empty")
    return unescape(key), unescape(value)


def build_char_filter(type_name: str, parameters: dict[str, Any], definition_name: str) -> CharFilter:
    if type_name == "html_strip":
        return HtmlStripCharFilter(parameters.get("escaped_tags"))
    if type_name == "mapping":
        rules = parameters.get("mappings") or []
        if "mappings_path" in parameters:
            raise AnalysisError(f"[mappings_path] of [{definition_name}] is not supported:"
                                " give the rules inline with [mappings]")
        return MappingCharFilter(dict(_parse_mapping_rule(rule, definition_name) for rule in rules))
    if type_name == "pattern_replace":
        if "pattern" not in parameters:
            raise AnalysisError(f"pattern is missing for [{definition_name}] char filter of type"
                                " 'pattern_replace'")
        return PatternReplaceCharFilter(parameters["pattern"], parameters.get("replacement", ""))
    raise AnalysisError(f"failed to find global char_filter under [{type_name}]")


BUILT_IN_CHAR_FILTER_NAMES = ("html_strip",)  # mapping and pattern_replace need parameters
