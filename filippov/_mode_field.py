"""The smooth field of one mode of the event path, its guard and its manifold constraint.

In a mode (a fixed face of ``∂φ``) the velocity ``f0 − B λ(x)`` is smooth: ``λ`` is fixed
on the vertex part and, on the free part, solves the *equality* form of the selection
(sliding: ``ḣ_J = 0``; ties: equal rates). :class:`ModeField` evaluates it (only the
Jacobian rows of the free indices), holds the mode's manifold (projection, drift
correction) and its guard, the distances to every face boundary (see
:mod:`filippov._event_path`, which integrates it).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from scipy.linalg.lapack import dgecon, dgesv, dgetrf, dgetrs, dposv

from filippov._certify import (
    MAX_CONDITION,
    STATUS_UNCERTIFIED,
    RangeSplit,
    equilibrated_condition,
)
from filippov._recorder import Recorder, make_mode
from filippov._tie_repelling import TIE_ROUNDING, tangent_curvature
from filippov._validation import FloatArray
from filippov.engine.protocol import PathFailure
from filippov.selection import is_symmetric
from filippov.solution import Mode
from filippov.systems import FilippovSystem


class Margins(Protocol):
    """Per-index guard margins read as an array (``margins[i]``, ``margins[rows]``): an
    ndarray, or the event path's margins taken at an event row by row."""

    def __getitem__(self, index: Any) -> Any: ...


_EPS = np.finfo(float).eps
#: The offset of an index that starts an ℓ∞ mode on the tie, in ulps of ``h_scale``.
TIE_MARGIN_ULPS = 16.0
#: Largest condition of an ℓ1 sliding selection whose drift is corrected through the
#: relay values (beyond it the correction is normal to the manifold).
_RELAY_CORRECTION_MAX_CONDITION = 1e8
#: A tie KKT factor whose smallest pivot is at most this fraction of its largest has its
#: condition estimated (`_tiny_pivot`), which then judges it against TIE_ROUNDING: the
#: pivots of duplicated features' ties, singular in exact arithmetic, were 2-4e-17 of the
#: largest. At rounding only: a tie turning repelling passes through a singular K, and
#: its steps away from the turn keep LU's weights, as before.
_PIVOT_ROUNDING = 64 * _EPS
#: The ℓ2 guard's stopping radius ‖h‖ = δ, relative to the scale of h.
_L2_STOP = 1e-10


class ModeField:
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
        #: The scale of each ``h_i`` (``max(|h_i|, |∂h_i/∂x|·|x|)`` at the run's start), for
        #: :meth:`below`; ``None``: every entry on ``h_scale``.
        self.index_scales: FloatArray | None = None
        #: The scale of the ceiling `settle_offsets` puts on a tie's offsets (16 ulps of
        #: it): x0's ``h_scale`` on the event path, where ``h_scale`` follows ``h`` as it
        #: falls (16 ulps of the event's scale let an index that had just left a tie of a
        #: rotated quadratic's greedy flow fire again at once, three times).
        self.rounding_scale = h_scale
        # The ℓ2 guard stops at ‖h‖ = δ (the field is singular at h = 0; see filippov._l2_arrival).
        # Small, so that the straight Newton steps of the arrival are short: the velocity
        # −h/‖h‖ turns along the way, and the last stretch should be rounding-sized.
        self.l2_delta = _L2_STOP * h_scale
        self.gain = gain
        #: Whether the drift correction goes through the mode's relay values (velocity in
        #: F(x)); False for ill-conditioned selections (see check_selection_precision).
        self.correct_through_relays = True
        #: Where an ℓ1 sliding matrix is singular to double precision with a consistent
        #: selection (see `check_selection_precision`): an orthonormal basis of a space
        #: transversal to its null space, which borders the matrix in every right-hand
        #: side (`least_norm_selection`); ``None`` otherwise.
        self.null_basis: FloatArray | None = None
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
        #: The LU factor ``(lu, piv)`` of a tie's bordered selection matrix at the cached
        #: state (``None``: singular, or not a tie; see `bordered_sign`).
        self._kkt: tuple[FloatArray, np.ndarray] | None = None
        #: The state :meth:`start` projected the mode's start to.
        self._projected: bytes | None = None
        #: The last state projected and its projection (an event's state is projected by
        #: its location on the recorded path and again by the mode's record).
        self._last_projection: tuple[bytes, FloatArray] | None = None
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
            lam, v = self._relay_l1(f0, B, hx, JF, x)
        else:
            lam, v = self._relay(f0, B, hx, JF), None
        self._key = key
        self._cache = (f0, B, hx, JF, lam)
        self._v = v
        return self._cache

    def _relay_l1(
        self,
        f0: FloatArray,
        B: FloatArray,
        hx: FloatArray,
        JF: FloatArray | None,
        x: FloatArray,
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
            unit = self.system.B_is_identity or (
                B.shape[0] == B.shape[1] and np.array_equal(BF, np.eye(B.shape[0])[:, F])
            )
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
        M = JF[:, F] if unit else JF @ BF
        if self.null_basis is not None:
            # (the null space turns along the mode: followed. A block that turns regular
            # beyond what the tolerance allows ends the run: its unique selection is not
            # the least-norm one chosen at the start, which has by then drifted off the
            # manifold along the null vector -- followed on, 0.3 off at t = 1 on a block
            # singular only at the start, status 0, and its dense output unreadable.)
            # (the slack: the drift off the manifold at this state, which a trial stage of
            # a step can have far beyond the tolerance -- along the block's range only:
            # the least-norm motion of a block that is in fact regular drifts along its
            # null vector, and a slack that grew with that drift never ended it)
            slack = 64.0 * range_drift(hx[F], self.null_basis, x)
            lam_F, basis = least_norm_selection(M, rhs, self.null_basis, slack)
            if basis is None:
                raise PathFailure(
                    -4,
                    "the sliding block, singular to rounding where the mode started (its "
                    "least-norm selection followed), is no longer singular along its null "
                    f"space at x = {np.array2string(x, precision=12)} (beyond what the "
                    "tolerance allows): the selection chosen at the start is not this "
                    "block's; the solution is returned up to there",
                )
            self.null_basis = basis
        else:
            lam_F = _solve_min_norm(M, rhs)
        lam[F] = lam_F
        if unit:
            v = u.copy()
            v[F] -= lam_F
        else:
            v = u - BF @ lam_F
        if not through_relays and self.gain > 0:
            # An ill-conditioned M would amplify the drift into the relay values: the
            # correction is then the minimal-norm one, normal to the manifold.
            v -= self.gain * min_norm_correction(JF, hx[F], self.null_basis)
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
            # (the LU factor of the bordered K kept: it gives the sign of det K for
            # nothing, see `bordered_sign`)
            sol, self._kkt = _solve_min_norm_factored(K, np.r_[a, 1.0])
            if self._kkt is not None and (
                not float(np.max(np.abs(sol[:k]))) <= 2.0 or _tiny_pivot(self._kkt[0], M)
            ):
                # K may be singular to the selection's tolerance, not only to LU's exact
                # zero: two indices of a tie whose rates can never differ (duplicated
                # features) make it singular in exact arithmetic, and its rounding inverse
                # split their common weight at random -- moved them at 1e15, or gave one a
                # negative weight (a velocity outside F(x), read as a pole of h). Signs: a
                # weight far off the simplex (a valid tie's stay in [0, 1] up to the drift
                # correction), or a pivot at rounding. Then (only: the estimate in every
                # right-hand side took the breast-cancer ℓ1 event path from 0.42-0.46 s to
                # 0.50-0.63 s) K's condition is judged with M scaled by a power of two near
                # its largest entry -- exactly: the same weights -- so on the border's
                # scale, whatever the Hessian's (a Hessian of 1e4 puts an ordinary tie's
                # pivots 1e-8 apart, and f × 1e8 must not change the flow).
                scale = 2.0 ** -np.frexp(float(np.max(np.abs(M))))[1]
                K[:k, :k] = M * scale
                judged = _solve_min_norm_factored(K, np.r_[a * scale, 1.0], TIE_ROUNDING)
                if judged[1] is None:  # singular: least squares
                    sol, self._kkt = judged
            lam[F] = s * sol[:k]
            return lam
        if F.size:  # ℓ2 held at h = 0: ḣ = −gain·h (drift pulled back through λ)
            assert JF is not None
            return _solve_min_norm(JF @ B, JF @ f0 + self.gain * hx)
        size = float(np.linalg.norm(hx))
        if size == 0.0:
            # h = 0 exactly: a step landed on the zero set itself, inside the arrival
            # guard's ‖h‖ = δ (a straight arrival at a minimizer that is a float, as
            # cosh(½(x − 0.3)) from 1.3). The relay's set is then the whole ball; its
            # least-norm element, 0, stands until the transition selects on the face
            # (h/‖h‖ was 0/0, and a NaN velocity ended the run −1).
            return np.zeros_like(hx)
        return hx / size

    # -- ties turning repelling (see filippov._tie_repelling) --------------------------
    @property
    def watches_ties(self) -> bool:
        """Whether the mode is a tie of a steepest-descent flow's ℓ∞ relay (the ℓ1 flow's
        tie, ``M = σ H_TT σ`` symmetric) that can turn repelling: two or more indices."""
        return self.norm == "linf" and self.free.size > 1 and self.system.objective is not None

    @property
    def watches_sliding(self) -> bool:
        """Whether the mode slides on a componentwise (ℓ1) relay's surfaces of a system
        that is not a steepest-descent flow, whose sliding can turn repelling (a two-fold:
        ``M = (∂h/∂x)_F B_F`` passing through a singular matrix). (A gradient flow's ``M``
        is the Hessian block: its entries are judged at each entry, see the selection.)"""
        return self.norm == "l1" and self.free.size > 0 and self.system.objective is None

    def sliding_attraction(self, x: FloatArray) -> float:
        """``det M`` of the sliding block ``M = (∂h/∂x)_F B_F`` at ``x``: positive where
        the sliding surfaces of a ``watches_sliding`` mode attract (for one surface ``M``
        itself, the rate at which the relay drives ``h`` to 0); a sign change is an
        eigenvalue passing through 0, where the sliding velocity ceases to be unique."""
        _, B, _, JF, _ = self.evaluate(x)
        assert JF is not None
        M = JF @ B[:, self.free]
        if M.shape == (1, 1):
            return float(M[0, 0])
        sign, logdet = np.linalg.slogdet(M)
        return float(sign) * float(np.exp(logdet / M.shape[0]))  # (its k-th root: no overflow)

    def bordered_sign(self, x: FloatArray) -> float:
        """The sign of ``det [[M, 1], [1ᵀ, 0]]`` at ``x`` from the LU factor the selection
        solved with (0 where it is singular): −1 wherever the tie attracts (that matrix's
        inertia is the tie block's on ``1ᵀd = 0`` plus one eigenvalue of each sign), so a
        step whose end gives −1 needs no further test."""
        self.evaluate(x)
        if self._kkt is None:
            return 0.0
        lu, piv = self._kkt
        diag = np.diag(lu)
        swaps = int(np.count_nonzero(piv != np.arange(piv.size)))  # (scipy: 0-based)
        return float(np.prod(np.sign(diag))) * (-1.0 if swaps % 2 else 1.0)

    def tie_curvature(self, x: FloatArray) -> float:
        """``κ(x)``: the smallest eigenvalue of the tie's block ``M = σ (∂h/∂x)_T B_T σ``
        on ``1ᵀd = 0`` (see :func:`filippov._tie_repelling.tangent_curvature`)."""
        _, B, _, JF, _ = self.evaluate(x)
        assert JF is not None
        F = self.free
        s = self.sigma[F]
        M = s[:, None] * (JF @ B[:, F]) * s[None, :]
        return tangent_curvature(M, np.ones(F.size))

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
        key = x.tobytes()
        if key == self._projected:
            # The mode's start state, already projected (the dense output reproduces it
            # exactly at the start time, where the recorded segment is first evaluated).
            return x
        if self._last_projection is not None and self._last_projection[0] == key:
            return self._last_projection[1].copy()
        projected = self._newton_projection(x, seed)
        self._last_projection = (key, projected.copy())
        return projected

    def _newton_projection(
        self, x: FloatArray, seed: tuple[FloatArray, FloatArray] | None
    ) -> FloatArray:
        """The Newton iterations of :meth:`project`."""
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
            d = BF @ min_norm_correction(rows @ BF, res, self.null_basis)
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

    def settle_offsets(self, x: FloatArray, ztol: Margins, tie_tol: float) -> None:
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
            # At least 8 ulps of the guard's own value: a margin below the ulp of the
            # rounding left in h_i at its root (a row of h that vanished at x0, h = cos(ωs)
            # − c at s = 0, gave 1e-314 against h = 1.1e-16) is lost in the sum below, the
            # guard then starts at exactly 0 and zero-length modes follow until −4.
            margin = np.maximum(ztol[flagged], 8.0 * _EPS * np.abs(raw))
        else:
            hm = float(np.mean(self.sigma[self.free] * hx[self.free]))
            raw = hm - np.abs(hx[flagged])
            # Above the rounding of h (16 ulps of its scale), not the whole tie tolerance:
            # near a minimizer that tolerance (1e-12 of h's scale at x0) was a third of
            # the tie's value; the offset then never came off (`release_offsets` waits for
            # three of it) and each re-entry into the tie came late (review R19).
            margin = np.full(
                flagged.size, min(tie_tol, TIE_MARGIN_ULPS * _EPS * self.rounding_scale)
            )
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

    def below(self, x: FloatArray, tol: float) -> bool:
        """Whether some guard entry at ``x`` is at or below ``−tol`` times its scale: an ℓ1
        index's scale is its own (:attr:`index_scales`, when set), not the largest of all
        of ``h`` (on a sign flow whose components' scales differ a thousandfold, a window
        9.6e-9 deep in a component of scale 0.6 was under 1e-10 of the largest scale, 197,
        and taken for a touch); other entries' scale is ``max(1, h_scale)``."""
        values = self.guard_values(x)[0]
        scale = np.full(values.size, max(1.0, self.h_scale))
        if self.norm == "l1" and self.index_scales is not None:
            scale[: self.fixed.size] = np.maximum(1.0, self.index_scales[self.fixed])
            scale[self.fixed.size :] = 1.0  # (1 − |λ_i|: the exits' margins, of size 1)
        return bool(np.any(values <= -tol * scale))

    def cheap_entries(self, x: FloatArray, positions: np.ndarray) -> FloatArray:
        """Guard entries ``positions``, all of h alone (:attr:`cheap`), at ``x``: one
        evaluation of h, not of the whole mode."""
        hx = self._cache[2] if x.tobytes() == self._key else self.system.kernel_f0_h(x)[1]
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


def min_norm_correction(
    rows: FloatArray, res: FloatArray, null_basis: FloatArray | None = None
) -> FloatArray:
    """Smallest ``d`` with ``rows @ d = res`` (rows independent: the manifold's normals).

    Through the normal equations ``rows rowsᵀ y = res``, ``d = rowsᵀ y`` (a k×k Cholesky
    solve, LAPACK's posv called directly: this runs in every right-hand side of a sliding
    mode); falls back to least squares when the normals are dependent (the Cholesky
    factorisation fails). With ``null_basis`` (a mode whose rows are dependent, see
    `ModeField.null_basis`) the normal equations are bordered with it instead: an LU
    solve of the same size, not an SVD of the rows in every right-hand side.
    """
    if null_basis is not None:
        # (no regularity test: the correction ignores the null space it is given, and a
        # state off the manifold makes the normal equations regular to its distance)
        y, _ = least_norm_selection(rows @ rows.T, res, null_basis, np.inf)
        return np.asarray(rows.T @ y, dtype=np.float64)
    with np.errstate(all="ignore"):  # overflow near a pole of h: non-finite, caught later
        factor, y, info = dposv(rows @ rows.T, res)
        pivots = np.abs(np.diagonal(factor)) if info == 0 else None
    # (normal equations whose condition, the pivots' ratio squared, is beyond 1e12 square
    # the rows' near-dependence past what double precision resolves: least squares on the
    # rows themselves, cut at rounding. Two tied indices of duplicated features have rows
    # equal but for rounding, 3e-17 apart against 0.26: the normal equations' solve
    # passed on a pivot at rounding, the projection moved the state 1e64 tolerances, and
    # reading the solution raised.)
    if info == 0 and pivots is not None and float(np.min(pivots)) > 1e-6 * float(np.max(pivots)):
        return np.asarray(rows.T @ y, dtype=np.float64)
    return np.asarray(np.linalg.lstsq(rows, res, rcond=None)[0], dtype=np.float64)


def _solve_min_norm(M: FloatArray, a: FloatArray) -> FloatArray:
    """``M⁻¹ a``, or the minimal-norm least-squares solution when ``M`` is singular.

    A singular sliding matrix means the continuation is not unique; the event that
    started the mode is already flagged (``unique=False``) and docs/theory.rst ("Modes and
    the sliding selection") asks for the
    minimal-norm choice.
    """
    return _solve_min_norm_factored(M, a)[0]


def least_norm_selection(
    M: FloatArray, a: FloatArray, basis: FloatArray, slack: float = 0.0
) -> tuple[FloatArray, FloatArray | None]:
    """The least-norm solution of ``M y = a`` for a symmetric ``M`` singular to double
    precision with ``a`` in its range, and an orthonormal basis of ``M``'s null space at
    this ``M``; or, where ``M`` is no longer singular along that basis (``max |M Z|`` above
    ``64·k·eps·max|M| + slack``) or the bordered matrix is singular, ``M``'s own solution
    (least squares where singular) and ``None``. ``slack``: what the state's distance
    from the mode's manifold allows (a symmetry's null vector ``n`` of ``H_SS`` on the
    manifold has ``H_SS n`` of the size of ``∇_S f / |x|`` off it: 4e-9 against a
    drift of 2.5e-8 on a factorization's).

    The regular case: a block singular only where the mode starts (``x2 = 0`` in ``½(x0 +
    x1 − ½x2)² + ½x2²(x0 − x1 − 0.8x2)²``) is regular along the rest of it, and its
    unique selection is not the bordered one (which kept ``Nᵀy = 0``: 0.3 off by t = 1 in
    a review of the first version).

    ``basis`` (``k × q``) need only be transversal to the null space: the bordered system
    ``[[M, N], [Nᵀ, 0]]`` is then regular, its solution for ``(a, 0)`` solves ``M y = a``
    (``a`` consistent, the border's multipliers at rounding) and its solutions for ``(0,
    I)`` span the null space of ``M`` itself. The null component is projected out of
    ``y``. One LU of size ``k + q`` per call, as the regular selection's; an SVD in every
    right-hand side cost 10-20 times that at ``k`` = 200.

    Why not least squares with a cut-off: it needs the SVD, and where ``M`` is singular
    only to rounding a cut-off moves with the rounding; the border follows the null
    space as it turns along the mode (the rotations of a matrix factorization's factors
    move with the factors)."""
    factor = bordered_null_space(M, basis, slack)
    if factor is None:
        return _solve_min_norm(M, a), None
    lu, piv, null = factor
    k, q = basis.shape
    sol, info = dgetrs(lu, piv, np.r_[a, np.zeros(q)])
    if info != 0 or not bool(np.all(np.isfinite(sol))):
        return _solve_min_norm(M, a), None
    y = sol[:k]
    return np.asarray(y - null @ (null.T @ y), dtype=np.float64), null


def bordered_null_space(
    M: FloatArray, border: FloatArray, slack: float = 0.0
) -> tuple[FloatArray, FloatArray, FloatArray] | None:
    """``(lu, piv, null)``: the LU factor of ``[[M, N], [Nᵀ, 0]]`` (``N = border``, ``k ×
    q``) and an orthonormal basis of ``M``'s null space from its solutions for ``(0, I)``
    (see `least_norm_selection`); ``None`` where that matrix is singular (the border no
    longer transversal to the null space) or ``M`` is no longer singular along the basis
    (``max |M Z|`` above ``64·k·eps·max|M| + slack``). Shared by the event path's
    selection and the continuation path's block (`_Block._factor_least_norm`)."""
    k, q = border.shape
    K = np.zeros((k + q, k + q))
    K[:k, :k] = M
    K[:k, k:] = border
    K[k:, :k] = border.T
    lu, piv, info = dgetrf(K)
    if info != 0 or not bool(np.all(np.isfinite(lu))):
        return None
    rhs = np.zeros((k + q, q))
    rhs[k:] = np.eye(q)
    sol, info = dgetrs(lu, piv, rhs)
    if info != 0 or not bool(np.all(np.isfinite(sol))):
        return None
    null = np.asarray(np.linalg.qr(sol[:k])[0])
    if float(np.max(np.abs(M @ null))) > 64.0 * k * _EPS * float(np.max(np.abs(M))) + slack:
        return None
    return lu, piv, null


def consistent_null_basis(M: FloatArray, a: FloatArray, a_size: FloatArray) -> FloatArray | None:
    """An orthonormal basis of the null space of a symmetric ``M`` singular to rounding
    (singular values at most ``k·eps`` of the largest, after symmetric equilibration),
    when ``M y = a`` is consistent to rounding there: every null vector ``w`` has ``|wᵀa|
    ≤ 64·k·eps·|w|ᵀ a_size`` (``a_size ≥ |a|`` entrywise, the size of the terms ``a`` was
    summed from). ``None`` where ``M`` is not symmetric or not singular to rounding, or
    ``a`` has a component off its range: a selection whose size is not bounded, not a
    choice among equals.

    At rounding, not below ``1/MAX_CONDITION``: a regular block of condition 1e14 (its
    small eigenvalue resolved to a few per cent) with ``wᵀa`` of 7e-15, consistent to the
    test above, has a selection component of O(1) along ``w``; cutting it moved a run by
    2.5 with status 1, and called it not unique (review of the first version). Such a
    block stays refused (−5, precision lost). Not against the block's measured noise
    either: a factorization's rotation block had its null singular value at 160 times its
    change over one ulp of every coordinate, and a regular block of condition 5e13 (its
    Hessian noisy) its small one at 94 times: cut with the first, it rested 1.25 off with
    status 1 (second review). Such runs stop −4/−5 near their rest instead."""
    if M.shape[0] < 2 or not is_symmetric(M):
        return None
    k = M.shape[0]
    split = RangeSplit.of(0.5 * (M + M.T), k * _EPS)
    if split is None:
        return None
    # (the split's vectors are in the equilibrated coordinates: back to M's)
    null, _ = np.linalg.qr(split.scaling[:, None] * split.right_null)
    off = np.abs(null.T @ a)
    bound = 64.0 * k * _EPS * (np.abs(null).T @ a_size)
    return np.asarray(null) if bool(np.all(off <= bound)) else None


def _tiny_pivot(lu: FloatArray, M: FloatArray) -> bool:
    """Whether the LU factor of a tie's bordered ``K = [[M, 1], [1ᵀ, 0]]`` has a pivot at
    rounding (``O(k)``: a cheap sign that ``K`` may be singular, which a condition estimate
    then decides). The pivots of a regular ``K`` spread by up to ``μ²`` or ``1/μ²`` with
    the scale ``μ`` of ``M`` against the border's 1 (``M`` on one side, its Schur
    complement ``1ᵀM⁻¹1`` on the other): the test allows for that spread."""
    pivots = np.abs(np.diagonal(lu))
    top = float(np.max(np.abs(M)))
    # (capped so that its square is a float: a Poisson model's block reached |M| ~ 1e200,
    # and Python's float power raised OverflowError, which the event path reported as
    # the user's functions raising; beyond the cap every pivot passes as "tiny" and the
    # condition estimate decides, as it should at such a scale)
    spread = min(max(top, 1.0 / top), 1e154) ** 2 if top > 0.0 else 1.0
    lo, hi = float(pivots.min()), float(pivots.max())
    return bool(hi == 0.0 or lo / hi <= _PIVOT_ROUNDING * spread)


def _solve_min_norm_factored(
    M: FloatArray, a: FloatArray, singular_below: float = 0.0
) -> tuple[FloatArray, tuple[FloatArray, np.ndarray] | None]:
    """`_solve_min_norm`, with the LU factor ``(lu, piv)`` of ``M`` (``None`` when ``M`` is
    singular). With ``singular_below``, ``M`` is also taken as singular when the estimate
    of its reciprocal condition number (1-norm) is below it, and the least squares cut its
    singular values below that fraction of the largest."""
    # LAPACK's gesv directly (what `np.linalg.solve` wraps), without numpy's per-call
    # overhead: this runs in every right-hand side of a sliding mode. info > 0: singular.
    lu, piv, sol, info = dgesv(M, a)
    if info == 0 and singular_below > 0.0:
        rcond, _ = dgecon(lu, float(np.max(np.abs(M).sum(axis=0))), norm="1")
        info = 0 if rcond >= singular_below else 1
    if info == 0:
        return np.asarray(sol, dtype=np.float64), (lu, piv)
    cut = singular_below if singular_below > 0.0 else None
    return np.asarray(np.linalg.lstsq(M, a, rcond=cut)[0], dtype=np.float64), None


def _velocity_determined(M: FloatArray, BF: FloatArray) -> bool:
    """Whether a selection matrix ``M = (∂h/∂x)_J B_J`` singular to rounding still leaves
    the velocity ``f0 − B_J λ_J`` to double precision: well conditioned on its range, and
    its null space (the λ_J it cannot tell apart) one that ``B_J`` maps to 0 -- as with
    redundant switching functions (h = (x₁, x₂, x₁ + x₂), ``B = Gᵀ/2``), whose relay
    values are not unique while the motion is."""
    split = RangeSplit.of(M)
    if split is None or split.condition > MAX_CONDITION:
        return False
    # (the null vectors are in the scaled coordinates: back to λ's)
    moved = BF @ (split.scaling[:, None] * split.right_null)
    size = float(np.max(np.abs(BF))) * float(np.max(np.abs(split.scaling)))
    return float(np.max(np.abs(moved))) <= 64.0 * _EPS * M.shape[0] * size


def selection_beyond_precision(M: FloatArray, BF: FloatArray, cond: float | None = None) -> bool:
    """Whether an ℓ1 sliding selection ``M = (∂h/∂x)_J B_J`` (``BF = B_J``) is beyond what
    double precision resolves, as `check_selection_precision` judges it: a positive
    diagonal (a zero one is a flat zero of ``h_i``, left to the minimal-norm selection),
    an equilibrated condition number (``cond``, when known) above `MAX_CONDITION`, and a
    null space the velocity does not ignore (`_velocity_determined`)."""
    if M.shape[0] < 2 or not bool(np.all(np.diag(M) > 0.0)):
        return False
    if cond is None:
        cond = equilibrated_condition(M)
    return cond > MAX_CONDITION and not _velocity_determined(M, BF)


def check_selection_precision(field: ModeField, x: FloatArray) -> None:
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
    if selection_beyond_precision(M, B[:, F], cond):
        declined = _least_norm_sliding(field, x, M, cond)
        if declined is None:
            return
        raise PathFailure(
            STATUS_UNCERTIFIED,
            f"precision lost: the sliding selection on switching functions "
            f"{np.array2string(F, threshold=8)} has condition number {cond:.3g} after "
            f"equilibration, beyond what double precision resolves ({MAX_CONDITION:.0e}), "
            f"at x = {np.array2string(x, precision=12)}{declined}; the solution is kept up "
            "to there",
        )


def range_drift(h: FloatArray, basis: FloatArray, x: FloatArray) -> float:
    """The size of the sliding partials ``h`` along the block's range (their component
    along the null ``basis`` taken out) over the state's size: what a symmetry's null
    vector of ``H_SS`` picks up off the manifold (``H_SS n`` of the size of ``∇_S f/|x|``;
    its component along ``n`` vanishes identically where ``n`` is a symmetry)."""
    on_range = h - basis @ (basis.T @ h)
    return float(np.max(np.abs(on_range), initial=0.0)) / max(float(np.max(np.abs(x))), 1e-300)


def _stays_singular(field: ModeField, x: FloatArray, lam: FloatArray, basis: FloatArray) -> bool:
    """Whether the block stays singular a short way along the least-norm motion from
    ``x``: at ``x + τ v`` (``v`` the mode's velocity with ``λ_F = lam``, ``τ`` a thousandth
    of the state's size over the speed), its null space still within the range drift
    there (`least_norm_selection`'s test).

    Why: a block singular only at the mode's start (``x2 = 0`` in ``½(x0 + x1 − ½x2)² +
    10⁻⁶·½x2²(x0 − x1 − 0.8x2)²``) turns regular so slowly that the test along the mode
    fires late or never, while its unique selection differs from the least-norm one by
    O(1) from the start: the run rested 0.3 off with status 1 (second review)."""
    f0, B, _, _, _ = field.evaluate(x)
    F, out = field.free, field.fixed
    v = f0 - B[:, out] @ field.sigma[out] - B[:, F] @ lam
    speed = float(np.max(np.abs(v), initial=0.0))
    if speed == 0.0:
        return True
    x_p = x + (1e-3 * max(float(np.max(np.abs(x))), 1.0) / speed) * v
    f0_p, B_p, h_p = field.system.kernel_evaluate(x_p)
    JF_p = field.system.kernel_jacobian_rows(x_p, F, field.m)
    M_p = JF_p[:, F] if field.system.B_is_identity else JF_p @ B_p[:, F]
    a_p = JF_p @ (f0_p - B_p[:, out] @ field.sigma[out])
    _, kept = least_norm_selection(M_p, a_p, basis, 64.0 * range_drift(h_p[F], basis, x_p))
    return kept is not None


#: The note of a sliding mode whose selection is not unique (`_least_norm_sliding`).
LEAST_NORM_SLIDING_NOTE = (
    "the sliding block is singular to double precision with a consistent selection "
    "(a symmetry or valley of f inside the sliding set): the motion along its null space "
    "is not unique, and the least-norm selection is followed"
)


def _least_norm_sliding(field: ModeField, x: FloatArray, M: FloatArray, cond: float) -> str | None:
    """``None`` where the ℓ1 sliding mode ``field``, whose selection matrix ``M`` is
    singular to double precision (condition ``cond``), is followed with its least-norm
    selection; else what the failure's message adds (why not, or "")
    (DESIGN.md §1.2: a sliding matrix that is not a P-matrix, the continuation not unique,
    the minimal-norm solution picked and flagged): ``M`` symmetric (a gradient flow's
    Hessian block), the selection consistent to rounding (`consistent_null_basis`) and
    its least-norm solution inside the box ``[−1, 1]``. Then the field solves with it
    (`ModeField.null_basis`), and the event that started the mode is flagged
    ``unique=False`` with `LEAST_NORM_SLIDING_NOTE` (the run's message says so too).

    Why: where every free index of a matrix factorization's flow lies in one column of
    the factors, the rotations of the other columns move only sliding indices and leave
    f unchanged, so ``H_SS`` is singular exactly along them; the run stopped −5 ("precision
    lost") partway on most rank-3 factorizations, where its velocity is bounded and only
    its component along those rotations is free. A selection with a component off the
    range (its size not bounded: a fold of the sliding manifold) still stops −5."""
    f0, B, hx, JF, _ = field.evaluate(x)
    assert JF is not None
    F, out = field.free, field.fixed
    u = f0 - B[:, out] @ field.sigma[out]
    a = JF @ u
    a_size = np.abs(JF) @ np.abs(u)
    basis = consistent_null_basis(M, a, a_size)
    if basis is None:
        return ""
    # (a null vector of H_SS on the manifold is one off it by the size of ∇_S f / |x|)
    lam, kept = least_norm_selection(M, a, basis, 64.0 * range_drift(hx[F], basis, x))
    if kept is None:
        return ""
    if not _stays_singular(field, x, lam, kept):
        return " (singular to rounding only where the mode starts: regular along its motion)"
    size = float(np.max(np.abs(lam), initial=0.0))
    if not size <= 1.0 + 1e-8:
        # (other selections, along the null space, may lie in the box: which one to
        # follow, and whether an index leaves, is not decided here)
        return (
            f" (singular to rounding with a consistent selection, but its least-norm "
            f"selection leaves the box: max |λ| = {size:.6g})"
        )
    field.null_basis = kept
    field.correct_through_relays = False  # (cond > MAX_CONDITION: normal to the manifold)
    field._key = None
    rec = field.rec
    if rec is not None:
        flag_least_norm_sliding(rec, float(rec.t[-1]), field.mode, int(F.size), cond)
    return None


def flag_least_norm_sliding(rec: Recorder, t: float, mode: Mode, indices: int, cond: float) -> None:
    """Flag a sliding mode followed with its least-norm selection: the event that started
    it (the last recorded, if its mode after is ``mode``) becomes ``unique=False`` with
    `LEAST_NORM_SLIDING_NOTE`, and the run's first such mode goes into
    ``rec.info["least_norm_sliding"]`` (its time -- the event's, else ``t`` --, its
    number of sliding indices and the condition estimate; the driver's message says so).
    Shared by the event path (`_least_norm_sliding`) and the continuation path."""
    if rec.events and rec.events[-1].mode_after == mode:
        t = rec.events[-1].t
        last = rec.events[-1]
        note = f"{last.note}; {LEAST_NORM_SLIDING_NOTE}" if last.note else LEAST_NORM_SLIDING_NOTE
        last.__dict__.update(unique=False, note=note)  # (frozen for users, built here)
    rec.info.setdefault(
        "least_norm_sliding",
        {
            "t": t,
            "indices": indices,
            "condition": float(cond) if np.isfinite(cond) else None,  # (JSON: no inf)
            "note": LEAST_NORM_SLIDING_NOTE,
        },
    )
