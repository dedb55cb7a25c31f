"""Compact storage of long exact-path runs: per segment only what changed.

A :class:`~filippov.solution.FilippovSolution` keeps, per segment, the state at its start,
its velocity and its relay values (three length-``n`` arrays) and, per mode, one sign per
switching function: 532 MB for the 8200 events of the d = 2000 sign flow. On the exact
path the velocity and the relay values are piecewise constant and an event changes only
some of them (the relays of the indices that joined, left or crossed, and the multipliers
of the sliding set), while the state moves in closed form, ``x₁ = x₀ + (t₁ − t₀) v``.
:class:`CompactSolution` therefore stores

* the breakpoint times and, per segment, its start and end time, mode number and kind;
* the relay values and the velocity as *changes*: the entries that differ (bit for bit)
  from the previous segment's, and not even those of the velocity when it is
  ``c0 − λ`` (``B = I``: every steepest-descent flow), which is recomputed;
* the modes as changes of their signs and of their free set;
* full copies of state, velocity and relay values only at *checkpoints*: every
  ``checkpoints`` segments, or at the first segment starting at or after each time of a
  grid (an option for very long runs: the memory of the full states then grows with the
  grid, not with the number of events).

Everything else is recomputed on demand by replaying, from the nearest checkpoint, the
same floating-point operations the exact path did (``x0 + (t1 − t0) * v``), so the dense
output, the breakpoints, the events and the segments are *identical* (bit for bit) to the
ones a full solution holds, and :meth:`CompactSolution.save` / :meth:`CompactSolution.load`
round-trip exactly. Reading one segment costs at most one replay from its checkpoint;
iterating, or evaluating the dense output at sorted times, replays each segment once.

Ask for it with ``fp.solve(..., storage="compact")``; see :func:`filippov.solve`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from filippov._npz_io import FileFormatError, contents_of, read_npz
from filippov._status import EVENT_KINDS, Status
from filippov._validation import FloatArray, as_float_array, input_path, require_finite
from filippov.solution.compact_store import MODE_CHECKPOINT, CompactReader, LazyRecords
from filippov.solution.records import Event
from filippov.solution.result import FilippovSolution
from filippov.solution.segment import Segment

__all__ = ["CompactSolution"]

_FORMAT = "filippov-compact-solution"
#: The arrays a compact solution file holds besides ``meta``.
_ARRAY_KEYS = (
    "t", "x_init", "c0", "tau0", "tau1", "seg_mode", "seg_kind", "v_rule", "v_off", "v_idx",
    "v_val", "lam_off", "lam_idx", "lam_val", "chk_seg", "chk_x", "chk_v", "chk_lam", "bp_seg",
    "mode_norm", "sign_off", "sign_idx", "sign_val", "free_off", "free_idx", "mode_chk_signs",
    "mode_chk_free", "ev_tau", "ev_kind", "ev_idx_off", "ev_idx", "ev_mode", "ev_unique",
    "ev_note", "ev_xref", "extra_x",
)  # fmt: skip
_FORMAT_VERSION = 1
#: How read errors name the file kind.
_WHAT = "compact filippov solution"


class CompactSolution(FilippovSolution):
    """A :class:`~filippov.solution.FilippovSolution` stored compactly (exact path only).

    The same interface and the same values, bit for bit: ``t``, ``x``, ``events``,
    ``segments``, dense output ``sol(t)``, ``save``/``load``. Per segment only the
    entries of the velocity and of the relay values that changed are kept, the modes as
    changes of their signs and free sets, and full states at checkpoints; everything else
    is recomputed on access by replaying the exact path's own arithmetic (see the module
    docstring). ``sol.x`` builds every breakpoint state on access, and each event or
    segment read is built then: for thousands of events in thousands of dimensions that
    is the memory of a full solution, so read what you need (:meth:`state_at_breakpoint`
    rebuilds one state alone; :attr:`counts` builds no event).

    Build it with ``fp.solve(system, x0, t_span, storage="compact")``.

    Examples
    --------
    >>> import numpy as np
    >>> import filippov as fp
    >>> obj = fp.Objective.quadratic(np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, -1.0]))
    >>> system = fp.steepest_descent_flow(obj, "linf")
    >>> full = fp.solve(system, [1.0, 2.0], (0.0, 5.0))
    >>> small = fp.solve(system, [1.0, 2.0], (0.0, 5.0), storage="compact")
    >>> bool(np.array_equal(small(np.linspace(0, 5, 11)), full(np.linspace(0, 5, 11))))
    True
    >>> small.events == full.events and small.segments == full.segments
    True
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            "CompactSolution has no public constructor: it is returned by "
            "filippov.solve(..., storage='compact') and by CompactSolution.load."
        )

    _store_arrays: dict[str, np.ndarray]
    _labels: dict[str, Any]
    _reader: CompactReader
    _n: int
    _m: int
    _offset: float

    @classmethod
    def _from_compact(
        cls,
        arrays: dict[str, np.ndarray],
        labels: dict[str, Any],
        *,
        n: int,
        m: int,
        offset: float,
        t: FloatArray,
        status: int,
        message: str,
        method: str,
        counters: tuple[int, int, int, int],
        info: dict[str, Any],
    ) -> CompactSolution:
        obj = object.__new__(cls)
        obj._store_arrays = arrays
        obj._labels = labels
        obj._n = int(n)
        obj._m = int(m)
        obj._offset = float(offset)
        obj._reader = CompactReader(arrays, labels, n, m, float(offset))
        t = np.array(t, dtype=np.float64)
        t.setflags(write=False)
        obj._t = t
        obj._status, obj._message, obj._method = Status(status), str(message), str(method)
        obj._counters = counters
        obj._info = info
        reader = obj._reader
        seg_t0 = arrays["tau0"] + offset if offset != 0.0 else arrays["tau0"].copy()
        obj._seg_t0 = seg_t0
        obj._segments = LazyRecords(reader.n_segments, reader.segment)  # type: ignore[assignment]
        obj._events = LazyRecords(int(arrays["ev_tau"].size), reader.event)  # type: ignore[assignment]
        return obj

    # ---- storage-specific reads

    @property
    def _x(self) -> FloatArray:  # type: ignore[override]
        # Built on access (the base class reads ``self._x``): every breakpoint state.
        reader = self._reader
        out = np.empty((self._t.size, self._n))
        for j in range(self._t.size):
            out[j] = reader.breakpoint_state(j)
        out.setflags(write=False)
        return out

    def state_at_breakpoint(self, j: int) -> FloatArray:
        """The state at breakpoint ``j`` (``x[j]``), rebuilt alone.

        Parameters
        ----------
        j : int
            Breakpoint index (negative counts from the end).

        Returns
        -------
        ndarray, shape (n,)
        """
        k = self._t.size
        jj = int(j) + k if int(j) < 0 else int(j)
        if not 0 <= jj < k:
            raise IndexError(f"`j` must index one of the {k} breakpoints. Got {j!r} instead.")
        return self._reader.breakpoint_state(jj)

    @property
    def n(self) -> int:
        """State dimension."""
        return self._n

    @property
    def events(self) -> tuple[Event, ...]:
        """Events in time order (built on access)."""
        return self._events

    @property
    def segments(self) -> tuple[Segment, ...]:
        """Segments in time order (built on access)."""
        return self._segments

    @property
    def counts(self) -> dict[str, int]:
        """Number of events of each kind (from the stored kind codes: no event is built)."""
        out = dict.fromkeys(EVENT_KINDS, 0)
        kinds = self._labels["kinds"]
        codes, n = np.unique(self._store_arrays["ev_kind"], return_counts=True)
        for code, c in zip(codes.tolist(), n.tolist(), strict=True):
            out[kinds[code]] = out.get(kinds[code], 0) + c
        return out

    @property
    def nbytes(self) -> int:
        """Bytes held by the compact records (numpy arrays; the Python objects aside)."""
        return int(sum(a.nbytes for a in self._store_arrays.values())) + int(self._t.nbytes)

    def __call__(self, t: ArrayLike) -> FloatArray:
        """State at ``t`` (as :meth:`FilippovSolution.__call__`), replaying each segment
        needed once, in time order."""
        ts = as_float_array(t, "t")
        if ts.ndim > 1 or self._reader.n_segments == 0:
            return super().__call__(t)
        require_finite(ts, "t")
        flat = self._in_range(np.atleast_1d(ts))
        out = np.empty((flat.shape[0], self._n))
        which = np.clip(np.searchsorted(self._seg_t0, flat, side="right") - 1, 0, None)
        for k in np.unique(which).tolist():
            mask = which == k
            out[mask] = self._reader.segment(k).dense(flat[mask])
        return out[0] if ts.ndim == 0 else out

    def to_full(self) -> FilippovSolution:
        """The same solution as a plain :class:`~filippov.solution.FilippovSolution`
        (every record built: the memory of a full solution)."""
        return FilippovSolution._from_engine(
            np.array(self._t),
            np.array(self._x),
            tuple(self._events),
            tuple(self._segments),
            self._status,
            self._message,
            nfev=self._counters[0],
            njev=self._counters[1],
            n_selection_solves=self._counters[3],
            method=self._method,
            nlu=self._counters[2],
            counters=self._extra_counters,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FilippovSolution):
            return NotImplemented
        return (
            np.array_equal(self._t, other.t)
            and self._status == other.status
            and self._message == other.message
            and self._method == other.method
            and self._counters == (other.nfev, other.njev, other.nlu, other.n_selection_solves)
            and dict(self._extra_counters) == dict(other._extra_counters)
            and self._info == other.info
            and len(self._events) == len(other.events)
            and len(self._segments) == len(other.segments)
            and np.array_equal(self._x, other.x)
            and all(a == b for a, b in zip(self._events, other.events, strict=True))
            and all(a == b for a, b in zip(self._segments, other.segments, strict=True))
        )

    __hash__ = None

    # ---- persistence

    def _to_arrays(self, *, rtol: float, atol: float) -> dict[str, np.ndarray]:
        """The compact records and a JSON ``meta`` entry (what :meth:`save` writes)."""
        meta = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "n": self._n,
            "m": self._m,
            "offset": self._offset,
            "status": int(self._status),
            "message": self._message,
            "method": self._method,
            "counters": list(self._counters),
            "info": self._info,
            "labels": self._labels,
        }
        out = dict(self._store_arrays)
        out["t"] = np.asarray(self._t)
        out["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        return out

    @classmethod
    def load(cls, path: Any) -> CompactSolution:
        """Read a compact solution written by :meth:`save` (exactly as it was saved).

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        CompactSolution

        Raises
        ------
        ValueError
            (a ``FileFormatError``, naming the file and the problem) The file is empty,
            truncated or corrupted (:meth:`save` writes a SHA-256 digest), holds an object
            array (files are read with ``allow_pickle=False``), is not a compact filippov
            solution (a full one loads with
            :meth:`FilippovSolution.load <filippov.solution.FilippovSolution.load>`, which
            also loads compact files), or its entries do not fit together: an array of the
            wrong length, times that decrease, an index out of range (the message names
            the entry).
        FileNotFoundError
            ``path`` does not exist.
        """
        path = input_path(path, "path")
        return cls._from_npz(path, read_npz(path, _WHAT))

    @classmethod
    def _from_npz(cls, path: Path, arrays: dict[str, np.ndarray]) -> CompactSolution:
        """The solution in the arrays :func:`~filippov._npz_io.read_npz` read from ``path``
        (also what :meth:`FilippovSolution.load` calls on a compact file)."""
        arrays = dict(arrays)
        try:
            meta = json.loads(arrays.pop("meta").astype(np.uint8).tobytes().decode("utf-8"))
        except (KeyError, UnicodeDecodeError, json.JSONDecodeError, TypeError, ValueError) as exc:
            raise FileFormatError(
                f"`path` must be a compact filippov solution file. Got {str(path)!r} "
                "without a readable 'meta' entry instead."
            ) from exc
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise FileFormatError(
                f"`path` must be a compact filippov solution file ({_FORMAT!r}). Got "
                f"{str(path)!r} with format "
                f"{meta.get('format') if isinstance(meta, dict) else None!r} instead "
                "(a full solution loads with FilippovSolution.load)."
            )
        if meta.get("version") != _FORMAT_VERSION:
            raise FileFormatError(
                f"`path` must be a format version {_FORMAT_VERSION} file. Got version "
                f"{meta.get('version')!r} in {str(path)!r} instead (written by a newer filippov?)."
            )
        missing = sorted(set(_ARRAY_KEYS) - set(arrays))
        if missing:
            raise FileFormatError(
                f"`path` must be a complete compact filippov solution file. Got {str(path)!r} "
                f"without the entries {missing} instead."
            )
        try:
            n, m = _check_arrays(arrays, meta)
        except _Bad as exc:
            raise FileFormatError(
                f"`path` must be a consistent compact filippov solution file. Got "
                f"{str(path)!r}, where {exc} instead."
            ) from None
        with contents_of(path, _WHAT):
            counters = tuple(int(c) for c in meta["counters"])
            info = meta["info"]
            if not isinstance(info, dict):
                raise TypeError("the 'info' entry of 'meta' is not a mapping")
            return cls._from_compact(
                arrays,
                meta["labels"],
                n=n,
                m=m,
                offset=float(meta["offset"]),
                t=arrays.pop("t"),
                status=int(meta["status"]),
                message=str(meta["message"]),
                method=str(meta["method"]),
                counters=(counters[0], counters[1], counters[2], counters[3]),
                info=info,
            )


# ---- checking a file's contents


class _Bad(Exception):
    """One inconsistency found by :func:`_check_arrays` (turned into a FileFormatError)."""


def _check_arrays(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> tuple[int, int]:
    """Check that the records of a compact file fit together; return ``(n, m)``.

    Why every entry is checked: the reader indexes one array with the values of another
    (offsets, segment and mode numbers, label codes), so a file edited by hand or by a
    faulty tool would otherwise load and then give wrong records or fail deep inside a
    later read with an ``IndexError``. Raises :class:`_Bad` naming the entry.
    """

    def meta_value(key: str) -> Any:
        if key not in meta:
            raise _Bad(f"its 'meta' entry has no {key!r}")
        return meta[key]

    n, m = meta_value("n"), meta_value("m")
    for name, value in (("n", n), ("m", m)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _Bad(f"its 'meta' entry has {name} = {value!r} (not a count)")
    offset = meta_value("offset")
    if isinstance(offset, bool) or not isinstance(offset, (int, float)) or not np.isfinite(offset):
        raise _Bad(f"its 'meta' entry has offset = {offset!r} (not a finite number)")
    labels = meta_value("labels")
    if not isinstance(labels, dict):
        raise _Bad("its 'meta' entry has no label tables")
    for key in ("kinds", "notes", "norms"):
        table = labels.get(key)
        if not isinstance(table, list) or not all(isinstance(s, str) for s in table):
            raise _Bad(f"its label table {key!r} is not a list of strings")

    def arr(key: str, kind: str, ndim: int) -> np.ndarray:
        a = arrays[key]
        ok = {"f": np.issubdtype(a.dtype, np.floating), "i": np.issubdtype(a.dtype, np.integer),
              "b": a.dtype == np.bool_}[kind]  # fmt: skip
        if not ok or a.ndim != ndim:
            what = {"f": "float", "i": "integer", "b": "boolean"}[kind]
            raise _Bad(
                f"its entry {key!r} is a {a.ndim}-d {a.dtype} array, not a {ndim}-d {what} array"
            )
        return a

    def size(key: str, a: np.ndarray, expected: int, why: str) -> None:
        if a.shape[0] != expected:
            raise _Bad(f"its entry {key!r} has {a.shape[0]} rows where {why} gives {expected}")

    def width(key: str, a: np.ndarray, expected: int, why: str) -> None:
        if a.shape[1] != expected:
            raise _Bad(f"its entry {key!r} has {a.shape[1]} columns where {why} is {expected}")

    def within(key: str, a: np.ndarray, lo: int, hi: int) -> None:
        if a.size and (int(a.min()) < lo or int(a.max()) >= hi):
            bad = a[(a < lo) | (a >= hi)].ravel()[0]
            raise _Bad(f"its entry {key!r} holds {int(bad)}, outside [{lo}, {hi})")

    def finite_sorted(key: str, a: np.ndarray) -> None:
        if not np.all(np.isfinite(a)):
            raise _Bad(f"its entry {key!r} holds a non-finite time")
        if a.size > 1 and np.any(np.diff(a) < 0):
            i = int(np.flatnonzero(np.diff(a) < 0)[0])
            raise _Bad(f"its entry {key!r} decreases at index {i + 1} (times must not decrease)")

    def offsets(key: str, records: int, idx_key: str, val_key: str | None, hi: int) -> None:
        off = arr(key, "i", 1)
        size(key, off, records + 1, f"one more than the {records} records")
        idx = arr(idx_key, "i", 1)
        if off[0] != 0 or np.any(np.diff(off) < 0) or off[-1] != idx.size:
            raise _Bad(
                f"its entry {key!r} is not a run of offsets from 0 to the {idx.size} "
                f"entries of {idx_key!r}"
            )
        within(idx_key, idx, 0, hi)
        if val_key is not None:
            size(val_key, arrays[val_key], idx.size, f"{idx_key!r}")

    for key in ("x_init", "c0", "tau0", "tau1", "v_val", "lam_val", "ev_tau", "t"):
        arr(key, "f", 1)
    for key in ("chk_x", "chk_v", "chk_lam", "extra_x"):
        arr(key, "f", 2)
    for key in ("seg_mode", "seg_kind", "v_rule", "chk_seg", "bp_seg", "mode_norm",
                "sign_val", "ev_kind", "ev_unique", "ev_note", "ev_xref"):  # fmt: skip
        arr(key, "i", 1)
    size("x_init", arrays["x_init"], n, "n")
    c0 = arrays["c0"]
    if c0.size not in (0, n):
        raise _Bad(f"its entry 'c0' has {c0.size} entries, neither 0 nor n = {n}")
    t = arrays["t"]
    if t.size == 0:
        raise _Bad("its entry 't' is empty")
    finite_sorted("t", t)
    tau0, tau1 = arrays["tau0"], arrays["tau1"]
    n_seg = tau0.size
    for key in ("tau1", "seg_mode", "seg_kind", "v_rule"):
        size(key, arrays[key], n_seg, "'tau0' (one per segment)")
    finite_sorted("tau0", tau0)
    finite_sorted("tau1", tau1)
    if np.any(tau1 < tau0):
        raise _Bad("its entries 'tau0' and 'tau1' have a segment ending before it starts")
    n_modes = arrays["mode_norm"].size
    within("seg_mode", arrays["seg_mode"], -1, n_modes)
    within("seg_kind", arrays["seg_kind"], 0, len(labels["kinds"]))
    within("v_rule", arrays["v_rule"], 0, 2)
    if c0.size == 0 and np.any(arrays["v_rule"] == 1):
        raise _Bad("its entry 'v_rule' asks for v = c0 - λ but 'c0' is empty")
    offsets("v_off", n_seg, "v_idx", "v_val", n)
    offsets("lam_off", n_seg, "lam_idx", "lam_val", m)
    chk = arrays["chk_seg"]
    if n_seg and (chk.size == 0 or chk[0] != 0):
        raise _Bad("its entry 'chk_seg' does not start with segment 0")
    if chk.size > 1 and np.any(np.diff(chk) <= 0):
        raise _Bad("its entry 'chk_seg' is not strictly increasing")
    within("chk_seg", chk, 0, max(n_seg, 1))
    for key, w, why in (("chk_x", n, "n"), ("chk_v", n, "n"), ("chk_lam", m, "m")):
        size(key, arrays[key], chk.size, "'chk_seg' (one per checkpoint)")
        width(key, arrays[key], w, why)
    size("bp_seg", arrays["bp_seg"], t.size, "'t' (one per breakpoint)")
    within("bp_seg", arrays["bp_seg"], -1, n_seg)
    within("mode_norm", arrays["mode_norm"], 0, len(labels["norms"]))
    offsets("sign_off", n_modes, "sign_idx", "sign_val", m)
    offsets("free_off", n_modes, "free_idx", None, m)
    n_mode_chk = -(-n_modes // MODE_CHECKPOINT)
    for key, kind in (("mode_chk_signs", "i"), ("mode_chk_free", "b")):
        a = arr(key, kind, 2)
        size(key, a, n_mode_chk, f"{n_modes} modes with one copy every {MODE_CHECKPOINT}")
        width(key, a, m, "m")
    ev_tau = arrays["ev_tau"]
    n_ev = ev_tau.size
    finite_sorted("ev_tau", ev_tau)
    for key in ("ev_kind", "ev_unique", "ev_note", "ev_xref"):
        size(key, arrays[key], n_ev, "'ev_tau' (one per event)")
    ev_mode = arr("ev_mode", "i", 2)
    size("ev_mode", ev_mode, n_ev, "'ev_tau' (one per event)")
    width("ev_mode", ev_mode, 2, "the pair (before, after)")
    within("ev_mode", ev_mode, -1, n_modes)
    within("ev_kind", arrays["ev_kind"], 0, len(labels["kinds"]))
    within("ev_note", arrays["ev_note"], 0, len(labels["notes"]))
    offsets("ev_idx_off", n_ev, "ev_idx", None, np.iinfo(np.int32).max)
    extra = arrays["extra_x"]
    width("extra_x", extra, n, "n")
    within("ev_xref", arrays["ev_xref"], -1 - extra.shape[0], n_seg)
    return n, m
