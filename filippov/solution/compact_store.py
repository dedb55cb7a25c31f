"""The records of a :class:`~filippov.solution.compact.CompactSolution`: store and replay.

:class:`CompactStore` is what the engine's compact recorder appends to while the exact path
runs (changes of the velocity, relay values and modes, checkpoints); :class:`CompactReader`
replays frozen records into states, modes, segments and events, bit for bit the ones a
full solution holds; :class:`LazyRecords` is the sequence of segments or events a compact
solution exposes, built on access. Engine-facing: used by ``filippov._compact_recorder``
and :mod:`filippov.solution.compact`.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np

from filippov._validation import FloatArray
from filippov.solution.dense import LinearDense
from filippov.solution.records import Event, Mode, trusted_record
from filippov.solution.segment import Segment

__all__ = ["MODE_CHECKPOINT", "CompactReader", "CompactStore", "DeltaLog", "LazyRecords", "bits"]

#: Modes between two full copies of a mode's signs and free set.
MODE_CHECKPOINT = 64


def bits(a: FloatArray) -> np.ndarray:
    """The float64 array ``a`` as int64 bit patterns (so ``-0.0 != 0.0`` and NaN == NaN)."""
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


class DeltaLog:
    """Append-only log of a vector's changes: record ``i`` sets ``vec[idx_i] = val_i``."""

    def __init__(self, size: int, dtype: str = "d") -> None:
        self.size = size
        self.dtype = dtype
        self.off = array("q", [0])
        self.idx = array("i")
        self.val = array(dtype)

    def append(self, idx: np.ndarray, val: np.ndarray | None = None) -> None:
        """One record (``val`` None: indices only)."""
        self.idx.frombytes(np.asarray(idx, dtype=np.int32).tobytes())
        if val is not None:
            np_dtype = np.float64 if self.dtype == "d" else np.int8
            self.val.frombytes(np.ascontiguousarray(val, dtype=np_dtype).tobytes())
        self.off.append(len(self.idx))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(off, idx, val)`` as numpy arrays (copies: the log may still grow)."""
        np_dtype = np.float64 if self.dtype == "d" else np.int8
        return (
            np.array(self.off, dtype=np.int64),
            np.array(self.idx, dtype=np.int32),
            np.frombuffer(self.val, dtype=np_dtype).copy()
            if len(self.val)
            else np.zeros(0, np_dtype),
        )


class CompactStore:
    """The compact records of one run (built by the engine's compact recorder).

    While recording, the ``append_*`` methods add to ``array.array`` buffers (no Python
    object per number); :meth:`freeze` turns them into numpy arrays, which is also what
    :meth:`CompactSolution.save` writes.
    """

    def __init__(
        self,
        n: int,
        m: int,
        x_init: FloatArray,
        c0: FloatArray | None,
        every: int,
        grid: FloatArray | None,
    ) -> None:
        self.n, self.m = n, m
        self.x_init = np.array(x_init, dtype=np.float64)
        self.c0 = None if c0 is None else np.array(c0, dtype=np.float64)
        self.every = every
        self.grid = grid
        self._grid_next = 0
        # segments
        self.tau0 = array("d")
        self.tau1 = array("d")
        self.seg_mode = array("q")
        self.seg_kind = array("b")
        self.v_rule = array("b")  # 1: v = c0 − λ (nothing stored for v)
        self.v_log = DeltaLog(n)
        self.lam_log = DeltaLog(m)
        self._v_prev = np.zeros(n)
        self._lam_prev = np.zeros(m)
        self.chk_seg = array("q")
        self.chk_x: list[FloatArray] = []
        self.chk_v: list[FloatArray] = []
        self.chk_lam: list[FloatArray] = []
        # breakpoints: the segment whose end each one is (−1: the initial state)
        self.bp_seg = array("q", [-1])
        # modes
        self.mode_norm = array("b")
        self.norms: list[str] = []
        self.sign_log = DeltaLog(m, "b")
        self.free_log = DeltaLog(m, "b")  # toggled indices (values unused: 1)
        self._signs_prev = np.zeros(m, dtype=np.int8)
        self._free_prev = np.zeros(m, dtype=bool)
        self.mode_chk_signs: list[np.ndarray] = []
        self.mode_chk_free: list[np.ndarray] = []
        # events
        self.ev_tau = array("d")
        self.ev_kind = array("b")
        self.ev_idx = DeltaLog(0)  # idx only (the values are unused)
        self.ev_mode = array("q")  # before, after (−1: None), interleaved
        self.ev_unique = array("b")
        self.ev_note = array("q")
        self.notes: list[str] = [""]
        self.ev_xref = array("q")  # ≥ 0: end of that segment; −1: x_init; ≤ −2: extra_x
        self.extra_x: list[FloatArray] = []
        self.kinds: list[str] = []

    # -- codes ----------------------------------------------------------------------------
    def kind_code(self, kind: str) -> int:
        try:
            return self.kinds.index(kind)
        except ValueError:
            self.kinds.append(kind)
            return len(self.kinds) - 1

    def note_code(self, note: str) -> int:
        if not note:
            return 0
        try:
            return self.notes.index(note)
        except ValueError:
            self.notes.append(note)
            return len(self.notes) - 1

    # -- recording ------------------------------------------------------------------------
    def append_mode(self, mode: Mode) -> int:
        """Number a new mode, storing what changed since the last numbered one."""
        q = len(self.mode_norm)
        if mode.norm not in self.norms:
            self.norms.append(mode.norm)
        self.mode_norm.append(self.norms.index(mode.norm))
        signs = np.array(mode.signs, dtype=np.int64)
        if signs.size and (signs.min() < -127 or signs.max() > 127):  # pragma: no cover
            raise ValueError("compact storage keeps mode signs as int8")
        signs8 = signs.astype(np.int8)
        free = np.zeros(self.m, dtype=bool)
        free[np.asarray(mode.free, dtype=np.intp)] = True
        ch = np.flatnonzero(signs8 != self._signs_prev)
        self.sign_log.append(ch, signs8[ch])
        self.free_log.append(np.flatnonzero(free != self._free_prev))
        self._signs_prev, self._free_prev = signs8, free
        if q % MODE_CHECKPOINT == 0:
            self.mode_chk_signs.append(signs8.copy())
            self.mode_chk_free.append(free.copy())
        return q

    def checkpoint_due(self, tau0: float) -> bool:
        s = len(self.tau0)
        if self.grid is None:
            return s % self.every == 0
        due = False
        while self._grid_next < self.grid.size and self.grid[self._grid_next] <= tau0:
            self._grid_next += 1
            due = True
        return due or s == 0

    def append_segment(
        self,
        tau0: float,
        tau1: float,
        x0: FloatArray,
        v: FloatArray,
        lam: FloatArray,
        mode_no: int,
        kind: str,
        checkpoint: bool,
    ) -> None:
        s = len(self.tau0)
        self.tau0.append(tau0)
        self.tau1.append(tau1)
        self.seg_mode.append(mode_no)
        self.seg_kind.append(self.kind_code(kind))
        lb = bits(lam)
        ch = np.flatnonzero(lb != bits(self._lam_prev))
        self.lam_log.append(ch, lam[ch])
        self._lam_prev = np.array(lam, dtype=np.float64)
        rule = self.c0 is not None and bool(np.array_equal(bits(v), bits(self.c0 - lam)))
        self.v_rule.append(1 if rule else 0)
        if rule:
            self.v_log.append(np.zeros(0, dtype=np.int32), np.zeros(0))
        else:  # the entries that changed, bit for bit (so -0.0 and 0.0 stay apart)
            vch = np.flatnonzero(bits(v) != bits(self._v_prev))
            self.v_log.append(vch, v[vch])
        self._v_prev = np.array(v, dtype=np.float64)
        if checkpoint:
            self.chk_seg.append(s)
            self.chk_x.append(np.array(x0, dtype=np.float64))
            self.chk_v.append(self._v_prev.copy())
            self.chk_lam.append(self._lam_prev.copy())

    # -- reading --------------------------------------------------------------------------
    def freeze(self) -> dict[str, np.ndarray]:
        """All records as numpy arrays (the compact file's content, ``meta`` aside)."""
        v_off, v_idx, v_val = self.v_log.arrays()
        l_off, l_idx, l_val = self.lam_log.arrays()
        s_off, s_idx, s_val = self.sign_log.arrays()
        f_off, f_idx, _ = self.free_log.arrays()
        e_off, e_idx, _ = self.ev_idx.arrays()
        n, m = self.n, self.m

        def stack(rows: list[np.ndarray], width: int, dtype: Any) -> np.ndarray:
            return np.array(rows, dtype=dtype).reshape(len(rows), width)

        return {
            "x_init": self.x_init,
            "c0": np.zeros(0) if self.c0 is None else self.c0,
            "tau0": np.array(self.tau0, dtype=np.float64),
            "tau1": np.array(self.tau1, dtype=np.float64),
            "seg_mode": np.array(self.seg_mode, dtype=np.int64),
            "seg_kind": np.array(self.seg_kind, dtype=np.int8),
            "v_rule": np.array(self.v_rule, dtype=np.int8),
            "v_off": v_off,
            "v_idx": v_idx,
            "v_val": v_val,
            "lam_off": l_off,
            "lam_idx": l_idx,
            "lam_val": l_val,
            "chk_seg": np.array(self.chk_seg, dtype=np.int64),
            "chk_x": stack(self.chk_x, n, np.float64),
            "chk_v": stack(self.chk_v, n, np.float64),
            "chk_lam": stack(self.chk_lam, m, np.float64),
            "bp_seg": np.array(self.bp_seg, dtype=np.int64),
            "mode_norm": np.array(self.mode_norm, dtype=np.int8),
            "sign_off": s_off,
            "sign_idx": s_idx,
            "sign_val": s_val,
            "free_off": f_off,
            "free_idx": f_idx,
            "mode_chk_signs": stack(self.mode_chk_signs, m, np.int8),
            "mode_chk_free": stack(self.mode_chk_free, m, np.bool_),
            "ev_tau": np.array(self.ev_tau, dtype=np.float64),
            "ev_kind": np.array(self.ev_kind, dtype=np.int8),
            "ev_idx_off": e_off,
            "ev_idx": e_idx,
            "ev_mode": np.array(self.ev_mode, dtype=np.int64).reshape(-1, 2),
            "ev_unique": np.array(self.ev_unique, dtype=np.int8),
            "ev_note": np.array(self.ev_note, dtype=np.int64),
            "ev_xref": np.array(self.ev_xref, dtype=np.int64),
            "extra_x": stack(self.extra_x, n, np.float64),
        }

    def labels(self) -> dict[str, Any]:
        """The string tables the integer codes refer to."""
        return {"kinds": list(self.kinds), "notes": list(self.notes), "norms": list(self.norms)}


class CompactReader:
    """Replays frozen compact records: states, velocities, relay values, modes, records.

    Keeps a cursor (the last segment replayed with its start state, velocity and relay
    values), so reading segments in order costs one step each.
    """

    def __init__(
        self, arrays: dict[str, np.ndarray], labels: dict[str, Any], n: int, m: int, offset: float
    ) -> None:
        self.a = arrays
        self.kinds: list[str] = labels["kinds"]
        self.notes: list[str] = labels["notes"]
        self.norms: list[str] = labels["norms"]
        self.n, self.m = n, m
        self.offset = offset
        self.c0 = arrays["c0"] if arrays["c0"].size == n and n else None
        self.tau0 = arrays["tau0"]
        self.tau1 = arrays["tau1"]
        self.chk = arrays["chk_seg"]
        self._cursor: tuple[int, FloatArray, FloatArray, FloatArray] | None = None
        self._mode_cache: dict[int, Mode] = {}

    @property
    def n_segments(self) -> int:
        return int(self.tau0.size)

    def _time(self, tau: float) -> float:
        return float(tau) + self.offset if self.offset != 0.0 else float(tau)

    # -- the replay -----------------------------------------------------------------------
    def _step(
        self, j: int, x: FloatArray, v: FloatArray, lam: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """From segment ``j``'s (x0, v, λ) to segment ``j + 1``'s (new arrays)."""
        a = self.a
        x = x + (float(self.tau1[j]) - float(self.tau0[j])) * v  # the path's own operation
        lam = lam.copy()
        lo, hi = a["lam_off"][j + 1], a["lam_off"][j + 2]
        lam[a["lam_idx"][lo:hi]] = a["lam_val"][lo:hi]
        if a["v_rule"][j + 1]:
            assert self.c0 is not None
            v = self.c0 - lam
        else:
            v = v.copy()
            lo, hi = a["v_off"][j + 1], a["v_off"][j + 2]
            v[a["v_idx"][lo:hi]] = a["v_val"][lo:hi]
        return x, v, lam

    def segment_state(self, j: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(x0, v, λ)`` of segment ``j`` (fresh arrays the caller may keep)."""
        c = int(self.chk[int(np.searchsorted(self.chk, j, side="right")) - 1])
        cur = self._cursor
        if cur is not None and c <= cur[0] <= j:
            i, x, v, lam = cur
        else:
            p = int(np.searchsorted(self.chk, c))
            i, x, v, lam = c, self.a["chk_x"][p], self.a["chk_v"][p], self.a["chk_lam"][p]
        while i < j:
            x, v, lam = self._step(i, x, v, lam)
            i += 1
            if i in self._chk_set:
                p = int(np.searchsorted(self.chk, i))
                x = self.a["chk_x"][p].copy()
        self._cursor = (j, x, v, lam)
        return x.copy(), v.copy(), lam.copy()

    @property
    def _chk_set(self) -> set[int]:
        s = getattr(self, "_chk_set_cache", None)
        if s is None:
            s = set(self.chk.tolist())
            self._chk_set_cache = s
        return s

    def end_state(self, j: int) -> FloatArray:
        """The state at the end of segment ``j`` (as the path computed it)."""
        x, v, _ = self.segment_state(j)
        return x + (float(self.tau1[j]) - float(self.tau0[j])) * v

    def breakpoint_state(self, j: int) -> FloatArray:
        s = int(self.a["bp_seg"][j])
        return self.a["x_init"].copy() if s < 0 else self.end_state(s)

    # -- modes ----------------------------------------------------------------------------
    def mode(self, q: int) -> Mode | None:
        if q < 0:
            return None
        cached = self._mode_cache.get(q)
        if cached is not None:
            return cached
        a = self.a
        c = (q // MODE_CHECKPOINT) * MODE_CHECKPOINT
        signs = a["mode_chk_signs"][c // MODE_CHECKPOINT].copy()
        free = a["mode_chk_free"][c // MODE_CHECKPOINT].copy()
        for r in range(c + 1, q + 1):
            lo, hi = a["sign_off"][r], a["sign_off"][r + 1]
            signs[a["sign_idx"][lo:hi]] = a["sign_val"][lo:hi]
            lo, hi = a["free_off"][r], a["free_off"][r + 1]
            tog = a["free_idx"][lo:hi]
            free[tog] = ~free[tog]
        mode = trusted_record(
            Mode,
            norm=self.norms[int(a["mode_norm"][q])],
            signs=tuple(signs.astype(np.int64).tolist()),
            free=tuple(np.flatnonzero(free).tolist()),
        )
        if len(self._mode_cache) > 256:
            self._mode_cache.clear()
        self._mode_cache[q] = mode
        return mode

    # -- records --------------------------------------------------------------------------
    def segment(self, j: int) -> Segment:
        x0, v, lam = self.segment_state(j)
        for arr in (x0, v, lam):
            arr.setflags(write=False)
        t0 = self._time(self.tau0[j])
        return trusted_record(
            Segment,
            t0=t0,
            t1=self._time(self.tau1[j]),
            mode=self.mode(int(self.a["seg_mode"][j])),
            kind=self.kinds[int(self.a["seg_kind"][j])],
            lam=lam,
            dense=trusted_record(LinearDense, t0=t0, x0=x0, v=v),
        )

    def event(self, i: int) -> Event:
        a = self.a
        ref = int(a["ev_xref"][i])
        if ref >= 0:
            x = self.end_state(ref)
        elif ref == -1:
            x = a["x_init"].copy()
        else:
            x = a["extra_x"][-2 - ref].copy()
        x.setflags(write=False)
        lo, hi = a["ev_idx_off"][i], a["ev_idx_off"][i + 1]
        mb, ma = (int(q) for q in a["ev_mode"][i])
        return trusted_record(
            Event,
            t=self._time(a["ev_tau"][i]),
            x=x,
            kind=self.kinds[int(a["ev_kind"][i])],
            indices=tuple(a["ev_idx"][lo:hi].astype(np.int64).tolist()),
            mode_before=self.mode(mb),
            mode_after=self.mode(ma),
            unique=bool(a["ev_unique"][i]),
            note=self.notes[int(a["ev_note"][i])],
        )


class LazyRecords(Sequence[Any]):
    """A read-only sequence of records built on access (segments or events)."""

    def __init__(self, length: int, build: Any) -> None:
        self._length = length
        self._build = build

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, i: int) -> Any: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[Any, ...]: ...

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(self._length)))
        j = int(i)
        if j < 0:
            j += self._length
        if not 0 <= j < self._length:
            raise IndexError("record index out of range")
        return self._build(j)

    def __iter__(self) -> Iterator[Any]:
        for j in range(self._length):
            yield self._build(j)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{self._length} records, built on access>"
