"""Metrics: every exported name starts with quidditch_, helpers label what the API layer records."""

from prometheus_client.parser import text_string_to_metric_families

from node.metrics import NodeMetrics


def test_every_metric_name_starts_with_quidditch():
    metrics = NodeMetrics()
    metrics.record_indexing("logs", "index", "created", 3)
    metrics.record_search("ok", 0.01)
    metrics.set_shard_gauges("logs", 0, True, documents=10, store_size_bytes=2048, segments=2)
    names = [family.name for family in text_string_to_metric_families(metrics.exposition().decode())]
    assert names
    assert all(name.startswith("quidditch_") for name in names), names


def test_shard_gauges_are_set_and_forgotten_per_copy():
    metrics = NodeMetrics()
    metrics.set_shard_gauges("logs", 1, False, documents=7, store_size_bytes=100, segments=1)
    text = metrics.exposition().decode()
    assert 'quidditch_shard_documents{index="logs",primary="false",shard="1"} 7.0' in text
    metrics.forget_shard("logs", 1, False)
    assert 'quidditch_shard_documents{index="logs"' not in metrics.exposition().decode()
