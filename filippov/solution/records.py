"""Records of a Filippov solution: modes, events, and the engine's trusted constructors.

A :class:`Mode` is the face of the relay set held over a time interval, an :class:`Event`
ends one (:doc:`/theory`, "Modes and the sliding selection", "Events and their
classification"). The public constructors check every field. The engine builds thousands
of records per solve from arrays it owns, where the invariants hold by construction: it
uses :func:`trusted_record` and :func:`readonly_view`, the engine-facing constructors of
this package (also used by :mod:`filippov.solution.dense` and the compact solution).
The small field converters and formatters below are shared by the modules of
:mod:`filippov.solution`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from filippov._status import EVENT_KINDS
from filippov._validation import (
    FloatArray,
    as_vector,
    preview,
)
from filippov.norms import Norm

__all__ = [
    "EVENT_KINDS",
    "SEGMENT_KINDS",
    "Event",
    "Mode",
    "readonly_view",
    "trusted_record",
]


#: Kinds of :class:`Segment`: the kind of its mode, or "stationary" when the engine knows
#: the velocity vanishes on the segment.
SEGMENT_KINDS: tuple[str, ...] = ("regular", "sliding", "tie", "stationary")

# --------------------------------------------------------------------------- helpers


def as_time(value: Any, name: str) -> float:
    """Return ``value`` as a finite Python float."""
    if isinstance(value, bool):
        raise TypeError(f"`{name}` must be a real number. Got {value!r} instead.")
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be a real number. Got {preview(value)} instead.") from exc
    if not np.isfinite(out):
        raise ValueError(f"`{name}` must be finite. Got {out!r} instead.")
    return out


def as_str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string. Got {value!r} instead.")
    return value


def int_tuple(value: Any, name: str) -> tuple[int, ...]:
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
                f"`{name}` must be a sequence of integers. Got {preview(value)} instead."
            )
        out.append(int(item))
    return tuple(out)


def readonly_view(arr: FloatArray) -> FloatArray:
    """A read-only float64 *copy* of ``arr``: how records hold their arrays.

    Engine-facing (with :func:`trusted_record`): the array a record stores can then be
    neither changed through the record nor by the caller who passed it in.

    Examples
    --------
    >>> from filippov.solution import readonly_view
    >>> a = readonly_view([1, 2])
    >>> a.dtype.name, a.flags.writeable
    ('float64', False)
    """
    arr = np.array(arr, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr


RecordT = TypeVar("RecordT")


def trusted_record(cls: type[RecordT], **fields: Any) -> RecordT:
    """An instance of the frozen record class ``cls`` holding ``fields``, not validated.

    The engine-facing constructor of the records of :mod:`filippov.solution`
    (:class:`Mode`, :class:`Event`, :class:`~filippov.solution.Segment` and the dense
    outputs), used by the recorders, the exact path and the compact solution. The caller
    promises what the public constructor would check: every field given, arrays
    float64 and read-only (:func:`readonly_view`), tuples of Python ints, and the
    invariants of the class (a sorted free set, a segment's ``dense`` starting at its
    ``t0``, ...). Nothing is copied or converted.

    Why it exists: the engine builds a mode, a segment and one or more events per event of
    the flow — thousands per solve — from arrays it owns, and the invariants the public
    constructors check hold there by construction; those checks (per-item conversions of
    length-n tuples, finiteness scans, copies) cost about as much as the rest of an event
    at n = 1000. ``tests/results/test_solution.py`` rebuilds engine output through the public
    constructors to keep the invariants honest.

    Examples
    --------
    >>> from filippov.solution import Mode, trusted_record
    >>> trusted_record(Mode, norm="l1", signs=(1, -1), free=()) == Mode("l1", (1, -1))
    True
    """
    obj = object.__new__(cls)
    # One C-level update of the instance dict: the records are frozen dataclasses without
    # __slots__, and setting field by field through object.__setattr__ cost ~1 µs a field.
    obj.__dict__.update(fields)
    return obj


def fmt_set(indices: Sequence[int]) -> str:
    return "{" + ", ".join(str(i) for i in indices) + "}"


def fmt_signs(signs: Sequence[int], limit: int = 12) -> str:
    text = "".join("+" if s > 0 else "-" if s < 0 else "0" for s in signs)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fmt_time(t: float) -> str:
    return f"{t:.10g}"


def fmt_state(x: FloatArray, limit: int = 40) -> str:
    text = np.array2string(
        np.asarray(x),
        threshold=6,
        edgeitems=2,
        separator=", ",
        formatter={"float_kind": lambda v: f"{v:.6g}"},
    )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_normalize(value: Any, name: str) -> Any:
    """Return ``value`` as it reads back from JSON, or raise naming ``name``."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"`{name}` must be JSON-serializable (str keys, finite numbers, lists, "
            f"dicts, str, bool, None). Got {preview(value)} instead."
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
        h ≠ 0), ``"sliding"`` (ℓ1 with J nonempty; ℓ2 held at h = 0; ℓ∞ with one
        switching function held at h = 0, where ∂|·| = [−1, 1] as for ℓ1), or ``"tie"``
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
        signs = int_tuple(signs, "signs")
        sign_arr = np.asarray(signs, dtype=np.int64)
        if sign_arr.size and not np.all(np.abs(sign_arr) <= 1):
            raise ValueError(f"`signs` must hold only -1, 0 and +1. Got {signs} instead.")
        free_list = int_tuple(free, "free")
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
        free = int_tuple(np.asarray(face.free, dtype=np.int64).ravel(), "face.free")
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
            if len(self.free) == 1 and self.signs[self.free[0]] == 0:
                # (m = 1 at h = 0: the whole [−1, 1], the face a scalar relay slides on)
                return "sliding"
            return "tie" if len(self.free) > 1 else "regular"
        return "sliding" if self.free else "regular"

    @property
    def label(self) -> str:
        """A short human description of the mode (indices are 0-based)."""
        if self.norm == "l1":
            return (
                f"sliding on {fmt_set(self.free)}"
                if self.free
                else (f"regular [{fmt_signs(self.signs)}]")
            )
        if self.norm == "linf":
            if len(self.free) > 1:
                return f"tie on {fmt_set(self.free)}"
            if len(self.free) == 1:
                i = self.free[0]
                s = self.signs[i]
                if s == 0:
                    return f"sliding on {fmt_set(self.free)}"
                return f"regular {'+' if s > 0 else '-' if s < 0 else ''}e{i}"
            return "regular"
        if self.norm == "l2":
            return "sliding at h = 0" if self.free else "regular"
        return f"free on {fmt_set(self.free)}" if self.free else "regular"

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
        idx = int_tuple(indices, "indices")
        if any(i < 0 for i in idx):
            raise ValueError(f"`indices` must be non-negative (0-based). Got {idx} instead.")
        for name, value in (("mode_before", mode_before), ("mode_after", mode_after)):
            if value is not None and not isinstance(value, Mode):
                raise TypeError(f"`{name}` must be a Mode or None. Got {value!r} instead.")
        if not isinstance(unique, (bool, np.bool_)):
            raise TypeError(f"`unique` must be a bool. Got {unique!r} instead.")
        object.__setattr__(self, "t", as_time(t, "t"))
        object.__setattr__(self, "x", readonly_view(as_vector(x, "x")))
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "indices", idx)
        object.__setattr__(self, "mode_before", mode_before)
        object.__setattr__(self, "mode_after", mode_after)
        object.__setattr__(self, "unique", bool(unique))
        object.__setattr__(self, "note", as_str(note, "note"))

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
            f"x={fmt_state(self.x)}{extra})"
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
