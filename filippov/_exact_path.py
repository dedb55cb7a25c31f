"""The exact path: piecewise-affine systems integrated event to event in closed form.

For ``x' ∈ c0 − B ∂φ(G x + e)`` with ``φ = ℓ1`` or ``ℓ∞`` the relay values are constant in
each mode, so the state moves on a straight line and every switching function is affine in
time. The next event is the smallest positive root of a set of linear functions, and the
selection problem is re-solved only at events (DESIGN §1.4).

Cost per event: the rates ``r = G v`` and the velocity ``v`` are updated from the changed
relay values only (``O((n + m) k)`` for ``k`` changed values) and the selection is first tried
as an interior solve on the candidate face, falling back to the exact VI solver (warm
started) only when some multiplier reaches its bound. ``h`` and ``r`` are re-synchronised
from scratch every ``_RESYNC`` events so rounding cannot accumulate.
"""

from __future__ import annotations

import numpy as np

from filippov._recorder import Recorder, make_mode, record_l1_transition
from filippov._validation import FloatArray
from filippov.selection import solve_box_vi, solve_simplex_vi
from filippov.systems import AffineData

_RESYNC = 64


class _Options:
    """The subset of the engine's options the exact path needs (kept explicit)."""

    def __init__(self, zero_tol: float, max_events: int) -> None:
        self.zero_tol = zero_tol
        self.max_events = max_events


def integrate_l1(
    data: AffineData,
    x0: FloatArray,
    t0: float,
    t_end: float,
    opts: _Options,
    rec: Recorder,
) -> tuple[int, str]:
    """Exact path for ``φ = ℓ1`` (independent relays: the sign flow and relay systems)."""
    c0, B, G, e = data.c0, data.B, data.G, data.e
    m = G.shape[0]
    GB = G @ B
    Gc0 = G @ c0
    x = x0.copy()
    h = G @ x + e
    h_scale = max(float(np.max(np.abs(h))) if m else 0.0, float(np.max(np.abs(e))) if m else 0.0)
    h_scale = max(h_scale, float(np.max(np.abs(G))) * max(1.0, float(np.max(np.abs(x0)))))
    ztol = opts.zero_tol * h_scale
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
    gb_pd = m > 0 and _is_symmetric_pd(GB)

    def select(cand: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Relay values on the candidate sliding set ``cand`` (others keep ``sigma``)."""
        if cand.size == 0:
            return np.empty(0), np.empty(0, dtype=bool), True
        lam_fixed = sigma.copy()
        lam_fixed[cand] = 0.0
        a = Gc0[cand] - GB[cand] @ lam_fixed
        M = GB[np.ix_(cand, cand)]
        rec.n_selection_solves += 1
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
        return np.asarray(sel.lam, dtype=float), interior, bool(sel.unique)

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
        if leaving.size:
            rec.event(t, x, "exit", leaving, None, new_mode, note="leaves at the initial state")
        mode = new_mode
    v = c0 - B @ lam
    r = Gc0 - GB @ lam
    r[in_J] = 0.0
    since_resync = 0

    while True:
        if float(np.max(np.abs(v))) <= vtol:
            rec.event(t, x, "stationary", np.flatnonzero(in_J), mode, mode)
            if t < t_end:
                rec.linear_segment(t, t_end, x, np.zeros_like(v), mode, lam, kind="stationary")
            return 1, f"stationary point reached at t = {t:.17g}"
        approaching = (~in_J) & (sigma * r < 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            tau_all = np.where(approaching, -h / r, np.inf)
        tau = float(np.min(tau_all)) if m else np.inf
        if t + tau >= t_end:
            x = rec.linear_segment(t, t_end, x, v, mode, lam)
            return 0, "reached the end of t_span"
        if rec.n_events >= opts.max_events:
            return -2, (
                f"more than max_events = {opts.max_events} events by t = {t:.17g}; "
                "raise `max_events` if the system really switches this often"
            )
        tau = max(tau, 0.0)
        t_new = t + tau
        arrived = np.flatnonzero(tau_all <= tau + 1e-15 * max(1.0, abs(t_new)))
        x = rec.linear_segment(t, t_new, x, v, mode, lam)
        h = h + tau * r
        t = t_new
        since_resync += 1
        if since_resync >= _RESYNC:
            h = G @ x + e
            since_resync = 0
        h[arrived] = 0.0
        h[in_J] = 0.0
        old_sigma = sigma.copy()
        old_mode = mode
        cand = np.flatnonzero(in_J)
        cand = np.union1d(cand, arrived)
        sigma[arrived] = 0.0
        lam_c, interior, unique = select(cand)
        new_lam = sigma.copy()
        new_lam[cand] = lam_c
        leaving = cand[~interior]
        sigma[leaving] = np.sign(lam_c[~interior])
        in_J[:] = False
        in_J[cand[interior]] = True
        mode = make_mode("l1", sigma, np.flatnonzero(in_J))
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


def _is_symmetric_pd(M: FloatArray) -> bool:
    """Is ``M`` symmetric positive definite (so all its principal blocks are)?

    Then a feasible interior solution of a box VI on any block is *the* solution; anything
    else is handed to the full VI solver, which decides uniqueness itself.
    """
    if not np.allclose(M, M.T, rtol=0, atol=1e-12 * max(1.0, float(np.max(np.abs(M))))):
        return False
    try:
        np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        return False
    return True


def integrate_linf(
    data: AffineData,
    x0: FloatArray,
    t0: float,
    t_end: float,
    opts: _Options,
    rec: Recorder,
) -> tuple[int, str]:
    """Exact path for ``φ = ℓ∞`` (greedy coordinate flow: tie facets of any size)."""
    c0, B, G, e = data.c0, data.B, data.G, data.e
    m = G.shape[0]
    GB = G @ B
    Gc0 = G @ c0
    x = x0.copy()
    h = G @ x + e
    t = float(t0)
    h_scale = max(float(np.max(np.abs(h))), 1e-300)
    rel = opts.zero_tol

    def tie_set(hv: FloatArray) -> np.ndarray:
        hm = float(np.max(np.abs(hv)))
        return np.flatnonzero(np.abs(hv) >= hm - rel * max(hm, h_scale * rel))

    def select(A: np.ndarray, s: FloatArray) -> tuple[FloatArray, np.ndarray, bool]:
        rec.n_selection_solves += 1
        if A.size == 1:
            return np.ones(1), np.ones(1, dtype=bool), True
        M = s[:, None] * GB[np.ix_(A, A)] * s[None, :]
        a = s * Gc0[A]
        sel = solve_simplex_vi(M, a)
        w = np.asarray(sel.lam, dtype=float)
        return w, w > 0, bool(sel.unique)

    if float(np.max(np.abs(h))) == 0.0:
        mode = make_mode("linf", np.zeros(m), np.arange(m))
        rec.event(t, x, "stationary", np.arange(m), mode, mode, note="h = 0 at the start")
        rec.linear_segment(t, t_end, x, np.zeros_like(x), mode, np.zeros(m), kind="stationary")
        return 1, f"h = 0 (stationary) at t = {t:.17g}"

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

    while True:
        hm = float(np.mean(np.abs(h[A])))
        rate = float(np.mean(s * r[A]))  # common rate d|h_i|/dt on the tie set
        if float(np.max(np.abs(v))) <= 1e-13 * max(float(np.max(np.abs(B))), 1e-300):
            rec.event(t, x, "stationary", A, mode, mode)
            rec.linear_segment(t, t_end, x, np.zeros_like(v), mode, lam, kind="stationary")
            return 1, f"stationary point reached at t = {t:.17g}"
        out = np.ones(m, dtype=bool)
        out[A] = False
        hj, rj = h[out], r[out]
        with np.errstate(divide="ignore", invalid="ignore"):
            # |h_j + r_j τ| = hm + rate τ on either branch of the absolute value.
            t_plus = (hm - hj) / (rj - rate)
            t_minus = (-hm - hj) / (rj + rate)
        t_plus = np.where((t_plus > 0) & np.isfinite(t_plus), t_plus, np.inf)
        t_minus = np.where((t_minus > 0) & np.isfinite(t_minus), t_minus, np.inf)
        tau_j = np.minimum(t_plus, t_minus)
        tau_tie = float(np.min(tau_j)) if tau_j.size else np.inf
        tau_zero = -hm / rate if rate < 0 else np.inf
        tau = min(tau_tie, tau_zero)
        if t + tau >= t_end:
            rec.linear_segment(t, t_end, x, v, mode, lam)
            return 0, "reached the end of t_span"
        if rec.n_events >= opts.max_events:
            return -2, f"more than max_events = {opts.max_events} events by t = {t:.17g}"
        x = rec.linear_segment(t, t + tau, x, v, mode, lam)
        h = h + tau * r
        t = t + tau
        old_mode = mode
        if tau_zero <= tau_tie:
            h[A] = 0.0
            mode_at_zero = make_mode("linf", np.zeros(m), np.arange(m))
            rec.event(t, x, "stationary", A, old_mode, mode_at_zero, note="max |h| reached 0")
            rec.linear_segment(
                t, t_end, x, np.zeros_like(v), mode_at_zero, np.zeros(m), kind="stationary"
            )
            return 1, f"h = 0 reached at t = {t:.17g}: stationary point"
        joined = np.flatnonzero(out)[tau_j <= tau_tie + 1e-15 * max(1.0, abs(t))]
        hm_new = float(np.mean(np.abs(h[A])))
        h[A] = s * hm_new
        h[joined] = np.sign(h[joined]) * hm_new
        A_cand = np.union1d(A, joined)
        s_cand = np.sign(h[A_cand])
        w, support, unique = select(A_cand, s_cand)
        old_A = set(int(i) for i in A)
        A, s, w = A_cand[support], s_cand[support], w[support]
        new_lam = np.zeros(m)
        new_lam[A] = s * w
        changed = np.flatnonzero(new_lam != lam)
        dlam = new_lam[changed] - lam[changed]
        v = v - B[:, changed] @ dlam
        r = r - GB[:, changed] @ dlam
        lam = new_lam
        sig = np.zeros(m)
        sig[A] = s
        mode = make_mode("linf", sig, A)
        new_A = set(int(i) for i in A)
        entered = sorted(new_A - old_A)
        left = sorted(old_A - new_A)
        if entered:
            kind = "tie-entry" if not left else "crossing"
            rec.event(t, x, kind, entered, old_mode, mode, unique=unique)
        elif joined.size:
            rec.event(t, x, "tangency", joined, old_mode, mode, unique=unique)
        if left:
            rec.event(t, x, "tie-exit", left, old_mode, mode, unique=unique)
