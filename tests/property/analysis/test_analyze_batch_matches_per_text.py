"""Property: the numpy batch path equals the per-text regex path exactly (DESIGN §9)."""

from hypothesis import given, strategies as st

from index.analysis import AnalysisRegistry

REGISTRY = AnalysisRegistry()
# Characters that exercise every rule of the ASCII fast path, plus some non-ASCII ones.
INTERESTING_ALPHABET = st.sampled_from(list("aZq09_ .,;:'\"-\n\t!?/") + ["é", "ß", "中", "\u0301", "’", "İ"])
TEXT = st.one_of(st.text(INTERESTING_ALPHABET, max_size=40), st.text(max_size=20),
                 st.text(st.sampled_from(list("ab1_.'")), min_size=250, max_size=270))


def per_text(analyzer, texts):
    terms, text_index, positions = [], [], []
    for number, text in enumerate(texts):
        text_terms, text_positions = analyzer.terms_and_positions(text)
        terms += text_terms
        text_index += [number] * len(text_terms)
        positions += text_positions
    return terms, text_index, positions


@given(st.lists(TEXT, max_size=8), st.sampled_from(["standard", "simple", "english", "stop"]))
def test_batch_terms_and_positions_equal_the_per_text_path(texts, analyzer_name):
    analyzer = REGISTRY.get(analyzer_name)
    batch = analyzer.analyze_batch(texts)
    assert (batch.terms, batch.text_index.tolist(), batch.positions.tolist()) == per_text(analyzer, texts)


@given(st.text(INTERESTING_ALPHABET, max_size=60), st.sampled_from(["standard", "simple", "english", "whitespace"]))
def test_terms_and_positions_equal_the_terms_and_positions_of_analyze(text, analyzer_name):
    analyzer = REGISTRY.get(analyzer_name)
    tokens = analyzer.analyze(text)
    assert analyzer.terms_and_positions(text) == ([token.term for token in tokens],
                                                  [token.position for token in tokens])


@given(st.text(max_size=60))
def test_standard_token_offsets_point_at_the_token_text(text):
    for token in REGISTRY.get("standard").analyze(text):
        assert text[token.start_offset:token.end_offset].lower() == token.term


SCRIPT_MIX = st.text(st.sampled_from(list("ab1_.'’ ") + ["中", "文", "ひ", "カ", "タ", "한", "\u0301", "é", "𝐀", "😀", "\U00020000", "☀", "\ufe0f", "\u200d", "🇫", "\u00ad", "\u200b"]),
                     max_size=30)


@given(st.one_of(SCRIPT_MIX, st.text(max_size=30)))
def test_standard_tokenizer_fast_path_equals_the_exact_uax29_pattern(text):
    from index.analysis.tokenizers import StandardTokenizer

    tokenizer = StandardTokenizer()
    exact: list = []
    tokenizer._tokenize_exact(text, 0, len(text), exact)
    assert tokenizer.tokenize(text) == exact
    assert tokenizer.terms(text) == [raw[0] for raw in exact]


ASCII_WHITESPACE_MIX = st.text(st.sampled_from(list("ab \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0") + ["\u2003"]), max_size=40)


@given(st.one_of(ASCII_WHITESPACE_MIX, st.text(st.sampled_from(list("ab \t")), min_size=250, max_size=300)))
def test_whitespace_tokenizer_split_shortcut_equals_the_java_whitespace_pattern(text):
    from index.analysis.tokenizers import WhitespaceTokenizer

    tokenizer = WhitespaceTokenizer()
    assert tokenizer.terms(text) == [raw[0] for raw in tokenizer.tokenize(text)]


@given(st.lists(st.text(max_size=10), max_size=6), st.sampled_from(["keyword", "whitespace"]))
def test_keyword_and_whitespace_batches_equal_the_per_text_path(texts, analyzer_name):
    analyzer = REGISTRY.get(analyzer_name)
    batch = analyzer.analyze_batch(texts)
    assert (batch.terms, batch.text_index.tolist(), batch.positions.tolist()) == per_text(analyzer, texts)
