"""Property: the sort-free replacements of np.unique on the union path (index/query/execution.py)
give exactly what np.unique gives, for concatenated sorted runs (postings) and for any values."""

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
