"""The Stewart path judges rounding against the state's and the fields' *recent* sizes.

A transient that has decayed is no measure of the accuracy near a later switching
surface: judged against the run's largest values, a state 5e-5 from its surface read as on
it, and a crossing at normal speed 1e-5 read as a tangency. Each test compares with the
closed form of the smooth pieces (and the smooth decay with ``solve_ivp`` at tight
tolerances).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

import filippov as fp


def test_a_decayed_transient_does_not_put_a_near_surface_on_the_event() -> None:
    """x' = −(x − 1/2) from x = 1e9 crosses x = 1 at t1 = ln((x0 − 1/2)/(1/2)); y' is 1
    before that and 5 after; y crosses 0 at t1 − 1e-4. At that event x is 5e-5 above
    its surface: judged against x's largest value (1e9, zero_tol 1e-12) it read as on
    x = 1, the x crossing was merged into the y event 1e-4 early and y(T) was 4e-4 off."""
    x0, gap = 1e9, 1e-4
    system = fp.stewart_system(
        lambda z, s: np.array([-(z[0] - 0.5), 1.0 if s[1] > 0 else 5.0]),
        lambda z: np.array([z[1], z[0] - 1.0]),
        jac=lambda z: np.array([[0.0, 1.0], [1.0, 0.0]]),
        n=2,
    )
    t1 = np.log((x0 - 0.5) / 0.5)
    y0 = -(t1 - gap)
    T = t1 + 1.0
    sol = fp.solve(system, np.array([x0, y0]), (0.0, T))
    assert sol.status == 0, sol.message
    by_index = {e.indices: e for e in sol.events if e.kind == "crossing"}
    assert set(by_index) == {(0,), (1,)}, [(e.t, e.kind, e.indices) for e in sol.events]
    assert abs(by_index[(0,)].t - (t1 - gap)) < 1e-8
    assert abs(by_index[(1,)].t - t1) < 1e-8
    # independent: the smooth decay of x to T, y from its closed form
    ref = solve_ivp(
        lambda t, z: -(z - 0.5), (0.0, T), [x0], method="DOP853", rtol=1e-13, atol=1e-14
    )
    np.testing.assert_allclose(sol(T)[0], ref.y[0, -1], rtol=1e-8)
    assert abs(sol(T)[1] - (y0 + t1 + 5.0 * (T - t1))) < 1e-8


def test_a_slow_crossing_after_a_fast_transient_is_not_a_tangency() -> None:
    """x' = −(x − (1 − 1e-5)) from x = 1e6 crosses x = 1 with normal speed 1e-5 on both
    sides (y' is 1 above, 2 below): a transversal crossing. Its rates judged against the
    transient's field (1e6 · 1e-10 = 1e-4) read as rounding: a tangency, flagged not
    unique, and then −4 "changed sign without an event"."""
    x0, a = 1e6, 1e-5
    system = fp.stewart_system(
        lambda z, s: np.array([-(z[0] - (1.0 - a)), 1.0 if s[0] > 0 else 2.0]),
        lambda z: np.array([z[0] - 1.0]),
        jac=lambda z: np.array([[1.0, 0.0]]),
        n=2,
    )
    t1 = np.log((x0 - (1.0 - a)) / a)
    T = t1 + 3.0
    sol = fp.solve(system, np.array([x0, 0.0]), (0.0, T))
    assert sol.status == 0, sol.message
    assert [(e.kind, e.indices, e.unique) for e in sol.events] == [("crossing", (0,), True)]
    # (x is 1 to ~1e-11 of integration error there and moves at 1e-5: times to ~1e-6)
    assert abs(sol.events[0].t - t1) < 1e-5
    ref = solve_ivp(
        lambda t, z: -(z - (1.0 - a)), (0.0, T), [x0], method="DOP853", rtol=1e-13, atol=1e-14
    )
    np.testing.assert_allclose(sol(T)[0], ref.y[0, -1], rtol=1e-9)
    assert abs(sol(T)[1] - (t1 + 2.0 * (T - t1))) < 1e-5
