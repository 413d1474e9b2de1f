"""apply() must never raise, whatever bytes arrive (DESIGN §8: an exception in the replicated
method re-runs the entry forever and wedges the cluster). Hypothesis throws well-typed, badly
typed and nonsense commands at a populated state."""

import dataclasses

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from raft import commands as c
from raft.apply import apply
from raft.state import ClusterState, NodeInfo, initial_cluster_state

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 5) | st.sampled_from(
        ["logs", "n1", "p", "r", "", "UPPER", "index", "number_of_shards", "1", "0", "-1", "x" * 300]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["index", "alias", "add", "remove", "remove_index",
                                       "number_of_shards", "number_of_replicas", "filter",
                                       "routing", "is_write_index", "indices", "aliases",
                                       "analysis", "must_exist"]), children, max_size=3),
    max_leaves=8,
)

FIELD_NAMES = sorted({field.name for command_class in c.COMMAND_TYPES.values()
                      for field in dataclasses.fields(command_class)})


def typed_value(annotation):
    """Mostly values of the declared type (so commands reach the handlers), sometimes anything."""
    base = annotation.removesuffix(" | None")
    well_typed = {
        "str": st.sampled_from(["logs", "n1", "n2", "p", "r", "al", "", "UPPER", "_x", "new"]),
        "int": st.integers(-2, 4),
        "bool": st.booleans(),
        "dict": st.dictionaries(st.sampled_from(["index", "number_of_replicas", "number_of_shards",
                                                 "al", "routing", "filter", "a.b"]),
                                json_values, max_size=3),
    }.get(base)
    if base == "NodeInfo":
        well_typed = st.fixed_dictionaries({
            "node_id": st.sampled_from(["n1", "n3", ""]), "name": st.just("x"),
            "http_address": st.just("h"), "transport_address": st.just("t"),
            "roles": st.lists(st.sampled_from(["data", "ingest"]), max_size=2)})
    if base == "UdfMetadata":
        well_typed = st.fixed_dictionaries({
            "name": st.sampled_from(["f", ""]), "wasm_base64": st.just("AA=="),
            "sha256": st.just("00"), "inputs": st.lists(json_values, max_size=2)})
    if base == "tuple[Command, ...]":
        return st.just([])
    if base.startswith("tuple["):
        well_typed = st.lists(st.sampled_from(["logs", "p", "r", "nope"]), max_size=3)
    if well_typed is None:
        return json_values
    if annotation.endswith("| None"):  # fencing fields: usually absent, as most callers send
        return st.one_of(st.none(), st.none(), st.none(), well_typed)
    return st.integers(0, 29).flatmap(lambda n: json_values if n == 0 else well_typed)


@st.composite
def command_bodies(draw):
    command_type = draw(st.sampled_from(sorted(c.COMMAND_TYPES) + ["nonsense"]))
    body = {"v": 2 if draw(st.integers(0, 29)) == 0 else 1, "type": command_type}
    command_class = c.COMMAND_TYPES.get(command_type)
    if command_class is not None:
        for field in dataclasses.fields(command_class):
            if draw(st.integers(0, 29)) > 0:
                body[field.name] = draw(typed_value(str(field.type)))
    if draw(st.integers(0, 9)) == 0:
        body[draw(st.sampled_from(FIELD_NAMES + ["unknown"]))] = draw(json_values)
    return body


def populated_state():
    state = initial_cluster_state("fuzz")
    commands = [
        c.RegisterNode(node=NodeInfo(node_id="n1", name="n1", http_address="h", transport_address="t")),
        c.RegisterNode(node=NodeInfo(node_id="n2", name="n2", http_address="h", transport_address="t")),
        c.CreateIndex(index_name="logs", index_uuid="u", creation_date=0,
                      settings={"number_of_shards": 2}, aliases={"al": {}}),
        c.AllocateCopy(index_name="logs", shard_number=0, node_id="n1", allocation_id="p", primary=True),
        c.StartCopy(index_name="logs", shard_number=0, allocation_id="p"),
        c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2", allocation_id="r", primary=False),
    ]
    for command in commands:
        state, outcome = apply(state, command)
        assert outcome.accepted
    return state


POPULATED = populated_state()


@settings(max_examples=150, deadline=None)
@given(st.lists(command_bodies(), min_size=1, max_size=4))
def test_apply_never_raises_and_keeps_the_state_serializable(bodies):
    state = POPULATED
    for body in bodies:
        new_state, outcome = apply(state, orjson.dumps(body))
        if outcome.accepted and not outcome.duplicate:
            assert new_state.version == state.version + 1
        else:
            assert new_state is state
        assert outcome.error_type != "state_machine_exception", outcome.reason
        state = new_state
    assert ClusterState.from_bytes(state.to_bytes()) == state


@given(st.binary(max_size=64))
def test_apply_refuses_arbitrary_bytes_without_raising(data):
    new_state, outcome = apply(POPULATED, data)
    assert new_state is POPULATED or outcome.accepted
