"""``python -m node [flags]``: the same as ``quidditch node [flags]``. Nothing else lives here."""

import sys

from node.cli import main

sys.exit(main(["node", *sys.argv[1:]]))
