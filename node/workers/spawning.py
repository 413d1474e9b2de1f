"""How a shard worker process is started: its command line, its environment, and the early spawn.

Owns ``worker_command`` (the one definition of ``python -m node.workers.worker_main ...``) and
``prespawn_workers``: the node's first workers started at the very beginning of ``run_node``,
before the front imports trio, Raft and the rest (~1 CPU-s), so their own boot — the longest part
of a restart — overlaps all of it (ADR 0292). ``node.workers.pool`` adopts them as their first
start and supervises them like any other.

Must never import trio, node.transport or anything heavier than the standard library: its
whole point is to run before those imports.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


def worker_command(worker_number: int, child_fd: int, data_directory: Path, node_name: str, log_level: str,
                   log_to_file: bool = True, methods_module: str | None = None) -> list[str]:
    # -P: the node's working directory never goes on the worker's sys.path, so a folder there
    # named like one of our top-level packages (index, raft, udf) cannot shadow it
    command = [sys.executable, "-P", "-m", "node.workers.worker_main", "--fd", str(child_fd),
               "--worker-number", str(worker_number), "--data", str(data_directory),
               "--node-name", node_name, "--log-level", log_level]
    if not log_to_file:
        command.append("--no-log-file")
    if methods_module is not None:
        command += ["--methods-module", methods_module]
    return command


def worker_environment(extra_environment: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_environment or {})}


@dataclass
class PrespawnedWorker:
    """A worker process started before the pool existed: its Popen and the front's end of its
    socketpair (the secret is already written to its stdin). The pool takes both over once."""

    worker_number: int
    process: subprocess.Popen
    parent_socket: socket.socket


def prespawn_workers(worker_count: int, data_directory: Path, secret: bytes, node_name: str,
                     log_level: str) -> list[PrespawnedWorker]:
    """Start ``worker_count`` workers now (as ``ShardWorkers`` with its defaults would). A worker
    that cannot be spawned here (out of processes, say) is simply left to the pool, which spawns
    and retries it as usual."""
    started: list[PrespawnedWorker] = []
    for worker_number in range(worker_count):
        parent_socket, child_socket = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            process = subprocess.Popen(
                worker_command(worker_number, child_socket.fileno(), data_directory, node_name, log_level),
                stdin=subprocess.PIPE, pass_fds=(child_socket.fileno(),), env=worker_environment())
        except OSError:
            parent_socket.close()
            continue
        finally:
            child_socket.close()
        try:
            process.stdin.write(secret.hex().encode() + b"\n")
            process.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # it died at once: the pool sees the exit and restarts it
        started.append(PrespawnedWorker(worker_number, process, parent_socket))
    return started


def abandon_prespawned(workers: list[PrespawnedWorker]) -> None:
    """A start-up that fails before the pool took them over: end the processes it started."""
    for worker in workers:
        worker.parent_socket.close()       # EOF: the worker's only exit path
        try:
            worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            worker.process.kill()          # still booting (it reads the socket only once served)
            worker.process.wait()
