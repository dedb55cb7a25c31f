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
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from filippov._validation import (
    FloatArray,
    as_limits,
    as_real,
    as_vector,
    require_callable,
    require_int,
    require_positive,
)
from filippov.solution import EVENT_KINDS, FilippovSolution, LinearDense
from filippov.systems import FilippovSystem

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

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

# ------------------------------------------------------------------------------ styles
# Paul Tol's "bright" and "vibrant" palettes: distinguishable with colour-vision
# deficiencies; every kind also differs by line style or marker shape.
_BLUE, _RED, _ORANGE, _PURPLE, _TEAL, _GREY = (
    "#4477AA",
    "#CC3311",
    "#EE7733",
    "#AA3377",
    "#009988",
    "#888888",
)

#: Line styles of switching-manifold pieces by kind.
MANIFOLD_STYLES: dict[str, dict[str, Any]] = {
    "crossing": {"color": _BLUE, "linestyle": "--", "linewidth": 1.6},
    "sliding": {"color": _RED, "linestyle": "-", "linewidth": 3.2, "alpha": 0.85},
    "repulsive": {"color": _ORANGE, "linestyle": ":", "linewidth": 3.2},
    "tangency": {"color": "black", "linestyle": "-.", "linewidth": 1.2},
}
_MANIFOLD_LABELS = {
    "crossing": "crossing manifold",
    "sliding": "sliding manifold (attractive)",
    "repulsive": "repulsive manifold (escaping)",
    "tangency": "tangential manifold",
}
_FOLD_STYLE: dict[str, Any] = {
    "marker": "D",
    "markersize": 7,
    "markerfacecolor": "white",
    "markeredgecolor": "black",
    "markeredgewidth": 1.4,
    "linestyle": "none",
}

#: Line styles of solution segments by segment kind ("stationary" segments have no length
#: and are shown by their event marker).
SEGMENT_STYLES: dict[str, dict[str, Any]] = {
    "regular": {"color": "#222222", "linestyle": "-", "linewidth": 1.5},
    "sliding": {"color": _PURPLE, "linestyle": "-", "linewidth": 2.6},
    "tie": {"color": _TEAL, "linestyle": "--", "linewidth": 2.6},
    "stationary": {"color": "#222222", "linestyle": "-", "linewidth": 1.5},
}
_SEGMENT_LABELS = {
    "regular": "solution: regular segment",
    "sliding": "solution: sliding segment",
    "tie": "solution: tie-facet segment",
    "stationary": "solution: at rest",
}

#: Marker styles of events by kind (see :data:`filippov.solution.EVENT_KINDS`).
EVENT_STYLES: dict[str, dict[str, Any]] = {
    "crossing": {"marker": "o", "markersize": 6, "markerfacecolor": "white"},
    "sliding-entry": {"marker": "s", "markersize": 7, "markerfacecolor": _PURPLE},
    "exit": {"marker": "^", "markersize": 8, "markerfacecolor": "white"},
    "repulsive": {"marker": "X", "markersize": 9, "markerfacecolor": _ORANGE},
    "tangency": {"marker": "D", "markersize": 6, "markerfacecolor": "#DDDDDD"},
    "stationary": {"marker": "*", "markersize": 14, "markerfacecolor": "#EECC66"},
    "tie-entry": {"marker": "P", "markersize": 9, "markerfacecolor": _TEAL},
    "tie-exit": {"marker": "v", "markersize": 8, "markerfacecolor": "white"},
    "accumulation": {"marker": "h", "markersize": 9, "markerfacecolor": "black"},
}
for _style in EVENT_STYLES.values():
    _style.update(markeredgecolor="black", markeredgewidth=1.1, linestyle="none")
del _style

# Discrete iterates and convergence curves: colour and line style / marker cycle together.
_RUN_COLORS = ("#0077BB", "#EE3377", "#009988", "#EE7733", "#33BBEE", "#BBBBBB", "#222222")
_RUN_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)), (0, (1, 3)))
_RUN_MARKERS = ("o", "s", "^", "v", "D", "P", "X")

# ------------------------------------------------------------------------------ helpers


def _axes(ax: Axes | None, projection: str | None = None) -> Axes:
    """Return ``ax`` or the axes of a new pyplot figure (so galleries can scrape it)."""
    if ax is not None:
        _check_ax(ax)
        return ax
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(6.4, 5.2) if projection is None else (6.4, 6.0))
    return fig.add_subplot(projection=projection)


def _check_ax(ax: Any) -> None:
    """Raise a ``TypeError`` unless ``ax`` is None or a matplotlib Axes."""
    if ax is None:
        return
    from matplotlib.axes import Axes as _Axes

    if not isinstance(ax, _Axes):
        raise TypeError(f"`ax` must be a matplotlib Axes or None. Got {type(ax).__name__} instead.")


def _flag(value: Any, name: str) -> bool:
    """Validate a boolean option (``True``/``False``, numpy bools included)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be True or False. Got {value!r} instead.")
    return bool(value)


def _choice(value: Any, name: str, options: Sequence[str]) -> str:
    """Validate one of a fixed set of strings."""
    if not isinstance(value, str) or value not in options:
        choices = ", ".join(repr(o) for o in options)
        raise ValueError(f"`{name}` must be one of {choices}. Got {value!r} instead.")
    return value


def _optional_text(value: Any, name: str) -> str | None:
    """Validate an optional string (a label or a title)."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string or None. Got {type(value).__name__} instead.")
    return value


def _text_list(value: Any, name: str) -> list[str] | None:
    """Validate an optional sequence of strings (legend labels)."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"`{name}` must be a sequence of strings. Got {value!r} instead.")
    items = list(value)
    if not all(isinstance(v, str) for v in items):
        raise TypeError(f"`{name}` must be a sequence of strings. Got {value!r} instead.")
    return items


def _indices(value: Any, name: str, n: int, length: int | None = None) -> tuple[int, ...]:
    """Validate a sequence of distinct component indices in ``[0, n)``."""
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"`{name}` must be a sequence of integers. Got {value!r} instead.")
    items = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
    out = tuple(require_int(v, name) for v in items)
    if not out:
        raise ValueError(f"`{name}` must name at least one component. Got {value!r} instead.")
    if length is not None and len(out) != length:
        raise ValueError(f"`{name}` must hold {length} indices. Got {value!r} instead.")
    if any(not 0 <= d < n for d in out) or len(set(out)) != len(out):
        raise ValueError(
            f"`{name}` must hold distinct indices in [0, {n}) (the state has {n} components). "
            f"Got {value!r} instead."
        )
    return out


def _halo(width: float) -> list[Any]:
    """A white outline so that a line stays visible on top of a manifold of equal colour."""
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width + 2.2, foreground="white"), patheffects.Normal()]


def _set_gid(artist: Any, gid: str, label: str | None) -> None:
    artist.set_gid(gid)
    artist.set_label(label if label is not None else "_nolegend_")


class _Labeller:
    """Give the legend label of a kind to its first artist only (no duplicate entries)."""

    def __init__(self, ax: Axes) -> None:
        self.seen = {h.get_label() for h in ax.get_legend_handles_labels()[0]}

    def __call__(self, label: str) -> str | None:
        if label in self.seen:
            return None
        self.seen.add(label)
        return label


def artists(ax: Axes, pattern: str = "*") -> list[Artist]:
    """The artists drawn by this module whose ``gid`` matches ``pattern`` (glob syntax).

    Parameters
    ----------
    ax : matplotlib Axes
        Axes drawn by one of the functions of this module.
    pattern : str, default "*"
        An :mod:`fnmatch` pattern, e.g. ``"manifold:sliding:*"``, ``"solution0:segment:*"``
        or ``"solution*:event:crossing"``.

    Returns
    -------
    list of Artist
        In drawing order.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import filippov as fp
    >>> from filippov import plot
    >>> from filippov.objectives import slope
    >>> system = fp.steepest_descent_flow(slope(0.5), norm="linf")
    >>> ax = plot.phase_portrait(system, (-4, 2), (-5, 1), field=False)
    >>> sorted({a.get_gid() for a in plot.artists(ax, "manifold:*")})
    ['manifold:sliding:0', 'manifold:sliding:1']
    """
    if ax is None:
        raise TypeError("`ax` must be a matplotlib Axes. Got NoneType instead.")
    _check_ax(ax)
    if not isinstance(pattern, str):
        raise TypeError(f"`pattern` must be a string. Got {type(pattern).__name__} instead.")
    found = []
    for a in ax.get_children():
        gid = a.get_gid()
        if isinstance(gid, str) and fnmatch.fnmatchcase(gid, pattern):
            found.append(a)
    return found


def _grid(
    xlim: tuple[float, float], ylim: tuple[float, float], resolution: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    xs = np.linspace(float(xlim[0]), float(xlim[1]), resolution)
    ys = np.linspace(float(ylim[0]), float(ylim[1]), resolution)
    X, Y = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([X.ravel(), Y.ravel()])


def _gradient_flow_objective(system: FilippovSystem, x: FloatArray) -> Any:
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


def _sample(system: FilippovSystem, P: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Switching functions ``h`` (N, m) and selector velocities (N, n) at the rows of ``P``.

    Vectorized for piecewise-affine systems and for steepest-descent flows of objectives
    with a batched gradient; a loop over :meth:`FilippovSystem.evaluate` otherwise.
    """
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


def _objective_values(obj: Any, P: FloatArray) -> FloatArray:
    quad = obj.quadratic_data
    if quad is not None:
        H, b, c = quad
        return 0.5 * np.einsum("ij,jk,ik->i", P, H, P) + P @ b + c
    return np.array([obj.f(p) for p in P])


# ------------------------------------------------------------------------------ manifolds


@dataclass(frozen=True)
class ManifoldPiece:
    """A connected piece of a switching manifold on which the surface kind is constant.

    Attributes
    ----------
    index : tuple of int
        ``(i,)`` for the manifold ``{h_i = 0}`` (ℓ1 relays); ``(i, j)`` for the tie
        surface ``{|h_i| = |h_j|}`` (ℓ∞ relays). 0-based.
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


class _Classifier:
    def __init__(self, system: FilippovSystem, index: tuple[int, ...]) -> None:
        self.system = system
        self.key: Any = index[0] if len(index) == 1 else index

    def __call__(self, p: FloatArray) -> tuple[str, float, float]:
        c = self.system.classify(p, self.key)
        return c.kind, c.a_plus, c.a_minus


def _split_path(
    classify: _Classifier, xy: FloatArray
) -> tuple[list[tuple[str, FloatArray]], list[FloatArray]]:
    """Cut a path into runs of constant kind; return the runs and the fold points.

    Where the kind changes between two samples the boundary is bisected; it is a fold
    when the one-sided normal velocities ``a±`` are continuous there and one of them
    vanishes (otherwise the path met another switching manifold, where ``a±`` jump).
    A sample classified ``"tangency"`` is a fold itself.
    """
    info = [classify(p) for p in xy]
    scale = max([max(abs(a), abs(b)) for _, a, b in info] + [1e-300])
    runs: list[tuple[str, FloatArray]] = []
    folds: list[FloatArray] = []

    def add_fold(point: FloatArray) -> None:
        if not folds or not np.allclose(folds[-1], point, rtol=0.0, atol=1e-12):
            folds.append(np.array(point, dtype=float))

    kind = info[0][0]
    if kind == "tangency":
        add_fold(xy[0])
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
        Grid points per axis for the contouring.

    Returns
    -------
    SwitchingSet

    Examples
    --------
    For the slope example with ``a = 2`` the valley ``x1 = 2 x2`` (``h_0 = 0``) is crossed,
    while ``h_1 = 0`` is a sliding manifold:

    >>> import filippov as fp
    >>> from filippov import plot
    >>> from filippov.objectives import slope
    >>> sw = plot.switching_set(fp.steepest_descent_flow(slope(2.0)), (-8, 2), (-5, 1))
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
    _require_planar(system, centre)
    if not _vectorized(system, centre):
        resolution = min(resolution, 101)  # one Python call per grid point
    xs, ys, P = _grid(xlim, ylim, resolution)
    Hv, _ = _sample(system, P)
    diag = float(np.hypot(xlim[1] - xlim[0], ylim[1] - ylim[0]))
    spacing = diag / 300.0
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
        for line in gen.lines(0.0):
            xy = _resample_path(np.asarray(line, dtype=float), spacing)
            if len(xy) < 2:
                continue
            runs, fold_pts = _split_path(classify, xy)
            pieces.extend(
                ManifoldPiece(index, k, pts)
                for k, pts in runs
                if _length(pts) > 1e-6 * diag  # junction points of two manifolds
            )
            folds.extend((index, p) for p in fold_pts)
    return SwitchingSet(tuple(pieces), tuple(folds))


def _length(xy: FloatArray) -> float:
    return float(np.sum(np.linalg.norm(np.diff(xy, axis=0), axis=1)))


def _require_planar(system: FilippovSystem, x: FloatArray) -> None:
    """Raise a ValueError unless the system has a 2-D state."""
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


def _index_text(index: tuple[int, ...]) -> str:
    return ",".join(str(i) for i in index)


# ------------------------------------------------------------------------------ trajectories


def _is_solution(obj: Any) -> bool:
    return hasattr(obj, "segments") and hasattr(obj, "events")


def _is_discrete(obj: Any) -> bool:
    x = getattr(obj, "x", None)
    return x is not None and not callable(x) and np.ndim(x) in (2, 3)


def _segment_points(seg: Any, samples: int) -> FloatArray:
    if isinstance(seg.dense, LinearDense) or seg.t1 == seg.t0:
        ts = np.array([seg.t0, seg.t1])
    else:
        ts = np.linspace(seg.t0, seg.t1, samples)
    return np.asarray(seg(ts), dtype=float)


def _plot_xy(ax: Axes, pts: FloatArray, dims: tuple[int, ...], **kw: Any) -> Any:
    cols = [pts[:, d] for d in dims]
    return ax.plot(*cols, **kw)[0]


def _default_dims(ax: Axes, n: int) -> tuple[int, ...]:
    want = 3 if getattr(ax, "name", "") == "3d" else 2
    if n < want:
        raise ValueError(
            f"A trajectory with n = {n} components cannot be drawn on {want}-D axes. "
            "Pass `dims` explicitly."
        )
    return tuple(range(want))


def trajectory(
    run: Any,
    *,
    ax: Axes | None = None,
    dims: Sequence[int] | None = None,
    label: str | None = None,
    samples: int = 80,
    events: bool = True,
    color: str | None = None,
    marker: str | None = None,
) -> Axes:
    """Draw one trajectory in state space (2-D axes, or 3-D axes for ``len(dims) == 3``).

    * A :class:`~filippov.solution.FilippovSolution` is drawn segment by segment in the
      style of its kind (:data:`SEGMENT_STYLES`), with its events marked by kind
      (:data:`EVENT_STYLES`). Gids: ``"solution{j}:segment:{k}:{kind}"`` and
      ``"solution{j}:event:{kind}"``, ``j`` numbering the solutions on the axes.
    * Discrete iterates (anything with an attribute ``x`` of shape ``(k, n)`` or
      ``(k, m, n)``, e.g. a :class:`~filippov.schemes.DiscreteTrajectory`) are drawn as
      markers joined by a thin line. Gid: ``"iterates{j}"``.
    * A plain array of shape ``(k, n)`` is drawn as a line. Gid: ``"path{j}"``.

    Parameters
    ----------
    run : FilippovSolution, DiscreteTrajectory or array_like
    ax : Axes, optional
        2-D axes, or 3-D axes (``projection="3d"``). A new figure when None.
    dims : sequence of int, optional
        The state components on the axes (default ``(0, 1)``, or ``(0, 1, 2)`` in 3-D):
        two (three on 3-D axes) distinct indices in ``[0, n)``.
    label : str, optional
        Legend label of discrete iterates or a path (default: the scheme's description).
    samples : int, default 80
        Points per curved segment (linear segments use their two ends).
    events : bool, default True
        Mark the events of a solution.
    color, marker : str, optional
        Colour and marker of discrete iterates (default: the next of a fixed cycle).

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import filippov as fp
    >>> from filippov import plot
    >>> from filippov.objectives import slope
    >>> sol = fp.solve(fp.steepest_descent_flow(slope(0.5)), [0.6, 0.1], (0.0, 4.0))
    >>> ax = plot.trajectory(sol)
    >>> [a.get_gid() for a in plot.artists(ax, "solution0:segment:*")]
    ['solution0:segment:0:regular', 'solution0:segment:1:sliding', 'solution0:segment:2:stationary']
    """
    samples = require_int(samples, "samples", 2)
    events = _flag(events, "events")
    label = _optional_text(label, "label")
    color = _optional_text(color, "color")
    marker = _optional_text(marker, "marker")
    _check_ax(ax)
    X: FloatArray | None = None
    if _is_solution(run):
        n = int(run.n if hasattr(run, "n") else np.asarray(run.x).shape[1])
    elif _is_discrete(run):
        X = np.asarray(run.x, dtype=float)
        n = int(X.shape[-1])
    else:
        X = _path_array(run)
        n = int(X.shape[1])
    want = 3 if getattr(ax, "name", "") == "3d" else 2
    dd = _indices(dims, "dims", n, want) if dims is not None else None
    ax = _axes(ax)
    dd = dd if dd is not None else _default_dims(ax, n)
    lab = _Labeller(ax)
    if _is_solution(run):
        _draw_solution(ax, run, dd, samples, events, lab)
    elif _is_discrete(run):
        assert X is not None
        _draw_iterates(ax, run, X, dd, label, color, marker, lab)
    else:
        assert X is not None
        j = len(artists(ax, "path*"))
        line = _plot_xy(ax, X, dd, color=color or "black", linewidth=1.2, zorder=4)
        _set_gid(line, f"path{j}", label)
    _label_state_axes(ax, dd)
    return ax


def _path_array(run: Any) -> FloatArray:
    """A plain path ``(k, n)`` of finite numbers, or a ``TypeError`` naming ``run``."""
    try:
        X = np.asarray(run, dtype=float)
    except (TypeError, ValueError):
        X = np.empty((0,))
    if X.ndim != 2 or X.shape[1] == 0:
        raise TypeError(
            "`run` must be a FilippovSolution, a discrete trajectory (with .x) or an array "
            f"of shape (k, n). Got {type(run).__name__} of shape {X.shape} instead."
        )
    if not np.all(np.isfinite(X)):
        raise ValueError("`run` must be finite. Got a path with NaN or inf instead.")
    return X


def _run_dimension(run: Any) -> int:
    """The state dimension of a run accepted by :func:`trajectory`."""
    if _is_solution(run):
        return int(run.n if hasattr(run, "n") else np.asarray(run.x).shape[1])
    if _is_discrete(run):
        return int(np.asarray(run.x).shape[-1])
    return int(_path_array(run).shape[1])


def _label_state_axes(ax: Axes, dims: tuple[int, ...]) -> None:
    names = ["set_xlabel", "set_ylabel", "set_zlabel"][: len(dims)]
    for name, d in zip(names, dims, strict=True):
        getattr(ax, name)(f"$x_{{{d + 1}}}$")


def _draw_solution(
    ax: Axes,
    sol: Any,
    dims: tuple[int, ...],
    samples: int,
    events: bool,
    lab: _Labeller,
) -> None:
    j = len(artists(ax, "solution*:start"))
    x_start = np.asarray(sol.x, dtype=float)[0]
    start = ax.plot(
        *[x_start[d : d + 1] for d in dims],
        marker="o",
        markersize=4,
        color="black",
        linestyle="none",
        zorder=6,
    )[0]
    _set_gid(start, f"solution{j}:start", lab("initial state"))
    for k, seg in enumerate(sol.segments):
        kind = seg.kind if seg.kind in SEGMENT_STYLES else "regular"
        pts = _segment_points(seg, samples)
        style = SEGMENT_STYLES[kind]
        line = _plot_xy(
            ax,
            pts,
            dims,
            **style,
            zorder=5,
            solid_capstyle="round",
            path_effects=_halo(style["linewidth"]),
        )
        label = lab(_SEGMENT_LABELS[kind]) if kind != "stationary" else None
        _set_gid(line, f"solution{j}:segment:{k}:{seg.kind}", label)
    if not events:
        return
    by_kind: dict[str, list[FloatArray]] = {}
    for ev in sol.events:
        by_kind.setdefault(ev.kind, []).append(np.asarray(ev.x, dtype=float))
    for kind in EVENT_KINDS:
        if kind not in by_kind:
            continue
        pts = np.asarray(by_kind[kind])
        mk = _plot_xy(ax, pts, dims, **EVENT_STYLES[kind], zorder=7)
        _set_gid(mk, f"solution{j}:event:{kind}", lab(f"event: {kind}"))


def _run_label(run: Any, default: str) -> str:
    meta = getattr(run, "metadata", None)
    if isinstance(meta, Mapping) and meta.get("scheme"):
        return str(meta["scheme"])
    return default


def _draw_iterates(
    ax: Axes,
    run: Any,
    X: FloatArray,
    dims: tuple[int, ...],
    label: str | None,
    color: str | None,
    marker: str | None,
    lab: _Labeller,
) -> None:
    j = len(artists(ax, "iterates*"))
    color = color or _RUN_COLORS[j % len(_RUN_COLORS)]
    marker = marker or _RUN_MARKERS[j % len(_RUN_MARKERS)]
    paths = [X] if X.ndim == 2 else [X[:, b, :] for b in range(X.shape[1])]
    text = label if label is not None else _run_label(run, f"iterates {j}")
    for b, pts in enumerate(paths):
        line = _plot_xy(
            ax,
            pts,
            dims,
            color=color,
            marker=marker,
            markersize=3.2,
            linewidth=0.8,
            alpha=0.9,
            zorder=4.5,  # under the Filippov solutions, over the manifolds
            markeredgewidth=0.0,
        )
        _set_gid(
            line, f"iterates{j}" if b == 0 else f"iterates{j}:{b}", lab(text) if b == 0 else None
        )


# ------------------------------------------------------------------------------ portrait


def phase_portrait(
    system: FilippovSystem,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    *,
    ax: Axes | None = None,
    trajectories: Iterable[Any] | Mapping[str, Any] = (),
    field: bool = True,
    density: float = 1.0,
    classify: bool = True,
    objective_contours: bool = True,
    n_contours: int = 12,
    resolution: int = 201,
    field_resolution: int = 60,
    minimizer: bool = True,
    legend: bool | str = True,
    title: str | None = None,
) -> Axes:
    r"""Phase portrait of a planar Filippov system.

    Draws, from back to front: contours of the objective (steepest-descent flows), the
    vertex-selector field ``f0 − B s``, ``s ∈ ∂φ(h)`` (e.g. ``−sign(∇f)``) as a
    streamplot, the switching manifolds cut into pieces styled by kind (crossing,
    attractive sliding, repulsive sliding; folds marked), and the trajectories.

    Parameters
    ----------
    system : FilippovSystem
        A system with a 2-D state.
    xlim, ylim : (float, float)
        The window.
    ax : Axes, optional
        Where to draw (a new figure when None).
    trajectories : iterable or mapping
        :class:`~filippov.solution.FilippovSolution` objects (segments styled by mode,
        events marked by kind), discrete trajectories (anything with ``.x`` of shape
        ``(k, 2)`` or ``(k, m, 2)``) or arrays ``(k, 2)``; a mapping gives legend labels
        to discrete runs.
    field : bool, default True
        Draw the selector field as a streamplot (gid ``"field"``).
    density : float, default 1.0
        Streamplot density.
    classify : bool, default True
        Trace and classify the switching manifolds (gids ``"manifold:{kind}:{i}"``, with
        ``i`` the switching function or ``"i,j"`` for an ℓ∞ tie surface; folds
        ``"fold:{i}"``). See :func:`switching_set`.
    objective_contours : bool, default True
        Contours of ``system.objective`` when there is one (gid ``"objective"``).
    n_contours : int, default 12
        Number of objective contour levels.
    resolution : int, default 201
        Grid points per axis for the manifolds and the contours.
    field_resolution : int, default 60
        Grid points per axis for the streamplot.
    minimizer : bool, default True
        Mark ``system.objective.minimizer`` when known (gid ``"minimizer"``).
    legend : bool or str, default True
        Add a legend of the styles used (``"outside"`` puts it right of the axes).
    title : str, optional
        Axes title (default: ``system.name``).

    Returns
    -------
    Axes

    Raises
    ------
    TypeError, ValueError
        Naming the argument: e.g. a window beyond ``±1e100`` or narrower than ``1e-9``
        times its magnitude (refused rather than drawn wrong), a run in ``trajectories``
        whose state is not 2-D (draw it with :func:`trajectory` and explicit ``dims``).

    Notes
    -----
    On a sliding manifold the streamlines of the selector zig-zag: the selector is not the
    sliding velocity. The Filippov solution, drawn on top, slides with the consistent
    velocity of :meth:`FilippovSystem.consistent_velocity`.

    Examples
    --------
    The slope example with ``a = 0.5``: the sign flow reaches the valley ``x1 = x2/2`` and
    slides down it to the minimizer.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import filippov as fp
    >>> from filippov import plot
    >>> from filippov.objectives import slope
    >>> system = fp.steepest_descent_flow(slope(0.5), norm="linf")
    >>> sol = fp.solve(system, [0.6, 0.1], (0.0, 4.0))
    >>> ax = plot.phase_portrait(system, (-4, 2), (-5, 1), trajectories=[sol])
    >>> len(plot.artists(ax, "solution0:segment:*")), len(plot.artists(ax, "manifold:sliding:0"))
    (3, 1)
    """
    if not isinstance(system, FilippovSystem):
        raise TypeError(f"`system` must be a FilippovSystem. Got {type(system).__name__} instead.")
    xlim = as_limits(xlim, "xlim")
    ylim = as_limits(ylim, "ylim")
    field = _flag(field, "field")
    density = require_positive(density, "density")
    classify = _flag(classify, "classify")
    objective_contours = _flag(objective_contours, "objective_contours")
    n_contours = require_int(n_contours, "n_contours", 1)
    resolution = require_int(resolution, "resolution", 3)
    field_resolution = require_int(field_resolution, "field_resolution", 2)
    minimizer = _flag(minimizer, "minimizer")
    if not (isinstance(legend, bool | np.bool_) or legend == "outside"):
        raise ValueError(f"`legend` must be True, False or 'outside'. Got {legend!r} instead.")
    title = _optional_text(title, "title")
    items: list[tuple[str | None, Any]]
    if _is_solution(trajectories) or _is_discrete(trajectories):
        raise TypeError(
            "`trajectories` must be a list (or mapping) of runs. Got a single "
            f"{type(trajectories).__name__} instead: wrap it in a list."
        )
    if isinstance(trajectories, Mapping):
        items = list(trajectories.items())
    elif isinstance(trajectories, Iterable) and not isinstance(trajectories, str | bytes):
        items = [(None, t) for t in trajectories]
    else:
        raise TypeError(
            "`trajectories` must be an iterable or a mapping of runs. "
            f"Got {type(trajectories).__name__} instead."
        )
    for k, (label, run) in enumerate(items):
        if label is not None and not isinstance(label, str):
            raise TypeError(
                f"`trajectories` must map labels (strings) to runs. Got the key {label!r} instead."
            )
        n_run = _run_dimension(run)
        if n_run != 2:
            raise ValueError(
                f"`trajectories` must hold runs with a 2-D state for a planar portrait. "
                f"Got a run with n = {n_run} at position {k} instead (draw it with "
                "plot.trajectory(run, ax=ax, dims=...) to choose the components)."
            )
    centre = np.array([0.5 * (xlim[0] + xlim[1]), 0.5 * (ylim[0] + ylim[1])])
    _require_planar(system, centre)
    ax = _axes(ax)
    lab = _Labeller(ax)

    obj = system.objective
    if objective_contours and obj is not None:
        xs, ys, P = _grid(xlim, ylim, min(resolution, 121))
        F = _objective_values(obj, P).reshape(len(ys), len(xs))
        lo = float(np.min(F))
        levels = (
            lo + (float(np.quantile(F, 0.97)) - lo) * np.linspace(0.0, 1.0, n_contours + 1)[1:] ** 2
        )
        cs = ax.contour(
            xs,
            ys,
            F,
            levels=levels,
            colors="#BBBBBB",
            linewidths=0.7,
            negative_linestyles="solid",
            zorder=0,
        )
        _set_gid(cs, "objective", None)

    if field:
        xs, ys, P = _grid(xlim, ylim, field_resolution)
        _, V = _sample(system, P)
        U = V[:, 0].reshape(len(ys), len(xs))
        W = V[:, 1].reshape(len(ys), len(xs))
        stream = ax.streamplot(
            xs,
            ys,
            U,
            W,
            density=density,
            color="#A0A0A0",
            linewidth=0.7,
            arrowsize=0.8,
            zorder=1,
            broken_streamlines=True,
        )
        _set_gid(stream.lines, "field", lab("vector field (vertex selector)"))
        stream.arrows.set_gid("field:arrows")

    if classify and system.norm.name in ("l1", "linf"):
        sw = switching_set(system, xlim, ylim, resolution=resolution)
        for piece in sw.pieces:
            line = ax.plot(
                piece.xy[:, 0],
                piece.xy[:, 1],
                **MANIFOLD_STYLES[piece.kind],
                zorder=3,
                solid_capstyle="butt",
            )[0]
            _set_gid(
                line,
                f"manifold:{piece.kind}:{_index_text(piece.index)}",
                lab(_MANIFOLD_LABELS[piece.kind]),
            )
        for index, point in sw.folds:
            mk = ax.plot([point[0]], [point[1]], **_FOLD_STYLE, zorder=4)[0]
            _set_gid(mk, f"fold:{_index_text(index)}", lab("fold (tangency) point"))

    if minimizer and obj is not None and getattr(obj, "minimizer", None) is not None:
        xstar = np.asarray(obj.minimizer, dtype=float)
        mk = ax.plot(
            [xstar[0]],
            [xstar[1]],
            marker="+",
            markersize=12,
            markeredgewidth=2.0,
            color="black",
            linestyle="none",
            zorder=8,
        )[0]
        _set_gid(mk, "minimizer", lab("minimizer $x^\\star$"))

    for label, run in items:
        trajectory(run, ax=ax, dims=(0, 1), label=label)

    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(system.name if title is None else title)
    if legend:
        _legend(ax, outside=legend == "outside")
    return ax


def _legend(ax: Axes, *, outside: bool = False) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    if outside:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    else:
        ax.legend(handles, labels, loc="best", fontsize="x-small", framealpha=0.92)


# ------------------------------------------------------------------------------ Filippov set


def _convex_polygon(points: FloatArray) -> FloatArray:
    """Vertices of the convex hull of planar points, counter-clockwise (monotone chain)."""
    pts = np.unique(np.round(points, 14), axis=0)
    if len(pts) <= 2:
        return pts
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    pts = pts[order]

    def cross(o: FloatArray, a: FloatArray, b: FloatArray) -> float:
        return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))

    lower: list[FloatArray] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[FloatArray] = []
    for p in pts[::-1]:
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.asarray(lower[:-1] + upper[:-1])


def _draw_set(ax: Axes, verts: FloatArray, gid: str, label: str | None, **style: Any) -> Any:
    from matplotlib.patches import Polygon

    hull = _convex_polygon(verts)
    if len(hull) >= 3:
        patch = Polygon(hull, closed=True, **style)
        ax.add_patch(patch)
        _set_gid(patch, gid, label)
        return patch
    if len(hull) == 2:
        line = ax.plot(
            hull[:, 0],
            hull[:, 1],
            color=style.get("edgecolor", "black"),
            linewidth=6.0 if style.get("fill", True) else 1.6,
            linestyle=style.get("linestyle", "-"),
            alpha=0.5 if style.get("fill", True) else 1.0,
            solid_capstyle="round",
        )[0]
        _set_gid(line, gid, label)
        return line
    mk = ax.plot(
        hull[:, 0],
        hull[:, 1],
        marker="o",
        markersize=10,
        color=style.get("edgecolor", "black"),
        linestyle="none",
    )[0]
    _set_gid(mk, gid, label)
    return mk


def _arrow(ax: Axes, v: FloatArray, gid: str, label: str | None, **style: Any) -> Any:
    """An arrow from the origin to ``v``; its legend entry is a line proxy of its style."""
    from matplotlib.patches import FancyArrowPatch

    arrow = FancyArrowPatch((0.0, 0.0), (float(v[0]), float(v[1])), **style)
    ax.add_patch(arrow)
    _set_gid(arrow, gid, None)
    if label is not None:
        proxy = ax.plot(
            [],
            [],
            color=style.get("color", "black"),
            linestyle=style.get("linestyle", "-"),
            linewidth=style.get("linewidth", 1.5),
            marker=">",
            markevery=[-1],
        )[0]
        _set_gid(proxy, f"legend:{gid.split(':')[0]}", label)
    return arrow


_NORM_TEX = {"l1": "$\\ell_1$", "linf": "$\\ell_\\infty$", "l2": "$\\ell_2$"}


def _unit_ball(name: str) -> FloatArray:
    if name == "l1":
        return np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    if name == "linf":
        return np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
    th = np.linspace(0.0, 2.0 * np.pi, 181)[:-1]
    return np.column_stack([np.cos(th), np.sin(th)])


def filippov_set(
    system: FilippovSystem,
    x: ArrayLike,
    *,
    ax: Axes | None = None,
    unit_ball: bool = True,
    tangents: bool = True,
    legend: bool = True,
    title: str | None = None,
) -> Axes:
    r"""The Filippov set at a point of a planar system, in velocity coordinates.

    Shows (seed paper 2, Figure 2):

    * the **Filippov set** :meth:`FilippovSystem.filippov_set` — a point, a segment or a
      polygon (gid ``"filippov-set"``);
    * the **one-sided fields**: its vertices ``f0 − B v``, the limits of the field from the
      regions that meet at ``x`` (gids ``"one-sided:{k}"``);
    * the hull of *all* vertices of the relay face when it is larger (ℓ∞ ties where an
      index is active only at the point itself, Lemma 4.2; gid ``"velocity-hull"``);
    * the **sliding velocity** :meth:`FilippovSystem.consistent_velocity` (gid
      ``"sliding-velocity"``) and, for each switching function it keeps at zero, the
      tangent line ``{v : ∇s · v = 0}`` of that manifold through the origin (gids
      ``"tangent:{i}"``): the sliding velocity is where the set meets these lines;
    * for steepest-descent flows (``f0 = 0``, ``B = I``) the unit ball of the constraint
      norm, of which the Filippov set is a face (gid ``"unit-ball"``).

    Parameters
    ----------
    system : FilippovSystem
        A system with a 2-D state.
    x : array_like, shape (2,)
        The state.
    ax : Axes, optional
        Where to draw (a new figure when None).
    unit_ball : bool, default True
        Draw the constraint norm's unit ball for steepest-descent flows.
    tangents : bool, default True
        Draw the tangent lines of the manifolds the sliding velocity keeps.
    legend : bool, default True
    title : str, optional

    Returns
    -------
    Axes

    Examples
    --------
    On the tie facet ``|∂1 f| = |∂2 f|`` of the greedy (ℓ1-constrained) flow the Filippov
    set is the segment between ``−e1`` and ``−e2``:

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov import plot
    >>> obj = fp.Objective.quadratic(np.diag([1.0, 2.0]))
    >>> ax = plot.filippov_set(fp.steepest_descent_flow(obj, "l1"), [1.0, 0.5])
    >>> plot.artists(ax, "filippov-set")[0].get_xydata().tolist()
    [[-1.0, 0.0], [0.0, -1.0]]
    """
    if not isinstance(system, FilippovSystem):
        raise TypeError(f"`system` must be a FilippovSystem. Got {type(system).__name__} instead.")
    xv = as_vector(x, "x")
    if xv.shape != (2,):
        raise ValueError(f"`x` must be a 2-D state. Got shape {xv.shape} instead.")
    unit_ball = _flag(unit_ball, "unit_ball")
    tangents = _flag(tangents, "tangents")
    legend = _flag(legend, "legend")
    title = _optional_text(title, "title")
    _require_planar(system, xv)
    ax = _axes(ax)
    lab = _Labeller(ax)
    fset = system.filippov_set(xv)
    vset = system.velocity_set(xv)
    cv = system.consistent_velocity(xv)
    points = [np.zeros((1, 2)), fset.vertices, vset.vertices, cv.velocity[None, :]]

    f0, B, _ = system.evaluate(xv)
    gradient_flow = not np.any(f0) and np.array_equal(B, np.eye(2))
    if unit_ball and gradient_flow:
        ball = _unit_ball(system.norm.dual.name)
        _draw_set(
            ax,
            ball,
            "unit-ball",
            lab(f"unit ball ({_NORM_TEX[system.norm.dual.name]})"),
            fill=False,
            edgecolor=_GREY,
            linestyle=":",
            linewidth=1.2,
        )
        points.append(ball)

    if len(_convex_polygon(vset.vertices)) > len(_convex_polygon(fset.vertices)):
        _draw_set(
            ax,
            vset.vertices,
            "velocity-hull",
            lab("hull of face vertices"),
            fill=False,
            edgecolor="black",
            linestyle="--",
            linewidth=1.2,
        )
    _draw_set(
        ax,
        fset.vertices,
        "filippov-set",
        lab("Filippov set $F(x)$"),
        facecolor="#BBCCEE",
        edgecolor=_BLUE,
        linewidth=1.5,
        alpha=0.9,
    )
    many = len(fset.vertices) > 8  # a sampled ball: every boundary point is a limit
    for k, v in enumerate([] if many else fset.vertices):
        _arrow(
            ax,
            v,
            f"one-sided:{k}",
            lab("one-sided fields"),
            arrowstyle="-|>",
            mutation_scale=14,
            color=_BLUE,
            linewidth=1.4,
            linestyle="--",
            zorder=4,
        )

    J = system.jacobian(xv)
    if tangents and cv.free:
        extent = 1.3 * max(1.0, float(np.max(np.abs(np.vstack(points)))))
        normals: list[tuple[str, FloatArray]] = []
        if system.norm.name == "l1":
            normals = [(str(i), J[i]) for i in cv.free]
        elif system.norm.name == "linf" and len(cv.free) >= 2:
            s = np.sign(cv.lam)
            i0 = cv.free[0]
            normals = [(f"{i0},{i}", s[i0] * J[i0] - s[i] * J[i]) for i in cv.free[1:]]
        for text, nvec in normals:
            if not np.any(nvec):
                continue
            tvec = np.array([-nvec[1], nvec[0]]) / np.linalg.norm(nvec)
            seg = np.vstack([-extent * tvec, extent * tvec])
            line = ax.plot(
                seg[:, 0], seg[:, 1], color=_RED, linestyle="-.", linewidth=1.0, zorder=2
            )[0]
            _set_gid(line, f"tangent:{text}", lab("manifold tangent"))

    if np.linalg.norm(cv.velocity) > 1e-12 * max(1.0, float(np.max(np.abs(fset.vertices)))):
        _arrow(
            ax,
            cv.velocity,
            "sliding-velocity",
            lab("sliding velocity" if cv.free else "velocity"),
            arrowstyle="-|>",
            mutation_scale=20,
            color=_PURPLE,
            linewidth=2.6,
            zorder=6,
        )
    else:
        rest = ax.plot([0.0], [0.0], **{**EVENT_STYLES["stationary"], "markersize": 16}, zorder=6)[
            0
        ]
        _set_gid(rest, "sliding-velocity", lab("velocity 0 (at rest)"))
    origin = ax.plot([0.0], [0.0], marker="o", color="black", markersize=4, linestyle="none")[0]
    _set_gid(origin, "origin", None)

    allpts = np.vstack(points)
    lo, hi = allpts.min(axis=0), allpts.max(axis=0)
    half = 0.5 * 1.3 * max(float(np.max(hi - lo)), 1e-9)
    mid = 0.5 * (lo + hi)
    ax.set_xlim(mid[0] - half, mid[0] + half)
    # headroom for the legend, so that it never hides the set
    ax.set_ylim(mid[1] - half, mid[1] + half * (1.65 if legend else 1.0))
    ax.set_aspect("equal", adjustable="box")
    ax.axhline(0.0, color="#DDDDDD", linewidth=0.6, zorder=0)
    ax.axvline(0.0, color="#DDDDDD", linewidth=0.6, zorder=0)
    ax.set_xlabel("velocity $\\dot x_1$")
    ax.set_ylabel("velocity $\\dot x_2$")
    if title is None:
        title = f"Filippov set at $x = ({xv[0]:.3g}, {xv[1]:.3g})$"
    ax.set_title(title)
    if legend:
        ax.legend(loc="upper center", ncol=2, fontsize="x-small", framealpha=0.92)
    return ax


# ------------------------------------------------------------------------------ time series


def time_series(
    sol: FilippovSolution,
    *,
    ax: Axes | None = None,
    components: Sequence[int] | None = None,
    fun: Callable[[FloatArray], ArrayLike] | None = None,
    name: str = "x",
    labels: Sequence[str] | None = None,
    samples: int = 400,
    events: bool = True,
    mark: str = "all",
    legend: bool = True,
) -> Axes:
    """Components of a Filippov solution against time, with its events marked by kind.

    Parameters
    ----------
    sol : FilippovSolution
    ax : Axes, optional
    components : sequence of int, optional
        The components to draw (default: all, at most 6).
    fun : callable, optional
        Draw ``fun(x(t))`` instead of the state: a map from states ``(k, n)`` to values
        ``(k, p)``, e.g. ``system_objective.grad_batch`` to watch the switching functions
        ``h = ∇f`` of a sign flow reach zero and stay there on sliding segments.
    name : str, default "x"
        Symbol used in the legend (``"$x_1(t)$"``, or e.g. ``"h"`` with ``fun``).
    labels : sequence of str, optional
        Legend labels of the drawn components instead (e.g. ``["position", "velocity"]``).
    samples : int, default 400
        Sample times (the breakpoints are always included).
    events : bool, default True
        Mark the events (gids ``"event:{kind}"``).
    mark : {"all", "indices"}
        Mark each event on every drawn component, or only on the components listed in
        its ``indices`` (meaningful when ``fun`` returns the switching functions).
    legend : bool, default True

    Returns
    -------
    Axes
        Curves have gids ``"component:{i}"``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import filippov as fp
    >>> from filippov import plot
    >>> sol = fp.solve(fp.twisting_system(), [1.0, 0.0], (0.0, 6.0))
    >>> ax = plot.time_series(sol)
    >>> [a.get_gid() for a in plot.artists(ax, "component:*")]
    ['component:0', 'component:1']
    """
    if not _is_solution(sol):
        raise TypeError(f"`sol` must be a FilippovSolution. Got {type(sol).__name__} instead.")
    mark = _choice(mark, "mark", ("all", "indices"))
    if fun is not None:
        require_callable(fun, "fun", "a callable (k, n) -> (k, p) or None")
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string. Got {type(name).__name__} instead.")
    labels = _text_list(labels, "labels")
    samples = require_int(samples, "samples", 2)
    events = _flag(events, "events")
    legend = _flag(legend, "legend")
    _check_ax(ax)
    t0, t1 = float(sol.t[0]), float(sol.t[-1])
    ts = np.union1d(np.linspace(t0, t1, samples), np.asarray(sol.t, dtype=float))

    def values(X: FloatArray) -> FloatArray:
        if fun is None:
            return X
        out = np.asarray(fun(X), dtype=float)
        return out.reshape(len(X), -1)

    Y = values(np.asarray(sol(ts), dtype=float))
    comps = (
        list(range(min(Y.shape[1], 6)))
        if components is None
        else list(_indices(components, "components", Y.shape[1]))
    )
    if labels is not None and len(labels) != len(comps):
        raise ValueError(
            f"`labels` must have one entry per component ({len(comps)}). Got {len(labels)} instead."
        )
    ax = _axes(ax)
    lab = _Labeller(ax)
    for j, c in enumerate(comps):
        color = _RUN_COLORS[c % len(_RUN_COLORS)]
        line = ax.plot(
            ts, Y[:, c], color=color, linestyle=_RUN_LINESTYLES[c % len(_RUN_LINESTYLES)]
        )[0]
        text = labels[j] if labels is not None else f"${name}_{{{c + 1}}}(t)$"
        _set_gid(line, f"component:{c}", text)
    if events and sol.events:
        ev_t = np.array([ev.t for ev in sol.events])
        ev_y = values(np.array([ev.x for ev in sol.events]))
        for kind in EVENT_KINDS:
            rows = [k for k, ev in enumerate(sol.events) if ev.kind == kind]
            if not rows:
                continue
            pts = np.array(
                [
                    (ev_t[k], ev_y[k, c])
                    for k in rows
                    for c in comps
                    if mark == "all" or c in sol.events[k].indices
                ]
            ).reshape(-1, 2)
            style = dict(EVENT_STYLES[kind])
            style["markersize"] = 0.7 * style["markersize"]
            mk = ax.plot(pts[:, 0], pts[:, 1], **style, zorder=5)[0]
            _set_gid(mk, f"event:{kind}", lab(f"event: {kind}"))
    ax.set_xlabel("time $t$")
    ax.set_ylabel("state" if fun is None else f"${name}(x(t))$")
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.92)
    return ax


# ------------------------------------------------------------------------------ convergence


def _runs(runs: Any, labels: Sequence[str] | None) -> list[tuple[str, Any]]:
    if isinstance(runs, Mapping):
        items = [(str(k), v) for k, v in runs.items()]
    elif (
        _is_solution(runs)
        or _is_discrete(runs)
        or (isinstance(runs, np.ndarray) and runs.ndim == 1)
    ):
        items = [("", runs)]
    elif isinstance(runs, Sequence) and runs and all(np.isscalar(v) for v in runs):
        items = [("", np.asarray(runs, dtype=float))]
    elif isinstance(runs, Iterable) and not isinstance(runs, str | bytes):
        items = [("", r) for r in runs]
    else:
        raise TypeError(
            f"`runs` must be a run, a sequence of runs or a mapping label -> run. "
            f"Got {type(runs).__name__} instead."
        )
    if not items:
        raise ValueError(f"`runs` must hold at least one run. Got {runs!r} instead.")
    if labels is not None:
        labels = _text_list(labels, "labels")
        assert labels is not None
        if len(labels) != len(items):
            raise ValueError(
                f"`labels` must have one entry per run ({len(items)}). Got {len(labels)} instead."
            )
        items = [(lab, r) for lab, (_, r) in zip(labels, items, strict=True)]
    out = []
    for k, (lab, r) in enumerate(items):
        if not lab:
            lab = _run_label(r, "Filippov solution" if _is_solution(r) else f"run {k}")
        out.append((lab, r))
    return out


def _metric_series(
    run: Any,
    metric: str,
    against: str,
    objective: Any,
    x_star: FloatArray | None,
    samples: int,
) -> tuple[FloatArray, FloatArray]:
    """(abscissa, f values or squared distances) of one run, before subtracting f*."""
    if _is_solution(run):
        if against != "time":
            raise ValueError(
                "A FilippovSolution has no iterations: use `against='time'`. "
                f"Got against={against!r} instead."
            )
        t0, t1 = float(run.t[0]), float(run.t[-1])
        ts = np.union1d(np.linspace(t0, t1, samples), np.asarray(run.t, dtype=float))
        X = np.asarray(run(ts), dtype=float)
        abscissa = ts
    elif _is_discrete(run):
        X = np.asarray(run.x, dtype=float)
        if X.ndim == 3:
            raise ValueError("Batched trajectories are not supported; pass one run at a time.")
        diag = getattr(run, "diagnostics", {}) or {}
        if metric == "gap" and "f" in diag:
            f = np.asarray(diag["f"], dtype=float)
            if against == "time":
                return np.asarray(diag.get("t", run.t), dtype=float), f
            return np.arange(len(f), dtype=float), f
        abscissa = (
            np.asarray(run.t, dtype=float)
            if against == "time"
            else np.asarray(getattr(run, "k", np.arange(len(X))), dtype=float)
        )
    else:
        vals = np.asarray(run, dtype=float).ravel()
        return np.arange(len(vals), dtype=float), vals
    if metric == "gap":
        if objective is None:
            raise ValueError("`objective` is needed to evaluate f along this run. Got None.")
        return abscissa, np.array([objective.f(p) for p in X])
    if x_star is None:
        raise ValueError("`x_star` (or an objective with a known minimizer) is needed. Got None.")
    if x_star.shape != X.shape[1:]:
        raise ValueError(
            f"`x_star` must have length {X.shape[1]} (the runs' state). "
            f"Got length {x_star.size} instead."
        )
    return abscissa, np.sum((X - x_star) ** 2, axis=1)


def convergence(
    runs: Any,
    *,
    ax: Axes | None = None,
    metric: str = "gap",
    against: str = "iteration",
    objective: Any = None,
    f_star: float | None = None,
    x_star: ArrayLike | None = None,
    labels: Sequence[str] | None = None,
    samples: int = 400,
    legend: bool = True,
) -> Axes:
    r"""Convergence curves: ``f(x) − f*`` or ``‖x − x*‖²`` on a log scale.

    Parameters
    ----------
    runs : run, sequence of runs or mapping label -> run
        Each run is a discrete trajectory (``.x``, ``.t`` and optionally
        ``.diagnostics["f"]``), a :class:`~filippov.solution.FilippovSolution` (sampled
        in time; needs ``against="time"``) or a 1-D array of values that are already the
        metric (drawn against their index).
    ax : Axes, optional
    metric : {"gap", "dist"}
        ``"gap"``: ``f(x) − f*``; ``"dist"``: ``‖x − x*‖²``.
    against : {"iteration", "time"}
        Iteration count ``k``, or flow time ``t_k = Σ_{j<k} η_j``.
    objective : Objective, optional
        To evaluate ``f`` where a run does not carry it, and for ``f*``/``x*``.
    f_star : float, optional
        Optimal value; default ``objective.f(objective.minimizer)`` when known, else the
        smallest value over all runs (the best run then ends at zero and is cut there).
    x_star : array_like, optional
        Minimizer for ``metric="dist"`` (default ``objective.minimizer``).
    labels : sequence of str, optional
        Legend labels (default: the scheme description of each run).
    samples : int, default 400
        Sample times for Filippov solutions.
    legend : bool, default True

    Returns
    -------
    Axes
        Non-positive values (a run that reached ``f*`` exactly) are not drawn. Each curve
        has gid ``"run:{label}"``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from filippov import plot, schemes
    >>> from filippov.objectives import separable_quadratic
    >>> obj = separable_quadratic([1.0, 4.0], [1.0, -1.0])
    >>> runs = {"SignGD": schemes.SignGD(step="adaptive").run(obj, [0.0, 0.0], n_steps=30)}
    >>> ax = plot.convergence(runs, objective=obj)
    >>> plot.artists(ax, "run:*")[0].get_gid()
    'run:SignGD'
    """
    metric = _choice(metric, "metric", ("gap", "dist"))
    against = _choice(against, "against", ("iteration", "time"))
    if objective is not None and not callable(getattr(objective, "f", None)):
        raise TypeError(
            f"`objective` must be a filippov Objective or None. Got {type(objective).__name__} "
            "instead."
        )
    if f_star is not None:
        f_star = as_real(f_star, "f_star")
    samples = require_int(samples, "samples", 2)
    legend = _flag(legend, "legend")
    _check_ax(ax)
    items = _runs(runs, labels)
    xs_opt = getattr(objective, "minimizer", None) if objective is not None else None
    xstar = (
        as_vector(x_star, "x_star", getattr(objective, "n", None))
        if x_star is not None
        else (None if xs_opt is None else np.asarray(xs_opt, dtype=float))
    )
    ax = _axes(ax)
    series = [
        (lab, *_metric_series(r, metric, against, objective, xstar, samples)) for lab, r in items
    ]
    fstar_text = "f^\\star"
    if metric == "gap":
        if f_star is None and xstar is not None and objective is not None:
            f_star = float(objective.f(xstar))
        if f_star is None:
            f_star = float(min(np.nanmin(v) for _, _, v in series))
            fstar_text = "\\min f"
    for k, (lab, a, v) in enumerate(series):
        y = v - float(f_star) if metric == "gap" else v  # type: ignore[arg-type]
        y = np.where(y > 0, y, np.nan)
        line = ax.plot(
            a,
            y,
            color=_RUN_COLORS[k % len(_RUN_COLORS)],
            linestyle=_RUN_LINESTYLES[k % len(_RUN_LINESTYLES)],
            linewidth=1.6,
        )[0]
        line.set_gid(f"run:{lab}")
        line.set_label(lab)
    ax.set_yscale("log")
    ax.set_xlabel(
        "iteration $k$" if against == "iteration" else "flow time $t_k = \\sum_{j<k} \\eta_j$"
    )
    ax.set_ylabel(f"$f(x_k) - {fstar_text}$" if metric == "gap" else "$\\|x_k - x^\\star\\|_2^2$")
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.92)
    return ax


def _study_field(study: Any, names: Sequence[str]) -> Any:
    for name in names:
        if isinstance(study, Mapping) and name in study:
            return study[name]
        if hasattr(study, name):
            return getattr(study, name)
    return None


def error_vs_step(
    study: Any = None,
    *,
    ax: Axes | None = None,
    steps: ArrayLike | None = None,
    errors: ArrayLike | None = None,
    order: float | None = None,
    which: str = "sup",
    label: str | None = None,
    fit: bool = True,
    legend: bool = True,
) -> Axes:
    r"""Error against step size on log-log axes, with the fitted order in the legend.

    Parameters
    ----------
    study : ConvergenceStudy, mapping or sequence of them, optional
        Anything with step sizes (attribute or key ``steps``) and errors: ``sup_errors``
        and ``order`` (``which="sup"``) or ``final_errors`` and ``final_order``
        (``which="final"``), as in :class:`filippov.compare.ConvergenceStudy`, or plain
        ``errors`` and ``order``. A mapping label -> study or a sequence of studies draws
        one curve each.
    ax : Axes, optional
    steps, errors : array_like, optional
        Given directly instead of ``study``.
    order : float, optional
        The fitted order (default: the study's, else a least-squares fit of
        ``log e = p log η + c``).
    which : {"sup", "final"}
        Which errors of a study to draw.
    label : str, optional
    fit : bool, default True
        Draw the fitted line ``C η^p`` (gid ``"fit:{label}"``; points: ``"errors:{label}"``).
    legend : bool, default True

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from filippov import plot
    >>> eta = np.array([0.1, 0.05, 0.025])
    >>> ax = plot.error_vs_step(steps=eta, errors=2 * eta, label="SignGD")
    >>> plot.artists(ax, "fit:*")[0].get_label()
    'SignGD: fitted order 1.00'
    """
    which = _choice(which, "which", ("sup", "final"))
    label = _optional_text(label, "label")
    fit = _flag(fit, "fit")
    legend = _flag(legend, "legend")
    if order is not None:
        order = as_real(order, "order")
    if study is None and (steps is None or errors is None):
        raise ValueError(
            "`study` must be given, or both `steps` and `errors`. Got study=None with "
            f"steps={steps!r} and errors={errors!r} instead."
        )
    _check_ax(ax)
    error_names = ("final_errors",) if which == "final" else ("sup_errors", "errors", "error")
    order_names = ("final_order",) if which == "final" else ("order", "fitted_order")
    ax = _axes(ax)
    entries: list[tuple[str | None, Any]]
    if study is None:
        entries = [(label, {"steps": steps, "errors": errors, "order": order})]
        error_names, order_names = ("errors",), ("order",)
    elif isinstance(study, Mapping) and _study_field(study, ("steps",)) is None:
        entries = [(str(k), v) for k, v in study.items()]
    elif isinstance(study, (list, tuple)):
        entries = [(None, s) for s in study]
    else:
        entries = [(label, study)]
    for k, (lab, st) in enumerate(entries):
        h_raw = _study_field(st, ("steps",))
        e_raw = _study_field(st, error_names)
        if h_raw is None or e_raw is None:
            raise ValueError(
                f"A study must provide `steps` and one of {error_names}. Got {st!r} instead."
            )
        h = np.asarray(h_raw, dtype=float).ravel()
        e = np.asarray(e_raw, dtype=float).ravel()
        if h.shape != e.shape or h.size < 2:
            raise ValueError(
                "`steps` and `errors` must be 1-D arrays of the same length >= 2. "
                f"Got shapes {h.shape} and {e.shape} instead."
            )
        ok = (h > 0) & (e > 0) & np.isfinite(e)
        if np.count_nonzero(ok) < 2:
            raise ValueError("At least two positive finite errors are needed for a log-log fit.")
        p = order if (order is not None and study is not None) else _study_field(st, order_names)
        name = lab or _study_field(st, ("label", "scheme", "name")) or f"study {k}"
        lh, le = np.log(h[ok]), np.log(e[ok])
        if p is None or not np.isfinite(float(p)):
            p, c = np.polyfit(lh, le, 1)
        else:
            c = float(np.mean(le - float(p) * lh))
        color = _RUN_COLORS[k % len(_RUN_COLORS)]
        pts = ax.plot(
            h,
            e,
            marker=_RUN_MARKERS[k % len(_RUN_MARKERS)],
            linestyle="none",
            color=color,
            markersize=6,
        )[0]
        _set_gid(pts, f"errors:{name}", None if fit else f"{name}")
        if fit:
            hh = np.geomspace(h[ok].min(), h[ok].max(), 50)
            line = ax.plot(
                hh,
                np.exp(c) * hh ** float(p),
                color=color,
                linestyle=_RUN_LINESTYLES[k % len(_RUN_LINESTYLES)],
                linewidth=1.3,
            )[0]
            _set_gid(line, f"fit:{name}", f"{name}: fitted order {float(p):.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step size $\\eta$")
    if study is None:
        ax.set_ylabel("error")
    elif which == "sup":
        ax.set_ylabel("sup error $\\max_k \\|x_k - x(t_k)\\|_\\infty$")
    else:
        ax.set_ylabel("final error $\\|x_N - x(T)\\|_\\infty$")
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.92)
    return ax


def active_face(
    runs: Any,
    *,
    ax: Axes | None = None,
    quantity: str = "both",
    normalize: bool = True,
    against: str = "iteration",
    L: ArrayLike | None = None,
    labels: Sequence[str] | None = None,
    legend: bool = True,
) -> Axes:
    r"""Active-face diagnostics: ``|A_k|`` and ``Σ_{i∈A_k} L_i`` along runs.

    ``A_k = {i : g_{k,i} ≠ 0}`` is the set of coordinates a sign step moves; the
    face-aware step ``η_k = ‖g_k‖_1 / Σ_{i∈A_k} L_i`` grows when it shrinks (seed paper 2,
    Proposition 5.5 and Appendix A.2). Its continuous counterpart along a Filippov
    solution of the sign flow is the complement of the sliding set ``J`` of each segment:
    the coordinates held at ``∂_i f = 0`` do not move.

    Parameters
    ----------
    runs : run, sequence of runs or mapping label -> run
        Discrete trajectories with ``diagnostics["face_size"]`` (and
        ``diagnostics["face_curvature"]``), or Filippov solutions of ℓ1-relay systems
        (``against="time"``; drawn as step functions).
    ax : Axes, optional
    quantity : {"both", "size", "curvature"}
    normalize : bool, default True
        Divide by ``n`` and by ``Σ_i L_i`` (fractions of the full face).
    against : {"iteration", "time"}
        Iteration ``k`` or flow time ``t_k`` (solutions need ``"time"``).
    L : array_like, optional
        Coordinate constants for the curvature of a solution's face (discrete runs carry
        their own ``face_curvature``).
    labels : sequence of str, optional
    legend : bool, default True

    Returns
    -------
    Axes
        Curves have gids ``"face-size:{label}"`` and ``"face-curvature:{label}"`` (solid
        and dashed when both are drawn; one line style per run otherwise).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from filippov import plot, schemes
    >>> from filippov.objectives import separable_quadratic
    >>> obj = separable_quadratic([1.0, 4.0], [1.0, -1.0])
    >>> run = schemes.SignGD(step="adaptive").run(obj, [0.0, 0.0], n_steps=30)
    >>> ax = plot.active_face({"SignGD": run})
    >>> sorted(a.get_gid() for a in plot.artists(ax, "face-*"))
    ['face-curvature:SignGD', 'face-size:SignGD']
    """
    quantity = _choice(quantity, "quantity", ("both", "size", "curvature"))
    normalize = _flag(normalize, "normalize")
    against = _choice(against, "against", ("iteration", "time"))
    legend = _flag(legend, "legend")
    Lv = None if L is None else as_vector(L, "L")
    _check_ax(ax)
    items = _runs(runs, labels)
    ax = _axes(ax)
    for k, (lab, run) in enumerate(items):
        abscissa, size, curv, n, total, steps = _face_series(run, lab, against, Lv)
        color = _RUN_COLORS[k % len(_RUN_COLORS)]
        draw: dict[str, Any] = {"drawstyle": "steps-post"} if steps else {}
        # one quantity: line styles tell the runs apart (as in `convergence`); both: solid
        # for the size, dashed for the curvature
        run_style = _RUN_LINESTYLES[k % len(_RUN_LINESTYLES)]
        size_style, curv_style = ("-", "--") if quantity == "both" else (run_style, run_style)
        if quantity in ("both", "size"):
            y = size / n if normalize else size
            line = ax.plot(abscissa, y, color=color, linestyle=size_style, linewidth=1.6, **draw)[0]
            text = "$|A|/n$" if normalize else "$|A|$"
            _set_gid(line, f"face-size:{lab}", f"{text} — {lab}")
        if quantity in ("both", "curvature") and curv is not None:
            y = curv / total if normalize else curv
            line = ax.plot(abscissa, y, color=color, linestyle=curv_style, linewidth=1.6, **draw)[0]
            text = "$\\sum_{A} L_i / \\sum_i L_i$" if normalize else "$\\sum_{A} L_i$"
            _set_gid(line, f"face-curvature:{lab}", f"{text} — {lab}")
    ax.set_xlabel(
        "iteration $k$" if against == "iteration" else "flow time $t_k = \\sum_{j<k} \\eta_j$"
    )
    ax.set_ylabel("fraction of the full face" if normalize else "active face")
    if normalize:
        ax.set_ylim(-0.03, 1.05)
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.92)
    return ax


def _face_series(
    run: Any, lab: str, against: str, L: FloatArray | None
) -> tuple[FloatArray, FloatArray, FloatArray | None, float, float, bool]:
    """(abscissa, |A|, Σ_A L_i or None, n, Σ_i L_i, step-function?) of one run."""
    if _is_solution(run):
        if against != "time":
            raise ValueError(
                "A FilippovSolution has no iterations: use `against='time'`. "
                f"Got against={against!r} instead."
            )
        segs = [seg for seg in run.segments if seg.mode.norm == "l1"]
        if not segs:
            raise ValueError(f"Run {lab!r} has no l1-relay segments (sign flows only).")
        m = segs[0].mode.m
        active = [np.setdiff1d(np.arange(m), seg.mode.free) for seg in segs]
        t = np.array([seg.t0 for seg in segs] + [segs[-1].t1])
        size = np.array([len(a) for a in active] + [len(active[-1])], dtype=float)
        curv = None
        total = float("nan")
        if L is not None:
            curv = np.array([L[a].sum() for a in active] + [L[active[-1]].sum()])
            total = float(L.sum())
        return t, size, curv, float(m), total, True
    diag = getattr(run, "diagnostics", None)
    if not isinstance(diag, Mapping) or "face_size" not in diag:
        raise ValueError(
            f"Run {lab!r} has no 'face_size' diagnostic (run the scheme with diagnostics=True)."
        )
    size = np.asarray(diag["face_size"], dtype=float)
    if against == "time":
        abscissa = np.asarray(diag.get("t", run.t), dtype=float)[: len(size)]
    else:
        abscissa = np.arange(len(size), dtype=float)
    curv_raw = diag.get("face_curvature")
    curv = None if curv_raw is None else np.asarray(curv_raw, dtype=float)
    total = _total_curvature(run, curv) if curv is not None else float("nan")
    return abscissa, size, curv, float(np.asarray(run.x).shape[-1]), total, False


def _total_curvature(run: Any, curv: FloatArray) -> float:
    meta = getattr(run, "metadata", None)
    if isinstance(meta, Mapping):
        sm = meta.get("smoothness")
        if isinstance(sm, Mapping) and sm.get("sum"):
            return float(sm["sum"])
    finite = curv[np.isfinite(curv)]
    return float(finite.max()) if finite.size else float("nan")


_STATISTICS: dict[str, Callable[[FloatArray, int], FloatArray]] = {
    "raw": lambda v, w: v,
    "running-mean": lambda v, w: np.convolve(v, np.ones(w) / w, mode="valid"),
    "cumulative-mean": lambda v, w: np.cumsum(v) / np.arange(1, len(v) + 1),
}


def diagnostic(
    runs: Any,
    name: str | Sequence[str],
    *,
    ax: Axes | None = None,
    statistic: str = "raw",
    window: int = 10,
    labels: Sequence[str] | None = None,
    ylabel: str | None = None,
    legend: bool = True,
) -> Axes:
    """Any per-step diagnostic of discrete runs (flips, freezes, two-hit events, steps…).

    Parameters
    ----------
    runs : run, sequence of runs or mapping label -> run
        Discrete trajectories with ``diagnostics[name]``.
    name : str or sequence of str
        The diagnostic, e.g. ``"flips"``, ``"freezes"``, ``"two_hit"``, ``"step"``; or one
        name per run (e.g. each method's own counter).
    ax : Axes, optional
    statistic : {"raw", "running-mean", "cumulative-mean"}
        ``"cumulative-mean"`` gives e.g. the average number of flips per iteration so far.
    window : int, default 10
        Window of the running mean.
    labels : sequence of str, optional
    ylabel : str, optional
    legend : bool, default True

    Returns
    -------
    Axes
        Curves have gids ``"diagnostic:{name}:{label}"``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from filippov import plot, schemes
    >>> from filippov.objectives import slope
    >>> run = schemes.SignGD(step=0.1).run(slope(0.5), [0.6, 0.1], n_steps=50)
    >>> ax = plot.diagnostic({"SignGD": run}, "flips", statistic="cumulative-mean")
    >>> plot.artists(ax, "diagnostic:*")[0].get_gid()
    'diagnostic:flips:SignGD'
    """
    statistic = _choice(statistic, "statistic", sorted(_STATISTICS))
    window = require_int(window, "window", 1)
    ylabel = _optional_text(ylabel, "ylabel")
    legend = _flag(legend, "legend")
    if not isinstance(name, str):
        _text_list(name, "name")
    _check_ax(ax)
    items = _runs(runs, labels)
    ax = _axes(ax)
    names = [name] * len(items) if isinstance(name, str) else list(name)
    if len(names) != len(items):
        raise ValueError(
            f"`name` must be one string or one per run ({len(items)}). Got {len(names)} instead."
        )
    for k, ((lab, run), name_k) in enumerate(zip(items, names, strict=True)):
        diag = getattr(run, "diagnostics", None)
        if not isinstance(diag, Mapping) or name_k not in diag:
            avail = sorted(diag) if isinstance(diag, Mapping) else []
            raise ValueError(f"Run {lab!r} has no diagnostic {name_k!r}. Available: {avail}.")
        v = np.asarray(diag[name_k], dtype=float)
        if v.ndim != 1:
            raise ValueError(f"Diagnostic {name_k!r} must be 1-D (one run). Got shape {v.shape}.")
        y = _STATISTICS[statistic](v, min(window, max(len(v), 1)))
        its = np.arange(len(v) - len(y), len(v))
        line = ax.plot(
            its,
            y,
            color=_RUN_COLORS[k % len(_RUN_COLORS)],
            linestyle=_RUN_LINESTYLES[k % len(_RUN_LINESTYLES)],
            linewidth=1.5,
        )[0]
        _set_gid(line, f"diagnostic:{name_k}:{lab}", lab)
    ax.set_xlabel("iteration $k$")
    what = {
        "raw": "",
        "running-mean": f" (running mean, {window} steps)",
        "cumulative-mean": " (mean per iteration so far)",
    }
    what_name = name if isinstance(name, str) else "events"
    ax.set_ylabel(ylabel if ylabel is not None else f"{what_name}{what[statistic]}")
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.92)
    return ax


# ------------------------------------------------------- active-face ablation (issue 17)
def face_ablation(
    objective: Any,
    runs: Any,
    tau: float,
    *,
    relative: bool = False,
    quantity: str = "size",
    L: ArrayLike | None = None,
    ax: Axes | None = None,
    labels: Sequence[str] | None = None,
    legend: bool = True,
) -> Axes:
    r"""Numerical active face along runs, against the iteration (seed paper 2, Fig. 6).

    For each run the face :math:`A_k = \{i : |\partial_i f(x_k)| > \tau\}` (or
    :math:`> \tau\|\nabla f(x_k)\|_\infty` with ``relative=True``; see
    :func:`filippov.schemes.active_face`) is computed at its saved iterates, so that
    SignGD, ASGD and face-aware runs are measured the same way, and :math:`|A_k|`
    (``quantity="size"``) or :math:`\sum_{i\in A_k} L_i` (``"curvature"``) is drawn.

    Parameters
    ----------
    objective : Objective
        The objective the runs minimized (its ``grad_batch`` is evaluated at the iterates).
    runs : run, sequence of runs or mapping label -> run
        Single-point discrete trajectories.
    tau : float
        Threshold.
    relative : bool, default False
    quantity : {"size", "curvature"}
    L : array_like, optional
        Coordinate constants (required for ``"curvature"``).
    ax : Axes, optional
    labels : sequence of str, optional
    legend : bool, default True

    Returns
    -------
    Axes
        Curves have gids ``"face-ablation:{label}"``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from filippov import plot, schemes
    >>> from filippov.objectives import separable_quadratic
    >>> obj = separable_quadratic([1.0, 4.0, 9.0], [1.0, -1.0, 0.5])
    >>> run = schemes.SignGD(step="adaptive").run(obj, [0.0, 0.0, 0.0], n_steps=30)
    >>> ax = plot.face_ablation(obj, {"SignGD": run}, 0.1, relative=True)
    >>> [a.get_gid() for a in plot.artists(ax, "face-ablation:*")]
    ['face-ablation:SignGD']
    """
    from .schemes import active_face as _active_face

    quantity = _choice(quantity, "quantity", ("size", "curvature"))
    relative = _flag(relative, "relative")
    legend = _flag(legend, "legend")
    Lv = None if L is None else as_vector(L, "L")
    if quantity == "curvature" and Lv is None:
        raise ValueError("`L` is required for quantity='curvature'. Got None instead.")
    _check_ax(ax)
    items = _runs(runs, labels)
    ax = _axes(ax)
    for k, (lab, run) in enumerate(items):
        X = np.asarray(run.x, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"Run {lab!r} must be a single run (x of shape (k, n)).")
        mask = _active_face(
            np.asarray(objective.grad_batch(X), dtype=float), tau, relative=relative
        )
        y = mask.sum(axis=1) if Lv is None or quantity == "size" else mask @ Lv
        its = np.asarray(getattr(run, "k", np.arange(len(X))), dtype=float)
        line = ax.plot(
            its,
            y,
            color=_RUN_COLORS[k % len(_RUN_COLORS)],
            linestyle=_RUN_LINESTYLES[k % len(_RUN_LINESTYLES)],
            linewidth=1.5,
            drawstyle="steps-post",
        )[0]
        _set_gid(line, f"face-ablation:{lab}", lab)
    ax.set_xlabel("iteration $k$")
    what = "|\\partial_i f| > \\tau" + ("\\,\\|\\nabla f\\|_\\infty" if relative else "")
    ax.set_ylabel(
        f"$|A_k|$, $A_k = \\{{i : {what}\\}}$" if quantity == "size" else "$\\sum_{i \\in A_k} L_i$"
    )
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.92)
    return ax


# ------------------------------------------------------------------------------ piecewise systems
#: Light fills of the regions of a piecewise system (Paul Tol's "light" palette).
_REGION_COLORS = (
    "#77AADD",
    "#EE8866",
    "#EEDD88",
    "#FFAABB",
    "#99DDFF",
    "#44BB99",
    "#BBCC33",
    "#AAAA00",
)


def piecewise_portrait(
    system: Any,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    *,
    ax: Axes | None = None,
    trajectories: Iterable[Any] = (),
    resolution: int = 160,
    density: float = 1.0,
    legend: bool = True,
) -> Axes:
    """Phase portrait of a planar :class:`~filippov.piecewise.PiecewiseSystem`.

    The regions (sign patterns of the switching functions) are shaded, each region's
    field is drawn as streamlines, and every surface ``c_i = 0`` is drawn piece by piece
    in the style of its kind at each point (:data:`MANIFOLD_STYLES`: crossing, sliding,
    repulsive, tangency; the other switching functions at their sign there). Gids:
    ``"regions"``, ``"field"``, ``"manifold:{kind}:{i}"``, and those of
    :func:`trajectory` for the solutions.

    Parameters
    ----------
    system : PiecewiseSystem
        A system with a 2-D state.
    xlim, ylim : (float, float)
        The window.
    ax : Axes, optional
        A new figure when None.
    trajectories : iterable
        Solutions (or anything :func:`trajectory` draws) to overlay.
    resolution : int, default 160
        Grid points per axis for the regions and the surfaces.
    density : float, default 1.0
        Streamline density.
    legend : bool, default True

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import filippov as fp
    >>> from filippov import plot
    >>> net = fp.gene_network([[(2.0, [(0, "-"), (1, "-")])], [(3.0, [(0, "+")])]],
    ...                       [1.0, 1.0], [(0, 1.0), (1, 1.0)])
    >>> ax = plot.piecewise_portrait(net, (0.0, 2.5), (0.0, 3.0), resolution=60)
    >>> sorted({a.get_gid() for a in plot.artists(ax, "manifold:*")})
    ['manifold:crossing:0', 'manifold:crossing:1', 'manifold:sliding:0']
    """
    import contourpy

    from filippov.piecewise import PiecewiseSystem

    if not isinstance(system, PiecewiseSystem):
        raise TypeError(f"`system` must be a PiecewiseSystem. Got {type(system).__name__} instead.")
    if system.n != 2:
        raise ValueError(f"`system` must have a 2-D state. Got n = {system.n} instead.")
    x0, x1 = as_limits(xlim, "xlim")
    y0, y1 = as_limits(ylim, "ylim")
    res = require_int(resolution, "resolution", 8)
    density = require_positive(density, "density")
    legend = _flag(legend, "legend")
    ax = _axes(ax)
    labeller = _Labeller(ax)
    xs, ys = np.linspace(x0, x1, res), np.linspace(y0, y1, res)
    X, Y = np.meshgrid(xs, ys)
    C = np.array([system.c(p) for p in np.column_stack([X.ravel(), Y.ravel()])])
    code = ((C > 0) * (1 << np.arange(system.k))).sum(axis=1).reshape(X.shape)
    from matplotlib.colors import ListedColormap

    n_regions = 1 << system.k
    cmap = ListedColormap([_REGION_COLORS[r % len(_REGION_COLORS)] for r in range(n_regions)])
    mesh = ax.pcolormesh(
        X, Y, code, cmap=cmap, vmin=-0.5, vmax=n_regions - 0.5, alpha=0.35, shading="auto"
    )
    _set_gid(mesh, "regions", None)
    # Streamlines of each region's own field (a coarser grid: streamplot interpolates).
    m = max(12, res // 5)
    sx, sy = np.linspace(x0, x1, m), np.linspace(y0, y1, m)
    SX, SY = np.meshgrid(sx, sy)
    U, V = np.empty_like(SX), np.empty_like(SY)
    for idx in np.ndindex(SX.shape):
        p = np.array([SX[idx], SY[idx]])
        U[idx], V[idx] = system.field(p, system.region(p))
    stream = ax.streamplot(SX, SY, U, V, density=density, color=_GREY, linewidth=0.7)
    _set_gid(stream.lines, "field", None)
    # Each surface, split into pieces of one kind.
    span = max(x1 - x0, y1 - y0)
    for i in range(system.k):
        lines = contourpy.contour_generator(X, Y, C[:, i].reshape(X.shape)).lines(0.0)
        for line in lines:
            pts = _resample_path(np.asarray(line, dtype=float), span / (2 * res))
            if len(pts) < 2:
                continue
            kinds = [system.classify(p, i)[0] for p in pts]
            start = 0
            for j in range(1, len(pts) + 1):
                if j == len(pts) or kinds[j] != kinds[start]:
                    kind = kinds[start]
                    seg = pts[start : min(j + 1, len(pts))]
                    if len(seg) >= 2:
                        (artist,) = ax.plot(seg[:, 0], seg[:, 1], **MANIFOLD_STYLES[kind])
                        _set_gid(artist, f"manifold:{kind}:{i}", labeller(_MANIFOLD_LABELS[kind]))
                    start = j
    for run in trajectories:
        trajectory(run, ax=ax)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if legend:
        _legend(ax)
    return ax


# ------------------------------------------------------------------------------ sweep maps
_MAP_LABELS = {
    "t_stationary": "arrival time at the minimizer",
    "t_sliding_entry": "time to reach a sliding manifold",
    "sliding_duration": "time spent sliding",
    "n_events": "number of events",
}


def arrival_time_map(
    table: Any,
    system: FilippovSystem | None = None,
    *,
    value: str = "t_stationary",
    ax: Axes | None = None,
    cmap: str = "viridis",
    colorbar: bool = True,
    minimizer: bool = True,
    legend: bool = True,
    title: str | None = None,
    resolution: int = 201,
) -> Axes:
    """An arrival-time (or basin) map: a sweep's result over a 2-D grid of initial states.

    Each cell is coloured by the column ``value`` of the run started there (e.g. the
    arrival time at the minimizer, the time to reach a sliding manifold, the number of
    events); runs where it is missing (never arrived, or failed) are light grey. With a
    ``system`` its switching manifolds are drawn over the map, styled by kind as in
    :func:`phase_portrait` (gids ``"manifold:{kind}:{i}"``), and the objective's
    minimizer is marked (gid ``"minimizer"``). The map itself has gid ``"map:{value}"``.

    Parameters
    ----------
    table : pandas.DataFrame
        A table from :func:`filippov.sweep` over :func:`filippov.grid` points of a 2-D
        state (columns ``x0_0``, ``x0_1`` and ``value``), one run per grid point.
    system : FilippovSystem, optional
        The planar system swept, for its switching manifolds.
    value : str, default "t_stationary"
        The numeric column to show.
    ax : matplotlib Axes, optional
    cmap : str, default "viridis"
    colorbar, minimizer, legend : bool
        Draw a colorbar, the minimizer (when the system's objective knows it), a legend.
    title : str, optional
    resolution : int, default 201
        Grid points per axis for tracing the manifolds (see :func:`switching_set`).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import filippov as fp
    >>> from filippov import plot
    >>> from filippov.objectives import slope
    >>> flow = fp.steepest_descent_flow(slope(0.5))
    >>> table = fp.sweep(slope(0.5), fp.grid((-8, 2), (-7, 1), num=12), t_span=(0, 30),
    ...                  executor="serial")
    >>> ax = plot.arrival_time_map(table, flow)
    >>> len(plot.artists(ax, "map:t_stationary")), len(plot.artists(ax, "manifold:sliding:*")) > 0
    (1, True)
    """
    import matplotlib as mpl

    columns = list(getattr(table, "columns", []))
    for name in ("x0_0", "x0_1"):
        if name not in columns:
            raise ValueError(
                f"`table` must be a sweep table with a column {name!r}. Got columns {columns}."
            )
    if "x0_2" in columns:
        raise ValueError("`table` must come from a sweep of 2-D states. Got more coordinates.")
    if not isinstance(value, str) or value not in columns:
        raise ValueError(f"`value` must name a column of `table`. Got {value!r} instead.")
    if system is not None and not isinstance(system, FilippovSystem):
        raise TypeError(f"`system` must be a FilippovSystem. Got {type(system).__name__} instead.")
    _check_ax(ax)
    if not isinstance(cmap, str) or cmap not in mpl.colormaps:
        raise ValueError(f"`cmap` must name a matplotlib colormap. Got {cmap!r} instead.")
    colorbar = _flag(colorbar, "colorbar")
    minimizer = _flag(minimizer, "minimizer")
    legend = _flag(legend, "legend")
    title = _optional_text(title, "title")
    resolution = require_int(resolution, "resolution", 3)
    px = table["x0_0"].to_numpy(dtype=float)
    py = table["x0_1"].to_numpy(dtype=float)
    xs, ys = np.unique(px), np.unique(py)
    if len(xs) < 2 or len(ys) < 2 or len(xs) * len(ys) != len(table):
        raise ValueError(
            "`table` must hold one run per point of a 2-D grid (from `filippov.grid`). Got "
            f"{len(table)} runs over {len(xs)} x {len(ys)} distinct coordinates instead."
        )
    Z = np.full((len(ys), len(xs)), np.nan)
    try:
        shown = table[value].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValueError(f"`value` must name a numeric column. Got {value!r} instead.") from None
    Z[np.searchsorted(ys, py), np.searchsorted(xs, px)] = shown
    ax = _axes(ax)
    colors = mpl.colormaps[cmap].with_extremes(bad="#DDDDDD")
    mesh = ax.pcolormesh(xs, ys, np.ma.masked_invalid(Z), shading="nearest", cmap=colors)
    mesh.set_gid(f"map:{value}")
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=_MAP_LABELS.get(value, value))
    xlim = (float(xs[0]), float(xs[-1]))
    ylim = (float(ys[0]), float(ys[-1]))
    lab = _Labeller(ax)
    if system is not None and system.norm.name in ("l1", "linf"):
        for piece in switching_set(system, xlim, ylim, resolution=resolution).pieces:
            line = ax.plot(piece.xy[:, 0], piece.xy[:, 1], **MANIFOLD_STYLES[piece.kind])[0]
            line.set_path_effects(_halo(MANIFOLD_STYLES[piece.kind]["linewidth"]))
            _set_gid(
                line,
                f"manifold:{piece.kind}:{_index_text(piece.index)}",
                lab(_MANIFOLD_LABELS[piece.kind]),
            )
    obj = None if system is None else system.objective
    if minimizer and obj is not None and obj.minimizer is not None:
        xstar = np.asarray(obj.minimizer, dtype=float)
        mk = ax.plot([xstar[0]], [xstar[1]], marker="*", markersize=15, color="white")[0]
        mk.set_markeredgecolor("black")
        _set_gid(mk, "minimizer", lab("minimizer $x^\\star$"))
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(_MAP_LABELS.get(value, value) if title is None else title)
    if legend:
        _legend(ax)
    return ax
