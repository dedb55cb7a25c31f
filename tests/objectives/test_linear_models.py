"""``objectives.linear_model``: generalized linear models with a ridge term.

Every named loss against the same objective written as a formula (``Objective.from_expr``:
sympy derives its gradient and Hessian independently of the hand-written derivatives),
the logistic loss against ``ridge_logistic``, a loss of the user's, the continuation path's
column products against plain callables, and the input checks.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import problems as P
import pytest

import filippov as fp
from filippov.objectives import GLM_LOSSES, GLMLoss, Objective, linear_model, ridge_logistic

#: The per-sample loss as a formula in ``z`` (the sample's ``a_iᵀx``) and ``y``.
FORMULAS = {
    "logistic": "log(1 + exp(-({y})*({z})))",
    "poisson": "exp({z}) - ({y})*({z})",
    "squared": "0.5*(({z}) - ({y}))**2",
    "logcosh": "log(cosh(({z}) - ({y})))",
}


def _data(loss: str, m: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    if loss == "logistic":
        y = np.where(rng.standard_normal(m) > 0, 1.0, -1.0)
    elif loss == "poisson":
        y = rng.poisson(2.0, m).astype(float)
    else:
        y = rng.standard_normal(m) * 2.0
    return A, y


def _as_formula(formula: str, A: np.ndarray, y: np.ndarray, lam: float) -> Objective:
    m, n = A.shape
    names = [f"x{j}" for j in range(n)]
    terms = []
    for i in range(m):
        z = " + ".join(f"({float(A[i, j])!r})*x{j}" for j in range(n))
        terms.append(formula.format(z=z, y=repr(float(y[i]))))
    expr = (
        f"({' + '.join(terms)})/{m} + {lam!r}/2*(" + " + ".join(f"x{j}**2" for j in range(n)) + ")"
    )
    return Objective.from_expr(expr, names)


@pytest.mark.parametrize("loss", sorted(FORMULAS))
def test_named_losses_match_their_formulas(loss: str) -> None:
    A, y = _data(loss, 5, 3, 1)
    obj = linear_model(A, y, 0.3, loss=loss)
    ref = _as_formula(FORMULAS[loss], A, y, 0.3)
    rng = np.random.default_rng(2)
    for _ in range(3):
        x = rng.standard_normal(3) * 0.7
        v = rng.standard_normal(3)
        assert obj.f(x) == pytest.approx(ref.f(x), rel=1e-13, abs=1e-14)
        np.testing.assert_allclose(obj.grad(x), ref.grad(x), rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(obj.hess(x), ref.hess(x), rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(obj.hvp(x, v), ref.hess(x) @ v, rtol=1e-12, atol=1e-13)
        rows = np.array([2, 0])
        np.testing.assert_allclose(
            obj.hess_rows(x, rows), ref.hess(x)[rows], rtol=1e-12, atol=1e-13
        )
        X = rng.standard_normal((4, 3))
        np.testing.assert_allclose(
            obj.grad_batch(X), [ref.grad(r) for r in X], rtol=1e-12, atol=1e-13
        )
    assert obj.check_derivatives(x).ok


def test_logistic_loss_is_ridge_logistic_with_zero_one_labels() -> None:
    A, y = _data("logistic", 30, 4, 5)
    y01 = (y + 1.0) / 2.0
    obj = linear_model(A, y01, 0.05)
    ref = ridge_logistic(A, y, 0.05)
    x = np.random.default_rng(6).standard_normal(4)
    assert obj.f(x) == pytest.approx(ref.f(x), rel=1e-14)
    np.testing.assert_allclose(obj.grad(x), ref.grad(x), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(obj.hess(x), ref.hess(x), rtol=1e-13, atol=1e-15)


def _cauchy_value(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.log1p((z - y) ** 2)


def _cauchy_first(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 2 * (z - y) / (1 + (z - y) ** 2)


def _cauchy_second(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 2 * (1 - (z - y) ** 2) / (1 + (z - y) ** 2) ** 2


CAUCHY = GLMLoss(_cauchy_value, _cauchy_first, _cauchy_second, name="cauchy")


def test_a_loss_of_the_users_matches_its_formula_and_pickles() -> None:
    A, y = _data("squared", 6, 3, 8)
    obj = linear_model(A, y, 0.5, loss=CAUCHY)
    assert "cauchy" in obj.name
    ref = _as_formula("log(1 + (({z}) - ({y}))**2)", A, y, 0.5)
    x = np.array([0.3, -0.2, 0.1])
    np.testing.assert_allclose(obj.grad(x), ref.grad(x), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(obj.hess(x), ref.hess(x), rtol=1e-12, atol=1e-13)
    back = pickle.loads(pickle.dumps(obj))  # module-level functions: the recipe pickles
    np.testing.assert_array_equal(back.grad(x), obj.grad(x))
    named = linear_model(A, y, 0.5, loss="logcosh")
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(named)).grad(x), named.grad(x))


def test_a_wrong_derivative_of_the_users_is_caught_by_the_derivative_check() -> None:
    wrong = GLMLoss(_cauchy_value, lambda z, y: 2 * (z - y), _cauchy_second, name="wrong")
    A, y = _data("squared", 6, 3, 8)
    obj = linear_model(A, y, 0.5, loss=wrong)
    assert not obj.check_derivatives(np.array([0.5, -0.4, 0.3])).ok


@pytest.mark.parametrize(("loss", "norm"), [("poisson", "linf"), ("logcosh", "l1")])
def test_flows_take_column_products_and_match_plain_callables(loss: str, norm: str) -> None:
    """The continuation path on a linear model's columns (no call of the objective's own
    ``hvp`` or Hessian rows) against the same objective as plain callables: the same
    events and dense output, and the minimizer at the end."""
    d = 70 if norm == "linf" else 24
    A, y = _data(loss, 4 * d, d, 3)
    A *= 0.3  # (a Poisson model with moderate rates)
    obj = linear_model(A, y, 0.1, loss=loss)
    plain = Objective(obj.f, obj.grad, obj.hess, hvp=obj.hvp, n=d)
    calls: list[str] = []
    raw_hvp, raw_rows = obj._hvp, obj._hess_rows
    assert raw_rows is not None
    obj._hvp = lambda x, v: (calls.append("hvp"), raw_hvp(x, v))[1]
    obj._hess_rows = lambda x, r: (calls.append("rows"), raw_rows(x, r))[1]
    x0 = np.random.default_rng(4).standard_normal(d)
    fast = fp.solve(fp.steepest_descent_flow(obj, norm), x0, (0.0, 80.0), check_derivatives=False)
    obj._hvp, obj._hess_rows = raw_hvp, raw_rows
    assert fast.method == "continuation" and fast.status == 1, fast.message
    if norm == "linf":
        assert calls == []  # (the greedy flow's tie blocks read Hessian rows)
    ref = fp.solve(fp.steepest_descent_flow(plain, norm), x0, (0.0, 80.0), method="continuation")
    assert ref.status == 1
    assert [(e.kind, e.indices) for e in fast.events] == [(e.kind, e.indices) for e in ref.events]
    np.testing.assert_allclose(
        [e.t for e in fast.events], [e.t for e in ref.events], rtol=0, atol=1e-9
    )
    ts = np.linspace(0.0, fast.events[-1].t, 31)
    np.testing.assert_allclose(fast(ts), ref(ts), rtol=0, atol=1e-9)
    np.testing.assert_allclose(fast.x[-1], P.newton_minimizer(obj, d), rtol=0, atol=1e-10)


def test_bad_input_is_refused_with_the_problem_named() -> None:
    A, y = _data("poisson", 5, 2, 0)
    with pytest.raises(ValueError, match="`loss` must be one of"):
        linear_model(A, y, 0.1, loss="hinge")
    with pytest.raises(TypeError, match="`loss` must be a loss name or a GLMLoss"):
        linear_model(A, y, 0.1, loss=np.exp)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="nonnegative counts"):
        linear_model(A, -y - 1.0, 0.1, loss="poisson")
    with pytest.raises(ValueError, match=r"labels in \{-1, 1\}"):
        linear_model(A, [0.0, 2.0, 0.0, 2.0, 0.0], 0.1, loss="logistic")
    with pytest.raises(ValueError, match="`y`"):
        linear_model(A, y[:3], 0.1, loss="squared")
    with pytest.raises(ValueError, match="`lam`"):
        linear_model(A, y, -1.0, loss="squared")
    bad_A = A.copy()
    bad_A[1, 1] = np.nan
    with pytest.raises(ValueError, match="`A`"):
        linear_model(bad_A, y, 0.1, loss="squared")
    scalar = GLMLoss(_cauchy_value, lambda z, y: float(np.sum(z)), _cauchy_second)
    with pytest.raises(ValueError, match=r"`first` must return an array of shape \(5,\)"):
        linear_model(A, y, 0.1, loss=scalar)
    assert set(GLM_LOSSES) == set(FORMULAS)


@pytest.mark.parametrize("norm", ["linf", "l1"])
def test_a_loss_with_negative_curvature_at_some_samples_runs_on_the_columns(norm: str) -> None:
    """The Cauchy loss has ℓ'' < 0 wherever |z − y| > 1; with λ = 1 the objective is still
    strongly convex. The block of the sliding columns has no square root of its weights
    there: the run must still follow the flow (as the generic products do)."""
    d = 12
    A, y = _data("squared", 4 * d, d, 21)
    y *= 3.0  # (large residuals: many samples with ℓ'' < 0 along the flow)
    obj = linear_model(A, y, 1.0, loss=CAUCHY)
    x0 = np.random.default_rng(22).standard_normal(d)
    assert (_cauchy_second(A @ x0, y) < 0).sum() >= 5
    assert np.linalg.eigvalsh(obj.hess(x0))[0] > 0.1
    system = fp.steepest_descent_flow(obj, norm)
    fast = fp.solve(system, x0, (0.0, 80.0), method="continuation")
    assert fast.status == 1, fast.message
    plain = Objective(obj.f, obj.grad, obj.hess, hvp=obj.hvp, n=d)
    ref = fp.solve(fp.steepest_descent_flow(plain, norm), x0, (0.0, 80.0), method="continuation")
    assert [(e.kind, e.indices) for e in fast.events] == [(e.kind, e.indices) for e in ref.events]
    np.testing.assert_allclose(
        [e.t for e in fast.events], [e.t for e in ref.events], rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(fast.x[-1], P.newton_minimizer(obj, d), rtol=0, atol=1e-10)


def test_tails_are_finite_without_warnings() -> None:
    """Far from the data: log-cosh's curvature sech² r without overflow (1/cosh² r
    computed by the standard library for comparison), Poisson's e^z overflow reported by
    the objective's own check, not by a numpy warning (warnings are errors here)."""
    obj = linear_model([[1.0]], [0.0], 0.0, loss="logcosh")
    for r in (20.0, 300.0, 400.0):
        h = float(obj.hess(np.array([r]))[0, 0])
        assert h == pytest.approx(
            1.0 / math.cosh(r) ** 2 if r < 355 else 0.0, rel=1e-12, abs=1e-300
        )
        assert float(obj.grad(np.array([-r]))[0]) == pytest.approx(-1.0, rel=1e-15)
    poisson = linear_model([[1.0], [2.0]], [1.0, 0.0], 0.1, loss="poisson")
    with pytest.raises(ValueError, match="finite"):
        poisson.grad(np.array([400.0]))


def test_batches_of_no_rows_and_bad_loss_fields() -> None:
    obj = linear_model(*_data("poisson", 5, 3, 0), 0.1, loss="poisson")
    assert obj.grad_batch(np.zeros((0, 3))).shape == (0, 3)
    with pytest.raises(TypeError, match="GLMLoss `second` must be a callable"):
        GLMLoss(_cauchy_value, _cauchy_first, 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`name` must be a string"):
        GLMLoss(_cauchy_value, _cauchy_first, _cauchy_second, name=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\{-1, 1\} or \{0, 1\}"):
        linear_model([[1.0], [2.0]], [0.0, 2.0], 0.1)
