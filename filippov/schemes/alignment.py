r"""How closely a run's update directions follow sign-based directions (seed paper 1).

Seed paper 1 reports that Adam behaves like sign descent with momentum (Signum). One
measurable form of that claim: along Adam's own trajectory, the angle between Adam's
update :math:`x_{k+1} - x_k` and the Signum direction :math:`-\operatorname{sign}(m_k)`
built from the *same* gradient history, :math:`m_k = \beta m_{k-1} + (1-\beta) g_k`,
:math:`m_{-1} = 0` (with :math:`\beta = \beta_1`, :math:`\operatorname{sign} m_k` is the
sign of Adam's own bias-corrected first moment, so the cosine measures only what Adam's
elementwise denominator changes), compared with the angles to :math:`-\operatorname{sign}
(g_k)` and to :math:`-g_k`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validation import FloatArray, as_float_array, as_real, require_finite
from ..objectives import Objective
from .trajectory import DiscreteTrajectory

__all__ = ["UpdateAlignment", "cosine_similarity", "update_alignment"]


def cosine_similarity(a: ArrayLike, b: ArrayLike) -> FloatArray:
    r"""Row-wise cosine :math:`\langle a, b\rangle / (\|a\|_2 \|b\|_2)`.

    Parameters
    ----------
    a, b : (n,) or (k, n) array_like
        Vectors, or one vector per row (same shape).

    Returns
    -------
    float ndarray, shape () or (k,)
        NaN where ``a`` or ``b`` is zero (the angle is undefined).

    Examples
    --------
    >>> from filippov.schemes import cosine_similarity
    >>> round(float(cosine_similarity([1.0, 0.0], [1.0, 1.0])), 12)  # 45 degrees: 1/√2
    0.707106781187
    >>> cosine_similarity([[1.0, 2.0], [0.0, 0.0]], [[-2.0, -4.0], [1.0, 0.0]])
    array([-1., nan])
    """
    A = require_finite(as_float_array(a, "a"), "a")
    B = require_finite(as_float_array(b, "b"), "b")
    if A.shape != B.shape or A.ndim not in (1, 2):
        raise ValueError(
            "`a` and `b` must be vectors or stacks of vectors of the same shape. "
            f"Got shapes {A.shape} and {B.shape} instead."
        )
    # scale each row by its largest entry first: no overflow or underflow in the products
    sa = np.max(np.abs(A), axis=-1, keepdims=True)
    sb = np.max(np.abs(B), axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        A1, B1 = A / sa, B / sb
        dot = np.sum(A1 * B1, axis=-1)
        out = dot / (np.linalg.norm(A1, axis=-1) * np.linalg.norm(B1, axis=-1))
    zero = (sa[..., 0] == 0) | (sb[..., 0] == 0)
    out = np.where(zero, np.nan, np.clip(out, -1.0, 1.0))
    return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class UpdateAlignment:
    """Cosines of a run's updates with sign-based directions, one per step.

    Attributes
    ----------
    k : (n_steps,) ndarray of int
        Step index: entry ``k`` is about the update :math:`x_k \\to x_{k+1}`.
    momentum_sign : (n_steps,) ndarray
        Cosine with the Signum direction :math:`-\\operatorname{sign}(m_k)`.
    gradient_sign : (n_steps,) ndarray
        Cosine with the SignGD direction :math:`-\\operatorname{sign}(g_k)`.
    gradient : (n_steps,) ndarray
        Cosine with the gradient-descent direction :math:`-g_k`.
    beta : float
        The momentum parameter of :math:`m_k`.
    """

    k: NDArray[np.int64]
    momentum_sign: FloatArray
    gradient_sign: FloatArray
    gradient: FloatArray
    beta: float


def update_alignment(
    traj: DiscreteTrajectory, objective: Objective, *, beta: float = 0.9
) -> UpdateAlignment:
    r"""Cosines between a run's updates and the Signum, SignGD and GD directions.

    For every step :math:`k` of ``traj`` (all iterates saved, one run), with
    :math:`g_k = \nabla f(x_k)` re-evaluated along the trajectory and the momentum
    :math:`m_k = \beta m_{k-1} + (1-\beta) g_k`, :math:`m_{-1} = 0` (a first-order filter,
    :func:`scipy.signal.lfilter`), the cosines of :math:`x_{k+1} - x_k` with
    :math:`-\operatorname{sign}(m_k)`, :math:`-\operatorname{sign}(g_k)` and :math:`-g_k`.
    For an Adam run pass ``beta = beta1``: the Signum direction is then the sign of Adam's
    own first moment, at the same iterate and with the same gradient history.

    Parameters
    ----------
    traj : DiscreteTrajectory
        A single run saved at every step (``save_every=1``).
    objective : Objective
        The objective the run minimized.
    beta : float in [0, 1), default 0.9
        Momentum parameter of the Signum direction.

    Returns
    -------
    UpdateAlignment

    Examples
    --------
    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov.objectives import separable_quadratic
    >>> obj = separable_quadratic([1.0, 100.0], [0.0, 0.0])
    >>> traj = fp.schemes.Signum(step=0.01, beta=0.5).run(obj, [1.0, 1.0], n_steps=5)
    >>> cos = fp.schemes.update_alignment(traj, obj, beta=0.5)
    >>> bool(np.allclose(cos.momentum_sign, 1.0))  # Signum follows its own direction
    True
    """
    if not isinstance(traj, DiscreteTrajectory):
        raise TypeError(f"`traj` must be a DiscreteTrajectory. Got {traj!r} instead.")
    if traj.x.ndim != 2:
        raise ValueError(
            f"`traj` must be a single run (x of shape (k, n)). Got x of shape {traj.x.shape} instead."
        )
    if not np.array_equal(traj.k, np.arange(traj.k.size)):
        raise ValueError(
            "`traj` must keep every iterate (run it with save_every=1). "
            f"Got iterates k = {traj.k[:4].tolist()}... instead."
        )
    if not isinstance(objective, Objective):
        raise TypeError(f"`objective` must be an Objective. Got {objective!r} instead.")
    b = as_real(beta, "beta")
    if not 0.0 <= b < 1.0:
        raise ValueError(f"`beta` must lie in [0, 1). Got {beta!r} instead.")
    X = traj.x
    G = np.stack([objective.grad(x) for x in X[:-1]]) if X.shape[0] > 1 else X[:0]
    import scipy.signal  # on first use: `import filippov` stays light

    M = scipy.signal.lfilter([1.0 - b], [1.0, -b], G, axis=0)
    D = np.diff(X, axis=0)
    return UpdateAlignment(
        k=np.arange(D.shape[0], dtype=np.int64),
        momentum_sign=cosine_similarity(D, -np.sign(M)),
        gradient_sign=cosine_similarity(D, -np.sign(G)),
        gradient=cosine_similarity(D, -G),
        beta=b,
    )
