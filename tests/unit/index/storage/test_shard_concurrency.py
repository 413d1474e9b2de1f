"""Writers, refreshes, searches and merges on several threads: no errors, nothing lost."""

from __future__ import annotations

import threading

import orjson

from index.operations import DeleteOperation, IndexOperation
from index.shard import Shard, ShardSettings


def test_concurrent_writers_searchers_and_merges_lose_nothing(tmp_path, stub_mapping, stub_analysis):
    shard = Shard.open(tmp_path, ShardSettings(merge_segments_per_tier=2), stub_mapping, stub_analysis)
    errors: list[BaseException] = []
    writers_done = threading.Event()

    def guarded(function):
        def run(*args):
            try:
                function(*args)
            except BaseException as error:  # surfaced by the assertion below
                errors.append(error)
        return run

    @guarded
    def writer(writer_number: int) -> None:
        for batch in range(20):
            operations = [IndexOperation(f"w{writer_number}-{batch}-{k}",
                                         orjson.dumps({"title": f"word{k} writer{writer_number}"}))
                          for k in range(10)]
            operations.append(DeleteOperation(f"w{writer_number}-{batch}-0"))
            results = shard.apply_as_primary(operations, 1)
            assert all(result.error is None for result in results)

    @guarded
    def refresher_and_searcher() -> None:
        while not writers_done.is_set():
            shard.refresh()
            searcher = shard.acquire_searcher()
            for segment in searcher.segments:
                live = segment.live_docs()
                for doc in segment.postings("title", "word3") & live:
                    assert segment.document_id(doc).endswith("-3")

    @guarded
    def merger() -> None:
        while not writers_done.is_set():
            shard.maybe_merge()

    background = [threading.Thread(target=refresher_and_searcher), threading.Thread(target=merger)]
    writers = [threading.Thread(target=writer, args=(number,)) for number in range(4)]
    for thread in background + writers:
        thread.start()
    for thread in writers:
        thread.join()
    writers_done.set()
    for thread in background:
        thread.join()
    assert not errors, errors
    shard.force_merge(1)
    expected = {f"w{w}-{b}-{k}" for w in range(4) for b in range(20) for k in range(1, 10)}
    searcher = shard.acquire_searcher()
    live = {segment.document_id(doc) for segment in searcher.segments for doc in segment.live_docs()}
    assert live == expected
    assert shard.local_checkpoint == shard.max_seq_no == 4 * 20 * 11 - 1
    shard.close()
