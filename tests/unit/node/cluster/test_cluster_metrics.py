"""Cluster metrics: copy states counted from the routing table, a failover per primary-term rise."""

from node.metrics import NodeMetrics
from raft import commands as c
from raft.apply import apply
from raft.state import NodeInfo, initial_cluster_state


def accepted(state, command):
    new_state, outcome = apply(state, command)
    assert outcome.accepted, outcome
    return new_state


def two_copy_cluster():
    state = accepted(initial_cluster_state("test"), c.BootstrapCluster(cluster_uuid="u"))
    for node_id in ("n1", "n2"):
        state = accepted(state, c.RegisterNode(node=NodeInfo(node_id=node_id, name=node_id,
                                                             http_address="h", transport_address="t")))
    state = accepted(state, c.CreateIndex(index_name="logs", index_uuid="logs-uuid", creation_date=1,
                                          settings={"index": {"number_of_shards": 1, "number_of_replicas": 1}}))
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n1",
                                           allocation_id="p", primary=True))
    state = accepted(state, c.StartCopy(index_name="logs", shard_number=0, allocation_id="p"))
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2",
                                           allocation_id="r", primary=False))
    return accepted(state, c.StartCopy(index_name="logs", shard_number=0, allocation_id="r"))


def test_copy_states_are_counted_and_a_promotion_counts_one_failover_but_a_first_primary_none():
    metrics = NodeMetrics()
    empty = initial_cluster_state("test")
    state = two_copy_cluster()
    metrics.set_cluster_shape(state, empty)
    text = metrics.exposition().decode()
    assert 'quidditch_shard_copies{state="STARTED"} 2.0' in text
    assert "quidditch_failovers_total 0.0" in text
    failed = accepted(state, c.FailCopy(index_name="logs", shard_number=0, allocation_id="p"))
    promoted = accepted(failed, c.PromoteReplica(index_name="logs", shard_number=0, allocation_id="r"))
    metrics.set_cluster_shape(failed, state)
    metrics.set_cluster_shape(promoted, failed)
    text = metrics.exposition().decode()
    assert "quidditch_failovers_total 1.0" in text
    assert 'quidditch_shard_copies{state="UNASSIGNED"} 1.0' in text
