"""ASGD (seed paper 2, Algorithm 3), the face-aware step on a numerical active face, and the
renamed heavy-ball scheme (issue 17).

The references are written here, independently of the driver: a plain loop for ASGD, the
closed-form quadratic ``½xᵀHx + bᵀx`` for function values, and row sums of ``|H|`` for the
separable smoothness constants.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import filippov.schemes as S
from filippov.objectives import Objective, ridge_logistic, rotated_quadratic, smooth_max


def problem(seed: int, n: int, kappa: float = 100.0):
    """A random strongly convex quadratic, its closed-form f and certified L_i = Σ_j|H_ij|."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    H = (Q * np.geomspace(1.0, kappa, n)) @ Q.T
    H = 0.5 * (H + H.T)
    b = rng.standard_normal(n)

    def f(x):
        return 0.5 * x @ H @ x + b @ x

    return SimpleNamespace(
        obj=Objective.quadratic(H, b),
        f=f,
        grad=lambda x: H @ x + b,
        L=np.abs(H).sum(axis=1),
        x0=5.0 * rng.standard_normal(n),
    )


def asgd_reference(f, grad, L, x0, beta, restart, n_steps):
    """Algorithm 3 of seed paper 2, adaptive step at y_k, written as a plain loop."""
    xs, x_prev, x = [x0.copy()], x0.copy(), x0.copy()
    for _ in range(n_steps):
        y = x + beta * (x - x_prev)
        if restart and f(y) > f(x):
            y = x
        g = grad(y)
        x_prev, x = x, y - np.abs(g).sum() / L.sum() * np.sign(g)
        xs.append(x)
    return np.array(xs)


# ------------------------------------------------------------------------------- ASGD
@pytest.mark.parametrize("restart", [True, False])
def test_asgd_matches_an_independent_loop(restart: bool) -> None:
    P = problem(3, 7)
    obj, f, grad, L, x0 = P.obj, P.f, P.grad, P.L, P.x0
    traj = S.ASGD(step=S.Adaptive(L), beta=0.9, restart=restart).run(obj, x0, n_steps=80)
    ref = asgd_reference(f, grad, L, x0, 0.9, restart, 80)
    np.testing.assert_allclose(traj.x, ref, rtol=1e-9, atol=1e-12)


def _check_asgd_descent(f, grad, L, traj, beta: float, restart: bool) -> int:
    """Check f(x_{k+1}) <= f(y_k) - ||g(y_k)||_1^2/(2 ΣL) (and f(y_k) <= f(x_k) with restart)
    at every step; return the number of restarts the reference rule makes."""
    X = traj.x
    restarts = 0
    for k in range(len(X) - 1):
        y = X[k] + beta * (X[k] - X[k - 1]) if k > 0 else X[0]
        if restart and f(y) > f(X[k]):
            y, restarts = X[k], restarts + 1
        fy, g1 = f(y), np.abs(grad(y)).sum()
        tol = 1e-12 * max(1.0, abs(fy))
        assert f(X[k + 1]) <= fy - g1**2 / (2 * L.sum()) + tol, k
        if restart:
            assert fy <= f(X[k]) + tol, k
            assert f(X[k + 1]) <= f(X[k]) + tol, k
    return restarts


@settings(derandomize=True, deadline=None, max_examples=30)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 9),
    kappa=st.floats(2.0, 1e3),
    beta=st.floats(0.0, 0.99),
    restart=st.booleans(),
)
def test_asgd_descent_inequality_at_every_step(seed, n, kappa, beta, restart) -> None:
    P = problem(seed, n, kappa)
    obj, f, grad, L, x0 = P.obj, P.f, P.grad, P.L, P.x0
    traj = S.ASGD(step=S.Adaptive(L), beta=beta, restart=restart).run(obj, x0, n_steps=60)
    assert traj.status in (0, 1)
    restarts = _check_asgd_descent(f, grad, L, traj, beta, restart)
    assert int(traj.diagnostics["restarts"].sum()) == restarts


def test_asgd_descent_on_library_objectives() -> None:
    rng = np.random.default_rng(0)
    m, n = 60, 12
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    y = np.sign(rng.standard_normal(m))
    cases = [
        (ridge_logistic(A, y, 0.05), np.abs(A.T @ A).sum(axis=1) / (4 * m) + 0.05),
        # Hessian of T·lse((Ax+b)/T) is Aᵀ(diag p − ppᵀ)A/T ⪯ AᵀA/T
        (
            smooth_max(A, rng.standard_normal(m), 0.05, 0.5),
            np.abs(A.T @ A).sum(axis=1) / 0.5 + 0.05,
        ),
    ]
    for obj, L in cases:
        for restart in (True, False):
            traj = S.ASGD(step=S.Adaptive(L), restart=restart).run(obj, np.ones(n), n_steps=100)
            _check_asgd_descent(obj.f, obj.grad, L, traj, 0.9, restart)


def test_asgd_without_restart_overshoots_and_restart_is_monotone() -> None:
    P = problem(1, 10, kappa=1e3)
    obj, L, x0 = P.obj, P.L, P.x0
    plain = S.ASGD(step=S.Adaptive(L), beta=0.95, restart=False).run(obj, x0, n_steps=300)
    safe = S.ASGD(step=S.Adaptive(L), beta=0.95).run(obj, x0, n_steps=300)
    assert np.count_nonzero(np.diff(plain.f) > 0) > 0
    assert np.count_nonzero(np.diff(safe.f) > 0) == 0
    assert safe.diagnostics["restarts"].sum() > 0
    assert plain.diagnostics["restarts"].sum() == 0


def test_asgd_beta_zero_is_signgd_and_batches_match_single_runs() -> None:
    P = problem(2, 5)
    obj, L, x0 = P.obj, P.L, P.x0
    a = S.ASGD(step=S.Adaptive(L), beta=0.0).run(obj, x0, n_steps=40)
    s = S.SignGD(step=S.Adaptive(L)).run(obj, x0, n_steps=40)
    np.testing.assert_array_equal(a.x, s.x)
    X0 = np.stack([x0, -x0, 2 * x0])
    batch = S.ASGD(step=S.Adaptive(L)).run(obj, X0, n_steps=40)
    for i, row in enumerate(X0):
        single = S.ASGD(step=S.Adaptive(L)).run(obj, row, n_steps=40)
        np.testing.assert_allclose(batch.x[:, i], single.x, rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(
            batch.diagnostics["restarts"][:, i], single.diagnostics["restarts"]
        )


def test_asgd_works_with_armijo_and_tuned_steps() -> None:
    P = problem(4, 6)
    obj, x0 = P.obj, P.x0
    arm = S.ASGD(step=S.Armijo()).run(obj, x0, n_steps=60)
    assert np.all(np.diff(arm.f) <= 1e-12 * np.abs(arm.f[:-1]).clip(1.0))
    tuned = S.ASGD(step=S.Tuned(grid=[1e-3, 1e-2, 1e-1], budget=30)).run(obj, x0, n_steps=30)
    assert tuned.metadata["step"]["selected"] in (1e-3, 1e-2, 1e-1)
    np.testing.assert_allclose(tuned.step, tuned.metadata["step"]["selected"])


# ----------------------------------------------------------------------- face-aware step
def test_active_face_absolute_and_relative() -> None:
    g = np.array([[3.0, -0.2, 1e-12, -1.0], [0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(S.active_face(g, 0.5), [[True, False, False, True], [False] * 4])
    np.testing.assert_array_equal(
        S.active_face(g, 0.1, relative=True), [[True, False, False, True], [False] * 4]
    )
    np.testing.assert_array_equal(S.active_face(g), g != 0)
    with pytest.raises(ValueError, match="relative=True"):
        S.active_face(g, 1.0, relative=True)


@settings(derandomize=True, deadline=None, max_examples=30)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 9),
    kappa=st.floats(2.0, 1e3),
    tau=st.floats(0.0, 0.9),
    relative=st.booleans(),
)
def test_face_aware_descent_bound_and_frozen_coordinates(seed, n, kappa, tau, relative) -> None:
    P = problem(seed, n, kappa)
    obj, f, grad, L, x0 = P.obj, P.f, P.grad, P.L, P.x0
    traj = S.SignGD(step=S.FaceAware(L, tau=tau, relative=relative)).run(obj, x0, n_steps=50)
    X = traj.x
    for k in range(len(X) - 1):
        g = grad(X[k])
        thr = tau * np.abs(g).max() if relative else tau
        A = np.abs(g) > thr
        gA = np.abs(g[A]).sum()
        LA = L[A].sum()
        # the inactive coordinates do not move; the step is ||g_A||_1 / Σ_A L_i
        np.testing.assert_array_equal(X[k + 1][~A], X[k][~A])
        assert traj.step[k] == pytest.approx(gA / LA if LA > 0 else 0.0, rel=1e-12)
        bound = gA**2 / (2 * LA) if LA > 0 else 0.0
        assert f(X[k + 1]) <= f(X[k]) - bound + 1e-12 * max(1.0, abs(f(X[k]))), k
        assert traj.diagnostics["face_size"][k] == A.sum()
        assert traj.diagnostics["face_curvature"][k] == pytest.approx(LA, rel=1e-12)


@settings(derandomize=True, deadline=None, max_examples=30)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 9), which=st.floats(0.0, 1.0))
def test_face_aware_differs_from_adaptive_when_a_component_is_below_tau(seed, n, which) -> None:
    P = problem(seed, n)
    obj, grad, L, x0 = P.obj, P.grad, P.L, P.x0
    mags = np.sort(np.abs(grad(x0)))
    # tau at or above at least one |g_i| (possibly all of them: then the face is empty)
    i = min(int(which * n), n - 1)
    tau = float(mags[i]) if i == n - 1 else 0.5 * float(mags[i] + mags[i + 1])
    face = S.SignGD(step=S.FaceAware(L, tau=tau)).run(obj, x0, n_steps=1)
    adaptive = S.SignGD(step=S.Adaptive(L)).run(obj, x0, n_steps=1)
    if i == n - 1:
        # an empty face: stationary by the policy's test, the run stops at x0
        assert face.status == 1 and face.x.shape == (1, n)
    else:
        assert not np.allclose(face.x[1], adaptive.x[1], rtol=1e-9, atol=0.0)
    # below every |g_i| the face is full and the two steps agree
    same = S.SignGD(step=S.FaceAware(L, tau=0.5 * float(mags[0]))).run(obj, x0, n_steps=1)
    np.testing.assert_allclose(same.x[1], adaptive.x[1], rtol=1e-12, atol=1e-14)


def test_face_aware_with_asgd_uses_the_face_at_the_extrapolated_point() -> None:
    P = problem(5, 8)
    obj, f, grad, L, x0 = P.obj, P.f, P.grad, P.L, P.x0
    tau = 0.2
    traj = S.ASGD(step=S.FaceAware(L, tau=tau, relative=True), beta=0.9).run(obj, x0, n_steps=40)
    X = traj.x
    for k in range(len(X) - 1):
        y = X[k] + 0.9 * (X[k] - X[k - 1]) if k > 0 else X[0]
        if f(y) > f(X[k]):
            y = X[k]
        g = grad(y)
        A = np.abs(g) > tau * np.abs(g).max()
        np.testing.assert_allclose(X[k + 1][~A], y[~A], rtol=0, atol=0)
        assert traj.diagnostics["face_size"][k] == A.sum()
        gA, LA = np.abs(g[A]).sum(), L[A].sum()
        assert f(X[k + 1]) <= f(y) - gA**2 / (2 * LA) + 1e-12 * max(1.0, abs(f(y)))


# --------------------------------------------------------------- the renamed heavy ball
def test_inertial_signgd_is_a_deprecated_alias_of_restarted_signum() -> None:
    obj = rotated_quadratic([1.0, 10.0, 50.0], rotation=0.7, seed=0)
    with pytest.warns(DeprecationWarning, match="RestartedSignum"):
        old = S.InertialSignGD(step=0.01, beta=0.8)
    assert isinstance(old, S.RestartedSignum)
    new = S.RestartedSignum(step=0.01, beta=0.8)
    x0 = [1.0, -2.0, 0.5]
    np.testing.assert_array_equal(old.run(obj, x0, n_steps=30).x, new.run(obj, x0, n_steps=30).x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        S.RestartedSignum(step=0.01)  # the new name does not warn


def test_restarted_signum_without_restart_is_signum() -> None:
    obj = rotated_quadratic([1.0, 10.0, 50.0], rotation=0.7, seed=0)
    x0 = [1.0, -2.0, 0.5]
    a = S.RestartedSignum(step=0.01, beta=0.8, restart=False).run(obj, x0, n_steps=60)
    b = S.Signum(step=0.01, beta=0.8).run(obj, x0, n_steps=60)
    np.testing.assert_allclose(a.x, b.x, rtol=0, atol=1e-13)


# ------------------------------------------------------- smooth max with a quadratic term
def test_smooth_max_quadratic_term_against_closed_forms() -> None:
    import pickle

    from scipy.special import logsumexp, softmax

    rng = np.random.default_rng(7)
    m, n, lam, T = 9, 4, 0.1, 0.7
    A, b = rng.standard_normal((m, n)), rng.standard_normal(m)
    Q = rotated_quadratic(np.geomspace(0.5, 50.0, n), seed=3).quadratic_data[0]
    obj = smooth_max(A, b, lam, T, quadratic=Q)
    plain = smooth_max(A, b, lam, T)
    x, v = rng.standard_normal(n), rng.standard_normal(n)
    p = softmax((A @ x + b) / T)
    assert obj.f(x) == pytest.approx(
        T * logsumexp((A @ x + b) / T) + 0.5 * lam * x @ x + 0.5 * x @ Q @ x, rel=1e-13
    )
    np.testing.assert_allclose(obj.grad(x), A.T @ p + lam * x + Q @ x, rtol=1e-12)
    H = A.T @ (np.diag(p) - np.outer(p, p)) @ A / T + lam * np.eye(n) + Q
    np.testing.assert_allclose(obj.hess(x), H, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(obj.hvp(x, v), H @ v, rtol=1e-12, atol=1e-14)
    X = rng.standard_normal((3, n))
    np.testing.assert_allclose(obj.grad_batch(X), [obj.grad(r) for r in X], rtol=1e-12)
    np.testing.assert_allclose(obj.hess(x) - plain.hess(x), Q, rtol=1e-12, atol=1e-13)
    assert obj.check_derivatives(x).ok
    again = pickle.loads(pickle.dumps(obj))
    assert again.f(x) == obj.f(x)
    with pytest.raises(ValueError, match="symmetric"):
        smooth_max(A, b, lam, T, quadratic=np.triu(Q))
    with pytest.raises(ValueError, match=r"\(4, 4\)"):
        smooth_max(A, b, lam, T, quadratic=np.eye(3))


# ------------------------------------------------------------ reproduce and the Fig. 6 plot
def test_paper2_benchmarks_certify_their_constants_and_minimizers() -> None:
    from filippov.reproduce import paper2_benchmarks

    rng = np.random.default_rng(0)
    for bench in paper2_benchmarks().values():
        obj = bench.objective
        assert np.abs(obj.grad(bench.x_star)).max() < 1e-9
        for _ in range(3):
            x = bench.x_star + 3.0 * rng.standard_normal(bench.x0.size)
            H = obj.hess(x)
            # diag(L) ⪰ ∇²f and L_euclid ≥ λmax(∇²f), at points far from x*
            assert np.linalg.eigvalsh(np.diag(bench.L) - H)[0] >= -1e-12
            assert np.linalg.eigvalsh(H)[-1] <= bench.L_euclid * (1 + 1e-12)
        assert bench.validation.f(bench.x0) != obj.f(bench.x0)


def test_gap_and_monotonicity_measures_and_claims_table() -> None:
    from filippov.reproduce import ClaimsTable, iterations_to_gap, nonmonotone_steps

    run = SimpleNamespace(f=np.array([5.0, 2.0, 2.5, 1.0 + 1e-3, 1.0005, 1.0]))
    assert iterations_to_gap(run, 1.0, 1e-3) == 3
    assert iterations_to_gap(run, 1.0, 1e-9) == 5
    assert iterations_to_gap(run, 0.0, 1e-3) is None
    assert nonmonotone_steps(run) == 1
    assert nonmonotone_steps(SimpleNamespace(f=[1.0, 1.0 + 1e-15])) == 0  # rounding
    table = ClaimsTable().add("a < b", "Sec. 1", "3 vs <4>", "no")
    html = table._repr_html_()
    assert "3 vs &lt;4&gt;" in html and html.count("<tr>") == 2
    assert "   * - a < b" in table.to_rst()
    assert "reproduced: no" in str(table)
    with pytest.raises(TypeError, match="measured"):
        table.add("c", "d", 3, "yes")


def test_face_ablation_plot_draws_the_numerical_face() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from filippov import plot

    P = problem(8, 6)
    runs = {
        "SignGD": S.SignGD(step=S.Adaptive(P.L)).run(P.obj, P.x0, n_steps=40),
        "ASGD": S.ASGD(step=S.Adaptive(P.L)).run(P.obj, P.x0, n_steps=40),
    }
    ax = plot.face_ablation(P.obj, runs, 0.2, relative=True)
    ax.figure.canvas.draw()  # the labels' mathtext parses
    for label, run in runs.items():
        (line,) = plot.artists(ax, f"face-ablation:{label}")
        G = np.array([P.grad(x) for x in run.x])
        expected = (np.abs(G) > 0.2 * np.abs(G).max(axis=1, keepdims=True)).sum(axis=1)
        np.testing.assert_array_equal(line.get_ydata(), expected)
    ax2 = plot.face_ablation(P.obj, runs, 1.0, quantity="curvature", L=P.L)
    (line,) = plot.artists(ax2, "face-ablation:SignGD")
    G = np.array([P.grad(x) for x in runs["SignGD"].x])
    np.testing.assert_allclose(line.get_ydata(), (np.abs(G) > 1.0) @ P.L)
    with pytest.raises(ValueError, match="`L` is required"):
        plot.face_ablation(P.obj, runs, 1.0, quantity="curvature")
    plt.close("all")


def test_tuned_discards_candidates_whose_validation_value_overflows() -> None:
    P = problem(9, 3)
    # finite training run, but the validation objective overflows far from the origin
    validation = Objective(
        lambda x: float(np.exp(np.abs(x).max() * 100.0)),
        lambda x: np.zeros_like(x),
        lambda x: np.zeros((3, 3)),
        n=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = S.SignGD(step=S.Tuned(grid=[0.01, 1000.0], budget=5, validation=validation)).run(
            P.obj, np.zeros(3), n_steps=3
        )
    assert run.metadata["step"]["selected"] == 0.01
    assert run.metadata["step"]["scores"][1] is None


def test_asgd_points_that_reach_t_final_stay_put() -> None:
    P = problem(10, 4)
    X0 = np.stack([P.x0, 0.5 * P.x0])
    run = S.ASGD(step=S.Adaptive(P.L)).run(P.obj, X0, t_final=2.0)
    assert run.status == 0
    np.testing.assert_allclose(run.t[-1], [2.0, 2.0], rtol=1e-13)
    first = [np.flatnonzero(np.isclose(run.t[:, i], 2.0, rtol=1e-13))[0] for i in range(2)]
    assert first[0] < first[1]  # the first point waits (with momentum) for the second
    for i in range(2):
        reached = first[i]
        np.testing.assert_array_equal(
            run.x[reached:, i], np.repeat(run.x[[reached], i], len(run.x) - reached, axis=0)
        )


def test_a_face_aware_run_stops_where_its_active_face_is_empty() -> None:
    # (stranger review) Once every |g_i| <= tau nothing moves and the time does not
    # advance: a run to t_final spun through max_steps (100000 identical iterates, -6).
    obj = Objective.quadratic(np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, -1.0]))
    traj = S.SignGD(step=S.FaceAware(tau=1e-6)).run(obj, [1.0, 2.0], t_final=50.0)
    assert traj.status == 1
    assert "active-face threshold" in traj.message and traj.x.shape[0] < 100
    g_end = obj.grad(traj.x[-1])
    assert np.abs(g_end).max() <= 1e-6 < np.abs(obj.grad(traj.x[-2])).max()
    # a threshold above the gradient at the start: stopped there
    traj = S.SignGD(step=S.FaceAware(tau=1e9)).run(obj, [1.0, 2.0], t_final=1.0)
    assert traj.status == 1 and traj.x.shape == (1, 2)
    # a batch stops once every point's face is empty
    starts = np.array([[1.0, 2.0], [3.0, -1.0]])
    batch = S.SignGD(step=S.FaceAware(tau=1e-6)).run(obj, starts, t_final=50.0)
    assert batch.status == 1
    assert np.abs(np.array([obj.grad(x) for x in batch.x[-1]])).max() <= 1e-6


def test_a_batch_whose_other_points_reach_t_final_says_so() -> None:
    # (stranger review) One point idle from its start, the other reaching t_final: the
    # status was 0 with a message that every point's face was empty.
    obj = Objective.quadratic(np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, -1.0]))
    x_star = np.linalg.solve(np.array([[2.0, 0.5], [0.5, 1.0]]), -np.array([1.0, -1.0]))
    starts = np.array([x_star + 1e-9, [30.0, -20.0]])
    batch = S.SignGD(step=S.FaceAware(tau=1e-6)).run(obj, starts, t_final=0.5)
    assert batch.status == 0
    assert batch.message.startswith("Reached t_final=0.5") and "(1 of 2)" in batch.message
    assert batch.t[-1].tolist() == [0.0, 0.5]
