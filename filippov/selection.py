"""Consistent relay values on a face: the box, simplex and ball variational inequalities.

In a sliding mode the relay values ``λ`` must keep the mode consistent (:doc:`/theory`,
"Modes and the sliding selection"). With
the normal velocities ``ḣ = a − Mλ`` of the free switching functions this is a linear
variational inequality (VI) over the face of ``∂φ``:

* **box** (ℓ1, zero set ``J``): ``λ ∈ [−1, 1]^k``, ``w = a − Mλ`` with ``|λ_i| < 1 ⇒ w_i = 0``,
  ``λ_i = 1 ⇒ w_i ≥ 0``, ``λ_i = −1 ⇒ w_i ≤ 0`` (a box-constrained LCP);
* **simplex** (ℓ∞, tie set ``A``; the caller passes the sign-conjugated ``SMS`` and ``Sa``):
  ``w ≥ 0``, ``Σ w = 1``, ``ρ = a − Mw`` with ``w_i > 0 ⇒ ρ_i = r`` and ``w_i = 0 ⇒ ρ_i ≤ r``;
* **ball** (ℓ2 at ``h = 0``): ``‖λ‖₂ ≤ 1``, ``‖λ‖ < 1 ⇒ a − Mλ = 0``,
  ``‖λ‖ = 1 ⇒ a − Mλ = μλ`` with ``μ ≥ 0``.

For symmetric positive definite ``M`` each VI is the optimality system of a strictly convex
QP (``min ½λᵀMλ − aᵀλ`` over the face) and has exactly one solution, computed exactly (to
rounding) by finite active-set methods. For other ``M`` the solution may not be unique; the
solvers then return the minimal-norm solution among those they find and set
``unique=False`` — never choosing silently.

Why the pivoting code is written here: scipy has no LCP/VI solver, and the PyPI package
for Lemke's method (``lemkelcp``, a single 0.1 release with a Python 2 wheel) is not
maintained and solves only the standard LCP ``z ≥ 0 ⊥ Mz + q ≥ 0``: no box form, no warm
start, no enumeration of the solution set for the ``unique`` flag. Lemke's method on the
standard LCP equivalent to a box VI (size ``2k``) also ends on a secondary ray for many
non-monotone ``M``; the Lemke-type path used here works on the box itself and cannot.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from filippov._validation import as_square_matrix, as_vector

__all__ = [
    "BoxSolutionSet",
    "Selection",
    "SelectionError",
    "box_vi_solution_set",
    "is_p_matrix",
    "simplex_twins",
    "solve_ball_vi",
    "solve_box_vi",
    "solve_simplex_vi",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_EPS = float(np.finfo(float).eps)
#: Largest size for which the general (non-SPD) box VI enumerates all 3^k active patterns.
_BOX_ENUM_MAX = 10
#: Largest size for which a non-P box VI with one solution found has its whole solution
#: set examined (3^k patterns, a linear program per singular block) to decide uniqueness.
_SOLUTION_SET_MAX = 6
#: Largest size for which the general simplex VI enumerates all 2^k − 1 supports.
_SIMPLEX_ENUM_MAX = 12
#: The time limit of the mixed-integer search for one solution of a larger one, where
#: Lemke's method fails.
_SIMPLEX_MILP_SECONDS = 20.0
#: Largest size for which is_p_matrix checks all 2^k − 1 principal minors.
_P_MINORS_MAX = 12


class SelectionError(RuntimeError):
    """A selection problem that the available exact methods could not solve."""


def _frozen_int(value: ArrayLike) -> IntArray:
    arr = np.array(value, dtype=np.int64).reshape(-1)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Selection:
    """Solution of a selection VI.

    Attributes
    ----------
    lam : (k,) ndarray
        Relay values ``λ`` on the free set; for the simplex VI the weights ``w``.
    residual : float
        Largest violation of the VI conditions at ``lam`` (bounds, equalities and sign
        conditions, each in its own units: ``λ`` for the constraints, ``a`` for ``a − Mλ``).
    at_upper, at_lower, interior : int ndarray
        Box: indices with ``λ_i = 1``, ``λ_i = −1`` and ``|λ_i| < 1``. Simplex: ``at_lower``
        is the zero-weight set, ``interior`` the support, ``at_upper`` is empty. Ball:
        all indices are in ``at_upper`` when ``‖λ‖ = 1``, else in ``interior``.
    rate : float or None
        Simplex: the common rate ``r`` of the support. ``None`` otherwise.
    unique : bool
        True when the VI is known to have exactly one solution (box: ``M`` is a
        P-matrix; simplex and ball: ``M`` is strictly monotone on the face's affine hull).
        False when several solutions exist or may exist.
    method : str
        The algorithm that produced ``lam``.
    multiplier : float or None
        Ball: the multiplier ``μ ≥ 0`` of ``‖λ‖ ≤ 1`` (0 in the interior).
    n_solutions : int or None
        Number of distinct solutions found when all active sets were enumerated, else
        None. A lower bound when ``M`` has singular principal submatrices.
    n_pivots : int
        Linear solves of the pivoting / active-set methods (1 when a warm start is
        already optimal); for enumeration, the number of patterns examined.

    Examples
    --------
    >>> from filippov.selection import solve_box_vi
    >>> sel = solve_box_vi([[2.0]], [3.0])
    >>> sel.lam.tolist(), sel.at_upper.tolist(), sel.pattern.tolist(), sel.unique
    ([1.0], [0], [1], True)
    """

    lam: FloatArray
    residual: float
    at_upper: IntArray
    at_lower: IntArray
    interior: IntArray
    rate: float | None
    unique: bool
    method: str
    multiplier: float | None = None
    n_solutions: int | None = None
    n_pivots: int = 0

    def __post_init__(self) -> None:
        lam = np.array(self.lam, dtype=np.float64).reshape(-1)
        lam.setflags(write=False)
        object.__setattr__(self, "lam", lam)
        for field in ("at_upper", "at_lower", "interior"):
            object.__setattr__(self, field, _frozen_int(getattr(self, field)))

    @property
    def pattern(self) -> IntArray:
        """Active pattern: +1 on ``at_upper``, −1 on ``at_lower``, 0 elsewhere, shape (k,).

        Pass it (or the Selection itself) as ``warm_start`` to :func:`solve_box_vi`.
        """
        p = np.zeros(self.lam.shape[0], dtype=np.int64)
        p[self.at_upper] = 1
        p[self.at_lower] = -1
        return p


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def _validate(M: ArrayLike, a: ArrayLike) -> tuple[FloatArray, FloatArray]:
    a_vec = as_vector(a, "a")
    k = a_vec.shape[0]
    if k == 0:
        M_arr = np.asarray(M, dtype=np.float64)
        if M_arr.size != 0:
            raise ValueError(
                f"`M` must have shape (0, 0) to match an empty `a`. Got shape {M_arr.shape} "
                "instead."
            )
        return np.zeros((0, 0)), a_vec
    return as_square_matrix(M, "M", n=k), a_vec


def _validate_tol(tol: float) -> float:
    t = float(tol)
    if not (np.isfinite(t) and 0.0 <= t < 1e-2):
        raise ValueError(f"`tol` must be a number in [0, 0.01). Got {tol!r} instead.")
    return t


def is_symmetric(M: FloatArray) -> bool:
    if M.size == 0:
        return True
    scale = float(np.max(np.abs(M)))
    return float(np.max(np.abs(M - M.T))) <= 1e-12 * scale


def is_pd_symmetric(S: FloatArray, tol: float, scale: float = 0.0) -> bool:
    """Whether the symmetric matrix ``S`` is positive definite, relative to its scale (or
    to ``scale`` when that is larger: a matrix reduced from a larger one is judged on the
    larger one's scale)."""
    if S.size == 0:
        return True
    eig = np.linalg.eigvalsh(S)
    size = max(float(np.max(np.abs(eig))), scale, 1e-300)
    return bool(eig[0] > max(tol, 100 * _EPS) * size)


# ---------------------------------------------------------------------------------------
# P-matrices
# ---------------------------------------------------------------------------------------
def is_p_matrix(M: ArrayLike, *, tol: float = 1e-12) -> bool | None:
    """Whether every principal minor of ``M`` is positive (``M`` is a P-matrix).

    A P-matrix is exactly the condition under which the box VI (an LCP) has a unique
    solution for every right-hand side.

    Parameters
    ----------
    M : (k, k) array_like
        Square matrix.
    tol : float, optional
        Relative tolerance: a minor ``det M_SS`` counts as positive when it exceeds
        ``tol`` times its Hadamard bound ``Π_{i∈S} ‖M_{i,S}‖₂`` (symmetric ``M``: the
        smallest eigenvalue exceeds ``tol`` times the largest in modulus).

    Returns
    -------
    bool or None
        Symmetric ``M``: positive definiteness (exact test via ``eigvalsh``). Nonsymmetric
        ``M`` with ``k ≤ 12``: all ``2^k − 1`` principal minors. Larger ``k``: True when a
        sufficient test holds (positive definite symmetric part, or positive diagonal and
        strict row or column diagonal dominance), False when a diagonal entry is ``≤ 0``,
        otherwise None (unknown).

    Examples
    --------
    >>> from filippov.selection import is_p_matrix
    >>> is_p_matrix([[1.0, 2.0], [2.0, 1.0]]), is_p_matrix([[1.0, -3.0], [1.0, 1.0]])
    (False, True)
    """
    Mf = as_square_matrix(M, "M")
    k = Mf.shape[0]
    if k == 0:
        return True
    diag = np.diag(Mf)
    row_scale = np.linalg.norm(Mf, axis=1)
    if np.any(diag <= tol * row_scale):
        return False
    if is_symmetric(Mf):
        return is_pd_symmetric(0.5 * (Mf + Mf.T), tol)
    if k <= _P_MINORS_MAX:
        for size in range(2, k + 1):
            subsets = np.array(list(itertools.combinations(range(k), size)))
            blocks = Mf[subsets[:, :, None], subsets[:, None, :]]
            dets = np.linalg.det(blocks)
            bound = np.prod(np.linalg.norm(blocks, axis=2), axis=1)
            if np.any(dets <= tol * bound):
                return False
        return True
    if is_pd_symmetric(0.5 * (Mf + Mf.T), tol):
        return True
    off = np.abs(Mf) - np.diag(np.abs(diag))
    if np.all(diag > off.sum(axis=1)) or np.all(diag > off.sum(axis=0)):
        return True
    return None


# ---------------------------------------------------------------------------------------
# box VI
# ---------------------------------------------------------------------------------------
def _solve_pattern(M: FloatArray, a: FloatArray, p: IntArray) -> FloatArray:
    """λ with ``λ_i = p_i`` where ``p_i = ±1`` and ``w_F = 0`` on the free set ``p_i = 0``."""
    lam = p.astype(np.float64)
    F = p == 0
    if np.any(F):
        B = ~F
        rhs = a[F] - M[np.ix_(F, B)] @ lam[B]
        lam[F] = np.linalg.solve(M[np.ix_(F, F)], rhs)
    return lam


def _box_residual(M: FloatArray, a: FloatArray, lam: FloatArray, p: IntArray) -> float:
    if lam.size == 0:
        return 0.0
    w = a - M @ lam
    parts = [
        np.maximum(np.abs(lam) - 1.0, 0.0),
        np.abs(w[p == 0]),
        np.maximum(-w[p == 1], 0.0),
        np.maximum(w[p == -1], 0.0),
        np.abs(lam[p != 0] - p[p != 0]),
    ]
    return float(max(np.max(x, initial=0.0) for x in parts))


def box_tolerances(M: FloatArray, a: FloatArray, tol: float) -> tuple[float, float]:
    scale_w = float(np.max(np.abs(a), initial=0.0) + np.max(np.sum(np.abs(M), axis=1)))
    t = max(tol, 10 * _EPS)
    return t, t * max(scale_w, 1e-300)


def _box_block_pivoting(
    M: FloatArray, a: FloatArray, p0: IntArray, tol_lam: float, tol_w: float, max_iter: int
) -> tuple[IntArray, FloatArray, int, bool]:
    """Block principal pivoting (Júdice–Pires / primal–dual active set) from pattern ``p0``.

    Every infeasible index changes side at once. Fast (usually a handful of solves, one
    when ``p0`` is already optimal) but not guaranteed to terminate: a repeated pattern is
    reported as failure (``converged=False``) so that the caller can fall back.
    """
    p = p0.copy()
    seen: set[bytes] = set()
    lam = _solve_pattern(M, a, p)
    for it in range(1, max_iter + 1):
        w = a - M @ lam
        F = p == 0
        up = F & (lam > 1.0 + tol_lam)
        lo = F & (lam < -1.0 - tol_lam)
        leave_up = (p == 1) & (w < -tol_w)
        leave_lo = (p == -1) & (w > tol_w)
        if not np.any(up | lo | leave_up | leave_lo):
            return p, lam, it, True
        key = p.tobytes()
        if key in seen:
            return p, lam, it, False
        seen.add(key)
        p[up] = 1
        p[lo] = -1
        p[leave_up | leave_lo] = 0
        lam = _solve_pattern(M, a, p)
    return p, lam, max_iter, False


def _box_primal_active_set(
    M: FloatArray, a: FloatArray, lam0: FloatArray, tol_w: float, max_iter: int
) -> tuple[IntArray, FloatArray, int]:
    """Primal feasible active-set method for the strictly convex box QP (finite).

    Between two subspace minimizers the objective strictly decreases, so no working set
    repeats and the method terminates (Nocedal & Wright, Numerical Optimization, §16.5).
    """
    k = a.shape[0]
    lam = np.clip(lam0, -1.0, 1.0)
    bound = np.where(lam >= 1.0, 1, np.where(lam <= -1.0, -1, 0)).astype(np.int64)
    lam[bound != 0] = bound[bound != 0]
    at_minimizer = False
    for it in range(1, max_iter + 1):
        if not at_minimizer:
            target = _solve_pattern(M, a, bound)
            d = target - lam
            F = bound == 0
            steps = np.full(k, np.inf)
            pos = F & (d > 0)
            neg = F & (d < 0)
            steps[pos] = (1.0 - lam[pos]) / d[pos]
            steps[neg] = (-1.0 - lam[neg]) / d[neg]
            j = int(np.argmin(steps))
            if steps[j] < 1.0:
                lam = np.clip(lam + max(steps[j], 0.0) * d, -1.0, 1.0)
                side = 1 if d[j] > 0 else -1
                bound[j] = side
                lam[j] = side
                continue
            lam = target
            at_minimizer = True
        w = a - M @ lam
        viol = np.where(bound != 0, -w * bound, -np.inf)
        j = int(np.argmax(viol))
        if viol[j] <= tol_w:
            return bound, lam, it
        bound[j] = 0
        at_minimizer = False
    raise SelectionError(
        f"The active-set method did not finish in {max_iter} iterations (k = {k}); M may be "
        "too ill-conditioned."
    )


def _dedupe(sols: FloatArray, tol: float = 1e-7) -> FloatArray:
    if sols.shape[0] <= 1:
        return sols
    _, idx = np.unique(np.round(sols / tol), axis=0, return_index=True)
    reps = sols[np.sort(idx)]
    if reps.shape[0] > 2000:
        return reps
    keep: list[FloatArray] = []
    for row in reps:
        if not keep or np.min(np.max(np.abs(np.array(keep) - row), axis=1)) > tol:
            keep.append(row)
    return np.array(keep)


def _box_enumerate(
    M: FloatArray, a: FloatArray, tol_lam: float, tol_w: float
) -> tuple[FloatArray, FloatArray]:
    """All solutions of the box VI over the 3^k active patterns (returns sols, violations).

    Patterns sharing the free set ``F`` share one least-squares solve (with the
    ``2^{k−|F|}`` sign patterns as right-hand sides). Singular ``M_FF`` use the min-norm
    least-squares point and are accepted only if consistent. When no pattern is within the
    tolerances, the least-violating one is returned so the caller can report it.
    """
    k = a.shape[0]
    found: list[FloatArray] = []
    best: tuple[float, FloatArray] = (np.inf, np.zeros(k))
    for mask in range(1 << k):
        F = np.array([(mask >> i) & 1 == 1 for i in range(k)])
        B = ~F
        nb = int(B.sum())
        P = np.array(list(itertools.product((-1.0, 1.0), repeat=nb))).reshape(1 << nb, nb)
        LAM = np.zeros((P.shape[0], k))
        LAM[:, B] = P
        if np.any(F):
            rhs = a[F][None, :] - P @ M[np.ix_(F, B)].T
            X = np.linalg.lstsq(M[np.ix_(F, F)], rhs.T, rcond=None)[0]
            LAM[:, F] = X.T
        W = a[None, :] - LAM @ M.T
        viol = np.zeros(P.shape[0])
        if np.any(F):
            viol = np.maximum(viol, np.max(np.abs(LAM[:, F]) - 1.0, axis=1) / tol_lam)
            viol = np.maximum(viol, np.max(np.abs(W[:, F]), axis=1) / tol_w)
        if nb:
            viol = np.maximum(viol, np.max(-W[:, B] * P, axis=1) / tol_w)
        ok = viol <= 1.0
        if np.any(ok):
            found.append(LAM[ok])
        j = int(np.argmin(viol))
        if viol[j] < best[0]:
            best = (float(viol[j]), LAM[j])
    if found:
        return _dedupe(np.vstack(found)), np.zeros(0)
    return np.zeros((0, k)), best[1]


def _box_lemke_path(
    M: FloatArray, a: FloatArray, d: FloatArray, max_iter: int
) -> tuple[IntArray, int] | None:
    """Lemke-type complementary pivoting directly on the box VI (one homotopy path).

    Follows the solutions of the augmented VI with ``w(z0) = a − Mλ + z0·d`` from the
    primary ray (``λ = sign(d)`` vertex, ``z0`` large) down to ``z0 = 0``. Along the path
    exactly one index changes status per pivot: a free ``λ_i`` reaching ±1 becomes bound,
    a bound index whose ``w_i`` reaches 0 becomes free. Because ``λ`` is bounded, the only
    unbounded ray is the primary one, so under nondegeneracy the path always ends at a
    solution, for *any* ``M`` (unlike Lemke's method on the equivalent LCP of size ``2k``,
    which can end on a secondary ray when ``M`` is not copositive-plus). Returns the
    final active pattern and the pivot count, or None on failure (degeneracy).
    """
    k = a.shape[0]
    s = np.where(d >= 0, 1, -1).astype(np.int64)
    p = s.copy()
    lam = s.astype(np.float64)
    base = a - M @ lam
    need = -s * base / np.abs(d)  # z0 at which s_i w_i = 0
    r = int(np.argmax(need))
    if need[r] <= 0:
        return p, 0
    z0 = float(need[r])
    p[r] = 0
    entering, enter_sign = r, -int(s[r])  # λ_r leaves its bound towards the interior
    for it in range(1, max_iter + 1):
        F = np.flatnonzero(p == 0)
        A = np.hstack([-M[np.ix_(F, F)], d[F, None]])  # δw_F = 0 on (δλ_F, δz0)
        _, sv, Vt = np.linalg.svd(A)
        direction = Vt[-1]
        if F.size and sv.size == F.size and sv[-1] <= 1e-13 * max(sv[0], 1e-300):
            return None  # the path is not a line here (degenerate)
        dlam = np.zeros(k)
        dlam[F] = direction[:-1]
        dz0 = float(direction[-1])
        dw = -M @ dlam + dz0 * d
        orient = dlam[entering] if p[entering] == 0 else dw[entering] * p[entering]
        if abs(orient) <= 1e-14 * max(1.0, float(np.max(np.abs(direction)))):
            return None
        if orient * enter_sign < 0:
            dlam, dz0, dw = -dlam, -dz0, -dw
        w = a - M @ lam + z0 * d
        steps = np.full(k, np.inf)
        free = p == 0
        up = free & (dlam > 0)
        lo = free & (dlam < 0)
        steps[up] = (1.0 - lam[up]) / dlam[up]
        steps[lo] = (-1.0 - lam[lo]) / dlam[lo]
        bound_closing = (p != 0) & (dw * p < 0)
        steps[bound_closing] = np.maximum(w[bound_closing] * p[bound_closing], 0.0) / np.abs(
            dw[bound_closing]
        )
        steps[entering] = np.inf if steps[entering] <= 0 else steps[entering]
        t_z0 = z0 / -dz0 if dz0 < 0 else np.inf
        j = int(np.argmin(steps))
        if t_z0 <= steps[j]:
            return p, it
        if not np.isfinite(steps[j]):
            return None  # secondary ray: only possible under degeneracy
        t = float(steps[j])
        lam = lam + t * dlam
        z0 = z0 + t * dz0
        if p[j] == 0:
            side = 1 if dlam[j] > 0 else -1
            p[j] = side
            lam[j] = side
            entering, enter_sign = j, 1  # w_j moves into its allowed sign
        else:
            entering, enter_sign = j, -int(p[j])  # λ_j leaves its bound inwards
            p[j] = 0
        lam = np.clip(lam, -1.0, 1.0)
    return None


def _box_lemke(M: FloatArray, a: FloatArray) -> tuple[IntArray, int] | None:
    """Run :func:`_box_lemke_path`, retrying with perturbed covering vectors if needed."""
    k = a.shape[0]
    base_sign = np.where(a >= 0, 1.0, -1.0)  # start at the vertex sign(a)
    for attempt in range(4):
        # deterministic perturbations of the covering vector (same signs, distinct sizes)
        scale = 1.0 + attempt * np.mod(np.arange(1, k + 1) * 0.6180339887498949, 1.0)
        out = _box_lemke_path(M, a, base_sign * scale, max_iter=50 * (k + 1) ** 2)
        if out is not None:
            return out
    return None


def _pattern_of(lam: FloatArray, tol_lam: float) -> IntArray:
    return np.where(lam >= 1.0 - tol_lam, 1, np.where(lam <= -1.0 + tol_lam, -1, 0)).astype(
        np.int64
    )


def _polish(M: FloatArray, a: FloatArray, lam: FloatArray, tol_lam: float) -> FloatArray:
    """Re-solve on the active pattern of ``lam``; keep whichever has the smaller residual."""
    p = _pattern_of(lam, max(tol_lam, 1e-9))
    try:
        cand = np.clip(_solve_pattern(M, a, p), -1.0, 1.0)
    except np.linalg.LinAlgError:
        return lam
    if _box_residual(M, a, cand, _pattern_of(cand, 0.0)) <= _box_residual(
        M, a, lam, _pattern_of(lam, 0.0)
    ):
        return cand
    return lam


def _make_box_selection(
    M: FloatArray,
    a: FloatArray,
    lam: FloatArray,
    p: IntArray,
    *,
    unique: bool,
    method: str,
    n_solutions: int | None,
    n_pivots: int,
) -> Selection:
    lam = lam.copy()
    lam[p != 0] = p[p != 0]
    lam = np.clip(lam, -1.0, 1.0)
    return Selection(
        lam=lam,
        residual=_box_residual(M, a, lam, p),
        at_upper=np.flatnonzero(p == 1),
        at_lower=np.flatnonzero(p == -1),
        interior=np.flatnonzero(p == 0),
        rate=None,
        unique=unique,
        method=method,
        n_solutions=n_solutions,
        n_pivots=n_pivots,
    )


def _warm_pattern(warm_start: Selection | ArrayLike | None, k: int) -> IntArray:
    if warm_start is None:
        return np.zeros(k, dtype=np.int64)
    if isinstance(warm_start, Selection):
        p = warm_start.pattern
    else:
        p = np.asarray(warm_start)
        if p.dtype == bool or not np.all(np.isin(p, (-1, 0, 1))):
            raise ValueError(
                "`warm_start` must be a Selection or an active pattern of -1/0/1 entries. "
                f"Got {np.asarray(warm_start).tolist()!r} instead."
            )
        p = p.astype(np.int64).reshape(-1)
    if p.shape[0] != k:
        raise ValueError(
            f"`warm_start` must have length {k} (like `a`). Got length {p.shape[0]} instead."
        )
    return p.copy()


def solve_box_vi(
    M: ArrayLike,
    a: ArrayLike,
    *,
    warm_start: Selection | ArrayLike | None = None,
    tol: float = 1e-12,
) -> Selection:
    """Solve the box VI: ``λ ∈ [−1, 1]^k`` consistent with ``w = a − Mλ``.

    Conditions: ``|λ_i| < 1 ⇒ w_i = 0``, ``λ_i = 1 ⇒ w_i ≥ 0``, ``λ_i = −1 ⇒ w_i ≤ 0``. This
    is the ℓ1 sliding selection on a zero set ``J`` (:doc:`/theory`, "Modes and the sliding
    selection"); for ``k = 1`` it is
    the Filippov/Utkin equivalent control ``clip(a/M, −1, 1)``.

    Parameters
    ----------
    M : (k, k) array_like
        Finite square matrix (``(∇h B)_JJ``).
    a : (k,) array_like
        Finite drift part of ``ḣ_J``.
    warm_start : Selection or (k,) array of {−1, 0, 1}, optional
        Active pattern to start pivoting from (e.g. the previous selection, with the entry
        of a newly joined index set to 0). When it is optimal, one linear solve suffices.
    tol : float, optional
        Relative tolerance of the pivoting decisions: a bound is violated when
        ``|λ_i| > 1 + tol`` or a sign condition by more than
        ``tol · (‖a‖∞ + ‖M‖∞)``.

    Returns
    -------
    Selection
        ``lam``, the sets at the bounds, ``residual``, ``unique``, ``method``.

    Notes
    -----
    * Symmetric positive definite ``M``: the strictly convex box QP
      ``min ½λᵀMλ − aᵀλ``. Block principal pivoting (Júdice & Pires; Kunisch & Rendl's
      primal–dual active set) from ``warm_start``; if a pattern repeats, a primal feasible
      active-set method (finite for strictly convex QPs) finishes. ``unique=True``.
      Method ``"block-pivoting"`` or ``"block-pivoting+active-set"``.
    * Other ``M`` with ``k ≤ 10``: all ``3^k`` active patterns are enumerated, every
      solution is found and the minimal-norm one is returned (``"enumeration"``).
      ``n_solutions`` counts the distinct solutions.
    * Other ``M`` with ``k > 10``: indices whose row and column of ``M`` vanish are settled
      apart (``λ_i = sign(a_i)``, or the minimal-norm 0 when ``a_i`` vanishes too, then
      ``unique=False``; method ``"...+decoupled"``), the rest solved as its own VI. Then
      a block pivoting attempt, then a Lemke-type
      complementary pivoting path on the box itself (``"lemke"``). Because ``λ`` is
      bounded the path cannot end on a secondary ray, so it reaches a solution for any
      ``M`` unless the data are degenerate (then ``SelectionError``).
    * ``unique`` is True when :func:`is_p_matrix` proves ``M`` is a P-matrix, or, for
      ``k ≤ 6``, when the whole solution set for this ``a`` is a single point
      (:func:`box_vi_solution_set`); otherwise it is False.

    References
    ----------
    J. J. Júdice and F. M. Pires, "A block principal pivoting algorithm for large-scale
    strictly monotone linear complementarity problems", Comput. Oper. Res. 21 (1994).
    K. Kunisch and F. Rendl, "An infeasible active set method for quadratic problems with
    simple bounds", SIAM J. Optim. 14 (2003). C. E. Lemke, "Bimatrix equilibrium points and
    mathematical programming", Management Sci. 11 (1965).

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.selection import solve_box_vi
    >>> M = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> sel = solve_box_vi(M, [3.0, 0.0])
    >>> sel.lam.tolist(), sel.at_upper.tolist(), sel.unique
    ([1.0, -0.5], [0], True)
    >>> solve_box_vi(M, [3.0, 0.0], warm_start=sel).n_pivots
    1
    >>> solve_box_vi([[1.0, 2.0], [2.0, 1.0]], [0.0, 0.0]).n_solutions
    3
    """
    Mf, af = _validate(M, a)
    t = _validate_tol(tol)
    k = af.shape[0]
    p0 = _warm_pattern(warm_start, k)
    if k == 0:
        return _make_box_selection(
            Mf, af, np.zeros(0), p0, unique=True, method="trivial", n_solutions=1, n_pivots=0
        )
    tol_lam, tol_w = box_tolerances(Mf, af, t)
    if is_symmetric(Mf) and is_pd_symmetric(0.5 * (Mf + Mf.T), t):
        Ms = 0.5 * (Mf + Mf.T)
        p, lam, iters, ok = _box_block_pivoting(Ms, af, p0, tol_lam, tol_w, 4 * k + 10)
        method = "block-pivoting"
        if not ok:
            p, lam, more = _box_primal_active_set(Ms, af, lam, tol_w, 100 * (k + 1))
            iters += more
            method = "block-pivoting+active-set"
        lam = _solve_pattern(Mf, af, p)  # exact for the matrix as given
        return _make_box_selection(
            Mf, af, lam, p, unique=True, method=method, n_solutions=None, n_pivots=iters
        )
    if k > _BOX_ENUM_MAX:
        split = _box_split_decoupled(Mf, af, p0, t, tol_w)
        if split is not None:
            return split
    unique = is_p_matrix(Mf, tol=t) is True
    if k <= _BOX_ENUM_MAX:
        sols, fallback = _box_enumerate(Mf, af, tol_lam, tol_w)
        if sols.shape[0]:
            lam = sols[int(np.argmin(np.linalg.norm(sols, axis=1)))]
        else:
            lam = _polish(Mf, af, fallback, tol_lam)
        p = _pattern_of(lam, tol_lam)
        if not unique and sols.shape[0] == 1 and k <= _SOLUTION_SET_MAX:
            # Not a P-matrix, yet one solution found: decide from the whole solution set
            # (a singular block may carry a polytope the enumeration saw as one point).
            unique = box_vi_solution_set(Mf, af).unique
        return _make_box_selection(
            Mf,
            af,
            lam,
            p,
            unique=unique,
            method="enumeration",
            n_solutions=int(sols.shape[0]),
            n_pivots=3**k,
        )
    try:
        p, lam, iters, ok = _box_block_pivoting(Mf, af, p0, tol_lam, tol_w, 4 * k + 10)
    except np.linalg.LinAlgError:
        ok, iters = False, 0
    if ok:
        return _make_box_selection(
            Mf, af, lam, p, unique=unique, method="block-pivoting", n_solutions=None, n_pivots=iters
        )
    path = _box_lemke(Mf, af)
    if path is None:
        raise SelectionError(
            f"No solution of the box VI was found for this {k}x{k} matrix: block pivoting "
            "cycled and the Lemke path broke down (degenerate data)."
        )
    p, more = path
    lam = _polish(Mf, af, _solve_pattern_lstsq(Mf, af, p), tol_lam)
    p = _pattern_of(lam, tol_lam)
    return _make_box_selection(
        Mf, af, lam, p, unique=unique, method="lemke", n_solutions=None, n_pivots=iters + more
    )


def _box_split_decoupled(
    M: FloatArray, a: FloatArray, p0: IntArray, tol: float, tol_w: float
) -> Selection | None:
    """The box VI with its decoupled indices settled apart, or ``None`` when it has none.

    An index ``i`` whose row and column of ``M`` vanish (to ``tol`` of ``M``'s largest
    entry) neither moves nor is moved by the others: ``w_i = a_i`` whatever ``λ``. Its
    relay value is then ``sign(a_i)``, or, when ``a_i`` vanishes too, any value in
    ``[−1, 1]`` -- the minimal-norm one, 0, and the VI is not unique. A sign flow's zero
    Hessian row (a feature absent from the data, no ridge term: ``∂_i f ≡ 0``) is such an
    index. For ``k > 10`` the general path (block pivoting, Lemke) returns *a* solution, not
    the minimal-norm one, and put it at a bound: the coordinate then moved at unit speed
    along a direction in which ``f`` is flat, for ever (an "exit" from sliding, the run
    never stationary). The rest of the VI is solved on its own block.
    """
    k = a.shape[0]
    top = float(np.max(np.abs(M)))
    if top == 0.0:
        loose = np.ones(k, dtype=bool)
    else:
        small = np.abs(M) <= tol * top
        loose = np.all(small, axis=1) & np.all(small, axis=0)
    if not np.any(loose):
        return None
    D = np.flatnonzero(loose)
    R = np.flatnonzero(~loose)
    pattern = np.zeros(k, dtype=np.int64)
    pattern[D] = np.where(a[D] > tol_w, 1, np.where(a[D] < -tol_w, -1, 0))
    lam = pattern.astype(np.float64)
    unique = not bool(np.any(pattern[D] == 0))
    method, n_pivots = "decoupled", 0
    if R.size:
        # (the decoupled columns' share of a_R is below the tolerance: M_RD ≈ 0)
        rest = solve_box_vi(
            M[np.ix_(R, R)], a[R] - M[np.ix_(R, D)] @ lam[D], warm_start=p0[R], tol=tol
        )
        lam[R] = rest.lam
        pattern[R] = rest.pattern
        unique = unique and rest.unique
        method, n_pivots = rest.method + "+decoupled", rest.n_pivots
    return _make_box_selection(
        M, a, lam, pattern, unique=unique, method=method, n_solutions=None, n_pivots=n_pivots
    )


def _solve_pattern_lstsq(M: FloatArray, a: FloatArray, p: IntArray) -> FloatArray:
    lam = p.astype(np.float64)
    F = p == 0
    if np.any(F):
        rhs = a[F] - M[np.ix_(F, ~F)] @ lam[~F]
        lam[F] = np.linalg.lstsq(M[np.ix_(F, F)], rhs, rcond=None)[0]
    return np.clip(lam, -1.0, 1.0)


# ---------------------------------------------------------------------------------------
# simplex VI
# ---------------------------------------------------------------------------------------
def _ones_complement_basis(k: int) -> FloatArray:
    Q, _ = np.linalg.qr(np.ones((k, 1)), mode="complete")
    return Q[:, 1:]


def _monotone_on_simplex(M: FloatArray, tol: float) -> bool:
    """Whether the symmetric part of ``M`` is positive definite on ``{d : Σ d_i = 0}``."""
    k = M.shape[0]
    if k == 1:
        return True
    Z = _ones_complement_basis(k)
    Ms = 0.5 * (M + M.T)
    # On M's own scale (its largest entry, at most its spectral radius): the reduced
    # matrix of a rank-one M = c·11ᵀ is rounding, 3e-33 against c = 0.24 for a function
    # of x + y, and on its own scale a 1 × 1 matrix is always definite -- the tie of two
    # indices whose rates can never differ was called unique.
    return is_pd_symmetric(Z.T @ Ms @ Z, tol, float(np.max(np.abs(Ms))))


def _simplex_kkt(M: FloatArray, a: FloatArray, S: IntArray) -> tuple[FloatArray, float]:
    s = S.size
    K = np.zeros((s + 1, s + 1))
    K[:s, :s] = M[np.ix_(S, S)]
    K[:s, s] = 1.0
    K[s, :s] = 1.0
    sol = np.linalg.solve(K, np.concatenate([a[S], [1.0]]))
    return sol[:s], float(sol[s])


def _simplex_residual(M: FloatArray, a: FloatArray, w: FloatArray, r: float) -> float:
    rho = a - M @ w
    pos = w > 0
    parts = [
        abs(float(np.sum(w)) - 1.0),
        float(np.max(-w, initial=0.0)),
        float(np.max(np.abs(rho[pos] - r), initial=0.0)),
        float(np.max(rho[~pos] - r, initial=0.0)),
    ]
    return max(parts)


def _simplex_active_set(
    M: FloatArray, a: FloatArray, support0: IntArray | None, tol_rho: float, max_iter: int
) -> tuple[FloatArray, float, int]:
    """Primal feasible active-set method for ``min ½wᵀMw − aᵀw`` over the simplex.

    ``M`` symmetric and positive definite on ``{Σ d = 0}``: every equality-constrained
    subproblem has a unique minimizer and the objective strictly decreases between them,
    so the method is finite.
    """
    k = a.shape[0]
    n_solves = 0
    at_minimizer = False
    if support0 is None or support0.size == 0:
        i0 = int(np.argmin(0.5 * np.diag(M) - a))
        free = np.zeros(k, dtype=bool)
        free[i0] = True
        w = np.zeros(k)
        w[i0] = 1.0
    else:
        free = np.zeros(k, dtype=bool)
        free[support0] = True
        S = np.flatnonzero(free)
        wS, r = _simplex_kkt(M, a, S)
        n_solves += 1
        w = np.zeros(k)
        if np.all(wS >= 0):
            w[S] = wS
            at_minimizer = True
        else:
            w[S] = 1.0 / S.size
    if not at_minimizer:
        r = 0.0
    for _ in range(max_iter):
        S = np.flatnonzero(free)
        if not at_minimizer:
            wS, r = _simplex_kkt(M, a, S)
            n_solves += 1
            target = np.zeros(k)
            target[S] = wS
            d = target - w
            neg = free & (d < 0)
            steps = np.full(k, np.inf)
            steps[neg] = w[neg] / -d[neg]
            j = int(np.argmin(steps))
            if steps[j] < 1.0:
                w = np.maximum(w + max(steps[j], 0.0) * d, 0.0)
                w[j] = 0.0
                free[j] = False
                w /= np.sum(w)
                continue
            w = target
            at_minimizer = True
        rho = a - M @ w
        viol = np.where(free, -np.inf, rho - r)
        j = int(np.argmax(viol))
        if viol[j] <= tol_rho:
            return w, r, n_solves
        free[j] = True
        at_minimizer = False
    raise SelectionError(f"The simplex active-set method did not finish (k = {k}).")


def _simplex_enumerate(M: FloatArray, a: FloatArray, tol: float, tol_rho: float) -> FloatArray:
    k = a.shape[0]
    found: list[FloatArray] = []
    for mask in range(1, 1 << k):
        S = np.array([i for i in range(k) if (mask >> i) & 1])
        w = _simplex_on_support(M, a, S, tol, tol_rho)
        if w is not None:
            found.append(w)
    return _dedupe(np.array(found).reshape(-1, k))


def _simplex_large(
    M: FloatArray, a: FloatArray, tol: float, tol_rho: float
) -> tuple[FloatArray, str]:
    """One solution of a simplex VI too large to enumerate (``M``, ``a`` of scale 1): by
    Lemke's method (`_simplex_lemke`), else, where its pivoting fails (degenerate data
    can defeat the floating-point lexicographic rule), by a mixed-integer search for a
    feasible support (`_simplex_milp`). Each candidate is checked exactly on its support
    (`_simplex_checked`): ``(w, "lemke" or "milp")``. Raises ``SelectionError`` when
    neither gives one."""
    w = _simplex_checked(M, a, _simplex_lemke(M, a), tol, tol_rho)
    if w is not None:
        return w, "lemke"
    w = _simplex_checked(M, a, _simplex_milp(M, a), tol, tol_rho)
    if w is None:
        raise SelectionError(
            f"No solution of the {a.shape[0]}x{a.shape[0]} simplex VI (not monotone) was "
            f"found by Lemke's method or by a mixed-integer search within "
            f"{_SIMPLEX_MILP_SECONDS:g} s."
        )
    return w, "milp"


def _simplex_checked(
    M: FloatArray, a: FloatArray, found: FloatArray | None, tol: float, tol_rho: float
) -> FloatArray | None:
    """A solver's weights ``found`` polished: the weights on their support from the VI's
    KKT system, if they satisfy the VI; else ``found`` itself, if it does (a degenerate
    support, e.g. with repeated columns, has a singular KKT system and a continuum of
    weights, of which its least-squares solution need not be one); else ``None``."""
    if found is None or not np.sum(found) > 0.0:
        return None
    support = np.flatnonzero(found > 0)
    polished = _simplex_on_support(M, a, support, tol, tol_rho)
    if polished is not None:
        return polished
    w = np.maximum(found, 0.0) / np.sum(np.maximum(found, 0.0))
    rho = a - M @ w
    r = float(np.mean(rho[support]))
    off = np.ones(a.shape[0], dtype=bool)
    off[support] = False
    if np.max(np.abs(rho[support] - r)) > tol_rho or np.any(rho[off] - r > tol_rho):
        return None
    return w


def _simplex_kkt_matrix(M: FloatArray, support: IntArray) -> FloatArray:
    """The simplex VI's KKT matrix ``[[M_SS, 1], [1ᵀ, 0]]`` on ``support``."""
    s = support.size
    K = np.zeros((s + 1, s + 1))
    K[:s, :s] = M[np.ix_(support, support)]
    K[:s, s] = 1.0
    K[s, :s] = 1.0
    return K


def _simplex_supports_regular(M: FloatArray, a: FloatArray) -> bool:
    """Whether no support ``S`` of the simplex VI (``M``, ``a`` of scale 1) can carry a
    continuum of solutions: its KKT system ``[[M_SS, 1], [1ᵀ, 0]] (w_S, −r) = (a_S, 1)``
    regular well above rounding (condition below 1e8), or singular and inconsistent (no
    solution on it at all: ``diag(1, −1)`` on both indices). A singular consistent one
    has an affine set of solutions that an enumeration of isolated ones does not see."""
    k = M.shape[0]
    for mask in range(1, 1 << k):
        S = np.array([i for i in range(k) if (mask >> i) & 1])
        K = _simplex_kkt_matrix(M, S)
        if np.linalg.cond(K) < 1e8:
            continue
        rhs = np.concatenate([a[S], [1.0]])
        sol = np.linalg.lstsq(K, rhs, rcond=1e-10)[0]
        if not np.max(np.abs(K @ sol - rhs)) > 1e-8:
            return False  # (consistent: a line of solutions to its equalities)
    return True


def _simplex_on_support(
    M: FloatArray, a: FloatArray, support: IntArray, tol: float, tol_rho: float
) -> FloatArray | None:
    """The weights on ``support`` from the VI's KKT system (least squares), if they
    satisfy the VI."""
    s = support.size
    K = _simplex_kkt_matrix(M, support)
    rhs = np.concatenate([a[support], [1.0]])
    sol = np.linalg.lstsq(K, rhs, rcond=None)[0]
    w = np.zeros(a.shape[0])
    w[support] = sol[:s]
    rho = a - M @ w
    off = np.ones(a.shape[0], dtype=bool)
    off[support] = False
    if (
        np.max(np.abs(K @ sol - rhs)) > tol_rho
        or np.any(w < -tol)
        or np.any(rho[off] - sol[s] > tol_rho)
    ):
        return None
    w = np.maximum(w, 0.0)
    return w / np.sum(w)


def _simplex_lemke(M: FloatArray, a: FloatArray) -> FloatArray | None:
    """One solution ``w`` of the simplex VI by Lemke's complementary pivoting, or ``None``
    where the pivoting fails.

    On the simplex ``Σw = 1``, so with ``w = z/Σz`` the VI is the LCP ``z ≥ 0``,
    ``M'z − 1 ≥ 0``, ``zᵀ(M'z − 1) = 0`` for ``M' = M − a1ᵀ + α11ᵀ`` (adding ``α11ᵀ`` shifts
    every ``(Mw)_i`` by ``α``). For ``α`` above ``−λ_min`` of its symmetric part, ``M'`` is
    strictly copositive (``wᵀM'w ≥ (λ_min + α)‖w‖²`` for ``w ≥ 0``, as ``(1ᵀw)² ≥ ‖w‖²``),
    and Lemke's method then ends with a solution (Cottle, Pang & Stone, *The Linear
    Complementarity Problem*, Thm. 4.4.13) in exact arithmetic. A non-monotone VI can have
    several solutions: this is one (the enumeration of smaller problems returns the
    minimal-norm one; on the tie facets of the greedy flows of small networks each
    enumerated VI had a single solution, 21 of 21).
    (Own code: neither SciPy nor a maintained package has Lemke's method, and HiGHS's
    mixed-integer search for a feasible support took from 0.5 s to over 20 s at k = 24-51,
    where this takes milliseconds; the search is the fallback.)
    """
    k = a.shape[0]
    A = M - np.outer(a, np.ones(k))
    lam_min = float(np.linalg.eigvalsh(0.5 * (A + A.T))[0])
    # (on A's own scale; any α > 0 for A = 0, where every w solves the VI)
    A = A + (max(0.0, -lam_min) + (float(np.max(np.abs(A))) or 1.0)) * np.ones((k, k))
    z = _lemke(A, -np.ones(k))
    if z is None or not np.sum(z) > 0.0:
        return None
    return z / np.sum(z)


def _lexicographic_min(keys: FloatArray, rel: float = 1e-9) -> int:
    """The row of ``keys`` that is smallest lexicographically, comparing each column with
    a tolerance relative to its scale (exact ties of the data stay ties in floating point:
    the anti-cycling rule of Lemke's method needs them)."""
    rows = np.arange(keys.shape[0])
    for column in keys.T:
        values = column[rows]
        low = float(values.min())
        rows = rows[values <= low + rel * max(float(np.abs(column).max()), 1e-300)]
        if rows.size == 1:
            break
    return int(rows[0])


def _lemke(M: FloatArray, q: FloatArray, max_pivots: int | None = None) -> FloatArray | None:
    """Lemke's method (covering vector 1, lexicographic ratio test against cycling) for
    the LCP ``z ≥ 0``, ``Mz + q ≥ 0``, ``zᵀ(Mz + q) = 0``; ``None`` on a ray or at the pivot
    limit. The dense tableau ``[B⁻¹ | B⁻¹(−M) | B⁻¹(−1) | B⁻¹q]`` over the variables
    ``w`` (0..k−1), ``z`` (k..2k−1) and the artificial ``z₀`` (2k); ``M`` is scaled to
    entries of size 1 first (the pivot tolerances are then relative)."""
    k = q.shape[0]
    if np.all(q >= 0):
        return np.zeros(k)
    scale = float(np.max(np.abs(M))) or 1.0
    T = np.hstack([np.eye(k), -M / scale, -np.ones((k, 1)), q[:, None]])
    basis = list(range(k))
    artificial, rhs = 2 * k, 2 * k + 1

    def pivot(row: int, col: int) -> None:
        T[row] /= T[row, col]
        others = np.arange(k) != row
        T[others] -= np.outer(T[others, col], T[row])
        basis[row] = col

    # z₀ enters where q is most negative (ties: the lexicographic rule's, on [q, I])
    row = _lexicographic_min(np.column_stack([q, np.eye(k)]))
    entering = artificial
    for _ in range(max_pivots or 50 * (k + 1)):
        leaving = basis[row]
        pivot(row, entering)
        if leaving == artificial:
            break
        entering = leaving + k if leaving < k else leaving - k  # (its complement)
        column = T[:, entering]
        rows = np.flatnonzero(column > 1e-11 * float(np.max(np.abs(column))))
        if rows.size == 0:
            return None  # a ray: no solution along this path
        # (z₀ leaves as soon as it can: the solution is reached)
        keys = np.column_stack([T[rows, rhs], T[rows, :k]]) / column[rows, None]
        best = rows[_lexicographic_min(keys)]
        ratio = T[best, rhs] / column[best]
        z0_rows = [
            r
            for r in rows.tolist()
            if basis[r] == artificial and T[r, rhs] / column[r] <= ratio + 1e-9 * max(ratio, 1.0)
        ]
        row = z0_rows[0] if z0_rows else int(best)
    else:
        return None
    if artificial in basis:
        return None
    z = np.zeros(k)
    for r, var in enumerate(basis):
        if k <= var < 2 * k:
            z[var - k] = max(T[r, rhs], 0.0)
    return z


def _simplex_milp(M: FloatArray, a: FloatArray) -> FloatArray | None:
    """One solution ``w`` of the simplex VI (to HiGHS's tolerances) by a mixed-integer feasibility
    problem (HiGHS, through :func:`scipy.optimize.milp`): a binary ``s_i`` per index allows
    ``w_i > 0`` and forces ``ρ_i = r`` (big-M); ``None`` if none is found within
    `_SIMPLEX_MILP_SECONDS`."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    k = a.shape[0]
    # On the simplex r = ρ_j (j in the support) and r − ρ_i = (Mw)_i − (Mw)_j + a_j − a_i:
    # both lie in ranges of the entries (the tighter the big-M, the faster the search).
    big = 1.01 * (float(np.ptp(M)) + float(np.ptp(a))) + 1e-300
    eye, zeros, ones = np.eye(k), np.zeros((k, k)), np.ones((k, 1))
    # variables [w (k), r, s (k)]; r − ρ_i = r − a_i + (M w)_i
    rows = [
        np.hstack([np.ones((1, k)), [[0.0]], np.zeros((1, k))]),  # Σ w = 1
        np.hstack([eye, np.zeros((k, 1)), -eye]),  # w_i ≤ s_i
        np.hstack([M, ones, zeros]),  # r − ρ_i ≥ 0
        np.hstack([M, ones, big * eye]),  # r − ρ_i ≤ big (1 − s_i)
    ]
    lower = np.concatenate([[1.0], np.full(k, -np.inf), a, np.full(k, -np.inf)])
    upper = np.concatenate([[1.0], np.zeros(k), np.full(k, np.inf), a + big])
    res = milp(
        c=np.zeros(2 * k + 1),
        constraints=LinearConstraint(np.vstack(rows), lower, upper),
        integrality=np.concatenate([np.zeros(k + 1), np.ones(k)]),
        bounds=Bounds(
            np.concatenate([np.zeros(k), [float(a.min() - M.max())], np.zeros(k)]),
            np.concatenate([np.ones(k), [float(a.max() - M.min())], np.ones(k)]),
        ),
        # (any feasible point is optimal: the search ends at the first one it finds)
        options={"time_limit": _SIMPLEX_MILP_SECONDS},
    )
    if res.x is None:
        return None
    return np.where(res.x[:k] > 1e-9, res.x[:k], 0.0)


def _support_of(warm_start: Selection | ArrayLike | None, k: int) -> IntArray | None:
    if warm_start is None:
        return None
    S = (
        warm_start.interior
        if isinstance(warm_start, Selection)
        else np.asarray(warm_start, dtype=np.int64).reshape(-1)
    )
    if S.size and (S.min() < 0 or S.max() >= k):
        raise ValueError(
            f"`warm_start` must hold support indices in [0, {k}). Got {S.tolist()} instead."
        )
    return np.unique(S)


def solve_simplex_vi(
    M: ArrayLike,
    a: ArrayLike,
    *,
    warm_start: Selection | ArrayLike | None = None,
    tol: float = 1e-12,
) -> Selection:
    """Solve the simplex VI of an ℓ∞ tie facet: weights ``w`` with a common rate ``r``.

    Find ``w ≥ 0``, ``Σ w_i = 1`` with ``ρ = a − Mw``: ``w_i > 0 ⇒ ρ_i = r`` and
    ``w_i = 0 ⇒ ρ_i ≤ r``. The caller passes the sign-conjugated data ``SMS`` and ``Sa``
    (``S = diag(sign(h_A))``), so that ``ρ_i = d|h_i|/dt`` for ``λ = Σ w_i s_i e_i``.

    Parameters
    ----------
    M : (k, k) array_like
        Finite square matrix, ``k ≥ 1``.
    a : (k,) array_like
        Finite vector.
    warm_start : Selection or int array, optional
        A previous support (indices with ``w_i > 0``) to start from.
    tol : float, optional
        Relative tolerance of the sign decisions, scaled by ``‖a‖∞ + ‖M‖∞``.

    Returns
    -------
    Selection
        ``lam`` holds the weights ``w``; ``interior`` the support, ``at_lower`` the
        zero-weight set, ``rate`` the common rate ``r``.

    Notes
    -----
    When ``M`` is symmetric and positive definite on ``{Σ d_i = 0}`` this is the strictly
    convex QP ``min ½wᵀMw − aᵀw`` over the simplex, solved by a finite primal active-set
    method (``"active-set"``, ``unique=True``). Otherwise, for ``k ≤ 12``, all ``2^k − 1``
    supports are enumerated and the minimal-norm solution is returned (``"enumeration"``);
    larger problems get one solution by Lemke's method (``"lemke"``) or, where its
    pivoting fails, a mixed-integer search for a feasible support (``"milp"``, HiGHS),
    checked exactly on its support. ``unique`` is True when the symmetric part of ``M``
    is positive definite on ``{Σ d_i = 0}``, or when ``M`` is symmetric or of two indices
    and the enumeration finds one solution, every support's KKT system is regular or
    inconsistent (its solutions are then isolated, and all were seen) and the solution's
    own support attracts (its block positive definite on ``{Σ d_S = 0}``, or a single
    index); else ``False``: not known to be unique (a non-symmetric ``M`` of more indices
    can let solutions turn about each other out of a tie, which no VI solution
    describes). ``SelectionError`` when no
    solution is found.

    Examples
    --------
    Separable quadratic: the weights are proportional to ``1/l_i``.

    >>> import numpy as np
    >>> from filippov.selection import solve_simplex_vi
    >>> sel = solve_simplex_vi(np.diag([1.0, 2.0, 4.0]), np.zeros(3))
    >>> np.round(sel.lam * 7, 12).tolist(), round(sel.rate * 7, 12)
    ([4.0, 2.0, 1.0], -4.0)
    """
    Mf, af = _validate(M, a)
    t = _validate_tol(tol)
    k = af.shape[0]
    if k == 0:
        raise ValueError("`a` must have at least one entry (a tie set is never empty).")
    support0 = _support_of(warm_start, k)
    _, tol_rho = box_tolerances(Mf, af, t)
    monotone = _monotone_on_simplex(Mf, t)
    if is_symmetric(Mf) and monotone:
        Ms = 0.5 * (Mf + Mf.T)
        w, r, n_solves = _simplex_active_set(Ms, af, support0, tol_rho, 100 * (k + 1))
        S = np.flatnonzero(w > 0)
        wS, r = _simplex_kkt(Ms, af, S)
        w = np.zeros(k)
        w[S] = np.maximum(wS, 0.0)
        w /= np.sum(w)
        method, n_sol = "active-set", None
    elif k <= _SIMPLEX_ENUM_MAX:
        # (on the data divided by its scale, as below: the solutions are the same, and the
        # tolerances' floors of 1e-10 are then relative to it)
        scale = max(float(np.max(np.abs(Mf))), float(np.max(np.abs(af))), 1e-300)
        tl, tr = box_tolerances(Mf / scale, af / scale, t)
        sols = _simplex_enumerate(Mf / scale, af / scale, max(tl, 1e-10), max(tr, 1e-10))
        if sols.shape[0] == 0:
            raise SelectionError("No solution of the simplex VI was found by enumeration.")
        w = sols[int(np.argmin(np.linalg.norm(sols, axis=1)))]
        S = np.flatnonzero(w > 0)
        rho = af - Mf @ w
        r = float(np.mean(rho[S]))
        method, n_sol, n_solves = "enumeration", int(sols.shape[0]), 2**k - 1
        # One solution found, and every support's KKT system regular: the solutions are
        # isolated points, each the solution of its support's system, and the enumeration
        # saw them all; and the solution's own tie attracting (its block positive definite
        # on {Σ d_S = 0}; a vertex holds no tie: a repelling one is left by other
        # solutions at once, as a repulsive surface is). That makes the continuation
        # unique only where the indices cannot turn about each other: M symmetric (the
        # greedy flows of objectives), or two indices. A non-symmetric M of four indices
        # with one VI solution let a relay spiral out of the tie through three of them,
        # a Filippov solution that no VI solution describes (review rv10). (Two ℓ∞ indices
        # with a non-gradient B were called not unique on 51 of 316 runs whose
        # continuation is; stranger fuzz fz13.)
        monotone = monotone or (
            n_sol == 1
            and (k <= 2 or is_symmetric(Mf))
            and (S.size < 2 or _monotone_on_simplex(Mf[np.ix_(S, S)], t))
            and _simplex_supports_regular(Mf / scale, af / scale)
        )
    else:
        # (on the data divided by its scale: the VI's solutions are the same, and the
        # pivoting's and the check's tolerances are then relative)
        scale = max(float(np.max(np.abs(Mf))), float(np.max(np.abs(af))), 1e-300)
        Mn, an = Mf / scale, af / scale
        tl, tr = box_tolerances(Mn, an, t)
        w, method = _simplex_large(Mn, an, max(tl, 1e-10), max(tr, 1e-10))
        S = np.flatnonzero(w > 0)
        r = float(np.mean((af - Mf @ w)[S]))
        n_sol, n_solves = None, 1
    return Selection(
        lam=w,
        residual=_simplex_residual(Mf, af, w, r),
        at_upper=np.zeros(0, dtype=np.int64),
        at_lower=np.flatnonzero(w <= 0),
        interior=np.flatnonzero(w > 0),
        rate=r,
        unique=monotone,
        method=method,
        n_solutions=n_sol,
        n_pivots=n_solves,
    )


# ---------------------------------------------------------------------------------------
# ball VI
# ---------------------------------------------------------------------------------------
def _ball_selection(
    M: FloatArray, a: FloatArray, lam: FloatArray, mu: float, unique: bool, method: str
) -> Selection:
    k = a.shape[0]
    on_boundary = mu > 0 or abs(float(np.linalg.norm(lam)) - 1.0) <= 1e-12
    res_vec = a - M @ lam - (mu * lam if on_boundary else 0.0)
    residual = max(
        float(np.max(np.abs(res_vec), initial=0.0)),
        max(float(np.linalg.norm(lam)) - 1.0, 0.0),
        max(-mu, 0.0),
    )
    idx = np.arange(k)
    empty = np.zeros(0, dtype=np.int64)
    return Selection(
        lam=lam,
        residual=residual,
        at_upper=idx if on_boundary else empty,
        at_lower=empty,
        interior=empty if on_boundary else idx,
        rate=None,
        unique=unique,
        method=method,
        multiplier=mu,
    )


def _brentq(f: Callable[[float], float], lo: float, hi: float) -> float:
    from scipy.optimize import brentq  # (imported here: `import filippov` stays light)

    return float(brentq(f, lo, hi, xtol=1e-300, rtol=4 * _EPS, maxiter=500))


def solve_ball_vi(M: ArrayLike, a: ArrayLike, *, tol: float = 1e-12) -> Selection:
    """Solve the ball VI of ℓ2 at ``h = 0``: ``‖λ‖₂ ≤ 1`` consistent with ``a − Mλ``.

    Conditions: ``‖λ‖ < 1 ⇒ a − Mλ = 0``; ``‖λ‖ = 1 ⇒ a − Mλ = μλ`` with ``μ ≥ 0``.

    Parameters
    ----------
    M : (k, k) array_like
        Finite square matrix.
    a : (k,) array_like
        Finite vector.
    tol : float, optional
        Relative tolerance of the definiteness tests.

    Returns
    -------
    Selection
        ``lam``, ``multiplier`` = ``μ``; all indices in ``interior`` or in ``at_upper``
        (on the sphere).

    Notes
    -----
    Symmetric ``M``: the trust-region subproblem ``min ½λᵀMλ − aᵀλ, ‖λ‖ ≤ 1`` solved
    exactly from ``M = QΛQᵀ``: ``λ(μ) = Q (Qᵀa)/(Λ + μ)`` with ``μ`` the root of the secular
    equation ``1/‖λ(μ)‖ = 1`` (``scipy.optimize.brentq``), including the "hard case" for
    indefinite ``M``. Positive definite ``M`` gives ``unique=True`` (``"trust-region"``).
    Non-symmetric ``M``: ``μ`` is a root of ``‖(M + μI)⁻¹a‖ = 1`` (``"secular"``);
    ``unique`` when the symmetric part is positive definite (strict monotonicity).

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.selection import solve_ball_vi
    >>> sel = solve_ball_vi(np.eye(2), [3.0, 4.0])
    >>> sel.lam.tolist(), round(sel.multiplier, 12)
    ([0.6, 0.8], 4.0)
    >>> solve_ball_vi(np.eye(2), [0.3, 0.4]).interior.tolist()
    [0, 1]
    """
    Mf, af = _validate(M, a)
    t = _validate_tol(tol)
    k = af.shape[0]
    if k == 0:
        return _ball_selection(Mf, af, np.zeros(0), 0.0, True, "trivial")
    anorm = float(np.linalg.norm(af))
    if anorm == 0.0:
        return _ball_selection(Mf, af, np.zeros(k), 0.0, is_pd_symmetric(Mf + Mf.T, t), "trivial")
    if is_symmetric(Mf):
        return _ball_symmetric(0.5 * (Mf + Mf.T), af, t, Mf)
    return _ball_general(Mf, af, t)


def _ball_symmetric(Ms: FloatArray, a: FloatArray, tol: float, M_orig: FloatArray) -> Selection:
    eig, Q = np.linalg.eigh(Ms)
    c = Q.T @ a
    scale = max(float(np.max(np.abs(eig))), 1e-300)
    anorm = float(np.linalg.norm(a))
    pd = bool(eig[0] > max(tol, 100 * _EPS) * scale)
    mu_lo = 0.0 if pd else max(0.0, -float(eig[0]))
    shifted = eig + mu_lo
    kernel = shifted <= max(tol, 100 * _EPS) * scale

    def lam_of(mu: float) -> FloatArray:
        return Q @ (c / (eig + mu))

    def phi(mu: float) -> float:
        return 1.0 / float(np.linalg.norm(c / (eig + mu))) - 1.0

    if pd:
        lam0 = lam_of(0.0)
        if np.linalg.norm(lam0) <= 1.0:
            return _ball_selection(M_orig, a, lam0, 0.0, True, "trust-region")
        mu = _brentq(phi, 0.0, anorm)
        lam = lam_of(mu)
        return _ball_selection(M_orig, a, lam / np.linalg.norm(lam), mu, True, "trust-region")
    # Not positive definite: the global TRS minimizer has μ ≥ μ_lo = max(0, −λ_min).
    c_kernel = float(np.linalg.norm(c[kernel]))
    lam_lo = Q[:, ~kernel] @ (c[~kernel] / shifted[~kernel])
    if c_kernel <= max(tol, 100 * _EPS) * anorm and np.linalg.norm(lam_lo) <= 1.0:
        if mu_lo == 0.0:
            return _ball_selection(M_orig, a, lam_lo, 0.0, False, "trust-region")
        tau = np.sqrt(max(1.0 - float(np.linalg.norm(lam_lo)) ** 2, 0.0))
        lam = lam_lo + tau * Q[:, int(np.flatnonzero(kernel)[0])]
        return _ball_selection(M_orig, a, lam, mu_lo, False, "trust-region (hard case)")
    hi = anorm + abs(float(eig[0])) + scale
    delta = hi
    for _ in range(60):
        delta *= 1e-2
        if delta <= 0 or phi(mu_lo + delta) < 0:
            break
    mu = _brentq(phi, mu_lo + delta, hi)
    lam = lam_of(mu)
    return _ball_selection(M_orig, a, lam / np.linalg.norm(lam), mu, False, "trust-region")


def _ball_general(M: FloatArray, a: FloatArray, tol: float) -> Selection:
    k = a.shape[0]
    monotone = is_pd_symmetric(0.5 * (M + M.T), tol)
    eye = np.eye(k)

    def g(mu: float) -> float:
        return float(np.linalg.norm(np.linalg.solve(M + mu * eye, a))) - 1.0

    try:
        lam0 = np.asarray(np.linalg.solve(M, a), dtype=np.float64)
        if np.linalg.norm(lam0) <= 1.0:
            return _ball_selection(M, a, lam0, 0.0, monotone, "secular")
    except np.linalg.LinAlgError:
        pass
    eig = np.linalg.eigvals(M)
    real_neg = eig[(np.abs(eig.imag) <= 1e-12 * np.max(np.abs(eig))) & (eig.real <= 0)].real
    mu_lo = float(np.max(-real_neg, initial=0.0))
    hi = float(np.linalg.norm(a) + np.linalg.norm(M, 2) + 1.0) + mu_lo
    lo: float | None = 0.0 if (mu_lo == 0.0 and _nonsingular(M)) else None
    delta = hi
    for _ in range(60):
        if lo is not None:
            break
        delta *= 1e-2
        try:
            if g(mu_lo + delta) > 0:
                lo = mu_lo + delta
        except np.linalg.LinAlgError:
            continue
    if lo is None:
        raise SelectionError(
            "No boundary solution of the ball VI was bracketed for this non-monotone "
            "non-symmetric matrix."
        )
    mu = _brentq(g, lo, hi)
    lam = np.linalg.solve(M + mu * eye, a)
    return _ball_selection(M, a, lam / np.linalg.norm(lam), mu, monotone, "secular")


def _nonsingular(M: FloatArray) -> bool:
    return bool(np.linalg.matrix_rank(M) == M.shape[0])


# ---------------------------------------------------------------------------------------
# the solution set of the box VI (uniqueness decided from the set, not from M alone)
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class BoxSolutionSet:
    """All solutions of a small box VI, as the active patterns that carry them.

    Attributes
    ----------
    points : (s, k) ndarray
        One solution per solving pattern, and for a pattern whose block ``M_FF`` is
        singular the extreme points of its solution polytope along every null direction
        (so an affine function of ``λ`` that is constant on ``points`` is constant on
        the whole set only up to those directions: see ``continuum``).
    continuum : bool
        True when some pattern carries a whole polytope of solutions (positive diameter).
    """

    points: FloatArray
    continuum: bool

    @property
    def unique(self) -> bool:
        """Exactly one solution."""
        return self.points.shape[0] == 1 and not self.continuum


def box_vi_solution_set(M: ArrayLike, a: ArrayLike, *, tol: float = 1e-10) -> BoxSolutionSet:
    """Every solution of the box VI ``λ ∈ [−1, 1]^k`` with ``w = a − Mλ`` (``k ≤ 10``).

    All ``3^k`` active patterns are examined. A pattern with nonsingular ``M_FF`` carries
    at most one solution; one with singular ``M_FF`` carries the polytope
    ``{λ_F : M_FF λ_F = a_F − M_FB p_B, |λ_F| ≤ 1, p_i w_i ≥ 0 (i ∈ B)}``, whose
    feasibility and extent along each null direction of ``M_FF`` are linear programs
    (scipy's HiGHS). This decides uniqueness from the set itself: ``M`` need not be a
    P-matrix (``[[0, 1], [−1, 0]]`` with ``a = 0``, the nonsmooth harmonic oscillator at
    its centre, has the single solution ``λ = 0``).

    Examples
    --------
    >>> from filippov.selection import box_vi_solution_set
    >>> box_vi_solution_set([[0.0, 1.0], [-1.0, 0.0]], [0.0, 0.0]).unique
    True
    >>> s = box_vi_solution_set([[1.0, 2.0], [2.0, 1.0]], [0.0, 0.0])
    >>> s.unique, s.points.shape[0]
    (False, 3)
    """
    from scipy.optimize import linprog

    Mf, af = _validate(M, a)
    t = _validate_tol(tol)
    k = af.shape[0]
    if k > _BOX_ENUM_MAX:
        raise ValueError(f"`a` must have at most {_BOX_ENUM_MAX} entries. Got {k} instead.")
    if k == 0:
        return BoxSolutionSet(np.zeros((1, 0)), False)
    tol_lam, tol_w = box_tolerances(Mf, af, max(t, 1e-10))
    found: list[FloatArray] = []
    continuum = False
    for pat in itertools.product((-1, 0, 1), repeat=k):
        p = np.array(pat, dtype=np.int64)
        F = p == 0
        Bd = ~F
        lam = p.astype(np.float64)
        rhs = af[F] - Mf[np.ix_(F, Bd)] @ lam[Bd]
        MFF = Mf[np.ix_(F, F)]
        nf = int(F.sum())
        rank = int(np.linalg.matrix_rank(MFF, tol=1e-12 * max(1.0, float(np.abs(Mf).max()))))
        if nf == rank:
            if nf:
                lam[F] = np.linalg.solve(MFF, rhs)
            w = af - Mf @ lam
            ok = (
                np.all(np.abs(lam[F]) <= 1.0 + tol_lam)
                and np.all(p[Bd] * w[Bd] >= -tol_w)
                and np.all(np.abs(w[F]) <= tol_w)
            )
            if ok:
                found.append(np.clip(lam, -1.0, 1.0))
            continue
        # Singular block: a polytope of solutions (or none). Inequalities on λ_F:
        # p_i w_i = p_i (a_i − M_iB p_B − M_iF λ_F) ≥ 0 for the bound indices.
        Bi = np.flatnonzero(Bd)
        A_ub = p[Bi, None] * Mf[np.ix_(Bi, np.flatnonzero(F))] if Bi.size else None
        b_ub = p[Bi] * (af[Bi] - Mf[np.ix_(Bi, Bi)] @ lam[Bi]) if Bi.size else None
        _, _, Vt = np.linalg.svd(MFF)
        null = Vt[rank:]
        extremes: list[FloatArray] = []
        for z in null:
            values = []
            for sgn in (1.0, -1.0):
                res = linprog(
                    -sgn * z,
                    A_ub=A_ub,
                    b_ub=b_ub,
                    A_eq=MFF,
                    b_eq=rhs,
                    bounds=[(-1.0, 1.0)] * nf,
                    method="highs",
                )
                if res.status != 0:
                    break  # infeasible: the pattern carries no solution
                extremes.append(np.asarray(res.x, dtype=float))
                values.append(float(z @ res.x))
            if len(values) < 2:
                extremes = []
                break
            continuum = continuum or values[0] - values[1] > tol_lam
        for e in extremes:
            pt = lam.copy()
            pt[F] = e
            found.append(pt)
    if not found:
        return BoxSolutionSet(np.zeros((0, k)), False)
    return BoxSolutionSet(_dedupe(np.vstack(found), 1e-9), continuum)


def simplex_twins(
    support: ArrayLike, sizes: ArrayLike, M: ArrayLike, a: ArrayLike | None = None
) -> NDArray[np.intp]:
    """For each candidate of a tie's simplex VI, the index on ``support`` it is a twin of
    (``-1``: none, and for the support's own indices): equal ``sizes`` (``|h_j| = |h_q|``,
    the tied values) to 8 ulps, equal rows and columns of the signed matrix ``M = S J B S``
    (``S = diag(sign h)``) and equal drift terms ``a`` to rounding. The weight of ``q`` may
    then be shared with ``j`` in any proportion: every rate ``a − M w`` stays as it is.

    Two exactly opposite (or equal) partials of a gradient flow -- a two-class network's
    output weights of one hidden unit, duplicated features -- are such twins. The VI's
    solution (any point of its solution set) may carry their common weight on one of
    them; the least-norm split shares it equally, and keeps the state from moving along
    the directions that leave ``f`` unchanged. With the twin left out, its value stays at
    the tie and the paths recorded it "joining" the tie at almost every step. (Rows alone
    are not enough where ``M`` is not symmetric or ``a`` differs -- an ℓ∞ relay that is no
    gradient flow: the shared weight changed the rates, a selection off the VI's.)

    Parameters
    ----------
    support : array_like of bool, shape (k,)
        The VI's support on the tie candidates.
    sizes : array_like, shape (k,)
        ``|h_i|`` of the candidates.
    M : array_like, shape (k, k)
        The tie's signed matrix.
    a : array_like, shape (k,), optional
        The VI's drift terms (zero when omitted: a gradient flow's).

    Returns
    -------
    ndarray of int, shape (k,)
        The twin on the support of each candidate off it, else -1.

    Examples
    --------
    >>> import numpy as np
    >>> M = np.array([[2.0, 2.0, 1.0], [2.0, 2.0, 1.0], [1.0, 1.0, 3.0]])
    >>> simplex_twins([True, False, True], [0.5, 0.5, 0.5], M).tolist()
    [-1, 0, -1]
    >>> simplex_twins([True, False, True], [0.5, 0.5, 0.5], M, [0.0, 0.1, 0.0]).tolist()
    [-1, -1, -1]
    """
    on_mask = np.asarray(support, dtype=bool)
    size = np.abs(np.asarray(sizes, dtype=float))
    Mf = np.asarray(M, dtype=float)
    af = np.zeros(on_mask.size) if a is None else np.asarray(a, dtype=float)
    twin_of = np.full(on_mask.size, -1, dtype=np.intp)
    on, off = np.flatnonzero(on_mask), np.flatnonzero(~on_mask)
    if not on.size or not off.size:
        return twin_of
    scale = float(np.max(np.abs(Mf))) if Mf.size else 0.0
    tol = 64 * Mf.shape[0] * _EPS * scale
    a_tol = 64 * _EPS * max(float(np.max(np.abs(af), initial=0.0)), scale)
    for j in off:
        for q in on[np.abs(size[on] - size[j]) <= 8 * _EPS * size[on]]:
            if (
                float(np.max(np.abs(Mf[j] - Mf[q]))) <= tol
                and float(np.max(np.abs(Mf[:, j] - Mf[:, q]))) <= tol
                and abs(float(af[j] - af[q])) <= a_tol
            ):
                twin_of[j] = q
                break
    return twin_of
