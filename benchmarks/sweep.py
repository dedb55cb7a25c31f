"""Sweep throughput: serial against two workers, on a process pool and on a Dask cluster.

``python -m benchmarks.sweep [--quick] [--workers N]`` runs, in one process and one run:

* ``slope exact``: 10⁴ sign-flow solutions of the slope example (``a = 0.5``) from a
  100 × 100 grid of initial states, on the exact path (about a millisecond each);
* ``logistic events``: 10³ sign-flow solutions of ridge-regularized logistic regressions
  (3 features, 40 samples; 10 random data sets × 100 starts, built per seed), on the
  event path (DOP853 inside each mode, some tens of milliseconds each);

each serially, on a ``ProcessPoolExecutor`` and on a ``dask.distributed.LocalCluster``
(``N`` workers of one thread each, default 2), and prints a table of throughputs. The
pool and the cluster are started (and their workers have imported filippov) before the
clock starts: their start-up is reported on its own line. Every parallel table is
checked to be identical to the serial one. Target (issue 18): with 2 workers at least
1.6 × the serial throughput on the exact-path sweep.

``--quick`` runs a tenth of each sweep (for a smoke test, not for the target).
``--repeat R`` makes R rounds (serial, pool, cluster alternating) and reports the fastest
time of each: on a machine shared with other work the minimum is the least disturbed.
"""

from __future__ import annotations

import os

# One BLAS thread per process: the parallelism measured is the sweep's, not BLAS's.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib  # noqa: E402
import multiprocessing  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

#: Required speed-up of 2 workers over serial on the exact-path sweep.
TARGET_SPEEDUP = 1.6


def logistic_problem(seed: int) -> Any:
    """A ridge-logistic objective on random data (3 features, 40 samples) for one seed."""
    from filippov.objectives import ridge_logistic

    rng = np.random.default_rng(seed)
    A = rng.standard_normal((40, 3))
    y = np.sign(A @ rng.standard_normal(3) + 0.5 * rng.standard_normal(40))
    return ridge_logistic(A, y, 0.1)


def _cases(quick: bool) -> dict[str, dict[str, Any]]:
    import filippov as fp
    from filippov.objectives import slope

    side = 32 if quick else 100
    starts = 10 if quick else 100
    rng = np.random.default_rng(18)
    return {
        "slope exact": {
            "problem": slope(0.5),
            "x0": fp.grid((-8.0, 4.0), (-8.0, 2.0), num=side),
            "t_span": (0.0, 40.0),
        },
        "logistic events": {
            "problem": logistic_problem,
            "x0": rng.uniform(-2.0, 2.0, size=(starts, 3)),
            "seeds": list(range(10)),
            "t_span": (0.0, 10.0),
            # the event path, as the case is named ("auto" now takes the continuation path)
            "solve_options": {"method": "events"},
        },
    }


def _sweep(fp: Any, case: dict[str, Any], executor: Any) -> tuple[Any, float]:
    """The table of one sweep and its wall time."""
    kw = {k: v for k, v in case.items() if k not in ("problem", "x0")}
    tic = time.perf_counter()
    table = fp.sweep(case["problem"], case["x0"], executor=executor, **kw)
    return table, time.perf_counter() - tic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of each sweep")
    parser.add_argument("--workers", type=int, default=2, help="parallel workers (default 2)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds, serial and parallel alternating; the fastest of each is reported "
        "(robust to other load on a shared machine)",
    )
    args = parser.parse_args(argv)

    import pandas as pd
    from dask.distributed import Client, LocalCluster

    import filippov as fp

    load_start = os.getloadavg()
    cases = _cases(args.quick)
    n = args.workers

    # Engines first, warmed up, so that the clock measures sweeping, not start-up.
    tic = time.perf_counter()
    # started like the sweep's own default pool (a fork server, never a fork)
    pool = ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("forkserver"))
    list(pool.map(_warm, ["filippov.sweeps"] * n))
    t_pool = time.perf_counter() - tic
    tic = time.perf_counter()
    cluster = LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    client.run(_warm, "filippov.sweeps")
    t_dask = time.perf_counter() - tic

    rows = []
    targets = []
    capacity = [_capacity(pool, n)]
    try:
        for name, case in cases.items():
            engines = {"serial": "serial", f"process pool ({n})": pool}
            engines[f"Dask LocalCluster ({n})"] = client
            best: dict[str, float] = {}
            tables: dict[str, Any] = {}
            for _ in range(max(1, args.repeat)):
                for label, ex in engines.items():
                    tables[label], t = _sweep(fp, case, ex)
                    best[label] = min(best.get(label, np.inf), t)
            serial, t_serial = tables["serial"], best["serial"]
            n_runs = len(serial)
            rows.append((name, n_runs, "serial", 1, t_serial, 1.0, "—", _ok(serial)))
            for label in list(engines)[1:]:
                table, t = tables[label], best[label]
                same = _identical(pd, serial, table)
                rows.append((name, n_runs, label, n, t, t_serial / t, same, _ok(table)))
                if name == "slope exact":
                    targets.append((t_serial / t, label))
        capacity.append(_capacity(pool, n))
    finally:
        pool.shutdown()
        client.close()
        cluster.close()
    load_end = os.getloadavg()

    print(
        f"\nSweep throughput ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, filippov "
        f"{fp.__version__}; load average at start {_load(load_start)}, at end "
        f"{_load(load_end)}){' — QUICK run' if args.quick else ''}\n"
    )
    print(
        "| sweep | runs | executor | workers | wall [s] | runs/s | speed-up | same table | ok runs |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, n_runs, label, w, t, speedup, same, ok in rows:
        print(
            f"| {name} | {n_runs} | {label} | {w} | {t:.2f} | {n_runs / t:.0f} | "
            f"{speedup:.2f}× | {same} | {ok} |"
        )
    print(
        f"\nStart-up, outside the timings: process pool {t_pool:.2f} s, "
        f"Dask LocalCluster {t_dask:.2f} s."
    )
    print(
        f"Machine gauge: {n} processes ran pure-Python CPU work "
        f"{capacity[0]:.2f}× (before) and {capacity[-1]:.2f}× (after) as fast as one "
        f"(ideal {n}×); below that, other load is taking the cores."
    )
    for speedup, label in targets:
        met = "met" if speedup >= TARGET_SPEEDUP else "MISSED"
        print(
            f"[{met}] slope exact, {label}: {speedup:.2f}× serial throughput "
            f"(target ≥ {TARGET_SPEEDUP}× with 2 workers)"
        )
    return 0


def _burn(n: int) -> int:
    """Pure-Python CPU work: the gauge of how much two processes can get on this machine."""
    total = 0
    for i in range(n):
        total += i * i
    return total


def _capacity(pool: ProcessPoolExecutor, n: int) -> float:
    """Speed-up of ``n`` processes over one on pure CPU work, measured now: on a machine
    shared with other work it is below ``n``, and no sweep can beat it."""
    work = [1_500_000] * (4 * n)
    tic = time.perf_counter()
    for w in work:
        _burn(w)
    t_one = time.perf_counter() - tic
    tic = time.perf_counter()
    list(pool.map(_burn, work))
    return t_one / (time.perf_counter() - tic)


def _warm(module: str) -> str:
    """Import ``module`` in a worker (before the clock starts)."""
    importlib.import_module(module)
    return module


def _identical(pd: Any, a: Any, b: Any) -> str:
    try:
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    except AssertionError:
        return "DIFFERENT"
    return "yes"


def _ok(table: Any) -> str:
    return f"{int((table['status'] >= 0).sum())}/{len(table)}"


def _load(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.2f}" for v in load)


if __name__ == "__main__":
    sys.exit(main())
