"""Mapping.merge: PUT _mapping adds fields and refuses changes OpenSearch refuses."""

import pytest

from index.errors import MappingConflictError
from index.mapping import Mapping

BASE = Mapping.from_json({"properties": {
    "title": {"type": "text"},
    "tag": {"type": "keyword", "ignore_above": 10},
    "user": {"properties": {"name": {"type": "keyword"}}}}})


def test_merge_adds_new_fields_and_leaves_the_original_unchanged():
    merged = BASE.merge({"properties": {"views": {"type": "long"}, "user": {"properties": {"age": {"type": "short"}}}}})
    assert merged.field("views").type == "long" and merged.field("user.age").type == "short"
    assert BASE.field("views") is None


def test_changing_a_field_type_is_a_conflict_with_opensearch_message():
    with pytest.raises(MappingConflictError, match=r"mapper \[title\] cannot be changed from type \[text\] to \[keyword\]"):
        BASE.merge({"properties": {"title": {"type": "keyword"}}})


def test_changing_an_analyzer_is_a_conflict():
    with pytest.raises(MappingConflictError) as raised:
        BASE.merge({"properties": {"title": {"type": "text", "analyzer": "english"}}})
    assert raised.value.reason == ("Mapper for [title] conflicts with existing mapper:\n"
                                   "\tCannot update parameter [analyzer] from [default] to [english]")


def test_ignore_above_and_new_multi_fields_may_be_updated():
    merged = BASE.merge({"properties": {"tag": {"type": "keyword", "ignore_above": 20},
                                        "title": {"type": "text", "fields": {"raw": {"type": "keyword"}}}}})
    assert merged.field("tag").ignore_above == 20 and merged.field("title.raw").type == "keyword"


def test_an_object_cannot_become_a_leaf():
    with pytest.raises(MappingConflictError, match=r"can't merge a non object mapping \[user\] with an object mapping"):
        BASE.merge({"properties": {"user": {"type": "keyword"}}})


def test_dynamic_can_be_changed_and_is_shown_as_a_string():
    assert BASE.merge({"dynamic": False}).to_json()["dynamic"] == "false"
    assert BASE.merge({"dynamic": "strict"}).dynamic == "strict"


def test_merging_the_same_mapping_again_changes_nothing():
    assert BASE.merge(BASE.to_json()) == BASE


def test_parameters_equal_to_their_default_are_neither_shown_nor_conflicts():
    explicit = Mapping.from_json({"properties": {"n": {"type": "long", "index": True, "doc_values": "true",
                                                       "coerce": True, "boost": 1}}})
    assert explicit.to_json() == {"properties": {"n": {"type": "long"}}}
    plain = Mapping.from_json({"properties": {"n": {"type": "long"}}})
    assert plain.merge({"properties": {"n": {"type": "long", "index": True}}}) == plain


def test_changing_index_or_doc_values_is_a_conflict():
    with pytest.raises(MappingConflictError, match=r"Cannot update parameter \[index\] from \[true\] to \[false\]"):
        BASE.merge({"properties": {"tag": {"type": "keyword", "ignore_above": 10, "index": False}}})


def test_enabling_a_disabled_object_is_a_conflict():
    disabled = Mapping.from_json({"properties": {"blob": {"type": "object", "enabled": False}}})
    with pytest.raises(MappingConflictError, match=r"the \[enabled\] parameter can't be updated for the object mapping \[blob\]"):
        disabled.merge({"properties": {"blob": {"enabled": True}}})


def test_an_empty_object_is_shown_with_its_type():
    mapping = Mapping.from_json({"properties": {"blob": {"type": "object", "enabled": False},
                                                "empty": {"properties": {}}}})
    assert mapping.to_json() == {"properties": {"blob": {"type": "object", "enabled": False},
                                                "empty": {"type": "object"}}}


def test_merging_past_the_total_fields_limit_is_refused_as_opensearch_does():
    from index.errors import LimitExceededError

    assert BASE.total_field_count == 4  # title, tag, user, user.name
    with pytest.raises(LimitExceededError, match=r"Limit of total fields \[5\] has been exceeded"):
        BASE.merge({"properties": {"a": {"type": "long"}, "b": {"type": "long"}}}, total_fields_limit=5)
    assert BASE.merge({"properties": {"a": {"type": "long"}}}, total_fields_limit=5).total_field_count == 5


def test_merging_past_the_depth_limit_is_refused():
    from index.errors import LimitExceededError

    with pytest.raises(LimitExceededError, match=r"Limit of mapping depth \[2\] has been exceeded"):
        BASE.merge({"properties": {"x": {"properties": {"y": {"properties": {"z": {"type": "long"}}}}}}}, depth_limit=2)
