"""Where a tie of the ℓ1 (greedy) flow turns from attracting to repelling.

A tie ``T`` with signs ``σ_T`` is attracting while its Hessian block ``H_TT`` is positive
definite on the tie's tangent space ``σ_Tᵀd = 0``: the simplex variational inequality of
its weights is then strongly monotone and its solution unique. Where the smallest
curvature on that space,

    κ(x) = min { dᵀH_TT(x)d : σ_Tᵀd = 0, ‖d‖ = 1 },

crosses 0 along the tie, the tie turns repelling: from that instant other Filippov
solutions leave it (an index moving alone, say), and the paths, which keep following the
tie the selection chose, record the instant as a ``"repulsive"`` event with
``unique=False`` (see docs/theory.rst, "Repelling ties").

``κ`` is continuous (an eigenvalue), smooth where it is simple, well scaled, and changes
sign exactly where the bordered matrix ``[[H_TT, σ_T], [σ_Tᵀ, 0]]`` is singular with one
eigenvalue of the projected block crossing 0 (its inertia is that of the projected block
plus one positive and one negative eigenvalue, Haynsworth). It costs one ``|T|``-sized
symmetric eigenvalue problem, so the paths evaluate it only where their own linear
algebra does not already prove the tie attracting (a Cholesky factor of ``H_TT`` or of
``H_TT + ρσ_Tσ_Tᵀ`` at the point, or a negative determinant of the bordered matrix from
the LU factor the event path's selection solves with), and to locate a turn.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import brentq

from filippov._validation import FloatArray

_EPS = float(np.finfo(float).eps)

#: A tie's block is singular to this relative tolerance: ``|κ|`` at most this times the
#: block's largest entry is rounding (see `tangent_curvature`), and so is a reciprocal
#: condition number of the tie's bordered KKT matrix below it (`filippov._mode_field`);
#: the tie selection's uniqueness test uses the same tolerance.
TIE_ROUNDING = 1e-12

#: The note of the event a tie turning repelling is recorded with.
REPELLING_NOTE = (
    "the tie turned repelling (its Hessian block became indefinite on the tie's tangent "
    "space): other Filippov solutions leave from here; the path keeps following the tie"
)


def tangent_curvature(H: FloatArray, s: FloatArray) -> float:
    """The smallest eigenvalue of the symmetric part of ``H`` on ``{d : sᵀd = 0}``.

    Parameters
    ----------
    H : ndarray, shape (k, k)
        The tie's block (``k ≥ 2``); its symmetric part is used.
    s : ndarray, shape (k,)
        The tie's signs (any nonzero vector: the space is its orthogonal complement).

    Returns
    -------
    float
        ``κ = min dᵀHd`` over unit ``d ⊥ s``: positive where the tie attracts; 0 where
        it is within rounding of 0 on the block's scale (1e-12 of its largest entry, the
        selection's test of uniqueness): a tie whose rates can never differ, as of a
        function of ``x₀ + x₁``, is neither.

    Examples
    --------
    >>> import numpy as np
    >>> round(tangent_curvature(np.array([[1.0, 2.0], [2.0, 1.0]]), np.ones(2)), 12)  # along (1, −1)
    -1.0
    """
    H = 0.5 * (H + H.T)
    u = np.asarray(s, dtype=float) / float(np.linalg.norm(s))
    # A Householder reflector Q = I − 2wwᵀ maps e_0 to u (or −u): its other columns are an
    # orthonormal basis of u⊥, and QHQ costs O(k²) with its rank-two form. (w is never 0:
    # u is not ±e_0 for signs of two or more indices; a sign vector picks the safe side.)
    e0 = np.zeros_like(u)
    e0[0] = 1.0
    w = u + e0 if u[0] > 0.0 else u - e0
    w /= float(np.linalg.norm(w))
    Hw = H @ w
    QHQ = H - 2.0 * np.outer(w, Hw) - 2.0 * np.outer(Hw, w) + 4.0 * float(w @ Hw) * np.outer(w, w)
    kappa = float(np.linalg.eigvalsh(QHQ[1:, 1:])[0])
    # (rounding: κ of softplus(x₀ + x₂) + softplus(x₀ − x₁ + x₂) on the tie of x₀ and x₂
    # went between 0 and 1.4e-17 against entries of 1e-2, and each step from one to the
    # other was recorded as the tie turning repelling)
    return 0.0 if abs(kappa) <= TIE_ROUNDING * float(np.max(np.abs(H))) else kappa


def locate_turn(kappa: Callable[[float], float], lo: float, hi: float) -> float:
    """The time in ``[lo, hi]`` where ``kappa`` turns from positive to not positive.

    ``kappa(lo) > 0 ≥ kappa(hi)`` is the caller's bracket; the root is refined by
    ``brentq`` to a few ulps of the time. An end at which ``kappa`` is within rounding of 0
    (a factor that proved the tie attracting at ``lo``, ``κ`` evaluated at a state a
    projection moved by rounding at ``hi``) is the turn itself.
    """
    k_hi = kappa(hi)
    if not k_hi < 0.0:
        return hi
    if not kappa(lo) > 0.0:
        return lo
    return float(brentq(kappa, lo, hi, xtol=4 * _EPS * max(1.0, abs(hi)), rtol=4 * _EPS))
