r"""Accelerated sign gradient descent (ASGD): the extrapolated sign step with restart."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import require_flag, require_unit_interval
from .base import Direction, FloatArray, Problem, Scheme, StepFailure
from .steps import StepPolicy

__all__ = ["ASGD"]


class ASGD(Scheme):
    r"""Accelerated SignGD with a restart safeguard (seed paper 2, Sec. 6, Algorithm 3).

    Each step extrapolates, then takes a sign step from the extrapolated point:

    .. math::

        y_k = x_k + \beta (x_k - x_{k-1}), \qquad
        x_{k+1} = y_k - \eta_k \operatorname{sign}(\nabla f(y_k)), \qquad x_{-1} = x_0 .

    With ``restart=True``, whenever :math:`f(y_k) > f(x_k)` the extrapolation is dropped
    for this step, :math:`y_k = x_k` (counter ``restarts``). The step policy sizes the
    step *at* :math:`y_k`: with :class:`~filippov.schemes.Adaptive`,
    :math:`\eta_k = \|\nabla f(y_k)\|_1 / \sum_i L_i`, and the separable smoothness bound
    at :math:`y_k` gives

    .. math::

        f(x_{k+1}) \le f(y_k) - \frac{\|\nabla f(y_k)\|_1^2}{2\sum_i L_i}
        \;\le\; f(x_k) - \frac{\|\nabla f(y_k)\|_1^2}{2\sum_i L_i}
        \quad\text{(the second inequality with the restart)},

    so the restarted scheme is monotone. Without the restart :math:`f(y_k)` may exceed
    :math:`f(x_k)` and the iterates may overshoot. Each step evaluates :math:`f` at
    :math:`x_k` and :math:`y_k` and the gradient at :math:`y_k` (counted in the
    trajectory's ``nfev``/``njev``). The trajectory's face diagnostics refer to
    :math:`\nabla f(y_k)`, the gradient the step uses.

    ASGD does not track the sign flow at flow time :math:`t_k = \sum_{j<k} \eta_j`, with or
    without the restart: wherever the extrapolation is kept its steps settle at
    :math:`\eta/(1-\beta)`, another clock (see the theory page), so
    :func:`filippov.convergence_study` against :math:`x(t_k)` shows no order.

    This is not a heavy ball of gradients (:math:`m_k = \beta m_{k-1} + g_k`,
    :math:`d_k = \operatorname{sign} m_k`): that one is
    :class:`~filippov.schemes.RestartedSignum`.

    Parameters
    ----------
    step : StepPolicy, float or str
        Step policy, evaluated at :math:`y_k`.
    beta : float in [0, 1), default 0.9
        Extrapolation (momentum) parameter.
    restart : bool, default True
        Use the safeguard :math:`y_k = x_k` when :math:`f(y_k) > f(x_k)`.

    References
    ----------
    Seed paper 2, Sec. 6 ("Some simple guarantees (monotone inertial variant)") and
    Sec. 7, where this method is called ASGD.

    Examples
    --------
    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov.objectives import rotated_quadratic
    >>> obj = rotated_quadratic([1.0, 10.0], rotation=0.4, seed=0)
    >>> traj = ASGD(step="adaptive", beta=0.9).run(obj, [3.0, -2.0], n_steps=50)
    >>> bool(np.all(np.diff(traj.f) <= 0)), bool(traj.f[-1] < 1e-3 * traj.f[0])
    (True, True)
    """

    norm_name = "linf"
    extra_diagnostics = ("restarts",)

    @property
    def not_tracking(self) -> str | None:  # type: ignore[override]
        """Why ASGD does not converge to ``x(t_k)`` (see `Scheme.not_tracking`); ``None``
        for ``beta = 0``, where it is SignGD."""
        if self.beta == 0.0:
            return None
        return (
            "ASGD's steps settle at η/(1−β) wherever its extrapolation is kept: it runs "
            "on another clock than the flow time t_k = Σ η_j, and its distance to x(t_k) "
            "does not shrink with the step (see the ASGD docstring)"
        )

    def __init__(
        self, step: StepPolicy | float | str, *, beta: float = 0.9, restart: bool = True
    ) -> None:
        super().__init__(step)
        self.beta = require_unit_interval(beta, "beta")
        self.restart = require_flag(restart, "restart")

    def _options(self) -> dict[str, Any]:
        return {"beta": self.beta, "restart": self.restart}

    def init(self, problem: Problem, x: FloatArray, g: FloatArray) -> Any:
        return x.copy()  # x_{-1} = x_0: the first step is a plain sign step

    def direction(self, problem: Problem, x: FloatArray, g: FloatArray, state: Any) -> Direction:
        y_pts = x + self.beta * (x - state)
        moved = np.any(y_pts != x, axis=1)
        try:
            f_x = problem.f_rows(x)
            f_y = f_x.copy()
            if moved.any():
                f_y[moved] = problem.f_rows(y_pts[moved])
            restarted = np.zeros(x.shape[0], dtype=bool)
            if self.restart:
                restarted = f_y > f_x
                y_pts[restarted] = x[restarted]
                f_y[restarted] = f_x[restarted]
                moved &= ~restarted
            g_y = g.copy()
            if moved.any():
                g_y[moved] = problem.grad_rows(y_pts[moved])
        except (ValueError, FloatingPointError, OverflowError) as exc:
            # a non-finite f or gradient at the extrapolated point: keep the partial run
            raise StepFailure(f"evaluating f at the extrapolated point failed: {exc}") from exc
        return Direction(
            -np.sign(g_y),
            x.copy(),  # x_{k-1} of the next step
            {"restarts": restarted.astype(np.int64)},
            at=(y_pts, g_y, f_y),
        )
