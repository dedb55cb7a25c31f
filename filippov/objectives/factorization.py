r"""Low-rank matrix factorization (matrix completion) as an :class:`Objective`.

.. math:: f(U, V) = \tfrac12 \sum_{(i, j) \in \Omega} \bigl((U V^\top)_{ij} - M_{ij}\bigr)^2
          + \tfrac{\lambda}{2}\bigl(\|U\|_F^2 + \|V\|_F^2\bigr),

with ``U`` of shape ``(p, r)``, ``V`` of shape ``(q, r)`` and ``Ω`` the observed entries
of ``M``. A model that users of sign-based optimizers study beside regressions and
networks, and a hard one for a sliding-mode solver: it is not convex (``x = 0`` is a
saddle), and ``UVᵀ`` does not change under ``U → UQ, V → VQ`` for an orthogonal ``Q``,
so its Hessian is singular at every minimizer once ``r ≥ 2`` (without a ridge, under any
invertible ``Q``).

Parameters are packed as ``x = [U.ravel(), V.ravel()]`` (row-major);
:func:`matrix_factors` unpacks them. Every derivative costs ``O(p·q·r)``: the gradient
``(E V + λU, Eᵀ U + λV)`` with ``E = P_Ω(UVᵀ − M)``, the Hessian–vector product along
``(dU, dV)`` by differentiating it, and a block of Hessian rows ``O(q·r)`` (``O(p·r)``)
per row, as the continuation path asks for them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from filippov._validation import (
    FloatArray,
    as_float_array,
    as_vector,
    require_int,
    require_non_negative,
    require_positive,
)

from .base import Objective

__all__ = [
    "FactorizationLoss",
    "matrix_factorization",
    "matrix_factorization_init",
    "matrix_factors",
]


class FactorizationLoss:
    """The loss of :func:`matrix_factorization` and its derivatives (its callables).

    Module level, so that the objective pickles with its bound methods.
    """

    def __init__(self, M: FloatArray, mask: NDArray[np.bool_], rank: int, lam: float) -> None:
        self.M = np.where(mask, M, 0.0)  # (unobserved entries, NaN allowed there, are 0)
        self.W = mask.astype(float)
        self.p, self.q = M.shape
        self.r = rank
        self.lam = lam
        self.n = (self.p + self.q) * rank
        self._cache: tuple[bytes, FloatArray] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache"] = None
        return state

    def unpack(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        k = self.p * self.r
        return x[:k].reshape(self.p, self.r), x[k:].reshape(self.q, self.r)

    def residual(self, x: FloatArray) -> FloatArray:
        """``E = W ∘ (UVᵀ − M)`` at ``x``, kept for the next call at the same point (the
        driver asks for ``f``, ``grad`` and products at one point in a row)."""
        key = x.tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        U, V = self.unpack(x)
        E = self.W * (U @ V.T - self.M)
        self._cache = (key, E)
        return E

    def f(self, x: FloatArray) -> float:
        E = self.residual(x)
        return 0.5 * float(np.vdot(E, E)) + 0.5 * self.lam * float(x @ x)

    def grad(self, x: FloatArray) -> FloatArray:
        U, V = self.unpack(x)
        E = self.residual(x)
        return np.concatenate([(E @ V).ravel(), (E.T @ U).ravel()]) + self.lam * x

    def hvp(self, x: FloatArray, v: FloatArray) -> FloatArray:
        U, V = self.unpack(x)
        dU, dV = self.unpack(v)
        E = self.residual(x)
        dE = self.W * (dU @ V.T + U @ dV.T)
        out = np.concatenate([(dE @ V + E @ dV).ravel(), (dE.T @ U + E.T @ dU).ravel()])
        return out + self.lam * v

    def hess_rows(self, x: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        """Rows ``rows`` of the Hessian, each in ``O((p + q)·r)`` from its closed form.

        For ``U_ia`` the row holds ``(Vᵀ diag(W_i) V)_a + λ e_a`` on ``U_i`` and
        ``W_ij U_ib V_ja + E_ij δ_ab`` on ``V_jb``; for ``V_jb`` symmetrically."""
        U, V = self.unpack(x)
        E = self.residual(x)
        p, r = self.p, self.r
        k = p * r
        out = np.zeros((rows.size, self.n))
        eye = np.eye(r)
        for row, index in enumerate(rows.tolist()):
            if index < k:
                i, a = divmod(index, r)
                w = self.W[i]
                out[row, i * r : (i + 1) * r] = (V[:, a] * w) @ V
                # ∂(E V)_ia / ∂V_jb = W_ij U_ib V_ja + E_ij δ_ab
                out[row, k:] = (np.outer(w * V[:, a], U[i]) + np.outer(E[i], eye[a])).ravel()
            else:
                j, b = divmod(index - k, r)
                w = self.W[:, j]
                out[row, k + j * r : k + (j + 1) * r] = (U[:, b] * w) @ U
                out[row, :k] = (np.outer(w * U[:, b], V[j]) + np.outer(E[:, j], eye[b])).ravel()
            out[row, index] += self.lam
        return out

    def hess(self, x: FloatArray) -> FloatArray:
        H = self.hess_rows(x, np.arange(self.n))
        return 0.5 * (H + H.T)  # (exact up to rounding: the rounding symmetrized away)


def _observed(M: Any, mask: Any) -> tuple[FloatArray, NDArray[np.bool_]]:
    """``M`` as floats and the boolean mask of its observed entries (checked)."""
    Mm = as_float_array(M, "M")
    if Mm.ndim != 2 or 0 in Mm.shape:
        raise ValueError(f"`M` must be a non-empty 2-D matrix. Got an array of shape {Mm.shape}.")
    if mask is None:
        if not np.all(np.isfinite(Mm)):
            raise ValueError(
                "`M` holds NaN or inf entries: pass `mask` (True where an entry is observed) "
                "to mark them as missing."
            )
        return Mm, np.ones(Mm.shape, dtype=bool)
    Wm = np.asarray(mask)
    if Wm.shape != Mm.shape:
        raise ValueError(f"`mask` must have the shape of `M`, {Mm.shape}. Got {Wm.shape} instead.")
    if Wm.dtype != bool:
        values = as_float_array(Wm, "mask")
        if not np.all((values == 0.0) | (values == 1.0)):
            raise ValueError("`mask` must hold booleans or 0/1 (1 where an entry is observed).")
        Wm = values == 1.0
    if not Wm.any():
        raise ValueError("`mask` observes no entry of `M`.")
    if not np.all(np.isfinite(Mm[Wm])):
        raise ValueError("`M` must be finite on the observed entries (`mask` True).")
    return Mm, Wm


def matrix_factorization(
    M: ArrayLike,
    rank: int,
    *,
    lam: float = 0.0,
    mask: ArrayLike | None = None,
    name: str | None = None,
) -> Objective:
    r"""Squared error of a rank-``r`` factorization ``UVᵀ`` on the observed entries of ``M``.

    .. math:: f(x) = \tfrac12 \bigl\|P_\Omega(U V^\top - M)\bigr\|_F^2
              + \tfrac{\lambda}{2}\|x\|_2^2, \qquad x = [U.ravel(), V.ravel()],

    with exact gradient, Hessian–vector product, Hessian rows (``O(p·q·r)``, ``O((p+q)·r)``
    per row) and dense Hessian. Not convex: ``x = 0`` is a stationary point (a saddle when
    ``M ≠ 0``), and the loss is invariant under ``U → UQ, V → VQ`` with ``Q`` orthogonal
    (under any invertible ``Q`` when ``λ = 0``), so for ``r ≥ 2`` every minimizer lies on
    a valley of minimizers where the Hessian is singular. Sign and greedy flows then rest
    on such a valley; a point of it is not unique, and the rest says so. The invariance
    holds at every point, not only at minimizers: near the rest the sliding block of most
    coordinates can be singular to double precision along the orbit of rotations (seen
    with ``r = 3``), where the sign and greedy flows stop with status −4 or −5 and a
    message rather than choose how the motion splits; the ℓ2 flow arrives.

    Parameters
    ----------
    M : (p, q) array_like
        The matrix to factor; entries outside ``mask`` are ignored (NaN allowed there).
    rank : int
        The inner dimension ``r ≥ 1``.
    lam : float, default 0
        Ridge weight ``λ ≥ 0`` on both factors.
    mask : (p, q) array_like of bool or 0/1, optional
        ``True`` where an entry is observed (matrix completion). Default: all of ``M``
        (which must then be finite).
    name : str, optional

    Returns
    -------
    Objective
        Of dimension ``(p + q)·r``; it pickles. :func:`matrix_factors` unpacks a point,
        :func:`matrix_factorization_init` draws a start.

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.objectives import matrix_factorization, matrix_factors
    >>> obj = matrix_factorization([[2.0, 1.0], [4.0, 2.0]], rank=1)
    >>> x = np.array([1.0, 2.0, 2.0, 1.0])           # U = [[1], [2]], V = [[2], [1]]
    >>> obj.f(x), obj.grad(x)                          # an exact factorization
    (0.0, array([0., 0., 0., 0.]))
    >>> U, V = matrix_factors(x, (2, 2), rank=1)
    >>> U @ V.T
    array([[2., 1.],
           [4., 2.]])
    >>> obj.check_derivatives(np.array([0.3, -1.0, 0.5, 2.0])).ok
    True
    """
    Mm, Wm = _observed(M, mask)
    r = require_int(rank, "rank", minimum=1)
    lam_f = require_non_negative(lam, "lam")
    loss = FactorizationLoss(Mm, Wm, r, lam_f)
    if name is None:
        p, q = Mm.shape
        observed = "" if Wm.all() else f", observed={int(Wm.sum())}"
        name = f"matrix_factorization(p={p}, q={q}, rank={r}, lam={lam_f:g}{observed})"
    obj = Objective(loss.f, loss.grad, loss.hess, hvp=loss.hvp, n=loss.n, name=name)
    obj._hess_rows = loss.hess_rows  # (a block of rows: the continuation path's blocks)
    return obj


def matrix_factors(
    x: ArrayLike, shape: tuple[int, int], rank: int
) -> tuple[FloatArray, FloatArray]:
    """The factors ``(U, V)`` of a point of :func:`matrix_factorization` (copies).

    Parameters
    ----------
    x : ((p + q)·rank,) array_like
    shape : (int, int)
        ``(p, q)``, the shape of ``M``.
    rank : int

    Returns
    -------
    U : (p, rank) ndarray
    V : (q, rank) ndarray

    Examples
    --------
    >>> from filippov.objectives import matrix_factors
    >>> U, V = matrix_factors([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], (2, 1), rank=2)
    >>> U.tolist(), V.tolist()
    ([[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0]])
    """
    p, q = (require_int(s, "shape", minimum=1) for s in shape)
    r = require_int(rank, "rank", minimum=1)
    xv = as_vector(x, "x", (p + q) * r)
    return xv[: p * r].reshape(p, r).copy(), xv[p * r :].reshape(q, r).copy()


def matrix_factorization_init(
    shape: tuple[int, int], rank: int, *, scale: float = 0.1, seed: int = 0
) -> FloatArray:
    """A start for :func:`matrix_factorization`: Gaussian factors of standard deviation
    ``scale`` (small starts are the usual ones: the flow then leaves the saddle at 0).

    Examples
    --------
    >>> from filippov.objectives import matrix_factorization_init
    >>> matrix_factorization_init((4, 3), rank=2, seed=1).shape
    (14,)
    """
    p, q = (require_int(s, "shape", minimum=1) for s in shape)
    r = require_int(rank, "rank", minimum=1)
    s = require_positive(scale, "scale")
    rng = np.random.default_rng(require_int(seed, "seed", minimum=0))
    return s * rng.standard_normal((p + q) * r)
