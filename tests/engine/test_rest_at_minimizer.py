"""A steepest-descent flow started at (or within rounding of) a minimizer is at rest.

The minimizers are computed here, independently of the paths: scipy's BFGS, polished by
Newton's method with the dense Hessian. Every run, on both general paths and for both the
ℓ1 (greedy) and the ℓ∞ (sign) flow, must end with status 1, keep the state at the
minimizer (to the distance the start's gradient allows) and record a rest whose relay
values vanish: for these flows ``ẋ = −λ`` (``f0 = 0``, ``B = I``), so a rest recorded
with ``λ ≠ 0`` is no rest.
"""

from __future__ import annotations

import numpy as np
import problems as P
import pytest
from scipy.optimize import minimize

import filippov as fp
from filippov.objectives import Objective, mlp_classifier, ridge_logistic

#: A convex objective whose partials 2 and 4 vanish exactly wherever x2 = x4 = 0 (they
#: enter only through even separable terms): the review's reproduction of a false -5.
_SEPARABLE = (
    "0.711*cos(-0.058*x3 + 0.122) + 0.261*exp(1.092*x0 + 0.031) + 0.400*(x3 - 0.418)**4"
    " + 0.524*cos(1.423*x0 + -0.066) + 0.804*exp(-1.135*x3 + -1.432) + 0.523*x3*x1"
    " + 0.431*(x0**2 + x1**2 + x2**2 + x3**2 + x4**2) + 0.05*(x0**4 + x1**4 + x2**4 + x3**4"
    " + x4**4)"
)


def _minimizer(obj: Objective, x0: np.ndarray) -> np.ndarray:
    """scipy's BFGS, then Newton steps with the dense Hessian (to rounding)."""
    x = minimize(obj.f, x0, jac=obj.grad, method="BFGS", options={"gtol": 1e-10}).x
    for _ in range(6):
        x = x - np.linalg.solve(obj.hess(x), obj.grad(x))
    return np.asarray(x)


def _objectives() -> list[tuple[str, Objective, np.ndarray]]:
    rng = np.random.default_rng(3)
    A = rng.normal(size=(9, 4))
    y = rng.choice([-1.0, 1.0], size=9)
    X = rng.normal(size=(12, 2))
    labels = (X[:, 0] * X[:, 1] > 0).astype(int)
    convex = (
        "exp(0.3*x0 - 0.2*x1) + log(cosh(x0 + 0.5*x1 - 0.3)) + 0.2*(x0**2 + x1**2 + x2**2)"
        " + 0.1*(x2 - 0.4)**4 + 0.3*x1*x2"
    )
    mlp = mlp_classifier(X, labels, hidden=2, weight_decay=0.05)
    assert mlp.n is not None
    return [
        (
            "separable",
            Objective.from_expr(_SEPARABLE, variables=[f"x{i}" for i in range(5)]),
            np.zeros(5),
        ),
        ("convex", Objective.from_expr(convex, variables=["x0", "x1", "x2"]), np.zeros(3)),
        ("ridge_logistic", ridge_logistic(A, y, lam=0.1), np.zeros(4)),
        ("mlp", mlp, np.full(mlp.n, 0.3)),
    ]


def _check_rest(obj: Objective, sol: fp.FilippovSolution, x_star: np.ndarray, g0: float) -> None:
    assert sol.status == 1, sol.message
    assert sol.events[-1].kind == "stationary"
    # The state stays at the minimizer: within the start's gradient over the Hessian's
    # smallest eigenvalue (and a little rounding) of it, at every time.
    lam_min = float(np.linalg.eigvalsh(obj.hess(x_star))[0])
    reach = 4.0 * g0 / lam_min + 1e-12
    ts = np.linspace(sol.t[0], sol.t[-1], 9)
    assert np.abs(sol(ts) - x_star).max() <= reach
    rest = sol.segments[-1]
    assert rest.kind == "stationary"
    # ẋ = −λ for these flows: the rest's relay values are its velocity.
    assert np.abs(np.asarray(rest.lam)).max() <= 1e-9
    assert np.abs(obj.grad(sol(sol.t[-1]))).max() <= max(4.0 * g0, 1e-12)


@pytest.mark.parametrize("norm", ["l1", "linf"])
@pytest.mark.parametrize("method", ["events", "continuation"])
def test_start_at_a_minimizer_is_a_rest(norm: str, method: str) -> None:
    # Starts at the minimizer and 1e-13 .. 1e-9 from it, some coordinates exactly at the
    # minimizer's (on the separable objective: its exactly zero partials). The old event
    # path recorded the greedy flow's rest with λ of size 1 where partials were exactly 0
    # (a tie joined by them, status -5).
    rng = np.random.default_rng(11)
    for _, obj, x0 in _objectives():
        x_star = _minimizer(obj, x0)
        flow = fp.steepest_descent_flow(obj, norm=norm)
        for scale in (0.0, 1e-13, 1e-11, 1e-9):
            xp = x_star + scale * rng.normal(size=x_star.size)
            xp[::2] = x_star[::2]
            g0 = float(np.abs(obj.grad(xp)).max())
            sol = fp.solve(flow, xp, (0.0, 2.0), method=method)
            _check_rest(obj, sol, x_star, g0)


def test_greedy_events_rest_where_partials_vanish_exactly() -> None:
    # The review's start: a minimizer to BFGS's accuracy (|∇f| = 5e-11), partials 2 and 4
    # exactly 0. The old event path joined them to the tie (sign 0) and ended -5 with the
    # rest's velocity component 0 at -0.23.
    obj = Objective.from_expr(_SEPARABLE, variables=[f"x{i}" for i in range(5)])
    xs = np.array([-0.8261203995274621, -0.1694380153627147, 0.0, 0.2811251560591206, 0.0])
    x_star = _minimizer(obj, xs)
    assert x_star[2] == 0.0 and x_star[4] == 0.0  # (the symmetric coordinates)
    flow = fp.steepest_descent_flow(obj, norm="l1")
    for method in ("events", "continuation"):
        sol = fp.solve(flow, xs, (0.0, 3.0), method=method)
        _check_rest(obj, sol, x_star, float(np.abs(obj.grad(xs)).max()))
    # And 1e-13 from it, where every |∂ᵢf| ties 0 at the tie tolerance (the initial tie
    # took the exactly zero partials as members with sign 0).
    xp = x_star + np.array([2e-13, -1e-13, 0.0, 1e-13, 0.0])
    sol = fp.solve(flow, xp, (0.0, 3.0), method="events")
    _check_rest(obj, sol, x_star, float(np.abs(obj.grad(xp)).max()))


def test_certify_rejects_a_rest_recorded_with_a_moving_relay() -> None:
    # A greedy-flow rest at the minimizer of a quadratic (closed form: x* = A⁻¹b) recorded
    # with λ on the tie's simplex (‖λ‖₁ = 1, velocity −λ), as the old event path did: the
    # self-check judged only h = 0 at such a rest and let it pass.
    from filippov._certify import STATUS_UNCERTIFIED, certify
    from filippov._recorder import Recorder, make_mode

    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    b = np.array([1.0, -1.0])
    obj = Objective.quadratic(A, -b)
    x_star = np.linalg.solve(A, b)
    assert np.abs(obj.grad(x_star)).max() <= 1e-15
    system = fp.steepest_descent_flow(obj, norm="l1")
    mode = make_mode("linf", np.zeros(2), np.arange(2))
    for lam, expected in ((np.array([0.4, -0.6]), STATUS_UNCERTIFIED), (np.zeros(2), 1)):
        rec = Recorder(0.0, x_star, "events")
        rec.linear_segment(0.0, 1.0, x_star, np.zeros(2), mode, lam, kind="stationary")
        rec.t.append(1.0)
        rec.x.append(x_star.copy())
        status, message = certify(system, rec, 1, "stationary point reached at t = 0")
        assert status == expected, message


def test_the_rest_tests_cholesky_step_agrees_with_a_direct_solve_and_declines_the_rest() -> None:
    """`_spd_step` (the end-of-run rest test's Newton step, by a Cholesky factor instead of
    an SVD) is ``M⁻¹h`` on symmetric positive definite matrices, and declines (None) any
    other matrix, so that the SVD path judges those as before."""
    from filippov._certify import _spd_step

    rng = np.random.default_rng(5)
    for k in (1, 7, 60):
        Q = rng.standard_normal((k, k))
        M = Q @ Q.T + 0.1 * np.eye(k)
        M = 0.5 * (M + M.T)
        h = rng.standard_normal(k)
        step = _spd_step(M, h)
        assert step is not None
        np.testing.assert_allclose(
            M @ step, h, rtol=0, atol=1e-9 * np.abs(M).max() * np.abs(step).max()
        )
    assert _spd_step(np.array([[1.0, 2.0], [0.0, 1.0]]), np.ones(2)) is None  # not symmetric
    assert _spd_step(np.diag([1.0, -1.0]), np.ones(2)) is None  # indefinite
    assert _spd_step(np.ones((2, 3)), np.ones(2)) is None  # not square
    assert _spd_step(np.diag([1.0, np.nan]), np.ones(2)) is None  # not finite
    # Symmetric to rounding (a sparse Hessian made dense sums its entries in another order
    # than its transpose's): taken, as its symmetric part; asymmetric beyond it: declined.
    Q = rng.standard_normal((30, 30))
    M = Q @ Q.T + np.eye(30)
    h = rng.standard_normal(30)
    nudged = M + np.triu(np.full((30, 30), 4 * np.finfo(float).eps * np.abs(M).max()), 1)
    step = _spd_step(nudged, h)
    assert step is not None
    np.testing.assert_allclose(step, np.linalg.solve(M, h), rtol=1e-8)
    assert _spd_step(M + np.triu(np.full((30, 30), 1e-6), 1), h) is None


@pytest.mark.parametrize(
    ("expr", "x0", "rate"),
    [
        # f = g(a·x), a valley of minimizers a·x = 0: the sign flow moves every coordinate
        # at unit speed, a·x falls at ‖a‖₁ until it reaches 0 at t* = a·x0 / ‖a‖₁
        ("log(cosh(x0 + x1))", [1.0, 0.5], [1.0, 1.0]),
        ("0.5*(x0 + x1)**2", [1.0, 0.5], [1.0, 1.0]),
        ("log(cosh(x0 + 2*x1))", [1.0, 0.5], [1.0, 2.0]),
        ("log(cosh(x0 + x1 + x2))", [1.0, 0.5, -0.2], [1.0, 1.0, 1.0]),
    ],
)
def test_the_event_path_rests_in_a_valley_of_minimizers(
    expr: str, x0: list[float], rate: list[float]
) -> None:
    """The sign flow of ``g(a·x)`` (``a > 0``) from ``a·x0 > 0``: ``x(t) = x0 − t·1`` until
    ``a·x = 0`` at ``t* = a·x0/‖a‖₁``, where every partial ``g'(0) a_i`` vanishes and the
    flow rests. The Hessian ``g''(0) a aᵀ`` is singular: staying is not the only solution
    (any motion along the valley at speed ≤ 1 keeps ``∇f = 0``), so the rest is flagged.

    Why: the event path took the arrival for a sliding mode on every index, whose selection
    block ``M = g'' a aᵀ`` has condition number inf, and ended −5 ("precision lost") at
    the correct rest, where the exact and continuation paths end with status 1."""
    names = [f"x{i}" for i in range(len(x0))]
    obj = Objective.from_expr(expr, names)
    start, a = np.asarray(x0), np.asarray(rate)
    t_star = float(a @ start) / float(a.sum())
    x_star = start - t_star
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 5.0), method="events")
    assert sol.status == 1, sol.message
    rest = sol.events[-1]
    assert rest.kind == "stationary" and rest.unique is False
    assert rest.t == pytest.approx(t_star, rel=1e-9)
    t = np.linspace(0.0, 5.0, 41)
    expected = start - np.minimum(t, t_star)[:, None]
    np.testing.assert_allclose(sol(t), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(sol.x[-1], x_star, rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", [0, 3])
def test_the_event_path_rests_where_a_duplicated_feature_zeroes_the_gradient(seed: int) -> None:
    """Logistic regression without a ridge and two equal columns (``∂₀f ≡ ∂₁f``): a valley
    of minimizers. The event path ended −5 ("precision lost", condition number inf) when
    its last pair of partials reached 0 together, at the rest itself. Independent checks:
    the gradient vanishes there, x₀ − x₁ never changes (equal partials, equal relay
    values), every coordinate moved at speed ≤ 1, and the continuation path (another
    code path) rests at the same state."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(30, 4))
    A[:, 1] = A[:, 0]
    y = np.where(A @ rng.normal(size=4) + rng.normal(size=30) > 0, 1.0, -1.0)
    obj = ridge_logistic(A, y, lam=0.0)
    x0 = np.random.default_rng(7).normal(size=4)
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, x0, (0.0, 10.0), method="events")
    assert sol.status == 1, sol.message
    rest = sol.events[-1]
    assert rest.kind == "stationary" and rest.unique is False
    assert np.max(np.abs(obj.grad(sol.x[-1]))) < 1e-11
    X = sol(np.linspace(0.0, 10.0, 101))
    np.testing.assert_allclose(X[:, 0] - X[:, 1], x0[0] - x0[1], rtol=0, atol=1e-12)
    assert rest.t >= np.max(np.abs(sol.x[-1] - x0)) - 1e-9
    ref = fp.solve(flow, x0, (0.0, 10.0), method="continuation")
    assert ref.status == 1, ref.message
    np.testing.assert_allclose(sol.x[-1], ref.x[-1], rtol=0, atol=1e-8)
    assert rest.t == pytest.approx(ref.events[-1].t, rel=1e-8)


@pytest.mark.parametrize("x0", [[-1.2, 1.0], [3.0, -2.0], [2.0, 2.0]])
def test_a_degenerate_minimum_says_how_well_its_rest_is_known(x0: list[float]) -> None:
    # (review R29) At a degenerate minimum (f ~ (x0 − 1)⁴ along the valley of a
    # Rosenbrock-like term) the gradient is at its rounding over a ball of radius ~1e-6:
    # at rtol 1e-12 the sign flow rests 1e-6 from the minimizer (1, 1), a million
    # tolerances, and the message said nothing. It now gives the Newton step to where the
    # gradient vanishes, which is within a small factor of the true distance (e/3 for a
    # quartic); at rtol 1e-6 the rest is within the self-check's drift tolerance: no note.
    obj = Objective.from_expr("(x0-1)**4 + 0.5*(x1-x0**2)**2", ["x0", "x1"])
    flow = fp.steepest_descent_flow(obj, "linf")
    tight = fp.solve(flow, np.array(x0), (0, 100.0), method="continuation", rtol=1e-12,
                     atol=1e-14)  # fmt: skip
    assert tight.status == 1, tight.message
    distance = float(np.max(np.abs(tight.x[-1] - 1.0)))
    assert distance > 1e-8  # (if the rest gets this close, the case no longer tests the note)
    said = float(tight.message.split("determined to about ")[1].split(" only")[0])
    assert distance / 10 <= said <= 2 * distance
    loose = fp.solve(flow, np.array(x0), (0, 100.0), method="continuation", rtol=1e-6,
                     atol=1e-8)  # fmt: skip
    assert loose.status == 1 and "determined to about" not in loose.message
    assert np.max(np.abs(loose.x[-1] - 1.0)) <= 1e-4


@pytest.mark.parametrize(("p", "q", "seed"), [(4, 3, 0), (4, 3, 2), (6, 5, 0), (8, 6, 2)])
def test_the_greedy_flows_rest_on_a_factorization_valley_is_flagged(
    p: int, q: int, seed: int
) -> None:
    """A rank-1 factorization without a ridge: every minimizer lies on a valley
    (``U → cU, V → V/c``) where the Hessian is singular, so staying is not the only
    solution there (the path along the valley is one too). The greedy flow's event path
    read the Hessian at its event state, where the flat eigenvalue was still 6e-12 of the
    largest (the state a few tolerances off the valley), and flagged its rest unique,
    without the note; the continuation path flags the same rests. Independent checks: the
    gradient vanishes at the rest, and the Hessian there has an eigenvalue at rounding."""
    obj, x0 = P.rank_one_factorization(p, q, seed)
    flow = fp.steepest_descent_flow(obj, "l1")
    sol = fp.solve(flow, x0, (0.0, 100.0), method="events")
    assert sol.status == 1, sol.message
    rest = sol.events[-1]
    assert np.max(np.abs(obj.grad(rest.x))) < 1e-12
    eig = np.linalg.eigvalsh(obj.hess(rest.x))
    assert abs(eig[0]) < 1e-12 * eig[-1]
    assert rest.kind == "stationary" and rest.unique is False
    assert "no P-matrix" in rest.note and "no P-matrix" in sol.message
    ref = fp.solve(flow, x0, (0.0, 100.0), method="continuation")
    assert ref.status == 1 and ref.events[-1].unique is False, ref.message


def test_the_greedy_flows_rest_at_a_strict_minimum_stays_unique() -> None:
    # (the other side of the test above: a ridge makes the minimizer strict)
    rng = np.random.default_rng(5)
    A = rng.standard_normal((40, 6))
    y = np.where(A @ rng.standard_normal(6) + rng.standard_normal(40) > 0, 1.0, -1.0)
    obj = ridge_logistic(A, y, lam=0.1)
    flow = fp.steepest_descent_flow(obj, "l1")
    sol = fp.solve(flow, rng.standard_normal(6), (0.0, 50.0), method="events")
    assert sol.status == 1, sol.message
    assert sol.events[-1].kind == "stationary" and sol.events[-1].unique is True
    assert "P-matrix" not in sol.message
