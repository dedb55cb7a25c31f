"""Issue 23: the incremental ℓ∞-relay tie selection (greedy flow) and compact storage.

* the incremental tie selection agrees with the direct simplex-VI solve at every event
  (selector level, against :func:`solve_simplex_vi` and an independent KKT check; path
  level, against ``incremental=False``);
* the greedy flow's exact path reaches the minimizer at moderate d (checked against
  ``np.linalg.solve``);
* ``storage="compact"`` gives the same breakpoints, dense output (bit for bit), events,
  segments and save/load as the full solution.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import filippov as fp
from filippov import incremental_selection
from filippov._recorder import Recorder
from filippov.compact_solution import CompactSolution
from filippov.engine import ExactOptions, ExactPath, protocol, run
from filippov.selection import solve_simplex_vi


def _spd(d: int, rng: np.random.Generator, cond: float = 100.0) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    H = (Q * np.geomspace(1.0, cond, d)) @ Q.T
    return 0.5 * (H + H.T)


# ------------------------------------------------ selector == direct solve, event by event
@settings(derandomize=True, deadline=None, max_examples=25)
@given(
    d=st.integers(min_value=3, max_value=14),
    seed=st.integers(min_value=0, max_value=10**6),
    gc_scale=st.sampled_from([0.0, 1.0]),
)
def test_incremental_tie_selection_matches_the_direct_solve(
    d: int, seed: int, gc_scale: float
) -> None:
    rng = np.random.default_rng(seed)
    GB = _spd(d, rng)
    Gc0 = gc_scale * rng.standard_normal(d)
    sel = incremental_selection.SimplexTieSelector(GB, Gc0)
    signs = rng.choice([-1.0, 1.0], size=d)
    support = np.zeros(0, dtype=np.intp)
    for _ in range(12):
        # The next tie: the previous support plus some arrivals (as at an event), or a
        # fresh random set now and then (indices leaving without being dropped).
        others = np.setdiff1d(np.arange(d), support)
        joins = rng.choice(others, size=min(others.size, int(rng.integers(1, 3))), replace=False)
        cand = np.union1d(support, joins)
        if rng.random() < 0.2:
            cand = np.sort(rng.choice(d, size=int(rng.integers(1, d + 1)), replace=False))
        s = signs[cand]
        w, mask, unique = sel.select(cand, s)
        assert unique
        M = s[:, None] * GB[np.ix_(cand, cand)] * s[None, :]
        ref = solve_simplex_vi(M, s * Gc0[cand])
        np.testing.assert_allclose(w, ref.lam, rtol=0, atol=1e-9)
        # Independent KKT check: the weights are a point of the simplex, the support
        # shares one rate d|h|/dt, the rest of the tie does not exceed it, and the
        # selector's rates are Gc0 − GB λ.
        assert np.all(w >= 0) and abs(w.sum() - 1.0) < 1e-12
        lam = np.zeros(d)
        lam[cand] = s * w
        rates = Gc0 - GB @ lam
        np.testing.assert_allclose(sel.rates, rates, rtol=0, atol=1e-10)
        conj = s * rates[cand]
        r = float(np.mean(conj[mask]))
        np.testing.assert_allclose(conj[mask], r, rtol=0, atol=1e-10)
        assert np.all(conj[~mask] <= r + 1e-10)
        support = cand[mask]
        assert np.array_equal(np.sort(sel.block.members), support)
        if rng.random() < 0.3:
            signs[rng.integers(d)] *= -1.0  # an index may rejoin with the other sign


def _greedy(
    H: np.ndarray, b: np.ndarray, x0: np.ndarray, T: float, incremental: bool
) -> tuple[Recorder, tuple[int, str]]:
    system = fp.steepest_descent_flow(fp.Objective.quadratic(H, b), "l1")
    rec = Recorder(0.0, x0, "exact")
    path = ExactPath(system, x0, T, ExactOptions(incremental=incremental), rec)
    st_ = run(path, max_events=100_000, zeno_spacing=1e-8)
    return rec, st_


@settings(derandomize=True, deadline=None, max_examples=12)
@given(d=st.integers(min_value=2, max_value=25), seed=st.integers(min_value=0, max_value=10**6))
def test_incremental_greedy_path_matches_the_direct_path(d: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    H = _spd(d, rng)
    b = rng.standard_normal(d)
    x0 = rng.standard_normal(d)
    fast, st_fast = _greedy(H, b, x0, 1e6, True)
    slow, st_slow = _greedy(H, b, x0, 1e6, False)
    assert st_fast[0] == st_slow[0] == 1
    assert [(e.kind, e.indices) for e in fast.events] == [(e.kind, e.indices) for e in slow.events]
    scale = float(np.max(np.abs(slow.states())))
    np.testing.assert_allclose(fast.states(), slow.states(), rtol=0, atol=1e-11 * scale)
    np.testing.assert_allclose(fast.t, slow.t, rtol=1e-11, atol=1e-13)
    for a, c in zip(fast.segments, slow.segments, strict=True):
        assert a.mode == c.mode
        np.testing.assert_allclose(a.lam, c.lam, rtol=0, atol=1e-11)


def test_greedy_flow_reaches_the_minimizer_at_moderate_d(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = incremental_selection.SimplexTieSelector.select

    def counting(self: object, *args: object) -> object:
        calls.append(1)
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(incremental_selection.SimplexTieSelector, "select", counting)
    rng = np.random.default_rng(23)
    d = 60
    H = _spd(d, rng)
    b = rng.standard_normal(d)
    x_star = np.linalg.solve(H, -b)  # independent of the flow
    sol = fp.solve(
        fp.steepest_descent_flow(fp.Objective.quadratic(H, b), "l1"),
        rng.standard_normal(d),
        (0.0, 1e6),
        max_events=100_000,
    )
    assert sol.status == 1, sol.message
    assert len(calls) == len(sol.events) - 1 or len(calls) >= 100  # the incremental path ran
    np.testing.assert_allclose(sol.x[-1], x_star, rtol=0, atol=1e-9 * np.abs(x_star).max())
    # The greedy flow's speed is 1 in the ℓ1 norm, so it stops no sooner than the ℓ1
    # distance allows... and f decreased all along.
    assert sol.t[-1] >= np.abs(sol.x[0] - x_star).sum() - 1e-9
    f = 0.5 * np.einsum("ij,jk,ik->i", sol.x, H, sol.x) + sol.x @ b
    assert np.all(np.diff(f) <= 1e-12 * np.abs(f).max())


def test_the_condition_gate_keeps_the_direct_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(
        incremental_selection.SimplexTieSelector, "__init__", lambda *a, **k: calls.append(1)
    )
    rng = np.random.default_rng(5)
    H = _spd(8, rng, cond=1e11)  # beyond _exact_path._INCREMENTAL_MAX_COND
    sol = fp.solve(fp.steepest_descent_flow(fp.Objective.quadratic(H), "l1"), np.ones(8), (0, 50))
    assert calls == [] and sol.success


# ------------------------------------------------------------- compact == full storage
def _systems() -> list[tuple[str, fp.FilippovSystem, np.ndarray]]:
    rng = np.random.default_rng(3)
    out = []
    for norm, d in (("linf", 24), ("l1", 16)):
        H = _spd(d, rng)
        b = rng.standard_normal(d)
        out.append(
            (
                norm,
                fp.steepest_descent_flow(fp.Objective.quadratic(H, b), norm),
                rng.standard_normal(d),
            )
        )
    # A scaled sign flow x' ∈ −D Sign(Hx + b), D diagonal ≠ I (G B = H D is a P-matrix):
    # the velocity is not c0 − λ, so it is stored as changes.
    d = 12
    H, b = _spd(d, rng), rng.standard_normal(d)
    system = fp.FilippovSystem.affine(
        np.zeros(d), np.diag(1.0 + rng.random(d)), H, b, "l1", name="scaled sign flow"
    )
    out.append(("scaled", system, rng.standard_normal(d)))
    return out


def _bitwise_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(
        np.ascontiguousarray(a).view(np.int64), np.ascontiguousarray(b).view(np.int64)
    )


@pytest.mark.parametrize(("checkpoints", "t0"), [(None, 0.0), (3, 7.5), ("grid", 0.0)])
def test_compact_solution_is_the_full_solution(
    checkpoints: int | str | None, t0: float, tmp_path: Path
) -> None:
    for name, system, x0 in _systems():
        span = (t0, t0 + 100.0)
        full = fp.solve(system, x0, span)
        cp = np.linspace(t0, t0 + 2.0, 5) if checkpoints == "grid" else checkpoints
        comp = fp.solve(system, x0, span, storage="compact", checkpoints=cp)
        assert isinstance(comp, CompactSolution), name
        assert len(full.events) > 10, name
        assert _bitwise_equal(comp.t, full.t) and _bitwise_equal(comp.x, full.x), name
        ts = np.unique(np.concatenate([full.t, np.linspace(*full.t_span, 257)]))
        assert _bitwise_equal(comp(ts), full(ts)), name
        assert _bitwise_equal(comp(ts[::-1]), full(ts[::-1])), name  # any order
        assert _bitwise_equal(comp(float(ts[5])), full(float(ts[5]))), name
        assert tuple(comp.events) == full.events and tuple(comp.segments) == full.segments
        assert comp.counts == full.counts and comp.status == full.status
        assert comp == full and comp.to_full() == full
        for j in (0, len(full.t) // 2, -1):
            assert _bitwise_equal(comp.state_at_breakpoint(j), full.x[j])
        # save / load: exact
        path = comp.save(tmp_path / f"{name}.npz")
        back = CompactSolution.load(path)
        assert back == comp and _bitwise_equal(back(ts), full(ts))
        # the full-format reader routes a compact file to CompactSolution
        routed = fp.FilippovSolution.load(path)
        assert isinstance(routed, CompactSolution) and routed == comp
        with pytest.raises(ValueError, match="compact"):
            CompactSolution.load(full.save(tmp_path / f"{name}-full.npz"))
        with np.load(path) as data:  # a file with an entry missing is refused by name
            kept = {k: data[k] for k in data.files if k != "lam_val"}
        np.savez(tmp_path / "broken.npz", **kept)
        with pytest.raises(ValueError, match="lam_val"):
            CompactSolution.load(tmp_path / "broken.npz")


def test_compact_storage_keeps_less_than_the_full_solution() -> None:
    rng = np.random.default_rng(11)
    d = 80
    system = fp.steepest_descent_flow(fp.Objective.quadratic(_spd(d, rng)), "linf")
    x0 = rng.standard_normal(d)
    full = fp.solve(system, x0, (0.0, 1e6))
    comp = fp.solve(system, x0, (0.0, 1e6), storage="compact")
    assert isinstance(comp, CompactSolution)
    full_bytes = sum(
        s.dense.x0.nbytes + s.dense.v.nbytes + s.lam.nbytes + 8 * d for s in full.segments
    )
    assert comp.nbytes < 0.5 * full_bytes


def test_compact_storage_bad_arguments() -> None:
    with pytest.raises(TypeError, match="no public constructor"):
        CompactSolution([0.0], [[1.0]], [], [], 0, "")
    system = fp.steepest_descent_flow(fp.Objective.quadratic(np.eye(2)), "linf")
    with pytest.raises(ValueError, match="storage"):
        fp.solve(system, [1.0, 2.0], (0, 1), storage="small")
    with pytest.raises(ValueError, match="exact path"):
        fp.solve(system, [1.0, 2.0], (0, 1), storage="compact", method="events")
    with pytest.raises(ValueError, match="checkpoints"):
        fp.solve(system, [1.0, 2.0], (0, 1), checkpoints=4)
    with pytest.raises(ValueError, match="checkpoints"):
        fp.solve(system, [1.0, 2.0], (0, 1), storage="compact", checkpoints=0)
    with pytest.raises(ValueError, match="checkpoints"):
        fp.solve(system, [1.0, 2.0], (0, 1), storage="compact", checkpoints=[[0.0, 1.0]])


# ------------------------------------------------ the collector after a long exact-path run
def test_a_long_collector_pause_promotes_its_objects_and_freezes_nothing() -> None:
    import gc

    was = gc.isenabled()
    gc.enable()
    gc.collect()  # counts at 0: without the promotion only a young collection would follow
    try:
        with protocol.cyclic_gc_paused():
            assert not gc.isenabled()
            kept = [[] for _ in range(protocol._PROMOTE_AFTER + 10)]
        assert gc.isenabled() and gc.get_freeze_count() == 0
        # The records of the pause went straight to the oldest generation (a young
        # collection would have walked them all, and left them one generation up).
        assert id(kept[0]) in {id(o) for o in gc.get_objects(generation=2)}
        # Objects someone else froze stay frozen; nothing is moved then.
        gc.freeze()
        frozen = gc.get_freeze_count()
        try:
            with protocol.cyclic_gc_paused():
                more = [[] for _ in range(protocol._PROMOTE_AFTER + 10)]
            assert gc.get_freeze_count() == frozen and len(more) > protocol._PROMOTE_AFTER
        finally:
            gc.unfreeze()
    finally:
        if not was:
            gc.disable()
