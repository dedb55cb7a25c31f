"""The ℓ1 flow's tie modes on a ridge linear model: the ridge proves a tie attracting
(``κ ≥ λ`` where every weight ``ℓ''(Bx)/m`` is nonnegative) without the dense block and
its eigenvalue problem, which took 36 % of a d = 200 ridge-logistic ℓ1 run; and the tie
corrector takes ``∂_T f`` from the tie's columns, not the whole gradient by two passes over
all the data at each iteration (70 % of a d = 1000 run)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import filippov as fp
from filippov import _tie_continuation
from filippov._continuation_path import _LinearModel
from filippov._tie_continuation import _ridge_proves_attracting
from filippov._tie_repelling import tangent_curvature
from filippov.objectives import linear_model


def _model(loss: str, lam: float, seed: int, m: int = 40, n: int = 12) -> Any:
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) * 10.0 ** rng.uniform(-1, 1, n)
    if loss == "poisson":
        y = rng.poisson(2.0, m).astype(float)
    elif loss == "logistic":
        y = np.sign(rng.standard_normal(m))
    else:
        y = rng.standard_normal(m)
    return linear_model(A, y, lam, loss=loss), rng


@settings(max_examples=60, deadline=None)
@given(
    loss=st.sampled_from(["logistic", "poisson", "squared", "logcosh"]),
    lam=st.sampled_from([1e-15, 1e-6, 1e-2, 1.0]),
    seed=st.integers(0, 10_000),
)
def test_the_ridges_proof_agrees_with_the_tangent_curvature(
    loss: str, lam: float, seed: int
) -> None:
    obj, rng = _model(loss, lam, seed)
    lm = _LinearModel(obj._linear_model)
    T = np.sort(rng.choice(obj.n, size=int(rng.integers(2, obj.n + 1)), replace=False))
    sT = rng.choice([-1.0, 1.0], size=T.size)
    x = rng.standard_normal(obj.n) * 0.3
    proved = _ridge_proves_attracting(SimpleNamespace(block=SimpleNamespace(lm=lm), T=T), x)
    # κ from the objective's own dense Hessian (not the linear model's columns)
    kappa = tangent_curvature(obj.hess(x)[np.ix_(T, T)], sT)
    if proved:
        assert kappa > 0.0 and kappa >= lam * (1.0 - 1e-6)
    # A ridge well above the rounding of the block proves it (a convex loss whose weights
    # are bounded: ℓ'' ≤ 1 for these three, so the bound is at most ‖B‖_F²/m ≈ 1e3 here;
    # a Poisson model's exp(z) weights are not bounded)
    if lam >= 1e-6 and loss != "poisson":
        assert proved


def test_a_nonconvex_loss_or_no_ridge_is_left_to_the_curvature() -> None:
    cauchy = fp.objectives.GLMLoss(
        value=lambda z, y: np.log1p((z - y) ** 2),
        first=lambda z, y: 2 * (z - y) / (1 + (z - y) ** 2),
        second=lambda z, y: 2 * (1 - (z - y) ** 2) / (1 + (z - y) ** 2) ** 2,
        name="cauchy",
    )
    rng = np.random.default_rng(3)
    A, y = rng.standard_normal((30, 6)), 5.0 * rng.standard_normal(30)
    T = np.arange(4)
    labels = np.sign(y)
    for obj in (
        linear_model(A, y, 0.1, loss=cauchy),
        linear_model(A, labels, 0.0, loss="logistic"),
    ):
        lm = _LinearModel(obj._linear_model)
        tm = SimpleNamespace(block=SimpleNamespace(lm=lm), T=T)
        assert not _ridge_proves_attracting(tm, np.zeros(6))


def _ridge_logistic_d120() -> tuple[Any, np.ndarray]:
    """A ridge logistic regression (d = 120, m = 600, λ = 0.1) and a start ``x0 ~ N(0, I)``."""
    rng = np.random.default_rng(120)
    A = rng.standard_normal((600, 120))
    y = np.sign(A @ rng.standard_normal(120) + rng.standard_normal(600))
    return fp.objectives.ridge_logistic(A, y, 0.1), rng.standard_normal(120)


def test_an_l1_run_of_a_ridge_model_solves_no_eigenvalue_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # d = 120: the tie blocks past |T| = 34 are solved by conjugate gradients, whose
    # points carry no factor that proves the tie attracting; κ was evaluated at the
    # first and last point of each such mode (an eigenvalue problem each, 175 of them).
    obj, x0 = _ridge_logistic_d120()
    calls = []

    def counted(H: Any, s: Any) -> float:
        calls.append(H.shape[0])
        return tangent_curvature(H, s)

    monkeypatch.setattr(_tie_continuation, "tangent_curvature", counted)
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "l1"),
        x0,
        (0.0, 1e4),
        method="continuation",
        rtol=1e-8,
        atol=1e-10,
    )
    assert sol.status == 1, sol.message
    assert calls == []
    assert np.abs(obj.grad(sol.x[-1])).max() <= 1e-12
    assert not any(e.kind == "repulsive" for e in sol.events)


def test_the_tie_corrector_reads_the_ties_columns_not_all_the_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    obj, x0 = _ridge_logistic_d120()
    passes = {"grad": 0, "z": 0}
    whole_gradient, whole_z = _LinearModel.grad, _LinearModel.z

    def counted_gradient(self: Any, x: Any, z: Any) -> Any:
        passes["grad"] += 1
        return whole_gradient(self, x, z)

    def counted_z(self: Any, x: Any) -> Any:
        passes["z"] += self.zs.get(x.tobytes()) is None  # (a pass: not remembered)
        return whole_z(self, x)

    monkeypatch.setattr(_LinearModel, "grad", counted_gradient)
    monkeypatch.setattr(_LinearModel, "z", counted_z)
    flow = fp.steepest_descent_flow(obj, "l1")
    sol = fp.solve(flow, x0, (0.0, 1e4), method="continuation", rtol=1e-8, atol=1e-10)
    assert sol.status == 1, sol.message
    # (before: 2 102 whole gradients and 2 331 passes for B x in 124 events, one each per
    # corrector iteration; now a pass for B x per mode's start and a few more)
    assert passes["grad"] <= 20 and passes["z"] <= 3 * len(sol.events)
    # The same solution as the objective's own gradient gives: the minimizer, and a
    # velocity on the ℓ1 flow's face at sampled times (only the largest partials move).
    x_star = sol.x[-1]
    assert np.abs(obj.grad(x_star)).max() <= 1e-12
    for k in range(0, len(sol.t) - 1, max(1, len(sol.t) // 40)):
        t0, t1 = sol.t[k], sol.t[k + 1]
        if t1 - t0 <= 1e-9:
            continue
        tm = 0.5 * (t0 + t1)
        v = (sol(tm + 1e-7 * (t1 - t0)) - sol(tm - 1e-7 * (t1 - t0))) / (2e-7 * (t1 - t0))
        g = obj.grad(sol(tm))
        assert float(g @ v) <= -0.99 * np.abs(g).max()  # (−‖∇f‖∞ ‖v‖₁ with ‖v‖₁ = 1)
        assert np.abs(v).sum() <= 1.0 + 1e-4


def test_a_join_is_located_from_one_solve_and_without_a_tangent_solve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A join's root search corrects each iterate to rounding. The iterates after the first
    # start from the last solved point's error (`_curve_point`'s anchor), which takes one
    # correction, not the three or four from the step's interpolant; the join's point
    # takes the interpolants' tangent when the secant confirms a simple root
    # (`_join_point`), not a tangent solve and a pass over all the data. (Before: 4.6
    # gradients at every iterate and a tangent solve at every join; on the d = 1000
    # benchmark about a third of an ℓ1 run.)
    obj, x0 = _ridge_logistic_d120()
    counts = {"iterates": 0, "later": 0, "later_gradients": 0, "join_tangents": 0}
    inside: list[str] = []
    curve_point, refine_join = _tie_continuation._curve_point, _tie_continuation._refine_join
    gradient, point = _tie_continuation._TieMode._gradient, _tie_continuation._TieMode.point

    def counted_curve_point(*args: Any, **kwargs: Any) -> Any:
        counts["iterates"] += 1
        later = args[6] is not None if len(args) > 6 else kwargs.get("anchor") is not None
        inside.append("later" if later else "first")
        try:
            return curve_point(*args, **kwargs)
        finally:
            inside.pop()
            counts["later"] += later

    def counted_refine_join(*args: Any, **kwargs: Any) -> Any:
        inside.append("join")
        try:
            return refine_join(*args, **kwargs)
        finally:
            inside.pop()

    def counted_gradient(self: Any, *args: Any) -> Any:
        counts["later_gradients"] += bool(inside) and inside[-1] == "later"
        return gradient(self, *args)

    def counted_point(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["join_tangents"] += bool(inside) and inside[-1] == "join"
        return point(self, *args, **kwargs)

    monkeypatch.setattr(_tie_continuation, "_curve_point", counted_curve_point)
    monkeypatch.setattr(_tie_continuation, "_refine_join", counted_refine_join)
    monkeypatch.setattr(_tie_continuation._TieMode, "_gradient", counted_gradient)
    monkeypatch.setattr(_tie_continuation._TieMode, "point", counted_point)
    flow = fp.steepest_descent_flow(obj, "l1")
    sol = fp.solve(flow, x0, (0.0, 1e4), method="continuation", rtol=1e-8, atol=1e-10)
    assert sol.status == 1, sol.message
    joins = sum(e.kind == "tie-entry" for e in sol.events)
    assert joins >= 100
    assert counts["later"] >= joins // 2  # (the anchored iterates are exercised)
    assert counts["later_gradients"] <= 2.2 * counts["later"]  # (was 4.6 per iterate)
    assert counts["join_tangents"] <= joins // 20
    monkeypatch.undo()
    # The same events as the path solving every iterate from the interpolant and every
    # join's tangent gives at a tight tolerance (independent of both shortcuts' errors),
    # and the minimizer.
    tight = fp.solve(flow, x0, (0.0, 1e4), method="continuation", rtol=1e-12, atol=1e-14)
    assert [e.kind for e in sol.events] == [e.kind for e in tight.events]
    np.testing.assert_allclose(
        [e.t for e in sol.events], [e.t for e in tight.events], rtol=0.0, atol=1e-7
    )
    ts = np.linspace(0.0, tight.events[-1].t, 400)
    np.testing.assert_allclose(sol(ts), tight(ts), rtol=0.0, atol=1e-7)
    assert np.abs(obj.grad(sol.x[-1])).max() <= 1e-12
