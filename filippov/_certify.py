"""Scales and self-checks shared by the engine's paths (the "no silent wrong answer" rules).

* :func:`component_scales` gives each switching function its own scale: whether ``h_i``
  is zero is decided against the size of what ``h_i`` is computed from, never against the
  largest component of ``h`` (a badly scaled gradient has components many orders of
  magnitude apart, and a shared scale reads the small ones as zero).
* :func:`certify` checks a finished run before it is reported as a success (status 0 or
  1) and turns a failed check into a negative status whose message names it.
"""

from __future__ import annotations

import numpy as np

from filippov._validation import FloatArray

__all__ = ["component_scales"]

_EPS = float(np.finfo(float).eps)


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
