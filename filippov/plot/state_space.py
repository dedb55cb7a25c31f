r"""State-space pictures: trajectories and the phase portraits of planar systems.

:func:`trajectory` draws one run (a Filippov solution segment by segment, discrete
iterates, or a plain path) on 2-D or 3-D axes; :func:`phase_portrait` draws a planar
:class:`~filippov.systems.FilippovSystem` with its switching manifolds classified piece
by piece; :func:`piecewise_portrait` does the same for a planar
:class:`~filippov.piecewise.PiecewiseSystem`. What they show is computed by
:mod:`filippov.switching`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from filippov._validation import FloatArray, as_limits, require_int, require_positive
from filippov.piecewise import PiecewiseSystem
from filippov.plot._inputs import (
    axes_or_new,
    check_axes,
    flag,
    indices,
    is_discrete,
    is_solution,
    optional_text,
    path_array,
    run_dimension,
    run_label,
)
from filippov.plot.styles import (
    EVENT_STYLES,
    FOLD_STYLE,
    GREY,
    MANIFOLD_LABELS,
    MANIFOLD_STYLES,
    REGION_COLORS,
    RUN_COLORS,
    RUN_MARKERS,
    SEGMENT_LABELS,
    SEGMENT_STYLES,
    Labeller,
    add_legend,
    artists,
    halo,
    line_style,
    tag,
)
from filippov.solution import EVENT_KINDS, LinearDense
from filippov.switching import (
    objective_values,
    piecewise_regions,
    piecewise_switching_set,
    require_planar,
    selector_field,
    switching_set,
    window_grid,
)
from filippov.systems import FilippovSystem

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

    from filippov.plot._inputs import Run
    from filippov.solution import FilippovSolution, Segment

__all__ = ["phase_portrait", "piecewise_portrait", "trajectory"]


def index_text(index: tuple[int, ...]) -> str:
    """``(0, 2)`` -> ``"0,2"``: the switching functions of a manifold, as gids name them."""
    return ",".join(str(i) for i in index)


def _segment_points(seg: Segment, samples: int) -> FloatArray:
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


def _label_state_axes(ax: Axes, dims: tuple[int, ...]) -> None:
    names = ["set_xlabel", "set_ylabel", "set_zlabel"][: len(dims)]
    for name, d in zip(names, dims, strict=True):
        getattr(ax, name)(f"$x_{{{d + 1}}}$")


def trajectory(
    run: Run,
    *,
    ax: Axes | None = None,
    dims: Sequence[int] | None = None,
    label: str | None = None,
    samples: int = 80,
    events: bool = True,
    color: str | None = None,
    marker: str | None = None,
    **kwargs: Any,
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
    **kwargs
        Passed to :meth:`~matplotlib.axes.Axes.plot` for the trajectory's lines (every
        segment of a solution, the iterates, or the path: ``Line2D`` properties such as
        ``alpha``, ``linewidth``, ``zorder``), over the style of their kind. The event
        markers and the initial state keep their style.

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
    >>> ax = plot.trajectory(sol, alpha=0.8)
    >>> [a.get_gid() for a in plot.artists(ax, "solution0:segment:*")]
    ['solution0:segment:0:regular', 'solution0:segment:1:sliding', 'solution0:segment:2:stationary']
    """
    samples = require_int(samples, "samples", 2)
    events = flag(events, "events")
    label = optional_text(label, "label")
    color = optional_text(color, "color")
    marker = optional_text(marker, "marker")
    check_axes(ax)
    X: FloatArray | None = None
    if is_solution(run):
        n = run_dimension(run)
    elif is_discrete(run):
        X = np.asarray(run.x, dtype=float)
        n = int(X.shape[-1])
    else:
        X = path_array(run)
        n = int(X.shape[1])
    want = 3 if getattr(ax, "name", "") == "3d" else 2
    dd = indices(dims, "dims", n, want) if dims is not None else None
    ax = axes_or_new(ax)
    dd = dd if dd is not None else _default_dims(ax, n)
    lab = Labeller(ax)
    if is_solution(run):
        _draw_solution(ax, run, dd, samples, events, lab, kwargs)
    elif is_discrete(run):
        assert X is not None
        _draw_iterates(ax, run, X, dd, label, color, marker, lab, kwargs)
    else:
        assert X is not None
        j = len(artists(ax, "path*"))
        style: dict[str, Any] = {"color": color or "black", "linewidth": 1.2, "zorder": 4}
        line = _plot_xy(ax, X, dd, **line_style(style, kwargs))
        tag(line, f"path{j}", label)
    _label_state_axes(ax, dd)
    return ax


def _draw_solution(
    ax: Axes,
    sol: FilippovSolution,
    dims: tuple[int, ...],
    samples: int,
    events: bool,
    lab: Labeller,
    overrides: Mapping[str, Any],
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
    tag(start, f"solution{j}:start", lab("initial state"))
    for k, seg in enumerate(sol.segments):
        kind = seg.kind if seg.kind in SEGMENT_STYLES else "regular"
        pts = _segment_points(seg, samples)
        style = line_style({**SEGMENT_STYLES[kind], "zorder": 5}, overrides)
        style.setdefault("solid_capstyle", "round")
        style.setdefault("path_effects", halo(style["linewidth"]))
        line = _plot_xy(ax, pts, dims, **style)
        label = lab(SEGMENT_LABELS[kind]) if kind != "stationary" else None
        tag(line, f"solution{j}:segment:{k}:{seg.kind}", label)
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
        tag(mk, f"solution{j}:event:{kind}", lab(f"event: {kind}"))


def _draw_iterates(
    ax: Axes,
    run: object,
    X: FloatArray,
    dims: tuple[int, ...],
    label: str | None,
    color: str | None,
    marker: str | None,
    lab: Labeller,
    overrides: Mapping[str, Any],
) -> None:
    j = len(artists(ax, "iterates*"))
    color = color or RUN_COLORS[j % len(RUN_COLORS)]
    marker = marker or RUN_MARKERS[j % len(RUN_MARKERS)]
    paths = [X] if X.ndim == 2 else [X[:, b, :] for b in range(X.shape[1])]
    text = label if label is not None else run_label(run, f"iterates {j}")
    style = line_style(
        {
            "color": color,
            "marker": marker,
            "markersize": 3.2,
            "linewidth": 0.8,
            "alpha": 0.9,
            "zorder": 4.5,  # under the Filippov solutions, over the manifolds
            "markeredgewidth": 0.0,
        },
        overrides,
    )
    for b, pts in enumerate(paths):
        line = _plot_xy(ax, pts, dims, **style)
        tag(line, f"iterates{j}" if b == 0 else f"iterates{j}:{b}", lab(text) if b == 0 else None)


def _check_runs(
    trajectories: Iterable[Run] | Mapping[str, Run],
) -> list[tuple[str | None, Run]]:
    """``[(label or None, run)]`` of planar runs, or the error naming the bad one."""
    items: list[tuple[str | None, Any]]
    if is_solution(trajectories) or is_discrete(trajectories):
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
        n_run = run_dimension(run)
        if n_run != 2:
            raise ValueError(
                f"`trajectories` must hold runs with a 2-D state for a planar portrait. "
                f"Got a run with n = {n_run} at position {k} instead (draw it with "
                "plot.trajectory(run, ax=ax, dims=...) to choose the components)."
            )
    return items


def phase_portrait(
    system: FilippovSystem,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    *,
    ax: Axes | None = None,
    trajectories: Iterable[Run] | Mapping[str, Run] = (),
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
    **kwargs: Any,
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
        Draw the selector field (:func:`filippov.switching.selector_field`) as a
        streamplot (gid ``"field"``).
    density : float, default 1.0
        Streamplot density.
    classify : bool, default True
        Trace and classify the switching manifolds (gids ``"manifold:{kind}:{i}"``, with
        ``i`` the switching function or ``"i,j"`` for an ℓ∞ tie surface; folds
        ``"fold:{i}"``). See :func:`filippov.switching.switching_set`.
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
    **kwargs
        Passed to :meth:`~matplotlib.axes.Axes.streamplot` for the field (e.g.
        ``color``, ``linewidth``, ``arrowsize``, ``cmap``), over its defaults; only
        with ``field=True``.

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
    field = flag(field, "field")
    density = require_positive(density, "density")
    classify = flag(classify, "classify")
    objective_contours = flag(objective_contours, "objective_contours")
    n_contours = require_int(n_contours, "n_contours", 1)
    resolution = require_int(resolution, "resolution", 3)
    field_resolution = require_int(field_resolution, "field_resolution", 2)
    minimizer = flag(minimizer, "minimizer")
    if not (isinstance(legend, bool | np.bool_) or legend == "outside"):
        raise ValueError(f"`legend` must be True, False or 'outside'. Got {legend!r} instead.")
    title = optional_text(title, "title")
    if kwargs and not field:
        raise TypeError(
            "Keyword arguments go to the streamplot of the field, which `field=False` does "
            f"not draw. Got {sorted(kwargs)} instead."
        )
    items = _check_runs(trajectories)
    centre = np.array([0.5 * (xlim[0] + xlim[1]), 0.5 * (ylim[0] + ylim[1])])
    require_planar(system, centre)
    ax = axes_or_new(ax)
    lab = Labeller(ax)

    obj = system.objective
    if objective_contours and obj is not None:
        xs, ys, P = window_grid(xlim, ylim, min(resolution, 121))
        F = objective_values(obj, P).reshape(len(ys), len(xs))
        lo = float(np.min(F))
        levels = (
            lo + (float(np.quantile(F, 0.97)) - lo) * np.linspace(0.0, 1.0, n_contours + 1)[1:] ** 2
        )
        # (an objective flat over the window has no contours: matplotlib refused the equal
        # levels with "Contour levels must be increasing")
        levels = np.unique(levels)
        if levels.size > 1:
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
            tag(cs, "objective", None)

    if field:
        xs, ys, P = window_grid(xlim, ylim, field_resolution)
        _, V = selector_field(system, P)
        U = V[:, 0].reshape(len(ys), len(xs))
        W = V[:, 1].reshape(len(ys), len(xs))
        stream_style: dict[str, Any] = {
            "density": density,
            "color": "#A0A0A0",
            "linewidth": 0.7,
            "arrowsize": 0.8,
            "zorder": 1,
            "broken_streamlines": True,
        }
        # matplotlib's streamplot scales speeds by the grid spacing and squares them: in a
        # window of width 1e-300 that overflows to inf, harmlessly (the lines are drawn),
        # and numpy's warning was the only thing the user saw of it.
        with np.errstate(over="ignore"):
            stream = ax.streamplot(xs, ys, U, W, **{**stream_style, **kwargs})
        tag(stream.lines, "field", lab("vector field (vertex selector)"))
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
            tag(
                line,
                f"manifold:{piece.kind}:{index_text(piece.index)}",
                lab(MANIFOLD_LABELS[piece.kind]),
            )
        for index, point in sw.folds:
            mk = ax.plot([point[0]], [point[1]], **FOLD_STYLE, zorder=4)[0]
            tag(mk, f"fold:{index_text(index)}", lab("fold (tangency) point"))

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
        tag(mk, "minimizer", lab("minimizer $x^\\star$"))

    for label, run in items:
        trajectory(run, ax=ax, dims=(0, 1), label=label)

    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(system.name if title is None else title)
    if legend:
        add_legend(ax, outside=legend == "outside")
    return ax


def piecewise_portrait(
    system: PiecewiseSystem,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    *,
    ax: Axes | None = None,
    trajectories: Iterable[Run] = (),
    resolution: int = 160,
    density: float = 1.0,
    legend: bool = True,
    **kwargs: Any,
) -> Axes:
    """Phase portrait of a planar :class:`~filippov.piecewise.PiecewiseSystem`.

    The regions (sign patterns of the switching functions) are shaded, each region's
    field is drawn as streamlines, and every surface ``c_i = 0`` is drawn piece by piece
    in the style of its kind at each point (:data:`MANIFOLD_STYLES`: crossing, sliding,
    repulsive, tangency; the other switching functions at their sign there; see
    :func:`filippov.switching.piecewise_switching_set`). Gids: ``"regions"``,
    ``"field"``, ``"manifold:{kind}:{i}"``, and those of :func:`trajectory` for the
    solutions.

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
    **kwargs
        Passed to :meth:`~matplotlib.axes.Axes.streamplot` for the regions' fields (e.g.
        ``color``, ``linewidth``, ``arrowsize``), over its defaults.

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
    from matplotlib.colors import ListedColormap

    if not isinstance(system, PiecewiseSystem):
        raise TypeError(f"`system` must be a PiecewiseSystem. Got {type(system).__name__} instead.")
    if system.n != 2:
        raise ValueError(f"`system` must have a 2-D state. Got n = {system.n} instead.")
    x0, x1 = as_limits(xlim, "xlim")
    y0, y1 = as_limits(ylim, "ylim")
    res = require_int(resolution, "resolution", 8)
    density = require_positive(density, "density")
    legend = flag(legend, "legend")
    ax = axes_or_new(ax)
    labeller = Labeller(ax)
    xs, ys, _, code = piecewise_regions(system, (x0, x1), (y0, y1), resolution=res)
    X, Y = np.meshgrid(xs, ys)
    n_regions = 1 << system.k
    cmap = ListedColormap([REGION_COLORS[r % len(REGION_COLORS)] for r in range(n_regions)])
    mesh = ax.pcolormesh(
        X, Y, code, cmap=cmap, vmin=-0.5, vmax=n_regions - 0.5, alpha=0.35, shading="auto"
    )
    tag(mesh, "regions", None)
    # Streamlines of each region's own field (a coarser grid: streamplot interpolates).
    m = max(12, res // 5)
    sx, sy, P = window_grid((x0, x1), (y0, y1), m)
    _, V = selector_field(system, P)
    U, W = V[:, 0].reshape(m, m), V[:, 1].reshape(m, m)
    SX, SY = np.meshgrid(sx, sy)
    stream_style: dict[str, Any] = {"density": density, "color": GREY, "linewidth": 0.7}
    stream = ax.streamplot(SX, SY, U, W, **{**stream_style, **kwargs})
    tag(stream.lines, "field", None)
    for piece in piecewise_switching_set(system, (x0, x1), (y0, y1), resolution=res).pieces:
        (artist,) = ax.plot(piece.xy[:, 0], piece.xy[:, 1], **MANIFOLD_STYLES[piece.kind])
        tag(
            artist,
            f"manifold:{piece.kind}:{index_text(piece.index)}",
            labeller(MANIFOLD_LABELS[piece.kind]),
        )
    for run in trajectories:
        trajectory(run, ax=ax)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if legend:
        add_legend(ax)
    return ax
