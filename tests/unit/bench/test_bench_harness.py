"""bench/harness.py: the pieces the HTTP benchmarks trust to count and time honestly."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import orjson
import pytest



def _load_bench_harness():
    # by file path, never by putting bench/ on sys.path: bench/udf.py would then shadow the udf
    # package for every test collected after this one
    import importlib.util

    path = Path(__file__).resolve().parents[3] / "bench" / "harness.py"
    specification = importlib.util.spec_from_file_location("quidditch_bench_harness", path)
    module = importlib.util.module_from_spec(specification)
    sys.modules[specification.name] = module  # dataclasses look their module up while building
    specification.loader.exec_module(module)
    return module


harness = _load_bench_harness()


def test_bulk_bodies_pair_each_corpus_line_with_an_index_action_whose_id_is_its_line_number():
    lines = [orjson.dumps({"body": f"text {number}"}) for number in range(5)]
    bodies = harness.bulk_bodies(lines, "bench", docs_per_request=2)
    assert len(bodies) == 3
    all_lines = b"".join(bodies).split(b"\n")[:-1]
    actions, sources = all_lines[0::2], all_lines[1::2]
    assert [orjson.loads(action)["index"]["_id"] for action in actions] == ["0", "1", "2", "3", "4"]
    assert {orjson.loads(action)["index"]["_index"] for action in actions} == {"bench"}
    assert sources == lines
    assert all(body.endswith(b"\n") for body in bodies)


def test_a_bulk_response_with_a_failed_item_raises_instead_of_being_counted():
    failed = orjson.dumps({"errors": True, "items": [
        {"index": {"_id": "1", "status": 201}},
        {"index": {"_id": "2", "status": 429, "error": {"type": "es_rejected_execution_exception"}}}]})
    with pytest.raises(RuntimeError, match="es_rejected_execution_exception"):
        harness.check_bulk_response(200, failed)
    with pytest.raises(RuntimeError, match="503"):
        harness.check_bulk_response(503, b"{}")
    succeeded = orjson.dumps({"errors": False, "items": [{"index": {"status": 201}}] * 3})
    assert harness.check_bulk_response(200, succeeded) == 3


def test_proc_readings_find_a_child_process_and_its_cpu_and_memory():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        parent_pid, cpu_seconds, rss_bytes = harness.read_process_stat(os.getpid())
        assert parent_pid == os.getppid()
        assert cpu_seconds > 0 and rss_bytes > 0
        assert child.pid in harness.process_family(os.getpid())
        sample = harness.sample_family(os.getpid())
        assert sample.role_by_pid[os.getpid()] == "front"
        assert child.pid in sample.cpu_seconds_by_pid
    finally:
        child.communicate(b"")
    assert harness.read_process_stat(child.pid) is None  # reaped: gone from /proc


def test_family_usage_reports_the_cpu_spent_between_two_samples_as_a_share_of_a_core():
    before = harness.FamilySample({1: 1.0, 2: 0.5}, {1: 10_000_000, 2: 0}, {1: "front", 2: "worker"})
    after = harness.FamilySample({1: 3.0, 2: 0.5, 3: 1.0}, {1: 20_000_000, 2: 0, 3: 5_000_000},
                                 {1: "front", 2: "worker", 3: "worker"})
    usage = harness.family_usage(before, after, wall_seconds=4.0)
    by_pid = {process["pid"]: process for process in usage["processes"]}
    assert by_pid[1]["cpu_s"] == 2.0 and by_pid[1]["core_share"] == 0.5
    assert by_pid[2]["cpu_s"] == 0.0
    assert by_pid[3]["cpu_s"] == 1.0  # a process born during the interval counts from zero
    assert usage["total_cpu_s"] == 3.0
    assert usage["total_rss_mb"] == 25.0


class _EchoPathHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 — the stdlib's naming
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        answer = orjson.dumps({"path": self.path, "body_length": len(body)})
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *arguments):
        pass


def test_concurrent_clients_return_every_result_in_the_order_of_the_work_items():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoPathHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        items = [f"/item/{number}" for number in range(40)]
        _, results = harness.run_clients(
            4, items, lambda: harness.HttpClient("127.0.0.1", port, 10),
            lambda client, path: orjson.loads(client.request("POST", path, b"x" * 3)[1]))
        assert [result["path"] for result in results] == items
        assert {result["body_length"] for result in results} == {3}
    finally:
        server.shutdown()
        server.server_close()


def test_an_exception_in_one_client_stops_the_run_and_reaches_the_caller():
    def handle(client, item):
        if item == 3:
            raise ValueError("item 3 failed")
        return item

    class NoClient:
        def close(self):
            pass

    with pytest.raises(ValueError, match="item 3 failed"):
        harness.run_clients(2, list(range(10)), NoClient, handle)
