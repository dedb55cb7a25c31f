"""The event-driven path: mode-by-mode integration of smooth fields.

In a mode (a fixed face of ``∂φ``) the velocity ``f0 − B λ(x)`` is smooth: ``λ`` is fixed
on the vertex part and, on the free part, solves the *equality* form of the selection
(sliding: ``ḣ_J = 0``; ties: equal rates). It is integrated with one of scipy's
``OdeSolver`` classes driven step by step, so that a failure mid-mode keeps every accepted
step. After each step one *guard* — the minimum of the distances to every face boundary,
positive inside the mode — is checked; a sign change is located by ``brentq`` on the
solver's dense output (the same root finding ``solve_ivp`` does for its events, here on a
single function so that ``m`` switching functions cost one evaluation, not ``m``).

At an event the selection is re-solved on the candidate face (the variational
inequality of DESIGN §1.2), the event is classified, the state is projected back onto the
manifolds that stay active (drift control) and a fresh mode starts. Guards of indices that
start a mode exactly on their boundary (just crossed or just exited) are offset by the zero
tolerance, so an event can never re-trigger at its own time: the mode and the direction
of the guard prevent it, the state is never nudged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.integrate import BDF, DOP853, LSODA, RK23, RK45, OdeSolution, OdeSolver, Radau
from scipy.optimize import brentq, minimize_scalar

from filippov._recorder import Recorder, check_accumulation, make_mode, record_l1_transition
from filippov._validation import FloatArray
from filippov.norms import Norm
from filippov.solution import Mode
from filippov.systems import FilippovSystem, consistent_relay

INTEGRATORS: dict[str, type[OdeSolver]] = {
    "RK23": RK23,
    "RK45": RK45,
    "DOP853": DOP853,
    "Radau": Radau,
    "BDF": BDF,
    "LSODA": LSODA,
}

_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class EventOptions:
    """Options of the event path (validated by :func:`filippov.solve`)."""

    integrator: str
    rtol: float
    atol: float
    max_events: int
    zero_tol: float
    zeno_spacing: float
    stabilization: float


class _Failure(Exception):
    """Internal: ends the run with a status and message, keeping the partial solution."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _ModeField:
    """The smooth field of one mode, its guard, and its manifold constraint.

    Parameters
    ----------
    system : FilippovSystem
    norm : str
        ``"l1"``, ``"linf"`` or ``"l2"``.
    sigma : ndarray, shape (m,)
        ℓ1: relay signs off the sliding set (0 on it); ℓ∞: signs on the tie set.
    free : ndarray of int
        ℓ1 sliding set J, ℓ∞ tie set A, ℓ2: all indices when held at ``h = 0``.
    offset : ndarray, shape (m,)
        Added to the guards of indices that start the mode on their boundary.
    h_scale : float
        Scale of ``h`` (for the ℓ2 stopping radius and the pole test).
    """

    def __init__(
        self,
        system: FilippovSystem,
        norm: str,
        sigma: FloatArray,
        free: np.ndarray,
        offset: FloatArray,
        h_scale: float,
        gain: float,
        rec: Recorder,
    ) -> None:
        self.system = system
        self.norm = norm
        self.sigma = sigma
        self.free = free
        self.offset = offset
        self.h_scale = h_scale
        # The ℓ2 guard stops at ‖h‖ = δ (the field is singular at h = 0; see _arrive_l2).
        self.l2_delta = 1e-6 * h_scale
        self.gain = gain
        self.rec = rec
        m = sigma.shape[0]
        self.m = m
        self.fixed = np.setdiff1d(np.arange(m), free)
        self.needs_jac = free.size > 0 and not (norm == "linf" and free.size == 1)
        self._key: bytes | None = None
        self._cache: tuple[FloatArray, FloatArray, FloatArray, FloatArray | None, FloatArray]
        self.mode = (
            make_mode(norm, sigma, free)
            if norm != "l2"
            else Mode("l2", (0,) * m, tuple(int(i) for i in free))
        )

    # -- evaluation ---------------------------------------------------------------
    def evaluate(
        self, x: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None, FloatArray]:
        """``(f0, B, h, ∂h/∂x or None, λ)`` at ``x`` (cached for the last state)."""
        key = x.tobytes()
        if key == self._key:
            return self._cache
        f0, B, hx = self.system._evaluate(x)
        Jac = self.system._jacobian(x, self.m) if self.needs_jac else None
        lam = self._relay(f0, B, hx, Jac)
        self._key = key
        self._cache = (f0, B, hx, Jac, lam)
        return self._cache

    def _relay(
        self, f0: FloatArray, B: FloatArray, hx: FloatArray, Jac: FloatArray | None
    ) -> FloatArray:
        F = self.free
        if self.norm == "l1":
            lam = self.sigma.copy()
            if F.size:
                assert Jac is not None
                a = Jac[F] @ (f0 - B[:, self.fixed] @ lam[self.fixed])
                lam[F] = _solve_min_norm(Jac[F] @ B[:, F], a)
            return lam
        if self.norm == "linf":
            lam = np.zeros(self.m)
            if F.size == 1:
                lam[F] = self.sigma[F]
                return lam
            assert Jac is not None
            s = self.sigma[F]
            M = s[:, None] * (Jac[F] @ B[:, F]) * s[None, :]
            a = s * (Jac[F] @ f0)
            k = F.size
            # Equal rates on the tie: M w + r 1 = a, Σ w = 1 (the KKT system of the
            # simplex VI with every weight positive).
            K = np.zeros((k + 1, k + 1))
            K[:k, :k] = M
            K[:k, k] = 1.0
            K[k, :k] = 1.0
            sol = _solve_min_norm(K, np.r_[a, 1.0])
            lam[F] = s * sol[:k]
            return lam
        if F.size:  # ℓ2 held at h = 0: ḣ = 0
            assert Jac is not None
            return _solve_min_norm(Jac @ B, Jac @ f0)
        return hx / np.linalg.norm(hx)

    def rhs(self, t: float, x: FloatArray) -> FloatArray:
        self.rec.nfev += 1
        f0, B, hx, Jac, lam = self.evaluate(x)
        v = f0 - B @ lam
        res_rows = self._constraint(hx, Jac)
        if res_rows is not None and self.gain > 0:
            res, rows = res_rows
            # Baumgarte-type stabilisation: pull drift off the manifold back at rate `gain`.
            v = v - self.gain * _min_norm_correction(rows, res)
        return v

    def _constraint(
        self, hx: FloatArray, Jac: FloatArray | None
    ) -> tuple[FloatArray, FloatArray] | None:
        F = self.free
        if Jac is None or F.size == 0:
            return None
        if self.norm == "l1" or self.norm == "l2":
            return hx[F], Jac[F]
        if F.size < 2:
            return None
        s = self.sigma[F]
        res = s[1:] * hx[F[1:]] - s[0] * hx[F[0]]
        rows = s[1:, None] * Jac[F[1:]] - s[0] * Jac[F[0]][None, :]
        return res, rows

    def project(self, x: FloatArray) -> FloatArray:
        """Newton projection of ``x`` onto the mode's manifold (minimal-norm corrections)."""
        for _ in range(3):
            hx = self.system._evaluate(x)[2]
            if self.free.size == 0:
                return x
            Jac = self.system._jacobian(x, self.m)
            res_rows = self._constraint(hx, Jac)
            if res_rows is None:
                return x
            res, rows = res_rows
            if float(np.max(np.abs(res), initial=0.0)) == 0.0:
                return x
            x = x - _min_norm_correction(rows, res)
        return x

    def settle_offsets(self, x: FloatArray, ztol: float) -> None:
        """Set the offsets of indices that start on their boundary from the state the mode
        really starts at (after projection, which moves ``h``): their guards start at
        ``ztol`` > 0, so they cannot fire at the mode's own start time."""
        flagged = np.flatnonzero(self.offset > 0)
        if not flagged.size:
            return
        hx = self.system._evaluate(x)[2]
        if self.norm == "l1":
            raw = self.sigma[flagged] * hx[flagged]
        else:
            hm = float(np.mean(self.sigma[self.free] * hx[self.free]))
            raw = hm - np.abs(hx[flagged])
        self.offset[flagged] = ztol + np.maximum(-raw, 0.0)
        self._key = None

    # -- guards -------------------------------------------------------------------
    def guard_values(self, x: FloatArray) -> tuple[FloatArray, FloatArray, np.ndarray]:
        """Distances to every boundary of the mode, positive inside.

        Returns ``(values, lam, kinds)`` with ``kinds`` coding each entry: ``0`` an index
        reaching its switching surface (or a new index reaching the tie), ``1`` a free
        index whose multiplier reaches the face boundary (exit), ``2`` ``h`` reaching 0.
        """
        _, _, hx, _, lam = self.evaluate(x)
        F, out = self.free, self.fixed
        if self.norm == "l1":
            vals = np.r_[self.sigma[out] * hx[out] + self.offset[out], 1.0 - np.abs(lam[F])]
            kinds = np.r_[np.zeros(out.size, int), np.ones(F.size, int)]
            return vals, lam, kinds
        if self.norm == "linf":
            s = self.sigma[F]
            hm = float(np.mean(s * hx[F]))
            parts = [hm - np.abs(hx[out]) + self.offset[out]]
            kinds = [np.zeros(out.size, int)]
            if F.size > 1:
                parts.append(s * lam[F])
                kinds.append(np.ones(F.size, int))
            parts.append(np.array([hm]))
            kinds.append(np.array([2]))
            return np.concatenate(parts), lam, np.concatenate(kinds)
        if F.size:
            return np.array([1.0 - float(np.linalg.norm(lam))]), lam, np.array([1])
        return np.array([float(np.linalg.norm(hx)) - self.l2_delta]), lam, np.array([2])

    def guard(self, x: FloatArray) -> float:
        return float(np.min(self.guard_values(x)[0]))

    def entry_index(self, position: int | np.integer[Any]) -> int:
        """Switching-function index of guard entry ``position``."""
        F, out = self.free, self.fixed
        if position < out.size:
            return int(out[position])
        position -= out.size
        if position < F.size:
            return int(F[position])
        return -1


def integrate(
    system: FilippovSystem,
    x0: FloatArray,
    t0: float,
    t_end: float,
    opts: EventOptions,
    rec: Recorder,
) -> tuple[int, str]:
    """Integrate ``system`` from ``(t0, x0)`` to ``t_end`` mode by mode."""
    norm = system.norm.name
    x = np.array(x0, dtype=float)
    t = float(t0)
    f0, B, hx = system._evaluate(x)
    m = hx.shape[0]
    # Scale of h: its size at x0, or (when x0 lies on the manifolds, h(x0) = 0) the size
    # of its first-order variation over the state's scale.
    jac_scale = float(np.max(np.abs(system._jacobian(x, m)))) * max(1.0, float(np.max(np.abs(x))))
    h_scale = max(float(np.max(np.abs(hx))), jac_scale, 1e-300)
    ztol = opts.zero_tol * h_scale
    v_scale = max(float(np.max(np.abs(f0))) + float(np.max(np.abs(B))), 1e-300)
    span = t_end - t0
    gain = opts.stabilization / span if span > 0 else 0.0
    solver_cls = INTEGRATORS[opts.integrator]

    try:
        sigma, free, offset, stationary = _initial_mode(system, x, t, norm, ztol, rec)
    except _Failure as fail:
        return fail.status, fail.message
    stalls = 0
    while True:
        field = _ModeField(system, norm, sigma, free, offset, h_scale, gain, rec)
        if not stationary:
            x = field.project(x)
            field.settle_offsets(x, ztol)
            stationary = _is_stationary(field, x, v_scale)
        if stationary:
            if not rec.events or rec.events[-1].kind != "stationary" or rec.events[-1].t != t:
                rec.event(t, x, "stationary", free, field.mode, field.mode)
            f0, B, hx = system._evaluate(x)
            lam = consistent_relay(
                system.norm, f0, B, hx, system._jacobian(x, m), free=free, signs=sigma
            ).lam
            rec.linear_segment(t, t_end, x, np.zeros_like(x), field.mode, lam, kind="stationary")
            return 1, f"stationary point reached at t = {t:.17g}"
        if rec.n_events >= opts.max_events:
            return -2, (
                f"more than max_events = {opts.max_events} events by t = {t:.17g}; the "
                "events may accumulate (Zeno) — raise `max_events` if this is expected"
            )
        try:
            t_new, x_new, hit = _integrate_mode(field, solver_cls, t, x, t_end, opts, rec)
        except _Failure as fail:
            return fail.status, fail.message
        if hit is None:
            return 0, "reached the end of t_span"
        stalls = stalls + 1 if t_new == t else 0
        if stalls > 2 * m + 4:
            return -4, (
                f"no consistent mode found at t = {t:.17g}: {stalls} zero-length modes in a "
                f"row at x = {np.array2string(x, precision=17)}"
            )
        t, x = t_new, x_new
        try:
            t, x, sigma, free, offset, stationary = _transition(
                system, field, t, x, hit, norm, ztol, opts.rtol * span, rec
            )
        except _Failure as fail:
            return fail.status, fail.message
        acc = check_accumulation(rec, span, opts.zeno_spacing)
        if acc is not None:
            return acc


def _integrate_mode(
    field: _ModeField,
    solver_cls: type[OdeSolver],
    t: float,
    x: FloatArray,
    t_end: float,
    opts: EventOptions,
    rec: Recorder,
) -> tuple[float, FloatArray, FloatArray | None]:
    """Integrate one mode until its guard changes sign or ``t_end``.

    Returns ``(t, x, guard values at the event)``, the last item ``None`` at ``t_end``.
    Raises :class:`_Failure` (after recording the steps taken) on non-finite values, a
    singular selection or a solver failure.
    """
    ts: list[float] = [t]
    interps: list[Callable[..., FloatArray]] = []
    lam0 = field.evaluate(x)[4].copy()

    def record(t_stop: float, x_stop: FloatArray) -> None:
        if len(ts) < 2:
            return
        ode_sol = OdeSolution(np.asarray(ts), interps)
        on_manifold = field.free.size > (0 if field.norm in ("l1", "l2") else 1)
        if on_manifold:

            def dense(s: FloatArray) -> FloatArray:
                # States on a sliding manifold / tie are reported projected back onto it,
                # so the dense output's drift is rounding, not the integration error.
                X = np.asarray(ode_sol(s)).T
                return np.array([field.project(xk) for xk in np.atleast_2d(X)])

        else:

            def dense(s: FloatArray) -> FloatArray:
                return np.asarray(ode_sol(s)).T

        rec.dense_segment(ts[0], t_stop, dense, x_stop, field.mode, lam0)

    def fail(status: int, what: str, t_last: float, x_last: FloatArray) -> _Failure:
        record(t_last, x_last)
        return _Failure(
            status,
            f"{what} at t = {t_last:.17g}, x = {np.array2string(x_last, precision=17)}; "
            "the solution is returned up to that point",
        )

    try:
        solver = solver_cls(field.rhs, t, x, t_end, rtol=opts.rtol, atol=opts.atol)
    except (FloatingPointError, np.linalg.LinAlgError) as exc:
        raise fail(-3, f"non-finite or singular value ({exc})", t, x) from None
    t_old, x_old = t, x
    g_old = field.guard_values(x)[0]
    if float(np.min(g_old)) <= 0.0:
        # The mode is already at one of its boundaries: an immediate event.
        return t, x, g_old
    span = max(abs(t_end - t), 1e-300)
    while True:
        try:
            message = solver.step()
            if solver.status == "failed":
                raise fail(-1, f"the integrator failed ({message})", t_old, x_old)
            t_new, x_new = float(solver.t), np.array(solver.y)
            g_new = field.guard_values(x_new)[0]
            dense = solver.dense_output()
            bracket = _first_sign_change(field, dense, t_old, t_new, g_old, g_new)
        except FloatingPointError as exc:
            # A trial step reached a region where the field is not finite. Retry from the
            # last accepted state with a smaller step cap, so the partial solution runs
            # up to the edge of that region instead of stopping a whole step short.
            tried = min(float(getattr(solver, "h_abs", span) or span), t_end - t_old)
            if tried <= 1e-13 * max(1.0, abs(t_old)) or tried <= 1e-15 * span:
                raise fail(-3, f"non-finite value ({exc})", t_old, x_old) from None
            try:
                solver = solver_cls(
                    field.rhs,
                    t_old,
                    x_old,
                    t_end,
                    rtol=opts.rtol,
                    atol=opts.atol,
                    max_step=tried / 4,
                    first_step=tried / 4,
                )
            except FloatingPointError:
                raise fail(-3, f"non-finite value ({exc})", t_old, x_old) from None
            continue
        except np.linalg.LinAlgError as exc:
            raise fail(-4, f"singular sliding selection ({exc})", t_old, x_old) from None
        if bracket is not None and bracket[0] == "graze":
            t_touch = bracket[1]
            vals = field.guard_values(np.asarray(dense(t_touch), dtype=float))[0]
            k = int(np.argmin(vals))
            rec.event(
                t_touch,
                np.asarray(dense(t_touch), dtype=float),
                "tangency",
                (field.entry_index(k),),
                field.mode,
                field.mode,
                note="grazing contact: the trajectory touches the surface and turns back",
            )
            bracket = None
        if bracket is not None:
            _, lo, hi = bracket

            def g_of_t(s: float, dense: Callable[..., FloatArray] = dense) -> float:
                return field.guard(np.asarray(dense(s)))

            try:
                t_ev = brentq(g_of_t, lo, hi, xtol=4 * _EPS * max(1.0, abs(hi)), rtol=4 * _EPS)
                x_ev = np.asarray(dense(t_ev), dtype=float)
                values = field.guard_values(x_ev)[0]
            except FloatingPointError as exc:
                if lo > ts[-1]:
                    interps.append(dense)
                    ts.append(lo)
                raise fail(
                    -3, f"non-finite value while locating an event ({exc})", lo, dense(lo)
                ) from None
            if t_ev > ts[-1]:
                interps.append(dense)
                ts.append(t_ev)
            if abs(float(np.min(values))) > 1e-6 * max(1.0, field.h_scale):
                # The guard changed sign without passing through zero: h has a pole or a
                # jump there, not a switching surface.
                raise fail(
                    -3,
                    "a switching function changes sign without passing through 0 (a pole or "
                    f"discontinuity of h; guard {float(np.min(values)):.3g})",
                    t_ev,
                    x_ev,
                )
            record(t_ev, x_ev)
            return t_ev, x_ev, values
        interps.append(dense)
        ts.append(t_new)
        if solver.status == "finished":
            record(t_new, x_new)
            return t_new, x_new, None
        t_old, x_old, g_old = t_new, x_new, g_new


#: Interior points at which each accepted step's dense output is checked for guards that
#: dip below zero and come back within the step (the step ends alone would miss them).
_DIP_SAMPLES = 4
#: A guard whose minimum inside a step lies within this (relative) distance of zero
#: touches its boundary without crossing it: a grazing contact, recorded as a tangency.
_GRAZE_TOL = 1e-10


def _first_sign_change(
    field: _ModeField,
    dense: Callable[..., FloatArray],
    t_old: float,
    t_new: float,
    g_old: FloatArray,
    g_new: FloatArray,
) -> tuple[str, float, float] | None:
    """The first sub-interval of the step on whose ends the guard changes sign.

    The guard vector is sampled at ``_DIP_SAMPLES`` interior points of the dense output;
    between samples each component is modelled by the parabola through three consecutive
    samples, and a predicted interior minimum below zero is checked directly. Returns
    ``("cross", lo, hi)`` with the guard positive at ``lo`` and non-positive at ``hi``,
    ``("graze", t, t)`` when the guard only touches zero at ``t``, or None.
    """
    ts = np.linspace(t_old, t_new, _DIP_SAMPLES + 2)
    rows = [g_old]
    for tk in ts[1:-1]:
        rows.append(field.guard_values(np.asarray(dense(tk), dtype=float))[0])
    rows.append(g_new)
    G = np.asarray(rows)
    mins = G.min(axis=1)
    hit = np.flatnonzero(mins <= 0.0)
    first = int(hit[0]) if hit.size else None
    # Parabolic look between samples, up to the first sampled sign change.
    last = first if first is not None else len(ts) - 1
    for j in range(1, last):
        t0, t1, t2 = ts[j - 1], ts[j], ts[j + 1]
        g0, g1, g2 = G[j - 1], G[j], G[j + 1]
        # Second divided difference (curvature) and the vertex of each parabola.
        d01 = (g1 - g0) / (t1 - t0)
        d12 = (g2 - g1) / (t2 - t1)
        curv = (d12 - d01) / (t2 - t0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = 0.5 * (t0 + t1) - d01 / (2 * curv)
        cand = (curv > 0) & (t_star > t0) & (t_star < t2)
        if not np.any(cand):
            continue
        pred = np.where(
            cand, g0 + d01 * (t_star - t0) + curv * (t_star - t0) * (t_star - t1), np.inf
        )
        if float(np.min(pred)) > 0.0:
            continue
        # Locate the guard's true minimum on [t0, t2]: a graze touches zero (to rounding)
        # and turns back, a dip crosses it.
        res = minimize_scalar(
            lambda tt: field.guard(np.asarray(dense(tt), dtype=float)),
            bounds=(float(t0), float(t2)),
            method="bounded",
            options={"xatol": 4 * _EPS * max(1.0, abs(float(t2)))},
        )
        t_min, g_min = float(res.x), float(res.fun)
        margin = 1e-6 * (t2 - t0)
        if not (t0 + margin < t_min < t2 - margin):
            continue  # the minimum is at an end (e.g. a guard starting at its offset)
        if g_min <= -_GRAZE_TOL * max(1.0, field.h_scale):
            lo = t0 if t_min <= t1 else t1
            return "cross", float(lo), t_min
        depth = min(float(G[j - 1].min()), float(G[j + 1].min())) - g_min
        if abs(g_min) <= _GRAZE_TOL * max(1.0, field.h_scale) and depth > 100 * abs(g_min):
            # A real touch: the guard comes down to zero from well above and turns back
            # (a guard that merely wobbles at its start offset is not a contact).
            return "graze", t_min, t_min
    if first is None:
        return None
    return "cross", float(ts[first - 1]), float(ts[first])


def _initial_mode(
    system: FilippovSystem, x: FloatArray, t: float, norm: str, ztol: float, rec: Recorder
) -> tuple[FloatArray, np.ndarray, FloatArray, bool]:
    """Read the initial face off ``h(x0)`` and make it consistent."""
    f0, B, hx = system._evaluate(x)
    m = hx.shape[0]
    offset = np.zeros(m)
    if norm == "l1":
        cand = np.flatnonzero(np.abs(hx) <= ztol)
        sigma = np.sign(hx)
        sigma[cand] = 0.0
        if not cand.size:
            return sigma, cand, offset, False
        Jac = system._jacobian(x, m)
        cv = consistent_relay(system.norm, f0, B, hx, Jac, free=cand, signs=sigma)
        free = np.asarray(cv.free, dtype=int)
        leaving = np.setdiff1d(cand, free)
        sigma[leaving] = np.sign(cv.lam[leaving])
        offset[leaving] = ztol + np.abs(hx[leaving])
        mode = make_mode("l1", sigma, free)
        if free.size:
            rec.event(
                t,
                x,
                "sliding-entry" if cv.unique else "repulsive",
                free,
                None,
                mode,
                unique=cv.unique,
                note="initial state on the switching manifold",
            )
        return sigma, free, offset, False
    if norm == "linf":
        hm = float(np.max(np.abs(hx)))
        if hm <= ztol:
            _linf_rest_at_zero(system.norm, f0, B, system._jacobian(x, m), t)
            return np.zeros(m), np.arange(m), offset, True
        cand = np.flatnonzero(np.abs(hx) >= hm - ztol)
        sigma = np.zeros(m)
        sigma[cand] = np.sign(hx[cand])
        if cand.size == 1:
            return sigma, cand, offset, False
        Jac = system._jacobian(x, m)
        cv = consistent_relay(system.norm, f0, B, hx, Jac, free=cand, signs=sigma)
        free = np.asarray(cv.free, dtype=int)
        dropped = np.setdiff1d(cand, free)
        sigma[dropped] = 0.0
        offset[dropped] = ztol
        if free.size > 1:
            rec.event(
                t, x, "tie-entry", free, None, make_mode("linf", sigma, free), note="initial tie"
            )
        return sigma, free, offset, False
    if float(np.linalg.norm(hx)) <= ztol:
        return np.zeros(m), np.arange(m), offset, False
    return np.zeros(m), np.empty(0, dtype=int), offset, False


def _linf_rest_at_zero(
    norm: Norm, f0: FloatArray, B: FloatArray, Jac: FloatArray, t: float
) -> None:
    """At ``h = 0`` an ℓ∞ relay's face is the whole ℓ1 ball: the state is an equilibrium
    only if the consistent velocity there vanishes (always for gradient flows). Otherwise
    it moves along ``h = 0``, which this path does not integrate: fail clearly."""
    cv = consistent_relay(norm, f0, B, np.zeros(B.shape[1]), Jac)
    if float(np.max(np.abs(cv.velocity))) > 1e-12 * max(float(np.max(np.abs(B))), 1e-300):
        raise _Failure(
            -4,
            f"h = 0 reached at t = {t:.17g} with a nonzero consistent velocity "
            f"{np.array2string(cv.velocity, precision=6)}: motion on h = 0 of an linf relay "
            "is not supported",
        )


def _is_stationary(field: _ModeField, x: FloatArray, v_scale: float) -> bool:
    f0, B, _, _, lam = field.evaluate(x)
    return bool(float(np.max(np.abs(f0 - B @ lam))) <= 1e-12 * v_scale)


def _transition(
    system: FilippovSystem,
    field: _ModeField,
    t: float,
    x: FloatArray,
    values: FloatArray,
    norm: str,
    ztol: float,
    t_tol: float,
    rec: Recorder,
) -> tuple[float, FloatArray, FloatArray, np.ndarray, FloatArray, bool]:
    """New mode after an event: re-solve the selection on the candidate face, record."""
    m = field.m
    _, lam_ev, kinds = field.guard_values(x)
    # Events are simultaneous when they would happen within `t_tol` (rtol times the time
    # span) of each other: probe that far ahead along the mode's field and see which
    # guards it crosses.
    probe = field.guard_values(x + t_tol * field.rhs(t, x))[0]
    hits = np.flatnonzero((values <= 0.0) | (probe <= 0.0))
    f0, B, hx = system._evaluate(x)
    Jac = system._jacobian(x, m)
    old_mode = field.mode
    offset = np.zeros(m)
    if norm == "l1":
        sigma = field.sigma.copy()
        J = set(int(j) for j in field.free)
        arrived = np.asarray(
            sorted(field.entry_index(p) for p in hits if kinds[p] == 0), dtype=np.intp
        )
        exited = [field.entry_index(p) for p in hits if kinds[p] == 1]
        for j in exited:
            sigma[j] = np.sign(lam_ev[j])
            J.discard(j)
        cand = np.array(sorted(J | set(int(i) for i in arrived)), dtype=int)
        old_sigma = field.sigma.copy()
        sigma[cand] = 0.0
        rec.n_selection_solves += 1
        cv = consistent_relay(system.norm, f0, B, hx, Jac, free=cand, signs=sigma)
        free = np.asarray(cv.free, dtype=int)
        leaving = np.setdiff1d(cand, free)
        sigma[leaving] = np.sign(cv.lam[leaving])
        mode = make_mode("l1", sigma, free)
        in_J = np.zeros(m, dtype=bool)
        in_J[free] = True
        record_l1_transition(rec, t, x, arrived, old_sigma, sigma, in_J, old_mode, mode, cv.unique)
        # `record_l1_transition` reports free indices that left; exits found by the guard
        # were free before the event too, so they are covered.
        starting_at_zero = np.setdiff1d(np.r_[leaving, np.array(exited, dtype=int)], free)
        offset[starting_at_zero] = ztol + np.abs(hx[starting_at_zero])
        return t, x, sigma, free, offset, False
    if norm == "linf":
        if np.any(kinds[hits] == 2):
            _linf_rest_at_zero(system.norm, f0, B, Jac, t)
            x0 = np.zeros(m)
            rec.event(t, x, "stationary", field.free, old_mode, make_mode("linf", x0, np.arange(m)))
            return t, x, np.zeros(m), np.arange(m), offset, True
        A = set(int(i) for i in field.free)
        joined = [field.entry_index(p) for p in hits if kinds[p] == 0]
        left_by_guard = [field.entry_index(p) for p in hits if kinds[p] == 1]
        cand = np.array(sorted((A - set(left_by_guard)) | set(joined)), dtype=int)
        sigma = np.zeros(m)
        sigma[cand] = np.sign(hx[cand])
        rec.n_selection_solves += 1
        cv = consistent_relay(system.norm, f0, B, hx, Jac, free=cand, signs=sigma)
        free = np.asarray(cv.free, dtype=int) if cand.size > 1 else cand
        sigma_new = np.zeros(m)
        sigma_new[free] = sigma[free]
        mode = make_mode("linf", sigma_new, free)
        entered = sorted(set(int(i) for i in free) - A)
        left = sorted(A - set(int(i) for i in free))
        if entered:
            rec.event(
                t,
                x,
                "tie-entry" if not left else "crossing",
                entered,
                old_mode,
                mode,
                unique=cv.unique,
            )
        elif joined:
            rec.event(t, x, "tangency", joined, old_mode, mode, unique=cv.unique)
        if left:
            rec.event(t, x, "tie-exit", left, old_mode, mode, unique=cv.unique)
        near = np.setdiff1d(np.arange(m), free)
        offset[near] = ztol
        return t, x, sigma_new, free, offset, False
    # ℓ2
    if field.free.size:  # leaving h = 0: ‖λ‖ reached 1
        rec.event(t, x, "exit", np.arange(m), old_mode, Mode("l2", (0,) * m))
        raise _Failure(
            -4,
            f"the ℓ2 relay leaves h = 0 at t = {t:.17g}; continuing from h = 0 needs a "
            "direction choice the event path does not make (not supported)",
        )
    t, x = _arrive_l2(system, field, t, x, rec)
    f0, B, hx = system._evaluate(x)
    Jac = system._jacobian(x, m)
    rec.n_selection_solves += 1
    cv = consistent_relay(system.norm, f0, B, hx, Jac, free=np.arange(m))
    mode = Mode("l2", (0,) * m, tuple(range(m)))
    if float(np.max(np.abs(cv.velocity))) <= 1e-10 * max(float(np.max(np.abs(B))), 1e-300):
        rec.event(t, x, "stationary", np.arange(m), old_mode, mode, unique=cv.unique)
        return t, x, np.zeros(m), np.arange(m), offset, True
    if cv.free:
        rec.event(t, x, "sliding-entry", np.arange(m), old_mode, mode, unique=cv.unique)
        return t, x, np.zeros(m), np.arange(m), offset, False
    raise _Failure(
        -4,
        f"the ℓ2 relay passes through h = 0 at t = {t:.17g} (a crossing of a codimension-"
        f"{m} set); the event path does not continue through it (not supported)",
    )


def _arrive_l2(
    system: FilippovSystem, field: _ModeField, t: float, x: FloatArray, rec: Recorder
) -> tuple[float, FloatArray]:
    """Finish the finite-time arrival at ``h = 0`` by Newton steps along the flow.

    The guard stops the smooth integration at ``‖h‖ = δ`` (the field is singular at
    ``h = 0``); near the arrival ``‖h‖`` decreases linearly in time, so a few Newton steps
    on ``‖h(x + τ v)‖ = 0`` land on ``h = 0`` with an error ``O(δ²)``.
    """
    mode = field.mode
    for _ in range(4):
        f0, B, hx = system._evaluate(x)
        nh = float(np.linalg.norm(hx))
        if nh == 0.0:
            break
        u = hx / nh
        v = f0 - B @ u
        rate = float(u @ (system._jacobian(x, hx.shape[0]) @ v))
        if rate >= 0:
            break
        tau = -nh / rate
        x = rec.linear_segment(t, t + tau, x, v, mode, u)
        t = t + tau
    return t, x


def _min_norm_correction(rows: FloatArray, res: FloatArray) -> FloatArray:
    """Smallest ``d`` with ``rows @ d = res`` (rows independent: the manifold's normals).

    Through the normal equations ``rows rowsᵀ y = res``, ``d = rowsᵀ y`` (a k×k solve,
    several times cheaper than an SVD-based least squares in the right-hand side); falls
    back to least squares when the normals are dependent.
    """
    try:
        return np.asarray(rows.T @ np.linalg.solve(rows @ rows.T, res), dtype=np.float64)
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.lstsq(rows, res, rcond=None)[0], dtype=np.float64)


def _solve_min_norm(M: FloatArray, a: FloatArray) -> FloatArray:
    """``M⁻¹ a``, or the minimal-norm least-squares solution when ``M`` is singular.

    A singular sliding matrix means the continuation is not unique; the event that
    started the mode is already flagged (``unique=False``) and DESIGN §1.2 asks for the
    minimal-norm choice.
    """
    try:
        return np.asarray(np.linalg.solve(M, a), dtype=np.float64)
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.lstsq(M, a, rcond=None)[0], dtype=np.float64)


def _scale(values: FloatArray) -> float:
    return max(1.0, float(np.max(np.abs(values))))
