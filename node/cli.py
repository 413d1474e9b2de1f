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
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
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
