"""Make the tests-only helper module aggregation_fakes importable (importlib mode has no
package for tests/)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
