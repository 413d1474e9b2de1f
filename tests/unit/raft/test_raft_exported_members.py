"""Pins raft/'s public surface: a change here is a contract change (docs/contracts.md §7)."""

import subprocess
import sys

import raft
import raft.adapter


def test_the_package_exports_exactly_the_documented_names():
    assert sorted(raft.__all__) == sorted([
        "AdapterClosedError", "AliasMetadata", "COMMAND_TYPES", "ClusterState", "Command",
        "CommandDecodeError", "CommandOutcome", "IndexMetadata", "NodeInfo", "RaftBindError",
        "RaftConfigurationError", "RaftError", "ReportedCopy", "ShardCopy", "ShardRouting",
        "StateDecodeError", "UdfMetadata", "allocation_batch", "allocation_decisions", "apply",
        "decode_command", "default_routing_num_shards", "encode_command",
        "initial_cluster_state", "shard_for_document", "shard_for_routing",
    ])
    for name in raft.__all__:
        assert hasattr(raft, name), name


def test_the_adapter_exposes_the_contract_surface():
    machine_class = raft.adapter.ClusterStateMachine
    for name in ("submit", "submit_and_wait", "on_state_applied", "on_status_changed", "status",
                 "close", "state", "apply_command_bytes"):
        assert hasattr(machine_class, name), name
    assert {"status", "outcome", "reason"} == set(raft.adapter.SubmitResult.__slots__)


def test_importing_the_pure_modules_never_loads_pysyncobj():
    code = ("import sys, raft, raft.apply, raft.allocation, raft.routing; "
            "sys.exit(1 if 'pysyncobj' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
