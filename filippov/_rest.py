"""Labels shared by the engine's paths at a state on ℓ1 switching manifolds.

Two questions are answered here, the same way for the exact and the event path:

* **Is resting at an equilibrium the only Filippov solution?** Decided from the *set* of
  solutions of the sliding selection (a box VI), not from a sufficient condition on its
  matrix alone: the nonsmooth harmonic oscillator ``x' = −sign(y), y' = sign(x)`` has
  ``M = [[0, 1], [−1, 0]]`` at its centre, no P-matrix, yet the single selection ``λ = 0``.
  When the set holds selections with a nonzero velocity ``v``, each is a *candidate*
  departure; it is a genuine one only if the selection problem a short step ``ε v`` later
  still offers a velocity close to ``v`` (a second-order consistency check: at the
  twisting controller's origin the first-order problem admits ``v = (0, 1)``, but at
  ``(0, ε)`` the field is ``(ε, −a − b)``, so that departure does not exist).
* **Which kind is a manifold the solution leaves at its initial state?** The kind the
  one-sided normal velocities ``a±`` give (as :meth:`FilippovSystem.classify`):
  ``"crossing"`` when ``a₊ a₋ > 0``, ``"tangency"`` when one vanishes, else ``"exit"``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from filippov._recorder import Recorder
from filippov._validation import FloatArray
from filippov.selection import box_vi_solution_set, is_p_matrix
from filippov.solution import Mode

#: ``evaluate(x) -> (f0, B, h, J)`` at a state.
Evaluate = Callable[[FloatArray], tuple[FloatArray, FloatArray, FloatArray, FloatArray]]

#: The note of a steepest-descent flow's rest recorded ``unique=False`` (an event documents
#: its choice) on the continuation paths of the sign and greedy flows.
NON_UNIQUE_REST_NOTE = (
    "the Hessian is singular here (a valley of minimizers, or a saddle): other solutions "
    "of the inclusion leave this point (along the valley, or down from the saddle); the "
    "run stays at rest"
)

#: Largest zero set whose selection set is enumerated (3^k patterns).
_MAX_ENUM = 6
#: Relative size of the probing step ``ε v`` (times the state's size).
_PROBE = 1e-6


def _velocities(
    f0: FloatArray, B: FloatArray, J: FloatArray, zero: np.ndarray, signs: FloatArray
) -> tuple[FloatArray, bool]:
    """Velocities of every solution of the box VI on ``zero`` (others at ``signs``)."""
    lam = np.asarray(signs, dtype=float).copy()
    lam[zero] = 0.0
    a = J[zero] @ (f0 - B @ lam)
    M = J[zero] @ B[:, zero]
    sset = box_vi_solution_set(M, a)
    full = np.repeat(lam[None, :], sset.points.shape[0], axis=0)
    full[:, zero] = sset.points
    return f0[None, :] - full @ B.T, sset.unique


def rest_is_unique(
    evaluate: Evaluate, x: FloatArray, zero: np.ndarray, signs: FloatArray, v_scale: float
) -> bool:
    """Whether staying at the equilibrium ``x`` is the only Filippov solution (ℓ1 relay).

    Parameters
    ----------
    evaluate : callable
        ``x -> (f0, B, h, J)``.
    x : ndarray, shape (n,)
        The equilibrium.
    zero : int ndarray
        The switching functions at zero (free relay values).
    signs : ndarray, shape (m,)
        The relay values of the others.
    v_scale : float
        Scale of the velocities (``|f0| + |B|``): a velocity below ``1e-12 v_scale`` is 0.
    """
    zero = np.asarray(zero, dtype=np.intp)
    if zero.size == 0:
        return True
    f0, B, _, J = evaluate(x)
    lam = np.asarray(signs, dtype=float).copy()
    lam[zero] = 0.0
    M = J[zero] @ B[:, zero]
    if is_p_matrix(M) is True:
        return True  # one selection, the equilibrium's
    if zero.size > _MAX_ENUM:
        return False  # not decided: flag it rather than claim uniqueness
    vels, _ = _velocities(f0, B, J, zero, lam)
    vtol = 1e-12 * max(v_scale, 1e-300)
    size = max(1.0, float(np.max(np.abs(x))))
    for v in vels:
        speed = float(np.max(np.abs(v)))
        if speed <= vtol:
            continue
        # A candidate departure: probe the selection problem a short step along it.
        eps = _PROBE * size / speed
        xe = x + eps * v
        f0e, Be, he, Je = evaluate(xe)
        # Moved off its manifold: by more than 1e-3 of what the step can change it, and
        # more than its rounding (64 ulps of the terms it is computed from, as an affine
        # h's component scale). Without the floor, a departure along which h does not
        # change at all (a coordinate f does not depend on, a valley: Je v = 0) read the
        # rounding of h as a move off the manifold, and the rest was flagged unique.
        Jz = Je[zero]
        terms = np.abs(Jz) @ np.abs(xe) + np.abs(he[zero] - Jz @ xe)
        moved = np.abs(he[zero]) > np.maximum(
            1e-3 * eps * np.abs(Jz) @ np.abs(v), 64 * np.finfo(float).eps * terms
        )
        still = zero[~moved]
        sig = lam.copy()
        sig[zero] = np.sign(he[zero])
        sig[still] = 0.0
        if still.size:
            ve, _ = _velocities(f0e, Be, Je, still, sig)
        else:
            ve = (f0e - Be @ sig)[None, :]
        if np.any(np.max(np.abs(ve - v[None, :]), axis=1) <= 0.25 * speed):
            return False
    return True


def leave_kinds(a_plus: FloatArray, a_minus: FloatArray, scale: FloatArray) -> dict[str, list[int]]:
    """Group positions by the kind their one-sided normal velocities give."""
    groups: dict[str, list[int]] = {}
    for k, (ap, am, sc) in enumerate(zip(a_plus, a_minus, scale, strict=True)):
        tol = 1e-9 * max(float(sc), 1e-300)
        if abs(ap) <= tol or abs(am) <= tol:
            kind = "tangency"
        elif ap * am > 0:
            kind = "crossing"
        else:
            kind = "exit"
        groups.setdefault(kind, []).append(k)
    return groups


def record_initial_leave(
    rec: Recorder,
    t: float,
    x: FloatArray,
    leaving: np.ndarray,
    v: FloatArray,
    JB_leaving: FloatArray,
    J_leaving: FloatArray,
    lam_leaving: FloatArray,
    scale: FloatArray,
    mode: Mode,
) -> None:
    """Record the manifolds the solution leaves at its initial state, with their kind.

    ``v`` is the velocity of the new mode, ``JB_leaving`` the rows ``(∇h_i B)`` of the
    leaving indices (shape ``(k, m)``), ``J_leaving`` their gradients and
    ``lam_leaving`` their relay values (``±1``). Switching ``λ_i`` from ``s`` to ``−s``
    changes ``ḣ_i`` by ``2 s (∇h_i B)_i``, which gives both one-sided velocities.
    """
    leaving = np.asarray(leaving, dtype=np.intp)
    if leaving.size == 0:
        return
    here = J_leaving @ v
    diag = JB_leaving[np.arange(leaving.size), leaving]
    other = here + 2.0 * lam_leaving * diag
    a_plus = np.where(lam_leaving > 0, here, other)
    a_minus = np.where(lam_leaving > 0, other, here)
    for kind, pos in leave_kinds(a_plus, a_minus, scale).items():
        rec.event(
            t,
            x,
            kind,
            leaving[pos],
            None,
            mode,
            note="initial state on the switching manifold, left at once",
        )
