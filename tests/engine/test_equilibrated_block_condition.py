"""The continuation path judges its sliding block's conditioning after equilibration.

Whether a block's solves are determined to double precision (`singular_to_precision`:
a selection refused −4, a rest flagged not unique) was read off the raw pivot ratio of its
Cholesky factor, ``(max L_ii / min L_ii)²``, which carries the spread of the block's
diagonal: columns scaled by 1e-3 … 1e3 spread it by 1e12 although the block, scaled to
unit diagonal (``D H D``, ``D = diag(H)^(−1/2)``), has condition ~100, and the rounding
its solves see is relative to each index's own scale (see `_pivot_condition`).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

import filippov as fp
from filippov._continuation_path import _pivot_condition
from filippov.objectives import Objective, rotated_quadratic


def _scaled_quadratic(
    n: int, seed: int, scales: np.ndarray | None = None
) -> tuple[Objective, np.ndarray, np.ndarray]:
    """``½(x − c)ᵀ S Hb S (x − c)``, ``Hb`` of spectrum 1 … 100 (rotated), ``S =
    diag(scales)`` (by default ``10**U(−3, 3)``, with 1e3 and 1e-3 among them): the
    equilibrated Hessian is ``Hb`` equilibrated (condition ≤ 100). Also a start ``x0``."""
    rng = np.random.default_rng(seed)
    if scales is None:
        scales = 10.0 ** rng.uniform(-3.0, 3.0, n)
        scales[:2] = 1e3, 1e-3
        rng.shuffle(scales)
    base = rotated_quadratic(np.geomspace(1.0, 100.0, n), seed=seed).quadratic_data[0]
    H = base * np.outer(scales, scales)
    c = rng.standard_normal(n) / scales
    # (callables, not `Objective.quadratic`: "auto" would take the exact path)
    obj = Objective(
        f=lambda x: 0.5 * float((x - c) @ H @ (x - c)),
        grad=lambda x: H @ (x - c),
        hess=lambda x: H,
        n=n,
    )
    return obj, c, rng.standard_normal(n) / scales


def _scaled_error(obj: Objective, x: np.ndarray, c: np.ndarray) -> float:
    """``max |x − c|`` on each component's scale ``diag(H)^(−1/2)``, relative to ``c``'s."""
    d = 1.0 / np.sqrt(np.diag(obj.hess(c)))
    return float(np.max(np.abs((x - c) / d)) / np.max(np.abs(c / d)))


def test_the_pivot_condition_does_not_see_a_diagonal_scaling() -> None:
    rng = np.random.default_rng(0)
    base = rotated_quadratic(np.geomspace(1.0, 100.0, 12), seed=1).quadratic_data[0]
    scales = 10.0 ** rng.uniform(-3.0, 3.0, 12)
    unscaled = _pivot_condition(scipy.linalg.cholesky(base, lower=True))
    scaled = _pivot_condition(scipy.linalg.cholesky(base * np.outer(scales, scales), lower=True))
    assert 1.0 <= unscaled <= np.linalg.cond(base)  # (a lower bound)
    assert scaled == pytest.approx(unscaled, rel=1e-9)
    # (a zero pivot is still infinite; a duplicated row at any scale is at rounding)
    dup = np.array([[1.0, 1e3], [1e3, 1e6]])
    assert _pivot_condition(np.array([[1.0, 0.0], [1e3, 0.0]])) == np.inf
    assert _pivot_condition(np.linalg.cholesky(dup + np.diag([0.0, 1e-9]))) > 1e13


@pytest.mark.parametrize("seed", [5, 30])
@pytest.mark.parametrize("method", ["continuation", "auto"])
def test_a_badly_scaled_quadratic_is_not_refused_as_singular(seed: int, method: str) -> None:
    # Equilibrated condition below 100: the raw pivots estimated 1.3e13 (seed 5; 1.1e13
    # seed 30) and the run ended −4, "the sliding block ... is singular to double
    # precision", at t = 616 (the rest is at t = 780; seed 30: 259 and 272).
    obj, c, x0 = _scaled_quadratic(10, seed)
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, x0, (0.0, 5e3), method=method, rtol=1e-8)
    assert sol.status == 1, sol.message
    assert sol.method == "continuation"  # (not the event path after a −4)
    assert sol.events[-1].kind == "stationary" and sol.events[-1].unique
    assert _scaled_error(obj, sol.x[-1], c) < 1e-12


def test_a_badly_scaled_quadratic_rests_unique() -> None:
    # Columns scaled from 1e3 down to 1e-3: the rest (at the minimizer, a positive definite
    # Hessian of equilibrated condition below 100) was recorded ``unique=False`` with the
    # note "the Hessian is singular here (a valley of minimizers, or a saddle)".
    obj, c, _ = _scaled_quadratic(10, 0, np.geomspace(1e3, 1e-3, 10))
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, np.zeros(10), (0.0, 5e3), method="continuation", rtol=1e-8)
    assert sol.status == 1, sol.message
    rest = sol.events[-1]
    assert rest.kind == "stationary" and rest.unique, rest.note
    assert "singular" not in sol.message
    assert _scaled_error(obj, sol.x[-1], c) < 1e-12


def test_a_scaled_near_duplicate_is_singular_to_precision_and_not_split_by_rounding() -> None:
    # Columns 1e-3·e0 + 1e3·e1 and (1 + 1e-7)·1e-3·e0 + 1e3·e1: collinear to 1e-7 at scales
    # 1e-3 and 1e3. Equilibrated, the block {0, 1} is as near singular (condition ~1e14) as
    # an unscaled near-duplicate's.
    from filippov._certify import MAX_CONDITION
    from filippov._continuation_path import _pivot_condition

    obj = Objective.from_expr(
        "0.5*(1e-3*x0 + 1e3*x1)**2 + 0.5*(1.0000001e-3*x0 + 1e3*x1 + x2)**2", ["x0", "x1", "x2"]
    )
    block = np.asarray(obj.hess(np.zeros(3)))[np.ix_([1, 0], [1, 0])]
    assert _pivot_condition(np.linalg.cholesky(block)) > MAX_CONDITION
    # On index 1's curve (r1 = -r2 for the two residuals) ∂_0 f = 1e-10·r2 and ∂_2 f = r2:
    # indices 0 and 2 arrive together, at the minimum (f = 0), and no mode slides on the
    # singular block. (Index 0's guard moves at 1e-10 of the others' rates; read on points
    # within the corrector's tolerance it crossed zero 3e-8 early, and the run was refused
    # −4 on the block {1, 0}. Its entry is now located on points corrected to rounding.)
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, [1e3, 0.5e-3, 2.0], (0.0, 5e3), method="continuation")
    assert sol.status == 1, sol.message
    assert [e.indices for e in sol.events] == [(1,), (0, 2), (0, 1, 2)]
    assert obj.f(np.asarray(sol.x[-1])) <= 1e-20
    assert "singular" in sol.events[-1].note
