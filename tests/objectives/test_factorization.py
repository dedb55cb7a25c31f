"""The matrix-factorization objective: values, derivatives, errors, pickling, flows.

Derivatives are checked against sympy's (the loss written entry by entry as a formula
and differentiated by :meth:`Objective.from_expr`, independent of the closed forms in
:mod:`filippov.objectives.factorization`), and the flows against the invariants of a
steepest-descent flow: ``f`` falls, the rest is a stationary point.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import filippov as fp
from filippov.objectives import (
    Objective,
    matrix_factorization,
    matrix_factorization_init,
    matrix_factors,
)


def _problem(p: int, q: int, r: int, seed: int, observed: float = 0.7):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((p, r)) @ rng.standard_normal((q, r)).T
    mask = rng.random((p, q)) < observed
    mask[0, 0] = True
    return M, mask


def _symbolic(M: np.ndarray, mask: np.ndarray, r: int, lam: float) -> Objective:
    """The same loss as a formula: one squared residual per observed entry."""
    p, q = M.shape
    names = [f"x{k}" for k in range((p + q) * r)]
    U = [[names[i * r + a] for a in range(r)] for i in range(p)]
    V = [[names[p * r + j * r + a] for a in range(r)] for j in range(q)]
    terms = []
    for i in range(p):
        for j in range(q):
            if mask[i, j]:
                inner = " + ".join(f"{U[i][a]}*{V[j][a]}" for a in range(r))
                terms.append(f"({inner} - ({float(M[i, j])!r}))**2")
    ridge = " + ".join(f"{v}**2" for v in names)
    return Objective.from_expr(f"({' + '.join(terms)})/2 + {lam!r}*({ridge})/2", names)


@pytest.mark.parametrize(("p", "q", "r", "lam"), [(3, 2, 1, 0.0), (3, 3, 2, 0.1), (2, 4, 3, 1e-3)])
def test_value_gradient_hessian_match_sympy(p: int, q: int, r: int, lam: float) -> None:
    M, mask = _problem(p, q, r, seed=p * 10 + q + r)
    obj = matrix_factorization(M, r, lam=lam, mask=mask)
    ref = _symbolic(M, mask, r, lam)
    rng = np.random.default_rng(3)
    for _ in range(3):
        x = rng.standard_normal(obj.n)
        assert obj.f(x) == pytest.approx(ref.f(x), rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(obj.grad(x), ref.grad(x), rtol=1e-11, atol=1e-11)
        H = ref.hess(x)
        np.testing.assert_allclose(obj.hess(x), H, rtol=1e-11, atol=1e-11)
        v = rng.standard_normal(obj.n)
        np.testing.assert_allclose(obj.hvp(x, v), H @ v, rtol=1e-10, atol=1e-10)
        rows = np.array(sorted(rng.choice(obj.n, size=min(4, obj.n), replace=False)))
        np.testing.assert_allclose(obj.hess_rows(x, rows), H[rows], rtol=1e-11, atol=1e-11)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), st.integers(0, 10**6),
    st.sampled_from([0.0, 1e-3, 0.5]),
)  # fmt: skip
def test_hessian_products_and_rows_agree_with_central_differences(
    p: int, q: int, r: int, seed: int, lam: float
) -> None:
    M, mask = _problem(p, q, r, seed)
    obj = matrix_factorization(M, r, lam=lam, mask=mask)
    rng = np.random.default_rng(seed + 1)
    x, v = rng.standard_normal(obj.n), rng.standard_normal(obj.n)
    eps = 1e-6
    fd = (obj.grad(x + eps * v) - obj.grad(x - eps * v)) / (2 * eps)
    np.testing.assert_allclose(obj.hvp(x, v), fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(obj.hess(x) @ v, obj.hvp(x, v), rtol=1e-10, atol=1e-10)
    H = obj.hess(x)
    np.testing.assert_array_equal(H, H.T)
    # the gradient against central differences of f
    e = np.eye(obj.n)
    g_fd = [(obj.f(x + 1e-6 * e[k]) - obj.f(x - 1e-6 * e[k])) / 2e-6 for k in range(obj.n)]
    np.testing.assert_allclose(obj.grad(x), g_fd, rtol=1e-5, atol=1e-5)


def test_exact_factorization_is_a_zero_of_the_loss_and_factors_unpack() -> None:
    rng = np.random.default_rng(0)
    U, V = rng.standard_normal((5, 2)), rng.standard_normal((4, 2))
    obj = matrix_factorization(U @ V.T, 2)
    x = np.concatenate([U.ravel(), V.ravel()])
    assert obj.f(x) == pytest.approx(0.0, abs=1e-28)
    np.testing.assert_allclose(obj.grad(x), 0.0, atol=1e-14)
    U2, V2 = matrix_factors(x, (5, 4), 2)
    np.testing.assert_array_equal(U2, U)
    np.testing.assert_array_equal(V2, V)
    # the rotations of the factors are a valley: the Hessian is singular there
    assert np.linalg.eigvalsh(obj.hess(x))[0] == pytest.approx(0.0, abs=1e-12)


def test_unobserved_entries_are_ignored_and_may_be_missing() -> None:
    M, mask = _problem(4, 3, 1, seed=5)
    with_nan = np.where(mask, M, np.nan)
    a = matrix_factorization(with_nan, 1, mask=mask)
    b = matrix_factorization(np.where(mask, M, 1e6), 1, mask=mask.astype(int))
    x = np.random.default_rng(1).standard_normal(a.n)
    assert a.f(x) == b.f(x)
    np.testing.assert_array_equal(a.grad(x), b.grad(x))


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"M": [[1.0, np.nan]], "rank": 1}, ValueError, "mask"),
        ({"M": [[1.0, 2.0]], "rank": 0}, ValueError, "rank"),
        ({"M": [[1.0, 2.0]], "rank": 1.5}, TypeError, "rank"),
        ({"M": [1.0, 2.0], "rank": 1}, ValueError, "2-D"),
        ({"M": [[1.0, 2.0]], "rank": 1, "mask": [[True]]}, ValueError, "shape"),
        ({"M": [[1.0, 2.0]], "rank": 1, "mask": [[0, 0]]}, ValueError, "no entry"),
        ({"M": [[1.0, 2.0]], "rank": 1, "mask": [[0.5, 1]]}, ValueError, "0/1"),
        ({"M": [[1.0, np.nan]], "rank": 1, "mask": [[1, 1]]}, ValueError, "finite"),
        ({"M": [[1.0, 2.0]], "rank": 1, "lam": -1.0}, ValueError, "lam"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        matrix_factorization(**kwargs)


def test_pickles_to_an_equal_objective() -> None:
    M, mask = _problem(4, 3, 2, seed=2)
    obj = matrix_factorization(M, 2, lam=0.1, mask=mask)
    x = matrix_factorization_init((4, 3), 2, seed=4)
    back = pickle.loads(pickle.dumps(obj))
    assert back.f(x) == obj.f(x)
    np.testing.assert_array_equal(back.hvp(x, x), obj.hvp(x, x))


@pytest.mark.parametrize(
    ("norm", "method"),
    [("linf", "auto"), ("l1", "auto"), ("l1", "events"), ("l2", "auto")],
)
def test_flows_rest_at_a_minimizer_on_the_valley_and_say_it_is_not_unique(
    norm: str, method: str
) -> None:
    """From a small start (near the saddle at 0) the flows leave the saddle and rest
    where the gradient vanishes, ``f`` falling all the way; the rest lies on a valley
    of minimizers (rank 2: the factors' rotations), and the rest says it is not unique,
    in its event and in the run's message (the greedy flow's continuation path and the
    event path said so only in the event)."""
    M, mask = _problem(6, 5, 2, seed=11)
    obj = matrix_factorization(M, 2, lam=1e-2, mask=mask)
    x0 = matrix_factorization_init((6, 5), 2, scale=0.1, seed=3)
    sol = fp.solve(fp.steepest_descent_flow(obj, norm), x0, (0.0, 200.0), method=method)
    assert sol.status == 1, sol.message
    assert "other" in sol.message and "solutions" in sol.message
    assert np.max(np.abs(obj.grad(sol.x[-1]))) <= 1e-9
    values = [obj.f(x) for x in sol(np.linspace(0.0, sol.t[-1], 400))]
    assert np.all(np.diff(values) <= 1e-12 * max(1.0, values[0]))
    assert values[-1] < 0.2 * values[0]
    assert np.linalg.eigvalsh(obj.hess(sol.x[-1]))[0] > -1e-9  # (a minimum, not a saddle)
    assert sol.events[-1].kind == "stationary" and not sol.events[-1].unique


@pytest.mark.parametrize(
    ("rank", "lam", "seed", "method"), [(2, 1e-2, 0, "events"), (1, 0.0, 3, "continuation")]
)
def test_a_rest_on_the_valley_is_certified(rank: int, lam: float, seed: int, method: str) -> None:
    """At the rest the Hessian's eigenvalue along the valley is 4e-14 (resp. 2e-13) of
    the largest, not 0 (the rest is a little off the valley), with the gradient along it
    at rounding: the self-check judged the whole Hessian's condition (1e14) and ended
    the run −5 ("precision lost") on a correct minimizer (a fuzz's 3×3 factorizations)."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((3, rank)) @ rng.standard_normal((3, rank)).T
    obj = matrix_factorization(M, rank, lam=lam)
    x0 = np.random.default_rng(100 + seed).standard_normal(obj.n)
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, x0, (0.0, 1e3), method=method, rtol=1e-8, atol=1e-10)
    assert sol.status == 1, sol.message
    assert np.max(np.abs(obj.grad(sol.x[-1]))) <= 1e-8
    assert np.linalg.eigvalsh(obj.hess(sol.x[-1]))[0] > -1e-10  # (a minimum)
