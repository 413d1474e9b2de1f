"""`quidditch cluster-state-history`: a stopped node's Raft log replayed into the shard history.

A real one-voter ClusterStateMachine writes a real pysyncobj journal on loopback; after it stops,
the log is read back (from a copy: the files must not change) and replayed. This is how the
session-6 analysis of jepsen-lite seed 2186230553 found which copy was promoted without the writes.
"""

import time

import pytest

from node.cli import main
from raft.testing import free_addresses
from raft import commands as c
from raft.adapter import ClusterStateMachine, RaftConfig, read_stopped_log
from raft.history import describe_shard, replay_log
from raft.state import NodeInfo

CEILING_SECONDS = 60.0


def free_address():
    return free_addresses(1)[0]


def committed(machine, command):
    deadline = time.monotonic() + CEILING_SECONDS
    while time.monotonic() < deadline:
        result = machine.submit_and_wait(command, timeout_seconds=5.0)
        if result.status == "committed":
            return result.outcome
        time.sleep(0.05)
    pytest.fail(f"{command.command_type} never committed")


@pytest.fixture
def stopped_node_directory(tmp_path):
    """A node data directory whose raft/ holds: bootstrap, two nodes, an index, its primary on n1
    started, a replica on n2 allocated, a rejected start of an unknown copy, the replica started."""
    address = free_address()
    machine = ClusterStateMachine(RaftConfig(cluster_name="test", cluster_secret="history-secret",
                                             data_directory=tmp_path / "raft", self_address=address,
                                             voter_addresses=(address,)))
    try:
        deadline = time.monotonic() + CEILING_SECONDS
        while machine.status().role != "leader":
            assert time.monotonic() < deadline, "no leader"
            time.sleep(0.02)
        committed(machine, c.BootstrapCluster(cluster_uuid="u"))
        for node_id in ("n1", "n2"):
            committed(machine, c.RegisterNode(node=NodeInfo(node_id=node_id, name=f"name-{node_id}",
                                                            http_address="h:1", transport_address="t:1")))
        committed(machine, c.CreateIndex(index_name="logs", index_uuid="logs-uuid", creation_date=1,
                                         settings={"index": {"number_of_shards": 1, "number_of_replicas": 1}}))
        committed(machine, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n1",
                                          allocation_id="primary-copy", primary=True))
        committed(machine, c.StartCopy(index_name="logs", shard_number=0, allocation_id="primary-copy"))
        committed(machine, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2",
                                          allocation_id="replica-copy", primary=False))
        assert not committed(machine, c.StartCopy(index_name="logs", shard_number=0,
                                                  allocation_id="no-such-copy")).accepted
        committed(machine, c.StartCopy(index_name="logs", shard_number=0, allocation_id="replica-copy"))
        final_version = machine.state.version
    finally:
        machine.close()
    return tmp_path, final_version


def test_the_replayed_log_ends_in_the_state_the_node_had(stopped_node_directory):
    data_directory, final_version = stopped_node_directory
    journal = data_directory / "raft" / "raft.journal"
    before = journal.read_bytes()
    snapshot_state, _, entries = read_stopped_log(data_directory / "raft")
    steps = list(replay_log(snapshot_state, entries))
    assert journal.read_bytes() == before, "reading the log changed the journal"
    assert steps[-1].state.version == final_version
    rejected = [step for step in steps if not step.accepted]
    assert [step.command_type for step in rejected] == ["start_copy"]
    assert "no-such-copy" in rejected[0].reason
    assert describe_shard(steps[-1].state, "logs", 0) == (
        "term=1 in_sync=[primary-, replica-] copies=[primary-@name-n1 STARTED primary, replica-@name-n2 STARTED]")
    assert describe_shard(steps[-1].state, "other", 0) == "absent"


def test_the_command_prints_each_change_of_the_followed_shard_once(stopped_node_directory, capsys):
    data_directory, _ = stopped_node_directory
    assert main(["cluster-state-history", "--data", str(data_directory), "--index", "logs"]) == 0
    output = capsys.readouterr().out
    shard_lines = [line.strip() for line in output.splitlines() if line.startswith("    [logs][0]")]
    assert shard_lines == [
        "[logs][0] term=0 in_sync=[] copies=[unassigned, unassigned]",
        "[logs][0] term=1 in_sync=[] copies=[primary-@name-n1 INITIALIZING primary, unassigned]",
        "[logs][0] term=1 in_sync=[primary-] copies=[primary-@name-n1 STARTED primary, unassigned]",
        "[logs][0] term=1 in_sync=[primary-] copies=[primary-@name-n1 STARTED primary, replica-@name-n2 INITIALIZING]",
        "[logs][0] term=1 in_sync=[primary-, replica-] copies=[primary-@name-n1 STARTED primary, replica-@name-n2 STARTED]",
    ]
    assert "start_copy REJECTED" in output


def test_a_directory_without_a_raft_log_is_refused_with_a_message(tmp_path, capsys):
    assert main(["cluster-state-history", "--data", str(tmp_path)]) == 2
    assert "cannot read the raft log" in capsys.readouterr().err
