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
#: A flat direction's component of ``h`` within this many times the evaluation noise of
#: ``h`` measured along it is rounding (see `_probe_noise`, `_quadratic_model`).
_L2_NOISE_FLOOR = 4.0
#: The arrival's integration asks whether the quadratic model finishes it at σ steps 0, 1,
#: 3, 7, 15 and then every this many (`_probe_step`).
_L2_PROBE_EVERY = 32
#: Eigenvalues of the Hessian at most this fraction of its largest may be a valley of
#: minimizers (a low-rank factorization's rotations: 1e-14 to 1e-19 of it seen), the
#: gradient along them its noise (see `_quadratic_model`); between this and 1e-8 the
#: arrival is a degenerate one.
_L2_VALLEY_FLAT = 1e-12
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
    arrived = _arrive_l2_linearized(system, field, t, x, rec, t_end, state_tol)
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
    state_tol: tuple[float, float] = (0.0, 0.0),
    strict: bool = False,
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
    model = _quadratic_model(system, x, state_tol, strict)
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
    system: FilippovSystem,
    x: FloatArray,
    state_tol: tuple[float, float] = (0.0, 0.0),
    strict: bool = False,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray] | None:
    """The quadratic model of a normalized gradient flow's arrival at ``x`` (see
    `_arrive_l2_linearized`): ``(λ, Q, c, x*, g)`` with ``H = QΛQᵀ`` (the eigenpairs
    across a valley of minimizers only), ``c = Qᵀ(x − x*)`` and the gradient ``g`` at
    ``x``; ``None`` when the system is not such a flow there or the model is not good at
    this distance (``state_tol = (rtol, atol)`` and ``strict``: see the checks below)."""
    if system.objective is None:
        return None
    f0, B, hx = system.kernel_evaluate(x)
    n = x.size
    if hx.size != n or np.any(f0 != 0.0) or not np.array_equal(B, np.eye(n)):
        return None
    H = system.kernel_jacobian(x, n)
    H = 0.5 * (H + H.T)
    lam, Q = scipy.linalg.eigh(H)
    flat = ~(lam > 1e-8 * max(lam[-1], 1e-300))
    if flat.any() and not np.all(np.abs(lam[flat]) <= _L2_VALLEY_FLAT * lam[-1]):
        # Singular or indefinite beyond a valley's rounding-level eigenvalues: a
        # degenerate arrival (Newton steps), as before valleys were taken. (A quadratic
        # of condition 1e10 centred at 1000 whose gradient is computed as Hx − Ha has a
        # real component λ₀d = 1e-13 along its flat direction, the size of its noise: it
        # was taken for a valley and the run rested 1e-3 off, status 1.)
        return None
    if flat.any():
        # A valley of minimizers (the rotations of a low-rank factorization's factors):
        # eigenvalues at rounding, with the gradient along them within its measured noise
        # (`_probe_noise`, projected on each of their eigenvectors: an exact component, as
        # x³ of x⁴/4 or λ₀ d of a quadratic of condition 1e9 centred at 1000, is far above
        # its own noise, however small, and is kept). The model is the quadratic one
        # across the valley; along it nothing moves. Else singular or indefinite: a
        # degenerate arrival (Newton steps).
        if flat.all() or lam[0] < -1e-8 * lam[-1]:
            return None
        noise = _noise_along(_probe_noise(system, x, n), Q[:, flat])
        floor = _L2_NOISE_FLOOR * np.maximum(noise, _EPS * float(np.linalg.norm(hx)))
        if not np.all(np.abs(Q[:, flat].T @ hx) <= floor):
            return None
        Q_flat = Q[:, flat]
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
    size_star = float(np.linalg.norm(g_star))
    if flat.any():
        noise_star_samples = _probe_noise(system, x_star, n)
    if not size_star <= _L2_MODEL_TOL * float(np.linalg.norm(hx)):
        # On a valley the gradient at x* may be its own noise and still above 1e-4 of
        # ‖g‖ (1.6e-15 against 1.3e-13 on a factorization, whose arrival then ended −1):
        # the model stands where that noise moves x* by at most a tenth of the state
        # tolerance across the valley. (Not elsewhere: a nondegenerate minimum keeps the
        # relative check, whatever its conditioning.)
        if not flat.any():
            return None
        noise_size = float(np.max(np.linalg.norm(noise_star_samples, axis=1)))
        if not size_star <= _L2_NOISE_FLOOR * noise_size:
            return None
    rtol, atol = state_tol
    if (strict or flat.any()) and (rtol > 0.0 or atol > 0.0):
        # x* within a tenth of the state tolerance, by the gradient there over the least
        # curvature, on a valley and where the model is asked again along the arrival's
        # integration (``strict``): the relative check alone let the model's closed form
        # end a curved degenerate arrival ((x − 10)⁴/4 + (y + 10)⁶/6) 2.3 time tolerances
        # early. (Not at the guard's stop otherwise: there it refused the closed form on
        # quadratics of condition 1e7 centred at 1000 that it had finished within the
        # tolerance, and the integration then failed −1.)
        tol = rtol * max(1.0, float(np.max(np.abs(x)))) + atol
        if not size_star / float(lam[0]) <= 0.1 * tol:
            return None
    if flat.any():
        # At x*, where the gradient across the valley is gone, what is left along the
        # flat directions must be its own noise too: there the projection's rounding is
        # that of a vanishing gradient, and a real component shows (at x the rounding of
        # the large components hid x³ = 1e-27 of a degenerate saddle y²/2 − x⁴/4 + x⁶/6,
        # and the run rested at (1e-9, 0), status 1, where the flow goes on along x).
        noise_star = _noise_along(noise_star_samples, Q_flat)
        floor_star = _L2_NOISE_FLOOR * np.maximum(noise_star, _EPS * float(np.linalg.norm(g_star)))
        if not np.all(np.abs(Q_flat.T @ g_star) <= floor_star):
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
    x_atol = 1e-15 * x_scale
    speed = float(np.linalg.norm(f0_start - B @ lam))
    t_atol = max(t_res, min(x_atol / max(speed, 1e-300), _L2_STIFF_RTOL * max(1.0, abs(t))))
    atol = np.r_[np.full(n, x_atol), t_atol]

    def finishes(z: FloatArray) -> bool:
        """Whether the quadratic model finishes the arrival from ``z`` in closed form
        (`_quadratic_model`, a gradient flow, within a tenth of the state tolerance)."""
        return _quadratic_model(system, z, state_tol, strict=True) is not None

    failure = ""
    try:
        # (the time left that may be dropped where Radau cannot go on: see
        # `_integrate_arrival`)
        t_done = 1e-2 * (state_tol[0] * max(1.0, abs(t)) + state_tol[1])
        sig_nodes, z_nodes, sol, stalled = _integrate_arrival(
            system, rhs, jacobian, x, atol, t_res, m, t_done, finishes
        )
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
    if t_nodes.size < 2:
        # No time passes along the integration: the arrival's stop holds at its start
        # (‖h‖ at the time resolution already), and h = 0 is reached here; the caller
        # decides what follows (a rest, sliding, or a relay passing through h = 0, −4).
        # scipy's spline raised a bare ValueError here (−1), and then a "does not finish"
        # failure did, at ‖h‖ = 4.7e-9 of an h scaled by 1e6 (stranger fuzz fz13) that
        # rests unscaled.
        return t, x.copy(), True
    # σ(t) between the nodes: monotone cubic Hermite with dσ/dt = 1/(dt/dσ) at the nodes
    rates = np.array([rhs(sg, sol(sg))[n] for sg in sig_nodes])
    sigma_of_t = CubicHermiteSpline(t_nodes, sig_nodes, 1.0 / np.maximum(rates, 1e-300))
    t_arrive = float(t_nodes[-1])
    t_start = t

    def dense(ts: FloatArray) -> FloatArray:
        tt = np.clip(np.asarray(ts, dtype=float), t_start, t_arrive)
        return np.asarray(sol(sigma_of_t(tt))[:n].T, dtype=np.float64)

    t_stop = min(t_arrive, t_end)
    # (from the arrival's start: the nodes begin at t itself; without it the first piece
    # was dropped, and an arrival of one σ step left a segment of no pieces that no
    # evaluation could read, a fuzz found)
    breaks = np.r_[t_nodes[t_nodes < t_stop], t_stop]
    x_stop = dense(np.array([t_stop]))[0]
    rec.dense_segment(t, t_stop, dense, x_stop, mode, lam, breaks)
    if stalled and t_stop == t_arrive:
        # Close enough to h = 0 for the quadratic model, which the guard's stop was not:
        # across a valley of minimizers of curvature 7e-4 the model's x* was 1.6e-10 off
        # there, and h's noise then held Radau's steps until the arrival failed.
        closed = _arrive_l2_linearized(
            system, field, t_stop, x_stop.copy(), rec, t_end, state_tol, strict=True
        )
        if closed is not None:
            return closed
    return t_stop, x_stop.copy(), t_stop == t_arrive


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
    interpolants = []

    def close_enough() -> bool:
        """Whether the time left is below ``t_done``: at most 10 times the Newton step's
        (degenerate arrivals of order p ≤ 10). Asked only where Radau cannot go on, or
        has gone on long: an arrival of order 6 at the origin has ‖h‖ ~ distance⁵, and
        dt/dσ decays only like e^(−σ/5) (3000 steps took σ to 106 at ‖h‖ = 8e-68, a
        distance of 3e-14; and a component far below its atol, free to move by it,
        turns extremely stiff as s grows: x⁴/4 + y⁶/6 had x jump from 1e-26 to 6e-18 at
        σ = 106, and Radau's steps collapsed)."""
        return len(states) > 1 and 10.0 * _newton_time(system, states[-1][:n], m) < t_done

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
        if float(rhs(solver.t, z)[n]) < t_res and _newton_time(system, z[:n], m) < t_res:
            break
        if _stalled_at_rounding(system, z_old[:n], z[:n], m):
            break
        if (solver.status == "finished" or step >= _L2_LONG_ARRIVAL) and close_enough():
            break
        if finishes is not None and _probe_step(step) and finishes(z[:n]):
            # Close enough for the quadratic model (within a tenth of the state tolerance):
            # the caller finishes in closed form. Radau's σ steps shrink to what the
            # field's noise allows near h's rounding: on a valley of minimizers (a low-rank
            # factorization's rotations) 3000 of them ended −1 at ‖h‖ = 2.7e-14, 1.3e-12
            # short of h = 0 across the valley, every such run of 6 random factorizations.
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


def _newton_time(system: FilippovSystem, x: FloatArray, m: int) -> float:
    """The time to cross the Newton step of the linear model of ``h`` at ``x`` to ``h = 0``
    at the flow's speed there (``inf`` where it is not finite). Not ``‖h‖`` over its
    rate: where a stiff component of ``h`` is at its rounding (``y`` at 1e-18 beside
    ``x³ = 8e-20`` on ``x⁴/4 + y²/2``) that rate is the stiff one's, while ``x`` is still
    far from the minimizer; the Newton step of that component is its rounding too."""
    f0, B, h = system.kernel_evaluate(x)
    nh = float(np.linalg.norm(h))
    if nh == 0.0:
        return 0.0
    speed = float(np.linalg.norm(f0 - B @ (h / nh)))
    with np.errstate(over="ignore", invalid="ignore"):
        step = np.linalg.pinv(system.kernel_jacobian(x, m), rcond=0.0) @ h
    distance = float(np.linalg.norm(step))
    if not (math.isfinite(distance) and speed > 0.0):
        return math.inf
    return distance / speed


def _stalled_at_rounding(system: FilippovSystem, x_old: FloatArray, x: FloatArray, m: int) -> bool:
    """Whether the arrival has reached ``h = 0`` to rounding: the last σ step moved ``x``
    by a few ulps at most, and the Newton step of the linear model of ``h`` at ``x`` to
    ``h = 0`` is as short (with ``h`` in the range of ``∂h/∂x``: a gradient that stalls
    above zero, as on ``x⁴/4 + 1e-11 y``, is no arrival).

    The time still left is then the time to cross a few ulps of ``x`` (the Newton step
    is ``1/p`` of the distance at ``‖h‖ ~ distance^p``), far below the run's tolerances.
    """
    ulp = _EPS * float(np.max(np.abs(x)))
    if not float(np.max(np.abs(x - x_old))) <= _L2_STALL_ULPS * ulp:
        return False
    h = system.kernel_f0_h(x)[1]
    nh = float(np.linalg.norm(h))
    if nh == 0.0:
        return True
    Jh = system.kernel_jacobian(x, m)
    # rcond=0: only exact zero singular values dropped (a degenerate minimum's are tiny;
    # LAPACK's least squares drops them below eps·max even with rcond=0)
    with np.errstate(over="ignore", invalid="ignore"):
        step = np.linalg.pinv(Jh, rcond=0.0) @ h
    if not np.all(np.isfinite(step)):
        return False
    residual = float(np.linalg.norm(Jh @ step - h))
    return bool(residual <= 0.5 * nh and float(np.max(np.abs(step))) <= _L2_STALL_ULPS * ulp)


def _probe_step(step: int) -> bool:
    """Whether the arrival's integration asks at σ step ``step`` if the quadratic model finishes it
    (`_integrate_arrival`): at steps 0, 1, 3, 7, 15, … and every 32nd (each ask costs a
    Jacobian and its eigenvalues)."""
    return (step < _L2_PROBE_EVERY and (step + 1) & step == 0) or step % _L2_PROBE_EVERY == 0


def _probe_noise(system: FilippovSystem, x: FloatArray, m: int) -> FloatArray:
    """The rounding of the evaluation of ``h`` near ``x``: signed samples, one a row, each
    the central difference of ``h`` over a move of the coordinates (4, 16 and 64 ulps,
    in three sign patterns) minus ``∂h/∂x`` times the move, zero in exact arithmetic to
    third order in the move. Consumers take, along each direction they ask about, the
    largest sample projected on it.

    Why measured, not bounded by ``eps·|∂h/∂x||x|``: where ``h``'s terms cancel
    (``UVᵀ − M`` of a factorization) its rounding is 10 times that bound and more, and
    where ``h`` is computed relative to a shift (``H(x − a)``, ``a`` = 1000) it is far
    below it. Why central: a one-sided difference kept the second-order term, and near a
    degenerate minimum that term, 1.8e-43, was taken for noise and hid a component of
    5e-43. Why several: a move of a few ulps leaves most roundings as they were, and one
    such sample saw a factorization's noise along its valley 4 times too small.
    Signed: projected on an eigenvector of a shifted quadratic's Hessian, the noise that
    came through ``H`` is filtered as ``H`` filters it (``λ₀`` times the shift's rounding
    along a flat one)."""
    index = np.arange(x.size)
    patterns = (
        np.where(index % 2 == 0, 1.0, -1.0),
        np.where((index * 7 + 3) % 5 < 2, 1.0, -1.0),
        np.ones(x.size),
    )
    jac = system.kernel_jacobian(x, m)
    rows = []
    for ulps, signs in zip((4.0, 16.0, 64.0), patterns, strict=True):
        move = ulps * signs * np.spacing(np.abs(x))
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                up = system.kernel_f0_h(x + move)[1]
                down = system.kernel_f0_h(x - move)[1]
                change = up - down - jac @ ((x + move) - (x - move))
        except FloatingPointError:  # (not finite a few ulps away: no noise measured)
            continue
        rows.append(np.where(np.isfinite(change), change, 0.0))
    return np.array(rows) if rows else np.zeros((1, m))


def _noise_along(noise: FloatArray | None, vectors: FloatArray) -> FloatArray:
    """The largest of the ``noise`` samples (`_probe_noise`) projected on each column of
    ``vectors`` (zeros when there are none)."""
    if noise is None:
        return np.zeros(vectors.shape[1])
    return np.asarray(np.max(np.abs(noise @ vectors), axis=0), dtype=np.float64)


def _fmt(x: FloatArray) -> str:
    return np.array2string(np.asarray(x), precision=12, max_line_width=10_000)
