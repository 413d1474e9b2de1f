"""The cluster-state history a Raft log implies: replays logged commands through ``raft.apply``.

Owns ``replay_log`` (snapshot state + logged command bytes → one ``HistoryStep`` per command, with
the state after it) and ``describe_shard`` (one line per shard copy layout). Used by
``quidditch cluster-state-history`` to show how a shard's primary term, in-sync set and copies
changed on a stopped node — the question every replication anomaly jepsen-lite finds starts with.
Pure: it never reads files (raft.adapter.read_stopped_log does) and never touches a live node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

from raft.apply import apply
from raft.commands import decode_command
from raft.errors import CommandDecodeError
from raft.state import ClusterState, initial_cluster_state


@dataclass(frozen=True)
class HistoryStep:
    raft_index: int
    raft_term: int
    command_type: str          # "undecodable" when the bytes are not a command
    accepted: bool
    reason: str | None         # why a command was rejected (or could not be decoded)
    state: ClusterState        # the state after this command


def replay_log(snapshot_state: ClusterState | None, entries: Iterable[tuple[bytes, int, int]]
               ) -> Iterator[HistoryStep]:
    """Apply ``entries`` ((command bytes, raft index, raft term), in log order) to the snapshot's
    state, or to the empty state when there is no snapshot, yielding each step. The log may hold
    entries that were never committed (a follower's tail a later leader overwrote): the history is
    what THIS node's log says, not necessarily what the cluster committed."""
    state = snapshot_state if snapshot_state is not None else initial_cluster_state("replay")
    for command_bytes, raft_index, raft_term in entries:
        try:
            command = decode_command(command_bytes)
        except CommandDecodeError as error:
            yield HistoryStep(raft_index, raft_term, "undecodable", False, str(error), state)
            continue
        state, outcome = apply(state, command)
        yield HistoryStep(raft_index, raft_term, command.command_type, outcome.accepted,
                          None if outcome.accepted else outcome.reason, state)


def describe_shard(state: ClusterState, index_name: str, shard_number: int) -> str:
    """``term=3 in_sync=[a7ce, 3ff3] copies=[a7ce@n0 STARTED primary, 3ff3@n2 INITIALIZING, unassigned]``
    with node names where the state knows them; "absent" when the index or shard is not there."""
    shards = state.routing_table.get(index_name)
    if shards is None or shard_number >= len(shards):
        return "absent"
    shard = shards[shard_number]

    def node_name(node_id: str | None) -> str:
        node = state.nodes.get(node_id) if node_id else None
        return node.name if node is not None else (node_id or "?")

    copies = []
    for shard_copy in shard.copies:
        if shard_copy.node_id is None:
            copies.append("unassigned")
            continue
        copies.append(f"{shard_copy.allocation_id[:8]}@{node_name(shard_copy.node_id)} {shard_copy.state}"
                      + (" primary" if shard_copy.primary else ""))
    in_sync = ", ".join(sorted(allocation_id[:8] for allocation_id in shard.in_sync_allocation_ids))
    return f"term={shard.primary_term} in_sync=[{in_sync}] copies=[{', '.join(copies)}]"
