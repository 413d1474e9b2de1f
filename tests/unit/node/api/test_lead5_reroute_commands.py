"""node.api.reroute without a network: parsing OpenSearch's reroute commands and turning them into
raft commands checked against a state."""

import pytest

from node.api.reroute import RerouteRefusal, parse_reroute_commands, resolve_node_id, to_raft_command
from node.errors import RequestParsingError
from raft import commands as c
from raft.apply import apply
from raft.state import NodeInfo, initial_cluster_state


def accepted(state, command):
    new_state, outcome = apply(state, command)
    assert outcome.accepted, outcome
    return new_state


@pytest.fixture
def state():
    current = initial_cluster_state("test")
    for node_id, name in (("id-1", "alpha"), ("id-2", "beta"), ("id-3", "gamma")):
        current = accepted(current, c.RegisterNode(node=NodeInfo(node_id=node_id, name=name, http_address="h:1",
                                                                 transport_address="h:2")))
    current = accepted(current, c.CreateIndex(index_name="logs", index_uuid="u", creation_date=1,
                                              settings={"index": {"number_of_shards": 1, "number_of_replicas": 1}}))
    current = accepted(current, c.AllocateCopy(index_name="logs", shard_number=0, node_id="id-1",
                                               allocation_id="p", primary=True))
    return accepted(current, c.StartCopy(index_name="logs", shard_number=0, allocation_id="p"))


def ids():
    return iter(f"new-{n}" for n in range(100)).__next__


def only(body):
    [command] = parse_reroute_commands(body)
    return command


def test_the_five_commands_parse_with_opensearch_defaults():
    parsed = parse_reroute_commands({"commands": [
        {"move": {"index": "logs", "shard": 0, "from_node": "a", "to_node": "b"}},
        {"cancel": {"index": "logs", "shard": "0", "node": "a"}},
        {"allocate_replica": {"index": "logs", "shard": 0, "node": "a"}},
        {"allocate_stale_primary": {"index": "logs", "shard": 0, "node": "a", "accept_data_loss": True}},
        {"allocate_empty_primary": {"index": "logs", "shard": 0, "node": "a"}}]})
    assert [command.name for command in parsed] == ["move", "cancel", "allocate_replica", "allocate_stale_primary",
                                                     "allocate_empty_primary"]
    assert parsed[1].parameters == {"index": "logs", "shard": 0, "node": "a", "allow_primary": False}
    assert parsed[4].parameters["accept_data_loss"] is False


@pytest.mark.parametrize("body, message", [
    ({"commands": [{"teleport": {}}]}, "unknown allocation command [teleport]"),
    ({"commands": [{"move": {"index": "logs", "shard": 0, "from_node": "a"}}]}, "missing the to_node parameter"),
    ({"commands": [{"cancel": {"index": "logs", "shard": 0, "node": "a", "speed": 1}}]}, "does not support field [speed]"),
    ({"commands": [{"cancel": {"index": "logs", "shard": 0, "node": "a", "allow_primary": "yes"}}]}, "must be a boolean"),
    ({"nonsense": 1}, "unknown field [nonsense]"),
])
def test_malformed_commands_are_parse_errors_naming_what_is_wrong(body, message):
    with pytest.raises(RequestParsingError) as raised:
        parse_reroute_commands(body)
    assert message in str(raised.value)


def test_nodes_are_named_by_id_or_by_name(state):
    assert resolve_node_id(state, "id-2") == "id-2"
    assert resolve_node_id(state, "beta") == "id-2"
    with pytest.raises(RerouteRefusal, match="failed to resolve \\[delta\\]"):
        resolve_node_id(state, "delta")


def test_allocate_replica_and_move_become_allocation_and_relocation(state):
    allocate = to_raft_command(state, only({"commands": [{"allocate_replica": {"index": "logs", "shard": 0,
                                                                                "node": "beta"}}]}),
                               ids(), lambda *_: frozenset())
    assert isinstance(allocate, c.AllocateCopy) and (allocate.node_id, allocate.primary) == ("id-2", False)
    move = to_raft_command(state, only({"commands": [{"move": {"index": "logs", "shard": 0, "from_node": "alpha",
                                                               "to_node": "gamma"}}]}), ids(), lambda *_: frozenset())
    assert isinstance(move, c.RelocateCopy) and (move.allocation_id, move.target_node_id) == ("p", "id-3")


def test_a_primary_is_cancelled_only_with_allow_primary(state):
    body = {"index": "logs", "shard": 0, "node": "alpha"}
    with pytest.raises(RerouteRefusal, match="shard is primary"):
        to_raft_command(state, only({"commands": [{"cancel": body}]}), ids(), lambda *_: frozenset())
    cancel = to_raft_command(state, only({"commands": [{"cancel": {**body, "allow_primary": True}}]}), ids(),
                             lambda *_: frozenset())
    assert isinstance(cancel, c.FailCopy) and cancel.reason == "REROUTE_CANCELLED"


def test_forcing_a_primary_needs_a_lost_primary_accept_data_loss_and_for_stale_data_on_the_node(state):
    lost = accepted(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="p", reason="NODE_LEFT"))
    stale = {"index": "logs", "shard": 0, "node": "beta"}
    with pytest.raises(RerouteRefusal, match="already assigned"):
        to_raft_command(state, only({"commands": [{"allocate_empty_primary": {**stale, "accept_data_loss": True}}]}),
                        ids(), lambda *_: frozenset())
    with pytest.raises(RerouteRefusal, match="accept_data_loss parameter to true"):
        to_raft_command(lost, only({"commands": [{"allocate_stale_primary": stale}]}), ids(), lambda *_: frozenset())
    with pytest.raises(RerouteRefusal, match="no data for shard"):
        to_raft_command(lost, only({"commands": [{"allocate_stale_primary": {**stale, "accept_data_loss": True}}]}),
                        ids(), lambda *_: frozenset({"id-3"}))
    forced = to_raft_command(lost, only({"commands": [{"allocate_stale_primary": {**stale, "accept_data_loss": True}}]}),
                             ids(), lambda *_: frozenset({"id-2"}))
    assert (forced.primary, forced.accept_data_loss, forced.empty_store) == (True, True, False)
    empty = to_raft_command(lost, only({"commands": [{"allocate_empty_primary": {**stale, "accept_data_loss": True}}]}),
                            ids(), lambda *_: frozenset())
    assert empty.empty_store is True
    assert accepted(lost, empty).shard("logs", 0).data_loss_term == 2
