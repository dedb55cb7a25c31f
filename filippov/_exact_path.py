"""The exact path: piecewise-affine systems integrated event to event in closed form.

For ``x' ∈ c0 − B ∂φ(G x + e)`` with ``φ = ℓ1`` or ``ℓ∞`` the relay values are constant in
each mode, so the state moves on a straight line and every switching function is affine in
time. The next event is the smallest positive root of a set of linear functions, and the
selection problem is re-solved only at events (docs/theory.rst, "The exact path";
docs/design.rst, "The integration paths").

Cost per event (ℓ1 relays with a symmetric positive definite ``G B``: the sign flow of every
strongly convex quadratic; docs/exact_path_cost.rst has the profile): the sliding selection
is kept incrementally by :class:`~filippov.incremental_selection.SpdBoxSelector` (the
linear algebra lives in :mod:`filippov.incremental_selection`, the event loops here) —
the inverse of ``G B`` on the sliding set is updated in ``O(k²)``
per index that joins or leaves (``k`` sliding indices), the box VI is warm started from the
previous sliding set, and the new rates cost one product with the ``(m − k) × k`` block
coupling the free to the sliding indices (BLAS, on a permuted copy of ``G B`` that keeps the
sliding set first). Before this the selection was re-solved from scratch at every event
(``O(k³)``), and a d = 500 rotated quadratic took 7.2 s; the sign flow of the d = 1000
benchmark quadratic (3720 events) took 2.9 s with a first incremental version and then
0.8–1.4 s on one BLAS thread on the two-core benchmark machine, whose speed drifts (see
``benchmarks/``). With numba installed each of its events is one compiled call
(:mod:`filippov._spd_kernel`, ``ExactOptions(compiled=...)``), with the same solution bit
for bit: about 1.5 dense matrix–vector products per event instead of 2.5. The solutions are checked by their residual (at every selection until a
long run of checks needed no refinement, then every few selections and always before a
long segment) and refined when needed, so the path stays exact to rounding;
``incremental=False`` keeps the direct solve as the reference the tests compare with
(identical events and modes, states to 1e-12); it is also what runs when ``G B`` is too
ill-conditioned for a kept inverse (condition above ``_INCREMENTAL_MAX_COND``).
Other systems: the rates and the velocity are updated from the changed relay values
(``O((n + m) k)``) and the selection is solved on the candidate block, falling back to the
exact VI solver when a multiplier reaches its bound. ``h`` and ``r`` are re-synchronised
from scratch every ``RESYNC`` events so rounding cannot accumulate.
"""

from __future__ import annotations

import bisect
import contextlib
import importlib
import warnings
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg.blas import daxpy as _daxpy

from filippov._certify import component_scales, initial_zero_rtol
from filippov._event_path import scalar_linf_as_l1
from filippov._mode_field import LEAST_NORM_SLIDING_NOTE
from filippov._recorder import Recorder, make_mode, record_l1_transition, record_tie_change
from filippov._rest import record_initial_leave, rest_is_unique
from filippov._validation import FloatArray, user_stacklevel
from filippov.engine.protocol import (
    REACHED_END,
    Finished,
    Rest,
    SteppedPath,
    cyclic_gc_paused,
    serial_blas,
)
from filippov.incremental_selection import (
    RESYNC,
    KernelWork,
    SimplexTieSelector,
    SpdBoxSelector,
    spd_condition,
)
from filippov.selection import is_p_matrix, solve_box_vi, solve_simplex_vi
from filippov.solution import Mode
from filippov.systems import AffineData, ConsistentVelocity, FilippovSystem, ball_like_l1_at_zero

_new = object.__new__
_empty = np.empty

#: A segment longer than this fraction of ``t_span`` starts with a checked (and refined)
#: selection (see :class:`~filippov.incremental_selection.SpdBoxSelector`): it would
#: integrate any error in λ.
_LONG_SEGMENT = 0.01
#: The incremental selection is used up to this condition number of ``G B`` (1-norm
#: estimate), the direct solve on each block beyond. Why: even with iterative refinement
#: (see ``incremental_selection.SpdBoxSelector._refine``) an inverse kept through
#: thousands of rank-one updates loses to a fresh factorization once ``cond · eps`` nears
#: 1e-6: on 40 random sign flows per decade of condition (d = 5…40) the incremental
#: path's final gradient was within 13× of the direct path's (median 2–3×) up to
#: condition 1e10, and up to 8e4× worse between 1e10 and 1e11.
_INCREMENTAL_MAX_COND = 1e10
#: ``ExactOptions(compiled=None)`` runs the compiled event step from this many switching
#: functions on. Why not lower: a process's first compiled solve pays ~0.4 s (numba's
#: import, the kernels loaded from numba's cache; ~20 s once when the cache is cold),
#: about what the kernel saves over one d = 1000 sign flow (0.75 s → 0.45 s).
_COMPILED_MIN_M = 1000


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
    compiled : bool or None
        Run each event of the incremental sign-flow loop (``G B`` symmetric positive
        definite, ``B = I``) as one compiled call (:mod:`filippov._spd_kernel`, needs numba:
        ``pip install filippov[fast]``); the solution is the same bit for bit. ``None``
        (the default) does so from ``_COMPILED_MIN_M`` switching functions on, when numba
        is installed; ``True`` whenever numba is installed (without it: a
        ``UserWarning``, and the numpy loop runs); ``False`` never (the numpy loop). The first compiled run of a process pays numba's import and the loading
        of the kernels from numba's cache, about 0.4 s (their compilation, about 20 s,
        when the cache is cold: once per installation).
    """

    zero_tol: float = 1e-12
    incremental: bool = True
    compiled: bool | None = None

    def __post_init__(self) -> None:
        # The switches are read with `is`: a truthy stand-in (0, "no") would silently
        # choose the other branch, so refuse anything but bool (and None for compiled).
        if not isinstance(self.incremental, bool):
            raise TypeError(
                f"`incremental` must be True or False. Got {self.incremental!r} instead."
            )
        if self.compiled is not None and not isinstance(self.compiled, bool):
            raise TypeError(
                f"`compiled` must be True, False or None. Got {self.compiled!r} instead."
            )
        zero_tol = float(self.zero_tol)
        if not (np.isfinite(zero_tol) and zero_tol >= 0.0):
            raise ValueError(
                f"`zero_tol` must be finite and non-negative. Got {self.zero_tol!r} instead."
            )


def _is_identity(B: FloatArray) -> bool:
    """Whether ``B`` is the identity matrix exactly (as ``np.array_equal(B, np.eye(n))``).

    Its diagonal all ones and nothing else nonzero (a NaN counts as nonzero): one pass
    over ``B`` without building the ``n × n`` identity (~2 ms at n = 1000, per solve).

    Examples
    --------
    >>> import numpy as np
    >>> _is_identity(np.eye(3)), _is_identity(np.diag([1.0, 2.0])), _is_identity(np.ones((1, 2)))
    (True, False, False)
    """
    n = B.shape[0]
    if B.ndim != 2 or B.shape[1] != n:
        return False
    return bool(np.all(np.diagonal(B) == 1.0)) and int(np.count_nonzero(B)) == n


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
        stack.enter_context(serial_blas())
        stack.enter_context(cyclic_gc_paused())
        return stack

    def steps(self) -> Generator[None, None, Finished | Rest]:
        data = self.system.affine_data
        args = (data, self.x0, 0.0, self.horizon, self.options)
        if self.system.norm.name == "l1":
            return (yield from l1_steps(*args, self.recorder))
        if data.G.shape[0] == 1:
            # One switching function: ∂‖·‖∞ = ∂|·| = ∂‖·‖₁, and h = 0 is a surface to
            # cross or slide on, which the ℓ∞ loop treats as a tie's rest set (see
            # `filippov._event_path.l1_twin`): the ℓ1 loop, its modes named as ℓ∞ ones.
            return (
                yield from scalar_linf_as_l1(lambda named: l1_steps(*args, named), self.recorder)
            )
        return (yield from linf_steps(*args, self.recorder))


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
    :class:`~filippov.incremental_selection.SpdBoxSelector` in ``O(k²)`` per changed
    index; otherwise (and always with ``incremental=False``, kept as the reference the
    tests compare with) each selection is solved directly on its block.
    """
    c0, B, G, e = data.c0, data.B, data.G, data.e
    m = G.shape[0]
    b_is_eye = _is_identity(B)
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
    gb_cond = spd_condition(GB) if m > 0 else None
    rec.spd_condition = gb_cond
    gb_pd = gb_cond is not None
    # Positive definite beyond what double precision resolves (duplicated features without
    # a ridge: Cholesky passed on a block singular in exact arithmetic, its condition
    # estimate 2e16): every block's selection is not unique then, and says so -- the
    # sign flow of ½(x0 + x1)² + ½(x0 + x1 + x2)² reported its split of the motion
    # between x0 and x1 (the least-norm one) unique, where the event path flags it.
    # (singular to rounding, its condition beyond 1/(m·eps); not merely beyond MAX_CONDITION:
    # a regular block of condition 8e13 is not a choice among solutions, and was flagged)
    gb_determined = gb_cond is not None and gb_cond * m * np.finfo(float).eps < 1.0
    spd = (
        SpdBoxSelector(GB, Gc0)
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
            if gb_determined and np.all(np.abs(lam_c) < 1.0 - 1e-12):
                return lam_c, np.ones(cand.size, dtype=bool), True
        except np.linalg.LinAlgError:
            pass
        sel = solve_box_vi(M, a)
        interior = np.zeros(cand.size, dtype=bool)
        interior[np.asarray(sel.interior, dtype=int)] = True
        # A symmetric positive definite G B makes every block a P-matrix, so the solution
        # is unique even where the solver, on a near-singular block, cannot prove it.
        unique = bool(sel.unique) or gb_determined
        if not unique and interior.any() and (gb_pd or _semidefinite_to_rounding(M)):
            rec.info.setdefault(
                "least_norm_sliding",
                {
                    "t": float(rec.t[-1]),
                    "indices": int(np.count_nonzero(interior)),
                    "condition": float(gb_cond) if gb_cond is not None else None,
                    "note": LEAST_NORM_SLIDING_NOTE,
                },
            )
        return np.asarray(sel.lam, dtype=float), interior, unique

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
    kernel = _compiled_kernel(opts, m) if spd is not None and b_is_eye else None
    if spd is not None and kernel is not None:
        return (
            yield from _advance_spd_compiled(
                kernel,
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
                rec,
                vtol,
                full_slide_is_rest,
            )
        )
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
        if since_resync >= RESYNC:
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
        free_now = np.flatnonzero(~in_cand)
        if free_now.size and free_now.size < m:
            # Every free h_i at its rounding (64 ulps of its terms, as h(x0) = 0 is read):
            # all of them arrive with the others, and the selection decides. On a
            # quadratic with a line of minimizers the sign flow's last free partial sat at
            # 3e-14 with rate 0 when the others had arrived, and the run went on along the
            # valley at unit speed, to t_end (status 0, nothing flagged), where the event
            # and continuation paths rest (as `_continuation_path` does at such an event).
            h_free = G[free_now] @ x + e[free_now]
            floor = initial_zero_rtol(opts.zero_tol) * component_scales(G[free_now], x, e[free_now])
            if bool(np.all(np.abs(h_free) <= floor)):
                h[free_now] = 0.0
                in_cand[free_now] = True
                sigma[free_now] = 0.0
                arrived = np.union1d(arrived, free_now)
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


def _semidefinite_to_rounding(M: FloatArray) -> bool:
    """Whether the symmetric ``M`` is positive semidefinite to rounding (its smallest
    eigenvalue at least ``−k·eps`` of its largest): a singular sliding block whose
    selection is a choice among solutions (a sign flow's Hessian with a null space of two
    or more dimensions fails Cholesky, where one of one passes it by rounding)."""
    if M.size == 0 or not np.array_equal(M, M.T):
        return False
    eig = np.linalg.eigvalsh(M)
    top = float(np.max(np.abs(eig)))
    return bool(eig[0] >= -M.shape[0] * np.finfo(float).eps * top)


def _advance_spd(
    spd: SpdBoxSelector,
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
        if since_resync >= RESYNC:
            h_p[:] = (G @ x + e)[perm]
            since_resync = 0
        h_p[arrived_p] = 0.0
        h_p[:k] = 0.0
        arrived = sorted(perm[arrived_p].tolist())  # (usually one: no numpy sort)
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
        mode = _record_spd_event(rec, t, x, arrived, again, bound, signs, free_sorted, old_mode)


def _compiled_kernel(opts: ExactOptions, m: int) -> Any | None:
    """:mod:`filippov._spd_kernel` if ``opts.compiled`` asks for it (``None``: from
    ``_COMPILED_MIN_M`` switching functions on) and numba is installed, else None."""
    if opts.compiled is False or (opts.compiled is None and m < _COMPILED_MIN_M):
        return None
    try:
        return importlib.import_module("filippov._spd_kernel")
    except ImportError as exc:  # numba is not installed: the numpy loop runs
        if opts.compiled:
            # Asked for explicitly: say why it is not used (the results are the same).
            warnings.warn(
                f"ExactOptions(compiled=True) needs numba ({exc}); install it with "
                "`pip install 'filippov[fast]'`. The numpy loop runs instead (the same "
                "solution, slower).",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        return None


def _advance_spd_compiled(
    kernel: Any,
    spd: SpdBoxSelector,
    data: AffineData,
    t: float,
    t0: float,
    t_end: float,
    x: FloatArray,
    h: FloatArray,
    lam: FloatArray,
    v: FloatArray,
    mode: Mode,
    rec: Recorder,
    vtol: float,
    full_slide_is_rest: bool,
) -> Generator[None, None, Finished | Rest]:
    """:func:`_advance_spd` (``B = I``) with each event's arithmetic in one compiled call
    (:func:`filippov._spd_kernel.event_step`): the same operations in the same order, so
    the same solution bit for bit; the Python part of an event is what is recorded (the
    segment, the mode, the events) and the rare steps the kernel hands back (see
    :meth:`~filippov.incremental_selection.SpdBoxSelector.compiled_event`)."""
    c0, G, e = data.c0, data.G, data.e
    m = G.shape[0]
    blk = spd.block
    perm, sig = blk.perm, spd.sig  # updated in place by the selector
    h_p = h[perm]
    h_p[: blk.k] = 0.0
    blk.position_vectors.append(h_p)
    if blk.position_vectors != [spd.sig, spd.rho, h_p]:  # pragma: no cover - the kernel's swap
        raise RuntimeError("exact path: unexpected position vectors for the compiled step")
    work = KernelWork(m)
    spd.prepare_compiled()
    r_p = spd.rates_p
    signs = list(mode.signs)
    free_sorted = list(mode.free)
    since_resync = 0
    span = max(t_end - t0, 0.0)
    held: set[int] = set()  # see _advance_spd
    tau, n_arrived = kernel.next_event(sig, r_p, h_p, perm, blk.k, t, work.arrived)
    vmax = float(np.abs(v).max())
    long_segment = _LONG_SEGMENT * span
    arrivals = work.arrived
    while True:
        if full_slide_is_rest and blk.k == m:
            v = np.zeros_like(v)
            vmax = 0.0
        if vmax <= vtol:
            return Rest(t, x, free_sorted, mode, mode, lam)
        if not spd.checked and min(tau, t_end - t) > long_segment:
            # A long segment integrates any error in λ: check this selection first.
            spd.check_now()
            r_p = spd.rates_p
            lam, v = _spd_lam_v(spd, perm, c0, data.B, True)
            vmax = float(np.abs(v).max())
            tau, n_arrived = kernel.next_event(sig, r_p, h_p, perm, blk.k, t, work.arrived)
            continue
        if t + tau >= t_end:
            rec.linear_segment(t, t_end, x, v, mode, lam)
            return REACHED_END
        yield
        tau = max(tau, 0.0)
        t_new = t + tau
        joins = arrivals[:n_arrived]
        arrived = joins.tolist()  # (sorted)
        x = rec.linear_segment(t, t_new, x, v, mode, lam)
        t_old, t = t, t_new
        since_resync += 1
        advance_h = since_resync < RESYNC
        if not advance_h:  # h from scratch (the kernel would add τ r to it first)
            h_p[:] = (G @ x + e)[perm]
            since_resync = 0
        again = sorted(held.difference(arrived)) if held and t_new == t_old else []
        if again:
            joins = np.array(arrived + again)
        elif held:
            held = set()
        old_mode = mode
        rec.n_selection_solves += 1
        work.lam = _empty(m)
        work.v = _empty(m)
        bound, complete = spd.compiled_event(
            kernel, h_p, r_p, tau, advance_h, joins, t == t_old, t, c0, work
        )
        r_p = spd.rates_p
        if complete:
            lam, v = work.lam, work.v
            lam.setflags(write=False)
            v.setflags(write=False)
            tau, vmax = work.floats[1:].tolist()
            n_arrived = work.n_arrived
        else:
            lam, v = _spd_lam_v(spd, perm, c0, data.B, True)
            vmax = float(np.abs(v).max())
        if bound is None:  # the pivoting gave way to the direct solver: read the relays
            sigma = np.empty(m)
            sigma[perm] = sig
            cand = free_sorted + arrived + again  # the sliding set before this event
            bound = {i: float(sigma[i]) for i in cand if sigma[i] != 0.0}
        if bound:
            if t == t_old and not complete:  # (the kernel held them when it completed)
                _hold_bound_off_their_manifolds(r_p, blk.pos[list(bound)], sig)
            held.update(bound)
        if held:  # (the arrivals and those selected again that slide now)
            held.difference_update(i for i in arrived + again if i not in bound)
        if not complete:
            tau, n_arrived = kernel.next_event(sig, r_p, h_p, perm, blk.k, t, work.arrived)
        mode = _record_spd_event(rec, t, x, arrived, again, bound, signs, free_sorted, old_mode)


def _record_spd_event(
    rec: Recorder,
    t: float,
    x: FloatArray,
    arrived: list[int],
    again: list[int],
    bound: dict[int, float],
    signs: list[int],
    free_sorted: list[int],
    old_mode: Mode,
) -> Mode:
    """The new mode of an event of the incremental loops, and its events recorded;
    ``signs`` and ``free_sorted`` are patched in place."""
    # The mode's sign tuple is rebuilt from a list patched where the relays changed
    # (a handful per event; converting all m of them again cost ~30 µs per event), and
    # the event is classified from what the pivoting bound: an arrival it kept is a
    # sliding entry, one it bound is a crossing (opposite side) or a tangency, and a
    # bound sliding index is an exit. (`record_l1_transition` finds the same by
    # comparing the relay vectors, O(m) per event.)
    if not bound and not again:  # the common event: the arrivals join the sliding set
        for i in arrived:
            bisect.insort(free_sorted, i)
            signs[i] = 0
        mode = _new(Mode)  # (as `trusted_record`, without its call: thousands per solve)
        mode.__dict__.update(norm="l1", signs=tuple(signs), free=tuple(free_sorted))
        if arrived:
            rec.event(t, x, "sliding-entry", arrived, old_mode, mode)
        return mode
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
    mode = _new(Mode)
    mode.__dict__.update(norm="l1", signs=tuple(signs), free=tuple(free_sorted))
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
    return mode


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
    until the next resynchronisation (``RESYNC`` events).
    """
    back = idx[relays[idx] * rates[idx] < 0.0]
    rates[back] = 0.0


def _spd_lam_v(
    spd: SpdBoxSelector, perm: np.ndarray, c0: FloatArray, B: FloatArray, b_is_eye: bool
) -> tuple[FloatArray, FloatArray]:
    """The relay values (original order) and the velocity of the selector's current mode,
    both frozen: the recorder keeps them without a copy (see ``_recorder.frozen_array``)."""
    k = spd.block.k
    # (one concatenation and one gather: a fresh array that owns its data)
    lam = np.concatenate((spd.lam[:k], spd.sig[k:]))[spd.block.pos]
    lam.setflags(write=False)
    v = c0 - lam if b_is_eye else c0 - B @ lam
    v.setflags(write=False)
    return lam, v


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
    :class:`~filippov.incremental_selection.SimplexTieSelector`, ``O(k²)`` per index that
    joins or leaves the tie; otherwise (and always with ``incremental=False``, the
    reference the tests compare with) each selection is solved from scratch by
    :func:`~filippov.selection.solve_simplex_vi`.
    """
    c0, B, G, e = data.c0, data.B, data.G, data.e
    m = G.shape[0]
    b_is_eye = _is_identity(B)
    GB = G if b_is_eye else G @ B  # the greedy flow has B = I: skip an O(n³) product
    Gc0 = G @ c0
    b_max = max(float(np.max(np.abs(B))), 1e-300)  # once: B is m × m (the identity)
    tie: SimplexTieSelector | None = None
    gb_cond = spd_condition(GB) if m >= 2 else None
    # Known SPD: the end-of-run precision check needs no factorization of its own (an SVD
    # and a least-squares solve of G B at rest on h = 0: 2 of 8 s of the d = 1000 run).
    rec.spd_condition = gb_cond
    if opts.incremental and gb_cond is not None and gb_cond <= _INCREMENTAL_MAX_COND:
        tie = SimplexTieSelector(GB, Gc0)
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
            cv = ball_like_l1_at_zero(c0, B, G)
        mode0 = make_mode("linf", np.zeros(m), np.arange(m))
        if float(np.max(np.abs(cv.velocity))) <= 1e-12 * b_max:
            # At h = 0 every relay value is free: staying is the only solution only if GB
            # is a P-matrix (a strict minimum), as on every norm (see the event path).
            # (A symmetric positive definite G B is one: no eigenvalue test needed; but
            # not one positive definite only to rounding, whose Cholesky factor passed on
            # a pivot at rounding: a quadratic with a line of minimizers, eigenvalues
            # (0, 1, 10, 100), had its rest flagged unique.)
            determined = gb_cond is not None and gb_cond * m * np.finfo(float).eps < 1.0
            unique = determined or (gb_cond is None and is_p_matrix(GB) is True)
            return Rest(t, x, np.arange(m), old_mode, mode0, cv.lam, unique, note=note)
        return Finished(
            -4,
            f"h = 0 reached at t = {t:.12g}, where the linf relay cannot hold the state at "
            f"rest (its selection there gives the velocity "
            f"{np.array2string(cv.velocity, precision=6)}, not 0): passing through h = 0, "
            "or moving along it, is not supported",
        )

    # h(x0) = 0 is read per index on the scale of the terms h_i is computed from, as in the
    # ℓ1 loop. Why not only an exact zero: a start at a minimizer computed in floating
    # point (lstsq of an ill-conditioned H) has |h| at rounding, e.g. 1e-9 on terms of size
    # 2e6; the flow then wandered through a dozen events of noise in 1e-13 time and the
    # run ended with status -5 ("f increased") where the sign flow rests at t = 0.
    if bool(np.all(np.abs(h) <= initial_zero_rtol(opts.zero_tol) * component_scales(G, x0, e))):
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
        if hm_new <= rel * h_scale:
            # The tie reached 0 with the join, to rounding (τ_tie below τ_zero only by
            # it): h = 0, not a tie change. On a singular quadratic the new tie's block was
            # singular, its rate 0, and the flow slid on along the valley of minimizers at
            # unit speed with |h| ~ 1e-14 (3.55 away from the event path's rest).
            return at_zero(old_mode, "max |h| reached 0")
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
        record_tie_change(rec, t, x, entered, left, joined, old_mode, mode, unique)
