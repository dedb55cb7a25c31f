"""Filippov solutions: modes, events, segments and the solution object.

This module is a plain data layer: the engine (:func:`filippov.solve`) fills a
:class:`FilippovSolution`; plotting, comparison and the command line read it. Nothing
here integrates anything.

Vocabulary (:doc:`/theory`, "Modes and the sliding selection" and "Events and their
classification"; the result types and their status codes: :doc:`/design`):

* a :class:`Mode` is the face of the relay set ∂φ(h(x)) held over a time interval
  (fixed signs plus the sliding set J for ℓ1, the tie set A for ℓ∞, h = 0 or not for ℓ2);
* an :class:`Event` ends a mode (a crossing, a sliding entry, an exit, ...);
* a :class:`Segment` is one mode held over ``[t0, t1]`` together with its dense output;
* a :class:`FilippovSolution` is the sequence of segments and events plus the
  breakpoints ``t`` (shape ``(k,)``) and states ``x`` (shape ``(k, n)``).

Arrays are time-major throughout: a trajectory sampled at ``k`` times in ``R^n`` has
shape ``(k, n)``. Relay indices (``Event.indices``, ``Mode.free``) are 0-based.

Dense output of a segment is one of four kinds, chosen so that a solution can be saved
and loaded *exactly*:

* :class:`LinearDense` -- the exact path of a piecewise-affine system,
  ``x(t) = x0 + (t - t0) v`` (stores ``x0`` and ``v``);
* :class:`HermiteDense` -- a piecewise cubic Hermite interpolant
  (:class:`scipy.interpolate.CubicHermiteSpline`) through stored nodes ``(t, y, dy)``;
  built from samples, or from a ``solve_ivp`` dense output to a stated tolerance;
* :class:`NodalDense` -- a piecewise polynomial stored by its values at 17
  Chebyshev--Lobatto nodes per piece: the event path samples the integrator's dense
  output (projected onto the mode's sliding manifold) this way, one piece per step;
* :class:`CallableDense` -- any callable. It is evaluated directly, but it cannot be
  written to disk: :meth:`FilippovSolution.save` stores Hermite samples of it instead and
  marks the loaded segment as resampled (``dense.source == "callable"``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np
from numpy.polynomial import chebyshev as _cheb
from numpy.typing import ArrayLike

from ._npz_io import contents_of, npz_bytes, read_npz
from ._validation import (
    FloatArray,
    _preview,
    as_float_array,
    as_matrix,
    as_vector,
    input_path,
    output_path,
    require_finite,
    require_int,
    require_non_negative,
)
from .norms import Norm

if TYPE_CHECKING:
    from scipy.interpolate import CubicHermiteSpline

__all__ = [
    "EVENT_KINDS",
    "SEGMENT_KINDS",
    "CallableDense",
    "Event",
    "FilippovSolution",
    "HermiteDense",
    "LinearDense",
    "Mode",
    "NodalDense",
    "Segment",
    "SegmentDense",
]

#: Kinds of :class:`Event` (docs/theory.rst, "Events and their classification";
#: "tie-entry"/"tie-exit" are the ℓ∞ names of
#: entering/leaving a tie facet; "accumulation" is an extrapolated Zeno point).
EVENT_KINDS: tuple[str, ...] = (
    "crossing",
    "sliding-entry",
    "repulsive",
    "exit",
    "tangency",
    "stationary",
    "tie-entry",
    "tie-exit",
    "accumulation",
)

#: Kinds of :class:`Segment`: the kind of its mode, or "stationary" when the engine knows
#: the velocity vanishes on the segment.
SEGMENT_KINDS: tuple[str, ...] = ("regular", "sliding", "tie", "stationary")

_FORMAT = "filippov.FilippovSolution"
#: Version 2 added :class:`NodalDense` segments; version 1 files still load.
_FORMAT_VERSION = 2

# Default tolerances for resampling a dense output into Hermite nodes: the stored
# interpolant reproduces its source to atol + rtol * max|x| on the segment.
_RESAMPLE_RTOL = 1e-12
_RESAMPLE_ATOL = 1e-12
_RESAMPLE_MAX_NODES = 200_000
_CHEB_POINTS = 17  # exact for the step polynomials of every solve_ivp method (degree <= 12)


# --------------------------------------------------------------------------- helpers


def _as_time(value: Any, name: str) -> float:
    """Return ``value`` as a finite Python float."""
    if isinstance(value, bool):
        raise TypeError(f"`{name}` must be a real number. Got {value!r} instead.")
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be a real number. Got {_preview(value)} instead.") from exc
    if not np.isfinite(out):
        raise ValueError(f"`{name}` must be finite. Got {out!r} instead.")
    return out


def _as_str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string. Got {value!r} instead.")
    return value


def _int_tuple(value: Any, name: str) -> tuple[int, ...]:
    """Return a tuple of Python ints from a sequence of integers."""
    if isinstance(value, np.ndarray) and (value.size == 0 or value.dtype.kind in "iu"):
        # Fast path (one C call): the engine builds a mode per event from index arrays of
        # length n, and a per-item Python check dominated its cost at n = 1000.
        if value.ndim != 1:
            raise TypeError(f"`{name}` must be a 1-D sequence of integers. Got {value!r}.")
        return tuple(value.tolist())
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"`{name}` must be a sequence of integers. Got {value!r} instead.")
    items = list(value.tolist() if isinstance(value, np.ndarray) else value)
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
            raise TypeError(
                f"`{name}` must be a sequence of integers. Got {_preview(value)} instead."
            )
        out.append(int(item))
    return tuple(out)


def _readonly(arr: FloatArray) -> FloatArray:
    arr = np.array(arr, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr


_Record = TypeVar("_Record")


def _unchecked(cls: type[_Record], **fields: Any) -> _Record:
    """An instance of the frozen record class ``cls`` holding ``fields``, not validated.

    For the engine only. It builds a mode, a segment and one or more events per event of
    the flow — thousands per solve — from arrays it owns, and the invariants the public
    constructors check hold there by construction; those checks (per-item conversions of
    length-n tuples, finiteness scans, copies) cost about as much as the rest of an event
    at n = 1000. ``tests/test_solution.py`` rebuilds engine output through the public
    constructors to keep the invariants honest.
    """
    obj = object.__new__(cls)
    # One C-level update of the instance dict: the records are frozen dataclasses without
    # __slots__, and setting field by field through object.__setattr__ cost ~1 µs a field.
    obj.__dict__.update(fields)
    return obj


def _fmt_set(indices: Sequence[int]) -> str:
    return "{" + ", ".join(str(i) for i in indices) + "}"


def _fmt_signs(signs: Sequence[int], limit: int = 12) -> str:
    text = "".join("+" if s > 0 else "-" if s < 0 else "0" for s in signs)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fmt_time(t: float) -> str:
    return f"{t:.10g}"


def _fmt_state(x: FloatArray, limit: int = 40) -> str:
    text = np.array2string(
        np.asarray(x),
        threshold=6,
        edgeitems=2,
        separator=", ",
        formatter={"float_kind": lambda v: f"{v:.6g}"},
    )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_normalize(value: Any, name: str) -> Any:
    """Return ``value`` as it reads back from JSON, or raise naming ``name``."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"`{name}` must be JSON-serializable (str keys, finite numbers, lists, "
            f"dicts, str, bool, None). Got {_preview(value)} instead."
        ) from exc


# --------------------------------------------------------------------------- Mode


@dataclass(frozen=True, init=False)
class Mode:
    """The face of the relay set held over a segment.

    The mathematics: :doc:`/theory`, "Modes and the sliding selection".

    Parameters
    ----------
    norm : str
        Name of the norm φ whose subdifferential holds the relay values λ: ``"l1"``,
        ``"linf"``, ``"l2"`` or the ``name`` of a user-defined :class:`~filippov.norms.Norm`
        subclass.
        This is φ, not the steepest-descent geometry: the ℓ∞ steepest-descent flow
        ``x' ∈ -Sign(∇f)`` has φ = ℓ1.
    signs : tuple of int, length m
        Fixed relay signs in {-1, 0, +1}, one per switching function. Canonical forms,
        enforced so that equal faces compare equal:

        * ``"l1"``: ``signs[i] = sign(h_i) ∈ {-1, +1}`` off the sliding set, 0 on it;
        * ``"linf"``: ``sign(h_i)`` on the active (argmax) set, 0 elsewhere;
        * ``"l2"``: all 0 (no relay value of the ℓ2 norm is fixed).
    free : tuple of int, default ()
        0-based indices of the free part of the face: the sliding set J (ℓ1), the
        active/tie set A (ℓ∞, one index in a regular mode, never empty), all indices
        when h = 0 (ℓ2) and empty otherwise. Stored sorted.

    Attributes
    ----------
    kind : str
        ``"regular"`` (a vertex of the face: ℓ1 with J empty, ℓ∞ with |A| = 1, ℓ2 with
        h ≠ 0), ``"sliding"`` (ℓ1 with J nonempty; ℓ2 held at h = 0), or ``"tie"``
        (ℓ∞ with |A| > 1). Whether a segment is *stationary* (zero velocity) is a
        property of the dynamics, recorded in :attr:`Segment.kind`, not of the face.
    label : str
        A short human description, e.g. ``"sliding on {0, 2}"``.

    Examples
    --------
    >>> from filippov.solution import Mode
    >>> Mode("l1", (1, 0, -1), free=(1,)).label
    'sliding on {1}'
    >>> Mode("linf", (0, -1, 1), free=(1, 2)).kind
    'tie'
    >>> Mode("l1", (1, -1)).label
    'regular [+-]'
    """

    norm: str
    signs: tuple[int, ...]
    free: tuple[int, ...] = ()

    def __init__(
        self,
        norm: str,
        signs: Sequence[int] | np.ndarray,
        free: Sequence[int] | np.ndarray = (),
    ) -> None:
        if not isinstance(norm, str) or not norm:
            raise TypeError(f"`norm` must be a non-empty string. Got {norm!r} instead.")
        if norm not in _BUILTIN_NORMS and norm not in _norm_class_names():
            raise ValueError(
                f"`norm` must be one of {', '.join(map(repr, _BUILTIN_NORMS))} or the name of "
                f"a Norm subclass. Got {norm!r} instead."
            )
        self._set(norm, signs, free)

    def _set(
        self, norm: str, signs: Sequence[int] | np.ndarray, free: Sequence[int] | np.ndarray
    ) -> None:
        """Validate and store ``signs`` and ``free`` for the norm named ``norm``."""
        object.__setattr__(self, "norm", norm)
        signs = _int_tuple(signs, "signs")
        sign_arr = np.asarray(signs, dtype=np.int64)
        if sign_arr.size and not np.all(np.abs(sign_arr) <= 1):
            raise ValueError(f"`signs` must hold only -1, 0 and +1. Got {signs} instead.")
        free_list = _int_tuple(free, "free")
        free = tuple(sorted(free_list))
        free_arr = np.asarray(free, dtype=np.int64)
        if free_arr.size > 1 and np.any(free_arr[1:] == free_arr[:-1]):
            raise ValueError(f"`free` must not repeat an index. Got {free_list} instead.")
        if free and (free[0] < 0 or free[-1] >= len(signs)):
            raise ValueError(
                f"`free` must hold indices in [0, {len(signs)}) (one per entry of "
                f"`signs`). Got {free_list} instead."
            )
        object.__setattr__(self, "signs", signs)
        object.__setattr__(self, "free", free)
        in_free = np.zeros(len(signs), dtype=bool)
        in_free[free_arr] = True
        if norm == "l1":
            if np.any((sign_arr == 0) != in_free):
                raise ValueError(
                    "`signs` must be 0 exactly on the sliding set `free` for an l1 mode "
                    f"(and ±1 elsewhere). Got signs={signs}, free={free} instead."
                )
        elif norm == "linf":
            if signs and not free:
                raise ValueError(
                    "`free` must hold the active (argmax) set of an linf mode, at least "
                    f"one index. Got free=() with signs={signs} instead."
                )
            if np.any((sign_arr != 0) & ~in_free):
                raise ValueError(
                    "`signs` must be 0 off the active set `free` for an linf mode. "
                    f"Got signs={signs}, free={free} instead."
                )
        elif norm == "l2":
            if np.any(sign_arr):
                raise ValueError(f"`signs` must be all 0 for an l2 mode. Got {signs} instead.")
            if free and len(free) != len(signs):
                raise ValueError(
                    "`free` must be empty (h != 0) or hold every index (h = 0) for an l2 "
                    f"mode. Got {free} for {len(signs)} switching functions instead."
                )

    @classmethod
    def from_face(cls, face: Any) -> Mode:
        """Build the canonical mode of a face of ∂φ.

        Parameters
        ----------
        face : object
            Anything with attributes ``norm`` (str), ``signs`` (array of sign(y)) and
            ``free`` (index array), such as :class:`filippov.norms.Face`.

        Returns
        -------
        Mode
            ``signs`` reduced to the canonical form of the norm (see the class doc).

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> from filippov.solution import Mode
        >>> face = SimpleNamespace(norm="linf", signs=[1.0, -1.0, 1.0], free=[1, 2])
        >>> Mode.from_face(face)
        Mode(norm='linf', signs=(0, -1, 1), free=(1, 2))
        """
        norm = str(face.norm)
        signs = [int(np.sign(s)) for s in np.asarray(face.signs, dtype=float).ravel()]
        free = _int_tuple(np.asarray(face.free, dtype=np.int64).ravel(), "face.free")
        free_set = set(free)
        if norm == "l2":
            signs = [0] * len(signs)
        elif norm == "linf":
            signs = [s if i in free_set else 0 for i, s in enumerate(signs)]
        else:
            signs = [0 if i in free_set else s for i, s in enumerate(signs)]
        return cls(norm, tuple(signs), free)

    @property
    def m(self) -> int:
        """Number of switching functions (length of ``signs``)."""
        return len(self.signs)

    @property
    def kind(self) -> str:
        """``"regular"``, ``"sliding"`` or ``"tie"`` (see the class docstring)."""
        if self.norm == "linf":
            return "tie" if len(self.free) > 1 else "regular"
        return "sliding" if self.free else "regular"

    @property
    def label(self) -> str:
        """A short human description of the mode (indices are 0-based)."""
        if self.norm == "l1":
            return (
                f"sliding on {_fmt_set(self.free)}"
                if self.free
                else (f"regular [{_fmt_signs(self.signs)}]")
            )
        if self.norm == "linf":
            if len(self.free) > 1:
                return f"tie on {_fmt_set(self.free)}"
            if len(self.free) == 1:
                i = self.free[0]
                s = self.signs[i]
                return f"regular {'+' if s > 0 else '-' if s < 0 else ''}e{i}"
            return "regular"
        if self.norm == "l2":
            return "sliding at h = 0" if self.free else "regular"
        return f"free on {_fmt_set(self.free)}" if self.free else "regular"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description (``norm``, ``signs``, ``free``, ``kind``, ``label``).

        Examples
        --------
        >>> from filippov.solution import Mode
        >>> Mode("l1", (0, 1), free=(0,)).to_dict()["free"]
        [0]
        """
        return {
            "norm": self.norm,
            "signs": list(self.signs),
            "free": list(self.free),
            "kind": self.kind,
            "label": self.label,
        }

    @classmethod
    def _from_json(cls, data: Mapping[str, Any]) -> Mode:
        # A saved mode of a user-defined norm loads even where that Norm class is not
        # defined: only the name check is skipped, signs and free are still validated.
        mode = object.__new__(cls)
        mode._set(str(data["norm"]), tuple(data["signs"]), tuple(data["free"]))
        return mode


_BUILTIN_NORMS = ("l1", "linf", "l2")


def _norm_class_names() -> set[str]:
    """The ``name`` of every :class:`~filippov.norms.Norm` subclass defined so far."""
    names: set[str] = set()
    stack: list[type] = [Norm]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        name = getattr(cls, "name", None)
        if isinstance(name, str):
            names.add(name)
    return names


# --------------------------------------------------------------------------- Event


@dataclass(frozen=True, eq=False, init=False)
class Event:
    """A typed record of an event that ends a mode.

    The kinds: :doc:`/theory`, "Events and their classification".

    Parameters
    ----------
    t : float
        Event time.
    x : array_like, shape (n,)
        State at the event.
    kind : str
        One of :data:`EVENT_KINDS`.
    indices : tuple of int
        0-based indices of the switching functions (or relay values) involved.
    mode_before, mode_after : Mode or None
        The mode that ended and the mode that follows (``None`` at the ends of the
        solution or when there is no continuation).
    unique : bool, default True
        ``False`` when the continuation is not unique (a repulsive surface, a sliding
        matrix that is not a P-matrix); the engine then documents its choice in ``note``.
    note : str, default ""
        Free text, e.g. the policy used at a non-unique event.

    Examples
    --------
    >>> from filippov.solution import Event, Mode
    >>> ev = Event(0.5, [0.0, 1.0], "crossing", (0,), Mode("l1", (-1,)), Mode("l1", (1,)))
    >>> ev.kind, ev.x
    ('crossing', array([0., 1.]))
    """

    t: float
    x: FloatArray
    kind: str
    indices: tuple[int, ...]
    mode_before: Mode | None
    mode_after: Mode | None
    unique: bool = True
    note: str = ""

    def __init__(
        self,
        t: float,
        x: ArrayLike,
        kind: str,
        indices: Sequence[int],
        mode_before: Mode | None,
        mode_after: Mode | None,
        unique: bool = True,
        note: str = "",
    ) -> None:
        if kind not in EVENT_KINDS:
            raise ValueError(
                f"`kind` must be one of {', '.join(map(repr, EVENT_KINDS))}. Got {kind!r} instead."
            )
        idx = _int_tuple(indices, "indices")
        if any(i < 0 for i in idx):
            raise ValueError(f"`indices` must be non-negative (0-based). Got {idx} instead.")
        for name, value in (("mode_before", mode_before), ("mode_after", mode_after)):
            if value is not None and not isinstance(value, Mode):
                raise TypeError(f"`{name}` must be a Mode or None. Got {value!r} instead.")
        if not isinstance(unique, (bool, np.bool_)):
            raise TypeError(f"`unique` must be a bool. Got {unique!r} instead.")
        object.__setattr__(self, "t", _as_time(t, "t"))
        object.__setattr__(self, "x", _readonly(as_vector(x, "x")))
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "indices", idx)
        object.__setattr__(self, "mode_before", mode_before)
        object.__setattr__(self, "mode_after", mode_after)
        object.__setattr__(self, "unique", bool(unique))
        object.__setattr__(self, "note", _as_str(note, "note"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (
            self.t == other.t
            and np.array_equal(self.x, other.x)
            and self.kind == other.kind
            and self.indices == other.indices
            and self.mode_before == other.mode_before
            and self.mode_after == other.mode_after
            and self.unique == other.unique
            and self.note == other.note
        )

    def __hash__(self) -> int:
        return hash((self.t, self.x.tobytes(), self.kind, self.indices, self.mode_before,
                     self.mode_after, self.unique, self.note))  # fmt: skip

    def __repr__(self) -> str:
        extra = "" if self.unique else ", unique=False"
        return (
            f"Event(t={self.t!r}, kind={self.kind!r}, indices={self.indices}, "
            f"x={_fmt_state(self.x)}{extra})"
        )

    def _repr_html_(self) -> str:
        """Notebook display: the event's fields as a small table."""
        from filippov._html import event_html

        return event_html(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description; floats are exact (JSON uses ``repr``).

        Examples
        --------
        >>> from filippov.solution import Event
        >>> Event(1.1, [0.05, 0.1], "sliding-entry", (0,), None, None).to_dict()["t"]
        1.1
        """
        return {
            "t": self.t,
            "x": self.x.tolist(),
            "kind": self.kind,
            "indices": list(self.indices),
            "mode_before": None if self.mode_before is None else self.mode_before.to_dict(),
            "mode_after": None if self.mode_after is None else self.mode_after.to_dict(),
            "unique": self.unique,
            "note": self.note,
        }


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
        object.__setattr__(self, "t0", _as_time(t0, "t0"))
        object.__setattr__(self, "x0", _readonly(x0_arr))
        object.__setattr__(self, "v", _readonly(v_arr))

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
        object.__setattr__(self, "t", _readonly(t_arr))
        object.__setattr__(self, "y", _readonly(y_arr))
        object.__setattr__(self, "dy", _readonly(dy_arr))
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "error", None if error is None else _as_time(error, "error"))
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
_NODAL_POINTS = 17
_NODAL_UNIT = 0.5 * (1.0 - np.cos(np.pi * np.arange(_NODAL_POINTS) / (_NODAL_POINTS - 1)))
_NODAL_UNIT[0], _NODAL_UNIT[-1] = 0.0, 1.0
_NODAL_WEIGHTS = (-1.0) ** np.arange(_NODAL_POINTS)
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
    _store: _NodeValues = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __init__(self, breaks: ArrayLike, values: ArrayLike, offset: float = 0.0) -> None:
        b = as_vector(breaks, "breaks")
        if b.shape[0] < 2:
            raise ValueError(f"`breaks` must hold at least 2 times. Got {b.shape[0]} instead.")
        require_finite(b, "breaks")
        if np.any(np.diff(b) < 0):
            raise ValueError(f"`breaks` must be non-decreasing. Got {_preview(b)} instead.")
        v = as_float_array(values, "values")
        if v.ndim != 3 or v.shape[:2] != (b.shape[0] - 1, _NODAL_POINTS):
            raise ValueError(
                f"`values` must have shape ({b.shape[0] - 1}, {_NODAL_POINTS}, n). "
                f"Got an array of shape {v.shape} instead."
            )
        object.__setattr__(self, "breaks", _readonly(b))
        object.__setattr__(self, "offset", _as_time(offset, "offset"))
        object.__setattr__(self, "_store", _NodeValues(v.shape[2], values=_readonly(v)))

    @classmethod
    def sample(cls, fun: Callable[[FloatArray], Any], breaks: ArrayLike, n: int) -> NodalDense:
        """``fun`` (times ``(k,)`` -> states ``(k, n)``) at the nodes of ``breaks``.

        ``fun`` is called once, when the values are first needed (to evaluate, compare,
        save or pickle): the engine then spends nothing on the dense output of a solution
        that is never read between its breakpoints. The values do not depend on when.
        """
        b = _readonly(as_vector(breaks, "breaks"))
        return _unchecked(cls, breaks=b, offset=0.0, _store=_NodeValues(n, fun=fun, breaks=b))

    @property
    def values(self) -> FloatArray:
        """States at the nodes, shape ``(P, 17, n)``."""
        return self._store.get()

    def _shifted(self, dt: float) -> NodalDense:
        """The same interpolant read at ``t - dt`` (sharing the values)."""
        return _unchecked(
            NodalDense, breaks=self.breaks, offset=self.offset + dt, _store=self._store
        )

    def nodes(self) -> FloatArray:
        """Node times on the clock ``t - offset``, shape ``(P, 17)``."""
        return _nodal_times(self.breaks)

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
        nodes = _nodal_times(b[k], b[k + 1])  # (m, 17)
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


class _NodeValues:
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

    def get(self) -> FloatArray:
        if self._values is None:
            assert self._fun is not None and self._breaks is not None
            t = _nodal_times(self._breaks).ravel()
            shape = (len(self._breaks) - 1, _NODAL_POINTS, self.n)
            self._values = _readonly(np.asarray(self._fun(t), dtype=np.float64).reshape(shape))
            self._fun = self._breaks = None  # the source (and its system) can go
        return self._values

    def __getstate__(self) -> dict[str, Any]:
        return {"n": self.n, "values": self.get()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.n, self._values, self._fun, self._breaks = state["n"], state["values"], None, None


def _nodal_times(a: FloatArray, b: FloatArray | None = None) -> FloatArray:
    """Node times of the pieces ``[a_k, b_k]`` (or of consecutive ``breaks`` ``a``), ``(P, 17)``."""
    if b is None:
        a, b = a[:-1], a[1:]
    t = a[:, None] + (b - a)[:, None] * _NODAL_UNIT[None, :]
    t[:, -1] = b  # exactly the piece's end (a + (b - a) * 1 may round away from it)
    return t


# --------------------------------------------------------------------------- resampling
#
# A dense output is turned into Hermite nodes in two steps. (1) It is cut into smooth
# pieces (the steps of a solve_ivp dense output, or a bisection of a callable), each
# fitted by a Chebyshev interpolant at _CHEB_POINTS first-kind points; the fits give the
# node velocities and a bound on x'''' that sets the initial spacing from the Hermite
# error bound h**4/384 max|x''''|. (2) Every node interval is checked at its midpoint
# (where the Hermite error peaks) against the source and bisected until it passes. A
# cubic Hermite interval depends only on its two end nodes, so only new intervals are
# re-checked. Node values always come from the source itself.

_CHEB_THETA = np.pi * (np.arange(_CHEB_POINTS) + 0.5) / _CHEB_POINTS
_CHEB_NODES = np.cos(_CHEB_THETA)  # first-kind points in [-1, 1]
_VALUES_TO_COEF = (2.0 / _CHEB_POINTS) * np.cos(np.outer(np.arange(_CHEB_POINTS), _CHEB_THETA))
_VALUES_TO_COEF[0] *= 0.5
_DERIV1 = _cheb.chebder(np.eye(_CHEB_POINTS), 1, axis=0)  # coefficients -> d/ds coefficients
_DERIV4 = _cheb.chebder(np.eye(_CHEB_POINTS), 4, axis=0)
_GRID = np.linspace(-1.0, 1.0, 33)


class _ChebFits:
    """Chebyshev fits of a dense output on pieces; nodes go in ``[lo_k, hi_k]``.

    ``a, b`` (shape ``(P,)``) are the fit intervals, ``values`` (``(P, p, n)``) the
    source at :func:`_ChebFits.points`; ``lo, hi`` the (sub)ranges where nodes go.
    """

    def __init__(self, a: FloatArray, b: FloatArray, values: FloatArray) -> None:
        self.a, self.b = a, b
        scale = (2.0 / (b - a))[:, None, None]
        self.coef = np.einsum("ij,kjn->kin", _VALUES_TO_COEF, values)
        self.d1 = np.einsum("ij,kjn->kin", _DERIV1, self.coef) * scale
        self.d4 = np.einsum("ij,kjn->kin", _DERIV4, self.coef) * scale**4
        self.lo, self.hi = a, b

    @staticmethod
    def points(a: FloatArray, b: FloatArray) -> FloatArray:
        """Fit points, shape ``(P, p)``."""
        return 0.5 * (a + b)[:, None] + 0.5 * (b - a)[:, None] * _CHEB_NODES[None, :]

    def tail(self) -> FloatArray:
        """Size of the two highest coefficients per piece (how well the fit resolves it)."""
        return np.asarray(np.max(np.abs(self.coef[:, -2:, :]), axis=(1, 2)), dtype=np.float64)

    def bound(self) -> float:
        """Upper bound of max|x| over all pieces (sum of |coefficients|)."""
        return float(np.max(np.sum(np.abs(self.coef), axis=1), initial=0.0))

    def _s(self, t: FloatArray, k: np.ndarray) -> FloatArray:
        return (2.0 * t - (self.a[k] + self.b[k])) / (self.b[k] - self.a[k])

    def deriv(self, t: FloatArray) -> FloatArray:
        """Velocity of the fit at times ``t`` (each in some ``[lo_k, hi_k]``), ``(len(t), n)``."""
        k = np.clip(np.searchsorted(self.lo, t, side="right") - 1, 0, len(self.lo) - 1)
        vander = _cheb.chebvander(self._s(t, k), _CHEB_POINTS - 2)
        return np.asarray(np.einsum("kj,kjn->kn", vander, self.d1[k]), dtype=np.float64)

    def max_fourth(self) -> FloatArray:
        """max |x''''| of the fit over each ``[lo_k, hi_k]``, shape ``(P,)``."""
        mid, half = 0.5 * (self.lo + self.hi), 0.5 * (self.hi - self.lo)
        grid = mid[:, None] + half[:, None] * _GRID[None, :]
        s = (2.0 * grid - (self.a + self.b)[:, None]) / (self.b - self.a)[:, None]
        vander = _cheb.chebvander(s, _CHEB_POINTS - 5)  # (P, g, p - 4)
        vals = np.einsum("kgj,kjn->kgn", vander, self.d4)
        return np.asarray(np.max(np.abs(vals), axis=(1, 2), initial=0.0), dtype=np.float64)


def _hermite_nodes(
    fun: Callable[[FloatArray], FloatArray],
    fits: _ChebFits,
    *,
    rtol: float,
    atol: float,
    max_nodes: int,
) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    """Hermite nodes ``t, y, dy`` reproducing ``fun`` to ``atol + rtol * max|x|``.

    ``fun`` maps times ``(k,)`` to states ``(k, n)``; ``fits`` covers ``[lo_0, hi_last]``
    with contiguous node ranges. Returns the nodes and the largest midpoint error.
    """
    rtol, atol = _as_time(rtol, "rtol"), _as_time(atol, "atol")
    if rtol < 0 or atol < 0 or rtol + atol == 0:
        raise ValueError(
            f"`rtol` and `atol` must be >= 0 and not both 0. Got rtol={rtol!r}, atol={atol!r} "
            "instead."
        )
    tol = atol + rtol * fits.bound()
    span = fits.hi - fits.lo
    m4 = fits.max_fourth()
    with np.errstate(divide="ignore"):
        h = np.where(m4 > 0, (384.0 * tol / np.where(m4 > 0, m4, 1.0)) ** 0.25, np.inf)
    counts = np.clip(np.ceil(1.1 * span / h), 1, max(1, max_nodes // (2 * len(span))))
    t = np.unique(
        np.concatenate(
            [
                np.linspace(a, b, int(c) + 1)
                for a, b, c in zip(fits.lo, fits.hi, counts, strict=True)
            ]
        )
    )
    y, dy = fun(t), fits.deriv(t)
    # one-sided fit derivatives differ slightly at piece boundaries: average the two sides
    inner = fits.lo[1:]
    at = np.searchsorted(t, inner)
    if inner.size:
        vander = _cheb.chebvander(fits._s(inner, np.arange(len(inner))), _CHEB_POINTS - 2)
        left = np.einsum("kj,kjn->kn", vander, fits.d1[:-1])
        dy[at] = 0.5 * (dy[at] + left)

    new_t, new_y, new_dy = [t], [y], [dy]
    tl, tr, yl, yr, dl, dr = t[:-1], t[1:], y[:-1], y[1:], dy[:-1], dy[1:]
    n_nodes, error = len(t), 0.0
    while tl.size:
        mid = 0.5 * (tl + tr)
        y_mid = fun(mid)
        guess = 0.5 * (yl + yr) + ((tr - tl) / 8.0)[:, None] * (dl - dr)
        err = np.max(np.abs(guess - y_mid), axis=1, initial=0.0)
        bad = (err > tol) & (mid > tl) & (mid < tr)
        if n_nodes + int(np.sum(bad)) > max_nodes:
            error = max(error, float(np.max(err, initial=0.0)))
            break
        error = max(error, float(np.max(err[~bad], initial=0.0)))
        if not np.any(bad):
            break
        tm, ym = mid[bad], y_mid[bad]
        dm = fits.deriv(tm)
        new_t.append(tm)
        new_y.append(ym)
        new_dy.append(dm)
        n_nodes += len(tm)
        tl, tr = np.concatenate([tl[bad], tm]), np.concatenate([tm, tr[bad]])
        yl, yr = np.concatenate([yl[bad], ym]), np.concatenate([ym, yr[bad]])
        dl, dr = np.concatenate([dl[bad], dm]), np.concatenate([dm, dr[bad]])
    t_all = np.concatenate(new_t)
    order = np.argsort(t_all, kind="stable")
    return t_all[order], np.concatenate(new_y)[order], np.concatenate(new_dy)[order], error


def _resample_callable(
    dense: SegmentDense, t0: float, t1: float, *, rtol: float, atol: float, max_nodes: int
) -> HermiteDense:
    """Hermite samples of an arbitrary smooth dense output on [t0, t1] (t1 > t0)."""
    fun = dense._evaluate
    scale = float(np.max(np.abs(fun(np.linspace(t0, t1, 5))), initial=0.0))
    # resolve the callable well below the target, but not below its rounding noise
    eps = float(np.finfo(np.float64).eps)
    tail_tol = max(1e-2 * (atol + rtol * scale), 1e3 * eps * scale)
    done: list[tuple[float, float, FloatArray]] = []
    stack = [(t0, t1, 0)]
    while stack:
        a, b, depth = stack.pop()
        ab = (np.array([a]), np.array([b]))
        values = fun(_ChebFits.points(*ab)[0])[None]
        mid = 0.5 * (a + b)
        if (
            _ChebFits(*ab, values).tail()[0] <= tail_tol
            or depth >= 30
            or not a < mid < b
            or len(done) >= 2_000
        ):
            done.append((a, b, values[0]))
        else:
            stack.extend([(mid, b, depth + 1), (a, mid, depth + 1)])
    done.sort(key=lambda piece: piece[0])
    fits = _ChebFits(
        np.array([p[0] for p in done]),
        np.array([p[1] for p in done]),
        np.stack([p[2] for p in done]),
    )
    t, y, dy, error = _hermite_nodes(fun, fits, rtol=rtol, atol=atol, max_nodes=max_nodes)
    return HermiteDense(t, y, dy, source="callable", error=error)


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
        t0 = _as_time(t0, "t0")
        t1 = _as_time(t1, "t1")
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
        object.__setattr__(self, "lam", _readonly(lam_arr))
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
        rtol: float = _RESAMPLE_RTOL,
        atol: float = _RESAMPLE_ATOL,
        max_nodes: int = _RESAMPLE_MAX_NODES,
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
                f"Got steps at {_preview(ts)} instead."
            )
        lo = float(ts[0]) if t0 is None else _as_time(t0, "t0")
        hi = float(ts[-1]) if t1 is None else _as_time(t1, "t1")
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
        points = _ChebFits.points(a, b)
        values = fun(points.ravel()).reshape(*points.shape, -1)
        fits = _ChebFits(a, b, values)
        fits.lo, fits.hi = np.maximum(a, lo), np.minimum(b, hi)
        t_nodes, y, dy, error = _hermite_nodes(
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
        t0f = _as_time(t0, "t0")
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
                f"Got {_preview(ts)} instead."
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


# --------------------------------------------------------------------------- solution


class FilippovSolution:
    """Result of :func:`filippov.solve`: segments, events and dense output.

    Parameters
    ----------
    t : array_like, shape (k,)
        Breakpoints: the start time, the event times and the final time, non-decreasing.
    x : array_like, shape (k, n)
        States at ``t`` (time-major).
    events : sequence of Event
        In time order, within ``[t[0], t[-1]]``.
    segments : sequence of Segment
        Contiguous (``segments[i].t1 == segments[i + 1].t0``) and covering
        ``[t[0], t[-1]]``. May be empty only for a run that stopped at its start.
    status : int
        0: reached the end of ``t_span``; 1: a stationary point was reached; < 0: failure
        (the solution is the partial one up to the failure).
    message : str
        Human explanation of ``status``.
    nfev, njev, nlu, n_selection_solves : int, default 0
        Counters: right-hand-side and Jacobian evaluations, LU decompositions, and
        solves of the sliding selection (box / simplex / ball VI).
    method : str, default ""
        Which engine path produced the solution (e.g. ``"exact"``, ``"events"``).
    info : mapping, optional
        Extra JSON-safe metadata (e.g. ``{"rtol": 1e-10, "t_span": [0, 4]}``); stored
        as it reads back from JSON (tuples become lists).

    Attributes
    ----------
    success : bool
        ``status >= 0``.
    counts : dict of str to int
        Number of events of each kind in :data:`EVENT_KINDS` (zeros included).

    Notes
    -----
    ``sol(t)`` is continuous across segments; at a segment boundary the later segment
    is used. Times outside ``[t[0], t[-1]]`` raise ``ValueError``.

    Examples
    --------
    The scalar system ``x' = 1.5 - 0.5 sign(x)`` from ``x(0) = -1`` moves at speed 2,
    crosses ``x = 0`` at ``t = 0.5`` and continues at speed 1:

    >>> from filippov.solution import Event, FilippovSolution, Mode, Segment
    >>> neg, pos = Mode("l1", (-1,)), Mode("l1", (1,))
    >>> sol = FilippovSolution(
    ...     t=[0.0, 0.5, 1.5], x=[[-1.0], [0.0], [1.0]],
    ...     events=[Event(0.5, [0.0], "crossing", (0,), neg, pos)],
    ...     segments=[Segment.linear(0.0, 0.5, [-1.0], [2.0], mode=neg, lam=[-1.0]),
    ...               Segment.linear(0.5, 1.5, [0.0], [1.0], mode=pos, lam=[1.0])],
    ...     status=0, message="Reached the end of t_span.", method="exact")
    >>> sol([0.25, 1.0])
    array([[-0.5],
           [ 0.5]])
    >>> sol.counts["crossing"], sol.success
    (1, True)
    """

    def __init__(
        self,
        t: ArrayLike,
        x: ArrayLike,
        events: Sequence[Event],
        segments: Sequence[Segment],
        status: int,
        message: str,
        *,
        nfev: int = 0,
        njev: int = 0,
        nlu: int = 0,
        n_selection_solves: int = 0,
        method: str = "",
        info: Mapping[str, Any] | None = None,
    ) -> None:
        t_arr = as_vector(t, "t")
        if t_arr.shape[0] == 0:
            raise ValueError("`t` must hold at least one time. Got an empty array instead.")
        back = np.diff(t_arr) < 0
        if np.any(back):
            i = int(np.argmax(back))
            raise ValueError(
                f"`t` must be non-decreasing. Got t[{i}] = {float(t_arr[i])!r} > "
                f"t[{i + 1}] = {float(t_arr[i + 1])!r} instead."
            )
        x_arr = as_float_array(x, "x")
        if x_arr.ndim != 2 or x_arr.shape[0] != t_arr.shape[0]:
            raise ValueError(
                f"`x` must have shape (len(t), n) = ({t_arr.shape[0]}, n), one row per "
                f"breakpoint. Got shape {x_arr.shape} instead."
            )
        x_arr = require_finite(x_arr, "x")  # not as_matrix: it would copy x a second time
        n = x_arr.shape[1]
        lo, hi = float(t_arr[0]), float(t_arr[-1])

        if isinstance(events, (str, bytes)) or not isinstance(events, Sequence):
            raise TypeError(f"`events` must be a sequence of Event. Got {events!r} instead.")
        events_t = tuple(events)
        for i, ev in enumerate(events_t):
            if not isinstance(ev, Event):
                raise TypeError(f"`events[{i}]` must be an Event. Got {ev!r} instead.")
            if ev.x.shape[0] != n:
                raise ValueError(
                    f"`events[{i}].x` must have length n = {n}. Got length {ev.x.shape[0]} instead."
                )
            if not lo <= ev.t <= hi:
                raise ValueError(
                    f"`events[{i}].t` must lie in [{lo!r}, {hi!r}]. Got {ev.t!r} instead."
                )
            if i and ev.t < events_t[i - 1].t:
                raise ValueError(
                    f"`events` must be in time order. Got events[{i - 1}].t = "
                    f"{events_t[i - 1].t!r} > events[{i}].t = {ev.t!r} instead."
                )

        if isinstance(segments, (str, bytes)) or not isinstance(segments, Sequence):
            raise TypeError(f"`segments` must be a sequence of Segment. Got {segments!r} instead.")
        segments_t = tuple(segments)
        for i, seg in enumerate(segments_t):
            if not isinstance(seg, Segment):
                raise TypeError(f"`segments[{i}]` must be a Segment. Got {seg!r} instead.")
            if seg.n != n:
                raise ValueError(
                    f"`segments[{i}]` must have state dimension n = {n}. Got {seg.n} instead."
                )
            if i and seg.t0 != segments_t[i - 1].t1:
                raise ValueError(
                    f"`segments` must be contiguous. Got segments[{i - 1}].t1 = "
                    f"{segments_t[i - 1].t1!r} != segments[{i}].t0 = {seg.t0!r} instead."
                )
        if segments_t and (segments_t[0].t0 != lo or segments_t[-1].t1 != hi):
            raise ValueError(
                f"`segments` must cover [t[0], t[-1]] = [{lo!r}, {hi!r}]. Got "
                f"[{segments_t[0].t0!r}, {segments_t[-1].t1!r}] instead."
            )

        counters = (
            require_int(nfev, "nfev", minimum=0),
            require_int(njev, "njev", minimum=0),
            require_int(nlu, "nlu", minimum=0),
            require_int(n_selection_solves, "n_selection_solves", minimum=0),
        )
        if info is not None and not isinstance(info, Mapping):
            raise TypeError(f"`info` must be a mapping or None. Got {info!r} instead.")
        self._set_fields(
            _readonly(t_arr),
            _readonly(x_arr),
            events_t,
            segments_t,
            require_int(status, "status"),
            _as_str(message, "message"),
            _as_str(method, "method"),
            counters,
            _json_normalize({} if info is None else dict(info), "info"),
        )

    def _set_fields(
        self,
        t: FloatArray,
        x: FloatArray,
        events: tuple[Event, ...],
        segments: tuple[Segment, ...],
        status: int,
        message: str,
        method: str,
        counters: tuple[int, int, int, int],
        info: dict[str, Any],
    ) -> None:
        """Store checked fields (``t`` and ``x`` read-only); shared by both constructors."""
        self._t, self._x = t, x
        self._events, self._segments = events, segments
        self._status, self._message, self._method = status, message, method
        self._counters = counters
        self._info = info
        self._seg_t0 = np.array([s.t0 for s in segments], dtype=np.float64)

    @classmethod
    def _from_engine(
        cls,
        t: FloatArray,
        x: FloatArray,
        events: tuple[Event, ...],
        segments: tuple[Segment, ...],
        status: int,
        message: str,
        *,
        nfev: int,
        njev: int,
        n_selection_solves: int,
        method: str,
    ) -> FilippovSolution:
        """A solution from the engine's recorder, not validated and not copied.

        For the engine only, like :func:`_unchecked`: ``t`` and ``x`` are fresh float
        arrays the recorder gives up, and its records satisfy the invariants ``__init__``
        checks by construction. Those checks are Python loops over every event and segment
        plus a copy of ``x`` — ~5 % of a 3700-event, d = 1000 exact-path solve.
        ``tests/test_solution.py`` rebuilds engine output through ``__init__`` and compares.
        """
        obj = object.__new__(cls)
        x = require_finite(x, "x")  # the one check kept: a non-finite state is an engine bug
        t.setflags(write=False)
        x.setflags(write=False)
        counters = (int(nfev), int(njev), 0, int(n_selection_solves))
        obj._set_fields(t, x, events, segments, int(status), message, method, counters, {})
        return obj

    # ---- read-only data

    @property
    def t(self) -> FloatArray:
        """Breakpoints, shape ``(k,)`` (read-only)."""
        return self._t

    @property
    def x(self) -> FloatArray:
        """States at the breakpoints, shape ``(k, n)`` (read-only)."""
        return self._x

    @property
    def events(self) -> tuple[Event, ...]:
        """Events in time order."""
        return self._events

    @property
    def segments(self) -> tuple[Segment, ...]:
        """Segments in time order."""
        return self._segments

    @property
    def status(self) -> int:
        """0 finished, 1 stationary point reached, < 0 failure."""
        return self._status

    @property
    def message(self) -> str:
        """Human explanation of :attr:`status`."""
        return self._message

    @property
    def method(self) -> str:
        """Engine path that produced the solution."""
        return self._method

    @property
    def nfev(self) -> int:
        """Number of right-hand-side evaluations."""
        return self._counters[0]

    @property
    def njev(self) -> int:
        """Number of Jacobian evaluations."""
        return self._counters[1]

    @property
    def nlu(self) -> int:
        """Number of LU decompositions."""
        return self._counters[2]

    @property
    def n_selection_solves(self) -> int:
        """Number of solves of the sliding selection (box / simplex / ball VI)."""
        return self._counters[3]

    @property
    def info(self) -> dict[str, Any]:
        """Extra JSON-safe metadata (a copy)."""
        out: dict[str, Any] = json.loads(json.dumps(self._info))
        return out

    @property
    def success(self) -> bool:
        """``status >= 0``."""
        return self._status >= 0

    @property
    def n(self) -> int:
        """State dimension."""
        return int(self._x.shape[1])

    @property
    def t_span(self) -> tuple[float, float]:
        """``(t[0], t[-1])``, the range of the dense output."""
        return float(self._t[0]), float(self._t[-1])

    @property
    def counts(self) -> dict[str, int]:
        """Number of events of each kind, for every kind in :data:`EVENT_KINDS`."""
        out = dict.fromkeys(EVENT_KINDS, 0)
        for ev in self._events:
            out[ev.kind] += 1
        return out

    # ---- dense output

    def __call__(self, t: ArrayLike) -> FloatArray:
        """State at ``t``: scalar -> ``(n,)``, 1-D array -> ``(len(t), n)``.

        Parameters
        ----------
        t : float or array_like, shape (k,)
            Times in ``[t[0], t[-1]]``.

        Returns
        -------
        ndarray, shape (n,) or (k, n)

        Raises
        ------
        ValueError
            If a time lies outside ``[t[0], t[-1]]`` or is not finite.
        """
        ts = as_float_array(t, "t")
        if ts.ndim > 1:
            raise ValueError(
                f"`t` must be a scalar or a 1-D array of times. Got an array of shape "
                f"{ts.shape} instead."
            )
        require_finite(ts, "t")
        flat = np.atleast_1d(ts)
        lo, hi = self.t_span
        outside = (flat < lo) | (flat > hi)
        if np.any(outside):
            raise ValueError(
                f"`t` must lie in the solution's time range [{lo!r}, {hi!r}]. "
                f"Got {_preview(flat[outside])} instead."
            )
        out = np.empty((flat.shape[0], self.n))
        if not self._segments:
            # A run that stopped at its start: only the breakpoints themselves are known.
            pos = np.searchsorted(self._t, flat, side="right") - 1
            if np.any(self._t[pos] != flat):
                raise ValueError(
                    "`t` must be one of the breakpoints: this solution has no segments "
                    f"(status {self._status}: {self._message}). Got {_preview(flat)} instead."
                )
            out[:] = self._x[pos]
        else:
            which = np.clip(np.searchsorted(self._seg_t0, flat, side="right") - 1, 0, None)
            for k in np.unique(which):
                mask = which == k
                out[mask] = self._segments[k].dense(flat[mask])
        return out[0] if ts.ndim == 0 else out

    # ---- description

    def __repr__(self) -> str:
        lo, hi = self.t_span
        return (
            f"FilippovSolution(status={self._status}, t=[{_fmt_time(lo)}, {_fmt_time(hi)}], "
            f"n={self.n}, segments={len(self._segments)}, events={len(self._events)}, "
            f"message={self._message!r})"
        )

    def summary(self, max_rows: int = 40) -> str:
        """A readable fixed-width table of the segments and events.

        Parameters
        ----------
        max_rows : int, default 40
            Longest table printed in full; longer tables show their first and last rows.

        Returns
        -------
        str

        Examples
        --------
        >>> from filippov.solution import FilippovSolution, Mode, Segment
        >>> seg = Segment.linear(0.0, 1.0, [1.0], [0.0], mode=Mode("l1", (0,), (0,)),
        ...                      lam=[0.0], kind="stationary")
        >>> sol = FilippovSolution([0.0, 1.0], [[1.0], [1.0]], [], [seg], 0, "Done.")
        >>> print(sol.summary())
        FilippovSolution: success (status 0): Done.
          method: -, n = 1, t in [0, 1]
          counters: nfev 0, njev 0, nlu 0, selection solves 0
          events: none
        <BLANKLINE>
        Segments (1)
            #               t0               t1  kind        mode            dense
            0                0                1  stationary  sliding on {0}  linear
        <BLANKLINE>
        Events (0)
        """
        max_rows = require_int(max_rows, "max_rows", minimum=2)
        lo, hi = self.t_span
        outcome = "success" if self.success else "FAILURE"
        nonzero = [f"{k} {v}" for k, v in self.counts.items() if v]
        lines = [
            f"FilippovSolution: {outcome} (status {self._status}): {self._message}",
            f"  method: {self._method or '-'}, n = {self.n}, t in [{_fmt_time(lo)}, "
            f"{_fmt_time(hi)}]",
            f"  counters: nfev {self.nfev}, njev {self.njev}, nlu {self.nlu}, "
            f"selection solves {self.n_selection_solves}",
            f"  events: {', '.join(nonzero) if nonzero else 'none'}",
            "",
        ]
        seg_rows = [
            [str(i), _fmt_time(s.t0), _fmt_time(s.t1), s.kind, s.mode.label, s._dense_label()]
            for i, s in enumerate(self._segments)
        ]
        lines.append(f"Segments ({len(seg_rows)})")
        if seg_rows:
            lines += _table(
                ["#", "t0", "t1", "kind", "mode", "dense"],
                seg_rows,
                "rrrlll",
                max_rows,
                {1: 15, 2: 15, 3: 10},
            )
        ev_rows = [
            [
                str(i),
                _fmt_time(e.t),
                e.kind,
                ", ".join(map(str, e.indices)) or "-",
                "yes" if e.unique else "NO",
                _fmt_state(e.x),
                e.note,
            ]
            for i, e in enumerate(self._events)
        ]
        lines.append("")
        lines.append(f"Events ({len(ev_rows)})")
        if ev_rows:
            headers = ["#", "t", "kind", "indices", "unique", "x", "note"]
            if not any(e.note for e in self._events):
                headers, ev_rows = headers[:-1], [r[:-1] for r in ev_rows]
            lines += _table(headers, ev_rows, "rrlllll", max_rows, {1: 15, 2: 13})
        return "\n".join(line.rstrip() for line in lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description (for ``--json``); floats survive ``json`` exactly.

        Dense output is described, not sampled (use :meth:`save` for that).

        Examples
        --------
        >>> import json
        >>> from filippov.solution import FilippovSolution
        >>> sol = FilippovSolution([0.0], [[0.1, 0.2]], [], [], -1, "Non-finite field.")
        >>> d = json.loads(json.dumps(sol.to_dict()))
        >>> d["status"], d["success"], d["x"]
        (-1, False, [[0.1, 0.2]])
        """
        return {
            "status": self._status,
            "success": self.success,
            "message": self._message,
            "method": self._method,
            "nfev": self.nfev,
            "njev": self.njev,
            "nlu": self.nlu,
            "n_selection_solves": self.n_selection_solves,
            "counts": self.counts,
            "t": self._t.tolist(),
            "x": self._x.tolist(),
            "events": [e.to_dict() for e in self._events],
            "segments": [s.to_dict() for s in self._segments],
            "info": self.info,
        }

    # ---- notebooks and the data stack (filippov/_html.py, filippov/export.py)

    def _repr_html_(self) -> str:
        """Notebook display: the summary table and, in 2-D, a small inline portrait."""
        from filippov._html import solution_html

        return solution_html(self)

    def to_dataframe(
        self, table: str = "events", *, t: ArrayLike | None = None, n_samples: int = 201
    ) -> Any:
        """One table of the solution as a tidy pandas DataFrame (needs pandas).

        Parameters
        ----------
        table : {"events", "segments", "states"}, default "events"
            ``"events"``: one row per event (``t``, ``kind``, ``indices`` as ``"0,2"``,
            ``mode_before``, ``mode_after``, ``unique``, ``note``, ``x0, x1, ...``);
            ``"segments"``: one row per segment (``t0``, ``t1``, ``kind``, ``mode``,
            ``relay_norm`` (the relay norm φ of the mode: ``"l1"`` for the ``"linf"``
            steepest-descent flow, its dual), ``signs``, ``free``, ``dense``, relay values
            ``lam0, lam1, ...`` at ``t0``);
            ``"states"``: ``t`` and ``x0, x1, ...`` sampled from the dense output.
        t : (k,) array_like, optional
            Times of the ``"states"`` table; default: ``n_samples`` uniform times plus
            every breakpoint :attr:`t`.
        n_samples : int, default 201

        Returns
        -------
        pandas.DataFrame
            With ``status``, ``message``, ``method`` and the counters in ``df.attrs``.

        Examples
        --------
        >>> import filippov as fp
        >>> from filippov.objectives import slope
        >>> sol = fp.solve(fp.steepest_descent_flow(slope(0.5), "linf"), [0.6, 0.1], (0, 4))
        >>> df = sol.to_dataframe("segments")
        >>> list(df["kind"]), df.attrs["status"]
        (['regular', 'sliding', 'stationary'], 1)
        """
        from filippov.export import solution_to_dataframe

        return solution_to_dataframe(self, table, t=t, n_samples=n_samples)

    def to_xarray(self, *, t: ArrayLike | None = None, n_samples: int = 201) -> Any:
        """The solution as an xarray Dataset (needs xarray).

        The state sampled from the dense output is ``x`` with dimensions ``(time, coord)``;
        events are ``event_t``, ``event_kind``, ``event_x`` (``(event, coord)``), ... along
        ``event``, segments ``segment_t0``, ``segment_kind``, ... along ``segment``.
        ``status``, ``message``, ``success`` (0/1), ``method`` and the counters are
        attributes. Writes to netCDF as it is (``ds.to_netcdf(path, engine="h5netcdf")``).

        Parameters
        ----------
        t : (k,) array_like, optional
            Sample times; default: ``n_samples`` uniform times plus every breakpoint.
        n_samples : int, default 201

        Returns
        -------
        xarray.Dataset

        Examples
        --------
        >>> import filippov as fp
        >>> from filippov.objectives import slope
        >>> sol = fp.solve(fp.steepest_descent_flow(slope(0.5), "linf"), [0.6, 0.1], (0, 4))
        >>> ds = sol.to_xarray(t=[0.0, 4.0])
        >>> ds.x.sel(time=4.0).values, ds.event_kind.values.tolist()
        (array([-1.5, -3. ]), ['sliding-entry', 'sliding-entry', 'stationary'])
        """
        from filippov.export import solution_to_xarray

        return solution_to_xarray(self, t=t, n_samples=n_samples)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FilippovSolution):
            return NotImplemented
        return (
            np.array_equal(self._t, other._t)
            and np.array_equal(self._x, other._x)
            and self._events == other._events
            and self._segments == other._segments
            and self._status == other._status
            and self._message == other._message
            and self._method == other._method
            and self._counters == other._counters
            and self._info == other._info
        )

    __hash__ = None  # type: ignore[assignment]

    # ---- persistence

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        rtol: float = _RESAMPLE_RTOL,
        atol: float = _RESAMPLE_ATOL,
    ) -> Path:
        """Write the solution to one ``.npz`` file, atomically.

        Arrays go in as float64 arrays, everything else in a JSON entry (stored as a
        ``uint8`` array, so the file is a plain npz that loads with
        ``allow_pickle=False``). The file is written to a temporary file in the same
        directory and moved into place with :func:`os.replace`, so an interrupted save
        never leaves a partial file at ``path`` (an existing file stays intact).
        The name is used as given (no ``.npz`` suffix is added).

        Linear, Hermite and nodal segments (so every solution :func:`filippov.solve`
        returns) round-trip exactly: the loaded solution is ``==`` to this one and
        evaluates bit for bit like it. A :class:`CallableDense`
        segment is stored as Hermite samples reproducing it to ``atol + rtol * max|x|``;
        the loaded segment has ``dense.source == "callable"`` and ``dense.error``.

        Parameters
        ----------
        path : str or path-like
            Destination file, in an existing folder (not a folder itself).
        rtol, atol : float, default 1e-12
            Resampling tolerance for callable segments (unused otherwise).

        Returns
        -------
        pathlib.Path
            The path written.

        Raises
        ------
        TypeError, ValueError
            ``path`` is not a path, is empty or names a folder; ``rtol``/``atol`` are not
            non-negative numbers.
        OSError
            The folder does not exist or cannot be written; ``filename`` is ``path``
            (never the temporary file).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from filippov.solution import FilippovSolution
        >>> sol = FilippovSolution([0.0], [[1.0]], [], [], 0, "Empty span.")
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = sol.save(pathlib.Path(d) / "sol.npz")
        ...     FilippovSolution.load(p) == sol
        True
        """
        path = output_path(path, "path")
        arrays = self._to_arrays(
            rtol=require_non_negative(rtol, "rtol"), atol=require_non_negative(atol, "atol")
        )
        directory = path.parent
        while True:
            tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
            try:
                fd = os.open(
                    tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
                )
            except FileExistsError:  # pragma: no cover - 48 random bits collided
                continue
            except OSError as exc:
                # Name the destination, not the hidden temporary file next to it.
                raise type(exc)(exc.errno, exc.strerror, str(path)) from exc
            break
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(npz_bytes(arrays))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_directory(directory)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FilippovSolution:
        """Read a solution written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        FilippovSolution
            Equal (``==``) to the saved one, except that :class:`CallableDense` segments (never made by
            :func:`filippov.solve`) come back as their Hermite samples. A file written by a
            :class:`~filippov.compact_solution.CompactSolution` loads as one.

        Raises
        ------
        TypeError
            ``path`` is not a string or path-like.
        ValueError
            ``path`` is empty or names a folder, or the file cannot be read as a solution
            (the message names the file and the problem): empty, truncated, corrupted
            (every file :meth:`save` writes carries a SHA-256 of its bytes), not a filippov
            solution file, of a newer format version, or holding an object array (files
            are read with ``allow_pickle=False``: nothing in them is ever executed).
        FileNotFoundError
            ``path`` does not exist.
        """
        path = input_path(path, "path")
        arrays = read_npz(path, "filippov solution")
        if "meta" not in arrays:
            raise ValueError(
                f"`path` must be a filippov solution file written by FilippovSolution.save. "
                f"Got {str(path)!r} (no 'meta' entry) instead."
            )
        try:
            meta = json.loads(arrays["meta"].astype(np.uint8).tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"`path` must be a filippov solution file. Got {str(path)!r} with an "
                "unreadable 'meta' entry instead."
            ) from exc
        if isinstance(meta, dict) and meta.get("format") == "filippov-compact-solution":
            # Written by CompactSolution.save (storage="compact"): a FilippovSolution too.
            from filippov.compact_solution import CompactSolution  # lazy: it imports us

            return CompactSolution._from_npz(path, arrays)
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise ValueError(
                f"`path` must be a filippov solution file ({_FORMAT!r}). Got {str(path)!r} "
                f"with format {meta.get('format') if isinstance(meta, dict) else None!r} instead."
            )
        if meta.get("version") not in (1, _FORMAT_VERSION):
            raise ValueError(
                f"`path` must be a format version 1 or {_FORMAT_VERSION} file. Got version "
                f"{meta.get('version')!r} in {str(path)!r} instead (written by a newer filippov?)."
            )
        with contents_of(path, "filippov solution"):
            return cls._from_arrays(meta, arrays)

    @classmethod
    def _from_arrays(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> FilippovSolution:
        """The solution :meth:`_to_arrays` stored (``meta`` is its decoded JSON entry)."""
        modes = [Mode._from_json(m) for m in meta["modes"]]

        def mode_of(index: int | None) -> Mode | None:
            return None if index is None else modes[index]

        events = [
            Event(
                float(arrays["event_t"][i]),
                arrays["event_x"][i],
                e["kind"],
                tuple(e["indices"]),
                mode_of(e["mode_before"]),
                mode_of(e["mode_after"]),
                unique=e["unique"],
                note=e["note"],
            )
            for i, e in enumerate(meta["events"])
        ]
        segments = []
        lam_off = arrays["segment_lam_offsets"]
        her_off = arrays["hermite_offsets"]
        n_lin = n_her = n_nod = 0
        nod_off = arrays.get("nodal_offsets", np.zeros(1, dtype=np.int64))
        for i, s in enumerate(meta["segments"]):
            t0, t1 = (float(v) for v in arrays["segment_t"][i])
            lam = arrays["segment_lam"][lam_off[i] : lam_off[i + 1]]
            dense: SegmentDense
            if s["dense"] == "linear":
                dense = LinearDense(t0, arrays["linear_x0"][n_lin], arrays["linear_v"][n_lin])
                n_lin += 1
            elif s["dense"] == "nodal":
                a, b = nod_off[n_nod], nod_off[n_nod + 1]
                # pieces are counted by breaks: segment k's values start at a - k
                dense = NodalDense(
                    arrays["nodal_breaks"][a:b],
                    arrays["nodal_values"][a - n_nod : b - n_nod - 1],
                    s["offset"],
                )
                n_nod += 1
            else:
                a, b = her_off[n_her], her_off[n_her + 1]
                dense = HermiteDense(
                    arrays["hermite_t"][a:b],
                    arrays["hermite_y"][a:b],
                    arrays["hermite_dy"][a:b],
                    source=s["source"],
                    error=s["error"],
                )
                n_her += 1
            segments.append(Segment(t0, t1, modes[s["mode"]], s["kind"], lam, dense))
        counters = meta["counters"]
        return cls(
            arrays["t"],
            arrays["x"],
            events,
            segments,
            meta["status"],
            meta["message"],
            nfev=counters["nfev"],
            njev=counters["njev"],
            nlu=counters["nlu"],
            n_selection_solves=counters["n_selection_solves"],
            method=meta["method"],
            info=meta["info"],
        )

    def _to_arrays(self, *, rtol: float, atol: float) -> dict[str, np.ndarray]:
        """Everything :meth:`save` writes, as named arrays (JSON metadata as uint8)."""
        n = self.n
        mode_index: dict[Mode, int] = {}

        def index_of(mode: Mode | None) -> int | None:
            if mode is None:
                return None
            return mode_index.setdefault(mode, len(mode_index))

        events_meta = [
            {
                "kind": e.kind,
                "indices": list(e.indices),
                "mode_before": index_of(e.mode_before),
                "mode_after": index_of(e.mode_after),
                "unique": e.unique,
                "note": e.note,
            }
            for e in self._events
        ]
        seg_meta: list[dict[str, Any]] = []
        lin_x0, lin_v, her_t, her_y, her_dy = [], [], [], [], []
        her_off, lam_off, lams = [0], [0], []
        nod_breaks: list[FloatArray] = []
        nod_values: list[FloatArray] = []
        nod_off = [0]
        for s in self._segments:
            d = s.dense
            if isinstance(d, CallableDense) or not isinstance(
                d, (LinearDense, HermiteDense, NodalDense)
            ):
                if s.t1 > s.t0:
                    d = _resample_callable(
                        d, s.t0, s.t1, rtol=rtol, atol=atol, max_nodes=_RESAMPLE_MAX_NODES
                    )
                else:  # a zero-length segment: its one state is the whole path
                    d = LinearDense(s.t0, d(np.array([s.t0]))[0], np.zeros(n))
            entry: dict[str, Any] = {"mode": index_of(s.mode), "kind": s.kind}
            if isinstance(d, LinearDense):
                entry["dense"] = "linear"
                lin_x0.append(d.x0)
                lin_v.append(d.v)
            elif isinstance(d, NodalDense):
                entry.update(dense="nodal", offset=d.offset)
                nod_breaks.append(d.breaks)
                nod_values.append(d.values)
                nod_off.append(nod_off[-1] + len(d.breaks))
            else:
                assert isinstance(d, HermiteDense)
                entry.update(dense="hermite", source=d.source, error=d.error)
                her_t.append(d.t)
                her_y.append(d.y)
                her_dy.append(d.dy)
                her_off.append(her_off[-1] + len(d.t))
            seg_meta.append(entry)
            lams.append(s.lam)
            lam_off.append(lam_off[-1] + len(s.lam))
        meta = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "status": self._status,
            "message": self._message,
            "method": self._method,
            "counters": {
                "nfev": self.nfev,
                "njev": self.njev,
                "nlu": self.nlu,
                "n_selection_solves": self.n_selection_solves,
            },
            "info": self._info,
            "modes": [
                {"norm": m.norm, "signs": list(m.signs), "free": list(m.free)} for m in mode_index
            ],
            "events": events_meta,
            "segments": seg_meta,
        }
        meta_bytes = json.dumps(meta, allow_nan=False, ensure_ascii=False).encode("utf-8")

        def stack(rows: list[FloatArray], width: int) -> FloatArray:
            return np.array(rows, dtype=np.float64).reshape(len(rows), width)

        def cat(parts: list[FloatArray], width: int | None) -> FloatArray:
            if parts:
                return np.concatenate(parts).astype(np.float64)
            return np.zeros((0,) if width is None else (0, width))

        return {
            "meta": np.frombuffer(meta_bytes, dtype=np.uint8),
            "t": np.asarray(self._t),
            "x": np.asarray(self._x),
            "event_t": np.array([e.t for e in self._events], dtype=np.float64),
            "event_x": stack([e.x for e in self._events], n),
            "segment_t": np.array([[s.t0, s.t1] for s in self._segments], dtype=np.float64).reshape(
                -1, 2
            ),
            "segment_lam": cat(lams, None),
            "segment_lam_offsets": np.array(lam_off, dtype=np.int64),
            "linear_x0": stack(lin_x0, n),
            "linear_v": stack(lin_v, n),
            "hermite_t": cat(her_t, None),
            "hermite_y": cat(her_y, n),
            "hermite_dy": cat(her_dy, n),
            "hermite_offsets": np.array(her_off, dtype=np.int64),
            "nodal_breaks": cat(nod_breaks, None),
            "nodal_values": (
                np.concatenate(nod_values)
                if nod_values
                else np.zeros((0, _NODAL_POINTS, n), dtype=np.float64)
            ),
            "nodal_offsets": np.array(nod_off, dtype=np.int64),
        }


def _fsync_directory(directory: Path) -> None:
    """Best-effort fsync of a directory so a completed rename survives a crash."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _table(
    headers: list[str],
    rows: list[list[str]],
    align: str,
    max_rows: int,
    min_widths: Mapping[int, int] | None = None,
) -> list[str]:
    """Fixed-width table lines (``align``: one 'l' or 'r' per column)."""
    if len(rows) > max_rows:
        head, tail = max_rows // 2, max_rows - max_rows // 2
        skipped = len(rows) - max_rows
        shown: list[list[str] | None] = [*rows[:head], None, *rows[-tail:]]
    else:
        skipped = 0
        shown = list(rows)
    widths = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(headers)]
    for j, w in (min_widths or {}).items():
        widths[j] = max(widths[j], w)

    def fmt(cells: list[str]) -> str:
        out = [
            c.rjust(w) if a == "r" else c.ljust(w)
            for c, w, a in zip(cells, widths, align, strict=False)
        ]
        return "  " + "  ".join(out)

    lines = [fmt(headers)]
    for row in shown:
        lines.append(
            f"  ... ({skipped} row{'s' if skipped > 1 else ''} omitted) ..."
            if row is None
            else fmt(row)
        )
    return lines
