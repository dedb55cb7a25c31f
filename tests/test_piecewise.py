"""Piecewise-smooth systems with several switching surfaces, and the labels both paths give."""

from __future__ import annotations

import numpy as np
import pytest

import filippov as fp
from filippov.selection import box_vi_solution_set, is_p_matrix
from filippov.systems import FilippovSystem


# ---------------------------------------------------------------------------------------
# labels: equilibria on switching surfaces, starts on crossing surfaces
# ---------------------------------------------------------------------------------------
def _harmonic_oscillator() -> FilippovSystem:
    # x' = −sign(y), y' = sign(x): f0 = 0, h = (x, y), B λ = (λ2, −λ1)
    return FilippovSystem.affine(
        [0.0, 0.0], [[0.0, 1.0], [-1.0, 0.0]], np.eye(2), [0.0, 0.0], "l1", name="nho"
    )


@pytest.mark.parametrize("method", ["exact", "events"])
def test_nonsmooth_harmonic_oscillator_origin_is_stationary_and_unique(method: str) -> None:
    system = _harmonic_oscillator()
    # The selection matrix is no P-matrix, yet the selection set is the single point 0.
    assert is_p_matrix([[0.0, 1.0], [-1.0, 0.0]]) is False
    sol = fp.solve(system, [0.0, 0.0], (0.0, 1.0), method=method)
    assert sol.status == 1
    kinds = [ev.kind for ev in sol.events]
    assert "repulsive" not in kinds and kinds[-1] == "stationary"
    assert all(ev.unique for ev in sol.events)
    np.testing.assert_array_equal(sol(np.array([0.5, 1.0])), np.zeros((2, 2)))


def test_twisting_origin_is_stationary_and_unique_on_the_event_path() -> None:
    # The twisting controller has f0 = (x2, 0): not piecewise constant, so only the event
    # path integrates it (the exact path refuses it with a clear error).
    system = fp.twisting_system(a=2.0, b=1.0)
    sol = fp.solve(system, [0.0, 0.0], (0.0, 1.0), method="events")
    assert sol.status == 1
    kinds = [ev.kind for ev in sol.events]
    assert "repulsive" not in kinds and kinds[-1] == "stationary"
    assert all(ev.unique for ev in sol.events)
    with pytest.raises(ValueError, match="piecewise-affine"):
        fp.solve(system, [0.0, 0.0], (0.0, 1.0), method="exact")
    # First order alone cannot decide it: the selection set is a continuum of λ (with
    # velocities (0, c), c ∈ [−1, 1]), which the second-order probe rules out.
    sset = box_vi_solution_set([[0.0, 0.0], [2.0, 1.0]], [0.0, 0.0])
    assert sset.continuum and not sset.unique


@pytest.mark.parametrize("method", ["exact", "events"])
def test_repulsive_equilibrium_stays_flagged(method: str) -> None:
    # x' ∈ Sign(x) at 0: solutions leave with ±1, the rest is not unique.
    system = FilippovSystem.affine([0.0], [[-1.0]], [[1.0]], [0.0], "l1")
    sol = fp.solve(system, [0.0], (0.0, 1.0), method=method)
    assert [ev.kind for ev in sol.events] == ["repulsive", "stationary"]
    assert not any(ev.unique for ev in sol.events)


@pytest.mark.parametrize("method", ["exact", "events"])
def test_start_on_a_crossing_surface_is_labelled_crossing_by_both_paths(method: str) -> None:
    # x' = 1, y' = 2 − sign(y): a+ = 1, a− = 3, the surface y = 0 is crossed upwards.
    system = FilippovSystem.affine([1.0, 2.0], [[0.0], [1.0]], [[0.0, 1.0]], [0.0], "l1")
    assert system.classify([0.0, 0.0], 0).kind == "crossing"
    sol = fp.solve(system, [0.0, 0.0], (0.0, 1.0), method=method)
    assert [(ev.t, ev.kind, ev.indices) for ev in sol.events] == [(0.0, "crossing", (0,))]
    np.testing.assert_allclose(sol(1.0), [1.0, 1.0], rtol=1e-10)
