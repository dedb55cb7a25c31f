"""Tests of filippov.objectives: derivatives against finite differences and independent
sympy computations, the safe expression parser, and input validation."""

from __future__ import annotations

import builtins
import time
import warnings
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np
import pytest
import sympy
import sympy.parsing.sympy_parser
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.stats import special_ortho_group

from filippov.objectives import (
    ALLOWED_FUNCTIONS,
    Objective,
    parse_expression,
    ridge_logistic,
    rotated_quadratic,
    separable_quadratic,
    slope,
    smooth_max,
)

# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def fd_grad(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    g = np.empty_like(x)
    for i in range(x.size):
        h = 1e-5 * max(1.0, abs(x[i]))
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        g[i] = (f(xp) - f(xm)) / (xp[i] - xm[i])
    return g


def fd_jac(g: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    cols = []
    for i in range(x.size):
        h = 1e-5 * max(1.0, abs(x[i]))
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        cols.append((g(xp) - g(xm)) / (xp[i] - xm[i]))
    return np.column_stack(cols)


def assert_rel(actual: Any, expected: Any, rtol: float) -> None:
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape
    scale = max(1.0, float(np.max(np.abs(expected))))
    err = float(np.max(np.abs(actual - expected))) if expected.size else 0.0
    assert err <= rtol * scale, f"error {err:.3g} > {rtol:g} * {scale:.3g}"


def sympy_reference(expr: Any, xs: list[Any]) -> tuple[Callable, Callable, Callable]:
    """f, grad, hess of a sympy expression, evaluated in 30-digit mpmath arithmetic."""
    grad = [sympy.diff(expr, v) for v in xs]
    hess = [[sympy.diff(gi, v) for v in xs] for gi in grad]
    fns = [sympy.lambdify(xs, e, modules="mpmath") for e in (expr, grad, hess)]

    def call(k: int) -> Callable:
        def run(x: np.ndarray) -> np.ndarray:
            with mpmath.workdps(30):
                out = fns[k](*[mpmath.mpf(float(v)) for v in x])
                return np.array(
                    [[float(v) for v in row] for row in out]
                    if k == 2
                    else ([float(v) for v in out] if k == 1 else float(out))
                )

        return run

    return call(0), call(1), call(2)


def _mp(v: float) -> Any:
    return sympy.Float(mpmath.mpf(float(v)), 30)


# --------------------------------------------------------------------------------------
# the library, each with an independent sympy formula
# --------------------------------------------------------------------------------------

RNG = np.random.default_rng(20240601)
A_LOG = RNG.standard_normal((6, 3))
Y_LOG = np.array([1, -1, 1, 1, -1, -1])
A_MAX = RNG.standard_normal((5, 3))
B_MAX = RNG.standard_normal(5)
L_SEP = np.array([0.5, 2.0, 30.0])
C_SEP = np.array([1.0, -2.0, 0.25])


def _library() -> list[tuple[str, Objective, Callable[[list[Any]], Any]]]:
    rot = rotated_quadratic([1.0, 5.0, 40.0], rotation=0.7, seed=3)
    H_rot = np.asarray(rot.quadratic_data[0])

    def sym_sep(x: list[Any]) -> Any:
        return sum(
            _mp(li) / 2 * (xi - _mp(ci)) ** 2 for li, ci, xi in zip(L_SEP, C_SEP, x, strict=True)
        )

    def sym_rot(x: list[Any]) -> Any:
        return sum(_mp(H_rot[i, j]) * x[i] * x[j] for i in range(3) for j in range(3)) / 2

    def sym_log(x: list[Any]) -> Any:
        m = len(Y_LOG)
        loss = sum(
            sympy.log(
                1 + sympy.exp(-int(Y_LOG[i]) * sum(_mp(A_LOG[i, j]) * x[j] for j in range(3)))
            )
            for i in range(m)
        )
        return loss / m + _mp(0.3) / 2 * sum(v**2 for v in x)

    def sym_max(x: list[Any]) -> Any:
        T = _mp(0.7)
        z = [sum(_mp(A_MAX[i, j]) * x[j] for j in range(3)) + _mp(B_MAX[i]) for i in range(5)]
        return T * sympy.log(sum(sympy.exp(zi / T) for zi in z)) + _mp(0.1) / 2 * sum(
            v**2 for v in x
        )

    def sym_slope(x: list[Any]) -> Any:
        a = _mp(0.5)
        return (x[0] - a * x[1]) ** 2 / 2 + (x[1] + 3) ** 2 / 2

    def sym_slope_steep(x: list[Any]) -> Any:
        a = _mp(-2.5)
        return (x[0] - a * x[1]) ** 2 / 2 + (x[1] + 3) ** 2 / 2

    return [
        ("separable_quadratic", separable_quadratic(L_SEP, C_SEP), sym_sep),
        ("rotated_quadratic", rot, sym_rot),
        ("ridge_logistic", ridge_logistic(A_LOG, Y_LOG, lam=0.3), sym_log),
        ("ridge_logistic01", ridge_logistic(A_LOG, (Y_LOG + 1) // 2, lam=0.3), sym_log),
        ("smooth_max", smooth_max(A_MAX, B_MAX, lam=0.1, temperature=0.7), sym_max),
        ("slope", slope(0.5), sym_slope),
        ("slope_crossing", slope(-2.5), sym_slope_steep),
    ]


LIBRARY = _library()
LIB_IDS = [name for name, _, _ in LIBRARY]


def _points(n: int, k: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2.0, 2.0, size=(k, n))


@pytest.mark.parametrize(("name", "obj", "sym"), LIBRARY, ids=LIB_IDS)
def test_library_derivatives_match_finite_differences(name: str, obj: Objective, sym: Any) -> None:
    for x in _points(obj.n or 0):
        assert_rel(obj.grad(x), fd_grad(obj.f, x), 1e-6)
        assert_rel(obj.hess(x), fd_jac(obj.grad, x), 1e-6)


@pytest.mark.parametrize(("name", "obj", "sym"), LIBRARY, ids=LIB_IDS)
def test_library_matches_independent_sympy(name: str, obj: Objective, sym: Any) -> None:
    assert obj.n is not None
    xs = list(sympy.symbols(f"x0:{obj.n}"))
    f_ref, g_ref, h_ref = sympy_reference(sym(xs), xs)
    # Row blocks as the continuation and event paths ask for them: unordered, one row,
    # every row (the library's own hess_rows where it has one, else rows of hess).
    blocks = [np.array([obj.n - 1, 0]), np.array([1]), np.arange(obj.n)[::-1]]
    for x in _points(obj.n, seed=1):
        assert_rel(obj.f(x), f_ref(x), 1e-12)
        assert_rel(obj.grad(x), g_ref(x), 1e-12)
        assert_rel(obj.hess(x), h_ref(x), 1e-12)
        for rows in blocks:
            assert_rel(obj.hess_rows(x, rows), h_ref(x)[rows], 1e-12)


@pytest.mark.parametrize(("name", "obj", "sym"), LIBRARY, ids=LIB_IDS)
def test_library_hvp_batch_and_metadata(name: str, obj: Objective, sym: Any) -> None:
    assert obj.n is not None
    X = _points(obj.n, k=5, seed=2)
    v = np.random.default_rng(3).standard_normal(obj.n)
    G = obj.grad_batch(X)
    assert G.shape == X.shape
    for i, x in enumerate(X):
        assert_rel(G[i], obj.grad(x), 1e-13)
        assert_rel(obj.hvp(x, v), obj.hess(x) @ v, 1e-12)
        assert np.allclose(obj.hess(x), obj.hess(x).T, rtol=0, atol=1e-14)
    assert isinstance(obj.name, str) and obj.name
    if obj.quadratic_data is not None:
        H, b, c = obj.quadratic_data
        for x in X:
            assert_rel(obj.f(x), 0.5 * x @ H @ x + b @ x + c, 1e-12)
            assert_rel(obj.grad(x), H @ x + b, 1e-12)
    if obj.minimizer is not None:
        assert_rel(obj.grad(obj.minimizer), np.zeros(obj.n), 1e-12)
        assert np.all(np.linalg.eigvalsh(obj.hess(obj.minimizer)) > 0)


def test_library_minimizers_in_closed_form() -> None:
    np.testing.assert_array_equal(slope(0.5).minimizer, [-1.5, -3.0])
    np.testing.assert_array_equal(slope(-2.0).minimizer, [6.0, -3.0])
    assert slope(0.5).f([-1.5, -3.0]) == 0.0
    np.testing.assert_array_equal(separable_quadratic(L_SEP, C_SEP).minimizer, C_SEP)
    assert separable_quadratic(L_SEP, C_SEP).f(C_SEP) == 0.0
    assert separable_quadratic([1.0, 0.0], [0.0, 0.0]).minimizer is None
    np.testing.assert_allclose(rotated_quadratic([1.0, 2.0], seed=0).minimizer, [0.0, 0.0])
    assert rotated_quadratic([1.0, -2.0], seed=0).minimizer is None
    assert ridge_logistic(A_LOG, Y_LOG, 0.1).minimizer is None
    assert smooth_max(A_MAX, B_MAX, 0.1).minimizer is None


def test_separable_quadratic_keeps_its_hessian_diagonal() -> None:
    """The dense Hessian of a separable quadratic is only built when asked for."""
    obj = separable_quadratic([1.0, 4.0, 0.0], [1.0, -0.5, 2.0])
    assert obj._quadratic is None  # not formed at construction (n² memory)
    lv, b, c = obj.separable_quadratic_data
    np.testing.assert_array_equal(lv, [1.0, 4.0, 0.0])
    np.testing.assert_array_equal(b, [-1.0, 2.0, 0.0])
    assert c == 1.0
    assert not (lv.flags.writeable or b.flags.writeable)
    assert "kind='quadratic'" in repr(obj)
    H, b2, c2 = obj.quadratic_data
    np.testing.assert_array_equal(H, np.diag([1.0, 4.0, 0.0]))
    assert not H.flags.writeable and b2 is b and c2 == c
    assert obj.quadratic_data[0] is H  # built once
    x = np.array([0.3, -1.0, 5.0])
    assert obj.f(x) == pytest.approx(0.5 * x @ H @ x + b @ x + c, rel=1e-14)
    assert slope(0.5).separable_quadratic_data is None
    assert Objective.quadratic(np.diag([1.0, 2.0])).separable_quadratic_data is None


def test_acceptance_from_expr_grad() -> None:
    obj = Objective.from_expr("x**2+3*y**2", variables=["x", "y"])
    g = obj.grad([1, 1])
    np.testing.assert_array_equal(g, [2.0, 6.0])
    assert str(g) == "[2. 6.]"


# --------------------------------------------------------------------------------------
# rotated quadratic, logistic, smooth max specifics
# --------------------------------------------------------------------------------------


def test_rotated_quadratic_interpolates_identity_to_haar_rotation() -> None:
    lam = np.array([1.0, 3.0, 10.0, 100.0])
    H0 = rotated_quadratic(lam, rotation=0.0, seed=7).quadratic_data[0]
    np.testing.assert_array_equal(H0, np.diag(lam))
    # rotation = 1 is exactly the Haar-random rotation drawn from the same seed
    R = special_ortho_group.rvs(4, random_state=np.random.default_rng(7))
    H1 = rotated_quadratic(lam, rotation=1.0, seed=7).quadratic_data[0]
    np.testing.assert_allclose(H1, R @ np.diag(lam) @ R.T, atol=1e-10 * lam.max())
    for r in (0.0, 0.3, 1.0):
        H = rotated_quadratic(lam, rotation=r, seed=7).quadratic_data[0]
        np.testing.assert_allclose(np.linalg.eigvalsh(H), lam, rtol=1e-12)
        np.testing.assert_array_equal(H, H.T)
    # same seed, same path; different seed, different rotation
    Ha = rotated_quadratic(lam, rotation=0.5, seed=1).quadratic_data[0]
    Hb = rotated_quadratic(lam, rotation=0.5, seed=np.random.default_rng(1)).quadratic_data[0]
    np.testing.assert_array_equal(Ha, Hb)
    assert not np.allclose(Ha, rotated_quadratic(lam, rotation=0.5, seed=2).quadratic_data[0])
    assert rotated_quadratic([2.0], rotation=1.0, seed=0).quadratic_data[0].tolist() == [[2.0]]


def test_rotated_quadratic_diagonal_concentration_falls_with_rotation() -> None:
    lam = np.logspace(0, 3, 20)

    def conc(r: float) -> float:
        vals = []
        for s in range(5):
            H = np.abs(rotated_quadratic(lam, rotation=r, seed=s).quadratic_data[0])
            vals.append(np.trace(H) / H.sum())
        return float(np.mean(vals))

    c = [conc(r) for r in (0.0, 0.1, 0.3, 1.0)]
    assert c[0] == 1.0
    assert c[0] > c[1] > c[2] > c[3]


def test_rotation_log_handles_eigenvalue_minus_one() -> None:
    import scipy.linalg

    from filippov.objectives.library import _rotation_log

    Q = special_ortho_group.rvs(4, random_state=np.random.default_rng(0))
    for d in ([-1.0, -1.0, 1.0, 1.0], [-1.0, -1.0, -1.0, -1.0]):
        R = Q @ np.diag(d) @ Q.T
        K = _rotation_log(R)
        np.testing.assert_array_equal(K, -K.T)
        np.testing.assert_allclose(scipy.linalg.expm(K), R, atol=1e-12)


def test_ridge_logistic_is_stable_and_label_invariant() -> None:
    big = ridge_logistic(A_LOG, Y_LOG, lam=0.0)
    x = np.array([800.0, -900.0, 1000.0])  # margins of order 1e3: exp overflows naively
    z = Y_LOG * (A_LOG @ x)
    expected = np.mean(np.maximum(-z, 0.0) + np.log1p(np.exp(-np.abs(z))))
    assert_rel(big.f(x), expected, 1e-14)
    assert np.all(np.isfinite(big.grad(x))) and np.all(np.isfinite(big.hess(x)))
    o1 = ridge_logistic(A_LOG, Y_LOG, 0.2)
    o2 = ridge_logistic(A_LOG, (Y_LOG + 1) // 2, 0.2)
    for p in _points(3):
        assert o1.f(p) == o2.f(p)
        np.testing.assert_array_equal(o1.grad(p), o2.grad(p))


def test_smooth_max_is_stable_and_approaches_max() -> None:
    obj = smooth_max(A_MAX, B_MAX, lam=0.0, temperature=1e-3)
    x = np.array([0.3, -0.2, 0.5])
    z = A_MAX @ x + B_MAX
    assert z.max() <= obj.f(x) <= z.max() + 1e-3 * np.log(5) + 1e-15
    huge = smooth_max(A_MAX, B_MAX, lam=0.0, temperature=1.0)
    xh = np.array([1e4, -2e4, 3e4])
    zh = A_MAX @ xh + B_MAX
    assert_rel(huge.f(xh), zh.max(), 1e-12)
    assert np.all(np.isfinite(huge.hess(xh)))
    np.testing.assert_allclose(huge.grad(xh), A_MAX[np.argmax(zh)], atol=1e-12)


def test_smooth_max_hessian_rows_include_the_quadratic_term() -> None:
    # Rows of ∇²f = Aᵀ(diag p − ppᵀ)A / T + λI + Q against the finite-difference Jacobian
    # of the gradient (independent of hess_rows' block formula), for Q with off-diagonals.
    Q = np.array([[2.0, 0.5, -0.3], [0.5, 1.0, 0.2], [-0.3, 0.2, 3.0]])
    obj = smooth_max(A_MAX, B_MAX, lam=0.1, temperature=0.7, quadratic=Q)
    for x in _points(3, seed=4):
        H_fd = fd_jac(obj.grad, x)
        for rows in (np.array([2, 0]), np.array([1])):
            assert_rel(obj.hess_rows(x, rows), H_fd[rows], 1e-6)
            assert_rel(obj.hess_rows(x, rows), obj.hess(x)[rows], 1e-13)


# --------------------------------------------------------------------------------------
# quadratic constructor
# --------------------------------------------------------------------------------------


def test_quadratic_basic_and_readonly() -> None:
    H = np.array([[2.0, 1.0], [1.0, 3.0]])
    b = np.array([1.0, -1.0])
    obj = Objective.quadratic(H, b, c=2.0)
    x = np.array([0.5, -2.0])
    assert obj.f(x) == 0.5 * x @ H @ x + b @ x + 2.0
    np.testing.assert_allclose(obj.minimizer, np.linalg.solve(H, -b), rtol=1e-14)
    Hq, _, cq = obj.quadratic_data
    assert cq == 2.0
    with pytest.raises(ValueError):
        Hq[0, 0] = 5.0
    H[0, 0] = 100.0  # the objective keeps its own copy
    assert obj.hess(x)[0, 0] == 2.0
    obj.hess(x)[0, 0] = -1.0  # returned Hessian is a copy
    assert obj.hess(x)[0, 0] == 2.0
    assert Objective.quadratic([[1.0, 0.0], [0.0, -1.0]]).minimizer is None
    assert Objective.quadratic([[0.0, 0.0], [0.0, 1.0]]).minimizer is None
    assert "quadratic" in repr(obj)


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 6),
)
def test_quadratic_taylor_is_exact(data: st.DataObject, n: int) -> None:
    floats = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
    M = data.draw(hnp.arrays(np.float64, (n, n), elements=floats))
    b = data.draw(hnp.arrays(np.float64, (n,), elements=floats))
    x = data.draw(hnp.arrays(np.float64, (n,), elements=floats))
    d = data.draw(hnp.arrays(np.float64, (n,), elements=floats))
    H = M + M.T
    obj = Objective.quadratic(H, b)
    lhs = obj.f(x + d)
    rhs = obj.f(x) + obj.grad(x) @ d + 0.5 * d @ H @ d
    scale = (
        1.0
        + np.abs(H).sum() * (1 + np.abs(x).max() + np.abs(d).max()) ** 2
        + np.abs(b).sum() * (1 + np.abs(x).max() + np.abs(d).max())
    )
    assert abs(lhs - rhs) <= 1e-12 * scale
    np.testing.assert_array_equal(obj.hvp(x, d), H @ d)


@pytest.mark.parametrize(
    ("H", "b", "c", "match"),
    [
        ([1.0, 2.0], None, 0.0, "2-D"),
        ([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], None, 0.0, "square"),
        ([[1.0, 2.0], [0.0, 1.0]], None, 0.0, "symmetric"),
        ([[1.0, np.nan], [np.nan, 1.0]], None, 0.0, "finite"),
        ([[1.0, 0.0], [0.0, np.inf]], None, 0.0, "finite"),
        ([[1.0, 0.0], [0.0, 1.0]], [1.0, 2.0, 3.0], 0.0, "length 2"),
        ([[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0]], 0.0, "1-D"),
        ([[1.0, 0.0], [0.0, 1.0]], [1.0, np.nan], 0.0, "finite"),
        ([[1.0, 0.0], [0.0, 1.0]], None, np.inf, "finite"),
        ([[1.0, 0.0], [0.0, 1.0]], None, [1.0, 2.0], "scalar"),
        (np.zeros((0, 0)), None, 0.0, "at least"),
    ],
)
def test_quadratic_rejects_bad_input(H: Any, b: Any, c: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Objective.quadratic(H, b, c)


def test_quadratic_rejects_non_numeric() -> None:
    with pytest.raises(TypeError, match="`H` must be an array of real numbers"):
        Objective.quadratic([["a", "b"], ["c", "d"]])


def test_evaluation_validates_x() -> None:
    obj = slope()
    with pytest.raises(ValueError, match="`x` must have length 2"):
        obj.f([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="`x` must be finite"):
        obj.grad([np.nan, 1.0])
    with pytest.raises(ValueError, match="`x` must be a 1-D vector"):
        obj.hess([[1.0, 2.0]])
    with pytest.raises(ValueError, match="`v` must have length 2"):
        obj.hvp([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match=r"`X` must have shape .*2\)"):
        obj.grad_batch(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="`X` must be a 2-D matrix"):
        obj.grad_batch(np.zeros(2))


# --------------------------------------------------------------------------------------
# Objective from callables
# --------------------------------------------------------------------------------------


def _rosen() -> tuple[Callable, Callable, Callable]:
    def f(x: np.ndarray) -> float:
        return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))

    def grad(x: np.ndarray) -> np.ndarray:
        g = np.zeros_like(x)
        g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1 - x[:-1])
        g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
        return g

    def hess(x: np.ndarray) -> np.ndarray:
        n = x.size
        H = np.zeros((n, n))
        for i in range(n - 1):
            H[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
            H[i, i + 1] = H[i + 1, i] = -400.0 * x[i]
            H[i + 1, i + 1] += 200.0
        return H

    return f, grad, hess


def test_callables_with_fd_hessian_warn_once_and_are_accurate() -> None:
    f, grad, hess = _rosen()
    with pytest.warns(UserWarning, match="finite differences") as record:
        obj = Objective(f, grad, n=4, name="rosen")
    assert len(record) == 1
    x = np.array([0.3, -0.7, 1.2, 0.9])
    v = np.array([1.0, -2.0, 0.5, 0.25])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no further warnings on use
        assert_rel(obj.hess(x), hess(x), 1e-7)
        assert_rel(obj.hvp(x, v), hess(x) @ v, 1e-7)
        np.testing.assert_array_equal(obj.hess(x), obj.hess(x).T)
        np.testing.assert_array_equal(obj.hvp(x, np.zeros(4)), np.zeros(4))
        G = obj.grad_batch(np.vstack([x, 2 * x]))
        np.testing.assert_array_equal(G, np.vstack([grad(x), grad(2 * x)]))
    assert "finite differences" in repr(obj)
    assert obj.quadratic_data is None and obj.minimizer is None


def test_callables_with_exact_second_order_do_not_warn() -> None:
    f, grad, hess = _rosen()
    x = np.array([0.3, -0.7, 1.2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        obj = Objective(f, grad, hess)
        from_hvp = Objective(f, grad, hvp=lambda x, v: hess(x) @ v)
    assert obj.n is None
    np.testing.assert_array_equal(obj.hess(x), hess(x))
    np.testing.assert_array_equal(obj.hvp(x, x), hess(x) @ x)
    np.testing.assert_allclose(from_hvp.hess(x), hess(x), rtol=1e-15, atol=1e-12)
    assert obj.f(x) == f(x) and obj.f(np.r_[x, 1.0]) == f(np.r_[x, 1.0])  # any length


@pytest.mark.parametrize(
    ("kwargs", "method", "error", "match"),
    [
        ({"grad": lambda x: np.zeros(3)}, "grad", ValueError, r"`grad\(x\)` must return .*\(2,\)"),
        (
            {"grad": lambda x: np.array([np.nan, 0.0])},
            "grad",
            ValueError,
            r"`grad\(x\)` must be finite",
        ),
        ({"f": lambda x: np.zeros(2)}, "f", ValueError, r"`f\(x\)` must return a scalar"),
        ({"f": lambda x: np.inf}, "f", ValueError, r"`f\(x\)` must be finite"),
        ({"f": lambda x: "abc"}, "f", TypeError, r"`f\(x\)` must be an array of real numbers"),
        (
            {"hess": lambda x: np.zeros(2)},
            "hess",
            ValueError,
            r"`hess\(x\)` must return .*\(2, 2\)",
        ),
        (
            {"hess": lambda x: np.full((2, 2), np.nan)},
            "hess",
            ValueError,
            r"`hess\(x\)` must be finite",
        ),
        ({"hvp": lambda x, v: np.zeros(5)}, "hvp", ValueError, r"`hvp\(x, v\)` must return"),
    ],
)
def test_callable_outputs_are_validated(
    kwargs: dict[str, Any], method: str, error: type[Exception], match: str
) -> None:
    parts: dict[str, Any] = {
        "f": lambda x: float(x @ x),
        "grad": lambda x: 2 * x,
        "hess": lambda x: 2 * np.eye(x.size),
    }
    parts.update(kwargs)
    obj = Objective(parts.pop("f"), parts.pop("grad"), parts.pop("hess"), hvp=parts.get("hvp"))
    x = np.array([1.0, 2.0])
    with pytest.raises(error, match=match):
        if method == "hvp":
            obj.hvp(x, x)
        else:
            getattr(obj, method)(x)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((1.0, lambda x: x), {}, TypeError, "`f` must be callable"),
        ((lambda x: 0.0, None), {}, TypeError, "`grad` must be callable"),
        ((lambda x: 0.0, lambda x: x, "hess"), {}, TypeError, "`hess` must be callable"),
        (
            (lambda x: 0.0, lambda x: x, lambda x: x),
            {"hvp": 3},
            TypeError,
            "`hvp` must be callable",
        ),
        ((lambda x: 0.0, lambda x: x, lambda x: x), {"n": 0}, ValueError, "`n` must be a positive"),
        (
            (lambda x: 0.0, lambda x: x, lambda x: x),
            {"n": 2.5},
            ValueError,
            "`n` must be a positive",
        ),
        (
            (lambda x: 0.0, lambda x: x, lambda x: x),
            {"name": 3},
            TypeError,
            "`name` must be a string",
        ),
    ],
)
def test_objective_constructor_validates(
    args: tuple, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Objective(*args, **kwargs)


# --------------------------------------------------------------------------------------
# from_expr: correctness against an independent sympy computation
# --------------------------------------------------------------------------------------

EXPRESSIONS = [
    ("x**2 + 3*y**2", ["x", "y"], None),
    ("0.5*(x - a*y)**2 + 0.5*(y + 3)**2", ["x", "y"], {"a": 0.5}),
    ("exp(-x**2) * cos(3*y) + sin(x*y)", ["x", "y"], None),
    ("log(1 + x**2 + y**2) + sqrt(2 + x*y)", ["x", "y"], None),
    ("log1p(exp(x - y)) + expm1(0.1*x)", ["x", "y"], None),
    ("tanh(x) * sinh(y/3) + cosh(x - y) - atan(x*y) + tan(0.2*x)", ["x", "y"], None),
    ("asinh(x) + acosh(2 + y**2) + atanh(x/4) + asin(y/5) - acos(x/7)", ["x", "y"], None),
    ("erf(x) + pi*y**2 - -z + +z**3/7", ["x", "y", "z"], None),
    ("c0*x**4 + c1*x*y*z + (z - c2)**2 / 2", ["x", "y", "z"], {"c0": 0.25, "c1": -1.5, "c2": 3}),
    ("x**y", ["x", "y"], None),
    ("(x + 2*y) ** (3/2) + 1/(1 + x**2)", ["x", "y"], None),
    ("7", ["x"], None),
]


@pytest.mark.parametrize(("expr", "variables", "params"), EXPRESSIONS)
def test_from_expr_matches_sympy_and_finite_differences(
    expr: str, variables: list[str], params: dict[str, float] | None
) -> None:
    obj = Objective.from_expr(expr, variables=variables, params=params)
    assert obj.n == len(variables) and obj.name == expr
    # Independent reference: sympy's own (trusted, test-only) parser on the same string.
    local: dict[str, Any] = {v: sympy.Symbol(v) for v in variables}
    # log1p/expm1 spelled out independently of sympy.codegen's functions used by filippov
    funcs = {"log1p": lambda z: sympy.log(1 + z), "expm1": lambda z: sympy.exp(z) - 1}
    ref_expr = sympy.parse_expr(expr, local_dict={**local, **funcs})
    ref_expr = ref_expr.subs(
        {sympy.Symbol(k): sympy.Float(v, 30) for k, v in (params or {}).items()}
    )
    xs = [local[v] for v in variables]
    f_ref, g_ref, h_ref = sympy_reference(ref_expr, xs)
    rng = np.random.default_rng(5)
    X = rng.uniform(0.2, 0.9, size=(4, len(variables)))  # inside every domain above
    for x in X:
        assert_rel(obj.f(x), f_ref(x), 1e-12)
        assert_rel(obj.grad(x), g_ref(x), 1e-12)
        assert_rel(obj.hess(x), h_ref(x), 1e-12)
        assert_rel(obj.grad(x), fd_grad(obj.f, x), 1e-6)
        assert_rel(obj.hess(x), fd_jac(obj.grad, x), 1e-6)
    np.testing.assert_allclose(obj.grad_batch(X), np.array([obj.grad(x) for x in X]), rtol=1e-15)


def test_from_expr_uses_literals_and_params_exactly() -> None:
    assert Objective.from_expr("0.1*x", ["x"]).f([1.0]) == 0.1
    assert Objective.from_expr("a*x", ["x"], params={"a": 0.1}).f([1.0]) == 0.1
    assert Objective.from_expr("x/3", ["x"]).f([1.0]) == 1 / 3
    third = 1 / 3
    assert Objective.from_expr(f"{third!r}*x**2", ["x"]).grad([1.0])[0] == 2 * third
    assert Objective.from_expr("1e-300*x", ["x"]).f([1.0]) == 1e-300


def test_from_expr_exposes_sympy_expression_and_batch_of_constants() -> None:
    obj = Objective.from_expr("a*x**2 + y", ["x", "y"], params={"a": 2.0})
    x, y = sympy.symbols("x y")
    assert sympy.simplify(obj.expr - (2 * x**2 + y)) == 0
    G = obj.grad_batch(np.array([[1.0, 5.0], [2.0, 6.0], [3.0, 7.0]]))
    np.testing.assert_array_equal(G, [[4.0, 1.0], [8.0, 1.0], [12.0, 1.0]])
    # Degree <= 2: from_expr recognises the quadratic, so flows take the exact path.
    H, b, c = obj.quadratic_data
    np.testing.assert_array_equal(H, [[4.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(b, [0.0, 1.0])
    assert c == 0.0
    assert Objective.from_expr("cosh(x) + y**2", ["x", "y"]).quadratic_data is None


def test_from_expr_domain_errors_are_reported_at_evaluation() -> None:
    obj = Objective.from_expr("log(x) + y**2", ["x", "y"])
    with pytest.raises(ValueError, match=r"`f\(x\)` must be finite"):
        obj.f([-1.0, 0.0])
    with pytest.raises(ValueError, match=r"`grad\(x\)` must be finite"):
        obj.grad([0.0, 0.0])
    with pytest.raises(ValueError, match=r"`grad_batch\(X\)` must be finite"):
        obj.grad_batch([[0.0, 0.0]])
    # the engine stops a run cleanly on FloatingPointError (filippov._validation.NonFiniteError)
    with pytest.raises(FloatingPointError):
        obj.hess([0.0, 0.0])
    with pytest.warns(UserWarning):
        fd = Objective(lambda x: float(x @ x), lambda x: np.where(x < 0, np.nan, 2 * x))
    with pytest.raises(FloatingPointError):
        fd.hess([0.0])


def test_parse_expression_is_reusable() -> None:
    x = sympy.Symbol("x")
    assert parse_expression("2*x + exp(-x)", {"x": x}) == 2 * x + sympy.exp(-x)
    assert "exp" in ALLOWED_FUNCTIONS and "abs" not in ALLOWED_FUNCTIONS


def test_long_sums_are_parsed_iteratively() -> None:
    expr = " + ".join(f"{i}*x**2" for i in range(1, 600))
    obj = Objective.from_expr(expr, ["x"])
    assert obj.grad([1.0])[0] == 2.0 * sum(range(1, 600))


# --------------------------------------------------------------------------------------
# from_expr: hostile and malformed strings (nothing is executed)
# --------------------------------------------------------------------------------------

SENTINEL = "untouched"

HOSTILE = [
    "__import__('os').system('touch {path}')",
    "open('{path}', 'w').write('pwned')",
    "exec(\"open('{path}', 'w')\")",
    "eval(\"__import__('os').system('touch {path}')\")",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__.__init__.__globals__",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "(lambda: open('{path}', 'w'))()",
    "(SENTINEL := 'pwned')",
    "globals().update(SENTINEL='pwned')",
    "exp(x, **{{'evaluate': open('{path}', 'w')}})",
    "f\"{{__import__('os').system('touch {path}')}}\"",
    "x if __import__('os').system('touch {path}') else y",
    "exp.__call__(x)",
    "Symbol('x')",
    "S(\"__import__('os').system('touch {path}')\")",
    "sympify(\"open('{path}', 'w')\")",
    "getattr(x, '__class__')",
    "x; __import__('os').system('touch {path}')",
    "__builtins__",
    "breakpoint()",
    "x[0]",
    "exp(*[x])",
    "{{'a': x}}",
    "x @ y",
    "x // y",
]


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_strings_are_refused_and_never_executed(
    template: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "pwned"
    expr = template.format(path=target)
    imported: list[str] = []
    real_import = builtins.__import__

    def spy_import(name: str, *args: Any, **kwargs: Any) -> Any:
        imported.append(name)
        return real_import(name, *args, **kwargs)

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a forbidden function was called")

    def sympify_guard(a: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(a, str):
            raise AssertionError("sympify was called on a string")
        return real_sympify(a, *args, **kwargs)

    real_sympify = sympy.sympify
    monkeypatch.setattr(builtins, "__import__", spy_import)
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "open", forbidden)
    monkeypatch.setattr(sympy, "sympify", sympify_guard)
    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", forbidden)
    with pytest.raises(ValueError, match="`expr`"):
        Objective.from_expr(expr, variables=["x", "y"])
    monkeypatch.undo()
    assert not target.exists()
    assert SENTINEL == "untouched"
    assert not {"os", "subprocess", "pathlib", "shutil", "pdb"} & set(imported)


def test_valid_expressions_never_reach_eval_or_sympify(monkeypatch: pytest.MonkeyPatch) -> None:
    real_sympify = sympy.sympify

    def sympify_guard(a: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(a, str):
            raise AssertionError("sympify was called on a string")
        return real_sympify(a, *args, **kwargs)

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("eval was called")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(sympy, "sympify", sympify_guard)
    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", forbidden)
    obj = Objective.from_expr("exp(-x**2) + a*y**2", ["x", "y"], params={"a": 2.0})
    np.testing.assert_allclose(obj.grad([0.0, 1.0]), [0.0, 4.0])


def test_huge_powers_are_refused_quickly() -> None:
    start = time.perf_counter()
    for expr in ("9**9**9**9", "2**(10**10)", "(1/3)**100000", "10**400*x"):
        with pytest.raises(ValueError, match="`expr`"):
            Objective.from_expr(expr, ["x"])
    # (a guard against evaluating them, which would not end: not a speed target)
    assert time.perf_counter() - start < 30.0


@pytest.mark.parametrize(
    ("expr", "match"),
    [
        ("abs(x)", "not smooth.*norm"),
        ("Abs(x - 1)", "not smooth"),
        ("sign(x)", "not smooth"),
        ("max(x, 0)", "not smooth"),
        ("min(x, y)", "not smooth"),
        ("Max(x, y)", "not smooth"),
        # (stranger review) |u| spelled as an even power under a fractional one
        (
            "sqrt(x**2) + y**2",
            r"`sqrt\(x\*\*2\)` is \|x\|\^1, not twice differentiable where x = 0",
        ),
        ("(x**2)**0.5", r"\|x\|\^1"),
        ("(x**4)**0.25", r"\|x\|\^1"),
        ("sqrt((x - y)**2)", r"\|x - y\|\^1, not twice differentiable where x - y = 0"),
        ("((x - 1)**2)**0.75", r"\|x - 1\|\^1.5"),
        # a cone, and other powers of sums of even powers of affine forms with a common zero
        (
            "sqrt(x**2 + y**2)",
            r"`sqrt\(x\*\*2 \+ y\*\*2\)` behaves like ‖\(x, y\)‖\^1, not twice "
            r"differentiable where x = y = 0",
        ),
        ("(x**2 + y**2)**0.75", r"‖\(x, y\)‖\^1.5"),
        ("sqrt((x - 1)**2 + 2*(x + y)**2)", r"‖\(x - 1, x \+ y\)‖\^1, .* x - 1 = x \+ y = 0"),
        ("sqrt(x**4 + y**4)", r"‖\(x, y\)‖\^2"),  # (degree 2, but no polynomial)
        ("(x**2 + y**4)**0.75", r"‖\(x, y\)‖\^1.5"),
        ("1 / sqrt(x**2 + y**2)", r"‖\(x, y\)‖\^-1"),
        ("sqrt((x + y)**2 + (2*x + 2*y)**2)", r"behaves like \|x \+ y\|\^1"),
        ("x + z", "unknown symbol `z`"),
        ("e**x", "unknown symbol `e`"),
        ("(x, y)", "single scalar.*tuple"),
        ("[x, y]", "single scalar.*list"),
        ("{x, y}", "single scalar.*set"),
        ("x < y", "comparisons"),
        ("x and y", "boolean operators"),
        ("not x", "unary operator"),
        ("~x", "unary operator"),
        ("True", "booleans"),
        ("'x'", "strings"),
        ("b'x'", "strings"),
        ("1j*x", "complex numbers"),
        ("x ^ 2", "xor"),
        ("x % 2", "modulo"),
        ("x << 2", "shift"),
        ("x.real", "attribute access"),
        ("x[0]", "subscripts"),
        ("foo(x)", "calling `foo` is not allowed"),
        ("exp", "is a function"),
        ("exp(x, y)", "exactly 1 argument"),
        ("exp(x=1)", "keyword arguments"),
        ("None", "constant None"),
        ("...", "constant Ellipsis"),
        ("x +", "valid Python-syntax"),
        ("x = 1", "valid Python-syntax"),
        ("", "non-empty"),
        ("   ", "non-empty"),
        ("1/0 + x", "complex or infinite"),
        ("log(-1) + x", "complex or infinite"),
        ("sqrt(-1)*x", "complex or infinite"),
        ("1e999*x", "non-finite numbers"),
        ("x" + " + x" * 6000, "at most"),
        ("(" * 300 + "x" + ")" * 300, "valid Python-syntax|nested too deeply"),
    ],
)
def test_from_expr_rejects_malformed(expr: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Objective.from_expr(expr, variables=["x", "y"])


@pytest.mark.parametrize(
    ("expr", "variables", "params", "error", "match"),
    [
        (3, ["x"], None, TypeError, "`expr` must be a string"),
        ("x", "x", None, TypeError, "`variables` must be a list"),
        ("x", None, None, TypeError, "`variables` must be a list"),
        ("x", [1], None, TypeError, "only strings"),
        ("x", [], None, ValueError, "at least one"),
        ("x", ["x", "x"], None, ValueError, "repeat"),
        ("x", ["1x"], None, ValueError, "valid identifiers"),
        ("x", ["x y"], None, ValueError, "valid identifiers"),
        ("x", ["lambda"], None, ValueError, "valid identifiers"),
        ("x", ["exp"], None, ValueError, "function or constant"),
        ("x", ["pi"], None, ValueError, "function or constant"),
        ("x", ["x"], {"x": 1.0}, ValueError, "reuse a variable"),
        ("x", ["x"], {"a": np.nan}, ValueError, "finite"),
        ("x", ["x"], {"a": np.inf}, ValueError, "finite"),
        ("x", ["x"], {"a": "1"}, TypeError, "real number"),
        ("x", ["x"], {"a": True}, TypeError, "real number"),
        ("x", ["x"], {"a": [1.0, 2.0]}, ValueError, "scalar"),
        ("x", ["x"], {"a b": 1.0}, ValueError, "valid identifiers"),
        ("x", ["x"], {1: 1.0}, TypeError, "only strings"),
        ("x", ["x"], [("a", 1.0)], TypeError, "`params` must be a dict"),
        ("x", ["x"], None, None, None),
    ],
)
def test_from_expr_validates_declarations(
    expr: Any, variables: Any, params: Any, error: type[Exception] | None, match: str | None
) -> None:
    if error is None:
        Objective.from_expr(expr, variables, params)
        return
    with pytest.raises(error, match=match):
        Objective.from_expr(expr, variables, params)


def test_unicode_identifiers_are_normalized() -> None:
    obj = Objective.from_expr("α**2 + ﬁ", ["α", "fi"])  # "ﬁ" (ligature) parses as "fi"
    np.testing.assert_array_equal(obj.grad([3.0, 1.0]), [6.0, 1.0])


# --------------------------------------------------------------------------------------
# library input validation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: separable_quadratic([1.0, 2.0], [1.0]), ValueError, "`c` must have length 2"),
        (lambda: separable_quadratic([1.0, np.nan], 0.0), ValueError, "`l` must be finite"),
        (lambda: separable_quadratic([[1.0]], 0.0), ValueError, "`l` must be a 1-D"),
        (
            lambda: rotated_quadratic([1.0, 2.0], rotation=1.5),
            ValueError,
            r"`rotation` must be in \[0, 1\]",
        ),
        (
            lambda: rotated_quadratic([1.0, 2.0], rotation=np.nan),
            ValueError,
            "`rotation` must be finite",
        ),
        (lambda: rotated_quadratic([1.0, np.inf]), ValueError, "`eigenvalues` must be finite"),
        (lambda: ridge_logistic(A_LOG, Y_LOG[:3], 0.1), ValueError, "`y` must have length 6"),
        (lambda: ridge_logistic(A_LOG, Y_LOG * 2, 0.1), ValueError, "labels"),
        (lambda: ridge_logistic(A_LOG, Y_LOG, -0.1), ValueError, "`lam` must be non-negative"),
        (lambda: ridge_logistic(A_LOG[0], Y_LOG, 0.1), ValueError, "`A` must be a 2-D"),
        (lambda: ridge_logistic(np.zeros((0, 3)), [], 0.1), ValueError, "at least one row"),
        (lambda: smooth_max(A_MAX, B_MAX[:2], 0.1), ValueError, "`b` must have length 5"),
        (
            lambda: smooth_max(A_MAX, B_MAX, 0.1, temperature=0.0),
            ValueError,
            "`temperature` must be a positive",
        ),
        (lambda: smooth_max(A_MAX, B_MAX, np.nan), ValueError, "`lam` must be finite"),
        (lambda: slope(np.inf), ValueError, "`a` must be finite"),
        (lambda: slope("a"), TypeError, "`a` must be a real number"),
        (lambda: slope("1.0"), TypeError, "`a` must be a real number"),
    ],
)
def test_library_rejects_bad_input(
    build: Callable[[], Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        build()


# --------------------------------------------------------------------------------------
# the driver interface (eval_*): inputs validated by the caller
# --------------------------------------------------------------------------------------


def test_eval_methods_agree_with_the_validating_ones() -> None:
    library = ridge_logistic([[1.0, 0.5], [-0.3, 1.0], [0.2, -1.0]], [1, -1, 1], 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the finite-difference Hessian warns
        user = Objective(lambda x: float(x @ x), lambda x: 2.0 * x, n=2)
    X = np.array([[0.3, -0.2], [1.0, 2.0], [-0.5, 0.0]])
    v = np.array([1.0, -2.0])
    rows = np.array([1], dtype=np.intp)
    for obj in (library, user):
        np.testing.assert_allclose(obj.eval_f_rows(X), [obj.f(x) for x in X], rtol=1e-15)
        np.testing.assert_allclose(obj.eval_grad_rows(X), obj.grad_batch(X), rtol=1e-14)
        np.testing.assert_allclose(obj.eval_grad(X[0]), obj.grad(X[0]), rtol=1e-15)
        np.testing.assert_allclose(obj.eval_hvp(X[0], v), obj.hvp(X[0], v), rtol=1e-14)
        np.testing.assert_allclose(
            obj.eval_hess_rows(X[0], rows), obj.hess(X[0])[rows], rtol=1e-12, atol=1e-14
        )


def test_eval_methods_call_user_callables_through_the_validating_path() -> None:
    """A user callable that writes into its argument cannot corrupt the caller's array,
    and a bad value it returns is reported; the library's trusted callables are called
    directly (their non-finite values are the caller's to check)."""

    def grad_in_place(x: np.ndarray) -> np.ndarray:
        x *= 2.0  # a user callable that reuses its argument
        return x

    user = Objective(lambda x: float(x @ x), grad_in_place, lambda x: 2.0 * np.eye(2), n=2)
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(user.eval_grad(x), [2.0, 4.0])
    np.testing.assert_array_equal(x, [1.0, 2.0])
    nan_user = Objective(lambda x: float("nan"), lambda x: x, lambda x: np.eye(2), n=2)
    with pytest.raises(ValueError, match="f\\(x\\)"):
        nan_user.eval_f_rows(np.zeros((1, 2)))
    trusted = Objective.from_expr("log(x) + y**2", ["x", "y"])
    with np.errstate(all="ignore"):
        assert np.isnan(trusted.eval_f_rows(np.array([[-1.0, 0.0]]))[0])


def test_smooth_max_kept_softmax_follows_the_point_not_the_buffer() -> None:
    # smooth_max keeps the softmax of the last point for the products that follow at it;
    # a caller that moves x in place, or alternates points, must still get the
    # derivatives at the point it passes (checked against the formulas in NumPy).
    rng = np.random.default_rng(3)
    A, b = rng.standard_normal((7, 4)), rng.standard_normal(7)
    obj = smooth_max(A, b, 0.3, 0.7)

    def reference(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = (A @ x + b) / 0.7
        p = np.exp(z - z.max())
        p /= p.sum()
        H = (A.T @ (np.diag(p) - np.outer(p, p)) @ A) / 0.7 + 0.3 * np.eye(4)
        return A.T @ p + 0.3 * x, H

    x = rng.standard_normal(4)
    y = rng.standard_normal(4)
    v = rng.standard_normal(4)
    for point in (x, y, x):
        g, H = reference(point)
        np.testing.assert_allclose(obj.grad(point), g, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(obj.hvp(point, v), H @ v, rtol=1e-12, atol=1e-14)
    buffer = x.copy()
    obj.grad(buffer)
    buffer += 0.5  # (the same array, another point)
    g, H = reference(buffer)
    np.testing.assert_allclose(obj.hvp(buffer, v), H @ v, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(obj.grad(buffer), g, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "expr",
    [
        "(x**2)**1.5 + y**2",
        "(x**4)**0.5 + y",
        "sqrt(x**2 + 1) + y**2",
        "(x**2 + y**2)**1.5",  # (r³: C²)
        "(x**2 + y**4)**1.5",
        "sqrt((x - 1)**2 + (x - 2)**2) + y**2",  # (the two forms have no common zero)
        "sqrt(x**4 + (2*x)**4) + y**2",  # (one form: √17 x²)
        "(x**2 + y**2)**1.0",  # (an integer power written as a float)
        "((x - 1)**2 + (y + 1)**2)**1. + x",
    ],
)
def test_even_powers_under_powers_that_stay_twice_differentiable_are_accepted(expr: str) -> None:
    # |x|³ and x² are C² (the refusal above is of |x|^a with a < 2 only), and
    # sqrt(x² + 1) never reaches the root's kink.
    obj = Objective.from_expr(expr, ["x", "y"])
    x = np.array([-0.7, 0.4])
    h = 1e-6
    fd = [(obj.f(x + h * e) - obj.f(x - h * e)) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(obj.grad(x), fd, rtol=1e-7, atol=1e-9)


def test_a_kink_made_by_a_parameters_value_is_refused_and_a_smooth_value_kept() -> None:
    # sqrt(x² + a) is |x| at a = 0 only: the check reads the parameters' values.
    with pytest.raises(ValueError, match=r"\|x\|\^1, not twice differentiable where x = 0"):
        Objective.from_expr("sqrt(x**2 + a) + y**2", ["x", "y"], params={"a": 0.0})
    with pytest.raises(ValueError, match=r"‖\(x, y\)‖\^1"):
        Objective.from_expr("(x**2 + y**2)**p", ["x", "y"], params={"p": 0.5})
    for p in (1, 1.0, 2.0):  # integer powers, whatever their type
        Objective.from_expr("(x**2 + y**2)**p", ["x", "y"], params={"p": p})
    smooth = Objective.from_expr("sqrt(x**2 + a) + y**2", ["x", "y"], params={"a": 1.0})
    np.testing.assert_allclose(smooth.grad([0.0, 1.0]), [0.0, 2.0], atol=1e-15)


def test_a_parameter_the_expression_never_uses_is_warned_about() -> None:
    # (stranger review) accepted without a word; a sweep over it repeated one run
    with pytest.warns(UserWarning, match=r"`params` \['b'\] do not occur in `expr`"):
        obj = Objective.from_expr("0.5*(x - a*y)**2", ["x", "y"], params={"a": 2.0, "b": 1.0})
    np.testing.assert_allclose(obj.grad([1.0, 0.0]), [1.0, -2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Objective.from_expr("0.5*(x - a*y)**2", ["x", "y"], params={"a": 2.0})


@pytest.mark.parametrize("shift", [0.0, 1e5, 1e7])
def test_smooth_max_curvature_keeps_its_digits_when_the_rows_share_a_large_offset(shift) -> None:
    # (stranger review) Aᵀdiag(p)A − āāᵀ cancels to eps·|a|²/T: rows shifted by a common
    # 1e7 (which changes nothing: the softmax is shift-invariant) gave a Hessian 10% off,
    # and at 1e8 an indefinite one. Reference: the centred covariance in exact rationals.
    from fractions import Fraction

    from filippov.objectives import smooth_max

    rng = np.random.default_rng(3)
    A0 = rng.normal(size=(6, 3))
    T, x = 0.7, rng.normal(size=3)
    obj = smooth_max(A0 + shift, None, lam=0.0, temperature=T)
    z = (A0 @ x) / T  # (the shift adds the same to every z: p is unchanged)
    p = np.exp(z - z.max())
    p /= p.sum()
    P = [Fraction(float(v)) for v in p]
    rows = [[Fraction(float(v)) for v in r] for r in A0]
    mean = [sum(P[i] * rows[i][j] for i in range(6)) for j in range(3)]
    ref = np.array(
        [
            [
                float(sum(P[i] * (rows[i][a] - mean[a]) * (rows[i][b] - mean[b]) for i in range(6)))
                / T
                for b in range(3)
            ]
            for a in range(3)
        ]
    )
    # (the shifted data's own rounding: centred entries good to eps·shift, 2e-9 at 1e7)
    tol = 1e-12 + 1e-14 * shift
    np.testing.assert_allclose(obj.hess(x), ref, rtol=0, atol=tol)
    np.testing.assert_allclose(obj.hess_rows(x, np.array([2, 0])), ref[[2, 0]], rtol=0, atol=tol)
    v = rng.normal(size=3)
    np.testing.assert_allclose(obj.hvp(x, v), ref @ v, rtol=0, atol=tol * 3)
    assert np.linalg.eigvalsh(obj.hess(x)).min() > 0.5 * np.linalg.eigvalsh(ref).min()


@pytest.mark.parametrize("x", [0.0, 10.0, 12.0, 25.0, -400.0])
def test_from_expr_tanh_derivatives_keep_their_digits_in_the_tails(x: float) -> None:
    # (stranger review R18) sympy writes tanh' as 1 - tanh(u)**2, which cancels to the
    # rounding of 1: relative error eps·cosh²(u), and exactly 0 from |u| ≈ 19 on (the
    # gradient of tanh(x - 30) at x = 0 was 0 instead of 3.5e-26: "at rest" to a sign
    # flow). Closed forms with sech² u = 4a/(1 + a)², a = e^{-2|u|}: f' = sech² u,
    # f'' = -2 tanh(u) sech² u; y enters through tanh(sin(y) * y**12) (a sech of a
    # composite argument must compile to real arithmetic, also for y < 0).
    obj = Objective.from_expr("tanh(x - 30) + tanh(sin(y) * y**12)", variables=["x", "y"])
    y = -1.3
    u = x - 30.0
    a = np.exp(-2.0 * abs(u))
    sech2 = 4.0 * a / (1.0 + a) ** 2
    w = np.sin(y) * y**12
    b = np.exp(-2.0 * abs(w))
    sech2_w = 4.0 * b / (1.0 + b) ** 2
    dw = np.cos(y) * y**12 + 12.0 * np.sin(y) * y**11
    g = obj.grad([x, y])
    H = obj.hess([x, y])
    assert g[0] == pytest.approx(sech2, rel=1e-13, abs=0.0)
    assert g[1] == pytest.approx(sech2_w * dw, rel=1e-12, abs=0.0)
    assert H[0, 0] == pytest.approx(-2.0 * np.tanh(u) * sech2, rel=1e-13, abs=0.0)
    assert H[0, 1] == 0.0 and H[1, 0] == 0.0
    assert np.isfinite(H).all()


@pytest.mark.parametrize("name", ["asin", "acos", "atanh"])
def test_from_expr_inverse_function_derivatives_keep_their_digits_near_one(name: str) -> None:
    # (stranger review R18) sympy writes asin' = 1/sqrt(1 - u**2) (acos' its negative,
    # atanh' = 1/(1 - u**2)): with 1 - |u| = δ below 1e-8 the square drops δ², a relative
    # error of about δ/2 (4.5e-10 at δ = 9e-10). Written with (1 - u)(1 + u) (exact near
    # ±1) they are exact to rounding. Closed forms in the factored form, with the exact
    # δ = 1 - |u| of the double u, against the compiled gradient and Hessian.
    obj = Objective.from_expr(f"{name}(x) + y**2", variables=["x", "y"])
    for delta in [1e-12, 3.7e-11, 9e-10, 4e-9, 1e-7]:
        for u in (1.0 - delta, -1.0 + delta):
            q = (1.0 - u) * (1.0 + u)  # (1 - u and 1 + u are exact here)
            d1 = {"asin": 1 / np.sqrt(q), "acos": -1 / np.sqrt(q), "atanh": 1 / q}[name]
            d2 = {"asin": u / q**1.5, "acos": -u / q**1.5, "atanh": 2 * u / q**2}[name]
            assert obj.grad([u, 0.0])[0] == pytest.approx(d1, rel=1e-14, abs=0.0)
            assert obj.hess([u, 0.0])[0, 0] == pytest.approx(d2, rel=1e-13, abs=0.0)
