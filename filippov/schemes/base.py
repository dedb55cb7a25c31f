r"""The scheme protocol and the single driver that runs every scheme.

A *scheme* is the explicit (or implicit) Euler discretization of a steepest-descent flow
:math:`x' \in -\partial\|\nabla f(x)\|_*`; it is built from the flow's norm geometry
(a :class:`filippov.norms.Norm`) and a step policy
(:class:`filippov.schemes.StepPolicy`). Following torchdiffeq's fixed-grid solvers and
optax's gradient transformations, a scheme only states its update rule; the driver
:func:`run` owns the loop, the flow time :math:`t_k = \sum_{j<k}\eta_j`, stopping at
``t_final`` and every diagnostic.

Internally every array carries a leading batch axis: a single run (``x0`` of shape
``(n,)``) is a batch of one point, so schemes are written once, vectorized over points.
"""

from __future__ import annotations

import copy
import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._status import Status
from .._validation import (
    UserFunctionError,
    as_float_array,
    require_finite,
    require_flag,
    require_positive,
)
from ..geometry import separable_smoothness
from ..norms import Norm, get_norm
from ..objectives import Objective
from .steps import Constant, StepContext, StepPolicy, as_policy
from .trajectory import ITERATE_DIAGNOSTICS, STEP_DIAGNOSTICS, DiscreteTrajectory

__all__ = [
    "Direction",
    "Problem",
    "Scheme",
    "StepFailure",
    "StepInfo",
    "Update",
    "run",
]

FloatArray = NDArray[np.float64]


class StepFailure(RuntimeError):
    """Raised by a scheme's update when a step cannot be computed.

    The driver turns it into ``status = -1`` (:attr:`Status.INTEGRATION_FAILED
    <filippov.Status.INTEGRATION_FAILED>`) and keeps the partial trajectory.
    """


class Direction(NamedTuple):
    """What :meth:`Scheme.direction` returns.

    Attributes
    ----------
    v : ndarray, shape (m, n)
        Step direction (the explicit update is ``x + eta * v``).
    state : object
        The scheme's updated run state.
    counts : mapping of str to ndarray of shape (m,), optional
        Per-point counters for this step (e.g. ``"restarts"``).
    at : tuple (x, g, f) of arrays, optional
        The point the step is taken from, when it is not the current iterate (the
        extrapolated point :math:`y_k` of :class:`~filippov.schemes.ASGD`): its rows
        ``x`` (shape ``(m, n)``), gradients ``g`` and objective values ``f`` (shape
        ``(m,)``). The step policy sizes the step at this point and :meth:`Scheme.update`
        starts from it. ``None`` (the default): the current iterate.
    """

    v: FloatArray
    state: Any = None
    counts: Mapping[str, NDArray[Any]] | None = None
    at: tuple[FloatArray, FloatArray, FloatArray] | None = None


class Update(NamedTuple):
    """What :meth:`Scheme.update` returns.

    Attributes
    ----------
    x : ndarray, shape (m, n)
        Next iterates.
    state : object
        The scheme's updated run state.
    g : ndarray, shape (m, n), optional
        Gradients at ``x`` if the scheme already computed them (saves an evaluation).
    counts : mapping of str to ndarray of shape (m,), optional
        Per-point counters for this step (e.g. ``"freezes"``).
    """

    x: FloatArray
    state: Any = None
    g: FloatArray | None = None
    counts: Mapping[str, NDArray[Any]] | None = None


@dataclass(frozen=True)
class StepInfo:
    """Argument of the ``callback`` of :func:`run`, after step ``k - 1 -> k``.

    Shapes are those of the run: ``x``, ``g`` are ``(n,)`` for a single run and
    ``(m, n)`` for a batched one; ``t``, ``f``, ``step`` are scalars or ``(m,)``.
    ``f`` is ``None`` when the run records no diagnostics.
    """

    k: int
    t: Any
    x: FloatArray
    g: FloatArray
    f: Any
    step: Any


class Problem:
    """One run's objective, initial point(s) and derived data, shared by scheme and policy.

    Schemes and policies receive it; users normally never build one.

    Attributes
    ----------
    objective : Objective
    scheme : Scheme
        The scheme being run (used by :class:`~filippov.schemes.Tuned`).
    x0 : ndarray, shape (n,) or (m, n)
        Validated initial point(s), as given.
    n, m : int
        Dimension and number of points (``m = 1`` for a single run).
    batched : bool
    nfev, njev, nhev : int
        Number of point evaluations of f, its gradient and its Hessian.
    separable : tuple (l, b, c) or None
        ``f = ½ Σ l_i x_i² + bᵀx + c`` exactly (``Objective.separable_quadratic_data``): a
        quadratic whose dense Hessian :attr:`quadratic` is only formed if asked for.
    """

    def __init__(
        self, objective: Objective, x0: FloatArray, scheme: Scheme, *, batched: bool
    ) -> None:
        self.objective = objective
        self.scheme = scheme
        self.x0 = x0
        self.batched = batched
        self.n = int(x0.shape[-1])
        self.m = int(x0.shape[0]) if batched else 1
        self.nfev = 0
        self.njev = 0
        self.nhev = 0
        self._quadratic: tuple[FloatArray, FloatArray, float] | bool | None = False
        self.separable: tuple[FloatArray, FloatArray, float] | None = None
        data = getattr(objective, "separable_quadratic_data", None)
        if data is not None:
            lv, b, c = data
            self.separable = (
                np.asarray(lv, dtype=np.float64),
                np.asarray(b, dtype=np.float64),
                float(c),
            )
        self._L: FloatArray | None = None
        self._L_kind: str | None = None
        self._L_error: str | None = None
        #: The step policy's active face at the step being taken (``(m, n)`` bool), or
        #: ``None`` for a policy without one: the driver holds the coordinates outside it
        #: whatever a scheme's update computes, and a scheme that keeps state per
        #: coordinate reads here which ones did not move.
        self.face: np.ndarray | None = None

    # -- objective access, vectorized over rows -------------------------------------------
    @property
    def quadratic(self) -> tuple[FloatArray, FloatArray, float] | None:
        """``(H, b, c)`` when ``f = ½xᵀHx + bᵀx + c`` exactly, else ``None``."""
        if self._quadratic is False:
            data = getattr(self.objective, "quadratic_data", None)
            if data is None:
                self._quadratic = None
            else:
                H, b, c = data
                self._quadratic = (
                    np.asarray(H, dtype=np.float64),
                    np.asarray(b, dtype=np.float64),
                    float(c),
                )
        return self._quadratic  # type: ignore[return-value]

    @property
    def is_quadratic(self) -> bool:
        """Whether ``f`` is exactly quadratic (without forming a dense Hessian)."""
        return self.separable is not None or self.quadratic is not None

    def f_rows(self, X: FloatArray) -> FloatArray:
        """Objective values of the rows of ``X`` (shape ``(k, n)`` -> ``(k,)``).

        ``X`` must be finite. Values from the objective's own ``f`` are checked (a
        non-finite one raises :class:`~filippov._validation.NonFiniteError`, as
        ``Objective.f`` does); closed-form quadratic values are not.
        """
        self.nfev += X.shape[0]
        objective = self.objective
        if (
            self.batched
            and X.shape[0] > 1
            and not (isinstance(objective, Objective) and objective.f_rows_vectorized)
        ):
            # (The objective's own formula at the rows where it has one for them, below:
            # a quadratic's expanded ½xᵀHx + bᵀx + c cancels where the formula is centred
            # -- a separable quadratic ½Σ l (x − c)² or an expression (x − 1e4)²/2 read
            # −3e-8 near the minimizer, and batched Armijo steps stalled 1.5e-4 from it
            # where the single run reached it; fz11, review rv9. Nor a squared-loss
            # linear model's, dense or sparse: its f is a mean of squared residuals, and
            # the expanded form cancels against c = ‖y‖²/2m near a close fit.)
            derived = getattr(self.objective, "_squared_loss", False)
            quad = None if derived or self.separable is not None else self.quadratic
            if quad is not None:
                H, b, c = quad
                return 0.5 * np.einsum("ij,ij->i", X @ H, X) + X @ b + c
            f_batch = getattr(self.objective, "f_batch", None)
            if callable(f_batch):
                return np.asarray(f_batch(X), dtype=np.float64).reshape(X.shape[0])
        if isinstance(self.objective, Objective):
            # the driver's X is already validated: skip the per-call checks of Objective.f
            F = self.objective.eval_f_rows(X)
            return F if np.isfinite(F).all() else require_finite(F, "f(x)")
        return np.array([float(self.objective.f(row)) for row in X], dtype=np.float64)

    def grad_rows(self, X: FloatArray, *, check: bool = True) -> FloatArray:
        """Gradients at the rows of ``X`` (shape ``(k, n)`` -> ``(k, n)``).

        ``X`` must be finite. For an :class:`~filippov.objectives.Objective` the gradients
        are evaluated without its per-call validation, and with ``check`` (the default) a
        non-finite one raises :class:`~filippov._validation.NonFiniteError`, as
        ``Objective.grad`` does; the driver passes ``check=False`` and checks the gradients
        itself (see :meth:`check_grad`), fused with its stationarity test.
        """
        self.njev += X.shape[0]
        if isinstance(self.objective, Objective):
            G = self.objective.eval_grad_rows(X)
            if G.shape == X.shape:
                return self.check_grad(G) if check else G
        elif (
            self.batched
            and X.shape[0] > 1
            and callable(getattr(self.objective, "grad_batch", None))
        ):
            G = np.asarray(self.objective.grad_batch(X), dtype=np.float64)
        elif X.shape[0] == 1:
            G = np.asarray(self.objective.grad(X[0]), dtype=np.float64).reshape(1, -1)
        else:
            G = np.stack([np.asarray(self.objective.grad(row), dtype=np.float64) for row in X])
        if G.shape != X.shape:
            raise ValueError(
                f"`objective` gradients must have shape {X.shape[1:]} per point. "
                f"Got shape {G.shape[1:]} instead."
            )
        return G

    def check_grad(self, G: FloatArray) -> FloatArray:
        """Return ``G`` if finite, else raise :class:`~filippov._validation.NonFiniteError`."""
        return require_finite(G, "grad(x)" if G.shape[0] == 1 else "grad_batch(X)")

    def hess(self, x: FloatArray) -> FloatArray:
        """Hessian at one point ``x`` (shape ``(n,)`` -> ``(n, n)``)."""
        quad = self.quadratic
        if quad is not None:
            return quad[0]
        self.nhev += 1
        hess = getattr(self.objective, "hess", None)
        if not callable(hess):
            raise TypeError(
                f"this scheme needs the objective's Hessian, and {type(self.objective).__name__} "
                "has no `hess` method: pass a filippov Objective (fp.Objective(f, grad), whose "
                "Hessian is taken by finite differences of grad, or with hess= / hvp=)"
            )
        H = np.asarray(hess(x), dtype=np.float64)
        if H.shape != (self.n, self.n):
            raise ValueError(
                f"`objective.hess` must return shape ({self.n}, {self.n}). "
                f"Got shape {H.shape} instead."
            )
        return H

    # -- separable smoothness ------------------------------------------------------------
    def _compute_smoothness(self) -> None:
        if self._L is not None or self._L_error is not None:
            return
        try:
            if self.separable is not None:
                # the row sums of |diag(l)|, as separable_smoothness computes them from the
                # dense Hessian, without forming it
                self._L = np.abs(self.separable[0])
                self._L_kind = "bound"
                return
            if self.quadratic is not None:
                bound = separable_smoothness(self.objective)
            else:
                center = self.x0.reshape(-1, self.n).mean(axis=0)
                bound = separable_smoothness(self.objective, center=center, seed=0)
        except (TypeError, ValueError, NotImplementedError, UserFunctionError) as exc:
            # (a user's Hessian raising: its TypeError comes as a UserFunctionError, and
            # the policy's ValueError below says what the step needed and why it failed)
            self._L_error = str(exc)
            return
        L = np.asarray(bound.L, dtype=np.float64)
        if L.shape != (self.n,) or not np.all(np.isfinite(L)):
            self._L_error = f"separable_smoothness returned L of shape {L.shape}"
            return
        self._L = L
        self._L_kind = str(getattr(bound, "kind", "bound"))

    def smoothness(self) -> FloatArray:
        """Separable smoothness constants ``L`` (shape ``(n,)``); raises if unavailable."""
        self._compute_smoothness()
        if self._L is None:
            raise ValueError(
                "`objective` must admit separable smoothness constants for this step "
                "policy (pass L=... to the policy); for "
                f"{getattr(self.objective, 'name', type(self.objective).__name__)!r} they "
                f"could not be computed ({str(self._L_error).rstrip('.')})."
            )
        return self._L

    def smoothness_or_none(self) -> FloatArray | None:
        """Like :meth:`smoothness` but ``None`` when no bound is available."""
        self._compute_smoothness()
        return self._L


def lmo_rows(norm: Norm, G: FloatArray) -> FloatArray:
    """Row-wise linear minimization oracle :math:`\\arg\\min_{\\|v\\|\\le 1}\\langle g, v\\rangle`.

    The norm's own batched :meth:`~filippov.norms.Norm.lmo` (coordinates with
    :math:`g_i = 0` get 0, the minimal-norm choice; ties go to the lowest index). ``G``
    must be a finite float array of shape ``(m, n)``, as the driver's gradients are: the
    input checks of the public method are skipped (they cost as much as the oracle).
    """
    v = np.asarray(norm._lmo(G), dtype=np.float64).reshape(G.shape)
    # the public method hands `_lmo` a copy; keep schemes that edit `v` off the gradient
    return v.copy() if np.may_share_memory(v, G) else v


def _sq_rows(G: FloatArray, ones: FloatArray) -> FloatArray:
    """Row-wise ``g·g`` in one pass over ``G`` (call under ``np.errstate(over="ignore")``).

    Finite exactly when the row is (barring overflow of huge entries) and zero exactly
    when the row is (barring underflow of tiny ones), so the driver uses it as a cheap
    finiteness and stationarity test and confirms either outcome exactly when it fails.
    """
    return np.array([G[0] @ G[0]]) if G.shape[0] == 1 else (G * G) @ ones


def _all_finite(X: FloatArray, ones: FloatArray) -> bool:
    """Whether every entry of ``X`` (shape ``(m, n)``) is finite, by a single reduction.

    A sum is finite when every entry is; if it is not (a NaN or inf, or an overflow of
    huge finite entries) the exact elementwise test decides. ``ones`` has shape ``(n,)``.
    """
    total = X[0] @ ones if X.shape[0] == 1 else np.add.reduce(X, axis=None)
    return math.isfinite(total) or bool(np.isfinite(X).all())


def _norm2_rows(G: FloatArray, ones: FloatArray, sq: FloatArray | None = None) -> FloatArray:
    """Row 2-norms without spurious overflow (rescaled only when the fast path overflows).

    ``sq`` is ``_sq_rows(G, ones)`` when the caller already has it.
    """
    out = np.sqrt(_sq_rows(G, ones) if sq is None else sq)
    if math.isfinite(np.add.reduce(out)):
        return out
    bad = ~np.isfinite(out)
    if np.any(bad):
        scale = np.max(np.abs(G[bad]), axis=1, keepdims=True)
        out[bad] = scale[:, 0] * np.sqrt(((G[bad] / scale) ** 2) @ ones)
    return out


def dual_norm_rows(norm: Norm, G: FloatArray) -> FloatArray:
    """Row-wise dual norm :math:`\\|g\\|_*` (``linf`` -> 1-norm, ``l1`` -> max-norm)."""
    if norm.name == "linf":
        return np.sum(np.abs(G), axis=1)
    if norm.name == "l1":
        return np.max(np.abs(G), axis=1) if G.shape[1] else np.zeros(G.shape[0])
    if norm.name == "l2":
        return _norm2_rows(G, np.ones(G.shape[1]))
    return np.array([float(norm.dual(row)) for row in G])


class Scheme(ABC):
    r"""Base class of discretizations of steepest-descent flows.

    A scheme holds its norm geometry ``norm`` (the flow :math:`x' \in
    -\partial\|\nabla f\|_*` it discretizes) and a step policy ``step``, and states one
    update rule; :meth:`run` hands it to the driver :func:`run`, which owns the loop.

    To write a new scheme, subclass, set the class attribute ``norm_name`` and implement

    * :meth:`direction` ``(problem, x, g, state) -> Direction(v, state, counts)``: the
      step direction ``v`` the step policy sees (e.g. ``norm.lmo(g)``); a scheme that
      steps from another point than the iterate (:class:`~filippov.schemes.ASGD`'s
      extrapolation) returns it as ``Direction(..., at=(y, g_y, f_y))``;
    * optionally :meth:`update` ``(problem, x, g, v, eta, state) -> Update(x_next, state,
      g_next, counts)`` (default: ``x + eta * v``), for schemes that correct the plain
      step (projection, implicit solve);
    * optionally :meth:`init` ``(problem, x, g) -> state`` for per-run state (momentum,
      history) and ``extra_diagnostics``, names of per-step counters the scheme reports.

    All arrays have a leading batch axis ``m`` (``m = 1`` for a single run) and ``eta``
    has shape ``(m,)``. Schemes never loop over steps and never touch the flow time.

    Parameters
    ----------
    step : StepPolicy, float or str
        Step policy; a number means :class:`~filippov.schemes.Constant`.

    Examples
    --------
    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov.objectives import separable_quadratic
    >>> class HalfSign(Scheme):
    ...     '''Half-length sign steps.'''
    ...     norm_name = "linf"
    ...     def direction(self, problem, x, g, state):
    ...         return Direction(-0.5 * np.sign(g), state)
    >>> traj = HalfSign(step=0.2).run(separable_quadratic([1.0], [0.0]), [1.0], n_steps=2)
    >>> traj.x[:, 0]
    array([1. , 0.9, 0.8])
    """

    norm_name: ClassVar[str] = "linf"
    #: The flow the scheme discretizes at the flow times ``t_k = Σ_{j<k} η_j``:
    #: ``"steepest-descent"``, the steepest-descent flow of ``norm_name``
    #: (:func:`filippov.steepest_descent_flow`), or ``"gradient"``, the smooth gradient
    #: flow ``x' = −∇f`` (:class:`~filippov.schemes.GD`, whose ``norm_name`` "l2" only
    #: sets its diagnostics). :func:`filippov.compare` refuses a flow it does not
    #: discretize.
    flow: ClassVar[str] = "steepest-descent"
    #: Why the scheme's iterates do not converge to ``x(t_k)`` as the step shrinks, when
    #: they do not (``None``: they do): :func:`filippov.compare` and
    #: :func:`filippov.convergence_study` warn with it, since their "errors" then measure
    #: another clock or another flow, not a discretization's tracking error.
    not_tracking: ClassVar[str | None] = None
    extra_diagnostics: ClassVar[tuple[str, ...]] = ()
    #: What a step counted in the ``nonunique`` diagnostic (if the scheme reports one)
    #: met, for the run's message.
    nonunique_note: ClassVar[str] = (
        "had no unique implicit step (the variational inequality's least-norm solution was taken"
    )

    def __init__(self, step: StepPolicy | float | str) -> None:
        self.step: StepPolicy = as_policy(step)
        self.norm: Norm = get_norm(self.norm_name)

    def init(self, problem: Problem, x: FloatArray, g: FloatArray) -> Any:
        """Per-run state created before the first step (default: ``None``)."""
        return None

    @abstractmethod
    def direction(self, problem: Problem, x: FloatArray, g: FloatArray, state: Any) -> Direction:
        """Step direction ``v`` at ``x`` (shape ``(m, n)``) and the new state."""

    def update(
        self,
        problem: Problem,
        x: FloatArray,
        g: FloatArray,
        v: FloatArray,
        eta: FloatArray,
        state: Any,
    ) -> Update:
        """Next iterates for step sizes ``eta`` (default: the explicit step ``x + eta v``)."""
        return Update(x + eta[:, None] * v, state)

    def run(
        self,
        objective: Objective,
        x0: ArrayLike,
        n_steps: int | None = None,
        t_final: float | None = None,
        callback: Callable[[StepInfo], Any] | None = None,
        *,
        max_steps: int = 100_000,
        save_every: int = 1,
        diagnostics: bool = True,
        check_derivatives: bool = True,
    ) -> DiscreteTrajectory:
        """Run the scheme; see :func:`filippov.schemes.run` for the parameters.

        Examples
        --------
        >>> import filippov as fp
        >>> from filippov.objectives import separable_quadratic
        >>> obj = separable_quadratic([1.0, 4.0], [0.0, 0.0])
        >>> traj = fp.schemes.SignGD(step=0.01).run(obj, [1.0, -1.0], n_steps=400)
        >>> traj.x.shape, float(traj.t[-1])
        ((401, 2), 4.0)
        """
        return run(
            self,
            objective,
            x0,
            n_steps=n_steps,
            t_final=t_final,
            callback=callback,
            max_steps=max_steps,
            save_every=save_every,
            diagnostics=diagnostics,
            check_derivatives=check_derivatives,
        )

    def with_step(self, step: StepPolicy | float | str) -> Scheme:
        """A copy of this scheme with another step policy.

        Examples
        --------
        >>> import filippov as fp
        >>> fp.schemes.SignGD(step=0.1).with_step("adaptive")
        SignGD(step=Adaptive())
        """
        new = copy.copy(self)
        new.step = as_policy(step)
        return new

    def _options(self) -> dict[str, Any]:
        """Scheme options shown in ``repr`` (besides the step)."""
        return {}

    def __repr__(self) -> str:
        opts = "".join(f", {key}={value!r}" for key, value in self._options().items())
        return f"{type(self).__name__}(step={self.step!r}{opts})"


# ---------------------------------------------------------------------------- the driver
class _Rows:
    """Growable time-major buffer of rows of a fixed shape."""

    def __init__(self, tail: tuple[int, ...], dtype: Any, capacity: int) -> None:
        self.data = np.zeros((max(capacity, 1), *tail), dtype=dtype)
        self.size = 0

    def append(self, value: Any) -> None:
        if self.size == self.data.shape[0]:
            grown = np.zeros((2 * self.data.shape[0], *self.data.shape[1:]), self.data.dtype)
            grown[: self.size] = self.data
            self.data = grown
        self.data[self.size] = value
        self.size += 1

    def array(self) -> NDArray[Any]:
        return self.data[: self.size]


def _check_count(value: Any, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an integer. Got {value!r} instead.")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}. Got {value!r} instead.")
    return int(value)


def _validate_x0(x0: ArrayLike, n: int | None) -> tuple[FloatArray, bool]:
    arr = as_float_array(x0, "x0")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim not in (1, 2):
        raise ValueError(
            "`x0` must be a point of shape (n,) or a batch of shape (m, n). "
            f"Got an array of shape {arr.shape} instead."
        )
    if n is not None and arr.shape[-1] != n:
        raise ValueError(
            f"`x0` must have {n} coordinates (the objective's dimension). "
            f"Got shape {arr.shape} instead."
        )
    if arr.shape[-1] == 0 or (arr.ndim == 2 and arr.shape[0] == 0):
        raise ValueError(f"`x0` must not be empty. Got shape {arr.shape} instead.")
    require_finite(arr, "x0")
    return arr, arr.ndim == 2


def _fmt_state(x: FloatArray) -> str:
    arr = np.asarray(x)
    if arr.ndim == 0:
        # array2string writes a whole float as "0." (so "t=0.." ending a sentence)
        return f"{float(arr):.6g}"
    return np.array2string(arr, threshold=6, edgeitems=2, precision=6)


def run(
    scheme: Scheme,
    objective: Objective,
    x0: ArrayLike,
    n_steps: int | None = None,
    t_final: float | None = None,
    callback: Callable[[StepInfo], Any] | None = None,
    *,
    max_steps: int = 100_000,
    save_every: int = 1,
    diagnostics: bool = True,
    check_derivatives: bool = True,
) -> DiscreteTrajectory:
    r"""Run a scheme: the one loop shared by every discretization.

    Each step computes the scheme's direction :math:`v_k`, asks the step policy for
    :math:`\eta_k` (shortening the last step so that the flow time lands exactly on
    ``t_final``), applies the scheme's update and records the flow time
    :math:`t_{k+1} = t_k + \eta_k` and the diagnostics listed in
    :class:`~filippov.schemes.DiscreteTrajectory`.

    The run stops after ``n_steps`` steps, when the flow time reaches ``t_final``
    (whichever comes first), when the gradient is exactly zero at every point
    (``status = 1``), when ``callback`` returns a true value (``status = 2``), after
    ``max_steps`` steps without reaching ``t_final`` (``status = -6``; adaptive steps of
    a linearly convergent scheme have a finite sum, so ``t_final`` may be unreachable),
    on a non-finite value (``status = -3``) or a failed step (``status = -1``): the codes
    of :class:`~filippov.Status`, shared with :func:`filippov.solve`. Failures return the
    partial trajectory.

    Parameters
    ----------
    scheme : Scheme
        The discretization.
    objective : Objective
        Objective :math:`f` (batched runs use ``objective.grad_batch``).
    x0 : array_like, shape (n,) or (m, n)
        Initial point, or ``m`` initial points advanced together (vectorized).
    n_steps : int, optional
        Number of steps.
    t_final : float, optional
        Final flow time. At least one of ``n_steps`` and ``t_final`` is required.
    callback : callable, optional
        ``callback(info: StepInfo)`` after every step; a true return value stops the run.
        Exceptions raised by the callback propagate.
    max_steps : int, default 100000
        Step cap when only ``t_final`` is given.
    save_every : int, default 1
        Keep every ``save_every``-th iterate (and the last) in ``x``; diagnostics keep all.
    diagnostics : bool, default True
        Record f, gradient norms, flips and face data (``False`` keeps only ``t`` and
        ``step``, for speed on large batches).
    check_derivatives : bool, default True
        Before the first step, compare the gradient with finite differences of ``f`` at
        the first initial point, as :func:`~filippov.engine.solve` does, and raise
        ``ValueError`` if they disagree (see
        :meth:`~filippov.objectives.Objective.check_derivatives`; the schemes use no
        second derivatives, so the Hessian is not checked); ``False`` skips it.

    Returns
    -------
    DiscreteTrajectory

    Examples
    --------
    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov.objectives import separable_quadratic
    >>> obj = separable_quadratic([1.0, 2.0], [0.0, 0.0])
    >>> traj = fp.schemes.run(fp.schemes.SignGD(step=0.3), obj, [1.0, 2.0], t_final=1.0)
    >>> traj.t
    array([0. , 0.3, 0.6, 0.9, 1. ])
    >>> batch = fp.schemes.SignGD(step=0.1).run(obj, np.ones((5, 2)), n_steps=3)
    >>> batch.x.shape, batch.t.shape
    ((4, 5, 2), (4, 5))
    """
    if not isinstance(scheme, Scheme):
        raise TypeError(f"`scheme` must be a Scheme. Got {scheme!r} instead.")
    if n_steps is None and t_final is None:
        raise ValueError("`n_steps` or `t_final` must be given. Got neither instead.")
    if n_steps is not None:
        n_steps = _check_count(n_steps, "n_steps", minimum=0)
    t_end = None if t_final is None else require_positive(t_final, "t_final")
    max_steps = _check_count(max_steps, "max_steps", minimum=1)
    save_every = _check_count(save_every, "save_every", minimum=1)
    diagnostics = require_flag(diagnostics, "diagnostics")
    if callback is not None and not callable(callback):
        raise TypeError(f"`callback` must be callable. Got {callback!r} instead.")
    for attr in ("f", "grad"):
        if not callable(getattr(objective, attr, None)):
            raise TypeError(
                f"`objective` must be an Objective (with .f and .grad). Got {objective!r} instead."
            )

    x0_arr, batched = _validate_x0(x0, getattr(objective, "n", None))
    if require_flag(check_derivatives, "check_derivatives") and isinstance(objective, Objective):
        check = objective.check_derivatives(
            x0_arr.reshape(-1, x0_arr.shape[-1])[0], n_directions=2, hessian=False
        )
        if not check.ok:
            raise ValueError(
                f"{check} at x0; fix it, or pass check_derivatives=False to skip this check."
            )
    problem = Problem(objective, x0_arr, scheme, batched=batched)
    m, n = problem.m, problem.n
    X = x0_arr.reshape(m, n).copy()
    policy = scheme.step

    G = problem.grad_rows(X)
    F = problem.f_rows(X) if diagnostics else None
    # certified constants are cheap for quadratics; otherwise use them only once a policy
    # has paid for the (sampled) estimate
    L = problem.smoothness_or_none() if diagnostics and problem.is_quadratic else None
    state = scheme.init(problem, X, G)
    pstate = policy.init(problem)

    if n_steps is not None:
        capacity = n_steps + 1
    elif isinstance(policy, Constant) and t_end is not None:
        capacity = min(max_steps, math.ceil(t_end / policy.eta) + 1) + 1
    else:
        capacity = 1024
    n_saved = (capacity - 1) // save_every + 1 + int((capacity - 1) % save_every != 0)
    iter_names = ITERATE_DIAGNOSTICS if diagnostics else ("t",)
    step_names = (
        STEP_DIAGNOSTICS + tuple(d for d in scheme.extra_diagnostics if d not in STEP_DIAGNOSTICS)
        if diagnostics
        else ("step",)
    )
    int_names = {"flips", "freezes", "two_hit", "face_size", *scheme.extra_diagnostics}
    xs = _Rows((m, n), np.float64, n_saved)
    ts = _Rows((m,), np.float64, n_saved)
    ks = _Rows((), np.int64, n_saved)
    it_rec = {name: _Rows((m,), np.float64, capacity) for name in iter_names}
    st_rec = {
        name: _Rows((m,), np.int64 if name in int_names else np.float64, capacity - 1)
        for name in step_names
    }
    scheme_counters = [n_ for n_ in step_names if n_ in int_names - {"flips", "face_size"}]

    ones = np.ones(n)
    linf = scheme.norm.name == "linf"
    # Constant (exactly; a subclass may override `size`) is stateless and its step was
    # validated when it was built: skip the per-step call and checks
    constant_eta = np.full(m, policy.eta) if type(policy) is Constant else None
    # policies without a numerical active face (the default hook) cost no call per step
    face_of = None if type(policy).face is StepPolicy.face else policy.face
    policy_L = getattr(policy, "L", None)
    if diagnostics and L is None and face_of is not None and isinstance(policy_L, np.ndarray):
        L = policy_L  # a face-aware step's own constants: its face curvature is Σ_{A_k} L_i
    nan_row = np.full(m, np.nan)
    L_sum = float(np.sum(L)) if L is not None else np.nan
    t = np.zeros(m)
    done = np.zeros(m, dtype=bool)
    t_tol = 8.0 * np.finfo(np.float64).eps * (t_end or 0.0)

    def save_x(k: int) -> None:
        xs.append(X)
        ts.append(t)
        ks.append(k)

    def record_iterate(g_sq: FloatArray) -> None:
        it_rec["t"].append(t)
        if diagnostics:
            assert F is not None
            it_rec["f"].append(F)
            it_rec["grad_norm"].append(np.abs(G) @ ones if linf else dual_norm_rows(scheme.norm, G))
            it_rec["grad_norm2"].append(_norm2_rows(G, ones, g_sq))

    def stationary_rows(g_sq: FloatArray) -> NDArray[np.bool_] | None:
        """Mask of the rows with an exactly zero gradient; ``None`` when there is none."""
        if np.minimum.reduce(g_sq) > 0:  # the usual case, in one reduction
            return None
        zero = g_sq == 0
        zero[zero] = ~G[zero].any(axis=1)  # g·g underflows for tiny g: confirm exactly
        return zero if zero.any() else None

    status: Status | None = None
    message = ""
    k = 0
    if not (np.isfinite(G).all() and (F is None or np.isfinite(F).all())):
        status, message = Status.NON_FINITE, f"Non-finite f or gradient at x0={_fmt_state(X)}."
    user_errstate = np.geterr()
    # Inside the loop overflow to inf/NaN is not warned about: every iterate, gradient and
    # f value is checked and a non-finite one ends the run with status -3 (NON_FINITE).
    with np.errstate(over="ignore", invalid="ignore"):
        g_sq = _sq_rows(G, ones)
        save_x(0)
        record_iterate(g_sq)
        while status is None:
            if n_steps is not None and k >= n_steps:
                status, message = Status.FINISHED, f"Reached n_steps={n_steps}."
                break
            stationary = stationary_rows(g_sq)
            if t_end is not None and done.any():
                # points at t_final or stationary stay put: stop once they all do
                finished = done if stationary is None else done | stationary
                if finished.all():
                    status, message = Status.FINISHED, f"Reached t_final={t_end:.12g}."
                    break
            if stationary is not None and stationary.all():
                status = Status.STATIONARY
                when = _fmt_state(t if batched else t[0])
                message = f"Stationary point reached (gradient exactly zero) at k={k}, t={when}."
                break
            if n_steps is None and k >= max_steps:
                status = Status.MAX_STEPS
                when = _fmt_state(t if batched else t[0])
                message = f"max_steps={max_steps} reached before t_final={t_end:.12g} (t={when})."
                break

            try:
                direction = scheme.direction(problem, X, G, state)
            except StepFailure as exc:
                status, message = (
                    Status.INTEGRATION_FAILED,
                    f"Step {k} failed at t={_fmt_state(t)}: {exc}",
                )
                break
            v = direction.v
            # the point the step starts from: the iterate, or e.g. ASGD's extrapolation
            Xs, Gs, Fs = (X, G, F) if direction.at is None else direction.at
            face = None if face_of is None else face_of(Gs)
            # (set before the step size too: a policy reading it sees this step's face;
            # review rv11)
            problem.face = face
            if face is not None:
                v = np.where(face, v, 0.0)  # the policy's inactive coordinates stay put
                # A point whose active face is empty moves no more (the step along nothing
                # is 0, and so is the time it advances): it is stationary by the policy's
                # own test, and a run of such points stops instead of spinning to max_steps.
                idle = ~face.any(axis=1)
                if idle.any() and (idle | done).all():
                    when = _fmt_state(t if batched else t[0])
                    if done.any():  # (a batch: some points reached t_final first)
                        status = Status.FINISHED
                        message = (
                            f"Reached t_final={t_end:.12g} at the points that moved on; the "
                            f"others ({int(np.count_nonzero(idle & ~done))} of {m}) stopped "
                            f"where every gradient component is within the active-face "
                            f"threshold of {policy!r} (t={when})."
                        )
                    else:
                        status = Status.STATIONARY
                        message = (
                            f"Every gradient component is within the active-face threshold "
                            f"of {policy!r} at k={k}, t={when}: no coordinate moves."
                        )
                    break
            if constant_eta is not None:
                eta = constant_eta.copy()
            else:
                eta, pstate = policy.size(StepContext(k, Xs, Gs, v, Fs, problem), pstate)
                eta = np.array(eta, dtype=np.float64).reshape(m)
                # NaN propagates through both reductions and fails the comparisons
                if not (np.minimum.reduce(eta) >= 0 and np.maximum.reduce(eta) < np.inf):
                    raise ValueError(
                        f"`step` policy {policy!r} must return finite steps >= 0. "
                        f"Got {_fmt_state(eta)} at step {k} instead."
                    )
            if t_end is not None:
                remaining = t_end - t
                # the last step is shortened (or stretched by rounding, <= 8 ulp) onto t_final
                short = (eta >= remaining - t_tol) | done
                eta = np.where(short, np.where(done, 0.0, remaining), eta)
                if direction.at is not None and done.any():
                    # finished points stay put: not at the point the scheme stepped from
                    Xs = np.where(done[:, None], X, Xs)
                    Gs = np.where(done[:, None], G, Gs)
            try:
                upd = scheme.update(problem, Xs, Gs, v, eta, direction.state)
            except StepFailure as exc:
                status, message = (
                    Status.INTEGRATION_FAILED,
                    f"Step {k} failed at t={_fmt_state(t)}: {exc}",
                )
                break
            if face is not None and not face.all():
                # The policy's inactive coordinates stay put whatever the scheme's update
                # builds its step from: the sliding-track rule rebuilt it from sign(g) and
                # moved a coordinate the face left out, uphill (f from 0.5 to 1.497 in one
                # step of a face-aware step size whose bound it broke).
                held = np.where(face, upd.x, Xs)
                if not np.array_equal(held, upd.x):
                    upd = upd._replace(x=held, g=None)
            X_new = upd.x
            if not _all_finite(X_new, ones):
                status = Status.NON_FINITE
                message = f"Non-finite iterate at step {k + 1} from x={_fmt_state(X)}."
                break
            try:
                if upd.g is None:
                    # unchecked evaluation; g·g is the finiteness test (exact when it fails)
                    G_new = problem.grad_rows(X_new, check=False)
                    g_sq = _sq_rows(G_new, ones)
                    if not math.isfinite(np.add.reduce(g_sq)):
                        problem.check_grad(G_new)
                else:
                    G_new = upd.g
                    g_sq = _sq_rows(G_new, ones)
                F_new = problem.f_rows(X_new) if diagnostics else None
            except (ValueError, FloatingPointError, OverflowError) as exc:
                # Objective rejects non-finite values with ValueError: keep the partial run
                status = Status.NON_FINITE
                message = (
                    f"Evaluating the objective at step {k + 1}, x={_fmt_state(X_new)} failed: {exc}"
                )
                break
            if not (
                (math.isfinite(np.add.reduce(g_sq)) or np.isfinite(G_new).all())
                and (F_new is None or np.isfinite(F_new).all())
            ):
                status = Status.NON_FINITE
                message = f"Non-finite f or gradient at step {k + 1}, x={_fmt_state(X_new)}."
                break

            t = t + eta
            if t_end is not None:
                t[short] = t_end
                done |= short
            st_rec["step"].append(eta)
            if diagnostics:
                flips = G * G_new < 0
                nonzero = Gs != 0 if face is None else face
                if m == 1:  # count_nonzero of a bool mask is much cheaper than a matmul
                    face_size = np.array([np.count_nonzero(nonzero)], dtype=np.float64)
                    st_rec["flips"].append(np.count_nonzero(flips))
                else:  # ... but not than a row sum of a narrow (m, n) array
                    face_size = nonzero @ ones
                    st_rec["flips"].append(flips @ ones)
                st_rec["face_size"].append(face_size)
                if L is None:
                    L = problem._L
                    L_sum = float(np.sum(L)) if L is not None else np.nan
                if L is None:
                    st_rec["face_curvature"].append(nan_row)
                elif (face_size == n).all():  # full face: Σ_{A} L_i = Σ L_i
                    st_rec["face_curvature"].append(L_sum)
                else:
                    st_rec["face_curvature"].append(nonzero @ L)
                counts: dict[str, Any] = {}
                if direction.counts:
                    counts.update(direction.counts)
                if upd.counts:
                    counts.update(upd.counts)
                for name in scheme_counters:
                    st_rec[name].append(counts.get(name, 0))
            X, G, F, state = X_new, G_new, F_new, upd.state
            k += 1
            if k % save_every == 0:
                save_x(k)
            record_iterate(g_sq)
            if callback is not None:
                info = StepInfo(
                    k=k,
                    t=t.copy() if batched else float(t[0]),
                    x=X.copy() if batched else X[0].copy(),
                    g=G.copy() if batched else G[0].copy(),
                    f=None if F is None else (F.copy() if batched else float(F[0])),
                    step=eta.copy() if batched else float(eta[0]),
                )
                with np.errstate(**user_errstate):
                    stop = callback(info)
                if stop:
                    status, message = Status.CALLBACK, f"Stopped by the callback after step {k}."
    if ks.data[ks.size - 1] != k:
        save_x(k)

    def out(arr: NDArray[Any]) -> NDArray[Any]:
        return arr if batched else arr[:, 0]

    if problem._L is not None and problem._L_kind == "sampled":
        # The step policy used sampled constants: diag(L) ⪰ ∇²f is not certified, and
        # a step longer than the bound allows may not decrease f (SignGD's adaptive step
        # settled into a 2-cycle above the minimum of a ridge logistic regression whose
        # sampled ΣL was 0.67 against a bound of 2.17: status 0, nothing said).
        warnings.warn(
            f"the step policy {policy!r} used separable smoothness "
            f"constants sampled around x0 (ΣL = {float(np.sum(problem._L)):.4g}), not a "
            "certified bound diag(L) ⪰ ∇²f: steps may not decrease f. Pass L=... to the "
            "policy (see filippov.geometry.separable_smoothness) to certify them.",
            RuntimeWarning,
            stacklevel=2,
        )
    x_arr = xs.array() if batched else xs.array()[:, 0, :]
    diag: dict[str, NDArray[Any]] = {}
    for records in (it_rec, st_rec):
        for name, rows in records.items():
            diag[name] = out(rows.array())
    flagged = int(np.count_nonzero(diag["nonunique"])) if "nonunique" in diag else 0
    if flagged:
        # An implicit step whose VI has several solutions takes the least-norm one: the
        # iterate may then follow another solution than the flow's (review R15: from
        # (0.3, 0.05) on x² − y² it landed on the repelling y = 0 and stopped at the saddle
        # as "stationary", while the flow leaves it). Said, not chosen silently.
        message = (
            f"{message} {flagged} step(s) {scheme.nonunique_note}; see the 'nonunique' "
            "diagnostic): the iterates may follow another Filippov solution than the flow's."
        )
    metadata: dict[str, Any] = {
        "scheme": repr(scheme),
        "scheme_class": type(scheme).__name__,
        "norm": scheme.norm.name,
        "flow": scheme.flow,
        "not_tracking": scheme.not_tracking,
        "step": policy.describe(pstate),
        "objective": str(getattr(objective, "name", type(objective).__name__)),
        "n": n,
        "m": m if batched else None,
        "n_steps_requested": n_steps,
        "t_final": t_end,
        "save_every": save_every,
        "nfev": problem.nfev,
        "njev": problem.njev,
        "nhev": problem.nhev,
        "smoothness": None
        if problem._L is None
        else {"kind": problem._L_kind, "sum": float(np.sum(problem._L))},
    }
    assert status is not None
    return DiscreteTrajectory(
        x_arr,
        out(ts.array()),
        ks.array(),
        diag,
        status=status,
        message=message,
        metadata=metadata,
    )
