"""``python -m node.workers.round_trip``: measure one front → worker → front call.

Spawns one real worker whose method table is this module's ``SHARD_METHODS`` (no shard_service
needed): the built-in ``ping`` (answered inline, on the worker's reading thread) and ``echo``
(run on a worker method thread, as every search and write is). Warms up, then times sequential
calls of each, calls from 8 concurrent callers, and a 10 MB body echo; beside wall time it
reports CPU per call of the front (this process) and of the worker (/proc). A measuring tool
only: it must never be imported by the node (the worker imports it only when this tool names it
with ``--methods-module``).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import trio

from node.workers.pool import ShardWorkers


def echo(registry: object, payload: dict, body: bytes) -> tuple[dict, bytes]:
    return {"echo": True}, body


SHARD_METHODS = {"echo": echo}
INLINE_METHODS: frozenset[str] = frozenset()
CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_SECOND   # utime + stime


async def measure(calls: int = 2000) -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        pool = ShardWorkers(1, Path(directory), b"m" * 32, "round-trip", "WARNING",
                            logging.getLogger("round_trip"), log_to_file=False,
                            methods_module="node.workers.round_trip")
        async with trio.open_nursery() as nursery:
            await nursery.start(pool.run)
            worker_pid = int((await pool.call("uuid", 0, "ping", {}))[0]["pid"])
            for method in ("ping", "echo"):
                for _ in range(200):
                    await pool.call("uuid", 0, method, {})
                worker_cpu = process_cpu_seconds(worker_pid)
                front_cpu = time.process_time()
                started = time.perf_counter()
                for _ in range(calls):
                    await pool.call("uuid", 0, method, {})
                results[f"sequential_{method}_microseconds"] = (time.perf_counter() - started) / calls * 1e6
                results[f"sequential_{method}_front_cpu_microseconds"] = (time.process_time() - front_cpu) / calls * 1e6
                results[f"sequential_{method}_worker_cpu_microseconds"] = \
                    (process_cpu_seconds(worker_pid) - worker_cpu) / calls * 1e6

            async def caller() -> None:
                for _ in range(calls // 8):
                    await pool.call("uuid", 0, "echo", {})

            started = time.perf_counter()
            async with trio.open_nursery() as callers:
                for _ in range(8):
                    callers.start_soon(caller)
            results["concurrent_echo_microseconds_per_call"] = (time.perf_counter() - started) / calls * 1e6
            body = b"x" * (10 * 1024 * 1024)
            started = time.perf_counter()
            for _ in range(5):
                await pool.call("uuid", 0, "echo", {}, body)
            results["ten_megabyte_echo_milliseconds"] = (time.perf_counter() - started) / 5 * 1e3
            await pool.shutdown()
    return results


def main() -> int:
    for name, value in trio.run(measure).items():
        print(f"{name}: {value:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
