"""The ``jepsen-lite`` command line (also ``python -m jepsen_lite``).

    jepsen-lite run --profile ci|soak [--seed N] [--nemesis all|kill,pause,...]
                    [--workload set,register] [--out DIR] [--nodes N] [--duration SECONDS]
                    [--network auto|netns|loopback] [--clock-skew NODE=SECONDS ...]
                    [--endpoints host:port,... --fault-command ACTION=COMMAND ...]

Owns: argument parsing, profile defaults and the exit code (0 every checker passed or was a
known anomaly, 1 a checker failed, 2 bad arguments, 3 the run itself broke). Must never hold
run logic: that lives in runner.py.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from jepsen_lite.cluster import parse_fault_commands
from jepsen_lite.generator import KNOWN_FAULTS, parse_faults, seed_from_commit
from jepsen_lite.runner import WORKLOADS, RunOptions, run

PROFILE_NODE_COUNTS = {"ci": 3, "soak": 5}


def default_resiliency_document() -> Path | None:
    """docs/resiliency.md of the checkout this package sits in, when there is one."""
    candidate = Path(__file__).resolve().parents[2] / "docs" / "resiliency.md"
    return candidate if candidate.exists() else None


MAX_CLOCK_SKEW_SECONDS = 10 * 365 * 86400.0


def parse_clock_skews(values: list[str]) -> dict[str, float]:
    """``--clock-skew n1=+30`` values → {"n1": 30.0}; each node at most once."""
    skews: dict[str, float] = {}
    for value in values:
        name, separator, seconds = value.partition("=")
        name = name.strip()
        try:
            offset = float(seconds.strip().removesuffix("s"))
        except ValueError:
            offset = None
        if not separator or not name or offset is None or abs(offset) > MAX_CLOCK_SKEW_SECONDS \
                or offset != offset:
            raise ValueError(f"--clock-skew: expected NODE=SECONDS (e.g. n1=+30 or n2=-45.5), got {value!r}")
        if name in skews:
            raise ValueError(f"--clock-skew: node {name!r} given twice")
        skews[name] = offset
    return skews


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jepsen-lite", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run workloads under faults and check the history")
    run_parser.add_argument("--profile", choices=sorted(PROFILE_NODE_COUNTS), default="ci")
    run_parser.add_argument("--seed", type=int, default=None,
                            help="seed of every schedule (default: from `git rev-parse HEAD`, else a fixed default)")
    run_parser.add_argument("--nemesis", default="all", help=f"comma-separated faults or 'all' (every fault but the targeted ones): {', '.join(KNOWN_FAULTS)}")
    run_parser.add_argument("--workload", default="set,register", help=f"comma-separated: {', '.join(WORKLOADS)}")
    run_parser.add_argument("--out", type=Path, default=None, help="run directory (default ./jepsen-runs/<time>)")
    run_parser.add_argument("--nodes", type=int, default=None, help="local nodes (default 3 for ci, 5 for soak)")
    run_parser.add_argument("--duration", type=float, default=3600.0, help="soak: seconds of planned faults")
    run_parser.add_argument("--raft-port-base", type=int, default=None, help="first Raft port to try (default: any)")
    run_parser.add_argument("--network", choices=("auto", "netns", "loopback"), default="auto",
                            help="local nodes: each in its own network namespace (root; partitions as routes) "
                                 "or all on loopback (partitions only through the faults file); auto = netns "
                                 "when available")
    run_parser.add_argument("--endpoints", default="", help="host:port,... of an existing cluster's HTTP API")
    run_parser.add_argument("--fault-command", action="append", default=[], metavar="ACTION=COMMAND",
                            help="with --endpoints: shell command per action (kill, start, pause, resume, isolate, "
                                 "heal); {node}, {host}, {port} are substituted")
    run_parser.add_argument("--resiliency-doc", type=Path, default=None,
                            help="docs/resiliency.md listing the known anomalies (default: this checkout's)")
    run_parser.add_argument("--node-env", action="append", default=[], metavar="NAME=VALUE",
                            help="extra environment for local nodes (test-only settings)")
    run_parser.add_argument("--clock-skew", action="append", default=[], metavar="NODE=SECONDS",
                            help="local nodes: start NODE (n0, n1, ...) with its wall clock SECONDS off (e.g. "
                                 "n1=+30, n2=-45) under libfaketime (apt faketime); the monotonic clock is untouched")
    run_parser.add_argument("--require-test-setting", action="append", default=[], metavar="NAME",
                            help="skip the run unless every node reports honouring this test-only variable")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        faults = parse_faults(arguments.nemesis)
        workloads = tuple(name.strip() for name in arguments.workload.split(",") if name.strip())
        unknown = [name for name in workloads if name not in WORKLOADS]
        if unknown or not workloads:
            raise ValueError(f"--workload: expected names from {', '.join(WORKLOADS)}, got {arguments.workload!r}")
        fault_commands = parse_fault_commands(arguments.fault_command)
        if fault_commands and not arguments.endpoints:
            raise ValueError("--fault-command: only meaningful with --endpoints (local clusters are controlled directly)")
        environment = {}
        for item in arguments.node_env:
            name, separator, value = item.partition("=")
            if not separator or not name:
                raise ValueError(f"--node-env: expected NAME=VALUE, got {item!r}")
            environment[name] = value
        clock_skews = parse_clock_skews(arguments.clock_skew)
        if clock_skews and arguments.endpoints:
            raise ValueError("--clock-skew: only for local nodes (an existing cluster's clocks are yours to skew)")
        node_count = arguments.nodes or PROFILE_NODE_COUNTS[arguments.profile]
        strangers = sorted(set(clock_skews) - {f"n{number}" for number in range(node_count)})
        if strangers:
            raise ValueError(f"--clock-skew: expected node names n0..n{node_count - 1}, got {', '.join(strangers)}")
    except ValueError as error:
        parser.error(str(error))
    if arguments.seed is None:
        seed, seed_source = seed_from_commit(Path(__file__).resolve().parents[2])
    else:
        seed, seed_source = arguments.seed, "--seed"
    print(f"jepsen-lite seed: {seed} (from {seed_source})", flush=True)
    endpoints = tuple(address.strip() for address in arguments.endpoints.split(",") if address.strip())
    out = arguments.out or Path("jepsen-runs") / time.strftime("%Y%m%dT%H%M%S")
    options = RunOptions(
        profile=arguments.profile, seed=seed, seed_source=seed_source, faults=faults, workloads=workloads,
        out=out, node_count=arguments.nodes or PROFILE_NODE_COUNTS[arguments.profile],
        soak_seconds=arguments.duration, endpoints=endpoints, fault_commands=fault_commands,
        node_environment=environment, required_test_settings=tuple(arguments.require_test_setting),
        resiliency_document=arguments.resiliency_doc or default_resiliency_document(),
        raft_port_base=arguments.raft_port_base, network=arguments.network, clock_skews=clock_skews)
    # SIGTERM takes SIGINT's path (KeyboardInterrupt in the main thread): the run stops its
    # workloads, heals and removes its nodes and network namespaces instead of leaking them
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        outcome = run(options)
    except KeyboardInterrupt:
        print(f"jepsen-lite: interrupted; nodes and network removed, nothing checked\n"
              f"run directory kept: {out}", file=sys.stderr, flush=True)
        return 130
    except Exception as error:  # noqa: BLE001 — the run broke (cluster never started, ...): say where to look
        print(f"jepsen-lite: the run failed before checking: {type(error).__name__}: {error}\n"
              f"run directory kept: {out}", file=sys.stderr, flush=True)
        return 3
    if outcome.exit_code:
        print(f"run directory kept: {outcome.run_directory}", flush=True)
    return outcome.exit_code


def _interrupt(signal_number: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signal_number}")


if __name__ == "__main__":
    sys.exit(main())
