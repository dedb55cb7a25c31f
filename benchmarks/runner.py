"""Run the methods on the problems, time them, measure their errors; scaling and targets.

Timing rule: every method that finishes is run at least ``repeats`` (≥ 3) times and its
median wall time is reported. A case whose first run takes under a second gets that run
as an untimed warm-up (kept in ``warmup_wall``) and 5 timed runs (``repeats`` in the
quick run), the same for every method: on this shared two-core machine single runs of
the fast cases scatter by ±30 %, and first runs are slower (fresh allocations, cold
caches). A run that hits the
wall-clock cap or fails is recorded once, with its reason, and not repeated (repeating a
capped run only re-measures the cap).

Error rule: ``max_err`` is the largest ``‖x(t) − x_ref(t)‖∞`` over the method's output
times (the 0.01 grid for the ODE solvers and filippov, every grid point of the fixed-step
methods, FESD's element boundaries for nosnoc); ``final_err`` is the error at ``T`` (only
for runs that reached ``T``).
"""

from __future__ import annotations

import functools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import filippov as fp
from filippov.engine import ExactOptions

from .peers import (
    Method,
    RunResult,
    _implicit_euler,
    all_methods,
    nosnoc_status,
    siconos_status,
    system_python_version,
)
from .problems import Problem, coulomb_reference, make_problems, quadratic_problem

__all__ = ["Config", "reference_of", "run_all", "run_case"]


@dataclass(frozen=True)
class Config:
    """Settings of one benchmark run."""

    quick: bool
    repeats: int = 3
    cap: float = 30.0
    #: Largest affine system run on the event path (it took 2.9 s per run at d = 200, about
    #: 60 times the exact path, in the full run of benchmarks/README.md).
    events_max_d: int = 200
    #: Cap of the fixed-step peers (implicit Euler, Siconos): they are the yardstick of the
    #: d = 200 target, so the quick run gives them more time than the others.
    cap_fixed_step: float = 30.0
    scaling_sizes: tuple[int, ...] = (50, 100, 200, 500, 1000, 2000)
    rss_size: int = 2000

    @classmethod
    def make(cls, quick: bool) -> Config:
        if quick:
            return cls(
                quick=True,
                repeats=3,
                cap=1.0,
                scaling_sizes=(50, 100, 200, 500),
                rss_size=500,
                events_max_d=50,
                cap_fixed_step=5.0,
            )
        return cls(quick=False, cap=10.0, cap_fixed_step=30.0)


Ref = Callable[[np.ndarray], np.ndarray]


def reference_of(p: Problem) -> tuple[Ref, dict[str, Any]]:
    """The reference solution of ``p`` as a function of time, and how it was obtained."""
    if p.reference == "exact":
        t0 = time.perf_counter()
        sol = fp.solve(p.system, p.x0, (0.0, p.T), method="exact", max_events=10**7)
        wall = time.perf_counter() - t0
        info: dict[str, Any] = {
            "how": "filippov exact path",
            "events": len(sol.events),
            "wall": wall,
        }
        # The exact path's own error: compare with the direct (non-incremental) selection.
        if p.flow == "linf" and p.system.affine_data is not None:
            direct = fp.solve(
                p.system,
                p.x0,
                (0.0, p.T),
                method="exact",
                options=ExactOptions(incremental=False),
                max_events=10**7,
            )
            grid = p.grid
            info["self_check"] = float(np.max(np.abs(direct(grid) - sol(grid))))
        return sol, info
    if p.reference == "closed-form":
        mu = float(p.meta["mu"])

        def ref(t: np.ndarray) -> np.ndarray:
            return coulomb_reference(p.x0, mu, np.atleast_1d(np.asarray(t, dtype=float)))[0]

        return ref, {"how": "closed form (half cycles about ±μ, stick when |q| ≤ μ)"}
    t0 = time.perf_counter()
    sol = fp.solve(p.system, p.x0, (0.0, p.T), method="events", rtol=1e-13, atol=1e-15)
    info = {
        "how": "filippov event path, rtol = 1e-13, atol = 1e-15",
        "events": len(sol.events),
        "wall": time.perf_counter() - t0,
    }
    return sol, info


def _errors(p: Problem, ref: Ref, res: RunResult) -> tuple[float | None, float | None]:
    if res.X.shape[0] == 0:
        return None, None
    keep = res.t <= p.T + 1e-9
    X, t = res.X[keep], res.t[keep]
    if not np.all(np.isfinite(X)):
        return float("inf"), None
    err = np.max(np.abs(X - ref(t)), axis=1)
    max_err = float(np.max(err))
    final = float(err[-1]) if abs(t[-1] - p.T) < 1e-9 else None
    return max_err, final


def run_case(p: Problem, method: Method, ref: Ref, cfg: Config) -> dict[str, Any]:
    """One row of the table: ``method`` on ``p``, timed and compared with ``ref``."""
    row: dict[str, Any] = {"problem": p.name, "method": method.name, "family": method.family}
    why_not = method.applies(p)
    if not why_not and cfg.quick and method.family == "Siconos" and p.n > 50:
        why_not = "quick run: Siconos only up to d = 50 (it needs ~60 s at d = 200, h = 1e-2)"
    big_affine = p.system.is_affine and p.n > cfg.events_max_d
    if not why_not and method.family == "filippov" and method.name != "fp exact" and big_affine:
        why_not = (
            f"affine system with d > {cfg.events_max_d}: the exact path is the tool "
            "(the event path took 2.9 s per run at d = 200, about 60 times the exact path)"
        )
    if why_not:
        row.update(status="skipped", reason=why_not, runs=0)
        return row
    walls: list[float] = []
    res: RunResult | None = None
    cap = cfg.cap_fixed_step if method.family in ("implicit Euler", "Siconos") else cfg.cap
    warmup: float | None = None
    n_runs = cfg.repeats
    while len(walls) < n_runs:
        try:
            res = method.run(p, cap)
        except Exception as exc:  # a peer's failure is a result, never a crash of the run
            row.update(status="failed", reason=f"{type(exc).__name__}: {exc}", runs=len(walls) + 1)
            return row
        if res.status == "ok" and warmup is None and not walls and _is_fast(res.wall):
            warmup = res.wall  # a fast case: this run warms up, 5 timed runs follow
            n_runs = _fast_runs(cfg)
            continue
        walls.append(res.wall)
        if res.status != "ok":
            break
    assert res is not None
    max_err, final_err = _errors(p, ref, res)
    row.update(
        status=res.status,
        reason=res.reason,
        runs=len(walls),
        wall=statistics.median(walls),
        walls=walls,
        warmup_wall=warmup,
        max_err=max_err,
        final_err=final_err,
        t_reached=float(res.t[-1]) if res.t.size else None,
        counters=res.counters,
    )
    return row


# ------------------------------------------------------------------------------ extras
#: Runs shorter than this many seconds are repeated :data:`_FAST_REPEATS` times.
_FAST_WALL = 1.0
_FAST_REPEATS = 5


def _is_fast(first_wall: float) -> bool:
    """Whether a case is fast: its first run is a warm-up, then 5 timed runs."""
    return first_wall < _FAST_WALL


def _fast_runs(cfg: Config) -> int:
    """Timed runs of a fast case: 5 in the full run, ``repeats`` in the quick one (which
    must stay under two minutes)."""
    return cfg.repeats if cfg.quick else max(cfg.repeats, _FAST_REPEATS)


def _median_time(fun: Callable[[], Any], cfg: Config) -> tuple[float, list[float], Any]:
    repeats = cfg.repeats
    t0 = time.perf_counter()
    out = fun()
    first = time.perf_counter() - t0
    walls = [] if _is_fast(first) else [first]
    n = _fast_runs(cfg) if _is_fast(first) else repeats
    while len(walls) < n:
        t0 = time.perf_counter()
        out = fun()
        walls.append(time.perf_counter() - t0)
    return statistics.median(walls), walls, out


def scaling(cfg: Config, log: Callable[[str], None]) -> dict[str, Any]:
    """Wall time and events of the exact path (sign flow) against the dimension."""
    rows = []

    def solve_exact(p: Problem) -> fp.FilippovSolution:
        return fp.solve(p.system, p.x0, (0.0, p.T), method="exact", max_events=10**7)

    for size in cfg.scaling_sizes:
        p = quadratic_problem(size, "linf")
        med, walls, sol = _median_time(functools.partial(solve_exact, p), cfg)
        ev = len(sol.events)
        rows.append(
            {
                "d": size,
                "wall": med,
                "walls": walls,
                "events": ev,
                "per_event_ms": 1e3 * med / ev,
                "max_sliding": int(max(len(s.mode.free) for s in sol.segments)),
            }
        )
        log(f"  scaling d = {size}: {med:.3f} s, {ev} events, {1e3 * med / ev:.3f} ms/event")
    d = np.array([r["d"] for r in rows], dtype=float)
    w = np.array([r["wall"] for r in rows])
    n_ev = np.array([r["events"] for r in rows], dtype=float)
    big = d >= 200 if np.sum(d >= 200) >= 2 else np.ones_like(d, dtype=bool)
    fit = {
        "time_exponent": float(np.polyfit(np.log(d), np.log(w), 1)[0]),
        "time_exponent_d>=200": float(np.polyfit(np.log(d[big]), np.log(w[big]), 1)[0]),
        "events_exponent": float(np.polyfit(np.log(d), np.log(n_ev), 1)[0]),
        "per_event_exponent": float(np.polyfit(np.log(d), np.log(w / n_ev), 1)[0]),
    }
    return {"rows": rows, "fit": fit, "peak_rss": _peak_rss(cfg.rss_size, log)}


_RSS_SCRIPT = r"""
import json, resource, sys, time, tracemalloc
import numpy as np
import filippov as fp
from benchmarks.problems import quadratic_problem
p = quadratic_problem(int(sys.argv[1]), "linf")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
sol = fp.solve(p.system, p.x0, (0.0, p.T), method="exact", max_events=10**7)
wall = time.perf_counter() - t0
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
del sol
tracemalloc.start()
sol = fp.solve(p.system, p.x0, (0.0, p.T), method="exact", max_events=10**7)
cur, peak = tracemalloc.get_traced_memory()
print(json.dumps({"d": p.n, "rss_before_solve_mb": before / 1024, "rss_peak_mb": after / 1024,
                  "tracemalloc_peak_mb": peak / 2**20, "retained_solution_mb": cur / 2**20,
                  "events": len(sol.events), "wall": wall}))
"""


def _peak_rss(d: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Peak resident memory of the exact path at dimension ``d``, in a fresh process."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        out = subprocess.run(
            [sys.executable, "-c", _RSS_SCRIPT, str(d)],
            capture_output=True,
            text=True,
            timeout=1800,
            env=env,
            cwd=root,
        )
        data = json.loads(out.stdout.strip().splitlines()[-1])
    except Exception as exc:
        return {"d": d, "error": f"{type(exc).__name__}: {exc}"}
    log(
        f"  peak RSS d = {d}: {data['rss_peak_mb']:.0f} MB (before the solve "
        f"{data['rss_before_solve_mb']:.0f} MB; solution kept {data['retained_solution_mb']:.0f} MB)"
    )
    return data


def schemes_targets(cfg: Config, log: Callable[[str], None]) -> dict[str, Any]:
    """Issue 6 targets: 10⁴ SignGD steps in d = 10⁴; 10⁴ points × 10³ steps in 2-D."""
    try:
        from filippov.objectives import separable_quadratic, slope
        from filippov.schemes import SignGD
    except Exception as exc:  # pragma: no cover - schemes not usable yet
        return {"error": f"filippov.schemes not usable: {type(exc).__name__}: {exc}"}
    rng = np.random.default_rng(0)
    d = 10_000
    obj = separable_quadratic(rng.uniform(1.0, 10.0, d), rng.standard_normal(d))
    out: dict[str, Any] = {}
    diags = (False,) if cfg.quick else (False, True)
    for diag in diags:
        run_big = functools.partial(
            SignGD(step=1e-3).run,
            obj,
            np.zeros(d),
            n_steps=10_000,
            save_every=10_000,
            diagnostics=diag,
        )
        med, walls, _ = _median_time(run_big, cfg)
        out[f"signgd_d1e4_steps1e4_diagnostics={diag}"] = {"wall": med, "walls": walls}
        log(f"  SignGD 1e4 steps, d = 1e4, diagnostics={diag}: {med:.3f} s")
    X0 = rng.standard_normal((10_000, 2))
    for diag in diags:
        run_batch = functools.partial(
            SignGD(step=1e-3).run, slope(0.5), X0, n_steps=1000, save_every=1000, diagnostics=diag
        )
        med, walls, _ = _median_time(run_batch, cfg)
        out[f"signgd_batch1e4x1e3_2d_diagnostics={diag}"] = {"wall": med, "walls": walls}
        log(f"  SignGD batch 1e4 points x 1e3 steps (2-D), diagnostics={diag}: {med:.3f} s")
    return out


def logistic_extrapolation(p: Problem, ref: Ref, cfg: Config) -> dict[str, Any]:
    """The event path against implicit Euler's Richardson-extrapolated limit (``O(h)``)."""
    hs = (1e-3, 5e-4) if cfg.quick else (1e-3, 5e-4, 2.5e-4)
    runs = [_implicit_euler(h)(p, 10 * cfg.cap) for h in hs]
    if any(r.status != "ok" for r in runs):
        return {"error": "; ".join(r.reason for r in runs if r.status != "ok")}
    grid_t = runs[0].t
    X = [r.X for r in runs]
    lim1 = 2 * X[1] - X[0]
    lim2 = 2 * X[-1] - X[-2] if len(X) > 2 else lim1
    fp_default = fp.solve(p.system, p.x0, (0.0, p.T), method="events")
    err = {
        "h": list(hs),
        "ie_err_vs_ref": [float(np.max(np.abs(x - ref(grid_t)))) for x in X],
        "extrapolation_spread": float(np.max(np.abs(lim2 - lim1))),
        "events_default_vs_limit": float(np.max(np.abs(fp_default(grid_t) - lim2))),
        "events_tight_vs_limit": float(np.max(np.abs(ref(grid_t) - lim2))),
        "events_default_vs_tight": float(np.max(np.abs(fp_default(grid_t) - ref(grid_t)))),
        "walls": [r.wall for r in runs],
    }
    return err


# ------------------------------------------------------------------------------- driver
def machine_info() -> dict[str, Any]:
    import scipy

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "filippov": getattr(fp, "__version__", "?"),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
        "load_average_at_start": os.getloadavg(),
        "siconos": siconos_status() or system_python_version(),
        "nosnoc": nosnoc_status() or _version("nosnoc"),
        "casadi": _version("casadi"),
    }
    try:
        with open("/proc/cpuinfo") as fh:
            names = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        if names:
            info["processor"] = names[0]
    except OSError:
        pass
    return info


def _version(mod: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(mod)
    except PackageNotFoundError:
        return "not installed"


def run_all(
    cfg: Config,
    *,
    only: Sequence[str] | None = None,
    log: Callable[[str], None] = print,
    extras: bool = True,
) -> dict[str, Any]:
    """Run every (problem, method) pair, plus scaling and the schemes targets."""
    started = time.perf_counter()
    result: dict[str, Any] = {"config": cfg.__dict__ | {"scaling_sizes": list(cfg.scaling_sizes)}}
    result["machine"] = machine_info()
    problems = make_problems(cfg.quick)
    if only:
        problems = [p for p in problems if any(o in p.name for o in only)]
    methods = all_methods()
    rows: list[dict[str, Any]] = []
    prob_info: dict[str, Any] = {}
    for p in problems:
        log(f"{p.name}: {p.description} (n = {p.n}, T = {p.T:g})")
        ref, info = reference_of(p)
        prob_info[p.name] = {
            "description": p.description,
            "n": p.n,
            "T": p.T,
            "reference": info,
            **p.meta,
        }
        for m in methods:
            row = run_case(p, m, ref, cfg)
            rows.append(row)
            log("  " + _one_line(row))
        if p.name.startswith("logistic") and extras:
            prob_info[p.name]["extrapolation"] = logistic_extrapolation(p, ref, cfg)
            log(f"  extrapolation: {prob_info[p.name]['extrapolation']}")
    result["problems"] = prob_info
    result["rows"] = rows
    if extras:
        log("scaling of the exact path (sign flow, rotated quadratics)")
        result["scaling"] = scaling(cfg, log)
        log("schemes (issue 6 targets)")
        result["schemes"] = schemes_targets(cfg, log)
    result["targets"] = evaluate_targets(result)
    result["machine"]["load_average_at_end"] = os.getloadavg()
    result["total_wall"] = time.perf_counter() - started
    result["peak_rss_runner_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _one_line(row: dict[str, Any]) -> str:
    if row["status"] == "skipped":
        return f"{row['method']:<28} skipped: {row['reason']}"
    wall = row.get("wall")
    err = row.get("max_err")
    es = "—" if err is None else f"{err:.2e}"
    ws = "—" if wall is None else f"{wall:.4f} s"
    extra = f" [{row['reason']}]" if row.get("reason") else ""
    return f"{row['method']:<28} {row['status']:<15} {ws:>10}  err {es}{extra}"


def _row(result: dict[str, Any], problem: str, method: str) -> dict[str, Any] | None:
    for r in result.get("rows", []):
        if r["problem"] == problem and r["method"] == method:
            return r
    return None


def evaluate_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue-8 / issue-6 targets, each with the measured figures and met / missed."""
    out: list[dict[str, Any]] = []

    def add(name: str, met: bool | None, measured: str) -> None:
        out.append({"target": name, "met": met, "measured": measured})

    ex = _row(result, "quad-linf-d200", "fp exact")
    ie = _row(result, "quad-linf-d200", "implicit Euler h=0.001")
    info = result.get("problems", {}).get("quad-linf-d200", {}).get("reference", {})
    if ex and ie and ex.get("wall") and ie.get("wall") and ie.get("max_err") is not None:
        speed = ie["wall"] / ex["wall"]
        own = max(float(info.get("self_check", 0.0)), 1e-16)
        acc = ie["max_err"] / own
        add(
            "d = 200: exact ≥ 10× faster than implicit Euler h = 1e-3",
            # A capped implicit Euler run only gives a lower bound on its time, hence on
            # the speed-up; a failed run gives nothing.
            speed >= 10 and ie["status"] in ("ok", "did not finish"),
            f"{ex['wall']:.3f} s vs {ie['wall']:.3f} s ({ie['status']}): {speed:.1f}×"
            + (" (lower bound)" if ie["status"] == "did not finish" else ""),
        )
        add(
            "d = 200: exact ≥ 1e6× more accurate than implicit Euler h = 1e-3",
            acc >= 1e6,
            f"implicit Euler error {ie['max_err']:.2e}; exact path error ≤ {own:.1e} "
            f"(difference to an independent direct-selection run): {acc:.1e}×",
        )
    ex1k = _row(result, "quad-linf-d1000", "fp exact")
    if ex1k and ex1k.get("wall") is not None:
        add("d = 1000: exact path under 1 s", ex1k["wall"] < 1.0, f"{ex1k['wall']:.3f} s")
    sc = result.get("scaling")
    if sc:
        f = sc["fit"]
        add(
            "cost ≲ d² · (events)/d, i.e. per-event cost ≲ O(d)",
            f["per_event_exponent"] <= 1.2,
            f"time ∝ d^{f['time_exponent']:.2f} (d ≥ 200: d^{f['time_exponent_d>=200']:.2f}), "
            f"events ∝ d^{f['events_exponent']:.2f}, cost per event ∝ d^{f['per_event_exponent']:.2f}",
        )
    lp = result.get("problems", {}).get("logistic-d50", {})
    extra = lp.get("extrapolation", {})
    ev = _row(result, "logistic-d50", "fp events (DOP853)")
    th = _row(result, "logistic-d50", "tanh ε=0.0001 RK45")
    if ev and ev.get("max_err") is not None:
        add(
            "logistic d = 50: event path error ≤ 1e-7 vs a tight run of itself",
            ev["max_err"] <= 1e-7,
            f"{ev['max_err']:.2e}",
        )
    if "events_default_vs_limit" in extra:
        add(
            "logistic d = 50: event path ≤ 1e-7 vs implicit Euler's extrapolated limit",
            extra["events_default_vs_limit"] <= 1e-7,
            f"{extra['events_default_vs_limit']:.2e} (spread of two Richardson limits "
            f"{extra['extrapolation_spread']:.1e})",
        )
    if ev and th and ev.get("wall") is not None and th.get("wall") is not None:
        faster = ev["wall"] < th["wall"] or th["status"] != "ok"
        add(
            "logistic d = 50: event path faster than tanh ε = 1e-4 RK45",
            faster,
            f"{ev['wall']:.3f} s vs {th['wall']:.3f} s ({th['status']})",
        )
    sch = result.get("schemes", {})
    for key, label in (
        ("signgd_d1e4_steps1e4_diagnostics=False", "10⁴ SignGD steps in d = 10⁴ well under 1 s"),
        (
            "signgd_batch1e4x1e3_2d_diagnostics=False",
            "10⁴ points × 10³ SignGD steps (2-D) well under 1 s",
        ),
    ):
        if key in sch:
            w = sch[key]["wall"]
            with_diag = sch.get(key.replace("False", "True"))
            note = f" ({with_diag['wall']:.3f} s with)" if with_diag else ""
            add(label + " (< 0.5 s)", w < 0.5, f"{w:.3f} s without diagnostics{note}")
    return out
