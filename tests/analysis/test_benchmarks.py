"""Keep ``benchmarks/`` from rotting, and check what its numbers rest on.

* one tiny benchmark case through the runner and the report (a few seconds);
* the exact path's incremental sliding solver gives the same solution as the direct one
  (the reference kept behind ``incremental=False``) to rounding, events included;
* the exact path is the limit of implicit Euler (Moreau time stepping): the error at the
  grid points shrinks like ``O(h)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import filippov as fp  # noqa: E402
from benchmarks import peers, report, runner  # noqa: E402
from benchmarks.problems import Problem, coulomb_reference, slope_problem  # noqa: E402
from filippov import incremental_selection  # noqa: E402
from filippov._recorder import Recorder  # noqa: E402
from filippov.engine import ExactOptions, ExactPath, run  # noqa: E402
from filippov.objectives import rotated_quadratic  # noqa: E402
from filippov.systems import AffineData  # noqa: E402


def _quad_problem(d: int, seed: int, T: float = 1.0) -> Problem:
    rng = np.random.default_rng(seed)
    obj = rotated_quadratic(np.geomspace(1.0, 30.0, d), rotation=1.0, seed=seed)
    return Problem(
        name=f"q{d}",
        description="test",
        system=fp.steepest_descent_flow(obj, "linf"),
        x0=rng.standard_normal(d),
        T=T,
        flow="linf",
        reference="exact",
        objective=obj,
    )


def _exact(p: Problem, *, incremental: bool, T: float) -> fp.FilippovSolution:
    rec = Recorder(0.0, p.x0, "exact")
    path = ExactPath(p.system, p.x0, T, ExactOptions(incremental=incremental), rec)
    status, msg = run(path, max_events=100_000, zeno_spacing=1e-8)
    return rec.finish(status, msg)


# ------------------------------------------------------------------ the runner, tiny case
def test_tiny_benchmark_case_runs_and_reports(tmp_path: Path) -> None:
    p = slope_problem(0.5)
    cfg = runner.Config(quick=True, repeats=3, cap=0.3)
    ref, info = runner.reference_of(p)
    assert info["self_check"] < 1e-13
    by_name = {m.name: m for m in peers.all_methods()}
    rows = [
        runner.run_case(p, by_name[name], ref, cfg)
        for name in ("fp exact", "implicit Euler h=0.01", "naive RK45")
    ]
    exact, ie, naive = rows
    # a fast case: one untimed warm-up run, then (quick run) the median of three
    assert exact["status"] == "ok" and exact["runs"] == 3 and exact["max_err"] < 1e-13
    assert exact["warmup_wall"] is not None and len(exact["walls"]) == 3
    # Implicit Euler is exact at its grid points here: after a sliding entry the free
    # coordinate moves at unit speed and the sliding one solves ∂₁f = 0, both exactly.
    assert ie["status"] == "ok" and ie["max_err"] < 1e-12
    # the naive integrator stalls at the sliding manifold: recorded, with its reason, once
    assert naive["status"] in ("did not finish", "failed") and naive["runs"] == 1
    assert naive["reason"]
    result = {
        "config": cfg.__dict__,
        "machine": runner.machine_info(),
        "problems": {p.name: {"description": p.description, "n": p.n, "T": p.T, "reference": info}},
        "rows": rows,
        "total_wall": 0.0,
    }
    result["targets"] = runner.evaluate_targets(result)
    paths = report.write(result, tmp_path, "tiny")
    text = paths["md"].read_text()
    assert "naive RK45" in text and naive["status"] in text
    assert paths["json"].stat().st_size > 0 and paths["png"].stat().st_size > 0


def test_coulomb_closed_form_matches_event_path() -> None:
    sys_ = fp.systems.coulomb_oscillator(mu=0.1)
    t = np.linspace(0.0, 20.0, 401)
    X, events = coulomb_reference(np.array([1.0, 0.0]), 0.1, t)
    sol = fp.solve(sys_, [1.0, 0.0], (0.0, 20.0), rtol=1e-12, atol=1e-14)
    assert np.max(np.abs(sol(t) - X)) < 1e-8
    assert [k for _, k in events] == ["crossing"] * 4 + ["stationary"]
    assert events[-1][0] == pytest.approx(5 * np.pi)


# ------------------------------------------- incremental exact path == direct exact path
@pytest.mark.parametrize(("d", "seed"), [(2, 0), (8, 1), (30, 2), (60, 3), (120, 4)])
def test_incremental_exact_path_matches_direct_selection(d: int, seed: int) -> None:
    p = _quad_problem(d, seed)
    fast = _exact(p, incremental=True, T=50.0)
    slow = _exact(p, incremental=False, T=50.0)
    assert fast.status == slow.status == 1
    assert [(e.kind, e.indices) for e in fast.events] == [(e.kind, e.indices) for e in slow.events]
    assert [s.mode for s in fast.segments] == [s.mode for s in slow.segments]
    assert fast.n_selection_solves == slow.n_selection_solves
    scale = max(1.0, float(np.max(np.abs(p.x0))))
    assert np.max(np.abs(fast.t - slow.t)) <= 1e-12 * max(1.0, float(fast.t[-1]))
    assert np.max(np.abs(fast.x - slow.x)) <= 1e-12 * scale
    ts = np.linspace(0.0, float(fast.t[-1]), 501)
    assert np.max(np.abs(fast(ts) - slow(ts))) <= 1e-12 * scale
    lam_fast = np.array([s.lam for s in fast.segments])
    lam_slow = np.array([s.lam for s in slow.segments])
    assert np.max(np.abs(lam_fast - lam_slow)) <= 1e-10
    kinds = {e.kind for e in fast.events}
    if d >= 30:  # the sizes that exercise the pivoting: exits and crossings occur
        assert {"exit", "crossing", "sliding-entry"} <= kinds


def test_inverse_block_follows_inserts_and_deletes() -> None:
    rng = np.random.default_rng(7)
    n = 40
    A = rng.standard_normal((n, n))
    M = A @ A.T + n * np.eye(n)
    blk = incremental_selection.InverseBlock(M)
    members: list[int] = []
    for _ in range(300):
        if members and (len(members) == n or rng.random() < 0.4):
            i = members.pop(int(rng.integers(len(members))))
            blk.delete(i)
        else:
            i = int(rng.choice([j for j in range(n) if j not in members]))
            members.append(i)
            blk.insert(i)
        S = blk.members
        assert sorted(S.tolist()) == sorted(members)
        if S.size:
            W_true = np.linalg.inv(M[np.ix_(S, S)])
            assert np.max(np.abs(blk.dense() - W_true)) <= 1e-12 * np.max(np.abs(W_true))


def test_spd_selector_falls_back_and_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force the warm-started pivoting to give up: the fallback gives the same solution."""
    p = _quad_problem(30, 5)
    ref = _exact(p, incremental=False, T=50.0)
    monkeypatch.setattr(incremental_selection.SpdBoxSelector, "_pivot", lambda self, cand: None)
    fb = _exact(p, incremental=True, T=50.0)
    assert [(e.kind, e.indices) for e in fb.events] == [(e.kind, e.indices) for e in ref.events]
    assert np.max(np.abs(fb.x - ref.x)) <= 1e-12 * max(1.0, float(np.max(np.abs(p.x0))))


# ---------------------------------------- the exact path is implicit Euler's h -> 0 limit
def test_exact_path_is_the_limit_of_implicit_euler() -> None:
    """Implicit Euler's grid-point error is ``O(h)`` (not monotone in ``h``: it depends on
    where each exit or crossing falls inside its step), so the test fits the order over
    steps ``0.01/k`` with non-dyadic ``k`` and bounds ``error/h`` uniformly."""
    p = _quad_problem(10, 12, T=2.0)
    sol = fp.solve(p.system, p.x0, (0.0, p.T), method="exact")
    assert sol.counts["exit"] + sol.counts["crossing"] > 0  # not a trivially exact case
    hs = 0.01 / np.array([1, 2, 3, 5, 8, 13, 21])
    errs = []
    for h in hs:
        res = peers._implicit_euler(float(h))(p, 60.0)
        assert res.status == "ok"
        errs.append(np.max(np.abs(res.X - sol(res.t))))
    errs_arr = np.array(errs)
    order = np.polyfit(np.log(hs), np.log(errs_arr), 1)[0]
    assert 0.75 < order < 1.5, (order, errs_arr)
    assert np.max(errs_arr / hs) < 2.0  # error ≤ C h with C of the size of the velocity jump
    assert errs_arr[-1] < errs_arr[0] / 10


def test_incremental_exact_path_on_an_ill_conditioned_quadratic() -> None:
    """Condition number 1e8: rounding in the kept inverse grows fastest here, so the
    residual checks (every few selections) must keep the path on the direct solution."""
    d, seed = 60, 11
    rng = np.random.default_rng(seed)
    obj = rotated_quadratic(np.geomspace(1e-4, 1e4, d), rotation=1.0, seed=seed)
    p = Problem(
        name="ill",
        description="test",
        system=fp.steepest_descent_flow(obj, "linf"),
        x0=rng.standard_normal(d),
        T=1.0,
        flow="linf",
        reference="exact",
        objective=obj,
    )
    fast = _exact(p, incremental=True, T=5.0)
    slow = _exact(p, incremental=False, T=5.0)
    assert fast.status == slow.status
    assert len(fast.events) > 2 * d  # many joins and leaves
    assert [(e.kind, e.indices) for e in fast.events] == [(e.kind, e.indices) for e in slow.events]
    ts = np.linspace(0.0, float(fast.t[-1]), 301)
    scale = max(1.0, float(np.max(np.abs(p.x0))))
    assert np.max(np.abs(fast(ts) - slow(ts))) <= 1e-8 * scale  # was 1e-5 unrefined


def _moderately_conditioned_relay_system() -> tuple[AffineData, np.ndarray]:
    """A relay system ``x' = c0 − λ, λ ∈ Sign(G x + e)``, ``G`` SPD of condition 1e5
    (m = 11), found by a random search (the 39th draw of the generator below), whose last
    segment is long (20 of 30 time units)."""
    rng = np.random.default_rng(123)
    for trial in range(39):
        m = int(rng.integers(1, 40))
        kind = trial % 4
        if kind == 3:
            # an integer case of the search: only its draws matter here
            for low, high, size in ((-2, 3, (m, m)), (-4, 5, m), (-3, 4, m), (-3, 4, m)):
                rng.integers(low, high, size=size)
            continue
        Q, _ = np.linalg.qr(rng.standard_normal((m, m)))
        G = (Q * np.geomspace(1.0, [3.0, 100.0, 1e5][kind], m)) @ Q.T
        G = 0.5 * (G + G.T)
        c0 = rng.standard_normal(m) * rng.choice([0.0, 0.5])
        e = rng.standard_normal(m)
        x0 = rng.standard_normal(m)
        if trial % 5 == 0:
            idx = rng.choice(m, size=int(rng.integers(1, m + 1)), replace=False)
            e[idx] -= (G @ x0 + e)[idx]
    return AffineData(c0=c0, B=np.eye(m), G=G, e=e), x0


def test_incremental_exact_path_checks_the_selection_of_a_long_segment() -> None:
    """Checking only every 8th selection left the last selection of this run unchecked;
    its λ (off by 2.5e-10) drove the final 20 time units and moved the end state by 5e-9
    from the direct solve. A long segment now starts from a checked selection."""
    data, x0 = _moderately_conditioned_relay_system()
    assert np.linalg.cond(data.G) == pytest.approx(1e5, rel=1e-3)
    runs = []
    for incremental in (True, False):
        rec = Recorder(0.0, x0, "exact")
        system = fp.FilippovSystem.affine(data.c0, data.B, data.G, data.e, "l1")
        path = ExactPath(system, x0, 30.0, ExactOptions(incremental=incremental), rec)
        status, msg = run(path, max_events=20_000, zeno_spacing=1e-8)
        runs.append(rec.finish(status, msg))
    fast, slow = runs
    assert fast.status == slow.status == 0
    assert [(e.kind, e.indices) for e in fast.events] == [(e.kind, e.indices) for e in slow.events]
    assert fast.events[-1].t < 10.0  # the last segment is the long one
    ts = np.linspace(0.0, 30.0, 601)
    assert np.max(np.abs(fast(ts) - slow(ts))) <= 1e-9
