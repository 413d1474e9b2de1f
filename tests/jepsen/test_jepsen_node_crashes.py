"""The node-crashes checker: a node process that exits although no nemesis step killed it is a
crash of the node itself and fails the run; processes this run killed or stopped are not."""

from __future__ import annotations

import subprocess
import sys

from jepsen_lite.checkers import check_node_crashes
from jepsen_lite.cluster import LocalCluster, LocalNode


def cluster_with_processes(tmp_path, scripts):
    cluster = LocalCluster(tmp_path, len(scripts))
    cluster.nodes = []
    for number, script in enumerate(scripts):
        node = LocalNode(name=f"n{number}", data_directory=tmp_path / f"n{number}", log_path=tmp_path / f"n{number}.log",
                         http_port=0, transport_port=0, raft_port=0)
        node.process = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
        cluster.nodes.append(node)
    return cluster


def test_an_exit_nobody_caused_is_reported_once_and_a_kill_is_not(tmp_path):
    cluster = cluster_with_processes(tmp_path, ["raise SystemExit(3)", "import time; time.sleep(60)"])
    cluster.nodes[0].process.wait()
    cluster.kill("n1")
    assert cluster.unexpected_exits() == [("n0", 0, 3)]
    assert cluster.unexpected_exits() == []


def test_a_crash_first_noticed_when_a_heal_restarts_the_node_is_still_reported(tmp_path, monkeypatch):
    cluster = cluster_with_processes(tmp_path, ["raise SystemExit(1)"])
    cluster.nodes[0].process.wait()
    monkeypatch.setattr(LocalCluster, "launch", lambda self, node: setattr(node, "process", None))
    monkeypatch.setattr(LocalCluster, "wait_until_listening", lambda self, node: None)
    cluster.restart("n0")
    assert cluster.unexpected_exits() == [("n0", 0, 1)]


def test_stopping_the_cluster_is_not_a_crash(tmp_path):
    cluster = cluster_with_processes(tmp_path, ["import time; time.sleep(60)"])
    cluster.stop()
    assert cluster.unexpected_exits() == []


def test_the_checker_fails_on_any_crash_and_skips_without_local_nodes():
    crash = {"time": 12.5, "node": "n2", "incarnation": 1, "exit_code": 1}
    result = check_node_crashes([crash])
    assert result.verdict == "invalid" and result.fails_run and "n2 at +12.5 s" in result.reason
    assert check_node_crashes([]).verdict == "valid"
    assert check_node_crashes(None).verdict == "skipped"
