"""``_nodes/{selector}`` and every API taking a node selector: OpenSearch's role filters
(``data:true``, ``master:false``, ``coordinating_only:true``), node attributes (``zone:a*``), and
the parts applied in order (``_all,data:false``)."""

from types import SimpleNamespace

import pytest

from node.api.cluster import selected_node_ids


def services_with_nodes():
    nodes = {
        "m1": SimpleNamespace(name="voter", roles=("cluster_manager", "data", "ingest"), attributes={"zone": "a1"},
                              http_address="10.0.0.1:9200"),
        "d1": SimpleNamespace(name="worker", roles=("data", "ingest"), attributes={"zone": "b1"},
                              http_address="10.0.0.2:9200"),
        "c1": SimpleNamespace(name="router", roles=(), attributes={}, http_address="10.0.0.3:9200"),
    }
    context = SimpleNamespace(node_id="d1", metadata=SimpleNamespace(status=lambda: SimpleNamespace(leader_address=None)))
    return SimpleNamespace(state=SimpleNamespace(nodes=nodes), context=context)


@pytest.mark.parametrize("selector, expected", [
    ("data:true", ["d1", "m1"]), ("master:true", ["m1"]), ("cluster_manager:true", ["m1"]),
    ("coordinating_only:true", ["c1"]), ("_all,data:false", ["c1"]), ("_all,master:false", ["c1", "d1"]),
    ("zone:a*", ["m1"]), ("zone:*", ["d1", "m1"]), ("data:true,ingest:false", []), ("_local", ["d1"]),
    ("rout*", ["c1"]), ("10.0.0.1", ["m1"]), ("_all", ["c1", "d1", "m1"]),
])
def test_a_node_selector_picks_nodes_as_opensearch_resolves_it(selector, expected):
    assert selected_node_ids(services_with_nodes(), selector) == expected
