"""Sliding selections kept incrementally from event to event (the exact path's linear algebra).

:mod:`filippov.selection` solves one selection problem from scratch: a box, simplex or
ball variational inequality on a given block. Along the exact path the blocks of
consecutive events differ by a few indices, and the classes here keep what a solve needs
between events instead, so that an index joining or leaving costs ``O(k²)`` (``k`` the
size of the block) instead of a new ``O(k³)`` factorization:

* :class:`InverseBlock` — the explicit inverse of a principal block of a symmetric
  positive definite matrix, with one symmetric rank-one update per index that joins or
  leaves (on a permuted copy of the matrix that keeps the block first);
* :class:`SpdBoxSelector` — the ℓ1 sliding selection (a box VI) of a symmetric positive
  definite ``G B``: the sign flow of every strongly convex quadratic;
* :class:`SimplexTieSelector` — the ℓ∞ tie selection (a simplex VI) of a symmetric
  positive definite ``G B``: the greedy coordinate flow of those quadratics;
* :func:`spd_condition` — whether ``G B`` is symmetric positive definite, and its
  condition number (which decides between these and the direct solvers).

Both selectors solve the same problems as :func:`~filippov.selection.solve_box_vi` and
:func:`~filippov.selection.solve_simplex_vi` (which they fall back to), check their
solutions by the residual and refine them to rounding; docs/exact_path_cost.rst says
what an event costs and where the time goes. They take plain matrices, know nothing of
time or systems, and are used by :mod:`filippov._exact_path`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg.blas import daxpy as _daxpy
from scipy.linalg.blas import dsymv as _dsymv
from scipy.linalg.blas import dsyr as _dsyr
from scipy.linalg.lapack import dpocon as _dpocon
from scipy.linalg.lapack import dpotrf as _dpotrf
from scipy.linalg.lapack import dpotri as _dpotri

from filippov._validation import FloatArray
from filippov.selection import solve_box_vi, solve_simplex_vi

__all__ = [
    "REFRESH",
    "RESYNC",
    "ActiveSetStalled",
    "InverseBlock",
    "KernelWork",
    "SimplexTieSelector",
    "SpdBoxSelector",
    "spd_condition",
    "sym_rank_one",
]

#: Selections between two recomputations from scratch of the drift ``rho`` kept by
#: :class:`SpdBoxSelector` (so that rounding in its rank-one updates cannot accumulate).
RESYNC = 64
#: Selections between two rebuilds from scratch of the inverse kept by the incremental
#: selectors (a residual check rebuilds it earlier when rounding has built up).
REFRESH = 2048
_EPS = float(np.finfo(float).eps)


class InverseBlock:
    """The inverse ``W = M_SS⁻¹`` of a principal block of a symmetric positive definite ``M``.

    Indices join and leave ``S`` one at a time and ``W`` follows with one symmetric rank-one
    update each: a join is a bordering step, ``W' = W ⊕ 0 + uuᵀ/s`` with ``u = (W m_i, −1)``
    and the Schur complement ``s = M_ii − m_iᵀ W m_i > 0``; a leave is the Schur complement
    ``W' = W − w wᵀ/β`` with ``w`` the leaving column and ``β`` its diagonal entry.

    Layout: the block keeps ``P``, a symmetrically permuted copy of ``M`` whose first ``k``
    positions are the members of ``S`` (``perm[p]`` is the index at position ``p`` and
    ``pos`` its inverse), and ``W`` in the lower triangle of a ``C × C`` buffer whose slot
    ``p < k`` is position ``p``; slots ``k …`` are exactly zero. So the bordering row
    ``m_i`` is a contiguous piece of a row of ``P``, the coupling of the non-members to
    the members is the contiguous-row block ``P[k:, :k]`` (a product with it costs
    ``(m − k) k``, against ``m²/2`` for a symmetric product with all of ``M``), and BLAS
    ``dsyr``/``dsymv`` on the buffer touch about ``k²/2`` numbers, because ``C`` stays within
    about ``k/8 + 16`` of ``k``. A join swaps the new index into position ``k``, a leave
    moves the last member into the freed position, each an ``O(m)`` row and column swap.
    Vectors the caller keeps in position order are registered in :attr:`position_vectors`
    and swapped along (they must be updated in place, never rebound).

    Why an explicit inverse and not a Cholesky factor: deleting an index from the middle of
    a Cholesky factor needs ``k`` sequential Givens rotations (neither LAPACK nor scipy has a
    Cholesky up/downdate), which costs more in Python than the whole update here. Rounding in
    ``W`` is controlled by the caller, which checks the solutions by their residual and
    refines them, or rebuilds ``W`` from scratch, when the residual exceeds rounding level.

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.incremental_selection import InverseBlock
    >>> M = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    >>> blk = InverseBlock(M)
    >>> for i in (2, 0):
    ...     _ = blk.insert(i)
    >>> S = blk.members
    >>> S.tolist(), bool(np.allclose(blk.dense(), np.linalg.inv(M[np.ix_(S, S)])))
    ([2, 0], True)
    >>> _ = blk.delete(2)
    >>> blk.members.tolist(), bool(np.allclose(blk.dense(), [[1 / 4.0]]))
    ([0], True)
    """

    _MIN_SLACK = 16

    def __init__(self, M: FloatArray) -> None:
        self.m = M.shape[0]
        self.P = np.array(M, dtype=float, order="C", copy=True)
        if not np.array_equal(self.P, self.P.T):  # the swaps below rely on exact symmetry
            self.P = 0.5 * (self.P + self.P.T)
        self.perm = np.arange(self.m, dtype=np.intp)
        self.pos = np.arange(self.m, dtype=np.intp)
        self.k = 0
        self.L = np.zeros((min(self._MIN_SLACK, self.m),) * 2)
        self._backing = [np.empty(0), np.empty(0)]  # see _set_capacity
        self._flip = 0
        self.position_vectors: list[np.ndarray] = []
        self.n_updates = 0
        #: Bumped whenever ``W`` is recomputed from scratch: slot vectors kept by the
        #: caller (``W v``) are stale then.
        self.generation = 0

    # -- storage ------------------------------------------------------------------------
    def _capacity_for(self, k: int) -> int:
        return min(self.m, k + max(self._MIN_SLACK, k // 8))

    def _set_capacity(self, cap: int) -> None:
        """Move ``W`` into a ``cap × cap`` buffer (exactly zero beyond slot ``k``).

        The buffer is a C-contiguous view of the front of one of two flat backing arrays
        used in turn, each reallocated (four times the area, at most ``m²``) only when it
        is too small. Why: a fresh ``np.zeros`` at every change of capacity paid its page
        faults at first touch (large arrays are handed out lazily): 2 ms per change at
        k ≈ 800 under load, 24 changes in the d = 1000 benchmark sign flow.
        """
        k = self.k
        self._flip ^= 1
        back = self._backing[self._flip]
        if back.size < cap * cap:
            back = np.empty(min(self.m * self.m, 4 * cap * cap))
            self._backing[self._flip] = back
        L = back[: cap * cap].reshape(cap, cap)
        L[:k, :k] = self.L[:k, :k]
        L[:k, k:] = 0.0
        L[k:] = 0.0
        self.L = L

    def _swap(self, a: int, b: int) -> None:
        """Exchange positions ``a`` and ``b`` (rows and columns of ``P``, registered vectors)."""
        if a == b:
            return
        P = self.P
        paa, pab, pbb = P[a, a], P[a, b], P[b, b]
        row = P[a].copy()
        P[a] = P[b]
        P[b] = row
        # P is symmetric: off the 2 × 2 block the swapped columns are the swapped rows,
        # so each column is written once from a contiguous row (strided access is what
        # a swap costs here) and the block is set afterwards.
        P[:, a] = P[a]
        P[:, b] = P[b]
        P[a, a], P[b, b] = pbb, paa
        P[a, b] = P[b, a] = pab
        ia, ib = int(self.perm[a]), int(self.perm[b])
        self.perm[a], self.perm[b] = ib, ia
        self.pos[ia], self.pos[ib] = b, a
        for vec in self.position_vectors:
            vec[a], vec[b] = vec[b], vec[a]

    @property
    def members(self) -> np.ndarray:
        """The indices in ``S`` (in slot order)."""
        return self.perm[: self.k].copy()

    def apply(self, v: FloatArray) -> FloatArray:
        """``W v_S`` in slot space (length ``C``, 0 from slot ``k`` on) for ``v`` in position
        order."""
        C = self.L.shape[0]
        if C == 0:
            return np.zeros(0)
        return _dsymv(1.0, self.L.T, v[:C])  # L.T: Fortran order, upper = our lower

    def dense(self) -> FloatArray:
        """``W`` as a ``(k, k)`` array in the order of :attr:`members` (for tests)."""
        low = np.tril(self.L[: self.k, : self.k])
        return low + np.tril(low, -1).T

    # -- updates ------------------------------------------------------------------------
    def insert(self, i: int) -> tuple[int, FloatArray, float]:
        """Add index ``i`` (raises ``LinAlgError`` if the block stops being PD).

        Returns its slot ``p`` (``= k`` before the call), the bordering vector ``u`` (slot
        space, ``u[p] = −1``) and the Schur complement ``s``, so that ``W' = W + uuᵀ/s``.
        """
        k = self.k
        if k + 1 > self.L.shape[0]:
            self._set_capacity(self._capacity_for(k + 1))
        self._swap(k, int(self.pos[i]))
        C = self.L.shape[0]
        mi = self.P[k, :C]  # entries from slot k on meet zero columns of W
        u = _dsymv(1.0, self.L.T, mi)
        s = float(self.P[k, k] - mi[:k] @ u[:k])
        if not s > 1e3 * _EPS * abs(float(self.P[k, k])):
            raise np.linalg.LinAlgError("principal block is not numerically positive definite")
        u[k] = -1.0
        sym_rank_one(self.L, 1.0 / s, u)
        self.k = k + 1
        self.n_updates += 1
        return k, u, s

    def delete(self, i: int) -> tuple[int, int, FloatArray, float]:
        """Remove index ``i`` from the block.

        Returns its slot ``p``, the last slot ``q`` (whose member moves to ``p`` when
        ``p < q``), the column ``w = W e_p`` and ``β = w[p]``: slot vectors follow with
        ``v −= w v_p/β`` (the Schur complement, before the move) and then ``v_p = v_q``.
        """
        p = int(self.pos[i])
        q = self.k - 1
        L = self.L
        w = np.empty(L.shape[0])
        w[: p + 1] = L[p, : p + 1]  # column p of W, read from the lower triangle
        w[p + 1 :] = L[p + 1 :, p]
        beta = float(w[p])
        sym_rank_one(L, -1.0 / beta, w)
        L[p, : p + 1] = 0.0  # exactly zero (the update leaves rounding there)
        L[p + 1 :, p] = 0.0
        if p < q:  # the last member moves into the hole: slots stay 0 … k−2
            last = L[q, : q + 1].copy()  # column q of W (nothing lies beyond slot q)
            L[q, : q + 1] = 0.0
            L[p, :p] = last[:p]
            L[p, p] = last[q]
            L[p + 1 : q, p] = last[p + 1 : q]
            self._swap(p, q)
        self.k = q
        self.n_updates += 1
        if L.shape[0] > self._capacity_for(q) + self._MIN_SLACK:
            self._set_capacity(self._capacity_for(q))
        return p, q, w, beta

    def reset(self, members: np.ndarray) -> None:
        """Make ``members`` the block and compute ``W`` from scratch."""
        for p, i in enumerate(np.asarray(members, dtype=np.intp).tolist()):
            self._swap(p, int(self.pos[i]))
        self.k = len(members)
        self.L = np.zeros((self._capacity_for(self.k),) * 2)
        self.rebuild()

    def rebuild(self) -> None:
        """Recompute ``W`` from scratch (``O(k³)``) for the current members."""
        k = self.k
        self.generation += 1
        if k == 0:
            return
        self.L[...] = 0.0
        # Cholesky factor and its inverse (LAPACK potrf/potri give the lower triangle of
        # M_SS⁻¹ directly, a third of the work of a general inverse); a block that is not
        # numerically PD falls back to the general inverse.
        factor, info = _dpotrf(self.P[:k, :k], lower=1)
        if info == 0:
            inverse, info = _dpotri(factor, lower=1)
        if info == 0:
            self.L[:k, :k] = np.tril(inverse)
        else:
            Winv = np.linalg.inv(self.P[:k, :k])
            self.L[:k, :k] = np.tril(0.5 * (Winv + Winv.T))
        self.n_updates += 1


def sym_rank_one(L: FloatArray, alpha: float, u: FloatArray) -> None:
    """``L += alpha u uᵀ`` on the lower triangle of a C-contiguous square ``L`` (``dsyr``).

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.incremental_selection import sym_rank_one
    >>> L = np.zeros((2, 2))
    >>> sym_rank_one(L, 2.0, np.array([1.0, 3.0]))
    >>> L.tolist()  # the lower triangle only
    [[2.0, 0.0], [6.0, 18.0]]
    """
    LT = L.T  # Fortran-contiguous: BLAS updates it in place, no copy
    out = _dsyr(alpha, u, a=LT, overwrite_a=True)
    # f2py hands back the very array it updated in place. (An identity test, not a
    # pointer comparison through ``.ctypes``, which cost ~3 µs per call, or
    # np.shares_memory, which cost 1.6 % of a d = 1000 run.)
    if out is not LT:  # pragma: no cover - depends on the BLAS wrapper
        L[...] = out.T


class SpdBoxSelector:
    """Incremental ℓ1 sliding selection for a symmetric positive definite ``GB``.

    It keeps, between events, the relay values held at a bound (``sig``, 0 on the sliding
    set), the drift ``rho = Gc0 − GB sig`` of every switching function, and the inverse of
    ``GB`` on the sliding set (:class:`InverseBlock`); ``sig`` and ``rho`` are kept in the
    block's position order. At an event only what changed is updated: the relays that
    changed sign (one row of ``GB`` each), the indices that join or leave the sliding set
    (``O(k²)`` each) and ``λ_S = W rho_S`` with them (``O(k)`` each, see below); then one
    product ``GB[N, S] λ_S`` gives the new rates off the sliding set (``(m − k) k``, BLAS).
    The box VI is the same as the one :func:`~filippov.selection.solve_box_vi` solves —
    for SPD ``M`` its solution is unique — by block principal pivoting warm started from
    "all candidates interior" (the previous sliding set plus the arrivals), each pivot an
    ``O(k²)`` update. A repeated pattern hands the block to :func:`solve_box_vi` (warm
    started) and rebuilds ``W``.

    Rounding: the residual ``(rho − GB λ)_S`` (``k²``) is checked at every selection, and
    above rounding level ``λ`` is refined with ``W`` until it is rounding (at most
    ``_MAX_REFINE`` steps, ``W`` rebuilt from scratch once if a step gains too little; see
    :meth:`_refine`) and kept refined through the following updates. Only
    after ``_CLEAN_STREAK`` checks in a row needed no refinement does checking relax to
    every ``_CHECK_EVERY``-th selection (plus after every rebuild, after a join with a
    small Schur complement, and — see :meth:`check_now` — before any long segment); any
    refinement makes it strict again. Why: for an ill-conditioned ``GB`` the product
    ``W rho`` is off by about ``cond(GB) · eps``, and that error, integrated over a
    segment, moves the state (a condition-1e8 sign flow ended 1e-5 off the direct solve
    when only every 8th selection was checked; see ``tests/analysis/test_benchmarks.py``); for
    well-conditioned problems (the benchmark quadratics) no check ever needs a refinement
    and the relaxed checking saves the ``k²`` product at most events. ``W`` is also rebuilt
    every ``REFRESH`` selections and ``rho`` recomputed every ``RESYNC``.

    Examples
    --------
    The box VI ``λ ∈ [−1, 1]²`` of ``GB λ = Gc0`` on both candidates: the second relay is
    held at its bound and the first solves its row with it,

    >>> import numpy as np
    >>> from filippov.incremental_selection import SpdBoxSelector
    >>> GB, Gc0 = np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, 3.0])
    >>> lam, interior, unique = SpdBoxSelector(GB, Gc0).select(np.arange(2), np.zeros(2))
    >>> lam.tolist(), interior.tolist()
    ([0.25, 1.0], [True, False])
    """

    #: Selections between two residual checks once ``_CLEAN_STREAK`` checks in a row have
    #: needed no refinement (before that, and after any refinement: every selection).
    _CHECK_EVERY = 8
    _CLEAN_STREAK = 64
    #: A join whose Schur complement is below this fraction of its diagonal entry makes
    #: the next selection check its residual.
    _SMALL_SCHUR = 1e-6
    #: Refinement steps at most per checked selection (see :meth:`_refine`).
    _MAX_REFINE = 6

    def __init__(self, GB: FloatArray, Gc0: FloatArray, tol: float = 1e-12) -> None:
        m = GB.shape[0]
        self.m = m
        self.Gc0 = Gc0
        self.block = InverseBlock(GB)
        self.P = self.block.P
        self.sig = np.zeros(m)  # position order, like rho
        self.rho = Gc0.copy()
        self.block.position_vectors += [self.sig, self.rho]
        self.rates = Gc0.copy()  # original order (what :meth:`select` returns)
        self.rates_p = Gc0.copy()  # position order (what :meth:`join` leaves)
        self._rate_buffers = (np.empty(m), np.empty(m))
        self._flip = 0
        self._scratch = np.empty(m)
        self._si = np.zeros(18, dtype=np.int64)  # see _kernel_state
        self.tol_lam = max(tol, 10 * _EPS)
        self.rowsum = float(np.max(np.sum(np.abs(GB), axis=1))) if m else 0.0
        #: ``W rho_S`` in slot space (length m, 0 from slot k on) and whether it is current.
        self.lam = np.zeros(m)
        self.lam_ok = False
        self.lam_gen = -1
        self.check_due = True
        self.check_every = 1  # relaxed to _CHECK_EVERY after _CLEAN_STREAK clean checks
        self.clean_checks = 0
        self.checked = True
        self.n_calls = 0
        self.n_checked = 0
        self.n_refined = 0
        self.n_rebuilt = 0
        self.n_fallback = 0

    # -- bookkeeping -------------------------------------------------------------------
    # ``lam`` is ``W rho_S`` in slot space, kept up to date through joins, leaves and relay
    # changes in O(k) each (so an ordinary event costs no extra O(k²) solve): a relay
    # change of an index j *in* S moves λ_j only (``W GB[S, j] = e_j``), which is why the
    # arrivals' relays are freed after they join S and the pivot's leaving indices are
    # fixed before they leave it. Anything else (a crossing elsewhere, a resync or a
    # rebuild) marks it stale, and the next use recomputes it.
    def _lam_valid(self) -> bool:
        return self.lam_ok and self.lam_gen == self.block.generation

    def _lam_current(self) -> FloatArray:
        if not self._lam_valid():
            self.lam[:] = 0.0
            w = self.block.apply(self.rho)
            self.lam[: w.size] = w
            self.lam_ok = True
            self.lam_gen = self.block.generation
        return self.lam

    def _fix(self, j: int, value: float) -> None:
        """Hold relay ``j`` at ``value`` (``±1``, or 0 to free it) and update ``rho``."""
        p = int(self.block.pos[j])
        delta = value - self.sig[p]
        if delta != 0.0:
            _daxpy(self.P[p], self.rho, a=-delta)  # rho −= δ GB[:, j] (row j: symmetric)
            self.sig[p] = value
            if p < self.block.k and self._lam_valid():
                self.lam[p] -= delta
            else:
                self.lam_ok = False

    def _insert(self, j: int) -> None:
        valid = self._lam_valid()
        blk = self.block
        p, u, s = blk.insert(j)
        if s < self._SMALL_SCHUR * abs(float(self.P[p, p])):
            self.check_due = True
        if valid:
            # Bordering: λ' = (λ, 0) + u (uᵀ rho_S')/s (u vanishes from slot k on).
            C = u.size
            _daxpy(u, self.lam[:C], a=float(u @ self.rho[:C]) / s)

    def _delete(self, j: int) -> None:
        valid = self._lam_valid()
        p, q, w, beta = self.block.delete(j)
        if valid:
            lam = self.lam
            # Schur complement: λ' = λ − w λ_p/β, exactly 0 in the freed slot ...
            _daxpy(w, lam[: w.size], a=-lam[p] / beta)
            lam[p] = 0.0
            if p < q:  # ... into which the last member moved
                lam[p] = lam[q]
                lam[q] = 0.0

    # -- the selection -----------------------------------------------------------------
    def select(self, cand: np.ndarray, sigma: FloatArray) -> tuple[FloatArray, np.ndarray, bool]:
        """Relay values on ``cand`` (``sigma`` holds the others and is 0 on ``cand``)."""
        self.n_calls += 1
        blk = self.block
        pos, perm = blk.pos, blk.perm
        is_cand = np.zeros(self.m, dtype=bool)  # position order
        is_cand[pos[cand]] = True
        arrivals: list[int] = []
        sigma_p = sigma[perm]
        if self.n_calls % RESYNC == 0:  # from scratch now and then: no drift in rho
            self.sig[:] = sigma_p
            self.rho[:] = self.Gc0[perm] - self.P @ self.sig
            self.lam_ok = False
        else:
            diff = np.flatnonzero(sigma_p != self.sig)
            joining = is_cand[diff] & (diff >= blk.k)
            arrivals = perm[diff[joining]].tolist()  # freed below, once they are in S
            other = diff[~joining]
            if other.size:
                self.rho -= (sigma_p[other] - self.sig[other]) @ self.P[other]
                self.sig[other] = sigma_p[other]
                self.lam_ok = False
        for i in perm[: blk.k][~is_cand[: blk.k]].tolist():
            self._delete(i)
        self._solve_with(cand, cand[pos[cand] >= blk.k].tolist(), arrivals)
        self.rates = np.empty(self.m)
        self.rates[perm] = self.rates_p
        pc = pos[cand]
        interior = pc < blk.k
        lam_c = np.where(interior, self.lam[pc], self.sig[pc])
        return lam_c, interior, True

    def join(self, arrived: list[int]) -> dict[int, float] | None:
        """The common event, without :meth:`select`'s bookkeeping: the indices ``arrived``
        (none of them sliding) reach their manifolds, and the candidates are the sliding set
        plus them. Afterwards the sliding set is ``block.perm[:block.k]``, ``sig`` holds the
        other relays and ``rates_p`` the rates, all in position order.

        Returns the candidates the selection holds at a bound, with their sides (None when
        the pivoting gave way to the direct solver)."""
        self.n_calls += 1
        blk = self.block
        cand = np.concatenate((blk.perm[: blk.k], np.asarray(arrived, dtype=np.intp)))
        to_free = arrived
        if self.n_calls % RESYNC == 0:  # from scratch now and then: no drift in rho
            self.sig[blk.pos[cand]] = 0.0
            self.rho[:] = self.Gc0[blk.perm] - self.P @ self.sig
            self.lam_ok = False
            to_free = []
        return self._solve_with(cand, arrived, to_free)

    # -- the compiled event step (filippov._spd_kernel) ----------------------------------
    def _kernel_state(self) -> np.ndarray:
        """The scalar state the compiled step reads and updates (``_spd_kernel.S_*``)."""
        blk = self.block
        si = self._si
        si[:14] = (
            self.n_calls,
            self.lam_ok,
            self.lam_gen,
            self.check_due,
            self.check_every,
            self.clean_checks,
            self.checked,
            self.n_checked,
            self._flip,
            blk.k,
            blk.n_updates,
            blk.generation,
            blk._flip,
            blk.L.shape[0],
        )
        si[17] = 0  # S_CAP_CHANGED
        return si

    def _adopt_kernel_state(self, si: np.ndarray) -> None:
        blk = self.block
        state = si.tolist()
        (
            self.n_calls,
            lam_ok,
            self.lam_gen,
            check_due,
            self.check_every,
            self.clean_checks,
            checked,
            self.n_checked,
            self._flip,
            blk.k,
            blk.n_updates,
            blk.generation,
            blk._flip,
            cap,
        ) = state[:14]
        self.lam_ok, self.check_due, self.checked = bool(lam_ok), bool(check_due), bool(checked)
        if state[17]:  # W moved to a buffer of another capacity
            blk.L = blk._backing[blk._flip][: cap * cap].reshape(cap, cap)

    def prepare_compiled(self) -> None:
        """Give ``W`` two backing arrays of ``m²`` numbers (untouched memory until used), so
        that the compiled step changes its capacity without allocating (see
        ``InverseBlock._set_capacity``)."""
        blk = self.block
        size = self.m * self.m
        blk._backing = [b if b.size >= size else np.empty(size) for b in blk._backing]

    def compiled_event(
        self,
        kernel: Any,
        h_p: FloatArray,
        r_old: FloatArray,
        tau: float,
        advance_h: bool,
        joins: np.ndarray,
        zero_length: bool,
        t_new: float,
        c0: FloatArray,
        work: KernelWork,
    ) -> tuple[dict[int, float] | None, bool]:
        """One event of the exact path's sign flow by the compiled step
        (:func:`filippov._spd_kernel.event_step`; ``kernel`` is that module):
        ``h_p += tau r_old`` if ``advance_h``, then the functions ``joins`` (not sliding)
        reach their manifolds and the selection is :meth:`join`'s, on the same arrays and
        bit for bit. Needs :meth:`prepare_compiled` first.

        Returns the bound candidates (as :meth:`join`) and whether the step completed:
        then ``work`` holds the relays, the velocity (``B = I``) and the next event
        (see ``event_step``); otherwise (a refresh of ``W``, the direct solver, a
        refinement, an empty sliding set: the Python methods finished the selection) the
        caller computes those itself.
        """
        blk = self.block
        if (self.n_calls + 1) % REFRESH == 0:  # W rebuilt from scratch: the Python step
            if advance_h:
                _daxpy(r_old, h_p, a=tau)
            h_p[blk.pos[joins]] = 0.0
            h_p[: blk.k] = 0.0
            return self.join(joins.tolist()), False
        si = self._kernel_state()
        code = kernel.event_step(
            self.P, blk.perm, blk.pos, self.sig, self.rho, h_p, self.lam, self.Gc0, c0,
            blk.L, blk._backing[0], blk._backing[1], si, self._rate_buffers[0],
            self._rate_buffers[1], self._scratch, r_old, tau, advance_h, joins, zero_length,
            t_new, self.tol_lam, self.rowsum, self._SMALL_SCHUR, self._CHECK_EVERY,
            self._CLEAN_STREAK, RESYNC, work.cand, work.bound_idx, work.bound_side,
            work.lam, work.v, work.arrived, work.floats,
        )  # fmt: skip
        self._adopt_kernel_state(si)
        nbound = int(si[15])  # S_N_BOUND
        bound = (
            dict(
                zip(
                    work.bound_idx[:nbound].tolist(), work.bound_side[:nbound].tolist(), strict=True
                )
            )
            if nbound
            else {}
        )
        if code == kernel.CODE_OK:
            self.rates_p = self._rate_buffers[self._flip]
            work.n_arrived = int(si[14])  # S_N_ARRIVED
            return bound, True
        if code == kernel.CODE_FALLBACK:  # as _solve_with after a failed update or pivoting
            if self.n_calls % RESYNC != 0:
                for j in joins.tolist():
                    self._fix(j, 0.0)
            self._fallback(work.cand[: int(si[16])].copy())  # S_N_CAND
            self.check_due = True
            self._solve_checked()
            return None, False
        if code == kernel.CODE_REFINE:  # as _solve_checked after a residual check failed
            self.n_refined += 1
            self.check_every, self.clean_checks = 1, 0
            rates = self._refine(self.lam, self._rate_buffers[self._flip], float(work.floats[0]))
            rates[: blk.k] = 0.0
            self.rates_p = rates
            return bound, False
        self.rates_p = self.rho.copy()  # CODE_EMPTY: nothing slides
        return bound, False

    def _solve_with(
        self, cand: np.ndarray, joins: list[int], to_free: list[int]
    ) -> dict[int, float] | None:
        """Insert ``joins`` into the sliding set, free the relays of ``to_free`` (after they
        joined, see above), solve the box VI over ``cand`` and compute the rates."""
        blk = self.block
        try:
            for i in joins:
                self._insert(i)
            for j in to_free:
                self._fix(j, 0.0)
            if self.n_calls % REFRESH == 0:
                blk.rebuild()
                self.n_rebuilt += 1
                self.check_due = True
            pivoted = self._pivot(cand)
        except np.linalg.LinAlgError:
            pivoted = None
        if pivoted is None:
            for j in to_free:  # not applied if the pivoting broke off first
                self._fix(j, 0.0)
            self._fallback(cand)
            self.check_due = True
        self._solve_checked()
        return pivoted

    def _pivot(self, cand: np.ndarray) -> dict[int, float] | None:
        """Block principal pivoting over ``cand`` from "all interior"; None if it cycles.

        Returns the bound indices with their sides; ``lam`` then holds ``W rho_J``.
        """
        blk = self.block
        tol_lam = self.tol_lam
        tol_w = -1.0  # computed when first needed (most selections never bind an index)
        bound: dict[int, float] = {}
        seen: set[frozenset[tuple[int, float]]] = set()
        for _ in range(4 * cand.size + 10):
            k = blk.k
            lam_S = self._lam_current()[:k]
            out = np.flatnonzero(np.abs(lam_S) > 1.0 + tol_lam)
            up = blk.perm[out[lam_S[out] > 0.0]].tolist() if out.size else []
            lo = blk.perm[out[lam_S[out] < 0.0]].tolist() if out.size else []
            leave: list[int] = []
            if bound:
                Bi = np.fromiter(bound, dtype=np.intp, count=len(bound))
                p = np.fromiter(bound.values(), dtype=float, count=len(bound))
                Bp = blk.pos[Bi]
                if tol_w < 0.0:
                    rho_c = np.abs(self.rho[blk.pos[cand]])
                    tol_w = tol_lam * (float(rho_c.max()) + self.rowsum)
                w = self.rho[Bp] - (self.P[Bp, :k] @ lam_S if k else 0.0)
                leave = Bi[((p > 0) & (w < -tol_w)) | ((p < 0) & (w > tol_w))].tolist()
            if not (up or lo or leave):
                return bound
            key = frozenset(bound.items())
            if key in seen:
                return None
            seen.add(key)
            for j, side in [(j, 1.0) for j in up] + [(j, -1.0) for j in lo]:
                self._fix(j, side)  # while j is in S: an O(1) change of λ (see above)
                self._delete(j)
                bound[j] = side
            for j in leave:
                del bound[j]
                self._insert(j)
                self._fix(j, 0.0)
        return None

    def _fallback(self, cand: np.ndarray) -> None:
        """Solve the block with :func:`solve_box_vi` (warm started) and rebuild ``W``."""
        self.n_fallback += 1
        pc = self.block.pos[cand]
        pattern = np.rint(self.sig[pc]).astype(np.int64)
        for j in cand.tolist():
            self._fix(j, 0.0)
        pc = self.block.pos[cand]
        M = self.P[np.ix_(pc, pc)]
        sel = solve_box_vi(M, self.rho[pc], warm_start=pattern)
        for j, pj in zip(cand.tolist(), sel.pattern.tolist(), strict=True):
            if pj != 0:
                self._fix(j, float(pj))
        self.block.reset(cand[sel.pattern == 0])
        self.lam_ok = False

    def _rates_for(self, lam_S: FloatArray, *, with_residual: bool) -> FloatArray:
        """``rho − GB λ`` in position order: off ``S`` always, on ``S`` (the residual) only
        when asked (0 there otherwise)."""
        k = lam_S.size
        # Two buffers used in turn (the caller keeps the previous rates for one event),
        # and the product written into the scratch vector: no allocation of length m per
        # event (a fresh array each time cost 3 % of a d = 1000 run, page faults included).
        self._flip ^= 1
        rates = self._rate_buffers[self._flip]
        prod = self._scratch
        if with_residual:
            np.matmul(self.P[:, :k], lam_S, out=prod)
            np.subtract(self.rho, prod, out=rates)
        else:
            np.matmul(self.P[k:, :k], lam_S, out=prod[k:])
            np.subtract(self.rho[k:], prod[k:], out=rates[k:])
            rates[:k] = 0.0
        return rates

    def _solve_checked(self, *, force: bool = False) -> None:
        """``λ_S = W rho_S`` and the new rates (position order, in :attr:`rates_p`); the
        residual on ``S`` is checked when due (or ``force``) and ``λ`` refined when it is
        not rounding. :attr:`checked` tells whether this selection was checked."""
        blk = self.block
        k = blk.k
        lam = self._lam_current()
        self.checked = k == 0 or force or self.check_due or self.n_calls % self.check_every == 0
        if k == 0:
            rates = self.rho.copy()
        elif self.checked:
            self.n_checked += 1
            self.check_due = False
            self.clean_checks += 1
            if self.clean_checks >= self._CLEAN_STREAK:
                self.check_every = self._CHECK_EVERY
            rates = self._rates_for(lam[:k], with_residual=True)
            tol_res = (
                4
                * _EPS
                * (
                    float(np.max(np.abs(self.rho[:k])))
                    + self.rowsum * float(np.max(np.abs(lam[:k])))
                )
            )
            if float(np.max(np.abs(rates[:k]))) > tol_res:
                self.n_refined += 1
                self.check_every, self.clean_checks = 1, 0
                rates = self._refine(lam, rates, tol_res)
            rates[:k] = 0.0
        else:
            rates = self._rates_for(lam[:k], with_residual=False)
        self.rates_p = rates

    def _refine(self, lam: FloatArray, rates: FloatArray, tol_res: float) -> FloatArray:
        """Iterative refinement of ``λ_S`` (in place) until its residual is rounding;
        returns the rates with the final residual.

        ``λ = W rho`` with an explicit inverse is not backward stable: its residual is about
        ``cond(GB_SS) · eps`` relative, not ``eps`` (a condition-1e8 sign flow ended with a
        gradient of 1e-7 instead of 1e-11 after a single refinement step, because the rate
        of the last free index, a small difference of large numbers, was off by 1e-5).
        Each step ``λ += W r`` shrinks the error by about that factor, so a few steps
        reach rounding level for any condition number well below ``1/eps``; a step that
        does not at least quarter the residual means ``W`` itself has drifted, and it is
        recomputed once (keeping the current ``λ``). If rounding level is not reached, the
        iterate with the smallest residual is kept.
        """
        blk = self.block
        k = blk.k
        res_max = float(np.max(np.abs(rates[:k])))
        best = (res_max, lam[:k].copy(), rates.copy())  # (rates: a reused buffer)
        rebuilt = False
        for step in range(self._MAX_REFINE):
            C = blk.L.shape[0]
            res = np.zeros(C)
            res[:k] = rates[:k]
            lam[:C] += blk.apply(res)
            rates = self._rates_for(lam[:k], with_residual=True)
            new_max = float(np.max(np.abs(rates[:k])))
            if new_max <= tol_res:
                return rates
            if new_max < best[0]:
                best = (new_max, lam[:k].copy(), rates.copy())
            last = step == self._MAX_REFINE - 1
            if new_max > 0.25 * res_max and not rebuilt and not last:
                self.n_rebuilt += 1
                blk.rebuild()
                self.lam_gen = blk.generation  # λ is kept: it is refined, not recomputed
                rebuilt = True
            res_max = new_max
        # Not down to rounding (condition near 1/eps): keep the best of the iterates.
        lam[:k] = best[1]
        return best[2]

    def check_now(self) -> None:
        """Check (and refine) the current selection if it was not checked."""
        if not self.checked:
            self._solve_checked(force=True)


class SimplexTieSelector:
    """Incremental ℓ∞ tie selection (greedy flow) for a symmetric positive definite ``GB``.

    On a tie facet ``A`` with signs ``s`` the relay values are ``λ = Σ_{i∈A} w_i s_i e_i``
    with ``w`` in the simplex, the indices of positive weight (the support ``F``) sharing
    one rate ``d|h_i|/dt = r`` and the others not exceeding it. On ``F`` this is the KKT
    system ``GB_FF λ_F + r s_F = Gc0_F``, ``s_Fᵀ λ_F = 1``; with ``W = GB_FF⁻¹`` kept by
    :class:`InverseBlock` and the two slot vectors ``u = W s_F``, ``z = W Gc0_F`` kept
    through every join and leave (``O(k)`` each, like ``λ`` in :class:`SpdBoxSelector`),
    its solution costs ``O(k)``: ``r = (s·z − 1)/(s·u)``, ``λ_F = z − r u``.

    The support is found by the same primal active-set method as
    :func:`~filippov.selection.solve_simplex_vi` (the QP ``min ½wᵀMw − aᵀw`` over the
    simplex, ``M = S GB_AA S``), warm started from the previous support; each of its steps
    is one ``O(k²)`` update of ``W`` instead of an ``O(k³)`` KKT solve, and the matrix is
    never formed (the greedy flow of a d = 500 quadratic spent 25 s, 12 ms per event, in
    those solves and in the per-event definiteness test that an SPD ``GB`` makes moot).
    The new rates of all ``m`` functions cost one product with ``GB[:, F]``; the residual
    of the KKT system on ``F`` comes with it, and above rounding level ``λ`` is refined
    with ``W`` (``W`` rebuilt once if a step gains too little, and every ``REFRESH``
    selections anyway). A failed update (a numerically singular block) or an active-set
    run that does not finish hands the block to :func:`~filippov.selection.solve_simplex_vi`.

    Examples
    --------
    A tie of three functions with decoupled rates ``−GB_ii w_i``: the weights that give
    them one common rate are proportional to ``1 / GB_ii``,

    >>> import numpy as np
    >>> from filippov.incremental_selection import SimplexTieSelector
    >>> sel = SimplexTieSelector(np.diag([1.0, 2.0, 4.0]), np.zeros(3))
    >>> w, support, unique = sel.select(np.arange(3), np.ones(3))
    >>> (7 * w).round(12).tolist(), support.tolist()
    ([4.0, 2.0, 1.0], [True, True, True])
    """

    _MAX_REFINE = 6

    def __init__(self, GB: FloatArray, Gc0: FloatArray, tol: float = 1e-12) -> None:
        m = GB.shape[0]
        self.m = m
        self.block = InverseBlock(GB)
        self.P = self.block.P
        self.sig = np.zeros(m)  # position order: the sign of every candidate
        self.gc = np.array(Gc0, dtype=float)  # position order
        self.block.position_vectors += [self.sig, self.gc]
        self.u = np.zeros(m)  # slot space: W s_F (0 from slot k on)
        self.z = np.zeros(m)  # slot space: W Gc0_F
        self.diag = np.diag(GB).copy()  # original order
        rowsum = float(np.max(np.sum(np.abs(GB), axis=1))) if m else 0.0
        self.rowsum = rowsum
        t = max(tol, 10 * _EPS)
        # The tolerance of the dual test, as solve_simplex_vi scales it (with the row sums
        # of all of GB, which bound those of every block, instead of the block's own).
        self.tol_rho = t * max(float(np.max(np.abs(Gc0), initial=0.0)) + rowsum, 1e-300)
        self.n_calls = 0
        self.n_refined = 0
        self.n_rebuilt = 0
        self.n_fallback = 0
        self.rates = np.zeros(m)  # original order, for the selection just made

    # -- the block and its slot vectors --------------------------------------------------
    def _insert(self, j: int) -> None:
        _, uvec, s = self.block.insert(j)
        C = uvec.size
        for y, v in ((self.u, self.sig), (self.z, self.gc)):
            # Bordering: y' = (y, 0) + uvec (uvecᵀ v')/s (uvec vanishes beyond slot p).
            _daxpy(uvec, y[:C], a=float(uvec @ v[:C]) / s)

    def _delete(self, j: int, wcur: FloatArray | None = None) -> None:
        p, q, w, beta = self.block.delete(j)
        for y in (self.u, self.z) if wcur is None else (self.u, self.z, wcur):
            if y is not wcur:
                # Schur complement: y' = y − w y_p/β, exactly 0 in the freed slot ...
                _daxpy(w, y[: w.size], a=-float(y[p]) / beta)
            y[p] = 0.0
            if p < q:  # ... into which the last member moved
                y[p] = y[q]
                y[q] = 0.0

    def _recompute(self) -> None:
        """``u`` and ``z`` from ``W`` (after a rebuild)."""
        blk = self.block
        for y, v in ((self.u, self.sig), (self.z, self.gc)):
            y[:] = 0.0
            w = blk.apply(v)
            y[: w.size] = w
            y[blk.k : w.size] = 0.0

    def _kkt(self) -> tuple[FloatArray, float]:
        k = self.block.k
        s = self.sig[:k]
        u, z = self.u[:k], self.z[:k]
        r = (float(s @ z) - 1.0) / float(s @ u)
        return z - r * u, r

    # -- the selection -------------------------------------------------------------------
    def select(self, cand: np.ndarray, signs: FloatArray) -> tuple[FloatArray, np.ndarray, bool]:
        """Weights on the tie set ``cand`` (sorted; signs ``signs``) whose members in the
        block (the previous support) warm start the active-set method; returns the weights
        in the order of ``cand``, the support mask, and True (the solution is unique: ``GB``
        is SPD). Afterwards :attr:`rates` holds ``Gc0 − GB λ`` and the block is the support."""
        self.n_calls += 1
        blk = self.block
        pos = blk.pos
        is_cand = np.zeros(self.m, dtype=bool)
        is_cand[cand] = True
        pc = pos[cand]
        flipped = cand[(pc < blk.k) & (self.sig[pc] != signs)]
        try:
            # Members that are no candidates any more, or whose sign changed (u = W s
            # would be stale), leave first; the path itself never does either.
            members = blk.perm[: blk.k]
            for i in members[~is_cand[members]].tolist() + flipped.tolist():
                self._delete(i)
            self.sig[pos[cand]] = signs
            if self.n_calls % REFRESH == 0 and blk.k:
                blk.rebuild()
                self.n_rebuilt += 1
                self._recompute()
            lam, r = self._active_set(cand, signs)
        except (np.linalg.LinAlgError, ActiveSetStalled):
            lam, r = self._fallback(cand, signs)
        lam, r = self._finish(lam, r)
        k = blk.k
        pc = pos[cand]
        support = pc < k
        w = np.zeros(cand.size)
        w[support] = self.sig[pc[support]] * lam[pc[support]]
        return w, support, True

    def _active_set(self, cand: np.ndarray, signs: FloatArray) -> tuple[FloatArray, float]:
        """The primal active-set method of ``solve_simplex_vi``, on the block."""
        blk = self.block
        m = self.m
        wcur = np.zeros(m)  # slot space
        if blk.k == 0:
            i0 = int(cand[np.argmin(0.5 * self.diag[cand] - signs * self.gc[blk.pos[cand]])])
            self._insert(i0)
            wcur[0] = 1.0
            at_min = False
        else:
            lam, r = self._kkt()
            k = blk.k
            w_S = self.sig[:k] * lam
            if np.all(w_S >= 0):
                wcur[:k] = w_S
                at_min = True
            else:
                wcur[:k] = 1.0 / k
                at_min = False
        for _ in range(100 * (cand.size + 1)):
            k = blk.k
            if not at_min:
                lam, r = self._kkt()
                d = self.sig[:k] * lam - wcur[:k]
                neg = np.flatnonzero(d < 0)
                if neg.size:
                    steps = wcur[neg] / -d[neg]
                    jj = int(np.argmin(steps))
                    step = float(steps[jj])
                    if step < 1.0:
                        np.maximum(wcur[:k] + max(step, 0.0) * d, 0.0, out=wcur[:k])
                        p = int(neg[jj])
                        wcur[p] = 0.0
                        self._delete(int(blk.perm[p]), wcur)
                        wcur[: blk.k] /= float(np.sum(wcur[: blk.k]))
                        continue
                wcur[:k] = self.sig[:k] * lam
                at_min = True
            outside = blk.pos[cand]
            outside = outside[outside >= k]
            if outside.size == 0:
                return lam, r
            rho = self.gc[outside] - self.P[outside, :k] @ lam
            viol = self.sig[outside] * rho - r
            jj = int(np.argmax(viol))
            if viol[jj] <= self.tol_rho:
                return lam, r
            self._insert(int(blk.perm[outside[jj]]))
            at_min = False
        raise ActiveSetStalled

    def _fallback(self, cand: np.ndarray, signs: FloatArray) -> tuple[FloatArray, float]:
        """The block solved by :func:`solve_simplex_vi`, and ``W`` rebuilt on its support."""
        self.n_fallback += 1
        blk = self.block
        M = signs[:, None] * self.P[np.ix_(blk.pos[cand], blk.pos[cand])] * signs[None, :]
        sel = solve_simplex_vi(M, signs * self.gc[blk.pos[cand]])
        blk.reset(cand[np.asarray(sel.lam) > 0])
        self._recompute()
        return self._kkt()

    def _finish(self, lam: FloatArray, r: float) -> tuple[FloatArray, float]:
        """Drop support members of zero weight, compute the rates, refine if needed."""
        blk = self.block
        while blk.k > 1:
            k = blk.k
            w = self.sig[:k] * lam
            nonpos = np.flatnonzero(w <= 0.0)
            if nonpos.size == 0:
                break
            for i in blk.perm[nonpos].tolist():
                self._delete(i)
            lam, r = self._kkt()
        k = blk.k
        rates_p = self.gc - self.P[:, :k] @ lam
        s = self.sig[:k]
        tol_res = (
            4
            * _EPS
            * (float(np.max(np.abs(self.gc[:k]))) + self.rowsum * float(np.max(np.abs(lam))))
        )
        res = rates_p[:k] - r * s
        res_max = float(np.max(np.abs(res)))
        rebuilt = False
        for _ in range(self._MAX_REFINE):
            if res_max <= tol_res:
                break
            self.n_refined += 1
            # Iterative refinement of the KKT system (GB δλ + δr s = res, sᵀδλ = 1 − sᵀλ).
            padded = np.zeros(blk.L.shape[0])
            padded[:k] = res
            Wres = blk.apply(padded)
            dr = (float(s @ Wres[:k]) - (1.0 - float(s @ lam))) / float(s @ self.u[:k])
            lam = lam + Wres[:k] - dr * self.u[:k]
            r = r + dr
            rates_p = self.gc - self.P[:, :k] @ lam
            res = rates_p[:k] - r * s
            new_max = float(np.max(np.abs(res)))
            if new_max > 0.25 * res_max and not rebuilt:
                blk.rebuild()
                self._recompute()
                self.n_rebuilt += 1
                rebuilt = True
            res_max = new_max
        self.lam_slots = lam
        rates = np.empty(self.m)
        rates[blk.perm] = rates_p
        self.rates = rates
        return lam, r


class KernelWork:
    """Buffers of the compiled event step (:meth:`SpdBoxSelector.compiled_event`), made once
    per run: the candidates, the bound indices and their sides, the next arrivals (indices,
    sorted) and ``floats`` (the refinement tolerance, the next τ, the largest ``|v|``). ``lam`` and
    ``v`` are set by the caller to fresh arrays before each event (they are recorded)."""

    def __init__(self, m: int) -> None:
        self.cand = np.empty(m, dtype=np.int64)
        self.bound_idx = np.empty(m, dtype=np.int64)
        self.bound_side = np.empty(m)
        self.arrived = np.empty(m, dtype=np.int64)
        self.floats = np.zeros(3)
        self.n_arrived = 0
        self.lam = np.empty(m)
        self.v = np.empty(m)


class ActiveSetStalled(Exception):
    """The incremental active-set method did not finish (handed to the direct solver)."""


def spd_condition(M: FloatArray) -> float | None:
    """An estimate of the 1-norm condition number of ``M`` if it is symmetric positive
    definite (so all its principal blocks are), else None.

    For such an ``M`` a feasible interior solution of a box VI on any block is *the*
    solution; anything else is handed to the full VI solver, which decides uniqueness
    itself. The estimate (LAPACK ``dpocon`` on the Cholesky factor, ``O(m²)`` after the
    ``O(m³)`` factorization that decides definiteness) chooses between the incremental
    and the direct selection (the exact path's ``_INCREMENTAL_MAX_COND``).

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.incremental_selection import spd_condition
    >>> float(spd_condition(np.diag([1.0, 100.0])))
    100.0
    >>> spd_condition(np.array([[0.0, 1.0], [1.0, 0.0]])) is None  # indefinite
    True
    """
    # exact symmetry first: allclose makes three m × m temporaries (~10 ms at m = 1000)
    if not np.array_equal(M, M.T) and not np.allclose(
        M, M.T, rtol=0, atol=1e-12 * max(1.0, float(np.max(np.abs(M))))
    ):
        return None
    factor, info = _dpotrf(M, lower=1)
    if info != 0:
        return None
    rcond, info = _dpocon(factor, float(np.max(np.sum(np.abs(M), axis=0))), uplo="L")
    if info != 0 or not rcond > 0.0:
        return np.inf
    return 1.0 / float(rcond)
