"""bench/harness.py — what the over-HTTP benchmarks share: node processes, clients, /proc readings.

Owns: starting and stopping real ``python -m node`` processes for a benchmark (one node or a
cluster of voters), a keep-alive HTTP/1.1 client on the standard library (so the client costs
little CPU on a 2-core box that also runs the node), a thread pool of concurrent clients, CPU
seconds and RSS of a process family read from /proc, the bare hypercorn "hello" server (the HTTP
ceiling), and result rows in ../shared/bench's format.

Must never: import from node/ or index/ (a benchmark is a client, like a user), write inside the
repository (everything goes under DATA_DIR), or leave processes behind (every node is started in
its own process group and the group is killed on exit).
"""

from __future__ import annotations

import gc
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
REPOSITORY = Path(__file__).resolve().parent.parent
SHARED_BENCH = REPOSITORY.parent / "shared" / "bench"
if str(SHARED_BENCH) not in sys.path:
    sys.path.insert(0, str(SHARED_BENCH))

import bench_engines  # noqa: E402  (shared/bench, by path)

CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
PAGE_SIZE_BYTES = os.sysconf("SC_PAGE_SIZE")
STARTUP_TIMEOUT_SECONDS = 120.0

BENCH_MAPPING = {
    "properties": {
        "id": {"type": "long"},
        "src": {"type": "keyword"},
        "title": {"type": "text"},
        "body": {"type": "text"},
        "n_words": {"type": "integer"},
        "n_chars": {"type": "integer"},
    }
}


def load_now() -> str:
    """The 1/5/15-minute load averages, as `uptime` prints them (recorded next to every number)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


# ------------------------------------------------------------------------------------------ /proc


def read_process_stat(pid: int) -> tuple[int, float, int] | None:
    """(parent pid, CPU seconds user+system, RSS bytes) of one process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            text = stat_file.read().decode()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    fields = text[text.rindex(")") + 2:].split()
    parent_pid = int(fields[1])
    cpu_seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_SECOND
    rss_bytes = int(fields[21]) * PAGE_SIZE_BYTES
    return parent_pid, cpu_seconds, rss_bytes


def process_family(root_pid: int) -> list[int]:
    """root_pid and all its descendants (the front and its shard workers)."""
    children_of: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read_process_stat(int(entry))
            if stat is not None:
                children_of.setdefault(stat[0], []).append(int(entry))
    family, pending = [], [root_pid]
    while pending:
        pid = pending.pop()
        family.append(pid)
        pending.extend(children_of.get(pid, []))
    return family


def process_command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline_file:
            return cmdline_file.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


@dataclass
class FamilySample:
    """CPU seconds and RSS per process of a node's family at one instant."""
    cpu_seconds_by_pid: dict[int, float]
    rss_bytes_by_pid: dict[int, int]
    role_by_pid: dict[int, str]


def sample_family(root_pid: int) -> FamilySample:
    cpu, rss, roles = {}, {}, {}
    for pid in process_family(root_pid):
        stat = read_process_stat(pid)
        if stat is None:
            continue
        cpu[pid], rss[pid] = stat[1], stat[2]
        command_line = process_command_line(pid)
        if pid == root_pid:
            roles[pid] = "front"
        elif "worker" in command_line or "multiprocessing" in command_line:
            roles[pid] = "worker"
        else:
            roles[pid] = "child"
    return FamilySample(cpu, rss, roles)


def family_usage(before: FamilySample, after: FamilySample, wall_seconds: float) -> dict:
    """Per-process CPU seconds over an interval, as a share of one core, and RSS at the end."""
    processes = []
    for pid, cpu_after in sorted(after.cpu_seconds_by_pid.items()):
        cpu_seconds = cpu_after - before.cpu_seconds_by_pid.get(pid, 0.0)
        processes.append({
            "pid": pid, "role": after.role_by_pid.get(pid, "?"),
            "cpu_s": round(cpu_seconds, 2),
            "core_share": round(cpu_seconds / wall_seconds, 2) if wall_seconds > 0 else None,
            "rss_mb": round(after.rss_bytes_by_pid[pid] / 1e6, 1),
        })
    return {
        "processes": processes,
        "total_cpu_s": round(sum(p["cpu_s"] for p in processes), 2),
        "total_rss_mb": round(sum(p["rss_mb"] for p in processes), 1),
    }


# ------------------------------------------------------------------------------------------ HTTP


class HttpClient:
    """One keep-alive HTTP/1.1 connection (stdlib: ~50 µs of client CPU per small request)."""

    def __init__(self, host: str, port: int, timeout_seconds: float = 120.0) -> None:
        self.host, self.port, self.timeout_seconds = host, port, timeout_seconds
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str = "application/json") -> tuple[int, bytes]:
        headers = {"Content-Type": content_type} if body is not None else {}
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_seconds)
                self.connection.connect()
                # a request is one send (http.client joins headers and a bytes body); no Nagle wait
                self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # the server closed an idle keep-alive connection: reconnect once
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, document: object | None = None) -> tuple[int, object]:
        status, body = self.request(method, path, None if document is None else orjson.dumps(document))
        try:
            return status, orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            return status, body

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def run_clients(client_count: int, work_items: list, make_client, handle_item) -> tuple[float, list]:
    """Run handle_item(client, item) over work_items with client_count threads, each with its own
    client; items are taken in order from a shared cursor. Returns (wall seconds, results in item
    order). An exception in any client stops the run and is raised."""
    # The client process holds the corpus (a million lines at 1M) and the parsed queries: each full
    # cyclic collection walked all of it and stopped every client thread for 0.2-0.9 s (gc.callbacks
    # during bench/cluster.py --n 1000000: 29 such collections during the bulk phase), time that was
    # counted as the node's. What is alive now lives until the run ends: keep it out of collections.
    gc.collect()
    gc.freeze()
    results: list = [None] * len(work_items)
    cursor = iter(range(len(work_items)))
    cursor_lock = threading.Lock()
    failures: list[BaseException] = []

    def client_loop() -> None:
        client = make_client()
        try:
            while not failures:
                with cursor_lock:
                    index = next(cursor, None)
                if index is None:
                    return
                results[index] = handle_item(client, work_items[index])
        except BaseException as error:  # noqa: BLE001 — handed to the caller below
            failures.append(error)
        finally:
            client.close()

    threads = [threading.Thread(target=client_loop, daemon=True) for _ in range(client_count)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall_seconds = time.perf_counter() - start
    if failures:
        raise failures[0]
    return wall_seconds, results


# ------------------------------------------------------------------------------------------ nodes


@dataclass
class NodeProcess:
    """One ``python -m node`` in its own process group, with its data under DATA_DIR."""
    name: str
    data_directory: Path
    flags: dict[str, str]
    process: subprocess.Popen | None = None
    ports: dict = field(default_factory=dict)

    @property
    def http_port(self) -> int:
        return self.ports["http"]["port"]

    @property
    def pid(self) -> int:
        return self.process.pid

    def client(self, timeout_seconds: float = 120.0) -> HttpClient:
        return HttpClient("127.0.0.1", self.http_port, timeout_seconds)

    def launch(self) -> None:
        self.data_directory.mkdir(parents=True, exist_ok=True)
        ports_file = self.data_directory / "ports.json"
        if ports_file.exists():
            ports_file.unlink()
        arguments = [sys.executable, "-m", "node", "--data", str(self.data_directory)]
        for flag, value in self.flags.items():
            arguments += [f"--{flag}", str(value)]
        with open(self.data_directory.parent / f"{self.name}.out", "ab") as output:
            self.process = subprocess.Popen(arguments, stdout=output, stderr=subprocess.STDOUT,
                                            start_new_session=True, cwd=str(REPOSITORY))

    def wait_until_ready(self, timeout_seconds: float = STARTUP_TIMEOUT_SECONDS) -> NodeProcess:
        deadline = time.monotonic() + timeout_seconds
        ports_file = self.data_directory / "ports.json"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"node {self.name} exited with code {self.process.returncode}; "
                                   f"see {self.data_directory.parent / (self.name + '.out')}")
            if ports_file.exists():
                try:
                    ports = json.loads(ports_file.read_text())
                except ValueError:
                    ports = {}
                if ports.get("pid") == self.process.pid:
                    self.ports = ports
                    if self.is_ready():
                        return self
            time.sleep(0.05)
        raise RuntimeError(f"node {self.name} not ready within {timeout_seconds} s")

    def is_ready(self) -> bool:
        client = self.client(timeout_seconds=5.0)
        try:
            status, root = client.json("GET", "/")
            if status != 200 or not isinstance(root, dict) or root.get("cluster_uuid") in (None, "_na_"):
                return False
            status, _ = client.json("GET", "/_cluster/health")
            return status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            client.close()

    def kill(self, signal_number: int = signal.SIGKILL) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal_number)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM, a grace period, then SIGKILL of the whole group (workers included)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        self.kill(signal.SIGKILL)


def start_single_node(data_directory: Path, workers: int | None = None) -> NodeProcess:
    flags = {"name": "bench-node", "http-port": "0", "transport-port": "0", "raft-port": "0",
             "log-level": "WARNING"}
    if workers is not None:
        flags["workers"] = str(workers)
    node = NodeProcess("bench-node", data_directory / "bench-node", flags)
    node.launch()
    return node.wait_until_ready()


def start_cluster(base_directory: Path, count: int, workers: int = 1,
                  log_level: str = "WARNING") -> list[NodeProcess]:
    """count voters on free Raft ports sharing one secret, launched together (``log_level``: every
    node's --log-level; a restart is explained by the master's INFO lines)."""
    raft_ports = free_ports(count)
    seeds = ",".join(f"127.0.0.1:{port}" for port in raft_ports)
    base_directory.mkdir(parents=True, exist_ok=True)
    secret_file = base_directory / "cluster.secret"
    secret_file.write_text(os.urandom(32).hex())
    members = []
    for number, raft_port in enumerate(raft_ports):
        name = f"member-{number}"
        flags = {"name": name, "http-port": "0", "transport-port": "0", "raft-port": str(raft_port),
                 "seed-hosts": seeds, "cluster-secret-file": str(secret_file), "workers": str(workers),
                 "log-level": log_level}
        member = NodeProcess(name, base_directory / name, flags)
        member.launch()
        members.append(member)
    return [member.wait_until_ready() for member in members]


# ------------------------------------------------------------------------------------------ corpus


def read_corpus_lines(data_directory: Path, count: int) -> list[bytes]:
    lines = []
    with open(data_directory / "english.ndjson", "rb") as corpus:
        for line in corpus:
            if len(lines) >= count:
                break
            lines.append(line.rstrip(b"\n"))
    return lines


def bulk_bodies(lines: list[bytes], index_name: str, docs_per_request: int) -> list[bytes]:
    """`_bulk` NDJSON bodies: an index action with _id = the corpus id (the line number)."""
    bodies = []
    for start in range(0, len(lines), docs_per_request):
        parts = []
        for offset, line in enumerate(lines[start:start + docs_per_request]):
            parts.append(b'{"index":{"_index":"%s","_id":"%d"}}\n' % (index_name.encode(), start + offset))
            parts.append(line)
            parts.append(b"\n")
        bodies.append(b"".join(parts))
    return bodies


def check_bulk_response(status: int, body: bytes) -> int:
    """Number of items; raises if the request or any item failed (a benchmark never hides errors)."""
    if status != 200:
        raise RuntimeError(f"_bulk answered {status}: {body[:500]!r}")
    document = orjson.loads(body)
    if document.get("errors"):
        failed = next(item for item in document["items"]
                      if next(iter(item.values())).get("status", 200) >= 300)
        raise RuntimeError(f"_bulk item failed: {failed}")
    return len(document["items"])


def get_json(node: NodeProcess, path: str, expected_type: type, timeout_seconds: float) -> Any:
    """``GET path`` on ``node``: its JSON answer, or RuntimeError when it is not a 200 of that type."""
    client = node.client(timeout_seconds=timeout_seconds)
    try:
        status, answer = client.json("GET", path)
    finally:
        client.close()
    if status != 200 or not isinstance(answer, expected_type):
        raise RuntimeError(f"{path} answered {status}: {answer}")
    return answer


# before the search phases: the index's merges done — no merge running and, for SETTLE_STABLE_POLLS
# polls in a row, no copy's segment count and no merge count changed
SETTLE_POLL_SECONDS = 2.0
SETTLE_STABLE_POLLS = 3
SETTLE_DEADLINE_SECONDS = 180.0


def segments_per_copy(node: NodeProcess, index: str) -> dict[str, int]:
    """"<shard><p|r>:<node id>" → the copy's segment count (GET /{index}/_segments: the searched view)."""
    answer = get_json(node, f"/{index}/_segments", dict, 10.0)
    counts = {}
    for number, copies in answer["indices"][index]["shards"].items():
        for copy in copies:
            routing = copy.get("routing", {})
            counts[f"{number}{'p' if routing.get('primary') else 'r'}:{routing.get('node')}"] = len(copy.get("segments", {}))
    return counts


def merge_counts(node: NodeProcess, index: str) -> dict[str, int]:
    """The index's merges (GET /{index}/_stats/merge, every copy): finished and running. A copy held
    search idle merges without publishing, so its segment count alone does not show a merge."""
    merges = get_json(node, f"/{index}/_stats/merge", dict, 10.0)["_all"]["total"]["merges"]
    return {"total": int(merges["total"]), "current": int(merges["current"])}


def wait_for_settled_index(node: NodeProcess, index: str, stable_polls: int = SETTLE_STABLE_POLLS,
                           deadline_seconds: float = SETTLE_DEADLINE_SECONDS) -> dict:
    """Poll until no merge runs and neither the segment counts nor the merge count changed
    ``stable_polls`` times in a row (the merges a load leaves behind, the idle merges of ADR 0380
    included, are done) or the deadline passes; report both ends and the wait."""
    started = time.monotonic()
    first_segments = segments_per_copy(node, index)
    previous = (first_segments, merge_counts(node, index))
    unchanged = 0
    while time.monotonic() - started < deadline_seconds:
        time.sleep(SETTLE_POLL_SECONDS)
        current = (segments_per_copy(node, index), merge_counts(node, index))
        unchanged = unchanged + 1 if current == previous and current[1]["current"] == 0 else 0
        previous = current
        if unchanged >= stable_polls:
            break
    return {"seconds": round(time.monotonic() - started, 1), "settled": unchanged >= stable_polls,
            "segments_after_refresh": first_segments, "segments_when_timed": previous[0],
            "merges_when_timed": previous[1]["total"]}


def percentile(values: list[float], percent: float) -> float:
    return bench_engines.percentile(values, percent)


def result_row(workload_lines_bytes: int, n: int, *, engine: str, label: str, run_id: str, command: str,
               threads: int, corpus_sha256: str | None = None, queries_sha256: str | None = None,
               **fields: object) -> dict:
    """A row with every ../shared/bench field (null where not measured) plus our extra fields."""
    row = dict.fromkeys(bench_engines.ROW_FIELDS)
    row.update(row_version=bench_engines.ROW_VERSION, run_id=run_id, command=command, engine=engine,
               version="0.1.0", label=label, threads=threads, exact_count=False,
               corpus="english.ndjson", corpus_sha256=corpus_sha256, n=n, ndjson_bytes=workload_lines_bytes,
               queries_sha256=queries_sha256, cpus=bench_engines.cpu_count(),
               loadavg_start=bench_engines.loadavg(), time_utc=bench_engines.now_utc())
    row.update(fields)
    return row


def corpus_sha256(lines: list[bytes]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for line in lines:
        digest.update(line + b"\n")
    return digest.hexdigest()[:16]
