"""A real node process: start-up, GET /, ports.json, HTTP-layer limits, clean shutdown."""

import json
import socket
import urllib.request

import pytest

pytestmark = pytest.mark.integration


def request(url, method="GET", body=None, headers=None):
    prepared = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_opensearch_py_info_reports_version_7_10_2(opensearch_client):
    info = opensearch_client.info()
    assert info["version"]["number"] == "7.10.2"
    assert info["version"]["distribution"] == "quidditch"
    assert info["version"]["build_flavor"] == "default"
    assert info["tagline"] == "You Know, for Search"
    assert info["cluster_name"] == "quidditch"
    assert info["name"] == "shared"


def test_elasticsearch_py_7_accepts_the_node_as_elasticsearch(elasticsearch_client):
    info = elasticsearch_client.info()
    assert info["version"]["number"] == "7.10.2"


def test_ports_file_names_the_addresses_the_node_listens_on(node):
    ports = json.loads((node.data_directory / "ports.json").read_text())
    assert ports["pid"] == node.process.pid
    status, _, _ = request(f"http://{ports['http']['address']}/")
    assert status == 200
    for listener in ("transport", "raft"):
        with socket.create_connection((ports[listener]["host"], ports[listener]["port"]), timeout=5):
            pass
    assert len({ports[name]["port"] for name in ("http", "transport", "raft")}) == 3


def test_head_root_answers_200_without_a_body(base_url):
    status, _, body = request(base_url + "/", method="HEAD")
    assert status == 200
    assert body == b""


def test_x_opaque_id_is_echoed_and_compatible_media_types_are_answered_in_kind(base_url):
    status, headers, body = request(base_url + "/", headers={
        "X-Opaque-Id": "trace-42", "Accept": "application/vnd.elasticsearch+json; compatible-with=7"})
    assert status == 200
    assert headers["X-Opaque-Id"] == "trace-42"
    assert headers["content-type"] == "application/vnd.elasticsearch+json; compatible-with=7"
    assert json.loads(body)["tagline"] == "You Know, for Search"


def test_a_body_of_an_unsupported_content_type_is_refused_with_406(base_url):
    status, _, body = request(base_url + "/", method="POST", body=b"a=1",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 406
    assert "is not supported" in json.loads(body)["error"]


def test_an_unknown_endpoint_answers_400_no_handler_found(base_url):
    status, _, body = request(base_url + "/_no/such/endpoint/here")
    assert status == 400
    assert json.loads(body)["error"].startswith("no handler found for uri [/_no/such/endpoint/here]")


def test_prometheus_metrics_count_requests_by_route(base_url):
    request(base_url + "/")
    status, headers, body = request(base_url + "/_prometheus/metrics")
    assert status == 200
    text = body.decode()
    assert 'quidditch_http_requests_total{endpoint="/",method="GET",status="200"}' in text
    assert "quidditch_http_request_duration_seconds_bucket" in text


def test_a_body_over_the_limit_gets_413_whether_declared_or_chunked(node_factory):
    import http.client

    small = node_factory.start_node("small-bodies", max_content_length="1kb", workers=1)
    status, _, body = request(small.base_url + "/", method="POST", body=b"x" * 4096,
                              headers={"Content-Type": "application/json"})
    assert status == 413
    error = json.loads(body)
    assert error["status"] == 413
    assert error["error"]["type"] == "content_too_long_exception"
    assert error["error"]["root_cause"][0]["type"] == "content_too_long_exception"
    assert "1024 bytes" in error["error"]["reason"]
    # no Content-Length: the limit trips while the handler reads the chunks
    connection = http.client.HTTPConnection("127.0.0.1", small.http_port, timeout=30)
    chunks = (b"x" * 512 for _ in range(8))
    connection.request("POST", "/_bulk", body=chunks, encode_chunked=True,
                       headers={"Content-Type": "application/x-ndjson"})
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["error"]["type"] == "content_too_long_exception"
    connection.close()


def test_sigterm_stops_the_node_cleanly_and_a_restart_keeps_its_ids(node_factory):
    running = node_factory.start_node("to-stop", workers=1)
    first_ports = json.loads((running.data_directory / "ports.json").read_text())
    _, _, body = request(running.base_url + "/")
    first_uuid = json.loads(body)["cluster_uuid"]
    assert running.stop(timeout_seconds=20) == 0
    log_lines = [json.loads(line) for line in running.log_path.read_text().splitlines() if line.strip()]
    messages = [line["message"] for line in log_lines]
    assert "shutting down" in messages
    assert messages.index("node stopped") > messages.index("shutting down")
    assert all({"timestamp", "level", "logger", "message", "node", "request_id"} <= set(line)
               for line in log_lines)
    running.start()
    second_ports = json.loads((running.data_directory / "ports.json").read_text())
    assert second_ports["node_id"] == first_ports["node_id"]
    _, _, body = request(running.base_url + "/")
    assert json.loads(body)["cluster_uuid"] == first_uuid


def test_a_busy_http_port_stops_the_node_with_a_readable_reason(tmp_path):
    import subprocess
    import sys

    with socket.socket() as occupier:
        occupier.bind(("127.0.0.1", 0))
        occupier.listen()
        busy_port = occupier.getsockname()[1]
        completed = subprocess.run(
            [sys.executable, "-m", "node", "--data", str(tmp_path), "--http-port", str(busy_port),
             "--transport-port", "0", "--raft-port", "0", "--workers", "1"],
            capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1
    assert f"cannot listen for HTTP (--http-host/--http-port) on 127.0.0.1:{busy_port}" in completed.stderr


def test_a_second_signal_during_shutdown_exits_at_once(node_factory):
    import signal
    import threading
    import time

    running = node_factory.start_node("impatient", workers=1)
    # an in-flight request keeps the graceful HTTP shutdown busy for its full grace period
    def hold_a_request_open():
        try:
            request(running.base_url + "/_cluster/health?wait_for_nodes=9&timeout=30s")
        except OSError:
            pass  # the node is killed under it: expected

    slow = threading.Thread(target=hold_a_request_open, daemon=True)
    slow.start()
    time.sleep(0.5)
    running.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "shutting down" not in running.log_path.read_text():
        time.sleep(0.02)
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(30) == 130
    assert "second signal: exiting at once" in running.log_path.read_text()
