"""`make load`: see tests/load/run.py."""

from __future__ import annotations

import sys

from tests.load.run import main

main(sys.argv[1:])
