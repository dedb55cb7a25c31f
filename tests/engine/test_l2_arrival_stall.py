"""The ℓ2 arrival at a minimizer away from the origin, where ``x`` stalls at rounding.

``_arrive_l2_stiff`` integrates the flow's path in ``σ``; near a degenerate minimizer
``a ≠ 0`` the state gets stuck a few ulps of ``a`` away, ``‖h‖`` stops shrinking and
``dt/dσ = s‖h‖`` grows, so a stop on ``dt/dσ`` alone never came (minutes for ``a = 10``).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

import filippov as fp
from filippov.objectives import Objective


def _shifted_quartic_valley(a: float) -> Objective:
    """``f = (x − a)⁴/4 + y²/2``: a degenerate minimum at ``(a, 0)``."""
    return Objective(
        lambda z: (z[0] - a) ** 4 / 4 + z[1] ** 2 / 2,
        lambda z: np.array([(z[0] - a) ** 3, z[1]]),
        lambda z: np.diag([3 * (z[0] - a) ** 2, 1.0]),
        n=2,
    )


def _arrival_time(d0: float, y0: float) -> float:
    """``T = ∫₀^∞ ‖∇f‖ ds`` along the gradient flow, independently of the library: here
    ``x − a = d0/√(1 + 2 d0² s)``, ``y = y0 e^(−s)``; with ``s = e^u − 1`` the integrand
    decays like ``e^(−u/2)``, and past ``u = 80`` the rest is below 1e-17."""

    def integrand(u: float) -> float:
        s = np.expm1(u)
        return float(np.hypot((d0 / np.sqrt(1 + 2 * d0**2 * s)) ** 3, y0 * np.exp(-s)) * np.exp(u))

    return quad(integrand, 0.0, 80.0, limit=2000, epsabs=1e-15, epsrel=1e-13)[0]


@pytest.mark.parametrize("a", [10.0, 1000.0])
def test_l2_arrival_away_from_origin_finishes(a: float) -> None:
    obj = _shifted_quartic_valley(a)
    T = _arrival_time(1.0, 1.0)
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "l2"), np.array([a + 1.0, 1.0]), (0, 3), integrator="Radau"
    )
    # Finishes: a bound on the work, not on wall time (which the machine's load sets):
    # about 5 000 gradients now, minutes of them when the stop never came.
    assert sol.nfev <= 20_000
    assert sol.status == 1, sol.message
    ev = [e for e in sol.events if e.kind == "stationary"]
    assert len(ev) == 1
    assert ev[0].t == pytest.approx(T, rel=1e-10)
    # the minimizer within a thousandth of the run's state tolerance (rtol = 1e-10 by
    # default: 1e-10·a); a long arrival may end that close instead of at rounding (see
    # `_integrate_arrival`): x − a was 4.4e-13 at a = 10, and 2e-14·a before that rule
    np.testing.assert_allclose(sol.x[-1], [a, 0.0], rtol=0, atol=1e-13 * a)


def test_l2_arrival_gradient_never_zero_fails_promptly() -> None:
    """``f = x⁴/4 + 1e-11 y``: ``‖∇f‖ ≥ 1e-11`` everywhere, no arrival; the run ends −1
    (it took 56 s before)."""
    obj = Objective(
        lambda z: z[0] ** 4 / 4 + 1e-11 * z[1],
        lambda z: np.array([z[0] ** 3, 1e-11]),
        lambda z: np.diag([3 * z[0] ** 2, 0.0]),
        n=2,
    )
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "l2"), np.array([1.0, 1.0]), (0, 3), integrator="Radau"
    )
    assert sol.nfev <= 5_000  # (about 500 now; 56 s of them before)
    assert sol.status == -1
    assert "h = 0" in sol.message


@pytest.mark.parametrize("a", [0.0, 10.0])
def test_every_piece_of_an_arrival_is_kept(a: float) -> None:
    """Each dense segment's pieces run from its start to its end: the stiff arrival's
    pieces began at its first σ node after the start, so the first piece was lost, and an
    arrival of one σ step left a segment of no pieces that ``sol(t)`` could not read."""
    obj = _shifted_quartic_valley(a)
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "l2"), np.array([a + 1.0, 1.0]), (0, 3), integrator="Radau"
    )
    assert sol.status == 1, sol.message
    dense = [seg for seg in sol.segments if hasattr(seg.dense, "breaks")]
    assert dense
    for seg in dense:
        assert seg.dense.breaks[0] == seg.t0 and seg.dense.breaks[-1] == seg.t1
        ts = np.linspace(seg.t0, seg.t1, 7)
        assert np.all(np.isfinite(sol(ts)))
