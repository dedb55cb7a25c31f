"""Derivatives users bring: the checker, and solve / run refusing inconsistent ones.

The checker must never raise a false alarm on a correct derivative (it runs by default
inside ``solve``), and must catch every plausible slip: a sign, a missing term, a
transposed or asymmetric Hessian entry.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import filippov as fp
from filippov.objectives import Objective, ridge_logistic, smooth_max

# -- objectives with hand-written derivatives, correct by construction -------------------


def _quartic_coupled(n: int, seed: int) -> tuple[Objective, np.ndarray]:
    """f = ½xᵀAx + Σ (x_i − c_i)⁴ + cosh(x_0 − x_1): numpy callables written out by hand."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    A = M @ M.T + n * np.eye(n)
    c = rng.standard_normal(n)

    def f(x):
        return 0.5 * x @ A @ x + np.sum((x - c) ** 4) + np.cosh(x[0] - x[1])

    def grad(x):
        g = A @ x + 4 * (x - c) ** 3
        s = np.sinh(x[0] - x[1])
        g[0] += s
        g[1] -= s
        return g

    def hess(x):
        H = A + np.diag(12 * (x - c) ** 2)
        ch = np.cosh(x[0] - x[1])
        H[0, 0] += ch
        H[1, 1] += ch
        H[0, 1] -= ch
        H[1, 0] -= ch
        return H

    return Objective(f, grad, hess, n=n, name="quartic+cosh"), rng.standard_normal(n)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(n=st.integers(2, 12), seed=st.integers(0, 10_000), scale=st.sampled_from([1e-3, 1.0, 20.0]))
def test_correct_derivatives_pass(n, seed, scale):
    obj, x = _quartic_coupled(n, seed)
    check = obj.check_derivatives(scale * x)
    assert check.ok, str(check)
    assert check.grad_error <= 1e-6 and check.hess_error <= 1e-6


@pytest.mark.parametrize(
    ("expr", "names", "x"),
    [
        ("cosh(x1 - x2) + x0**2", ["x0", "x1", "x2"], [0.3, 1.0, -0.5]),
        ("exp(30*x) + y**2", ["x", "y"], [1.0, 1.0]),  # steep: truncation dominates
        ("log(x) + y**2", ["x", "y"], [1e-9, 1.0]),  # the step is wider than x at first
        ("1/x + y**2", ["x", "y"], [1e-6, 1.0]),
        ("sin(1000*x) + y**2", ["x", "y"], [1.0, 2.0]),  # fast oscillation
        ("(1 - x)**2 + 100*(y - x**2)**2", ["x", "y"], [-1.2, 1.0]),
        ("x**8 + y**2", ["x", "y"], [100.0, 1.0]),
        ("x**4 + y**2", ["x", "y"], [0.0, 0.0]),  # every derivative but one vanishes
    ],
)
def test_no_false_alarm_on_hard_but_correct_expressions(expr, names, x):
    check = Objective.from_expr(expr, variables=names).check_derivatives(x)
    assert check.ok, str(check)


def test_library_objectives_pass():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((40, 6))
    y = np.sign(rng.standard_normal(40))
    for obj in (ridge_logistic(A, y, 0.1), smooth_max(rng.standard_normal((5, 6)), None, 0.5, 2.0)):
        assert obj.check_derivatives(rng.standard_normal(6)).ok


def test_sympy_subexpression_names_never_meet_user_names():
    """The reproduction of the issue: cse named its temporaries x0, x1, ... (sympy 25043)."""
    obj = Objective.from_expr("cosh(x1 - x2)", variables=["x0", "x1", "x2"])
    s = np.sinh(1.0)
    np.testing.assert_allclose(obj.grad([0.0, 1.0, 0.0]), [0.0, s, -s], rtol=1e-14)
    np.testing.assert_allclose(
        obj.hess([0.0, 0.0, 0.0]), [[0, 0, 0], [0, 1, -1], [0, -1, 1]], rtol=1e-14
    )
    # the same formula over other names gives the same numbers
    other = Objective.from_expr("cosh(b - c)", variables=["a", "b", "c"])
    x = np.array([0.2, 0.7, -0.4])
    np.testing.assert_allclose(obj.grad(x), other.grad(x), rtol=1e-14)
    np.testing.assert_allclose(obj.hess(x), other.hess(x), rtol=1e-14)


@pytest.mark.parametrize("name", ["numpy", "scipy", "builtins", "Dummy", "arg0"])
def test_variables_named_like_the_compiled_codes_modules_are_variables(name: str) -> None:
    # (stranger review) lambdify puts the arguments' names into the generated code's
    # namespace: a variable called numpy took the place of the module, and f raised
    # "'Symbol' object has no attribute 'sqrt'".
    obj = Objective.from_expr(f"sqrt(1 + {name}**2) + exp({name})*y", variables=[name, "y"])
    ref = Objective.from_expr("sqrt(1 + x**2) + exp(x)*y", variables=["x", "y"])
    x = np.array([0.5, 2.0])
    assert obj.f(x) == pytest.approx(ref.f(x), rel=1e-15)
    np.testing.assert_allclose(obj.grad(x), ref.grad(x), rtol=1e-15)
    np.testing.assert_allclose(obj.hess(x), ref.hess(x), rtol=1e-15)
    assert obj.f(x) == pytest.approx(np.sqrt(1.25) + 2 * np.exp(0.5), rel=1e-15)


# -- wrong derivatives are reported, and refused -----------------------------------------

H2 = np.array([[2.0, 1.0], [1.0, 3.0]])


def _with(grad_sign=(1.0, 1.0), hess_mask=((1.0, 1.0), (1.0, 1.0))):
    sign = np.asarray(grad_sign)
    mask = np.asarray(hess_mask)
    return Objective(
        lambda x: 0.5 * x @ H2 @ x + np.cosh(x[0]),
        lambda x: sign * (H2 @ x + np.array([np.sinh(x[0]), 0.0])),
        lambda x: mask * (H2 + np.diag([np.cosh(x[0]), 0.0])),
        n=2,
    )


WRONG = {
    "gradient": _with(grad_sign=(1.0, -1.0)),
    "Hessian": _with(hess_mask=((1.0, -1.0), (-1.0, 1.0))),  # symmetric sign slip
    "Hessian ": _with(hess_mask=((1.0, -1.0), (1.0, 1.0))),  # one entry only
}


@pytest.mark.parametrize("culprit", sorted(WRONG))
def test_wrong_derivative_is_reported(culprit):
    check = WRONG[culprit].check_derivatives([0.7, -1.3])
    assert not check.ok
    assert check.culprit == culprit.strip()
    assert culprit.strip() in str(check)
    assert max(check.grad_error, check.hess_error) > 1e-2


@pytest.mark.parametrize("culprit", sorted(WRONG))
@pytest.mark.parametrize("norm", ["linf", "l1", "l2"])
def test_solve_refuses_a_wrong_derivative(culprit, norm):
    flow = fp.steepest_descent_flow(WRONG[culprit], norm)
    with pytest.raises(ValueError, match=culprit.strip()) as info:
        fp.solve(flow, [0.7, -1.3], (0.0, 3.0))
    assert "check_derivatives=False" in str(info.value)


@pytest.mark.filterwarnings("ignore:overflow encountered in dot:RuntimeWarning")
def test_wrong_gradient_of_huge_size_is_reported():
    """A gradient three times too large is caught at |g| ~ 1e200 as at |g| ~ 1e100 (the
    gradient's scale once overflowed to inf there, and every error read as 0)."""
    for scale in (1e100, 1e200):
        curvature = np.array([scale, 1.0])
        wrong = Objective(
            lambda x, L=curvature: 0.5 * float(L @ (x * x)),
            lambda x, L=curvature: 3.0 * L * x,
            lambda x, L=curvature: np.diag(3.0 * L),
            n=2,
        )
        check = wrong.check_derivatives(np.ones(2), hessian=False)
        assert not check.ok, scale
        assert check.culprit == "gradient"
        right = Objective(
            lambda x, L=curvature: 0.5 * float(L @ (x * x)),
            lambda x, L=curvature: L * x,
            lambda x, L=curvature: np.diag(L),
            n=2,
        )
        assert right.check_derivatives(np.ones(2), hessian=False).ok, scale


def test_solve_check_can_be_turned_off():
    flow = fp.steepest_descent_flow(WRONG["Hessian"], "l2")
    sol = fp.solve(flow, [0.7, -1.3], (0.0, 3.0), check_derivatives=False)
    assert sol.t[-1] > 0.0
    with pytest.raises(TypeError, match="check_derivatives"):
        fp.solve(flow, [0.7, -1.3], (0.0, 3.0), check_derivatives="no")


def test_scheme_run_refuses_a_wrong_gradient():
    with pytest.raises(ValueError, match="gradient"):
        fp.schemes.SignGD(step=0.01).run(WRONG["gradient"], [0.7, -1.3], n_steps=5)
    traj = fp.schemes.SignGD(step=0.01).run(
        WRONG["gradient"], [0.7, -1.3], n_steps=5, check_derivatives=False
    )
    assert traj.x.shape == (6, 2)


def test_solve_refuses_a_wrong_jacobian_of_a_general_system():
    # x' ∈ −Sign(h(x)) with h(x) = (x0² + x1, x1): jac_h has the sign of one entry wrong.
    def h(x):
        return np.array([x[0] ** 2 + x[1], x[1]])

    def good(x):
        return np.array([[2 * x[0], 1.0], [0.0, 1.0]])

    def bad(x):
        return np.array([[2 * x[0], -1.0], [0.0, 1.0]])

    ok = fp.FilippovSystem(np.zeros(2), np.eye(2), h, "l1", jac_h=good)
    assert fp.solve(ok, [0.5, 0.4], (0.0, 1.0)).status >= 0
    wrong = fp.FilippovSystem(np.zeros(2), np.eye(2), h, "l1", jac_h=bad)
    with pytest.raises(ValueError, match="jac_h"):
        fp.solve(wrong, [0.5, 0.4], (0.0, 1.0))


def test_check_derivatives_arguments():
    obj = Objective.from_expr("x**2 + y**2", variables=["x", "y"])
    with pytest.raises(TypeError, match="n_directions"):
        obj.check_derivatives([1.0, 2.0], n_directions=1.5)
    with pytest.raises(ValueError, match="n_directions"):
        obj.check_derivatives([1.0, 2.0], n_directions=0)
    with pytest.raises(ValueError, match="tol"):
        obj.check_derivatives([1.0, 2.0], tol=-1.0)
    with pytest.raises(ValueError, match="x"):
        obj.check_derivatives([1.0, np.nan])


@pytest.mark.parametrize("factor", [1.001, 1.01, 1.05])
def test_derivatives_off_by_a_fraction_of_a_percent_are_caught(factor: float) -> None:
    # (stranger review) the step kept shrinking while it saw a mismatch and returned "no
    # mismatch" where the rounding, growing like 1/s, first swallowed it: gradients 1%
    # off and Hessians 0.1% off passed a check of tolerance 1e-6.
    x = np.array([3.0, 2.5, -1.0, 2.0])
    f = lambda y: float(np.exp(y).sum())  # noqa: E731
    wrong_grad = Objective(f, lambda y: factor * np.exp(y), lambda y: np.diag(np.exp(y)))
    check = wrong_grad.check_derivatives(x)
    assert not check.ok and check.grad_error > 1e-4
    assert "gradient" in str(check)
    wrong_hess = Objective(f, lambda y: np.exp(y), lambda y: factor * np.diag(np.exp(y)))
    check = wrong_hess.check_derivatives(x)
    assert not check.ok and check.grad_error == 0.0 and check.hess_error > 5e-4


def test_a_feature_the_larger_steps_did_not_resolve_is_no_mismatch() -> None:
    # (review of the change above) a bump 4.3e-6 wide on a value of 3.5e6 (5000 ulps of f
    # tall) reads 0.056 off at a step of 7e-6 and 1e-4 at 7e-7, where rounding starts to
    # dominate: the mismatch fell with the step, so it was the wide step's, not the
    # gradient's (exact here, closed form).
    C, w, A = 3523758.5168608795, 4.3399664586788105e-06, 2.3605611498739973e-06
    obj = Objective(
        lambda y: C + y[0] + A * np.exp(-((y[0] / w) ** 2)),
        lambda y: np.array([1 - 2 * A * y[0] / w**2 * np.exp(-((y[0] / w) ** 2))]),
        lambda y: np.array(
            [[-2 * A / w**2 * (1 - 2 * y[0] ** 2 / w**2) * np.exp(-((y[0] / w) ** 2))]]
        ),
        name="bump",
    )
    assert obj.check_derivatives(np.array([6.700239402065745e-06])).ok


# -- an objective large beside its variation: f's rounding hides gradient errors ---------


def _offset(offset: float, *, wrong_grad: bool = False, wrong_hess: bool = False) -> Objective:
    """``f = x0²x1 + sin x1 + 3x0 + offset``, the gradient missing ``cos x1`` or the
    Hessian missing ``−sin x1`` on request."""

    def grad(x):
        return np.array([2 * x[0] * x[1] + 3, x[0] ** 2 + (0.0 if wrong_grad else np.cos(x[1]))])

    def hess(x):
        return np.array([[2 * x[1], 2 * x[0]], [2 * x[0], 0.0 if wrong_hess else -np.sin(x[1])]])

    return Objective(lambda x: x[0] ** 2 * x[1] + np.sin(x[1]) + 3 * x[0] + offset, grad, hess, n=2)


X_OFFSET = np.array([0.7, 1.3])


def test_a_wrong_gradient_under_a_large_offset_is_blamed_not_the_hessian() -> None:
    # At f ≈ 1e12 the rounding of f's differences (~2 at the usual step) exceeded the
    # gradient's error (cos 1.3 = 0.27): the gradient passed, and its disagreement with
    # the correct Hessian was reported as "the Hessian ... disagrees".
    check = _offset(1e12, wrong_grad=True).check_derivatives(X_OFFSET)
    assert not check.ok
    assert check.culprit == "gradient", str(check)
    assert str(check).startswith("the gradient of")
    with pytest.raises(ValueError, match="the gradient of"):
        fp.solve(fp.steepest_descent_flow(_offset(1e12, wrong_grad=True), "l2"), X_OFFSET, (0, 1))


def test_a_wrong_hessian_under_a_large_offset_is_never_blamed_on_the_gradient() -> None:
    check = _offset(1e12, wrong_hess=True).check_derivatives(X_OFFSET)
    assert not check.ok and check.grad_error == 0.0
    assert check.culprit in ("Hessian", "gradient or Hessian")
    assert "Hessian" in str(check)
    if check.culprit == "gradient or Hessian":  # (then it says why it cannot tell)
        assert "could not be checked against f" in str(check)


def test_correct_derivatives_under_a_large_offset_pass_and_say_what_was_checked() -> None:
    small = _offset(0.0).check_derivatives(X_OFFSET)
    assert small.ok and small.grad_resolution < 1e-8 and "resolve" not in str(small)
    large = _offset(1e12).check_derivatives(X_OFFSET)
    assert large.ok and large.culprit is None
    # (f's rounding at 1e12, ~1e-4 per value, over a step of ~1e-3: no gradient error
    # below order one could be seen, and the verdict says so)
    assert large.grad_resolution > 0.1
    assert "resolve the gradient only" in str(large)


@pytest.mark.parametrize(
    ("offset", "warned"), [(0.0, False), (1e6, False), (1e9, True), (1e12, True)]
)
def test_solve_says_when_the_gradient_could_not_be_checked(offset: float, warned: bool) -> None:
    # (a review: under f + 1e12 a gradient off by 100% of its norm passed the check at x0,
    # and solve ran with it, saying nothing; its finite differences cannot see it there)
    import warnings

    import filippov as fp

    obj = Objective.from_expr(f"exp(0.5*x) + (x - y)**2 + cos(y) + {offset!r}", ["x", "y"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fp.solve(fp.steepest_descent_flow(obj, "linf"), [0.3, -0.7], (0.0, 0.1))
    said = [w for w in caught if "could be checked against f" in str(w.message)]
    assert bool(said) == warned
