"""The continuation path keeps its records' states read-only and shared
(`Recorder.kept_state`), but the objective's callables are handed writable states: a
compiled Hessian that takes its argument as a writable buffer must run as before."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

import filippov as fp
from filippov.objectives import Objective

_P = np.array([[3.0, 1.0, 0.2], [1.0, 2.0, 0.5], [0.2, 0.5, 1.5]])
_B = np.array([1.0, -2.0, 0.5])


def _buffer(x: np.ndarray) -> np.ndarray:
    # What a ctypes (or Cython ``double[:]``) routine does with its argument: it maps the
    # array's memory as a writable buffer, and a read-only array is refused.
    mapped = (ctypes.c_double * x.size).from_buffer(x)
    return np.frombuffer(mapped, dtype=np.float64)


def _quartic(with_hvp: bool) -> Objective:
    """``½xᵀPx − bᵀx + ¼Σx⁴``, its second derivatives read through writable buffers."""

    def hess(x: np.ndarray) -> np.ndarray:
        return _P + np.diag(3.0 * _buffer(x) ** 2)

    def hvp(x: np.ndarray, v: np.ndarray) -> np.ndarray:
        return hess(x) @ v

    return Objective(
        lambda x: float(0.5 * x @ _P @ x - _B @ x + 0.25 * np.sum(x**4)),
        lambda x: _P @ x - _B + x**3,
        None if with_hvp else hess,
        hvp=hvp if with_hvp else None,
        n=3,
    )


@pytest.mark.parametrize("with_hvp", [False, True])
@pytest.mark.parametrize("norm", ["linf", "l1"])
def test_a_hessian_taking_a_writable_buffer_runs_on_the_continuation_path(
    with_hvp: bool, norm: str
) -> None:
    flow = fp.steepest_descent_flow(_quartic(with_hvp), norm)
    sol = fp.solve(flow, [1.5, -1.0, 2.0], (0.0, 6.0), method="continuation")
    assert sol.status == 1, sol.message
    x = sol.x[-1]
    # the minimizer: ∇f = P x − b + x³ vanishes (an independent evaluation)
    assert np.abs(_P @ x - _B + x**3).max() < 1e-9
