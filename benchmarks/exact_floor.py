"""The exact path at its floor (issue 23): cost per event against one dense matvec.

Run ``python -m benchmarks.exact_floor`` (about 20 minutes on two shared cores, most of it
the d = 5000 run; ``--quick``, 1–2 minutes, skips it, the d = 2000 storage row and the
direct-solve reference of the greedy flow). Prints one
table; every ratio is measured in this process, runs alternating, medians of the repeats.

Rows:

* ℓ∞ (sign) flow, d = 1000 benchmark quadratic to the minimizer: solve time against
  ``events ×`` one dense ``1000 × 1000`` matrix–vector product (BLAS ``dgemv`` through
  numpy, timed here on one BLAS thread, as the exact path runs). Target ≤ 1.5. Warm runs
  of the compiled event step (``pip install filippov[fast]``; without numba the numpy loop
  runs), alternating with the numpy loop (``ExactOptions(compiled=False)``, next row);
  what the first compiled solve of the process paid on top (numba's import, loading or
  compiling the kernels) is reported beside.
* ℓ∞ flow, d = 2000 to the minimizer: the bytes a full and a compact solution keep.
* ℓ∞ flow, d = 5000 with ``storage="compact"``, to the minimizer (or to
  ``--d5000-horizon``): wall time (target < 60 s), the bytes the solution keeps (target
  < 1 GB), the time per event against one 5000 × 5000 product. The quadratic is of the same
  family as :func:`benchmarks.problems.quadratic_problem` (eigenvalues log-spaced in
  [1, 100], Haar-random rotation, ``x0 ~ N(0, I)``) but built by
  :func:`benchmarks.problems.haar_quadratic_problem` (the rotation drawn directly, from a
  QR factorization): ``rotated_quadratic`` goes through the rotation's logarithm and
  exponential (for fractional rotations), which took 452 s at d = 5000.
* ℓ1 (greedy) flow, d = 500 to the minimizer: the incremental tie selection against the
  direct one (``incremental=False``, the previous algorithm), same process; target ≥ 10×;
  both must give the same events and states within 1e-12.
* ℓ1 flow, d = 1000 to the minimizer: wall time, target < 10 s.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

import filippov as fp
from filippov._recorder import Recorder
from filippov.engine import ExactOptions, ExactPath, run

from .problems import haar_quadratic_problem, quadratic_problem

_T = 1e6  # past the time every flow here stops (status 1)


def _solve(p: Any, **kw: Any) -> fp.FilippovSolution:
    return fp.solve(p.system, p.x0, (0.0, _T), max_events=10**7, check_derivatives=False, **kw)


def _numpy_loop(p: Any) -> fp.FilippovSolution:
    """The sign flow's exact path without the compiled event step (``compiled=False``)."""
    return _solve(p, options=ExactOptions(compiled=False))


def _matvec_time(H: np.ndarray, count: int, repeats: int = 3) -> float:
    """Seconds for ``count`` products ``H @ x`` (median of ``repeats``), one BLAS thread."""
    x = np.random.default_rng(0).standard_normal(H.shape[0])
    walls = []
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(count):
                H @ x
            walls.append(time.perf_counter() - t0)
    return statistics.median(walls)


def _greedy(p: Any, incremental: bool) -> tuple[float, Recorder, tuple[int, str]]:
    """The ℓ1 flow's exact path, called directly (for ``incremental=False``)."""
    rec = Recorder(0.0, p.x0, "exact")
    path = ExactPath(p.system, p.x0, _T, ExactOptions(incremental=incremental), rec)
    t0 = time.perf_counter()
    st = run(path, max_events=10**7, zeno_spacing=1e-8)
    return time.perf_counter() - t0, rec, st


def compile_cost(p: Any, log: Callable[[str], None]) -> dict[str, Any]:
    """What the first compiled solve of a process pays on top of a warm one: importing
    numba and the kernel module, then loading the kernels from numba's cache (or, when
    the cache is cold, compiling them). None when numba is not installed."""
    t0 = time.perf_counter()
    try:
        kernel = importlib.import_module("filippov._spd_kernel")
    except ImportError:
        log("  numba is not installed: the numpy loop runs")
        return {"available": False}
    imported = time.perf_counter() - t0
    t0 = time.perf_counter()
    _solve(p)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    _solve(p)
    warm = time.perf_counter() - t0
    stats = kernel.event_step.stats
    out = {
        "available": True,
        "import": imported,
        "first_call": first - warm,
        "from_cache": bool(stats.cache_hits) and not stats.cache_misses,
    }
    log(f"  compiled step: {out}")
    return out


def sign_flow_ratio(repeats: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The d = 1000 sign flow against ``events ×`` one dense matvec, the compiled event
    step (the default at this size when numba is installed) and the numpy loop
    alternating, warm runs only (the compile cost is :func:`compile_cost`'s)."""
    p = quadratic_problem(1000, "linf", horizon=_T)
    H = p.quadratic[0]  # type: ignore[index]
    compiled = compile_cost(p, log)
    _numpy_loop(p)  # warm-up
    solves, numpy_solves, mats, ratios, numpy_ratios = [], [], [], [], []
    events = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        sol = _solve(p)
        solves.append(time.perf_counter() - t0)
        events = len(sol.events)
        t0 = time.perf_counter()
        _numpy_loop(p)
        numpy_solves.append(time.perf_counter() - t0)
        mats.append(_matvec_time(H, events, repeats=1))
        ratios.append(solves[-1] / mats[-1])
        numpy_ratios.append(numpy_solves[-1] / mats[-1])
        log(
            f"  sign flow d = 1000: {solves[-1]:.3f} s (numpy loop {numpy_solves[-1]:.3f} s), "
            f"{events} matvecs {mats[-1]:.3f} s"
        )
    return {
        "events": events,
        "solve": statistics.median(solves),
        "numpy_solve": statistics.median(numpy_solves),
        "matvecs": statistics.median(mats),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "numpy_ratio": statistics.median(numpy_ratios),
        "compiled": compiled,
    }


def sign_flow_5000(horizon: float, log: Callable[[str], None]) -> dict[str, Any]:
    """The d = 5000 sign flow with compact storage, to ``horizon`` (``_T``: the minimizer),
    with one 5000 × 5000 product timed in the same process."""
    t0 = time.perf_counter()
    p = haar_quadratic_problem(5000)
    system, x0 = p.system, p.x0
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = fp.solve(
        system, x0, (0.0, horizon), max_events=10**7, check_derivatives=False, storage="compact"
    )
    wall = time.perf_counter() - t0
    assert isinstance(sol, fp.CompactSolution)
    H = system.objective.quadratic_data[0]  # type: ignore[union-attr, index]
    grad = H @ sol.state_at_breakpoint(-1)
    k_max = max(len(s.mode.free) for s in sol.segments[-3:])
    out = {
        "horizon": horizon,
        "setup": setup,
        "wall": wall,
        "events": len(sol.events),
        "status": sol.status,
        "nbytes": sol.nbytes,
        "sliding_at_end": k_max,
        "grad_l1": float(np.abs(grad).sum()),
        "matvec": _matvec_time(H, 5, repeats=3) / 5,
    }
    log(f"  sign flow d = 5000: {out}")
    return out


def storage_2000(log: Callable[[str], None]) -> dict[str, Any]:
    """Bytes kept by the d = 2000 sign flow to the minimizer, full against compact."""
    p = quadratic_problem(2000, "linf", horizon=_T)
    full = _solve(p)
    # breakpoint states (shared with the segments' starts), velocities and multipliers
    # (both m = n numbers per segment), the modes' sign and free tuples (8 B per entry)
    full_bytes = full.x.nbytes + sum(2 * s.lam.nbytes for s in full.segments)
    full_bytes += sum(8 * (len(s.mode.signs) + len(s.mode.free)) for s in full.segments)
    events = len(full.events)
    del full
    t0 = time.perf_counter()
    comp = _solve(p, storage="compact")
    wall = time.perf_counter() - t0
    assert isinstance(comp, fp.CompactSolution)
    out = {"events": events, "full_bytes": full_bytes, "compact_bytes": comp.nbytes, "wall": wall}
    log(f"  storage d = 2000: {out}")
    return out


def greedy_500(log: Callable[[str], None]) -> dict[str, Any]:
    p = quadratic_problem(500, "l1", horizon=_T)
    inc1, rec_i, st_i = _greedy(p, True)
    direct, rec_d, st_d = _greedy(p, False)
    inc2, _, _ = _greedy(p, True)
    same = [(e.kind, e.indices) for e in rec_i.events] == [
        (e.kind, e.indices) for e in rec_d.events
    ]
    xi, xd = rec_i.states(), rec_d.states()
    dx = (
        float(np.max(np.abs(xi - xd))) / float(np.max(np.abs(xd)))
        if xi.shape == xd.shape
        else np.inf
    )
    ti, td = np.array(rec_i.t), np.array(rec_d.t)
    dt = float(np.max(np.abs(ti - td))) / float(td[-1]) if ti.shape == td.shape else np.inf
    inc = statistics.median([inc1, inc2])
    out = {
        "incremental": inc,
        "direct": direct,
        "speedup": direct / inc,
        "events": rec_i.n_events,
        "same_events": same,
        "status": (st_i[0], st_d[0]),
        "max_rel_dx": dx,
        "max_rel_dt": dt,
    }
    log(f"  greedy d = 500: {out}")
    return out


def greedy_1000(repeats: int, log: Callable[[str], None]) -> dict[str, Any]:
    p = quadratic_problem(1000, "l1", horizon=_T)
    walls = []
    sol = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        sol = _solve(p)
        walls.append(time.perf_counter() - t0)
    assert sol is not None
    out = {
        "wall": statistics.median(walls),
        "walls": walls,
        "events": len(sol.events),
        "status": sol.status,
        "grad_linf": float(np.abs(p.grad(sol.x[-1])).max()),
    }
    log(f"  greedy d = 1000: {out}")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip d = 5000 and the direct solve")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--d5000-horizon",
        type=float,
        default=_T,
        help="final time of the d = 5000 run (default: to the minimizer, t ≈ 4)",
    )
    args = ap.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, flush=True)

    rows: list[tuple[str, str, str, str]] = []
    s = sign_flow_ratio(args.repeats, log)
    rows.append(
        (
            "ℓ∞ flow d = 1000: solve / (events × matvec)",
            "≤ 1.5",
            f"{s['ratio']:.2f} ({s['solve']:.3f} s / {s['events']} × "
            f"{1e6 * s['matvecs'] / s['events']:.1f} µs); runs "
            + ", ".join(f"{r:.2f}" for r in s["ratios"]),
            "yes" if s["ratio"] <= 1.5 else "no",
        )
    )
    c = s["compiled"]
    rows.append(
        (
            "ℓ∞ flow d = 1000: the same with the numpy loop (`compiled=False`)",
            "—",
            f"{s['numpy_ratio']:.2f} ({s['numpy_solve']:.3f} s); compiled step: "
            + (
                f"numba import {c['import']:.2f} s, first call +{c['first_call']:.2f} s "
                + ("(kernels from numba's cache)" if c["from_cache"] else "(compiled)")
                if c["available"]
                else "numba not installed"
            ),
            "—",
        )
    )
    if not args.quick:
        g = greedy_500(log)
        rows.append(
            (
                "ℓ1 flow d = 500: direct / incremental",
                "≥ 10×",
                f"{g['speedup']:.1f}× ({g['direct']:.2f} s / {g['incremental']:.2f} s, "
                f"{g['events']} events; same events {g['same_events']}, "
                f"states within {g['max_rel_dx']:.1e})",
                "yes" if g["speedup"] >= 10 and g["same_events"] else "no",
            )
        )
    g1 = greedy_1000(args.repeats, log)
    rows.append(
        (
            "ℓ1 flow d = 1000 to the minimizer",
            "< 10 s",
            f"{g1['wall']:.2f} s ({g1['events']} events, status {g1['status']}, "
            f"max |∇f| {g1['grad_linf']:.1e})",
            "yes" if g1["wall"] < 10 and g1["status"] == 1 else "no",
        )
    )
    if not args.quick:
        m = storage_2000(log)
        rows.append(
            (
                "ℓ∞ flow d = 2000 to the minimizer: bytes kept",
                "compact ≪ full",
                f"full {m['full_bytes'] / 2**20:.0f} MB, compact {m['compact_bytes'] / 2**20:.0f} MB "
                f"({m['events']} events; compact solve {m['wall']:.1f} s)",
                "—",
            )
        )
        b = sign_flow_5000(args.d5000_horizon, log)
        to_min = b["horizon"] >= _T
        per_event = b["wall"] / max(b["events"], 1)
        rows.append(
            (
                "ℓ∞ flow d = 5000, compact"
                + (" to the minimizer" if to_min else f", to t = {b['horizon']:g}"),
                "< 60 s, < 1 GB (to the minimizer)",
                f"{b['wall']:.1f} s, {b['nbytes'] / 2**20:.0f} MB ({b['events']} events, "
                f"{1e3 * per_event:.1f} ms/event = {per_event / b['matvec']:.2f} × one "
                f"5000² matvec of {1e3 * b['matvec']:.0f} ms; sliding {b['sliding_at_end']} at "
                f"the end; status {b['status']}; set-up {b['setup']:.0f} s)",
                (
                    "yes"
                    if to_min and b["wall"] < 60 and b["nbytes"] < 2**30 and b["status"] == 1
                    else "no"
                )
                if to_min
                else "not run to the end",
            )
        )
    print()
    print("| case | target | measured (medians, this process) | met |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
