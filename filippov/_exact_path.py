"""The exact path: piecewise-affine systems integrated event to event in closed form.

For ``x' ∈ c0 − B ∂φ(G x + e)`` with ``φ = ℓ1`` or ``ℓ∞`` the relay values are constant in
each mode, so the state moves on a straight line and every switching function is affine in
time. The next event is the smallest positive root of a set of linear functions, and the
selection problem is re-solved only at events (docs/theory.rst, "The exact path";
docs/design.rst, "The integration paths").

Cost per event (ℓ1 relays with a symmetric positive definite ``G B``: the sign flow of every
strongly convex quadratic): the sliding selection is kept incrementally by
:class:`_SpdBoxSelector` — the inverse of ``G B`` on the sliding set is updated in ``O(k²)``
per index that joins or leaves (``k`` sliding indices), the box VI is warm started from the
previous sliding set, and the new rates cost one product with the ``(m − k) × k`` block
coupling the free to the sliding indices (BLAS, on a permuted copy of ``G B`` that keeps the
sliding set first). Before this the selection was re-solved from scratch at every event
(``O(k³)``), and a d = 500 rotated quadratic took 7.2 s; the sign flow of the d = 1000
benchmark quadratic (3720 events) took 2.9 s with a first incremental version and now
takes 0.8–1.4 s on one BLAS thread on the two-core benchmark machine, whose speed drifts (see
``benchmarks/``). The solutions are checked by their residual (at every selection until a
long run of checks needed no refinement, then every few selections and always before a
long segment) and refined when needed, so the path stays exact to rounding;
``incremental=False`` keeps the direct solve as the reference the tests compare with
(identical events and modes, states to 1e-12); it is also what runs when ``G B`` is too
ill-conditioned for a kept inverse (condition above ``_INCREMENTAL_MAX_COND``).
Other systems: the rates and the velocity are updated from the changed relay values
(``O((n + m) k)``) and the selection is solved on the candidate block, falling back to the
exact VI solver when a multiplier reaches its bound. ``h`` and ``r`` are re-synchronised
from scratch every ``_RESYNC`` events so rounding cannot accumulate.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg.blas import daxpy as _daxpy
from scipy.linalg.blas import dsymv as _dsymv
from scipy.linalg.blas import dsyr as _dsyr
from scipy.linalg.lapack import dpocon as _dpocon
from scipy.linalg.lapack import dpotrf as _dpotrf
from scipy.linalg.lapack import dpotri as _dpotri

from filippov._certify import component_scales, initial_zero_rtol
from filippov._recorder import Recorder, make_mode, record_l1_transition
from filippov._rest import record_initial_leave, rest_is_unique
from filippov._validation import FloatArray
from filippov.engine.protocol import (
    REACHED_END,
    Finished,
    Rest,
    SteppedPath,
    cyclic_gc_paused,
    serial_blas,
)
from filippov.selection import is_p_matrix, solve_box_vi, solve_simplex_vi
from filippov.solution import Mode
from filippov.solution import trusted_record as _unchecked
from filippov.systems import AffineData, ConsistentVelocity, FilippovSystem, _ball_like_l1_at_zero

_RESYNC = 64
#: Selections between two rebuilds from scratch of the inverse kept by the incremental
#: sliding solver (a residual check rebuilds it earlier when rounding has built up).
_REFRESH = 2048
_EPS = float(np.finfo(float).eps)
#: A segment longer than this fraction of ``t_span`` starts with a checked (and refined)
#: selection (see :class:`_SpdBoxSelector`): it would integrate any error in λ.
_LONG_SEGMENT = 0.01
#: The incremental selection is used up to this condition number of ``G B`` (1-norm
#: estimate), the direct solve on each block beyond. Why: even with iterative refinement
#: (see ``_SpdBoxSelector._refine``) an inverse kept through thousands of rank-one updates
#: loses to a fresh factorization once ``cond · eps`` nears 1e-6: on 40 random sign flows
#: per decade of condition (d = 5…40) the incremental path's final gradient was within 13×
#: of the direct path's (median 2–3×) up to condition 1e10, and up to 8e4× worse between
#: 1e10 and 1e11.
_INCREMENTAL_MAX_COND = 1e10


@dataclass(frozen=True)
class ExactOptions:
    """Options of the exact path (see :func:`filippov.solve`).

    Attributes
    ----------
    zero_tol : float
        Relative tolerance for reading zeros and ties of ``h`` off the state.
    incremental : bool
        Keep the sliding (ℓ1) or tie (ℓ∞) selection by rank-one updates, ``O(k²)`` per
        index that joins or leaves; ``False`` solves each selection from scratch
        (``O(k³)``: the reference the tests compare the incremental selection with).
    """

    zero_tol: float = 1e-12
    incremental: bool = True


class ExactPath(SteppedPath):
    """Closed-form event-to-event integration of piecewise-affine ℓ1 / ℓ∞ relay systems
    (constant ``f0`` and ``B``, affine ``h``: every quadratic's sign and greedy flows)."""

    name = "exact"
    Options = ExactOptions

    @classmethod
    def unsupported(cls, system: Any) -> str | None:
        if not isinstance(system, FilippovSystem):
            return "it is not a FilippovSystem (Lur'e form)"
        if not system.is_affine or system.affine_data is None:
            return "it is not piecewise-affine (constant f0 and B, affine h)"
        if system.norm.name not in ("l1", "linf"):
            return f"its relay norm is {system.norm.name}, not l1 or linf"
        return None

    def running(self) -> contextlib.AbstractContextManager[object]:
        stack = contextlib.ExitStack()
        stack.enter_context(serial_blas(self.system.affine_data.G.shape[0]))
        stack.enter_context(cyclic_gc_paused())
        return stack

    def steps(self) -> Generator[None, None, Finished | Rest]:
        data = self.system.affine_data
        loop = l1_steps if self.system.norm.name == "l1" else linf_steps
        return (yield from loop(data, self.x0, 0.0, self.horizon, self.options, self.recorder))


class _InverseBlock:
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
        self.position_vectors: list[np.ndarray] = []
        self.n_updates = 0
        #: Bumped whenever ``W`` is recomputed from scratch: slot vectors kept by the
        #: caller (``W v``) are stale then.
        self.generation = 0

    # -- storage ------------------------------------------------------------------------
    def _capacity_for(self, k: int) -> int:
        return min(self.m, k + max(self._MIN_SLACK, k // 8))

    def _set_capacity(self, cap: int) -> None:
        k = self.k
        L = np.zeros((cap, cap))
        L[:k, :k] = self.L[:k, :k]
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
        _sym_rank_one(self.L, 1.0 / s, u)
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
        _sym_rank_one(L, -1.0 / beta, w)
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


def _sym_rank_one(L: FloatArray, alpha: float, u: FloatArray) -> None:
    """``L += alpha u uᵀ`` on the lower triangle of a C-contiguous square ``L`` (``dsyr``)."""
    out = _dsyr(alpha, u, a=L.T, overwrite_a=True)  # L.T is Fortran-contiguous: no copy
    # (A pointer comparison, not np.shares_memory: that cost 1.6 % of a d = 1000 run.)
    if out.ctypes.data != L.ctypes.data:  # pragma: no cover - depends on the BLAS wrapper
        L[...] = out.T


class _SpdBoxSelector:
    """Incremental ℓ1 sliding selection for a symmetric positive definite ``GB``.

    It keeps, between events, the relay values held at a bound (``sig``, 0 on the sliding
    set), the drift ``rho = Gc0 − GB sig`` of every switching function, and the inverse of
    ``GB`` on the sliding set (:class:`_InverseBlock`); ``sig`` and ``rho`` are kept in the
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
    when only every 8th selection was checked; see ``tests/test_benchmarks.py``); for
    well-conditioned problems (the benchmark quadratics) no check ever needs a refinement
    and the relaxed checking saves the ``k²`` product at most events. ``W`` is also rebuilt
    every ``_REFRESH`` selections and ``rho`` recomputed every ``_RESYNC``.
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
        self.block = _InverseBlock(GB)
        self.P = self.block.P
        self.sig = np.zeros(m)  # position order, like rho
        self.rho = Gc0.copy()
        self.block.position_vectors += [self.sig, self.rho]
        self.rates = Gc0.copy()  # original order (what :meth:`select` returns)
        self.rates_p = Gc0.copy()  # position order (what :meth:`join` leaves)
        self._rate_buffers = (np.empty(m), np.empty(m))
        self._flip = 0
        self._scratch = np.empty(m)
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
        if self.n_calls % _RESYNC == 0:  # from scratch now and then: no drift in rho
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
        if self.n_calls % _RESYNC == 0:  # from scratch now and then: no drift in rho
            self.sig[blk.pos[cand]] = 0.0
            self.rho[:] = self.Gc0[blk.perm] - self.P @ self.sig
            self.lam_ok = False
            to_free = []
        return self._solve_with(cand, arrived, to_free)

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
            if self.n_calls % _REFRESH == 0:
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


class _SimplexTieSelector:
    """Incremental ℓ∞ tie selection (greedy flow) for a symmetric positive definite ``GB``.

    On a tie facet ``A`` with signs ``s`` the relay values are ``λ = Σ_{i∈A} w_i s_i e_i``
    with ``w`` in the simplex, the indices of positive weight (the support ``F``) sharing
    one rate ``d|h_i|/dt = r`` and the others not exceeding it. On ``F`` this is the KKT
    system ``GB_FF λ_F + r s_F = Gc0_F``, ``s_Fᵀ λ_F = 1``; with ``W = GB_FF⁻¹`` kept by
    :class:`_InverseBlock` and the two slot vectors ``u = W s_F``, ``z = W Gc0_F`` kept
    through every join and leave (``O(k)`` each, like ``λ`` in :class:`_SpdBoxSelector`),
    its solution costs ``O(k)``: ``r = (s·z − 1)/(s·u)``, ``λ_F = z − r u``.

    The support is found by the same primal active-set method as
    :func:`~filippov.selection.solve_simplex_vi` (the QP ``min ½wᵀMw − aᵀw`` over the
    simplex, ``M = S GB_AA S``), warm started from the previous support; each of its steps
    is one ``O(k²)`` update of ``W`` instead of an ``O(k³)`` KKT solve, and the matrix is
    never formed (the greedy flow of a d = 500 quadratic spent 25 s, 12 ms per event, in
    those solves and in the per-event definiteness test that an SPD ``GB`` makes moot).
    The new rates of all ``m`` functions cost one product with ``GB[:, F]``; the residual
    of the KKT system on ``F`` comes with it, and above rounding level ``λ`` is refined
    with ``W`` (``W`` rebuilt once if a step gains too little, and every ``_REFRESH``
    selections anyway). A failed update (a numerically singular block) or an active-set
    run that does not finish hands the block to :func:`~filippov.selection.solve_simplex_vi`.
    """

    _MAX_REFINE = 6

    def __init__(self, GB: FloatArray, Gc0: FloatArray, tol: float = 1e-12) -> None:
        m = GB.shape[0]
        self.m = m
        self.block = _InverseBlock(GB)
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
            if self.n_calls % _REFRESH == 0 and blk.k:
                blk.rebuild()
                self.n_rebuilt += 1
                self._recompute()
            lam, r = self._active_set(cand, signs)
        except (np.linalg.LinAlgError, _ActiveSetStalled):
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
        raise _ActiveSetStalled

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


class _ActiveSetStalled(Exception):
    """The incremental active-set method did not finish (handed to the direct solver)."""


def l1_steps(
    data: AffineData,
    x0: FloatArray,
    t0: float,
    t_end: float,
    opts: ExactOptions,
    rec: Recorder,
) -> Generator[None, None, Finished | Rest]:
    """Exact path for ``φ = ℓ1`` (independent relays: the sign flow and relay systems).

    With ``opts.incremental`` (the default) and a symmetric positive definite ``G B`` (the sign
    flow of every strongly convex quadratic) the sliding selection is maintained by
    :class:`_SpdBoxSelector` in ``O(k²)`` per changed index; otherwise (and always with
    ``incremental=False``, kept as the reference the tests compare with) each selection is
    solved directly on its block.
    """
    c0, B, G, e = data.c0, data.B, data.G, data.e
    m = G.shape[0]
    b_is_eye = B.shape[0] == B.shape[1] and np.array_equal(B, np.eye(B.shape[0]))
    GB = G if b_is_eye else G @ B  # the sign flow has B = I: skip an O(n³) product (read only)
    Gc0 = G @ c0
    x = x0.copy()
    h = G @ x + e
    # Whether h_i(x0) is zero is decided on the scale of h_i itself: the size of the terms
    # it is computed from, |G_i| |x0| + |e_i| (its rounding error is eps times that). A
    # scale shared by all indices (the largest h) read a small but resolved component of
    # a badly scaled gradient (diag(1e13, 1)) as zero, and that index never moved.
    ztol = initial_zero_rtol(opts.zero_tol) * component_scales(G, x0, e)
    v_scale = float(np.max(np.abs(c0))) + float(np.max(np.abs(B))) if B.size else 1.0
    vtol = 1e-13 * max(v_scale, 1e-300)

    sigma = np.sign(h)
    zero = np.abs(h) <= ztol
    h[zero] = 0.0
    sigma[zero] = 0.0
    in_J = zero.copy()
    lam = sigma.copy()
    t = float(t0)
    # A symmetric positive definite G B (every strongly convex quadratic's sign flow) makes
    # every principal block PD, so each box VI is uniquely solvable: checked once here.
    gb_cond = _spd_condition(GB) if m > 0 else None
    rec.spd_condition = gb_cond
    gb_pd = gb_cond is not None
    spd = (
        _SpdBoxSelector(GB, Gc0)
        if opts.incremental and gb_cond is not None and gb_cond <= _INCREMENTAL_MAX_COND
        else None
    )

    def velocity(lam_full: FloatArray) -> FloatArray:
        return c0 - lam_full if b_is_eye else c0 - B @ lam_full

    def affine_eval(z: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        return c0, B, G @ z + e, G

    def select_direct(cand: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Relay values on the candidate sliding set ``cand`` (others keep ``sigma``)."""
        if cand.size == 0:
            return np.empty(0), np.empty(0, dtype=bool), True
        lam_fixed = sigma.copy()
        lam_fixed[cand] = 0.0
        a = Gc0[cand] - GB[cand] @ lam_fixed
        M = GB[np.ix_(cand, cand)]
        # Fast path: every candidate stays in the interior of its box (the common case
        # when one index joins a sliding set); it is the VI solution when it is feasible.
        try:
            lam_c = np.linalg.solve(M, a)
            if gb_pd and np.all(np.abs(lam_c) < 1.0 - 1e-12):
                return lam_c, np.ones(cand.size, dtype=bool), True
        except np.linalg.LinAlgError:
            pass
        sel = solve_box_vi(M, a)
        interior = np.zeros(cand.size, dtype=bool)
        interior[np.asarray(sel.interior, dtype=int)] = True
        # A symmetric positive definite G B makes every block a P-matrix, so the solution
        # is unique even where the solver, on a near-singular block, cannot prove it.
        return np.asarray(sel.lam, dtype=float), interior, bool(sel.unique) or gb_pd

    def select(cand: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        rec.n_selection_solves += 1
        if spd is not None:
            return spd.select(cand, sigma)
        return select_direct(cand)

    mode = make_mode("l1", sigma, np.flatnonzero(in_J))
    cand = np.flatnonzero(in_J)
    lam_c, interior, unique = select(cand)
    lam[cand] = lam_c
    if cand.size:
        leaving = cand[~interior]
        sigma[leaving] = np.sign(lam_c[~interior])
        in_J[leaving] = False
        new_mode = make_mode("l1", sigma, np.flatnonzero(in_J))
        kept = cand[interior]
        lam_now = sigma.copy()
        lam_now[kept] = lam_c[interior]
        v_now = c0 - B @ lam_now
        if not unique and float(np.max(np.abs(v_now))) <= vtol:
            unique = rest_is_unique(affine_eval, x, kept, lam_now, v_scale)
        if kept.size:
            rec.event(
                t,
                x,
                "sliding-entry" if unique else "repulsive",
                kept,
                None,
                new_mode,
                unique=unique,
                note="initial state on the switching manifold",
            )
        # A manifold left at once is labelled as classify() labels it (as the event path).
        scale = np.linalg.norm(G[leaving], axis=1) * (np.linalg.norm(c0) + np.abs(B).sum())
        record_initial_leave(
            rec, t, x, leaving, v_now, GB[leaving], G[leaving], sigma[leaving], scale, new_mode
        )
        mode = new_mode
    v = velocity(lam)
    # With every index sliding, G v = ḣ = 0; if G is nonsingular (B square and G B positive
    # definite) the velocity is exactly 0, whatever the rounding in λ (which grows with
    # the condition number and would defeat an absolute threshold on v).
    full_slide_is_rest = gb_pd and B.shape[0] == B.shape[1]
    if spd is not None:
        return (
            yield from _advance_spd(
                spd,
                data,
                t,
                t0,
                t_end,
                x,
                h,
                lam,
                v,
                mode,
                opts,
                rec,
                vtol,
                full_slide_is_rest,
                b_is_eye,
            )
        )
    r = Gc0 - GB @ lam
    r[in_J] = 0.0
    since_resync = 0
    held = np.empty(0, dtype=np.intp)  # held at a bound at the current time: see _advance_spd
    while True:
        if full_slide_is_rest and bool(in_J.all()):
            v = np.zeros_like(v)
        if float(np.max(np.abs(v))) <= vtol:
            rest_free = np.flatnonzero(in_J)
            unique = rest_is_unique(affine_eval, x, rest_free, sigma, v_scale)
            return Rest(t, x, rest_free, mode, mode, lam, unique)
        # sigma and r vanish on the sliding set, so it never counts as approaching
        approaching = np.flatnonzero(sigma * r < 0.0)
        tau_app = -h[approaching] / r[approaching]
        tau = float(tau_app.min()) if approaching.size else np.inf
        if t + tau >= t_end:
            x = rec.linear_segment(t, t_end, x, v, mode, lam)
            return REACHED_END
        yield
        tau = max(tau, 0.0)
        t_new = t + tau
        arrived = approaching[tau_app <= tau + 1e-15 * max(1.0, abs(t_new))]
        x = rec.linear_segment(t, t_new, x, v, mode, lam)
        h = h + tau * r
        zero_length = t_new == t
        again = np.setdiff1d(held, arrived) if zero_length else held[:0]
        t = t_new
        since_resync += 1
        if since_resync >= _RESYNC:
            h = G @ x + e
            since_resync = 0
        h[arrived] = 0.0
        h[again] = 0.0
        h[in_J] = 0.0
        old_sigma = sigma.copy()
        old_mode = mode
        in_cand = in_J.copy()
        in_cand[arrived] = True
        in_cand[again] = True
        cand = np.flatnonzero(in_cand)
        sigma[arrived] = 0.0
        sigma[again] = 0.0
        lam_c, interior, unique = select(cand)
        new_lam = sigma.copy()
        new_lam[cand] = lam_c
        leaving = cand[~interior]
        sigma[leaving] = np.sign(lam_c[~interior])
        in_J[:] = False
        in_J[cand[interior]] = True
        mode = make_mode("l1", sigma, np.flatnonzero(in_J))
        if again.size:  # selected again: an event only if the relay changed
            changed_again = again[in_J[again] | (sigma[again] != old_sigma[again])]
            arrived = np.union1d(arrived, changed_again)
        record_l1_transition(rec, t, x, arrived, old_sigma, sigma, in_J, old_mode, mode, unique)
        changed = np.flatnonzero(new_lam != lam)
        if changed.size:
            dlam = new_lam[changed] - lam[changed]
            v = v - B[:, changed] @ dlam
            r = r - GB[:, changed] @ dlam
        lam = new_lam
        if since_resync == 0:
            v = c0 - B @ lam
            r = Gc0 - GB @ lam
        r[in_J] = 0.0
        if leaving.size and zero_length:  # every candidate the selection holds at a bound
            _hold_bound_off_their_manifolds(r, leaving, sigma)
        held = np.union1d(again, leaving) if again.size else leaving
        held = held[~in_J[held]]


def _advance_spd(
    spd: _SpdBoxSelector,
    data: AffineData,
    t: float,
    t0: float,
    t_end: float,
    x: FloatArray,
    h: FloatArray,
    lam: FloatArray,
    v: FloatArray,
    mode: Mode,
    opts: ExactOptions,
    rec: Recorder,
    vtol: float,
    full_slide_is_rest: bool,
    b_is_eye: bool,
) -> Generator[None, None, Finished | Rest]:
    """The event loop of :func:`integrate_l1` with the incremental selector (SPD ``GB``).

    The same steps as the general loop, but ``h``, the relays and the rates live in the
    selector's position order, where the sliding set is the first ``k`` positions: the
    candidates, the new sliding set and the relays need no bookkeeping of their own at
    an event, and only what is recorded (relays, multipliers, velocity) is put back in
    the original order. Why a loop of its own: at d = 1000 an event costs ~0.3 ms, and
    that bookkeeping (two dozen array operations) was a third of it.
    """
    c0, B, G, e = data.c0, data.B, data.G, data.e
    m = G.shape[0]
    blk = spd.block
    perm, sig = blk.perm, spd.sig  # updated in place by the selector
    h_p = h[perm]  # position order, kept in step with the selector's swaps
    h_p[: blk.k] = 0.0
    blk.position_vectors.append(h_p)
    r_p = spd.rates_p
    signs = list(mode.signs)
    # The sliding set in index order, patched where it changes (a few indices per event)
    # instead of sorting perm[:k] again (~20 µs per event at k ≈ 1000).
    free_sorted = list(mode.free)
    since_resync = 0
    span = max(t_end - t0, 0.0)
    # Indices the selections at the current time held at a bound (on their manifold): an
    # event after a zero-length segment selects them again together with the new arrivals,
    # so a set of functions sitting on their manifolds is decided jointly instead of one by
    # one, which could alternate forever between two of them at one time (seen at
    # condition ≥ 1e12); that joint selection also clamps the rates of the ones it holds
    # (_hold_bound_off_their_manifolds).
    held: set[int] = set()
    while True:
        k = blk.k
        if full_slide_is_rest and k == m:
            v = np.zeros_like(v)
        if float(np.abs(v).max()) <= vtol:
            return Rest(t, x, free_sorted, mode, mode, lam)
        r_free = r_p[k:]
        approaching = np.flatnonzero(sig[k:] * r_free < 0.0)
        tau_app = -h_p[k:][approaching] / r_free[approaching]
        tau = float(tau_app.min()) if approaching.size else np.inf
        if not spd.checked and min(tau, t_end - t) > _LONG_SEGMENT * span:
            # A long segment integrates any error in λ: check this selection first.
            spd.check_now()
            r_p = spd.rates_p
            lam, v = _spd_lam_v(spd, perm, c0, B, b_is_eye)
            continue
        if t + tau >= t_end:
            rec.linear_segment(t, t_end, x, v, mode, lam)
            return REACHED_END
        yield
        tau = max(tau, 0.0)
        t_new = t + tau
        arrived_p = k + approaching[tau_app <= tau + 1e-15 * max(1.0, abs(t_new))]
        x = rec.linear_segment(t, t_new, x, v, mode, lam)
        # h_p += tau r_p in one pass, no temporary (in place: h_p is a fresh contiguous
        # array, made by the fancy indexing above; daxpy would copy anything else).
        _daxpy(r_p, h_p, a=tau)
        t_old, t = t, t_new
        since_resync += 1
        if since_resync >= _RESYNC:
            h_p[:] = (G @ x + e)[perm]
            since_resync = 0
        h_p[arrived_p] = 0.0
        h_p[:k] = 0.0
        arrived = np.sort(perm[arrived_p]).tolist()
        # At the same time again: the functions held there are selected again with them.
        again = sorted(held.difference(arrived)) if t_new == t_old and held else []
        if again:
            h_p[blk.pos[again]] = 0.0
        else:
            held = set()
        old_mode = mode
        rec.n_selection_solves += 1
        bound = spd.join(arrived + again)
        k = blk.k
        r_p = spd.rates_p
        lam, v = _spd_lam_v(spd, perm, c0, B, b_is_eye)
        if bound is None:  # the pivoting gave way to the direct solver: read the relays
            sigma = np.empty(m)
            sigma[perm] = sig
            cand = free_sorted + arrived + again  # the sliding set before this event
            bound = {i: float(sigma[i]) for i in cand if sigma[i] != 0.0}
        if bound:
            if t == t_old:
                _hold_bound_off_their_manifolds(r_p, blk.pos[list(bound)], sig)
            held.update(bound)
        held.difference_update(i for i in arrived + again if i not in bound)  # sliding now
        # The mode's sign tuple is rebuilt from a list patched where the relays changed
        # (a handful per event; converting all m of them again cost ~30 µs per event), and
        # the event is classified from what the pivoting bound: an arrival it kept is a
        # sliding entry, one it bound is a crossing (opposite side) or a tangency, and a
        # bound sliding index is an exit. (`record_l1_transition` finds the same by
        # comparing the relay vectors, O(m) per event.)
        # The relays before this event, where they may change (copying all m cost ~3 µs).
        old_signs = {i: signs[i] for i in (*arrived, *again, *bound)}
        for i in bound:
            if old_signs[i] == 0:  # an exit
                at = bisect.bisect_left(free_sorted, i)
                if at == len(free_sorted) or free_sorted[at] != i:  # pragma: no cover
                    raise RuntimeError(f"exact path: exit of {i}, which is not sliding")
                del free_sorted[at]
        for i in arrived + again:
            if i not in bound:  # joins the sliding set
                bisect.insort(free_sorted, i)
                signs[i] = 0
        for i, side in bound.items():
            signs[i] = int(side)
        mode = _unchecked(Mode, norm="l1", signs=tuple(signs), free=tuple(free_sorted))
        groups: dict[str, list[int]] = {}
        for i in arrived:
            if i not in bound:
                kind = "sliding-entry"
            elif signs[i] == -old_signs[i]:
                kind = "crossing"
            else:
                kind = "tangency"
            groups.setdefault(kind, []).append(i)
        for i in again:  # selected again: an event only if its relay changed
            if i not in bound:
                groups.setdefault("sliding-entry", []).append(i)
            elif signs[i] != old_signs[i]:
                groups.setdefault("crossing", []).append(i)
        exits = sorted(i for i in bound if old_signs[i] == 0 and i not in arrived)
        if exits:
            groups["exit"] = exits
        for kind, idx in groups.items():
            rec.event(t, x, kind, idx, old_mode, mode)


def _hold_bound_off_their_manifolds(rates: FloatArray, idx: np.ndarray, relays: FloatArray) -> None:
    """Zero the rates of switching functions that the selection just held at a bound but
    that still point back to their manifold (``relay · rate < 0``), in place.

    At an event every candidate sits on its manifold (``h = 0``), and a candidate the
    selection holds at ``±1`` must not move back across it: the box VI says
    ``relay · rate ≥ 0``, which the solvers accept down to a tolerance. Why the clamp: a
    rate in that tolerance band with the wrong sign (rounding, about ``cond(G B) · eps``)
    made the same index arrive again after a zero-length segment and be held again, an
    endless loop of zero-time "tangency" events (seen on quadratics of condition ≥ 1e12).
    The loops apply it only at an event after a zero-length segment, i.e. to a function
    that has already arrived once at this time: at a first arrival the held rate may still
    be off by more than rounding (the incremental selection pivots on λ before refining
    it), and zeroing it then hid real turn-backs (conditions 5e9–9e9). The incremental
    loop recomputes every rate at the next event; the general loop updates its rates
    incrementally, so there the clamped offset (within the selection's tolerance) stays
    until the next resynchronisation (``_RESYNC`` events).
    """
    back = idx[relays[idx] * rates[idx] < 0.0]
    rates[back] = 0.0


def _spd_lam_v(
    spd: _SpdBoxSelector, perm: np.ndarray, c0: FloatArray, B: FloatArray, b_is_eye: bool
) -> tuple[FloatArray, FloatArray]:
    """The relay values (original order) and the velocity of the selector's current mode,
    both frozen: the recorder keeps them without a copy (see ``_recorder._frozen``)."""
    k = spd.block.k
    lam_p = spd.sig.copy()
    lam_p[:k] = spd.lam[:k]
    lam = np.empty(perm.size)
    lam[perm] = lam_p
    lam.setflags(write=False)
    v = c0 - lam if b_is_eye else c0 - B @ lam
    v.setflags(write=False)
    return lam, v


def _spd_condition(M: FloatArray) -> float | None:
    """An estimate of the 1-norm condition number of ``M`` if it is symmetric positive
    definite (so all its principal blocks are), else None.

    For such an ``M`` a feasible interior solution of a box VI on any block is *the*
    solution; anything else is handed to the full VI solver, which decides uniqueness
    itself. The estimate (LAPACK ``dpocon`` on the Cholesky factor, ``O(m²)`` after the
    ``O(m³)`` factorization that decides definiteness) chooses between the incremental
    and the direct selection (see ``_INCREMENTAL_MAX_COND``).
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


def linf_steps(
    data: AffineData,
    x0: FloatArray,
    t0: float,
    t_end: float,
    opts: ExactOptions,
    rec: Recorder,
) -> Generator[None, None, Finished | Rest]:
    """Exact path for ``φ = ℓ∞`` (greedy coordinate flow: tie facets of any size).

    With ``opts.incremental`` (the default) and a symmetric positive definite ``G B`` of
    condition at most ``_INCREMENTAL_MAX_COND`` (the greedy flow of every strongly convex
    quadratic that is not near singular) the tie selection is kept by
    :class:`_SimplexTieSelector`, ``O(k²)`` per index that joins or leaves the tie;
    otherwise (and always with ``incremental=False``, the reference the tests compare
    with) each selection is solved from scratch by
    :func:`~filippov.selection.solve_simplex_vi`.
    """
    c0, B, G, e = data.c0, data.B, data.G, data.e
    m = G.shape[0]
    b_is_eye = B.shape[0] == B.shape[1] and np.array_equal(B, np.eye(B.shape[0]))
    GB = G if b_is_eye else G @ B  # the greedy flow has B = I: skip an O(n³) product
    Gc0 = G @ c0
    b_max = max(float(np.max(np.abs(B))), 1e-300)  # once: B is m × m (the identity)
    tie: _SimplexTieSelector | None = None
    gb_cond = _spd_condition(GB) if m >= 2 else None
    # Known SPD: the end-of-run precision check needs no factorization of its own (an SVD
    # and a least-squares solve of G B at rest on h = 0: 2 of 8 s of the d = 1000 run).
    rec.spd_condition = gb_cond
    if opts.incremental and gb_cond is not None and gb_cond <= _INCREMENTAL_MAX_COND:
        tie = _SimplexTieSelector(GB, Gc0)
    x = x0.copy()
    h = G @ x + e
    t = float(t0)
    h_scale = max(float(np.max(np.abs(h))), 1e-300)
    rel = opts.zero_tol

    def tie_set(hv: FloatArray) -> np.ndarray:
        hm = float(np.max(np.abs(hv)))
        return np.flatnonzero(np.abs(hv) >= hm - rel * max(hm, h_scale * rel))

    def select(
        A: np.ndarray, s: FloatArray, previous: np.ndarray | None = None
    ) -> tuple[FloatArray, np.ndarray, bool]:
        """Weights on the tie set ``A``, warm started from the ``previous`` support (a
        subset of ``A``): the active-set method then needs one or two KKT solves instead
        of growing the support one index per solve from a single vertex (``O(k)`` solves
        of up to ``k × k``: the greedy flow of a d = 200 quadratic spent most of its time
        there)."""
        rec.n_selection_solves += 1
        if tie is not None:
            return tie.select(A, s)
        if A.size == 1:
            return np.ones(1), np.ones(1, dtype=bool), True
        M = s[:, None] * GB[np.ix_(A, A)] * s[None, :]
        a = s * Gc0[A]
        warm = None if previous is None else np.searchsorted(A, previous)
        sel = solve_simplex_vi(M, a, warm_start=warm)
        w = np.asarray(sel.lam, dtype=float)
        return w, w > 0, bool(sel.unique)

    def at_zero(old_mode: Mode | None, note: str) -> Finished | Rest:
        """``h = 0``: the face is the whole ℓ1 ball. Stationary only if the consistent
        velocity there vanishes (always for gradient flows); anything else is a sliding
        motion on ``h = 0`` that this path does not integrate."""
        if not np.any(Gc0):
            # G c0 = 0 (every gradient flow): λ = 0 keeps h = 0 and is the only λ of ℓ1
            # norm 0, so it is the minimal-norm solution the linear program would return
            # (at d = 500 that program cost as much as the 2000 events before it).
            cv = ConsistentVelocity(c0.copy(), np.zeros(m), tuple(range(m)), None, True)
        else:
            cv = _ball_like_l1_at_zero(c0, B, G)
        mode0 = make_mode("linf", np.zeros(m), np.arange(m))
        if float(np.max(np.abs(cv.velocity))) <= 1e-12 * b_max:
            # At h = 0 every relay value is free: staying is the only solution only if GB
            # is a P-matrix (a strict minimum), as on every norm (see the event path).
            # (A symmetric positive definite G B is one: no eigenvalue test needed.)
            unique = gb_cond is not None or is_p_matrix(GB) is True
            return Rest(t, x, np.arange(m), old_mode, mode0, cv.lam, unique, note=note)
        return Finished(
            -4,
            f"h = 0 reached at t = {t:.12g} with a nonzero consistent velocity "
            f"{np.array2string(cv.velocity, precision=6)}: motion on h = 0 of the linf relay "
            "is not supported",
        )

    if float(np.max(np.abs(h))) == 0.0:
        return at_zero(None, "h = 0 at the start")

    A = tie_set(h)
    s = np.sign(h[A])
    w, support, unique = select(A, s)
    A, s, w = A[support], s[support], w[support]
    lam = np.zeros(m)
    lam[A] = s * w
    v = c0 - B @ lam
    r = Gc0 - GB @ lam
    sig = np.zeros(m)
    sig[A] = s
    mode = make_mode("linf", sig, A)
    if A.size > 1:
        rec.event(t, x, "tie-entry", A, None, mode, unique=unique, note="initial tie")
    # Indices the selection dropped from the tie at the current time, and those it dropped
    # there twice (they joined again after a zero-length segment). Why: on a near-singular
    # quadratic (condition ≥ 1e11) a dropped index's rate exceeds the tie's by rounding,
    # so its root is "now" again and again: an endless loop of zero-time tangencies, of
    # one index or alternating between two. So after a zero-length segment the indices
    # dropped at this time are selected again jointly with the arrivals, and the segments
    # leaving this time ignore the roots of those dropped twice. After a single drop the
    # rate may still be meaningfully off, so only a repeated drop is taken for rounding
    # (as in the ℓ1 loops).
    dropped_now: set[int] = set()
    ignored = np.empty(0, dtype=np.intp)

    while True:
        hm = float(np.mean(np.abs(h[A])))
        rate = float(np.mean(s * r[A]))  # common rate d|h_i|/dt on the tie set
        if float(np.max(np.abs(v))) <= 1e-13 * b_max:
            return Rest(t, x, A, mode, mode, lam)
        out = np.ones(m, dtype=bool)
        out[A] = False
        hj, rj = h[out], r[out]
        with np.errstate(divide="ignore", invalid="ignore"):
            # |h_j + r_j τ| = hm + rate τ on either branch of the absolute value. A root
            # counts only when h_j approaches that branch (so an index that just left the
            # tie, a rounding error above it and moving away, never rejoins at once); a
            # root a rounding error in the past is an immediate join.
            t_plus = np.where(rj - rate > 0, np.maximum((hm - hj) / (rj - rate), 0.0), np.inf)
            t_minus = np.where(rj + rate < 0, np.maximum((-hm - hj) / (rj + rate), 0.0), np.inf)
        t_plus = np.where(np.isfinite(t_plus), t_plus, np.inf)
        t_minus = np.where(np.isfinite(t_minus), t_minus, np.inf)
        tau_j = np.minimum(t_plus, t_minus)
        if ignored.size:
            tau_j[np.searchsorted(np.flatnonzero(out), ignored[out[ignored]])] = np.inf
        tau_tie = float(np.min(tau_j)) if tau_j.size else np.inf
        tau_zero = -hm / rate if rate < 0 else np.inf
        tau = min(tau_tie, tau_zero)
        if t + tau >= t_end:
            rec.linear_segment(t, t_end, x, v, mode, lam)
            return REACHED_END
        yield
        x = rec.linear_segment(t, t + tau, x, v, mode, lam)
        h = h + tau * r
        if t + tau != t:  # time moved (a positive τ below rounding of t does not count)
            dropped_now, ignored = set(), ignored[:0]
        t = t + tau
        old_mode = mode
        if tau_zero <= tau_tie:
            return at_zero(old_mode, "max |h| reached 0")
        joined = np.flatnonzero(out)[tau_j <= tau_tie + 1e-15 * max(1.0, abs(t))]
        if dropped_now:  # after a zero-length segment: decide them jointly (see above)
            joined = np.union1d(joined, np.fromiter(dropped_now, dtype=np.intp))
        hm_new = float(np.mean(np.abs(h[A])))
        h[A] = s * hm_new
        h[joined] = np.sign(h[joined]) * hm_new
        in_cand = np.zeros(m, dtype=bool)  # (a mask, not union1d: no sort of the tie)
        in_cand[A] = True
        in_cand[joined] = True
        A_cand = np.flatnonzero(in_cand)
        s_cand = np.sign(h[A_cand])
        w, support, unique = select(A_cand, s_cand, A)
        was_in = np.zeros(A_cand.size, dtype=bool)  # in the tie before this event
        was_in[np.searchsorted(A_cand, A)] = True
        A, s, w = A_cand[support], s_cand[support], w[support]
        new_lam = np.zeros(m)
        new_lam[A] = s * w
        changed = np.flatnonzero(new_lam != lam)
        dlam = new_lam[changed] - lam[changed]
        if tie is not None:  # every rate is new (the selector computed them all)
            r = tie.rates
            v = c0 - new_lam if b_is_eye else v - B[:, changed] @ dlam
        else:
            v = v - B[:, changed] @ dlam
            r = r - GB[:, changed] @ dlam
        lam = new_lam
        sig = np.zeros(m)
        sig[A] = s
        mode = make_mode("linf", sig, A)
        # (Masks on the candidates, not Python sets of the tie: at k ≈ 500 the sets cost
        # more than the selection.)
        dropped = set(joined[~support[np.searchsorted(A_cand, joined)]].tolist())
        ignored = np.union1d(ignored, np.fromiter(dropped & dropped_now, dtype=np.intp))
        dropped_now |= dropped
        entered = A_cand[support & ~was_in].tolist()
        left = A_cand[~support & was_in].tolist()
        if entered:
            kind = "tie-entry" if not left else "crossing"
            rec.event(t, x, kind, entered, old_mode, mode, unique=unique)
        elif joined.size:
            rec.event(t, x, "tangency", joined, old_mode, mode, unique=unique)
        if left:
            rec.event(t, x, "tie-exit", left, old_mode, mode, unique=unique)
