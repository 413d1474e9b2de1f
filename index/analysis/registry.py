"""AnalysisRegistry: the analyzers an index can use (built-ins plus index.analysis.* settings),
and `analyze`, the engine of the `_analyze` API.

Owns reading analysis settings and naming things; errors use OpenSearch's wording. It must
never tokenise itself (analyzer.py, tokenizers.py and token_filters.py do) nor know about
mappings or HTTP.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from index.analysis.analyzer import Analyzer
from index.analysis.char_filters import CharFilter, build_char_filter
from index.analysis.stopwords import ENGLISH_STOP_WORDS
from index.analysis.synonyms import SynonymFilter
from index.analysis.token_filters import (
    AsciiFoldingFilter,
    EnglishPossessiveFilter,
    FingerprintFilter,
    KeywordMarkerFilter,
    LowercaseFilter,
    MinimalEnglishStemFilter,
    PorterStemFilter,
    ProtectedStemFilter,
    StemmerFilter,
    StopFilter,
    TokenFilter,
    build_token_filter,
    stop_words_from_setting,
)
from index.analysis.tokenizers import (
    DEFAULT_MAX_TOKEN_LENGTH,
    KeywordTokenizer,
    LetterTokenizer,
    PatternTokenizer,
    StandardTokenizer,
    Tokenizer,
    WhitespaceTokenizer,
    build_tokenizer,
)
from index.analysis.tokens import Token
from index.errors import AnalysisError, LimitExceededError

# Lucene's prebuilt analyzers report a position increment gap of 0; custom analyzers 100
# (OpenSearch's default `position_increment_gap`).
CUSTOM_ANALYZER_POSITION_INCREMENT_GAP = 100


def _integer_setting(parameters: dict[str, Any], key: str, default: int, owner: str) -> int:
    value = parameters.get(key, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise AnalysisError(f"failed to parse [{key}] of [{owner}]: expected an integer, got [{value}]") from None


def build_typed_analyzer(name: str, type_name: str, parameters: dict[str, Any]) -> Analyzer:
    """A built-in analyzer type, configured (`{"type": "standard", "stopwords": ...}`)."""
    if type_name == "standard":
        filters: list[TokenFilter] = [LowercaseFilter()]
        stop_words = stop_words_from_setting(parameters.get("stopwords", "_none_"), name)
        if stop_words:
            filters.append(StopFilter(stop_words))
        return Analyzer(name, StandardTokenizer(_integer_setting(
            parameters, "max_token_length", DEFAULT_MAX_TOKEN_LENGTH, name)), filters)
    if type_name == "simple":
        return Analyzer(name, LetterTokenizer(), [LowercaseFilter()])
    if type_name == "whitespace":
        return Analyzer(name, WhitespaceTokenizer(_integer_setting(
            parameters, "max_token_length", DEFAULT_MAX_TOKEN_LENGTH, name)))
    if type_name == "keyword":
        return Analyzer(name, KeywordTokenizer())
    if type_name == "stop":
        return Analyzer(name, LetterTokenizer(), [
            LowercaseFilter(), StopFilter(stop_words_from_setting(parameters.get("stopwords"), name))])
    if type_name == "english":
        stemmer: TokenFilter = PorterStemFilter()
        exclusions = parameters.get("stem_exclusion")
        if exclusions:
            if not isinstance(exclusions, list) or not all(isinstance(word, str) for word in exclusions):
                raise AnalysisError(f"[stem_exclusion] of analyzer [{name}] must be a list of words, got [{exclusions}]")
            stemmer = ProtectedStemFilter(stemmer, (KeywordMarkerFilter(frozenset(exclusions)),))
        return Analyzer(name, StandardTokenizer(), [
            EnglishPossessiveFilter(), LowercaseFilter(),
            StopFilter(stop_words_from_setting(parameters.get("stopwords", "_english_"), name)),
            stemmer])
    if type_name == "pattern":
        filters = []
        if parameters.get("lowercase", True) not in (False, "false"):
            filters.append(LowercaseFilter())
        stop_words = stop_words_from_setting(parameters.get("stopwords", "_none_"), name)
        if stop_words:
            filters.append(StopFilter(stop_words))
        return Analyzer(name, PatternTokenizer(parameters.get("pattern", r"\W+"),
                                               parameters.get("flags", "")), filters)
    if type_name == "snowball":
        language = str(parameters.get("language", "English"))
        filters = [LowercaseFilter()]
        if language.lower() == "english":
            filters.append(StopFilter(ENGLISH_STOP_WORDS))
        filters.append(build_token_filter("snowball", {"language": language}, name))
        return Analyzer(name, StandardTokenizer(), filters)
    if type_name == "fingerprint":
        filters = [LowercaseFilter(), AsciiFoldingFilter()]
        stop_words = stop_words_from_setting(parameters.get("stopwords", "_none_"), name)
        if stop_words:
            filters.append(StopFilter(stop_words))
        filters.append(FingerprintFilter(str(parameters.get("separator", " ")),
                                         _integer_setting(parameters, "max_output_size", 255, name)))
        return Analyzer(name, StandardTokenizer(), filters)
    raise AnalysisError(f"Unknown analyzer type [{type_name}] for [{name}]")


BUILT_IN_ANALYZER_NAMES = ("standard", "simple", "whitespace", "keyword", "stop", "english",
                           "pattern", "snowball", "fingerprint")
_BUILT_IN_ANALYZERS = {name: build_typed_analyzer(name, name, {}) for name in BUILT_IN_ANALYZER_NAMES}


def _named(component: Any, definition_name: str) -> Any:
    """Remembers the name a component was asked for (the `_analyze` explain output shows it)."""
    component.definition_name = definition_name
    return component


def _expand_dotted_keys(settings: dict[str, Any]) -> dict[str, Any]:
    """`{"index.analysis.filter.x.type": "stop"}` → nested dicts; nested input passes through."""
    expanded: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            value = _expand_dotted_keys(value)
        parts = key.split(".")
        target = expanded
        for part in parts[:-1]:
            existing = target.get(part)
            if not isinstance(existing, dict):
                existing = target[part] = {}
            target = existing
        last = parts[-1]
        if isinstance(value, dict) and isinstance(target.get(last), dict):
            target[last] = {**target[last], **value}
        else:
            target[last] = value
    return _numbered_keys_as_lists(expanded)


def _numbered_keys_as_lists(value: Any) -> Any:
    """{"0": "a", "1": "b"} → ["a", "b"]: how flat settings spell arrays ("filter.0", "filter.1")."""
    if not isinstance(value, dict):
        return value
    converted = {key: _numbered_keys_as_lists(item) for key, item in value.items()}
    if converted and all(isinstance(key, str) and key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def _analysis_section(index_settings: dict[str, Any] | None) -> dict[str, Any]:
    if not index_settings:
        return {}
    settings = _expand_dotted_keys(index_settings)
    if isinstance(settings.get("settings"), dict):
        settings = settings["settings"]
    if isinstance(settings.get("index"), dict):
        settings = {**settings, **settings["index"]}
    analysis = settings.get("analysis") or {}
    if not isinstance(analysis, dict):
        raise AnalysisError(f"[index.analysis] must be an object, got [{analysis}]")
    return analysis


def _definitions(analysis: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    section = analysis.get(kind) or {}
    if not isinstance(section, dict):
        raise AnalysisError(f"[index.analysis.{kind}] must be an object, got [{section}]")
    for name, definition in section.items():
        if not isinstance(definition, dict):
            raise AnalysisError(f"[index.analysis.{kind}.{name}] must be an object, got [{definition}]")
    return section


def _name_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, dict)):
        return [value]
    if isinstance(value, list):
        return value
    raise AnalysisError(f"expected a name or a list of names, got [{value}]")


class AnalysisRegistry:
    """The analyzers, tokenizers, filters and char filters one index can name."""

    def __init__(self, analyzers: dict[str, Analyzer] | None = None,
                 tokenizer_definitions: dict[str, dict[str, Any]] | None = None,
                 filter_definitions: dict[str, dict[str, Any]] | None = None,
                 char_filter_definitions: dict[str, dict[str, Any]] | None = None,
                 normalizers: dict[str, Analyzer] | None = None) -> None:
        self._analyzers = {**_BUILT_IN_ANALYZERS, **(analyzers or {})}
        self._tokenizer_definitions = tokenizer_definitions or {}
        self._filter_definitions = filter_definitions or {}
        self._char_filter_definitions = char_filter_definitions or {}
        self._normalizers = {"lowercase": Analyzer("lowercase", KeywordTokenizer(), [LowercaseFilter()]),
                             **(normalizers or {})}

    @classmethod
    def from_index_settings(cls, index_settings: dict | None) -> AnalysisRegistry:
        analysis = _analysis_section(index_settings)
        registry = cls(
            tokenizer_definitions=_definitions(analysis, "tokenizer"),
            filter_definitions=_definitions(analysis, "filter"),
            char_filter_definitions=_definitions(analysis, "char_filter"),
        )
        # Build everything now so a bad definition fails index creation, not the first search.
        for name in registry._tokenizer_definitions:
            registry.tokenizer(name)
        for name in registry._filter_definitions:
            registry.token_filter(name)  # synonym rules are checked when an analyzer uses them
        for name in registry._char_filter_definitions:
            registry.char_filter(name)
        for name, definition in _definitions(analysis, "analyzer").items():
            registry._analyzers[name] = registry._build_analyzer(name, definition)
        for name, definition in _definitions(analysis, "normalizer").items():
            registry._normalizers[name] = registry._build_normalizer(name, definition)
        return registry

    # -- lookups --------------------------------------------------------------------------
    def get(self, name: str) -> Analyzer:
        analyzer = self._analyzers.get(name)
        if analyzer is None:
            if name in ("default", "default_search"):
                return self._analyzers.get("default", self._analyzers["standard"])
            raise AnalysisError(f"failed to find analyzer [{name}]")
        return analyzer

    def has(self, name: str) -> bool:
        return name in self._analyzers or name in ("default", "default_search")

    def names(self) -> list[str]:
        return sorted(self._analyzers)

    def get_normalizer(self, name: str) -> Analyzer:
        normalizer = self._normalizers.get(name)
        if normalizer is None:
            raise AnalysisError(f"failed to find normalizer under name [{name}]")
        return normalizer

    def tokenizer(self, reference: str | dict) -> Tokenizer:
        if not isinstance(reference, (str, dict)):
            raise AnalysisError(f"a tokenizer must be named by a string or defined by an object, got [{reference}]")
        if isinstance(reference, dict):
            return build_tokenizer(str(reference.get("type")), reference, "_anonymous_tokenizer")
        definition = self._tokenizer_definitions.get(reference)
        if definition is not None:
            if "type" not in definition:
                raise AnalysisError(f"tokenizer [{reference}] must specify either an analyzer type, or a tokenizer")
            return _named(build_tokenizer(str(definition["type"]), definition, reference), reference)
        return _named(build_tokenizer(reference, {}, reference), reference)

    def token_filter(self, reference: str | dict) -> TokenFilter:
        if not isinstance(reference, (str, dict)):
            raise AnalysisError(f"a filter must be named by a string or defined by an object, got [{reference}]")
        if isinstance(reference, dict):
            return build_token_filter(str(reference.get("type")), reference, "_anonymous_filter")
        definition = self._filter_definitions.get(reference)
        if definition is not None:
            if "type" not in definition:
                raise AnalysisError(f"token filter [{reference}] must specify type")
            return _named(build_token_filter(str(definition["type"]), definition, reference), reference)
        return _named(build_token_filter(reference, {}, reference), reference)

    def char_filter(self, reference: str | dict) -> CharFilter:
        if not isinstance(reference, (str, dict)):
            raise AnalysisError(f"a char_filter must be named by a string or defined by an object, got [{reference}]")
        if isinstance(reference, dict):
            return build_char_filter(str(reference.get("type")), reference, "_anonymous_char_filter")
        definition = self._char_filter_definitions.get(reference)
        if definition is not None:
            if "type" not in definition:
                raise AnalysisError(f"char filter [{reference}] must specify type")
            return _named(build_char_filter(str(definition["type"]), definition, reference), reference)
        return _named(build_char_filter(reference, {}, reference), reference)

    # -- building from settings -----------------------------------------------------------
    def _build_analyzer(self, name: str, definition: dict[str, Any]) -> Analyzer:
        type_name = definition.get("type")
        if type_name is None and "tokenizer" not in definition:
            raise AnalysisError(f"analyzer [{name}] must specify either an analyzer type, or a tokenizer")
        if type_name not in (None, "custom"):
            return build_typed_analyzer(name, str(type_name), definition)
        if "tokenizer" not in definition:
            raise AnalysisError(f"analyzer [{name}] must specify either an analyzer type, or a tokenizer")
        tokenizer_name = definition["tokenizer"]
        try:
            tokenizer = self.tokenizer(tokenizer_name)
        except AnalysisError as error:
            if "failed to find" in error.reason:
                raise AnalysisError(f"Custom Analyzer [{name}] failed to find tokenizer under name"
                                    f" [{tokenizer_name}]") from None
            raise
        filters: list[Any] = []
        for filter_name in _name_list(definition.get("filter")):
            try:
                token_filter = self.token_filter(filter_name)
            except AnalysisError as error:
                if "failed to find" in error.reason:
                    raise AnalysisError(f"Custom Analyzer [{name}] failed to find filter under name"
                                        f" [{filter_name}]") from None
                raise
            _prepare_synonyms(token_filter, tokenizer, filters)
            filters.append(token_filter)
        char_filters = []
        for char_filter_name in _name_list(definition.get("char_filter")):
            try:
                char_filters.append(self.char_filter(char_filter_name))
            except AnalysisError as error:
                if "failed to find" in error.reason:
                    raise AnalysisError(f"Custom Analyzer [{name}] failed to find char_filter under"
                                        f" name [{char_filter_name}]") from None
                raise
        gap = _integer_setting(definition, "position_increment_gap",
                               CUSTOM_ANALYZER_POSITION_INCREMENT_GAP, name)
        return Analyzer(name, tokenizer, _protect_keywords(filters), char_filters, position_increment_gap=gap,
                        is_custom_chain=True)

    def _build_normalizer(self, name: str, definition: dict[str, Any]) -> Analyzer:
        if definition.get("type", "custom") != "custom":
            raise AnalysisError(f"Unknown normalizer type [{definition.get('type')}] for [{name}]")
        filters = [self.token_filter(filter_name) for filter_name in _name_list(definition.get("filter"))]
        char_filters = [self.char_filter(reference) for reference in _name_list(definition.get("char_filter"))]
        return Analyzer(name, KeywordTokenizer(), filters, char_filters)


_STEMMERS = (StemmerFilter, PorterStemFilter, MinimalEnglishStemFilter)


def _protect_keywords(filters: list[Any]) -> list[Any]:
    """Stemmers after a keyword_marker leave its keywords alone (Lucene's KeywordAttribute)."""
    markers: list[KeywordMarkerFilter] = []
    output = []
    for token_filter in filters:
        if isinstance(token_filter, KeywordMarkerFilter):
            markers.append(token_filter)
        elif markers and isinstance(token_filter, _STEMMERS):
            protected = ProtectedStemFilter(token_filter, tuple(markers))
            protected.definition_name = getattr(token_filter, "definition_name", token_filter.name)
            token_filter = protected
        output.append(token_filter)
    return output


def _prepare_synonyms(token_filter: Any, tokenizer: Tokenizer, preceding_filters: list[Any]) -> None:
    """Synonym rules are analysed by the tokenizer and the filters before the synonym filter."""
    if isinstance(token_filter, SynonymFilter):
        rule_analyzer = Analyzer("_synonym_rules_", tokenizer, list(preceding_filters))
        token_filter.prepare(lambda phrase: rule_analyzer.terms_and_positions(phrase)[0])


DEFAULT_ANALYSIS_REGISTRY = AnalysisRegistry()


DEFAULT_MAX_TOKEN_COUNT = 10_000  # index.analyze.max_token_count


def _chosen_analyzer(registry: AnalysisRegistry, analyzer: str | None, tokenizer: str | dict | None,
                     filters: list | None, char_filters: list | None, normalizer: str | None) -> tuple[Analyzer, bool]:
    """The analyzer an `_analyze` request names or builds, and whether it is a custom chain."""
    if analyzer is not None and (tokenizer is not None or filters or char_filters):
        raise AnalysisError("tokenizer/filters/char_filters can't be used with an analyzer")
    if normalizer is not None and (analyzer is not None or tokenizer is not None):
        raise AnalysisError("tokenizer/analyze should be null if normalizer is specified")
    if normalizer is not None:
        return registry.get_normalizer(normalizer), True
    if analyzer is not None:
        if not registry.has(analyzer):
            raise AnalysisError(f"failed to find analyzer [{analyzer}]")
        chosen = registry.get(analyzer)
        return chosen, chosen.is_custom_chain
    # filters alone run over the whole text as one token, like a normalizer
    chosen_tokenizer = registry.tokenizer(tokenizer) if tokenizer is not None else (
        KeywordTokenizer() if (filters or char_filters) else None)
    if chosen_tokenizer is None:
        return registry.get("standard"), False
    chosen_filters: list[Any] = []
    for reference in filters or []:
        token_filter = registry.token_filter(reference)
        _prepare_synonyms(token_filter, chosen_tokenizer, chosen_filters)
        chosen_filters.append(token_filter)
    return Analyzer("_custom_", chosen_tokenizer, chosen_filters,
                    [registry.char_filter(reference) for reference in char_filters or []]), True


def _texts(text: str | list[str]) -> list[str]:
    texts = [text] if isinstance(text, str) else list(text)
    for one_text in texts:
        if not isinstance(one_text, str):
            raise AnalysisError(f"[text] must be a string or a list of strings, got [{one_text}]")
    return texts


def _utf16_shift(text: str) -> list[int] | None:
    """Indices of the characters beyond the BMP (each is two UTF-16 units in Java), if any."""
    if text and not text.isascii() and max(text) > "\uffff":
        return [index for index, character in enumerate(text) if character > "\uffff"]
    return None


class _Continuation:
    """Positions and offsets of several texts continuing one another, as OpenSearch's _analyze."""

    def __init__(self, position_increment_gap: int) -> None:
        self.position_increment_gap = position_increment_gap
        self.position_base = 0
        self.offset_base = 0

    def place(self, tokens: list[Token], text: str) -> list[Token]:
        astral = _utf16_shift(text)
        placed = []
        for token in tokens:
            start, end = token.start_offset, token.end_offset
            if astral:
                start += bisect_left(astral, start)
                end += bisect_left(astral, end)
            placed.append(Token(token.term, token.position + self.position_base, start + self.offset_base,
                                end + self.offset_base, token.type))
        return placed

    def advance(self, end_position: int, text: str) -> None:
        astral = _utf16_shift(text)
        self.position_base += end_position + self.position_increment_gap
        self.offset_base += len(text) + (len(astral) if astral else 0) + 1


def analyze(registry: AnalysisRegistry, text: str | list[str], analyzer: str | None = None,
            tokenizer: str | dict | None = None, filters: list | None = None,
            char_filters: list | None = None, max_token_count: int = DEFAULT_MAX_TOKEN_COUNT,
            normalizer: str | None = None) -> list[Token]:
    """The `_analyze` API: a named analyzer, or a tokenizer with filters, over one or more texts.

    Several texts continue one another as values of one field do: positions jump by the
    analyzer's position increment gap and offsets by one between texts. Offsets are in UTF-16
    units, as OpenSearch reports them (Analyzer.analyze gives code points, for slicing str).
    """
    chosen, _ = _chosen_analyzer(registry, analyzer, tokenizer, filters, char_filters, normalizer)
    output: list[Token] = []
    continuation = _Continuation(chosen.position_increment_gap)
    for one_text in _texts(text):
        tokens, end_position, _ = chosen.analyze_with_end(one_text)
        output.extend(continuation.place(tokens, one_text))
        if len(output) > max_token_count:
            raise LimitExceededError(
                f"The number of tokens produced by calling _analyze has exceeded the allowed maximum of"
                f" [{max_token_count}]. This limit can be set by changing the [index.analyze.max_token_count]"
                " index level setting.")
        continuation.advance(end_position, one_text)
    return output


def _token_detail(token: Token, attributes: list[str] | None) -> dict[str, Any]:
    detail: dict[str, Any] = {"token": token.term, "start_offset": token.start_offset,
                              "end_offset": token.end_offset, "type": token.type, "position": token.position}
    extra = {"bytes": "[" + " ".join(f"{byte:02x}" for byte in token.term.encode("utf-8")) + "]",
             "positionLength": 1, "termFrequency": 1}
    for name, value in extra.items():
        if attributes is None or name in attributes:
            detail[name] = value
    return detail


def analyze_detail(registry: AnalysisRegistry, text: str | list[str], analyzer: str | None = None,
                   tokenizer: str | dict | None = None, filters: list | None = None,
                   char_filters: list | None = None, normalizer: str | None = None,
                   attributes: list[str] | None = None) -> dict[str, Any]:
    """The `detail` object of `_analyze` with `explain: true`: the output of every stage.

    A built-in analyzer is one stage (`analyzer`); a custom chain shows its char filters'
    filtered texts, the tokenizer's tokens and each token filter's tokens, as OpenSearch does.
    """
    chosen, is_custom = _chosen_analyzer(registry, analyzer, tokenizer, filters, char_filters, normalizer)
    texts = _texts(text)
    if not is_custom:
        tokens = analyze(registry, texts, analyzer=analyzer or "standard")
        return {"custom_analyzer": False,
                "analyzer": {"name": chosen.name, "tokens": [_token_detail(token, attributes) for token in tokens]}}
    filtered_texts: list[list[str]] = [[] for _ in chosen.char_filters]
    stage_tokens: list[list[Token]] = [[] for _ in range(len(chosen.token_filters) + 1)]
    continuations = [_Continuation(chosen.position_increment_gap) for _ in stage_tokens]
    for one_text in texts:
        current, starts, ends = one_text, list(range(len(one_text))), list(range(1, len(one_text) + 1))
        for index, char_filter in enumerate(chosen.char_filters):
            current, starts, ends = char_filter.apply(current, starts, ends)
            filtered_texts[index].append(current)
        raw_tokens = chosen.tokenizer.tokenize(current)
        tokens = []
        for position, (term, start, end, token_type) in enumerate(raw_tokens):
            original_start = starts[start] if start < len(starts) else len(one_text)
            original_end = ends[end - 1] if end > start else original_start
            tokens.append(Token(term, position, original_start, original_end, token_type))
        stage_tokens[0].extend(continuations[0].place(tokens, one_text))
        continuations[0].advance(len(raw_tokens), one_text)
        for index, token_filter in enumerate(chosen.token_filters, start=1):
            tokens = token_filter.filter_tokens(tokens)
            stage_tokens[index].extend(continuations[index].place(tokens, one_text))
            continuations[index].advance(len(raw_tokens), one_text)

    def stage_name(component: Any, fallback: str) -> str:
        return getattr(component, "definition_name", None) or getattr(component, "name", fallback)

    return {
        "custom_analyzer": True,
        "charfilters": [{"name": stage_name(char_filter, "char_filter"), "filtered_text": filtered_texts[index]}
                        for index, char_filter in enumerate(chosen.char_filters)],
        "tokenizer": {"name": stage_name(chosen.tokenizer, "tokenizer"),
                      "tokens": [_token_detail(token, attributes) for token in stage_tokens[0]]},
        "tokenfilters": [{"name": stage_name(token_filter, "filter"),
                          "tokens": [_token_detail(token, attributes) for token in stage_tokens[index]]}
                         for index, token_filter in enumerate(chosen.token_filters, start=1)],
    }
