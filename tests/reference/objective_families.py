"""Families of random objectives (plain callables, seeded) that the engine's tests share:
inputs the tests' authors did not choose, on which a path was found wrong once."""

from __future__ import annotations

import numpy as np

from filippov.objectives import Objective


def valley_objective(seed: int) -> tuple[Objective, np.ndarray, np.ndarray]:
    """A convex valley as plain callables: ``|Ax + b|²`` with a rank-deficient ``A``, a
    ridge ``ε|x − c|²`` with ``ε`` from 1e-8 to 1e-3, and a softplus of one direction
    (Hessian eigenvalues down to about 1e-6); its start, and its minimizer by Newton's
    method (independent of the flows)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    c = rng.standard_normal(n)
    A = rng.standard_normal((max(1, n - 1), n))
    b = rng.standard_normal(A.shape[0])
    eps = 10 ** rng.uniform(-8, -3)
    w = rng.standard_normal(n)

    def sig(z: float) -> float:
        return 0.5 * (1.0 + np.tanh(0.5 * z))

    def grad(x: np.ndarray) -> np.ndarray:
        return 2 * A.T @ (A @ x + b) + 2 * eps * (x - c) + w * sig(float(w @ x))

    def hess(x: np.ndarray) -> np.ndarray:
        s = sig(float(w @ x))
        return 2 * A.T @ A + 2 * eps * np.eye(n) + s * (1 - s) * np.outer(w, w)

    def f(x: np.ndarray) -> float:
        r = A @ x + b
        return float(r @ r + eps * (x - c) @ (x - c) + np.logaddexp(0, w @ x))

    x_min = np.zeros(n)
    for _ in range(60):
        x_min = x_min - np.linalg.solve(hess(x_min), grad(x_min))
    x0 = x_min + rng.standard_normal(n) * 10 ** rng.uniform(-0.5, 0.7)
    return Objective(f, grad, hess, n=n), x0, x_min


def degenerate_quartic(seed: int) -> tuple[Objective, np.ndarray]:
    """A convex objective with a degenerate minimum: ``Σ z_i⁴`` over some of ``z = M(x −
    c)`` and ``z_i² + 0.01(cosh z_i − 1)`` over the others (a random ``M``), and a start."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    c = rng.standard_normal(n)
    M = rng.standard_normal((n, n))
    p = int(rng.integers(0, n + 1))

    def f(x: np.ndarray) -> float:
        z = M @ (x - c)
        return float(np.sum(z[:p] ** 4) + np.sum(z[p:] ** 2) + 0.01 * np.sum(np.cosh(z[p:]) - 1))

    def grad(x: np.ndarray) -> np.ndarray:
        z = M @ (x - c)
        return M.T @ np.r_[4 * z[:p] ** 3, 2 * z[p:] + 0.01 * np.sinh(z[p:])]

    def hess(x: np.ndarray) -> np.ndarray:
        z = M @ (x - c)
        return M.T @ np.diag(np.r_[12 * z[:p] ** 2, 2 + 0.01 * np.cosh(z[p:])]) @ M

    x0 = c + rng.standard_normal(n) * 10 ** rng.uniform(-0.5, 0.7)
    return Objective(f, grad, hess, n=n), x0
