"""The end of an ℓ2 mode of the event path: the finite-time arrival at ``h = 0``.

The ℓ2 field ``−B h/‖h‖`` is singular at ``h = 0``, so the mode's guard stops the smooth
integration at ``‖h‖ = δ``; :func:`arrive_l2` finishes the arrival, in closed form on the
quadratic model for a gradient flow at a nondegenerate minimum, else by Newton steps
along the flow (see :mod:`filippov._event_path`).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.interpolate import CubicHermiteSpline

from filippov._mode_field import ModeField
from filippov._recorder import Recorder
from filippov._validation import FloatArray
from filippov.systems import FilippovSystem

_EPS = np.finfo(float).eps
#: Newton steps of the ℓ2 arrival, at most: quadratic convergence needs a few; a degenerate
#: minimum (‖h‖ ~ distance^p) converges linearly, by the factor (p − 1)/p per step.
_L2_NEWTON_STEPS = 200
#: The closed-form ℓ2 arrival is used when the gradient at its predicted minimizer is at
#: most this fraction of the gradient where it starts.
_L2_MODEL_TOL = 1e-4
#: Grid points of the arc-length table of the closed-form ℓ2 arrival.
_L2_ARC_POINTS = 400


def arrive_l2(
    system: FilippovSystem,
    field: ModeField,
    t: float,
    x: FloatArray,
    rec: Recorder,
    t_end: float = np.inf,
) -> tuple[float, FloatArray, bool]:
    """Finish the finite-time arrival at ``h = 0`` from the guard's stop at ``‖h‖ = δ``:
    in closed form for a gradient flow at a nondegenerate minimum
    (:func:`_arrive_l2_linearized`), else by straight Newton steps
    (:func:`_arrive_l2_newton`). Returns ``(t, x, arrived)``: the path is recorded up to
    ``t_end`` at most, and ``arrived`` is false when it ends there before ``h = 0`` (the
    run ends at ``t_end``: a stationary event recorded past it made the run end −5)."""
    arrived = _arrive_l2_linearized(system, field, t, x, rec, t_end)
    if arrived is not None:
        return arrived
    return _arrive_l2_newton(system, field, t, x, rec, t_end)


def _arrive_l2_linearized(
    system: FilippovSystem,
    field: ModeField,
    t: float,
    x: FloatArray,
    rec: Recorder,
    t_end: float = np.inf,
) -> tuple[float, FloatArray, bool] | None:
    """The last stretch of a normalized gradient flow ``x' = −g/‖g‖`` into a minimum with
    positive definite Hessian ``H``, on the quadratic model at ``x`` (``None`` when the
    system is not such a flow there).

    The normalized flow runs along the path of the gradient flow ``dx/ds = −g`` at unit
    speed, so its time is the path's arc length. On the model the path is
    ``x(s) = x* + Q e^{−Λs} c`` (``H = QΛQᵀ``, ``c = Qᵀ(x − x*)``, ``x* = x − H⁻¹g``) with
    speed ``‖Λ e^{−Λs} c‖``: the arrival time is the path's length and the dense output
    follows the curve, with velocity ``−g/‖g‖`` of the model at every time (straight steps
    would cut the corner: the direction turns by O(1) on the way in unless ``x − x*`` is
    an eigenvector). The model's error is ``O(‖x − x*‖²)``, rounding-sized at the guard's
    ``‖g‖ = δ``.
    """
    if system.objective is None:
        return None
    f0, B, hx = system.kernel_evaluate(x)
    n = x.size
    if hx.size != n or np.any(f0 != 0.0) or not np.array_equal(B, np.eye(n)):
        return None
    H = system.kernel_jacobian(x, n)
    H = 0.5 * (H + H.T)
    lam, Q = scipy.linalg.eigh(H)
    if not (lam[0] > 1e-8 * max(lam[-1], 1e-300)):
        return None  # singular or indefinite: a degenerate arrival (Newton steps)
    c = (Q.T @ hx) / lam  # coordinates of x − x* in the eigenbasis
    x_star = x - Q @ c
    # The model must be good at this distance: at a nondegenerate minimum the gradient at
    # the predicted x* is O(‖x − x*‖²), at a degenerate one (‖g‖ ~ distance^p) a fixed
    # fraction of ‖g(x)‖.
    try:
        g_star = system.kernel_evaluate(x_star)[2]
    except FloatingPointError:
        return None
    if not float(np.linalg.norm(g_star)) <= _L2_MODEL_TOL * float(np.linalg.norm(hx)):
        return None
    # Arc length on a grid of s, geometric from the fastest mode's time scale to where the
    # slowest mode has decayed below rounding; per interval a 3-point Gauss rule, exact
    # enough for a path this short (its length is ~‖g‖/λ_min).
    s_grid = np.r_[0.0, np.geomspace(1e-3 / lam[-1], 40.0 / lam[0], _L2_ARC_POINTS)]
    nodes, weights = np.polynomial.legendre.leggauss(3)
    mid = 0.5 * (s_grid[1:] + s_grid[:-1])
    half = 0.5 * np.diff(s_grid)
    s_q = mid[:, None] + half[:, None] * nodes[None, :]
    pieces = (_l2_arc_speed(lam, c, s_q.ravel()).reshape(s_q.shape) @ weights) * half
    length = np.r_[0.0, np.cumsum(pieces)]
    if not (np.all(np.isfinite(length)) and length[-1] > 0.0):
        return None
    # s(τ) by cubic Hermite interpolation of the inverse, with ds/dτ = 1/speed exactly at
    # the nodes (monotone: the speed is positive until the arrival).
    speed = _l2_arc_speed(lam, c, s_grid)
    keep = np.r_[True, np.diff(length) > 0.0]
    s_of_tau = CubicHermiteSpline(length[keep], s_grid[keep], 1.0 / speed[keep])
    t_arrive = t + float(length[-1])
    t_start, tau_end = t, float(length[keep][-1])

    def dense(ts: FloatArray) -> FloatArray:
        tau = np.clip(np.asarray(ts, dtype=float) - t_start, 0.0, tau_end)
        decay = np.exp(-np.outer(s_of_tau(tau), lam))
        return np.asarray(x_star + (decay * c) @ Q.T, dtype=np.float64)

    # pieces: the spline's intervals (dense is smooth on each)
    t_stop = min(t_arrive, t_end)
    breaks = t_start + length[keep]
    breaks = np.r_[breaks[breaks < t_stop], t_stop]
    x_stop = x_star if t_stop == t_arrive else dense(np.array([t_stop]))[0]
    rec.dense_segment(t, t_stop, dense, x_stop, field.mode, hx / np.linalg.norm(hx), breaks)
    return t_stop, x_stop.copy(), t_stop == t_arrive


def _l2_arc_speed(lam: FloatArray, c: FloatArray, s: FloatArray) -> FloatArray:
    """``‖Λ e^{−Λs} c‖`` for each ``s``: the gradient-flow speed on the quadratic model."""
    return np.asarray(np.linalg.norm(lam * c * np.exp(-np.outer(s, lam)), axis=1), dtype=np.float64)


def _arrive_l2_newton(
    system: FilippovSystem,
    field: ModeField,
    t: float,
    x: FloatArray,
    rec: Recorder,
    t_end: float = np.inf,
) -> tuple[float, FloatArray, bool]:
    """Finish the finite-time arrival at ``h = 0`` by Newton steps along the flow.

    The guard stops the smooth integration at ``‖h‖ = δ`` (the field is singular at
    ``h = 0``); near a regular arrival ``‖h‖`` decreases linearly in time, so a few Newton
    steps on ``‖h(x + τ v)‖ = 0`` land on ``h = 0`` with an error ``O(δ²)``; near a
    degenerate one (``‖h‖ ~ distance^p``) they converge linearly. They stop when ``‖h‖``
    stops shrinking (rounding) or the step is below the time resolution.
    """
    mode = field.mode
    previous = float("inf")
    for _ in range(_L2_NEWTON_STEPS):
        f0, B, hx = system.kernel_evaluate(x)
        nh = float(np.linalg.norm(hx))
        if nh == 0.0 or nh >= 0.99 * previous:
            break
        previous = nh
        u = hx / nh
        v = f0 - B @ u
        rate = float(u @ (system.kernel_jacobian(x, hx.shape[0]) @ v))
        if rate >= 0:
            break
        tau = -nh / rate
        if tau <= 4 * _EPS * max(1.0, abs(t)):
            break  # below the time resolution: arrived to rounding
        if t + tau > t_end:  # (the run ends on the way in)
            x = rec.linear_segment(t, t_end, x, v, mode, u).copy()
            return t_end, x, False
        # the recorder keeps its end state frozen; user functions get a writable copy
        x = rec.linear_segment(t, t + tau, x, v, mode, u).copy()
        t = t + tau
    return t, x, True
