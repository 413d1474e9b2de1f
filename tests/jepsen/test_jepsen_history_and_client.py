"""The history file round-trips and pairs operations per process; HTTP answers map to
outcomes so that only a definite refusal is "fail" and silence is "info"; the CLI refuses bad
arguments."""

from __future__ import annotations

import http.server
import json
import socket
import threading

import pytest

from jepsen_lite.cli import main
from jepsen_lite.client import NodeClient, outcome_of_status
from jepsen_lite.cluster import parse_fault_commands
from jepsen_lite.history import History, pair_operations, read_history


def test_history_jsonl_reads_back_the_records_it_wrote(tmp_path):
    history = History(tmp_path / "history.jsonl")
    invocation = history.invoke(3, "cas", {"key": "k", "expected": 1, "new": 2}, "n1")
    history.complete(invocation, "fail", None)
    history.close()
    records = read_history(tmp_path / "history.jsonl")
    assert [(r.index, r.process, r.type, r.f, r.node) for r in records] == [(0, 3, "invoke", "cas", "n1"),
                                                                          (1, 3, "fail", "cas", "n1")]
    assert records[0].value == {"key": "k", "expected": 1, "new": 2}


def test_a_process_invoking_twice_without_completing_is_a_broken_history():
    history = History()
    history.invoke(0, "add", "a", None)
    history.invoke(0, "add", "b", None)
    with pytest.raises(ValueError, match="still outstanding"):
        pair_operations(history.snapshot())


def test_only_definite_refusals_are_failures():
    assert [outcome_of_status(s) for s in (200, 201, 400, 404, 409, 429, 408, 500, 503, 0)] == \
        ["ok", "ok", "fail", "fail", "fail", "fail", "info", "info", "info", "info"]


def test_a_node_that_never_answers_gives_an_unknown_outcome_not_a_failure():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection and never answers
    try:
        client = NodeClient(f"127.0.0.1:{listener.getsockname()[1]}", timeout_seconds=0.3)
        answer = client.index_document("i", "1", {"a": 1})
        assert answer.status == 0 and answer.outcome == "info" and answer.error
    finally:
        listener.close()


class BulkHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 — http.server's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        body = (b'{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":429}},'
                b'{"index":{"status":503}}]}')
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *arguments):
        pass


def test_bulk_items_get_their_own_outcomes():
    server = http.server.HTTPServer(("127.0.0.1", 0), BulkHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = NodeClient(f"127.0.0.1:{server.server_address[1]}")
        _, outcomes = client.bulk_index("i", [("a", {}), ("b", {}), ("c", {})])
        assert outcomes == ["ok", "fail", "info"]
        client.close()
    finally:
        server.shutdown()


def test_fault_commands_name_a_known_action():
    assert parse_fault_commands(["kill=ssh {host} pkill -9 quidditch"]) == {"kill": "ssh {host} pkill -9 quidditch"}
    with pytest.raises(ValueError, match="expected ACTION=COMMAND"):
        parse_fault_commands(["explode=rm -rf /"])


def test_the_cli_refuses_unknown_workloads_and_nemeses_with_exit_code_2(capsys):
    for arguments in (["run", "--workload", "bank"], ["run", "--nemesis", "meteor"]):
        with pytest.raises(SystemExit) as exit_info:
            main(arguments)
        assert exit_info.value.code == 2
    assert "expected names from" in capsys.readouterr().err


class PagingSearchHandler(http.server.BaseHTTPRequestHandler):
    """A node holding 25 documents that answers 10 per page through a scroll."""

    pages = [[f"d{n}" for n in range(start, min(start + 10, 25))] for start in range(0, 30, 10)] + [[]]
    served: list = []

    def answer(self, ids, scroll_id):
        body = json.dumps({"_scroll_id": scroll_id, "_shards": {"total": 1, "successful": 1, "failed": 0},
                           "hits": {"hits": [{"_id": i} for i in ids]}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802 — http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        number = len(PagingSearchHandler.served)
        PagingSearchHandler.served.append(self.path)
        self.answer(PagingSearchHandler.pages[number], "scroll-1")

    def do_DELETE(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        PagingSearchHandler.served.append("DELETE " + self.path)
        self.answer([], None)

    def log_message(self, *arguments):
        pass


def test_search_ids_reads_every_page_of_a_scroll_and_clears_it():
    PagingSearchHandler.served = []
    server = http.server.HTTPServer(("127.0.0.1", 0), PagingSearchHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = NodeClient(f"127.0.0.1:{server.server_address[1]}")
        outcome, ids, _ = client.search_ids("set", size=10)
        assert outcome == "ok" and ids == [f"d{n}" for n in range(25)]
        assert PagingSearchHandler.served[0].startswith("/set/_search?scroll=")
        assert PagingSearchHandler.served[-1] == "DELETE /_search/scroll"
        client.close()
    finally:
        server.shutdown()
