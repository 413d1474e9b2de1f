"""Degraded links (loss, delay) and clock skew: the shapes are seeded and bounded, each fault goes
through a mechanism that can enforce it (the namespaces' network, else the nodes' faults file),
and a skewed node is started with libfaketime faking only its wall clock."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import orjson
import pytest
from hypothesis import given, strategies as st

from jepsen_lite.cli import parse_clock_skews
from jepsen_lite.cluster import LocalCluster, clock_skew_environment, find_libfaketime
from jepsen_lite.generator import ALL_FAULTS, LINK_QUALITY_FAULTS, plan_ci, plan_soak
from jepsen_lite.nemesis import FaultsFile, Nemesis, clock_step_seconds, degraded_links
from jepsen_lite.netns import nftables_ruleset

NODES = ["n0", "n1", "n2", "n3", "n4"]


@given(st.integers(min_value=0, max_value=2 ** 31), st.integers(min_value=2, max_value=5))
def test_lossy_links_are_a_non_empty_set_of_directed_links_losing_20_to_30_percent(choice_seed, count):
    names = NODES[:count]
    links = degraded_links(names, choice_seed, "loss")
    assert links
    assert all(link.source != link.destination and {link.source, link.destination} <= set(names) for link in links)
    assert all(not link.drop and link.delay_ms == 0 and 0.20 <= link.loss_probability <= 0.30 for link in links)
    assert degraded_links(names, choice_seed, "loss") == links


@given(st.integers(min_value=0, max_value=2 ** 31))
def test_slow_links_are_delayed_between_30_and_120_milliseconds_and_never_dropped(choice_seed):
    links = degraded_links(NODES[:3], choice_seed, "delay")
    assert links and all(not link.drop and 30 <= link.delay_ms <= 120 and link.loss_probability == 0
                         for link in links)


def test_loss_and_delay_are_part_of_every_profile_fault_set():
    assert set(LINK_QUALITY_FAULTS) == {"loss", "delay"} and set(LINK_QUALITY_FAULTS) <= set(ALL_FAULTS)
    assert {step.fault for step in plan_ci(3, ALL_FAULTS, NODES[:3])} >= {"loss", "delay"}
    assert {step.fault for step in plan_soak(3, ALL_FAULTS, NODES, 1800)} >= {"loss", "delay"}


class RecordingNetwork:
    """A namespace network that enforces drops and loss (nftables) but not delay (no netem)."""

    mechanism = "nftables"

    def __init__(self):
        self.applied = []

    def supports(self, link):
        return not link.delay_ms

    def apply_links(self, links):
        self.applied.append(list(links))


def make_nemesis(tmp_path, network):
    faults = FaultsFile(tmp_path / "faults.json", {name: {} for name in NODES[:3]})
    nemesis = Nemesis(NODES[:3], object(), faults, lambda role: "n0", tmp_path / "nemesis.jsonl", 0.0,
                      network=network)
    return nemesis, tmp_path / "faults.json"


def test_loss_goes_through_the_namespace_network_when_it_can_enforce_it(tmp_path):
    network = RecordingNetwork()
    nemesis, faults_path = make_nemesis(tmp_path, network)
    (step,) = plan_ci(9, ("loss",), NODES[:3])
    heal = nemesis.apply(step)
    assert network.applied[-1] and all(link.loss_probability >= 0.2 for link in network.applied[-1])
    assert orjson.loads(faults_path.read_bytes())["links"] == []
    heal()
    assert network.applied[-1] == []
    assert nemesis.mechanisms == {"loss": {"network-namespaces/nftables"}}


def test_delay_falls_back_to_the_faults_file_when_the_network_cannot_delay(tmp_path):
    network = RecordingNetwork()
    nemesis, faults_path = make_nemesis(tmp_path, network)
    (step,) = plan_ci(9, ("delay",), NODES[:3])
    heal = nemesis.apply(step)
    assert network.applied == []
    written = orjson.loads(faults_path.read_bytes())["links"]
    assert written and all(30 <= link["delay_ms"] <= 120 and not link["drop"] for link in written)
    heal()
    assert orjson.loads(faults_path.read_bytes())["links"] == []
    assert nemesis.mechanisms == {"delay": {"faults-file"}}
    start = orjson.loads((tmp_path / "nemesis.jsonl").read_bytes().splitlines()[0])
    assert start["mechanism"] == "faults-file" and start["links"] == written


def test_loss_without_any_mechanism_is_skipped_with_the_reason(tmp_path):
    nemesis = Nemesis(NODES[:3], object(), None, lambda role: None, tmp_path / "n.jsonl", 0.0,
                      partition_skip_reason="no fault layer")
    (step,) = plan_ci(2, ("loss",), NODES[:3])
    assert nemesis.apply(step) is None and set(nemesis.skipped_reasons) == {"loss"}
    assert nemesis.skipped_reasons["loss"].startswith("loss needs local nodes") and \
        nemesis.skipped_reasons["loss"].endswith("; no fault layer")


def test_the_nftables_ruleset_drops_cut_links_and_samples_lossy_ones_on_arrival():
    ruleset = nftables_ruleset({"10.213.1.11": 1.0, "10.213.1.12": 0.25, "10.213.1.13": 0.0})
    assert "type filter hook input priority 0; policy accept;" in ruleset
    assert "    ip saddr 10.213.1.11 drop\n" in ruleset
    assert "    ip saddr 10.213.1.12 numgen random mod 10000 < 2500 drop\n" in ruleset
    assert "10.213.1.13" not in ruleset
    # replacing the table is one transaction that works whether or not it existed
    assert ruleset.startswith("add table inet jepsen_lite\ndelete table inet jepsen_lite\n")


def test_clock_skews_parse_signed_seconds_per_node_and_refuse_anything_else():
    assert parse_clock_skews(["n1=+30", "n2=-45.5", "n0=12s"]) == {"n1": 30.0, "n2": -45.5, "n0": 12.0}
    for bad in (["n1"], ["=5"], ["n1=soon"], ["n1=nan"], ["n1=1e12"]):
        with pytest.raises(ValueError, match="--clock-skew"):
            parse_clock_skews(bad)
    with pytest.raises(ValueError, match="given twice"):
        parse_clock_skews(["n1=1", "n1=2"])


def test_only_the_skewed_node_is_started_under_libfaketime_and_only_its_wall_clock_is_faked(tmp_path, monkeypatch):
    monkeypatch.setattr("jepsen_lite.cluster.find_libfaketime", lambda: "/lib/libfaketime.so.1")
    cluster = LocalCluster(tmp_path, 2, clock_skews={"n1": -45.0})
    skewed = cluster.environment_for(cluster.node("n1"))
    assert skewed["LD_PRELOAD"] == "/lib/libfaketime.so.1" and skewed["FAKETIME"] == "-45s"
    assert skewed["FAKETIME_DONT_FAKE_MONOTONIC"] == "1" and skewed["FAKETIME_FORCE_MONOTONIC_FIX"] == "0"
    assert skewed["PYTHONPATH"].split(os.pathsep)[0].endswith("faketime_site")
    assert "FAKETIME" not in cluster.environment_for(cluster.node("n0"))


def test_a_skewed_node_without_libfaketime_refuses_to_start_naming_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr("jepsen_lite.cluster.find_libfaketime", lambda: None)
    cluster = LocalCluster(tmp_path, 2, clock_skews={"n1": 5.0})
    with pytest.raises(RuntimeError, match="apt-get install faketime"):
        cluster.environment_for(cluster.node("n1"))


@pytest.mark.skipif(find_libfaketime() is None, reason="libfaketime is not installed (apt-get install faketime)")
def test_libfaketime_moves_a_python_process_wall_clock_and_leaves_its_monotonic_clock_alone():
    # time.sleep first: libfaketime alone makes it fail with EINVAL (the sitecustomize works around it)
    probe = ("import time, sys; time.sleep(0.01); sys.stdout.write(repr((time.time(), time.monotonic())))")
    environment = clock_skew_environment(3600.0, find_libfaketime())

    def clocks(extra_environment):
        completed = subprocess.run([sys.executable, "-c", probe], env={**extra_environment}, capture_output=True,
                                   text=True, check=True)
        return eval(completed.stdout)  # noqa: S307 — our own probe's repr of two floats

    plain_wall, plain_monotonic = clocks({})
    skewed_wall, skewed_monotonic = clocks(environment)
    after_wall, after_monotonic = clocks({})
    # the skewed process ran between the two plain ones: its real clock reading lies between theirs
    assert plain_wall + 3600 <= skewed_wall <= after_wall + 3600
    assert plain_monotonic <= skewed_monotonic <= after_monotonic


def test_the_clock_skew_nemesis_is_asked_for_by_name_and_all_can_be_combined_with_it():
    from jepsen_lite.generator import parse_faults
    assert "clock-skew" not in parse_faults("all")
    assert parse_faults("all,clock-skew") == ALL_FAULTS + ("clock-skew",)
    assert parse_faults("clock-skew,kill,kill") == ("clock-skew", "kill")


@given(st.integers(min_value=0, max_value=2 ** 31))
def test_a_clock_step_is_between_30_and_600_seconds_either_way_and_follows_the_seed(choice_seed):
    step = clock_step_seconds(choice_seed)
    assert 30 <= abs(step) <= 600 and clock_step_seconds(choice_seed) == step


def test_the_clock_skew_nemesis_steps_the_target_clock_from_its_base_and_heals_back(tmp_path, monkeypatch):
    monkeypatch.setattr("jepsen_lite.cluster.find_libfaketime", lambda: "/lib/libfaketime.so.1")
    cluster = LocalCluster(tmp_path, 3, clock_skews={"n1": 30.0}, clock_files=True)
    environment = cluster.environment_for(cluster.node("n1"))
    assert "FAKETIME" not in environment and environment["FAKETIME_TIMESTAMP_FILE"].endswith("n1.faketime")
    assert cluster.clock_file("n1").read_text() == "+30s\n"
    cluster.environment_for(cluster.node("n0"))
    assert cluster.clock_file("n0").read_text() == "+0s\n"
    nemesis = Nemesis(NODES[:3], cluster, None, lambda role: None, tmp_path / "n.jsonl", 0.0)
    (planned,) = plan_ci(5, ("clock-skew",), NODES[:3])
    step = dataclasses.replace(planned, target="n1")   # the node with a base offset
    heal = nemesis.apply(step)
    assert cluster.clock_file("n1").read_text() == f"{30 + clock_step_seconds(step.choice_seed):+g}s\n"
    heal()
    assert cluster.clock_file("n1").read_text() == "+30s\n"
    assert nemesis.mechanisms == {"clock-skew": {"libfaketime-file"}}


def test_the_clock_skew_nemesis_is_skipped_with_the_reason_when_nodes_have_no_clock_files(tmp_path):
    cluster = LocalCluster(tmp_path, 3)
    nemesis = Nemesis(NODES[:3], cluster, None, lambda role: None, tmp_path / "n.jsonl", 0.0)
    nemesis.clock_skip_reason = "the clock-skew nemesis needs libfaketime (apt-get install faketime)"
    (step,) = plan_ci(5, ("clock-skew",), NODES[:3])
    assert nemesis.apply(step) is None
    assert nemesis.skipped_reasons == {"clock-skew": "the clock-skew nemesis needs libfaketime (apt-get install faketime)"}
    with pytest.raises(RuntimeError, match="clock files"):
        cluster.set_clock_offset("n0", 5.0)
