"""The greedy (ℓ1) flow's ties near a minimizer on the event path, against the exact path.

A quadratic given as plain callables runs on the general paths; the same quadratic as
``Objective.quadratic`` runs on the exact path, which is exact to rounding: an independent
reference for every event and state (review R19)."""

from __future__ import annotations

import numpy as np
import pytest

import filippov as fp
from filippov.objectives import Objective


def _near_start_quadratic(
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """An ill-conditioned quadratic (eigenvalues 1e-6 to 30), its minimizer at a scale up
    to 1e3, a start 1e-7 to 1e-3 from it, and an rtol from 1e-12 to 1e-7."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 10))
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    H = Q @ np.diag(10 ** rng.uniform(-6, 1.5, n)) @ Q.T
    H = 0.5 * (H + H.T)
    x_min = 10 ** rng.uniform(0, 3) * rng.standard_normal(n)
    b = -H @ x_min
    x0 = x_min + 10 ** rng.uniform(-7, -3) * rng.standard_normal(n)
    rtol = 10 ** rng.uniform(-12, -7)
    return H, b, x_min, x0, rtol


def _assert_the_event_path_follows_the_exact_path(
    H: np.ndarray, b: np.ndarray, x_min: np.ndarray, x0: np.ndarray, rtol: float, t_end: float
) -> None:
    """The greedy flow of ``½xᵀHx + bᵀx`` as plain callables on the event path, against the
    same quadratic on the exact path (exact to rounding): status 1, the same event kinds,
    the rest's time and the states within 30 tolerances (at unit ℓ1 speed, a time error
    is a state error of the same size)."""
    exact = fp.solve(fp.steepest_descent_flow(Objective.quadratic(H, b), "l1"), x0, (0.0, t_end))
    assert exact.status == 1
    t_rest = exact.events[-1].t
    plain = Objective(lambda x: 0.5 * x @ H @ x + b @ x, lambda x: H @ x + b, lambda x: H)
    flow = fp.steepest_descent_flow(plain, "l1")
    sol = fp.solve(flow, x0, (0.0, t_end), method="events", rtol=rtol, atol=rtol / 100)
    assert sol.status == 1, sol.message
    tol = rtol * max(1.0, float(np.max(np.abs(x_min)))) + rtol / 100
    assert [e.kind for e in sol.events] == [e.kind for e in exact.events]
    assert abs(sol.events[-1].t - t_rest) <= 30 * tol
    ts = np.linspace(0.0, 1.5 * t_rest, 2001)
    assert np.max(np.abs(sol(ts) - exact(ts))) <= 30 * tol


# (the seeds on which the event path ended status 1 between 226 and 24 484 tolerances off
# the exact path before the fix)
@pytest.mark.parametrize("seed", [8, 22, 25, 26, 38, 50])
def test_the_greedy_flows_ties_near_a_minimizer_follow_the_exact_path(seed: int) -> None:
    # Every index off the tie got an offset of the tie tolerance (1e-12 of h's scale at
    # x0) for the whole mode: near the minimizer, where |∂f| had fallen to 1e-6 of that
    # scale, it was up to a third of the tie's value, and each re-entry into the tie came
    # late by it over its rate (an event 1.7e-6 late in a flow 7.5e-3 long, the state
    # 5e-6 off at rtol = 2e-12, status 1). Only indices on the tie get one now, of the
    # rounding of h, and it is released once they leave the tie, as on the ℓ1 relay.
    H, b, x_min, x0, rtol = _near_start_quadratic(seed)
    _assert_the_event_path_follows_the_exact_path(H, b, x_min, x0, rtol, 10.0)


def test_auto_runs_the_event_path_when_the_tie_continuation_reports_too_many_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (review R19) On 17 of 60 such quadratics the tie continuation's events recur at an
    # exit until its Zeno guard stops it (−2), where the event path follows the exact
    # path; method="auto" returned the −2. (11 of the 60 later; seed 6, R19's case,
    # passes since the joins' iterates start from the last solved point.) Which seeds end
    # −2 depends on rounding: seed 12, which did, ends status 1 on the exact path's rest
    # with OpenBLAS's Haswell kernels (another 9 of the 60 end −2 there). So the −2 is made
    # here, not found: the continuation run of seed 12 (25 events) is stopped by the
    # driver's own event limit at 10 events, a genuine −2 of that path, while the event
    # path keeps the caller's limit. On the bug (−2 not in the continuation's retry_on)
    # auto returns that −2 and the status check below fails.
    from filippov.engine import IntegrationPath, driver

    real_run = driver.run

    def run_with_few_events_on_the_continuation(
        path: IntegrationPath, max_events: int, zeno_spacing: float
    ) -> tuple[int, str]:
        if path.name == "continuation":
            max_events = min(max_events, 10)
        return real_run(path, max_events, zeno_spacing)

    monkeypatch.setattr(driver, "run", run_with_few_events_on_the_continuation)
    H, b, x_min, x0, rtol = _near_start_quadratic(12)
    plain = Objective(lambda x: 0.5 * x @ H @ x + b @ x, lambda x: H @ x + b, lambda x: H)
    flow = fp.steepest_descent_flow(plain, "l1")
    first = fp.solve(flow, x0, (0.0, 10.0), method="continuation", rtol=rtol, atol=rtol / 100)
    assert first.status == -2 and "max_events = 10" in first.message
    sol = fp.solve(flow, x0, (0.0, 10.0), rtol=rtol, atol=rtol / 100)
    assert sol.status == 1, sol.message
    assert sol.info["failed_path"]["status"] == -2
    assert "ran the 'events' path after the 'continuation' path" in sol.message
    exact = fp.solve(fp.steepest_descent_flow(Objective.quadratic(H, b), "l1"), x0, (0.0, 10.0))
    ts = np.linspace(0.0, 1.5 * exact.events[-1].t, 1001)
    tol = rtol * max(1.0, float(np.max(np.abs(x_min)))) + rtol / 100
    assert np.max(np.abs(sol(ts) - exact(ts))) <= 30 * tol


def test_a_tie_with_a_nearly_singular_block_does_not_drift_off_its_manifold() -> None:
    # (review R19) A log-cosh model on 0/1 data whose greedy flow slides on a tie with a
    # block row of 1.4e-5: the event path's integrator drifted 1.1e4 tolerances off the
    # tie inside a segment, whose reading then failed ("the system ... has changed since
    # the solve", though nothing had), and the events came up to 1.8e-3 off the
    # continuation path's at rtol 1e-12. A mode now goes on from the projected state
    # once its drift passes 10 tolerances: the segments read, the events 1.2e-4 off.
    from scipy.optimize import minimize

    from filippov.objectives import linear_model

    rng = np.random.default_rng(13)
    d = int(rng.integers(5, 41))
    m = int(rng.integers(max(3, d // 3), 2 * d + 10))
    rng.standard_normal((m, d))
    rng.choice(["gauss", "dup", "collinear", "scaled", "sparse01"])
    A = (rng.random((m, d)) < 0.2).astype(float)
    rng.choice(["ridge_logistic", "logistic", "poisson", "squared", "logcosh"])
    lam = float(10 ** rng.uniform(-8, 1))
    y = rng.standard_normal(m) * 3
    obj = linear_model(A, y, lam, loss="logcosh")
    x_min = minimize(obj.f, np.zeros(d), jac=obj.grad, method="L-BFGS-B",
                     options={"gtol": 1e-13, "ftol": 1e-16, "maxiter": 20000, "maxcor": 50}).x  # fmt: skip
    for _ in range(20):
        x_min = x_min - np.linalg.solve(obj.hess(x_min), obj.grad(x_min))
    rng.choice(["zero", "far", "near"])
    x0 = x_min + 10 * rng.standard_normal(d) * max(1.0, float(np.max(np.abs(x_min))))
    rtol = float(10 ** rng.uniform(-12, -6))
    T = 10 * float(np.sum(np.abs(x0 - x_min))) + 10
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "l1"), x0, (0.0, T), method="events", rtol=rtol,
        atol=rtol / 100,
    )  # fmt: skip
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol.x[-1], x_min, rtol=0, atol=1e-6)
    ref = fp.solve(
        fp.steepest_descent_flow(obj, "l1"), x0, (0.0, T), method="continuation",
        rtol=1e-12, atol=1e-14,
    )  # fmt: skip
    assert ref.status == 1, ref.message
    assert [(e.kind, e.indices) for e in sol.events] == [(e.kind, e.indices) for e in ref.events]
    assert max(abs(a.t - b.t) for a, b in zip(sol.events, ref.events, strict=True)) <= 5e-4
    ts = np.linspace(0.0, ref.events[-1].t, 400)
    assert np.max(np.abs(sol(ts) - ref(ts))) <= 1e-3  # (reading every segment)


def test_a_tie_entry_is_not_taken_for_the_rest_by_a_jump_across_the_path() -> None:
    # (review R20) An ill-conditioned quadratic (condition 7.7e5) started 1.5e-4 from its
    # minimizer: after a crossing at t = 2.351e-4 the common |∂f| of the tie is 3.5e-9 and
    # the rest guard's probe put h = 0 at the next tie-entry. The move onto h = 0 was
    # kept (59 tolerances across the path, within 100; 296 along it, within 100 times the
    # arrival factor 12), but the rest kept its time, as a move across the path is no
    # location error: the state jumped 1.2e-4 (233 tolerances) onto the minimizer at
    # t = 2.351e-4, two tie-entries skipped and the rest reported at half its time
    # (the exact path rests at t = 4.963e-4), status 1.
    rng = np.random.default_rng(5013)
    n = int(rng.integers(3, 9))
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    lo = rng.choice([-1, -3, -6])
    H = Q @ np.diag(10 ** rng.uniform(lo, 1.5, n)) @ Q.T
    H = 0.5 * (H + H.T)
    b = -H @ (10 ** rng.uniform(-1, 2) * rng.standard_normal(n))
    x_min = np.linalg.solve(H, -b)
    x0 = x_min + 10 ** rng.uniform(-7, -3) * rng.standard_normal(n)
    rtol = float(10 ** rng.uniform(-12, -6))
    _assert_the_event_path_follows_the_exact_path(H, b, x_min, x0, rtol, 1e4)
