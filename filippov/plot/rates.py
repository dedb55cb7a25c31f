r"""Rates: convergence curves of runs and errors against the step size.

:func:`convergence` draws ``f(x_k) − f*`` or ``‖x_k − x*‖²`` along runs on a log scale;
:func:`error_vs_step` the errors of a convergence study on log-log axes with the fitted
order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from filippov._validation import FloatArray, as_real, as_vector, require_int
from filippov.objectives import Objective
from filippov.plot._inputs import (
    axes_or_new,
    check_axes,
    choice,
    flag,
    is_discrete,
    is_solution,
    optional_text,
    run_items,
)
from filippov.plot.styles import RUN_COLORS, RUN_LINESTYLES, RUN_MARKERS, line_style, tag

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

    from filippov.comparison import ConvergenceStudy
    from filippov.plot._inputs import Run, Runs

__all__ = ["convergence", "error_vs_step"]


def _metric_series(
    run: Run,
    metric: str,
    against: str,
    objective: Objective | None,
    x_star: FloatArray | None,
    samples: int,
) -> tuple[FloatArray, FloatArray]:
    """(abscissa, f values or squared distances) of one run, before subtracting f*."""
    if is_solution(run):
        if against != "time":
            raise ValueError(
                "A FilippovSolution has no iterations: use `against='time'`. "
                f"Got against={against!r} instead."
            )
        t0, t1 = float(run.t[0]), float(run.t[-1])
        ts = np.union1d(np.linspace(t0, t1, samples), np.asarray(run.t, dtype=float))
        X = np.asarray(run(ts), dtype=float)
        abscissa = ts
    elif is_discrete(run):
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
    runs: Runs,
    *,
    ax: Axes | None = None,
    metric: str = "gap",
    against: str = "iteration",
    objective: Objective | None = None,
    f_star: float | None = None,
    x_star: ArrayLike | None = None,
    labels: Sequence[str] | None = None,
    samples: int = 400,
    legend: bool = True,
    **kwargs: Any,
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
    **kwargs
        Passed to :meth:`~matplotlib.axes.Axes.plot` for every run's curve (``Line2D``
        properties such as ``linewidth``, ``marker``, ``alpha``), over its colour and
        line style.

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
    >>> ax = plot.convergence(runs, objective=obj, linewidth=2.0)
    >>> plot.artists(ax, "run:*")[0].get_gid()
    'run:SignGD'
    """
    metric = choice(metric, "metric", ("gap", "dist"))
    against = choice(against, "against", ("iteration", "time"))
    if objective is not None and not callable(getattr(objective, "f", None)):
        raise TypeError(
            f"`objective` must be a filippov Objective or None. Got {type(objective).__name__} "
            "instead."
        )
    if f_star is not None:
        f_star = as_real(f_star, "f_star")
    samples = require_int(samples, "samples", 2)
    legend = flag(legend, "legend")
    check_axes(ax)
    items = run_items(runs, labels)
    xs_opt = getattr(objective, "minimizer", None) if objective is not None else None
    xstar = (
        as_vector(x_star, "x_star", getattr(objective, "n", None))
        if x_star is not None
        else (None if xs_opt is None else np.asarray(xs_opt, dtype=float))
    )
    ax = axes_or_new(ax)
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
        style: dict[str, Any] = {
            "color": RUN_COLORS[k % len(RUN_COLORS)],
            "linestyle": RUN_LINESTYLES[k % len(RUN_LINESTYLES)],
            "linewidth": 1.6,
        }
        line = ax.plot(a, y, **line_style(style, kwargs))[0]
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


def _study_field(study: object, names: Sequence[str]) -> Any:
    for name in names:
        if isinstance(study, Mapping) and name in study:
            return study[name]
        if hasattr(study, name):
            return getattr(study, name)
    return None


def error_vs_step(
    study: ConvergenceStudy
    | Mapping[str, Any]
    | Sequence[ConvergenceStudy | Mapping[str, Any]]
    | None = None,
    *,
    ax: Axes | None = None,
    steps: ArrayLike | None = None,
    errors: ArrayLike | None = None,
    order: float | None = None,
    which: str = "sup",
    label: str | None = None,
    fit: bool = True,
    legend: bool = True,
    **kwargs: Any,
) -> Axes:
    r"""Error against step size on log-log axes, with the fitted order in the legend.

    Parameters
    ----------
    study : ConvergenceStudy, mapping or sequence of them, optional
        Anything with step sizes (attribute or key ``steps``) and errors: ``sup_errors``
        and ``order`` (``which="sup"``) or ``final_errors`` and ``final_order``
        (``which="final"``), as in :class:`filippov.comparison.ConvergenceStudy`, or plain
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
    **kwargs
        Passed to :meth:`~matplotlib.axes.Axes.plot` for the error markers of every
        study (``Line2D`` properties such as ``markersize`` or ``marker``), over their
        colour and marker. The fitted lines keep their style.

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
    >>> ax = plot.error_vs_step(steps=eta, errors=2 * eta, label="SignGD", markersize=8)
    >>> plot.artists(ax, "fit:*")[0].get_label()
    'SignGD: fitted order 1.00'
    """
    which = choice(which, "which", ("sup", "final"))
    label = optional_text(label, "label")
    fit = flag(fit, "fit")
    legend = flag(legend, "legend")
    if order is not None:
        order = as_real(order, "order")
    if study is None and (steps is None or errors is None):
        raise ValueError(
            "`study` must be given, or both `steps` and `errors`. Got study=None with "
            f"steps={steps!r} and errors={errors!r} instead."
        )
    check_axes(ax)
    error_names = ("final_errors",) if which == "final" else ("sup_errors", "errors", "error")
    order_names = ("final_order",) if which == "final" else ("order", "fitted_order")
    ax = axes_or_new(ax)
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
        color = RUN_COLORS[k % len(RUN_COLORS)]
        style: dict[str, Any] = {
            "marker": RUN_MARKERS[k % len(RUN_MARKERS)],
            "linestyle": "none",
            "color": color,
            "markersize": 6,
        }
        pts = ax.plot(h, e, **line_style(style, kwargs))[0]
        tag(pts, f"errors:{name}", None if fit else f"{name}")
        if fit:
            hh = np.geomspace(h[ok].min(), h[ok].max(), 50)
            line = ax.plot(
                hh,
                np.exp(c) * hh ** float(p),
                color=color,
                linestyle=RUN_LINESTYLES[k % len(RUN_LINESTYLES)],
                linewidth=1.3,
            )[0]
            tag(line, f"fit:{name}", f"{name}: fitted order {float(p):.2f}")
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
