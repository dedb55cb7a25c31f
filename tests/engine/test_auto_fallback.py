"""``method="auto"``: a run of the event path after the continuation path failed says so."""

from __future__ import annotations

import pickle
from collections.abc import Generator
from pathlib import Path

import numpy as np
import pytest

import filippov as fp
from filippov.engine.protocol import Finished
from filippov.objectives import ridge_logistic


def test_the_fallback_names_the_failed_continuation_and_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # (The solution of the fallback read like any event-path run: nothing said that the
    # continuation path had run and failed, nor why.)
    from filippov import _continuation_path

    rng = np.random.default_rng(4)
    A = rng.standard_normal((12, 3))
    obj = ridge_logistic(A, np.where(rng.standard_normal(12) + A[:, 0] > 0, 1.0, -1.0), 0.1)
    system = fp.steepest_descent_flow(obj, "linf")
    x0 = np.array([1.0, -0.5, 0.25])
    t_span = (3.0, 8.0)
    events = fp.solve(system, x0, t_span, method="events")
    why = "the sliding block is not positive definite at t = 0.25"

    def refuse(*args: object) -> Generator[None, None, Finished]:
        return Finished(-4, why)  # (in the path's clock τ = t − t0)
        yield  # (a generator that ends at once)

    monkeypatch.setattr(_continuation_path, "_steps", refuse)
    auto = fp.solve(system, x0, t_span)
    assert auto.status == events.status and auto.method == events.method
    np.testing.assert_array_equal(auto.x[-1], events.x[-1])
    assert auto.message.startswith(events.message)
    said = "the sliding block is not positive definite at t = 3.25"
    assert "'continuation' path ended with status -4" in auto.message
    assert said in auto.message and said in auto.summary()
    assert auto.info == {"failed_path": {"method": "continuation", "status": -4, "message": said}}
    # (a run that did not fall back carries no such record)
    assert events.info == {} and "continuation" not in events.message
    # (kept by a pickle and by a saved file)
    assert pickle.loads(pickle.dumps(auto)).info == auto.info
    path = tmp_path / "fallback.npz"
    auto.save(path)
    loaded = fp.FilippovSolution.load(path)
    assert loaded.info == auto.info and loaded.message == auto.message


def test_auto_runs_the_event_path_when_the_continuation_fails_its_self_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (review R27) A Poisson model started where |∇f(x0)| ~ 1e35: the ℓ1 flow's tie
    # modes floored their zero tolerance at 1e-21 of the run's start (1e14), the tie
    # value "reached 0" where ∂₂f = -2.3e14 and the continuation path declared a rest
    # there, which its self-check refused (−5); "auto" returned that −5. It then ran the
    # event path, which ends at the stationary point (a scipy minimizer's, within
    # rounding). The tie modes now take their tolerances on their own scale and reach
    # the stationary point themselves; the fallback on a failed self-check is checked
    # with a self-check made to fail for the continuation path's run.
    from scipy.optimize import minimize

    from filippov.engine import driver
    from filippov.objectives import linear_model

    rng = np.random.default_rng(173)
    m, n = int(rng.integers(20, 60)), int(rng.integers(3, 12))
    A = rng.standard_normal((m, n))
    y = rng.poisson(np.exp(np.clip(A @ rng.standard_normal(n) * 0.3, -5, 5))).astype(float)
    x0 = rng.standard_normal(n) * rng.uniform(5, 20)
    obj = linear_model(A, y, 1e-2, "poisson")
    flow = fp.steepest_descent_flow(obj, "l1")
    opts = {"rtol": 1e-10, "atol": 1e-12}
    ref = minimize(obj.f, np.zeros(n), jac=obj.grad, method="BFGS", options={"gtol": 1e-12}).x
    first = fp.solve(flow, x0, (0.0, 1e4), method="continuation", **opts)
    assert first.status == 1, first.message
    np.testing.assert_allclose(first.x[-1], ref, atol=1e-7)

    certify = driver.certify

    def failing_for_the_continuation(system, rec, status, message, **kwargs):  # type: ignore[no-untyped-def]
        if rec.method == "continuation":
            return -5, f"self-check failed: (made to fail) the path reported: {message}"
        return certify(system, rec, status, message, **kwargs)

    monkeypatch.setattr(driver, "certify", failing_for_the_continuation)
    sol = fp.solve(flow, x0, (0.0, 1e4), **opts)
    assert sol.status == 1, sol.message
    assert sol.info["failed_path"]["status"] == -5
    assert "ran the 'events' path after the 'continuation' path ended with status -5" in (
        sol.message
    )
    np.testing.assert_allclose(sol.x[-1], ref, atol=1e-7)
    assert np.max(np.abs(obj.grad(sol.x[-1]))) < 1e-12
