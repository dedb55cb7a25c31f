"""The default integrator ``"auto"``: DOP853, and Radau in a mode where DOP853 is stiff.

An explicit method on a stiff mode takes steps held at its stability boundary
(``h |λ| ≈ 6`` for DOP853, ``λ`` the fast eigenvalue of the field's Jacobian), whatever
the tolerances allow: the ℓ2 steepest-descent flow ``x' = −∇f/‖∇f‖`` is such a mode near its
arrival at ``∇f = 0`` (its Jacobian is about ``H/‖∇f‖``, the time left about ``‖x‖``, so
the stiffness grows like the Hessian's condition number). From ``(1, 0.7)`` DOP853 took
10 000 steps in one mode without arriving (status −1) on ``x⁴/4 + y²/2`` and on a quadratic
of condition 1e4, 1.5 s at condition 1e3, where Radau arrived in 0.2-1.4 s; on a
non-stiff ℓ2 mode Radau costs a Jacobian and LU decompositions for nothing (0.37 s
against 0.04 s at condition 10).

:class:`StiffnessTest` is the stiffness detection of Hairer's DOP853 code (Hairer, Nørsett
& Wanner, *Solving Ordinary Differential Equations I*, 2nd ed., Sec. II.10; Hairer &
Wanner, *II*, Sec. IV.2): after each accepted step, ``h |λ|`` is estimated from the last
two stages, both evaluated at ``t + h`` (the 12th stage at ``y₁₂`` and the FSAL stage at
the new state): ``h ‖f(y_new) − f(y₁₂)‖ / ‖y_new − y₁₂‖``, with no evaluation of its own.
Fifteen estimates above 6.1 (the edge of DOP853's stability region on the negative real
axis), without six below in a row in between, call the mode stiff.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.integrate import BDF, DOP853, LSODA, RK23, RK45, OdeSolver, Radau

from filippov._validation import (
    require_non_negative,
    require_positive,
    require_relative_tolerance,
)

#: The scipy integrators ``solve`` accepts by name.
INTEGRATORS: dict[str, type[OdeSolver]] = {
    "RK23": RK23,
    "RK45": RK45,
    "DOP853": DOP853,
    "Radau": Radau,
    "BDF": BDF,
    "LSODA": LSODA,
}
#: The default: DOP853, switching to Radau in a stiff mode (see the module docstring).
AUTO = "auto"
#: Every name of ``integrator``.
INTEGRATOR_NAMES = (AUTO, *INTEGRATORS)
#: ``h |λ|`` above this is at DOP853's stability boundary (Hairer's DOP853: 6.1).
_STIFF_H_LAMBDA = 6.1
#: Estimates above the boundary that call a mode stiff (Hairer's DOP853: 15) ...
_STIFF_STEPS = 15
#: ... unless this many in a row below it come in between (Hairer's DOP853: 6).
_NON_STIFF_STEPS = 6


def require_integrator(name: object) -> str:
    """``name`` if it is one of `INTEGRATOR_NAMES`, else a ``ValueError`` listing them."""
    if not isinstance(name, str) or name not in INTEGRATOR_NAMES:
        raise ValueError(f"`integrator` must be one of {INTEGRATOR_NAMES}. Got {name!r} instead.")
    return name


def check_integration_options(
    integrator: str, rtol: float, atol: float, zero_tol: float, stabilization: float
) -> None:
    """Refuse, naming the field, what an options object of the event or piecewise path
    holds out of range (``options=`` reaches a path as given: ``solve`` checks only its
    keywords, and ``EventOptions(integrator="Euler")`` raised a bare ``KeyError`` inside the
    run, ``rtol=-1`` a ``TypeError`` about complex numbers from inside scipy)."""
    require_integrator(integrator)
    require_positive(rtol, "rtol")
    require_positive(atol, "atol")
    require_relative_tolerance(zero_tol, "zero_tol")
    require_non_negative(stabilization, "stabilization")


def integrators(name: str) -> tuple[type[OdeSolver], type[OdeSolver] | None]:
    """The integrator ``name`` starts each mode with, and the one a stiff mode switches to
    (``None``: no switch, for an integrator named explicitly)."""
    if name == AUTO:
        return DOP853, Radau
    return INTEGRATORS[name], None


def explicit_name(name: str) -> str:
    """The integrator a mode starts with, by name (``"auto"`` starts with DOP853)."""
    return "DOP853" if name == AUTO else name


class StiffnessTest:
    """Hairer's stiffness detection on the accepted steps of one DOP853 integrator (see the
    module docstring); other integrators are never called stiff."""

    def __init__(self) -> None:
        self._stiff = 0
        self._non_stiff = 0

    def stiff_after(self, solver: OdeSolver) -> bool:
        """Whether the mode is stiff, with the step ``solver`` just accepted counted."""
        if not isinstance(solver, DOP853) or solver.t_old is None:
            return False
        h = float(solver.t - solver.t_old)
        K = solver.K
        # (stage 12 of DOP853 is evaluated at t + h, at y₁₂ below; K[12] = f(t + h, y_new))
        y12 = solver.y_old + h * (K[:11].T @ solver.A[11, :11])
        dy = float(np.linalg.norm(solver.y - y12))
        df = float(np.linalg.norm(K[12] - K[11]))
        if dy > 0.0 and abs(h) * df > _STIFF_H_LAMBDA * dy:
            self._stiff += 1
            self._non_stiff = 0
        else:
            self._non_stiff += 1
            if self._non_stiff >= _NON_STIFF_STEPS:
                self._stiff = 0
        return self._stiff >= _STIFF_STEPS


def name_the_switch(rec: Any) -> None:
    """Name Radau beside DOP853 in the run's method, ``"events (DOP853, Radau in stiff
    modes)"``, once a mode switched (``rec``: the run's recorder)."""
    method = str(getattr(rec, "method", ""))
    if "DOP853" in method and "Radau" not in method:
        rec.method = method.replace("DOP853", "DOP853, Radau in stiff modes", 1)
