"""Three voters in process on loopback, each with the fault-injecting transport reading one
faults file: isolating the leader through the file elects a new leader on the majority side,
the old leader commits nothing, and after the file is healed every voter converges."""

import os
import time

import orjson
import pytest

from raft.testing import free_addresses
from raft import commands as c
from raft.adapter import ClusterStateMachine, RaftConfig
from raft.faults import FaultsFileWatcher, LinkFaults, faulty_transport_class
from raft.state import NodeInfo

CEILING_SECONDS = 60.0


def free_address():
    return free_addresses(1)[0]


def write_faults(path, names, voters, links, generation):
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(orjson.dumps({
        "version": 1, "generation": generation,
        "nodes": {name: {"raft": address} for name, address in zip(names, voters)},
        "links": links}))
    os.replace(temporary, path)


def isolate(name, names):
    return [link for other in names if other != name
            for link in ({"from": name, "to": other, "drop": True}, {"from": other, "to": name, "drop": True})]


def wait_until(condition, what, machines):
    deadline = time.monotonic() + CEILING_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    pytest.fail(f"gave up waiting for {what}; statuses:\n" + "\n".join(repr(m.status()) for m in machines))


def register(node_id):
    return c.RegisterNode(node=NodeInfo(node_id=node_id, name=node_id, http_address="h:1", transport_address="t:1"))


def submit_until_committed(machine, command):
    deadline = time.monotonic() + CEILING_SECONDS
    while time.monotonic() < deadline:
        if machine.submit_and_wait(command, timeout_seconds=5.0).status == "committed":
            return
        time.sleep(0.05)
    pytest.fail(f"{command.command_type} never committed")


@pytest.fixture
def cluster(tmp_path):
    names = ["n0", "n1", "n2"]
    voters = free_addresses(len(names))
    faults_path = tmp_path / "faults.json"
    write_faults(faults_path, names, voters, [], generation=1)
    machines = [ClusterStateMachine(RaftConfig(
        cluster_name="faults", cluster_secret="secret", data_directory=tmp_path / name,
        self_address=voters[i], voter_addresses=tuple(voters),
        transport_class=faulty_transport_class(LinkFaults(FaultsFileWatcher(faults_path), name))))
        for i, name in enumerate(names)]
    yield machines, names, voters, faults_path
    for machine in machines:
        machine.close()


def test_isolating_the_leader_through_the_faults_file_moves_leadership_to_the_majority(cluster):
    machines, names, voters, faults_path = cluster
    wait_until(lambda: any(m.status().role == "leader" for m in machines), "a leader", machines)
    submit_until_committed(machines[0], register("before"))
    wait_until(lambda: all("before" in m.state.nodes for m in machines), "replication", machines)
    wait_until(lambda: any(m.status().role == "leader" for m in machines), "a leader", machines)
    old_leader_index = next(i for i, m in enumerate(machines) if m.status().role == "leader")
    old_leader = machines[old_leader_index]
    majority = [m for m in machines if m is not old_leader]

    write_faults(faults_path, names, voters, isolate(names[old_leader_index], names), generation=2)
    time.sleep(0.3)  # past the watchers' 100 ms poll: the partition is in force on every voter
    minority_write = old_leader.submit_and_wait(register("minority-write"), timeout_seconds=3.0)
    assert minority_write.status != "committed"

    wait_until(lambda: any(m.status().role == "leader" for m in majority), "a majority leader", machines)
    new_leader = next(m for m in majority if m.status().role == "leader")
    assert new_leader.status().raft_term > old_leader.status().raft_term or old_leader.status().role != "leader"
    submit_until_committed(majority[0], register("majority-write"))
    wait_until(lambda: old_leader.status().role != "leader", "the old leader stepping down", machines)
    assert "majority-write" not in old_leader.state.nodes

    write_faults(faults_path, names, voters, [], generation=3)
    wait_until(lambda: all("majority-write" in m.state.nodes for m in machines), "healing", machines)
    wait_until(lambda: len({m.state.to_bytes() for m in machines}) == 1, "identical states", machines)
    assert "minority-write" not in machines[0].state.nodes



def test_delayed_and_lossy_links_slow_raft_down_but_it_still_commits_everywhere(cluster):
    """Delayed messages are queued per link and released on ticks: if they were never released
    nothing would commit; lost messages are retried by Raft itself."""
    machines, names, voters, faults_path = cluster
    links = [{"from": source, "to": target, "delay_ms": 30, "loss_probability": 0.2}
             for source in names for target in names if source != target]
    write_faults(faults_path, names, voters, links, generation=2)
    time.sleep(0.3)  # past the watchers' poll: every voter now delays and loses
    wait_until(lambda: any(m.status().role == "leader" for m in machines), "a leader", machines)
    submit_until_committed(machines[1], register("through-slow-links"))
    wait_until(lambda: all("through-slow-links" in m.state.nodes for m in machines), "replication", machines)
