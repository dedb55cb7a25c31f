"""``ridge_logistic`` and ``linear_model`` on scipy.sparse data.

The sparse objective against the same objective built from the dense matrix (made dense
here, in the test only): values, derivatives, Hessian rows and whole Hessians, flows and
their events. A guard that the library never makes the data dense: a sparse matrix that
refuses to be made dense, and the traced memory of every operation (and of a solve)
bounded far below one dense copy of the data.
"""

from __future__ import annotations

import pickle
import tracemalloc
from typing import Any

import numpy as np
import problems as P
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import filippov as fp
from filippov.objectives import Objective, linear_model, ridge_logistic


def _sparse_data(
    m: int, n: int, density: float, seed: int, fmt: str = "csr", empty: bool = False
) -> sp.sparray:
    """Random sparse ``(m, n)`` data; with ``empty``, two rows and two columns of zeros."""
    rng = np.random.default_rng(seed)
    A = sp.random_array((m, n), density=density, rng=rng, format="lil")
    if empty:
        A[[0, m // 2], :] = 0.0
        A[:, [1, n - 1]] = 0.0
    return A.asformat(fmt)


def _targets(loss: str, m: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 100)
    if loss == "logistic":
        return np.where(rng.standard_normal(m) > 0, 1.0, 0.0)  # 0/1 labels: mapped to ±1
    if loss == "poisson":
        return rng.poisson(1.5, m).astype(float)
    return 2.0 * rng.standard_normal(m)


def _build(kind: str, A: Any, y: np.ndarray, lam: float) -> Objective:
    if kind == "ridge_logistic":
        return ridge_logistic(A, y, lam)
    return linear_model(A, y, lam, loss=kind)


def _close(actual: Any, expected: Any) -> None:
    """Equal to ~1e-12 relative to the size of ``expected`` (rounding of sums of products
    in another order; a wrong weight, sign or scale is far off)."""
    expected = np.asarray(expected)
    scale = float(np.max(np.abs(expected))) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-13 * scale)


@pytest.mark.parametrize(
    ("kind", "shape", "density", "fmt", "empty"),
    [
        ("ridge_logistic", (60, 25), 0.1, "csr", True),
        ("ridge_logistic", (15, 40), 0.3, "coo", False),
        ("logistic", (80, 30), 0.05, "csc", True),
        ("poisson", (70, 20), 0.15, "csr", True),
        ("squared", (30, 30), 0.02, "coo", False),
        ("logcosh", (50, 12), 0.5, "csc", True),
    ],
)
def test_sparse_data_matches_the_dense_objective(
    kind: str, shape: tuple[int, int], density: float, fmt: str, empty: bool
) -> None:
    m, n = shape
    A = _sparse_data(m, n, density, seed=m + n, fmt=fmt, empty=empty)
    y = _targets("logistic" if kind == "ridge_logistic" else kind, m, seed=n)
    sparse = _build(kind, A, y, 0.2)
    dense = _build(kind, A.toarray(), y, 0.2)
    assert sparse.name == dense.name
    # the sparse one leaves the continuation path's dense column products alone
    assert sparse._linear_model is None and dense._linear_model is not None
    rng = np.random.default_rng(7)
    for _ in range(3):
        x = rng.standard_normal(n)
        v = rng.standard_normal(n)
        _close(sparse.f(x), dense.f(x))
        _close(sparse.grad(x), dense.grad(x))
        _close(sparse.hvp(x, v), dense.hvp(x, v))
        H = dense.hess(x)
        operator = sparse._hess(x)  # the Hessian callable: an operator, never a matrix
        assert isinstance(operator, spla.LinearOperator) and operator.shape == (n, n)
        _close(operator @ v, H @ v)
        _close(operator @ np.column_stack([v, x]), H @ np.column_stack([v, x]))
        _close(sparse.hess(x), H)  # made dense only when asked for
        rows = np.array([n - 1, 0, 1, n // 2])  # (1 and n − 1 are empty columns)
        _close(sparse.hess_rows(x, rows), H[rows])
        _close(sparse.hess_rows(x, rows[:0]), H[:0])
        X = rng.standard_normal((4, n))
        _close(sparse.grad_batch(X), dense.grad_batch(X))
    if empty:
        # an empty column j: f is (λ/2)x_j² + terms free of x_j, so ∂_j f = λ x_j and
        # row j of the Hessian is λ e_j, exactly
        np.testing.assert_array_equal(sparse.grad(x)[[1, n - 1]], 0.2 * x[[1, n - 1]])
        np.testing.assert_array_equal(sparse.hess_rows(x, np.array([1])), 0.2 * np.eye(n)[[1]])
    assert sparse.check_derivatives(x, dense=True).ok


def test_sparse_objectives_pickle_as_their_recipe() -> None:
    A = _sparse_data(40, 15, 0.2, seed=3, fmt="coo")
    y = _targets("logistic", 40, seed=3)
    x = np.linspace(-1.0, 1.0, 15)
    for obj in (ridge_logistic(A, y, 0.1), linear_model(A, 0.5 * (y + 1.0), 0.1, "poisson")):
        back = pickle.loads(pickle.dumps(obj))
        assert back.name == obj.name and back._linear_model is None
        assert sp.issparse(back._recipe[1][0])  # the data stays sparse in the pickle
        assert back.f(x) == obj.f(x)
        np.testing.assert_array_equal(back.grad(x), obj.grad(x))
        np.testing.assert_array_equal(back.hvp(x, x), obj.hvp(x, x))
    # the older matrix classes (csr_matrix, lil_matrix, ...) are taken as well
    for old_class in (sp.csr_matrix, sp.lil_matrix, sp.dok_matrix):
        as_matrix = ridge_logistic(old_class(A), y, 0.1)
        _close(as_matrix.grad(x), ridge_logistic(A, y, 0.1).grad(x))
        _close(as_matrix.hess(x), ridge_logistic(A.toarray(), y, 0.1).hess(x))


def test_bad_sparse_data_is_refused_with_a_named_culprit() -> None:
    A = _sparse_data(10, 4, 0.5, seed=1)
    y = np.ones(10)
    bad = A.copy()
    bad.data[2] = np.nan
    with pytest.raises(ValueError, match="`A` must be finite"):
        ridge_logistic(bad, y, 0.1)
    bad.data[2] = np.inf
    with pytest.raises(ValueError, match="`A` must be finite"):
        linear_model(bad, y, 0.1, "squared")
    with pytest.raises(ValueError, match="`y` must have length 10"):
        ridge_logistic(A, np.ones(9), 0.1)
    with pytest.raises(ValueError, match="at least one row and column"):
        linear_model(sp.csr_array((0, 4)), np.ones(0), 0.1, "squared")
    with pytest.raises(ValueError, match="at least one row and column"):
        ridge_logistic(sp.csr_array((3, 0)), np.ones(3), 0.1)
    with pytest.raises(TypeError, match="`A` must be an array of real numbers"):
        linear_model(A.astype(complex), y, 0.1, "squared")
    with pytest.raises(ValueError, match="2-D"):
        linear_model(sp.coo_array(np.ones(4)), np.ones(4), 0.1, "squared")
    with pytest.raises(ValueError, match="`y` must hold labels"):
        ridge_logistic(A, np.arange(10.0), 0.1)
    # integer and boolean data are taken as floats; the caller's matrix is not modified
    ints = sp.csr_array(np.array([[1, 0], [0, 2], [3, 0]]))
    obj = linear_model(ints, [1.0, 2.0, 0.0], 0.0, "squared")
    np.testing.assert_array_equal(obj.grad([0.0, 0.0]), [-1.0 / 3.0, -4.0 / 3.0])
    before = A.copy()
    ridge_logistic(A, np.where(np.arange(10) % 2, 1.0, -1.0), 0.1).grad(np.ones(4))
    np.testing.assert_array_equal(A.data, before.data)


class _NoDense(sp.csr_array):
    """A CSR array that refuses every way of being made dense."""

    def toarray(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the data was made dense (toarray)")

    def todense(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the data was made dense (todense)")

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the data was made dense (__array__)")


def test_the_data_is_never_made_dense() -> None:
    # m·n·8 = 38 MB for a dense copy of A; every operation, and a whole continuation
    # solve of the sign flow, must stay far below it: what they keep is O(m + n²), a few
    # vectors of the samples (0.5 MB each). An (m, n) temporary anywhere fails.
    m, n = 60_000, 80
    A = _NoDense(_sparse_data(m, n, 0.01, seed=11))
    with pytest.raises(AssertionError, match="made dense"):
        np.asarray(A)  # (the guard itself works)
    y = _targets("logistic", m, seed=11)
    dense_bytes = m * n * 8
    rng = np.random.default_rng(0)
    x, v = rng.standard_normal(n), rng.standard_normal(n)
    # (a small solve first: the modules a solve imports are not counted)
    small = ridge_logistic(_sparse_data(30, 3, 0.5, seed=1), _targets("logistic", 30, 1), 0.1)
    fp.solve(fp.steepest_descent_flow(small, "linf"), np.ones(3), (0.0, 5.0))
    small.hess(np.ones(3))
    tracemalloc.start()
    try:
        obj = ridge_logistic(A, y, 0.05)
        poisson = linear_model(A, _targets("poisson", m, seed=1), 0.05, "poisson")
        # what the objectives keep: copies of the sparse data and vectors of the samples
        kept, peak_build = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for o in (obj, poisson):
            o.f(x)
            o.grad(x)
            o.hvp(x, v)
            o._hess(x) @ v
            o.hess_rows(x, np.arange(0, n, 7))
            o.grad_batch(np.vstack([x, v]))
            o.hess(x)
        peak_ops = tracemalloc.get_traced_memory()[1] - kept
        tracemalloc.reset_peak()
        sol = fp.solve(
            fp.steepest_descent_flow(obj, "linf"), np.zeros(n), (0.0, 5.0), method="continuation"
        )
        peak_solve = tracemalloc.get_traced_memory()[1] - kept
    finally:
        tracemalloc.stop()
    assert sol.status == 1, sol.message
    assert peak_build < dense_bytes / 4, peak_build
    assert peak_ops < dense_bytes / 4, peak_ops
    assert peak_solve < dense_bytes / 4, peak_solve


@pytest.mark.parametrize(
    ("kind", "norm", "n"),
    # (n = 150: blocks beyond 64 indices, which the sparse form keeps as a single-precision
    # inverse grown in place and the dense form as a linear model's)
    [("ridge_logistic", "linf", 60), ("ridge_logistic", "linf", 150), ("poisson", "l1", 20)],
)
def test_flows_on_sparse_data_match_the_dense_flows(kind: str, norm: str, n: int) -> None:
    m = 400 if norm == "linf" else 200
    A = _sparse_data(m, n, 0.1, seed=5)
    y = _targets("logistic" if kind == "ridge_logistic" else kind, m, seed=5)
    sparse = _build(kind, A, y, 0.05)
    dense = _build(kind, A.toarray(), y, 0.05)
    x0 = np.random.default_rng(6).standard_normal(n)
    runs = [
        fp.solve(fp.steepest_descent_flow(o, norm), x0, (0.0, 100.0), method="continuation")
        for o in (sparse, dense)
    ]
    fast, ref = runs
    assert fast.status == 1 and ref.status == 1, (fast.message, ref.message)
    assert len(fast.events) > n // 2  # (a run with many events: most coordinates slide)
    assert [(e.kind, e.indices) for e in fast.events] == [(e.kind, e.indices) for e in ref.events]
    np.testing.assert_allclose(
        [e.t for e in fast.events], [e.t for e in ref.events], rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(fast.x[-1], P.newton_minimizer(dense, n), rtol=0, atol=1e-8)


def test_a_flow_of_many_features_builds_no_n_by_n_array() -> None:
    # A steepest-descent flow's B is the identity: at n = 2500 a dense one is 50 MB, 25
    # times this sparse model's data; it was built twice with the flow (100 MB at
    # once) and kept. Neither building the flow nor a run of its first events on the
    # continuation path (self-check included) may hold an n × n array now.
    m, n = 5000, 2500
    A = _sparse_data(m, n, 0.001, seed=3)
    y = _targets("logistic", m, seed=3)
    obj = ridge_logistic(A, y, 0.1)
    x0 = np.random.default_rng(3).standard_normal(n)
    square_bytes = n * n * 8
    # (a small solve first: the modules a solve imports are not counted)
    small = ridge_logistic(_sparse_data(30, 3, 0.5, seed=1), _targets("logistic", 30, 1), 0.1)
    fp.solve(fp.steepest_descent_flow(small, "linf"), np.ones(3), (0.0, 5.0))
    tracemalloc.start()
    try:
        flow = fp.steepest_descent_flow(obj, "linf")
        peak_build = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        sol = fp.solve(flow, x0, (0.0, 0.02), method="continuation")
        peak_solve = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sol.status == 0, sol.message
    assert len(sol.events) >= 5  # (a run of some events, not a single free mode)
    assert peak_build < square_bytes / 20, peak_build
    assert peak_solve < square_bytes / 4, peak_solve
    # B itself is still there for whoever asks for it: the identity, read-only
    B = flow.evaluate(x0)[1]
    assert B.shape == (n, n) and not B.flags.writeable
    assert np.array_equal(B[:3, :3], np.eye(3)) and B.sum() == n
    assert flow.B_is_identity and flow.B_constant is B
