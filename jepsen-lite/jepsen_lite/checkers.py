"""Checkers: turn a run's history and observations into verdicts.

Owns: one function per guarantee, each returning a CheckerResult with a verdict of
``valid`` / ``invalid`` / ``unknown`` (the data cannot decide, e.g. a search budget ran out) /
``skipped`` (the run could not exercise it; the reason is given), plus the reading of the known
anomalies listed in docs/resiliency.md. Must never talk to a cluster: checkers are pure
functions of recorded data, so they are tested on hand-written histories.

History conventions the runner follows (and the tests write by hand):

    f="add"        value: document id                      (set workload, single index call)
    f="add_bulk"   value: [ids]; completion value {"ok": [...], "fail": [...], "info": [...]}
    f="read"       a search during the run; completion value: [ids] seen
    f="refresh"    value: index name
    f="final_read" completion value {"source": "search@node-0", "ids": [...], "unknown": [...]}
    f="write"/"read_register"/"cas"  register workload; value {"key": k, "value": v} for write,
                   {"key": k} for read_register (completion value {"key": k, "value": v|None}),
                   {"key": k, "expected": a, "new": b} for cas
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

from jepsen_lite.history import CompletedOperation, Operation, pair_operations

VERDICTS = ("valid", "invalid", "unknown", "skipped")

# lost acknowledged writes can never be waved through as "known": the whole point of the suite
NEVER_KNOWN_CHECKERS = frozenset({"set"})

DEFAULT_LINEARIZABILITY_STEP_BUDGET = 200_000


@dataclass(frozen=True)
class CheckerResult:
    name: str
    verdict: str
    counts: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    known_anomaly: bool = False
    reason: str = ""
    # the kinds of anomaly behind an invalid verdict (e.g. "divergent-copies"), so that
    # docs/resiliency.md can list one kind as known without hiding the checker's others
    anomaly_kinds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"checker {self.name}: verdict: expected one of {VERDICTS}, got {self.verdict!r}")

    @property
    def fails_run(self) -> bool:
        return self.verdict == "invalid" and not self.known_anomaly

    def to_json(self) -> dict:
        return {"verdict": self.verdict, "known_anomaly": self.known_anomaly, "reason": self.reason,
                "anomaly_kinds": list(self.anomaly_kinds),
                "counts": self.counts, "details": self.details}


def skipped(name: str, reason: str) -> CheckerResult:
    return CheckerResult(name, "skipped", reason=reason)


# ---------------------------------------------------------------------------------- set


def _document_outcomes(pairs: Iterable[CompletedOperation]) -> dict[str, str]:
    """Each attempted document id → its best-known outcome. A document attempted twice (never
    done by our generator, but possible in a user's history) counts as acknowledged if any
    attempt was; otherwise unknown beats fail, because unknown may have happened."""
    rank = {"fail": 0, "info": 1, "ok": 2}
    outcomes: dict[str, str] = {}

    def note(document_id: str, outcome: str) -> None:
        previous = outcomes.get(document_id)
        if previous is None or rank[outcome] > rank[previous]:
            outcomes[document_id] = outcome

    for pair in pairs:
        if pair.invocation.f == "add":
            note(str(pair.invocation.value), pair.outcome)
        elif pair.invocation.f == "add_bulk":
            ids = [str(document_id) for document_id in pair.invocation.value]
            result = pair.completion.value if pair.completion is not None and pair.outcome == "ok" else None
            if isinstance(result, dict):
                per_id = {str(document_id): kind for kind in ("ok", "fail", "info")
                          for document_id in result.get(kind, ())}
                for document_id in ids:
                    note(document_id, per_id.get(document_id, "info"))
            else:
                for document_id in ids:
                    note(document_id, "fail" if pair.outcome == "fail" else "info")
    return outcomes


def _final_reads(pairs: Iterable[CompletedOperation]) -> dict[str, tuple[set[str], set[str]]]:
    """source → (ids present, ids whose presence could not be determined)."""
    reads = {}
    for pair in pairs:
        if pair.invocation.f == "final_read" and pair.outcome == "ok" and isinstance(pair.completion.value, dict):
            value = pair.completion.value
            reads[str(value["source"])] = ({str(i) for i in value.get("ids", ())},
                                           {str(i) for i in value.get("unknown", ())})
    return reads


def check_set(operations: list[Operation]) -> CheckerResult:
    """lost = acknowledged but missing from a final read; unexpected = present but never
    attempted; failed_but_present = definitely failed yet present; recovered = unknown outcome
    and present (fine: an unknown write may have happened)."""
    pairs = pair_operations(operations)
    outcomes = _document_outcomes(pairs)
    reads = _final_reads(pairs)
    if not outcomes:
        return skipped("set", "no document was attempted")
    if not reads:
        return CheckerResult("set", "unknown", reason="no final read succeeded, so nothing can be said about loss")
    union: set[str] = set()
    lost_by_source: dict[str, list[str]] = {}
    acknowledged = {document_id for document_id, outcome in outcomes.items() if outcome == "ok"}
    for source, (present, undetermined) in sorted(reads.items()):
        union |= present
        missing = acknowledged - present - undetermined
        if missing:
            lost_by_source[source] = sorted(missing)
    lost = sorted(set().union(*map(set, lost_by_source.values()))) if lost_by_source else []
    unexpected = sorted(union - set(outcomes))
    failed_but_present = sorted(d for d in union if outcomes.get(d) == "fail")
    recovered = sorted(d for d in union if outcomes.get(d) == "info")
    unknown_missing = sorted(d for d, o in outcomes.items() if o == "info" and d not in union)
    counts = {"attempted": len(outcomes), "acknowledged": len(acknowledged),
              "failed": sum(1 for o in outcomes.values() if o == "fail"),
              "unknown": sum(1 for o in outcomes.values() if o == "info"),
              "lost": len(lost), "unexpected": len(unexpected), "failed_but_present": len(failed_but_present),
              "recovered": len(recovered), "unknown_and_absent": len(unknown_missing),
              "final_read_sources": len(reads)}
    details = {"lost": lost[:200], "lost_by_source": {s: ids[:50] for s, ids in lost_by_source.items()},
               "unexpected": unexpected[:200], "failed_but_present": failed_but_present[:200],
               "recovered": recovered[:200]}
    invalid = lost or unexpected or failed_but_present
    reason = (f"{len(lost)} acknowledged writes lost, {len(unexpected)} unexpected, "
              f"{len(failed_but_present)} failed writes present") if invalid else ""
    return CheckerResult("set", "invalid" if invalid else "valid", counts, details, reason=reason)


# ---------------------------------------------------------------------------------- dirty reads


def check_dirty_reads(operations: list[Operation]) -> CheckerResult:
    """A read during the run that saw a document which is gone after heal (and whose write was
    never acknowledged — an acknowledged one that is gone is a lost write, the set checker's)."""
    pairs = pair_operations(operations)
    reads = _final_reads(pairs)
    observed: dict[str, int] = {}
    read_count = 0
    for pair in pairs:
        if pair.invocation.f == "read" and pair.outcome == "ok" and isinstance(pair.completion.value, list):
            read_count += 1
            for document_id in pair.completion.value:
                observed.setdefault(str(document_id), pair.completion.index)
    if read_count == 0:
        return skipped("dirty-reads", "no read during the run succeeded")
    if not reads:
        return CheckerResult("dirty-reads", "unknown", reason="no final read succeeded")
    final_union = set().union(*(present for present, _ in reads.values()))
    undetermined = set().union(*(unknown for _, unknown in reads.values()))
    outcomes = _document_outcomes(pairs)
    dirty = sorted(d for d in observed if d not in final_union and d not in undetermined and outcomes.get(d) != "ok")
    counts = {"reads": read_count, "documents_observed": len(observed), "dirty": len(dirty)}
    return CheckerResult("dirty-reads", "invalid" if dirty else "valid", counts,
                         {"dirty": dirty[:200], "first_seen_at_record": {d: observed[d] for d in dirty[:50]}},
                         reason=f"{len(dirty)} documents were read and are gone after heal" if dirty else "")


# ---------------------------------------------------------------------------------- stale reads


MINORITY_READ_GRACE_SECONDS = 5.0


def minority_windows(nemesis_events: Iterable[dict],
                     observations: Iterable[dict] = ()) -> dict[str, list[tuple[float, float]]]:
    """Per node, the times during which it sat on a minority side of a partition (a side holding
    fewer than half of the nodes) and had not yet rejoined after the heal: from the partition's
    start until MINORITY_READ_GRACE_SECONDS after its end, or later when the observer's polls
    (``observations``: node, time, raft_term, raft_is_leader, cluster_state_version) show the
    node following the leader's Raft term with the leader's cluster state only later — a node
    left candidate for seconds while its Raft connections come back still serves its old view.
    A partition that never logged its end lasts until the run's end."""
    polls = sorted(((float(observation["time"]), observation) for observation in observations
                    if observation.get("raft_term") is not None
                    and observation.get("cluster_state_version") is not None), key=lambda poll: poll[0])
    starts: dict[int, dict] = {}
    windows: dict[str, list[tuple[float, float]]] = {}
    for event in nemesis_events:
        if event.get("phase") == "start" and event.get("sides"):
            starts[event.get("step", -1)] = event
        elif event.get("phase") == "end" and event.get("step", -1) in starts:
            start = starts.pop(event["step"])
            _add_minority_window(windows, start, float(event["time"]), polls)
    for start in starts.values():
        _add_minority_window(windows, start, float("inf"), polls)
    return windows


def _rejoined_at(node: str, healed: float, polls: list[tuple[float, dict]]) -> float | None:
    """The first poll of ``node`` after ``healed`` in which it follows the term of the latest
    leader poll before it and has applied at least that leader's cluster-state version."""
    leader: dict | None = None
    for time, observation in polls:
        if observation.get("raft_is_leader"):
            leader = observation
            continue
        if time < healed or str(observation["node"]) != node or leader is None:
            continue
        if (observation["raft_term"] == leader["raft_term"]
                and observation["cluster_state_version"] >= leader["cluster_state_version"]):
            return time
    return None


def _add_minority_window(windows: dict[str, list[tuple[float, float]]], start: dict, healed: float,
                         polls: list[tuple[float, dict]]) -> None:
    sides = [list(side) for side in start["sides"]]
    node_count = sum(len(side) for side in sides)
    for side in sides:
        if 2 * len(side) >= node_count:
            continue
        for node in side:
            until = healed + MINORITY_READ_GRACE_SECONDS
            if healed != float("inf"):
                rejoined = _rejoined_at(node, healed, polls)
                if rejoined is not None:
                    until = max(until, rejoined)
            windows.setdefault(node, []).append((float(start["time"]), until))


def check_stale_reads(operations: list[Operation], nemesis_events: Iterable[dict] = (),
                      observations: Iterable[dict] = ()) -> CheckerResult:
    """Refresh-then-read: a search invoked after a refresh completed must see every document
    whose write was acknowledged before that refresh was invoked. A miss is a stale read (a
    deposed primary or a minority node serving an old view). A stale read served by a node that
    sat on a minority side of a partition while the read ran (or after the heal, until it applied
    the majority's cluster state: ``minority_windows``) is of kind ``minority-node`` — DESIGN §10
    allows it and docs/resiliency.md lists it — every other one is of kind ``other``."""
    windows = minority_windows(nemesis_events, observations)
    pairs = pair_operations(operations)
    refreshes = sorted((p.complete_index, p.invoke_index) for p in pairs
                       if p.invocation.f == "refresh" and p.outcome == "ok")
    acknowledged_adds: list[tuple[float, str]] = []
    for pair in pairs:
        if pair.invocation.f == "add" and pair.outcome == "ok":
            acknowledged_adds.append((pair.complete_index, str(pair.invocation.value)))
        elif pair.invocation.f == "add_bulk" and pair.outcome == "ok" and isinstance(pair.completion.value, dict):
            acknowledged_adds.extend((pair.complete_index, str(d)) for d in pair.completion.value.get("ok", ()))
    acknowledged_adds.sort()
    reads = [p for p in pairs if p.invocation.f == "read" and p.outcome == "ok"
             and isinstance(p.completion.value, list)]
    if not refreshes or not reads:
        return skipped("stale-reads", "the run had no successful refresh followed by a successful read")
    stale = []
    checked = 0
    for read in reads:
        # the latest-invoked refresh among those completed before this read was invoked
        barrier = max((invoke for complete, invoke in refreshes if complete < read.invoke_index), default=None)
        if barrier is None:
            continue
        checked += 1
        required = {document_id for complete, document_id in acknowledged_adds if complete < barrier}
        missing = required - {str(d) for d in read.completion.value}
        if missing:
            started, ended = read.invocation.time, read.completion.time
            on_minority = any(start <= ended and started <= until
                              for start, until in windows.get(read.invocation.node or "", ()))
            stale.append({"read_record": read.invocation.index, "node": read.invocation.node,
                          "kind": "minority-node" if on_minority else "other",
                          "missing": sorted(missing)[:20], "missing_count": len(missing)})
    if checked == 0:
        return skipped("stale-reads", "no successful read was invoked after a refresh had completed")
    kinds = tuple(sorted({entry["kind"] for entry in stale}))
    counts = {"reads_checked": checked, "stale_reads": len(stale),
              "stale_reads_on_minority_nodes": sum(1 for entry in stale if entry["kind"] == "minority-node")}
    return CheckerResult("stale-reads", "invalid" if stale else "valid", counts, {"stale": stale[:50]},
                         reason=f"{len(stale)} reads missed documents a completed refresh covered" if stale else "",
                         anomaly_kinds=kinds)


# ---------------------------------------------------------------------------------- linearizability


def _register_step(function: str, argument: Any, result: Any, state: Any) -> tuple[bool, Any]:
    if function == "write":
        return True, argument
    if function == "read_register":
        return result == state, state
    if function == "cas":
        expected, new = argument
        return (True, new) if state == expected else (False, state)
    raise ValueError(f"register operation: expected write, read_register or cas, got {function!r}")


@dataclass(frozen=True)
class RegisterOperation:
    position: int
    function: str
    argument: Any
    result: Any
    invoke_index: int
    complete_index: float  # inf for unknown outcomes
    required: bool         # ok operations must be linearized; unknown ones may be


def register_operations_by_key(operations: list[Operation]) -> dict[str, list[RegisterOperation]]:
    by_key: dict[str, list[RegisterOperation]] = defaultdict(list)
    for pair in pair_operations(operations):
        function = pair.invocation.f
        if function not in ("write", "read_register", "cas") or pair.outcome == "fail":
            continue  # a failed operation did not happen; a failed cas is a no-op either way
        if function == "read_register" and pair.outcome != "ok":
            continue  # an unknown read has no effect to place
        value = pair.invocation.value
        key = str(value["key"])
        if function == "write":
            argument, result = value["value"], None
        elif function == "cas":
            argument, result = (value["expected"], value["new"]), None
        else:
            argument, result = None, pair.completion.value.get("value")
        operations_of_key = by_key[key]
        operations_of_key.append(RegisterOperation(len(operations_of_key), function, argument, result,
                                                   pair.invoke_index, pair.complete_index, pair.outcome == "ok"))
    return {key: prune_unobserved_unknown_operations(history) for key, history in by_key.items()}


def prune_unobserved_unknown_operations(history: list[RegisterOperation]) -> list[RegisterOperation]:
    """Drops unknown-outcome writes and cas whose new value nothing ever depended on (no ok read
    returned it, no cas expected it). Sound: an unknown operation may be linearized at the very
    end, after everything else, where its state change affects nobody — so it can as well be
    left out. Why: each unknown operation otherwise doubles the search (a partition leaves
    dozens), which turned real 30-operation keys into exhausted budgets."""
    current = list(history)
    while True:
        observed = {op.result for op in current if op.function == "read_register"}
        observed |= {op.argument[0] for op in current if op.function == "cas"}
        kept = []
        for op in current:
            new_value = op.argument if op.function == "write" else op.argument[1] if op.function == "cas" else None
            if not op.required and op.function in ("write", "cas") and new_value not in observed:
                continue
            kept.append(op)
        if len(kept) == len(current):
            break
        current = kept
    return [RegisterOperation(position, op.function, op.argument, op.result, op.invoke_index, op.complete_index,
                              op.required) for position, op in enumerate(current)]


def linearizable_register(history: list[RegisterOperation], initial_state: Any = None,
                          step_budget: int = DEFAULT_LINEARIZABILITY_STEP_BUDGET) -> tuple[str, dict]:
    """Wing & Gong's search with Lowe's memoization of (linearized set, state): repeatedly
    linearize an operation that no pending operation's completion precedes, backtracking on
    a model mismatch. Returns (verdict, details)."""
    if len(history) > 60:
        return "unknown", {"reason": f"key has {len(history)} operations; the checker handles at most 60"}
    required_mask = sum(1 << op.position for op in history if op.required)
    seen: set[tuple[int, Any]] = set()
    stack: list[tuple[int, Any]] = [(0, initial_state)]
    steps = 0
    best_mask = 0
    while stack:
        mask, state = stack.pop()
        if mask & required_mask == required_mask:
            return "valid", {"operations": len(history), "steps": steps}
        if (mask, state) in seen:
            continue
        seen.add((mask, state))
        steps += 1
        if steps > step_budget:
            return "unknown", {"reason": f"search budget of {step_budget} steps exhausted", "operations": len(history)}
        if bin(mask & required_mask).count("1") > bin(best_mask & required_mask).count("1"):
            best_mask = mask
        pending = [op for op in history if not mask >> op.position & 1]
        horizon = min((op.complete_index for op in pending if op.required), default=float("inf"))
        for op in pending:
            if op.invoke_index >= horizon:
                continue  # some pending operation completed before this one was invoked
            accepted, next_state = _register_step(op.function, op.argument, op.result, state)
            if accepted:
                stack.append((mask | 1 << op.position, next_state))
    unplaced = [_describe(op) for op in history if op.required and not best_mask >> op.position & 1]
    return "invalid", {"operations": len(history), "steps": steps,
                       "linearized_at_most": bin(best_mask & required_mask).count("1"),
                       "could_not_place": unplaced[:10]}


def _describe(op: RegisterOperation) -> dict:
    return {"f": op.function, "argument": op.argument, "result": op.result,
            "invoked_at_record": op.invoke_index,
            "completed_at_record": None if op.complete_index == float("inf") else op.complete_index}


def check_linearizable_registers(operations: list[Operation],
                                 step_budget: int = DEFAULT_LINEARIZABILITY_STEP_BUDGET) -> CheckerResult:
    by_key = register_operations_by_key(operations)
    if not by_key:
        return skipped("linearizable-registers", "no register operation in the history")
    verdicts = {}
    invalid_details = {}
    for key, history in sorted(by_key.items()):
        verdict, details = linearizable_register(history, None, step_budget)
        verdicts[key] = verdict
        if verdict != "valid":
            invalid_details[key] = details
    counts = {"keys": len(by_key), "operations": sum(map(len, by_key.values())),
              "invalid_keys": sum(1 for v in verdicts.values() if v == "invalid"),
              "unknown_keys": sum(1 for v in verdicts.values() if v == "unknown")}
    if counts["invalid_keys"]:
        verdict = "invalid"
    elif counts["unknown_keys"]:
        verdict = "unknown"
    else:
        verdict = "valid"
    reason = f"{counts['invalid_keys']} keys are not linearizable" if verdict == "invalid" else ""
    return CheckerResult("linearizable-registers", verdict, counts, {"keys": invalid_details}, reason=reason)


# ---------------------------------------------------------------------------------- masters and state


def check_masters(observations: list[dict]) -> CheckerResult:
    """At most one master per Raft term, and each node's applied cluster-state version never
    goes back while the process lives. ``observations``: polls of each node's metrics with
    keys node, incarnation, raft_term, raft_is_leader, cluster_state_version."""
    if not observations:
        return skipped("masters", "no node answered a metrics poll")
    leaders_by_term: dict[int, set[str]] = defaultdict(set)
    last_version: dict[tuple[str, int], tuple[float, Any]] = {}
    regressions = []
    for observation in observations:
        term = int(observation["raft_term"])
        if observation.get("raft_is_leader"):
            leaders_by_term[term].add(str(observation["node"]))
        key = (str(observation["node"]), int(observation.get("incarnation", 0)))
        version = float(observation["cluster_state_version"])
        previous = last_version.get(key)
        if previous is not None and version < previous[0]:
            regressions.append({"node": key[0], "incarnation": key[1], "from": previous[0], "to": version,
                                "at": observation.get("time")})
        last_version[key] = (version, observation.get("time"))
    split = {str(term): sorted(nodes) for term, nodes in leaders_by_term.items() if len(nodes) > 1}
    counts = {"observations": len(observations), "terms_with_a_leader": len(leaders_by_term),
              "terms_with_two_leaders": len(split), "version_regressions": len(regressions)}
    invalid = bool(split or regressions)
    return CheckerResult("masters", "invalid" if invalid else "valid", counts,
                         {"terms_with_two_leaders": split, "version_regressions": regressions[:20]},
                         reason="two masters in one term or a cluster-state version went back" if invalid else "")


# ---------------------------------------------------------------------------------- convergence


def check_convergence(report: dict | None) -> CheckerResult:
    """``report`` from the runner after heal: {"bound_seconds", "green_after_seconds" (None if
    never), "copies": [{"index", "shard", "prirep", "state", "docs", "node"}]}."""
    if report is None:
        return skipped("convergence", "the run did not reach the heal phase")
    if report.get("skipped"):
        return skipped("convergence", str(report["skipped"]))
    problems = []
    kinds: set[str] = set()
    green_after = report.get("green_after_seconds")
    if green_after is None:
        problems.append(f"health did not turn green within {report['bound_seconds']} s of heal")
        kinds.add("not-green")
    copies_by_shard: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for copy in report.get("copies", ()):
        copies_by_shard[(str(copy["index"]), str(copy["shard"]))].append(copy)
    for (index, shard), copies in sorted(copies_by_shard.items()):
        states = {c.get("state") for c in copies}
        if states != {"STARTED"}:
            problems.append(f"{index}/{shard}: copies in states {sorted(map(str, states))}")
            kinds.add("copies-not-started")
        # only started copies can be compared: one still recovering is expected to lag
        started = {c.get("node"): c.get("docs") for c in copies if c.get("state") == "STARTED"}
        if len(set(started.values())) > 1:
            problems.append(f"{index}/{shard}: started copies disagree on document count {started}")
            kinds.add("divergent-copies")
    if not copies_by_shard:
        problems.append("_cat/shards listed no copy")
        kinds.add("no-copies")
    counts = {"shards": len(copies_by_shard), "copies": sum(map(len, copies_by_shard.values())),
              "green_after_seconds": green_after}
    return CheckerResult("convergence", "invalid" if problems else "valid", counts, {"problems": problems},
                         reason="; ".join(problems[:3]), anomaly_kinds=tuple(sorted(kinds)))


def check_recovery_times(nemesis_events: list[dict], operations: list[Operation], bound_seconds: float) -> CheckerResult:
    """For each fault's end (heal, restart, resume), seconds until the next acknowledged write.
    A fault after which no write was acknowledged within ``bound_seconds`` is invalid:
    Quidditch promises the cluster heals itself once the fault is gone."""
    ends = [event for event in nemesis_events if event.get("phase") == "end" and not event.get("skipped")]
    if not ends:
        return skipped("recovery-times", "no fault was applied and healed")
    acknowledged_times = sorted(op.time for op in operations
                                if op.type == "ok" and op.f in ("add", "add_bulk", "write", "cas"))
    run_end = max((op.time for op in operations), default=0.0)
    measured, unrecovered, unmeasured = [], [], []
    for event in ends:
        after = [t for t in acknowledged_times if t >= event["time"]]
        entry = {"fault": event["fault"], "target": event.get("target")}
        if after and after[0] - event["time"] <= bound_seconds:
            measured.append({**entry, "seconds": round(after[0] - event["time"], 3)})
        elif run_end - event["time"] >= bound_seconds:
            unrecovered.append(entry)
        else:
            unmeasured.append(entry)  # the run ended too soon after this fault to tell
    counts = {"faults": len(ends), "measured": len(measured), "unrecovered": len(unrecovered),
              "unmeasured": len(unmeasured),
              "max_seconds": max((m["seconds"] for m in measured), default=None)}
    return CheckerResult("recovery-times", "invalid" if unrecovered else "valid", counts,
                         {"recoveries": measured, "unrecovered": unrecovered, "unmeasured": unmeasured},
                         reason=f"{len(unrecovered)} faults were not followed by an acknowledged write "
                                f"within {bound_seconds} s" if unrecovered else "")


# ---------------------------------------------------------------------------------- node crashes


def check_node_crashes(crashes: list[dict] | None) -> CheckerResult:
    """Node processes that exited although no nemesis step killed them (a crash of the node
    itself: an unhandled exception, an abort). ``None``: the run had no local nodes to watch."""
    if crashes is None:
        return skipped("node-crashes", "the nodes are not this run's processes (--endpoints)")
    counts = {"crashes": len(crashes)}
    return CheckerResult("node-crashes", "invalid" if crashes else "valid", counts, {"crashes": crashes[:50]},
                         reason=(f"{len(crashes)} node processes exited on their own: "
                                 + ", ".join(f"{c['node']} at +{c['time']} s (exit {c['exit_code']})"
                                             for c in crashes[:5])) if crashes else "")


# ---------------------------------------------------------------------------------- known anomalies


KNOWN_ANOMALY_LINE = re.compile(r"^\|\s*`([a-z0-9-]+(?:/[a-z0-9-]+)?)`\s*\|")


def known_anomalies(resiliency_markdown: str) -> set[str]:
    """Entries listed in the table under the "## Known anomalies" heading of
    docs/resiliency.md: first cell in backticks, either a checker name (every kind of anomaly
    it reports is known) or ``checker/kind`` (only that kind). ``set`` is ignored even if
    listed: lost acknowledged writes are never acceptable."""
    names: set[str] = set()
    inside = False
    for line in resiliency_markdown.splitlines():
        if line.startswith("## "):
            inside = line.strip().lower().startswith("## known anomalies")
            continue
        if inside:
            match = KNOWN_ANOMALY_LINE.match(line.strip())
            if match:
                names.add(match.group(1))
    return {name for name in names if name.split("/")[0] not in NEVER_KNOWN_CHECKERS}


def load_known_anomalies(path: Path | None) -> set[str]:
    if path is None or not Path(path).exists():
        return set()
    return known_anomalies(Path(path).read_text(encoding="utf-8"))


def mark_known(result: CheckerResult, known: set[str]) -> CheckerResult:
    """Known when the whole checker is listed, or every kind of anomaly it found is."""
    if result.verdict != "invalid" or result.name in NEVER_KNOWN_CHECKERS:
        return result
    whole = result.name in known
    every_kind = bool(result.anomaly_kinds) and all(f"{result.name}/{kind}" in known for kind in result.anomaly_kinds)
    if whole or every_kind:
        return replace(result, known_anomaly=True)
    return result
