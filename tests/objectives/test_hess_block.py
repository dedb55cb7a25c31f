"""The square Hessian blocks the continuation path factors (``Objective.eval_hess_block``):
equal to the dense Hessian's block for every kind of objective, and formed without the
``k × n`` rows for sparse and operator Hessians."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import filippov as fp
from filippov.objectives import Objective, linear_model, ridge_logistic, smooth_max

_N = 12
_M = np.random.default_rng(7).standard_normal((_N, _N))
_SPD = _M @ _M.T + _N * np.eye(_N)


def _quartic(hess: Callable[[np.ndarray], object] | None, hvp: bool = False) -> Objective:
    """``f = ½xᵀPx + ¼Σx⁴``: its Hessian ``P + 3 diag(x²)`` given dense, sparse, as an
    operator, or only through products."""

    def exact(x: np.ndarray) -> np.ndarray:
        return _SPD + np.diag(3.0 * x**2)

    kwargs: dict[str, object] = {}
    if hvp:
        kwargs["hvp"] = lambda x, v: exact(x) @ v
    return Objective(
        lambda x: 0.5 * x @ _SPD @ x + 0.25 * np.sum(x**4),
        lambda x: _SPD @ x + x**3,
        (lambda x: hess(exact(x))) if hess is not None else None,
        n=_N,
        **kwargs,
    )


def _families() -> dict[str, Objective]:
    rng = np.random.default_rng(3)
    A = sp.random_array((80, _N), density=0.3, rng=rng, format="csr")
    labels = np.where(rng.random(80) < 0.5, 1.0, 0.0)
    names = " ".join(f"x{i}" for i in range(_N))
    expr = " + ".join(f"cosh(x{i} - x{(i + 1) % _N}/2)" for i in range(_N))
    return {
        "dense": _quartic(lambda H: H),
        "sparse": _quartic(lambda H: sp.csr_array(H)),
        "operator": _quartic(lambda H: spla.aslinearoperator(H)),
        "hvp only": _quartic(None, hvp=True),
        "sparse logistic": ridge_logistic(A, labels, 0.1),
        "sparse poisson": linear_model(A, rng.poisson(1.5, 80).astype(float), 0.05, "poisson"),
        "dense logistic": ridge_logistic(A.toarray(), labels, 0.1),
        "smooth max": smooth_max(rng.standard_normal((6, _N)), rng.standard_normal(6), 0.5),
        "expression": Objective.from_expr(expr, names.split()),
    }


@pytest.mark.parametrize("family", list(_families()))
def test_the_block_is_the_dense_hessians_block(family: str) -> None:
    obj = _families()[family]
    rng = np.random.default_rng(11)
    for k in (1, 3, 7, _N):
        x = rng.standard_normal(_N)
        rows = rng.permutation(_N)[:k].astype(np.intp)  # (any order, as sliding sets grow)
        H = obj.hess(x)
        block = obj.eval_hess_block(x, rows)
        assert block.shape == (k, k)
        np.testing.assert_allclose(
            block, H[np.ix_(rows, rows)], rtol=1e-12, atol=1e-12 * np.abs(H).max()
        )


def test_a_sparse_hessians_block_is_formed_without_its_rows() -> None:
    # k = 400 rows of a 20 000 × 20 000 sparse Hessian are 64 MB dense; the block 1.3 MB.
    n, k = 20_000, 400
    diag = np.linspace(1.0, 2.0, n)
    H = sp.diags_array([diag, np.full(n - 1, 0.1), np.full(n - 1, 0.1)], offsets=[0, 1, -1])
    H = H.tocsr()
    obj = Objective(lambda x: 0.5 * x @ (H @ x), lambda x: H @ x, lambda x: H, n=n)
    rows = np.arange(0, 2 * k, 2, dtype=np.intp)
    x = np.zeros(n)
    obj.eval_hess_block(x, rows[:3])  # (imports and first-call allocations not counted)
    tracemalloc.start()
    try:
        block = obj.eval_hess_block(x, rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < k * n * 8 / 10, peak
    np.testing.assert_array_equal(np.diag(block), diag[rows])
    assert np.count_nonzero(block) == k  # (every second index: no neighbours inside)


def test_flows_with_sparse_and_operator_hessians_match_the_dense_flow() -> None:
    # The continuation path factors the blocks: the same events, whatever form the
    # Hessian has (the dense form's own run is the reference).
    x0 = np.random.default_rng(5).standard_normal(_N)
    runs = {}
    for family in ("dense", "sparse", "operator"):
        flow = fp.steepest_descent_flow(_families()[family], "linf")
        sol = fp.solve(flow, x0, (0.0, 20.0), method="continuation", rtol=1e-10, atol=1e-12)
        assert sol.status == 1, (family, sol.message)
        runs[family] = sol
    ref = runs["dense"]
    for family in ("sparse", "operator"):
        sol = runs[family]
        assert [e.kind for e in sol.events] == [e.kind for e in ref.events]
        np.testing.assert_allclose([e.t for e in sol.events], [e.t for e in ref.events], atol=1e-9)
        np.testing.assert_allclose(sol.x[-1], ref.x[-1], atol=1e-9)
        assert np.abs(_SPD @ sol.x[-1] + sol.x[-1] ** 3).max() < 1e-8  # (the minimizer: 0)
