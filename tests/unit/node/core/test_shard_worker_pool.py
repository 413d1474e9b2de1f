"""The worker pool against real worker processes: round trip, routing, crash and restart."""

import logging
import os
import signal

import pytest
import trio

from node.workers.errors import UnknownWorkerMethodError, WorkerUnavailableError
from node.workers.pool import ShardWorkers, worker_for_shard

SECRET = b"w" * 32


def make_pool(tmp_path, worker_count):
    return ShardWorkers(worker_count, tmp_path, SECRET, "test-node", "WARNING",
                        logging.getLogger("test.pool"), log_to_file=False)


async def test_a_call_goes_to_a_worker_process_and_back(tmp_path):
    pool = make_pool(tmp_path, 1)
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        payload, body = await pool.call("uuid-a", 0, "ping", {"x": 1}, b"raw body")
        assert payload["pong"] is True
        assert payload["pid"] != os.getpid()
        assert body == b"raw body"
        with pytest.raises(UnknownWorkerMethodError, match="unknown worker method 'nope'"):
            await pool.call("uuid-a", 0, "nope", {})
        await pool.shutdown()


async def test_each_shard_always_goes_to_the_same_worker(tmp_path):
    pool = make_pool(tmp_path, 2)
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        pids = set()
        for shard_number in range(8):
            expected_worker = worker_for_shard("uuid-b", shard_number, 2)
            payload, _ = await pool.call("uuid-b", shard_number, "ping", {})
            assert payload["worker"] == expected_worker
            pids.add(payload["pid"])
        assert len(pids) == 2
        answers = await pool.broadcast("ping", {})
        assert sorted(answer["worker"] for answer, _ in answers) == [0, 1]
        await pool.shutdown()


def test_shard_to_worker_assignment_is_stable_across_processes():
    # crc32 based: the same in every process, unlike hash(str)
    assert [worker_for_shard("abc", n, 3) for n in range(5)] == [
        worker_for_shard("abc", n, 3) for n in range(5)]
    assert worker_for_shard("abc", 0, 1) == 0


async def test_a_crashed_worker_is_restarted_and_answers_again(tmp_path):
    pool = make_pool(tmp_path, 1)
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        first, _ = await pool.call("uuid-c", 0, "ping", {})
        os.kill(first["pid"], signal.SIGKILL)
        # waits for the restart inside call (ready event), no sleeps needed
        with trio.fail_after(60):
            while True:
                try:
                    second, _ = await pool.call("uuid-c", 0, "ping", {})
                    break
                except WorkerUnavailableError:  # the call racing the crash: its outcome is unknown
                    await trio.sleep(0.05)
        assert second["pid"] != first["pid"]
        assert pool.statistics()[0].crashes == 1
        await pool.shutdown()


FAKE_SHARD_METHODS = '''
class FakeShard:
    def __init__(self, payload):
        self.payload = payload
        self.flushed = False
    def flush(self):
        self.flushed = True
    def close(self):
        pass

def open_shard(registry, payload, body):
    registry.put(payload["index_uuid"], payload["shard_number"], FakeShard(payload))
    return {"opened": True}, b""

def close_shard(registry, payload, body):
    registry.pop(payload["index_uuid"], payload["shard_number"])
    return {"closed": True}, b""

def describe_shard(registry, payload, body):
    shard = registry.get(payload["index_uuid"], payload["shard_number"])
    return {"opened_with": shard.payload["settings"]}, b""

SHARD_METHODS = {"open_shard": open_shard, "close_shard": close_shard, "describe_shard": describe_shard}
'''


async def test_a_restarted_worker_reopens_the_shards_it_held_and_not_the_closed_ones(tmp_path):
    (tmp_path / "fake_shard_methods_for_pool.py").write_text(FAKE_SHARD_METHODS)
    pool = ShardWorkers(1, tmp_path, SECRET, "test-node", "WARNING", logging.getLogger("test.pool"),
                        log_to_file=False, methods_module="fake_shard_methods_for_pool",
                        extra_environment={"PYTHONPATH": str(tmp_path)})
    from node.workers.errors import ShardNotHostedError

    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        await pool.call("uuid-d", 0, "open_shard", {"settings": {"kept": 1}})
        await pool.call("uuid-d", 1, "open_shard", {"settings": {"kept": 2}})
        await pool.call("uuid-d", 1, "close_shard", {})
        first, _ = await pool.call("uuid-d", 0, "ping", {})
        os.kill(first["pid"], signal.SIGKILL)
        with trio.fail_after(60):
            while True:
                try:
                    described, _ = await pool.call("uuid-d", 0, "describe_shard", {})
                    break
                except WorkerUnavailableError:  # the worker is restarting
                    await trio.sleep(0.05)
        assert described == {"opened_with": {"kept": 1}}
        with pytest.raises(ShardNotHostedError):
            await pool.call("uuid-d", 1, "describe_shard", {})
        await pool.shutdown()


async def test_a_reopen_hook_supplies_fresh_payloads_or_skips_deleted_shards(tmp_path):
    (tmp_path / "fake_shard_methods_for_hook.py").write_text(FAKE_SHARD_METHODS)
    pool = ShardWorkers(1, tmp_path, SECRET, "test-node", "WARNING", logging.getLogger("test.pool"),
                        log_to_file=False, methods_module="fake_shard_methods_for_hook",
                        extra_environment={"PYTHONPATH": str(tmp_path)})
    from node.workers.errors import ShardNotHostedError

    async def reopen(index_uuid, shard_number, payload, body):
        if shard_number == 1:
            return None  # "deleted meanwhile"
        return {"settings": {"mapping_version": 2}}, b""

    pool.set_reopen_hook(reopen)
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        await pool.call("uuid-e", 0, "open_shard", {"settings": {"mapping_version": 1}})
        await pool.call("uuid-e", 1, "open_shard", {"settings": {"mapping_version": 1}})
        first, _ = await pool.call("uuid-e", 0, "ping", {})
        os.kill(first["pid"], signal.SIGKILL)
        with trio.fail_after(60):
            while True:
                try:
                    described, _ = await pool.call("uuid-e", 0, "describe_shard", {})
                    break
                except WorkerUnavailableError:
                    await trio.sleep(0.05)
        assert described == {"opened_with": {"mapping_version": 2}}
        with pytest.raises(ShardNotHostedError):
            await pool.call("uuid-e", 1, "describe_shard", {})
        assert ("uuid-e", 1) not in pool.opened_shards
        await pool.shutdown()


async def test_workers_that_cannot_start_fail_the_pool_start_with_a_reason(tmp_path):
    (tmp_path / "broken_shard_methods_for_pool.py").write_text("raise ImportError('broken on purpose')\n")
    pool = ShardWorkers(1, tmp_path, SECRET, "test-node", "CRITICAL", logging.getLogger("test.pool"),
                        log_to_file=False, methods_module="broken_shard_methods_for_pool",
                        extra_environment={"PYTHONPATH": str(tmp_path)}, ready_timeout_seconds=3)
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        with pytest.raises(WorkerUnavailableError, match=r"shard workers \[0\] did not start within 3s"):
            await pool.wait_until_ready()
        await pool.shutdown()


def test_the_shards_of_one_index_spread_over_every_worker():
    import uuid

    for _ in range(200):
        index_uuid = uuid.uuid4().hex
        for worker_count in (2, 3, 4):
            workers = {worker_for_shard(index_uuid, n, worker_count) for n in range(worker_count)}
            assert workers == set(range(worker_count)), (index_uuid, worker_count)
