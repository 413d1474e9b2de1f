"""Seeded schedules: which fault happens when, to whom, and which operation each client makes.

Owns: the seed (from the git commit in CI, so a failure reproduces from the commit alone), the
nemesis plan of a profile, and the per-process random streams of the workloads. Must never
read the clock or the cluster: a schedule is a pure function of (seed, profile, nodes), so the
same seed always gives the same plan. (Targets named by role — "primary", "master" — are
resolved when the step runs, because who holds the role is the cluster's choice, and the
resolved node is recorded in the nemesis log.)
"""

from __future__ import annotations

import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SEED = 20261129

PROCESS_FAULTS = ("kill", "kill-primary", "pause")
PARTITION_FAULTS = ("partition-primary", "partition-master", "partition-halves", "partition-random",
                    "partition-bridge")
# degraded links: seeded random directed links lose 20–30 % of their packets, or are slowed by
# 30–120 ms (nemesis.degraded_links)
LINK_QUALITY_FAULTS = ("loss", "delay")
ALL_FAULTS = PROCESS_FAULTS + PARTITION_FAULTS + LINK_QUALITY_FAULTS
# Targeted schedules: never part of "all" (each exists to expose one specific bug class and is
# asked for by name). "isolate-primary-then-kill-all" exposes acknowledging before replicas
# confirm: runner.py's ``probe_acknowledgement_before_replication`` documents the steps.
TARGETED_FAULTS = ("isolate-primary-then-kill-all",)
# Optional: asked for by name (e.g. ``--nemesis all,clock-skew``) because it needs libfaketime and
# starts every local node under it. "clock-skew" steps one node's wall clock by a seeded ±30–600 s
# while it runs, and back at heal (nemesis.clock_step_seconds).
OPTIONAL_FAULTS = ("clock-skew",)
KNOWN_FAULTS = ALL_FAULTS + TARGETED_FAULTS + OPTIONAL_FAULTS


@dataclass(frozen=True)
class NemesisStep:
    """``target`` is a node name, or a role ("primary", "master") resolved at run time, or
    "random" for the random-halves partition (whose halves follow from ``choice_seed``)."""

    number: int
    fault: str
    target: str
    start_after_seconds: float   # after the previous step healed
    duration_seconds: float
    choice_seed: int

    def to_json(self) -> dict:
        return {"number": self.number, "fault": self.fault, "target": self.target,
                "start_after_seconds": self.start_after_seconds, "duration_seconds": self.duration_seconds,
                "choice_seed": self.choice_seed}


def seed_from_commit(repository: Path | None = None) -> tuple[int, str]:
    """(seed, where it came from): the first 8 hex digits of ``git rev-parse HEAD``, or the
    fixed default when git is unavailable."""
    try:
        completed = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repository, capture_output=True,
                                   text=True, timeout=10, check=False)
        commit = completed.stdout.strip()
        if completed.returncode == 0 and len(commit) >= 8:
            return int(commit[:8], 16), f"git commit {commit}"
    except (OSError, subprocess.SubprocessError):
        pass
    return DEFAULT_SEED, "the default seed (no git commit available)"


def parse_faults(text: str) -> tuple[str, ...]:
    """``--nemesis`` value: comma-separated fault names (including targeted and optional ones);
    "all" alone or in the list stands for every fault of ALL_FAULTS."""
    if text.strip() in ("", "all"):
        return ALL_FAULTS
    names: tuple[str, ...] = ()
    for name in (name.strip() for name in text.split(",") if name.strip()):
        names += ALL_FAULTS if name == "all" else (name,)
    names = tuple(dict.fromkeys(names))   # each once, in order
    unknown = [name for name in names if name not in KNOWN_FAULTS]
    if unknown:
        raise ValueError(f"--nemesis: expected names from {', '.join(KNOWN_FAULTS)} or 'all', got {', '.join(unknown)}")
    return names


def _target_for(fault: str, node_names: list[str], rng: random.Random) -> str:
    if fault == "kill-primary":
        return "primary"
    if fault in PROCESS_FAULTS:
        # half the time the role that matters most, else any node
        return rng.choice(["primary", "master", *node_names])
    if fault in ("partition-primary", "isolate-primary-then-kill-all"):
        return "primary"
    if fault == "partition-master":
        return "master"
    if fault in ("partition-bridge", "clock-skew"):
        return rng.choice(node_names)
    return "random"


def plan_ci(seed: int, faults: tuple[str, ...], node_names: list[str]) -> list[NemesisStep]:
    """Every fault once, in a seeded order, with short faults and quiet gaps between them so
    the cluster heals and the recovery time can be seen."""
    rng = random.Random(seed)
    order = list(faults)
    rng.shuffle(order)
    steps = []
    for number, fault in enumerate(order):
        steps.append(NemesisStep(number, fault, _target_for(fault, node_names, rng),
                                 start_after_seconds=round(rng.uniform(3.0, 5.0), 2),
                                 duration_seconds=round(rng.uniform(4.0, 7.0), 2),
                                 choice_seed=rng.randrange(2 ** 31)))
    return steps


def plan_soak(seed: int, faults: tuple[str, ...], node_names: list[str], duration_seconds: float) -> list[NemesisStep]:
    """Random faults, one at a time, until their planned time fills ``duration_seconds``
    (real time runs longer: restarts and heals take what they take)."""
    rng = random.Random(seed)
    steps: list[NemesisStep] = []
    planned = 0.0
    while planned < duration_seconds:
        fault = rng.choice(faults)
        step = NemesisStep(len(steps), fault, _target_for(fault, node_names, rng),
                           start_after_seconds=round(rng.uniform(2.0, 10.0), 2),
                           duration_seconds=round(rng.uniform(3.0, 20.0), 2), choice_seed=rng.randrange(2 ** 31))
        steps.append(step)
        planned += step.start_after_seconds + step.duration_seconds
    return steps


def random_halves(node_names: list[str], choice_seed: int) -> tuple[list[str], list[str]]:
    """Two non-empty sides, the smaller one first."""
    rng = random.Random(choice_seed)
    shuffled = list(node_names)
    rng.shuffle(shuffled)
    cut = rng.randrange(1, len(shuffled)) if len(shuffled) > 1 else 1
    sides = sorted((sorted(shuffled[:cut]), sorted(shuffled[cut:])), key=len)
    return sides[0], sides[1]


def process_rng(seed: int, process: int) -> random.Random:
    """Each client process draws from its own stream, so adding a process does not change
    what the others do."""
    return random.Random(seed * 1_000_003 + process)
