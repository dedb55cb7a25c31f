"""Pathological formulas are refused with a clear ValueError instead of running for minutes.

The limits (filippov/objectives/expression.py): 20 000 characters, a syntax tree at most
100 levels deep, exact numeric powers of at most 4096 bits, exponents of a variable at most
1000 in magnitude, and operations on the variables nested at most 32 deep (the symbolic Hessian
grows like the cube of that depth). Refusals are immediate (timings in the report and
README); the tests check the errors and that formulas at the limits still work.
"""

from __future__ import annotations

import numpy as np
import pytest

from filippov.objectives import Objective

DEEP = 10**4


def _nest(fn: str, depth: int, inner: str = "x") -> str:
    return f"{fn}(" * depth + inner + ")" * depth


REFUSED = {
    "10^4 nested parentheses": ("(" * DEEP + "x" + ")" * DEEP, "at most 20000 characters"),
    "10^4 nested sin": (_nest("sin", DEEP), "at most 20000 characters"),
    "10^4 nested unary minus": ("-" * DEEP + "x", "nested at most 100 levels"),
    "150 nested exp": (_nest("exp", 150), "nested at most 100 levels"),
    "10^6 characters": ("+".join(["x"] * (5 * 10**5)), "at most 20000 characters"),
    "9**9**9**9": ("9**9**9**9", "numeric powers this large"),
    "2**10**10": ("2**10**10", "numeric powers this large"),
    "x**(10**100)": ("x**(10**100)", "exponents of a variable must be at most 1000"),
    "x**-1e300": ("x**-1e300", "exponents of a variable must be at most 1000"),
    "(x+1)**2001": ("(x + 1)**2001", "exponents of a variable must be at most 1000"),
    "sin nested 33 deep": (_nest("sin", 33), "at most 32 deep"),
    "sin nested 80 deep": (_nest("sin", 80), "at most 32 deep"),
    "sin nested 120 deep": (_nest("sin", 120), "nested at most 100 levels"),
    "Horner form 20 deep": ("x*(1 + " * 20 + "x" + ")" * 20, "at most 32 deep"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_pathological_formulas_are_refused(case):
    expr, message = REFUSED[case]
    with pytest.raises(ValueError, match=message):
        Objective.from_expr(expr, ["x"])


def test_formulas_at_the_limits_still_work():
    # sin nested 32 deep: f' is the product of cos(sin^k(x)), k = 0..31 (chain rule),
    # computed here by a loop, not by sympy.
    obj = Objective.from_expr(_nest("sin", 32), ["x"])
    x = 0.7
    inner, slope = x, 1.0
    for _ in range(32):
        slope *= np.cos(inner)
        inner = np.sin(inner)
    assert obj.f([x]) == pytest.approx(inner, rel=1e-14)
    assert obj.grad([x])[0] == pytest.approx(slope, rel=1e-12)
    # a power of exactly 1000, and a constant power that is large but exact
    obj = Objective.from_expr("1e-3 * x**1000 + 2**1000 * 1e-300 * x**2", ["x"])
    assert obj.grad([1.0])[0] == pytest.approx(1.0 + 2 * 2.0**1000 * 1e-300, rel=1e-14)
    # a long sum (a wide, flat tree) is not a deep one
    obj = Objective.from_expr(" + ".join(f"{k}*x**2" for k in range(1, 400)), ["x"])
    assert obj.grad([1.0])[0] == 2.0 * sum(range(1, 400))


# ------------------------------ pathological flows answer with a status, never loop
@pytest.mark.parametrize("x0", [0.5, 2.0, -0.5])
def test_l2_flow_of_log_x_squared_stops_at_the_pole(x0):
    # In 1-D the ℓ2 flow moves at unit speed towards the pole x = 0 of ∇f = 2/x, reached
    # at t = |x0|; there h turns around without passing through 0: status −3.
    import filippov as fp

    obj = Objective.from_expr("log(x**2)", ["x"])
    sol = fp.solve(fp.steepest_descent_flow(obj, "l2"), [x0], (0.0, 10.0))
    assert sol.status == -3
    assert "pole or discontinuity" in sol.message and "returned up to" in sol.message
    assert sol.t[-1] == pytest.approx(abs(x0), abs=1e-8)
    assert abs(sol.x[-1, 0]) < 1e-8


@pytest.mark.parametrize(
    ("x0", "y0"), [(0.5, 1.0), (0.7333333333333333, 2.0), (0.9708333333333333, 1.0), (1.525, 2.0)]
)
def test_l2_flow_of_log_x_plus_y_squared_stops_at_the_pole(x0: float, y0: float) -> None:
    # The ℓ2 flow is the gradient flow x' = −1/x, y' = −2y in arc length: x² = x0² − 2s,
    # y = y0 e^{−2s}; x reaches 0 at s* = x0²/2, after the length ∫ ‖∇f‖ ds. (From these
    # starts the integrator crawled up to the pole and ended a step just past it, where
    # ‖h‖ was already huge at both ends: the turn was taken for an arrival, and only the
    # self-check caught the "stationary point", with a rest segment up to t = 10.)
    from scipy.integrate import quad

    import filippov as fp

    length = quad(
        lambda s: np.sqrt(1.0 / (x0**2 - 2.0 * s) + 4.0 * y0**2 * np.exp(-4.0 * s)),
        0.0,
        x0**2 / 2.0,
        limit=200,
    )[0]
    obj = Objective.from_expr("log(x) + y**2", ["x", "y"])
    sol = fp.solve(fp.steepest_descent_flow(obj, "l2"), [x0, y0], (0.0, 10.0))
    assert sol.status == -3
    assert "pole or discontinuity" in sol.message
    assert "self-check" not in sol.message  # (the path stops there itself)
    assert sol.t[-1] == pytest.approx(length, rel=1e-6)
    np.testing.assert_allclose(sol.x[-1], [0.0, y0 * np.exp(-(x0**2))], atol=1e-7)
