"""The continuation path: sign and greedy flows of smooth objectives as continuation of
sliding curves (the greedy flow's tie modes are in :mod:`filippov._tie_continuation`;
this module dispatches to it and holds what both share: the block solver, the dense
output and the Hermite interpolants).

On a mode of the ℓ∞ steepest-descent flow ``x' ∈ −Sign(∇f(x))`` (sliding set ``S``, where
``∂_S f = 0`` is held, and fixed signs ``σ_F`` elsewhere) the free coordinates move in
closed form, ``x_F(τ) = x_F(τ₀) − σ_F (τ − τ₀)``, and the sliding ones follow the smooth
curve ``∇_S f(x_S, x_F(τ)) = 0``. The path follows that curve by predictor–corrector
continuation instead of integrating the sliding velocity as an ODE:

* **predictor**: the cubic Hermite extrapolation of the last step (the tangent
  ``ẋ_S = H_SS⁻¹ H_SF σ_F`` at both ends), or the tangent alone on a mode's first step;
* **corrector**: Newton on ``∇_S f = 0``. Its linear systems with ``H_SS`` are solved by
  conjugate gradients on Hessian–vector products, preconditioned by a Cholesky factor of
  ``H_SS`` taken at an earlier point and grown by one row when an index joins ``S`` (so a
  step costs a few products, ``O(m·d)`` each for the library objectives, never a dense
  Hessian); the factor is refreshed when CG stops converging fast;
* **step control**: the corrector's distance to the prediction is the local error of the
  cubic dense output (as in a multistep method), kept below ``atol + rtol·‖x‖``;
* **events** are smooth functions along the curve: ``σ_i ∂_i f`` for ``i ∈ F`` reaching 0
  (entry, crossing; detected on the Hermite interpolant of the gradient, whose derivative
  ``Hẋ`` is one more product, then refined by Newton on the curve itself) and the
  equivalent control ``|ẋ_i|`` of ``i ∈ S`` reaching 1 (exit; refined by ``brentq`` on the
  curve). At an entry the selection on the candidate zero set is the interior solution
  when it lies in the box (one more CG solve), else the box variational inequality on the
  dense block (:func:`~filippov.selection.solve_box_vi`). A mode's last step and its
  entry point take their tangents from interpolation (the mode ends there: they are only
  interpolation data), not from a solve: see `_quartic_slope` and `_entry_point`.

States are on the curve to the corrector's tolerance at every step: there is no drift to
correct and no stabilisation gain. On a generalized linear model (an objective exposing
``_linear_model``, as :func:`~filippov.objectives.ridge_logistic`) the products touch
only the sliding columns of its data, and ``B x`` is affine along a mode
(:class:`_LinearModel`; on sparse data with enough nonzeros a row, the sparse columns:
:class:`_SparseLinearModel`). See ``docs/theory.rst`` (the continuation path).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.linalg
from scipy.interpolate import CubicHermiteSpline
from scipy.linalg.blas import dsyrk, idamax, ssyrk
from scipy.linalg.lapack import dgetrs, dpotrf, dpotri, dpotrs, dtrtrs, spotrf, spotri
from scipy.optimize import brentq

from filippov._certify import MAX_CONDITION, RangeSplit
from filippov._mode_field import (
    bordered_null_space,
    consistent_null_basis,
    flag_least_norm_sliding,
    least_norm_selection,
    range_drift,
)
from filippov._recorder import Recorder, make_mode, record_l1_transition
from filippov._rest import NON_UNIQUE_REST_NOTE, rest_is_unique
from filippov._validation import (
    FloatArray,
    require_finite,
    require_positive,
    require_relative_tolerance,
)
from filippov.engine.protocol import (
    REACHED_END,
    Finished,
    PathFailure,
    Rest,
    SteppedPath,
    serial_blas,
)
from filippov.objectives import Objective
from filippov.selection import solve_box_vi
from filippov.systems import FilippovSystem

_EPS = float(np.finfo(float).eps)
#: CG iterations beyond which the preconditioner is refreshed at the current point.
_REFRESH_ITERATIONS = 6
#: Newton iterations of the corrector before the step is shortened.
_MAX_NEWTON = 8
#: Tries of a step (accepted or not) in one mode before its progress is first judged,
#: and twice the window it is judged on from then (see `_TryBudget`).
_MAX_TRIES = 2000
#: A mode whose last window of tries advanced its time by at most this share of all its
#: progress so far is crawling toward a singularity (see `_TryBudget`).
_CRAWL_SHARE = 1e-3
#: Tries in one mode, in multiples of `_MAX_TRIES`, after which it is given up however it
#: progresses (see `_TryBudget`).
_CEILING = 10
#: Blocks with |S|·n up to this are factored exactly at every point instead of CG.
_DIRECT_SIZE = 4096
#: Sums of a linear model updated column by column are recomputed by a full pass this often.
_FULL_PASS_EVERY = 32
#: CG on a linear model's sliding columns takes its products in single precision once the
#: residual is within this many targets: a product's rounding then moves the true
#: residual by less than 1e-2 of the target (measured: at most 4e-3 at |S| up to 1000),
#: and the last iterations (most of them: the guesses' residuals are mostly within 1e5
#: targets) read half the bytes.
_LOOSE_RESIDUAL = 1e5
#: ... on a block whose condition number is at most this (bounded by
#: ``1 + max(w)·‖B_S‖_F²/λ``: ``H_SS ⪰ λI`` for a convex loss). The rounding of a single-
#: precision product moves the true residual by about cond(H_SS) times its own size:
#: on duplicated features under a ridge of 1e-6 (bound 1e8) the trajectory was 7e-9 off
#: a tight reference instead of 9e-10.
_LOOSE_CONDITION = 1e4
#: A corrector on a linear model's columns updates ``z`` and ``∂_S f`` by a correction
#: within this many tolerances in single precision (see `_Mode._correct_columns`): the
#: update's rounding, about 1e-7 of ``B_S δ``, is then far below the tolerance's.
_LOOSE_STEP = 100.0
#: Blocks above this size are preconditioned with the factor's explicit inverse.
_INVERSE_SIZE = 64
#: Sparse data is taken by its sliding columns (`_SparseLinearModel`) when its rows hold
#: at least this many nonzeros on average, else by the objective's own products: the
#: columns' path keeps and updates vectors of the samples (``z = B x`` along a mode, its
#: rates, the points' ``z``), ``O(m)`` each, which pays when a product is several times
#: that. Measured (ridge logistic, m = 5n, CPU): 3.2 against 2.9 s at 3 per row (n =
#: 1000), 3.6 against 3.9 s at 10, 19 against 23 s at 20 (n = 2000); and at 0.8 per row
#: (m = 60 000, n = 80) its sample vectors were 13 MB against 5 MB at the peak.
_SPARSE_COLUMNS_ROW_NNZ = 8
#: A block of an objective's own products or of sparse data is kept as a single-precision
#: inverse (`_Block._single_inverse_at`; a dense linear model's, factored afresh in
#: `_Block.refresh`) only while its condition number after
#: equilibration, estimated from its Cholesky pivots (`_pivot_condition`), is below this:
#: 6e-8 of it (single precision's rounding, relative to each entry's own size: the
#: float32 copy and factor perturb the equilibrated block) is then a 6e-3 relative error
#: of the preconditioner. Beyond, its float32 copy loses the small eigenvalues it has (a
#: ridge of 1e-7 beside entries of 1 is rounding there), the inverse is no
#: preconditioner, and CG and the steps crawled where the double factor's inverse did not
#: (sparse log-cosh model, m = 40 < n = 80, λ = 1e-7, |S| = 75: the step size fell to
#: rounding, −1, where a01d7e1 rested at t = 1.396, status 1). Well below 1/eps32: the
#: estimate is read off the float32 factor itself, whose equilibrated squared pivots
#: stop at rounding, about 1e-6 (that block's estimate was 6.5e5; 1e6 took it as
#: single precision). Its raw pivots (4.3e6) had passed only by the spread of the
#: diagonal, which also kept every badly scaled block (columns over 1e-3 … 1e3: 1e12) in
#: double precision however well conditioned. The double factor also keeps its pivots for
#: `singular_to_precision`.
_SINGLE_MAX_CONDITION = 1e5
#: Rows of a single-precision inverse updated at once by a bordered step in place (the
#: rank-one term of a strip, 64 × 2000 entries: 0.5 MB, within the cache).
_STRIP = 64
#: An index joins the block by a bordered step on the old factor unless the step's Schur
#: complement ``s`` (the new pivot's square) is below this share of its diagonal entry:
#: a column nearly in the span of the sliding ones (a duplicated feature under a ridge
#: λ, ``s ≈ 2λ``). Its ``s`` is taken with a factor from other points, and for such a
#: column is mostly that factor's staleness: 3.3e-4 of ``h_jj`` where the block's own is
#: 4e-6 (a ridge of 1e-8), 0.039 where it is 0.007 (1e-4); the chord steps on it then
#: contracted by 0.8 to 0.99 a step and no step converged (−1). The block is factored
#: afresh at the point instead. (Other columns' shares were 0.18 to 1 in those runs.)
_DEPENDENT_PIVOT = 0.05
#: The first Newton correction after chord steps may be longer than twice the last of
#: them (see `_Mode._correct_columns`) if the next correction is below this share of it.
_PROBATION = 0.25
#: An entry's guard is "slow" when its rate is below this share of the largest free
#: rate: its root is located on curve points corrected to rounding (see `_refine_entry`).
_SLOW_GUARD = 1e-4
#: How far CG's residual may grow over its first before CG is stopped, not converged
#: (see `_cg_iterations`).
_CG_GROWTH = 1e12
#: Failed corrector solves in a row that an entry's root search tries past before it
#: takes the point at or just past the root found so far (see `_refine_entry`).
_ENTRY_FAILURES = 8
#: An entry's root is simple when the guard's secant slope on the curve (its last two
#: iterates) is within this factor of the interpolated slope there (else the root is
#: confirmed on the curve's tangent).
_SIMPLE_ROOT = 2.0
#: An entry's iterates after a corrector solve move the solved point along the step's
#: interpolated tangent instead of solving again (see `_Shift`) while the move's estimated
#: distance from the curve is within this fraction of the tolerance (a hundredth of what
#: a `fresh` corrector's last correction may leave).
_SHIFT_TOL = 1e-3
#: A step shorter than this fraction of the last one, or longer than `_LONG_STEP` times
#: it, has its error measured at its midpoint, not only estimated from the extrapolation
#: of the last step (see `_run_mode`).
_SHORT_STEP = 0.5
_LONG_STEP = 2.0
#: An entry point's interpolated tangent this close to ±1 is solved for instead (an exit
#: at the entry's time is decided on the solved tangent).
_EXIT_MARGIN = 1e-6
#: The tangents' CG tolerance (relative residual) on steps and in the selection at a
#: mode's start, at the loose end (see `tangent_rtol`): the tangent enters the dense output
#: as about ``h·δu/8`` at a step's midpoint.
_TANGENT_RTOL = 1e-8
#: ... and its floor at tight tolerances (1e3 times the path's rtol in between).
_TANGENT_RTOL_FLOOR = 1e-11
#: ... and where an exit is located: there the equivalent control ``|ẋ_i|`` is the event
#: function itself, and its error divided by its rate is the error of the exit's time
#: (at 1e-8, exit times were off by up to 5e-8 against independent roots).
_EXIT_RTOL = 1e-13
#: The tolerance (rtol) at and below which a linear model's curves carry their second
#: derivatives (`_Mode.quintic`, where the loss's third derivative is known).
_QUINTIC_RTOL = 1e-11
#: The relative residual of the second derivatives' CG (`_Mode.accel`): they enter a
#: step's interpolant as about h²·δẍ/60, far below its tolerance (as the tangents').
_ACCEL_RTOL = 1e-8
#: How far (in requested tolerances) a mode's start may be moved onto its curve (see
#: `_Mode.off_curve`): beyond, it is no rounding of the entry, and is left alone.
START_SHIFT_MAX = 1e4
#: A mode's tolerances are taken again on the gradient's scale at an accepted point once
#: its largest free partial has fallen below this fraction of the mode's scale (see
#: `_Mode.set_scale`).
REFLOOR = 1e-3
#: Up to how many old sliding indices `_enter_and_exit` tries as the one that leaves.
_SWAP_SEARCH = 64
#: Samples per step of the Hermite interpolant of the guards (a dip between step points
#: deeper than the interpolation error is found by one of them).
_GUARD_SAMPLES = tuple(np.linspace(0.125, 1.0, 8).tolist())


def tangent_rtol(rtol: float) -> float:
    """The tangents' CG tolerance on a path run at ``rtol``: ``1e3·rtol``, within
    [`_TANGENT_RTOL_FLOOR`, `_TANGENT_RTOL`].

    A tangent's error ``δu`` (up to cond(H_SS) times its relative residual) puts the
    dense output about ``h·δu/8`` off its curve at a step's midpoint, an error that falls
    only like ``h``: at rtol 5e-13 on the d = 200 logistic benchmark, tangents to 1e-8
    left the first steps of most modes 1-3 tolerances off, and the step control, which
    expects order 6 there, shrank them by a few percent a try (up to six tries a mode;
    5699 gradients and 9061 Hessian products, the trajectory 3.6e-12 off the event path's
    at rtol 1e-13). Tangents to 5e-10: 3147 and 5619, 1.2e-12 off. At rtol 1e-8 to 1e-11
    the tighter solves only cost more (and at ``1e3·rtol >= 1e-8`` nothing changes).

    >>> tangent_rtol(1e-8), tangent_rtol(5e-13), tangent_rtol(1e-15)
    (1e-08, 5e-10, 1e-11)
    """
    return min(_TANGENT_RTOL, max(_TANGENT_RTOL_FLOOR, 1e3 * rtol))


def _hermite_basis(s: Any) -> tuple[Any, Any, Any, Any]:
    """The cubic Hermite basis functions at fractions ``s``."""
    return (1 + 2 * s) * (1 - s) ** 2, s * (1 - s) ** 2, s * s * (3 - 2 * s), s * s * (s - 1)


#: The basis at the guards' samples, taken once (on an array: the rounding of the
#: interpolants' other evaluations), as rows ``(h00, h10, h01, h11)`` of Python floats.
_GUARD_BASIS_ROWS = tuple(
    zip(*(b.tolist() for b in _hermite_basis(np.array(_GUARD_SAMPLES))), strict=True)
)


@dataclass(frozen=True)
class ContinuationOptions:
    """Options of the continuation path (see :func:`filippov.solve`).

    Attributes
    ----------
    rtol, atol : float
        Tolerances of the corrector and of the step control along the sliding curves
        (finite, > 0).
    zero_tol : float
        Relative tolerance for reading zeros of the gradient off the state (finite, in
        ``[0, 1)``). The continuation path takes it relative to the gradient's largest
        free partial (the tie value, on ℓ1) at each mode's start, for the margins that
        keep an event from firing again at its own time and for simultaneous arrivals.

    Raises
    ------
    TypeError
        If a field is not a real number.
    ValueError
        If a field is out of its range (the error names the field and the value).

    Examples
    --------
    >>> from filippov.engine import ContinuationOptions
    >>> ContinuationOptions(rtol=1e-8).rtol
    1e-08
    >>> ContinuationOptions(rtol=-1.0)
    Traceback (most recent call last):
        ...
    ValueError: `rtol` must be a positive finite number. Got -1.0 instead.
    """

    rtol: float = 1e-10
    atol: float = 1e-12
    zero_tol: float = 1e-12

    def __post_init__(self) -> None:
        # `options=` reaches the path as given (solve validates only its keywords): a
        # negative or NaN tolerance would silently make every corrector test pass or fail.
        require_positive(self.rtol, "rtol")
        require_positive(self.atol, "atol")
        require_relative_tolerance(self.zero_tol, "zero_tol")


def unsupported(system: Any) -> str | None:
    """Why the continuation path cannot run ``system`` (``None`` when it can)."""
    if not isinstance(system, FilippovSystem):
        return "it is not a FilippovSystem (Lur'e form)"
    if system.objective is None:
        return "it is not a steepest-descent flow of an objective"
    if system.norm.name not in ("l1", "linf"):
        return (
            "only the linf (sign) and l1 (greedy) steepest-descent flows are supported "
            f"(relay norm {system.norm.name!r})"
        )
    return None


class ContinuationPath(SteppedPath):
    """The ℓ∞ steepest-descent (sign) flow and the ℓ1 (greedy) flow of an objective, their
    sliding curves and tie curves followed by continuation with Hessian–vector products
    (see the theory page)."""

    name = "continuation"
    Options = ContinuationOptions
    # Without a positive definite sliding or tie block (−4: not convex near the path) or
    # when a corrector cannot converge (−1: e.g. a block too ill-conditioned for its
    # tolerance) the continuation cannot go on; method="auto" then runs the event path.
    # Also after too many events (−2): on ill-conditioned greedy flows started near their
    # minimizer the tie continuation's events recur at an exit (17 of 60 of review R19's
    # quadratics, where the event path follows the exact path; a true accumulation ends
    # −2 there as well, after twice the time). And when the end-of-run self-check fails
    # (−5): a Poisson model started at |∇f| ~ 1e15 whose gradient fell by orders inside
    # one mode declared a false rest (review R27), where the event path ends at the
    # stationary point.
    retry_on = frozenset({-1, -2, -4, -5})

    @classmethod
    def unsupported(cls, system: Any) -> str | None:
        return unsupported(system)

    def running(self) -> contextlib.AbstractContextManager[object]:
        # One BLAS thread like the exact path: its products are small and many (two
        # threads made a d = 200 run 3x slower on a loaded machine).
        stack = contextlib.ExitStack()
        stack.enter_context(np.errstate(all="ignore"))
        stack.enter_context(serial_blas())
        return stack

    def certify_tolerances(self) -> tuple[float, float] | None:
        return 100.0 * self.options.rtol, 100.0 * self.options.atol

    def steps(self) -> Generator[None, None, Finished | Rest]:
        loop = _steps
        if self.system.norm.name == "linf":  # the greedy flow's tie modes
            from filippov._tie_continuation import tie_steps as loop
        return (
            yield from loop(self.system, self.x0, 0.0, self.horizon, self.options, self.recorder)
        )


def _cholesky(R: FloatArray) -> FloatArray:
    """The lower Cholesky factor of ``R`` (overwritten) by LAPACK directly, as
    ``scipy.linalg.cholesky(R, lower=True, overwrite_a=True, check_finite=False)`` computes
    it: the wrapper's checks cost more than the factor of a small block (every point)."""
    L, info = dpotrf(R, lower=1, clean=1, overwrite_a=1)
    if info != 0:
        raise np.linalg.LinAlgError(
            f"{info}-th leading minor of the array is not positive definite (dpotrf)"
        )
    return np.asarray(L)


def _forward(L: FloatArray, c: FloatArray) -> FloatArray:
    """``L⁻¹ c`` for lower triangular ``L`` by LAPACK directly, as
    ``scipy.linalg.solve_triangular(L, c, lower=True)`` computes it (the transposed
    system for a C-ordered ``L``, so the rounding is the same)."""
    if L.flags.f_contiguous:
        y, info = dtrtrs(L, c, lower=1)
    else:
        y, info = dtrtrs(L.T, c, lower=0, trans=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"singular triangular factor (dtrtrs info {info})")
    return np.asarray(y)


def _finite(arr: FloatArray, name: str) -> FloatArray:
    """:func:`require_finite` without its ``errstate`` context, which costs more than the
    check itself on the small vectors of every step: ``arr · arr`` is finite when every
    entry is (one BLAS call, a quarter of an elementwise test's cost); if it is not (a NaN
    or inf, or the square of a huge finite entry overflowing) the exact test decides.
    (The paths run under ``errstate(all="ignore")``; elsewhere an overflow may be raised
    as an error or a warning turned into one: the exact test decides then too.)"""
    try:
        if arr.ndim == 1 and math.isfinite(arr.dot(arr)):
            return arr
    except (FloatingPointError, RuntimeWarning):
        pass
    return require_finite(arr, name)


def _add_to_diagonal(R: Any, value: float) -> None:
    """``R.flat[:: k + 1] += value`` for a square ``R`` (in place), on a flat view when ``R``
    is contiguous (in either order: its diagonal is every ``k + 1``-th entry in both) instead
    of the flat iterator, which costs more than the addition on a small block."""
    if R.flags.c_contiguous or R.flags.f_contiguous:
        R.ravel(order="K")[:: R.shape[0] + 1] += value
    else:
        R.flat[:: R.shape[0] + 1] += value


def _pivot_condition(L: Any) -> float:
    """The condition number of ``H = L Lᵀ`` after symmetric equilibration, ``D H D`` with
    ``D = diag(H)^(−1/2)`` (unit diagonal), estimated from the pivots of its Cholesky
    factor ``D L``: ``(max / min of L_ii / ‖L_i,:‖)²``, a lower bound (``inf`` for a zero
    pivot). ``O(k²)``: ``diag(H)`` is the factor's squared row norms.

    Why equilibrated: what the estimate decides is whether a block's solves (the sliding
    velocity, the curve's corrections) are determined in the precision they are computed
    in, and the rounding they see is relative to each row's own scale. Cholesky's backward
    error is ``|ΔH_ij| ≤ c·eps·sqrt(H_ii H_jj)`` (Demmel; van der Sluis), and a computed
    partial ``∂_i f`` carries rounding on the scale of its own terms, about
    ``sqrt(H_ii)``: both are perturbations ``D⁻¹ E D⁻¹`` and ``D⁻¹ e`` with ``E``, ``e``
    at rounding, which move the solution ``y`` by ``D (DHD)⁻¹ (E D⁻¹y + e)``: each
    component, on its own scale, by ``cond(DHD)·eps``. The raw ratio ``(max L_ii /
    min L_ii)²`` adds the spread of the diagonal, which no rounding turns into error: a
    quadratic whose columns are scaled by 1e-3 … 1e3 (``cond(DHD)`` about 100) read as
    1e13 and was refused −4 as singular to double precision.
    """
    if not L.size:
        return 1.0
    rows = np.sqrt(np.einsum("ij,ij->i", L, L, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        pivots = np.abs(np.diagonal(L)) / rows
    low = float(pivots.min())
    # (NaN, a zero row, fails the test too)
    return float(pivots.max() / low) ** 2 if low > 0.0 else float("inf")


def _symmetric_from_lower(inv: Any) -> Any:
    """The symmetric matrix whose lower triangle is ``inv``'s, from the output of
    ``?potri`` on a factor with a zero strict upper triangle (``_cholesky`` and `spotrf`
    clean it, a bordered factor is built on zeros, and ``?potri`` writes the lower triangle
    alone): ``inv + invᵀ`` with the diagonal halved, the same numbers as
    ``tril(inv) + tril(inv, −1)ᵀ`` (adding 0 and halving a double are exact) in one pass
    instead of the masks of two ``np.tril`` (their cost dominated a refresh's
    symmetrization: 0.39 ms against 0.014 ms at |S| = 150, 13.7 ms against 2.8 ms at
    |S| = 1000)."""
    out = inv + inv.T
    out.ravel(order="K")[:: out.shape[0] + 1] *= 0.5
    return out


def _max_abs(v: FloatArray) -> float:
    """``float(np.abs(v).max())`` of a vector by BLAS's ``idamax`` (an index, no array
    made; a third of NumPy's cost on the small vectors of every correction and step) when
    ``v · v`` is finite, as every entry then is; else by NumPy, which propagates a NaN
    (``idamax`` may skip one). Exact either way: a maximum involves no rounding."""
    if v.size and math.isfinite(v.dot(v)):
        return abs(float(v[idamax(v)]))
    return float(np.abs(v).max())


def _norm(v: FloatArray) -> float:
    """``‖v‖₂`` of a vector as :func:`numpy.linalg.norm` computes it (the square root of
    ``v · v``), without its dispatch (CG takes one per iteration)."""
    return math.sqrt(v.dot(v))


class _LinearModel:
    """Products of an objective ``f(x) = mean_i ℓ(b_iᵀx) + (λ/2)‖x‖²`` (a generalized
    linear model with a ridge term, as :func:`~filippov.objectives.ridge_logistic`) by
    passes over its data ``B`` that touch only the columns they need.

    The products are memory-bound passes over ``B`` (``m × n``): ``H v`` for ``v``
    supported on the sliding set ``S`` needs ``B_S v_S`` and ``B_Sᵀ(·)`` only, ``m·|S|``
    each, when the columns of ``S`` are contiguous. A Fortran-ordered copy of ``B`` is kept
    with the columns of the block's ``S`` first, in ``S``'s order (an index joining ``S`` is
    one column swap, ``O(m)``). Along a mode ``z = B x`` is affine in ``τ`` and in
    ``x_S``: ``z = B x₀ − τ Bσ + B_S (x_S − x₀_S)``, so a point's ``z`` costs ``m·|S|``, and
    only the full gradient and the full product ``H ẋ`` (the guards' values and rates)
    take a pass over all of ``B`` (one each per point). Passes whose result only has to
    be accurate to a fraction of a small quantity's size -- the last CG iterations'
    products, a corrector's updates by a correction within the tolerance -- read a
    single-precision copy of the columns: half the bytes.
    """

    def __init__(self, data: Any) -> None:
        self.B: Any = np.asarray(data[0], dtype=np.float64)  # (scipy.sparse: a subclass's)
        self._start(data)
        self.cols_f = np.array(self.B, order="F")  # (one copy: permuted in place below)
        #: ``cols_f`` in single precision (the same column order), made when first asked
        #: for: the products of CG's last iterations (see `_LOOSE_RESIDUAL`) and the
        #: corrector's updates (`_LOOSE_STEP`) read half the bytes. (Half the data's size
        #: in memory: 20 MB at m = 5000, n = 1000.)
        self.cols32: Any = None
        #: The index array of the last `columns` call and its view (returned again for it).
        self._columns_of: np.ndarray | None = None
        self._columns = self.cols_f[:, :0]
        #: Column ``i`` of ``cols_f`` is column ``order[i]`` of ``B``; ``where`` inverts it.
        self.order = np.arange(self.n)
        self.where = np.arange(self.n)
        #: ``(v, B v)`` of the last `times` (the selection's ``H σ``: its ``B σ`` is the
        #: next mode's, and the next selection's σ differs from it in the indices that
        #: arrived), and how many column updates it carries since its last full pass.
        self.last_v = (np.zeros(0), np.zeros(0))
        self.updates = 0

    def _start(self, data: Any) -> None:
        """The loss, the ridge and the caches every form of the data keeps (``self.B`` is
        set: its shape is the model's)."""
        _, lam, dloss, d2loss = data[:4]
        #: The loss's third derivative, or ``None`` (a loss of the user's): with it the
        #: curves carry their second derivatives (`_Mode.accel`).
        self.d3loss = data[4] if len(data) > 4 else None
        self.m, self.n = self.B.shape
        self.lam = float(lam)
        self.dloss = dloss
        self.d2loss = d2loss
        #: The columns' squared norms (see `squared_norms`), taken when first asked for.
        self._squared_norms: FloatArray | None = None
        #: The last index array asked `squared_norms` for, and its sum.
        self._norms_of: tuple[np.ndarray | None, float] = (None, 0.0)
        #: ``z = B x`` of the last points, keyed by ``x.tobytes()``, whether it is ``B x``
        #: to rounding (not the ``z`` before a last correction, kept for weights), and that
        #: last correction if known (``B x`` is then ``z − B_S δ``: see `_Mode.settle`).
        self.zs: dict[bytes, tuple[FloatArray, bool, FloatArray | None]] = {}
        #: Modes started (every `_FULL_PASS_EVERY`-th takes ``B x₀`` by a full pass).
        self.modes = 0
        #: ``B v`` of the last two full passes of `times`, keyed by ``v.tobytes()``.
        self.passes: dict[bytes, FloatArray] = {}
        self.w_key = b""
        self.w = np.zeros(0)
        #: ``(w, min w, max w)`` and ``(w, w in single precision)`` of the last weights
        #: asked for (`weight_range`, `weights32`).
        self._w_range: tuple[FloatArray | None, float, float] = (None, 0.0, 0.0)
        self._w32: tuple[FloatArray | None, Any] = (None, None)

    def columns(self, S: np.ndarray) -> FloatArray:
        """``B[:, S]`` as a view (the columns of ``S`` are swapped to the front)."""
        if S is self._columns_of:
            # The same index array as last time (the sliding sets are never changed in
            # place, only replaced): no comparison, no new view.
            return self._columns
        k = S.size
        differ = (self.order[:k] != S).nonzero()[0]
        if differ.size:
            # (from the first position that differs: an index joining S is its last)
            start = int(differ[0])
            for i, j in enumerate(S[start:].tolist(), start):
                p = int(self.where[j])
                if p != i:
                    self.cols_f[:, [i, p]] = self.cols_f[:, [p, i]]
                    if self.cols32 is not None:
                        self.cols32[:, [i, p]] = self.cols32[:, [p, i]]
                    a = int(self.order[i])
                    self.order[i], self.order[p] = j, a
                    self.where[j], self.where[a] = i, p
        self._columns_of, self._columns = S, self.cols_f[:, :k]
        return self._columns

    def squared_norms(self, S: np.ndarray) -> float:
        """``‖B_S‖_F²``, the sum of the columns' squared norms (taken once for all columns)."""
        if self._norms_of[0] is S:  # (every CG on the block asks: kept per index array)
            return self._norms_of[1]
        self._norms_of = (S, float(self.column_squared_norms()[S].sum()))
        return self._norms_of[1]

    def column_squared_norms(self) -> FloatArray:
        """The squared norm of every column of ``B`` (taken when first asked for)."""
        if self._squared_norms is None:
            self._squared_norms = np.einsum("ij,ij->j", self.B, self.B)
        return self._squared_norms

    def columns32(self, S: np.ndarray) -> Any:
        """``B[:, S]`` in single precision, as a view (see `columns`)."""
        self.columns(S)
        if self.cols32 is None:
            self.cols32 = self.cols_f.astype(np.float32, order="F")
        return self.cols32[:, : S.size]

    def remember(
        self, x: FloatArray, z: FloatArray, exact: bool = True, step: FloatArray | None = None
    ) -> None:
        if len(self.zs) >= 8:
            self.zs.pop(next(iter(self.zs)))
        self.zs[x.tobytes()] = (z, exact, step)

    def unsettled(self, x: FloatArray) -> tuple[FloatArray, FloatArray] | None:
        """The remembered ``(z, δ)`` of ``x`` whose ``B x`` is ``z − B_S δ``, else ``None``."""
        kept = self.zs.get(x.tobytes())
        if kept is None or kept[1] or kept[2] is None:
            return None
        return kept[0], kept[2]

    def exact_z(self, x: FloatArray) -> FloatArray | None:
        """A remembered ``B x`` that is ``B x`` to rounding, else ``None``."""
        kept = self.zs.get(x.tobytes())
        return kept[0] if kept is not None and kept[1] else None

    def z(self, x: FloatArray) -> FloatArray:
        """``B x`` (one pass unless remembered)."""
        kept = self.zs.get(x.tobytes())
        if kept is None:
            z = self.B @ x
            self.remember(x, z)
            return z
        return kept[0]

    def weights(self, x: FloatArray) -> FloatArray:
        """``ℓ''(B x) / m``: the Hessian is ``Bᵀ diag(w) B + λI``."""
        key = x.tobytes()
        if key != self.w_key:
            self.w = self.d2loss(self.z(x)) / self.m
            self.w_key = key
        return self.w

    def weight_range(self, w: FloatArray) -> tuple[float, float]:
        """``(min w, max w)`` of weights from `weights`, kept for the last weights (every
        CG and refresh at a point asks)."""
        if self._w_range[0] is not w:
            self._w_range = (w, float(w.min()), float(w.max()))
        return self._w_range[1], self._w_range[2]

    def weights32(self, w: FloatArray) -> Any:
        """Weights from `weights` in single precision, kept for the last weights."""
        if self._w32[0] is not w:
            self._w32 = (w, w.astype(np.float32))
        return self._w32[1]

    def grad(self, x: FloatArray, z: FloatArray) -> FloatArray:
        # (the mean of the per-sample terms, not their sum over m: a Poisson model near
        # z = 709 has a finite mean whose sum overflows, as in the objective itself)
        return (self.dloss(z) / self.m) @ self.B + self.lam * x

    def times(self, v: FloatArray) -> FloatArray:
        """``B v``: from the last one by its few changed columns (``O(m)`` each), or one
        pass (at most every `_FULL_PASS_EVERY` updates: no rounding piles up)."""
        old_v, old_Bv = self.last_v
        if old_v.size == v.size:
            changed = (old_v != v).nonzero()[0]
            if changed.size == 0:
                return old_Bv
            if changed.size <= 4 and self.updates < _FULL_PASS_EVERY:
                cols = self.cols_f[:, self.where[changed]]
                self.updates += 1
                Bv = old_Bv + cols @ (v[changed] - old_v[changed])
                self.last_v = (v.copy(), Bv)
                return Bv
        self.updates = 0
        # (a pass is deterministic: the last two passes' results are taken again for the
        # same v, as the sign vector of a direct block's points alternating with tangents)
        key = v.tobytes()
        Bv = self.passes.get(key)
        if Bv is None:
            Bv = self.B @ v
            if len(self.passes) >= 2:
                self.passes.pop(next(iter(self.passes)))
            self.passes[key] = Bv
        self.last_v = (v.copy(), Bv)
        return Bv

    def back(self, r: FloatArray) -> FloatArray:
        """``Bᵀ r`` (one pass over all of ``B``)."""
        return np.asarray(r @ self.B)

    def back_free(self, r: FloatArray, S: np.ndarray, v: FloatArray, on_S: Any = 0.0) -> FloatArray:
        """``Bᵀ r + λ v`` on the indices outside ``S`` and ``on_S`` on ``S`` (a gradient or
        gradient rate whose ``S`` part is known): a pass over the free columns alone
        (behind the columns of ``S`` since the last `columns` call for ``S``)."""
        k = S.size
        assert S is self._columns_of or np.array_equal(self.order[:k], S)
        out = self.lam * v
        out[self.order[k:]] += r @ self.cols_f[:, k:]
        out[S] = on_S
        return out

    def block(self, x: FloatArray, S: np.ndarray) -> FloatArray:
        """The Hessian block ``H_SS = B_Sᵀ diag(w) B_S + λI`` from the columns of ``S``."""
        BS = self.columns(S)
        M = BS.T @ (self.weights(x)[:, None] * BS)
        _add_to_diagonal(M, self.lam)
        return M

    #: Whether ``B`` is a scipy.sparse matrix (`_SparseLinearModel`).
    sparse = False

    def column(self, j: int) -> FloatArray:
        """Column ``j`` of ``B`` (dense)."""
        return self.B[:, j]

    def stored_column(self, j: int) -> FloatArray:
        """Column ``j`` of ``B`` from the column-ordered copy (contiguous)."""
        return self.cols_f[:, self.where[j]]


class _SparseColumns:
    """Columns of sparse data as the column products of `_LinearModel` use them
    (``C @ v``, ``C.T @ r``, ``r @ C``), with the transpose made once: scipy's ``.T``
    builds a new array object each time, which cost more than the product on the
    columns of a small sliding set."""

    #: (``ndarray @ columns`` then defers to `__rmatmul__`, as for a scipy.sparse array)
    __array_ufunc__ = None

    def __init__(self, matrix: Any, transposed: _SparseColumns | None = None) -> None:
        self.matrix = matrix
        self.shape = matrix.shape
        self._T = transposed

    @property
    def T(self) -> _SparseColumns:
        if self._T is None:
            self._T = _SparseColumns(self.matrix.T, self)
        return self._T

    def __matmul__(self, v: Any) -> Any:
        return self.matrix @ v

    def __rmatmul__(self, r: Any) -> Any:
        return self.T.matrix @ r


class _ColumnStore:
    """The columns of a sliding set ``S`` of sparse data (CSC, ``B``'s order of the
    entries within a column), in buffers of room for all of ``B``: an index joining
    ``S`` appends its column, a new set is gathered afresh into new buffers (the
    indexing of ``csc[:, S]`` cost more than the copy itself, once per event).
    `matrix` and `matrix32` are CSC arrays of the buffers' leading parts, the second
    with the values in single precision. (scipy copies a view of less than half its
    buffer into an array of its own, so a matrix costs a copy of ``S``'s entries, one
    contiguous pass; and it would keep its columns anyway: a later append writes past
    the leading parts only, a new set into new buffers.)"""

    def __init__(self, csc: Any) -> None:
        self.csc = csc
        self._allocate()
        self.S = np.zeros(0, dtype=np.intp)

    def _allocate(self) -> None:
        csc = self.csc
        self.data = np.empty(csc.nnz)
        self.data32 = np.empty(csc.nnz, dtype=np.float32)
        self.indices = np.empty(csc.nnz, dtype=csc.indices.dtype)
        self.indptr = np.zeros(csc.shape[1] + 1, dtype=csc.indptr.dtype)

    def hold(self, S: np.ndarray) -> None:
        """Hold the columns of ``S``: by appending when ``S`` is the held set and one
        index more, else gathered afresh."""
        k = self.S.size
        csc = self.csc
        if S.size == k + 1 and np.array_equal(S[:k], self.S):
            j = int(S[k])
            start, end = csc.indptr[j], csc.indptr[j + 1]
            at = self.indptr[k]
            self.data[at : at + end - start] = csc.data[start:end]
            self.data32[at : at + end - start] = csc.data[start:end]
            self.indices[at : at + end - start] = csc.indices[start:end]
            self.indptr[k + 1] = at + end - start
        else:
            # (into new buffers: an array handed out before keeps its columns)
            self._allocate()
            starts = csc.indptr[S]
            counts = csc.indptr[S + 1] - starts
            np.cumsum(counts, out=self.indptr[1 : S.size + 1])
            nnz = int(self.indptr[S.size])
            # (each kept entry's position: its column's start plus its place in the run)
            offsets = np.arange(nnz) - np.repeat(self.indptr[: S.size], counts)
            positions = np.repeat(starts, counts) + offsets
            np.take(csc.data, positions, out=self.data[:nnz])
            self.data32[:nnz] = self.data[:nnz]
            np.take(csc.indices, positions, out=self.indices[:nnz])
        self.S = S.copy()

    def _matrix(self, data: Any) -> Any:
        import scipy.sparse

        k = self.S.size
        nnz = int(self.indptr[k])
        return scipy.sparse.csc_array(
            (data[:nnz], self.indices[:nnz], self.indptr[: k + 1]),
            shape=(self.csc.shape[0], k),
            copy=False,
        )

    def matrix(self) -> Any:
        return self._matrix(self.data)

    def matrix32(self) -> Any:
        return self._matrix(self.data32)


class _SparseLinearModel(_LinearModel):
    """`_LinearModel` on sparse data (a scipy.sparse ``B``): the same products, each on
    the stored entries of the columns it needs, and no dense copy of ``B``.

    The sliding columns are a CSC copy of ``B[:, S]`` (and its single-precision copy),
    taken once per sliding set (``O(nnz(B_S))``): CG's products, the corrector's
    ``∂_S f`` and its affine ``z`` then read ``nnz(B_S)`` entries, not all of ``B``'s
    twice as the objective's own Hessian-vector products and gradients do. Passes over
    all of ``B`` (``B v``, ``Bᵀ r``) are CSR products.
    """

    sparse = True

    def __init__(self, data: Any) -> None:  # (no call of the dense model's: no copies)
        import scipy.sparse

        self.B = scipy.sparse.csr_array(data[0], dtype=np.float64)
        self._start(data)
        self.Bt = self.B.T.tocsr()  # (Bᵀ r as a CSR product)
        self.csc = self.Bt.T  # (B in CSC: the same arrays as Bᵀ in CSR, no copy)
        #: The index array of the last `columns` call, its columns and (when asked for)
        #: their single-precision copy.
        self._columns_of: np.ndarray | None = None
        self._columns: Any = None
        self._columns32: Any = None
        self._store = _ColumnStore(self.csc)

    def columns(self, S: np.ndarray) -> Any:
        """``B[:, S]`` (CSC), kept for the last index array (sliding sets are replaced,
        never changed in place)."""
        if S is not self._columns_of:
            self._columns_of = S
            if not np.array_equal(S, self._store.S):
                self._store.hold(S)
                self._columns = self._columns32 = None
        if self._columns is None:
            self._columns = _SparseColumns(self._store.matrix())
        return self._columns

    def columns32(self, S: np.ndarray) -> Any:
        self.columns(S)
        if self._columns32 is None:
            self._columns32 = _SparseColumns(self._store.matrix32())
        return self._columns32

    def column_squared_norms(self) -> FloatArray:
        if self._squared_norms is None:
            self._squared_norms = np.asarray(self.csc.multiply(self.csc).sum(axis=0)).ravel()
        return self._squared_norms

    def grad(self, x: FloatArray, z: FloatArray) -> FloatArray:
        return np.asarray(self.Bt @ (self.dloss(z) / self.m)) + self.lam * x

    def times(self, v: FloatArray) -> FloatArray:
        """``B v`` (one pass; the last two kept, keyed by ``v.tobytes()``)."""
        key = v.tobytes()
        Bv = self.passes.get(key)
        if Bv is None:
            Bv = np.asarray(self.B @ v)
            if len(self.passes) >= 2:
                self.passes.pop(next(iter(self.passes)))
            self.passes[key] = Bv
        return Bv

    def back(self, r: FloatArray) -> FloatArray:
        return np.asarray(self.Bt @ r)

    def back_free(self, r: FloatArray, S: np.ndarray, v: FloatArray, on_S: Any = 0.0) -> FloatArray:
        out = self.back(r)
        out += self.lam * v
        out[S] = on_S
        return out

    def block(self, x: FloatArray, S: np.ndarray) -> FloatArray:
        BS = self.columns(S).matrix
        weighted = BS.multiply(self.weights(x)[:, None]).tocsc()
        M = np.asarray((BS.T @ weighted).toarray())
        _add_to_diagonal(M, self.lam)
        return M

    def column(self, j: int) -> FloatArray:
        start, end = self.csc.indptr[j], self.csc.indptr[j + 1]
        out = np.zeros(self.m)
        out[self.csc.indices[start:end]] = self.csc.data[start:end]
        return out

    stored_column = column


#: ``(ℓ'(z)/m, B_Sᵀ ℓ'(z)/m)`` at a corrector's ``z`` (see `_Mode._full_grad`).
_KnownS = tuple[FloatArray, FloatArray]
#: ``(S, ẋ_S, H ẋ or None, σ)`` of a mode's last point at an entry (`_Block.entry_tangent`).
_EntryTangent = tuple[FloatArray, FloatArray, FloatArray | None, FloatArray]


class _Block:
    """Linear algebra on the sliding block ``H_SS`` of the Hessian.

    Solves ``H_SS(x) y = b`` by preconditioned conjugate gradients on Hessian–vector
    products. The preconditioner is a Cholesky factor ``L Lᵀ`` of ``H_SS`` at earlier points:
    a row is appended (``O(|S|²)`` plus one Hessian row) when an index joins ``S``, and the
    whole factor is recomputed when an index leaves or when CG needs many iterations.
    (Own CG rather than ``scipy.sparse.linalg.cg``: the iteration count decides refreshes,
    and the warm start and stopping rule must be on the block's own scale.)
    """

    def __init__(self, obj: Objective, n: int, rec: Recorder) -> None:
        self.obj = obj
        self.n = n
        self.rec = rec
        self.S = np.zeros(0, dtype=np.intp)
        #: The preconditioner: a Cholesky factor ``L`` in double precision, or (a linear
        #: model's large blocks: see `_factor_single`) the inverse ``single`` alone in
        #: single precision, ``L`` then empty. ``size`` is the block it covers and
        #: ``version`` changes whenever it changes (a token for the tie modes' chord).
        self.L = np.zeros((0, 0))
        self.single: Any = None
        self.size = 0
        self.version = 0
        #: ``(L Lᵀ)⁻¹`` explicitly, and the factor it inverts (see `precondition`).
        self._inverse = np.zeros((0, 0))
        self._inverse_of: FloatArray | None = None
        #: The single-precision copy of ``_inverse`` that `precondition` applies (``None``
        #: for a block too ill-conditioned for it), and the inverse it copies.
        self._inverse32: Any = np.zeros((0, 0), dtype=np.float32)
        self._inverse32_of: FloatArray | None = None
        #: The memory a single-precision inverse of an objective's own products grows in
        #: (see `_bordered_in_place`), and the inverse last grown there (its leading
        #: block, a view).
        self._single_buffer: Any = None
        self._single_grown: Any = None
        self.n_refresh = 0
        self.excess = 0
        #: A block singular to double precision whose selection is consistent, followed
        #: with its least-norm solves (see `enter_least_norm`): ``(lu, piv, null)``, the LU
        #: factor of the bordered block ``[[H_SS, N], [Nᵀ, 0]]`` at the factor's point and
        #: an orthonormal basis of ``H_SS``'s null space there (the next refresh's border
        #: ``N``); ``None`` for a regular block (`L` or `single`). Replaced, never changed.
        self.least_norm: tuple[Any, Any, FloatArray] | None = None
        #: The condition estimate reported where a mode is followed with them, and how far
        #: from singular along its null space the block may be at a refresh (the slack
        #: of `least_norm_selection`: the tolerance's and the selection's drift).
        self.least_norm_condition = float("inf")
        self.least_norm_slack = 0.0
        #: The tangents' CG tolerance (`tangent_rtol` of the path's rtol, set by `_steps`).
        self.tangent_rtol = _TANGENT_RTOL
        #: The first point's tangent ``ẋ_S``, gradient rate ``H ẋ``, ``‖(H σ)_S‖`` and
        #: ``B ẋ`` (a linear model's, else ``None``), as
        #: the selection solved for them at the start of the next mode (its products are
        #: the first point's: none is taken again).
        self.tangent: tuple[FloatArray, FloatArray, float, FloatArray | None] | None = None
        #: ``(S, ẋ_S, H ẋ, σ)`` of the old mode at an entry it ended with: the selection
        #: starts its CG from the old velocity (``H ẋ`` is ``None`` when ``ẋ_S`` is the
        #: step's interpolated slope: CG then takes the guess's product itself).
        self.entry_tangent: _EntryTangent | None = None
        self._last_product: FloatArray | None = None
        #: ``H [y; 0]`` of the last CG on the sliding columns, not yet summed over all rows:
        #: ``(w, base, y₀, y, B_S (y − y₀))`` with ``base = H [y₀; 0]`` (see `last_product`).
        self._pending: tuple[Any, ...] | None = None
        #: The point the factor was taken at (b"" when it mixes points).
        self.key = b""
        # Objectives of the form mean ℓ(Bx) + (λ/2)‖x‖² expose their data: the products
        # then touch only the sliding columns (see `_LinearModel`).
        data = getattr(obj, "_linear_model", None)
        self.lm: _LinearModel | None = _LinearModel(data) if data is not None else None
        sparse_data = getattr(obj, "_sparse_linear_model", None)
        if (
            self.lm is None
            and sparse_data is not None
            and self._generic_single  # (not for the tie modes' blocks)
            and sparse_data[0].nnz >= _SPARSE_COLUMNS_ROW_NNZ * sparse_data[0].shape[0]
        ):
            self.lm = _SparseLinearModel(sparse_data)
        #: ``(x.tobytes(), B ẋ)`` of the last tangent on a linear model's columns: the
        #: selection at an entry there sums its product in sample space from it.
        self.kept_Bxdot: tuple[bytes, FloatArray] | None = None
        #: ``(x.tobytes(), j, H_Sj, H_jj)`` of the last index ``j`` that joined a linear
        #: model's block at ``x`` (``S`` the block before it): the selection's first guess
        #: after an entry is corrected along ``j`` with them (see `_interior_columns`).
        self.new_row: tuple[bytes, int, FloatArray, float] | None = None

    @property
    def last_product(self) -> FloatArray | None:
        """``H [y; 0]`` (every row) of the last CG solution (``None`` after a direct
        solve). On the sliding columns of a linear model it is summed over all rows when
        first asked for (one pass over the data; most solves never ask)."""
        if self._pending is not None:
            assert self.lm is not None
            w, base, y0, y, Bdy = self._pending
            self._pending = None
            self.rec.njev += 1
            full = self.lm.back(w * Bdy)
            full[self.S] += self.lm.lam * (y - y0)
            if base is not None:
                full += base
            self._last_product = _finite(full, "hvp(x, v)")
        return self._last_product

    @last_product.setter
    def last_product(self, value: FloatArray | None) -> None:
        self._pending = None
        self._last_product = value

    def hvp_full(self, x: FloatArray, v: FloatArray) -> FloatArray:
        self.rec.njev += 1
        if self.lm is not None:
            lm = self.lm
            return _finite(lm.back(lm.weights(x) * lm.times(v)) + lm.lam * v, "hvp(x, v)")
        # The eval_* methods skip the public methods' validation and copies for the
        # library's own callables (they cost more than a d = 31 product); only finiteness
        # is left to check.
        return _finite(self.obj.eval_hvp(x, v), "hvp(x, v)")

    def grad(self, x: FloatArray) -> FloatArray:
        self.rec.nfev += 1
        if self.lm is not None:
            return _finite(self.lm.grad(x, self.lm.z(x)), "grad(x)")
        return _finite(self.obj.eval_grad(x), "grad(x)")

    def rows(self, x: FloatArray, rows: np.ndarray) -> FloatArray:
        """Hessian rows ``rows`` at ``x`` (one Hessian evaluation counted)."""
        self.rec.njev += 1
        return self.obj.eval_hess_rows(x, rows)

    def square(self, x: FloatArray, S: np.ndarray) -> FloatArray:
        """The block ``H_SS`` at ``x`` (one Hessian evaluation counted): from the sliding
        columns of a linear model, else the objective's own block, never its ``|S| × n``
        rows (see :meth:`~filippov.objectives.Objective.eval_hess_block`)."""
        self.rec.njev += 1
        if self.lm is not None:
            return self.lm.block(x, S)
        return self.obj.eval_hess_block(x, S)

    def matvec(self, x: FloatArray, vS: FloatArray) -> FloatArray:
        full = np.zeros(self.n)
        full[self.S] = vS
        return self.hvp_full(x, full)[self.S]

    def refresh(self, x: FloatArray) -> None:
        """Factor ``H_SS(x)`` from its Hessian rows (raises ``LinAlgError`` unless PD)."""
        self.n_refresh += 1
        self.excess = 0
        self.key = b""
        if self.least_norm is not None:
            self._factor_least_norm(self._symmetric_square(x), self.least_norm[2])
            return
        if self.S.size == 0:
            self._set_factor(np.zeros((0, 0)))
            return
        if self.lm is not None and self.lm.sparse:
            # H_SS from the sparse columns of S (its own products' way: see `square`)
            self.rec.njev += 1
            self._factor_square(self.lm.block(x, self.S))
            return
        if self.lm is not None:
            # H_SS = B_Sᵀ diag(w) B_S + λI from the sliding columns alone: |S|/n of the
            # work of the Hessian rows.
            self.rec.njev += 1
            BS = self.lm.columns(self.S)
            k = self.S.size
            w = self.lm.weights(x)
            if not self.lm.weight_range(w)[0] >= 0.0:  # (as `(w >= 0).all()`, NaN too)
                # A loss with ℓ'' < 0 at some samples (a Cauchy loss; f itself may well be
                # convex): the weights have no square root, so a general product.
                self._set_factor(_cholesky(self.lm.block(x, self.S)))
                return
            root_w = np.sqrt(w)[:, None]
            if k * self.n > _DIRECT_SIZE:
                # Only a preconditioner (and a chord step's): single precision is plenty
                # for a block this well conditioned, and halves the dominant |S|²·m work.
                # (The scaled columns from the single-precision copy: half the bytes read
                # and no conversion. Scaling and product took 280 against 315 µs at
                # |S| = 110, m = 1000, and 3.4 against 3.9 ms at |S| = 300, m = 2500.)
                BS32 = self.lm.columns32(self.S)
                Bw32 = np.multiply(BS32, root_w.astype(np.float32), order="F")
                R32 = ssyrk(1.0, Bw32, trans=1, lower=1)
                try:
                    if k > _INVERSE_SIZE:
                        self._factor_single(R32, k, None, _SINGLE_MAX_CONDITION)
                        return
                    R = R32.astype(np.float64)
                    _add_to_diagonal(R, self.lm.lam)
                    self._set_factor(_cholesky(R))
                    return
                except np.linalg.LinAlgError:
                    # A block whose single-precision copy is not positive definite, or
                    # is too ill-conditioned for a single-precision inverse to precondition
                    # it (`_SINGLE_MAX_CONDITION`), is factored in double precision, as
                    # `_factor_square` does: duplicated columns under a ridge of 1e-8
                    # (condition ~4e6 after equilibration, a positive definite Hessian)
                    # ended −4, "the sliding block became singular (... spotrf)". One
                    # singular to double precision too (duplicated columns without a
                    # ridge) is refused as the single one was: its factor's pivot at
                    # rounding made the preconditioner's products NaN (−1).
                    R = dsyrk(1.0, np.multiply(BS, root_w, order="F"), trans=1, lower=1)
                    _add_to_diagonal(R, self.lm.lam)
                    L = _cholesky(R)
                    condition = _pivot_condition(L)
                    if condition > MAX_CONDITION:
                        raise np.linalg.LinAlgError(
                            "the sliding block is singular to double precision (condition "
                            f"number at least {condition:.3g} after equilibration)"
                        ) from None
                    self._set_factor(L)
                    return
            # (the exact factor: the solve itself for small blocks)
            R = dsyrk(1.0, np.multiply(BS, root_w, order="F"), trans=1, lower=1)
            _add_to_diagonal(R, self.lm.lam)
            self._set_factor(_cholesky(R))
            return
        self._factor_square(self.square(x, self.S))

    def _factor_square(self, R: FloatArray) -> None:
        """Factor the block ``R`` (``H_SS`` at a point, symmetrized here) of an objective's
        own products or of sparse data (raises ``LinAlgError`` unless PD)."""
        R = 0.5 * (R + R.T)
        k = self.S.size
        if self._single_inverse_at(k):
            # A large block of an objective's own products (sparse data): preconditioned
            # by a single-precision inverse anyway (see `precondition`), so kept as that
            # alone, as a linear model's is. An index joining it is then one bordered step
            # on half the bytes, with no factor to copy (it cost half a sparse-data run:
            # see `_add_single`). A block that single precision cannot factor, or not
            # well (`_SINGLE_MAX_CONDITION`), keeps the double factor (and
            # `singular_to_precision` its pivots).
            try:
                self._factor_single(R.astype(np.float32), k, 0.0, _SINGLE_MAX_CONDITION)
                return
            except np.linalg.LinAlgError:
                pass
        self._set_factor(scipy.linalg.cholesky(R, lower=True, overwrite_a=True))

    #: Whether a large block of an objective without a linear model's columns is kept
    #: as a single-precision inverse alone (see `_single_inverse_at`). The tie modes'
    #: blocks (shifted, or LU-factored, and solved with their factor) keep theirs.
    _generic_single = True

    def _single_inverse_at(self, k: int) -> bool:
        """Whether a block of ``k`` indices of an objective's own products or of sparse
        data (`_SparseLinearModel`) is kept as a single-precision inverse: where
        `precondition` would apply the factor's inverse in single precision (``k >
        _INVERSE_SIZE``, ``k·n > _DIRECT_SIZE``). (A dense linear model's blocks decide
        in `refresh` itself.)"""
        return (
            self._generic_single
            and (self.lm is None or self.lm.sparse)
            and k > _INVERSE_SIZE
            and k * self.n > _DIRECT_SIZE
        )

    def _set_factor(self, L: FloatArray) -> None:
        self.L, self.single = L, None
        self.size = L.shape[0]
        self.version += 1

    def _symmetric_square(self, x: FloatArray) -> FloatArray:
        R = self.square(x, self.S)
        return np.asarray(0.5 * (R + R.T), dtype=np.float64)

    def enter_least_norm(self, x: FloatArray, M: FloatArray, border: FloatArray) -> None:
        """Solve on the block ``M = H_SS(x)`` (symmetric, singular to double precision)
        with its least-norm solutions from here on, ``border`` a basis transversal to its
        null space (see `filippov._mode_field.least_norm_selection`): every solve is then
        direct, at its own point, and the preconditioner (the corrector's chord steps) is
        the bordered factor at an earlier point. Raises ``LinAlgError`` where the bordered
        block is singular. `add` and `set` leave it (a new sliding set is selected again:
        `_least_norm_select`)."""
        self.L, self.single = np.zeros((0, 0)), None
        self._factor_least_norm(M, border)
        self.key = x.tobytes()

    def leave_least_norm(self) -> None:
        """Back to a regular block, with no factor (`refresh` makes one)."""
        if self.least_norm is not None:
            self.least_norm = None
            self.L, self.single = np.zeros((0, 0)), None
            self.size = 0
            self.version += 1

    def _factor_least_norm(self, M: FloatArray, border: FloatArray) -> None:
        """The LU factor of ``[[M, N], [Nᵀ, 0]]`` (``N = border``) and the null space of
        ``M`` from its solutions for ``(0, I)`` (as `least_norm_selection`)."""
        k = border.shape[0]
        if k != self.S.size:
            raise np.linalg.LinAlgError("the null space's border does not fit the block")
        factor = bordered_null_space(M, border, self.least_norm_slack)
        if factor is None:
            # (its bordered system singular, or the block no longer singular along the
            # null space: a block singular only where the mode started, whose unique
            # selection beyond is not the least-norm one, see `least_norm_selection`)
            raise np.linalg.LinAlgError(
                "the sliding block, singular to rounding where the mode started (its "
                "least-norm selection followed), is no longer singular along its null space"
            )
        lu, piv, null = factor
        self.least_norm = (lu, piv, np.asarray(null))
        self.size = k
        self.version += 1

    def _least_norm_apply(self, r: FloatArray) -> FloatArray:
        """The least-norm solution of ``H_SS y = r`` with the bordered factor."""
        assert self.least_norm is not None
        lu, piv, null = self.least_norm
        k, q = null.shape
        rhs = np.zeros(k + q)
        rhs[:k] = r
        sol, info = dgetrs(lu, piv, rhs)
        if info != 0:
            raise np.linalg.LinAlgError(f"dgetrs failed (info {info})")
        y = sol[:k]
        return np.asarray(y - null @ (null.T @ y), dtype=np.float64)

    def _factor_single(
        self, R32: Any, k: int, ridge: float | None = None, max_condition: float | None = None
    ) -> None:
        """Factor and invert the block ``R32`` (single precision, lower triangle, without
        its ridge) in single precision: the preconditioner of a large block is applied as
        a single-precision inverse anyway, and the factor and inverse in double cost
        twice as much (about 30 of 90 ms of a refresh at |S| = 1000, m = 5000).
        ``ridge``: the ridge to add (a linear model's ``λ`` when ``None``); raises
        ``LinAlgError`` also when the factor's pivots estimate a condition number above
        ``max_condition`` (if given)."""
        if ridge is None:
            assert self.lm is not None
            ridge = self.lm.lam
        if ridge:
            _add_to_diagonal(R32, ridge)
        L32, info = spotrf(R32, lower=1, clean=1, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError(
                f"{info}-th leading minor of the array is not positive definite (spotrf)"
            )
        if max_condition is not None and _pivot_condition(L32) > max_condition:
            raise np.linalg.LinAlgError("too ill-conditioned for single precision")
        inv32, info = spotri(L32, lower=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"spotri failed (info {info})")
        self._keep_single(_symmetric_from_lower(inv32), k)

    def _keep_single(self, inverse: Any, k: int) -> None:
        """Keep the single-precision inverse alone as the preconditioner (the bordered
        steps need no factor: see `add`)."""
        self.L, self.single = np.zeros((0, 0)), inverse
        if self.lm is None or self.lm.sparse:
            # (the double inverse, if any, was of the factor just dropped: not kept, it
            # would be an n × n array of memory for nothing)
            self._inverse, self._inverse_of = np.zeros((0, 0)), None
            self._inverse32 = np.zeros((0, 0), dtype=np.float32)
            self._inverse32_of = None
            # (the inverse grown before is no longer the preconditioner: its buffer goes
            # with it, unless a snapshot keeps it; a restored one is copied to grow)
            self._single_buffer = self._single_grown = None
        self.size = k
        self.version += 1

    def set(self, x: FloatArray, S: np.ndarray) -> None:
        self.S = np.asarray(S, dtype=np.intp).copy()
        if self.least_norm is None:
            self.refresh(x)
            return
        # From a block followed with least-norm solves (an index exits it): the new
        # block is factored if it is regular, else followed the same way, with the null
        # space of its own (the selection checks it again: `_least_norm_select`).
        self.leave_least_norm()
        try:
            self.refresh(x)
            if singular_to_precision(self) is None:
                return
        except np.linalg.LinAlgError:
            pass
        M = self._symmetric_square(x)
        # (its null space at rounding, k·eps, as `consistent_null_basis` takes it: not up
        # to 1/MAX_CONDITION, where a regular block's resolved small eigenvalue was cut)
        split = RangeSplit.of(M)
        if split is None or not _semidefinite(M):
            raise np.linalg.LinAlgError(
                "the sliding block is not positive definite (after an exit from a singular one)"
            )
        null, _ = np.linalg.qr(split.scaling[:, None] * split.right_null)
        self.enter_least_norm(x, M, np.asarray(null))

    def snapshot(self) -> tuple[Any, ...]:
        """The preconditioner as it is (references: a factor is replaced, never changed
        in place), for `restore`."""
        return (
            self.S,
            self.L,
            self.single,
            self.size,
            self.key,
            self._inverse,
            self._inverse_of,
            self._inverse32,
            self._inverse32_of,
            self.least_norm,
        )

    def restore(self, snap: tuple[Any, ...]) -> None:
        """Take back the preconditioner of `snapshot` if it has changed since (on the same
        sliding set), as a new version: tokens taken of the discarded one stay invalid."""
        if snap[0] is not self.S or (
            snap[1] is self.L and snap[2] is self.single and snap[9] is self.least_norm
        ):
            return
        (_, self.L, self.single, self.size, self.key, self._inverse, self._inverse_of,
         self._inverse32, self._inverse32_of, self.least_norm) = snap  # fmt: skip
        self.version += 1

    def add(self, x: FloatArray, j: int) -> None:
        """Append index ``j``: one Hessian row and a bordered Cholesky step."""
        if self.least_norm is not None:
            # (a block followed with least-norm solves: the new one is factored afresh,
            # and selected again if it is singular too, see `_select`)
            self.S = np.append(self.S, j).astype(np.intp)
            self.new_row = None
            self.leave_least_norm()
            self.refresh(x)
            return
        k = self.S.size
        if self.lm is not None:
            # H_{S j} and H_jj from the sliding columns and column j alone.
            self.rec.njev += 1
            column = self.lm.column(j)
            wb = self.lm.weights(x) * column
            if self.single is not None:
                # (only for a single-precision inverse and the selection's first guess:
                # the column's products in single precision, half the bytes)
                c32 = self.lm.columns32(self.S).T @ wb.astype(np.float32)
                c = c32.astype(np.float64)
            else:
                c = self.lm.columns(self.S).T @ wb
            row = np.zeros(self.n)
            row[j] = float(wb @ column) + self.lm.lam
            self.new_row = (x.tobytes(), j, c, float(row[j]))
            self.S = np.append(self.S, j).astype(np.intp)
        else:
            row = self.rows(x, np.array([j], dtype=np.intp))[0]
            self.S = np.append(self.S, j).astype(np.intp)
            c = row[self.S[:k]]
        if self.single is not None:
            self._add_single(x, c, float(row[j]))
            return
        w = _forward(self.L, c) if k else np.zeros(0)
        s = float(row[j]) - float(w @ w)
        if not s > _DEPENDENT_PIVOT * abs(float(row[j])):
            # The old factor (taken at other points) and the new row do not make a PD
            # matrix, or one whose new pivot is not to be trusted (`_DEPENDENT_PIVOT`):
            # factor the block afresh at x.
            self.refresh(x)
            return
        L = np.zeros((k + 1, k + 1))
        L[:k, :k] = self.L
        L[k, :k] = w
        L[k, k] = np.sqrt(s)
        if self._inverse_of is self.L:
            self._inverse = _bordered_inverse(self._inverse, self._inverse @ c, s)
            self._inverse_of = L
        self._set_factor(L)
        if self._single_inverse_at(k + 1) and _pivot_condition(L) <= _SINGLE_MAX_CONDITION:
            # The block has grown to where it is kept as a single-precision inverse (see
            # `refresh`): the one `precondition` would apply, from here on bordered alone.
            self.precondition(np.zeros(k + 1))  # (makes the double inverse and its copy)
            self._keep_single(self._inverse32, k + 1)

    def _add_single(self, x: FloatArray, c: FloatArray, h_jj: float) -> None:
        """`add` on a single-precision inverse ``M``: with ``q = M c`` and the Schur
        complement ``s = h_jj − cᵀq`` the new inverse is ``[[M + q qᵀ/s, −q/s], [−qᵀ/s,
        1/s]]`` (``O(|S|²)``, no factor needed), or a refresh when ``s`` is not positive."""
        M = self.single
        k = M.shape[0]
        q32 = M @ c.astype(np.float32)
        s = h_jj - float(c @ q32.astype(np.float64))
        if not s > _DEPENDENT_PIVOT * abs(h_jj) or (
            (self.lm is None or self.lm.sparse) and s * _SINGLE_MAX_CONDITION < abs(h_jj)
        ):
            # The old inverse (taken at other points) and the new row do not make a PD
            # matrix: factor the block afresh at x. (Also where the new pivot, sqrt(s),
            # is small beside sqrt(h_jj): the block's condition number is at least
            # h_jj/s, beyond what a single-precision inverse of an objective's own
            # products is kept for, see `_SINGLE_MAX_CONDITION`.)
            self.refresh(x)
            return
        if self.lm is None or self.lm.sparse:
            self.single = self._bordered_in_place(M, q32, s)
        else:
            self.single = _bordered_inverse(M, q32, s)
        self.size = k + 1
        self.version += 1

    def _bordered_in_place(self, M: Any, q32: Any, s: float) -> Any:
        """:func:`_bordered_inverse` of the single-precision inverse ``M`` written into
        ``M``'s own memory when ``M`` is the leading block of `_single_buffer` (the
        inverse grown last), else into a new buffer with room to grow: the new inverse
        is that buffer's leading ``k + 1`` square, a view.

        Every index joining a block of an objective's own products copied the whole
        inverse (and built its rank-one term as a new matrix): at n = 2000 on sparse data
        a block grows one index at a time to 2000, and those copies were most of the
        run. Changing ``M`` in place keeps `snapshot`'s contract (a preconditioner is
        replaced, never changed): an index joining makes a new sliding set, and `restore`
        takes back a snapshot of the same sliding set only, never one from before an
        `add`; and a snapshot's ``M`` after a `refresh` is an array of its own."""
        k = M.shape[0]
        buffer = self._single_buffer
        if M is not self._single_grown or buffer is None or buffer.shape[0] <= k:
            # (half as much again as needed, at most the whole block: a buffer is copied
            # into a new one O(log n) times as the block grows)
            capacity = min(self.n, k + 1 + k // 2)
            buffer = np.empty((capacity, capacity), dtype=np.float32)
            buffer[:k, :k] = M
            self._single_buffer = buffer
        inverse = buffer[: k + 1, : k + 1]
        scaled = q32 / q32.dtype.type(s)
        # M + (q/s) qᵀ, in place by strips of rows: the rank-one term is never a k × k
        # array of its own (the same sums as `_bordered_inverse`'s)
        old = inverse[:k, :k]
        for i in range(0, k, _STRIP):
            strip = old[i : i + _STRIP]
            strip += np.multiply.outer(scaled[i : i + _STRIP], q32)
        inverse[k, :k] = inverse[:k, k] = -scaled
        inverse[k, k] = 1.0 / s
        self._single_grown = inverse
        return inverse

    def precondition(self, r: FloatArray) -> FloatArray:
        if self.least_norm is not None:
            return self._least_norm_apply(r)
        if self.single is not None:
            return (self.single @ r.astype(np.float32)).astype(np.float64)
        k = self.L.shape[0]
        if k > _INVERSE_SIZE:
            # The factor's inverse as one matrix: a product reads it once, two triangular
            # solves read the factor twice, and are slower still (4x at |S| = 1000). The
            # block is well conditioned where CG runs (it is positive definite along the
            # path, and stale anyway): the explicit inverse loses nothing that matters.
            if self._inverse_of is not self.L:
                inv, info = dpotri(self.L, lower=1)
                if info != 0:
                    raise np.linalg.LinAlgError(f"dpotri failed (info {info})")
                self._inverse = _symmetric_from_lower(inv)
                self._inverse_of = self.L
            if k * self.n > _DIRECT_SIZE:
                # Only a preconditioner here (small blocks' factors are their solves): in
                # single precision it reads half the bytes.
                if self._inverse32_of is not self._inverse:
                    # (not a block too ill-conditioned for single precision: its inverse,
                    # rounded to it, is no longer positive definite along the block's
                    # near-null directions -- two equal columns under a ridge of 1e-8 --
                    # and CG on it broke down; the double inverse is applied instead)
                    single = _pivot_condition(self.L) <= _SINGLE_MAX_CONDITION
                    self._inverse32 = self._inverse.astype(np.float32) if single else None
                    self._inverse32_of = self._inverse
                if self._inverse32 is not None:
                    return (self._inverse32 @ r.astype(np.float32)).astype(np.float64)
            return np.asarray(self._inverse @ r)
        # LAPACK directly: the scipy wrappers' argument checks cost more than the solve
        # for the small blocks of most modes (called in every CG iteration).
        y, info = dpotrs(self.L, r, lower=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"dpotrs failed (info {info})")
        return np.asarray(y)

    def solve(
        self,
        x: FloatArray,
        b: FloatArray,
        guess: FloatArray | None = None,
        rtol: float = 1e-13,
        atol: float = 0.0,
        guess_product: FloatArray | None = None,
    ) -> FloatArray:
        """``H_SS(x)⁻¹ b`` to relative residual ``rtol`` (to rounding at most).

        ``guess_product``: ``H [guess; 0]`` (every row) when the caller knows it already.
        """
        if self.S.size == 0:
            return np.zeros(0)
        if self.S.size * self.n <= _DIRECT_SIZE or self.least_norm is not None:
            # A small block: its exact factor at x costs less than a CG loop's overhead.
            key = x.tobytes()
            if self.key != key:
                self.refresh(x)
                self.key = key
            self.last_product = None
            return self.precondition(b)
        for attempt in range(2):
            y, iters, ok = self._pcg(x, b, guess, rtol, atol, guess_product)
            # A refresh costs about |S|/2 products (Hessian rows in one matrix product):
            # worth it once the iterations beyond the first, summed since the last
            # refresh, exceed that.
            self.excess += max(iters - 1, 0)
            # On a linear model's sliding columns a refresh is |S|·m·|S| flops against
            # 4·m·|S| bytes a product: |S|/5 to |S|/10 products in single precision by
            # itself (measured at |S| = 100-900, m = 1000-5000). But a refresh also makes
            # the corrector's chord steps contract faster at the next points: on whole
            # ridge-logistic runs |S|/10 here took 40-45% fewer refreshes, 9-12% more CG
            # iterations and 2% more corrections, for a time within the noise of
            # alternated runs (-10% to +5% at d = 200-1000), and moved event times by 1e-9
            # of the time at rtol 1e-8 (the tolerance's effect, not rounding): kept at 40.
            worth = 4 + self.S.size // (2 if self.lm is None or self.lm.sparse else 40)
            if ok and iters <= _REFRESH_ITERATIONS and self.excess <= worth:
                return y
            if attempt == 0 or not ok:
                self.refresh(x)
                if ok:
                    return y
                # (On a linear model's columns the guess's product is one restricted
                # product, cheaper than summing the last one over all rows.)
                guess = y
                guess_product = None if self.lm is not None else self.last_product
            if ok:
                return y
        if not ok:
            raise np.linalg.LinAlgError(
                "conjugate gradients on the sliding block did not converge (the Hessian "
                "block is not positive definite or is too ill-conditioned)"
            )
        return y

    def _pcg(
        self,
        x: FloatArray,
        b: FloatArray,
        guess: FloatArray | None,
        rtol: float,
        atol: float,
        guess_product: FloatArray | None = None,
    ) -> tuple[FloatArray, int, bool]:
        """Preconditioned CG; also keeps ``H [y; 0]`` (the whole product, every row) in
        ``last_product``: the sum of the products CG takes anyway, so the caller gets the
        gradient's rate along the tangent without one more product."""
        if self.lm is not None:
            return self._pcg_columns(x, b, guess, rtol, atol, guess_product)
        k = self.S.size
        S = self.S
        bnorm = _norm(b)
        if _zero_solution(bnorm, atol, guess):
            self.last_product = np.zeros(self.n)
            return np.zeros(k), 0, True
        y = np.zeros(k) if guess is None else guess.copy()
        full = np.zeros(self.n)
        if guess is not None and guess_product is not None:
            Hy = guess_product.copy()
        elif guess is not None:
            full[S] = y
            Hy = self.hvp_full(x, full)
        else:
            Hy = np.zeros(self.n)
        self.last_product = Hy
        r = b - Hy[S]
        # The residual cannot go below the rounding of a product: stop there.
        target = max(rtol * bnorm, 64 * _EPS * bnorm, atol)

        def product(p: FloatArray) -> tuple[FloatArray, FloatArray]:
            full[:] = 0.0
            full[S] = p
            Hp = self.hvp_full(x, full)
            return Hp, Hp[S]

        iters, ok = _cg_iterations(r, y, Hy, product, self.precondition, target, 3 * k + 20)
        return y, iters, ok

    def _pcg_columns(
        self,
        x: FloatArray,
        b: FloatArray,
        guess: FloatArray | None,
        rtol: float,
        atol: float,
        guess_product: FloatArray | None,
    ) -> tuple[FloatArray, int, bool]:
        """:meth:`_pcg` for a linear model: products on the sliding columns only, and
        ``B_S y`` summed in sample space, so that ``H [y; 0]`` over all rows costs one pass
        over the data, and only when asked for (`last_product`)."""
        assert self.lm is not None
        lm = self.lm
        S = self.S
        k = S.size
        BS = lm.columns(S)
        w = lm.weights(x)
        lam = lm.lam

        def product(p: FloatArray) -> tuple[FloatArray, FloatArray]:
            self.rec.njev += 1
            q = BS @ p
            return q, _finite(BS.T @ (w * q) + lam * p, "hvp(x, v)")

        BS32 = lm.columns32(S)
        w32 = lm.weights32(w)
        w_min, w_max = lm.weight_range(w)

        def loose(p: FloatArray) -> tuple[FloatArray, FloatArray]:
            # (single precision: only near the target, see `_LOOSE_RESIDUAL`)
            self.rec.njev += 1
            q32 = BS32 @ p.astype(np.float32)
            # (a single-precision array plus a double one: converted exactly, as astype)
            Hp = (BS32.T @ (w32 * q32)) + lam * p
            return q32.astype(np.float64), _finite(Hp, "hvp(x, v)")

        bnorm = _norm(b)
        if _zero_solution(bnorm, atol, guess):
            guess = None
        y = np.zeros(k) if guess is None else guess.copy()
        base: FloatArray | None = None
        y0 = np.zeros(k)
        Bdy = np.zeros(lm.m)
        if guess is not None and guess_product is not None:
            base, y0 = guess_product, guess.copy()
            HyS = guess_product[S].copy()
        elif guess is not None:
            Bdy, HyS = product(y)
        else:
            HyS = np.zeros(k)

        def done(it: int, ok: bool) -> tuple[FloatArray, int, bool]:
            self._last_product = None
            # (``Bdy`` is CG's own sum, changed by no one after it: kept as it is)
            self._pending = (w, base, y0, y.copy(), Bdy)
            return y, it, ok

        if guess is None and bnorm <= atol:
            return done(0, True)
        r = b - HyS
        target = max(rtol * bnorm, 64 * _EPS * bnorm, atol)
        # (the condition bound's ‖B_S‖_F² from the columns' squared norms, kept per block)
        well_conditioned = (
            lam > 0.0
            and w_min >= 0.0
            and 1.0 + w_max * lm.squared_norms(S) / lam <= _LOOSE_CONDITION
        )
        iterations = _cg_iterations(
            r,
            y,
            Bdy,
            product,
            self.precondition,
            target,
            3 * k + 20,
            loose if well_conditioned else None,
            _LOOSE_RESIDUAL * target,
        )
        return done(*iterations)


def _zero_solution(bnorm: float, atol: float, guess: FloatArray | None) -> bool:
    """Whether CG on a positive definite block returns ``y = 0`` at once for a right-hand
    side of norm ``bnorm``: within ``atol`` from no guess, or ``b = 0`` whatever the guess.

    ``b = 0`` makes the target ``max(rtol, 64 eps)·‖b‖`` zero (``atol`` is 0 in the
    solves of the curves), which only ``y = 0`` itself meets: from a nonzero guess CG
    brings the residual down geometrically to underflow and then fails. A squared loss's
    second derivatives along a mode solve ``H_SS ẍ_S = 0`` (no third derivative): at rtol
    1e-11 (m = 600, n = 150, λ = 0.1) their CG from an extrapolated guess went from 3e-5
    to 2.5e-45 in 12 iterations and the run ended −4, "conjugate gradients on the
    sliding block did not converge".
    """
    return bnorm == 0.0 or (guess is None and bnorm <= atol)


def _cg_iterations(
    r: FloatArray,
    y: FloatArray,
    acc: FloatArray,
    product: Callable[[FloatArray], tuple[FloatArray, FloatArray]],
    precondition: Callable[[FloatArray], FloatArray],
    target: float,
    max_iter: int,
    loose: Callable[[FloatArray], tuple[FloatArray, FloatArray]] | None = None,
    loose_below: float = 0.0,
) -> tuple[int, bool]:
    """Preconditioned conjugate gradients from the residual ``r`` of ``y``, both updated in
    place, to ``‖r‖ ≤ target``: ``(iterations, converged)``.

    ``product(p)`` returns ``(P, A p)``; ``acc += α P`` follows ``y += α p``, so that the
    caller keeps a linear image of ``y`` (the whole Hessian product, or ``B_S y`` of a
    linear model) without another product. ``converged`` is false when ``pᵀAp ≤ 0``, or
    at ``max_iter`` unless ``r`` is within ``1e3 · target``. ``loose``: a cheaper, less
    accurate ``product`` taken instead once ``‖r‖ ≤ loose_below`` (its rounding then
    moves the true residual by a fraction of the target only).
    """
    # (The updates go through scratch buffers, ``out=``: the same operations in the same
    # order as ``y += α p`` etc., without a new array each; ``p`` is the first ``z``
    # itself, then updated in place: no caller holds either.)
    z = precondition(r)
    p = z
    rz = float(r.dot(z))
    step_k = np.empty_like(y)
    step_acc = np.empty_like(acc)
    # A bound on the residual's growth: on a positive definite A the error's A-norm falls
    # at every iteration (any positive definite preconditioner), so ‖r‖ ≤ sqrt(cond(A))
    # ‖r₀‖, below 1e12 ‖r₀‖ for any block of raw condition up to 1e24 (equilibrated
    # condition beyond `MAX_CONDITION` is refused anyway). On a block singular to double
    # precision (duplicated columns without a ridge) the residual grew fourfold an
    # iteration, to 7e153 after 128, the products overflowed, and the run ended −3 blaming
    # `hvp(x, v)` for a NaN that CG made, instead of refusing the block (−4).
    r_limit = _CG_GROWTH * math.sqrt(r.dot(r))
    for it in range(1, max_iter):
        r_norm = math.sqrt(r.dot(r))
        if r_norm <= target:
            return it - 1, True
        if not r_norm <= r_limit:  # (NaN too)
            return it, False
        P, Ap = loose(p) if loose is not None and r_norm <= loose_below else product(p)
        pAp = float(p.dot(Ap))
        if not pAp > 0.0:
            return it, False
        alpha = rz / pAp
        y += np.multiply(p, alpha, out=step_k)
        acc += np.multiply(P, alpha, out=step_acc)
        r -= np.multiply(Ap, alpha, out=step_k)
        z = precondition(r)
        rz_new = float(r.dot(z))
        if not rz_new > 0.0:
            # (r = 0 exactly: converged; else a preconditioner not positive definite on
            # r, an inverse rounded beyond its precision: not converged, as for pᵀAp ≤ 0.
            # It divided by zero at the next iteration, ending the run -1, "the
            # integration failed (ZeroDivisionError ...)".)
            return it, _norm(r) <= target
        p *= rz_new / rz
        p += z
        rz = rz_new
    return max_iter, _norm(r) <= 1e3 * target


class CurveDense:
    """Dense output of one continuation mode: free coordinates linear in ``t``, sliding ones
    the cubic Hermite interpolant of the continuation steps (states and tangents on the
    curve), or the quintic one where the steps carry the curve's second derivatives too
    (``AS``: a linear model with a known third derivative of its loss). Module-level and
    made of arrays, so solutions pickle. One is kept per mode of a run: its start ``x0``
    is shared with the run's breakpoint there (`Recorder.kept_state`) and the free
    coordinates' signs ``sigma`` may be small integers, as the modes' records are what a
    long run at large ``n`` holds most of."""

    def __init__(
        self,
        x0: FloatArray,
        t0: float,
        sigma: FloatArray,
        S: np.ndarray,
        ts: FloatArray,
        XS: FloatArray,
        US: FloatArray,
        AS: FloatArray | None = None,
    ) -> None:
        self.x0 = x0
        self.t0 = t0
        self.sigma = sigma
        self.S = S
        self.ts = ts
        self.XS = XS
        self.US = US
        self.AS = AS

    def __setstate__(self, state: dict[str, Any]) -> None:
        # (solutions pickled before the quintic dense output have no ``AS``)
        state.setdefault("AS", None)
        self.__dict__.update(state)

    @property
    def n(self) -> int:
        return int(self.x0.size)

    def __call__(self, ts: FloatArray) -> FloatArray:
        tv = np.atleast_1d(np.asarray(ts, dtype=float))
        out = self.x0[None, :] - (tv - self.t0)[:, None] * self.sigma[None, :]
        if tv.size == 1 and self.ts.size > 1 and self.S.size and tv[0] in (self.ts[0], self.ts[-1]):
            # (a segment's first or last node alone, as the self-check reads every
            # segment's ends: the node's data without the search below)
            out[:, self.S] = self.XS[0 if tv[0] == self.ts[0] else -1]
            return out
        if self.ts.size > 1 and self.S.size:
            clipped = np.clip(tv, self.ts[0], self.ts[-1])
            at = np.searchsorted(self.ts, clipped)
            if np.all(at < self.ts.size) and np.array_equal(self.ts[at], clipped):
                # At the nodes themselves the interpolant is its data: no spline (the
                # self-check reads every segment's ends, 0.1 ms a spline, 8% of a d = 200
                # run).
                out[:, self.S] = self.XS[at]
                return out
            if self.AS is not None:
                # The quintic on the pieces asked for only (a spline of every piece
                # would hold three times the states: see below).
                i = np.clip(at - 1, 0, self.ts.size - 2)
                h = self.ts[i + 1] - self.ts[i]
                # (row k at its own piece: the lengths as a column, the fractions too)
                out[:, self.S] = _quintic(
                    self.XS[i], self.US[i], self.AS[i], self.XS[i + 1], self.US[i + 1],
                    self.AS[i + 1], h[:, None], (clipped - self.ts[i]) / h,
                )  # fmt: skip
                return out
            # Built per call, not kept: its coefficients are twice the states and tangents
            # (~100 MB over a d = 1000 run), and most segments are never evaluated.
            spline = CubicHermiteSpline(self.ts, self.XS, self.US, axis=0)
            out[:, self.S] = spline(clipped)
        return out


def distinct_times(ts: FloatArray) -> np.ndarray:
    """The nodes a mode's dense output keeps of its points at the times ``ts`` (not
    decreasing): of a run of equal times, the last. Why: a step, or an event located
    within rounding of the last point, can be shorter than the ulp of ``t`` while its
    ``τ`` is not, and the spline's times must increase strictly (on the greedy flow of a
    smooth max at t = 30.2 a join 2e-15 after the last point made ``sol(t)`` raise
    "`x` must be strictly increasing" on its whole segment)."""
    return np.flatnonzero(np.append(ts[1:] > ts[:-1], True))


@dataclass
class _Point:
    """A point of the curve: time in the mode, state, gradient, tangent, gradient rate.

    At an entry the tangent may be the step's interpolant's slope instead of the solved
    one, and the gradient rate then unknown (``gdot`` is ``None``: see
    `_entry_point`); every other point has both to the tangent's tolerance.
    """

    tau: float
    x: FloatArray
    g: FloatArray
    u: FloatArray  # ẋ_S
    gdot: Any  # d∇f/dτ = H ẋ (a FloatArray; None at an entry point without its tangent)
    #: On a linear model: ``z = B x`` as the point's gradient was taken at (within
    #: ``‖B‖·tol`` of ``B x``: see `_Mode.correct`) and ``ż = B ẋ``; ``None`` if unknown.
    #: They make the predictors' ``z`` an interpolation in sample space (``O(m)``).
    z: Any = None
    zdot: Any = None
    #: The correction the corrector took after ``z`` (``z`` is then ``B`` at the state
    #: before it), or ``None``: `_Mode.point_z` applies it when ``B x`` itself is wanted.
    z_step: Any = None
    #: ``gdot`` is taken on the free indices only (0 on ``S``, where ``H ẋ`` is the
    #: tangent's residual): enough for the guards, not for a product of the tangent.
    free_rates: bool = False
    #: On a mode with second derivatives (`_Mode.quintic`): ``ẍ_S``, ``d²∇f/dτ²`` on the
    #: free indices (0 on ``S``) and ``B ẍ``; ``None`` elsewhere.
    a: Any = None
    gddot: Any = None
    zddot: Any = None


class _Stall:
    """Whether a step's error has stopped falling with the step: a rejected step followed,
    at a quarter of its size or less, by an error above ``kept`` times the first (an
    interpolation error falls as ``h^order``; across a kink as ``h``), or a step within
    1e3 ulps of ``t``. The reference moves with an error that falls by 16 or more; each
    stall starts a new comparison, and so does an accepted step (`reset`)."""

    def __init__(self, kept: float) -> None:
        self.kept = kept
        self._first: tuple[float, float] | None = None

    def __call__(self, h: float, err: float, t: float) -> bool:
        near_rounding = h <= 4e3 * _EPS * max(1.0, abs(t))
        first = self._first
        if not near_rounding and (first is None or err < first[1] / 16.0):
            self._first = (h, err)
            return False
        if near_rounding or (
            first is not None and h <= 0.25 * first[0] and err >= self.kept * first[1]
        ):
            self._first = None
            return True
        return False

    def reset(self) -> None:
        self._first = None


class GradientTolerance:
    """The tolerance of the gradient's Hermite interpolant in a mode's step control
    (the guards' values come from it, and it only has to show their sign changes).

    ``base`` is ``1e-6`` of the mode's scale; on a small gradient's scale (a start near
    the stationary point) that can be below the rounding of the gradient's terms, which no
    step reduces, and every step would be rejected until the step size reached rounding.
    So the rounding is learned: once a step rejected by the gradient's error alone is
    followed, at a quarter of its size or less, by an error that has not fallen at all
    (the interpolant's error falls as ``h^order``, or at least falls, on long steps), or
    the step is within 1e3 ulps of ``t``, the error is the gradient's rounding and the
    tolerance is raised to twice it (``noise``).
    """

    def __init__(self, base: float) -> None:
        self.base = base
        self.noise = 0.0
        #: (the gradient's error must not have fallen at all)
        self._stall = _Stall(1.0)

    @property
    def tol(self) -> float:
        return max(self.base, self.noise)

    def error(self, err_x: float, err_g: float, h: float, t: float) -> float:
        """A step's error in units of the tolerances (``err_x`` already in the state's,
        ``err_g`` the gradient's absolute error), after learning the gradient's rounding
        from it when the gradient's error alone rejects the step."""
        err = max(err_x, err_g / self.tol, 1e-10)
        if err > 1.0 and err_x <= 1.0 and self._stall(h, err_g, t):
            self.noise = max(self.noise, 2.0 * err_g)
            err = max(err_x, err_g / self.tol, 1e-10)
        return err

    def accepted(self) -> None:
        """A step was accepted: the next rejection starts a new comparison."""
        self._stall.reset()


class _Mode:
    """One mode: the curve ``∇_S f = 0`` with ``x_F`` moving at unit speed against σ_F."""

    def __init__(
        self,
        obj: Objective,
        block: _Block,
        x: FloatArray,
        sigma: FloatArray,
        opts: ContinuationOptions,
        rec: Recorder,
    ) -> None:
        self.obj = obj
        self.block = block
        self.S = block.S
        self.x0 = x
        self.x0S = x[self.S]  # (the mode's start on S: every corrector's z is from it)
        #: Records the mode up to its last accepted point when the mode fails inside
        #: (`_run_mode` sets it once its first point is taken; see `keep_accepted`).
        self.keep_accepted: Callable[[], None] = no_accepted_steps
        #: The step cap of the retries toward a region where the objective is not finite
        #: (`_run_mode` sets the mode's; `_midpoint_error` reports to it too).
        self.retry = NonFiniteRetry(math.inf)
        self.sigma = sigma
        self.F = np.flatnonzero(sigma != 0)
        self.opts = opts
        self.rec = rec
        #: The mode's start time (τ = 0), for messages in the solution's time.
        self.t_start = 0.0
        #: The gradient's largest partial at the mode's start (or where `set_scale` last
        #: took the tolerances again), the floor of `mode_scale`.
        self.g_scale = 1.0
        #: The gradient's scale for the mode's tolerances (see `mode_scale`) and the zero
        #: tolerance of its guards on it (set by `set_scale`).
        self.scale = 1.0
        self.ztol = 0.0
        #: The gradient interpolant's tolerance in the step control (its base, 1e-6 of
        #: `scale`, is set by `set_scale`).
        self.g_tol = GradientTolerance(0.0)
        #: ‖(H σ)_S‖ at the mode's first point: the scale of the tangent's equations.
        self.b_norm = float("inf")
        self.lm = block.lm
        if self.lm is not None:
            # z = B x along the mode: B x₀ − τ Bσ + B_S (x_S − x₀_S) (see `_LinearModel`).
            # B x₀ from the last mode's affine sums at its end point, with a full pass
            # every `_FULL_PASS_EVERY` modes (the rounding of the sums is not carried on)
            # and for a mode with one free index, which ends at the stationary point: a
            # few ulps of z there move its gradient by more than its rounding (on a
            # Poisson model from far away, ∂_j f at the last entry was above 1e-20 of the
            # start's gradient in 5 to 10 of 16 runs, in 1 with the pass).
            lm = self.lm
            z = lm.exact_z(x)
            lm.modes += 1
            if z is None or lm.modes % _FULL_PASS_EVERY == 0 or self.F.size == 1:
                rec.njev += 1
                z = lm.B @ x
            self.z0 = z
            self.z_sigma = lm.times(sigma)
        #: Whether a first step's state error has stopped falling with the step (the
        #: mode's start may be off its curve: see `off_curve`): not even by half.
        self.stuck = _Stall(0.5)
        #: How far the start is off its curve, when `off_curve` found it too far to move.
        self.start_off = 0.0
        #: The ``z`` of the gradient the last corrector returned (linear models), and the
        #: correction taken after it (``None``: ``last_z`` is the returned state's).
        self.last_z: FloatArray | None = None
        self.last_step: FloatArray | None = None
        #: ``(z, ℓ'(z)/m)`` of the last partial gradient (`complete` takes it again).
        self._partial_dl: tuple[FloatArray | None, FloatArray] = (None, np.zeros(0))
        #: Whether the curve's points carry its second derivatives (`accel`): the steps'
        #: interpolants are then quintic, of order 6 (see `_run_mode`).
        self.quintic = (
            self.lm is not None
            and self.lm.d3loss is not None
            and self.S.size > 0
            and opts.rtol <= _QUINTIC_RTOL
        )

    def set_scale(self, g: FloatArray) -> None:
        """Take the mode's tolerances on the scale of the gradient ``g``: at its start
        (`_steps`), and again at an accepted point whose largest free partial has fallen
        below `REFLOOR` of the mode's scale (`_run_mode`).

        On the scale of the mode's start alone, a mode inside which the gradient falls by
        many orders of magnitude (the exponential loss of a Poisson model started where
        ``|∇f| ≈ 1e44``, falling to 1e22 on a single free mode with every index free)
        kept a zero tolerance of 1e-21 of the start's gradient (`mode_scale`'s floor, 1e-9
        of it, times ``zero_tol``): 3.8e23 there, above every free partial at the first
        entry, so all of them "arrived" with it and the run rested where ``|∇f| = 2.8e22``
        (the end's self-check failed, −5). Its gradient interpolant's tolerance, 1e-6 of
        the start's scale, was 1e16 times the gradient itself, so the step control no
        longer looked at the guards. Taken again at accepted points (not at each: most
        modes never trigger it, and their runs are unchanged) the tolerances stay within
        `REFLOOR` of the gradient they judge; the mode and its curve are the same, so no
        event is recorded (ending the mode and starting one with the same signs would
        record one, and pay the next mode's start).

        The learned rounding of the gradient (`GradientTolerance.noise`) is learned again:
        it is the rounding of the gradient's terms, which fall with it on such a loss.
        """
        self.g_scale = max(_max_abs(g), 1e-300)
        self.scale = mode_scale(_free_size(g, self.sigma), self.g_scale)
        self.ztol = zero_tolerance(self.scale, self.opts.zero_tol)
        self.g_tol = GradientTolerance(1e-6 * self.scale)

    def _z(self, tau: float, xs: FloatArray) -> FloatArray:
        assert self.lm is not None
        z = self.z0 - tau * self.z_sigma
        if self.S.size:
            z += self.lm.columns(self.S) @ (xs - self.x0S)
        return z

    def point_z(self, p: _Point) -> Any:
        """``B x`` at ``p`` (``None`` if it has no ``z``): its ``z`` moved by the correction
        taken after it, once (`_Point.z_step`; in single precision on a block CG solves:
        the correction is within the tolerance, see `_LOOSE_STEP`)."""
        if p.z is not None and p.z_step is not None:
            p.z, p.z_step = self.settle(p.z, p.z_step), None
        return p.z

    def settle(self, z: FloatArray, step: FloatArray) -> FloatArray:
        """``z − B_S step``: ``B x`` after a correction ``step`` from the state of ``z``."""
        assert self.lm is not None
        if self.S.size * self.block.n > _DIRECT_SIZE:
            # (a double minus a single-precision array: converted exactly, as astype)
            return np.asarray(z - self.lm.columns32(self.S) @ step.astype(np.float32))
        return np.asarray(z - self.lm.columns(self.S) @ step)

    def settle_start(self, x: FloatArray) -> None:
        """Keep ``B x`` itself for ``x``, the next mode's start, when the corrector left
        ``z`` before its last correction there: one single-precision update instead of
        the next mode's pass over all of ``B`` (see `_Mode.__init__`)."""
        kept = self.lm.unsettled(x) if self.lm is not None else None
        if kept is not None:
            assert self.lm is not None
            self.lm.remember(x, self.settle(*kept))

    def _full_grad(
        self, x: FloatArray, z: FloatArray, exact: bool = True, known: _KnownS | None = None
    ) -> FloatArray:
        """The gradient at ``x`` from ``z``; with ``known`` (``ℓ'(z)/m`` and its product
        with the sliding columns, as a correction just took them at this ``z``) a pass
        over the free columns alone."""
        lm = self.lm
        assert lm is not None
        self.rec.nfev += 1
        lm.remember(x, z, exact)
        if known is None:
            return _finite(lm.grad(x, z), "grad(x)")
        dl, data_S = known
        return _finite(lm.back_free(dl, self.S, x, data_S + lm.lam * x[self.S]), "grad(x)")

    def _partial_grad(
        self, x: FloatArray, z: FloatArray, j: int, exact: bool, known: _KnownS | None = None
    ) -> FloatArray:
        """The gradient on ``S`` and at ``j`` only (NaN elsewhere: see `complete`)."""
        lm = self.lm
        assert lm is not None
        self.rec.nfev += 1
        lm.remember(x, z, exact)
        if known is None:
            dl = lm.dloss(z) / lm.m
            data_S = lm.columns(self.S).T @ dl
        else:
            dl, data_S = known
        self._partial_dl = (z, dl)
        g = np.full(x.size, np.nan)
        g[self.S] = data_S + lm.lam * x[self.S]
        g[j] = float(lm.column(j) @ dl) + lm.lam * x[j]
        _finite(g[self.S], "grad(x)")
        _finite(g[j : j + 1], "grad(x)")
        return g

    def complete(self, x: FloatArray, g: FloatArray) -> FloatArray:
        """The whole gradient at ``x`` from one that `correct` returned with ``only``
        (from the same ``z``, so the same point as the partial one)."""
        if self.lm is None or not np.isnan(g).any():
            return g
        lm = self.lm
        self.rec.nfev += 1
        # ∂_S f is the partial one's: a pass over the free columns alone (with its ℓ'/m
        # when x's z is the one it was taken at).
        lm.columns(self.S)
        z = lm.z(x)
        kept_z, dl = self._partial_dl
        if kept_z is not z:
            dl = lm.dloss(z) / lm.m
        return _finite(lm.back_free(dl, self.S, x, g[self.S]), "grad(x)")

    def _correct_columns(
        self,
        tau: float,
        xs: FloatArray,
        tight: bool,
        fresh: bool,
        only: int | None = None,
        z_guess: FloatArray | None = None,
        z_exact: bool = False,
    ) -> tuple[FloatArray, FloatArray] | None:
        """:meth:`correct` for a linear model: the corrections need ``∂_S f`` only, from the
        sliding columns (``m·|S|``); the gradient over all rows is taken once, at the
        point returned or (as in `correct`) just before its last correction, by a pass
        over the free columns that completes the ``∂_S f`` just taken. With ``only``, the
        gradient returned is on ``S`` and at ``only`` alone (see `complete`).

        After a correction ``δ`` within `_LOOSE_STEP` tolerances (not ``tight``) ``z`` and
        ``∂_S f`` are updated by it in single precision, ``z − B_S δ`` and ``B_Sᵀ ℓ'/m``
        plus the product of the change of ``ℓ'/m``: half the bytes of the passes that
        take them afresh, and a rounding that is that of ``δ``'s small size (far below
        the tolerance's effect on ``z``).

        ``z_guess``: ``B x`` at the prediction, interpolated in sample space from the
        points the prediction interpolates: with ``z_exact`` from their ``B x`` itself
        (`point_z`), so ``B x`` to rounding, else off by the ``‖B‖·tol`` their ``z`` may
        carry. The first correction is taken there (a pass over the sliding columns
        saved); unless ``z_exact``, every later one, and a gradient returned as this very
        point's (``fresh``, ``tight``), at ``z`` taken afresh (or updated from a ``z``
        taken afresh). ``last_z`` is the ``z`` of the gradient returned, ``last_step``
        the correction taken after it.
        """
        lm = self.lm
        assert lm is not None

        def result(
            x: FloatArray, z: FloatArray, exact: bool = True, known: _KnownS | None = None
        ) -> FloatArray:
            if only is None:
                return self._full_grad(x, z, exact, known)
            return self._partial_grad(x, z, only, exact, known)

        x = self.base(tau)
        S = self.S
        x[S] = xs
        self.last_step = None
        if S.size == 0:
            self.last_z = self._z(tau, xs)
            return x, result(x, self.last_z)
        xS = x[S]
        BS = lm.columns(S)
        # (single-precision updates only for blocks that CG solves, and not to rounding)
        BS32 = lm.columns32(S) if not tight and S.size * self.block.n > _DIRECT_SIZE else None
        last = before = np.inf
        done = False
        # The tolerance at x, taken after each correction; the first iteration needs none
        # (with ``last`` infinite no test below reads it before x is corrected).
        tol = 0.0
        given = z_guess is not None and z_guess.shape == self.z0.shape
        guessed = given and not z_exact
        no_chord = False
        newton_last = False  # (whether the last correction was a Newton step, not a chord's)
        probation = False
        # z, ℓ'(z)/m and B_Sᵀ ℓ'(z)/m at x, and the correction taken since the last
        # iterate (None: none, the chord step was dropped).
        z: FloatArray | None = None
        dl: FloatArray | None = None
        data_S: FloatArray | None = None
        step: FloatArray | None = None
        # (one pass more than corrections: a last correction that converges is followed
        # by the gradient at its state, not by a failure)
        for it in range(_MAX_NEWTON + 1):
            small = False
            moved = True  # (whether z is new: not after a dropped chord step at a known z)
            if z is None:
                z = z_guess if given else self._z(tau, xS)
            elif step is not None or guessed:
                # (the step's size is the last correction's, `last`)
                small = BS32 is not None and step is not None and last <= _LOOSE_STEP * tol
                if small and not guessed:
                    assert BS32 is not None and step is not None
                    # (minus a single-precision product: converted exactly, as astype)
                    z = z - (BS32 @ step.astype(np.float32))
                else:
                    z = self._z(tau, xS)
                    guessed = False
            else:
                moved = False
            if moved:
                self.rec.nfev += 1
                dl_new = lm.dloss(z) / lm.m
                if small:
                    assert BS32 is not None and data_S is not None and dl is not None
                    change = (dl_new - dl).astype(np.float32)
                    data_S = data_S + (BS32.T @ change)
                else:
                    data_S = BS.T @ dl_new
                dl = dl_new
            assert z is not None and dl is not None and data_S is not None
            if done:
                self.last_z = z
                return x, result(x, z, known=(dl, data_S))
            if it == _MAX_NEWTON:
                break
            gS = _finite(data_S + lm.lam * xS, "grad(x)")
            # One chord step more than four when the last one's contraction, repeated, puts
            # the next correction within the tolerance (a slowly contracting chord after
            # a mode's first, tangent-only prediction), on a block CG solves and not to
            # rounding (`BS32`): a solve at x costs a CG loop and often a refresh there,
            # against one more pass (a small block's solve is its exact factor).
            extra = BS32 is not None and not newton_last and last * last <= before * tol
            chord = (it < 4 or (it == 4 and extra)) and self.block.size == S.size and not no_chord
            if chord:
                delta = self.block.precondition(gS)
            else:
                lm.remember(x, z, exact=not guessed)
                delta = self.block.solve(x, gS, rtol=1e-10)
            size = _max_abs(delta)
            if not size < 2 * last and size > tol:
                if chord:
                    # The block's preconditioner (single precision, or stale) is too far
                    # from H_SS here for chord steps (an ill-conditioned block): the
                    # step is dropped and the corrections go on with solves at x,
                    # instead of shrinking h, which does not help (the chord's
                    # contraction does not depend on h).
                    no_chord = True
                    step = None
                    continue
                if newton_last:
                    return None  # diverging
                # The first Newton correction after chord steps: theirs measured how far
                # the factor moves the state, not how far the curve is. A factor too
                # stiff along some direction (stale, or bordered from a stale one) makes
                # them short and slow to contract, and the Newton correction, the
                # distance itself, is several times the last (4.6 times on sparse data
                # with a duplicated column under a ridge of 1e-4: read as divergence at
                # every step size, −1). It is taken on probation: the next correction
                # must be within `_PROBATION` of it (Newton's, from the curve's basin,
                # is far smaller), or the corrector gives up as before.
                probation = True
            elif probation:
                if not size < _PROBATION * last and size > tol:
                    return None
                probation = False
            xS = xS - delta  # (x[S] kept alongside: no gathers in the loop)
            x[S] = xS
            step = delta
            tol = self.tol(x)
            if not tight and size <= (0.1 if fresh else 1.0) * tol:
                if guessed and fresh:
                    # (the gradient is wanted at this point: not at an interpolated z)
                    self.last_z = self._z(tau, xS)
                    return x, result(x, self.last_z)
                # As in `correct`: the gradient (and z, for the weights of the tangent's
                # solve, to 1e-8) before this last correction is kept. An interpolated z
                # is not handed on as the point's (the next prediction would extrapolate
                # from it, and its error would pile up from step to step).
                self.last_z = None if guessed else z
                self.last_step = None if guessed else step
                # (∂_S f at this z was just taken: the free columns' pass completes it)
                g = result(x, z, exact=False, known=(dl, data_S))
                if not guessed:
                    lm.remember(x, z, exact=False, step=step)  # (see `settle_start`)
                return x, g
            # (Converged also where two Newton corrections in a row stop contracting below
            # the tolerance: the curve's own rounding, the gradient's over the smallest
            # eigenvalue of a nearly singular H_SS, is then above the state's.)
            floor = newton_last and not chord and 0.5 * last <= size <= tol
            before, last, newton_last = last, size, not chord
            done = floor or self._converged(size, x, tol, tight)
        return None

    def _converged(self, size: float, x: FloatArray, tol: float, tight: bool) -> bool:
        """Whether a Newton correction of this ``size`` ends the corrector: within the
        tolerance, or ``tight`` to rounding on the scale of the mode's states (the state
        itself may converge to 0, the stationary point at the origin, where no relative
        test of it ends)."""
        if tight:
            scale = max(_max_abs(x), _max_abs(self.x0))
            return size <= 64 * _EPS * scale
        return size <= tol

    def grad(self, x: FloatArray) -> FloatArray:
        return self.block.grad(x)

    def base(self, tau: float) -> FloatArray:
        return self.x0 - tau * self.sigma

    def tol(self, x: FloatArray) -> float:
        return self.opts.atol + self.opts.rtol * _max_abs(x)

    def why_stuck(self, x: FloatArray | None = None) -> str:
        """What a run that failed with its steps at rounding at ``x`` is told about the
        cause."""
        if not self.start_off:
            floor = None if x is None else self._curve_floor(x)
            if floor is not None:
                bound, lam_min, tol = floor
                return (
                    "the sliding block is too ill-conditioned for the tolerance: the curve "
                    f"∇_S f = 0 is determined only to about {bound:.2g} here (the "
                    f"gradient's rounding over the block's smallest eigenvalue {lam_min:.3g}),"
                    f" above the tolerance {tol:.2g}; a looser rtol/atol, or a rescaled "
                    "problem, may pass"
                )
            return "a discontinuity of the gradient?"
        return (
            f"the mode's start is {self.start_off:.3g} off its curve, beyond "
            f"{START_SHIFT_MAX:g} tolerances: a nearly singular sliding block puts the "
            "new curve that far from an entry whose partial is zero only to its tolerance"
        )

    def _curve_floor(self, x: FloatArray) -> tuple[float, float, float] | None:
        """``(δ, λ_min, tol)`` when the curve through ``x`` is determined only to ``δ``, above
        the state's tolerance: ``δ = ε max_i (|H_i·| |x|)_i / λ_min(H_SS)``, the gradient's
        rounding on ``S`` (the terms of ``∂_i f`` at their size, as in
        :func:`~filippov._certify.component_scales`) over the block's smallest eigenvalue.
        A quadratic of condition 1e12 failed −1 there with "a discontinuity of the
        gradient?": its gradient's rounding was 1e-4 of a block whose curve the corrector
        was asked to find to 4e-11. One Hessian-rows evaluation, only once a run fails."""
        S = self.S
        if not S.size:
            return None
        try:
            with np.errstate(all="ignore"):
                rows = np.asarray(self.block.rows(x, S), dtype=float)
                block = 0.5 * (rows[:, S] + rows[:, S].T)
                lam_min = float(np.linalg.eigvalsh(block)[0])
                noise = _EPS * float((np.abs(rows) @ np.abs(x)).max())
        except (np.linalg.LinAlgError, FloatingPointError, ValueError):
            return None
        tol = self.tol(x)
        if not (lam_min > 0.0 and math.isfinite(noise)) or not noise / lam_min > tol:
            return None
        return noise / lam_min, lam_min, tol

    def off_curve(self, start: _Point) -> _Point | None:
        """The mode's start corrected onto its curve by Newton, when it is off by more than
        the tolerance (else ``None``): the start is the entry point on the last mode's
        curve, where the arrived index's partial is zero only to its tolerance ``r``, and
        the new curve is ``H_SS⁻¹ r`` away -- above the tolerance when ``H_SS`` is nearly
        singular (duplicated features under a weak ridge: ``r/λ``). The state moves by
        that at the event, never by more than `START_SHIFT_MAX` requested tolerances."""
        x = start.x.copy()
        g = self.block.grad(x)
        delta = self.block.solve(x, g[self.S], rtol=1e-12)
        size = _max_abs(delta)
        requested = self.opts.atol + self.opts.rtol * float(np.abs(x).max())
        if not self.tol(x) < size <= START_SHIFT_MAX * requested:
            # (on the curve; or so far off it that the start is not a rounding of the
            # entry -- a partial read as zero against a huge gradient: not moved, and
            # said if the run fails)
            if size > self.tol(x):
                self.start_off = size
            return None
        # (to a tenth of the tolerance, not to rounding: the corrections scatter by the
        # gradient's rounding over the small eigenvalue, above the state's rounding)
        corrected = self.correct(0.0, x[self.S] - delta, fresh=True)
        if corrected is None:
            return None
        point = self.point(0.0, corrected[0], corrected[1], start.u, a_guess=start.a)
        point.z, point.z_step = self.last_z, self.last_step
        return point

    def correct(
        self,
        tau: float,
        xs: FloatArray,
        tight: bool = False,
        fresh: bool = False,
        only: int | None = None,
        z_guess: FloatArray | None = None,
        z_exact: bool = False,
    ) -> tuple[FloatArray, FloatArray] | None:
        """Newton on ``∇_S f(x_S, x_F(τ)) = 0`` from ``xs``; ``None`` if it does not converge.

        ``tight``: to rounding (the last index's entry, where the state becomes the
        stationary point) rather than to the step tolerance. ``fresh``: the gradient
        returned is evaluated at the state returned (event location compares guards to
        rounding); otherwise, after a last correction within the tolerance, it is the
        gradient before that correction (off by ``‖H‖·tol``, a million times below what
        the guards' interpolation resolves), which saves one evaluation per step.
        ``only``: an index whose partial derivative is all the caller needs besides
        ``∂_S f`` (a linear model then returns NaN elsewhere: :meth:`complete` fills them).
        ``z_guess``: a linear model's ``B x`` at the prediction (see `_correct_columns`;
        ignored otherwise), ``B x`` itself to rounding if ``z_exact``.
        """
        if self.lm is not None:
            return self._correct_columns(tau, xs, tight, fresh, only, z_guess, z_exact)
        x = self.base(tau)
        S = self.S
        x[S] = xs
        if S.size == 0:
            return x, self.grad(x)
        last = np.inf
        done = False
        no_chord = False
        newton_last = False  # (whether the last correction was a Newton step, not a chord's)
        probation = False
        for it in range(_MAX_NEWTON + 1):  # (as in `_correct_columns`)
            g = self.grad(x)
            if done:
                return x, g
            if it == _MAX_NEWTON:
                break
            # The first corrections use the block's factor as it is (a chord step: no
            # Hessian product; the predictor is within the tolerance, so a contraction
            # by the factor's accuracy suffices); later ones solve with H_SS(x) itself.
            chord = it < 4 and self.block.size == S.size and not no_chord
            if chord:
                delta = self.block.precondition(g[S])
            else:
                delta = self.block.solve(x, g[S], rtol=1e-10)
            size = _max_abs(delta)
            if not size < 2 * last and size > self.tol(x):
                if chord:
                    # (as in `_correct_columns`: the factor is too far from H_SS here)
                    no_chord = True
                    continue
                if newton_last:
                    return None  # diverging
                probation = True  # (after chord steps: see `_correct_columns`)
            elif probation:
                if not size < _PROBATION * last and size > self.tol(x):
                    return None
                probation = False
            x[S] -= delta
            tol = self.tol(x)
            if not tight and size <= (0.1 if fresh else 1.0) * tol:
                # A correction this small moves the gradient by ‖H‖·δ, far below what the
                # guards resolve: the gradient before it is kept (one evaluation saved).
                return x, g
            floor = newton_last and not chord and 0.5 * last <= size <= tol
            last, newton_last = size, not chord
            # Newton's error after a correction of size δ is O(δ²) (plus the CG residual's
            # 1e-10 δ): one within the tolerance leaves the point on the curve to rounding
            # (or to the curve's own rounding, `floor`, where corrections stop contracting).
            done = floor or self._converged(size, x, tol, tight)
        return None

    def rate(self, x: FloatArray, u: FloatArray) -> tuple[FloatArray, FloatArray | None]:
        """``H ẋ`` at ``x`` for ``ẋ = [u; −σ_F]`` (one product; on a linear model from the
        sliding columns and one pass over the data), and ``B ẋ`` (linear models)."""
        v = -self.sigma.copy()
        v[self.S] = u
        if self.lm is None:
            return self.block.hvp_full(x, v), None
        lm = self.lm
        self.rec.njev += 1
        Bxdot = lm.columns(self.S) @ u - self.z_sigma if self.S.size else -self.z_sigma
        return _finite(lm.back(lm.weights(x) * Bxdot) + lm.lam * v, "hvp(x, v)"), Bxdot

    def point(
        self,
        tau: float,
        x: FloatArray,
        g: FloatArray,
        u_guess: FloatArray | None,
        rtol: float | None = None,
        a_guess: FloatArray | None = None,
        second: bool = True,
    ) -> _Point:
        """The tangent and gradient rate at a point on the curve (the tangent's CG to
        relative residual ``rtol``, by default the block's `tangent_rtol`), with the
        second derivatives on a `quintic` mode unless ``second`` is false (an event's
        point: the mode's last node takes the step interpolant's, as its slope, see
        `_run_mode`)."""
        rtol = self.block.tangent_rtol if rtol is None else rtol
        p = self._tangent_point(tau, x, g, u_guess, rtol)
        return self.accel(p, a_guess) if self.quintic and second else p

    def accel(self, p: _Point, a_guess: FloatArray | None = None) -> _Point:
        """``p`` with the curve's second derivatives there (on a `quintic` mode; else
        ``p`` as it is).

        Differentiating ``∇_S f(x(τ)) = 0`` twice, with ``ẍ_F = 0``: ``H_SS ẍ_S = −B_Sᵀ r``
        with ``r = ℓ₃(z) ∘ ż² / m`` (``ℓ₃`` the loss's third derivative, ``z = B x``,
        ``ż = B ẋ``): one more solve on the tangent's block. Then ``B ẍ = B_S ẍ_S`` and
        ``d²∇f/dτ² = Bᵀ(w ∘ B ẍ + r)`` on the free indices (a pass over their columns),
        ``w = ℓ''(z)/m``.
        """
        if not self.quintic or p.a is not None:
            return p
        lm, block, S = self.lm, self.block, self.S
        assert lm is not None and lm.d3loss is not None
        BS = lm.columns(S)
        zdot = p.zdot if p.zdot is not None else BS @ p.u - self.z_sigma
        third = _finite(lm.d3loss(lm.z(p.x)) / lm.m, "the loss's third derivative")
        r = third * (zdot * zdot)
        self.rec.njev += 1
        rhs = -(r @ BS)
        # (the caller may still read the tangent's CG sums: kept across this solve)
        kept = (block._pending, block._last_product)
        try:
            a = block.solve(
                p.x, rhs, guess=a_guess, rtol=_ACCEL_RTOL, atol=_ACCEL_RTOL * _norm(rhs)
            )
        finally:
            block._pending, block._last_product = kept
        zddot = BS @ a
        gddot = lm.back_free(lm.weights(p.x) * zddot + r, S, np.zeros(p.x.size))
        return replace(p, zdot=zdot, a=a, zddot=zddot, gddot=_finite(gddot, "hvp(x, v)"))

    def _tangent_point(
        self,
        tau: float,
        x: FloatArray,
        g: FloatArray,
        u_guess: FloatArray | None,
        rtol: float,
    ) -> _Point:
        S = self.S
        # (a block followed with least-norm solves solves directly: no CG sums)
        big = S.size * self.block.n > _DIRECT_SIZE and self.block.least_norm is None
        if self.lm is not None and S.size and u_guess is not None and tau > 0.0 and big:
            return self._point_columns(tau, x, g, u_guess, rtol)
        if S.size and u_guess is not None and tau > 0.0 and big:
            # CG on the correction y = u − u_guess: the residual of the guess is the
            # product H ẋ₀ with ẋ₀ = [u_guess; −σ_F] (the system is (H ẋ)_S = 0), so H σ
            # is never formed on its own, and H ẋ = H ẋ₀ + H [y; 0] comes with CG's sums.
            v = -self.sigma.copy()
            v[S] = u_guess
            Hv = self.block.hvp_full(x, v)
            atol = rtol * self.b_norm if np.isfinite(self.b_norm) else 0.0
            y = self.block.solve(x, -Hv[S], rtol=rtol, atol=atol)
            Hy = self.block.last_product
            if Hy is not None:
                return _Point(tau, x, g, u_guess + y, Hv + Hy)
        p = self.block.hvp_full(x, self.sigma)  # H σ (σ is 0 on S)
        if self.S.size:
            self.b_norm = _norm(p[self.S])
            # To 1e-9: the tangent enters the dense output as h·δu/4, far below atol then.
            u = self.block.solve(x, p[self.S], guess=u_guess, rtol=rtol)
            Hu = self.block.last_product
            if Hu is None:  # solved directly: one product
                v = np.zeros(x.size)
                v[self.S] = u
                Hu = self.block.hvp_full(x, v)
            gdot = Hu - p  # H ẋ with ẋ = [u; −σ_F]
        else:
            u = np.zeros(0)
            gdot = -p
        return _Point(tau, x, g, u, gdot)

    def _point_columns(
        self, tau: float, x: FloatArray, g: FloatArray, u_guess: FloatArray, rtol: float
    ) -> _Point:
        """:meth:`point` for a linear model: ``B ẋ₀ = B_S u_guess − Bσ`` from the sliding
        columns, CG on them, and ``H ẋ`` over all rows in one pass at the end."""
        lm, block, S = self.lm, self.block, self.S
        assert lm is not None
        BS = lm.columns(S)
        w = lm.weights(x)
        self.rec.njev += 1
        Bv = BS @ u_guess - self.z_sigma
        HvS = _finite(BS.T @ (w * Bv) + lm.lam * u_guess, "hvp(x, v)")
        atol = rtol * self.b_norm if np.isfinite(self.b_norm) else 0.0
        y = block.solve(x, -HvS, rtol=rtol, atol=atol)
        v = -self.sigma.copy()
        v[S] = u_guess + y
        pending = block._pending
        self.rec.njev += 1
        if pending is not None and pending[1] is None:
            # H ẋ = Bᵀ(w ∘ (B ẋ₀ + B_S y)) + λ ẋ: the two products' passes in one.
            block._pending = None
            summed = Bv + pending[4]
            block.kept_Bxdot = (x.tobytes(), summed)
            # The rates of the free indices alone (the guards'; on S, H ẋ is the tangent's
            # residual, 0 to its tolerance): a pass over their columns only.
            gdot = _finite(lm.back_free(pending[0] * summed, S, v), "hvp(x, v)")
            return _Point(tau, x, g, v[S], gdot, zdot=summed, free_rates=True)
        v0 = -self.sigma.copy()
        v0[S] = u_guess
        Hy = block.last_product
        assert Hy is not None
        gdot = lm.back(w * Bv) + lm.lam * v0 + Hy
        return _Point(tau, x, g, v[S], _finite(gdot, "hvp(x, v)"))


def _bordered_inverse(M: Any, q: Any, s: float) -> Any:
    """The inverse of ``[[A, c], [cᵀ, h]]`` from ``M = A⁻¹``, ``q = M c`` and the Schur
    complement ``s = h − cᵀq``: ``[[M + q qᵀ/s, −q/s], [−qᵀ/s, 1/s]]``, in ``M``'s
    precision (``O(k²)``: an index joining the block)."""
    k = M.shape[0]
    inverse = np.empty((k + 1, k + 1), dtype=M.dtype)
    # (``M + outer`` written into the new matrix directly: the same sums as a copy of
    # ``M`` and ``+=``, without the copy; `np.multiply.outer` is `np.outer` without its
    # ravels)
    if M.dtype == np.float64:
        np.add(M, np.multiply.outer(q / s, q), out=inverse[:k, :k])
        inverse[k, :k] = inverse[:k, k] = -q / s
    else:
        np.add(M, np.multiply.outer(q / q.dtype.type(s), q), out=inverse[:k, :k])
        inverse[k, :k] = inverse[:k, k] = -q / q.dtype.type(s)
    inverse[k, k] = 1.0 / s
    return inverse


def _hermite(
    y0: FloatArray, d0: FloatArray, y1: FloatArray, d1: FloatArray, h: float, s: Any
) -> Any:
    """Cubic Hermite on ``[0, h]`` at fractions ``s`` (scalar or (k,) → broadcast last)."""
    if not isinstance(s, float):  # (a Python or NumPy float skips the checks)
        s = np.asarray(s, dtype=float)[..., None] if np.ndim(s) else float(s)
    h00, h10, h01, h11 = _hermite_basis(s)
    return h00 * y0 + h10 * h * d0 + h01 * y1 + h11 * h * d1


def _first_roots(
    G0: FloatArray, D0: FloatArray, G1: FloatArray, D1: FloatArray, h: float
) -> list[tuple[int, float]]:
    """``(k, s)`` for every guard ``k`` whose cubic Hermite interpolant on a step (values
    ``G0, G1`` and rates ``D0, D1`` at its ends, length ``h``) is negative somewhere in
    ``(0, 1]``: ``s`` the fraction of its first root.

    Exact for the cubic: besides fixed samples, each interpolant is evaluated at its own
    critical points in ``(0, 1)``, where its minima between the ends are. (Samples alone
    miss a dip narrower than their spacing: on a long step of a mode whose guards are
    cubics in τ, the interpolants are exact and the step control lets the step grow, a
    guard crossing 0 and back between two samples went unseen.)
    """
    # Only guards that may dip are examined: with h00 + h01 = 1 (both in [0, 1]) and
    # |h10|, |h11| ≤ 4/27 on [0, 1], the interpolant is at least min(G0, G1) − (4/27)·h·
    # (|D0| + |D1|), positive for most guards of a step (those far from their boundary).
    may_dip = np.minimum(G0, G1) <= (4.0 / 27.0) * h * (np.abs(D0) + np.abs(D1))
    which = may_dip.nonzero()[0]
    out: list[tuple[int, float]] = []
    if not which.size:  # (most steps: no guard near its boundary)
        return out
    # The few that may (0 to 3 on a step, mostly) one at a time in Python floats: the
    # same operations in the same order as on arrays (IEEE arithmetic either way), a
    # tenth of the cost of NumPy's calls on arrays of one or two entries.
    rows = zip(
        which.tolist(),
        G0[which].tolist(),
        D0[which].tolist(),
        G1[which].tolist(),
        D1[which].tolist(),
        strict=True,
    )
    for k, g0, d0, g1, d1 in rows:
        # p(s) = G0 + b s + c s² + d s³ (the Hermite basis expanded); p'(s) = b + 2c s + 3d s².
        b = h * d0
        c = 3.0 * (g1 - g0) - 2.0 * b - h * d1
        d = 2.0 * (g0 - g1) + b + h * d1
        # The critical points in (0, 1), where the minima between the ends are (from the
        # stable pair of roots of p').
        disc = c * c - 3.0 * d * b
        root = math.sqrt(disc) if disc > 0.0 else (disc if math.isnan(disc) else 0.0)
        q = -(c + (root if c >= 0.0 else -root))
        crit = [
            r for r in (q / (3.0 * d) if d else math.nan, b / q if q else math.nan) if 0.0 < r < 1.0
        ]
        dips = any(
            h00 * g0 + h10 * h * d0 + h01 * g1 + h11 * h * d1 < 0.0
            for h00, h10, h01, h11 in _GUARD_BASIS_ROWS
        ) or any(g0 + r * (b + r * (c + r * d)) < 0.0 for r in crit)
        if not dips:
            continue

        def cubic(
            s: float, q: tuple[float, float, float, float] = (g0, b, c, d), end: float = g1
        ) -> float:
            # (the end value itself at s = 1: the expanded sum rounds a guard barely
            # negative there to ≥ 0, and brentq was then handed the bracket [1, 1])
            return end if s == 1.0 else q[0] + s * (q[1] + s * (q[2] + s * q[3]))

        out.append((k, _first_sign_change(cubic, sorted([*_GUARD_SAMPLES, *crit]))))
    return out


def _first_sign_change(p: Callable[[float], float], points: list[float]) -> float:
    """The first root in ``(0, 1]`` of a guard polynomial ``p``, bracketed between the
    last of the sorted ``points`` (its samples and critical points) before the first one
    where ``p < 0`` (there is one) and that one."""
    lo = hi = 0.0
    for hi in points:
        if p(hi) < 0.0:
            break
        lo = hi
    return float(brentq(p, lo, hi, xtol=1e-15)) if p(lo) > 0 else lo


def _hermite_slope(y0: Any, d0: Any, y1: Any, d1: Any, h: float, s: float) -> Any:
    """Derivative in τ of :func:`_hermite` at fraction ``s`` (of arrays, or of floats)."""
    dh00 = 6 * s * s - 6 * s
    dh10 = 3 * s * s - 4 * s + 1
    dh01 = -6 * s * s + 6 * s
    dh11 = 3 * s * s - 2 * s
    return (dh00 * y0 + dh01 * y1) / h + dh10 * d0 + dh11 * d1


# The quintic Hermite interpolant of a step (values, first and second derivatives at both
# ends) in Bernstein form: its control points are the data in closed form, its values and
# derivatives are sums of them with the Bernstein weights, and a guard whose control
# points are all positive cannot vanish on the step (the convex hull property). Written
# here rather than with scipy's `BPoly`: a step's interpolants are evaluated a few times
# on small arrays, where building a `BPoly` costs more than the evaluation.
def _quintic_control(
    y0: Any, d0: Any, a0: Any, y1: Any, d1: Any, a1: Any, h: float
) -> tuple[Any, Any, Any, Any, Any, Any]:
    """Bernstein control points on ``[0, 1]`` of the quintic with values ``y``, rates ``d``
    and second derivatives ``a`` in ``τ`` at the ends of a step of length ``h``."""
    hd0, hd1 = h * d0, h * d1
    c0, c1 = (h * h / 20.0) * a0, (h * h / 20.0) * a1
    return (y0, y0 + 0.2 * hd0, y0 + 0.4 * hd0 + c0, y1 - 0.4 * hd1 + c1, y1 - 0.2 * hd1, y1)


def _quintic(y0: Any, d0: Any, a0: Any, y1: Any, d1: Any, a1: Any, h: float, s: Any) -> Any:
    """The quintic Hermite interpolant on ``[0, h]`` at fractions ``s``.

    The Bernstein weights ``β_k(s)`` are folded into weights of the six data (the control
    points are sums of them, see `_quintic_control`): six products with the data instead
    of building the six control points first (the states in sample space are
    interpolated so at every point of a tight run)."""
    if not isinstance(s, float):
        s = np.asarray(s, dtype=float)[..., None] if np.ndim(s) else float(s)
    t = 1.0 - s
    b0, b1, b2 = t**5, 5.0 * s * t**4, 10.0 * s * s * t**3
    b3, b4, b5 = 10.0 * s**3 * t * t, 5.0 * s**4 * t, s**5
    return (
        (b0 + b1 + b2) * y0
        + (h * (0.2 * b1 + 0.4 * b2)) * d0
        + (h * h / 20.0 * b2) * a0
        + (b3 + b4 + b5) * y1
        - (h * (0.4 * b3 + 0.2 * b4)) * d1
        + (h * h / 20.0 * b3) * a1
    )


def _quintic_slope(y0: Any, d0: Any, a0: Any, y1: Any, d1: Any, a1: Any, h: float, s: Any) -> Any:
    """Derivative in ``τ`` of :func:`_quintic` at fractions ``s``: ``(5/h) Σ_k (b_{k+1} −
    b_k) β⁴_k(s)`` over the control points ``b`` of `_quintic_control`, with the quartic
    Bernstein weights folded into weights of the six data (as in `_quintic`: six products
    instead of the control points, their differences and a Bernstein sum; the sample-space
    rates of every tight run's points are interpolated so)."""
    if not isinstance(s, float):
        s = np.asarray(s, dtype=float)[..., None] if np.ndim(s) else float(s)
    t = 1.0 - s
    c0, c1, c2 = t**4, 4.0 * s * t**3, 6.0 * s * s * t * t
    c3, c4 = 4.0 * s**3 * t, s**4
    return (
        (5.0 / h * c2) * (y1 - y0)
        + (c0 + c1 - 2.0 * c2) * d0
        + (c4 + c3 - 2.0 * c2) * d1
        + (0.25 * h * (c1 - c2)) * a0
        + (0.25 * h * (c2 - c3)) * a1
    )


def _quintic_curvature(
    y0: Any, d0: Any, a0: Any, y1: Any, d1: Any, a1: Any, h: float, s: Any
) -> Any:
    """Second derivative in ``τ`` of :func:`_quintic` at fractions ``s``: ``(20/h²) Σ_k
    (b_{k+2} − 2b_{k+1} + b_k) β³_k(s)``, folded into weights of the data as
    `_quintic_slope`."""
    if not isinstance(s, float):
        s = np.asarray(s, dtype=float)[..., None] if np.ndim(s) else float(s)
    t = 1.0 - s
    e0, e1, e2, e3 = t**3, 3.0 * s * t * t, 3.0 * s * s * t, s**3
    return (
        (20.0 / (h * h) * (e1 - e2)) * (y1 - y0)
        + ((8.0 * e2 - 12.0 * e1) / h) * d0
        + ((12.0 * e2 - 8.0 * e1) / h) * d1
        + (e0 - 2.0 * e1 + e2) * a0
        + (e1 - 2.0 * e2 + e3) * a1
    )


#: Monomial coefficients of the quintic Bernstein basis: row ``j`` gives ``s^j``'s
#: coefficient from the control points, ``(−1)^(j−k) C(5, j) C(j, k)`` for ``k ≤ j``.
_BERNSTEIN_TO_POWER = np.array(
    [
        [(-1) ** (j - k) * math.comb(5, j) * math.comb(j, k) if k <= j else 0 for k in range(6)]
        for j in range(6)
    ],
    dtype=float,
)


def _first_roots_quintic(
    G0: FloatArray,
    D0: FloatArray,
    E0: FloatArray,
    G1: FloatArray,
    D1: FloatArray,
    E1: FloatArray,
    h: float,
) -> list[tuple[int, float]]:
    """:func:`_first_roots` for guards known with their second derivatives: the first
    root in ``(0, 1]`` of each guard's quintic Hermite interpolant that is negative
    somewhere there. Exact for the quintic as the cubic's is for the cubic: a guard whose
    control points are all positive is positive on the step (most guards of a step); the
    others are evaluated at samples and at their critical points in ``(0, 1)`` (the real
    roots of the quartic derivative), and the first sign change is bracketed."""
    b = _quintic_control(G0, D0, E0, G1, D1, E1, h)
    may_dip = np.minimum.reduce(b) <= 0.0
    which = may_dip.nonzero()[0]
    out: list[tuple[int, float]] = []
    if not which.size:
        return out
    control = np.array([bk[which] for bk in b])  # (6, candidates)
    power = _BERNSTEIN_TO_POWER @ control
    for col, k in enumerate(which.tolist()):
        c = power[:, col].tolist()  # p(s) = Σ c[j] s^j

        def quintic(s: float, c: list[float] = c, end: float = float(G1[k])) -> float:
            # (the end value itself at s = 1, as in `_first_roots`)
            if s == 1.0:
                return end
            return c[0] + s * (c[1] + s * (c[2] + s * (c[3] + s * (c[4] + s * c[5]))))

        slope = [5.0 * c[5], 4.0 * c[4], 3.0 * c[3], 2.0 * c[2], c[1]]
        crit: list[float] = []
        if any(slope[:-1]) and all(math.isfinite(v) for v in slope):
            crit = [
                float(r.real)
                for r in np.roots(np.trim_zeros(np.array(slope), "f"))
                if abs(r.imag) <= 1e-12 * max(1.0, abs(r.real)) and 0.0 < r.real < 1.0
            ]
        points = sorted([*_GUARD_SAMPLES, *crit])
        if any(quintic(p) < 0.0 for p in points):
            out.append((k, _first_sign_change(quintic, points)))
    return out


def _steps(
    system: FilippovSystem,
    x0: FloatArray,
    t0: float,
    t_end: float,
    opts: ContinuationOptions,
    rec: Recorder,
) -> Generator[None, None, Finished | Rest]:
    """Integrate the ℓ∞ steepest-descent flow of ``system.objective`` from ``(t0, x0)``
    (the loop of :class:`ContinuationPath`)."""
    obj = system.objective
    assert obj is not None
    n = x0.size
    x = np.array(x0, dtype=float)
    t = float(t0)
    span = t_end - t0
    block = _Block(obj, n, rec)
    block.tangent_rtol = tangent_rtol(opts.rtol)
    rec.nfev += 1
    g = obj.grad(x)
    if not np.all(np.isfinite(g)):
        return Finished(-3, f"non-finite gradient at t = {t:.12g}")
    g_scale = max(float(np.abs(g).max()), 1e-300)
    # Zeros read off the state: rounding-level gradient components (the state is never moved).
    zero = np.abs(g) <= 64 * _EPS * g_scale
    sigma = np.where(zero, 0.0, np.sign(g))
    try:
        sigma, mode, stationary = _select(obj, block, x, sigma, np.flatnonzero(zero), rec)
    except np.linalg.LinAlgError as exc:
        why = _not_positive_definite(obj, x, np.flatnonzero(sigma == 0))
        return Finished(-4, f"the sliding selection at t = {t:.12g} failed: {exc}{why}")
    undetermined = None if stationary else _undetermined_selection(block, t, x)
    if undetermined is not None:
        selected = _least_norm_select(block, x, sigma, block.S, rec)
        if selected is None:
            return Finished(-4, undetermined)
        sigma, mode, stationary = selected
    if zero.any():
        record_l1_transition(
            rec, t, x, np.flatnonzero(zero), np.sign(g), sigma, sigma == 0, None, mode, True
        )
    if block.least_norm is not None and not stationary:
        flag_least_norm_sliding(rec, t, mode, block.S.size, block.least_norm_condition)
    h_step = min(span, first_step(x))
    stalls = 0
    while True:
        if stationary:
            # (a rest whose whole block was factored is unique: a positive definite
            # Hessian; one reached with a singular block, see `_select`, is probed)
            full = block.S.size == n and singular_to_precision(block) is None
            unique = full or _sign_rest_unique(system, x, sigma)
            return Rest(
                t,
                x,
                np.arange(n),
                mode,
                mode,
                np.zeros(n),
                unique,
                "" if unique else NON_UNIQUE_REST_NOTE,
            )
        yield
        # Guards of indices starting on (or within rounding of) their boundary are offset
        # so that the event that put them there cannot fire again at its own time.
        cm = _Mode(obj, block, x, sigma, opts, rec)
        # The scale the mode's tolerances are floored at: the gradient's largest partial
        # at the mode's start, not at the run's (see `mode_scale`; `_run_mode` takes them
        # again if the gradient falls by orders of magnitude inside the mode).
        cm.set_scale(g)
        offset = np.maximum(0.0, cm.ztol - sigma * g)
        offset[sigma == 0] = 0.0
        cm.t_start = t
        try:
            out = _run_mode(cm, t, t_end, g, offset, h_step, mode, rec)
        except np.linalg.LinAlgError as exc:
            cm.keep_accepted()
            return Finished(
                -4,
                # (the mode's start, not where it stopped: `returned_up_to` says that;
                # the exception says what failed, a block turned singular or, after a
                # least-norm selection, one no longer singular)
                f"a solve with the sliding block failed in the mode that started at "
                f"t = {t:.12g} ({exc}){returned_up_to(rec)}",
            )
        except (ValueError, ArithmeticError, RuntimeError):
            # (a user function raising mid-mode: the run fails with the mode's accepted
            # steps kept, as on the event path; the driver names the error)
            cm.keep_accepted()
            raise
        t_new, x, g, h_step, arrived, exited = out
        # The records keep the breakpoint's own read-only array (the event there and the
        # next mode's dense output, which finds it by `Recorder.kept_state`, without
        # copies of their own); the computation goes on with ``x``, which the objective's
        # callables receive: handed the read-only one, a Hessian that takes its argument
        # as a writable buffer (ctypes ``from_buffer``, a Cython ``double[:]``) made the
        # run fail -1 ("read-only") at the first event.
        x_kept = rec.kept_state(t_new, x)
        if not cm.S.size:
            # A mode with no sliding index moves on a line: its steps grew fourfold
            # whenever the guards' interpolation allowed, and say nothing of the next
            # mode's curve. Carried over (4.0 after a free mode, on a quartic with a
            # degenerate minimum at rtol = 1e-13), the next mode's first step was so far
            # outside the range of its error estimate that the midpoint check passed
            # and the mode's dense output was 6.5e-4 off its curve (∂_0 f = -4e-5 where
            # it slides), reported as a success. It starts as a run does.
            h_step = min(h_step, first_step(x))
        if arrived is None:
            return REACHED_END
        stalls = stalls + 1 if t_new == t else 0
        if stalls > 2 * n + 4:
            return Finished(
                -4, f"no consistent mode found at t = {t:.12g}: {stalls} zero-length modes"
            )
        t = t_new
        old_sigma, old_mode = sigma, mode
        new_sigma = sigma.copy()
        for i, u_i in exited:
            new_sigma[i] = -np.sign(u_i)  # λ_i = −ẋ_i reached ±1: the relay saturates
        new_sigma[arrived] = 0.0
        if exited:
            try:
                block.set(x, np.flatnonzero(new_sigma == 0))
            except np.linalg.LinAlgError as exc:
                # (only from a block followed with least-norm solves: see `_Block.set`)
                return Finished(-4, f"the sliding selection at t = {t:.12g} failed: {exc}")
        free_now = np.flatnonzero(new_sigma != 0)
        if free_now.size and _gradient_at_rounding(obj, x, g, free_now, g_scale, rec):
            # Every free partial is rounding at the event (the sliding ones are zero to
            # the corrector's tolerance): all of them arrive, and the flow rests
            # (`_select`). A duplicated feature without a ridge (∂₀f ≡ ∂₁f) arrived
            # one index at a time, ∂₁f = −4e-18 left out below a zero tolerance on a scale
            # that was itself rounding; the selection then crossed index 0 and the run slid
            # along the valley of minimizers at unit speed with ∇f = 0, to t = 10 (status 0).
            # (`arrived` may be empty, a list: its union with ints is then of floats)
            arrived = np.union1d(np.asarray(arrived, dtype=np.intp), free_now).tolist()
            new_sigma[arrived] = 0.0
        entry = block.entry_tangent  # (the old mode's velocity: see `_arrivals_cross`)
        S_before = block.S
        try:
            sigma, mode, stationary = _select(
                obj, block, x, new_sigma, arrived, rec, previous=old_sigma
            )
        except np.linalg.LinAlgError as exc:
            why = _not_positive_definite(obj, x, np.flatnonzero(new_sigma == 0))
            return Finished(-4, f"the sliding selection at t = {t:.12g} failed: {exc}{why}")
        undetermined = None if stationary else _undetermined_selection(block, t, x)
        if undetermined is not None:
            # (a block factored with a pivot at rounding: followed with its least-norm
            # selection where that is consistent, see `_least_norm_select`)
            new = np.setdiff1d(np.asarray(arrived, dtype=np.intp), S_before)
            crossing = _arrivals_cross(block, x, entry, new)
            selected = _least_norm_select(block, x, sigma, block.S, rec) if crossing else None
            if selected is None:
                return Finished(-4, undetermined)
            sigma, mode, stationary = selected
        record_l1_transition(
            rec,
            t,
            x_kept,
            np.asarray(arrived, dtype=np.intp),
            old_sigma,
            sigma,
            sigma == 0,
            old_mode,
            mode,
            True,
        )
        if block.least_norm is not None and not stationary:
            flag_least_norm_sliding(rec, t, mode, block.S.size, block.least_norm_condition)


def singular_to_precision(block: _Block) -> float | None:
    """The condition number of the block after symmetric equilibration, estimated from
    its exact Cholesky factor's pivots (`_pivot_condition`, a lower bound), when beyond
    `MAX_CONDITION` (where double precision does not determine its solves); else ``None``
    (also for a block held as a single-precision inverse, whose pivots are not kept).

    Equilibrated, as the self-check's precision test (`MAX_CONDITION` is a bound on the
    equilibrated condition number): the solves' rounding is relative to each index's own
    scale (see `_pivot_condition`), so a badly scaled block of well-separated indices is
    determined, and a block of duplicated or collinear features (a zero pivot of the
    equilibrated factor as of the raw one) is not."""
    if block.single is not None or not block.L.size:
        return None
    estimate = _pivot_condition(block.L)
    return estimate if estimate > MAX_CONDITION else None


def _undetermined_selection(block: _Block, t: float, x: FloatArray) -> str | None:
    """Why the sliding mode just selected is not determined (the failure's message), when
    its block is singular to double precision (`singular_to_precision`), else ``None``.

    A Hessian singular on the sliding set -- duplicated features, ``½(x0 + x1)² + ½(x0 +
    x1 + x2)²`` -- factored with a pivot at rounding (2.1e-8 against 1.41), and the run
    slid on with a split of the motion between the indices that rounding chose (x0 at
    0.10, x1 at 0.40 where the least-norm split moves both at 0.25), to a rest flagged
    unique, status 1. The split is not the flow's to choose silently: the run ends −4
    (``"auto"`` then runs the event path, which follows the least-norm split where the
    selection is consistent and flags it, see `filippov._mode_field._least_norm_sliding`,
    and stops −5 otherwise)."""
    if block.least_norm is not None:
        return None  # (followed with its least-norm selection: `_least_norm_select`)
    cond = singular_to_precision(block)
    if cond is None:
        return None
    shown = ", ".join(str(int(i)) for i in block.S[:8]) + (", …" if block.S.size > 8 else "")
    return (
        f"the sliding block on {{{shown}}} at t = {t:.12g}, x = "
        f"{np.array2string(x, precision=12)} is singular to double precision (condition "
        f"number at least {cond:.3g}): how the motion splits between these indices is not "
        "determined (duplicated or collinear features?); the solution is returned up to "
        "there"
    )


def _gradient_at_rounding(
    obj: Objective,
    x: FloatArray,
    g: FloatArray,
    free: np.ndarray,
    g_scale: float,
    rec: Recorder,
) -> bool:
    """Whether the partials ``free`` of the gradient at ``x`` are at their rounding, each
    at most 64 times its own change when every coordinate moves by one ulp (or its second
    difference over one ulp either way, the rounding of its evaluation). ``g`` (the
    path's gradient there) only decides whether to ask: two or three gradients more, taken
    only when its free partials are below 1e-8 of the run's start scale.

    Component by component, not against the largest change: a stiff coordinate (∂₀f =
    1e8 (x₀ − 1)) changes by 1.4e-6 over its ulps, and a meaningful ∂₁f = 1e-7 was read
    as rounding beside it (a rest declared 1e-7 before the minimizer, reported unique)."""
    if not _max_abs(g[free]) <= 1e-8 * g_scale:
        return False
    # The gradient at x itself: ``g`` may be the corrector's, from before its last
    # correction, off by ‖H‖ times that correction -- beside a stiff coupling K (x0 − x1)²
    # by K·2ulp, which the differences below then read as rounding (a rest 1e-4 early,
    # flagged unique, in review).
    rec.nfev += 2
    gf = np.asarray(obj.grad(x), dtype=float)[free]
    g_up = np.asarray(obj.grad(np.nextafter(x, np.inf)), dtype=float)
    up = np.abs(g_up[free] - gf)
    if bool(np.all(np.abs(gf) <= 64.0 * up)):
        return True
    # The change over one ulp of every coordinate is a signed sum, which can be far below
    # the rounding of the gradient's evaluation: a Poisson model's rest (no ridge, a
    # valley) had ∂f = 3.8e-14 against a change of 2.5e-16, and the flow went on into a
    # mode of zero length whose start moved 0.027 along the valley (the solution jumped
    # there). The second difference over one ulp either way is that rounding itself (the
    # smooth part of it is O(ulp²)). Not the rows' |H_i|·ulp(x): a stiff coupling
    # K (x0 − x1)² put it at 64·2K·ulp(x), and a gradient of 3e-5 along the soft
    # direction was read as rounding, a rest 3e-5 early flagged unique (review).
    # (1024 times that sample of the rounding, which falls short of its bound by about
    # the square root of the number of terms summed, and by chance: a Poisson model's
    # valley rest (λ = 0, its block of condition 6e13) had partials 580 times it, and the
    # run ended −4 where it rests)
    rec.nfev += 1
    g_dn = np.asarray(obj.grad(np.nextafter(x, -np.inf)), dtype=float)
    noise = np.abs(g_up[free] + g_dn[free] - 2.0 * gf)
    floor = np.maximum(64.0 * np.maximum(up, np.abs(g_dn[free] - gf)), 1024.0 * noise)
    return bool(np.all(np.abs(gf) <= floor))


def mode_scale(size: float, g_scale: float) -> float:
    """The gradient's scale for a mode's tolerances: ``size``, the gradient's largest
    free partial at the mode's start (on a tie mode, the tie value), not the run's start
    scale ``g_scale``.

    The gradient shrinks by orders of magnitude along a run (from 1e13 to 0.1 on a Poisson
    model started far away), and tolerances on the run's start scale then exceed the
    guards themselves: an index that leaves the sliding set is offset by more than its
    guard's whole rise, and its return is located where the guard reaches minus the offset
    (the next mode starts that far off its curve). The scale is kept at or above 1e-9 of
    ``g_scale``, so that it does not vanish as the run nears the stationary point. On the
    sign flow ``g_scale`` is the gradient's largest partial at the mode's start, not at
    the run's: a Poisson model started at ``|∇f| = 3e15`` reached modes whose gradient was
    4e-4, where a floor of 1e-9 of the run's start (a zero tolerance of 3e-6) let indices
    still 1e-2 of the gradient off their boundary arrive; each next mode's start was moved
    onto its curve, jumps of up to 3500 tolerances reported as a success (review R27).
    Where the gradient falls by orders of magnitude inside one mode, the mode takes its
    tolerances again on the way (`_Mode.set_scale`; the ℓ1 flow's tie modes are taken
    again from the point where it happens, see `filippov._tie_continuation.tie_steps`,
    and their ``g_scale`` is the largest partial at the tie mode's start, the tie value).
    """
    return max(abs(size), 1e-9 * g_scale)


def zero_tolerance(scale: float, zero_tol: float) -> float:
    """``zero_tol`` (at least 64 ulps) of a mode's `mode_scale`: the offsets that keep an
    event from firing again at its own time, and the margin of simultaneous events."""
    return max(zero_tol, 64 * _EPS) * scale


def _free_size(g: FloatArray, sigma: FloatArray) -> float:
    """The largest ``|∂_i f|`` over the free indices (``σ_i ≠ 0``), 0 if none."""
    free = g[sigma != 0]
    return _max_abs(free) if free.size else 0.0


def _not_positive_definite(obj: Objective, x: FloatArray, S: np.ndarray) -> str:
    """What a failed selection's message adds (asked only then): the sliding set's Hessian
    block is not positive definite, and which of its diagonal entries are not positive.

    Why: LAPACK's "1-th leading minor of the array is not positive definite" named neither
    the block nor the coordinate (a feature absent from a model's data, with no ridge term:
    ``∂²f/∂x_i² = 0``, R17)."""
    if not S.size:
        return ""
    try:
        diagonal = np.asarray(obj.eval_hess_rows(x, S), dtype=float)[np.arange(S.size), S]
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        diagonal = np.full(S.size, np.nan)
    flat = np.flatnonzero(~(diagonal > 0.0))
    where = f"{{{', '.join(str(int(i)) for i in S[:6])}{', ...' if S.size > 6 else ''}}}"
    said = f" (the Hessian block of the sliding coordinates {where} is not positive definite"
    if flat.size:
        i, value = int(S[flat[0]]), float(diagonal[flat[0]])
        said += f": ∂²f/∂x_{i}² = {value:.3g} there, f is not strictly convex along x_{i}"
    return said + "; method='events' follows such modes)"


def _select(
    obj: Objective,
    block: _Block,
    x: FloatArray,
    sigma: FloatArray,
    arrived: Any,
    rec: Recorder,
    previous: FloatArray | None = None,
) -> tuple[FloatArray, Any, bool]:
    """The mode after indices ``arrived`` reached ``∂_i f = 0`` (their ``sigma`` is 0):
    `_select_sliding`, unless the block with them is not positive definite at ``x``.

    Then (``previous``, the signs before the event, given) each arrived index whose Schur
    complement ``s = H_jj − H_jS H_SS⁻¹ H_Sj`` in the old block is not positive crosses:
    its sign flips and the others are selected again -- provided the new mode takes each
    flipped index off its boundary (else the ``LinAlgError`` stands: −4, and ``"auto"``
    runs the event path). Why: on the sliding curve of ``S``
    the guard of ``j`` moves as ``ġ_j = s ẋ_j + r`` (``r`` from the free indices). It
    arrived, so ``σ_j ġ_j = −s + σ_j r < 0``; with ``s ≤ 0`` that means ``σ_j r < s ≤ 0``,
    and with the relay flipped (``ẋ_j = +σ_j``) ``σ_j ġ_j = s + σ_j r < 0`` still: both
    sides push ``g_j`` the same way, through 0 -- a crossing (a symmetric block is a
    P-matrix, the condition for a unique sliding selection, exactly when it is positive
    definite). A nonconvex objective, a neural network's loss, has such entries where its
    Hessian is indefinite. Convex objectives never come here: no cost for them.
    """
    S_old = block.S
    arrived = np.asarray(arrived, dtype=np.intp)
    n = x.size
    entry = block.entry_tangent  # (before `_select_sliding` takes it)
    # (whether S_old and arrived cover every index: by a mask, as `np.union1d(S_old,
    # arrived).size == n` says it, without union1d's sorts at every event)
    covered = np.zeros(n, dtype=bool)
    covered[S_old] = True
    covered[arrived] = True
    if S_old.size < n and bool(covered.all()):
        # Every partial vanishes at x: the flow rests there (the least velocity of
        # −Sign(0); `_select_sliding` says so once the block holds every index). Where
        # that block is singular -- a duplicated feature and no ridge, ∂₀f ≡ ∂₁f, a
        # valley of minimizers -- its factor fails, and the Schur-complement crossing
        # below took the arrival for a crossing: the run slid along the valley at unit
        # speed with ∇f = 0 (a velocity in −Sign(0), but not the rest, and not flagged).
        # The rest stands then too; whether other solutions leave is probed there
        # (`_sign_rest_unique`, as the block does not hold every index).
        try:
            return _select_sliding(obj, block, x, sigma, arrived, rec)
        except np.linalg.LinAlgError:
            with contextlib.suppress(np.linalg.LinAlgError):  # (only its S is read now)
                block.set(x, S_old)
        at_zero = sigma.copy()
        at_zero[arrived] = 0.0
        return at_zero, make_mode("l1", at_zero, np.arange(n)), True
    try:
        return _select_sliding(obj, block, x, sigma, arrived, rec)
    except np.linalg.LinAlgError:
        # A block singular to double precision (not positive definite to the factor)
        # with a consistent selection: followed with its least-norm one.
        J = np.concatenate([S_old, np.setdiff1d(arrived, S_old)]).astype(np.intp)
        if _arrivals_cross(block, x, entry, np.setdiff1d(arrived, S_old)):
            selected = _least_norm_select(block, x, sigma, J, rec)
            if selected is not None:
                return selected
        if previous is None:
            raise  # (no side the indices came from: the run ends −4)
        swapped = _enter_and_exit(obj, block, x, sigma, arrived, rec, S_old)
        if swapped is not None:
            return swapped
        repelled = _repelled(block, x, S_old, arrived, previous)
        if not repelled:
            raise
    sigma = sigma.copy()
    sigma[repelled] = -previous[repelled]
    rest = np.setdiff1d(arrived, repelled)
    block.tangent = block.entry_tangent = None  # (the old velocity is no guess now)
    out = _select_sliding(obj, block, x, sigma, rest, rec)
    rates = _guard_rates(block, x, out[0])[repelled] * out[0][repelled]
    if not np.all(rates > 0.0):
        # A flipped index is pushed back to its boundary by the new mode: the crossing's
        # argument (the old sliding set sliding on, one index at a time) does not hold
        # here -- two arriving together push each other back, or an index of the old
        # set leaves at the same time -- and the mode is not decided here.
        raise np.linalg.LinAlgError(
            f"indices {repelled} arrive with a sliding block that is not positive "
            "definite, and crossing does not take them off their boundaries"
        )
    return out


def _sign_rest_unique(system: FilippovSystem, x: FloatArray, sigma: FloatArray) -> bool:
    """Whether staying at the sign flow's rest ``x`` (every partial zero) is its only
    solution: the event path's test of an ℓ1-relay equilibrium (the selections on the zero
    set, each candidate departure probed a short step along it), for rests whose Hessian
    block was not factored (see `_select`)."""
    m = x.size

    def evaluate(z: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        f0, B, hz = system.kernel_evaluate(z)
        return f0, B, hz, system.kernel_jacobian(z, m)

    f0, B, _ = system.kernel_evaluate(x)
    v_scale = float(np.max(np.abs(f0), initial=0.0)) + float(np.max(np.abs(B)))
    return rest_is_unique(evaluate, x, np.arange(m), sigma, v_scale)


def _enter_and_exit(
    obj: Objective,
    block: _Block,
    x: FloatArray,
    sigma: FloatArray,
    arrived: np.ndarray,
    rec: Recorder,
    S_old: np.ndarray,
) -> tuple[FloatArray, Any, bool] | None:
    """The mode where the arrived indices slide and one old sliding index ``i`` leaves at
    the same instant, when exactly one choice of ``i`` and of its side ``σ_i`` gives a
    positive definite block whose selection keeps the others sliding and moves ``i`` off
    its boundary (``σ_i ġ_i > 0``); else ``None``, the block set back to ``S_old``.

    An entry can make an old sliding index leave: the block with both is then what is
    not positive definite (on networks; the event path finds the same pair). Tried for
    up to `_SWAP_SEARCH` old indices (two selections each); several consistent choices
    are a non-unique continuation, not decided here."""
    if not 0 < S_old.size <= _SWAP_SEARCH:
        return None
    found = []
    for pos, i in enumerate(S_old.tolist()):
        for side in (-1.0, 1.0):
            trial = sigma.copy()
            trial[i] = side
            kept = np.delete(S_old, pos)
            try:
                block.set(x, kept)
                out = _select_sliding(obj, block, x, trial, arrived, rec)
            except np.linalg.LinAlgError:
                continue
            if np.any(out[0][kept] != 0.0) or out[0][i] != side:
                continue
            if _guard_rates(block, x, out[0])[i] * side > 0.0:
                found.append((pos, side))
    block.set(x, S_old)
    if len(found) != 1:
        return None
    pos, side = found[0]
    trial = sigma.copy()
    trial[S_old[pos]] = side
    block.set(x, np.delete(S_old, pos))
    return _select_sliding(obj, block, x, trial, arrived, rec)


def _guard_rates(block: _Block, x: FloatArray, sigma: FloatArray) -> FloatArray:
    """``H ẋ`` at ``x`` for the mode with signs ``sigma`` on the block's sliding set
    (``ẋ_S = H_SS⁻¹ H_SF σ_F``, ``ẋ_F = −σ_F``): the rates of the gradient's components."""
    S = block.S
    xdot = -sigma.copy()
    if S.size:
        xdot[S] = block.solve(x, block.hvp_full(x, sigma)[S], rtol=1e-12)
    return block.hvp_full(x, xdot)


def _repelled(
    block: _Block, x: FloatArray, S_old: np.ndarray, arrived: np.ndarray, previous: FloatArray
) -> list[int]:
    """The arrived indices whose Schur complement in the block of ``S_old`` at ``x`` is
    not positive (see `_select`); the block is set back to ``S_old``, factored at ``x``
    (a ``LinAlgError`` if that block is not positive definite either)."""
    block.set(x, S_old)
    out = []
    for j in np.setdiff1d(arrived, S_old).tolist():
        if previous[j] == 0.0:
            continue
        h_row = block.rows(x, np.array([j], dtype=np.intp))[0]
        c = h_row[S_old]
        y = block.solve(x, c, rtol=1e-12) if S_old.size else np.zeros(0)
        if float(h_row[j]) - float(c @ y) <= 1e-8 * abs(float(h_row[j])):
            out.append(int(j))
    return out


def _select_sliding(
    obj: Objective,
    block: _Block,
    x: FloatArray,
    sigma: FloatArray,
    arrived: Any,
    rec: Recorder,
) -> tuple[FloatArray, Any, bool]:
    """The mode after indices ``arrived`` reached ``∂_i f = 0`` (their ``sigma`` is 0).

    The block holds the previous sliding set; the candidate zero set is it plus
    ``arrived``. The interior solution ``λ_J = −H_JJ⁻¹ H_JF σ_F`` is tried first (one CG
    solve); when it leaves the box, the box variational inequality is solved on the dense
    block. Returns the new signs (0 on the sliding set), the mode, and whether it is the
    rest point (every index sliding).
    """
    n = x.size
    arrived = np.asarray(arrived, dtype=np.intp)
    for j in arrived.tolist():
        if j not in set(block.S.tolist()):
            block.add(x, j)
    J = block.S
    rec.n_selection_solves += 1
    if J.size == n:
        # Every component of the gradient vanishes: the velocity is 0 (λ = 0 solves the VI).
        return sigma, make_mode("l1", sigma, J), True
    if block.least_norm is not None:
        # (a block followed with least-norm solves since an exit: selected again)
        selected = _least_norm_select(block, x, sigma, J, rec)
        if selected is None:
            block.leave_least_norm()
            raise np.linalg.LinAlgError(
                "the sliding block is singular to double precision, and its selection is "
                "not a consistent one inside the box"
            )
        return selected
    if block.lm is not None and J.size * n > _DIRECT_SIZE:
        u, gdot, b, Bxdot = _interior_columns(block, x, sigma, arrived)
        if _max_abs(u) < 1.0 - 1e-12:
            block.tangent = (u, gdot, _norm(b), Bxdot)
            return sigma, make_mode("l1", sigma, J), False
        return _box_selection(block, x, sigma, b)
    Hsigma = block.hvp_full(x, sigma)
    b = Hsigma[J]  # H_JF σ_F
    guess = guess_product = None
    old = block.entry_tangent
    block.entry_tangent = None
    if old is not None and J.size == old[0].size + arrived.size:
        S_old, u_old, gdot_old, sigma_old = old
        if np.array_equal(J[: S_old.size], S_old) and np.array_equal(J[S_old.size :], arrived):
            # After an entry, from the old velocity [u_old; −σ_old,arrived]: its product is
            # H [u_old; 0] − σ_old,arrived H e_arrived = ẋ-rate of the old mode + H σ (no
            # product), and its residual is the old guards' rates on J (0 on the old S).
            guess = np.concatenate([u_old, -sigma_old[arrived]])
            # (no product when the old tangent was interpolated: CG takes the guess's)
            guess_product = None if gdot_old is None else gdot_old + Hsigma
    u = _selection_solve(block, x, b, guess, guess_product)
    lam = -u
    if J.size == 0 or _max_abs(lam) < 1.0 - 1e-12:
        # The new mode's first point: its tangent u and gradient rate H ẋ = H [u; 0] − H σ
        # (the first from CG's own sums, or one product after a direct solve).
        Hu = block.last_product if J.size else np.zeros(n)
        if Hu is None:
            v = np.zeros(n)
            v[J] = u
            Hu = block.hvp_full(x, v)
        block.tangent = (u, Hu - Hsigma, _norm(b), None)
        return sigma, make_mode("l1", sigma, J), False
    return _box_selection(block, x, sigma, b)


def _arrivals_cross(
    block: _Block, x: FloatArray, entry: _EntryTangent | None, arrived: np.ndarray
) -> bool:
    """Whether the indices ``arrived`` (new to the sliding set) reached their boundaries
    at a rate above rounding along the old mode (velocity ``entry``: `_Block.entry_tangent`
    at the event; ``True`` without one), before a least-norm selection takes them in.

    Why: on a matrix factorization a free index can lie in the valley that makes the
    block singular, its partial zero to rounding all along the mode (the event path's
    stays at 1e-16); the continuation's guard of it carries the corrector's tolerance
    (1e-11), and a crossing of that was read as an entry, which the least-norm selection
    then took as a sliding index: a solution of the inclusion, but another one than the
    event path's, 1e-2 away at the rest. Such an arrival is left to the failure it was
    (−4; ``"auto"`` runs the event path)."""
    if entry is None or not arrived.size:
        return True
    S_old, u_old, gdot_old, sigma_old = entry
    if u_old.size != S_old.size:
        return True
    v = -np.asarray(sigma_old, dtype=np.float64).copy()
    v[S_old] = u_old
    rates = block.hvp_full(x, v) if gdot_old is None else gdot_old
    rows = np.asarray(block.rows(x, arrived), dtype=np.float64)
    size = np.abs(rows) @ np.abs(v)
    return bool(np.all(np.abs(rates[arrived]) > 1e-8 * size))


def _semidefinite(M: FloatArray) -> bool:
    """Whether the symmetric ``M`` is positive semidefinite to double precision: no
    eigenvalue below ``−1/MAX_CONDITION`` of the largest after symmetric equilibration
    (a null space at rounding, not a block that is indefinite)."""
    diagonal = np.diag(M)
    d = np.ones(M.shape[0])
    if bool(np.all(diagonal > 0.0)):
        d = 1.0 / np.sqrt(diagonal)
    try:
        w = np.linalg.eigvalsh(M * d[:, None] * d[None, :])
    except np.linalg.LinAlgError:
        return False
    return bool(w[-1] > 0.0 and w[0] >= -w[-1] / MAX_CONDITION)


def _least_norm_select(
    block: _Block, x: FloatArray, sigma: FloatArray, J: np.ndarray, rec: Recorder
) -> tuple[FloatArray, Any, bool] | None:
    """The mode sliding on ``J`` (``sigma`` 0 there) with the least-norm selection
    ``u = H_JJ⁺ H_JF σ_F``, when ``H_JJ`` is singular to double precision, positive
    semidefinite, the selection consistent (`consistent_null_basis`, on the terms of
    ``H_JF σ_F``) and inside the box (``|u| < 1``): the block is then followed with
    least-norm solves (`_Block.enter_least_norm`), and `_steps` flags the mode's entry.
    Else ``None``, the block untouched.

    As the event path does (`filippov._mode_field._least_norm_sliding`, DESIGN.md §1.2):
    once every free coordinate of a rank-3 matrix factorization lies in one column of the
    factors, the rotations of the other columns move sliding coordinates only and leave
    f unchanged, and ``H_JJ`` is singular along them; the run stopped −4 there ("leading
    minor not positive definite", or a pivot at rounding: `_undetermined_selection`), and
    ``"auto"`` ran the whole flow again on the event path, ten times slower."""
    n = x.size
    J = np.asarray(J, dtype=np.intp)
    if not 2 <= J.size < n:
        return None
    M = block.square(x, J)
    M = np.asarray(0.5 * (M + M.T), dtype=np.float64)
    Hsigma = block.hvp_full(x, sigma)
    b = Hsigma[J]  # H_JF σ_F (σ_J = 0)
    rows = np.asarray(block.rows(x, J), dtype=np.float64)
    a_size = np.abs(rows) @ np.abs(sigma)
    if not (np.all(np.isfinite(M)) and np.all(np.isfinite(b)) and np.all(np.isfinite(a_size))):
        return None
    basis = consistent_null_basis(M, b, a_size)
    if basis is None or not _semidefinite(M):
        return None
    # (a null vector of H_JJ on the curve is one off it by about |∇_J f| / |x|: the
    # selection's own distance and the run's tolerance, rtol ≈ 1e-3 of the tangents')
    g = block.grad(x)
    tolerance = 64.0 * 1e-3 * block.tangent_rtol * float(np.max(np.abs(M)))
    slack = 64.0 * range_drift(g[J], basis, x) + tolerance
    u, null = least_norm_selection(M, b, basis, slack)
    if null is None or not _max_abs(u) < 1.0 - 1e-12:
        return None
    # (singular a short way along the motion too: a block singular only where the mode
    # starts is regular along it, its unique selection not the least-norm one; see
    # `filippov._mode_field._stays_singular`, the event path's test)
    velocity = -sigma.copy()
    velocity[J] = u
    x_p = x + (1e-3 * max(_max_abs(x), 1.0) / max(_max_abs(velocity), 1e-300)) * velocity
    M_p = block.square(x_p, J)
    M_p = np.asarray(0.5 * (M_p + M_p.T), dtype=np.float64)
    b_p = block.hvp_full(x_p, sigma)[J]
    drift_p = 64.0 * range_drift(block.grad(x_p)[J], null, x_p) + tolerance
    if least_norm_selection(M_p, b_p, null, drift_p)[1] is None:
        return None
    snap = block.snapshot()
    block.S = J.copy()
    block.least_norm_slack = slack
    try:
        block.enter_least_norm(x, M, null)
        u = block.solve(x, b)  # (the factor's own: as the mode's solves)
    except np.linalg.LinAlgError:
        u = np.full(J.size, np.nan)
    if not _max_abs(u) < 1.0 - 1e-12:
        block.least_norm = None
        block.S = snap[0]
        block.restore(snap)
        return None
    rec.n_selection_solves += 1
    v = np.zeros(n)
    v[J] = u
    Hu = block.hvp_full(x, v)
    block.tangent = (u, Hu - Hsigma, _norm(b), None)
    block.entry_tangent = None
    block.least_norm_condition = _equilibrated_condition(M)
    return sigma, make_mode("l1", sigma, J), False


def _equilibrated_condition(M: FloatArray) -> float:
    """The condition number of the symmetric ``M`` after symmetric equilibration (``inf``
    where singular), for the run's report (`flag_least_norm_sliding`)."""
    diagonal = np.diag(M)
    d = 1.0 / np.sqrt(diagonal) if bool(np.all(diagonal > 0.0)) else np.ones(M.shape[0])
    sv = np.linalg.svd(M * d[:, None] * d[None, :], compute_uv=False)
    return float(sv[0] / sv[-1]) if sv[-1] > 0.0 else float("inf")


def _selection_solve(
    block: _Block,
    x: FloatArray,
    b: FloatArray,
    guess: FloatArray | None,
    guess_product: FloatArray | None,
) -> FloatArray:
    """The interior selection's solve ``H_JJ u = b``: to the tangents' tolerance (it is
    the next mode's first tangent: `tangent_rtol`), then on to 1e-10 when some ``|u_i|`` is within 1e-6 of 1
    (the test ``|λ| < 1`` is decided to that, and an index with ``|λ_i|`` within it of 1
    exits at once in the next mode). The last CG's sums are the solution's (`_pending`,
    `last_product`)."""
    u = block.solve(x, b, guess=guess, rtol=block.tangent_rtol, guess_product=guess_product)
    if u.size and _max_abs(u) >= 1.0 - 1e-6:
        u = block.solve(x, b, guess=u, rtol=min(1e-10, block.tangent_rtol))
    return u


def _box_selection(
    block: _Block, x: FloatArray, sigma: FloatArray, b: FloatArray
) -> tuple[FloatArray, Any, bool]:
    """The selection on ``J = block.S`` by the box variational inequality on the dense
    block (``b = H_JF σ_F``), when the interior solution leaves the box."""
    n = x.size
    J = block.S
    M = block.square(x, J)  # (not the rows of J: on a linear model they take all of B)
    M = 0.5 * (M + M.T)
    # (a block that is not positive definite: see `_select`; the box VI of an indefinite
    # block has no unique solution)
    np.linalg.cholesky(M)
    sel = solve_box_vi(M, -b)
    lam = np.asarray(sel.lam)
    inside = np.abs(lam) < 1.0
    new_sigma = sigma.copy()
    new_sigma[J[~inside]] = np.sign(lam[~inside])
    block.set(x, J[inside])
    S = block.S
    return new_sigma, make_mode("l1", new_sigma, S), S.size == n


def _interior_columns(
    block: _Block, x: FloatArray, sigma: FloatArray, arrived: np.ndarray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The interior selection ``u = H_JJ⁻¹ H_JF σ_F`` on a linear model's columns, with
    its gradient rate ``H ẋ`` (``ẋ = [u; −σ_F]``), ``b = H_JF σ_F`` and ``B ẋ``.

    ``b = B_Jᵀ(w ∘ Bσ)`` on the columns (``Bσ`` from the last one by the changed signs);
    after an entry CG starts from the old velocity, whose product on ``J`` is the old
    gradient rate plus ``b`` and whose sample-space product is ``B ẋ_old + Bσ``; then
    ``H ẋ = Bᵀ(w ∘ (B_J u − Bσ)) + λẋ`` is one pass over all rows (the generic selection
    takes ``H σ`` and ``H [u; 0]`` over all rows: two).
    """
    lm = block.lm
    assert lm is not None
    J = block.S
    n = x.size
    w = lm.weights(x)
    Bs = lm.times(sigma)
    BJ = lm.columns(J)
    w_Bs = w * Bs
    block.rec.njev += 1
    b = _finite(BJ.T @ w_Bs, "hvp(x, v)")  # σ_J = 0
    guess = guess_product = B_guess = None
    old = block.entry_tangent
    block.entry_tangent = None
    kept = block.kept_Bxdot
    if old is not None and J.size == old[0].size + arrived.size:
        S_old, u_old, gdot_old, sigma_old = old
        if np.array_equal(J[: S_old.size], S_old) and np.array_equal(J[S_old.size :], arrived):
            guess = np.concatenate([u_old, -sigma_old[arrived]])
            guess_product = np.full(n, np.nan)  # (only its rows on J are read)
            if gdot_old is not None and kept is not None and kept[0] == x.tobytes():
                guess_product[J] = gdot_old[J] + b
                B_guess = kept[1] + Bs  # B_J [u_old; −σ_old,arrived] = B ẋ_old + Bσ
            else:
                guess = _bordered_guess(block, x, guess, arrived, BJ, w_Bs)
                block.rec.njev += 1  # (the guess's product, on the columns of J)
                B_guess = BJ @ guess
                # (a product of its own, not one with b's in two columns: BLAS's matrix
                # product packs the columns first and reads them more than twice, measured)
                guess_product[J] = _finite(BJ.T @ (w * B_guess), "hvp(x, v)") + lm.lam * guess
    u = _selection_solve(block, x, b, guess, guess_product)
    pending = block._pending
    block.last_product = None
    assert pending is not None  # (CG ran: the block is above the direct size)
    w_cg, base, _, _, Bdy = pending
    if base is None:
        BJu = Bdy
    else:
        assert B_guess is not None
        BJu = B_guess + Bdy
    xdot = -sigma.copy()
    xdot[J] = u
    block.rec.njev += 1
    Bxdot = BJu - Bs
    # (the free indices' rates alone, as at the steps' points: see `_Mode._point_columns`)
    gdot = lm.back_free(w_cg * Bxdot, J, xdot)
    return u, _finite(gdot, "hvp(x, v)"), b, Bxdot


def _bordered_guess(
    block: _Block,
    x: FloatArray,
    guess: FloatArray,
    arrived: np.ndarray,
    BJ: FloatArray,
    w_Bs: FloatArray,
) -> FloatArray:
    """The selection's first guess after the entry of one index ``j``, corrected along
    ``j``: the old velocity ``y₀ = [u_old; −σ_j]`` leaves a residual ``r = b − H_JJ y₀``
    that is the old tangent's on ``S`` (to its tolerance) and ``r_j = b_j − H_jS u_old +
    σ_j H_jj`` at ``j``, so ``y₀ + r_j M e_j`` with the block's preconditioner ``M``
    (just bordered by ``j``) is the first preconditioned step without its product; CG goes
    on from there. ``H_Sj`` and ``H_jj`` are the ones `_Block.add` took at ``x``."""
    row = block.new_row
    if arrived.size != 1 or row is None or row[0] != x.tobytes() or row[1] != arrived[0]:
        return guess
    if block.size != guess.size:  # (the preconditioner does not cover the new block)
        return guess
    _, _, c, h_jj = row
    # (column j is the block's last: b_j = b_jᵀ(w ∘ Bσ))
    assert block.lm is not None
    column_j = block.lm.stored_column(int(arrived[0]))
    r_j = float(column_j @ w_Bs) - float(c @ guess[:-1]) - h_jj * float(guess[-1])
    e_j = np.zeros(guess.size)
    e_j[-1] = 1.0
    return np.asarray(guess + r_j * block.precondition(e_j))


def first_step(x: FloatArray) -> float:
    """The first continuation step of a run from ``x`` (and of a mode after one with no
    sliding index): a hundredth of the state's size, at least of 1; the step control
    takes it from there."""
    return 1e-2 * max(1.0, float(np.abs(x).max()))


class _TryBudget:
    """The tries of a step one mode may take. From `_MAX_TRIES` tries on, each window of
    half that many is judged by its progress in the mode's time τ, and the mode is given
    up (`spent` says why) when the window

    * had most of its tries rejected: the step control fights something other than the
      curve's smoothness (a wrong Hessian, a kink of f);
    * advanced τ by at most `_CRAWL_SHARE` of the mode's progress so far: a crawl toward
      a finite-time singularity, the steps shrinking without end as the curve nears it;

    or when the mode has taken `_CEILING` times `_MAX_TRIES` tries, whatever its progress
    (a bound on the time one mode takes).

    A cap on all tries, as before, also cut long, steady modes: from a start at 1e3 scale
    at rtol = 1e-13 one mode of a ridge logistic regression ran from t = 534 to t = 803.5
    in 2000 tries, steps of about 0.067 at the end, and was ended -1 there (it reached its
    event at 3289 tries). Without the cap, the sign flow crawled into the pole of log(x)
    + y² (x reaching 0 at t = 1): its steps fell faster than the distance left, 0.99999 of
    the mode in the first 1000 tries, 8e-6 in the next 1000 (with 99 rejections), 6003 of
    8648 tries accepted up to the pole, and 100 000 events followed at t = 1 + 1e-10, in
    7 minutes, ending -2 where the event path (which ``"auto"`` runs when this path gives
    up) reports the pole. Judged by its share, that crawl is given up at 2000 tries as
    before (8e-6), and as a crawl's share only falls, one that starts after a steady
    stretch is caught within a few windows too. A steady mode's share is about the
    window's share of its tries (1/2 at the first judgement, 1/20 at the ceiling). On
    linear models at rtol = 1e-13 (44 runs of the sign flow, 17 far starts of the greedy
    flow; 14 had modes past 2000 tries, all of which now reach the minimizer) the least
    share judged was 1.4e-2: a mode that covered 491 in its first 1000 tries, in the
    logistic's saturated region, then 6.8 in the next 1000, near the minimizer.

    The windows scale with `_MAX_TRIES` (read when the budget is made).
    """

    __slots__ = ("_ceiling", "_first", "_mark", "_tries", "_window")

    def __init__(self) -> None:
        self._first = max(2, _MAX_TRIES)
        self._window = self._first // 2
        self._ceiling = _CEILING * self._first
        self._tries = 0
        # (the accepted steps and τ at the start of the current window)
        self._mark = (0, 0.0)

    def spent(self, accepted: int, tau: float) -> tuple[str, str] | None:
        """Count one more try, after ``accepted`` accepted steps reaching ``tau`` (the
        mode's time since its start): ``None`` if it may be taken, else the counts and
        why not, for the message."""
        done = self._tries
        self._tries = done + 1
        if done == 0 or done % self._window:
            return None
        acc0, tau0 = self._mark
        self._mark = (accepted, tau)
        if done < self._first:
            return None
        rejected = self._window - (accepted - acc0)
        counts = f"{done} continuation steps ({done - accepted} of them rejected)"
        if done >= self._ceiling:
            return counts, "the most one mode may take"
        if 2 * rejected > self._window:
            return counts, (
                f"{rejected} of the last {self._window} rejected: is the Hessian right? is f "
                "smooth here?"
            )
        progress = tau - tau0
        if progress <= _CRAWL_SHARE * tau:
            # (not only a singularity: a smooth mode at a tolerance near double
            # precision's, far from its start, also crawls; a stranger review saw shares
            # of 4e-4 to 6e-4 on ridge logistic regressions at rtol = 1e-13)
            return counts, (
                f"the last {self._window} advanced t by {progress:.3g}, "
                f"{progress / tau if tau > 0.0 else 0.0:.2g} of the mode's {tau:.6g}: the "
                "steps shrink without end (a pole of f or of its derivatives ahead, or a "
                "tolerance too tight for double precision here)"
            )
        return None


def shorter_step(
    h: float,
    tau_end: float,
    record: Callable[[], None],
    t: float,
    x: FloatArray,
    nonfinite: str = "",
    singular: str = "",
    why: str | Callable[[], str] = "",
) -> float:
    """The step of the next try after a failed one of length ``h`` (both paths' curves):
    a quarter of it, or, once that is at rounding, the failure, with the mode recorded up
    to the state ``x`` at time ``t`` where the solution then ends: −3 for non-finite
    values, ``LinAlgError`` for a singular block, else −1 (``why``: the corrector's own
    account, or a function giving it: asked only when the run fails)."""
    if h / 4 >= 1e-14 * max(1.0, tau_end):
        return h / 4
    record()
    where = f"t = {t:.12g}, x = {np.array2string(x, precision=12)}"
    if singular:
        raise np.linalg.LinAlgError(singular)
    if nonfinite:
        raise PathFailure(
            -3,
            f"non-finite values just past {where} ({nonfinite}); the solution "
            "is returned up to that point",
        )
    account = why() if callable(why) else why
    raise PathFailure(
        -1,
        f"the corrector did not converge at {where} with steps down to rounding{account}; "
        "the solution is returned up to that point",
    )


class NonFiniteRetry:
    """The step cap of the retries toward a region where the objective is not finite
    (both paths' curves; the event path's `retry_cap`, see `_integrate_mode`).

    A try of length ``h`` that met a non-finite value is taken again at a quarter of it
    (`shorter_step`); without a cap, the next accepted step grew fourfold again and the
    one after it jumped the region whole: a gradient NaN for 0.5 < x₁ < 0.6 met twice by
    a free mode's tries, crossed by its next steps, and the run ended "stationary point
    reached" (status 1) on a path through states where the flow is not defined. The cap
    (a quarter of the failed try) only shrinks while the tries end inside the failed
    one, so they close in on the region's edge, where `shorter_step` ends the run −3.
    Once an accepted point passes the failed try's end, what it met was off the curve
    (a long step's prediction or corrector iterates) or isolated: the cap grows fourfold
    per stretch of its length passed, then goes.
    """

    __slots__ = ("_cap", "_horizon", "_until")

    def __init__(self, horizon: float) -> None:
        self._horizon = horizon
        self._cap = self._until = math.inf

    def failed(self, tau: float, h: float) -> None:
        """A try from ``tau`` of length ``h`` met a non-finite value."""
        tried = min(h, self._cap)
        self._cap, self._until = tried / 4, tau + tried

    def cap(self, tau: float) -> float:
        """The longest step from the accepted point at ``tau`` (``inf``: no retry)."""
        if tau > self._until:
            self._cap = 4.0 * self._cap
            self._until = tau + self._cap
            if self._cap >= self._horizon:
                self._cap = self._until = math.inf
        return self._cap


def _run_mode(
    cm: _Mode,
    t: float,
    t_end: float,
    g: FloatArray,
    offset: FloatArray,
    h_step: float,
    mode: Any,
    rec: Recorder,
) -> tuple[float, FloatArray, FloatArray, float, Any, list[tuple[int, float]]]:
    """Follow one mode's curve from time ``t`` until an event or ``t_end``.

    Returns ``(t, x, g, next step, arrived indices or None at t_end, exits [(i, ẋ_i)])``.
    """
    S, F, sigma = cm.S, cm.F, cm.sigma
    x = cm.x0
    start = cm.block.tangent
    cm.block.tangent = None
    if start is not None and start[0].size == S.size:
        # (a linear model's selection takes the rates of the free indices alone)
        free_rates = start[3] is not None
        first = _Point(0.0, x.copy(), g, start[0], start[1], zdot=start[3], free_rates=free_rates)
        cm.b_norm = start[2] if S.size else cm.b_norm
    else:
        first = cm.point(0.0, x.copy(), g, None)
    if cm.lm is not None:
        first.z = cm.z0
    first = cm.accel(first)  # (the selection's tangent: its second derivative too)
    pts = [first]
    tau_end = t_end - t
    lam0 = sigma.copy()
    lam0[S] = -first.u

    recorded: list[_Point] = []

    def record(last: _Point) -> None:
        recorded.append(last)
        if t + last.tau <= t:  # (also a step below the ulp of t: no zero-length piece)
            return
        if S.size == 0:
            rec.linear_segment(t, t + last.tau, x, -sigma, mode, lam0)
            return
        ts = np.array([t + p.tau for p in pts])
        keep = distinct_times(ts)
        nodes = [pts[i] for i in keep]
        dense = CurveDense(
            rec.kept_state(t, x),
            t,
            sigma.astype(np.int8),  # (±1 and 0: an eighth of the bytes of floats)
            S.copy(),
            ts[keep],
            np.array([p.x[S] for p in nodes]),
            np.array([p.u for p in nodes]),
            np.array([p.a for p in nodes]) if all(p.a is not None for p in nodes) else None,
        )
        # one piece per continuation step (the Hermite interpolants are sampled exactly)
        t_stop = t + last.tau
        breaks = np.append(dense.ts[dense.ts < t_stop], t_stop)
        rec.dense_segment(t, t_stop, dense, last.x, mode, lam0, breaks)

    def keep_accepted() -> None:
        # A user function raised, or the block failed, inside the mode: the steps accepted
        # so far are a solution all the same, kept (the failure's message then names where
        # they end), unless the mode was recorded already.
        if not recorded and len(pts) > 1:
            record(pts[-1])

    cm.keep_accepted = keep_accepted
    sigma_F, offset_F = sigma[F], offset[F]
    offsets = bool((offset_F > 0.0).any())  # (whether any guard is offset: most modes none)

    def guards(p: _Point) -> tuple[FloatArray, FloatArray, FloatArray | None]:
        """The entry guards of ``F`` at ``p``, their rates and (on a quintic mode) their
        second derivatives."""
        second = None if p.gddot is None else sigma_F * p.gddot[F]
        return sigma_F * p.g[F] + offset_F, sigma_F * p.gdot[F], second

    # the guards at the last accepted point (taken once, not again at each try)
    cur_guards: tuple[_Point | None, FloatArray, FloatArray, FloatArray | None] = (
        None, offset_F, offset_F, None,
    )  # fmt: skip
    # (the midpoint measurements of the steps of another length than the last)
    short_steps = ShortStepErrors()
    # A smooth curve needs a few steps between events; thousands are judged by their
    # progress (see `_TryBudget`).
    budget = _TryBudget()
    retry = cm.retry = NonFiniteRetry(tau_end)

    def shorter(cur: _Point, h: float, nonfinite: str = "", singular: str = "") -> float:
        """The next try's step after one from ``cur`` failed (its corrector did not
        converge, or its state, tangent or products were not finite: a shorter step, or
        the run ends at the edge of the region where the objective is finite)."""
        if nonfinite:
            retry.failed(cur.tau, h)
        return shorter_step(
            h, tau_end, lambda: record(cur), t + cur.tau, cur.x, nonfinite, singular,
            lambda: f" ({cm.why_stuck(cur.x)})",
        )  # fmt: skip

    def _located(cur: _Point, locate: Callable[..., Any], *args: Any) -> Any:
        """An event located inside the step from ``cur``; if that fails, the mode is kept
        up to ``cur`` and the failure names where the solution ends (it dropped the whole
        mode, and named only the time of the failed iterate)."""
        try:
            return locate(*args)
        except PathFailure as failure:
            record(cur)
            where = f"t = {t + cur.tau:.12g}, x = {np.array2string(cur.x, precision=12)}"
            raise PathFailure(
                failure.status, f"{failure.message}; the solution is returned up to {where}"
            ) from failure
        except FloatingPointError as exc:  # NonFiniteError of a gradient or product
            # A point of the curve inside the accepted step, between its finite ends, is
            # not finite: status −3 with the step that met it named (the driver's generic
            # −3 named only the step's start, as if the value had been met there). The
            # solution ends at the step's start: no shorter try approaches the region
            # from here (see the README's limits on non-finite values).
            record(cur)
            where = f"t = {t + cur.tau:.12g}, x = {np.array2string(cur.x, precision=12)}"
            step_end = args[2].tau  # (each `locate` takes (cm, cur, new, ...))
            raise PathFailure(
                -3,
                f"non-finite value while locating an event in the step from t = "
                f"{t + cur.tau:.12g} to t = {t + step_end:.12g} ({exc}); the solution is "
                f"returned up to {where}",
            ) from exc

    quintic_floor = ShortStepErrors()
    tried_from: _Point | None = None
    factor_at_cur: tuple[Any, ...] = ()
    while True:
        cur = pts[-1]
        if tried_from is cur:
            # A rejected try from here may have refreshed the block's factor at a point
            # far off the curve (a long step's iterates, where H_SS can differ by orders
            # of magnitude), and the next try's chord steps would correct with it: a
            # correction within the tolerance then no longer bounds the distance to the
            # curve. Seen on a softplus sum: H_SS = 125 on the curve, 1.5e-3 in the
            # factor, and the state drifted off the curve until no step converged
            # (status -1). The factor the last accepted point had is taken back.
            cm.block.restore(factor_at_cur)
        else:
            tried_from, factor_at_cur = cur, cm.block.snapshot()
        spent = budget.spent(len(pts) - 1, cur.tau)
        if spent is not None:
            record(cur)
            raise PathFailure(
                -1,
                f"{spent[0]} in one mode by t = {t + cur.tau:.12g}, x = "
                f"{np.array2string(cur.x, precision=12)} ({spent[1]}); the solution is "
                "returned up to there",
            )
        if tau_end - cur.tau <= 16 * _EPS * max(1.0, abs(t + cur.tau)):
            record(cur)
            return t + cur.tau, cur.x, cur.g, h_step, None, []
        if h_step <= 4 * _EPS * max(1.0, abs(t + cur.tau)):
            record(cur)
            raise PathFailure(
                -1,
                f"the step size fell to rounding at t = {t + cur.tau:.12g}, x = "
                f"{np.array2string(cur.x, precision=12)} ({cm.why_stuck(cur.x)}); the solution "
                "is returned up to that point",
            )
        h = min(h_step, tau_end - cur.tau, retry.cap(cur.tau))
        prev = pts[-2] if len(pts) > 1 else None
        tau = cur.tau + h
        if tau_end - tau < 1e-3 * h:
            tau, h = tau_end, tau_end - cur.tau
        z_pred = None
        xs_start = None
        err_null = 0.0
        least_norm = cm.block.least_norm
        null_basis = least_norm[2] if least_norm is not None and S.size else None
        if prev is not None:
            hp = cur.tau - prev.tau
            s = 1.0 + h / hp
            xs_pred = _states_at(prev, cur, S, hp, s)
            if null_basis is not None:
                # A block followed with least-norm solves: the corrector moves the state
                # along the block's range only, and the curve's points are not determined
                # along its null space (a valley, a symmetry): there they are integrated,
                # from the last point alone (the cubic extrapolation from two points
                # amplifies their errors fivefold a step), with the second-order
                # Adams–Bashforth step. Its distance to the extrapolation, along the null
                # space, bounds its local error there.
                step_ab2 = h * cur.u + (0.5 * h * h / hp) * (cur.u - prev.u)
                along = null_basis.T @ (xs_pred - cur.x[S] - step_ab2)
                xs_start = xs_pred - null_basis @ along
                err_null = _max_abs(null_basis @ along)
            else:
                # (not on a quintic mode: its predictor is so close that the first
                # correction, taken at the extrapolated z, is accepted, and z's error then
                # stays in the state: nodes 2.7 tolerances off the curve on a far start at
                # rtol 1e-13)
                z_pred = None if cm.quintic else _z_between(cm, prev, cur, hp, s)
        else:
            xs_pred = cur.x[S] + h * cur.u
            if cur.a is not None:
                xs_pred = xs_pred + (0.5 * h * h) * cur.a
            if _has_z(cur, cur) and not cm.quintic:  # (as above)
                z_pred = cm.point_z(cur) + h * cur.zdot
        nonfinite = singular = ""
        try:
            # (a guess only: extrapolated z's taken as exact would carry their rounding on
            # to the next step's, growing by the extrapolation's factor every step)
            corrected = cm.correct(tau, xs_pred if xs_start is None else xs_start, z_guess=z_pred)
        except FloatingPointError as exc:  # NonFiniteError of a gradient or product
            corrected, nonfinite = None, str(exc)
        except np.linalg.LinAlgError as exc:
            # H_SS is not positive definite at the prediction: a long step (the first of
            # a mode takes the last mode's size) can leave the region where the curve's
            # block is, so a shorter one is tried before the block is called singular.
            corrected, singular = None, str(exc)
        if corrected is None:
            h_step = shorter(cur, h, nonfinite, singular)
            continue
        xn, gn = corrected
        # The local error of the cubic Hermite dense output on this step. With a previous
        # step, the corrector's distance to the cubic extrapolation (error term
        # s²(s−1)² h⁴ x''''/24 at s = 1 + h/hp) rescaled to the interpolant's midpoint
        # error (1/16 of that at s = 2 for equal steps): order 4. On a mode's first step,
        # the defect of the tangent against the quadratic through x0, u0, x1 (h² x'''/6):
        # an order-3 estimate, conservative by about h x''''/x'''.
        g_scale = cm.g_scale
        new: _Point | None = None
        in_units = False  # (whether err_x is in units of the tolerance already)
        if prev is not None:
            # (Without the new tangent: a rejected step costs no tangent solve.)
            if prev.a is not None and cur.a is not None:
                # The quintic's: error term s³(s−1)³ hp⁶ x⁽⁶⁾/720 at s = 1 + h/hp, and
                # h⁶ x⁽⁶⁾/(64·720) at the midpoint of the new step: order 6.
                shrink = 64.0 * (s * (s - 1.0)) ** 3 * (hp / h) ** 6
                order = 6
            else:
                shrink = 16.0 * (s * (s - 1.0)) ** 2 * (hp / h) ** 4
                order = 4
            g_pred = _gradients_at(prev, cur, hp, s)
            err_x = _max_abs(xn[S] - xs_pred) / shrink if S.size else 0.0
            err_g = _max_abs(gn - g_pred) / shrink
            if xs_start is not None:
                err_x = max(err_x, err_null)
        else:
            # (the CG's first guess: the slope of the quadratic through x0, u0 and x1)
            try:
                new = cm.point(tau, xn, gn, 2.0 * (xn[S] - cur.x[S]) / h - cur.u, a_guess=cur.a)
            except FloatingPointError as exc:
                # (a product at the trial point: shorter, as a corrector's, not the end)
                h_step = shorter(cur, h, str(exc))
                continue
            new.z, new.z_step = cm.last_z, cm.last_step
        if prev is None and cm.quintic:
            # A quintic mode's first step: no second step to compare with, and the
            # tangent defect's estimate is of order 3 (hundreds of times the quintic's
            # error): measured where it is largest, at the step's midpoint (one
            # correction).
            assert new is not None
            measured = _midpoint_error(cm, cur, new, h)
            if measured is None:
                h_step = shorter(cur, h)
                continue
            (err_x, err_g), order, in_units = measured, 6, True
        elif prev is None:
            assert new is not None
            dx = new.u - (2.0 * (xn[S] - cur.x[S]) / h - cur.u) if S.size else np.zeros(1)
            dg = new.gdot - (2.0 * (gn - cur.g) / h - cur.gdot)
            err_x = h * _max_abs(dx) / 8.0
            err_g = h * _max_abs(dg) / 8.0
            order = 3
        if not in_units:
            err_x /= cm.tol(xn)
        if prev is None and not in_units and max(err_x, err_g / cm.g_tol.tol) > 1.0:
            # The order-3 estimate overstates the cubic's O(h⁴) error by about
            # 8 x'''/(h x'''') (hundreds on the logistic benchmarks): before rejecting,
            # measure the error where it is largest, at the step's midpoint (one
            # correction, about one gradient, instead of a second step).
            assert new is not None  # (the first step's tangent is solved for above)
            measured = _midpoint_error(cm, cur, new, h)
            if measured is not None:
                (err_x, err_g), order = measured, 4
        elif (
            prev is not None
            and S.size
            and not _SHORT_STEP * hp <= h <= _LONG_STEP * hp
            and max(err_x, err_g / cm.g_tol.tol) <= 1.0
        ):
            # A step of another length than the last one: the extrapolation's defect,
            # rescaled by (hp/h)⁴, assumes x'''' as even over the last step as over this
            # one, which a change of length (the curve bends, or straightens) puts in
            # doubt. Measured instead at the midpoint (one correction, and this step's
            # tangent, which a step not ending the mode solves anyway). On a softplus sum,
            # a step of 0.458 after one of 3.88 was estimated at 0.71 tolerances and was
            # 800 off at rtol 1e-10; a step of 3.88 after one of 0.97, where the curve
            # starts to bend after a straight stretch, was 50 off at rtol 1e-12 (both
            # status 0). Where the curve itself is determined only above the tolerance (a
            # nearly singular block), the measurement stays at that floor however short the
            # step: then the estimate stands (`at_error_floor`).
            u_guess = _slopes_at(prev, cur, S, hp, s) if S.size else cur.u
            try:
                new = cm.point(tau, xn, gn, u_guess, a_guess=_curvatures_at(prev, cur, S, hp, s))
            except FloatingPointError as exc:
                h_step = shorter(cur, h, str(exc))
                continue
            new.z, new.z_step = cm.last_z, cm.last_step
            taken = short_steps.taken(cur, h, _midpoint_error(cm, cur, new, h))
            if taken is not None:
                # (the larger of the two: each can miss what the other sees)
                err_x, err_g = max(err_x, taken[0]), max(err_g, taken[1])
        # The gradient's interpolant only has to show sign changes: a looser tolerance,
        # not below the gradient's rounding (see `GradientTolerance`).
        err = cm.g_tol.error(err_x, err_g, h, t + cur.tau)
        if err > 1.0:
            if err_x > 1.0 and cur is pts[0] and S.size and cm.stuck(h, err_x * cm.tol(xn), t):
                # The first step's state error does not fall with the step: the mode's
                # start may be off its curve (see `_Mode.off_curve`); the step is taken
                # again from the corrected start.
                moved = cm.off_curve(cur)
                if moved is not None:
                    pts[0] = moved
                    continue
            h_step = h * max(0.2, 0.9 * err ** (-1.0 / order))
            continue
        h_accept = h * min(4.0, 0.9 * err ** (-1.0 / order))
        if new is None:
            assert prev is not None  # (only the first step computes its tangent above)
            if not cm.quintic and h <= 2.0 * hp and (sigma_F * gn[F] + offset_F < 0.0).any():
                # An entry inside this step is certain (a guard is negative at its end),
                # and the mode ends there: the end's tangent is only interpolation data
                # for this step. The quartic through the last two points and the new
                # state gives it to O(h⁴) without a tangent solve (see `_quartic_slope`).
                u_end = _quartic_slope(prev, cur, tau, xn, S)
                if not S.size or _max_abs(u_end) < 1.0 - _EXIT_MARGIN:
                    try:
                        gdot, Bxdot = cm.rate(xn, u_end)
                    except FloatingPointError as exc:
                        h_step = shorter(cur, h, str(exc))
                        continue
                    new = _Point(tau, xn, gn, u_end, gdot, cm.last_z, Bxdot, cm.last_step)
        if new is None:
            # The first guess of the tangent's CG: the slope of the quartic through the
            # last two points and the new state (error O(h⁴)) for steps that do not grow
            # much, else of the cubic extrapolation (O(h³)).
            assert prev is not None
            a_guess = None
            if not S.size:
                u_guess = cur.u
            elif cm.quintic:
                # (the quintic extrapolation's slope and second derivative: O(h⁵), O(h⁴))
                u_guess = _slopes_at(prev, cur, S, hp, s)
                a_guess = _curvatures_at(prev, cur, S, hp, s)
            elif h <= 2.0 * hp:
                u_guess = _quartic_slope(prev, cur, tau, xn, S)
            else:
                u_guess = _hermite_slope(prev.x[S], prev.u, cur.x[S], cur.u, hp, s)
            try:
                new = cm.point(tau, xn, gn, u_guess, a_guess=a_guess)
            except FloatingPointError as exc:
                # The tangent's products at the trial point (the Hessian may be the
                # first thing to overflow there): a shorter step, as for the corrector's.
                # It ended the run with no state (the driver's generic failure) 4.6 away
                # from where the trajectory first met non-finite values.
                h_step = shorter(cur, h, str(exc))
                continue
            new.z, new.z_step = cm.last_z, cm.last_step
            if S.size:
                # (a quintic step's: the degree-8 interpolant's through the three points,
                # whose second derivatives see a bend that starts at the step's end, as
                # the extrapolation does not: on far starts of logistic regressions the
                # quintic dense output was up to 8770 tolerances off between its nodes)
                defect = (
                    _octic_defect(prev, cur, new, S, hp, h)
                    if new.a is not None and prev.a is not None and cur.a is not None
                    else _quintic_defect(prev, cur, new, S, hp, h)
                )
                err_q = _max_abs(defect) / cm.tol(xn)
                # (not where it stays at a floor as the step shrinks: a nearly singular
                # block's curve is determined only above the tolerance, as for the
                # midpoint measurements)
                if err_q > 1.0 and quintic_floor.taken(cur, h, (err_q, 0.0)) is not None:
                    h_step = h * max(0.2, 0.9 * err_q ** (-1.0 / order))
                    continue
        # (the step is accepted: its stall bookkeeping is reset only now)
        cm.g_tol.accepted()
        cm.stuck.reset()
        h_step = h_accept
        # Events on this step: entries of F (on the Hermite interpolant of the guards)
        # and exits of S (the equivalent control crossing ±1 at the step's end).
        if cur_guards[0] is not cur:
            cur_guards = (cur, *guards(cur))
        _, G0, D0, E0 = cur_guards
        G1, D1, E1 = guards(new)
        tau_entry, j_entry, c_entry, s_entry = np.inf, -1, -1, 1.0
        if E0 is not None and E1 is not None:
            roots = _first_roots_quintic(G0, D0, E0, G1, D1, E1, h)
        else:
            roots = _first_roots(G0, D0, G1, D1, h)
        for c, s_root in roots:
            if cur.tau + s_root * h < tau_entry:
                tau_entry, j_entry, c_entry, s_entry = cur.tau + s_root * h, int(F[c]), c, s_root
        if j_entry >= 0 and offset_F[c_entry] > 0.0:
            s_peak = _offset_peak(G0, D0, G1, D1, h, c_entry, s_entry, offset_F[c_entry], E0, E1)
            if s_peak is not None and s_peak * h > 64 * _EPS * max(1.0, abs(tau)):
                # The offset guard rose clear of its boundary and comes back inside this
                # step: the step is cut at its peak, where the offset is dropped (below),
                # so that the return is located at 0, not the offset beyond it.
                h_step = s_peak * h
                continue
        if j_entry >= 0 and sigma[j_entry] * new.g[j_entry] + offset[j_entry] > 0.0:
            # The interpolant dips below 0 but the guard is positive at the step's end: a
            # false alarm of the interpolant (near a multiple root) or a dip and return
            # inside the step. A shorter step tells them apart (a sign change at its end,
            # or no dip); below rounding the dip is a grazing contact, not an event.
            if h > 64 * _EPS * max(1.0, abs(tau)):
                h_step = h / 2
                continue
            j_entry = -1
        # (the indices only when the largest |ẋ_i| reaches 1: most steps have none; a NaN
        # fails both tests)
        exit_idx = (
            (np.abs(new.u) >= 1.0).nonzero()[0]
            if S.size and _max_abs(new.u) >= 1.0
            else np.zeros(0, int)
        )
        p_x: _Point | None = None
        if exit_idx.size:
            p_x, new = _located(cur, _refine_exit, cm, cur, new, exit_idx)
            if p_x is None:
                # (the tighter tangent keeps every |ẋ_i| below 1 at the step's end)
                exit_idx = exit_idx[:0]
                G1, D1, E1 = guards(new)
        # Locate the entry on the curve itself.
        p_e: _Point | None = None
        if j_entry >= 0:
            p_e = _located(cur, _refine_entry, cm, cur, new, h, tau_entry, j_entry, offset)
            if p_e is None:
                # No root on the curve: the step's end read its guard off (see
                # `_refine_entry`). Its end is solved on the curve again, with the gradient
                # there, and the step is kept if every guard is positive at it (else taken
                # again, shorter: the guards' interpolants then start from sound values).
                if p_x is None:
                    x_c, g_c, _ = _located(cur, _curve_state, cm, cur, new, h, new.tau)
                    new = cm.point(new.tau, x_c, g_c, new.u, a_guess=new.a)
                    new.z, new.z_step = cm.last_z, cm.last_step
                    G1, D1, E1 = guards(new)
                    if not (G1 > 0.0).all() or (np.abs(new.u) >= 1.0).any():
                        h_step = h / 2
                        continue
                j_entry = -1
        if j_entry < 0 and exit_idx.size == 0:
            pts.append(new)
            rec.n_steps += 1  # (an accepted step; one cut at an event is counted below)
            cur_guards = (new, G1, D1, E1)
            # An offset has done its work once its guard has left the boundary it started
            # on (at twice the offset: the event that put it there cannot fire again). It
            # is dropped then, so that a return of the guard to 0 later in the mode is
            # located at 0 itself, not the offset beyond it (the next mode would start that
            # far off its curve, and its steps fail).
            left = (offset_F > 0.0) & (3.0 * offset_F <= G1) if offsets else None
            if left is not None and left.any():
                offset_F = np.where(left, 0.0, offset_F)
                offsets = bool((offset_F > 0.0).any())
                offset = offset.copy()
                offset[F[left]] = 0.0
                cur_guards = (new, *guards(new))
            if (
                _free_size(new.g, sigma) < REFLOOR * cm.scale
                and _max_abs(new.g) < REFLOOR * cm.g_scale
            ):
                # The gradient has fallen by orders of magnitude since the mode's start:
                # its tolerances follow it (see `_Mode.set_scale`). (Both the free size and
                # the floor's scale: each re-floor then lowers the scale by `REFLOOR` at
                # least, never again and again at one floor of `mode_scale`, where the
                # learned rounding would be dropped at every step.)
                cm.set_scale(new.g)
            if new.tau >= tau_end:
                record(new)
                return t + new.tau, new.x, new.g, h_step, None, []
            continue
        candidates: list[tuple[float, _Point, str]] = []
        if p_e is not None:
            candidates.append((p_e.tau, p_e, "entry"))
        if p_x is not None:
            candidates.append((p_x.tau, p_x, "exit"))
        candidates.sort(key=lambda c: c[0])
        tau_ev, p_ev, kind = candidates[0]
        G_ev = sigma_F * p_ev.g[F] + offset_F
        if kind == "entry":
            G_ev[c_entry] = 0.0
        scale_event = mode_scale(_free_size(p_ev.g, sigma), g_scale)
        missed = G_ev < -max(1e-6 * scale_event, cm.g_tol.noise)
        if missed.any() and p_ev.tau - cur.tau > 64 * _EPS * max(1.0, abs(tau)):
            # Another guard is already clearly negative at the event located: its own root
            # came first, and the interpolants (on a scale the gradient has left behind,
            # as when it shrinks by orders of magnitude inside a mode) put them in the
            # wrong order. The step is cut to before the event located and taken again.
            h_step = 0.5 * (p_ev.tau - cur.tau)
            continue
        if p_ev.tau == cur.tau:
            # (an event at the step's start: no zero-length piece; the start's second
            # derivative where the event's point was solved without it)
            pts[-1] = p_ev if p_ev.a is not None or cur.a is None else replace(p_ev, a=cur.a)
        else:
            rec.n_steps += 1  # (the step, cut at its event)
            # The last piece of the dense output ends with the slope of the step's
            # interpolant, whose error the step control measured, not with a tangent
            # solved at the event: where the curve bends sharply just before the event (a
            # degenerate minimum, where ẋ_S turns within a boundary layer), a cubic held
            # to the solved slope bulges across the whole piece (1e-3 off at rtol 1e-13
            # on a degenerate quartic). On a smooth curve the two agree to O(h³).
            pts.append(
                replace(
                    p_ev,
                    u=_slope_guess(cm, cur, new, h, p_ev.tau),
                    a=_accel_guess(cm, cur, new, h, p_ev.tau),
                )
            )
        record(p_ev)
        G = sigma[F] * p_ev.g[F]
        # (on the smaller of the start's and the event's scales: the gradient can shrink by
        # orders of magnitude inside one mode, as on the exponential loss of a Poisson
        # model from far away, and indices far from their boundary would arrive with it)
        arrived_at = G + offset[F] <= min(cm.ztol, zero_tolerance(scale_event, cm.opts.zero_tol))
        if kind == "entry":
            # The located index arrives whatever its guard's rounding there: its root is
            # located to rounding in τ, which leaves the guard up to ‖H‖·ε·τ, above a zero
            # tolerance on a small gradient's scale (a zero-length mode would follow).
            arrived_at[c_entry] = True
        arrived = F[arrived_at].tolist()
        # (the old tangent's product only if the point has it on every index)
        gdot_ev = None if p_ev.free_rates else p_ev.gdot
        cm.block.entry_tangent = (S.copy(), p_ev.u, gdot_ev, sigma)
        exits = [
            (int(S[i]), float(p_ev.u[i])) for i in np.flatnonzero(np.abs(p_ev.u) >= 1.0 - 1e-12)
        ]
        cm.settle_start(p_ev.x)
        return t + tau_ev, p_ev.x, p_ev.g, max(h_step, 1e-3 * h), arrived, exits


def no_accepted_steps() -> None:
    """No-op (a mode's `keep_accepted` before the mode has a point)."""


def returned_up_to(rec: Recorder) -> str:
    """Where the recorded solution ends, for a failure's message (``"; the solution is
    returned up to t = …, x = …"``, or nothing before the first record).

    A mode that fails with a singular block keeps its accepted steps (`keep_accepted`),
    or the steps up to a failed try (`shorter_step`): the solution then ends past the
    mode's start, which alone the message named ("after t = 0" for a solution up to
    t = 0.057)."""
    if not len(rec.t):
        return ""
    return (
        f"; the solution is returned up to t = {float(rec.t[-1]):.12g}, x = "
        f"{np.array2string(np.asarray(rec.x[-1]), precision=12, threshold=20)}"
    )


def at_error_floor(last: tuple[Any, float, float] | None, start: Any, h: float, err: float) -> bool:
    """Whether a step's measured error ``err`` is a floor, not the interpolant's: the last
    measurement ``(start, h, err)`` was from the same point with a step at least 1.25
    times this one, and the error has not halved since (an interpolation error falls as
    ``h⁴``: by 2.4 at that ratio)."""
    return last is not None and last[0] is start and h <= 0.8 * last[1] and err >= 0.5 * last[2]


class ShortStepErrors:
    """A mode's error measurements of the steps from one point (the midpoint ones of steps
    of another length than the last, and the quintic checks; see `_run_mode`): each is
    taken unless it is a floor (`at_error_floor`) against the last one."""

    def __init__(self) -> None:
        self.last: tuple[Any, float, float] | None = None

    def taken(self, start: Any, h: float, measured: tuple[float, float] | None) -> Any:
        """``measured`` (state error in tolerances, gradient error) to take for a step of
        ``h`` from ``start``, or None: no measurement, or at the floor."""
        if measured is None:
            return None
        if not math.isfinite(measured[0]):
            return measured  # (the curve is not finite inside the step: never a floor)
        floor = at_error_floor(self.last, start, h, measured[0])
        self.last = (start, h, measured[0])
        return None if floor else measured


def _offset_peak(
    G0: FloatArray,
    D0: FloatArray,
    G1: FloatArray,
    D1: FloatArray,
    h: float,
    k: int,
    s_root: float,
    offset: float,
    E0: FloatArray | None = None,
    E1: FloatArray | None = None,
) -> float | None:
    """The fraction of a step of length ``h`` at which guard ``k``'s Hermite interpolant
    (cubic; quintic with second derivatives ``E0, E1``) peaks before its first root
    ``s_root``, when the peak is at least 4 times the guard's ``offset`` (the guard has
    left the boundary it started on: the offset can be dropped there, see `_run_mode`);
    else ``None``."""
    s = np.linspace(0.0, s_root, 17)
    ks = slice(k, k + 1)
    if E0 is not None and E1 is not None:
        vals = np.ravel(_quintic(G0[ks], D0[ks], E0[ks], G1[ks], D1[ks], E1[ks], h, s))
    else:
        vals = np.ravel(_hermite(G0[ks], D0[ks], G1[ks], D1[ks], h, s))
    i = int(np.argmax(vals))
    return float(s[i]) if i > 0 and vals[i] >= 4.0 * offset else None


def _states_at(p0: _Point, p1: _Point, S: np.ndarray, h: float, s: Any) -> Any:
    """The sliding states at fraction ``s`` of the step ``[p0, p1]`` of length ``h`` by
    its interpolant: quintic where both points carry the curve's second derivatives,
    else the cubic Hermite one (also beyond the step: the predictors' extrapolation)."""
    if p0.a is not None and p1.a is not None:
        return _quintic(p0.x[S], p0.u, p0.a, p1.x[S], p1.u, p1.a, h, s)
    return _hermite(p0.x[S], p0.u, p1.x[S], p1.u, h, s)


def _slopes_at(p0: _Point, p1: _Point, S: np.ndarray, h: float, s: Any) -> Any:
    """The derivative in ``τ`` of `_states_at`."""
    if p0.a is not None and p1.a is not None:
        return _quintic_slope(p0.x[S], p0.u, p0.a, p1.x[S], p1.u, p1.a, h, s)
    return _hermite_slope(p0.x[S], p0.u, p1.x[S], p1.u, h, s)


def _curvatures_at(p0: _Point, p1: _Point, S: np.ndarray, h: float, s: Any) -> Any:
    """The second derivative in ``τ`` of the quintic `_states_at`; ``None`` without the
    points' second derivatives."""
    if p0.a is not None and p1.a is not None:
        return _quintic_curvature(p0.x[S], p0.u, p0.a, p1.x[S], p1.u, p1.a, h, s)
    return None


def _gradients_at(p0: _Point, p1: _Point, h: float, s: Any) -> Any:
    """The gradient at fraction ``s`` of the step ``[p0, p1]`` by its interpolant, as
    `_states_at` (quintic where both points carry ``d²∇f/dτ²``)."""
    if p0.gddot is not None and p1.gddot is not None:
        return _quintic(p0.g, p0.gdot, p0.gddot, p1.g, p1.gdot, p1.gddot, h, s)
    return _hermite(p0.g, p0.gdot, p1.g, p1.gdot, h, s)


def _has_z(a: _Point, b: _Point) -> bool:
    """Whether both points carry ``z`` and ``ż`` (a linear model's sample-space data)."""
    return a.z is not None and a.zdot is not None and b.z is not None and b.zdot is not None


def _z_between(cm: _Mode, cur: _Point, new: _Point, h: float, s: float) -> FloatArray | None:
    """``B x`` at fraction ``s`` of the step ``[cur, new]`` by the Hermite interpolant of
    the points' ``B x`` and ``B ẋ`` (and ``B ẍ``: quintic, as `_states_at`; ``z`` is affine
    in ``x``: the interpolant of the states maps to it, to rounding), or ``None`` without
    their sample-space data."""
    if not _has_z(cur, new):
        return None
    z0, z1 = cm.point_z(cur), cm.point_z(new)
    if cur.zddot is not None and new.zddot is not None:
        return np.asarray(_quintic(z0, cur.zdot, cur.zddot, z1, new.zdot, new.zddot, h, s))
    return np.asarray(_hermite(z0, cur.zdot, z1, new.zdot, h, s))


def _quartic_slope(
    prev: _Point, cur: _Point, tau: float, x_new: FloatArray, S: np.ndarray
) -> FloatArray:
    """The slope at ``tau`` of the quartic through the sliding states and tangents of the
    last two points and the new state ``x_new`` (error ``O(h⁴)``).

    Used once, at the end of a mode's last step: the formula amplifies errors of the
    tangents it reads (by 4 for equal steps), so a chain of such slopes would be
    unstable; those it reads are solved ones. (The coefficients are the derivative at
    ``h`` of the quartic with ``p(−hp), p'(−hp), p(0), p'(0), p(h)`` given, by sympy.)
    """
    hp = cur.tau - prev.tau
    h = tau - cur.tau
    r = h + hp
    return (
        (-2.0 * h * h * (h + 2.0 * hp) / (hp**3 * r)) * prev.x[S]
        - (h * h / (hp * hp)) * prev.u
        + (2.0 * (h - hp) * r * r / (h * hp**3)) * cur.x[S]
        - (r * r / (hp * hp)) * cur.u
        + (2.0 * (2.0 * h + hp) / (h * r)) * x_new[S]
    )


def _quintic_weights(hp: float, h: float) -> FloatArray:
    """Weights of ``(x(−hp), x'(−hp), x(0), x'(0), x(h), x'(h))`` giving the quintic
    Hermite interpolant through them at ``h/2``, minus the cubic Hermite's on ``[0, h]``.

    In closed form (by sympy, from the six interpolation conditions): a 6×6 solve per
    step was 6% of a profiled run at rtol = 1e-12 (3% of its wall time, measured), and
    its monomial matrix loses digits when ``hp`` and ``h`` differ by orders of
    magnitude (1e-9 relative at a ratio of 100)."""
    r = h + hp
    return np.array(
        [
            h**4 * (h * h + 5.0 * h * hp + 5.0 * hp * hp) / (16.0 * hp**3 * r**3),
            h**4 * (h + 2.0 * hp) / (32.0 * hp * hp * r * r),
            -h * (h * h + 2.0 * h * hp - 4.0 * hp * hp) / (16.0 * hp**3),
            h * h * (h + 4.0 * hp) / (32.0 * hp * hp),
            -h * (5.0 * h * h + 10.0 * h * hp + 4.0 * hp * hp) / (16.0 * r**3),
            h * h * (3.0 * h + 4.0 * hp) / (32.0 * r * r),
        ]
    )


def _quintic_defect(
    prev: Any, cur: Any, new: Any, S: np.ndarray, hp: float, h: float
) -> FloatArray:
    """The quintic Hermite interpolant through three points of a curve (states ``x[S]``
    and tangents ``u``, at ``−hp``, 0 and ``h``) minus the cubic one through the last two,
    at the last step's midpoint: the cubic dense output's error there, from data that
    sees a change of ``x''''`` over the two steps (see `_run_mode`)."""
    w = _quintic_weights(hp, h)
    return (
        w[0] * prev.x[S] + w[1] * prev.u + w[2] * cur.x[S] + w[3] * cur.u
        + w[4] * new.x[S] + w[5] * new.u
    )  # fmt: skip


def _octic_weights(hp: float, h: float) -> FloatArray:
    """Weights of ``(x, x', x'')`` at ``−hp``, 0 and ``h`` giving the degree-8 Hermite
    interpolant through them at ``h/2``, minus the quintic Hermite's on ``[0, h]``: the
    `_quintic_defect` of a quintic step, in closed form (by sympy, from the nine
    interpolation conditions; a solve would lose digits at step ratios far from 1)."""
    r = h + hp
    h2, h3, p2, p3 = h * h, h**3, hp * hp, hp**3
    return np.array(
        [
            -(h**6)
            * (6 * h**4 + 51 * h3 * hp + 163 * h2 * p2 + 224 * h * p3 + 112 * hp**4)
            / (256 * hp**5 * r**5),
            -(h**6) * (h + 2 * hp) * (3 * h2 + 14 * h * hp + 14 * p2) / (256 * hp**4 * r**4),
            -(h**6) * (h + 2 * hp) ** 2 / (512 * p3 * r**3),
            h * (6 * h**4 + 21 * h3 * hp - 2 * h2 * p2 - 36 * h * p3 + 72 * hp**4) / (256 * hp**5),
            -h2 * (3 * h3 + 13 * h2 * hp + 6 * h * p2 - 36 * p3) / (256 * hp**4),
            h3 * (h2 + 6 * h * hp + 12 * p2) / (512 * p3),
            -h
            * (91 * h**4 + 371 * h3 * hp + 538 * h2 * p2 + 324 * h * p3 + 72 * hp**4)
            / (256 * r**5),
            h2 * (32 * h3 + 107 * h2 * hp + 114 * h * p2 + 36 * p3) / (256 * r**4),
            -h3 * (7 * h2 + 18 * h * hp + 12 * p2) / (512 * r**3),
        ]
    )


def _octic_defect(prev: Any, cur: Any, new: Any, S: np.ndarray, hp: float, h: float) -> FloatArray:
    """The degree-8 Hermite interpolant through three points of a curve (states, tangents
    and second derivatives at ``−hp``, 0 and ``h``) minus the quintic through the last
    two, at the last step's midpoint: the quintic dense output's error there, from data
    that sees a change of ``x⁽⁶⁾`` over the two steps (see `_run_mode`)."""
    w = _octic_weights(hp, h)
    return (
        w[0] * prev.x[S] + w[1] * prev.u + w[2] * prev.a
        + w[3] * cur.x[S] + w[4] * cur.u + w[5] * cur.a
        + w[6] * new.x[S] + w[7] * new.u + w[8] * new.a
    )  # fmt: skip


def _midpoint_error(cm: _Mode, cur: _Point, new: _Point, h: float) -> tuple[float, float] | None:
    """The error of the step's cubic Hermite dense output at its midpoint, where the
    error term ``s²(1−s)² h⁴ x''''/24`` is largest: the corrector's distance there from
    the interpolant, ``(state's in units of its tolerance, gradient's)``. ``None`` when
    the corrector does not converge; ``inf`` when the curve is not finite there (the step
    is then rejected, and the retries are capped: see `NonFiniteRetry`)."""
    S = cm.S
    tau = cur.tau + 0.5 * h
    xs = _states_at(cur, new, S, h, 0.5) if S.size else np.zeros(0)
    try:
        corrected = cm.correct(tau, xs, z_guess=_z_between(cm, cur, new, h, 0.5), z_exact=True)
    except FloatingPointError:
        # (a NaN inside a step whose ends are finite: read as no measurement, the step of
        # another length was accepted across it, and a band where the gradient is NaN was
        # crossed, the run ending "stationary point reached")
        cm.retry.failed(cur.tau, h)
        return math.inf, math.inf
    if corrected is None:
        return None
    xm, gm = corrected
    g_pred = _gradients_at(cur, new, h, 0.5)
    err_x = _max_abs(xm[S] - xs) / cm.tol(xm) if S.size else 0.0
    return err_x, _max_abs(gm - g_pred)


def _slope_guess(cm: _Mode, cur: _Point, new: _Point, h: float, tau: float) -> FloatArray:
    """The tangent at ``tau`` in the step ``[cur, new]`` by the step's Hermite interpolant
    (error O(h³)): the first guess of the tangent's CG there."""
    if not cm.S.size:
        return cur.u
    s = (tau - cur.tau) / h
    return np.asarray(_slopes_at(cur, new, cm.S, h, s))


def _accel_guess(cm: _Mode, cur: _Point, new: _Point, h: float, tau: float) -> Any:
    """The second derivative of the sliding states at ``tau`` in the step ``[cur, new]`` by
    its quintic interpolant (``None`` on a mode without second derivatives)."""
    if not cm.S.size:
        return None
    return _curvatures_at(cur, new, cm.S, h, (tau - cur.tau) / h)


def _tight_if_possible(
    cm: _Mode,
    tau: float,
    xs: FloatArray,
    only: int | None,
    z: FloatArray | None,
    slow_guard: bool = False,
) -> tuple[FloatArray, FloatArray] | None:
    """The corrector at an event's iterate: to rounding at the last index's entry (where
    the state becomes the stationary point), else to the tolerance. Where the curve ends
    at a degenerate minimum, Newton converges only linearly there and may not reach
    rounding within its iterations: the tolerance's point is taken then, as every step's
    (the run failed -1 on some degenerate quartics at rtol 1e-13, depending on the steps
    that led there). Also to rounding for a ``slow_guard`` (see `_refine_entry`)."""
    tight = slow_guard or cm.F.size == 1
    corrected = cm.correct(tau, xs, tight=tight, fresh=True, only=only, z_guess=z, z_exact=True)
    if corrected is None and tight:
        corrected = cm.correct(tau, xs, fresh=True, only=only, z_guess=z, z_exact=True)
    return corrected


def _curve_state(
    cm: _Mode,
    cur: _Point,
    new: _Point,
    h: float,
    tau: float,
    only: int | None = None,
    slow_guard: bool = False,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """State and gradient of the curve at ``tau`` in the step ``[cur, new]`` (with
    ``only``, possibly the gradient on ``S`` and at ``only`` alone: see `_Mode.correct`),
    and the sliding state the step's interpolant predicted there."""
    s = (tau - cur.tau) / h
    S = cm.S
    xs = _states_at(cur, new, S, h, s) if S.size else np.zeros(0)
    # (The sample-space z from the points' B x itself, to rounding: one from the z their
    # gradients were taken at, off by ‖B‖·tol, would spoil Newton's quadratic last
    # correction, and the event times would lose a digit or two.)
    z = _z_between(cm, cur, new, h, s)
    corrected = _tight_if_possible(cm, tau, xs, only, z, slow_guard)
    if corrected is None:
        raise PathFailure(
            -1,
            "the corrector did not converge while locating an event near "
            f"t = {cm.t_start + tau:.12g}",
        )
    return corrected[0], corrected[1], xs


def _curve_point(
    cm: _Mode, cur: _Point, new: _Point, h: float, tau: float, rtol: float | None = None
) -> _Point:
    """The point of the curve at ``tau`` in the step ``[cur, new]`` (Hermite predictor,
    Newton corrector, then its tangent, solved to ``rtol``: by default the tangents')."""
    s = (tau - cur.tau) / h
    S = cm.S
    xs = _states_at(cur, new, S, h, s) if S.size else np.zeros(0)
    z = _z_between(cm, cur, new, h, s)  # (B x itself: see `_curve_state`)
    corrected = _tight_if_possible(cm, tau, xs, None, z)
    if corrected is None:
        raise PathFailure(
            -1,
            "the corrector did not converge while locating an event near "
            f"t = {cm.t_start + tau:.12g}",
        )
    xn, gn = corrected
    # (an exit's points: the event's, which takes the interpolant's second derivative)
    return cm.point(tau, xn, gn, _slope_guess(cm, cur, new, h, tau), rtol, second=False)


class _Shift:
    """Points of a linear model's curve near one the corrector solved, at ``τ_s`` in the
    step ``[cur, new]``: its state moved by ``Δ ẋ`` (``Δ = τ − τ_s``, ``ẋ = [u; −σ_F]``
    with ``u`` the slope of the step's Hermite interpolant at ``τ_s``), and the guard
    ``σ_j ∂_j f`` there.

    After an entry's first corrector solve, at the root of the guard's interpolant, the
    guard is only the interpolant's error, and the Newton steps that follow are tiny
    (``Δ`` was 4e-9 to 2e-6 of ``h`` on the logistic benchmarks): a solve at each would
    find the moved state again. Two tests stand in for it:

    * the state: the move is off the curve by ``Δ (u − ẋ_S) + ½ Δ² ẍ_S`` beyond the solved
      point's own distance. The slope's error is estimated from the solved point's
      distance to the interpolant (the derivative there of the interpolation error
      ``c s²(1−s)²`` that puts it at that distance) plus ``tol/h`` for the end tangents,
      ``ẍ`` from the interpolant (its largest second derivative on the step); a move is
      taken while that is within `_SHIFT_TOL` tolerances. (The estimate was at most
      5e-6 tolerances; the moved points' distance to the curve, by dense Newton, was the
      solved point's to 3e-7 tolerances.)
    * the root (`agrees`): the guard is measured at the moved point, and along the move
      it changes at the slope ``(H ẋ)_j`` of the interpolant's tangent, not at the
      curve's, which the state's distance does not bound in τ (on a nearly singular
      block a guard of slope 2e-6 put an entry 3e-9 late from a move well within the
      state's tolerance). The measured value must be the solved one moved along the
      curve's slope, to rounding of the root.

    The guard costs ``O(m)`` (a solve: passes over the sliding columns and the
    corrector's overhead): ``z`` moves by ``Δ B ẋ`` (the slope of the interpolant of the
    points' ``B x``, whose ends are ``B x`` and ``B ẋ``), and ``∂_S f`` is the solved
    point's (constant along the curve). It is taken at the state of the solved point's
    gradient (before the corrector's last correction) moved by ``Δ ẋ``: as off the moved
    state as a corrector's gradient is off its own (`_Mode.correct`), so that the guard
    is the same function of ``τ`` as on solved iterates (the gradient at the moved state
    itself moved event times by up to 1e-10 at rtol = 1e-8: within that function's own
    error, not within rounding of the solves' roots), and `_Mode.complete` and
    `_Mode.settle_start` read ``z`` and that correction as a corrector's.
    """

    def __init__(
        self,
        cm: _Mode,
        cur: _Point,
        new: _Point,
        h: float,
        tau: float,
        solved: tuple[FloatArray, FloatArray, FloatArray],
        guard: tuple[float, float],
    ) -> None:
        self.cm, self.cur, self.new, self.h, self.tau = cm, cur, new, h, tau
        #: The solved state and gradient, and the interpolant's prediction there.
        self.x, g, self.xs_pred = solved
        self.gS = g[cm.S]
        #: The guard's value at the solved point and its slope on the curve there.
        self.guard = guard
        # (the corrector's last `z` and correction, read before any other solve)
        self.z, self.step = cm.last_z, cm.last_step
        self.u: FloatArray | None = None  # (the slope and bounds: taken when first asked)
        self.zdot: Any = None
        self.bound = (0.0, 0.0, 0.0)

    def _prepare(self) -> None:
        cm, cur, new, h, S = self.cm, self.cur, self.new, self.h, self.cm.S
        s = (self.tau - cur.tau) / h
        tol = cm.tol(self.x)
        self.u = np.asarray(_slope_guess(cm, cur, new, h, self.tau))
        slope_error = curvature = 0.0  # (no sliding index: x_F is linear in τ)
        quintic = cur.a is not None and new.a is not None
        if S.size:
            inner = s * (1.0 - s)
            # (at an end of the step, where the interpolation error vanishes, its slope
            # is not estimated: no move)
            off = _max_abs(self.x[S] - self.xs_pred) / (inner * h) if inner > 0 else np.inf
            # (the error's shape: c s²(1−s)² for the cubic, c s³(1−s)³ for the quintic)
            slope_error = (3.0 if quintic else 2.0) * abs(1.0 - 2.0 * s) * off + tol / h
            if quintic:
                # The quintic's second derivative is a cubic in Bernstein form: at most
                # its largest control point on the step (the convex hull).
                b = _quintic_control(cur.x[S], cur.u, cur.a, new.x[S], new.u, new.a, h)
                second = [b[k + 2] - 2.0 * b[k + 1] + b[k] for k in range(4)]
                curvature = 0.5 * (20.0 / (h * h)) * max(_max_abs(c) for c in second)
            else:
                # The interpolant's second derivative is ((u1 − u0) + (6s − 3) c)/h with
                # c = u0 + u1 − 2 (x1 − x0)/h: at most (|u1 − u0| + 3|c|)/h on the step.
                u0, u1 = cur.u, new.u
                c = u0 + u1 - (2.0 / h) * (new.x[S] - cur.x[S])
                curvature = 0.5 * (_max_abs(u1 - u0) + 3.0 * _max_abs(c)) / h
        self.bound = (slope_error, curvature, _SHIFT_TOL * tol)
        assert cm.lm is not None
        if _has_z(cur, new):
            z0, z1 = cm.point_z(cur), cm.point_z(new)
            if cur.zddot is not None and new.zddot is not None:
                self.zdot = _quintic_slope(z0, cur.zdot, cur.zddot, z1, new.zdot, new.zddot, h, s)
            else:
                self.zdot = _hermite_slope(z0, cur.zdot, z1, new.zdot, h, s)
        elif S.size:  # (B ẋ by a pass over the sliding columns)
            self.zdot = cm.lm.columns(S) @ self.u - cm.z_sigma
        else:
            self.zdot = -cm.z_sigma

    def at(self, tau: float, j: int) -> tuple[FloatArray, FloatArray] | None:
        """State and gradient at ``tau`` (NaN but on ``S`` and at ``j``, as `_Mode.correct`
        with ``only``), or ``None`` when the move is not within the tolerance."""
        if self.u is None:
            self._prepare()
        assert self.u is not None
        cm, S = self.cm, self.cm.S
        d = tau - self.tau
        slope_error, curvature, allowed = self.bound
        if not abs(d) * (slope_error + abs(d) * curvature) <= allowed:
            return None
        x = cm.base(tau)
        x[S] = self.x[S] + d * self.u
        lm = cm.lm
        assert lm is not None and self.z is not None
        z = self.z + d * self.zdot
        cm.rec.nfev += 1
        dl = lm.dloss(z) / lm.m
        g = np.full(x.size, np.nan)
        g[S] = self.gS
        # (j is free: the correction does not move it; its column in the column-ordered
        # copy is contiguous)
        g_j = float(lm.stored_column(j) @ dl) + lm.lam * x[j]
        if not math.isfinite(g_j):
            _finite(np.array([g_j]), "grad(x)")
        g[j] = g_j
        lm.remember(x, z, exact=self.step is None, step=self.step)
        cm._partial_dl = (z, dl)
        return x, g

    def agrees(self, tau: float, val: float) -> bool:
        """Whether the guard ``val`` measured at the move to ``tau`` is the solved point's
        moved along the curve's slope there, within ``4 ε max(1, |τ|)`` in ``τ`` (the
        root's rounding test in `_refine_entry`; ``½ Δ² φ''``, far below, is left in)."""
        val_s, slope = self.guard
        if not math.isfinite(slope):  # (a solved point at the step's end: no slope)
            return False
        deviation = abs(val - val_s - (tau - self.tau) * slope)
        return deviation <= 4 * _EPS * max(1.0, abs(tau)) * abs(slope)


def _guard_slope(
    G0: Any, D0: Any, G1: Any, D1: Any, h: float, s: float, val: float, E: Any = None
) -> float:
    """The slope at fraction ``s`` of a step of the quartic through a guard's values and
    rates at the step's ends (the cubic Hermite interpolant's data) and its value ``val``
    on the curve at ``s``: the cubic's plus that of ``c s²(1−s)²``, the interpolation error
    that puts ``val`` there (``inf`` at the step's ends, where it tells nothing). With the
    second derivatives ``E = (E0, E1)``: the sextic through the quintic's data and ``val``,
    the error ``c s³(1−s)³``."""
    inner = s * (1.0 - s)
    if not inner > 0:
        return np.inf
    if E is not None:
        error = val - float(_quintic(G0, D0, E[0], G1, D1, E[1], h, s))
        error_slope = error * 3.0 * (1.0 - 2.0 * s) / (inner * h)
        return float(_quintic_slope(G0, D0, E[0], G1, D1, E[1], h, s)) + error_slope
    error = val - float(_hermite(G0, D0, G1, D1, h, s))
    error_slope = error * 2.0 * (1.0 - 2.0 * s) / (inner * h)
    return float(_hermite_slope(G0, D0, G1, D1, h, s)) + error_slope


def _refine_entry(
    cm: _Mode, cur: _Point, new: _Point, h: float, tau: float, j: int, offset: FloatArray
) -> _Point | None:
    """The first ``τ`` in the step with ``σ_j ∂_j f(x(τ)) + offset_j = 0`` on the curve;
    ``None`` when the guard stays clearly positive on the curve up to the step's end (the
    guard read at the step's end was off: see below).

    Newton from the Hermite estimate on the guard's values on the curve itself, with the
    slope of the step's Hermite interpolant of the guard (the tangent, a linear solve, is
    computed only at the point returned); inside a bracket that every evaluation shrinks,
    bisecting when a Newton step leaves the bracket or fails to halve the last one (a
    multiple root, as at a degenerate minimum, where Newton crawls but the sign of the
    guard still brackets the root to rounding). An iterate is a corrector solve or, on a
    linear model, the last solved point moved along the curve's tangent while that is
    within the tolerances (see `_Shift`): mostly one solve per entry.
    """
    lo, hi = cur.tau, new.tau
    # (Python floats: the same IEEE operations as on NumPy scalars, at a fraction of
    # their cost in the iterations' interpolant evaluations)
    sj, off_j = float(cm.sigma[j]), float(offset[j])
    G0, G1 = sj * float(cur.g[j]) + off_j, sj * float(new.g[j]) + off_j
    D0, D1 = sj * float(cur.gdot[j]), sj * float(new.gdot[j])
    # (the guard's second derivatives on a quintic mode's step)
    E = None
    if cur.gddot is not None and new.gddot is not None:
        E = (sj * float(cur.gddot[j]), sj * float(new.gddot[j]))
    # A guard whose rate is far below the gradient's (an index whose column duplicates
    # a sliding one: its partial is the twin's, zero on the curve, plus λ times their
    # difference, moving at 2λ) is read at the iterates off by the residual the
    # corrector's tolerance leaves on ∂_S f, which locates its root far beyond the
    # tolerance (1e-4 in x at λ = 1e-8, rtol 1e-8): the next mode's start was that far
    # off its curve, and the run ended -1. Its iterates are corrected to rounding.
    slow_guard = cm.F.size > 1 and max(abs(D0), abs(D1)) < _SLOW_GUARD * _max_abs(cur.gdot[cm.F])
    best: tuple[float, FloatArray, FloatArray] | None = None
    last_step = np.inf
    last_iterate: tuple[float, float] | None = None
    shift: _Shift | None = None
    val = np.inf
    failures = 0
    for _ in range(200):
        # (∂_j f alone at the iterates: the whole gradient only at the point returned)
        moved = shift.at(tau, j) if shift is not None else None
        if moved is not None:
            x, g = moved
            predicted = None
        else:
            try:
                x, g, predicted = _curve_state(cm, cur, new, h, tau, j, slow_guard)
            except PathFailure:
                if best is None:
                    raise
                # (the corrector fails near a degenerate minimum, where the curve ends,
                # after the bracket has closed on the root: the point at or just past it
                # found so far is the entry; a degenerate quartic at rtol 1e-13 failed -1)
                failures += 1
                if failures > _ENTRY_FAILURES or hi - tau <= 4 * _EPS * max(1.0, abs(hi)):
                    break
                # The bracket may still be wide there: one failed solve (Newton converges
                # only linearly on the nearly singular block by the root) ended the search
                # 4.6e-10 in τ past the root of a degenerate quartic at rtol 1e-13 (seed
                # 17), its gradient 2.4e-31 where its rounding is 4e-33, and the self-check
                # failed -5. The solve is tried again between the failed iterate and the
                # bracket's end past the root: wherever the root is in the bracket, a
                # success there either moves that end toward the root or moves the other
                # end past the failed iterate (7 failed solves there, 4 in a row).
                tau = 0.5 * (tau + hi)
                continue
        failures = 0
        val = sj * float(g[j]) + off_j
        s = (tau - cur.tau) / h
        if E is not None:
            slope = float(_quintic_slope(G0, D0, E[0], G1, D1, E[1], h, s))
        else:
            slope = float(_hermite_slope(G0, D0, G1, D1, h, s))
        if predicted is not None:
            # Moves on a linear model only (elsewhere the guard costs a whole gradient,
            # half of a solve: on a log-sum-exp objective the moves' time was no gain at
            # rtol = 1e-10 and 8% more at 1e-8, where half of them failed `agrees`), and
            # not at the last index's entry (its corrector is tight, to rounding).
            if cm.lm is not None and cm.F.size > 1 and not slow_guard:
                curve_slope = _guard_slope(G0, D0, G1, D1, h, s, val, E)
                shift = _Shift(cm, cur, new, h, tau, (x, g, predicted), (val, curve_slope))
        elif shift is not None and not shift.agrees(tau, val):
            # (solved for at the same τ, and moves from there)
            shift = None
            continue
        if abs(val) <= 4 * _EPS * max(1.0, abs(tau)) * abs(slope):
            # The root to rounding in τ (either side) by the interpolant's slope. Near a
            # multiple root the interpolant's slope and the curve's differ: unless the
            # secant through the last two iterates (on the curve) agrees with it, the root
            # is confirmed with the curve's own slope (one tangent solve).
            if last_iterate is not None and last_iterate[0] != tau:
                secant = (val - last_iterate[1]) / (tau - last_iterate[0])
                if slope / _SIMPLE_ROOT <= secant <= slope * _SIMPLE_ROOT or (
                    slope * _SIMPLE_ROOT <= secant <= slope / _SIMPLE_ROOT
                ):
                    p = _entry_point(cm, cur, new, h, tau, x, cm.complete(x, g))
                    if p is not None:
                        return p
            p = cm.point(
                tau, x, cm.complete(x, g), _slope_guess(cm, cur, new, h, tau), second=False
            )
            slope = sj * float(p.gdot[j])
            if abs(val) <= 4 * _EPS * max(1.0, abs(tau)) * abs(slope):
                return p
        if not val > 0:  # (the hi side of the bracket, as the step below takes it)
            best = (tau, x, g)
        last_iterate = (tau, val)
        bracket = _bracketed_newton_step(tau, val, slope, lo, hi, last_step)
        if bracket is None:
            break
        lo, hi, tau, last_step = bracket
    if best is None:
        if val > cm.ztol:
            # The guard is positive on the curve all the way to the step's end, where the
            # step read it as ≤ 0: that reading is the gradient before the corrector's last
            # correction, at a state within the tolerance of the curve, so it is off by up
            # to ‖H‖·tol -- more than the guard itself near the minimizer of an
            # ill-conditioned objective at a loose tolerance. Not an entry (on a Rosenbrock
            # function at rtol 1e-4 the last index "arrived" with ∂_j f = -0.011: a
            # stationary point 0.017 from the minimizer, and a spurious tangency before).
            return None
        return new
    # The point at or just past the root (the guard ≤ 0 there).
    x, g = best[1], cm.complete(best[1], best[2])
    return cm.point(best[0], x, g, _slope_guess(cm, cur, new, h, best[0]), second=False)


def _entry_point(
    cm: _Mode, cur: _Point, new: _Point, h: float, tau: float, x: FloatArray, g: FloatArray
) -> _Point | None:
    """The mode's last point at an entry located at ``tau`` inside the step ``[cur,
    new]``, with the slope of the step's Hermite interpolant as its tangent instead of a
    tangent solve; ``None`` when some ``|ẋ_i|`` of the slope is near 1 (an exit at the same
    time is then decided on the solved tangent).

    The mode ends here, so its tangent serves only as the last node of the dense output
    and as the first guess of the selection's solve. Inside the step the interpolant's
    slope is off by ``O(h³ x)`` (at most about ``h³ x/100``), which moves the
    last piece of the dense output by less than the step's own interpolation error; the
    state itself is the corrector's, on the curve. The selection's solve starts from it
    as from any guess (its product is one more product, against a tangent solve of a
    few products and a pass over the data saved).
    """
    u = _slope_guess(cm, cur, new, h, tau)
    if cm.S.size and _max_abs(u) >= 1.0 - _EXIT_MARGIN:
        return None
    # (and the interpolant's second derivative, the last node's on a quintic mode)
    a = _accel_guess(cm, cur, new, h, tau)
    return _Point(tau, x, g, np.array(u, dtype=float, copy=True), None, a=a)


def _bracketed_newton_step(
    tau: float, val: float, slope: float, lo: float, hi: float, last_step: float
) -> tuple[float, float, float, float] | None:
    """One step of a root search on a guard that is positive before its root: the
    bracket ``[lo, hi]`` shrunk by the sign of ``val`` (the guard at ``tau``), and the next
    iterate, Newton's with ``slope`` unless it leaves the bracket or fails to halve the
    last step (a multiple root, where Newton crawls), then bisection. Returns
    ``(lo, hi, next τ, its step)``, or ``None`` once the bracket is down to rounding."""
    if val > 0:
        lo = tau
    else:
        hi = tau
    if hi - lo <= 4 * _EPS * max(1.0, abs(hi)):
        return None
    step = -val / slope if slope != 0 else np.inf
    nxt = tau + step
    if not (lo < nxt < hi) or abs(step) > 0.5 * last_step:
        nxt = 0.5 * (lo + hi)
    return lo, hi, nxt, abs(nxt - tau)


def _refine_exit(
    cm: _Mode, cur: _Point, new: _Point, exit_idx: np.ndarray
) -> tuple[_Point | None, _Point]:
    """The first time in the step at which an equivalent control ``|ẋ_i|`` reaches 1.

    The margins ``1 − |ẋ_i|`` are taken from tangents solved to `_EXIT_RTOL` (the step's
    own tangents, to `_TANGENT_RTOL`, only flagged the exit). Returns ``(exit point or
    None, the step's end point)``: ``None`` when the tighter tangent at the step's end
    puts it back inside (the step is then accepted with that tangent).
    """
    h = new.tau - cur.tau
    cache: dict[float, _Point] = {}

    def margin(tau: float) -> float:
        if tau not in cache:
            if tau == new.tau:
                # (the corrected state is kept: only its tangent is solved again)
                cache[tau] = cm.point(tau, new.x, new.g, new.u, _EXIT_RTOL, a_guess=new.a)
                cache[tau].z, cache[tau].z_step = new.z, new.z_step
            else:
                cache[tau] = _curve_point(cm, cur, new, h, tau, _EXIT_RTOL)
        return 1.0 - float(np.abs(cache[tau].u[exit_idx]).max())

    if margin(new.tau) > 0.0:
        return None, cache[new.tau]
    if margin(cur.tau) <= 0.0:
        # (the tight tangent puts the exit at the step's start, where the step's own
        # tangent did not: the point with the tight tangent, so that the exit is taken)
        return cache[cur.tau], cache[new.tau]
    tau = brentq(margin, cur.tau, new.tau, xtol=4 * _EPS * max(1.0, new.tau), rtol=4 * _EPS)
    # Report the point at or just past the root (|ẋ_i| ≥ 1 there up to rounding).
    p = cache.get(tau) or _curve_point(cm, cur, new, h, tau, _EXIT_RTOL)
    return p, cache[new.tau]


#: Public names of the sliding block's solver and the Hermite helpers for the tie modes
#: of the greedy flow (:mod:`filippov._tie_continuation`).
SlidingBlock = _Block
cholesky = _cholesky
finite = _finite
hermite = _hermite
hermite_slope = _hermite_slope
bracketed_newton_step = _bracketed_newton_step
first_roots = _first_roots
offset_peak = _offset_peak
quintic_defect = _quintic_defect
#: The correctors' iteration limit and the tries allowed in one mode (both paths).
MAX_NEWTON = _MAX_NEWTON
SHORT_STEP = _SHORT_STEP
LONG_STEP = _LONG_STEP
#: A root search's secant test of a simple root and the margin an event's point keeps
#: before it takes the interpolant's tangent (both paths' event points).
SIMPLE_ROOT = _SIMPLE_ROOT
EXIT_MARGIN = _EXIT_MARGIN
#: Blocks with ``|S|·n`` above this are solved by conjugate gradients (no factor at x).
DIRECT_SIZE = _DIRECT_SIZE
TryBudget = _TryBudget
