"""Filippov solutions: modes, events, segments and the solution object.

This package is a plain data layer: the engine (:func:`filippov.solve`) fills a
:class:`FilippovSolution`; plotting, comparison and the command line read it. Nothing
here integrates anything.

Vocabulary (:doc:`/theory`, "Modes and the sliding selection" and "Events and their
classification"; the result types and their status codes: :doc:`/design`):

* a :class:`Mode` is the face of the relay set ∂φ(h(x)) held over a time interval
  (fixed signs plus the sliding set J for ℓ1, the tie set A for ℓ∞, h = 0 or not for ℓ2);
* an :class:`Event` ends a mode (a crossing, a sliding entry, an exit, ...);
* a :class:`Segment` is one mode held over ``[t0, t1]`` together with its dense output;
* a :class:`FilippovSolution` is the sequence of segments and events plus the
  breakpoints ``t`` (shape ``(k,)``) and states ``x`` (shape ``(k, n)``).

Arrays are time-major throughout: a trajectory sampled at ``k`` times in ``R^n`` has
shape ``(k, n)``. Relay indices (``Event.indices``, ``Mode.free``) are 0-based.

Dense output of a segment is one of four kinds, chosen so that a solution can be saved
and loaded *exactly*:

* :class:`LinearDense` -- the exact path of a piecewise-affine system,
  ``x(t) = x0 + (t - t0) v`` (stores ``x0`` and ``v``);
* :class:`HermiteDense` -- a piecewise cubic Hermite interpolant
  (:class:`scipy.interpolate.CubicHermiteSpline`) through stored nodes ``(t, y, dy)``;
  built from samples, or from a ``solve_ivp`` dense output to a stated tolerance;
* :class:`NodalDense` -- a piecewise polynomial stored by its values at 17
  Chebyshev--Lobatto nodes per piece: the event path samples the integrator's dense
  output (projected onto the mode's sliding manifold) this way, one piece per step;
* :class:`CallableDense` -- any callable. It is evaluated directly, but it cannot be
  written to disk: :meth:`FilippovSolution.save` stores Hermite samples of it instead and
  marks the loaded segment as resampled (``dense.source == "callable"``).

The package by job: :mod:`~filippov.solution.records` (modes, events, the engine's trusted
record constructors), :mod:`~filippov.solution.dense` (dense output),
:mod:`~filippov.solution.resample` (Hermite resampling of a dense output),
:mod:`~filippov.solution.segment`, :mod:`~filippov.solution.result`
(:class:`FilippovSolution`), :mod:`~filippov.solution.io` (save / load) and
:mod:`~filippov.solution.compact` (:class:`~filippov.CompactSolution`). Every public name
is importable from ``filippov.solution`` as before, and pickles written by earlier
versions (which name ``filippov.solution.<Name>``) still load.
"""

from __future__ import annotations

from filippov._status import STATS_KEYS, Status
from filippov.solution.dense import (
    CallableDense,
    HermiteDense,
    LinearDense,
    NodalDense,
    NodeValues,
    SegmentDense,
)
from filippov.solution.records import (
    EVENT_KINDS,
    SEGMENT_KINDS,
    Event,
    Mode,
    readonly_view,
    trusted_record,
)
from filippov.solution.result import FilippovSolution
from filippov.solution.segment import Segment

__all__ = [
    "EVENT_KINDS",
    "SEGMENT_KINDS",
    "STATS_KEYS",
    "CallableDense",
    "Event",
    "FilippovSolution",
    "HermiteDense",
    "LinearDense",
    "Mode",
    "NodalDense",
    "Segment",
    "SegmentDense",
    "Status",
    "readonly_view",
    "trusted_record",
]

# Pickles of filippov before this package existed name the node store of a NodalDense
# ``filippov.solution._NodeValues``: keep that dotted path working.
_NodeValues = NodeValues
