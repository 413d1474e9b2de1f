"""Share the aggregation fakes of tests/unit/index/aggregations with the property tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "index" / "aggregations"))
