"""Resampling a dense output into Hermite nodes to a stated tolerance.

Used to store a :class:`~filippov.solution.CallableDense` (which cannot be written to
disk) and a ``solve_ivp`` dense output as :class:`~filippov.solution.HermiteDense`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.polynomial import chebyshev as _cheb

from filippov._validation import (
    FloatArray,
)
from filippov.solution.dense import HermiteDense, SegmentDense
from filippov.solution.records import as_time

__all__ = [
    "CHEB_POINTS",
    "RESAMPLE_ATOL",
    "RESAMPLE_MAX_NODES",
    "RESAMPLE_RTOL",
    "ChebFits",
    "hermite_nodes",
    "resample_callable",
]


# Default tolerances for resampling a dense output into Hermite nodes: the stored
# interpolant reproduces its source to atol + rtol * max|x| on the segment.
RESAMPLE_RTOL = 1e-12
RESAMPLE_ATOL = 1e-12
RESAMPLE_MAX_NODES = 200_000
CHEB_POINTS = 17  # exact for the step polynomials of every solve_ivp method (degree <= 12)

# --------------------------------------------------------------------------- resampling
#
# A dense output is turned into Hermite nodes in two steps. (1) It is cut into smooth
# pieces (the steps of a solve_ivp dense output, or a bisection of a callable), each
# fitted by a Chebyshev interpolant at CHEB_POINTS first-kind points; the fits give the
# node velocities and a bound on x'''' that sets the initial spacing from the Hermite
# error bound h**4/384 max|x''''|. (2) Every node interval is checked at its midpoint
# (where the Hermite error peaks) against the source and bisected until it passes. A
# cubic Hermite interval depends only on its two end nodes, so only new intervals are
# re-checked. Node values always come from the source itself.

_CHEB_THETA = np.pi * (np.arange(CHEB_POINTS) + 0.5) / CHEB_POINTS
_CHEB_NODES = np.cos(_CHEB_THETA)  # first-kind points in [-1, 1]
_VALUES_TO_COEF = (2.0 / CHEB_POINTS) * np.cos(np.outer(np.arange(CHEB_POINTS), _CHEB_THETA))
_VALUES_TO_COEF[0] *= 0.5
_DERIV1 = _cheb.chebder(np.eye(CHEB_POINTS), 1, axis=0)  # coefficients -> d/ds coefficients
_DERIV4 = _cheb.chebder(np.eye(CHEB_POINTS), 4, axis=0)
_GRID = np.linspace(-1.0, 1.0, 33)


class ChebFits:
    """Chebyshev fits of a dense output on pieces; nodes go in ``[lo_k, hi_k]``.

    ``a, b`` (shape ``(P,)``) are the fit intervals, ``values`` (``(P, p, n)``) the
    source at :func:`ChebFits.points`; ``lo, hi`` the (sub)ranges where nodes go.
    """

    def __init__(self, a: FloatArray, b: FloatArray, values: FloatArray) -> None:
        self.a, self.b = a, b
        scale = (2.0 / (b - a))[:, None, None]
        self.coef = np.einsum("ij,kjn->kin", _VALUES_TO_COEF, values)
        self.d1 = np.einsum("ij,kjn->kin", _DERIV1, self.coef) * scale
        self.d4 = np.einsum("ij,kjn->kin", _DERIV4, self.coef) * scale**4
        self.lo, self.hi = a, b

    @staticmethod
    def points(a: FloatArray, b: FloatArray) -> FloatArray:
        """Fit points, shape ``(P, p)``."""
        return 0.5 * (a + b)[:, None] + 0.5 * (b - a)[:, None] * _CHEB_NODES[None, :]

    def tail(self) -> FloatArray:
        """Size of the two highest coefficients per piece (how well the fit resolves it)."""
        return np.asarray(np.max(np.abs(self.coef[:, -2:, :]), axis=(1, 2)), dtype=np.float64)

    def bound(self) -> float:
        """Upper bound of max|x| over all pieces (sum of |coefficients|)."""
        return float(np.max(np.sum(np.abs(self.coef), axis=1), initial=0.0))

    def _s(self, t: FloatArray, k: np.ndarray) -> FloatArray:
        return (2.0 * t - (self.a[k] + self.b[k])) / (self.b[k] - self.a[k])

    def deriv(self, t: FloatArray) -> FloatArray:
        """Velocity of the fit at times ``t`` (each in some ``[lo_k, hi_k]``), ``(len(t), n)``."""
        k = np.clip(np.searchsorted(self.lo, t, side="right") - 1, 0, len(self.lo) - 1)
        vander = _cheb.chebvander(self._s(t, k), CHEB_POINTS - 2)
        return np.asarray(np.einsum("kj,kjn->kn", vander, self.d1[k]), dtype=np.float64)

    def max_fourth(self) -> FloatArray:
        """max |x''''| of the fit over each ``[lo_k, hi_k]``, shape ``(P,)``."""
        mid, half = 0.5 * (self.lo + self.hi), 0.5 * (self.hi - self.lo)
        grid = mid[:, None] + half[:, None] * _GRID[None, :]
        s = (2.0 * grid - (self.a + self.b)[:, None]) / (self.b - self.a)[:, None]
        vander = _cheb.chebvander(s, CHEB_POINTS - 5)  # (P, g, p - 4)
        vals = np.einsum("kgj,kjn->kgn", vander, self.d4)
        return np.asarray(np.max(np.abs(vals), axis=(1, 2), initial=0.0), dtype=np.float64)


def hermite_nodes(
    fun: Callable[[FloatArray], FloatArray],
    fits: ChebFits,
    *,
    rtol: float,
    atol: float,
    max_nodes: int,
) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    """Hermite nodes ``t, y, dy`` reproducing ``fun`` to ``atol + rtol * max|x|``.

    ``fun`` maps times ``(k,)`` to states ``(k, n)``; ``fits`` covers ``[lo_0, hi_last]``
    with contiguous node ranges. Returns the nodes and the largest midpoint error.
    """
    rtol, atol = as_time(rtol, "rtol"), as_time(atol, "atol")
    if rtol < 0 or atol < 0 or rtol + atol == 0:
        raise ValueError(
            f"`rtol` and `atol` must be >= 0 and not both 0. Got rtol={rtol!r}, atol={atol!r} "
            "instead."
        )
    tol = atol + rtol * fits.bound()
    span = fits.hi - fits.lo
    m4 = fits.max_fourth()
    with np.errstate(divide="ignore"):
        h = np.where(m4 > 0, (384.0 * tol / np.where(m4 > 0, m4, 1.0)) ** 0.25, np.inf)
    counts = np.clip(np.ceil(1.1 * span / h), 1, max(1, max_nodes // (2 * len(span))))
    t = np.unique(
        np.concatenate(
            [
                np.linspace(a, b, int(c) + 1)
                for a, b, c in zip(fits.lo, fits.hi, counts, strict=True)
            ]
        )
    )
    y, dy = fun(t), fits.deriv(t)
    # one-sided fit derivatives differ slightly at piece boundaries: average the two sides
    inner = fits.lo[1:]
    at = np.searchsorted(t, inner)
    if inner.size:
        vander = _cheb.chebvander(fits._s(inner, np.arange(len(inner))), CHEB_POINTS - 2)
        left = np.einsum("kj,kjn->kn", vander, fits.d1[:-1])
        dy[at] = 0.5 * (dy[at] + left)

    new_t, new_y, new_dy = [t], [y], [dy]
    tl, tr, yl, yr, dl, dr = t[:-1], t[1:], y[:-1], y[1:], dy[:-1], dy[1:]
    n_nodes, error = len(t), 0.0
    while tl.size:
        mid = 0.5 * (tl + tr)
        y_mid = fun(mid)
        guess = 0.5 * (yl + yr) + ((tr - tl) / 8.0)[:, None] * (dl - dr)
        err = np.max(np.abs(guess - y_mid), axis=1, initial=0.0)
        bad = (err > tol) & (mid > tl) & (mid < tr)
        if n_nodes + int(np.sum(bad)) > max_nodes:
            error = max(error, float(np.max(err, initial=0.0)))
            break
        error = max(error, float(np.max(err[~bad], initial=0.0)))
        if not np.any(bad):
            break
        tm, ym = mid[bad], y_mid[bad]
        dm = fits.deriv(tm)
        new_t.append(tm)
        new_y.append(ym)
        new_dy.append(dm)
        n_nodes += len(tm)
        tl, tr = np.concatenate([tl[bad], tm]), np.concatenate([tm, tr[bad]])
        yl, yr = np.concatenate([yl[bad], ym]), np.concatenate([ym, yr[bad]])
        dl, dr = np.concatenate([dl[bad], dm]), np.concatenate([dm, dr[bad]])
    t_all = np.concatenate(new_t)
    order = np.argsort(t_all, kind="stable")
    return t_all[order], np.concatenate(new_y)[order], np.concatenate(new_dy)[order], error


def resample_callable(
    dense: SegmentDense, t0: float, t1: float, *, rtol: float, atol: float, max_nodes: int
) -> HermiteDense:
    """Hermite samples of an arbitrary smooth dense output on [t0, t1] (t1 > t0)."""
    fun = dense._evaluate
    scale = float(np.max(np.abs(fun(np.linspace(t0, t1, 5))), initial=0.0))
    # resolve the callable well below the target, but not below its rounding noise
    eps = float(np.finfo(np.float64).eps)
    tail_tol = max(1e-2 * (atol + rtol * scale), 1e3 * eps * scale)
    done: list[tuple[float, float, FloatArray]] = []
    stack = [(t0, t1, 0)]
    while stack:
        a, b, depth = stack.pop()
        ab = (np.array([a]), np.array([b]))
        values = fun(ChebFits.points(*ab)[0])[None]
        mid = 0.5 * (a + b)
        if (
            ChebFits(*ab, values).tail()[0] <= tail_tol
            or depth >= 30
            or not a < mid < b
            or len(done) >= 2_000
        ):
            done.append((a, b, values[0]))
        else:
            stack.extend([(mid, b, depth + 1), (a, mid, depth + 1)])
    done.sort(key=lambda piece: piece[0])
    fits = ChebFits(
        np.array([p[0] for p in done]),
        np.array([p[1] for p in done]),
        np.stack([p[2] for p in done]),
    )
    t, y, dy, error = hermite_nodes(fun, fits, rtol=rtol, atol=atol, max_nodes=max_nodes)
    return HermiteDense(t, y, dy, source="callable", error=error)
