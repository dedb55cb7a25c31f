"""``objectives.linear_model``: the squared loss as a quadratic (the exact path), and the
Poisson loss where its per-sample terms sum past the largest float.

The quadratic data is compared with the expansion of ``mean ½(a_iᵀx − y_i)² + (λ/2)‖x‖²``
written out sample by sample, and the exact path's trajectory with the continuation path
on the same objective and with the exact path of an ``Objective.quadratic`` built from
that expansion. The Poisson values near ``z = 709`` are compared with ``math.exp``.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import scipy.sparse as sp

import filippov as fp
from filippov._validation import NonFiniteError
from filippov.objectives import Objective, linear_model


def _ridge_expansion(
    A: np.ndarray, y: np.ndarray, lam: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """``(H, b, c)`` of ``mean ½(a_iᵀx − y_i)² + (λ/2)‖x‖²``, summed sample by sample."""
    m, n = A.shape
    H = lam * np.eye(n)
    b = np.zeros(n)
    c = 0.0
    for a_i, y_i in zip(A, y, strict=True):
        H += np.outer(a_i, a_i) / m
        b -= y_i * a_i / m
        c += 0.5 * y_i * y_i / m
    return H, b, c


def _problem(m: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)), 2.0 * rng.standard_normal(m), rng.standard_normal(n)


@pytest.mark.parametrize("sparse", [False, True])
def test_squared_loss_exposes_its_quadratic_data(sparse: bool) -> None:
    A, y, x = _problem(12, 4, 3)
    if sparse:
        A[np.abs(A) < 0.6] = 0.0
    lam = 0.2
    obj = linear_model(sp.csr_array(A) if sparse else A, y, lam, loss="squared")
    assert obj.quadratic_data is not None
    H, b, c = obj.quadratic_data
    H_ref, b_ref, c_ref = _ridge_expansion(A, y, lam)
    np.testing.assert_allclose(H, H_ref, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(b, b_ref, rtol=1e-13, atol=1e-14)
    assert c == pytest.approx(c_ref, rel=1e-13)
    # consistent with the objective's own f, grad and hess (½xᵀHx + bᵀx + c is f expanded)
    for point in (x, -3.0 * x, np.zeros(4)):
        assert obj.f(point) == pytest.approx(0.5 * point @ H @ point + b @ point + c, rel=1e-12)
        np.testing.assert_allclose(obj.grad(point), H @ point + b, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(obj.hess(point), H, rtol=1e-13, atol=1e-14)
    assert "kind='quadratic'" in repr(obj)


def test_other_losses_and_wide_sparse_data_are_not_marked_quadratic() -> None:
    A, y, _ = _problem(10, 3, 4)
    for loss in ("logistic", "poisson", "logcosh"):
        target = (
            np.sign(y) if loss == "logistic" else (np.abs(np.round(y)) if loss == "poisson" else y)
        )
        assert linear_model(A, target, 0.1, loss=loss).quadratic_data is None
    # (sparse with more features than the exact path's dense Hessian is kept for)
    wide = sp.random_array((5, 3000), density=1e-3, random_state=0, format="csr")
    assert linear_model(wide, np.ones(5), 0.1, loss="squared").quadratic_data is None


@pytest.mark.parametrize(("norm", "sparse"), [("linf", False), ("l1", False), ("linf", True)])
def test_squared_loss_flows_take_the_exact_path(norm: str, sparse: bool) -> None:
    A, y, x0 = _problem(20, 5, 7)
    if sparse:
        A[np.abs(A) < 0.4] = 0.0
    lam = 0.05
    x0 = 2.0 * x0
    obj = linear_model(sp.csr_array(A) if sparse else A, y, lam, loss="squared")
    T = 6.0
    sol = fp.solve(fp.steepest_descent_flow(obj, norm), x0, (0.0, T))
    assert sol.method == "exact" and sol.status in (0, 1), sol.message
    assert len(sol.events) >= 2  # (sliding modes: the comparison is not of one straight line)
    cont = fp.solve(fp.steepest_descent_flow(obj, norm), x0, (0.0, T), method="continuation")
    assert cont.method == "continuation", cont.method
    quad = Objective.quadratic(*_ridge_expansion(A, y, lam))
    ref = fp.solve(fp.steepest_descent_flow(quad, norm), x0, (0.0, T))
    assert ref.method == "exact"
    ts = np.linspace(0.0, T, 97)
    np.testing.assert_allclose(sol(ts), ref(ts), rtol=0, atol=1e-10)
    np.testing.assert_allclose(sol(ts), cont(ts), rtol=0, atol=1e-8)


#: Two samples of an intercept model: ``z_i = x_0 + a_i x_1`` with ``a = (1, −1)``.
_A_INTERCEPT = np.array([[1.0, 1.0], [1.0, -1.0], [1.0, 0.0]])
_Y_COUNTS = np.array([1.0, 2.0, 0.0])


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("z", [709.0, 709.5])
def test_poisson_near_the_exponential_overflow_is_finite_in_every_method(
    sparse: bool, z: float
) -> None:
    # e^z is finite, three of them sum past the largest float: the mean, f's term and every
    # derivative's, is finite; f, grad, hess and hvp refused it while hess_rows did not.
    lam = 0.1
    A = sp.csr_array(_A_INTERCEPT) if sparse else _A_INTERCEPT
    obj = linear_model(A, _Y_COUNTS, lam, loss="poisson")
    x = np.array([z, 0.0])
    e = math.exp(z)
    assert 3.0 * e == math.inf  # (the case: the sum overflows, the mean does not)
    a1 = _A_INTERCEPT[:, 1]
    f_ref = e - _Y_COUNTS.mean() * z + 0.5 * lam * z * z
    g_ref = np.array([e - _Y_COUNTS.mean() + lam * z, float(np.mean(a1 * (e - _Y_COUNTS)))])
    H_ref = np.array([[e + lam, e * a1.mean()], [e * a1.mean(), e * np.mean(a1 * a1) + lam]])
    assert obj.f(x) == pytest.approx(f_ref, rel=1e-14)
    np.testing.assert_allclose(obj.grad(x), g_ref, rtol=1e-14, atol=1e-14 * e)
    np.testing.assert_allclose(
        obj.grad_batch(np.array([x, x])), [g_ref, g_ref], rtol=1e-14, atol=1e-14 * e
    )
    np.testing.assert_allclose(obj.hess(x), H_ref, rtol=1e-14, atol=1e-14 * e)
    np.testing.assert_allclose(obj.hess_rows(x, [0, 1]), H_ref, rtol=1e-14, atol=1e-14 * e)
    v = np.array([0.5, -0.25])
    np.testing.assert_allclose(obj.hvp(x, v), H_ref @ v, rtol=1e-14, atol=1e-14 * e)


@pytest.mark.parametrize("sparse", [False, True])
def test_poisson_past_the_exponential_overflow_is_refused_by_every_method(sparse: bool) -> None:
    A = sp.csr_array(_A_INTERCEPT) if sparse else _A_INTERCEPT
    obj = linear_model(A, _Y_COUNTS, 0.1, loss="poisson")
    x = np.array([710.0, 0.0])  # e^710 is not a float
    calls = {
        "f(x)": lambda: obj.f(x),
        "grad(x)": lambda: obj.grad(x),
        "grad_batch(X)": lambda: obj.grad_batch(np.array([x, x])),
        "hess(x)": lambda: obj.hess(x),
        "hvp(x, v)": lambda: obj.hvp(x, np.array([1.0, 0.0])),
        "hess_rows(x, rows)": lambda: obj.hess_rows(x, [0]),
    }
    for what, call in calls.items():
        with pytest.raises(NonFiniteError, match=re.escape(f"`{what}` must be finite")):
            call()


def test_an_ill_conditioned_squared_loss_keeps_to_its_residuals() -> None:
    # A review: with singular values of A from 1 to 1e-6, H = AᵀA/m has condition 1e12,
    # and the exact path on the formed H rested 2.8e-2 (ℓ∞) and 3.9e-2 (ℓ1) from the
    # least-squares solution, reported stationary; the continuation path, on the
    # residuals, reached it to 9e-4 and 3e-9. Such a model exposes no quadratic data.
    rng = np.random.default_rng(1)
    n, m = 4, 12
    U, _ = np.linalg.qr(rng.standard_normal((m, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = U @ np.diag([1.0, 1e-2, 1e-4, 1e-6]) @ V.T
    y = A @ np.ones(n) + 1e-3 * rng.standard_normal(m)
    x_star = np.linalg.lstsq(A, y, rcond=None)[0]
    for data in (A, sp.csr_matrix(A)):
        obj = linear_model(data, y, 0.0, loss="squared")
        assert obj.quadratic_data is None
    obj = linear_model(A, y, 0.0, loss="squared")
    sol = fp.solve(fp.steepest_descent_flow(obj, "l1"), np.zeros(n), (0.0, 1e4))
    assert sol.method != "exact" and sol.status == 1
    assert np.abs(sol.x[-1] - x_star).max() <= 1e-6
    # (a well-conditioned A, condition 10, 100 for H: the exact path)
    well = linear_model(U @ np.diag([1.0, 0.5, 0.2, 0.1]) @ V.T, y, 0.0, loss="squared")
    assert well.quadratic_data is not None


def test_a_batched_run_on_a_sparse_squared_loss_takes_f_from_its_residuals() -> None:
    # (the same review: the sparse model's batched f came from the expanded quadratic,
    # 5e-4 relative off at f = 5e-13)
    from filippov.schemes.base import Problem

    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 5))
    x_fit = rng.standard_normal(5)
    y = A @ x_fit + 1e-9 * rng.standard_normal(30)
    obj = linear_model(sp.csr_matrix(A), y, lam=1e-12, loss="squared")
    X = np.array([x_fit, x_fit + 1e-7])
    problem = Problem(obj, X[0], fp.schemes.SignGD(step=0.1), batched=True)
    expected = [0.5 * np.mean((A @ x - y) ** 2) + 0.5e-12 * x @ x for x in X]
    np.testing.assert_allclose(problem.f_rows(X), expected, rtol=1e-10)


def test_the_continuation_paths_linear_model_takes_a_finite_mean_near_the_overflow() -> None:
    # The continuation path's own column passes over a linear model (not the objective's
    # methods) summed ℓ'(z) over the samples before dividing by m: inf where the mean is
    # finite.
    from filippov._continuation_path import _LinearModel

    obj = linear_model(_A_INTERCEPT, _Y_COUNTS, 0.1, loss="poisson")
    lm = _LinearModel(obj._linear_model)
    x = np.array([709.5, 0.0])
    e = math.exp(709.5)
    a1 = _A_INTERCEPT[:, 1]
    g_ref = np.array([e - _Y_COUNTS.mean() + 0.1 * 709.5, float(np.mean(a1 * (e - _Y_COUNTS)))])
    np.testing.assert_allclose(lm.grad(x, _A_INTERCEPT @ x), g_ref, rtol=1e-14, atol=1e-14 * e)


@pytest.mark.parametrize("lam", [0.0, 1e-9, 0.1])
def test_the_squared_loss_minimizer_is_the_closed_form_to_the_datas_condition(lam: float) -> None:
    # Against a 50-digit solve of the normal equations (mpmath), on data with singular
    # values from 1 to 1e-6: a solve of the normal equations in double precision is
    # 3e-6 off at λ = 0.
    import mpmath

    rng = np.random.default_rng(0)
    m, n = 40, 6
    U, _ = np.linalg.qr(rng.standard_normal((m, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = U @ np.diag(np.logspace(0, -6, n)) @ V.T
    y = rng.standard_normal(m)
    obj = linear_model(A, y, lam, loss="squared")
    with mpmath.workdps(50):
        Am, ym = mpmath.matrix(A.tolist()), mpmath.matrix(y.tolist())
        x_ref = mpmath.lu_solve(Am.T * Am / m + lam * mpmath.eye(n), Am.T * ym / m)
        x_ref = np.array([float(v) for v in x_ref])
    x = obj.minimizer
    assert x is not None
    assert np.max(np.abs(x - x_ref)) <= 1e-10 * np.max(np.abs(x_ref))
    assert not x.flags.writeable


def test_the_squared_loss_minimizer_matches_ridge_on_sparse_data_and_survives_pickling() -> None:
    import pickle

    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(1)
    m, n, lam = 60, 9, 0.05
    A = sp.random_array((m, n), density=0.4, random_state=rng, format="csr")
    y = rng.standard_normal(m)
    obj = linear_model(A, y, lam, loss="squared")
    # f = (1/2m)‖Ax − y‖² + (λ/2)‖x‖²: sklearn's ‖y − Ax‖² + α‖x‖² with α = mλ.
    ref = Ridge(alpha=m * lam, fit_intercept=False, solver="svd", tol=1e-14).fit(A.toarray(), y)
    assert obj.minimizer is not None
    np.testing.assert_allclose(obj.minimizer, ref.coef_, rtol=0, atol=1e-12)
    again = pickle.loads(pickle.dumps(obj))
    np.testing.assert_allclose(again.minimizer, ref.coef_, rtol=0, atol=1e-12)


def test_an_unregularized_rank_deficient_squared_loss_has_no_minimizer() -> None:
    # λ = 0 and a duplicated column: a whole line of minimizers, none is "the" minimizer.
    rng = np.random.default_rng(2)
    A = rng.standard_normal((20, 3))
    A[:, 2] = A[:, 1]
    assert linear_model(A, rng.standard_normal(20), 0.0, loss="squared").minimizer is None
    # Other losses have no closed form.
    assert linear_model(A, np.sign(rng.standard_normal(20)), 0.1, loss="logistic").minimizer is None


@pytest.mark.parametrize("r", [1e-3, 1e-5, 1e-7, 1e-9, 1e-20, 0.5, 0.999, 1.0, 3.0])
def test_logcosh_loss_near_a_perfect_fit_keeps_its_digits(r: float) -> None:
    # (stranger review R18) log cosh r as logaddexp(r, −r) − log 2 cancelled to the
    # rounding of log 2: f = 0 for |r| ≤ 1e-9 (where it is r²/2), 8e-4 relative error at
    # r = 1e-7. Reference: the series r²/2 − r⁴/12 + r⁶/45 for small r, else
    # log(cosh r) (no cancellation for r ≥ 0.5).
    expected = r * r / 2 - r**4 / 12 + r**6 / 45 if r < 1e-2 else math.log(math.cosh(r))
    obj = linear_model([[1.0], [-1.0]], [0.0, 0.0], 0.0, loss="logcosh")
    assert obj.f([r]) == pytest.approx(expected, rel=1e-14, abs=0.0)  # (both samples: |r|)


@pytest.mark.parametrize("z", [1e-20, 1e-12, 1e-7, 1e-3, 0.7, 5.0, 40.0])
def test_logistic_third_derivative_near_zero_keeps_its_digits(z: float) -> None:
    # (stranger review R18) ℓ''' = pq(p − q) took p − q as a difference of two numbers
    # near ½: 9e-5 relative error at z = 1e-12, 0 at z = 1e-20. Closed form:
    # p − q = −tanh(z/2), pq = 1/(4 cosh²(z/2)), so ℓ''' = −tanh(z/2) / (4 cosh²(z/2)),
    # odd in z; the loss's labels (±1) do not change it.
    expected = -math.tanh(z / 2) / (4.0 * math.cosh(z / 2) ** 2)
    A = np.array([[1.0], [-1.0]])
    for model in (
        linear_model(A, [1.0, -1.0], 0.0, loss="logistic"),
        fp.objectives.ridge_logistic(A, [1.0, -1.0], 0.0),
    ):
        A_used, _, _, _, third = model._linear_model
        zz = np.asarray(A_used @ np.array([z]))
        got = third(zz)
        np.testing.assert_allclose(got, expected * np.sign(zz) / np.sign(z), rtol=1e-14, atol=0)
