"""The continuation path (``solve(method="continuation")``): ℓ∞ sign flows of smooth objectives.

Checked against independent computations: the minimizer by Newton's method written here,
the exact path's event times on quadratics, the event path's events on logistic
regression; and invariants of the Filippov solution (velocity in F(x), sliding set on
its manifold, continuity, a stationary end) on random objectives.
"""

from __future__ import annotations

import pickle
from collections.abc import Generator
from typing import Any

import numpy as np
import problems as P
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st
from objective_families import degenerate_quartic

import filippov as fp
from filippov.engine import Finished
from filippov.objectives import Objective, ridge_logistic, smooth_max


def newton_minimizer(obj: Objective, n: int) -> np.ndarray:
    """Damped Newton from 0 with a dense Hessian (independent of the path's CG and curves)."""
    x = np.zeros(n)
    for _ in range(100):
        g = obj.grad(x)
        step = np.linalg.solve(obj.hess(x), g)
        t = 1.0
        while obj.f(x - t * step) > obj.f(x) - 0.25 * t * float(g @ step) and t > 1e-8:
            t *= 0.5
        x = x - t * step
        if np.max(np.abs(step)) < 1e-15 * max(1.0, np.max(np.abs(x))):
            break
    return x


def logistic(d: int, m: int, seed: int, lam: float = 0.1) -> Objective:
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, d))
    y = np.where(rng.standard_normal(m) + A[:, 0] > 0, 1.0, -1.0)
    return ridge_logistic(A, y, lam)


def check_velocities(obj: Objective, sol: fp.FilippovSolution) -> None:
    """Velocity in F(x) at sampled times inside segments: |ẋ_i| ≤ 1, ẋ_i = −sign ∂_i f where
    ∂_i f is clearly nonzero, and ∂_i f ≈ 0 for the segment's sliding indices."""
    g_scale = float(np.max(np.abs(obj.grad(sol.x[0]))))
    for seg in sol.segments:
        if seg.kind == "stationary" or seg.t1 - seg.t0 < 1e-6:
            continue
        sliding = np.asarray(seg.mode.free, dtype=int)
        for t in np.linspace(seg.t0, seg.t1, 5)[1:-1]:
            # (at least 1e-9·|t|: on a short segment a smaller difference is mostly rounding)
            dt = max(1e-7 * (seg.t1 - seg.t0), 1e-9 * max(1.0, abs(t)))
            v = (seg.dense(np.array([t + dt]))[0] - seg.dense(np.array([t - dt]))[0]) / (2 * dt)
            x = seg.dense(np.array([t]))[0]
            g = obj.grad(x)
            assert np.all(np.abs(v) <= 1.0 + 1e-5), (t, v)
            clear = np.abs(g) > 1e-6 * g_scale
            np.testing.assert_allclose(v[clear], -np.sign(g[clear]), atol=1e-5)
            if sliding.size:
                assert np.max(np.abs(g[sliding])) <= 1e-8 * g_scale


def check_continuity(sol: fp.FilippovSolution) -> None:
    """Each segment starts where the previous one ended (dense outputs agree at events)."""
    for a, b in zip(sol.segments[:-1], sol.segments[1:], strict=True):
        assert a.t1 == b.t0
        xa = a.dense(np.array([a.t1]))[0]
        xb = b.dense(np.array([b.t0]))[0]
        np.testing.assert_allclose(xa, xb, rtol=0, atol=1e-9 * max(1.0, np.max(np.abs(xa))))


def test_logistic_matches_newton_and_event_path() -> None:
    obj = logistic(8, 40, 3)
    x0 = np.random.default_rng(0).standard_normal(8)
    system = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(system, x0, (0.0, 10.0), method="continuation")
    ref = fp.solve(system, x0, (0.0, 10.0), method="events")
    assert sol.status == 1 and ref.status == 1
    assert sol.method == "continuation"
    x_star = newton_minimizer(obj, 8)
    np.testing.assert_allclose(sol.x[-1], x_star, rtol=0, atol=1e-10)
    assert [e.kind for e in sol.events] == [e.kind for e in ref.events]
    assert [e.indices for e in sol.events] == [e.indices for e in ref.events]
    np.testing.assert_allclose(
        [e.t for e in sol.events], [e.t for e in ref.events], rtol=0, atol=1e-8
    )
    # The dense outputs agree between the events too.
    ts = np.linspace(0.0, sol.events[-1].t, 57)
    np.testing.assert_allclose(sol(ts), ref(ts), rtol=0, atol=1e-8)
    check_velocities(obj, sol)
    check_continuity(sol)


def test_auto_picks_continuation_for_sign_and_greedy_flows_only() -> None:
    obj = logistic(4, 20, 1)
    x0 = np.ones(4)
    assert fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 5.0)).method == "continuation"
    assert fp.solve(fp.steepest_descent_flow(obj, "l1"), x0, (0.0, 5.0)).method == "continuation"
    assert fp.solve(fp.steepest_descent_flow(obj, "l2"), x0, (0.0, 5.0)).method.startswith("events")
    quad = Objective.quadratic(np.diag([1.0, 2.0]), [1.0, -1.0])
    assert fp.solve(fp.steepest_descent_flow(quad, "linf"), [1.0, 1.0], (0.0, 5.0)).method == (
        "exact"
    )


@pytest.mark.parametrize("seed", [3, 9, 37])
def test_quadratic_event_times_match_exact_path(seed: int) -> None:
    """Crossings and exits included (these seeds have both): the exact path's event times."""
    rng = np.random.default_rng(seed)
    Q = rng.standard_normal((4, 4))
    H = Q @ Q.T + 0.1 * np.eye(4)
    b = rng.standard_normal(4)
    x0 = 2.0 * rng.standard_normal(4)
    system = fp.steepest_descent_flow(Objective.quadratic(H, b), "linf")
    exact = fp.solve(system, x0, (0.0, 30.0), method="exact")
    sol = fp.solve(system, x0, (0.0, 30.0), method="continuation")
    assert sol.status == exact.status == 1
    kinds = [e.kind for e in exact.events]
    assert "exit" in kinds or "crossing" in kinds
    assert [e.kind for e in sol.events] == kinds
    assert [e.indices for e in sol.events] == [e.indices for e in exact.events]
    np.testing.assert_allclose(
        [e.t for e in sol.events], [e.t for e in exact.events], rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(sol.x[-1], np.linalg.solve(H, -b), rtol=0, atol=1e-10)
    ts = np.linspace(0.0, exact.events[-1].t, 41)
    np.testing.assert_allclose(sol(ts), exact(ts), rtol=0, atol=1e-8)


def test_end_of_span_before_stationary() -> None:
    obj = logistic(5, 25, 2)
    x0 = np.full(5, 2.0)
    system = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(system, x0, (0.0, 0.3), method="continuation")
    ref = fp.solve(system, x0, (0.0, 0.3), method="events")
    assert sol.status == 0 and sol.t[-1] == 0.3
    np.testing.assert_allclose(sol.x[-1], ref.x[-1], rtol=0, atol=1e-9)


def test_solution_pickles() -> None:
    obj = logistic(4, 20, 5)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), np.ones(4), (0.0, 5.0))
    back = pickle.loads(pickle.dumps(sol))
    ts = np.linspace(0.0, 5.0, 11)
    np.testing.assert_array_equal(back(ts), sol(ts))


def test_unsupported_systems_are_refused() -> None:
    obj = logistic(3, 10, 0)
    with pytest.raises(ValueError, match="continuation"):
        fp.solve(fp.steepest_descent_flow(obj, "l2"), np.ones(3), (0.0, 1.0), method="continuation")
    two_field = fp.FilippovSystem(
        lambda x: np.array([1.0, 0.0]),
        lambda x: np.eye(2)[:, :1],
        lambda x: x[:1],
        norm="l1",
        jac_h=lambda x: np.eye(2)[:1],
    )
    with pytest.raises(ValueError, match="continuation"):
        fp.solve(two_field, [1.0, 0.0], (0.0, 1.0), method="continuation")


@pytest.mark.parametrize(
    ("field", "value", "error", "match"),
    [
        ("rtol", -1.0, ValueError, "`rtol` must be a positive finite number. Got -1.0"),
        ("rtol", 0.0, ValueError, "`rtol` must be a positive finite number. Got 0.0"),
        ("rtol", float("nan"), ValueError, "`rtol` must be a positive finite number. Got nan"),
        ("atol", float("inf"), ValueError, "`atol` must be a positive finite number. Got inf"),
        ("atol", -1e-12, ValueError, "`atol` must be a positive finite number. Got -1e-12"),
        ("zero_tol", float("nan"), ValueError, "`zero_tol` must be a non-negative finite"),
        ("zero_tol", -1e-3, ValueError, "`zero_tol` must be a non-negative finite"),
        ("zero_tol", 2.0, ValueError, "`zero_tol` must be a small relative tolerance < 1"),
        ("rtol", "1e-8", TypeError, "`rtol` must be a positive number. Got '1e-8'"),
        ("zero_tol", None, TypeError, "`zero_tol` must be a non-negative number. Got None"),
    ],
)
def test_continuation_options_refuse_bad_values(
    field: str, value: object, error: type, match: str
) -> None:
    """Options given whole reach the path unchecked by ``solve`` (it validates its keywords
    only): the dataclass itself refuses a bad field, naming it and the value, both when
    built and when passed to ``solve``."""
    with pytest.raises(error, match=match):
        fp.engine.ContinuationOptions(**{field: value})
    obj = logistic(3, 10, 0)
    system = fp.steepest_descent_flow(obj, "linf")
    with pytest.raises(error, match=match):
        fp.solve(
            system,
            np.ones(3),
            (0.0, 1.0),
            method="continuation",
            options=fp.engine.ContinuationOptions(**{field: value}),
        )


def test_continuation_options_accept_the_edges_of_their_ranges() -> None:
    """A zero ``zero_tol`` (the path floors it at 64 eps) and tiny positive tolerances are
    valid; the fields keep the values given."""
    opts = fp.engine.ContinuationOptions(rtol=1e-14, atol=1e-300, zero_tol=0.0)
    assert (opts.rtol, opts.atol, opts.zero_tol) == (1e-14, 1e-300, 0.0)
    obj = logistic(3, 10, 0)
    system = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(
        system,
        np.ones(3),
        (0.0, 5.0),
        method="continuation",
        options=fp.engine.ContinuationOptions(zero_tol=0.0),
    )
    assert sol.status == 1
    np.testing.assert_allclose(sol.x[-1], newton_minimizer(obj, 3), rtol=0, atol=1e-10)


def test_auto_falls_back_to_the_event_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the continuation gives up (no positive definite sliding block: status −4),
    ``auto`` runs the event path from the start; an explicit method does not fall back."""
    from filippov import _continuation_path

    obj = logistic(3, 12, 4)
    system = fp.steepest_descent_flow(obj, "linf")
    x0 = np.array([1.0, -0.5, 0.25])
    events = fp.solve(system, x0, (0.0, 5.0), method="events")

    def refuse(*args: object) -> Generator[None, None, Finished]:
        return Finished(-4, "the sliding block is not positive definite")
        yield  # (a generator that ends at once)

    monkeypatch.setattr(_continuation_path, "_steps", refuse)
    auto = fp.solve(system, x0, (0.0, 5.0))
    assert auto.method.startswith("events")
    np.testing.assert_array_equal(auto.x[-1], events.x[-1])
    assert [e.t for e in auto.events] == [e.t for e in events.events]
    forced = fp.solve(system, x0, (0.0, 5.0), method="continuation")
    assert forced.status == -4 and "positive definite" in forced.message


@pytest.mark.parametrize("d", [3, 12])  # generic products; a linear model's columns
def test_event_location_failure_is_reported_in_the_solutions_time(
    monkeypatch: pytest.MonkeyPatch, d: int
) -> None:
    """A corrector that fails while an event is located (forced here after the first
    mode) ends the run with status −1, the partial solution, and a message giving the
    solution's time t (the span starts at 3), not the time inside the mode."""
    from filippov import _continuation_path

    real = _continuation_path._Mode.correct
    monkeypatch.setattr(_continuation_path, "_DIRECT_SIZE", 0 if d == 12 else 4096)

    modes: list[object] = []

    def fails_in_the_second_mode(
        self: object, tau: float, xs: np.ndarray, *a: object, **kw: object
    ):  # type: ignore[no-untyped-def]
        if self not in modes:
            modes.append(self)
        if kw.get("fresh") and len(modes) > 1:
            return None
        return real(self, tau, xs, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(_continuation_path._Mode, "correct", fails_in_the_second_mode)
    obj = logistic(d, 5 * d, 2)
    x0 = np.random.default_rng(3).uniform(-2, 2, d)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (3.0, 60.0), method="continuation")
    assert sol.status == -1, sol.message
    assert "locating an event near t = " in sol.message
    t_msg = float(sol.message.split("near t = ")[1].split()[0].rstrip(",;"))
    # After the first event and within the partial solution's last segment's step.
    assert sol.events and 3.0 < sol.events[-1].t <= sol.t[-1] <= t_msg <= 60.0


@settings(derandomize=True, deadline=None, max_examples=10)
@given(
    d=st.integers(2, 6),
    ratio=st.integers(2, 6),
    seed=st.integers(0, 2**31 - 1),
    lam=st.sampled_from([0.01, 0.1, 1.0]),
)
def test_random_logistic_invariants(d: int, ratio: int, seed: int, lam: float) -> None:
    obj = logistic(d, ratio * d, seed, lam)
    x0 = np.random.default_rng(seed + 1).uniform(-2, 2, d)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 60.0), method="continuation")
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol.x[-1], newton_minimizer(obj, d), rtol=0, atol=1e-9)
    check_velocities(obj, sol)
    check_continuity(sol)
    assert sol.events[-1].kind == "stationary"


@settings(derandomize=True, deadline=None, max_examples=6)
@given(
    d=st.integers(2, 5),
    m=st.integers(2, 8),
    seed=st.integers(0, 2**31 - 1),
    temperature=st.sampled_from([0.3, 1.0]),
)
def test_random_log_sum_exp_plus_quadratic(d: int, m: int, seed: int, temperature: float) -> None:
    rng = np.random.default_rng(seed)
    obj = smooth_max(rng.standard_normal((m, d)), rng.standard_normal(m), 0.5, temperature)
    x0 = rng.uniform(-2, 2, d)
    system = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(system, x0, (0.0, 60.0), method="continuation")
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol.x[-1], newton_minimizer(obj, d), rtol=0, atol=1e-9)
    check_velocities(obj, sol)
    check_continuity(sol)
    ref = fp.solve(system, x0, (0.0, 60.0), method="events")
    assert [e.kind for e in sol.events] == [e.kind for e in ref.events]
    np.testing.assert_allclose(
        [e.t for e in sol.events], [e.t for e in ref.events], rtol=0, atol=1e-7
    )


def _logcosh_chain(kind: str) -> tuple[Objective, np.ndarray]:
    """``Σ log cosh(x_i − c_i) + ½ xᵀTx`` with T tridiagonal, Hessian as ``kind``."""
    import scipy.sparse
    import scipy.sparse.linalg

    n = 7
    c = np.linspace(-1.0, 1.0, n)
    T = scipy.sparse.diags(
        [np.full(n - 1, -0.4), np.full(n, 1.0), np.full(n - 1, -0.4)], [-1, 0, 1]
    )
    T = scipy.sparse.csr_array(T)

    def f(x: np.ndarray) -> float:
        return float(np.sum(np.log(np.cosh(x - c))) + 0.5 * x @ (T @ x))

    def grad(x: np.ndarray) -> np.ndarray:
        return np.tanh(x - c) + T @ x

    def hess(x: np.ndarray) -> object:
        H = scipy.sparse.diags(1.0 / np.cosh(x - c) ** 2) + T
        if kind == "sparse":
            return scipy.sparse.csr_array(H)
        return scipy.sparse.linalg.aslinearoperator(H)

    def dense_hess(x: np.ndarray) -> np.ndarray:
        return np.diag(1.0 / np.cosh(x - c) ** 2) + T.toarray()

    return Objective(f, grad, hess, n=n, name=f"logcosh chain ({kind})"), dense_hess


@pytest.mark.parametrize("kind", ["sparse", "operator"])
def test_sparse_and_operator_hessians(kind: str) -> None:
    obj, dense_hess = _logcosh_chain(kind)
    x = np.linspace(0.3, -0.2, 7)
    v = np.arange(7.0)
    np.testing.assert_allclose(obj.hvp(x, v), dense_hess(x) @ v, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(obj.hess_rows(x, [4, 1]), dense_hess(x)[[4, 1]], atol=1e-15)
    np.testing.assert_allclose(obj.hess(x), dense_hess(x), atol=1e-15)
    x0 = np.full(7, 2.0)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 20.0), method="continuation")
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol.x[-1], newton_minimizer(obj, 7), rtol=0, atol=1e-10)
    check_velocities(obj, sol)


def test_end_check_finds_a_jump_among_many_smooth_components_with_one_pair_of_gradients():
    # The end-of-run check reads h_i = 0 as a zero only where h_i is smooth. It first
    # tests every index with one shared pair of evaluations and sends only the failures to
    # the per-index test: a kink |x_2| (its gradient jumps by 1 across 0, read as 0 by
    # np.sign) must be among them, and the smooth components must not.
    from filippov._certify import _rough_candidates

    calls = []

    def grad(x):
        calls.append(1)
        return x + 0.5 * np.sign(x) * (np.arange(x.size) == 2)

    obj = Objective(
        lambda x: 0.5 * float(x @ x) + 0.5 * abs(x[2]), grad, lambda x: np.eye(x.size), n=6
    )
    system = fp.steepest_descent_flow(obj, "linf")
    x = np.zeros(6)
    idx = np.arange(6)
    calls.clear()
    rough = _rough_candidates(system, idx, x, np.eye(6), np.ones(6))
    assert rough.tolist() == [2]
    assert len(calls) == 2
    # smooth everywhere (a quadratic): nobody is sent on
    smooth = fp.steepest_descent_flow(Objective.quadratic(np.diag(np.arange(1.0, 7.0))), "linf")
    assert (
        _rough_candidates(smooth, idx, x + 0.3, np.diag(np.arange(1.0, 7.0)), np.ones(6)).size == 0
    )


def test_cg_sized_logistic_no_dense_hessian_and_few_products_per_event():
    # d = 80: the sliding blocks outgrow the direct factorization (|S|·n > 4096), so the
    # CG solves, the bordered factor and the selection's warm start all run. One dense
    # Hessian only (the end-of-run check's per-component scales), and a bound on the work
    # per event: the previous version took 65 gradients and products per event here, this
    # one 43 (a regression to the old step control or cold CG starts fails this).
    d = 80
    obj = logistic(d, 5 * d, 5)
    dense = []
    raw_hess = obj._hess
    obj._hess = lambda x: (dense.append(1), raw_hess(x))[1]
    x0 = np.random.default_rng(1).standard_normal(d)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 50.0), method="continuation")
    assert sol.status == 1 and len(sol.events) == d + 1
    assert len(dense) == 1
    assert (sol.nfev + sol.njev) / len(sol.events) <= 55
    obj._hess = raw_hess
    np.testing.assert_allclose(sol.x[-1], newton_minimizer(obj, d), rtol=0, atol=1e-10)
    check_velocities(obj, sol)
    check_continuity(sol)


def test_tight_tolerances_solve_tangents_tightly_enough_for_the_step_control():
    # At rtol 1e-13 the tangents (the selection's at a mode's start, the steps' own) were
    # still solved to a relative residual of 1e-8: their error put the first steps of most
    # modes a few tolerances off at the midpoint, an error falling only like h, and the
    # step control (expecting order 6) shrank each try by a few percent: 100 gradients and
    # products per event here, trajectory errors 2-3 times larger. With tangents to
    # `tangent_rtol(rtol)`: 51.
    d = 80
    obj = logistic(d, 5 * d, 5)
    x0 = np.random.default_rng(1).standard_normal(d)
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"),
        x0,
        (0.0, 50.0),
        method="continuation",
        rtol=1e-13,
        atol=1e-15,
    )
    assert sol.status == 1 and len(sol.events) == d + 1
    assert (sol.nfev + sol.njev) / len(sol.events) <= 70
    np.testing.assert_allclose(sol.x[-1], newton_minimizer(obj, d), rtol=0, atol=1e-12)
    check_velocities(obj, sol)
    check_continuity(sol)


def test_last_entry_onto_a_stationary_point_at_the_origin():
    # The last entry is located "to rounding"; its corrector's test was relative to the
    # state alone, which converges to 0 here (the minimizer is the origin), so it never
    # ended and the run failed with −1. x0 = 1 reaches 0 at unit speed: t = 1.
    obj = Objective.from_expr("0.5*(x0 - 0.3*x1)**2 + cosh(x1 - x2) + x2**2", ["x0", "x1", "x2"])
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"), [1.0, -0.5, 0.3], (0.0, 3.0), method="continuation"
    )
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol.x[-1], 0.0, rtol=0, atol=1e-12)
    assert abs(sol.events[-1].t - 1.0) <= 1e-12


def test_codim2_quartic_matches_the_event_path():
    # A crossing, then two manifolds held at once, then the stationary point at the origin
    # (the previous version failed there with −1 and "auto" fell back to the event path).
    _f, _grad, _hess, make_objective, t1 = P.codim2_quartic(0.01)
    system = fp.steepest_descent_flow(make_objective(), "linf")
    sol = fp.solve(system, P.CODIM2_X0, (0.0, 2.5))
    ref = fp.solve(system, P.CODIM2_X0, (0.0, 2.5), method="events")
    assert sol.method == "continuation" and sol.status == ref.status == 1
    assert [(e.kind, e.indices) for e in sol.events] == [(e.kind, e.indices) for e in ref.events]
    assert abs(sol.events[0].t - t1) <= 1e-8
    np.testing.assert_allclose(
        [e.t for e in sol.events], [e.t for e in ref.events], rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(sol.x[-1], 0.0, rtol=0, atol=1e-12)
    ts = np.linspace(0.0, 2.5, 51)
    np.testing.assert_allclose(sol(ts), ref(ts), rtol=0, atol=1e-8)


def test_linear_model_columns_match_the_generic_products():
    # ridge_logistic exposes its data (a generalized linear model): the path then takes its
    # products on the sliding columns only, sums H[y; 0] in sample space, keeps z = Bx
    # affine along a mode and preconditions with the factor's explicit inverse (|S| > 64
    # here). The same objective as plain callables (no data exposed) runs the generic
    # products: events, dense outputs and the end state must agree, and the fast run must
    # not call the objective's own hvp or Hessian rows at all.
    d = 90
    obj = logistic(d, 4 * d, 11)
    plain = Objective(obj.f, obj.grad, obj.hess, hvp=obj.hvp, n=d)
    assert obj._linear_model is not None and plain._linear_model is None
    calls = []
    raw_hvp, raw_rows = obj._hvp, obj._hess_rows
    obj._hvp = lambda x, v: (calls.append("hvp"), raw_hvp(x, v))[1]
    obj._hess_rows = lambda x, r: (calls.append("rows"), raw_rows(x, r))[1]
    x0 = np.random.default_rng(2).standard_normal(d)
    system = fp.steepest_descent_flow(obj, "linf")
    # (without the up-front derivative check, which calls hvp itself)
    fast = fp.solve(system, x0, (0.0, 50.0), method="continuation", check_derivatives=False)
    assert calls == []
    obj._hvp, obj._hess_rows = raw_hvp, raw_rows
    ref = fp.solve(fp.steepest_descent_flow(plain, "linf"), x0, (0.0, 50.0), method="continuation")
    assert fast.status == ref.status == 1 and len(fast.events) == d + 1
    assert [e.kind for e in fast.events] == [e.kind for e in ref.events]
    assert [e.indices for e in fast.events] == [e.indices for e in ref.events]
    np.testing.assert_allclose(
        [e.t for e in fast.events], [e.t for e in ref.events], rtol=0, atol=1e-9
    )
    ts = np.linspace(0.0, fast.events[-1].t, 41)
    np.testing.assert_allclose(fast(ts), ref(ts), rtol=0, atol=1e-9)
    x_star = newton_minimizer(obj, d)
    for _ in range(2):  # (its damped steps may stop at 1e-10 here: polished by plain ones)
        x_star = x_star - np.linalg.solve(obj.hess(x_star), obj.grad(x_star))
    np.testing.assert_allclose(fast.x[-1], x_star, rtol=0, atol=1e-12)
    check_velocities(obj, fast)


def test_linear_model_block_solves_products_and_inverse_against_dense_algebra():
    # The sliding block on a linear model's columns against the dense Hessian: the column
    # view after indices join in any order, CG solves and the full product H[y; 0] summed
    # lazily, the bordered single-precision inverse against H_SS, and a refresh's.
    from filippov import _continuation_path as cp
    from filippov._recorder import Recorder

    d, m = 120, 300
    obj = logistic(d, m, 4)
    rng = np.random.default_rng(9)
    x = 0.3 * rng.standard_normal(d)
    H = obj.hess(x)
    block = cp._Block(obj, d, Recorder(0.0, x, "continuation"))
    assert block.lm is not None
    B = block.lm.B
    order = rng.permutation(d)
    block.set(x, order[:70])
    for j in order[70:100].tolist():  # bordered steps of the inverse
        block.add(x, j)
    S = block.S
    np.testing.assert_array_equal(S, order[:100])
    np.testing.assert_array_equal(block.lm.columns(S), B[:, S])
    # Bᵀ r + λv on the free indices alone (the guards' rates), given values on S.
    r_m = rng.standard_normal(m)
    v = rng.standard_normal(d)
    expected = B.T @ r_m + block.lm.lam * v
    expected[S] = 7.0
    np.testing.assert_allclose(block.lm.back_free(r_m, S, v, 7.0), expected, rtol=1e-13, atol=1e-13)
    r = rng.standard_normal(S.size)
    # A large block's preconditioner is the inverse alone, in single precision (factored
    # and inverted at the refresh, bordered as indices join): its matrix is H_SS at x
    # (every index joined at the same point) to single precision's level, and it is
    # applied as that inverse.
    assert block.single is not None and block.single.dtype == np.float32
    assert block.size == S.size and block.L.size == 0
    M = block.single.astype(np.float64)
    np.testing.assert_allclose(
        block.precondition(r), M @ r, rtol=0, atol=1e-5 * np.abs(M @ r).max()
    )
    scale = float(np.max(np.abs(H)))
    np.testing.assert_allclose(np.linalg.inv(M), H[np.ix_(S, S)], rtol=0, atol=3e-5 * scale)
    b = rng.standard_normal(S.size)
    y = block.solve(x, b, rtol=1e-12)
    np.testing.assert_allclose(y, np.linalg.solve(H[np.ix_(S, S)], b), rtol=1e-10)
    full = np.zeros(d)
    full[S] = y
    np.testing.assert_allclose(block.last_product, H @ full, rtol=0, atol=1e-12)
    # A block set in another order: the columns are swapped into it.
    S2 = np.sort(order[:50])
    block.set(x + 0.1, S2)
    np.testing.assert_array_equal(block.lm.columns(S2), B[:, S2])
    H2 = obj.hess(x + 0.1)
    # (|S| = 50: a double-precision factor of the single-precision block)
    assert block.single is None
    np.testing.assert_allclose(block.L @ block.L.T, H2[np.ix_(S2, S2)], rtol=0, atol=3e-5 * scale)
    # A small block (|S|·n ≤ 4096) is factored exactly: its solve is the factor's.
    block.set(x, order[:20])
    S3 = block.S
    np.testing.assert_allclose(
        block.solve(x, b[:20]), np.linalg.solve(H[np.ix_(S3, S3)], b[:20]), rtol=1e-12
    )
    np.testing.assert_allclose(block.hvp_full(x, full), H @ full, rtol=0, atol=1e-12)
    np.testing.assert_allclose(block.grad(x), obj.grad(x), rtol=0, atol=1e-14)


def test_quartic_slope_is_fourth_order_on_an_analytic_curve():
    # The end slope of a mode's last step without a tangent solve: the derivative of the
    # quartic through two states with tangents and the new state, against the curve's own
    # derivative, for equal and unequal steps; halving the steps divides the error by
    # about 2⁴ (a wrong coefficient leaves an O(1) or O(h) error).
    from filippov import _continuation_path as cp

    def curve(t: float) -> np.ndarray:
        return np.array([np.sin(t), np.exp(0.3 * t), np.log1p(t * t)])

    def slope(t: float) -> np.ndarray:
        return np.array([np.cos(t), 0.3 * np.exp(0.3 * t), 2 * t / (1 + t * t)])

    S = np.arange(3)
    for ratio in (0.5, 1.0, 1.7):
        errors = []
        for hp in (0.08, 0.04, 0.02):
            # (the middle point fixed: the error's constant is the curve's there)
            tp, tc, tn = 0.9 - hp, 0.9, 0.9 + ratio * hp
            prev = cp._Point(tp, curve(tp), np.zeros(3), slope(tp), None)
            cur = cp._Point(tc, curve(tc), np.zeros(3), slope(tc), None)
            estimate = cp._quartic_slope(prev, cur, tn, curve(tn), S)
            errors.append(np.abs(estimate - slope(tn)).max())
        assert errors[0] < 1e-4
        assert 14.0 < errors[0] / errors[1] < 18.0 and 14.0 < errors[1] / errors[2] < 18.0


@pytest.mark.parametrize(("hp", "h"), [(1.0, 1.0), (0.3, 1.7), (2e-3, 5e-2), (4.0, 0.01)])
def test_quintic_check_is_exact_on_quintics_and_measures_the_cubics_midpoint_error(hp, h):
    # The quintic check's defect (quintic Hermite through three points, minus the cubic
    # through the last two, at the last step's midpoint) is, on a curve that is a quintic
    # polynomial, the cubic interpolant's true error there: computed here from the
    # polynomial itself (numpy's polynomial class), not from the weights.
    from filippov import _continuation_path as cp

    rng = np.random.default_rng(7)
    polys = [np.polynomial.Polynomial(rng.standard_normal(6)) for _ in range(3)]

    def point(t: float) -> cp._Point:
        x = np.array([p(t) for p in polys])
        u = np.array([p.deriv()(t) for p in polys])
        return cp._Point(t, x, np.zeros(3), u, None)

    prev, cur, new = point(-hp), point(0.0), point(h)
    cubic_mid = cp._hermite(cur.x, cur.u, new.x, new.u, h, 0.5)
    true_error = np.array([p(0.5 * h) for p in polys]) - cubic_mid
    defect = cp._quintic_defect(prev, cur, new, np.arange(3), hp, h)
    scale = max(1.0, float(np.abs(cubic_mid).max()))
    np.testing.assert_allclose(defect, true_error, rtol=0, atol=1e-13 * scale)


@pytest.mark.parametrize("linear_model", [True, False])
def test_mode_ends_without_tangent_solves_match_a_tight_run(
    linear_model: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A mode's last step (an entry is certain: a guard is negative at its end) and its
    # entry point take their tangents from interpolation, not from a solve. The dense
    # output and the event times must still be those of a run 1000x tighter, to the
    # default tolerances; and the shortcut must have been taken (else this tests nothing).
    from filippov import _continuation_path as cp

    d = 60 if linear_model else 30  # (the generic products are slower per event)
    obj = logistic(d, 5 * d, 11)
    if not linear_model:
        obj = Objective(obj.f, grad=obj.grad, hess=obj.hess, hvp=obj.hvp)
    x0 = np.random.default_rng(2).standard_normal(d)
    system = fp.steepest_descent_flow(obj, "linf")
    taken = {"quartic": 0, "entry": 0}
    real_quartic, real_entry = cp._quartic_slope, cp._entry_point

    def quartic(*args: object) -> np.ndarray:
        taken["quartic"] += 1
        return real_quartic(*args)  # type: ignore[arg-type]

    def entry(*args: object) -> object:
        p = real_entry(*args)  # type: ignore[arg-type]
        taken["entry"] += p is not None
        return p

    monkeypatch.setattr(cp, "_quartic_slope", quartic)
    monkeypatch.setattr(cp, "_entry_point", entry)
    sol = fp.solve(system, x0, (0.0, 50.0), method="continuation", check_derivatives=False)
    monkeypatch.setattr(cp, "_quartic_slope", real_quartic)
    monkeypatch.setattr(cp, "_entry_point", real_entry)
    assert taken["quartic"] >= 5 and taken["entry"] >= d // 2
    ref = fp.solve(
        system,
        x0,
        (0.0, 50.0),
        method="continuation",
        rtol=1e-13,
        atol=1e-15,
        check_derivatives=False,
    )
    assert sol.status == ref.status == 1 and len(sol.events) == len(ref.events) == d + 1
    ts = np.array([e.t for e in sol.events])
    np.testing.assert_allclose(ts, [e.t for e in ref.events], rtol=0, atol=1e-9)
    # A grid, plus points just before each event (the pieces the shortcut interpolates).
    grid = np.unique(np.r_[np.linspace(0.0, ts[-1], 400), ts[1:] - 1e-4 * np.diff(ts)])
    scale = float(np.abs(x0).max())
    np.testing.assert_allclose(sol(grid), ref(grid), rtol=0, atol=1e-9 * scale)
    check_velocities(obj, sol)
    check_continuity(sol)


def test_entries_on_a_linear_model_take_one_corrector_solve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # After an entry's first corrector solve, at the root of the guard's interpolant, the
    # Newton iterates move the solved point along the step's tangent and measure the
    # guard there (`_Shift`, O(m) on a linear model) instead of solving again: about one
    # solve per entry, where the solves alone took two. The events must be the solves'
    # to 1e-12 (the moves' guard is the same function of τ) and a run 1000x tighter's to
    # the default tolerances, with the arrived partial at 0 at each entry's state.
    from filippov import _continuation_path as cp

    d = 60
    obj = logistic(d, 5 * d, 11)
    x0 = np.random.default_rng(2).standard_normal(d)
    system = fp.steepest_descent_flow(obj, "linf")
    count = {"solves": 0, "entries": 0}
    real_state, real_refine = cp._curve_state, cp._refine_entry

    def state(*args: object, **kw: object) -> object:
        count["solves"] += 1
        return real_state(*args, **kw)  # type: ignore[arg-type]

    def refine(*args: object) -> object:
        count["entries"] += 1
        return real_refine(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(cp, "_curve_state", state)
    monkeypatch.setattr(cp, "_refine_entry", refine)

    def run(**kw: object) -> tuple[fp.FilippovSolution, float]:
        count.update(solves=0, entries=0)
        sol = fp.solve(system, x0, (0.0, 50.0), method="continuation", **kw)  # type: ignore[arg-type]
        return sol, count["solves"] / count["entries"]

    sol, per_entry = run(check_derivatives=False)
    assert sol.status == 1 and len(sol.events) == d + 1
    assert per_entry <= 1.1, per_entry
    monkeypatch.setattr(cp._Shift, "at", lambda self, tau, j: None)
    solved, solved_per_entry = run(check_derivatives=False)
    assert solved_per_entry >= 1.8  # (else the comparison tests nothing)
    assert [(e.kind, e.indices) for e in sol.events] == [(e.kind, e.indices) for e in solved.events]
    ts = np.array([e.t for e in sol.events])
    np.testing.assert_allclose(ts, [e.t for e in solved.events], rtol=1e-12, atol=0)
    ref, _ = run(rtol=1e-13, atol=1e-15, check_derivatives=False)
    np.testing.assert_allclose(ts, [e.t for e in ref.events], rtol=0, atol=1e-9)
    grid = np.unique(np.r_[np.linspace(0.0, ts[-1], 400), ts[1:] - 1e-4 * np.diff(ts)])
    np.testing.assert_allclose(sol(grid), ref(grid), rtol=0, atol=1e-9 * np.abs(x0).max())
    # (the moves' entries: not the last, onto the stationary point, whose corrector is
    # tight and solves alone)
    for e in sol.events:
        if e.kind == "sliding-entry" and e.t < ts[-1]:
            g = obj.grad(np.asarray(e.x, dtype=float))
            assert np.abs(g[list(e.indices)]).max() <= 1e-8 * np.abs(g).max(), (e.t, e.indices)
    check_velocities(obj, sol)
    check_continuity(sol)


def test_sample_space_predictions_are_b_times_the_predicted_states(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On a linear model the correctors of the steps start from z = B x at the predicted
    # state interpolated in sample space (from the points' z and B ẋ), not from a pass
    # over the sliding columns. Every such z must be B x_pred to the tolerance's level
    # (a wrong sign of B σ in B ẋ, or a z of the wrong point, is off by O(h)).
    from filippov import _continuation_path as cp

    d = 100  # (above the direct size once |S| > 40: the CG path keeps B ẋ)
    obj = logistic(d, 3 * d, 3)
    B = obj._linear_model[0]
    x0 = np.random.default_rng(4).standard_normal(d)
    checked = []
    real = cp._Mode.correct

    def correct(self: cp._Mode, tau: float, xs: np.ndarray, *args: object, **kw: object):
        z_guess = kw.get("z_guess")
        if z_guess is not None:
            x = self.base(tau)
            x[self.S] = xs
            exact = B @ x
            checked.append(float(np.abs(z_guess - exact).max() / np.abs(exact).max()))
        return real(self, tau, xs, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(cp._Mode, "correct", correct)
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"),
        x0,
        (0.0, 50.0),
        method="continuation",
        check_derivatives=False,
    )
    assert sol.status == 1 and len(checked) >= d
    assert max(checked) <= 1e-8
    np.testing.assert_allclose(sol.x[-1], newton_minimizer(obj, d), rtol=0, atol=1e-10)


def test_first_roots_find_a_dip_between_the_samples():
    # A guard's cubic interpolant that dips below 0 and comes back between two of the
    # fixed samples (p(s) = (s − 0.05)(s − 0.08)·(…) > 0 at every sample): its first root
    # must be found, exactly; guards that stay positive, none.
    from filippov import _continuation_path as cp

    def hermite_data(coef: np.ndarray, h: float) -> tuple[float, float, float, float]:
        p = np.polynomial.Polynomial(coef)
        dp = p.deriv()
        return p(0.0), dp(0.0) / h, p(1.0), dp(1.0) / h

    h = 3.0
    dip = np.polynomial.Polynomial.fromroots([0.05, 0.08, -5.0]).coef
    high = np.array([1.0, -0.5, 0.4, 0.1])  # 1 − s/2 + 0.4 s² + 0.1 s³ > 0 on [0, 1]
    data = np.array([hermite_data(dip, h), hermite_data(high, h)])
    assert (cp._hermite(*data.T, h, cp._GUARD_SAMPLES) > 0.0).all()  # (the samples miss it)
    roots = cp._first_roots(*data.T, h)
    assert [k for k, _ in roots] == [0]
    assert roots[0][1] == pytest.approx(0.05, abs=1e-14)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 40),
    st.floats(1e-3, 10.0),
)
def test_first_roots_report_exactly_the_guards_that_dip(seed: int, k: int, h: float) -> None:
    # Guards of every kind (far from 0, grazing, dipping and coming back, crossing) as
    # cubics in s on [0, 1]; which of them go negative is decided by a dense sampling of
    # the polynomial itself, independent of the samples, critical points and the
    # positivity bound that `_first_roots` uses to skip guards.
    from filippov import _continuation_path as cp

    rng = np.random.default_rng(seed)
    G0 = rng.choice([1e-3, 1.0, 100.0], k) * rng.uniform(0.0, 1.0, k)
    G1 = rng.choice([-1.0, 1e-3, 1.0, 100.0], k) * rng.uniform(0.0, 1.0, k)
    D0 = rng.normal(size=k) * rng.choice([1e-3, 1.0, 100.0], k) / h
    D1 = rng.normal(size=k) * rng.choice([1e-3, 1.0, 100.0], k) / h
    s = np.linspace(0.0, 1.0, 20001)[1:]
    values = cp._hermite(G0, D0, G1, D1, h, s)  # (len(s), k)
    clearly = (values < -1e-9 * (1.0 + np.abs(values).max(axis=0))).any(axis=0)
    roots = dict(cp._first_roots(G0, D0, G1, D1, h))
    assert set(np.flatnonzero(clearly).tolist()) <= set(roots)
    for j, s_root in roots.items():
        # the first root: the interpolant at or below 0 there, positive before it
        at = cp._hermite(G0[j : j + 1], D0[j : j + 1], G1[j : j + 1], D1[j : j + 1], h, s_root)
        assert float(at[0]) <= 1e-9 * (1.0 + abs(G0[j]) + abs(G1[j]))
        before = s[s < s_root - 1e-9]
        if before.size:
            assert (values[s < s_root - 1e-9, j] >= -1e-9 * (1.0 + abs(G0[j]))).all()


def test_guard_dip_on_a_long_straight_mode_matches_the_event_path():
    # Found by a random-objective review: on a mode with no sliding index the state moves
    # on a line, the guards are exact cubics in τ, the step control lets the step grow to
    # 35 time units, and the sign change of ∂_4 f at t ≈ 1.17 fell between two samples of
    # the guards' interpolants: the run missed the entry and ended −1 at t = 1.54.
    expr = (
        "0.0779*x0**2 + 0.9855*x1**2 + 0.4597*x2**2 + 0.3307*x3**2 + 0.8760*x4**2"
        " + 0.4696*x4*x1 + 0.3055*((1.4189)*x0 + (-1.0834)*x1 + (-2.9404)*x2"
        " + (-1.3840)*x3 + (0.2631)*x4)**4"
    )
    obj = Objective.from_expr(expr, [f"x{i}" for i in range(5)])
    x0 = [
        3.4670851386544346,
        0.8018702460802405,
        -1.6046206070573334,
        1.7687791802241766,
        -0.022115490939501856,
    ]
    system = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(system, x0, (0.0, 80.0), method="continuation")
    ref = fp.solve(system, x0, (0.0, 80.0), method="events", rtol=1e-12, atol=1e-14)
    assert sol.status == ref.status == 1
    assert [e.indices for e in sol.events] == [e.indices for e in ref.events]
    np.testing.assert_allclose(
        [e.t for e in sol.events], [e.t for e in ref.events], rtol=0, atol=1e-9
    )
    check_velocities(obj, sol)
    check_continuity(sol)


def test_ill_conditioned_block_corrector_solves_when_chord_steps_grow() -> None:
    # A logcosh model with a tiny ridge and nearly collinear columns: the sliding block's
    # factor (the chord steps' matrix) is far from H_SS, and the chord corrections grow
    # from the first on. The corrector must then go on with solves: giving up (as it did)
    # shrank h to rounding, which does not help, and the run stopped with "the corrector
    # did not converge" at t ≈ 1.119. Both product paths (the linear model's columns and
    # plain callables) must reach the end and agree.
    d = m = 120
    rng = np.random.default_rng(687948656)
    k = d // 10
    noise = rng.standard_normal((m, d))
    latent = rng.standard_normal((m, k)) @ rng.standard_normal((k, d))
    A = np.sqrt(0.01) * noise + np.sqrt(0.99) * latent / np.sqrt(k)
    y = A @ (rng.standard_normal(d) / np.sqrt(d)) + 0.3 * rng.standard_normal(m)
    obj = fp.objectives.linear_model(A, y, 1e-4, "logcosh")
    plain = Objective(obj.f, grad=obj.grad, hess=obj.hess, hvp=obj.hvp)
    x0 = np.random.default_rng(687948657).standard_normal(d)
    sols = [
        fp.solve(
            fp.steepest_descent_flow(o, "linf"),
            x0,
            (0.0, 1.2),
            method="continuation",
            check_derivatives=False,
        )
        for o in (obj, plain)
    ]
    for sol in sols:
        assert sol.status == 0, sol.message
        assert sol.t[-1] == 1.2 and len(sol.events) > 434
        check_continuity(sol)
    sol, ref = sols
    assert [(e.kind, e.indices) for e in sol.events] == [(e.kind, e.indices) for e in ref.events]
    np.testing.assert_allclose(
        [e.t for e in sol.events], [e.t for e in ref.events], rtol=0, atol=1e-8
    )
    ts = np.linspace(0.0, 1.2, 101)
    np.testing.assert_allclose(sol(ts), ref(ts), rtol=0, atol=1e-8)


@pytest.mark.parametrize("x0", [[0.3, -0.4], [2.5, 1.0], [1.0, 2.25]])
def test_entry_at_a_multiple_root_is_located_on_the_curves_own_slope(x0: list[float]) -> None:
    # (From the stranger review.) Each coordinate of (x + 1)⁶ + (y − 0.5)² moves at unit
    # speed and reaches its minimizer at t = |x0_i − c_i|; x's guard has a root of
    # multiplicity 5 there, where the step's Hermite interpolant of the guard has a slope
    # far above the curve's: an entry accepted on the interpolated slope alone came up to
    # 1.6e-4 early (with a stationary end reported). The secant through the refinement's
    # iterates on the curve disagrees with it there, and the root is confirmed.
    obj = Objective.from_expr("(x+1)**6 + (y-0.5)**2", variables=["x", "y"])
    centre = np.array([-1.0, 0.5])
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 4.0), method="continuation")
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol(4.0), centre, rtol=0, atol=1e-12)
    entries = [e.t for e in sol.events if e.kind == "sliding-entry"]
    arrivals = np.sort(np.abs(np.asarray(x0) - centre))
    np.testing.assert_allclose(entries, arrivals, rtol=0, atol=1e-9)


def test_return_to_zero_of_a_guard_that_started_on_its_boundary_is_located_at_zero() -> None:
    # Found by a random-objective review. Index 2 crosses at t ≈ 3.107; its guard starts
    # the next mode on its boundary and is offset (by zero_tol · |∇f(x0)|, 1.9e-8 here:
    # the start's gradient is large) so that the crossing cannot fire again. The guard
    # rises and comes back to 0 at t ≈ 3.2295 (a sliding entry, with index 0 leaving).
    # With the offset kept for the whole mode the entry was located where the guard
    # reached −offset, 1.4e-8 late, the next mode started off its curve, and its steps
    # shrank to rounding (status −1). The entry time is checked against the root of
    # ∂_2 f on the curve ∇_{0,1} f = 0 found by scipy alone.
    import scipy.optimize

    expr = (
        "0.7425*x0**2 + 0.7916*x1**2 + 0.4141*x2**2 + 0.1551*x3**2 + 0.4825*x4**2"
        " + 0.3647*x5**2 + log(cosh((-0.2624)*x0 + (1.0368)*x1 + (-1.3330)*x2"
        " + (-0.3923)*x3 + (0.2276)*x4 + (-1.6158)*x5)) + 0.2767*((-1.7041)*x0"
        " + (0.2870)*x1 + (-0.5615)*x2 + (0.9286)*x3 + (0.1138)*x4 + (0.5720)*x5)**4"
        " + 0.4022*((0.7519)*x0 + (-0.1033)*x1 + (-0.9822)*x2 + (1.1828)*x3"
        " + (0.9800)*x4 + (2.2667)*x5)**4 + 0.4979*((-1.4470)*x0 + (-3.8593)*x1"
        " + (-1.3084)*x2 + (0.4868)*x3 + (-0.8855)*x4 + (-2.5948)*x5)**4"
        " + log(cosh((-0.5917)*x0 + (-0.3610)*x1 + (-0.4314)*x2 + (-0.1347)*x3"
        " + (0.4744)*x4 + (-1.7345)*x5))"
    )
    obj = Objective.from_expr(expr, [f"x{i}" for i in range(6)])
    x0 = [-1.0171782214347023, 2.273449440666801, -2.0705947066142394]
    x0 += [3.274822890861925, 1.2160663950446238, 3.2492867727564265]
    system = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(system, x0, (0.0, 80.0), method="continuation")
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol.x[-1], newton_minimizer(obj, 6), rtol=0, atol=1e-10)
    check_velocities(obj, sol)
    check_continuity(sol)

    crossing = next(e for e in sol.events if e.indices == (2,) and 3.0 < e.t < 3.2)
    entry = next(e for e in sol.events if e.indices == (2,) and e.t > crossing.t)
    assert entry.kind == "sliding-entry"
    t_s, x_s = crossing.t, np.array(crossing.x, dtype=float)
    S, F = [0, 1], [2, 3, 4, 5]
    v_F = -np.sign(obj.grad(sol(np.array([0.5 * (t_s + entry.t)])).ravel()))[F]

    def guard(t: float) -> float:
        x = x_s.copy()
        x[F] = x_s[F] + v_F * (t - t_s)

        def on_curve(y: np.ndarray) -> np.ndarray:
            x[S] = y
            return obj.grad(x)[S]

        x[S] = scipy.optimize.fsolve(on_curve, x_s[S], xtol=1e-13)
        return float(obj.grad(x)[2])

    t_entry = scipy.optimize.brentq(guard, entry.t - 1e-6, entry.t + 1e-6, xtol=1e-15)
    assert abs(entry.t - t_entry) <= 1e-11


def test_return_to_zero_inside_the_step_that_left_the_boundary_is_located_at_zero() -> None:
    # Found by a random-objective review. Index 3 crosses at t ≈ 1.70597 and starts a
    # regular mode (no sliding index) on its boundary, its guard offset by zero_tol ·
    # |∇f(x0)| ≈ 1.9e-9; the guard rises to 6e-4 and comes back to 0 at t ≈ 1.73945 (a
    # sliding entry) inside the mode's first step, where the offset was never dropped:
    # the entry was located where the guard reached −offset, 2.6e-8 late. On a regular
    # mode x(t) = x_s − σ (t − t_s): the entry time is checked against brentq's root of
    # ∂_3 f on that line.

    expr = (
        "0.2009*x0**2 + 0.8195*x1**2 + 0.5667*x2**2 + 0.0891*x3**2 + 0.3160*x1*x3"
        " + log(1 + exp((-0.0469)*x0 + (-1.3824)*x1 + (0.7191)*x2 + (0.5848)*x3 + 0.496))"
        " + 0.2272*((1.5685)*x0 + (-0.6732)*x1 + (0.3438)*x2 + (-0.2298)*x3)**4"
        " + 0.2793*((-1.7369)*x0 + (-0.7272)*x1 + (-1.9609)*x2 + (-0.3236)*x3)**4"
    )
    obj = Objective.from_expr(expr, [f"x{i}" for i in range(4)])
    x0 = [-3.616879742772746, -1.0517324297234016, -0.532570272940066, -4.5973280523919735]
    system = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(system, x0, (0.0, 80.0), method="continuation")
    assert sol.status == 1, sol.message
    # (f is strictly convex; the damped Newton's line search stalls on f's rounding at
    # about 4e-10 here, depending on earlier tests: the gradient at the end is checked too)
    np.testing.assert_allclose(sol.x[-1], newton_minimizer(obj, 4), rtol=0, atol=1e-8)
    assert float(np.abs(obj.grad(sol.x[-1])).max()) <= 1e-12
    check_velocities(obj, sol)
    check_continuity(sol)

    crossing = next(e for e in sol.events if e.kind == "crossing" and e.indices == (3,))
    entry = next(e for e in sol.events if e.indices == (3,) and e.t > crossing.t)
    assert entry.kind == "sliding-entry" and entry.t - crossing.t < 0.1
    t_s, x_s = crossing.t, np.array(crossing.x, dtype=float)
    velocity = -np.sign(obj.grad(sol(np.array([0.5 * (t_s + entry.t)])).ravel()))
    t_entry = P.root_on_a_line(obj, x_s, t_s, velocity, lambda g: g[3], entry.t)
    assert abs(entry.t - t_entry) <= 1e-11


@pytest.mark.parametrize("seed", [4, 8])
@pytest.mark.parametrize("builder", ["linear model", "callables"])
def test_exit_times_match_independent_roots_with_cg_tangents(
    monkeypatch: pytest.MonkeyPatch, seed: int, builder: str
) -> None:
    # An exit is located where the equivalent control |ẋ_i| (a component of the
    # tangent) reaches 1, so the tangent's CG error is the exit's error divided by its
    # rate. With the steps' tangents (CG to 1e-8) the exits of these flows were off by
    # 5.6e-9 to 7.2e-9; they are now solved to 1e-13 where an exit is located. CG is
    # forced on these small blocks (they would be factored directly), on a linear model's
    # columns and on the generic Hessian-vector products.
    from filippov import _continuation_path

    monkeypatch.setattr(_continuation_path, "_DIRECT_SIZE", 0)
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((24, 12))
    y = np.where(rng.uniform(size=24) < 0.5, 1.0, -1.0)
    obj = ridge_logistic(A, y, 1e-3)
    if builder == "callables":
        lm = obj
        obj = Objective(lm.f, lm.grad, lm.hess, hvp=lm.hvp, n=12)
        assert not hasattr(obj, "_linear_model") or obj._linear_model is None
    x0 = rng.standard_normal(12)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 50.0), method="continuation")
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol.x[-1], newton_minimizer(obj, 12), rtol=0, atol=1e-8)
    checked = 0
    for seg in sol.segments[:-1]:
        events = [e for e in sol.events if e.t == seg.t1]
        if any(e.kind in ("sliding-entry", "crossing") for e in events):
            continue  # (an exit at an entry is decided by the next mode's selection)
        for e in events:
            if e.kind != "exit":
                continue
            for i in e.indices:
                t_exit = P.sign_flow_exit_time(obj, seg, i, e.t)
                assert abs(e.t - t_exit) <= 1e-10, (e.t, t_exit)
                checked += 1
    assert checked >= 1


@pytest.mark.parametrize("seed", [10, 55])
def test_tolerances_follow_the_gradients_scale_at_each_mode(seed: int) -> None:
    # Poisson models from far away: |∇f(x0)| = 2.5e3 (seed 10) and 7e11 (seed 55), but
    # |∇f| ≈ 0.1 later. Tolerances on the run's start scale failed both:
    # - seed 10: guards starting on their boundary are offset by the zero tolerance,
    #   1e-12 · 2.5e3 = 2.5e-9 there, above the whole rise of index 30's guard (a parabola
    #   from t = 2.81455 peaking at 4.8e-10 and back to 0 at t = 2.81592): the run ended
    #   at t = 2.817 with its steps shrunk to rounding (status −1);
    # - seed 55: the gradient falls by 1e11 inside the first mode; every index within
    #   0.7 of its boundary "arrived" at the first event and the run was declared
    #   stationary at once (status −5). With the arrival tolerance alone on the event's
    #   scale, the guards' interpolants on the start's scale put ten crossings in the
    #   wrong order, and the run reported them at one time with their guards at −0.06 to
    #   −0.5 (a silent wrong answer); the step is now cut when a guard is clearly negative
    #   at the event located.
    obj, x0 = P.poisson_from_far_away(seed)
    d = x0.size
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 50.0), method="continuation")
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol.x[-1], newton_minimizer(obj, d), rtol=0, atol=1e-8)
    check_velocities(obj, sol)
    check_continuity(sol)
    # Every index of an entry or crossing is at its boundary there (independently of the
    # path's guards: ∂_j f at the event's state, on the scale of the gradient there, or
    # of rounding at the stationary point's last entry).
    floor = 1e-12 * float(np.abs(obj.grad(x0)).max())
    for e in sol.events:
        if e.kind in ("crossing", "sliding-entry"):
            g = obj.grad(np.asarray(e.x, dtype=float))
            scale = max(float(np.abs(g).max()), floor)
            assert np.abs(g[list(e.indices)]).max() <= 1e-8 * scale, (e.t, e.indices)

    if seed == 10:
        entry = next(e for e in sol.events if e.indices == (30,) and 2.8155 < e.t < 2.8165)
        assert entry.kind == "sliding-entry"
        seg = next(s for s in sol.segments if s.t1 == entry.t)
        assert seg.t0 == pytest.approx(2.814553, abs=1e-6)
        # The guard's slope at its root is only 1.4e-6 and ∂_30 f is known to about 1e-14
        # (its rounding): the root is determined to about 1e-8 in t, by scipy as by the path.
        t_entry = P.sign_flow_entry_time(obj, seg, 30, entry.t, half_width=1e-7)
        assert abs(entry.t - t_entry) <= 2e-8


@pytest.mark.parametrize(("loss", "seed"), [("logistic", 9), ("squared", 6), ("squared", 9)])
def test_start_near_the_minimizer_steps_not_below_the_gradients_rounding(
    loss: str, seed: int
) -> None:
    # Started 1e-8 from the minimizer, |∇f(x0)| is 4e-9 to 3e-8 while the gradient's terms
    # are O(1) (O(100) residuals for squared): its rounding is ~1e-16 to 1e-14. The
    # guards' interpolation tolerance, 1e-6 of a mode's free gradient (down to 1e-12
    # there), was below it, no step met it and the runs ended with their steps shrunk to
    # rounding (status −1). The tolerance is now raised to the rounding once the
    # gradient's error does not fall with the step.
    obj, x_star, x0 = P.linear_model_near_its_minimizer(loss, seed, 100.0, newton_minimizer)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 1.0), method="continuation")
    P.check_rest_at_the_minimizer(sol, x0, x_star, np.inf)
    check_continuity(sol)


def longest_mode(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[int]:
    """The most tries any mode's `TryBudget` (``module.name``) counted, as a 1-list."""
    import filippov._continuation_path as cp

    most = [0]

    class Counting(cp.TryBudget):
        def spent(self, accepted: int, tau: float) -> tuple[str, str] | None:
            most[0] = max(most[0], self._tries + 1)
            return super().spent(accepted, tau)

    monkeypatch.setattr(module, name, Counting)
    return most


def far_start_runs(
    obj: Objective, norm: str, x0: np.ndarray, most: list[int]
) -> tuple[fp.FilippovSolution, fp.FilippovSolution]:
    """The continuation and event paths at rtol = 1e-13 from ``x0`` (both to status 1),
    the former with a mode past the first judgement of its tries (``most``, from
    `longest_mode`)."""
    system = fp.steepest_descent_flow(obj, norm)
    kw = {"rtol": 1e-13, "atol": 1e-15}
    sol = fp.solve(system, x0, (0.0, 1e4), method="continuation", **kw)
    assert sol.status == 1, sol.message
    assert most[0] > 2000  # (the case is one: a mode past the first judgement)
    ref = fp.solve(system, x0, (0.0, 1e4), method="events", **kw)
    assert ref.status == 1, ref.message
    return sol, ref


def test_a_long_steady_mode_past_the_first_judgement_runs_to_the_minimizer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Started at 1e3 scale at rtol = 1e-13, the last mode takes 2478 tries (steps of a
    # steady curve, nearly all accepted): a cap on all tries at 2000 ended the run -1 at
    # t = 638.8 (as on five far starts of a stranger review). Its progress is judged
    # instead (see `TryBudget`): the run reaches the minimizer with the event path's events.
    import filippov._continuation_path as cp

    most = longest_mode(monkeypatch, cp, "_TryBudget")
    # (the cubic steps: with the curve's second derivatives, which a logistic loss has,
    # the quintic steps take 347 tries, and the budget's judgement is not reached)
    monkeypatch.setattr(cp, "_QUINTIC_RTOL", 0.0)
    rng = np.random.default_rng(3)
    A = rng.standard_normal((40, 2))
    y = np.sign(A @ rng.standard_normal(2) + rng.standard_normal(40))
    obj = ridge_logistic(A, y, 0.1)
    x0 = 1e3 * rng.standard_normal(2)
    sol, ref = far_start_runs(obj, "linf", x0, most)
    assert [(e.kind, e.indices) for e in sol.events] == [(e.kind, e.indices) for e in ref.events]
    np.testing.assert_allclose(
        [e.t for e in sol.events], [e.t for e in ref.events], rtol=0, atol=1e-9
    )
    # (the minimizer by scipy's trust-region Newton, independently)
    x_star = scipy.optimize.minimize(
        obj.f, x0, jac=obj.grad, hess=obj.hess, method="trust-exact", options={"gtol": 1e-14}
    ).x
    np.testing.assert_allclose(sol.x[-1], x_star, rtol=0, atol=1e-12)


def _budget_run(steps: list[tuple[bool, float]]) -> tuple[int, tuple[str, str]] | None:
    """Feed a `TryBudget` tries of steps ``(accepted, length)``: the try it gives up at, and
    why, or ``None``."""
    from filippov._continuation_path import TryBudget

    budget = TryBudget()
    accepted, tau = 0, 0.0
    for i, (ok, h) in enumerate(steps):
        spent = budget.spent(accepted, tau)
        if spent is not None:
            return i, spent
        if ok:
            accepted, tau = accepted + 1, tau + h
    return None


def test_a_modes_tries_are_judged_by_their_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    import filippov._continuation_path as cp

    # judged from 20 tries on, on windows of 10; at most 200 tries
    monkeypatch.setattr(cp, "_MAX_TRIES", 20)
    # a steady mode goes on to the ceiling
    given_up = _budget_run([(True, 0.1)] * 1000)
    assert given_up is not None and given_up[0] == 200
    assert "200 continuation steps (0 of them rejected)" in given_up[1][0]
    assert "the most one mode may take" in given_up[1][1]
    # a mode that slows down 70-fold (measured on a far start at rtol 1e-13: 491 in its
    # first 1000 tries, 6.8 in the next, near the minimizer) goes on
    assert _budget_run([(True, 49.1)] * 10 + [(True, 0.68)] * 180) is None
    # most tries rejected: the step control fights something
    fight = _budget_run([(True, 0.1), (False, 0.0), (False, 0.0)] * 100)
    assert fight is not None and fight[0] == 20
    assert "13 of them rejected" in fight[1][0] and "7 of the last 10 rejected" in fight[1][1]
    # a crawl into a pole: the distance left falls as (1 + k)^-4 after k steps (steps of
    # the distance to the power 5/4, as at the pole of log(x))
    crawl = [(True, (1 + k) ** -4.0 - (2 + k) ** -4.0) for k in range(1000)]
    given_up = _budget_run(crawl)
    assert given_up is not None and given_up[0] == 20
    assert "the steps shrink without end" in given_up[1][1]
    # ... also after a steady stretch (it is caught at the first window inside it)
    given_up = _budget_run([(True, 0.1)] * 40 + [(True, 0.1 * h) for _, h in crawl])
    assert given_up is not None and given_up[0] == 60
    assert "the steps shrink without end" in given_up[1][1]


def test_a_mode_after_a_free_mode_does_not_start_with_the_free_modes_step() -> None:
    # A quartic with a degenerate direction (a stranger review's family, seed 14): the
    # first mode moves on a line and its steps grew fourfold to 4.0; carried into the
    # sliding mode that followed, that first step was so far outside the range of its
    # error estimate that the midpoint check passed, and the mode's dense output was
    # 6.5e-4 off its curve (∂_0 f = -4e-5 where it slides), reported as a success.
    obj, x0 = degenerate_quartic(14)
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"),
        x0,
        (0.0, 100.0),
        method="continuation",
        rtol=1e-13,
        atol=1e-15,
    )
    # (an honest failure is allowed: the curve has a cube-root point at the minimizer)
    if sol.status >= 0:
        for seg in sol.segments:
            S = [i for i, s in enumerate(seg.mode.signs) if s == 0]
            if S and seg.t1 > seg.t0:
                for t in np.linspace(seg.t0, seg.t1, 50):
                    assert np.abs(obj.grad(sol(t))[S]).max() < 1e-8, (t, S)


@pytest.mark.parametrize(
    ("seed", "rtol"),
    [
        *((14, 1e-13), (23, 1e-13), (42, 1e-8), (97, 1e-8), (9, 1e-10), (17, 1e-10)),
        (9, 1e-13),
        # (seed 17 at 1e-13 failed -1: the entry's corrector to rounding at the degenerate
        # minimum did not converge, see `_tight_if_possible`)
        (17, 1e-13),
    ],
)
def test_the_last_piece_before_an_event_follows_the_checked_interpolant(
    seed: int, rtol: float
) -> None:
    # Degenerate quartics whose sliding curve bends sharply just before the entry that
    # ends its mode (at the minimizer). The last piece of the dense output ended with the
    # tangent solved there, not the slope of the step's interpolant whose error the step
    # control had measured: the cubic bulged across the piece, ∂_S f up to 2.8e-2 on
    # sliding pieces (1e-3 in the state at rtol 1e-13, seed 14), with status 1.
    obj, x0 = degenerate_quartic(seed)
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"),
        x0,
        (0.0, 30.0),
        method="continuation",
        rtol=rtol,
        atol=rtol / 100,
    )
    assert sol.status == 1, sol.message
    sliding = 0
    for seg in sol.segments:
        S = [i for i, s in enumerate(seg.mode.signs) if s == 0]
        if S and len(S) < obj.n and seg.t1 > seg.t0:
            sliding += 1
            for t in np.linspace(seg.t0, seg.t1, 41):
                g = obj.grad(sol(t))
                assert np.abs(g[S]).max() <= 1e-6 * max(1.0, np.abs(g).max()), (t, S)
    assert sliding
    # ... and the state is the event path's (an independent integrator) between events
    ref = fp.solve(
        fp.steepest_descent_flow(obj, "linf"), x0, (0.0, sol.t[-1]), rtol=1e-12, atol=1e-14
    )
    ts = np.linspace(0.0, sol.t[-1], 201)
    assert np.abs(sol(ts) - ref(ts)).max() <= 1e-5


def _scaled_softplus_228() -> tuple[Objective, np.ndarray, float]:
    """A stranger review's softplus sum of a random linear map with columns scaled by
    10^±1.5 and a small ridge (n = 9, m = 21): its sliding curve bends sharply after a long
    straight stretch."""
    return _scaled_softplus(228)


def _scaled_softplus(seed: int) -> tuple[Objective, np.ndarray, float]:
    """The family of `_scaled_softplus_228`: objective, start and horizon."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 13))
    m = int(rng.integers(n, 3 * n + 1))
    A = rng.standard_normal((m, n)) * 10.0 ** rng.uniform(-1.5, 1.5, n)
    c = rng.standard_normal(m) * 3
    lam = 10.0 ** rng.uniform(-4, -1)

    def sig(z: np.ndarray) -> np.ndarray:
        return 0.5 * (1 + np.tanh(0.5 * z))

    obj = Objective(
        lambda x: float(np.sum(np.logaddexp(0, A @ x - c)) + 0.5 * lam * x @ x),
        lambda x: A.T @ sig(A @ x - c) + lam * x,
        lambda x: (A.T * (sig(A @ x - c) * (1 - sig(A @ x - c)))) @ A + lam * np.eye(n),
        n=n,
    )
    x0 = rng.standard_normal(n) * 10.0 ** rng.uniform(-1, 1.5)
    return obj, x0, float(np.random.default_rng(seed + 999).uniform(2, 30))


def test_a_step_much_shorter_than_the_last_has_its_error_measured() -> None:
    # After a step of 3.88 on a nearly straight stretch, the next (0.458, after a
    # rejection) ended where the curve starts to bend: the extrapolation's defect rescaled
    # by (hp/h)² estimated 0.71 tolerances, and the dense output was 2.3e-6 off, 800
    # tolerances, with status 0. The error of such a step is measured at its midpoint.
    obj, x0, T = _scaled_softplus_228()
    flow = fp.steepest_descent_flow(obj, "linf")
    ref = fp.solve(flow, x0, (0.0, T), method="events", rtol=1e-13, atol=1e-15)
    sol = fp.solve(flow, x0, (0.0, T), method="continuation", rtol=1e-10, atol=1e-12)
    assert sol.status == 0
    ts = np.linspace(0.0, T, 4001)
    # (states of size 30: the tolerance 3e-9; a global error of a few tolerances)
    assert np.abs(sol(ts) - ref(ts)).max() <= 5e-8


@pytest.fixture(scope="module")
def softplus_228_reference() -> tuple[Objective, np.ndarray, float, fp.FilippovSolution]:
    obj, x0, T = _scaled_softplus_228()
    flow = fp.steepest_descent_flow(obj, "linf")
    return obj, x0, T, fp.solve(flow, x0, (0.0, T), method="events", rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("rtol", [1e-13, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-6, 1e-4])
def test_the_dense_output_keeps_its_tolerance_where_the_curve_starts_to_bend(
    softplus_228_reference: tuple[Objective, np.ndarray, float, fp.FilippovSolution],
    rtol: float,
) -> None:
    # On the same softplus sum, steps grew fourfold while the curve was straight (0.97,
    # then 3.88) and the long step's cubic bulged where the curve starts to bend: the
    # extrapolation's defect at the step's end saw no bend, and the dense output was 50
    # tolerances off at rtol 1e-12 (22 at 1e-13, 20 at 1e-11, 6 at 1e-10, 16 at 1e-8)
    # with status 0; at 1e-13 by a step as long as the last one. A step more than twice
    # or less than half the last one has its error measured at its midpoint, and every
    # step's cubic is checked against the quintic through its last three points.
    obj, x0, T, ref = softplus_228_reference
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, x0, (0.0, T), method="continuation", rtol=rtol, atol=rtol / 100)
    assert sol.status == 0, sol.message
    ts = np.linspace(0.0, T, 4001)
    X = ref(ts)
    tol = rtol * np.abs(X).max(axis=1) + rtol / 100
    # (At rtol 1e-4 the run failed -1 when a rejected long try's Newton iterates had
    # refreshed the block's factor far off the curve, see `_Block.restore`: on the code of
    # this change without the restore, not on the code before it.)
    # (a global error of a tolerance or two: 1.5 at most here, measured)
    assert (np.abs(sol(ts) - X).max(axis=1) / tol).max() <= 3.0


def test_a_factor_taken_by_a_rejected_try_is_dropped() -> None:
    # The block's factor as the last accepted point had it comes back after a try that
    # refreshed it elsewhere, as a new version (a token of the dropped factor stays
    # invalid), and only on the same sliding set.
    from filippov._continuation_path import _Block
    from filippov._recorder import Recorder

    obj, x0, _ = _scaled_softplus_228()
    block = _Block(obj, obj.n, Recorder(0.0, x0, "continuation"))
    block.set(x0, np.array([7]))
    on_curve, version_on_curve = block.snapshot(), block.version
    r = np.array([1.0])
    before = block.precondition(r).copy()
    far = x0 + 50.0
    block.refresh(far)
    assert not np.allclose(block.precondition(r), before)  # (H_77 differs there)
    dropped = block.version
    block.restore(on_curve)
    np.testing.assert_array_equal(block.precondition(r), before)
    assert block.version not in (dropped, version_on_curve)
    kept = block.version
    block.restore(on_curve)  # (the same factor again: nothing to take back)
    assert block.version == kept
    block.set(x0, np.array([3]))
    block.restore(on_curve)  # (another sliding set: left alone)
    assert block.S.tolist() == [3]


def _sparse_logistic_block(n: int) -> tuple[Any, Objective, np.ndarray]:
    """A `_Block` of a ridge logistic regression on sparse data (no ``_linear_model``: the
    block takes the objective's own products), its objective and a point."""
    import scipy.sparse

    from filippov._continuation_path import _Block
    from filippov._recorder import Recorder

    rng = np.random.default_rng(11)
    # (3 nonzeros a row: too few for the block to take the data by its sparse columns)
    A = scipy.sparse.random_array((5 * n, n), density=0.02, rng=rng, format="csr")
    obj = ridge_logistic(A, np.where(rng.random(5 * n) < 0.5, 1.0, 0.0), 0.1)
    assert obj._linear_model is None
    x = rng.standard_normal(n)
    block = _Block(obj, n, Recorder(0.0, x, "continuation"))
    assert block.lm is None
    return block, obj, x


def _exact_solve(obj: Objective, x: np.ndarray, S: np.ndarray, r: np.ndarray) -> np.ndarray:
    return np.linalg.solve(obj.hess(x)[np.ix_(S, S)], r)


def test_a_large_sparse_data_block_grows_its_single_precision_inverse_in_place() -> None:
    # A large block of an objective's own products (sparse data) is preconditioned by a
    # single-precision inverse, and an index joining it updates that inverse in place:
    # on main every join copied the double factor and the double inverse (O(|S|²) new
    # memory each: most of a sparse-data run at n = 2000).
    from filippov._continuation_path import _DIRECT_SIZE, _INVERSE_SIZE

    n = 150
    block, obj, x = _sparse_logistic_block(n)
    k = _INVERSE_SIZE + 16
    assert k * n > _DIRECT_SIZE
    block.set(x, np.arange(k))
    assert block.single is not None and block.single.dtype == np.float32
    block.add(x, k)  # (into a new buffer with room to grow)
    grown = block.single
    block.add(x, k + 1)  # (in place: the same memory)
    assert block.size == k + 2 and np.shares_memory(block.single, grown)
    S = np.arange(k + 2)
    r = np.random.default_rng(0).standard_normal(k + 2)
    # (all at one point: the bordered inverse is H_SS⁻¹ to single precision)
    exact = _exact_solve(obj, x, S, r)
    np.testing.assert_allclose(
        block.precondition(r), exact, rtol=0, atol=1e-5 * np.abs(exact).max()
    )


def test_a_restored_inverse_grows_in_place_as_if_never_replaced() -> None:
    # `restore` takes back the preconditioner of the last accepted point after a try that
    # refreshed it elsewhere; the in-place growth of the next index that joins must start
    # from the restored inverse, untouched by the refresh (and a snapshot from before an
    # index joined is never taken back: its inverse was grown over).
    from filippov._continuation_path import _INVERSE_SIZE

    n = 150
    k = _INVERSE_SIZE + 16
    block, obj, x = _sparse_logistic_block(n)
    twin, _, _ = _sparse_logistic_block(n)
    for b in (block, twin):
        b.set(x, np.arange(k))
        b.add(x, k)
    before_join = block.snapshot()
    block.add(x, k + 1)
    twin.add(x, k + 1)
    r = np.random.default_rng(1).standard_normal(k + 2)
    on_curve = block.snapshot()
    kept = block.precondition(r).copy()
    block.refresh(x + 3.0)  # (a try's refresh far off: another inverse)
    assert not np.allclose(block.precondition(r), kept)
    block.restore(on_curve)
    np.testing.assert_array_equal(block.precondition(r), kept)
    block.restore(before_join)  # (another sliding set: left alone)
    np.testing.assert_array_equal(block.precondition(r), kept)
    block.add(x, k + 2)
    twin.add(x, k + 2)
    r = np.append(r, 0.5)
    np.testing.assert_array_equal(block.precondition(r), twin.precondition(r))
    exact = _exact_solve(obj, x, np.arange(k + 3), r)
    np.testing.assert_allclose(
        block.precondition(r), exact, rtol=0, atol=1e-5 * np.abs(exact).max()
    )


def test_sparse_columns_take_the_dense_models_products() -> None:
    # On sparse data with enough nonzeros a row, the block takes the data by its sliding
    # columns: every product the column machinery uses is the dense model's, to rounding.
    import scipy.sparse

    from filippov._continuation_path import _Block, _LinearModel, _SparseLinearModel
    from filippov._recorder import Recorder

    rng = np.random.default_rng(5)
    m, n = 300, 60
    A = scipy.sparse.random_array((m, n), density=0.2, rng=rng, format="csr")
    obj = ridge_logistic(A, np.where(rng.random(m) < 0.5, 1.0, 0.0), 0.1)
    x = rng.standard_normal(n)
    block = _Block(obj, n, Recorder(0.0, x, "continuation"))
    sparse = block.lm
    assert isinstance(sparse, _SparseLinearModel)
    dense = _LinearModel((sparse.B.toarray(), *obj._sparse_linear_model[1:]))

    def close(a: object, b: object) -> None:
        b = np.asarray(b)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13 * np.abs(b).max())

    S = np.array([7, 3, 40, 12])
    r = rng.standard_normal(m)
    for a_set in (S, np.append(S, 9), np.array([9, 7]), np.append(S, 9)):
        # (a new set, one index more, another set, and back: gathered and appended)
        v = rng.standard_normal(a_set.size)
        close(sparse.columns(a_set) @ v, dense.columns(a_set) @ v)
        close(sparse.columns(a_set).T @ r, dense.columns(a_set).T @ r)
        close(r @ sparse.columns(a_set), r @ dense.columns(a_set))
        single = sparse.columns32(a_set) @ v.astype(np.float32)
        assert single.dtype == np.float32  # (and the products of single precision:)
        exact = dense.columns(a_set) @ v
        np.testing.assert_allclose(single, exact, rtol=0, atol=1e-6 * np.abs(exact).max())
        close(sparse.block(x, a_set), dense.block(x, a_set))
        close(sparse.back_free(r, a_set, x, 1.5), dense.back_free(r, a_set, x, 1.5))
        assert sparse.squared_norms(a_set) == pytest.approx(dense.squared_norms(a_set), 1e-12)
    z = dense.z(x)
    close(sparse.z(x), z)
    close(sparse.grad(x, z), obj.grad(x))
    close(sparse.times(x), z)
    close(sparse.back(r), dense.back(r))
    close(sparse.column(9), dense.B[:, 9])  # (B: the labels times A)


def test_sparse_columns_handed_out_keep_their_entries() -> None:
    # The sliding columns live in buffers that an index joining appends to: a matrix of
    # the columns handed out before (a CG loop's, a mode's) keeps its entries when the
    # set grows and when another set is gathered.
    import scipy.sparse

    from filippov._continuation_path import _ColumnStore

    A = scipy.sparse.random_array((50, 30), density=0.3, rng=np.random.default_rng(2))
    csc = scipy.sparse.csc_array(A)
    dense = A.toarray()
    store = _ColumnStore(csc)
    kept = []
    for S in ([4, 1], [4, 1, 20], [4, 1, 20, 0], [3], [3, 29], [4, 1, 20, 0, 7]):
        store.hold(np.array(S))
        kept.append((S, store.matrix(), store.matrix32()))
    for S, matrix, matrix32 in kept:
        np.testing.assert_array_equal(matrix.toarray(), dense[:, S])
        np.testing.assert_array_equal(matrix32.toarray(), dense[:, S].astype(np.float32))


def test_a_measurement_that_does_not_fall_with_the_step_is_a_floor() -> None:
    from filippov._continuation_path import at_error_floor

    start, other = object(), object()
    # An interpolation error falls as h⁴: by 2.4 when the step shrinks by 1.25.
    assert not at_error_floor(None, start, 0.1, 5.0)
    assert not at_error_floor((start, 1.0, 8.0), start, 0.5, 0.5)  # fell 16-fold: real
    assert at_error_floor((start, 1.0, 8.0), start, 0.5, 6.0)  # did not halve: floor
    assert at_error_floor((start, 1.0, 8.0), start, 0.8, 4.0)
    assert not at_error_floor((start, 1.0, 8.0), start, 0.9, 8.0)  # (step not shorter enough)
    assert not at_error_floor((other, 1.0, 8.0), start, 0.5, 8.0)  # (from another point)


def test_a_non_finite_hessian_at_a_trial_point_only_shortens_the_step() -> None:
    # A stranger review's objective whose Hessian is infinite within 1.5 of c. The tangent
    # solve at a long step's trial point, 4.6 from any state the flow reached, ended the
    # run with status -1 at t = 7.13 and no state in the message (the driver's generic
    # failure); the flow first meets the region at t = 10.92, where the event path stops
    # -3. Such a trial point now shortens the step, as a corrector's does.
    rng = np.random.default_rng(0)
    for _ in range(3):  # (the review's third draw)
        n = int(rng.integers(2, 12))
        A = rng.normal(size=(n + 2, n))
        c = rng.normal(size=n) + 3
        bad_within = 1.0 + rng.uniform(0, 1)
        x0 = c + rng.normal(size=n) * 3 + 4
    mu = 0.3

    def hess(x: np.ndarray) -> np.ndarray:
        H = A.T @ A + mu * np.eye(n) + np.diag(0.09 * np.cosh(0.3 * (x - c)))
        return H * np.inf if np.linalg.norm(x - c) < bad_within else H

    obj = Objective(
        lambda x: float(
            0.5 * np.sum((A @ (x - c)) ** 2)
            + 0.5 * mu * np.sum((x - c) ** 2)
            + np.sum(np.cosh(0.3 * (x - c)))
        ),
        lambda x: A.T @ (A @ (x - c)) + mu * (x - c) + 0.3 * np.sinh(0.3 * (x - c)),
        hess,
        n=n,
    )
    flow = fp.steepest_descent_flow(obj, "linf")
    events = fp.solve(flow, x0, (0.0, 60.0), method="events")
    cont = fp.solve(flow, x0, (0.0, 60.0), method="continuation")
    assert events.status == cont.status == -3, (events.message, cont.message)
    assert abs(cont.t[-1] - events.t[-1]) <= 1e-6 * events.t[-1]
    assert "x = [" in cont.message
    # (where the run stops, the flow is at the region's edge, not 4.6 away from it)
    assert np.linalg.norm(cont.x[-1] - c) <= bad_within + 1e-6
    ts = np.linspace(0.0, cont.t[-1], 101)
    np.testing.assert_allclose(cont(ts), events(ts), atol=1e-6)


@pytest.mark.parametrize(("seed", "rtol"), [(18, 1e-8), (15, 1e-8)])
def test_greedy_flow_events_are_located_on_the_curve_to_rounding(seed: int, rtol: float) -> None:
    # ℓ1 flows of the scaled softplus family: the tie's join guards move slowly, so an
    # event located on iterates corrected only to the tolerance was late by up to 1e-6
    # (state error 0.1 tolerances there, but 20-38 tolerances after the event, status 0).
    # The iterates are corrected to rounding now (the tolerance where that fails).
    obj, x0, T = _scaled_softplus(seed)
    flow = fp.steepest_descent_flow(obj, "l1")
    ref = fp.solve(flow, x0, (0.0, T), method="events", rtol=1e-12, atol=1e-14)
    sol = fp.solve(flow, x0, (0.0, T), method="continuation", rtol=rtol, atol=rtol / 100)
    assert sol.status == ref.status == 0, (sol.message, ref.message)
    assert [(e.kind, e.indices) for e in sol.events] == [(e.kind, e.indices) for e in ref.events]
    ts = np.linspace(0.0, T, 3001)
    X = ref(ts)
    tol = rtol * np.abs(X).max(axis=1) + rtol / 100
    # (1.0 tolerance at most here, measured; 19.9 and 37.6 before)
    assert (np.abs(sol(ts) - X).max(axis=1) / tol).max() <= 3.0


def test_curve_dense_reads_its_nodes_as_its_spline_does():
    # At node times the dense output returns the node states without building the
    # spline (the self-check reads every segment's ends); they must be the spline's
    # values there, and other times still go through the spline.
    from scipy.interpolate import CubicHermiteSpline

    from filippov import _continuation_path as cp

    rng = np.random.default_rng(3)
    ts = np.cumsum(rng.uniform(0.1, 1.0, 6))
    XS, US = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    x0, sigma, S = rng.standard_normal(4), np.array([1.0, 0.0, -1.0, 0.0]), np.array([1, 3])
    dense = cp.CurveDense(x0, ts[0], sigma, S, ts, XS, US)
    spline = CubicHermiteSpline(ts, XS, US, axis=0)
    for query in (ts, ts[[0, -1]], np.array([ts[2], 0.5 * (ts[2] + ts[3])])):
        got = dense(query)
        np.testing.assert_allclose(got[:, S], spline(query), rtol=0, atol=1e-14)
        np.testing.assert_allclose(
            got[:, [0, 2]], x0[[0, 2]] - np.outer(query - ts[0], sigma[[0, 2]]), rtol=0, atol=1e-14
        )
    # (outside the nodes' span the sliding part is held at the ends, as before)
    np.testing.assert_allclose(dense(np.array([ts[-1] + 1.0]))[:, S], XS[[-1]], rtol=0, atol=1e-14)


@pytest.mark.parametrize(
    "x0",
    [[0.70675741, -1.75678915, 0.22238447], [0.54784675, -0.92085314, -1.8361059]],
)
def test_an_entry_the_curve_does_not_confirm_is_not_taken(x0: list[float]) -> None:
    """Near the minimizer of a Rosenbrock function at rtol 1e-4 a step's end read the last
    free partial ∂_2 f ≥ 0 from the gradient before the corrector's last correction (off
    by ‖H‖·tol ≈ 0.01, more than ∂_2 f itself); the curve never confirmed the sign change,
    but the entry was taken at the step's end anyway: a stationary point with
    ∂_2 f = -0.013, 0.016 from the minimizer (1, 1, 1), reported with status 1 (for the
    second start: a spurious tangency, then status -5). Checked against the closed-form
    minimizer."""
    obj = Objective.from_expr(
        "100*(x1 - x0**2)**2 + (1 - x0)**2 + 100*(x2 - x1**2)**2 + (1 - x1)**2",
        ["x0", "x1", "x2"],
    )
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"),
        x0,
        t_span=(0.0, 10.0),
        rtol=1e-4,
        atol=1e-6,
        method="continuation",
    )
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol.x[-1], np.ones(3), atol=1e-8)
    assert not [e for e in sol.events if e.kind == "tangency"]
