"""parse_query: every query type parses to frozen nodes that round-trip through to_json."""

import dataclasses

import orjson
import pytest

from index.errors import LimitExceededError, QueryParsingError, QueryShardError
from index.query import DEFAULT_QUERY_REGISTRY, QueryLimits, QueryNode, TooManyClausesError, parse_query
from index.query import nodes

ROUND_TRIP_QUERIES = [
    {"match_all": {}},
    {"match_all": {"boost": 2.0}},
    {"match_none": {}},
    {"match": {"title": "quick fox"}},
    {"match": {"title": {"query": "quick fox", "operator": "and", "minimum_should_match": "75%",
                         "fuzziness": "AUTO", "prefix_length": 1, "max_expansions": 10, "analyzer": "simple",
                         "zero_terms_query": "all", "boost": 1.5}}},
    {"match_phrase": {"title": {"query": "quick fox", "slop": 2}}},
    {"match_phrase_prefix": {"title": {"query": "quick f", "max_expansions": 5}}},
    {"multi_match": {"query": "fox", "fields": ["title^3", "body", "name.*"], "type": "best_fields",
                     "tie_breaker": 0.3}},
    {"multi_match": {"query": "fox", "type": "cross_fields", "operator": "and"}},
    {"multi_match": {"query": "quick f", "type": "bool_prefix", "fields": ["title"]}},
    {"match_bool_prefix": {"title": {"query": "quick br", "operator": "and", "fuzziness": "1"}}},
    {"term": {"status": "published"}},
    {"term": {"status": {"value": "Published", "case_insensitive": True, "boost": 2.0}}},
    {"terms": {"tags": ["a", "b", 3]}},
    {"terms": {"tags": ["a"], "boost": 2.0}},
    {"range": {"age": {"gte": 10, "lt": 20}}},
    {"range": {"date": {"gt": "now-1d/d", "lte": "now", "format": "yyyy-MM-dd", "time_zone": "+01:00"}}},
    {"bool": {"must": [{"match": {"title": "fox"}}], "should": [{"term": {"a": 1}}, {"term": {"b": 2}}],
              "filter": [{"range": {"n": {"gte": 1}}}], "must_not": [{"exists": {"field": "x"}}],
              "minimum_should_match": "1", "boost": 2.0}},
    {"ids": {"values": ["1", "2"]}},
    {"exists": {"field": "title"}},
    {"prefix": {"title": {"value": "qu", "case_insensitive": True}}},
    {"wildcard": {"title": {"value": "q*k?"}}},
    {"regexp": {"title": {"value": "qu.*", "flags": "ALL", "max_determinized_states": 100}}},
    {"fuzzy": {"title": {"value": "quikc", "fuzziness": "2", "prefix_length": 1, "transpositions": False}}},
    {"query_string": {"query": "title:fox AND (a OR b)", "default_field": "body", "default_operator": "and"}},
    {"simple_query_string": {"query": "fox +dog -cat", "fields": ["title^2"], "default_operator": "and"}},
    {"constant_score": {"filter": {"term": {"a": "b"}}, "boost": 3.0}},
    {"boosting": {"positive": {"match": {"a": "b"}}, "negative": {"term": {"c": "d"}}, "negative_boost": 0.2}},
    {"dis_max": {"queries": [{"match": {"a": "b"}}, {"match": {"c": "d"}}], "tie_breaker": 0.7}},
    {"function_score": {"query": {"match": {"a": "b"}}, "functions": [
        {"filter": {"term": {"x": "y"}}, "weight": 2.0},
        {"field_value_factor": {"field": "likes", "factor": 1.2, "modifier": "sqrt", "missing": 1.0}},
        {"gauss": {"date": {"origin": "now", "scale": "10d", "offset": "1d", "decay": 0.5}}},
        {"exp": {"price": {"origin": 10, "scale": 5}, "multi_value_mode": "avg"}},
        {"linear": {"price": {"origin": 10, "scale": 5, "decay": 0.25}}},
        {"random_score": {"seed": 42, "field": "_seq_no"}},
    ], "score_mode": "sum", "boost_mode": "replace", "max_boost": 10.0, "min_score": 0.5}},
]


@pytest.mark.parametrize("query_json", ROUND_TRIP_QUERIES, ids=lambda query: next(iter(query)))
def test_every_query_round_trips_through_to_json_and_orjson(query_json):
    node = parse_query(query_json)
    assert isinstance(node, QueryNode)
    wire = orjson.loads(orjson.dumps(node.to_json()))
    assert parse_query(wire) == node
    assert QueryNode.from_json(wire) == node


def test_nodes_are_frozen_values():
    node = parse_query({"match": {"title": "fox"}})
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.field = "other"


def test_missing_query_is_match_all():
    assert parse_query(None) == nodes.MatchAllQuery()


def test_short_and_long_forms_parse_to_the_same_node():
    assert parse_query({"match": {"title": "fox"}}) == parse_query({"match": {"title": {"query": "fox"}}})
    assert parse_query({"term": {"a": "b"}}) == parse_query({"term": {"a": {"value": "b"}}})
    assert parse_query({"prefix": {"a": "b"}}) == parse_query({"prefix": {"a": {"value": "b"}}})


def test_range_from_to_and_include_flags_normalise_to_gt_gte_lt_lte():
    node = parse_query({"range": {"n": {"from": 1, "to": 5, "include_lower": False, "include_upper": True}}})
    assert (node.gt, node.gte, node.lt, node.lte) == (1, None, None, 5)
    node = parse_query({"range": {"n": {"from": 1, "to": 5}}})
    assert (node.gte, node.lte) == (1, 5)


def test_bool_accepts_a_single_clause_object_as_well_as_a_list():
    single = parse_query({"bool": {"must": {"term": {"a": "b"}}}})
    listed = parse_query({"bool": {"must": [{"term": {"a": "b"}}]}})
    assert single == listed
    assert len(single.must) == 1


def test_fuzziness_forms_are_normalised():
    assert parse_query({"match": {"a": {"query": "x", "fuzziness": "auto"}}}).fuzziness == "AUTO"
    assert parse_query({"match": {"a": {"query": "x", "fuzziness": 1}}}).fuzziness == "1"
    assert parse_query({"match": {"a": {"query": "x", "fuzziness": "AUTO:2,5"}}}).fuzziness == "AUTO:2,5"
    with pytest.raises(QueryParsingError, match="fuzziness"):
        parse_query({"match": {"a": {"query": "x", "fuzziness": "lots"}}})


def test_unknown_query_type_names_the_query():
    with pytest.raises(QueryParsingError, match=r"unknown query \[foo\]") as raised:
        parse_query({"foo": {}})
    assert raised.value.opensearch_type == "parsing_exception"


def test_match_on_two_fields_is_rejected_with_opensearchs_reason():
    with pytest.raises(QueryParsingError,
                       match=r"\[match\] query doesn't support multiple fields, found \[a\] and \[b\]"):
        parse_query({"match": {"a": "x", "b": "y"}})


def test_unknown_parameter_is_named():
    with pytest.raises(QueryParsingError, match=r"\[match\] query does not support \[colour\]"):
        parse_query({"match": {"a": {"query": "x", "colour": "red"}}})
    with pytest.raises(QueryParsingError, match=r"\[bool\] query does not support \[musts\]"):
        parse_query({"bool": {"musts": []}})


def test_two_query_types_in_one_object_are_malformed():
    with pytest.raises(QueryParsingError, match="malformed query"):
        parse_query({"match": {"a": "x"}, "term": {"b": "y"}})


def test_non_object_clause_is_malformed():
    with pytest.raises(QueryParsingError, match="start_object"):
        parse_query(["match_all"])
    with pytest.raises(QueryParsingError, match="empty clause"):
        parse_query({"bool": {"must": [{}]}})


def test_missing_required_parts_are_reported():
    with pytest.raises(QueryParsingError, match="constant_score"):
        parse_query({"constant_score": {"boost": 1}})
    with pytest.raises(QueryParsingError, match="negative"):
        parse_query({"boosting": {"positive": {"match_all": {}}, "negative_boost": 0.5}})
    with pytest.raises(QueryParsingError, match="dis_max"):
        parse_query({"dis_max": {"queries": []}})
    with pytest.raises(QueryParsingError, match="exists"):
        parse_query({"exists": {}})
    with pytest.raises(QueryParsingError, match="scale"):
        parse_query({"function_score": {"gauss": {"d": {"origin": 1}}}})


def test_bad_parameter_types_name_the_parameter():
    with pytest.raises(QueryParsingError, match=r"\[boost\]"):
        parse_query({"term": {"a": {"value": "x", "boost": "high"}}})
    with pytest.raises(QueryParsingError, match=r"\[operator\]"):
        parse_query({"match": {"a": {"query": "x", "operator": "xor"}}})
    with pytest.raises(QueryParsingError, match="minimum_should_match"):
        parse_query({"bool": {"should": [], "minimum_should_match": "lots"}})


def test_query_string_syntax_errors_surface_at_parse_time():
    with pytest.raises(QueryShardError, match="Failed to parse query"):
        parse_query({"query_string": {"query": "title:(fox AND"}})


def test_clause_limit_raises_too_many_clauses():
    query = {"bool": {"should": [{"term": {"a": str(number)}} for number in range(11)]}}
    with pytest.raises(TooManyClausesError, match="maxClauseCount is set to 10") as raised:
        parse_query(query, limits=QueryLimits(max_clause_count=10))
    assert isinstance(raised.value, LimitExceededError)
    assert raised.value.opensearch_type == "too_many_clauses"
    parse_query(query, limits=QueryLimits(max_clause_count=11))


def test_nesting_deeper_than_the_limit_is_refused():
    query = {"match_all": {}}
    for _ in range(5):
        query = {"bool": {"must": [query]}}
    parse_query(query, limits=QueryLimits(max_depth=6))
    with pytest.raises(LimitExceededError, match="max_nested_depth"):
        parse_query(query, limits=QueryLimits(max_depth=5))


def test_registry_extension_parses_a_new_query_type():
    @dataclasses.dataclass(frozen=True, slots=True)
    class ColourQuery(QueryNode):
        colour: str

        def to_json(self):
            return {"colour": {"is": self.colour}}

    registry = DEFAULT_QUERY_REGISTRY.copy()
    registry.register("colour", lambda body, context: ColourQuery(body["is"]))
    node = parse_query({"bool": {"filter": [{"colour": {"is": "red"}}]}}, registry)
    assert node.filter == (ColourQuery("red"),)
    assert parse_query(node.to_json(), registry) == node
    with pytest.raises(QueryParsingError, match=r"unknown query \[colour\]"):
        parse_query({"colour": {"is": "red"}})


def test_wrapper_query_decodes_to_its_inner_query():
    import base64

    encoded = base64.b64encode(b'{"term": {"tag": "x"}}').decode()
    assert parse_query({"wrapper": {"query": encoded}}) == nodes.TermQuery("tag", "x")
    with pytest.raises(QueryParsingError, match="wrapper"):
        parse_query({"wrapper": {"query": "not base64!"}})
