"""The exact path's sign-flow event step, compiled (numba; the optional extra ``fast``).

One event of the incremental ℓ1 sliding selection of a symmetric positive definite
``G B`` (:class:`~filippov.incremental_selection.SpdBoxSelector`, driven by
``_exact_path._advance_spd``) is a few BLAS calls on ``k²``-sized data and several dozen
small numpy operations; in Python the small operations (1–5 µs each) cost more than the
BLAS work (docs/exact_path_cost.rst). Here the whole common case of an event — advance
``h``, the joins, the box-VI pivoting with its rank-one updates of ``W``, the new rates,
the relays and the velocity, and the next event time and its arrivals — is one compiled
call. The rare cases (a refresh of ``W``, a pivoting that cycles or a block that stops
being positive definite, a residual above rounding) are handed back to the Python
methods, which work on the same arrays.

Bit for bit: every arithmetic operation is the one the Python code does, and every BLAS
call the same routine with the same arguments (scipy's BLAS through
``scipy.linalg.cython_blas``; numpy's own products were checked to give the same bits), so
the compiled and the pure path give identical solutions. Nothing here is imported by
``import filippov``: :func:`load` imports this module on the first compiled solve (the
first call then compiles the kernels, a few seconds; see docs/exact_path_cost.rst).

Layout of the integer state ``si`` (shared with the Python objects by
:meth:`~filippov.incremental_selection.SpdBoxSelector.compiled_join`): see the ``S_*``
constants.
"""

from __future__ import annotations

from typing import Any

import llvmlite.binding as llvm
import numba as nb
import numpy as np
from numba.extending import get_cython_function_address

__all__ = [
    "CODE_EMPTY",
    "CODE_FALLBACK",
    "CODE_OK",
    "CODE_REFINE",
    "event_step",
    "next_event",
]

_EPS = float(np.finfo(float).eps)
# Same constants as filippov.incremental_selection (passed in where they may change).
_MIN_SLACK = 16

# Integer state (int64 array).
S_NCALLS = 0
S_LAM_OK = 1
S_LAM_GEN = 2
S_CHECK_DUE = 3
S_CHECK_EVERY = 4
S_CLEAN = 5
S_CHECKED = 6
S_NCHECKED = 7
S_RATE_FLIP = 8
S_K = 9
S_NUPD = 10
S_GEN = 11
S_BACK_FLIP = 12
S_CAP = 13
S_N_ARRIVED = 14
S_N_BOUND = 15
S_N_CAND = 16
S_CAP_CHANGED = 17
S_SIZE = 18

#: The event is complete (rates, relays, velocity and the next event are set).
CODE_OK = 0
#: The pivoting cycled or a block stopped being PD: the direct solver must finish.
CODE_FALLBACK = 1
#: The checked residual is above rounding: refine (``float_out[0]`` is the tolerance).
CODE_REFINE = 2
#: The sliding set is empty: the rates are the drift.
CODE_EMPTY = 3


def _blas(name: str, restype: Any, nargs: int) -> Any:
    """scipy's BLAS routine ``name`` as an external function of the compiled code.

    (Bound by symbol name, not as a ctypes pointer: a ctypes pointer is a constant of one
    process, and numba would not cache the kernels.)"""
    symbol = f"filippov_spd_kernel_{name}"
    llvm.add_symbol(symbol, get_cython_function_address("scipy.linalg.cython_blas", name))
    return nb.types.ExternalFunction(symbol, restype(*([nb.types.voidptr] * nargs)))


_dsymv = _blas("dsymv", nb.types.void, 10)
_dsyr = _blas("dsyr", nb.types.void, 7)
_daxpy = _blas("daxpy", nb.types.void, 6)
_ddot = _blas("ddot", nb.types.float64, 5)
_dgemv = _blas("dgemv", nb.types.void, 11)

_jit = nb.njit(cache=True, nogil=True, error_model="numpy")


@_jit
def symv_lower(n: int, L: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    """``y = W x`` for ``W`` in the lower triangle of the C-contiguous ``n × n`` ``L``
    (the 'U' triangle of its Fortran transpose, as ``scipy.linalg.blas.dsymv(1, L.T, x)``)."""
    ib = np.empty(3, np.int32)
    ib[0] = 85  # 'U'
    ib[1] = n
    ib[2] = 1
    db = np.empty(2)
    db[0] = 1.0
    db[1] = 0.0
    _dsymv(
        ib[0:].ctypes,
        ib[1:].ctypes,
        db[0:].ctypes,
        L.ctypes,
        ib[1:].ctypes,
        x.ctypes,
        ib[2:].ctypes,
        db[1:].ctypes,
        y.ctypes,
        ib[2:].ctypes,
    )


@_jit
def syr_lower(n: int, alpha: float, u: np.ndarray, L: np.ndarray) -> None:
    """``L += alpha u uᵀ`` on the lower triangle (``dsyr`` as ``sym_rank_one``)."""
    ib = np.empty(3, np.int32)
    ib[0] = 85
    ib[1] = n
    ib[2] = 1
    db = np.empty(1)
    db[0] = alpha
    _dsyr(ib[0:].ctypes, ib[1:].ctypes, db.ctypes, u.ctypes, ib[2:].ctypes, L.ctypes, ib[1:].ctypes)


@_jit
def axpy(n: int, alpha: float, x: np.ndarray, y: np.ndarray) -> None:
    """``y[:n] += alpha x[:n]`` (``daxpy``)."""
    if n <= 0:
        return
    ib = np.empty(2, np.int32)
    ib[0] = n
    ib[1] = 1
    db = np.empty(1)
    db[0] = alpha
    _daxpy(ib[0:].ctypes, db.ctypes, x.ctypes, ib[1:].ctypes, y.ctypes, ib[1:].ctypes)


@_jit
def dot(n: int, x: np.ndarray, y: np.ndarray) -> float:
    """``x[:n] · y[:n]`` as numpy's ``@`` computes it (``0.0 +`` one ``ddot``)."""
    if n <= 0:
        return 0.0
    ib = np.empty(2, np.int32)
    ib[0] = n
    ib[1] = 1
    return 0.0 + _ddot(ib[0:].ctypes, x.ctypes, ib[1:].ctypes, y.ctypes, ib[1:].ctypes)


@_jit
def rows_dot(rows: int, cols: int, A: np.ndarray, lda: int, x: np.ndarray, y: np.ndarray) -> None:
    """``y[:rows] = A[:rows, :cols] @ x`` for a row-major ``A`` of row stride ``lda``, as
    numpy's matmul computes it (``dgemv('T')`` on its Fortran view; ``ddot`` for one row)."""
    if rows <= 0:
        return
    if cols <= 0:
        y[:rows] = 0.0
        return
    if rows == 1:  # numpy's matmul takes one row times a vector for a dot product
        y[0] = dot(cols, A, x)
        return
    ib = np.empty(4, np.int32)
    ib[0] = 84  # 'T'
    ib[1] = cols
    ib[2] = rows
    ib[3] = lda
    one = np.empty(3, np.int32)
    one[0] = 1
    db = np.empty(2)
    db[0] = 1.0
    db[1] = 0.0
    _dgemv(
        ib[0:].ctypes,
        ib[1:].ctypes,
        ib[2:].ctypes,
        db[0:].ctypes,
        A.ctypes,
        ib[3:].ctypes,
        x.ctypes,
        one.ctypes,
        db[1:].ctypes,
        y.ctypes,
        one.ctypes,
    )


# -- the block (InverseBlock) ---------------------------------------------------------------


@_jit
def _capacity_for(m: int, k: int) -> int:
    return min(m, k + max(_MIN_SLACK, k // 8))


@_jit
def _swap(
    P: np.ndarray,
    perm: np.ndarray,
    pos: np.ndarray,
    sig: np.ndarray,
    rho: np.ndarray,
    hp: np.ndarray,
    a: int,
    b: int,
) -> None:
    """Exchange positions ``a`` and ``b`` (``InverseBlock._swap``: pure data movement)."""
    if a == b:
        return
    m = P.shape[0]
    for j in range(m):
        tmp = P[a, j]
        P[a, j] = P[b, j]
        P[b, j] = tmp
    for i in range(m):
        tmp = P[i, a]
        P[i, a] = P[i, b]
        P[i, b] = tmp
    ia = perm[a]
    ib = perm[b]
    perm[a] = ib
    perm[b] = ia
    pos[ia] = b
    pos[ib] = a
    for vec in (sig, rho, hp):
        tmp = vec[a]
        vec[a] = vec[b]
        vec[b] = tmp


@_jit
def _set_capacity(
    L: np.ndarray, cap: int, si: np.ndarray, back0: np.ndarray, back1: np.ndarray
) -> np.ndarray:
    """``InverseBlock._set_capacity``: ``W`` moved into a ``cap × cap`` view of the other
    backing array (both are ``m²`` long here: the caller allocates them); returns it."""
    k = si[S_K]
    flip = si[S_BACK_FLIP] ^ 1
    si[S_BACK_FLIP] = flip
    si[S_CAP] = cap
    si[S_CAP_CHANGED] = 1
    back = back1 if flip else back0
    new = back[: cap * cap].reshape((cap, cap))
    new[:k, :k] = L[:k, :k]
    new[:k, k:] = 0.0
    new[k:, :] = 0.0
    return new


# -- the selector (SpdBoxSelector) ----------------------------------------------------------


@_jit
def _lam_valid(si: np.ndarray) -> bool:
    return si[S_LAM_OK] != 0 and si[S_LAM_GEN] == si[S_GEN]


@_jit
def _lam_current(L: np.ndarray, rho: np.ndarray, lam: np.ndarray, si: np.ndarray) -> None:
    if not _lam_valid(si):
        lam[:] = 0.0
        C = L.shape[0]
        if C > 0:
            symv_lower(C, L, rho, lam)
        si[S_LAM_OK] = 1
        si[S_LAM_GEN] = si[S_GEN]


@_jit
def _fix(
    P: np.ndarray,
    pos: np.ndarray,
    sig: np.ndarray,
    rho: np.ndarray,
    lam: np.ndarray,
    si: np.ndarray,
    j: int,
    value: float,
) -> None:
    p = pos[j]
    delta = value - sig[p]
    if delta != 0.0:
        axpy(P.shape[0], -delta, P[p], rho)
        sig[p] = value
        if p < si[S_K] and _lam_valid(si):
            lam[p] -= delta
        else:
            si[S_LAM_OK] = 0


@_jit
def _insert(
    P: np.ndarray, perm: np.ndarray, pos: np.ndarray, sig: np.ndarray, rho: np.ndarray, hp: np.ndarray, lam: np.ndarray, L: np.ndarray,
    back0: np.ndarray, back1: np.ndarray, si: np.ndarray, i: int, small_schur: float,
) -> tuple[bool, np.ndarray]:  # fmt: skip
    """``SpdBoxSelector._insert`` (with ``InverseBlock.insert``); returns
    ``(ok, L)``, ``ok`` False where Python raises ``LinAlgError``."""
    valid = _lam_valid(si)
    m = P.shape[0]
    k = si[S_K]
    if k + 1 > L.shape[0]:
        L = _set_capacity(L, _capacity_for(m, k + 1), si, back0, back1)
    _swap(P, perm, pos, sig, rho, hp, k, pos[i])
    C = L.shape[0]
    mi = P[k, :C]
    u = np.zeros(C)
    symv_lower(C, L, mi, u)
    pkk = P[k, k]
    s = pkk - dot(k, mi, u)
    if not s > 1e3 * _EPS * abs(pkk):
        return False, L
    u[k] = -1.0
    syr_lower(C, 1.0 / s, u, L)
    si[S_K] = k + 1
    si[S_NUPD] += 1
    if s < small_schur * abs(P[k, k]):
        si[S_CHECK_DUE] = 1
    if valid:
        axpy(C, dot(C, u, rho) / s, u, lam)
    return True, L


@_jit
def _delete(
    P: np.ndarray, perm: np.ndarray, pos: np.ndarray, sig: np.ndarray, rho: np.ndarray, hp: np.ndarray, lam: np.ndarray, L: np.ndarray,
    back0: np.ndarray, back1: np.ndarray, si: np.ndarray, i: int,
) -> np.ndarray:  # fmt: skip
    """``SpdBoxSelector._delete`` (with ``InverseBlock.delete``); returns ``L``."""
    valid = _lam_valid(si)
    m = P.shape[0]
    p = pos[i]
    q = si[S_K] - 1
    C = L.shape[0]
    w = np.empty(C)
    w[: p + 1] = L[p, : p + 1]
    w[p + 1 :] = L[p + 1 :, p]
    beta = w[p]
    syr_lower(C, -1.0 / beta, w, L)
    L[p, : p + 1] = 0.0
    L[p + 1 :, p] = 0.0
    if p < q:
        last = L[q, : q + 1].copy()
        L[q, : q + 1] = 0.0
        L[p, :p] = last[:p]
        L[p, p] = last[q]
        L[p + 1 : q, p] = last[p + 1 : q]
        _swap(P, perm, pos, sig, rho, hp, p, q)
    si[S_K] = q
    si[S_NUPD] += 1
    if _capacity_for(m, q) + _MIN_SLACK < C:
        L = _set_capacity(L, _capacity_for(m, q), si, back0, back1)
    if valid:
        axpy(C, -lam[p] / beta, w, lam)
        lam[p] = 0.0
        if p < q:
            lam[p] = lam[q]
            lam[q] = 0.0
    return L


@_jit
def _pivot(
    P: np.ndarray, perm: np.ndarray, pos: np.ndarray, sig: np.ndarray, rho: np.ndarray, hp: np.ndarray, lam: np.ndarray, L: np.ndarray,
    back0: np.ndarray, back1: np.ndarray, si: np.ndarray, cand: np.ndarray, tol_lam: float, rowsum: float,
    small_schur: float, bound_idx: np.ndarray, bound_side: np.ndarray,
) -> tuple[int, np.ndarray]:  # fmt: skip
    """``SpdBoxSelector._pivot``: returns ``(nbound, L)``, ``nbound`` the
    number of bound indices (in ``bound_idx``/``bound_side``, in the dict's order), −1
    when the pivoting cycles or runs out of steps, −2 where Python raises ``LinAlgError``."""
    tol_w = -1.0
    nbound = 0
    seen = [np.zeros(0, np.int64)]
    seen.pop()
    ups = np.empty(cand.size, np.int64)
    los = np.empty(cand.size, np.int64)
    leaves = np.empty(cand.size + 1, np.int64)
    for _ in range(4 * cand.size + 10):
        k = si[S_K]
        _lam_current(L, rho, lam, si)
        nup = 0
        nlo = 0
        for p in range(k):
            if abs(lam[p]) > 1.0 + tol_lam:
                if lam[p] > 0.0:
                    ups[nup] = perm[p]
                    nup += 1
                elif lam[p] < 0.0:
                    los[nlo] = perm[p]
                    nlo += 1
        nleave = 0
        if nbound:
            if tol_w < 0.0:
                rho_max = 0.0
                for c in cand:
                    rho_max = max(rho_max, abs(rho[pos[c]]))
                tol_w = tol_lam * (rho_max + rowsum)
            rows = np.empty((nbound, k))
            for b in range(nbound):
                rows[b, :] = P[pos[bound_idx[b]], :k]
            prod = np.zeros(nbound)
            if k:
                rows_dot(nbound, k, rows, k, lam, prod)
            for b in range(nbound):
                w = rho[pos[bound_idx[b]]] - prod[b]
                side = bound_side[b]
                if (side > 0.0 and w < -tol_w) or (side < 0.0 and w > tol_w):
                    leaves[nleave] = bound_idx[b]
                    nleave += 1
        if nup == 0 and nlo == 0 and nleave == 0:
            return nbound, L
        key = np.empty(nbound, np.int64)
        for b in range(nbound):
            key[b] = 2 * bound_idx[b] + (1 if bound_side[b] > 0.0 else 0)
        key.sort()
        for old in seen:
            if old.size == key.size and np.all(old == key):
                return -1, L
        seen.append(key)
        for side_pass in range(2):
            side = 1.0 if side_pass == 0 else -1.0
            nj = nup if side_pass == 0 else nlo
            for a in range(nj):
                j = ups[a] if side_pass == 0 else los[a]
                _fix(P, pos, sig, rho, lam, si, j, side)
                L = _delete(P, perm, pos, sig, rho, hp, lam, L, back0, back1, si, j)
                bound_idx[nbound] = j
                bound_side[nbound] = side
                nbound += 1
        for a in range(nleave):
            j = leaves[a]
            at = 0
            while bound_idx[at] != j:
                at += 1
            for b in range(at, nbound - 1):
                bound_idx[b] = bound_idx[b + 1]
                bound_side[b] = bound_side[b + 1]
            nbound -= 1
            ok, L = _insert(P, perm, pos, sig, rho, hp, lam, L, back0, back1, si, j, small_schur)
            if not ok:
                return -2, L
            _fix(P, pos, sig, rho, lam, si, j, 0.0)
    return -1, L


@_jit
def _rates_for(
    P: np.ndarray,
    rho: np.ndarray,
    lam: np.ndarray,
    k: int,
    rates: np.ndarray,
    scratch: np.ndarray,
    with_residual: bool,
) -> None:
    """``SpdBoxSelector._rates_for`` into ``rates`` (the buffer chosen by the caller)."""
    m = P.shape[0]
    if with_residual:
        rows_dot(m, k, P, m, lam, scratch)
        for p in range(m):
            rates[p] = rho[p] - scratch[p]
    else:
        rows_dot(m - k, k, P[k:], m, lam, scratch[k:])
        for p in range(k, m):
            rates[p] = rho[p] - scratch[p]
        rates[:k] = 0.0


@_jit
def next_event(
    sig: np.ndarray,
    rates: np.ndarray,
    hp: np.ndarray,
    perm: np.ndarray,
    k: int,
    t: float,
    arrived: np.ndarray,
) -> tuple[float, int]:
    """The time to the next event (the smallest root of the approaching free functions,
    ``inf`` if none) and the indices arriving then, sorted, in ``arrived``; returns
    ``(tau, count)``. The arrivals are those within ``1e-15 max(1, |t_new|)`` of the root,
    with ``t_new = t + max(τ, 0)`` (as ``_advance_spd`` reads them after the segment)."""
    m = hp.size
    tau = np.inf
    for p in range(k, m):
        if sig[p] * rates[p] < 0.0:
            ta = -hp[p] / rates[p]
            if ta < tau:
                tau = ta
    n = 0
    if tau < np.inf:
        step = max(tau, 0.0)
        thr = step + 1e-15 * max(1.0, abs(t + step))
        for p in range(k, m):
            if sig[p] * rates[p] < 0.0 and -hp[p] / rates[p] <= thr:
                arrived[n] = perm[p]
                n += 1
        if n > 1:
            arrived[:n].sort()
    return tau, n


@_jit
def event_step(
    P: np.ndarray, perm: np.ndarray, pos: np.ndarray, sig: np.ndarray, rho: np.ndarray, hp: np.ndarray, lam: np.ndarray, Gc0: np.ndarray, c0: np.ndarray,
    L: np.ndarray, back0: np.ndarray, back1: np.ndarray, si: np.ndarray, rates0: np.ndarray, rates1: np.ndarray, scratch: np.ndarray,
    r_old: np.ndarray, tau: float, advance_h: bool, joins: np.ndarray, zero_length: bool, t_new: float,
    tol_lam: float, rowsum: float, small_schur: float, check_every_relaxed: int,
    clean_streak: int, resync: int, cand_out: np.ndarray, bound_idx: np.ndarray, bound_side: np.ndarray,
    lam_out: np.ndarray, v_out: np.ndarray, arrived: np.ndarray, float_out: np.ndarray,
) -> int:  # fmt: skip
    """One event of ``_advance_spd`` after its segment: ``h += τ r`` (``advance_h``), the
    functions ``joins`` (the arrivals, and those selected again) on their manifolds, the
    selection (``SpdBoxSelector.join``), and — when it completes (``CODE_OK``) — the
    relays and velocity in the original order (``lam_out``, ``v_out``, for ``B = I``),
    the bound candidates held off their manifolds after a zero-length segment, and the
    next event (``float_out[1]`` its τ, ``float_out[2]`` the largest ``|v|``, its arrivals
    in ``arrived``).

    Returns the code; the counts of candidates, bound indices and arrivals are in ``si``,
    and ``W``'s buffer is ``back0`` or ``back1`` (``si[S_BACK_FLIP]``) of size ``si[S_CAP]``.
    """
    m = P.shape[0]
    if advance_h:
        axpy(m, tau, r_old, hp)
    k = si[S_K]
    for i in joins:
        hp[pos[i]] = 0.0
    hp[:k] = 0.0
    # SpdBoxSelector.join
    si[S_NCALLS] += 1
    n_calls = si[S_NCALLS]
    ncand = 0
    for p in range(k):
        cand_out[ncand] = perm[p]
        ncand += 1
    for i in joins:
        cand_out[ncand] = i
        ncand += 1
    cand = cand_out[:ncand]
    si[S_N_CAND] = ncand
    si[S_N_BOUND] = 0
    free_joins = True
    if n_calls % resync == 0:
        for c in cand:
            sig[pos[c]] = 0.0
        rows_dot(m, m, P, m, sig, scratch)
        for p in range(m):
            rho[p] = Gc0[perm[p]] - scratch[p]
        si[S_LAM_OK] = 0
        free_joins = False
    # _solve_with (the refresh of W every REFRESH selections is left to Python)
    for i in joins:
        ok, L = _insert(P, perm, pos, sig, rho, hp, lam, L, back0, back1, si, i, small_schur)
        if not ok:
            return CODE_FALLBACK
    if free_joins:
        for j in joins:
            _fix(P, pos, sig, rho, lam, si, j, 0.0)
    nbound, L = _pivot(
        P, perm, pos, sig, rho, hp, lam, L, back0, back1, si, cand, tol_lam, rowsum,
        small_schur, bound_idx, bound_side,
    )  # fmt: skip
    if nbound < 0:
        return CODE_FALLBACK
    si[S_N_BOUND] = nbound
    # _solve_checked
    k = si[S_K]
    _lam_current(L, rho, lam, si)
    checked = k == 0 or si[S_CHECK_DUE] != 0 or n_calls % si[S_CHECK_EVERY] == 0
    si[S_CHECKED] = 1 if checked else 0
    if k == 0:
        return CODE_EMPTY
    flip = si[S_RATE_FLIP] ^ 1
    si[S_RATE_FLIP] = flip
    rates = rates1 if flip else rates0
    if checked:
        si[S_NCHECKED] += 1
        si[S_CHECK_DUE] = 0
        si[S_CLEAN] += 1
        if si[S_CLEAN] >= clean_streak:
            si[S_CHECK_EVERY] = check_every_relaxed
        _rates_for(P, rho, lam, k, rates, scratch, True)
        rho_max = 0.0
        lam_max = 0.0
        res_max = 0.0
        for p in range(k):
            rho_max = max(rho_max, abs(rho[p]))
            lam_max = max(lam_max, abs(lam[p]))
            res_max = max(res_max, abs(rates[p]))
        tol_res = 4 * _EPS * (rho_max + rowsum * lam_max)
        if res_max > tol_res:
            float_out[0] = tol_res
            return CODE_REFINE
        rates[:k] = 0.0
    else:
        _rates_for(P, rho, lam, k, rates, scratch, False)
    # _advance_spd: relays and velocity in the original order (B = I), the bound
    # candidates held off their manifolds after a zero-length segment, the next event.
    vmax = 0.0
    for i in range(m):
        p = pos[i]
        value = lam[p] if p < k else sig[p]
        lam_out[i] = value
        v = c0[i] - value
        v_out[i] = v
        vmax = max(vmax, abs(v))
    if zero_length:
        for b in range(nbound):
            p = pos[bound_idx[b]]
            if sig[p] * rates[p] < 0.0:
                rates[p] = 0.0
    tau_next, narrived = next_event(sig, rates, hp, perm, k, t_new, arrived)
    float_out[1] = tau_next
    float_out[2] = vmax
    si[S_N_ARRIVED] = narrived
    return CODE_OK
