r"""Pictures of Filippov systems, their solutions and the discrete schemes that track them.

Every function draws into a matplotlib ``Axes`` (a new figure when ``ax`` is None) and
returns it; nothing here calls ``plt.show()``, and matplotlib is imported only when a
function runs. What was drawn stays inspectable: each artist carries a ``gid`` naming
what it shows (e.g. ``"manifold:sliding:0"`` for a piece of the switching manifold
``{h_0 = 0}`` on which the field slides), and :func:`artists` finds them by pattern.

Styles encode the kind of every object twice, by colour *and* by line style or marker
shape, so that the figures read in grey:

=====================  ===============================  ======================================
object                 kind                             style
=====================  ===============================  ======================================
switching manifold     crossing                         thin dashed blue
switching manifold     sliding (attractive)             thick solid red
switching manifold     repulsive (escaping)             thick dotted orange
fold / tangency point                                   open diamond
solution segment       regular / sliding / tie          thin black / thick purple / dashed teal
event                  crossing, sliding-entry, exit,   open circle, square, triangle,
                       repulsive, tangency,             X, diamond,
                       stationary, tie-entry/-exit,     star, plus / down-triangle,
                       accumulation                     hexagon
=====================  ===============================  ======================================

Indices in gids and legends are the library's 0-based indices of the switching functions;
axes are labelled ``x_1, x_2, …`` as in the papers.

Every drawing function passes its extra keyword arguments to matplotlib for the artist
its docstring names (e.g. the streamplot of :func:`phase_portrait`, the curves of
:func:`convergence`), over the style of this module.

The package is split by job; every name is importable from ``filippov.plot`` itself:

* :mod:`filippov.plot.styles` — the style tables, gids (:func:`artists`), legends;
* :mod:`filippov.plot.state_space` — :func:`trajectory`, :func:`phase_portrait`,
  :func:`piecewise_portrait`;
* :mod:`filippov.plot.velocity_sets` — :func:`filippov_set`;
* :mod:`filippov.plot.diagnostics` — :func:`time_series`, :func:`diagnostic`,
  :func:`active_face`, :func:`face_ablation`, :func:`arrival_time_map`;
* :mod:`filippov.plot.rates` — :func:`convergence`, :func:`error_vs_step`.

What the pictures show is computed without matplotlib in :mod:`filippov.switching`
(switching sets, classification, selector fields;
:func:`~filippov.switching.switching_set`, :class:`~filippov.switching.SwitchingSet` and
:class:`~filippov.switching.ManifoldPiece` are re-exported here) and
:mod:`filippov.grid_maps` (a sweep table on its grid).
"""

from __future__ import annotations

from filippov.plot.diagnostics import (
    active_face,
    arrival_time_map,
    diagnostic,
    face_ablation,
    time_series,
)
from filippov.plot.rates import convergence, error_vs_step
from filippov.plot.state_space import phase_portrait, piecewise_portrait, trajectory
from filippov.plot.styles import EVENT_STYLES, MANIFOLD_STYLES, SEGMENT_STYLES, artists
from filippov.plot.velocity_sets import filippov_set
from filippov.switching import ManifoldPiece, SwitchingSet, switching_set

__all__ = [
    "EVENT_STYLES",
    "MANIFOLD_STYLES",
    "SEGMENT_STYLES",
    "ManifoldPiece",
    "SwitchingSet",
    "active_face",
    "arrival_time_map",
    "artists",
    "convergence",
    "diagnostic",
    "error_vs_step",
    "face_ablation",
    "filippov_set",
    "phase_portrait",
    "piecewise_portrait",
    "switching_set",
    "time_series",
    "trajectory",
]
