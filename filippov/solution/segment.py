"""A :class:`Segment`: one mode held over ``[t0, t1]`` together with its dense output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from filippov._validation import (
    FloatArray,
    as_float_array,
    as_vector,
    preview,
    require_finite,
    require_int,
)
from filippov.solution.dense import (
    CallableDense,
    HermiteDense,
    LinearDense,
    NodalDense,
    SegmentDense,
)
from filippov.solution.records import Mode, as_time, readonly_view
from filippov.solution.resample import (
    RESAMPLE_ATOL,
    RESAMPLE_MAX_NODES,
    RESAMPLE_RTOL,
    ChebFits,
    hermite_nodes,
)

__all__ = ["Segment"]

# --------------------------------------------------------------------------- Segment


@dataclass(frozen=True, eq=False, init=False)
class Segment:
    """One mode held over ``[t0, t1]``, with its dense output.

    Build segments with :meth:`linear`, :meth:`from_samples`, :meth:`from_ode_solution`
    or :meth:`from_callable`; the plain constructor takes a ready :class:`SegmentDense`.

    Parameters
    ----------
    t0, t1 : float
        Start and end times, ``t0 <= t1`` (a zero-length segment is allowed, e.g. an
        instantaneous mode).
    mode : Mode
        The face held on the segment.
    kind : str
        One of :data:`SEGMENT_KINDS`: ``mode.kind``, or ``"stationary"`` when the velocity
        vanishes on the segment.
    lam : array_like, shape (m,)
        Relay values at ``t0`` (``m = mode.m``).
    dense : SegmentDense
        Dense output; evaluated on ``[t0, t1]`` only.

    Examples
    --------
    >>> from filippov.solution import Mode, Segment
    >>> seg = Segment.linear(0.0, 2.0, [1.0, 0.0], [-0.5, 0.5], mode=Mode("l1", (1, -1)),
    ...                      lam=[1.0, -1.0])
    >>> seg(1.0), seg.kind, seg.mode.label
    (array([0.5, 0.5]), 'regular', 'regular [+-]')
    """

    t0: float
    t1: float
    mode: Mode
    kind: str
    lam: FloatArray
    dense: SegmentDense

    def __init__(
        self, t0: float, t1: float, mode: Mode, kind: str, lam: ArrayLike, dense: SegmentDense
    ) -> None:
        t0 = as_time(t0, "t0")
        t1 = as_time(t1, "t1")
        if t1 < t0:
            raise ValueError(f"`t1` must be >= `t0` = {t0!r}. Got {t1!r} instead.")
        if not isinstance(mode, Mode):
            raise TypeError(f"`mode` must be a Mode. Got {mode!r} instead.")
        if kind not in (mode.kind, "stationary"):
            raise ValueError(
                f"`kind` must be the mode's kind {mode.kind!r} or 'stationary'. "
                f"Got {kind!r} instead."
            )
        lam_arr = as_vector(lam, "lam", n=mode.m)
        if not isinstance(dense, SegmentDense):
            raise TypeError(f"`dense` must be a SegmentDense. Got {dense!r} instead.")
        if isinstance(dense, LinearDense) and dense.t0 != t0:
            raise ValueError(
                f"`dense.t0` must equal `t0` = {t0!r} for a linear segment. "
                f"Got {dense.t0!r} instead."
            )
        if isinstance(dense, HermiteDense) and (dense.t[0] != t0 or dense.t[-1] != t1):
            raise ValueError(
                f"`dense.t` must run from `t0` = {t0!r} to `t1` = {t1!r}. "
                f"Got [{float(dense.t[0])!r}, {float(dense.t[-1])!r}] instead."
            )
        if isinstance(dense, NodalDense) and (dense.t0 != t0 or dense.t1 != t1):
            raise ValueError(
                f"`dense` must run from `t0` = {t0!r} to `t1` = {t1!r}. Got "
                f"[{dense.t0!r}, {dense.t1!r}] instead."
            )
        object.__setattr__(self, "t0", t0)
        object.__setattr__(self, "t1", t1)
        object.__setattr__(self, "mode", mode)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "lam", readonly_view(lam_arr))
        object.__setattr__(self, "dense", dense)

    # ---- constructors

    @classmethod
    def linear(
        cls,
        t0: float,
        t1: float,
        x0: ArrayLike,
        v: ArrayLike,
        *,
        mode: Mode,
        lam: ArrayLike,
        kind: str | None = None,
    ) -> Segment:
        """Exact linear segment ``x(t) = x0 + (t - t0) v`` on ``[t0, t1]``.

        Parameters
        ----------
        t0, t1 : float
            Segment times, ``t0 <= t1``.
        x0 : array_like, shape (n,)
            State at ``t0``.
        v : array_like, shape (n,)
            Constant velocity ``f0 - B λ``.
        mode : Mode
            The face held.
        lam : array_like, shape (m,)
            Relay values (constant on a linear segment).
        kind : str, optional
            Defaults to ``mode.kind``; pass ``"stationary"`` when ``v = 0``.

        Returns
        -------
        Segment

        Examples
        --------
        >>> from filippov.solution import Mode, Segment
        >>> s = Segment.linear(1.1, 3.1, [0.05, 0.1], [-0.5, -1.0], mode=Mode("l1", (0,), (0,)),
        ...                    lam=[0.5])
        >>> s(3.1)
        array([-0.95, -1.9 ])
        """
        return cls(t0, t1, mode, mode.kind if kind is None else kind, lam,
                   LinearDense(t0, x0, v))  # fmt: skip

    @classmethod
    def from_samples(
        cls,
        t: ArrayLike,
        y: ArrayLike,
        dy: ArrayLike,
        *,
        mode: Mode,
        lam: ArrayLike,
        kind: str | None = None,
    ) -> Segment:
        """Cubic Hermite segment through samples ``(t, y, dy)`` on ``[t[0], t[-1]]``.

        Parameters
        ----------
        t : array_like, shape (N,)
            Strictly increasing sample times, ``N >= 2``.
        y, dy : array_like, shape (N, n)
            States and velocities at ``t`` (time-major).
        mode, lam, kind
            As in :meth:`linear`.

        Returns
        -------
        Segment
            With a :class:`HermiteDense` (error ``<= h**4/384 max|x''''|``, h the spacing).

        Examples
        --------
        >>> import numpy as np
        >>> from filippov.solution import Mode, Segment
        >>> t = np.linspace(0.0, np.pi, 200)
        >>> y = np.column_stack([np.cos(t), np.sin(t)])
        >>> dy = np.column_stack([-np.sin(t), np.cos(t)])
        >>> seg = Segment.from_samples(t, y, dy, mode=Mode("l1", (1,)), lam=[1.0])
        >>> bool(np.abs(seg(1.0) - [np.cos(1.0), np.sin(1.0)]).max() < 1e-9)
        True
        """
        dense = HermiteDense(t, y, dy)
        return cls(float(dense.t[0]), float(dense.t[-1]), mode,
                   mode.kind if kind is None else kind, lam, dense)  # fmt: skip

    @classmethod
    def from_ode_solution(
        cls,
        ode_solution: Any,
        *,
        mode: Mode,
        lam: ArrayLike,
        kind: str | None = None,
        t0: float | None = None,
        t1: float | None = None,
        rtol: float = RESAMPLE_RTOL,
        atol: float = RESAMPLE_ATOL,
        max_nodes: int = RESAMPLE_MAX_NODES,
    ) -> Segment:
        """Hermite segment that reproduces a ``solve_ivp`` dense output.

        Each step of the dense output is a polynomial (degree <= 12 for every scipy
        method); it is fitted exactly by a Chebyshev interpolant, which gives the node
        velocities. Nodes are spaced by the Hermite bound ``h**4/384 max|x''''|`` and
        refined until the interpolant matches the dense output at every node midpoint to
        ``atol + rtol * max|x|``. Node values are the dense output's own values.

        Parameters
        ----------
        ode_solution : scipy.integrate OdeSolution
            ``solve_ivp(..., dense_output=True).sol`` of a forward-in-time integration.
        mode, lam, kind
            As in :meth:`linear`.
        t0, t1 : float, optional
            Sub-interval to keep (default: the whole range ``[t_min, t_max]``).
        rtol, atol : float, default 1e-12
            Reproduction tolerance.
        max_nodes : int, default 200000
            Node budget; if it is reached, ``dense.error`` reports the accuracy obtained.

        Returns
        -------
        Segment
            With a :class:`HermiteDense` (``source="ode_solution"``, ``error`` = largest
            midpoint deviation from the dense output).

        Examples
        --------
        >>> import numpy as np
        >>> from scipy.integrate import solve_ivp
        >>> from filippov.solution import Mode, Segment
        >>> ivp = solve_ivp(lambda t, x: [-x[1], x[0]], (0.0, 1.0), [1.0, 0.0],
        ...                 method="DOP853", rtol=1e-10, atol=1e-12, dense_output=True)
        >>> seg = Segment.from_ode_solution(ivp.sol, mode=Mode("l1", (1,)), lam=[1.0])
        >>> bool(np.abs(seg(0.3) - ivp.sol(0.3)).max() < 1e-11)
        True
        """
        ts = np.asarray(getattr(ode_solution, "ts", None), dtype=np.float64)
        interpolants = getattr(ode_solution, "interpolants", None)
        if ts.ndim != 1 or interpolants is None or len(interpolants) != len(ts) - 1:
            raise TypeError(
                "`ode_solution` must be a scipy OdeSolution (solve_ivp(..., "
                f"dense_output=True).sol). Got {ode_solution!r} instead."
            )
        if len(ts) < 2 or not np.all(np.diff(ts) > 0):
            raise ValueError(
                "`ode_solution` must cover a forward time interval of positive length. "
                f"Got steps at {preview(ts)} instead."
            )
        lo = float(ts[0]) if t0 is None else as_time(t0, "t0")
        hi = float(ts[-1]) if t1 is None else as_time(t1, "t1")
        if not (ts[0] <= lo < hi <= ts[-1]):
            raise ValueError(
                f"`t0` < `t1` must lie in the dense output's range [{float(ts[0])!r}, {float(ts[-1])!r}]. "
                f"Got [{lo!r}, {hi!r}] instead."
            )

        def fun(t: FloatArray) -> FloatArray:
            return np.asarray(ode_solution(t), dtype=np.float64).T.reshape(len(t), -1)

        keep = (ts[1:] > lo) & (ts[:-1] < hi)
        a, b = ts[:-1][keep], ts[1:][keep]
        # fit each step polynomial on its whole step; place nodes only inside [lo, hi]
        points = ChebFits.points(a, b)
        values = fun(points.ravel()).reshape(*points.shape, -1)
        fits = ChebFits(a, b, values)
        fits.lo, fits.hi = np.maximum(a, lo), np.minimum(b, hi)
        t_nodes, y, dy, error = hermite_nodes(
            fun,
            fits,
            rtol=rtol,
            atol=atol,
            max_nodes=require_int(max_nodes, "max_nodes", minimum=2),
        )
        dense = HermiteDense(t_nodes, y, dy, source="ode_solution", error=error)
        return cls(lo, hi, mode, mode.kind if kind is None else kind, lam, dense)

    @classmethod
    def from_callable(
        cls,
        t0: float,
        t1: float,
        fun: Callable[[Any], Any],
        *,
        mode: Mode,
        lam: ArrayLike,
        kind: str | None = None,
        vectorized: bool = False,
    ) -> Segment:
        """Segment whose dense output is an arbitrary callable.

        The callable is evaluated as given. It is not saved:
        :meth:`FilippovSolution.save` stores Hermite samples of it (to the tolerance
        passed to ``save``) and the loaded segment says so (``dense.source ==
        "callable"``, ``dense.error`` the measured deviation).

        Parameters
        ----------
        t0, t1 : float
            Segment times.
        fun : callable
            ``fun(t)`` -> state ``(n,)`` for a float ``t``; with ``vectorized=True``
            ``fun(ts)`` -> ``(len(ts), n)``.
        mode, lam, kind
            As in :meth:`linear`.
        vectorized : bool, default False

        Returns
        -------
        Segment

        Examples
        --------
        >>> import numpy as np
        >>> from filippov.solution import Mode, Segment
        >>> seg = Segment.from_callable(0.0, 1.0, lambda t: np.array([np.exp(-t)]),
        ...                             mode=Mode("l2", (0,)), lam=[1.0])
        >>> seg(0.0), seg.dense.saveable
        (array([1.]), False)
        """
        t0f = as_time(t0, "t0")
        if not callable(fun):
            raise TypeError(f"`fun` must be callable. Got {fun!r} instead.")
        if vectorized:
            first = np.asarray(fun(np.array([t0f])), dtype=np.float64)
        else:
            first = np.asarray(fun(t0f), dtype=np.float64)
            first = first.reshape(1, -1) if first.ndim == 1 else first
        if first.ndim != 2 or first.shape[0] != 1:
            raise ValueError(
                "`fun` must return a state of shape (n,) (or (1, n) when vectorized). "
                f"Got an array of shape {first.shape} instead."
            )
        dense = CallableDense(fun, first.shape[1], vectorized)
        return cls(t0f, t1, mode, mode.kind if kind is None else kind, lam, dense)

    # ---- evaluation and description

    @property
    def n(self) -> int:
        """State dimension."""
        return self.dense.n

    @property
    def duration(self) -> float:
        """``t1 - t0``."""
        return self.t1 - self.t0

    @property
    def x0(self) -> FloatArray:
        """State at ``t0``."""
        return self.dense(self.t0)

    @property
    def x1(self) -> FloatArray:
        """State at ``t1``."""
        return self.dense(self.t1)

    def __call__(self, t: ArrayLike) -> FloatArray:
        """State at ``t`` in ``[t0, t1]``: scalar -> ``(n,)``, 1-D array -> ``(len(t), n)``."""
        ts = as_float_array(t, "t")
        if ts.ndim > 1:
            raise ValueError(
                f"`t` must be a scalar or a 1-D array. Got an array of shape {ts.shape} instead."
            )
        require_finite(ts, "t")
        if ts.size and (ts.min() < self.t0 or ts.max() > self.t1):
            raise ValueError(
                f"`t` must lie in the segment's range [{self.t0!r}, {self.t1!r}]. "
                f"Got {preview(ts)} instead."
            )
        return self.dense(ts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        return (
            self.t0 == other.t0
            and self.t1 == other.t1
            and self.mode == other.mode
            and self.kind == other.kind
            and np.array_equal(self.lam, other.lam)
            and self.dense == other.dense
        )

    def __hash__(self) -> int:
        return hash((self.t0, self.t1, self.mode, self.kind, self.lam.tobytes(), self.dense))

    def __repr__(self) -> str:
        return (
            f"Segment(t0={self.t0!r}, t1={self.t1!r}, kind={self.kind!r}, "
            f"mode={self.mode.label!r}, dense={self.dense.kind!r})"
        )

    def _dense_label(self) -> str:
        d = self.dense
        if isinstance(d, HermiteDense):
            tag = {"samples": "", "ode_solution": ", ode", "callable": ", resampled"}[d.source]
            return f"hermite ({len(d.t)}{tag})"
        return d.kind

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description (dense output described, not sampled).

        Examples
        --------
        >>> from filippov.solution import Mode, Segment
        >>> s = Segment.linear(0.0, 1.0, [1.0], [-1.0], mode=Mode("l1", (1,)), lam=[1.0])
        >>> s.to_dict()["dense"]
        {'type': 'linear', 'x0': [1.0], 'v': [-1.0]}
        """
        d = self.dense
        dense: dict[str, Any]
        if isinstance(d, LinearDense):
            dense = {"type": "linear", "x0": d.x0.tolist(), "v": d.v.tolist()}
        elif isinstance(d, HermiteDense):
            dense = {"type": "hermite", "n_nodes": len(d.t), "source": d.source, "error": d.error}
        elif isinstance(d, NodalDense):
            dense = {"type": "nodal", "n_pieces": len(d.breaks) - 1}
        else:
            dense = {"type": d.kind}
        return {
            "t0": self.t0,
            "t1": self.t1,
            "kind": self.kind,
            "mode": self.mode.to_dict(),
            "lam": self.lam.tolist(),
            "dense": dense,
        }
