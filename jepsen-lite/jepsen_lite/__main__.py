"""``python -m jepsen_lite``: the same as the ``jepsen-lite`` console script."""

from jepsen_lite.cli import main

raise SystemExit(main())
