"""The ``filippov`` command line: simulate a flow, print its events, draw its portrait.

Commands
--------
``filippov simulate EXPR --vars x,y [--params a=0.5] --norm linf --x0 0.6,0.1 --t-end 4``
    Simulate the steepest-descent flow of an objective given as an expression (parsed
    without ``eval``) and print the segment/event summary (``--json`` for machine-readable
    output, ``--save`` to keep the solution, ``--plot`` for a phase portrait of a 2-D flow).
``filippov demo [--plot PATH]``
    The slope example ``f = ½(x1 − a x2)² + ½(x2 + 3)²`` for ``a = 0.5`` (the manifold
    ``x1 = a x2`` is sliding) and ``a = 2`` (crossing): both summaries, and a side-by-side
    phase portrait.
``filippov portrait EXPR --vars x,y --norm linf --xlim=-4,2 --ylim=-4,2 --plot out.png``
    A phase portrait of a 2-D flow, optionally with trajectories from ``--x0``.
``filippov sweep EXPR --vars x,y --xlim=-8,2 --ylim=-7,1 --num 100 --t-end 30 --out t.parquet``
    Solve the flow from every point of a grid (see :func:`filippov.sweep`) and write the
    table (``.parquet`` or ``.csv``); ``--axis a=0.5,2`` sweeps a parameter too,
    ``--workers N`` sets the local process pool, ``--scheduler ADDRESS`` runs on a Dask
    cluster, ``--chunks DIR`` keeps finished chunks there so that a rerun resumes.

An expression that starts with ``-`` is accepted right after the command
(``filippov simulate '-x*y' --vars x,y ...``); anywhere else, put it after ``--`` at the end
(``filippov simulate --vars x,y --x0 1,1 --t-end 2 -- -x*y``). The same holds for numbers:
write ``--x0=-1,2``.

Output files are checked before anything is solved: ``--save`` must name a file in an
existing folder; ``--plot`` must name a file (missing folders are created), its suffix
choosing the format (``.png`` is added when there is none, and the message names the file
written). Bad arguments exit with status 2 and a one-line message, never a traceback. When
the reader of the output goes away (``filippov simulate ... --json | head -1``) the command
stops quietly with status 141, as ``yes | head -1`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import numpy as np

from filippov._validation import as_limits, output_path
from filippov.engine import solve
from filippov.objectives import Objective, slope
from filippov.solution import FilippovSolution
from filippov.systems import FilippovSystem, steepest_descent_flow

__all__ = ["main"]

#: The demo's initial points: they reach the manifold x1 = a x2 from the side where the
#: hand solutions of the slope example (tests/reference/problems.py) are known.
_DEMO_CASES = ((0.5, (0.6, 0.1)), (2.0, (-0.6, 0.1)))
_DEMO_T_END = 4.0


#: Exit status when stdout is a closed pipe: 128 + SIGPIPE, what a shell reports for
#: ``yes | head -1``.
_EXIT_BROKEN_PIPE = 141


class _UsageError(Exception):
    """A bad command-line argument: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (argparse prints the whole usage by default)."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _floats(text: str, name: str) -> list[float]:
    items = text.split(",")
    if len(items) > 1 and not all(v.strip() for v in items):
        # ("1,,2" was read as 1,2: a number the user meant to type went missing unsaid)
        raise _UsageError(f"{name} has an empty item between its commas, got {text!r}")
    try:
        values = [float(v) for v in items if v.strip()]
    except ValueError:
        raise _UsageError(f"{name} must be comma-separated numbers, got {text!r}") from None
    if not values or not all(np.isfinite(values)):
        raise _UsageError(f"{name} must be finite numbers, got {text!r}")
    return values


def _params(items: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        for part in item.split(","):
            if not part.strip():
                continue
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise _UsageError(f"--params expects name=value pairs, got {part!r}")
            if name.strip() in out:
                raise _UsageError(f"--params gives {name.strip()!r} twice")
            out[name.strip()] = _floats(value, f"parameter {name.strip()!r}")[0]
    return out


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="filippov",
        description="Filippov solutions of norm-constrained steepest-descent flows.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def flow_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("expr", help="objective, e.g. '0.5*(x - a*y)**2 + 0.5*(y + 3)**2'")
        p.add_argument("--vars", required=True, help="comma-separated variable names")
        p.add_argument("--params", action="append", default=[], help="name=value[,name=value]")
        p.add_argument(
            "--norm",
            default="linf",
            choices=("linf", "l1", "l2"),
            help="constraint norm: linf = sign flow, l1 = greedy, l2 = normalized (default linf)",
        )

    sim = sub.add_parser("simulate", help="simulate a flow and print its events")
    flow_args(sim)
    sim.add_argument(
        "--x0", required=True, help="initial point, comma-separated (negative first: --x0=-1,2)"
    )
    sim.add_argument("--t-end", type=float, required=True, help="final time")
    sim.add_argument("--t0", type=float, default=0.0, help="initial time (default 0)")
    sim.add_argument(
        "--method", default="auto", choices=("auto", "exact", "events", "continuation")
    )
    sim.add_argument("--rtol", type=float, default=1e-10)
    sim.add_argument("--atol", type=float, default=1e-12)
    sim.add_argument("--json", action="store_true", help="print the solution as JSON")
    # Paths stay strings until checked: argparse's Path("") would be the current folder.
    sim.add_argument("--save", help="save the solution (.npz)")
    sim.add_argument("--plot", help="write a phase portrait (2-D flows)")

    demo = sub.add_parser("demo", help="the slope example: sliding (a=0.5) vs crossing (a=2)")
    demo.add_argument(
        "--plot",
        default=str(Path("build") / "filippov-demo.png"),
        help="where to write the phase portrait (default build/filippov-demo.png)",
    )
    demo.add_argument("--no-plot", action="store_true", help="only print the summaries")

    por = sub.add_parser("portrait", help="draw the phase portrait of a 2-D flow")
    flow_args(por)
    por.add_argument("--xlim", required=True, help="xmin,xmax")
    por.add_argument("--ylim", required=True, help="ymin,ymax")
    por.add_argument("--x0", action="append", default=[], help="start of a trajectory")
    por.add_argument("--t-end", type=float, default=5.0)
    por.add_argument("--plot", required=True, help="output image file")

    swp = sub.add_parser("sweep", help="solve a flow from every point of a grid; write a table")
    flow_args(swp)
    swp.add_argument("--xlim", required=True, help="xmin,xmax of the grid of initial states")
    swp.add_argument("--ylim", required=True, help="ymin,ymax of the grid of initial states")
    swp.add_argument("--num", type=int, default=50, help="grid points per axis (default 50)")
    swp.add_argument("--t-end", type=float, required=True, help="final time of every run")
    swp.add_argument(
        "--axis", action="append", default=[], help="a swept parameter: name=v1,v2,..."
    )
    swp.add_argument("--out", required=True, help="the table to write (.parquet or .csv)")
    swp.add_argument("--chunks", help="folder for finished chunks (a rerun resumes from it)")
    where = swp.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="local worker processes (1: this process)")
    where.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://host:8786")
    return parser


def _probe_writable(path: Path) -> None:
    """Create and remove a scratch file where ``path`` will go, or raise the ``OSError``.

    Permission bits do not tell everything (read-only mounts, ``/proc``, quotas), so the
    folder that will hold ``path`` (or its nearest existing ancestor, for folders still
    to be made) is tried for real before anything is solved.
    """
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".filippov-probe-"):
            pass
    except OSError as exc:
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None


def _plot_path(path: str, option: str) -> Path:
    """The image file ``--plot`` will write, checked before anything is solved.

    A missing suffix becomes ``.png`` (what matplotlib would write anyway), so that the
    file reported is the file written; an unknown suffix and a folder are usage errors.
    """
    from matplotlib.backend_bases import FigureCanvasBase

    out = output_path(path, option, make_parents=True)
    if not out.suffix:
        out = out.with_name(out.name + ".png")
        output_path(out, option, make_parents=True)
    _probe_writable(out)
    formats = FigureCanvasBase.get_supported_filetypes()
    if out.suffix[1:].lower() not in formats:
        raise _UsageError(
            f"{option} must end in an image suffix ({', '.join('.' + f for f in sorted(formats))}),"
            f" got {str(path)!r}"
        )
    return out


def _system_from_args(args: argparse.Namespace) -> FilippovSystem:
    variables = [v.strip() for v in args.vars.split(",") if v.strip()]
    objective = Objective.from_expr(args.expr, variables=variables, params=_params(args.params))
    return steepest_descent_flow(objective, norm=args.norm)


def _limits(text: str, name: str) -> tuple[float, float]:
    values = _floats(text, name)
    if len(values) != 2 or not values[0] < values[1]:
        raise _UsageError(f"{name} must be two increasing numbers 'min,max', got {text!r}")
    return values[0], values[1]


def _check_window(xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    """Refuse a window the portrait cannot draw, before anything is solved."""
    for lim, option in ((xlim, "--xlim"), (ylim, "--ylim")):
        try:
            as_limits(lim, option.lstrip("-"))
        except ValueError as exc:
            raise _UsageError(f"{option}: {exc}") from None


def _expression_first(argv: list[str]) -> list[str]:
    """Let an expression that starts with ``-`` follow the command, as in ``simulate -x*y``.

    argparse reads ``-x*y`` as an unknown option; when it is the first word after
    ``simulate`` or ``portrait`` and not ``-h``, it is moved behind a ``--`` at the end,
    where argparse takes it as the expression.
    """
    if len(argv) < 2 or argv[0] not in ("simulate", "portrait", "sweep") or "--" in argv:
        return argv
    word = argv[1]
    # The commands' only single-dash option is -h; every other one is spelled --name.
    if not word.startswith("-") or word.startswith("--") or word in ("-", "-h"):
        return argv
    return [argv[0], *argv[2:], "--", word]


def _write_portrait(
    panels: Sequence[tuple[FilippovSystem, Sequence[FilippovSolution], str]],
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    path: Path,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from filippov import plot

    fig, axes = plt.subplots(1, len(panels), figsize=(6.0 * len(panels), 5.2), squeeze=False)
    for ax, (system, sols, title) in zip(axes[0], panels, strict=True):
        plot.phase_portrait(system, xlim, ylim, ax=ax, trajectories=list(sols))
        ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, dpi=120, format=path.suffix[1:].lower())
    finally:
        plt.close(fig)
    print(f"phase portrait written to {path}")


def _simulate(args: argparse.Namespace) -> int:
    system = _system_from_args(args)
    x0 = _floats(args.x0, "--x0")
    # Check every destination before solving, so that a bad path never costs the result.
    save = None if args.save is None else output_path(args.save, "--save")
    if save is not None:
        _probe_writable(save)
    plot_path = None if args.plot is None else _plot_path(args.plot, "--plot")
    if plot_path is not None and len(x0) != 2:
        raise _UsageError("--plot needs a 2-D flow (two variables)")
    sol = solve(
        system,
        x0,
        (args.t0, args.t_end),
        method=args.method,
        rtol=args.rtol,
        atol=args.atol,
    )
    if args.json:
        print(json.dumps(sol.to_dict(), indent=2))
    else:
        print(sol.summary())
    if save is not None:
        written = sol.save(save)
        print(f"solution saved to {written}", file=sys.stderr if args.json else sys.stdout)
    if plot_path is not None:
        xs = np.asarray(sol.x)
        pad = 0.15 * max(float(np.ptp(xs[:, 0])), float(np.ptp(xs[:, 1])), 1.0)
        xlim = (float(xs[:, 0].min()) - pad, float(xs[:, 0].max()) + pad)
        ylim = (float(xs[:, 1].min()) - pad, float(xs[:, 1].max()) + pad)
        _write_portrait([(system, [sol], system.name)], xlim, ylim, plot_path)
    return 0 if sol.status >= 0 else 1


def _demo(args: argparse.Namespace) -> int:
    plot_path = None if args.no_plot else _plot_path(args.plot, "--plot")
    panels = []
    worst = 0
    for a, x0 in _DEMO_CASES:
        system = steepest_descent_flow(slope(a), norm="linf")
        sol = solve(system, x0, (0.0, _DEMO_T_END))
        kind = "sliding" if abs(a) < 1 else "crossing"
        title = f"slope example, a = {a:g}: the manifold x1 = a·x2 is {kind}"
        print(f"== {title}; sign flow from x0 = {x0} ==")
        print(sol.summary())
        print()
        panels.append((system, [sol], f"a = {a:g} ({kind})"))
        worst = min(worst, sol.status)
    if plot_path is not None:
        _write_portrait(panels, (-5.0, 1.5), (-4.0, 1.0), plot_path)
    return 0 if worst >= 0 else 1


def _portrait(args: argparse.Namespace) -> int:
    system = _system_from_args(args)
    xlim, ylim = _limits(args.xlim, "--xlim"), _limits(args.ylim, "--ylim")
    plot_path = _plot_path(args.plot, "--plot")
    starts = [_floats(p, "--x0") for p in args.x0]
    if any(len(x0) != 2 for x0 in starts):
        raise _UsageError("--x0 must have two components for a 2-D portrait")
    _check_window(xlim, ylim)
    sols = [solve(system, x0, (0.0, args.t_end)) for x0 in starts]
    _write_portrait([(system, sols, system.name)], xlim, ylim, plot_path)
    return 0


def _expr_objective(expr: str, variables: list[str], **params: float) -> Objective:
    """The sweep's problem factory (module level, so that it pickles for the workers).
    (A --params value the expression does not use was warned about once, before the
    sweep: not again in every run.)"""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`params` .* do not occur", category=UserWarning)
        return Objective.from_expr(expr, variables=variables, params=params)


def _sweep(args: argparse.Namespace) -> int:
    from functools import partial

    from filippov.sweeps import check_param_names, grid, sweep

    out = output_path(args.out, "--out", make_parents=True)
    if out.suffix not in (".parquet", ".csv"):
        raise _UsageError(f"--out must end in .parquet or .csv, got {args.out!r}")
    _probe_writable(out)
    if args.workers is not None and args.workers < 1:
        raise _UsageError(f"--workers must be at least 1, got {args.workers}")
    if args.num < 2:
        raise _UsageError(f"--num must be at least 2, got {args.num}")
    variables = [v.strip() for v in args.vars.split(",") if v.strip()]
    if len(variables) != 2:
        raise _UsageError("a grid sweep needs a 2-D flow (two variables in --vars)")
    fixed = _params(args.params)
    axes: dict[str, list[float]] = {}
    for item in args.axis:
        name, sep, values = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise _UsageError(f"--axis expects name=v1,v2,..., got {item!r}")
        # Refused rather than merged or overridden: either reading loses values unsaid
        # (a second --axis replaced the first; an --axis silently beat --params).
        if name in axes:
            raise _UsageError(
                f"--axis gives {name!r} twice; give all its values in one --axis {name}=v1,v2,..."
            )
        if name in fixed:
            raise _UsageError(f"{name!r} is given both by --params and by --axis; keep one of them")
        axes[name] = _floats(values, f"--axis {name}")
    try:
        check_param_names(axes)
    except ValueError as exc:
        raise _UsageError(f"--axis: {exc}") from None
    # Build once here: a bad expression is a usage error before any worker starts.
    Objective.from_expr(
        args.expr, variables=variables, params={**fixed, **{k: v[0] for k, v in axes.items()}}
    )
    import sympy

    from filippov.objectives import parse_expression

    names = [*variables, *fixed, *axes]
    used = parse_expression(args.expr, {n: sympy.Symbol(n) for n in names}).free_symbols
    for name in axes:
        if sympy.Symbol(name) not in used:
            # (every value of such an axis would repeat the same runs)
            raise _UsageError(f"--axis {name}: the expression does not use {name!r}")
    factory = partial(_expr_objective, args.expr, variables, **fixed)
    starts = grid(_limits(args.xlim, "--xlim"), _limits(args.ylim, "--ylim"), num=args.num)
    client = None
    executor: object = "process" if args.workers != 1 else "serial"
    if args.scheduler is not None:
        from dask.distributed import Client

        client = executor = Client(args.scheduler)
    try:
        table = sweep(
            factory,
            starts,
            t_span=(0.0, args.t_end),
            params=axes or None,
            norms=[args.norm],
            executor=executor,
            workers=args.workers,
            out=args.chunks,
        )
    finally:
        if client is not None:
            client.close()
    if out.suffix == ".parquet":
        table.to_parquet(out, index=False)
    else:
        table.to_csv(out, index=False)
    counts = table["status"].value_counts().sort_index()
    by_status = ", ".join(f"status {k}: {v}" for k, v in counts.items())
    print(f"{len(table)} runs ({by_status}); table written to {out}")
    return 0 if int(table["status"].min()) >= 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``filippov`` command line; returns the exit status.

    Examples
    --------
    >>> from filippov.cli import main
    >>> main(["simulate", "x**2 + 3*y**2", "--vars", "x,y", "--x0", "1,1", "--t-end", "2"])
    FilippovSolution: success (status 1)...
    0
    """
    parser = _build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(_expression_first(words))
        handler = {
            "simulate": _simulate,
            "demo": _demo,
            "portrait": _portrait,
            "sweep": _sweep,
        }[args.command]
        return handler(args)
    except BrokenPipeError:
        # The reader went away (`... | head -1`): stop quietly, and point stdout at devnull
        # so that the interpreter's final flush does not complain either.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # no real stdout (captured)
            pass
        return _EXIT_BROKEN_PIPE
    except _UsageError as exc:
        print(f"filippov: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        # An output path that cannot be written (missing folder, permissions), or -- no
        # file named -- another system error, as a scheduler that cannot be reached.
        what = f"cannot write {exc.filename}: " if exc.filename else ""
        print(f"filippov: error: {what}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:
        # Validation errors of the library name the bad input; show them in one line.
        print(f"filippov: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    raise SystemExit(main())
