"""The continuation path on objectives it used to refuse: indefinite Hessians (a neural
network's loss) and nearly singular sliding blocks (duplicated features, a weak ridge).

Checked against a closed form (a crossing where the Hessian's diagonal is negative), the
event path (an independent integrator of the same inclusion) on random networks, Newton's
minimizer, and the invariants of a Filippov solution (velocity in F(x), continuity).
"""

from __future__ import annotations

import numpy as np
import problems as P
import pytest
from test_continuation_path import check_continuity, check_velocities

import filippov as fp
import filippov._continuation_path as cp
from filippov.objectives import Objective, mlp_classifier, mlp_init, ridge_logistic


def test_entry_with_negative_curvature_crosses_as_the_closed_form() -> None:
    # f = −x²/2 + 3xy + y²/2 + 10y, given as callables (the path does not know it is
    # quadratic). From (−1, 0): ∂_x f = 1 − 2t reaches 0 at t = 1/2 while ∂_y f stays
    # above 5. There ∂²_x f = −1 < 0: the vector fields on both sides push ∂_x f through 0
    # (a crossing, with ∂_x f = −4(t − 1/2) after it), never a sliding. The path refused
    # the mode before (status −4: "1-th leading minor ... not positive definite").
    H = np.array([[-1.0, 3.0], [3.0, 1.0]])
    b = np.array([0.0, 10.0])
    obj = Objective(
        lambda x: 0.5 * x @ H @ x + b @ x, lambda x: H @ x + b, lambda x: H, n=2, name="saddle"
    )
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"), [-1.0, 0.0], (0.0, 2.0), method="continuation"
    )
    assert sol.status == 0, sol.message
    assert [(e.kind, e.indices) for e in sol.events] == [("crossing", (0,))]
    assert sol.events[0].t == pytest.approx(0.5, abs=1e-12)
    ts = np.linspace(0.0, 2.0, 41)
    closed = np.column_stack([np.where(ts <= 0.5, -1.0 - ts, -2.0 + ts), -ts])
    np.testing.assert_allclose(sol(ts), closed, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 5])
def test_network_flow_matches_the_event_path_through_repelling_entries(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tanh network on random data (24 parameters): its Hessian is indefinite along the
    # way, and an entry whose Schur complement in the sliding block is negative crosses
    # (seeds 0 and 5 have two and one such entries). The path ended −4 at the first
    # before; the event path integrates the same inclusion independently.
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 3, 40)
    obj = mlp_classifier(X, y, hidden=3, weight_decay=1e-2)
    x0 = mlp_init(3, 3, hidden=3, seed=seed)
    repelled: list[int] = []
    found = cp._repelled

    def counted(*args: object) -> list[int]:
        out = found(*args)  # type: ignore[arg-type]
        repelled.extend(out)
        return out

    monkeypatch.setattr(cp, "_repelled", counted)
    system = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(system, x0, (0.0, 20.0), method="continuation")
    ref = fp.solve(system, x0, (0.0, 20.0), method="events")
    assert repelled, "no repelling entry: the case does not test the crossing"
    assert sol.status == ref.status == 1, sol.message
    assert [e.indices for e in sol.events] == [e.indices for e in ref.events]
    np.testing.assert_allclose(
        [e.t for e in sol.events], [e.t for e in ref.events], rtol=0, atol=1e-8
    )
    ts = np.linspace(0.0, sol.events[-1].t, 101)
    np.testing.assert_allclose(sol(ts), ref(ts), rtol=0, atol=1e-8)
    assert np.abs(obj.grad(sol.x[-1])).max() <= 1e-12
    check_velocities(obj, sol)
    check_continuity(sol)


def duplicated_features(lam: float, seed: int) -> tuple[Objective, np.ndarray]:
    """Ridge logistic regression whose last two features repeat the first two: the sliding
    block is singular but for the ridge ``lam``."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((60, 6))
    A = np.hstack([A, A[:, :2]])
    y = np.where(rng.standard_normal(60) + A[:, 0] > 0, 1.0, -1.0)
    return ridge_logistic(A, y, lam), rng.standard_normal(8)


@pytest.mark.parametrize(("lam", "seed"), [(1e-6, 0), (1e-6, 1), (1e-6, 2), (1e-8, 1), (1e-8, 2)])
def test_nearly_singular_block_matches_the_event_path_and_newton(lam: float, seed: int) -> None:
    # The block's smallest eigenvalue is ~lam. An entry leaves the state on the old curve
    # with the arrived partial zero to its tolerance r, and the new curve is r/lam away:
    # above the state's tolerance, so the new mode's first step had that error whatever
    # its size, and 4 of these 5 runs ended −1 ("the step size fell to rounding", "the
    # corrector did not converge"). The start is now moved onto its curve once the error
    # is seen not to fall with the step, and a corrector converges where Newton's
    # corrections stop contracting below the tolerance (the curve's own rounding).
    obj, x0 = duplicated_features(lam, seed)
    system = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(system, x0, (0.0, 30.0), method="continuation")
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol.x[-1], P.newton_minimizer(obj, 8), rtol=0, atol=1e-8)
    ref = fp.solve(system, x0, (0.0, 30.0), method="events")
    assert ref.status == 1
    assert [e.indices for e in sol.events] == [e.indices for e in ref.events]
    ts = np.linspace(0.0, min(sol.events[-1].t, ref.events[-1].t), 201)
    np.testing.assert_allclose(sol(ts), ref(ts), rtol=0, atol=1e-8)
    check_velocities(obj, sol)
    # The state may jump at an entry, by the arrived partial's zero tolerance over lam
    # (1e-12 of the gradient's scale / 1e-6, here up to 2e-7): duplicated features arrive
    # together when their partials, which differ by lam·(x_a − x_b), are both zero to that
    # tolerance, and their curve has x_a = x_b. The event path (its projection) jumps the
    # same way: the two agree to 1e-8 above.
    for a, b in zip(sol.segments[:-1], sol.segments[1:], strict=True):
        xa, xb = a.dense(np.array([a.t1]))[0], b.dense(np.array([b.t0]))[0]
        assert np.abs(xa - xb).max() <= 1e-12 * float(np.abs(obj.grad(x0)).max()) / lam


def test_a_start_too_far_off_its_curve_fails_and_says_why() -> None:
    # At lam = 1e-8 this case's start is 1.6e-5 off its curve after an entry: beyond 1e4
    # tolerances it is not moved (a start that far off is no rounding of the entry), and
    # the run fails -- saying so, not guessing "a discontinuity of the gradient?".
    obj, x0 = duplicated_features(1e-8, 0)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 30.0), method="continuation")
    assert sol.status == -1
    assert "off its curve" in sol.message and "nearly singular" in sol.message
    assert 1.29 < sol.t[-1] < 1.30 and len(sol.events) == 5
