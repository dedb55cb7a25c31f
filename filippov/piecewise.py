r"""Piecewise-smooth systems with several switching surfaces (Stewart's formulation).

A :class:`PiecewiseSystem` is given by ``k`` switching functions ``c_1 … c_k`` and one
smooth field per *region*, a region being a sign pattern ``σ ∈ {−1, +1}^k`` of the
switching functions:

.. math:: x' = f_σ(x) \quad\text{where}\quad \operatorname{sign} c(x) = σ .

On an intersection of ``s`` surfaces (the indices ``S`` held at ``c_i = 0``) the
Filippov set is the convex hull of the ``2^s`` adjacent fields (Stewart, 1990). A
*sliding* velocity keeps ``c_S = 0``:

* **Stewart** (default): ``v = Σ_r θ_r f_r`` with ``θ`` in the simplex and
  ``∇c_i · v = 0`` for ``i ∈ S``. For ``s = 1`` this is Filippov's convex combination
  (unique). For ``s ≥ 2`` the set of such ``v`` is in general a segment or a polygon
  (``2^s`` weights, ``s + 1`` equations): the library takes the minimal-norm weights
  (a strictly convex QP, solved exactly by enumerating supports and checking its KKT
  conditions) and flags the choice ``unique=False`` whenever a linear program finds more
  than one sliding *velocity*.
* **bilinear** (codimension 2, Dieci & Lopez 2011): ``v`` is the bilinear interpolation
  ``Σ (1 ± α)(1 ± β)/4 · f_{±±}`` of the four fields, with ``(α, β) ∈ [−1, 1]^2``
  solving the two bilinear equations ``∇c_i · v = 0`` (one quadratic: closed form).

Which surfaces a solution keeps, crosses or leaves at an event is decided by enumerating
the ``3^s`` candidate modes (keep ``c_i = 0``, or leave to either side) and keeping the
*consistent* ones: a leaving index moves strictly into its side, a kept index is
attracting (the sliding velocities with that index released point back to it from both
sides). Several consistent modes mean several Filippov solutions: the event is flagged.

:func:`stewart_system` builds such a system from callables, tables or expression strings
(parsed without ``eval``); :func:`gene_network` builds the multilinear step-function
models of gene regulation (Glass, de Jong), whose sliding on the thresholds ("singular
domains") is this convexification. :func:`filippov.solve` integrates them.

References
----------
D. E. Stewart, "A high accuracy method for solving ODEs with discontinuous right-hand
side", Numer. Math. 58 (1990). L. Dieci and L. Lopez, "Sliding motion on discontinuity
surfaces of high co-dimension. A construction for selecting a Filippov vector field",
Numer. Math. 117 (2011). H. de Jong, J.-L. Gouzé et al., "Qualitative simulation of
genetic regulatory networks using piecewise-linear models", Bull. Math. Biol. 66 (2004).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import operator
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from filippov._validation import (
    FloatArray,
    as_vector,
    real_values,
    require_int,
    require_positive,
    user_function,
)

IndexLike = Sequence[int] | np.ndarray

__all__ = [
    "PiecewiseSelection",
    "PiecewiseSystem",
    "bilinear_root_near",
    "bilinear_roots",
    "bilinear_selection",
    "gene_network",
    "stewart_selection",
    "stewart_system",
]

_SELECTIONS = ("stewart", "bilinear")
#: Largest number of switching functions at zero at one state (3^s candidate modes).
MAX_CODIM = 4


@dataclass(frozen=True)
class PiecewiseSelection:
    """A sliding (or regional) velocity of a piecewise system at one state.

    Attributes
    ----------
    velocity : ndarray, shape (n,)
        The selected velocity.
    weights : ndarray, shape (r,)
        The weights of the adjacent fields (``r = 2^s``; 1 in a region).
    lam : ndarray, shape (k,)
        The mean sign ``Σ_r θ_r σ_r`` of every switching function (``±1`` off the sliding
        set): the relay values of the Lur'e form when the fields are affine in the signs.
    unique : bool
        False when several sliding velocities exist (the choice is flagged).
    """

    velocity: FloatArray
    weights: FloatArray
    lam: FloatArray
    unique: bool = True


#: Guards the count of runs inside each system's `PiecewiseSystem.remembering`.
_MEMO_LOCK = threading.Lock()


# ---------------------------------------------------------------------------------------
# selections (pure matrices)
# ---------------------------------------------------------------------------------------
def stewart_selection(
    fields: ArrayLike, normals: ArrayLike, *, tol: float = 1e-12, check_unique: bool = True
) -> tuple[FloatArray, bool] | None:
    """Minimal-norm weights ``θ`` of the Stewart sliding velocity (``None`` if infeasible).

    Solves ``min ½‖θ‖²`` over ``θ ≥ 0``, ``Σθ = 1``, ``N Fᵀ θ = 0`` (``F`` the adjacent
    fields as rows, ``N`` the surface gradients as rows). Why enumeration: scipy has no
    exact QP solver; with ``r ≤ 16`` weights, checking the KKT conditions on each support
    (smallest first) is exact to rounding and finite.

    Returns
    -------
    (theta, velocity_unique) or None
        ``velocity_unique`` is False when the feasible set holds more than one velocity
        ``Fᵀθ`` (decided by linear programs on each velocity component).

    Examples
    --------
    Two fields either side of ``y = 0`` (Filippov's convex combination):

    >>> import numpy as np
    >>> from filippov.piecewise import stewart_selection
    >>> theta, unique = stewart_selection([[1.0, 1.0], [1.0, -3.0]], [[0.0, 1.0]])
    >>> theta.tolist(), unique
    ([0.75, 0.25], True)
    """
    F = np.atleast_2d(np.asarray(fields, dtype=float))
    N = np.atleast_2d(np.asarray(normals, dtype=float))
    r = F.shape[0]
    A = stewart_constraints(F, N)
    b = np.zeros(A.shape[0])
    b[0] = 1.0
    # A is scaled to unit size (stewart_constraints), so the tolerances are relative to the
    # fields whatever their units.
    eps = tol * 100.0
    theta: FloatArray | None = None
    # The common case first: the minimal-norm solution of the equations alone is
    # feasible, so it is the minimal-norm feasible one (the KKT conditions hold with
    # every multiplier of θ ≥ 0 zero). Enumerating every smaller support first cost a
    # sliding on three surfaces (8 weights, 255 supports) 50 ms per velocity.
    whole = np.linalg.lstsq(A, b, rcond=None)[0]
    if np.max(np.abs(A @ whole - b)) <= eps and np.min(whole) >= 0.0:
        theta = whole / whole.sum()
    if theta is None and r >= 8:
        # Next, the support of the least-distance weights (an estimate), checked as
        # each support of the enumeration is: on four surfaces (16 weights) the
        # enumeration up to the support of size 8 or so took 0.3 s per velocity. (Not on
        # two surfaces: their 15 supports cost less than the estimate.)
        estimate = _least_distance_weights(A, b)
        if estimate is not None:
            support = np.flatnonzero(estimate > _SUPPORT_CUT * np.max(estimate))
            theta = _first_kkt_support(A, b, support[None, :], eps)
    sizes = range(1, r + 1) if theta is None else range(0)
    for size in sizes:
        theta = _first_kkt_support(A, b, _supports(r, size), eps)
        if theta is not None:
            break
    if theta is None:
        return None
    if N.shape[0] == 1:
        # Codimension 1: the normal components of the two fields fix θ unless both vanish.
        return theta, bool(abs(A[1, 0] - A[1, 1]) > eps)
    return theta, (not check_unique) or _single_velocity(F, A, b, eps)


@functools.lru_cache(maxsize=64)
def _supports(r: int, size: int) -> np.ndarray:
    """Every support of ``size`` of ``r`` weights, as rows, in `itertools.combinations`
    order (kept: a sliding on four surfaces has 16 weights, 65 535 supports)."""
    return np.array(list(itertools.combinations(range(r), size)), dtype=np.intp).reshape(-1, size)


#: Weights of the least-distance estimate above this fraction of the largest are its
#: support (`stewart_selection`; the others come out at the rounding of the largest).
_SUPPORT_CUT = 1e-9


def _least_distance_weights(A: FloatArray, b: FloatArray) -> FloatArray | None:
    """An estimate of the minimal-norm ``θ ≥ 0`` with ``Aθ = b`` (``None``: no such
    ``θ`` found), as the least-distance problem ``min ‖θ‖`` over ``Gθ ≥ h`` (``G`` the
    rows of ``A`` and ``−A`` and the identity) solved through the non-negative least
    squares ``min ‖E u − f‖``, ``E = [Gᵀ; hᵀ]``, ``f = e_last`` (Lawson and Hanson,
    *Solving Least Squares Problems*, ch. 23): ``θ = −r₁..ᵣ / r_last`` with ``r = E u −
    f``. scipy has no quadratic program solver; its NNLS is an exact active-set method.
    Only an estimate: its support is checked as the enumeration's supports are."""
    from scipy.optimize import nnls  # on first use (light import)

    r = A.shape[1]
    G = np.vstack([A, -A, np.eye(r)])
    h = np.concatenate([b, -b, np.zeros(r)])
    E = np.vstack([G.T, h[None, :]])
    f = np.zeros(r + 1)
    f[-1] = 1.0
    try:
        u, _ = nnls(E, f, maxiter=50 * E.shape[1])
    except RuntimeError:  # (iteration limit: the enumeration decides)
        return None
    residual = E @ u - f
    if not abs(residual[-1]) > 1e-12:  # (no weights: Gθ ≥ h is infeasible)
        return None
    theta = -residual[:r] / residual[-1]
    return theta if np.all(np.isfinite(theta)) and np.max(theta) > 0.0 else None


def _first_kkt_support(
    A: FloatArray, b: FloatArray, supports: np.ndarray, eps: float
) -> FloatArray | None:
    """The weights ``θ`` (summing to 1) on the first of ``supports`` (rows of indices,
    all of one size) that meets the KKT conditions of ``min ½‖θ‖²``, ``Aθ = b``,
    ``θ ≥ 0`` to ``eps``; ``None`` if none does.

    On a support ``P``: ``θ_P = A_Pᵀ y`` with ``A_P A_Pᵀ y = b`` (least squares with
    LAPACK's rank cut, as ``numpy.linalg.lstsq``), feasible to ``eps``, ``θ_P ≥ −eps``,
    and multipliers ``−A_outᵀ y ≥ −eps`` off the support (else, where ``y`` is not
    unique, `_multipliers_off_support` looks for others). All supports of one size are
    solved at once as a stack (``numpy.linalg.pinv``, the same cut as ``lstsq``): one
    at a time, the enumeration made a sliding on three surfaces whose weights have zeros
    cost 0.6 ms per velocity in numpy's call overhead, and a sliding on four surfaces
    (65 535 supports) did not finish in 40 s.

    Why the normal equations: they square ``A_P``'s condition number, which stays
    moderate once ``A`` is of unit size (with raw rows of sizes 1 and 1e8 it reached 1e16:
    no mode found); their rank cut also picks bounded multipliers ``y`` on nearly
    dependent rows.
    """
    r = A.shape[1]
    if not supports.size:
        return None
    AP = np.moveaxis(A[:, supports], 1, 0)  # (count, rows, size)
    M = AP @ np.swapaxes(AP, 1, 2)
    cut = np.finfo(float).eps * M.shape[1]  # (lstsq's rcond=None)
    y = np.einsum("cij,j->ci", np.linalg.pinv(M, rcond=cut), b)
    tP = np.einsum("cis,ci->cs", AP, y)
    residual = np.max(np.abs(np.einsum("cis,cs->ci", AP, tP) - b), axis=1)
    candidates = np.flatnonzero((residual <= eps) & (np.min(tP, axis=1) >= -eps))
    if not candidates.size:
        return None
    # The multipliers of θ ≥ 0 off each candidate's support, −(Aᵀy)_k, all at once (one
    # candidate at a time, the sign tests and the supports' complements took 45 of 50 s
    # of a sliding on four surfaces, tens of thousands of candidates per velocity).
    on_support = np.zeros((candidates.size, r), dtype=bool)
    on_support[np.arange(candidates.size)[:, None], supports[candidates]] = True
    signs_hold = np.all(on_support | (y[candidates] @ A <= eps), axis=1)
    # The multipliers y are not unique when AP's rows are dependent (a zero row, or one of
    # size 1e-9 against 1): the minimal-norm y can fail the signs off the support where
    # another y of the same tP meets them (found by hypothesis: θ = (½, 0, 0, ½) refused,
    # None returned for a feasible set). Only then is there another y to look for
    # (`_multipliers_off_support`): AP of rank below its row count, by `null_space`'s
    # own rank cut (checked here for the candidates before the first whose signs hold).
    holds = np.flatnonzero(signs_hold)
    first = int(holds[0]) if holds.size else candidates.size
    before = candidates[:first]
    if before.size:
        singular = np.linalg.svd(AP[before], compute_uv=False)
        cut = np.finfo(float).eps * max(AP.shape[1], AP.shape[2]) * singular[:, :1]
        dependent = np.sum(singular > cut, axis=1) < AP.shape[1]
        for c in before[dependent].tolist():
            P = supports[c]
            out = np.setdiff1d(np.arange(r), P)
            if out.size and _multipliers_off_support(A, P.tolist(), out, y[c], eps) is not None:
                return _normalized_on(r, P, tP[c])
    if not holds.size:
        return None
    c = int(candidates[first])
    return _normalized_on(r, supports[c], tP[c])


def _normalized_on(r: int, P: np.ndarray, weights: FloatArray) -> FloatArray:
    """``r`` weights: ``weights`` (clipped at 0) on the support ``P``, 0 off it, summing
    to 1."""
    theta = np.zeros(r)
    theta[P] = np.clip(weights, 0.0, None)
    return theta / theta.sum()


def _multipliers_off_support(
    A: FloatArray, P: list[int], out: np.ndarray, y: FloatArray, eps: float
) -> FloatArray | None:
    """Multipliers ``y + Z c`` (``Z`` a basis of the null space of ``A_Pᵀ``: the same
    ``θ_P = A_Pᵀ y``) with ``−A_outᵀ (y + Z c) ≥ −eps``, by a linear program; ``None`` if
    there are none (the support is not the minimal-norm solution's)."""
    from scipy.linalg import null_space  # on first use (light import)
    from scipy.optimize import linprog

    Z = null_space(A[:, P].T)
    if Z.shape[1] == 0:
        return None
    G = A[:, out].T
    lhs, rhs = G @ Z, -(G @ y) + eps
    # (each row scaled to unit size: HiGHS drops coefficients below 1e-9, and the rows
    # that matter here are exactly those, e.g. 1e-9·c ≤ −½; but not a row that is 0 up
    # to the rounding of G Z: scaled up, −1e-17·c ≤ −2 read as c ≥ 2e17, and a support
    # whose multipliers fail for every c passed -- θ = (1, 0, 0, 0) of norm 1 taken for
    # the minimal-norm (⅓, ⅓, ⅓, 0) of integer fields around two surfaces)
    size = np.max(np.abs(lhs), axis=1)
    keep = size > 64 * np.finfo(float).eps * max(1.0, float(np.max(np.abs(G))))
    if np.any(rhs[~keep] < 0):
        return None
    res = linprog(
        np.zeros(Z.shape[1]),
        A_ub=lhs[keep] / size[keep, None],
        b_ub=rhs[keep] / size[keep],
        bounds=[(None, None)] * Z.shape[1],
        method="highs",
    )
    return None if res.status != 0 else y + Z @ res.x


def stewart_constraints(F: FloatArray, N: FloatArray) -> FloatArray:
    """The rows ``1ᵀ`` and ``(N Fᵀ)_i / s_i`` of the equations on ``θ``, with ``s_i`` the
    size of the terms of row ``i``: ``max_k Σ_j |N_ij| |F_kj|``.

    Scaling the rows with right-hand side 0 leaves the feasible set and the minimal-norm
    solution unchanged, and makes the system (and its tolerances) independent of the
    units of ``F`` and of each surface. Each row by its own terms, not by their sizes'
    entries: a row whose entries are rounding (terms cancelling) stays that small, while
    a surface of other units is not read as zero. (One common factor for all rows
    dropped a row 1e-10 of the others into the tolerance: sliding on two surfaces, one
    scaled by 1e10, moved off it with status 0, z 43% off.)"""
    NF = N @ F.T
    if not NF.size:
        return np.vstack([np.ones(F.shape[0]), NF])
    size = (np.abs(N) @ np.abs(F).T).max(axis=1)
    scaled = np.divide(NF, size[:, None], out=np.zeros_like(NF), where=size[:, None] > 0)
    return np.vstack([np.ones(F.shape[0]), scaled])


def _single_velocity(F: FloatArray, A: FloatArray, b: FloatArray, eps: float) -> bool:
    """Whether ``{Fᵀθ : θ ≥ 0, Aθ = b}`` is a single point (a linear program per component)."""
    r, n = F.shape
    vscale = max(1e-300, float(np.max(np.abs(F))))
    for j in range(n):
        values = []
        for sgn in (1.0, -1.0):
            from scipy.optimize import linprog  # on first use (light import)

            res = linprog(sgn * F[:, j], A_eq=A, b_eq=b, bounds=[(0, None)] * r, method="highs")
            if res.status != 0:
                return True
            values.append(sgn * res.fun)
        if values[1] - values[0] > 1e-9 * vscale:
            return False
    return True


def bilinear_selection(
    fields: ArrayLike, normals: ArrayLike, *, tol: float = 1e-12, extend: bool = False
) -> tuple[list[FloatArray], FloatArray]:
    """Dieci–Lopez bilinear sliding weights on a codimension-2 intersection.

    The velocity is ``v(α, β) = (1−α)(1−β) f₋₋ + α(1−β) f₊₋ + (1−α)β f₋₊ + αβ f₊₊``
    (``α, β ∈ [0, 1]`` the weights of the positive sides of the two surfaces) and
    ``(α, β)`` solves ``∇c_1 · v = ∇c_2 · v = 0``: eliminating ``α`` from the first
    equation leaves a quadratic in ``β`` (closed form).

    Parameters
    ----------
    fields : array_like, shape (4, n)
        ``f₋₋, f₊₋, f₋₊, f₊₊`` (first sign: surface 1).
    normals : array_like, shape (2, n)
        ``∇c_1, ∇c_2``.

    extend : bool
        When no solution lies in the square, return the real solution nearest to it
        (the continuation the integrator needs just past an exit).

    Returns
    -------
    (solutions, weights_of_first)
        Every solution ``(α, β)`` in ``[0, 1]^2`` (possibly none or several) and the four
        field weights of the first one (empty when there is none).

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.piecewise import bilinear_selection
    >>> F = [[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]]
    >>> sols, w = bilinear_selection(F, [[1.0, 0.0], [0.0, 1.0]])
    >>> [s.tolist() for s in sols], w.tolist()
    ([[0.5, 0.5]], [0.25, 0.25, 0.25, 0.25])
    """
    F = np.asarray(fields, dtype=float)
    N = np.asarray(normals, dtype=float)
    if F.shape[0] != 4 or N.shape[0] != 2:
        raise ValueError(
            "`fields` must hold 4 fields and `normals` 2 gradients (codimension 2). "
            f"Got shapes {F.shape} and {N.shape} instead."
        )
    sols: list[FloatArray] = []
    outside: list[FloatArray] = []
    for root in bilinear_roots(F, N, tol):
        if in_weight_square(root):
            ab = np.clip(root, 0.0, 1.0)
            if not any(np.allclose(ab, s, atol=1e-12) for s in sols):
                sols.append(ab)
        else:
            outside.append(root)
    if not sols and extend and outside:
        dist = [float(np.max(np.abs(ab - np.clip(ab, 0.0, 1.0)))) for ab in outside]
        sols = [outside[int(np.argmin(dist))]]
    if not sols:
        return sols, np.zeros(0)
    return sols, _bilinear_weights(sols[0])


def _bilinear_weights(ab: FloatArray) -> FloatArray:
    """The four field weights ``f₋₋, f₊₋, f₋₊, f₊₊`` of the bilinear blend at ``(α, β)``."""
    a, b_ = float(ab[0]), float(ab[1])
    return np.array([(1 - a) * (1 - b_), a * (1 - b_), (1 - a) * b_, a * b_])


#: Weights within this of the square count as in it (and are clipped to it).
_SQUARE_BAND = 1e-9


def in_weight_square(ab: FloatArray) -> bool:
    """Whether the bilinear weights ``(α, β)`` are in ``[0, 1]²`` (up to ``1e-9``, the
    band :func:`bilinear_selection` clips).

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.piecewise import in_weight_square
    >>> in_weight_square(np.array([1.0 + 1e-12, 0.5])), in_weight_square(np.array([-0.1, 0.5]))
    (True, False)
    """
    return bool(np.all(ab >= -_SQUARE_BAND) and np.all(ab <= 1.0 + _SQUARE_BAND))


def bilinear_roots(fields: ArrayLike, normals: ArrayLike, tol: float = 1e-12) -> list[FloatArray]:
    """Every real solution ``(α, β)`` of the two bilinear sliding equations, in the square
    or not, not clipped (see :func:`bilinear_selection`); where ``α`` drops out of both
    equations at a root ``β`` and every ``α`` solves them, the segment's ends ``α = 0, 1``
    stand for it. ``ValueError`` when the two equations coincide.

    Examples
    --------
    >>> from filippov.piecewise import bilinear_roots
    >>> F = [[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]]
    >>> [r.tolist() for r in bilinear_roots(F, [[1.0, 0.0], [0.0, 1.0]])]
    [[0.5, 0.5]]
    """
    F = np.asarray(fields, dtype=float)
    N = np.asarray(normals, dtype=float)
    fmm, fpm, fmp, fpp = F
    G = np.stack([fmm, fpm - fmm, fmp - fmm, fpp - fpm - fmp + fmm])  # v = G·(1, α, β, αβ)
    (A1, B1, C1, D1), (A2, B2, C2, D2) = N @ G.T
    scale = max(1e-300, float(np.max(np.abs(N @ G.T))))
    coeffs = [C2 * D1 - D2 * C1, A2 * D1 + C2 * B1 - B2 * C1 - D2 * A1, A2 * B1 - B2 * A1]
    coeffs_arr = np.array(coeffs)
    if np.all(np.abs(coeffs_arr) <= tol * scale**2):
        raise ValueError("degenerate bilinear system: the two sliding equations coincide")
    while abs(coeffs_arr[0]) <= tol * scale**2:
        coeffs_arr = coeffs_arr[1:]
    out: list[FloatArray] = []
    for beta_c in np.roots(coeffs_arr):
        if abs(beta_c.imag) > 1e-9:
            continue
        beta = float(beta_c.real)
        d1, d2 = B1 + D1 * beta, B2 + D2 * beta
        if max(abs(d1), abs(d2)) <= tol * scale:
            # α drops out of both equations at this β (it divided by zero, with numpy's
            # warning): no α solves them unless both vanish there too, and then every α
            # does, a segment of velocities: its ends stand for it (not unique)
            rest = max(abs(A1 + C1 * beta), abs(A2 + C2 * beta))
            if rest <= tol * scale and -_SQUARE_BAND <= beta <= 1 + _SQUARE_BAND:
                out += [np.array([end, min(max(beta, 0.0), 1.0)]) for end in (0.0, 1.0)]
            continue
        alpha = -(A1 + C1 * beta) / d1 if abs(d1) >= abs(d2) else -(A2 + C2 * beta) / d2
        out.append(np.array([alpha, beta]))
    return out


def bilinear_root_near(
    fields: ArrayLike, normals: ArrayLike, near: ArrayLike, *, tol: float = 1e-12
) -> FloatArray | None:
    """The real solution ``(α, β)`` of the bilinear sliding equations nearest to ``near``,
    in the square or not and not clipped (``None`` when no real one exists): how a sliding
    mode follows its own root by continuity (see :meth:`PiecewiseSystem.mode_velocity`).

    Why: two roots can lie in the square (then the selection is not unique), and the
    first one :func:`bilinear_selection` lists can change from one state to the next; and
    a root leaving the square is an exit, which its unclipped weights locate (they cross
    0 or 1 smoothly) while another root stays inside.

    Examples
    --------
    >>> from filippov.piecewise import bilinear_root_near
    >>> F = [[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]]
    >>> bilinear_root_near(F, [[1.0, 0.0], [0.0, 1.0]], [0.4, 0.6]).tolist()
    [0.5, 0.5]
    """
    F = np.asarray(fields, dtype=float)
    N = np.asarray(normals, dtype=float)
    ref = np.asarray(near, dtype=float)
    roots = bilinear_roots(F, N, tol)
    if not roots:
        return None
    return min(roots, key=lambda ab: float(np.max(np.abs(ab - ref))))


def _check_name_and_selection(name: Any, selection: Any) -> None:
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string. Got {type(name).__name__} instead.")
    if not isinstance(selection, str) or selection not in _SELECTIONS:
        raise ValueError(f"`selection` must be one of {_SELECTIONS}. Got {selection!r} instead.")


# ---------------------------------------------------------------------------------------
# the system
# ---------------------------------------------------------------------------------------
class PiecewiseSystem:
    r"""``x' = f_σ(x)`` in the region ``sign c(x) = σ``, Filippov/Stewart on the surfaces.

    Build it with :func:`stewart_system` or :func:`gene_network`; integrate it with
    :func:`filippov.solve` (its own event-driven path: regions, sliding on any
    intersection of surfaces, exits; the usual :class:`~filippov.solution.FilippovSolution`
    with typed events, modes ``Mode("l1", signs, free)`` — the sign pattern, 0 on the
    sliding set — and segment ``lam`` the mean signs of :class:`PiecewiseSelection`).

    Parameters
    ----------
    field : callable
        ``field(x, signs) -> (n,)``, ``signs`` a tuple of ``±1`` of length ``k``.
    switching : callable
        ``x -> c(x)``, shape ``(k,)``.
    jac : callable
        ``x -> ∂c/∂x``, shape ``(k, n)``.
    n, k : int
        State dimension and number of switching functions.
    selection : {"stewart", "bilinear"}
        The sliding velocity on codimension-2 intersections (codimension 1 is Filippov's
        in both; codimension 3 and more is Stewart's).
    name : str

    Notes
    -----
    ``field`` and ``jac`` must be functions of their arguments alone while a run of
    :func:`filippov.solve` is inside: their values at the last state asked for are then
    kept and handed out again (as copies) for the same state (see :meth:`remembering`).
    Outside runs every call asks the user's function, so a field whose parameters
    change between calls (a sweep that mutates what it reads) is read anew.
    """

    def __init__(
        self,
        field: Callable[[FloatArray, tuple[int, ...]], Any],
        switching: Callable[[FloatArray], Any],
        jac: Callable[[FloatArray], Any],
        n: int,
        k: int,
        *,
        selection: str = "stewart",
        name: str = "piecewise system",
    ) -> None:
        _check_name_and_selection(name, selection)
        for value, label in ((field, "field"), (switching, "switching"), (jac, "jac")):
            if not callable(value):
                raise TypeError(f"`{label}` must be callable. Got {type(value).__name__} instead.")
        # (the user's callables raise what is not a numerical failure as a
        # UserFunctionError: a run keeps its partial solution, see UserFunction)
        self._field = user_function(field, "field")
        self._c = user_function(switching, "switching")
        self._jac = user_function(jac, "jac")
        self.n = require_int(n, "n", 1)
        self.k = require_int(k, "k", 1)
        self.selection = selection
        self.name = name
        self._forget()

    def _forget(self) -> None:
        # The fields and the Jacobian at the last state asked for, while runs are inside
        # (`remembering`): at one state, the guards of a sliding on several surfaces ask
        # for the same regions' fields many times over (each release guard's sliding,
        # the weights' equations and margin), and a user's field is often the costliest
        # call of a run (a sliding on three surfaces asked each of its eight fields five
        # times per state). One tuple, replaced whole: a run in another thread sharing
        # the system reads a consistent (state, values) pair, never another state's.
        self._drop_values()
        self._runs_inside = 0

    def _drop_values(self) -> None:
        self._field_memo: tuple[bytes, dict[tuple[int, ...], FloatArray]] = (b"", {})
        self._jac_memo: tuple[bytes, FloatArray | None] = (b"", None)

    def __getstate__(self) -> dict[str, Any]:
        # (the kept values are a run's, not the system's: not pickled)
        state = self.__dict__.copy()
        for key in ("_field_memo", "_jac_memo", "_runs_inside"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._forget()

    def __repr__(self) -> str:
        return f"PiecewiseSystem({self.name!r}, n={self.n}, k={self.k}, {self.selection})"

    # -- evaluation ---------------------------------------------------------------------
    @contextlib.contextmanager
    def remembering(self) -> Iterator[None]:
        """Keep the fields and the Jacobian at the last state asked for while inside
        (a run of the piecewise path); they are dropped when the last run sharing the
        system leaves, and were dropped when the first came in."""
        with _MEMO_LOCK:
            if self._runs_inside == 0:
                self._drop_values()
            self._runs_inside += 1
        try:
            yield
        finally:
            with _MEMO_LOCK:
                self._runs_inside -= 1
                if self._runs_inside == 0:
                    self._drop_values()

    def c(self, x: ArrayLike) -> FloatArray:
        """The switching functions ``c(x)``, shape ``(k,)``."""
        xv = np.asarray(x, dtype=float)
        out = real_values(self._c(xv), "switching(x)").reshape(-1)
        if out.shape != (self.k,):
            raise ValueError(f"`switching(x)` must have shape ({self.k},). Got {out.shape}.")
        return out

    def jacobian(self, x: ArrayLike) -> FloatArray:
        """``∂c/∂x``, shape ``(k, n)``."""
        xv = np.asarray(x, dtype=float)
        state = xv.tobytes()
        memo = self._jac_memo
        if self._runs_inside and memo[0] == state and memo[1] is not None:
            return memo[1].copy()
        out = np.array(real_values(self._jac(xv), "jac(x)"))
        out = out.reshape(self.k, -1) if out.size == self.k * self.n else out
        if out.shape != (self.k, self.n):
            raise ValueError(
                f"`jac(x)` must have shape ({self.k}, {self.n}). Got {out.shape} instead."
            )
        if self._runs_inside:
            self._jac_memo = (state, out)
        return out.copy()

    def field(self, x: ArrayLike, signs: Sequence[int]) -> FloatArray:
        """The field ``f_σ(x)`` of the region with sign pattern ``signs``."""
        key = tuple(int(s) for s in signs)
        xv = np.asarray(x, dtype=float)
        state = xv.tobytes()
        memo = self._field_memo
        if not self._runs_inside:
            memo = (state, {})  # (kept by no one: every call asks the function)
        elif memo[0] != state:
            memo = (state, {})
            self._field_memo = memo
        kept = memo[1].get(key)
        if kept is None:
            # (a copy: a field that fills and returns one buffer of its own at every call
            # gave every region the last region's field where several were gathered)
            kept = np.array(real_values(self._field(xv, key), "field(x, signs)")).reshape(-1)
            if kept.shape != (self.n,):
                raise ValueError(
                    f"the field of region {key} must have shape ({self.n},). Got {kept.shape}."
                )
            memo[1][key] = kept
        return kept.copy()

    def region(self, x: ArrayLike) -> tuple[int, ...]:
        """The sign pattern of ``c(x)`` (``+1`` at an exact zero)."""
        return tuple(int(s) for s in np.where(self.c(x) < 0, -1, 1))

    def adjacent(
        self, x: ArrayLike, free: IndexLike, signs: IndexLike
    ) -> tuple[list[tuple[int, ...]], FloatArray]:
        """The regions around the intersection ``c_free = 0`` (others at ``signs``) and
        their fields at ``x``, shape ``(2^s, n)``; the first free index varies fastest."""
        free = list(free)
        patterns = []
        for combo in itertools.product((-1, 1), repeat=len(free)):
            s = list(int(v) if v != 0 else 1 for v in signs)
            for i, v in zip(free, reversed(combo), strict=True):
                s[i] = v
            patterns.append(tuple(s))
        return patterns, np.array([self.field(x, p) for p in patterns])

    def filippov_set(self, x: ArrayLike, *, tol: float = 1e-12) -> FloatArray:
        """The vertices of the Filippov set at ``x``: the fields of the regions whose
        closure holds ``x`` (``|c_i| ≤ tol · s_i`` counts as on surface ``i``, with
        ``s_i = Σ_j |∂c_i/∂x_j| (|x_j| + ‖x‖∞) + |c_i − ∂c_i/∂x · x|``: the size of the
        terms ``c_i`` is made of, and of its change when the state moves by its own size,
        the solvers' tolerance; each surface on its own scale)."""
        xv = as_vector(x, "x", self.n)
        cx = self.c(xv)
        # (not tol·(1 + max|x|): that mixed c_i's units with the state's, so c = 1e9·y
        # was never on its surface off the origin, and c = 1e-9·y always was. The ‖x‖∞
        # term: a surface through the origin, c = y, has terms of size |y| alone, and a
        # solver's sliding state 2e-16 off it (rounding of a state of size 1) was off)
        J = self.jacobian(xv)
        size = float(np.max(np.abs(xv), initial=0.0))
        scale = np.abs(J) @ (np.abs(xv) + size) + np.abs(cx - J @ xv)
        zero = np.flatnonzero(np.abs(cx) <= tol * scale)
        _, F = self.adjacent(xv, zero, np.where(cx < 0, -1, 1))
        return F

    # -- sliding ------------------------------------------------------------------------
    def mode_velocity(
        self,
        x: ArrayLike,
        free: IndexLike,
        signs: IndexLike,
        *,
        check_unique: bool = True,
        extend: bool = False,
        near: ArrayLike | None = None,
    ) -> PiecewiseSelection | None:
        """The velocity of the mode sliding on ``free`` (``None`` if no sliding velocity).

        Parameters
        ----------
        x : array_like, shape (n,)
        free : sequence of int
            The surfaces held at zero (empty: the region ``signs``).
        signs : sequence of int
            The signs of the other switching functions.
        check_unique : bool
            Decide ``unique`` (linear programs at codimension ≥ 2); False skips it.
        extend : bool
            Where no sliding velocity exists, return its continuation (weights may be
            negative: the minimal-norm solution of the equations alone; for the bilinear
            selection the real root nearest to the square) instead of ``None``: the
            integrator evaluates trial points a little past an exit, which its event
            functions then locate.
        near : array_like, shape (2,), optional
            For the bilinear selection on two surfaces: the weights ``(α, β)`` of the root
            followed (:func:`bilinear_root_near`); the real root nearest to them is taken,
            not the first one in the square, and ``None`` returned where it has left the
            square (unless ``extend``). Ignored otherwise.

        Examples
        --------
        >>> import numpy as np
        >>> import filippov as fp
        >>> sys = fp.stewart_system({(-1,): ["1", "1"], (1,): ["1", "-3"]}, ["y"],
        ...                         variables=["x", "y"])
        >>> sys.mode_velocity([0.0, 0.0], [0], [0]).velocity.tolist()
        [1.0, 0.0]
        """
        xv = np.asarray(x, dtype=float)
        free = [int(i) for i in free]
        sig = np.array([int(s) for s in signs], dtype=int)
        patterns, F = self.adjacent(xv, free, sig)
        P = np.array(patterns, dtype=float)
        if not free:
            return PiecewiseSelection(F[0], np.ones(1), P[0])
        N = self.jacobian(xv)[free]
        if len(free) == 2 and self.selection == "bilinear" and near is not None:
            try:
                ab = bilinear_root_near(F, N, near)
                sols = bilinear_selection(F, N)[0]
            except ValueError:
                return None
            if ab is None or not (extend or in_weight_square(ab)):
                return None
            ab = np.clip(ab, 0.0, 1.0) if in_weight_square(ab) else ab
            w = _bilinear_weights(ab)
            return PiecewiseSelection(F.T @ w, w, w @ P, len(sols) <= 1)
        if len(free) == 2 and self.selection == "bilinear":
            try:
                sols, w = bilinear_selection(F, N, extend=extend)
            except ValueError:
                return None
            if not sols:
                return None
            return PiecewiseSelection(F.T @ w, w, w @ P, len(sols) == 1)
        out = stewart_selection(F, N, check_unique=check_unique)
        if out is None and extend:
            A = stewart_constraints(F, N)
            b = np.zeros(A.shape[0])
            b[0] = 1.0
            out = (np.asarray(np.linalg.lstsq(A, b, rcond=None)[0], dtype=np.float64), False)
        if out is None:
            return None
        theta, unique = out
        return PiecewiseSelection(F.T @ theta, theta, theta @ P, unique)

    def classify(self, x: ArrayLike, i: int) -> tuple[str, float, float]:
        """Kind of surface ``i`` at ``x`` from the one-sided normal velocities.

        The other switching functions take their sign at ``x``. Returns
        ``(kind, a_plus, a_minus)`` with ``kind`` one of ``"crossing"``, ``"sliding"``,
        ``"repulsive"``, ``"tangency"`` (as :meth:`FilippovSystem.classify`).
        """
        xv = as_vector(x, "x", self.n)
        sig = list(self.region(xv))
        grad = self.jacobian(xv)[i]
        sig[i] = 1
        f_plus = self.field(xv, sig)
        sig[i] = -1
        f_minus = self.field(xv, sig)
        a_plus, a_minus = float(grad @ f_plus), float(grad @ f_minus)
        # Tangency: a normal speed within 1e-9 of the largest it could be, the sum of the
        # sizes of its terms |∂c/∂x_j| |f_j| (‖∇c‖·(|a₊| + |a₋|) counted ∇c twice: c scaled
        # by 1e9 made every sliding point a tangency; ‖∇c‖·‖f‖ mixed the state's
        # components' units: a fast component that c does not depend on hid a slow
        # crossing)
        size = max(float(np.abs(grad) @ np.abs(f_plus)), float(np.abs(grad) @ np.abs(f_minus)))
        tol = 1e-9 * max(1e-300, size)
        if abs(a_plus) <= tol or abs(a_minus) <= tol:
            kind = "tangency"
        elif a_plus * a_minus > 0:
            kind = "crossing"
        elif a_plus < 0 < a_minus:
            kind = "sliding"
        else:
            kind = "repulsive"
        return kind, a_plus, a_minus


# ---------------------------------------------------------------------------------------
# constructors
# ---------------------------------------------------------------------------------------
def _sign_key(key: Any, k: int) -> tuple[int, ...]:
    if isinstance(key, str):
        if len(key) != k or any(ch not in "+-" for ch in key):
            raise ValueError(
                f"a `fields` key string must be {k} characters of '+'/'-'. Got {key!r}."
            )
        return tuple(1 if ch == "+" else -1 for ch in key)
    try:
        tup = tuple(int(v) for v in key)
    except TypeError:
        tup = (int(key),)
    if len(tup) != k or any(v not in (-1, 1) for v in tup):
        raise ValueError(f"a `fields` key must be {k} signs ±1. Got {key!r} instead.")
    return tup


class _ExprVector:
    """A vector of expressions ``x -> (len,)`` lambdified from the safe parser. It pickles
    its source strings, variables and parameters and is compiled again when loaded
    (sympy's lambdified functions do not pickle)."""

    def __init__(self, exprs: Sequence[str], names: list[str], params: Mapping[str, float]):
        import sympy

        from filippov.objectives import parse_expression

        self._source = (list(exprs), list(names), dict(params))

        symbols = {v: sympy.Symbol(v, real=True) for v in names}
        table = dict(symbols)
        for p, val in params.items():
            table[p] = sympy.Float(float(val))
        self.exprs = [parse_expression(e, table) for e in exprs]
        syms = [symbols[v] for v in names]
        self._f = sympy.lambdify(syms, self.exprs, modules="numpy")
        jac = [[sympy.diff(e, s) for s in syms] for e in self.exprs]
        self._j = sympy.lambdify(syms, jac, modules="numpy")
        self.n = len(names)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_ExprVector, self._source)

    def __call__(self, x: FloatArray) -> FloatArray:
        vals = self._f(*x)
        return np.array([np.broadcast_to(v, ()) for v in vals], dtype=float)

    def jac(self, x: FloatArray) -> FloatArray:
        rows = self._j(*x)
        return np.array([[float(v) for v in row] for row in rows], dtype=float)


class _FieldTable:
    """Region fields from a table ``{signs: callable or expressions}``."""

    def __init__(self, table: Mapping[tuple[int, ...], Callable[[FloatArray], Any]]) -> None:
        self.table = table

    def __call__(self, x: FloatArray, signs: tuple[int, ...]) -> Any:
        try:
            f = self.table[signs]
        except KeyError:
            raise ValueError(f"no field given for the region {signs}") from None
        return f(x)


def stewart_system(
    fields: Callable[[FloatArray, tuple[int, ...]], Any] | Mapping[Any, Any],
    switching: Callable[[FloatArray], Any] | Sequence[str],
    *,
    jac: Callable[[FloatArray], Any] | None = None,
    n: int | None = None,
    variables: Sequence[str] | None = None,
    params: Mapping[str, float] | None = None,
    selection: str = "stewart",
    name: str = "piecewise system",
) -> PiecewiseSystem:
    r"""A system with ``k`` switching functions and one smooth field per region.

    Parameters
    ----------
    fields : callable or mapping
        ``fields(x, signs) -> (n,)`` with ``signs`` a tuple of ``±1``; or a table
        ``{signs: field}`` keyed by sign tuples (or strings such as ``"+-"``), each field
        a callable ``x -> (n,)`` or a sequence of ``n`` expression strings.
    switching : callable or sequence of str
        ``x -> c(x)`` of shape ``(k,)`` (then ``jac`` is required), or ``k`` expression
        strings (their Jacobian is derived symbolically). Expressions are parsed by
        :func:`filippov.objectives.parse_expression` (a whitelist; never ``eval``).
    jac : callable, optional
        ``x -> ∂c/∂x`` of shape ``(k, n)``.
    n : int, optional
        State dimension (needed when nothing else gives it).
    variables : sequence of str, optional
        Names of the coordinates, for expressions.
    params : mapping, optional
        Named constants of the expressions.
    selection : {"stewart", "bilinear"}
        Sliding velocity on codimension-2 intersections.
    name : str

    Returns
    -------
    PiecewiseSystem

    Notes
    -----
    A start on a repulsive surface (both fields point away from it; :meth:`~PiecewiseSystem.classify`
    says ``"repulsive"``) has several Filippov solutions: it is recorded as a
    ``"repulsive"`` event with ``unique=False`` and the solution stays on the surface (the
    sliding branch), as the event path of :func:`filippov.systems.piecewise_system` does.

    Examples
    --------
    Four constant fields around the origin of the plane, all pointing inwards:

    >>> import numpy as np
    >>> import filippov as fp
    >>> table = {"--": ["1", "1"], "+-": ["-1", "1"], "-+": ["1", "-1"], "++": ["-1", "-1"]}
    >>> sys = fp.stewart_system(table, ["x", "y"], variables=["x", "y"])
    >>> sol = fp.solve(sys, [1.0, 0.5], (0.0, 2.0))
    >>> [(round(e.t, 12), e.kind, e.indices) for e in sol.events]
    [(0.5, 'sliding-entry', (1,)), (1.0, 'sliding-entry', (0,)), (1.0, 'stationary', (0, 1))]
    """
    _check_name_and_selection(name, selection)
    from filippov.objectives.expression import check_declared_names, check_params

    # (as `Objective.from_expr` checks them: a parameter named like a variable replaced it
    # in every expression -- x' = x with params {"x": 5} was solved as x' = 5, status 0 --
    # and a repeated variable reached sympy as a raw SyntaxError; stranger fuzz fz12)
    if isinstance(variables, np.ndarray):  # (an array of names, as before the check)
        variables = variables.tolist()
    names = check_declared_names(variables) if variables is not None else None
    pars = check_params(params, names or [])
    if isinstance(switching, (list, tuple)) and all(isinstance(s, str) for s in switching):
        if names is None:
            raise ValueError("`variables` must name the coordinates when `switching` is strings.")
        cvec = _ExprVector(list(switching), names, pars)
        c_fun: Callable[[FloatArray], Any] = cvec
        jac_fun: Callable[[FloatArray], Any] = cvec.jac
        k = len(switching)
        n_dim = len(names)
    else:
        if not callable(switching):
            raise TypeError(
                "`switching` must be a callable x -> c(x) or a sequence of expression strings. "
                f"Got {type(switching).__name__} instead."
            )
        if jac is None or not callable(jac):
            raise TypeError("`jac` must be a callable x -> dc/dx when `switching` is a callable.")
        c_fun, jac_fun = switching, jac
        n_opt = n if n is not None else (len(names) if names is not None else None)
        if n_opt is None:
            raise ValueError("`n` must be given (the state dimension).")
        n_dim = int(n_opt)
        k = int(real_values(switching(np.zeros(int(n_dim))), "switching(x)").size)
    if n is not None and int(n) != n_dim:
        raise ValueError(f"`n` = {n} disagrees with the {n_dim} variables.")
    if isinstance(fields, Mapping):
        table: dict[tuple[int, ...], Callable[[FloatArray], Any]] = {}
        for key, val in fields.items():
            sk = _sign_key(key, k)
            if isinstance(val, (list, tuple)) and all(isinstance(e, str) for e in val):
                if names is None:
                    raise ValueError("`variables` must name the coordinates for expression fields.")
                if len(val) != n_dim:
                    raise ValueError(
                        f"`fields[{key!r}]` must have {n_dim} expressions. Got {len(val)} instead."
                    )
                table[sk] = _ExprVector(list(val), names, pars)
            elif callable(val):
                table[sk] = user_function(val, f"fields[{key!r}]")
            else:
                raise TypeError(
                    f"`fields[{key!r}]` must be a callable or expression strings. "
                    f"Got {type(val).__name__} instead."
                )
        missing = [p for p in itertools.product((-1, 1), repeat=k) if p not in table]
        if missing:
            raise ValueError(f"`fields` must give every region; missing {missing}.")
        field_fun: Callable[[FloatArray, tuple[int, ...]], Any] = _FieldTable(table)
    elif callable(fields):
        field_fun = fields
    else:
        raise TypeError(
            f"`fields` must be a callable (x, signs) -> f or a table. Got {type(fields).__name__}."
        )
    if k > 16:
        raise ValueError(f"at most 16 switching functions are supported. Got {k}.")
    return PiecewiseSystem(field_fun, c_fun, jac_fun, int(n_dim), k, selection=selection, name=name)


class _GeneField:
    """``x_i' = Σ_terms κ Π s±(x_j, θ) − γ_i x_i`` with the step values read off the signs."""

    def __init__(self, terms: list[list[tuple[float, list[tuple[int, int]]]]], decay: FloatArray):
        self.terms = terms
        self.decay = decay

    def __call__(self, x: FloatArray, signs: tuple[int, ...]) -> FloatArray:
        out = -self.decay * x
        for i, gene_terms in enumerate(self.terms):
            for kappa, factors in gene_terms:
                on = all((signs[t] > 0) == (d > 0) for t, d in factors)
                if on:
                    out[i] += kappa
        return out


class _Thresholds:
    def __init__(self, genes: list[int], values: FloatArray, n: int) -> None:
        self.genes = genes
        self.values = values
        self.G = np.zeros((len(genes), n))
        self.G[np.arange(len(genes)), genes] = 1.0

    def __call__(self, x: FloatArray) -> FloatArray:
        return np.asarray(x, dtype=float)[self.genes] - self.values

    def jac(self, x: FloatArray) -> FloatArray:
        return self.G


def _is_index(value: Any) -> bool:
    """Whether ``value`` is an integer (not a float that ``int`` would truncate)."""
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def gene_network(
    production: Sequence[Sequence[tuple[float, Sequence[tuple[int, str]]]]],
    decay: ArrayLike,
    thresholds: Sequence[tuple[int, float]],
    *,
    selection: str = "stewart",
    name: str = "gene network",
) -> PiecewiseSystem:
    r"""A piecewise-linear gene regulatory network (Glass; de Jong's models).

    .. math:: x_i' = \sum_{\text{terms}} κ \prod_{(t, ±)} s^±(x_{j_t}, θ_t) − γ_i x_i,

    with ``s⁺(x, θ) = 1`` if ``x > θ`` else 0 and ``s⁻ = 1 − s⁺``. Each threshold is a
    switching function ``c_t = x_{j_t} − θ_t``; on a threshold ("singular domain") the
    Filippov set is the convex hull of the adjacent regions' fields (de Jong et al. 2004),
    so a gene held at its threshold by its own regulation slides along it.

    Parameters
    ----------
    production : sequence (one per gene) of sequences of ``(κ, factors)``
        ``factors`` a sequence of ``(threshold index, "+" or "-")``.
    decay : array_like, shape (n,)
        Degradation rates ``γ_i > 0``.
    thresholds : sequence of ``(gene j, θ)``
    selection : {"stewart", "bilinear"}
    name : str

    Examples
    --------
    One self-repressing gene ``x' = 2 s⁻(x, 1) − x`` settles on its threshold:

    >>> import filippov as fp
    >>> net = fp.gene_network([[(2.0, [(0, "-")])]], [1.0], [(0, 1.0)])
    >>> sol = fp.solve(net, [0.0], (0.0, 2.0))
    >>> [e.kind for e in sol.events], round(float(sol(2.0)[0]), 12)
    (['sliding-entry', 'stationary'], 1.0)
    """
    _check_name_and_selection(name, selection)
    gam = as_vector(decay, "decay")
    n = gam.size
    for g in gam:
        require_positive(float(g), "decay")
    genes, values = [], []
    for pos, item in enumerate(thresholds):
        j, th = item
        if not _is_index(j) or not 0 <= int(j) < n:
            raise ValueError(
                f"`thresholds[{pos}]`: the threshold's gene must be an integer in [0, {n}). "
                f"Got {j!r} instead."
            )
        if not math.isfinite(float(th)):
            raise ValueError(
                f"`thresholds[{pos}]`: the threshold must be a finite number. Got {th!r} instead."
            )
        genes.append(int(j))
        values.append(float(th))
    k = len(genes)
    if len(production) != n:
        raise ValueError(f"`production` must have one entry per gene ({n}). Got {len(production)}.")
    terms: list[list[tuple[float, list[tuple[int, int]]]]] = []
    for gene, gene_terms in enumerate(production):
        parsed = []
        for kappa, factors in gene_terms:
            fs = []
            for t, d in factors:
                if not _is_index(t) or not 0 <= int(t) < k or d not in ("+", "-"):
                    raise ValueError(
                        f"`production[{gene}]`: a factor must be (threshold index, an integer "
                        f"in [0, {k}), '+' or '-'). Got {(t, d)!r} instead."
                    )
                fs.append((int(t), 1 if d == "+" else -1))
            if not math.isfinite(float(kappa)):
                raise ValueError(
                    f"`production[{gene}]`: a rate must be a finite number. Got {kappa!r} instead."
                )
            parsed.append((float(kappa), fs))
        terms.append(parsed)
    thr = _Thresholds(genes, np.array(values), n)
    return PiecewiseSystem(
        _GeneField(terms, gam), thr, thr.jac, n, k, selection=selection, name=name
    )
