"""Event location of the event path: where a mode's guard changes sign within a step.

:class:`ModeDense` is a mode's dense output (projected back onto its manifold);
:func:`scan_step` searches each accepted step for the first sign change of the guard (and
grazing contacts), :func:`locate_event` and :func:`turning_point` locate it to a few ulps
by ``brentq`` on the dense output (see :mod:`filippov._event_path`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.polynomial import chebyshev
from scipy.integrate import OdeSolution
from scipy.optimize import brentq, minimize_scalar

from filippov._mode_field import ModeField
from filippov._validation import FloatArray

_EPS = np.finfo(float).eps


class ModeDense:
    """Dense output of one mode: the integrator's piecewise interpolant, with states on a
    sliding manifold or tie projected back onto it (so the dense output's drift is
    rounding, not the integration error).

    A module-level class, not a closure, so that solutions pickle: the projection needs
    only the system and the mode, and the mode's field is rebuilt from them on loading.
    """

    def __init__(self, ode_sol: OdeSolution, field: ModeField | None) -> None:
        self.ode_sol = ode_sol
        self.field = field

    def __call__(self, s: FloatArray) -> FloatArray:
        X = np.asarray(self.ode_sol(s)).T
        if self.field is None:
            return X
        return np.array([self.field.project(xk) for xk in np.atleast_2d(X)])

    def __getstate__(self) -> dict[str, Any]:
        f = self.field
        mode = None if f is None else (f.system, f.norm, f.sigma, f.free)
        return {"ode_sol": self.ode_sol, "mode": mode}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.ode_sol = state["ode_sol"]
        self.field = None
        if state["mode"] is not None:
            system, norm, sigma, free = state["mode"]
            m = sigma.shape[0]
            # Projection uses neither the offsets, the scale, the gain nor a recorder.
            self.field = ModeField(system, norm, sigma, free, np.zeros(m), 1.0, 0.0, None)


def locate_event(
    field: ModeField,
    dense: Callable[..., FloatArray],
    lo: float,
    hi: float,
    g_lo: FloatArray | None,
    g_hi: FloatArray | None,
) -> tuple[float, FloatArray, FloatArray]:
    """Where the guard reaches zero in ``[lo, hi]`` (positive at ``lo``, not at ``hi``).

    ``g_lo`` and ``g_hi`` hold the guard entries at ``lo`` and ``hi`` when known. When
    every entry that is non-positive at ``hi`` depends on ``h`` alone (an index reaching
    its surface, the common event), they are located by :func:`_earliest_root`, which
    evaluates ``h`` only instead of the whole mode (Jacobian rows and the selection). The
    whole guard is then checked at the root found: if another entry is already below
    zero there, it crossed first, and the minimum of all entries is located on
    ``[lo, root]`` as in the general case.

    Returns ``(t, x(t), guard entries at t)``.
    """
    cand = _cheap_crossings(field, g_hi)
    if cand.size and g_lo is not None and g_hi is not None:
        t_ev, located = _earliest_root(field, dense, lo, hi, g_lo, g_hi, cand)
        x_ev = _state(dense, t_ev)
        values = field.guard_values(x_ev)[0]
        if _others_min(values, located) >= 0.0:
            return t_ev, x_ev, values
        hi = t_ev  # another entry crossed earlier: it is inside [lo, t_ev]

    def g_of_t(s: float) -> float:
        return field.guard(_state(dense, s))

    t_ev = _bracketed_root(g_of_t, lo, hi)
    x_ev = _state(dense, t_ev)
    return t_ev, x_ev, field.guard_values(x_ev)[0]


def turning_point(
    field: ModeField,
    dense: Callable[..., FloatArray],
    lo: float,
    hi: float,
    h_lo: FloatArray,
) -> tuple[float, FloatArray]:
    """Where ``h_lo · h(x(t))`` changes sign on ``[lo, hi]`` (positive at ``lo``, not at
    ``hi``), and the state there; a non-finite ``h`` on the way counts as past the turn."""

    def along(s: float) -> float:
        try:
            value = float(h_lo @ field.system.kernel_evaluate(_state(dense, s))[2])
        except FloatingPointError:
            return -1.0
        return value if np.isfinite(value) else -1.0

    t_ev = _bracketed_root(along, lo, hi)
    return t_ev, _state(dense, t_ev)


def _bracketed_root(fun: Callable[[float], float], lo: float, hi: float) -> float:
    """A zero of ``fun`` in ``[lo, hi]``, where ``fun(lo) > 0 >= fun(hi)``, to a few ulps.

    ``brentq`` first; it can exhaust its iterations on a flat root (a guard like
    ``(x + 1)³`` near a degenerate minimum, whose values sink into rounding noise long
    before the bracket is small), so bisection, which needs at most ~64 halvings of a
    double interval and never fails, finishes from the bracket brentq was given.
    """
    xtol = _xtol(hi)
    root, info = brentq(
        fun, lo, hi, xtol=xtol, rtol=4 * _EPS, maxiter=200, full_output=True, disp=False
    )
    if info.converged:
        return float(root)
    while hi - lo > xtol + 4 * _EPS * abs(hi):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if fun(mid) > 0.0:
            lo = mid
        else:
            hi = mid
    return hi


def _state(dense: Callable[..., FloatArray], s: float) -> FloatArray:
    return np.asarray(dense(s), dtype=float)


def _xtol(b: float) -> float:
    """Absolute time tolerance of the root finding near ``b`` (a few ulps)."""
    return 4 * _EPS * max(1.0, abs(b))


def _cheap_crossings(field: ModeField, g: FloatArray | None) -> np.ndarray:
    """Entries not above zero in ``g`` when all of them depend on ``h`` alone, else none."""
    if g is None:
        return np.empty(0, dtype=np.intp)
    cand = np.flatnonzero(g <= 0.0)
    return cand if bool(np.all(field.cheap[cand])) else np.empty(0, dtype=np.intp)


def _others_min(values: FloatArray, located: int) -> float:
    """The smallest guard entry other than ``located`` (``inf`` when there is none)."""
    return float(np.min(np.delete(values, located), initial=np.inf))


def _earliest_root(
    field: ModeField,
    dense: Callable[..., FloatArray],
    lo: float,
    hi: float,
    g_lo: FloatArray,
    g_hi: FloatArray,
    cand: np.ndarray,
) -> tuple[float, int]:
    """The earliest time in ``(lo, hi]`` at which one of the guard entries ``cand`` (all
    of h alone, positive in ``g_lo`` at ``lo`` and not in ``g_hi`` at ``hi``) reaches zero,
    and that entry.

    The entries are taken in the order of their linear root estimates; each is located by
    ``brentq`` on the dense output, evaluating h only. After each root the remaining
    entries are read there (one evaluation of h): those already at or below zero reach it
    earlier and are located before it. The known values at the bracket's ends are given
    to ``brentq`` instead of being recomputed.

    An entry positive again at a root found is dropped, although it may have crossed zero
    and come back before that root: the callers therefore check every entry but the one
    returned at the root (on a long step of a free ℓ∞ mode, exact for the integrator, an
    entry that had just crossed reaches 0 again late in the step, and a third entry that
    crossed early and turned back was dropped at that root; see `scan_step`).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        est = g_lo[cand] / (g_lo[cand] - g_hi[cand])
    pending = [int(c) for c in cand[np.argsort(est, kind="stable")]]
    at_hi = {c: float(g_hi[c]) for c in pending}
    t_hi = hi
    located = pending[0]
    while pending:
        c = located = pending.pop(0)
        known = {lo: float(g_lo[c]), t_hi: at_hi[c]}

        def entry(s: float, c: int = c, known: dict[float, float] = known) -> float:
            v = known.get(s)
            if v is not None:
                return v
            return float(field.cheap_entries(_state(dense, s), np.array([c]))[0])

        t_hi = _bracketed_root(entry, lo, t_hi)
        if pending and t_hi > lo:
            vals = field.cheap_entries(_state(dense, t_hi), np.asarray(pending))
            at_hi = dict(zip(pending, (float(v) for v in vals), strict=True))
            pending = [p for p in pending if at_hi[p] <= 0.0]
    return t_hi, located


#: Interior points at which each accepted step's dense output is checked for guards that
#: dip below zero and come back within the step (the step ends alone would miss them), on
#: the part of the step searched (up to the earliest root at its end, if any).
_DIP_SAMPLES = 8
#: A guard whose minimum inside a step lies within this (relative) distance of zero
#: touches its boundary without crossing it: a grazing contact, recorded as a tangency.
_GRAZE_TOL = 1e-10


@functools.cache
def _equispaced_to_chebyshev(n: int) -> FloatArray:
    """The matrix taking the values at ``n`` equispaced nodes of an interval to the
    Chebyshev coefficients of their interpolating polynomial on it (the inverse of the
    Chebyshev–Vandermonde matrix, taken once per ``n``: a product per step instead of a
    least-squares fit)."""
    return np.asarray(np.linalg.inv(chebyshev.chebvander(np.linspace(-1.0, 1.0, n), n - 1)), float)


def _interpolant_dips(ts: FloatArray, G: FloatArray) -> dict[int, float]:
    """``{i: t}`` for each interval ``(ts[i], ts[i + 1])`` in which the polynomial through
    all the samples ``G`` at the equispaced times ``ts`` (one row per time, one column per
    guard entry; degree up to 9) is negative for some entry: ``t`` the middle of the
    first such window there.

    A guard that is a polynomial of degree up to ``len(ts) − 1`` in ``t`` (a guard of a
    state moving at constant speed through a polynomial ``h``, as on a free mode of a
    sign flow, where the integrator's steps grow to the end of the span) is then exact;
    smooth guards are resolved to the interpolation's accuracy. The windows are found
    from the polynomial's own roots (numpy's Chebyshev series: the companion matrix's
    eigenvalues), not from samples of it, which miss a window narrower than their
    spacing. Only entries whose series may reach zero are examined: with ``|T_k| ≤ 1``
    on the interval, the polynomial is at least ``c_0 − Σ_{k≥1} |c_k|``, positive for
    the entries far from their boundary (most of them). (On equispaced nodes the
    polynomial may swing between them near the ends of the step: a false dip costs one
    evaluation of the guard, which then decides.)
    """
    if not bool(np.all(np.diff(ts) > 0.0)):  # (a step shorter than its samples' spacing)
        return {}
    a, b = float(ts[0]), float(ts[-1])
    coef = _equispaced_to_chebyshev(len(ts)) @ G.reshape(len(ts), -1)
    lowest = coef[0] - np.abs(coef[1:]).sum(axis=0)
    out: dict[int, float] = {}
    for c in np.flatnonzero(~(lowest > 0.0)).tolist():
        series = coef[:, c]
        roots = chebyshev.chebroots(series) if series.size > 1 else np.zeros(0)
        real = roots.real[(np.abs(roots.imag) <= 1e-9) & (np.abs(roots.real) < 1.0)]
        edges = np.concatenate(([-1.0], np.sort(real), [1.0]))
        mids = 0.5 * (edges[:-1] + edges[1:])
        for w in np.flatnonzero(chebyshev.chebval(mids, series) < 0.0).tolist():
            t_mid = 0.5 * ((b - a) * float(mids[w]) + a + b)
            i = min(max(int(np.searchsorted(ts, t_mid)) - 1, 0), len(ts) - 2)
            out[i] = min(out.get(i, t_mid), t_mid)
    return out


def scan_step(
    field: ModeField,
    dense: Callable[..., FloatArray],
    t_old: float,
    t_new: float,
    g_old: FloatArray,
    g_new: FloatArray,
) -> tuple[float | None, tuple[Any, ...] | None]:
    """Find the first place in the step where the guard changes sign.

    When the guard is not positive at the step's end and every entry below zero there
    depends on ``h`` alone (a switching surface reached: the common event), the earliest
    of them is located first, from ``h`` alone (:func:`_earliest_root`); the search for
    earlier sign changes and dips then only covers the step up to that time.

    That search samples the guard vector at ``_DIP_SAMPLES`` equispaced interior points
    of the part of the step it covers (however short: after an event the integrator's
    step often runs to the end of the span, and the next root is early in it); between
    samples each component is modelled by the polynomial through all of them, whose
    negative windows are found from its roots (`_interpolant_dips`), and by the parabola
    through three consecutive samples (for grazing contacts); a predicted window is
    checked on the guard itself. A window narrower than the samples resolve is still
    missed where the polynomial is not close to the guard. Measured on a review's random
    systems of polynomial guards of degree up to 5 (a state moving at constant speed, so
    the polynomial is exact; random, shared and double roots), counting runs that end
    with status ≥ 0 and a trajectory more than 1e-6 off: 29 of 900 before (the
    polynomial sampled between the samples, through the samples up to the first sign
    change only, and fewer samples on a part of a step), 0 of 900 now.

    Returns ``(t_graze, found)``: ``t_graze`` the time of a grazing contact (the guard
    only touches zero and turns back) before any sign change, or None; ``found`` is
    ``("event", t, x, g)`` for an event located at ``t`` (state ``x``, guard entries
    ``g``), ``("cross", lo, hi, g_lo, g_hi)`` with the guard positive at ``lo`` and not at
    ``hi`` (``g_lo``, ``g_hi`` its entries there when they were sampled, else None), or
    None when the guard stays positive.
    """
    t_hi = t_new
    t_root: float | None = None
    located = -1
    cand = _cheap_crossings(field, g_new)
    if cand.size:
        t_root, located = _earliest_root(field, dense, t_old, t_new, g_old, g_new, cand)
        t_hi = t_root
    # _DIP_SAMPLES interior samples on the part of the step searched, however short it is
    # (the polynomial through them resolves the guards there as finely as on a whole step).
    k = _DIP_SAMPLES
    ts = np.linspace(t_old, t_hi, k + 2)
    # One call of the dense output for all samples; rows made contiguous (states).
    X = np.ascontiguousarray(np.asarray(dense(ts[1:-1]), dtype=float).T)
    rows = [g_old]
    for xk in X:
        rows.append(field.guard_values(xk)[0])
    g_hi, x_root = g_new, None
    if t_root is not None:
        # Evaluated last, so the event state is the field's cached one for _transition.
        x_root = _state(dense, t_root)
        g_hi = field.guard_values(x_root)[0]
    rows.append(g_hi)
    G = np.asarray(rows)
    mins = G.min(axis=1)
    if x_root is not None:
        # At the located root its own entry is zero to rounding: the last row is a
        # crossing only if another entry is already below zero there (another of the
        # candidates too: `_earliest_root` may have dropped one that crossed before).
        others = _others_min(g_hi, located)
        mins[-1] = others if others < 0.0 else np.inf
    hit = np.flatnonzero(mins <= 0.0)
    first = int(hit[0]) if hit.size else None
    # Parabolic look between samples, up to the first sampled sign change.
    last = first if first is not None else len(ts) - 1
    t_graze: float | None = None
    # (through every sample: the guards are smooth on the whole step, and the samples
    # past a sign change pin the polynomial down before it)
    suspects = _interpolant_dips(ts, G) if len(ts) >= 3 else {}

    def confirmed_dip(i: int) -> float | None:
        # Where the polynomial through all the samples dips below zero in interval i, the
        # guard itself is read there (a narrow window of an entry between two samples,
        # which the parabolas through three samples miss): the time if it is below zero.
        t_dip = suspects.pop(i, None)
        if t_dip is None:
            return None
        return t_dip if field.below(_state(dense, t_dip), _GRAZE_TOL) else None

    if last == 1:
        # (the first sampled sign change is at the first sample: the loop below, over
        # pairs of intervals before it, does not run)
        t_dip = confirmed_dip(0)
        if t_dip is not None:
            return None, ("cross", float(ts[0]), t_dip, None, None)
    for j in range(1, last):
        t0, t1, t2 = ts[j - 1], ts[j], ts[j + 1]
        for i in (j - 1, j):
            t_dip = confirmed_dip(i)
            if t_dip is not None:
                return t_graze, ("cross", float(ts[i]), t_dip, None, None)
        if t_graze is not None and t0 < t_graze < t2:
            continue  # the contact already found
        g0, g1, g2 = G[j - 1], G[j], G[j + 1]
        # Second divided difference (curvature) and the vertex of each parabola.
        d01 = (g1 - g0) / (t1 - t0)
        d12 = (g2 - g1) / (t2 - t1)
        curv = (d12 - d01) / (t2 - t0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = 0.5 * (t0 + t1) - d01 / (2 * curv)
        cand_j = (curv > 0) & (t_star > t0) & (t_star < t2)
        if not np.any(cand_j):
            continue
        with np.errstate(invalid="ignore", over="ignore"):  # nan/inf off cand_j: masked
            pred = np.where(
                cand_j, g0 + d01 * (t_star - t0) + curv * (t_star - t0) * (t_star - t1), np.inf
            )
        if float(np.min(pred)) > 0.0:
            continue
        # Locate the guard's true minimum on [t0, t2]: a graze touches zero (to rounding)
        # and turns back, a dip crosses it.
        res = minimize_scalar(
            lambda tt: field.guard(np.asarray(dense(tt), dtype=float)),
            bounds=(float(t0), float(t2)),
            method="bounded",
            options={"xatol": 4 * _EPS * max(1.0, abs(float(t2)))},
        )
        t_min, g_min = float(res.x), float(res.fun)
        margin = 1e-6 * (t2 - t0)
        if not (t0 + margin < t_min < t2 - margin):
            continue  # the minimum is at an end (e.g. a guard starting at its offset)
        if g_min <= -_GRAZE_TOL * max(1.0, field.h_scale):
            lo = t0 if t_min <= t1 else t1
            return t_graze, ("cross", float(lo), t_min, None, None)
        depth = min(float(mins[j - 1]), float(mins[j + 1])) - g_min
        if abs(g_min) <= _GRAZE_TOL * max(1.0, field.h_scale) and depth > 100 * abs(g_min):
            # A real touch: the guard comes down to zero from well above and turns back
            # (a guard that merely wobbles at its start offset is not a contact). The
            # search goes on: the guard may still cross zero later in the step.
            t_graze = t_min
    if first is not None:
        return t_graze, ("cross", float(ts[first - 1]), float(ts[first]), G[first - 1], G[first])
    if x_root is not None:
        return t_graze, ("event", t_hi, x_root, g_hi)
    return t_graze, None
