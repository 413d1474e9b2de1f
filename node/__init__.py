"""node: the Quidditch process — everything async lives here.

A node is a front process (node/server.py: one trio nursery owning HTTP, the Raft bridge, the
transport, coordination) plus shard worker processes (node/workers/). Folders in the order a
request flows: cli.py/config.py (start-up) → http/ (REST front door) → api/ (handlers) →
coordination/ (routing, fan-out) → workers/ (shard processes) and transport/ (other nodes);
cluster/ applies the replicated cluster state from raft/. logs.py and metrics.py observe it all.

The package may import index/, raft/ and udf/; they never import it (tests/test_layering.py).
"""
