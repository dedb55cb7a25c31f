"""A sliding relay value's pole where the sliding block degenerates is no pole of h.

Where ``∂h_F/∂x·B_F`` becomes singular the relay values it selects pass through a pole
while ``h`` stays smooth: a rest where every ``h_i`` vanishes and the velocity 0 is in the
relay's set, else a singular selection (−4), never "a pole or discontinuity of h" (−3).
"""

from __future__ import annotations

import numpy as np

import filippov as fp
from filippov.objectives import Objective


def test_sliding_into_a_valley_of_minimizers_rests_there():
    # f = (x0² + x1 − 1)²/2 from (0.3, 2): x' = −sign(∇f) = (−1, −1) until x0 = 0 at
    # t = 0.3, then sliding on x0 = 0 (∂f/∂x0 = 2·x0·r, r = x0² + x1 − 1 > 0) with
    # x1 = 2 − t down to the valley of minimizers r = 0 at t = 1, where ∇f = 0: a rest.
    # The sliding relay value λ0 = −x0/r is a 0/0 there (the block ∂²f/∂x0² = 2r + 4x0²
    # vanishes with r) and passed through its pole; the run ended −3, "a pole or
    # discontinuity of h", though ∇f is smooth.
    obj = Objective.from_expr("0.5*(x0**2+x1-1)**2", ["x0", "x1"])
    system = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(system, [0.3, 2.0], (0.0, 10.0), method="events")
    assert sol.status == 1, sol.message
    assert sol.events[-1].kind == "stationary"
    assert abs(sol.events[-1].t - 1.0) <= 1e-9
    ts = np.linspace(0.0, 10.0, 1001)
    exact = np.column_stack([np.maximum(0.3 - ts, 0.0), np.where(ts < 1.0, 2.0 - ts, 1.0)])
    np.testing.assert_allclose(sol(ts), exact, rtol=0, atol=1e-9)
    x_end = sol(10.0)
    assert abs(x_end[0] ** 2 + x_end[1] - 1.0) <= 1e-12  # on the valley


def test_a_pole_of_the_selection_off_a_rest_ends_the_run_with_its_mode_kept_once():
    # The same valley with a coordinate whose partial never vanishes (0.1·x2): at t = 1
    # the sliding block degenerates while ∇f ≠ 0, a singular selection (−4). The failure
    # recorded the mode a second time: two segments over [0.3, 1].
    obj = Objective.from_expr("0.5*(x0**2+x1-1)**2 + 0.1*x2", ["x0", "x1", "x2"])
    system = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(system, [0.3, 2.0, 0.0], (0.0, 10.0), method="events")
    assert sol.status == -4 and "pole" in sol.message, sol.message
    spans = [(seg.t0, seg.t1) for seg in sol.segments]
    assert len(spans) == len(set(spans)) == 2, spans
    assert abs(sol.t[-1] - 1.0) <= 1e-6
    ts = np.linspace(0.0, sol.t[-1], 101)
    exact = np.column_stack([np.maximum(0.3 - ts, 0.0), 2.0 - ts, -ts])
    np.testing.assert_allclose(sol(ts), exact, rtol=0, atol=1e-7)
