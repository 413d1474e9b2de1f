"""Static checks of deploy/helm/quidditch (helm is not installed on the build machine, so the
templates are not rendered): the chart's YAML parses, every `.Values.x.y` a template reads is
defined in values.yaml, template delimiters balance, and the voter wiring is present."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

CHART = Path(__file__).resolve().parents[3] / "deploy" / "helm" / "quidditch"
TEMPLATE_PATHS = sorted(path for path in (CHART / "templates").iterdir() if path.is_file())


def test_chart_metadata_and_values_parse():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["apiVersion"] == "v2" and chart["name"] == "quidditch"
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert values["replicaCount"] % 2 == 1, "voters should be an odd number"


@pytest.mark.parametrize("template_path", TEMPLATE_PATHS, ids=lambda path: path.name)
def test_every_value_a_template_reads_is_defined_in_values_yaml(template_path):
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    text = template_path.read_text(encoding="utf-8")
    for reference in re.findall(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text):
        node = values
        for key in reference.strip(".").split("."):
            assert isinstance(node, dict) and key in node, f"{template_path.name}: .Values{reference} is not in values.yaml"
            node = node[key]


@pytest.mark.parametrize("template_path", TEMPLATE_PATHS, ids=lambda path: path.name)
def test_template_delimiters_balance(template_path):
    text = template_path.read_text(encoding="utf-8")
    assert text.count("{{") == text.count("}}"), template_path.name


def test_the_statefulset_starts_voters_in_parallel_with_stable_names_probes_and_volumes():
    text = (CHART / "templates" / "statefulset.yaml").read_text(encoding="utf-8")
    assert "kind: StatefulSet" in text
    assert "podManagementPolicy: Parallel" in text
    assert "serviceName: {{ include \"quidditch.headlessName\" . }}" in text
    assert "path: /_cluster/health" in text and "readinessProbe:" in text and "livenessProbe:" in text
    assert "volumeClaimTemplates:" in text
    assert "QUIDDITCH_SEED_HOSTS" in text and "QUIDDITCH_RAFT_HOST" in text
    assert "QUIDDITCH_CLUSTER_SECRET_FILE" in text


def test_the_headless_service_publishes_not_ready_pods_so_voters_can_find_each_other():
    text = (CHART / "templates" / "services.yaml").read_text(encoding="utf-8")
    assert "clusterIP: None" in text
    assert "publishNotReadyAddresses: true" in text


def test_the_raft_host_has_the_same_shape_as_the_seed_host_entries():
    statefulset = (CHART / "templates" / "statefulset.yaml").read_text(encoding="utf-8")
    helpers = (CHART / "templates" / "_helpers.tpl").read_text(encoding="utf-8")
    # a node votes only if host:port of its own Raft address is literally one of the seeds
    assert '"$(POD_NAME).{{ include "quidditch.headlessName" . }}.{{ .Release.Namespace }}.svc.cluster.local"' in statefulset
    assert '"%s-%d.%s.%s.svc.cluster.local:%d" $fullname $ordinal $headless $.Release.Namespace' in helpers
    assert 'name: {{ include "quidditch.fullname" . }}' in statefulset  # pods are named <fullname>-<ordinal>
