r"""Geometry diagnostics of an objective's Hessian (seed paper 1).

The mathematics: :doc:`/theory`, "Geometry: when does sign descent win?".

Sign-based methods beat gradient methods when the curvature is concentrated on the diagonal
and the spectrum is spread. The quantities that say so:

* :func:`separable_smoothness` -- coordinate constants ``L_i`` with ``diag(L) ⪰ H``
  (certified for quadratics; a *sampled* estimate for general objectives),
* :func:`linf_smoothness` -- ``‖H‖_{∞→1} = max_{‖x‖∞≤1} ‖Hx‖₁``, the smoothness constant of
  ``f`` with respect to ``‖·‖∞``, exactly for small ``n`` and with certified lower/upper
  bounds otherwise (always ``≤ Σ_i L_i``),
* :func:`diagonal_concentration` -- ``Σ|H_ii| / Σ|H_ij|`` (1 for a diagonal ``H``),
* :func:`eigenvalue_ratio` -- ``λ_max / λ_avg`` (between 1 and ``n`` for PSD ``H``).

Every function takes a symmetric matrix or a quadratic :class:`~filippov.objectives.Objective`
(for a general objective pass ``obj.hess(x)``; only :func:`separable_smoothness` samples).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from filippov._validation import (
    FloatArray,
    as_square_matrix,
    as_vector,
    require_positive,
    require_symmetric,
)
from filippov.objectives import Objective

__all__ = [
    "LinfSmoothness",
    "SmoothnessBound",
    "diagonal_concentration",
    "eigenvalue_ratio",
    "linf_smoothness",
    "separable_smoothness",
]

_EPS = float(np.finfo(float).eps)
_MAX_EXACT_N = 24
_CHUNK = 1 << 14


def _hessian_of(obj_or_H: Any, name: str = "H") -> FloatArray:
    """A symmetric matrix from an array or a quadratic Objective."""
    if isinstance(obj_or_H, Objective):
        data = obj_or_H.quadratic_data
        if data is None:
            raise TypeError(
                f"`{name}` must be a symmetric matrix or a quadratic Objective. Got the "
                f"non-quadratic {obj_or_H!r} instead; pass `obj.hess(x)` at a point of interest."
            )
        return np.array(data[0], dtype=float)
    H = require_symmetric(as_square_matrix(obj_or_H, name), name)
    if H.shape[0] == 0:
        raise ValueError(f"`{name}` must be at least 1 x 1. Got shape (0, 0) instead.")
    return 0.5 * (H + H.T)


# --------------------------------------------------------------------------------------
# Separable (coordinate-wise) smoothness
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SmoothnessBound:
    """Coordinate smoothness constants ``L`` and how much they can be trusted.

    Attributes
    ----------
    L : (n,) ndarray
        The constants ``L_i``.
    kind : {"bound", "sampled", "heuristic"}
        ``"bound"``: certified, ``diag(L) ⪰ ∇²f`` everywhere (quadratics).
        ``"sampled"``: ``diag(L) ⪰ ∇²f(x)`` at every sampled ``x`` -- an estimate, not a
        certified bound between or outside the samples.
        ``"heuristic"``: ``L_i = |H_ii|``; *not* a valid bound unless ``H`` is diagonal.
    method : str
        How ``L`` was computed.
    note : str
        A human-readable caveat.

    Examples
    --------
    >>> from filippov.geometry import separable_smoothness
    >>> bound = separable_smoothness([[2.0, 1.0], [1.0, 2.0]])
    >>> bound.L, bound.kind, bound.total, bound.certified
    (array([3., 3.]), 'bound', 6.0, True)
    """

    L: FloatArray
    kind: Literal["bound", "sampled", "heuristic"]
    method: str
    note: str

    @property
    def total(self) -> float:
        """``Σ_i L_i`` (an upper bound on ``‖H‖_{∞→1}`` when ``kind == "bound"``)."""
        return float(np.sum(self.L))

    @property
    def certified(self) -> bool:
        """Whether ``diag(L) ⪰ H`` is guaranteed (``kind == "bound"``)."""
        return self.kind == "bound"


_SEPARABLE_METHODS = ("row_sum", "diagonal_heuristic")


def _row_constants(H: FloatArray, method: str) -> FloatArray:
    if method == "row_sum":
        return np.asarray(np.sum(np.abs(H), axis=1))
    return np.abs(np.diag(H)).astype(float)


def _linear_model_bound(obj: Objective) -> np.ndarray | None:
    """Certified ``L`` of a linear model ``f = mean ℓ(Bx) + (λ/2)‖x‖²`` whose loss has
    ``ℓ'' ≤ c`` everywhere (``Objective._loss_curvature_max``): ``∇²f = Bᵀ diag(ℓ''/m) B + λI
    ⪯ (c/m) BᵀB + λI``, whose row sums bound it. ``None`` for any other objective. (The
    sampled estimate of a box around ``x0`` was 0.67 where this bound is 2.17 on a
    ridge logistic regression, and SignGD's adaptive step settled into a 2-cycle.)"""
    data = getattr(obj, "_linear_model", None)
    c = getattr(obj, "_loss_curvature_max", None)
    if c is None:
        return None
    if data is None:
        sparse = getattr(obj, "_sparse_linear_model", None)
        if sparse is None:
            return None
        # Sparse data (stranger fuzz fz11: its constants were only sampled, ΣL = 1.18
        # where the bound is 1.71): the same row sums from the sparse BᵀB where it is
        # small enough to form, else the looser (|B|ᵀ|B|) 1 in O(nnz(B)), which bounds
        # them entry by entry.
        B_sparse, lam = sparse[0], float(sparse[1])
        m, n = B_sparse.shape
        if n <= _SPARSE_GRAM_MAX_N:
            row_sums = np.asarray(abs(B_sparse.T @ B_sparse).sum(axis=1)).reshape(-1)
        else:
            magnitudes = abs(B_sparse)
            row_sums = np.asarray(magnitudes.T @ (magnitudes @ np.ones(n))).reshape(-1)
        return row_sums * (float(c) / m) + lam
    B = np.asarray(data[0], dtype=float)
    m = B.shape[0]
    return np.abs(B.T @ B).sum(axis=1) * (float(c) / m) + float(data[1])


#: Sparse data of at most this many columns has its Gram matrix formed for the certified
#: smoothness constants (``n²`` entries at most, 32 MB at this size).
_SPARSE_GRAM_MAX_N = 2048


def separable_smoothness(
    obj_or_H: Objective | ArrayLike,
    *,
    method: str = "row_sum",
    center: ArrayLike | None = None,
    radius: float = 1.0,
    region: str = "box",
    n_samples: int = 64,
    seed: int | np.random.Generator | None = None,
) -> SmoothnessBound:
    r"""Coordinate smoothness constants ``L_i`` with ``diag(L) ⪰ ∇²f``.

    For a symmetric ``H`` the row sums ``L_i = Σ_j |H_ij|`` are a valid bound: ``diag(L) − H``
    is diagonally dominant with a non-negative diagonal, hence positive semidefinite
    (Gershgorin). So ``f(x + d) ≤ f(x) + ⟨∇f(x), d⟩ + ½ Σ_i L_i d_i²``.

    For a quadratic (a matrix, or an Objective with ``quadratic_data``) the result is a
    certified ``"bound"``; so it is for a library linear model whose loss has a bounded
    second derivative ``ℓ'' ≤ c`` (:func:`~filippov.objectives.ridge_logistic`, and
    :func:`~filippov.objectives.linear_model` with the logistic or log-cosh loss), from
    ``∇²f ⪯ (c/m) BᵀB + λI`` everywhere. For a general Objective, the Hessian is evaluated at ``center``
    and ``n_samples`` random points of a box (``|x_i − c_i| ≤ radius``) or ball
    (``‖x − c‖₂ ≤ radius``) and ``L_i`` is the largest row sum seen: the result is labelled
    ``"sampled"`` -- an estimate, **not** a certified bound.

    Parameters
    ----------
    obj_or_H : Objective or (n, n) array_like
        A symmetric Hessian, or an objective.
    method : {"row_sum", "diagonal_heuristic"}, default "row_sum"
        ``"diagonal_heuristic"`` returns ``L_i = |H_ii|``, labelled ``"heuristic"``: it is
        what coordinate methods often use in practice but ``diag(L) ⪰ H`` fails in general.
    center : (n,) array_like, optional
        Center of the sampling region for general objectives (default: the origin).
    radius : float, default 1.0
        Half-width (box) or radius (ball) of the sampling region.
    region : {"box", "ball"}, default "box"
        Shape of the sampling region.
    n_samples : int, default 64
        Number of random sample points (the center is always included).
    seed : int, numpy Generator or None
        Randomness of the samples.

    Returns
    -------
    SmoothnessBound

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.geometry import separable_smoothness
    >>> from filippov.objectives import Objective, slope
    >>> separable_smoothness(slope(a=0.5)).L
    array([1.5 , 1.75])
    >>> obj = Objective.from_expr("x**4 + y**2", variables=["x", "y"])
    >>> est = separable_smoothness(obj, radius=1.0, seed=0)
    >>> est.kind, bool(est.L[0] <= 12.0), float(est.L[1])
    ('sampled', True, 2.0)
    """
    if method not in _SEPARABLE_METHODS:
        raise ValueError(f"`method` must be one of {_SEPARABLE_METHODS}. Got {method!r} instead.")
    heuristic = method == "diagonal_heuristic"
    heuristic_note = "L_i = |H_ii| is a heuristic: diag(L) ⪰ H does not hold unless H is diagonal."
    if not isinstance(obj_or_H, Objective) or obj_or_H.quadratic_data is not None:
        H = _hessian_of(obj_or_H, "obj_or_H")
        return SmoothnessBound(
            L=_row_constants(H, method),
            kind="heuristic" if heuristic else "bound",
            method=f"{method} of the (constant) Hessian",
            note=heuristic_note if heuristic else "Certified: diag(L) - H is PSD (Gershgorin).",
        )

    obj = obj_or_H
    certified = None if heuristic else _linear_model_bound(obj)
    if certified is not None:
        return SmoothnessBound(
            L=certified,
            kind="bound",
            method="row sums of (c/m)·BᵀB + λI, c a bound on the loss's second derivative",
            note="Certified: ∇²f ⪯ (c/m) BᵀB + λI everywhere, and diag(L) minus that is "
            "PSD (Gershgorin).",
        )
    if region not in ("box", "ball"):
        raise ValueError(f"`region` must be 'box' or 'ball'. Got {region!r} instead.")
    r = require_positive(radius, "radius")
    _check_count(n_samples, "n_samples")
    if center is None:
        if obj.n is None:
            raise ValueError(
                "`center` must be given for an Objective of unknown dimension. Got None instead."
            )
        c = np.zeros(obj.n)
    else:
        c = as_vector(center, "center", obj.n)
    n = c.size
    rng = np.random.default_rng(seed)
    if region == "box":
        offsets = rng.uniform(-r, r, size=(int(n_samples), n))
    else:
        d = rng.standard_normal((int(n_samples), n))
        d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-300)
        offsets = d * (r * rng.uniform(size=(int(n_samples), 1)) ** (1.0 / n))
    points = np.vstack([c, c + offsets])
    L = np.zeros(n)
    for x in points:
        L = np.maximum(L, _row_constants(obj.hess(x), method))
    where = f"{region} of radius {r:g} around {np.array2string(c, threshold=6)}"
    return SmoothnessBound(
        L=L,
        kind="heuristic" if heuristic else "sampled",
        method=f"{method}, max over {len(points)} Hessians sampled in the {where}",
        note=(
            heuristic_note
            if heuristic
            else "Sampled estimate, not a certified bound: diag(L) ⪰ ∇²f(x) holds at the "
            "sampled points only."
        ),
    )


# --------------------------------------------------------------------------------------
# ℓ∞ smoothness ‖H‖_{∞→1}
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LinfSmoothness:
    """Bounds on ``‖H‖_{∞→1} = max_{‖x‖∞≤1} ‖Hx‖₁ = max_{s,t∈{±1}ⁿ} sᵀHt``.

    Unpacks as ``lower, upper, exact = linf_smoothness(H)``.

    Attributes
    ----------
    lower : float
        Attained value: ``‖H t‖₁`` for the sign vector ``signs`` (a certified lower bound).
    upper : float
        Certified upper bound (up to floating-point rounding, which is padded for).
    exact : bool
        True when the maximum was found by enumeration (then ``lower == upper``).
    signs : (n,) ndarray
        A sign vector ``t`` attaining ``lower``.
    method : str
        How the bounds were obtained.

    Examples
    --------
    >>> from filippov.geometry import linf_smoothness
    >>> lower, upper, exact = linf_smoothness([[2.0, -1.0], [-1.0, 2.0]])
    >>> lower, upper, exact
    (6.0, 6.0, True)
    """

    lower: float
    upper: float
    exact: bool
    signs: FloatArray
    method: str

    def __iter__(self) -> Iterator[Any]:
        return iter((self.lower, self.upper, self.exact))


def _linf_enumerate(H: FloatArray) -> tuple[float, FloatArray]:
    """Exact ``max_t ‖Ht‖₁`` over the ``2^(n-1)`` sign vectors with ``t_0 = +1``."""
    n = H.shape[0]
    total = 1 << (n - 1)
    powers = np.arange(n - 1)
    best, best_t = -np.inf, np.ones(n)
    for start in range(0, total, _CHUNK):
        idx = np.arange(start, min(total, start + _CHUNK))
        T = np.ones((idx.size, n))
        T[:, 1:] = 1.0 - 2.0 * ((idx[:, None] >> powers) & 1)
        vals = np.abs(T @ H).sum(axis=1)  # row k: ‖H t_k‖₁ (H symmetric)
        k = int(np.argmax(vals))
        if vals[k] > best:
            best, best_t = float(vals[k]), T[k].copy()
    return best, best_t


def _check_count(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative integer. Got {value!r} instead.")


def _sign(a: FloatArray) -> FloatArray:
    return np.where(a >= 0.0, 1.0, -1.0)


def _linf_local_search(
    H: FloatArray, T0: FloatArray, max_iter: int = 200
) -> tuple[float, FloatArray]:
    """Alternating maximization of ``sᵀHt`` from the columns of ``T0``; best ``‖Ht‖₁``."""
    T = _sign(T0)
    for _ in range(max_iter):
        S = _sign(H @ T)  # best s for each t
        T_new = _sign(H @ S)  # best t for each s (H symmetric)
        if np.array_equal(T_new, T):
            break
        T = T_new
    vals = np.abs(H @ T).sum(axis=0)
    best_val, best_t = -np.inf, T[:, 0]
    for k in np.argsort(vals)[::-1][:2]:  # polish the best two by single sign flips
        val, t = _flip_improve(H, T[:, k].copy())
        if val > best_val:
            best_val, best_t = val, t
    return best_val, best_t


def _flip_improve(H: FloatArray, t: FloatArray) -> tuple[float, FloatArray]:
    """Greedy single-coordinate flips of ``t`` while ``‖Ht‖₁`` increases."""
    y = H @ t
    val = float(np.abs(y).sum())
    for _ in range(4 * t.size):
        cand = np.abs(y[:, None] - 2.0 * H * t[None, :]).sum(axis=0)  # column j: flip t_j
        j = int(np.argmax(cand))
        if not cand[j] > val * (1.0 + 4.0 * _EPS * t.size):
            break
        y -= 2.0 * t[j] * H[:, j]
        t[j] = -t[j]
        val = float(np.abs(y).sum())
    return val, t


def _weighted_spectral_bound(H: FloatArray, u: FloatArray) -> tuple[float, FloatArray]:
    """``‖U^{-1/2} H U^{-1/2}‖₂ Σu`` (valid for any u > 0) and the dominant eigenvector."""
    r = 1.0 / np.sqrt(u)
    M = (H * r[:, None]) * r[None, :]
    w, V = np.linalg.eigh(0.5 * (M + M.T))
    k = int(np.argmax(np.abs(w)))
    return float(abs(w[k])) * float(np.sum(u)), V[:, k]


def linf_smoothness(
    H: Objective | ArrayLike,
    *,
    exact_max_n: int = 16,
    n_starts: int = 32,
    refine_iter: int = 30,
    seed: int | np.random.Generator | None = None,
) -> LinfSmoothness:
    r"""The ℓ∞-smoothness ``‖H‖_{∞→1}`` of a quadratic: exact for small ``n``, else bounds.

    .. math:: \|H\|_{\infty\to1} = \max_{\|x\|_\infty \le 1} \|Hx\|_1
              = \max_{s,t \in \{\pm1\}^n} s^\top H t,

    and for positive semidefinite ``H`` this equals ``max_s sᵀHs``. It is the smoothness
    constant of ``½xᵀHx`` with respect to ``‖·‖∞``, the one that governs sign descent.

    * ``n ≤ exact_max_n``: enumeration of the ``2^(n-1)`` sign vectors (vectorized);
      ``exact=True`` and ``lower == upper``.
    * Otherwise (``exact=False``) the **lower** bound is attained: alternating maximization
      ``s ← sign(Ht), t ← sign(Hs)`` from the signs of the dominant eigenvectors, of the
      heaviest rows and from ``n_starts`` random sign vectors, then greedy single flips. The **upper** bound is the
      smallest of the valid bounds ``Σ_ij |H_ij|`` (``= Σ_i L_i`` for the row-sum
      separable constants) and ``‖U^{-1/2}HU^{-1/2}‖₂ Σ_i u_i`` for weights ``u > 0``
      (since ``sᵀHt ≤ ‖M‖₂ ‖U^{1/2}s‖ ‖U^{1/2}t‖``), with ``u = 1`` (giving ``n‖H‖₂``),
      ``u = `` row sums, and ``refine_iter`` steps of descent on ``log u``. For PSD ``H``
      the optimized weighted bound is the semidefinite-relaxation bound, within ``π/2`` of
      the true value (Nesterov 1998).

    Parameters
    ----------
    H : (n, n) array_like or Objective
        Symmetric matrix, or a quadratic objective.
    exact_max_n : int, default 16
        Largest ``n`` solved by enumeration (at most 24).
    n_starts : int, default 32
        Random starts of the local search (large ``n`` only).
    refine_iter : int, default 30
        Eigen-decompositions spent refining the upper bound (large ``n`` only).
    seed : int, numpy Generator or None
        Randomness of the starts.

    Returns
    -------
    LinfSmoothness
        ``lower``, ``upper``, ``exact``, the maximizing ``signs`` and ``method``.

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.geometry import linf_smoothness
    >>> H = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> linf_smoothness(H).lower  # max_s sᵀHs at s = (1, 1)
    3.0
    >>> big = linf_smoothness(np.eye(40), seed=0)
    >>> big.exact, big.lower, bool(big.upper >= 40.0)
    (False, 40.0, True)
    """
    Hm = _hessian_of(H, "H")
    n = Hm.shape[0]
    _check_count(exact_max_n, "exact_max_n")
    _check_count(n_starts, "n_starts")
    _check_count(refine_iter, "refine_iter")
    if exact_max_n > _MAX_EXACT_N:
        raise ValueError(
            f"`exact_max_n` must be at most {_MAX_EXACT_N} (enumeration is 2^(n-1)). "
            f"Got {exact_max_n} instead."
        )

    if n <= exact_max_n:
        value, t = _linf_enumerate(Hm)
        return LinfSmoothness(value, value, True, t, f"enumeration of 2^{n - 1} sign vectors")

    rowsum = np.sum(np.abs(Hm), axis=1)
    active = rowsum > 0.0
    if not np.any(active):
        return LinfSmoothness(0.0, 0.0, True, np.ones(n), "zero matrix")
    Ha = Hm[np.ix_(active, active)]  # zero rows/columns contribute nothing
    na = Ha.shape[0]

    # Upper bounds (all valid).
    uppers = {"sum |H_ij|": float(np.sum(rowsum))}
    best_up, v = _weighted_spectral_bound(Ha, np.ones(na))
    uppers["n ||H||_2"] = best_up
    vecs = [v]
    u = rowsum[active].copy()
    val, v = _weighted_spectral_bound(Ha, u)
    vecs.append(v)
    uppers["row-sum weighted spectral"] = val
    best_w, best_u, step = val, u, 1.0
    for _ in range(refine_iter):
        grad = best_u / np.sum(best_u) - v**2  # d log(bound) / d log u
        trial = best_u * np.exp(-step * na * grad)
        val, v_trial = _weighted_spectral_bound(Ha, trial)
        if val < best_w:
            best_w, best_u, v = val, trial, v_trial
            step *= 1.5
        else:
            step *= 0.5
    vecs.append(v)
    uppers["optimized weighted spectral"] = best_w
    up_name = min(uppers, key=lambda k: uppers[k])
    upper = uppers[up_name] * (1.0 + 64.0 * n * _EPS)

    # Lower bound (attained by a sign vector).
    rng = np.random.default_rng(seed)
    heavy = np.argsort(rowsum[active])[::-1][: min(4, na)]
    starts = [np.column_stack(vecs), Ha[:, heavy], rng.standard_normal((na, int(n_starts)))]
    _, t_a = _linf_local_search(Ha, np.hstack(starts))
    t = np.ones(n)
    t[active] = t_a
    lower = float(np.abs(Hm @ t).sum())
    upper = max(upper, lower)
    return LinfSmoothness(
        lower,
        upper,
        False,
        t,
        f"lower: alternating sign search + flips ({int(n_starts)} random + {len(vecs) + heavy.size} "
        f"structured starts); upper: {up_name}",
    )


# --------------------------------------------------------------------------------------
# Scalar diagnostics
# --------------------------------------------------------------------------------------


def diagonal_concentration(H: Objective | ArrayLike) -> float:
    r"""Share of the curvature on the diagonal, ``Σ_i |H_ii| / Σ_ij |H_ij|``.

    1 for a diagonal ``H``, about ``1/n`` for a dense rotated one; seed paper 1 finds that
    sign-based steps help when this is large.

    Parameters
    ----------
    H : (n, n) array_like or Objective
        Symmetric nonzero matrix, or a quadratic objective.

    Returns
    -------
    float in (0, 1] (0 only for a zero diagonal)

    Examples
    --------
    >>> from filippov.geometry import diagonal_concentration
    >>> round(diagonal_concentration([[2.0, 1.0], [1.0, 2.0]]), 12)  # 4 / 6
    0.666666666667
    """
    Hm = _hessian_of(H, "H")
    total = float(np.sum(np.abs(Hm)))
    if total == 0.0:
        raise ValueError("`H` must be nonzero for a diagonal concentration. Got zeros instead.")
    return float(np.sum(np.abs(np.diag(Hm)))) / total


def eigenvalue_ratio(H: Objective | ArrayLike) -> float:
    r"""Spread of the spectrum, ``λ_max / λ_avg = n λ_max / tr(H)``.

    Between 1 (all eigenvalues equal) and ``n`` (rank one) for a PSD ``H``.

    Parameters
    ----------
    H : (n, n) array_like or Objective
        Symmetric matrix with positive trace (intended: PSD Hessians), or a quadratic
        objective.

    Returns
    -------
    float

    Examples
    --------
    >>> from filippov.geometry import eigenvalue_ratio
    >>> eigenvalue_ratio([[1.0, 0.0], [0.0, 3.0]])
    1.5
    """
    Hm = _hessian_of(H, "H")
    eig = np.linalg.eigvalsh(Hm)
    mean = float(np.mean(eig))
    if not mean > 0.0:
        raise ValueError(
            "`H` must have a positive average eigenvalue (trace) for λ_max/λ_avg. "
            f"Got λ_avg = {mean:.3g} instead."
        )
    return float(eig[-1]) / mean


# Matrix-free estimates (Hessian-vector products only) live in their own module.
from filippov._curvature import CurvatureProbe, curvature_probe  # noqa: E402

__all__ += ["CurvatureProbe", "curvature_probe"]
