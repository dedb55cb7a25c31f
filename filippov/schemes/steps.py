r"""Step-size policies: how long each Euler step of a flow is.

A policy sees the current iterate, its gradient and the scheme's step direction ``v``
(the update is :math:`x_{k+1} = x_k + \eta_k v_k` for explicit schemes) and returns
:math:`\eta_k \ge 0`. Policies are small immutable objects; per-run state (the last
accepted Armijo step, the step chosen by :class:`Tuned`) lives in the value returned by
:meth:`StepPolicy.init` and threaded through :meth:`StepPolicy.size` by the driver.

The separable-smoothness constants :math:`L_i` (:math:`\operatorname{diag}(L) \succeq
\nabla^2 f` everywhere) come from :func:`filippov.geometry.separable_smoothness` unless
given explicitly. They give the bound

.. math::

    f(x + \eta v) \le f(x) + \eta\langle g, v\rangle + \frac{\eta^2}{2}\sum_i L_i v_i^2 ,

which the adaptive rules minimize (seed paper 2, Sec. 5.2).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validation import as_vector, require_positive

if TYPE_CHECKING:
    from ..objectives import Objective
    from .base import Problem

__all__ = [
    "Adaptive",
    "Armijo",
    "Constant",
    "FaceAware",
    "StepContext",
    "StepPolicy",
    "Tuned",
    "active_face",
    "as_policy",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class StepContext:
    """What a step policy may look at when sizing step ``k``.

    Arrays carry a leading batch axis: a single run is a batch of one point.

    Attributes
    ----------
    k : int
        Step index.
    x : ndarray, shape (m, n)
        Current iterates.
    g : ndarray, shape (m, n)
        Gradients at ``x``.
    v : ndarray, shape (m, n)
        Step direction proposed by the scheme (descent: :math:`\\langle g, v\\rangle \\le 0`).
    f : ndarray, shape (m,) or None
        Objective values at ``x`` when the driver has them (``None`` otherwise).
    problem : Problem
        The run's objective and derived data (smoothness constants, counters).
    """

    k: int
    x: FloatArray
    g: FloatArray
    v: FloatArray
    f: FloatArray | None
    problem: Problem

    def f_values(self) -> FloatArray:
        """Objective values at ``x`` (evaluated on demand when the driver has none)."""
        return self.f if self.f is not None else self.problem.f_rows(self.x)


class StepPolicy(ABC):
    """Base class of step-size policies.

    To write a new policy, subclass and implement :meth:`size`, which receives a
    :class:`StepContext` and the policy's run state and returns ``(eta, state)`` with
    ``eta`` a non-negative array of shape ``(m,)`` (one step per point of the batch).
    Override :meth:`init` when the policy needs per-run state or a set-up computation,
    and :meth:`describe` to add JSON-able details to the trajectory's metadata. Keep the
    object itself immutable: the same policy instance may drive many runs.

    Examples
    --------
    >>> import numpy as np
    >>> class Halving(StepPolicy):
    ...     '''eta_k = eta0 / 2**k.'''
    ...     def __init__(self, eta0):
    ...         self.eta0 = eta0
    ...     def size(self, ctx, state):
    ...         return np.full(ctx.x.shape[0], self.eta0 / 2.0**ctx.k), state
    >>> Halving(1.0).describe()["policy"]
    'Halving'
    """

    def init(self, problem: Problem) -> Any:
        """Per-run state, created by the driver before the first step (default: None)."""
        return None

    @abstractmethod
    def size(self, ctx: StepContext, state: Any) -> tuple[FloatArray, Any]:
        """Return the step sizes ``eta`` (shape ``(m,)``, ``>= 0``) and the new state."""

    def describe(self, state: Any = None) -> dict[str, Any]:
        """JSON-serializable description (stored in the trajectory metadata)."""
        return {"policy": type(self).__name__, "repr": repr(self)}

    def face(self, g: FloatArray) -> NDArray[np.bool_] | None:
        """Coordinates the step may move, given the gradients ``g`` (shape ``(m, n)``).

        ``None`` (the default): every coordinate. A policy that returns a boolean mask of
        shape ``(m, n)`` (:class:`FaceAware`) has the driver zero the direction outside it
        before :meth:`size` is called, and record the mask's size and curvature as the
        trajectory's ``face_size`` and ``face_curvature``.
        """
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _inner_descent(ctx: StepContext) -> FloatArray:
    """Per-point first-order decrease :math:`\\max(\\langle g, -v\\rangle, 0)`."""
    return np.maximum(-np.einsum("ij,ij->i", ctx.g, ctx.v), 0.0)


def _safe_ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.zeros_like(num)
    ok = den > 0
    np.divide(num, den, out=out, where=ok)
    return out


def _smoothness(L: FloatArray | None, problem: Problem) -> FloatArray:
    """The per-coordinate smoothness constants: the policy's own ``L`` (one per
    coordinate of the problem, checked here: the policy is built before it sees one),
    else the problem's."""
    if L is None:
        return problem.smoothness()
    if L.shape != (problem.n,):
        raise ValueError(
            f"`L` must hold one smoothness constant per coordinate: {problem.n} for this "
            f"problem. Got {L.size} instead."
        )
    return L


class Constant(StepPolicy):
    r"""Constant step :math:`\eta_k = \eta`.

    A plain float passed as ``step=`` to any scheme means ``Constant(step)``.

    Parameters
    ----------
    eta : float
        Step size, positive and finite.

    Examples
    --------
    >>> Constant(0.01)
    Constant(0.01)
    >>> Constant(-1.0)
    Traceback (most recent call last):
    ...
    ValueError: `eta` must be a positive finite number. Got -1.0 instead.
    """

    def __init__(self, eta: float) -> None:
        self.eta = require_positive(eta, "eta")

    def size(self, ctx: StepContext, state: Any) -> tuple[FloatArray, Any]:
        return np.full(ctx.x.shape[0], self.eta), state

    def describe(self, state: Any = None) -> dict[str, Any]:
        return {"policy": "Constant", "repr": repr(self), "eta": self.eta}

    def __repr__(self) -> str:
        return f"Constant({self.eta!r})"


class Adaptive(StepPolicy):
    r"""Adaptive step from the separable smoothness bound (seed paper 2, Prop. 5.3).

    .. math::

        \eta_k = \frac{\langle g_k, -v_k\rangle}{\|v_k\|_\infty^2 \sum_i L_i},

    the minimizer of the conservative bound
    :math:`f(x+\eta v) \le f(x) + \eta\langle g, v\rangle + \tfrac{\eta^2}{2}\|v\|_\infty^2
    \sum_i L_i`. For SignGD (:math:`v = -\operatorname{sign} g`) this is
    :math:`\eta_k = \|g_k\|_1 / \sum_i L_i`, which guarantees
    :math:`f_{k+1} \le f_k - \|g_k\|_1^2 / (2\sum_i L_i)` and, under
    :math:`\mu`-strong convexity, :math:`f_k - f^\star \le (1 - \mu/\sum_i L_i)^k
    (f_0 - f^\star)`. For the restarted Signum (:math:`v = -\operatorname{sign} m_k`) it is
    :math:`\langle g_k, d_k\rangle/\sum_i L_i`; for :class:`~filippov.schemes.ASGD` it is
    taken at the extrapolated point, :math:`\|\nabla f(y_k)\|_1/\sum_i L_i`. A direction that is not a descent
    direction gets :math:`\eta_k = 0`.

    Parameters
    ----------
    L : array_like, shape (n,), optional
        Separable smoothness constants; default
        :func:`filippov.geometry.separable_smoothness` of the objective (a valid bound for
        quadratics: :math:`L_i = \sum_j |H_{ij}|`).

    Examples
    --------
    >>> import filippov as fp
    >>> from filippov.objectives import separable_quadratic
    >>> obj = separable_quadratic([1.0, 3.0], [0.0, 0.0])
    >>> traj = fp.schemes.SignGD(step=Adaptive()).run(obj, [1.0, 1.0], n_steps=1)
    >>> float(traj.step[0])  # ||g||_1 / sum(L) = (1 + 3) / 4
    1.0
    """

    def __init__(self, L: ArrayLike | None = None) -> None:
        self.L = None if L is None else _validate_L(L)

    def size(self, ctx: StepContext, state: Any) -> tuple[FloatArray, Any]:
        L = _smoothness(self.L, ctx.problem)
        vmax = np.max(np.abs(ctx.v), axis=1) if ctx.v.shape[1] else np.zeros(ctx.v.shape[0])
        return _safe_ratio(_inner_descent(ctx), vmax**2 * float(np.sum(L))), state

    def __repr__(self) -> str:
        return "Adaptive()" if self.L is None else f"Adaptive(L={self.L.tolist()!r})"


def active_face(g: ArrayLike, tau: float = 0.0, *, relative: bool = False) -> NDArray[np.bool_]:
    r"""The numerically active coordinates :math:`A = \{i : |g_i| > \tau\}` of a gradient.

    Exact zeros are rare on explicit iterates in floating point (the sliding-track rule,
    built to land a partial on 0, does reach them), so the active face of seed paper 2
    (Sec. 5.3, App. A.2) needs a tolerance: absolute, :math:`|g_i| > \tau`,
    or relative to the largest component, :math:`|g_i| > \tau\|g\|_\infty`. With
    :math:`\tau = 0` it is :math:`\{i : g_i \ne 0\}`.

    Parameters
    ----------
    g : array_like, shape (n,) or (m, n)
        Gradient(s), one per row.
    tau : float >= 0, default 0.0
        Threshold (``relative=True``: a fraction in [0, 1)).
    relative : bool, default False
        Measure ``tau`` relative to :math:`\|g\|_\infty` (per row).

    Returns
    -------
    ndarray of bool, the shape of ``g``

    Examples
    --------
    >>> active_face([1.0, -1e-9, 0.0, 0.3], 1e-6)
    array([ True, False, False,  True])
    >>> active_face([[2.0, 0.5], [1.0, 0.5]], 0.3, relative=True)
    array([[ True, False],
           [ True,  True]])
    """
    mag = np.abs(np.asarray(g, dtype=np.float64))
    t = _check_tau(tau, relative)
    if relative and t > 0 and mag.shape[-1]:
        return mag > t * np.max(mag, axis=-1, keepdims=True)
    return mag > t


def _check_tau(tau: Any, relative: Any) -> float:
    if not isinstance(relative, (bool, np.bool_)):
        raise TypeError(f"`relative` must be True or False. Got {relative!r} instead.")
    if isinstance(tau, bool) or not isinstance(tau, (int, float, np.integer, np.floating)):
        raise TypeError(f"`tau` must be a non-negative number. Got {tau!r} instead.")
    t = float(tau)
    if not (np.isfinite(t) and t >= 0.0):
        raise ValueError(f"`tau` must be a finite number >= 0. Got {tau!r} instead.")
    if relative and t >= 1.0:
        raise ValueError(f"`tau` must lie in [0, 1) when `relative=True`. Got {tau!r} instead.")
    return t


class FaceAware(StepPolicy):
    r"""Face-aware adaptive step on a numerical active face (seed paper 2, Sec. 5.3).

    Only the numerically active coordinates :math:`A_k = \{i : |g_{k,i}| > \tau\}`
    (or :math:`|g_{k,i}| > \tau\|g_k\|_\infty` with ``relative=True``; see
    :func:`active_face`) move: the driver zeroes the direction outside :math:`A_k`, and
    the step is the exact minimizer of the separable bound along what is left,

    .. math::

        \eta_k = \frac{\langle g_k, -v_k\rangle}{\sum_i L_i v_{k,i}^2},

    which for SignGD is :math:`\eta_k = \|g_{A_k}\|_1 / \sum_{i \in A_k} L_i` with the
    decrease :math:`f(x_{k+1}) \le f(x_k) - \|g_{A_k}\|_1^2/(2\sum_{i\in A_k} L_i)`.
    With :math:`\tau = 0` (the default) :math:`A_k = \{i : g_{k,i} \ne 0\}` and the step
    is :class:`Adaptive` whenever no gradient component is exactly zero. The trajectory's
    ``face_size`` and ``face_curvature`` diagnostics record :math:`|A_k|` and
    :math:`\sum_{i\in A_k} L_i`. An empty face (every :math:`|g_{k,i}| \le \tau`) is
    stationarity by this test: the run stops there with status 1 (``STATIONARY``; a
    batch some of whose points reach ``t_final`` first ends with status 0).

    Parameters
    ----------
    L : array_like, shape (n,), optional
        Separable smoothness constants (default: from the objective).
    tau : float >= 0, default 0.0
        Activity threshold.
    relative : bool, default False
        Threshold relative to :math:`\|g_k\|_\infty` (``tau`` in [0, 1)).

    Examples
    --------
    >>> import filippov as fp
    >>> from filippov.objectives import separable_quadratic
    >>> obj = separable_quadratic([1.0, 3.0], [0.0, 0.0])
    >>> traj = fp.schemes.SignGD(step=FaceAware()).run(obj, [1.0, 0.0], n_steps=1)
    >>> float(traj.step[0])  # ||g||_1 / L_1: the second coordinate is not active
    1.0
    >>> traj = fp.schemes.SignGD(step=FaceAware(tau=0.01)).run(obj, [1.0, 1e-3], n_steps=1)
    >>> traj.x[1], int(traj.diagnostics["face_size"][0])  # |g_2| = 3e-3 <= tau: it stays
    (array([0.   , 0.001]), 1)
    """

    def __init__(
        self, L: ArrayLike | None = None, *, tau: float = 0.0, relative: bool = False
    ) -> None:
        self.L = None if L is None else _validate_L(L)
        self.tau = _check_tau(tau, relative)
        self.relative = bool(relative)

    def face(self, g: FloatArray) -> NDArray[np.bool_] | None:
        return active_face(g, self.tau, relative=self.relative)

    def size(self, ctx: StepContext, state: Any) -> tuple[FloatArray, Any]:
        L = _smoothness(self.L, ctx.problem)
        return _safe_ratio(_inner_descent(ctx), (ctx.v**2) @ L), state

    def describe(self, state: Any = None) -> dict[str, Any]:
        return {
            "policy": "FaceAware",
            "repr": repr(self),
            "tau": self.tau,
            "relative": self.relative,
        }

    def __repr__(self) -> str:
        opts = [] if self.L is None else [f"L={self.L.tolist()!r}"]
        if self.tau or self.relative:
            opts += [f"tau={self.tau!r}", f"relative={self.relative!r}"]
        return f"FaceAware({', '.join(opts)})"


class Armijo(StepPolicy):
    r"""Backtracking line search with the Armijo condition along the step direction.

    Starting from :math:`\eta = \min(\gamma\,\eta_{k-1}, \eta_{\max})` (:math:`\eta_0 =`
    ``initial``), shrink :math:`\eta \leftarrow \beta\eta` until

    .. math::

        f(x_k + \eta v_k) \le f(x_k) + c\,\eta\,\langle g_k, v_k\rangle .

    For SignGD the direction is :math:`-\operatorname{sign} g_k` and the accepted step
    settles near :math:`\|g\|_1/\sum_i L_i` without knowing :math:`L` (seed paper 2,
    Sec. 5.3, implementation notes). Each trial costs one function evaluation (counted
    in the trajectory's ``nfev``).

    Parameters
    ----------
    initial : float, default 1.0
        First trial step.
    shrink : float in (0, 1), default 0.5
        Backtracking factor :math:`\beta`.
    c : float in (0, 1), default 1e-4
        Sufficient-decrease constant.
    grow : float >= 1, default 2.0
        Factor :math:`\gamma` applied to the previous accepted step to start the search.
    max_step : float, optional
        Cap :math:`\eta_{\max}` (default: no cap).
    max_backtracks : int, default 60
        After this many halvings the step is taken as 0 (no acceptable step found).

    Examples
    --------
    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov.objectives import separable_quadratic
    >>> obj = separable_quadratic([1.0, 3.0], [0.0, 0.0])
    >>> traj = fp.schemes.SignGD(step=Armijo()).run(obj, [1.0, 1.0], n_steps=30)
    >>> bool(np.all(np.diff(traj.f) <= 0))
    True
    """

    def __init__(
        self,
        initial: float = 1.0,
        *,
        shrink: float = 0.5,
        c: float = 1e-4,
        grow: float = 2.0,
        max_step: float | None = None,
        max_backtracks: int = 60,
    ) -> None:
        self.initial = require_positive(initial, "initial")
        self.shrink = _in_open_unit(shrink, "shrink")
        self.c = _in_open_unit(c, "c")
        self.grow = require_positive(grow, "grow")
        if self.grow < 1.0:
            raise ValueError(f"`grow` must be >= 1. Got {grow!r} instead.")
        self.max_step = None if max_step is None else require_positive(max_step, "max_step")
        if isinstance(max_backtracks, bool) or not isinstance(max_backtracks, (int, np.integer)):
            raise TypeError(f"`max_backtracks` must be an integer. Got {max_backtracks!r} instead.")
        if max_backtracks < 1:
            raise ValueError(f"`max_backtracks` must be >= 1. Got {max_backtracks!r} instead.")
        self.max_backtracks = int(max_backtracks)

    def init(self, problem: Problem) -> Any:
        return None

    def size(self, ctx: StepContext, state: Any) -> tuple[FloatArray, Any]:
        m = ctx.x.shape[0]
        start = np.full(m, self.initial) if state is None else state * self.grow
        if self.max_step is not None:
            start = np.minimum(start, self.max_step)
        slope = np.einsum("ij,ij->i", ctx.g, ctx.v)
        eta = np.where(slope < 0, start, 0.0)
        f0 = ctx.f_values()
        pending = np.flatnonzero(slope < 0)
        for _ in range(self.max_backtracks):
            if pending.size == 0:
                break
            trial = ctx.x[pending] + eta[pending, None] * ctx.v[pending]
            ft = _trial_values(ctx, trial)
            # (a non-finite trial value is no sufficient decrease: NaN fails the test)
            ok = ft <= f0[pending] + self.c * eta[pending] * slope[pending]
            pending = pending[~ok]
            eta[pending] *= self.shrink
        eta[pending] = 0.0
        # next search starts from the accepted step (or the start value if none was needed)
        new_state = np.where(eta > 0, eta, start)
        return eta, new_state

    def __repr__(self) -> str:
        return f"Armijo(initial={self.initial!r}, shrink={self.shrink!r}, c={self.c!r})"


class Tuned(StepPolicy):
    r"""Constant step chosen on a log grid under a fixed budget (seed paper 2, Sec. 7.1).

    Before the run, the scheme is run with :class:`Constant` ``(eta)`` for each ``eta`` of
    ``grid`` for ``budget`` steps from the same initial point(s); the step with the
    smallest final objective value (evaluated on ``validation`` when given, the mean over
    the batch for batched runs) is then used as a constant for the actual run. Candidate
    runs that fail or produce non-finite values are discarded.

    Parameters
    ----------
    grid : array_like, optional
        Candidate steps (positive). Default ``numpy.logspace(-5, 0, 11)``.
    budget : int, default 100
        Steps per candidate run.
    validation : Objective, optional
        Objective on which candidates are scored (a validation split); default: the
        training objective.

    Examples
    --------
    >>> import filippov as fp
    >>> from filippov.objectives import separable_quadratic
    >>> obj = separable_quadratic([1.0, 2.0], [0.0, 0.0])
    >>> traj = fp.schemes.SignGD(step=Tuned(grid=[1.0, 0.1, 0.01], budget=20)).run(
    ...     obj, [1.3, 0.7], n_steps=20)
    >>> traj.metadata["step"]["selected"]
    0.1
    """

    def __init__(
        self,
        grid: ArrayLike | None = None,
        *,
        budget: int = 100,
        validation: Objective | None = None,
    ) -> None:
        values = np.logspace(-5.0, 0.0, 11) if grid is None else as_vector(grid, "grid")
        if values.size == 0 or np.any(values <= 0):
            raise ValueError(
                f"`grid` must be a non-empty set of positive steps. Got {values.tolist()} instead."
            )
        self.grid = np.sort(values)
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
            raise ValueError(f"`budget` must be a positive integer. Got {budget!r} instead.")
        self.budget = int(budget)
        if validation is not None and not (
            callable(getattr(validation, "f", None)) and callable(getattr(validation, "grad", None))
        ):
            raise TypeError(
                f"`validation` must be an Objective (with .f and .grad) or None. "
                f"Got {validation!r} instead."
            )
        self.validation = validation

    def init(self, problem: Problem) -> Any:
        scorer = self.validation if self.validation is not None else problem.objective
        scores: list[float] = []
        # candidates with too long a step may overflow: they are discarded, not warned about
        with np.errstate(over="ignore", invalid="ignore"):
            self._score_candidates(problem, scorer, scores)
        scores_arr = np.asarray(scores)
        if not np.any(np.isfinite(scores_arr)):
            raise ValueError(
                "`grid` must contain at least one step whose candidate run stays finite. "
                f"Got {self.grid.tolist()} (all diverged) instead."
            )
        best = int(np.argmin(scores_arr))
        return {"eta": float(self.grid[best]), "scores": scores_arr.tolist()}

    def _score_candidates(self, problem: Problem, scorer: Any, scores: list[float]) -> None:
        for eta in self.grid:
            trial = problem.scheme.with_step(Constant(float(eta))).run(
                problem.objective, problem.x0, n_steps=self.budget, diagnostics=False
            )
            x_end = np.atleast_2d(trial.x_final)
            if trial.status < 0 or not np.all(np.isfinite(x_end)):
                scores.append(np.inf)
                continue
            try:
                values = [float(scorer.f(row)) for row in x_end]
            except (ValueError, FloatingPointError, OverflowError):
                # a finite end point may still overflow the (validation) objective
                scores.append(np.inf)
                continue
            score = float(np.mean(values))
            scores.append(score if np.isfinite(score) else np.inf)

    def size(self, ctx: StepContext, state: Any) -> tuple[FloatArray, Any]:
        return np.full(ctx.x.shape[0], state["eta"]), state

    def describe(self, state: Any = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "policy": "Tuned",
            "repr": repr(self),
            "grid": self.grid.tolist(),
            "budget": self.budget,
        }
        if state is not None:
            out["selected"] = state["eta"]
            out["scores"] = [s if np.isfinite(s) else None for s in state["scores"]]
        return out

    def __repr__(self) -> str:
        return f"Tuned(grid=[{self.grid[0]:.3g} .. {self.grid[-1]:.3g}], budget={self.budget})"


_NAMED: dict[str, type[StepPolicy]] = {
    "adaptive": Adaptive,
    "face-aware": FaceAware,
    "armijo": Armijo,
    "tuned": Tuned,
}


def as_policy(step: StepPolicy | float | str) -> StepPolicy:
    """Convert a ``step=`` argument to a :class:`StepPolicy`.

    A number means :class:`Constant`; the strings ``"adaptive"``, ``"face-aware"``,
    ``"armijo"``, ``"tuned"`` mean the policy with default options.

    Examples
    --------
    >>> as_policy(0.1), as_policy("adaptive")
    (Constant(0.1), Adaptive())
    """
    if isinstance(step, StepPolicy):
        return step
    if isinstance(step, str):
        try:
            return _NAMED[step]()
        except KeyError:
            raise ValueError(
                f"`step` must be a number, a StepPolicy or one of {sorted(_NAMED)}. "
                f"Got {step!r} instead."
            ) from None
    if isinstance(step, bool) or not isinstance(step, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"`step` must be a positive number, a StepPolicy or a policy name. "
            f"Got {step!r} instead."
        )
    return Constant(require_positive(step, "step"))


def _validate_L(L: ArrayLike) -> FloatArray:
    arr = as_vector(L, "L")
    if np.any(arr < 0):
        raise ValueError(f"`L` must be non-negative. Got {arr.tolist()} instead.")
    if not float(arr.sum()) > 0.0:
        # (every step would be 0: a run to t_final spun to its step cap at t = 0)
        raise ValueError(f"`L` must have a positive sum. Got {arr.tolist()} instead.")
    return arr


def _trial_values(ctx: StepContext, trial: FloatArray) -> FloatArray:
    """``f`` at a line search's trial points, NaN where it is not finite there (an
    overflow past the region where ``f`` is finite is a failed trial, backtracked from,
    not the end of the run: ``exp(50x)`` from an initial step of 100 raised)."""
    with np.errstate(all="ignore"):
        finite = np.all(np.isfinite(trial), axis=1)
        values = np.full(trial.shape[0], np.nan)
        if finite.any():
            try:
                values[finite] = ctx.problem.f_rows(trial[finite])
            except (FloatingPointError, ValueError, OverflowError):
                # (one row's non-finite value raises for all: each on its own)
                for i in np.flatnonzero(finite).tolist():
                    try:
                        values[i] = ctx.problem.f_rows(trial[i : i + 1])[0]
                    except (FloatingPointError, ValueError, OverflowError):
                        values[i] = np.nan
    return values


def _in_open_unit(value: float, name: str) -> float:
    v = require_positive(value, name)
    if v >= 1.0:
        raise ValueError(f"`{name}` must lie in (0, 1). Got {value!r} instead.")
    return v
