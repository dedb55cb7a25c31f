"""Wall time of ``import filippov`` and ``filippov --help`` in fresh interpreters.

Run from the repository root: ``python -m benchmarks.import_time [--runs 15]``. Each command
runs ``runs`` times in a new process (after one untimed warm-up that also writes the bytecode
caches); the table gives the median and the minimum wall time, next to a bare interpreter and
``import numpy`` (the floor filippov cannot go below). Targets: ``import filippov`` under
0.3 s, ``filippov --help`` under 0.5 s. On a loaded machine compare the medians with the
``import numpy`` row of the same run rather than with the targets alone.

Bytecode: an installed package runs from its ``.pyc`` files, so the timed runs use a cache
in a temporary folder (``PYTHONPYCACHEPREFIX``; the repository stays clean) even when the
environment sets ``PYTHONDONTWRITEBYTECODE``. ``--no-bytecode`` times the other case, every
module compiled from source on every run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS: dict[str, list[str]] = {
    "python (bare)": [sys.executable, "-c", "pass"],
    "import numpy": [sys.executable, "-c", "import numpy"],
    "import filippov": [sys.executable, "-c", "import filippov"],
    "python -m filippov.cli --help": [sys.executable, "-m", "filippov.cli", "--help"],
    "import filippov; from_expr": [
        sys.executable,
        "-c",
        "import filippov; filippov.Objective.from_expr('x**2 + y**2', variables=['x', 'y'])",
    ],
}
TARGETS = {"import filippov": 0.3, "python -m filippov.cli --help": 0.5}


def _wall(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=env["PYTHONPATH"], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="compile every module from source each run"
    )
    parser.add_argument(
        "--repo",
        type=Path,
        default=ROOT,
        help="the checkout to time (default: this one); e.g. an older one for a ratio",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="filippov-pycache-") as cache:
        env = dict(os.environ, PYTHONPATH=str(args.repo.resolve()))
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env.pop("PYTHONPYCACHEPREFIX", None)
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache
        _table(env, args.runs, "no bytecode cache" if args.no_bytecode else "bytecode cached")
    return 0


def _table(env: dict[str, str], runs: int, mode: str) -> None:
    print(f"{'command':34s} {'median s':>9s} {'min s':>7s} {'target s':>9s}")
    for label, cmd in COMMANDS.items():
        _wall(cmd, env)  # warm-up: bytecode caches, file system cache
        times = [_wall(cmd, env) for _ in range(runs)]
        target = TARGETS.get(label)
        print(
            f"{label:34s} {statistics.median(times):9.3f} {min(times):7.3f} "
            f"{'' if target is None else f'{target:.1f}':>9s}"
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"({mode}; 1-minute load average {load:.2f} on {os.cpu_count()} cores, {runs} runs)")


if __name__ == "__main__":
    raise SystemExit(main())
