"""Property: any parsed query tree survives to_json → orjson → parse_query unchanged (shards
receive exactly the tree the coordinator parsed)."""

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from index.query import parse_query

fields = st.sampled_from(["title", "tag", "n", "a.b"])
texts = st.text(alphabet="abc xyz", min_size=1, max_size=8)
numbers = st.one_of(st.integers(-100, 100), st.floats(-10, 10, allow_nan=False, allow_infinity=False))
boosts = st.sampled_from([0.5, 1.0, 2.0])

leaves = st.one_of(
    st.builds(lambda field, text, operator, boost: {"match": {field: {"query": text, "operator": operator,
                                                                      "boost": boost}}},
              fields, texts, st.sampled_from(["or", "and"]), boosts),
    st.builds(lambda field, text, slop: {"match_phrase": {field: {"query": text, "slop": slop}}},
              fields, texts, st.integers(0, 3)),
    st.builds(lambda field, value: {"term": {field: value}}, fields, st.one_of(texts, numbers, st.booleans())),
    st.builds(lambda field, values: {"terms": {field: values}}, fields, st.lists(texts, max_size=3)),
    st.builds(lambda field, low, high: {"range": {field: {"gte": low, "lt": high}}}, fields, numbers, numbers),
    st.builds(lambda field: {"exists": {"field": field}}, fields),
    st.builds(lambda field, text: {"prefix": {field: text}}, fields, texts),
    st.builds(lambda field, text: {"wildcard": {field: {"value": text + "*", "case_insensitive": True}}},
              fields, texts),
    st.builds(lambda field, text, fuzziness: {"fuzzy": {field: {"value": text, "fuzziness": fuzziness}}},
              fields, texts, st.sampled_from(["AUTO", "1", "2"])),
    st.builds(lambda values: {"ids": {"values": values}}, st.lists(texts, max_size=3)),
    st.builds(lambda text: {"query_string": {"query": text}}, st.sampled_from(["a AND b", "title:x OR -y", "\"p q\""])),
    st.builds(lambda text, fields_list: {"multi_match": {"query": text, "fields": fields_list}},
              texts, st.lists(st.sampled_from(["title^2", "tag", "a.*"]), max_size=2)),
    st.just({"match_all": {}}),
    st.just({"match_none": {}}),
)


def compounds(children):
    clause_lists = st.lists(children, max_size=3)
    return st.one_of(
        st.builds(lambda must, should, filters, must_not, minimum: {"bool": {
            "must": must, "should": should, "filter": filters, "must_not": must_not,
            **({"minimum_should_match": minimum} if minimum is not None else {})}},
            clause_lists, clause_lists, clause_lists, clause_lists,
            st.one_of(st.none(), st.sampled_from(["1", "50%", "2<-1"]))),
        st.builds(lambda child, boost: {"constant_score": {"filter": child, "boost": boost}}, children, boosts),
        st.builds(lambda queries, tie: {"dis_max": {"queries": queries, "tie_breaker": tie}},
                  st.lists(children, min_size=1, max_size=3), st.sampled_from([0.0, 0.3])),
        st.builds(lambda positive, negative: {"boosting": {"positive": positive, "negative": negative,
                                                           "negative_boost": 0.2}}, children, children),
        st.builds(lambda inner, weight: {"function_score": {"query": inner, "functions": [
            {"filter": {"term": {"tag": "x"}}, "weight": weight},
            {"field_value_factor": {"field": "n", "modifier": "log1p", "missing": 1}}], "score_mode": "sum"}},
            children, boosts),
    )


query_trees = st.recursive(leaves, compounds, max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(query_trees)
def test_parsed_trees_round_trip_through_their_json(query_json):
    node = parse_query(query_json)
    serialized = orjson.loads(orjson.dumps(node.to_json()))
    assert parse_query(serialized) == node
    assert parse_query(orjson.loads(orjson.dumps(parse_query(serialized).to_json()))) == node
