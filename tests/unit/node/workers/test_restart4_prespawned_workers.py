"""Workers spawned by run_node before its own imports (ADR 0292) are adopted by the pool as their
first start: served, supervised (restarted when they die) and shut down like any other."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys

import trio

from node.workers.pool import ShardWorkers
from node.workers.spawning import abandon_prespawned, prespawn_workers

SECRET = b"p" * 32


def make_pool(tmp_path, worker_count, prespawned):
    return ShardWorkers(worker_count, tmp_path, SECRET, "test-node", "WARNING", logging.getLogger("test.prespawn"),
                        prespawned=prespawned)


async def test_the_pool_serves_through_the_workers_that_were_spawned_before_it(tmp_path):
    prespawned = prespawn_workers(2, tmp_path, SECRET, "test-node", "WARNING")
    early_pids = sorted(worker.process.pid for worker in prespawned)
    pool = make_pool(tmp_path, 2, prespawned)
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        await pool.wait_until_ready()
        answers = await pool.broadcast("ping", {})
        assert sorted(answer["pid"] for answer, _ in answers) == early_pids
        assert [statistics.starts for statistics in pool.statistics()] == [1, 1]
        await pool.shutdown()
    assert all(worker.process.poll() is not None for worker in prespawned), "shutdown ends adopted workers too"


async def test_an_adopted_worker_that_dies_is_restarted_by_the_pool(tmp_path):
    prespawned = prespawn_workers(1, tmp_path, SECRET, "test-node", "WARNING")
    pool = make_pool(tmp_path, 1, prespawned)
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        await pool.wait_until_ready()
        first, _ = await pool.call("uuid", 0, "ping", {})
        os.kill(first["pid"], signal.SIGKILL)
        with trio.fail_after(60):
            while True:
                try:
                    again, _ = await pool.call("uuid", 0, "ping", {}, timeout_seconds=5)
                    if again["pid"] != first["pid"]:
                        break
                except Exception:  # noqa: BLE001 — the restart is under way
                    pass
                await trio.sleep(0.1)
        assert pool.statistics()[0].crashes == 1 and pool.statistics()[0].starts == 2
        await pool.shutdown()


def test_workers_abandoned_by_a_failed_start_up_exit(tmp_path):
    prespawned = prespawn_workers(1, tmp_path, SECRET, "test-node", "WARNING")
    abandon_prespawned(prespawned)
    assert prespawned[0].process.poll() is not None


def test_the_worker_spawning_module_imports_nothing_heavy():
    probe = ("import sys, node.workers.spawning; "
             "print(','.join(sorted(name for name in ('trio', 'numpy', 'node.transport.framing', 'index.shard') "
             "if name in sys.modules)))")
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == ""


def test_importing_node_server_spawns_nothing_and_leaves_trio_for_later():
    probe = "import sys, node.server; print('trio' in sys.modules, 'pysyncobj' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "False False"
