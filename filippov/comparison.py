"""Discrete schemes against the Filippov solution they discretize.

:func:`compare` aligns a discrete trajectory with a continuous solution at the flow times
``t_k = Σ_{j<k} η_j`` and reports the errors, the chattering band on the solution's sliding
segments, and whether the scheme enters and leaves sliding where the flow does.
:func:`convergence_study` repeats this over step sizes and fits the observed order.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from filippov import schemes as _schemes
from filippov._scheme_flows import flow_mismatch
from filippov._validation import FloatArray, as_vector, require_callable, require_positive
from filippov.engine import solve
from filippov.schemes.base import Scheme
from filippov.schemes.trajectory import DiscreteTrajectory
from filippov.solution import FilippovSolution
from filippov.systems import FilippovSystem

__all__ = ["ComparisonReport", "ConvergenceStudy", "EventMatch", "compare", "convergence_study"]

#: Solution events that the discrete scheme should reproduce as a sign change of ``h_i``.
#: (Exits are not matched: while sliding, a scheme's h chatters around 0, so a sign change
#: near an exit says nothing; ties of the ℓ∞ relay have no sign change at all.)
_SWITCH_KINDS = ("crossing", "sliding-entry")
#: The most steps by which the trajectory's error may excuse a late sign change (beyond
#: the two any scheme may take): see :class:`EventMatch`.
_EVENT_MARGIN_STEPS = 8.0


@dataclass(frozen=True)
class EventMatch:
    """One solution event and the discrete iterate where the scheme reproduces it.

    Attributes
    ----------
    t : float
        Time of the solution's event.
    kind : str
        Its kind.
    index : int
        The switching function concerned.
    t_discrete : float or None
        Flow time of the first iterate, from one step before the event on, at which the
        scheme's ``h_index`` changes sign (or reaches zero, to its rounding); ``None`` if
        it never does.
    agrees : bool
        ``|t_discrete − t| ≤ tol``.
    tol : float
        Twice the largest step (or saved gap) near the event, plus the time by which the
        trajectory's error there can move the sign change, ``|∇h_i · e| / |ḣ_i|`` with
        ``e`` the largest error of the three iterates before the event and ``ḣ_i`` the rate
        of ``h_i`` on the solution as it arrives, but at most 8 steps: 2 to 10 steps in
        all. A first-order scheme is ``O(h)`` off the solution, so its sign change may lag
        by a constant number of steps however small ``h`` is (2.3 on a random quadratic
        at h = 1e-2 to 1e-4), which two steps called a miss at every ``h``; the cap keeps
        a trajectory running far behind from agreeing because it is behind.
    """

    t: float
    kind: str
    index: int
    t_discrete: float | None
    agrees: bool
    tol: float = 0.0


@dataclass(frozen=True)
class ComparisonReport:
    """Errors of a discrete trajectory against a Filippov solution.

    Attributes
    ----------
    t : ndarray, shape (k,)
        The flow times compared (those of the trajectory inside the solution's range).
    error_inf, error_2 : ndarray, shape (k,)
        ``‖x_k − x(t_k)‖∞`` and ``‖x_k − x(t_k)‖₂``.
    sup_error_inf, sup_error_2, final_error_inf, final_error_2 : float
        Their maxima and last values.
    band : float or None
        Chattering band: the largest distance ``max_j |h_j(x_k)| / ‖∇h_j(x_k)‖`` of the
        iterates to the sliding manifolds ``{h_j = 0}`` held by the solution at ``t_k``
        (``None`` without a system or when the solution never slides).
    events : tuple of EventMatch
        The solution's crossings and sliding entries of an ℓ1 relay (sign flow) and their
        discrete counterparts; empty without a system, for ℓ∞ / ℓ2 relays, and for a
        trajectory that kept only every ``s``-th iterate (see :attr:`events_agree`).
    truncated : bool
        True when the trajectory runs past the solution's time range (those iterates are
        not compared).
    events_unchecked : str
        Why the events were not matched though a system was given (else empty).
    """

    t: FloatArray
    error_inf: FloatArray
    error_2: FloatArray
    sup_error_inf: float
    sup_error_2: float
    final_error_inf: float
    final_error_2: float
    band: float | None
    events: tuple[EventMatch, ...] = ()
    truncated: bool = False
    events_unchecked: str = ""

    @property
    def events_agree(self) -> bool | None:
        """True when every matched event agrees within tolerance; None when no event was
        checked (no system, no crossing or sliding entry, an ℓ∞ / ℓ2 relay, or iterates
        saved with ``save_every > 1``: see :attr:`events_unchecked`)."""
        if not self.events:
            return None
        return all(e.agrees for e in self.events)

    def summary(self) -> str:
        """A short readable account of the comparison."""
        lines = [
            f"compared at {self.t.size} flow times in [{self.t[0]:.6g}, {self.t[-1]:.6g}]"
            + (" (trajectory truncated to the solution's range)" if self.truncated else ""),
            f"  sup error: inf-norm {self.sup_error_inf:.3e}, 2-norm {self.sup_error_2:.3e}",
            f"  final error: inf-norm {self.final_error_inf:.3e}, 2-norm {self.final_error_2:.3e}",
        ]
        if self.band is not None:
            lines.append(f"  chattering band on sliding segments: {self.band:.3e}")
        if self.events_unchecked:
            lines.append(f"  events not checked: {self.events_unchecked}")
        for e in self.events:
            found = "never" if e.t_discrete is None else f"t = {e.t_discrete:.6g}"
            mark = "ok" if e.agrees else "MISSED"
            lines.append(f"  {e.kind:>13s} h_{e.index} at t = {e.t:.6g}: scheme {found} [{mark}]")
        return "\n".join(lines)


def compare(
    traj: DiscreteTrajectory,
    sol: FilippovSolution,
    *,
    system: FilippovSystem | None = None,
) -> ComparisonReport:
    r"""Compare discrete iterates ``x_k`` with the Filippov solution at their flow times.

    Parameters
    ----------
    traj : DiscreteTrajectory
        A single (non-batched) run; its flow times ``t_k`` must start at the solution's
        initial time and its first iterate at the solution's initial point (else
        ``ValueError``; to 1e-6 relative, so a start rounded to single precision is the
        same start).
    sol : FilippovSolution
        The continuous solution from the same initial point.
    system : FilippovSystem, optional
        The system both discretize; needed for the chattering band and the event
        agreement (they look at the switching functions ``h``).

    Returns
    -------
    ComparisonReport

    Raises
    ------
    ValueError
        Besides a mismatched start: when ``system`` is a steepest-descent flow (it has an
        objective) that the trajectory's scheme does not discretize, as recorded in
        ``traj.metadata``: a scheme of another norm (SignGD against the ℓ1 flow), or
        :class:`~filippov.schemes.GD`, the Euler step of the gradient flow ``x' = −∇f``,
        against the ℓ2 flow ``x' = −∇f/‖∇f‖₂`` (that is :class:`~filippov.schemes.NormalizedGD`'s).
        Errors against the wrong flow measure nothing.

    Examples
    --------
    >>> import filippov as fp
    >>> from filippov.objectives import separable_quadratic
    >>> obj = separable_quadratic([1.0, 4.0], [0.5, -1.0])
    >>> flow = fp.steepest_descent_flow(obj, "linf")
    >>> sol = fp.solve(flow, [0.0, 0.0], (0.0, 2.0))
    >>> traj = fp.schemes.SignGD(step=0.01).run(obj, [0.0, 0.0], t_final=2.0)
    >>> rep = fp.compare(traj, sol, system=flow)
    >>> bool(rep.sup_error_inf <= 0.01 + 1e-12), rep.events_agree
    (True, True)
    """
    if not isinstance(traj, DiscreteTrajectory):
        raise TypeError(f"`traj` must be a DiscreteTrajectory. Got {type(traj).__name__} instead.")
    if not isinstance(sol, FilippovSolution):
        raise TypeError(f"`sol` must be a FilippovSolution. Got {type(sol).__name__} instead.")
    if system is not None and not isinstance(system, FilippovSystem):
        raise TypeError(
            f"`system` must be a FilippovSystem or None. Got {type(system).__name__} instead."
        )
    # (a system built by hand, without an objective, may be any flow: nothing to check)
    ident = None if system is None or system.objective is None else _trajectory_flow(traj)
    if system is not None and ident is not None:
        why = flow_mismatch(*ident, system.norm.name)
        if why is not None:
            raise ValueError(f"`traj` comes from {why}")
    if system is None:
        # Without the system, the solution's own relay says which flow it is of: a
        # steepest-descent scheme against a solution of another relay measured nothing
        # (SignGD against the ℓ1 flow's solution: an "error" of 0.5; review R15)
        ident = _trajectory_flow(traj)
        relays = {seg.mode.norm for seg in sol.segments if seg.kind != "stationary"}
        if ident is not None and ident[2] == "steepest-descent" and len(relays) == 1:
            why = flow_mismatch(*ident, relays.pop(), what="`sol`'s flow")
            if why is not None:
                raise ValueError(f"`traj` comes from {why}")
        elif ident is not None and len(relays) == 1:
            # A scheme of a smooth flow (GD: x' = −∇f) against a relay's solution: only a
            # system built by hand for that flow (no objective, so nothing to check) makes
            # this a comparison; GD against a sign flow's solution reported "errors" of
            # 0.35 at every step size without a word (stranger fuzz fz11). Warned, not
            # refused: the solution does not record which system it is of.
            why = flow_mismatch(*ident, relays.pop(), what="`sol`'s flow")
            if why is not None:
                warnings.warn(
                    f"`traj` comes from {why} Unless `sol` is of a system built for the "
                    "scheme's own flow, the errors reported measure nothing; pass that "
                    "system as `system=` to compare without this warning.",
                    UserWarning,
                    stacklevel=2,
                )
    off_clock = _not_tracking(traj)
    if off_clock is not None:
        warnings.warn(
            f"`traj` is not a discretization that converges to x(t_k): {off_clock}; the "
            "errors reported measure that, not a tracking error.",
            UserWarning,
            stacklevel=2,
        )
    if int(traj.status) < 0:
        # (as `convergence_study` refuses such a run: here its errors cover only the part
        # it ran, and nothing said so; review R15)
        warnings.warn(
            f"`traj` ended early (status {int(traj.status)}: {traj.message.rstrip('.')}): "
            "the errors reported cover its run only, up to t = "
            f"{float(np.asarray(traj.t).reshape(-1)[-1]):.12g}.",
            UserWarning,
            stacklevel=2,
        )
    x = np.asarray(traj.x, dtype=float)
    t = np.asarray(traj.t, dtype=float)
    if x.ndim != 2:
        raise ValueError(
            "`traj` must be a single run (x of shape (k, n)); compare batched runs one "
            f"initial point at a time. Got x of shape {x.shape} instead."
        )
    if x.shape[1] != sol.x.shape[1]:
        raise ValueError(
            f"`traj` and `sol` must have the same dimension. Got {x.shape[1]} and "
            f"{sol.x.shape[1]} instead."
        )
    t_lo, t_hi = float(sol.t[0]), float(sol.t[-1])
    if abs(t[0] - t_lo) > 1e-12 * max(1.0, abs(t_lo)):
        raise ValueError(
            f"`traj` must start at the solution's initial time {t_lo!r}. Got t[0] = {t[0]!r}."
        )
    x_start = np.asarray(sol.x[0], dtype=float)
    scale = max(1.0, float(np.max(np.abs(x_start), initial=0.0)))
    # (the errors would measure the distance between two starts, not the tracking; a
    # start rounded to single precision, 6e-8 relative, is the same start)
    if not np.allclose(x[0], x_start, rtol=1e-6, atol=1e-6 * scale):
        raise ValueError(
            "`traj` must start from the solution's initial point "
            f"{np.array2string(x_start, precision=12)}. Got x[0] = "
            f"{np.array2string(x[0], precision=12)}."
        )
    keep = t <= t_hi * (1 + 1e-14) + 1e-300
    truncated = not bool(np.all(keep))
    t, x = np.minimum(t[keep], t_hi), x[keep]
    ref = sol(t)
    diff = x - ref
    err_inf = np.max(np.abs(diff), axis=1)
    err_2 = np.linalg.norm(diff, axis=1)
    band: float | None = None
    matches: tuple[EventMatch, ...] = ()
    unchecked = ""
    gap = int(np.max(np.diff(traj.k), initial=1))
    if system is not None:
        band = _chattering_band(system, sol, t, x)
        if gap > 1 and system.norm.name == "l1":
            # Near a sliding manifold h_i chatters with a period of a few steps, and every
            # s-th iterate can stay on one side of it for many periods: the first sign
            # change among the saved iterates says nothing about the scheme's (a review's
            # run, saved every 7th, put an entry 88 steps late; saved fully, 1 step).
            unchecked = (
                f"the trajectory keeps one iterate in {gap} (save_every={gap}), and the "
                "sign changes of h between them are not known; run with save_every=1"
            )
        else:
            all_t = np.asarray(traj.diagnostics.get("t", traj.t), dtype=float)
            steps = np.asarray(traj.step, dtype=float)
            freezes = traj.diagnostics.get("freezes")
            frozen = None if freezes is None else np.asarray(freezes, dtype=float) > 0
            matches = _match_events(system, sol, t, x, diff, all_t, steps, frozen)
    return ComparisonReport(
        t=t,
        error_inf=err_inf,
        error_2=err_2,
        sup_error_inf=float(err_inf.max()),
        sup_error_2=float(err_2.max()),
        final_error_inf=float(err_inf[-1]),
        final_error_2=float(err_2[-1]),
        band=band,
        events=matches,
        truncated=truncated,
        events_unchecked=unchecked,
    )


def _sliding_sets(sol: FilippovSolution, t: FloatArray) -> list[tuple[int, ...]]:
    """The free set held by the solution at each time (empty outside sliding/tie modes)."""
    out: list[tuple[int, ...]] = []
    segs = sol.segments
    starts = np.array([s.t0 for s in segs])
    for tk in t:
        i = int(np.searchsorted(starts, tk, side="right")) - 1
        seg = segs[max(i, 0)]
        free = seg.mode.free if seg.mode.kind == "sliding" else ()
        out.append(free)
    return out


def _chattering_band(
    system: FilippovSystem, sol: FilippovSolution, t: FloatArray, x: FloatArray
) -> float | None:
    band = None
    for free, xk in zip(_sliding_sets(sol, t), x, strict=True):
        if not free:
            continue
        idx = list(free)
        h = system.h(xk)[idx]
        grad_norm = np.linalg.norm(system.jacobian(xk)[idx], axis=1)
        dist = float(np.max(np.abs(h) / np.maximum(grad_norm, 1e-300)))
        band = dist if band is None else max(band, dist)
    return band


def _match_events(
    system: FilippovSystem,
    sol: FilippovSolution,
    t: FloatArray,
    x: FloatArray,
    diff: FloatArray,
    all_t: FloatArray,
    steps: FloatArray,
    frozen: np.ndarray | None = None,
) -> tuple[EventMatch, ...]:
    """Match each switching event of the solution with the scheme's first sign change.

    ``t, x`` are the saved iterates, ``diff`` their errors ``x_k − x(t_k)``; ``all_t`` and
    ``steps`` the flow times and step sizes of every iterate (they differ from ``t`` when
    only every ``s``-th iterate was saved). The tolerance is twice the largest step, or
    saved gap, around the event plus the error's margin (see :class:`EventMatch`).
    """
    if system.norm.name != "l1":
        return ()  # sign changes of h are the ℓ1 relay's events; ties have no sign change.
    h = np.array([system.h(xk) for xk in x])  # (k, m)
    # The rounding of h_i: of its values, and of ∇h_i·x at the iterates' size.
    x_size = float(np.max(np.abs(x)))
    jac_size = np.abs(system.jacobian(x[-1])).sum(axis=1)
    zero = 64 * np.finfo(np.float64).eps * (np.max(np.abs(h), axis=0) + jac_size * x_size)
    out = []
    for ev in sol.events:
        if ev.kind not in _SWITCH_KINDS or ev.t <= t[0]:
            continue
        k0 = int(np.searchsorted(t, ev.t, side="left"))
        j0 = int(np.searchsorted(all_t, ev.t, side="left"))
        local = [*steps[max(j0 - 2, 0) : j0 + 2], *np.diff(t[max(k0 - 1, 0) : k0 + 2])]
        step = max(local, default=0.0)
        tol = 2.0 * step
        # h and its rate on the solution as it arrives at the event
        delta = 0.25 * min(tol, ev.t - float(t[0])) if tol > 0.0 else 0.0
        x_ev = sol(ev.t)
        h_ev, jac_ev = system.h(x_ev), system.jacobian(x_ev)
        h_before = system.h(sol(ev.t - delta)) if delta > 0.0 else h_ev
        # (from the iterate before the one a step before the event: a sign change that
        # arrives at the iterate one step before it counts)
        start = max(k0 - 2, 0)
        for i in ev.indices:
            rate = abs(float(h_ev[i] - h_before[i])) / delta if delta > 0.0 else 0.0
            # The error along ∇h_i at the last iterates before the event (after it, the
            # error may be the miss's consequence) moves the sign change by reach / rate.
            reach = float(np.max(np.abs(diff[max(k0 - 3, 0) : k0] @ jac_ev[i]), initial=0.0))
            margin = reach / rate if rate > 0.0 else (np.inf if reach > 0.0 else 0.0)
            # ... at most `_EVENT_MARGIN_STEPS` steps: a lag that the error explains
            # whatever its size (a trajectory running behind the solution by 20 steps is
            # behind in h too) would make every lag agree.
            margin = min(margin, _EVENT_MARGIN_STEPS * step)
            # (|h_i| within its rounding is 0: the implicit step lands on the manifold to
            # -2.2e-16 and stays on that side, and its "sign change" came 7 steps later,
            # when the rounding flipped)
            col = np.where(np.abs(h[start:, i]) <= zero[i], 0.0, h[start:, i])
            change = np.flatnonzero(col[1:] * col[:-1] <= 0.0)
            t_disc = float(t[start + change[0] + 1]) if change.size else None
            agrees = t_disc is not None and abs(t_disc - ev.t) <= tol + margin
            if not agrees and ev.kind == "sliding-entry" and frozen is not None:
                # ... or held by the freeze rule: it stops a coordinate whose step would
                # cross, so h_i arrives from one side and never changes sign (every entry
                # of ProjectedSignGD(mode="freeze") was "missed" at every step size, h_0
                # within a step of 0 all along the sliding). Arrived: |h_i| within
                # ‖∇h_i‖₁ times the step of 0 -- the most one sign step moves h_i -- from
                # there on while the flow slides on i (at most 10 steps are checked), with
                # the trajectory's own record of freezes in those steps. Not for other
                # schemes (one that stalls a step short of the manifold and never slides
                # is a miss) nor for crossings (a one-sided arrival is their miss).
                held = _held_arrival(
                    sol, ev, i, t, col, start, step, jac_ev[i], frozen, tol + margin
                )
                if held is not None and abs(held - ev.t) <= tol + margin:
                    t_disc, agrees = held, True
            out.append(EventMatch(ev.t, ev.kind, int(i), t_disc, bool(agrees), float(tol + margin)))
    return tuple(out)


def _held_arrival(
    sol: FilippovSolution,
    ev: Any,
    i: int,
    t: FloatArray,
    col: FloatArray,
    start: int,
    step: float,
    grad_i: FloatArray,
    frozen: np.ndarray,
    reach: float,
) -> float | None:
    """The time a freeze-rule trajectory arrived at the manifold ``h_i = 0`` of the
    sliding entry ``ev`` (see `_match_events`), or None. ``col`` is ``h_i`` at the iterates
    from ``start`` on, ``frozen[k]`` whether step ``k`` froze a coordinate; arrivals later
    than ``reach`` after the event are not looked for (they could not agree)."""
    band = float(np.abs(grad_i).sum()) * step
    # the flow slides on i until its next event on i (or the solution's end)
    later = [e.t for e in sol.events if e.t > ev.t and i in e.indices]
    t_stop = min(later, default=float(sol.t[-1]))
    within = np.abs(col) <= band
    for j in np.flatnonzero(within):
        k = start + int(j)
        if t[k] > ev.t + reach:
            break  # (bounded: a long run along the manifold costs no more than the window)
        # the iterates from k while the flow slides, at most 10 steps (t is increasing)
        end = int(np.searchsorted(t, min(t_stop, t[k] + 10.0 * step), side="right"))
        if end - k < 3:
            continue
        if bool(np.all(within[k - start : end - start])) and bool(np.any(frozen[k : end - 1])):
            return float(t[k])
    return None


@dataclass(frozen=True)
class ConvergenceStudy:
    """Errors of a scheme for several step sizes and the observed order.

    Attributes
    ----------
    steps : ndarray, shape (s,)
        The step sizes.
    sup_errors, final_errors : ndarray, shape (s,)
        Sup-norm-in-time and final errors (∞-norm in space) against one accurate solution.
    order : float
        Slope of the least-squares line of ``log sup_error`` against ``log step``, over the
        errors above rounding (``8 ε max|x| · T/h``, the rounding ``T/h`` steps can
        accumulate) and, unless the reference came from the exact path, above its own
        error (``10 (rtol max|x| + atol)`` at its tolerances, 1e-10 and 1e-12); ``nan``
        when fewer than two are (a scheme exact at these steps, as SignGD before any
        switch: rounding has no order).
    final_order : float
        The same for the final errors.
    reports : tuple of ComparisonReport
        One per step size.
    """

    steps: FloatArray
    sup_errors: FloatArray
    final_errors: FloatArray
    order: float
    final_order: float
    reports: tuple[ComparisonReport, ...] = field(repr=False, default=())


def convergence_study(
    scheme_factory: Callable[[float], Scheme],
    system: FilippovSystem,
    x0: ArrayLike,
    T: float,
    steps: Sequence[float],
) -> ConvergenceStudy:
    r"""Run a scheme for each step size, compare with one accurate solution, fit the order.

    Parameters
    ----------
    scheme_factory : callable
        ``step -> scheme`` (e.g. ``lambda h: fp.schemes.SignGD(step=h)``); the scheme's
        ``run(objective, x0, t_final=T)`` must return a :class:`DiscreteTrajectory`.
    system : FilippovSystem
        A steepest-descent flow (its ``objective`` is what the scheme minimises).
    x0 : array_like, shape (n,)
        Initial point.
    T : float
        Final flow time.
    steps : sequence of float
        At least two positive, distinct step sizes.

    Returns
    -------
    ConvergenceStudy
        ``order`` is the observed order of the sup error: 1 for first-order tracking.

    Raises
    ------
    TypeError, ValueError
        Naming the argument, before anything is solved: a factory that is not callable or
        does not return a :class:`~filippov.schemes.Scheme`, a scheme that does not
        discretize ``system`` (another norm's flow; :class:`~filippov.schemes.GD`, whose
        flow is the gradient flow), a system without an objective, a ``T`` that is not a
        positive number, fewer than two distinct positive steps.

    Examples
    --------
    >>> import filippov as fp
    >>> from filippov.objectives import slope
    >>> flow = fp.steepest_descent_flow(slope(0.5), "linf")
    >>> study = fp.convergence_study(lambda h: fp.schemes.SignGD(step=h), flow,
    ...                              [0.6, 0.1], 2.5, [0.0437, 0.02185, 0.010925])
    >>> bool(0.8 <= study.order <= 1.2)
    True
    """
    require_callable(scheme_factory, "scheme_factory", "a callable step -> Scheme")
    if not isinstance(system, FilippovSystem):
        raise TypeError(f"`system` must be a FilippovSystem. Got {type(system).__name__} instead.")
    if system.objective is None:
        raise ValueError(
            "`system` must be a steepest-descent flow built from an Objective "
            "(fp.steepest_descent_flow), so that the scheme has something to minimise."
        )
    x0_arr = as_vector(x0, "x0", system.n)
    T = require_positive(T, "T")
    if isinstance(steps, str | bytes):
        raise TypeError(f"`steps` must be a sequence of step sizes. Got {steps!r} instead.")
    step_arr = as_vector(steps, "steps")
    if np.unique(step_arr).size < 2 or np.any(step_arr <= 0):
        raise ValueError(
            "`steps` must hold at least two positive, distinct step sizes (the order is a "
            f"log-log fit). Got {step_arr.tolist()} instead."
        )
    schemes = []
    for h in step_arr:
        scheme = scheme_factory(float(h))
        if not isinstance(scheme, Scheme):
            raise TypeError(
                f"`scheme_factory` must return a Scheme. Got {type(scheme).__name__} for "
                f"step {float(h)!r} instead."
            )
        why = flow_mismatch(type(scheme).__name__, scheme.norm_name, scheme.flow, system.norm.name)
        if why is not None:
            raise ValueError(f"`scheme_factory` gives {why}")
        schemes.append(scheme)
    sol = solve(system, x0_arr, (0.0, T), rtol=_REFERENCE_RTOL, atol=_REFERENCE_ATOL)
    reports = []
    for h, scheme in zip(step_arr, schemes, strict=True):
        traj = scheme.run(system.objective, x0_arr, t_final=T)
        if int(traj.status) < 0:
            # (a run cut short, by max_steps for one: its errors and the order fitted
            # through them covered [0, 3] of T = 4, with nothing said)
            raise ValueError(
                f"the run with step {h:g} ended at t = {float(traj.t[-1]):.12g} before "
                f"T = {T:g} (status {int(traj.status)}: {traj.message.rstrip('.')}); its errors "
                "would not be over [0, T]"
            )
        reports.append(compare(traj, sol, system=system))
    sup = np.array([r.sup_error_inf for r in reports])
    fin = np.array([r.final_error_inf for r in reports])
    # What T/h steps' rounding can leave on states of this size, and what the reference
    # solution's own tolerance can (10 times its requested local error): errors at or
    # below it measure the floating-point arithmetic or the reference, not the scheme (a
    # fit through them gave an "order" of -2 for SignGD exact before a switch, and -0.013
    # for an implicit step exact on its example, 1.9e-10 off the reference).
    scale = float(np.max(np.abs(sol.x), initial=0.0))
    rounding = 8.0 * np.finfo(np.float64).eps * scale * np.maximum(1.0, T / step_arr)
    if not sol.method.startswith("exact"):  # (the exact path is exact to rounding)
        rounding = rounding + 10.0 * (_REFERENCE_RTOL * scale + _REFERENCE_ATOL)
    return ConvergenceStudy(
        steps=step_arr,
        sup_errors=sup,
        final_errors=fin,
        order=_fit_order(step_arr, sup, rounding),
        final_order=_fit_order(step_arr, fin, rounding),
        reports=tuple(reports),
    )


def _trajectory_flow(traj: DiscreteTrajectory) -> tuple[str, str, str] | None:
    """The scheme name, ``norm_name`` and ``flow`` a trajectory's metadata records, or
    ``None`` for a trajectory without them (built by hand)."""
    meta = traj.metadata
    norm = meta.get("norm")
    if not isinstance(norm, str):
        return None
    name = str(meta.get("scheme_class") or meta.get("scheme") or "the scheme")
    flow = meta.get("flow")
    if not isinstance(flow, str):
        # (a trajectory saved before `flow` was recorded: its class says, if it is ours)
        cls = getattr(_schemes, name, None)
        flow = cls.flow if isinstance(cls, type) and issubclass(cls, Scheme) else None
    return name, norm, flow if isinstance(flow, str) else "steepest-descent"


def _not_tracking(traj: DiscreteTrajectory) -> str | None:
    """The scheme's `Scheme.not_tracking` note a trajectory's metadata records (for one
    saved before it was recorded: its class's, if it is one of ours), else ``None``."""
    meta = traj.metadata
    if "not_tracking" in meta:
        note = meta["not_tracking"]
        return note if isinstance(note, str) else None
    cls = getattr(_schemes, str(meta.get("scheme_class", "")), None)
    note = vars(cls).get("not_tracking") if isinstance(cls, type) else None
    if isinstance(note, property):  # (decided per instance: not known from the class)
        return None
    return note if isinstance(note, str) else None


#: The tolerances of `convergence_study`'s reference solution (``solve``'s defaults).
_REFERENCE_RTOL, _REFERENCE_ATOL = 1e-10, 1e-12


def _fit_order(steps: FloatArray, errors: FloatArray, rounding: FloatArray) -> float:
    """The log-log slope over the errors above ``rounding`` (``nan`` with fewer than two)."""
    ok = errors > rounding
    if np.unique(steps[ok]).size < 2:
        return float("nan")
    slope, _ = np.polyfit(np.log(steps[ok]), np.log(errors[ok]), 1)
    return float(slope)
