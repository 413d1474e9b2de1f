"""node/workers/worker_main.py serve_front: a search's shard phase is answered by the reading
thread itself when nothing else is outstanding on the worker, and goes to a method thread (as
before) while another request is still being served; the cheap inline methods always stay on
the reading thread."""

import logging
import socket
import threading

from node.transport.framing import BlockingFrameSocket
from node.workers.search_service import INLINE_WHEN_IDLE_METHODS
from node.workers.worker_main import load_inline_when_idle_methods, serve_front

SECRET = b"k" * 32
READER_THREAD_NAME = "worker-reader-under-test"


def start_worker(release_slow: threading.Event):
    def where(registry, payload, body):
        return {"thread": threading.current_thread().name}, b""

    def slow(registry, payload, body):
        if not release_slow.wait(60):
            raise RuntimeError("slow was never released")
        return {"thread": threading.current_thread().name}, b""

    methods = {"search_shard": where, "ping": where, "slow": slow, "write": where}
    front_end, worker_end = socket.socketpair()
    worker_frames = BlockingFrameSocket(worker_end, SECRET)
    outcome = {}

    def run():
        outcome["dispatch"] = serve_front(worker_frames, None, methods, 2, logging.getLogger("test.worker"),
                                          frozenset({"ping"}), frozenset({"search_shard"}))
        worker_frames.close()

    reader = threading.Thread(target=run, name=READER_THREAD_NAME, daemon=True)
    reader.start()
    front_end.settimeout(60)   # a dispatch mistake fails the test instead of hanging it
    return BlockingFrameSocket(front_end, SECRET), reader, outcome


def call(front: BlockingFrameSocket, request_id: int, method: str) -> None:
    front.send_frame({"id": request_id, "kind": "request", "method": method, "payload": {}})


def replies(front: BlockingFrameSocket, count: int) -> dict[int, str]:
    answered = {}
    for _ in range(count):
        header, _ = front.receive_frame()
        assert header["kind"] == "response", header
        answered[header["id"]] = header["payload"]["thread"]
    return answered


def test_a_shard_search_on_an_idle_worker_is_answered_by_the_reading_thread_and_waits_for_nothing():
    release_slow = threading.Event()
    front, reader, outcome = start_worker(release_slow)
    try:
        call(front, 1, "search_shard")
        assert replies(front, 1) == {1: READER_THREAD_NAME}
        call(front, 2, "write")
        assert replies(front, 1)[2] != READER_THREAD_NAME
        # the write was answered: the worker is idle again
        call(front, 3, "search_shard")
        assert replies(front, 1) == {3: READER_THREAD_NAME}
    finally:
        release_slow.set()
        front.close()
        reader.join(30)
    assert outcome["dispatch"].answered_inline_when_idle == 2
    assert outcome["dispatch"].outstanding == 0


def test_a_shard_search_arriving_while_another_request_is_outstanding_goes_to_a_method_thread():
    release_slow = threading.Event()
    front, reader, outcome = start_worker(release_slow)
    try:
        call(front, 1, "slow")
        call(front, 2, "search_shard")
        call(front, 3, "ping")
        # the search is answered while slow still runs: it did not wait behind it on the reader
        first_two = replies(front, 2)
        assert first_two[2] not in (READER_THREAD_NAME,) and first_two[3] == READER_THREAD_NAME
        release_slow.set()
        assert replies(front, 1)[1] != READER_THREAD_NAME
    finally:
        release_slow.set()
        front.close()
        reader.join(30)
    assert outcome["dispatch"].answered_inline_when_idle == 0
    assert outcome["dispatch"].outstanding == 0


def test_the_node_answers_search_phases_inline_when_idle_and_the_round_trip_tool_keeps_its_thread_hop():
    assert {"search_shard", "fetch", "count"} <= INLINE_WHEN_IDLE_METHODS
    assert load_inline_when_idle_methods() == INLINE_WHEN_IDLE_METHODS
    assert load_inline_when_idle_methods("node.workers.round_trip") == frozenset()
