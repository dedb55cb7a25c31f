r"""Switching geometry over a planar window: grids, selector fields, switching sets, regions.

The computations behind :mod:`filippov.plot`, with no drawing in them: what a phase
portrait shows is computed here and can be checked, tested and reused without matplotlib.

* :func:`window_grid` — a ``resolution × resolution`` grid of a window, as points.
* :func:`selector_field` — the switching functions and the field a point's own region
  (or relay vertex) gives, vectorized where the system allows.
* :func:`classify_points` — the kind of a switching surface at given points (crossing,
  sliding, repulsive, tangency) from the one-sided normal velocities ``a±``.
* :func:`switching_set` — the switching manifolds of a planar :class:`FilippovSystem`,
  traced and cut into pieces of constant kind, with the fold points located.
* :func:`piecewise_regions` and :func:`piecewise_switching_set` — the same for a planar
  :class:`PiecewiseSystem`: its regions on a grid and its surfaces ``c_i = 0`` by kind.
* :func:`objective_values` — an objective on many points (for contour plots).

The kinds are those of :meth:`FilippovSystem.classify`: with ``a+`` and ``a−`` the normal
components (along the surface's normal, pointing to its ``+`` side) of the fields on the
two sides, the surface is *crossed* where they have the same sign, *attractive sliding*
where both fields point towards it (``a+ < 0 < a−``), *repulsive* where both point away
(``a− < 0 < a+``), and *tangential* where one vanishes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from filippov._validation import FloatArray, as_limits, require_int
from filippov.objectives import Objective
from filippov.piecewise import PiecewiseSystem
from filippov.systems import FilippovSystem

__all__ = [
    "ManifoldPiece",
    "PointClassification",
    "SwitchingSet",
    "classify_points",
    "objective_values",
    "piecewise_regions",
    "piecewise_switching_set",
    "require_planar",
    "selector_field",
    "switching_set",
    "window_grid",
]

#: The kinds of a switching surface at a point, in the order of :meth:`FilippovSystem.classify`.
SURFACE_KINDS = ("crossing", "sliding", "repulsive", "tangency")


# ------------------------------------------------------------------------------ sampling


def window_grid(
    xlim: tuple[float, float], ylim: tuple[float, float], resolution: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """A ``resolution × resolution`` grid of the window ``xlim × ylim``.

    Parameters
    ----------
    xlim, ylim : (float, float)
        The window.
    resolution : int
        Grid points per axis (at least 2).

    Returns
    -------
    xs, ys : ndarray, shape (resolution,)
        The grid lines.
    points : ndarray, shape (resolution², 2)
        The grid points, ``x`` fastest (the row order of ``numpy.meshgrid(xs, ys)``
        raveled): ``points.reshape(len(ys), len(xs), 2)`` is the grid.

    Examples
    --------
    >>> from filippov.switching import window_grid
    >>> xs, ys, points = window_grid((0.0, 1.0), (0.0, 2.0), 3)
    >>> points[:4].tolist()
    [[0.0, 0.0], [0.5, 0.0], [1.0, 0.0], [0.0, 1.0]]
    """
    x0, x1 = as_limits(xlim, "xlim")
    y0, y1 = as_limits(ylim, "ylim")
    resolution = require_int(resolution, "resolution", 2)
    xs = np.linspace(x0, x1, resolution)
    ys = np.linspace(y0, y1, resolution)
    X, Y = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([X.ravel(), Y.ravel()])


def _gradient_flow_objective(system: FilippovSystem, x: FloatArray) -> Objective | None:
    """The objective when ``system`` is its steepest-descent flow (f0 = 0, B = I, h = ∇f)."""
    obj = system.objective
    if obj is None:
        return None
    try:
        f0, B, hx = system.evaluate(x)
        if (
            hx.shape == x.shape
            and not np.any(f0)
            and np.array_equal(B, np.eye(x.shape[0]))
            and np.allclose(hx, obj.grad(x), rtol=1e-12, atol=1e-12)
        ):
            return obj
    except (ValueError, TypeError, FloatingPointError):
        return None
    return None


def _vectorized(system: FilippovSystem, x: FloatArray) -> bool:
    return system.affine_data is not None or _gradient_flow_objective(system, x) is not None


def _points(points: ArrayLike, name: str = "points") -> FloatArray:
    P = np.asarray(points, dtype=float)
    if P.ndim != 2 or P.shape[0] == 0 or P.shape[1] == 0:
        raise ValueError(f"`{name}` must have shape (k, n) with k >= 1. Got shape {P.shape}.")
    if not np.all(np.isfinite(P)):
        raise ValueError(f"`{name}` must be finite. Got NaN or inf instead.")
    return P


def selector_field(
    system: FilippovSystem | PiecewiseSystem, points: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Switching functions and the field of each point's own side, at many points.

    For a :class:`FilippovSystem` ``x' ∈ f0 − B ∂φ(h)``: the switching functions ``h``
    and the *vertex selector* ``f0 − B s`` with ``s`` the subgradient the norm picks
    (e.g. ``−sign(∇f)`` for the ℓ1 relay of a sign flow). Vectorized for
    piecewise-affine systems and steepest-descent flows of objectives with a batched
    gradient; one :meth:`FilippovSystem.evaluate` per point otherwise. For a
    :class:`PiecewiseSystem`: the switching functions ``c`` and the field ``f_σ`` of the
    region ``σ = sign c(x)`` (``+1`` at an exact zero).

    On a switching surface the selector is *one* of the one-sided fields, not the
    sliding velocity (:meth:`FilippovSystem.consistent_velocity` gives that one).

    Parameters
    ----------
    system : FilippovSystem or PiecewiseSystem
    points : array_like, shape (k, n)

    Returns
    -------
    h : ndarray, shape (k, m)
        The switching functions at the points.
    velocity : ndarray, shape (k, n)
        The selector field at the points.

    Examples
    --------
    The sign flow of ``f(x) = x1² + 2 x2²`` moves by ``−sign(∇f)``:

    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov.switching import selector_field
    >>> flow = fp.steepest_descent_flow(fp.Objective.quadratic(np.diag([2.0, 4.0])), "linf")
    >>> h, v = selector_field(flow, [[1.0, -1.0], [-0.5, 0.25]])
    >>> h.tolist(), v.tolist()
    ([[2.0, -4.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]])
    """
    P = _points(points)
    if isinstance(system, PiecewiseSystem):
        C = np.array([system.c(p) for p in P])
        V = np.array([system.field(p, system.region(p)) for p in P])
        return C, V
    if not isinstance(system, FilippovSystem):
        raise TypeError(
            "`system` must be a FilippovSystem or a PiecewiseSystem. "
            f"Got {type(system).__name__} instead."
        )
    data = system.affine_data
    if data is not None:
        Hv = P @ data.G.T + data.e
        S = np.asarray(system.norm.subgradient(Hv), dtype=float).reshape(Hv.shape)
        return Hv, data.c0 - S @ data.B.T
    obj = _gradient_flow_objective(system, P[len(P) // 2])
    if obj is not None:
        Hv = np.asarray(obj.grad_batch(P), dtype=float)
        S = np.asarray(system.norm.subgradient(Hv), dtype=float).reshape(Hv.shape)
        return Hv, -S
    hs, vs = [], []
    for p in P:
        f0, B, hx = system.evaluate(p)
        hs.append(hx)
        vs.append(f0 - B @ system.norm.subgradient(hx))
    return np.asarray(hs), np.asarray(vs)


def objective_values(objective: Objective, points: ArrayLike) -> FloatArray:
    """``f`` at many points: one matrix product for quadratics, one call per point otherwise.

    Parameters
    ----------
    objective : Objective
    points : array_like, shape (k, n)

    Returns
    -------
    ndarray, shape (k,)

    Examples
    --------
    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov.switching import objective_values
    >>> obj = fp.Objective.quadratic(np.diag([2.0, 4.0]))
    >>> objective_values(obj, [[1.0, 1.0], [0.0, 0.5]]).tolist()
    [3.0, 0.5]
    """
    if not isinstance(objective, Objective):
        raise TypeError(
            f"`objective` must be a filippov Objective. Got {type(objective).__name__} instead."
        )
    P = _points(points)
    quad = objective.quadratic_data
    if quad is not None:
        H, b, c = quad
        return np.asarray(0.5 * np.einsum("ij,jk,ik->i", P, H, P) + P @ b + c, dtype=float)
    return np.array([objective.f(p) for p in P], dtype=float)


def require_planar(system: FilippovSystem, x: FloatArray) -> None:
    """Raise a ``ValueError`` unless ``system`` has a 2-D state.

    The dimension is read from the system's affine data or objective when it has them,
    and from one evaluation at ``x`` (a 2-D point) otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov.switching import require_planar
    >>> require_planar(fp.twisting_system(), np.zeros(2))
    >>> flow = fp.steepest_descent_flow(fp.Objective.quadratic(np.eye(3)))
    >>> require_planar(flow, np.zeros(2))
    Traceback (most recent call last):
    ...
    ValueError: `system` must have a 2-D state for a planar plot. Got n = 3 instead.
    """
    n: int | None = None
    if system.affine_data is not None:
        n = int(system.affine_data.c0.shape[0])
    elif system.objective is not None and system.objective.n is not None:
        n = int(system.objective.n)
    if n is None:
        try:
            n = int(system.evaluate(x)[0].shape[0])
        except (ValueError, IndexError, TypeError) as exc:
            raise ValueError(
                "`system` must have a 2-D state for a planar plot; evaluating it at a 2-D "
                f"point failed: {exc}"
            ) from exc
    if n != 2:
        raise ValueError(f"`system` must have a 2-D state for a planar plot. Got n = {n} instead.")


# ------------------------------------------------------------------------------ classification


@dataclass(frozen=True)
class PointClassification:
    """The kind of one switching surface at each of several points.

    Attributes
    ----------
    kind : tuple of str
        Per point: ``"crossing"``, ``"sliding"``, ``"repulsive"`` or ``"tangency"``.
    a_plus, a_minus : ndarray, shape (k,)
        The one-sided normal velocities: the normal component of the field on the ``+``
        side and on the ``−`` side of the surface.
    """

    kind: tuple[str, ...]
    a_plus: FloatArray
    a_minus: FloatArray


class _Classifier:
    """``p -> (kind, a+, a−)`` of one surface of one system."""

    def __init__(
        self, system: FilippovSystem | PiecewiseSystem, index: int | tuple[int, ...]
    ) -> None:
        self.system = system
        flat = (index,) if isinstance(index, int | np.integer) else tuple(index)
        self.key: int | tuple[int, ...] = int(flat[0]) if len(flat) == 1 else flat

    def __call__(self, p: FloatArray) -> tuple[str, float, float]:
        if isinstance(self.system, PiecewiseSystem):
            assert isinstance(self.key, int)
            return self.system.classify(p, self.key)
        c = self.system.classify(p, self.key)
        return c.kind, c.a_plus, c.a_minus


def classify_points(
    system: FilippovSystem | PiecewiseSystem,
    points: ArrayLike,
    index: int | Sequence[int],
) -> PointClassification:
    """Classify switching surface ``index`` at each point (crossing, sliding, ...).

    Parameters
    ----------
    system : FilippovSystem or PiecewiseSystem
    points : array_like, shape (k, n)
        Points on (or near) the surface.
    index : int, or pair of int
        The surface: ``i`` for ``{h_i = 0}`` of an ℓ1 relay or ``{c_i = 0}`` of a
        piecewise system; ``(i, j)`` for the tie surface ``{|h_i| = |h_j|}`` of an ℓ∞
        relay. See :meth:`FilippovSystem.classify` and :meth:`PiecewiseSystem.classify`.

    Returns
    -------
    PointClassification

    Examples
    --------
    ``x' = (1, 1)`` below ``x2 = 0`` and ``(1, x1)`` above: the field above points back
    down for ``x1 < 0`` (sliding) and on up for ``x1 > 0`` (crossing):

    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov.switching import classify_points
    >>> system = fp.piecewise_system(lambda x: np.array([1.0, 1.0]),
    ...                              lambda x: np.array([1.0, x[0]]), lambda x: x[1],
    ...                              grad_h=lambda x: np.array([0.0, 1.0]))
    >>> c = classify_points(system, [[-1.0, 0.0], [2.0, 0.0]], 0)
    >>> c.kind, c.a_plus.tolist(), c.a_minus.tolist()
    (('sliding', 'crossing'), [-1.0, 2.0], [1.0, 1.0])
    """
    if not isinstance(system, FilippovSystem | PiecewiseSystem):
        raise TypeError(
            "`system` must be a FilippovSystem or a PiecewiseSystem. "
            f"Got {type(system).__name__} instead."
        )
    P = _points(points)
    if isinstance(index, int | np.integer):
        key: int | tuple[int, ...] = int(index)
    elif isinstance(index, Sequence | np.ndarray) and not isinstance(index, str):
        key = tuple(require_int(i, "index") for i in np.asarray(index).ravel().tolist())
    else:
        raise TypeError(f"`index` must be an int or a pair of ints. Got {index!r} instead.")
    if isinstance(system, PiecewiseSystem) and not (isinstance(key, int) and 0 <= key < system.k):
        raise ValueError(f"`index` must be an int in [0, {system.k}). Got {index!r} instead.")
    classify = _Classifier(system, key)
    info = [classify(p) for p in P]
    return PointClassification(
        tuple(k for k, _, _ in info),
        np.array([a for _, a, _ in info], dtype=float),
        np.array([b for _, _, b in info], dtype=float),
    )


# ------------------------------------------------------------------------------ manifolds


@dataclass(frozen=True)
class ManifoldPiece:
    """A connected piece of a switching manifold on which the surface kind is constant.

    Attributes
    ----------
    index : tuple of int
        ``(i,)`` for the manifold ``{h_i = 0}`` (ℓ1 relays; ``{c_i = 0}`` of a piecewise
        system); ``(i, j)`` for the tie surface ``{|h_i| = |h_j|}`` (ℓ∞ relays). 0-based.
    kind : str
        ``"crossing"``, ``"sliding"``, ``"repulsive"`` or ``"tangency"``, as returned by
        :meth:`FilippovSystem.classify`.
    xy : ndarray, shape (k, 2)
        Points along the piece (contour vertices; the ends are located by bisection).
    """

    index: tuple[int, ...]
    kind: str
    xy: FloatArray


@dataclass(frozen=True)
class SwitchingSet:
    """Switching manifolds of a planar system, cut into pieces of constant kind.

    Attributes
    ----------
    pieces : tuple of ManifoldPiece
    folds : tuple of (tuple of int, ndarray of shape (2,))
        Fold (tangency) points: one of the one-sided normal velocities ``a±`` vanishes
        there and the kind of the manifold changes. Junctions with other manifolds, where
        ``a±`` jump, are not folds.
    """

    pieces: tuple[ManifoldPiece, ...]
    folds: tuple[tuple[tuple[int, ...], FloatArray], ...]


def _manifold_functions(
    system: FilippovSystem, Hv: FloatArray
) -> list[tuple[tuple[int, ...], FloatArray]]:
    """Scalar fields whose zero level sets are the switching manifolds (NaN = not a surface)."""
    m = Hv.shape[1]
    name = system.norm.name
    out: list[tuple[tuple[int, ...], FloatArray]] = []
    if name == "l1":
        for i in range(m):
            out.append(((i,), Hv[:, i]))
    elif name == "linf":
        A = np.abs(Hv)
        for i in range(m):
            for j in range(i + 1, m):
                z = A[:, i] - A[:, j]
                if m > 2:
                    others = np.delete(A, [i, j], axis=1).max(axis=1)
                    z = np.where(others > np.maximum(A[:, i], A[:, j]), np.nan, z)
                out.append(((i, j), z))
    return out


def _resample_path(xy: FloatArray, spacing: float) -> FloatArray:
    """Insert points so that consecutive points are at most ``spacing`` apart."""
    if len(xy) < 2:
        return xy
    seg = np.hypot.reduce(np.diff(xy, axis=0), axis=1) if xy.shape[1] else np.zeros(len(xy) - 1)
    parts = [xy[:1]]
    for k, length in enumerate(seg):
        # A segment far longer than the window (a path leaving it) needs no more points
        # than one that crosses it; the cap keeps a stray huge segment cheap.
        ratio = length / spacing
        n_sub = int(np.clip(np.ceil(ratio), 1, 10_000)) if np.isfinite(ratio) else 1
        s = np.linspace(0.0, 1.0, n_sub + 1)[1:, None]
        parts.append(xy[k] + s * (xy[k + 1] - xy[k]))
    return np.vstack(parts)


def _split_path(
    classify: _Classifier, xy: FloatArray
) -> tuple[list[tuple[str, FloatArray]], list[FloatArray]]:
    """Cut a path into runs of constant kind; return the runs and the fold points.

    Where the kind changes between two samples the boundary is bisected; it is a fold
    when the one-sided normal velocities ``a±`` are continuous there and one of them
    vanishes (otherwise the path met another switching manifold, where ``a±`` jump).
    A sample classified ``"tangency"`` after one of another kind is a fold itself (the
    path's first sample is not: a path tangential all along has no fold).
    """
    info = [classify(p) for p in xy]
    scale = max([max(abs(a), abs(b)) for _, a, b in info] + [1e-300])
    runs: list[tuple[str, FloatArray]] = []
    folds: list[FloatArray] = []

    def add_fold(point: FloatArray) -> None:
        if not folds or not np.allclose(folds[-1], point, rtol=0.0, atol=1e-12):
            folds.append(np.array(point, dtype=float))

    kind = info[0][0]
    # (not the first sample when tangential: the kind does not change at the path's
    # start; a manifold tangential all along, as x1 = 0 of x' = (1, 0.3) − sign(x), had
    # a fold drawn at the window's edge)
    current: list[FloatArray] = [xy[0]]
    for idx in range(1, len(xy)):
        k_new = info[idx][0]
        if k_new == kind:
            current.append(xy[idx])
            continue
        if k_new == "tangency":
            boundary = xy[idx]
            add_fold(boundary)
        elif kind == "tangency":
            # (a tangential stretch ends here: at a junction with another manifold, where
            # a± jump, as often as at a fold; its start was marked if it had one)
            boundary = xy[idx - 1]
        else:
            lo, hi = xy[idx - 1].copy(), xy[idx].copy()
            i_lo, i_hi = info[idx - 1], info[idx]
            for _ in range(48):
                mid = 0.5 * (lo + hi)
                if np.array_equal(mid, lo) or np.array_equal(mid, hi):
                    break
                i_mid = classify(mid)
                if i_mid[0] == kind:
                    lo, i_lo = mid, i_mid
                else:
                    hi, i_hi = mid, i_mid
            boundary = 0.5 * (lo + hi)
            tol = 1e-3 * scale
            continuous = abs(i_lo[1] - i_hi[1]) <= tol and abs(i_lo[2] - i_hi[2]) <= tol
            vanishing = min(abs(i_lo[1]), abs(i_lo[2]), abs(i_hi[1]), abs(i_hi[2])) <= tol
            if continuous and vanishing:
                add_fold(boundary)
        if not np.array_equal(current[-1], boundary):
            current.append(boundary)
        if len(current) >= 2:
            runs.append((kind, np.asarray(current)))
        current = [boundary]
        if not np.array_equal(boundary, xy[idx]):
            current.append(xy[idx])
        kind = k_new
    if len(current) >= 2:
        runs.append((kind, np.asarray(current)))
    return runs, folds


def _length(xy: FloatArray, extent: tuple[float, float] = (1.0, 1.0)) -> float:
    """The length of a path, in units of the window's sides ``extent`` (width, height)."""
    return float(np.sum(np.linalg.norm(np.diff(xy, axis=0) / np.asarray(extent), axis=1)))


def _edge_lines(
    contourpy: Any,
    xs: FloatArray,
    ys: FloatArray,
    Z: Any,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
) -> list[FloatArray]:
    """The zero lines of ``Z`` that lie on the window's edge with ``Z < 0`` inside.

    contourpy counts a value equal to the level as below it, so a zero row on the edge is
    a line only when the values inside are above 0: a minimizer's line on the left or
    bottom edge was drawn and the same line on the right or top edge was not. Traced as
    the zero lines of ``−Z`` that run along the edge (interior lines come from ``Z``)."""
    out = []
    for line in contourpy.contour_generator(xs, ys, -Z, line_type="Separate").lines(0.0):
        xy = np.asarray(line, dtype=float)
        on_x = (xy[:, 0] == xlim[0]) | (xy[:, 0] == xlim[1])
        on_y = (xy[:, 1] == ylim[0]) | (xy[:, 1] == ylim[1])
        if len(xy) >= 2 and (bool(np.all(on_x)) or bool(np.all(on_y))):
            out.append(xy)
    return out


def switching_set(
    system: FilippovSystem,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    *,
    resolution: int = 201,
) -> SwitchingSet:
    """Trace the switching manifolds of a planar system and classify them piece by piece.

    Each manifold (``{h_i = 0}`` for ℓ1 relays, ``{|h_i| = |h_j|}`` on the argmax set
    for ℓ∞ relays) is traced as the zero contour of a sampled function on a
    ``resolution × resolution`` grid; :meth:`FilippovSystem.classify` is evaluated along
    it and the points where the kind changes are located by bisection. ℓ2 relays switch
    only on ``{h = 0}``, which has no sides: the result is empty.

    Parameters
    ----------
    system : FilippovSystem
        A system with a 2-D state.
    xlim, ylim : (float, float)
        The window.
    resolution : int, default 201
        Grid points per axis for the contouring (at most 101 when the system cannot be
        evaluated on many points at once).

    Returns
    -------
    SwitchingSet

    Examples
    --------
    For the slope example with ``a = 2`` the valley ``x1 = 2 x2`` (``h_0 = 0``) is crossed,
    while ``h_1 = 0`` is a sliding manifold:

    >>> import filippov as fp
    >>> from filippov.switching import switching_set
    >>> from filippov.objectives import slope
    >>> sw = switching_set(fp.steepest_descent_flow(slope(2.0)), (-8, 2), (-5, 1))
    >>> sorted({(p.index, p.kind) for p in sw.pieces})
    [((0,), 'crossing'), ((1,), 'sliding')]
    """
    import contourpy

    if not isinstance(system, FilippovSystem):
        raise TypeError(f"`system` must be a FilippovSystem. Got {type(system).__name__} instead.")
    xlim = as_limits(xlim, "xlim")
    ylim = as_limits(ylim, "ylim")
    resolution = require_int(resolution, "resolution", 3)
    centre = np.array([0.5 * (xlim[0] + xlim[1]), 0.5 * (ylim[0] + ylim[1])])
    require_planar(system, centre)
    if not _vectorized(system, centre):
        resolution = min(resolution, 101)  # one Python call per grid point
    xs, ys, P = window_grid(xlim, ylim, resolution)
    Hv, _ = selector_field(system, P)
    diag = float(np.hypot(xlim[1] - xlim[0], ylim[1] - ylim[0]))
    spacing = diag / 300.0
    extent = (xlim[1] - xlim[0], ylim[1] - ylim[0])
    pieces: list[ManifoldPiece] = []
    folds: list[tuple[tuple[int, ...], FloatArray]] = []
    for index, z in _manifold_functions(system, Hv):
        Z = z.reshape(resolution, resolution)
        if not np.any(np.isfinite(Z)):
            continue
        Zm = np.ma.masked_invalid(Z)
        if np.nanmin(Z) > 0 or np.nanmax(Z) < 0:
            continue
        gen = contourpy.contour_generator(xs, ys, Zm, line_type="Separate")
        classify = _Classifier(system, index)
        for line in [*gen.lines(0.0), *_edge_lines(contourpy, xs, ys, Zm, xlim, ylim)]:
            xy = _resample_path(np.asarray(line, dtype=float), spacing)
            if len(xy) < 2:
                continue
            runs, fold_pts = _split_path(classify, xy)
            pieces.extend(
                ManifoldPiece(index, k, pts)
                for k, pts in runs
                # (junction points of two manifolds dropped; measured in the window's
                # own units: a piece across the short side of a 1e6-to-1 window is short
                # against the diagonal, and whole manifolds vanished)
                if _length(pts, extent) > 1e-6
            )
            folds.extend((index, p) for p in fold_pts)
    return SwitchingSet(tuple(pieces), tuple(folds))


# ------------------------------------------------------------------------------ piecewise systems


def _planar_piecewise(system: PiecewiseSystem) -> None:
    if not isinstance(system, PiecewiseSystem):
        raise TypeError(f"`system` must be a PiecewiseSystem. Got {type(system).__name__} instead.")
    if system.n != 2:
        raise ValueError(f"`system` must have a 2-D state. Got n = {system.n} instead.")


def piecewise_regions(
    system: PiecewiseSystem,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    *,
    resolution: int = 160,
) -> tuple[FloatArray, FloatArray, FloatArray, np.ndarray]:
    """The switching functions and the region of every point of a grid.

    Parameters
    ----------
    system : PiecewiseSystem
        A system with a 2-D state.
    xlim, ylim : (float, float)
        The window.
    resolution : int, default 160
        Grid points per axis.

    Returns
    -------
    xs, ys : ndarray, shape (resolution,)
        The grid lines.
    c : ndarray, shape (resolution, resolution, k)
        The switching functions, ``c[iy, ix]`` at ``(xs[ix], ys[iy])``.
    code : ndarray of int, shape (resolution, resolution)
        The region as a number: bit ``i`` is set where ``c_i > 0``.

    Examples
    --------
    >>> import filippov as fp
    >>> from filippov.switching import piecewise_regions
    >>> net = fp.gene_network([[(2.0, [(0, "-")])], [(1.0, [])]], [1.0, 1.0], [(0, 1.0)])
    >>> xs, ys, c, code = piecewise_regions(net, (0.0, 2.0), (0.0, 2.0), resolution=3)
    >>> code.tolist()
    [[0, 0, 1], [0, 0, 1], [0, 0, 1]]
    """
    _planar_piecewise(system)
    x0, x1 = as_limits(xlim, "xlim")
    y0, y1 = as_limits(ylim, "ylim")
    res = require_int(resolution, "resolution", 2)
    xs, ys, P = window_grid((x0, x1), (y0, y1), res)
    C = np.array([system.c(p) for p in P])
    code = ((C > 0) * (1 << np.arange(system.k))).sum(axis=1).reshape(res, res)
    return xs, ys, C.reshape(res, res, system.k), code


def piecewise_switching_set(
    system: PiecewiseSystem,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    *,
    resolution: int = 160,
) -> SwitchingSet:
    """The surfaces ``c_i = 0`` of a planar piecewise system, cut into pieces of one kind.

    Each surface is traced as the zero contour of ``c_i`` on a ``resolution ×
    resolution`` grid, resampled at half the grid spacing, and classified at every
    sample by :meth:`PiecewiseSystem.classify` (the other switching functions at their
    sign there). A piece runs from the first sample of a kind to the first sample of the
    next kind (consecutive pieces share that point); fold points are not located
    (``folds`` is empty).

    Parameters
    ----------
    system : PiecewiseSystem
        A system with a 2-D state.
    xlim, ylim : (float, float)
        The window.
    resolution : int, default 160
        Grid points per axis (at least 8).

    Returns
    -------
    SwitchingSet

    Examples
    --------
    >>> import filippov as fp
    >>> from filippov.switching import piecewise_switching_set
    >>> net = fp.gene_network([[(2.0, [(0, "-"), (1, "-")])], [(3.0, [(0, "+")])]],
    ...                       [1.0, 1.0], [(0, 1.0), (1, 1.0)])
    >>> sw = piecewise_switching_set(net, (0.0, 2.5), (0.0, 3.0), resolution=60)
    >>> sorted({(p.index, p.kind) for p in sw.pieces})
    [((0,), 'crossing'), ((0,), 'sliding'), ((1,), 'crossing')]
    """
    import contourpy

    _planar_piecewise(system)
    x0, x1 = as_limits(xlim, "xlim")
    y0, y1 = as_limits(ylim, "ylim")
    res = require_int(resolution, "resolution", 8)
    xs, ys, C, _ = piecewise_regions(system, (x0, x1), (y0, y1), resolution=res)
    X, Y = np.meshgrid(xs, ys)
    span = max(x1 - x0, y1 - y0)
    pieces: list[ManifoldPiece] = []
    for i in range(system.k):
        classify = _Classifier(system, i)
        for line in contourpy.contour_generator(X, Y, C[:, :, i]).lines(0.0):
            pts = _resample_path(np.asarray(line, dtype=float), span / (2 * res))
            if len(pts) < 2:
                continue
            kinds = [classify(p)[0] for p in pts]
            start = 0
            for j in range(1, len(pts) + 1):
                if j == len(pts) or kinds[j] != kinds[start]:
                    seg = pts[start : min(j + 1, len(pts))]
                    if len(seg) >= 2:
                        pieces.append(ManifoldPiece((i,), kinds[start], seg))
                    start = j
    return SwitchingSet(tuple(pieces), ())
