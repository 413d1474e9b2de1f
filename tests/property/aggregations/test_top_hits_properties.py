"""top_hits against a brute-force sort: several sort keys, directions, missing first/last,
multi-valued fields (min ascending, max descending), split over segments and merged."""

import functools

import numpy as np
from hypothesis import given, settings, strategies as st

from aggregation_fakes import FakeContext, FakeMapping, FakeSegment, parse
from index.aggregations import collect_segment, merge_partials, render

FIELD_TYPES = {"price": "double", "tag": "keyword", "n": "long"}

documents_strategy = st.lists(st.fixed_dictionaries({}, optional={
    "price": st.integers(-5, 5).map(float),
    "tag": st.one_of(st.sampled_from("abc"), st.lists(st.sampled_from("abc"), min_size=1, max_size=2)),
    "n": st.lists(st.integers(0, 3), min_size=1, max_size=3)}), min_size=1, max_size=30)

sort_strategy = st.lists(st.tuples(st.sampled_from(["price", "tag", "n"]), st.booleans(), st.booleans()),
                         min_size=1, max_size=2, unique_by=lambda item: item[0])


def sort_value(document, field_name, ascending):
    value = document.get(field_name)
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    return min(values) if ascending else max(values)


@settings(max_examples=80, deadline=None)
@given(documents=documents_strategy, sorts=sort_strategy, size=st.integers(1, 6),
       pieces=st.integers(1, 3), seed=st.integers(0, 1000))
def test_top_hits_return_the_brute_force_order(documents, sorts, size, pieces, seed):
    sort_json = [{field_name: {"order": "asc" if ascending else "desc",
                               "missing": "_last" if missing_last else "_first"}}
                 for field_name, ascending, missing_last in sorts]
    tree = parse({"t": {"top_hits": {"size": size, "sort": sort_json, "_source": False}}})
    places = np.random.default_rng(seed).integers(0, pieces, len(documents))
    partials = []
    expected_rows = []
    for piece in range(pieces):
        rows = [row for row in range(len(documents)) if places[row] == piece]
        segment = FakeSegment([documents[row] for row in rows], FIELD_TYPES, name=f"s{piece}",
                              ids=[f"d{row}" for row in rows])
        partials.append(collect_segment(tree, segment, segment.matching_docs(), FakeContext(FakeMapping(FIELD_TYPES))))
        expected_rows.extend((piece, position, row) for position, row in enumerate(rows))

    def compare(left, right):
        for field_name, ascending, missing_last in sorts:
            left_value = sort_value(documents[left[2]], field_name, ascending)
            right_value = sort_value(documents[right[2]], field_name, ascending)
            if left_value == right_value:
                continue
            if left_value is None or right_value is None:
                return (1 if left_value is None else -1) * (1 if missing_last else -1)
            return (-1 if left_value < right_value else 1) * (1 if ascending else -1)
        return (left[0], left[1]) < (right[0], right[1]) and -1 or 1

    expected = sorted(expected_rows, key=functools.cmp_to_key(compare))[:size]
    hits = render(merge_partials(partials, tree), tree)["t"]["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == [f"d{row}" for _, _, row in expected]
    assert [hit["sort"] for hit in hits] == [
        [sort_value(documents[row], field_name, ascending) for field_name, ascending, _ in sorts]
        for _, _, row in expected]
