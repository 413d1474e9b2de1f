"""jepsen-lite is a black box: it imports nothing from the project, only the standard library,
orjson and itself — so it can be pointed at any cluster, like a user's client."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE_DIRECTORY = Path(__file__).resolve().parents[2] / "jepsen-lite" / "jepsen_lite"
PROJECT_PACKAGES = {"index", "raft", "udf", "node"}


def imported_top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_jepsen_lite_module_imports_the_project_or_any_third_party_package_but_orjson():
    modules = sorted(PACKAGE_DIRECTORY.glob("*.py"))
    assert len(modules) >= 8
    for module in modules:
        imported = imported_top_level_names(module)
        assert not imported & PROJECT_PACKAGES, (module.name, imported & PROJECT_PACKAGES)
        foreign = {name for name in imported
                   if name not in sys.stdlib_module_names and name not in ("orjson", "jepsen_lite", "__future__")}
        assert not foreign, (module.name, foreign)


def test_every_jepsen_lite_module_starts_with_a_docstring_saying_what_it_must_never_do():
    for module in sorted(PACKAGE_DIRECTORY.glob("*.py")):
        docstring = ast.get_docstring(ast.parse(module.read_text(encoding="utf-8")))
        assert docstring, module.name
        if module.name not in ("__main__.py",):
            assert "never" in docstring.lower(), module.name
