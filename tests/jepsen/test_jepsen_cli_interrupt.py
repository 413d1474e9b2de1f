"""Stopping a run by signal: SIGTERM takes SIGINT's path, so the runner's cleanup (stop the
nodes, tear down the network namespaces) runs instead of the process dying with them leaked."""

from __future__ import annotations

import os
import signal

import pytest

from jepsen_lite import cli


def test_sigterm_during_a_run_is_a_keyboard_interrupt_that_cleans_up_and_exits_130(monkeypatch, tmp_path, capsys):
    cleaned = []

    def run_until_signalled(options):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            raise AssertionError("SIGTERM did not interrupt the run")
        finally:
            cleaned.append(options.out)

    monkeypatch.setattr(cli, "run", run_until_signalled)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        exit_code = cli.main(["run", "--profile", "ci", "--seed", "7", "--out", str(tmp_path / "run")])
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert exit_code == 130
    assert cleaned == [tmp_path / "run"]
    assert "interrupted" in capsys.readouterr().err


def test_the_interrupt_handler_raises_keyboard_interrupt():
    with pytest.raises(KeyboardInterrupt):
        cli._interrupt(signal.SIGTERM, None)


def test_a_soak_scales_the_set_workload_with_its_duration_and_ci_keeps_the_cap(tmp_path):
    from jepsen_lite.runner import SOAK_SET_SECONDS_PER_LIMIT, Run, RunOptions

    def limit(profile, seconds):
        options = RunOptions(profile=profile, seed=1, seed_source="test", faults=("kill",), workloads=("set",),
                             out=tmp_path / f"{profile}-{seconds}", node_count=3, soak_seconds=seconds)
        return Run(options).set_document_limit()

    cap = RunOptions(profile="ci", seed=1, seed_source="t", faults=(), workloads=(), out=tmp_path).max_set_documents
    assert limit("ci", 3600.0) == cap
    assert limit("soak", 3600.0) == int(cap * 3600.0 / SOAK_SET_SECONDS_PER_LIMIT)
    assert limit("soak", 60.0) == cap
