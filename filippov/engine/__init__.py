"""The Filippov engine: :func:`solve`, one driver over the integration paths.

* :mod:`filippov.engine.driver` holds :func:`solve` and the driver loop :func:`run`,
  which own what every path shares (time span, event limit, accumulation check,
  stationary stop, failures, the end-of-run self-check, recording).
* :mod:`filippov.engine.protocol` is the path protocol: :class:`IntegrationPath`, the
  outcomes :class:`Finished` / :class:`Rest` and :class:`PathFailure`.
* The paths: the **exact path** (``method="exact"``, :class:`ExactPath`, options
  :class:`ExactOptions`) integrates piecewise-affine ℓ1 / ℓ∞ relay systems in closed
  form; the **continuation path** (``"continuation"``, :class:`ContinuationPath`)
  follows the sliding curves of ℓ∞ steepest-descent flows with Hessian–vector products;
  the **event path** (``"events"``, :class:`EventPath`) integrates every other system
  mode by mode with a scipy ``OdeSolver``; the **piecewise path** (``"piecewise"``,
  :class:`PiecewisePath`) integrates a :class:`~filippov.PiecewiseSystem`.

The path classes and their options are imported on first use (they load scipy).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from filippov.engine.driver import run, solve
from filippov.engine.protocol import Finished, IntegrationPath, PathFailure, Rest, SteppedPath

if TYPE_CHECKING:  # (imported on first access at run time: they load scipy)
    from filippov._continuation_path import ContinuationOptions, ContinuationPath
    from filippov._event_path import EventOptions, EventPath
    from filippov._exact_path import ExactOptions, ExactPath
    from filippov._piecewise_path import PiecewiseOptions, PiecewisePath

__all__ = [
    "ContinuationOptions",
    "ContinuationPath",
    "EventOptions",
    "EventPath",
    "ExactOptions",
    "ExactPath",
    "Finished",
    "IntegrationPath",
    "PathFailure",
    "PiecewiseOptions",
    "PiecewisePath",
    "Rest",
    "SteppedPath",
    "run",
    "solve",
]

#: Where the path classes and their options live (imported on first access).
_LAZY = {
    "ExactPath": "filippov._exact_path",
    "ExactOptions": "filippov._exact_path",
    "EventPath": "filippov._event_path",
    "EventOptions": "filippov._event_path",
    "ContinuationPath": "filippov._continuation_path",
    "ContinuationOptions": "filippov._continuation_path",
    "PiecewisePath": "filippov._piecewise_path",
    "PiecewiseOptions": "filippov._piecewise_path",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    # `engine._event_path` / `engine._exact_path` stay reachable (tests patch them there)
    # although they are imported on the first solve only (PEP 562).
    if name in ("_continuation_path", "_event_path", "_exact_path", "_piecewise_path"):
        return importlib.import_module(f"filippov.{name}")
    raise AttributeError(f"module 'filippov.engine' has no attribute {name!r}")
