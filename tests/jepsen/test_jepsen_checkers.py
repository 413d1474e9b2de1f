"""The checkers on hand-written histories: known lost writes, dirty reads, stale reads and
non-linearizable sequences are caught; valid histories pass."""

from __future__ import annotations

from jepsen_lite.checkers import (
    check_convergence, check_dirty_reads, check_linearizable_registers, check_masters, check_recovery_times,
    check_set, check_stale_reads, known_anomalies, mark_known,
)
from jepsen_lite.history import History


class Script:
    """Writes a history in the order the test lists its events (that order is real time)."""

    def __init__(self) -> None:
        self.history = History()
        self.open = {}

    def invoke(self, process, f, value, node="n0"):
        self.open[process] = self.history.invoke(process, f, value, node)
        return self

    def complete(self, process, kind, value=None):
        self.history.complete(self.open.pop(process), kind, value)
        return self

    def call(self, process, f, value, kind="ok", result=None, node="n0"):
        return self.invoke(process, f, value, node).complete(process, kind, result)

    def final(self, source, ids, unknown=()):
        return self.call(99, "final_read", None, "ok", {"source": source, "ids": list(ids), "unknown": list(unknown)})

    @property
    def operations(self):
        return self.history.snapshot()


# ------------------------------------------------------------------------------ set


def test_set_checker_reports_an_acknowledged_write_missing_from_the_final_read_as_lost():
    script = Script().call(0, "add", "a").call(1, "add", "b").call(0, "add", "c")
    script.final("search@n0", ["a", "c"]).final("get@n1", ["a", "c"])
    result = check_set(script.operations)
    assert result.verdict == "invalid"
    assert result.details["lost"] == ["b"]
    assert result.counts["lost"] == 1


def test_set_checker_reports_a_write_missing_on_only_one_node_as_lost_there():
    script = Script().call(0, "add", "a").call(1, "add", "b")
    script.final("get@n0", ["a", "b"]).final("get@n1", ["a"])
    result = check_set(script.operations)
    assert result.verdict == "invalid"
    assert result.details["lost_by_source"] == {"get@n1": ["b"]}


def test_set_checker_passes_unknown_writes_whether_present_or_absent_and_counts_recovered():
    script = Script().call(0, "add", "a").call(1, "add", "b", "info").call(2, "add", "c", "info")
    script.call(3, "add", "d", "fail")
    script.final("search@n0", ["a", "b"])
    result = check_set(script.operations)
    assert result.verdict == "valid"
    assert result.counts["recovered"] == 1
    assert result.details["recovered"] == ["b"]
    assert result.counts["unknown_and_absent"] == 1


def test_set_checker_reports_documents_never_attempted_and_failed_writes_that_appear():
    script = Script().call(0, "add", "a").call(1, "add", "b", "fail")
    script.final("search@n0", ["a", "b", "zzz"])
    result = check_set(script.operations)
    assert result.verdict == "invalid"
    assert result.details["unexpected"] == ["zzz"]
    assert result.details["failed_but_present"] == ["b"]


def test_set_checker_reads_per_item_outcomes_of_a_bulk():
    script = Script().call(0, "add_bulk", ["a", "b", "c"], "ok", {"ok": ["a", "b"], "fail": [], "info": ["c"]})
    script.final("search@n0", ["a"])
    result = check_set(script.operations)
    assert result.verdict == "invalid" and result.details["lost"] == ["b"]


def test_set_checker_treats_a_bulk_without_an_answer_as_unknown_for_every_item():
    script = Script().call(0, "add_bulk", ["a", "b"], "info", None)
    script.final("search@n0", ["a"])
    result = check_set(script.operations)
    assert result.verdict == "valid" and result.counts["recovered"] == 1


def test_set_checker_says_unknown_when_no_final_read_succeeded():
    script = Script().call(0, "add", "a")
    assert check_set(script.operations).verdict == "unknown"


def test_a_write_still_outstanding_when_the_run_ends_counts_as_unknown():
    script = Script().call(0, "add", "a").invoke(1, "add", "b")
    script.final("search@n0", ["a", "b"])
    result = check_set(script.operations)
    assert result.verdict == "valid" and result.details["recovered"] == ["b"]


# ------------------------------------------------------------------------------ dirty reads


def test_dirty_read_of_an_unacknowledged_write_that_is_gone_after_heal_is_caught():
    script = Script().invoke(0, "add", "x")
    script.call(1, "read", None, "ok", ["x"])
    script.complete(0, "info")
    script.final("search@n0", [])
    result = check_dirty_reads(script.operations)
    assert result.verdict == "invalid"
    assert result.details["dirty"] == ["x"]


def test_reading_an_unacknowledged_write_that_survives_is_not_dirty():
    script = Script().invoke(0, "add", "x")
    script.call(1, "read", None, "ok", ["x"])
    script.complete(0, "info")
    script.final("search@n0", ["x"])
    assert check_dirty_reads(script.operations).verdict == "valid"


def test_dirty_read_checker_is_skipped_without_reads():
    script = Script().call(0, "add", "x").final("search@n0", ["x"])
    result = check_dirty_reads(script.operations)
    assert result.verdict == "skipped" and result.reason


# ------------------------------------------------------------------------------ stale reads


def test_a_read_after_a_completed_refresh_that_misses_an_earlier_acknowledged_write_is_stale():
    script = Script().call(0, "add", "a").call(0, "refresh", "idx").call(1, "read", None, "ok", [], node="n2")
    result = check_stale_reads(script.operations)
    assert result.verdict == "invalid"
    assert result.details["stale"][0]["missing"] == ["a"]
    assert result.details["stale"][0]["node"] == "n2"


def test_a_read_concurrent_with_the_refresh_may_miss_the_write():
    script = Script().call(0, "add", "a").invoke(0, "refresh", "idx").call(1, "read", None, "ok", [])
    script.complete(0, "ok")
    assert check_stale_reads(script.operations).verdict == "skipped"  # no read followed a completed refresh


def test_a_write_acknowledged_after_the_refresh_began_is_not_required():
    script = Script().invoke(0, "refresh", "idx").call(1, "add", "late").complete(0, "ok")
    script.call(2, "read", None, "ok", [])
    result = check_stale_reads(script.operations)
    assert result.verdict == "valid" and result.counts["reads_checked"] == 1


def _partition_around(script, isolated, others, heal_after_seconds=1000.0):
    """Nemesis events of one partition that started before the script's first record."""
    first = min(operation.time for operation in script.operations)
    return [{"time": first - 1.0, "phase": "start", "fault": "partition-master", "step": 3,
             "target": isolated, "sides": [[isolated], others]},
            {"time": first + heal_after_seconds, "phase": "end", "fault": "partition-master", "step": 3,
             "target": isolated}]


def test_a_stale_read_on_a_node_isolated_in_a_minority_is_the_known_minority_node_kind():
    script = Script().call(0, "add", "a").call(0, "refresh", "idx").call(1, "read", None, "ok", [], node="n4")
    events = _partition_around(script, "n4", ["n0", "n1", "n2", "n3"])
    result = mark_known(check_stale_reads(script.operations, events), {"stale-reads/minority-node"})
    assert result.verdict == "invalid" and result.anomaly_kinds == ("minority-node",)
    assert result.details["stale"][0]["kind"] == "minority-node"
    assert result.known_anomaly and not result.fails_run


def test_a_stale_read_on_a_majority_node_during_a_partition_fails_the_run_even_with_minority_reads_known():
    script = Script().call(0, "add", "a").call(0, "refresh", "idx").call(1, "read", None, "ok", [], node="n0")
    events = _partition_around(script, "n4", ["n0", "n1", "n2", "n3"])
    result = mark_known(check_stale_reads(script.operations, events), {"stale-reads/minority-node"})
    assert result.anomaly_kinds == ("other",)
    assert result.fails_run


def test_a_stale_read_on_a_once_isolated_node_long_after_the_heal_fails_the_run():
    script = Script().call(0, "add", "a").call(0, "refresh", "idx")
    # the partition ended 60 s before the read: far beyond the 5 s grace after a heal
    events = [dict(event, time=event["time"] - 60.0)
              for event in _partition_around(script, "n4", ["n0", "n1", "n2", "n3"], heal_after_seconds=0.0)]
    result = check_stale_reads(script.call(1, "read", None, "ok", [], node="n4").operations, events)
    assert result.anomaly_kinds == ("other",)



def _polls(time, terms_and_versions, leader="n0"):
    """One observer round at ``time``: node → (raft_term, cluster_state_version)."""
    return [{"time": time, "node": node, "raft_term": term, "cluster_state_version": version,
             "raft_is_leader": 1.0 if node == leader else 0.0}
            for node, (term, version) in terms_and_versions.items()]


def test_a_read_on_a_healed_node_that_has_not_rejoined_raft_yet_is_still_the_minority_kind():
    script = Script().call(0, "add", "a").call(0, "refresh", "idx")
    read_time = max(operation.time for operation in script.operations) + 1.0
    # healed 8 s before the read (beyond the 5 s grace), but n4 stays a candidate of term 9 until
    # well after the read, behind the leader's term 7 and version 31
    events = [dict(event, time=read_time - 20.0 if event["phase"] == "start" else read_time - 8.0)
              for event in _partition_around(script, "n4", ["n0", "n1", "n2", "n3"])]
    observations = (_polls(read_time - 3.0, {"n0": (7, 31), "n1": (7, 31), "n4": (9, 30)})
                    + _polls(read_time + 3.0, {"n0": (10, 32), "n1": (10, 32), "n4": (10, 32)})
                    + _polls(read_time + 4.0, {"n0": (10, 32), "n1": (10, 32), "n4": (10, 32)}))
    script = script.call(1, "read", None, "ok", [], node="n4")
    assert check_stale_reads(script.operations, events).anomaly_kinds == ("other",)   # the grace alone
    with_polls = check_stale_reads(script.operations, events, observations)
    assert with_polls.anomaly_kinds == ("minority-node",)


def test_a_healed_node_seen_following_the_leader_gets_no_more_than_the_grace():
    script = Script().call(0, "add", "a").call(0, "refresh", "idx")
    read_time = max(operation.time for operation in script.operations) + 1.0
    events = [dict(event, time=read_time - 20.0 if event["phase"] == "start" else read_time - 8.0)
              for event in _partition_around(script, "n4", ["n0", "n1", "n2", "n3"])]
    observations = _polls(read_time - 7.0, {"n0": (7, 31), "n1": (7, 31), "n4": (7, 31)})
    script = script.call(1, "read", None, "ok", [], node="n4")
    assert check_stale_reads(script.operations, events, observations).anomaly_kinds == ("other",)


# ------------------------------------------------------------------------------ linearizability


def register(script, process, f, key, kind="ok", **value):
    result = None
    if f == "read_register":
        result = {"key": key, "value": value.pop("result")}
    return script.call(process, f, {"key": key, **value}, kind, result)


def test_sequential_register_history_is_linearizable():
    script = Script()
    register(script, 0, "read_register", "k", result=None)
    register(script, 0, "write", "k", value=1)
    register(script, 1, "cas", "k", expected=1, new=2)
    register(script, 0, "read_register", "k", result=2)
    assert check_linearizable_registers(script.operations).verdict == "valid"


def test_reading_an_old_value_after_a_completed_write_is_not_linearizable():
    script = Script()
    register(script, 0, "write", "k", value=1)
    register(script, 0, "write", "k", value=2)
    register(script, 1, "read_register", "k", result=1)
    result = check_linearizable_registers(script.operations)
    assert result.verdict == "invalid"
    assert result.counts["invalid_keys"] == 1
    assert result.details["keys"]["k"]["could_not_place"]


def test_two_successful_cas_from_the_same_value_are_not_linearizable():
    script = Script()
    register(script, 0, "write", "k", value=1)
    script.invoke(1, "cas", {"key": "k", "expected": 1, "new": 2})
    script.invoke(2, "cas", {"key": "k", "expected": 1, "new": 3})
    script.complete(1, "ok").complete(2, "ok")
    assert check_linearizable_registers(script.operations).verdict == "invalid"


def test_concurrent_operations_may_be_ordered_either_way():
    script = Script()
    register(script, 0, "write", "k", value=1)
    script.invoke(0, "write", {"key": "k", "value": 2})
    script.invoke(1, "read_register", {"key": "k"})
    script.complete(1, "ok", {"key": "k", "value": 2}).complete(0, "ok")
    register(script, 1, "read_register", "k", result=2)
    assert check_linearizable_registers(script.operations).verdict == "valid"


def test_an_unknown_write_may_take_effect_later_or_never():
    took_effect = Script()
    took_effect.invoke(0, "write", {"key": "k", "value": 7}).complete(0, "info")
    register(took_effect, 1, "read_register", "k", result=None)
    register(took_effect, 1, "read_register", "k", result=7)
    assert check_linearizable_registers(took_effect.operations).verdict == "valid"
    never = Script()
    never.invoke(0, "write", {"key": "k", "value": 7}).complete(0, "info")
    register(never, 1, "read_register", "k", result=None)
    assert check_linearizable_registers(never.operations).verdict == "valid"


def test_a_value_that_flips_back_after_an_unknown_write_took_effect_is_not_linearizable():
    script = Script()
    script.invoke(0, "write", {"key": "k", "value": 7}).complete(0, "info")
    register(script, 1, "read_register", "k", result=7)
    register(script, 1, "read_register", "k", result=None)
    assert check_linearizable_registers(script.operations).verdict == "invalid"


def test_failed_operations_are_ignored_and_keys_are_checked_independently():
    script = Script()
    register(script, 0, "write", "a", value=1)
    register(script, 0, "cas", "a", "fail", expected=5, new=6)
    register(script, 1, "write", "b", value=1)
    register(script, 1, "read_register", "a", result=1)
    register(script, 1, "read_register", "b", result=1)
    result = check_linearizable_registers(script.operations)
    assert result.verdict == "valid" and result.counts["keys"] == 2


def test_an_exhausted_search_budget_is_unknown_not_valid():
    script = Script()
    for process in range(8):
        script.invoke(process, "write", {"key": "k", "value": process})
    for process in range(8):
        script.complete(process, "ok")
    register(script, 9, "read_register", "k", result=99)
    assert check_linearizable_registers(script.operations, step_budget=5).verdict == "unknown"


# ------------------------------------------------------------------------------ masters, convergence, recovery


def observation(node, term, leader, version, incarnation=0):
    return {"node": node, "incarnation": incarnation, "raft_term": term, "raft_is_leader": leader,
            "cluster_state_version": version, "time": 0.0}


def test_two_masters_in_one_term_are_caught_and_one_per_term_passes():
    fine = [observation("n0", 1, 1, 5), observation("n1", 1, 0, 5), observation("n1", 2, 1, 6)]
    assert check_masters(fine).verdict == "valid"
    split = fine + [observation("n2", 2, 1, 6)]
    result = check_masters(split)
    assert result.verdict == "invalid" and result.details["terms_with_two_leaders"] == {"2": ["n1", "n2"]}


def test_a_cluster_state_version_going_back_on_a_live_node_is_caught_but_a_restart_resets_it():
    assert check_masters([observation("n0", 1, 1, 9), observation("n0", 1, 1, 8)]).verdict == "invalid"
    restarted = [observation("n0", 1, 1, 9), observation("n0", 1, 1, 3, incarnation=1)]
    assert check_masters(restarted).verdict == "valid"


def test_convergence_requires_green_and_equal_copies():
    copies = [{"index": "i", "shard": "0", "prirep": "p", "state": "STARTED", "docs": 10, "node": "n0"},
              {"index": "i", "shard": "0", "prirep": "r", "state": "STARTED", "docs": 10, "node": "n1"}]
    assert check_convergence({"bound_seconds": 60, "green_after_seconds": 2.0, "copies": copies}).verdict == "valid"
    diverged = [copies[0], {**copies[1], "docs": 9}]
    result = check_convergence({"bound_seconds": 60, "green_after_seconds": 2.0, "copies": diverged})
    assert result.verdict == "invalid" and "disagree" in result.reason
    assert result.anomaly_kinds == ("divergent-copies",)
    never_green = check_convergence({"bound_seconds": 60, "green_after_seconds": None, "copies": copies})
    assert never_green.verdict == "invalid"
    assert check_convergence(None).verdict == "skipped"


def test_recovery_time_is_measured_from_the_fault_end_to_the_next_acknowledged_write():
    script = Script()
    script.call(0, "add", "a")
    end_time = script.operations[-1].time
    script.call(0, "add", "b")
    result = check_recovery_times([{"phase": "end", "fault": "kill", "target": "n0", "time": end_time}],
                                  script.operations, bound_seconds=30)
    assert result.verdict == "valid" and result.counts["measured"] == 1


def test_a_fault_never_followed_by_an_acknowledged_write_within_the_bound_is_invalid():
    script = Script().call(0, "add", "a", "fail")
    events = [{"phase": "end", "fault": "kill", "target": "n0", "time": -100.0}]
    result = check_recovery_times(events, script.operations, bound_seconds=30)
    assert result.verdict == "invalid"


# ------------------------------------------------------------------------------ known anomalies


RESILIENCY = """
# Resiliency
## Guarantees
| `set` | lost writes |
## Known anomalies
| checker | what |
|---|---|
| `stale-reads` | minority reads |
| `set` | must never be honoured |
| `convergence/not-green` | one kind only |
## Runs
| `dirty-reads` | not in the known section |
"""


def test_known_anomalies_come_from_their_section_and_never_include_lost_writes():
    assert known_anomalies(RESILIENCY) == {"stale-reads", "convergence/not-green"}


def test_a_known_anomaly_is_reported_but_does_not_fail_the_run_while_lost_writes_always_do():
    stale = check_stale_reads(Script().call(0, "add", "a").call(0, "refresh", "i").call(1, "read", None, "ok", [])
                              .operations)
    marked = mark_known(stale, {"stale-reads", "set"})
    assert marked.verdict == "invalid" and marked.known_anomaly and not marked.fails_run
    lost = check_set(Script().call(0, "add", "a").final("search@n0", []).operations)
    assert mark_known(lost, {"stale-reads", "set"}).fails_run


def test_unknown_writes_nobody_observed_are_pruned_so_a_partition_does_not_exhaust_the_search():
    script = Script()
    register(script, 0, "write", "k", value=1)
    for process in range(1, 25):  # a partition: two dozen writes time out
        script.invoke(process, "write", {"key": "k", "value": 100 + process}).complete(process, "info")
    register(script, 0, "read_register", "k", result=1)
    register(script, 0, "read_register", "k", result=None)  # impossible: still caught
    result = check_linearizable_registers(script.operations, step_budget=1000)
    assert result.verdict == "invalid"


def test_an_observed_unknown_write_is_kept_and_may_explain_a_read():
    script = Script()
    register(script, 0, "write", "k", value=1)
    for process in range(1, 25):
        script.invoke(process, "write", {"key": "k", "value": 100 + process}).complete(process, "info")
    register(script, 0, "read_register", "k", result=107)
    assert check_linearizable_registers(script.operations, step_budget=1000).verdict == "valid"


def test_a_known_kind_of_anomaly_does_not_hide_another_kind_from_the_same_checker():
    started = {"index": "i", "shard": "0", "prirep": "p", "state": "STARTED", "docs": 10, "node": "n0"}
    recovering = {**started, "prirep": "r", "state": "INITIALIZING", "docs": None, "node": "n1"}
    stuck = check_convergence({"bound_seconds": 60, "green_after_seconds": None, "copies": [started, recovering]})
    assert stuck.anomaly_kinds == ("copies-not-started", "not-green")  # a recovering copy is not divergent
    known = {"convergence/not-green", "convergence/copies-not-started"}
    assert not mark_known(stuck, known).fails_run
    divergent = check_convergence({"bound_seconds": 60, "green_after_seconds": 1.0,
                                   "copies": [started, {**recovering, "state": "STARTED", "docs": 9}]})
    assert mark_known(divergent, known).fails_run
