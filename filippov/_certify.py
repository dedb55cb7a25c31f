"""Scales and self-checks shared by the engine's paths (the "no silent wrong answer" rules).

* :func:`component_scales` gives each switching function its own scale: whether ``h_i``
  is zero is decided against the size of what ``h_i`` is computed from, never against the
  largest component of ``h`` (a badly scaled gradient has components many orders of
  magnitude apart, and a shared scale reads the small ones as zero).
* :func:`certify` checks a finished run before it is reported as a success (status 0 or
  1) and turns a failed check into a negative status whose message names it.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import warnings

import numpy as np
import scipy.linalg

from filippov._recorder import Recorder
from filippov._validation import FloatArray
from filippov.solution import LinearDense, NodalDense, Segment
from filippov.systems import FilippovSystem

__all__ = ["component_scales", "initial_zero_rtol"]

_EPS = float(np.finfo(float).eps)
#: An initial state is on a manifold only within this many ulps of the terms of h_i.
_INITIAL_ZERO_ULPS = 64


def initial_zero_rtol(zero_tol: float) -> float:
    """The relative tolerance (of :func:`component_scales`) for reading ``h_i(x0) = 0``.

    At most ``_INITIAL_ZERO_ULPS`` ulps, whatever ``zero_tol``: a state read as on its
    manifold is held there (the exact path) or projected onto it (the event path), so a
    looser reading would move the initial state, or offset the manifold it slides on, by
    up to ``zero_tol`` of its size. A state a little further off simply reaches its
    manifold after a short first segment.

    Examples
    --------
    >>> initial_zero_rtol(1e-12) == 64 * 2.0**-52, initial_zero_rtol(1e-16)
    (True, 1e-16)
    """
    return min(float(zero_tol), _INITIAL_ZERO_ULPS * _EPS)


def component_scales(jac: FloatArray, x: FloatArray, e: FloatArray | None = None) -> FloatArray:
    """The scale of each switching function at ``x``: ``|∂h/∂x| |x| (+ |e|)``, per row.

    For an affine ``h = G x + e`` this is the sum of the magnitudes of the terms ``h_i``
    is computed from, so ``eps`` times it bounds the rounding error of ``h_i``; for any
    ``h`` it is the change of ``h_i`` when the state moves by its own size, row by row.
    (A row norm times ``max |x|`` would mix the scales of the state's components again.)

    Parameters
    ----------
    jac : ndarray, shape (m, n)
        The Jacobian of ``h`` at ``x`` (``G`` for an affine ``h``).
    x : ndarray, shape (n,)
        The state.
    e : ndarray, shape (m,), optional
        The constant term of an affine ``h``.

    Returns
    -------
    ndarray, shape (m,)
        Non-negative scales (exactly 0 where the row and the state do not interact).

    Examples
    --------
    >>> import numpy as np
    >>> component_scales(np.diag([1e13, 1.0]), np.array([1.0, 1e-5]))
    array([1.e+13, 1.e-05])
    """
    scales = np.abs(jac) @ np.abs(x)
    if e is not None:
        scales = scales + np.abs(e)
    return np.asarray(scales, dtype=np.float64)


#: A failed self-check: the run's result is not certified (see :func:`certify`).
STATUS_UNCERTIFIED = -5
#: Relative tolerance (on each component's scale) of the end-of-run checks: looser than
#: the engine's own zero tolerance (the end state carries the rounding of every segment).
_CHECK_RTOL = 1e-9
#: A zero at a stationary end: within this many ulps of the size of the terms of h_i.
_ZERO_ULPS = 32
#: The relative accuracy of a manifold's point that double precision resolves, per unit
#: of the Jacobian's condition number (~45 eps).
_RESOLVED_PER_CONDITION = 1e-14
#: The largest residual of a stationary end, relative to its terms, that the
#: condition's allowance excuses, in units of the path's state tolerance (or of the zero
#: test's ulps): an end whose state is within that tolerance of the manifold leaves a
#: residual of about the tolerance times its terms (see `_check_zeros`).
_RESIDUAL_SLACK = 100.0
#: Equilibrated condition numbers beyond this leave less than ~3 correct digits in a
#: sliding selection computed in double precision (eps · 1e13 ≈ 2e-3).
MAX_CONDITION = 1e13
#: The largest jump of the state between consecutive segments the self-check allows, in
#: drift tolerances (an event path's mode start corrects the event's location error by at
#: most 100 of the path's tolerances, one drift tolerance; see `_jump_failure`).
_JUMP_TOLERANCES = 10.0
#: How many breakpoints the descent check evaluates f at (evenly spaced, both ends kept):
#: f costs O(n²) for a quadratic, so every breakpoint of a d = 1000 run would cost more
#: than the run itself.
_DESCENT_SAMPLES = 33


def _matches_simpson(
    system: FilippovSystem, x: FloatArray, delta: FloatArray, i: int, change: float
) -> bool:
    """Whether ``h_i(x + δ) − h_i(x − δ) = change`` agrees, within a factor 4, with
    Simpson's rule on the Jacobian, ``(∂h_i(x − δ) + 4 ∂h_i(x) + ∂h_i(x + δ))·δ/3`` (off by
    the factor q/3 for ``h_i ~ (x − c)^q`` flat at x, q ≤ 11)."""
    m = system.kernel_f0_h(x)[1].shape[0]
    try:
        with np.errstate(all="ignore"):
            # (row i alone: a gradient flow's is one Hessian row, not the whole Hessian)
            one = np.array([i], dtype=np.intp)
            rows = [system.kernel_jacobian_rows(x + s * delta, one, m)[0] for s in (-1.0, 0.0, 1.0)]
    except FloatingPointError:
        return False
    simpson = float((rows[0] + 4.0 * rows[1] + rows[2]) @ delta) / 3.0
    if not (np.isfinite(simpson) and simpson > 0.0):
        return False
    return 0.25 * simpson <= change <= 4.0 * simpson


def path_scale(rec: Recorder) -> FloatArray:
    """``max_k |x_k|`` per component over the breakpoints (the size each component had on
    the way: the rounding of the end state is relative to it, not to the end state)."""
    return rec.component_max()


def certify(
    system: FilippovSystem,
    rec: Recorder,
    status: int,
    message: str,
    drift_rtol: float = 0.0,
    drift_atol: float = 0.0,
) -> tuple[int, str]:
    """Check a run the paths report as a success; a failed check becomes status −5.

    Cheap checks of the result against the inclusion itself, at the end of the run (their
    cost does not grow with the number of events beyond ``O(n)`` per breakpoint):

    * **descent**: for a steepest-descent flow, ``f`` does not increase over the
      breakpoints (sampled: at most ``_DESCENT_SAMPLES`` of them);
    * **zeros** (status 0 or 1): every switching function the final mode holds at zero
      (ℓ1 sliding, or every index at rest on ``h = 0``) is zero at the end state, each on
      its own scale, or the state is as close to where they vanish as the path's
      accuracy and the Jacobian's condition allow; for an ``h`` that is not affine, ``h``
      is also smooth there (a pole or jump: status −3);
    * **stationary end** (status 1): the other relays have the signs of their ``h_i``
      and ``f0 − B λ`` vanishes, each component on its own scale;
    * **precision**: the final mode's selection is resolved in double precision (its
      equilibrated condition number is below ``MAX_CONDITION``); beyond that the
      computed velocity, and so the end state, is rounding. A rest it resolves whose
      end state is determined only beyond the drift tolerances gets a note in the
      message (`_rest_precision_note`), not a failure.

    Parameters
    ----------
    system : FilippovSystem
    rec : Recorder
        The run, in the paths' clock.
    status, message : int, str
        What the path reported.
    drift_rtol, drift_atol : float
        How far (relative to the path's size, and absolutely) the integration may let the
        state drift off its sliding manifolds: 0 for the exact path, about ``rtol`` and
        ``atol`` for the event path.

    Returns
    -------
    (int, str)
        ``(status, message)`` unchanged when the run failed already or every check
        passes (the message with the rest's precision note, if any); ``(−5, what
        failed)`` otherwise (``−3`` for a pole or jump of ``h``).
    """
    if status < 0 or not rec.segments:
        return status, message
    try:
        return _certify(system, rec, status, message, drift_rtol, drift_atol)
    finally:
        _clear_end_jacobian()  # (not kept beyond the run: it may be d × d)


def _certify(
    system: FilippovSystem,
    rec: Recorder,
    status: int,
    message: str,
    drift_rtol: float,
    drift_atol: float,
) -> tuple[int, str]:
    checked = _manifold_failure(system, rec, status, drift_rtol, drift_atol)
    if checked is None:
        failure = _jump_failure(rec, drift_rtol, drift_atol)
        if failure is None:
            failure = _descent_failure(system, rec)
        note = ""
        if failure is None:
            failure, note = _precision_failure(system, rec, drift_rtol, drift_atol)
        if failure is None:
            return status, message + note
        checked = (STATUS_UNCERTIFIED, failure)
    bad_status, failure = checked
    return bad_status, (
        f"self-check failed: {failure} (the path reported: {message}; the solution is "
        "kept but is not a certified answer)"
    )


def _segment_state(seg: Segment, t: float) -> FloatArray:
    """The state of ``seg`` at ``t`` (its start or end), at the cost of one evaluation."""
    dense = seg.dense
    if isinstance(dense, LinearDense):
        return np.asarray(dense.x0 + (t - dense.t0) * dense.v, dtype=float)
    if isinstance(dense, NodalDense):
        # (one evaluation of the source while the segment's nodes are not sampled yet)
        return dense._state_at(t - dense.offset)
    return np.asarray(seg(t), dtype=float).reshape(-1)


def _jump_failure(rec: Recorder, drift_rtol: float, drift_atol: float) -> str | None:
    """Where the state jumps between two consecutive segments, by more than
    `_JUMP_TOLERANCES` drift tolerances or the square root of the drift tolerance (and the
    check's own rounding); ``None`` when the path is continuous.

    A Filippov solution is absolutely continuous: the state at the end of a mode is the
    one the next mode starts from, up to the start's projection onto its manifold (a
    correction of the event's location error, the path's tolerance). A mode start that
    moved the state 0.15 across a valley in one instant was reported as a unique
    stationary point. Two evaluations per segment (``O(n)``); compact records are
    exact-path replays, continuous by construction, and are not read."""
    segments = rec.segments
    if not isinstance(segments, list) or len(segments) < 2:
        return None
    scale = max(1.0, float(np.max(path_scale(rec), initial=0.0)))
    # Beyond the drift tolerances a path may move a mode's start onto a curve that an
    # ill-conditioned block puts further away (the continuation path: 2.6e-7 on a ridge of
    # 1e-8, 18 drift tolerances); no such correction reaches the square root of the
    # tolerance (1e-4 at the default rtol), and a jump across a valley (0.15) is caught.
    allowed = (
        max(_JUMP_TOLERANCES * (drift_rtol * scale + drift_atol), np.sqrt(drift_rtol) * scale)
        + _CHECK_RTOL * scale
    )
    for prev, seg in itertools.pairwise(segments):
        before = _segment_state(prev, prev.t1)
        after = _segment_state(seg, seg.t0)
        jump = float(np.max(np.abs(after - before), initial=0.0))
        if not jump <= allowed:
            return (
                f"the state jumps by {jump:.3g} at t = {seg.t0:.12g}, from "
                f"x = {np.array2string(before, precision=12)} to "
                f"{np.array2string(after, precision=12)} (a Filippov solution is "
                f"continuous; the path's accuracy allows {allowed:.3g})"
            )
    return None


def _descent_failure(system: FilippovSystem, rec: Recorder) -> str | None:
    obj = system.objective
    if obj is None:  # only steepest-descent flows carry their objective
        return None
    k = len(rec.x)
    picks = np.unique(np.linspace(0, k - 1, min(k, _DESCENT_SAMPLES)).round().astype(int))
    with np.errstate(all="ignore"):
        fs = np.array([float(obj.f(np.array(rec.x[i]))) for i in picks])
    if not np.all(np.isfinite(fs)):
        bad = int(picks[np.flatnonzero(~np.isfinite(fs))[0]])
        return f"f is not finite at the breakpoint t = {rec.t[bad]:.12g}"
    tol = _CHECK_RTOL * float(np.max(np.abs(fs)))
    rise = np.flatnonzero(fs[1:] > fs[:-1] + tol)
    if rise.size:
        # f is computed from terms that can be far larger than f itself (½xᵀHx + bᵀx of a
        # quadratic of condition 1e9 near its minimizer: terms ~1e7, f = −0.037): its
        # rounding, not a fraction of |f|, is what a rise must exceed. Estimated, only
        # when a rise is seen, from f's change under a one-ulp move of each sample (the
        # rounding of its terms, or |∇f|·ulp(x), whichever is larger), 64 times. (Every
        # sign and greedy flow of that quadratic started 1e-6 from its minimizer ended −5,
        # "f increased", on rises of 1e-9; review R22.)
        try:
            with np.errstate(all="ignore"):
                noise = max(
                    abs(float(obj.f(np.nextafter(np.array(rec.x[i]), np.inf))) - f)
                    for i, f in zip(picks, fs, strict=True)
                )
        except (ValueError, ArithmeticError):  # (f not finite an ulp away: no allowance)
            noise = np.nan
        if np.isfinite(noise):
            rise = np.flatnonzero(fs[1:] > fs[:-1] + max(tol, 64.0 * noise))
    if rise.size:
        i, j = int(picks[rise[0]]), int(picks[rise[0] + 1])
        return (
            f"f increased from {fs[rise[0]]:.6g} at t = {rec.t[i]:.12g} to "
            f"{fs[rise[0] + 1]:.6g} at t = {rec.t[j]:.12g} along a descent flow (a pole or "
            "discontinuity of the gradient was passed, or precision was lost)"
        )
    return None


def _end_state(
    system: FilippovSystem, rec: Recorder, rows: np.ndarray | None = None
) -> tuple[FloatArray, FloatArray, FloatArray | None, FloatArray, FloatArray, FloatArray]:
    """``(x, f0, B, h, J, S)`` at the end state (``B`` ``None`` when it is the identity:
    see `_times_B`). ``J`` holds the rows ``rows`` of ``∂h/∂x`` (every row when ``None``)
    and ``S`` their scales, in the same order: ``S`` of row ``i`` is the size of the terms
    ``h_i`` is made of there, ``|∂h_i/∂x|`` times each component's size on the path, plus
    the intercept ``|h_i − ∂h_i/∂x · x|``."""
    x = np.array(rec.x[-1], dtype=float)
    if system.B_is_identity:  # (a steepest-descent flow: its n × n identity is not built)
        (f0, hx), B = system.kernel_f0_h(x), None
    else:
        f0, B, hx = system.kernel_evaluate(x)
    jac = _end_jacobian(system, x, hx.shape[0], rows)
    intercept = (hx if rows is None else hx[rows]) - jac @ x
    return x, f0, B, hx, jac, component_scales(jac, path_scale(rec), intercept)


def _times_B(B: FloatArray | None, v: FloatArray) -> FloatArray:
    """``B v``, with ``B = None`` standing for the identity (see `_end_state`)."""
    return v if B is None else B @ v


#: The last end-state Jacobian, per thread: the manifold and precision checks of one run
#: both need it at the same state (a dense Hessian, ~0.5 s at d = 1000, for a gradient flow).
_END_JACOBIAN = threading.local()


def _end_jacobian(
    system: FilippovSystem, x: FloatArray, m: int, rows: np.ndarray | None = None
) -> FloatArray:
    """The rows ``rows`` of ``∂h/∂x`` at the end state ``x`` (all when ``None``), computed
    once for both checks of a run.

    Only the rows a check reads are computed: a run that ends sliding on ``k`` of ``n``
    manifolds needs ``k`` rows, ``k/n`` of a gradient flow's dense Hessian (which for a
    sparse or operator Hessian is ``n`` products and an ``n × n`` array: 100 MB at
    ``n = 2500`` in the self-check of a run whose data took 0.6 MB).
    """
    key = x.tobytes()
    kept = getattr(_END_JACOBIAN, "entry", None)
    if kept is not None and kept[0] is system and kept[1] == key:
        if kept[2] is None:  # (every row kept)
            return kept[3] if rows is None else kept[3][rows]
        if rows is not None and np.array_equal(kept[2], rows):
            return kept[3]
    if rows is None:
        jac = system.kernel_jacobian(x, m)
    else:
        jac = system.kernel_jacobian_rows(x, np.asarray(rows, dtype=np.intp), m)
    _END_JACOBIAN.entry = (system, key, None if rows is None else rows.copy(), jac)
    return jac


def _clear_end_jacobian() -> None:
    _END_JACOBIAN.entry = None


class _Unresolved(Exception):
    """A switching function that is not a resolved zero at the end: ``status`` −3 (pole
    or discontinuity) or −5 (not zero)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _check_zeros(
    system: FilippovSystem,
    rec: Recorder,
    idx: np.ndarray,
    x: FloatArray,
    hx: FloatArray,
    jac: FloatArray,
    scale: FloatArray,
    state_rtol: float,
    state_atol: float,
    what: str,
) -> None:
    """Raise :class:`_Unresolved` unless the switching functions ``idx`` are zero at ``x``
    (``hx`` is all of ``h(x)``; ``jac`` and ``scale`` are the rows of ``idx`` alone, in
    its order, as :func:`_end_state` gives them for ``rows = idx``).

    First, cheaply, each on its own scale: ``|h_i| ≤ _ZERO_ULPS · eps · S_i`` (``S`` from
    :func:`_end_state`): rounding of the terms ``h_i`` is made of, which is what the exact
    path and the event path's projection leave. If that fails, the distance from ``x`` to
    the manifold ``{h_idx = 0}`` is measured, as the minimal-norm Newton correction
    ``d = (∂h_idx/∂x)⁺ h_idx``, and must be at most ``state_rtol`` times the path's size
    plus ``state_atol`` (a residual small on the scale of its terms can still be far from the manifold when
    the Jacobian is ill-conditioned: a condition-1e12 sign flow ended 2 % off with
    residuals of 5e-13 of their terms).

    For an ``h`` that is not affine, that linear reading of "zero" is trusted only where
    ``h_i`` is smooth: across ``x ∓ δ``, ``δ_j = _CHECK_RTOL · X_j · sign(∂h_i/∂x_j)``
    (``X`` the path's size), its change must match the Jacobian's prediction
    ``2 _CHECK_RTOL S_i`` within a factor 4. A pole (``1/x`` at 0) or a jump that rounding
    turned into a "zero" (``x**(10**100)``, flat one ulp below 1) fails that test: −3.
    """
    idx = np.asarray(idx, dtype=np.intp)
    if not system.is_affine:
        X = path_scale(rec)
        for p in _rough_candidates(system, idx, x, jac, X).tolist():
            i = int(idx[p])
            predicted = 2.0 * _CHECK_RTOL * scale[p]
            delta = _CHECK_RTOL * X * np.sign(jac[p])
            with np.errstate(all="ignore"):
                try:
                    lo = float(system.kernel_f0_h(x - delta)[1][i])
                    hi = float(system.kernel_f0_h(x + delta)[1][i])
                except FloatingPointError:  # h not finite next to x (NonFiniteError too)
                    lo = hi = np.nan
            smooth = np.isfinite(lo) and np.isfinite(hi)
            if smooth and not 0.25 * predicted <= hi - lo <= 4.0 * predicted:
                # A flat zero (a degenerate minimum: h_i ~ (x − c)³, its Jacobian ~0 at x)
                # is smooth too: the change then matches Simpson's rule on the Jacobian
                # over [x − δ, x + δ], where a pole or a jump does not.
                smooth = _matches_simpson(system, x, delta, i, hi - lo)
            if not smooth:
                raise _Unresolved(
                    -3,
                    f"{what}, but h_{i} is not smooth there: across a relative perturbation "
                    f"{_CHECK_RTOL:g} it goes from {lo:.6g} to {hi:.6g} where its Jacobian "
                    f"predicts a change of {predicted:.3g} (a pole or discontinuity of h) "
                    f"{_where(rec, x)}",
                )
    # One vectorised test (idx may hold all of d = 1000 indices).
    zero_rtol = _ZERO_ULPS * _EPS
    h_idx = hx[idx]
    off = np.flatnonzero(np.abs(h_idx) > zero_rtol * scale)  # (positions in idx)
    if not off.size:
        return
    size = float(np.max(path_scale(rec)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d, _, _, sv = np.linalg.lstsq(jac, h_idx, rcond=None)
    dist = float(np.max(np.abs(d), initial=0.0))
    # What double precision can resolve of that manifold: ~1e-14 of the size per unit of
    # condition (the bar the issue sets); the path's own accuracy otherwise.
    cond = float(sv[0] / sv[-1]) if sv.size and sv[-1] > 0 else np.inf
    allowed = max(state_rtol, zero_rtol)
    # The condition's allowance (what double precision resolves of an ill-conditioned
    # manifold) excuses a distance that the residual's own rounding and the path's
    # accuracy can make, through a small singular value: not a residual far above both.
    # (A Poisson model's ℓ1 flow from |∇f| = 1e33 "rested" where |∇f| = 2.9e19, 1e-5 of
    # its terms and f = 3e20 against a minimum of 0.88: the Hessian's condition of 6.8e12
    # allowed 7 % of the path's size, and the Newton step, short where exp(z) is steep,
    # was within it.)
    residual = float(np.max(np.abs(h_idx) / np.maximum(scale, 1e-300)))
    if residual <= _RESIDUAL_SLACK * allowed:
        allowed = max(allowed, _RESOLVED_PER_CONDITION * cond)
    if np.isfinite(dist) and dist <= allowed * size + state_atol:
        return
    p = int(off[np.argmax(np.abs(h_idx[off]) / np.maximum(scale[off], 1e-300))])
    i = int(idx[p])
    raise _Unresolved(
        STATUS_UNCERTIFIED,
        f"{what}, but h_{i} = {hx[i]:.6g} is not zero on its own scale (tolerance "
        f"{zero_rtol * scale[p]:.3g}) and the state is {dist:.3g} away from where the "
        f"switching functions {_brief(idx)} vanish ({dist / max(size, 1e-300):.3g} of the "
        f"path's size, above {allowed:.3g}: precision lost or an "
        f"inaccurate end) {_where(rec, x)}",
    )


def _rough_candidates(
    system: FilippovSystem, idx: np.ndarray, x: FloatArray, jac: FloatArray, X: FloatArray
) -> np.ndarray:
    """The positions in ``idx`` of the ``h_i`` that the per-index smoothness test of
    :func:`_check_zeros` must look at: those that fail one shared test (``jac``: the
    rows of ``idx``, in its order).

    The per-index test costs two evaluations of ``h`` per index (2000 gradients at the
    stationary end of a d = 1000 sign flow, more than the run). One pair first, along
    ``δ = _CHECK_RTOL · X · r`` with fixed random signs ``r``, for every index at once:
    where ``h_i`` is smooth, its change across ``x ∓ δ`` is ``2 (∂h_i/∂x) δ`` up to
    ``O(|δ|³)``, far inside ``1.5 _CHECK_RTOL |∂h_i/∂x| X`` (the per-index test's own
    window half-width); a pole or a jump crossed by ``δ`` (every coordinate of ``δ`` is
    nonzero where ``X`` is) changes it by far more. Only the indices outside go through
    the per-index test (which also tells a flat zero from a pole), so its messages and
    statuses are unchanged.
    """
    every = np.arange(idx.size)
    if idx.size <= 2:
        return every
    r = np.where(np.random.default_rng(0).random(x.size) < 0.5, -1.0, 1.0)
    delta = _CHECK_RTOL * X * r
    with np.errstate(all="ignore"):
        try:
            change = system.kernel_f0_h(x + delta)[1][idx] - system.kernel_f0_h(x - delta)[1][idx]
        except FloatingPointError:  # not finite next to x: every index to the full test
            return every
        predicted = 2.0 * (jac @ delta)
        window = 1.5 * _CHECK_RTOL * (np.abs(jac) @ X)
    ok = np.isfinite(change) & (np.abs(change - predicted) <= window)
    return every[~ok]


def _where(rec: Recorder, x: FloatArray) -> str:
    """Where the run ended, for a message (formatted only when a check fails: printing a
    d = 1000 state costs ~20 ms)."""
    return f"at t = {rec.t[-1]:.12g}, x = {np.array2string(x, precision=12)}"


def _manifold_failure(
    system: FilippovSystem, rec: Recorder, status: int, drift_rtol: float, drift_atol: float
) -> tuple[int, str] | None:
    """The switching functions the final mode holds on their manifolds (ℓ1 sliding; every
    index at rest on ``h = 0``) are zero at the end; at a stationary end also the velocity
    ``f0 − B λ`` vanishes and the other relays have the signs of their ``h_i``.

    The end may be off the manifolds by the path's own accuracy, ``drift_rtol`` of the
    path's size plus ``drift_atol`` (the event path's integration error), see
    :func:`_check_zeros`.
    """
    seg = rec.segments[-1]
    mode, lam = seg.mode, np.asarray(seg.lam, dtype=float)
    free = np.asarray(mode.free, dtype=np.intp)
    signs = np.asarray(mode.signs, dtype=float)
    at_rest = free.size == signs.size and not signs.any()
    holds_zeros = mode.norm == "l1" or at_rest
    if not (free.size and holds_zeros) and status != 1:
        return None
    # A stationary end reads every row (the other relays' signs, the velocity); any other
    # only the rows of the manifolds its final mode slides on.
    rows = None if status == 1 else free
    x, f0, B, hx, jac, scale = _end_state(system, rec, rows)
    what = "the end is reported stationary" if status == 1 else "the final mode slides on h_i = 0"
    try:
        if holds_zeros:
            jac_f, scale_f = jac, scale
            if rows is None and free.size != hx.size:
                jac_f, scale_f = jac[free], scale[free]
            _check_zeros(system, rec, free, x, hx, jac_f, scale_f, drift_rtol, drift_atol, what)
    except _Unresolved as bad:
        return bad.status, bad.message
    if status != 1:
        return None
    if mode.norm == "l1" and not at_rest:
        fixed = np.flatnonzero(signs != 0)
        tol = _CHECK_RTOL * scale[fixed]
        wrong = fixed[(np.abs(hx[fixed]) > tol) & (np.sign(hx[fixed]) != signs[fixed])]
        if wrong.size:
            i = int(wrong[0])
            return STATUS_UNCERTIFIED, (
                f"{what}, but h_{i} = {hx[i]:.6g} has the sign opposite to its relay value "
                f"{signs[i]:+.0f} {_where(rec, x)}"
            )
    v = f0 - _times_B(B, lam)
    absB = None if B is None else np.abs(B)
    if at_rest:
        # At rest on h = 0 (every relay value free) the recorded λ is the one that holds
        # the state there, 0 for a gradient flow: the velocity is judged against the
        # largest that a relay value of size 1 moves (on |λ| or |f0| itself, every
        # rounding of a zero would fail: a Coulomb oscillator's rest had q' = v = 9e-18).
        # The greedy flow's event path recorded its rests with the tie's λ, ‖λ‖₁ = 1,
        # a velocity of size 1 that this check did not look at.
        # That λ solves ∂h/∂x B λ = ∂h/∂x f0, so it is resolved to the condition of
        # ∂h/∂x B times eps (a sign flow of condition 1e10 rested with a velocity of
        # 1.3e-9): that allowance is added where the tight test alone fails (it costs a
        # factorization).
        reach = float(np.max(np.abs(f0) + _times_B(absB, np.ones(lam.size)), initial=0.0))
        moving = np.flatnonzero(np.abs(v) > _CHECK_RTOL * reach)
        if moving.size:
            cond = equilibrated_condition(jac if B is None else jac @ B)
            allowance = (_CHECK_RTOL + 64 * _EPS * min(cond, MAX_CONDITION)) * reach
            moving = np.flatnonzero(np.abs(v) > allowance)
    else:
        v_tol = _CHECK_RTOL * (np.abs(f0) + _times_B(absB, np.abs(lam)))
        moving = np.flatnonzero(np.abs(v) > np.maximum(v_tol, _CHECK_RTOL * float(np.max(v_tol))))
    if moving.size:
        i = int(moving[0])
        return STATUS_UNCERTIFIED, (
            f"{what}, but its velocity component {i} is {v[i]:.6g} {_where(rec, x)}"
        )
    return None


def _precision_failure(
    system: FilippovSystem, rec: Recorder, drift_rtol: float = 0.0, drift_atol: float = 0.0
) -> tuple[str | None, str]:
    """``(failure, note)``: why the final mode's selection is not resolved in double
    precision (or ``None``), and, at a rest it resolves, a note for the run's message
    when the end state is determined only beyond the path's drift tolerances (see
    `_rest_precision_note`; "" otherwise)."""
    seg = rec.segments[-1]
    mode = seg.mode
    free = np.asarray(mode.free, dtype=np.intp)
    at_rest = free.size == len(mode.signs) and not any(mode.signs)
    # ℓ1 sliding selects λ_J from M = (∂h/∂x)_J B_J; at rest on h = 0 (ℓ∞, ℓ2) the end
    # state is where h vanishes, resolved through the same M on every index. (A ℓ∞ tie
    # facet selects through a bordered system whose conditioning M alone does not tell.)
    if not free.size or not (mode.norm == "l1" or at_rest):
        return None, ""
    k = free.size
    if rec.spd_condition is not None and 10.0 * k * k * rec.spd_condition <= MAX_CONDITION:
        # Every principal block of a symmetric positive definite matrix is at most as
        # ill-conditioned as the whole (2-norm), its unit-diagonal scaling at most k times
        # the best diagonal scaling (van der Sluis), 1-norm and 2-norm condition numbers
        # agree within a factor k, and the estimate within 10: no need to factor again
        # (O(k³): ~20 ms at d = 1000).
        return None, ""
    x = np.array(rec.x[-1], dtype=float)
    hx = system.kernel_f0_h(x)[1]
    jac = _end_jacobian(system, x, hx.shape[0], free)  # (the rows of `free` alone)
    if system.B_is_identity:
        # B = I (every steepest-descent flow): no product, and no copy when every index
        # is in the block (a rest: the whole n × n Hessian)
        M = jac if free.size == jac.shape[1] else jac[:, free]
    else:
        B = system.kernel_evaluate(x)[1]
        M = jac @ B[:, free]
    if at_rest:
        # Where h vanishes to rounding -- the Newton step to its zero is below the rounding
        # of x -- the end state is that zero whatever M's condition: at a degenerate
        # minimum (h ~ (x − c)^q, M singular there) M says nothing about where h vanishes.
        rounding = 64.0 * _EPS * max(1.0, float(np.max(np.abs(x))))
        spd_step = _spd_step(M, hx[free])
        if spd_step is not None and float(np.max(np.abs(spd_step))) <= rounding:
            return None, ""
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            step = np.linalg.lstsq(M, hx[free], rcond=None)[0]
        if float(np.max(np.abs(step))) <= rounding:
            return None, ""
        # At rest in a valley of zeros (duplicated features: M exactly singular, h in its
        # range) the state along the valley is the path's, not rounding's -- the rest is
        # flagged not unique -- and what rounding can move is the state across the valley,
        # which M's condition on its range tells (the whole M's is infinite).
        on_range = _condition_on_range(M, hx[free], x)
        if on_range is not None and on_range <= MAX_CONDITION:
            return None, ""
    cond = equilibrated_condition(M)
    if cond <= MAX_CONDITION:
        note = ""
        if at_rest:
            note = _rest_precision_note(step, x, cond, drift_rtol, drift_atol)
        return None, note
    return (
        f"precision lost: the sliding selection of the final mode (switching functions "
        f"{_brief(free)}) has condition number {cond:.3g} after equilibration, beyond what "
        f"double precision resolves ({MAX_CONDITION:.0e}); its velocity and end state "
        "are rounding"
    ), ""


def _rest_precision_note(
    step: np.ndarray, x: FloatArray, cond: float, drift_rtol: float, drift_atol: float
) -> str:
    """The message's note on a rest whose end state is determined only beyond the path's
    drift tolerances (``""`` otherwise, and for a path exact to rounding, whose drift
    tolerances are 0).

    The Newton step ``M⁻¹ h`` from the end state to where ``h`` vanishes is its distance
    from the rest point to first order, or, where ``h`` is at its rounding there, how far
    rounding leaves that point undetermined: at a degenerate minimum (``f ~ (x − c)⁴``
    along a direction) the gradient is at its rounding over a ball of radius about
    ``eps^(1/3)``, and a run at rtol 1e-12 rested 2.9e-6 from the minimizer, three million
    tolerances, with nothing said (review R29). The selection is resolved (its condition
    is below `MAX_CONDITION`): the rest stands, and the message says how well it is
    known."""
    if drift_rtol == 0.0 and drift_atol == 0.0:
        return ""
    size = float(np.max(np.abs(step)))
    allowance = drift_atol + drift_rtol * float(np.max(np.abs(x)))
    if not size > allowance:
        return ""
    return (
        f" (the end state is determined to about {size:.2g} only, or worse: the Newton step "
        "from it to where the switching functions vanish (a third of the distance at a "
        "quartic minimum), through their Jacobian of condition "
        f"{cond:.2g} there, is {size / allowance:.3g} times the self-check's drift "
        "tolerance -- a degenerate or ill-conditioned rest, whose switching functions are "
        "at their rounding over that distance)"
    )


def _spd_step(M: FloatArray, h: FloatArray) -> FloatArray | None:
    """``M⁻¹ h`` by a Cholesky factor when ``M`` is symmetric (to its rounding) and the
    factor exists (else None): the rest test's Newton step, an order of magnitude cheaper
    than the SVD of ``lstsq`` (about 20 ms of a 0.4 s run at k = 200). Its verdict needs no condition
    number: the computed step ``s`` solves ``(M + E) s = h`` with ``|E|`` at ``M``'s
    rounding, so a step below the rounding of ``x`` puts ``h`` at the rounding of ``M x``,
    which is what the test asks, however ill-conditioned ``M`` is."""
    if M.shape[0] != M.shape[1]:
        return None
    if not _symmetric_to_rounding(M):
        return None
    try:
        factor = scipy.linalg.cho_factor(M, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    with np.errstate(all="ignore"):
        step = scipy.linalg.cho_solve(factor, h, check_finite=False)
    return np.asarray(step) if np.all(np.isfinite(step)) else None


def _symmetric_to_rounding(M: FloatArray) -> bool:
    """Whether ``M`` is symmetric to within 64 ulps of its largest entry (a sparse or
    operator Hessian made dense sums its entries in another order than its transpose's).
    Such an ``M`` is symmetric for the rest test: the Cholesky factor reads its lower
    triangle, which defines a symmetric matrix within that rounding of ``M``, inside the
    ``|E|`` of `_spd_step`. (Refused, such an ``M`` went to lstsq's SVD: 1.5–2.3 s of a
    sparse n = 2000 run.) Compared a block of rows at a time: no ``n × n`` temporary."""
    if np.array_equal(M, M.T):
        return True
    if not M.size:
        return True
    bound = 64.0 * _EPS * max(float(M.max()), -float(M.min()))  # (no |M| temporary)
    rows = max(1, 2**17 // max(M.shape[0], 1))  # (a megabyte of rows at a time)
    for i in range(0, M.shape[0], rows):
        if not float(np.max(np.abs(M[i : i + rows] - M[:, i : i + rows].T))) <= bound:
            return False
    return True


def _condition_on_range(M: FloatArray, h: FloatArray, x: FloatArray) -> float | None:
    """The condition number of ``M`` on its range, when ``M`` is singular to what double
    precision resolves (singular values below ``1/MAX_CONDITION`` of the largest, after
    equilibration) and ``h`` has no component off that range beyond rounding (else None).

    Not only exactly singular (``k·eps``): on the valley of minimizers of a low-rank
    factorization (the factors' rotations) the rest is a little off the valley, where the
    Hessian's eigenvalue along it is 4e-14 of the largest, not 0, while the gradient along
    it is at rounding; every such rest of the sign flow's event path ended −5 ("precision
    lost"), on a correct minimizer."""
    split = RangeSplit.of(M, 1.0 / MAX_CONDITION)
    if split is None:
        return None
    # (h's rounding: that of M times x's, ‖M‖·ulp(x), on the scale of its entries)
    off_range = float(np.max(np.abs(split.left_null.T @ (h * split.scaling))))
    if off_range > 64.0 * _EPS * split.top * max(1.0, float(np.max(np.abs(x)))):
        return None
    return split.condition


@dataclasses.dataclass(frozen=True)
class RangeSplit:
    """A matrix ``M`` singular to rounding split into its range and null spaces: its
    singular values above ``k·eps`` of the largest (``top``) span the range, and
    ``condition`` is the largest over the smallest of those; ``left_null`` and
    ``right_null`` hold the singular vectors of the others. A symmetric ``M`` with a
    positive diagonal is split after scaling to ``D M D``, ``D`` the inverse square root of
    its diagonal, as in `equilibrated_condition` (``scaling``: ``D``'s diagonal; else ones).
    ``O(k³)``: for a matrix whose estimated condition is already beyond `MAX_CONDITION`."""

    condition: float
    top: float
    left_null: FloatArray
    right_null: FloatArray
    scaling: FloatArray

    @classmethod
    def of(cls, M: FloatArray, null_below: float | None = None) -> RangeSplit | None:
        """The split of ``M``, or None where ``M`` is not singular to rounding (singular
        values at most ``null_below`` of the largest, ``k·eps`` unless given, count as
        null)."""
        k = M.shape[0]
        d = np.ones(k)
        if M.shape[0] == M.shape[1] and np.array_equal(M, M.T) and bool(np.all(np.diag(M) > 0)):
            d = 1.0 / np.sqrt(np.diag(M))
            M = M * d[:, None] * d[None, :]
        U, sv, Vt = np.linalg.svd(M)
        top = float(sv[0]) if sv.size else 0.0
        kept = sv > (k * _EPS if null_below is None else null_below) * top
        if top == 0.0 or bool(np.all(kept)):
            return None
        return cls(top / float(sv[kept][-1]), top, U[:, ~kept], Vt[~kept].T, d)


def equilibrated_condition(M: FloatArray) -> float:
    """1-norm condition estimate of ``M`` after diagonal equilibration.

    Equilibration removes what a diagonal rescaling of ``h`` or ``x`` would (the sign flow
    of ``diag(1e13, 1)`` is perfectly resolved), leaving the coupling that rounding cannot
    undo. A symmetric positive definite ``M`` is scaled to unit diagonal and factored by
    Cholesky (``potrf``/``pocon``); anything else has its rows, then its columns, scaled to
    unit max and is factored by LU (``gecon``). ``O(k³)`` once, at the end of a run.
    """
    from scipy.linalg import lu_factor  # (imported here: `import filippov` stays light)
    from scipy.linalg.lapack import dgecon, dpocon, dpotrf

    if np.array_equal(M, M.T) and bool(np.all(np.diag(M) > 0)):
        # Symmetric (a Hessian): scale both sides by the diagonal instead (keeps the
        # symmetry; near-optimal for a positive definite M, van der Sluis) and try
        # Cholesky, half the work of LU. Not positive definite: LU below.
        d = 1.0 / np.sqrt(np.diag(M))
        Ss = M * d[:, None] * d[None, :]
        factor, info = dpotrf(Ss, lower=1)
        if info == 0:
            rcond, info = dpocon(factor, float(np.max(np.sum(np.abs(Ss), axis=0))), uplo="L")
            return 1.0 / float(rcond) if info == 0 and rcond > 0.0 else np.inf
    with np.errstate(divide="ignore"):
        r = 1.0 / np.max(np.abs(M), axis=1)
    if not np.all(np.isfinite(r)):
        return np.inf  # a zero row: singular
    Ms = M * r[:, None]
    with np.errstate(divide="ignore"):
        c = 1.0 / np.max(np.abs(Ms), axis=0)
    if not np.all(np.isfinite(c)):
        return np.inf
    Ms = Ms * c[None, :]
    anorm = float(np.max(np.sum(np.abs(Ms), axis=0)))
    try:
        with warnings.catch_warnings():  # a singular factor is reported as inf below
            warnings.simplefilter("ignore")
            lu, _ = lu_factor(Ms, check_finite=False)
    except (ValueError, np.linalg.LinAlgError):
        return np.inf
    if not np.all(np.isfinite(lu)) or np.any(np.diag(lu) == 0.0):
        return np.inf
    rcond, info = dgecon(lu, anorm, norm="1")
    if info != 0 or not rcond > 0.0:
        return np.inf
    return 1.0 / float(rcond)


def _brief(idx: np.ndarray) -> str:
    items = [str(int(i)) for i in idx[:8]]
    return "{" + ", ".join(items) + (", ...}" if idx.size > 8 else "}")
