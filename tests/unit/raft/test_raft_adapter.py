"""raft.adapter on real loopback sockets: formation, commits, restart, password, three voters.

No timed assertions: every wait polls for a condition and fails only after a generous ceiling,
so a slow machine makes these tests slower, never flaky.
"""

import base64
import socket
import threading
import time
from pathlib import Path

import orjson
import pytest

from raft.testing import free_addresses
from raft import commands as c
from raft.adapter import ClusterStateMachine, RaftConfig, SubmitResult
from raft.errors import RaftConfigurationError
from raft.state import NodeInfo, UdfMetadata

SECRET = "test-cluster-secret"
CEILING_SECONDS = 60.0


def free_address():
    return free_addresses(1)[0]


ALL_MACHINES = []


def wait_until(condition, what):
    deadline = time.monotonic() + CEILING_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    statuses = "\n".join(repr(machine.status()) for machine in ALL_MACHINES)
    pytest.fail(f"gave up waiting for {what}; statuses:\n{statuses}")


def submit_until_committed(machine, command):
    """Elections may happen at any time on a loaded machine: resubmit THE SAME command (same id,
    so at most one application) until an answer says it is committed, as node/ would."""
    deadline = time.monotonic() + CEILING_SECONDS
    while time.monotonic() < deadline:
        result = machine.submit_and_wait(command, timeout_seconds=5.0)
        if result.status == "committed":
            return result
        time.sleep(0.05)
    pytest.fail(f"command {command.command_type} never committed")


def make_config(tmp_path, name, self_address, voters, secret=SECRET, **overrides):
    return RaftConfig(cluster_name="test", cluster_secret=secret, data_directory=tmp_path / name,
                      self_address=self_address, voter_addresses=tuple(voters), **overrides)


@pytest.fixture
def machines():
    started = ALL_MACHINES
    started.clear()
    yield started
    for machine in started:
        machine.close()
    started.clear()


def start(machines, config):
    machine = ClusterStateMachine(config)
    machines.append(machine)
    return machine


def register(node_id):
    return c.RegisterNode(node=NodeInfo(node_id=node_id, name=node_id, http_address="h:1",
                                        transport_address="t:1"))


def test_a_single_voter_elects_itself_and_commits_commands(tmp_path, machines):
    address = free_address()
    machine = start(machines, make_config(tmp_path, "one", address, [address]))
    wait_until(lambda: machine.status().role == "leader", "a leader")
    result = machine.submit_and_wait(register("n1"), timeout_seconds=CEILING_SECONDS)
    assert result.status == "committed" and result.outcome.accepted
    assert machine.state.nodes["n1"].name == "n1"
    status = machine.status()
    assert status.leader_address == address and status.raft_term >= 1
    rejected = machine.submit_and_wait(c.DeleteIndex(index_name="missing"), CEILING_SECONDS)
    assert rejected.status == "committed"
    assert not rejected.outcome.accepted
    assert rejected.outcome.error_type == "index_not_found_exception"


def test_state_listeners_see_every_version_in_order(tmp_path, machines):
    address = free_address()
    machine = start(machines, make_config(tmp_path, "one", address, [address]))
    seen = []
    machine.on_state_applied(lambda state, outcome: seen.append(state.version))
    wait_until(lambda: machine.status().role == "leader", "a leader")
    for number in range(5):
        assert machine.submit_and_wait(register(f"n{number}"), CEILING_SECONDS).status == "committed"
    assert seen == [1, 2, 3, 4, 5]


def test_a_submission_that_never_finds_a_leader_is_not_committed_exactly_once(tmp_path, machines):
    # Two voters, one never started: no leader can be elected, so the command is never handed
    # to pysyncobj and its failure is definite (it will not commit later behind our back).
    address, absent = free_addresses(2)
    machine = start(machines, make_config(tmp_path, "lonely", address, [address, absent]))
    results = []
    fired = threading.Event()

    def on_result(result):
        results.append(result)
        fired.set()

    machine.submit(register("n1"), on_result, timeout_seconds=0.2)
    assert fired.wait(CEILING_SECONDS)
    assert results == [SubmitResult("not_committed", None, "no_leader")]
    machine.close()
    assert results == [SubmitResult("not_committed", None, "no_leader")]


def test_a_command_the_leader_cannot_commit_has_an_unknown_outcome(tmp_path, machines):
    voters = free_addresses(2)
    pair = [start(machines, make_config(tmp_path, f"p{i}", voters[i], voters,
                                        leader_fallback_timeout_seconds=30.0)) for i in range(2)]
    submit_until_committed(pair[0], register("together"))
    wait_until(lambda: all("together" in m.state.nodes for m in pair), "replication")
    leader = next((m for m in pair if m.status().role == "leader"), None)
    if leader is None:
        wait_until(lambda: any(m.status().role == "leader" for m in pair), "a leader")
        leader = next(m for m in pair if m.status().role == "leader")
    next(m for m in pair if m is not leader).close()
    # The leader still believes it leads (fallback 30 s) and appends the entry, but without its
    # peer it cannot commit: the deadline makes the outcome unknown, never "failed".
    result = leader.submit_and_wait(register("alone"), timeout_seconds=0.5)
    assert result == SubmitResult("unknown", None, "timeout")
    assert "alone" not in leader.state.nodes


def test_submitting_after_close_reports_not_committed(tmp_path, machines):
    address = free_address()
    machine = start(machines, make_config(tmp_path, "one", address, [address]))
    machine.close()
    results = []
    machine.submit(register("n1"), results.append, timeout_seconds=1.0)
    assert results == [SubmitResult("not_committed", None, "closed")]


def test_a_voter_restarts_from_its_journal_and_snapshot_with_a_newer_term(tmp_path, machines):
    address = free_address()
    config = make_config(tmp_path, "durable", address, [address])
    first = start(machines, config)
    wait_until(lambda: first.status().role == "leader", "a leader")
    for number in range(3):
        assert first.submit_and_wait(register(f"a{number}"), CEILING_SECONDS).status == "committed"
    first.forceLogCompaction()
    snapshot_path = tmp_path / "durable" / "raft.snapshot.json"
    wait_until(snapshot_path.exists, "a snapshot file")
    # The snapshot is our JSON, never a pickle of the SyncObj's __dict__.
    assert orjson.loads(snapshot_path.read_bytes())["state"]["nodes"]["a2"]["name"] == "a2"
    for number in range(2):
        assert first.submit_and_wait(register(f"b{number}"), CEILING_SECONDS).status == "committed"
    version_before, term_before = first.state.version, first.status().raft_term
    nodes_before = first.state.nodes
    first.close()

    second = start(machines, config)
    wait_until(lambda: second.state.version == version_before, "the state restored")
    assert second.state.nodes == nodes_before
    wait_until(lambda: second.status().role == "leader", "a leader after restart")
    assert second.status().raft_term > term_before
    assert second.submit_and_wait(register("c0"), CEILING_SECONDS).status == "committed"
    assert second.state.version == version_before + 1


def test_three_voters_elect_one_leader_and_replicate_the_state(tmp_path, machines):
    voters = free_addresses(3)
    cluster = [start(machines, make_config(tmp_path, f"v{i}", voters[i], voters)) for i in range(3)]
    def one_agreed_leader():
        statuses = [m.status() for m in cluster]
        leaders = {status.leader_address for status in statuses}
        return (len(leaders) == 1 and None not in leaders
                and sum(status.role == "leader" for status in statuses) == 1)

    wait_until(one_agreed_leader, "one leader every voter follows")
    follower = next(m for m in cluster if m.status().role != "leader")
    # A follower forwards the command to the leader; it commits and applies everywhere.
    result = submit_until_committed(follower, register("via-follower"))
    assert result.outcome.accepted
    wait_until(lambda: all("via-follower" in m.state.nodes for m in cluster), "replication")
    # A command far larger than pysyncobj's default 64 KiB batch replicates whole.
    big_module = base64.b64encode(bytes(range(256)) * 1200).decode("ascii")
    submit_until_committed(follower, c.PutUdf(udf=UdfMetadata(
        name="big", wasm_base64=big_module, sha256="00")))
    wait_until(lambda: all("big" in m.state.udfs for m in cluster), "the big command everywhere")
    assert len({m.state.to_bytes() for m in cluster}) == 1


def test_a_read_only_node_receives_the_state_and_can_submit(tmp_path, machines):
    voter = free_address()
    leader = start(machines, make_config(tmp_path, "voter", voter, [voter]))
    wait_until(lambda: leader.status().role == "leader", "a leader")
    assert leader.submit_and_wait(register("before"), CEILING_SECONDS).status == "committed"
    observer = start(machines, make_config(tmp_path, "observer", None, [voter]))
    wait_until(lambda: "before" in observer.state.nodes, "the observer catching up")
    assert observer.status().role == "read_only"
    result = submit_until_committed(observer, register("from-observer"))
    assert result.outcome.accepted
    wait_until(lambda: "from-observer" in leader.state.nodes, "the leader applying it")


def test_a_peer_with_the_wrong_password_is_refused(tmp_path, machines):
    voters = free_addresses(3)
    good = [start(machines, make_config(tmp_path, f"g{i}", voters[i], voters)) for i in range(2)]
    intruder = start(machines, make_config(tmp_path, "bad", voters[2], voters, secret="wrong"))
    wait_until(lambda: any(m.status().role == "leader" for m in good), "a leader among the two")
    submitter = good[0]
    for number in range(3):
        submit_until_committed(submitter, register(f"n{number}"))
    wait_until(lambda: all(m.state.version == 3 for m in good), "both good voters applying")
    # Heartbeats and entries reached it all along, but it could not decrypt any of them.
    assert intruder.state.version == 0
    assert intruder.status().leader_address is None
    assert intruder.status().commit_index <= 1


def test_an_empty_secret_is_refused_before_anything_binds(tmp_path):
    address = free_address()
    with pytest.raises(RaftConfigurationError, match="cluster_secret"):
        ClusterStateMachine(make_config(tmp_path, "x", address, [address], secret=""))


def test_self_address_must_be_a_listed_voter(tmp_path):
    with pytest.raises(RaftConfigurationError, match="must be one of voter_addresses"):
        ClusterStateMachine(make_config(tmp_path, "x", "127.0.0.1:1", ["127.0.0.1:2"]))


def test_resubmitting_the_same_command_id_learns_the_first_outcome(tmp_path, machines):
    address = free_address()
    machine = start(machines, make_config(tmp_path, "one", address, [address]))
    wait_until(lambda: machine.status().role == "leader", "a leader")
    command = c.CreateIndex(index_name="logs", index_uuid="u1", creation_date=1)
    first = machine.submit_and_wait(command, CEILING_SECONDS)
    again = machine.submit_and_wait(command, CEILING_SECONDS)
    assert first.outcome.accepted and not first.outcome.duplicate
    assert again.status == "committed" and again.outcome.accepted and again.outcome.duplicate
    assert machine.state.version == first.outcome.state_version


def test_a_voter_restarts_from_its_journal_alone(tmp_path, machines):
    address = free_address()
    config = make_config(tmp_path, "journal-only", address, [address])
    first = start(machines, config)
    wait_until(lambda: first.status().role == "leader", "a leader")
    for number in range(4):
        assert first.submit_and_wait(register(f"n{number}"), CEILING_SECONDS).status == "committed"
    expected = first.state
    first.close()
    assert not (tmp_path / "journal-only" / "raft.snapshot.json").exists()
    replayed = []
    second = ClusterStateMachine(config, state_listeners=(
        lambda state, outcome: replayed.append((state.version, outcome.command_type)),))
    machines.append(second)
    wait_until(lambda: second.state.version == expected.version, "the journal replayed")
    assert second.state == expected
    assert replayed == [(version, "register_node") for version in range(1, 5)]


def test_a_snapshot_restore_is_announced_to_listeners_without_an_outcome(tmp_path, machines):
    address = free_address()
    config = make_config(tmp_path, "snap", address, [address])
    first = start(machines, config)
    wait_until(lambda: first.status().role == "leader", "a leader")
    assert first.submit_and_wait(register("n1"), CEILING_SECONDS).status == "committed"
    assert first.submit_and_wait(register("n2"), CEILING_SECONDS).status == "committed"
    first.forceLogCompaction()
    wait_until((tmp_path / "snap" / "raft.snapshot.json").exists, "a snapshot file")
    first.close()
    announced = []
    second = ClusterStateMachine(config, state_listeners=(
        lambda state, outcome: announced.append((state.version, outcome)),))
    machines.append(second)
    wait_until(lambda: second.state.version == 2, "the snapshot restored")
    assert announced == [(2, None)]


def test_the_remaining_voters_elect_a_new_leader_with_a_higher_term(tmp_path, machines):
    voters = free_addresses(3)
    cluster = [start(machines, make_config(tmp_path, f"v{i}", voters[i], voters)) for i in range(3)]
    wait_until(lambda: sum(m.status().role == "leader" for m in cluster) == 1, "one leader")
    submit_until_committed(cluster[0], register("before"))
    wait_until(lambda: all("before" in m.state.nodes for m in cluster), "replication")
    old_leader = next((m for m in cluster if m.status().role == "leader"), None)
    if old_leader is None:  # an election is in progress right now: wait for its result
        wait_until(lambda: any(m.status().role == "leader" for m in cluster), "a leader")
        old_leader = next(m for m in cluster if m.status().role == "leader")
    old_term = old_leader.status().raft_term
    old_leader.close()
    survivors = [m for m in cluster if m is not old_leader]
    changes = []
    survivors[0].on_status_changed(changes.append)
    wait_until(lambda: any(m.status().role == "leader" for m in survivors), "a new leader")
    new_leader = next(m for m in survivors if m.status().role == "leader")
    assert new_leader.status().raft_term > old_term
    submit_until_committed(survivors[1], register("after"))
    wait_until(lambda: all({"before", "after"} <= set(m.state.nodes) for m in survivors),
               "both survivors applying")
    assert changes and changes[-1].raft_term > old_term


def test_a_command_above_the_entry_size_limit_is_refused_without_entering_the_log(tmp_path, machines):
    address = free_address()
    machine = start(machines, make_config(tmp_path, "one", address, [address],
                                          append_entries_batch_size_bytes=64 * 1024))
    results = []
    machine.submit(c.PutUdf(udf=UdfMetadata(name="huge", wasm_base64="A" * 100_000, sha256="00")),
                   results.append, timeout_seconds=5.0)
    assert len(results) == 1 and results[0].status == "not_committed"
    assert results[0].reason.startswith("command_too_large")


def test_a_lagging_voter_catches_up_from_the_leaders_snapshot(tmp_path, machines):
    voters = free_addresses(3)
    configs = [make_config(tmp_path, f"v{i}", voters[i], voters) for i in range(3)]
    cluster = [start(machines, config) for config in configs]
    submit_until_committed(cluster[0], register("early"))
    wait_until(lambda: all("early" in m.state.nodes for m in cluster), "replication")
    laggard = next(m for m in cluster if m.status().role != "leader")
    laggard_config = laggard.config
    laggard.close()
    running = [m for m in cluster if m is not laggard]
    for number in range(5):
        submit_until_committed(running[0], register(f"while-away-{number}"))
    # Compact the log on both running voters, so the entries the laggard misses are gone and only
    # a snapshot can bring it up to date.
    for machine in running:
        machine.forceLogCompaction()
    wait_until(lambda: all((Path(m.config.data_directory) / "raft.snapshot.json").exists()
                           for m in running), "snapshots on the running voters")
    submit_until_committed(running[0], register("after-compaction"))
    announced = []
    returning = ClusterStateMachine(laggard_config, state_listeners=(
        lambda state, outcome: announced.append(outcome is None),))
    machines.append(returning)
    wait_until(lambda: "after-compaction" in returning.state.nodes, "the laggard catching up")
    wait_until(lambda: returning.state == running[0].state, "identical states")
    assert True in announced  # at least one state arrived as a snapshot, not as log entries


def test_a_transport_class_is_plumbed_through_for_fault_injection(tmp_path, machines):
    from raft.adapter import DEFAULT_TRANSPORT_CLASS

    sent_types = []

    class RecordingTransport(DEFAULT_TRANSPORT_CLASS):
        def send(self, node, message):
            sent_types.append(message.get("type") if isinstance(message, dict) else None)
            return super().send(node, message)

    voters = free_addresses(2)
    pair = [start(machines, make_config(tmp_path, f"t{i}", voters[i], voters,
                                        transport_class=RecordingTransport)) for i in range(2)]
    submit_until_committed(pair[0], register("through-the-hook"))
    wait_until(lambda: all("through-the-hook" in m.state.nodes for m in pair), "replication")
    assert "append_entries" in sent_types


def test_a_busy_raft_port_is_a_bind_error_naming_the_address(tmp_path):
    from raft.errors import RaftBindError

    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        address = f"127.0.0.1:{occupant.getsockname()[1]}"
        with pytest.raises(RaftBindError, match=address):
            ClusterStateMachine(make_config(tmp_path, "busy", address, [address],
                                            max_bind_attempts=2, bind_retry_seconds=0.05))


def test_a_corrupt_snapshot_refuses_to_start_and_names_the_file(tmp_path, machines):
    from raft.errors import StateDecodeError

    address = free_address()
    config = make_config(tmp_path, "corrupt", address, [address])
    first = start(machines, config)
    wait_until(lambda: first.status().role == "leader", "a leader")
    assert first.submit_and_wait(register("n1"), CEILING_SECONDS).status == "committed"
    assert first.submit_and_wait(register("n2"), CEILING_SECONDS).status == "committed"
    first.forceLogCompaction()
    snapshot_path = tmp_path / "corrupt" / "raft.snapshot.json"
    wait_until(snapshot_path.exists, "a snapshot file")
    first.close()
    snapshot_path.write_bytes(snapshot_path.read_bytes()[:-20])
    with pytest.raises(StateDecodeError, match="raft.snapshot.json"):
        ClusterStateMachine(config)


def test_a_whole_cluster_restart_keeps_the_state(tmp_path, machines):
    voters = free_addresses(3)
    configs = [make_config(tmp_path, f"v{i}", voters[i], voters) for i in range(3)]
    first_run = [start(machines, config) for config in configs]
    for number in range(3):
        submit_until_committed(first_run[number], register(f"n{number}"))
    wait_until(lambda: all(m.state.version == 3 for m in first_run), "replication")
    first_run[0].forceLogCompaction()  # one voter restarts from a snapshot, two from journals
    wait_until((tmp_path / "v0" / "raft.snapshot.json").exists, "a snapshot file")
    expected = first_run[0].state
    highest_term = max(m.status().raft_term for m in first_run)
    for machine in first_run:
        machine.close()
    second_run = [start(machines, config) for config in configs]
    wait_until(lambda: all(m.state == expected for m in second_run), "the state restored everywhere")
    wait_until(lambda: any(m.status().role == "leader" for m in second_run), "a leader")
    assert max(m.status().raft_term for m in second_run) > highest_term
    submit_until_committed(second_run[1], register("after-restart"))
    wait_until(lambda: all(m.state.version == 4 for m in second_run), "a new commit everywhere")


def test_a_damaged_journal_refuses_to_start_and_names_the_file(tmp_path, machines):
    from raft.errors import StateDecodeError

    address = free_address()
    config = make_config(tmp_path, "damaged", address, [address])
    first = start(machines, config)
    wait_until(lambda: first.status().role == "leader", "a leader")
    for number in range(3):
        assert first.submit_and_wait(register(f"n{number}"), CEILING_SECONDS).status == "committed"
    first.close()
    journal_path = tmp_path / "damaged" / "raft.journal"
    journal_path.write_bytes(journal_path.read_bytes()[:60])  # header kept, records torn away
    with pytest.raises(StateDecodeError, match="raft.journal"):
        ClusterStateMachine(config)


def test_every_configuration_problem_is_reported_together(tmp_path):
    config = RaftConfig(cluster_name="", cluster_secret="", data_directory=tmp_path,
                        self_address="nohost", voter_addresses=("a:1", "a:1"),
                        max_bind_attempts=0, tick_seconds=0)
    with pytest.raises(RaftConfigurationError) as raised:
        config.validate()
    message = str(raised.value)
    for fragment in ("cluster_secret", "cluster_name", "self_address [nohost]", "duplicates",
                     "max_bind_attempts", "tick_seconds"):
        assert fragment in message


def test_concurrent_submitters_each_get_exactly_one_answer(tmp_path, machines):
    voters = free_addresses(3)
    cluster = [start(machines, make_config(tmp_path, f"c{i}", voters[i], voters)) for i in range(3)]
    submit_until_committed(cluster[0], register("warm-up"))
    answers: dict[str, list] = {}
    answers_lock = threading.Lock()
    all_answered = threading.Event()
    commands = [register(f"t{thread}-{number}") for thread in range(4) for number in range(25)]

    def on_answer(command_id, result):
        with answers_lock:
            answers.setdefault(command_id, []).append(result)
            if len(answers) == len(commands):
                all_answered.set()

    def submitter(thread):
        for command in commands[thread * 25:(thread + 1) * 25]:
            cluster[thread % 3].submit(
                command, lambda result, command_id=command.command_id: on_answer(command_id, result),
                timeout_seconds=CEILING_SECONDS)

    threads = [threading.Thread(target=submitter, args=(thread,)) for thread in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all_answered.wait(CEILING_SECONDS + 10)
    first_answers = {command_id: results[0] for command_id, results in answers.items()}
    # Resubmitting anything that did not commit (an election may interrupt) converges anyway.
    for command in commands:
        if first_answers[command.command_id].status != "committed":
            submit_until_committed(cluster[0], command)
    wait_until(lambda: all(m.state.version == 1 + len(commands) for m in cluster), "every command")
    # By now every raft thread has applied everything: a second answer would have arrived.
    assert all(len(answers[command.command_id]) == 1 for command in commands)
