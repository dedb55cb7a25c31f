"""Sign flows of linear models with a feature absent from the data and no ridge term.

A column of ``A`` that is all zeros with ``lam = 0`` makes ``f`` flat along its
coordinate: ``∂_i f ≡ 0``, a zero row and column of every Hessian. The Filippov velocity
there is 0 (``sign(∂_i f) = 0`` on the whole space), the minimal-norm choice of the relay
value the sliding selection is asked for. With more than ten sliding indices the box VI
left its enumeration for Lemke's method, which put such a relay value at a bound: the
coordinate "exited" and ran at unit speed along the flat direction for the rest of the
run, which never became stationary (review R17).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import filippov as fp
from filippov.objectives import linear_model
from filippov.selection import solve_box_vi

_FLAT = [3, 9]


def _data(m: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    A[rng.random((m, n)) < 0.5] = 0.0
    A[:, _FLAT] = 0.0
    return A, rng.standard_normal(m), rng.standard_normal(n)


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("method", ["auto", "events"])
def test_a_flat_coordinate_of_the_sign_flow_stays_put(sparse: bool, method: str) -> None:
    m, n = 60, 14  # (n > 10: every index slides at the end, beyond the enumeration)
    A, y, x0 = _data(m, n, seed=1)
    obj = linear_model(sp.csr_array(A) if sparse else A, y, 0.0, "squared")
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 50.0), method=method)
    # The flow is stationary once every other coordinate reached the least-squares fit
    # (before t = 50: the largest |x0_i - x*_i| bounds the arrival time).
    assert sol.status == 1, sol.message
    keep = np.setdiff1d(np.arange(n), _FLAT)
    x_ls = np.linalg.lstsq(A[:, keep], y, rcond=None)[0]
    np.testing.assert_allclose(sol.x[-1][keep], x_ls, rtol=0, atol=1e-9)
    # ẋ_i = 0 along the flat coordinates, throughout (old code: they ended 48.7 away)
    for t in np.linspace(0.0, 50.0, 11):
        np.testing.assert_allclose(sol(t)[_FLAT], x0[_FLAT], rtol=0, atol=1e-12)
    assert all(_FLAT[0] not in e.indices or e.kind != "exit" for e in sol.events)


def test_box_vi_gives_a_decoupled_index_its_minimal_norm_relay_value() -> None:
    # An SPD block of 11 and two indices with zero rows and columns: one with a_i = 0
    # (any λ_i in [-1, 1] solves it: the minimal-norm 0, not unique), one with a_i > 0
    # (w_i = a_i whatever λ: λ_i = 1).
    rng = np.random.default_rng(2)
    G = rng.standard_normal((11, 11))
    k = 13
    M = np.zeros((k, k))
    M[:11, :11] = G @ G.T + np.eye(11)
    a = np.r_[0.1 * rng.standard_normal(11), 0.0, 0.5]
    sel = solve_box_vi(M, a)
    lam_block = np.linalg.solve(M[:11, :11], a[:11])
    assert np.max(np.abs(lam_block)) < 1.0  # (the block's solution is interior)
    np.testing.assert_allclose(sel.lam, np.r_[lam_block, 0.0, 1.0], rtol=0, atol=1e-12)
    assert sel.interior.tolist() == list(range(12))
    assert sel.at_upper.tolist() == [12]
    assert not sel.unique
    # without the free index, the decoupled one alone is unique
    keep = [*range(11), 12]
    assert solve_box_vi(M[np.ix_(keep, keep)], a[keep]).unique
