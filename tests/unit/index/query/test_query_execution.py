"""Each query type, executed over reference segments, matches the documents OpenSearch would."""

import pytest

from index.errors import QueryShardError
from index.query import SearchContext, merge_shard_results, parse_search_request, search_shard
from index.testing import build_reference_searcher

NOW = 1_700_000_000_000   # 2023-11-14T22:13:20Z

MAPPING = {"properties": {
    "title": {"type": "text"},
    "body": {"type": "text", "analyzer": "english"},
    "tag": {"type": "keyword"},
    "count": {"type": "long"},
    "price": {"type": "double"},
    "published": {"type": "date"},
    "active": {"type": "boolean"},
    "author": {"properties": {"name": {"type": "keyword"}, "age": {"type": "integer"}}},
}}

DOCUMENTS = [
    ("1", {"title": "The quick brown fox", "body": "foxes are running", "tag": ["animal", "fast"], "count": 5,
           "price": 9.5, "published": "2023-11-13T10:00:00Z", "active": True,
           "author": {"name": "ann", "age": 30}}),
    ("2", {"title": "Quick quick dog", "body": "dogs run", "tag": "animal", "count": 7, "price": 20.0,
           "published": "2023-01-01", "active": False}),
    ("3", {"title": "lazy brown dog jumps over", "tag": "slow", "count": 9, "published": "2022-06-15",
           "author": {"name": "bob"}}),
    ("4", {"title": "brown paper bag", "body": "the bag", "tag": "Thing", "count": -3, "price": 0.5}),
    ("5", {"title": "fox and dog are friends", "tag": ["animal"], "count": 100, "active": True}),
    ("6", {"title": "deleted brown fox", "tag": "animal", "count": 5}),
]


@pytest.fixture(scope="module")
def searcher():
    return build_reference_searcher([DOCUMENTS[:3], DOCUMENTS[3:]], MAPPING, deleted_document_ids=["6"])


def search_ids(searcher, query, **body):
    request = parse_search_request({"query": query, "size": 100, **body})
    result = search_shard(searcher, request, SearchContext(index_name="test", now_millis=NOW))
    return [hit.document_id for hit in merge_shard_results([result], request).hits]


def matching(searcher, query):
    return set(search_ids(searcher, query))


def test_match_all_returns_every_live_document(searcher):
    assert matching(searcher, {"match_all": {}}) == {"1", "2", "3", "4", "5"}


def test_match_none_returns_nothing(searcher):
    assert matching(searcher, {"match_none": {}}) == set()


def test_match_analyses_text_and_ors_the_terms(searcher):
    assert matching(searcher, {"match": {"title": "QUICK Fox"}}) == {"1", "2", "5"}


def test_match_with_operator_and_requires_every_term(searcher):
    assert matching(searcher, {"match": {"title": {"query": "brown dog", "operator": "and"}}}) == {"3"}


def test_match_minimum_should_match_counts_terms(searcher):
    query = {"match": {"title": {"query": "brown dog fox", "minimum_should_match": "2"}}}
    assert matching(searcher, query) == {"1", "3", "5"}


def test_match_with_only_stop_words_follows_zero_terms_query(searcher):
    assert matching(searcher, {"match": {"body": "the"}}) == set()
    assert len(matching(searcher, {"match": {"body": {"query": "the", "zero_terms_query": "all"}}})) == 5


def test_match_uses_the_fields_analyzer_for_stemming(searcher):
    assert matching(searcher, {"match": {"body": "running"}}) == {"1", "2"}


def test_match_fuzziness_finds_near_misses(searcher):
    assert matching(searcher, {"match": {"title": {"query": "quikc", "fuzziness": "AUTO"}}}) == {"1", "2"}
    assert matching(searcher, {"match": {"title": {"query": "quikc", "fuzziness": 0}}}) == set()


def test_match_on_keyword_is_exact(searcher):
    assert matching(searcher, {"match": {"tag": "animal"}}) == {"1", "2", "5"}
    assert matching(searcher, {"match": {"tag": "Animal"}}) == set()


def test_match_on_unmapped_field_matches_nothing(searcher):
    assert matching(searcher, {"match": {"nope": "fox"}}) == set()


def test_match_phrase_requires_adjacent_terms_in_order(searcher):
    assert matching(searcher, {"match_phrase": {"title": "brown dog"}}) == {"3"}
    assert matching(searcher, {"match_phrase": {"title": "dog brown"}}) == set()


def test_match_phrase_slop_allows_gaps_and_transpositions(searcher):
    assert matching(searcher, {"match_phrase": {"title": {"query": "quick fox", "slop": 1}}}) == {"1"}
    assert matching(searcher, {"match_phrase": {"title": {"query": "quick fox", "slop": 0}}}) == set()
    assert matching(searcher, {"match_phrase": {"title": {"query": "fox brown", "slop": 2}}}) == {"1"}


def test_match_phrase_prefix_expands_the_last_term(searcher):
    assert matching(searcher, {"match_phrase_prefix": {"title": "brown d"}}) == {"3"}
    assert matching(searcher, {"match_phrase_prefix": {"title": "qu"}}) == {"1", "2"}


def test_match_bool_prefix_treats_the_last_term_as_a_prefix(searcher):
    assert matching(searcher, {"match_bool_prefix": {"title": {"query": "quick b", "operator": "and"}}}) == {"1"}
    assert matching(searcher, {"match_bool_prefix": {"title": "lazy pa"}}) == {"3", "4"}
    assert matching(searcher, {"multi_match": {"query": "lazy j", "type": "bool_prefix", "operator": "and",
                                               "fields": ["title", "body"]}}) == {"3"}


def test_multi_match_best_fields_searches_every_listed_field(searcher):
    assert matching(searcher, {"multi_match": {"query": "fox bag", "fields": ["title", "body"]}}) == {"1", "4", "5"}


def test_multi_match_field_wildcards_resolve_against_the_mapping(searcher):
    assert matching(searcher, {"multi_match": {"query": "bob", "fields": ["author.*"]}}) == {"3"}


def test_multi_match_phrase_type(searcher):
    assert matching(searcher, {"multi_match": {"query": "brown dog", "type": "phrase", "fields": ["title"]}}) == {"3"}


def test_multi_match_cross_fields_with_and_lets_terms_match_in_different_fields(searcher):
    query = {"multi_match": {"query": "brown bag", "type": "cross_fields", "operator": "and",
                             "fields": ["title", "body"]}}
    assert matching(searcher, query) == {"4"}


def test_term_is_not_analysed(searcher):
    assert matching(searcher, {"term": {"title": "quick"}}) == {"1", "2"}
    assert matching(searcher, {"term": {"title": "Quick"}}) == set()
    assert matching(searcher, {"term": {"tag": {"value": "thing", "case_insensitive": True}}}) == {"4"}


def test_term_on_numbers_dates_and_booleans_uses_their_values(searcher):
    assert matching(searcher, {"term": {"count": 5}}) == {"1"}
    assert matching(searcher, {"term": {"count": "7"}}) == {"2"}
    assert matching(searcher, {"term": {"price": 9.5}}) == {"1"}
    assert matching(searcher, {"term": {"active": True}}) == {"1", "5"}
    assert matching(searcher, {"term": {"active": "false"}}) == {"2"}
    assert matching(searcher, {"term": {"published": "2023-01-01"}}) == {"2"}


def test_term_with_a_non_number_on_a_numeric_field_is_a_shard_error(searcher):
    with pytest.raises(QueryShardError, match="For input string"):
        matching(searcher, {"term": {"count": "many"}})


def test_terms_matches_any_value(searcher):
    assert matching(searcher, {"terms": {"tag": ["slow", "Thing"]}}) == {"3", "4"}
    assert matching(searcher, {"terms": {"count": [5, 9, 1000]}}) == {"1", "3"}
    assert matching(searcher, {"terms": {"_id": ["2", "4", "6"]}}) == {"2", "4"}


def test_range_on_numbers_honours_bound_inclusion(searcher):
    assert matching(searcher, {"range": {"count": {"gte": 5, "lte": 9}}}) == {"1", "2", "3"}
    assert matching(searcher, {"range": {"count": {"gt": 5, "lt": 9}}}) == {"2"}
    assert matching(searcher, {"range": {"price": {"lt": 1}}}) == {"4"}
    assert matching(searcher, {"range": {"count": {"gte": 5.5}}}) == {"2", "3", "5"}


def test_range_on_dates_uses_date_math_against_the_request_clock(searcher):
    assert matching(searcher, {"range": {"published": {"gte": "now-2d/d"}}}) == {"1"}
    assert matching(searcher, {"range": {"published": {"gte": "2023-01-01", "lt": "2023-11-01"}}}) == {"2"}
    assert matching(searcher, {"range": {"published": {"lte": "2022-06-15"}}}) == {"3"}   # rounds up to day end
    assert matching(searcher, {"range": {"published": {"gte": "15/06/2022", "format": "dd/MM/yyyy",
                                                       "lt": "01/01/2023"}}}) == {"3"}


def test_range_on_keywords_orders_by_term(searcher):
    assert matching(searcher, {"range": {"tag": {"gte": "animal", "lt": "slow"}}}) == {"1", "2", "5"}
    assert matching(searcher, {"range": {"tag": {"gt": "fast"}}}) == {"3"}


def test_bool_combines_clauses(searcher):
    query = {"bool": {"must": [{"match": {"title": "dog"}}], "filter": [{"range": {"count": {"lte": 10}}}],
                      "must_not": [{"term": {"tag": "slow"}}]}}
    assert matching(searcher, query) == {"2"}


def test_bool_with_only_should_requires_one_should(searcher):
    query = {"bool": {"should": [{"term": {"tag": "slow"}}, {"term": {"tag": "Thing"}}]}}
    assert matching(searcher, query) == {"3", "4"}


def test_bool_should_is_optional_next_to_a_filter(searcher):
    query = {"bool": {"filter": [{"term": {"tag": "animal"}}], "should": [{"term": {"title": "fox"}}]}}
    assert matching(searcher, query) == {"1", "2", "5"}
    ranked = search_ids(searcher, query)
    assert set(ranked[:2]) == {"1", "5"}


def test_bool_minimum_should_match_counts_should_clauses(searcher):
    query = {"bool": {"should": [{"term": {"title": "brown"}}, {"term": {"title": "dog"}},
                                 {"term": {"title": "fox"}}], "minimum_should_match": 2}}
    assert matching(searcher, query) == {"1", "3", "5"}
    query["bool"]["minimum_should_match"] = 4
    assert matching(searcher, query) == set()


def test_bool_with_only_must_not_matches_everything_else(searcher):
    assert matching(searcher, {"bool": {"must_not": [{"term": {"tag": "animal"}}]}}) == {"3", "4"}


def test_empty_bool_matches_everything(searcher):
    assert len(matching(searcher, {"bool": {}})) == 5


def test_ids_and_exists(searcher):
    assert matching(searcher, {"ids": {"values": ["3", "1", "6", "nope"]}}) == {"1", "3"}
    assert matching(searcher, {"exists": {"field": "price"}}) == {"1", "2", "4"}
    assert matching(searcher, {"exists": {"field": "author"}}) == {"1", "3"}
    assert matching(searcher, {"exists": {"field": "author.age"}}) == {"1"}
    assert matching(searcher, {"exists": {"field": "missing"}}) == set()


def test_prefix_wildcard_regexp_and_fuzzy_expand_terms(searcher):
    assert matching(searcher, {"prefix": {"title": "qui"}}) == {"1", "2"}
    assert matching(searcher, {"wildcard": {"title": "b*n"}}) == {"1", "3", "4"}
    assert matching(searcher, {"wildcard": {"tag": "?low"}}) == {"3"}
    assert matching(searcher, {"regexp": {"title": "f.x|d.g"}}) == {"1", "2", "3", "5"}
    assert matching(searcher, {"fuzzy": {"title": "brwn"}}) == {"1", "3", "4"}
    assert matching(searcher, {"prefix": {"tag": {"value": "THI", "case_insensitive": True}}}) == {"4"}


def test_prefix_on_a_number_field_is_refused(searcher):
    with pytest.raises(QueryShardError, match="Can only use prefix queries on keyword and text fields"):
        matching(searcher, {"prefix": {"count": "1"}})


def test_query_string_supports_fields_operators_and_grouping(searcher):
    assert matching(searcher, {"query_string": {"query": "title:fox AND tag:animal"}}) == {"1", "5"}
    assert matching(searcher, {"query_string": {"query": "title:(quick OR lazy) -tag:slow"}}) == {"1", "2"}
    assert matching(searcher, {"query_string": {"query": "+brown -fox", "default_field": "title"}}) == {"3", "4"}
    assert matching(searcher, {"query_string": {"query": "\"brown dog\"", "default_field": "title"}}) == {"3"}
    assert matching(searcher, {"query_string": {"query": "count:[5 TO 9}"}}) == {"1", "2"}
    assert matching(searcher, {"query_string": {"query": "count:>50"}}) == {"5"}
    assert matching(searcher, {"query_string": {"query": "qui*", "default_field": "title"}}) == {"1", "2"}
    assert matching(searcher, {"query_string": {"query": "_exists_:price AND NOT tag:Thing"}}) == {"1", "2"}


def test_query_string_default_operator_and(searcher):
    query = {"query_string": {"query": "brown dog", "default_field": "title", "default_operator": "AND"}}
    assert matching(searcher, query) == {"3"}


def test_simple_query_string_operators(searcher):
    assert matching(searcher, {"simple_query_string": {"query": "fox + dog", "fields": ["title"]}}) == {"5"}
    assert matching(searcher, {"simple_query_string": {"query": "lazy | bag", "fields": ["title"]}}) == {"3", "4"}
    query = {"simple_query_string": {"query": "brown -fox", "fields": ["title"], "default_operator": "and"}}
    assert matching(searcher, query) == {"3", "4"}
    assert matching(searcher, {"simple_query_string": {"query": "\"quick dog\"", "fields": ["title"]}}) == {"2"}


def test_constant_score_gives_every_match_the_boost(searcher):
    request = parse_search_request({"query": {"constant_score": {"filter": {"term": {"tag": "animal"}},
                                                                 "boost": 1.5}}})
    result = search_shard(searcher, request, SearchContext(now_millis=NOW))
    assert {hit.score for hit in result.hits} == {1.5}


def test_boosting_demotes_negative_matches(searcher):
    query = {"boosting": {"positive": {"match": {"title": "fox"}}, "negative": {"term": {"tag": "fast"}},
                          "negative_boost": 0.01}}
    assert search_ids(searcher, query)[-1] == "1"


def test_dis_max_takes_the_best_clause_plus_tie_breaker(searcher):
    only_best = {"dis_max": {"queries": [{"term": {"title": "fox"}}, {"term": {"title": "fox"}}]}}
    single = {"term": {"title": "fox"}}
    request_a = parse_search_request({"query": only_best})
    request_b = parse_search_request({"query": single})
    scores_a = sorted(hit.score for hit in search_shard(searcher, request_a, SearchContext()).hits)
    scores_b = sorted(hit.score for hit in search_shard(searcher, request_b, SearchContext()).hits)
    assert scores_a == pytest.approx(scores_b)
    with_tie = parse_search_request({"query": {"dis_max": {"queries": only_best["dis_max"]["queries"],
                                                           "tie_breaker": 1.0}}})
    scores_c = sorted(hit.score for hit in search_shard(searcher, with_tie, SearchContext()).hits)
    assert scores_c == pytest.approx([2 * score for score in scores_b])


def test_function_score_field_value_factor_orders_by_the_field(searcher):
    query = {"function_score": {"query": {"exists": {"field": "price"}},
                                "field_value_factor": {"field": "price", "modifier": "none"},
                                "boost_mode": "replace"}}
    assert search_ids(searcher, query) == ["2", "1", "4"]


def test_function_score_missing_value_without_default_is_an_error(searcher):
    query = {"function_score": {"field_value_factor": {"field": "price"}}}
    with pytest.raises(QueryShardError, match="Missing value for field \\[price\\]"):
        search_ids(searcher, query)


def test_function_score_gauss_decay_prefers_values_near_the_origin(searcher):
    query = {"function_score": {"query": {"exists": {"field": "count"}},
                                "gauss": {"count": {"origin": 8, "scale": 2}}, "boost_mode": "replace"}}
    assert search_ids(searcher, query)[:3] == ["2", "3", "1"]


def test_function_score_date_decay_uses_the_request_clock(searcher):
    query = {"function_score": {"query": {"exists": {"field": "published"}},
                                "exp": {"published": {"origin": "now", "scale": "30d"}}, "boost_mode": "replace"}}
    assert search_ids(searcher, query) == ["1", "2", "3"]


def test_function_score_filters_weights_and_score_mode(searcher):
    query = {"function_score": {"query": {"match_all": {}}, "functions": [
        {"filter": {"term": {"tag": "slow"}}, "weight": 10},
        {"filter": {"term": {"tag": "Thing"}}, "weight": 5},
    ], "score_mode": "sum", "boost_mode": "replace"}}
    assert search_ids(searcher, query)[:2] == ["3", "4"]


def test_function_score_min_score_drops_documents(searcher):
    query = {"function_score": {"query": {"match_all": {}}, "functions": [
        {"filter": {"term": {"tag": "slow"}}, "weight": 10}], "boost_mode": "replace", "min_score": 5}}
    assert search_ids(searcher, query) == ["3"]


def test_random_score_with_a_seed_is_repeatable_and_seed_dependent(searcher):
    def ranking(seed):
        return search_ids(searcher, {"function_score": {"random_score": {"seed": seed, "field": "_seq_no"}}})

    assert ranking(1) == ranking(1)
    assert len({tuple(ranking(seed)) for seed in range(6)}) > 1


def test_index_name_queries_match_the_whole_shard_or_nothing(searcher):
    assert len(matching(searcher, {"term": {"_index": "test"}})) == 5
    assert len(matching(searcher, {"terms": {"_index": ["other", "te*"]}})) == 5
    assert matching(searcher, {"term": {"_index": "other"}}) == set()


def test_a_shared_filter_cache_keeps_case_sensitive_and_insensitive_patterns_apart(searcher):
    from index.query import FilterCache

    cache = FilterCache()

    def filtered(query):
        request = parse_search_request({"query": {"bool": {"filter": [query]}}, "size": 100})
        result = search_shard(searcher, request, SearchContext(index_name="test", filter_cache=cache))
        return {hit.document_id for hit in result.hits}

    assert filtered({"wildcard": {"tag": "thin*"}}) == set()
    assert filtered({"wildcard": {"tag": {"value": "thin*", "case_insensitive": True}}}) == {"4"}
    assert filtered({"prefix": {"tag": "thin"}}) == set()
    assert filtered({"terms": {"tag": ["a b"]}}) == set()


def test_terms_and_ranges_on_dates_and_booleans(searcher):
    assert matching(searcher, {"terms": {"published": ["2023-01-01", "2022-06-15"]}}) == {"2", "3"}
    assert matching(searcher, {"terms": {"active": [False]}}) == {"2"}
    assert matching(searcher, {"range": {"active": {"gte": True}}}) == {"1", "5"}
    assert matching(searcher, {"range": {"published": {"gte": 1672531200000, "lte": 1672531200000}}}) == {"2"}


def test_a_decimal_never_matches_an_integer_field_and_lenient_swallows_bad_values(searcher):
    assert matching(searcher, {"term": {"count": 5.5}}) == set()
    assert matching(searcher, {"match": {"count": {"query": "many", "lenient": True}}}) == set()
    assert matching(searcher, {"query_string": {"query": "many", "fields": ["count", "title"], "lenient": True}}) == set()
    with pytest.raises(QueryShardError):
        matching(searcher, {"query_string": {"query": "many", "fields": ["count"]}})


def test_exists_with_a_field_pattern(searcher):
    assert matching(searcher, {"exists": {"field": "author.*"}}) == {"1", "3"}


def test_keyword_range_without_doc_values_reads_the_term_dictionary():
    searcher = build_reference_searcher([[("1", {"code": "b"}), ("2", {"code": "d"}), ("3", {"code": "f"})]],
                                        {"properties": {"code": {"type": "keyword", "doc_values": False}}})
    assert matching(searcher, {"range": {"code": {"gt": "b", "lte": "f"}}}) == {"2", "3"}


def test_multi_match_most_fields_adds_field_scores(searcher):
    query = {"multi_match": {"query": "dog", "type": "most_fields", "fields": ["title", "body"]}}
    both = parse_search_request({"query": query})
    title_only = parse_search_request({"query": {"match": {"title": "dog"}}})
    scores_both = {hit.document_id: hit.score for hit in search_shard(searcher, both, SearchContext()).hits}
    scores_title = {hit.document_id: hit.score for hit in search_shard(searcher, title_only, SearchContext()).hits}
    assert scores_both["2"] > scores_title["2"]          # doc 2 body "dogs run" stems to "dog" (english)
    assert scores_both["3"] == pytest.approx(scores_title["3"])


def test_too_many_expansions_hit_the_clause_limit():
    documents = [(str(number), {"word": f"term{number:03d}"}) for number in range(30)]
    searcher = build_reference_searcher([documents], {"properties": {"word": {"type": "text"}}})
    request = parse_search_request({"query": {"match_phrase_prefix": {"word": {"query": "term", "max_expansions": 30}}}})
    from index.query import TooManyClausesError

    with pytest.raises(TooManyClausesError):
        search_shard(searcher, request, SearchContext(max_clause_count=10))
    assert len(search_shard(searcher, request, SearchContext()).hits) == 10


def test_keyword_normalizer_applies_to_query_values_and_patterns():
    searcher = build_reference_searcher([[("1", {"code": "AbC"}), ("2", {"code": "xyz"})]],
                                        {"properties": {"code": {"type": "keyword", "normalizer": "lowercase"}}})
    assert matching(searcher, {"term": {"code": "ABC"}}) == {"1"}
    assert matching(searcher, {"match": {"code": "abc"}}) == {"1"}
    assert matching(searcher, {"prefix": {"code": "AB"}}) == {"1"}
    assert matching(searcher, {"wildcard": {"code": "X*Z"}}) == {"2"}
    assert matching(searcher, {"terms": {"code": ["XYZ"]}}) == {"2"}
    assert matching(searcher, {"range": {"code": {"gte": "B"}}}) == {"2"}


@pytest.mark.parametrize("boost_mode, expected", [
    ("multiply", 2.0), ("replace", 1.0), ("sum", 3.0), ("avg", 1.5), ("max", 2.0), ("min", 1.0),
])
def test_function_score_without_a_matching_function_uses_factor_one(searcher, boost_mode, expected):
    query = {"function_score": {"query": {"constant_score": {"filter": {"ids": {"values": ["1"]}}, "boost": 2}},
                                "functions": [{"filter": {"term": {"tag": "nothing-matches"}}, "weight": 7}],
                                "boost_mode": boost_mode}}
    request = parse_search_request({"query": query})
    hits = search_shard(searcher, request, SearchContext()).hits
    assert [hit.score for hit in hits] == [expected]


def test_query_string_ranges_use_its_time_zone(searcher):
    # doc 1 was published 2023-11-13T10:00Z, which is already the 14th in UTC+14
    query = {"query_string": {"query": "published:[2023-11-14 TO 2023-11-14]", "time_zone": "+14:00"}}
    assert matching(searcher, query) == {"1"}
    assert matching(searcher, {"query_string": {"query": "published:[2023-11-14 TO 2023-11-14]"}}) == set()
