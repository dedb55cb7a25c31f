r"""Baselines of seed paper 1: signSGD with momentum (Signum) and Adam."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import require_non_negative, require_unit_interval
from .base import Direction, FloatArray, Problem, Scheme
from .steps import StepPolicy

__all__ = ["Adam", "Signum"]


class Signum(Scheme):
    r"""Sign gradient descent with momentum (Signum; Bernstein et al. 2018).

    .. math::

        m_k = \beta m_{k-1} + (1-\beta) g_k, \qquad
        x_{k+1} = x_k - \eta_k \operatorname{sign}(m_k), \qquad m_{-1} = 0 .

    Unlike :class:`~filippov.schemes.RestartedSignum` there is no restart safeguard.

    Parameters
    ----------
    step : StepPolicy, float or str
        Step policy (usually a constant learning rate).
    beta : float in [0, 1), default 0.9
        Momentum parameter.

    References
    ----------
    J. Bernstein, Y.-X. Wang, K. Azizzadenesheli, A. Anandkumar, "signSGD: Compressed
    optimisation for non-convex problems", ICML 2018 (Algorithm 3). Seed paper 1, Sec. 6.

    Examples
    --------
    >>> import filippov as fp
    >>> from filippov.objectives import separable_quadratic
    >>> traj = Signum(step=0.1, beta=0.5).run(
    ...     separable_quadratic([1.0], [0.0]), [1.0], n_steps=3)
    >>> traj.x[:, 0]
    array([1. , 0.9, 0.8, 0.7])
    """

    norm_name = "linf"

    def __init__(self, step: StepPolicy | float | str, *, beta: float = 0.9) -> None:
        super().__init__(step)
        self.beta = require_unit_interval(beta, "beta")

    def _options(self) -> dict[str, Any]:
        return {"beta": self.beta}

    def init(self, problem: Problem, x: FloatArray, g: FloatArray) -> Any:
        return np.zeros_like(g)

    def direction(self, problem: Problem, x: FloatArray, g: FloatArray, state: Any) -> Direction:
        m = self.beta * state + (1.0 - self.beta) * g
        return Direction(-np.sign(m), m)


class Adam(Scheme):
    r"""Adam (Kingma & Ba 2015), the adaptive-gradient baseline of seed paper 1.

    .. math::

        m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k, \quad
        s_k = \beta_2 s_{k-1} + (1-\beta_2) g_k^2, \quad
        x_{k+1} = x_k - \eta_k \frac{m_k/(1-\beta_1^{k+1})}
        {\sqrt{s_k/(1-\beta_2^{k+1})} + \epsilon},

    elementwise, :math:`m_{-1} = s_{-1} = 0`. With :math:`\beta_1 = \beta_2 = 0` and
    :math:`\epsilon = 0` it is SignGD; seed paper 1 shows Adam behaves like Signum.

    Parameters
    ----------
    step : StepPolicy, float or str
        Step policy (usually a constant learning rate).
    beta1, beta2 : float in [0, 1), default 0.9, 0.999
        Moment decay rates.
    eps : float >= 0, default 1e-8
        Denominator offset.

    References
    ----------
    D. P. Kingma, J. Ba, "Adam: A method for stochastic optimization", ICLR 2015.
    Seed paper 1 (L. Balles, F. Pedregosa, N. Le Roux, "The geometry of sign gradient
    descent", 2020).

    Examples
    --------
    >>> import filippov as fp
    >>> from filippov.objectives import separable_quadratic
    >>> traj = Adam(step=0.1).run(separable_quadratic([1.0, 100.0], [0.0, 0.0]),
    ...                           [1.0, 1.0], n_steps=1)
    >>> traj.x[1]  # the first Adam step is a sign step
    array([0.9, 0.9])
    """

    norm_name = "linf"

    def __init__(
        self,
        step: StepPolicy | float | str,
        *,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(step)
        self.beta1 = require_unit_interval(beta1, "beta1")
        self.beta2 = require_unit_interval(beta2, "beta2")
        # eps = 0 is allowed: with beta1 = beta2 = 0 it makes Adam SignGD (direction()
        # leaves coordinates with a zero denominator at 0).
        self.eps = require_non_negative(eps, "eps")

    def _options(self) -> dict[str, Any]:
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def init(self, problem: Problem, x: FloatArray, g: FloatArray) -> Any:
        return {"k": 0, "m": np.zeros_like(g), "s": np.zeros_like(g)}

    def direction(self, problem: Problem, x: FloatArray, g: FloatArray, state: Any) -> Direction:
        k = state["k"] + 1
        m = self.beta1 * state["m"] + (1.0 - self.beta1) * g
        s = self.beta2 * state["s"] + (1.0 - self.beta2) * g * g
        m_hat = m / (1.0 - self.beta1**k)
        den = np.sqrt(s / (1.0 - self.beta2**k)) + self.eps
        v = np.zeros_like(g)
        np.divide(-m_hat, den, out=v, where=den > 0)
        return Direction(v, {"k": k, "m": m, "s": s})
