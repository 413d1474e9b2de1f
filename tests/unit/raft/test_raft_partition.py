"""A leader cut off from the majority (messages black-holed through the transport hook):
its writes are never acknowledged as committed, the majority elects a new leader and keeps
committing, and after the partition heals every voter converges on the majority's state."""

import threading
import time

import pytest

from raft.testing import free_addresses
from raft import commands as c
from raft.adapter import DEFAULT_TRANSPORT_CLASS, ClusterStateMachine, RaftConfig
from raft.state import NodeInfo

CEILING_SECONDS = 60.0
ISOLATED: set[str] = set()      # raft addresses cut off from everyone else
ISOLATION_LOCK = threading.Lock()


class PartitionableTransport(DEFAULT_TRANSPORT_CLASS):
    """Drops every message across the partition line, in both directions, like a black hole."""

    def send(self, node, message):
        own_address = getattr(self._selfNode, "address", None)
        with ISOLATION_LOCK:
            crosses = (own_address in ISOLATED) != (getattr(node, "address", None) in ISOLATED)
        if crosses:
            return True
        return super().send(node, message)


def free_address():
    return free_addresses(1)[0]


def wait_until(condition, what, machines):
    deadline = time.monotonic() + CEILING_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    statuses = "\n".join(repr(m.status()) for m in machines)
    pytest.fail(f"gave up waiting for {what}; statuses:\n{statuses}")


def register(node_id):
    return c.RegisterNode(node=NodeInfo(node_id=node_id, name=node_id, http_address="h:1",
                                        transport_address="t:1"))


@pytest.fixture
def cluster(tmp_path):
    ISOLATED.clear()
    voters = free_addresses(3)
    machines = [ClusterStateMachine(RaftConfig(
        cluster_name="partition", cluster_secret="secret", data_directory=tmp_path / f"v{i}",
        self_address=voters[i], voter_addresses=tuple(voters),
        transport_class=PartitionableTransport)) for i in range(3)]
    yield machines
    ISOLATED.clear()
    for machine in machines:
        machine.close()


def submit_until_committed(machine, command, machines):
    deadline = time.monotonic() + CEILING_SECONDS
    while time.monotonic() < deadline:
        if machine.submit_and_wait(command, timeout_seconds=5.0).status == "committed":
            return
        time.sleep(0.05)
    pytest.fail(f"{command.command_type} never committed")


def test_a_partitioned_leader_commits_nothing_and_the_majority_moves_on(cluster):
    wait_until(lambda: any(m.status().role == "leader" for m in cluster), "a leader", cluster)
    submit_until_committed(cluster[0], register("before"), cluster)
    wait_until(lambda: all("before" in m.state.nodes for m in cluster), "replication", cluster)
    old_leader = next((m for m in cluster if m.status().role == "leader"), None)
    if old_leader is None:
        wait_until(lambda: any(m.status().role == "leader" for m in cluster), "a leader", cluster)
        old_leader = next(m for m in cluster if m.status().role == "leader")
    majority = [m for m in cluster if m is not old_leader]

    with ISOLATION_LOCK:
        ISOLATED.add(old_leader.config.self_address)
    # Written on the minority side: it may sit in the old leader's log, but must never commit.
    minority_write = old_leader.submit_and_wait(register("minority-write"), timeout_seconds=3.0)
    assert minority_write.status != "committed"

    wait_until(lambda: any(m.status().role == "leader" for m in majority), "a majority leader", cluster)
    submit_until_committed(majority[0], register("majority-write"), cluster)
    wait_until(lambda: old_leader.status().role != "leader", "the old leader stepping down", cluster)

    with ISOLATION_LOCK:
        ISOLATED.clear()
    wait_until(lambda: all("majority-write" in m.state.nodes for m in cluster), "healing", cluster)
    wait_until(lambda: len({m.state.to_bytes() for m in cluster}) == 1, "identical states", cluster)
    assert "minority-write" not in cluster[0].state.nodes
