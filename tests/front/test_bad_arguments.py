"""Every public entry point names the argument it refuses (issue 22).

One table lists, for each public function, constructor and method (``filippov.__all__``,
``filippov.plot``, the public classes of ``filippov.schemes``, the systems constructors,
``comparison`` / ``convergence_study`` and the methods of ``FilippovSolution``), a call that
works and, argument by argument, wrong-typed and out-of-range values. Each row replaces one
argument of the working call by one bad value and expects a ``TypeError`` or a
``ValueError`` whose message names that argument in backticks (the project's
"`x0` must be finite. Got [nan, 1.0] instead." style).

Rows of modules that other work owns and that fail today are marked
``xfail(strict=True)`` with the owner in the reason: they turn into passes (and then
into errors, so the mark gets removed) once the owner validates the argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import filippov as fp
from filippov import plot, schemes
from filippov.solution import Event, FilippovSolution, Mode, Segment

NAN = math.nan
INF = math.inf

# ------------------------------------------------------------------ bad values by kind
POSITIVE = ["a", None, True, NAN, INF, -1.0, 0.0]
NON_NEGATIVE = ["a", None, NAN, -1.0]
REAL = ["a", None, NAN]
OPTIONAL_REAL = ["a", NAN]  # None is the default
FLAG = ["yes", None, 2]
CALLABLE = [3, "f"]
TEXT = [3, ["a"]]
CHOICE = [3, "nope"]


def count(minimum: int, *, optional: bool = False) -> list[Any]:
    """Bad values for an integer argument that must be >= minimum (None is fine if optional)."""
    return [2.5, "3", minimum - 1] if optional else [2.5, "3", None, minimum - 1]


def vector(n: int) -> list[Any]:
    """Bad values for a finite vector of length n."""
    return ["abc", [NAN] * n, [1.0] * (n + 1)]


# ------------------------------------------------------------------ working objects
@cache
def objective() -> fp.Objective:
    return fp.Objective.quadratic(np.diag([1.0, 4.0]), np.array([0.5, -1.0]))


@cache
def flow() -> fp.FilippovSystem:
    return fp.steepest_descent_flow(objective(), "linf")


@cache
def solution() -> FilippovSolution:
    return fp.solve(flow(), [0.0, 0.0], (0.0, 2.0))


@cache
def trajectory() -> schemes.DiscreteTrajectory:
    return schemes.SignGD(step=0.05).run(objective(), [0.0, 0.0], t_final=2.0)


@cache
def study() -> fp.ConvergenceStudy:
    return fp.convergence_study(
        lambda h: schemes.SignGD(step=h), flow(), [0.0, 0.0], 1.0, [0.05, 0.025]
    )


@cache
def sweep_table() -> Any:
    return fp.sweep(objective(), fp.grid((-1, 1), (-1, 1), num=3), t_span=(0, 4), executor=None)


def sign_gd(h: float) -> schemes.Scheme:
    return schemes.SignGD(step=h)


# ------------------------------------------------------------------ the table
@dataclass
class Api:
    """One public entry point: how to call it, and the bad values of each argument."""

    name: str
    call: Callable[..., Any]
    good: Callable[[], dict[str, Any]]
    bad: Mapping[str, list[Any]]


APIS: list[Api] = [
    # -- filippov.__all__: systems constructors -------------------------------------
    Api(
        "coulomb_oscillator",
        fp.coulomb_oscillator,
        dict,
        {"mu": POSITIVE, "stiffness": POSITIVE, "mass": POSITIVE},
    ),
    Api("twisting_system", fp.twisting_system, dict, {"a": POSITIVE, "b": [*POSITIVE, 5.0]}),
    Api(
        "piecewise_system",
        fp.piecewise_system,
        lambda: {"F_minus": lambda x: x, "F_plus": lambda x: -x, "h": lambda x: x[0]},
        {"F_minus": CALLABLE, "F_plus": CALLABLE, "h": CALLABLE, "grad_h": CALLABLE, "name": TEXT},
    ),
    Api(
        "stewart_system",
        fp.stewart_system,
        lambda: {"fields": {"+": ["-1"], "-": ["1"]}, "switching": ["x"], "variables": ["x"]},
        {
            "fields": [3, "f", {"+": ["-1"]}, {"+": [3], "-": ["1"]}],
            "switching": [3],
            "selection": CHOICE,
            "name": TEXT,
        },
    ),
    Api(
        "gene_network",
        fp.gene_network,
        lambda: {"production": [[(2.0, [(0, "-")])]], "decay": [1.0], "thresholds": [(0, 1.0)]},
        {
            "decay": ["abc", [NAN], [-1.0]],
            # (stranger review: a NaN threshold ran to a "stationary point" at t = 0, and
            # float indices were truncated by int())
            "thresholds": [[(0, NAN)], [(0.9, 1.0)], [(3, 1.0)]],
            "production": [[[(NAN, [(0, "-")])]], [[(2.0, [(0.7, "-")])]]],
            "selection": CHOICE,
            "name": TEXT,
        },
    ),
    Api(
        "PiecewiseSystem",
        fp.PiecewiseSystem,
        lambda: {
            "field": lambda x, s: -np.asarray(s, dtype=float),
            "switching": lambda x: x,
            "jac": lambda x: np.ones((1, 1)),
            "n": 1,
            "k": 1,
        },
        {
            "field": CALLABLE,
            "switching": CALLABLE,
            "jac": CALLABLE,
            "n": count(1),
            "k": count(1),
            "selection": CHOICE,
            "name": TEXT,
        },
    ),
    Api(
        "steepest_descent_flow",
        fp.steepest_descent_flow,
        lambda: {"objective": objective()},
        {"objective": [None, "f", np.eye(2)], "norm": [*CHOICE, ["linf"]]},
    ),
    Api(
        "FilippovSystem",
        fp.FilippovSystem,
        lambda: {"f0": np.zeros(2), "B": np.eye(2), "h": lambda x: x, "norm": "l1"},
        {
            "f0": ["abc", [NAN, 0.0], [1j, 0.0]],
            "B": ["abc", [[NAN, 0.0], [0.0, 1.0]], 1j * np.eye(2)],
            "h": [3, np.ones(2)],
            "norm": CHOICE,
            "jac_h": CALLABLE,
            "name": TEXT,
            "affine": [3, "data"],
            "objective": [3, "f"],
        },
    ),
    Api(
        "FilippovSystem.affine",
        fp.FilippovSystem.affine,
        lambda: {
            "c0": [0.0, 1.0],
            "B": [[1.0], [0.0]],
            "G": [[1.0, 0.0]],
            "e": [0.0],
            "norm": "l1",
        },
        {
            "c0": vector(2),
            "B": ["abc", [[NAN], [0.0]], [1.0, 0.0]],
            "G": ["abc", [[NAN, 0.0]], [[1.0, 0.0, 0.0]]],
            "e": vector(1),
            "norm": CHOICE,
            "name": TEXT,
        },
    ),
    # -- filippov.__all__: engine, norms, objectives ----------------------------------
    Api(
        "solve",
        fp.solve,
        lambda: {"system": flow(), "x0": [0.0, 0.0], "t_span": (0.0, 1.0)},
        {
            "system": [None, "flow"],
            "x0": vector(2),
            "t_span": ["ab", (0.0, NAN), (1.0, 0.0), None],
            "method": CHOICE,
            "integrator": [3, "nope"],
            "rtol": POSITIVE,
            "atol": POSITIVE,
            "max_events": count(1),
            "zero_tol": POSITIVE,
            "zeno_spacing": POSITIVE,
            "stabilization": ["a", None, NAN, -1.0],
        },
    ),
    Api(
        "get_norm",
        fp.get_norm,
        lambda: {"norm": "l1"},
        {"norm": [*CHOICE, None]},
    ),
    Api(
        "Objective",
        fp.Objective,
        lambda: {"f": lambda x: float(x @ x), "grad": lambda x: 2 * x},
        {
            "f": CALLABLE,
            "grad": CALLABLE,
            "hess": CALLABLE,
            "hvp": CALLABLE,
            "n": count(1, optional=True),
            "name": TEXT,
        },
    ),
    Api(
        "Objective.quadratic",
        fp.Objective.quadratic,
        lambda: {"H": np.eye(2)},
        {
            "H": ["abc", [[NAN, 0.0], [0.0, 1.0]], np.ones((2, 3)), [[1.0, 2.0], [0.0, 1.0]]],
            "b": vector(2),
            "c": REAL,
            "name": TEXT,
        },
    ),
    Api(
        "Objective.from_expr",
        fp.Objective.from_expr,
        lambda: {"expr": "x**2 + a*y**2", "variables": ["x", "y"], "params": {"a": 1.0}},
        {
            "expr": [3, "x**", "__import__('os')"],
            "variables": [3, "xy", [1, 2], []],
            "params": [3, {"a": "b"}, {"a": NAN}],
            "name": TEXT,
        },
    ),
    # -- compare ------------------------------------------------------------------------
    Api(
        "compare",
        fp.compare,
        lambda: {"traj": trajectory(), "sol": solution()},
        {"traj": [None, solution()], "sol": [None, trajectory()], "system": [3, objective()]},
    ),
    Api(
        "convergence_study",
        fp.convergence_study,
        lambda: {
            "scheme_factory": sign_gd,
            "system": flow(),
            "x0": [0.0, 0.0],
            "T": 1.0,
            "steps": [0.05, 0.025],
        },
        {
            "scheme_factory": [None, 3, lambda h: None],
            "system": [None, "flow", fp.coulomb_oscillator()],
            "x0": vector(2),
            "T": POSITIVE,
            "steps": ["ab", [0.1], [0.1, 0.1], [0.1, -0.1], [0.1, NAN], None],
        },
    ),
    # -- solution methods -----------------------------------------------------------
    Api(
        "FilippovSolution.__call__",
        lambda **kw: solution()(**kw),
        lambda: {"t": 0.5},
        {"t": ["abc", [[0.5]], None]},
    ),
    Api(
        "FilippovSolution.summary",
        lambda **kw: solution().summary(**kw),
        dict,
        {"max_rows": count(1)},
    ),
    Api(
        "FilippovSolution.save",
        lambda **kw: solution().save(**kw),
        lambda: {"path": "unused.npz"},  # replaced in every row
        {"path": [3, None, "", "."], "rtol": NON_NEGATIVE, "atol": NON_NEGATIVE},
    ),
    Api(
        "FilippovSolution.load",
        FilippovSolution.load,
        lambda: {"path": "unused.npz"},
        {"path": [3, None, "", "."]},
    ),
    Api(
        "Mode",
        Mode,
        lambda: {"norm": "l1", "signs": [1, -1]},
        {"norm": CHOICE, "signs": ["ab", [2, 1], [0.5, 1]], "free": ["ab", [5], [0.5]]},
    ),
    Api(
        "Event",
        Event,
        lambda: {
            "t": 0.0,
            "x": [0.0, 0.0],
            "kind": "crossing",
            "indices": [0],
            "mode_before": None,
            "mode_after": None,
        },
        {
            "t": REAL,
            "x": ["abc", [NAN, 0.0]],
            "kind": CHOICE,
            "indices": ["ab", [0.5]],
            "mode_before": [3],
            "mode_after": [3],
        },
    ),
    Api(
        "Segment",
        Segment,
        lambda: {
            name: getattr(solution().segments[0], name)
            for name in ("t0", "t1", "mode", "kind", "lam", "dense")
        },
        {
            "t0": REAL,
            "t1": [*REAL, -1.0],
            "mode": [3, "regular"],
            "kind": CHOICE,
            "lam": ["abc", [NAN, 0.0]],
            "dense": [3, None],
        },
    ),
    Api(
        "DiscreteTrajectory",
        schemes.DiscreteTrajectory,
        lambda: {
            "x": trajectory().x,
            "t": trajectory().t,
            "k": trajectory().k,
            "diagnostics": dict(trajectory().diagnostics),
        },
        {
            "x": ["abc", np.ones(3)],
            "t": ["abc", np.ones(2)],
            "k": ["abc", np.ones(2)],
            "diagnostics": [3, None],
            "status": ["a", 2.5],
            "message": [3],
            "metadata": [3],
        },
    ),
    Api(
        "FilippovSolution",
        FilippovSolution,
        lambda: {
            "t": [0.0],
            "x": [[1.0]],
            "events": [],
            "segments": [],
            "status": 0,
            "message": "",
        },
        {
            "t": ["abc", [NAN]],
            "x": ["abc", [[NAN]]],
            "events": [3, [3]],
            "segments": [3, [3]],
            "status": ["a", 2.5, None],
            "message": [3],
            "nfev": [-1, "a"],
        },
    ),
    # -- schemes ----------------------------------------------------------------------
    *[
        Api(cls.__name__, cls, lambda: {"step": 0.1}, {"step": ["nope", None, NAN, -1.0, 0.0]})
        for cls in (schemes.SignGD, schemes.GD, schemes.NormalizedGD)
    ],
    Api(
        "Adam",
        schemes.Adam,
        lambda: {"step": 0.1},
        # eps = 0 is allowed: with beta1 = beta2 = 0 it makes Adam SignGD
        {
            "step": ["nope", -1.0],
            "beta1": ["a", -0.1, 1.0],
            "beta2": ["a", 1.5],
            "eps": ["a", None, True, NAN, INF, -1.0],
        },
    ),
    Api(
        "GreedyCD",
        schemes.GreedyCD,
        lambda: {"step": 0.1},
        {"step": ["nope", -1.0], "tie": CHOICE, "tie_tol": NON_NEGATIVE},
    ),
    Api(
        "ImplicitSignGD",
        schemes.ImplicitSignGD,
        lambda: {"step": 0.1},
        {"step": ["nope", -1.0], "tol": POSITIVE, "max_iter": count(1)},
    ),
    Api(
        "RestartedSignum",
        schemes.RestartedSignum,
        lambda: {"step": 0.1},
        {"step": ["nope", -1.0], "beta": ["a", -0.5, 1.5, NAN], "restart": FLAG},
    ),
    Api(
        "ASGD",
        schemes.ASGD,
        lambda: {"step": 0.1},
        {"step": ["nope", -1.0], "beta": ["a", True, -0.5, 1.5, NAN], "restart": FLAG},
    ),
    Api(
        "ProjectedSignGD",
        schemes.ProjectedSignGD,
        lambda: {"step": 0.1},
        {"step": ["nope", -1.0], "mode": CHOICE},
    ),
    Api(
        "Signum",
        schemes.Signum,
        lambda: {"step": 0.1},
        {"step": ["nope", -1.0], "beta": ["a", -0.5, 1.5]},
    ),
    Api("Constant", schemes.Constant, lambda: {"eta": 0.1}, {"eta": POSITIVE}),
    Api("Adaptive", schemes.Adaptive, dict, {"L": ["abc", [NAN, 1.0], [-1.0, 1.0]]}),
    Api(
        "FaceAware",
        schemes.FaceAware,
        dict,
        {"L": ["abc", [NAN, 1.0], [-1.0, 1.0]], "tau": ["a", True, -1.0, NAN], "relative": FLAG},
    ),
    Api(
        "Armijo",
        schemes.Armijo,
        dict,
        {
            "initial": POSITIVE,
            "shrink": ["a", 0.0, 1.0],
            "c": ["a", 0.0, 1.0],
            "grow": ["a", -1.0],
            "max_step": ["a", -1.0],
            "max_backtracks": count(1),
        },
    ),
    Api(
        "Tuned",
        schemes.Tuned,
        dict,
        {"grid": ["abc", [-1.0, 0.1], [NAN]], "budget": count(1), "validation": [3, "f"]},
    ),
    Api(
        "Scheme.run",
        lambda **kw: schemes.SignGD(step=0.1).run(**kw),
        lambda: {"objective": objective(), "x0": [0.0, 0.0], "n_steps": 5},
        {
            "objective": [None, "f"],
            "x0": vector(2),
            "n_steps": count(0),
            "t_final": ["a", NAN, -1.0],
            "callback": CALLABLE,
            "max_steps": count(1),
            "save_every": count(1),
            "diagnostics": FLAG,
        },
    ),
    Api(
        "schemes.run",
        schemes.run,
        lambda: {
            "scheme": schemes.SignGD(step=0.1),
            "objective": objective(),
            "x0": [0.0, 0.0],
            "n_steps": 5,
        },
        {"scheme": [None, "SignGD"]},
    ),
    Api(
        "Scheme.with_step",
        lambda **kw: schemes.SignGD(step=0.1).with_step(**kw),
        lambda: {"step": 0.2},
        {"step": ["nope", None, -1.0]},
    ),
    Api(
        "DiscreteTrajectory.save",
        lambda **kw: trajectory().save(**kw),
        lambda: {"path": "unused.npz"},
        {"path": [3, None, "", "."]},
    ),
    # -- plot ---------------------------------------------------------------------------
    Api(
        "plot.piecewise_portrait",
        plot.piecewise_portrait,
        lambda: {
            "system": fp.gene_network([[(2.0, [(0, "-")])], [(1.0, [])]], [1.0, 1.0], [(0, 1.0)]),
            "xlim": (0, 2),
            "ylim": (0, 2),
            "resolution": 12,
        },
        {
            "system": [None, flow()],
            "xlim": ["ab", (1, 0), (0, NAN)],
            "ylim": ["ab", (1, 0)],
            "ax": [3, "ax"],
            "resolution": count(8),
            "density": POSITIVE,
            "legend": FLAG,
        },
    ),
    Api(
        "plot.phase_portrait",
        plot.phase_portrait,
        lambda: {
            "system": flow(),
            "xlim": (-2, 2),
            "ylim": (-2, 2),
            "field": False,
            "classify": False,
        },
        {
            "system": [None, objective()],
            "xlim": ["ab", (1, 0), (0, NAN), (-1e160, 1e160), (1.0, 1.0 + 1e-15)],
            "ylim": ["ab", (1, 0)],
            "ax": [3, "ax"],
            "trajectories": [None, 3, solution()],
            "field": FLAG,
            "density": POSITIVE,
            "classify": FLAG,
            "objective_contours": FLAG,
            "n_contours": count(1),
            "resolution": count(3),
            "field_resolution": count(2),
            "minimizer": FLAG,
            "legend": ["inside", None],
            "title": TEXT,
        },
    ),
    Api(
        "plot.switching_set",
        plot.switching_set,
        lambda: {"system": flow(), "xlim": (-2, 2), "ylim": (-2, 2)},
        {"system": [None], "xlim": ["ab", (1, 0)], "ylim": [(0, INF)], "resolution": count(3)},
    ),
    Api(
        "plot.trajectory",
        plot.trajectory,
        lambda: {"run": solution()},
        {
            "run": [None, "abc", np.ones(3)],
            "ax": [3],
            "dims": [(0, 5), (0,), ("a", 1), 3, (0, 0)],
            "label": TEXT,
            "samples": count(2),
            "events": FLAG,
            "color": TEXT,
            "marker": TEXT,
        },
    ),
    Api(
        "plot.time_series",
        plot.time_series,
        lambda: {"sol": solution()},
        {
            "sol": [None, trajectory()],
            "ax": [3],
            "components": [[7], ["a"], 3, []],
            "fun": CALLABLE,
            "name": [3],
            "labels": [3, "ab", [1, 2]],
            "samples": count(2),
            "events": FLAG,
            "mark": CHOICE,
            "legend": FLAG,
        },
    ),
    Api(
        "plot.filippov_set",
        plot.filippov_set,
        lambda: {"system": flow(), "x": [1.0, 0.5]},
        {
            "system": [None],
            "x": ["abc", [NAN, 0.0], [1.0, 2.0, 3.0]],
            "ax": [3],
            "unit_ball": FLAG,
            "tangents": FLAG,
            "legend": FLAG,
            "title": TEXT,
        },
    ),
    Api(
        "plot.convergence",
        plot.convergence,
        lambda: {"runs": [trajectory()], "objective": objective()},
        {
            "runs": [[], None, 3],
            "ax": [3],
            "metric": CHOICE,
            "against": CHOICE,
            "objective": [3, "f"],
            "f_star": OPTIONAL_REAL,
            "x_star": vector(2),
            "labels": [3, [1]],
            "samples": count(2),
            "legend": FLAG,
        },
    ),
    Api(
        "plot.error_vs_step",
        plot.error_vs_step,
        lambda: {"study": study()},
        {
            "ax": [3],
            "order": OPTIONAL_REAL,
            "which": CHOICE,
            "label": TEXT,
            "fit": FLAG,
            "legend": FLAG,
        },
    ),
    Api(
        "plot.active_face",
        plot.active_face,
        lambda: {"runs": [trajectory()]},
        {
            "runs": [[], None],
            "ax": [3],
            "quantity": CHOICE,
            "normalize": FLAG,
            "against": CHOICE,
            "L": ["abc", [NAN, 1.0]],
            "labels": [3, [1]],
            "legend": FLAG,
        },
    ),
    Api(
        "plot.face_ablation",
        plot.face_ablation,
        lambda: {"objective": objective(), "runs": [trajectory()], "tau": 0.1},
        {
            "runs": [[], None],
            "tau": ["a", True, -1.0, NAN],
            "relative": FLAG,
            "quantity": CHOICE,
            "L": ["abc", [NAN, 1.0]],
            "ax": [3],
            "labels": [3, [1]],
            "legend": FLAG,
        },
    ),
    Api(
        "plot.diagnostic",
        plot.diagnostic,
        lambda: {"runs": [trajectory()], "name": "flips"},
        {
            "runs": [[], None],
            "name": [3, [3]],
            "ax": [3],
            "statistic": CHOICE,
            "window": count(1),
            "labels": [3, [1]],
            "ylabel": TEXT,
            "legend": FLAG,
        },
    ),
    # -- sweeps (issue 18) -------------------------------------------------------------
    Api(
        "sweep",
        fp.sweep,
        lambda: {"problem": objective(), "x0": [[0.0, 0.0]], "t_span": (0, 2), "executor": None},
        {
            "problem": [3, "f"],
            "x0": ["abc", [[NAN, 0.0]], [[]]],
            "t_span": [(1.0, 0.0), "ab", (0.0, NAN), 3],
            "params": [3, {"a": [1.0]}],
            "norms": [["l3"], "linf", 3],
            "steps": [[0.1]],
            "seeds": [[1]],
            "run": CHOICE,
            "scheme": [3],
            "solve_options": [3, {"rtoll": 1.0}],
            "scheme_options": [3, {"nope": 1}],
            "check_derivatives": FLAG,
            "keep_solutions": FLAG,
            "executor": ["threads", 3],
            "workers": count(1, optional=True),
            "chunk_size": count(1, optional=True),
            "out": [3],
            "table_format": CHOICE,
            "progress": ["yes", 2],
        },
    ),
    Api(
        "grid",
        lambda limits, num: fp.grid(*limits, num=num),
        lambda: {"limits": [(0.0, 1.0), (0.0, 1.0)], "num": 3},
        {"limits": [[], [(1.0, 0.0)], [(0.0, NAN)]], "num": [2.5, "3", 1, (3,)]},
    ),
    Api(
        "plot.arrival_time_map",
        plot.arrival_time_map,
        lambda: {"table": sweep_table(), "system": flow()},
        {
            "table": [3, sweep_table().iloc[:-1]],
            "system": [3],
            "value": ["nope", 3, "message"],
            "ax": [3],
            "cmap": CHOICE,
            "colorbar": FLAG,
            "minimizer": FLAG,
            "legend": FLAG,
            "title": TEXT,
            "resolution": count(3),
        },
    ),
    Api(
        "plot.artists",
        plot.artists,
        lambda: {"ax": plt.figure().add_subplot()},
        {"ax": [None, 3], "pattern": [3, None]},
    ),
]


def _rows() -> list[Any]:
    rows = []
    for api in APIS:
        for arg, values in api.bad.items():
            for k, value in enumerate(values):
                rows.append(pytest.param(api, arg, value, id=f"{api.name}-{arg}-{k}"))
    return rows


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(("api", "arg", "value"), _rows())
def test_bad_argument_is_named(api: Api, arg: str, value: Any, tmp_path: Path) -> None:
    kwargs = api.good()
    if "path" in kwargs:
        kwargs["path"] = tmp_path / "out.npz"
    if arg == "path" and value == ".":
        value = tmp_path  # an existing folder
    kwargs[arg] = value
    with pytest.raises((TypeError, ValueError)) as info:
        api.call(**kwargs)
    text = str(info.value)
    # `arg` itself, or an entry of it such as `params['a']` or `events[0]`
    assert f"`{arg}`" in text or f"`{arg}[" in text, f"{type(info.value).__name__}: {text}"


@pytest.mark.filterwarnings("ignore:Objective 'objective'. no Hessian given:UserWarning")
@pytest.mark.parametrize("api", APIS, ids=[a.name for a in APIS])
def test_the_working_call_works(api: Api, tmp_path: Path) -> None:
    """Each row changes one argument of a call that succeeds, so the row tests that argument."""
    kwargs = api.good()
    if api.name == "FilippovSolution.load":
        kwargs["path"] = solution().save(tmp_path / "sol.npz")
    elif "path" in kwargs:
        kwargs["path"] = tmp_path / "out.npz"
    api.call(**kwargs)


def test_every_public_entry_point_is_in_the_table() -> None:
    names = {a.name for a in APIS}
    wanted = {
        n
        for n in fp.__all__
        if callable(getattr(fp, n))
        # result records the library builds (no validation by design) and the abstract
        # Norm base class; CompactSolution has no public constructor (solve builds it); Status
        # is an enum (Status(7) raises the enum's own ValueError)
        and n
        not in {"ComparisonReport", "ConvergenceStudy", "Face", "Norm", "CompactSolution", "Status"}
    }
    wanted |= {f"plot.{n}" for n in plot.__all__ if callable(getattr(plot, n))} - {
        "plot.ManifoldPiece",
        "plot.SwitchingSet",
    }
    missing = sorted(wanted - names)
    assert not missing, missing


@pytest.mark.parametrize("options_class", ["EventOptions", "PiecewiseOptions"])
@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("integrator", "Euler", ValueError),
        ("integrator", None, ValueError),
        ("rtol", -1.0, ValueError),
        ("atol", float("nan"), ValueError),
        ("atol", "1e-12", TypeError),
        ("zero_tol", 2.0, ValueError),
        ("stabilization", -1.0, ValueError),
    ],
)
def test_an_options_object_refuses_a_bad_field_by_name(options_class, field, value, error):
    # `options=` reaches the path as given (solve checks its keywords only): the event
    # path's options raised a bare KeyError for an unknown integrator inside the run, and
    # a TypeError about complex numbers from inside scipy for rtol = -1.
    import filippov._piecewise_path as piecewise_path
    from filippov import engine

    cls = getattr(engine, options_class, None) or getattr(piecewise_path, options_class)
    with pytest.raises(error, match=f"`{field}`"):
        cls(**{field: value})
