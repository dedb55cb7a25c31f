"""The engine's path protocol: the driver owns what every path shares.

Checked here: options that a path ignores are reported, options passed whole reach the
path, a path written outside the package plugs into ``solve`` unchanged, and the event
limit, the stationary stop and failures behave the same on every path.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import filippov as fp
from filippov._validation import FloatArray
from filippov.engine import (
    ContinuationOptions,
    EventOptions,
    ExactOptions,
    Finished,
    PathFailure,
    Rest,
    SteppedPath,
)
from filippov.objectives import ridge_logistic, rotated_quadratic, slope


def _sign_flow() -> tuple[fp.FilippovSystem, np.ndarray]:
    obj = rotated_quadratic(np.geomspace(0.5, 5.0, 6), rotation=1.0, seed=2)
    return fp.steepest_descent_flow(obj, "linf"), np.random.default_rng(2).standard_normal(6)


def _logistic_flow() -> tuple[fp.FilippovSystem, np.ndarray]:
    rng = np.random.default_rng(4)
    A = rng.standard_normal((25, 5))
    y = np.where(rng.standard_normal(25) > 0, 1.0, -1.0)
    obj = ridge_logistic(A, y, 0.1)
    return fp.steepest_descent_flow(obj, "linf"), rng.standard_normal(5)


@pytest.mark.parametrize(
    ("method", "keywords", "named"),
    [
        (
            "exact",
            {"rtol": 1e-3, "integrator": "BDF", "stabilization": 5.0},
            ["rtol", "integrator", "stabilization"],
        ),
        ("exact", {"atol": 1e-6}, ["atol"]),
        ("continuation", {"integrator": "Radau"}, ["integrator"]),
        ("events", {}, []),
        ("events", {"rtol": 1e-8, "stabilization": 1.0}, []),
    ],
)
def test_an_option_the_chosen_path_ignores_is_named_in_a_warning(
    method: str, keywords: dict[str, Any], named: list[str]
) -> None:
    system, x0 = _logistic_flow() if method != "exact" else _sign_flow()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sol = fp.solve(system, x0, (0.0, 2.0), method=method, **keywords)
    assert sol.status >= 0
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    if not named:
        assert messages == []
    else:
        assert len(messages) == 1
        for name in named:
            assert f"`{name}`" in messages[0]
        assert method in messages[0]


def test_auto_gives_no_warning_for_path_options() -> None:
    system, x0 = _sign_flow()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fp.solve(system, x0, (0.0, 2.0), rtol=1e-8)


def test_options_passed_whole_reach_the_path_and_name_it() -> None:
    system, x0 = _sign_flow()
    ref = fp.solve(system, x0, (0.0, 20.0))
    direct = fp.solve(system, x0, (0.0, 20.0), options=ExactOptions(incremental=False))
    assert direct.method == "exact" and ref.status == direct.status == 1
    assert [(e.kind, e.indices) for e in direct.events] == [(e.kind, e.indices) for e in ref.events]
    np.testing.assert_allclose(direct.x, ref.x, rtol=0, atol=1e-12)
    # the options' type names the path under "auto"
    events = fp.solve(system, x0, (0.0, 20.0), options=EventOptions(rtol=1e-11, atol=1e-13))
    assert events.method == "events (DOP853)"
    np.testing.assert_allclose(events.x[-1], ref.x[-1], atol=1e-7)


def test_options_and_the_same_keyword_are_refused() -> None:
    system, x0 = _logistic_flow()
    with pytest.raises(ValueError, match="`rtol` given both"):
        fp.solve(system, x0, (0.0, 1.0), rtol=1e-6, options=ContinuationOptions(rtol=1e-8))
    flow, y0 = _sign_flow()
    with pytest.raises(TypeError, match="ExactOptions"):
        fp.solve(flow, y0, (0.0, 1.0), method="exact", options=EventOptions())


def test_a_path_that_cannot_run_the_system_says_why() -> None:
    system, x0 = _logistic_flow()
    with pytest.raises(ValueError, match="piecewise-affine"):
        fp.solve(system, x0, (0.0, 1.0), method="exact")
    flow, y0 = _sign_flow()
    normalized = fp.steepest_descent_flow(rotated_quadratic([1.0, 2.0], seed=0), "l2")
    with pytest.raises(ValueError, match="sign"):
        fp.solve(normalized, y0[:2], (0.0, 1.0), method="continuation")
    with pytest.raises(ValueError, match="method"):
        fp.solve(flow, y0, (0.0, 1.0), method="no-such-path")


class _ScalarRelayPath(SteppedPath):
    """A path written outside the package: x' = −sign(x) in one dimension, in closed form
    (reaches 0 at |x0| and rests there). Uses only the protocol and the recorder."""

    name = "scalar-relay"

    @dataclass(frozen=True)
    class Options:
        """No options."""

    @classmethod
    def unsupported(cls, system: Any) -> str | None:
        return None if getattr(system, "n", None) == 1 else "one dimension only"

    def steps(self) -> Generator[None, None, Finished | Rest]:
        rec, x = self.recorder, np.array(self.x0, dtype=float)
        t, v = 0.0, -np.sign(x)
        mode = fp.Mode("l1", (int(np.sign(x[0])),), ())
        t_hit = float(abs(x[0]))
        if t_hit >= self.horizon:
            rec.linear_segment(t, self.horizon, x, v, mode, np.sign(x))
            return Finished(0, "reached the end of t_span")
        yield
        x = rec.linear_segment(t, t_hit, x, v, mode, np.sign(x))
        rest = fp.Mode("l1", (0,), (0,))
        rec.event(t_hit, x, "sliding-entry", [0], mode, rest)
        return Rest(t_hit, x, [0], rest, rest, np.zeros(1))


def test_a_path_of_ones_own_plugs_into_solve() -> None:
    relay = fp.FilippovSystem.affine([0.0], [[1.0]], [[1.0]], [0.0], "l1")
    sol = fp.solve(relay, [1.5], (0.0, 4.0), method=_ScalarRelayPath, check_derivatives=False)
    assert sol.method == "scalar-relay" and sol.status == 1
    assert [e.kind for e in sol.events] == ["sliding-entry", "stationary"]
    assert sol.events[0].t == pytest.approx(1.5)
    np.testing.assert_allclose(sol(np.array([0.5, 1.5, 3.0])).ravel(), [1.0, 0.0, 0.0], atol=1e-15)
    # the same as the library's exact path
    exact = fp.solve(relay, [1.5], (0.0, 4.0))
    np.testing.assert_allclose(exact(np.linspace(0, 4, 9)), sol(np.linspace(0, 4, 9)), atol=1e-15)


class _FailingPath(_ScalarRelayPath):
    name = "failing"

    def steps(self) -> Generator[None, None, Finished | Rest]:
        self.recorder.linear_segment(
            0.0, 0.25, self.x0, -np.sign(self.x0), fp.Mode("l1", (1,), ()), np.ones(1)
        )
        yield
        raise PathFailure(-4, "the test path gives up at t = 0.25")


class _RaisingPath(_ScalarRelayPath):
    name = "raising"

    def steps(self) -> Generator[None, None, Finished | Rest]:
        yield
        raise ArithmeticError("a numerical routine gave up")


def test_failures_of_a_path_end_the_run_with_a_status_and_keep_the_partial_solution() -> None:
    relay = fp.FilippovSystem.affine([0.0], [[1.0]], [[1.0]], [0.0], "l1")
    sol = fp.solve(relay, [1.5], (0.0, 4.0), method=_FailingPath, check_derivatives=False)
    assert sol.status == -4 and "gives up" in sol.message and sol.t[-1] == 0.25
    sol = fp.solve(relay, [1.5], (0.0, 4.0), method=_RaisingPath, check_derivatives=False)
    assert sol.status == -1 and "ArithmeticError" in sol.message


def _system_raising_at_x0(which: str) -> Any:
    """A system one of whose user functions divides by zero wherever it is evaluated."""
    if which == "relay field":
        return fp.FilippovSystem(
            lambda x: 1.0 / 0.0 * x, np.eye(2), lambda x: x, "l1", jac_h=lambda x: np.eye(2)
        )
    if which == "objective gradient":
        objective = fp.Objective(
            lambda x: float(x @ x), grad=lambda x: 1.0 / float(x[0] - x[0]) * x, hvp=lambda x, v: v
        )
        return fp.steepest_descent_flow(objective, "linf")
    return fp.piecewise_system(
        lambda x: np.ones(2), lambda x: -np.ones(2), lambda x: 1.0 / float(x[1] - x[1])
    )


@pytest.mark.parametrize("which", ["relay field", "objective gradient", "switching function"])
def test_a_user_function_that_raises_at_x0_is_named_at_the_start(which: str) -> None:
    # (before: the user's ZeroDivisionError alone, with nothing saying the run had not begun)
    system = _system_raising_at_x0(which)
    with pytest.raises(
        ValueError, match=r"raised at the start x0 = \[1\. 2\.\] \(t = 0\.5\), before"
    ) as info:
        fp.solve(system, [1.0, 2.0], (0.5, 2.0))
    assert "ZeroDivisionError" in str(info.value)
    assert isinstance(info.value.__cause__, ZeroDivisionError)  # (the user's traceback kept)


@pytest.mark.parametrize("method", ["exact", "events", "continuation"])
def test_the_event_limit_is_the_drivers_on_every_path(method: str) -> None:
    system, x0 = _sign_flow() if method != "continuation" else _logistic_flow()
    full = fp.solve(system, x0, (0.0, 30.0), method=method)
    assert full.status == 1 and len(full.events) > 4
    part = fp.solve(system, x0, (0.0, 30.0), method=method, max_events=3)
    assert part.status == -2
    assert part.message.startswith("more than max_events = 3 events by t = ")
    # stopped before a fourth event, with the solution up to there kept as it was
    assert 3 <= len(part.events) < len(full.events)
    k = len(part.t)
    np.testing.assert_array_equal(part.t, full.t[:k])
    np.testing.assert_allclose(part.x, full.x[:k], rtol=0, atol=1e-12)


def test_the_stationary_stop_is_recorded_once_by_the_driver() -> None:
    sol = fp.solve(fp.steepest_descent_flow(slope(0.5), "linf"), [0.6, 0.1], (0.0, 4.0))
    assert [e.kind for e in sol.events].count("stationary") == 1
    assert sol.segments[-1].kind == "stationary" and sol.t[-1] == 4.0
    assert sol.message == "stationary point reached at t = 3.1"


@pytest.mark.parametrize("integrator", ["DOP853", "Radau", "BDF"])
def test_the_integrators_counters_are_summed_over_modes(integrator: str) -> None:
    system, x0 = _sign_flow()
    sol = fp.solve(system, x0, (0.0, 20.0), method="events", integrator=integrator)
    stats = sol.stats
    assert sol.status == 1 and stats["n_events"] == len(sol.events) >= 3
    assert stats["n_steps"] >= len(sol.segments) - 1 > 0 and stats["nfev"] > stats["n_steps"]
    if integrator == "DOP853":  # explicit: no Jacobian, no LU decomposition
        assert stats["njev"] == 0 and stats["nlu"] == 0
    else:  # implicit: every mode starts a solver with a Jacobian and its LU factors
        assert stats["njev"] >= 1 and stats["nlu"] >= stats["njev"]
    assert sol.njev == stats["njev"] and sol.nlu == stats["nlu"]


@pytest.mark.parametrize("norm", ["linf", "l1"])
def test_the_continuation_path_counts_its_steps(norm: str) -> None:
    # (it reported n_steps = 0: only scipy solvers' steps were counted)
    _, x0 = _logistic_flow()
    obj = _logistic_flow()[0].objective
    sol = fp.solve(fp.steepest_descent_flow(obj, norm), x0, (0.0, 50.0), method="continuation")
    stats = sol.stats
    assert sol.status == 1 and len(sol.events) >= 3
    # every mode of positive length takes a step at least; each step corrects a point
    moving = sum(seg.t1 > seg.t0 for seg in sol.segments if seg.kind != "stationary")
    assert stats["n_steps"] >= moving >= len(sol.events) - 1
    assert stats["nfev"] > stats["n_steps"]


def test_a_non_finite_value_at_x0_keeps_its_own_error() -> None:
    # (review of the change above) NonFiniteError is a FloatingPointError too: it was
    # wrapped as if the user's function had raised, though it returned NaN.
    from filippov._validation import NonFiniteError

    objective = fp.Objective(
        lambda x: 0.0, grad=lambda x: np.array([np.nan, 1.0]), hvp=lambda x, v: v
    )
    with pytest.raises(NonFiniteError, match=r"`grad\(x\)` must be finite") as info:
        fp.solve(fp.steepest_descent_flow(objective, "linf"), [1.0, 2.0], (0.0, 1.0))
    assert "raised at the start" not in str(info.value)


class _UserFailure(RuntimeError):
    """What a user's function raises once the state leaves its domain."""


def _grad_failing_below(edge: float) -> Callable[[FloatArray], FloatArray]:
    """The gradient of ``x1²/2 + x2²/2``, raising wherever ``x1 < edge``."""

    def grad(x: FloatArray) -> FloatArray:
        if x[0] < edge:
            raise _UserFailure("grad failed")
        return np.array([x[0], x[1]])

    return grad


def _system_failing_below(which: str, edge: float) -> Any:
    if which == "piecewise":
        # x' = −sign(x) componentwise, as a Stewart system whose field raises past the edge
        def field(x: FloatArray, signs: tuple[int, ...]) -> FloatArray:
            if x[0] < edge:
                raise _UserFailure("field failed")
            return -np.asarray(signs, dtype=float)

        return fp.stewart_system(field, lambda x: x, jac=lambda x: np.eye(2), n=2)
    objective = fp.Objective(
        lambda x: 0.5 * float(x @ x), _grad_failing_below(edge), hess=lambda x: np.eye(2), n=2
    )
    return fp.steepest_descent_flow(objective, which)


@pytest.mark.parametrize("which", ["linf", "l2", "piecewise"])
def test_a_user_function_raising_mid_mode_keeps_the_mode_up_to_its_last_step(which: str) -> None:
    # (review R21) From x0 = (0.6, 0.9), x1 falls at speed 1 for the sign flow and the
    # piecewise system (x1 = 0.6 − t) and at speed 0.6/|x0| for the ℓ2 flow (straight to
    # the origin), so the user's function first raises when x1 < 0.2, at t = 0.4 and
    # t = 0.4·|x0|/0.6: there was no event before. The run used to end at t = 0 with
    # the message naming x0 (the mode's steps dropped); the solution now runs up to the
    # last accepted step before that time, on the closed-form path, and the message names
    # that state.
    system = _system_failing_below(which, 0.2)
    x0 = np.array([0.6, 0.9])
    sol = fp.solve(system, x0, (0.0, 3.0), method="auto" if which == "piecewise" else "events")
    t_fail = 0.4 if which != "l2" else 0.4 * float(np.linalg.norm(x0)) / 0.6
    assert sol.status == -1, sol.message
    assert "(_UserFailure: " in sol.message and " failed)" in sol.message, sol.message
    t_end = sol.t[-1]
    assert 0.0 < t_end < t_fail, (t_end, sol.message)
    ts = np.linspace(0.0, t_end, 7)
    if which == "l2":
        expected = x0 * (1.0 - ts / float(np.linalg.norm(x0)))[:, None]
    else:
        expected = x0 - ts[:, None]
    np.testing.assert_allclose(sol(ts), expected, rtol=0.0, atol=1e-9)
    assert f"t = {t_end:.12g}" in sol.message, sol.message


def _quartic_failing_below(edge: float, error: Exception | None = None) -> fp.Objective:
    """``½xᵀHx + ¼Σx⁴`` (its flows curve: the continuation path takes several steps a
    mode), whose gradient raises ``error`` (a `_UserFailure` by default) wherever
    ``x1 < edge``."""
    H = np.array([[2.0, 0.5], [0.5, 1.0]])

    def grad(x: FloatArray) -> FloatArray:
        if x[0] < edge:
            raise error if error is not None else _UserFailure("grad failed")
        return H @ x + x**3

    return fp.Objective(
        lambda x: 0.5 * float(x @ H @ x) + 0.25 * float(np.sum(x**4)),
        grad,
        hess=lambda x: H + np.diag(3.0 * x**2),
        n=2,
    )


@pytest.mark.parametrize("failure", ["raises", "singular"])
@pytest.mark.parametrize(("norm", "edge"), [("linf", 0.3), ("l1", 0.1)])
def test_the_continuation_path_keeps_a_failing_mode_up_to_its_last_step(
    norm: str, edge: float, failure: str
) -> None:
    # (review R21's note) The continuation path dropped the mode in which the user's
    # gradient raised: the sign flow's run ended at t = 0 and the greedy flow's at its
    # tie entry (t = 0.315), the accepted steps of the mode lost. They are kept now, up
    # to the last one before the gradient's edge, on the path of the same flow whose
    # gradient never raises (here the sign flow's first mode, and the greedy flow's tie).
    # A block that cannot be factored (LinAlgError: status −4) keeps them too, and its
    # message names where the solution ends, not only where the mode began ("after
    # t = 0" for a solution up to t = 1.2; review R28).
    x0 = np.array([1.5, 2.0])
    opts = {"method": "continuation", "rtol": 1e-10, "atol": 1e-12}
    ref = fp.solve(
        fp.steepest_descent_flow(_quartic_failing_below(-np.inf), norm), x0, (0, 5), **opts
    )
    assert ref.status == 1, ref.message
    raises = failure == "raises"
    error = None if raises else np.linalg.LinAlgError("not positive definite")
    sol = fp.solve(
        fp.steepest_descent_flow(_quartic_failing_below(edge, error), norm),
        x0,
        (0, 5),
        check_derivatives=raises,
        **opts,
    )
    t_end = sol.t[-1]
    if raises:
        assert sol.status == -1, sol.message
        assert "(_UserFailure: grad failed)" in sol.message
        assert f"t = {t_end:.12g}" in sol.message
    else:
        assert sol.status == -4, sol.message
        assert f"the solution is returned up to t = {t_end:.12g}" in sol.message, sol.message
    t_mode = 0.0 if norm == "linf" else ref.events[0].t  # (the failing mode's start)
    assert t_end > t_mode + 0.5, (t_end, sol.message)
    assert sol.x[-1][0] >= edge  # (before the edge: the last accepted step)
    # (on the run whose gradient never fails; to the tolerance where the greedy flow's
    # block fails: its last piece is a try shortened to the edge, whose interpolant
    # differs at the rounding of rtol)
    ts = np.linspace(0.0, t_end, 41)
    np.testing.assert_allclose(sol(ts), ref(ts), rtol=0.0, atol=1e-12 if raises else 1e-9)


def test_one_blas_thread_while_runs_overlap_in_threads_and_the_setting_restored_after() -> None:
    # The limit is process-wide: after two runs in threads, the first leaving while the
    # second is still inside, the process must have the setting it had before (runs each
    # restoring what they saw left it at one for good; and OpenBLAS kept one when the
    # second thread restored the first one's limit while the first was alive).
    import threading

    from threadpoolctl import threadpool_info

    from filippov.engine.protocol import serial_blas

    def blas_threads() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    inside: list[list[int]] = []
    first_in, second_in, first_out, done = (threading.Event() for _ in range(4))

    def first() -> None:
        with serial_blas():
            first_in.set()
            second_in.wait(10)
            inside.append(blas_threads())
        first_out.set()
        done.wait(10)  # (alive while the second leaves)

    def second() -> None:
        first_in.wait(10)
        with serial_blas():
            second_in.set()
            first_out.wait(10)
        done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    # (what a worker thread reads of OpenBLAS 0.3.31's count depends on what the process
    # ran before -- in a process that had limited and restored it from the main thread,
    # the worker read 2 under the limit -- so only the end state is asserted)
    assert len(inside) == 1
    assert blas_threads() == before


@pytest.mark.parametrize("method", ["continuation", "events"])
def test_a_small_system_runs_on_one_blas_thread(method: str) -> None:
    # A network's objective takes Gram products of m·c × n Jacobians however few its
    # parameters: with BLAS's threads against a busy second core, a 67-parameter
    # network's flow took 4-5 times as long (every path runs on one thread now).
    from threadpoolctl import threadpool_info

    seen: list[list[int]] = []
    obj = ridge_logistic(np.random.default_rng(0).standard_normal((30, 4)), np.ones(30), 0.1)
    grad = obj.grad

    def spy(x: FloatArray) -> FloatArray:
        seen.append([i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"])
        return grad(x)

    obj.grad = spy  # type: ignore[method-assign]
    fp.solve(fp.steepest_descent_flow(obj, "linf"), np.ones(4), (0.0, 0.05), method=method)
    # (the driver's checks at x0 come before the path: from the path's first call on)
    serial = [threads == [1] * len(threads) for threads in seen]
    assert any(serial)
    assert all(serial[serial.index(True) :])
