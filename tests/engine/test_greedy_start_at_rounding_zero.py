"""The greedy (ℓ1-constrained) flow started where ``∇f`` is zero to rounding rests at once.

A minimizer computed in floating point (``lstsq`` of an ill-conditioned ``H``) leaves
``|H x0 + b|`` at the rounding of its terms. The sign flow reads such an ``h_i`` as zero
on its own scale (``|G_i| |x0| + |e_i|``); the greedy flow's exact path only took an exact
zero, followed a dozen events of noise and ended with status -5 (review R22).
"""

from __future__ import annotations

import numpy as np
import pytest

import filippov as fp


def _ill_quadratic_at_its_minimizer() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(475)
    d = 8
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    H = (Q * np.geomspace(1.0, 1e9, d)) @ Q.T
    H = 0.5 * (H + H.T)
    b = rng.standard_normal(d)
    x0 = np.linalg.lstsq(H, -b, rcond=None)[0]
    return H, b, x0


@pytest.mark.parametrize("constraint", ["l1", "linf"])
def test_flow_from_a_rounding_minimizer_rests_at_t0(constraint: str) -> None:
    H, b, x0 = _ill_quadratic_at_its_minimizer()
    h = H @ x0 + b
    scale = np.abs(H) @ np.abs(x0) + np.abs(b)
    # The premise: nonzero gradient, but zero to rounding on each component's own scale.
    assert np.max(np.abs(h)) > 0.0
    assert np.all(np.abs(h) <= 64 * np.finfo(float).eps * scale)
    system = fp.steepest_descent_flow(fp.Objective.quadratic(H, b), constraint)
    sol = fp.solve(system, x0, (0.0, 1e3))
    assert sol.status == 1, sol.message
    assert sol.events[-1].t == 0.0
    assert np.array_equal(sol.x[-1], x0)


def test_greedy_flow_slightly_off_the_minimizer_still_moves() -> None:
    # A gradient well above rounding is not read as zero: H = diag(1, 2, 4), b = 0 from
    # x0 = 1e-9 (1, 1, 1): |∇f| = 1e-9 (1, 2, 4) on terms of the same size, so the flow
    # runs. In closed form the tie level of |∂f| falls from 4, 2, 1 (× 1e-9) at the rates
    # 1 / Σ_tie 1/H_ii = 4, 4/3, 4/7, so it reaches 0 at 1e-9 (0.5 + 0.75 + 1.75) = 3e-9.
    H = np.diag([1.0, 2.0, 4.0])
    system = fp.steepest_descent_flow(fp.Objective.quadratic(H, np.zeros(3)), "l1")
    sol = fp.solve(system, np.full(3, 1e-9), (0.0, 1.0))
    assert sol.status == 1, sol.message
    assert sol.events[-1].kind == "stationary"
    assert sol.events[-1].t == pytest.approx(3.0e-9, rel=1e-12)
    assert np.max(np.abs(sol.x[-1])) < 1e-20


@pytest.mark.parametrize("constraint", ["l1", "linf"])
def test_flows_started_near_an_ill_conditioned_minimizer_pass_the_descent_check(
    constraint: str,
) -> None:
    # (review R22) Started 1e-6 from the minimizer, f = −0.037 is computed from terms of
    # about 1e7 (eigenvalues up to 1e9): its rounding, ~1e-9, is far above the descent
    # check's 1e-9 of |f|, and every run ended −5, "f increased from -0.0373729 to
    # -0.0373729". The check now allows the rounding of f (its change under a one-ulp move).
    H, b, x_min = _ill_quadratic_at_its_minimizer()
    rng = np.random.default_rng(1)
    system = fp.steepest_descent_flow(fp.Objective.quadratic(H, b), constraint)
    for _ in range(3):
        x0 = x_min + 1e-6 * rng.standard_normal(x_min.size)
        sol = fp.solve(system, x0, (0.0, 1e3))
        assert sol.status == 1, sol.message
        # (at the minimizer to what the gradient's rounding determines: |∇f| ~ 1e-9 over
        # the smallest eigenvalue, 1)
        np.testing.assert_allclose(sol.x[-1], x_min, rtol=0, atol=1e-8)
        # (no faster than the constraint's unit speed: ‖x − x*‖₁ for the greedy flow,
        # ‖x − x*‖∞ for the sign flow, falls at rate at most 1)
        gap = np.abs(x0 - x_min)
        assert sol.events[-1].t >= (gap.sum() if constraint == "l1" else gap.max()) - 1e-12
