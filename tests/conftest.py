"""Shared test set-up.

The tests are laid out like the package (``engine/``, ``results/``, ``objectives/``,
``systems/``, ``schemes/``, ``analysis/``, ``front/``); the reference oracles they compare
with (closed forms, implicit Euler, fixtures written by earlier versions) live in
``reference/`` and are imported by name (``import problems``).
"""

from __future__ import annotations

import sys
from pathlib import Path

_REFERENCE = str(Path(__file__).resolve().parent / "reference")
if _REFERENCE not in sys.path:
    sys.path.insert(0, _REFERENCE)
