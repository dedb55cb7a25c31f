"""A large sliding block of sparse data (or of an objective's own products) is kept as a
single-precision inverse only while single precision resolves it (review R29).

Sparse data with fewer samples than features and a tiny ridge has sliding blocks beyond
the data's rank whose smallest eigenvalue is the ridge: 1e-7 beside entries of 1, a
condition number near 1e7. Rounded to single precision such a block loses that
eigenvalue, and its inverse was no preconditioner: the run's steps fell to rounding
(status -1) where the double factor (a01d7e1, and the dense form of the same model)
rests at the minimizer.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import filippov as fp
from filippov.objectives import linear_model


def _rank_deficient_sparse_model() -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    # (m = 40 samples, n = 80 features, 9.5 nonzeros a row, a few duplicated columns;
    # the draws of a fuzzing run that found it)
    rng = np.random.default_rng(9010)
    n = int(rng.choice([80, 150]))
    m = int(rng.choice([n // 2, 2 * n]))
    nnz = int(float(rng.choice([4, 10, 20])) * m)
    values = rng.standard_normal(nnz)
    rows, cols = rng.integers(0, m, nnz), rng.integers(0, n, nnz)
    A = sp.lil_matrix(sp.coo_matrix((values, (rows, cols)), shape=(m, n)).tocsc())
    for _ in range(int(rng.integers(1, 6))):
        i, j = rng.integers(0, n, 2)
        A[:, i] = A[:, j] * float(rng.choice([1.0, 1 + 1e-9, 2.0]))
    rng.choice([0.0, 1e-12, 1e-9, 1e-7])  # (the ridge: 1e-7 below)
    y = rng.standard_normal(m)
    x0 = rng.standard_normal(n) * 0.3
    return sp.csr_matrix(A), y, x0


def test_an_ill_conditioned_large_sparse_block_is_solved_in_double_precision() -> None:
    A, y, x0 = _rank_deficient_sparse_model()
    assert A.nnz >= 8 * A.shape[0]  # (the sparse columns' path)
    ends = []
    for data in (A, A.toarray()):
        obj = linear_model(data, y, 1e-7, loss="logcosh")
        sol = fp.solve(
            fp.steepest_descent_flow(obj, "linf"),
            x0,
            (0.0, 100.0),
            method="continuation",
            rtol=1e-8,
            atol=1e-10,
            check_derivatives=False,
        )
        # (was -1 on the sparse form: "the step size fell to rounding at t = 1.053")
        assert sol.status == 1, sol.message
        assert np.abs(obj.grad(sol.x[-1])).max() < 1e-12
        ends.append((sol.events[-1].t, np.asarray(sol.x[-1])))
    # the sparse and dense forms rest at the same time and point
    assert abs(ends[0][0] - ends[1][0]) < 1e-7
    assert np.abs(ends[0][1] - ends[1][1]).max() < 1e-6
