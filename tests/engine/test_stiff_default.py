"""The default integrator, ``"auto"``: DOP853, and Radau in a mode DOP853 finds stiff.

The ℓ2 steepest-descent flow ``x' = −∇f/‖∇f‖`` is stiff near its arrival at ``∇f = 0``
(its Jacobian is about ``H/‖∇f‖``): with DOP853 alone, the flows of ``x⁴/4 + y²/2`` and of
a quadratic of condition 1e4 from ``(1, 0.7)`` ended −1 after 10 000 steps in one mode.
The references are independent of the engine: the ℓ2 flow follows the path of the
gradient flow ``dx/ds = −∇f`` at unit speed, so it arrives at
``T = ∫ ‖∇f(x(s))‖ ds``, a 1-D integral of the gradient flow's closed form (``quad``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.integrate import DOP853, quad, solve_ivp

import filippov as fp
from filippov._stiffness import StiffnessTest
from filippov.engine import EventOptions
from filippov.objectives import Objective

X0 = (1.0, 0.7)


def _quartic() -> Objective:
    return Objective(
        lambda x: x[0] ** 4 / 4 + x[1] ** 2 / 2,
        lambda x: np.array([x[0] ** 3, x[1]]),
        lambda x: np.diag([3 * x[0] ** 2, 1.0]),
    )


def _quartic_arrival() -> float:
    # gradient flow: x' = −x³, y' = −y: x = x0/√(1 + 2 x0² s), y = y0 e^(−s)
    x0, y0 = X0

    def speed(s: float) -> float:
        return float(np.hypot((x0 / np.sqrt(1 + 2 * x0 * x0 * s)) ** 3, y0 * np.exp(-s)))

    pieces = [(0.0, 1.0), (1.0, 50.0), (50.0, np.inf)]
    return sum(quad(speed, a, b, epsabs=0, epsrel=1e-13, limit=500)[0] for a, b in pieces)


def _quadratic_arrival(eigenvalues: tuple[float, ...]) -> float:
    # gradient flow of ½ xᵀ diag(λ) x: x_i = x0_i e^(−λ_i s)
    lam, x0 = np.array(eigenvalues), np.array(X0)

    def speed(s: float) -> float:
        return float(np.linalg.norm(lam * x0 * np.exp(-lam * s)))

    fast = 50.0 / max(eigenvalues)
    return sum(
        quad(speed, a, b, epsabs=0, epsrel=1e-13, limit=500)[0]
        for a, b in [(0.0, fast), (fast, np.inf)]
    )


def _arrival(sol: fp.FilippovSolution) -> float:
    assert sol.status == 1, sol.message
    (stationary,) = [e for e in sol.events if e.kind == "stationary"]
    return stationary.t


@pytest.mark.parametrize("case", ["quartic", "condition 1e4"])
def test_the_default_integrator_arrives_on_a_stiff_l2_flow(case: str) -> None:
    if case == "quartic":
        obj, T = _quartic(), _quartic_arrival()
    else:
        obj, T = Objective.quadratic(np.diag([1.0, 1e4])), _quadratic_arrival((1.0, 1e4))
    sol = fp.solve(fp.steepest_descent_flow(obj, "l2"), X0, (0.0, 5.0))
    assert abs(_arrival(sol) - T) <= 1e-9 * T
    assert sol.method == "events (DOP853, Radau in stiff modes)"
    np.testing.assert_allclose(sol(5.0), [0.0, 0.0], atol=1e-3 if case == "quartic" else 1e-9)
    # (the quartic's minimizer is degenerate: ‖∇f‖ = 1e-10 at x ≈ 5e-4)
    assert float(np.linalg.norm(obj.grad(sol(5.0)))) <= 1e-9


def test_the_default_integrator_arrives_on_a_stiff_l2_lure_relay() -> None:
    # x' = −B h/‖h‖ with h = H x, B = I, given as a Lur'e system (no objective): the
    # same path as the quadratic's flow, finished by Newton steps instead of closed form.
    H = np.diag([1.0, 1e4])
    system = fp.FilippovSystem(np.zeros(2), np.eye(2), lambda x: H @ x, "l2", jac_h=lambda x: H)
    sol = fp.solve(system, X0, (0.0, 5.0))
    T = _quadratic_arrival((1.0, 1e4))
    assert abs(_arrival(sol) - T) <= 1e-9 * T
    assert "Radau" in sol.method


def test_event_options_default_to_auto() -> None:
    obj = Objective.quadratic(np.diag([1.0, 1e4]))
    flow = fp.steepest_descent_flow(obj, "l2")
    sol = fp.solve(flow, X0, (0.0, 5.0), options=EventOptions())
    T = _quadratic_arrival((1.0, 1e4))
    assert abs(_arrival(sol) - T) <= 1e-9 * T


def test_a_non_stiff_l2_flow_stays_on_dop853() -> None:
    # (Radau there costs Jacobians and LU decompositions for nothing: 0.37 s against
    # 0.04 s at condition 10)
    obj = Objective.quadratic(np.diag([1.0, 10.0]))
    sol = fp.solve(fp.steepest_descent_flow(obj, "l2"), X0, (0.0, 5.0))
    T = _quadratic_arrival((1.0, 10.0))
    assert abs(_arrival(sol) - T) <= 1e-9 * T
    assert sol.method == "events (DOP853)" and sol.njev == sol.nlu == 0


def test_a_pole_reached_in_a_stiff_mode_is_still_a_pole() -> None:
    # log(x) + 1e4 y²/2: y is stiff; x reaches the pole of ∇f at x = 0. Radau's Newton
    # iteration fails just before it ("step size less than spacing", status −1); the mode
    # goes on with DOP853, whose step over the pole is named as one (−3). The time: the
    # gradient flow x² = 1 − 2s, y = 0.7 e^(−1e4 s) reaches x = 0 at s = 1/2.
    obj = Objective.from_expr("log(x) + 1e4*y**2/2", ["x", "y"])

    def speed(s: float) -> float:
        return float(np.hypot(1 / np.sqrt(1 - 2 * s), 1e4 * 0.7 * np.exp(-1e4 * s)))

    T = quad(speed, 0, 1e-2, epsabs=0, epsrel=1e-13, limit=500)[0]
    T += quad(speed, 1e-2, 0.5, epsabs=0, epsrel=1e-13, limit=500)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (log(x) evaluated past the pole)
        sol = fp.solve(fp.steepest_descent_flow(obj, "l2"), X0, (0.0, 3.0))
    assert sol.status == -3 and "pole" in sol.message, sol.message
    assert abs(sol.t[-1] - T) <= 1e-9
    assert abs(sol.x[-1, 0]) <= 1e-12


def test_a_stiff_piecewise_mode_goes_on_with_radau() -> None:
    # x' = −1, y' = −1e4 (y − sign x) from (1, 0): crossing at t = 1, then y relaxes to −1.
    lam = 1e4

    def field(x: np.ndarray, signs: tuple[int, ...]) -> np.ndarray:
        return np.array([-1.0, -lam * (x[1] - signs[0])])

    system = fp.PiecewiseSystem(
        field, lambda x: np.array([x[0]]), lambda x: np.array([[1.0, 0.0]]), 2, 1
    )
    sol = fp.solve(system, [1.0, 0.0], (0.0, 2.0))
    assert sol.status == 0, sol.message
    assert "Radau" in sol.method
    assert [e.kind for e in sol.events] == ["crossing"]
    assert abs(sol.events[0].t - 1.0) <= 1e-12
    y1 = 1.0 - np.exp(-lam)
    for t in (2e-4, 0.5, 1.0 + 2e-4, 2.0):
        y = 1.0 - np.exp(-lam * t) if t <= 1 else -1.0 + (y1 + 1.0) * np.exp(-lam * (t - 1))
        np.testing.assert_allclose(sol(t), [1.0 - t, y], atol=1e-8)


@pytest.mark.parametrize(("rate", "stiff"), [(1.0, False), (1e6, True)])
def test_the_stiffness_test_calls_a_fast_decay_stiff(rate: float, stiff: bool) -> None:
    # y' = −rate y on [0, 1] at rtol 1e-10: DOP853's steps are held at h·rate ≈ 6 (its
    # stability boundary) once the transient has decayed, and never at rate 1.
    solver = DOP853(lambda t, y: -rate * y, 0.0, np.array([1.0]), 1.0, rtol=1e-10, atol=1e-12)
    test = StiffnessTest()
    called = False
    for _ in range(2000):
        if solver.status != "running":
            break
        solver.step()
        called = called or test.stiff_after(solver)
    assert called is stiff


def test_rosenbrocks_l2_flow_arrives_on_time() -> None:
    # The valley of (1 − x)² + 100 (y − x²)² is stiff for the ℓ2 flow near its end: DOP853
    # alone took 5.2 s and arrived 6.5e-8 late (status 1; 650 times rtol · T). The
    # reference integrates the gradient flow and its arc length T = ∫ ‖∇f‖ ds with Radau
    # at rtol 1e-12 with the exact Jacobian, to s = 80 (‖∇f‖ decays like e^(−0.4 s)): 7e-12
    # from the value at rtol 1e-13 to s = 200.
    def grad(x: np.ndarray) -> np.ndarray:
        return np.array(
            [-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)]
        )

    def rhs(s: float, z: np.ndarray) -> np.ndarray:
        g = grad(z[:2])
        return np.r_[-g, np.linalg.norm(g)]

    def jac(s: float, z: np.ndarray) -> np.ndarray:
        x, y = z[:2]
        H = np.array([[2 - 400 * (y - 3 * x * x), -400 * x], [-400 * x, 200.0]])
        g = grad(z[:2])
        J = np.zeros((3, 3))
        J[:2, :2] = -H
        J[2, :2] = H @ g / max(float(np.linalg.norm(g)), 1e-300)
        return J

    ref = solve_ivp(rhs, (0, 80), [-1.2, 1.0, 0.0], method="Radau", jac=jac, rtol=1e-12, atol=1e-14)
    T = float(ref.y[2, -1])
    obj = Objective.from_expr("(1 - x)**2 + 100*(y - x**2)**2", ["x", "y"])
    sol = fp.solve(fp.steepest_descent_flow(obj, "l2"), [-1.2, 1.0], (0.0, 10.0))
    assert abs(_arrival(sol) - T) <= 1e-9 * T
    np.testing.assert_allclose(sol(10.0), [1.0, 1.0], atol=1e-12)
