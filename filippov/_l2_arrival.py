"""The end of an ℓ2 mode of the event path: the finite-time arrival at ``h = 0``.

The ℓ2 field ``−B h/‖h‖`` is singular at ``h = 0``, so the mode's guard stops the smooth
integration at ``‖h‖ = δ``; :func:`arrive_l2` finishes the arrival, in closed form on the
quadratic model for a gradient flow at a nondegenerate minimum, else by Newton steps
along the flow (see :mod:`filippov._event_path`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.linalg
from scipy.integrate import OdeSolution, Radau
from scipy.interpolate import CubicHermiteSpline

from filippov._mode_field import ModeField
from filippov._recorder import Recorder
from filippov._validation import FloatArray
from filippov.engine.protocol import PathFailure
from filippov.systems import FilippovSystem

_EPS = np.finfo(float).eps
#: Newton steps of the ℓ2 arrival, at most: quadratic convergence needs a few; a degenerate
#: minimum (‖h‖ ~ distance^p) converges linearly, by the factor (p − 1)/p per step.
_L2_NEWTON_STEPS = 200
#: A straight Newton step is taken only when it shrinks ‖h‖ at least by this factor (a
#: straight degenerate arrival's shrinks it by ((p − 1)/p)^p ≤ 0.3 at ‖h‖ ~ distance^p ≥
#: distance³, by 1/e for p → ∞; a regular one's by O(‖h‖)).
_L2_NEWTON_PROGRESS = 0.5
#: The relative tolerance of the integration of the arrival's path (`_arrive_l2_stiff`):
#: the rest of the time is that short (≤ ‖h‖/|rate| at the guard's ‖h‖ = δ, a few times
#: δ^(1/p) at a degenerate minimum), so its error is far below the run's tolerances.
_L2_STIFF_RTOL = 1e-11
#: The range of σ = log(1 + s/s₀) the arrival's integration may take: dt/dσ decays like
#: e^(−σ/(p−1)) at ‖h‖ ~ distance^p, below rounding by σ ≈ 37 (p − 1).
_L2_SIGMA_MAX = 700.0
#: Radau steps of the arrival's integration, at most: an arrival takes a few hundred
#: (σ ≲ 40 (p − 1) at steps of O(1)); more means ``h = 0`` is not being reached (‖h‖
#: stalls above zero), and the arrival fails −1 in seconds instead of crawling on.
_L2_STIFF_STEPS = 3000
#: Radau steps after which the arrival may also end within a fraction of the run's time
#: tolerance of ``h = 0`` (see `_integrate_arrival`), not only at the time resolution.
_L2_LONG_ARRIVAL = 500
#: The arrival has stopped at rounding when a σ step moves ``x`` by at most this many
#: units of ``eps·max(1, ‖x‖∞)`` and the linear model puts ``h = 0`` within as many.
_L2_STALL_ULPS = 16.0
#: Components of ``h`` within this many times the evaluation noise of ``h`` last
#: measured along the arrival are rounding (see `_probe_noise`, `_newton_step`).
_L2_NOISE_FLOOR = 4.0
#: The arrival's integration asks whether Newton steps finish it at σ steps 0, 1, 3, 7, 15
#: and then every this many (`_probe_step`).
_L2_PROBE_EVERY = 32
#: Newton steps that finish an arrival held at ``h``'s rounding (`_finish_at_rounding`),
#: at most: each halves ``‖h‖`` at least (a degenerate minimum's by ((p − 1)/p)^p).
_L2_ROUNDING_STEPS = 100
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
    state_tol: tuple[float, float] = (0.0, 0.0),
) -> tuple[float, FloatArray, bool]:
    """Finish the finite-time arrival at ``h = 0`` from the guard's stop at ``‖h‖ = δ``:
    in closed form for a gradient flow at a nondegenerate minimum
    (:func:`_arrive_l2_linearized`), else by straight Newton steps where the path is
    straight to the run's tolerances ``state_tol = (rtol, atol)``
    (:func:`_arrive_l2_newton`). Returns ``(t, x, arrived)``: the path is recorded up to
    ``t_end`` at most, and ``arrived`` is false when it ends there before ``h = 0`` (the
    run ends at ``t_end``: a stationary event recorded past it made the run end −5)."""
    arrived = _arrive_l2_linearized(system, field, t, x, rec, t_end)
    if arrived is not None:
        return arrived
    return _arrive_l2_newton(system, field, t, x, rec, t_end, state_tol)


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

    On a valley of minimizers (eigenvalues of ``H`` at rounding, the gradient along their
    eigenvectors at its rounding) the model is that across the valley: before, the arrival
    took 3000 stiff steps held by ``h``'s noise and ended −1 on every one of 6 random
    low-rank factorizations.

    The normalized flow runs along the path of the gradient flow ``dx/ds = −g`` at unit
    speed, so its time is the path's arc length. On the model the path is
    ``x(s) = x* + Q e^{−Λs} c`` (``H = QΛQᵀ``, ``c = Qᵀ(x − x*)``, ``x* = x − H⁻¹g``) with
    speed ``‖Λ e^{−Λs} c‖``: the arrival time is the path's length and the dense output
    follows the curve, with velocity ``−g/‖g‖`` of the model at every time (straight steps
    would cut the corner: the direction turns by O(1) on the way in unless ``x − x*`` is
    an eigenvector). The model's error is ``O(‖x − x*‖²)``, rounding-sized at the guard's
    ``‖g‖ = δ``.
    """
    model = _quadratic_model(system, x)
    if model is None:
        return None
    lam, Q, c, x_star, hx = model
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


def _quadratic_model(
    system: FilippovSystem, x: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray] | None:
    """The quadratic model of a normalized gradient flow's arrival at ``x`` (see
    `_arrive_l2_linearized`): ``(λ, Q, c, x*, g)`` with ``H = QΛQᵀ`` (the eigenpairs
    across a valley of minimizers only), ``c = Qᵀ(x − x*)`` and the gradient ``g`` at
    ``x``; ``None`` when the system is not such a flow there or the model is not good at
    this distance."""
    if system.objective is None:
        return None
    f0, B, hx = system.kernel_evaluate(x)
    n = x.size
    if hx.size != n or np.any(f0 != 0.0) or not np.array_equal(B, np.eye(n)):
        return None
    H = system.kernel_jacobian(x, n)
    H = 0.5 * (H + H.T)
    lam, Q = scipy.linalg.eigh(H)
    # (the gradient's rounding here: a component below it carries no information, and the
    # model's check below cannot ask for less)
    rounding = _EPS * float(np.linalg.norm(np.abs(H) @ np.abs(x)))
    flat = ~(lam > 1e-8 * max(lam[-1], 1e-300))
    if flat.any():
        # A valley of minimizers (the rotations of a low-rank factorization's factors):
        # eigenvalues at rounding, with the gradient along them at its rounding too. The
        # model is the quadratic one across the valley; along it nothing moves. Else
        # singular or indefinite: a degenerate arrival (Newton steps).
        if flat.all() or lam[0] < -1e-8 * lam[-1]:
            return None
        floor = max(rounding, _L2_NOISE_FLOOR * _probe_noise(system, x, n))
        if not np.all(np.abs(Q[:, flat].T @ hx) <= floor):
            return None
        lam, Q = lam[~flat], Q[:, ~flat]
    c = (Q.T @ hx) / lam  # coordinates of x − x* in the eigenbasis
    x_star = x - Q @ c
    # The model must be good at this distance: at a nondegenerate minimum the gradient at
    # the predicted x* is O(‖x − x*‖²), at a degenerate one (‖g‖ ~ distance^p) a fixed
    # fraction of ‖g(x)‖.
    try:
        g_star = system.kernel_f0_h(x_star)[1]
    except FloatingPointError:
        return None
    # (or within a few times the gradient's rounding: on a factorization's valley, with
    # ‖g‖ = 4e-10 at the guard, g(x*) was 4.5e-14 from rounding alone, and the arrival
    # fell to an integration that h's noise held until it failed)
    model_tol = max(_L2_MODEL_TOL * float(np.linalg.norm(hx)), _L2_NOISE_FLOOR * rounding)
    if not float(np.linalg.norm(g_star)) <= model_tol:
        return None
    return lam, Q, c, x_star, hx


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
    state_tol: tuple[float, float] = (0.0, 0.0),
) -> tuple[float, FloatArray, bool]:
    """Finish the finite-time arrival at ``h = 0`` by Newton steps along the flow.

    The guard stops the smooth integration at ``‖h‖ = δ`` (the field is singular at
    ``h = 0``); near a regular arrival ``‖h‖`` decreases linearly in time, so a few Newton
    steps on ``‖h(x + τ v)‖ = 0`` land on ``h = 0`` with an error ``O(δ²)``; near a
    degenerate one (``‖h‖ ~ distance^p``) along a straight path they converge linearly,
    ``‖h‖`` shrinking by ``((p − 1)/p)^p ≥ 1/e`` per step. They end at ``h = 0`` or when
    the step is below the time resolution.

    A straight step is an explicit Euler step of the flow, so it is tried before it is
    recorded: one that does not halve ``‖h‖`` is not an arrival. On ``x⁴/4 + y²/2`` the
    second step, ``τ = ‖h‖/rate`` with the rate of the stiff ``y`` (curvature 1 against
    ``3x² = 6e-7``), threw ``y`` from −3e-13 to 2.5e-8, and the loop stopped there and
    reported the arrival 4.4e-4 before the minimizer (3.8e-4 of the arrival time). Such
    a stretch, and any that Newton steps do not finish, is integrated by
    :func:`_arrive_l2_stiff` instead.

    So is a stretch where the path curves away from the straight step: the step's
    distance from the path, about ``τ‖v(x + τv) − v(x)‖/2`` (Euler's step against the
    trapezoid's), must be within a tenth of the state's tolerance ``rtol·max(1, ‖x‖∞) +
    atol``. On the curved path into the degenerate minimum of ``x⁴/4 + y⁶/6`` (``x ≈ √2
    y²`` near it) each straight step halved ``‖h‖`` while cutting the corner: the arrival
    was 1.1e-7 to 6.2e-7 late at every tolerance from 1e-8 to 1e-12, with status 1.
    """
    mode = field.mode
    for _ in range(_L2_NEWTON_STEPS):
        f0, B, hx = system.kernel_evaluate(x)
        nh = float(np.linalg.norm(hx))
        if nh == 0.0:
            return t, x, True
        u = hx / nh
        v = f0 - B @ u
        rate = float(u @ (system.kernel_jacobian(x, hx.shape[0]) @ v))
        if rate >= 0:
            break  # ‖h‖ does not fall along the flow here: no Newton step
        tau = -nh / rate
        if tau <= 4 * _EPS * max(1.0, abs(t)):
            return t, x, True  # below the time resolution: arrived to rounding
        end = x + tau * v
        try:
            trial = system.kernel_evaluate(end)
        except FloatingPointError:
            break
        if not float(np.linalg.norm(trial[2])) <= _L2_NEWTON_PROGRESS * nh:
            break  # the straight step is no good (stiff, or curved): integrate instead
        if not _straight_enough(trial, end, tau, v, state_tol):
            break  # the path curves away from the step: integrate it instead
        if t + tau > t_end:  # (the run ends on the way in)
            x = rec.linear_segment(t, t_end, x, v, mode, u).copy()
            return t_end, x, False
        # the recorder keeps its end state frozen; user functions get a writable copy
        x = rec.linear_segment(t, t + tau, x, v, mode, u).copy()
        t = t + tau
    return _arrive_l2_stiff(system, field, t, x, rec, t_end, state_tol)


def _straight_enough(
    kernel_at_end: tuple[FloatArray, FloatArray, FloatArray],
    end: FloatArray,
    tau: float,
    v: FloatArray,
    state_tol: tuple[float, float],
) -> bool:
    """Whether the straight step of length ``τ`` at velocity ``v`` to ``end`` (where the
    system's kernel is ``(f0, B, h)``) stays within a tenth of the state's tolerance of
    the flow's path: ``τ‖v_end − v‖∞/2``, with ``v_end`` the flow's velocity at the
    step's end (whose ``h`` is not 0 there: the step halved ``‖h‖``, no more)."""
    rtol, atol = state_tol
    f0, B, h = kernel_at_end
    nh = float(np.linalg.norm(h))
    if not nh > 0.0:
        return True  # (the step ends at h = 0 itself: nothing is left to curve)
    v_end = f0 - B @ (h / nh)
    tol = rtol * max(1.0, float(np.max(np.abs(end)))) + atol
    return 0.5 * tau * float(np.max(np.abs(v_end - v))) <= 0.1 * tol


def _arrive_l2_stiff(
    system: FilippovSystem,
    field: ModeField,
    t: float,
    x: FloatArray,
    rec: Recorder,
    t_end: float = np.inf,
    state_tol: tuple[float, float] = (0.0, 0.0),
    newton_finish: bool = True,
) -> tuple[float, FloatArray, bool]:
    """The rest of the arrival at ``h = 0``, integrated on the flow's own path.

    Along the flow ``x' = f0 − B h/‖h‖`` put ``dt = ‖h‖ ds``: ``dx/ds = ‖h‖ f0 − B h``,
    smooth through ``h = 0``, which it reaches as ``s → ∞`` (the time ``t(s)`` is an
    integral that converges, the arrival time its limit). With ``s = s₀(e^σ − 1)`` the
    decay, exponential or algebraic in ``s``, takes a moderate range of ``σ``; the
    problem is stiff (ill-conditioned or degenerate arrivals: the reason the Newton steps
    stopped), so Radau integrates it, with its Jacobian from ``∂h/∂x`` (the terms of
    ``∂f0`` and ``∂B``, of the order of ``‖h‖``, left out: only Radau's Newton iteration
    uses it). It stops when ``dt/dσ`` is below the time resolution (what is left of the
    time is a few times that), or when the state has stalled at ``h = 0`` to rounding
    (:func:`_integrate_arrival`). Raises :class:`~filippov.engine.protocol.PathFailure`
    (status −1), naming ``t`` and ``x``, when ``h = 0`` is not reached.
    """
    mode = field.mode
    m = field.sigma.shape[0]
    n = x.size
    f0_start, B, hx = system.kernel_evaluate(x)
    nh = float(np.linalg.norm(hx))
    lam = hx / nh if nh > 0.0 else np.zeros(m)
    # s₀: the fastest scale of s where it starts, 1/‖∂h/∂x B‖ (the stiff transient's), so
    # that σ = 0 resolves it; a slower arrival only takes more σ (logarithmically)
    jac = system.kernel_jacobian(x, m)
    scale = float(np.linalg.norm(jac @ B, ord=2)) if nh > 0.0 else 1.0
    s0 = 1.0 / max(scale, 1e-300)
    x_scale = max(1.0, float(np.max(np.abs(x))))
    t_res = 4 * _EPS * max(1.0, abs(t))

    def rhs(sigma: float, z: FloatArray) -> FloatArray:
        f0, B, h = system.kernel_evaluate(z[:n])
        w = s0 * math.exp(sigma)
        nrm = float(np.linalg.norm(h))
        return np.r_[w * (nrm * f0 - B @ h), w * nrm]

    def jacobian(sigma: float, z: FloatArray) -> FloatArray:
        f0, B, h = system.kernel_evaluate(z[:n])
        Jh = system.kernel_jacobian(z[:n], m)
        nrm = float(np.linalg.norm(h))
        u = h / nrm if nrm > 0.0 else np.zeros(m)
        out = np.zeros((n + 1, n + 1))
        out[:n, :n] = np.outer(f0, u @ Jh) - B @ Jh
        out[n, :n] = u @ Jh
        return s0 * math.exp(sigma) * out

    # t to the time the flow takes to cross x's own tolerance, no finer: the rounding of
    # x makes dt/dσ = s‖h‖ that noisy near a minimizer far from the origin, and a finer
    # tolerance on t held Radau to σ steps of 1e-3 there ((x − 1000)⁴/4 + y²/2: x − a at
    # 800 ulps after 3000 steps)
    x_atol = max(1e-15 * x_scale, 1e-3 * (state_tol[0] * x_scale + state_tol[1]))
    speed = float(np.linalg.norm(f0_start - B @ lam))
    t_atol = max(t_res, min(x_atol / max(speed, 1e-300), _L2_STIFF_RTOL * max(1.0, abs(t))))
    atol = np.r_[np.full(n, x_atol), t_atol]
    noise: list[float] = []  # (h's evaluation noise, measured by `_probe_noise`)

    def finishes(z: FloatArray) -> bool:
        """Whether the arrival can be finished from ``z``: on the quadratic model in
        closed form (`_quadratic_model`, a gradient flow), or by Newton steps
        (`_rounding_step`, with the noise of ``h`` measured there first)."""
        if _quadratic_model(system, z) is not None:
            return True
        noise.append(_probe_noise(system, z, m))
        floor = _L2_NOISE_FLOOR * noise[-1]
        return _rounding_step(system, z, m, floor, state_tol) is not None

    failure = ""
    try:
        # (the time left that may be dropped where Radau cannot go on: see
        # `_integrate_arrival`)
        t_done = 1e-2 * (state_tol[0] * max(1.0, abs(t)) + state_tol[1])
        sig_nodes, z_nodes, sol, stalled = _integrate_arrival(
            system, rhs, jacobian, x, atol, t_res, m, t_done, noise,
            finishes if newton_finish else None,
        )  # fmt: skip
    except _ArrivalFailure as exc:
        failure = f"({exc})"
    except (FloatingPointError, np.linalg.LinAlgError, ValueError) as exc:
        failure = f"({type(exc).__name__}: {exc})"
    if failure:
        raise PathFailure(
            -1,
            f"the ℓ2 arrival at h = 0 from t = {t:.12g}, x = {_fmt(x)} (‖h‖ = {nh:.3g}) "
            f"does not finish: neither Newton steps nor the integration of the flow's "
            f"path reach h = 0 {failure}",
        )
    t_nodes = t + z_nodes[n]
    keep = np.r_[True, np.diff(t_nodes) > 0.0]
    sig_nodes, t_nodes = sig_nodes[keep], t_nodes[keep]
    # σ(t) between the nodes: monotone cubic Hermite with dσ/dt = 1/(dt/dσ) at the nodes
    rates = np.array([rhs(sg, sol(sg))[n] for sg in sig_nodes])
    sigma_of_t = CubicHermiteSpline(t_nodes, sig_nodes, 1.0 / np.maximum(rates, 1e-300))
    t_arrive = float(t_nodes[-1])
    t_start = t

    def dense(ts: FloatArray) -> FloatArray:
        tt = np.clip(np.asarray(ts, dtype=float), t_start, t_arrive)
        return np.asarray(sol(sigma_of_t(tt))[:n].T, dtype=np.float64)

    t_stop = min(t_arrive, t_end)
    breaks = np.r_[t_nodes[1:][t_nodes[1:] < t_stop], t_stop]
    x_stop = dense(np.array([t_stop]))[0]
    rec.dense_segment(t, t_stop, dense, x_stop, mode, lam, breaks)
    if stalled and t_stop == t_arrive:
        # Close enough to h = 0 for the quadratic model (which the guard's stop was not:
        # across a valley of minimizers of curvature 7e-4 the model's x* was 1.6e-10 off
        # there, and h's noise then held Radau's steps until it failed), or held at h's
        # rounding short of h = 0 by more than the time tolerance: the closed form, or
        # Newton steps (`_rounding_step`) to within that rounding, finish it.
        closed = _arrive_l2_linearized(system, field, t_stop, x_stop.copy(), rec, t_end)
        if closed is not None:
            return closed
        floor = _L2_NOISE_FLOOR * (noise[-1] if noise else 0.0)
        return _finish_at_rounding(
            system, field, t_stop, x_stop.copy(), rec, t_end, state_tol, floor
        )
    return t_stop, x_stop.copy(), t_stop == t_arrive


def _rounding_step(
    system: FilippovSystem,
    x: FloatArray,
    m: int,
    floor: float,
    state_tol: tuple[float, float],
) -> FloatArray | None:
    """The last stretch of an arrival held at ``h``'s rounding (`_integrate_arrival`):
    the Newton step to ``h = 0`` with the components of ``h`` within ``floor`` left out
    (`_newton_step`), where it is within the run's state tolerance ``rtol·max(1, ‖x‖∞)
    + atol``, explains ``h`` and at least halves ``‖h‖`` (or ends within ``floor``);
    else ``None``.

    A step, not the flow's path: the path to ``h = 0`` from there is shorter than the
    state tolerance, so the straight step stands for it within that tolerance. Not a
    straight step along the flow's velocity ``−h/‖h‖`` (as `_arrive_l2_newton` takes):
    with ``h`` at its rounding in the stiff directions such a step overshot, ``‖h‖``
    rising from 1e-13 to 6e-13 on the factorization's valley of minimizers."""
    step, nh, unexplained = _newton_step(system, x, m, floor)
    rtol, atol = state_tol
    tol = rtol * max(1.0, float(np.max(np.abs(x)))) + atol
    if not (np.all(np.isfinite(step)) and unexplained <= 0.5 * nh):
        return None
    ulp = _EPS * float(np.max(np.abs(x)))
    if nh <= floor or float(np.max(np.abs(step))) <= _L2_STALL_ULPS * ulp:
        # every component of h within its rounding, or the step within a few ulps of x
        # (a degenerate minimum away from the origin: x − a = 1e-12 at a = 10, where
        # x − step rounds to x): arrived
        return np.zeros_like(x)
    if not float(np.max(np.abs(step))) <= tol:
        return None
    try:
        h_end = system.kernel_f0_h(x - step)[1]
    except FloatingPointError:
        return None
    if not float(np.linalg.norm(h_end)) <= max(_L2_NEWTON_PROGRESS * nh, floor):
        return None
    return step


def _finish_at_rounding(
    system: FilippovSystem,
    field: ModeField,
    t: float,
    x: FloatArray,
    rec: Recorder,
    t_end: float,
    state_tol: tuple[float, float],
    floor: float,
) -> tuple[float, FloatArray, bool]:
    """The end of an arrival held at ``h``'s rounding: `_rounding_step` steps, each
    recorded as a straight piece at the flow's speed, until ``‖h‖`` is within ``floor``
    (then the arrival is at ``h = 0`` to rounding), or the step's time is below the time
    resolution. Where no such step is left, the integration of the path goes on from
    there (`_arrive_l2_stiff`, without them)."""
    m = field.sigma.shape[0]
    nh = math.inf
    for _ in range(_L2_ROUNDING_STEPS):
        f0, B, h = system.kernel_evaluate(x)
        nh = float(np.linalg.norm(h))
        if nh <= floor:
            return t, x, True
        step = _rounding_step(system, x, m, floor, state_tol)
        if step is None:
            break
        if not np.any(step):
            return t, x, True
        u = h / nh
        speed = float(np.linalg.norm(f0 - B @ u))
        length = float(np.linalg.norm(step))
        if not (speed > 0.0 and length > 0.0):
            break
        tau = length / speed
        if tau <= 4 * _EPS * max(1.0, abs(t)):
            return t, x, True  # below the time resolution: arrived to rounding
        if t + tau > t_end:
            x = rec.linear_segment(t, t_end, x, -step / tau, field.mode, u).copy()
            return t_end, x, False
        x = rec.linear_segment(t, t + tau, x, -step / tau, field.mode, u).copy()
        t = t + tau
    # (no such step from here: the path's integration goes on, without these steps)
    return _arrive_l2_stiff(system, field, t, x, rec, t_end, state_tol, newton_finish=False)


class _ArrivalFailure(Exception):
    """The integration of the arrival's path ends without reaching ``h = 0``."""


def _integrate_arrival(
    system: FilippovSystem,
    rhs: Callable[[float, FloatArray], FloatArray],
    jacobian: Callable[[float, FloatArray], FloatArray],
    x: FloatArray,
    atol: FloatArray,
    t_res: float,
    m: int,
    t_done: float = 0.0,
    noise: list[float] | None = None,
    finishes: Callable[[FloatArray], bool] | None = None,
) -> tuple[FloatArray, FloatArray, OdeSolution, bool]:
    """Radau on ``z = (x, t − t₀)`` in σ, step by step, until the arrival is reached:
    ``dt/dσ`` below the time resolution ``t_res``, or the state stalled at rounding
    (:func:`_stalled_at_rounding`). Returns the σ nodes, the states there and the dense
    output. Raises :class:`_ArrivalFailure` when Radau fails (unless the time left is
    below ``t_done``, a fraction of the run's tolerance on ``t``), σ runs out or the step
    budget :data:`_L2_STIFF_STEPS` is spent.

    The steps are taken one by one because the stall is a property of a step, not of a
    point: with ``x`` a few ulps from a minimizer away from the origin ``h`` no longer
    shrinks (it is at its rounding) while ``dt/dσ = s‖h‖`` grows with ``s``, so the
    ``dt/dσ`` test alone never ends the arrival (``(x − 10)⁴/4 + y²/2`` crawled σ
    60 → 65 over 90 000 evaluations).
    """
    n = x.size
    solver = Radau(
        rhs,
        0.0,
        np.r_[x, 0.0],
        _L2_SIGMA_MAX,
        jac=jacobian,
        rtol=_L2_STIFF_RTOL,
        atol=atol,
        # (scipy's own first step overflows on components far below their atol)
        first_step=1e-3,
    )
    sigmas = [0.0]
    states = [solver.y.copy()]
    noise = [] if noise is None else noise
    interpolants = []

    def close_enough() -> bool:
        """Whether the time left is below ``t_done``: at most 10 times the Newton step's
        (degenerate arrivals of order p ≤ 10). Asked only where Radau cannot go on, or
        has gone on long: an arrival of order 6 at the origin has ‖h‖ ~ distance⁵, and
        dt/dσ decays only like e^(−σ/5) (3000 steps took σ to 106 at ‖h‖ = 8e-68, a
        distance of 3e-14; and a component far below its atol, free to move by it,
        turns extremely stiff as s grows: x⁴/4 + y⁶/6 had x jump from 1e-26 to 6e-18 at
        σ = 106, and Radau's steps collapsed)."""
        floor = _L2_NOISE_FLOOR * (noise[-1] if noise else 0.0)
        return len(states) > 1 and 10.0 * _newton_time(system, states[-1][:n], m, floor) < t_done

    for step in range(_L2_STIFF_STEPS):
        message = solver.step()
        if solver.status == "failed":
            if close_enough():
                break
            raise _ArrivalFailure(f"Radau on the path's parameter: {message}")
        z_old, z = states[-1], solver.y
        if not np.all(np.isfinite(z)):
            raise _ArrivalFailure("a non-finite state")
        sigmas.append(solver.t)
        states.append(z.copy())
        interpolants.append(solver.dense_output())
        # dt/dσ below the time resolution: what is left of the time is a few times that
        # ((p − 1) dt/dσ at ‖h‖ ~ distance^p), once past the fast transient, while dt/dσ
        # = s‖h‖ still grows with s: the time to cross the distance the linear model of h
        # puts h = 0 at, at the flow's speed, says which (it is 1/p of the time left)
        floor = _L2_NOISE_FLOOR * (noise[-1] if noise else 0.0)
        if float(rhs(solver.t, z)[n]) < t_res and _newton_time(system, z[:n], m, floor) < t_res:
            break
        if _stalled_at_rounding(system, z_old[:n], z[:n], m, floor):
            break
        if (solver.status == "finished" or step >= _L2_LONG_ARRIVAL) and close_enough():
            break
        if finishes is not None and _probe_step(step) and finishes(z[:n]):
            # Within the state tolerance of h = 0, where a Newton step on the linear model
            # of h, its rounding left out, ends there or halves ‖h‖: the caller finishes
            # with such steps. Radau's σ steps shrink to what the field's noise allows
            # near h's rounding: on a valley of minimizers (a low-rank factorization's
            # rotations) 3000 of them ended −1 at ‖h‖ = 2.7e-14, 1.3e-12 short of h = 0
            # across the valley, every such run of 6 random factorizations.
            return np.array(sigmas), np.array(states).T, OdeSolution(sigmas, interpolants), True
        if solver.status == "finished":
            raise _ArrivalFailure(f"h = 0 not reached by σ = {_L2_SIGMA_MAX:g}")
    else:
        if close_enough():
            return np.array(sigmas), np.array(states).T, OdeSolution(sigmas, interpolants), False
        raise _ArrivalFailure(
            f"h = 0 not reached in {_L2_STIFF_STEPS} Radau steps (σ = {solver.t:.3g}, "
            f"‖h‖ = {float(np.linalg.norm(system.kernel_f0_h(solver.y[:n])[1])):.3g})"
        )
    return np.array(sigmas), np.array(states).T, OdeSolution(sigmas, interpolants), False


def _newton_step(
    system: FilippovSystem, x: FloatArray, m: int, noise: float = 0.0
) -> tuple[FloatArray, float, float]:
    """The Newton step of the linear model of ``h`` at ``x`` to ``h = 0``, with ``‖h‖`` and
    the part of ``h`` that no step explains: ``(step, ‖h‖, unexplained)``.

    Components of ``h`` along the singular vectors of ``∂h/∂x`` that are within the
    rounding of ``h`` (``eps·‖|∂h/∂x||x|‖``, or the evaluation ``noise`` measured along
    the arrival) are left out: they carry no information, and divided by a singular
    value at rounding (a valley of minimizers: a low-rank factorization's rotations)
    they made a step of 3e-5 out of a component of 1e-19. Components above it with a zero
    singular value are what the step cannot explain (a gradient that stalls above zero,
    ``x⁴/4 + 1e-11 y``). A degenerate minimum's tiny singular values stay: its ``h``
    along them (``x³`` of ``x⁴/4``) is far above its rounding.
    """
    h = system.kernel_f0_h(x)[1]
    nh = float(np.linalg.norm(h))
    if nh == 0.0:
        return np.zeros_like(x), 0.0, 0.0
    Jh = system.kernel_jacobian(x, m)
    with np.errstate(over="ignore", invalid="ignore"):
        floor = max(_EPS * float(np.linalg.norm(np.abs(Jh) @ np.abs(x))), noise)
        try:
            left, values, right_t = np.linalg.svd(Jh, full_matrices=False)
        except np.linalg.LinAlgError:
            return np.full_like(x, np.nan), nh, nh
        c = left.T @ h
        outside = float(np.linalg.norm(h - left @ c))  # (h outside the range, m > n)
        meaningful = np.abs(c) > floor
        solvable = meaningful & (values > 0.0)
        step = right_t[solvable].T @ (c[solvable] / values[solvable])
    unexplained = math.hypot(float(np.linalg.norm(c[meaningful & ~solvable])), outside)
    return step, nh, unexplained


def _newton_time(system: FilippovSystem, x: FloatArray, m: int, noise: float = 0.0) -> float:
    """The time to cross the Newton step of the linear model of ``h`` at ``x`` to ``h = 0``
    (`_newton_step`) at the flow's speed there (``inf`` where it is not finite). Not
    ``‖h‖`` over its rate: where a stiff component of ``h`` is at its rounding (``y`` at
    1e-18 beside ``x³ = 8e-20`` on ``x⁴/4 + y²/2``) that rate is the stiff one's, while
    ``x`` is still far from the minimizer; the Newton step of that component is its
    rounding too."""
    f0, B, h = system.kernel_evaluate(x)
    nh = float(np.linalg.norm(h))
    if nh == 0.0:
        return 0.0
    speed = float(np.linalg.norm(f0 - B @ (h / nh)))
    step = _newton_step(system, x, m, noise)[0]
    distance = float(np.linalg.norm(step))
    if not (math.isfinite(distance) and speed > 0.0):
        return math.inf
    return distance / speed


def _stalled_at_rounding(
    system: FilippovSystem, x_old: FloatArray, x: FloatArray, m: int, floor: float = 0.0
) -> bool:
    """Whether the arrival has reached ``h = 0`` to rounding: the last σ step moved ``x``
    by a few ulps at most, and the Newton step of the linear model of ``h`` at ``x`` to
    ``h = 0`` (`_newton_step`, components of ``h`` within ``floor`` left out) is as
    short, with ``h`` explained by it (a gradient that stalls above zero, as on ``x⁴/4 +
    1e-11 y``, is no arrival).

    The time still left is then the time to cross a few ulps of ``x`` (the Newton step
    is ``1/p`` of the distance at ``‖h‖ ~ distance^p``), far below the run's tolerances.
    """
    ulp = _EPS * float(np.max(np.abs(x)))
    if not float(np.max(np.abs(x - x_old))) <= _L2_STALL_ULPS * ulp:
        return False
    step, nh, unexplained = _newton_step(system, x, m, floor)
    if nh == 0.0:
        return True
    if not np.all(np.isfinite(step)):
        return False
    return bool(unexplained <= 0.5 * nh and float(np.max(np.abs(step))) <= _L2_STALL_ULPS * ulp)


def _probe_step(step: int) -> bool:
    """Whether the arrival's integration asks at σ step ``step`` if Newton steps finish it
    (`_integrate_arrival`): at steps 0, 1, 3, 7, 15, … and every 32nd (each ask costs a
    Jacobian and its singular values)."""
    return (step < _L2_PROBE_EVERY and (step + 1) & step == 0) or step % _L2_PROBE_EVERY == 0


def _probe_noise(system: FilippovSystem, x: FloatArray, m: int) -> float:
    """The rounding of the evaluation of ``h`` near ``x``: how far ``h`` at a point a few
    ulps away (each coordinate moved by 4 ulps, alternating in sign) is from ``h(x)`` plus
    ``∂h/∂x`` times the move (zero in exact arithmetic, to first order). Why measured:
    where ``h``'s terms cancel (``UVᵀ − M`` of a factorization) its rounding is 10 times
    ``eps·|∂h/∂x||x|`` and more."""
    h = system.kernel_f0_h(x)[1]
    signs = np.where(np.arange(x.size) % 2 == 0, 4.0, -4.0)
    moved = x + signs * np.spacing(np.abs(x))
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            change = system.kernel_f0_h(moved)[1] - h - system.kernel_jacobian(x, m) @ (moved - x)
            size = float(np.linalg.norm(change))
    except FloatingPointError:  # (not finite a few ulps away: no noise measured)
        return 0.0
    return size if math.isfinite(size) else 0.0


def _fmt(x: FloatArray) -> str:
    return np.array2string(np.asarray(x), precision=12, max_line_width=10_000)
