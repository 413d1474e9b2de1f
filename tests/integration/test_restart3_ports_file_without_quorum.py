"""ports.json is written once the node is registered or once its shard workers are ready,
whichever comes first (ADR 0271): a voter restarted while the other voters are down cannot
register (no quorum), yet it still publishes its ports — supervisors that restart nodes one by
one (jepsen-lite's heal) wait for that file before starting the next node."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.integration

DEADLINE_SECONDS = 90.0


def free_ports(count):
    import socket

    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def test_a_voter_without_quorum_still_writes_its_ports_file_and_is_not_registered(tmp_path):
    raft_ports = free_ports(3)  # the other two voters never start
    secret_file = tmp_path / "cluster.secret"
    secret_file.write_text(os.urandom(32).hex())
    data = tmp_path / "lonely"
    command = [sys.executable, "-P", "-m", "node", "--data", str(data), "--name", "lonely",
               "--http-port", "0", "--transport-port", "0", "--raft-port", str(raft_ports[0]),
               "--seed-hosts", ",".join(f"127.0.0.1:{port}" for port in raft_ports),
               "--cluster-secret-file", str(secret_file), "--workers", "1", "--log-level", "INFO"]
    with open(tmp_path / "lonely.out", "ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True, cwd=str(tmp_path))
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        ports = {}
        while time.monotonic() < deadline and process.poll() is None:
            try:
                ports = json.loads((data / "ports.json").read_text())
            except (OSError, ValueError):
                ports = {}
            if ports.get("pid") == process.pid:
                break
            time.sleep(0.1)
        assert ports.get("pid") == process.pid, (tmp_path / "lonely.out").read_text()[-3000:]
        log = [json.loads(line) for line in (data / "logs" / "node.log").read_text().splitlines() if line.strip()]
        steps = [line["fields"]["step"] for line in log if line["message"] == "start-up step"]
        assert "workers ready" in steps and "registered" not in steps
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
