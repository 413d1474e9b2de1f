"""Local clusters of real ``python -m node`` processes, and the per-node control surface the
nemesis uses (kill -9, restart, SIGSTOP/SIGCONT), either on local processes or as user commands
against an existing cluster.

Owns: starting each node in its own process group with fixed ports (so a restarted node comes
back at the same address), finding ports through <data>/ports.json, node logs inside the run
directory, and stopping exactly the processes it started, by pid. Must never import the
project, and never signal anything it did not start.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from jepsen_lite.client import NodeClient

STARTUP_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 15.0
# where Debian/Ubuntu's `faketime` package puts the library (apt-get install faketime)
LIBFAKETIME_CANDIDATES = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                          "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                          "/usr/lib/faketime/libfaketime.so.1", "/usr/local/lib/faketime/libfaketime.so.1")


def find_libfaketime() -> str | None:
    """The path of libfaketime.so.1, or None when the faketime package is not installed."""
    for candidate in LIBFAKETIME_CANDIDATES:
        if os.path.exists(candidate):
            return candidate
    return None


FAKETIME_SITE_DIRECTORY = Path(__file__).resolve().parent / "faketime_site"


def clock_skew_environment(offset_seconds: float, library: str, python_path: str = "") -> dict[str, str]:
    """Environment that starts a process (and the shard workers it spawns, which inherit it)
    with its wall clock ``offset_seconds`` off. Only CLOCK_REALTIME is faked: a real clock can
    be wrong but never makes the monotonic clock jump, and Raft, trio and every timeout in the
    node use the monotonic clock (docs/testing.md, "Clock skew"). Faking the monotonic clock as
    well hangs Python 3.11 under libfaketime 0.9.10 (condition waits never return); not faking
    it breaks ``time.sleep``, which faketime_site/sitecustomize.py works around. libfaketime's
    "monotonic fix" for condition variables (on by default for this glibc) made every write of a
    node 15× slower (100 single-document index calls: 8.4 s against 0.56 s), so it is turned off:
    with the monotonic clock unfaked there is nothing for it to fix."""
    return {"LD_PRELOAD": library, "FAKETIME": f"{offset_seconds:+g}s", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "FAKETIME_FORCE_MONOTONIC_FIX": "0",
            "PYTHONPATH": os.pathsep.join(part for part in (str(FAKETIME_SITE_DIRECTORY), python_path) if part)}


def free_ports(count: int, host: str = "127.0.0.1", base: int | None = None) -> list[int]:
    """``count`` ports free now: from ``base`` upwards when given (the Raft port range), else
    chosen by the kernel. Bound together so they differ."""
    if base is not None:
        found = []
        candidate = base
        while len(found) < count and candidate < 65535:
            with socket.socket() as probe:
                try:
                    probe.bind((host, candidate))
                    found.append(candidate)
                except OSError:
                    pass
            candidate += 1
        return found
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind((host, 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


@dataclass
class LocalNode:
    name: str
    data_directory: Path
    log_path: Path
    http_port: int
    transport_port: int
    raft_port: int
    process: subprocess.Popen | None = None
    incarnation: int = 0
    paused: bool = False
    host: str = "127.0.0.1"
    # set before this run kills or stops the process: an exit without it is the node's own crash
    exit_expected: bool = False
    crash_recorded: bool = False

    @property
    def http_address(self) -> str:
        return f"{self.host}:{self.http_port}"

    @property
    def raft_address(self) -> str:
        return f"{self.host}:{self.raft_port}"

    @property
    def transport_address(self) -> str:
        return f"{self.host}:{self.transport_port}"

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class LocalCluster:
    """``node_count`` voters on 127.0.0.1 sharing one secret. ``environment`` is added to each
    node's environment (the test-only settings: QUIDDITCH_TEST_FAULTS_FILE, ...)."""

    run_directory: Path
    node_count: int
    environment: dict[str, str] = field(default_factory=dict)
    raft_port_base: int | None = None
    workers_per_node: int = 1
    network: object | None = None   # a netns.NamespaceNetwork already set up, or None (loopback)
    clock_skews: dict[str, float] = field(default_factory=dict)   # node name → wall-clock offset (s)
    # every node under libfaketime with its offset in <run>/clocks/<name>.faketime, which
    # set_clock_offset rewrites while the node runs (the clock-skew nemesis)
    clock_files: bool = False
    nodes: list[LocalNode] = field(default_factory=list)
    noticed_exits: list = field(default_factory=list)   # crashes seen by restart(), not yet reported

    def __post_init__(self) -> None:
        self.run_directory = Path(self.run_directory)
        (self.run_directory / "nodes").mkdir(parents=True, exist_ok=True)
        (self.run_directory / "logs").mkdir(parents=True, exist_ok=True)
        if self.network is not None:
            # each node has its own namespace, hence its own port space: the defaults fit
            raft_ports = [9301] * self.node_count
            other_ports = [9200, 9300] * self.node_count
        else:
            raft_ports = free_ports(self.node_count, base=self.raft_port_base)
            other_ports = free_ports(2 * self.node_count)
        # `python -m` puts the working directory first on sys.path: an empty one, because a
        # data directory holds folders (udf/, raft/) that would shadow the project's packages
        self.working_directory = self.run_directory / "cwd"
        self.working_directory.mkdir(exist_ok=True)
        self.secret_file = self.run_directory / "cluster.secret"
        self.secret_file.write_text(os.urandom(24).hex())
        os.chmod(self.secret_file, 0o600)
        for number in range(self.node_count):
            name = f"n{number}"
            self.nodes.append(LocalNode(name, self.run_directory / "nodes" / name,
                                        self.run_directory / "logs" / f"{name}.out",
                                        http_port=other_ports[2 * number], transport_port=other_ports[2 * number + 1],
                                        raft_port=raft_ports[number],
                                        host=self.network.addresses[name] if self.network is not None else "127.0.0.1"))

    @property
    def seed_hosts(self) -> str:
        return ",".join(node.raft_address for node in self.nodes)

    def node(self, name: str) -> LocalNode:
        for candidate in self.nodes:
            if candidate.name == name:
                return candidate
        raise KeyError(f"node name: expected one of {[n.name for n in self.nodes]}, got {name!r}")

    def command(self, node: LocalNode) -> list[str]:
        prefix = self.network.command_prefix(node.name) if self.network is not None else []
        return prefix + [sys.executable, "-m", "node", "--name", node.name, "--data", str(node.data_directory),
                "--http-port", str(node.http_port), "--transport-port", str(node.transport_port),
                "--raft-port", str(node.raft_port), "--http-host", node.host, "--transport-host", node.host,
                "--raft-host", node.host, "--seed-hosts", self.seed_hosts,
                "--cluster-secret-file", str(self.secret_file), "--workers", str(self.workers_per_node)]

    def environment_for(self, node: LocalNode) -> dict[str, str]:
        """The node's process environment: ours, the run's test-only settings, and libfaketime's
        variables when the node's clock is to be skewed."""
        environment = {**os.environ, **self.environment}
        if node.name in self.clock_skews or self.clock_files:
            library = find_libfaketime()
            if library is None:
                raise RuntimeError(f"clock skew for {node.name}: libfaketime not found in "
                                   f"{', '.join(LIBFAKETIME_CANDIDATES)} (apt-get install faketime)")
            environment.update(clock_skew_environment(self.clock_skews.get(node.name, 0.0), library,
                                                      environment.get("PYTHONPATH", "")))
            if self.clock_files:
                clock_file = self.clock_file(node.name)
                if not clock_file.exists():
                    self.set_clock_offset(node.name, self.clock_skews.get(node.name, 0.0))
                # libfaketime reads the offset from the file (FAKETIME must then be unset) and
                # re-reads it at most every second: a step shows within about 1.5 s
                del environment["FAKETIME"]
                environment.update({"FAKETIME_TIMESTAMP_FILE": str(clock_file), "FAKETIME_CACHE_DURATION": "1"})
        return environment

    def clock_file(self, name: str) -> Path:
        return self.run_directory / "clocks" / f"{name}.faketime"

    def set_clock_offset(self, name: str, offset_seconds: float) -> None:
        """Set node ``name``'s wall-clock offset (only with ``clock_files``), atomically."""
        if not self.clock_files:
            raise RuntimeError("set_clock_offset: the cluster was not started with clock files (clock-skew nemesis)")
        path = self.clock_file(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(f"{offset_seconds:+g}s\n")
        os.replace(temporary, path)

    def launch(self, node: LocalNode) -> None:
        node.data_directory.mkdir(parents=True, exist_ok=True)
        ports_file = node.data_directory / "ports.json"
        if ports_file.exists():
            ports_file.unlink()  # never mistake a previous incarnation's ports for this one's
        environment = self.environment_for(node)
        with open(node.log_path, "ab") as output:
            output.write(f"\n=== jepsen-lite: start incarnation {node.incarnation} at {time.time():.3f}\n".encode())
            output.flush()
            # start_new_session: the node and its shard workers get their own process group,
            # so kill -9 and SIGSTOP reach the whole node and nothing else
            node.process = subprocess.Popen(self.command(node), stdout=output, stderr=subprocess.STDOUT,
                                            start_new_session=True, cwd=self.working_directory, env=environment)
        node.paused = False
        node.exit_expected = False
        node.crash_recorded = False

    def unexpected_exits(self) -> list[tuple[str, int, int]]:
        """(name, incarnation, exit code) of each node process that has exited although this run
        neither killed nor stopped it — a crash of the node itself. Each exit is reported once,
        including one noticed only when a heal restarted the node."""
        exits, self.noticed_exits = self.noticed_exits, []
        for node in self.nodes:
            exits.extend(self._notice_exit(node))
        return exits

    def _notice_exit(self, node: LocalNode) -> list[tuple[str, int, int]]:
        if node.process is None or node.exit_expected or node.crash_recorded:
            return []
        code = node.process.poll()
        if code is None:
            return []
        node.crash_recorded = True
        return [(node.name, node.incarnation, code)]

    def wait_until_listening(self, node: LocalNode, timeout_seconds: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """ports.json of this incarnation written and GET / answering."""
        deadline = time.monotonic() + timeout_seconds
        ports_file = node.data_directory / "ports.json"
        client = NodeClient(node.http_address, timeout_seconds=2.0)
        try:
            while time.monotonic() < deadline:
                if node.process is None or node.process.poll() is not None:
                    raise RuntimeError(f"node {node.name} exited during start-up (code "
                                       f"{None if node.process is None else node.process.returncode}); "
                                       f"see {node.log_path}")
                try:
                    ports = json.loads(ports_file.read_text()) if ports_file.exists() else {}
                except ValueError:
                    ports = {}
                if ports.get("pid") == node.process.pid:
                    answer = client.request("GET", "/")
                    if answer.status == 200 and isinstance(answer.body, dict) and \
                            answer.body.get("cluster_uuid") not in (None, "_na_"):
                        return
                time.sleep(0.2)
        finally:
            client.close()
        raise RuntimeError(f"node {node.name} did not answer GET / with a cluster uuid within "
                           f"{timeout_seconds} s; see {node.log_path}")

    def start(self) -> None:
        for node in self.nodes:
            self.launch(node)
        for node in self.nodes:
            self.wait_until_listening(node)

    # ------------------------------------------------------------------ faults

    def kill(self, name: str) -> None:
        node = self.node(name)
        if node.process is not None and node.process.poll() is None:
            node.exit_expected = True
            os.killpg(node.process.pid, signal.SIGKILL)
            node.process.wait()
        node.paused = False

    def restart(self, name: str) -> None:
        node = self.node(name)
        if node.is_running():
            return
        self.noticed_exits.extend(self._notice_exit(node))
        node.incarnation += 1
        self.launch(node)
        self.wait_until_listening(node)

    def pause(self, name: str) -> None:
        node = self.node(name)
        if node.is_running():
            os.killpg(node.process.pid, signal.SIGSTOP)
            node.paused = True

    def resume(self, name: str) -> None:
        node = self.node(name)
        if node.is_running():
            os.killpg(node.process.pid, signal.SIGCONT)
        node.paused = False

    def heal_processes(self) -> None:
        """Resume every paused node and restart every dead one."""
        for node in self.nodes:
            if node.paused:
                self.resume(node.name)
        for node in self.nodes:
            if not node.is_running():
                self.restart(node.name)

    def stop(self) -> None:
        """SIGCONT (a stopped process cannot handle SIGTERM), SIGTERM, wait, then SIGKILL the
        group — only the groups this cluster started, by pid."""
        for node in self.nodes:
            node.exit_expected = True
        for node in self.nodes:
            if node.is_running():
                try:
                    os.killpg(node.process.pid, signal.SIGCONT)
                    node.process.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                node.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(node.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            node.process.wait()


@dataclass
class CommandControl:
    """Fault actions on a user's cluster, as shell commands per action with ``{node}`` (the
    node's name), ``{host}`` and ``{port}`` substituted — e.g. ``kill=ssh {host} sudo pkill -9
    -f quidditch``. Actions: kill, start, pause, resume, isolate, heal."""

    commands: dict[str, str]
    addresses: dict[str, str]   # node name → host:port (HTTP)
    log_path: Path

    def has(self, action: str) -> bool:
        return action in self.commands

    def run(self, action: str, name: str) -> None:
        if action not in self.commands:
            raise KeyError(f"fault command: no --fault-command given for action {action!r}")
        host, _, port = self.addresses[name].rpartition(":")
        command = self.commands[action].format(node=shlex.quote(name), host=shlex.quote(host), port=port)
        with open(self.log_path, "ab") as output:
            output.write(f"=== jepsen-lite: {action} {name}: {command}\n".encode())
            output.flush()
            completed = subprocess.run(command, shell=True, stdout=output, stderr=subprocess.STDOUT, timeout=120,
                                       check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"fault command {action} for {name} exited with {completed.returncode}: {command}")


def parse_fault_commands(values: list[str]) -> dict[str, str]:
    allowed = ("kill", "start", "pause", "resume", "isolate", "heal")
    commands = {}
    for value in values:
        action, separator, command = value.partition("=")
        if not separator or action.strip() not in allowed or not command.strip():
            raise ValueError(f"--fault-command: expected ACTION=COMMAND with ACTION one of {', '.join(allowed)}, "
                             f"got {value!r}")
        commands[action.strip()] = command.strip()
    return commands
