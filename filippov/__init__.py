"""filippov: Filippov solutions of discontinuous ODEs and the sign-based optimizers that
discretize them.

>>> import filippov as fp
>>> from filippov.objectives import slope
>>> sol = fp.solve(fp.steepest_descent_flow(slope(0.5), norm="linf"), [0.6, 0.1], (0, 4))
>>> sol.status, sol.counts["sliding-entry"]
(<Status.STATIONARY: 1>, 2)
"""

from filippov import schemes
from filippov._status import Status
from filippov.comparison import ComparisonReport, ConvergenceStudy, compare, convergence_study
from filippov.engine import solve
from filippov.norms import Face, Norm, get_norm
from filippov.objectives import Objective
from filippov.piecewise import PiecewiseSystem, gene_network, stewart_system
from filippov.schemes import DiscreteTrajectory
from filippov.solution import EVENT_KINDS, Event, FilippovSolution, Mode, Segment
from filippov.solution.compact import CompactSolution

# Sweeps (pandas, tqdm and dask are imported only when a sweep runs). The modules are
# `comparison` and `sweeps`, not `compare` and `sweep`: a function named like its module
# hid the module (`import filippov.compare as m` gave the function).
from filippov.sweeps import grid, sweep
from filippov.systems import (
    FilippovSystem,
    coulomb_oscillator,
    piecewise_system,
    steepest_descent_flow,
    twisting_system,
)

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # `fp.plot` is imported on first use, so `import filippov` never imports matplotlib.
    if name == "plot":
        import importlib

        return importlib.import_module("filippov.plot")
    raise AttributeError(f"module 'filippov' has no attribute {name!r}")


__all__ = [
    "EVENT_KINDS",
    "CompactSolution",
    "ComparisonReport",
    "ConvergenceStudy",
    "DiscreteTrajectory",
    "Event",
    "Face",
    "FilippovSolution",
    "FilippovSystem",
    "Mode",
    "Norm",
    "Objective",
    "PiecewiseSystem",
    "Segment",
    "Status",
    "compare",
    "convergence_study",
    "coulomb_oscillator",
    "gene_network",
    "get_norm",
    "grid",
    "piecewise_system",
    "schemes",
    "solve",
    "steepest_descent_flow",
    "stewart_system",
    "sweep",
    "twisting_system",
]
