"""The continuation path's block solver on problems that are fine.

* CG for a right-hand side of zero returns zero (`_zero_solution`): a squared-loss model
  at rtol 1e-11 (where the curves carry their second derivatives, ``H_SS ẍ_S = 0`` for a
  quadratic) ended −4, "conjugate gradients ... did not converge".
* A dense linear model's block that single precision cannot factor is factored in double:
  duplicated columns under a ridge of 1e-8 ended −4, "the sliding block became singular".
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import filippov as fp
from filippov.objectives import linear_model


def _duplicated_sparse_data(
    seed: int, loss: str = "logistic"
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Sparse data with a few columns repeated exactly, targets for ``loss`` and a start
    (the draws of the fuzzing run that found these)."""
    rng = np.random.default_rng(seed)
    n = int(rng.choice([40, 80, 150]))
    m = int(rng.choice([n // 2, 2 * n, 4 * n]))
    nnz = int(float(rng.choice([4, 12, 30])) * m)
    coo = sp.coo_matrix(
        (rng.standard_normal(nnz), (rng.integers(0, m, nnz), rng.integers(0, n, nnz))),
        shape=(m, n),
    )
    A = coo.tocsc().tolil()
    for _ in range(int(rng.integers(1, 6))):
        i, j = rng.integers(0, n, 2)
        A[:, i] = A[:, j]
    A = sp.csr_matrix(A)
    y = rng.standard_normal(m)
    if loss == "logistic":
        y = np.where(A @ rng.standard_normal(n) + y > 0, 1.0, -1.0)
    return A, y, rng.standard_normal(n) * 0.3


def _newton_minimizer(obj: fp.Objective, x: np.ndarray) -> np.ndarray:
    """Newton's method from ``x`` on the dense Hessian (independent of the path)."""
    for _ in range(50):
        H = obj.hess(x)
        H = H.toarray() if hasattr(H, "toarray") else np.asarray(H @ np.eye(x.size))
        step = np.linalg.solve(H, obj.grad(x))
        x = x - step
        if np.max(np.abs(step)) <= 1e-15 * max(1.0, float(np.max(np.abs(x)))):
            break
    return x


def test_a_dense_block_single_precision_cannot_factor_is_factored_in_double() -> None:
    # 300 samples, 150 features (made dense here), duplicated columns, ridge 1e-8:
    # a positive definite Hessian whose sliding blocks have condition ~1e6-1e7 after
    # equilibration; their single-precision copy is not positive definite, and the run
    # ended −4 at t = 0.376 ("86-th leading minor ... (spotrf)").
    A, y, x0 = _duplicated_sparse_data(0, "logcosh")
    obj = linear_model(A.toarray(), y, 1e-8, "logcosh")
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, x0, (0.0, 100.0), method="continuation", rtol=1e-8)
    assert sol.status == 1, sol.message
    x_star = _newton_minimizer(obj, np.asarray(sol.x[-1]).copy())
    scale = float(np.max(np.abs(x_star)))
    assert np.max(np.abs(sol.x[-1] - x_star)) <= 1e-9 * scale


def test_a_squared_loss_at_a_tight_tolerance_rests_at_the_minimizer() -> None:
    # rtol 1e-11 ended −4 at t = 0.91 (rtol 5e-13 and 1e-10 rested at t = 3.763).
    rng = np.random.default_rng(1)
    A = rng.standard_normal((600, 150))
    y = A @ rng.standard_normal(150) + rng.standard_normal(600)
    obj = linear_model(A, y, 0.1, "squared")
    x0 = rng.standard_normal(150)
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, x0, (0.0, 100.0), method="continuation", rtol=1e-11)
    assert sol.status == 1, sol.message
    assert abs(sol.events[-1].t - 3.76282739208) < 1e-9
    x_star = np.linalg.solve(A.T @ A / 600 + 0.1 * np.eye(150), A.T @ y / 600)
    np.testing.assert_allclose(sol.x[-1], x_star, rtol=0, atol=1e-12)


def test_cg_for_a_zero_right_hand_side_returns_zero_from_any_guess() -> None:
    from filippov._continuation_path import _Block
    from filippov._recorder import Recorder

    rng = np.random.default_rng(0)
    A = rng.standard_normal((600, 150))
    obj = linear_model(A, A @ rng.standard_normal(150), 0.1, "squared")
    x = rng.standard_normal(150)
    for lm in (True, False):
        block = _Block(obj, 150, Recorder(0.0, x, "continuation"))
        if not lm:
            block.lm = None  # (the objective's own products)
        block.set(x, np.arange(120))
        guess = rng.standard_normal(120)
        y = block.solve(x, np.zeros(120), guess=guess, rtol=1e-8)
        assert np.array_equal(y, np.zeros(120))
        assert np.array_equal(block.last_product, np.zeros(150))


def test_a_dense_block_singular_to_double_precision_is_still_refused() -> None:
    # (a guard: duplicated columns without a ridge; factored in double after single
    # precision failed, the block's pivot at rounding made the products NaN, −1)
    A, y, x0 = _duplicated_sparse_data(7)
    obj = linear_model(A.toarray(), y, 0.0)
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, x0, (0.0, 100.0), method="continuation", rtol=1e-8)
    assert sol.status == -4, sol.message
    assert "sliding" in sol.message


def _rests_at_the_minimizer(obj: fp.Objective, x0: np.ndarray, rtol: float = 1e-8) -> None:
    """The ℓ∞ flow's continuation run rests at the minimizer (Newton on the dense
    Hessian from the run's end), to its tolerance."""
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(
        flow, x0, (0.0, 100.0), method="continuation", rtol=rtol, check_derivatives=False
    )
    assert sol.status == 1, sol.message
    x_star = _newton_minimizer(obj, np.asarray(sol.x[-1]).copy())
    assert np.max(np.abs(sol.x[-1] - x_star)) <= rtol * float(np.max(np.abs(x_star)))


def test_a_duplicated_column_joining_its_twin_is_factored_afresh() -> None:
    # A column joining the block where its duplicate slides: the bordered step on a
    # factor from other points took its Schur complement as 3.3e-4 of H_jj where the
    # block's own is 4e-6 (about 2λ), the chord steps contracted by 0.99 a step and the
    # Newton correction after them was read as divergence at every step size (−1 at
    # t = 0.235, "the corrector did not converge"). Now the block is factored afresh.
    A, y, x0 = _duplicated_sparse_data(0)
    _rests_at_the_minimizer(linear_model(A.toarray(), y, 1e-8), x0)


def test_a_newton_correction_after_slow_chord_steps_is_not_divergence() -> None:
    # Sparse data under a ridge of 1e-8: a factor refreshed at other points is too stiff
    # along a column whose samples' weights are tiny; the chord steps contracted by 0.75
    # and the Newton correction after them, 3 times the last, was read as divergence
    # (−1 at t = 7.12). It is taken on probation (`_PROBATION`).
    A, y, x0 = _duplicated_sparse_data(7)
    _rests_at_the_minimizer(linear_model(A, y, 1e-8), x0)


def test_the_entry_of_a_duplicated_column_is_located_on_the_curve_to_rounding() -> None:
    # 20 samples, 40 features with duplicates, ridge 1e-8: a duplicate's partial moves at
    # 2λ as it nears its sliding twin's, and its root, read on points within the
    # corrector's tolerance, was 1e-4 off: the next mode's start was that far off its
    # curve and the run ended −1 at t = 0.141 ("the step size fell to rounding").
    A, y, x0 = _duplicated_sparse_data(11, "logcosh")
    _rests_at_the_minimizer(linear_model(A.toarray(), y, 1e-8, "logcosh"), x0)


def test_cg_with_a_preconditioner_that_is_not_positive_definite_does_not_converge() -> None:
    from filippov._continuation_path import _cg_iterations

    # (a rotation as the "preconditioner": rᵀz = 0 with r ≠ 0, as a single-precision
    # inverse of a block of condition 1e8 gave; CG divided by zero, and the run ended
    # −1, "the integration failed (ZeroDivisionError ...)")
    r, y, acc = np.array([1.0, 0.0]), np.zeros(2), np.zeros(2)

    def product(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return p.copy(), p.copy()

    iterations, converged = _cg_iterations(
        r, y, acc, product, lambda v: np.array([-v[1], v[0]]), 1e-12, 10
    )
    assert (iterations, converged) == (1, False)


def test_an_ill_conditioned_double_factor_is_not_applied_in_single_precision() -> None:
    from filippov._continuation_path import _Block
    from filippov._recorder import Recorder

    # 80 features, 66 of them sliding with a pair of equal columns under a ridge of 1e-8
    # (condition ~1e8): the preconditioner is the factor's explicit inverse, and was
    # applied rounded to single precision, which resolves nothing along the pair.
    rng = np.random.default_rng(3)
    A = rng.standard_normal((320, 80))
    A[:, 5] = A[:, 40]
    obj = linear_model(A, rng.standard_normal(320), 1e-8, "logcosh")
    x = 0.1 * rng.standard_normal(80)
    block = _Block(obj, 80, Recorder(0.0, x, "continuation"))
    S = np.arange(66)
    block.set(x, S)
    H_SS = obj.hess(x)[np.ix_(S, S)]
    v = rng.standard_normal(66)
    applied = block.precondition(H_SS @ v)
    assert np.max(np.abs(applied - v)) <= 1e-4 * np.max(np.abs(v))
