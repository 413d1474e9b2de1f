"""A shard worker freezes its start-up heap and collects its young generation less often (ADR 0336)."""

from __future__ import annotations

import gc
import logging

import trio

from node.workers.pool import ShardWorkers
from node.workers.worker_main import WORKER_YOUNG_COLLECTION_THRESHOLD, tune_cyclic_collector

SECRET = b"c" * 32


def test_tuning_freezes_what_is_alive_and_raises_only_the_young_threshold():
    threshold_before = gc.get_threshold()
    try:
        gc.unfreeze()
        assert gc.get_freeze_count() == 0
        frozen = tune_cyclic_collector()
        assert frozen == gc.get_freeze_count() > 1000       # the test process's modules at least
        assert gc.get_threshold() == (WORKER_YOUNG_COLLECTION_THRESHOLD, *threshold_before[1:])
        assert WORKER_YOUNG_COLLECTION_THRESHOLD > threshold_before[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold_before)


async def test_a_worker_process_runs_with_the_tuned_collector(tmp_path):
    pool = ShardWorkers(1, tmp_path, SECRET, "test-node", "WARNING", logging.getLogger("test.pool"),
                        log_to_file=False)
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        payload, _ = await pool.call("uuid-gc", 0, "ping", {})
        assert payload["gc_threshold"][0] == WORKER_YOUNG_COLLECTION_THRESHOLD
        assert payload["gc_frozen"] > 1000
        await pool.shutdown()
