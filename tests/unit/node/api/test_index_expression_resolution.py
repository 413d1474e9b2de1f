"""Index expressions resolve like OpenSearch: lists, wildcards, exclusions, aliases, options."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from node.coordination.resolve import IndicesOptions, auto_create_allowed, resolve_indices, resolve_write_target
from node.errors import IllegalArgumentError, IndexNotFoundError
from raft.apply import apply
from raft.commands import CloseIndex, CreateIndex, PutClusterSettings, UpdateAliases
from raft.state import initial_cluster_state


def state_with(*names, closed=(), aliases=None):
    state = initial_cluster_state("c")
    for number, name in enumerate(names):
        state, outcome = apply(state, CreateIndex(index_name=name, index_uuid=f"u{number}", creation_date=0))
        assert outcome.accepted, outcome
    if closed:
        state, _ = apply(state, CloseIndex(index_names=tuple(closed)))
    if aliases:
        state, outcome = apply(state, UpdateAliases(actions=tuple(aliases)))
        assert outcome.accepted, outcome
    return state


def test_all_star_and_empty_mean_every_open_index():
    state = state_with("a", "b", "c", closed=("c",))
    for expression in (None, "", "_all", "*"):
        assert sorted(resolve_indices(state, expression)) == ["a", "b"]
    assert sorted(resolve_indices(state, "*", IndicesOptions.from_params({"expand_wildcards": "all"}))) == \
        ["a", "b", "c"]
    assert resolve_indices(state, "*", IndicesOptions.from_params({"expand_wildcards": "closed"})) == ["c"]


def test_exclusions_remove_what_earlier_parts_added():
    state = state_with("logs-1", "logs-2", "logs-3")
    assert resolve_indices(state, "logs-*,-logs-2") == ["logs-1", "logs-3"]


def test_missing_concrete_names_are_404_unless_ignored():
    state = state_with("a")
    with pytest.raises(IndexNotFoundError):
        resolve_indices(state, "a,b")
    assert resolve_indices(state, "a,b", IndicesOptions(ignore_unavailable=True)) == ["a"]
    assert resolve_indices(state, "z*") == []
    with pytest.raises(IndexNotFoundError):
        resolve_indices(state, "z*", IndicesOptions(allow_no_indices=False))


def test_aliases_resolve_to_their_indices_and_writes_need_one_write_index():
    state = state_with("a", "b", aliases=[{"add": {"indices": ["a", "b"], "alias": "both"}},
                                          {"add": {"index": "a", "alias": "solo"}}])
    assert sorted(resolve_indices(state, "both")) == ["a", "b"]
    assert resolve_write_target(state, "solo").index_name == "a"
    with pytest.raises(IllegalArgumentError):
        resolve_write_target(state, "both")
    assert resolve_write_target(state, "nothing") is None


def test_auto_create_patterns_allow_and_deny_in_order():
    state = state_with()
    assert auto_create_allowed(state, "anything")
    state, _ = apply(state, PutClusterSettings(persistent={"action.auto_create_index": "+logs-*,-*"}))
    assert auto_create_allowed(state, "logs-x")
    assert not auto_create_allowed(state, "other")


@given(st.sets(st.sampled_from(["a1", "a2", "b1", "b2", "c1"]), min_size=1))
def test_a_comma_list_of_existing_names_resolves_to_exactly_those_names(names):
    state = state_with("a1", "a2", "b1", "b2", "c1")
    assert sorted(resolve_indices(state, ",".join(sorted(names)))) == sorted(names)
