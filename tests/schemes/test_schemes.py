"""Tests of filippov.schemes against closed forms and independent references (issue 6)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from problems import implicit_euler_sign_flow

import filippov as fp
import filippov.schemes as S
from filippov import Status
from filippov.objectives import Objective, rotated_quadratic, separable_quadratic, slope
from filippov.schemes.base import Problem

# ----------------------------------------------------------------------------- helpers


def random_spd(seed: int, n: int, lo: float = 0.1, hi: float = 10.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    H = (Q * rng.uniform(lo, hi, n)) @ Q.T
    return 0.5 * (H + H.T)


def random_quadratic(seed: int, n: int):
    """A random strongly convex quadratic with its minimum value, μ and Σ L_i = Σ|H_ij|."""
    rng = np.random.default_rng(seed + 10_000)
    H = random_spd(seed, n)
    b = rng.standard_normal(n)
    obj = Objective.quadratic(H, b)
    x_star = np.linalg.solve(H, -b)
    f_star = obj.f(x_star)
    mu = float(np.linalg.eigvalsh(H)[0])
    L_sum = float(np.abs(H).sum())
    x0 = x_star + 3.0 * rng.standard_normal(n)
    return obj, x0, f_star, mu, L_sum


def as_general(obj: Objective) -> Objective:
    """The same function as a general (non-quadratic) Objective."""
    return Objective(obj.f, obj.grad, obj.hess, n=obj.n, name="general copy")


seeds = st.integers(min_value=0, max_value=2**31 - 1)
dims = st.integers(min_value=2, max_value=6)


# -------------------------------------------------------- SignGD tracks the separable flow


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("eta", [0.05, 0.013])
def test_signgd_constant_step_tracks_separable_flow(seed: int, eta: float) -> None:
    rng = np.random.default_rng(seed)
    n = 5
    l = rng.uniform(0.5, 20.0, n)  # noqa: E741
    c = rng.standard_normal(n)
    x0 = c + rng.uniform(0.3, 2.0, n) * rng.choice([-1.0, 1.0], n)
    arrival = np.abs(x0 - c)
    T = float(arrival.max()) + 0.7
    traj = S.SignGD(step=eta).run(separable_quadratic(l, c), x0, t_final=T)

    assert traj.status == 0
    assert traj.t[-1] == T  # stopped at t_final exactly, last step shortened
    assert np.all(traj.step[:-1] == eta) and 0 < traj.step[-1] <= eta
    np.testing.assert_allclose(traj.t, np.concatenate([[0.0], np.cumsum(traj.step)]), rtol=1e-14)

    flow = c + np.sign(x0 - c) * np.maximum(arrival - traj.t[:, None], 0.0)
    err = np.abs(traj.x - flow)
    assert err.max() <= eta * (1 + 1e-12)
    arrived = traj.t[:, None] >= arrival
    # after arrival, each coordinate chatters inside a band of width eta around c_i
    assert np.all(np.abs(traj.x - c)[arrived] <= eta * (1 + 1e-12))
    for i in range(n):
        late = traj.x[arrived[:, i], i]
        assert late.max() - late.min() <= eta * (1 + 1e-12)
    # before arrival the iterate is on the flow (to rounding)
    before = traj.t[:, None] + eta <= arrival
    assert np.all(err[before] <= 1e-12)
    # chattering shows in the diagnostics: flips happen once coordinates arrived
    assert traj.diagnostics["flips"].sum() > 0
    assert traj.diagnostics["face_size"].max() == n


def test_signgd_run_matches_design_example() -> None:
    obj = slope(a=0.5)
    traj = S.SignGD(step=0.01).run(obj, [0.6, 0.1], n_steps=400)
    assert traj.x.shape == (401, 2) and traj.t.shape == (401,)
    np.testing.assert_allclose(traj.t[-1], 4.0, rtol=1e-13)
    assert isinstance(traj.step, np.ndarray) and traj.step.shape == (400,)


# ------------------------------------------------------------- adaptive SignGD: linear rate


@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=seeds, n=dims)
def test_adaptive_signgd_monotone_and_linear_rate(seed: int, n: int) -> None:
    obj, x0, f_star, mu, L_sum = random_quadratic(seed, n)
    traj = S.SignGD(step=S.Adaptive()).run(obj, x0, n_steps=60)
    gap = traj.f - f_star
    tol = 1e-11 * max(1.0, abs(f_star), abs(traj.f[0]))
    assert np.all(np.diff(traj.f) <= tol)
    rho = 1.0 - mu / L_sum
    bound = rho ** np.arange(gap.size) * gap[0]
    assert np.all(gap <= bound + tol)
    # the step is ||g||_1 / sum L_i
    g = np.array([obj.grad(x) for x in traj.x[:-1]])
    np.testing.assert_allclose(traj.step, np.abs(g).sum(axis=1) / L_sum, rtol=1e-12)
    L = np.abs(obj.quadratic_data[0]).sum(axis=1)
    np.testing.assert_allclose(traj.diagnostics["face_curvature"], (g != 0) @ L, rtol=1e-12)
    np.testing.assert_array_equal(traj.diagnostics["face_size"], np.count_nonzero(g, axis=1))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=seeds, n=dims)
def test_face_aware_never_slower_than_adaptive(seed: int, n: int) -> None:
    """Observed: on random dense quadratics a gradient component is exactly zero only at the
    rounding floor (|g| ~ 1e-16, after convergence); before that A_k = {1..n}, so
    Σ_{A_k} L_i = Σ L_i and the two policies give bit-identical iterates."""
    obj, x0, f_star, _, _ = random_quadratic(seed, n)
    adaptive = S.SignGD(step="adaptive").run(obj, x0, n_steps=60)
    face = S.SignGD(step="face-aware").run(obj, x0, n_steps=60)

    def gaps(traj):  # a run that stopped at an exact stationary point keeps its value
        gap = traj.f - f_star
        return np.concatenate([gap, np.full(61 - gap.size, gap[-1])])

    tol = 1e-11 * max(1.0, abs(f_star), abs(adaptive.f[0]))
    assert np.all(gaps(face) <= gaps(adaptive) + tol)
    assert np.all(np.diff(face.f) <= tol)
    g = np.array([obj.grad(x) for x in adaptive.x])
    zero = np.flatnonzero(np.any(g == 0, axis=1))
    first = int(zero[0]) if zero.size else len(adaptive.x)
    if zero.size:
        assert np.abs(g[first]).max() <= 1e-12 * max(1.0, np.abs(g[0]).max())
    np.testing.assert_array_equal(face.x[: first + 1], adaptive.x[: first + 1])


def test_face_aware_strictly_faster_when_the_face_is_small() -> None:
    """Coordinates that start at their minimizer never enter A_k (separable f): the
    face-aware step divides by Σ_{A} L_i only and converges in fewer steps."""
    rng = np.random.default_rng(3)
    n = 8
    l = rng.uniform(1.0, 4.0, n)  # noqa: E741
    c = rng.standard_normal(n)
    x0 = c.copy()
    x0[:2] += np.array([1.5, -2.0])
    obj = separable_quadratic(l, c)
    adaptive = S.SignGD(step="adaptive").run(obj, x0, n_steps=40)
    face = S.SignGD(step="face-aware").run(obj, x0, n_steps=40)
    assert np.all(face.diagnostics["face_size"] <= 2)
    g = np.array([obj.grad(x) for x in face.x[:-1]])
    np.testing.assert_allclose(face.diagnostics["face_curvature"], (g != 0) @ l, rtol=1e-14)
    assert np.all(np.diff(face.f) <= 1e-15)
    f_face = np.concatenate([face.f, np.zeros(41 - face.f.size)])  # may stop exactly at x*
    assert adaptive.status == 0 and np.all(f_face[1:] < adaptive.f[1:])
    # the face-aware linear rate with Σ_{A} L_i in place of Σ L_i
    rho_face = 1.0 - l[:2].min() / l[:2].sum()
    assert np.all(f_face <= rho_face ** np.arange(41) * face.f[0] + 1e-15)


# --------------------------------------------------------------- projected SignGD (two-hit)


@pytest.mark.parametrize(
    ("lval", "c", "x0", "eta"),
    [
        (2.0, 0.0, 0.5, 0.3),
        (1.0, 0.3, 2.05, 0.1),
        (7.5, -1.0, -3.123, 0.0371),
        (0.2, 5.0, 4.0, 0.7),
    ],
)
def test_two_hit_theta_lands_gradient_on_zero_1d(
    lval: float, c: float, x0: float, eta: float
) -> None:
    obj = separable_quadratic([lval], [c])
    traj = S.ProjectedSignGD(step=eta, mode="sliding-track").run(obj, [x0], n_steps=200)
    hits = np.flatnonzero(traj.diagnostics["two_hit"])
    assert hits.size == 1
    k = int(hits[0])
    g = np.array([obj.grad(x)[0] for x in traj.x])
    # two consecutive flips before the hit, plain sign steps until then
    assert g[k - 2] * g[k - 1] < 0 and g[k - 1] * g[k] < 0
    theta_equal_steps = (3 * g[k] - g[k - 2]) / (g[k] - 2 * g[k - 1] + g[k - 2])
    assert 0.0 <= theta_equal_steps <= 1.0
    np.testing.assert_allclose(
        traj.x[k + 1, 0], traj.x[k, 0] - eta * theta_equal_steps * np.sign(g[k]), rtol=0, atol=1e-14
    )
    assert abs(g[k + 1]) <= 1e-12
    assert np.all(np.abs(g[k + 1 :]) <= 1e-12)  # and it stays there


class _GrowingSteps(S.StepPolicy):
    def size(self, ctx, state):
        return np.full(ctx.x.shape[0], 0.1 * 1.07**ctx.k), state


def test_two_hit_theta_with_unequal_steps_is_exact_for_a_quadratic() -> None:
    obj = separable_quadratic([3.0], [0.25])
    traj = S.ProjectedSignGD(step=_GrowingSteps(), mode="sliding-track").run(obj, [1.0], n_steps=40)
    k = int(np.flatnonzero(traj.diagnostics["two_hit"])[0])
    assert abs(obj.grad(traj.x[k + 1])[0]) <= 1e-12


def _sliding_track_step(g2: float, g1: float, g: float, eta: float = 1.0) -> tuple[float, int]:
    """One sliding-track update from a crafted history of two plain sign steps."""
    obj = separable_quadratic([1.0], [0.0])
    scheme = S.ProjectedSignGD(step=eta, mode="sliding-track")
    x = np.zeros((1, 1))
    problem = Problem(obj, x[0], scheme, batched=False)
    state = scheme.init(problem, x, np.array([[g]]))
    state.update(
        hist=2,
        g1=np.array([[g1]]),
        g2=np.array([[g2]]),
        u1=np.sign([[g1]]),
        u2=np.sign([[g2]]),
        eta1=np.array([eta]),
        eta2=np.array([eta]),
    )
    G = np.array([[g]])
    upd = scheme.update(problem, x, G, -np.sign(G), np.array([eta]), state)
    u = float(-(upd.x[0, 0] - x[0, 0]) / eta)
    return u, int(upd.counts["tracking"][0])


def test_two_hit_theta_is_clamped_to_unit_interval() -> None:
    # equal steps: theta = (3g - g2) / (g - 2 g1 + g2)
    u, tracking = _sliding_track_step(1.0, -1.0, 1.0)
    assert u == pytest.approx((3 - 1) / (1 + 2 + 1)) and tracking == 1
    # theta = 8/6 > 1: the plain sign step; the model (c = 1, d = 3) is sliding: tracked
    u, tracking = _sliding_track_step(1.0, -1.0, 3.0)
    assert u == 1.0 and tracking == 1
    u, tracking = _sliding_track_step(3.0, -1.0, 0.1)  # theta < 0: clamped to 0
    assert u == 0.0 and tracking == 1
    u, tracking = _sliding_track_step(-1.0, 1.0, -1.0)  # negative side: theta = 0.5
    assert u == pytest.approx(-0.5) and tracking == 1


def test_one_hit_freeze_undoes_flipping_components() -> None:
    l = np.array([1.0, 4.0])  # noqa: E741
    c = np.array([0.0, 0.0])
    obj = separable_quadratic(l, c)
    eta = 0.3
    traj = S.ProjectedSignGD(step=eta, mode="freeze").run(obj, [1.0, -0.5], n_steps=20)
    x = traj.x
    # a coordinate never overshoots its target: frozen within eta of c_i
    assert np.all(np.abs(x) <= np.abs(x[0]) + 1e-15)
    assert np.all(np.sign(x[:, 0]) >= 0) and np.all(np.sign(x[:, 1]) <= 0)
    assert np.all(np.abs(x[-1]) < eta)
    assert traj.diagnostics["freezes"].sum() > 0
    assert traj.diagnostics["flips"].sum() == 0
    # no chattering: the frozen iterate is constant
    np.testing.assert_array_equal(x[-1], x[-5])


def test_sliding_track_follows_the_slope_manifold() -> None:
    obj = slope(a=0.5)
    eta = 0.02
    explicit = S.SignGD(step=eta).run(obj, [1.0, 1.0], t_final=3.0)
    tracked = S.ProjectedSignGD(step=eta, mode="sliding-track").run(obj, [1.0, 1.0], t_final=3.0)
    gap = lambda x: np.abs(x[:, 0] - 0.5 * x[:, 1])  # noqa: E731
    late = tracked.t >= 1.5
    assert gap(tracked.x)[late].max() < 1e-10
    assert gap(explicit.x)[explicit.t >= 1.5].max() > 0.2 * eta
    assert tracked.diagnostics["two_hit"].sum() >= 1


# ------------------------------------------- restarted Signum (heavy ball of gradients)


@pytest.mark.parametrize("seed", range(6))
def test_restarted_signum_descent_inequality(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 6
    obj = rotated_quadratic(np.geomspace(1.0, 100.0, n), rotation=0.6, seed=seed)
    H = obj.quadratic_data[0]
    L_sum = float(np.abs(H).sum())
    x0 = rng.standard_normal(n) * 5
    traj = S.RestartedSignum(step="adaptive", beta=0.9, restart=True).run(obj, x0, n_steps=150)
    assert traj.status in (0, 1)
    g = np.array([obj.grad(x) for x in traj.x[:-1]])
    eta = traj.step
    d = np.sign(traj.x[:-1] - traj.x[1:])  # the steps are -eta_k * d_k with d_k in {-1, 0, 1}
    gd = np.einsum("ij,ij->i", g, d)
    assert np.all(gd >= 0)
    np.testing.assert_allclose(eta, gd / L_sum, rtol=1e-10, atol=1e-300)
    decrease = traj.f[:-1] - traj.f[1:]
    tol = 1e-13 * np.maximum(1.0, np.abs(traj.f[:-1]))
    assert np.all(decrease >= gd**2 / (2 * L_sum) - tol)


def test_restarted_signum_restart_fires_and_no_restart_variant_runs() -> None:
    obj = rotated_quadratic([1.0, 100.0], rotation=0.5, seed=1)
    x0 = [4.0, -3.0]
    with_restart = S.RestartedSignum(step="adaptive", beta=0.95).run(obj, x0, n_steps=200)
    without = S.RestartedSignum(step="adaptive", beta=0.95, restart=False).run(obj, x0, n_steps=200)
    assert with_restart.diagnostics["restarts"].sum() > 0
    assert without.diagnostics["restarts"].sum() == 0
    # without the safeguard, non-descent momentum directions get zero adaptive steps
    assert np.all(without.step >= 0)
    assert with_restart.f[-1] < 1e-4 * with_restart.f[0]


def test_restarted_signum_with_beta_zero_is_signgd() -> None:
    obj = rotated_quadratic([1.0, 5.0, 20.0], rotation=0.8, seed=2)
    x0 = [1.0, -2.0, 0.5]
    a = S.RestartedSignum(step=0.01, beta=0.0).run(obj, x0, n_steps=50)
    b = S.SignGD(step=0.01).run(obj, x0, n_steps=50)
    np.testing.assert_array_equal(a.x, b.x)


# ------------------------------------------------------------------ implicit sign step


def test_implicit_step_stays_on_slope_manifold_explicit_chatters() -> None:
    a = 0.5
    obj = slope(a=a)
    x0 = [1.0, 1.0]  # flow: reaches x1 = a x2 at t = 1, slides to x* = (-1.5, -3) at t = 4
    gap = lambda x: np.abs(x[:, 0] - a * x[:, 1])  # noqa: E731

    implicit = S.ImplicitSignGD(step=0.05).run(obj, x0, t_final=5.0)
    g_imp = gap(implicit.x)
    reached = int(np.argmax(g_imp <= 1e-12))
    assert 0 < reached < len(g_imp) - 10
    assert g_imp[reached:].max() <= 1e-12
    np.testing.assert_allclose(implicit.x[-1], obj.minimizer, atol=1e-12)

    bands = []
    for eta in (0.02, 0.01, 0.005):
        explicit = S.SignGD(step=eta).run(obj, x0, t_final=5.0)
        late = (explicit.t >= 1.5) & (explicit.t <= 3.5)  # sliding phase, before x*
        bands.append(gap(explicit.x)[late].max())
        assert bands[-1] >= 0.25 * eta
        assert bands[-1] <= 2.0 * eta
    # band proportional to eta
    np.testing.assert_allclose(bands[0] / bands[1], 2.0, rtol=0.25)
    np.testing.assert_allclose(bands[1] / bands[2], 2.0, rtol=0.25)


@pytest.mark.parametrize("h", [0.3, 0.05])
def test_implicit_step_matches_independent_reference_on_quadratic(h: float) -> None:
    H = np.array([[0.86, 0.52, -0.4], [0.52, 1.38, -0.36], [-0.4, -0.36, 1.38]])
    b = np.array([0.3, -0.2, 0.1])
    obj = Objective.quadratic(H, b)
    x0 = np.array([-0.8, 0.2, -2.0])
    ref = implicit_euler_sign_flow(obj.grad, obj.hess, x0, h, 30)
    traj = S.ImplicitSignGD(step=h).run(obj, x0, n_steps=30)
    np.testing.assert_allclose(traj.x, ref[: len(traj.x)], atol=1e-11)
    assert np.all(traj.diagnostics["inner_iterations"] == 1)
    # the general (Josephy-Newton) path gives the same iterates
    gen = S.ImplicitSignGD(step=h).run(as_general(obj), x0, n_steps=len(traj.x) - 1)
    np.testing.assert_allclose(gen.x, traj.x, atol=1e-11)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(2, 6),
    h=st.sampled_from([0.3, 0.1, 0.037]),
)
def test_implicit_step_is_the_filippov_solution_at_its_nodes_while_the_sliding_set_grows(
    seed: int, n: int, h: float
) -> None:
    # On a strongly convex quadratic, while indices only join the sliding set, the exact
    # state at t_{k+1} satisfies the step's inclusion: a free coordinate moved by exactly
    # h σ_i, a sliding one sits on ∂_i f = 0 with a chord speed below 1, and the step's
    # box VI has one solution (H ≻ 0). So the iterates are the Filippov solution itself at
    # the nodes, for any h: what makes implicit Euler exact on benchmarks.general_path.
    # Checked against the exact path's solution (an independent computation: pivots on
    # the event log, not a box VI per step).
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    H = A @ A.T + 0.3 * np.eye(n)
    b = rng.standard_normal(n)
    obj = Objective.quadratic(H, b)
    x0 = 2.0 * rng.standard_normal(n)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 200.0), method="exact")
    assert sol.status == 1
    kinds = {e.kind for e in sol.events}
    assume(kinds <= {"sliding-entry", "stationary"})  # (no exit, no crossing)
    t_rest = sol.events[-1].t
    traj = S.ImplicitSignGD(step=h).run(obj, x0, t_final=t_rest + 3 * h)
    scale = max(1.0, float(np.abs(x0).max()))
    np.testing.assert_allclose(traj.x, sol(traj.t), rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(traj.x[-1], obj.minimizer, rtol=0, atol=1e-10 * scale)


def test_implicit_step_general_objective_satisfies_inclusion() -> None:
    expr = "0.5*(x - 0.5*y)**2 + 0.5*(y + 3)**2 + 0.05*y**4 + 0.1*cosh(x)"
    obj = Objective.from_expr(expr, variables=["x", "y"])
    assert obj.quadratic_data is None
    h = 0.1
    traj = S.ImplicitSignGD(step=h).run(obj, [2.0, 1.0], n_steps=60)
    assert traj.status in (0, 1)
    ref = implicit_euler_sign_flow(obj.grad, obj.hess, [2.0, 1.0], h, len(traj.x) - 1)
    np.testing.assert_allclose(traj.x, ref, atol=1e-10)
    for xk, xn in zip(traj.x[:-1], traj.x[1:], strict=True):
        lam = (xk - xn) / h
        gn = obj.grad(xn)
        interior = np.abs(lam) < 1 - 1e-9
        assert np.all(np.abs(gn[interior]) <= 1e-10)
        assert np.all(lam[~interior] * gn[~interior] >= -1e-10)
        assert np.all(np.abs(lam) <= 1 + 1e-12)
    assert traj.diagnostics["inner_iterations"].max() >= 2


# ------------------------------------------------------------- greedy CD and its tie rules


def _greedy(tie: str):
    l = np.array([1.0, 2.0, 4.0])  # noqa: E741
    obj = separable_quadratic(l, 0.0)
    x0 = 4.0 / l  # |g_i| = 4 for every i: an exact three-way tie
    return S.GreedyCD(step=0.05, tie=tie, tie_tol=1e-6).run(obj, x0, n_steps=60), obj


def test_greedy_cd_selection_keeps_the_tie_vertex_zigzags() -> None:
    sel, obj = _greedy("selection")
    g = np.abs(np.array([obj.grad(x) for x in sel.x]))
    assert sel.diagnostics["tie_breaks"].sum() == 0
    assert np.all(sel.diagnostics["tie_size"] == 3)
    spread = g.max(axis=1) - g.min(axis=1)
    assert np.all(spread <= 1e-12 * g.max(axis=1))
    # all tied |g_i| decrease at one common rate eta / sum(1/l_i)
    np.testing.assert_allclose(np.diff(g[:, 0]), -0.05 / 1.75, rtol=1e-12)

    vertex, _ = _greedy("vertex")
    breaks_vertex = int(vertex.diagnostics["tie_breaks"].sum())
    moved = np.argmax(np.abs(np.diff(vertex.x, axis=0)), axis=1)
    switches = int(np.count_nonzero(np.diff(moved)))
    assert breaks_vertex >= 20
    assert switches >= 30  # the single moving coordinate keeps changing: zig-zag
    equal, _ = _greedy("equal")
    assert equal.diagnostics["tie_breaks"].sum() > 0  # unequal l_i: equal weights break it
    assert sel.diagnostics["nonunique"].sum() == 0  # (a positive definite tie block)
    assert "not known to be unique" not in sel.message
    # every rule has the same first-order decrease eta * ||g||_inf on the exact tie
    for traj in (sel, vertex, equal):
        step0 = traj.x[0] - traj.x[1]
        assert obj.grad(traj.x[0]) @ step0 == pytest.approx(0.05 * 4.0, rel=1e-12)


def test_greedy_cd_selection_flags_a_tie_whose_split_is_not_determined() -> None:
    # (stranger fuzz fz11) H = [[1, 1, 0], [1, 1, 0], [0, 0, 2]]: the tie on {0, 1} is
    # kept by every split of its weight (rates −M w = (−1, −1) for all w on the simplex),
    # and the selection took one of them without a word.
    H = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
    obj = Objective.quadratic(H, [-1.0, -1.0, 0.0])
    traj = S.GreedyCD(step=0.1, tie="selection").run(obj, [-1.0, 0.0, 0.1], n_steps=3)
    np.testing.assert_array_equal(traj.diagnostics["nonunique"], [1, 1, 1])
    assert "3 step(s) had a tie whose selection" in traj.message
    # the split taken keeps the tie: |∂₀f| = |∂₁f| at every iterate
    g = np.array([obj.grad(x) for x in traj.x])
    np.testing.assert_allclose(np.abs(g[:, 0]), np.abs(g[:, 1]), rtol=0, atol=1e-15)


def test_greedy_cd_vertex_is_the_l1_lmo() -> None:
    obj = rotated_quadratic([1.0, 3.0, 9.0], rotation=1.0, seed=4)
    x0 = np.array([1.0, -2.0, 0.7])
    traj = S.GreedyCD(step=0.1).run(obj, x0, n_steps=1)
    g = obj.grad(x0)
    i = int(np.argmax(np.abs(g)))
    expected = x0.copy()
    expected[i] -= 0.1 * np.sign(g[i])
    np.testing.assert_array_equal(traj.x[1], expected)


# ------------------------------------------------------------- other schemes and policies


def test_gd_normalized_gd_closed_forms() -> None:
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    obj = Objective.quadratic(H)
    x0 = np.array([1.0, -1.0])
    traj = S.GD(step=0.1).run(obj, x0, n_steps=5)
    ref = [np.linalg.matrix_power(np.eye(2) - 0.1 * H, k) @ x0 for k in range(6)]
    np.testing.assert_allclose(traj.x, ref, rtol=1e-14, atol=1e-15)
    ngd = S.NormalizedGD(step=0.05).run(obj, x0, n_steps=10)
    np.testing.assert_allclose(np.linalg.norm(np.diff(ngd.x, axis=0), axis=1), 0.05, rtol=1e-13)
    np.testing.assert_allclose(ngd.diagnostics["grad_norm"], ngd.diagnostics["grad_norm2"])


def test_signum_and_adam_match_reference_recursions() -> None:
    obj = rotated_quadratic([1.0, 10.0, 100.0], rotation=0.7, seed=5)
    x0 = np.array([1.0, -1.0, 2.0])
    eta, beta1, beta2, eps = 0.01, 0.9, 0.99, 1e-8
    traj = S.Adam(step=eta, beta1=beta1, beta2=beta2, eps=eps).run(obj, x0, n_steps=30)
    x, m, v = x0.copy(), np.zeros(3), np.zeros(3)
    for k in range(1, 31):
        g = obj.grad(x)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        x = x - eta * (m / (1 - beta1**k)) / (np.sqrt(v / (1 - beta2**k)) + eps)
        np.testing.assert_allclose(traj.x[k], x, rtol=1e-13, atol=1e-15)
    traj = S.Signum(step=eta, beta=0.8).run(obj, x0, n_steps=30)
    x, m = x0.copy(), np.zeros(3)
    for k in range(1, 31):
        m = 0.8 * m + 0.2 * obj.grad(x)
        x = x - eta * np.sign(m)
        np.testing.assert_allclose(traj.x[k], x, rtol=1e-13, atol=1e-15)


def test_armijo_accepts_sufficient_decrease_only() -> None:
    obj, x0, f_star, _, _ = random_quadratic(7, 5)
    c = 1e-4
    traj = S.SignGD(step=S.Armijo(initial=1.0, c=c)).run(obj, x0, n_steps=40)
    for k in range(40):
        g = obj.grad(traj.x[k])
        eta = traj.step[k]
        assert traj.f[k + 1] <= traj.f[k] - c * eta * np.abs(g).sum() + 1e-12
        # the previous (doubled) trial would have failed unless it was the start value
        assert eta > 0
    assert traj.metadata["nfev"] > 41
    assert traj.f[-1] - f_star < 1e-3 * (traj.f[0] - f_star)


def test_tuned_picks_the_best_constant_on_the_grid() -> None:
    obj, x0, _, _, _ = random_quadratic(11, 4)
    grid = [1.0, 0.3, 0.1, 0.03, 0.01]
    traj = S.SignGD(step=S.Tuned(grid=grid, budget=50)).run(obj, x0, n_steps=50)
    finals = {eta: S.SignGD(step=eta).run(obj, x0, n_steps=50).f[-1] for eta in grid}
    best = min(finals, key=finals.get)
    assert traj.metadata["step"]["selected"] == best
    assert np.all(traj.step == best)
    assert traj.f[-1] == finals[best]


def test_step_policy_conversions() -> None:
    assert isinstance(S.SignGD(step=0.1).step, S.Constant)
    assert S.SignGD(step=1).step.eta == 1.0
    assert isinstance(S.SignGD(step="armijo").step, S.Armijo)
    assert (
        repr(S.GreedyCD(0.1, tie="equal"))
        == "GreedyCD(step=Constant(0.1), tie='equal', tie_tol=1e-09)"
    )


# -------------------------------------------------------------------- driver behaviour


def test_batched_run_equals_single_runs_and_is_vectorized() -> None:
    obj = slope(a=0.5)
    rng = np.random.default_rng(0)
    X0 = rng.uniform(-3, 3, (7, 2))
    for scheme in (
        S.SignGD(step=0.05),
        S.SignGD(step="adaptive"),
        S.RestartedSignum(step="adaptive"),
        S.ProjectedSignGD(step=0.05),
        S.GreedyCD(step=0.05, tie="equal", tie_tol=1e-3),
        S.SignGD(step="armijo"),
        S.ImplicitSignGD(step=0.05),
    ):
        batch = scheme.run(obj, X0, n_steps=40)
        assert batch.x.shape == (41, 7, 2) and batch.t.shape == (41, 7)
        assert batch.diagnostics["f"].shape == (41, 7)
        for i in range(7):
            single = scheme.run(obj, X0[i], n_steps=40)
            xb = batch.x[: len(single.x), i]
            if isinstance(scheme.step, S.Armijo):
                # batched f is vectorized (½xᵀHx + bᵀx + c) and rounds differently from
                # obj.f: acceptance may differ once f - f* is at the rounding floor
                far = batch.f[: len(single.x), i] - obj.f(obj.minimizer) > 1e-10
                np.testing.assert_allclose(xb[far], single.x[far], rtol=0, atol=1e-14)
                np.testing.assert_allclose(xb, single.x, rtol=0, atol=1e-6)
            else:
                np.testing.assert_allclose(xb, single.x, rtol=0, atol=1e-14)


def test_batched_t_final_each_point_stops_exactly() -> None:
    obj = separable_quadratic([1.0, 3.0], [0.0, 0.0])
    X0 = np.array([[1.0, 1.0], [3.0, -2.0], [0.2, 0.1]])
    traj = S.SignGD(step="adaptive").run(obj, X0, t_final=0.5)
    assert traj.status == 0
    stationary = np.all(traj.x[-1] == 0.0, axis=1)  # adaptive SignGD can land on x* exactly
    np.testing.assert_array_equal(traj.t[-1][~stationary], 0.5)
    assert np.all(traj.t[-1][stationary] <= 0.5) and stationary[2]
    assert np.all(np.diff(traj.t, axis=0) >= 0)


def test_t_final_no_extra_tiny_step() -> None:
    obj = separable_quadratic([1.0], [0.0])
    traj = S.SignGD(step=0.1).run(obj, [5.0], t_final=1.0)
    assert traj.n_steps == 10 and traj.t[-1] == 1.0
    np.testing.assert_allclose(traj.step, 0.1, rtol=1e-14)


def test_stationary_point_and_callback_and_max_steps() -> None:
    obj = separable_quadratic([1.0, 1.0], [0.0, 0.0])
    traj = S.SignGD(step=0.25).run(obj, [1.0, 0.5], n_steps=100)
    assert traj.status == 1 and traj.n_steps == 4
    np.testing.assert_array_equal(traj.x[-1], [0.0, 0.0])

    seen = []

    def stop_at_3(info: S.StepInfo) -> bool:
        seen.append(info.k)
        return info.k == 3

    traj = S.SignGD(step=0.01).run(obj, [1.0, 0.5], n_steps=100, callback=stop_at_3)
    assert traj.status == 2 and traj.n_steps == 3 and seen == [1, 2, 3]

    # adaptive steps of a linearly convergent run have a finite sum: t_final unreachable
    traj = S.SignGD(step="adaptive").run(
        separable_quadratic([1.0, 2.0], [0.1, 0.0]), [1.0, 0.5], t_final=100.0, max_steps=50
    )
    assert (
        traj.status == Status.MAX_STEPS == -6 and traj.n_steps == 50 and "max_steps" in traj.message
    )


def test_non_finite_values_stop_with_partial_trajectory() -> None:
    def f(x):
        with np.errstate(over="ignore"):
            return -float(x @ x)

    concave = Objective(f, lambda x: -2.0 * x, n=1, hvp=lambda x, v: -2 * v)
    traj = S.GD(step=10.0).run(concave, [1.0], n_steps=1000)  # |x| grows 21-fold per step
    assert traj.status == Status.NON_FINITE == -3  # f overflows once |x| > 1e154
    assert "step 117" in traj.message
    assert np.all(np.isfinite(traj.x)) and traj.n_steps == 116

    def f_exp(x):
        with np.errstate(over="ignore"):
            return -float(np.exp(x[0]))

    def g_exp(x):
        with np.errstate(over="ignore"):
            return -np.exp(x)

    exploding = Objective(f_exp, g_exp, n=1, hvp=lambda x, v: -np.exp(x) * v)
    traj = S.SignGD(step=100.0).run(exploding, [0.0], n_steps=20)  # x = 800 overflows exp
    assert traj.status == -3 and "Evaluating the objective" in traj.message
    assert traj.n_steps == 7 and traj.x[-1, 0] == 700.0


@pytest.mark.parametrize("diagnostics", [True, False])
def test_non_finite_gradient_of_a_library_objective_stops_the_run(diagnostics: bool) -> None:
    # library objectives are evaluated without per-call validation inside the driver: its
    # own finiteness check must stop the run with the same status, message and partial run
    exploding = Objective.from_expr("-exp(x)", variables=["x"])
    traj = S.SignGD(step=100.0).run(exploding, [0.0], n_steps=20, diagnostics=diagnostics)
    assert traj.status == -3 and "Evaluating the objective at step 8" in traj.message
    assert "`grad(x)` must be finite" in traj.message
    assert traj.n_steps == 7 and traj.x[-1, 0] == 700.0 and np.all(np.isfinite(traj.x))
    batch = S.SignGD(step=100.0).run(
        exploding, [[0.0], [-50.0]], n_steps=20, diagnostics=diagnostics
    )
    assert batch.status == -3 and "`grad_batch(X)` must be finite" in batch.message
    assert batch.n_steps == 7 and np.all(np.isfinite(batch.x))


def test_user_gradient_may_reuse_its_output_and_modify_its_input() -> None:
    # user callables keep the defensive copies of Objective.grad: a gradient that returns
    # one reused buffer, and scribbles on its argument, gives the same run as a clean one
    buf = np.empty(2)

    def grad(x):
        buf[:] = [x[0] - 0.5 * x[1], -0.5 * (x[0] - 0.5 * x[1]) + x[1] + 3.0]
        x[:] = np.nan
        return buf

    messy = Objective(slope(0.5).f, grad, hvp=lambda x, v: v, n=2)
    for x0 in ([1.0, 1.0], [[1.0, 1.0], [-2.0, 0.5]]):
        ref = S.SignGD(step=0.1).run(slope(0.5), x0, n_steps=30)
        traj = S.SignGD(step=0.1).run(messy, x0, n_steps=30)
        assert traj.status == ref.status == 0
        np.testing.assert_array_equal(traj.x, ref.x)
        np.testing.assert_array_equal(traj.diagnostics["flips"], ref.diagnostics["flips"])


def test_stationarity_and_finiteness_tests_survive_under_and_overflow() -> None:
    # g·g underflows to 0 for |g| ~ 1e-200 (not stationary) and overflows for |g| ~ 1e200
    # (still finite): the driver's one-reduction tests must fall back to exact ones
    tiny = S.SignGD(step=1e-201).run(separable_quadratic([1.0], [1e-200]), [0.0], n_steps=3)
    assert tiny.status == 0 and tiny.n_steps == 3
    zero_obj = separable_quadratic([1.0, 1.0], [0.0, 1e-200])
    zero = S.SignGD(step=0.1).run(zero_obj, [0.0, 1e-200], n_steps=3)
    assert zero.status == 1 and zero.n_steps == 0
    huge = S.SignGD(step=0.25).run(separable_quadratic([1e200, 1.0], [0.0, 0.0]), [1.0, 1.0], 2)
    assert huge.status == 0 and huge.n_steps == 2
    np.testing.assert_allclose(huge.diagnostics["grad_norm2"][0], 1e200)


def test_separable_quadratic_runs_without_its_dense_hessian() -> None:
    obj = separable_quadratic([1.0, 4.0, 9.0], [1.0, -1.0, 0.5])
    traj = S.SignGD(step="adaptive").run(obj, np.zeros((4, 3)), n_steps=5)
    assert obj._quadratic is None  # driver, smoothness and f all used the diagonal
    assert traj.metadata["smoothness"] == {"kind": "bound", "sum": 14.0}
    np.testing.assert_array_equal(traj.diagnostics["face_curvature"][0], 14.0)
    for row in range(4):
        f_row = [obj.f(x) for x in traj.x[:, row]]
        # (the batch's values are the objective's own rows, centred: to rounding)
        np.testing.assert_allclose(traj.diagnostics["f"][:, row], f_row, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("given_as", ["separable_quadratic", "from_expr"])
def test_a_batched_centred_quadratic_takes_its_values_in_its_own_form(given_as: str) -> None:
    # (stranger fuzz fz11, review rv9) a batch took f = ½Σ l x² + bᵀx + c for
    # ½Σ l (x − c)²: with centres at 1e4 that cancelled to 4e-8 at f ≈ 1, Armijo stalled
    # 1.5e-4 from the minimizer (181 zero steps of 200, status 0) where the single run
    # reaches it, and f read −3e-8 at the end. The batch now reads the objective's own
    # centred formula at its rows.
    c = np.array([1e4, -1e4, 3e3])
    if given_as == "separable_quadratic":
        obj = separable_quadratic([1.0, 2.0, 0.5], c)
    else:
        obj = Objective.from_expr(
            "(x - 10000)**2/2 + (y + 10000)**2 + (z - 3000)**2/4", ["x", "y", "z"]
        )
        assert obj.quadratic_data is not None  # (detected as a quadratic: the case)
    x0 = c + np.array([1.0, -0.7, 0.4])
    X = np.array([x0 - 1e-6, c + 1e-9, c])
    problem = Problem(obj, X[0], S.SignGD(step=0.1), batched=True)
    np.testing.assert_allclose(problem.f_rows(X), [obj.f(x) for x in X], rtol=1e-14, atol=0)
    single = S.SignGD(step=S.Armijo()).run(obj, x0, n_steps=200)
    batch = S.SignGD(step=S.Armijo()).run(obj, np.array([x0, x0 + 0.1]), n_steps=200)
    np.testing.assert_array_equal(single.x[-1], c)
    np.testing.assert_array_equal(batch.x[-1, 0], c)
    assert np.all(batch.diagnostics["f"] >= 0.0)


def test_save_every_keeps_aligned_x_and_t() -> None:
    obj = slope(a=0.5)
    full = S.SignGD(step=0.01).run(obj, [1.0, 1.0], n_steps=25)
    sparse = S.SignGD(step=0.01).run(obj, [1.0, 1.0], n_steps=25, save_every=10)
    np.testing.assert_array_equal(sparse.k, [0, 10, 20, 25])
    np.testing.assert_array_equal(sparse.x, full.x[[0, 10, 20, 25]])
    np.testing.assert_array_equal(sparse.t, full.t[[0, 10, 20, 25]])
    np.testing.assert_array_equal(sparse.diagnostics["f"], full.diagnostics["f"])
    lean = S.SignGD(step=0.01).run(obj, [1.0, 1.0], n_steps=25, diagnostics=False)
    assert set(lean.diagnostics) == {"t", "step"}
    np.testing.assert_array_equal(lean.x, full.x)


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("make", "exc", "match"),
    [
        (lambda: S.SignGD(step=-0.1), ValueError, "`step` must be a positive"),
        (lambda: S.SignGD(step=0.0), ValueError, "`step` must be a positive"),
        (lambda: S.SignGD(step=float("nan")), ValueError, "`step` must be a positive"),
        (lambda: S.SignGD(step="fast"), ValueError, "`step` must be a number, a StepPolicy"),
        (lambda: S.SignGD(step=[0.1]), TypeError, "`step` must be a positive number"),
        (lambda: S.GreedyCD(step=0.1, tie="random"), ValueError, "`tie` must be one of"),
        (lambda: S.GreedyCD(step=0.1, tie_tol=1.5), ValueError, "`tie_tol` must lie in"),
        (lambda: S.GreedyCD(step=0.1, tie_tol="0.1"), TypeError, "`tie_tol` must be a number"),
        (lambda: S.ProjectedSignGD(step=0.1, mode="slide"), ValueError, "`mode` must be one of"),
        (lambda: S.RestartedSignum(step=0.1, beta=1.0), ValueError, "`beta` must lie in"),
        (lambda: S.Adam(step=0.1, beta2=-0.1), ValueError, "`beta2` must lie in"),
        (lambda: S.Armijo(shrink=1.5), ValueError, "`shrink` must lie in"),
        (lambda: S.Tuned(grid=[0.1, -1.0]), ValueError, "`grid` must be"),
        (lambda: S.Adaptive(L=[1.0, -2.0]), ValueError, "`L` must be non-negative"),
    ],
)
def test_bad_construction_raises_clear_errors(make, exc, match) -> None:
    with pytest.raises(exc, match=match):
        make()


@pytest.mark.parametrize(
    ("x0", "kwargs", "exc", "match"),
    [
        ([np.nan, 1.0], {"n_steps": 3}, ValueError, "`x0` must be finite"),
        ([np.inf, 1.0], {"n_steps": 3}, ValueError, "`x0` must be finite"),
        ([1.0, 2.0, 3.0], {"n_steps": 3}, ValueError, "`x0` must have 2 coordinates"),
        (np.ones((2, 2, 2)), {"n_steps": 3}, ValueError, r"`x0` must be a point of shape \(n,\)"),
        (np.ones((0, 2)), {"n_steps": 3}, ValueError, "`x0` must not be empty"),
        ("abc", {"n_steps": 3}, TypeError, "`x0` must be an array of real numbers"),
        ([1.0, 2.0], {}, ValueError, "`n_steps` or `t_final` must be given"),
        ([1.0, 2.0], {"n_steps": -1}, ValueError, "`n_steps` must be >= 0"),
        ([1.0, 2.0], {"n_steps": 2.5}, TypeError, "`n_steps` must be an integer"),
        ([1.0, 2.0], {"t_final": -1.0}, ValueError, "`t_final` must be a positive"),
        ([1.0, 2.0], {"n_steps": 3, "save_every": 0}, ValueError, "`save_every` must be >= 1"),
        ([1.0, 2.0], {"n_steps": 3, "callback": 3}, TypeError, "`callback` must be callable"),
    ],
)
def test_bad_run_input_raises_clear_errors(x0, kwargs, exc, match) -> None:
    with pytest.raises(exc, match=match):
        S.SignGD(step=0.1).run(slope(0.5), x0, **kwargs)


def test_bad_objective_and_smoothness_of_general_objectives() -> None:
    with pytest.raises(TypeError, match="`objective` must be an Objective"):
        S.SignGD(step=0.1).run(lambda x: x, [1.0], n_steps=1)
    with pytest.raises(TypeError, match="`scheme` must be a Scheme"):
        S.run("SignGD", slope(0.5), [1.0, 1.0], n_steps=1)
    # general objective: adaptive steps use a sampled estimate around x0, labelled as such
    # and said (review R15: a sampled ΣL below the bound left SignGD in a 2-cycle, silent)
    obj = Objective.from_expr("x**4 + y**2 + x*y", variables=["x", "y"])
    with pytest.warns(RuntimeWarning, match="sampled around x0.*not a certified bound"):
        traj = S.SignGD(step="adaptive").run(obj, [0.5, -0.5], n_steps=20)
    assert traj.metadata["smoothness"]["kind"] == "sampled"
    assert np.all(np.isfinite(traj.diagnostics["face_curvature"]))
    # explicit constants are used as given; face curvature needs no estimate then
    traj = S.SignGD(step=S.Adaptive(L=[20.0, 3.0])).run(obj, [0.5, -0.5], n_steps=5)
    np.testing.assert_allclose(traj.step[0], np.abs(obj.grad([0.5, -0.5])).sum() / 23.0)
    assert np.all(np.isnan(traj.diagnostics["face_curvature"]))


@pytest.mark.parametrize("policy", [S.Adaptive, S.FaceAware])
@pytest.mark.parametrize("L", [[5.0], [1.0, 1.0, 1.0]])
def test_smoothness_constants_of_the_wrong_length_raise(policy: type, L: list[float]) -> None:
    # (stranger review) Adaptive(L=[5.0]) on a 2-D problem ran with broadcast steps, and
    # FaceAware(L=[1, 1, 1]) failed inside a matrix product.
    with pytest.raises(ValueError, match="`L` must hold one smoothness constant per coordinate: 2"):
        S.SignGD(step=policy(L=L)).run(slope(0.5), [1.0, 1.0], n_steps=2)


def test_greedy_selection_rule_with_a_single_active_coordinate():
    # Regression: the selection rule crashed when the tie set had one index.
    traj = S.GreedyCD(step=0.1, tie="selection").run(
        separable_quadratic([1.0, 2.0], [0.0, 0.0]), [2.0, 0.5], n_steps=3
    )
    np.testing.assert_allclose(traj.x[:, 0], [2.0, 1.9, 1.8, 1.7])
    np.testing.assert_allclose(traj.x[:, 1], 0.5)


# ------------------------------------------------------- argument checks (issue 22)


def test_adam_with_zero_eps_and_betas_is_signgd() -> None:
    obj = separable_quadratic([1.0, 100.0], [0.3, -0.2])
    adam = S.Adam(step=0.05, beta1=0.0, beta2=0.0, eps=0.0).run(obj, [1.0, 1.0], n_steps=40)
    sign = S.SignGD(step=0.05).run(obj, [1.0, 1.0], n_steps=40)
    np.testing.assert_allclose(adam.x, sign.x, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: S.SignGD(step=-1.0), "`step` must be a positive"),
        (lambda: S.Constant(eta=-1.0), "`eta` must be a positive"),
        (lambda: S.Adam(step=0.1, eps=True), "`eps` must be a non-negative number"),
        (lambda: S.ImplicitSignGD(step=0.1, tol=True), "`tol` must be a positive number"),
        (lambda: S.Tuned(validation=slope(0.5).f), "`validation` must be an Objective"),
    ],
)
def test_constructors_name_the_bad_argument(make, match) -> None:
    with pytest.raises((TypeError, ValueError), match=match):
        make()


@pytest.mark.parametrize("flag", [0, 1, None, "no"])
def test_run_diagnostics_must_be_a_bool(flag) -> None:
    with pytest.raises(TypeError, match="`diagnostics` must be True or False"):
        S.SignGD(step=0.1).run(slope(0.5), [1.0, 1.0], n_steps=2, diagnostics=flag)


def test_tuned_scores_on_the_validation_objective() -> None:
    val = separable_quadratic([1.0, 1.0], [0.0, 0.0])
    traj = S.SignGD(step=S.Tuned(grid=[0.5, 0.1], budget=5, validation=val)).run(
        slope(0.5), [1.0, 1.0], n_steps=2
    )
    assert traj.success


@pytest.mark.parametrize(
    "scheme",
    [
        S.SignGD(step=S.FaceAware(tau=0.01)),
        S.ProjectedSignGD(step=S.FaceAware(tau=0.01), mode="freeze"),
        S.ProjectedSignGD(step=S.FaceAware(tau=0.01), mode="sliding-track"),
        S.ImplicitSignGD(step=S.FaceAware(tau=0.01)),
    ],
    ids=repr,
)
def test_a_face_aware_steps_inactive_coordinates_stay_put_in_every_scheme(scheme) -> None:
    # (stranger review) |g₂| = 3e-3 ≤ τ: coordinate 2 is outside the active face and must
    # not move (DESIGN, the FaceAware docstring). The sliding-track rule rebuilt its step
    # from sign(g) and moved it to −0.999: f went from 0.5 to 1.497, breaking the step's
    # descent bound f(x₀) − ‖g_A‖₁²/(2 Σ_A L_i) = 1.5e-6.
    obj = separable_quadratic([1.0, 3.0], [0.0, 0.0])
    x0 = np.array([1.0, 1e-3])
    tr = scheme.run(obj, x0, n_steps=1)
    np.testing.assert_array_equal(tr.x[1], [0.0, 1e-3])
    assert obj.f(tr.x[1]) <= obj.f(x0) - 0.5 + 1e-15


def test_a_ragged_start_is_named() -> None:
    # (stranger review) numpy's "inhomogeneous shape" error, naming nothing of ours
    for call in (
        lambda: S.SignGD(step=0.1).run(slope(0.5), [[0.1, 0.2], [0.3]], n_steps=2),
        lambda: fp.solve(fp.steepest_descent_flow(slope(0.5)), [[0.1, 0.2], [0.3]], (0, 1)),
    ):
        with pytest.raises(TypeError, match=r"`x0` must be an array of real numbers.*differ"):
            call()


def test_an_objective_with_only_f_and_grad_runs_or_is_told_what_it_lacks() -> None:
    # (stranger review) run() accepts any object with f and grad: a batch raised
    # AttributeError 'grad_batch', the implicit step AttributeError 'hess'
    class Duck:
        def f(self, x: np.ndarray) -> float:
            return float(x @ x)

        def grad(self, x: np.ndarray) -> np.ndarray:
            return 2.0 * np.asarray(x)

    batch = S.SignGD(step=0.1).run(Duck(), np.ones((3, 2)), n_steps=2)
    np.testing.assert_allclose(batch.x[-1], np.full((3, 2), 0.8))
    with pytest.raises(TypeError, match=r"needs the objective's Hessian, and Duck has no `hess`"):
        S.ImplicitSignGD(step=0.1).run(Duck(), [0.6, 0.1], n_steps=2)
    with pytest.raises(ValueError, match=r"for 'Duck' they could not be computed"):
        S.SignGD(step="adaptive").run(Duck(), [0.6, 0.1], n_steps=2)


def test_sliding_track_with_a_face_aware_step_never_moves_an_inactive_coordinate() -> None:
    # (review) after the driver held them, the tracking state still recorded relay values
    # never applied (870 stale entries over 40 quadratics): the rule now applies 0 there
    tau = 0.05
    for seed in range(10):
        obj = rotated_quadratic([0.5, 1.0, 2.0, 4.0], rotation=0.6, seed=seed)
        x0 = np.random.default_rng(seed).normal(size=4)
        scheme = S.ProjectedSignGD(step=S.FaceAware(tau=tau), mode="sliding-track")
        tr = scheme.run(obj, x0, n_steps=60)
        G = np.array([obj.grad(x) for x in tr.x[:-1]])
        still = np.abs(G) <= tau
        np.testing.assert_array_equal(tr.x[1:][still], tr.x[:-1][still])


def test_a_batched_run_takes_a_linear_models_values_from_its_residuals() -> None:
    # A squared-loss linear model is a quadratic (its flows take the exact path), but its
    # f is a mean of squared residuals: the expanded ½xᵀHx + bᵀx + c of a batched run
    # cancelled against c = ‖y‖²/2m near a close fit (8e-5 relative at f = 5e-13).
    from filippov.objectives import linear_model
    from filippov.schemes.base import Problem

    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 5))
    x_fit = rng.standard_normal(5)
    y = A @ x_fit + 1e-9 * rng.standard_normal(30)
    obj = linear_model(A, y, lam=1e-12, loss="squared")
    X = np.array([x_fit, x_fit + 1e-7])
    problem = Problem(obj, X[0], fp.schemes.SignGD(step=0.1), batched=True)
    expected = [0.5 * np.mean((A @ x - y) ** 2) + 0.5e-12 * x @ x for x in X]
    np.testing.assert_allclose(problem.f_rows(X), expected, rtol=1e-10)


def test_a_linear_models_smoothness_constants_are_certified() -> None:
    # (review R15) ridge logistic regression took constants sampled in a unit box around
    # x0 (ΣL = 0.67 against the bound's 2.17): SignGD's adaptive step then rose at 1001
    # of 2000 steps, in a 2-cycle at f = 1.0528 above the minimum 0.4304, status 0. With
    # ℓ'' ≤ 1/4, ∇²f ⪯ AᵀA/(4m) + λI bounds them everywhere.
    from filippov.geometry import separable_smoothness
    from filippov.objectives import linear_model, ridge_logistic

    rng = np.random.default_rng(5)
    A = rng.standard_normal((40, 5))
    y = np.sign(A @ np.ones(5) + 0.1 * rng.standard_normal(40))
    obj = ridge_logistic(A, y, 0.1)
    bound = separable_smoothness(obj)
    assert bound.kind == "bound"
    for x in 10.0 * rng.standard_normal((200, 5)):  # (diag(L) ⪰ ∇²f(x), far from x0 too)
        assert np.linalg.eigvalsh(np.diag(bound.L) - obj.hess(x)).min() >= -1e-12
    traj = S.SignGD(step="adaptive").run(obj, -30.0 * np.ones(5), n_steps=2000)
    assert traj.metadata["smoothness"]["kind"] == "bound"
    assert np.all(np.diff(traj.f) <= 1e-12 * traj.f[0])
    f_star = float(
        scipy.optimize.minimize(obj.f, np.zeros(5), jac=obj.grad, hess=obj.hess,
                                method="trust-exact").fun
    )  # fmt: skip
    assert traj.f[-1] <= f_star + 1e-3
    # the log-cosh loss (ℓ'' ≤ 1) is certified as well; Poisson's e^z has no bound
    z = A @ np.ones(5)
    assert separable_smoothness(linear_model(A, z, 0.1, loss="logcosh")).kind == "bound"
    counts = rng.poisson(1.0, 40).astype(float)
    poisson = linear_model(A, counts, 0.1, loss="poisson")
    assert separable_smoothness(poisson, seed=0).kind == "sampled"


def test_armijo_backtracks_from_a_trial_where_f_overflows() -> None:
    # (review R15) exp(50x) at an initial trial step of 100 raised NonFiniteError instead
    # of shrinking the step; no trajectory came back.
    obj = Objective.from_expr("exp(50*x) + exp(-50*x) + y**2", variables=["x", "y"])
    traj = S.SignGD(step=S.Armijo(initial=100.0)).run(obj, [0.3, 1.0], n_steps=10)
    assert traj.status == 0 and traj.x.shape[0] == 11
    assert np.all(np.diff(traj.f) < 0) and traj.f[-1] < traj.f[0]


def test_smoothness_constants_that_sum_to_zero_are_refused() -> None:
    # (review R15) Adaptive(L=[0, 0]) made every step 0: a run to t_final spun 100 000
    # steps at t = 0.
    with pytest.raises(ValueError, match="`L` must have a positive sum"):
        S.Adaptive(L=[0.0, 0.0])


def test_an_implicit_run_with_non_unique_steps_says_so() -> None:
    # (review R15) On x² − y² from (0.3, 0.05) the implicit step's box VI has three
    # solutions once η exceeds the distance to the repelling y = 0; the least-norm one
    # lands on it and the run stopped at the saddle "stationary", with only a diagnostic
    # counter saying the step was not unique (the flow leaves: y = 0.05 + t).
    saddle = Objective.quadratic(np.diag([1.0, -1.0]), np.zeros(2))
    traj = S.ImplicitSignGD(step=0.1).run(saddle, [0.3, 0.05], t_final=0.5)
    assert int(np.count_nonzero(traj.diagnostics["nonunique"])) >= 1
    assert "no unique implicit step" in traj.message
    # a convex problem's implicit steps are unique: nothing is added
    bowl = separable_quadratic([1.0, 2.0], [0.0, 0.0])
    assert "unique" not in S.ImplicitSignGD(step=0.1).run(bowl, [1.0, 1.0], n_steps=5).message


def test_compare_without_the_system_reads_the_solutions_flow() -> None:
    # (review R15) fp.compare(traj, sol) without system= compared SignGD with the ℓ1
    # flow's solution and reported an "error" of 0.5; the check ran only with system=.
    obj = separable_quadratic([1.0, 2.0], [0.0, 0.0])
    x0 = np.array([1.0, 1.5])
    traj = S.SignGD(step=0.01).run(obj, x0, t_final=2.0)
    sign_flow = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 3.0))
    assert fp.compare(traj, sign_flow).sup_error_inf <= 0.01 + 1e-12
    greedy_flow = fp.solve(fp.steepest_descent_flow(obj, "l1"), x0, (0.0, 3.0))
    with pytest.raises(ValueError, match="`sol`'s flow is the l1 flow"):
        fp.compare(traj, greedy_flow)


def test_compare_says_when_the_trajectory_ended_early() -> None:
    # (review R15) A run cut short by max_steps was compared over the part it ran, with
    # nothing said (convergence_study refuses such runs).
    obj = separable_quadratic([1.0, 2.0], [0.0, 0.0])
    x0 = np.array([1.0, 1.5])
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 3.0))
    short = S.SignGD(step=0.01).run(obj, x0, t_final=2.0, max_steps=50)
    assert short.status == Status.MAX_STEPS
    with pytest.warns(UserWarning, match="ended early.*up to t = 0.5"):
        fp.compare(short, sol)


def test_sliding_track_ends_tracking_where_a_face_aware_step_holds_an_exact_zero() -> None:
    # (stranger fuzz fz14) A tracked coordinate that lands ∂_i f on exactly 0 is outside
    # a face-aware step's face and held by the driver, but the scheme took it for a plain
    # step's sign(0) = 0, kept tracking and recorded the control it computed and never
    # applied: the next drift estimate read a move that did not happen. It is held as
    # every coordinate outside the face: tracking ends there, with 0 recorded.
    H = np.array([[2.175463268902324, 2.582233359981319], [2.582233359981319, 3.7542131069964464]])
    b = np.array([-0.33006487490335196, 0.9530067793143007])
    x0 = np.array([-1.2011163702426824, -1.586214133619748])
    obj = Objective.quadratic(H, b)
    policy = S.FaceAware(L=np.abs(H).sum(axis=1), tau=1e-2)
    traj = S.ProjectedSignGD(step=policy).run(obj, x0, n_steps=40)
    G = np.array([obj.grad(x) for x in traj.x])
    k = int(np.flatnonzero((G == 0.0).any(axis=1))[0])  # (a partial landed on exactly 0)
    assert traj.diagnostics["tracking"][k - 1] == 1
    assert traj.diagnostics["tracking"][k] == 0
    np.testing.assert_array_equal(traj.x[k + 1][G[k] == 0.0], traj.x[k][G[k] == 0.0])


def test_sliding_track_of_a_coupled_codimension_2_rest_is_counted_as_saturated() -> None:
    # (stranger fuzz fz14) At slope(0.5)'s rest both coordinates track, each from its own
    # model with the other's moves folded into its drift one step late: that coupled
    # iteration does not settle here. The controls saturate and the iterates cycle as
    # SignGD's (|Δx|/η = 1 in both), which the counters called "tracking 2" at every step
    # with nothing saying that both controls were plain sign steps: "saturated" says so.
    obj = slope(a=0.5)
    eta = 0.01
    traj = S.ProjectedSignGD(step=eta, mode="sliding-track").run(obj, [0.6, 0.1], n_steps=2000)
    moves = np.abs(np.diff(traj.x[-6:], axis=0)) / eta
    np.testing.assert_allclose(moves, 1.0, rtol=1e-9)
    assert np.all(traj.diagnostics["tracking"][-5:] == 2)
    assert np.all(traj.diagnostics["saturated"][-5:] == 2)
    # (still within O(η) of the minimizer (−1.5, −3), as the docstring says)
    assert np.abs(traj.x[-1] - [-1.5, -3.0]).max() <= eta
