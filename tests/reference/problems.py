"""Closed-form reference problems for the engine and system tests.

Every problem here has an answer derived by hand (the derivation is in the docstring of the
function that builds it) and checked independently of the library: the piecewise-linear
cases against an exact rational event-driven reference (:func:`reference_sign_flow`) and
against implicit Euler (:func:`implicit_euler_sign_flow`), the smooth cases against
their explicit formulas. Only :meth:`ClosedFormProblem.make_system` touches ``filippov``
(imported lazily, so this module imports with numpy alone).

Conventions: states are 1-D arrays, ``x_exact`` maps an array of times ``(k,)`` to states
``(k, n)``; times after a stationary point keep the equilibrium.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise, product
from typing import Any

import numpy as np

SLIDING = frozenset({"sliding-entry"})
TIE = frozenset({"tie-entry", "sliding-entry"})
CROSSING = frozenset({"crossing"})
STATIONARY = frozenset({"stationary"})

#: Problems whose answer is piecewise linear in t (exact path applies).
PIECEWISE_LINEAR = "piecewise-linear"


@dataclass(frozen=True)
class ExpectedEvent:
    """An event of the exact solution: time, acceptable kinds, state, switching indices."""

    t: float
    kinds: frozenset[str]
    x: np.ndarray
    indices: tuple[int, ...] = ()
    optional: bool = False  # e.g. a grazing contact the engine may or may not report


@dataclass(frozen=True)
class ClosedFormProblem:
    """A system with a known Filippov solution.

    Attributes
    ----------
    name : str
        Used as the pytest id.
    make_system : callable
        ``() -> FilippovSystem`` (imports filippov lazily).
    x0 : ndarray, shape (n,)
    t_span : (float, float)
    events : tuple of ExpectedEvent
        Every event of the exact solution in ``(t0, t_end]``, in time order.
    x_exact : callable
        ``(k,) -> (k, n)``: the exact solution.
    status : int
        The status the engine must report (1 when a stationary point is reached).
    exact_path : bool
        True when the system is piecewise affine with constant velocity in each mode.
    f, grad : callable or None
        The objective and its gradient for steepest-descent flows.
    dual_norm : str or None
        ``‖∇f‖_*`` for the descent identity ``df/dt = −‖∇f‖_*`` ("l1", "linf", "l2").
    velocities : tuple of (t0, t1, v)
        Intervals on which the exact velocity is the constant ``v``.
    modes : tuple of (t0, t1, kind, free)
        Intervals with the mode kind ("regular", "sliding", "tie", "stationary") and its
        free indices, for checking the engine's segments.
    """

    name: str
    make_system: Callable[[], Any]
    x0: np.ndarray
    t_span: tuple[float, float]
    events: tuple[ExpectedEvent, ...]
    x_exact: Callable[[np.ndarray], np.ndarray]
    status: int
    exact_path: bool
    f: Callable[[np.ndarray], float] | None = None
    grad: Callable[[np.ndarray], np.ndarray] | None = None
    dual_norm: str | None = None
    velocities: tuple[tuple[float, float, np.ndarray], ...] = ()
    modes: tuple[tuple[float, float, str, tuple[int, ...]], ...] = ()

    def __repr__(self) -> str:
        return self.name


def _pwl(times: Sequence[float], states: Sequence[Sequence[float]]) -> Callable:
    """Piecewise-linear interpolant through breakpoints, constant outside."""
    ts = np.asarray(times, dtype=float)
    xs = np.asarray(states, dtype=float)

    def x_exact(t: np.ndarray) -> np.ndarray:
        t = np.atleast_1d(np.asarray(t, dtype=float))
        return np.stack([np.interp(t, ts, xs[:, k]) for k in range(xs.shape[1])], axis=1)

    return x_exact


def _quadratic_objective(H: np.ndarray, b: np.ndarray, c: float = 0.0):
    H = np.asarray(H, float)
    b = np.asarray(b, float)

    def f(x):
        x = np.asarray(x, float)
        return 0.5 * x @ H @ x + b @ x + c

    def grad(x):
        return H @ np.asarray(x, float) + b

    return f, grad


def _flow(make_objective: Callable[[], Any], norm: str) -> Callable[[], Any]:
    def make():
        import filippov as fp

        return fp.steepest_descent_flow(make_objective(), norm=norm)

    return make


def _quadratic(H, b, c=0.0) -> Callable[[], Any]:
    def make():
        import filippov as fp

        return fp.Objective.quadratic(np.asarray(H, float), np.asarray(b, float), c)

    return make


# --------------------------------------------------------------------------------------
# 1. Separable quadratic, ℓ∞ (sign) flow
# --------------------------------------------------------------------------------------
def separable_sign_flow(
    L: Sequence[float],
    c: Sequence[float],
    x0: Sequence[float],
    t_end: float,
    *,
    kind: str = "quadratic",
    name: str | None = None,
) -> ClosedFormProblem:
    """f = ½ Σ l_i (x_i − c_i)² (or Σ cosh(x_i − c_i)), flow x' ∈ −Sign(∇f).

    Derivation: ∂_i f = l_i (x_i − c_i) (resp. sinh(x_i − c_i)) has the sign of x_i − c_i
    and depends on x_i only, so x_i' = −sign(x_i − c_i): coordinate i moves at unit speed
    to c_i and arrives at t_i = |x0_i − c_i|. On {x_i = c_i} the sliding selection is the
    Utkin control λ_i = a/M = 0 (the Hessian is diagonal, so the other relays do not move
    ∂_i f): the coordinate stays. Events: sliding entry of the coordinates at the sorted
    t_i (simultaneous arrivals form one event time), the last one stationary (∇f = 0).
    ``x_i(t) = c_i + sign(x0_i − c_i) max(|x0_i − c_i| − t, 0)``.
    """
    l_arr, c_arr, x0_arr = (np.asarray(v, dtype=float) for v in (L, c, x0))
    d = x0_arr - c_arr
    if np.any(d == 0):
        raise ValueError("start off every switching surface")
    arrivals = np.abs(d)
    times = sorted(set(arrivals.tolist()))
    events = []
    for k, tk in enumerate(times):
        if tk > t_end:
            break
        idx = tuple(int(i) for i in np.flatnonzero(arrivals == tk))
        xk = c_arr + np.sign(d) * np.maximum(arrivals - tk, 0.0)
        last = k == len(times) - 1
        events.append(ExpectedEvent(tk, STATIONARY if last else SLIDING, xk, idx))
    status = 1 if times[-1] < t_end else 0

    def x_exact(t):
        t = np.atleast_1d(np.asarray(t, float))[:, None]
        return c_arr + np.sign(d) * np.maximum(arrivals - t, 0.0)

    bps = [0.0, *[tk for tk in times if tk < t_end], t_end]
    velocities = tuple(
        (a, b_, -np.sign(d) * (arrivals > a + 0.5 * (b_ - a))) for a, b_ in pairwise(bps)
    )
    modes = []
    for a, b_ in pairwise(bps):
        free = tuple(int(i) for i in np.flatnonzero(arrivals <= a))
        if len(free) == len(d):
            modes.append((a, b_, "stationary", free))
        else:
            modes.append((a, b_, "sliding" if free else "regular", free))
    n = len(d)
    if kind == "quadratic":
        H = np.diag(l_arr)
        b = -l_arr * c_arr
        f, grad = _quadratic_objective(H, b, 0.5 * float(l_arr @ c_arr**2))
        make = _flow(_quadratic(H, b, 0.5 * float(l_arr @ c_arr**2)), "linf")
        exact = True
    elif kind == "cosh":

        def f(x):
            return float(np.sum(np.cosh(np.asarray(x) - c_arr)))

        def grad(x):
            return np.sinh(np.asarray(x) - c_arr)

        def make_obj():
            import filippov as fp

            names = [f"x{i + 1}" for i in range(n)]
            expr = " + ".join(f"cosh({v} - c{i + 1})" for i, v in enumerate(names))
            params = {f"c{i + 1}": float(ci) for i, ci in enumerate(c_arr)}
            return fp.Objective.from_expr(expr, variables=names, params=params)

        make = _flow(make_obj, "linf")
        exact = False
    else:  # pragma: no cover - programming error in the test suite
        raise ValueError(kind)
    return ClosedFormProblem(
        name or f"separable-{kind}-n{n}",
        make,
        x0_arr,
        (0.0, float(t_end)),
        tuple(events),
        x_exact,
        status,
        exact,
        f,
        grad,
        "l1",
        velocities,
        tuple(modes),
    )


# --------------------------------------------------------------------------------------
# 2. The slope example f = ½(x1 − a x2)² + ½(x2 + 3)², ℓ∞ flow
# --------------------------------------------------------------------------------------
def slope_hessian(a: float) -> tuple[np.ndarray, np.ndarray, float]:
    """f = ½xᵀHx + bᵀx + c with H = [[1, −a], [−a, 1 + a²]], b = (0, 3), c = 9/2."""
    return np.array([[1.0, -a], [-a, 1.0 + a * a]]), np.array([0.0, 3.0]), 4.5


def slope_problem(a: float, builder: str = "quadratic") -> ClosedFormProblem:
    """The slope example of seed paper 2 §4.4, sign flow, hand solution.

    ∇f = (u, x2 + 3 − a u) with u = x1 − a x2. With x' = −(λ1, λ2):
    u' = −λ1 + a λ2 and (∂2 f)' = a λ1 − (1 + a²) λ2.

    a = 0.5, x0 = (0.6, 0.1): u0 = 0.55 > 0, ∂2 f = 2.825 > 0, so x' = (−1, −1),
    u' = −0.5: u = 0 at t = 1.1, x = (−0.5, −1) (∂2 f = 2 > 0 there). On u = 0:
    a+ = −1 + 0.5 = −0.5 < 0 < a− = 1 + 0.5 = 1.5: sliding, λ1 = a = 0.5 (Utkin),
    velocity (−0.5, −1); ∂2 f = x2 + 3 reaches 0 after 2 time units: stationary at
    t = 3.1, x = (−1.5, −3) = the minimizer (−3a, −3).

    a = 2, x0 = (−0.6, 0.1): u0 = −0.8 < 0, ∂2 f = 4.7 > 0, x' = (1, −1), u' = 3:
    u = 0 at t = 0.8/3 = 4/15, x = (−1/3, −1/6); a+ = −1 + 2 = 1, a− = 1 + 2 = 3 (same
    sign): crossing. Then x' = (−1, −1), u' = 1, ∂2 f = 17/6 − 3s (s = t − 4/15) reaches 0
    at s = 17/18 (t = 109/90), x = (−23/18, −10/9). On ∂2 f = 0 with λ1 = 1:
    (∂2 f)' = 2 − 5λ2: −3 for λ2 = 1, 7 for λ2 = −1: sliding, λ2 = 2/5, velocity
    (−1, −2/5), u' = −1/5: u = 17/18 reaches 0 after 85/18: stationary at
    t = 4/15 + 17/18 + 85/18 = 89/15 at the minimizer (−6, −3).
    """
    H, b, c = slope_hessian(a)
    f, grad = _quadratic_objective(H, b, c)
    if a == 0.5:
        x0 = np.array([0.6, 0.1])
        t1, x1 = 1.1, np.array([-0.5, -1.0])
        t2, x2 = 3.1, np.array([-1.5, -3.0])
        events = (
            ExpectedEvent(t1, SLIDING, x1, (0,)),
            ExpectedEvent(t2, STATIONARY, x2, (1,)),
        )
        t_end = 4.0
        x_exact = _pwl([0.0, t1, t2, t_end], [x0, x1, x2, x2])
        velocities = (
            (0.0, t1, np.array([-1.0, -1.0])),
            (t1, t2, np.array([-0.5, -1.0])),
            (t2, t_end, np.zeros(2)),
        )
        modes = (
            (0.0, t1, "regular", ()),
            (t1, t2, "sliding", (0,)),
            (t2, t_end, "stationary", (0, 1)),
        )
    elif a == 2.0:
        x0 = np.array([-0.6, 0.1])
        t1, x1 = 4.0 / 15.0, np.array([-1.0 / 3.0, -1.0 / 6.0])
        t2, x2 = 109.0 / 90.0, np.array([-23.0 / 18.0, -10.0 / 9.0])
        t3, x3 = 89.0 / 15.0, np.array([-6.0, -3.0])
        events = (
            ExpectedEvent(t1, CROSSING, x1, (0,)),
            ExpectedEvent(t2, SLIDING, x2, (1,)),
            ExpectedEvent(t3, STATIONARY, x3, (0,)),
        )
        t_end = 7.0
        x_exact = _pwl([0.0, t1, t2, t3, t_end], [x0, x1, x2, x3, x3])
        velocities = (
            (0.0, t1, np.array([1.0, -1.0])),
            (t1, t2, np.array([-1.0, -1.0])),
            (t2, t3, np.array([-1.0, -0.4])),
            (t3, t_end, np.zeros(2)),
        )
        modes = (
            (0.0, t1, "regular", ()),
            (t1, t2, "regular", ()),
            (t2, t3, "sliding", (1,)),
            (t3, t_end, "stationary", (0, 1)),
        )
    else:  # pragma: no cover
        raise ValueError("hand solutions exist for a = 0.5 and a = 2")

    def make_obj():
        import filippov as fp

        if builder == "quadratic":
            return fp.Objective.quadratic(H, b, c)
        if builder == "from_expr":
            return fp.Objective.from_expr(
                "0.5*(x - a*y)**2 + 0.5*(y + 3)**2", variables=["x", "y"], params={"a": a}
            )
        from filippov.objectives import slope

        return slope(a)

    return ClosedFormProblem(
        f"slope-a{a:g}-{builder}",
        _flow(make_obj, "linf"),
        x0,
        (0.0, t_end),
        events,
        x_exact,
        1,
        builder == "quadratic",
        f,
        grad,
        "l1",
        velocities,
        modes,
    )


# --------------------------------------------------------------------------------------
# 3. Separable quadratic, ℓ1-constrained (greedy) flow: ties with weights ∝ 1/l_i
# --------------------------------------------------------------------------------------
def greedy_separable(
    L: Sequence[float], c: Sequence[float], x0: Sequence[float], t_end: float
) -> ClosedFormProblem:
    """f = ½ Σ l_i (x_i − c_i)², flow x' ∈ −∂‖∇f‖∞ (φ = ℓ∞).

    Derivation: g_i = l_i (x_i − c_i). Only indices in the tie set A = argmax |g_i| move:
    x' = −Σ_{i∈A} w_i sign(g_i) e_i, so d|g_i|/dt = −l_i w_i. Keeping the tie needs a
    common rate r = l_i w_i, and Σ w_i = 1 gives w_i = (1/l_i) / Σ_{j∈A} 1/l_j and
    r = 1 / Σ_{j∈A} 1/l_j. Hence, with m_j = |g_j(x0)|, the common level m(t) of the tie
    set solves t = Σ_j (m_j − m)_+ / l_j (piecewise linear, decreasing), index j joins the
    tie at t_j = Σ_i (m_i − m_j)_+ / l_i, and ∇f = 0 at T = Σ_j m_j / l_j = ‖x0 − c‖₁
    (‖x − c‖₁ decreases at unit rate). x_j(t) = c_j + sign(g_j) min(m_j, m(t)) / l_j.
    """
    l_arr, c_arr, x0_arr = (np.asarray(v, dtype=float) for v in (L, c, x0))
    g0 = l_arr * (x0_arr - c_arr)
    m = np.abs(g0)
    s = np.sign(g0)
    if len(set(m.tolist())) != len(m) or np.any(m == 0):
        raise ValueError("choose distinct nonzero |g_i| for a clean event sequence")
    order = np.argsort(-m)

    def time_of_level(level: float) -> float:
        return float(np.sum(np.maximum(m - level, 0.0) / l_arr))

    def state_at_level(level: float) -> np.ndarray:
        return c_arr + s * np.minimum(m, level) / l_arr

    levels = [*m[order][1:].tolist(), 0.0]
    joiners = [*order[1:].tolist(), None]
    events = []
    bps_t, bps_x = [0.0], [x0_arr]
    velocities, modes = [], []
    active = [int(order[0])]
    for level, j in zip(levels, joiners, strict=True):
        tk = time_of_level(level)
        w = np.zeros_like(m)
        inv = 1.0 / l_arr[active]
        w[active] = inv / inv.sum()
        velocities.append((bps_t[-1], tk, -s * w))
        modes.append(
            (bps_t[-1], tk, "tie" if len(active) > 1 else "regular", tuple(sorted(active)))
        )
        bps_t.append(tk)
        bps_x.append(state_at_level(level))
        if tk > t_end:
            break
        if j is None:
            events.append(ExpectedEvent(tk, STATIONARY, bps_x[-1], ()))
        else:
            events.append(ExpectedEvent(tk, TIE, bps_x[-1], (int(j),)))
            active.append(int(j))
    T = bps_t[-1]
    status = 1 if t_end > T else 0
    if status:
        velocities.append((T, t_end, np.zeros_like(m)))
        modes.append((T, t_end, "stationary", tuple(range(len(m)))))
    bps_t.append(max(t_end, T) + 1.0)
    bps_x.append(bps_x[-1])
    x_exact = _pwl(bps_t, bps_x)
    H = np.diag(l_arr)
    b = -l_arr * c_arr
    cc = 0.5 * float(l_arr @ c_arr**2)
    f, grad = _quadratic_objective(H, b, cc)
    return ClosedFormProblem(
        f"greedy-separable-n{len(m)}",
        _flow(_quadratic(H, b, cc), "l1"),
        x0_arr,
        (0.0, float(t_end)),
        tuple(events),
        x_exact,
        status,
        True,
        f,
        grad,
        "linf",
        tuple(velocities),
        tuple(modes),
    )


# --------------------------------------------------------------------------------------
# 4. ℓ2 (normalized gradient) flow on ½‖x − c‖²
# --------------------------------------------------------------------------------------
def l2_isotropic(c: Sequence[float], x0: Sequence[float], t_end: float) -> ClosedFormProblem:
    """x' = −(x − c)/‖x − c‖: the straight line to c at unit speed, arrival at ‖x0 − c‖₂.

    ``x(t) = c + (x0 − c) max(1 − t/‖x0 − c‖, 0)``; then stationary (h = ∇f = 0, the ball VI
    gives λ = 0 since the Hessian is the identity and f0 = 0).
    """
    c_arr, x0_arr = np.asarray(c, float), np.asarray(x0, float)
    d = x0_arr - c_arr
    T = float(np.linalg.norm(d))
    n = len(d)

    def x_exact(t):
        t = np.atleast_1d(np.asarray(t, float))[:, None]
        return c_arr + d * np.maximum(1.0 - t / T, 0.0)

    f, grad = _quadratic_objective(np.eye(n), -c_arr, 0.5 * float(c_arr @ c_arr))
    return ClosedFormProblem(
        f"l2-isotropic-n{n}",
        _flow(_quadratic(np.eye(n), -c_arr, 0.5 * float(c_arr @ c_arr)), "l2"),
        x0_arr,
        (0.0, float(t_end)),
        (ExpectedEvent(T, STATIONARY, c_arr, ()),) if t_end >= T else (),
        x_exact,
        1 if t_end > T else 0,
        False,
        f,
        grad,
        "l2",
        ((0.0, T, -d / T), (T, t_end, np.zeros(n))),
        ((0.0, T, "regular", ()),),
    )


# --------------------------------------------------------------------------------------
# 5. Coulomb (dry friction) oscillator q'' + q ∈ −μ Sign(q')
# --------------------------------------------------------------------------------------
def coulomb_events(mu: float, q0: float, v0: float, t_end: float):
    """Exact event sequence of q'' + q ∈ −μ Sign(q').

    Derivation: while v = q' has the sign σ ≠ 0, q'' = −(q + σμ): a harmonic oscillation
    about the centre c = −σμ, (q − c, v) = R(cos θ, −sin θ), θ = θ0 + t (clockwise at unit
    angular speed). v vanishes again when θ reaches the next multiple of π: after
    τ = −θ0 mod π for σ > 0 ... in general the next zero of sin θ after θ0; there
    q = c ± R. At v = 0 the surface {v = 0} has a± = −q ∓ μ: if |q| > μ both have the sign
    of −q: a crossing, the motion continues with σ = −sign(q) (half period π when
    starting at rest, amplitude |q| → |q| − 2μ). If |q| < μ, a+ < 0 < a−: sliding with
    λ = −q/μ, velocity (v, 0) = 0: a stationary point (sticking for ever).
    Returns (list of (t, kind, q), piece list for x_exact).
    """
    t, q, v = 0.0, float(q0), float(v0)
    events = []
    pieces = []  # (t_start, t_stop, centre, R, theta0)  or  (t_start, inf, q) for rest
    if v == 0.0:
        if abs(q) < mu:
            return [], [(0.0, math.inf, None, None, None, q)]
        sigma = -math.copysign(1.0, q)
    else:
        sigma = math.copysign(1.0, v)
    while True:
        centre = -sigma * mu
        R = math.hypot(q - centre, v)
        theta0 = math.atan2(-v, q - centre)  # q − c = R cos θ, v = −R sin θ
        # next θ > θ0 with sin θ = 0 (v = 0): for σ > 0, θ0 ∈ (−π, 0] → next is 0; for σ < 0,
        # θ0 ∈ [0, π) → next is π. When v = 0 at the start θ0 is 0 (σ<0) or π (σ>0, shift).
        if sigma > 0:
            if theta0 >= 0.0:
                theta0 -= 2 * math.pi if theta0 > 0 else math.pi
            target = 0.0
        else:
            if theta0 < 0.0:
                theta0 += 2 * math.pi
            target = math.pi
        tau = target - theta0
        pieces.append((t, t + tau, centre, R, theta0, None))
        t = t + tau
        q = centre + R * math.cos(target)
        v = 0.0
        if t > t_end:
            break
        if abs(q) < mu:
            events.append((t, "stationary", q))
            pieces.append((t, math.inf, None, None, None, q))
            break
        events.append((t, "crossing", q))
        sigma = -math.copysign(1.0, q)
    return events, pieces


def coulomb_problem(mu: float, q0: float, v0: float, t_end: float) -> ClosedFormProblem:
    """Coulomb oscillator as FilippovSystem(f0 = (v, −q), B = (0, μ)ᵀ, h = v, "l1")."""
    evs, pieces = coulomb_events(mu, q0, v0, t_end)

    def x_exact(t):
        t = np.atleast_1d(np.asarray(t, float))
        out = np.empty((len(t), 2))
        for k, tk in enumerate(t):
            for t_a, t_b, centre, R, theta0, q_rest in pieces:
                if t_a <= tk <= t_b or (tk > t_b and (t_a, t_b) == pieces[-1][:2]):
                    if q_rest is not None:
                        out[k] = (q_rest, 0.0)
                    else:
                        th = theta0 + (tk - t_a)
                        out[k] = (centre + R * math.cos(th), -R * math.sin(th))
                    break
        return out

    def make():
        import filippov as fp

        return fp.FilippovSystem(
            lambda x: np.array([x[1], -x[0]]),
            np.array([[0.0], [mu]]),
            lambda x: np.array([x[1]]),
            norm="l1",
            jac_h=lambda x: np.array([[0.0, 1.0]]),
            name="coulomb (test)",
        )

    events = tuple(
        ExpectedEvent(t, STATIONARY if kind == "stationary" else CROSSING, np.array([q, 0.0]), (0,))
        for t, kind, q in evs
    )
    status = 1 if evs and evs[-1][1] == "stationary" else 0
    return ClosedFormProblem(
        f"coulomb-mu{mu:g}-q{q0:g}-v{v0:g}",
        make,
        np.array([q0, v0], float),
        (0.0, float(t_end)),
        events,
        x_exact,
        status,
        False,
    )


# --------------------------------------------------------------------------------------
# 5b. A fold (two-field system): sliding up to the fold, tangential exit; grazing
# --------------------------------------------------------------------------------------
def fold_problem(x0: Sequence[float], t_end: float = 2.0) -> ClosedFormProblem:
    """x' = F+ = (1, x1) for h = x2 > 0, F− = (1, 1) for x2 < 0.

    On h = 0: a+ = x1, a− = 1, so {x1 < 0} is a sliding region, (0, 0) a fold of F+ (a+ = 0)
    and {x1 > 0} a crossing region. x1' = 1 everywhere.

    From (−1, 0): sliding with the Filippov velocity (1, 0) until the fold at t = 1, then a
    tangential exit into x2 > 0: x = (t − 1, (t − 1)²/2). (Unique: past the fold both fields
    point up.) The exit event may be called "exit" (λ reaches its bound) or "tangency"
    (a+ = 0 there).

    From (−1, 1/2) in x2 > 0: x = (t − 1, (t − 1)²/2) for all t: the trajectory grazes the
    surface at the fold at t = 1 without leaving x2 ≥ 0 (an optional "tangency" event).
    """
    x0_arr = np.asarray(x0, float)

    def make():
        import filippov as fp

        return fp.piecewise_system(
            lambda x: np.array([1.0, 1.0]),
            lambda x: np.array([1.0, x[0]]),
            lambda x: x[1],
            grad_h=lambda x: np.array([0.0, 1.0]),
            name="fold",
        )

    if np.allclose(x0_arr, [-1.0, 0.0]):
        name = "fold-sliding-exit"
        event = ExpectedEvent(1.0, frozenset({"exit", "tangency"}), np.zeros(2), (0,))

        def x_exact(t):
            t = np.atleast_1d(np.asarray(t, float))
            s = np.maximum(t - 1.0, 0.0)
            return np.stack([t - 1.0, 0.5 * s * s], axis=1)

        velocities = ((0.0, 1.0, np.array([1.0, 0.0])),)
    elif np.allclose(x0_arr, [-1.0, 0.5]):
        name = "fold-grazing"
        event = ExpectedEvent(1.0, frozenset({"tangency"}), np.zeros(2), (0,), optional=True)

        def x_exact(t):
            t = np.atleast_1d(np.asarray(t, float))
            return np.stack([t - 1.0, 0.5 * (t - 1.0) ** 2], axis=1)

        velocities = ()
    else:  # pragma: no cover
        raise ValueError("closed forms for x0 = (−1, 0) and (−1, 0.5)")
    return ClosedFormProblem(
        name, make, x0_arr, (0.0, float(t_end)), (event,), x_exact, 0, False, velocities=velocities
    )


# --------------------------------------------------------------------------------------
# 6. Twisting controller: a Zeno point
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ZenoProblem:
    """x1' = x2, x2' ∈ −2 Sign(x1) − Sign(x2) from x0 in the open first quadrant.

    Derivation: in Q1 (x1, x2 > 0) x2' = −3, in Q4 x2' = −1, in Q3 +3, in Q2 +1. From a
    crossing of {x1 = 0} with speed |x2| = u: x2 reaches 0 after u/3 (at |x1| = u²/6), then
    x1 reaches 0 after another u/√3 with |x2| = u/√3. So the crossing times form a geometric
    series of ratio 1/√3 per half turn. From x0 = (x1, x2) in Q1, the previous {x1 = 0}
    crossing had u0 = √(x2² + 6 x1); the first event (x2 = 0) comes after (u0 − x2)/3 and
    the origin is reached at t* = u0 (1 + 2/√3) − (u0 − x2)/3. For x0 = (0.5, 1):
    u0 = 2, t* = 5/3 + 4/√3 ≈ 3.97606774.
    """

    x0: np.ndarray
    times: tuple[float, ...]  # first crossing times
    states: tuple[np.ndarray, ...]
    t_star: float

    def make_system(self):
        import filippov as fp

        return fp.FilippovSystem(
            lambda x: np.array([x[1], 0.0]),
            np.array([[0.0, 0.0], [2.0, 1.0]]),
            lambda x: np.array([x[0], x[1]]),
            norm="l1",
            jac_h=lambda x: np.eye(2),
        )


def twisting_problem(x0: Sequence[float] = (0.5, 1.0), n_events: int = 24) -> ZenoProblem:
    x1, x2 = (float(v) for v in x0)
    if not (x1 > 0 and x2 > 0):
        raise ValueError("start in the open first quadrant")
    u = math.sqrt(x2 * x2 + 6.0 * x1)
    t = (u - x2) / 3.0
    sign = 1.0
    times, states = [t], [np.array([u * u / 6.0, 0.0])]
    while len(times) < n_events:
        t += u / math.sqrt(3.0)
        u /= math.sqrt(3.0)
        times.append(t)
        states.append(np.array([0.0, -sign * u]))
        t += u / 3.0
        sign = -sign
        times.append(t)
        states.append(np.array([sign * u * u / 6.0, 0.0]))
    t_star = u0 = math.sqrt(x2 * x2 + 6.0 * x1)
    t_star = u0 * (1.0 + 2.0 / math.sqrt(3.0)) - (u0 - x2) / 3.0
    return ZenoProblem(
        np.array([x1, x2]), tuple(times[:n_events]), tuple(states[:n_events]), t_star
    )


# --------------------------------------------------------------------------------------
# 7. Brute-force references for quadratic sign flows (test-only, independent of filippov)
# --------------------------------------------------------------------------------------
def _solve_fraction(A: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction] | None:
    """Gaussian elimination in exact rationals; None if singular."""
    k = len(rhs)
    M = [[*row, r] for row, r in zip(A, rhs, strict=True)]
    for col in range(k):
        piv = next((r for r in range(col, k) if M[r][col] != 0), None)
        if piv is None:
            return None
        M[col], M[piv] = M[piv], M[col]
        for r in range(k):
            if r != col and M[r][col] != 0:
                fac = M[r][col] / M[col][col]
                M[r] = [a - fac * b for a, b in zip(M[r], M[col], strict=True)]
    return [M[r][k] / M[r][r] for r in range(k)]


def _box_vi_enumerate(M, a):
    """All solutions of the box VI λ ∈ [−1,1]^k, w = a − Mλ (exact rationals, 3^k patterns)."""
    k = len(a)
    sols = []
    for pattern in product((-1, 0, 1), repeat=k):
        free = [i for i in range(k) if pattern[i] == 0]
        lam = [Fraction(p) for p in pattern]
        if free:
            A = [[M[i][j] for j in free] for i in free]
            rhs = [a[i] - sum(M[i][j] * lam[j] for j in range(k) if j not in free) for i in free]
            sol = _solve_fraction(A, rhs)
            if sol is None:
                continue
            for i, v in zip(free, sol, strict=True):
                lam[i] = v
        if any(abs(v) > 1 for v in lam):
            continue
        w = [a[i] - sum(M[i][j] * lam[j] for j in range(k)) for i in range(k)]
        ok = all(
            (pattern[i] == 0 and w[i] == 0)
            or (pattern[i] == 1 and w[i] >= 0)
            or (pattern[i] == -1 and w[i] <= 0)
            for i in range(k)
        )
        # a free index with |λ| = 1 duplicates a bound pattern: keep the bound one only
        if ok and not any(pattern[i] == 0 and abs(lam[i]) == 1 for i in range(k)):
            sols.append(lam)
    return sols


def reference_sign_flow(H, b, x0, t_end):
    """Exact event-driven sign flow x' ∈ −Sign(Hx + b) in rationals (H SPD, small n).

    In a mode the relay values are constant, so x is linear in t; at each event the box VI
    on the zero set J (M = H_JJ, a = −H_JF λ_F) is solved by enumeration of all 3^|J|
    active patterns (unique for SPD H). Returns a list of (t, x, J) breakpoints as
    Fractions, ending at the minimizer or at t_end.
    """
    Hq = [[Fraction(v).limit_denominator(10**12) for v in row] for row in np.asarray(H)]
    bq = [Fraction(v).limit_denominator(10**12) for v in np.asarray(b)]
    x = [Fraction(v).limit_denominator(10**12) for v in np.asarray(x0)]
    n = len(x)
    t = Fraction(0)
    T = Fraction(t_end).limit_denominator(10**12)
    out = [(t, x[:], ())]
    for _ in range(10 * n + 10):
        g = [sum(Hq[i][j] * x[j] for j in range(n)) + bq[i] for i in range(n)]
        J = [i for i in range(n) if g[i] == 0]
        F = [i for i in range(n) if g[i] != 0]
        lam = [Fraction(0)] * n
        for i in F:
            lam[i] = Fraction(1 if g[i] > 0 else -1)
        if J:
            M = [[Hq[i][j] for j in J] for i in J]
            a = [-sum(Hq[i][j] * lam[j] for j in F) for i in J]
            sols = _box_vi_enumerate(M, a)
            if len(sols) != 1:
                raise RuntimeError(f"box VI has {len(sols)} solutions")
            for i, v in zip(J, sols[0], strict=True):
                lam[i] = v
        if all(v == 0 for v in lam):
            out.append((T, x[:], tuple(J)))
            return out
        dg = [-sum(Hq[i][j] * lam[j] for j in range(n)) for i in range(n)]
        # next event: an index with g_i ≠ 0 reaching 0, or a J index leaving (λ = ±1, ġ ≠ 0
        # starts immediately: handled by the linear motion since g moves away).
        cand = [(-g[i] / dg[i]) for i in range(n) if g[i] != 0 and dg[i] != 0 and -g[i] / dg[i] > 0]
        dt = min(cand) if cand else None
        if dt is None or t + dt >= T:
            x = [x[i] - (T - t) * lam[i] for i in range(n)]
            out.append((T, x, tuple(J)))
            return out
        t = t + dt
        x = [x[i] - dt * lam[i] for i in range(n)]
        g_new = [sum(Hq[i][j] * x[j] for j in range(n)) + bq[i] for i in range(n)]
        out.append((t, x[:], tuple(i for i in range(n) if g_new[i] == 0)))
    raise RuntimeError("too many events")


def implicit_euler_sign_flow(grad, hess, x0, h, n_steps, *, tol=1e-12):
    """Implicit Euler x_{k+1} = x_k − h λ, λ ∈ Sign(∇f(x_{k+1})), by enumeration.

    For each pattern (σ_i ∈ {−1, 0, +1}) the free indices J (σ = 0) solve
    ∂_J f(x_k − h λ) = 0 for λ_J (Newton; one step for a quadratic); the pattern is accepted
    if |λ_J| ≤ 1 and σ_i ∂_i f(x_{k+1}) ≥ 0 elsewhere. For strongly convex f the step is the
    resolvent of a maximal monotone operator, hence unique (for a quadratic: the optimality
    condition of min ½ yᵀH⁻¹y − y_kᵀH⁻¹y + h‖y‖₁ in y = ∇f). The previous pattern is tried
    first; if none is consistent within ``tol`` the least violating one is taken.
    """
    x = np.asarray(x0, float).copy()
    n = len(x)
    patterns = [np.array(p) for p in product((-1, 0, 1), repeat=n)]
    xs = [x.copy()]
    last = None
    for _ in range(n_steps):
        best, best_viol = None, np.inf
        order = patterns if last is None else [last, *patterns]
        for p in order:
            J = np.flatnonzero(p == 0)
            F = np.flatnonzero(p != 0)
            lam = p.astype(float)
            ok = True
            for _newton in range(50):
                xn = x - h * lam
                if not len(J):
                    break
                r = np.asarray(grad(xn), float)[J]
                if np.max(np.abs(r)) <= 1e-15 * (1.0 + np.max(np.abs(grad(x)))):
                    break
                # d r / d λ_J = −h H_JJ
                step = np.linalg.solve(-h * np.asarray(hess(xn), float)[np.ix_(J, J)], r)
                lam[J] -= step
                if not np.all(np.isfinite(lam)) or np.max(np.abs(lam)) > 1e6:
                    ok = False
                    break
                if np.max(np.abs(step)) <= 1e-15:
                    break
            if not ok:
                continue
            gn = np.asarray(grad(x - h * lam), float)
            viol = max(
                float(np.max(np.abs(lam[J]) - 1.0, initial=0.0)),
                float(np.max(-p[F] * gn[F], initial=0.0)),
                float(np.max(np.abs(gn[J]), initial=0.0)) / h,
            )
            if viol < best_viol:
                best, best_viol, best_p = lam, viol, p
                if viol <= tol:
                    break
        last = best_p
        x = x - h * best
        xs.append(x.copy())
    return np.array(xs)


CODIM2_H = np.array([[0.86, 0.52, -0.4], [0.52, 1.38, -0.36], [-0.4, -0.36, 1.38]])
CODIM2_X0 = np.array([-0.8, 0.2, -2.0])


def codim2_problem() -> ClosedFormProblem:
    """f = ½xᵀHx (H = CODIM2_H, SPD), sign flow from (−0.8, 0.2, −2): a crossing, then
    sliding on one manifold, then on two at once (codimension 2), then the minimizer.

    Hand derivation (checked in exact rationals by :func:`reference_sign_flow`):
    g = Hx = (0.216, 0.58, −2.512) at x0, x' = (−1, −1, 1), ġ = H x' = (−1.78, −2.26, 2.14).
    g0 = 0 at t1 = 0.216/1.78 = 54/445; there a± = −(0.86(±1) + 0.52 + 0.4) = −1.78, −0.06:
    same sign, a crossing; x' = (1, −1, 1), ġ = (−0.06, −1.22, 1.34). g1 = 0 at
    t2 = 10097/27145 ≈ 0.3719654: a± = −(±1.38 − 0.16) = −1.22, 1.54: sliding with the Utkin
    control λ1 = 0.16/1.38 = 8/69, velocity (1, −8/69, 1), ġ0 = 0.39971 > 0 (g0 = −0.015037).
    g0 = 0 at t3 = 251344/613655 ≈ 0.4095852: codimension-2 sliding on J = {0, 1}:
    H_JJ λ_J = H_J2 = (−0.4, −0.36) gives λ_J = (−912, −254)/2291, inside the box, velocity
    (912/2291, 254/2291, 1). x3 moves at unit speed throughout (λ2 = −1), so g2 = 0 only at
    x = 0, t = 2: stationary.
    """
    H = CODIM2_H
    b = np.zeros(3)
    x0 = CODIM2_X0
    t1, t2, t3, t4 = 54 / 445, 10097 / 27145, 251344 / 613655, 2.0
    x1 = np.array([-82 / 89, 7 / 89, -836 / 445])
    x2 = np.array([-18207, -4668, -44193]) / 27145
    x3 = np.array([-388512, -108204, -975966]) / 613655
    x4 = np.zeros(3)
    t_end = 2.5
    events = (
        ExpectedEvent(t1, CROSSING, x1, (0,)),
        ExpectedEvent(t2, SLIDING, x2, (1,)),
        ExpectedEvent(t3, SLIDING, x3, (0,)),
        ExpectedEvent(t4, STATIONARY, x4, (2,)),
    )
    f, grad = _quadratic_objective(H, b)
    return ClosedFormProblem(
        "codim2-quadratic",
        _flow(_quadratic(H, b), "linf"),
        x0,
        (0.0, t_end),
        events,
        _pwl([0.0, t1, t2, t3, t4, t_end], [x0, x1, x2, x3, x4, x4]),
        1,
        True,
        f,
        grad,
        "l1",
        (
            (0.0, t1, np.array([-1.0, -1.0, 1.0])),
            (t1, t2, np.array([1.0, -1.0, 1.0])),
            (t2, t3, np.array([1.0, -8 / 69, 1.0])),
            (t3, t4, np.array([912 / 2291, 254 / 2291, 1.0])),
            (t4, t_end, np.zeros(3)),
        ),
        (
            (0.0, t1, "regular", ()),
            (t1, t2, "regular", ()),
            (t2, t3, "sliding", (1,)),
            (t3, t4, "sliding", (0, 1)),
            (t4, t_end, "stationary", (0, 1, 2)),
        ),
    )


def codim2_quartic(beta: float = 0.01):
    """f = ½xᵀHx + β/4 Σ x_i⁴ (H = CODIM2_H): the same event structure for small β
    (the crossing persists while 3β x0² < 0.06 at the crossing, i.e. β < 0.0236), not
    piecewise affine. Returns (f, grad, hess, make_objective, t1) with t1 the crossing time,
    the root of the cubic g0(x0 + t(−1, −1, 1)) = 0 in the first regular phase.
    """
    from scipy.optimize import brentq

    H = CODIM2_H

    def f(x):
        x = np.asarray(x, float)
        return 0.5 * x @ H @ x + 0.25 * beta * float(np.sum(x**4))

    def grad(x):
        x = np.asarray(x, float)
        return H @ x + beta * x**3

    def hess(x):
        x = np.asarray(x, float)
        return H + np.diag(3.0 * beta * x**2)

    def make_objective():
        import filippov as fp

        return fp.Objective(f, grad, hess, n=3, name="quadratic + quartic")

    v = np.array([-1.0, -1.0, 1.0])
    t1 = brentq(lambda t: grad(CODIM2_X0 + t * v)[0], 0.0, 0.5, xtol=1e-15, rtol=1e-15)
    return f, grad, hess, make_objective, t1


# --------------------------------------------------------------------------------------
# Problem lists used by the parametrized tests
# --------------------------------------------------------------------------------------
def sign_flow_problems() -> list[ClosedFormProblem]:
    return [
        separable_sign_flow(
            [1.0, 2.0, 0.5, 3.0], [0.3, -0.2, 1.0, 0.0], [1.0, 0.3, -1.0, 2.5], 3.0
        ),
        separable_sign_flow(
            [1.0, 3.0, 2.0],
            [0.0, 0.0, 0.25],
            [0.5, -0.5, 1.75],
            2.0,
            name="separable-quadratic-tie",
        ),
        separable_sign_flow([1.0, 1.0], [0.0, 0.0], [1.0, -2.0], 1.5, name="separable-unfinished"),
        slope_problem(0.5),
        slope_problem(2.0),
        codim2_problem(),
    ]


def greedy_problems() -> list[ClosedFormProblem]:
    return [
        greedy_separable([1.0, 2.0, 4.0], [0.5, -1.0, 0.0], [2.0, 0.0, 0.9], 4.0),
        greedy_separable([3.0, 0.5, 1.0, 2.0], [0.0, 1.0, -1.0, 0.5], [-1.0, 3.0, 0.7, 1.4], 8.0),
    ]


def root_on_a_line(
    obj: Any,
    x_s: np.ndarray,
    t_s: float,
    velocity: np.ndarray,
    guard: Callable[[np.ndarray], float],
    t_near: float,
    half_width: float = 1e-6,
) -> float:
    """The time within ``half_width`` of ``t_near`` at which ``guard(∇f(x))`` vanishes on
    the line ``x = x_s + velocity (t − t_s)`` (a mode on which every moving coordinate
    moves at a constant rate), by ``brentq`` to rounding: independent of the paths' curves
    and of their event location."""
    import scipy.optimize

    def value(t: float) -> float:
        return float(guard(obj.grad(x_s + velocity * (t - t_s))))

    lo, hi = t_near - half_width, t_near + half_width
    return float(scipy.optimize.brentq(value, lo, hi, xtol=1e-15))


def _sign_flow_curve(obj: Any, segment: Any) -> tuple[Callable[[float], np.ndarray], Any, Any]:
    """The state of an ℓ∞ sign flow's segment at time ``t`` found independently of the
    paths' curves: free coordinates ``x_F = x_F(t0) − σ_F (t − t0)``, and ``x_S`` by
    ``fsolve`` on ``∇_S f = 0`` from the segment's dense output. Returns ``(at, S, F)``."""
    import scipy.optimize

    sigma = np.asarray(segment.mode.signs, dtype=float)
    S = np.asarray(segment.mode.free, dtype=int)
    F = np.setdiff1d(np.arange(sigma.size), S)
    x_start = segment.dense(np.array([segment.t0]))[0]

    def at(t: float) -> np.ndarray:
        x = x_start.copy()
        x[F] = x_start[F] - sigma[F] * (t - segment.t0)

        def on_curve(y: np.ndarray) -> np.ndarray:
            x[S] = y
            return obj.grad(x)[S]

        def jacobian(y: np.ndarray) -> np.ndarray:
            x[S] = y
            return np.asarray(obj.hess(x))[np.ix_(S, S)]

        if S.size:
            guess = segment.dense(np.array([min(max(t, segment.t0), segment.t1)]))[0][S]
            with warnings.catch_warnings():
                # ("not making good progress": the residual is at rounding already)
                warnings.simplefilter("ignore", RuntimeWarning)
                x[S] = scipy.optimize.fsolve(on_curve, guess, fprime=jacobian, xtol=1e-13)
        return x

    return at, S, F


def sign_flow_exit_time(obj: Any, segment: Any, index: int, t_near: float) -> float:
    """The time near ``t_near`` at which the equivalent control ``|ẋ_index|`` of a sliding
    segment of an ℓ∞ sign flow reaches 1, independent of the paths' curves, tangents and
    event location: the curve's point by `_sign_flow_curve`, its tangent by a dense solve
    of ``H_SS ẋ_S = H_SF σ_F``, and the root of ``1 − |ẋ_index|`` by ``brentq`` to rounding."""
    import scipy.optimize

    at, S, F = _sign_flow_curve(obj, segment)
    sigma = np.asarray(segment.mode.signs, dtype=float)
    k = int(np.flatnonzero(index == S)[0])

    def margin(t: float) -> float:
        H = obj.hess(at(t))
        u = np.linalg.solve(H[np.ix_(S, S)], H[np.ix_(S, F)] @ sigma[F])
        return 1.0 - abs(float(u[k]))

    return float(scipy.optimize.brentq(margin, t_near - 1e-6, t_near + 1e-6, xtol=1e-15))


def sign_flow_entry_time(
    obj: Any, segment: Any, index: int, t_near: float, half_width: float = 1e-6
) -> float:
    """The time within ``half_width`` of ``t_near`` at which ``∂_index f`` vanishes on an ℓ∞
    sign flow's segment (the curve's point by `_sign_flow_curve`), by ``brentq`` to
    rounding: independent of the paths' curves and event location."""
    import scipy.optimize

    at, _, _ = _sign_flow_curve(obj, segment)

    def guard(t: float) -> float:
        return float(obj.grad(at(t))[index])

    lo, hi = t_near - half_width, t_near + half_width
    return float(scipy.optimize.brentq(guard, lo, hi, xtol=1e-15))


def poisson_from_far_away(seed: int) -> tuple[Any, np.ndarray]:
    """A Poisson regression (``filippov.objectives.linear_model``, 10 ≤ d < 40 columns of
    mixed scale and correlation) and a start ``x0 ~ N(0, 9 I)`` far from its minimizer:
    ``exp`` of the linear predictor makes ``|∇f(x0)|`` up to 1e13 while ``|∇f|`` is about
    0.1 later, so that tolerances on the start's scale fail."""
    from filippov.objectives import linear_model

    rng = np.random.default_rng(seed)
    d = int(rng.integers(10, 40))
    m = int(rng.uniform(3, 10) * d)
    corr = float(rng.choice([0.0, 0.5, 0.9]))
    Z, common = rng.normal(size=(m, d)), rng.normal(size=(m, 1))
    A = np.sqrt(1 - corr) * Z + np.sqrt(corr) * common
    A *= rng.uniform(0.3, 3.0, size=d) / np.sqrt(d)
    x_true = rng.normal(size=d) / np.sqrt(d)
    y = rng.poisson(np.exp(np.clip(A @ x_true, -5, 3))).astype(float)
    obj = linear_model(A, y, float(10 ** rng.uniform(-4, -2)), "poisson")
    return obj, rng.normal(scale=3.0, size=d)


def newton_minimizer(obj: Any, n: int) -> np.ndarray:
    """The minimizer by damped Newton from 0 on the dense Hessian (independent of the
    flows, their curves and events)."""
    x = np.zeros(n)
    for _ in range(100):
        step = np.linalg.solve(obj.hess(x), obj.grad(x))
        t = 1.0
        while obj.f(x - t * step) > obj.f(x) - 0.25 * t * float(obj.grad(x) @ step) and t > 1e-10:
            t *= 0.5
        x = x - t * step
        if np.max(np.abs(step)) < 1e-15 * max(1.0, float(np.max(np.abs(x)))):
            break
    return x


def linear_model_near_its_minimizer(
    loss: str, seed: int, noise: float, minimizer: Callable[[Any, int], np.ndarray]
) -> tuple[Any, np.ndarray, np.ndarray]:
    """``(objective, x*, x0)``: a ``linear_model`` (d = 6, m = 30; logistic labels, or
    targets with residuals of size ``noise``), its minimizer by ``minimizer``, and a start
    1e-8 from it, where the gradient is far below the rounding of its O(1) terms."""
    from filippov.objectives import linear_model

    rng = np.random.default_rng(seed)
    d, m = 6, 30
    A = rng.standard_normal((m, d))
    if loss == "logistic":
        y = np.where(rng.uniform(size=m) < 0.5, 1.0, -1.0)
    else:
        y = A @ rng.standard_normal(d) + noise * rng.standard_normal(m)
    obj = linear_model(A, y, 1e-3, loss)
    x_star = minimizer(obj, d)
    return obj, x_star, x_star + 1e-8 * rng.standard_normal(d)


def check_rest_at_the_minimizer(
    sol: Any, x0: np.ndarray, x_star: np.ndarray, speed_norm: float
) -> None:
    """A run that ends at rest at ``x_star`` (to 1e-12 of its size), and not before
    ``‖x0 − x*‖`` in the norm that bounds the flow's speed by 1 (``speed_norm``: ``inf``
    for the sign flow, 1 for the greedy flow)."""
    assert sol.status == 1, sol.message
    scale = max(1.0, float(np.abs(x_star).max()))
    np.testing.assert_allclose(sol.x[-1], x_star, rtol=0, atol=1e-12 * scale)
    t_rest = next(e.t for e in sol.events if e.kind == "stationary")
    distance = float(np.linalg.norm(x0 - x_star, ord=speed_norm))
    assert distance - 1e-14 * scale <= t_rest < sol.t[-1]


def rank_one_factorization(p: int, q: int, seed: int) -> tuple[Any, np.ndarray]:
    """``½‖UVᵀ − M‖²`` for a random rank-1 ``p × q`` matrix ``M`` and rank-1 factors, no
    ridge (every minimizer on a valley ``U → cU, V → V/c``, the Hessian singular there),
    and the library's small random start."""
    from filippov.objectives import matrix_factorization, matrix_factorization_init

    rng = np.random.default_rng(seed)
    M = rng.standard_normal((p, 1)) @ rng.standard_normal((q, 1)).T
    obj = matrix_factorization(M, 1, lam=0.0)
    return obj, matrix_factorization_init((p, q), 1, scale=0.1, seed=seed)
