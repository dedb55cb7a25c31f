"""The methods compared: filippov's two paths and what a user would pick instead.

Every method is a :class:`Method` whose ``run(problem, cap)`` returns a :class:`RunResult`
with the states at the method's own output times (``t``, ``X``), its wall time and its
status. A method that hits the wall-clock ``cap`` or fails returns ``"did not finish"`` /
``"failed"`` with the reason and the partial trajectory; a method that does not apply to a
problem (or whose package is missing) says why in ``applies``. Nothing is dropped.

* ``fp exact`` / ``fp events (...)`` — :func:`filippov.solve` on its two paths.
* ``naive ...`` — :func:`scipy.integrate.solve_ivp` on the discontinuous right-hand side
  (``−sign(∇f)`` for the sign flow, ``−sign(g_i) e_i`` with ``i = argmax |g_i|`` for the ℓ1
  flow, ``v' = −q − μ sign(v)`` for Coulomb): RK45 and Radau (with the a.e. Jacobian).
* ``tanh ε ...`` — the regularized flow ``−tanh(∇f/ε)`` (soft-max ``−softmax(|g|/ε) sign g``
  for the ℓ1 flow, ``−μ tanh(v/ε)`` for Coulomb), RK45 and Radau with the exact Jacobian.
* ``implicit Euler h`` — fixed-step implicit Euler of the inclusion (Moreau time stepping):
  ``x₊ = x + h(A x₊ + c − B λ)``, ``λ ∈ Sign(C x₊ + e)`` is one box VI per step for linear
  relay systems; the sign flow of a general objective is solved per step by Josephy–Newton.
* ``Siconos Moreau–Jean h`` — Siconos's ``EulerMoreauOSI(θ = 1)`` + ``Relay`` (optional).
* ``nosnoc FESD`` — nosnoc's finite elements with switch detection (optional, 2-D only).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize
from scipy.integrate import solve_ivp

import filippov as fp
from filippov.selection import solve_box_vi

from .problems import GRID_STEP, Problem

__all__ = ["Method", "RunResult", "all_methods", "implicit_euler_lbfgsb", "regularized_at"]

SYSTEM_PYTHON = "/usr/bin/python3"


@dataclass
class RunResult:
    """What one run of one method produced."""

    status: str  # "ok" | "did not finish" | "failed"
    reason: str
    t: np.ndarray
    X: np.ndarray
    wall: float
    counters: dict[str, Any] = field(default_factory=dict)
    #: Wall time measured inside a worker process (Siconos), excluding its start-up.
    inner_wall: float | None = None


@dataclass(frozen=True)
class Method:
    """A method: its label, its family (for the plot) and how to run it."""

    name: str
    family: str
    run: Callable[[Problem, float], RunResult]
    applies: Callable[[Problem], str | None] = lambda p: None


class _WallClock(Exception):
    pass


# ------------------------------------------------------------------------------ filippov
def _fp_run(method: str, **kw: Any) -> Callable[[Problem, float], RunResult]:
    def run(p: Problem, cap: float) -> RunResult:
        t0 = time.perf_counter()
        sol = fp.solve(p.system, p.x0, (0.0, p.T), method=method, max_events=10**6, **kw)
        wall = time.perf_counter() - t0
        grid = p.grid
        ok = sol.status in (0, 1)
        return RunResult(
            "ok" if ok else "failed",
            "" if ok else sol.message,
            grid,
            sol(grid),
            wall,
            {"events": len(sol.events), "nfev": sol.nfev},
        )

    return run


def _exact_applies(p: Problem) -> str | None:
    return None if p.system.is_affine else "not piecewise affine (no exact path)"


def _events_applies(p: Problem) -> str | None:
    return None


# ------------------------------------------------------------------------ right-hand sides
def _relay_rhs(p: Problem, eps: float | None) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``(fun, jac)`` of the naive (``eps=None``) or regularized flow of ``p``."""
    if p.flow == "relay":
        assert p.relay_field is not None
        mu = float(p.meta["mu"])

        def fun_r(t: float, x: np.ndarray) -> np.ndarray:
            s = np.sign(x[1:2]) if eps is None else np.tanh(x[1:2] / eps)
            return p.relay_field(x, s)  # type: ignore[misc]

        def jac_r(t: float, x: np.ndarray) -> np.ndarray:
            d = 0.0 if eps is None else mu / eps / np.cosh(x[1] / eps) ** 2
            return np.array([[0.0, 1.0], [-1.0, -d]])

        return fun_r, jac_r
    obj = p.objective
    assert obj is not None
    quad = p.quadratic

    def hess(x: np.ndarray) -> np.ndarray:
        return quad[0] if quad is not None else obj.hess(x)

    if p.flow == "linf":

        def fun(t: float, x: np.ndarray) -> np.ndarray:
            g = obj.grad(x)
            return -np.sign(g) if eps is None else -np.tanh(g / eps)

        def jac(t: float, x: np.ndarray) -> np.ndarray:
            if eps is None:
                return np.zeros((x.size, x.size))
            g = obj.grad(x)
            return -(1.0 / eps / np.cosh(np.clip(g / eps, -350, 350)) ** 2)[:, None] * hess(x)

        return fun, jac

    def fun1(t: float, x: np.ndarray) -> np.ndarray:
        g = obj.grad(x)
        if eps is None:
            v = np.zeros_like(x)
            i = int(np.argmax(np.abs(g)))
            v[i] = -np.sign(g[i])
            return v
        z = np.abs(g) / eps
        w = np.exp(z - z.max())
        return -(w / w.sum()) * np.sign(g)

    def jac1(t: float, x: np.ndarray) -> np.ndarray:
        if eps is None:
            return np.zeros((x.size, x.size))
        g = obj.grad(x)
        z = np.abs(g) / eps
        w = np.exp(z - z.max())
        w /= w.sum()
        s = np.sign(g)
        D = (s[:, None] * (np.diag(w) - np.outer(w, w)) * s[None, :]) / eps
        return -D @ hess(x)

    return fun1, jac1


def _ivp_run(
    solver: str, eps: float | None, rtol: float = 1e-8
) -> Callable[[Problem, float], RunResult]:
    """solve_ivp on the naive or regularized flow at ``rtol`` (``atol = rtol / 100``)."""

    def run(p: Problem, cap: float) -> RunResult:
        fun, jac = _relay_rhs(p, eps)
        start = time.perf_counter()
        state = {"t": 0.0, "nfev": 0}

        def capped(t: float, x: np.ndarray) -> np.ndarray:
            state["nfev"] += 1
            state["t"] = t
            if state["nfev"] % 64 == 0 and time.perf_counter() - start > cap:
                raise _WallClock
            return fun(t, x)

        kw: dict[str, Any] = {"rtol": rtol, "atol": rtol / 100, "t_eval": p.grid}
        if solver != "RK45":
            kw["jac"] = jac
        try:
            res = solve_ivp(capped, (0.0, p.T), p.x0, method=solver, **kw)
        except _WallClock:
            wall = time.perf_counter() - start
            return RunResult(
                "did not finish",
                f"wall-clock cap {cap:g} s reached at t = {state['t']:.4g} of {p.T:g} "
                f"after {state['nfev']} right-hand-side evaluations",
                np.zeros(0),
                np.zeros((0, p.n)),
                wall,
                {"nfev": state["nfev"]},
            )
        wall = time.perf_counter() - start
        ok = res.status == 0
        return RunResult(
            "ok" if ok else "failed",
            "" if ok else f"solve_ivp: {res.message} (at t = {state['t']:.4g})",
            res.t,
            res.y.T,
            wall,
            {"nfev": res.nfev, "njev": res.njev, "steps": int(res.t.size)},
        )

    return run


def _ivp_applies(eps: float | None) -> Callable[[Problem], str | None]:
    def applies(p: Problem) -> str | None:
        if eps is not None and p.flow == "l1" and p.n > 200:
            return "soft-max Jacobian is dense d x d per evaluation"
        return None

    return applies


# ------------------------------------------------------------------------ implicit Euler
def box_vi_warm(
    M: np.ndarray, a: np.ndarray, p0: np.ndarray, *, tol: float = 1e-12
) -> tuple[np.ndarray, np.ndarray]:
    """Box VI ``λ ∈ [−1, 1]^k``, ``w = a − Mλ`` (``λ_i ∈ Sign(w_i)``) for SPD ``M``.

    Block principal pivoting warm started from the pattern ``p0`` (+1/−1 at a bound, 0 free),
    one Cholesky solve per pivot; a repeated pattern falls back to
    :func:`filippov.selection.solve_box_vi`. Returns ``(λ, pattern)``.
    """
    p = p0.copy()
    scale_w = tol * (float(np.max(np.abs(a), initial=0.0)) + float(np.max(np.abs(M).sum(1))))
    seen: set[bytes] = set()
    for _ in range(4 * a.size + 10):
        lam = p.astype(float)
        F = p == 0
        if np.any(F):
            rhs = a[F] - M[np.ix_(F, ~F)] @ lam[~F]
            lam[F] = scipy.linalg.cho_solve(scipy.linalg.cho_factor(M[np.ix_(F, F)]), rhs)
        w = a - M @ lam
        up = F & (lam > 1 + tol)
        lo = F & (lam < -1 - tol)
        leave = ((p == 1) & (w < -scale_w)) | ((p == -1) & (w > scale_w))
        if not np.any(up | lo | leave):
            return np.clip(lam, -1.0, 1.0), p
        key = p.tobytes()
        if key in seen:
            break
        seen.add(key)
        p[up], p[lo], p[leave] = 1, -1, 0
    sel = solve_box_vi(M, a, warm_start=p)
    return np.asarray(sel.lam), np.asarray(sel.pattern)


def _linear_relay_data(p: Problem) -> tuple[np.ndarray, ...] | None:
    """``(A, c, B, C, e)`` of ``x' = A x + c − B λ``, ``λ ∈ Sign(C x + e)``, if linear."""
    if p.flow == "relay":
        mu = float(p.meta["mu"])
        A = np.array([[0.0, 1.0], [-1.0, 0.0]])
        return A, np.zeros(2), np.array([[0.0], [mu]]), np.array([[0.0, 1.0]]), np.zeros(1)
    quad = p.quadratic
    if p.flow == "linf" and quad is not None:
        H, b = quad
        n = p.n
        return np.zeros((n, n)), np.zeros(n), np.eye(n), H, b
    return None


def _stepped_run(
    p: Problem,
    h: float,
    cap: float,
    start: float,
    step: Callable[[np.ndarray], tuple[np.ndarray, int]],
    counter: str,
) -> RunResult:
    """The implicit Euler peers' loop: ``T/h`` steps ``x, inner = step(x)`` from ``p.x0``,
    the states kept on the grid, stopped at the wall-clock ``cap`` (from ``start``, taken
    before the caller's own set-up); ``counter`` names the summed inner counts."""
    n_steps = round(p.T / h)
    every = max(1, round(GRID_STEP / h))
    if abs(every * h - GRID_STEP) > 1e-12:
        raise ValueError(f"the step h = {h:g} must divide the grid step {GRID_STEP:g}")
    x = p.x0.copy()
    out = [x.copy()]
    inner = 0
    status, reason = "ok", ""
    for k in range(1, n_steps + 1):
        x, n_inner = step(x)
        inner += n_inner
        if k % every == 0:
            out.append(x.copy())
        if time.perf_counter() - start > cap:
            status, reason = "did not finish", f"wall-clock cap {cap:g} s at t = {k * h:g}"
            break
    wall = time.perf_counter() - start
    X = np.array(out)
    t = np.arange(X.shape[0]) * GRID_STEP
    return RunResult(status, reason, t, X, wall, {"steps": n_steps, counter: inner})


def _implicit_euler(h: float) -> Callable[[Problem, float], RunResult]:
    def run(p: Problem, cap: float) -> RunResult:
        lin = _linear_relay_data(p)
        start = time.perf_counter()
        if lin is not None:
            A, c, B, C, e = lin
            identity = not np.any(A)
            K = np.eye(p.n) if identity else np.linalg.inv(np.eye(p.n) - h * A)
            KB = B if identity else K @ B
            M = h * (C @ KB)
            M = 0.5 * (M + M.T)
            pattern = [np.zeros(C.shape[0], dtype=np.int64)]

            def linear_step(x: np.ndarray) -> tuple[np.ndarray, int]:
                xc = x + h * c
                xk = xc if identity else K @ xc
                lam, pattern[0] = box_vi_warm(M, C @ xk + e, pattern[0])
                return xk - h * (KB @ lam), 0

            return _stepped_run(p, h, cap, start, linear_step, "newton")
        # the sign flow of a smooth objective: Josephy–Newton per step
        obj = p.objective
        assert obj is not None
        warm = [np.zeros(p.n, dtype=np.int64)]

        def newton_step(x: np.ndarray) -> tuple[np.ndarray, int]:
            z = x.copy()
            iterations = 0
            while iterations < 50:
                iterations += 1
                Hz = obj.hess(z)
                lam, warm[0] = box_vi_warm(h * Hz, obj.grad(z) + Hz @ (x - z), warm[0])
                z_new = x - h * lam
                done = np.max(np.abs(z_new - z)) <= 1e-14 * (1 + np.max(np.abs(z)))
                z = z_new
                if done:
                    break
            return z, iterations

        return _stepped_run(p, h, cap, start, newton_step, "newton")

    return run


def implicit_euler_lbfgsb(h: float) -> Method:
    """Implicit Euler of the ℓ∞ sign flow as a user would write it with scipy: each step
    ``x_{k+1} = argmin f`` over the box ``‖x − x_k‖∞ ≤ h`` (the step's inclusion
    ``(x_k − x_{k+1})/h ∈ Sign ∇f(x_{k+1})`` is that minimization's KKT condition), by
    L-BFGS-B from ``x_k`` with tight tolerances (``gtol`` 1e-12, ``ftol`` 1e-15). For
    smooth objectives (``p.objective``) only; not in `all_methods` (the general-path
    benchmark's peer, next to the Josephy–Newton one of ``implicit Euler h=...``)."""
    options = {"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000}

    def run(p: Problem, cap: float) -> RunResult:
        obj = p.objective
        assert obj is not None
        start = time.perf_counter()

        def minimizing_step(x: np.ndarray) -> tuple[np.ndarray, int]:
            res = scipy.optimize.minimize(
                obj.f,
                x,
                jac=obj.grad,
                method="L-BFGS-B",
                bounds=scipy.optimize.Bounds(x - h, x + h),
                options=options,
            )
            return np.asarray(res.x, dtype=float), int(res.nit)

        return _stepped_run(p, h, cap, start, minimizing_step, "lbfgsb_iterations")

    def applies(p: Problem) -> str | None:
        if p.objective is None or p.flow != "linf":
            return "the ℓ∞ flow of a smooth objective only"
        return None

    return Method(f"implicit Euler h={h:g} L-BFGS-B", "implicit Euler", run, applies)


def _implicit_applies(p: Problem) -> str | None:
    if p.flow == "l1":
        return "needs a cross-polytope VI per step (not implemented for the ℓ1 flow)"
    return None


# ------------------------------------------------------------------------------- Siconos
def siconos_status() -> str | None:
    """None when Siconos can be run, else the reason it cannot."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} not found (python3-siconos installs into the system Python)"
    try:
        res = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import siconos.kernel"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {SYSTEM_PYTHON}: {exc}"
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["?"])[-1]
        return f"`import siconos.kernel` failed in {SYSTEM_PYTHON} ({last}); apt-get install python3-siconos"
    return None


def _siconos(h: float) -> Callable[[Problem, float], RunResult]:
    def run(p: Problem, cap: float) -> RunResult:
        lin = _linear_relay_data(p)
        assert lin is not None
        A, c, B, C, e = lin
        spec = {
            "A": A.tolist(),
            "c": c.tolist(),
            "B": B.tolist(),
            "C": C.tolist(),
            "e": e.tolist(),
            "x0": p.x0.tolist(),
            "h": h,
            "T": p.T,
            "save_every": max(1, round(GRID_STEP / h)),
            "cap": cap,
        }
        worker = Path(__file__).with_name("_siconos_worker.py")
        env = dict(os.environ, PYTHONPATH="")
        start = time.perf_counter()
        try:
            res = subprocess.run(
                [SYSTEM_PYTHON, str(worker)],
                input=json.dumps(spec),
                capture_output=True,
                text=True,
                timeout=cap + 120,
                env=env,
            )
        except subprocess.TimeoutExpired:
            return RunResult(
                "did not finish",
                f"worker exceeded {cap + 120:g} s",
                np.zeros(0),
                np.zeros((0, p.n)),
                time.perf_counter() - start,
            )
        wall = time.perf_counter() - start
        if res.returncode != 0:
            last = (res.stderr.strip().splitlines() or ["?"])[-1]
            return RunResult(
                "failed", f"Siconos worker: {last}", np.zeros(0), np.zeros((0, p.n)), wall
            )
        data = json.loads(res.stdout)
        X = np.array(data["X"], dtype=float)
        t = np.arange(X.shape[0]) * GRID_STEP
        return RunResult(
            data["status"],
            data["reason"],
            t,
            X,
            float(data["wall"]),
            {"steps": data["steps"], "process_wall": wall},
            inner_wall=float(data["wall"]),
        )

    return run


def _siconos_applies(p: Problem) -> str | None:
    reason = siconos_status()
    if reason:
        return reason
    if _linear_relay_data(p) is None:
        return "Siconos's linear relay formulation needs a linear system (quadratic f or Coulomb)"
    return None


# -------------------------------------------------------------------------------- nosnoc
def nosnoc_status() -> str | None:
    if importlib.util.find_spec("nosnoc") is None or importlib.util.find_spec("casadi") is None:
        return "nosnoc (with casadi) is not installed: pip install nosnoc"
    return None


def _nosnoc_run(p: Problem, cap: float) -> RunResult:
    import casadi as ca
    import nosnoc

    n = p.n
    x = ca.SX.sym("x", n)
    S = np.array([[1.0], [-1.0]])
    F: list[Any]
    c: list[Any]
    if p.flow == "relay":
        mu = float(p.meta["mu"])
        F = [ca.horzcat(ca.vertcat(x[1], -x[0] - mu), ca.vertcat(x[1], -x[0] + mu))]
        c = [x[1]]
    else:
        H, b = p.quadratic  # type: ignore[misc]
        g = ca.mtimes(ca.DM(H), x) + ca.DM(b)
        F, c = [], []
        for i in range(n):
            ei = np.zeros(n)
            ei[i] = 1.0
            F.append(ca.horzcat(ca.DM(-ei), ca.DM(ei)))
            c.append(g[i])
    model = nosnoc.NosnocModel(x=x, x0=p.x0, F=F, c=c, S=[S] * len(F))
    opts = nosnoc.NosnocOpts()
    opts.use_fesd = True
    opts.pss_mode = nosnoc.PssMode.STEWART
    opts.irk_scheme = nosnoc.IrkSchemes.RADAU_IIA
    opts.n_s = 2
    opts.N_stages = 1
    opts.N_finite_elements = 2
    opts.terminal_time = 0.05
    opts.comp_tol = 1e-9
    opts.print_level = 0
    opts.homotopy_update_rule = nosnoc.HomotopyUpdateRule.SUPERLINEAR
    start = time.perf_counter()
    solver = nosnoc.NosnocSolver(opts, model)
    n_sim = round(p.T / opts.terminal_time)
    looper = nosnoc.NosnocSimLooper(solver, p.x0, n_sim, print_level=0)
    status, reason = "ok", ""
    X: list[np.ndarray] = [p.x0]
    t_all: list[float] = [0.0]
    t_now = 0.0
    for _ in range(n_sim):  # the looper's loop, one step at a time so the cap applies
        solver.set("x0", X[-1])
        res = solver.solve()
        steps = np.asarray(res["time_steps"], dtype=float)
        X += [np.asarray(v, dtype=float).reshape(-1) for v in res["x_list"]]
        t_all += list(t_now + np.cumsum(steps))
        t_now += float(np.sum(steps))
        if time.perf_counter() - start > cap:
            status, reason = "did not finish", f"wall-clock cap {cap:g} s at t = {t_now:.3g}"
            break
    del looper
    wall = time.perf_counter() - start
    return RunResult(
        status, reason, np.array(t_all), np.array(X), wall, {"fesd_steps": len(t_all) - 1}
    )


def _nosnoc_applies(p: Problem) -> str | None:
    reason = nosnoc_status()
    if reason:
        return reason
    if p.n > 2:
        return "Stewart reformulation with one subsystem per coordinate; run on the 2-D cases only"
    if p.flow not in ("linf", "relay") or (p.flow == "linf" and p.quadratic is None):
        return "set up for the sign flow of a quadratic and for Coulomb"
    return None


def regularized_at(solver: str, eps: float, rtol: float) -> Method:
    """The ``tanh(∇f/ε)`` regularization by ``solver`` at a tolerance of its own.

    The regularized flow's distance from the Filippov solution is set by ``ε`` (about
    5e-4 at ``ε = 1e-4`` on the logistic benchmarks), not by the integrator's tolerance:
    a user matching that accuracy would run it at the loosest ``rtol`` that keeps it:
    ``rtol = 1e-5`` there (at d = 50, RK45 took 30% fewer evaluations than at 1e-8 and Radau
    60% fewer, for the same error to three digits; at 1e-4 RK45's error grew by half).
    """
    return Method(
        f"tanh ε={eps:g} {solver} rtol={rtol:g}",
        "regularized",
        _ivp_run(solver, eps, rtol),
        _ivp_applies(eps),
    )


# ---------------------------------------------------------------------------------- list
def all_methods() -> list[Method]:
    """Every method, in table order."""
    ms = [
        Method("fp exact", "filippov", _fp_run("exact"), _exact_applies),
        Method("fp events (DOP853)", "filippov", _fp_run("events"), _events_applies),
    ]
    for solver in ("RK45", "Radau"):
        ms.append(Method(f"naive {solver}", "naive", _ivp_run(solver, None)))
    for eps in (1e-2, 1e-4):
        for solver in ("RK45", "Radau"):
            ms.append(
                Method(
                    f"tanh ε={eps:g} {solver}",
                    "regularized",
                    _ivp_run(solver, eps),
                    _ivp_applies(eps),
                )
            )
    for h in (1e-2, 1e-3):
        ms.append(
            Method(
                f"implicit Euler h={h:g}", "implicit Euler", _implicit_euler(h), _implicit_applies
            )
        )
    for h in (1e-2, 1e-3):
        ms.append(Method(f"Siconos Moreau–Jean h={h:g}", "Siconos", _siconos(h), _siconos_applies))
    ms.append(Method("nosnoc FESD", "nosnoc", _nosnoc_run, _nosnoc_applies))
    return ms


def system_python_version() -> str:
    exe = shutil.which(SYSTEM_PYTHON) or SYSTEM_PYTHON
    try:
        out = subprocess.run(
            [
                exe,
                "-c",
                "import sys, siconos; print(sys.version.split()[0], getattr(siconos, '__version__', '?'))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return out.stdout.strip() or out.stderr.strip().splitlines()[-1]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "unavailable"


def python_version() -> str:
    return sys.version.split()[0]
