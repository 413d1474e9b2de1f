"""Joining through a member's transport port (``--join``): the member's answer, discovery over
real TCP with the cluster secret, the flag's validation, and leaving (no re-registration)."""

import logging
from types import SimpleNamespace

import pytest
import trio
import trio.testing

from node.cluster.joining import (
    JoinDiscoveryError,
    discover_voters,
    join_info_from_answer,
    register_join_info_handler,
)
from node.cluster.membership import copies_assigned_to, leave_cluster, stay_registered
from node.config import ConfigError, load_config
from node.transport.server import TransportHandlers, serve_transport
from raft.commands import DeregisterNode
from raft.state import NodeInfo

SECRET = b"s" * 32
VOTERS = ("127.0.0.1:9301", "127.0.0.1:9302", "127.0.0.1:9303")
LOGGER = logging.getLogger("test.joining")


def fake_metadata(cluster_uuid="uuid-1", voters=VOTERS):
    return SimpleNamespace(adapter=SimpleNamespace(config=SimpleNamespace(voter_addresses=voters)),
                           state=SimpleNamespace(cluster_uuid=cluster_uuid))


async def start_member(nursery, cluster_name="quidditch", secret=SECRET):
    handlers = TransportHandlers()
    register_join_info_handler(handlers, cluster_name, fake_metadata())
    host, port = await nursery.start(serve_transport, "127.0.0.1", 0, secret, handlers, LOGGER)
    return f"{host}:{port}"


async def closed_port_address():
    with trio.socket.socket() as probe:
        await probe.bind(("127.0.0.1", 0))
        return "127.0.0.1:%d" % probe.getsockname()[1]


async def test_a_joiner_learns_the_voters_raft_addresses_from_a_members_transport_port():
    async with trio.open_nursery() as nursery:
        member = await start_member(nursery)
        info = await discover_voters((member,), SECRET, "quidditch", LOGGER, timeout_seconds=30)
        assert info.voter_raft_addresses == VOTERS
        assert info.cluster_uuid == "uuid-1"
        assert info.member_address == member
        nursery.cancel_scope.cancel()


async def test_an_unreachable_member_is_skipped_for_the_next_one_that_answers():
    async with trio.open_nursery() as nursery:
        member = await start_member(nursery)
        dead = await closed_port_address()
        info = await discover_voters((dead, member), SECRET, "quidditch", LOGGER, timeout_seconds=30)
        assert info.member_address == member
        nursery.cancel_scope.cancel()


async def test_a_member_of_another_cluster_is_refused_at_once_naming_both_names():
    async with trio.open_nursery() as nursery:
        member = await start_member(nursery, cluster_name="production")
        with pytest.raises(JoinDiscoveryError, match=r"cluster \[production\], expected \[staging\]"):
            await discover_voters((member,), SECRET, "staging", LOGGER, timeout_seconds=30)
        nursery.cancel_scope.cancel()


async def test_a_joiner_with_the_wrong_secret_gets_no_answer_and_is_told_to_check_the_secret():
    async with trio.open_nursery() as nursery:
        member = await start_member(nursery)
        with pytest.raises(JoinDiscoveryError, match="cluster-secret-file") as raised:
            await discover_voters((member,), b"w" * 32, "quidditch", LOGGER, timeout_seconds=1.0)
        assert member in raised.value.reason
        nursery.cancel_scope.cancel()


def test_an_answer_without_voters_is_unusable():
    with pytest.raises(JoinDiscoveryError, match="voter_raft_addresses"):
        join_info_from_answer("h:1", {"cluster_name": "q", "voter_raft_addresses": []}, "q")


def test_join_takes_transport_addresses_and_excludes_seed_hosts(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("x" * 32)
    config = load_config(flags={"join": "10.0.0.1:9300, 10.0.0.2:9300",
                                "cluster-secret-file": str(secret)}, environment={})
    assert config.join_hosts == ("10.0.0.1:9300", "10.0.0.2:9300")
    assert load_config(flags={}, environment={"QUIDDITCH_JOIN": "h:9300",
                                              "QUIDDITCH_CLUSTER_SECRET_FILE": str(secret)}).join_hosts == ("h:9300",)
    with pytest.raises(ConfigError) as raised:
        load_config(flags={"join": "h:9300", "seed-hosts": "h:9301"}, environment={})
    problems = " ".join(raised.value.problems)
    assert "--join and --seed-hosts" in problems
    assert "--cluster-secret-file" in problems


def routing_with_copy_on(node_id):
    shard = SimpleNamespace(copies=(SimpleNamespace(node_id=node_id), SimpleNamespace(node_id="other")))
    return {"logs": (shard,)}


class FakeLeavingMetadata:
    """Commits DeregisterNode; the 'master' fails this node's copies one state later."""

    def __init__(self, node_id):
        self.node_id = node_id
        self.submitted = []
        self.state = SimpleNamespace(nodes={node_id: object()}, routing_table=routing_with_copy_on(node_id),
                                     version=1, cluster_uuid="u")
        self.new_state = trio.Event()

    @property
    def version(self):
        return self.state.version

    async def submit(self, command, timeout_seconds=10.0):
        self.submitted.append(command)
        self.state = SimpleNamespace(nodes={}, routing_table=self.state.routing_table,
                                     version=2, cluster_uuid="u")
        return SimpleNamespace(accepted=True, state_version=2)

    async def wait_for_version(self, version, timeout_seconds):
        await self.new_state.wait()
        return self.state

    def fail_copies(self):
        self.state = SimpleNamespace(nodes={}, routing_table=routing_with_copy_on("elsewhere"),
                                     version=3, cluster_uuid="u")
        self.new_state.set()


async def test_leaving_deregisters_then_waits_until_no_copy_is_assigned_to_this_node():
    metadata = FakeLeavingMetadata("n4")
    results = []

    async def leave():
        results.append(await leave_cluster(metadata, "n4", LOGGER))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(leave)
        await trio.testing.wait_all_tasks_blocked()
        assert metadata.submitted == [DeregisterNode(node_id="n4", command_id=metadata.submitted[0].command_id)]
        assert results == []  # still waiting: a copy is assigned to n4
        metadata.fail_copies()
    assert results == [True]
    assert copies_assigned_to(metadata.state, "n4") == 0


async def test_a_leaving_node_stops_registering_itself_again():
    metadata = SimpleNamespace(state=SimpleNamespace(cluster_uuid="u", nodes={}))
    leaving = trio.Event()
    leaving.set()
    node_info = NodeInfo(node_id="n4", name="n4", http_address="h:1", transport_address="h:2",
                         raft_address="h:3", voter=False)
    with trio.fail_after(30):
        # not registered and no metadata.submit to call: returning proves it did not try
        await stay_registered(metadata, node_info, LOGGER, leaving)


def test_a_joiner_whose_raft_address_is_a_voters_refuses_to_start(tmp_path):
    from node.server import NodeStartupError, construct_raft

    secret = tmp_path / "secret"
    secret.write_text("x" * 32)
    config = load_config(flags={"join": "127.0.0.1:9300", "cluster-secret-file": str(secret),
                                "raft-port": "19555", "data": str(tmp_path / "data")}, environment={})
    with pytest.raises(NodeStartupError, match="127.0.0.1:19555 is one of the voters"):
        construct_raft(config, "x" * 32, 19555, discovered_voters=("127.0.0.1:19555", "127.0.0.1:19556"))
