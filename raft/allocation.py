"""Shard allocation: pure decisions the master turns into one fenced Batch command.

Owns which copy goes where: failing copies on nodes that are gone, promoting an in-sync replica
when a primary is lost (the promotion bumps the primary term), bringing a lost in-sync copy back
as primary when its node reports it, placing new primaries and replicas on the least-loaded
eligible node (never two copies of one shard on a node, honouring the allocation filters,
``total_shards_per_node`` and ``routing.allocation.enable`` of raft.deciders), and throttling
recoveries per node.
It must never invent an empty primary for a shard that has held data (DESIGN §10: that shard
stays red until an operator says otherwise), never read clocks or randomness (allocation ids come
from the caller's ``new_allocation_id``), and never change a state: it only returns commands,
each already checked by applying it to a scratch copy with ``raft.apply.apply``.

A node that reports holding data of a copy once STARTED there (after a restart: its copy was
failed while it was away) gets that shard's replica back rather than a node recovering one from
nothing: an unassigned replica goes to it first, a replacement replica still recovering from
nothing elsewhere is cancelled in its favour (``REALLOCATED_REPLICA``, as OpenSearch's replica
allocator does), and rebalancing moves those shards to it first (ADR 0270). A node whose report
has not arrived yet (``nodes_awaiting_report``: it has just registered) takes no moves until it has.

Relocation moves up to ``cluster_concurrent_rebalance`` started copies at a time — off an excluded node (draining) or from the
fullest data node to one with at least two fewer copies (rebalancing): ``RelocateCopy`` adds the
new copy, ``CompleteRelocation`` drops the old one once every other copy is started and in sync.
A started copy on a node its filters now exclude moves off it like a drained node's. A primary
that comes back from a node's disk (it holds acknowledged writes) is not held back by filters.
Not done (on purpose, listed): moving copies off a node over ``total_shards_per_node`` or off an
awareness value holding too many of a shard's copies.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Collection, Iterable, Mapping

from raft import commands as c
from raft.apply import apply
from raft.deciders import (
    WATERMARK_HIGH,
    WATERMARK_LOW,
    DiskUsage,
    allocation_enable_rejection,
    awareness_rejection,
    cluster_filter_rejection,
    disk_rejection,
    filter_rejection,
    has_shards_limit,
    nodes_above_watermark,
    rebalance_enable_rejection,
    shards_limit_rejection,
    watermark_setting,
)
from raft.state import INDEX_STATE_OPEN, INITIALIZING, RELOCATING, STARTED, ClusterState, ShardRouting

DATA_ROLE = "data"
CONCURRENT_RECOVERIES_SETTING = "cluster.routing.allocation.node_concurrent_recoveries"
INITIAL_PRIMARIES_RECOVERIES_SETTING = "cluster.routing.allocation.node_initial_primaries_recoveries"
CONCURRENT_REBALANCE_SETTING = "cluster.routing.allocation.cluster_concurrent_rebalance"
DEFAULT_CONCURRENT_RECOVERIES = 2          # OpenSearch's defaults
DEFAULT_INITIAL_PRIMARIES_RECOVERIES = 4
DEFAULT_CONCURRENT_REBALANCE = 2
MAX_RETRIES_SETTING = "index.allocation.max_retries"
DEFAULT_MAX_RETRIES = 5


@dataclass(frozen=True, slots=True)
class ReportedCopy:
    """A node says it holds data of a shard under this allocation id (after a restart)."""

    index_name: str
    shard_number: int
    allocation_id: str
    # the node's directory of this shard holds data of a copy that was STARTED there (not only a
    # recovery cut short): a replica given back to it replays only what it missed
    holds_started_data: bool = False


REALLOCATED_REPLICA_REASON = "REALLOCATED_REPLICA"  # OpenSearch's UnassignedInfo reason


def allocation_decisions(
    state: ClusterState,
    live_node_ids: Collection[str],
    new_allocation_id: Callable[[], str],
    reported_copies: Mapping[str, Iterable[ReportedCopy]] | None = None,
    nodes_awaiting_report: Collection[str] = (),
    disk_usage: Mapping[str, DiskUsage] | None = None,
) -> list[c.Command]:
    """The commands that move the routing table toward every copy assigned, in a fixed order.
    ``nodes_awaiting_report``: live nodes whose held copies are not known yet; they take no
    moves (a move chosen without their report could give them a shard they hold nothing of).
    ``disk_usage``: what each node reported of its data directory's disk; a node above the high
    watermark takes nothing and its copies move off, one above the low watermark takes no replica."""
    live = frozenset(node_id for node_id in live_node_ids if node_id in state.nodes)
    reported = {node_id: list(copies) for node_id, copies in (reported_copies or {}).items()
                if node_id in live}
    decisions: list[c.Command] = []
    working = state
    load: _NodeLoad | None = None  # built after the failures; then kept up to date per decision

    def decide(command: c.Command) -> bool:
        nonlocal working
        new_state, outcome = apply(working, command)
        if not outcome.accepted:
            return False  # a decision apply would refuse is not a decision
        if load is not None:
            load.record(working, command)
        working = new_state
        decisions.append(command)
        return True

    for index_name in sorted(working.indices):
        for shard in working.routing_table.get(index_name, ()):
            lost = [copy for copy in shard.copies if copy.assigned and copy.node_id not in live]
            # When no started in-sync copy survives, every lost in-sync copy keeps its id: any of
            # them holds every acknowledged write and may come back as primary (DESIGN §10).
            survivors = [copy for copy in shard.copies
                         if copy.assigned and copy.node_id in live and copy.state in (STARTED, RELOCATING)
                         and copy.allocation_id in shard.in_sync_allocation_ids]
            for shard_copy in lost:
                decide(c.FailCopy(index_name=index_name, shard_number=shard.shard_number,
                                  allocation_id=shard_copy.allocation_id, reason="NODE_LEFT",
                                  preserve_in_sync=not survivors))

    load = _NodeLoad.from_state(working)
    high_disk = nodes_above_watermark(working, disk_usage, WATERMARK_HIGH)
    low_disk = nodes_above_watermark(working, disk_usage, WATERMARK_LOW)
    for index_name in sorted(working.indices):
        if working.indices[index_name].state != INDEX_STATE_OPEN:
            continue
        excluded = _excluded_node_ids(working, index_name) | high_disk
        for shard_number in range(len(working.routing_table.get(index_name, ()))):
            shard = working.shard(index_name, shard_number)
            if shard.primary() is None:
                _restore_primary(working, shard, live, reported, new_allocation_id, decide,
                                 load, excluded, max_retries(working, index_name))

    for index_name in sorted(working.indices):
        if working.indices[index_name].state != INDEX_STATE_OPEN:
            continue
        if allocation_enable_rejection(working, index_name, primary=False, new_primary=False) is not None:
            continue
        excluded = _excluded_node_ids(working, index_name) | low_disk
        for shard_number in range(len(working.routing_table.get(index_name, ()))):
            shard = working.shard(index_name, shard_number)
            primary_copy = shard.primary()
            if primary_copy is None or primary_copy.state not in (STARTED, RELOCATING):
                continue
            retries = max_retries(working, index_name)
            # a slot whose allocations failed max_retries times in a row waits for
            # ``_cluster/reroute?retry_failed`` (AllocateCopy fills the slot with the fewest failures)
            placeable = sum(1 for shard_copy in shard.replicas()
                            if not shard_copy.assigned and shard_copy.failed_allocations < retries)
            for _ in range(placeable):
                shard = working.shard(index_name, shard_number)
                node_id = _node_holding_started_data(working, shard, live, reported, load, excluded)
                if node_id is None:
                    node_id = _best_node(working, shard, live, False, load, excluded)
                if node_id is None:
                    break
                decide(c.AllocateCopy(index_name=index_name, shard_number=shard_number,
                                      node_id=node_id, allocation_id=new_allocation_id(),
                                      primary=False))

    for index_name in sorted(working.indices):
        if working.indices[index_name].state != INDEX_STATE_OPEN:
            continue
        if allocation_enable_rejection(working, index_name, primary=False, new_primary=False) is not None:
            continue
        excluded = _excluded_node_ids(working, index_name) | low_disk
        for shard_number in range(len(working.routing_table.get(index_name, ()))):
            _reallocate_to_started_data(working, working.shard(index_name, shard_number), live,
                                        reported, load, excluded, new_allocation_id, decide)
    if not decisions:
        # moves only in a calm round: nothing failed, promoted or allocated above
        _relocation_decisions(working, live - frozenset(nodes_awaiting_report), new_allocation_id, decide,
                              reported, high_disk, low_disk)
    return decisions


def _started_data_holders(state: ClusterState, shard: ShardRouting, live: frozenset[str],
                          reported: Mapping[str, list[ReportedCopy]]) -> set[str]:
    """Live nodes that report data of a once-started copy of ``shard`` and hold no copy of it now."""
    occupied = shard.assigned_node_ids()
    return {node_id for node_id, copies in reported.items()
            if node_id in live and node_id not in occupied
            for reported_copy in copies
            if reported_copy.holds_started_data and reported_copy.index_name == shard.index_name
            and reported_copy.shard_number == shard.shard_number}


def _node_holding_started_data(state: ClusterState, shard: ShardRouting, live: frozenset[str],
                               reported: Mapping[str, list[ReportedCopy]], load: _NodeLoad,
                               excluded: frozenset[str]) -> str | None:
    """The first (by id) eligible node that can take ``shard``'s replica from its own data."""
    replica_limit = _setting_int(state, CONCURRENT_RECOVERIES_SETTING, DEFAULT_CONCURRENT_RECOVERIES)
    for node_id in sorted(_started_data_holders(state, shard, live, reported)):
        if DATA_ROLE not in state.nodes[node_id].roles or node_id in excluded:
            continue
        if load.recovering_replicas[node_id] >= replica_limit:
            continue
        if _over_shards_limit(state, shard.index_name, node_id, load.copies[node_id]):
            continue
        if awareness_rejection(state, shard, node_id) is not None:
            continue
        return node_id
    return None


def _without(shard: ShardRouting, leaving) -> ShardRouting:
    """``shard`` as it will be once ``leaving`` has moved away (awareness judges the move's target)."""
    return dataclasses.replace(shard, copies=tuple(
        dataclasses.replace(shard_copy, node_id=None) if shard_copy is leaving else shard_copy
        for shard_copy in shard.copies))


def _copies_of_index_on_node(state: ClusterState, index_name: str, node_id: str) -> int:
    return sum(1 for shard in state.routing_table.get(index_name, ()) for shard_copy in shard.copies
               if shard_copy.node_id == node_id and shard_copy.assigned)


def remain_rejections(state: ClusterState, shard: ShardRouting, shard_copy: Any,
                      disk_usage: Mapping[str, DiskUsage] | None = None) -> list[tuple[str, str]]:
    """Why an assigned copy may not stay on its node, as (decider, explanation): the rules the
    allocator moves copies off by — the filters, the high disk watermark, ``total_shards_per_node``
    and awareness (OpenSearch's ``canRemain``). Empty: it may stay."""
    node_id = shard_copy.node_id
    rejections = []
    rejection = filter_rejection(state, shard.index_name, node_id)
    if rejection is not None:
        rejections.append(("filter", rejection))
    if node_id in nodes_above_watermark(state, disk_usage, WATERMARK_HIGH):
        text, percent, _ = watermark_setting(state, WATERMARK_HIGH)
        required = f"{100.0 - percent:.1f}%" if percent is not None else text
        rejections.append(("disk_threshold", (
            f"the shard cannot remain on this node because it is above the high watermark cluster setting "
            f"[{WATERMARK_HIGH}={text}] and there is less than the required [{required}] free disk on node, "
            f"actual free: [{disk_usage[node_id].free_percent:.1f}%]")))
    if has_shards_limit(state, shard.index_name):
        copies_on_node = sum(1 for other in state.routing_table.values() for other_shard in other
                             for other_copy in other_shard.copies if other_copy.node_id == node_id)
        rejection = shards_limit_rejection(state, shard.index_name, node_id,
                                           _copies_of_index_on_node(state, shard.index_name, node_id),
                                           copies_on_node, remaining=True)
        if rejection is not None:
            rejections.append(("shards_limit", rejection))
    rejection = awareness_rejection(state, shard, node_id)
    if rejection is not None:
        rejections.append(("awareness", rejection))
    return rejections


def _over_shards_limit(state: ClusterState, index_name: str, node_id: str, copies_on_node: int) -> bool:
    if not has_shards_limit(state, index_name):
        return False   # the usual case: no count of the index's copies per node (a scan per candidate)
    return shards_limit_rejection(state, index_name, node_id, _copies_of_index_on_node(state, index_name, node_id),
                                  copies_on_node) is not None


def _reallocate_to_started_data(state: ClusterState, shard: ShardRouting, live: frozenset[str],
                                reported: Mapping[str, list[ReportedCopy]], load: _NodeLoad,
                                excluded: frozenset[str], new_allocation_id: Callable[[], str],
                                decide: Callable[[c.Command], bool]) -> None:
    """Cancel a replica recovering from nothing when a node holding the shard's started data is
    back: FailCopy of the recovering replica (never in sync: nothing acknowledged is lost, the
    shard keeps every copy it had in sync) and AllocateCopy on the returning node, which replays
    only what it missed instead of waiting for the whole shard to be copied elsewhere. Never a
    relocation's target (a move finishes or fails on its own), never a replica whose own node
    holds started data of the shard."""
    primary_copy = shard.primary()
    if primary_copy is None or primary_copy.state not in (STARTED, RELOCATING):
        return
    if any(shard_copy.state == RELOCATING for shard_copy in shard.copies):
        return
    holds_started = {node_id for node_id, copies in reported.items() for reported_copy in copies
                     if reported_copy.holds_started_data and reported_copy.index_name == shard.index_name
                     and reported_copy.shard_number == shard.shard_number}
    for replica in shard.replicas():
        if replica.state != INITIALIZING or replica.node_id in holds_started:
            continue
        target = _node_holding_started_data(state, shard, live, reported, load, excluded)
        if target is None:
            return
        if not decide(c.FailCopy(index_name=shard.index_name, shard_number=shard.shard_number,
                                 allocation_id=replica.allocation_id, reason=REALLOCATED_REPLICA_REASON)):
            continue
        load.forget_recovering_replica(replica.node_id)
        decide(c.AllocateCopy(index_name=shard.index_name, shard_number=shard.shard_number,
                              node_id=target, allocation_id=new_allocation_id(), primary=False))
        return  # one replacement per shard and round: the state changed under ``shard``


def _relocation_decisions(state: ClusterState, live: frozenset[str],
                          new_allocation_id: Callable[[], str], decide: Callable[[c.Command], bool],
                          reported: Mapping[str, list[ReportedCopy]] | None = None,
                          high_disk: frozenset[str] = frozenset(), low_disk: frozenset[str] = frozenset()) -> None:
    """Moves, at most ``cluster_concurrent_rebalance`` (default 2, OpenSearch's) in flight in the
    whole cluster: finish every move whose target started; then start moves off excluded nodes
    (draining), else from the data node with the most copies to one with at least two fewer
    (rebalancing, e.g. onto a node that just joined or came back after a restart). A move adds the
    new copy first and drops the old one only when every other copy is started and in sync, so a
    shard never has fewer in-sync copies than before; only a shard whose copies are all started
    and in sync is moved, one move per shard, and a target takes at most
    ``node_concurrent_recoveries`` recovering copies. Several moves start in one round so a
    returning node gets all its copies back at once instead of one full recovery after another.
    A target must pass the index's filters, ``total_shards_per_node`` and
    ``routing.allocation.enable`` and be below the low disk watermark; a rebalancing move also
    ``routing.rebalance.enable``. Copies on a node above the high watermark move off it, and so do
    copies a settings change left in breach of ``total_shards_per_node`` or awareness (one move at a
    time per node and index: a node two copies over the limit gives one per move it starts)."""
    excluded_by_index = {index_name: _excluded_node_ids(state, index_name) | high_disk for index_name in state.indices}
    shards = [shard for index_name in sorted(state.indices)
              if state.indices[index_name].state == INDEX_STATE_OPEN
              for shard in state.routing_table.get(index_name, ())]
    in_flight = 0
    for shard in shards:
        source = next((copy for copy in shard.copies if copy.state == RELOCATING), None)
        if source is None:
            continue
        others = [copy for copy in shard.copies if copy is not source]
        if all(copy.state == STARTED and copy.allocation_id in shard.in_sync_allocation_ids for copy in others):
            promote = None
            if source.primary:
                # the newest copy off the excluded nodes takes over (the move's target when it is the only one)
                excluded = excluded_by_index[shard.index_name]
                candidates = [copy for copy in others if not copy.primary and copy.node_id not in excluded]
                promote = (candidates or [copy for copy in others if not copy.primary])[-1].allocation_id
            decide(c.CompleteRelocation(index_name=shard.index_name, shard_number=shard.shard_number,
                                        allocation_id=source.allocation_id, promote_allocation_id=promote))
        else:
            in_flight += 1
    rebalance_limit = _setting_int(state, CONCURRENT_REBALANCE_SETTING, DEFAULT_CONCURRENT_REBALANCE)
    if rebalance_limit < 0:
        rebalance_limit = len(shards)  # -1: unlimited, as in OpenSearch (one move per shard at most)
    move_budget = rebalance_limit - in_flight
    if move_budget <= 0:
        return
    # an unassigned copy (nowhere to place it now): redundancy is not restored, no moves. A copy
    # still recovering elsewhere does not stop the moves of OTHER shards (only its own shard is
    # not movable), so a node back from a restart starts getting copies while the survivors still
    # re-replicate; the targets' recovery limit bounds the extra load.
    if any(not copy.assigned for shard in shards for copy in shard.copies):
        return
    cluster_excluded = _excluded_node_ids(state) | high_disk
    data_nodes = sorted(node_id for node_id in live
                        if DATA_ROLE in state.nodes[node_id].roles and node_id not in cluster_excluded)
    if not data_nodes:
        return
    # a copy moving away no longer counts for its node: it is leaving (else a second move in the
    # same round would take another copy from the node that is already giving one)
    counts = Counter({node_id: 0 for node_id in data_nodes})
    recovering = Counter()
    for shard in shards:
        for shard_copy in shard.copies:
            if shard_copy.node_id in counts and shard_copy.state != RELOCATING:
                counts[shard_copy.node_id] += 1
            if shard_copy.state == INITIALIZING:
                recovering[shard_copy.node_id] += 1
    recovery_limit = _setting_int(state, CONCURRENT_RECOVERIES_SETTING, DEFAULT_CONCURRENT_RECOVERIES)
    moved_shards: set[tuple[str, int]] = set()
    # copies of an index this round's moves already took off a node (the state still counts them)
    index_copies_leaving: Counter = Counter()
    every_copy_on_node = Counter(shard_copy.node_id for index_shards in state.routing_table.values()
                                 for index_shard in index_shards for shard_copy in index_shard.copies
                                 if shard_copy.node_id is not None and shard_copy.state != RELOCATING)

    def must_leave(shard: ShardRouting, shard_copy) -> bool:
        node_id = shard_copy.node_id
        if node_id in excluded_by_index[shard.index_name]:
            return True
        if node_id not in state.nodes:
            return False
        if has_shards_limit(state, shard.index_name):
            index_copies = (_copies_of_index_on_node(state, shard.index_name, node_id)
                            - index_copies_leaving[(shard.index_name, node_id)])
            if shards_limit_rejection(state, shard.index_name, node_id, index_copies,
                                      every_copy_on_node[node_id], remaining=True) is not None:
                return True
        return awareness_rejection(state, shard, node_id) is not None

    def movable(shard: ShardRouting) -> bool:
        return ((shard.index_name, shard.shard_number) not in moved_shards
                and all(copy.state == STARTED and copy.allocation_id in shard.in_sync_allocation_ids
                        for copy in shard.copies))

    def can_receive(shard: ShardRouting, shard_copy, target_node_id: str) -> bool:
        return (target_node_id not in excluded_by_index[shard.index_name] and target_node_id not in low_disk
                and allocation_enable_rejection(state, shard.index_name, shard_copy.primary, False) is None
                and not _over_shards_limit(state, shard.index_name, target_node_id, counts[target_node_id])
                and awareness_rejection(state, _without(shard, shard_copy), target_node_id) is None)

    def move(shard: ShardRouting, shard_copy, target_node_id: str) -> bool:
        if not can_receive(shard, shard_copy, target_node_id):
            return False
        if not decide(c.RelocateCopy(index_name=shard.index_name, shard_number=shard.shard_number,
                                     allocation_id=shard_copy.allocation_id, target_node_id=target_node_id,
                                     target_allocation_id=new_allocation_id())):
            return False
        moved_shards.add((shard.index_name, shard.shard_number))
        recovering[target_node_id] += 1
        counts[target_node_id] += 1
        if shard_copy.node_id in counts:
            counts[shard_copy.node_id] -= 1
        index_copies_leaving[(shard.index_name, shard_copy.node_id)] += 1
        every_copy_on_node[shard_copy.node_id] -= 1
        every_copy_on_node[target_node_id] += 1
        return True

    for shard in shards:
        if move_budget <= 0:
            return
        if not movable(shard):
            continue
        for shard_copy in shard.copies:
            if must_leave(shard, shard_copy):
                targets = sorted((counts[node_id], node_id) for node_id in data_nodes
                                 if node_id not in shard.assigned_node_ids()
                                 and recovering[node_id] < recovery_limit
                                 and can_receive(shard, shard_copy, node_id))
                if targets and move(shard, shard_copy, targets[0][1]):
                    move_budget -= 1
                    break
    # per node, the shards it holds started data of: a move there replays only what it missed
    started_data = {node_id: {(reported_copy.index_name, reported_copy.shard_number)
                              for reported_copy in copies if reported_copy.holds_started_data}
                    for node_id, copies in (reported or {}).items()}
    def rebalancing_move(shard: ShardRouting, shard_copy, target_node_id: str) -> bool:
        if rebalance_enable_rejection(state, shard.index_name, shard_copy.primary) is not None:
            return False
        return move(shard, shard_copy, target_node_id)

    while move_budget > 0 and _rebalance_one(shards, data_nodes, counts, recovering, recovery_limit,
                                             movable, rebalancing_move, started_data):
        move_budget -= 1


def _rebalance_one(shards: list[ShardRouting], data_nodes: list[str], counts: Counter,
                   recovering: Counter, recovery_limit: int, movable: Callable[[ShardRouting], bool],
                   move: Callable[..., bool],
                   started_data: Mapping[str, set[tuple[str, int]]] | None = None) -> bool:
    """One move from the fullest data node to the emptiest one that can still take a recovery,
    when they differ by two or more copies. Shards the receiver holds started data of move first
    (it replays only what it missed: a node back from a restart gets its own shards back); then
    replicas before primaries: moving a primary hands over with a new term (writes in flight fail)."""
    fullest = max(data_nodes, key=lambda node_id: (counts[node_id], node_id))
    receivers = [node_id for node_id in data_nodes if recovering[node_id] < recovery_limit]
    if not receivers:
        return False
    emptiest = min(receivers, key=lambda node_id: (counts[node_id], node_id))
    if counts[fullest] - counts[emptiest] < 2:
        return False
    held_by_receiver = (started_data or {}).get(emptiest, set())
    for want_held, want_primary in ((True, False), (True, True), (False, False), (False, True)):
        for shard in shards:
            if ((shard.index_name, shard.shard_number) in held_by_receiver) != want_held:
                continue
            if emptiest in shard.assigned_node_ids() or not movable(shard):
                continue
            for shard_copy in shard.copies:
                if shard_copy.node_id == fullest and shard_copy.primary == want_primary:
                    if move(shard, shard_copy, emptiest):
                        return True
    return False


def allocation_batch(state: ClusterState, raft_term: int, live_node_ids: Collection[str],
                     new_allocation_id: Callable[[], str],
                     reported_copies: Mapping[str, Iterable[ReportedCopy]] | None = None,
                     nodes_awaiting_report: Collection[str] = (),
                     disk_usage: Mapping[str, DiskUsage] | None = None,
                     ) -> c.Batch | None:
    """The decisions as one command fenced by the master's term and the state version they were
    computed from, or None when there is nothing to do."""
    decisions = allocation_decisions(state, live_node_ids, new_allocation_id, reported_copies,
                                     nodes_awaiting_report, disk_usage)
    if not decisions:
        return None
    return c.Batch(commands=tuple(decisions), expected_term=raft_term,
                   expected_state_version=state.version)


def _restore_primary(state: ClusterState, shard: ShardRouting, live: frozenset[str],
                     reported: Mapping[str, list[ReportedCopy]], new_allocation_id,
                     decide: Callable[[c.Command], bool], load: _NodeLoad,
                     excluded: frozenset[str], retries: int) -> None:
    index_name, shard_number = shard.index_name, shard.shard_number
    # 1. An in-sync started replica on a live node: promote it (term + 1), nothing is lost.
    candidates = sorted(
        (copy.node_id, copy.allocation_id) for copy in shard.replicas()
        if copy.state in (STARTED, RELOCATING) and copy.node_id in live
        and copy.allocation_id in shard.in_sync_allocation_ids)
    for _node_id, allocation_id in candidates:
        if decide(c.PromoteReplica(index_name=index_name, shard_number=shard_number,
                                   allocation_id=allocation_id)):
            return
    # A primary slot whose allocations failed max_retries times in a row stays unassigned until
    # ``_cluster/reroute?retry_failed`` (promoting a started replica above is not an allocation).
    if any(copy.primary and not copy.assigned and copy.failed_allocations >= retries
           for copy in shard.copies):
        return
    # 2. A live node reports holding an in-sync copy: bring exactly that copy back as primary
    # (wherever it is: the filters do not hold back the only copy of acknowledged writes).
    if shard.in_sync_allocation_ids:
        if allocation_enable_rejection(state, index_name, primary=True, new_primary=False) is not None:
            return
        holders = sorted(
            (node_id, reported_copy.allocation_id)
            for node_id, copies in reported.items() for reported_copy in copies
            if reported_copy.index_name == index_name
            and reported_copy.shard_number == shard_number
            and reported_copy.allocation_id in shard.in_sync_allocation_ids
            and node_id not in shard.assigned_node_ids())
        for node_id, allocation_id in holders:
            if decide(c.AllocateCopy(index_name=index_name, shard_number=shard_number,
                                     node_id=node_id, allocation_id=allocation_id, primary=True)):
                return
        return  # red: no empty primary for a shard that has held data (DESIGN §10)
    # A primary an operator forced (accepting data loss) that failed before it started: the
    # operator chose that copy, so the shard waits for the next reroute instead of an empty one.
    if shard.data_loss_term:
        return
    # 3. A shard that never started (a new index): an empty primary is correct.
    if allocation_enable_rejection(state, index_name, primary=True, new_primary=True) is not None:
        return
    node_id = _best_node(state, shard, live, True, load, excluded)
    if node_id is not None:
        decide(c.AllocateCopy(index_name=index_name, shard_number=shard_number, node_id=node_id,
                              allocation_id=new_allocation_id(), primary=True))


def _excluded_node_ids(state: ClusterState, index_name: str | None = None) -> frozenset[str]:
    """Nodes the allocation filters keep ``index_name``'s copies off (every index's: the cluster
    filters alone, when None)."""
    if index_name is None:
        return frozenset(node_id for node_id in state.nodes if cluster_filter_rejection(state, node_id) is not None)
    return frozenset(node_id for node_id in state.nodes if filter_rejection(state, index_name, node_id) is not None)


def max_retries(state: ClusterState, index_name: str) -> int:
    """``index.allocation.max_retries`` (OpenSearch's default 5): failed allocations in a row
    after which a copy is no longer placed automatically."""
    raw = state.indices[index_name].settings.get(MAX_RETRIES_SETTING, DEFAULT_MAX_RETRIES)
    try:
        return max(0, int(str(raw)))
    except ValueError:
        return DEFAULT_MAX_RETRIES


def _setting_int(state: ClusterState, key: str, default: int) -> int:
    try:
        return int(str(state.setting(key, default)))
    except ValueError:
        return default


class _NodeLoad:
    """Copies, primaries and recoveries per node: counted once per allocation round, then
    updated per decision (a full scan per decision made a 1000-shard round take seconds)."""

    __slots__ = ("copies", "primaries", "recovering_primaries", "recovering_replicas")

    def __init__(self) -> None:
        self.copies: Counter[str] = Counter()
        self.primaries: Counter[str] = Counter()
        self.recovering_primaries: Counter[str] = Counter()
        self.recovering_replicas: Counter[str] = Counter()

    @classmethod
    def from_state(cls, state: ClusterState) -> _NodeLoad:
        load = cls()
        for shards in state.routing_table.values():
            for shard in shards:
                for shard_copy in shard.copies:
                    if shard_copy.assigned and shard_copy.node_id is not None:
                        load._add(shard_copy.node_id, shard_copy.primary,
                                  shard_copy.state == INITIALIZING)
        return load

    def forget_recovering_replica(self, node_id: str | None) -> None:
        """A recovering replica on ``node_id`` was cancelled (failed) by a decision of this round."""
        if node_id is not None and self.recovering_replicas[node_id] > 0:
            self.recovering_replicas[node_id] -= 1
            self.copies[node_id] -= 1

    def _add(self, node_id: str, primary: bool, initializing: bool) -> None:
        self.copies[node_id] += 1
        if primary:
            self.primaries[node_id] += 1
        if initializing:
            if primary:
                self.recovering_primaries[node_id] += 1
            else:
                self.recovering_replicas[node_id] += 1

    def record(self, state_before: ClusterState, command: c.Command) -> None:
        """Account for one accepted allocation-phase decision (allocate or promote)."""
        if isinstance(command, c.AllocateCopy):
            self._add(command.node_id, command.primary, True)
        elif isinstance(command, c.PromoteReplica):
            promoted = state_before.shard(command.index_name, command.shard_number) \
                .copy_with_allocation_id(command.allocation_id)
            if promoted is not None and promoted.node_id is not None:
                self.primaries[promoted.node_id] += 1


def _best_node(state: ClusterState, shard: ShardRouting, live: frozenset[str],
               for_primary: bool, load: _NodeLoad, excluded: frozenset[str]) -> str | None:
    """The eligible node with the fewest copies, then fewest primaries, then a rotation by
    shard number (deterministic, and spreads ties)."""
    occupied = shard.assigned_node_ids()
    replica_limit = _setting_int(state, CONCURRENT_RECOVERIES_SETTING, DEFAULT_CONCURRENT_RECOVERIES)
    primary_limit = _setting_int(state, INITIAL_PRIMARIES_RECOVERIES_SETTING,
                                 DEFAULT_INITIAL_PRIMARIES_RECOVERIES)
    eligible = []
    ordered_live = sorted(live)
    for position, node_id in enumerate(ordered_live):
        node = state.nodes[node_id]
        if DATA_ROLE not in node.roles or node_id in excluded or node_id in occupied:
            continue
        if for_primary and load.recovering_primaries[node_id] >= primary_limit:
            continue
        if not for_primary and load.recovering_replicas[node_id] >= replica_limit:
            continue
        if _over_shards_limit(state, shard.index_name, node_id, load.copies[node_id]):
            continue
        if awareness_rejection(state, shard, node_id) is not None:
            continue
        # Ties rotate with the shard number, so equal nodes take turns instead of the
        # alphabetically first node collecting every tie.
        rotation = (position - shard.shard_number) % len(ordered_live)
        eligible.append((load.copies[node_id], load.primaries[node_id], rotation, node_id))
    if not eligible:
        return None
    return min(eligible)[3]


@dataclass(frozen=True, slots=True)
class NodeDecision:
    """Why one node can or cannot take a copy: OpenSearch's allocation deciders, by name."""

    node_id: str
    decision: str                           # "yes", "no" or "throttled"
    deciders: tuple[tuple[str, str, str], ...]  # (decider, "YES"|"NO"|"THROTTLE", explanation)


def explain_unassigned_copy(state: ClusterState, index_name: str, shard_number: int, primary: bool,
                            live_node_ids: Collection[str], disk_usage: Mapping[str, DiskUsage] | None = None,
                            ) -> tuple[str, str, list[NodeDecision]]:
    """``_cluster/allocation/explain`` for an unassigned copy, from the rules the allocator itself
    applies: (can_allocate, allocate_explanation, one decision per registered node)."""
    shard = state.shard(index_name, shard_number)
    slot = next((copy for copy in shard.copies if copy.primary == primary and not copy.assigned), None)
    retries = max_retries(state, index_name)
    load = _NodeLoad.from_state(state)
    replica_limit = _setting_int(state, CONCURRENT_RECOVERIES_SETTING, DEFAULT_CONCURRENT_RECOVERIES)
    primary_limit = _setting_int(state, INITIAL_PRIMARIES_RECOVERIES_SETTING, DEFAULT_INITIAL_PRIMARIES_RECOVERIES)
    primary_copy = shard.primary()
    decisions = []
    for node_id in sorted(state.nodes):
        node = state.nodes[node_id]
        deciders: list[tuple[str, str, str]] = []
        if node_id not in live_node_ids:
            deciders.append(("node_liveness", "NO", "the node is not responding"))
        if DATA_ROLE not in node.roles:
            deciders.append(("data_node", "NO", "the node does not hold the data role"))
        rejection = filter_rejection(state, index_name, node_id)
        if rejection is not None:
            deciders.append(("filter", "NO", rejection))
        rejection = shards_limit_rejection(state, index_name, node_id,
                                           _copies_of_index_on_node(state, index_name, node_id), load.copies[node_id])
        if rejection is not None:
            deciders.append(("shards_limit", "NO", rejection))
        rejection = allocation_enable_rejection(state, index_name, primary, not shard.in_sync_allocation_ids)
        if rejection is not None:
            deciders.append(("enable", "NO", rejection))
        rejection = disk_rejection(state, node_id, disk_usage, primary, not shard.in_sync_allocation_ids)
        if rejection is not None:
            deciders.append(("disk_threshold", "NO", rejection))
        rejection = awareness_rejection(state, shard, node_id)
        if rejection is not None:
            deciders.append(("awareness", "NO", rejection))
        if node_id in shard.assigned_node_ids():
            deciders.append(("same_shard", "NO", "a copy of this shard is already allocated to this node"))
        if slot is not None and slot.failed_allocations >= retries:
            deciders.append(("max_retry", "NO", f"shard has exceeded the maximum number of retries [{retries}] on "
                                                f"failed allocation attempts - manually call "
                                                f"[/_cluster/reroute?retry_failed=true] to retry"))
        if not primary and (primary_copy is None or primary_copy.state not in (STARTED, RELOCATING)):
            deciders.append(("replica_after_primary_active", "NO", "primary shard for this replica is not yet active"))
        if not any(decision == "NO" for _, decision, _ in deciders):
            if primary and load.recovering_primaries[node_id] >= primary_limit:
                deciders.append(("throttling", "THROTTLE", f"reached the limit of ongoing initial primary recoveries "
                                                           f"[{load.recovering_primaries[node_id]}], "
                                                           f"[{INITIAL_PRIMARIES_RECOVERIES_SETTING}={primary_limit}]"))
            if not primary and load.recovering_replicas[node_id] >= replica_limit:
                deciders.append(("throttling", "THROTTLE", f"reached the limit of incoming shard recoveries "
                                                           f"[{load.recovering_replicas[node_id]}], "
                                                           f"[{CONCURRENT_RECOVERIES_SETTING}={replica_limit}]"))
        verdicts = {decision for _, decision, _ in deciders}
        decisions.append(NodeDecision(node_id, "no" if "NO" in verdicts else "throttled" if "THROTTLE" in verdicts
                                      else "yes", tuple(deciders)))
    if primary and shard.in_sync_allocation_ids:
        return ("no_valid_shard_copy", "cannot allocate because a previous copy of the primary shard existed but can "
                "no longer be found on the nodes in the cluster; only an explicit _cluster/reroute with "
                "accept_data_loss can allocate a stale or empty primary", decisions)
    if any(decision.decision == "yes" for decision in decisions):
        return "yes", "can allocate the shard", decisions
    if any(decision.decision == "throttled" for decision in decisions):
        return ("throttled", "allocation temporarily throttled", decisions)
    return "no", "cannot allocate because allocation is not permitted to any of the nodes", decisions


AUTO_EXPAND_REPLICAS_SETTING = "index.auto_expand_replicas"


def _auto_expand_bounds(value: object) -> tuple[int, int | None] | None:
    """(min, max) of an ``index.auto_expand_replicas`` value (``"0-1"``, ``"0-all"``: max None),
    None when it is ``false``, unset or unreadable (node/api validates it before it is stored)."""
    text = str(value).strip().lower() if value is not None else "false"
    low, dash, high = text.partition("-")
    if not dash or not low.isdigit() or not (high == "all" or high.isdigit()):
        return None
    return int(low), None if high == "all" else int(high)


def auto_expanded_replicas(state: ClusterState) -> list[c.UpdateIndexSettings]:
    """OpenSearch's ``index.auto_expand_replicas``: for each open index with ``min-max`` set, the
    number of replicas that makes one copy per registered data node its filters allow, within
    [min, max] (``all``: no upper bound), when that differs from its ``number_of_replicas``. The
    master commits these before it allocates (a node's arrival grows the replicas; a node that
    left, once deregistered, shrinks them — so a one-node cluster's ``0-1`` index is green)."""
    updates = []
    for index_name in sorted(state.indices):
        index = state.indices[index_name]
        bounds = _auto_expand_bounds(index.settings.get(AUTO_EXPAND_REPLICAS_SETTING))
        if bounds is None or index.state != INDEX_STATE_OPEN:
            continue
        low, high = bounds
        excluded = _excluded_node_ids(state, index_name)
        data_nodes = sum(1 for node_id, node in state.nodes.items()
                         if DATA_ROLE in node.roles and node_id not in excluded)
        wanted = max(low, data_nodes - 1)
        if high is not None:
            wanted = min(wanted, high) if high >= low else low
        if wanted != index.number_of_replicas:
            updates.append(c.UpdateIndexSettings(index_names=(index_name,),
                                                 settings={"index.number_of_replicas": str(wanted)}))
    return updates
