"""raft.apply: the pure state machine, command by command, without a network."""

import pytest

from raft import commands as c
from raft.apply import apply, invalid_index_or_alias_name_reason
from raft.commands import decode_command, encode_command
from raft.errors import CommandDecodeError
from raft.state import ClusterState, NodeInfo, UdfMetadata, initial_cluster_state


def node(node_id):
    return NodeInfo(node_id=node_id, name=node_id, http_address=f"{node_id}:9200",
                    transport_address=f"{node_id}:9300")


def accepted(state, command):
    new_state, outcome = apply(state, command)
    assert outcome.accepted, outcome
    assert new_state.version == state.version + 1
    return new_state


def rejected(state, command, error_type):
    new_state, outcome = apply(state, command)
    assert not outcome.accepted
    assert outcome.error_type == error_type, outcome
    assert new_state is state
    return outcome


@pytest.fixture
def cluster():
    state = initial_cluster_state("test-cluster")
    for node_id in ("n1", "n2", "n3"):
        state = accepted(state, c.RegisterNode(node=node(node_id)))
    return state


def with_index(state, name="logs", shards=1, replicas=1, **extra):
    return accepted(state, c.CreateIndex(
        index_name=name, index_uuid=f"{name}-uuid", creation_date=1700000000000,
        settings={"index": {"number_of_shards": shards, "number_of_replicas": replicas}}, **extra))


def started_primary(state, name="logs", shard=0, node_id="n1", allocation_id="p"):
    state = accepted(state, c.AllocateCopy(index_name=name, shard_number=shard, node_id=node_id,
                                           allocation_id=allocation_id, primary=True))
    return accepted(state, c.StartCopy(index_name=name, shard_number=shard, allocation_id=allocation_id))


def started_replica(state, name="logs", shard=0, node_id="n2", allocation_id="r"):
    state = accepted(state, c.AllocateCopy(index_name=name, shard_number=shard, node_id=node_id,
                                           allocation_id=allocation_id, primary=False))
    return accepted(state, c.StartCopy(index_name=name, shard_number=shard, allocation_id=allocation_id))


# ---- wire format ---------------------------------------------------------------------------

def test_every_command_type_round_trips_through_json_bytes():
    examples = [
        c.BootstrapCluster(cluster_uuid="u"),
        c.CreateIndex(index_name="i", index_uuid="u", creation_date=1, settings={"a": 1},
                      mappings={"properties": {}}, aliases={"x": {}}),
        c.DeleteIndex(index_name="i"),
        c.PutMapping(index_name="i", mappings={"properties": {}}, expected_mapping_version=3),
        c.UpdateIndexSettings(index_names=("i", "j"), settings={"index.refresh_interval": "1s"}),
        c.UpdateAliases(actions=({"add": {"index": "i", "alias": "a"}},)),
        c.OpenIndex(index_names=("i",)), c.CloseIndex(index_names=("i",)),
        c.RegisterNode(node=node("n1")), c.DeregisterNode(node_id="n1"),
        c.AllocateCopy(index_name="i", shard_number=0, node_id="n", allocation_id="a",
                       primary=True, accept_data_loss=True),
        c.StartCopy(index_name="i", shard_number=0, allocation_id="a"),
        c.FailCopy(index_name="i", shard_number=0, allocation_id="a", reason="NODE_LEFT"),
        c.RemoveFromInSync(index_name="i", shard_number=0, allocation_ids=("a",), primary_term=2),
        c.PromoteReplica(index_name="i", shard_number=0, allocation_id="a"),
        c.SetNumberOfReplicas(index_names=("i",), number_of_replicas=2),
        c.RelocateCopy(index_name="i", shard_number=0, allocation_id="a", target_node_id="n2",
                       target_allocation_id="b"),
        c.CompleteRelocation(index_name="i", shard_number=0, allocation_id="a", promote_allocation_id="b"),
        c.RetryFailedAllocations(),
        c.PutClusterSettings(persistent={"a": "b"}, transient={"c": None}),
        c.PutUdf(udf=UdfMetadata(name="f", wasm_base64="AA==", sha256="00", inputs=("x",))),
        c.DeleteUdf(name="f"),
        c.Batch(commands=(c.DeleteIndex(index_name="i"), c.OpenIndex(index_names=("j",))),
                expected_term=4, expected_state_version=9),
    ]
    assert {type(example) for example in examples} == set(c.COMMAND_TYPES.values())
    for example in examples:
        data = encode_command(example)
        assert data.startswith(b'{"v":1,"type":"')
        assert decode_command(data) == example


@pytest.mark.parametrize("data, fragment", [
    (b"not json", "not valid JSON"),
    (b"[]", "must be a JSON object"),
    (b'{"v":2,"type":"delete_index","index_name":"x"}', "[v] must be 1"),
    (b'{"v":1,"type":"explode"}', "[type] is unknown"),
    (b'{"v":1,"type":"delete_index"}', "missing field [index_name]"),
    (b'{"v":1,"type":"delete_index","index_name":7}', "field [index_name] must be str"),
    (b'{"v":1,"type":"delete_index","index_name":"x","extra":1}', "unknown fields ['extra']"),
    (b'{"v":1,"type":"start_copy","index_name":"x","shard_number":true,"allocation_id":"a"}',
     "field [shard_number] must be int"),
])
def test_malformed_command_bytes_name_what_is_wrong(data, fragment):
    with pytest.raises(CommandDecodeError) as raised:
        decode_command(data)
    assert fragment in str(raised.value)


def test_garbage_bytes_are_a_rejection_from_apply_never_an_exception(cluster):
    new_state, outcome = apply(cluster, b"\x00\xff garbage")
    assert new_state is cluster
    assert not outcome.accepted and outcome.error_type == "illegal_argument_exception"


# ---- idempotency and fencing ---------------------------------------------------------------

def test_applying_the_same_command_id_twice_is_a_no_op(cluster):
    command = c.CreateIndex(index_name="logs", index_uuid="u1", creation_date=1)
    once = accepted(cluster, command)
    twice, outcome = apply(once, encode_command(command))
    assert twice is once
    assert outcome.accepted and outcome.duplicate and outcome.state_version == once.version


def test_a_command_fenced_with_an_older_term_is_rejected(cluster):
    newer = accepted(cluster, c.PutClusterSettings(persistent={"a": 1}, expected_term=5))
    assert newer.term == 5
    outcome = rejected(newer, c.PutClusterSettings(persistent={"a": 2}, expected_term=4),
                       "stale_cluster_state_exception")
    assert "raft term [4]" in outcome.reason


def test_a_command_fenced_with_a_different_state_version_is_rejected(cluster):
    rejected(cluster, c.PutClusterSettings(persistent={"a": 1},
                                           expected_state_version=cluster.version - 1),
             "stale_cluster_state_exception")
    accepted(cluster, c.PutClusterSettings(persistent={"a": 1},
                                           expected_state_version=cluster.version))


def test_the_applied_command_id_window_is_bounded(cluster):
    from raft.state import APPLIED_COMMAND_ID_WINDOW
    state = cluster
    for number in range(APPLIED_COMMAND_ID_WINDOW + 5):
        state, _ = apply(state, c.PutClusterSettings(persistent={"n": number}))
    assert len(state.applied_command_ids) == APPLIED_COMMAND_ID_WINDOW


# ---- indices -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, reason", [
    ("UPPER", "must be lowercase"),
    ("_hidden", "must not start with '_', '-', or '+'"),
    ("-dash", "must not start with '_', '-', or '+'"),
    ("+plus", "must not start with '_', '-', or '+'"),
    ("a#b", "must not contain '#'"),
    ("a:b", "must not contain ':'"),
    ("a b", 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]'),
    ("a*b", "must not contain the following characters"),
    ("a,b", "must not contain the following characters"),
    (".", "must not be '.' or '..'"),
    ("..", "must not be '.' or '..'"),
    ("", "must not be empty"),
    ("é" * 128, "index name is too long, (256 > 255)"),
])
def test_invalid_index_names_are_refused_as_opensearch_does(cluster, name, reason):
    outcome = rejected(cluster, c.CreateIndex(index_name=name, index_uuid="u", creation_date=1),
                       "invalid_index_name_exception")
    assert outcome.reason.startswith(f"Invalid index name [{name}], ")
    assert reason in outcome.reason


def test_valid_names_pass_the_name_rules():
    for name in ("logs", "logs-2024.01.01", ".kibana", "a" * 255, "ünïcode"):
        assert invalid_index_or_alias_name_reason(name) is None


def test_creating_an_existing_index_is_resource_already_exists(cluster):
    state = with_index(cluster)
    outcome = rejected(state, c.CreateIndex(index_name="logs", index_uuid="other", creation_date=1),
                       "resource_already_exists_exception")
    assert outcome.reason == "index [logs/logs-uuid] already exists"


def test_create_index_builds_flat_settings_and_an_unassigned_routing_table(cluster):
    state = with_index(cluster, shards=3, replicas=2)
    index = state.indices["logs"]
    assert index.settings["index.number_of_shards"] == "3"
    assert index.settings["index.number_of_replicas"] == "2"
    assert index.settings["index.uuid"] == "logs-uuid"
    assert index.settings["index.creation_date"] == "1700000000000"
    assert index.routing_num_shards == 768
    shards = state.routing_table["logs"]
    assert [shard.shard_number for shard in shards] == [0, 1, 2]
    for shard in shards:
        assert len(shard.copies) == 3 and shard.copies[0].primary
        assert all(copy.state == "UNASSIGNED" and copy.unassigned_reason == "INDEX_CREATED"
                   for copy in shard.copies)
        assert shard.in_sync_allocation_ids == () and shard.primary_term == 0
        assert shard.health == "red"


def test_create_index_refuses_zero_shards_and_private_settings(cluster):
    rejected(cluster, c.CreateIndex(index_name="x", index_uuid="u", creation_date=1,
                                    settings={"number_of_shards": 0}), "illegal_argument_exception")
    rejected(cluster, c.CreateIndex(index_name="x", index_uuid="u", creation_date=1,
                                    settings={"index.uuid": "mine"}), "illegal_argument_exception")


def test_an_index_may_not_take_the_name_of_an_alias(cluster):
    state = with_index(cluster, aliases={"current": {}})
    outcome = rejected(state, c.CreateIndex(index_name="current", index_uuid="u", creation_date=1),
                       "invalid_index_name_exception")
    assert "already exists as alias" in outcome.reason


def test_delete_of_a_missing_index_is_index_not_found(cluster):
    outcome = rejected(cluster, c.DeleteIndex(index_name="nope"), "index_not_found_exception")
    assert outcome.reason == "no such index [nope]"


def test_delete_index_removes_metadata_and_routing(cluster):
    state = accepted(with_index(cluster), c.DeleteIndex(index_name="logs"))
    assert "logs" not in state.indices and "logs" not in state.routing_table


def test_put_mapping_bumps_the_mapping_version_only_when_it_changes(cluster):
    state = with_index(cluster)
    mapping = {"properties": {"title": {"type": "text"}}}
    state = accepted(state, c.PutMapping(index_name="logs", mappings=mapping, expected_mapping_version=1))
    assert state.indices["logs"].mapping_version == 2
    assert state.indices["logs"].mappings == mapping
    state = accepted(state, c.PutMapping(index_name="logs", mappings=mapping, expected_mapping_version=2))
    assert state.indices["logs"].mapping_version == 2


def test_put_mapping_with_a_stale_mapping_version_is_rejected(cluster):
    state = with_index(cluster)
    rejected(state, c.PutMapping(index_name="logs", mappings={"properties": {}},
                                 expected_mapping_version=7), "stale_mapping_version_exception")


def test_number_of_shards_can_not_be_updated(cluster):
    state = with_index(cluster)
    rejected(state, c.UpdateIndexSettings(index_names=("logs",), settings={"number_of_shards": 2}),
             "illegal_argument_exception")


def test_updating_settings_merges_and_null_resets(cluster):
    state = with_index(cluster)
    state = accepted(state, c.UpdateIndexSettings(index_names=("logs",),
                                                  settings={"index": {"refresh_interval": "5s"}}))
    assert state.indices["logs"].settings["index.refresh_interval"] == "5s"
    assert state.indices["logs"].settings_version == 2
    state = accepted(state, c.UpdateIndexSettings(index_names=("logs",),
                                                  settings={"index.refresh_interval": None}))
    assert "index.refresh_interval" not in state.indices["logs"].settings


def test_analysis_settings_change_only_on_a_closed_index(cluster):
    state = with_index(cluster)
    update = c.UpdateIndexSettings(index_names=("logs",),
                                   settings={"analysis": {"analyzer": {"a": {"type": "simple"}}}})
    rejected(state, update, "illegal_argument_exception")
    state = accepted(state, c.CloseIndex(index_names=("logs",)))
    state = accepted(state, update)
    assert state.indices["logs"].settings["index.analysis.analyzer.a.type"] == "simple"


def test_open_and_close_toggle_the_index_state(cluster):
    state = accepted(with_index(cluster), c.CloseIndex(index_names=("logs",)))
    assert state.indices["logs"].state == "close"
    state = accepted(state, c.OpenIndex(index_names=("logs",)))
    assert state.indices["logs"].state == "open"
    rejected(state, c.CloseIndex(index_names=("logs", "missing")), "index_not_found_exception")


# ---- aliases -------------------------------------------------------------------------------

def test_alias_actions_apply_atomically(cluster):
    state = with_index(with_index(cluster, "a"), "b")
    state = accepted(state, c.UpdateAliases(actions=(
        {"add": {"index": "a", "alias": "both", "routing": "1"}},
        {"add": {"indices": ["b"], "alias": "both", "filter": {"term": {"x": 1}}}},
    )))
    assert state.resolve_alias("both") == ["a", "b"]
    assert state.indices["a"].aliases["both"].index_routing == "1"
    assert state.indices["a"].aliases["both"].search_routing == "1"
    after = rejected(state, c.UpdateAliases(actions=(
        {"remove": {"index": "a", "alias": "both"}},
        {"remove": {"index": "b", "alias": "never-there"}},
    )), "aliases_not_found_exception")
    assert after.reason == "aliases [never-there] missing"


def test_remove_index_action_deletes_the_index(cluster):
    state = with_index(cluster, "old")
    state = accepted(state, c.UpdateAliases(actions=({"remove_index": {"index": "old"}},)))
    assert "old" not in state.indices


def test_two_write_indices_for_one_alias_are_refused(cluster):
    state = with_index(cluster, "a", aliases={"w": {"is_write_index": True}})
    state = with_index(state, "b")
    outcome = rejected(state, c.UpdateAliases(actions=(
        {"add": {"index": "b", "alias": "w", "is_write_index": True}},)), "illegal_state_exception")
    assert "more than one write index [a,b]" in outcome.reason


def test_an_alias_may_not_take_the_name_of_an_index(cluster):
    state = with_index(with_index(cluster, "a"), "b")
    rejected(state, c.UpdateAliases(actions=({"add": {"index": "a", "alias": "b"}},)),
             "invalid_alias_name_exception")


# ---- shard copies --------------------------------------------------------------------------

def test_a_new_primary_starts_in_sync_with_term_one(cluster):
    state = started_primary(with_index(cluster))
    shard = state.shard("logs", 0)
    assert shard.primary().allocation_id == "p" and shard.primary().state == "STARTED"
    assert shard.in_sync_allocation_ids == ("p",)
    assert shard.primary_term == 1
    assert shard.health == "yellow"
    state = started_replica(state)
    assert state.shard("logs", 0).health == "green"
    assert state.shard("logs", 0).in_sync_allocation_ids == ("p", "r")


def test_a_replica_waits_for_an_active_primary(cluster):
    rejected(with_index(cluster), c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2",
                                                 allocation_id="r", primary=False),
             "illegal_argument_exception")


def test_two_copies_of_a_shard_never_share_a_node(cluster):
    state = started_primary(with_index(cluster))
    outcome = rejected(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n1",
                                             allocation_id="r", primary=False),
                       "illegal_argument_exception")
    assert "already has a copy on node [n1]" in outcome.reason


def test_failing_a_primary_with_an_in_sync_replica_drops_it_from_the_in_sync_set(cluster):
    state = started_replica(started_primary(with_index(cluster)))
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="p",
                                       reason="NODE_LEFT"))
    shard = state.shard("logs", 0)
    assert shard.primary() is None and shard.health == "red"
    assert shard.in_sync_allocation_ids == ("r",)
    assert shard.copies[0].unassigned_reason == "NODE_LEFT"


def test_promoting_an_in_sync_replica_bumps_the_primary_term(cluster):
    state = started_replica(started_primary(with_index(cluster)))
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="p"))
    state = accepted(state, c.PromoteReplica(index_name="logs", shard_number=0, allocation_id="r"))
    shard = state.shard("logs", 0)
    assert shard.primary().allocation_id == "r"
    assert shard.primary_term == 2
    assert len(shard.copies) == 2 and not shard.copies[1].primary
    assert shard.copies[1].state == "UNASSIGNED"


def test_a_replica_can_not_be_promoted_while_a_primary_is_assigned(cluster):
    state = started_replica(started_primary(with_index(cluster)))
    rejected(state, c.PromoteReplica(index_name="logs", shard_number=0, allocation_id="r"),
             "illegal_argument_exception")


def test_the_last_in_sync_copy_keeps_its_id_so_the_shard_stays_red(cluster):
    state = started_primary(with_index(cluster, replicas=0))
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="p",
                                       reason="NODE_LEFT"))
    shard = state.shard("logs", 0)
    assert shard.in_sync_allocation_ids == ("p",) and shard.health == "red"
    outcome = rejected(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2",
                                             allocation_id="fresh", primary=True),
                       "illegal_argument_exception")
    assert "accept_data_loss" in outcome.reason
    # The very copy that was lost may come back as primary, with a new term.
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n1",
                                           allocation_id="p", primary=True))
    assert state.shard("logs", 0).primary_term == 2


def test_an_operator_may_accept_data_loss_for_an_empty_primary(cluster):
    state = started_primary(with_index(cluster, replicas=0))
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="p"))
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2",
                                           allocation_id="fresh", primary=True,
                                           accept_data_loss=True))
    state = accepted(state, c.StartCopy(index_name="logs", shard_number=0, allocation_id="fresh"))
    assert state.shard("logs", 0).in_sync_allocation_ids == ("fresh",)


def test_remove_from_in_sync_is_fenced_by_the_primary_term(cluster):
    state = started_replica(started_primary(with_index(cluster)))
    rejected(state, c.RemoveFromInSync(index_name="logs", shard_number=0, allocation_ids=("r",),
                                       primary_term=0), "stale_primary_term_exception")
    rejected(state, c.RemoveFromInSync(index_name="logs", shard_number=0, allocation_ids=("p",),
                                       primary_term=1), "illegal_argument_exception")
    state = accepted(state, c.RemoveFromInSync(index_name="logs", shard_number=0,
                                               allocation_ids=("r",), primary_term=1))
    shard = state.shard("logs", 0)
    assert shard.in_sync_allocation_ids == ("p",)
    assert shard.copies[1].state == "UNASSIGNED"


def test_set_number_of_replicas_grows_and_shrinks_copies(cluster):
    state = started_replica(started_primary(with_index(cluster, replicas=1)))
    state = accepted(state, c.SetNumberOfReplicas(index_names=("logs",), number_of_replicas=2))
    shard = state.shard("logs", 0)
    assert len(shard.copies) == 3 and shard.copies[2].unassigned_reason == "REPLICA_ADDED"
    assert state.indices["logs"].number_of_replicas == 2
    assert state.indices["logs"].settings["index.number_of_replicas"] == "2"
    state = accepted(state, c.SetNumberOfReplicas(index_names=("logs",), number_of_replicas=0))
    shard = state.shard("logs", 0)
    assert len(shard.copies) == 1 and shard.in_sync_allocation_ids == ("p",)


def test_a_failed_batch_changes_nothing(cluster):
    state = with_index(cluster)
    batch = c.Batch(commands=(
        c.AllocateCopy(index_name="logs", shard_number=0, node_id="n1", allocation_id="p", primary=True),
        c.AllocateCopy(index_name="logs", shard_number=0, node_id="n9", allocation_id="q", primary=False),
    ))
    outcome = rejected(state, batch, "illegal_argument_exception")
    assert outcome.reason.startswith("batch command [1] (allocate_copy)")


def test_a_batch_is_one_version(cluster):
    state = with_index(cluster)
    after = accepted(state, c.Batch(commands=(
        c.AllocateCopy(index_name="logs", shard_number=0, node_id="n1", allocation_id="p", primary=True),
        c.StartCopy(index_name="logs", shard_number=0, allocation_id="p"),
    )))
    assert after.shard("logs", 0).health == "yellow"


# ---- the rest ------------------------------------------------------------------------------

def test_cluster_settings_merge_and_null_removes(cluster):
    state = accepted(cluster, c.PutClusterSettings(
        persistent={"cluster": {"routing": {"allocation": {"exclude": {"_name": "n2"}}}}},
        transient={"x": "1"}))
    assert state.setting("cluster.routing.allocation.exclude._name") == "n2"
    state = accepted(state, c.PutClusterSettings(
        persistent={"cluster.routing.allocation.exclude._name": None}))
    assert state.persistent_settings == {} and state.setting("x") == "1"


def test_udfs_are_registered_and_deleted(cluster):
    udf = UdfMetadata(name="boost", wasm_base64="AGFzbQEAAAA=", sha256="ab", abi_version=1)
    state = accepted(cluster, c.PutUdf(udf=udf))
    assert state.udfs["boost"] == udf
    state = accepted(state, c.DeleteUdf(name="boost"))
    rejected(state, c.DeleteUdf(name="boost"), "resource_not_found_exception")


def test_bootstrap_sets_the_cluster_uuid_once(cluster):
    assert cluster.cluster_uuid == "_na_"
    state = accepted(cluster, c.BootstrapCluster(cluster_uuid="abc"))
    assert state.cluster_uuid == "abc"
    accepted(state, c.BootstrapCluster(cluster_uuid="abc"))
    rejected(state, c.BootstrapCluster(cluster_uuid="other"), "illegal_state_exception")


def test_deregistering_an_unknown_node_is_rejected(cluster):
    state = accepted(cluster, c.DeregisterNode(node_id="n3"))
    assert "n3" not in state.nodes
    rejected(state, c.DeregisterNode(node_id="n3"), "illegal_argument_exception")


def test_cluster_state_round_trips_through_json(cluster):
    state = started_replica(started_primary(with_index(cluster, aliases={"al": {"routing": "r"}})))
    state = accepted(state, c.PutUdf(udf=UdfMetadata(name="f", wasm_base64="AA==", sha256="00")))
    assert ClusterState.from_bytes(state.to_bytes()) == state


def test_a_preserved_failure_keeps_every_lost_in_sync_id(cluster):
    state = started_replica(started_primary(with_index(cluster)))
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="p",
                                       reason="NODE_LEFT", preserve_in_sync=True))
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="r",
                                       reason="NODE_LEFT", preserve_in_sync=True))
    assert state.shard("logs", 0).in_sync_allocation_ids == ("p", "r")
    # Either lost copy may come back as primary; once it is active the other id is dropped.
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2",
                                           allocation_id="r", primary=True))
    state = accepted(state, c.StartCopy(index_name="logs", shard_number=0, allocation_id="r"))
    shard = state.shard("logs", 0)
    assert shard.in_sync_allocation_ids == ("r",) and shard.primary_term == 2


def test_promotion_drops_in_sync_ids_of_copies_that_are_gone(cluster):
    state = with_index(cluster, replicas=2)
    state = started_replica(started_replica(started_primary(state), node_id="n2", allocation_id="r1"),
                            node_id="n3", allocation_id="r2")
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="p",
                                       preserve_in_sync=True))
    assert "p" in state.shard("logs", 0).in_sync_allocation_ids
    state = accepted(state, c.PromoteReplica(index_name="logs", shard_number=0, allocation_id="r1"))
    assert state.shard("logs", 0).in_sync_allocation_ids == ("r1", "r2")


def test_routing_partition_size_is_read_from_the_index_settings(cluster):
    state = accepted(cluster, c.CreateIndex(
        index_name="parts", index_uuid="u", creation_date=1,
        settings={"number_of_shards": 4, "routing_partition_size": 2}))
    assert state.indices["parts"].routing_partition_size == 2
    assert with_index(cluster).indices["logs"].routing_partition_size == 1


def test_a_partition_size_not_below_the_shard_count_is_refused(cluster):
    rejected(cluster, c.CreateIndex(index_name="parts", index_uuid="u", creation_date=1,
                                    settings={"number_of_shards": 2, "routing_partition_size": 2}),
             "illegal_argument_exception")


def test_flatten_settings_joins_nested_keys_with_dots():
    from raft.apply import flatten_settings
    assert flatten_settings({"cluster": {"routing": {"a": 1}}, "b.c": None}) == {
        "cluster.routing.a": 1, "b.c": None}


def test_alias_name_errors_read_as_opensearch_writes_them(cluster):
    state = with_index(cluster, "a")
    outcome = rejected(state, c.UpdateAliases(actions=({"add": {"index": "a", "alias": "a"}},)),
                       "invalid_alias_name_exception")
    assert outcome.reason == "Invalid alias name [a], an index exists with the same name as the alias"
    outcome = rejected(state, c.UpdateAliases(actions=({"add": {"index": "a", "alias": "x#y"}},)),
                       "invalid_alias_name_exception")
    assert outcome.reason == "Invalid alias name [x#y]: must not contain '#'"
    rejected(state, c.UpdateAliases(actions=({"add": {"index": "a", "alias": ""}},)),
             "illegal_argument_exception")
    outcome = rejected(state, c.UpdateAliases(actions=(
        {"add": {"index": "a", "alias": "r", "index_routing": "1,2"}},)), "illegal_argument_exception")
    assert outcome.reason == "alias [r] has several index routing values associated with it"


def test_aliases_may_be_uppercase_unlike_index_names(cluster):
    state = accepted(with_index(cluster, "a"), c.UpdateAliases(actions=(
        {"add": {"index": "a", "alias": "Current"}},)))
    assert state.resolve_alias("Current") == ["a"]


def test_dropping_replicas_while_the_primary_is_down_keeps_the_in_sync_ids(cluster):
    # The primary failed and its in-sync replica awaits promotion; shrinking replicas to 0 must
    # not empty the in-sync set, or the shard would look new and get an empty primary.
    state = started_replica(started_primary(with_index(cluster)))
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="p"))
    assert state.shard("logs", 0).in_sync_allocation_ids == ("r",)
    state = accepted(state, c.SetNumberOfReplicas(index_names=("logs",), number_of_replicas=0))
    shard = state.shard("logs", 0)
    assert len(shard.copies) == 1
    assert shard.in_sync_allocation_ids == ("r",)
    rejected(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n3",
                                   allocation_id="fresh", primary=True),
             "illegal_argument_exception")


def test_remove_from_in_sync_needs_an_active_primary(cluster):
    state = started_replica(started_primary(with_index(cluster)))
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="p"))
    rejected(state, c.RemoveFromInSync(index_name="logs", shard_number=0, allocation_ids=("r",),
                                       primary_term=1), "illegal_state_exception")


def test_a_failing_primary_takes_its_recovering_replicas_with_it(cluster):
    state = started_primary(with_index(cluster, replicas=2))
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2",
                                           allocation_id="recovering", primary=False))
    state = started_replica(state, node_id="n3", allocation_id="r")
    state = accepted(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="p"))
    shard = state.shard("logs", 0)
    assert shard.copy_with_allocation_id("recovering") is None
    assert shard.copy_with_allocation_id("r").state == "STARTED"
    assert [copy.unassigned_reason for copy in shard.copies if not copy.assigned] == [
        "ALLOCATION_FAILED", "PRIMARY_FAILED"]


def test_a_recovering_replica_failed_with_its_primary_can_not_start_later(cluster):
    state = started_replica(started_primary(with_index(cluster, replicas=2)))
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n3",
                                           allocation_id="late", primary=False))
    state = accepted(state, c.Batch(commands=(
        c.FailCopy(index_name="logs", shard_number=0, allocation_id="p"),
        c.PromoteReplica(index_name="logs", shard_number=0, allocation_id="r"),
    )))
    # "late" was failed with the old primary; a start report for it is refused.
    rejected(state, c.StartCopy(index_name="logs", shard_number=0, allocation_id="late"),
             "shard_not_found_exception")


def test_a_deeply_nested_batch_is_refused_by_the_decoder(cluster):
    depth = 500  # 1000 JSON levels: more than orjson serializes (254), less than it parses (1024)
    data = (b'{"v":1,"type":"batch","commands":[' * depth
            + b'{"v":1,"type":"delete_index","index_name":"x"}' + b"]}" * depth)
    new_state, outcome = apply(cluster, data)
    assert new_state is cluster
    assert outcome.error_type == "illegal_argument_exception"
    assert "must not contain a batch" in outcome.reason


def test_a_deposed_primary_can_not_fail_the_new_primarys_copies(cluster):
    # p (term 1) was replaced by r (term 2); p still believes it leads and tries to evict r,
    # which refused its write. Fenced by the term it wrote under, the eviction is rejected, so
    # p can never acknowledge a write that only it holds.
    state = started_replica(started_primary(with_index(cluster)))
    state = accepted(state, c.Batch(commands=(
        c.FailCopy(index_name="logs", shard_number=0, allocation_id="p", reason="NODE_LEFT"),
        c.PromoteReplica(index_name="logs", shard_number=0, allocation_id="r"),
    )))
    outcome = rejected(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="r",
                                         primary_term=1), "stale_primary_term_exception")
    assert "current term is [2]" in outcome.reason
    after = accepted(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="r",
                                       primary_term=2))
    assert after.shard("logs", 0).primary() is None
