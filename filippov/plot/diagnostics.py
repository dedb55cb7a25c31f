r"""Diagnostics of runs: event timelines, per-step counters, active faces, arrival maps.

:func:`time_series` draws a Filippov solution against time with its events marked by
kind; :func:`diagnostic` any per-step counter of discrete runs; :func:`active_face` and
:func:`face_ablation` the active face along runs (seed paper 2, Proposition 5.5 and
Fig. 6); :func:`arrival_time_map` a sweep over a grid of initial states
(:func:`filippov.grid_maps.grid_map`) with the switching manifolds on top.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from filippov._validation import (
    FloatArray,
    as_vector,
    require_callable,
    require_int,
)
from filippov.grid_maps import grid_map
from filippov.objectives import Objective
from filippov.plot._inputs import (
    axes_or_new,
    check_axes,
    choice,
    flag,
    indices,
    is_discrete,
    is_solution,
    optional_text,
    run_items,
    text_list,
)
from filippov.plot.state_space import index_text
from filippov.plot.styles import (
    EVENT_STYLES,
    MANIFOLD_LABELS,
    MANIFOLD_STYLES,
    RUN_COLORS,
    RUN_LINESTYLES,
    Labeller,
    add_legend,
    halo,
    line_style,
    tag,
)
from filippov.solution import EVENT_KINDS, FilippovSolution
from filippov.switching import switching_set
from filippov.systems import FilippovSystem

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd
    from matplotlib.axes import Axes

    from filippov.plot._inputs import Run, Runs

__all__ = ["active_face", "arrival_time_map", "diagnostic", "face_ablation", "time_series"]


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
    **kwargs: Any,
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
    **kwargs
        Passed to :meth:`~matplotlib.axes.Axes.plot` for each component's curve
        (``Line2D`` properties such as ``linewidth`` or ``alpha``), over its colour and
        line style. The event markers keep their style.

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
    >>> ax = plot.time_series(sol, linewidth=1.0)
    >>> [a.get_gid() for a in plot.artists(ax, "component:*")]
    ['component:0', 'component:1']
    """
    if not is_solution(sol):
        raise TypeError(f"`sol` must be a FilippovSolution. Got {type(sol).__name__} instead.")
    mark = choice(mark, "mark", ("all", "indices"))
    if fun is not None:
        require_callable(fun, "fun", "a callable (k, n) -> (k, p) or None")
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string. Got {type(name).__name__} instead.")
    labels = text_list(labels, "labels")
    samples = require_int(samples, "samples", 2)
    events = flag(events, "events")
    legend = flag(legend, "legend")
    check_axes(ax)
    t0, t1 = float(sol.t[0]), float(sol.t[-1])
    ts = np.union1d(np.linspace(t0, t1, samples), np.asarray(sol.t, dtype=float))

    def values(X: FloatArray) -> FloatArray:
        if fun is None:
            return X
        out = np.asarray(fun(X), dtype=float)
        if out.ndim == 0 or out.shape[0] != len(X) or out.ndim > 2:
            # (a map of one state, x[0]**2, gave numpy's "cannot reshape array of size 2")
            raise ValueError(
                f"`fun` must map the states, an array of shape {X.shape} (one row per "
                f"time), to values of shape ({len(X)},) or ({len(X)}, p). Got shape "
                f"{out.shape} instead."
            )
        return out.reshape(len(X), -1)

    Y = values(np.asarray(sol(ts), dtype=float))
    comps = (
        list(range(min(Y.shape[1], 6)))
        if components is None
        else list(indices(components, "components", Y.shape[1]))
    )
    if labels is not None and len(labels) != len(comps):
        raise ValueError(
            f"`labels` must have one entry per component ({len(comps)}). Got {len(labels)} instead."
        )
    ax = axes_or_new(ax)
    lab = Labeller(ax)
    for j, c in enumerate(comps):
        color = RUN_COLORS[c % len(RUN_COLORS)]
        curve = {"color": color, "linestyle": RUN_LINESTYLES[c % len(RUN_LINESTYLES)]}
        line = ax.plot(ts, Y[:, c], **line_style(curve, kwargs))[0]
        text = labels[j] if labels is not None else f"${name}_{{{c + 1}}}(t)$"
        tag(line, f"component:{c}", text)
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
            tag(mk, f"event:{kind}", lab(f"event: {kind}"))
    ax.set_xlabel("time $t$")
    ax.set_ylabel("state" if fun is None else f"${name}(x(t))$")
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.92)
    return ax


def active_face(
    runs: Runs,
    *,
    ax: Axes | None = None,
    quantity: str = "both",
    normalize: bool = True,
    against: str = "iteration",
    L: ArrayLike | None = None,
    labels: Sequence[str] | None = None,
    legend: bool = True,
    **kwargs: Any,
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
    **kwargs
        Passed to :meth:`~matplotlib.axes.Axes.plot` for every curve (``Line2D``
        properties), over its colour and line style.

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
    quantity = choice(quantity, "quantity", ("both", "size", "curvature"))
    normalize = flag(normalize, "normalize")
    against = choice(against, "against", ("iteration", "time"))
    legend = flag(legend, "legend")
    Lv = None if L is None else as_vector(L, "L")
    check_axes(ax)
    items = run_items(runs, labels)
    ax = axes_or_new(ax)
    for k, (lab, run) in enumerate(items):
        abscissa, size, curv, n, total, steps = _face_series(run, lab, against, Lv)
        color = RUN_COLORS[k % len(RUN_COLORS)]
        draw: dict[str, Any] = {"drawstyle": "steps-post"} if steps else {}
        # one quantity: line styles tell the runs apart (as in `convergence`); both: solid
        # for the size, dashed for the curvature
        run_style = RUN_LINESTYLES[k % len(RUN_LINESTYLES)]
        size_style, curv_style = ("-", "--") if quantity == "both" else (run_style, run_style)
        if quantity in ("both", "size"):
            y = size / n if normalize else size
            style: dict[str, Any] = {"color": color, "linestyle": size_style, "linewidth": 1.6}
            style.update(draw)
            line = ax.plot(abscissa, y, **line_style(style, kwargs))[0]
            text = "$|A|/n$" if normalize else "$|A|$"
            tag(line, f"face-size:{lab}", f"{text} — {lab}")
        if quantity in ("both", "curvature") and curv is not None:
            y = curv / total if normalize else curv
            style = {"color": color, "linestyle": curv_style, "linewidth": 1.6, **draw}
            line = ax.plot(abscissa, y, **line_style(style, kwargs))[0]
            text = "$\\sum_{A} L_i / \\sum_i L_i$" if normalize else "$\\sum_{A} L_i$"
            tag(line, f"face-curvature:{lab}", f"{text} — {lab}")
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
    run: Run, lab: str, against: str, L: FloatArray | None
) -> tuple[FloatArray, FloatArray, FloatArray | None, float, float, bool]:
    """(abscissa, |A|, Σ_A L_i or None, n, Σ_i L_i, step-function?) of one run."""
    if is_solution(run):
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
    if not is_discrete(run) or not isinstance(diag, Mapping) or "face_size" not in diag:
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


def _total_curvature(run: object, curv: FloatArray) -> float:
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
    runs: Runs,
    name: str | Sequence[str],
    *,
    ax: Axes | None = None,
    statistic: str = "raw",
    window: int = 10,
    labels: Sequence[str] | None = None,
    ylabel: str | None = None,
    legend: bool = True,
    **kwargs: Any,
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
    **kwargs
        Passed to :meth:`~matplotlib.axes.Axes.plot` for every curve (``Line2D``
        properties), over its colour and line style.

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
    statistic = choice(statistic, "statistic", sorted(_STATISTICS))
    window = require_int(window, "window", 1)
    ylabel = optional_text(ylabel, "ylabel")
    legend = flag(legend, "legend")
    if not isinstance(name, str):
        text_list(name, "name")
    check_axes(ax)
    items = run_items(runs, labels)
    ax = axes_or_new(ax)
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
        style: dict[str, Any] = {
            "color": RUN_COLORS[k % len(RUN_COLORS)],
            "linestyle": RUN_LINESTYLES[k % len(RUN_LINESTYLES)],
            "linewidth": 1.5,
        }
        line = ax.plot(its, y, **line_style(style, kwargs))[0]
        tag(line, f"diagnostic:{name_k}:{lab}", lab)
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


def face_ablation(
    objective: Objective,
    runs: Runs,
    tau: float,
    *,
    relative: bool = False,
    quantity: str = "size",
    L: ArrayLike | None = None,
    ax: Axes | None = None,
    labels: Sequence[str] | None = None,
    legend: bool = True,
    **kwargs: Any,
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
    **kwargs
        Passed to :meth:`~matplotlib.axes.Axes.plot` for every curve (``Line2D``
        properties), over its colour and line style.

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
    from filippov.schemes import active_face as active_face_mask

    if not isinstance(objective, Objective):
        raise TypeError(
            f"`objective` must be a filippov Objective. Got {type(objective).__name__} instead."
        )

    quantity = choice(quantity, "quantity", ("size", "curvature"))
    relative = flag(relative, "relative")
    legend = flag(legend, "legend")
    Lv = None if L is None else as_vector(L, "L")
    if quantity == "curvature" and Lv is None:
        raise ValueError("`L` is required for quantity='curvature'. Got None instead.")
    check_axes(ax)
    items = run_items(runs, labels)
    ax = axes_or_new(ax)
    for k, (lab, run) in enumerate(items):
        if not is_discrete(run):
            raise TypeError(
                f"Run {lab!r} must be a discrete trajectory (with .x). "
                f"Got {type(run).__name__} instead."
            )
        X = np.asarray(run.x, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"Run {lab!r} must be a single run (x of shape (k, n)).")
        mask = active_face_mask(
            np.asarray(objective.grad_batch(X), dtype=float), tau, relative=relative
        )
        y = mask.sum(axis=1) if Lv is None or quantity == "size" else mask @ Lv
        its = np.asarray(getattr(run, "k", np.arange(len(X))), dtype=float)
        style: dict[str, Any] = {
            "color": RUN_COLORS[k % len(RUN_COLORS)],
            "linestyle": RUN_LINESTYLES[k % len(RUN_LINESTYLES)],
            "linewidth": 1.5,
            "drawstyle": "steps-post",
        }
        line = ax.plot(its, y, **line_style(style, kwargs))[0]
        tag(line, f"face-ablation:{lab}", lab)
    ax.set_xlabel("iteration $k$")
    what = "|\\partial_i f| > \\tau" + ("\\,\\|\\nabla f\\|_\\infty" if relative else "")
    ax.set_ylabel(
        f"$|A_k|$, $A_k = \\{{i : {what}\\}}$" if quantity == "size" else "$\\sum_{i \\in A_k} L_i$"
    )
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.92)
    return ax


_MAP_LABELS = {
    "t_stationary": "arrival time at the minimizer",
    "t_sliding_entry": "time to reach a sliding manifold",
    "sliding_duration": "time spent sliding",
    "n_events": "number of events",
}


def arrival_time_map(
    table: pd.DataFrame,
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
    **kwargs: Any,
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
        Grid points per axis for tracing the manifolds (see
        :func:`filippov.switching.switching_set`).
    **kwargs
        Passed to :meth:`~matplotlib.axes.Axes.pcolormesh` for the map (e.g. ``vmin``,
        ``vmax``, ``norm``, ``alpha``), over its defaults.

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
    >>> ax = plot.arrival_time_map(table, flow, vmin=0.0)
    >>> len(plot.artists(ax, "map:t_stationary")), len(plot.artists(ax, "manifold:sliding:*")) > 0
    (1, True)
    """
    import matplotlib as mpl

    xs, ys, Z = grid_map(table, value)
    if system is not None and not isinstance(system, FilippovSystem):
        raise TypeError(f"`system` must be a FilippovSystem. Got {type(system).__name__} instead.")
    check_axes(ax)
    if not isinstance(cmap, str) or cmap not in mpl.colormaps:
        raise ValueError(f"`cmap` must name a matplotlib colormap. Got {cmap!r} instead.")
    colorbar = flag(colorbar, "colorbar")
    minimizer = flag(minimizer, "minimizer")
    legend = flag(legend, "legend")
    title = optional_text(title, "title")
    resolution = require_int(resolution, "resolution", 3)
    ax = axes_or_new(ax)
    colors = mpl.colormaps[cmap].with_extremes(bad="#DDDDDD")
    mesh_style: dict[str, Any] = {"shading": "nearest", "cmap": colors}
    mesh = ax.pcolormesh(xs, ys, np.ma.masked_invalid(Z), **{**mesh_style, **kwargs})
    mesh.set_gid(f"map:{value}")
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=_MAP_LABELS.get(value, value))
    xlim = (float(xs[0]), float(xs[-1]))
    ylim = (float(ys[0]), float(ys[-1]))
    lab = Labeller(ax)
    if system is not None and system.norm.name in ("l1", "linf"):
        for piece in switching_set(system, xlim, ylim, resolution=resolution).pieces:
            line = ax.plot(piece.xy[:, 0], piece.xy[:, 1], **MANIFOLD_STYLES[piece.kind])[0]
            line.set_path_effects(halo(MANIFOLD_STYLES[piece.kind]["linewidth"]))
            tag(
                line,
                f"manifold:{piece.kind}:{index_text(piece.index)}",
                lab(MANIFOLD_LABELS[piece.kind]),
            )
    obj = None if system is None else system.objective
    if minimizer and obj is not None and obj.minimizer is not None:
        xstar = np.asarray(obj.minimizer, dtype=float)
        mk = ax.plot([xstar[0]], [xstar[1]], marker="*", markersize=15, color="white")[0]
        mk.set_markeredgecolor("black")
        tag(mk, "minimizer", lab("minimizer $x^\\star$"))
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(_MAP_LABELS.get(value, value) if title is None else title)
    if legend:
        add_legend(ax)
    return ax
