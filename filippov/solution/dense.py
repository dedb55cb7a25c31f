"""Dense output of a segment: linear, Hermite, nodal and callable.

Four kinds, chosen so that a solution can be saved and loaded *exactly*
(:mod:`filippov.solution`): :class:`LinearDense` (the exact path),
:class:`HermiteDense` (nodes ``(t, y, dy)``), :class:`NodalDense` (values at 17
Chebyshev--Lobatto nodes per piece: the event path) and :class:`CallableDense` (any
callable; saved as Hermite samples, see :mod:`filippov.solution.resample`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from filippov._validation import (
    FloatArray,
    as_float_array,
    as_matrix,
    as_vector,
    preview,
    require_finite,
    require_int,
)
from filippov.solution.records import as_time, readonly_view, trusted_record

if TYPE_CHECKING:
    from scipy.interpolate import CubicHermiteSpline

__all__ = [
    "NODAL_POINTS",
    "CallableDense",
    "HermiteDense",
    "LinearDense",
    "NodalDense",
    "NodeValues",
    "SegmentDense",
    "nodal_times",
]

# --------------------------------------------------------------------------- dense output


class SegmentDense(ABC):
    """Dense output of one segment: ``__call__(t)`` maps times ``(k,)`` to states ``(k, n)``.

    Subclasses are immutable and implement :meth:`_evaluate` without range checks
    (:class:`Segment` checks the range). A new kind must also be handled by
    :meth:`FilippovSolution.save`, which stores other kinds as Hermite samples.
    """

    #: Short name of the representation ("linear", "hermite", "nodal", "callable").
    kind: ClassVar[str] = ""

    @property
    @abstractmethod
    def n(self) -> int:
        """State dimension."""

    @property
    def saveable(self) -> bool:
        """Whether :meth:`FilippovSolution.save` stores this representation exactly."""
        return True

    @abstractmethod
    def _evaluate(self, t: FloatArray) -> FloatArray:
        """States at the 1-D times ``t`` as an array of shape ``(len(t), n)``."""

    def __call__(self, t: ArrayLike) -> FloatArray:
        """Evaluate at times ``t``: scalar -> ``(n,)``, 1-D array -> ``(len(t), n)``."""
        ts = as_float_array(t, "t")
        if ts.ndim > 1:
            raise ValueError(
                f"`t` must be a scalar or a 1-D array. Got an array of shape {ts.shape} instead."
            )
        out = self._evaluate(np.atleast_1d(ts))
        return out[0] if ts.ndim == 0 else out


@dataclass(frozen=True, eq=False, init=False)
class LinearDense(SegmentDense):
    """Exact linear path ``x(t) = x0 + (t - t0) v`` (the exact path: :doc:`/design`).

    Parameters
    ----------
    t0 : float
        Start time of the segment.
    x0 : array_like, shape (n,)
        State at ``t0``.
    v : array_like, shape (n,)
        Constant velocity.

    Examples
    --------
    >>> from filippov.solution import LinearDense
    >>> LinearDense(1.0, [0.0, 1.0], [2.0, -1.0])([1.0, 1.5])
    array([[0. , 1. ],
           [1. , 0.5]])
    """

    kind: ClassVar[str] = "linear"
    t0: float
    x0: FloatArray
    v: FloatArray

    def __init__(self, t0: float, x0: ArrayLike, v: ArrayLike) -> None:
        x0_arr = as_vector(x0, "x0")
        v_arr = as_vector(v, "v", n=x0_arr.shape[0])
        object.__setattr__(self, "t0", as_time(t0, "t0"))
        object.__setattr__(self, "x0", readonly_view(x0_arr))
        object.__setattr__(self, "v", readonly_view(v_arr))

    @property
    def n(self) -> int:
        return int(self.x0.shape[0])

    def _evaluate(self, t: FloatArray) -> FloatArray:
        return self.x0[None, :] + (t - self.t0)[:, None] * self.v[None, :]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LinearDense):
            return NotImplemented
        return (
            self.t0 == other.t0
            and np.array_equal(self.x0, other.x0)
            and np.array_equal(self.v, other.v)
        )

    def __hash__(self) -> int:
        return hash((self.t0, self.x0.tobytes(), self.v.tobytes()))


@dataclass(frozen=True, eq=False, init=False)
class HermiteDense(SegmentDense):
    """Piecewise cubic Hermite interpolant through nodes ``(t, y, dy)``.

    Evaluated with :class:`scipy.interpolate.CubicHermiteSpline`; the nodes are what
    :meth:`FilippovSolution.save` stores, so a loaded interpolant is identical.
    On a node spacing ``h`` the interpolation error is at most
    ``h**4 / 384 * max|x''''|``.

    Parameters
    ----------
    t : array_like, shape (N,)
        Strictly increasing nodes, ``N >= 2``.
    y, dy : array_like, shape (N, n)
        States and velocities at the nodes (a 1-D array is read as ``n = 1``).
    source : {"samples", "ode_solution", "callable"}, default "samples"
        Where the nodes came from (``"callable"``: resampled from a callable on save).
    error : float or None, default None
        Largest deviation from the source measured at the node midpoints when the nodes
        were chosen adaptively (``None`` for user-given samples).

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.solution import HermiteDense
    >>> t = np.linspace(0.0, 1.0, 3)
    >>> d = HermiteDense(t, t**3, 3 * t**2)   # a cubic is reproduced exactly
    >>> float(d(0.3)[0]), float(0.3**3)
    (0.027, 0.027)
    """

    kind: ClassVar[str] = "hermite"
    t: FloatArray
    y: FloatArray
    dy: FloatArray
    source: str = "samples"
    error: float | None = None
    _spline: CubicHermiteSpline = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        t: ArrayLike,
        y: ArrayLike,
        dy: ArrayLike,
        source: str = "samples",
        error: float | None = None,
    ) -> None:
        t_arr = as_vector(t, "t")
        if t_arr.shape[0] < 2:
            raise ValueError(f"`t` must hold at least 2 nodes. Got {t_arr.shape[0]} instead.")
        steps = np.diff(t_arr)
        if np.any(steps <= 0):
            i = int(np.argmax(steps <= 0))
            raise ValueError(
                f"`t` must be strictly increasing. Got t[{i}] = {float(t_arr[i])!r} >= "
                f"t[{i + 1}] = {float(t_arr[i + 1])!r} instead."
            )
        y_arr = as_float_array(y, "y")
        y_arr = as_matrix(y_arr[:, None] if y_arr.ndim == 1 else y_arr, "y", (len(t_arr), None))
        dy_arr = as_float_array(dy, "dy")
        dy_arr = as_matrix(dy_arr[:, None] if dy_arr.ndim == 1 else dy_arr, "dy", y_arr.shape)
        if source not in ("samples", "ode_solution", "callable"):
            raise ValueError(
                "`source` must be one of 'samples', 'ode_solution', 'callable'. "
                f"Got {source!r} instead."
            )
        object.__setattr__(self, "t", readonly_view(t_arr))
        object.__setattr__(self, "y", readonly_view(y_arr))
        object.__setattr__(self, "dy", readonly_view(dy_arr))
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "error", None if error is None else as_time(error, "error"))
        from scipy.interpolate import CubicHermiteSpline  # (here: `import filippov` stays light)

        object.__setattr__(self, "_spline", CubicHermiteSpline(t_arr, y_arr, dy_arr, axis=0))

    @property
    def n(self) -> int:
        return int(self.y.shape[1])

    def _evaluate(self, t: FloatArray) -> FloatArray:
        return np.asarray(self._spline(t), dtype=np.float64)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HermiteDense):
            return NotImplemented
        return (
            np.array_equal(self.t, other.t)
            and np.array_equal(self.y, other.y)
            and np.array_equal(self.dy, other.dy)
            and self.source == other.source
            and self.error == other.error
        )

    def __hash__(self) -> int:
        return hash((self.t.tobytes(), self.y.tobytes(), self.dy.tobytes(), self.source))

    def __repr__(self) -> str:
        return (
            f"HermiteDense(nodes={len(self.t)}, t=[{float(self.t[0])!r}, {float(self.t[-1])!r}], n={self.n}, "
            f"source={self.source!r}, error={self.error!r})"
        )


class CallableDense(SegmentDense):
    """Dense output given by a callable (kept in memory, resampled on save).

    Parameters
    ----------
    fun : callable
        ``fun(t)`` with a float ``t`` returns the state, shape ``(n,)``; with
        ``vectorized=True``, ``fun(ts)`` with ``ts`` of shape ``(k,)`` returns ``(k, n)``.
    n : int
        State dimension.
    vectorized : bool, default False
        Whether ``fun`` accepts an array of times.

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.solution import CallableDense
    >>> d = CallableDense(lambda t: np.array([np.cos(t), np.sin(t)]), 2)
    >>> d([0.0]).shape, d.saveable
    ((1, 2), False)
    """

    kind: ClassVar[str] = "callable"

    def __init__(self, fun: Callable[[Any], Any], n: int, vectorized: bool = False) -> None:
        if not callable(fun):
            raise TypeError(f"`fun` must be callable. Got {fun!r} instead.")
        self._fun = fun
        self._n = require_int(n, "n", minimum=0)
        self._vectorized = bool(vectorized)

    @property
    def fun(self) -> Callable[[Any], Any]:
        """The callable."""
        return self._fun

    @property
    def n(self) -> int:
        return self._n

    @property
    def vectorized(self) -> bool:
        """Whether ``fun`` takes an array of times."""
        return self._vectorized

    @property
    def saveable(self) -> bool:
        return False

    def _evaluate(self, t: FloatArray) -> FloatArray:
        if self._vectorized:
            out = np.asarray(self._fun(t), dtype=np.float64)
            want: tuple[int, ...] = (len(t), self._n)
        else:
            rows = [np.asarray(self._fun(float(ti)), dtype=np.float64) for ti in t]
            want = (self._n,)
            for row in rows:
                if row.shape != want:
                    out = row
                    break
            else:
                out = np.array(rows, dtype=np.float64).reshape(len(t), self._n)
                want = out.shape
        if out.shape != want:
            raise ValueError(
                f"`fun` must return states of shape {want}. Got an array of shape "
                f"{out.shape} instead."
            )
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CallableDense):
            return NotImplemented
        return (self._fun is other._fun and self._n == other._n
                and self._vectorized == other._vectorized)  # fmt: skip

    def __hash__(self) -> int:
        return hash((id(self._fun), self._n, self._vectorized))

    def __repr__(self) -> str:
        return f"CallableDense({self._fun!r}, n={self._n}, vectorized={self._vectorized})"


#: Nodes per piece of a :class:`NodalDense`: Chebyshev--Lobatto points of degree 16, more
#: than the step polynomials of every solve_ivp method need (degree <= 12), with room for
#: the smooth projection of the event path's sliding modes.
NODAL_POINTS = 17
_NODAL_UNIT = 0.5 * (1.0 - np.cos(np.pi * np.arange(NODAL_POINTS) / (NODAL_POINTS - 1)))
_NODAL_UNIT[0], _NODAL_UNIT[-1] = 0.0, 1.0
_NODAL_WEIGHTS = (-1.0) ** np.arange(NODAL_POINTS)
_NODAL_WEIGHTS[[0, -1]] *= 0.5


@dataclass(frozen=True, eq=False, init=False)
class NodalDense(SegmentDense):
    """Piecewise polynomial given by its values at Chebyshev--Lobatto nodes of each piece.

    Piece ``k`` spans ``[breaks[k], breaks[k + 1]]``; its 17 nodes are
    ``breaks[k] + (breaks[k + 1] - breaks[k]) (1 - cos(pi j / 16)) / 2``, ``j = 0..16``
    (both ends included, the last exactly ``breaks[k + 1]``), and the state between them
    is the degree-16 interpolant, evaluated by the barycentric formula (exactly the
    stored value at a node). This is how the event path stores a mode: one piece per
    integrator step, sampled from the integrator's dense output (projected onto the
    mode's sliding manifold); step polynomials of degree <= 16 are reproduced to
    rounding. The nodes are the data: :meth:`FilippovSolution.save` writes them and
    :meth:`FilippovSolution.load` and pickling give back an equal object that evaluates
    bit for bit like the original.

    Parameters
    ----------
    breaks : array_like, shape (P + 1,)
        Non-decreasing piece boundaries, ``P >= 1``, on the clock ``t - offset``.
    values : array_like, shape (P, 17, n)
        States at the nodes of each piece.
    offset : float, default 0.0
        Time shift: the state at ``t`` is the interpolant's at ``t - offset``. (The engine
        integrates from 0 and shifts once; a late start such as ``t0 = 1e15``, where a
        time is resolved to 0.125 only, keeps the full resolution of the pieces.)

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.solution import NodalDense
    >>> d = NodalDense.sample(lambda t: np.exp(-t)[:, None], [0.0, 0.5, 1.0], n=1)
    >>> bool(abs(d(0.3)[0] - np.exp(-0.3)) < 1e-14), d.nodes().shape  # exact to rounding
    (True, (2, 17))
    """

    kind: ClassVar[str] = "nodal"
    breaks: FloatArray
    offset: float = 0.0
    _store: NodeValues = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __init__(self, breaks: ArrayLike, values: ArrayLike, offset: float = 0.0) -> None:
        b = as_vector(breaks, "breaks")
        if b.shape[0] < 2:
            raise ValueError(f"`breaks` must hold at least 2 times. Got {b.shape[0]} instead.")
        require_finite(b, "breaks")
        if np.any(np.diff(b) < 0):
            raise ValueError(f"`breaks` must be non-decreasing. Got {preview(b)} instead.")
        v = as_float_array(values, "values")
        if v.ndim != 3 or v.shape[:2] != (b.shape[0] - 1, NODAL_POINTS):
            raise ValueError(
                f"`values` must have shape ({b.shape[0] - 1}, {NODAL_POINTS}, n). "
                f"Got an array of shape {v.shape} instead."
            )
        object.__setattr__(self, "breaks", readonly_view(b))
        object.__setattr__(self, "offset", as_time(offset, "offset"))
        object.__setattr__(self, "_store", NodeValues(v.shape[2], values=readonly_view(v)))

    @classmethod
    def sample(cls, fun: Callable[[FloatArray], Any], breaks: ArrayLike, n: int) -> NodalDense:
        """``fun`` (times ``(k,)`` -> states ``(k, n)``) at the nodes of ``breaks``.

        ``fun`` is called once, when the values are first needed (to evaluate, compare,
        save or pickle): the engine then spends nothing on the dense output of a solution
        that is never read between its breakpoints. The values do not depend on when.
        """
        b = readonly_view(as_vector(breaks, "breaks"))
        return trusted_record(cls, breaks=b, offset=0.0, _store=NodeValues(n, fun=fun, breaks=b))

    @property
    def values(self) -> FloatArray:
        """States at the nodes, shape ``(P, 17, n)``."""
        return self._store.get()

    def _until(self, t1: float) -> NodalDense:
        """The same interpolant on its pieces up to ``t1`` (on the clock ``t - offset``),
        the last one cut there. A piece's polynomial restricted to a sub-interval is the
        same polynomial, so the cut piece's values are its own to rounding; when the
        values are not taken yet, they will be taken from the same source, at the new
        nodes (nothing is evaluated now)."""
        b = np.asarray(self.breaks)
        breaks = np.append(b[b < t1], t1)
        source = self._store.source()
        return NodalDense.sample(source if source is not None else self, breaks, self._store.n)

    def _state_at(self, t: float) -> FloatArray:
        """The state at ``t`` (clock ``t - offset``), from the source while the values
        are not taken yet: one evaluation, not the whole segment's nodes."""
        source = self._store.source()
        if source is None:
            return np.asarray(self(t + self.offset), dtype=float)
        return np.asarray(source(np.array([t])), dtype=float).reshape(-1)[: self._store.n]

    def _shifted(self, dt: float) -> NodalDense:
        """The same interpolant read at ``t - dt`` (sharing the values)."""
        return trusted_record(
            NodalDense, breaks=self.breaks, offset=self.offset + dt, _store=self._store
        )

    def nodes(self) -> FloatArray:
        """Node times on the clock ``t - offset``, shape ``(P, 17)``."""
        return nodal_times(self.breaks)

    @property
    def t0(self) -> float:
        """Start time, ``breaks[0] + offset``."""
        return float(self.breaks[0]) + self.offset

    @property
    def t1(self) -> float:
        """End time, ``breaks[-1] + offset``."""
        return float(self.breaks[-1]) + self.offset

    @property
    def n(self) -> int:
        return self._store.n

    def _evaluate(self, t: FloatArray) -> FloatArray:
        # Own code rather than scipy's BarycentricInterpolator: that is one object per
        # piece, where here all pieces are evaluated together and grouped by piece.
        b = self.breaks
        if self.offset:
            t = t - self.offset
        k = np.clip(np.searchsorted(b, t, side="right") - 1, 0, len(b) - 2)
        nodes = nodal_times(b[k], b[k + 1])  # (m, 17)
        diff = t[:, None] - nodes
        hit = diff == 0.0
        q = _NODAL_WEIGHTS / np.where(hit, 1.0, diff)
        out = np.empty((len(t), self.n))
        for piece in np.unique(k):
            rows = np.flatnonzero(k == piece)
            qk = q[rows]
            # Interpolate the change from the piece's first state, then add that state:
            # the rounding then scales with how far the state moves over the piece, not
            # with |x| (like the integrators' own y_old + h Q p form), so the output is
            # as smooth as theirs at the scale of a finite difference.
            base = self.values[piece, 0]
            change = (qk @ (self.values[piece] - base)) / np.sum(qk, axis=1)[:, None]
            out[rows] = base + change
        exact = np.flatnonzero(hit.any(axis=1))
        if exact.size:
            out[exact] = self.values[k[exact], np.argmax(hit[exact], axis=1)]
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NodalDense):
            return NotImplemented
        return (
            np.array_equal(self.breaks, other.breaks)
            and np.array_equal(self.values, other.values)
            and self.offset == other.offset
        )

    def __hash__(self) -> int:
        return hash((self.breaks.tobytes(), self.values.tobytes(), self.offset))

    def __repr__(self) -> str:
        return (
            f"NodalDense(pieces={len(self.breaks) - 1}, t=[{float(self.breaks[0])!r}, "
            f"{float(self.breaks[-1])!r}], offset={self.offset!r}, n={self.n})"
        )


class NodeValues:
    """The node values of a :class:`NodalDense`, computed from their source on first use.

    Shared by a dense output and its time-shifted copies; pickles as the values alone.
    """

    __slots__ = ("_breaks", "_fun", "_values", "n")

    def __init__(
        self,
        n: int,
        *,
        values: FloatArray | None = None,
        fun: Callable[[FloatArray], Any] | None = None,
        breaks: FloatArray | None = None,
    ) -> None:
        self.n = n
        self._values, self._fun, self._breaks = values, fun, breaks

    def source(self) -> Callable[[FloatArray], Any] | None:
        """The function the values are to be taken from, while they are not taken yet."""
        return self._fun if self._values is None else None

    def get(self) -> FloatArray:
        if self._values is None:
            assert self._fun is not None and self._breaks is not None
            t = nodal_times(self._breaks).ravel()
            shape = (len(self._breaks) - 1, NODAL_POINTS, self.n)
            self._values = readonly_view(np.asarray(self._fun(t), dtype=np.float64).reshape(shape))
            self._fun = self._breaks = None  # the source (and its system) can go
        return self._values

    def __getstate__(self) -> dict[str, Any]:
        return {"n": self.n, "values": self.get()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.n, self._values, self._fun, self._breaks = state["n"], state["values"], None, None


def nodal_times(a: FloatArray, b: FloatArray | None = None) -> FloatArray:
    """Node times of the pieces ``[a_k, b_k]`` (or of consecutive ``breaks`` ``a``), ``(P, 17)``."""
    if b is None:
        a, b = a[:-1], a[1:]
    t = a[:, None] + (b - a)[:, None] * _NODAL_UNIT[None, :]
    t[:, -1] = b  # exactly the piece's end (a + (b - a) * 1 may round away from it)
    return t
