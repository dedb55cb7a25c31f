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


def test_auto_runs_the_event_path_when_the_continuation_fails_its_self_check() -> None:
    # (review R27) A Poisson model started where its linear predictor reaches 40
    # (|∇f(x0)| ~ 1e15): the sign flow's gradient falls by 15 orders inside one mode, the
    # continuation path takes ∂₁f = 0.93 for an arrival and declares a rest, and its
    # self-check refuses it (−5). "auto" returned that −5; it now runs the event path,
    # which ends at the stationary point (a scipy minimizer's, within rounding).
    from scipy.optimize import minimize

    from filippov.objectives import linear_model

    A = np.array(
        [
            [0.12920154816283685, 0.19267300263478246],
            [0.12321655263812889, 0.24257597400740039],
            [0.00055428194770725, -0.23839864741515868],
            [-0.009613673202364757, 0.08085231466376101],
            [0.06955607003969562, -0.10064991188111784],
            [-0.34507820487004115, 0.3509565257068381],
            [-0.0004616296832717679, 0.07801031252961385],
            [-0.10683341634714723, -0.13802303936097451],
            [0.1078370129744881, 0.15940537580664255],
            [-0.15792171747404324, -0.09420919550780633],
            [-0.11765993734728128, -0.1826085794480777],
            [-0.13941156109121178, -0.02010888188004819],
            [-0.29258558822757075, 0.35920662594094493],
            [-0.24021465254553714, -0.06597200486955267],
            [0.2984294839308252, -0.07067407522180648],
            [0.007349354929860223, 0.10448130273572373],
        ]
    )
    y = np.array([1.0, 1, 3, 2, 2, 2, 2, 1, 5, 2, 2, 2, 1, 2, 2, 4])
    obj = linear_model(A, y, 0.0004828062819510238, "poisson")
    x0 = np.array([110.86693521930613, -96.43352779153469])
    flow = fp.steepest_descent_flow(obj, "linf")
    opts = {"rtol": 1e-10, "atol": 1e-12}
    first = fp.solve(flow, x0, (0.0, 1e4), method="continuation", **opts)
    assert first.status == -5  # (if the continuation learns to pass, pick another case)
    sol = fp.solve(flow, x0, (0.0, 1e4), **opts)
    assert sol.status == 1, sol.message
    assert sol.info["failed_path"]["status"] == -5
    assert "ran the 'events' path after the 'continuation' path ended with status -5" in (
        sol.message
    )
    ref = minimize(obj.f, np.zeros(2), jac=obj.grad, method="BFGS", options={"gtol": 1e-12}).x
    np.testing.assert_allclose(sol.x[-1], ref, atol=1e-7)
    assert np.max(np.abs(obj.grad(sol.x[-1]))) < 1e-12
