"""Bookkeeping shared by the engine's exact and event-driven paths.

Both paths report the same things (breakpoints, segments with their mode, typed events,
counters); the recorder is the one place that turns them into a
:class:`~filippov.solution.FilippovSolution`, so the two paths cannot drift apart in what
they return.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
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

#: Number of consecutive shrinking event gaps that make a Zeno run.
ZENO_RUN = 6
#: How many of the latest events the accumulation check looks at.
ZENO_TAIL = 64


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


def make_mode(norm: str, sigma: FloatArray, free: IndexLike) -> Mode:
    """A hashable mode record from the engine's working arrays (canonical by construction)."""
    signs = tuple(np.sign(np.asarray(sigma)).astype(np.int64).tolist())
    free_sorted = tuple(np.sort(np.asarray(free, dtype=np.int64)).tolist())
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


#: How many of the last relations "this gap is shorter than the gap two before" make the
#: shrinking test of the accumulation check (those among ``ZENO_RUN + 1`` times).
_SHRINKING = ZENO_RUN - 2


def _recent_runs(rec: Recorder, n: int) -> tuple[list[list[Any]], int]:
    """The last ``ZENO_RUN + 1`` runs of equal times among the recorder's events, oldest
    first, each ``[t, first, last]`` (event indices; ``first`` may be cut at the start of
    the tail), extended by the events recorded since the last call; and how many of the
    last relations between the runs' times ``t[e] − t[e−1] < t[e−2] − t[e−3]`` (a gap
    shorter than the one two before it) hold in a row.

    Why kept: the accumulation check runs after every event, and near the end of a long
    sign flow (a long ``t_span``) its cheap exit fails at almost every event; walking back
    over the event records each time to find the runs (records long evicted from the
    cache) cost about 10 µs per event of a d = 1000 run, and testing the shrinking gaps
    afresh on the last seven times another ~2 µs. The relations only depend on the
    sequence of distinct times, so the count is the same whether the runs were extended
    or rebuilt from the tail.
    """
    events = rec.events
    state = rec.__dict__.get("_zeno_runs")  # [seen, runs, streak], updated in place
    if state is None or state[0] > n or n - state[0] > ZENO_TAIL:
        # a new list of events, or a long gap: from the tail
        state = rec.__dict__["_zeno_runs"] = [n - min(n, ZENO_TAIL), [], 0]
    seen, runs, streak = state
    for j in range(seen, n):
        t = events[j].t
        if runs and runs[-1][0] == t:
            runs[-1][2] = j
            continue
        runs.append([t, j, j])
        if len(runs) < 4:
            streak = 0
        elif t - runs[-2][0] < runs[-3][0] - runs[-4][0]:
            streak += 1
        else:
            streak = 0
    if len(runs) > ZENO_RUN + 1:
        del runs[: -ZENO_RUN - 1]
    state[0], state[2] = n, streak
    return runs, streak


def check_accumulation(rec: Recorder, span: float, zeno_spacing: float) -> tuple[int, str] | None:
    """Detect accumulating events (Zeno) and extrapolate their limit when geometric.

    Triggered when the last gap between event times is below ``zeno_spacing · span``. The
    limit time and state are estimated by Aitken's Δ² on the event sequence with period
    ``p`` (1 or 2: a rotation through two manifolds, as in the twisting controller); the
    period whose successive estimates agree best is used, and the run stops with status −2
    and an ``"accumulation"`` event carrying the estimate.
    """
    # Only the recent events matter: the check runs after every event, so it must cost
    # O(1), not O(number of events so far). The runs of equal times among the last
    # ZENO_TAIL events are kept on the recorder and extended by the events recorded since
    # the last call (see _recent_runs); the cheap exit first: the last gap between
    # distinct event times is not tiny.
    events = rec.events
    n = len(events)
    if n < 2:
        return None
    runs, streak = _recent_runs(rec, n)
    lowest = n - min(n, ZENO_TAIL)
    if len(runs) < 2 or runs[-2][2] < lowest:  # one time over the whole tail
        return None
    if runs[-1][0] - runs[-2][0] > zeno_spacing * max(span, 1e-300):
        return None
    # The last ZENO_RUN + 1 distinct times (simultaneous events share a time) within the
    # last ZENO_TAIL events, with the first event at each time (in the tail) and the
    # switching functions involved there.
    if len(runs) < ZENO_RUN + 1 or runs[-ZENO_RUN - 1][2] < lowest:
        return None
    # A Zeno run: the last gaps shrink (per period of at most two) and the last is tiny.
    # (The relations among the last ZENO_RUN + 1 times, counted by _recent_runs as the
    # times arrive: with a long span this test runs at nearly every event of a long run.)
    if streak < _SHRINKING:
        return None
    recent = runs[-ZENO_RUN - 1 :]
    tl = [run[0] for run in recent]
    spans = [(max(first, lowest), last) for _, first, last in recent]
    distinct = [events[first] for first, _ in spans]
    groups = [
        frozenset(i for j in range(first, end + 1) for i in events[j].indices)
        for first, end in spans
    ]
    # ... and the same switching functions are hit again and again (period 1, 2 or 3).
    # Close events on *different* manifolds are no accumulation: the sign flow of a
    # d = 2000 quadratic has thousands of distinct events, some 1e-10 apart near the end,
    # which a test on the times alone took for a Zeno run.
    run = groups[-ZENO_RUN - 1 :]
    if not any(all(run[k] == run[k - p] for k in range(p, len(run))) for p in (1, 2, 3)):
        return None
    times = np.array(tl)  # (numpy only now: the tests above fail at most events)
    gaps = np.diff(times)
    gap = float(gaps[-1])
    states = np.array([e.x for e in distinct])
    ev = distinct
    best: tuple[float, int, float, FloatArray] | None = None
    for p in (1, 2):
        if len(times) < 2 * p + 2:
            continue
        est = []
        for end in (len(times) - 1, len(times) - 2):
            a, b, c = times[end - 2 * p], times[end - p], times[end]
            den = (c - b) - (b - a)
            if den == 0 or not (0 < (c - b) < (b - a)):
                break
            est.append(c - (c - b) ** 2 / den)
        if len(est) == 2:
            spread = abs(est[0] - est[1])
            if best is None or spread < best[0]:
                xa, xb, xc = states[-1 - 2 * p], states[-1 - p], states[-1]
                den_x = (xc - xb) - (xb - xa)
                with np.errstate(divide="ignore", invalid="ignore"):
                    x_star = np.where(np.abs(den_x) > 0, xc - (xc - xb) ** 2 / den_x, xc)
                best = (spread, p, est[0], x_star)
    last = ev[-1]
    if best is None:
        return -2, (
            f"events accumulate near t = {last.t:.12g} (gap {gap:.3g} below zeno_spacing "
            f"· span) without a geometric pattern to extrapolate; stopped (Zeno guard)"
        )
    spread, p, t_star, x_star = best
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
            f"Zeno point extrapolated by Aitken's delta-squared (period {p}) from "
            f"the last {len(ev)} distinct event times; estimates agree to {spread:.2g}"
        ),
    )
    return -2, (
        f"Zeno accumulation of events: extrapolated limit t* = {t_star:.12g}, "
        f"x* = {np.array2string(x_star, precision=6)} (see the 'accumulation' event); "
        "integration stopped there"
    )
