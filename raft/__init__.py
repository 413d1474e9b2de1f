"""raft/: the cluster state as a pure state machine, plus the one pysyncobj adapter.

Owns ``ClusterState`` (raft.state), the JSON command union (raft.commands), the pure
``apply`` (raft.apply), shard allocation decisions (raft.allocation), OpenSearch document
routing (raft.routing) and ``ClusterStateMachine`` (raft.adapter, the only importer of
pysyncobj). It must never import index/, udf/, node/, trio or anything async.

The adapter is not imported here, so ``import raft`` (and the pure modules) never loads
pysyncobj; import ``raft.adapter`` where a node is actually built.
"""

from raft.allocation import ReportedCopy, allocation_batch, allocation_decisions
from raft.apply import CommandOutcome, apply
from raft.commands import COMMAND_TYPES, Command, decode_command, encode_command
from raft.errors import (
    AdapterClosedError, CommandDecodeError, RaftBindError, RaftConfigurationError, RaftError,
    StateDecodeError,
)
from raft.routing import default_routing_num_shards, shard_for_document, shard_for_routing
from raft.state import (
    AliasMetadata, ClusterState, IndexMetadata, NodeInfo, ShardCopy, ShardRouting, UdfMetadata,
    initial_cluster_state,
)

__all__ = [
    "AdapterClosedError", "AliasMetadata", "COMMAND_TYPES", "ClusterState", "Command",
    "CommandDecodeError", "CommandOutcome", "IndexMetadata", "NodeInfo", "RaftBindError",
    "RaftConfigurationError", "RaftError", "ReportedCopy", "ShardCopy", "ShardRouting",
    "StateDecodeError", "UdfMetadata", "allocation_batch", "allocation_decisions", "apply",
    "decode_command", "default_routing_num_shards", "encode_command", "initial_cluster_state",
    "shard_for_document", "shard_for_routing",
]
