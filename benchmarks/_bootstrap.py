"""Lets every benchmark run from a bare checkout (``python benchmarks/run.py``) without semcom
installed: puts the repository root on ``sys.path``. Each benchmark imports it first; the
benchmarks folder itself is already on the path when one of its scripts runs."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
