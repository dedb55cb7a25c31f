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


#: How far (in the run's tolerances) the projection may move a state of a sliding mode's
#: dense output, or the manifold may have moved at the mode's last state, before a read is
#: refused as one from another system (see `ModeDense`). The integration keeps its states
#: within about 120 tolerances of the manifold (measured over 360 event-path runs of five
#: objective families at rtol 1e-6 to 1e-10), and an objective whose gradient is only
#: reproducible to 1e-7 moves it by far less.
_MOVE_TOLERANCES = 1e4
#: ... and how far the manifold may have moved at the mode's last state, in the state's
#: units: the same state before and after, so no drift enters; but a gradient that is
#: reproducible only to 1e-7 (a warm-started inner solve) moved it by 143 tolerances at
#: rtol 1e-10 with nothing changed. (Under the nodes' bound a minimizer moved by 1e3
#: tolerances was read silently; at this one a move of 1e3 or more is refused.)
_END_MOVE_TOLERANCES = 1e3


class ModeDense:
    """Dense output of one mode: the integrator's piecewise interpolant, with states on a
    sliding manifold or tie projected back onto it (so the dense output's drift is
    rounding, not the integration error).

    A module-level class, not a closure, so that solutions pickle: the projection needs
    only the system and the mode, and the mode's field is rebuilt from them on loading.

    The projection calls the user's functions when the dense output is first read (the
    recorder samples it lazily: projecting every node at once tripled the event path's
    cost). Those functions may read state the user changes after the solve (a parameter
    loop over one closure): the projection would then follow another system, silently.
    So a read is refused when it would move a state by more than `_MOVE_TOLERANCES` of
    the run's tolerances ``state_tol = (rtol, atol)``: where the projection moves one of
    the integrator's states that far, or where ``h_J`` at the mode's last state (``check``:
    that state, ``h_J`` there and its gradients' norms as the solve saw them) has moved
    that far in the state's units.
    """

    def __init__(
        self,
        ode_sol: OdeSolution,
        field: ModeField | None,
        check: tuple[FloatArray, FloatArray, FloatArray] | None = None,
        state_tol: tuple[float, float] | None = None,
    ) -> None:
        self.ode_sol = ode_sol
        self.field = field
        self.check = check
        self.state_tol = state_tol

    def __call__(self, s: FloatArray) -> FloatArray:
        X = np.asarray(self.ode_sol(s)).T
        if self.field is None:
            return X
        if self.check is not None and self.state_tol is not None:
            # (at every call: one evaluation against the projections of all the nodes a
            # read takes at once; a single state read during the solve is one too)
            self._system_unchanged(self.field, *self.check)
        P = np.array([self.field.project(xk) for xk in np.atleast_2d(X)])
        if self.state_tol is not None:
            moved = np.abs(P - np.atleast_2d(X)).max(axis=1) / self._tol(np.atleast_2d(X))
            k = int(np.argmax(moved))
            if moved[k] > _MOVE_TOLERANCES:
                # (the end check above passed, or had nothing to compare: a move this large
                # is a change of the system inside the segment, or the integrator's
                # interpolant far off the manifold between its nodes; the message names
                # both instead of asserting the first)
                checked = self.check is not None
                self._refuse(
                    f"projecting the integrator's state {np.array2string(np.atleast_2d(X)[k], precision=6)} "
                    f"onto the mode's manifold moves it by {moved[k]:.3g} tolerances",
                    "the switching functions at the mode's last state are as the solve saw "
                    "them, so either the system changed inside the segment, or the "
                    "integrator's interpolant left the manifold this far between its nodes"
                    if checked
                    else "either the system changed, or the integrator's interpolant left the "
                    "manifold this far between its nodes",
                )
        return P

    def _tol(self, X: FloatArray) -> FloatArray:
        assert self.state_tol is not None
        rtol, atol = self.state_tol
        return rtol * np.maximum(1.0, np.abs(X).max(axis=1)) + atol

    def _system_unchanged(
        self, field: ModeField, x: FloatArray, h_then: FloatArray, row_norms: FloatArray
    ) -> None:
        # Straight from the system (the mode's own evaluations are cached by state).
        h_now = np.asarray(field.system.kernel_f0_h(x)[1], dtype=float)[field.free]
        # (the manifold's move in the state's units: h's change over its gradient's size)
        moved = float(np.max(np.abs(h_now - h_then) / np.maximum(row_norms, 1e-300), initial=0.0))
        tol = float(self._tol(x[None, :])[0])
        if not moved <= _END_MOVE_TOLERANCES * tol:
            self._refuse(
                f"its switching functions h_J at the state x = {np.array2string(x, precision=6)} "
                f"moved by {moved / tol:.3g} tolerances in the state's units"
            )

    @staticmethod
    def _refuse(what: str, cause: str = "") -> None:
        # (a drift of the solve's own integrator reads the same as a change inside the
        # segment; the event path restarts a mode from the projected state once its drift
        # passes 10 tolerances at the nodes, so a move this large is most likely a changed
        # system, but a duplicated-feature tie's ill-conditioned projection once moved
        # states by 1.3e64 tolerances with the system unchanged: ``cause`` says which
        # checks passed)
        lead = (
            "the system this solution was computed with has changed since the solve"
            if not cause
            else "the system this solution was computed with may have changed since the solve"
        )
        detail = f" ({cause})" if cause else ""
        raise RuntimeError(
            f"{lead}: {what}{detail}. The event path's dense output on sliding segments is projected onto "
            "the mode's manifold when first read, with the system's functions as they are "
            "then. Read the solution (sol(t), save, pickle) before changing what its "
            "functions depend on, or give each run its own objective; the breakpoints "
            "sol.t, sol.x and the events are not affected."
        )

    def __getstate__(self) -> dict[str, Any]:
        f = self.field
        # (with a least-norm mode's null basis: its projection borders the block with it)
        mode = None if f is None else (f.system, f.norm, f.sigma, f.free, f.null_basis)
        return {
            "ode_sol": self.ode_sol,
            "mode": mode,
            "check": self.check,
            "state_tol": self.state_tol,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.ode_sol = state["ode_sol"]
        self.field = None
        self.check = state.get("check")
        self.state_tol = state.get("state_tol")
        if state["mode"] is not None:
            system, norm, sigma, free, *rest = state["mode"]
            m = sigma.shape[0]
            # Projection uses neither the offsets, the scale, the gain nor a recorder.
            self.field = ModeField(system, norm, sigma, free, np.zeros(m), 1.0, 0.0, None)
            self.field.null_basis = rest[0] if rest else None


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

    def deep(s: float, value: float) -> bool:
        return field.below(_state(dense, s), _GRAZE_TOL)

    t_ev = _bracketed_root(g_of_t, lo, hi, deep=deep)
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
            value = float(h_lo @ field.system.kernel_f0_h(_state(dense, s))[1])
        except FloatingPointError:
            return -1.0
        return value if np.isfinite(value) else -1.0

    t_ev = _bracketed_root(along, lo, hi)
    return t_ev, _state(dense, t_ev)


def _bracketed_root(
    fun: Callable[[float], float],
    lo: float,
    hi: float,
    f_lo: float | None = None,
    f_hi: float | None = None,
    deep: Callable[[float, float], bool] | None = None,
) -> float:
    """The earliest zero of ``fun`` in ``[lo, hi]``, where ``fun(lo) > 0 >= fun(hi)``, to
    a few ulps: a time at which ``fun`` is at or below zero, a few ulps past one at which
    it is still positive (``f_lo``, ``f_hi``: ``fun`` at the ends when known).

    With ``deep`` given (whether a value of ``fun`` at a time is below zero by more than a
    grazing contact's depth), the bracket is first narrowed to its earliest sign change
    (:func:`_first_bracket`): ``brentq`` returns *a* zero of a bracket, and on a bracket
    holding three roots of one guard entry it returned the last (an event located late,
    silently). Then ``brentq``; it can exhaust its iterations on a flat root (a guard like
    ``(x + 1)³`` near a degenerate minimum, whose values sink into rounding noise long
    before the bracket is small), so bisection, which needs at most ~64 halvings of a
    double interval and never fails, finishes from the bracket brentq was given.

    The time returned is never one at which ``fun`` is still positive (brentq's estimate
    may be, by rounding): :func:`_past_sign_change` moves it the few ulps to the sign
    change. An event located there would show no guard at its boundary to the transition,
    which then restarts the same mode, whose guard reaches zero at its very start: a flat
    guard in rounding noise (|h'| ~ 5e-5, |h| ~ 1e-12 over 4e-8) repeated this until
    brentq was called on a bracket of zero length ("f(a) and f(b) must have different
    signs", status −1).
    """
    seen: dict[float, float] = {}

    def f(s: float) -> float:
        v = seen.get(s)
        if v is None:
            v = seen[s] = fun(s)
        return v

    if f_lo is not None:
        seen[lo] = f_lo
    if f_hi is not None:
        seen[hi] = f_hi
    if deep is not None:
        lo, hi = _first_bracket(f, lo, hi, deep)
    xtol = _xtol(hi, hi - lo)
    if hi - lo <= xtol:
        return hi
    root, info = brentq(
        f, lo, hi, xtol=xtol, rtol=4 * _EPS, maxiter=200, full_output=True, disp=False
    )
    if info.converged:
        return _past_sign_change(f, float(root), hi)
    while hi - lo > xtol + 4 * _EPS * abs(hi):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if f(mid) > 0.0:
            lo = mid
        else:
            hi = mid
    return hi


def _past_sign_change(fun: Callable[[float], float], t: float, hi: float) -> float:
    """``t`` if ``fun(t) <= 0``; else the first time found past ``t`` (and not past
    ``hi``, where ``fun(hi) <= 0``) at which ``fun`` is not positive, a double or two past
    one at which it is (steps of ¼, ½, 1, 2, … ulps of 1 or ``t``, then halving).

    A time at which ``fun`` raises FloatingPointError (the exact pole of an ``h`` like
    ``1/x``, which these steps of an ulp can land on) is stepped over."""

    def positive(s: float) -> bool | None:
        try:
            return bool(fun(s) > 0.0)
        except FloatingPointError:
            return None

    if positive(t) is False:
        return t
    a, step = t, _xtol(t) / 16
    b = min(t + step, hi)
    while positive(b) is not False and b < hi:
        a, step = b, 2.0 * step
        b = min(t + step, hi)
    while True:
        mid = 0.5 * (a + b)
        if mid <= a or mid >= b:
            return b
        above = positive(mid)
        if above is None:
            return b
        if above:
            a = mid
        else:
            b = mid


#: Equispaced interior samples of a bracket, and the most nested brackets, in
#: :func:`_first_bracket` (the polynomial through 10 values has degree 9, as in
#: `scan_step`).
_BRACKET_SAMPLES = 8
_BRACKET_LEVELS = 3


def _first_bracket(
    fun: Callable[[float], float],
    lo: float,
    hi: float,
    deep: Callable[[float, float], bool],
) -> tuple[float, float]:
    """A bracket ``[a, b]`` in ``[lo, hi]`` (``fun(a) > 0 >= fun(b)``) of the earliest sign
    change of ``fun`` on ``[lo, hi]`` that its samples resolve.

    ``fun`` is sampled at ``_BRACKET_SAMPLES`` equispaced interior points; the bracket is
    narrowed to the first sampled sign change, or to an earlier window below zero between
    samples: the polynomial through all the samples (exact for a polynomial guard of degree
    up to 9 along a straight motion, as in `scan_step`) has a local minimum there at or
    near zero, and ``fun`` itself is checked at it, counting only when ``deep`` (below
    zero by more than a grazing contact, the depth `scan_step` confirms a window with:
    shallower ones are touches). The narrowed bracket is searched in the same way while
    the polynomial is not monotone on it (several roots, or a window, may be inside), up
    to ``_BRACKET_LEVELS`` times. This is our own search, not scipy's: its root finders
    (brentq, bisect, ridder, toms748) each return *some* zero of a bracket.
    """
    k = _BRACKET_SAMPLES
    to_cheb = _equispaced_to_chebyshev(k + 2)
    for _ in range(_BRACKET_LEVELS):
        ts = np.linspace(lo, hi, k + 2)
        if not bool(np.all(np.diff(ts) > 0.0)):
            break  # (a bracket of a few ulps)
        v = np.array([fun(float(s)) for s in ts])
        past = np.flatnonzero(~(v > 0.0))  # (a non-finite value counts as past the root)
        if not past.size or past[0] == 0:
            break  # (not a bracket: brentq says so)
        j = int(past[0])
        if not bool(np.all(np.isfinite(v))):
            lo, hi = float(ts[j - 1]), float(ts[j])
            break
        coef = to_cheb @ v
        # The polynomial's local minima (its derivative's real roots where it turns up)
        # before the first sampled sign change, at or near zero (a window it may miss
        # by its interpolation error, or by rounding in its roots).
        d1 = chebyshev.chebder(coef)
        crit = chebyshev.chebroots(d1) if d1.size > 1 else np.zeros(0)
        crit = np.sort(crit.real[(np.abs(crit.imag) <= 1e-9) & (np.abs(crit.real) < 1.0)])
        t_crit = 0.5 * ((hi - lo) * crit + lo + hi)
        turns = t_crit[(t_crit > lo) & (t_crit < hi)]
        minima = crit[chebyshev.chebval(crit, chebyshev.chebder(d1)) > 0.0]
        low = chebyshev.chebval(minima, coef) <= 1e-3 * float(np.max(np.abs(v)))
        t_min = 0.5 * ((hi - lo) * minima[low] + lo + hi)
        window = None
        for s in t_min[(t_min > lo) & (t_min < ts[j])].tolist():
            value = fun(s)
            if value <= 0.0 and deep(s, value):
                window = s
                break
        if window is not None:
            i = int(np.searchsorted(ts, window)) - 1
            lo, hi = float(ts[i]), window
            continue
        lo, hi = float(ts[j - 1]), float(ts[j])
        if not bool(np.any((turns > lo) & (turns < hi))):
            break  # monotone on the bracket (as far as the polynomial shows)
    return lo, hi


def _state(dense: Callable[..., FloatArray], s: float) -> FloatArray:
    return np.asarray(dense(s), dtype=float)


#: Event times are located to this fraction of the bracket they are found in, where that
#: is more than a few ulps of the time (see `_xtol`).
_TIME_RTOL = 1e-15


def _xtol(b: float, width: float = 0.0) -> float:
    """Absolute time tolerance of the root finding near ``b``: a few ulps of ``b``, or
    `_TIME_RTOL` of the bracket's ``width`` where that is more (near ``t = 0``, where ulps
    of the time are far below any time the run resolves).

    Why not a few ulps of ``max(1, |b|)``: that is an absolute ``8.9e-16`` near ``t = 0``,
    whatever the run's own times. The twisting controller with times of ``1e-8`` has event
    gaps of ``1e-10`` and below where its accumulation is extrapolated; its event times
    were ``1e-15`` off, the ratios of its gaps no longer agreed, and the run stopped at its
    last crossing (Zeno guard, nothing extrapolated, ``1.7e-7`` of ``t*`` off; with times
    of ``1e-6`` the extrapolated limit was ``1e-8`` of ``t*`` off)."""
    return max(4 * _EPS * abs(b), _TIME_RTOL * width, 1e-300)


def _cheap_crossings(field: ModeField, g: FloatArray | None) -> np.ndarray:
    """Entries not above zero in ``g`` when all of them depend on ``h`` alone, else none."""
    if g is None:
        return np.empty(0, dtype=np.intp)
    cand = np.flatnonzero(g <= 0.0)
    return cand if bool(np.all(field.cheap[cand])) else np.empty(0, dtype=np.intp)


def _others_min(values: FloatArray, located: int) -> float:
    """The smallest guard entry other than ``located`` (``inf`` when there is none)."""
    return float(np.min(np.delete(values, located), initial=np.inf))


def _deeper_than(field: ModeField, position: int, tol: float) -> Callable[[float, float], bool]:
    """Whether a value of guard entry ``position`` (of h alone) is at or below ``−tol``
    times its scale, as :meth:`ModeField.below` judges it."""
    scale = max(1.0, field.h_scale)
    if field.norm == "l1" and field.index_scales is not None:
        scale = max(1.0, float(field.index_scales[field.entry_index(position)]))
    limit = -tol * scale
    return lambda s, value: value <= limit


def _earliest_root(
    field: ModeField,
    dense: Callable[..., FloatArray],
    lo: float,
    hi: float,
    g_lo: FloatArray,
    g_hi: FloatArray,
    cand: np.ndarray,
    narrow: bool = True,
) -> tuple[float, int]:
    """The earliest time in ``(lo, hi]`` at which one of the guard entries ``cand`` (all
    of h alone, positive in ``g_lo`` at ``lo`` and not in ``g_hi`` at ``hi``) reaches zero,
    and that entry.

    With ``narrow``, each entry's bracket is first narrowed to its earliest sign change
    (:func:`_first_bracket`); without (`scan_step` on a whole step, which then searches
    the step up to the root found with the same samples and windows, and locates any
    earlier sign change through :func:`locate_event`), ``brentq`` may return a later root
    of an entry that has several in the step.

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

        deep = _deeper_than(field, c, _GRAZE_TOL) if narrow else None
        t_hi = _bracketed_root(entry, lo, t_hi, known[lo], known[t_hi], deep)
        if pending and t_hi > lo:
            vals = field.cheap_entries(_state(dense, t_hi), np.asarray(pending))
            at_hi = dict(zip(pending, (float(v) for v in vals), strict=True))
            pending = [p for p in pending if at_hi[p] <= 0.0]
    return t_hi, located


def _offset_positions(field: ModeField) -> np.ndarray:
    """Guard positions of the ℓ1 indices, or of the ℓ∞ indices off the tie, that still
    keep an offset from their boundary (they started the mode on it; see
    :meth:`ModeField.settle_offsets`). The ℓ∞ ties' offsets are released as the ℓ1
    indices' are: kept for a whole mode, each re-entry into the tie came late by the
    offset over its rate (review R19)."""
    if field.norm not in ("l1", "linf"):
        return np.empty(0, dtype=np.intp)
    return np.flatnonzero(field.offset[field.fixed] > 0.0)


def release_offsets(field: ModeField, x: FloatArray, g: FloatArray) -> FloatArray:
    """The guard entries ``g`` at ``x`` (the end of an accepted step without event) after
    releasing the offsets that have done their job.

    An index that starts a mode on its boundary keeps an offset (a margin above the
    rounding of its ``h_i`` there), so that it cannot fire at the mode's own start. Kept
    for the whole mode, it delays the index's next arrival until ``σ_i h_i = −offset``,
    by ``offset / |h_i'|``: with a margin of 1e-9 (1e-12 of ``|∂h_i/∂x|`` at x0) and a
    flat crossing (``|h_i'|`` = 1.2e-4, two roots 6e-3 apart) an event 9e-6 late,
    silently. Once the guard has risen to three times its offset (``σ_i h_i`` to twice
    it), the index has left its boundary by more than its rounding: the offset is dropped
    (set to 0) for the rest of the mode, as on the continuation path.
    """
    pos = _offset_positions(field)
    if not pos.size:
        return g
    idx = field.fixed[pos]
    off = field.offset[idx]
    up = g[pos] >= 3.0 * off
    if not bool(np.any(up)):
        return g
    field.offset[idx[up]] = 0.0
    return np.asarray(field.guard_values(x)[0], dtype=float)


def without_late_offsets(
    field: ModeField,
    dense: Callable[..., FloatArray],
    t_old: float,
    g_old: FloatArray,
    t_ev: float,
    values: FloatArray,
) -> tuple[float, FloatArray, FloatArray] | None:
    """The event moved earlier, when an index with an offset crossed its surface before
    the event located on ``[t_old, t_ev]`` (``g_old``: the guard at ``t_old``, ``values``
    at ``t_ev``); ``None`` when none did.

    The offsets of :func:`release_offsets` are dropped at the end of a step only; within
    one step (often the whole rest of a mode on a constant field) ``σ_i h_i`` can rise
    above the offset and come back to its surface: the guard ``σ_i h_i + offset`` then
    reaches 0 late, or not at all (a window shallower than the offset is taken for a
    touch). Each index with an offset and ``σ_i h_i <= 0`` at ``t_ev`` is sampled on the
    step up to ``t_ev``: if its guard reaches four times its offset at a sample (as on
    the continuation path, where such a step is cut at that peak), the offset is dropped
    and the earliest root of ``σ_i h_i`` after that sample located. Returns
    ``(t, x(t), guard entries at t)`` at the earliest of them.
    """
    pos = _offset_positions(field)
    if not pos.size:
        return None
    off = field.offset[field.fixed[pos]]
    pos, off = pos[values[pos] - off <= 0.0], off[values[pos] - off <= 0.0]
    if not pos.size or not t_ev > t_old:
        return None
    ts = np.linspace(t_old, t_ev, _DIP_SAMPLES + 2)[:-1]
    X = np.asarray(dense(ts[1:]), dtype=float).T
    raw = [np.asarray(g_old[pos], dtype=float) - off]
    raw.extend(field.cheap_entries(np.ascontiguousarray(xk), pos) - off for xk in X)
    R = np.asarray(raw)
    best: float | None = None
    released = []
    for col, c in enumerate(pos.tolist()):
        above = np.flatnonzero(R[:, col] >= 3.0 * off[col])  # (the guard at 4 offsets)
        if not above.size:
            continue
        released.append(c)
        k = int(above[0])
        shift = float(off[col])

        def entry(s: float, c: int = c, shift: float = shift) -> float:
            return float(field.cheap_entries(_state(dense, s), np.array([c]))[0]) - shift

        t_c = _bracketed_root(
            entry,
            float(ts[k]),
            t_ev,
            float(R[k, col]),
            float(values[c]) - shift,
            _deeper_than(field, c, _GRAZE_TOL),
        )
        best = t_c if best is None else min(best, t_c)
    if best is None:
        return None
    field.offset[field.fixed[np.asarray(released)]] = 0.0
    x_ev = _state(dense, best)
    return best, x_ev, np.asarray(field.guard_values(x_ev)[0], dtype=float)


#: Interior points at which each accepted step's dense output is checked for guards that
#: dip below zero and come back within the step (the step ends alone would miss them), on
#: the part of the step searched (up to the earliest root at its end, if any).
_DIP_SAMPLES = 8
#: How many times `scan_step` may sample an interval between its samples anew where the
#: polynomial through them comes within its own error of zero (`interpolant_close_calls`):
#: each level samples an interval 9 times finer, and the polynomial's error falls by
#: about 9^10 for a smooth guard, so one level resolves it and a second rarely runs.
_REFINE_LEVELS = 2
#: The polynomial's error estimate in `interpolant_close_calls`: this many times its two
#: highest Chebyshev coefficients. Equispaced interpolation of a guard with a notch (a
#: sech² of width 0.1 between samples 0.23 apart) is off by more than its tail: with the
#: tail alone 2 of 8 such notches 4.4e-7 deep were still missed, with 4 times it none
#: (of 200 random notches 151 were missed without refinement, 84 with the tail alone, 58
#: with 4 times it: 6 of them wider than a quarter of the spacing, none than half).
#: Softmax regressions' event runs evaluated their guards 0.2% more often (8226 against
#: 8210 over 8 runs; 8394 with the end intervals' reads of `interpolant_close_calls`),
#: nfev unchanged.
_CLOSE_FACTOR = 4.0
#: A guard whose minimum inside a step lies within this (relative) distance of zero
#: touches its boundary without crossing it: a grazing contact, recorded as a tangency.
_GRAZE_TOL = 1e-10


def on_projected_path(
    field: ModeField,
    dense: Callable[..., FloatArray],
    ts: list[float],
    interps: list[Callable[..., FloatArray]],
    located: tuple[float, FloatArray, FloatArray],
    state_tol: float,
    not_before: float,
) -> tuple[float, FloatArray, FloatArray] | None:
    """The event moved earlier when, on the mode's path projected onto its manifold (the
    solution as recorded), a guard entry is already below 0 at the event located on the
    integrator's own dense output, by more than ``state_tol`` in state units (its depth
    over its rate times the speed); ``None`` otherwise. ``dense`` is the located step's
    dense output, ``ts`` and ``interps`` the mode's earlier steps (``ts[-1]`` the step's
    start; ``not_before``: no earlier event, as the last one recorded). Returns ``(t,
    integrator state at t, guard entries at the projected state)``.

    Why: the integrator's state drifts off the manifold by a fraction of the tolerance,
    which moves a guard by that drift over the sliding block's smallest eigenvalue. On a
    valley (an eigenvalue of 3.8e-6) a sign flow's last free index reached ``∂_i f = 0``
    at t = 6.85002 on the recorded path, while on the integrator's output its guard was
    still 1.55e-8 short of it, rising at 1e-5: the entry was located 1.8e-3 late, the path
    ran that far past the minimizer, and the next mode's projection jumped back.
    """
    t_ev, x_ev, _ = located
    # (the entries of h alone, by one evaluation of h: the projection is the record's)
    x_proj = field.project(x_ev)
    cheap = np.flatnonzero(field.cheap)
    if not cheap.size:
        return None
    depths = field.cheap_entries(x_proj, cheap)
    k = int(cheap[int(np.argmin(depths))])
    depth = float(np.min(depths))
    if not depth < -64 * _EPS * max(1.0, field.h_scale):
        return None  # (at or above rounding: most events)
    if not _off_by_more_than(field, dense, ts[-1], (t_ev, x_ev, x_proj), k, -depth, state_tol):
        return None
    before = OdeSolution(np.asarray(ts), interps) if len(ts) > 1 else None

    def raw(t: float) -> FloatArray:
        if t >= ts[-1] or before is None:
            return _state(dense, t)
        return np.asarray(before(t), dtype=float)

    def guard(t: float) -> float:
        return float(field.cheap_entries(field.project(raw(t)), np.array([k]))[0])

    # The bracket's start: the step's start, or an earlier step's (the projected guard
    # may have crossed before the step the integrator's output crossed in).
    starts = [t for t in reversed(ts) if not_before <= t < t_ev]
    lo = next((t for t in starts if guard(t) > 0.0), None)
    if lo is None:
        return None
    t_new = _bracketed_root(guard, lo, t_ev, None, depth)
    x_new = raw(t_new)
    return t_new, x_new, np.asarray(field.guard_values(field.project(x_new))[0], dtype=float)


def _off_by_more_than(
    field: ModeField,
    dense: Callable[..., FloatArray],
    t_step: float,
    at: tuple[float, FloatArray, FloatArray],
    k: int,
    gap: float,
    state_tol: float,
) -> bool:
    """Whether guard entry ``k`` being ``gap`` away from 0 on the projected path at the
    event ``at = (t, integrator state, projected state)`` puts the event more than
    ``state_tol`` off in state units: ``gap`` over the guard's rate, times the speed.
    The rate is the integrator's guard's, by a difference on the step's interpolant
    (``t_step`` its start): the drift moves the guard, hardly its rate."""
    t_ev, x_ev, x_proj = at
    speed = float(np.max(np.abs(field.rhs(t_ev, x_proj))))
    dt = 1e-6 * max(abs(t_ev - t_step), 64 * _EPS * max(1.0, abs(t_ev)))
    pair = np.array([k])
    rate = (
        float(field.cheap_entries(_state(dense, t_ev - dt), pair)[0])
        - float(field.cheap_entries(x_ev, pair)[0])
    ) / dt
    return rate > 0.0 and gap / rate * speed > state_tol


def early_on_projected_path(
    field: ModeField,
    dense: Callable[..., FloatArray],
    t_step: float,
    located: tuple[float, FloatArray, FloatArray],
    state_tol: float,
) -> FloatArray | None:
    """The projected state at an event that the integrator's drift put early: the entry
    that fired (a cheap one, see `ModeField.cheap`) is still above 0 on the projected path
    by more than ``state_tol`` in state units (as in `on_projected_path`), and so is every
    other guard entry there. The caller goes on from that state with a new integrator,
    whose output then starts on the manifold; ``None`` otherwise (the event stands).

    Why: the drift off a sliding manifold moves a guard by the drift over the block's
    smallest eigenvalue, either way. On a valley (an eigenvalue of 4e-6) a sign flow's
    crossing was located 3.7e-4 early at rtol = 1e-6 (where its guard on the projected
    path was still 1.5e-5, falling at 0.04), and the run ended 104 tolerances off.
    ``t_step``: the located step's start.
    """
    t_ev, x_ev, values = located
    k = int(np.argmin(values))
    if not field.cheap[k]:
        return None  # (an exit guard: its selection is not evaluated twice here)
    x_proj = field.project(x_ev)
    ahead = np.asarray(field.guard_values(x_proj)[0], dtype=float)
    if not float(np.min(ahead)) > 64 * _EPS * max(1.0, field.h_scale):
        return None  # (some guard is at 0 on the projected path too: a real event)
    if not _off_by_more_than(
        field, dense, t_step, (t_ev, x_ev, x_proj), k, float(ahead[k]), state_tol
    ):
        return None
    return x_proj


@functools.cache
def _equispaced_to_chebyshev(n: int) -> FloatArray:
    """The matrix taking the values at ``n`` equispaced nodes of an interval to the
    Chebyshev coefficients of their interpolating polynomial on it (the inverse of the
    Chebyshev–Vandermonde matrix, taken once per ``n``: a product per step instead of a
    least-squares fit)."""
    inverse = np.asarray(
        np.linalg.inv(chebyshev.chebvander(np.linspace(-1.0, 1.0, n), n - 1)), float
    )
    inverse.flags.writeable = False  # (shared by every call)
    return inverse


def interpolant_dips(ts: FloatArray, G: FloatArray) -> dict[int, float]:
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


def interpolant_close_calls(
    ts: FloatArray, G: FloatArray, ends: tuple[bool, bool] = (True, True)
) -> list[int]:
    """The intervals ``(ts[i], ts[i + 1])``, in order, in which the polynomial through
    all the samples ``G`` (as in :func:`interpolant_dips`) comes within its own error
    estimate of zero for an entry that is positive at both of the interval's samples:
    where the guard may dip below zero unseen by the samples and the polynomial alike.

    The error estimate of entry ``c`` is `_CLOSE_FACTOR` times ``|a_{k−1}| + |a_k|``, its
    two highest Chebyshev coefficients (the difference to the polynomials of one and two
    degrees less through the same values, the usual tail estimate). Entries whose series
    cannot come within it of zero (``a_0 − Σ_{j≥1} |a_j| > err``, most of them), or whose
    estimate is at rounding (a polynomial guard, for which the polynomial is exact), are
    skipped. The two end intervals are also read from the polynomial through the other
    samples (the end one left out), where a trend that breaks inside them shows. Left out
    is the first interval for an entry at most its estimate above zero at the step's start
    (an index that starts the mode on its boundary, with its offset), and the last for one
    at its end (the surface reached there, located at the step's end): they are at zero
    by construction, and sampling them anew would cost a refinement at most steps. (Left
    out only for the entries located at the step's end, one of 60 near-rest greedy flows,
    whose other guards are at rounding there, ended 650 tolerances off instead of 80.)
    ``ends`` says whether the first and the last sample are the step's own start and end
    (the exemptions apply only there): an interval sampled anew that starts at a sample
    just outside a notch (1.1e-7 above zero, the notch 1e-8 deep and 4e-4 wide right
    after it) had its first interval exempted, and the entry was missed.
    """
    n = len(ts)
    if n < 4 or not bool(np.all(np.diff(ts) > 0.0)):
        return []
    a, b = float(ts[0]), float(ts[-1])
    G2 = G.reshape(n, -1)
    coef = _equispaced_to_chebyshev(n) @ G2
    err = _CLOSE_FACTOR * (np.abs(coef[-1]) + np.abs(coef[-2]))
    lowest = coef[0] - np.abs(coef[1:]).sum(axis=0)
    at_rounding = err <= 64 * _EPS * np.maximum(1.0, np.abs(G2).max(axis=0))
    out: set[int] = set()
    for c in np.flatnonzero(~(lowest > err) & ~at_rounding).tolist():
        series = coef[:, c].copy()
        series[0] -= err[c]
        roots = chebyshev.chebroots(series)
        real = roots.real[(np.abs(roots.imag) <= 1e-9) & (np.abs(roots.real) < 1.0)]
        edges = np.concatenate(([-1.0], np.sort(real), [1.0]))
        mids = 0.5 * (edges[:-1] + edges[1:])
        col = G2[:, c]
        for w in np.flatnonzero(chebyshev.chebval(mids, series) < 0.0).tolist():
            lo_t = 0.5 * ((b - a) * float(edges[w]) + a + b)
            hi_t = 0.5 * ((b - a) * float(edges[w + 1]) + a + b)
            first = min(max(int(np.searchsorted(ts, lo_t, side="right")) - 1, 0), n - 2)
            last = min(max(int(np.searchsorted(ts, hi_t, side="left")) - 1, 0), n - 2)
            for i in range(first, last + 1):
                if not (col[i] > 0.0 and col[i + 1] > 0.0):
                    continue  # (a sign change at a sample: the scan's own bracket)
                if _exempt(i, col, err[c], n, ends):
                    continue
                out.add(i)
    # The two end intervals once more, each from the polynomial through the other samples
    # (the one at that end left out): where a guard's trend breaks inside an end interval,
    # the polynomial through all samples bends to meet the last one, and its tail says
    # nothing of it. A sign flow's free step 128 long, cut at one guard's root, hid
    # another's window 3.4 wide and 3 % of its scale deep in its last interval: the entry,
    # falling linearly to 9.8e-6 at the last interior sample, was lifted to 2.2e-5 within
    # 1e-3 of the cut, the polynomial stayed 7e-6 above zero against a tail of 1.8e-6, and
    # the event path ran on past a sliding entry and its exit (status 0, 3.4 off).
    u = (2.0 * ts - a - b) / (b - a)
    for i, keep in ((n - 2, slice(0, n - 1)), (0, slice(1, n))):
        fit = chebyshev.chebfit(u[keep], G2[keep], n - 2)
        between = u[i] + _END_PROBES * (u[i + 1] - u[i])
        low = np.asarray(chebyshev.chebval(between, fit)).reshape(-1, between.size).min(axis=1)
        # (below zero by more than the polynomial's own error estimate: a fit within it of
        # zero is the tail test's case above)
        for c in np.flatnonzero(low < -err).tolist():
            col = G2[:, c]
            if col[i] > 0.0 and col[i + 1] > 0.0 and not _exempt(i, col, err[c], n, ends):
                out.add(i)
    # Dips the samples show but the polynomial does not resolve: an entry whose tail
    # estimate is not small against its samples' spread is not resolved by the polynomial
    # anywhere, and its error estimate is not a bound either. Where such an entry's
    # samples have a local minimum that is deeper (against its higher neighbour) than it
    # is high, the guard may reach zero between them: both intervals are sampled anew. A
    # tie-entry notch (sech² of width 0.19 between samples 0.33 apart, 6.9e-5 deep below a
    # level of 7.8e-3, below zero for 0.035) showed at one sample as a dip to 27 % of its
    # level; the polynomial stayed 1.5e-3 above zero against an estimate of 1.4e-3, and
    # the run went past the entry (status 0; 1 notch in 300 random ones so drawn).
    spread = G2.max(axis=0) - G2.min(axis=0)
    for c in np.flatnonzero((err > _UNRESOLVED * spread) & ~at_rounding).tolist():
        col = G2[:, c]
        for i in range(1, n - 1):
            higher = max(col[i - 1], col[i + 1])
            if not (0.0 < col[i] <= min(col[i - 1], col[i + 1]) and col[i] < higher - col[i]):
                continue
            for k in (i - 1, i):
                if col[k] > 0.0 and col[k + 1] > 0.0 and not _exempt(k, col, err[c], n, ends):
                    out.add(k)
    return sorted(out)


#: An entry whose polynomial tail estimate in `interpolant_close_calls` exceeds this
#: fraction of its samples' spread is taken as not resolved by the polynomial (a smooth
#: guard on a step the integrator chose has a tail many digits below its spread).
_UNRESOLVED = 1e-3


#: Where `interpolant_close_calls` reads the polynomials of its end intervals.
_END_PROBES = np.linspace(0.0, 1.0, 17)[1:-1]


def _exempt(i: int, col: FloatArray, err: float, n: int, ends: tuple[bool, bool]) -> bool:
    """Whether interval ``i`` of the entry with samples ``col`` is at zero by construction
    (see :func:`interpolant_close_calls`): the first for an entry that starts within
    ``err`` of zero, the last for one that ends within it, where those ends are the
    step's own (``ends``: not where a refinement's interval ends at a mere sample)."""
    return bool(
        (ends[0] and i == 0 and col[0] <= err) or (ends[1] and i == n - 2 and col[-1] <= err)
    )


def scan_step(
    field: ModeField,
    dense: Callable[..., FloatArray],
    t_old: float,
    t_new: float,
    g_old: FloatArray,
    g_new: FloatArray,
    level: int = 0,
    ends: tuple[bool, bool] = (True, True),
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
    negative windows are found from its roots (`interpolant_dips`), and by the parabola
    through three consecutive samples (for grazing contacts); a predicted window is
    checked on the guard itself. Where the polynomial comes within its own error estimate
    of zero between two positive samples (`interpolant_close_calls`), that interval is
    searched again as a step of its own, up to `_REFINE_LEVELS` deep. A window narrower
    than the samples resolve is still missed where the guard shows nothing of it at the
    samples (a notch narrower than about a quarter of their spacing). Measured on a review's random
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
        # (not narrowed: the search below covers the step up to the root found)
        t_root, located = _earliest_root(
            field, dense, t_old, t_new, g_old, g_new, cand, narrow=False
        )
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
    suspects = interpolant_dips(ts, G) if len(ts) >= 3 else {}
    # Intervals before the first sampled sign change where the polynomial comes within
    # its own error of zero: sampled anew, as a step of their own (`refined`).
    close = set(interpolant_close_calls(ts, G, ends)) if level < _REFINE_LEVELS else set()
    if first is not None:
        close = {i for i in close if i < first - 1}

    def confirmed_dip(i: int) -> float | None:
        # Where the polynomial through all the samples dips below zero in interval i, the
        # guard itself is read there (a narrow window of an entry between two samples,
        # which the parabolas through three samples miss): the time if it is below zero.
        t_dip = suspects.pop(i, None)
        if t_dip is None:
            return None
        return t_dip if field.below(_state(dense, t_dip), _GRAZE_TOL) else None

    def refined(i: int) -> tuple[float | None, tuple[Any, ...] | None] | None:
        # Where the polynomial is not close enough to the guard to tell, the interval is
        # searched as a step of its own (its own samples, polynomial, parabolas and, up
        # to `_REFINE_LEVELS`, refinements). A reviewer's softmax regression (ℓ1 flow,
        # n = 40): a tie entry's guard dipped 4.4e-7 below zero for 0.078 between two
        # samples 0.23 apart of a DOP853 step 2.1 long, where the polynomial through the
        # samples stayed above zero; the entry and its exit were missed and the run
        # ended at a stationary point 9.4e-7 off (status 1).
        if i not in close:
            return None
        close.discard(i)
        sub_ends = (ends[0] and i == 0, ends[1] and i == len(ts) - 2)
        return scan_step(
            field, dense, float(ts[i]), float(ts[i + 1]), G[i], G[i + 1], level + 1, sub_ends
        )

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
            sub = refined(i)
            if sub is not None:
                sub_graze, sub_found = sub
                if t_graze is None:
                    t_graze = sub_graze
                if sub_found is not None:
                    return t_graze, sub_found
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
        if float(np.min(pred)) > _GRAZE_TOL * field.h_scale:
            continue
        # (not `> 0`: a touch's parabola comes down to zero only to rounding and to the
        # integrator's error, above it as often as below, and one predicted 5e-16 above
        # was skipped: no event for y = −(t − 1)², one grazing contact in five of a random
        # batch missed. The contact is what `_GRAZE_TOL` calls it, decided below.)
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
        if g_min <= -_GRAZE_TOL * field.h_scale:
            lo = t0 if t_min <= t1 else t1
            return t_graze, ("cross", float(lo), t_min, None, None)
        depth = min(float(mins[j - 1]), float(mins[j + 1])) - g_min
        if abs(g_min) <= _GRAZE_TOL * field.h_scale and depth > 100 * abs(g_min):
            # A real touch: the guard comes down to zero from well above and turns back
            # (a guard that merely wobbles at its start offset is not a contact). The
            # search goes on: the guard may still cross zero later in the step.
            t_graze = t_min
    if first is not None:
        return t_graze, ("cross", float(ts[first - 1]), float(ts[first]), G[first - 1], G[first])
    if x_root is not None:
        return t_graze, ("event", t_hi, x_root, g_hi)
    return t_graze, None
