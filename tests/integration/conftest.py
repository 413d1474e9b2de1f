"""Fixtures that run real ``quidditch node`` processes (owned by node-core; shared by everyone).

    node                  one node shared by the tests of a module (fast; do not stop it)
    fresh_node            a node of your own for one test (stop/kill/restart it freely)
    node_factory          start_node(**flags) as many times as you like, start_cluster(3) for
                          voters sharing a secret on free Raft ports; all torn down after
    base_url              "http://127.0.0.1:<port>" of ``node``
    opensearch_client     opensearch-py client on ``node``
    elasticsearch_client  elasticsearch-py 7.17 client on ``node``

Each node is ``sys.executable -m node --data <tmp> --http-port 0 --transport-port 0 --raft-port 0``
in its own process group; the fixture reads <data>/ports.json, waits until ``GET /`` shows a
bootstrapped cluster uuid and ``GET /_cluster/health`` answers 200 (skipped while node/api has no
health endpoint), and on teardown sends SIGTERM, waits, then
SIGKILLs the group. When a test fails, the tail of each node's log is printed into its report.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

STARTUP_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 20.0
LOG_TAIL_LINES = 80


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def free_ports(count: int) -> list[int]:
    """Ports free right now (bound together so they differ; a small race with other processes)."""
    import socket

    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


@dataclass
class RunningNode:
    data_directory: Path
    flags: dict[str, str]
    output_path: Path
    process: subprocess.Popen | None = None
    ports: dict = field(default_factory=dict)
    environment: dict = field(default_factory=dict)   # added to the node process's environment

    @property
    def base_url(self) -> str:
        return f"http://{self.ports['http']['address']}"

    @property
    def http_port(self) -> int:
        return self.ports["http"]["port"]

    @property
    def log_path(self) -> Path:
        return self.data_directory / "logs" / "node.log"

    def command(self) -> list[str]:
        # -P: never put the working directory (the data directory) on sys.path, or a folder
        # there named like one of our top-level packages (index, raft, udf) would shadow it
        arguments = [sys.executable, "-P", "-m", "node", "--data", str(self.data_directory)]
        for flag, value in self.flags.items():
            arguments += [f"--{flag}", str(value)]
        return arguments

    def start(self) -> RunningNode:
        self.launch()
        return self.wait_until_ready()

    def launch(self) -> None:
        """Start the process without waiting (cluster members need each other to get ready)."""
        ports_file = self.data_directory / "ports.json"
        if ports_file.exists():
            ports_file.unlink()  # never read a previous run's ports
        self.data_directory.mkdir(parents=True, exist_ok=True)
        with open(self.output_path, "ab") as output:
            self.process = subprocess.Popen(self.command(), stdout=output, stderr=subprocess.STDOUT,
                                            start_new_session=True, cwd=self.data_directory,
                                            env={**os.environ, **self.environment} if self.environment else None)

    def wait_until_ready(self) -> RunningNode:
        ports_file = self.data_directory / "ports.json"
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"node exited with code {self.process.returncode} during start-up:\n"
                                   + self.log_tail())
            if ports_file.exists():
                try:
                    ports = json.loads(ports_file.read_text())
                except ValueError:
                    ports = {}
                if ports.get("pid") == self.process.pid:
                    self.ports = ports
                    break
            time.sleep(0.05)
        else:
            self.kill()
            raise RuntimeError("node did not write ports.json in time:\n" + self.log_tail())
        while time.monotonic() < deadline:
            if self.is_ready():
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"node exited with code {self.process.returncode}:\n" + self.log_tail())
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("node did not become ready in time:\n" + self.log_tail())

    def is_ready(self) -> bool:
        """Bootstrapped (GET / shows a cluster uuid) and, when node/api serves it, healthy."""
        try:
            status, body = http_get(self.base_url + "/")
            if status != 200 or json.loads(body).get("cluster_uuid") in (None, "_na_"):
                return False
            status, body = http_get(self.base_url + "/_cluster/health")
            # 400 "no handler found": node/api has no health endpoint yet; the root is enough
            return status == 200 or (status == 400 and b"no handler found" in body)
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def stop(self, timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> int | None:
        """SIGTERM, wait, then SIGKILL the group. Returns the exit code (None if killed)."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_seconds)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        finally:
            self.kill_group()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.kill_group()

    def kill_group(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group: workers included
        except (ProcessLookupError, PermissionError):
            pass

    def restart(self) -> RunningNode:
        self.stop()
        return self.start()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        parts = []
        # the JSON log and stderr carry the same events; stderr adds what came before logging
        for path, wanted in ((self.output_path, 15), (self.log_path, lines)):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-wanted:]
                parts.append(f"--- {path} (last {len(text)} lines) ---\n" + "\n".join(text))
        return "\n".join(parts)


class NodeFactory:
    def __init__(self, base_directory: Path) -> None:
        self.base_directory = base_directory
        self.nodes: list[RunningNode] = []

    def start_node(self, name: str | None = None, data_directory: Path | None = None,
                   **flags: object) -> RunningNode:
        name = name or f"node-{len(self.nodes)}"
        defaults = {"name": name, "http-port": 0, "transport-port": 0, "raft-port": 0,
                    "workers": 2, "log-level": "INFO"}
        merged = {**defaults, **{key.replace("_", "-"): value for key, value in flags.items()}}
        directory = data_directory or self.base_directory / name
        node = RunningNode(directory, {key: str(value) for key, value in merged.items()},
                           self.base_directory / f"{name}.out")
        self.nodes.append(node)
        return node.start()

    def start_cluster(self, count: int = 3, prefix: str = "member", per_node_flags: list[dict] | None = None,
                      per_node_environment: list[dict] | None = None, **flags: object) -> list[RunningNode]:
        """``count`` voters on free Raft ports sharing one secret file, started together;
        ``per_node_flags[i]`` / ``per_node_environment[i]`` add flags / environment variables
        for the i-th node only."""
        raft_ports = free_ports(count)
        seeds = ",".join(f"127.0.0.1:{port}" for port in raft_ports)
        secret_file = self.base_directory / f"{prefix}-cluster.secret"
        secret_file.write_text(os.urandom(32).hex())
        members = []
        for number, raft_port in enumerate(raft_ports):
            name = f"{prefix}-{number}"
            merged = {"name": name, "http-port": 0, "transport-port": 0, "raft-port": raft_port,
                      "seed-hosts": seeds, "cluster-secret-file": secret_file, "workers": 1,
                      "log-level": "INFO", **{key.replace("_", "-"): value for key, value in flags.items()},
                      **(per_node_flags[number] if per_node_flags else {})}
            member = RunningNode(self.base_directory / name, {k: str(v) for k, v in merged.items()},
                                 self.base_directory / f"{name}.out",
                                 environment=dict(per_node_environment[number]) if per_node_environment else {})
            self.nodes.append(member)
            member.launch()
            members.append(member)
        ready = [member.wait_until_ready() for member in members]
        # each node is ready once it knows the cluster; the cluster is formed once every member
        # is registered in its state, so an index created next spreads over all of them (a node
        # that registers later would only get shards by relocation, racing the test's searches)
        for member in ready:
            status, body = http_get(f"{member.base_url}/_cluster/health?wait_for_status=green&wait_for_nodes={count}&timeout=60s", timeout=70.0)
            health = json.loads(body)
            if status != 200 or health.get("timed_out") or health.get("number_of_nodes") != count:
                raise RuntimeError(f"the cluster did not form ({status} {health}):\n" + self.logs())
        return ready

    def close(self) -> None:
        for node in self.nodes:
            node.stop()

    def logs(self) -> str:
        return "\n".join(node.log_tail() for node in self.nodes)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)
    if report.when == "call" and report.failed:
        for factory in getattr(item, "quidditch_factories", []):
            report.sections.append(("quidditch node logs", factory.logs()))


def attach(request, factory: NodeFactory) -> None:
    request.node.quidditch_factories = [*getattr(request.node, "quidditch_factories", []), factory]


@pytest.fixture
def node_factory(request, tmp_path):
    factory = NodeFactory(tmp_path)
    attach(request, factory)
    yield factory
    factory.close()


@pytest.fixture
def fresh_node(node_factory):
    return node_factory.start_node()


@pytest.fixture(scope="module")
def module_node_factory(tmp_path_factory):
    factory = NodeFactory(tmp_path_factory.mktemp("nodes"))
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def node(module_node_factory):
    return module_node_factory.start_node("shared")


@pytest.fixture(autouse=True)
def attach_module_node_logs(request):
    # the module-scoped nodes' logs belong in the report of any failing test that used them
    if "node" in request.fixturenames:
        attach(request, request.getfixturevalue("module_node_factory"))


@pytest.fixture
def base_url(node):
    return node.base_url


@pytest.fixture(scope="module")
def opensearch_client(node):
    from opensearchpy import OpenSearch

    client = OpenSearch(hosts=[node.base_url], timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="module")
def elasticsearch_client(node):
    from elasticsearch import Elasticsearch

    client = Elasticsearch(hosts=[node.base_url], timeout=30)
    yield client
    client.close()


def json_call(base_url: str, method: str, path: str, body: object = None,
              timeout_seconds: float = 120.0) -> tuple[int, object]:
    """One JSON request to a node over real HTTP: (status, decoded body), errors included."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture(scope="session")
def call():
    """``call(base_url, method, path, body=None)`` → (status, JSON body): tests' one HTTP helper."""
    return json_call


def poll_until(condition: Any, seconds: float = 90.0, interval_seconds: float = 0.2) -> bool:
    """True as soon as ``condition()`` is true, False once ``seconds`` passed without it (the
    caller asserts, naming what it waited for; no test sleeps a fixed time for a state)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_seconds)
    return False


@pytest.fixture(scope="session")
def wait_until():
    """``wait_until(condition, seconds=90.0)`` → whether the condition came true in time."""
    return poll_until
