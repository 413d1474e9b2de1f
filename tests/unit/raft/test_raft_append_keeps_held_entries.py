"""raft.adapter.without_redundant_truncation: a follower deletes log entries only where they
conflict with the leader's (Raft's rule), never entries it holds exactly as the leader sent them."""

from hypothesis import given, strategies as st

from raft.testing import free_addresses
from raft.adapter import without_redundant_truncation


def follower_log(terms, first_index=1):
    entries = {first_index + offset: term for offset, term in enumerate(terms)}
    return first_index, first_index + len(terms) - 1, entries.get


def append(previous_index, previous_term, entries, term, commit_index=0):
    return {"type": "append_entries", "term": term, "commit_index": commit_index, "prevLogIdx": previous_index,
            "prevLogTerm": previous_term, "entries": [(b"cmd", index, entry_term) for index, entry_term in entries]}


def test_a_resend_of_entries_already_held_keeps_the_later_ones_of_the_same_leader():
    first, last, term_at = follower_log([1, 1, 2, 2, 2, 2])  # indexes 1..6
    message = append(2, 1, [(3, 2), (4, 2)], term=2)        # the leader resends 3..4 only
    rewritten = without_redundant_truncation(message, first, last, term_at)
    assert (rewritten["prevLogIdx"], rewritten["prevLogTerm"], rewritten["entries"]) == (6, 2, [])
    assert rewritten["commit_index"] == message["commit_index"] and message["prevLogIdx"] == 2  # a copy


def test_a_heartbeat_from_behind_keeps_entries_of_its_own_term():
    first, last, term_at = follower_log([1, 3, 3])
    rewritten = without_redundant_truncation(append(1, 1, [], term=3), first, last, term_at)
    assert (rewritten["prevLogIdx"], rewritten["entries"]) == (3, [])


def test_a_conflicting_entry_is_still_truncated_as_raft_says():
    first, last, term_at = follower_log([1, 2, 2])
    message = append(1, 1, [(2, 3)], term=3)  # index 2 holds term 2, the leader says term 3
    assert without_redundant_truncation(message, first, last, term_at) is message


def test_held_entries_of_an_older_term_beyond_the_message_are_left_to_the_leader():
    first, last, term_at = follower_log([1, 1, 1])
    message = append(1, 1, [(2, 1)], term=2)  # entry 3 (term 1) may not be in the new leader's log
    assert without_redundant_truncation(message, first, last, term_at) is message


def test_messages_that_truncate_nothing_or_are_not_appends_pass_unchanged():
    first, last, term_at = follower_log([1, 1])
    for message in (append(2, 1, [(3, 1)], term=1), append(0, 0, [], term=1) | {"prevLogIdx": 0},
                    {"type": "request_vote", "term": 2}, {"type": "append_entries", "transmission": "start"}):
        assert without_redundant_truncation(message, first, last, term_at) is message


@given(terms=st.lists(st.integers(1, 3), min_size=1, max_size=12).map(sorted),
       previous=st.integers(0, 12), count=st.integers(0, 12))
def test_a_rewrite_only_ever_skips_entries_the_follower_already_holds(terms, previous, count):
    """Applied the way pysyncobj applies it, a rewritten message leaves a log that is the
    original message's result extended by held entries of the leader's own term — never shorter
    than the message's result, never different from it where the message spoke."""
    first, last, term_at = follower_log(terms)
    leader_term = terms[-1]
    previous = min(previous, last)
    sent = [(index, term_at(index) or leader_term) for index in range(previous + 1, previous + 1 + count)]
    message = append(previous, term_at(previous) or 0, sent, term=leader_term)
    rewritten = without_redundant_truncation(message, first, last, term_at)
    if rewritten is message:
        return
    as_sent = {index: term for index, term in sent}
    kept = {index: term_at(index) for index in range(first, last + 1)}
    assert all(kept[index] == term for index, term in as_sent.items())
    assert all(kept[index] == leader_term for index in range(previous + count + 1, last + 1))
    assert rewritten["prevLogIdx"] == last and rewritten["entries"] == []


# ---- the transport, on real pysyncobj voters -------------------------------------------------

import logging  # noqa: E402 — the section's own imports
import threading  # noqa: E402
import time  # noqa: E402

from raft import commands as c  # noqa: E402
from raft.adapter import ClusterStateMachine, RaftConfig, RaftConformingTransport  # noqa: E402
from raft.state import NodeInfo  # noqa: E402


def free_address():
    return free_addresses(1)[0]


def wait_until(condition, seconds=60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


class CriticalLines(logging.Handler):
    def __init__(self):
        super().__init__(logging.CRITICAL)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def resend_to_follower(tmp_path, transport_class):
    """Three voters commit a few commands; then the leader's resend of ONE old entry (a batch cut
    short, overtaken pipelining) reaches a follower. Returns (the follower's last log index
    before, after, CRITICAL lines pysyncobj logged)."""
    voters = free_addresses(3)
    machines = []
    try:
        for number, address in enumerate(voters):
            machines.append(ClusterStateMachine(RaftConfig(
                cluster_name="test", cluster_secret="secret", data_directory=tmp_path / f"v{number}",
                self_address=address, voter_addresses=tuple(voters),
                transport_class=transport_class)))

        def settled_follower():
            statuses = [machine.status() for machine in machines]
            leaders = {status.leader_address for status in statuses}
            if len(leaders) != 1 or None in leaders:
                return None
            return next((machine for machine, status in zip(machines, statuses) if status.role == "follower"), None)

        assert wait_until(lambda: settled_follower() is not None)
        follower = settled_follower()
        for number in range(5):
            result = follower.submit_and_wait(c.RegisterNode(node=NodeInfo(
                node_id=f"n{number}", name=f"n{number}", http_address="h:1", transport_address="t:1")), 10.0)
            assert result.status == "committed"
        assert wait_until(lambda: "n4" in follower.state.nodes)
        leader_address = follower.status().leader_address
        log = follower._SyncObj__raftLog
        transport = follower._SyncObj__transport
        observed = {}
        done = threading.Event()

        def inject():
            if done.is_set():  # once (removing a tick callback from inside one deadlocks pysyncobj)
                return
            last = log[-1][1]
            first = log[0][1]
            previous = last - 3
            entry = log[previous + 1 - first]
            message = {"type": "append_entries", "term": log[-1][2], "commit_index": 0,
                       "prevLogIdx": previous, "prevLogTerm": log[previous - first][2], "entries": [entry]}
            transport._onMessageReceived(transport._nodeAddrToNode[leader_address], message)
            observed.update(before=last, after=log[-1][1])
            done.set()

        critical = CriticalLines()
        logging.getLogger("pysyncobj").addHandler(critical)
        try:
            follower.addOnTickCallback(inject)
            assert done.wait(30)
            follower.removeOnTickCallback(inject)
        finally:
            logging.getLogger("pysyncobj").removeHandler(critical)
        return observed["before"], observed["after"], critical.lines
    finally:
        for machine in machines:
            machine.close()


def test_a_follower_keeps_the_entries_a_resend_repeats(tmp_path):
    before, after, critical = resend_to_follower(tmp_path, None)  # every node's default transport
    assert after == before
    assert not [line for line in critical if "truncating already-applied" in line]


def test_pysyncobj_alone_truncates_them_which_is_why_the_transport_exists(tmp_path):
    plain_tcp_transport = RaftConformingTransport.__bases__[0]
    before, after, critical = resend_to_follower(tmp_path, plain_tcp_transport)
    assert after == before - 2
    assert any("truncating already-applied" in line for line in critical)
