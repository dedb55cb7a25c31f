"""The continuation path at scale: sign flows of ridge logistic regression.

``python -m benchmarks.general_path [--quick] [--dims 50 200 1000] [--cap SECONDS]``
(``--sparse 2000``: only the sparse-data model of :func:`sparse_model`, its time and memory;
``--greedy 50 200``: only the ℓ1 flows of those dimensions, :func:`greedy`;
``--factorization``: only the flows of low-rank factorizations, :func:`factorizations`)

For each dimension ``d`` (``m = 5d`` Gaussian samples, ``λ = 0.1``, ``x0 ~ N(0, I)``), the
ℓ∞ steepest-descent flow is run to its stationary point by :func:`filippov.solve` on the
continuation path (and on the event path where it finishes within the cap), and the
peers of :mod:`benchmarks.peers` run the same flow over the same time: implicit Euler
with ``h = 1e-3`` (a box VI per Josephy–Newton step, or each step a box-constrained
minimization by L-BFGS-B, the issue's statement of this peer) and the ``tanh(∇f/ε)`` regularization with
``ε = 1e-4`` (RK45 and Radau, at rtol = 1e-8 and at 1e-5, the loosest tolerance that
keeps their error, which the regularization sets). Every end state is compared with the minimizer computed
independently (Newton's method with CG solves on Hessian–vector products, to rounding),
and every trajectory (filippov's own too) with a reference, the continuation path at
rtol = 1e-13, on the peers' grid (``traj. diff``). filippov and the peers that take under
10 s are timed ``--repeat`` times (3) and the best is shown, after one untimed small run
that imports filippov's modules; a line per peer then gives the issue's comparison: the
peer's wall time and trajectory error as multiples of filippov's.
The breast-cancer ridge logistic regression of the gallery (d = 31 with the intercept)
is run for the ℓ∞ and ℓ1 flows (the ℓ1 flow also on the event path, alternated).
``--networks`` runs only the ℓ∞ and ℓ1 flows of three small tanh networks (a nonconvex loss),
on the continuation path and the event path (``traj. diff``: between the two). The
peak memory of the largest continuation run beyond its data is measured with
``tracemalloc``. Wall times are single-threaded BLAS and depend on the machine's load:
compare ratios measured in the same run.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse.linalg  # noqa: E402

import filippov as fp  # noqa: E402
from filippov.objectives import Objective, ridge_logistic  # noqa: E402

from .peers import all_methods, implicit_euler_lbfgsb, regularized_at  # noqa: E402
from .problems import GRID_STEP, Problem  # noqa: E402

PEERS = (
    "implicit Euler h=0.001",
    "implicit Euler h=0.001 L-BFGS-B",
    "tanh ε=0.0001 RK45",
    "tanh ε=0.0001 RK45 rtol=1e-05",
    "tanh ε=0.0001 Radau",
    "tanh ε=0.0001 Radau rtol=1e-05",
)


def logistic(d: int, seed: int | None = None) -> tuple[Objective, np.ndarray]:
    """Ridge logistic regression with ``m = 5d`` Gaussian samples, and a random ``x0``."""
    rng = np.random.default_rng(d if seed is None else seed)
    m = 5 * d
    A = rng.standard_normal((m, d))
    y = np.sign(A @ rng.standard_normal(d) + rng.standard_normal(m))
    return ridge_logistic(A, y, 0.1), rng.standard_normal(d)


def minimizer(obj: Objective, n: int) -> np.ndarray:
    """Newton's method with CG on Hessian–vector products, to rounding (independent of
    the continuation path's curves, factors and events)."""
    x = np.zeros(n)
    for _ in range(60):
        g = obj.grad(x)
        op = scipy.sparse.linalg.LinearOperator((n, n), matvec=lambda v, x=x: obj.hvp(x, v))
        step, _ = scipy.sparse.linalg.cg(op, g, rtol=1e-14, atol=0.0, maxiter=10 * n)
        x = x - step
        if np.max(np.abs(step)) <= 1e-15 * max(1.0, float(np.max(np.abs(x)))):
            break
    return x


def problem_grid(T: float) -> np.ndarray:
    """The peers' output grid ``0, 0.01, ..., T``."""
    return np.arange(round(T / GRID_STEP) + 1) * GRID_STEP


#: Tolerances of filippov's runs (``--rtol``; atol is rtol / 100).
RTOL = [1e-10]
#: Timed runs of filippov (and of the peers that take under 10 s) per problem: the best.
REPEATS = 3
#: The reference trajectory's rtol (atol rtol / 100): every trajectory error is against it.
REFERENCE_RTOL = 1e-13


def timed_solve(system: fp.FilippovSystem, x0: np.ndarray, T: float, method: str) -> Any:
    """``(solution, wall seconds, CPU seconds)``: the CPU time of this process is what a
    shared machine's load disturbs least (BLAS is single-threaded here)."""
    start, cpu = time.perf_counter(), time.process_time()
    sol = fp.solve(system, x0, (0.0, T), method=method, rtol=RTOL[0], atol=RTOL[0] / 100)
    return sol, time.perf_counter() - start, time.process_time() - cpu


def fmt(v: float | None) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:.3g}"


def run_dimension(d: int, cap: float, events_upto: int) -> list[dict[str, Any]]:
    obj, x0 = logistic(d)
    system = fp.steepest_descent_flow(obj, "linf")
    x_star = minimizer(obj, d)
    walls, cpus = [], []
    for _ in range(REPEATS):  # best of REPEATS: the machine is shared
        sol, wall, cpu = timed_solve(system, x0, 100.0, "continuation")
        walls.append(wall)
        cpus.append(cpu)
    rows: list[dict[str, Any]] = []
    t_stat = sol.events[-1].t if sol.status == 1 else float("nan")
    # The same horizon for everybody: the stationary time rounded up to the grid.
    T = GRID_STEP * math.ceil(1.05 * t_stat / GRID_STEP) if np.isfinite(t_stat) else 5.0
    grid = problem_grid(T)
    # Every trajectory (filippov's own too) is compared with one reference: the
    # continuation path at rtol = 1e-13, which the minimizer and the event path check.
    reference = fp.solve(
        system,
        x0,
        (0.0, 100.0),
        method="continuation",
        rtol=REFERENCE_RTOL,
        atol=REFERENCE_RTOL / 100,
    )
    err = float(np.max(np.abs(sol.x[-1] - x_star)))
    rows.append(
        {
            "d": d,
            "method": f"fp continuation (best of {REPEATS})",
            "status": sol.status,
            "wall": min(walls),
            "cpu": min(cpus),
            "events": len(sol.events),
            "end_err": err,
            "traj": float(np.max(np.abs(sol(grid) - reference(grid)))),
            "note": (
                f"t* = {t_stat:.4f}; {sol.nfev} gradients, {sol.njev} Hessian products "
                f"({(sol.nfev + sol.njev) / max(len(sol.events), 1):.1f} per event; on a "
                f"linear model most touch only the sliding columns); walls "
                f"{', '.join(f'{w:.3f}' for w in walls)} s; CPU "
                f"{', '.join(f'{c:.3f}' for c in cpus)} s"
            ),
        }
    )
    if d <= events_upto:
        ev, ev_wall, _ = timed_solve(system, x0, T, "events")
        rows.append(
            {
                "d": d,
                "method": "fp events (DOP853)",
                "status": ev.status,
                "wall": ev_wall,
                "events": len(ev.events),
                "end_err": float(np.max(np.abs(ev.x[-1] - x_star))),
                "traj": float(np.max(np.abs(ev(grid) - reference(grid)))),
                "note": "",
            }
        )
    else:
        rows.append(
            {
                "d": d,
                "method": "fp events (DOP853)",
                "status": None,
                "wall": None,
                "events": None,
                "end_err": None,
                "note": f"not run above d = {events_upto} (the issue: 134 s at d = 200)",
            }
        )
    problem = Problem(
        name=f"logistic-d{d}",
        description="",
        system=system,
        x0=x0,
        T=T,
        flow="linf",
        reference="events-tight",
        objective=obj,
    )
    by_name = {
        m.name: m
        for m in [
            *all_methods(),
            implicit_euler_lbfgsb(1e-3),
            *(regularized_at(solver, 1e-4, 1e-5) for solver in ("RK45", "Radau")),
        ]
    }
    for name in PEERS:
        # Best of REPEATS too for the runs short enough to repeat (a slow peer's ratio
        # is far from any target: one run).
        def timed_run(name: str = name) -> tuple[Any, float]:
            cpu = time.process_time()
            res = by_name[name].run(problem, cap)
            return res, time.process_time() - cpu

        results = [timed_run()]
        while results[0][0].status == "ok" and results[0][0].wall < 10.0 and len(results) < REPEATS:
            results.append(timed_run())
        res, res_cpu = min(results, key=lambda r: r[0].wall)
        end_err = traj = None
        if res.status == "ok" and res.X.shape[0]:
            end_err = float(np.max(np.abs(res.X[-1] - x_star)))
            keep = res.t <= T + 1e-9
            traj = float(np.max(np.abs(res.X[keep] - reference(res.t[keep]))))
        note = res.reason
        if len(results) > 1:
            note = (
                f"best of {len(results)}: walls {', '.join(f'{r.wall:.3f}' for r, _ in results)}"
                f" s; CPU {', '.join(f'{c:.3f}' for _, c in results)} s"
            )
        else:
            note = f"{note}; CPU {res_cpu:.3f} s".lstrip("; ")
        rows.append(
            {
                "d": d,
                "method": name,
                "status": res.status,
                "wall": res.wall,
                "cpu": min(c for _, c in results),
                "events": None,
                "end_err": end_err,
                "traj": traj,
                "note": note,
            }
        )
    return rows


def ratios(rows: list[dict[str, Any]]) -> list[str]:
    """The issue's comparison, one line per peer: how many times filippov's (best) wall
    and CPU times the peer took (CPU time, of this process, is what a shared machine's
    load disturbs least), and how many times filippov's trajectory error its error is."""
    ours = rows[0]
    lines = []
    for r in rows:
        if r["method"] not in PEERS:
            continue
        if r["status"] != "ok":
            lines.append(f"d = {r['d']}: {r['method']}: did not finish ({r['note']})")
            continue
        speed = r["wall"] / ours["wall"]
        speed_cpu = r["cpu"] / ours["cpu"]
        accuracy = r["traj"] / max(ours["traj"], 1e-300)
        lines.append(
            f"d = {r['d']}: {r['method']}: {speed:.1f}x filippov's wall time "
            f"({speed_cpu:.1f}x its CPU time) at {accuracy:.2g}x its trajectory error"
        )
    return lines


def peak_memory(d: int) -> float:
    """Peak traced memory (MB) of one continuation run beyond its data."""
    obj, x0 = logistic(d)
    system = fp.steepest_descent_flow(obj, "linf")
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    sol = fp.solve(system, x0, (0.0, 100.0), method="continuation", check_derivatives=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del sol
    return (peak - base) / 2**20


def sparse_model(n: int, density: float = 0.01) -> dict[str, Any]:
    """``--sparse N``: the ℓ∞ flow of a ridge logistic regression on sparse data (``m = 5n``
    samples, ``density`` of the entries nonzero, seed 0) from ``x0 ~ N(0, I)`` to its
    stationary point on the continuation path: wall time, events, status, the gradient at
    the end, and the peak traced memory beyond the data, with what the solution keeps.
    A dense copy of the data, or an ``n × n`` array, would show in the peak: the flow's
    identity ``B`` and the self-check's Hessian were both dense before."""
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    m = 5 * n
    A = sp.random_array((m, n), density=density, rng=rng, format="csr")
    y = np.where(rng.random(m) < 0.5, 1.0, 0.0)
    x0 = rng.standard_normal(n)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    obj = ridge_logistic(A, y, 0.1)
    data = tracemalloc.get_traced_memory()[0] - base
    system = fp.steepest_descent_flow(obj, "linf")
    start = time.perf_counter()
    sol = fp.solve(system, x0, (0.0, 100.0), method="continuation", check_derivatives=False)
    wall = time.perf_counter() - start
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    grad = float(np.max(np.abs(obj.grad(sol.x[-1]))))
    return {
        "n": n,
        "m": m,
        "nnz": int(A.nnz),
        "status": sol.status,
        "events": len(sol.events),
        "wall": wall,
        "end |grad|": grad,
        "objective MB": data / 2**20,
        "peak MB beyond data": (peak - base - data) / 2**20,
        "kept MB (solution)": (kept - base - data) / 2**20,
        "dense n×n MB": n * n * 8 / 2**20,
    }


#: The networks of ``--networks``: (data set, hidden units, weight decay).
NETWORKS = (("iris", 8, 1e-2), ("wine", 8, 1e-2), ("iris", 16, 1e-3))
#: The span of the networks' greedy (ℓ1) flows, which move one tie at a time: longer.
GREEDY_SPAN = 50.0


def networks() -> list[dict[str, Any]]:
    """The ℓ∞ flow (t ∈ [0, 2]) and the ℓ1 flow (t ∈ [0, 50]) of ``mlp_classifier`` (a
    nonconvex loss) on standardized scikit-learn data from ``mlp_init(seed=0)``, default
    tolerances: the continuation path against the event path, and the largest difference
    of their trajectories."""
    try:
        from sklearn.datasets import load_iris, load_wine
    except ImportError:  # pragma: no cover - sklearn is a docs dependency
        return []
    from filippov.objectives import mlp_classifier, mlp_init

    loaders = {"iris": load_iris, "wine": load_wine}
    rows = []
    for name, hidden, decay in NETWORKS:
        X, y = loaders[name](return_X_y=True)
        X = (X - X.mean(axis=0)) / X.std(axis=0)
        obj = mlp_classifier(X, y, hidden=hidden, weight_decay=decay)
        x0 = mlp_init(X.shape[1], len(set(y)), hidden=hidden, seed=0)
        for norm, T in (("linf", 2.0), ("l1", GREEDY_SPAN)):
            system = fp.steepest_descent_flow(obj, norm)
            sols = {}
            for method in ("continuation", "events"):
                start, cpu = time.perf_counter(), time.process_time()
                sol = fp.solve(system, x0, (0.0, T), method=method)
                sols[method] = sol
                label = f"{name} network, {hidden} hidden, λ = {decay:g}, {norm}"
                rows.append(
                    {
                        "d": obj.n,
                        "method": f"{label}: fp {method}",
                        "status": sol.status,
                        "wall": time.perf_counter() - start,
                        "events": len(sol.events),
                        "end_err": None,
                        "note": f"CPU {time.process_time() - cpu:.3g} s; {sol.message[:120]}",
                    }
                )
            a, b = sols["continuation"], sols["events"]
            ts = np.linspace(0.0, min(a.t[-1], b.t[-1]), 401)
            rows[-1]["traj"] = float(np.max(np.abs(a(ts) - b(ts))))
    return rows


#: ``--factorization``: (p, q, rank) of the random low-rank matrices factored.
FACTORIZATIONS = ((20, 15, 2), (40, 30, 3))


def factorizations() -> list[dict[str, Any]]:
    """``--factorization``: the ℓ∞ and ℓ1 flows (continuation path), the ℓ∞ flow on the
    event path and the ℓ2 flow of `matrix_factorization` (a nonconvex model whose
    minimizers form valleys: the factors' rotations) of a random rank-``r`` matrix, 60 %
    of its entries observed, λ = 1e-3, from ``matrix_factorization_init(scale=0.1,
    seed=1)``, default tolerances, t ∈ [0, 200]; the end's ``max |∇f|`` in the column of
    end errors (no minimizer to compare with: a valley)."""
    from filippov.objectives import matrix_factorization, matrix_factorization_init

    rows = []
    for p, q, r in FACTORIZATIONS:
        rng = np.random.default_rng(0)
        M = rng.standard_normal((p, r)) @ rng.standard_normal((q, r)).T
        mask = rng.random((p, q)) < 0.6
        obj = matrix_factorization(M, r, lam=1e-3, mask=mask)
        x0 = matrix_factorization_init((p, q), r, scale=0.1, seed=1)
        runs = (
            ("linf", "continuation"),
            ("l1", "continuation"),
            ("linf", "events"),
            ("l2", "auto"),
        )
        for norm, method in runs:
            start, cpu = time.perf_counter(), time.process_time()
            sol = fp.solve(fp.steepest_descent_flow(obj, norm), x0, (0.0, 200.0), method=method)
            rows.append(
                {
                    "d": obj.n,
                    "method": f"factorization {p}×{q}, r = {r}, {norm}: fp {method}",
                    "status": sol.status,
                    "wall": time.perf_counter() - start,
                    "events": len(sol.events),
                    "end_err": float(np.max(np.abs(obj.grad(sol.x[-1])))),
                    "note": f"CPU {time.process_time() - cpu:.3g} s; {sol.message[:150]}",
                }
            )
    return rows


def breast_cancer() -> list[dict[str, Any]]:
    """The gallery's problem: standardized features plus an intercept, λ = 1e-2, x0 = 0."""
    try:
        from sklearn.datasets import load_breast_cancer
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler
    except ImportError:  # pragma: no cover - sklearn is a docs dependency
        return []
    X, y = load_breast_cancer(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.4, random_state=0, stratify=y)
    Z = StandardScaler().fit(X_train).transform(X_train)
    A = np.column_stack([Z, np.ones(len(Z))])
    obj = ridge_logistic(A, y_train, 1e-2)
    n = A.shape[1]
    x_star = minimizer(obj, n)
    rows = []
    # The ℓ1 flow on the event path too (its only path before the tie modes' continuation),
    # alternated with the continuation runs so that both see the same load.
    runs = [("linf", ("auto",)), ("l1", ("auto", "events"))]
    for norm, methods in runs:
        system = fp.steepest_descent_flow(obj, norm)
        walls: dict[str, list[float]] = {m: [] for m in methods}
        cpus: dict[str, list[float]] = {m: [] for m in methods}
        sols: dict[str, Any] = {}
        for _ in range(3):  # best of three: the machine is shared
            for method in methods:
                sols[method], wall, cpu = timed_solve(system, np.zeros(n), 200.0, method)
                walls[method].append(wall)
                cpus[method].append(cpu)
        for method in methods:
            sol = sols[method]
            rows.append(
                {
                    "d": n,
                    "method": f"breast cancer {norm} flow: fp {sol.method}",
                    "status": sol.status,
                    "wall": min(walls[method]),
                    "events": len(sol.events),
                    "end_err": float(np.max(np.abs(sol.x[-1] - x_star))),
                    "note": (
                        f"walls {', '.join(f'{w:.3f}' for w in walls[method])} s; "
                        f"CPU {', '.join(f'{c:.3f}' for c in cpus[method])} s"
                    ),
                }
            )
    return rows


def greedy(d: int) -> dict[str, Any]:
    """``--greedy D``: the ℓ1 (greedy) flow of the same logistic problem of dimension ``d``
    to its stationary point on the continuation path (tie modes), best of `REPEATS` runs
    (one above d = 200), with its end error against the independent minimizer."""
    obj, x0 = logistic(d)
    system = fp.steepest_descent_flow(obj, "l1")
    x_star = minimizer(obj, d)
    walls, cpus = [], []
    for _ in range(REPEATS if d <= 200 else 1):
        sol, wall, cpu = timed_solve(system, x0, 1e5, "continuation")
        walls.append(wall)
        cpus.append(cpu)
    return {
        "d": d,
        "method": "ℓ1 flow: fp continuation (tie modes)",
        "status": sol.status,
        "wall": min(walls),
        "events": len(sol.events),
        "end_err": float(np.max(np.abs(sol.x[-1] - x_star))),
        "note": (
            f"t* = {sol.events[-1].t if sol.status == 1 else float('nan'):.4f}; "
            f"{sol.nfev} gradients, {sol.njev} Hessian products; "
            f"walls {', '.join(f'{w:.3f}' for w in walls)} s; "
            f"CPU {', '.join(f'{c:.3f}' for c in cpus)} s"
        ),
    }


def warm_up() -> None:
    """One untimed small run of each path: a process's first solve imports (and, where
    no bytecode is cached, compiles) the modules it uses, about 0.1-0.2 s that is not the
    problem's cost. (scipy, the peers' engine, is imported at the top already.)"""
    obj, x0 = logistic(10, seed=1)
    system = fp.steepest_descent_flow(obj, "linf")
    for method in ("continuation", "events"):
        fp.solve(system, x0, (0.0, 100.0), method=method)


def main(argv: list[str] | None = None) -> int:
    global REPEATS
    parser = argparse.ArgumentParser(prog="python -m benchmarks.general_path", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="d = 30, 100; 20 s caps")
    parser.add_argument("--dims", type=int, nargs="*", default=None)
    parser.add_argument("--cap", type=float, default=None, help="wall-clock cap per peer run")
    parser.add_argument("--events-upto", type=int, default=100, help="run the event path up to d")
    parser.add_argument("--memory", type=int, default=None, help="d of the tracemalloc run")
    parser.add_argument("--no-breast-cancer", action="store_true")
    parser.add_argument(
        "--networks", action="store_true", help="only the nonconvex networks (mlp_classifier)"
    )
    parser.add_argument(
        "--sparse", type=int, nargs="*", default=None, help="only the sparse-data models of n"
    )
    parser.add_argument(
        "--greedy", type=int, nargs="*", default=None, help="only the ℓ1 flows of dimensions d"
    )
    parser.add_argument(
        "--factorization",
        action="store_true",
        help="only the low-rank matrix factorizations (matrix_factorization)",
    )
    parser.add_argument("--rtol", type=float, default=1e-10, help="filippov's rtol")
    parser.add_argument(
        "--repeat", type=int, default=REPEATS, help="timed runs per method (the best is shown)"
    )
    args = parser.parse_args(argv)
    RTOL[0] = args.rtol
    REPEATS = max(1, args.repeat)
    if args.sparse is not None:
        print(f"load average at the start: {os.getloadavg()} (filippov's default tolerances)")
        for n in args.sparse or [2000]:
            row = sparse_model(n)
            print(
                "  ".join(f"{k}: {fmt(v) if isinstance(v, float) else v}" for k, v in row.items())
            )
        return 0
    print(f"filippov rtol = {args.rtol:g}, atol = {args.rtol / 100:g}")
    dims = args.dims or ([30, 100] if args.quick else [50, 200, 1000])
    cap = args.cap or (20.0 if args.quick else 120.0)
    header = f"| {'d':>4} | {'method':<42} | {'status':<14} | {'wall s':>8} | {'events':>6} | "
    header += f"{'end error':>9} | {'traj. diff':>10} | note"
    print(f"load average at the start: {os.getloadavg()}")
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|---|", flush=True)

    def show(rows: list[dict[str, Any]]) -> None:
        for r in rows:
            print(
                f"| {r['d']:>4} | {r['method']:<42} | {r['status']!s:<14} | {fmt(r['wall']):>8} "
                f"| {'—' if r['events'] is None else r['events']:>6} | {fmt(r['end_err']):>9} "
                f"| {fmt(r.get('traj')):>10} | {r['note']} |",
                flush=True,
            )

    if args.networks:
        show(networks())
        return 0
    if args.factorization:
        show(factorizations())
        return 0
    warm_up()
    if args.greedy is not None:
        show([greedy(d) for d in args.greedy or [50, 200]])
        return 0
    if not args.no_breast_cancer:
        show(breast_cancer())
    for d in dims:
        rows = run_dimension(d, cap, args.events_upto)
        show(rows)
        for line in ratios(rows):
            print(line, flush=True)
    mem_d = args.memory or max(dims)
    print(
        f"\npeak memory of the d = {mem_d} continuation run beyond its data: "
        f"{peak_memory(mem_d):.1f} MB (tracemalloc)"
    )
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
