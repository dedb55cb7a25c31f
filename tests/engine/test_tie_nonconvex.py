"""The ℓ1 (greedy) flow's tie modes on nonconvex objectives, on the continuation path.

A tie needs its Hessian block positive definite only on the tie's tangent space
``σ_Tᵀd = 0``; the path refused any tie block without a Cholesky factor before (status −4
at the first one, "k-th leading minor ... not positive definite"). Checked against closed
forms (quadratics given as callables: the path does not know they are quadratic), the event
path on random networks (an independent integrator of the same inclusion, with the same
simplex VI at its tie facets), and the invariants of the greedy flow's Filippov solution.
"""

from __future__ import annotations

import numpy as np
import problems as P
import pytest
from test_tie_continuation import check_continuity, check_greedy_velocities, same_events

import filippov as fp
import filippov._tie_continuation as tc
from filippov.objectives import Objective, linear_model, mlp_classifier, mlp_init
from filippov.selection import simplex_twins

# A saddle in (x0, x1): H_TT has eigenvalue −3 along σ_T = (1, 1) and +1 along (1, −1),
# the tie's tangent space, so the tie of x0 and x1 attracts (each alone would fall behind
# the other) while its value rises: ċ = −1/(σᵀH⁻¹σ) = 3/2.
H_SADDLE = np.array([[-1.0, -2.0, 0.0], [-2.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
B_SADDLE = np.array([1.0, 1.0, 0.0])


def saddle() -> Objective:
    H, b = H_SADDLE, B_SADDLE
    return Objective(
        lambda x: 0.5 * x @ H @ x + b @ x, lambda x: H @ x + b, lambda x: H, n=3, name="saddle"
    )


def count_shifted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every tie block factored with the shift (see `_TieBlock`)."""
    sizes: list[int] = []
    shifted = tc._TieBlock._refresh_shifted

    def counting(self: tc._TieBlock, x: np.ndarray) -> None:
        shifted(self, x)
        sizes.append(int(self.S.size))

    monkeypatch.setattr(tc._TieBlock, "_refresh_shifted", counting)
    return sizes


def test_tie_with_an_indefinite_block_rises_as_the_closed_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # From (0, 0, 1/2): ∇f = (1, 1, 1/2), x0 and x1 tied from the start with weights
    # 1/2 each; ∂_2 f stays 1/2. Closed form: x0 = x1 = −t/2, c = 1 + 3t/2.
    shifted = count_shifted(monkeypatch)
    obj = saddle()
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "l1"), [0.0, 0.0, 0.5], (0.0, 2.0), method="continuation"
    )
    assert sol.status == 0, sol.message
    assert 2 in shifted
    assert [(e.kind, e.indices, e.unique) for e in sol.events] == [("tie-entry", (0, 1), True)]
    ts = np.linspace(0.0, 2.0, 21)
    closed = np.column_stack([-ts / 2, -ts / 2, np.full(ts.size, 0.5)])
    np.testing.assert_allclose(sol(ts), closed, rtol=0, atol=1e-12)
    g_end = obj.grad(sol.x[-1])
    np.testing.assert_allclose(g_end[:2], 1.0 + 1.5 * 2.0, rtol=1e-12)
    check_greedy_velocities(obj, sol)


def test_join_into_a_repelling_tie_takes_the_simplex_vi_as_the_event_path() -> None:
    # From (0, 0, 3/2): x2 alone descends until ∂_2 f = 3/2 − t meets the tie of x0, x1
    # at t = 1/2. The three-index block is not positive definite on σᵀd = 0 (along
    # (1, 1, −2) its curvature is −2): the simplex VI is not monotone and decides by
    # enumeration. Its only solution moves x0 and x1 (x2 alone would fall below them,
    # every support with x2 has a negative weight, x0 or x1 alone lets the other's |∂f|
    # grow past its own), every support's KKT system is regular or inconsistent, and the
    # tie it holds attracts (with w0 > w1, ∂_1 f grows faster, and x1 takes more): unique,
    # on both paths. (It was flagged not unique while every non-monotone VI was; stranger
    # fuzz fz13.)
    obj = saddle()
    system = fp.steepest_descent_flow(obj, "l1")
    sol = fp.solve(system, [0.0, 0.0, 1.5], (0.0, 2.0), method="continuation")
    ref = fp.solve(system, [0.0, 0.0, 1.5], (0.0, 2.0), method="events")
    assert sol.status == ref.status == 0, sol.message
    assert [(e.kind, e.indices, e.unique) for e in sol.events] == [
        ("crossing", (0, 1), True),
        ("tie-exit", (2,), True),
    ]
    assert [e.unique for e in ref.events] == [True, True]
    same_events(sol, ref, atol=1e-12)
    assert sol.events[0].t == pytest.approx(0.5, abs=1e-12)
    ts = np.linspace(0.0, 2.0, 21)
    after = np.maximum(ts - 0.5, 0.0)
    closed = np.column_stack([-after / 2, -after / 2, 1.5 - np.minimum(ts, 0.5)])
    np.testing.assert_allclose(sol(ts), closed, rtol=0, atol=1e-12)
    check_greedy_velocities(obj, sol)
    check_continuity(sol)


def repelling_quartic() -> Objective:
    # f = x0 + x1 + (x0² + x1²)/2 + 2 x0 x1 + (x0⁴ + x1⁴)/10: at 0 the gradient (1, 1) ties
    # both indices and H = [[1, 2], [2, 1]] has curvature −2 on the tie's tangent (1, −1).
    def f(x: np.ndarray) -> float:
        return float(x[0] + x[1] + 0.5 * (x @ x) + 2 * x[0] * x[1] + 0.1 * np.sum(x**4))

    def grad(x: np.ndarray) -> np.ndarray:
        return 1.0 + x + 2.0 * x[::-1] + 0.4 * x**3

    def hess(x: np.ndarray) -> np.ndarray:
        return np.array([[1.0, 2.0], [2.0, 1.0]]) + np.diag(1.2 * x**2)

    return Objective(f, grad, hess, n=2, name="repelling quartic")


@pytest.mark.parametrize("method", ["continuation", "events"])
def test_repelling_tie_is_followed_as_the_minimal_norm_selection_and_flagged(method) -> None:
    # The simplex VI of the weights has three solutions at 0 (each index alone, which the
    # other then outruns, and (1/2, 1/2), which keeps the tie); like the exact path on a
    # quadratic, both paths follow the minimal-norm one, flagged not unique. Before, the
    # continuation path ended −4 (no Cholesky factor for any shift) and the event path
    # flagged the tie unique. By symmetry x0 = x1 = −t/2 until the tie value 1 + 3s + 0.4s³
    # (s = −t/2) reaches 0: a saddle, where resting is not the only solution either.
    obj = repelling_quartic()
    sol = fp.solve(fp.steepest_descent_flow(obj, "l1"), [0.0, 0.0], (0.0, 2.0), method=method)
    assert sol.status == 1, sol.message
    s_star = float(np.real(min(r for r in np.roots([0.4, 0.0, 3.0, 1.0]) if abs(r.imag) < 1e-12)))
    t_star = -2.0 * s_star
    assert [(e.kind, e.indices, e.unique) for e in sol.events] == [
        ("tie-entry", (0, 1), False),
        ("stationary", (0, 1), False),
    ]
    assert sol.events[1].t == pytest.approx(t_star, abs=1e-9)
    ts = np.linspace(0.0, 2.0, 41)
    closed = -0.5 * np.minimum(ts, t_star)
    np.testing.assert_allclose(sol(ts), np.column_stack([closed, closed]), rtol=0, atol=1e-9)
    check_greedy_velocities(obj, sol)
    check_continuity(sol)


def started_on_a_repelling_tie(seed: int) -> tuple[Objective, np.ndarray]:
    """A random quartic whose gradient at 0 ties k ≥ 2 indices, the first two coupled so
    that the tie's simplex VI is not monotone (each of them alone is a solution too)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    Q = rng.standard_normal((n, n))
    H = 0.5 * (Q + Q.T) + rng.uniform(-1.0, 2.0) * np.eye(n)
    b = rng.uniform(0.1, 0.9, n) * rng.choice([-1.0, 1.0], n)
    k = int(rng.integers(2, n + 1))
    b[:k] = rng.choice([-1.0, 1.0], k)
    H[0, 1] = H[1, 0] = b[0] * b[1] * (max(H[0, 0], H[1, 1]) + rng.uniform(0.1, 2.0))
    return quartic(H, b, rng.uniform(0.05, 0.5)), np.zeros(n)


def quartic(H: np.ndarray, b: np.ndarray, c4: float) -> Objective:
    """``½ xᵀHx + bᵀx + c4 Σ x⁴`` with its gradient and Hessian."""
    return Objective(
        lambda x: float(0.5 * x @ H @ x + b @ x + c4 * np.sum(x**4)),
        lambda x: H @ x + b + 4.0 * c4 * x**3,
        lambda x: H + np.diag(12.0 * c4 * x**2),
        n=b.size,
    )


@pytest.mark.parametrize("seed", range(6))
def test_random_repelling_ties_match_the_event_path(seed: int) -> None:
    # Inputs the tests did not choose: both paths follow the same selections (the event
    # logs with their uniqueness flags agree) and stay within the event path's accuracy
    # on a repelling tie (its default and tight runs differ by up to 3e-6 there, the
    # continuation path's by 1e-10). Before, the continuation path ended −4 at t = 0, and
    # with one shift kept along the tie −1 where that H̃ became singular.
    obj, x0 = started_on_a_repelling_tie(seed)
    system = fp.steepest_descent_flow(obj, "l1")
    sol = fp.solve(system, x0, (0.0, 3.0), method="continuation")
    ref = fp.solve(system, x0, (0.0, 3.0), method="events")
    assert sol.status == ref.status and sol.status in (0, 1), sol.message
    assert sol.events[0].kind == "tie-entry" and not sol.events[0].unique
    assert [(e.kind, e.indices, e.unique) for e in sol.events] == [
        (e.kind, e.indices, e.unique) for e in ref.events
    ]
    ts = np.linspace(0.0, 3.0, 301)
    np.testing.assert_allclose(sol(ts), ref(ts), rtol=0, atol=2e-5)
    check_greedy_velocities(obj, sol)
    check_continuity(sol)


def test_single_index_with_negative_curvature_descends_as_the_closed_form() -> None:
    # f = −x0²/2 + x0 + x1²/2 + x1/2 from 0: ∂_0 f = 1 + t rises ahead of ∂_1 f = 1/2
    # while x0 alone moves (a one-index tie: no tangent space, any H_00 ≠ 0 will do).
    H, b = np.diag([-1.0, 1.0]), np.array([1.0, 0.5])
    obj = Objective(
        lambda x: 0.5 * x @ H @ x + b @ x, lambda x: H @ x + b, lambda x: H, n=2, name="concave"
    )
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "l1"), [0.0, 0.0], (0.0, 3.0), method="continuation"
    )
    assert sol.status == 0, sol.message
    assert len(sol.events) == 0
    ts = np.linspace(0.0, 3.0, 13)
    np.testing.assert_allclose(sol(ts), np.column_stack([-ts, 0 * ts]), rtol=0, atol=1e-12)


def callables(H: np.ndarray, b: np.ndarray, name: str) -> Objective:
    return Objective(
        lambda x: 0.5 * x @ H @ x + b @ x, lambda x: H @ x + b, lambda x: H, n=b.size, name=name
    )


def test_singular_tie_block_keeps_the_tie_value_as_the_closed_form() -> None:
    # f = (x0 + x1)²/2 + x0 − x1 + x2²/2 + x2/2 from 0: x0 and x1 tie (σ = (1, −1)) with
    # H_TT = [[1, 1], [1, 1]] singular, positive on the tangent (1, 1): ẋ = (−1/2, 1/2)
    # leaves ∇f unchanged (ċ = 0). The path divided by zero there (Sherman–Morrison on
    # the shifted factor) before the tie's equations were written with the factor itself.
    H = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    b = np.array([1.0, -1.0, 0.5])
    flow = fp.steepest_descent_flow(callables(H, b, "singular tie"), "l1")
    sol = fp.solve(flow, np.zeros(3), (0.0, 2.0), method="continuation")
    exact = fp.steepest_descent_flow(Objective.quadratic(H, b), "l1")
    ref = fp.solve(exact, np.zeros(3), (0.0, 2.0), method="exact")
    assert sol.status == ref.status == 0, sol.message
    same_events(sol, ref, atol=1e-12)
    ts = np.linspace(0.0, 2.0, 11)
    closed = np.column_stack([-ts / 2, ts / 2, 0 * ts])
    np.testing.assert_allclose(sol(ts), closed, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ref(ts), closed, rtol=0, atol=1e-12)


def test_large_indefinite_tie_is_solved_in_double_precision() -> None:
    # Every index tied from the start, H_TT = I − 2·11ᵀ/n + 0.3 E (n = 100): negative
    # along σ = 1, positive on the tangent. Its shifted factor is the solve itself: it was
    # applied in single precision above 64 indices (residuals 1e-6, and 1691 refactors on
    # a two-second run, 55 s). Against the exact path of the same quadratic.
    n = 100
    rng = np.random.default_rng(0)
    E = rng.standard_normal((n, n))
    H = np.eye(n) - 2.0 * np.ones((n, n)) / n + 0.3 * (E + E.T) / (2 * np.sqrt(n))
    b = np.ones(n)
    flow = fp.steepest_descent_flow(callables(H, b, "large tie"), "l1")
    sol = fp.solve(flow, np.zeros(n), (0.0, 2.0), method="continuation")
    exact = fp.steepest_descent_flow(Objective.quadratic(H, b), "l1")
    ref = fp.solve(exact, np.zeros(n), (0.0, 2.0), method="exact")
    assert sol.status == ref.status == 0, sol.message
    same_events(sol, ref, atol=1e-12)
    ts = np.linspace(0.0, 2.0, 21)
    np.testing.assert_allclose(sol(ts), ref(ts), rtol=0, atol=1e-12)
    assert sol.njev < 50  # (a factor per point, not a refactor per solve)


def test_trial_step_beyond_the_ties_region_is_shortened() -> None:
    # A random quartic with an indefinite quadratic part (the stranger review's seed 42 of
    # 200): a first step's midpoint left the region where the tie's block factors, and the
    # run ended −4 where the event path goes on. A step whose trial point has no factor
    # is now shortened, as one whose corrector fails.
    rng = np.random.default_rng(42)
    d = int(rng.integers(3, 7))
    W, a = rng.standard_normal((d + 1, d)), rng.uniform(0.1, 1.0, d + 1)
    Q = rng.standard_normal((d, d))
    H, b = 0.5 * (Q + Q.T), rng.standard_normal(d)
    obj = Objective(
        lambda x: 0.25 * a @ (W @ x) ** 4 + 0.5 * x @ H @ x + b @ x,
        lambda x: W.T @ (a * (W @ x) ** 3) + H @ x + b,
        lambda x: W.T @ ((3 * a * (W @ x) ** 2)[:, None] * W) + H,
        n=d,
        name="quartic",
    )
    x0 = rng.standard_normal(d)
    system = fp.steepest_descent_flow(obj, "l1")
    sol = fp.solve(system, x0, (0.0, 5.0), method="continuation")
    ref = fp.solve(system, x0, (0.0, 5.0), method="events")
    assert sol.status == ref.status and sol.status >= 0, sol.message
    same_events(sol, ref, atol=1e-7)
    ts = np.linspace(0.0, sol.t[-1], 101)
    np.testing.assert_allclose(sol(ts), ref(ts), rtol=0, atol=1e-8)
    check_greedy_velocities(obj, sol)


def test_join_as_the_tie_value_reaches_zero_is_the_rest() -> None:
    # Underdetermined least squares (4 samples, 6 weights): the sixth index joins the tie
    # as c reaches 0 on the valley of minimizers. The path took the join and followed the
    # valley at c = 0 (ċ = 0 on a singular Hessian) to t = 10, x5 from 0 to 4.8, and then
    # ended −4. Now it rests there, as the event path does (both runs then end −5: the
    # rest's selection is singular, which the driver's check reports).
    rng = np.random.default_rng(18)
    m, n = int(rng.integers(2, 5)), int(rng.integers(5, 8))
    A, y = rng.standard_normal((m, n)), rng.standard_normal(m)
    obj = callables(A.T @ A, -A.T @ y, "least squares")
    system = fp.steepest_descent_flow(obj, "l1")
    sol = fp.solve(system, np.zeros(n), (0.0, 10.0), method="continuation")
    ref = fp.solve(system, np.zeros(n), (0.0, 10.0), method="events")
    assert sol.status == ref.status
    same_events(sol, ref, atol=1e-9)
    assert sol.events[-1].kind == "stationary"
    assert np.abs(obj.grad(sol.x[-1])).max() <= 1e-12
    np.testing.assert_allclose(sol.x[-1], ref.x[-1], rtol=0, atol=1e-9)


@pytest.mark.parametrize(("seed", "hidden", "branch"), [(2, 4, "shift"), (1, 3, "lemke")])
def test_network_greedy_flow_matches_the_event_path(
    seed: int, hidden: int, branch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tanh network on random data (nonconvex). Before, the continuation path ended −4
    # at the first tie without a Cholesky factor (seed 2: at t = 1.57), and both paths
    # ended −4 at a tie of more than 12 indices whose simplex VI is not monotone (seed 1:
    # 16 at t = 5.98). Now the ties positive definite on their tangent spaces are
    # followed with the shifted factor, the others are decided by the simplex VI (by
    # Lemke's method above 12); the event path integrates the same inclusion
    # independently: same event log.
    import filippov.selection as selection

    shifted = count_shifted(monkeypatch)
    lemke: list[int] = []
    solve_lemke = selection._simplex_lemke

    def counting(M: np.ndarray, *args: float) -> np.ndarray:
        lemke.append(M.shape[0])
        return solve_lemke(M, *args)

    monkeypatch.setattr(selection, "_simplex_lemke", counting)
    rng = np.random.default_rng(seed)
    features = 3 if hidden == 3 else 2
    X, y = rng.standard_normal((40, features)), rng.integers(0, 3, 40)
    obj = mlp_classifier(X, y, hidden=hidden, weight_decay=1e-2 if hidden == 3 else 1e-3)
    x0 = mlp_init(features, 3, hidden=hidden, seed=seed)
    system = fp.steepest_descent_flow(obj, "l1")
    sol = fp.solve(system, x0, (0.0, 20.0), method="continuation")
    ref = fp.solve(system, x0, (0.0, 20.0), method="events")
    assert sol.method == "continuation"
    assert shifted if branch == "shift" else lemke, f"the case does not test the {branch}"
    assert sol.status == ref.status and sol.status >= 0, sol.message
    # (event times to 5e-6: a join guard can meet the tie tangentially, c − |∂_j f| ≈ kΔt²
    # with k ≈ 0.1 (seed 1, t = 2.2302), and each path's zero tolerance of 1e-14 then
    # places the time within √(1e-14/k) ≈ 3e-7 to 1e-6 of the other's at any rtol; the
    # states agree to 1e-8 below, and a wrong join would break them)
    same_events(sol, ref, atol=5e-6)
    assert [e.unique for e in sol.events] == [e.unique for e in ref.events]
    ts = np.linspace(0.0, 20.0, 201)
    np.testing.assert_allclose(sol(ts), ref(ts), rtol=0, atol=1e-8)
    check_greedy_velocities(obj, sol)
    check_continuity(sol)


def test_no_segment_shorter_than_the_ulp_of_its_time() -> None:
    # (From the stranger review.) Two joins 1e-15 apart at t = 19.005: the mode between
    # them ended at a τ below the ulp of t, and was recorded as a segment with t0 = t1,
    # whose dense output raised ("x must be strictly increasing").
    rng = np.random.default_rng(100)
    features, hidden, classes = (
        int(rng.integers(2, 4)),
        int(rng.integers(2, 5)),
        int(rng.integers(2, 4)),
    )
    X, y = rng.standard_normal((30, features)), rng.integers(0, classes, 30)
    obj = mlp_classifier(X, y, hidden=hidden, weight_decay=float(rng.choice([0.0, 1e-3, 1e-2])))
    x0 = mlp_init(features, classes, hidden=hidden, seed=0)
    sol = fp.solve(fp.steepest_descent_flow(obj, "l1"), x0, (0.0, 20.0), method="continuation")
    assert sol.status >= 0, sol.message
    assert any(abs(e.t - 19.005247) < 1e-6 for e in sol.events)
    for seg in sol.segments:
        assert seg.t1 > seg.t0
        seg.dense(np.array([seg.t0, seg.t1]))
    # (the sub-ulp mode is not a segment: its corrector's move, 1.2e-11 here, within the
    # state tolerance rtol·|x| = 1.4e-10, shows as a step between the two around it)
    for a, b in zip(sol.segments[:-1], sol.segments[1:], strict=True):
        gap = a.dense(np.array([a.t1]))[0] - b.dense(np.array([b.t0]))[0]
        assert np.abs(gap).max() <= 1e-10 * max(1.0, np.abs(sol.x).max())


# Review F3: a tie that attracts at its start and turns repelling along the way. On the
# tie of x0 and x1 (from 0, where ∂_0 f = ∂_1 f = 3 > ∂_2 f = 1/2) symmetry keeps
# x0 = x1 = s = −t/2, and the curvature of H_TT on the tangent space σ_Tᵀd = 0 (along
# (1, −1)) is H_00 − H_01 = 1/2 − 2s²: it crosses 0 at t = 1 exactly (a branch point of the
# tie's curve: x0·x1 = 1/4 ties them too from there, and each index alone can leave).
F3_EXPR = "3*x0 + 3*x1 + 0.5*(x0**2 + x1**2) + 0.5*x0*x1 + (x0*x1)**2 + 0.5*x2**2 + 0.5*x2"
# sol(t) at t = 0.5, 1, 1.5, 1.8, 2.1, 2.4 before the turn was flagged (commit ecbd546):
# flagging it must not change the trajectory. (The continuation's values at t = 1 and 1.5
# moved 3e-12 and 2e-11 toward the closed form -t/2 since the last piece before an event
# follows the step's checked interpolant. Since the tie's events are located on the curve
# corrected to rounding and steps are checked against the quintic through three points,
# they are within 5.1e-11 of the event path at rtol 1e-13, 6.0e-11 before.)
F3_BEFORE = {
    "continuation": [
        [-0.2499999999999996, -0.2500000000000004, 0.0],
        [-0.49999999999812283, -0.5000000000018772, 0.0],
        [-0.7499999999897866, -0.7500000000102134, 0.0],
        [-0.8622502832512376, -0.8622502832512375, -0.07549943349752462],
        [-0.8990424702013556, -0.8990424702013553, -0.30191505959728904],
        [-0.929444535935621, -0.9294445359356207, -0.5],
    ],
    "events": [
        [-0.24999999999999933, -0.24999999999999994, 0.0],
        [-0.4999999999999951, -0.49999999999999334, 0.0],
        [-0.7499999999999969, -0.7499999999999967, 0.0],
        [-0.8622502832258164, -0.862250283225817, -0.07549943354838064],
        [-0.8990424701786837, -0.8990424701786836, -0.3019150596427167],
        # (at rest: x2 = −0.5 exactly since the event path moves the rest state onto
        # ∇f = 0; it was −0.5000000000021319, the arrival as located on the dense output)
        [-0.9294445359359398, -0.92944453593594, -0.5],
    ],
}


def bordered_det(obj: Objective, x: np.ndarray, T: tuple[int, ...]) -> float:
    """det [[H_TT, σ_T], [σ_Tᵀ, 0]] at x: it changes sign exactly where the tie's block
    turns indefinite on σ_Tᵀd = 0 (computed from the full Hessian, not the paths' code)."""
    idx = list(T)
    H = obj.hess(x)[np.ix_(idx, idx)]
    s = np.sign(obj.grad(x)[idx])
    K = np.block([[H, s[:, None]], [s[None, :], np.zeros((1, 1))]])
    return float(np.linalg.det(K))


@pytest.mark.parametrize("method", ["continuation", "events"])
def test_tie_turning_repelling_is_flagged_where_the_bordered_determinant_vanishes(
    method: str,
) -> None:
    from scipy.optimize import brentq

    obj = Objective.from_expr(F3_EXPR, variables=["x0", "x1", "x2"])
    sol = fp.solve(fp.steepest_descent_flow(obj, "l1"), np.zeros(3), (0.0, 3.0), method=method)
    assert sol.status == 1, sol.message
    log = [(e.kind, e.indices, e.unique) for e in sol.events]
    assert log == [
        ("tie-entry", (0, 1), True),
        ("repulsive", (0, 1), False),
        ("tie-entry", (2,), False),
        ("stationary", (0, 1, 2), False),
    ]
    turn = sol.events[1]
    assert "turned repelling" in turn.note
    assert turn.mode_before == turn.mode_after  # the same tie goes on
    # Independently: the sign change of the bordered determinant on the solution's own
    # dense output, and the closed form t = 1.
    t_ref = brentq(lambda t: bordered_det(obj, sol(t), (0, 1)), 0.5, 1.5, xtol=1e-15)
    assert turn.t == pytest.approx(t_ref, abs=1e-10)
    assert turn.t == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(turn.x, sol(turn.t), rtol=0, atol=1e-12)
    ts = np.array([0.5, 1.0, 1.5, 1.8, 2.1, 2.4])
    np.testing.assert_allclose(sol(ts), F3_BEFORE[method], rtol=0, atol=1e-12)
    # ... and up to the tie's branch point and beyond, the closed form x0 = x1 = -t/2
    on_tie = ts[:3]
    closed = np.column_stack([-on_tie / 2, -on_tie / 2, np.zeros(3)])
    np.testing.assert_allclose(sol(on_tie), closed, rtol=0, atol=1e-10)
    check_greedy_velocities(obj, sol)


def convex_quartic(seed: int) -> tuple[Objective, np.ndarray]:
    """A random strictly convex quartic (H = A + 12 c4 diag(x²) ⪰ A ≻ 0 everywhere) whose
    gradient at 0 ties two or more indices: every tie of its ℓ1 flow attracts."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    Q = rng.standard_normal((n, n))
    A = Q @ Q.T / n + rng.uniform(0.05, 1.0) * np.eye(n)
    b = rng.uniform(0.1, 0.9, n) * rng.choice([-1.0, 1.0], n)
    k = int(rng.integers(2, n + 1))
    b[:k] = rng.choice([-1.0, 1.0], k)
    return quartic(A, b, rng.uniform(0.05, 0.5)), np.zeros(n)


@pytest.mark.parametrize("method", ["continuation", "events"])
@pytest.mark.parametrize("seed", range(8))
def test_attracting_ties_of_convex_objectives_are_never_flagged_repelling(
    method: str, seed: int
) -> None:
    obj, x0 = convex_quartic(seed)
    sol = fp.solve(fp.steepest_descent_flow(obj, "l1"), x0, (0.0, 5.0), method=method)
    assert sol.status in (0, 1), sol.message
    assert sol.events and sol.events[0].kind == "tie-entry"
    assert all(e.kind != "repulsive" for e in sol.events)
    assert all(e.unique for e in sol.events)


@pytest.mark.parametrize("method", ["auto", "events"])
def test_a_tie_of_rates_that_can_never_differ_is_flagged_not_chosen(method: str) -> None:
    # (stranger review) f = log(1 + eʸ⁺ˣ): |∂ₓf| = |∂ᵧf| everywhere, so every split of the
    # greedy flow's speed between x and y keeps the tie -- its Filippov solution is not
    # unique. The initial tie was called unique, the flow moved one index alone, which one
    # depending on the order of the variables, with status 0 and no event.
    ends = []
    for names in (["x", "y"], ["y", "x"]):
        obj = Objective.from_expr("log(1 + exp(x + y))", names)
        x0 = np.array([0.5, -1.0] if names[0] == "x" else [-1.0, 0.5])
        sol = fp.solve(fp.steepest_descent_flow(obj, "l1"), x0, (0.0, 3.0), method=method)
        first = sol.events[0]
        assert first.kind == "tie-entry" and first.t == 0.0 and not first.unique
        assert sol.status >= 0
        # (the tie's curvature is 0: rounding of it is no turn to repelling)
        assert [e.kind for e in sol.events] == ["tie-entry"]
        end = sol.x[-1] if names[0] == "x" else sol.x[-1][::-1]
        ends.append(end)
        # (both indices move: the minimal-norm split, 1/2 each, keeps the tie)
        np.testing.assert_allclose(end, [0.5 - 1.5, -1.0 - 1.5], atol=1e-8)
    np.testing.assert_allclose(ends[0], ends[1], atol=1e-12)


def test_the_continuation_path_follows_the_least_norm_split_of_a_tie_that_can_never_open() -> None:
    # The tie's equations are singular along e_x − e_y (σᵀd = 0, H d = 0): the continuation
    # path refused it (−4) and `auto` ran the event path. It now follows the least-norm
    # split, the event path's: both move at 1/2, flagged not unique.
    obj = Objective.from_expr("log(1 + exp(x + y))", ["x", "y"])
    flow = fp.steepest_descent_flow(obj, "l1")
    sol = fp.solve(flow, [0.5, -1.0], (0.0, 3.0), method="continuation")
    assert sol.status == 0, sol.message
    assert [(e.kind, e.unique) for e in sol.events] == [("tie-entry", False)]
    ts = np.linspace(0.0, 3.0, 13)
    np.testing.assert_allclose(sol(ts), [0.5, -1.0] - 0.5 * ts[:, None], rtol=0, atol=1e-9)
    ref = fp.solve(flow, [0.5, -1.0], (0.0, 3.0), method="events")
    np.testing.assert_allclose(sol(ts), ref(ts), rtol=0, atol=1e-8)


def test_rounding_of_a_ties_zero_curvature_is_no_turn_to_repelling() -> None:
    # (stranger review) On the tie of x0 and x2 of a function of x0 + x2 (and x1) the
    # curvature is 0; it was evaluated as 0 to 1.4e-17 against entries of 1e-2, and each
    # change between the two recorded the tie "turning repelling".
    obj = Objective.from_expr(
        "log(1 + exp(x0 + x2)) + log(1 + exp(x0 - x1 + x2))", ["x0", "x1", "x2"]
    )
    x0 = np.array([-0.40186432, 0.60428208, -2.23447848])
    sol = fp.solve(fp.steepest_descent_flow(obj, "l1"), x0, (0.0, 3.0), method="events")
    assert sol.status == 0
    assert [(e.kind, e.unique) for e in sol.events] == [("tie-entry", False)]
    from filippov._tie_repelling import tangent_curvature

    for t in np.linspace(0.0, 3.0, 13):
        block = obj.hess(sol(t))[np.ix_([0, 2], [0, 2])]
        assert tangent_curvature(block, np.ones(2)) == 0.0
    # a real curvature of the same scale is kept
    assert tangent_curvature(np.array([[0.1, 0.0], [0.0, 0.1]]), np.ones(2)) > 0.0


@pytest.mark.parametrize("method", ["auto", "events"])
def test_a_larger_tie_holding_two_indices_whose_rates_never_differ_moves_at_speed_one(
    method: str,
) -> None:
    # (stranger review) ∂f/∂x1 = ∂f/∂x2 everywhere: when x0 joins their tie at t = 0.2445
    # the tie's bordered KKT matrix is singular in exact arithmetic but not in rounding,
    # and its rounding inverse moved x1 and x2 to ±6e10 within 3e-5 (status −3).
    obj = Objective.from_expr("log(1 + exp(x0 - x1 - x2)) + log(1 + exp(-x0))", ["x0", "x1", "x2"])
    x0 = np.array([-1.6166554, -0.73253404, -0.22943478])
    sol = fp.solve(fp.steepest_descent_flow(obj, "l1"), x0, (0.0, 3.0), method=method)
    assert sol.status == 0, sol.message
    (tie,) = sol.events
    assert tie.kind == "tie-entry" and not tie.unique and tie.t == pytest.approx(0.2445, abs=1e-4)
    t = np.linspace(0.26, 3.0, 12)
    X = sol(t)
    for x in X:
        g = obj.grad(x)
        np.testing.assert_allclose(g, g[0], rtol=1e-7)  # the three stay tied
    v = np.diff(X, axis=0) / np.diff(t)[:, None]
    np.testing.assert_allclose(np.abs(v).sum(axis=1), 1.0, rtol=1e-6)  # ‖ẋ‖₁ = 1
    np.testing.assert_allclose(v[:, 1], v[:, 2], rtol=1e-6)  # (the minimal-norm split)


def _duplicated_column_model(seed: int) -> tuple[Objective, np.ndarray]:
    """A stranger review's GLM with a duplicated (sometimes tripled) column and no ridge:
    the duplicates' rates can never differ."""
    from filippov.objectives import linear_model

    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 5)), int(rng.integers(5, 12))
    A = rng.normal(size=(m, n))
    j = int(rng.integers(n))
    A = np.c_[A, A[:, j]]
    if rng.random() < 0.3:
        A = np.c_[A, A[:, j]]
    y = rng.choice([-1.0, 1.0], size=m)
    obj = linear_model(A, y, 0.0, str(rng.choice(["logistic", "squared"])))
    x0 = rng.normal(size=A.shape[1]) * 0.5
    if rng.random() < 0.5:
        x0[-1] = x0[j]
    return obj, x0


def test_a_tie_whose_curvature_is_rounding_is_watched_without_a_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (stranger review) With κ = 0 exactly (rounding read as 0) at a point the watch had
    # just found attracting, the continuation path searched for the turn past its points:
    # IndexError from fp.solve on the default path.
    obj, x0 = _duplicated_column_model(12)
    flow = fp.steepest_descent_flow(obj, "l1")
    # (a squared loss whose H is singular, a duplicated column: it exposes no quadratic
    # data, so "auto" takes the continuation path; the case is that path's, asked for by
    # name. The exact path on the same quadratic, given as one, ends at the same f.)
    cont = fp.solve(flow, x0, (0.0, 2.0), method="continuation")
    events = fp.solve(flow, x0, (0.0, 2.0), method="events")
    assert cont.method == "continuation" and cont.status == events.status == 1
    assert fp.solve(flow, x0, (0.0, 2.0)).method == "continuation"
    A, y = obj._linear_model[0], obj.eval_grad(np.zeros(x0.size))  # (b = ∇f(0) = −Aᵀy/m)
    quadratic = Objective.quadratic(A.T @ A / A.shape[0], y)
    exact = fp.solve(fp.steepest_descent_flow(quadratic, "l1"), x0, (0.0, 2.0))
    assert exact.method == "exact" and exact.status == 1
    assert obj.f(exact.x[-1]) == pytest.approx(obj.f(events.x[-1]), abs=1e-12)
    assert not any(e.kind == "repulsive" for e in cont.events)
    assert cont.events[-1].t == pytest.approx(events.events[-1].t, abs=1e-7)
    # (the tie of the duplicates is not unique, flagged so on both paths, and they split
    # its speed differently: the ends agree in f and in x1 + x3, which alone f sees)
    assert any(e.kind == "tie-entry" and not e.unique for e in cont.events)
    end_c, end_e = cont.x[-1], events.x[-1]
    np.testing.assert_allclose(end_c[[0, 2]], end_e[[0, 2]], atol=1e-7)
    assert end_c[1] + end_c[3] == pytest.approx(end_e[1] + end_e[3], abs=1e-7)
    assert obj.f(end_c) == pytest.approx(obj.f(end_e), abs=1e-12)
    # Whether the watch meets κ = 0 right after a point it found attracting is the
    # rounding's choice: the tie of all four's block is singular, and its factor at a
    # point either ends on a pivot at rounding (a Cholesky factor: "attracting") or
    # fails (LU: κ decides). With OpenBLAS's Haswell kernels the mode's two points agree
    # and the guard is not reached. So the case is made here: the factor says attracting
    # at that mode's start and nothing at its end (as a factor taken at a rejected try
    # leaves it), where κ = 0. Without the κ = 0 guard the watch took that for a turn
    # (a "repulsive" event at the rest, or the IndexError past its points).
    real_factor_says = tc._factor_says

    def attracting_at_the_start(tm: tc._TieMode, p: tc._TiePoint) -> bool | None:
        if tm.T.size == x0.size:  # (the duplicates' tie: κ = 0 on it)
            return True if p.tau == 0.0 else None
        return real_factor_says(tm, p)

    monkeypatch.setattr(tc, "_factor_says", attracting_at_the_start)
    forced = fp.solve(flow, x0, (0.0, 2.0), method="continuation")
    assert forced.status == 1 and forced.events[-1].t == pytest.approx(cont.events[-1].t)
    assert not any(e.kind == "repulsive" for e in forced.events)


@pytest.mark.parametrize(("p", "q", "seed"), [(4, 3, 1), (6, 5, 1), (8, 6, 1)])
def test_the_greedy_flow_rests_on_a_factorization_valley(p: int, q: int, seed: int) -> None:
    # A rank-1 factorization without a ridge: its minimizers form valleys (U → cU,
    # V → V/c) where the Hessian is singular. The tie value reached 0 there, the factor
    # of H_TT failed at Newton's first step onto the rest, and the run ended −1 ("did not
    # converge onto the stationary point"); the least-norm step (normal to the valley)
    # now reaches it. Independent checks: the event path's rest, the gradient at the
    # end, the greedy invariants.
    obj, x0 = P.rank_one_factorization(p, q, seed)
    flow = fp.steepest_descent_flow(obj, "l1")
    sol = fp.solve(flow, x0, (0.0, 100.0), method="continuation")
    assert sol.status == 1, sol.message
    ref = fp.solve(flow, x0, (0.0, 100.0), method="events")
    assert ref.status == 1, ref.message
    assert np.max(np.abs(obj.grad(sol.x[-1]))) < 1e-12
    np.testing.assert_allclose(sol.x[-1], ref.x[-1], rtol=0, atol=1e-7)
    assert sol.events[-1].t == pytest.approx(ref.events[-1].t, abs=1e-7)
    assert sol.events[-1].unique is False and "singular" in sol.message
    check_greedy_velocities(obj, sol)
    check_continuity(sol)


def test_a_tie_that_never_ends_is_split_by_least_norm() -> None:
    # (stranger review) A two-class network: the output weights of one hidden unit for
    # the two classes have partials exactly opposite, so their tie never ends and its
    # block h·[[1, −1], [−1, 1]] is singular on the tie's tangent space. Its Cholesky
    # factor passed on a pivot at rounding, and the continuation path followed weights
    # −0.58 and 1.58: a motion 13.5 times faster than the greedy flow allows (‖ẋ‖₁ ≤ 1).
    # Next it split the tie at a vertex (one of the pair moving alone) and ended −4 at
    # t = 5.5766, where the output biases' pair joined (a tie of three with no factor);
    # `auto` then took 55 s on the event path. Now every such tie follows the least-norm
    # split: the twins share their weight, so each pair's sum never moves.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    obj = mlp_classifier(X, y, hidden=3)
    x0 = mlp_init(2, 2, hidden=3, seed=0)
    g = obj.grad(x0)
    assert g[10] == -g[13] != 0.0 and g[15] == -g[16] != 0.0  # (the premise)
    flow = fp.steepest_descent_flow(obj, "l1")
    cont = fp.solve(flow, x0, (5.0, 12.0), method="continuation")
    assert cont.status == 0, cont.message
    first = cont.events[0]
    assert first.t == 5.0 and first.kind == "tie-entry" and not first.unique
    assert set(first.indices) == {10, 13}
    assert set(cont.segments[0].mode.free) == {10, 13}
    assert any(e.t > 5.58 and set(e.indices) >= {15, 16} for e in cont.events)
    ts = np.linspace(5.0, 12.0, 71)
    states = cont(ts)
    pairs = [(9, 12), (10, 13), (11, 14), (15, 16)]
    for a, b in pairs:
        sums = states[:, a] + states[:, b]
        np.testing.assert_allclose(sums, sums[0], rtol=0, atol=1e-9)
    check_greedy_velocities(obj, cont)
    check_continuity(cont)
    # f(t) is the same for every split (the gradient does not move along the twins'
    # directions): against the event path's, whose split differs.
    ref = fp.solve(flow, x0, (5.0, 7.0), method="events")
    assert ref.status == 0, ref.message
    ts = np.linspace(5.0, 7.0, 21)
    f_cont = np.array([obj.f(x) for x in cont(ts)])
    f_ref = np.array([obj.f(x) for x in ref(ts)])
    np.testing.assert_allclose(f_cont, f_ref, rtol=0, atol=1e-9)
    assert np.all(np.diff(f_cont) < 0.0)


def test_both_paths_keep_a_two_class_networks_twins_together() -> None:
    # (this session's fuzz) The simplex VI's solution may carry a tie's weight on one of
    # two twins (exactly opposite partials); the event path followed it, and the twin left
    # out "joined" the tie at almost every step: 697 events (436 tangencies of the twins)
    # and 26 s to t = 20 where the flow has 38, its state 1.3 off the continuation path's
    # along the twins' directions. Both paths now share the twins' weight (least norm).
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int) + (X[:, 0] > 1)
    y = y % 2
    obj = mlp_classifier(X, y, hidden=4)
    x0 = mlp_init(2, 2, hidden=4, seed=3)
    flow = fp.steepest_descent_flow(obj, "l1")
    cont = fp.solve(flow, x0, (0.0, 20.0), method="continuation")
    ev = fp.solve(flow, x0, (0.0, 20.0), method="events")
    assert cont.status == 0 and ev.status == 0, (cont.message, ev.message)
    assert len(ev.events) == len(cont.events) < 60
    assert not any(e.kind == "tangency" for e in ev.events)
    ts = np.linspace(0.0, 20.0, 101)
    np.testing.assert_allclose(ev(ts), cont(ts), rtol=0, atol=1e-7)
    # (the output weights of hidden unit h for the two classes: 12 + h and 16 + h)
    for sol in (cont, ev):
        states = sol(ts)
        for h in range(4):
            sums = states[:, 12 + h] + states[:, 16 + h]
            np.testing.assert_allclose(sums, sums[0], rtol=0, atol=1e-9)
    check_greedy_velocities(obj, ev)


@pytest.mark.parametrize("seed", [2, 4, 6])
def test_a_duplicated_features_tie_is_split_by_least_norm(seed: int) -> None:
    # (stranger review of a first version, which ended these −4 where the tie starts)
    # A quadratic with a duplicated column: the tie of the duplicates is not determined,
    # and the block's own solve split it off the simplex. The least-norm split moves the
    # duplicates together (from 0, equal all along). f(t) is the same for every split (it
    # falls at ‖∇f‖∞, which the duplicates share): checked against the event path's.
    rng = np.random.default_rng(200 + seed)
    A = rng.standard_normal((8, 3))
    A = np.hstack([A, A[:, :1]])
    H = A.T @ A
    w, V = np.linalg.eigh(H)
    keep = w > 1e-10 * w.max()
    b = V[:, keep] @ (V[:, keep].T @ (-A.T @ rng.standard_normal(8)))
    obj = Objective.quadratic(H, b)
    flow = fp.steepest_descent_flow(obj, "l1")
    cont = fp.solve(flow, np.zeros(4), (0.0, 50.0), method="continuation")
    assert cont.status == 1, cont.message
    ref = fp.solve(flow, np.zeros(4), (0.0, 50.0), method="events")
    ts = np.linspace(0.0, 1.5 * ref.events[-1].t, 31)
    f_cont = np.array([obj.f(x) for x in cont(ts)])
    f_ref = np.array([obj.f(x) for x in ref(ts)])
    np.testing.assert_allclose(f_cont, f_ref, rtol=0, atol=1e-9)
    states = cont(ts)
    np.testing.assert_allclose(states[:, 0], states[:, 3], rtol=0, atol=1e-12)
    assert cont.events[-1].unique is False
    check_greedy_velocities(obj, cont)


@pytest.mark.parametrize("t_end", [5.0, 40.0])
def test_a_greedy_rest_on_a_circle_of_minimizers_is_not_unique(t_end: float) -> None:
    # (stranger review) f = (x0² + x1² − 1)²: every point of the unit circle is a
    # minimizer, the Hessian there has eigenvalues 0 and 8, and the path along the circle
    # is a Filippov solution too. The continuation path took the rest's uniqueness from
    # the tie block's factor, taken earlier in the mode where the block was positive
    # definite, and flagged it unique (the event path did not).
    obj = Objective.from_expr("(x0**2 + x1**2 - 1)**2", ["x0", "x1"])
    flow = fp.steepest_descent_flow(obj, "l1")
    sol = fp.solve(flow, [2.0, 1.0], (0.0, t_end), method="continuation")
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol.x[-1], [np.sqrt(0.5)] * 2, rtol=0, atol=1e-9)
    assert min(np.linalg.eigvalsh(obj.hess(sol.x[-1]))) < 1e-8
    rest = sol.events[-1]
    assert rest.kind == "stationary" and rest.unique is False, rest
    ref = fp.solve(flow, [2.0, 1.0], (0.0, t_end), method="events")
    assert ref.events[-1].unique is False
    assert rest.t == pytest.approx(ref.events[-1].t, abs=1e-7)


def test_the_event_paths_tie_with_duplicated_features_projects_and_reads() -> None:
    # (review rv7, the same on the base) A logistic model with a duplicated column and no
    # ridge: the tie of the duplicates and a third index has constraint rows that are
    # equal but for rounding (3e-17 apart against 0.26). The projection's normal equations
    # passed on a pivot at rounding and moved the state 1e64 tolerances: the run ended −4
    # ("a relay value passes through a pole"), and reading its last segment raised
    # RuntimeError ("the system ... has changed since the solve").
    rng = np.random.default_rng(1)
    A = rng.standard_normal((12, 4))
    A = np.hstack([A, A[:, :1]])
    y = (rng.random(12) < 0.5).astype(float)
    obj = linear_model(A, y, 0.0, loss="logistic")
    x0 = rng.standard_normal(5)
    x0[4] = x0[0]
    flow = fp.steepest_descent_flow(obj, "l1")
    ev = fp.solve(flow, x0, (0.0, 20.0), method="events")
    cont = fp.solve(flow, x0, (0.0, 20.0), method="continuation")
    assert ev.status == cont.status == 1, (ev.message, cont.message)
    assert [e.kind for e in ev.events] == [e.kind for e in cont.events]
    ts = np.linspace(0.0, 20.0, 81)
    np.testing.assert_allclose(ev(ts), cont(ts), rtol=0, atol=1e-7)
    check_greedy_velocities(obj, ev)


def test_twins_of_a_relay_that_is_no_gradient_flow_keep_every_rate() -> None:
    # (review rv8) Twins were read off equal rows of the signed tie matrix alone: for an
    # ℓ∞ relay that is no gradient flow (M not symmetric, drift terms differing) the
    # shared weight changed the rates, a selection off the VI's: f0 = (0.3, 0),
    # B = [[1, 2], [1, 2]] at the tie (1, 1) gave rates −0.75 and −1.05 on its support.
    M = np.array([[1.0, 2.0], [1.0, 2.0]])
    assert simplex_twins([True, False], [1.0, 1.0], M, [0.3, 0.0]).tolist() == [-1, -1]
    rng = np.random.default_rng(0)
    for _ in range(200):
        A = rng.standard_normal((4, 4))
        A[1] = A[0]  # (equal rows, unequal columns)
        a = rng.standard_normal(4)
        a[1] = a[0]
        assert simplex_twins([True, False, True, True], np.ones(4), A, a)[1] == -1
        S = A @ A.T  # (symmetric: rows 0 and 1 equal, so are the columns)
        assert simplex_twins([True, False, True, True], np.ones(4), S, a)[1] == 0
