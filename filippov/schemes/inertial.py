r"""A deterministic Signum with restart: sign steps along a heavy ball of gradients.

Not the accelerated SignGD of seed paper 2 (that is :class:`~filippov.schemes.ASGD`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._validation import require_flag, require_unit_interval
from .base import Direction, FloatArray, Problem, Scheme
from .steps import StepPolicy

__all__ = ["InertialSignGD", "RestartedSignum"]


class RestartedSignum(Scheme):
    r"""Deterministic Signum (sign of a heavy ball of gradients) with a restart safeguard.

    .. math::

        m_k = \beta m_{k-1} + g_k, \qquad d_k = \operatorname{sign}(m_k), \qquad
        x_{k+1} = x_k - \eta_k d_k ,

    with :math:`m_{-1} = 0`. With ``restart=True``, whenever
    :math:`\langle g_k, d_k\rangle \le 0` the momentum is reset, :math:`m_k = g_k` (so
    :math:`d_k = \operatorname{sign} g_k`; counter ``restarts``). With the adaptive step
    :math:`\eta_k = \langle g_k, d_k\rangle/\sum_i L_i`
    (:class:`~filippov.schemes.Adaptive`) every step satisfies

    .. math::

        f(x_{k+1}) \le f(x_k) - \frac{\langle g_k, d_k\rangle^2}{2\sum_i L_i} .

    Without restart a non-descent direction gets a zero adaptive step, and the directions
    are those of :class:`~filippov.schemes.Signum` (whose momentum
    :math:`\beta m_{k-1} + (1-\beta) g_k` is this one scaled by :math:`1-\beta`).

    This is a heavy ball of gradients, not the accelerated SignGD of seed paper 2
    (Algorithm 3), which extrapolates the iterates: see :class:`~filippov.schemes.ASGD`.
    It was formerly called ``InertialSignGD`` (now a deprecated alias).

    Parameters
    ----------
    step : StepPolicy, float or str
        Step policy.
    beta : float in [0, 1), default 0.9
        Momentum parameter.
    restart : bool, default True
        Use the restart safeguard.

    References
    ----------
    J. Bernstein, Y.-X. Wang, K. Azizzadenesheli, A. Anandkumar, "signSGD: Compressed
    optimisation for non-convex problems", ICML 2018 (Signum); A. Cutkosky, H. Mehta,
    "Momentum improves normalized SGD", ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov.objectives import rotated_quadratic
    >>> obj = rotated_quadratic([1.0, 10.0], rotation=0.4, seed=0)
    >>> traj = RestartedSignum(step="adaptive", beta=0.9).run(obj, [3.0, -2.0], n_steps=50)
    >>> bool(np.all(np.diff(traj.f) <= 1e-15)), bool(traj.f[-1] < 1e-3 * traj.f[0])
    (True, True)
    """

    norm_name = "linf"
    extra_diagnostics = ("restarts",)

    def __init__(
        self, step: StepPolicy | float | str, *, beta: float = 0.9, restart: bool = True
    ) -> None:
        super().__init__(step)
        self.beta = require_unit_interval(beta, "beta")
        self.restart = require_flag(restart, "restart")

    def _options(self) -> dict[str, Any]:
        return {"beta": self.beta, "restart": self.restart}

    def init(self, problem: Problem, x: FloatArray, g: FloatArray) -> Any:
        return np.zeros_like(g)

    def direction(self, problem: Problem, x: FloatArray, g: FloatArray, state: Any) -> Direction:
        m = self.beta * state + g
        d = np.sign(m)
        restarted = np.zeros(g.shape[0], dtype=bool)
        if self.restart:
            restarted = np.einsum("ij,ij->i", g, d) <= 0
            if np.any(restarted):
                m[restarted] = g[restarted]
                d[restarted] = np.sign(g[restarted])
        return Direction(-d, m, {"restarts": restarted.astype(np.int64)})


class InertialSignGD(RestartedSignum):
    """Deprecated alias of :class:`RestartedSignum` (a deterministic Signum, not ASGD).

    .. deprecated:: 0.1.0
       Use :class:`~filippov.schemes.RestartedSignum`; the accelerated SignGD of seed
       paper 2 is :class:`~filippov.schemes.ASGD`.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     scheme = InertialSignGD(step=0.1)
    >>> caught[0].category.__name__, type(scheme).__mro__[1].__name__
    ('DeprecationWarning', 'RestartedSignum')
    """

    def __init__(
        self, step: StepPolicy | float | str, *, beta: float = 0.9, restart: bool = True
    ) -> None:
        warnings.warn(
            "InertialSignGD is deprecated: it is a deterministic Signum with restart, now "
            "called RestartedSignum; the accelerated SignGD of seed paper 2 is ASGD.",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(step, beta=beta, restart=restart)
