"""The wording of status messages: whole sentences, no doubled punctuation."""

from __future__ import annotations

import numpy as np
import pytest

import filippov as fp
from filippov.objectives import Objective
from filippov.systems import FilippovSystem


def test_stationary_start_message_has_one_period() -> None:
    obj = Objective.quadratic(np.eye(2))
    single = fp.schemes.SignGD(step=0.1).run(obj, [0.0, 0.0], n_steps=3)
    assert single.message == "Stationary point reached (gradient exactly zero) at k=0, t=0."
    later = fp.schemes.SignGD(step=0.25).run(obj, [0.5, 0.5], n_steps=5)
    assert later.message.endswith("at k=2, t=0.5."), later.message
    batch = fp.schemes.SignGD(step=0.1).run(obj, [[0.0, 0.0], [0.0, 0.0]], n_steps=3)
    assert ".." not in batch.message and batch.message.endswith("."), batch.message


@pytest.mark.parametrize("method", ["exact", "event"])
def test_motion_on_h_zero_message_reads_right(method: str) -> None:
    # x' ∈ c0 − B ∂‖x[:2]‖∞: at h = 0 the relay value λ = (0.1, 0.1) is consistent and
    # leaves the velocity (0, 0, 1), which moves along h = 0 (not integrated: status −4).
    c0, B = np.array([0.1, 0.1, 1.0]), np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    if method == "exact":
        system = FilippovSystem.affine(c0, B, np.eye(2, 3), np.zeros(2), "linf")
    else:
        system = FilippovSystem(c0, B, lambda x: x[:2], norm="linf", jac_h=lambda x: np.eye(2, 3))
    sol = fp.solve(system, [0.5, 0.2, 0.0], (0.0, 3.0))
    assert sol.method.startswith(method) and sol.status == -4
    assert "the linf relay cannot hold the state at rest" in sol.message, sol.message
    assert "passing through h = 0, or moving along it, is not supported" in sol.message
    assert " an linf" not in sol.message


@pytest.mark.parametrize("norm", ["linf", "l1"])
@pytest.mark.parametrize("method", ["continuation", "events"])
def test_a_failure_names_the_state_where_the_solution_ends(norm: str, method: str) -> None:
    # (a stranger review: the greedy flow's continuation path, the event limit and the
    # driver's generic failure named the time alone)
    c = np.array([3.0, 2.5, 3.5])

    def grad(x: np.ndarray) -> np.ndarray:
        r = np.sinh(x - c) + np.array([x[0] - x[1], x[1] - x[0], 0.0])
        return r * np.nan if np.linalg.norm(x - c) < 1.0 else r  # undefined near c

    obj = fp.Objective(
        lambda x: float(np.sum(np.cosh(x - c)) + 0.5 * (x[0] - x[1]) ** 2),
        grad,
        lambda x: np.diag(np.cosh(x - c)) + np.array([[1.0, -1, 0], [-1, 1, 0], [0, 0, 0]]),
        n=3,
    )
    flow = fp.steepest_descent_flow(obj, norm)
    sol = fp.solve(
        flow, c + np.array([4.0, -3.0, 2.0]), (0, 30), method=method, check_derivatives=False
    )
    assert sol.status == -3
    named = sol.message.split("x = [", 1)[1].split("]", 1)[0]
    np.testing.assert_allclose(np.array(named.split(), dtype=float), sol.x[-1], atol=1e-9)


def test_the_event_limit_names_the_state_where_the_solution_ends() -> None:
    obj = fp.Objective.from_expr(
        "exp(0.5*x0 - x1) + log(cosh(x1 + 2*x2)) + 0.3*(x0**2 + x1**2 + x2**2)",
        variables=["x0", "x1", "x2"],
    )
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), [2.0, -1.5, 1.0], (0, 20), max_events=1)
    assert sol.status == -2
    assert "x = [" in sol.message


def test_a_tie_curve_stuck_on_collinear_features_says_its_block_is_nearly_singular() -> None:
    # Duplicated features under a ridge of 1e-12: the greedy flow's tie curve of the two
    # is determined only far above the tolerance, and its steps fall to rounding. The
    # failure said "a discontinuity of the gradient?" (the gradient is smooth).
    from filippov.objectives import ridge_logistic

    rng = np.random.default_rng(0)
    A = rng.normal(size=(30, 4))
    A[:, 1] = A[:, 0]
    y = np.where(A @ rng.normal(size=4) + rng.normal(size=30) > 0, 1.0, -1.0)
    obj = ridge_logistic(A, y, lam=1e-12)
    x0 = np.random.default_rng(7).normal(size=4)
    sol = fp.solve(fp.steepest_descent_flow(obj, "l1"), x0, (0.0, 10.0), method="continuation")
    assert sol.status == -1
    assert "nearly singular" in sol.message and "{0, 1}" in sol.message
    assert "discontinuity" not in sol.message
    assert "x = [" in sol.message


def test_an_ill_conditioned_sliding_block_is_named_when_the_corrector_fails() -> None:
    # (review R11) A quadratic of condition 1e12 given as callables (so not on the exact
    # path): the gradient's rounding (ε·1e12·|x| ~ 1e-4) over the sliding block's smallest
    # eigenvalue puts its curve beyond the default tolerance, the corrector cannot meet
    # it, and the run failed −1 "(a discontinuity of the gradient?)" though f is smooth.
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    H = Q @ np.diag(np.logspace(0, 12, 5)) @ Q.T
    H = 0.5 * (H + H.T)
    b = rng.standard_normal(5)
    obj = Objective(lambda x: 0.5 * x @ H @ x - b @ x, lambda x: H @ x - b, lambda x: H, n=5)
    x0 = rng.standard_normal(5)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 100.0), method="continuation")
    assert sol.status == -1
    assert "too ill-conditioned for the tolerance" in sol.message
    assert "discontinuity" not in sol.message


def test_a_sliding_block_that_is_not_positive_definite_is_named_with_its_flat_coordinate() -> None:
    # (review R17) Features absent from the data (zero columns) and no ridge term: ∂f/∂x_3
    # ≡ 0 and ∂²f/∂x_3² = 0, so the continuation path's sliding block at t = 0 is singular.
    # Its −4 said only LAPACK's "1-th leading minor of the array is not positive definite
    # (dpotrf)"; it now names the block, the coordinate and the way on.
    from filippov.objectives import linear_model

    rng = np.random.default_rng(0)
    A = rng.standard_normal((60, 14))
    A[:, [3, 9]] = 0.0
    obj = linear_model(A, rng.standard_normal(60), 0.0, loss="logcosh")
    flow = fp.steepest_descent_flow(obj, "linf")
    x0 = rng.standard_normal(14)
    sol = fp.solve(flow, x0, (0.0, 50.0), method="continuation")
    assert sol.status == -4
    assert "sliding coordinates {3, 9} is not positive definite" in sol.message
    assert "∂²f/∂x_3² = 0 there" in sol.message
    auto = fp.solve(flow, x0, (0.0, 50.0))
    assert auto.status == 1 and "∂²f/∂x_3² = 0" in auto.message
    np.testing.assert_allclose(auto.x[-1][[3, 9]], x0[[3, 9]], rtol=0, atol=1e-14)
