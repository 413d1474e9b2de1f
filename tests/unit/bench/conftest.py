"""Loading bench/ scripts in tests: by file path, never by putting bench/ on sys.path (bench/udf.py
would then shadow the udf package for every test collected later), registered in sys.modules only
for the test (dataclasses look their module up while building)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[3]
SHARED_BENCH_ENGINES = REPOSITORY.parent / "shared" / "bench" / "bench_engines.py"


@pytest.fixture
def load_bench_script(monkeypatch):
    """``load_bench_script(file_name, module_name)``: bench/<file_name> as module ``module_name``.
    Scripts that import ../shared/bench's bench_engines skip the test when it is not beside this
    clone."""
    def load(file_name: str, module_name: str):
        if file_name in ("engine.py", "engine_queries.py") and not SHARED_BENCH_ENGINES.exists():
            pytest.skip("../shared/bench is not beside this clone (bench/engine.py imports bench_engines from it)")
        specification = importlib.util.spec_from_file_location(module_name, REPOSITORY / "bench" / file_name)
        module = importlib.util.module_from_spec(specification)
        monkeypatch.setitem(sys.modules, module_name, module)
        specification.loader.exec_module(module)
        return module

    return load
