"""Property: any analysis settings either build a registry whose analyzers run, or fail with an
AnalysisError (a 400 naming the problem) — never another exception."""

from hypothesis import given, strategies as st

from index.analysis import AnalysisRegistry
from index.errors import IndexEngineError

TYPES = st.sampled_from(["custom", "standard", "simple", "stop", "english", "pattern", "keyword", "whitespace",
                         "snowball", "lowercase", "stemmer", "synonym", "ngram", "edge_ngram", "length", "shingle",
                         "word_delimiter_graph", "keyword_marker", "html_strip", "mapping", "bogus", 7])
PARAMETER_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 5), st.text("ab,=> ", max_size=6),
                             st.lists(st.text("ab,=> ", max_size=6), max_size=3),
                             st.sampled_from(["_english_", "_none_", "english", "\\W+", "(", "letter"]))
PARAMETER_NAMES = st.sampled_from(["type", "tokenizer", "filter", "char_filter", "stopwords", "language",
                                   "min_gram", "max_gram", "min", "max", "synonyms", "keywords", "mappings",
                                   "pattern", "max_token_length", "token_chars", "preserve_original"])
DEFINITION = st.dictionaries(PARAMETER_NAMES, st.one_of(TYPES, PARAMETER_VALUES), max_size=4)
SECTION = st.dictionaries(st.sampled_from(["x", "y", "default"]), DEFINITION, max_size=2)
SETTINGS = st.fixed_dictionaries({}, optional={"analyzer": SECTION, "tokenizer": SECTION, "filter": SECTION,
                                               "char_filter": SECTION, "normalizer": SECTION})


@given(SETTINGS, st.text(max_size=20))
def test_settings_build_working_analyzers_or_fail_with_an_index_error(analysis, text):
    try:
        registry = AnalysisRegistry.from_index_settings({"analysis": analysis})
    except IndexEngineError:
        return
    for name in registry.names():
        analyzer = registry.get(name)
        tokens = analyzer.analyze(text)
        assert analyzer.terms_and_positions(text) == ([token.term for token in tokens],
                                                      [token.position for token in tokens])
        batch = analyzer.analyze_batch([text, text])
        assert batch.terms == [token.term for token in tokens] * 2
