"""The ``quidditch`` command: ``quidditch node [flags]`` runs a node (``python -m node`` too).

It owns argument parsing and exit codes: 0 after a clean shutdown, 1 when the node fails,
2 for an invalid configuration (every problem printed together). Flags are read as raw strings
and validated by node/config.py in one pass. It must never start anything itself.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import metadata as package_metadata
from pathlib import Path

from node.config import SETTINGS, ConfigError, environment_variable_name, load_config

EXIT_INVALID_CONFIGURATION = 2
# "off", or a directory for compiled bytecode when the environment forbids writing it beside the
# sources (ADR 0271)
BYTECODE_CACHE_VARIABLE = "QUIDDITCH_BYTECODE_CACHE"


def keep_bytecode_outside_the_sources(environment: dict[str, str] | None = None) -> Path | None:
    """When writing bytecode is switched off (PYTHONDONTWRITEBYTECODE, ``-B``) and no
    PYTHONPYCACHEPREFIX is set, keep this process's and its shard workers' compiled modules under
    a per-user cache directory instead (``$XDG_CACHE_HOME`` or ``~/.cache``, then
    ``quidditch/bytecode``; ``QUIDDITCH_BYTECODE_CACHE`` names another directory or ``off``).
    Without it every start compiled the project's ~150 modules again: ~0.5 s of CPU per process,
    a node's front and each worker, on the path of every (re)start. The source tree stays clean,
    which is what switching bytecode off is for. Returns the directory used, or None."""
    environment = os.environ if environment is None else environment
    choice = environment.get(BYTECODE_CACHE_VARIABLE, "").strip()
    if choice.lower() == "off" or sys.pycache_prefix is not None or not sys.dont_write_bytecode:
        return None
    if choice:
        directory = Path(choice)
    else:
        cache_home = environment.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        directory = Path(cache_home) / "quidditch" / "bytecode"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if directory.stat().st_uid != os.getuid() or not os.access(directory, os.W_OK):
            return None  # never load bytecode from a directory someone else controls
    except OSError:
        return None
    sys.pycache_prefix = str(directory)
    sys.dont_write_bytecode = False
    # the shard workers are spawned with this environment: they read and write the same cache
    environment["PYTHONPYCACHEPREFIX"] = str(directory)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return directory


def package_version() -> str:
    try:
        return package_metadata.version("quidditch")
    except package_metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quidditch", description="A search engine that speaks "
                                     "the OpenSearch REST API.")
    parser.add_argument("--version", action="version", version=f"quidditch {package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    node = commands.add_parser("node", help="run a node", description="Run a node. Every flag "
                               "can also come from a YAML file (--config) or QUIDDITCH_* variables.")
    node.add_argument("--config", metavar="FILE", help="YAML file of settings (flag names as keys)")
    for spec in SETTINGS:
        if spec.field_name == "elastic_product_header":
            # bare flag means "on"; an explicit value (on/off/true/false) is accepted too
            node.add_argument(f"--{spec.flag}", nargs="?", const="on", default=None, metavar="on|off",
                              help=f"{spec.help} [{environment_variable_name(spec)}]")
        else:
            node.add_argument(f"--{spec.flag}", default=None, metavar="VALUE",
                              help=f"{spec.help} [{environment_variable_name(spec)}]")
    history = commands.add_parser(
        "cluster-state-history", help="replay a stopped node's Raft log",
        description="Replay the Raft log of a STOPPED node (its snapshot and journal, read from a copy) "
                    "and print one line per logged command: raft index and term, the cluster state "
                    "version after it, the command and whether it was accepted. With --index, also how "
                    "each shard's primary term, in-sync set and copies stood after it, on the lines "
                    "where they changed. What the node's log says may include entries a later leader "
                    "overwrote.")
    history.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    history.add_argument("--index", metavar="NAME", help="follow the shards of this index")
    history.add_argument("--shard", type=int, metavar="N", help="only this shard of --index")
    return parser


def print_cluster_state_history(data_directory: Path, index_name: str | None, shard_number: int | None) -> int:
    from raft.adapter import read_stopped_log
    from raft.errors import RaftError
    from raft.history import describe_shard, replay_log

    try:
        snapshot_state, snapshot_index, entries = read_stopped_log(data_directory / "raft")
    except (RaftError, OSError) as error:
        print(f"quidditch: cannot read the raft log under [{data_directory}]: {error}", file=sys.stderr)
        return EXIT_INVALID_CONFIGURATION
    if snapshot_state is not None:
        print(f"snapshot up to raft index {snapshot_index}: state version {snapshot_state.version}")
    shown: dict[int, str] = {}
    for step in replay_log(snapshot_state, entries):
        outcome = "accepted" if step.accepted else f"REJECTED: {step.reason}"
        print(f"raft {step.raft_index} term {step.raft_term} v{step.state.version} {step.command_type} {outcome}")
        if index_name is None:
            continue
        shards = step.state.routing_table.get(index_name, ())
        numbers = range(len(shards)) if shard_number is None else [shard_number]
        for number in numbers:
            description = describe_shard(step.state, index_name, number)
            if shown.get(number) != description:
                shown[number] = description
                print(f"    [{index_name}][{number}] {description}")
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if arguments.command == "cluster-state-history":
        return print_cluster_state_history(Path(arguments.data), arguments.index, arguments.shard)
    if arguments.command != "node":
        build_parser().print_help(sys.stderr)
        return EXIT_INVALID_CONFIGURATION
    flags = {spec.flag: getattr(arguments, spec.flag.replace("-", "_"))
             for spec in SETTINGS}
    try:
        config = load_config(flags=flags, config_file=arguments.config)
    except ConfigError as error:
        print(f"quidditch: {error}", file=sys.stderr)
        return EXIT_INVALID_CONFIGURATION
    keep_bytecode_outside_the_sources()
    from node.server import run_node  # imported late: `--help` stays fast and dependency-free

    return run_node(config)


if __name__ == "__main__":
    sys.exit(main())
