"""Schedules follow from the seed alone; partitions have the promised shapes; the faults file
is whole and versioned; the nemesis skips what it cannot do and says why."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, strategies as st

from jepsen_lite.generator import (
    ALL_FAULTS, DEFAULT_SEED, parse_faults, plan_ci, plan_soak, random_halves, seed_from_commit,
)
from jepsen_lite.nemesis import FaultsFile, Nemesis, bridge_links, partition_links

NODES = ["n0", "n1", "n2", "n3", "n4"]


def test_the_same_seed_gives_the_same_ci_plan_and_another_seed_a_different_one():
    assert plan_ci(7, ALL_FAULTS, NODES) == plan_ci(7, ALL_FAULTS, NODES)
    assert plan_ci(7, ALL_FAULTS, NODES) != plan_ci(8, ALL_FAULTS, NODES)


def test_the_ci_plan_applies_every_requested_fault_exactly_once():
    steps = plan_ci(123, ALL_FAULTS, NODES[:3])
    assert sorted(step.fault for step in steps) == sorted(ALL_FAULTS)


def test_a_soak_plan_fills_its_duration():
    steps = plan_soak(5, ALL_FAULTS, NODES, duration_seconds=600)
    assert sum(s.start_after_seconds + s.duration_seconds for s in steps) >= 600
    assert plan_soak(5, ALL_FAULTS, NODES, 600) == steps


def test_unknown_fault_names_are_refused_with_the_allowed_list():
    with pytest.raises(ValueError, match="expected names from"):
        parse_faults("kill,explode")
    assert parse_faults("all") == ALL_FAULTS
    assert parse_faults("pause, kill") == ("pause", "kill")


def test_a_targeted_schedule_is_accepted_by_name_but_never_part_of_all():
    assert parse_faults("isolate-primary-then-kill-all") == ("isolate-primary-then-kill-all",)
    assert "isolate-primary-then-kill-all" not in parse_faults("all")
    (step,) = plan_ci(11, ("isolate-primary-then-kill-all",), NODES[:3])
    assert step.target == "primary"


def test_the_seed_comes_from_the_git_commit_or_the_printed_default(tmp_path):
    seed, source = seed_from_commit(tmp_path)  # not a repository
    assert (seed, source.startswith("the default")) == (DEFAULT_SEED, True)


@given(st.integers(min_value=0, max_value=2 ** 31), st.integers(min_value=2, max_value=7))
def test_random_halves_are_two_non_empty_disjoint_sides_covering_every_node(choice_seed, count):
    names = [f"n{i}" for i in range(count)]
    smaller, larger = random_halves(names, choice_seed)
    assert smaller and larger and not set(smaller) & set(larger)
    assert sorted(smaller + larger) == names and len(smaller) <= len(larger)


def test_a_partition_drops_both_directions_between_sides_and_nothing_within_a_side():
    links = {(link.source, link.destination) for link in partition_links([["n0"], ["n1", "n2"]])}
    assert links == {("n0", "n1"), ("n0", "n2"), ("n1", "n0"), ("n2", "n0")}


def test_a_bridge_node_keeps_both_sides_while_the_sides_lose_each_other():
    links, sides = bridge_links("n2", NODES, choice_seed=3)
    cut = {(link.source, link.destination) for link in links}
    assert all("n2" not in pair for pair in cut)
    left, bridge, right = sides
    assert bridge == ["n2"] and left and right
    assert all((a, b) in cut and (b, a) in cut for a in left for b in right)


def test_the_faults_file_is_rewritten_whole_with_a_growing_generation(tmp_path):
    path = tmp_path / "faults.json"
    faults = FaultsFile(path, {"n0": {"raft": "127.0.0.1:1"}, "n1": {"raft": "127.0.0.1:2"}})
    first = orjson.loads(path.read_bytes())
    assert first["version"] == 1 and first["links"] == [] and first["nodes"]["n1"]["raft"] == "127.0.0.1:2"
    faults.write(partition_links([["n0"], ["n1"]]))
    second = orjson.loads(path.read_bytes())
    assert second["generation"] == first["generation"] + 1
    assert {"from": "n0", "to": "n1", "drop": True, "delay_ms": 0, "loss_probability": 0.0} in second["links"]
    assert not list(tmp_path.glob("*.tmp"))


class RecordingControl:
    def __init__(self):
        self.actions = []

    def kill(self, name):
        self.actions.append(("kill", name))

    def restart(self, name):
        self.actions.append(("restart", name))

    def pause(self, name):
        self.actions.append(("pause", name))

    def resume(self, name):
        self.actions.append(("resume", name))


def test_the_nemesis_kills_the_resolved_primary_and_its_healer_restarts_it(tmp_path):
    control = RecordingControl()
    nemesis = Nemesis(["n0", "n1", "n2"], control, None, lambda role: "n1", tmp_path / "nemesis.jsonl", 0.0)
    (step,) = [s for s in plan_ci(1, ("kill-primary",), ["n0", "n1", "n2"])]
    heal = nemesis.apply(step)
    heal()
    assert control.actions == [("kill", "n1"), ("restart", "n1")]
    phases = [orjson.loads(line)["phase"] for line in (tmp_path / "nemesis.jsonl").read_bytes().splitlines()]
    assert phases == ["start", "end"]


def test_partitions_without_a_fault_layer_are_skipped_with_the_reason(tmp_path):
    nemesis = Nemesis(["n0", "n1", "n2"], RecordingControl(), None, lambda role: "n0", tmp_path / "n.jsonl", 0.0,
                      partition_skip_reason="no fault layer")
    (step,) = plan_ci(1, ("partition-halves",), ["n0", "n1", "n2"])
    assert nemesis.apply(step) is None
    assert nemesis.skipped_reasons == {"partition-halves": "no fault layer"}


def test_a_partition_writes_the_faults_file_and_healing_clears_it(tmp_path):
    faults = FaultsFile(tmp_path / "faults.json", {name: {} for name in ("n0", "n1", "n2")})
    nemesis = Nemesis(["n0", "n1", "n2"], RecordingControl(), faults, lambda role: "n2", tmp_path / "n.jsonl", 0.0)
    (step,) = plan_ci(4, ("partition-master",), ["n0", "n1", "n2"])
    heal = nemesis.apply(step)
    cut = {(l["from"], l["to"]) for l in orjson.loads((tmp_path / "faults.json").read_bytes())["links"]}
    assert cut == {("n2", "n0"), ("n2", "n1"), ("n0", "n2"), ("n1", "n2")}
    heal()
    assert orjson.loads((tmp_path / "faults.json").read_bytes())["links"] == []


def test_a_role_nobody_holds_skips_the_step(tmp_path):
    nemesis = Nemesis(["n0"], RecordingControl(), None, lambda role: None, tmp_path / "n.jsonl", 0.0)
    (step,) = plan_ci(1, ("kill-primary",), ["n0"])
    assert nemesis.apply(step) is None and "no node holds" in nemesis.skipped_reasons["kill-primary"]
