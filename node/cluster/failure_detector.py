"""The master's failure detector: direct transport pings, never Raft log entries (DESIGN §4).

While this node leads, it pings every other registered node's transport address once per
``interval``; a node that misses ``failures_before_dead`` pings in a row is reported dead to
the allocation loop (which fails its copies and promotes in-sync replicas through a fenced
Batch). One answered ping makes it live again. A node that is not the leader reports everyone
live: only the master's view matters, and a new master starts by trusting the state it inherits.

Fast path for a crashed process (ADR 0231). A ping that failed fast (not a timeout) is followed
at once by up to
``refused_probes`` plain TCP connects to the node's transport port, ``refused_probe_spacing``
apart; if every one is actively refused (RST: nothing listens on that port any more, the
process is gone while its host is up), the node is dead now instead of after three missed
one-second pings. Load never produces a refusal — a busy or paused process still has its
listening socket, so the kernel completes the handshake and the ping times out instead, which
stays on the slow path — so this cuts failover time without making false suspicions likelier.
And the run loop wakes early when the persistent "ping" connection to a node closes (its process
died and the kernel closed the socket), so the failed ping comes within ~0.1 s of a crash rather
than up to ``interval`` later.

Every node answers ``cluster.ping`` (registered by ``register_ping_handler``) and
``cluster.allocation_inputs`` (``register_allocation_inputs_handler``): what this node, while it
leads, holds dead and the disk each node last reported — so ``_cluster/allocation/explain`` on any
node judges with the master's figures (``master_allocation_inputs``), as OpenSearch runs it on the
cluster manager.
This module must never change the cluster state itself.
"""

from __future__ import annotations

import errno
import logging
import weakref
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import trio

from node.cluster.disk_usage import disk_usage_from_wire, disk_usage_to_wire
from node.cluster.held_copies import reported_copies_from_wire
from node.cluster.metadata import ClusterMetadata
from node.transport.errors import RequestTimeoutError

PING_METHOD = "cluster.ping"
ALLOCATION_INPUTS_METHOD = "cluster.allocation_inputs"
ALLOCATION_INPUTS_TIMEOUT_SECONDS = 5.0
DEFAULT_INTERVAL_SECONDS = 1.0
# a silent node (not a crashed one: see the fast path above) is gone after 3 × 5 s; 2 s let a
# node starved of CPU on a loaded 2-core machine be declared dead while it was working
DEFAULT_PING_TIMEOUT_SECONDS = 5.0
DEFAULT_FAILURES_BEFORE_DEAD = 3
DEFAULT_REFUSED_PROBES = 3
DEFAULT_REFUSED_PROBE_SPACING_SECONDS = 0.1
REFUSED_PROBE_TIMEOUT_SECONDS = 0.5
# how often the run loop looks for a closed ping connection between two ping rounds
CLOSED_CONNECTION_CHECK_SECONDS = 0.1

ConnectProbe = Callable[[str], Awaitable[bool]]


async def connection_refused(transport_address: str) -> bool:
    """True only when a TCP connect to ``transport_address`` is actively refused (ECONNREFUSED).
    A timeout, an unreachable network or a successful connect are all False: not proof of death."""
    host, _, port_text = transport_address.rpartition(":")
    host = host.strip("[]")
    if not host or not port_text.isdigit():
        return False
    family = trio.socket.AF_INET6 if ":" in host else trio.socket.AF_INET
    with trio.move_on_after(REFUSED_PROBE_TIMEOUT_SECONDS):
        with trio.socket.socket(family, trio.socket.SOCK_STREAM) as probe:
            try:
                await probe.connect((host, int(port_text)))
            except OSError as error:
                return error.errno == errno.ECONNREFUSED
            return False
    return False


def register_ping_handler(handlers: Any, node_id: str, metadata: ClusterMetadata,
                          held_copies: Any = None, disk_usage: Callable[[], Any] | None = None) -> None:
    """Answer the master's pings with our id, applied version, the copies we hold on disk and
    the data directory's disk usage (``disk_usage()``, for the master's watermarks)."""
    async def answer_ping(payload: dict, body: bytes) -> tuple[dict, bytes]:
        answer = {"node_id": node_id, "state_version": metadata.version}
        if held_copies is not None:
            answer["held_copies"] = held_copies.to_wire(metadata.state)
        if disk_usage is not None:
            answer["disk"] = disk_usage_to_wire(disk_usage())
        return answer, b""

    handlers.register(PING_METHOD, answer_ping)


@dataclass(frozen=True, slots=True)
class AllocationInputs:
    """What the master's allocation decides with, beyond the cluster state."""
    dead_node_ids: frozenset[str]
    disk_usage: dict[str, Any] | None   # node id → DiskUsage; None when no master answered


def register_allocation_inputs_handler(handlers: Any, detector: "FailureDetector") -> None:
    """Answer ``cluster.allocation_inputs``: a node that does not lead has no figures of its own
    (it pings nobody) and says so with ``master: false``."""
    async def answer_allocation_inputs(payload: dict, body: bytes) -> tuple[dict, bytes]:
        if detector.metadata.status().role != "leader":
            return {"master": False}, b""
        usage = detector.disk_usage(detector.metadata.state)
        return {"master": True, "dead_node_ids": sorted(detector.dead_node_ids),
                "disk": {node_id: disk_usage_to_wire(disk) for node_id, disk in usage.items()}}, b""

    handlers.register(ALLOCATION_INPUTS_METHOD, answer_allocation_inputs)


async def master_allocation_inputs(handlers: Any, peers: Any, master_transport_address: str | None,
                                   is_self: bool) -> AllocationInputs:
    """The master's dead nodes and disk figures (``is_self``: this node is the master, asked
    without the network). With no master, or one that does not answer in time, every registered
    node counts as live and no disk figure is known: the explanation then leaves the liveness and
    disk deciders out rather than fail."""
    unknown = AllocationInputs(frozenset(), None)
    try:
        if is_self:
            reply, _ = await handlers.dispatch(ALLOCATION_INPUTS_METHOD, {}, b"")
        elif master_transport_address is not None:
            reply, _ = await peers.request(master_transport_address, ALLOCATION_INPUTS_METHOD, {}, b"",
                                           ALLOCATION_INPUTS_TIMEOUT_SECONDS)
        else:
            return unknown
    except Exception:  # noqa: BLE001 — read-only diagnostics: an unreachable master means "unknown"
        return unknown
    if not isinstance(reply, dict) or not reply.get("master"):
        return unknown
    disk = {node_id: usage for node_id, usage in
            ((node_id, disk_usage_from_wire(wire)) for node_id, wire in (reply.get("disk") or {}).items())
            if usage is not None}
    return AllocationInputs(frozenset(str(node_id) for node_id in reply.get("dead_node_ids") or ()), disk)


class FailureDetector:
    def __init__(self, metadata: ClusterMetadata, peers: Any, self_node_id: str,
                 logger: logging.Logger, held_copies: Any = None,
                 interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
                 ping_timeout_seconds: float = DEFAULT_PING_TIMEOUT_SECONDS,
                 failures_before_dead: int = DEFAULT_FAILURES_BEFORE_DEAD,
                 refused_probes: int = DEFAULT_REFUSED_PROBES,
                 refused_probe_spacing_seconds: float = DEFAULT_REFUSED_PROBE_SPACING_SECONDS,
                 connect_probe: ConnectProbe = connection_refused,
                 local_disk_usage: Callable[[], Any] | None = None) -> None:
        self.metadata = metadata
        self.peers = peers
        self.self_node_id = self_node_id
        self.logger = logger
        self.interval_seconds = interval_seconds
        self.ping_timeout_seconds = ping_timeout_seconds
        self.failures_before_dead = failures_before_dead
        self.refused_probes = refused_probes
        self.refused_probe_spacing_seconds = refused_probe_spacing_seconds
        self.connect_probe = connect_probe
        # ping connections already seen closed (weak: a replaced client is forgotten with it)
        self.closed_ping_clients_seen: weakref.WeakSet = weakref.WeakSet()
        self.consecutive_failures: dict[str, int] = {}
        self.dead_node_ids: set[str] = set()
        self.held_copies = held_copies              # this node's own record
        self.reported_by_node: dict[str, list] = {}  # node id → ReportedCopy list from its pings
        self.disk_by_node: dict[str, Any] = {}       # node id → DiskUsage from its last ping answer
        self.local_disk_usage = local_disk_usage      # this node's own (it does not ping itself)
        self.liveness_listeners: list[Callable[[], None]] = []
        # set when an applied state adds a node or changes its transport address (a node that
        # (re)registered after a restart): the next round starts at once, so the master learns the
        # copies it holds on disk (and that it is alive) without waiting up to ``interval``
        self.membership_changed = False
        self.known_transport_addresses: dict[str, str] = {}

    def on_liveness_changed(self, listener: Callable[[], None]) -> None:
        """``listener()`` whenever a node is declared dead or answers again."""
        self.liveness_listeners.append(listener)

    def notify(self) -> None:
        for listener in list(self.liveness_listeners):
            listener()

    def live_node_ids(self, state: Any) -> tuple[str, ...]:
        return tuple(node_id for node_id in state.nodes if node_id not in self.dead_node_ids)

    def nodes_awaiting_report(self, state: Any) -> tuple[str, ...]:
        """Live registered nodes (not this one) that have not answered a ping since they (re)
        registered: the copies they hold are unknown yet, so no move is decided toward them."""
        return tuple(node_id for node_id in state.nodes
                     if node_id != self.self_node_id and node_id not in self.dead_node_ids
                     and node_id not in self.reported_by_node)

    def reported_copies(self, state: Any) -> dict[str, list]:
        """What each live node last said it holds on disk (for restoring lost primaries)."""
        reported = {node_id: copies for node_id, copies in self.reported_by_node.items()
                    if node_id not in self.dead_node_ids}
        if self.held_copies is not None:
            reported[self.self_node_id] = self.held_copies.reported_copies(state)
        return reported

    def disk_usage(self, state: Any) -> dict[str, Any]:
        """The disk each live registered node last reported (this node's own read now)."""
        usage = {node_id: disk for node_id, disk in self.disk_by_node.items()
                 if node_id in state.nodes and node_id not in self.dead_node_ids}
        if self.local_disk_usage is not None:
            own = self.local_disk_usage()
            if own is not None:
                usage[self.self_node_id] = own
        return usage

    def on_state_applied(self, previous: Any, state: Any) -> None:
        """A quick, synchronous callback: remember whether the registered nodes changed."""
        addresses = {node_id: info.transport_address for node_id, info in state.nodes.items()}
        for node_id, address in addresses.items():
            if node_id != self.self_node_id and self.known_transport_addresses.get(node_id) != address:
                self.membership_changed = True
                # a restarted process: what it held before may differ now; until its first ping
                # answer it is "awaiting report" and the allocation takes no moves toward it
                self.reported_by_node.pop(node_id, None)
        self.known_transport_addresses = addresses

    async def run(self) -> None:
        subscribe = getattr(self.metadata, "on_state_applied", None)
        if subscribe is not None:
            self.known_transport_addresses = {node_id: info.transport_address
                                              for node_id, info in self.metadata.state.nodes.items()}
            subscribe(self.on_state_applied)
        while True:
            self.membership_changed = False
            status = self.metadata.status()
            if status.role == "leader":
                await self.ping_everyone()
            elif self.consecutive_failures or self.dead_node_ids:
                self.consecutive_failures.clear()
                self.dead_node_ids.clear()
            await self.sleep_until_next_round()

    async def sleep_until_next_round(self) -> None:
        """``interval`` seconds, or less when a ping connection to a live node has just closed,
        this node has just become the leader (the old master may be the node that died: a new
        master pings at once instead of up to ``interval`` after its election), or a node has just
        (re)registered."""
        deadline = trio.current_time() + self.interval_seconds
        was_leader = self.metadata.status().role == "leader"
        while True:
            remaining = deadline - trio.current_time()
            if remaining <= 0:
                return
            await trio.sleep(min(remaining, CLOSED_CONNECTION_CHECK_SECONDS))
            if self.metadata.status().role != "leader":
                was_leader = False
                continue
            if not was_leader or self.membership_changed or self.a_ping_connection_closed():
                return

    def a_ping_connection_closed(self) -> bool:
        """A persistent ping connection to a node not yet dead has closed since we last looked.
        Reads PeerConnections' public ``clients`` table (no I/O); absent on fakes → never."""
        clients = getattr(self.peers, "clients", None)
        if not clients:
            return False
        newly_closed = False
        for node_id, info in self.metadata.state.nodes.items():
            if node_id == self.self_node_id or node_id in self.dead_node_ids:
                continue
            client = clients.get((info.transport_address, "ping"))
            if client is None or getattr(client, "closed_reason", None) is None:
                continue
            if client not in self.closed_ping_clients_seen:
                self.closed_ping_clients_seen.add(client)
                newly_closed = True
        return newly_closed

    async def ping_everyone(self) -> None:
        nodes = {node_id: info for node_id, info in self.metadata.state.nodes.items()
                 if node_id != self.self_node_id}
        for gone in set(self.consecutive_failures) - set(nodes):
            self.consecutive_failures.pop(gone, None)
            self.dead_node_ids.discard(gone)
            self.reported_by_node.pop(gone, None)
            self.disk_by_node.pop(gone, None)
        async with trio.open_nursery() as nursery:
            for node_id, info in nodes.items():
                nursery.start_soon(self.ping_one, node_id, info.transport_address)

    async def ping_one(self, node_id: str, transport_address: str) -> None:
        answered = False
        reports_changed = False
        failed_fast = False  # the ping failed before its timeout (refused, reset), not a silence
        with trio.move_on_after(self.ping_timeout_seconds):
            try:
                payload, _ = await self.peers.request(transport_address, PING_METHOD, {},
                                                      timeout_seconds=self.ping_timeout_seconds,
                                                      channel="ping")
                answered = payload.get("node_id") == node_id
                if answered:
                    reported = reported_copies_from_wire(payload.get("held_copies"))
                    # a node's first non-empty report (or a changed one) may let a red shard's
                    # primary come back: wake the allocation loop now rather than at its next tick
                    # (the first answer counts as a change even when it reports nothing: until
                    # then the node was awaiting its report and took no moves)
                    reports_changed = self.reported_by_node.get(node_id) != reported
                    self.reported_by_node[node_id] = reported
                    disk = disk_usage_from_wire(payload.get("disk"))
                    if disk is None:
                        self.disk_by_node.pop(node_id, None)
                    else:
                        self.disk_by_node[node_id] = disk
            except RequestTimeoutError:
                answered = False
            except Exception:  # noqa: BLE001 — any failure to answer is a missed ping
                answered, failed_fast = False, True
        if answered:
            self.consecutive_failures[node_id] = 0
            if node_id in self.dead_node_ids:
                self.dead_node_ids.discard(node_id)
                self.logger.info("node answers pings again", extra={"fields": {"node_id": node_id}})
                self.notify()
            elif reports_changed:
                self.notify()
            return
        failures = self.consecutive_failures.get(node_id, 0) + 1
        # only after a fast failure: a ping that timed out reached something that accepted it (or
        # a black hole), and probing would only lengthen this round for the other nodes
        if failures < self.failures_before_dead and failed_fast and \
                await self.refused_every_probe(transport_address):
            failures = self.failures_before_dead  # nothing listens there: the process is gone
        self.consecutive_failures[node_id] = failures
        if failures >= self.failures_before_dead and node_id not in self.dead_node_ids:
            self.dead_node_ids.add(node_id)
            self.logger.warning("node stopped answering pings: treating it as dead", extra={
                "fields": {"node_id": node_id, "missed_pings": failures, "address": transport_address}})
            self.notify()

    async def refused_every_probe(self, transport_address: str) -> bool:
        """``refused_probes`` connects, ``refused_probe_spacing`` apart, all actively refused."""
        if self.refused_probes < 1:
            return False
        for attempt in range(self.refused_probes):
            if attempt:
                await trio.sleep(self.refused_probe_spacing_seconds)
            if not await self.connect_probe(transport_address):
                return False
        return True
