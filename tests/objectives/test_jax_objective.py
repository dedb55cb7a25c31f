"""Objective.from_jax: JAX autodiff against sympy (from_expr) and hand-written numpy.

The references are independent code paths: ``Objective.from_expr`` differentiates the same
formula symbolically, and the library ``ridge_logistic`` is written out by hand in numpy.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import filippov as fp
from filippov.objectives import Objective, ridge_logistic

jax = pytest.importorskip("jax")  # installed by CI (.ci/run installs the [jax] extra)
jnp = jax.numpy
jax.config.update("jax_enable_x64", True)

EXPR = "log(1 + exp(x - 2*y)) + 0.5*(x - 1)**2 + (y + 0.5)**2 + 0.25*x**2*y**2"
X0 = [2.0, 1.5]


def smooth_loss(v):  # the formula EXPR, in JAX (module level: pickles by reference)
    x, y = v[0], v[1]
    return (
        jnp.log(1 + jnp.exp(x - 2 * y)) + 0.5 * (x - 1) ** 2 + (y + 0.5) ** 2 + 0.25 * x**2 * y**2
    )


@pytest.fixture(scope="module")
def pair() -> tuple[Objective, Objective]:
    return Objective.from_jax(smooth_loss, n=2), Objective.from_expr(EXPR, ["x", "y"])


def test_derivatives_match_the_symbolic_ones(pair: tuple[Objective, Objective]) -> None:
    jx, sy = pair
    rng = np.random.default_rng(3)
    for x in rng.uniform(-2.0, 2.0, (5, 2)):
        v = rng.standard_normal(2)
        assert jx.f(x) == pytest.approx(sy.f(x), rel=1e-14)
        np.testing.assert_allclose(jx.grad(x), sy.grad(x), rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(jx.hess(x), sy.hess(x), rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(jx.hvp(x, v), sy.hess(x) @ v, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(jx.hess_rows(x, [1]), sy.hess(x)[[1]], rtol=1e-13, atol=1e-14)
    X = rng.uniform(-2.0, 2.0, (7, 2))
    np.testing.assert_allclose(jx.grad_batch(X), sy.grad_batch(X), rtol=1e-13, atol=1e-14)
    g = jx.grad(X[0])
    assert g.dtype == np.float64 and type(g) is np.ndarray and g.flags.writeable
    assert jx._hess_kind == "exact"  # n = 2: the dense Hessian is compiled


@pytest.mark.parametrize("norm", ["linf", "l1"])
def test_same_flow_as_from_expr(pair: tuple[Objective, Objective], norm: str) -> None:
    jx, sy = pair
    kw = {"rtol": 1e-10, "atol": 1e-12, "method": "events"}
    a = fp.solve(fp.steepest_descent_flow(jx, norm), X0, (0.0, 6.0), **kw)
    b = fp.solve(fp.steepest_descent_flow(sy, norm), X0, (0.0, 6.0), **kw)
    assert a.status == b.status == 1  # both reach the minimizer (a stationary event)
    assert [e.kind for e in a.events] == [e.kind for e in b.events]
    assert len(a.events) >= 2  # a sliding/tie entry before the stationary point
    np.testing.assert_allclose([e.t for e in a.events], [e.t for e in b.events], rtol=0, atol=1e-10)
    np.testing.assert_allclose(a(6.0), b(6.0), rtol=0, atol=1e-10)


def test_same_signgd_trajectory_as_from_expr(pair: tuple[Objective, Objective]) -> None:
    jx, sy = pair
    a = fp.schemes.SignGD(step=0.01).run(jx, X0, n_steps=500)
    b = fp.schemes.SignGD(step=0.01).run(sy, X0, n_steps=500)
    # Signs of gradients equal to rounding agree away from zero: the iterates, sums of
    # the same signed steps, agree to the last bit or within 1e-12.
    np.testing.assert_allclose(a.x, b.x, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a.t, b.t)
    # the iterates reach the 0.01-neighbourhood of the minimizer and oscillate there
    assert np.max(np.abs(a.x[-1] - a.x[-3])) <= 0.02 + 1e-12


def _ridge_data(m: int = 120, d: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((m, d)) / np.sqrt(d)
    y = np.where(A @ rng.standard_normal(d) + 0.3 * rng.standard_normal(m) > 0, 1.0, -1.0)
    return A, y


_A, _Y = _ridge_data()
_YA = _Y[:, None] * _A  # numpy float64: a constant of the traced function


def ridge_loss(x):  # mean logistic loss + (0.1/2)|x|², the library's ridge_logistic(λ=0.1)
    return jnp.mean(jnp.logaddexp(0.0, -jnp.dot(_YA, x))) + 0.05 * jnp.dot(x, x)


def test_ridge_logistic_d200_runs_the_general_path_on_hvps_only(monkeypatch) -> None:
    # The dense Hessian must not even be built: jax.hessian raises if called.
    def no_dense_hessian(*args, **kwargs):
        raise AssertionError("jax.hessian was called")

    monkeypatch.setattr(jax, "hessian", no_dense_hessian)
    obj = Objective.from_jax(ridge_loss, n=200)
    assert obj._hess_kind == "from hvp"
    counts = {"hvp": 0, "hess_rows": 0}
    hvp, rows = obj._hvp, obj._hess_rows

    def counted_hvp(x, v):
        counts["hvp"] += 1
        return hvp(x, v)

    def counted_rows(x, r):
        counts["hess_rows"] += 1
        return rows(x, r)

    obj._hvp, obj._hess_rows = counted_hvp, counted_rows
    lib = ridge_logistic(_A, _Y, 0.1)  # hand-written numpy gradient and Hessian
    assert lib.quadratic_data is None and obj.quadratic_data is None  # the general path
    x0 = np.random.default_rng(1).standard_normal(200) * 0.5
    a = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 0.05))
    b = fp.solve(fp.steepest_descent_flow(lib, "linf"), x0, (0.0, 0.05))
    assert a.status == b.status == 0
    assert counts["hess_rows"] > 0 and counts["hvp"] > 0
    assert len(a.events) == len(b.events) >= 5
    assert [e.kind for e in a.events] == [e.kind for e in b.events]
    np.testing.assert_allclose([e.t for e in a.events], [e.t for e in b.events], atol=1e-12)
    np.testing.assert_allclose(a(0.05), b(0.05), atol=1e-12)
    # hess_rows (padded batches of HVPs) against the hand-written rows
    for k in (1, 3, 8, 200):
        r = np.sort(np.random.default_rng(k).choice(200, k, replace=False))
        np.testing.assert_allclose(obj.hess_rows(x0, r), lib.hess_rows(x0, r), atol=1e-15)


def test_pickles_by_reference_and_compiles_again(pair: tuple[Objective, Objective]) -> None:
    jx, _ = pair
    back = pickle.loads(pickle.dumps(jx))
    x = np.array([0.4, -0.7])
    np.testing.assert_array_equal(back.grad(x), jx.grad(x))
    np.testing.assert_array_equal(back.hess(x), jx.hess(x))
    assert back.name == "smooth_loss" and back.n == 2
    lam = Objective.from_jax(lambda x: jnp.sum(x**4), n=3)
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(lam)
    cloudpickle = pytest.importorskip("cloudpickle")
    back = pickle.loads(cloudpickle.dumps(lam))
    np.testing.assert_allclose(back.grad([1.0, 2.0, -1.0]), [4.0, 32.0, -4.0], rtol=1e-15)


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="`fun` must be callable"):
        Objective.from_jax("x**2")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`dense_hessian`"):
        Objective.from_jax(smooth_loss, n=2, dense_hessian="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`n` must be a positive integer"):
        Objective.from_jax(smooth_loss, n=0)
    obj = Objective.from_jax(smooth_loss, n=2, dense_hessian=False)
    assert obj._hess_kind == "from hvp"
    with pytest.raises(ValueError, match="must have length 2"):
        obj.grad([1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("fun", "shape"),
    [
        (lambda v: v, "(2,)"),
        (lambda v: jnp.outer(v, v), "(2, 2)"),
        (lambda v: v.sum()[None], "(1,)"),
    ],
)
def test_a_non_scalar_fun_is_named_with_the_shape_it_returned(fun, shape: str) -> None:
    obj = Objective.from_jax(fun, n=2)
    for method in (obj.f, obj.grad):
        with pytest.raises(
            ValueError, match=rf"`fun` must return a scalar \(shape \(\)\).*{shape}"
        ):
            method(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="`fun` must return a scalar"):  # before any step
        fp.schemes.SignGD(step=0.1).run(obj, [1.0, 2.0], n_steps=3)


def test_jax_hessian_rows_asked_for_twice_are_given_twice() -> None:
    # (stranger review) more rows than n, repeats included, overflowed the padded batch:
    # IndexError with dense_hessian=False
    jnp = pytest.importorskip("jax.numpy")
    obj = fp.Objective.from_jax(lambda x: jnp.sum(x**4) + x[0] * x[1], n=3, dense_hessian=False)
    x = np.array([1.0, 2.0, 3.0])
    H = np.array([[12.0, 1.0, 0.0], [1.0, 48.0, 0.0], [0.0, 0.0, 108.0]])
    rows = np.array([2, 0, 0, 1, 1])
    np.testing.assert_allclose(obj.hess_rows(x, rows), H[rows], rtol=1e-14)
