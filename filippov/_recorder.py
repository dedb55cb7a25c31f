"""Bookkeeping shared by the engine's exact and event-driven paths.

Both paths report the same things (breakpoints, segments with their mode, typed events,
counters); the recorder is the one place that turns them into a
:class:`~filippov.solution.FilippovSolution`, so the two paths cannot drift apart in what
they return.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import numpy as np

from filippov._validation import FloatArray, IndexLike
from filippov.solution import (
    CallableDense,
    Event,
    FilippovSolution,
    LinearDense,
    Mode,
    NodalDense,
    Segment,
    SegmentDense,
)
from filippov.solution import readonly_view as _readonly  # engine-facing constructors
from filippov.solution import trusted_record as _unchecked

#: Longest period (in distinct event times) of the accumulations the check recognizes:
#: a rotation through up to four crossings (the twisting controller with unequal gains on
#: the two sides of ``x1 = 0`` repeats its pattern of gaps every four events).
ZENO_MAX_PERIOD = 4
#: Least number of gap ratios ``g[k] / g[k − p]`` that must agree for a geometric
#: accumulation of period ``p`` (and two per phase of the period: see `_n_ratios`).
ZENO_RUN = 6
#: Relative accuracy asked of the extrapolated time still to go, ``t* − t_last``: every
#: ratio of the window lies within ``ZENO_RATIO_TOL · (1 − ρ)`` of the period's ratio ``ρ``
#: (relative), which moves the estimate by at most ``~ZENO_RATIO_TOL`` of that time.
ZENO_RATIO_TOL = 1e-3
#: Consecutive event gaps below ``zeno_spacing · span``, on recurring switching functions,
#: that stop a run as an accumulation even without a geometric pattern (a run whose gaps
#: stay that small cannot reach the end of its span before ``max_events`` anyway).
ZENO_STALL = 48
#: How many of the latest events the accumulation check looks at (the windows above must
#: fit in it, simultaneous events included).
ZENO_TAIL = 256


_new = object.__new__
_FLOAT64 = np.dtype(np.float64)
_multiply, _add = np.multiply, np.add


def frozen_array(arr: FloatArray) -> FloatArray:
    """``arr`` as a read-only float array, shared when it already is one that owns its data.

    Why not always copy (as the public constructors do): the engine hands the recorder
    fresh arrays and freezes them itself, so a state is stored once for the breakpoint,
    the next segment and the event at it. At d = 1000 copying cost ~90 MB of new memory
    (and its page faults) in a 3720-event run.
    """
    if (
        type(arr) is np.ndarray
        and arr.base is None
        and arr.dtype == _FLOAT64
        and not arr.flags.writeable
    ):
        return arr
    return _readonly(arr)


def index_tuple(indices: IndexLike) -> tuple[int, ...]:
    """Indices as a tuple of Python ints (lists from ``tolist()`` already hold them)."""
    if type(indices) is list:
        for i in indices:  # (a loop, not all() on a generator: usually one index)
            if type(i) is not int:
                break
        else:
            return tuple(indices)
    return tuple(int(i) for i in indices)


#: ``_INDEX_INTS[i] == i``: the Python ints every mode record's ``free`` tuple holds (see
#: `shared_indices`), grown under `_INDEX_LOCK` (runs may record in several threads).
_INDEX_INTS: list[int] = []
_INDEX_LOCK = threading.Lock()


def shared_indices(values: list[int]) -> tuple[int, ...]:
    """``tuple(values)`` for non-negative ints, holding the shared int objects of
    `_INDEX_INTS` rather than new ones.

    Why: CPython shares only the ints up to 256; every other index of a tuple built from
    ``tolist()`` is an int object of its own (28 bytes, besides the tuple's 8-byte slot).
    A run records one mode per event, each with its sliding set: at d = 1000 the ``free``
    tuples of a sign flow to its stationary point held 15 MB, four fifths of it ints.

    Examples
    --------
    >>> a, b = shared_indices([300, 5]), shared_indices([300])
    >>> a, a[0] is b[0]
    ((300, 5), True)
    """
    if min(values, default=0) < 0:  # (not indices: as they are, never wrapped around)
        return tuple(values)
    top = max(values, default=-1)
    if top >= len(_INDEX_INTS):
        with _INDEX_LOCK:
            if top >= len(_INDEX_INTS):  # (another thread may have grown it meanwhile)
                _INDEX_INTS.extend(range(len(_INDEX_INTS), max(top + 1, 2 * len(_INDEX_INTS))))
    return tuple(map(_INDEX_INTS.__getitem__, values))


def make_mode(norm: str, sigma: FloatArray, free: IndexLike) -> Mode:
    """A hashable mode record from the engine's working arrays (canonical by construction)."""
    signs = tuple(np.sign(np.asarray(sigma)).astype(np.int64).tolist())
    free_sorted = shared_indices(np.sort(np.asarray(free, dtype=np.int64)).tolist())
    return _unchecked(Mode, norm=norm, signs=signs, free=free_sorted)


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
        #: LU decompositions and steps of the implicit / explicit integrators (event and
        #: piecewise paths), summed over modes by :meth:`count_step`.
        self.nlu = 0
        self.n_steps = 0
        self._solver: object = None
        self._solver_seen = (0, 0)
        self.n_selection_solves = 0
        self.kinds: Counter[str] = Counter()
        self._stacked: FloatArray | None = None
        #: The 1-norm condition number of the whole sliding matrix ``G B`` when a path
        #: knows it and it is symmetric positive definite (then it bounds every sliding
        #: block's): the end-of-run precision check uses it instead of factoring again.
        self.spd_condition: float | None = None
        #: JSON-safe metadata for the solution's ``info`` (e.g. a path that failed before
        #: this one ran; see `filippov.engine.driver.solve`).
        self.info: dict[str, Any] = {}
        #: Where another path's run went on from this one's last state (τ), if one did
        #: (`append_run`).
        self.handed_over_at: float | None = None

    def append_run(self, other: Recorder, tau: float) -> None:
        """Append the records of ``other``, a run started from this one's last state and
        recorded in its own clock from 0, shifted to start at ``tau`` (this run's last
        time); its counters are added to this run's."""
        if float(self.t[-1]) != tau or not np.array_equal(other.x[0], self.x[-1]):
            raise ValueError("a run is appended only where the last one ended")
        self.t.extend(float(t) + tau for t in other.t[1:])
        self.x.extend(other.x[1:])
        self._stacked = None
        self.events.extend(_shift_event(ev, tau) for ev in other.events)
        self.segments.extend(_shift_segment(seg, tau) for seg in other.segments)
        self.nfev += other.nfev
        self.njev += other.njev
        self.nlu += other.nlu
        self.n_steps += other.n_steps
        self.n_selection_solves += other.n_selection_solves
        self.kinds.update(other.kinds)
        # (the whole sliding matrix's condition was known for one part at most)
        self.spd_condition = None

    def states(self) -> FloatArray:
        """The breakpoint states as one ``(k, n)`` array, built once (the end-of-run
        checks and :meth:`finish` share it; at d = 1000 it is ~30 MB)."""
        xs = self.x
        if self._stacked is None or self._stacked.shape[0] != len(xs):
            # (One concatenation, reshaped: ~20 % faster than np.array on the list, which
            # inspects every element's shape first; the same numbers.)
            n = np.shape(xs[0])[0]
            self._stacked = np.concatenate(xs, dtype=np.float64).reshape(len(xs), n)
        return self._stacked

    def component_max(self) -> FloatArray:
        """``max_k |x_k|`` per component over the breakpoints."""
        # As max(max_k x_k, −min_k x_k): the same numbers without an |x| copy of every
        # state (~30 MB at d = 1000; its abs and max cost ~5 ms of the end-of-run checks).
        # (The outer abs turns a column of zeros' −0.0 into the 0.0 max |x| gives.)
        states = self.states()
        return np.abs(np.maximum(np.max(states, axis=0), -np.min(states, axis=0)))

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
        # The end state as ``x0 + (t1 − t0) v`` (the same two roundings) in one fresh
        # array, without numpy's temporary for the product (float64 arrays: anything else
        # takes numpy's own promotion); the records are built here rather than through
        # `trusted_record`: a function call and a keyword dict less per record, thousands
        # of times per solve (~2 µs of a d = 1000 event).
        if type(v) is np.ndarray and v.dtype == _FLOAT64 and type(x0) is np.ndarray:
            x1 = _multiply(v, t1 - t0)
            _add(x0, x1, out=x1)
        else:
            x1 = x0 + (t1 - t0) * v
        x1.setflags(write=False)  # fresh: stored once, shared with the next segment
        t0 = float(t0)
        x0 = frozen_array(x0)
        dense = _new(LinearDense)
        dense.__dict__.update(t0=t0, x0=x0, v=frozen_array(v))
        seg = _new(Segment)
        seg.__dict__.update(
            t0=t0,
            t1=float(t1),
            mode=mode,
            kind=mode.kind if kind is None else kind,
            lam=frozen_array(lam),
            dense=dense,
        )
        self.segments.append(seg)
        times = self.t  # (the breakpoint, as _breakpoint records it)
        if t1 != times[-1] or not np.array_equal(x1, self.x[-1]):
            times.append(float(t1))
            self.x.append(frozen_array(x1))
        return x1

    def dense_segment(
        self,
        t0: float,
        t1: float,
        dense: Callable[[FloatArray], FloatArray],
        x1: FloatArray,
        mode: Mode,
        lam: FloatArray,
        breaks: FloatArray,
    ) -> None:
        """Record a smooth segment; ``dense(ts)`` maps times ``(k,)`` to states ``(k, n)``.

        The segment keeps ``dense`` sampled at the nodes of the pieces ``breaks`` (from
        ``t0`` to ``t1``; the integrator's steps), as a :class:`NodalDense`: data, so the
        solution pickles, saves and loads to an equal object.
        """
        nodal = NodalDense.sample(dense, breaks, x1.shape[0])
        self.segments.append(
            _unchecked(
                Segment,
                t0=float(t0),
                t1=float(t1),
                mode=mode,
                kind=mode.kind,
                lam=frozen_array(lam.copy()),
                dense=nodal,
            )
        )
        self._breakpoint(t1, x1)

    def cut_last_segment(self, t1: float) -> FloatArray | None:
        """End the last segment at ``t1``, inside it, and return the state there; ``None``
        (nothing changed) when ``t1`` is not inside it, an event was recorded after
        ``t1``, or its dense output is neither nodal nor linear.

        For a rest that was located late: the path is cut where the rest really begins.
        A nodal segment keeps its pieces before ``t1`` and the part of the next one up to
        ``t1`` (`NodalDense._until`: from the segment's source when it is not sampled
        yet, else from itself, a piece's polynomial restricted to a sub-interval being the
        same polynomial).
        """
        if not self.segments:
            return None
        seg = self.segments[-1]
        if not seg.t0 < t1 < seg.t1 or self.t[-1] != seg.t1:
            return None
        if self.events and self.events[-1].t > t1:
            return None
        dense = seg.dense
        if isinstance(dense, NodalDense) and dense.offset == 0.0:
            # (neither samples the segment's nodes: a nodal segment is sampled when first read)
            cut: Any = dense._until(t1)
            x1 = dense._state_at(t1)
        elif isinstance(dense, LinearDense):
            cut = dense
            x1 = np.asarray(dense(t1), dtype=float)
        else:
            return None
        self.segments[-1] = _unchecked(
            Segment,
            t0=seg.t0,
            t1=float(t1),
            mode=seg.mode,
            kind=seg.kind,
            lam=seg.lam,
            dense=cut,
        )
        self.t[-1] = float(t1)
        self.x[-1] = frozen_array(x1)
        self._stacked = None
        return x1

    def kept_state(self, t: float, x: FloatArray) -> FloatArray:
        """``x``, the state at ``t``, read-only for a record that keeps it: the last
        breakpoint's own array when that is the same state (stored once: a mode's dense
        output keeps its start, which is the breakpoint its segment starts at), else a
        read-only copy."""
        last = self.x[-1]
        if self.t[-1] == t and (last is x or np.array_equal(last, x)):
            return last
        return frozen_array(np.array(x, dtype=np.float64))

    def _breakpoint(self, t: float, x: FloatArray) -> None:
        if t == self.t[-1] and np.array_equal(x, self.x[-1]):
            return
        self.t.append(float(t))
        self.x.append(frozen_array(x))

    def count_step(self, solver: Any) -> None:
        """Count one step of a scipy ``OdeSolver`` and the Jacobians and LU decompositions
        it made since the last count (its own counters are cumulative per solver; a mode
        starts a new solver, so the sums over modes are kept here)."""
        self.n_steps += 1
        if solver is not self._solver:
            self._solver, self._solver_seen = solver, (0, 0)
        njev, nlu = int(solver.njev), int(solver.nlu)
        self.njev += njev - self._solver_seen[0]
        self.nlu += nlu - self._solver_seen[1]
        self._solver_seen = (njev, nlu)

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
        record = _new(Event)  # (built here, as the segments in linear_segment)
        record.__dict__.update(
            t=float(t),
            x=frozen_array(x),
            kind=kind,
            indices=index_tuple(indices),
            mode_before=mode_before,
            mode_after=mode_after,
            unique=bool(unique),
            note=note,
        )
        self.events.append(record)
        self.kinds[kind] += 1

    def finish(self, status: int, message: str, t_offset: float = 0.0) -> FilippovSolution:
        """The solution, with every time shifted by ``t_offset``.

        The paths integrate in ``τ = t − t0`` (recorded with ``t0 = 0``): event times,
        segment lengths and the accumulation test then keep their full resolution when
        ``t0`` is large (at ``t0 = 1e15`` a time is only resolved to 0.125). The shift to
        ``t`` happens once, here, in what the user reads.
        """
        self._solver = None  # (the last integrator is not kept alive by the solution)
        events: tuple[Event, ...] = tuple(self.events)
        segments: tuple[Segment, ...] = tuple(self.segments)
        t = np.array(self.t, dtype=np.float64)
        x = self.states()
        self._stacked = None  # given away: the solution owns it
        if t_offset != 0.0:
            t = t + t_offset
            events = tuple(_shift_event(ev, t_offset) for ev in events)
            segments = tuple(_shift_segment(seg, t_offset) for seg in segments)
        return FilippovSolution._from_engine(
            t,
            x,
            events=events,
            segments=segments,
            status=status,
            message=message,
            nfev=self.nfev,
            njev=self.njev,
            nlu=self.nlu,
            counters={"n_steps": self.n_steps},
            method=self.method,
            n_selection_solves=self.n_selection_solves,
            info=self.info,
        )


def _shift_event(ev: Event, dt: float) -> Event:
    """``ev`` at time ``ev.t + dt`` (all else shared)."""
    return _unchecked(
        Event,
        t=ev.t + dt,
        x=ev.x,
        kind=ev.kind,
        indices=ev.indices,
        mode_before=ev.mode_before,
        mode_after=ev.mode_after,
        unique=ev.unique,
        note=ev.note,
    )


def _shift_segment(seg: Segment, dt: float) -> Segment:
    """``seg`` on ``[t0 + dt, t1 + dt]``, its dense output read at ``t − dt``.

    A linear segment stays linear (its state at the shifted start is the same array, so
    the breakpoints are reproduced exactly); any other dense output is wrapped.
    """
    dense = seg.dense
    new_dense: SegmentDense
    if isinstance(dense, LinearDense):
        new_dense = _unchecked(LinearDense, t0=dense.t0 + dt, x0=dense.x0, v=dense.v)
    elif isinstance(dense, NodalDense):
        # shifted by its offset, not its breaks: at t0 = 1e15 the node times would round
        new_dense = dense._shifted(dt)
    else:
        inner = dense

        def shifted(ts: FloatArray) -> FloatArray:
            return inner(np.asarray(ts, dtype=float) - dt)

        new_dense = CallableDense(shifted, dense.n, vectorized=True)
    return _unchecked(
        Segment,
        t0=seg.t0 + dt,
        t1=seg.t1 + dt,
        mode=seg.mode,
        kind=seg.kind,
        lam=seg.lam,
        dense=new_dense,
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
    turns back; sliding indices the new selection pushes to a bound are exits. An index
    that arrived was pushed onto its surface from the side it came from, so it is never
    repulsive (``a₊ > 0 > a₋``): a sliding entry whose selection is not unique (a singular
    selection matrix, e.g. at a degenerate minimum) stays a sliding entry and is flagged
    ``unique=False``.
    """
    groups: dict[str, list[int]] = {}
    for i in np.asarray(arrived, dtype=np.intp).tolist():  # usually one index
        if in_J[i]:
            kind = "sliding-entry"
        elif sigma[i] == -old_sigma[i]:
            kind = "crossing"
        else:
            kind = "tangency"
        groups.setdefault(kind, []).append(i)
    exited = (old_sigma == 0) & ~in_J
    exited[arrived] = False
    left = np.flatnonzero(exited).tolist()
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
            unique=unique or kind != "sliding-entry",
        )


def record_tie_change(
    rec: Recorder,
    t: float,
    x: FloatArray,
    entered: list[int],
    left: list[int],
    joined: np.ndarray,
    old_mode: Mode | None,
    mode: Mode,
    unique: bool,
) -> None:
    """Record an ℓ∞-relay (greedy flow) event from the tie's change: indices that
    ``entered`` the tie make a tie entry (a crossing when others ``left`` at once); indices
    that ``joined`` the candidates but were not kept are a tangency; ``left`` ones a tie
    exit. Shared by the exact and continuation paths, so both label ties alike.
    """
    if entered:
        kind = "tie-entry" if not left else "crossing"
        rec.event(t, x, kind, entered, old_mode, mode, unique=unique)
    elif joined.size:
        rec.event(t, x, "tangency", joined, old_mode, mode, unique=unique)
    if left:
        rec.event(t, x, "tie-exit", left, old_mode, mode, unique=unique)


def _n_ratios(p: int) -> int:
    """How many gap ratios ``g[k] / g[k − p]`` a geometric accumulation of period ``p``
    must show: at least ``ZENO_RUN``, and two for each phase of the period (three whole
    periods of gaps). (Not more: the gaps of a fast contraction reach the resolution of
    time soon after the spacing that triggers the check; the exact path's ``l1`` system
    of ``test_exact_path_stops_at_an_accumulation_point`` contracts by 0.0067 every four
    times and offers 14 times, 13 in the pattern, when its gaps first fall below it.)"""
    return max(ZENO_RUN, 2 * p)


#: Distinct times kept by `_recent_runs`: the geometric test's longest window
#: (``_n_ratios(p) + p`` gaps) and the stall guard's (``ZENO_STALL`` gaps, each run
#: compared with the ``ZENO_MAX_PERIOD`` runs before it).
_KEPT = max(
    max(_n_ratios(p) + p + 1 for p in range(1, ZENO_MAX_PERIOD + 1)),
    ZENO_STALL + ZENO_MAX_PERIOD + 1,
)
#: The geometric test's windows: (period, ratios, distinct times), computed once (the
#: check runs after every event).
_WINDOWS = tuple((p, _n_ratios(p), _n_ratios(p) + p + 1) for p in range(1, ZENO_MAX_PERIOD + 1))
#: Distinct times all the windows need (the longest).
_ALL_WINDOWS = max(size for _, _, size in _WINDOWS)


class _Runs:
    """What the accumulation check keeps on a recorder between calls (see `_recent_runs`).

    ``runs``: the last ``_KEPT`` runs of equal times, oldest first, each
    ``[t, first, last, group]`` (event indices; ``first`` may be cut at ``base``, where
    the runs were last rebuilt from; ``group``: the switching functions of the run's
    events, computed when first needed, ``None`` until then). ``shrink[p − 1]``: how many
    of the last relations "a gap shorter than the gap ``p`` before it" hold in a row.
    ``stall``: how many of the last complete runs in a row came at most ``tiny`` after
    the one before and hit no switching function that the ``ZENO_MAX_PERIOD`` runs before
    it did not (chattering among a few manifolds, in any order; events on ever new
    manifolds, as those of a large sign flow near its end, are no stall); ``last_seen``:
    the number (``complete``, counted from ``base``) of the last complete run that hit
    each switching function, from which that is decided without building sets.
    """

    __slots__ = ("base", "complete", "last_seen", "runs", "seen", "shrink", "stall", "tiny")

    def __init__(self, base: int, tiny: float) -> None:
        self.seen = self.base = base
        self.tiny = tiny
        self.runs: list[list[Any]] = []
        self.shrink = [0] * ZENO_MAX_PERIOD
        self.stall = 0
        self.complete = 0
        self.last_seen: dict[int, int] = {}

    def close(self, events: Any, run: list[Any], close_gap: bool) -> None:
        """Count the complete ``run`` (its events all recorded) towards a stall:
        ``close_gap`` whether it came at most ``tiny`` after the run before it."""
        number, last_seen = self.complete, self.last_seen
        oldest = number - ZENO_MAX_PERIOD  # (the runs number − 4 … number − 1 before it)
        recurring = close_gap
        for j in range(max(run[1], self.base), run[2] + 1):
            for i in events[j].indices:
                if recurring and last_seen.get(i, oldest - 1) < oldest:
                    recurring = False
                last_seen[i] = number
        self.stall = self.stall + 1 if recurring else 0
        self.complete = number + 1

    def group(self, events: Any, run: list[Any]) -> frozenset[int]:
        """The switching functions involved in ``run`` (cached on it)."""
        if run[3] is None:
            run[3] = frozenset(
                i for j in range(max(run[1], self.base), run[2] + 1) for i in events[j].indices
            )
        return run[3]


def _recent_runs(rec: Recorder, n: int, tiny: float) -> _Runs:
    """The accumulation check's view of the recorder's first ``n`` events, extended by the
    events recorded since the last call (see `_Runs`); ``tiny`` is the spacing below which
    a gap counts towards a stall.

    Why kept: the accumulation check runs after every event, and near the end of a long
    sign flow (a long ``t_span``) its cheap exit fails at almost every event; walking back
    over the event records each time to find the runs (records long evicted from the
    cache) cost about 10 µs per event of a d = 1000 run, and testing the shrinking gaps
    afresh another ~2 µs. The relations only depend on the sequence of distinct times (and
    the switching functions of each), so every count the check reads (the last ones, whose
    runs all start within the last ``ZENO_TAIL`` events) is the same whether the runs were
    extended or rebuilt from the tail.
    """
    events = rec.events
    state = rec.__dict__.get("_zeno_runs")
    if state is None or state.seen > n or n - state.seen > ZENO_TAIL or state.tiny != tiny:
        # a new list of events, or a long gap: from the tail
        state = rec.__dict__["_zeno_runs"] = _Runs(n - min(n, ZENO_TAIL), tiny)
    runs, shrink = state.runs, state.shrink
    for j in range(state.seen, n):
        t = events[j].t
        if runs and runs[-1][0] == t:
            runs[-1][2] = j
            runs[-1][3] = None  # (a simultaneous event may add a switching function)
            continue
        if runs:  # the last run is complete now: does it extend a stall?
            state.close(events, runs[-1], len(runs) >= 2 and runs[-1][0] - runs[-2][0] <= tiny)
        runs.append([t, j, j, None])
        gap = t - runs[-2][0] if len(runs) >= 2 else 0.0
        for p in range(1, ZENO_MAX_PERIOD + 1):
            if len(runs) >= p + 2 and gap < runs[-1 - p][0] - runs[-2 - p][0]:
                shrink[p - 1] += 1
            else:
                shrink[p - 1] = 0
    if len(runs) > _KEPT:
        del runs[:-_KEPT]
    state.seen = n
    return state


def _geometric_limit(times: list[float], p: int) -> tuple[float, float, float] | None:
    """``(t*, ρ, worst)`` when the gaps between ``times`` contract with period ``p``: each
    gap ``ρ`` times the gap ``p`` before it, the same ``ρ < 1`` to ``ZENO_RATIO_TOL ·
    (1 − ρ)`` (relative; ``worst`` the largest deviation) over the whole window; ``t*``
    the sum of the geometric series of whole periods (Aitken's Δ² on ``times`` with step
    ``p``); else ``None``."""
    gaps = [t1 - t0 for t0, t1 in pairwise(times)]
    a, b, c = times[-1 - 2 * p], times[-1 - p], times[-1]
    rho = (c - b) / (b - a)  # (distinct increasing times: b > a)
    if not 0.0 < rho < 1.0:
        return None
    worst = max(abs(gaps[k] / (gaps[k - p] * rho) - 1.0) for k in range(p, len(gaps)))
    if worst > ZENO_RATIO_TOL * (1.0 - rho):
        return None
    return c + (c - b) * rho / (1.0 - rho), rho, worst


def _state_text(x: FloatArray) -> str:
    return np.array2string(np.asarray(x), precision=12, threshold=20)


def check_accumulation(rec: Recorder, span: float, zeno_spacing: float) -> tuple[int, str] | None:
    """Detect accumulating events (Zeno) and extrapolate their limit when geometric.

    Triggered when the last gap between distinct event times is below
    ``zeno_spacing · span``. The run then stops with status −2 in three cases:

    * geometric accumulation with a period ``p ≤ ZENO_MAX_PERIOD`` (a rotation through up
      to four crossings): the same switching functions recur every ``p`` distinct times,
      and every gap of the last ``_n_ratios(p)`` is ``ρ`` times the gap ``p`` before it,
      one ``ρ < 1`` to ``ZENO_RATIO_TOL · (1 − ρ)``. The limit time is the sum of the
      geometric series of whole periods and the state is extrapolated per component
      (Aitken's Δ² with step ``p``); an ``"accumulation"`` event carries them, and a
      straight segment bridges to them;
    * the gaps shrink so (with recurring switching functions) but not with one ratio,
      once the windows of all periods could be tested: stopped at the last event,
      nothing extrapolated;
    * ``ZENO_STALL`` gaps in a row below ``zeno_spacing · span``, each run of events on
      switching functions hit by the ``ZENO_MAX_PERIOD`` runs before it (events stalled
      at the resolution of time, or chattering): such a run cannot reach the end of its
      span before ``max_events``, and each of its events may be costly.
    """
    # Only the recent events matter: the check runs after every event, so it must cost
    # O(1), not O(number of events so far): the runs of equal times and the counts the
    # tests read are kept on the recorder (see _recent_runs); the cheap exits first.
    events = rec.events
    n = len(events)
    if n < 2:
        return None
    tiny = zeno_spacing * max(span, 1e-300)
    state = _recent_runs(rec, n, tiny)
    runs = state.runs
    lowest = n - min(n, ZENO_TAIL)
    if len(runs) < 2 or runs[-2][2] < lowest:  # one time over the whole tail
        return None
    gap = runs[-1][0] - runs[-2][0]
    if gap > tiny:
        return None
    # Periods whose gaps have shrunk long enough, over runs that all start in the tail.
    windows = []
    shrink = state.shrink
    for p, need, size in _WINDOWS if max(shrink) >= ZENO_RUN else ():  # (most events: none)
        if shrink[p - 1] >= need and len(runs) >= size and runs[-size][1] >= lowest:
            window = runs[-size:]
            # ... on the same switching functions every p times. Close events on
            # *different* manifolds are no accumulation: the sign flow of a d = 2000
            # quadratic has thousands of distinct events, some 1e-10 apart near the end,
            # which a test on the times alone took for a Zeno run.
            groups = [state.group(events, r) for r in window]
            if all(groups[k] == groups[k - p] for k in range(p, len(groups))):
                windows.append((p, window))
    # (The smallest period with one ratio first: a multiple of the true period fits too.)
    for p, window in windows:
        fit = _geometric_limit([r[0] for r in window], p)
        if fit is not None:
            if fit[0] - ZENO_RATIO_TOL * (fit[0] - window[-1][0]) > span:
                # The limit lies beyond the end of the run (even allowing for the error of
                # the estimate): finitely many events remain, and the run reaches its end.
                return None
            return _record_accumulation(rec, events, window, p, *fit)
    last = events[runs[-1][1]]
    # (A whole period below the spacing, not its last gap alone: a damped relay whose two
    # crossings per half-turn close up like e^-t has one long gap of 2.2 in each period
    # of four, and was stopped for an accumulation that is not there.)
    windows = [(p, w) for p, w in windows if runs[-1][0] - runs[-1 - p][0] <= tiny]
    if windows and len(runs) >= _ALL_WINDOWS and runs[-_ALL_WINDOWS][1] >= lowest:
        # (Only once every period could have been tested: the gaps of a period-4 pattern
        # also shrink with period 2, and a run stopped on that before its own window is
        # complete loses an extrapolation it would have had a few events later.)
        return -2, (
            f"events accumulate near t = {last.t:.12g}, x = {_state_text(last.x)} (gap "
            f"{gap:.3g} below zeno_spacing · span, shrinking with period {windows[0][0]}) "
            "without a geometric pattern to extrapolate; stopped (Zeno guard)"
        )
    size = ZENO_STALL + ZENO_MAX_PERIOD + 1
    if state.stall >= ZENO_STALL and len(runs) >= size and runs[-size][1] >= lowest:
        funcs = sorted(set().union(*(state.group(events, r) for r in runs[-ZENO_STALL - 1 :])))
        return -2, (
            f"events keep recurring on switching functions {funcs} less than zeno_spacing "
            f"· span = {tiny:.3g} apart ({ZENO_STALL} such gaps in a row, the last "
            f"{gap:.3g}) without a geometric pattern to extrapolate: stopped at t = "
            f"{last.t:.12g}, x = {_state_text(last.x)} (Zeno guard; lower `zeno_spacing` "
            "if the system really switches this fast)"
        )
    return None


def _record_accumulation(
    rec: Recorder,
    events: Any,
    window: list[list[Any]],
    p: int,
    t_star: float,
    rho: float,
    worst: float,
) -> tuple[int, str]:
    """Record the extrapolated accumulation point of a geometric Zeno run of period ``p``
    (the ``"accumulation"`` event and the segment bridging to it); ``(−2, message)``."""
    # The state: per component, Aitken's Δ² on the states at the first event of the
    # last three times a period apart (each component may contract at its own rate: the
    # twisting controller's positions as ρ², its speeds as ρ); a component that does
    # not contract (ratio of its differences not in (−1, 1), or differences at rounding)
    # keeps its last value.
    xa, xb, xc = (
        np.asarray(events[r[1]].x) for r in (window[-1 - 2 * p], window[-1 - p], window[-1])
    )
    d1, d2 = xb - xa, xc - xb
    # (differences at a component's rounding are no contraction: the twisting
    # controller's x2 at its x2 = 0 crossings is rounding of the event times, |x2'| ulp(t)
    # ~ 1e-24 with times of 1e-8, drifting by an even -3.3e-24 a period; read as a ratio
    # near 1, Aitken's step put x2 at -2.8e-17. A component's rounding: that of its size
    # over the window and of its rate, estimated from the window's events, times t.)
    xs = np.array([np.asarray(events[r[1]].x, dtype=float) for r in window])
    ts = np.array([float(events[r[1]].t) for r in window])
    dt = np.diff(ts)
    moving = dt > 0.0
    rate = (
        np.max(np.abs(np.diff(xs, axis=0))[moving] / dt[moving][:, None], axis=0)
        if moving.any()
        else np.zeros(xs.shape[1])
    )
    rounding = 64.0 * np.finfo(float).eps * (np.max(np.abs(xs), axis=0) + abs(t_star) * rate)
    resolved = np.minimum(np.abs(d1), np.abs(d2)) > rounding
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = d2 / d1
        contracting = resolved & np.isfinite(sigma) & (np.abs(sigma) < 1.0)
        x_star = np.where(contracting, xc + d2 * sigma / (1.0 - sigma), xc)
    last = events[window[-1][1]]
    t_last, x_last = rec.t[-1], rec.x[-1]
    if t_star > t_last and last.mode_after is not None:
        # Bridge to the extrapolated limit with a straight segment, so the dense output
        # covers the accumulation point (the note on the event says it is extrapolated).
        v = (x_star - x_last) / (t_star - t_last)
        rec.linear_segment(
            t_last, t_star, x_last, v, last.mode_after, np.zeros(len(last.mode_after.signs))
        )
    rec.event(
        t_star,
        x_star,
        "accumulation",
        last.indices,
        last.mode_after,
        last.mode_after,
        note=(
            f"Zeno point extrapolated from the last {len(window)} distinct event times: "
            f"gaps contracting by {rho:.9g} per period of {p} (ratios agree to "
            f"{worst:.2g}), the geometric series of whole periods summed"
        ),
    )
    return -2, (
        f"Zeno accumulation of events (gaps contracting by {rho:.6g} per period of {p} "
        f"event times): stopped at the extrapolated limit t = {t_star:.12g}, x = "
        f"{np.array2string(x_star, precision=6)} (the 'accumulation' event)"
    )
