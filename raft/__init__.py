"""raft/: the cluster state as a pure state machine, plus the one pysyncobj adapter.

Owns ``ClusterState`` (raft.state), the JSON command union (raft.commands), the pure
``apply`` (raft.apply), shard allocation decisions (raft.allocation), OpenSearch document
routing (raft.routing) and ``ClusterStateMachine`` (raft.adapter, the only importer of
pysyncobj). It must never import index/, udf/, node/, trio or anything async.

The adapter is not imported here, so ``import raft`` (and the pure modules) never loads
pysyncobj; import ``raft.adapter`` where a node is actually built. The exported names are
loaded lazily (``import raft.routing`` loads only the routing module).
"""

import importlib
from typing import Any

# name → defining module. Resolved on first use (PEP 562), so a process that needs one small
# module — the shard workers import only raft.routing — does not pay for the command union,
# apply and allocation at start-up (~0.2 s of a restarted worker's boot under load).
_EXPORTS = {
    "ReportedCopy": "raft.allocation", "allocation_batch": "raft.allocation",
    "allocation_decisions": "raft.allocation",
    "CommandOutcome": "raft.apply", "apply": "raft.apply",
    "COMMAND_TYPES": "raft.commands", "Command": "raft.commands", "decode_command": "raft.commands",
    "encode_command": "raft.commands",
    "AdapterClosedError": "raft.errors", "CommandDecodeError": "raft.errors",
    "RaftBindError": "raft.errors", "RaftConfigurationError": "raft.errors", "RaftError": "raft.errors",
    "StateDecodeError": "raft.errors",
    "default_routing_num_shards": "raft.routing", "shard_for_document": "raft.routing",
    "shard_for_routing": "raft.routing",
    "AliasMetadata": "raft.state", "ClusterState": "raft.state", "IndexMetadata": "raft.state",
    "NodeInfo": "raft.state", "ShardCopy": "raft.state", "ShardRouting": "raft.state",
    "UdfMetadata": "raft.state", "initial_cluster_state": "raft.state",
}


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'raft' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "AdapterClosedError", "AliasMetadata", "COMMAND_TYPES", "ClusterState", "Command",
    "CommandDecodeError", "CommandOutcome", "IndexMetadata", "NodeInfo", "RaftBindError",
    "RaftConfigurationError", "RaftError", "ReportedCopy", "ShardCopy", "ShardRouting",
    "StateDecodeError", "UdfMetadata", "allocation_batch", "allocation_decisions", "apply",
    "decode_command", "default_routing_num_shards", "encode_command", "initial_cluster_state",
    "shard_for_document", "shard_for_routing",
]
