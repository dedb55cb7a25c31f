"""Norms, their duals, steepest-descent vertices and the faces of their subdifferentials.

A Filippov system ``x' ∈ f0(x) − B(x) ∂φ(h(x))`` is set-valued only through the
subdifferential ``∂φ(y)`` of a norm ``φ`` at ``y = h(x)``. This module describes that set
exactly, as a :class:`Face` (a fixed part plus a structured free part), for the three norms of
:doc:`/theory`, "One form for every system":

============  ==============================================  ===============================
``φ``         ``∂φ(y)``                                       where it is not a single point
============  ==============================================  ===============================
``"l1"``      ``λ_i = sign(y_i)`` off the zero set ``J``,     box ``[−1, 1]^J`` on the zero
              ``λ_J ∈ [−1, 1]^J``                             set (the ℓ∞ unit ball at y = 0)
``"linf"``    ``conv{sign(y_i) e_i : i ∈ A}``,                simplex over the tie set ``A``;
              ``A = argmax_i |y_i|``                          the ℓ1 unit ball at ``y = 0``
``"l2"``      ``{y / ‖y‖₂}``                                  Euclidean unit ball at ``y = 0``
============  ==============================================  ===============================

Tolerances: ``face(y, tol, atol=...)`` decides which entries of ``y`` are zero or tied
with the threshold ``θ = max(tol · ‖y‖∞, atol)``, so ``tol`` is relative to the scale of ``y`` and ``atol`` is an absolute floor (default 0: with
``atol = 0`` only an exactly zero ``y`` is zero as a whole). Entry ``i`` is *zero* when
``|y_i| ≤ θ``, *tied with the max* when ``|y_i| ≥ ‖y‖∞ − θ``, and ``y`` is *zero* as a whole when
``‖y‖∞ ≤ atol`` (equivalently, every entry is zero). ``lmo`` and ``subgradient`` use no
tolerance: they are exact selectors with the lowest-index tie rule.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from filippov._validation import as_float_array, as_vector, require_finite

__all__ = [
    "DEFAULT_FACE_TOL",
    "FACE_KINDS",
    "Face",
    "L1Norm",
    "L2Norm",
    "LinfNorm",
    "Norm",
    "get_norm",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Default relative tolerance of :meth:`Norm.face` (``tol=None``).
DEFAULT_FACE_TOL = 1e-12

#: The shapes a :class:`Face` can have.
FACE_KINDS = ("point", "box", "simplex", "ball")

_NORM_NAMES = ("l1", "linf", "l2")
_MAX_VERTEX_DIM = 20


def _int_array(value: ArrayLike) -> IntArray:
    arr = np.asarray(value, dtype=np.int64).reshape(-1)
    arr = arr.copy()
    arr.setflags(write=False)
    return arr


def _frozen_float(value: ArrayLike) -> FloatArray:
    arr = np.array(value, dtype=np.float64).reshape(-1)
    arr.setflags(write=False)
    return arr


def _project_simplex(v: FloatArray) -> FloatArray:
    """Euclidean projection of ``v`` onto the probability simplex (sort-based, exact)."""
    k = v.shape[0]
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    ind = np.arange(1, k + 1)
    rho = int(np.nonzero(u - css / ind > 0)[0][-1])
    theta = css[rho] / (rho + 1)
    return np.maximum(v - theta, 0.0)


@dataclass(frozen=True, eq=False)
class Face:
    """The subdifferential ``∂φ(y)`` of a norm at one point, as a structured convex set.

    Parameters
    ----------
    norm : str
        Name of the norm ``φ`` (``"l1"``, ``"linf"``, ``"l2"`` or a user norm's name).
    kind : {"point", "box", "simplex", "ball"}
        Shape of the set.
    center : (m,) array
        Fixed part of ``λ``: the signs ``sign(y_i)`` outside the free set and 0 on it; for
        ``kind == "point"`` it is the single element of the face.
    free : (k,) int array
        Index set of the free part: the zero set ``J`` for ℓ1, the tie set ``A`` for ℓ∞
        (also when ``|A| = 1``, then ``kind == "point"``), all indices for a ball.
    signs : (m,) int array
        ``sign(y)`` with entries treated as zero set to 0 (tie members of an ℓ∞ face keep
        their sign).

    Notes
    -----
    The set described, with ``e_i`` the unit vectors and ``s = signs``:

    * ``"point"``: ``{center}``;
    * ``"box"`` (ℓ1): ``{center + Σ_{j∈free} t_j e_j : t ∈ [−1, 1]^free}``;
    * ``"simplex"`` (ℓ∞, ``|A| ≥ 2``): ``{Σ_{i∈free} w_i s_i e_i : w ≥ 0, Σ w_i = 1}``;
    * ``"ball"``: the unit ball of the dual norm on the free indices — the Euclidean ball
      for ``norm == "l2"``, the ℓ1 ball (cross-polytope ``conv{±e_i}``) for
      ``norm == "linf"``; see :attr:`ball_norm`.

    :meth:`embed` maps coordinates of the free part (``t``, ``w`` or the ball point) to
    ``λ``; :meth:`coordinates` is its inverse on the face.

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.norms import get_norm
    >>> face = get_norm("l1").face([2.0, 0.0, -1.0])
    >>> face.kind, face.free.tolist(), face.center.tolist()
    ('box', [1], [1.0, 0.0, -1.0])
    >>> face.vertices().tolist()
    [[1.0, -1.0, -1.0], [1.0, 1.0, -1.0]]
    >>> face.contains([1.0, 0.3, -1.0]), face.contains([0.0, 0.3, -1.0])
    (True, False)
    >>> face.project([3.0, 5.0, 0.0]).tolist()
    [1.0, 1.0, -1.0]
    """

    norm: str
    kind: str
    center: FloatArray
    free: IntArray
    signs: IntArray

    def __post_init__(self) -> None:
        if not isinstance(self.norm, str) or not self.norm:
            raise ValueError(f"`norm` must be a norm name. Got {self.norm!r} instead.")
        if self.kind not in FACE_KINDS:
            raise ValueError(f"`kind` must be one of {FACE_KINDS}. Got {self.kind!r} instead.")
        if self.kind == "ball" and self.norm not in ("l2", "linf"):
            raise ValueError(
                "`kind` 'ball' is defined for the norms 'l2' (Euclidean ball) and 'linf' "
                f"(ℓ1 ball). Got norm {self.norm!r} instead."
            )
        center = _frozen_float(self.center)
        free = _int_array(self.free)
        signs = _int_array(self.signs)
        m = center.shape[0]
        if signs.shape[0] != m:
            raise ValueError(
                f"`signs` must have length {m} (like `center`). Got length {signs.shape[0]} "
                "instead."
            )
        if free.size and (free.min() < 0 or free.max() >= m or np.unique(free).size != free.size):
            raise ValueError(
                f"`free` must hold distinct indices in [0, {m}). Got {free.tolist()} instead."
            )
        object.__setattr__(self, "center", center)
        object.__setattr__(self, "free", free)
        object.__setattr__(self, "signs", signs)

    # -- identity -------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Face):
            return NotImplemented
        return (
            self.norm == other.norm
            and self.kind == other.kind
            and np.array_equal(self.center, other.center)
            and np.array_equal(self.free, other.free)
            and np.array_equal(self.signs, other.signs)
        )

    def __hash__(self) -> int:
        return hash(
            (
                self.norm,
                self.kind,
                self.center.tobytes(),
                self.free.tobytes(),
                self.signs.tobytes(),
            )
        )

    # -- geometry -------------------------------------------------------------------------
    @property
    def m(self) -> int:
        """Length of ``λ`` (the number of switching functions)."""
        return int(self.center.shape[0])

    @property
    def dim(self) -> int:
        """Affine dimension of the face: 0, ``|J|``, ``|A| − 1`` or ``m`` for a ball."""
        if self.kind == "point":
            return 0
        if self.kind == "simplex":
            return int(self.free.size) - 1
        return int(self.free.size)

    @property
    def ball_norm(self) -> str | None:
        """For a ``"ball"`` face, the norm whose unit ball it is (``"l2"`` or ``"l1"``)."""
        if self.kind != "ball":
            return None
        return "l2" if self.norm == "l2" else "l1"

    def vertices(self) -> FloatArray:
        """Extreme points of the face, one per row, shape ``(n_vertices, m)``.

        Boxes give ``2^|J|`` vertices (sign patterns in lexicographic order, −1 first),
        simplices ``|A|`` vertices ``s_i e_i``, the ℓ1 ball ``2m`` vertices
        ``+e_0, −e_0, +e_1, …``. A Euclidean ball has infinitely many extreme points:
        ``ValueError`` is raised.

        Examples
        --------
        >>> from filippov.norms import get_norm
        >>> get_norm("linf").face([3.0, -3.0, 1.0]).vertices().tolist()
        [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]
        """
        m = self.m
        if self.kind == "point":
            return self.center.reshape(1, m).copy()
        if self.kind == "simplex":
            out = np.zeros((self.free.size, m))
            out[np.arange(self.free.size), self.free] = self.signs[self.free]
            return out
        if self.kind == "ball":
            if self.ball_norm == "l2":
                raise ValueError(
                    "A Euclidean ball face has no finite vertex set. Sample its boundary "
                    "instead (e.g. center + unit vectors)."
                )
            out = np.zeros((2 * self.free.size, m))
            rows = np.arange(2 * self.free.size)
            out[rows, np.repeat(self.free, 2)] = np.tile([1.0, -1.0], self.free.size)
            return out
        k = self.free.size
        if k > _MAX_VERTEX_DIM:
            raise ValueError(
                f"A box face of dimension {k} has 2^{k} vertices; only dimensions up to "
                f"{_MAX_VERTEX_DIM} are listed."
            )
        patterns = np.array(list(itertools.product((-1.0, 1.0), repeat=k))).reshape(1 << k, k)
        out = np.tile(self.center, (patterns.shape[0], 1))
        out[:, self.free] = patterns
        return out

    def _as_lam(self, lam: ArrayLike) -> FloatArray:
        return as_vector(lam, "lam", n=self.m)

    def contains(self, lam: ArrayLike, tol: float = 1e-12) -> bool:
        """Whether ``lam`` lies in the face, up to the absolute tolerance ``tol``.

        Examples
        --------
        >>> from filippov.norms import get_norm
        >>> face = get_norm("linf").face([2.0, -2.0])
        >>> face.contains([0.25, -0.75]), face.contains([0.5, 0.5])
        (True, False)
        """
        x = self._as_lam(lam)
        if self.kind == "point":
            return bool(np.max(np.abs(x - self.center), initial=0.0) <= tol)
        fixed = np.ones(self.m, dtype=bool)
        fixed[self.free] = False
        if np.any(np.abs(x[fixed] - self.center[fixed]) > tol):
            return False
        xf = x[self.free]
        if self.kind == "box":
            return bool(np.all(np.abs(xf) <= 1.0 + tol))
        if self.kind == "simplex":
            w = xf * self.signs[self.free]
            return bool(np.all(w >= -tol) and abs(float(np.sum(w)) - 1.0) <= tol)
        if self.ball_norm == "l2":
            return bool(np.linalg.norm(xf) <= 1.0 + tol)
        return bool(np.sum(np.abs(xf)) <= 1.0 + tol)

    def project(self, lam: ArrayLike) -> FloatArray:
        """Nearest point of the face to ``lam`` in the Euclidean norm, shape ``(m,)``.

        Examples
        --------
        >>> from filippov.norms import get_norm
        >>> get_norm("l2").face([0.0, 0.0]).project([3.0, 4.0]).tolist()
        [0.6, 0.8]
        >>> get_norm("linf").face([1.0, 1.0]).project([1.0, 0.0]).tolist()
        [1.0, 0.0]
        """
        x = self._as_lam(lam)
        if self.kind == "point":
            return self.center.copy()
        out = self.center.copy()
        xf = x[self.free]
        if self.kind == "box":
            out[self.free] = np.clip(xf, -1.0, 1.0)
        elif self.kind == "simplex":
            s = self.signs[self.free]
            out[self.free] = s * _project_simplex(s * xf)
        elif self.ball_norm == "l2":
            nrm = float(np.linalg.norm(xf))
            out[self.free] = xf / max(1.0, nrm)
        elif np.sum(np.abs(xf)) <= 1.0:
            out[self.free] = xf
        else:
            out[self.free] = np.sign(xf) * _project_simplex(np.abs(xf))
        return out

    def embed(self, values: ArrayLike) -> FloatArray:
        """``λ`` from coordinates of the free part, shape ``(m,)``.

        ``values`` has one entry per index in :attr:`free`: the box values ``t`` (ℓ1), the
        simplex weights ``w`` (ℓ∞: ``λ = Σ w_i s_i e_i``), or the ball point. For a point
        face ``values`` is ignored (it may be empty) and :attr:`center` is returned.
        Membership is not checked: use :meth:`contains` or :meth:`project`.

        Examples
        --------
        >>> from filippov.norms import get_norm
        >>> face = get_norm("linf").face([-1.0, 0.5, 1.0])
        >>> face.embed([0.25, 0.75]).tolist()
        [-0.25, 0.0, 0.75]
        """
        if self.kind == "point":
            return self.center.copy()
        v = as_vector(values, "values", n=int(self.free.size))
        out = self.center.copy()
        if self.kind == "simplex":
            out[self.free] = self.signs[self.free] * v
        else:
            out[self.free] = v
        return out

    def coordinates(self, lam: ArrayLike) -> FloatArray:
        """Inverse of :meth:`embed`: the free-part coordinates of ``lam``, shape ``(k,)``.

        Examples
        --------
        >>> from filippov.norms import get_norm
        >>> face = get_norm("linf").face([-1.0, 0.5, 1.0])
        >>> face.coordinates([-0.25, 0.0, 0.75]).tolist()
        [0.25, 0.75]
        """
        x = self._as_lam(lam)
        if self.kind == "point":
            return np.zeros(0) if self.norm != "linf" else np.ones(self.free.size)
        xf = x[self.free]
        if self.kind == "simplex":
            return xf * self.signs[self.free]
        return xf.copy()


def _as_batch(value: ArrayLike, name: str) -> tuple[FloatArray, bool]:
    """Validate ``(n,)`` or ``(m, n)`` finite input; return it as 2-D and whether it was 1-D."""
    arr = as_float_array(value, name)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim not in (1, 2) or arr.shape[-1] == 0:
        raise ValueError(
            f"`{name}` must be a non-empty vector (n,) or a batch (m, n). Got an array of "
            f"shape {arr.shape} instead."
        )
    require_finite(arr, name)
    return (arr.reshape(1, -1), True) if arr.ndim == 1 else (arr, False)


class Norm(ABC):
    """A norm ``φ`` on ``R^m``: value, dual, steepest-descent vertex and subdifferential faces.

    The public methods validate their input and call private ones that do the maths on
    float arrays. Batches are supported by :meth:`lmo` and :meth:`subgradient`: a
    ``(batch, m)`` input is processed row by row and returns the same shape.

    Notes
    -----
    To write a new norm, subclass :class:`Norm`, set the class attributes ``name`` and
    ``dual_name`` (a name known to :func:`get_norm`; otherwise override the :attr:`dual`
    property to return the dual norm object) and implement

    * ``_value(Y)``: the norm of each row of a ``(batch, m)`` array, shape ``(batch,)``;
    * ``_subgradient(Y)``: one element of ``∂φ(y)`` per row, deterministic (the selector
      the explicit schemes step with);
    * ``_face(y, theta, is_zero)``: the :class:`Face` ``∂φ(y)`` for a finite 1-D ``y``,
      the zero/tie threshold ``theta`` (see the module docstring) and whether ``y`` counts
      as zero.

    :meth:`lmo` need not be written: it is ``−∂‖g‖_*``'s selector, i.e.
    ``−dual._subgradient(g)``, which minimizes ``⟨g, v⟩`` over the unit ball of ``φ``.

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.norms import get_norm
    >>> norm = get_norm("linf")
    >>> norm([3.0, -4.0]), norm.dual([3.0, -4.0])
    (4.0, 7.0)
    >>> norm.lmo([3.0, -4.0]).tolist()
    [-1.0, 1.0]
    """

    name: ClassVar[str]
    dual_name: ClassVar[str]

    # -- public, validating -------------------------------------------------------------
    def __call__(self, y: ArrayLike) -> float:
        """The norm of the vector ``y``."""
        yy = as_vector(y, "y")
        return float(self._value(yy.reshape(1, -1))[0])

    @property
    def dual(self) -> Norm:
        """The dual norm ``‖g‖_* = max_{‖v‖≤1} ⟨g, v⟩``."""
        return get_norm(self.dual_name)

    def lmo(self, g: ArrayLike) -> FloatArray:
        """Linear minimization oracle: ``argmin_{‖v‖ ≤ 1} ⟨g, v⟩``, same shape as ``g``.

        A steepest-descent direction: ``⟨g, lmo(g)⟩ = −‖g‖_*``. Ties are broken towards the
        lowest index, and coordinates with ``g_i = 0`` get 0 (the minimal-norm choice), so
        the result is a vertex of the unit ball whenever ``g`` has no zero entries.

        Examples
        --------
        >>> from filippov.norms import get_norm
        >>> get_norm("l1").lmo([[1.0, -2.0, 2.0], [0.0, 0.0, 0.0]]).tolist()
        [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
        """
        G, single = _as_batch(g, "g")
        out = self._lmo(G)
        return out[0] if single else out

    def subgradient(self, y: ArrayLike) -> FloatArray:
        """One element of ``∂φ(y)``: the deterministic selector, same shape as ``y``.

        ``sign(y)`` for ℓ1 (0 on exact zeros), the lowest-index vertex ``sign(y_i) e_i`` of
        the tie facet for ℓ∞, ``y/‖y‖₂`` for ℓ2; at ``y = 0`` every norm returns 0, the
        minimal-norm element of ``∂φ(0)``. No tolerance is applied.

        Examples
        --------
        >>> from filippov.norms import get_norm
        >>> get_norm("l1").subgradient([0.5, 0.0, -2.0]).tolist()
        [1.0, 0.0, -1.0]
        >>> get_norm("linf").subgradient([0.5, -2.0, 2.0]).tolist()
        [0.0, -1.0, 0.0]
        """
        Y, single = _as_batch(y, "y")
        out = self._subgradient(Y)
        return out[0] if single else out

    def face(self, y: ArrayLike, tol: float | None = None, *, atol: float = 0.0) -> Face:
        """The face ``∂φ(y)`` as a :class:`Face`.

        Parameters
        ----------
        y : (m,) array_like
            Point at which the subdifferential is taken (finite).
        tol : float, optional
            Relative zero/tie tolerance in ``[0, 1)``, default :data:`DEFAULT_FACE_TOL`.
        atol : float, optional
            Absolute floor of the threshold ``θ = max(tol ‖y‖∞, atol)``.

        Examples
        --------
        >>> from filippov.norms import get_norm
        >>> get_norm("l1").face([1.0, 1e-15], tol=1e-12).kind
        'box'
        >>> get_norm("l1").face([1.0, 1e-15], tol=0.0).kind
        'point'
        """
        yy = as_vector(y, "y")
        if yy.size == 0:
            raise ValueError("`y` must be non-empty. Got an empty vector instead.")
        rtol = DEFAULT_FACE_TOL if tol is None else float(tol)
        if not (np.isfinite(rtol) and 0.0 <= rtol < 1.0):
            raise ValueError(f"`tol` must be in [0, 1). Got {tol!r} instead.")
        abs_tol = float(atol)
        if not (np.isfinite(abs_tol) and abs_tol >= 0.0):
            raise ValueError(f"`atol` must be a finite number >= 0. Got {atol!r} instead.")
        ymax = float(np.max(np.abs(yy)))
        theta = max(rtol * ymax, abs_tol)
        return self._face(yy, theta, ymax <= abs_tol)

    # -- private, computing ---------------------------------------------------------------
    @abstractmethod
    def _value(self, Y: FloatArray) -> FloatArray: ...

    @abstractmethod
    def _subgradient(self, Y: FloatArray) -> FloatArray: ...

    @abstractmethod
    def _face(self, y: FloatArray, theta: float, is_zero: bool) -> Face: ...

    def _lmo(self, G: FloatArray) -> FloatArray:
        return -self.dual._subgradient(G)

    @staticmethod
    def _snapped_signs(y: FloatArray, theta: float) -> IntArray:
        return (np.sign(y) * (np.abs(y) > theta)).astype(np.int64)

    # -- identity -------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Norm) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("filippov.Norm", self.name))


class L1Norm(Norm):
    """The ℓ1 norm ``Σ|y_i|`` (relay / sign nonlinearity); dual ℓ∞.

    ``∂‖y‖₁`` is ``sign(y)`` off the zero set ``J`` and the box ``[−1, 1]^J`` on it.

    Examples
    --------
    >>> from filippov.norms import L1Norm
    >>> L1Norm()([1.0, -2.0]), L1Norm().dual.name
    (3.0, 'linf')
    """

    name = "l1"
    dual_name = "linf"

    def _value(self, Y: FloatArray) -> FloatArray:
        return np.sum(np.abs(Y), axis=1)

    def _subgradient(self, Y: FloatArray) -> FloatArray:
        return np.sign(Y)

    def _face(self, y: FloatArray, theta: float, is_zero: bool) -> Face:
        signs = self._snapped_signs(y, theta)
        free = np.flatnonzero(signs == 0)
        return Face(
            norm=self.name,
            kind="box" if free.size else "point",
            center=signs.astype(np.float64),
            free=free,
            signs=signs,
        )


class LinfNorm(Norm):
    """The ℓ∞ norm ``max|y_i|`` (greedy / max nonlinearity); dual ℓ1.

    For ``y ≠ 0``, ``∂‖y‖∞ = conv{sign(y_i) e_i : i ∈ A}`` with ``A = argmax_i |y_i|``: a
    simplex over the tie set (a point when ``|A| = 1``). At ``y = 0`` it is the ℓ1 unit
    ball, returned as a ``"ball"`` face with ``ball_norm == "l1"``.

    Examples
    --------
    >>> from filippov.norms import LinfNorm
    >>> face = LinfNorm().face([2.0, -2.0, 1.0])
    >>> face.kind, face.free.tolist(), face.dim
    ('simplex', [0, 1], 1)
    """

    name = "linf"
    dual_name = "l1"

    def _value(self, Y: FloatArray) -> FloatArray:
        return np.max(np.abs(Y), axis=1)

    def _lmo(self, G: FloatArray) -> FloatArray:
        # -sign(G), the generic -dual._subgradient(G) negated in place: this is SignGD's
        # direction, computed at every step of every run
        v = np.sign(G)
        return np.negative(v, out=v)

    def _subgradient(self, Y: FloatArray) -> FloatArray:
        absY = np.abs(Y)
        idx = np.argmax(absY, axis=1)
        rows = np.arange(Y.shape[0])
        out = np.zeros_like(Y)
        out[rows, idx] = np.sign(Y[rows, idx])
        return out

    def _face(self, y: FloatArray, theta: float, is_zero: bool) -> Face:
        m = y.shape[0]
        if is_zero:
            return Face(
                norm=self.name,
                kind="ball",
                center=np.zeros(m),
                free=np.arange(m),
                signs=np.zeros(m, dtype=np.int64),
            )
        absy = np.abs(y)
        ties = np.flatnonzero(absy >= np.max(absy) - theta)
        signs = self._snapped_signs(y, theta)
        signs[ties] = np.sign(y[ties]).astype(np.int64)
        center = np.zeros(m)
        if ties.size == 1:
            center[ties] = signs[ties]
            return Face(norm=self.name, kind="point", center=center, free=ties, signs=signs)
        return Face(norm=self.name, kind="simplex", center=center, free=ties, signs=signs)


class L2Norm(Norm):
    """The Euclidean norm; self-dual. ``∂‖y‖₂ = {y/‖y‖₂}``, the unit ball at ``y = 0``.

    Examples
    --------
    >>> from filippov.norms import L2Norm
    >>> L2Norm().subgradient([3.0, 4.0]).tolist()
    [0.6, 0.8]
    """

    name = "l2"
    dual_name = "l2"

    def _value(self, Y: FloatArray) -> FloatArray:
        return _scaled_l2(Y)

    def _subgradient(self, Y: FloatArray) -> FloatArray:
        # Divide by the max modulus first: no overflow or underflow for extreme scales.
        ymax = np.max(np.abs(Y), axis=1, keepdims=True)
        Z = Y / np.where(ymax > 0.0, ymax, 1.0)
        nrm = np.linalg.norm(Z, axis=1, keepdims=True)
        return np.where(nrm > 0.0, Z / np.where(nrm > 0.0, nrm, 1.0), 0.0)

    def _face(self, y: FloatArray, theta: float, is_zero: bool) -> Face:
        m = y.shape[0]
        signs = self._snapped_signs(y, theta)
        if is_zero:
            return Face(
                norm=self.name, kind="ball", center=np.zeros(m), free=np.arange(m), signs=signs
            )
        return Face(
            norm=self.name,
            kind="point",
            center=self._subgradient(y.reshape(1, -1))[0],
            free=np.zeros(0, dtype=np.int64),
            signs=signs,
        )


def _scaled_l2(Y: FloatArray) -> FloatArray:
    """Row-wise Euclidean norms, safe from overflow and underflow (scaled by the max)."""
    ymax = np.max(np.abs(Y), axis=1)
    safe = np.where(ymax > 0.0, ymax, 1.0)
    return ymax * np.linalg.norm(Y / safe[:, None], axis=1)


_REGISTRY: dict[str, Norm] = {"l1": L1Norm(), "linf": LinfNorm(), "l2": L2Norm()}


def get_norm(norm: str | Norm) -> Norm:
    """The norm object for ``norm`` (``"l1"``, ``"linf"`` or ``"l2"``, case-insensitive).

    A :class:`Norm` instance is returned unchanged.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the choices.
    TypeError
        For anything that is neither a string nor a :class:`Norm`.

    Examples
    --------
    >>> from filippov.norms import get_norm
    >>> get_norm("Linf").dual
    L1Norm()
    >>> get_norm("lp")
    Traceback (most recent call last):
    ...
    ValueError: `norm` must be one of 'l1', 'linf', 'l2'. Got 'lp' instead.
    """
    if isinstance(norm, Norm):
        return norm
    if not isinstance(norm, str):
        raise TypeError(
            f"`norm` must be a string ('l1', 'linf', 'l2') or a Norm. Got {norm!r} instead."
        )
    key = norm.strip().lower()
    if key not in _REGISTRY:
        choices = ", ".join(repr(n) for n in _NORM_NAMES)
        raise ValueError(f"`norm` must be one of {choices}. Got {norm!r} instead.")
    return _REGISTRY[key]
