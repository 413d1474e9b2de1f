"""Test-only fault injection: the faults file (docs/testing.md, "The faults file"), the decision
for one message on one directed link, and the pysyncobj transport that applies it to Raft.

Owns: parsing a faults file into a frozen ``FaultPlan``; ``FaultsFileWatcher``, which re-reads
the file when its modification time or size changes (polled at most every 100 ms, thread-safe);
``LinkFaults``, the per-node decision "drop / delay this message on link from → to" with a RNG
seeded from the file's seed and the node's name; and ``faulty_transport_class``, a subclass of
``raft.adapter.DEFAULT_TRANSPORT_CLASS`` that enforces the plan on what this node sends (in
``send``) and what it receives (``_onMessageReceived``). node/transport uses the same plan and
decision for its frames.

It must never be active unless a test setting names a faults file (node/testing_settings.py is
the one place that reads it), never raise into pysyncobj's tick (a bad file means "no faults",
logged once), and never block the raft thread: delays are queued and released on ticks.

Dropping on Raft is a silent discard (``send`` answers "sent"): that is what a black-holed route
does to an established TCP connection, and it keeps pysyncobj's own timeouts (leader fallback,
election) as the only way a node learns of the partition — exactly as in a real one (ADR 0150).
"""

from __future__ import annotations

import collections
import logging
import os
import random
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import orjson

from raft.errors import RaftError

logger = logging.getLogger(__name__)

FAULTS_FILE_VERSION = 1
POLL_INTERVAL_SECONDS = 0.1
ADDRESS_KINDS = ("http", "transport", "raft")


class FaultsFileError(RaftError):
    """The faults file does not match the schema (the message names the field)."""


@dataclass(frozen=True, slots=True)
class LinkFault:
    """The fault on one directed link: traffic sent by ``from_node`` to ``to_node``."""

    from_node: str
    to_node: str
    drop: bool = False
    delay_ms: float = 0.0
    loss_probability: float = 0.0


@dataclass(frozen=True, slots=True)
class MessageDecision:
    """What happens to one message: dropped, or delivered after ``delay_seconds``."""

    dropped: bool
    delay_seconds: float = 0.0
    reason: str = ""


DELIVER_AT_ONCE = MessageDecision(dropped=False)


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """One generation of the faults file. A link not in ``links`` is healthy."""

    generation: int
    seed: int
    node_addresses: Mapping[str, Mapping[str, str]]   # name → {"http"|"transport"|"raft": "host:port"}
    links: Mapping[tuple[str, str], LinkFault]

    def node_name_for_address(self, kind: str, address: str) -> str | None:
        """The node whose ``kind`` address is ``address`` ("raft" or "transport"), else None."""
        wanted = normalize_address(address)
        for name, addresses in self.node_addresses.items():
            known = addresses.get(kind)
            if known is not None and normalize_address(known) == wanted:
                return name
        return None

    def link(self, from_node: str, to_node: str) -> LinkFault | None:
        return self.links.get((from_node, to_node))


NO_FAULTS = FaultPlan(generation=0, seed=0, node_addresses={}, links={})


def normalize_address(address: str) -> str:
    """``[::1]:9300`` and ``::1:9300`` name the same listener; compare without brackets."""
    host, _, port = str(address).rpartition(":")
    return f"{host.strip('[]').lower()}:{port}"


def _number(value: Any, field_name: str, minimum: float, maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FaultsFileError(f"faults file field [{field_name}]: expected a number, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"[{minimum}, {maximum}]" if maximum is not None else f"at least {minimum}"
        raise FaultsFileError(f"faults file field [{field_name}]: expected {bounds}, got {value!r}")
    return float(value)


def parse_faults_document(data: bytes) -> FaultPlan:
    """Parse the faults file's bytes. Raises FaultsFileError naming the offending field."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise FaultsFileError(f"faults file is not valid json: {error}") from None
    if not isinstance(document, dict):
        raise FaultsFileError(f"faults file: expected a json object, got {type(document).__name__}")
    version = document.get("version")
    if version != FAULTS_FILE_VERSION:
        raise FaultsFileError(f"faults file field [version]: expected {FAULTS_FILE_VERSION}, got {version!r}")
    generation = document.get("generation", 0)
    if isinstance(generation, bool) or not isinstance(generation, int):
        raise FaultsFileError(f"faults file field [generation]: expected an integer, got {generation!r}")
    seed = document.get("seed", generation)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise FaultsFileError(f"faults file field [seed]: expected an integer, got {seed!r}")
    raw_nodes = document.get("nodes", {})
    if not isinstance(raw_nodes, dict):
        raise FaultsFileError(f"faults file field [nodes]: expected an object, got {type(raw_nodes).__name__}")
    node_addresses: dict[str, dict[str, str]] = {}
    for name, addresses in raw_nodes.items():
        if not isinstance(addresses, dict):
            raise FaultsFileError(f"faults file field [nodes.{name}]: expected an object of addresses, "
                                  f"got {type(addresses).__name__}")
        node_addresses[name] = {kind: str(addresses[kind]) for kind in ADDRESS_KINDS if kind in addresses}
    raw_links = document.get("links", [])
    if not isinstance(raw_links, list):
        raise FaultsFileError(f"faults file field [links]: expected a list, got {type(raw_links).__name__}")
    links: dict[tuple[str, str], LinkFault] = {}
    for position, entry in enumerate(raw_links):
        where = f"links[{position}]"
        if not isinstance(entry, dict):
            raise FaultsFileError(f"faults file field [{where}]: expected an object, got {type(entry).__name__}")
        from_node, to_node = entry.get("from"), entry.get("to")
        for key, value in (("from", from_node), ("to", to_node)):
            if not isinstance(value, str) or not value:
                raise FaultsFileError(f"faults file field [{where}.{key}]: expected a node name, got {value!r}")
        drop = entry.get("drop", False)
        if not isinstance(drop, bool):
            raise FaultsFileError(f"faults file field [{where}.drop]: expected true or false, got {drop!r}")
        links[(from_node, to_node)] = LinkFault(
            from_node=from_node, to_node=to_node, drop=drop,
            delay_ms=_number(entry.get("delay_ms", 0), f"{where}.delay_ms", 0.0),
            loss_probability=_number(entry.get("loss_probability", 0.0), f"{where}.loss_probability", 0.0, 1.0))
    return FaultPlan(generation=generation, seed=seed, node_addresses=node_addresses, links=links)


def decide(link: LinkFault | None, random_number: Callable[[], float]) -> MessageDecision:
    """The fate of one message on a link. ``random_number`` is drawn only for a lossy link, so
    healthy traffic does not move the seeded sequence."""
    if link is None:
        return DELIVER_AT_ONCE
    if link.drop:
        return MessageDecision(dropped=True, reason=f"link {link.from_node}->{link.to_node} is cut")
    if link.loss_probability > 0.0 and random_number() < link.loss_probability:
        return MessageDecision(dropped=True, reason=f"link {link.from_node}->{link.to_node} lost the message "
                                                    f"(loss_probability {link.loss_probability})")
    if link.delay_ms > 0:
        return MessageDecision(dropped=False, delay_seconds=link.delay_ms / 1000.0)
    return DELIVER_AT_ONCE


class FaultsFileWatcher:
    """The current plan from a faults file, re-read when its mtime or size changes (checked at most
    every ``poll_interval_seconds``). A missing or unparsable file means "no faults", logged once
    per distinct problem. Safe to call from any thread."""

    def __init__(self, path: Path | str, poll_interval_seconds: float = POLL_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self.poll_interval_seconds = poll_interval_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._plan = NO_FAULTS
        self._file_signature: tuple[int, int] | None = None
        self._next_check = float("-inf")
        self._last_problem: str | None = None

    def current(self) -> FaultPlan:
        now = self.clock()
        if now < self._next_check:
            return self._plan
        with self._lock:
            if now >= self._next_check:
                self._next_check = now + self.poll_interval_seconds
                self._reload_if_changed()
            return self._plan

    def _reload_if_changed(self) -> None:
        try:
            status = os.stat(self.path)
        except OSError as error:
            self._file_signature = None
            self._use_no_faults(f"faults file [{self.path}] cannot be read ({error.strerror}): no faults applied")
            return
        signature = (status.st_mtime_ns, status.st_size)
        if signature == self._file_signature:
            return
        self._file_signature = signature
        try:
            plan = parse_faults_document(self.path.read_bytes())
        except (OSError, FaultsFileError) as error:
            self._use_no_faults(f"faults file [{self.path}] ignored, no faults applied: {error}")
            return
        self._last_problem = None
        if plan.generation != self._plan.generation or plan.links != self._plan.links:
            logger.warning("applying faults file generation %s: %s", plan.generation,
                           ", ".join(_describe(link) for link in plan.links.values()) or "no faults")
        self._plan = plan

    def _use_no_faults(self, problem: str) -> None:
        if problem != self._last_problem:
            logger.error(problem)
            self._last_problem = problem
        self._plan = NO_FAULTS


def _describe(link: LinkFault) -> str:
    parts = ["drop"] if link.drop else []
    if link.delay_ms:
        parts.append(f"delay {link.delay_ms:g}ms")
    if link.loss_probability:
        parts.append(f"loss {link.loss_probability:g}")
    return f"{link.from_node}->{link.to_node} {'+'.join(parts) or 'healthy'}"


@dataclass
class LinkFaults:
    """One node's view of the faults: decisions for what it sends (``outgoing``) and receives
    (``incoming``). Its RNG is seeded from the file's seed and this node's name, reseeded when
    the seed changes, so a run's losses repeat from its seed (for the same message order)."""

    watcher: FaultsFileWatcher
    self_name: str
    _rng: random.Random = field(default_factory=random.Random)
    _rng_seed: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self) -> FaultPlan:
        return self.watcher.current()

    def _random_number(self, plan: FaultPlan) -> float:
        with self._lock:
            if self._rng_seed != plan.seed:
                self._rng_seed = plan.seed
                self._rng.seed(plan.seed * 1_000_003 + zlib.crc32(self.self_name.encode()))
            return self._rng.random()

    def outgoing(self, peer_name: str | None, plan: FaultPlan | None = None) -> MessageDecision:
        plan = plan or self.plan()
        if peer_name is None:
            return DELIVER_AT_ONCE
        return decide(plan.link(self.self_name, peer_name), lambda: self._random_number(plan))

    def incoming(self, peer_name: str | None, plan: FaultPlan | None = None) -> MessageDecision:
        plan = plan or self.plan()
        if peer_name is None:
            return DELIVER_AT_ONCE
        return decide(plan.link(peer_name, self.self_name), lambda: self._random_number(plan))


def faulty_transport_class(link_faults: LinkFaults) -> type:
    """A pysyncobj transport class (subclass of DEFAULT_TRANSPORT_CLASS) applying ``link_faults``
    to Raft messages; pass it as ``RaftConfig.transport_class``. Peers are named by their Raft
    address through the plan's ``nodes`` table; a peer not in it (a read-only node) is unfaulted."""
    from raft.adapter import DEFAULT_TRANSPORT_CLASS  # the adapter imports nothing from here

    class FaultInjectingTransport(DEFAULT_TRANSPORT_CLASS):  # type: ignore[misc, valid-type]
        faults = link_faults

        def __init__(self, syncObj: Any, selfNode: Any, otherNodes: Any) -> None:  # noqa: N803 — pysyncobj's names
            # per directed link: FIFO of (release time, message), so delays keep the order
            self._delayed_outgoing: dict[Any, collections.deque] = {}
            self._delayed_incoming: dict[Any, collections.deque] = {}
            super().__init__(syncObj, selfNode, otherNodes)

        def _peer_name(self, node: Any) -> tuple[FaultPlan, str | None]:
            plan = self.faults.plan()
            address = getattr(node, "address", None)
            return plan, (plan.node_name_for_address("raft", address) if address else None)

        def send(self, node: Any, message: Any) -> bool:
            try:
                plan, peer = self._peer_name(node)
                decision = self.faults.outgoing(peer, plan)
            except Exception:  # noqa: BLE001 — never break pysyncobj's tick over a test feature
                logger.exception("fault decision failed; sending unfaulted")
                decision = DELIVER_AT_ONCE
            if decision.dropped:
                return True  # a black hole: the sender believes it sent
            queue = self._delayed_outgoing.get(node)
            if decision.delay_seconds > 0 or queue:
                self._delayed_outgoing.setdefault(node, collections.deque()).append(
                    (time.monotonic() + decision.delay_seconds, message))
                return True
            return super().send(node, message)

        def _onMessageReceived(self, node: Any, message: Any) -> None:  # noqa: N802 — pysyncobj's name
            try:
                plan, peer = self._peer_name(node)
                decision = self.faults.incoming(peer, plan)
            except Exception:  # noqa: BLE001
                logger.exception("fault decision failed; receiving unfaulted")
                decision = DELIVER_AT_ONCE
            if decision.dropped:
                return
            queue = self._delayed_incoming.get(node)
            if decision.delay_seconds > 0 or queue:
                self._delayed_incoming.setdefault(node, collections.deque()).append(
                    (time.monotonic() + decision.delay_seconds, message))
                return
            super()._onMessageReceived(node, message)

        def _onTick(self) -> None:  # noqa: N802 — pysyncobj's name
            super()._onTick()
            now = time.monotonic()
            for node, queue in list(self._delayed_outgoing.items()):
                while queue and queue[0][0] <= now:
                    _, message = queue.popleft()
                    super().send(node, message)
            for node, queue in list(self._delayed_incoming.items()):
                while queue and queue[0][0] <= now:
                    _, message = queue.popleft()
                    super()._onMessageReceived(node, message)

    return FaultInjectingTransport
