"""A user's Hessian returned as a scipy.sparse array or a LinearOperator: bad ones are
refused with an error naming ``hess(x)``, as a bad dense Hessian is (review R17).

Before, a sparse or operator Hessian of the wrong shape surfaced as scipy's "dimension
mismatch", numpy's "matmul: dimension mismatch" or an ``IndexError`` (which callable was
wrong, and how, was left to guess), and a complex one was cut to its real part behind a
``ComplexWarning`` where a dense complex Hessian raises ``TypeError``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import filippov as fp
from filippov.objectives import Objective

_H = np.array([[2.0, 0.5, 0.0], [0.5, 3.0, 0.0], [0.0, 0.0, 1.0]])


def _objective(hess: Callable[[np.ndarray], Any]) -> Objective:
    return Objective(lambda x: 0.5 * x @ _H @ x, lambda x: _H @ x, hess, n=3)


def _uses(obj: Objective) -> list[Callable[[], Any]]:
    x, v = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.1, -1.0])
    return [
        lambda: obj.hess(x),
        lambda: obj.hvp(x, v),
        lambda: obj.hess_rows(x, [0, 2]),
        lambda: obj.eval_hess_block(x, np.array([0, 2], dtype=np.intp)),
        lambda: fp.solve(fp.steepest_descent_flow(obj, "linf"), x, (0.0, 1.0)),
    ]


@pytest.mark.parametrize(
    "hess",
    [
        lambda x: sp.csr_array(np.eye(2)),
        lambda x: sp.csr_array(np.eye(4)),
        lambda x: sp.coo_array(np.ones(3)),
        lambda x: spla.aslinearoperator(sp.eye_array(4)),
        lambda x: spla.aslinearoperator(sp.random_array((3, 5), density=0.5, rng=1)),
    ],
    ids=["sparse-2x2", "sparse-4x4", "sparse-1d", "operator-4x4", "operator-3x5"],
)
def test_a_sparse_or_operator_hessian_of_the_wrong_shape_is_named(hess: Any) -> None:
    for use in _uses(_objective(hess)):
        with pytest.raises(ValueError, match=r"`hess\(x\)` must return an array of shape \(3, 3\)"):
            use()


@pytest.mark.parametrize(
    "hess",
    [
        lambda x: sp.csr_array(_H + 1e-3j * np.eye(3)),
        lambda x: spla.aslinearoperator(sp.csr_array(_H.astype(complex))),
    ],
    ids=["sparse", "operator"],
)
def test_a_complex_sparse_or_operator_hessian_is_refused_like_a_dense_one(hess: Any) -> None:
    with pytest.raises(TypeError, match="real numbers"):
        _objective(lambda x: _H.astype(complex)).hess(np.ones(3))  # (the dense rule)
    for use in _uses(_objective(hess)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # (no ComplexWarning on the way)
            with pytest.raises(TypeError, match=r"`hess\(x\)` must return an array of real"):
                use()


def test_an_operator_whose_products_have_the_wrong_length_is_named() -> None:
    def bad(x: np.ndarray) -> spla.LinearOperator:
        return spla.LinearOperator(
            (3, 3), matvec=lambda v: (_H @ v)[:2], matmat=lambda V: (_H @ V)[:2], dtype=float
        )

    for use in _uses(_objective(bad)):
        with pytest.raises(ValueError, match=r"LinearOperator returned by `hess\(x\)`"):
            use()


@pytest.mark.parametrize(
    "hess",
    [
        lambda x: sp.csr_array(_H),
        lambda x: sp.csc_array(_H).astype(np.float32),
        lambda x: sp.coo_matrix(_H),
        lambda x: spla.aslinearoperator(sp.csr_array(_H)),
    ],
    ids=["csr", "csc-float32", "coo-matrix", "operator"],
)
def test_good_sparse_and_operator_hessians_are_still_accepted(hess: Any) -> None:
    obj = _objective(hess)
    x, v = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.1, -1.0])
    np.testing.assert_allclose(obj.hess(x), _H, rtol=0, atol=1e-7)
    np.testing.assert_allclose(obj.hvp(x, v), _H @ v, rtol=0, atol=1e-7)
    np.testing.assert_allclose(obj.hess_rows(x, [2, 0]), _H[[2, 0]], rtol=0, atol=1e-7)
