"""node/cli.py keeps compiled bytecode under a per-user cache directory when the environment
switches writing it beside the sources off (ADR 0271): every node start (and each shard worker,
through the environment) then reuses it instead of compiling the project again."""

import subprocess
import sys

from node import cli


def test_with_bytecode_switched_off_the_cache_directory_is_used_and_handed_to_the_workers(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    environment = {"PYTHONDONTWRITEBYTECODE": "1", "XDG_CACHE_HOME": str(tmp_path)}
    directory = cli.keep_bytecode_outside_the_sources(environment)
    assert directory == tmp_path / "quidditch" / "bytecode" and directory.is_dir()
    assert sys.pycache_prefix == str(directory) and sys.dont_write_bytecode is False
    assert environment["PYTHONPYCACHEPREFIX"] == str(directory)
    assert "PYTHONDONTWRITEBYTECODE" not in environment


def test_off_or_an_explicit_prefix_or_bytecode_allowed_leaves_python_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    assert cli.keep_bytecode_outside_the_sources({cli.BYTECODE_CACHE_VARIABLE: "off"}) is None
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path / "chosen"))
    assert cli.keep_bytecode_outside_the_sources({"XDG_CACHE_HOME": str(tmp_path)}) is None
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert cli.keep_bytecode_outside_the_sources({"XDG_CACHE_HOME": str(tmp_path)}) is None
    assert sys.pycache_prefix is None


def test_a_named_directory_is_used_and_receives_the_compiled_modules(tmp_path):
    cache = tmp_path / "cache"
    probe = ("import sys; from node import cli; d = cli.keep_bytecode_outside_the_sources(); "
             "import node.cluster.errors; print(d)")
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True,
        env={"PYTHONDONTWRITEBYTECODE": "1", cli.BYTECODE_CACHE_VARIABLE: str(cache), "PATH": "/usr/bin:/bin"})
    assert completed.stdout.strip() == str(cache)
    # the prefix mirrors the source path: the module's bytecode is under the cache, not beside it
    assert [path for path in cache.rglob("errors.cpython-*.pyc") if "node/cluster" in str(path)]
