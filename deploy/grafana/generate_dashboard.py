"""Writes deploy/grafana/dashboards/quidditch.json, the Grafana dashboard of a Quidditch cluster.

Owns the dashboard's panels and their PromQL. It must never name a metric the node does not
export: tests/unit/deploy checks every quidditch_* name in the written JSON against the node's
code. Run it after editing a panel (``python deploy/grafana/generate_dashboard.py``) and commit
both files; the JSON is what Grafana loads.
"""

from __future__ import annotations

from pathlib import Path

import orjson

DASHBOARD_PATH = Path(__file__).resolve().parent / "dashboards" / "quidditch.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
INSTANCE_FILTER = 'instance=~"$instance"'

# (row title, [(panel title, unit, [(legend, PromQL)])]) — each row is laid out two panels wide
ROWS = [
    ("Requests", [
        ("HTTP request rate by endpoint and status", "reqps", [
            ("{{endpoint}} {{method}} {{status}}",
             f"sum by (endpoint, method, status) (rate(quidditch_http_requests_total{{{INSTANCE_FILTER}}}[$__rate_interval]))"),
        ]),
        ("HTTP p95 latency by endpoint", "s", [
            ("{{endpoint}} {{method}}",
             "histogram_quantile(0.95, sum by (endpoint, method, le) "
             f"(rate(quidditch_http_request_duration_seconds_bucket{{{INSTANCE_FILTER}}}[$__rate_interval])))"),
        ]),
        ("HTTP error and rejection rate by status", "reqps", [
            ("{{status}}",
             f"sum by (status) (rate(quidditch_http_requests_total{{{INSTANCE_FILTER}, status=~\"4..|5..\"}}[$__rate_interval]))"),
        ]),
        ("HTTP requests in flight", "short", [
            ("{{instance}}", f"quidditch_http_requests_in_flight{{{INSTANCE_FILTER}}}"),
        ]),
    ]),
    ("Indexing and search", [
        ("Indexing operations by index, operation and result", "ops", [
            ("{{index}} {{operation}} {{result}}",
             f"sum by (index, operation, result) (rate(quidditch_indexing_operations_total{{{INSTANCE_FILTER}}}[$__rate_interval]))"),
        ]),
        ("Search requests by outcome", "reqps", [
            ("{{outcome}}",
             f"sum by (outcome) (rate(quidditch_search_requests_total{{{INSTANCE_FILTER}}}[$__rate_interval]))"),
        ]),
        ("Search latency (p50, p95, p99)", "s", [
            (f"p{quantile_percent}",
             f"histogram_quantile({quantile_percent / 100}, sum by (le) "
             f"(rate(quidditch_search_duration_seconds_bucket{{{INSTANCE_FILTER}}}[$__rate_interval])))")
            for quantile_percent in (50, 95, 99)
        ]),
        ("Refreshes, flushes and merges", "ops", [
            ("{{kind}}",
             f"sum by (kind) (rate(quidditch_shard_operations_total{{{INSTANCE_FILTER}}}[$__rate_interval]))"),
        ]),
    ]),
    ("Shards", [
        ("Documents by index (primaries)", "short", [
            ("{{index}}", f"sum by (index) (quidditch_shard_documents{{{INSTANCE_FILTER}, primary=\"true\"}})"),
        ]),
        ("Store size by index and node", "bytes", [
            ("{{index}} on {{instance}}",
             f"sum by (index, instance) (quidditch_shard_store_size_bytes{{{INSTANCE_FILTER}}})"),
        ]),
        ("Segments by index and node", "short", [
            ("{{index}} on {{instance}}", f"sum by (index, instance) (quidditch_shard_segments{{{INSTANCE_FILTER}}})"),
        ]),
        ("Shard copies by state (master's view)", "short", [
            ("{{state}}", "max by (state) (quidditch_shard_copies)"),
        ]),
        ("Replication lag (operations behind the global checkpoint)", "short", [
            ("{{index}}[{{shard}}] on {{instance}}", f"quidditch_replication_lag_operations{{{INSTANCE_FILTER}}}"),
        ]),
        ("Failovers, replica write failures, recovery", "short", [
            ("failovers", "max(increase(quidditch_failovers_total[$__rate_interval]))"),
            ("replica write failures {{instance}}",
             f"increase(quidditch_replica_write_failures_total{{{INSTANCE_FILTER}}}[$__rate_interval])"),
            ("recovered operations {{instance}}",
             f"increase(quidditch_recovery_operations_total{{{INSTANCE_FILTER}}}[$__rate_interval])"),
        ]),
        ("Recovery bytes received", "Bps", [
            ("{{instance}}", f"rate(quidditch_recovery_bytes_total{{{INSTANCE_FILTER}}}[$__rate_interval])"),
        ]),
    ]),
    ("Cluster and Raft", [
        ("Raft term by node", "short", [
            ("{{instance}}", f"quidditch_raft_term{{{INSTANCE_FILTER}}}"),
        ]),
        ("Raft role (1 = leader)", "short", [
            ("{{instance}}", f"quidditch_raft_is_leader{{{INSTANCE_FILTER}}}"),
        ]),
        ("Raft commit index and cluster state version", "short", [
            ("commit index {{instance}}", f"quidditch_raft_commit_index{{{INSTANCE_FILTER}}}"),
            ("state version {{instance}}", f"quidditch_cluster_state_version{{{INSTANCE_FILTER}}}"),
        ]),
        ("Cluster commands by result", "ops", [
            ("{{result}}",
             f"sum by (result) (rate(quidditch_cluster_commands_total{{{INSTANCE_FILTER}}}[$__rate_interval]))"),
        ]),
    ]),
    ("UDFs", [
        ("UDF calls by function and outcome", "ops", [
            ("{{udf}} {{outcome}}",
             f"sum by (udf, outcome) (rate(quidditch_udf_calls_total{{{INSTANCE_FILTER}}}[$__rate_interval]))"),
        ]),
        ("UDF traps by function", "ops", [
            ("{{udf}}", f"sum by (udf) (rate(quidditch_udf_traps_total{{{INSTANCE_FILTER}}}[$__rate_interval]))"),
        ]),
        ("UDF batch p95 time", "s", [
            ("p95", "histogram_quantile(0.95, sum by (le) "
             f"(rate(quidditch_udf_batch_seconds_bucket{{{INSTANCE_FILTER}}}[$__rate_interval])))"),
        ]),
        ("UDF fuel and documents", "short", [
            ("fuel {{udf}}", f"sum by (udf) (rate(quidditch_udf_fuel_total{{{INSTANCE_FILTER}}}[$__rate_interval]))"),
            ("documents {{udf}}",
             f"sum by (udf) (rate(quidditch_udf_documents_total{{{INSTANCE_FILTER}}}[$__rate_interval]))"),
            ("registered", "max(quidditch_udf_registered)"),
        ]),
    ]),
    ("Processes", [
        ("Shard workers ready and restarts", "short", [
            ("ready {{instance}}", f"quidditch_workers_ready{{{INSTANCE_FILTER}}}"),
            ("restarts {{instance}}", f"increase(quidditch_worker_restarts_total{{{INSTANCE_FILTER}}}[$__rate_interval])"),
        ]),
        ("Front process CPU and memory", "short", [
            ("cpu seconds/s {{instance}}", f"rate(quidditch_process_cpu_seconds_total{{{INSTANCE_FILTER}}}[$__rate_interval])"),
            ("RSS GiB {{instance}}", f"quidditch_process_resident_memory_bytes{{{INSTANCE_FILTER}}} / 2^30"),
            ("open fds {{instance}}", f"quidditch_process_open_fds{{{INSTANCE_FILTER}}}"),
        ]),
    ]),
]


def build_dashboard() -> dict:
    panels: list[dict] = []
    panel_id = 1
    y_position = 0
    for row_title, row_panels in ROWS:
        panels.append({"type": "row", "id": panel_id, "title": row_title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y_position}, "panels": []})
        panel_id += 1
        y_position += 1
        for position, (title, unit, queries) in enumerate(row_panels):
            panels.append({
                "type": "timeseries", "id": panel_id, "title": title, "datasource": DATASOURCE,
                "gridPos": {"h": 8, "w": 12, "x": 12 * (position % 2), "y": y_position + 8 * (position // 2)},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom"},
                            "tooltip": {"mode": "multi"}},
                "targets": [{"refId": chr(ord("A") + index), "datasource": DATASOURCE, "expr": expression,
                             "legendFormat": legend} for index, (legend, expression) in enumerate(queries)],
            })
            panel_id += 1
        y_position += 8 * ((len(row_panels) + 1) // 2)
    return {
        "uid": "quidditch-overview",
        "title": "Quidditch cluster",
        "tags": ["quidditch"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
            {"name": "instance", "type": "query", "label": "Node", "datasource": DATASOURCE,
             "query": {"query": "label_values(quidditch_raft_term, instance)", "refId": "instance"},
             "definition": "label_values(quidditch_raft_term, instance)",
             "includeAll": True, "multi": True, "allValue": ".*", "refresh": 2,
             "current": {"text": "All", "value": "$__all"}},
        ]},
        "annotations": {"list": []},
        "panels": panels,
    }


def main() -> None:
    DASHBOARD_PATH.parent.mkdir(parents=True, exist_ok=True)
    DASHBOARD_PATH.write_bytes(orjson.dumps(build_dashboard(), option=orjson.OPT_INDENT_2) + b"\n")


if __name__ == "__main__":
    main()
