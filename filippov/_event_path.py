"""The event-driven path: mode-by-mode integration of smooth fields.

In a mode (a fixed face of ``∂φ``) the velocity ``f0 − B λ(x)`` is smooth: ``λ`` is fixed
on the vertex part and, on the free part, solves the *equality* form of the selection
(sliding: ``ḣ_J = 0``; ties: equal rates). It is integrated with one of scipy's
``OdeSolver`` classes driven step by step, so that a failure mid-mode keeps every accepted
step. After each step one *guard* — the minimum of the distances to every face boundary,
positive inside the mode — is checked; a sign change is located by ``brentq`` on the
solver's dense output (the same root finding ``solve_ivp`` does for its events, here on a
single function so that ``m`` switching functions cost one evaluation, not ``m``). The
common event, a switching function reaching its surface, is located from ``h`` alone (no
Jacobian, no selection), and the step is then searched for earlier dips up to that time
only. Only the Jacobian rows of the free indices are ever evaluated, and each mode starts
with the step size the previous one ended with.

At an event the selection is re-solved on the candidate face (the variational
inequality of docs/theory.rst, "Modes and the sliding selection"), the event is
classified, the state is projected back onto the
manifolds that stay active (drift control) and a fresh mode starts. Guards of indices that
start a mode exactly on their boundary (just crossed or just exited) are offset by the zero
tolerance, so an event can never re-trigger at its own time: the mode and the direction
of the guard prevent it, the state is never nudged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
from numpy.typing import NDArray
from scipy.integrate import BDF, DOP853, LSODA, RK23, RK45, OdeSolution, OdeSolver, Radau
from scipy.interpolate import CubicHermiteSpline
from scipy.linalg.lapack import dgesv, dposv
from scipy.optimize import brentq, minimize_scalar

from filippov._certify import (
    MAX_CONDITION,
    STATUS_UNCERTIFIED,
    component_scales,
    equilibrated_condition,
    initial_zero_rtol,
)
from filippov._recorder import Recorder, make_mode, record_l1_transition
from filippov._rest import record_initial_leave, rest_is_unique
from filippov._validation import FloatArray
from filippov.engine.protocol import REACHED_END, Finished, PathFailure, Rest, SteppedPath
from filippov.norms import Norm
from filippov.selection import (
    box_tolerances,
    is_p_matrix,
    is_pd_symmetric,
    is_symmetric,
    solve_box_vi,
)
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
    """Options of the event path (see :func:`filippov.solve`, which validates them).

    Attributes
    ----------
    integrator : str
        The scipy ``OdeSolver`` used inside each mode (a key of ``INTEGRATORS``).
    rtol, atol : float
        Its tolerances.
    zero_tol : float
        Relative tolerance for reading zeros and ties of ``h`` off the state.
    stabilization : float
        Gain of the drift correction on sliding manifolds, in units of ``1/(t_end − t0)``.
    """

    integrator: str = "DOP853"
    rtol: float = 1e-10
    atol: float = 1e-12
    zero_tol: float = 1e-12
    stabilization: float = 10.0


class EventPath(SteppedPath):
    """Mode-by-mode integration of any Lur'e system with a scipy ``OdeSolver``, events
    located on its dense output."""

    name = "events"
    Options = EventOptions

    @classmethod
    def unsupported(cls, system: Any) -> str | None:
        if not isinstance(system, FilippovSystem):
            return "it is not a FilippovSystem (Lur'e form); see method='piecewise'"
        return None

    @property
    def label(self) -> str:
        return f"events ({self.options.integrator})"

    def running(self) -> contextlib.AbstractContextManager[object]:
        # Non-finite values are found by explicit checks (status −3) and near a pole
        # overflow is expected on the way there: numpy's warnings would only be noise.
        return np.errstate(all="ignore")

    def certify_tolerances(self) -> tuple[float, float] | None:
        return 100.0 * self.options.rtol, 100.0 * self.options.atol

    def steps(self) -> Generator[None, None, Finished | Rest]:
        return (
            yield from _steps(self.system, self.x0, 0.0, self.horizon, self.options, self.recorder)
        )


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
    gain : float
        Rate of the drift correction on the mode's manifold.
    rec : Recorder
        Counts the right-hand-side evaluations.
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
        rec: Recorder | None,
    ) -> None:
        self.system = system
        self.norm = norm
        self.sigma = sigma
        self.free = np.asarray(free, dtype=np.intp)
        self.offset = offset
        self.h_scale = h_scale
        # The ℓ2 guard stops at ‖h‖ = δ (the field is singular at h = 0; see _arrive_l2).
        # Small, so that the straight Newton steps of the arrival are short: the velocity
        # −h/‖h‖ turns along the way, and the last stretch should be rounding-sized.
        self.l2_delta = _L2_STOP * h_scale
        self.gain = gain
        #: Whether the drift correction goes through the mode's relay values (velocity in
        #: F(x)); False for ill-conditioned selections (see _check_selection_precision).
        self.correct_through_relays = True
        self.rec = rec
        m = sigma.shape[0]
        self.m = m
        F = self.free
        outside = np.ones(m, dtype=bool)
        outside[F] = False
        self.fixed = np.flatnonzero(outside)
        self.needs_jac = F.size > 0 and not (norm == "linf" and F.size == 1)
        self.kinds = self._guard_kinds()
        # Guard entries that depend on h alone (a surface or the tie reached, h reaching 0),
        # not on the sliding selection λ: event location evaluates just h for them.
        self.cheap = self.kinds != 1
        # With constant f0 and B (every steepest-descent flow) the ℓ1 velocity's x-independent
        # parts are formed once per mode, not in every right-hand-side evaluation.
        self._const_fb = system.f0_constant is not None and system.B_constant is not None
        self._l1_parts: tuple[FloatArray, FloatArray, bool] | None = None
        self._key: bytes | None = None
        # Last evaluated state: f0, B, h, ∂h_F/∂x (rows of the free indices) or None, λ, and
        # the stabilised velocity (None until a right-hand side asks for it).
        self._cache: tuple[FloatArray, FloatArray, FloatArray, FloatArray | None, FloatArray]
        self._v: FloatArray | None = None
        #: The state :meth:`start` projected the mode's start to.
        self._projected: bytes | None = None
        self.mode = (
            make_mode(norm, sigma, F)
            if norm != "l2"
            else Mode("l2", (0,) * m, tuple(int(i) for i in F))
        )

    def _guard_kinds(self) -> np.ndarray:
        """The kind of each guard entry (see :meth:`guard_values`), fixed per mode."""
        F, out = self.free, self.fixed
        if self.norm == "l1":
            return np.r_[np.zeros(out.size, int), np.ones(F.size, int)]
        if self.norm == "linf":
            return np.r_[np.zeros(out.size, int), np.ones(F.size if F.size > 1 else 0, int), 2]
        return np.array([1 if F.size else 2])

    # -- evaluation ---------------------------------------------------------------
    def evaluate(
        self, x: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None, FloatArray]:
        """``(f0, B, h, ∂h_F/∂x or None, λ)`` at ``x`` (cached for the last state).

        Only the Jacobian rows of the free indices ``F`` are computed: they are all the
        selection and the manifold constraint use.
        """
        key = x.tobytes()
        if key == self._key:
            return self._cache
        f0, B, hx = self.system.kernel_evaluate(x)
        JF = self.system.kernel_jacobian_rows(x, self.free, self.m) if self.needs_jac else None
        if self.norm == "l1":
            lam, v = self._relay_l1(f0, B, hx, JF)
        else:
            lam, v = self._relay(f0, B, hx, JF), None
        self._key = key
        self._cache = (f0, B, hx, JF, lam)
        self._v = v
        return self._cache

    def _relay_l1(
        self, f0: FloatArray, B: FloatArray, hx: FloatArray, JF: FloatArray | None
    ) -> tuple[FloatArray, FloatArray]:
        """ℓ1 mode: ``λ`` (signs off ``J``, equivalent control on ``J``) and the velocity
        ``f0 − Bλ``, with the drift correction on the sliding manifold ``h_J = 0``."""
        F, sigma = self.free, self.sigma
        if self._l1_parts is not None:
            u, BF, unit = self._l1_parts
        else:
            out = self.fixed
            u = f0 - B[:, out] @ sigma[out]
            BF = B[:, F]
            # B_J made of columns of the identity (every steepest-descent flow, B = I):
            # products with it are plain index operations.
            unit = B.shape[0] == B.shape[1] and np.array_equal(BF, np.eye(B.shape[0])[:, F])
            if self._const_fb:
                self._l1_parts = (u, BF, unit)
        lam = sigma.copy()
        if not F.size:
            return lam, u
        assert JF is not None
        # Equivalent control with Baumgarte-type stabilisation: ḣ_J = J_J (u − B_J λ_J) =
        # −gain·h_J pulls drift off the manifold back through the mode's own relay values,
        # so the velocity stays in F(x): coordinates whose relay value is fixed move
        # exactly at their fixed rate (a correction normal to the manifold would move them).
        through_relays = self.correct_through_relays
        rhs = JF @ u + self.gain * hx[F] if through_relays else JF @ u
        lam[F] = lam_F = _solve_min_norm(JF[:, F] if unit else JF @ BF, rhs)
        if unit:
            v = u.copy()
            v[F] -= lam_F
        else:
            v = u - BF @ lam_F
        if not through_relays and self.gain > 0:
            # An ill-conditioned M would amplify the drift into the relay values: the
            # correction is then the minimal-norm one, normal to the manifold.
            v -= self.gain * _min_norm_correction(JF, hx[F])
        return lam, v

    def _relay(
        self, f0: FloatArray, B: FloatArray, hx: FloatArray, JF: FloatArray | None
    ) -> FloatArray:
        """``λ`` of an ℓ∞ (tie) or ℓ2 mode."""
        F = self.free
        if self.norm == "linf":
            lam = np.zeros(self.m)
            if F.size == 1:
                lam[F] = self.sigma[F]
                return lam
            assert JF is not None
            s = self.sigma[F]
            M = s[:, None] * (JF @ B[:, F]) * s[None, :]
            # Rates of |h_i| on the tie: a − M w. Asking for r − gain·|h_i| instead of a
            # common r pulls the tie's drift back through the weights themselves (Baumgarte
            # stabilisation that keeps λ in the face, the velocity in F(x)).
            a = s * (JF @ f0) + self.gain * (s * hx[F])
            k = F.size
            # Equal (stabilised) rates on the tie: M w + r 1 = a, Σ w = 1 (the KKT system
            # of the simplex VI with every weight positive).
            K = np.zeros((k + 1, k + 1))
            K[:k, :k] = M
            K[:k, k] = 1.0
            K[k, :k] = 1.0
            sol = _solve_min_norm(K, np.r_[a, 1.0])
            lam[F] = s * sol[:k]
            return lam
        if F.size:  # ℓ2 held at h = 0: ḣ = −gain·h (drift pulled back through λ)
            assert JF is not None
            return _solve_min_norm(JF @ B, JF @ f0 + self.gain * hx)
        return hx / np.linalg.norm(hx)

    def rhs(self, t: float, x: FloatArray) -> FloatArray:
        if self.rec is not None:
            self.rec.nfev += 1
        f0, B, _, _, lam = self.evaluate(x)
        if self._v is None:
            # λ already holds the drift correction (see `_relay`): v is in F(x).
            self._v = f0 - B @ lam
        # A copy: the solver keeps what it is given, and the cache must stay intact.
        return self._v.copy()

    def _constraint(
        self, hx: FloatArray, JF: FloatArray | None
    ) -> tuple[FloatArray, FloatArray] | None:
        F = self.free
        if JF is None or F.size == 0:
            return None
        if self.norm == "l1" or self.norm == "l2":
            return hx[F], JF
        if F.size < 2:
            return None
        s = self.sigma[F]
        res = s[1:] * hx[F[1:]] - s[0] * hx[F[0]]
        rows = s[1:, None] * JF[1:] - s[0] * JF[0][None, :]
        return res, rows

    def project(
        self, x: FloatArray, seed: tuple[FloatArray, FloatArray] | None = None
    ) -> FloatArray:
        """Newton projection of ``x`` onto the mode's manifold.

        The corrections lie in the span of ``B_J`` (the columns of the mode's free relay
        values, minimal-norm within it): a projection may only do what the mode's relay
        values can, so for a steepest-descent flow only the sliding coordinates move and
        the others keep exactly the values their fixed rates give them. ``seed``: ``h(x)``
        and the Jacobian rows of the free indices at ``x`` when the caller has them (the
        event that started the mode evaluated them).
        """
        if not self.needs_jac:
            return x  # no manifold to hold: nothing free (or a single ℓ∞ index)
        if x.tobytes() == self._projected:
            # The mode's start state, already projected (the dense output reproduces it
            # exactly at the start time, where the recorded segment is first evaluated).
            return x
        JF: FloatArray | None
        for i in range(3):
            if i == 0 and seed is not None:
                hx, JF = seed
            else:
                # Through the mode's evaluation: the state it returns is then the cached
                # one the mode starts from (its selection, guards and first derivative).
                _, _, hx, JF, _ = self.evaluate(x)
            res_rows = self._constraint(hx, JF)
            if res_rows is None:
                return x
            res, rows = res_rows
            if float(np.max(np.abs(res), initial=0.0)) == 0.0:
                return x
            BF = self._free_columns(x)
            d = BF @ _min_norm_correction(rows @ BF, res)
            # Newton converges quadratically: once the correction is at the rounding level
            # of x, x is on the manifold to rounding and a further step would only move it
            # by rounding.
            if float(np.max(np.abs(d))) <= 4 * _EPS * float(np.max(np.abs(x))):
                return x
            x = x - d
        return x

    def _free_columns(self, x: FloatArray) -> FloatArray:
        """``B_J(x)``: the columns of ``B`` of the free indices."""
        B = self.system.B_constant if self.system.B_constant is not None else self.evaluate(x)[1]
        return np.asarray(B, dtype=np.float64).reshape(x.size, self.m)[:, self.free]

    def start(self, x: FloatArray, seed: tuple[FloatArray, FloatArray] | None = None) -> FloatArray:
        """The state the mode starts at: ``x`` projected onto its manifold (``seed`` as in
        :meth:`project`)."""
        x = self.project(x, seed)
        self._projected = x.tobytes()
        return x

    def settle_offsets(self, x: FloatArray, ztol: FloatArray, tie_tol: float) -> None:
        """Set the offsets of indices that start on their boundary from the state the mode
        really starts at (after projection, which moves ``h``): their guards start at
        ``ztol[i]`` > 0 (ℓ1, each index on its own scale) or ``tie_tol`` (ℓ∞ ties, on
        the scale of the largest component), so they cannot fire at the mode's own start
        time."""
        flagged = np.flatnonzero(self.offset > 0)
        if not flagged.size:
            return
        hx = self.evaluate(x)[2]
        if self.norm == "l1":
            raw = self.sigma[flagged] * hx[flagged]
            margin = ztol[flagged]
        else:
            hm = float(np.mean(self.sigma[self.free] * hx[self.free]))
            raw = hm - np.abs(hx[flagged])
            margin = np.full(flagged.size, tie_tol)
        # (The cache holds no guard values, so it stays valid.)
        self.offset[flagged] = margin + np.maximum(-raw, 0.0)

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
            vals = np.concatenate(
                (self.sigma[out] * hx[out] + self.offset[out], 1.0 - np.abs(lam[F]))
            )
            return vals, lam, self.kinds
        if self.norm == "linf":
            s = self.sigma[F]
            hm = float(np.mean(s * hx[F]))
            parts = [hm - np.abs(hx[out]) + self.offset[out]]
            if F.size > 1:
                parts.append(s * lam[F])
            parts.append(np.array([hm]))
            return np.concatenate(parts), lam, self.kinds
        if F.size:
            return np.array([1.0 - float(np.linalg.norm(lam))]), lam, self.kinds
        return np.array([float(np.linalg.norm(hx)) - self.l2_delta]), lam, self.kinds

    def guard(self, x: FloatArray) -> float:
        return float(np.min(self.guard_values(x)[0]))

    def cheap_entries(self, x: FloatArray, positions: np.ndarray) -> FloatArray:
        """Guard entries ``positions``, all of h alone (:attr:`cheap`), at ``x``: one
        evaluation of h, not of the whole mode."""
        hx = self._cache[2] if x.tobytes() == self._key else self.system.kernel_evaluate(x)[2]
        F, out = self.free, self.fixed
        if self.norm == "l1":
            i = out[positions]
            return np.asarray(self.sigma[i] * hx[i] + self.offset[i], dtype=float)
        if self.norm == "linf":
            hm = float(np.mean(self.sigma[F] * hx[F]))
            vals = np.full(positions.size, hm)
            inner = positions < out.size
            i = out[positions[inner]]
            vals[inner] = hm - np.abs(hx[i]) + self.offset[i]
            return vals
        return np.full(positions.size, float(np.linalg.norm(hx)) - self.l2_delta)

    def entry_index(self, position: int | np.integer[Any]) -> int:
        """Switching-function index of guard entry ``position``."""
        F, out = self.free, self.fixed
        if position < out.size:
            return int(out[position])
        position -= out.size
        if position < F.size:
            return int(F[position])
        return -1


def _steps(
    system: FilippovSystem,
    x0: FloatArray,
    t0: float,
    t_end: float,
    opts: EventOptions,
    rec: Recorder,
) -> Generator[None, None, Finished | Rest]:
    """Integrate ``system`` from ``(t0, x0)`` to ``t_end`` mode by mode (the loop of
    :class:`EventPath`)."""
    norm = system.norm.name
    x = np.array(x0, dtype=float)
    t = float(t0)
    f0, B, hx = system.kernel_evaluate(x)
    m = hx.shape[0]
    # Scale of h: its size at x0, or (when x0 lies on the manifolds, h(x0) = 0) the size
    # of its first-order variation over the state's scale. It sets the ℓ2 stopping radius,
    # the pole test and the tolerance of ties (|h_i| compared with max |h|, so on the scale
    # of the largest component).
    jac0 = system.kernel_jacobian(x, m)
    jac_scale = float(np.max(np.abs(jac0))) * max(1.0, float(np.max(np.abs(x))))
    h_scale = max(float(np.max(np.abs(hx))), jac_scale, 1e-300)
    tie_tol = opts.zero_tol * h_scale
    # Whether h_i is zero is decided per index, on the scale of h_i alone (component_scales):
    # against the largest component, a small but resolved component of a badly scaled
    # gradient read as zero and never moved (or was snapped to its manifold at t0).
    ztol = initial_zero_rtol(opts.zero_tol) * np.maximum(component_scales(jac0, x), 1e-300)
    # The margin an index starting on its boundary keeps from it (its guard's offset) must
    # cover the rounding of h_i along the motion, not only at x0: h = v of an oscillator
    # started at rest has scale 0 at x0 and rounding ~1e-17 after a half period. So it is
    # the row's size times the state's size (still per index, never the largest h), the
    # state's size at least 1 as for h_scale (a state started at 0 has no size of its own).
    x_size = max(float(np.max(np.abs(x))), 1.0)
    margin = np.maximum(ztol, opts.zero_tol * np.max(np.abs(jac0), axis=1) * x_size)
    v_scale = max(float(np.max(np.abs(f0))) + float(np.max(np.abs(B))), 1e-300)
    span = t_end - t0
    gain = opts.stabilization / span if span > 0 else 0.0
    solver_cls = INTEGRATORS[opts.integrator]

    sigma, free, offset, stationary = _initial_mode(system, x, t, norm, ztol, margin, tie_tol, rec)
    stalls = 0
    # The step size the last mode ended with: the next mode starts with it (the field's
    # smoothness scale barely changes at an event; the solver shrinks a step that fails).
    h_next: float | None = None
    seed: tuple[FloatArray, FloatArray] | None = None
    while True:
        field = _ModeField(system, norm, sigma, free, offset, h_scale, gain, rec)
        if not stationary:
            _check_selection_precision(field, x)
            x = field.start(x, seed)
            field.settle_offsets(x, margin, tie_tol)
            stationary = _is_stationary(field, x, v_scale)
        if stationary:
            recorded = bool(rec.events) and (
                rec.events[-1].kind == "stationary" and rec.events[-1].t == t
            )
            unique = True if recorded else _rest_is_unique(system, x, free, m, sigma)
            f0, B, hx = system.kernel_evaluate(x)
            lam = consistent_relay(
                system.norm, f0, B, hx, system.kernel_jacobian(x, m), free=free, signs=sigma
            ).lam
            return Rest(t, x, free, field.mode, field.mode, lam, unique, record_event=not recorded)
        yield
        t_new, x_new, hit, h_next = _integrate_mode(
            field, solver_cls, t, x, t_end, opts, rec, first_step=h_next
        )
        if hit is None:
            return REACHED_END
        stalls = stalls + 1 if t_new == t else 0
        if stalls > 2 * m + 4:
            return Finished(
                -4,
                f"no consistent mode found at t = {t:.12g}: {stalls} zero-length modes in a "
                f"row at x = {np.array2string(x, precision=12)}",
            )
        t, x = t_new, x_new
        t, x, sigma, free, offset, stationary, seed = _transition(
            system, field, t, x, hit, norm, margin, tie_tol, opts.rtol * span, rec
        )


def _check_selection_precision(field: _ModeField, x: FloatArray) -> None:
    """Fail (status −5) when an ℓ1 sliding mode's selection matrix ``M = (∂h/∂x)_J B_J`` is
    beyond what double precision resolves: its equivalent control, and so the velocity,
    would be rounding, and the integrator crawls on that noise for ever (a condition-1e16
    sign flow never returned). The end-of-run self-check would reject the result anyway.
    Degenerate rows (a zero diagonal: a flat zero of h_i, as at a degenerate minimum) are
    not a loss of precision and are left to the minimal-norm selection."""
    F = field.free
    if field.norm != "l1" or F.size < 2:
        return
    _, B, _, JF, _ = field.evaluate(x)
    assert JF is not None
    M = JF @ B[:, F]
    if not bool(np.all(np.diag(M) > 0.0)):
        return
    cond = equilibrated_condition(M)
    # Beyond ~1e8 the stabilising term M⁻¹(gain·h_J) turns the drift into relay values
    # of order cond·drift and the integrator crawls (seen at condition 1e10-1e11).
    field.correct_through_relays = cond <= _RELAY_CORRECTION_MAX_CONDITION
    field._key = None  # the cached velocity was computed before this choice
    if cond > MAX_CONDITION:
        raise PathFailure(
            STATUS_UNCERTIFIED,
            f"precision lost: the sliding selection on switching functions "
            f"{np.array2string(F, threshold=8)} has condition number {cond:.3g} after "
            f"equilibration, beyond what double precision resolves ({MAX_CONDITION:.0e}), "
            f"at x = {np.array2string(x, precision=12)}; the solution is kept up to there",
        )


def _integrate_mode(
    field: _ModeField,
    solver_cls: type[OdeSolver],
    t: float,
    x: FloatArray,
    t_end: float,
    opts: EventOptions,
    rec: Recorder,
    first_step: float | None = None,
) -> tuple[float, FloatArray, FloatArray | None, float | None]:
    """Integrate one mode until its guard changes sign or ``t_end``.

    Returns ``(t, x, guard values at the event, h)``, the third item ``None`` at ``t_end``;
    ``h`` is the step the integrator would take next (``None`` if it does not say), for the
    next mode to start with: ``first_step`` spares scipy's initial-step heuristic, which
    costs an evaluation per mode and proposes steps far shorter than the tolerances allow.
    Raises :class:`~filippov.engine.protocol.PathFailure` (after recording the steps taken) on non-finite values, a
    singular selection or a solver failure.
    """
    ts: list[float] = [t]
    interps: list[Callable[..., FloatArray]] = []
    lam0 = field.evaluate(x)[4].copy()

    on_manifold = field.free.size > (0 if field.norm in ("l1", "l2") else 1)

    def record(t_stop: float, x_stop: FloatArray) -> FloatArray:
        """Record the mode's segment up to ``t_stop``; return its end state, projected onto
        the mode's manifold like every state of its dense output (the event, the next
        mode and the breakpoint then see the same state as ``sol(t_stop)``)."""
        if on_manifold:
            x_stop = field.project(x_stop)
        if len(ts) < 2:
            return x_stop
        steps = np.asarray(ts)
        ode_sol = OdeSolution(steps, interps)
        dense = _ModeDense(ode_sol, field if on_manifold else None)
        # one piece per integrator step, the last one ending at t_stop
        breaks = np.r_[steps[steps < t_stop], t_stop] if t_stop > steps[0] else steps[:1].repeat(2)
        rec.dense_segment(ts[0], t_stop, dense, x_stop, field.mode, lam0, breaks)
        return x_stop

    def fail(status: int, what: str, t_last: float, x_last: FloatArray) -> PathFailure:
        record(t_last, x_last)
        return PathFailure(
            status,
            f"{what} at t = {t_last:.12g}, x = {np.array2string(x_last, precision=12)}; "
            "the solution is returned up to that point",
        )

    start: dict[str, float] = {}
    if first_step is not None and np.isfinite(first_step) and first_step > 0 and t_end > t:
        start["first_step"] = min(first_step, t_end - t)
    try:
        solver = solver_cls(field.rhs, t, x, t_end, rtol=opts.rtol, atol=opts.atol, **start)
    except (FloatingPointError, np.linalg.LinAlgError) as exc:
        raise fail(-3, f"non-finite or singular value ({exc})", t, x) from None
    t_old, x_old = t, x
    g_old = field.guard_values(x)[0]
    if float(np.min(g_old)) <= 0.0:
        # The mode is already at one of its boundaries: an immediate event.
        return t, x, g_old, first_step
    # The ℓ2 direction u = h/‖h‖ at the last accepted state (free ℓ2 modes only; see below).
    watch_reversal = field.norm == "l2" and not field.free.size
    h_old = field.evaluate(x)[2] if watch_reversal else None
    span = max(abs(t_end - t), 1e-300)
    while True:
        try:
            message = solver.step()
            rec.count_step(solver)
            if solver.status == "failed":
                raise fail(-1, f"the integrator failed ({message})", t_old, x_old)
            t_new, x_new = float(solver.t), np.array(solver.y)
            g_new = field.guard_values(x_new)[0]
            dense = solver.dense_output()
            scan = _scan_step(field, dense, t_old, t_new, g_old, g_new)
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
        h_next = getattr(solver, "h_abs", None)
        h_next = float(h_next) if h_next is not None else None
        if h_old is not None:
            h_new = field.evaluate(x_new)[2]
            if float(h_old @ h_new) <= 0.0:
                # The ℓ2 velocity −h/‖h‖ is smooth where h ≠ 0: within one accepted step
                # it cannot turn by 90° or more unless h passed through 0 (an arrival the
                # guard's samples missed: h is small at the turn) or through infinity (a
                # pole, where the flow would cross and chatter around it: h is large).
                t_ev, x_ev = _turning_point(field, dense, t_old, t_new, h_old)
                if t_ev > ts[-1]:
                    interps.append(dense)
                    ts.append(t_ev)
                try:
                    h_turn = float(np.linalg.norm(field.evaluate(x_ev)[2]))
                except FloatingPointError:
                    h_turn = float("inf")
                if not h_turn <= max(float(np.linalg.norm(h_old)), float(np.linalg.norm(h_new))):
                    raise fail(
                        -3,
                        "h turns around without passing through 0 (a pole or discontinuity of h)",
                        t_ev,
                        x_ev,
                    )
                return t_ev, record(t_ev, x_ev), field.guard_values(x_ev)[0], h_next
            h_old = h_new
        t_touch, bracket = scan
        if t_touch is not None:
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
        if bracket is not None:
            if bracket[0] == "event":  # already located by the scan
                _, t_ev, x_ev, values = bracket
            else:
                _, lo, hi, g_lo, g_hi = bracket
                try:
                    t_ev, x_ev, values = _locate_event(field, dense, lo, hi, g_lo, g_hi)
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
            return t_ev, record(t_ev, x_ev), values, h_next
        interps.append(dense)
        ts.append(t_new)
        if solver.status == "finished":
            return t_new, record(t_new, x_new), None, h_next
        t_old, x_old, g_old = t_new, x_new, g_new


class _ModeDense:
    """Dense output of one mode: the integrator's piecewise interpolant, with states on a
    sliding manifold or tie projected back onto it (so the dense output's drift is
    rounding, not the integration error).

    A module-level class, not a closure, so that solutions pickle: the projection needs
    only the system and the mode, and the mode's field is rebuilt from them on loading.
    """

    def __init__(self, ode_sol: OdeSolution, field: _ModeField | None) -> None:
        self.ode_sol = ode_sol
        self.field = field

    def __call__(self, s: FloatArray) -> FloatArray:
        X = np.asarray(self.ode_sol(s)).T
        if self.field is None:
            return X
        return np.array([self.field.project(xk) for xk in np.atleast_2d(X)])

    def __getstate__(self) -> dict[str, Any]:
        f = self.field
        mode = None if f is None else (f.system, f.norm, f.sigma, f.free)
        return {"ode_sol": self.ode_sol, "mode": mode}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.ode_sol = state["ode_sol"]
        self.field = None
        if state["mode"] is not None:
            system, norm, sigma, free = state["mode"]
            m = sigma.shape[0]
            # Projection uses neither the offsets, the scale, the gain nor a recorder.
            self.field = _ModeField(system, norm, sigma, free, np.zeros(m), 1.0, 0.0, None)


def _locate_event(
    field: _ModeField,
    dense: Callable[..., FloatArray],
    lo: float,
    hi: float,
    g_lo: FloatArray | None,
    g_hi: FloatArray | None,
) -> tuple[float, FloatArray, FloatArray]:
    """Where the guard reaches zero in ``[lo, hi]`` (positive at ``lo``, not at ``hi``).

    ``g_lo`` and ``g_hi`` hold the guard entries at ``lo`` and ``hi`` when known. When
    every entry that is non-positive at ``hi`` depends on ``h`` alone (an index reaching
    its surface, the common event), they are located by :func:`_earliest_root`, which
    evaluates ``h`` only instead of the whole mode (Jacobian rows and the selection). The
    whole guard is then checked at the root found: if another entry is already below
    zero there, it crossed first, and the minimum of all entries is located on
    ``[lo, root]`` as in the general case.

    Returns ``(t, x(t), guard entries at t)``.
    """
    cand = _cheap_crossings(field, g_hi)
    if cand.size and g_lo is not None and g_hi is not None:
        t_ev = _earliest_root(field, dense, lo, hi, g_lo, g_hi, cand)
        x_ev = _state(dense, t_ev)
        values = field.guard_values(x_ev)[0]
        if _others_min(values, cand) >= 0.0:
            return t_ev, x_ev, values
        hi = t_ev  # another entry crossed earlier: it is inside [lo, t_ev]

    def g_of_t(s: float) -> float:
        return field.guard(_state(dense, s))

    t_ev = _bracketed_root(g_of_t, lo, hi)
    x_ev = _state(dense, t_ev)
    return t_ev, x_ev, field.guard_values(x_ev)[0]


def _turning_point(
    field: _ModeField,
    dense: Callable[..., FloatArray],
    lo: float,
    hi: float,
    h_lo: FloatArray,
) -> tuple[float, FloatArray]:
    """Where ``h_lo · h(x(t))`` changes sign on ``[lo, hi]`` (positive at ``lo``, not at
    ``hi``), and the state there; a non-finite ``h`` on the way counts as past the turn."""

    def along(s: float) -> float:
        try:
            value = float(h_lo @ field.system.kernel_evaluate(_state(dense, s))[2])
        except FloatingPointError:
            return -1.0
        return value if np.isfinite(value) else -1.0

    t_ev = _bracketed_root(along, lo, hi)
    return t_ev, _state(dense, t_ev)


def _bracketed_root(fun: Callable[[float], float], lo: float, hi: float) -> float:
    """A zero of ``fun`` in ``[lo, hi]``, where ``fun(lo) > 0 >= fun(hi)``, to a few ulps.

    ``brentq`` first; it can exhaust its iterations on a flat root (a guard like
    ``(x + 1)³`` near a degenerate minimum, whose values sink into rounding noise long
    before the bracket is small), so bisection, which needs at most ~64 halvings of a
    double interval and never fails, finishes from the bracket brentq was given.
    """
    xtol = _xtol(hi)
    root, info = brentq(
        fun, lo, hi, xtol=xtol, rtol=4 * _EPS, maxiter=200, full_output=True, disp=False
    )
    if info.converged:
        return float(root)
    while hi - lo > xtol + 4 * _EPS * abs(hi):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if fun(mid) > 0.0:
            lo = mid
        else:
            hi = mid
    return hi


def _state(dense: Callable[..., FloatArray], s: float) -> FloatArray:
    return np.asarray(dense(s), dtype=float)


def _xtol(b: float) -> float:
    """Absolute time tolerance of the root finding near ``b`` (a few ulps)."""
    return 4 * _EPS * max(1.0, abs(b))


def _cheap_crossings(field: _ModeField, g: FloatArray | None) -> np.ndarray:
    """Entries not above zero in ``g`` when all of them depend on ``h`` alone, else none."""
    if g is None:
        return np.empty(0, dtype=np.intp)
    cand = np.flatnonzero(g <= 0.0)
    return cand if bool(np.all(field.cheap[cand])) else np.empty(0, dtype=np.intp)


def _others_min(values: FloatArray, cand: np.ndarray) -> float:
    """The smallest guard entry outside ``cand`` (``inf`` when there is none)."""
    return float(np.min(np.delete(values, cand), initial=np.inf))


def _earliest_root(
    field: _ModeField,
    dense: Callable[..., FloatArray],
    lo: float,
    hi: float,
    g_lo: FloatArray,
    g_hi: FloatArray,
    cand: np.ndarray,
) -> float:
    """The earliest time in ``(lo, hi]`` at which one of the guard entries ``cand`` (all
    of h alone, positive in ``g_lo`` at ``lo`` and not in ``g_hi`` at ``hi``) reaches zero.

    The entries are taken in the order of their linear root estimates; each is located by
    ``brentq`` on the dense output, evaluating h only. After each root the remaining
    entries are read there (one evaluation of h): those already at or below zero reach it
    earlier and are located before it. The known values at the bracket's ends are given
    to ``brentq`` instead of being recomputed.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        est = g_lo[cand] / (g_lo[cand] - g_hi[cand])
    pending = [int(c) for c in cand[np.argsort(est, kind="stable")]]
    at_hi = {c: float(g_hi[c]) for c in pending}
    t_hi = hi
    while pending:
        c = pending.pop(0)
        known = {lo: float(g_lo[c]), t_hi: at_hi[c]}

        def entry(s: float, c: int = c, known: dict[float, float] = known) -> float:
            v = known.get(s)
            if v is not None:
                return v
            return float(field.cheap_entries(_state(dense, s), np.array([c]))[0])

        t_hi = _bracketed_root(entry, lo, t_hi)
        if pending and t_hi > lo:
            vals = field.cheap_entries(_state(dense, t_hi), np.asarray(pending))
            at_hi = dict(zip(pending, (float(v) for v in vals), strict=True))
            pending = [p for p in pending if at_hi[p] <= 0.0]
    return t_hi


#: Largest condition of an ℓ1 sliding selection whose drift is corrected through the
#: relay values (beyond it the correction is normal to the manifold).
_RELAY_CORRECTION_MAX_CONDITION = 1e8
#: The ℓ2 guard's stopping radius ‖h‖ = δ, relative to the scale of h.
_L2_STOP = 1e-10
#: Newton steps of the ℓ2 arrival, at most: quadratic convergence needs a few; a degenerate
#: minimum (‖h‖ ~ distance^p) converges linearly, by the factor (p − 1)/p per step.
_L2_NEWTON_STEPS = 200
#: The closed-form ℓ2 arrival is used when the gradient at its predicted minimizer is at
#: most this fraction of the gradient where it starts.
_L2_MODEL_TOL = 1e-4
#: Grid points of the arc-length table of the closed-form ℓ2 arrival.
_L2_ARC_POINTS = 400

#: Interior points at which each accepted step's dense output is checked for guards that
#: dip below zero and come back within the step (the step ends alone would miss them).
_DIP_SAMPLES = 4
#: A guard whose minimum inside a step lies within this (relative) distance of zero
#: touches its boundary without crossing it: a grazing contact, recorded as a tangency.
_GRAZE_TOL = 1e-10


def _scan_step(
    field: _ModeField,
    dense: Callable[..., FloatArray],
    t_old: float,
    t_new: float,
    g_old: FloatArray,
    g_new: FloatArray,
) -> tuple[float | None, tuple[Any, ...] | None]:
    """Find the first place in the step where the guard changes sign.

    When the guard is not positive at the step's end and every entry below zero there
    depends on ``h`` alone (a switching surface reached: the common event), the earliest
    of them is located first, from ``h`` alone (:func:`_earliest_root`); the search for
    earlier sign changes and dips then only covers the step up to that time.

    That search samples the guard vector at interior points of the dense output, spaced
    at most a ``1 / (_DIP_SAMPLES + 1)`` of the step apart (``_DIP_SAMPLES`` points on
    the whole step); between samples each component is modelled by the parabola through
    three consecutive samples, and a predicted interior minimum below zero is checked
    directly.

    Returns ``(t_graze, found)``: ``t_graze`` the time of a grazing contact (the guard
    only touches zero and turns back) before any sign change, or None; ``found`` is
    ``("event", t, x, g)`` for an event located at ``t`` (state ``x``, guard entries
    ``g``), ``("cross", lo, hi, g_lo, g_hi)`` with the guard positive at ``lo`` and not at
    ``hi`` (``g_lo``, ``g_hi`` its entries there when they were sampled, else None), or
    None when the guard stays positive.
    """
    t_hi = t_new
    t_root: float | None = None
    cand = _cheap_crossings(field, g_new)
    if cand.size:
        t_root = t_hi = _earliest_root(field, dense, t_old, t_new, g_old, g_new, cand)
    # Interior samples at the spacing of _DIP_SAMPLES on the whole step (at least one).
    frac = (t_hi - t_old) / (t_new - t_old) if t_new > t_old else 1.0
    k = max(1, int(np.ceil(_DIP_SAMPLES * frac - 1e-9)))
    ts = np.linspace(t_old, t_hi, k + 2)
    # One call of the dense output for all samples; rows made contiguous (states).
    X = np.ascontiguousarray(np.asarray(dense(ts[1:-1]), dtype=float).T)
    rows = [g_old]
    for xk in X:
        rows.append(field.guard_values(xk)[0])
    g_hi, x_root = g_new, None
    if t_root is not None:
        # Evaluated last, so the event state is the field's cached one for _transition.
        x_root = _state(dense, t_root)
        g_hi = field.guard_values(x_root)[0]
    rows.append(g_hi)
    G = np.asarray(rows)
    mins = G.min(axis=1)
    if x_root is not None:
        # At the located root its own entries are zero to rounding: the last row is a
        # crossing only if another entry is already below zero there.
        others = _others_min(g_hi, cand)
        mins[-1] = others if others < 0.0 else np.inf
    hit = np.flatnonzero(mins <= 0.0)
    first = int(hit[0]) if hit.size else None
    # Parabolic look between samples, up to the first sampled sign change.
    last = first if first is not None else len(ts) - 1
    t_graze: float | None = None
    for j in range(1, last):
        t0, t1, t2 = ts[j - 1], ts[j], ts[j + 1]
        if t_graze is not None and t0 < t_graze < t2:
            continue  # the contact already found
        g0, g1, g2 = G[j - 1], G[j], G[j + 1]
        # Second divided difference (curvature) and the vertex of each parabola.
        d01 = (g1 - g0) / (t1 - t0)
        d12 = (g2 - g1) / (t2 - t1)
        curv = (d12 - d01) / (t2 - t0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = 0.5 * (t0 + t1) - d01 / (2 * curv)
        cand_j = (curv > 0) & (t_star > t0) & (t_star < t2)
        if not np.any(cand_j):
            continue
        with np.errstate(invalid="ignore", over="ignore"):  # nan/inf off cand_j: masked
            pred = np.where(
                cand_j, g0 + d01 * (t_star - t0) + curv * (t_star - t0) * (t_star - t1), np.inf
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
            return t_graze, ("cross", float(lo), t_min, None, None)
        depth = min(float(mins[j - 1]), float(mins[j + 1])) - g_min
        if abs(g_min) <= _GRAZE_TOL * max(1.0, field.h_scale) and depth > 100 * abs(g_min):
            # A real touch: the guard comes down to zero from well above and turns back
            # (a guard that merely wobbles at its start offset is not a contact). The
            # search goes on: the guard may still cross zero later in the step.
            t_graze = t_min
    if first is not None:
        return t_graze, ("cross", float(ts[first - 1]), float(ts[first]), G[first - 1], G[first])
    if x_root is not None:
        return t_graze, ("event", t_hi, x_root, g_hi)
    return t_graze, None


def _initial_mode(
    system: FilippovSystem,
    x: FloatArray,
    t: float,
    norm: str,
    ztol: FloatArray,
    margin: FloatArray,
    tie_tol: float,
    rec: Recorder,
) -> tuple[FloatArray, np.ndarray, FloatArray, bool]:
    """Read the initial face off ``h(x0)`` and make it consistent.

    ``ztol[i]`` decides whether ``h_i`` is zero (each index on its own scale), ``margin[i]``
    is the guard offset of an index leaving its boundary at once; ``tie_tol`` decides
    whether ``|h_i|`` ties the largest ``|h_j|`` (ℓ∞).
    """
    f0, B, hx = system.kernel_evaluate(x)
    m = hx.shape[0]
    offset = np.zeros(m)
    if norm == "l1":
        cand = np.flatnonzero(np.abs(hx) <= ztol)
        sigma = np.sign(hx)
        sigma[cand] = 0.0
        if not cand.size:
            return sigma, cand, offset, False
        Jac = system.kernel_jacobian(x, m)
        cv = consistent_relay(system.norm, f0, B, hx, Jac, free=cand, signs=sigma)
        free = np.asarray(cv.free, dtype=int)
        leaving = np.setdiff1d(cand, free)
        sigma[leaving] = np.sign(cv.lam[leaving])
        offset[leaving] = margin[leaving] + np.abs(hx[leaving])
        mode = make_mode("l1", sigma, free)
        v_scale = float(np.max(np.abs(f0))) + float(np.max(np.abs(B)))
        unique = cv.unique or (
            float(np.max(np.abs(cv.velocity))) <= 1e-12 * v_scale
            and _rest_is_unique(system, x, free, m, sigma)
        )
        if free.size:
            rec.event(
                t,
                x,
                "sliding-entry" if unique else "repulsive",
                free,
                None,
                mode,
                unique=unique,
                note="initial state on the switching manifold",
            )
        # A manifold left at once is labelled as classify() labels it (same as the exact path).
        JB = Jac[leaving] @ B
        scale = np.linalg.norm(Jac[leaving], axis=1) * (np.linalg.norm(f0) + np.abs(B).sum())
        record_initial_leave(
            rec, t, x, leaving, cv.velocity, JB, Jac[leaving], sigma[leaving], scale, mode
        )
        return sigma, free, offset, False
    if norm == "linf":
        hm = float(np.max(np.abs(hx)))
        if bool(np.all(np.abs(hx) <= ztol)):
            _linf_rest_at_zero(system.norm, f0, B, system.kernel_jacobian(x, m), t)
            return np.zeros(m), np.arange(m), offset, True
        cand = np.flatnonzero(np.abs(hx) >= hm - tie_tol)
        sigma = np.zeros(m)
        sigma[cand] = np.sign(hx[cand])
        if cand.size == 1:
            return sigma, cand, offset, False
        Jac = system.kernel_jacobian(x, m)
        cv = consistent_relay(system.norm, f0, B, hx, Jac, free=cand, signs=sigma)
        free = np.asarray(cv.free, dtype=int)
        dropped = np.setdiff1d(cand, free)
        sigma[dropped] = 0.0
        offset[dropped] = tie_tol
        if free.size > 1:
            rec.event(
                t, x, "tie-entry", free, None, make_mode("linf", sigma, free), note="initial tie"
            )
        return sigma, free, offset, False
    if bool(np.all(np.abs(hx) <= ztol)):
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
        raise PathFailure(
            -4,
            f"h = 0 reached at t = {t:.12g} with a nonzero consistent velocity "
            f"{np.array2string(cv.velocity, precision=6)}: motion on h = 0 of the linf relay "
            "is not supported",
        )


def _rest_is_unique(
    system: FilippovSystem,
    x: FloatArray,
    free: np.ndarray,
    m: int,
    sigma: FloatArray | None = None,
) -> bool:
    """Whether staying at the equilibrium ``x`` is the only Filippov solution.

    ℓ1: decided from the set of solutions of the selection on the zero set, with a
    second-order probe of each candidate departure (:func:`filippov._rest.rest_is_unique`).
    Other norms, with every relay value free (``h = 0``): only if ``M = ∂h/∂x B`` is a
    P-matrix (for a gradient flow: a strict local minimum). An equilibrium inside a
    smaller face keeps the uniqueness its entry event recorded."""
    if system.norm.name == "l1":

        def evaluate(z: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
            f0, B, hz = system.kernel_evaluate(z)
            return f0, B, hz, system.kernel_jacobian(z, m)

        f0, B, hx = system.kernel_evaluate(x)
        signs = np.sign(hx) if sigma is None else sigma
        v_scale = float(np.max(np.abs(f0))) + float(np.max(np.abs(B)))
        return rest_is_unique(evaluate, x, np.asarray(free, dtype=np.intp), signs, v_scale)
    if free.size != m:
        return True
    _, B, _ = system.kernel_evaluate(x)
    return is_p_matrix(system.kernel_jacobian(x, m) @ B) is True


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
    margin: FloatArray,
    tie_tol: float,
    t_tol: float,
    rec: Recorder,
) -> tuple[
    float,
    FloatArray,
    FloatArray,
    np.ndarray,
    FloatArray,
    bool,
    tuple[FloatArray, FloatArray] | None,
]:
    """New mode after an event: re-solve the selection on the candidate face, record.

    ``margin[i]`` is the guard offset of an ℓ1 index leaving its surface at the event,
    ``tie_tol`` that of an index leaving an ℓ∞ tie. Returns ``(t, x, sigma, free,
    offset, stationary, seed)``; ``seed`` holds ``h(x)`` and the Jacobian rows of the new
    free set when they were evaluated here (ℓ1).
    """
    m = field.m
    f0, B, hx, _, _ = field.evaluate(x)  # the event state, cached by the location
    _, lam_ev, kinds = field.guard_values(x)
    # Events are simultaneous when they would happen within `t_tol` (rtol times the time
    # span) of each other: probe that far ahead along the mode's field and see which
    # guards it crosses.
    v_ev = field.rhs(t, x)
    probe = field.guard_values(x + t_tol * v_ev)[0]
    hits = np.flatnonzero((values <= 0.0) | (probe <= 0.0))
    if norm == "l1":
        _refuse_jumps_in_probe(system, field, x, v_ev, values, probe, t)
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
        cand = np.array(sorted(J | set(int(i) for i in arrived)), dtype=np.intp)
        old_sigma = field.sigma.copy()
        sigma[cand] = 0.0
        rec.n_selection_solves += 1
        lam = sigma.copy()
        lam[cand], interior, unique, Jc = _l1_selection(system, x, f0, B, sigma, cand)
        free = cand[interior]
        leaving = np.delete(cand, interior)
        sigma[leaving] = np.sign(lam[leaving])
        mode = make_mode("l1", sigma, free)
        in_J = np.zeros(m, dtype=bool)
        in_J[free] = True
        record_l1_transition(rec, t, x, arrived, old_sigma, sigma, in_J, old_mode, mode, unique)
        # `record_l1_transition` reports free indices that left; exits found by the guard
        # were free before the event too, so they are covered.
        at_zero = np.zeros(m, dtype=bool)
        at_zero[leaving] = True
        at_zero[exited] = True
        at_zero[free] = False
        starting_at_zero = np.flatnonzero(at_zero)
        offset[starting_at_zero] = margin[starting_at_zero] + np.abs(hx[starting_at_zero])
        # h and the rows of the new sliding set at x: the new mode's projection starts
        # from them instead of evaluating them again.
        return t, x, sigma, free, offset, False, (hx, Jc[interior])
    Jac = system.kernel_jacobian(x, m)
    if norm == "linf":
        if np.any(kinds[hits] == 2):
            _linf_rest_at_zero(system.norm, f0, B, Jac, t)
            x0 = np.zeros(m)
            rec.event(t, x, "stationary", field.free, old_mode, make_mode("linf", x0, np.arange(m)))
            return t, x, np.zeros(m), np.arange(m), offset, True, None
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
        offset[near] = tie_tol
        return t, x, sigma_new, free, offset, False, None
    # ℓ2
    if field.free.size:  # leaving h = 0: ‖λ‖ reached 1
        rec.event(t, x, "exit", np.arange(m), old_mode, Mode("l2", (0,) * m))
        raise PathFailure(
            -4,
            f"the ℓ2 relay leaves h = 0 at t = {t:.12g}; continuing from h = 0 needs a "
            "direction choice the event path does not make (not supported)",
        )
    t, x = _arrive_l2(system, field, t, x, rec)
    f0, B, hx = system.kernel_evaluate(x)
    Jac = system.kernel_jacobian(x, m)
    rec.n_selection_solves += 1
    cv = consistent_relay(system.norm, f0, B, hx, Jac, free=np.arange(m))
    mode = Mode("l2", (0,) * m, tuple(range(m)))
    if float(np.max(np.abs(cv.velocity))) <= 1e-10 * max(float(np.max(np.abs(B))), 1e-300):
        rec.event(t, x, "stationary", np.arange(m), old_mode, mode, unique=cv.unique)
        return t, x, np.zeros(m), np.arange(m), offset, True, None
    if cv.free:
        rec.event(t, x, "sliding-entry", np.arange(m), old_mode, mode, unique=cv.unique)
        return t, x, np.zeros(m), np.arange(m), offset, False, None
    raise PathFailure(
        -4,
        f"the ℓ2 relay passes through h = 0 at t = {t:.12g} (a crossing of a codimension-"
        f"{m} set); the event path does not continue through it (not supported)",
    )


def _refuse_jumps_in_probe(
    system: FilippovSystem,
    field: _ModeField,
    x: FloatArray,
    v: FloatArray,
    values: FloatArray,
    probe: FloatArray,
    t: float,
) -> None:
    """Raise a −3 :class:`~filippov.engine.protocol.PathFailure` when the probe of simultaneous events finds a
    switching function that crossed zero while moving away from it: it jumped (a pole or
    a discontinuity of h), it did not arrive.

    Why: the ℓ∞ flow of ``log(x) + y²`` has x reach the pole of ``∂f/∂x = 1/x`` at the
    very time y reaches 0; ``1/x`` jumps from +1e16 to −1e16 within the probe's reach and
    was taken for an arrival, and the run reported a "stationary point" at x ≈ 1e-15.
    An index that truly arrives within the probe has its guard decreasing at the event.
    """
    n_out = field.fixed.size
    cand = np.flatnonzero((values[:n_out] > 0.0) & (probe[:n_out] <= 0.0))
    if not cand.size:
        return
    idx = field.fixed[cand]
    rows = system.kernel_jacobian_rows(x, idx, field.m)
    rates = field.sigma[idx] * (rows @ v)
    away = np.flatnonzero(~(rates < 0.0))
    if away.size:
        i = int(idx[away[0]])
        raise PathFailure(
            -3,
            f"switching function h_{i} changes sign right after t = {t:.12g} while moving "
            f"away from 0 (guard {values[cand[away[0]]]:.3g}, rate {rates[away[0]]:.3g}): a "
            f"pole or discontinuity of h, at x = {np.array2string(x, precision=12)}; the "
            "solution is returned up to that point",
        )


def _l1_selection(
    system: FilippovSystem,
    x: FloatArray,
    f0: FloatArray,
    B: FloatArray,
    sigma: FloatArray,
    cand: NDArray[np.intp],
) -> tuple[FloatArray, np.ndarray, bool, FloatArray]:
    """The ℓ1 selection on the candidate zero set ``cand`` at an event.

    The box VI of :func:`~filippov.systems.consistent_relay` (``M = (∂h/∂x)_J B_J``, the
    drift ``a`` with the relays off ``J`` at ``sigma``), built from the Jacobian rows of
    ``J`` only. Returns ``(λ_J, positions in cand that stay free, unique, rows)``, the
    answer of :func:`~filippov.selection.solve_box_vi` and the Jacobian rows of ``cand``. Its most common case at an event is settled
    here first, at a fraction of its cost (it runs once per event): ``M`` symmetric
    positive definite by ``solve_box_vi``'s own tests (every sign flow: ``M = ∇²f_JJ``)
    and the unconstrained solution inside the box; then every candidate stays free and
    that solution is the unique one (the VI is a strictly convex QP). Anything else goes
    to ``solve_box_vi``.
    """
    k = cand.size
    if k == 0:
        return np.zeros(0), np.zeros(0, dtype=np.intp), True, np.zeros((0, x.shape[0]))
    outside = np.ones(sigma.shape[0], dtype=bool)
    outside[cand] = False
    Jc = system.kernel_jacobian_rows(x, cand, sigma.shape[0])
    a = Jc @ (f0 - B[:, outside] @ sigma[outside])
    M = Jc @ B[:, cand]
    tol = 1e-12  # solve_box_vi's default, as consistent_relay uses it
    if is_symmetric(M):
        Ms = 0.5 * (M + M.T)
        if is_pd_symmetric(Ms, tol):
            tol_lam, _ = box_tolerances(M, a, tol)
            # solve_box_vi's tests: the bounds on the symmetrised system, λ from M itself.
            if float(np.max(np.abs(np.linalg.solve(Ms, a)))) <= 1.0 + tol_lam:
                lam = np.clip(np.linalg.solve(M, a), -1.0, 1.0)
                return lam, np.arange(k), True, Jc
    sel = solve_box_vi(M, a)
    interior = np.asarray(sel.interior, dtype=np.intp)
    return np.asarray(sel.lam, dtype=float), interior, sel.unique, Jc


def _arrive_l2(
    system: FilippovSystem, field: _ModeField, t: float, x: FloatArray, rec: Recorder
) -> tuple[float, FloatArray]:
    """Finish the finite-time arrival at ``h = 0`` from the guard's stop at ``‖h‖ = δ``:
    in closed form for a gradient flow at a nondegenerate minimum
    (:func:`_arrive_l2_linearized`), else by straight Newton steps
    (:func:`_arrive_l2_newton`)."""
    arrived = _arrive_l2_linearized(system, field, t, x, rec)
    return arrived if arrived is not None else _arrive_l2_newton(system, field, t, x, rec)


def _arrive_l2_linearized(
    system: FilippovSystem, field: _ModeField, t: float, x: FloatArray, rec: Recorder
) -> tuple[float, FloatArray] | None:
    """The last stretch of a normalized gradient flow ``x' = −g/‖g‖`` into a minimum with
    positive definite Hessian ``H``, on the quadratic model at ``x`` (``None`` when the
    system is not such a flow there).

    The normalized flow runs along the path of the gradient flow ``dx/ds = −g`` at unit
    speed, so its time is the path's arc length. On the model the path is
    ``x(s) = x* + Q e^{−Λs} c`` (``H = QΛQᵀ``, ``c = Qᵀ(x − x*)``, ``x* = x − H⁻¹g``) with
    speed ``‖Λ e^{−Λs} c‖``: the arrival time is the path's length and the dense output
    follows the curve, with velocity ``−g/‖g‖`` of the model at every time (straight steps
    would cut the corner: the direction turns by O(1) on the way in unless ``x − x*`` is
    an eigenvector). The model's error is ``O(‖x − x*‖²)``, rounding-sized at the guard's
    ``‖g‖ = δ``.
    """
    if system.objective is None:
        return None
    f0, B, hx = system.kernel_evaluate(x)
    n = x.size
    if hx.size != n or np.any(f0 != 0.0) or not np.array_equal(B, np.eye(n)):
        return None
    H = system.kernel_jacobian(x, n)
    H = 0.5 * (H + H.T)
    lam, Q = scipy.linalg.eigh(H)
    if not (lam[0] > 1e-8 * max(lam[-1], 1e-300)):
        return None  # singular or indefinite: a degenerate arrival (Newton steps)
    c = (Q.T @ hx) / lam  # coordinates of x − x* in the eigenbasis
    x_star = x - Q @ c
    # The model must be good at this distance: at a nondegenerate minimum the gradient at
    # the predicted x* is O(‖x − x*‖²), at a degenerate one (‖g‖ ~ distance^p) a fixed
    # fraction of ‖g(x)‖.
    try:
        g_star = system.kernel_evaluate(x_star)[2]
    except FloatingPointError:
        return None
    if not float(np.linalg.norm(g_star)) <= _L2_MODEL_TOL * float(np.linalg.norm(hx)):
        return None
    # Arc length on a grid of s, geometric from the fastest mode's time scale to where the
    # slowest mode has decayed below rounding; per interval a 3-point Gauss rule, exact
    # enough for a path this short (its length is ~‖g‖/λ_min).
    s_grid = np.r_[0.0, np.geomspace(1e-3 / lam[-1], 40.0 / lam[0], _L2_ARC_POINTS)]
    nodes, weights = np.polynomial.legendre.leggauss(3)
    mid = 0.5 * (s_grid[1:] + s_grid[:-1])
    half = 0.5 * np.diff(s_grid)
    s_q = mid[:, None] + half[:, None] * nodes[None, :]
    pieces = (_l2_arc_speed(lam, c, s_q.ravel()).reshape(s_q.shape) @ weights) * half
    length = np.r_[0.0, np.cumsum(pieces)]
    if not (np.all(np.isfinite(length)) and length[-1] > 0.0):
        return None
    # s(τ) by cubic Hermite interpolation of the inverse, with ds/dτ = 1/speed exactly at
    # the nodes (monotone: the speed is positive until the arrival).
    speed = _l2_arc_speed(lam, c, s_grid)
    keep = np.r_[True, np.diff(length) > 0.0]
    s_of_tau = CubicHermiteSpline(length[keep], s_grid[keep], 1.0 / speed[keep])
    t_arrive = t + float(length[-1])
    t_start, tau_end = t, float(length[keep][-1])

    def dense(ts: FloatArray) -> FloatArray:
        tau = np.clip(np.asarray(ts, dtype=float) - t_start, 0.0, tau_end)
        decay = np.exp(-np.outer(s_of_tau(tau), lam))
        return np.asarray(x_star + (decay * c) @ Q.T, dtype=np.float64)

    # pieces: the spline's intervals (dense is smooth on each)
    breaks = t_start + length[keep]
    breaks = np.r_[breaks[breaks < t_arrive], t_arrive]
    rec.dense_segment(t, t_arrive, dense, x_star, field.mode, hx / np.linalg.norm(hx), breaks)
    return t_arrive, x_star.copy()


def _l2_arc_speed(lam: FloatArray, c: FloatArray, s: FloatArray) -> FloatArray:
    """``‖Λ e^{−Λs} c‖`` for each ``s``: the gradient-flow speed on the quadratic model."""
    return np.asarray(np.linalg.norm(lam * c * np.exp(-np.outer(s, lam)), axis=1), dtype=np.float64)


def _arrive_l2_newton(
    system: FilippovSystem, field: _ModeField, t: float, x: FloatArray, rec: Recorder
) -> tuple[float, FloatArray]:
    """Finish the finite-time arrival at ``h = 0`` by Newton steps along the flow.

    The guard stops the smooth integration at ``‖h‖ = δ`` (the field is singular at
    ``h = 0``); near a regular arrival ``‖h‖`` decreases linearly in time, so a few Newton
    steps on ``‖h(x + τ v)‖ = 0`` land on ``h = 0`` with an error ``O(δ²)``; near a
    degenerate one (``‖h‖ ~ distance^p``) they converge linearly. They stop when ``‖h‖``
    stops shrinking (rounding) or the step is below the time resolution.
    """
    mode = field.mode
    previous = float("inf")
    for _ in range(_L2_NEWTON_STEPS):
        f0, B, hx = system.kernel_evaluate(x)
        nh = float(np.linalg.norm(hx))
        if nh == 0.0 or nh >= 0.99 * previous:
            break
        previous = nh
        u = hx / nh
        v = f0 - B @ u
        rate = float(u @ (system.kernel_jacobian(x, hx.shape[0]) @ v))
        if rate >= 0:
            break
        tau = -nh / rate
        if tau <= 4 * _EPS * max(1.0, abs(t)):
            break  # below the time resolution: arrived to rounding
        # the recorder keeps its end state frozen; user functions get a writable copy
        x = rec.linear_segment(t, t + tau, x, v, mode, u).copy()
        t = t + tau
    return t, x


def _min_norm_correction(rows: FloatArray, res: FloatArray) -> FloatArray:
    """Smallest ``d`` with ``rows @ d = res`` (rows independent: the manifold's normals).

    Through the normal equations ``rows rowsᵀ y = res``, ``d = rowsᵀ y`` (a k×k Cholesky
    solve, LAPACK's posv called directly: this runs in every right-hand side of a sliding
    mode); falls back to least squares when the normals are dependent (the Cholesky
    factorisation fails).
    """
    with np.errstate(all="ignore"):  # overflow near a pole of h: non-finite, caught later
        _, y, info = dposv(rows @ rows.T, res)
    if info == 0:
        return np.asarray(rows.T @ y, dtype=np.float64)
    return np.asarray(np.linalg.lstsq(rows, res, rcond=None)[0], dtype=np.float64)


def _solve_min_norm(M: FloatArray, a: FloatArray) -> FloatArray:
    """``M⁻¹ a``, or the minimal-norm least-squares solution when ``M`` is singular.

    A singular sliding matrix means the continuation is not unique; the event that
    started the mode is already flagged (``unique=False``) and docs/theory.rst ("Modes and
    the sliding selection") asks for the
    minimal-norm choice.
    """
    # LAPACK's gesv directly (what `np.linalg.solve` wraps), without numpy's per-call
    # overhead: this runs in every right-hand side of a sliding mode. info > 0: singular.
    _, _, sol, info = dgesv(M, a)
    if info == 0:
        return np.asarray(sol, dtype=np.float64)
    return np.asarray(np.linalg.lstsq(M, a, rcond=None)[0], dtype=np.float64)


def _scale(values: FloatArray) -> float:
    return max(1.0, float(np.max(np.abs(values))))
