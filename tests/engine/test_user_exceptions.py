"""A user's function that raises mid-run, whatever it raises, ends the run with status −1
and the partial solution (before: a ``KeyError``, ``IndexError`` or ``TypeError``
propagated out of ``solve`` and the time computed before it was lost)."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

import filippov as fp
from filippov._validation import UserFunction, UserFunctionError, user_function

#: The quadratic ``½‖x − c‖²`` whose user gradient raises left of ``x₀ = BARRIER``.
CENTER = np.array([0.1, 0.5])
BARRIER = 0.3


def _grad(x: np.ndarray) -> np.ndarray:
    return np.asarray(x - CENTER)


def _grad_raising_left_of_the_barrier(x: np.ndarray) -> np.ndarray:
    if x[0] < BARRIER:
        raise KeyError("no data left of the barrier")
    return _grad(x)


def _hess(x: np.ndarray) -> np.ndarray:
    return np.eye(2)


def _value(x: np.ndarray) -> float:
    return 0.5 * float((x - CENTER) @ (x - CENTER))


def _exact_linf_flow(x0: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The ℓ∞ flow of ``½‖x − c‖²`` in closed form: each coordinate moves at unit speed
    towards its ``c_i`` and stays there."""
    gap = x0 - CENTER
    arrived = np.minimum(t[:, None], np.abs(gap)[None, :])
    return x0 - np.sign(gap) * arrived


@pytest.mark.parametrize("method", ["events", "continuation", "auto"])
def test_a_key_error_mid_run_keeps_the_partial_solution(method: str) -> None:
    obj = fp.Objective(_value, grad=_grad_raising_left_of_the_barrier, hess=_hess)
    x0 = np.array([1.0, 2.0])
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 10.0), method=method)
    assert sol.status == -1, sol.message
    # The message names the function, the exception and the user's line that raised.
    assert "`grad` raised KeyError" in sol.message and "no data left of the barrier" in sol.message
    assert "test_user_exceptions.py" in sol.message and "_grad_raising_left" in sol.message
    # What was computed before is kept, and it is the flow's solution: x₀ moves at unit
    # speed on both coordinates until the barrier is reached at t = 0.7.
    t_end = sol.t[-1]
    assert 0.2 < t_end <= 1.0 - BARRIER + 1e-12
    ts = np.linspace(0.0, t_end, 50)
    np.testing.assert_allclose(sol(ts), _exact_linf_flow(x0, ts), atol=1e-8)


def test_an_index_error_of_a_switching_function_keeps_the_partial_solution() -> None:
    def h(x: np.ndarray) -> np.ndarray:
        if x[0] < 0.0:
            raise IndexError("negative states are not tabulated")
        return x

    system = fp.FilippovSystem(lambda x: -np.ones(2), np.eye(2), h, "l1", jac_h=lambda x: np.eye(2))
    sol = fp.solve(system, [1.0, 2.0], (0.0, 3.0))
    assert sol.status == -1
    assert "`h` raised IndexError: negative states are not tabulated" in sol.message
    # x' = −1 − sign(x) = −2 on both coordinates until x₀ reaches 0 at t = 0.5.
    assert 0.1 < sol.t[-1] <= 0.5 + 1e-9
    np.testing.assert_allclose(sol.x[-1], [1.0, 2.0] - 2.0 * sol.t[-1], atol=1e-9)


def test_a_two_field_system_names_the_field_that_raised() -> None:
    def F_plus(x: np.ndarray) -> np.ndarray:
        if x[1] < 0.5:
            raise AttributeError("'Table' object has no attribute 'row'")
        return np.array([1.0, -1.0])

    system = fp.piecewise_system(lambda x: np.array([1.0, 1.0]), F_plus, lambda x: x[0] - 2.0)
    with pytest.warns(UserWarning, match="finite differences"):
        sol = fp.solve(system, [0.0, 1.0], (0.0, 5.0), method="events")
    assert sol.status == -1 and "`F_plus` raised AttributeError" in sol.message
    # x' = (1, 1) up to the crossing at t = 2, then (1, −1): x₁ = 3 − (t − 2) falls
    # to 0.5 at t = 4.5, where F_plus raises.
    assert [e.kind for e in sol.events] == ["crossing"]
    assert 2.0 < sol.t[-1] <= 4.5 + 1e-9
    np.testing.assert_allclose(sol.x[-1], [sol.t[-1], 5.0 - sol.t[-1]], atol=1e-9)


def test_a_type_error_at_the_start_names_the_start_and_chains_the_users_error() -> None:
    def grad(x: np.ndarray) -> np.ndarray:
        return x + "1"  # (a user's bug: a str where a number was meant)

    obj = fp.Objective(_value, grad=grad, hess=_hess)
    with pytest.raises(
        ValueError, match=r"raised at the start x0 = \[1\. 2\.\].*`grad` raised"
    ) as info:
        fp.solve(fp.steepest_descent_flow(obj, "linf"), [1.0, 2.0], (0.0, 1.0))
    wrapped = info.value.__cause__
    assert isinstance(wrapped, UserFunctionError)
    assert isinstance(wrapped.__cause__, TypeError)


def test_numerical_failures_pass_unchanged_and_the_librarys_functions_are_not_wrapped() -> None:
    def grad(x: np.ndarray) -> np.ndarray:
        raise ZeroDivisionError("pole")

    # (ValueError, ArithmeticError, RuntimeError: the engine's own statuses already)
    with pytest.raises(ZeroDivisionError, match="pole"):
        fp.Objective(_value, grad=grad, hess=_hess).grad(np.ones(2))
    library = fp.objectives.ridge_logistic([[1.0, 2.0]], [1.0], 0.1)
    assert not isinstance(library._grad, UserFunction)
    assert user_function(library.grad, "grad") == library.grad  # (a bound method: equal)
    assert user_function(None, "hess") is None
    wrapped = user_function(_grad, "grad")
    assert user_function(wrapped, "grad") is wrapped


def test_wrapped_functions_pickle_and_still_name_the_function() -> None:
    obj = fp.Objective(_value, grad=_grad_raising_left_of_the_barrier, hess=_hess)
    loaded: Any = pickle.loads(pickle.dumps(fp.steepest_descent_flow(obj, "linf")))
    np.testing.assert_allclose(loaded.h(np.array([1.0, 2.0])), [0.9, 1.5])
    with pytest.raises(UserFunctionError, match="`grad` raised KeyError"):
        loaded.h(np.array([0.0, 2.0]))


def test_a_stewart_systems_region_field_that_raises_keeps_the_partial_solution() -> None:
    def below(x: np.ndarray) -> np.ndarray:
        return np.array([1.0, 0.0])

    def above(x: np.ndarray) -> np.ndarray:
        if x[0] > 1.5:
            raise LookupError("no rates tabulated beyond 1.5")
        return np.array([1.0, 0.0])

    system = fp.stewart_system(
        {(-1,): below, (1,): above},
        lambda x: np.array([x[0] - 1.0]),
        jac=lambda x: np.array([[1.0, 0.0]]),
        n=2,
    )
    sol = fp.solve(system, [0.0, 0.0], (0.0, 3.0))
    assert sol.status == -1 and "`fields[(1,)]` raised LookupError" in sol.message
    # x₀ = t: the surface is crossed at t = 1, the field above raises past t = 1.5.
    assert [e.kind for e in sol.events] == ["crossing"]
    assert 1.0 < sol.t[-1] <= 1.5 + 1e-9
    np.testing.assert_allclose(sol.x[-1], [sol.t[-1], 0.0], atol=1e-9)


class _UnprintableError(Exception):
    """A user's exception whose own ``__str__`` raises (a lookup in a table that fails)."""

    def __str__(self) -> str:
        raise KeyError("no text for this error")


def _grad_raising_unprintable(x: np.ndarray) -> np.ndarray:
    if x[0] < BARRIER:
        raise _UnprintableError()
    return _grad(x)


@pytest.mark.parametrize("method", ["events", "continuation"])
def test_an_exception_whose_str_raises_still_ends_the_run_naming_the_function(
    method: str,
) -> None:
    # (before: the KeyError of its __str__, raised while the message was built, escaped
    # `solve` and the run was lost)
    obj = fp.Objective(_value, grad=_grad_raising_unprintable, hess=_hess)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), [1.0, 2.0], (0.0, 10.0), method=method)
    assert sol.status == -1, sol.message
    assert "`grad` raised _UnprintableError" in sol.message
    assert "_grad_raising_unprintable" in sol.message
    assert 0.2 < sol.t[-1] <= 1.0 - BARRIER + 1e-12


@pytest.mark.parametrize("base", [ValueError, RuntimeError, ZeroDivisionError])
@pytest.mark.parametrize("method", ["events", "continuation"])
def test_a_numerical_failure_whose_str_raises_ends_the_run_with_a_readable_message(
    base: type[Exception], method: str
) -> None:
    # The numerical failures (ValueError, ArithmeticError, RuntimeError) pass through
    # `UserFunction` for the engine to handle; one whose own __str__ raised escaped
    # `solve` from the handler that formatted it (a KeyError), and the run was lost.
    class Unprintable(base):  # type: ignore[misc, valid-type]
        def __str__(self) -> str:
            raise KeyError("no text for this error")

    def grad(x: np.ndarray) -> np.ndarray:
        if x[0] < BARRIER:
            raise Unprintable()
        return _grad(x)

    obj = fp.Objective(_value, grad=grad, hess=_hess)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), [1.0, 2.0], (0.0, 10.0), method=method)
    assert sol.status == -1, sol.message
    assert "`grad` raised Unprintable: <str() of the exception raised KeyError>" in sol.message
    assert "test_user_exceptions.py" in sol.message
    # (the partial solution: the exact flow up to the last state before the barrier)
    assert 0.2 < sol.t[-1] <= 1.0 - BARRIER + 1e-12
    ts = np.linspace(0.0, sol.t[-1], 20)
    np.testing.assert_allclose(sol(ts), _exact_linf_flow(np.array([1.0, 2.0]), ts), atol=1e-9)


def test_a_schemes_smoothness_bound_from_a_raising_hessian_is_still_a_value_error() -> None:
    # (before: the UserFunctionError of the wrapped Hessian escaped the step policy's
    # handler, which turns a Hessian that cannot be evaluated into its own ValueError)
    def hess(x: np.ndarray) -> np.ndarray:
        raise TypeError("this Hessian takes a JAX array")

    obj = fp.Objective(_value, grad=_grad, hess=hess)
    with pytest.raises(ValueError, match=r"could not be computed \(`hess` raised TypeError"):
        fp.schemes.SignGD(step="adaptive").run(obj, [0.6, 0.1], n_steps=2)


def test_a_user_glm_loss_raising_mid_run_keeps_the_partial_solution() -> None:
    # (before: a GLMLoss's functions were called unwrapped inside the library's linear
    # model, and a KeyError in its `first` escaped `solve`, the run lost)
    calls = {"first": 0}

    def first(z: np.ndarray, y: np.ndarray) -> np.ndarray:
        calls["first"] += 1
        if calls["first"] > 100:  # (mid-run: a whole run calls it 500 to 700 times)
            raise KeyError("no derivative tabulated")
        return (z - y) / np.sqrt(1.0 + (z - y) ** 2)

    pseudo_huber = fp.objectives.GLMLoss(
        value=lambda z, y: np.sqrt(1.0 + (z - y) ** 2) - 1.0,
        first=first,
        second=lambda z, y: (1.0 + (z - y) ** 2) ** -1.5,
        name="pseudo-huber",
    )
    rng = np.random.default_rng(5)
    A, y = rng.standard_normal((20, 4)), rng.standard_normal(20)
    obj = fp.objectives.linear_model(A, y, 0.1, loss=pseudo_huber)
    x0 = np.array([2.0, -1.0, 0.5, 1.5])
    for method in ("events", "continuation"):
        calls["first"] = 0
        flow = fp.steepest_descent_flow(obj, "l1")
        sol = fp.solve(flow, x0, (0.0, 50.0), method=method, check_derivatives=False)
        assert sol.status == -1, sol.message
        assert "`loss.first` raised KeyError: 'no derivative tabulated'" in sol.message
        assert "test_user_exceptions.py" in sol.message
        # (what was computed before is kept: the run moved off x0, f fell)
        assert sol.t[-1] > 0.0 and obj.f(sol.x[-1]) < obj.f(x0)


def test_a_users_file_named_like_the_package_is_the_users() -> None:
    # (a prefix match without the separator took ``…/filippov_demo.py`` beside the
    # package for the package's own code, and named no line)
    from filippov import _validation

    source = "def grad(x):\n    raise KeyError('beside the package')\n"
    scope: dict[str, Any] = {}
    exec(compile(source, _validation._PACKAGE_DIR + "_demo.py", "exec"), scope)
    with pytest.raises(UserFunctionError, match=r"\(in grad, filippov_demo\.py:2\)"):
        UserFunction(scope["grad"], "grad")(np.zeros(2))
