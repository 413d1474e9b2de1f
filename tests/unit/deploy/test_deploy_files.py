"""Static checks of deploy/: the files parse, the metric names they use exist in the node's code,
and the Dockerfile's and compose file's QUIDDITCH_* settings are ones the node accepts.

Docker, Prometheus and Grafana are not run here (no engine on the build machine); these checks
catch the drift that breaks them silently: a renamed metric, a renamed flag, a broken file.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import yaml

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]
DEPLOY = REPOSITORY_ROOT / "deploy"
METRIC_NAME_PATTERN = re.compile(r"\bquidditch_[a-z0-9_]+\b")
# what Prometheus appends to a family name in the exposition format
EXPOSITION_SUFFIXES = ("_total", "_created", "_bucket", "_count", "_sum")


def declared_metric_families() -> set[str]:
    """Every quidditch_* family the node declares: quoted names in node/ source, plus the
    process collector's names, which prometheus_client builds from the namespace at runtime."""
    families: set[str] = set()
    for source_path in (REPOSITORY_ROOT / "node").rglob("*.py"):
        families.update(re.findall(r"[\"'](quidditch_[a-z0-9_]+)[\"']", source_path.read_text(encoding="utf-8")))
    from node.metrics import NodeMetrics

    exposition = NodeMetrics().exposition().decode()
    families.update(re.findall(r"^# TYPE (quidditch_process_[a-z0-9_]+) ", exposition, flags=re.MULTILINE))
    return families


def family_of(series_name: str, families: set[str]) -> str | None:
    if series_name in families:
        return series_name
    for suffix in EXPOSITION_SUFFIXES:
        if series_name.endswith(suffix) and series_name[: -len(suffix)] in families:
            return series_name[: -len(suffix)]
    return None


def metric_names_in(text: str) -> set[str]:
    return set(METRIC_NAME_PATTERN.findall(text))


def dashboard_expressions() -> list[str]:
    dashboard = orjson.loads((DEPLOY / "grafana" / "dashboards" / "quidditch.json").read_bytes())
    expressions = []
    for panel in dashboard["panels"]:
        expressions.extend(target["expr"] for target in panel.get("targets", []))
    return expressions


def alert_expressions() -> list[str]:
    document = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    return [rule["expr"] for group in document["groups"] for rule in group["rules"]]


def test_the_declared_metric_families_include_the_ones_the_node_documents():
    families = declared_metric_families()
    for expected in ("quidditch_http_requests", "quidditch_raft_term", "quidditch_udf_traps",
                     "quidditch_process_open_fds"):
        assert expected in families


@pytest.mark.parametrize("yaml_path", sorted(
    str(path.relative_to(DEPLOY)) for path in DEPLOY.rglob("*.yml")
    if "templates" not in path.parts))  # helm templates are Go templates, not YAML until rendered
def test_every_yaml_file_outside_helm_templates_parses(yaml_path):
    assert yaml.safe_load((DEPLOY / yaml_path).read_text(encoding="utf-8")) is not None


def test_every_alert_rule_has_a_name_an_expression_a_severity_and_a_summary():
    document = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    alert_names = []
    for group in document["groups"]:
        for rule in group["rules"]:
            alert_names.append(rule["alert"])
            assert rule["expr"].strip(), rule["alert"]
            assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]
    assert len(alert_names) == len(set(alert_names)), "alert names must be unique"


def test_alerts_cover_node_down_leaderless_raft_rejections_shard_failures_udf_traps_and_disk():
    text = (DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8")
    for required_metric in ("up{", "quidditch_raft_is_leader", "quidditch_raft_term", 'status="429"',
                            'quidditch_shard_copies{state="UNASSIGNED"}', "quidditch_replica_write_failures_total",
                            "quidditch_udf_traps_total", "quidditch_shard_store_size_bytes"):
        assert required_metric in text


def test_every_metric_the_alerts_use_exists_in_the_node_code():
    families = declared_metric_families()
    used = set().union(*(metric_names_in(expression) for expression in alert_expressions()))
    assert used, "the alert rules use no quidditch metric"
    unknown = sorted(name for name in used if family_of(name, families) is None)
    assert unknown == [], f"alert rules use metrics the node does not export: {unknown}"


def test_every_metric_the_dashboard_uses_exists_in_the_node_code():
    families = declared_metric_families()
    expressions = dashboard_expressions()
    assert len(expressions) >= 20
    used = set().union(*(metric_names_in(expression) for expression in expressions))
    unknown = sorted(name for name in used if family_of(name, families) is None)
    assert unknown == [], f"dashboard uses metrics the node does not export: {unknown}"


def test_counters_are_queried_with_their_total_suffix_and_histograms_through_buckets():
    families = declared_metric_families()
    counter_like = {"quidditch_http_requests", "quidditch_indexing_operations", "quidditch_search_requests",
                    "quidditch_udf_calls", "quidditch_udf_traps", "quidditch_failovers"}
    histograms = {"quidditch_http_request_duration_seconds", "quidditch_search_duration_seconds",
                  "quidditch_udf_batch_seconds"}
    for expression in dashboard_expressions() + alert_expressions():
        for name in metric_names_in(expression):
            # a bare counter or histogram family name matches no series in Prometheus
            assert not (name in counter_like and name in families), f"{name} lacks _total in {expression!r}"
            assert name not in histograms, f"{name} lacks _bucket/_sum/_count in {expression!r}"


def test_the_committed_dashboard_is_what_the_generator_writes():
    sys.path.insert(0, str(DEPLOY / "grafana"))
    try:
        import generate_dashboard
    finally:
        sys.path.pop(0)
    committed = orjson.loads((DEPLOY / "grafana" / "dashboards" / "quidditch.json").read_bytes())
    assert committed == orjson.loads(orjson.dumps(generate_dashboard.build_dashboard()))


def test_dashboard_panel_ids_are_unique():
    dashboard = orjson.loads((DEPLOY / "grafana" / "dashboards" / "quidditch.json").read_bytes())
    panel_ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(panel_ids) == len(set(panel_ids))


def test_prometheus_scrapes_the_metrics_path_the_node_serves():
    document = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    job = document["scrape_configs"][0]
    assert job["metrics_path"] == "/_prometheus/metrics"
    routes_text = "".join(path.read_text(encoding="utf-8") for path in (REPOSITORY_ROOT / "node").rglob("*.py"))
    assert "/_prometheus/metrics" in routes_text


def node_help_text() -> str:
    completed = subprocess.run([sys.executable, "-m", "node", "node", "--help"], capture_output=True, text=True,
                               cwd=REPOSITORY_ROOT, check=False)
    if completed.returncode != 0 or "--seed-hosts" not in completed.stdout:
        completed = subprocess.run([sys.executable, "-m", "node", "--help"], capture_output=True, text=True,
                                   cwd=REPOSITORY_ROOT, check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def quidditch_variables_in(text: str) -> set[str]:
    return set(re.findall(r"\bQUIDDITCH_[A-Z_]+\b", text))


def test_every_quidditch_variable_in_the_dockerfile_compose_and_chart_is_one_the_node_reads():
    help_text = node_help_text()
    known_variables = quidditch_variables_in(help_text)
    assert "QUIDDITCH_SEED_HOSTS" in known_variables
    deploy_texts = [(DEPLOY / "Dockerfile").read_text(encoding="utf-8"),
                    (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")]
    deploy_texts += [path.read_text(encoding="utf-8") for path in (DEPLOY / "helm").rglob("*") if path.is_file()]
    used = set().union(*(quidditch_variables_in(text) for text in deploy_texts))
    assert used, "no QUIDDITCH_* variable found in deploy/"
    assert sorted(used - known_variables) == []


def test_the_dockerfile_runs_quidditch_node_as_a_non_root_user_with_the_data_volume():
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, flags=re.MULTILINE)
    assert 'ENTRYPOINT ["quidditch", "node"]' in dockerfile
    user_lines = re.findall(r"^USER (\S+)", dockerfile, flags=re.MULTILINE)
    assert user_lines and not user_lines[-1].startswith(("root", "0"))
    assert 'VOLUME ["/var/lib/quidditch"]' in dockerfile
    assert re.search(r"^EXPOSE 9200 9300 9301$", dockerfile, flags=re.MULTILINE)
    assert "/_cluster/health" in dockerfile
    # the console script the entrypoint calls must exist in the package metadata
    assert 'quidditch = "node.cli:main"' in (REPOSITORY_ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_the_dockerfile_copies_only_paths_that_exist_and_the_ignore_file_keeps_them():
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    ignore_lines = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPOSITORY_ROOT / source).exists(), f"COPY source {source} is missing"
                assert f"!{source}" in ignore_lines or f"!{source}/**" in ignore_lines, source


def test_compose_runs_three_voting_nodes_sharing_one_secret_and_seed_list():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    node_services = {name: service for name, service in compose["services"].items() if name.startswith("quidditch-")}
    assert len(node_services) == 3
    seed_lists = {service["environment"]["QUIDDITCH_SEED_HOSTS"] for service in node_services.values()}
    assert len(seed_lists) == 1
    seeds = seed_lists.pop().split(",")
    for name, service in node_services.items():
        environment = service["environment"]
        assert f"{environment['QUIDDITCH_RAFT_HOST']}:9301" in seeds, name
        assert environment["QUIDDITCH_CLUSTER_SECRET_FILE"] == "/run/secrets/cluster_secret"
        assert service["secrets"] == ["cluster_secret"]
    assert "cluster_secret" in compose["secrets"]
    assert {"prometheus", "grafana"} <= set(compose["services"])
    scrape_targets = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    targets = scrape_targets["scrape_configs"][0]["static_configs"][0]["targets"]
    assert sorted(targets) == sorted(f"{name}:9200" for name in node_services)


def test_the_dashboard_shows_requests_indexing_search_shard_work_documents_store_raft_copies_and_udfs():
    used = set().union(*(metric_names_in(expression) for expression in dashboard_expressions()))
    for required in ("quidditch_http_requests_total", "quidditch_http_request_duration_seconds_bucket",
                     "quidditch_indexing_operations_total", "quidditch_search_requests_total",
                     "quidditch_search_duration_seconds_bucket", "quidditch_shard_operations_total",
                     "quidditch_shard_documents", "quidditch_shard_store_size_bytes", "quidditch_raft_term",
                     "quidditch_raft_is_leader", "quidditch_shard_copies", "quidditch_udf_calls_total"):
        assert required in used, required


def test_the_compose_cluster_secret_file_is_ignored_by_git():
    assert "cluster.secret" in (DEPLOY / ".gitignore").read_text(encoding="utf-8").splitlines()
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    assert compose["secrets"]["cluster_secret"]["file"] == "./cluster.secret"


def test_both_scrape_jobs_are_named_as_the_node_down_alert_expects():
    alerts_text = (DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8")
    for config_name in ("prometheus.yml", "prometheus-kubernetes.yml"):
        document = yaml.safe_load((DEPLOY / "prometheus" / config_name).read_text(encoding="utf-8"))
        job_name = document["scrape_configs"][0]["job_name"]
        assert f'up{{job="{job_name}"}}' in alerts_text, config_name
