"""Which worker a shard lives on (ADR 0370): the node's copies of one index spread over its
workers whatever shard numbers the node holds, and a shard never moves once routed."""

import logging
import uuid

from node.workers.pool import ShardWorkers, worker_for_shard

SECRET = b"w" * 32


def make_pool(tmp_path, worker_count):
    # never run: worker_for is decided in the front, before any process is asked anything
    return ShardWorkers(worker_count, tmp_path, SECRET, "test-node", "WARNING",
                        logging.getLogger("test.placement"), log_to_file=False)


def test_shards_zero_and_two_of_an_index_go_to_different_workers_of_two(tmp_path):
    # the three-node bench's placement: a node holding shards 0 and 2 of a 3-shard index, where
    # crc32 + shard number alone puts both on one worker
    for _ in range(50):
        index_uuid = uuid.uuid4().hex
        assert worker_for_shard(index_uuid, 0, 2) == worker_for_shard(index_uuid, 2, 2)
        pool = make_pool(tmp_path, 2)
        assert {pool.worker_for(index_uuid, 0), pool.worker_for(index_uuid, 2)} == {0, 1}


def test_any_two_shards_of_an_index_go_to_different_workers_whichever_is_routed_first(tmp_path):
    for first, second in ((0, 2), (2, 0), (1, 2), (2, 1), (0, 1), (1, 0), (3, 5)):
        pool = make_pool(tmp_path, 2)
        index_uuid = uuid.uuid4().hex
        assert pool.worker_for(index_uuid, first) != pool.worker_for(index_uuid, second)


def test_the_first_shard_routed_goes_where_crc32_puts_it(tmp_path):
    for _ in range(20):
        index_uuid = uuid.uuid4().hex
        pool = make_pool(tmp_path, 3)
        assert pool.worker_for(index_uuid, 4) == worker_for_shard(index_uuid, 4, 3)


def test_shards_routed_in_number_order_land_where_crc32_puts_them(tmp_path):
    for _ in range(20):
        index_uuid = uuid.uuid4().hex
        for worker_count in (2, 3, 4):
            pool = make_pool(tmp_path, worker_count)
            assert [pool.worker_for(index_uuid, n) for n in range(8)] == [
                worker_for_shard(index_uuid, n, worker_count) for n in range(8)]


def test_a_routed_shard_keeps_its_worker_while_others_come_and_go(tmp_path):
    pool = make_pool(tmp_path, 2)
    index_uuid = uuid.uuid4().hex
    kept = pool.worker_for(index_uuid, 2)
    for other in (0, 1, 3, 4, 5):
        pool.worker_for(index_uuid, other)
        pool.worker_for(uuid.uuid4().hex, other)
        assert pool.worker_for(index_uuid, 2) == kept


def test_an_index_with_more_shards_than_workers_fills_them_evenly(tmp_path):
    pool = make_pool(tmp_path, 2)
    index_uuid = uuid.uuid4().hex
    workers = [pool.worker_for(index_uuid, n) for n in (0, 2, 4, 6, 8)]
    assert sorted(workers.count(number) for number in (0, 1)) == [2, 3]


def test_a_second_index_starts_on_the_least_busy_worker(tmp_path):
    pool = make_pool(tmp_path, 2)
    first_index, second_index = uuid.uuid4().hex, uuid.uuid4().hex
    busy = pool.worker_for(first_index, 0)
    # with one shard on each side of the tie (same-index counts are equal, 0 and 0), the worker
    # without a shard yet is chosen
    assert pool.worker_for(second_index, 0) == 1 - busy
