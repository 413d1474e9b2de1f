"""``python -m node.workers.round_trip``: measure one front → worker → front call.

Spawns one real worker (no shard_service methods needed: it uses the built-in ``ping``), warms
up, then times sequential pings, pings from 8 concurrent callers, and a 10 MB body echo. A
measuring tool only: it must never be imported by the node.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

import trio

from node.workers.pool import ShardWorkers


async def measure(calls: int = 2000) -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        pool = ShardWorkers(1, Path(directory), b"m" * 32, "round-trip", "WARNING",
                            logging.getLogger("round_trip"), log_to_file=False)
        async with trio.open_nursery() as nursery:
            await nursery.start(pool.run)
            for _ in range(200):
                await pool.call("uuid", 0, "ping", {})
            started = time.perf_counter()
            for _ in range(calls):
                await pool.call("uuid", 0, "ping", {})
            results["sequential_ping_microseconds"] = (time.perf_counter() - started) / calls * 1e6

            async def caller() -> None:
                for _ in range(calls // 8):
                    await pool.call("uuid", 0, "ping", {})

            started = time.perf_counter()
            async with trio.open_nursery() as callers:
                for _ in range(8):
                    callers.start_soon(caller)
            results["concurrent_ping_microseconds_per_call"] = (time.perf_counter() - started) / calls * 1e6
            body = b"x" * (10 * 1024 * 1024)
            started = time.perf_counter()
            for _ in range(5):
                await pool.call("uuid", 0, "ping", {}, body)
            results["ten_megabyte_echo_milliseconds"] = (time.perf_counter() - started) / 5 * 1e3
            await pool.shutdown()
    return results


def main() -> int:
    for name, value in trio.run(measure).items():
        print(f"{name}: {value:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
