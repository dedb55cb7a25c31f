"""The driver: :func:`solve` picks an integration path, runs it event by event
(:func:`run`) and checks the result.

The paths follow :mod:`filippov.engine.protocol`; all of them return a
:class:`~filippov.solution.FilippovSolution` built by the same recorder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import inspect
import re
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from filippov._certify import STATUS_UNCERTIFIED, certify
from filippov._compact_recorder import CompactRecorder
from filippov._derivative_check import directional_mismatch, random_directions, relative_error
from filippov._recorder import Recorder, check_accumulation
from filippov._validation import (
    FloatArray,
    NonFiniteError,
    as_vector,
    preview,
    require_flag,
    require_positive,
)
from filippov.engine.protocol import (
    IntegrationPath,
    PathFailure,
    Rest,
    cyclic_gc_paused,
    serial_blas,
)
from filippov.piecewise import PiecewiseSystem
from filippov.selection import SelectionError
from filippov.solution import FilippovSolution
from filippov.systems import FilippovSystem

__all__ = ["path_class", "run", "solve"]

#: The smallest relative tolerance an integrator can honour in double precision.
_MIN_RTOL = 100 * float(np.finfo(float).eps)
#: A time span must hold at least this many floating-point times.
_MIN_SPAN_ULPS = 16


def solve(
    system: FilippovSystem,
    x0: ArrayLike,
    t_span: tuple[float, float],
    *,
    method: str | type[IntegrationPath] = "auto",
    integrator: str = "auto",
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_events: int = 100_000,
    zero_tol: float = 1e-12,
    zeno_spacing: float = 1e-8,
    stabilization: float = 10.0,
    check_derivatives: bool = True,
    storage: str = "full",
    checkpoints: int | ArrayLike | None = None,
    options: object | None = None,
) -> FilippovSolution:
    r"""Compute the Filippov solution of ``x' ∈ f0(x) − B(x) ∂φ(h(x))`` from ``x0``.

    Parameters
    ----------
    system : FilippovSystem
        The inclusion, e.g. from :func:`~filippov.systems.steepest_descent_flow`.
    x0 : array_like, shape (n,)
        Initial state (finite).
    t_span : (float, float)
        Start and end time, ``t0 < t_end``, at least 16 floating-point numbers apart
        (times are reported as ``t0 + τ``; the paths integrate in ``τ = t − t0``, so a
        large ``t0`` costs no resolution inside the run).
    method : {"auto", "exact", "events", "continuation", "piecewise"} or IntegrationPath subclass
        ``"exact"``: closed-form event-to-event integration of a piecewise-affine system
        (ℓ1 / ℓ∞ relays; an error otherwise). ``"events"``: mode-by-mode numerical
        integration (for a :class:`~filippov.piecewise.PiecewiseSystem`, its own event
        path, ``"piecewise"``). ``"continuation"``: the ℓ∞ (sign) and ℓ1 (greedy)
        steepest-descent flows of an objective followed as continuation of their sliding
        and tie curves with Hessian–vector products (an error for other systems; see the
        theory page). ``"auto"`` picks the exact path whenever it applies, else the
        continuation path for sign and greedy flows (the event path when that ends with
        status −1, −2, −4 or −5, e.g. for want of a positive definite sliding block, a
        corrector that cannot converge, events recurring, or an end that fails the
        self-check: the message then ends with how the
        continuation path ended, also in ``sol.info["failed_path"]`` as ``method``,
        ``status`` and ``message``), else the event path. After a −4 of a sign flow's
        continuation run that got somewhere (a situation it declines, its part
        self-checked, no least-norm selection in it), the event path goes on from the
        middle of that run's last mode, in that mode, the solution keeps both parts (``sol.method`` ``"continuation, then events
        (…)"``, ``info["failed_path"]["handed_over_at"]`` the time), and only if that
        fails too does the event path run from the start. A subclass of
        :class:`~filippov.engine.IntegrationPath` runs a path of your own.
    integrator : {"auto", "DOP853", "RK45", "RK23", "Radau", "BDF", "LSODA"}, default "auto"
        The scipy ``OdeSolver`` used inside each mode by the event and piecewise paths.
        ``"auto"``: DOP853, and Radau for the rest of a mode from the step at which
        DOP853 is found stiff (the stiffness test of Hairer's DOP853: 15 steps with
        ``h|λ| > 6.1``, estimated from its last two stages at no extra evaluation); the
        run's ``method`` then reads ``"events (DOP853, Radau in stiff modes)"``. Where
        Radau fails in such a mode (its Newton iteration at a pole of ``h``), DOP853 goes
        on from its last state. Why: ℓ2 relays, such as the ℓ2 flow
        ``x' = −∇f/‖∇f‖`` (Jacobian about ``H/‖∇f‖``), are stiff near their arrival at
        ``h = 0``. From (1, 0.7), DOP853 alone stopped after 10 000 steps in one mode
        (status −1, 8 s) on ``x⁴/4 + y²/2`` and on a quadratic of condition 1e4, and took
        1.5 s at condition 1e3 and 5.2 s on Rosenbrock's function (from (−1.2, 1), its
        arrival 6.5e-8 late); ``"auto"`` arrives in 1.1, 0.11, 0.12 and 2.0 s. Radau
        throughout costs Jacobians and LU decompositions where nothing is stiff (0.37 s
        against 0.04 s at condition 10, where ``"auto"`` stays on DOP853).
    rtol, atol : float
        Tolerances of the integrator of the event, continuation and piecewise paths (the
        exact path is exact to rounding).
        An ``rtol`` below ``100 eps`` cannot be honoured in double precision: it is raised
        to ``100 eps`` with a ``RuntimeWarning``.
    max_events : int
        Cap on the number of events (Zeno guard).
    zero_tol : float
        Relative tolerance for reading zeros and ties of ``h`` off the state (initial face
        and simultaneous events). A zero is judged per index, on the scale of that
        switching function alone: ``h_i(x0)`` counts as zero when
        ``|h_i| <= min(zero_tol, 64 eps) · Σ_j |∂h_i/∂x_j| |x0_j|`` (plus ``|e_i|`` for
        an affine ``h = G x + e``), the size of the terms it is made of: the initial state
        is never moved by more than rounding (a state further off reaches its manifold
        after a short first segment). Ties of the ℓ∞ relay are judged against the largest
        ``|h_i|``, and ``zero_tol`` (relative to the scale of ``h``) sets the margins that
        keep an event from firing again at its own time.
    zeno_spacing : float
        Events closer than ``zeno_spacing · (t_end − t0)`` trigger the accumulation check
        (status −2): gaps that contract geometrically, with a period of up to four event
        times on recurring switching functions, are summed to the limit, recorded as an
        ``"accumulation"`` event; gaps shrinking otherwise, or 48 such close events in a
        row on the same few switching functions, stop the run there (with the default, a
        run whose events stay that close cannot reach ``t_end`` within ``max_events``;
        a ``zeno_spacing`` of ``1/max_events`` or more also stops a regular fast switching,
        such as a relay oscillator with more than ``1/zeno_spacing`` switchings in the
        span).
    stabilization : float
        Gain of the drift correction on sliding manifolds, in units of ``1/(t_end − t0)``.
    check_derivatives : bool, default True
        Before integrating, compare the derivatives the engine will trust with finite
        differences at ``x0`` along two random directions: the objective's gradient with
        ``f`` and its Hessian with the gradient (steepest-descent flows, see
        :meth:`~filippov.objectives.Objective.check_derivatives`), or a user ``jac_h`` with
        ``h`` (general systems). A mismatch raises ``ValueError`` naming the derivative:
        a wrong derivative gives a wrong flow, never an error, later. About 16 evaluations
        each of ``f`` and ``grad`` (or of ``h``); ``False`` skips it.
    storage : {"full", "compact"}, default "full"
        ``"compact"`` (exact path only): a
        :class:`~filippov.compact_solution.CompactSolution`, which keeps per segment only
        the velocity and relay entries that changed and full states only at checkpoints,
        and rebuilds the rest on access, bit for bit the same (for long runs in many
        dimensions: see :mod:`filippov.compact_solution`).
    checkpoints : int or array_like of float, optional
        With ``storage="compact"``: a full state every ``checkpoints`` segments (default
        64), or, given times, only at the first segment starting at or after each of them
        (a time grid: for very long runs, the memory of full states then grows with the
        grid, not with the number of events; reading a segment replays those since the
        last checkpoint).
    options : dataclass, optional
        The chosen path's options whole (:class:`~filippov.engine.ExactOptions`,
        :class:`~filippov.engine.EventOptions`, :class:`~filippov.engine.ContinuationOptions`,
        :class:`~filippov.engine.PiecewiseOptions`) instead of the keywords above; with
        ``method="auto"`` their type names the path. Options only a path has are set here,
        e.g. ``ExactOptions(incremental=False)``. A keyword given besides ``options`` for
        the same option is an error; a keyword the chosen path does not read (with an
        explicit ``method``) is ignored with a ``UserWarning``.

    Returns
    -------
    FilippovSolution
        Breakpoints, typed events, segments with their modes, dense output. ``status`` is
        0 when ``t_end`` was reached, 1 when a stationary point (Filippov equilibrium) was
        reached (the solution stays there up to ``t_end``), negative on failure (−1
        integrator failure, −2 too many / accumulating events, −3 non-finite values or a
        pole or discontinuity of ``h``, −4 an unsupported or singular situation, −5 a
        failed self-check, see Notes); the message says what, when and where, and the
        partial solution is kept. When the last switching function reaching its
        manifold makes the state an equilibrium, both events are recorded at that time:
        the ``"sliding-entry"`` of that index and the ``"stationary"`` point.

    Raises
    ------
    TypeError, ValueError
        For invalid arguments (never for a failure during integration), and for a
        derivative that disagrees with its function (``check_derivatives``).

    Notes
    -----
    Before a run is returned with status 0 or 1 the engine checks its own result, at the
    end of the run (its cost does not grow with the number of events): the switching
    functions the final mode holds at zero are zero at the end state, each on its own
    scale (or the state is within what the path's accuracy and the Jacobian's condition
    number allow of where they vanish), and smooth there (a pole or jump is status −3);
    at a stationary end the other relays have the signs of their ``h_i`` and the
    velocity vanishes; a steepest-descent flow's objective has not increased over the
    breakpoints (sampled); and the final sliding selection's condition number, after
    diagonal equilibration, is below 1e13 (beyond, its velocity is rounding). A failed
    check is status −5 naming it, with the path's own message and the solution kept.

    An equilibrium on ℓ1 switching manifolds is recorded with ``unique=False`` only when
    the set of solutions of its sliding selection holds a velocity along which the
    solution can really leave (checked a short step along it), so a unique attracting
    equilibrium is ``"stationary"`` and unique even where ``∂h/∂x B`` is no P-matrix (the
    nonsmooth harmonic oscillator's centre). For the ℓ∞ and ℓ2 relays an equilibrium at
    ``h = 0`` is unique only if ``∂h/∂x B`` is a P-matrix there (for a gradient flow: a
    strict local minimum). A manifold the solution leaves at its initial state is
    recorded with the kind :meth:`~filippov.systems.FilippovSystem.classify` gives it
    (``"crossing"``, ``"tangency"``, else ``"exit"``) by both paths.

    While the exact path runs, the calling process has Python's cyclic garbage collector
    paused (``gc.disable``; its records hold no reference cycles and no user code runs in
    its loop), and BLAS limited to one thread for systems of 128 or more switching
    functions (so is BLAS while the continuation path runs and while the end state is
    checked, for 128 or more coordinates). Both are restored as found when ``solve`` returns or raises. Both settings
    are process-wide: other threads run with them meanwhile, and a thread that changes
    them during a solve has its change undone at the end.

    Examples
    --------
    The sign flow of the slope example slides along ``x1 = x2/2`` to the minimizer:

    >>> import filippov as fp
    >>> from filippov.objectives import slope
    >>> sol = fp.solve(fp.steepest_descent_flow(slope(0.5), "linf"), [0.6, 0.1], (0.0, 4.0))
    >>> [(round(e.t, 12), e.kind) for e in sol.events]
    [(1.1, 'sliding-entry'), (3.1, 'sliding-entry'), (3.1, 'stationary')]
    >>> sol(4.0)
    array([-1.5, -3. ])
    """
    if not isinstance(system, (FilippovSystem, PiecewiseSystem)):
        raise TypeError(f"`system` must be a FilippovSystem. Got {type(system).__name__} instead.")
    x0_arr = as_vector(x0, "x0", system.n)
    try:
        t0, t_end = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise ValueError(f"`t_span` must be a pair (t0, t_end). Got {t_span!r} instead.") from None
    if not (np.isfinite(t0) and np.isfinite(t_end) and t0 < t_end):
        raise ValueError(f"`t_span` must be finite with t0 < t_end. Got {t_span!r} instead.")
    # Times are reported as t0 + τ: a span of a few ulps of t0 leaves no times in between.
    t_ulp = float(np.spacing(max(abs(t0), abs(t_end))))
    if t_end - t0 < _MIN_SPAN_ULPS * t_ulp:
        raise ValueError(
            f"`t_span` must span at least {_MIN_SPAN_ULPS} floating-point times (ulp "
            f"{t_ulp:.3g} at t0 = {t0!r}). Got {t_span!r} instead: shift the time origin."
        )
    path_cls = _resolve_method(method, system, options)
    # The paths import scipy's integrators and LAPACK: loaded on the first solve.
    from filippov._stiffness import require_integrator

    integrator = require_integrator(integrator)
    rtol = require_positive(rtol, "rtol")
    if rtol < _MIN_RTOL:
        # Below ~100 eps no OdeSolver can honour rtol (scipy clamps it itself, and the
        # event location then brackets roots below rounding: brentq raised on rtol=1e-16).
        warnings.warn(
            f"`rtol` = {rtol!r} is below what double precision can honour; using "
            f"rtol = {_MIN_RTOL:.3g} (100 eps) instead.",
            RuntimeWarning,
            stacklevel=2,
        )
        rtol = _MIN_RTOL
    atol = require_positive(atol, "atol")
    zero_tol = require_positive(zero_tol, "zero_tol")
    zeno_spacing = require_positive(zeno_spacing, "zeno_spacing")
    if zero_tol >= 1.0:
        raise ValueError(f"`zero_tol` must be a small relative tolerance < 1. Got {zero_tol!r}.")
    if isinstance(stabilization, bool) or not isinstance(stabilization, (int, float, np.number)):
        raise TypeError(f"`stabilization` must be a number >= 0. Got {stabilization!r} instead.")
    if not (np.isfinite(stabilization) and stabilization >= 0):
        raise ValueError(f"`stabilization` must be finite and >= 0. Got {stabilization!r} instead.")
    if (
        isinstance(max_events, bool)
        or not isinstance(max_events, (int, np.integer))
        or max_events < 1
    ):
        raise ValueError(f"`max_events` must be a positive integer. Got {max_events!r} instead.")
    max_events = int(max_events)
    keywords = {
        "integrator": integrator,
        "rtol": rtol,
        "atol": atol,
        "zero_tol": zero_tol,
        "stabilization": float(stabilization),
    }
    candidates = _candidates(path_cls, system)
    check = require_flag(check_derivatives, "check_derivatives")
    # Validate shapes once, up front: a wrong user function fails here with a clear message.
    with _evaluated_at_x0(x0_arr, t0):
        if isinstance(system, PiecewiseSystem):  # several surfaces, a field per region
            c0 = np.asarray(system.c(x0_arr), dtype=float)
            if not bool(np.all(np.isfinite(c0))):
                # (a NaN c has no side: it was read as the "+" region, and the run went
                # on, status 0, past where the switching function is even defined)
                raise NonFiniteError(
                    f"the switching functions must be finite at x0 = {preview(x0_arr)}. "
                    f"Got c(x0) = {preview(c0)} instead."
                )
            # (the field of the start's region: its shape, as c's; a wrong one failed the
            # run -1 at t = 0 instead of being refused)
            system.field(x0_arr, system.region(x0_arr))
            system.jacobian(x0_arr)
            if check:
                _check_piecewise_jacobian(system, x0_arr)
        else:
            if system.B_is_identity:
                system.h(x0_arr)  # (f0 and h checked; B = I is not built for nothing)
            else:
                system.evaluate(x0_arr)
            if candidates[0].name != "continuation":
                # (Not on the continuation path: it never forms the dense Hessian, ~1 s at
                # d = 1000; an objective checks the shape of whatever it returns when asked.)
                system.jacobian(x0_arr)
            if check:
                _check_system_derivatives(system, x0_arr)
    _check_path_options(candidates[0], keywords, options, explicit=path_cls is not None)
    # The paths integrate in τ = t − t0 (see Recorder.finish): at t0 = 1e15 a time is only
    # resolved to 0.125, which moved event times, shortened segments and ended the sign
    # flow of the slope example at (−1.525, −3.025) instead of (−1.5, −3).
    span = _tau_span(t0, t_end)
    failed_first: tuple[str, int, str] | None = None
    handed_over_at: float | None = None
    for position, candidate in enumerate(candidates):
        opts = options if options is not None else _options_for(candidate, keywords)
        rec = _make_recorder(system, x0_arr, candidate, storage, checkpoints, t0)
        path = candidate(system, x0_arr, span, opts, rec)
        rec.method = path.label
        status, message = run(path, max_events, zeno_spacing)
        # (checked before the choice: a path whose result fails its self-check may be
        # retried by the next candidate, as one that failed by itself)
        status, message = _certified(path, system, rec, status, message)
        message = _with_least_norm_note(rec, message, t0)
        if status not in candidate.retry_on or position == len(candidates) - 1:
            break
        failed_first = (candidate.name, status, message)
        following = candidates[position + 1]
        if _may_hand_over(system, rec, status, following):
            # (method="auto": the next candidate goes on from within this one's last mode)
            opts = options if options is not None else _options_for(following, keywords)
            handed = _handed_over(
                system, path, rec, following, opts, span, max_events, zeno_spacing, t0
            )
            if handed is not None:
                path, status, message = handed
                handed_over_at = rec.handed_over_at
                break
        # (method="auto": the next candidate runs the system from the start; the
        # continuation path needs a positive definite sliding block, for instance.)
    if failed_first is not None:
        # The solution says that another path failed before this one ran, and why: a
        # user comparing runs otherwise saw only "events (DOP853)" and could not tell a
        # continuation run that fails from one that never applied.
        name, first_status, first_message = failed_first
        rec.info["failed_path"] = {
            "method": name,
            "status": first_status,
            "message": _shift_times_in(first_message, t0),
        }
        if handed_over_at is None:
            message = (
                f"{message} (method='auto' ran the {path.name!r} path after the {name!r} "
                f"path ended with status {first_status}, its solution discarded: "
                f"{first_message})"
            )
        else:
            rec.info["failed_path"]["handed_over_at"] = handed_over_at + t0
            message = (
                f"{message} (method='auto' ran the {path.name!r} path from t = "
                f"{handed_over_at!r} on, where the {name!r} path ended with status "
                f"{first_status}, and kept that path's solution before it: {first_message})"
            )
    return rec.finish(status, _shift_times_in(message, t0), t_offset=t0)


#: Double precision's machine epsilon.
_EPS = float(np.finfo(float).eps)


def _with_least_norm_note(rec: Recorder, message: str, t0: float) -> str:
    """``message``, saying where the solution stopped being unique when a path followed a
    least-norm selection (``rec.info["least_norm_sliding"]``, whose time is then shifted
    from τ to ``t``)."""
    least_norm = rec.info.get("least_norm_sliding")
    if least_norm is None:
        return message
    # (a choice among solutions: said in the message, not only in the events; its time
    # in τ = t − t0, as the message's others, shifted with them by the caller)
    message = (
        f"{message}; the solution is not unique from t = {least_norm['t']:.12g} on: "
        f"{least_norm['note']} (events flagged unique=False)"
    )
    least_norm["t"] += t0  # (the user reads t in info)
    return message


def _may_hand_over(
    system: FilippovSystem, rec: Recorder, status: int, following: type[IntegrationPath]
) -> bool:
    """Whether ``method="auto"`` lets the event path go on from within the last mode of a
    continuation run (instead of running the system again from the start).

    Only for the sign (ℓ∞) flow, whose continuation follows sliding modes, and only after
    a run that declined a situation it does not integrate (status −4: a sliding block
    that is not positive definite, a selection it cannot decide), that got somewhere, and
    whose partial solution passed its self-check (a −4 it kept). Not after a failed step
    or corrector (−1, −2: the last state may not be on its manifolds to the tolerance),
    nor a failed self-check (−5), nor after a least-norm selection (a block singular
    along a mode: a −4 that follows may say that the block was regular after all, and
    then the part since that mode is not the solution). Not for the greedy (ℓ1) flow: a
    review found its tie modes, on a network's ties that never end (two partials exactly
    opposite), moving 13.5 times faster than the flow allows before a −4, which the
    run from the start had discarded.
    """
    return (
        status == -4
        and following.name == "events"
        and system.norm.name == "l1"
        and rec.t[-1] > 0.0
        and bool(rec.segments)
        and rec.segments[-1].t1 > rec.segments[-1].t0
        and "least_norm_sliding" not in rec.info
    )


def _speed_bound_holds(rec: Recorder, rtol: float, atol: float) -> bool:
    """Whether every step between the recorded breakpoints of a sign flow moves each
    coordinate by at most its time (``|ẋ_i| ≤ 1``), beyond it by at most the drift the
    path's self-check allows (``rtol``, ``atol``: a state put back onto its manifolds at
    an event moves by up to its tolerance in no time; 1.7e-10 on a factorization): a
    cheap check of the part a hand-over keeps (its self-check reads the end state)."""
    t = np.asarray(rec.t, dtype=float)
    states = rec.states()
    moved = np.abs(np.diff(states, axis=0)).max(axis=1, initial=0.0)
    scale = float(np.abs(states).max())
    slack = rtol * scale + atol + 64 * _EPS * (1.0 + scale)
    return bool(np.all(moved <= np.diff(t) * (1.0 + 1e-8) + slack))


def _handed_over(
    system: FilippovSystem,
    first_path: IntegrationPath,
    rec: Recorder,
    path_cls: type[IntegrationPath],
    opts: Any,
    span: float,
    max_events: int,
    zeno_spacing: float,
    t0: float,
) -> tuple[IntegrationPath, int, str] | None:
    """Run ``path_cls`` from the middle of the last mode of ``rec`` (in that mode) to the
    end of the span, and append its records to ``rec`` cut there; ``(path, status,
    message)``, or None (``rec`` unchanged) when that run fails too (the caller then runs
    the system again from the start: a different path from the start may go where this
    one cannot).

    Why the middle of the mode and not where the run stopped: there the arrival that
    stopped it is still ahead, so the event path locates and records it itself, with the
    mode before it (from the stop itself, the event path's start-up read the face off
    ``h`` and recorded entries of indices sliding long before, and classified the
    arrival as a start does). The new path runs in its own clock from 0 (the paths'
    convention) on a recorder of its own; its records, its message's times and its
    least-norm note are shifted by the hand-over time.
    """
    tolerances = first_path.certify_tolerances()
    if tolerances is None or not _speed_bound_holds(rec, *tolerances):
        return None
    last = rec.segments[-1]
    tau = 0.5 * (last.t0 + last.t1)
    if not last.t0 < tau < last.t1:
        return None
    kept = (list(rec.segments), list(rec.t), list(rec.x))
    x_cut = rec.cut_last_segment(tau)
    if x_cut is None:
        return None
    x = np.array(x_cut, dtype=float)
    rest = Recorder(0.0, x, path_cls.name)
    path = path_cls(system, x, span - tau, opts, rest)
    path.initial_mode = last.mode  # type: ignore[attr-defined]
    rest.method = path.label
    status, message = run(path, max(1, max_events - rec.n_events), zeno_spacing)
    status, message = _certified(path, system, rest, status, message)
    if status < 0:
        rec.segments[:], rec.t[:], rec.x[:] = kept
        rec._stacked = None
        return None
    # (the note's time in the new run's clock, as the message's others: all shifted)
    message = _shift_times_in(_with_least_norm_note(rest, message, t0 + tau), tau)
    least_norm = rest.info.get("least_norm_sliding")
    rec.append_run(rest, tau)
    if least_norm is not None:
        # (its time was shifted to t from the new run's clock: t0 + tau)
        rec.info["least_norm_sliding"] = least_norm
    rec.method = f"{rec.method}, then {path.label}"
    rec.handed_over_at = tau
    return path, status, message


def _certified(
    path: IntegrationPath, system: FilippovSystem, rec: Recorder, status: int, message: str
) -> tuple[int, str]:
    """``(status, message)`` of a run after the end-of-run self-check of its path
    (unchanged for a path that has none: see `certify`)."""
    tolerances = path.certify_tolerances()
    if tolerances is None:
        return status, message
    try:
        # (With the collector paused like the exact path itself: the recorder holds
        # thousands of records, and a collection triggered here would cost more than
        # the checks. On one BLAS thread, as the paths run: the end state's dense
        # least-squares solves took 0.32 s on two threads of a loaded two-core machine
        # against 0.013 s on one, for d = 200, a third of the run.)
        with cyclic_gc_paused(), serial_blas():
            return certify(
                system, rec, status, message, drift_rtol=tolerances[0], drift_atol=tolerances[1]
            )
    except (ValueError, ArithmeticError, RuntimeError, np.linalg.LinAlgError) as exc:
        return (
            STATUS_UNCERTIFIED,
            f"self-check failed: the end state could not be checked ({type(exc).__name__}: "
            f"{exc}); the path reported: {message}",
        )


@contextlib.contextmanager
def _evaluated_at_x0(x0: FloatArray, t0: float) -> Iterator[None]:
    """Name the start as the place where a user function failed before the run began.

    Later in a run the same failures end it with status -1 and the partial solution (see
    `run`); at ``x0`` there is nothing to keep, so the error is raised -- as a ValueError
    that says where (the user's traceback stays chained below it). Errors of our own
    validation (shapes, non-finite values: ValueError, TypeError, NonFiniteError -- a
    FloatingPointError too) pass unchanged.
    """
    try:
        yield
    except NonFiniteError:
        raise  # (our own check of what a function returned: it names the value already)
    except (ArithmeticError, RuntimeError, np.linalg.LinAlgError) as exc:
        raise ValueError(
            f"the system's functions raised at the start x0 = {preview(x0)} (t = {t0!r}), "
            f"before the run began: {type(exc).__name__}: {exc}"
        ) from exc


def run(path: IntegrationPath, max_events: int, zeno_spacing: float) -> tuple[int, str]:
    """Drive ``path`` from event to event to the end of its run; ``(status, message)``.

    The driver alone stops a run for the event limit and for accumulating events, records
    the rest at a stationary point, and turns a failure of the path into a status (``solve``
    never raises once the integration has started: the partial solution is kept).
    """
    rec = path.recorder
    span = path.horizon
    advance = path.advance
    try:
        with path.running():
            while True:
                outcome = advance()
                if outcome is None:  # at an event (or the start), before the next segment
                    accumulation = check_accumulation(rec, span, zeno_spacing)
                    if accumulation is not None:
                        return accumulation
                    if rec.n_events >= max_events:
                        return -2, (
                            f"more than max_events = {max_events} events by "
                            f"t = {rec.t[-1]:.12g}, x = {_state(rec)}; the events may "
                            "accumulate (Zeno): raise `max_events` if the system really "
                            "switches this often"
                        )
                    continue
                if isinstance(outcome, Rest):
                    return _record_rest(rec, outcome, span)
                return outcome.status, outcome.message
    except PathFailure as failure:
        return failure.status, failure.message
    except SelectionError as exc:
        return -4, (
            f"the sliding selection at t = {rec.t[-1]:.12g}, x = {_state(rec)} could not "
            f"be solved: {exc} (the solution up to there is kept)"
        )
    except NonFiniteError as exc:
        # A function's value that is not finite, met where no path retries toward it (a
        # jac_h at an event, a gradient inside an accepted continuation step): the
        # status that says so (it was −1, "the integration failed").
        return -3, (
            f"non-finite value ({exc}) after t = {rec.t[-1]:.12g}, x = {_state(rec)}; the "
            "solution up to there is kept"
        )
    except (ValueError, ArithmeticError, RuntimeError, np.linalg.LinAlgError) as exc:
        # A numerical routine giving up (e.g. a root bracket lost to rounding) ends the
        # run as a failure with what it said, the partial solution kept.
        return -1, (
            f"the integration failed at t = {rec.t[-1]:.12g}, x = {_state(rec)} "
            f"({type(exc).__name__}: {exc}); the solution up to there is kept"
        )


def _state(rec: Recorder) -> str:
    """The last recorded state, for a message (where the partial solution ends)."""
    return np.array2string(np.asarray(rec.x[-1]), precision=12, threshold=20)


def _record_rest(rec: Recorder, rest: Rest, horizon: float) -> tuple[int, str]:
    """Record a run's rest at a Filippov equilibrium: the stationary event and the segment
    at rest up to the end of the run."""
    if rest.record_event:
        rec.event(
            rest.t,
            rest.x,
            "stationary",
            rest.free,
            rest.mode_before,
            rest.mode,
            unique=rest.unique,
            note=rest.note,
        )
    if rest.t < horizon:
        rec.linear_segment(
            rest.t, horizon, rest.x, np.zeros_like(rest.x), rest.mode, rest.lam, kind="stationary"
        )
    note = f" ({rest.note})" if rest.note else ""
    return 1, f"stationary point reached at t = {rest.t:.12g}{note}"


def _make_recorder(
    system: FilippovSystem | PiecewiseSystem,
    x0: FloatArray,
    path_cls: type[IntegrationPath],
    storage: str,
    checkpoints: int | ArrayLike | None,
    t0: float,
) -> Recorder:
    """The recorder for ``storage`` (checked here: before any integration)."""
    if storage not in ("full", "compact"):
        raise ValueError(f"`storage` must be 'full' or 'compact'. Got {storage!r} instead.")
    if storage == "full":
        if checkpoints is not None:
            raise ValueError("`checkpoints` applies to storage='compact' only.")
        return Recorder(0.0, x0, path_cls.name)
    data = getattr(system, "affine_data", None)
    if path_cls.name != "exact" or data is None:
        raise ValueError(
            "`storage='compact'` needs the exact path (a piecewise-affine system with an "
            "l1 or linf relay, method 'auto' or 'exact')."
        )
    every, grid = 64, None
    if checkpoints is not None:
        if isinstance(checkpoints, (int, np.integer)) and not isinstance(checkpoints, bool):
            every = int(require_positive(int(checkpoints), "checkpoints"))
        else:
            times = np.asarray(checkpoints, dtype=float)
            if times.ndim != 1 or not np.all(np.isfinite(times)):
                raise ValueError(
                    "`checkpoints` must be a positive int or a 1-D array of finite times. "
                    f"Got {preview(np.atleast_1d(times).ravel())} instead."
                )
            grid = np.sort(times - t0)  # the paths integrate in τ = t − t0
    B = data.B
    b_is_eye = B.shape[0] == B.shape[1] and np.array_equal(B, np.eye(B.shape[0]))
    return CompactRecorder(
        0.0,
        x0,
        "exact",
        m=data.G.shape[0],
        c0=data.c0 if b_is_eye else None,
        every=every,
        grid=grid,
    )


#: The paths ``solve`` knows by name: module and class, imported on the first solve.
_PATHS = {
    "exact": ("filippov._exact_path", "ExactPath"),
    "events": ("filippov._event_path", "EventPath"),
    "continuation": ("filippov._continuation_path", "ContinuationPath"),
    "piecewise": ("filippov._piecewise_path", "PiecewisePath"),
}
_METHODS = ("auto", *_PATHS)


def path_class(name: str) -> type[IntegrationPath]:
    """The integration path ``solve`` knows as ``method=name``."""
    module, cls = _PATHS[name]
    path: type[IntegrationPath] = getattr(importlib.import_module(module), cls)
    return path


def _resolve_method(
    method: str | type[IntegrationPath], system: object, options: object
) -> type[IntegrationPath] | None:
    """The path ``method`` names (``None`` for ``"auto"`` without ``options``), checked
    against ``system``."""
    if isinstance(method, type) and issubclass(method, IntegrationPath):
        path_cls = method
    elif isinstance(method, str) and method in _METHODS:
        if method == "auto":
            if options is None:
                return None
            # options of one path's type name that path
            for name in _PATHS:
                if type(options) is path_class(name).Options:
                    return _resolve_method(name, system, options)
            raise TypeError(
                "`options` must be the options of an integration path (e.g. "
                f"filippov.engine.ExactOptions). Got {type(options).__name__} instead."
            )
        if method == "events" and isinstance(system, PiecewiseSystem):
            method = "piecewise"  # a PiecewiseSystem's event path is its own
        path_cls = path_class(method)
    else:
        raise ValueError(
            f"`method` must be one of {_METHODS} or an IntegrationPath subclass. "
            f"Got {method!r} instead."
        )
    why_not = path_cls.unsupported(system)
    if why_not is not None:
        raise ValueError(
            f"`method={path_cls.name!r}` cannot run {system!r}: {why_not}. Use method='auto'."
        )
    if options is not None and not isinstance(options, path_cls.Options):
        raise TypeError(
            f"`options` must be a {path_cls.Options.__name__} for method {path_cls.name!r}. "
            f"Got {type(options).__name__} instead."
        )
    return path_cls


def _candidates(
    path_cls: type[IntegrationPath] | None, system: object
) -> list[type[IntegrationPath]]:
    """The paths to run, in order: the one asked for, or what ``method="auto"`` picks (the
    exact path whenever it applies, else the continuation path for sign flows with the
    event path as its fallback, else the event path)."""
    if path_cls is not None:
        return [path_cls]
    if isinstance(system, PiecewiseSystem):
        return [path_class("piecewise")]
    exact = path_class("exact")
    if exact.supports(system):
        return [exact]
    continuation = path_class("continuation")
    events = path_class("events")
    return [continuation, events] if continuation.supports(system) else [events]


def _check_path_options(
    path_cls: type[IntegrationPath], keywords: dict[str, object], options: object, explicit: bool
) -> None:
    """Warn about keywords the chosen path does not read; refuse keywords given beside
    ``options`` (which would silently lose one of the two)."""
    fields = {f.name for f in dataclasses.fields(path_cls.Options)}
    defaults = inspect.signature(solve).parameters
    changed = [k for k, v in keywords.items() if v != defaults[k].default]
    if options is not None:
        both = [k for k in changed if k in fields]
        if both:
            raise ValueError(
                f"{', '.join(f'`{k}`' for k in both)} given both as keyword and in `options`; "
                "give each option once."
            )
    ignored = [k for k in changed if k not in fields]
    if explicit and ignored:
        names = ", ".join(f"`{k}`" for k in ignored)
        warnings.warn(
            f"{names} {'does' if len(ignored) == 1 else 'do'} not apply to the "
            f"{path_cls.name!r} path and {'is' if len(ignored) == 1 else 'are'} ignored.",
            UserWarning,
            stacklevel=3,
        )


def _options_for(path_cls: type[IntegrationPath], keywords: dict[str, object]) -> object:
    """The path's options from the keywords of ``solve`` that it reads."""
    fields = {f.name for f in dataclasses.fields(path_cls.Options)}
    return path_cls.Options(**{k: v for k, v in keywords.items() if k in fields})


def _tau_span(t0: float, t_end: float) -> float:
    """``t_end − t0`` as the τ at which ``t0 + τ`` rounds to ``t_end`` exactly (so the last
    breakpoint, shifted back, is ``t_end`` itself)."""
    span = t_end - t0
    for _ in range(4):  # off by at most an ulp or two: a few nudges settle it
        if t0 + span < t_end:
            span = float(np.nextafter(span, np.inf))
        elif t0 + span > t_end:
            span = float(np.nextafter(span, -np.inf))
        else:
            break
    return span


_TIME_IN_MESSAGE = re.compile(r"\bt = (-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)")


def _shift_times_in(message: str, t0: float) -> str:
    """``message`` with its times ``t = τ`` (the paths' clock) written as ``t = t0 + τ``."""
    if t0 == 0.0:
        return message
    return _TIME_IN_MESSAGE.sub(lambda m: f"t = {t0 + float(m.group(1))!r}", message)


#: A gradient the derivative check at x0 resolves only coarser than this (relative) is
#: reported in a warning.
_UNCHECKED_GRADIENT = 1e-3


def _check_system_derivatives(system: FilippovSystem, x0: np.ndarray) -> None:
    """Raise ``ValueError`` when a derivative the engine trusts disagrees with its function
    at ``x0`` (see ``check_derivatives`` of :func:`solve`)."""
    hint = "fix it, or pass check_derivatives=False to solve to skip this check"
    if system.objective is not None:
        check = system.objective.check_derivatives(x0, n_directions=2, dense=False)
        if not check.ok:
            raise ValueError(f"{check} at x0 = {preview(x0)}; {hint}.")
        if _UNCHECKED_GRADIENT < check.grad_resolution < np.inf:  # (inf: no gradient to see)
            # (f so large beside its variation that its finite differences cannot see
            # the gradient: a review's gradient off by 100% of its norm passed under
            # f + 1e12; said, since nothing else would)
            warnings.warn(
                f"the gradient could be checked against f at x0 only to a relative "
                f"{check.grad_resolution:.2g} (f is large beside its variation there): "
                "a gradient wrong by less would go unnoticed",
                UserWarning,
                stacklevel=3,
            )
        return
    if system.affine_data is not None or not system.has_exact_jacobian:
        return  # no user derivative: affine data is exact, finite differences are ours
    # (h alone: the differences' points are near x0, not on the path, and f0 need not be
    # finite there)
    h_raw = lambda y: system.kernel_h(np.asarray(y, dtype=np.float64))  # noqa: E731
    J = system.jacobian(x0)
    V = random_directions(x0.size, 2, 0)
    scale = max(float(np.max(np.abs(J @ v))) for v in V)
    worst = 0.0
    for v in V:
        excess, uncertainty = directional_mismatch(h_raw, x0, v, J @ v)
        worst = max(worst, relative_error(excess, scale, uncertainty))
    if worst > 1e-6:
        raise ValueError(
            f"the Jacobian `jac_h` of {system.name!r} disagrees with finite differences of h "
            f"(relative error {worst:.3g}, tol 1e-06) at x0 = {preview(x0)}; {hint}."
        )


def _check_piecewise_jacobian(system: PiecewiseSystem, x0: np.ndarray) -> None:
    """Raise ``ValueError`` when the Jacobian of the switching functions disagrees with
    finite differences of ``c`` at ``x0`` (as for ``jac_h`` of a FilippovSystem)."""
    J = system.jacobian(x0)
    V = random_directions(x0.size, 2, 0)
    scale = max(float(np.max(np.abs(J @ v))) for v in V)
    worst = 0.0
    for v in V:
        excess, uncertainty = directional_mismatch(system.c, x0, v, J @ v)
        worst = max(worst, relative_error(excess, scale, uncertainty))
    if worst > 1e-6:
        raise ValueError(
            f"the Jacobian `jac` of {system.name!r} disagrees with finite differences of the "
            f"switching functions (relative error {worst:.3g}, tol 1e-06) at x0 = "
            f"{preview(x0)}; fix it, or pass check_derivatives=False to solve to skip this "
            "check."
        )
