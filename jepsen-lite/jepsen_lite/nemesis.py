"""The nemesis: applies each planned fault, heals it, and logs both to nemesis.jsonl.

Owns: the faults file (the interface to the node-side fault layer, schema in docs/testing.md),
partition shapes (isolate one node, majority/minority, random halves, bridge), degraded links
(packet loss, delay on seeded random directed links), the choice of mechanism per fault (the
namespaces' network when it can enforce the links, else the faults file — recorded in the log),
and the mapping of each fault to control actions (local processes or a user's commands). Must never decide
verdicts, and never leave a fault in place: ``heal_everything`` undoes whatever is still active.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import orjson

from jepsen_lite.generator import NemesisStep, random_halves

FAULTS_FILE_VERSION = 1


@dataclass(frozen=True)
class LinkFault:
    """One directed link's fault: traffic sent by ``source`` to ``destination``."""

    source: str
    destination: str
    drop: bool = True
    delay_ms: int = 0
    loss_probability: float = 0.0

    def to_json(self) -> dict:
        return {"from": self.source, "to": self.destination, "drop": self.drop, "delay_ms": self.delay_ms,
                "loss_probability": self.loss_probability}


class FaultsFile:
    """Writes the whole faults file atomically (write a temporary file, then rename) so a node
    never reads half of it. ``generation`` grows with every write, so a node can log which
    version of the faults it applies."""

    def __init__(self, path: Path, node_addresses: dict[str, dict[str, str]]) -> None:
        self.path = Path(path)
        self.node_addresses = node_addresses
        self.generation = 0
        self.write([])

    def write(self, links: list[LinkFault]) -> None:
        self.generation += 1
        document = {"version": FAULTS_FILE_VERSION, "generation": self.generation, "nodes": self.node_addresses,
                    "links": [link.to_json() for link in links]}
        temporary = self.path.with_suffix(".tmp")
        temporary.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
        os.replace(temporary, self.path)


def partition_links(sides: list[list[str]]) -> list[LinkFault]:
    """Drop every link, both directions, between nodes on different sides."""
    links = []
    for side_number, side in enumerate(sides):
        for other_number, other in enumerate(sides):
            if side_number == other_number:
                continue
            links.extend(LinkFault(source, destination) for source in side for destination in other)
    return links


LOSS_PROBABILITY_RANGE = (0.20, 0.30)
DELAY_MILLISECONDS_RANGE = (30, 120)   # under Raft's 400 ms minimum election timeout, on purpose:
# a slow network should slow the cluster down, not only look like a partition


def degraded_links(node_names: list[str], choice_seed: int, kind: str) -> list[LinkFault]:
    """Seeded random directed links (each with probability ½, at least one) that lose packets
    (``kind`` "loss": one probability in 20–30 % for the step) or are slow ("delay": 30–120 ms)."""
    rng = random.Random(choice_seed)
    pairs = [(source, destination) for source in node_names for destination in node_names if source != destination]
    chosen = [pair for pair in pairs if rng.random() < 0.5] or [rng.choice(pairs)]
    if kind == "loss":
        probability = round(rng.uniform(*LOSS_PROBABILITY_RANGE), 2)
        return [LinkFault(source, destination, drop=False, loss_probability=probability)
                for source, destination in chosen]
    if kind == "delay":
        delay = rng.randint(*DELAY_MILLISECONDS_RANGE)
        return [LinkFault(source, destination, drop=False, delay_ms=delay) for source, destination in chosen]
    raise ValueError(f"degraded link kind: expected loss or delay, got {kind!r}")


CLOCK_STEP_SECONDS_RANGE = (30, 600)


def clock_step_seconds(choice_seed: int) -> int:
    """A seeded wall-clock step of ±30–600 s (an NTP step of a badly drifted clock)."""
    rng = random.Random(choice_seed)
    return rng.choice((-1, 1)) * rng.randint(*CLOCK_STEP_SECONDS_RANGE)


def bridge_links(bridge: str, node_names: list[str], choice_seed: int) -> tuple[list[LinkFault], list[list[str]]]:
    """The others split into two halves that cannot see each other; ``bridge`` sees both."""
    others = [name for name in node_names if name != bridge]
    random.Random(choice_seed).shuffle(others)
    middle = len(others) // 2
    left, right = sorted(others[:middle]), sorted(others[middle:])
    return partition_links([left, right]), [left, [bridge], right]


class Nemesis:
    """``control`` offers kill/restart/pause/resume(name) (LocalCluster) or is a CommandControl.
    ``faults_file`` is None when the nodes do not honour one; partition faults are then
    skipped with that reason (and isolate commands are used if the user gave them).
    ``resolve_role(role)`` names the node holding "primary" or "master" now, or None."""

    def __init__(self, node_names: list[str], control, faults_file: FaultsFile | None,
                 resolve_role: Callable[[str], str | None], log_path: Path, clock_origin: float,
                 partition_skip_reason: str = "", network=None) -> None:
        self.node_names = node_names
        self.network = network   # netns.NamespaceNetwork: partitions as routes, when available
        self.control = control
        self.faults_file = faults_file
        self.resolve_role = resolve_role
        self.log_path = Path(log_path)
        self.clock_origin = clock_origin
        self.partition_skip_reason = partition_skip_reason
        self.events: list[dict] = []
        self.lock = threading.Lock()
        self.active_heals: list[Callable[[], None]] = []
        self.applied_counts: dict[str, int] = {}
        self.skipped_reasons: dict[str, str] = {}
        self.mechanisms: dict[str, set[str]] = {}   # fault → mechanisms it was applied through
        self.clock_skip_reason = ""   # why the clock-skew nemesis cannot run, when the runner knows

    def log(self, **event) -> dict:
        event = {"time": round(time.monotonic() - self.clock_origin, 6), **event}
        with self.lock:
            self.events.append(event)
            with open(self.log_path, "ab") as output:
                output.write(orjson.dumps(event) + b"\n")
        return event

    def resolve_target(self, step: NemesisStep) -> str | None:
        if step.target in ("primary", "master"):
            return self.resolve_role(step.target)
        return step.target

    def _can(self, action: str) -> bool:
        if hasattr(self.control, "has"):
            return self.control.has(action)
        return True

    def apply(self, step: NemesisStep) -> Callable[[], None] | None:
        """Starts the fault; returns its healer, or None when it was skipped (logged with the
        reason)."""
        fault = step.fault
        target = self.resolve_target(step)
        needs_target = ("kill", "kill-primary", "pause", "partition-primary", "partition-master", "partition-bridge",
                        "clock-skew")
        if fault in needs_target and target is None:
            return self._skip(step, f"no node holds the role {step.target!r} right now")
        if fault in ("kill", "kill-primary"):
            if not (self._can("kill") and self._can("start")):
                return self._skip(step, "no kill and start fault commands were given")
            self._act("kill", target)
            return self._started(step, target, {}, lambda: self._act("restart", target))
        if fault == "pause":
            if not (self._can("pause") and self._can("resume")):
                return self._skip(step, "no pause and resume fault commands were given")
            self._act("pause", target)
            return self._started(step, target, {}, lambda: self._act("resume", target))
        if fault == "clock-skew":
            set_offset = getattr(self.control, "set_clock_offset", None)
            if set_offset is None or not getattr(self.control, "clock_files", False):
                return self._skip(step, self.clock_skip_reason or "the nodes were not started with clock files")
            base = getattr(self.control, "clock_skews", {}).get(target, 0.0)
            step_seconds = clock_step_seconds(step.choice_seed)
            set_offset(target, base + step_seconds)
            return self._started(step, target, {"clock_step_seconds": step_seconds, "mechanism": "libfaketime-file"},
                                 lambda: set_offset(target, base))
        # partitions
        if fault in ("partition-primary", "partition-master"):
            sides = [[target], [name for name in self.node_names if name != target]]
            links = partition_links(sides)
        elif fault == "partition-halves":
            shuffled = list(self.node_names)
            random.Random(step.choice_seed).shuffle(shuffled)
            minority_size = len(shuffled) // 2
            sides = [sorted(shuffled[:minority_size]), sorted(shuffled[minority_size:])]
            links = partition_links(sides)
        elif fault == "partition-random":
            sides = list(random_halves(self.node_names, step.choice_seed))
            links = partition_links(sides)
        elif fault == "partition-bridge":
            links, sides = bridge_links(target, self.node_names, step.choice_seed)
        elif fault in ("loss", "delay"):
            links = degraded_links(self.node_names, step.choice_seed, fault)
            sides = None
        else:
            raise ValueError(f"nemesis fault: expected a known fault name, got {fault!r}")
        extra = {"sides": sides} if sides is not None else {"links": [link.to_json() for link in links]}
        if self.network is not None and all(self.network.supports(link) for link in links):
            self.network.apply_links(links)
            return self._started(step, target, {**extra, "mechanism": f"network-namespaces/{self.network.mechanism}"},
                                 lambda: self.network.apply_links([]))
        if self.faults_file is not None:
            # loopback nodes, or a namespace network that cannot do this (delay without netem,
            # loss with blackhole routes): the nodes' own fault layer enforces it
            self.faults_file.write(links)
            return self._started(step, target, {**extra, "mechanism": "faults-file"},
                                 lambda: self.faults_file.write([]))
        if fault in ("loss", "delay"):
            # a user's cluster has no isolate-like command for a lossy or slow link
            return self._skip(step, f"{fault} needs local nodes (network namespaces) or nodes honouring the "
                                    f"faults file" + (f"; {self.partition_skip_reason}" if self.partition_skip_reason
                                                      else ""))
        if fault in ("partition-primary", "partition-master") and self._can("isolate") and self._can("heal") \
                and hasattr(self.control, "has"):
            self.control.run("isolate", target)
            return self._started(step, target, {"sides": sides, "mechanism": "fault-command"},
                                 lambda: self.control.run("heal", target))
        return self._skip(step, self.partition_skip_reason or "no partition mechanism is available")

    def _act(self, action: str, name: str) -> None:
        if hasattr(self.control, "has"):
            self.control.run({"restart": "start"}.get(action, action), name)
        else:
            getattr(self.control, action)(name)

    def _skip(self, step: NemesisStep, reason: str) -> None:
        self.skipped_reasons.setdefault(step.fault, reason)
        self.log(phase="skipped", fault=step.fault, step=step.number, target=step.target, skipped=True, reason=reason)
        return None

    def _started(self, step: NemesisStep, target: str | None, extra: dict, healer: Callable[[], None]):
        self.applied_counts[step.fault] = self.applied_counts.get(step.fault, 0) + 1
        if "mechanism" in extra:
            self.mechanisms.setdefault(step.fault, set()).add(extra["mechanism"])
        self.log(phase="start", fault=step.fault, step=step.number, target=target, **extra)

        def heal() -> None:
            try:
                healer()
                self.log(phase="end", fault=step.fault, step=step.number, target=target)
            except Exception as error:  # noqa: BLE001 — recorded; heal_everything retries at the end
                self.log(phase="heal-error", fault=step.fault, step=step.number, target=target, error=str(error))
                raise
            finally:
                with self.lock:
                    if heal in self.active_heals:
                        self.active_heals.remove(heal)

        with self.lock:
            self.active_heals.append(heal)
        return heal

    def heal_everything(self) -> None:
        with self.lock:
            pending = list(self.active_heals)
        for heal in pending:
            try:
                heal()
            except Exception:  # noqa: BLE001 — already logged; go on healing the rest
                pass
        if self.faults_file is not None:
            self.faults_file.write([])
        if self.network is not None:
            self.network.apply_links([])
        if hasattr(self.control, "heal_processes"):
            self.control.heal_processes()
