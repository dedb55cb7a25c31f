"""The tie modes of the ℓ1 (greedy) steepest-descent flow, followed by continuation.

The ℓ1-constrained steepest descent ``x' ∈ −∂‖∇f(x)‖_∞`` moves only coordinates whose
partial derivative has the largest modulus. On a *tie mode* with tie set ``T`` (signs
``σ_T = sign ∇_T f``) the others are frozen, ``ẋ_T = −σ_T ∘ w`` with weights ``w ≥ 0``,
``Σ w = 1``, and the tie ``σ_i ∂_i f = c`` (``i ∈ T``) is kept. Differentiating the tie,
``H_TT ẋ_T = ċ σ_T``, and with ``σ_Tᵀ ẋ_T = −1``::

    ẋ_T = −H_TT⁻¹σ_T / (σ_Tᵀ H_TT⁻¹ σ_T),    ċ = −1 / (σ_Tᵀ H_TT⁻¹ σ_T),

one linear solve with ``H_TT`` per point. The mode is the smooth curve of the bordered
system in ``(x_T, c)``::

    ∇_T f(x_T, x_F) = σ_T c,    σ_Tᵀ (x_T − x_T(τ₀)) = −(τ − τ₀),

which this module follows by predictor–corrector continuation exactly as
:mod:`filippov._continuation_path` follows the sliding curves of the sign flow (Hermite
predictor, Newton corrector, step control from the corrector's distance to the
prediction, the same :class:`~filippov._continuation_path.SlidingBlock` for the solves
with ``H_TT``). Newton's step on the bordered system eliminates ``c`` by its Schur
complement: with ``z = H_TT⁻¹ r₁`` and ``y = H_TT⁻¹ σ_T`` (the second is the tangent's own
solve, kept per factor), ``δc = (σ_Tᵀz − r₂)/(σ_Tᵀy)`` and ``δx_T = y δc − z``.

Events are smooth functions along the curve: a frozen ``j`` reaching the tie,
``c ∓ ∂_j f = 0`` (a *join*, found on the Hermite interpolants of ``c`` and ``∇f``, refined
on the curve), a weight ``w_i = −σ_i ẋ_i`` reaching 0 (a *leave*, refined by ``brentq`` on
the curve), and ``c`` reaching 0 with every index tied (the stationary point, solved for
directly: ``∇f = 0`` by Newton, its time from the linear constraint). At a join the new
weights are the interior solution ``w ∝ σ ∘ H⁻¹σ`` when it is positive (one solve), else
the simplex variational inequality on the dense block
(:func:`~filippov.selection.solve_simplex_vi`), which decides who stays in the tie.
See ``docs/theory.rst`` (the continuation path, tie modes).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.linalg import LinAlgWarning, cho_solve, lu_factor, lu_solve
from scipy.optimize import brentq

from filippov._continuation_path import (
    DIRECT_SIZE,
    EXIT_MARGIN,
    LONG_STEP,
    MAX_NEWTON,
    REFLOOR,
    SHORT_STEP,
    SIMPLE_ROOT,
    START_SHIFT_MAX,
    ContinuationOptions,
    CurveDense,
    GradientTolerance,
    NonFiniteRetry,
    ShortStepErrors,
    SlidingBlock,
    TryBudget,
    bracketed_newton_step,
    cholesky,
    distinct_times,
    finite,
    first_roots,
    first_step,
    hermite,
    hermite_slope,
    mode_scale,
    no_accepted_steps,
    offset_peak,
    quintic_defect,
    returned_up_to,
    shorter_step,
    singular_to_precision,
    zero_tolerance,
)
from filippov._recorder import Recorder, make_mode, record_tie_change
from filippov._rest import NON_UNIQUE_REST_NOTE
from filippov._tie_repelling import (
    REPELLING_NOTE,
    TIE_ROUNDING,
    locate_turn,
    tangent_curvature,
)
from filippov._validation import FloatArray
from filippov.engine.protocol import REACHED_END, Finished, PathFailure, Rest
from filippov.selection import SelectionError, is_p_matrix, simplex_twins, solve_simplex_vi
from filippov.systems import FilippovSystem

_EPS = float(np.finfo(float).eps)
#: Newton iterations of the corrector before the step is shortened: the sign flow's
#: setting (as are the tries allowed in one mode, `TryBudget`).
_MAX_NEWTON = MAX_NEWTON
#: A weight of the interior selection below this (of a total of 1) is not kept in the tie.
_MIN_WEIGHT = 1e-12
#: A join's last point takes the interpolant's tangent only where every weight of the tie
#: is above this (`_join_point`; the sign flow's entries keep the same margin from 1).
_JOIN_WEIGHT_MARGIN = EXIT_MARGIN
#: The tie selection's rates are decided to at least this fraction of the tie value's
#: own rate (`_rate_tolerance`), not only to 1e-12 of the Hessian block's scale.
_RATE_RTOL = 1e-6
#: A tie whose partials at a mode's start are spread over more than this fraction of
#: their mean is not resolved (`_unresolved_tie`).
_TIE_SPREAD = 1e-2
#: A mode's start is moved onto the tie when its spread is above this many zero
#: tolerances (`_TieMode.recentred`; above `REFLOOR` of one after a re-floor). It was 64:
#: see `_TieMode.recentred` for why one.
_RECENTRE_ZTOLS = 1.0


class _TieBlock(SlidingBlock):
    """The sliding block's solver, keeping the last Hessian rows it took: when the block
    is factored from its rows at a point, the gradient's rate along the tangent there is
    ``H[:, T] y = H[T, :]ᵀ y`` (the Hessian is symmetric) from those rows, without one
    more Hessian–vector product.

    A tie needs ``H_TT`` positive definite only on the tie's tangent space ``σ_Tᵀd = 0``
    (where the simplex VI of the weights is monotone and its solution unique), not on
    all of ``R^T``: on a nonconvex objective ``H_TT`` can have one negative eigenvalue
    along ``σ_T`` (then ``q = σ_TᵀH_TT⁻¹σ_T < 0`` and the tie value rises, ``ċ = −1/q``).
    Such a block has no Cholesky factor, but ``H̃ = H_TT + ρ σ_Tσ_Tᵀ`` has one for ``ρ``
    large enough (Finsler's lemma), and the tie's equations need nothing else: on the tie
    ``σ_Tᵀẋ_T = −1``, so ``H_TT ẋ_T = ċ σ_T`` reads ``H̃ ẋ_T = (ċ − ρ) σ_T``, and
    ``ẋ_T = −H̃⁻¹σ_T / q̃``, ``ċ = ρ − 1/q̃`` with ``q̃ = σ_TᵀH̃⁻¹σ_T > 0`` (Newton's step
    likewise, see `_TieMode.correct`). This holds through points where ``H_TT`` itself is
    singular (``ċ = 0`` there). With ``shift = ρ > 0`` the block's `solve` and
    `precondition` apply ``H̃⁻¹`` (its dense double-precision factor at the point solved
    at), not ``H_TT⁻¹``; the callers read ``shift``.

    A tie whose ``H_TT`` is indefinite on its tangent space (a repelling tie: the simplex
    VI is not monotone, and the tie is one of several Filippov solutions there) has no
    such factor for any ``ρ``. The same equations hold for any nonsingular ``H̃`` with
    ``q̃ ≠ 0`` (they are the bordered system's ``[[H_TT, −σ_T], [σ_Tᵀ, 0]]``, regular
    exactly then), so such a block is factored by LU (`lu`, and ``definite`` False): the
    path follows the tie the selection chose, as the event and exact paths do, and the
    selection there is not unique.
    """

    kept: tuple[bytes, np.ndarray, FloatArray] | None = None
    #: The tie's signs σ (every index; set by the tie code before `set` and `add`).
    signs: FloatArray | None = None
    #: ``ρ`` of the factored ``H_TT + ρ σ_Tσ_Tᵀ`` (0: ``H_TT`` itself is factored).
    shift = 0.0
    #: The LU factors of ``H̃`` where it has no Cholesky factor (see above), else None.
    lu: tuple[FloatArray, np.ndarray] | None = None
    #: (a tie's block keeps its double factor: it is shifted, LU-factored or solved
    #: with it, see `precondition` and `solve_unshifted`)
    _generic_single = False

    @property
    def definite(self) -> bool:
        """Whether the block's factor is a Cholesky factor (``H̃`` positive definite)."""
        return self.lu is None

    def snapshot(self) -> tuple[Any, ...]:
        # (the shift and the LU factors belong to the factor: a restore without them
        # left a try's ρ with the snapshot's L, or an LU that `precondition` prefers)
        return (*super().snapshot(), self.shift, self.lu, self.kept)

    def restore(self, snap: tuple[Any, ...]) -> None:
        version = self.version
        super().restore(snap[:-3])
        if self.version != version:
            self.shift, self.lu, self.kept = snap[-3:]

    def _set_factor(self, L: FloatArray) -> None:
        self.lu = None
        super()._set_factor(L)

    def set(self, x: FloatArray, S: np.ndarray) -> None:
        self.leave_least_norm()  # (a new tie: selected again, see `_select`)
        self.shift = 0.0  # (a new tie: its block is tried unshifted first)
        super().set(x, S)

    def add(self, x: FloatArray, j: int) -> None:
        if self.least_norm is not None:
            self.leave_least_norm()
            self.shift = 0.0
            self.S = np.append(self.S, j).astype(np.intp)
            self.refresh(x)
            return
        if not self.shift:
            super().add(x, j)  # (falls back to `refresh` when the bordered step fails)
            return
        self.S = np.append(self.S, j).astype(np.intp)
        self.refresh(x)

    def candidates(self, x: FloatArray, S: np.ndarray | None, joined: list[int]) -> None:
        """The candidate tie ``S`` followed by ``joined`` (``S`` the block's own when
        ``None``). A candidate block with no factor (not positive definite on the tie's
        tangent space) is kept without one: the selection then decides by the simplex VI
        (see `_select`), and `solve` factors whatever block it is asked to solve with."""
        base = self.S if S is None else np.asarray(S, dtype=np.intp)
        try:
            if S is not None:
                self.set(x, S)
            for j in joined:
                self.add(x, j)
        except np.linalg.LinAlgError:
            self.S = np.concatenate((base, joined)).astype(np.intp)
            self.shift = 0.0
            self._set_factor(np.zeros((0, 0)))  # (no factor: `size` is not the block's)

    def follow_least_norm(
        self, x: FloatArray, R: FloatArray, sT: FloatArray, null: FloatArray
    ) -> FloatArray:
        """Solve the tie's equations on the block ``R = H_TT(x)`` (the block's ``S``),
        singular on the tie's tangent space along ``null`` (an orthonormal basis), with
        their least-norm solutions from here on; returns the weights ``w = σ∘y/q`` of the
        least-norm tangent. ``LinAlgError`` where that is not possible.

        The factor is `SlidingBlock`'s least-norm one of ``H̃ = H_TT + ρσσᵀ`` (``ρ`` as
        `_refresh_shifted` takes it first): ``H̃`` is singular exactly along the null
        directions ``d`` of ``H_TT`` with ``σᵀd = 0`` where ``H_TT`` is semidefinite, and
        its least-norm solves give the tangent and Newton steps orthogonal to them: the
        split of the weights with the least ``‖ẋ‖₂`` (the event path's choice), and the
        state's part along them kept from the mode's start."""
        k = sT.size
        R = 0.5 * (R + R.T)
        rho = 2.0 * float(np.abs(R).sum(axis=1).max()) / k or 1.0
        self.lu = None
        self.shift = rho
        self.enter_least_norm(x, R + rho * np.outer(sT, sT), null)
        y = self._least_norm_apply(sT)
        q = float(sT @ y)
        if not q > 0.0:
            self.leave_least_norm()
            raise np.linalg.LinAlgError("the tie's least-norm tangent is not a descent")
        return np.asarray(sT * y / q)

    def refresh(self, x: FloatArray) -> None:
        if self.least_norm is not None:
            # (the least-norm factor at x, along the null space it follows: `LinAlgError`
            # where the block is no longer singular along it)
            assert self.signs is not None
            self.n_refresh += 1
            self.excess = 0
            sT = self.signs[self.S]
            M = self._symmetric_square(x) + self.shift * np.outer(sT, sT)
            self._factor_least_norm(M, self.least_norm[2])
            self.key = x.tobytes()
            return
        if not self.shift:
            try:
                super().refresh(x)
                return
            except np.linalg.LinAlgError:
                if self.signs is None:
                    raise
        self._refresh_shifted(x)

    def _refresh_shifted(self, x: FloatArray) -> None:
        """Factor ``H_TT(x) + ρ σ_Tσ_Tᵀ`` (dense), or raise ``LinAlgError`` when ``H_TT`` is
        not positive definite on ``σ_Tᵀd = 0`` (no ``ρ`` tried gives a factor)."""
        assert self.signs is not None
        S = self.S
        sT = self.signs[S]
        if self.lm is not None:
            self.rec.njev += 1
            R = self.lm.block(x, S)
        else:
            R = self.rows(x, S)[:, S]
        R = 0.5 * (R + R.T)
        # ρ‖σ_T‖² = 2‖H_TT‖∞, twice a bound of the block's negative eigenvalue: enough
        # unless the curvature on the tangent space is small against the coupling
        # (Finsler's ρ then grows like coupling² / curvature); two larger tries, then the
        # tie is given up. A factor whose pivots fall to 1e-6 of the largest is no factor
        # (ρ at the edge of the range that works leaves a nearly singular H̃).
        # (a one-index tie with H_jj = 0 needs any ρ > 0: 1 then)
        rho = (self.shift if self.definite else 0.0) or (
            2.0 * float(np.abs(R).sum(axis=1).max()) / S.size or 1.0
        )
        for _ in range(3):
            try:
                L = cholesky(R + rho * np.outer(sT, sT))
                pivots = np.abs(np.diag(L))
            except np.linalg.LinAlgError:
                pivots = np.zeros(1)
            if not pivots.min() > 1e-6 * pivots.max():
                rho *= 8.0
                continue
            self._keep_shifted(x, rho, L, None)
            return
        # Indefinite on the tangent space: LU of H̃ (any ρ leaves the tie's equations as
        # they are; see the class), if H̃ is regular and q̃ ≠ 0. det H̃ = det H_TT·(1 +
        # ρ σᵀH_TT⁻¹σ) vanishes for one ρ at most, which moves with x: of three ρ a factor
        # of 8 apart, the one whose factor is the best conditioned (by its pivots) is
        # taken afresh at each point (a ρ kept from an earlier point stopped the run where
        # H̃ became singular on the way).
        rho0 = 2.0 * float(np.abs(R).sum(axis=1).max()) / S.size or 1.0
        best: tuple[float, float, tuple[FloatArray, np.ndarray]] | None = None
        for rho in (rho0, 8.0 * rho0, rho0 / 8.0):
            with warnings.catch_warnings():
                # (a singular H̃ is one outcome this judges by the pivots below, not news
                # for the user: scipy's LinAlgWarning is silenced here)
                warnings.simplefilter("ignore", LinAlgWarning)
                lu = lu_factor(R + rho * np.outer(sT, sT), check_finite=False)
            pivots = np.abs(np.diag(lu[0]))
            ratio = float(pivots.min() / pivots.max()) if pivots.max() > 0.0 else 0.0
            if best is None or ratio > best[0]:
                best = (ratio, rho, lu)
        assert best is not None
        ratio, rho, lu = best
        y = lu_solve(lu, sT, check_finite=False) if ratio > 1e-10 else None
        # (|q̃| is at most ‖y‖₁‖σ‖₁: a q̃ far below that is a bordered system at rounding)
        if y is None or not abs(float(sT @ y)) > 1e-10 * float(np.abs(y).sum()) * S.size:
            raise np.linalg.LinAlgError(
                f"the tie block of {S.size} indices at this point is singular on the tie's "
                "tangent space σ_Tᵀd = 0 (the bordered system [[H_TT, −σ], [σᵀ, 0]] of the "
                "tie's equations is singular)"
            )
        self._keep_shifted(x, rho, lu[0], lu)

    def _keep_shifted(
        self,
        x: FloatArray,
        rho: float,
        factor: FloatArray,
        lu: tuple[FloatArray, np.ndarray] | None,
    ) -> None:
        """Keep the factor of ``H̃ = H_TT + ρσσᵀ`` at ``x``: Cholesky's ``L``, or LU's."""
        self.shift = rho
        self.n_refresh += 1
        self.excess = 0
        self._set_factor(factor)
        self.lu = lu
        self.key = x.tobytes()

    def precondition(self, r: FloatArray) -> FloatArray:
        if not self.shift or self.least_norm is not None:
            return super().precondition(r)
        # (the shifted factor in double precision, whatever the block's size: it is the
        # solve itself, not a preconditioner)
        if self.lu is not None:
            return np.asarray(lu_solve(self.lu, r, check_finite=False))
        return np.asarray(cho_solve((self.L, True), r, check_finite=False))

    def solve_unshifted(self, x: FloatArray, b: FloatArray) -> FloatArray:
        """``H_TT(x)⁻¹ b`` also for a shifted block (by Sherman–Morrison: ``H_TT = H̃ −
        ρσσᵀ``); ``LinAlgError`` where ``H_TT`` is singular."""
        y = self.solve(x, b, rtol=1e-13)
        if not self.shift:
            return y
        assert self.signs is not None
        sT = self.signs[self.S]
        ys = self.precondition(sT)
        denominator = 1.0 - self.shift * float(sT @ ys)
        if not abs(denominator) > 1e-12:
            raise np.linalg.LinAlgError("the Hessian block is singular")
        return y + (self.shift * float(sT @ y) / denominator) * ys

    def solve(
        self,
        x: FloatArray,
        b: FloatArray,
        guess: FloatArray | None = None,
        rtol: float = 1e-13,
        atol: float = 0.0,
        guess_product: FloatArray | None = None,
    ) -> FloatArray:
        if self.least_norm is not None:
            if self.key != x.tobytes():
                self.refresh(x)
            self.last_product = None
            return self._least_norm_apply(b)
        if self.size != self.S.size:  # (a candidate block without a factor)
            self.refresh(x)
        if not self.shift:
            try:
                y = super().solve(x, b, guess, rtol, atol, guess_product)
            except np.linalg.LinAlgError:
                if not self.shift:  # (the refresh inside found no shifted factor either)
                    raise
            else:
                if not self.shift:
                    return y
                # (a refresh inside switched to the shifted factor: its solve, below)
        # The shifted block is solved directly with its factor at x (CG would need the
        # unshifted H_TT positive definite).
        if self.key != x.tobytes():
            self._refresh_shifted(x)
        self.last_product = None
        return self.precondition(b)

    def rows(self, x: FloatArray, rows: np.ndarray) -> FloatArray:
        R = super().rows(x, rows)
        self.kept = (x.tobytes(), np.asarray(rows), R)
        return R

    def square(self, x: FloatArray, S: np.ndarray) -> FloatArray:
        # A tie's block from its rows, which are kept: the tie's products at the same
        # point are then taken from them (`product_from_rows`), not evaluated again.
        if self.lm is not None:
            return super().square(x, S)
        return self.rows(x, S)[:, S]

    def product_from_rows(self, x: FloatArray, y: FloatArray) -> FloatArray | None:
        """``H [y; 0]`` (``y`` on the block) from the rows kept at ``x``, if they are the
        block's."""
        if self.kept is None:
            return None
        key, rows, R = self.kept
        if key != x.tobytes() or not np.array_equal(rows, self.S):
            return None
        return np.asarray(R.T @ y)


@dataclass
class _TiePoint:
    """A point of a tie curve: time in the mode, state, gradient, tie value ``c``, the
    tangent ``ẋ_T``, ``ċ`` and the gradient's rate ``H ẋ`` (every row)."""

    tau: float
    x: FloatArray
    g: FloatArray
    c: float
    u: FloatArray
    cdot: float
    gdot: FloatArray
    #: ``(x_T, c)`` and ``(ẋ_T, ċ)`` once asked for (see `_z`, `_dz`): the Hermite
    #: predictors of the following steps read them again.
    z: FloatArray | None = field(default=None, repr=False, compare=False)
    dz: FloatArray | None = field(default=None, repr=False, compare=False)


class _TieMode:
    """One tie mode: the curve ``∇_T f = σ_T c``, ``σ_Tᵀ(x_T − x_T(0)) = −τ``, frozen ``x_F``."""

    def __init__(
        self,
        block: _TieBlock,
        x: FloatArray,
        g: FloatArray,
        sigma: FloatArray,
        opts: ContinuationOptions,
        g_scale: float,
        t_start: float = 0.0,
    ) -> None:
        self.block = block
        #: The mode's start time (τ = 0), for messages in the solution's time.
        self.t_start = t_start
        self.T = block.S
        self.sT = sigma[self.T].copy()
        self.x0 = x
        self.x0T = x[self.T].copy()
        #: Records the mode up to its last accepted point when it fails inside (set by
        #: `_run_tie_mode`, as the sign flow's `keep_accepted`).
        self.keep_accepted: Callable[[], None] = no_accepted_steps
        #: The step cap of the retries toward a region where the objective is not finite
        #: (set by `_run_tie_mode`; `_midpoint_error` reports to it too).
        self.retry = NonFiniteRetry(math.inf)
        ties = self.sT * g[self.T]
        self.c0 = float(np.mean(ties))
        #: The tie's spread at the start, kept along the mode: a join is located with the
        #: guard offset of its index (up to ``zero_tol`` of the gradient's scale), so the
        #: start is on the curve ``∇_T f = σ_T c + δ`` rather than off ``∇_T f = σ_T c`` by
        #: that much (which no step of the corrector's tolerance could ever reach).
        self.delta = self.sT * (ties - self.c0)
        self.F = np.flatnonzero(sigma == 0)
        self.opts = opts
        self.g_scale = g_scale
        #: The zero tolerance of the mode's join guards, on the tie value at its start
        #: (see `mode_scale`), the gradient interpolant's tolerance in the step control,
        #: and the frozen index whose join ended the mode (-1: none).
        scale = mode_scale(self.c0, g_scale)
        #: The gradient's scale of the mode's tolerances (see `mode_scale`).
        self.scale = scale
        self.ztol = zero_tolerance(scale, opts.zero_tol)
        self.g_tol = GradientTolerance(1e-6 * scale)
        self.located = -1
        # H_TT⁻¹σ_T by the block's current factor (the chord iterations' Schur complement)
        self._chord: tuple[Any, FloatArray] | None = None
        #: ``(offset, offset[F])`` of the last guards (see `_guards`): taken once a mode.
        self.offset_F: tuple[FloatArray, FloatArray] | None = None
        #: The guards' offsets as the mode ended (`_run_tie_mode` drops those that have
        #: done their work): the joins at its end are read with them, as it located them.
        self.offset: FloatArray | None = None
        #: Whether the tie attracts at the last point it was checked at (``None``: not
        #: yet known; see `_watch_repelling`), and that point's position in the mode's
        #: points while it attracts (where a search for the turn to repelling starts).
        self.attracting: bool | None = None
        self.checked = 0
        #: ``B x₀`` on a linear model (see `_z0`), once asked for.
        self._bx0: FloatArray | None = None
        #: ``(g, ℓ'(z)/m, ∂_T f)`` of the last `correct` with ``only``: see `complete`.
        self.last_partial: tuple[FloatArray, ...] | None = None

    def tol(self, x: FloatArray) -> float:
        return self.opts.atol + self.opts.rtol * float(np.abs(x).max())

    def recentred(self, g: FloatArray, refloored: bool) -> tuple[FloatArray, FloatArray] | None:
        """The mode's start moved onto the tie itself (``δ = 0``, at the same time: Newton
        on the bordered system to rounding), with the gradient there; ``None`` where the
        start's spread ``δ`` is within `_RECENTRE_ZTOLS` zero tolerances of the mode
        (within `REFLOOR` of one when the mode is taken again after a re-floor,
        ``refloored``) or within the rounding of the gradient ``g`` at the start, or where
        the move would exceed `START_SHIFT_MAX` tolerances.

        Why: the spread is kept along the mode (`__init__`) and so, in absolute terms,
        from mode to mode: it is what locating a join left, up to ``zero_tol`` of the tie
        value *then*. Where the gradient falls by orders of magnitude (a Poisson model
        started where ``‖∇f‖ = 1e19``) a spread of 2.9e-3, left by joins at ``c ≈ 3e10``,
        was carried to ``c = 0.15``, where the partials of the tie of 8 were 2% apart: the
        curve followed was no tie (the flow's own tie attracts; this curve kept the
        offset), and its distance ``H⁻¹δ`` to the tie grew as the Hessian fell. Moved onto
        the tie while that distance is small, the start has the spread of its own scale.
        The move is a correction of the path's error, as the sign flow's starts are moved
        onto their curves (`_continuation_path._Mode.off_curve`, by as many tolerances at
        most).

        When: as soon as the spread is above the mode's zero tolerance and the gradient's
        rounding, and after a re-floor above the zero tolerance of the *next* re-floor's
        scale (`REFLOOR` of this one's). The Hessian falls with the gradient, so the move,
        ``H⁻¹δ``, grows about as fast as the scale falls: a spread left alone until it is
        many tolerances (it was 64 at a mode's start, one after a re-floor) could be too
        far to move by then. A spread of 1.8e-5, the rounding of a join at ``c = 1e11``,
        was 18 zero tolerances at ``c = 1e6``, and too far to move at ``c = 600``; it
        reached 2 % of the tie value at ``c = 2e-4``: −4, "not resolved" (3 of 120 Poisson
        models from ``|∇f| ≈ 1e40`` at rtol 1e-12; 0 now, and the other 1077 runs of
        Poisson, logistic and log-cosh models at rtol 1e-6 to 1e-12 kept their events).
        """
        above = REFLOOR if refloored else _RECENTRE_ZTOLS
        spread = float(np.abs(self.delta).max())
        if self.T.size < 2 or not (spread > above * self.ztol and self.c0 > 0.0):
            return None
        if spread <= _gradient_rounding(self.block, self.x0, g):
            # (a spread within the gradient's rounding is no offset to take out: moving
            # such starts onto their ties made the events of ill-conditioned quadratics
            # started 1e-7 from their minimizer recur near the rest until the Zeno guard
            # stopped runs that reach it without the move)
            return None
        delta = self.delta
        self.delta = np.zeros_like(delta)
        try:
            corrected = self.correct(0.0, self.x0T.copy(), self.c0, tight=True, fresh=True)
        except (np.linalg.LinAlgError, FloatingPointError):
            corrected = None
        finally:
            self.delta = delta
        if corrected is None:
            return None
        x, g, _ = corrected
        if not float(np.abs(x - self.x0).max()) <= START_SHIFT_MAX * self.tol(self.x0):
            return None
        return x, g

    def _chord_y(self) -> FloatArray:
        version = self.block.version
        if self._chord is None or self._chord[0] != version:
            self._chord = (version, self.block.precondition(self.sT))
        return self._chord[1]

    def correct(
        self,
        tau: float,
        xs: FloatArray,
        c: float,
        tight: bool = False,
        fresh: bool = False,
        only: int | None = None,
    ) -> tuple[FloatArray, FloatArray, float] | None:
        """Newton on the bordered system at ``tau`` from ``(xs, c)``; ``None`` if it does
        not converge. ``tight`` and ``fresh`` as for the sign flow's corrector: to
        rounding, and with the gradient evaluated at the state returned.

        ``only``: on a linear model, the gradient returned is NaN but on ``T`` and at the
        frozen index ``only`` (a join guard's iterates read nothing else: the pass over
        the other free columns is left to `complete`, for the point kept)."""
        T, sT, block = self.T, self.sT, self.block
        x = self.x0.copy()
        x[T] = xs
        xT = x[T]  # (a copy, kept equal to x[T]: not gathered again at each iteration)
        last = np.inf
        done = False
        no_chord = False
        g: FloatArray | None = None
        gT = np.zeros(0)
        # (once: the corrections move x by far less than its size)
        tol = self.tol(x)
        for it in range(_MAX_NEWTON):
            if g is None:
                g, gT = self._gradient(x, xT)
            if done:
                return x, self._completed(x, g, gT, only), c
            r1 = gT - sT * c - self.delta
            r2 = float(sT @ (xT - self.x0T)) + tau
            chord = it < 4 and block.size == T.size and not no_chord
            if chord:
                # chord steps with the factor as it is (the predictor is within tolerance)
                z = block.precondition(r1)
                y = self._chord_y()
            else:
                z = block.solve(x, r1, rtol=1e-10)
                y = block.solve(x, sT, rtol=1e-10)
            q = float(sT @ y)
            if not (q > 0.0 or (q != 0.0 and not block.definite)):
                raise np.linalg.LinAlgError("the tie block is not positive definite")
            # (a shifted block solves with H̃ = H_TT + ρσσᵀ: since σᵀδx = −r2, Newton's
            # H_TT δx − σ δc = −r1 reads H̃ δx − σ (δc − ρ r2) = −r1; see `_TieBlock`)
            dc_shifted = (float(sT @ z) - r2) / q
            dx = y * dc_shifted - z
            size = float(np.abs(dx).max())
            if not size < 2 * last and size > tol:
                if chord:
                    # The factor (taken at an earlier point) is too far from H_TT here for
                    # chord steps: where the curvature changes fast against its own size
                    # (a weak ridge far out, where a sample's logistic weight switches on
                    # and H_TT ≈ λI), chord steps diverged at every step size and the run
                    # ended −1. The step is dropped and the corrections go on with solves
                    # at x (as the sign flow's corrector does).
                    no_chord = True
                    continue
                return None  # diverging
            xT += dx
            x[T] = xT
            c += dc_shifted + block.shift * r2
            if not tight and size <= (0.1 if fresh else 1.0) * tol:
                # (the gradient before this last, small correction)
                return x, self._completed(x, g, gT, only), c
            g = None
            if tight:
                scale = max(float(np.abs(x).max()), float(np.abs(self.x0).max()))
                # To rounding; or, for an ill-conditioned block, where full Newton steps
                # (from the fifth on; the first four are chord steps, which may converge
                # slowly) stop shrinking within the tolerance: their floor is about
                # cond(H_TT)·eps there, above 64 eps, and waiting for the latter never ends.
                stalled = it >= 5 and size > 0.5 * last and size <= tol
                done = size <= 64 * _EPS * scale or stalled
            else:
                done = size <= tol
            last = size
        return None

    def _gradient(self, x: FloatArray, xT: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The corrector's gradient at ``x`` (``xT = x[T]``): ``(g, g_T)``.

        On a dense linear model only ``∂_T f`` is taken, from the tie's columns, at
        ``z = B x₀ + B_T (x_T − x₀_T)`` (``x_F`` is frozen along a tie mode): ``m·|T|``
        instead of two passes over all of ``B``, which made 70 % of a d = 1000 ℓ1 run;
        ``g`` is then ``(ℓ'(z)/m, x)``, which `_completed` turns into the whole gradient
        if the corrector returns it. ``z`` is remembered for ``x``: the block's solves at
        ``x`` take their weights from it.
        """
        block = self.block
        lm = block.lm
        if lm is None:
            g = block.grad(x)
            return g, g[self.T]
        block.rec.nfev += 1
        BT = lm.columns(self.T)
        z = self._z0() + BT @ (xT - self.x0T)
        lm.remember(x, z)
        dl = lm.dloss(z) / lm.m
        gT = finite(BT.T @ dl + lm.lam * xT, "grad(x)")
        return dl, gT

    def _z0(self) -> FloatArray:
        """``B x₀`` of the mode's start (remembered, or one pass, once a mode)."""
        lm = self.block.lm
        assert lm is not None
        if self._bx0 is None:
            z0 = lm.exact_z(self.x0)
            self._bx0 = lm.B @ self.x0 if z0 is None else z0
        return self._bx0

    def _completed(
        self, x: FloatArray, g: FloatArray, gT: FloatArray, only: int | None = None
    ) -> FloatArray:
        """The whole gradient from `_gradient`'s ``(g, g_T)`` (at the state it was taken
        at, whose ``x_F`` is ``x``'s): on a linear model a pass over the free columns.
        With ``only``, on ``T`` and at ``only`` alone, NaN elsewhere (see `correct`); the
        loss's derivatives are kept for `complete`."""
        lm = self.block.lm
        if lm is None:
            return g
        if only is not None:
            out = np.full(x.size, np.nan)
            out[self.T] = gT
            out[only] = finite(np.asarray([lm.column(only) @ g + lm.lam * x[only]]), "grad(x)")[0]
            self.last_partial = (out, g, gT)
            return out
        return finite(lm.back_free(g, self.T, x, gT), "grad(x)")

    def complete(
        self, x: FloatArray, g: FloatArray, partial: tuple[FloatArray, ...] | None
    ) -> FloatArray:
        """The whole gradient at ``x`` from ``g``, returned by `correct` with ``only``, and
        ``partial``, `last_partial` read right after that call; ``g`` itself when it is
        whole already (not a linear model, or no ``only``)."""
        lm = self.block.lm
        if lm is None or partial is None or partial[0] is not g:
            return g
        return finite(lm.back_free(partial[1], self.T, x, partial[2]), "grad(x)")

    def point(
        self,
        tau: float,
        x: FloatArray,
        g: FloatArray,
        c: float,
        guess: tuple[FloatArray, float] | None = None,
        solved: FloatArray | None = None,
    ) -> _TiePoint:
        """The tangent at a point of the curve: one solve ``y = H̃⁻¹σ_T`` (``H̃ = H_TT +
        ρσ_Tσ_Tᵀ``, ``ρ`` the block's shift, usually 0), ``ẋ_T = −y/q``, ``ċ = ρ − 1/q``
        with ``q = σ_Tᵀy`` (see `_TieBlock`).

        ``guess``: an estimate ``(ẋ_T, ċ)`` of the tangent (the conjugate gradients start
        from ``y = ẋ_T / (ċ − ρ)``); ``solved``: ``y`` itself, when the selection solved
        for it at this point (the mode's first)."""
        T, sT, block = self.T, self.sT, self.block
        if solved is not None:
            y = solved
            block.last_product = None
        else:
            y_guess = None
            if guess is not None and guess[1] != block.shift:
                y_guess = guess[0] / (guess[1] - block.shift)
            y = block.solve(x, sT, guess=y_guess, rtol=1e-10)
        q = float(sT @ y)
        if not (q > 0.0 or (q != 0.0 and not block.definite)):
            raise np.linalg.LinAlgError("the tie block is not positive definite")
        Hy = block.last_product
        if Hy is None:  # solved directly: from the block's rows, or one product
            Hy = block.product_from_rows(x, y)
        if Hy is None:
            v = np.zeros(x.size)
            v[T] = y
            Hy = block.hvp_full(x, v)
        return _TiePoint(tau, x, g, c, -y / q, block.shift - 1.0 / q, -Hy / q)

    def rest_point(self, tau: float, xs: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        """Where ``c`` reaches 0: ``∇_T f = 0`` by Newton to rounding from ``xs`` (near
        ``τ``), its time from the linear constraint.

        At a degenerate minimizer (a singular Hessian there: ``f = Σ (x_i − a_i)⁴``)
        Newton converges only linearly, at a steady rate ``θ`` (2/3 on a quartic: each
        step is a third of the distance left). There the step is lengthened by
        ``1/(1 − θ)``, the whole distance that the rate predicts, when that lowers the
        gradient more than Newton's own step does; and the iteration stops once the
        distance left, ``θ/(1 − θ)`` times the last step, is within the tolerance. (With
        Newton's step alone, a quartic's rest reached from 0.05 away, where the tie
        value's zero on its interpolant put it, needed some 40 steps to the tolerance; the
        run ended −1 after 24.) ``PathFailure`` (−1) when it does not converge.
        """
        T, block = self.T, self.block
        x = self.x0.copy()
        x[T] = xs
        last = np.inf
        theta_last = np.nan
        g = block.grad(x)
        for it in range(3 * _MAX_NEWTON):
            try:
                delta = block.solve_unshifted(x, g[T])
            except np.linalg.LinAlgError:
                # (a singular Hessian at the state: on the minimizer itself, where the
                # lengthened step can land, the gradient is its rounding there)
                if it > 0 and float(np.abs(g).max()) <= _gradient_rounding(block, x, g):
                    return -float(self.sT @ (x[T] - self.x0T)), x, g
                delta = _least_norm_newton_step(block, x, T, g[T])
            size = float(np.abs(delta).max())
            theta = size / last
            x_new = x.copy()
            x_new[T] -= delta
            g_new = block.grad(x_new)
            if it >= 2 and 0.2 <= theta <= 0.95 and abs(theta - theta_last) <= 0.1 * theta:
                # (linear convergence at a steady rate: a singular Hessian at the root)
                x_far = x.copy()
                x_far[T] -= delta / (1.0 - theta)
                g_far = block.grad(x_far)
                if float(np.abs(g_far[T]).max()) < float(np.abs(g_new[T]).max()):
                    x_new, g_new = x_far, g_far
            x, g = x_new, g_new
            scale = max(float(np.abs(x).max()), float(np.abs(self.x0).max()))
            tol = self.tol(x)
            # To rounding; or where the distance left by the steps' contraction is within
            # the tolerance; or, for an ill-conditioned block, where the steps stop
            # shrinking within the tolerance (their floor is about cond(H_TT)·eps, above
            # 64 eps).
            left = theta / (1.0 - theta) * size if theta < 1.0 else np.inf
            if (
                size <= 64 * _EPS * scale
                or (it >= 2 and left <= tol)
                or (it >= 2 and size > 0.5 * last and size <= tol)
            ):
                return -float(self.sT @ (x[T] - self.x0T)), x, g
            last, theta_last = size, theta
        raise PathFailure(
            -1,
            "Newton's method did not converge onto the stationary point near "
            f"t = {self.t_start + tau:.12g}",
        )


def _least_norm_newton_step(
    block: _TieBlock, x: FloatArray, T: np.ndarray, gT: FloatArray
) -> FloatArray:
    """The least-norm Newton step ``H_TT⁺ g_T`` onto ``∇_T f = 0`` where ``H_TT`` is
    singular (a valley of minimizers: a factorization's rescalings): the step normal to
    the valley, to the nearest of its stationary points. Eigenvalues within
    ``k·eps`` of the largest count as zero; ``LinAlgError`` when ``g_T`` has a part along
    them beyond the rounding of ``H_TT`` times the step (no stationary point that a
    Newton step reaches: the failure is reported as before).

    (A greedy flow of a rank-1 factorization without a ridge reached its rest on the
    valley, where the factor of ``H_TT`` failed at Newton's first step, and ended −1;
    the event path rests there.)"""
    H = block.square(x, T)
    H = 0.5 * (H + H.T)
    lam, V = np.linalg.eigh(H)
    top = float(np.abs(lam).max()) if lam.size else 0.0
    if not top > 0.0:
        raise np.linalg.LinAlgError("the Hessian block is zero")
    flat = np.abs(lam) <= T.size * _EPS * top
    c = V.T @ gT
    step = V[:, ~flat] @ (c[~flat] / lam[~flat])
    along = float(np.abs(c[flat]).max()) if flat.any() else 0.0
    if along > 64 * T.size * _EPS * top * max(float(np.abs(step).max()), float(np.abs(x).max())):
        raise np.linalg.LinAlgError(
            "the Hessian block is singular and the gradient has a part along its null space"
        )
    return np.asarray(step)


def _gradient_rounding(block: _TieBlock, x: FloatArray, g: FloatArray) -> float:
    """A bound on the gradient's rounding at ``x``: 64 times its change when every
    coordinate moves by one ulp (that change is the rounding of its terms or ``‖H‖·ulp(x)``,
    whichever is larger). Started near the stationary point, the run's start scale can
    be below it: the gradient at the rest point is then rounding, not a missed join."""
    x_up = np.nextafter(x, np.inf)
    g_up = block.grad(x_up)
    return 64.0 * float(np.abs(g_up - g).max())


def _stuck_reason(tm: _TieMode, x: FloatArray) -> str:
    """What a tie mode whose steps fell to rounding is told about the cause: a nearly
    singular block of the tied indices when its condition number (taken now, on the
    failure's way out) is beyond 1e8, where the curve is determined only far above the
    tolerance (collinear features under a ridge of 1e-12 were told "a discontinuity of
    the gradient?"); else that question."""
    T = tm.T
    if T.size:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                H = tm.block.square(x, T)
                cond = float(np.linalg.cond(0.5 * (H + H.T)))
            except (np.linalg.LinAlgError, FloatingPointError, ValueError):
                cond = float("nan")
        if not cond <= 1e8:
            return (
                f"the Hessian block of the tied indices {_brief(T)} has condition number "
                f"{cond:.3g}: nearly singular (collinear features under a weak ridge?), "
                "its curve is determined only far above the tolerance"
            )
    return "a discontinuity of the gradient?"


def _brief(indices: np.ndarray) -> str:
    shown = ", ".join(str(int(i)) for i in indices[:8])
    return f"{{{shown}{', …' if indices.size > 8 else ''}}}"


def _guards(tm: _TieMode, p: _TiePoint, offset: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Join guards ``c − ∂_j f`` and ``c + ∂_j f`` (``j`` frozen, plus offsets) and the
    zero guard ``c`` (last), with their rates along the curve."""
    F = tm.F
    if tm.offset_F is None or tm.offset_F[0] is not offset:
        tm.offset_F = (offset, offset[F])
    gF, dF, off = p.g[F], p.gdot[F], tm.offset_F[1]
    vals = np.concatenate((p.c - gF + off, p.c + gF + off, [p.c]))
    rates = np.concatenate((p.cdot - dF, p.cdot + dF, [p.cdot]))
    return vals, rates


def _z(tm: _TieMode, p: _TiePoint) -> FloatArray:
    """``(x_T, c)`` of a point (the curve's unknowns; kept on the point, read-only)."""
    if p.z is None:
        z = np.empty(tm.T.size + 1)
        z[:-1] = p.x[tm.T]
        z[-1] = p.c
        z.flags.writeable = False
        p.z = z
    return p.z


def _dz(p: _TiePoint) -> FloatArray:
    """``(ẋ_T, ċ)`` of a point (kept on the point, read-only)."""
    if p.dz is None:
        d = np.empty(p.u.size + 1)
        d[:-1] = p.u
        d[-1] = p.cdot
        d.flags.writeable = False
        p.dz = d
    return p.dz


def _hermite_z(tm: _TieMode, a: _TiePoint, b: _TiePoint, h: float, s: Any) -> FloatArray:
    """``(x_T, c)`` on the Hermite interpolant of the step ``[a, b]`` at fraction ``s``."""
    return np.asarray(hermite(_z(tm, a), _dz(a), _z(tm, b), _dz(b), h, s))


def _slope_guess(tm: _TieMode, a: _TiePoint, b: _TiePoint, h: float, tau: float) -> Any:
    """``(ẋ_T, ċ)`` at ``tau`` by the step's Hermite interpolant (error O(h³))."""
    s = (tau - a.tau) / h
    d = np.asarray(hermite_slope(_z(tm, a), _dz(a), _z(tm, b), _dz(b), h, s))
    return d[:-1], float(d[-1])


def _curve_point(
    tm: _TieMode,
    a: _TiePoint,
    b: _TiePoint,
    h: float,
    tau: float,
    with_tangent: bool,
    anchor: tuple[float, FloatArray] | None = None,
    only: int | None = None,
) -> tuple[FloatArray, FloatArray, float, _TiePoint | None]:
    """The point of the curve at ``tau`` in the step ``[a, b]`` (to rounding, gradient
    evaluated there), with its tangent when asked.

    ``anchor``: ``(τ_s, z_s)``, a point of the curve solved in this step; the corrector
    then starts from the step's interpolant shifted by its error at ``τ_s``, ``z_s −
    z_I(τ_s)``. The interpolation error is smooth in ``τ`` (``O(tol)`` on the step, with a
    slope of ``O(tol/h)``), so that start is off the curve by ``O(|τ − τ_s|/h)``
    tolerances, against about one from the interpolant (and by at most twice the
    interpolant's error after a bisection's long move). A root search's Newton iterates
    after the first move by far less than ``h`` (4e-9 to 2e-6 of it on the logistic
    benchmarks, see `_continuation_path._Shift`): they start at rounding and take one
    correction to it instead of three or four, each two passes over the tie's columns (on
    the d = 300 logistic benchmark, 4.6 gradients per iterate made two thirds of the
    run's; two now).
    """
    z = _hermite_z(tm, a, b, h, (tau - a.tau) / h)
    if anchor is not None:
        tau_s, z_s = anchor
        z = z + (z_s - _hermite_z(tm, a, b, h, (tau_s - a.tau) / h))
    corrected = tm.correct(tau, z[:-1], float(z[-1]), tight=True, fresh=True, only=only)
    if corrected is None:
        corrected = tm.correct(tau, z[:-1], float(z[-1]), fresh=True, only=only)
    if corrected is None:
        raise PathFailure(
            -1,
            "the corrector did not converge while locating an event near "
            f"t = {tm.t_start + tau:.12g}",
        )
    x, g, c = corrected
    p = tm.point(tau, x, g, c, _slope_guess(tm, a, b, h, tau)) if with_tangent else None
    return x, g, c, p


def _midpoint_error(
    tm: _TieMode, cur: _TiePoint, new: _TiePoint, h: float
) -> tuple[float, float] | None:
    """The dense output's error at the step's midpoint (as the sign flow's continuation
    measures it): ``(state's in units of its tolerance, gradient's)``; ``None`` when the
    corrector fails there; ``inf`` where the curve is not finite (as the sign flow's)."""
    tau = cur.tau + 0.5 * h
    z = _hermite_z(tm, cur, new, h, 0.5)
    try:
        corrected = tm.correct(tau, z[:-1], float(z[-1]))
    except FloatingPointError:
        tm.retry.failed(cur.tau, h)
        return math.inf, math.inf
    except np.linalg.LinAlgError:
        return None
    if corrected is None:
        return None
    xm, gm, _ = corrected
    g_pred = hermite(cur.g, cur.gdot, new.g, new.gdot, h, 0.5)
    err_x = float(np.abs(xm[tm.T] - z[:-1]).max()) / tm.tol(xm)
    return err_x, float(np.abs(gm - g_pred).max())


def _refine_join(
    tm: _TieMode, cur: _TiePoint, new: _TiePoint, h: float, tau: float, k: int, offset: FloatArray
) -> _TiePoint | None:
    """The first ``τ`` in the step where join guard ``k`` (see :func:`_guards`) is 0 on
    the curve: Newton with the slope of the guard's Hermite interpolant, inside a bracket
    every evaluation shrinks, bisecting when Newton leaves it or stalls (as the sign
    flow's entries are located). ``None`` when the guard stays clearly positive on the
    curve up to the step's end (the guard read at the step's end was off: see below)."""
    nF = tm.F.size
    j, side = int(tm.F[k % nF]), (-1.0 if k < nF else 1.0)
    V0, R0 = _guards(tm, cur, offset)
    V1, R1 = _guards(tm, new, offset)
    G0, D0, G1, D1 = V0[k], R0[k], V1[k], R1[k]
    lo, hi = cur.tau, new.tau
    best: tuple[float, FloatArray, FloatArray, float, Any] | None = None
    last_step = np.inf
    val = np.inf
    anchor: tuple[float, FloatArray] | None = None
    last_iterate: tuple[float, float] | None = None
    for _ in range(200):
        # (∂_j f alone at the iterates, on a linear model: the whole gradient only at the
        # point returned, `_TieMode.complete`)
        x, g, c, _ = _curve_point(tm, cur, new, h, tau, False, anchor, only=j)
        partial = tm.last_partial
        # (the next iterate's corrector starts from this solved point's error: see
        # `_curve_point`)
        zs = np.empty(tm.T.size + 1)
        zs[:-1], zs[-1] = x[tm.T], c
        anchor = (tau, zs)
        val = c + side * g[j] + offset[j]
        slope = float(hermite_slope(G0, D0, G1, D1, h, (tau - cur.tau) / h))
        # The guard is a difference of two values of size c: it is known to 16 eps c.
        floor = 16 * _EPS * abs(c)
        if abs(val) <= 4 * _EPS * max(1.0, abs(tau)) * abs(slope) + floor:
            g = tm.complete(x, g, partial)
            # The root to rounding by the interpolant's slope. Near a multiple root the
            # interpolant's slope and the curve's differ: unless the secant through the
            # last two iterates (on the curve) agrees with it, the root is confirmed with
            # the curve's own slope (a tangent solve), as the sign flow's entries are.
            if last_iterate is not None and last_iterate[0] != tau:
                secant = (val - last_iterate[1]) / (tau - last_iterate[0])
                if slope / SIMPLE_ROOT <= secant <= slope * SIMPLE_ROOT or (
                    slope * SIMPLE_ROOT <= secant <= slope / SIMPLE_ROOT
                ):
                    p_join = _join_point(tm, cur, new, h, tau, x, g, c)
                    if p_join is not None:
                        return p_join
            p = tm.point(tau, x, g, c, _slope_guess(tm, cur, new, h, tau))
            slope = p.cdot + side * float(p.gdot[j])
            if abs(val) <= 4 * _EPS * max(1.0, abs(tau)) * abs(slope) + floor:
                return p
        if not val > 0:  # (the hi side of the bracket, as the step below takes it)
            best = (tau, x, g, c, partial)
        last_iterate = (tau, val)
        bracket = bracketed_newton_step(tau, val, slope, lo, hi, last_step)
        if bracket is None:
            break
        lo, hi, tau, last_step = bracket
    if best is None:
        if val > tm.ztol:
            # The guard is positive on the curve all the way to the step's end, where the
            # step read it as ≤ 0: that reading is the gradient before the corrector's last
            # correction (`_TieMode.correct`), at a state within the tolerance of the curve,
            # so it is off by up to ‖H‖·tol -- more than the guard itself near a join of an
            # ill-conditioned objective at a loose tolerance. Not a join (as on the sign
            # flow's curves, `_continuation_path._refine_entry`): taken at the step's end,
            # the next selection found the index not tied and reported a tangency that the
            # solution does not have (smooth max, rtol 1e-4).
            return None
        return new
    g_best = tm.complete(best[1], best[2], best[4])
    return tm.point(best[0], best[1], g_best, best[3], _slope_guess(tm, cur, new, h, best[0]))


def _join_point(
    tm: _TieMode,
    cur: _TiePoint,
    new: _TiePoint,
    h: float,
    tau: float,
    x: FloatArray,
    g: FloatArray,
    c: float,
) -> _TiePoint | None:
    """The mode's last point at a join located at ``tau`` inside the step ``[cur, new]``,
    with the slope of the step's interpolants as its tangent and gradient rate instead of
    a tangent solve (as the sign flow's entries, `_continuation_path._entry_point`);
    ``None`` when some weight ``−σ_i ẋ_i`` of the tie is near 0 (a leave at the same time
    is then decided on the solved tangent), or where the solve would leave the block's
    factor at the point.

    The mode ends here: the tangent serves only as the last node of the dense output,
    which takes the interpolant's slope anyway (`_run_tie_mode`), and for the leaves read
    at the join. The state and gradient are the corrector's, on the curve. (A tangent
    solve and a pass over all the columns at each join were 12 % of the d = 1000 logistic
    benchmark's ℓ1 run.) A block solved directly keeps its factor at the point, which
    tells `_watch_repelling` that the tie attracts there: without it that is the tangent
    curvature from the dense block, unless a ridge proves it (a tanh network's ℓ1 flow
    took 108 more of them and gained nothing).
    """
    direct = tm.block.shift or tm.T.size * tm.block.n <= DIRECT_SIZE
    if direct and not _ridge_proves_attracting(tm, x):
        return None
    u, cdot = _slope_guess(tm, cur, new, h, tau)
    if tm.T.size > 1 and not float(np.min(-tm.sT * u)) > _JOIN_WEIGHT_MARGIN:
        return None
    gdot = np.asarray(hermite_slope(cur.g, cur.gdot, new.g, new.gdot, h, (tau - cur.tau) / h))
    return _TiePoint(tau, x, g, c, np.array(u, dtype=float, copy=True), float(cdot), gdot)


def _first_join(
    tm: _TieMode, cur: _TiePoint, new: _TiePoint, h: float, tau: float, k: int, offset: FloatArray
) -> tuple[_TiePoint, int] | None:
    """`_refine_join` of guard ``k`` (the first root on the guards' interpolants), then of
    any other join guard already below its rounding at the point found: that join came
    first. Returns the earliest join point and its guard; ``None`` when the curve does not
    confirm the join of guard ``k`` (see `_refine_join`).

    Why: a guard with a multiple root is 0 to its rounding over a whole interval around
    it (``c − |∂_j f| = 4δ³`` on a quartic, 16 eps·c wide for ``|δ| ≲ 1.5e-5``), and its
    refinement stops anywhere in it. On the greedy flow of a sum of quartics the joins of
    two indices fall at the same time, t = 1.5, one a triple root, the other simple; the
    triple one, found first on the interpolants, was located at 1.50001038, where the
    simple one's guard was −1.2e-4: the next tie started 1e-5 off the path with a spread
    of 1.2e-4 that it kept to the rest (there 0.05 from the minimizer)."""
    found = _refine_join(tm, cur, new, h, tau, k, offset)
    if found is None:
        return None
    p = found
    for _ in range(2 * tm.F.size):
        V, _ = _guards(tm, p, offset)
        floor = 16 * _EPS * abs(p.c)
        behind = [i for i in np.flatnonzero(V[: 2 * tm.F.size] < -floor) if i != k]
        if not behind or p.tau <= cur.tau:
            break
        # (each refined from the point found, below its root: the bracket's upper side)
        # (each refined from a point where its guard is below 0 on the curve: its bracket
        # holds a root there, so `_refine_join` finds one)
        refined = [(_refine_join(tm, cur, new, h, p.tau, int(i), offset), int(i)) for i in behind]
        found_first = [(q, i) for q, i in refined if q is not None]
        if not found_first:
            break
        first = min(found_first, key=lambda q: q[0].tau)
        if not first[0].tau < p.tau:
            break
        p, k = first
    return p, k


def _refine_leave(tm: _TieMode, cur: _TiePoint, new: _TiePoint, leaving: np.ndarray) -> _TiePoint:
    """The first time in the step at which a weight ``−σ_i ẋ_i`` (``i`` in ``leaving``,
    positions in ``T``) reaches 0."""
    h = new.tau - cur.tau
    cache: dict[float, _TiePoint] = {}

    def weight(tau: float) -> float:
        if tau not in cache:
            p = new if tau == new.tau else _curve_point(tm, cur, new, h, tau, True)[3]
            assert p is not None
            cache[tau] = p
        return float(np.min(-tm.sT[leaving] * cache[tau].u[leaving]))

    if weight(cur.tau) <= 0.0:
        return cur
    tau = brentq(weight, cur.tau, new.tau, xtol=4 * _EPS * max(1.0, new.tau), rtol=4 * _EPS)
    return cache.get(tau) or _curve_point(tm, cur, new, h, tau, True)[3] or new


def _factor_says(tm: _TieMode, p: _TiePoint) -> bool | None:
    """What the block's factor at ``p`` says of the tie: ``True`` attracting (a Cholesky
    factor of ``H_TT`` or of ``H_TT + ρσ_Tσ_Tᵀ`` taken at ``p.x``: by Finsler's lemma
    ``H_TT`` is then positive definite on ``σ_Tᵀd = 0``), ``False`` an LU factor at
    ``p.x`` (no shift gave a Cholesky factor there: repelling, or attracting with a
    curvature too small for the shifts tried), ``None`` no factor at ``p.x`` (a
    preconditioner taken earlier, for conjugate gradients)."""
    block = tm.block
    if (
        getattr(block, "key", b"") != p.x.tobytes()
        or block.size != tm.T.size
        or not np.array_equal(block.S, tm.T)
    ):
        return None
    return block.definite


def _tangent_curvature_at(tm: _TieMode, x: FloatArray) -> float:
    """``κ(x)``, the smallest curvature of ``H_TT(x)`` on the tie's tangent space (see
    :mod:`filippov._tie_repelling`): from the Hessian rows alone, leaving the block's
    factor and kept rows as they are (the path's own solves must not change)."""
    block, T = tm.block, tm.T
    R = SlidingBlock.square(block, x, T)  # (the block alone: the kept rows stay the tie's)
    return tangent_curvature(np.asarray(R, dtype=float), tm.sT)


def _ridge_proves_attracting(tm: _TieMode, x: FloatArray) -> bool:
    """Whether a linear model's ridge proves the tie attracting at ``x`` without ``κ``.

    Where the weights ``ℓ''(B x)/m`` are all nonnegative (a convex loss: logistic,
    Poisson, squared, log-cosh, everywhere), ``H_TT = B_Tᵀ diag(w) B_T + λI ⪰ λI``, so
    ``κ ≥ λ``; with ``λ`` above `TIE_ROUNDING` of a bound of the block's entries
    (``max w · ‖B_T‖_F² + λ``) that is the answer `tangent_curvature` would give, a
    positive ``κ``. Why: ``κ`` itself builds the dense block (``m·|T|²``) and solves a
    ``|T|``-sized eigenvalue problem at the first and last point of every mode whose block
    conjugate gradients solve: 36 % of an ℓ1 run of a d = 200 ridge logistic model. This
    costs a pass over the data at most (``B x`` is usually remembered), and changes no
    cache the path's solves read.
    """
    lm = tm.block.lm
    if lm is None or not lm.lam > 0.0:
        return False
    z = lm.zs.get(x.tobytes())
    w = lm.d2loss(lm.B @ x if z is None else z[0]) / lm.m
    w_min, w_max = float(np.min(w)), float(np.max(w))
    if not w_min >= 0.0:  # (a nonconvex loss here, or a NaN weight: κ decides)
        return False
    norms = lm.column_squared_norms()
    return lm.lam > TIE_ROUNDING * (w_max * float(norms[tm.T].sum()) + lm.lam)


def _watch_repelling(
    tm: _TieMode, pts: list[_TiePoint], t: float, mode: Any, rec: Recorder, last: bool
) -> None:
    """Record where the tie turns from attracting to repelling (see
    :mod:`filippov._tie_repelling`), as an event ``"repulsive"`` with ``unique=False``;
    the mode goes on along the tie (the path follows the solution the selection chose).

    Called at each accepted point ``pts[-1]`` (``last``: the mode's last). ``κ`` is
    evaluated only where the block's factor at the point does not prove the tie
    attracting (an LU factor there; the mode's first and last points when the block is
    solved by conjugate gradients), so an ordinary run, whose ties have a Cholesky factor
    at each point, pays nothing. A turn is located on the mode's dense output (the
    Hermite interpolant of its points, the solution's own), between the last point known
    attracting and the first found repelling.
    """
    if tm.T.size < 2:
        return
    i = len(pts) - 1
    said = _factor_says(tm, pts[i])
    if said:
        tm.attracting, tm.checked = True, i
        return
    if said is None and tm.attracting is not None and not (last and tm.attracting):
        return
    if _ridge_proves_attracting(tm, pts[i].x):
        tm.attracting, tm.checked = True, i
        return
    kappa_i = _tangent_curvature_at(tm, pts[i].x)
    if kappa_i > 0.0:
        tm.attracting, tm.checked = True, i
        return
    if kappa_i == 0.0:
        # κ within rounding of 0 (a tie whose rates can never differ): neither attracting
        # nor repelling, so no turn (the point's index may be the last one checked, and
        # the search below would run past the points: an IndexError on a duplicated
        # column without a ridge)
        return
    turned = bool(tm.attracting)
    tm.attracting = False
    if not turned:
        return  # (repelling from the mode's start: its entry's selection says so)

    def kappa_on_curve(a: _TiePoint, b: _TiePoint) -> Any:
        def kappa(tau: float) -> float:
            x = tm.x0.copy()
            x[tm.T] = _hermite_z(tm, a, b, b.tau - a.tau, (tau - a.tau) / (b.tau - a.tau))[:-1]
            return _tangent_curvature_at(tm, x)

        return kappa

    # (the first repelling point after the last attracting one: between them κ was not
    # evaluated only where no factor at the point said anything, which CG solves leave)
    j = tm.checked + 1
    while j < i and _tangent_curvature_at(tm, pts[j].x) > 0.0:
        j += 1
    a, b = pts[j - 1], pts[j]
    tau = locate_turn(kappa_on_curve(a, b), a.tau, b.tau) if b.tau > a.tau else b.tau
    x = tm.x0.copy()
    if tau < b.tau:
        x[tm.T] = _hermite_z(tm, a, b, b.tau - a.tau, (tau - a.tau) / (b.tau - a.tau))[:-1]
    else:
        x = b.x.copy()
    rec.event(t + tau, x, "repulsive", tm.T, mode, mode, unique=False, note=REPELLING_NOTE)


def _run_tie_mode(
    tm: _TieMode,
    t: float,
    t_end: float,
    g: FloatArray,
    offset: FloatArray,
    h_step: float,
    mode: Any,
    rec: Recorder,
    solved: FloatArray | None = None,
) -> tuple[float, _TiePoint, float, str | None]:
    """Follow one tie mode from ``t`` until an event or ``t_end``.

    Returns ``(t, point, next step, what ended the mode)``: ``None`` at ``t_end``,
    ``"event"`` at a join or leave, ``"zero"`` at the stationary point, ``"refloor"`` at an
    accepted point where the tie value has fallen below `REFLOOR` of the mode's scale
    (the same tie is then taken again there, on its own scale: see `tie_steps`).
    """
    T, sT, n = tm.T, tm.sT, tm.x0.size
    x = tm.x0
    tm.offset = offset
    first = tm.point(0.0, x.copy(), g, tm.c0, solved=solved)
    pts = [first]
    _watch_repelling(tm, pts, t, mode, rec, False)
    tau_end = t_end - t
    lam0 = np.zeros(n)
    lam0[T] = -first.u  # λ = σ ∘ w, ẋ = −λ

    recorded: list[_TiePoint] = []

    def record(last: _TiePoint) -> None:
        recorded.append(last)
        if t + last.tau <= t:  # (also a step below the ulp of t: no zero-length piece)
            return
        ts = np.array([t + p.tau for p in pts])
        keep = distinct_times(ts)  # (a join within the ulp of t of the last point)
        dense = CurveDense(
            rec.kept_state(t, x),
            t,
            np.zeros(n, dtype=np.int8),  # (no free coordinate moves on a tie mode)
            T.copy(),
            ts[keep],
            np.array([pts[i].x[T] for i in keep]),
            np.array([pts[i].u for i in keep]),
        )
        t_stop = t + last.tau
        breaks = np.r_[dense.ts[dense.ts < t_stop], t_stop]
        rec.dense_segment(t, t_stop, dense, last.x, mode, lam0, breaks)

    def keep_accepted() -> None:
        # (a failure inside the mode: its accepted steps are kept, see the sign flow's)
        if not recorded and len(pts) > 1:
            record(pts[-1])

    tm.keep_accepted = keep_accepted
    # (the sign flow's judgement of many tries: see `TryBudget`)
    budget = TryBudget()
    # the guards at the last accepted point (computed once, not again at each try)
    cur_guards: tuple[_TiePoint | None, FloatArray, FloatArray] = (None, first.g, first.g)
    # (the midpoint measurements of the steps of another length than the last, as on the
    # sign flow's curves)
    short_steps = ShortStepErrors()
    # (the retries toward a region where the objective is not finite: capped so that they
    # close in on its edge, as on the sign flow's curves; see `NonFiniteRetry`)
    retry = tm.retry = NonFiniteRetry(tau_end)

    def shorter(cur: _TiePoint, h: float, nonfinite: str = "", singular: str = "") -> float:
        """The next try's step after one from ``cur`` failed (as on the sign flow's
        curves, see `_run_mode` there)."""
        if nonfinite:
            retry.failed(cur.tau, h)
        # (the cause, as when h_step falls to rounding below and on the sign flow's
        # curves: a tie curve on collinear features under a ridge of 1e-12 whose tries
        # failed at a step of rounding, before h_step did -- which of the two comes first
        # is the rounding's choice -- said only "the corrector did not converge")
        return shorter_step(
            h, tau_end, lambda: record(cur), t + cur.tau, cur.x, nonfinite, singular,
            lambda: f" ({_stuck_reason(tm, cur.x)})",
        )  # fmt: skip

    quintic_floor = ShortStepErrors()
    tried_from: _TiePoint | None = None
    factor_at_cur: tuple[Any, ...] = ()
    while True:
        cur = pts[-1]
        if tried_from is cur:
            # (the factor of the last accepted point, not one a rejected try took far off
            # the curve: as on the sign flow's curves, see `_run_mode` there)
            tm.block.restore(factor_at_cur)
        else:
            tried_from, factor_at_cur = cur, tm.block.snapshot()
        spent = budget.spent(len(pts) - 1, cur.tau)
        if spent is not None:
            record(cur)
            raise PathFailure(
                -1,
                f"{spent[0]} in one tie mode by t = {t + cur.tau:.12g} ({spent[1]}); the "
                "solution is returned up to there",
            )
        if tau_end - cur.tau <= 16 * _EPS * max(1.0, abs(t + cur.tau)):
            _watch_repelling(tm, pts, t, mode, rec, True)
            record(cur)
            return t + cur.tau, cur, h_step, None
        if h_step <= 4 * _EPS * max(1.0, abs(t + cur.tau)):
            record(cur)
            raise PathFailure(
                -1,
                f"the step size fell to rounding at t = {t + cur.tau:.12g}, x = "
                f"{np.array2string(cur.x, precision=12)} ({_stuck_reason(tm, cur.x)}); the "
                "solution is returned up to that point",
            )
        h = min(h_step, tau_end - cur.tau, retry.cap(cur.tau))
        prev = pts[-2] if len(pts) > 1 else None
        tau = cur.tau + h
        if tau_end - tau < 1e-3 * h:
            tau, h = tau_end, tau_end - cur.tau
        if prev is not None:
            hp = cur.tau - prev.tau
            s = 1.0 + h / hp
            z_pred = _hermite_z(tm, prev, cur, hp, s)
            least_norm = tm.block.least_norm
            if least_norm is not None:
                # Followed with least-norm solves, the curve's tangent has no part along
                # the block's null space, and the corrector moves the state off it only:
                # the extrapolation's part along it, which nothing corrects, is dropped (it
                # amplified the points' rounding there fivefold a step: a two-class
                # network's twin output weights drifted together from 1e-13 to 1e9).
                null = least_norm[2]
                z_pred = z_pred.copy()
                z_pred[:-1] -= null @ (null.T @ (z_pred[:-1] - cur.x[T]))
        else:
            z_pred = _z(tm, cur) + h * _dz(cur)
        nonfinite = singular = ""
        new: _TiePoint | None = None
        try:
            corrected = tm.correct(tau, z_pred[:-1], float(z_pred[-1]))
            if corrected is not None and prev is None:
                # (the first step's tangent, for its error estimate below)
                new = tm.point(tau, *corrected, (cur.u, cur.cdot))
        except FloatingPointError as exc:  # a non-finite gradient or product
            corrected, nonfinite = None, str(exc)
        except np.linalg.LinAlgError as exc:
            # The tie's block has no factor at the trial point (a long step can leave the
            # region where the tie is positive definite on its tangent space): a shorter
            # one is tried before the tie is given up.
            corrected, singular = None, str(exc)
        if corrected is None:
            h_step = shorter(cur, h, nonfinite, singular)
            continue
        xn, gn, cn = corrected
        # Local error of the cubic Hermite dense output, as on the sign flow's curves:
        # order 4 from the distance to the cubic extrapolation, order 3 (then measured at
        # the midpoint) on a mode's first step.
        if prev is not None:
            shrink = 16.0 * (s * (s - 1.0)) ** 2 * (hp / h) ** 4
            g_pred = hermite(prev.g, prev.gdot, cur.g, cur.gdot, hp, s)
            err_x = float(np.abs(xn[T] - z_pred[:-1]).max()) / shrink
            err_g = float(np.abs(gn - g_pred).max()) / shrink
            order = 4
        else:
            assert new is not None
            dx = new.u - (2.0 * (xn[T] - cur.x[T]) / h - cur.u)
            dg = new.gdot - (2.0 * (gn - cur.g) / h - cur.gdot)
            err_x = h * float(np.abs(dx).max()) / 8.0
            err_g = h * float(np.abs(dg).max()) / 8.0
            order = 3
        err_x /= tm.tol(xn)
        if prev is None and max(err_x, err_g / tm.g_tol.tol) > 1.0:
            assert new is not None
            measured = _midpoint_error(tm, cur, new, h)
            if measured is not None:
                (err_x, err_g), order = measured, 4
        elif (
            prev is not None
            and not SHORT_STEP * hp <= h <= LONG_STEP * hp
            and max(err_x, err_g / tm.g_tol.tol) <= 1.0
        ):
            # A step much shorter or much longer than the last one: measured at its
            # midpoint, not estimated from the last step's extrapolation (as on the sign
            # flow's curves, see `_run_mode` there).
            try:
                new = tm.point(tau, xn, gn, cn, _slope_guess(tm, prev, cur, hp, tau))
            except np.linalg.LinAlgError:
                h_step = h / 4  # (as below: no factor at the step's end, a shorter step)
                continue
            except FloatingPointError as exc:  # (as below)
                h_step = shorter(cur, h, str(exc))
                continue
            taken = short_steps.taken(cur, h, _midpoint_error(tm, cur, new, h))
            if taken is not None:
                # (the larger of the two: each can miss what the other sees)
                err_x, err_g = max(err_x, taken[0]), max(err_g, taken[1])
        # (the gradient's tolerance not below its rounding, as on the sign flow's curves)
        err = tm.g_tol.error(err_x, err_g, h, t + cur.tau)
        if err > 1.0:
            h_step = h * max(0.2, 0.9 * err ** (-1.0 / order))
            continue
        h_accept = h * min(4.0, 0.9 * err ** (-1.0 / order))
        if new is None:
            assert prev is not None
            try:
                new = tm.point(tau, xn, gn, cn, _slope_guess(tm, prev, cur, hp, tau))
            except np.linalg.LinAlgError:
                # (as a failed corrector above: no factor at the step's end, a shorter step;
                # the corrector's chord steps need none there)
                h_step = h / 4
                continue
            except FloatingPointError as exc:
                # (the tangent's products at the trial point: a shorter step, as for the
                # corrector's, not the end of the run with no state)
                h_step = shorter(cur, h, str(exc))
                continue
            # (the three points' quintic against the step's cubic, as on the sign flow's
            # curves: see `_run_mode` there)
            err_q = float(np.abs(quintic_defect(prev, cur, new, T, hp, h)).max()) / tm.tol(xn)
            if err_q > 1.0 and quintic_floor.taken(cur, h, (err_q, 0.0)) is not None:
                h_step = h * max(0.2, 0.9 * err_q**-0.25)
                continue
        tm.g_tol.accepted()  # (the step is accepted: only now)
        h_step = h_accept
        # Events on this step: joins and the zero of c on the Hermite interpolants of the
        # guards; leaves (a weight reaching 0) at the step's end.
        if cur_guards[0] is not cur:
            cur_guards = (cur, *_guards(tm, cur, offset))
        _, V0, R0 = cur_guards
        V1, R1 = _guards(tm, new, offset)
        tau_hit, k_hit, s_hit = np.inf, -1, 1.0
        zero_guard = 2 * tm.F.size
        roots = first_roots(V0, R0, V1, R1, h)
        if roots and roots[-1][0] == zero_guard:
            # The zero of c first: a frozen partial that stays 0 (|∂_j f| ≤ c reaches 0
            # with c) has its join guard equal to c, and the stationary point is what
            # happens there, not a join.
            roots = [roots[-1], *roots[:-1]]
        for k, s_root in roots:
            if cur.tau + s_root * h < tau_hit - 16 * _EPS * max(1.0, abs(tau)):
                tau_hit, k_hit, s_hit = cur.tau + s_root * h, k, s_root
        if 0 <= k_hit < zero_guard:
            assert tm.offset_F is not None
            off_k = float(tm.offset_F[1][k_hit % tm.F.size])
            s_peak = offset_peak(V0, R0, V1, R1, h, k_hit, s_hit, off_k) if off_k > 0 else None
            if s_peak is not None and s_peak * h > 64 * _EPS * max(1.0, abs(tau)):
                # An offset join guard back inside the step that left its boundary: the
                # step is cut at its peak, where the offset is dropped (as on the sign
                # flow's curves, see `_continuation_path._run_mode`).
                h_step = s_peak * h
                continue
        if k_hit >= 0 and V1[k_hit] > 0.0:
            # A dip of the interpolant with the guard positive at the step's end: a false
            # alarm or a dip and return inside the step; a shorter step tells them apart.
            if h > 64 * _EPS * max(1.0, abs(tau)):
                h_step = h / 2
                continue
            k_hit = -1
        leaving = np.flatnonzero(-sT * new.u <= 0.0) if T.size > 1 else np.zeros(0, dtype=np.intp)
        # Locate a join on the curve itself.
        joined: tuple[_TiePoint, int] | None = None
        if 0 <= k_hit < zero_guard:
            joined = _first_join(tm, cur, new, h, tau_hit, k_hit, offset)
            if joined is None:
                # No root on the curve: the step's end read its guard off (see
                # `_refine_join`). Its end is solved on the curve again, with the gradient
                # there, and the step is kept if every guard is positive at it (else taken
                # again, shorter: the guards' interpolants then start from sound values).
                # With a weight leaving in the step, that leave is the event (located on
                # the curve by `_refine_leave`).
                k_hit = -1
                if leaving.size == 0:
                    p_end = _curve_point(tm, cur, new, h, new.tau, True)[3]
                    assert p_end is not None
                    new = p_end
                    V1, R1 = _guards(tm, new, offset)
                    if not (V1 > 0.0).all() or (T.size > 1 and (-sT * new.u <= 0.0).any()):
                        h_step = h / 2
                        continue
        if k_hit < 0 and leaving.size == 0:
            pts.append(new)
            rec.n_steps += 1  # (an accepted step; one cut at an event is counted below)
            _watch_repelling(tm, pts, t, mode, rec, new.tau >= tau_end)
            cur_guards = (new, V1, R1)
            # Offsets that have done their work are dropped, as in the sign flow's modes
            # (`_continuation_path._run_mode`): once both join guards of an index are at
            # three times its offset, a later return to the tie is located on the tie.
            assert tm.offset_F is not None
            off_F, nF = tm.offset_F[1], tm.F.size
            left = (off_F > 0.0) & (3.0 * off_F <= np.minimum(V1[:nF], V1[nF : 2 * nF]))
            if left.any():
                offset = offset.copy()
                offset[tm.F[left]] = 0.0
                tm.offset = offset
                cur_guards = (new, *_guards(tm, new, offset))
            if new.tau >= tau_end:
                record(new)
                return t + new.tau, new, h_step, None
            if abs(new.c) < REFLOOR * tm.scale:
                # The tie value has fallen by orders of magnitude since the mode's start:
                # the mode is taken again from here, on this scale (see `tie_steps`).
                _watch_repelling(tm, pts, t, mode, rec, True)
                record(new)
                return t + new.tau, new, h_step, "refloor"
            continue
        candidates: list[tuple[float, _TiePoint, str]] = []
        if k_hit == zero_guard:
            z = _hermite_z(tm, cur, new, h, (tau_hit - cur.tau) / h)
            try:
                tau_z, xz, gz = tm.rest_point(tau_hit, z[:-1])
            except (PathFailure, np.linalg.LinAlgError) as exc:
                # The solution holds the mode up to its last point, not up to the zero
                # that the interpolant of c put ahead of it: the message says so (it
                # named the zero's time while the solution ended a whole mode earlier).
                record(cur)
                raise PathFailure(
                    -1,
                    "Newton's method did not converge onto the stationary point that the tie "
                    f"value's zero put near t = {t + tau_hit:.12g} ({exc}); the solution is "
                    f"returned up to t = {t + cur.tau:.12g}, x = "
                    f"{np.array2string(cur.x, precision=12)}",
                ) from exc
            if not cur.tau <= tau_z <= new.tau:
                # Outside the step by more than the tolerance (the tie moves at unit ℓ1
                # speed: a time off by the state's tolerance): the stationary point is not
                # where this curve's c reaches 0, and taking it here would make the state
                # jump. (A tie kept with a spread of 1.2e-4 from a join located 1e-5 late
                # reached c = 0 0.05 from the minimizer; its rest, clamped into the step,
                # put the minimizer at t = 4.4514 instead of 4.5, silently.)
                if not cur.tau - tm.tol(xz) <= tau_z <= new.tau + tm.tol(xz):
                    # (kept only up to the stationary point's time when that is earlier:
                    # past it the curve moves where the solution rests)
                    kept = [p for p in pts if p.tau <= tau_z] or pts[:1]
                    end = kept[-1]
                    record(end)
                    raise PathFailure(
                        -1,
                        f"the tie value reached 0 near t = {t + tau_hit:.12g}, but the "
                        f"stationary point there is reached at t = {t + tau_z:.12g} along "
                        "the tie (the tie's curve does not end at it); the solution is "
                        f"returned up to t = {t + end.tau:.12g}, x = "
                        f"{np.array2string(end.x, precision=12)}",
                    )
                tau_z = min(max(tau_z, cur.tau), new.tau)
            guess = _slope_guess(tm, cur, new, h, tau_z)
            try:
                p_z = tm.point(tau_z, xz, gz, 0.0, guess)
            except np.linalg.LinAlgError:
                # (a singular Hessian at the rest: a degenerate minimizer. The tangent
                # there only ends the dense output, which takes the interpolant's slope
                # anyway; the gradient's rate is the interpolant's too)
                s_z = (tau_z - cur.tau) / h
                gdot = np.asarray(hermite_slope(cur.g, cur.gdot, new.g, new.gdot, h, s_z))
                p_z = _TiePoint(tau_z, xz, gz, 0.0, guess[0], guess[1], gdot)
            candidates.append((p_z.tau, p_z, "zero"))
        elif joined is not None:
            p_j, k_hit = joined
            candidates.append((p_j.tau, p_j, "join"))
        if leaving.size:
            p_l = _refine_leave(tm, cur, new, leaving)
            candidates.append((p_l.tau, p_l, "event"))
        candidates.sort(key=lambda q: q[0])
        tau_ev, p_ev, what = candidates[0]
        if what == "join":
            tm.located = int(tm.F[k_hit % tm.F.size])
            what = "event"
        if p_ev.tau == cur.tau:
            # An event at the step's start: no zero-length piece (the dense output's
            # times must increase strictly; a repeated one made the solution unusable).
            pts[-1] = p_ev
        else:
            rec.n_steps += 1  # (the step, cut at its event)
            # The dense output's last node takes the slope of the step's interpolant,
            # whose error the step control measured, not the tangent solved at the event
            # (as on the sign flow's modes, see `_run_mode` there): a curve that bends
            # sharply just before the event would otherwise bulge across the last piece.
            u_end, cdot_end = _slope_guess(tm, cur, new, h, p_ev.tau)
            pts.append(replace(p_ev, u=u_end, cdot=cdot_end, dz=None))
        # (a turn is located on the dense output as recorded)
        _watch_repelling(tm, pts, t, mode, rec, True)
        record(p_ev)
        return t + tau_ev, p_ev, max(h_step, 1e-3 * h), what


def _select(
    block: _TieBlock,
    x: FloatArray,
    sigma: FloatArray,
    rec: Recorder,
    kept: int = 0,
    g: FloatArray | None = None,
) -> tuple[FloatArray, bool, FloatArray | None]:
    """The weights on the candidate tie set ``block.S`` (signs ``sigma``).

    The interior solution ``w ∝ σ ∘ H⁻¹σ`` when every weight is positive (one solve);
    else the simplex variational inequality on the dense block, and the block is cut to
    its support. Returns the new signs (0 off the tie), whether the selection is unique,
    and ``H_TT⁻¹σ_T`` on the new tie when it was solved for directly (the interior
    solution; the mode's first tangent then needs no solve of its own).
    """
    rec.n_selection_solves += 1
    A = block.S
    sA = sigma[A]
    new_sigma = np.zeros_like(sigma)
    if A.size == 1:
        new_sigma[A] = sA
        return new_sigma, True, None
    block.signs = sigma
    try:
        y: FloatArray | None = block.solve(x, sA, rtol=1e-12)
    except np.linalg.LinAlgError:
        # H_AA is singular on the tie's tangent space: the simplex VI decides below (by
        # enumeration, as the event path does). So does it where H_AA is indefinite there
        # (the block's factor is an LU: the VI is not monotone, and its interior solution
        # one of several).
        y = None
    if y is not None and block.definite and singular_to_precision(block) is not None:
        # A block singular to double precision is singular (as on the sign flow's curves,
        # see `_undetermined_selection`): the VI decides. Duplicated columns without a
        # ridge joining a tie together: their rows are equal, whether the Cholesky factor
        # fails or ends on a pivot at rounding is the rounding's choice (it did not fail
        # with OpenBLAS's Haswell kernels), and that pivot's solve split the duplicates'
        # speed arbitrarily, the tie-entry flagged unique.
        y = None
    if y is not None and block.definite:
        # (w = −σ∘ẋ = σ∘y/q also for a shifted block: see `_TieMode.point`)
        q = float(sA @ y)
        w = sA * y / q if q > 0.0 else np.full(A.size, -1.0)
        if float(np.min(w)) > _MIN_WEIGHT:
            new_sigma[A] = sA
            # (to 1e-12, directly or by CG; a CG solve's product is not kept for the tangent)
            return new_sigma, True, y
    R = block.square(x, A)
    M = sA[:, None] * (0.5 * (R + R.T)) * sA[None, :]
    # warm started from the old tie (the block's first ``kept`` indices)
    try:
        sel = solve_simplex_vi(
            M,
            np.zeros(A.size),
            warm_start=np.arange(kept) if kept else None,
            tol=_rate_tolerance(M, y, sA, block),
        )
    except SelectionError as exc:
        raise np.linalg.LinAlgError(str(exc)) from exc
    lam = np.asarray(sel.lam, dtype=float)
    support = lam > 0.0
    unique = bool(sel.unique)
    if not unique and g is not None:
        twins = simplex_twins(support, np.abs(g[A]), M) >= 0
        if twins.any():
            # (the least-norm split below moves them with the support's own)
            support |= twins
    try:
        block.set(x, A[support])
        refused: np.linalg.LinAlgError | None = None
    except np.linalg.LinAlgError as exc:
        # The support's tie equations have no factor: where they are singular (a tie of
        # three of a two-class network, two of whose partials are exactly opposite) the
        # least-norm split below decides; else the error stands.
        if int(support.sum()) <= 1:
            raise
        refused = exc
    if (not unique or refused is not None) and int(support.sum()) > 1:
        R_s, sS = R[np.ix_(support, support)], sA[support]
        null = _bordered_null_space(R_s, sS)
        if null is None:
            if refused is not None:
                raise refused
        else:
            # Singular on the tie's tangent space (to double precision): the weights are
            # not determined there. Every split ``w + β σ∘d`` (d in the null space) gives
            # the tie the same rates; the least-norm one, the event path's choice, is
            # followed where its weights are in the simplex, and flagged not unique.
            # (The block's own solve split them as the rounding gave: weights −0.58 and
            # 1.58 on a two-class network, a motion 13.5 times faster than the flow
            # allows.)
            block.signs = new_sigma.copy()
            block.signs[A[support]] = sS
            try:
                weights: FloatArray | None = block.follow_least_norm(x, R_s, sS, null)
            except np.linalg.LinAlgError:
                weights = None
            if weights is None or not float(np.min(weights)) >= -_MIN_WEIGHT:
                raise np.linalg.LinAlgError(
                    f"the tie block of {int(support.sum())} indices at this point is "
                    "singular on the tie's tangent space σ_Tᵀd = 0 to double precision (the "
                    "bordered system [[H_TT, −σ], [σᵀ, 0]] of the tie's equations is "
                    "singular: the tie's weights are not determined), and its least-norm "
                    "split "
                    + ("has no factor" if weights is None else f"leaves the simplex ({weights})")
                )
            unique = False
    new_sigma[A[support]] = sA[support]
    return new_sigma, unique, None


def _bordered_null_space(R: FloatArray, sT: FloatArray) -> FloatArray | None:
    """An orthonormal basis of the directions ``d`` (``σᵀd = 0``) along which the tie's
    equations on the block ``R = H_TT`` are singular to double precision (the state parts
    of the bordered matrix's right singular vectors within ``64 (k + 1)·eps`` of its
    largest singular value, after equilibration), or None where they are regular."""
    k = sT.size
    K = np.zeros((k + 1, k + 1))
    K[:k, :k] = 0.5 * (R + R.T)
    K[:k, k] = -sT
    K[k, :k] = sT
    scale = np.sqrt(np.maximum(np.abs(K).max(axis=1), 1e-300))
    _, singular, vt = np.linalg.svd(K / scale[:, None] / scale[None, :])
    small = singular <= 64 * (k + 1) * _EPS * singular[0]
    if not small.any():
        return None
    directions = (vt[small, :k] / scale[None, :k]).T
    return np.asarray(np.linalg.qr(directions)[0])


def _rate_tolerance(M: FloatArray, y: FloatArray | None, sA: FloatArray, block: _TieBlock) -> float:
    """The simplex VI's tolerance for deciding the tie on the scale of its own rates: its
    default (``1e-12``, of ``M``'s largest row sum) where that is at most `_RATE_RTOL` of
    the tie value's rate, else that fraction of the rate (at least 64 ulps of the row
    sums, the rounding of the rates).

    The rate's scale is ``1/q``, ``q = σᵀH⁻¹σ`` (``y = H⁻¹σ``, solved for the interior
    selection; an unshifted positive definite block's): the rate of the interior
    solution, at most that of the VI's (``wᵀMw`` is least on the simplex's plane there).

    Why: on a nearly singular tie block ``1/q`` is far below ``‖H‖``. On unregularized
    logistic regression of the breast-cancer data (raw features, separable: ``‖∇f‖∞``
    falls to 8e-6 while ``‖H‖ = 8e3``) a frozen index reached a tie of 21 with its rate
    1.4e-8 below the tie's (whose rate was 1.1e-8), under the VI's default tolerance of
    2.5e-8: the VI left it out (a "tangency"), the tie went on without it, its guard was
    negative at once, and 48 such tangencies within 1e-8 of time ended the run −2 at
    t = 695. (The VI's test of monotonicity, on the same tolerance, called such blocks
    not monotone, and their VIs then found no solution.) Decided on the rates' scale the
    index joins and two others leave, as their weights on the new tie say.
    """
    default = 1e-12
    if y is None or block.shift or not block.definite:
        return default
    q = float(sA @ y)
    row = float(np.max(np.sum(np.abs(M), axis=1)))
    if not (q > 0.0 and default * row * q > _RATE_RTOL):
        return default
    return max(64 * _EPS, _RATE_RTOL / (q * row))


def _unresolved_tie(
    ties: FloatArray, c: float, T: np.ndarray, t: float, g_scale: float
) -> str | None:
    """Why a new tie mode is not started (``None``: it is): the tied partials
    ``σ_i ∂_i f`` (``ties``, at the mode's start, corrected to rounding) are spread over
    more than `_TIE_SPREAD` of their mean ``c``, so the gradient no longer tells the tie.

    The start's spread is kept along the mode (`_TieMode.__init__`) and is moved onto the
    tie only within `START_SHIFT_MAX` tolerances (`_TieMode.recentred`). At rtol 1e-12 a
    Poisson model started where ``‖∇f‖ = 7e15`` kept a spread, left by joins where the
    gradient was orders of magnitude larger, to where the tie value was 7.25 and the
    partials of its tie of 4 were 3% apart; the run went on along that curve, whose tie
    value reached 0 at t = 35.42 where the stationary point of the tie was at t = 35.45
    (−1, 0.09 from the minimizer). It ended here instead, saying so; since the tie
    correctors read the tie's own columns (a linear model's ``∂_T f`` at the tie's ``z``)
    that run keeps its tie and rests at the minimizer, and this stays as a safety net.

    Examples
    --------
    >>> import numpy as np
    >>> _unresolved_tie(np.array([7.17, 7.23]), 7.2, np.array([0, 1]), 3.0, 1.0) is None
    True
    >>> _unresolved_tie(np.array([7.0, 7.4]), 7.2, np.array([0, 1]), 3.0, 1.0)[:36]
    'the tie on {0, 1} is not resolved at'
    """
    spread = float(np.max(np.abs(ties - c)))
    if spread <= _TIE_SPREAD * abs(c):
        return None
    return (
        f"the tie on {_brief(T)} is not resolved at t = {t:.12g}: its partials |∂_i f| "
        f"range over [{float(np.min(ties)):.3g}, {float(np.max(ties)):.3g}] around the tie "
        f"value {c:.3g} ({abs(c) / g_scale:.2g} of the start's largest partial), more "
        f"than {_TIE_SPREAD:g} of it apart; the gradient no longer decides which indices "
        "are tied at this tolerance"
    )


def _rest_unique(block: _TieBlock, x: FloatArray) -> bool:
    """Whether resting at ``x`` (``∇f = 0``) is the only solution: the Hessian is a
    P-matrix there (for a symmetric matrix: positive definite, a strict minimum)."""
    H = block.rows(x, np.arange(x.size))
    return is_p_matrix(0.5 * (H + H.T)) is True


def tie_steps(
    system: FilippovSystem,
    x0: FloatArray,
    t0: float,
    t_end: float,
    opts: ContinuationOptions,
    rec: Recorder,
) -> Generator[None, None, Finished | Rest]:
    """Integrate the ℓ1 (greedy) steepest-descent flow of ``system.objective`` from
    ``(t0, x0)`` by continuation of its tie modes (the loop of the continuation path for
    the ℓ∞ relay).

    Examples
    --------
    >>> import numpy as np, filippov as fp
    >>> from filippov.objectives import ridge_logistic
    >>> rng = np.random.default_rng(0)
    >>> A, y = rng.standard_normal((20, 3)), np.sign(rng.standard_normal(20))
    >>> flow = fp.steepest_descent_flow(ridge_logistic(A, y, 0.1), "l1")
    >>> sol = fp.solve(flow, np.ones(3), (0.0, 20.0), method="continuation")
    >>> sol.method, sol.status.name, sol.events[-1].kind
    ('continuation', 'STATIONARY', 'stationary')
    """
    obj = system.objective
    assert obj is not None
    n = x0.size
    x = np.array(x0, dtype=float)
    t = float(t0)
    block = _TieBlock(obj, n, rec)
    g = block.grad(x)
    mode_rest = make_mode("linf", np.zeros(n), np.arange(n))
    c = float(np.abs(g).max())
    if c == 0.0:
        unique = _rest_unique(block, x)
        return Rest(
            t,
            x,
            np.arange(n),
            None,
            mode_rest,
            np.zeros(n),
            unique,
            "h = 0 at the start" + ("" if unique else f"; {NON_UNIQUE_REST_NOTE}"),
        )
    g_scale = c
    ztol = max(opts.zero_tol, 64 * _EPS) * g_scale
    rel = opts.zero_tol
    cand = np.flatnonzero(np.abs(g) >= c - rel * max(c, g_scale * rel))
    sigma = np.zeros(n)
    sigma[cand] = np.sign(g[cand])
    try:
        block.signs = sigma
        block.candidates(x, cand, [])
        sigma, unique, solved = _select(block, x, sigma, rec, g=g)
    except np.linalg.LinAlgError as exc:
        return Finished(-4, f"the tie selection at t = {t:.12g} failed: {exc}")
    mode = make_mode("linf", sigma, block.S)
    if block.S.size > 1 or not unique:
        # (a tie whose split is not determined is recorded even on one index: the choice
        # of the split is the run's)
        tied = block.S if block.S.size > 1 else cand
        rec.event(t, x, "tie-entry", tied, None, mode, unique=unique, note="initial tie")
    c = float(np.mean(sigma[block.S] * g[block.S]))
    h_step = min(t_end - t0, first_step(x))
    stalls = 0
    refloored = False
    while True:
        yield
        # Frozen indices starting within rounding of the tie (one that just left it, or
        # touched it and turned back) are offset so that the event that put them there
        # cannot fire again at its own time.
        tm = _TieMode(block, x, g, sigma, opts, float(np.max(np.abs(g))), t)
        moved = tm.recentred(g, refloored)
        refloored = False
        if moved is not None:
            x, g = moved
            c = float(np.mean(sigma[tm.T] * g[tm.T]))
            solved = None  # (the selection's solve was at the event's state)
            tm = _TieMode(block, x, g, sigma, opts, float(np.max(np.abs(g))), t)
        unresolved = _unresolved_tie(tm.sT * g[tm.T], tm.c0, tm.T, t, g_scale)
        if unresolved is not None and np.max(np.abs(tm.delta)) > _gradient_rounding(block, x, g):
            # (not where the tie value is the gradient's rounding, near the rest: the
            # stationary point is located by Newton's method there, `_TieMode.rest_point`)
            return Finished(-4, f"{unresolved}{returned_up_to(rec)}")
        offset = np.maximum(0.0, tm.ztol - (c - np.abs(g)))
        offset[sigma != 0] = 0.0
        try:
            t_new, p, h_step, what = _run_tie_mode(
                tm, t, t_end, g, offset, h_step, mode, rec, solved
            )
        except np.linalg.LinAlgError as exc:
            tm.keep_accepted()
            return Finished(
                -4,
                f"a solve with the tie block failed in the mode that started at t = {t:.12g} "
                f"({exc}){returned_up_to(rec)}",
            )
        except (ValueError, ArithmeticError, RuntimeError):
            tm.keep_accepted()  # (a user function raising mid-mode: see the sign flow's)
            raise
        if what is None:
            return REACHED_END
        if what == "refloor":
            # The same tie from an accepted point where its value has fallen below
            # `REFLOOR` of the mode's scale: its tolerances on the gradient's scale there
            # (as the sign flow's modes take theirs again, `_Mode.set_scale`), its start
            # moved onto the tie if its spread has become large on that scale
            # (`_TieMode.recentred`). The mode and its tie are the same: no event.
            t, x = t_new, p.x
            g = block.grad(x)  # (the point's own is the one before its last correction)
            c = float(np.mean(sigma[tm.T] * g[tm.T]))
            solved = None
            refloored = True
            continue
        x, g, c = p.x, p.g, p.c
        # (an event where the tie value is 0 to the mode's zero tolerance is the rest point,
        # whatever located it: a join as c reaches 0, where a singular Hessian keeps ċ = 0
        # and the next tie would follow a valley of minimizers at c = 0; on the mode's
        # scale, not the run's: the gradient can fall by orders of magnitude)
        # (also where the whole gradient is its rounding: a factorization's greedy flow
        # reached its valley with max |∂f| = 1.8e-14 on a mode of scale 5e-6, its tie value
        # far above that mode's zero tolerance, and went on with crossings and tie exits
        # of rounding, 250 events in 1.3e-10 of time, until the Zeno guard ended it −2)
        if (
            what == "zero"
            or c <= tm.ztol
            or (
                float(np.abs(g).max()) <= 1e-8 * g_scale
                and float(np.abs(g).max()) <= _gradient_rounding(block, x, g)
            )
        ):
            if float(np.abs(g).max()) > max(ztol, _gradient_rounding(block, x, g)):
                return Finished(
                    -4,
                    f"the tie value reached 0 at t = {t_new:.12g} with a nonzero gradient "
                    f"(max |∂f| = {float(np.abs(g).max()):.3g})",
                )
            # At h = 0 every relay value is free: staying is the only solution when the
            # Hessian is a P-matrix (positive definite), read at the rest itself. (Not from
            # the tie block's factor when every index is tied: taken earlier in the mode,
            # it said positive definite on a circle of minimizers, (x0² + x1² − 1)², whose
            # Hessian at the rest has eigenvalues 0 and 8, and the rest was flagged unique.)
            unique = _rest_unique(block, x)
            note = "" if unique else NON_UNIQUE_REST_NOTE
            return Rest(t_new, x, np.arange(n), mode, mode_rest, np.zeros(n), unique, note)
        stalls = stalls + 1 if t_new == t else 0
        if stalls > 2 * n + 4:
            return Finished(
                -4, f"no consistent tie mode found at t = {t:.12g}: {stalls} zero-length modes"
            )
        t = t_new
        T_old = tm.T.copy()
        frozen = tm.F
        # (with the offsets the mode ended with: one dropped inside it has its join
        # located on the tie itself, where the start's offset would not count it)
        assert tm.offset is not None
        end_offset = tm.offset[frozen]
        # (on the smaller of the mode's start and end scales: the tie value can shrink by
        # orders of magnitude inside one mode; the index located joins whatever its
        # guard's rounding there)
        ztol_end = min(tm.ztol, zero_tolerance(mode_scale(c, tm.g_scale), opts.zero_tol))
        near = c - np.abs(g[frozen]) + end_offset <= ztol_end
        near |= frozen == tm.located
        joined = frozen[near & (g[frozen] != 0.0)]
        leaves = T_old[-tm.sT * p.u <= _MIN_WEIGHT] if T_old.size > 1 else T_old[:0]
        old_mode = mode
        cand_sigma = sigma.copy()
        cand_sigma[leaves] = 0.0
        cand_sigma[joined] = np.sign(g[joined])
        try:
            block.signs = cand_sigma
            staying = np.setdiff1d(T_old, leaves) if leaves.size else None
            kept = block.S.size if staying is None else staying.size
            block.candidates(x, staying, joined.tolist())
            sigma, unique, solved = _select(block, x, cand_sigma, rec, kept, g)
        except np.linalg.LinAlgError as exc:
            return Finished(-4, f"the tie selection at t = {t:.12g} failed: {exc}")
        T = block.S
        c = float(np.mean(sigma[T] * g[T]))
        mode = make_mode("linf", sigma, T)
        in_T = np.zeros(n, dtype=bool)
        in_T[T] = True
        was_in = np.zeros(n, dtype=bool)
        was_in[T_old] = True
        entered = np.flatnonzero(in_T & ~was_in).tolist()
        left = np.flatnonzero(was_in & ~in_T).tolist()
        # (the event keeps the breakpoint's own read-only array, as the sign flow's: no
        # copy of its own; the computation goes on with the writable ``x``)
        record_tie_change(
            rec, t, rec.kept_state(t, x), entered, left, joined, old_mode, mode, unique
        )
