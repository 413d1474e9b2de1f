"""The dependency rule of DESIGN §2, enforced by import-linter's contracts in pyproject.toml."""

import subprocess
import sys
from pathlib import Path


def test_import_contracts_hold():
    root = Path(__file__).resolve().parent.parent
    linter = Path(sys.executable).with_name("lint-imports")
    completed = subprocess.run(
        [str(linter), "--config", str(root / "pyproject.toml")],
        cwd=root, capture_output=True, text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
