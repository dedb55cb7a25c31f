"""Finite-difference checks of user-supplied derivatives (gradient, Hessian, Jacobian).

A derivative that disagrees with its function gives silently wrong flows: the sliding
selection, the event times and the stationarity test all trust it. These helpers compare a
derivative with a fourth-order central difference of its function along a few directions
and return a *relative mismatch* that is conservative by construction: the difference
between two step sizes estimates the finite-difference error, and only a mismatch well
beyond that estimate counts. A correct derivative therefore reads as (about) zero even on
badly scaled or rapidly varying functions, and a wrong one (a sign slip, a missing term)
reads as order one.

scipy has ``optimize.check_grad`` (gradient only, first-order differences, an absolute
error); we need Hessian/Jacobian products too, an error relative to the derivative's own
size, and the uncertainty estimate that keeps a check run by default from raising false
alarms -- hence this small module.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from filippov._validation import FloatArray

_EPS = float(np.finfo(float).eps)

# A fourth-order difference has truncation error O(s⁴) and rounding error O(eps/s): the
# step eps**(1/5) (relative to the size of x) balances the two at about eps**(4/5) ~ 3e-13.
_REL_STEP = _EPS**0.2

# A mismatch counts only beyond this multiple of the estimated finite-difference error.
_SAFETY = 10.0

# Steps tried, each ten times smaller (down to ~1e-11 relative), before a mismatch is
# believed.
_SHRINKS = 9


def random_directions(n: int, count: int, seed: int) -> FloatArray:
    """``count`` unit vectors in ``R^n`` with independent Gaussian entries, as rows."""
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((count, n))
    return V / np.linalg.norm(V, axis=1, keepdims=True)


def _fourth_order(fun: Callable[[FloatArray], FloatArray], x: FloatArray, v: FloatArray, s: float):
    """Fourth-order central difference of ``fun`` along ``v`` with step ``s``, and the
    largest magnitude of ``fun`` seen (for the rounding-error estimate)."""
    p1, m1 = fun(x + s * v), fun(x - s * v)
    p2, m2 = fun(x + 2 * s * v), fun(x - 2 * s * v)
    d = (8.0 * (p1 - m1) - (p2 - m2)) / (12.0 * s)
    size = max(float(np.max(np.abs(w))) for w in (p1, m1, p2, m2))
    return d, size


def directional_mismatch(
    fun: Callable[[FloatArray], FloatArray],
    x: FloatArray,
    v: FloatArray,
    claimed: FloatArray,
) -> tuple[float, float]:
    """Absolute mismatch between ``claimed`` (the derivative of ``fun`` at ``x`` along ``v``)
    and a finite difference, beyond the finite difference's own error estimate.

    Returns ``(excess, uncertainty)``: ``excess`` is ``max(0, |D − claimed|∞ − 10·u)`` with
    ``D`` the difference quotient and ``u`` its estimated error (the spread between the steps
    ``s`` and ``s/2`` plus rounding); a mismatch is retried with smaller steps and the
    smallest is kept. Non-finite differences (a pole within the step) give ``(0, inf)``: the
    check is then inconclusive, never a false alarm.
    """
    s = _REL_STEP * max(1.0, float(np.max(np.abs(x))))
    best = (0.0, float("inf"))
    seen = float("inf")  # the smallest mismatch a larger step showed
    # A mismatch must persist as the step shrinks: a step wider than the distance to a pole
    # or a fast feature of `fun` gives a wrong difference at first, a wrong derivative at
    # every step. Only a suspected mismatch pays for the smaller steps -- and only while
    # they can still resolve it: once a step's rounding alone swallows the mismatch seen so
    # far, its "no mismatch" says nothing (a gradient 1% off, and one missing a whole term,
    # were cleared at the step where the rounding, growing like 1/s, first exceeded the
    # error every larger step had shown).
    for _ in range(_SHRINKS):
        excess, uncertainty, mismatch, rounding = _mismatch_at_step(fun, x, v, claimed, s)
        if excess == 0.0:
            if (
                _SAFETY * uncertainty < seen
                or 2.0 * rounding < uncertainty
                or mismatch + 0.1 * uncertainty < 0.5 * seen
            ):
                # Resolved and gone (the larger steps' artefact); or hidden by the spread
                # between two steps -- truncation, a step still too wide for a pole or a
                # fast feature -- which the smaller steps reduce; or fallen well below what
                # the larger steps showed (a feature they did not resolve): no mismatch.
                return excess, uncertainty
            # Hidden by rounding alone, the mismatch as large as the larger steps showed:
            # their verdict stands. (The price: a feature of f only some hundred ulps of f
            # tall, which no step resolves, can read as a mismatch; `check_derivatives`
            # says so, and solve's check can be skipped.)
            return best
        if best[1] == float("inf") or excess < best[0]:
            best = (excess, uncertainty)
        seen = min(seen, mismatch)
        s *= 0.1
    return best


def coarse_mismatch(
    fun: Callable[[FloatArray], FloatArray],
    x: FloatArray,
    v: FloatArray,
    claimed: FloatArray,
    *,
    widenings: int = 3,
) -> tuple[float, float]:
    """:func:`directional_mismatch` at steps ten, a hundred, ... times wider than its
    first: ``(excess, uncertainty)`` of the first wider step that shows a mismatch, else
    of the one with the smallest uncertainty.

    For a ``fun`` whose value is large beside its variation (an offset of 1e12 on terms
    of size one), the rounding of the differences at the usual steps exceeds the
    derivative itself and hides any error in it; wider steps divide that rounding by the
    widening, while the spread between a step and its half keeps their truncation
    counted. The widening stops once the spread (truncation, a feature of ``fun`` not
    resolved) outweighs the rounding: wider steps would only see more of it. Used to
    tell which derivative is wrong when a check has already failed, never to fail one.
    """
    s = _REL_STEP * max(1.0, float(np.max(np.abs(x))))
    best = (0.0, float("inf"))
    for _ in range(widenings):
        s *= 10.0
        excess, uncertainty, _mismatch, rounding = _mismatch_at_step(fun, x, v, claimed, s)
        if excess > 0.0:
            return excess, uncertainty
        if uncertainty < best[1]:
            best = (excess, uncertainty)
        if 2.0 * rounding < uncertainty:
            break
    return best


def _mismatch_at_step(
    fun: Callable[[FloatArray], FloatArray],
    x: FloatArray,
    v: FloatArray,
    claimed: FloatArray,
    s: float,
) -> tuple[float, float, float, float]:
    """``(excess, uncertainty, mismatch, rounding)`` at the step ``s`` (see
    `directional_mismatch`; ``rounding`` is the part of ``uncertainty`` that grows as
    the step shrinks)."""
    with np.errstate(all="ignore"):
        d1, size1 = _fourth_order(fun, x, v, s)
        d2, size2 = _fourth_order(fun, x, v, 0.5 * s)
    if not (np.all(np.isfinite(d1)) and np.all(np.isfinite(d2))):
        return 0.0, float("inf"), 0.0, 0.0
    spread = float(np.max(np.abs(d1 - d2)))
    rounding = 4.0 * _EPS * max(size1, size2) / (0.5 * s)
    uncertainty = spread + rounding
    mismatch = float(np.max(np.abs(d2 - claimed)))
    return max(0.0, mismatch - _SAFETY * uncertainty), uncertainty, mismatch, rounding


def relative_error(excess: float, scale: float, uncertainty: float) -> float:
    """``excess`` relative to ``scale``, the size of the derivative checked.

    The floor ``10·uncertainty`` keeps a derivative that is zero at ``x`` (its true size
    below the finite difference's resolution) from dividing by zero.
    """
    if excess == 0.0:
        return 0.0
    return excess / max(scale, _SAFETY * uncertainty, float(np.finfo(float).tiny))
