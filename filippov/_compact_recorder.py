"""The exact path's recorder for ``solve(..., storage="compact")``.

It takes the same calls as :class:`~filippov._recorder.Recorder` (segments, events,
breakpoints) and writes them into the compact records of
:mod:`filippov.compact_solution` instead of keeping a state, a velocity, a relay vector and
a mode per segment. What the engine reads back during and after the run (the last
events for the accumulation check, the last segment and state for the end-of-run checks,
a sample of breakpoint states) is served from a short tail of real records or rebuilt
from the compact ones.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from filippov._recorder import ZENO_TAIL, Recorder, frozen_array, index_tuple
from filippov._validation import FloatArray, IndexLike
from filippov.solution import Event, LinearDense, Mode, Segment
from filippov.solution import trusted_record as _unchecked
from filippov.solution.compact import CompactSolution
from filippov.solution.compact_store import CompactReader as _Reader
from filippov.solution.compact_store import CompactStore as _CompactStore
from filippov.solution.compact_store import bits as _bits

#: Mode objects remembered by identity (a mode is recorded once for its segment and
#: the events on either side of it, all within a few calls).
_MODE_MEMORY = 32


class _View:
    """A read-only sequence over the recorder's records: the latest from ``last``, any
    other rebuilt from the compact records."""

    def __init__(self, length: Callable[[], int], last: Callable[[int], Any], build: Any) -> None:
        self._length = length
        self._last = last  # (index from the end, 0 = last) -> record or None
        self._build = build

    def __len__(self) -> int:
        return self._length()

    def __bool__(self) -> bool:
        return self._length() > 0

    def __getitem__(self, i: int) -> Any:
        k = self._length()
        j = int(i) + k if int(i) < 0 else int(i)
        if not 0 <= j < k:
            raise IndexError("record index out of range")
        hit = self._last(k - 1 - j)
        return hit if hit is not None else self._build(j)

    def __iter__(self) -> Iterator[Any]:
        for j in range(self._length()):
            yield self[j]


class CompactRecorder(Recorder):
    """A :class:`~filippov._recorder.Recorder` that builds a
    :class:`~filippov.compact_solution.CompactSolution` (linear segments only: the exact
    path).

    ``c0``: the constant field when ``B = I`` (then a segment whose velocity is exactly
    ``c0 − λ`` stores no velocity); ``every``: segments between two checkpoints;
    ``grid``: checkpoint times (in the path's time ``τ``) instead of ``every``.
    """

    def __init__(
        self,
        t0: float,
        x0: FloatArray,
        method: str,
        *,
        m: int,
        c0: FloatArray | None = None,
        every: int = 64,
        grid: FloatArray | None = None,
    ) -> None:
        super().__init__(t0, x0, method)
        x_init = self.x[0]
        self._store = _CompactStore(x_init.shape[0], m, x_init, c0, every, grid)
        self._m = m
        self._last_x1: FloatArray | None = None
        self._last_bp_x: FloatArray = x_init
        self._absmax = np.abs(x_init)
        self._modes: dict[int, tuple[int, Mode]] = {}
        self._mode_order: deque[int] = deque()
        self._tail: deque[Event] = deque(maxlen=2 * ZENO_TAIL)
        self._n_ev = 0
        self._last_segment: tuple[Any, ...] | None = None
        self._reader_cache: tuple[tuple[int, int, int], _Reader] | None = None
        self.x = _View(lambda: len(self.t), self._last_state, self._state)  # type: ignore[assignment]
        self.segments = _View(  # type: ignore[assignment]
            lambda: len(self._store.tau0), self._last_seg, self._segment
        )
        self.events = _View(lambda: self._n_ev, self._tail_event, self._event)  # type: ignore[assignment]

    # -- what the engine reads back -------------------------------------------------------
    @property
    def n_events(self) -> int:
        return self._n_ev

    def _reader(self) -> _Reader:
        store = self._store
        key = (len(store.tau0), self._n_ev, len(store.bp_seg))
        if self._reader_cache is None or self._reader_cache[0] != key:
            self._reader_cache = (
                key,
                _Reader(store.freeze(), store.labels(), store.n, self._m, 0.0),
            )
        return self._reader_cache[1]

    def _last_state(self, back: int) -> FloatArray | None:
        return self._last_bp_x if back == 0 else None

    def _state(self, j: int) -> FloatArray:
        return self._reader().breakpoint_state(j)

    def _last_seg(self, back: int) -> Segment | None:
        if back != 0 or self._last_segment is None:
            return None
        t0, t1, x0, v, mode, lam, kind = self._last_segment
        dense = _unchecked(LinearDense, t0=t0, x0=frozen_array(x0), v=frozen_array(v))
        return _unchecked(
            Segment, t0=t0, t1=t1, mode=mode, kind=kind, lam=frozen_array(lam), dense=dense
        )

    def _segment(self, j: int) -> Segment:
        return self._reader().segment(j)

    def _tail_event(self, back: int) -> Event | None:
        return self._tail[-1 - back] if back < len(self._tail) else None

    def _event(self, j: int) -> Event:
        return self._reader().event(j)

    def states(self) -> FloatArray:
        raise NotImplementedError("a compact recorder keeps no array of all states")

    def component_max(self) -> FloatArray:
        return self._absmax.copy()

    # -- recording ------------------------------------------------------------------------
    def _mode_no(self, mode: Mode | None) -> int:
        if mode is None:
            return -1
        hit = self._modes.get(id(mode))
        if hit is not None and hit[1] is mode:
            return hit[0]
        q = self._store.append_mode(mode)
        self._modes[id(mode)] = (q, mode)  # the reference keeps the id from being reused
        self._mode_order.append(id(mode))
        if len(self._mode_order) > _MODE_MEMORY:
            self._modes.pop(self._mode_order.popleft(), None)
        return q

    def linear_segment(
        self,
        t0: float,
        t1: float,
        x0: FloatArray,
        v: FloatArray,
        mode: Mode,
        lam: FloatArray,
        *,
        kind: str | None = None,
    ) -> FloatArray:
        """Record ``x(t) = x0 + (t − t0) v`` on ``[t0, t1]`` and return its end state."""
        x1 = x0 + (t1 - t0) * v  # the operation the compact solution replays
        x1.setflags(write=False)
        store = self._store
        # A full copy when the segment does not start where the last one ended (then the
        # replay could not reach its start) or when a checkpoint is due.
        checkpoint = store.checkpoint_due(float(t0)) or x0 is not self._last_x1
        kind_s = mode.kind if kind is None else kind
        store.append_segment(
            float(t0), float(t1), x0, v, lam, self._mode_no(mode), kind_s, checkpoint
        )
        self._last_x1 = x1
        self._last_segment = (float(t0), float(t1), x0, v, mode, lam, kind_s)
        if not (t1 == self.t[-1] and np.array_equal(x1, self._last_bp_x)):
            self.t.append(float(t1))
            store.bp_seg.append(len(store.tau0) - 1)
            self._last_bp_x = x1
            np.maximum(self._absmax, np.abs(x1), out=self._absmax)
        return x1

    def dense_segment(self, *args: Any, **kwargs: Any) -> None:
        raise ValueError("compact storage holds linear (exact-path) segments only")

    def event(
        self,
        t: float,
        x: FloatArray,
        kind: str,
        indices: IndexLike,
        mode_before: Mode | None,
        mode_after: Mode | None,
        *,
        unique: bool = True,
        note: str = "",
    ) -> None:
        store = self._store
        idx = index_tuple(indices)
        ev = _unchecked(
            Event,
            t=float(t),
            x=frozen_array(x),
            kind=kind,
            indices=idx,
            mode_before=mode_before,
            mode_after=mode_after,
            unique=bool(unique),
            note=note,
        )
        self._tail.append(ev)
        store.ev_tau.append(float(t))
        store.ev_kind.append(store.kind_code(kind))
        store.ev_idx.append(np.array(idx, dtype=np.int64))
        store.ev_mode.append(self._mode_no(mode_before))
        store.ev_mode.append(self._mode_no(mode_after))
        store.ev_unique.append(1 if unique else 0)
        store.ev_note.append(store.note_code(note))
        if self._last_x1 is not None and x is self._last_x1:
            store.ev_xref.append(len(store.tau0) - 1)
        elif not len(store.tau0) and np.array_equal(_bits(x), _bits(store.x_init)):
            store.ev_xref.append(-1)
        else:
            store.extra_x.append(np.array(x, dtype=np.float64))
            store.ev_xref.append(-1 - len(store.extra_x))
        self.kinds[kind] += 1
        self._n_ev += 1

    def finish(self, status: int, message: str, t_offset: float = 0.0) -> CompactSolution:
        """The compact solution, times shifted by ``t_offset`` (as :meth:`Recorder.finish`)."""
        store = self._store
        t = np.array(self.t, dtype=np.float64)
        if t_offset != 0.0:
            t = t + t_offset
        return CompactSolution._from_compact(
            store.freeze(),
            store.labels(),
            n=store.n,
            m=self._m,
            offset=t_offset,
            t=t,
            status=status,
            message=message,
            method=self.method,
            counters=(self.nfev, self.njev, 0, self.n_selection_solves),
            info={},
        )
