"""``import raft.routing`` (all a shard worker needs) loads no other raft module: the package's
exports resolve lazily, so a restarted worker does not import the command union, apply and
allocation on its way to serving (ADR 0271)."""

import subprocess
import sys


def test_importing_raft_routing_loads_only_the_routing_module():
    probe = "import sys, raft.routing; print(sorted(m for m in sys.modules if m.startswith('raft')))"
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "['raft', 'raft.routing']"


def test_every_exported_name_still_resolves_through_the_package():
    probe = ("import raft; from raft import ClusterState, ReportedCopy, apply; "
             "missing = [n for n in raft.__all__ if not hasattr(raft, n)]; "
             "import raft.state; assert raft.ClusterState is raft.state.ClusterState; print(missing)")
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error():
    import raft

    try:
        raft.no_such_export
    except AttributeError as error:
        assert "no_such_export" in str(error)
    else:
        raise AssertionError("expected AttributeError")
