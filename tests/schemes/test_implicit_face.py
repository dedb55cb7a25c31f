"""The implicit sign step under a face-aware step policy (review F3, item 2).

The face-aware step moves only the active coordinates ``A_k = {i : |g_i| > τ‖g‖∞}``; the
implicit step must then solve its inclusion with the inactive coordinates fixed from the
start:

    x⁺_I = x_I,   x⁺_A = x_A − η λ_A,   λ_A ∈ Sign(∇_A f(x⁺)),

which for a convex f is the minimizer of f over the box ``{|y_i − x_i| ≤ η on A, y_i = x_i
off A}``. Solving the whole box and then holding the inactive coordinates (the old code)
gives a point whose active part was computed for another point: the inclusion fails.
The checks below recompute the face and the conditions from the objective alone.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

import filippov.schemes as S
from filippov.objectives import Objective, ridge_logistic, rotated_quadratic

TAU = 0.3  # relative activity threshold: several coordinates inactive at most steps


def _face(g: np.ndarray) -> np.ndarray:
    """The active face, computed here from its definition (not by the library)."""
    return np.abs(g) > TAU * np.max(np.abs(g))


def _check_restricted_inclusion(
    obj: Objective, x: np.ndarray, x_next: np.ndarray, eta: float, tol: float
) -> None:
    """x_next solves the implicit step restricted to the active face of x."""
    A = _face(obj.grad(x))
    assert (~A).any()  # (the test is about a step with inactive coordinates)
    # (a) the inactive coordinates do not move, exactly
    np.testing.assert_array_equal(x_next[~A], x[~A])
    # (b) λ_A = (x_A − x⁺_A)/η lies in the box and in Sign(∇_A f(x⁺))
    lam = (x[A] - x_next[A]) / eta
    y = obj.grad(x_next)[A]
    assert np.all(np.abs(lam) <= 1.0 + 1e-12)
    scale = np.max(np.abs(obj.grad(x)))
    inside = np.abs(lam) < 1.0 - 1e-9
    assert np.all(np.abs(y[inside]) <= tol * scale), (lam, y)
    assert np.all(y[lam >= 1.0 - 1e-9] >= -tol * scale), (lam, y)
    assert np.all(y[lam <= -1.0 + 1e-9] <= tol * scale), (lam, y)


def test_the_face_aware_implicit_step_solves_the_restricted_inclusion_on_a_quadratic() -> None:
    obj = rotated_quadratic([1.0, 3.0, 10.0, 30.0], rotation=1.0, seed=3)
    x0 = np.array([1.5, -2.0, 0.7, 1.1])
    traj = S.ImplicitSignGD(step=S.FaceAware(tau=TAU, relative=True)).run(obj, x0, n_steps=12)
    assert traj.success
    checked = 0
    for k in range(traj.n_steps):
        x, x_next, eta = traj.x[k], traj.x[k + 1], float(traj.step[k])
        if _face(obj.grad(x)).all() or eta == 0.0:
            continue
        _check_restricted_inclusion(obj, x, x_next, eta, 1e-10)
        checked += 1
    assert checked >= 5


def test_the_face_aware_implicit_step_is_the_minimizer_over_the_restricted_box() -> None:
    # A general (non-quadratic) convex objective: the Josephy-Newton path. Its step is
    # compared with an independent bounded minimization of f over the restricted box.
    rng = np.random.default_rng(5)
    A_data = rng.standard_normal((30, 5)) * np.array([1.0, 3.0, 0.3, 2.0, 1.0])
    y = np.sign(rng.standard_normal(30))
    obj = ridge_logistic(A_data, y, 0.1)
    x0 = np.array([1.0, -0.5, 2.0, 0.3, -1.0])
    traj = S.ImplicitSignGD(step=S.FaceAware(tau=TAU, relative=True)).run(obj, x0, n_steps=4)
    assert traj.success
    checked = 0
    for k in range(traj.n_steps):
        x, x_next, eta = traj.x[k], traj.x[k + 1], float(traj.step[k])
        face = _face(obj.grad(x))
        if face.all():
            continue
        _check_restricted_inclusion(obj, x, x_next, eta, 1e-8)
        bounds = [(xi - eta, xi + eta) if a else (xi, xi) for xi, a in zip(x, face, strict=True)]
        ref = scipy.optimize.minimize(
            obj.f,
            x,
            jac=obj.grad,
            bounds=bounds,
            method="L-BFGS-B",
            options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 1000},
        )
        np.testing.assert_allclose(x_next, ref.x, atol=1e-6)
        assert obj.f(x_next) <= ref.fun + 1e-12
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_face_aware_implicit_step_keeps_the_face_aware_descent_bound(seed: int) -> None:
    # f(x⁺) ≤ f(x) − ‖g_A‖₁² / (2 Σ_A L_i), L_i = Σ_j |H_ij| (the FaceAware docstring): the
    # restricted box contains the explicit face-aware step x − η sign(g_A).
    obj = rotated_quadratic(np.geomspace(1.0, 100.0, 5), rotation=0.7, seed=seed)
    H = obj.quadratic_data[0]
    L = np.abs(H).sum(axis=1)
    x0 = np.random.default_rng(seed).standard_normal(5) * 3.0
    traj = S.ImplicitSignGD(step=S.FaceAware(tau=TAU, relative=True)).run(obj, x0, n_steps=20)
    for k in range(traj.n_steps):
        g = obj.grad(traj.x[k])
        A = _face(g)
        bound = obj.f(traj.x[k]) - np.abs(g[A]).sum() ** 2 / (2.0 * L[A].sum())
        assert obj.f(traj.x[k + 1]) <= bound + 1e-12 * max(1.0, abs(obj.f(traj.x[k])))
