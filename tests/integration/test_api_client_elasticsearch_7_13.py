"""elasticsearch-py 7.13.4 against a real node: info, index, helpers.bulk, search, helpers.scan.

7.13.4 and 7.17 cannot share one virtualenv, so this test builds (once, cached under
~/.cache/quidditch-test-clients/) a small venv holding only elasticsearch==7.13.4 and runs a client
script in it as a subprocess. Without PyPI (pip cannot download the package) the test is skipped
with pip's reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import urllib.request
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CLIENT_REQUIREMENT = "elasticsearch==7.13.4"
CACHE_DIRECTORY = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "quidditch-test-clients"
VENV_TIMEOUT_SECONDS = 300

CLIENT_SCRIPT = textwrap.dedent('''
    import json, sys
    import elasticsearch
    from elasticsearch import Elasticsearch, helpers

    client = Elasticsearch(hosts=[sys.argv[1]], timeout=30)
    report = {"client_version": list(elasticsearch.__version__)}
    info = client.info()
    report["version_number"] = info["version"]["number"]
    client.indices.create(index="es713", body={"settings": {"number_of_shards": 2, "number_of_replicas": 0},
                                               "mappings": {"properties": {"n": {"type": "long"},
                                                                           "tag": {"type": "keyword"}}}})
    report["indexed"] = client.index(index="es713", id="single", body={"n": -1, "tag": "one"})["result"]
    actions = ({"_index": "es713", "_id": str(n), "_source": {"n": n, "tag": "even" if n % 2 == 0 else "odd"}}
               for n in range(250))
    report["bulk"] = list(helpers.bulk(client, actions, chunk_size=100, refresh=True))
    found = client.search(index="es713", body={"query": {"term": {"tag": "even"}}, "size": 3,
                                               "sort": [{"n": "asc"}]})
    report["search_total"] = found["hits"]["total"]["value"]
    report["search_first"] = [hit["_source"]["n"] for hit in found["hits"]["hits"]]
    report["scanned"] = sorted(int(hit["_id"]) for hit in helpers.scan(
        client, index="es713", query={"query": {"term": {"tag": "odd"}}}, size=40, scroll="1m"))
    report["got"] = client.get(index="es713", id="single")["_source"]
    print(json.dumps(report))
''')


def client_python() -> Path:
    """The cached venv's python, built on first use (atomically: a half-built venv is never used)."""
    venv_directory = CACHE_DIRECTORY / CLIENT_REQUIREMENT.replace("==", "-")
    python = venv_directory / "bin" / "python"
    if python.exists():
        return python
    CACHE_DIRECTORY.mkdir(parents=True, exist_ok=True)
    building = CACHE_DIRECTORY / f".building-{uuid.uuid4().hex}"
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(building)], check=True,
                       capture_output=True, timeout=VENV_TIMEOUT_SECONDS)
        site_packages = subprocess.run(
            [str(building / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True, timeout=60).stdout.strip()
        # this interpreter's pip installs into the new venv's site-packages (the venv needs no pip)
        installed = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
             "--target", site_packages, CLIENT_REQUIREMENT],
            capture_output=True, text=True, timeout=VENV_TIMEOUT_SECONDS)
        if installed.returncode != 0:
            pytest.skip(f"pip cannot install {CLIENT_REQUIREMENT} (no PyPI?): {installed.stderr.strip()[-400:]}")
        try:
            building.rename(venv_directory)
        except OSError:
            if not python.exists():  # another run finished first: use its venv
                raise
        return python
    finally:
        shutil.rmtree(building, ignore_errors=True)


def test_elasticsearch_py_7_13_4_indexes_bulks_searches_and_scans(node):
    python = client_python()
    completed = subprocess.run([str(python), "-c", CLIENT_SCRIPT, node.base_url], capture_output=True, text=True,
                               timeout=180, env={**os.environ, "PYTHONNOUSERSITE": "1"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["client_version"][:3] == [7, 13, 4]
    with urllib.request.urlopen(node.base_url + "/", timeout=30) as response:
        assert report["version_number"] == json.loads(response.read())["version"]["number"]
    assert report["indexed"] == "created"
    assert report["bulk"] == [250, []]
    assert report["search_total"] == 125 and report["search_first"] == [0, 2, 4]
    assert report["scanned"] == list(range(1, 250, 2))
    assert report["got"] == {"n": -1, "tag": "one"}
