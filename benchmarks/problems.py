"""The benchmark problems: what is integrated, from where, for how long, and against what.

Every problem carries its Filippov system, the initial state, the final time, the common
evaluation grid (spacing 0.01, so that the fixed-step methods with ``h = 1e-2`` and
``1e-3`` land on it exactly) and how its reference solution is obtained:

* ``"exact"`` — the exact path of :func:`filippov.solve` (piecewise-affine systems); it is
  itself checked against implicit Euler with decreasing steps in ``tests/analysis/test_benchmarks.py``;
* ``"closed-form"`` — an analytic solution (the Coulomb oscillator);
* ``"events-tight"`` — the event path at ``rtol = 1e-13, atol = 1e-15`` (ridge logistic,
  which has no closed form); it is cross-checked against implicit Euler's extrapolated limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import filippov as fp
from filippov.objectives import Objective, ridge_logistic, rotated_quadratic, slope
from filippov.systems import FilippovSystem, coulomb_oscillator

__all__ = [
    "GRID_STEP",
    "Problem",
    "coulomb_reference",
    "haar_quadratic_problem",
    "make_problems",
    "quadratic_problem",
]

#: Spacing of the common evaluation grid (a multiple of every fixed step used).
GRID_STEP = 0.01


@dataclass
class Problem:
    """One benchmark problem.

    Attributes
    ----------
    name : str
        Short identifier used in the tables and the JSON file.
    description : str
        One line for the README table.
    system : FilippovSystem
        The inclusion.
    x0 : (n,) ndarray
        Initial state.
    T : float
        Final time (a multiple of :data:`GRID_STEP`).
    flow : {"linf", "l1", "relay"}
        ``"linf"``: the sign flow ``x' ∈ −Sign(∇f)``; ``"l1"``: the greedy coordinate flow;
        ``"relay"``: a general relay system (``relay_field`` describes it).
    reference : {"exact", "closed-form", "events-tight"}
        How the reference solution is computed.
    objective : Objective or None
        The objective of a steepest-descent flow.
    relay_field : callable or None
        For relay systems: ``field(x, s) -> x'`` with the relay value(s) ``s``.
    meta : dict
        Extra data (dimension, seeds, ...), written to the JSON file.
    """

    name: str
    description: str
    system: FilippovSystem
    x0: np.ndarray
    T: float
    flow: str
    reference: str
    objective: Objective | None = None
    relay_field: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.x0.shape[0])

    @property
    def grid(self) -> np.ndarray:
        """The common evaluation grid ``0, 0.01, ..., T``."""
        k = round(self.T / GRID_STEP)
        return np.arange(k + 1) * GRID_STEP

    @property
    def quadratic(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(H, b)`` when the flow's objective is the quadratic ``½xᵀHx + bᵀx + c``."""
        if self.objective is None or self.objective.quadratic_data is None:
            return None
        H, b, _ = self.objective.quadratic_data
        return np.asarray(H, dtype=float), np.asarray(b, dtype=float)

    def grad(self, x: np.ndarray) -> np.ndarray:
        assert self.objective is not None
        return self.objective.grad(x)


def _stationary_time(problem: Problem) -> float:
    sol = fp.solve(problem.system, problem.x0, (0.0, 1e6), max_events=10**7)
    return float(sol.events[-1].t) if sol.status == 1 else float("nan")


def quadratic_problem(
    d: int, flow: str = "linf", *, seed: int | None = None, horizon: float | None = None
) -> Problem:
    """A random strongly convex quadratic in ``d`` dimensions under the ``flow`` geometry.

    ``H = Q diag(λ) Qᵀ`` with ``λ`` log-spaced in ``[1, 100]`` and ``Q`` a Haar-random
    rotation (``rotated_quadratic(..., rotation=1)``): every coordinate is coupled to every
    other, so once their partial derivatives reach zero most coordinates slide at the same
    time (up to all ``d`` at the end). ``x0 ~ N(0, I)``; the final time is the time the
    flow reaches the minimizer, rounded up to the grid, plus one grid step — or
    ``horizon`` when given (the greedy flow at d = 1000: its exact path solves the tie
    selection, warm started, by dense KKT solves of up to ``1000 × 1000``, ``O(k³)`` per
    event; to the minimizer that is thousands of events — d = 500 took 25.6 s and 2027
    events — far longer than a benchmark row).
    """
    seed = d if seed is None else seed
    rng = np.random.default_rng(seed)
    obj = rotated_quadratic(np.geomspace(1.0, 100.0, d), rotation=1.0, seed=seed)
    x0 = rng.standard_normal(d)
    system = fp.steepest_descent_flow(obj, flow)
    label = "ℓ∞ (sign) flow" if flow == "linf" else "ℓ1 (greedy coordinate) flow"
    until = "" if horizon is None else f", to t = {horizon:g} (not to the minimizer)"
    p = Problem(
        name=f"quad-{flow}-d{d}",
        description=f"{label}, random rotated quadratic d = {d}, κ = 100{until}",
        system=system,
        x0=x0,
        T=1.0,
        flow=flow,
        reference="exact",
        objective=obj,
        meta={"d": d, "seed": seed, "eigenvalues": "geomspace(1, 100, d)", "rotation": 1.0},
    )
    if horizon is not None:
        p.T = float(horizon)
        p.meta["t_stationary"] = None
        return p
    t_stat = _stationary_time(p)
    p.T = (np.ceil(t_stat / GRID_STEP) + 1) * GRID_STEP if np.isfinite(t_stat) else 10.0
    p.meta["t_stationary"] = t_stat
    return p


def haar_quadratic_problem(d: int, flow: str = "linf", *, seed: int | None = None) -> Problem:
    """The quadratic family of :func:`quadratic_problem`, built fast for large ``d``.

    ``H = Q diag(λ) Qᵀ`` with ``λ`` log-spaced in ``[1, 100]`` and ``Q`` Haar-random on
    O(d), drawn directly: the QR factorization of a Gaussian matrix with the signs of
    ``R``'s diagonal moved into ``Q`` (Mezzadri 2007, without which ``Q`` is not Haar).
    ``x0 ~ N(0, I)``, final time 1e6 (every flow here stops at its minimizer long
    before). Why not :func:`quadratic_problem`: it goes through
    ``rotated_quadratic(..., rotation=1)``, which computes the rotation's logarithm and
    exponential (for fractional rotations) and took 452 s at d = 5000; this is one QR
    factorization and one product (217 s at d = 5000 measured on the two shared cores
    at load average 7–9, where the BLAS threads fight for them). The matrices differ
    (same distribution, other draws), so the two are not interchangeable for comparisons
    with earlier runs of :func:`quadratic_problem`.

    Examples
    --------
    >>> import numpy as np
    >>> p = haar_quadratic_problem(40)
    >>> H, b = p.quadratic
    >>> bool(np.allclose(np.linalg.eigvalsh(H), np.geomspace(1.0, 100.0, 40)))
    True
    """
    seed = d if seed is None else seed
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    Q *= np.sign(np.diag(R))
    H = (Q * np.geomspace(1.0, 100.0, d)) @ Q.T
    H = 0.5 * (H + H.T)
    x0 = rng.standard_normal(d)
    obj = Objective.quadratic(H, name=f"haar_quadratic(n={d})")
    label = "ℓ∞ (sign) flow" if flow == "linf" else "ℓ1 (greedy coordinate) flow"
    return Problem(
        name=f"haar-{flow}-d{d}",
        description=f"{label}, random rotated quadratic d = {d}, κ = 100 (QR rotation)",
        system=fp.steepest_descent_flow(obj, flow),
        x0=x0,
        T=1e6,
        flow=flow,
        reference="exact",
        objective=obj,
        meta={"d": d, "seed": seed, "eigenvalues": "geomspace(1, 100, d)", "rotation": "QR"},
    )


def slope_problem(a: float) -> Problem:
    """The slope example under the sign flow: sliding (``|a| < 1``) or crossing (``|a| > 1``)."""
    obj = slope(a)
    # Irrational offsets keep the event times off the fixed-step grids (an event on a grid
    # point would make implicit Euler exact here and hide its O(h) error).
    shift = np.array([np.sqrt(2.0), np.sqrt(3.0)]) / 100
    if a < 1:
        x0, T, what = np.array([0.6, 0.1]) + shift, 4.0, "sliding on ∂₁f = 0"
    else:
        x0, T, what = np.array([-1.0, 1.0]) + shift, 8.0, "crossing ∂₁f = 0, then sliding"
    return Problem(
        name=f"slope-a{a:g}",
        description=f"slope example a = {a:g} (sign flow, {what})",
        system=fp.steepest_descent_flow(obj, "linf"),
        x0=x0,
        T=T,
        flow="linf",
        reference="exact",
        objective=obj,
        meta={"a": a},
    )


def logistic_problem(d: int = 50, m: int = 200, lam: float = 0.1, seed: int = 50) -> Problem:
    """Ridge logistic regression, ``d`` features, ``m`` samples: a non-quadratic sign flow."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, d))
    w = rng.standard_normal(d)
    y = np.sign(A @ w + 0.5 * rng.standard_normal(m))
    obj = ridge_logistic(A, y, lam)
    return Problem(
        name=f"logistic-d{d}",
        description=f"ridge logistic regression d = {d}, m = {m}, λ = {lam:g} (sign flow)",
        system=fp.steepest_descent_flow(obj, "linf"),
        x0=np.zeros(d),
        T=0.6,
        flow="linf",
        reference="events-tight",
        objective=obj,
        meta={"d": d, "m": m, "lam": lam, "seed": seed},
    )


def coulomb_problem(mu: float = 0.1) -> Problem:
    """Mass-spring with Coulomb friction from rest at ``q = 1``: four slips, then it sticks."""

    def field_(x: np.ndarray, s: np.ndarray) -> np.ndarray:
        return np.array([x[1], -x[0] - mu * s[0]])

    return Problem(
        name="coulomb",
        description=f"Coulomb oscillator q'' + q ∈ −{mu:g} Sign(q') (stick-slip)",
        system=coulomb_oscillator(mu=mu),
        x0=np.array([1.0, 0.0]),
        T=20.0,
        flow="relay",
        reference="closed-form",
        relay_field=field_,
        meta={"mu": mu, "stiffness": 1.0, "mass": 1.0},
    )


def coulomb_reference(
    x0: np.ndarray, mu: float, t: np.ndarray
) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """Closed-form solution of ``q'' + q ∈ −μ Sign(q')`` (unit mass and stiffness).

    Between stops the motion is a half cycle of a harmonic oscillation about the shifted
    centre ``c = μ sign(−v)`` (the friction force opposes the velocity): ``q = c + (q₀ − c)
    cos(t − t₀)``, ``v = −(q₀ − c) sin(t − t₀)``, lasting exactly ``π``. At a stop
    (``v = 0``) the mass sticks for good when ``|q| ≤ μ``; otherwise it slips the other way.
    Returns the states at ``t`` and the event list ``(time, kind)``.
    """
    q, v = float(x0[0]), float(x0[1])
    assert v == 0.0, "the closed form here starts from rest"
    starts: list[tuple[float, float, float]] = []  # (t0, q0, centre)
    events: list[tuple[float, str]] = []
    t0 = 0.0
    t_stick = np.inf
    while abs(q) > mu and t0 < 1e3:
        c = mu * np.sign(q)  # moving towards −sign(q): friction pushes the other way
        starts.append((t0, q, c))
        q = c - (q - c)
        t0 += np.pi
        events.append((t0, "crossing" if abs(q) > mu else "stationary"))
    if abs(q) <= mu:
        t_stick = t0
    out = np.empty((t.size, 2))
    for j, tj in enumerate(t):
        if tj >= t_stick:
            out[j] = (q, 0.0)
            continue
        k = min(int(tj // np.pi), len(starts) - 1)
        t0k, q0k, ck = starts[k]
        out[j] = (ck + (q0k - ck) * np.cos(tj - t0k), -(q0k - ck) * np.sin(tj - t0k))
    return out, events


#: Final time of the greedy-flow problem at d = 1000 (178 events, ties of up to 156
#: coordinates, 0.64 s; see :func:`quadratic_problem`).
GREEDY_D1000_HORIZON = 100.0


def make_problems(quick: bool) -> list[Problem]:
    """The problem list of a run (``quick``: the small sizes only)."""
    sizes = (50, 200) if quick else (50, 200, 1000)
    problems = [slope_problem(0.5), slope_problem(2.0)]
    problems += [quadratic_problem(d, "linf") for d in sizes]
    if not quick:
        problems += [quadratic_problem(d, "l1") for d in (50, 200)]
        problems.append(quadratic_problem(1000, "l1", horizon=GREEDY_D1000_HORIZON))
    problems += [logistic_problem(), coulomb_problem()]
    return problems
