"""The continuation path's quintic steps: linear models at rtol <= 1e-11 carry the curve's
second derivatives (from the loss's third derivative) and step with quintic Hermite
interpolants.

Checked against what does not share that code: polynomials for the interpolants and the
guards' roots, finite differences of the losses, the cubic steps at a tighter tolerance,
the event path, dense-Hessian Newton for the minimizer, and tangents solved with the
dense Hessian for the second derivatives themselves.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_continuation_path import check_continuity, check_velocities, newton_minimizer

import filippov as fp
import filippov._continuation_path as cp
from filippov.objectives import GLM_LOSSES, GLMLoss, Objective, linear_model, ridge_logistic
from filippov.objectives.library import _THIRD_DERIVATIVES


def _data(loss: str, m: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, d)) / np.sqrt(d)
    z = A @ rng.standard_normal(d)
    if loss == "logistic":
        y = np.where(z + 0.5 * rng.standard_normal(m) > 0, 1.0, -1.0)
    elif loss == "poisson":
        y = rng.poisson(np.exp(0.5 * z)).astype(float)
    else:
        y = z + 0.3 * rng.standard_normal(m)
    return A, y


def _curves(sol: fp.FilippovSolution) -> list[cp.CurveDense]:
    """The continuation modes' dense outputs behind the solution's segments."""
    out = []
    for seg in sol.segments:
        source = seg.dense._store.source() if hasattr(seg.dense, "_store") else None
        if isinstance(source, cp.CurveDense):
            out.append(source)
    return out


# -- the interpolants ------------------------------------------------------------------


def test_quintic_interpolant_reproduces_quintics_and_their_derivatives() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        P = np.polynomial.Polynomial(rng.standard_normal(6))
        t0, h = rng.uniform(-1, 1), rng.uniform(0.01, 2.0)
        ends = (P(t0), P.deriv()(t0), P.deriv(2)(t0), P(t0 + h), P.deriv()(t0 + h))
        data = (*ends, P.deriv(2)(t0 + h), h)
        for s in (-0.7, 0.0, 0.3, 0.5, 1.0, 1.8):  # (beyond the step: the predictors')
            t = t0 + s * h
            scale = 1.0 + abs(P(t)) + abs(P.deriv()(t)) + abs(P.deriv(2)(t))
            assert abs(cp._quintic(*data, s) - P(t)) <= 1e-12 * scale * (1 + abs(s)) ** 5
            assert (
                abs(cp._quintic_slope(*data, s) - P.deriv()(t))
                <= 1e-11 * scale / min(h, 1.0) * (1 + abs(s)) ** 5
            )
            assert (
                abs(cp._quintic_curvature(*data, s) - P.deriv(2)(t))
                <= 1e-10 * scale / min(h, 1.0) ** 2 * (1 + abs(s)) ** 5
            )


def _guard(P: np.polynomial.Polynomial, h: float) -> list[tuple[int, float]]:
    """`_first_roots_quintic` of the one guard ``P(τ)`` on the step ``[0, h]``."""
    d1, d2 = P.deriv(), P.deriv(2)
    return cp._first_roots_quintic(
        *(np.array([v]) for v in (P(0.0), d1(0.0), d2(0.0), P(h), d1(h), d2(h))), h
    )


@settings(max_examples=200, deadline=None)
@given(
    roots=st.lists(st.floats(-1.0, 2.0), min_size=1, max_size=5),
    h=st.floats(0.05, 3.0),
    lead=st.sampled_from([-1.0, 1.0]),
)
def test_quintic_guards_report_their_first_sign_change(
    roots: list[float], h: float, lead: float
) -> None:
    # A polynomial guard of degree <= 5 (positive at the step's start): its interpolant
    # is itself, so the first root reported must be its first root of odd multiplicity
    # in (0, h], from numpy's roots of the same polynomial.
    roots = sorted(roots)
    if np.min(np.diff(roots), initial=1.0) < 1e-3 or min(abs(r) for r in roots) < 1e-3:
        return  # (nearly double roots, or a root at the start: rounding decides)
    if min(abs(r - h) for r in roots) < 1e-3:
        return
    P = lead * np.polynomial.Polynomial.fromroots(roots)
    if P(0.0) < 0:
        P = -P
    inside = [r for r in roots if 0 < r <= h]
    found = _guard(P, h)
    if not inside:
        assert found == []
    else:
        assert len(found) == 1
        np.testing.assert_allclose(found[0][1] * h, inside[0], rtol=0, atol=1e-9 * (1 + h))


def test_a_narrow_dip_between_the_samples_is_found() -> None:
    # Two roots 1e-4 apart between the samples at 0.25 and 0.375 of the step: the
    # interpolant is negative only there (a dip and return), which samples alone miss.
    P = np.polynomial.Polynomial.fromroots([0.3, 0.3001, 1.5, -0.5, 2.0])
    if P(0.0) < 0:
        P = -P
    found = _guard(P, 1.0)
    assert len(found) == 1 and abs(found[0][1] - 0.3) < 1e-9
    # ...and a quintic that comes within 1e-9 of 0 without crossing has no root.
    Q = np.polynomial.Polynomial.fromroots([0.3, 0.3, 1.5, -0.5, 2.0]) + 1e-9
    if Q(0.0) < 0:
        Q = -Q + 2e-9
    assert min(Q(np.linspace(0, 1, 10001))) > 0
    assert _guard(Q, 1.0) == []


# -- the losses' third derivatives -----------------------------------------------------


@pytest.mark.parametrize("name", sorted(GLM_LOSSES))
def test_each_named_loss_has_its_third_derivative(name: str) -> None:
    spec = GLM_LOSSES[name]
    third = _THIRD_DERIVATIVES[spec.second]
    rng = np.random.default_rng(1)
    z = rng.uniform(-4, 4, 50)
    y = {"logistic": np.sign(rng.standard_normal(50)), "poisson": rng.poisson(2.0, 50)}.get(
        name, rng.standard_normal(50)
    ).astype(float)
    step = 1e-5
    fd = (spec.second(z + step, y) - spec.second(z - step, y)) / (2 * step)
    np.testing.assert_allclose(third(z, y), fd, rtol=1e-6, atol=1e-9)


def test_library_objectives_expose_the_third_derivative_and_a_users_loss_does_not() -> None:
    A, y = _data("logistic", 30, 4, 2)
    obj = ridge_logistic(A, y, 0.1)
    assert obj._linear_model is not None
    B, _, _, second, third = obj._linear_model
    z = B @ np.random.default_rng(3).standard_normal(4)
    fd = (second(z + 1e-5) - second(z - 1e-5)) / 2e-5
    np.testing.assert_allclose(third(z), fd, rtol=1e-6, atol=1e-10)
    # (a loss of the user's, here the Cauchy loss: its second derivative's functions are
    # not the library's, so no third derivative is assumed; the library's own functions
    # in a GLMLoss are the library's loss and keep theirs)
    mine = GLMLoss(
        lambda z, y: np.log1p((z - y) ** 2),
        lambda z, y: 2 * (z - y) / (1 + (z - y) ** 2),
        lambda z, y: 2 * (1 - (z - y) ** 2) / (1 + (z - y) ** 2) ** 2,
    )
    user = linear_model(A, y, 0.1, loss=mine)
    assert user._linear_model is not None and user._linear_model[4] is None


# -- runs ------------------------------------------------------------------------------


@pytest.mark.parametrize(("loss", "seed"), [("logistic", 0), ("poisson", 1), ("logcosh", 2)])
def test_quintic_runs_match_the_cubic_steps_the_event_path_and_newton(
    loss: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = 10
    A, y = _data(loss, 6 * d, d, seed)
    obj = linear_model(A, y, 0.05, loss=loss)
    x0 = np.random.default_rng(seed + 10).standard_normal(d)
    system = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(system, x0, (0.0, 200.0), method="continuation", rtol=1e-12, atol=1e-14)
    assert sol.status == 1, sol.message
    curves = _curves(sol)
    assert curves and all(c.AS is not None for c in curves if c.S.size)  # (quintic steps)
    # The cubic steps, 10x tighter (no second derivative involved).
    monkeypatch.setattr(cp, "_QUINTIC_RTOL", 0.0)
    cubic = fp.solve(system, x0, (0.0, 200.0), method="continuation", rtol=1e-13, atol=1e-15)
    assert cubic.status == 1 and all(c.AS is None for c in _curves(cubic))
    events = fp.solve(system, x0, (0.0, 200.0), method="events", rtol=1e-12, atol=1e-14)
    assert events.status == 1
    assert [e.indices for e in sol.events] == [e.indices for e in cubic.events]
    assert [e.indices for e in sol.events] == [e.indices for e in events.events]
    np.testing.assert_allclose(
        [e.t for e in sol.events], [e.t for e in cubic.events], rtol=0, atol=1e-10
    )
    ts = np.linspace(0.0, sol.events[-1].t, 401)
    scale = max(1.0, float(np.abs(sol(ts)).max()))
    np.testing.assert_allclose(sol(ts), cubic(ts), rtol=0, atol=2e-11 * scale)
    np.testing.assert_allclose(sol(ts), events(ts), rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(sol.x[-1], newton_minimizer(obj, d), rtol=0, atol=1e-10)
    check_velocities(obj, sol)
    check_continuity(sol)


def _dense_tangent(obj: Objective, curve: cp.CurveDense, tau: float) -> np.ndarray:
    """``H_SS⁻¹ H_SF σ_F`` at the curve's state at ``tau``, with the dense Hessian."""
    S, sigma = curve.S, curve.sigma
    F = np.flatnonzero(sigma)
    H = obj.hess(curve(np.array([tau]))[0])
    return np.linalg.solve(H[np.ix_(S, S)], H[np.ix_(S, F)] @ sigma[F])


def test_second_derivatives_are_those_of_the_tangents_solved_with_the_dense_hessian() -> None:
    # At a quintic node x(τ) with sliding set S, the tangent is u(τ) = H_SS⁻¹ H_SF σ_F.
    # Its derivative by central differences of tangents solved with the objective's
    # dense Hessian at the curve's states x(τ ± δ) must be the node's stored ẍ_S (the
    # step control would hide a wrong ẍ behind shorter steps: this checks it directly).
    A, y = _data("logistic", 80, 8, 4)
    obj = ridge_logistic(A, y, 0.05)
    x0 = np.random.default_rng(5).standard_normal(8)
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 100.0), method="continuation",
        rtol=1e-12, atol=1e-14,
    )  # fmt: skip
    assert sol.status == 1
    checked = 0
    for curve in _curves(sol):
        if not curve.S.size or curve.AS is None:
            continue
        for i in range(1, curve.ts.size - 1):
            t, delta = curve.ts[i], 1e-4 * (curve.ts[i + 1] - curve.ts[i - 1])
            ahead, behind = (_dense_tangent(obj, curve, t + sign * delta) for sign in (1, -1))
            fd = (ahead - behind) / (2 * delta)
            np.testing.assert_allclose(
                curve.AS[i], fd, rtol=0, atol=1e-5 * max(1.0, float(np.abs(fd).max()))
            )
            u_scale = max(1.0, float(np.abs(curve.US[i]).max()))
            np.testing.assert_allclose(
                curve.US[i], _dense_tangent(obj, curve, t), rtol=0, atol=1e-7 * u_scale
            )
            checked += 1
    assert checked >= 3


def test_quintic_steps_are_fewer_where_modes_are_long(monkeypatch: pytest.MonkeyPatch) -> None:
    # The reason for the quintic steps (not a timing: the steps' count, deterministic):
    # a logistic regression with few, long modes at rtol 1e-12.
    A, y = _data("logistic", 150, 10, 6)
    obj = ridge_logistic(A, y, 0.1)
    x0 = 3.0 * np.random.default_rng(7).standard_normal(10)
    system = fp.steepest_descent_flow(obj, "linf")

    def steps(sol: fp.FilippovSolution) -> int:
        return sum(c.ts.size - 1 for c in _curves(sol))

    kw = {"method": "continuation", "rtol": 1e-12, "atol": 1e-14}
    quintic = fp.solve(system, x0, (0.0, 100.0), **kw)
    monkeypatch.setattr(cp, "_QUINTIC_RTOL", 0.0)
    cubic = fp.solve(system, x0, (0.0, 100.0), **kw)
    assert quintic.status == cubic.status == 1
    assert steps(quintic) * 2 <= steps(cubic), (steps(quintic), steps(cubic))


def test_the_threshold_keeps_looser_runs_cubic() -> None:
    A, y = _data("logistic", 60, 6, 8)
    obj = ridge_logistic(A, y, 0.1)
    x0 = np.random.default_rng(9).standard_normal(6)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 100.0), method="continuation")
    assert sol.status == 1 and all(c.AS is None for c in _curves(sol))


def test_a_curve_pickled_without_second_derivatives_loads_as_cubic() -> None:
    curve = cp.CurveDense(
        np.zeros(2), 0.0, np.array([1.0, 0.0]), np.array([1]), np.array([0.0, 1.0]),
        np.array([[0.0], [1.0]]), np.array([[1.0], [1.0]]),
    )  # fmt: skip
    state = dict(vars(curve))
    del state["AS"]  # (as pickled before the quintic steps)
    old = cp.CurveDense.__new__(cp.CurveDense)
    old.__setstate__(state)
    back = pickle.loads(pickle.dumps(old))
    assert back.AS is None
    np.testing.assert_allclose(back(np.array([0.5])), [[-0.5, 0.5]], atol=1e-15)


def test_a_guard_negative_only_by_rounding_at_the_step_end_is_a_root() -> None:
    # (review) With the end value 1e-18..1e-14 below zero, the expanded polynomial rounds
    # to ≥ 0 at s = 1: the quintic reported no root in 9038 of 20000 such steps, and the
    # cubic raised brentq's "f(a) and f(b) must have different signs" in 27%.
    rng = np.random.default_rng(0)
    for _ in range(2000):
        G0, D0, E0 = rng.uniform(0.1, 10), rng.uniform(-10, 10), rng.uniform(-50, 50)
        D1, E1, G1 = -rng.uniform(0.1, 10), rng.uniform(-50, 50), -(10.0 ** rng.uniform(-18, -14))
        arrays = [np.array([v]) for v in (G0, D0, E0, G1, D1, E1)]
        quintic = cp._first_roots_quintic(*arrays, 1.0)
        cubic = cp._first_roots(arrays[0], arrays[1], arrays[3], arrays[4], 1.0)
        assert len(quintic) == 1 and len(cubic) == 1
        assert 0.0 < quintic[0][1] <= 1.0 and 0.0 < cubic[0][1] <= 1.0


def test_a_bend_at_a_steps_end_is_seen_on_a_far_start(monkeypatch: pytest.MonkeyPatch) -> None:
    # (review) A far start of a ridge logistic regression: a step of 2.22 after one of
    # 4.23 (a ratio the extrapolation's estimate is trusted at) was estimated at 0.78
    # tolerances, but the curve starts to bend at its end (ẍ from −9.8e-6 to −1.1e-4)
    # and the quintic between the nodes was 8770 tolerances off (5.5e-6; status 1, the
    # events and the end state right). The degree-8 defect through the three points'
    # second derivatives sees the bend.
    rng = np.random.default_rng(298163)
    A = rng.standard_normal((31, 4)) / 2.0 * 14.7
    y = np.where(A @ rng.standard_normal(4) + 0.5 * rng.standard_normal(31) > 0, 1.0, -1.0)
    obj = ridge_logistic(A, y, 1.24e-5)
    x0 = np.array([58.07255512021723, 56.29089131206341, -27.807643423330102, -92.6574154874459])
    system = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(system, x0, (0.0, 1e4), method="continuation", rtol=1e-11, atol=1e-13)
    assert sol.status == 1 and any(c.AS is not None for c in _curves(sol))
    monkeypatch.setattr(cp, "_QUINTIC_RTOL", 0.0)
    ref = fp.solve(system, x0, (0.0, 1e4), method="continuation", rtol=1e-13, atol=1e-15)
    ts = np.linspace(0.0, min(sol.t[-1], ref.t[-1]), 20001)
    tol = 1e-11 * float(np.abs(ref(ts)).max()) + 1e-13
    assert float(np.abs(sol(ts) - ref(ts)).max()) <= 3.0 * tol


def test_the_octic_defect_is_the_quintics_error_on_a_degree_8_curve() -> None:
    # The defect's weights (closed form by sympy) against a polynomial of degree 8, whose
    # degree-8 interpolant is itself: the defect is then the quintic's true error at the
    # midpoint; and 0 on a quintic. Step ratios h/hp from 0.01 to 6.7 (a step grows by 4
    # at most; at 1000 the closed form's cancellations leave 6e-3 on a quintic).
    rng = np.random.default_rng(4)
    for hp, h in [(1.0, 1.0), (0.3, 2.0), (5.0, 0.05), (0.5, 2.0), (2.0, 0.4)]:
        for degree in (5, 8):
            polys = [np.polynomial.Polynomial(rng.standard_normal(degree + 1)) for _ in range(2)]

            def point(t: float, polys: list = polys) -> cp._Point:
                return cp._Point(
                    t, np.array([p(t) for p in polys]), np.zeros(2),
                    np.array([p.deriv()(t) for p in polys]), None,
                    a=np.array([p.deriv(2)(t) for p in polys]),
                )  # fmt: skip

            prev, cur, new = point(-hp), point(0.0), point(h)
            quintic_mid = cp._states_at(cur, new, np.arange(2), h, 0.5)
            true_error = np.array([p(0.5 * h) for p in polys]) - quintic_mid
            defect = cp._octic_defect(prev, cur, new, np.arange(2), hp, h)
            scale = sum(float(np.abs(p.coef).sum()) for p in polys) * max(1.0, hp, h) ** 8
            np.testing.assert_allclose(defect, true_error, rtol=0, atol=1e-12 * scale)


def test_the_quintic_dense_output_reproduces_quintics_on_every_piece() -> None:
    # Pieces of different lengths, times at and between the nodes: the dense output of a
    # quintic mode is its data's quintic Hermite interpolant piece by piece (free
    # coordinates linear in t).
    rng = np.random.default_rng(0)
    ts = np.array([0.0, 0.3, 1.0, 1.2])
    polys = [np.polynomial.Polynomial(rng.standard_normal(6)) for _ in range(2)]
    data = [np.array([[p.deriv(k)(t) for p in polys] for t in ts]) for k in range(3)]
    curve = cp.CurveDense(
        np.array([0.5, 0.0, 0.0]), 0.0, np.array([1.0, 0.0, 0.0]), np.array([1, 2]), ts, *data
    )
    tt = np.linspace(0.0, 1.2, 37)
    out = curve(tt)
    expected = np.array([[p(t) for p in polys] for t in tt])
    np.testing.assert_allclose(out[:, 1:], expected, rtol=0, atol=1e-13)
    np.testing.assert_allclose(out[:, 0], 0.5 - tt, rtol=0, atol=1e-15)


def test_quintic_nodes_are_on_the_curve_on_a_far_start() -> None:
    # (review R14) A far start (|x0| ~ 4.5e3) at rtol 1e-13: the corrector took its first
    # correction at the z extrapolated from the last two points, the quintic predictor was
    # so close that this correction was accepted, and z's error (1e-9..1.5e-8 at |z| ~ 5e3)
    # stayed in the state: nodes up to 1.7 tolerances off the curve here (2.7 between
    # them, the cubic's 1.4). Every node's distance to the curve ∇_S f = 0, by a
    # dense-Hessian Newton step, is checked.
    rng = np.random.default_rng(612878)
    A = rng.standard_normal((36, 9)) / 3.0 * 0.827359437259483
    z = A @ rng.standard_normal(9)
    y = np.where(z + 0.5 * rng.standard_normal(36) > 0, 1.0, -1.0)
    obj = linear_model(A, y, 1.7111243792250917e-07, loss="logistic")
    x0 = np.array(
        [1769.43361962, 1864.95018313, 347.37145977, 705.50946118, 4563.6128232,
         271.97239271, 696.21409391, -4558.61996964, 1609.87424118]
    )  # fmt: skip
    rtol, atol = 1e-13, 1e-15
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 1e4), method="continuation",
        rtol=rtol, atol=atol,
    )  # fmt: skip
    assert sol.status == 1, sol.message
    worst = 0.0
    for curve in _curves(sol):
        if not curve.S.size or curve.AS is None:
            continue
        S = curve.S
        for x in curve(curve.ts):
            H = obj.hess(x)
            off = np.linalg.solve(H[np.ix_(S, S)], obj.grad(x)[S])
            worst = max(worst, float(np.abs(off).max()) / (atol + rtol * np.abs(x).max()))
    assert worst <= 1.5, worst  # (1.74 with the extrapolated z; 1.06 without)
