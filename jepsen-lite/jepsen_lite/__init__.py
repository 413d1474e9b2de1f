"""jepsen-lite: a black-box partition and failover test suite for Quidditch clusters.

Owns: the client, generator, nemesis, history and checkers of a Jepsen-style run, and the
``jepsen-lite`` command line. Must never import anything from the project (index/, raft/,
node/, udf/): it talks to nodes over HTTP only, exactly like a user would, and starts nodes
only as ``python -m node`` processes.

Modules, in the order a run flows through them:

    generator   seeded schedules (nemesis steps, operation choices); the seed is printed
    cluster     starts/stops local ``python -m node`` processes, one process group each
                (optionally under libfaketime with a skewed wall clock; faketime_site/)
    client      HTTP operations with short timeouts; a timeout is an unknown outcome
    nemesis     kill -9 + restart, SIGSTOP/SIGCONT, partitions, packet loss and delay
    netns       network namespaces: link faults as nftables rules (or blackhole routes)
    history     the append-only operation log (history.jsonl)
    checkers    verdicts: valid / invalid / unknown / skipped
    runner      drives workloads and nemeses against a cluster, writes the run directory
    cli         ``jepsen-lite run ...``
"""

__version__ = "0.1.0"
