"""UdfMetadata carries an optional ``kind`` through commands, the state's JSON and snapshots."""

import pytest

from raft import commands as c
from raft.apply import apply
from raft.commands import decode_command, encode_command
from raft.errors import StateDecodeError
from raft.state import ClusterState, UdfMetadata, initial_cluster_state


def test_put_udf_with_kind_round_trips_through_the_command_encoding():
    command = c.PutUdf(udf=UdfMetadata(name="f", wasm_base64="AA==", sha256="00", kind=("filter", "score")))
    decoded = decode_command(encode_command(command))
    assert decoded.udf.kind == ("filter", "score")
    assert decoded == command


def test_a_state_holding_a_udf_with_kind_survives_its_json_round_trip():
    state, outcome = apply(initial_cluster_state("test"),
                           c.PutUdf(udf=UdfMetadata(name="f", wasm_base64="AA==", sha256="00", kind=("score",))))
    assert outcome.accepted
    restored = ClusterState.from_bytes(state.to_bytes())
    assert restored.udfs["f"].kind == ("score",)


def test_udf_metadata_written_before_kind_existed_reads_with_no_kind_and_encodes_unchanged():
    old_json = {"name": "f", "wasm_base64": "AA==", "sha256": "00", "description": "", "inputs": [],
                "abi_version": 1}
    metadata = UdfMetadata.from_json(old_json)
    assert metadata.kind == ()
    assert metadata.to_json() == old_json


def test_a_kind_that_is_not_a_list_of_strings_is_a_decode_error():
    with pytest.raises(StateDecodeError, match="kind"):
        UdfMetadata.from_json({"name": "f", "wasm_base64": "AA==", "sha256": "00", "kind": [1]})
