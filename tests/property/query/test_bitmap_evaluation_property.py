"""Property: bitmap evaluation of random bool/term/terms/range/exists/ids/prefix trees equals
evaluation with Python sets over the documents' values.

The model evaluates each query against the source dicts directly (any value of a multi-valued
field may satisfy a clause; bool follows OpenSearch's occur rules), so it shares no code with
the planner, the bitmaps or the doc-value arrays under test.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from index.query import SearchContext, count_shard, parse_query, parse_search_request, search_shard
from index.testing import build_reference_searcher

TAGS = ["a", "b", "c", "d"]
MAPPING = {"properties": {"tag": {"type": "keyword"}, "n": {"type": "long"}, "x": {"type": "double"}}}

tag_values = st.one_of(st.none(), st.sampled_from(TAGS), st.lists(st.sampled_from(TAGS), min_size=1, max_size=3))
number_values = st.one_of(st.none(), st.integers(-5, 5), st.lists(st.integers(-5, 5), min_size=1, max_size=3))
double_values = st.one_of(st.none(), st.floats(-3, 3, allow_nan=False).map(lambda value: round(value, 2)))


@st.composite
def source_documents(draw):
    source = {}
    for name, strategy in (("tag", tag_values), ("n", number_values), ("x", double_values)):
        value = draw(strategy)
        if value is not None:
            source[name] = value
    return source


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


leaf_queries = st.one_of(
    st.sampled_from(TAGS).map(lambda tag: {"term": {"tag": tag}}),
    st.lists(st.sampled_from(TAGS), max_size=3).map(lambda tags: {"terms": {"tag": tags}}),
    st.integers(-5, 5).map(lambda number: {"term": {"n": number}}),
    st.tuples(st.sampled_from(["n", "x"]), st.sampled_from(["gt", "gte", "lt", "lte"]), st.integers(-5, 5),
              st.one_of(st.none(), st.tuples(st.sampled_from(["gt", "gte", "lt", "lte"]), st.integers(-5, 5)))
              ).map(lambda spec: {"range": {spec[0]: dict([(spec[1], spec[2])] + ([spec[3]] if spec[3] else []))}}),
    st.sampled_from(["tag", "n", "x", "nothing"]).map(lambda field: {"exists": {"field": field}}),
    st.sampled_from(["a", "b", "c", ""]).map(lambda prefix: {"prefix": {"tag": prefix}}),
    st.lists(st.integers(0, 12).map(str), max_size=3).map(lambda ids: {"ids": {"values": ids}}),
    st.just({"match_all": {}}),
    st.just({"match_none": {}}),
)


def bool_queries(children):
    clause_lists = st.lists(children, max_size=3)
    return st.builds(
        lambda must, should, filters, must_not, minimum: {"bool": dict(
            must=must, should=should, filter=filters, must_not=must_not,
            **({"minimum_should_match": minimum} if minimum is not None else {}))},
        clause_lists, clause_lists, clause_lists, clause_lists, st.one_of(st.none(), st.integers(0, 2)))


query_trees = st.recursive(leaf_queries, lambda children: st.one_of(
    bool_queries(children), children.map(lambda child: {"constant_score": {"filter": child}})), max_leaves=10)


def in_range(value, bounds):
    """As OpenSearch's RangeQueryBuilder reads a range: gt/gte both set the lower bound and lt/lte
    both the upper one, so of two on the same side the later in the body wins."""
    lower = upper = None
    for key, bound in bounds.items():
        if key in ("gt", "gte"):
            lower = (key, bound)
        elif key in ("lt", "lte"):
            upper = (key, bound)
    checks = [lower is None or (value > lower[1] if lower[0] == "gt" else value >= lower[1]),
              upper is None or (value < upper[1] if upper[0] == "lt" else value <= upper[1])]
    return all(checks)


def model_matches(query, document_id, source):
    (kind, body), = query.items()
    if kind == "term":
        (field, value), = body.items()
        return value in as_list(source.get(field))
    if kind == "terms":
        (field, values), = body.items()
        return any(value in values for value in as_list(source.get(field)))
    if kind == "range":
        (field, bounds), = body.items()
        return any(in_range(value, bounds) for value in as_list(source.get(field)))
    if kind == "exists":
        return bool(as_list(source.get(body["field"])))
    if kind == "prefix":
        (field, prefix), = body.items()
        return any(value.startswith(prefix) for value in as_list(source.get(field)))
    if kind == "ids":
        return document_id in body["values"]
    if kind == "match_all":
        return True
    if kind == "match_none":
        return False
    if kind == "constant_score":
        return model_matches(body["filter"], document_id, source)
    must, should, filters, must_not = body["must"], body["should"], body["filter"], body["must_not"]
    if not (must or should or filters or must_not):
        return True
    if not all(model_matches(clause, document_id, source) for clause in must + filters):
        return False
    if any(model_matches(clause, document_id, source) for clause in must_not):
        return False
    minimum = body.get("minimum_should_match")
    required = minimum if minimum is not None else (1 if should and not must and not filters else 0)
    if not must and not filters and should:
        required = max(required, 1)
    return sum(model_matches(clause, document_id, source) for clause in should) >= required


@settings(max_examples=150, deadline=None)
@given(st.lists(source_documents(), min_size=1, max_size=12), query_trees, st.data())
def test_bitmap_evaluation_equals_python_set_evaluation(sources, query, data):
    documents = [(str(index), source) for index, source in enumerate(sources)]
    cut = data.draw(st.integers(0, len(documents)), label="segment cut")
    deleted = data.draw(st.sets(st.sampled_from([document_id for document_id, _ in documents])), label="deleted")
    segments = [part for part in (documents[:cut], documents[cut:]) if part]
    searcher = build_reference_searcher(segments, MAPPING, deleted_document_ids=deleted)
    expected = {document_id for document_id, source in documents
                if document_id not in deleted and model_matches(query, document_id, source)}
    assert count_shard(searcher, parse_query(query), SearchContext()) == len(expected)
    request = parse_search_request({"query": query, "size": 100})
    found = {hit.document_id for hit in search_shard(searcher, request, SearchContext()).hits}
    assert found == expected
    filtered = parse_search_request({"query": {"bool": {"filter": [query]}}, "size": 100, "sort": ["_doc"]})
    assert {hit.document_id for hit in search_shard(searcher, filtered, SearchContext()).hits} == expected
