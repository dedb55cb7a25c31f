"""Bookkeeping shared by the engine's exact and event-driven paths.

Both paths report the same things (breakpoints, segments with their mode, typed events,
counters); the recorder is the one place that turns them into a
:class:`~filippov.solution.FilippovSolution`, so the two paths cannot drift apart in what
they return.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from filippov._validation import FloatArray, IndexLike
from filippov.solution import Event, FilippovSolution, Mode, Segment


def make_mode(norm: str, sigma: FloatArray, free: IndexLike) -> Mode:
    """A hashable mode record from the engine's working arrays."""
    signs = np.sign(np.asarray(sigma)).astype(np.int64)
    return Mode(norm=norm, signs=signs, free=np.sort(np.asarray(free, dtype=np.int64)))


class Recorder:
    """Accumulates segments, events and counters during one integration."""

    def __init__(self, t0: float, x0: FloatArray, method: str) -> None:
        self.method = method
        self.t: list[float] = [float(t0)]
        self.x: list[FloatArray] = [np.array(x0, dtype=float)]
        self.events: list[Event] = []
        self.segments: list[Segment] = []
        self.nfev = 0
        self.njev = 0
        self.n_selection_solves = 0
        self.kinds: Counter[str] = Counter()

    @property
    def n_events(self) -> int:
        return len(self.events)

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
        """Record a segment ``x(t) = x0 + (t − t0) v`` and return its end state."""
        x1 = x0 + (t1 - t0) * v
        seg = Segment.linear(t0, t1, x0.copy(), v.copy(), mode=mode, lam=lam.copy(), kind=kind)
        self.segments.append(seg)
        self._breakpoint(t1, x1)
        return x1

    def dense_segment(
        self,
        t0: float,
        t1: float,
        dense: Callable[[FloatArray], FloatArray],
        x1: FloatArray,
        mode: Mode,
        lam: FloatArray,
    ) -> None:
        """Record a smooth segment; ``dense(ts)`` maps times ``(k,)`` to states ``(k, n)``."""
        self.segments.append(
            Segment.from_callable(t0, t1, dense, mode=mode, lam=lam.copy(), vectorized=True)
        )
        self._breakpoint(t1, x1)

    def _breakpoint(self, t: float, x: FloatArray) -> None:
        if t == self.t[-1] and np.array_equal(x, self.x[-1]):
            return
        self.t.append(float(t))
        self.x.append(np.array(x, dtype=float))

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
        self.events.append(
            Event(
                t=float(t),
                x=np.array(x, dtype=float),
                kind=kind,
                indices=tuple(int(i) for i in indices),
                mode_before=mode_before,
                mode_after=mode_after,
                unique=unique,
                note=note,
            )
        )
        self.kinds[kind] += 1

    def finish(self, status: int, message: str) -> FilippovSolution:
        return FilippovSolution(
            t=np.asarray(self.t),
            x=np.asarray(self.x),
            events=tuple(self.events),
            segments=tuple(self.segments),
            status=status,
            message=message,
            nfev=self.nfev,
            njev=self.njev,
            method=self.method,
            n_selection_solves=self.n_selection_solves,
        )


def record_l1_transition(
    rec: Recorder,
    t: float,
    x: FloatArray,
    arrived: np.ndarray,
    old_sigma: FloatArray,
    sigma: FloatArray,
    in_J: np.ndarray,
    old_mode: Mode | None,
    mode: Mode,
    unique: bool,
) -> None:
    """Classify an ℓ1 event from the re-solved selection and record it.

    An index that ``arrived`` on its manifold is a sliding entry when the selection keeps
    it (``|λ_i| < 1``), a crossing when its relay value flips sign, and a tangency when it
    turns back; sliding indices the new selection pushes to a bound are exits. A sliding
    entry whose selection is not unique is recorded as repulsive and flagged.
    """
    groups: dict[str, list[int]] = {}
    arrived_set = set(int(i) for i in arrived)
    for i in arrived:
        if in_J[i]:
            kind = "sliding-entry" if unique else "repulsive"
        elif sigma[i] == -old_sigma[i]:
            kind = "crossing"
        else:
            kind = "tangency"
        groups.setdefault(kind, []).append(int(i))
    left = [int(i) for i in np.flatnonzero((old_sigma == 0) & ~in_J) if int(i) not in arrived_set]
    if left:
        groups.setdefault("exit", []).extend(left)
    for kind, idx in groups.items():
        rec.event(
            t,
            x,
            kind,
            idx,
            old_mode,
            mode,
            unique=unique or kind not in ("sliding-entry", "repulsive"),
        )
