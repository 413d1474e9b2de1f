"""Property: the sort-free replacements of np.unique on the union path (index/query/execution.py)
give exactly what np.unique gives, for concatenated sorted runs (postings) and for any values; the
bool mask of docs held by a filter bitmap is exact for narrow and wide filters."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from index.query.execution import _union_with_counts, DocScores, sorted_unique_with_inverse

doc_lists = st.lists(st.lists(st.integers(0, 300), max_size=60, unique=True).map(sorted), min_size=1, max_size=4)


@given(doc_lists)
def test_distinct_values_and_inverse_equal_numpy_unique_on_concatenated_postings(parts):
    values = np.concatenate([np.array(part, dtype=np.int64) for part in parts])
    distinct, inverse = sorted_unique_with_inverse(values)
    expected_distinct, expected_inverse = np.unique(values, return_inverse=True)
    assert distinct.tolist() == expected_distinct.tolist()
    assert inverse.tolist() == expected_inverse.tolist()


@given(st.lists(st.integers(-5, 5), max_size=40))
def test_distinct_values_and_inverse_equal_numpy_unique_on_any_order(numbers):
    values = np.array(numbers, dtype=np.int64)
    distinct, inverse = sorted_unique_with_inverse(values)
    expected_distinct, expected_inverse = np.unique(values, return_inverse=True)
    assert distinct.tolist() == expected_distinct.tolist()
    assert inverse.tolist() == expected_inverse.tolist()


@given(doc_lists, st.integers(0, 2 ** 32 - 1))
def test_a_sparse_union_sums_each_docs_scores_in_clause_order(parts, seed):
    random = np.random.default_rng(seed)
    scored = [DocScores(np.array(part, dtype=np.int64), random.random(len(part)) * 10) for part in parts]
    # max_doc far above the entries: the sorting branch, not the dense bincount one
    docs, sums, counts, inverse = _union_with_counts(scored, 10 ** 9)
    expected = {}
    for part in scored:
        for doc, score in zip(part.docs.tolist(), part.scores.tolist()):
            total, count = expected.get(doc, (0.0, 0))
            expected[doc] = (total + score, count + 1)
    assert docs.tolist() == sorted(expected)
    assert sums.tolist() == [expected[doc][0] for doc in sorted(expected)]
    assert counts.tolist() == [expected[doc][1] for doc in sorted(expected)]
    assert docs[inverse].tolist() == np.concatenate([part.docs for part in scored]).tolist()


@given(st.lists(st.integers(0, 500), max_size=80, unique=True).map(sorted),
       st.lists(st.integers(0, 500), max_size=400, unique=True))
def test_bitmap_membership_marks_exactly_the_docs_in_the_bitmap_narrow_or_wide(docs, members):
    from pyroaring import BitMap

    from index.query.execution import bitmap_membership

    values = np.array(docs, dtype=np.int64)
    bitmap = BitMap(members)
    assert bitmap_membership(values, bitmap).tolist() == [doc in bitmap for doc in docs]


@given(st.lists(st.integers(0, 500), min_size=1, max_size=40, unique=True).map(sorted),
       st.integers(1, 3), st.lists(st.integers(0, 500), max_size=40))
def test_bitmap_membership_through_a_wide_filter_marks_exactly_the_docs_in_it(docs, step, extra):
    from pyroaring import BitMap

    from index.query.execution import bitmap_membership

    # at least 167 members, over 4x the docs: the roaring-intersection branch
    bitmap = BitMap(range(0, 501, step)) | BitMap(extra)
    assert len(bitmap) > 4 * len(docs)
    assert bitmap_membership(np.array(docs, dtype=np.int64), bitmap).tolist() == [doc in bitmap for doc in docs]
