"""The compiled event step of the sign flow's exact path (``ExactOptions(compiled=...)``).

The compiled step (:mod:`filippov._spd_kernel`, numba) does the same floating-point
operations as the numpy loop (``_exact_path._advance_spd`` with
:class:`~filippov.incremental_selection.SpdBoxSelector`), so the two solutions must agree
bit for bit: breakpoints, events, modes, multipliers and velocities. Checked here on
random strongly convex quadratics from well to badly conditioned (where the residual
checks refine), with the refresh of ``W`` and the resynchronisations made frequent so that
the steps the kernel hands back to Python run too, against the minimizer from
``np.linalg.solve`` and against ``compiled=False``. Also: the default uses the compiled
step only for large systems and only when numba is installed, and ``import filippov``
does not import numba.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections import Counter
from typing import Any

import numpy as np
import pytest

import filippov as fp
from filippov import _exact_path, incremental_selection
from filippov.engine import ExactOptions

try:
    import filippov._spd_kernel as kernel
except ImportError:  # numba not installed: the tests of the fallback still run
    kernel = None
needs_numba = pytest.mark.skipif(kernel is None, reason="the compiled step needs numba")


def _sign_flow(d: int, log_cond: float, seed: int) -> tuple[fp.FilippovSystem, np.ndarray, Any]:
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    H = (Q * np.geomspace(1.0, 10.0**log_cond, d)) @ Q.T
    H = 0.5 * (H + H.T)
    b = rng.standard_normal(d)
    obj = fp.Objective.quadratic(H, b)
    return fp.steepest_descent_flow(obj, "linf"), rng.standard_normal(d), np.linalg.solve(H, -b)


def _solve(system: fp.FilippovSystem, x0: np.ndarray, compiled: bool) -> fp.FilippovSolution:
    return fp.solve(
        system, x0, (0.0, 1e3), max_events=10**5, options=ExactOptions(compiled=compiled)
    )


def _bits(a: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=float)).view(np.int64)


def _assert_same_bits(a: fp.FilippovSolution, b: fp.FilippovSolution) -> None:
    assert (a.status, a.method, len(a.events), len(a.segments)) == (
        b.status,
        b.method,
        len(b.events),
        len(b.segments),
    )
    assert np.array_equal(_bits(a.t), _bits(b.t)) and np.array_equal(_bits(a.x), _bits(b.x))
    assert a.events == b.events
    for sa, sb in zip(a.segments, b.segments, strict=True):
        assert (sa.t0, sa.t1, sa.mode, sa.kind) == (sb.t0, sb.t1, sb.mode, sb.kind)
        assert np.array_equal(_bits(sa.lam), _bits(sb.lam))
        assert np.array_equal(_bits(sa.dense.v), _bits(sb.dense.v))  # type: ignore[attr-defined]


@pytest.fixture
def kernel_codes(monkeypatch: pytest.MonkeyPatch) -> Counter[int]:
    """The codes the compiled step returned (it ran when there are any)."""
    codes: Counter[int] = Counter()
    if kernel is None:
        return codes
    step = kernel.event_step

    def counted(*args: Any) -> Any:
        out = step(*args)
        codes[int(out)] += 1
        return out

    monkeypatch.setattr(kernel, "event_step", counted)
    return codes


@needs_numba
@pytest.mark.parametrize(
    ("d", "log_cond", "seed"),
    [(40, 2.0, 0), (60, 1.0, 1), (30, 4.0, 2), (25, 8.0, 3), (20, 9.5, 4)],
)
def test_compiled_sign_flow_is_the_numpy_sign_flow_bit_for_bit(
    d: int, log_cond: float, seed: int, kernel_codes: Counter[int]
) -> None:
    system, x0, x_star = _sign_flow(d, log_cond, seed)
    fast = _solve(system, x0, True)
    assert kernel_codes[kernel.CODE_OK] > d  # the compiled step ran, event after event
    slow = _solve(system, x0, False)
    assert fast.status == 1, fast.message
    # independent of both: the minimizer of the quadratic
    tol = 1e-9 * 10.0 ** max(log_cond - 4.0, 0.0) * np.abs(x_star).max()
    np.testing.assert_allclose(fast.x[-1], x_star, rtol=0, atol=tol)
    _assert_same_bits(fast, slow)


@needs_numba
def test_steps_handed_back_to_python_keep_the_bits(
    monkeypatch: pytest.MonkeyPatch, kernel_codes: Counter[int]
) -> None:
    # W rebuilt every 5th selection (the Python step), rho and h recomputed every 3rd
    # (inside the kernel), and a badly conditioned system whose checks refine λ (the kernel
    # returns CODE_REFINE) and whose sliding set empties (CODE_EMPTY) on the way.
    monkeypatch.setattr(incremental_selection, "REFRESH", 5)
    monkeypatch.setattr(incremental_selection, "RESYNC", 3)
    monkeypatch.setattr(_exact_path, "RESYNC", 3)
    for d, log_cond, seed in ((30, 2.0, 5), (24, 9.0, 6)):
        system, x0, x_star = _sign_flow(d, log_cond, seed)
        fast = _solve(system, x0, True)
        slow = _solve(system, x0, False)
        assert fast.status == 1, fast.message
        np.testing.assert_allclose(fast.x[-1], x_star, rtol=0, atol=1e-4 * np.abs(x_star).max())
        _assert_same_bits(fast, slow)
    assert kernel_codes[kernel.CODE_OK] > 30
    assert kernel_codes[kernel.CODE_REFINE] > 0


@needs_numba
def test_a_direct_solve_fallback_keeps_the_bits(
    monkeypatch: pytest.MonkeyPatch, kernel_codes: Counter[int]
) -> None:
    # The pivoting gives way to solve_box_vi when it cycles or a block stops being
    # numerically positive definite; a near-singular system (condition 1e13, forced onto
    # the incremental path) gets there, and the kernel hands the event back to Python.
    monkeypatch.setattr(_exact_path, "_INCREMENTAL_MAX_COND", np.inf)
    fallbacks = []
    for seed in range(8):
        system, x0, _ = _sign_flow(20, 13.0, seed)
        before = kernel_codes[kernel.CODE_FALLBACK]
        fast = _solve(system, x0, True)
        slow = _solve(system, x0, False)
        _assert_same_bits(fast, slow)
        fallbacks.append(kernel_codes[kernel.CODE_FALLBACK] - before)
    assert sum(fallbacks) > 0, fallbacks


@needs_numba
def test_the_default_compiles_only_large_systems(
    monkeypatch: pytest.MonkeyPatch, kernel_codes: Counter[int]
) -> None:
    system, x0, _ = _sign_flow(30, 2.0, 7)
    sol = fp.solve(system, x0, (0.0, 1e3))  # compiled=None: below _COMPILED_MIN_M
    assert sol.status == 1 and not kernel_codes
    monkeypatch.setattr(_exact_path, "_COMPILED_MIN_M", 30)
    again = fp.solve(system, x0, (0.0, 1e3))
    assert kernel_codes[kernel.CODE_OK] > 0
    _assert_same_bits(sol, again)


def test_without_numba_the_numpy_loop_runs(
    monkeypatch: pytest.MonkeyPatch, kernel_codes: Counter[int]
) -> None:
    real_import = _exact_path.importlib.import_module

    def no_numba(name: str, *args: Any) -> Any:
        if name == "filippov._spd_kernel":
            raise ModuleNotFoundError("No module named 'numba'")
        return real_import(name, *args)

    monkeypatch.setattr(_exact_path.importlib, "import_module", no_numba)
    system, x0, x_star = _sign_flow(20, 2.0, 8)
    with pytest.warns(UserWarning, match=r"compiled=True\) needs numba.*numpy loop runs") as got:
        sol = _solve(system, x0, True)
    # (pointing at the caller's line, here in the tests, not inside filippov)
    assert [w.filename for w in got] == [__file__] * len(got)
    assert sol.status == 1 and not kernel_codes
    # Left to the default (None), the fallback is silent: numba is an optional speed-up
    # (the threshold lowered so that the default does try to import the kernel).
    monkeypatch.setattr(_exact_path, "_COMPILED_MIN_M", 1)
    tried = []

    def counting(name: str, *args: Any) -> Any:
        tried.append(name)
        return no_numba(name, *args)

    monkeypatch.setattr(_exact_path.importlib, "import_module", counting)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        default = fp.solve(system, x0, (0.0, 1e3), max_events=10**5)
    assert default.status == 1 and "filippov._spd_kernel" in tried and not kernel_codes
    _assert_same_bits(sol, default)
    np.testing.assert_allclose(sol.x[-1], x_star, rtol=0, atol=1e-9 * np.abs(x_star).max())


def test_import_filippov_does_not_import_numba() -> None:
    code = "import sys, filippov; print('numba' in sys.modules, 'llvmlite' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"compiled": 0}, TypeError, "`compiled` must be True, False or None. Got 0"),
        ({"compiled": "no"}, TypeError, "`compiled` must be True, False or None"),
        ({"incremental": 1}, TypeError, "`incremental` must be True or False"),
        ({"zero_tol": float("nan")}, ValueError, "`zero_tol` must be finite"),
        ({"zero_tol": -1e-3}, ValueError, "`zero_tol` must be finite and non-negative"),
    ],
)
def test_exact_options_refuse_stand_ins(kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        ExactOptions(**kwargs)
