"""Custom analyzers, tokenizers, filters and char filters from index.analysis.* settings."""

import pytest

from index.analysis import AnalysisRegistry
from index.errors import AnalysisError


def terms(registry, analyzer_name, text):
    return [token.term for token in registry.get(analyzer_name).analyze(text)]


def test_a_custom_analyzer_chains_its_tokenizer_and_filters_in_order():
    registry = AnalysisRegistry.from_index_settings({"analysis": {
        "analyzer": {"folded": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}}}})
    assert terms(registry, "folded", "Crème Brûlée ÆSIR Straße") == ["creme", "brulee", "aesir", "strasse"]


def test_settings_are_read_nested_under_index_or_flat_with_dots():
    nested = AnalysisRegistry.from_index_settings({"index": {"analysis": {"analyzer": {"a": {"tokenizer": "whitespace"}}}}})
    flat = AnalysisRegistry.from_index_settings({"index.analysis.analyzer.a.tokenizer": "whitespace",
                                                 "index.analysis.analyzer.a.filter": ["uppercase"]})
    assert terms(nested, "a", "x Y") == ["x", "Y"]
    assert terms(flat, "a", "x Y") == ["X", "Y"]


def test_custom_filter_definitions_configure_stop_words_and_stemmers():
    registry = AnalysisRegistry.from_index_settings({"analysis": {
        "filter": {"my_stop": {"type": "stop", "stopwords": ["foo", "bar"]},
                   "light": {"type": "stemmer", "language": "minimal_english"}},
        "analyzer": {"a": {"tokenizer": "standard", "filter": ["lowercase", "my_stop", "light"]}}}})
    tokens = registry.get("a").analyze("Foo dogs BAR ponies")
    assert [(token.term, token.position) for token in tokens] == [("dog", 1), ("pony", 3)]


def test_stop_filter_accepts_named_lists_and_ignore_case():
    registry = AnalysisRegistry.from_index_settings({"analysis": {
        "filter": {"s": {"type": "stop", "stopwords": "_english_", "ignore_case": True}},
        "analyzer": {"a": {"tokenizer": "whitespace", "filter": ["s"]}}}})
    assert terms(registry, "a", "The Cat") == ["Cat"]


def test_a_standard_analyzer_can_be_given_stop_words_and_a_max_token_length():
    registry = AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {
        "short": {"type": "standard", "max_token_length": 3, "stopwords": "_english_"}}}})
    assert terms(registry, "short", "the abcdefg") == ["abc", "def", "g"]


def test_html_strip_removes_markup_and_keeps_offsets_in_the_original_text():
    registry = AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {
        "html": {"tokenizer": "standard", "char_filter": ["html_strip"], "filter": ["lowercase"]}}}})
    text = "<p>Hello <b>W&amp;orld</b></p><script>var x;</script>"
    tokens = registry.get("html").analyze(text)
    assert [(token.term, text[token.start_offset:token.end_offset]) for token in tokens] == [
        ("hello", "Hello"), ("w", "W"), ("orld", "orld")]


def test_mapping_char_filter_replaces_before_tokenizing():
    registry = AnalysisRegistry.from_index_settings({"analysis": {
        "char_filter": {"emoticons": {"type": "mapping", "mappings": [":) => _happy_", ":( => _sad_"]}},
        "analyzer": {"a": {"tokenizer": "whitespace", "char_filter": ["emoticons"]}}}})
    assert terms(registry, "a", "I am :)") == ["I", "am", "_happy_"]


def test_pattern_tokenizer_splits_on_its_pattern():
    registry = AnalysisRegistry.from_index_settings({"analysis": {
        "tokenizer": {"commas": {"type": "pattern", "pattern": ","}},
        "analyzer": {"a": {"tokenizer": "commas", "filter": ["trim"]}}}})
    assert terms(registry, "a", "a, b ,c,,d") == ["a", "b", "c", "d"]


def test_edge_ngram_tokenizer_builds_prefixes_of_letter_runs():
    registry = AnalysisRegistry.from_index_settings({"analysis": {
        "tokenizer": {"prefixes": {"type": "edge_ngram", "min_gram": 2, "max_gram": 4, "token_chars": ["letter"]}},
        "analyzer": {"a": {"tokenizer": "prefixes", "filter": ["lowercase"]}}}})
    assert terms(registry, "a", "Quick 1 fox") == ["qu", "qui", "quic", "fo", "fox"]


def test_length_drops_short_terms_and_unique_drops_repeats():
    registry = AnalysisRegistry.from_index_settings({"analysis": {
        "filter": {"long_only": {"type": "length", "min": 3}},
        "analyzer": {"a": {"tokenizer": "whitespace", "filter": ["long_only", "unique"]}}}})
    assert terms(registry, "a", "ab abc abcd abc") == ["abc", "abcd"]


def test_custom_analyzers_have_a_position_increment_gap_of_100():
    registry = AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {"a": {"tokenizer": "standard"}}}})
    assert registry.get("a").position_increment_gap == 100
    assert registry.get("standard").position_increment_gap == 0


def test_a_default_analyzer_in_settings_is_what_default_resolves_to():
    registry = AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {"default": {"type": "english"}}}})
    assert terms(registry, "default", "running dogs") == ["run", "dog"]
    assert terms(AnalysisRegistry(), "default", "running dogs") == ["running", "dogs"]


def test_a_custom_analyzer_naming_an_unknown_tokenizer_fails_with_opensearch_message():
    with pytest.raises(AnalysisError, match=r"Custom Analyzer \[a\] failed to find tokenizer under name \[nope\]"):
        AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {"a": {"tokenizer": "nope"}}}})


def test_a_custom_analyzer_naming_an_unknown_filter_fails_with_opensearch_message():
    with pytest.raises(AnalysisError, match=r"Custom Analyzer \[a\] failed to find filter under name \[nope\]"):
        AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {"a": {"tokenizer": "standard",
                                                                              "filter": ["nope"]}}}})


def test_an_analyzer_without_type_or_tokenizer_is_refused():
    with pytest.raises(AnalysisError, match=r"analyzer \[a\] must specify either an analyzer type, or a tokenizer"):
        AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {"a": {"filter": ["lowercase"]}}}})


def test_an_unknown_analyzer_type_is_refused():
    with pytest.raises(AnalysisError, match=r"Unknown analyzer type \[klingon\] for \[a\]"):
        AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {"a": {"type": "klingon"}}}})


def test_an_unknown_stemmer_language_is_refused():
    with pytest.raises(AnalysisError, match=r"unknown stemmer language \[klingon\]"):
        AnalysisRegistry.from_index_settings({"analysis": {"filter": {"s": {"type": "stemmer", "language": "klingon"}}}})


def test_custom_analyzer_batches_equal_per_text_results():
    registry = AnalysisRegistry.from_index_settings({"analysis": {
        "filter": {"s": {"type": "stop", "stopwords": ["b"]}, "st": {"type": "stemmer", "language": "english"}},
        "analyzer": {"a": {"tokenizer": "standard", "filter": ["lowercase", "s", "st", "asciifolding"]}}}})
    analyzer = registry.get("a")
    texts = ["A b Running", "", "Ünïcode b b dogs", "plain ascii b"]
    batch = analyzer.analyze_batch(texts)
    expected_terms, expected_positions = [], []
    for text in texts:
        text_terms, text_positions = analyzer.terms_and_positions(text)
        expected_terms += text_terms
        expected_positions += text_positions
    assert batch.terms == expected_terms and batch.positions.tolist() == expected_positions


def synonym_registry(rules, expand=True):
    return AnalysisRegistry.from_index_settings({"analysis": {
        "filter": {"syn": {"type": "synonym", "synonyms": rules, "expand": expand}},
        "analyzer": {"a": {"tokenizer": "standard", "filter": ["lowercase", "syn"]}}}})


def test_synonym_equivalences_expand_at_the_same_position_after_the_original():
    tokens = synonym_registry(["Quick, fast"]).get("a").analyze("quick fox")
    assert [(token.term, token.position, token.type) for token in tokens] == [
        ("quick", 0, "<ALPHANUM>"), ("fast", 0, "SYNONYM"), ("fox", 1, "<ALPHANUM>")]


def test_synonym_equivalences_without_expand_map_to_the_first_word():
    assert terms(synonym_registry(["quick, fast"], expand=False), "a", "fast fox") == ["quick", "fox"]


def test_explicit_synonym_mappings_replace_a_multi_word_match():
    tokens = synonym_registry(["new york => nyc"]).get("a").analyze("to New York now")
    assert [(token.term, token.position, token.start_offset, token.end_offset) for token in tokens] == [
        ("to", 0, 0, 2), ("nyc", 1, 3, 11), ("now", 3, 12, 15)]


def test_synonym_terms_and_positions_agree_with_analyze():
    analyzer = synonym_registry(["a, b", "c d => e"]).get("a")
    tokens = analyzer.analyze("a c d x")
    assert analyzer.terms_and_positions("a c d x") == ([token.term for token in tokens], [token.position for token in tokens])


def test_synonyms_path_is_refused():
    with pytest.raises(AnalysisError, match=r"\[synonyms_path\]"):
        AnalysisRegistry.from_index_settings({"analysis": {"filter": {"s": {"type": "synonym", "synonyms_path": "x"}}}})


def test_shingles_follow_their_first_word():
    registry = AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {
        "a": {"tokenizer": "whitespace", "filter": ["shingle"]}}}})
    tokens = registry.get("a").analyze("a b c")
    assert [(token.term, token.position) for token in tokens] == [("a", 0), ("a b", 0), ("b", 1), ("b c", 1), ("c", 2)]


def test_lowercase_tokenizer_splits_on_non_letters_and_lowercases():
    registry = AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {"a": {"tokenizer": "lowercase"}}}})
    assert terms(registry, "a", "Hello WORLD 42x") == ["hello", "world", "x"]


def test_uax_url_email_keeps_addresses_and_urls_whole():
    registry = AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {"a": {"tokenizer": "uax_url_email"}}}})
    tokens = registry.get("a").analyze("mail john.smith@example.com or https://example.com/a?b=1. ok")
    assert [(token.term, token.type) for token in tokens] == [
        ("mail", "<ALPHANUM>"), ("john.smith@example.com", "<EMAIL>"), ("or", "<ALPHANUM>"),
        ("https://example.com/a?b=1", "<URL>"), ("ok", "<ALPHANUM>")]


def test_snowball_stemmers_are_not_shared_between_threads():
    import threading

    from index.analysis.token_filters import StemmerFilter

    stemmer_filter = StemmerFilter("french")
    seen = []
    thread = threading.Thread(target=lambda: seen.append(stemmer_filter.stemmer))
    thread.start()
    thread.join()
    assert seen[0] is not stemmer_filter.stemmer
    assert stemmer_filter.filter_terms(["chevaux"], [0]) == (["cheval"], [0])


def test_keyword_marker_protects_words_from_the_stemmers_after_it():
    registry = AnalysisRegistry.from_index_settings({"analysis": {
        "filter": {"protect": {"type": "keyword_marker", "keywords": ["running"]}},
        "analyzer": {"a": {"tokenizer": "standard", "filter": ["lowercase", "protect", "porter_stem"]}}}})
    assert terms(registry, "a", "Running jumping") == ["running", "jump"]
    assert registry.get("a").analyze_batch(["running jumping"]).terms == ["running", "jump"]


def test_english_stem_exclusion_keeps_the_listed_words_unstemmed():
    registry = AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {
        "a": {"type": "english", "stem_exclusion": ["organization"]}}}})
    assert terms(registry, "a", "organization organizations") == ["organization", "organ"]


def test_elision_removes_french_articles():
    registry = AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {
        "a": {"tokenizer": "standard", "filter": ["elision", "lowercase"]}}}})
    assert terms(registry, "a", "l'avion d'Air j'ai") == ["avion", "air", "ai"]


def test_keep_types_selects_tokens_by_type_on_every_path():
    registry = AnalysisRegistry.from_index_settings({"analysis": {
        "filter": {"numbers": {"type": "keep_types", "types": ["<NUM>"]}},
        "analyzer": {"a": {"tokenizer": "standard", "filter": ["numbers"]}}}})
    analyzer = registry.get("a")
    assert analyzer.terms_and_positions("abc 123 4.5 x") == (["123", "4.5"], [1, 2])
    assert analyzer.analyze_batch(["abc 123", "x 9"]).positions.tolist() == [1, 1]


@pytest.mark.parametrize("definition, text, expected", [
    ({"type": "keep", "keep_words": ["b", "c"]}, "a b c d", ["b", "c"]),
    ({"type": "limit", "max_token_count": 2}, "a b c", ["a", "b"]),
    ({"type": "pattern_replace", "pattern": "(\\d+)", "replacement": "<$1>"}, "a1 b22", ["a<1>", "b<22>"]),
    ({"type": "decimal_digit"}, "٣٤ x", ["34", "x"]),
    ({"type": "apostrophe"}, "Türkiye'de", ["Türkiye"]),
    ({"type": "remove_duplicates"}, "a a", ["a", "a"]),
    ({"type": "flatten_graph"}, "a b", ["a", "b"]),
])
def test_each_simple_token_filter_gives_the_same_terms_per_text_and_batched(definition, text, expected):
    registry = AnalysisRegistry.from_index_settings({"analysis": {
        "filter": {"f": definition}, "analyzer": {"a": {"tokenizer": "whitespace", "filter": ["f"]}}}})
    assert terms(registry, "a", text) == expected
    analyzer = registry.get("a")
    assert analyzer.analyze_batch([text]).terms == expected


def word_delimited(text, **options):
    from index.analysis import analyze

    return [(token.term, token.position) for token in
            analyze(AnalysisRegistry(), text, tokenizer="whitespace", filters=[{"type": "word_delimiter_graph", **options}])]


def test_word_delimiter_splits_at_delimiters_case_changes_and_digits():
    assert word_delimited("Wi-Fi PowerShot SD500 O'Neil's") == [
        ("Wi", 0), ("Fi", 1), ("Power", 2), ("Shot", 3), ("SD", 4), ("500", 5), ("O", 6), ("Neil", 7)]


def test_word_delimiter_catenations_and_original_share_the_first_position():
    assert word_delimited("wi-fi 500-42", catenate_words=True, catenate_numbers=True, preserve_original=True) == [
        ("wi-fi", 0), ("wi", 0), ("wifi", 0), ("fi", 1), ("500-42", 2), ("500", 2), ("50042", 2), ("42", 3)]


def test_word_delimiter_leaves_protected_words_and_plain_words_alone():
    assert word_delimited("C++ plain", protected_words=["C++"]) == [("C++", 0), ("plain", 1)]


def test_flat_settings_with_numbered_array_keys_are_read_as_lists():
    registry = AnalysisRegistry.from_index_settings({"index.analysis.analyzer.a.tokenizer": "whitespace",
                                                     "index.analysis.analyzer.a.filter.0": "lowercase",
                                                     "index.analysis.analyzer.a.filter.1": "uppercase"})
    assert terms(registry, "a", "Ab") == ["AB"]


def test_a_token_made_of_a_replacement_ends_where_the_replaced_text_ended():
    registry = AnalysisRegistry.from_index_settings({"analysis": {
        "char_filter": {"faces": {"type": "mapping", "mappings": [":) => _happy_"]}},
        "analyzer": {"a": {"tokenizer": "whitespace", "char_filter": ["faces"]}}}})
    tokens = registry.get("a").analyze("so :) now")
    assert [(token.term, token.start_offset, token.end_offset) for token in tokens] == [
        ("so", 0, 2), ("_happy_", 3, 5), ("now", 6, 9)]


def test_asciifolding_folds_latin_and_leaves_other_scripts_intact():
    from index.analysis.token_filters import AsciiFoldingFilter

    folding = AsciiFoldingFilter()
    assert [folding.map_term(term) for term in ["Crème", "Ærø", "ﬁne", "한국", "がっこう", "Москва"]] == [
        "Creme", "AEro", "fine", "한국", "がっこう", "Москва"]
