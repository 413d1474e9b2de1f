"""The cluster secret and node id: generated once, private, stable; bad secret files refused."""

import stat

import pytest

from node.config import load_config
from node.server import NodeStartupError, load_or_create_node_id, load_or_create_secret


def test_a_generated_secret_is_private_and_stable(tmp_path):
    config = load_config(flags={"data": str(tmp_path)}, environment={})
    secret = load_or_create_secret(config)
    secret_file = tmp_path / "cluster.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert len(secret) >= 32
    assert load_or_create_secret(config) == secret


def test_a_too_short_secret_file_is_refused(tmp_path):
    short = tmp_path / "short.secret"
    short.write_text("abc\n")
    config = load_config(flags={"data": str(tmp_path), "cluster-secret-file": str(short)}, environment={})
    with pytest.raises(NodeStartupError, match="expected at least 16 characters, got 3"):
        load_or_create_secret(config)


def test_the_node_id_is_created_once(tmp_path):
    first = load_or_create_node_id(tmp_path)
    assert len(first) == 22
    assert load_or_create_node_id(tmp_path) == first


def test_wildcard_listeners_publish_a_dialable_address():
    from node.server import publish_host

    assert publish_host("10.0.0.5", "10.0.0.9") == "10.0.0.5"
    assert publish_host("0.0.0.0", "10.0.0.9") == "10.0.0.9"
    assert publish_host("::", "0.0.0.0") not in ("0.0.0.0", "::")
