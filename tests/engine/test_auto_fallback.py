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


def _repelled_pair() -> fp.FilippovSystem:
    # ∂_0 f and ∂_1 f reach 0 together at τ = 1 from x0 = (1, 1, 0) (x = (1 − τ, 1 − τ, −τ)
    # before), where the block H_SS of {0, 1} is indefinite: the continuation path
    # declines (−4); the event path slides on both after it (x = (0, 0, −τ)).
    from filippov.objectives import Objective

    H = np.array([[-1.0, 2.0, 0.0], [2.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
    b = np.array([0.0, 0.0, 10.0])
    obj = Objective(lambda x: 0.5 * x @ H @ x + b @ x, lambda x: H @ x + b, lambda x: H, n=3)
    return fp.steepest_descent_flow(obj, "linf")


def test_auto_goes_on_with_the_event_path_from_where_the_continuation_declined() -> None:
    # The event path ran the whole span again after such a −4 (3–5 times the time of
    # the continuation's part on rank-3 factorizations); it now goes on from the middle
    # of the continuation's last mode, in that mode, and the solution keeps both parts.
    system = _repelled_pair()
    x0, t0 = np.array([1.0, 1.0, 0.0]), 5.0
    first = fp.solve(system, x0, (t0, t0 + 3.0), method="continuation")
    assert first.status == -4 and first.t[-1] == pytest.approx(t0 + 1.0, abs=1e-12)
    events = fp.solve(system, x0, (t0, t0 + 3.0), method="events")
    auto = fp.solve(system, x0, (t0, t0 + 3.0))
    assert auto.status == events.status == 0, auto.message
    assert auto.method == f"continuation, then {events.method}"
    last = first.segments[-1]
    handed = auto.info["failed_path"]["handed_over_at"]
    assert handed == pytest.approx(0.5 * (last.t0 + last.t1), abs=1e-12)
    assert auto.info["failed_path"] == {
        "method": "continuation",
        "status": -4,
        "message": first.message,
        "handed_over_at": handed,
    }
    assert f"path from t = {handed!r} on, where the 'continuation' path ended" in auto.message
    assert auto.message.startswith(events.message)
    # Before the hand-over: the continuation's own solution; after it the event path's,
    # which locates the arrival itself and records it as a run from the start does (the
    # mode before it the continuation's).
    before = np.linspace(t0, handed, 11)
    np.testing.assert_allclose(auto(before), first(before), rtol=0, atol=1e-15)
    assert [(e.kind, e.indices) for e in auto.events] == [
        (e.kind, e.indices) for e in events.events
    ]
    np.testing.assert_allclose(
        [e.t for e in auto.events], [e.t for e in events.events], rtol=0, atol=1e-9
    )
    assert auto.events[0].mode_before == last.mode
    assert auto.stats["n_events"] == events.stats["n_events"]
    # The closed form, and the state continuous through the hand-over.
    tau = np.linspace(0.0, 3.0, 61)
    closed = np.column_stack([np.clip(1.0 - tau, 0.0, None)] * 2 + [-tau])
    np.testing.assert_allclose(auto(t0 + tau), closed, rtol=0, atol=1e-12)
    assert np.all(np.diff(auto.t) >= 0.0)
    for a, b in zip(auto.segments[:-1], auto.segments[1:], strict=True):
        assert a.t1 == b.t0
        np.testing.assert_allclose(
            a.dense(np.array([a.t1])), b.dense(np.array([b.t0])), rtol=0, atol=1e-12
        )
    # (kept by a pickle and a saved file)
    assert pickle.loads(pickle.dumps(auto)).info == auto.info


def test_a_handed_over_run_that_fails_makes_auto_run_from_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Where the event path cannot go on from the continuation's last state, it runs
    # from the start (as before the hand-over): a path from the start may go elsewhere.
    from filippov.engine import driver

    system = _repelled_pair()
    x0 = np.array([1.0, 1.0, 0.0])
    events = fp.solve(system, x0, (0.0, 3.0), method="events")
    run = driver.run

    def failing_when_handed_over(path, max_events, zeno_spacing):  # type: ignore[no-untyped-def]
        if path.name == "events" and not np.array_equal(path.x0, x0):
            return -1, "made to fail"
        return run(path, max_events, zeno_spacing)

    monkeypatch.setattr(driver, "run", failing_when_handed_over)
    auto = fp.solve(system, x0, (0.0, 3.0))
    assert auto.status == 0 and auto.method == events.method
    assert "handed_over_at" not in auto.info["failed_path"]
    assert "its solution discarded" in auto.message
    np.testing.assert_array_equal(auto.x[-1], events.x[-1])
    assert [e.t for e in auto.events] == [e.t for e in events.events]


@pytest.mark.parametrize(
    "status, info, norm, handed",
    [
        (-4, {}, "linf", True),
        (-1, {}, "linf", False),
        (-2, {}, "linf", False),
        (-5, {}, "linf", False),
        (-4, {"least_norm_sliding": {"t": 0.5, "note": "n"}}, "linf", False),
        (-4, {}, "l1", False),
    ],
)
def test_which_continuation_runs_are_handed_over(
    status: int, info: dict[str, object], norm: str, handed: bool
) -> None:
    # Only a −4 (a situation declined, the part before it self-checked) of a sign flow's
    # run that got somewhere; never after a least-norm selection, whose part since then
    # may be wrong once a −4 says the block was regular after all, nor for the greedy
    # flow (a review's network: tie modes moving 13.5 times too fast before a −4).
    from filippov._event_path import EventPath
    from filippov._recorder import Recorder, make_mode
    from filippov.engine.driver import _may_hand_over
    from filippov.objectives import Objective

    obj = Objective(lambda x: 0.5 * x @ x, lambda x: x, lambda x: np.eye(2), n=2)
    system = fp.steepest_descent_flow(obj, norm)
    rec = Recorder(0.0, np.ones(2), "continuation")
    rec.info.update(info)
    assert not _may_hand_over(system, rec, status, EventPath)  # (nothing recorded yet)
    mode = make_mode("l1", -np.ones(2), [])
    rec.linear_segment(0.0, 0.5, np.ones(2), -np.ones(2), mode, np.zeros(2))
    assert _may_hand_over(system, rec, status, EventPath) is handed


def test_a_part_faster_than_the_flow_is_not_handed_over() -> None:
    # (the cheap check of the kept part: every coordinate of a sign flow moves at most
    # at speed 1 between breakpoints)
    from filippov._recorder import Recorder, make_mode
    from filippov.engine.driver import _speed_bound_holds

    rec = Recorder(0.0, np.ones(2), "continuation")
    mode = make_mode("l1", -np.ones(2), [])
    rec.linear_segment(0.0, 0.5, np.ones(2), -np.ones(2), mode, np.zeros(2))
    assert _speed_bound_holds(rec, 1e-8, 1e-10)
    rec.linear_segment(0.5, 0.6, rec.x[-1], np.array([-1.0, -1.01]), mode, np.zeros(2))
    assert not _speed_bound_holds(rec, 1e-8, 1e-10)
