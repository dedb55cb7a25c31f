"""Filippov systems in Lur'e form: ``x' ∈ f0(x) − B(x) ∂φ(h(x))``.

A :class:`FilippovSystem` bundles the smooth parts (``f0``, ``B``, the switching functions
``h`` and their Jacobian) with the norm ``φ`` whose subdifferential supplies the relay values
``λ``. Constructors cover the cases users meet first: steepest-descent flows of an objective
under a norm (:func:`steepest_descent_flow`), two-field discontinuous systems
(:func:`piecewise_system`), dry friction (:func:`coulomb_oscillator`) and the twisting
controller (:func:`twisting_system`).

The module knows nothing of time: it answers questions about the inclusion at a single
state (the vertex selector, the velocity set, the Filippov set, the kind of a switching
surface, the Filippov-consistent velocity). Integration lives in :mod:`filippov.engine`.

Conventions: states are 1-D arrays of length ``n``, switching functions and relay values
have length ``m``, ``B`` has shape ``(n, m)`` and ``jac_h`` shape ``(m, n)``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from filippov._validation import (
    FloatArray,
    IndexLike,
    NonFiniteError,
    as_float_array,
    as_matrix,
    as_vector,
    real_values,
    require_callable,
    require_positive,
    user_function,
)
from filippov.norms import Face, Norm, get_norm
from filippov.objectives import Objective
from filippov.selection import (
    Selection,
    simplex_twins,
    solve_ball_vi,
    solve_box_vi,
    solve_simplex_vi,
)

__all__ = [
    "AffineData",
    "ConsistentVelocity",
    "FilippovSystem",
    "SurfaceClassification",
    "VelocitySet",
    "coulomb_oscillator",
    "piecewise_system",
    "steepest_descent_flow",
    "twisting_system",
]

#: Names of the constraint norms a steepest-descent flow can use, mapped to the norm φ of
#: the relay (the dual norm): the ℓ∞-constrained flow is the sign flow, φ = ℓ1.
_CONSTRAINT_TO_PHI = {"linf": "l1", "l1": "linf", "l2": "l2"}

#: Relative tolerance used to decide that a one-sided normal velocity vanishes (tangency).
_TANGENCY_RTOL = 1e-9


@dataclass(frozen=True)
class AffineData:
    """Data of a piecewise-affine system: constant ``f0``, constant ``B``, affine ``h``.

    The velocity is ``c0 − B λ`` and the switching functions are ``h(x) = G x + e``. For
    such systems ``λ`` is piecewise constant along a Filippov solution, so the solution is
    piecewise linear in time and :func:`filippov.solve` integrates it exactly.

    Attributes
    ----------
    c0 : ndarray, shape (n,)
        The constant drift ``f0``.
    B : ndarray, shape (n, m)
        The constant input matrix.
    G : ndarray, shape (m, n)
        The Jacobian of ``h``.
    e : ndarray, shape (m,)
        The offset of ``h``.
    """

    c0: FloatArray
    B: FloatArray
    G: FloatArray
    e: FloatArray


@dataclass(frozen=True)
class VelocitySet:
    """A convex set of velocities ``{f0 − B λ : λ ∈ face}`` at one state.

    Attributes
    ----------
    x : ndarray, shape (n,)
        The state.
    f0 : ndarray, shape (n,)
        The drift at ``x``.
    B : ndarray, shape (n, m)
        The input matrix at ``x``.
    face : Face
        The face of ``∂φ(h(x))`` the relay values range over.
    relay_vertices : ndarray, shape (k, m)
        The relay values whose images span the set (the vertices of ``face``, or for the
        Filippov set of an ℓ∞ system only those realised by a full-measure region).
    vertices : ndarray, shape (k, n)
        The velocities ``f0 − B v`` of the relay vertices; the set is their convex hull.
        For an ℓ2 face at ``h = 0`` (a Euclidean ball) the relay "vertices" are samples of
        the unit sphere, so the hull is an inscribed approximation of the true set.
    """

    x: FloatArray
    f0: FloatArray
    B: FloatArray
    face: Face
    relay_vertices: FloatArray
    vertices: FloatArray

    @property
    def dim(self) -> int:
        """Affine dimension of the set (rank of the vertex differences)."""
        if len(self.vertices) <= 1:
            return 0
        diffs = self.vertices[1:] - self.vertices[0]
        scale = max(1.0, float(np.max(np.abs(self.vertices))))
        return int(np.linalg.matrix_rank(diffs, tol=1e-10 * scale))

    def velocity(self, lam: ArrayLike) -> FloatArray:
        """Velocity ``f0 − B λ`` for relay values ``lam`` (not checked against the face)."""
        return self.f0 - self.B @ np.asarray(lam, dtype=float)


@dataclass(frozen=True)
class SurfaceClassification:
    """Kind of a switching surface at a point, from the one-sided normal velocities.

    Attributes
    ----------
    kind : str
        ``"crossing"`` (``a+ a− > 0``), ``"sliding"`` (attractive: ``a+ < 0 < a−``),
        ``"repulsive"`` (``a+ > 0 > a−``: the continuation is not unique) or ``"tangency"``
        (one of ``a±`` vanishes: a fold / grazing point).
    a_plus, a_minus : float
        ``∇s · F(x, λ_i = ±1)``: the normal velocity of the field on the positive and the
        negative side of the surface ``s = 0``.
    index : int or tuple of int
        The switching function (ℓ1 / ℓ2) or the pair of tied indices (ℓ∞).
    """

    kind: str
    a_plus: float
    a_minus: float
    index: int | tuple[int, int]


@dataclass(frozen=True)
class ConsistentVelocity:
    """The Filippov-consistent velocity at a state: the relay values that keep the face.

    Attributes
    ----------
    velocity : ndarray, shape (n,)
        ``f0 − B λ`` with ``λ`` the consistent selection.
    lam : ndarray, shape (m,)
        The relay values.
    free : tuple of int
        The indices that stay on their switching manifold (ℓ1: ``|λ_j| < 1`` sliding set;
        ℓ∞: the tie set with positive weight; ℓ2: all indices when ``h = 0`` and ``‖λ‖ < 1``).
    selection : Selection or None
        The solved variational inequality (``None`` when the face is a single vertex).
    unique : bool
        False when the selection problem may have several solutions (flag, never hide).
    """

    velocity: FloatArray
    lam: FloatArray
    free: tuple[int, ...]
    selection: Selection | None
    unique: bool = True


Field = Callable[[FloatArray], Any]


def _require_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string. Got {type(name).__name__} instead.")
    return name


def _constant_or_callable(value: Any, name: str) -> tuple[Field, FloatArray | None]:
    """Wrap an array as a constant function; return (callable, constant or None)."""
    if callable(value):
        return user_function(value, name), None
    arr = as_float_array(value, name)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite. Got {arr} instead.")
    return _Constant(arr), arr


class _AffineMap:
    """The map ``x -> G x + e`` (a class, not a lambda, so that systems pickle)."""

    __slots__ = ("G", "e")

    def __init__(self, G: FloatArray, e: FloatArray) -> None:
        self.G = G
        self.e = e

    def __call__(self, x: FloatArray) -> FloatArray:
        return np.asarray(self.G @ x + self.e, dtype=np.float64)


class _Constant:
    """The constant field ``x -> value`` (a class, not a lambda, so that systems pickle)."""

    __slots__ = ("value",)

    def __init__(self, value: FloatArray) -> None:
        self.value = value

    def __call__(self, x: FloatArray) -> FloatArray:
        return self.value


class FilippovSystem:
    r"""A differential inclusion ``x' ∈ f0(x) − B(x) ∂φ(h(x))`` (Lur'e form).

    Parameters
    ----------
    f0 : callable or array_like, shape (n,)
        The smooth drift ``x -> f0(x)``; an array means a constant drift.
    B : callable or array_like, shape (n, m)
        The input matrix ``x -> B(x)``; an array means a constant matrix.
    h : callable
        The switching functions ``x -> h(x)`` of shape ``(m,)`` (a scalar is read as ``m = 1``).
    norm : {"l1", "linf", "l2"} or Norm
        The norm ``φ`` on ``R^m`` whose subdifferential gives the relay values: ``"l1"``
        (independent relays / sign), ``"linf"`` (max / greedy, tie facets), ``"l2"``.
    jac_h : callable, optional
        ``x -> ∂h/∂x`` of shape ``(m, n)``. When missing it is approximated by central
        differences and a ``UserWarning`` says so.
    name : str, optional
        A label used in summaries and plots.
    affine : AffineData, optional
        Declares the system piecewise affine (constant ``f0`` and ``B``, affine ``h``), which
        lets :func:`filippov.solve` use its exact path. Prefer :meth:`FilippovSystem.affine`.
    objective : Objective, optional
        The objective of a steepest-descent flow (kept for plots and comparisons).

    Notes
    -----
    Every question is asked at one state ``x``; shapes are validated on each evaluation so a
    user function that returns the wrong shape fails with a message naming it.

    Examples
    --------
    A relay ``x' ∈ −Sign(x)`` on the line, in Lur'e form (``f0 = 0``, ``B = 1``, ``h = x``):

    >>> import numpy as np
    >>> from filippov.systems import FilippovSystem
    >>> sys = FilippovSystem(np.zeros(1), np.ones((1, 1)), lambda x: x, norm="l1",
    ...                      jac_h=lambda x: np.ones((1, 1)))
    >>> sys.selector(np.array([0.5]))
    array([-1.])
    >>> sys.classify(np.array([0.0]), 0).kind
    'sliding'
    """

    #: ``B(x)`` is the identity for every ``x`` (see `B_is_identity`); set by the
    #: steepest-descent flows, whose ``B`` is then built only when asked for. (A class
    #: default, so that systems pickled before it load.)
    _B_is_identity = False

    def __init__(
        self,
        f0: Field | ArrayLike,
        B: Field | ArrayLike,
        h: Field,
        norm: str | Norm,
        *,
        jac_h: Field | None = None,
        name: str = "system",
        affine: AffineData | None = None,
        objective: Objective | None = None,
    ) -> None:
        self.norm: Norm = get_norm(norm)
        _require_name(name)
        if affine is not None and not isinstance(affine, AffineData):
            raise TypeError(
                f"`affine` must be an AffineData or None. Got {type(affine).__name__} instead."
            )
        if objective is not None and not isinstance(objective, Objective):
            raise TypeError(
                f"`objective` must be a filippov Objective or None. "
                f"Got {type(objective).__name__} instead."
            )
        if not callable(h):
            raise TypeError(f"`h` must be a callable x -> h(x). Got {type(h).__name__} instead.")
        if jac_h is not None and not callable(jac_h):
            raise TypeError(
                f"`jac_h` must be a callable x -> dh/dx. Got {type(jac_h).__name__} instead."
            )
        self._f0, self._f0_const = _constant_or_callable(f0, "f0")
        self._B, self._B_const = _constant_or_callable(B, "B")
        self._h = user_function(h, "h")
        self._jac_h = user_function(jac_h, "jac_h")
        self._warned_fd = False
        self.name = name
        self.affine_data = affine
        self.objective = objective
        #: State dimension when it is known without a state (affine data, objective,
        #: constant ``f0`` or ``B``); ``None`` otherwise.
        self.n: int | None = None
        if affine is not None:
            self.n = int(affine.B.shape[0])
        elif objective is not None and objective.n is not None:
            self.n = int(objective.n)
        elif self._f0_const is not None:
            self.n = int(self._f0_const.reshape(-1).shape[0])
        elif self._B_const is not None and self._B_const.ndim == 2:
            self.n = int(self._B_const.shape[0])

    # -- construction helpers ---------------------------------------------------------
    @classmethod
    def affine(
        cls,
        c0: ArrayLike,
        B: ArrayLike,
        G: ArrayLike,
        e: ArrayLike,
        norm: str | Norm,
        *,
        name: str = "affine system",
    ) -> FilippovSystem:
        """Piecewise-affine system ``x' ∈ c0 − B ∂φ(G x + e)`` (exact path available).

        Examples
        --------
        >>> from filippov.systems import FilippovSystem
        >>> sys = FilippovSystem.affine([0.0, 1.0], [[1.0], [0.0]], [[1.0, 0.0]], [0.0], "l1")
        >>> sys.selector([2.0, 0.0])
        array([-1.,  1.])
        """
        _require_name(name)
        B_arr = as_matrix(B, "B")
        n, m = B_arr.shape
        c0_arr = as_vector(c0, "c0", n)
        G_arr = as_matrix(G, "G", (m, n))
        e_arr = as_vector(e, "e", m)
        data = AffineData(c0_arr, B_arr, G_arr, e_arr)
        return cls(
            c0_arr,
            B_arr,
            _AffineMap(G_arr, e_arr),
            norm,
            jac_h=_Constant(G_arr),
            name=name,
            affine=data,
        )

    @property
    def is_affine(self) -> bool:
        """True when the exact (piecewise-linear) path applies."""
        return self.affine_data is not None

    def __repr__(self) -> str:
        kind = "affine" if self.is_affine else "smooth"
        return f"FilippovSystem({self.name!r}, norm={self.norm.name!r}, {kind})"

    # -- evaluation with validation ---------------------------------------------------
    def _state(self, x: ArrayLike) -> FloatArray:
        return as_vector(x, "x")

    def evaluate(self, x: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Return ``(f0(x), B(x), h(x))`` with validated shapes ``(n,), (n, m), (m,)``.

        Raises
        ------
        ValueError
            If a user function returns the wrong shape or a non-finite value.
        """
        xv = self._state(x)
        return self.kernel_evaluate(xv)

    @property
    def f0_constant(self) -> FloatArray | None:
        """``f0`` when it is a constant vector (``None`` when it depends on ``x``)."""
        return self._f0_const

    @property
    def B_constant(self) -> FloatArray | None:
        """``B`` when it is a constant matrix (``None`` when it depends on ``x``)."""
        return self._B_const

    @property
    def B_is_identity(self) -> bool:
        """``True`` when ``B(x)`` is the identity matrix for every ``x`` (a steepest-descent
        flow's ``B = I``): the engine then skips products with ``B``, and the ``n × n``
        identity is built only when ``B`` itself is asked for (:meth:`evaluate`,
        :attr:`B_constant`).

        Examples
        --------
        >>> import filippov as fp
        >>> flow = fp.steepest_descent_flow(fp.objectives.ridge_logistic([[1.0, 2.0]], [1.0], 0.1))
        >>> flow.B_is_identity, flow.B_constant.shape
        (True, (2, 2))
        """
        return self._B_is_identity

    def kernel_evaluate(self, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(f0(x), B(x), h(x))`` for the engine: ``x`` a finite float vector of length
        ``n`` that the caller validated (not checked again); the results' shapes and
        finiteness are checked. :meth:`evaluate` is the public, validating version.
        """
        f0, hx = self.kernel_f0_h(x)
        n, m = x.shape[0], hx.shape[0]
        B = real_values(self._B(x), "B(x)")
        if B.ndim == 1 and m == 1:
            B = B.reshape(-1, 1)
        if B.shape != (n, m):
            raise ValueError(
                f"`B(x)` must have shape ({n}, {m}) (n states, m switching functions). "
                f"Got shape {B.shape} instead."
            )
        # A constant B was checked once at construction; a computed one is checked here
        # (this runs in every right-hand-side evaluation of the engine).
        if not (self._B_const is not None or self._B_is_identity or np.all(np.isfinite(B))):
            raise NonFiniteError(f"`B(x)` is not finite at x = {x}.")
        return f0, B, hx

    def kernel_f0_h(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(f0(x), h(x))``, checked as by :meth:`kernel_evaluate`, without ``B(x)`` (the
        paths of a system whose `B_is_identity` never ask for ``B``)."""
        n = x.shape[0]
        f0 = real_values(self._f0(x), "f0(x)").reshape(-1)
        if f0.shape != (n,):
            raise ValueError(f"`f0(x)` must have shape ({n},). Got shape {f0.shape} instead.")
        hx = self._checked_h(x)
        # A constant f0 was checked once at construction; only computed values are checked
        # here (this runs in every right-hand-side evaluation of the engine).
        if self._f0_const is None and not np.all(np.isfinite(f0)):
            raise NonFiniteError(f"`f0(x)` is not finite at x = {x}.")
        if not np.all(np.isfinite(hx)):
            raise NonFiniteError(f"`h(x)` is not finite at x = {x}.")
        return f0, hx

    def kernel_h(self, x: FloatArray) -> FloatArray:
        """``h(x)`` alone, its shape and finiteness checked, for the engine (``x`` validated
        by the caller): where only ``h`` is asked for, as in the check of ``jac_h`` at ``x0``
        (through :meth:`h`, it refused a start 5e-4 from where ``f0`` is not finite)."""
        hx = self._checked_h(x)
        if not np.all(np.isfinite(hx)):
            raise NonFiniteError(f"`h(x)` is not finite at x = {x}.")
        return hx

    def _checked_h(self, x: FloatArray) -> FloatArray:
        """``h(x)`` as a vector of at least one entry (its finiteness not checked)."""
        hx = real_values(self._h(x), "h(x)")
        if hx.ndim > 1:
            raise ValueError(
                f"`h(x)` must be a vector of shape (m,). Got shape {hx.shape} instead."
            )
        hx = hx.reshape(-1)
        if hx.shape[0] == 0:
            raise ValueError(
                "`h(x)` must have at least one switching function. Got an empty array."
            )
        return hx

    @property
    def has_exact_jacobian(self) -> bool:
        """``True`` when ``jac_h`` was given (else :meth:`jacobian` uses finite differences)."""
        return self._jac_h is not None

    def h(self, x: ArrayLike) -> FloatArray:
        """Switching functions ``h(x)``, shape ``(m,)``."""
        return self.kernel_f0_h(self._state(x))[1]

    def jacobian(self, x: ArrayLike) -> FloatArray:
        """Jacobian ``∂h/∂x`` at ``x``, shape ``(m, n)``."""
        xv = self._state(x)
        return self.kernel_jacobian(xv)

    def kernel_jacobian(self, x: FloatArray, m: int | None = None) -> FloatArray:
        """``∂h/∂x`` at ``x`` (shape ``(m, n)``) for the engine, ``x`` validated by the
        caller as for :meth:`kernel_evaluate`; :meth:`jacobian` is the public version."""
        n = x.shape[0]
        if m is None:
            m = np.asarray(self._h(x), dtype=float).reshape(-1).shape[0]
        if self._jac_h is not None:
            J = real_values(self._jac_h(x), "jac_h(x)")
            if J.ndim == 1 and m == 1:
                J = J.reshape(1, -1)
        else:
            if not self._warned_fd:
                warnings.warn(
                    f"{self.name}: no `jac_h` given; using central finite differences of h "
                    "(accuracy about 1e-8). Pass `jac_h` for exact sliding selections.",
                    UserWarning,
                    stacklevel=3,
                )
                self._warned_fd = True
            J = np.empty((m, n))
            for k in range(n):
                step = 1e-6 * max(1.0, abs(x[k]))
                e = np.zeros(n)
                e[k] = step
                J[:, k] = (
                    np.asarray(self._h(x + e), float).reshape(-1)
                    - np.asarray(self._h(x - e), float).reshape(-1)
                ) / (2 * step)
        if J.shape != (m, n):
            raise ValueError(f"`jac_h(x)` must have shape ({m}, {n}). Got shape {J.shape} instead.")
        if not np.all(np.isfinite(J)):
            raise NonFiniteError(f"`jac_h(x)` is not finite at x = {x}.")
        return J

    def kernel_jacobian_rows(self, x: FloatArray, rows: NDArray[np.intp], m: int) -> FloatArray:
        """Rows ``rows`` of ``∂h/∂x`` at ``x``, shape ``(len(rows), n)``.

        A sliding mode of the event path only needs the rows of its sliding indices. This
        slices the full Jacobian; the gradient flow overrides it to compute only those rows
        of the Hessian.
        """
        return self.kernel_jacobian(x, m)[rows]

    # -- set-valued questions ---------------------------------------------------------
    def velocity(self, x: ArrayLike, lam: ArrayLike) -> FloatArray:
        """Velocity ``f0(x) − B(x) λ`` for given relay values ``λ`` (shape ``(m,)``)."""
        f0, B, hx = self.evaluate(x)
        lam_v = as_vector(lam, "lam", hx.shape[0])
        return f0 - B @ lam_v

    def selector(self, x: ArrayLike) -> FloatArray:
        """One velocity of the inclusion: the vertex choice ``f0 − B s`` with ``s ∈ ∂φ(h)``.

        This is the field that explicit discrete schemes step along and that phase
        portraits draw (e.g. ``−sign(∇f)`` for the sign flow); on switching manifolds it
        is *not* the sliding velocity (see :meth:`consistent_velocity`).
        """
        f0, B, hx = self.evaluate(x)
        return f0 - B @ self.norm.subgradient(hx)

    def velocity_set(self, x: ArrayLike, *, tol: float | None = None) -> VelocitySet:
        """The set-valued right-hand side ``{f0 − B λ : λ ∈ ∂φ(h(x))}``.

        Parameters
        ----------
        x : array_like, shape (n,)
            The state.
        tol : float, optional
            Relative tolerance for zeros and ties of ``h(x)`` (the norm's default if None).
        """
        xv = self._state(x)
        f0, B, hx = self.kernel_evaluate(xv)
        face = self.norm.face(hx) if tol is None else self.norm.face(hx, tol)
        if face.kind == "ball" and face.ball_norm == "l2":
            relay = _sample_sphere(hx.shape[0])
        else:
            relay = np.atleast_2d(face.vertices())
        return VelocitySet(xv, f0, B, face, relay, f0 - relay @ B.T)

    def filippov_set(self, x: ArrayLike, *, tol: float | None = None) -> VelocitySet:
        """The Filippov convexification of the selector field at ``x``.

        For ``φ = ℓ1`` and ``φ = ℓ2`` the field is affine in ``λ`` and the Filippov set is the
        velocity set. For ``φ = ℓ∞`` (greedy / tie facets) a tied index contributes its
        direction only when the region where it is the unique maximiser has interior near
        ``x`` (seed paper 2, Lemma 4.2): e.g. for ``f = ½x₂²`` the greedy flow at the origin
        has the vertical segment as Filippov set, not the ℓ1 diamond. The test is first
        order: a linear program on the linearised ties.

        Examples
        --------
        >>> import numpy as np
        >>> import filippov as fp
        >>> obj = fp.Objective.quadratic(np.diag([0.0, 1.0]))
        >>> sys = fp.steepest_descent_flow(obj, norm="l1")
        >>> sys.filippov_set(np.zeros(2)).vertices + 0.0
        array([[ 0., -1.],
               [ 0.,  1.]])
        """
        vset = self.velocity_set(x, tol=tol)
        if self.norm.name != "linf" or len(vset.relay_vertices) <= 1:
            return vset
        J = self.kernel_jacobian(vset.x, vset.face.signs.shape[0])
        keep = [
            k
            for k, v in enumerate(vset.relay_vertices)
            if _region_has_interior(J, vset.relay_vertices, k)
        ]
        if not keep:
            # The first-order test decided nothing (every linearised tie degenerate: f = ¼x₂⁴
            # at the origin, a zero Hessian), and the empty set it gave is no Filippov set:
            # the vertices that are the unique maximiser at points around x are.
            keep = _vertices_seen_around(self, vset)
        relay = vset.relay_vertices[keep]
        return VelocitySet(vset.x, vset.f0, vset.B, vset.face, relay, vset.f0 - relay @ vset.B.T)

    def classify(self, x: ArrayLike, i: int | Sequence[int]) -> SurfaceClassification:
        """Classify switching surface ``i`` at ``x`` from the one-sided normal velocities.

        Parameters
        ----------
        x : array_like, shape (n,)
            A point on (or near) the surface.
        i : int, or pair of int for ``φ = ℓ∞``
            ℓ1: the surface ``{h_i = 0}``, with ``a± = ∇h_i · F(x, λ_i = ±1)``; the other
            relay values take their sign, or, when also at zero, their consistent sliding
            selection. ℓ∞: the tie surface ``{|h_i| = |h_j|}`` between the fields of the two
            vertices.

        Returns
        -------
        SurfaceClassification

        Raises
        ------
        ValueError
            For ``φ = ℓ2`` (its only switching set ``h = 0`` has codimension ``m``, with no
            sides), or an index out of range.
        """
        xv = self._state(x)
        f0, B, hx = self.kernel_evaluate(xv)
        m = hx.shape[0]
        J = self.kernel_jacobian(xv, m)
        if self.norm.name == "l2":
            raise ValueError(
                "`classify` needs a codimension-one switching surface; the ℓ2 norm switches "
                "only on h = 0, which has no sides. Use `consistent_velocity` instead."
            )
        if self.norm.name == "l1":
            flat = np.asarray(i).reshape(-1)
            if flat.size != 1 or flat.dtype.kind not in "iu":
                raise ValueError(f"`i` must be one integer index for the l1 norm. Got {i!r}.")
            idx = int(flat[0])
            if not 0 <= idx < m:
                raise ValueError(f"`i` must be in [0, {m}). Got {i} instead.")
            sides = []
            for s in (1.0, -1.0):
                lam = self._relay_with_fixed(f0, B, hx, J, idx, s)
                sides.append(float(J[idx] @ (f0 - B @ lam)))
            normal_scale = _normal_speed_scale(J[idx], f0, B)
            key: int | tuple[int, int] = idx
        else:
            pair = tuple(int(k) for k in np.asarray(i).reshape(-1))
            if len(pair) != 2 or not all(0 <= k < m for k in pair) or pair[0] == pair[1]:
                raise ValueError(
                    f"`i` must be a pair of distinct indices in [0, {m}) for the ℓ∞ norm "
                    f"(the tie surface |h_i| = |h_j|). Got {i} instead."
                )
            a, b = pair
            sa = np.sign(hx[a]) or 1.0
            sb = np.sign(hx[b]) or 1.0
            grad_s = sa * J[a] - sb * J[b]
            field_a = f0 - B[:, a] * sa
            field_b = f0 - B[:, b] * sb
            sides = [float(grad_s @ field_a), float(grad_s @ field_b)]
            normal_scale = _normal_speed_scale(grad_s, f0, B)
            key = (a, b)
        a_plus, a_minus = sides
        return SurfaceClassification(
            _kind_from_sides(a_plus, a_minus, _TANGENCY_RTOL * max(normal_scale, 1e-300)),
            a_plus,
            a_minus,
            key,
        )

    def _relay_with_fixed(
        self,
        f0: FloatArray,
        B: FloatArray,
        hx: FloatArray,
        J: FloatArray,
        idx: int,
        value: float,
    ) -> FloatArray:
        """ℓ1 relay values with ``λ_idx = value``: signs elsewhere, consistent on other zeros."""
        face = self.norm.face(hx)
        lam = face.center.astype(float).copy()
        lam[idx] = value
        others = np.array([j for j in face.free if j != idx], dtype=int)
        if others.size:
            # A surface that coincides with this one here (its gradient parallel: a
            # duplicated feature, h_j = h_i) is on the same side as it, not at its own
            # consistent value: on side s of h_i = 0 its relay is s times the sign of the
            # two gradients' alignment. (Held at the VI's value, f(x₁ + x₂)'s attracting
            # line was called a tangency.)
            gi = J[idx]
            norms = np.linalg.norm(J[others], axis=1) * float(np.linalg.norm(gi))
            dots = J[others] @ gi
            with np.errstate(invalid="ignore", divide="ignore"):
                parallel = (norms > 0) & (np.abs(dots) >= (1.0 - 1e-12) * norms)
            lam[others[parallel]] = value * np.sign(dots[parallel])
            others = others[~parallel]
        if others.size:
            fixed = np.setdiff1d(np.arange(hx.shape[0]), others)
            a = J[others] @ (f0 - B[:, fixed] @ lam[fixed])
            M = J[others] @ B[:, others]
            lam[others] = solve_box_vi(M, a).lam
        return lam

    def consistent_velocity(
        self, x: ArrayLike, *, free: IndexLike | None = None, tol: float | None = None
    ) -> ConsistentVelocity:
        """The Filippov-consistent velocity at ``x``.

        The mathematics: :doc:`/theory`, "Modes and the sliding selection".

        The relay values on the face of ``∂φ(h(x))`` are chosen by the variational
        inequality that keeps the face: the box VI on the zero set (ℓ1), the simplex VI on the
        tie set (ℓ∞) or the ball VI at ``h = 0`` (ℓ2).

        Parameters
        ----------
        x : array_like, shape (n,)
            The state.
        free : sequence of int, optional
            The candidate free set (zero set / tie set) instead of the one read off
            ``h(x)`` with tolerance ``tol``; the engine passes the indices it tracks.
        tol : float, optional
            Relative tolerance for zeros and ties of ``h(x)``.

        Examples
        --------
        On the slope example with ``a = 0.5`` the sign flow slides along ``x1 = a x2``:

        >>> import numpy as np
        >>> import filippov as fp
        >>> from filippov.objectives import slope
        >>> sys = fp.steepest_descent_flow(slope(0.5), norm="linf")
        >>> cv = sys.consistent_velocity(np.array([-0.5, -1.0]))
        >>> cv.velocity, cv.free
        (array([-0.5, -1. ]), (0,))
        """
        xv = self._state(x)
        f0, B, hx = self.kernel_evaluate(xv)
        J = self.kernel_jacobian(xv, hx.shape[0])
        return consistent_relay(self.norm, f0, B, hx, J, free=free, tol=tol)


def consistent_relay(
    norm: Norm,
    f0: FloatArray,
    B: FloatArray,
    hx: FloatArray,
    J: FloatArray,
    *,
    free: IndexLike | None = None,
    signs: FloatArray | None = None,
    tol: float | None = None,
) -> ConsistentVelocity:
    """Consistent relay values from evaluated data (shared by systems and the engine).

    Parameters
    ----------
    norm : Norm
        The relay norm φ.
    f0, B, hx, J : ndarray
        ``f0(x)``, ``B(x)``, ``h(x)``, ``∂h/∂x`` at the state.
    free : sequence of int, optional
        Candidate free set (ℓ1 zero set, ℓ∞ tie set); read off ``hx`` when None.
    signs : ndarray, optional
        Relay signs to use outside (ℓ1) or on (ℓ∞) the free set instead of ``sign(hx)``:
        the engine passes the signs of the mode it tracks, so that a state a rounding error
        across a manifold is still read on the right side.
    tol : float, optional
        Relative tolerance for reading zeros / ties off ``hx``.
    """
    m = hx.shape[0]
    face = norm.face(hx) if tol is None else norm.face(hx, tol)
    F = np.asarray(face.free if free is None else free, dtype=int)
    sgn = np.sign(hx) if signs is None else np.asarray(signs, dtype=float)
    if norm.name == "l1":
        lam = sgn.astype(float).copy()
        if F.size == 0:
            return ConsistentVelocity(f0 - B @ lam, lam, (), None)
        fixed = np.setdiff1d(np.arange(m), F)
        a = J[F] @ (f0 - B[:, fixed] @ lam[fixed])
        M = J[F] @ B[:, F]
        sel = solve_box_vi(M, a)
        lam[F] = sel.lam
        keep = tuple(int(F[k]) for k in sel.interior)
        return ConsistentVelocity(f0 - B @ lam, lam, keep, sel, sel.unique)
    if norm.name == "linf":
        if free is None and not np.any(hx):
            # h = 0: the face is the whole ℓ1 ball; the consistent choice keeps h = 0.
            return ball_like_l1_at_zero(f0, B, J)
        if F.size <= 1:
            lam = np.zeros(m)
            if F.size == 1:
                k = int(F[0])
                lam[k] = sgn[k] if sgn[k] != 0 else 1.0
            return ConsistentVelocity(f0 - B @ lam, lam, tuple(int(k) for k in F), None)
        s = np.where(sgn[F] == 0, 1.0, sgn[F])
        S = np.diag(s)
        a = S @ (J[F] @ f0)
        M = S @ (J[F] @ B[:, F]) @ S
        sel = solve_simplex_vi(M, a)
        w = np.asarray(sel.lam, dtype=float)
        if not sel.unique:
            w = _with_twins(w, np.abs(hx[F]), M, a)
        lam = np.zeros(m)
        lam[F] = s * w
        support = tuple(int(F[k]) for k in np.flatnonzero(w > 0))
        return ConsistentVelocity(f0 - B @ lam, lam, support, sel, sel.unique)
    # ℓ2
    if float(np.linalg.norm(hx)) > 0.0 and free is None and face.dim == 0:
        lam = hx / np.linalg.norm(hx)
        return ConsistentVelocity(f0 - B @ lam, lam, (), None)
    a = J @ f0
    M = J @ B
    sel = solve_ball_vi(M, a)
    lam = np.asarray(sel.lam, dtype=float)
    inside = tuple(range(m)) if float(np.linalg.norm(lam)) < 1.0 - 1e-12 else ()
    return ConsistentVelocity(f0 - B @ lam, lam, inside, sel, sel.unique)


def _with_twins(w: FloatArray, sizes: FloatArray, M: FloatArray, a: FloatArray) -> FloatArray:
    """The simplex VI's weights ``w`` with each weight on the support shared equally with
    its twins off it (:func:`~filippov.selection.simplex_twins`): the least-norm split,
    with every rate as it was (the twins' rows, columns and drift terms are equal)."""
    twin_of = simplex_twins(w > 0.0, sizes, M, a)
    if not np.any(twin_of >= 0):
        return w
    out = np.asarray(w, dtype=float).copy()
    for q in np.unique(twin_of[twin_of >= 0]):
        group = np.append(np.flatnonzero(twin_of == q), q)
        out[group] = w[q] / group.size
    return out


def ball_like_l1_at_zero(f0: FloatArray, B: FloatArray, J: FloatArray) -> ConsistentVelocity:
    """ℓ∞ relay at ``h = 0``: λ in the ℓ1 ball keeping ``h = 0`` (minimal ℓ1 norm)."""
    m = B.shape[1]
    # λ = p − q with p, q ≥ 0, Σ(p + q) ≤ 1, J(f0 − Bλ) = 0; minimise Σ(p + q). A linear
    # program: scipy's HiGHS solves it exactly, so no hand-written method is needed.
    from scipy.optimize import linprog  # (imported here: `import filippov` stays light)

    JB = J @ B
    A_eq = np.hstack([JB, -JB])
    res = linprog(
        np.ones(2 * m),
        A_ub=np.ones((1, 2 * m)),
        b_ub=[1.0],
        A_eq=A_eq,
        b_eq=J @ f0,
        bounds=[(0, None)] * (2 * m),
        method="highs",
    )
    if res.status == 0:
        lam = res.x[:m] - res.x[m:]
        return ConsistentVelocity(f0 - B @ lam, lam, tuple(range(m)), None, True)
    lam = np.zeros(m)
    return ConsistentVelocity(f0 - B @ lam, lam, tuple(range(m)), None, False)


def _sample_sphere(m: int) -> FloatArray:
    """Points on the Euclidean unit sphere of ``R^m`` standing in for the ball's vertices.

    The ℓ2 ball has no finite vertex set; its image is drawn and bounded through these
    samples: the circle at 64 angles for ``m = 2``, otherwise ``±e_i`` and, for ``m ≤ 6``,
    the normalised diagonals ``(±1, …, ±1)/√m``.
    """
    if m == 1:
        return np.array([[1.0], [-1.0]])
    if m == 2:
        angles = np.linspace(0.0, 2 * np.pi, 64, endpoint=False)
        return np.column_stack([np.cos(angles), np.sin(angles)])
    points = [np.eye(m), -np.eye(m)]
    if m <= 6:
        corners = np.array(np.meshgrid(*[[-1.0, 1.0]] * m)).reshape(m, -1).T
        points.append(corners / np.sqrt(m))
    return np.vstack(points)


def _normal_speed_scale(grad: FloatArray, f0: FloatArray, B: FloatArray) -> float:
    """The size of the terms of a normal speed ``∇c · (f0 − B λ)``, ``|λ| ≤ 1``:
    ``Σ_j |∂c/∂x_j| (|f0_j| + Σ_k |B_jk|)``, each state component in its own units. (Not
    ``‖∇c‖ (‖f0‖ + Σ|B|)``: a fast component ``c`` does not depend on made a slow
    crossing a tangency, ``x' = 1e12`` beside normal speeds of 0.01 and 0.02.)"""
    return float(np.abs(grad) @ (np.abs(f0) + np.abs(B).sum(axis=1)))


def _kind_from_sides(a_plus: float, a_minus: float, zero_tol: float) -> str:
    if abs(a_plus) <= zero_tol or abs(a_minus) <= zero_tol:
        return "tangency"
    if a_plus * a_minus > 0:
        return "crossing"
    if a_plus < 0 < a_minus:
        return "sliding"
    return "repulsive"


def _vertices_seen_around(system: FilippovSystem, vset: VelocitySet) -> list[int]:
    """The ℓ∞ face's vertices ``s e_i`` that are the unique maximiser ``s h_i`` of ``|h|`` at
    points of a small sphere around the state (a sampled, higher-order stand-in for
    `_region_has_interior` where the linearised ties are degenerate); all of them when no
    sample decides (``h`` vanishing around the state too)."""
    x = vset.x
    rng = np.random.default_rng(0)  # (deterministic: the same set at the same state)
    D = rng.standard_normal((256, x.size))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    radius = 1e-3 * max(1.0, float(np.max(np.abs(x))))
    seen: set[int] = set()
    index = {
        (int(np.flatnonzero(v)[0]), float(v[np.flatnonzero(v)[0]])): k
        for k, v in enumerate(vset.relay_vertices)
    }
    for d in D:
        hs = np.asarray(system.kernel_f0_h(x + radius * d)[1], dtype=float)
        hy = np.abs(hs)
        order = np.argsort(hy)
        top = int(order[-1])
        if hy.size > 1 and not hy[top] > hy[int(order[-2])]:
            continue  # (a tie at the sample: it decides nothing)
        if hy[top] == 0.0:
            continue
        k = index.get((top, float(np.sign(hs[top]))))
        if k is not None:
            seen.add(k)
    return sorted(seen) if seen else list(range(len(vset.relay_vertices)))


def _region_has_interior(J: FloatArray, relay_vertices: FloatArray, k: int) -> bool:
    """Does the region where vertex ``k`` of an ℓ∞ face is the unique maximiser have interior?

    Vertex ``k`` is ``s e_i``. To first order near the state, ``s h_i`` beats every other
    signed candidate ``t h_j`` of the face when ``(s ∇h_i − t ∇h_j) · d > 0`` for all of
    them; the region has interior iff some direction ``d`` satisfies all inequalities
    strictly: maximise the margin ``τ`` over ``‖d‖∞ ≤ 1``.
    """
    v = relay_vertices[k]
    i = int(np.flatnonzero(v)[0])
    s = float(v[i])
    rows = []
    for other_k, w in enumerate(relay_vertices):
        if other_k == k:
            continue
        j = int(np.flatnonzero(w)[0])
        rows.append(s * J[i] - float(w[j]) * J[j])
    if not rows:
        return True
    G = np.asarray(rows)
    n = J.shape[1]
    # variables (d, τ): maximise τ s.t. G d ≥ τ, −1 ≤ d ≤ 1, τ ≤ 1.
    from scipy.optimize import linprog

    res = linprog(
        np.r_[np.zeros(n), -1.0],
        A_ub=np.hstack([-G, np.ones((len(G), 1))]),
        b_ub=np.zeros(len(G)),
        bounds=[(-1, 1)] * n + [(None, 1.0)],
        method="highs",
    )
    scale = max(1.0, float(np.max(np.abs(G))))
    return bool(res.status == 0 and -res.fun > 1e-10 * scale)


# -- constructors ---------------------------------------------------------------------
def steepest_descent_flow(objective: Objective, norm: str = "linf") -> FilippovSystem:
    r"""The steepest-descent flow of ``objective`` under a norm constraint.

    ``x' ∈ −∂‖∇f(x)‖_*``: the Lur'e form with ``f0 = 0``, ``B = I``, ``h = ∇f`` and ``φ`` the
    dual of the constraint norm (seed paper 2, Table 1 and Lemma 3.1).

    Parameters
    ----------
    objective : Objective
        A smooth objective with gradient and Hessian.
    norm : {"linf", "l1", "l2"}
        The constraint norm: ``"linf"`` gives the sign flow ``x' ∈ −Sign(∇f)`` (SignGD's
        flow), ``"l1"`` the greedy coordinate flow with tie facets, ``"l2"`` the normalized
        gradient flow ``x' = −∇f/‖∇f‖``.

    Returns
    -------
    FilippovSystem
        Piecewise affine (exact path) when the objective is quadratic and the norm is not ℓ2.

    Examples
    --------
    >>> import numpy as np
    >>> import filippov as fp
    >>> obj = fp.Objective.quadratic(np.diag([1.0, 2.0]), np.array([-1.0, 0.0]))
    >>> sys = fp.steepest_descent_flow(obj, norm="linf")
    >>> sys.selector(np.array([0.0, 1.0]))
    array([ 1., -1.])
    >>> sys.is_affine
    True
    """
    if not isinstance(objective, Objective):
        raise TypeError(
            f"`objective` must be a filippov Objective. Got {type(objective).__name__} instead."
        )
    if not isinstance(norm, str):
        raise TypeError(
            f"`norm` must be one of {sorted(_CONSTRAINT_TO_PHI)} (a string). "
            f"Got {type(norm).__name__} instead."
        )
    key = norm.lower()
    if key not in _CONSTRAINT_TO_PHI:
        raise ValueError(
            f"`norm` must be one of {sorted(_CONSTRAINT_TO_PHI)} (the constraint norm of the "
            f"steepest-descent flow). Got {norm!r} instead."
        )
    phi = _CONSTRAINT_TO_PHI[key]
    name = f"{key} steepest descent of {objective.name}"
    quad = objective.quadratic_data
    if quad is not None and phi != "l2":
        H, b, _ = quad
        n = H.shape[0]
        sys = FilippovSystem.affine(np.zeros(n), np.eye(n), H, b, phi, name=name)
        sys.objective = objective
        sys._B_is_identity = True
        return sys
    return _GradientFlowSystem(objective, phi, name)


class _GradientFlowSystem(FilippovSystem):
    """Steepest-descent flow of a general objective: ``f0 = 0``, ``B = I``, ``h = ∇f``."""

    #: The identity once built (see `_eye`); a class default for systems pickled before it.
    _identity = np.zeros((0, 0))

    def __init__(self, objective: Objective, phi: str, name: str) -> None:
        # With a known dimension f0 = 0 is a constant (built and checked once); otherwise
        # it is made to the size of each state. B = I is never a constant array: the
        # engine's paths for these flows skip products with it (`B_is_identity`), and an
        # n × n identity is 8 n² bytes (72 MB at n = 3000, against a sparse model's data
        # of a few MB); it is built once, when something asks for B itself.
        n = objective.n
        super().__init__(
            self._zero if n is None else np.zeros(n),
            self._eye,
            objective.grad,
            phi,
            jac_h=objective.hess,
            name=name,
            objective=objective,
        )
        self._B_is_identity = True

    @property
    def B_constant(self) -> FloatArray | None:
        # (B = I is constant; built when first asked for, see __init__)
        return None if self.n is None else self._eye(np.zeros(self.n))

    def kernel_jacobian_rows(self, x: FloatArray, rows: NDArray[np.intp], m: int) -> FloatArray:
        # Rows of the Hessian: k of them cost about k/n of the dense Hessian for objectives
        # that implement `hess_rows`. `x` is the engine's finite state (h(x) = ∇f(x) was
        # evaluated and checked first) and `rows` its index array, so only the result is
        # checked (shape and finiteness).
        assert self.objective is not None
        return self.objective.eval_hess_rows(x, rows)

    @staticmethod
    def _zero(x: FloatArray) -> FloatArray:
        return np.zeros_like(x)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_identity"] = np.zeros((0, 0))  # (rebuilt when asked for: not pickled)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_B_is_identity" not in state:
            # Pickled before `B_is_identity`: ``B`` was then ``np.eye(n)`` as a constant
            # (a known n) or the static method ``_eye``, stored by its name and loaded as
            # today's function, which takes the system too (``B(x)`` raised "missing 1
            # required positional argument"). Either is today's lazily built identity.
            self._B, self._B_const = self._eye, None
            self._B_is_identity = True

    def _eye(self, x: FloatArray) -> FloatArray:
        n = x.shape[0]
        # (one read of the attribute: a thread asking for another size in between cannot
        # hand this one its identity, of the wrong shape)
        eye = self._identity
        if eye.shape[0] != n:
            # (kept, read-only: the same n × n array for every evaluation that asks)
            eye = np.eye(n)
            eye.setflags(write=False)
            self._identity = eye
        return eye


def piecewise_system(
    F_minus: Field,
    F_plus: Field,
    h: Field,
    *,
    grad_h: Field | None = None,
    name: str = "two-field system",
) -> FilippovSystem:
    """A two-field discontinuous system ``x' = F−(x)`` if ``h(x) < 0``, ``F+(x)`` if ``h > 0``.

    In Lur'e form ``f0 = (F+ + F−)/2``, ``B = (F− − F+)/2`` and ``φ = |·|``, so on ``h = 0``
    the Filippov set is the segment between the two fields and sliding follows Filippov's
    convex combination.

    Parameters
    ----------
    F_minus, F_plus : callable
        The fields ``x -> (n,)`` on the two sides.
    h : callable
        The scalar switching function.
    grad_h : callable, optional
        ``x -> ∇h(x)`` of shape ``(n,)`` (finite differences with a warning otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.systems import piecewise_system
    >>> sys = piecewise_system(lambda x: np.array([1.0, 1.0]), lambda x: np.array([1.0, -1.0]),
    ...                        lambda x: x[1], grad_h=lambda x: np.array([0.0, 1.0]))
    >>> sys.classify(np.array([0.0, 0.0]), 0).kind
    'sliding'
    """

    require_callable(F_minus, "F_minus", "a callable x -> F-(x)")
    require_callable(F_plus, "F_plus", "a callable x -> F+(x)")
    require_callable(h, "h", "a callable x -> h(x)")
    if grad_h is not None:
        require_callable(grad_h, "grad_h", "a callable x -> grad h(x)")
    _require_name(name)

    parts = _TwoFields(F_minus, F_plus, h, grad_h)
    jac = parts.jac if grad_h is not None else None
    return FilippovSystem(parts.f0, parts.B, parts.h_vec, "l1", jac_h=jac, name=name)


class _TwoFields:
    """The Lur'e parts of a two-field system (methods of an object, not closures, so that
    the system pickles whenever the user's callables do)."""

    def __init__(self, F_minus: Field, F_plus: Field, h: Field, grad_h: Field | None) -> None:
        self.F_minus = user_function(F_minus, "F_minus")
        self.F_plus = user_function(F_plus, "F_plus")
        self.h = user_function(h, "h")
        self.grad_h = user_function(grad_h, "grad_h")

    @staticmethod
    def _field(F: Field, label: str, x: FloatArray) -> FloatArray:
        value = real_values(F(x), f"{label}(x)")
        if value.shape != x.shape:
            raise ValueError(
                f"`{label}(x)` must have shape {x.shape} (the state's). "
                f"Got shape {value.shape} instead."
            )
        return value

    def f0(self, x: FloatArray) -> FloatArray:
        return 0.5 * (
            self._field(self.F_plus, "F_plus", x) + self._field(self.F_minus, "F_minus", x)
        )

    def B(self, x: FloatArray) -> FloatArray:
        diff = self._field(self.F_minus, "F_minus", x) - self._field(self.F_plus, "F_plus", x)
        return (0.5 * diff).reshape(-1, 1)

    def h_vec(self, x: FloatArray) -> FloatArray:
        value = real_values(self.h(x), "h(x)")
        if value.size != 1:
            raise ValueError(
                "`h(x)` must be one scalar switching function for a two-field system. "
                f"Got shape {value.shape} instead."
            )
        return value.reshape(1)

    def jac(self, x: FloatArray) -> FloatArray:
        assert self.grad_h is not None
        value = real_values(self.grad_h(x), "grad_h(x)")
        if value.size != x.size:
            raise ValueError(
                f"`grad_h(x)` must have shape {x.shape} (the state's). "
                f"Got shape {value.shape} instead."
            )
        return value.reshape(1, -1)


def coulomb_oscillator(
    mu: float = 0.1, stiffness: float = 1.0, mass: float = 1.0
) -> FilippovSystem:
    """Mass-spring with dry (Coulomb) friction: ``m q'' + k q ∈ −μ Sign(q')``.

    State ``x = (q, v)``; in Lur'e form ``f0 = (v, −k q/m)``, ``B = (0, μ/m)ᵀ``, ``h = v``.
    The mass sticks for good once it stops with ``|k q| ≤ μ``.

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.systems import coulomb_oscillator
    >>> sys = coulomb_oscillator(mu=0.1)
    >>> sys.selector(np.array([1.0, 0.5]))
    array([ 0.5, -1.1])
    """
    mu = require_positive(mu, "mu")
    stiffness = require_positive(stiffness, "stiffness")
    mass = require_positive(mass, "mass")
    k_over_m, mu_over_m = stiffness / mass, mu / mass
    B = np.array([[0.0], [mu_over_m]])
    jac = np.array([[0.0, 1.0]])
    return FilippovSystem(
        functools.partial(_spring, k_over_m),
        B,
        _velocity,
        "l1",
        jac_h=_Constant(jac),
        name=f"Coulomb oscillator (mu={mu:g})",
    )


def twisting_system(a: float = 2.0, b: float = 1.0) -> FilippovSystem:
    """The twisting controller ``x1' = x2``, ``x2' ∈ −a Sign(x1) − b Sign(x2)`` (``a > b > 0``).

    It reaches the origin in finite time after infinitely many crossings (a Zeno point):
    the engine's accumulation guard is tested on it.

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.systems import twisting_system
    >>> twisting_system().selector(np.array([1.0, 1.0]))
    array([ 1., -3.])
    """
    a = require_positive(a, "a")
    b = require_positive(b, "b")
    if not a > b:
        raise ValueError(f"`a` must be greater than `b` (a > b > 0). Got a={a!r}, b={b!r} instead.")
    B = np.array([[0.0, 0.0], [a, b]])
    jac = np.eye(2)
    return FilippovSystem(
        _double_integrator,
        B,
        _state_copy,
        "l1",
        jac_h=_Constant(jac),
        name=f"twisting (a={a:g}, b={b:g})",
    )


# Module-level fields of the library systems (closures and lambdas do not pickle).
def _spring(k_over_m: float, x: FloatArray) -> FloatArray:
    return np.array([x[1], -k_over_m * x[0]])


def _velocity(x: FloatArray) -> FloatArray:
    return np.asarray(x[1:2], dtype=float)


def _double_integrator(x: FloatArray) -> FloatArray:
    return np.array([x[1], 0.0])


def _state_copy(x: FloatArray) -> FloatArray:
    return np.array(x, dtype=float)
