"""Discretizations of the steepest-descent flows: SignGD and its relatives.

Every scheme is the Euler step of a flow :math:`x' \\in -\\partial\\|\\nabla f(x)\\|_*`,
built from the flow's norm geometry and a step policy (except :class:`GD`, the Euler
step of the smooth gradient flow :math:`x' = -\\nabla f`: see ``Scheme.flow``); one
driver (:func:`run`) owns the loop, the flow time :math:`t_k = \\sum_{j<k}\\eta_j` and
the diagnostics, and returns a :class:`DiscreteTrajectory`.

Examples
--------
>>> import filippov as fp
>>> from filippov.objectives import separable_quadratic
>>> obj = separable_quadratic([1.0, 4.0], [0.0, 0.0])
>>> traj = fp.schemes.SignGD(step=0.01).run(obj, [1.0, -1.0], n_steps=400)
>>> traj.x.shape, traj.t.shape
((401, 2), (401,))
"""

from __future__ import annotations

from .accelerated import ASGD
from .alignment import UpdateAlignment, cosine_similarity, update_alignment
from .base import Direction, Problem, Scheme, StepFailure, StepInfo, Update, run
from .baselines import Adam, Signum
from .explicit import GD, GreedyCD, NormalizedGD, SignGD
from .implicit import ImplicitSignGD
from .inertial import InertialSignGD, RestartedSignum
from .projected import ProjectedSignGD
from .steps import (
    Adaptive,
    Armijo,
    Constant,
    FaceAware,
    StepContext,
    StepPolicy,
    Tuned,
    active_face,
)
from .trajectory import DiscreteTrajectory

__all__ = [
    "ASGD",
    "GD",
    "Adam",
    "Adaptive",
    "Armijo",
    "Constant",
    "Direction",
    "DiscreteTrajectory",
    "FaceAware",
    "GreedyCD",
    "ImplicitSignGD",
    "InertialSignGD",
    "NormalizedGD",
    "Problem",
    "ProjectedSignGD",
    "RestartedSignum",
    "Scheme",
    "SignGD",
    "Signum",
    "StepContext",
    "StepFailure",
    "StepInfo",
    "StepPolicy",
    "Tuned",
    "Update",
    "UpdateAlignment",
    "active_face",
    "cosine_similarity",
    "run",
    "update_alignment",
]
