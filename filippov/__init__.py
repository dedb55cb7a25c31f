"""filippov: Filippov solutions of discontinuous ODEs and the sign-based optimizers that
discretize them.

>>> import filippov as fp
>>> from filippov.objectives import slope
>>> sol = fp.solve(fp.steepest_descent_flow(slope(0.5), norm="linf"), [0.6, 0.1], (0, 4))
>>> sol.status, sol.counts["sliding-entry"]
(1, 2)
"""

from filippov.engine import solve
from filippov.norms import Face, Norm, get_norm
from filippov.objectives import Objective
from filippov.solution import Event, FilippovSolution, Mode, Segment
from filippov.systems import (
    FilippovSystem,
    coulomb_oscillator,
    piecewise_system,
    steepest_descent_flow,
    twisting_system,
)

__version__ = "0.1.0"

__all__ = [
    "Event",
    "Face",
    "FilippovSolution",
    "FilippovSystem",
    "Mode",
    "Norm",
    "Objective",
    "Segment",
    "coulomb_oscillator",
    "get_norm",
    "piecewise_system",
    "solve",
    "steepest_descent_flow",
    "twisting_system",
]
