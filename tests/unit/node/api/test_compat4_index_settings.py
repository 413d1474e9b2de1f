"""Index settings are judged as OpenSearch judges them: unknown keys (with its "did you mean"
suggestion), private keys, values that do not parse as their type, and static or final keys changed
on an open index are 400s, at index creation and on PUT _settings; every setting Quidditch itself
reads or documents stays accepted."""

from __future__ import annotations

import pytest

from node.api.index_settings import (
    DYNAMIC, FINAL, STATIC, unknown_setting_message, updatability_of, validate_index_settings_update,
    validate_new_index_settings,
)
from node.errors import ApiError
from raft.apply import normalize_index_settings

UNKNOWN_SUFFIX = ("please check that any required plugins are installed, or check the breaking changes "
                  "documentation for removed settings")


def _error_of(call, *arguments) -> ApiError:
    with pytest.raises(ApiError) as raised:
        call(*arguments)
    return raised.value


def test_an_unknown_setting_far_from_every_known_key_names_the_plugins_hint():
    error = _error_of(validate_new_index_settings, {"index.frobnicate": "1"})
    assert error.status == 400 and error.opensearch_type == "illegal_argument_exception"
    assert str(error) == f"unknown setting [index.frobnicate] {UNKNOWN_SUFFIX}"


def test_an_unknown_setting_close_to_known_keys_suggests_them_nearest_first():
    assert unknown_setting_message("index.refresh_intervall") == \
        "unknown setting [index.refresh_intervall] did you mean [index.refresh_interval]?"
    assert unknown_setting_message("index.numbe_of_replica") == (
        "unknown setting [index.numbe_of_replica] did you mean any of "
        "[index.number_of_replicas, index.number_of_search_replicas]?")


def test_the_bare_nested_and_flat_forms_all_reach_the_same_key():
    for settings in ({"foo": 1}, {"index": {"foo": 1}}, {"index.foo": 1}):
        error = _error_of(validate_new_index_settings, normalize_index_settings(settings))
        assert str(error).startswith("unknown setting [index.foo]")


def test_a_private_setting_cannot_be_set_at_creation_nor_updated():
    error = _error_of(validate_new_index_settings, {"index.uuid": "abc"})
    assert error.status == 400 and error.opensearch_type == "validation_exception"
    assert str(error) == "Validation Failed: 1: private index setting [index.uuid] can not be set explicitly;"
    error = _error_of(validate_index_settings_update, {"index.creation_date": "1"}, [])
    assert str(error) == "can not update private setting [index.creation_date]; this setting is managed by OpenSearch"


@pytest.mark.parametrize(("settings", "message"), [
    ({"index.number_of_replicas": "abc"}, "Failed to parse value [abc] for setting [index.number_of_replicas]"),
    ({"index.number_of_replicas": "-1"}, "Failed to parse value [-1] for setting [index.number_of_replicas] must be >= 0"),
    ({"index.number_of_shards": "2000"}, "Failed to parse value [2000] for setting [index.number_of_shards] must be <= 1024"),
    ({"index.max_result_window": "15000.0"}, "Failed to parse value [15000.0] for setting [index.max_result_window]"),
    ({"index.hidden": "notbool"}, "Failed to parse value [notbool] as only [true] or [false] are allowed."),
    ({"index.refresh_interval": "abc"},
     "failed to parse setting [index.refresh_interval] with value [abc] as a time value: unit is missing or unrecognized"),
    ({"index.refresh_interval": "-5s"},
     "failed to parse setting [index.refresh_interval] with value [-5s] as a time value: negative durations are not supported"),
    ({"index.translog.sync_interval": "10ms"},
     "failed to parse value [10ms] for setting [index.translog.sync_interval], must be >= [100ms]"),
    ({"index.translog.flush_threshold_size": "lots"},
     "failed to parse setting [index.translog.flush_threshold_size] with value [lots] as a size in bytes: "
     "unit is missing or unrecognized"),
    ({"index.translog.durability": "sometimes"},
     "No enum constant org.opensearch.index.translog.Translog.Durability.SOMETIMES"),
    ({"index.blocks.write": "yes"}, "Failed to parse value [yes] as only [true] or [false] are allowed."),
    ({"index.similarity.BM25.type": "BM25"}, "illegal value for [index.similarity.BM25] cannot redefine built-in similarity"),
])
def test_values_that_do_not_parse_as_their_type_are_refused_with_opensearchs_wording(settings, message):
    error = _error_of(validate_new_index_settings, settings)
    assert error.status == 400 and str(error) == message


def test_every_setting_quidditch_reads_or_documents_is_accepted():
    validate_new_index_settings(normalize_index_settings({
        "number_of_shards": 2, "number_of_replicas": 0, "refresh_interval": "-1", "hidden": True,
        "translog": {"durability": "async", "sync_interval": "5s", "retention.operations": 10,
                     "flush_threshold_size": "512mb"},
        "max_result_window": 100, "merge.policy.segments_per_tier": 10, "search.idle.after": "30s",
        "max_regex_length": 100, "max_docvalue_fields_search": 5, "max_terms_count": 10,
        "analyze.max_token_count": 5, "highlight.max_analyzed_offset": 10,
        "mapping": {"total_fields.limit": 10, "depth.limit": 3},
        "udf": {"fuel_per_query": 1000, "timeout": "50ms"},
        "blocks": {"read_only": False, "write": True, "read": False, "metadata": False, "read_only_allow_delete": False},
        "routing_partition_size": 1, "number_of_routing_shards": 4,
        "analysis": {"analyzer": {"a": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]}}},
        "routing": {"allocation": {"include": {"_name": "n1"}}},
        "similarity": {"mine": {"type": "BM25", "k1": 1.1}},
        "codec": "best_compression", "auto_expand_replicas": "0-all", "sort.field": ["a", "b"],
    }))


def test_the_flush_threshold_size_is_a_dynamic_byte_size():
    assert updatability_of("index.translog.flush_threshold_size") == DYNAMIC
    validate_new_index_settings({"index.translog.flush_threshold_size": "1kb"})
    validate_new_index_settings({"index.translog.flush_threshold_size": "10MB"})


def test_updatability_follows_opensearch():
    assert updatability_of("index.number_of_replicas") == DYNAMIC
    assert updatability_of("index.codec") == STATIC
    assert updatability_of("index.analysis.analyzer.a.type") == STATIC
    assert updatability_of("index.number_of_shards") == FINAL
    assert updatability_of("index.blocks.nonsense") is None


class _Index:
    def __init__(self, name, state="open", settings=None):
        self.name, self.uuid, self.state, self.settings = name, f"{name}-uuid", state, settings or {}


def test_static_and_final_settings_on_open_indices_list_every_key_and_index():
    error = _error_of(validate_index_settings_update,
                      {"index.codec": "best_compression", "index.number_of_shards": "2", "index.refresh_interval": "2s"},
                      [_Index("a"), _Index("b"), _Index("c", state="close")])
    assert str(error) == ("Can't update non dynamic settings [[index.codec, index.number_of_shards]] "
                          "for open indices [[a/a-uuid], [b/b-uuid]]")


def test_static_settings_may_change_on_a_closed_index():
    validate_index_settings_update({"index.codec": "best_compression",
                                    "index.analysis.analyzer.x.type": "standard"}, [_Index("c", state="close")])


def test_a_reset_of_a_stray_key_the_index_holds_and_a_wildcard_reset_are_accepted():
    validate_index_settings_update({"index.frobnicate": None, "index.routing.allocation.include.*": None},
                                   [_Index("a", settings={"index.frobnicate": "1"})])
    error = _error_of(validate_index_settings_update, {"index.frobnicate": None}, [_Index("a")])
    assert str(error).startswith("unknown setting [index.frobnicate]")


async def test_create_index_with_an_unknown_setting_is_a_400_and_creates_nothing(api_node):
    status, body = await api_node.request("PUT", "/made", {"settings": {"index": {"frobnicate": 1}}})
    assert status == 400 and body["error"]["type"] == "illegal_argument_exception"
    assert body["error"]["reason"] == f"unknown setting [index.frobnicate] {UNKNOWN_SUFFIX}"
    status, _ = await api_node.request("HEAD", "/made")
    assert status == 404


async def test_put_settings_refuses_unknown_and_non_dynamic_settings_on_an_open_index(api_node):
    await api_node.request("PUT", "/live", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.settle()
    status, body = await api_node.request("PUT", "/live/_settings", {"index.foo": 5})
    assert status == 400 and body["error"]["reason"] == f"unknown setting [index.foo] {UNKNOWN_SUFFIX}"
    status, body = await api_node.request("PUT", "/live/_settings", {"index": {"codec": "best_compression"}})
    uuid = (await api_node.request("GET", "/live/_settings"))[1]["live"]["settings"]["index"]["uuid"]
    assert status == 400 and body["error"]["reason"] == \
        f"Can't update non dynamic settings [[index.codec]] for open indices [[live/{uuid}]]"
    status, body = await api_node.request("PUT", "/live/_settings", {"index": {"refresh_interval": "2s"}})
    assert status == 200 and body == {"acknowledged": True}
