r"""Implicit (Moreau-type) sign step: Filippov-consistent, no chattering.

The mathematics: :doc:`/theory`, "Discretizations".
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._validation import require_positive
from ..selection import solve_box_vi
from .base import Direction, FloatArray, Problem, Scheme, StepFailure, Update, lmo_rows
from .steps import StepPolicy

__all__ = ["ImplicitSignGD"]


class ImplicitSignGD(Scheme):
    r"""Implicit Euler step of the sign flow :math:`x' \in -\operatorname{Sign}(\nabla f(x))`.

    .. math::

        x_{k+1} = x_k - \eta_k \lambda_{k+1}, \qquad
        \lambda_{k+1} \in \operatorname{Sign}\big(\nabla f(x_{k+1})\big),

    where :math:`\operatorname{Sign}(0) = [-1, 1]`. The relay value is decided at the new
    point, so a coordinate that reaches its switching surface :math:`\partial_i f = 0`
    takes exactly the Filippov equivalent control there and stays on the surface: the
    step is consistent with the Filippov solution and does not chatter.

    For a quadratic :math:`f = \tfrac12 x^\top H x + b^\top x + c`,
    :math:`\nabla f(x_k - \eta\lambda) = g_k - \eta H\lambda`, and the step is exactly one
    box variational inequality (:func:`~filippov.selection.solve_box_vi` with
    :math:`M = \eta H`, :math:`a = g_k`): find :math:`\lambda \in [-1, 1]^n` with
    :math:`y = g_k - \eta H\lambda` and :math:`\lambda_i \in \operatorname{Sign}(y_i)`.
    For :math:`H \succ 0` it is the unique minimizer of
    :math:`\tfrac{\eta}{2}\lambda^\top H\lambda - g_k^\top\lambda` over the box.

    For a general objective the same inclusion is solved by the Josephy--Newton method
    (Newton's method for generalized equations, locally quadratically convergent): at
    the current guess :math:`z_j` linearize :math:`\nabla f(x_k - \eta\lambda) \approx
    \nabla f(z_j) + \nabla^2 f(z_j)(x_k - \eta\lambda - z_j)`, solve the box VI with
    :math:`M = \eta\nabla^2 f(z_j)`, :math:`a = \nabla f(z_j) + \nabla^2 f(z_j)(x_k - z_j)`,
    set :math:`z_{j+1} = x_k - \eta\lambda` and repeat until
    :math:`\|z_{j+1} - z_j\|_\infty \le \mathrm{tol}\,(1 + \|z_j\|_\infty)`. The counter
    ``inner_iterations`` records the number of VI solves per step and ``nonunique`` the
    steps whose VI had no unique solution (:math:`\nabla^2 f` not a P-matrix).

    With a :class:`~filippov.schemes.FaceAware` step only the active coordinates
    :math:`A_k` move, and the inclusion is solved in them with the others fixed from the
    start: :math:`x_{k+1,I} = x_{k,I}`, :math:`x_{k+1,A} = x_{k,A} - \eta_k\lambda_A`,
    :math:`\lambda_A \in \operatorname{Sign}(\nabla_A f(x_{k+1}))` (the box VI with
    :math:`M = \eta H_{AA}`, :math:`a = g_{k,A}` for a quadratic). For a convex :math:`f`
    the inclusion says that :math:`x_{k+1}` minimizes :math:`f` over the box
    :math:`\{y : |y_i - x_{k,i}| \le \eta_k,\ i \in A_k;\ y_i = x_{k,i},\ i \notin A_k\}`,
    which holds the explicit face-aware step, so the step keeps its bound
    :math:`f(x_{k+1}) \le f(x_k) - \|g_{A_k}\|_1^2/(2\sum_{i\in A_k} L_i)`.

    Parameters
    ----------
    step : StepPolicy, float or str
        Step policy; adaptive policies size the step on the explicit sign direction.
    tol : float, default 1e-12
        Relative convergence tolerance of the Newton iteration (general objectives).
    max_iter : int, default 50
        Newton iterations before the step fails (``status = -1``, ``INTEGRATION_FAILED``).

    References
    ----------
    J. J. Moreau, "Numerical aspects of the sweeping process", 1999; V. Acary,
    B. Brogliato, *Numerical Methods for Nonsmooth Dynamical Systems*, Springer 2008
    (implicit time-stepping of Filippov systems); N. H. Josephy, "Newton's method for
    generalized equations", 1979. Seed paper 2, Sec. 4.4 (the slope example).

    Examples
    --------
    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov.objectives import slope
    >>> obj = slope(a=0.5)                    # sliding manifold x1 = 0.5 x2
    >>> traj = ImplicitSignGD(step=0.1).run(obj, [1.0, 1.0], n_steps=30)
    >>> gap = np.abs(traj.x[:, 0] - 0.5 * traj.x[:, 1])   # 0.05 less per step, then 0
    >>> float(gap[5]), bool(gap[10:].max() < 1e-12)
    (0.25, True)
    """

    norm_name = "linf"
    extra_diagnostics = ("inner_iterations", "nonunique")

    def __init__(
        self, step: StepPolicy | float | str, *, tol: float = 1e-12, max_iter: int = 50
    ) -> None:
        super().__init__(step)
        tol_f = require_positive(tol, "tol")
        if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)):
            raise TypeError(f"`max_iter` must be an integer. Got {max_iter!r} instead.")
        if max_iter < 1:
            raise ValueError(f"`max_iter` must be >= 1. Got {max_iter!r} instead.")
        self.tol = tol_f
        self.max_iter = int(max_iter)

    def _options(self) -> dict[str, Any]:
        return {"tol": self.tol, "max_iter": self.max_iter}

    def direction(self, problem: Problem, x: FloatArray, g: FloatArray, state: Any) -> Direction:
        return Direction(lmo_rows(self.norm, g), state)

    def update(
        self,
        problem: Problem,
        x: FloatArray,
        g: FloatArray,
        v: FloatArray,
        eta: FloatArray,
        state: Any,
    ) -> Update:
        x_new = x.copy()
        iters = np.zeros(x.shape[0], dtype=np.int64)
        nonunique = np.zeros(x.shape[0], dtype=np.int64)
        quad = problem.quadratic
        # The step policy's active face (FaceAware; the driver asks it the same question
        # of the same gradients): the inactive coordinates are fixed from the start and
        # the inclusion is solved in the active ones only. Solving the whole box and
        # then holding the inactive coordinates gave a point that solves neither problem
        # (its active part assumed the others moved) and lost the descent bound.
        face = self.step.face(g)
        for row in range(x.shape[0]):
            h = float(eta[row])
            if h == 0.0:
                continue
            A = np.arange(x.shape[1]) if face is None else np.flatnonzero(face[row])
            if A.size == 0:
                continue
            if quad is not None:
                H_AA = quad[0] if A.size == x.shape[1] else quad[0][np.ix_(A, A)]
                sel = solve_box_vi(h * H_AA, g[row, A])
                x_new[row, A] = x[row, A] - h * np.asarray(sel.lam, dtype=np.float64)
                iters[row] = 1
                nonunique[row] = 0 if sel.unique else 1
            else:
                x_new[row], iters[row], nonunique[row] = self._newton(problem, x[row], g[row], h, A)
        return Update(x_new, state, None, {"inner_iterations": iters, "nonunique": nonunique})

    def _newton(
        self, problem: Problem, x: FloatArray, g: FloatArray, h: float, A: NDArray[np.intp]
    ) -> tuple[FloatArray, int, int]:
        """Josephy-Newton on the inclusion in the coordinates ``A`` (the others fixed)."""
        z = x
        gz = g
        flagged = 0
        for it in range(1, self.max_iter + 1):
            H = problem.hess(z)
            H_AA = H if A.size == x.size else H[np.ix_(A, A)]
            # ∇_A f(x − hλ) ≈ ∇_A f(z) + H_AA (x_A − hλ − z_A): z and x agree off A
            sel = solve_box_vi(h * H_AA, gz[A] + H_AA @ (x[A] - z[A]))
            flagged = 0 if sel.unique else 1
            z_new = x.copy()
            z_new[A] = x[A] - h * np.asarray(sel.lam, dtype=np.float64)
            if not np.all(np.isfinite(z_new)):
                raise StepFailure("the implicit sign step produced a non-finite iterate")
            if np.max(np.abs(z_new - z)) <= self.tol * (1.0 + np.max(np.abs(z))):
                return z_new, it, flagged
            z = z_new
            gz = problem.grad_rows(z[None, :])[0]
        raise StepFailure(
            f"the implicit sign step (Josephy-Newton on the box VI) did not converge in "
            f"{self.max_iter} iterations with tol={self.tol:g}, step={h:g}"
        )
