"""The quidditch command: invalid configuration exits 2 and lists every problem."""

import subprocess
import sys

from node.cli import main


def test_python_dash_m_node_with_bad_flags_exits_2_listing_every_problem(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "node", "--data", str(tmp_path), "--http-port", "x", "--workers", "0",
         "--log-level", "chatty"], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 2
    for flag in ("--http-port", "--workers", "--log-level"):
        assert flag in completed.stderr


def test_quidditch_without_a_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "node" in capsys.readouterr().err
