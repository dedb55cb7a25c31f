"""Regressions from the review of the engine: each reproduces a bug that was fixed."""

from __future__ import annotations

import functools
import gc
import itertools
import pickle
import warnings
from typing import Any

import numpy as np
import pytest
from objective_families import degenerate_quartic, valley_objective

import filippov as fp
from filippov.objectives import (
    Objective,
    linear_model,
    mlp_classifier,
    mlp_init,
    rotated_quadratic,
    separable_quadratic,
    smooth_max,
)
from filippov.systems import piecewise_system


def test_event_right_after_a_projection_is_not_delayed():
    # Offsets were computed before projecting onto the sliding manifold, so a mode could
    # start with a negative guard and its first event was placed at the step end.
    n = 20
    rng = np.random.default_rng(2)
    A = rng.standard_normal((3 * n, n))
    obj = smooth_max(A, rng.standard_normal(3 * n), 0.1, 0.5)
    x0 = rng.standard_normal(n) * 2
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, x0, (0.0, 3.0))
    ref = fp.solve(flow, x0, (0.0, 3.0), rtol=1e-13, atol=1e-15)
    ts = np.linspace(0.0, 3.0, 601)
    assert np.abs(sol(ts) - ref(ts)).max() < 1e-7


def test_guard_dipping_below_zero_inside_one_step_is_found():
    # x2 grows at rate 5 only while (x1 - 1)^2 < 0.01, i.e. for t in (0.9, 1.1): a window
    # much shorter than the step DOP853 takes on this piecewise-constant field.
    system = piecewise_system(
        lambda x: np.array([1.0, 5.0]),
        lambda x: np.array([1.0, 0.0]),
        lambda x: (x[0] - 1.0) ** 2 - 0.01,
        grad_h=lambda x: np.array([2 * (x[0] - 1.0), 0.0]),
    )
    sol = fp.solve(system, [0.0, 0.0], (0.0, 3.0))
    np.testing.assert_allclose(sol(3.0), [3.0, 1.0], atol=1e-9)
    assert [(round(e.t, 9), e.kind) for e in sol.events] == [(0.9, "crossing"), (1.1, "crossing")]


@pytest.mark.parametrize("method", ["exact", "events"])
def test_linf_relay_reaching_h_zero_with_drift_is_not_called_stationary(method):
    # x' = (1, 2) − (0, 1) λ, λ ∈ ∂|x2|: at x2 = 0 the velocity is not zero, so the state
    # is no equilibrium (it was reported as one). With one switching function ∂‖·‖∞ =
    # ∂|·|: x2' = 3 below 0, 1 above (a± = 1, 3 > 0), a crossing at t = 1/3 (the run
    # stopped there with status −4 before), then x2 = (t − 1/3) up to t = 1.
    system = fp.FilippovSystem.affine([1.0, 2.0], [[0.0], [1.0]], [[0.0, 1.0]], [0.0], "linf")
    sol = fp.solve(system, [0.0, -1.0], (0.0, 1.0), method=method)
    assert sol.status == 0, sol.message
    assert "stationary" not in sol.counts or sol.counts["stationary"] == 0
    assert [e.kind for e in sol.events] == ["crossing"]
    assert sol.events[0].t == pytest.approx(1 / 3, abs=1e-9)
    np.testing.assert_allclose(sol(1.0), [1.0, 2 / 3], atol=1e-9)


def test_exact_greedy_path_does_not_loop_on_a_dropped_tie_index():
    n = 30
    rng = np.random.default_rng(5)
    A = rng.standard_normal((n, n))
    H = A @ A.T + 0.1 * np.eye(n)
    b = rng.standard_normal(n)
    x0 = rng.standard_normal(n)
    flow = fp.steepest_descent_flow(fp.Objective.quadratic(H, b), "l1")
    exact = fp.solve(flow, x0, (0.0, 20.0), max_events=3000)
    events = fp.solve(flow, x0, (0.0, 20.0), method="events")
    assert exact.status == events.status == 0, exact.message
    assert exact.counts["tangency"] == 0
    ts = np.linspace(0.0, 20.0, 401)
    assert np.abs(exact(ts) - events(ts)).max() < 1e-7


def test_exact_path_stops_at_an_accumulation_point():
    n, m = 3, 5
    rng = np.random.default_rng(18)
    G = rng.standard_normal((m, n))
    e = rng.standard_normal(m)
    B = rng.standard_normal((n, m))
    c0 = 0.5 * rng.standard_normal(n)
    x0 = rng.standard_normal(n)
    system = fp.FilippovSystem.affine(c0, B, G, e, "l1")
    exact = fp.solve(system, x0, (0.0, 5.0), method="exact")
    events = fp.solve(system, x0, (0.0, 5.0), method="events")
    assert exact.status == events.status == -2
    t_exact = [ev.t for ev in exact.events if ev.kind == "accumulation"]
    t_events = [ev.t for ev in events.events if ev.kind == "accumulation"]
    assert len(t_exact) == 1 and len(t_events) == 1
    assert t_exact[0] == pytest.approx(t_events[0], abs=1e-8)


def test_ill_conditioned_sign_flow_reaches_its_minimizer_on_both_paths():
    obj = rotated_quadratic(np.logspace(0, 4, 6), rotation=1.0, seed=0)
    flow = fp.steepest_descent_flow(obj, "linf")
    x0 = np.random.default_rng(0).standard_normal(6)
    for method in ("exact", "events"):
        sol = fp.solve(flow, x0, (0.0, 5.0), method=method)
        assert sol.status == 1, (method, sol.message)
        np.testing.assert_allclose(sol(5.0), obj.minimizer, atol=1e-9)


def test_pole_of_h_is_a_failure_not_an_event():
    system = fp.FilippovSystem(
        np.array([-1.0]),
        np.array([[0.5]]),
        lambda x: 1.0 / x,
        "l1",
        jac_h=lambda x: np.array([[-1.0 / x[0] ** 2]]),
    )
    sol = fp.solve(system, [1.0], (0.0, 3.0))
    assert sol.status == -3
    assert "pole" in sol.message or "non-finite" in sol.message


def _relay() -> fp.FilippovSystem:
    return fp.FilippovSystem.affine([0.0], [[1.0]], [[1.0]], [0.0], "l1")


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"stabilization": float("nan")}, ValueError, "stabilization"),
        ({"stabilization": "x"}, TypeError, "stabilization"),
        ({"max_events": True}, ValueError, "max_events"),
        ({"max_events": 0}, ValueError, "max_events"),
        ({"zero_tol": 10.0}, ValueError, "zero_tol"),
        ({"method": "magic"}, ValueError, "method"),
        ({"integrator": "Euler"}, ValueError, "integrator"),
    ],
)
def test_bad_solver_options_are_named(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        fp.solve(_relay(), [1.0], (0.0, 1.0), **kwargs)


def test_numpy_integer_max_events_is_accepted():
    sol = fp.solve(_relay(), [1.0], (0.0, 2.0), max_events=np.int64(10))
    assert sol.status == 1


@pytest.mark.parametrize(
    ("h", "fragment"),
    [(lambda x: np.zeros(0), "at least one"), (lambda x: np.zeros((1, 1)), "h\\(x\\)")],
)
def test_bad_switching_function_shapes_are_named(h, fragment):
    system = fp.FilippovSystem(
        np.zeros(1), np.ones((1, 1)), h, "l1", jac_h=lambda x: np.ones((1, 1))
    )
    with pytest.raises(ValueError, match=fragment):
        fp.solve(system, [1.0], (0.0, 1.0))


def test_dense_output_on_a_curved_sliding_manifold_has_no_drift():
    # Sliding on x2 = sin(x1) for a long time: the reported states stay on the manifold
    # to rounding (they drifted by the integration error, ~1e-9, before).
    system = piecewise_system(
        lambda x: np.array([1.0, 2.0]),
        lambda x: np.array([1.0, -2.0]),
        lambda x: x[1] - np.sin(x[0]),
        grad_h=lambda x: np.array([-np.cos(x[0]), 1.0]),
    )
    sol = fp.solve(system, [0.0, 0.5], (0.0, 50.0), rtol=1e-6, atol=1e-8)
    X = sol(np.linspace(1.0, 50.0, 2001))
    assert np.abs(X[:, 1] - np.sin(X[:, 0])).max() < 1e-12


# ------------------------------------ Zeno guard: close events on different manifolds
def _recorder_with_events(indices: list[tuple[int, ...]], t_star: float = 1.0) -> object:
    """Events at geometrically accumulating times ``t* − 2^-k`` on the given indices."""
    from filippov._recorder import Recorder, make_mode

    rec = Recorder(0.0, np.zeros(2), "exact")
    mode = make_mode("l1", np.array([1.0, -1.0]), [])
    for k, idx in enumerate(indices):
        t = t_star - 2.0 ** -(k + 1)
        rec.event(t, np.full(2, t), "crossing", idx, mode, mode)
    return rec


@pytest.mark.parametrize("period", [1, 2, 3])
def test_zeno_guard_fires_on_recurring_manifolds(period: int) -> None:
    from filippov._recorder import check_accumulation

    rec = _recorder_with_events([(k % period,) for k in range(40)])
    out = check_accumulation(rec, span=1.0, zeno_spacing=1e-8)  # type: ignore[arg-type]
    assert out is not None and out[0] == -2


def test_zeno_guard_ignores_close_events_on_different_manifolds() -> None:
    """Regression: the sign flow of the d = 2000 benchmark quadratic has thousands of
    events on distinct coordinates, some 1e-10 apart; a guard on the times alone stopped
    it as 'Zeno' at t = 1.018, long before it reaches the minimizer (t = 3.596)."""
    from filippov._recorder import check_accumulation

    rec = _recorder_with_events([(k,) for k in range(40)])
    assert check_accumulation(rec, span=1.0, zeno_spacing=1e-8) is None  # type: ignore[arg-type]


def _periodic_geometric_events(
    phases: list[float], rho: list[float], n: int
) -> tuple[list[float], list[tuple[int, ...]], float]:
    """Event times whose gaps repeat with period ``p = len(phases)``: gap ``k`` is
    ``phases[k % p] · rho[k % p] ** (k // p)``, each on switching function ``k % p``; and
    the sum of all the gaps (the accumulation time, from t = 0): phase ``i`` contributes
    ``phases[i] / (1 − rho[i])``."""
    p = len(phases)
    times, indices, t = [], [], 0.0
    for k in range(n):
        t += phases[k % p] * rho[k % p] ** (k // p)
        times.append(t)
        indices.append((k % p,))
    return times, indices, sum(c / (1.0 - r) for c, r in zip(phases, rho, strict=True))


def _first_stop(
    times: list[float],
    indices: list[tuple[int, ...]],
    state: Any,
    spacing: float = 1e-8,
    span: float = 10.0,
) -> tuple[Any, tuple[int, str] | None]:
    """Record the events one by one, checking for an accumulation after each (as the
    driver does); the recorder and the first stop."""
    from filippov._recorder import Recorder, check_accumulation, make_mode

    rec = Recorder(0.0, state(0.0), "exact")
    mode = make_mode("l1", np.array([1.0, -1.0]), [])
    out = None
    for t, idx in zip(times, indices, strict=True):
        rec.event(t, state(t), "crossing", idx, mode, mode)
        out = check_accumulation(rec, span=span, zeno_spacing=spacing)
        if out is not None:
            break
    return rec, out


@pytest.mark.parametrize(
    ("phases", "rho"),
    [
        ([1.0], [0.5]),
        ([1.0, 0.3], [0.6, 0.6]),
        ([1.0, 0.3, 2.0], [0.45, 0.45, 0.45]),
        # the asymmetric twisting controller's pattern: four gaps, one ratio per turn
        ([0.82, 0.49, 1.10, 0.16], [0.29, 0.29, 0.29, 0.29]),
    ],
)
def test_zeno_guard_extrapolates_geometric_accumulations_of_period_up_to_four(
    phases: list[float], rho: list[float]
) -> None:
    """Gaps repeating with period p ≤ 4 and one contraction ratio per period: stopped at
    the sum of the geometric series (closed form), with the state extrapolated to its
    limit. Before, only periods 1 and 2 were recognized (each gap compared with the one
    two before): period 3 and 4 ran on (the asymmetric twisting controller ground on for
    minutes or ended −4)."""
    times, indices, t_star = _periodic_geometric_events(phases, rho, 200)
    # a state that reaches 0 at t*: (t* − t, (t* − t)²)
    state = lambda t: np.array([t_star - t, (t_star - t) ** 2])  # noqa: E731
    rec, out = _first_stop(times, indices, state)
    assert out is not None and out[0] == -2, out
    acc = rec.events[-1]
    assert acc.kind == "accumulation"
    # (the sum of a geometric series from its first terms: rounding only; a wrong period
    # misses by about one gap, here ~1e-8)
    assert abs(acc.t - t_star) <= 1e-13 * t_star, (acc.t, t_star)
    np.testing.assert_allclose(acc.x, 0.0, atol=1e-13)
    assert f"t = {acc.t:.12g}" in out[1] and f"period of {len(phases)}" in out[1]


def test_zeno_guard_lets_a_run_end_before_a_limit_beyond_its_span() -> None:
    """Geometric gaps whose limit lies just beyond the end of the run (t* = span + 1e-8,
    gaps below zeno_spacing · span before the end): the events up to the end are finitely
    many, and the run is not stopped at a limit it never reaches (it was, at t*)."""
    times, indices, t_star = _periodic_geometric_events([1.0, 0.3], [0.6, 0.6], 200)
    span = t_star - 1e-8
    kept = [k for k, t in enumerate(times) if t <= span]
    assert times[kept[-1]] - times[kept[-2]] < 1e-8 * span  # (the check does run)
    rec, out = _first_stop(
        [times[k] for k in kept],
        [indices[k] for k in kept],
        lambda t: np.array([t_star - t]),
        span=span,
    )
    assert out is None and rec.n_events == len(kept)


def test_zeno_guard_invents_no_limit_when_the_phases_contract_differently() -> None:
    """Gaps of period 2 whose two phases contract by different ratios (0.5 and 0.3): the
    events do accumulate (at the closed-form sum), but no geometric series of whole
    periods fits them, and an extrapolation with one ratio lands beside the limit (the
    previous code recorded one, Aitken's Δ² of period 1 or 2, 4.9e-8 early). The guard
    stops the run without inventing a limit."""
    times, indices, t_star = _periodic_geometric_events([1.0, 0.4], [0.5, 0.3], 200)
    rec, out = _first_stop(times, indices, lambda t: np.array([t_star - t, 0.0]))
    assert out is not None and out[0] == -2, out
    assert "accumulation" not in rec.kinds, [ev.t - t_star for ev in rec.events[-2:]]
    assert "without a geometric pattern" in out[1]
    assert rec.events[-1].t < t_star


def test_zeno_guard_stops_a_stall_of_recurring_events_without_a_pattern() -> None:
    """Events on two alternating switching functions at tiny gaps of no pattern (a run
    stalled at the resolution of time, or chattering): stopped after ZENO_STALL of them
    with a message naming the time and state; the same gaps on ever new switching
    functions (the close events of a large sign flow) are left to run."""
    from filippov._recorder import ZENO_STALL

    rng = np.random.default_rng(3)
    gaps = np.concatenate([np.full(30, 0.1), 1e-9 * rng.uniform(0.5, 2.0, 400)])
    times = list(np.cumsum(gaps))
    state = lambda t: np.array([t, -t])  # noqa: E731
    rec, out = _first_stop(times, [(k % 2,) for k in range(len(times))], state)
    assert out is not None and out[0] == -2 and "accumulation" not in rec.kinds
    n_tiny = rec.n_events - 30
    assert ZENO_STALL <= n_tiny <= ZENO_STALL + 2, n_tiny
    last = rec.events[-1]
    assert f"t = {last.t:.12g}" in out[1] and "x = [" in out[1] and "[0, 1]" in out[1]
    rec, out = _first_stop(times, [(k,) for k in range(len(times))], state)
    assert out is None and rec.n_events == len(times)


def _direct_counts(
    times: list[float], groups: list[frozenset[int]], tiny: float, max_period: int
) -> tuple[list[int], int]:
    """The accumulation check's counts, directly over all distinct ``times`` (increasing)
    and the switching functions hit at each: per period ``p``, how many of the last
    relations ``g[e] < g[e − p]`` between the gaps hold in a row; and how many of the
    complete runs (all but the last time) in a row came at most ``tiny`` after the one
    before, on switching functions hit at the ``max_period`` times before it."""
    shrink = []
    for p in range(1, max_period + 1):
        count = 0
        for e in range(len(times) - 1, p, -1):
            if times[e] - times[e - 1] < times[e - p] - times[e - p - 1]:
                count += 1
            else:
                break
        shrink.append(count)
    stall = 0
    for i in range(len(times) - 2, 0, -1):
        before = frozenset().union(*groups[max(0, i - max_period) : i])
        if times[i] - times[i - 1] <= tiny and groups[i] <= before:
            stall += 1
        else:
            break
    return shrink, stall


@pytest.mark.parametrize("seed", range(6))
def test_zeno_guard_counts_shrinking_gaps_as_a_direct_count(seed: int) -> None:
    """The accumulation check counts the shrinking gaps (per period 1 to 4) and the stall
    as the event times arrive (O(1) per event, not the last times tested again at every
    event): those counts must be the direct ones over all distinct times, whether the
    check ran after every event or only now and then (its runs then rebuilt from the
    last events), with simultaneous events, and the check must give the same answer
    both ways."""
    from filippov._recorder import (
        ZENO_MAX_PERIOD,
        ZENO_STALL,
        Recorder,
        _n_ratios,
        _recent_runs,
        check_accumulation,
        make_mode,
    )

    rng = np.random.default_rng(seed)
    mode = make_mode("l1", np.array([1.0, -1.0]), [])
    every, sparse = Recorder(0.0, np.zeros(2), "exact"), Recorder(0.0, np.zeros(2), "exact")
    tiny = 1e-4
    times: list[float] = []
    groups: list[frozenset[int]] = []
    t, gap = 0.0, 0.1
    longest = [0] * ZENO_MAX_PERIOD
    longest_stall = 0
    stalled = False
    for k in range(1500):
        # mostly two alternating switching functions, now and then a new one (not while
        # the gaps stall, below)
        stall_phase = 700 <= k < 900
        idx = (k % 2,) if stall_phase or rng.random() < 0.97 else (2 + k,)
        if times and rng.random() < 0.2:
            groups[-1] = groups[-1] | set(idx)  # a simultaneous event: same time
        else:
            # mostly shrinking gaps (runs of Zeno-like events), sometimes growing again;
            # for a while tiny gaps of no pattern (a stall)
            gap *= rng.choice([0.5, 0.9, 1.1, 3.0], p=[0.35, 0.2, 0.25, 0.2])
            gap = min(gap, 0.1) if not stall_phase else tiny * rng.uniform(0.1, 1.0)
            if t + gap == t:  # (below the resolution of time: simultaneous after all)
                groups[-1] = groups[-1] | set(idx)
            else:
                t += gap
                times.append(t)
                groups.append(frozenset(idx))
        for rec in (every, sparse):
            rec.event(t, np.full(2, t), "crossing", idx, mode, mode)
        state = _recent_runs(every, every.n_events, tiny)
        assert [r[0] for r in state.runs] == times[-len(state.runs) :]
        shrink, stall = _direct_counts(times, groups, tiny, ZENO_MAX_PERIOD)
        assert state.shrink == shrink and state.stall == stall
        longest = [max(a, b) for a, b in zip(longest, shrink, strict=True)]
        longest_stall = max(longest_stall, stall)
        out_every = check_accumulation(every, span=1.0, zeno_spacing=tiny)  # type: ignore[arg-type]
        # the other recorder checked now and then (often after more than ZENO_TAIL events)
        if out_every is not None or rng.random() < 0.02:
            out_sparse = check_accumulation(sparse, span=1.0, zeno_spacing=tiny)  # type: ignore[arg-type]
            assert out_sparse == out_every
            stalled |= out_every is not None and "events keep recurring" in out_every[1]
            if every.kinds["accumulation"]:  # (extrapolated: the run would end here)
                break
    # (the sequence did reach the counts the check needs)
    assert all(c >= _n_ratios(p) for p, c in enumerate(longest, 1)), longest
    assert longest_stall >= ZENO_STALL and stalled


def _random_ill_conditioned_sign_flow(
    seed: int, log_cond: tuple[float, float]
) -> tuple[fp.FilippovSystem, np.ndarray, Objective]:
    """The sign flow of a random rotated quadratic, ``d`` in [5, 40), condition number
    ``10**u`` with ``u`` uniform in ``log_cond`` (the generator the bugs were found with)."""
    rng = np.random.default_rng(seed)
    d = int(rng.integers(5, 40))
    cond = 10.0 ** rng.uniform(*log_cond)
    obj = rotated_quadratic(np.geomspace(cond**-0.5, cond**0.5, d), rotation=1.0, seed=seed)
    return fp.steepest_descent_flow(obj, "linf"), rng.standard_normal(d), obj


def _integrate_l1(
    system: fp.FilippovSystem, x0: np.ndarray, incremental: bool
) -> fp.FilippovSolution:
    from filippov._recorder import Recorder
    from filippov.engine import ExactOptions, ExactPath, run

    # The path alone, without the engine's end-of-run self-check (which fails the worst
    # of these, condition 2e13, as precision lost: right, but not what is tested here).
    rec = Recorder(0.0, x0, "exact")
    path = ExactPath(system, x0, 5.0, ExactOptions(incremental=incremental), rec)
    status, message = run(path, max_events=20_000, zeno_spacing=1e-8)
    return rec.finish(status, message)


def _count_incremental_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the runs of the incremental loop (one entry per call)."""
    from filippov import _exact_path

    calls: list[int] = []
    inner = _exact_path._advance_spd

    def counted(*args: object, **kwargs: object) -> tuple[int, str]:
        calls.append(1)
        return inner(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_exact_path, "_advance_spd", counted)
    return calls


def test_incremental_sign_flow_at_condition_1e8_lands_on_the_minimizer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # λ = W rho with the kept inverse has a residual of about cond · eps, and one step of
    # refinement (all there was) left the rate of the last free index, a small difference
    # of large numbers, 1e-5 off: the run ended with ‖∇f‖₁ = 3e-7 (direct solve: 8e-12).
    calls = _count_incremental_runs(monkeypatch)
    system, x0, obj = _random_ill_conditioned_sign_flow(1, (8.0, 8.0))
    for incremental in (True, False):
        sol = _integrate_l1(system, x0, incremental)
        assert sol.status == 1, sol.message
        assert np.abs(obj.grad(sol.x[-1])).sum() < 1e-10, incremental
    assert calls == [1]  # the incremental run did take the incremental loop


@pytest.mark.parametrize("seed", [3, 46, 73])
def test_incremental_sign_flow_below_the_condition_limit_keeps_real_turn_backs(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Condition 5e9–9e9 (below _INCREMENTAL_MAX_COND): the pivoting held an arrival at a
    # bound on the unrefined λ, and after refinement its rate pointed back to its manifold
    # by 50–300× the tolerance; clamping that rate to 0 at a first arrival (the loop fix
    # below, applied too eagerly) hid the turn-back for a whole segment: ‖∇f‖₁ = 2e-7 to
    # 1e-6 at the end against 5e-11 to 8e-11 on the direct path.
    calls = _count_incremental_runs(monkeypatch)
    system, x0, obj = _random_ill_conditioned_sign_flow(seed, (9.0, 10.0))
    sol = fp.solve(system, x0, (0.0, 5.0), method="exact")
    assert calls == [1]
    assert sol.status == 1, sol.message
    assert np.abs(obj.grad(sol.x[-1])).sum() < 1e-9


@pytest.mark.parametrize("seed", [1, 3, 18])
@pytest.mark.parametrize("incremental", [True, False])
def test_near_singular_sign_flow_does_not_loop_at_one_time(
    seed: int, incremental: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Condition 1e12 to 1e14: a function the selection held at a bound kept a rate of the
    # wrong sign within the solver's tolerance, arrived again after a zero-length segment,
    # was held again, ... (seed 3: 20 000 "tangency" events at one time on the incremental
    # path; seed 1 on the direct one; seed 18 alternated between two functions). The
    # incremental path is forced here: by default it hands such systems to the direct solve.
    from filippov import _exact_path

    monkeypatch.setattr(_exact_path, "_INCREMENTAL_MAX_COND", np.inf)
    system, x0, _ = _random_ill_conditioned_sign_flow(seed, (12.0, 14.0))
    sol = _integrate_l1(system, x0, incremental)
    # At condition 1e12+ the selection's rates are resolved to ~cond·eps only, and which
    # of them rounding puts on which side decides the modes: with 2 BLAS threads, seed 1
    # on the incremental path chattered through a cycle of three selections at distinct,
    # shrinking times, and the Zeno guard stopped it (−2, 386 events) where one thread
    # reached t = 5 (0). That stop is an honest one. The loop at one time this test is
    # about never triggers it (its events share one time: no gap shrinks) -- it ran to
    # `max_events` (also −2, but with that message), and it fails the counts below.
    zeno_stop = sol.status == -2 and "events accumulate" in sol.message
    assert sol.status in (0, 1) or zeno_stop, sol.message
    assert "max_events" not in sol.message
    times = [ev.t for ev in sol.events]
    # each event at one time adds a function to the joint selection there: at most d
    assert max(times.count(t) for t in set(times)) <= x0.size
    assert len(sol.events) < 40 * x0.size


def test_near_singular_sign_flow_still_reaches_its_minimizer() -> None:
    # By default a sign flow of condition > _INCREMENTAL_MAX_COND runs the direct solve,
    # which ends at rest near the minimizer (the incremental path looped at one time).
    system, x0, obj = _random_ill_conditioned_sign_flow(3, (12.0, 14.0))
    sol = fp.solve(system, x0, (0.0, 5.0), method="exact")
    assert sol.status == 1, sol.message
    assert np.abs(obj.grad(sol.x[-1])).sum() < 1e-7


@pytest.mark.parametrize(("log_cond", "d", "seed"), [(12.0, 20, 1), (11.0, 30, 6), (12.0, 40, 3)])
def test_near_singular_greedy_flow_does_not_loop_at_one_time(
    log_cond: float, d: int, seed: int
) -> None:
    # The ℓ∞-relay exact path had the same endless loop: an index dropped from the tie
    # kept a rate above the tie's by rounding and rejoined at once (seed 1: 19 830
    # "tangency" events at one time; seed 6 alternated between two indices; seed 3 met a
    # positive τ too small to move t).
    obj = rotated_quadratic(
        np.geomspace(10 ** (-log_cond / 2), 10 ** (log_cond / 2), d), rotation=1.0, seed=seed
    )
    x0 = np.random.default_rng(seed).standard_normal(d)
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "l1"), x0, (0.0, 200.0), method="exact", max_events=20_000
    )
    # Issue 22: these ends are 0.03-0.17 away from the minimizer 0 (|x0| ~ 1-3): at
    # condition 1e11-1e12 the tie path's h = 0 is reached with residuals ~1e-6, 1e3 ulps
    # above rounding of their terms. The end-of-run self-check now says so (−5) instead
    # of reporting a stationary point; what this test guards is the loop at one time.
    assert sol.status in (1, -5), sol.message
    if sol.status == -5:
        assert "not zero on its own scale" in sol.message
    times = [ev.t for ev in sol.events]
    assert max(times.count(t) for t in set(times)) <= d
    assert np.abs(obj.grad(sol.x[-1])).sum() < 1e-4


@pytest.mark.parametrize("incremental", [False, True])
def test_selection_failure_ends_the_run_with_the_partial_solution(
    monkeypatch: pytest.MonkeyPatch, incremental: bool
) -> None:
    # A tie block the simplex solvers cannot decide (seen on a condition-1e14 greedy flow:
    # a near-singular block not provably monotone) raised SelectionError out of solve and
    # lost the solution so far; it is now status −4 with everything up to that time.
    # Direct path: the fifth solve fails. Incremental path (issue 23): its active-set
    # method gives up at the fifth selection and the direct solver it falls back on fails.
    from filippov import _exact_path, incremental_selection
    from filippov.selection import SelectionError

    inner = _exact_path.solve_simplex_vi
    calls = []

    def fails_on_the_fifth(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 5 or incremental:
            raise SelectionError("undecidable block (test)")
        return inner(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_exact_path, "solve_simplex_vi", fails_on_the_fifth)
    # (the incremental selector's fallback, in its own module)
    monkeypatch.setattr(incremental_selection, "solve_simplex_vi", fails_on_the_fifth)
    if incremental:
        active_set = incremental_selection.SimplexTieSelector._active_set
        selections = []

        def stalls_on_the_fifth(self: object, *args: object) -> object:
            selections.append(1)
            if len(selections) == 5:
                raise incremental_selection.ActiveSetStalled
            return active_set(self, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(
            incremental_selection.SimplexTieSelector, "_active_set", stalls_on_the_fifth
        )
    else:
        monkeypatch.setattr(_exact_path, "_INCREMENTAL_MAX_COND", 0.0)
    obj = rotated_quadratic(np.geomspace(0.1, 10.0, 8), rotation=1.0, seed=0)
    x0 = np.random.default_rng(0).standard_normal(8)
    sol = fp.solve(fp.steepest_descent_flow(obj, "l1"), x0, (0.0, 50.0), method="exact")
    assert sol.status == -4
    assert "could not be solved" in sol.message and "undecidable block (test)" in sol.message
    assert 0.0 < sol.t[-1] < 50.0 and len(sol.events) >= 3
    assert sol(sol.t[-1]) == pytest.approx(sol.x[-1])
    assert gc.isenabled()  # the collector paused for the exact path is on again (raised)


@pytest.mark.parametrize("enabled_before", [True, False])
def test_exact_path_restores_the_garbage_collector(enabled_before: bool) -> None:
    # The exact path pauses the cyclic collector (speed) and must leave it as it found it.
    obj = rotated_quadratic(np.geomspace(1.0, 10.0, 6), rotation=1.0, seed=1)
    x0 = np.random.default_rng(1).standard_normal(6)
    seen: list[bool] = []
    real = fp.engine._exact_path.l1_steps

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    was_enabled = gc.isenabled()
    try:
        if not enabled_before:
            gc.disable()
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(fp.engine._exact_path, "l1_steps", spy)
            sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 5.0), method="exact")
        assert sol.status == 1 and seen == [False]
        assert gc.isenabled() is enabled_before
    finally:
        if was_enabled:
            gc.enable()


# -- the general-objective path (trustworthy answers for every objective) ---------------


@pytest.mark.parametrize(
    ("expr", "x0", "centre"),
    [
        ("(x+1)**4", [1.0], [-1.0]),
        ("(x+1)**6", [1.0], [-1.0]),
        ("(x-0.5)**4 + (y+1)**4", [1.0, 1.0], [0.5, -1.0]),
    ],
)
def test_sign_flow_into_a_degenerate_minimum(expr, x0, centre):
    # brentq ran out of iterations on the flat guard (x + 1)³ and its RuntimeError escaped
    # from solve. Each coordinate moves at unit speed and arrives at t = |x0_i − c_i|.
    names = ["x", "y"][: len(x0)]
    flow = fp.steepest_descent_flow(Objective.from_expr(expr, variables=names), "linf")
    sol = fp.solve(flow, x0, (0.0, 4.0))
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol(4.0), centre, atol=1e-12)
    arrivals = np.abs(np.asarray(x0) - np.asarray(centre))
    stationary = [e.t for e in sol.events if e.kind == "stationary"]
    assert stationary == [pytest.approx(arrivals.max(), abs=1e-9)]
    for i, t_i in enumerate(arrivals):
        before = np.linspace(0.0, t_i, 9)[1:-1]
        expected = x0[i] - np.sign(x0[i] - centre[i]) * before
        np.testing.assert_allclose(sol(before)[:, i], expected, atol=1e-12)


@pytest.mark.parametrize(
    ("expr", "names", "x0"), [("log(x)", ["x"], [1.0]), ("log(x) + y**2", ["x", "y"], [1.0, 1.0])]
)
def test_l2_flow_stops_at_a_pole(expr, names, x0):
    # The normalized flow stepped over the pole of ∂f/∂x = 1/x and chattered around it
    # for ever; now the direction's turn within one step is located and the run stops.
    flow = fp.steepest_descent_flow(Objective.from_expr(expr, variables=names), "l2")
    sol = fp.solve(flow, x0, (0.0, 5.0))
    assert sol.status == -3
    assert "pole" in sol.message
    assert abs(sol.x[-1][0]) < 1e-9  # it got to the pole, not stopped short


def test_l2_arrival_is_located_exactly_and_keeps_the_normalized_velocity():
    # The last stretch into the minimum was a few straight Newton steps from ‖∇f‖ = 1e-6
    # whose velocities differed from −∇f/‖∇f‖ by O(1); now it is the model's curved path.
    rng = np.random.default_rng(5)
    n = 6
    M = rng.standard_normal((n, n))
    H = M @ M.T + np.eye(n)
    obj = Objective(
        lambda x: 0.5 * x @ H @ x + np.sum(np.cosh(x)),
        lambda x: H @ x + np.sinh(x),
        lambda x: H + np.diag(np.cosh(x)),
        n=n,
    )
    sol = fp.solve(fp.steepest_descent_flow(obj, "l2"), rng.standard_normal(n), (0.0, 20.0))
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol(20.0), np.zeros(n), atol=1e-12)
    for seg in sol.segments:
        if seg.kind == "stationary":
            continue
        length = seg.t1 - seg.t0
        for t in seg.t0 + length * np.array([0.1, 0.5, 0.9]):
            # the difference of the representable times, not 2·dt: the last segment is
            # ~1e-9 long at t ≈ 3, where a time's rounding is 5e-16
            half = min(1e-4 * length, 1e-6)
            t_lo, t_hi = t - half, t + half
            v = (sol(t_hi) - sol(t_lo)) / (t_hi - t_lo)
            g = obj.grad(sol(t))
            # central-difference error ~ eps·x / (t_hi − t_lo) on the short last stretch
            tol = 1e-8 + 1e-15 / (t_hi - t_lo)
            assert np.abs(v + g / np.linalg.norm(g)).max() < tol


def test_sliding_correction_moves_only_sliding_coordinates():
    # The drift correction and the projections used the minimal-norm direction normal to
    # the manifold, which moved coordinates whose relay value was fixed: their velocity
    # was not −sign ∂_i f. Now they go through B_J: fixed coordinates move at exactly ±1.
    rng = np.random.default_rng(11)
    n = 5
    A = rng.standard_normal((4 * n, n))
    obj = smooth_max(A, rng.standard_normal(4 * n), 0.1, 0.5)
    x0 = 2.0 * rng.standard_normal(n)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 20.0))
    assert sol.status == 1, sol.message
    checked = 0
    for seg in sol.segments:
        if seg.kind == "stationary" or seg.t1 - seg.t0 < 1e-3:
            continue
        fixed = [i for i in range(n) if i not in seg.mode.free]
        for t in np.linspace(seg.t0, seg.t1, 5)[1:-1]:
            dt = 1e-6 * (seg.t1 - seg.t0)
            v = (sol(t + dt) - sol(t - dt)) / (2 * dt)
            g = obj.grad(sol(t))
            np.testing.assert_allclose(v[fixed], -np.sign(g[fixed]), atol=1e-8)
            assert np.all(np.abs(v) <= 1.0 + 1e-8)
            checked += 1
    assert checked > 0


def _softplus_objective(seed: int) -> tuple[Objective, np.ndarray, np.ndarray]:
    """A random strongly convex objective (softplus terms with columns scaled 0.1 to 10,
    a quadratic, sometimes a quartic) as plain callables, its start and its minimizer
    (Newton's method, independent of the flows)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 9))
    k = int(rng.integers(1, 3 * n))
    A = rng.standard_normal((k, n)) * 10 ** rng.uniform(-1, 1, (1, n))
    b = rng.standard_normal(k)
    L = rng.standard_normal((n, n)) * 0.3
    Q = L @ L.T + 10 ** rng.uniform(-2, 0) * np.eye(n)
    c = rng.standard_normal(n)
    q4 = rng.choice([0.0, 0.05])

    def sig(z: np.ndarray) -> np.ndarray:
        return 0.5 * (1.0 + np.tanh(z / 2.0))

    def grad(x: np.ndarray) -> np.ndarray:
        return A.T @ sig(A @ x + b) + Q @ x + c + 4 * q4 * x**3

    def hess(x: np.ndarray) -> np.ndarray:
        s = sig(A @ x + b)
        return (A.T * (s * (1 - s))) @ A + Q + np.diag(12 * q4 * x**2)

    obj = Objective(
        lambda x: float(
            np.logaddexp(0, A @ x + b).sum() + 0.5 * x @ Q @ x + c @ x + q4 * (x**4).sum()
        ),
        grad,
        hess,
        n=n,
    )
    x0 = rng.standard_normal(n) * 10 ** rng.uniform(-1, 1)
    x_min = np.zeros(n)
    for _ in range(40):
        x_min = x_min - np.linalg.solve(hess(x_min), grad(x_min))
    return obj, x0, x_min


def test_a_tie_mode_after_a_free_mode_does_not_take_the_free_modes_step():
    # The event path started each mode with the step the last one would take next. After
    # a free mode of the greedy flow (constant velocity: DOP853's steps grew tenfold each
    # step) the tie mode that followed took a first step of 1.5, which DOP853's error
    # estimate accepted far outside its asymptotic range: the trajectory was 7.7e-6 off at
    # rtol = 1e-8 (1e-8 now, against the continuation path at rtol = 1e-13).
    obj, x0, x_min = _softplus_objective(247)
    flow = fp.steepest_descent_flow(obj, "l1")
    T = 50 * (1 + np.max(np.abs(x0 - x_min)))
    ref = fp.solve(flow, x0, (0.0, T), method="continuation", rtol=1e-13, atol=1e-15)
    sol = fp.solve(flow, x0, (0.0, T), method="events", rtol=1e-8, atol=1e-10)
    assert sol.status == ref.status == 1
    ts = np.linspace(0.0, ref.events[-1].t, 2001)
    assert np.abs(sol(ts) - ref(ts)).max() < 1e-7 * (1 + np.abs(x0).max())


@pytest.mark.parametrize("seed", [77, 282])
def test_the_greedy_flows_rest_on_the_event_path_is_the_minimizer(seed: int) -> None:
    # The greedy flow arrives at the minimizer where its tie's common |∂_i f| falls to 0,
    # slowly where the Hessian is ill-conditioned: located on the dense output, the
    # arrival was up to 3e-7 off the minimizer at rtol = 1e-8 (1.3e-7 for seed 282, 2e-7
    # for seed 77). The rest state is now moved onto ∇f = 0 (an isolated zero), as the
    # sign flow's last sliding mode already was.
    obj, x0, x_min = _softplus_objective(seed)
    T = 50 * (1 + np.max(np.abs(x0 - x_min)))
    for norm in ("l1", "linf"):
        sol = fp.solve(fp.steepest_descent_flow(obj, norm), x0, (0.0, T), method="events")
        assert sol.status == 1, sol.message
        assert sol.events[-1].kind == "stationary"
        np.testing.assert_allclose(sol.x[-1], x_min, rtol=0, atol=1e-12)
        # the state is continuous up to the rest (the arrival moved by the event path's
        # own accuracy, not more)
        t_rest = sol.events[-1].t
        assert np.abs(sol(t_rest - 1e-9) - x_min).max() < 1e-7


@pytest.mark.parametrize(
    ("expr", "x0", "rtol"),
    [
        # A rest merged with the tie entry before it: the probe read the tie's tiny common
        # |∂_i f| (curvature 1e-7) as 0 on the last mode's velocity; the state is 9e-3
        # from the minimizer there (the tie mode to t = 0.459 was skipped).
        ("0.5*x0**2 + 0.5e-7*x1**2 + 1e-3*x0**4", [0.45, 0.009], 1e-10),
        # A degenerate minimum: Newton only creeps toward it (8e-6 off after 4 steps).
        ("(x0+1)**4 + (x1-0.5)**2", [1.0, -0.25], 1e-12),
    ],
)
def test_a_rest_state_is_not_moved_onto_the_minimizer_beyond_the_paths_accuracy(
    expr: str, x0: list[float], rtol: float
) -> None:
    # Moving the greedy flow's rest state onto ∇f = 0 corrects the location error of
    # the arrival; moved across a skipped mode or onto a degenerate zero it turned the
    # end-of-run check's −5 into a success with a wrong trajectory (stranger review).
    obj = Objective.from_expr(expr, variables=["x0", "x1"])
    flow = fp.steepest_descent_flow(obj, "l1")
    sol = fp.solve(flow, x0, (0.0, 10.0), method="events", rtol=rtol, atol=rtol / 100)
    if sol.status >= 0:
        # (a success must be the flow's own arrival: continuous, on time)
        ref = fp.solve(flow, x0, (0.0, 10.0), method="continuation", rtol=1e-12)
        assert sol.events[-1].t == pytest.approx(ref.events[-1].t, abs=1e-6)
        t_rest = sol.events[-1].t
        assert np.abs(sol(t_rest) - sol(t_rest - 1e-12)).max() < 1e-6
    else:
        assert sol.status == -5, sol.message


def _valley_runs(
    seed: int, norm: str, rtol: float, T: float | None = None
) -> tuple[fp.FilippovSolution, fp.FilippovSolution, np.ndarray, np.ndarray]:
    """A valley's flow (`valley_objective`) on the event path at ``rtol`` (``atol = rtol/100``)
    and its reference, the continuation path at rtol 1e-13, both to their stationary
    point; with the start and the minimizer. ``T`` by default: 20(1 + |x0 − x*|)·n."""
    obj, x0, x_min = valley_objective(seed)
    if T is None:
        T = 20 * (1 + float(np.max(np.abs(x0 - x_min)))) * x0.size
    flow = fp.steepest_descent_flow(obj, norm)
    sol = fp.solve(flow, x0, (0.0, T), method="events", rtol=rtol, atol=rtol / 100)
    ref = fp.solve(flow, x0, (0.0, T), method="continuation", rtol=1e-13, atol=1e-15)
    assert sol.status == 1 and ref.status == 1, (sol.message, ref.message)
    return sol, ref, x0, x_min


@pytest.mark.parametrize("seed", [9, 10])
def test_arrivals_near_an_event_are_not_merged_across_an_ill_conditioned_mode(seed: int) -> None:
    # Events within rtol·span of each other on the last mode's velocity were merged. On
    # a valley (Hessian eigenvalue ~1e-6) the sign flow's last free index had |∂_i f| =
    # 2.9e-7 falling at rate 1.2 (seed 9), and an index arrived 4e-7 after a crossing
    # (seed 10): merged, the next mode's start projection moved the state 0.027 and
    # 0.037 onto the minimizer, and a whole mode was skipped (status 1 and 0, no
    # warning). On the next mode's rates the first guard falls at 1e-5: not simultaneous.
    sol, ref, _, x_min = _valley_runs(seed, "linf", 1e-8, 100.0)
    np.testing.assert_allclose(sol.x[-1], x_min, rtol=0, atol=1e-8)
    assert sol.events[-1].t == pytest.approx(ref.events[-1].t, abs=1e-7)
    ts = np.linspace(0.0, sol.t[-1], 3001)
    # (the state's scale is up to 33: 1e-6 is 3 of the run's tolerances)
    assert np.abs(sol(ts) - ref(ts)).max() < 1e-6
    # no jump at any event: the state is continuous through every mode's start
    for e in sol.events:
        assert np.abs(sol(e.t) - sol(e.t - 1e-12)).max() < 1e-6


@pytest.mark.parametrize("rtol", [1e-6, 1e-8, 1e-10])
def test_the_greedy_flows_last_tie_entry_is_not_merged_with_its_rest(rtol: float) -> None:
    # On the last tie's rates the common |∂_i f| falls 1e-7 times as fast as on the
    # mode before it: the probe along the old velocity merged the rest with the tie
    # entry and the run ended −5 (the tie mode to t = 0.459 skipped, the state 9e-3
    # from the minimizer). The greedy flow moves at unit ℓ1 speed straight toward 0
    # here (f is separable and convex with its minimum at 0): it arrives at
    # t = ‖x0‖₁ = 0.459.
    obj = Objective.from_expr("0.5*x0**2 + 0.5e-7*x1**2 + 1e-3*x0**4", variables=["x0", "x1"])
    flow = fp.steepest_descent_flow(obj, "l1")
    x0 = np.array([0.45, 0.009])
    sol = fp.solve(flow, x0, (0.0, 10.0), method="events", rtol=rtol, atol=rtol / 100)
    assert sol.status == 1, sol.message
    assert [e.kind for e in sol.events] == ["tie-entry", "stationary"]
    assert sol.events[-1].t == pytest.approx(0.459, abs=1e-9)
    ts = np.linspace(0.0, 0.459, 200)
    # unit ℓ1 speed toward 0 throughout: ‖x(t)‖₁ = 0.459 − t
    np.testing.assert_allclose(np.abs(sol(ts)).sum(axis=1), 0.459 - ts, atol=max(1e-9, 10 * rtol))


def test_a_tangential_arrival_at_the_greedy_flows_rest_is_moved_onto_the_minimizer() -> None:
    # The last tie of this valley's greedy flow arrives almost along its guard's level
    # set (the guard's rate is 5.9e5 times smaller than its gradient times the speed):
    # the located time's error, times the speed, left the rest 3.8e-7 from the
    # minimizer at rtol = 1e-10 (480 tolerances, status 1), beyond the rest correction's
    # bound. A move along the path is now allowed that factor more than one across it.
    obj, x0, x_min = valley_objective(6)
    flow = fp.steepest_descent_flow(obj, "l1")
    sol = fp.solve(flow, x0, (0.0, 100.0), method="events", rtol=1e-10, atol=1e-12)
    assert sol.status == 1, sol.message
    assert sol.events[-1].kind == "stationary"
    np.testing.assert_allclose(sol.x[-1], x_min, rtol=0, atol=1e-9)


def test_the_greedy_flows_rest_correction_is_kept_only_once_newton_has_converged() -> None:
    # (Stranger review.) The rest correction took its first Newton step as converged
    # (its contraction was measured against an infinite last step): on this valley it
    # moved the rest 2e4 tolerances along the path, overshot the minimizer, and the run
    # reported success 8.5e-6 (2700 tolerances) from it; the corrections after it shrink
    # only twentyfold each (an ill-conditioned zero), to the minimizer.
    obj, x0, x_min = valley_objective(26)
    T = 20 * (1 + np.max(np.abs(x0 - x_min))) * x0.size
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "l1"), x0, (0.0, T), method="events", rtol=1e-10, atol=1e-12
    )
    if sol.status >= 0:
        # To what double precision determines along the valley: the gradients' norms at
        # both points over the Hessian's smallest eigenvalue, 3.5e-7 (the rest is at
        # h = 0 to rounding, |∇f| 2e-14 and less, so up to 6e-8 from x_min; runs have
        # ended 3e-11 to 1.8e-8 from it, against 8.5e-6 before the fix).
        lam_min = float(np.linalg.eigvalsh(obj.hess(x_min))[0])
        floor = (np.linalg.norm(obj.grad(sol.x[-1])) + np.linalg.norm(obj.grad(x_min))) / lam_min
        assert np.max(np.abs(obj.grad(sol.x[-1]))) <= 1e-13
        np.testing.assert_allclose(sol.x[-1], x_min, rtol=0, atol=2 * floor + 1e-12)
    else:
        assert sol.status == -5, sol.message


@pytest.mark.parametrize("rtol", [1e-8, 1e-10])
def test_a_rest_moved_along_the_path_starts_where_the_path_reaches_it(rtol: float) -> None:
    # The greedy flow's last tie arrives at this valley's minimizer almost tangentially:
    # its rest was located 7.6e-6 late at rtol = 1e-8 (the guard's error over its tiny
    # rate), and the rest correction then moved the state back along the path, a jump
    # of 30 tolerances at the rest. The path is now cut (or, located early, continued at
    # the mode's velocity) where it reaches the corrected rest.
    sol, ref, x0, x_min = _valley_runs(6, "l1", rtol, 100.0)
    np.testing.assert_allclose(sol.x[-1], x_min, rtol=0, atol=1e-9)
    t_rest = sol.events[-1].t
    assert t_rest == pytest.approx(ref.events[-1].t, abs=1e-8)
    ts = np.linspace(t_rest - 1e-3, t_rest + 1e-3, 2001)
    tol = rtol * np.abs(x0).max()
    assert np.abs(sol(ts) - ref(ts)).max() < 3 * tol
    assert np.abs(sol(t_rest) - sol(t_rest - 1e-12)).max() < tol
    # (the cut segment is data like any other: it pickles to an equal solution)
    assert pickle.loads(pickle.dumps(sol)) == sol


def test_a_rest_the_probe_merged_is_dropped_when_the_state_is_not_at_it() -> None:
    # At t = 3.7995 of this valley's greedy flow an index crosses and two leave the tie,
    # to join it again 1.5e-5 and 2.5e-5 later; on the tie of all of them the common
    # |∂_i f| (2.4e-5 here) falls slowly, and the rest comes at t = 4.6705. The probe
    # (rtol·span = 2.1e-4 at rtol = 1e-6) put the rest at the crossing, on the old tie's
    # rates: the rest correction refused the move (0.3, across the path) and the run
    # ended −5. A rest that only the probe put there is now dropped when h = 0 is not
    # within the run's accuracy, and the tie goes on.
    sol, ref, _, x_min = _valley_runs(4, "l1", 1e-6)
    assert sol.events[-1].t == pytest.approx(ref.events[-1].t, abs=1e-5)
    np.testing.assert_allclose(sol.x[-1], x_min, rtol=0, atol=1e-9)
    ts = np.linspace(0.0, sol.events[-1].t, 2001)
    assert np.abs(sol(ts) - ref(ts)).max() < 1e-5  # (tolerance: 1e-6 · |x0| = 5.8e-6)


def test_an_entry_is_located_on_the_recorded_path_not_the_integrators_drift() -> None:
    # (Stranger review.) The integrator's state drifts off the sliding manifold by a
    # fraction of the tolerance, which moves a guard by that over the block's smallest
    # eigenvalue (3.8e-6 on this valley): the sign flow's last free index reached
    # ∂_4 f = 0 at t = 6.85001 on the recorded (projected) path, but 1.8e-3 later on the
    # integrator's output, where the entry was located; the path ran 1.8e-3 past the
    # minimizer (490 tolerances) and the next mode's projection jumped back.
    sol, ref, x0, x_min = _valley_runs(29, "linf", 1e-8)
    np.testing.assert_allclose(sol.x[-1], x_min, rtol=0, atol=1e-9)
    assert sol.events[-1].t == pytest.approx(ref.events[-1].t, abs=1e-7)
    ts = np.linspace(0.0, sol.events[-1].t + 0.01, 4001)
    tol = 1e-8 * np.abs(x0).max()
    assert np.abs(sol(ts) - ref(ts)).max() < 3 * tol
    for e in sol.events:
        assert np.abs(sol(e.t) - sol(e.t - 1e-12)).max() < tol


def test_the_sign_flows_rest_starts_where_the_path_reaches_the_minimizer() -> None:
    # The last entry of this valley's sign flow arrives almost tangentially (its guard
    # falls at 1e-5 near the minimizer): at rtol = 1e-6 it was located 7e-3 early, the
    # rest mode's start projection jumped that far onto the minimizer, and the run ended
    # with status 0 (no rest found from there). The rest correction of the ℓ∞ relay's
    # rest now serves the sign flow too: moved along the path, it starts where the path
    # gets there.
    sol, ref, x0, x_min = _valley_runs(18, "linf", 1e-6)
    np.testing.assert_allclose(sol.x[-1], x_min, rtol=0, atol=1e-9)
    tol = 1e-6 * np.abs(x0).max()
    assert sol.events[-1].t == pytest.approx(ref.events[-1].t, abs=tol)
    ts = np.linspace(0.0, sol.events[-1].t + 0.01, 4001)
    assert np.abs(sol(ts) - ref(ts)).max() < 3 * tol
    t_rest = sol.events[-1].t
    assert np.abs(sol(t_rest) - sol(t_rest - 1e-12)).max() < tol


@pytest.mark.parametrize(
    ("seed", "norm", "rtol", "T"),
    [
        # (stranger review) an entry moved onto the recorded path (`on_projected_path`)
        # came before a tangency recorded in its step: events out of order, and the
        # saved file did not load
        (6, "linf", 1e-6, 228.77124914808064),
        # the same with the run ending at the moved event: the tangency past the end
        (5, "linf", 1e-9, 58.899239243200356),
        # a tangency of the greedy flow's rest guard was recorded with index −1
        (14, "l1", 1e-6, 56.71),
    ],
)
def test_a_degenerate_minimums_event_path_solution_saves_and_loads(
    seed: int, norm: str, rtol: float, T: float, tmp_path: Any
) -> None:
    obj, x0 = degenerate_quartic(seed)
    sol = fp.solve(
        fp.steepest_descent_flow(obj, norm),
        x0,
        (0.0, T),
        method="events",
        rtol=rtol,
        atol=rtol / 100,
    )
    times = [e.t for e in sol.events]
    assert times == sorted(times)
    assert all(sol.t[0] <= t <= sol.t[-1] for t in times)
    assert all(min(e.indices) >= 0 for e in sol.events)
    path = tmp_path / "sol.npz"
    sol.save(path)
    assert fp.FilippovSolution.load(path) == sol


def test_a_rest_moved_across_its_path_keeps_its_time() -> None:
    # (Stranger review.) Started 1e-5 from this valley's minimizer, the greedy flow's
    # rest correction moved 55 tolerances, mostly across the path (along the flat
    # floor); its part along the old velocity was taken for a location error, and the
    # path continued at that velocity: f rose on it, and the run ended −5 ("f
    # increased"). A move mostly across the path now keeps the rest's time.
    obj, _, x_min = valley_objective(4)
    xs = np.array(
        [
            4.761177056943897,
            2.2364885373687073,
            -2.643550774009678,
            -2.4853943504733933,
            -4.296687056614647,
        ]
    )
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "l1"), xs, (0.0, 5.0), method="events", rtol=1e-8, atol=1e-10
    )
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol.x[-1], x_min, rtol=0, atol=1e-9)


@functools.cache
def _valley_18_up_to_its_rest() -> tuple[
    fp.FilippovSolution, fp.FilippovSolution, np.ndarray, np.ndarray
]:
    """Valley 18's sign flow up to t = 2.462, just before its rest (at 2.46549), on the
    event path at rtol 1e-6 and on the continuation path at rtol 1e-13 (the reference);
    with the start and the minimizer. (Two tests read the same runs.)"""
    obj, x0, x_min = valley_objective(18)
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, x0, (0.0, 2.462), method="events", rtol=1e-6, atol=1e-8)
    ref = fp.solve(flow, x0, (0.0, 2.462), method="continuation", rtol=1e-13, atol=1e-15)
    assert sol.status == 0 and ref.status == 0, (sol.message, ref.message)
    return sol, ref, x0, x_min


def test_a_rest_the_path_reaches_only_after_t_end_is_not_taken() -> None:
    # (Stranger review.) Located 4.5e-3 early, this valley's sign-flow rest would start
    # after t_end = 2.462: it kept its time and the state jumped onto the minimizer (536
    # tolerances), reported as the end state. The path now runs on at the arriving
    # mode's velocity up to t_end, with no rest and no jump.
    sol, ref, x0, x_min = _valley_18_up_to_its_rest()
    assert "stationary" not in [e.kind for e in sol.events]
    tol = 1e-6 * np.abs(x0).max()
    segs = sol.segments
    for a, b in itertools.pairwise(segs):  # (continuous: no jump onto x_min)
        assert np.abs(a.x1 - b.x0).max() < tol
    # the piece added after the last event adds no error to what the run had there
    t_last = sol.events[-1].t
    before = np.abs(sol(t_last) - ref(t_last)).max()
    assert np.abs(sol.x[-1] - ref.x[-1]).max() <= before + tol
    assert np.abs(sol.x[-1] - x_min).max() > 100 * tol  # (the rest is not reached)


def test_an_event_the_integrators_drift_puts_early_is_taken_on_the_recorded_path() -> None:
    # The integrator's drift off a sliding manifold moves a guard by the drift over the
    # block's smallest eigenvalue (4e-6 on this valley), either way. The crossing of
    # index 4 fired on the integrator's output 3.7e-4 early, where its guard on the
    # recorded (projected) path was still 1.5e-5, falling at 0.04: the run ended 104
    # tolerances off the reference. The mode now goes on from the projected state.
    sol, ref, x0, _ = _valley_18_up_to_its_rest()
    tol = 1e-6 * np.abs(x0).max()

    def crossings(s: fp.FilippovSolution) -> list[float]:
        return [e.t for e in s.events if e.kind == "crossing" and e.indices == (4,)]

    # (the flow moves at unit speed in the max norm: a time off by tol is tol in state)
    np.testing.assert_allclose(crossings(sol), crossings(ref), rtol=0, atol=tol)
    ts = np.linspace(0.0, 2.462, 2001)
    assert np.abs(sol(ts) - ref(ts)).max() < 5 * tol
    for a, b in itertools.pairwise(sol.segments):  # (continuous through the restart)
        assert np.abs(a.x1 - b.x0).max() < tol


def test_a_rest_on_an_ill_conditioned_block_is_stationary_within_the_tolerance() -> None:
    # Where every index slides the nominal velocity is 0 at any state and the mode's
    # field is the drift correction alone, gain times the move onto the manifold: that
    # move's rounding over the smallest eigenvalue (4e-6). At a sign flow's rest 2.9e-12
    # from the minimizer it was 1.1e-12 at gain 0.1, above the test's 1e-12: the rest was
    # integrated as a mode to t_end (status 0). Now it is judged by the move itself.
    from filippov._event_path import _is_stationary
    from filippov._mode_field import ModeField

    obj, _, x_min = valley_objective(18)
    system = fp.steepest_descent_flow(obj, "linf")
    n = x_min.size
    eigenvalues, vectors = np.linalg.eigh(obj.hess(x_min))
    assert eigenvalues[0] < 1e-5
    field = ModeField(
        system, system.norm.name, np.zeros(n), np.arange(n), np.zeros(n), 1.0, 0.1, None
    )
    near = x_min + 1e-10 * vectors[:, 0]  # (the drift correction: 0.1 × 1e-10 ≫ 1e-12)
    f0, B, _, _, lam = field.evaluate(near)
    assert np.abs(f0 - B @ lam).max() > 1e-12
    assert not _is_stationary(field, near, 1.0, 0.0)
    assert _is_stationary(field, near, 1.0, 1e-8)
    # a state off the rest by more than the tolerance is not at rest
    assert not _is_stationary(field, x_min + 1e-6 * vectors[:, 0], 1.0, 1e-8)
    sol, _, _, _ = _valley_runs(18, "linf", 1e-6, 100.0)
    np.testing.assert_allclose(sol.x[-1], x_min, rtol=0, atol=1e-9)


def test_an_arrival_within_rtol_times_a_long_span_is_not_merged_past_a_crossing() -> None:
    # With t_end = 196 the simultaneity probe, rtol·(t_end − t0) = 2e-4 in time, was 27
    # tolerances of travel: index 0's entry 4.2e-5 after index 1's was merged with it
    # and index 3's crossing between them skipped (73 tolerances off, status 1). The
    # probe is now also within the state tolerance along the path.
    sol, ref, x0, x_min = _valley_runs(0, "linf", 1e-6)
    tol = 1e-6 * np.abs(x0).max()

    def events(s: fp.FilippovSolution) -> list[tuple[str, tuple[int, ...]]]:
        return [(e.kind, e.indices) for e in s.events]

    assert events(sol) == events(ref)
    assert ("crossing", (3,)) in events(sol)[8:]
    np.testing.assert_allclose([e.t for e in sol.events], [e.t for e in ref.events], atol=tol)
    ts = np.linspace(0.0, sol.events[-1].t, 3001)
    assert np.abs(sol(ts) - ref(ts)).max() < 5 * tol
    np.testing.assert_allclose(sol.x[-1], x_min, rtol=0, atol=tol)


@pytest.mark.parametrize("before", [1e-11, 1e-13])
def test_an_l2_arrival_just_after_t_end_ends_the_run_at_t_end(before: float) -> None:
    # (stranger review) The ℓ2 flow of ½‖x‖² moves straight to 0 at unit speed and
    # arrives at t = ‖x0‖ = 2. The arrival's last stretch (closed form or Newton steps)
    # ignored t_end: with t_end just before 2 the stationary event was recorded after
    # t_end and the run ended −5.
    flow = fp.steepest_descent_flow(separable_quadratic([1.0, 1.0, 1.0], [0.0, 0.0, 0.0]), "l2")
    x0 = np.array([3.0, 4.0, 12.0]) / 13 * 2
    t_end = 2.0 - before
    sol = fp.solve(flow, x0, (0.0, t_end))
    assert sol.status == 0, sol.message
    assert sol.t[-1] == t_end
    assert "stationary" not in [e.kind for e in sol.events]
    np.testing.assert_allclose(sol.x[-1], x0 * (1 - t_end / 2), rtol=0, atol=1e-12)


#: A smooth, strongly convex objective of 20 variables (a stranger review's random
#: expression: quadratic, quartic, log-cosh, exponential and softplus terms).
_ROUGH_BOWL = (
    "2.36699*(x0 - (-0.802004))**2 + 1.70341*(x1 - (-0.527374))**2 + 2.81833*(x2 - (0.424749)"
    ")**2 + 2.59761*(x3 - (-0.452177))**2 + 1.79728*(x4 - (0.812522))**2 + 1.96654*(x5 - (-0."
    "414621))**2 + 0.548282*(x6 - (-1.03561))**2 + 0.288547*(x7 - (-0.023798))**2 + 1.98426*("
    "x8 - (0.591361))**2 + 1.10803*(x9 - (1.26612))**2 + 0.82868*(x10 - (-1.13584))**2 + 0.63"
    "6474*(x11 - (-0.147967))**2 + 1.05545*(x12 - (1.10327))**2 + 1.69773*(x13 - (0.729762))*"
    "*2 + 0.654293*(x14 - (-0.000581466))**2 + 0.932527*(x15 - (-0.11684))**2 + 2.45998*(x16 "
    "- (0.581299))**2 + 2.27329*(x17 - (0.457016))**2 + 2.44248*(x18 - (0.586591))**2 + 1.227"
    "27*(x19 - (2.17018))**2 + 0.1*(x16 + (1)*1.36487*x8)**4 + 0.1*(x11 + (1)*0.309883*x7)**4"
    " + log(cosh((x16 + (1)*1.08016*x4))) + 0.3*exp(0.5*(x17 + (1)*0.469856*x3)) + log(cosh(("
    "x8 + (1)*0.10937*x9))) + 0.1*(x11 + (1)*1.3421*x13)**4 + 0.3*exp(0.5*(x13 + (-1)*1.07511"
    "*x11)) + 0.3*exp(0.5*(x13 + (-1)*1.05635*x16)) + 0.3*exp(0.5*(x1 + (-1)*0.648317*x9)) + "
    "log(1 + exp((x0 + (1)*0.912514*x14))) + log(1 + exp((x7 + (-1)*1.45444*x1))) + log(1 + e"
    "xp((x19 + (1)*0.516013*x11))) + log(1 + exp((x15 + (1)*0.233743*x9)))"
)


def test_an_l2_flows_step_over_a_smooth_minimum_is_no_pole() -> None:
    # One DOP853 step over the minimum, on a curved approach, put the turn of the
    # direction on its dense output at ‖h‖ = 1.6e-5, just above both ends, 1.5e-6 from
    # the minimizer: read as a pole of h, the run ended −3. A pole makes ‖h‖ unbounded.
    from scipy.optimize import minimize

    obj = Objective.from_expr(_ROUGH_BOWL, variables=[f"x{i}" for i in range(20)])
    x0 = np.array(
        [
            -0.5103085224905161,
            -0.6992858221977525,
            -2.0453039758111884,
            -0.22929421087154933,
            -1.361721243694501,
            -0.3746120624150199,
            -1.5262994696182997,
            0.9527444092910999,
            -1.9090968944368476,
            0.34845135620978557,
            -0.15530128587822917,
            -0.022965037600020895,
            -1.2997575035839044,
            1.2166121045742355,
            2.6909666943364376,
            2.503038092903987,
            -2.2326254456592927,
            0.6277823029490132,
            -2.4968697505219746,
            -1.064080981633096,
        ]
    )
    rtol = 8.25905542957123e-07
    sol = fp.solve(fp.steepest_descent_flow(obj, "l2"), x0, (0.0, 14.4), rtol=rtol, atol=rtol / 100)
    assert sol.status == 1, sol.message
    best = minimize(
        obj.f, x0, jac=obj.grad, hess=obj.hess, method="trust-exact", options={"gtol": 1e-12}
    )
    np.testing.assert_allclose(sol.x[-1], best.x, rtol=0, atol=1e-9)
    # the arrival time, the gradient flow's arc length: 9.6131995246 (scipy, rtol 1e-13).
    # Its global error is a few rtol·t and depends on the step sequence: starts moved by
    # 1e-15 (or the same formula compiled in another order, 5e-16 apart) put it 0.7 to
    # 6 rtol·t late, so the bound is 20 rtol·t, not the 2.8 a first run happened to meet.
    assert sol.events[-1].t == pytest.approx(9.6131995246, abs=20 * rtol * 9.6131995246)


def test_an_l2_turn_is_a_pole_when_h_reverses_above_all_it_has_seen() -> None:
    from filippov._event_path import _flipped_at_a_pole

    h_old = np.array([4.9e10, 1.56])
    # log(x) + y² crawled up to its pole: ends 4.9e10 and 7.9e12, turn 3.1e15 pointing back
    at_pole = np.array([-3.1e15, 1.56])
    assert _flipped_at_a_pole(h_old, at_pole, float(np.linalg.norm(at_pole)), 7.9e12, 4.9e10)
    # ... not when the mode saw larger values before (an arrival after a steep stretch),
    assert not _flipped_at_a_pole(h_old, at_pole, float(np.linalg.norm(at_pole)), 7.9e12, 1e16)
    # ... nor when h turned through 90° (a curved approach to a minimum: the turn is where
    # h is perpendicular to the step's start),
    across = np.array([1.0, -3.1e15])
    assert not _flipped_at_a_pole(h_old, across, float(np.linalg.norm(across)), 7.9e12, 4.9e10)
    # ... nor below the far end (a straight arrival: ‖h‖ near 0 at the turn)
    small = np.array([-1e-3, 0.0])
    assert not _flipped_at_a_pole(h_old, small, 1e-3, 7.9e12, 4.9e10)
    # (not finite at the turn: a pole)
    assert _flipped_at_a_pole(h_old, None, float("inf"), 7.9e12, 4.9e10)


@pytest.mark.parametrize(
    ("expr", "names", "x0", "x_star"),
    [
        ("cosh(0.5*(x - 0.3))", ["x"], [1.3], [0.3]),
        ("cosh(x) + cosh(y)", ["x", "y"], [1.0, 1.0], [0.0, 0.0]),
        ("cosh(2*(x + 0.955)) + cosh(2*(y + 0.955))", ["x", "y"], [0.045, 0.045], [-0.955] * 2),
    ],
)
def test_an_l2_flow_that_lands_exactly_on_its_minimizer_stops_there(expr, names, x0, x_star):
    # (stranger review) A straight arrival at a minimizer that is a float put a step's
    # end on h = 0 exactly, inside the arrival guard: h/‖h‖ = 0/0, a NaN velocity in the
    # transition's probe, and the run ended −1 (20 of 108 separable cosh sums).
    obj = fp.Objective.from_expr(expr, names)
    sol = fp.solve(fp.steepest_descent_flow(obj, "l2"), x0, (0.0, 5.0))
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol.x[-1], x_star, atol=1e-9)
    assert sol.events[-1].kind == "stationary"


@pytest.mark.parametrize("scale", [1e-200, 1e-3, 1.0, 1e3, 1e200])
def test_the_tie_pivot_test_takes_blocks_of_any_scale(scale: float) -> None:
    # (review R27) The event path's test for a rounding pivot of a tie's bordered block
    # squared the block's scale as a Python float: at |M| ~ 1e200 (a Poisson model far
    # from its minimizer) that raised OverflowError, and the run ended −1 "the system's
    # functions raised", though no function of the user's had. A regular block passes at
    # every scale; a singular one is flagged.
    import scipy.linalg

    from filippov._mode_field import _tiny_pivot

    def bordered(M: np.ndarray) -> np.ndarray:
        k = M.shape[0]
        return np.block([[M, np.ones((k, 1))], [np.ones((1, k)), np.zeros((1, 1))]])

    regular = scale * np.array([[2.0, 0.5], [0.5, 1.0]])
    singular = scale * np.array([[1.0, 1.0], [1.0, 1.0]])
    for M, expected in ((regular, False), (singular, True)):
        with warnings.catch_warnings():  # (the singular block's zero pivot: expected)
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            lu, _ = scipy.linalg.lu_factor(bordered(M))
        flagged = _tiny_pivot(lu, M)
        if abs(np.log10(scale)) < 100:
            assert flagged is expected, (scale, M)
        else:  # (beyond the spread's cap every pivot is suspect: a condition estimate decides)
            assert isinstance(flagged, bool)


def poisson_without_ridge(seed: int, m: int, d: int) -> tuple[Objective, np.ndarray]:
    """A Poisson model without a ridge (a valley of minimizers where ``m < d``) and a far
    start, as the stranger fuzz drew them (its seeds)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, d))
    w = rng.standard_normal(d)
    y = rng.poisson(np.exp(A @ (0.4 * w))).astype(float)
    return linear_model(A, y, 0.0, loss="poisson"), 4.0 * rng.standard_normal(d)


def test_an_exit_at_a_rest_where_every_free_partial_is_rounding_does_not_raise() -> None:
    # (stranger fuzz) A Poisson model without a ridge at rtol 1e-6: at t = 55.38 an index
    # exits its sliding set while every free partial is rounding, so the arrivals (none
    # located, an empty list) were joined with the free indices by `np.union1d`, whose
    # result for an empty list is of floats; indexing with it raised `IndexError` out of
    # `solve`, and `auto` did not fall back either.
    obj, x0 = poisson_without_ridge(4264737906899728536, 18, 13)
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, x0, (0.0, 150.0), method="continuation", rtol=1e-6)
    assert sol.status == 1, sol.message
    rest = sol.events[-1]
    # (the rest is on a valley of minimizers, reached at rtol 1e-6: where along it, and
    # when, rides on the rounding of the libm the machine's CPU selects -- 55.3757 on
    # one machine, 55.3785 on another; the gradient there is rounding on both)
    assert rest.kind == "stationary" and rest.t == pytest.approx(55.377, abs=1e-2)
    assert float(np.max(np.abs(obj.grad(sol.x[-1])))) < 1e-10


@pytest.mark.parametrize("seed", [0, 3])
def test_the_exact_sign_flow_rests_on_a_line_of_minimizers(seed: int) -> None:
    # (stranger fuzz) A quadratic whose Hessian has eigenvalues (0, 1, 10, 100): a line of
    # minimizers. At the last sliding entry the one free partial sat at its rounding
    # (3e-14) with rate 0, and the exact path went on along the valley at unit speed to
    # t_end: status 0, nothing flagged, 59.5 from where the event path rests.
    obj = rotated_quadratic([0.0, 1.0, 10.0, 100.0], rotation=1.0, seed=seed)
    x0 = np.random.default_rng(seed).standard_normal(4)
    flow = fp.steepest_descent_flow(obj, "linf")
    exact = fp.solve(flow, x0, (0.0, 60.0), method="auto")
    assert exact.method == "exact" and exact.status == 1, exact.message
    ref = fp.solve(flow, x0, (0.0, 60.0), method="events")
    assert ref.status == 1, ref.message
    rest, ref_rest = exact.events[-1], ref.events[-1]
    assert rest.kind == ref_rest.kind == "stationary"
    assert rest.unique is False and ref_rest.unique is False
    assert rest.t == pytest.approx(ref_rest.t, abs=1e-8)
    np.testing.assert_allclose(exact.x[-1], ref.x[-1], rtol=0, atol=1e-7)
    assert float(np.max(np.abs(obj.grad(exact.x[-1])))) < 1e-12


def test_the_exact_sign_flow_of_underdetermined_least_squares_rests() -> None:
    # (stranger fuzz) Least squares with fewer samples than features: the same drift
    # along the minimizers (48 away at t = 50, status 0) for this seed; nine others of
    # twenty ended −5 (precision lost).
    rng = np.random.default_rng(4)
    A = rng.standard_normal((3, 6))
    y = rng.standard_normal(3)
    obj = Objective.quadratic(A.T @ A, -A.T @ y)
    x0 = rng.standard_normal(6)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 50.0), method="auto")
    assert sol.method == "exact" and sol.status == 1, sol.message
    assert sol.events[-1].kind == "stationary" and sol.events[-1].unique is False
    assert float(np.max(np.abs(A @ sol.x[-1] - y))) < 1e-10  # (an interpolating minimizer)


@pytest.mark.parametrize("seed", [2, 5])
def test_the_exact_greedy_rest_on_a_line_of_minimizers_is_not_unique(seed: int) -> None:
    # (stranger fuzz) The greedy flow's exact path flagged this rest unique: its Hessian's
    # Cholesky factor passed on a pivot at rounding (eigenvalues 0, 1, 10, 100).
    obj = rotated_quadratic([0.0, 1.0, 10.0, 100.0], rotation=1.0, seed=seed)
    x0 = np.random.default_rng(seed).standard_normal(4)
    sol = fp.solve(fp.steepest_descent_flow(obj, "l1"), x0, (0.0, 60.0), method="auto")
    assert sol.method == "exact" and sol.status == 1, sol.message
    assert sol.events[-1].kind == "stationary" and sol.events[-1].unique is False


@pytest.mark.parametrize("method", ["auto", "events"])
def test_a_rest_is_not_unique_where_a_coordinate_does_not_enter_f(method: str) -> None:
    # (stranger fuzz) x0 does not enter f (l0 = 0): it may leave the rest at any speed up
    # to 1. The rest's probe of that departure read the rounding of ∂f (which does not
    # change along it at all) as a move off the manifold, and flagged the rest unique.
    curvatures = np.array([0.0, 7.5, 1.6, 8.2])
    obj = separable_quadratic(curvatures, np.array([0.3, -1.2, 0.8, 0.5]))
    x0 = np.array([0.4, 0.9, -1.1, 0.2])
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 60.0), method=method)
    assert sol.status == 1, sol.message
    assert sol.events[-1].kind == "stationary" and sol.events[-1].unique is False


def test_a_rest_whose_partials_are_rounding_of_their_terms_is_taken_without_a_jump() -> None:
    # (stranger fuzz) A Poisson model without a ridge at rtol 1e-6 reaches its valley with
    # the free partials at 3.8e-14, the rounding of their evaluation at |x| = 54, but above
    # 64 times their change over one ulp of x (a signed sum that cancelled: 2.5e-16). A
    # mode of zero length started there, moved its start 0.027 along the valley onto a
    # "curve" its block does not determine, and rested: the solution jumped by 0.027 (500
    # tolerances) at its rest.
    obj, x0 = poisson_without_ridge(2117469121284635785, 19, 17)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 150.0), rtol=1e-6)
    assert sol.status == 1, sol.message
    jumps = [float(np.max(np.abs(b.x0 - a.x1))) for a, b in itertools.pairwise(sol.segments)]
    assert max(jumps) < 1e-10, max(jumps)
    assert sol.events[-1].kind == "stationary" and sol.events[-1].unique is False
    assert float(np.max(np.abs(obj.grad(sol.x[-1])))) < 1e-12


def test_a_twin_partial_at_rounding_is_not_called_a_pole() -> None:
    # (stranger fuzz) A two-class network without weight decay: the partial of an output
    # weight, its twin's exactly, sat at 2e-17 with a rate of 2e-16 at an event, and the
    # probe of simultaneous events took its sign change for a jump: −3, "a pole or
    # discontinuity of h", of a smooth gradient.
    rng = np.random.default_rng(7716474967216410308)
    X = rng.standard_normal((22, 2))
    W = rng.standard_normal((2, 2))
    y = np.argmax(X @ W + 0.5 * rng.standard_normal((22, 2)), axis=1)
    y[:2] = np.arange(2)
    obj = mlp_classifier(X, y, hidden=2, weight_decay=0.0)
    x0 = mlp_init(2, 2, hidden=2, seed=0)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 5.0), method="events")
    assert "pole" not in sol.message, sol.message
    assert sol.t[-1] == 5.0 and sol.status in (0, -5), sol.message


@pytest.mark.parametrize(
    ("delta", "stiffness", "soft", "m"),
    [
        (3e-5, "1e9", "log(cosh(x1 - {m}))", 3.0),
        (3e-6, "1e9", "log(cosh(x1 - {m}))", 3.0),
        pytest.param(
            1e-3,
            "1e10",
            "log(cosh(x1 - {m}))",
            3.75,
            # A partial of 1e-3 beside terms of 4e10 (130 of their ulps): read as
            # rounding on one machine kind's libm, the flow rests 1e-3 before its
            # minimizer, flagged unique (a defect, open; see `_gradient_at_rounding`).
            marks=pytest.mark.xfail(reason="rounding-dependent rest test at K = 1e10"),
        ),
        (1e-4, "1e9", "0.5*(x1 - {m})**2", 3.75),
    ],
)
def test_a_meaningful_partial_beside_a_stiff_coupling_is_not_read_as_rounding(
    delta: float, stiffness: str, soft: str, m: float
) -> None:
    # (reviews rv7, rv8) The test of free partials at their rounding near a rest read a
    # partial of 3e-5 to 1e-3 along the soft direction as rounding where index 2 arrived,
    # and the flow rested delta before its minimizer (m + 0.5, m, 0), flagged unique: first
    # with a bound 64·|H_i|·ulp(x), which took in the stiff coupling K (x0 − x1)² (x0 − x1
    # is computed exactly), then with differences taken around the corrector's gradient
    # from before its last correction, off by K·2ulp.
    obj = Objective.from_expr(
        f"0.5*{stiffness}*(x0 - x1 - 0.5)**2 + {soft.format(m=m)} + 0.5*x2**2",
        ["x0", "x1", "x2"],
    )
    flow = fp.steepest_descent_flow(obj, "linf")
    # (x0 travels 1.3 at unit speed: the rest is at t = 1.3; index 2 arrives delta before
    # the rest of a run without it, as the review built the cases: that run's rest is
    # within the zero tolerance on its scale, 1e-6 early at K = 1e9)
    x0 = np.array([m + 0.5 - 1.3, m - 1.2, 0.0])
    t_rest = fp.solve(flow, x0, (0.0, 20.0), method="continuation", rtol=1e-10).events[-1].t
    x0[2] = t_rest - delta
    sol = fp.solve(flow, x0, (0.0, 20.0), method="continuation")
    assert sol.status == 1, sol.message
    # (to 5e-7: the zero tolerance on the run's scale, ∇f up to 4e9 at the start)
    np.testing.assert_allclose(sol.x[-1], [m + 0.5, m, 0.0], rtol=0, atol=5e-7)
    assert sol.events[-1].t == pytest.approx(1.3, abs=5e-7)
