"""The solution object :class:`FilippovSolution`: breakpoints, events, segments, stats."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from filippov._status import EVENT_KINDS, STATS_KEYS, Status, make_stats
from filippov._validation import (
    FloatArray,
    as_float_array,
    as_vector,
    preview,
    require_finite,
    require_int,
)
from filippov.solution.io import load_solution, save_solution, solution_to_arrays
from filippov.solution.records import (
    Event,
    as_str,
    fmt_time,
    json_normalize,
    readonly_view,
)
from filippov.solution.resample import RESAMPLE_ATOL, RESAMPLE_RTOL
from filippov.solution.segment import Segment
from filippov.solution.text import summary_text

__all__ = ["FilippovSolution"]


def _as_status(value: Any) -> Status:
    """``value`` as a :class:`Status`, or an error naming the known codes."""
    code = require_int(value, "status")
    try:
        return Status(code)
    except ValueError:
        known = ", ".join(f"{int(s)} ({s.name})" for s in Status)
        raise ValueError(f"`status` must be one of {known}. Got {code!r} instead.") from None


def _extra_counters(counters: Mapping[str, int] | None) -> dict[str, int]:
    """Checked ``counters`` keyword of :class:`FilippovSolution`."""
    if counters is None:
        return {}
    if not isinstance(counters, Mapping) or not all(isinstance(k, str) for k in counters):
        raise TypeError(
            f"`counters` must be a mapping of str to int or None. Got {counters!r} instead."
        )
    checked = {k: require_int(v, f"counters[{k!r}]", minimum=0) for k, v in counters.items()}
    return _without_default_zeros(checked)


def _without_default_zeros(counters: Mapping[str, int]) -> dict[str, int]:
    """``counters`` less the zero values of standard keys (``stats`` shows those anyway),
    so that two solutions with the same ``stats`` compare equal."""
    return {k: int(v) for k, v in counters.items() if v or k not in STATS_KEYS}


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
    status : int or Status
        A code of :class:`~filippov.Status`: 0 reached the end of ``t_span``, 1 a
        stationary point was reached, < 0 a failure (the solution is the partial one up to
        the failure).
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
    counters : mapping of str to int, optional
        More counters for :attr:`stats` (``n_steps``, or any a path counts); the four
        above are given by their own keywords.

    Attributes
    ----------
    success : bool
        ``status >= 0``.
    stats : mapping of str to int
        Read-only counters with the keys of :data:`filippov._status.STATS_KEYS`, the same
        for a :class:`~filippov.DiscreteTrajectory` (docs/design.rst).
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
        counters: Mapping[str, int] | None = None,
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

        four = (
            require_int(nfev, "nfev", minimum=0),
            require_int(njev, "njev", minimum=0),
            require_int(nlu, "nlu", minimum=0),
            require_int(n_selection_solves, "n_selection_solves", minimum=0),
        )
        if info is not None and not isinstance(info, Mapping):
            raise TypeError(f"`info` must be a mapping or None. Got {info!r} instead.")
        self._set_fields(
            readonly_view(t_arr),
            readonly_view(x_arr),
            events_t,
            segments_t,
            _as_status(status),
            as_str(message, "message"),
            as_str(method, "method"),
            four,
            json_normalize({} if info is None else dict(info), "info"),
            _extra_counters(counters),
        )

    def _set_fields(
        self,
        t: FloatArray,
        x: FloatArray,
        events: tuple[Event, ...],
        segments: tuple[Segment, ...],
        status: Status,
        message: str,
        method: str,
        counters: tuple[int, int, int, int],
        info: dict[str, Any],
        extra_counters: dict[str, int],
    ) -> None:
        """Store checked fields (``t`` and ``x`` read-only); shared by both constructors."""
        self._t, self._x = t, x
        self._events, self._segments = events, segments
        self._status, self._message, self._method = status, message, method
        self._counters = counters
        if extra_counters:  # else the class default (pickles of earlier versions lack it)
            self._extra_counters = extra_counters
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
        nlu: int = 0,
        counters: Mapping[str, int] | None = None,
        info: dict[str, Any] | None = None,
    ) -> FilippovSolution:
        """A solution from the engine's recorder, not validated and not copied.

        For the engine only, like :func:`trusted_record`: ``t`` and ``x`` are fresh float
        arrays the recorder gives up, and its records satisfy the invariants ``__init__``
        checks by construction. Those checks are Python loops over every event and segment
        plus a copy of ``x`` — ~5 % of a 3700-event, d = 1000 exact-path solve.
        ``tests/results/test_solution.py`` rebuilds engine output through ``__init__`` and compares.
        ``counters`` is the generic channel for whatever else a path counts (``n_steps``,
        ...): it ends up in :attr:`stats`.
        """
        obj = object.__new__(cls)
        x = require_finite(x, "x")  # the one check kept: a non-finite state is an engine bug
        t.setflags(write=False)
        x.setflags(write=False)
        four = (int(nfev), int(njev), int(nlu), int(n_selection_solves))
        obj._set_fields(
            t, x, events, segments, Status(status), message, method, four,
            json_normalize(info, "info") if info else {}, _without_default_zeros(counters or {}),
        )  # fmt: skip
        return obj

    #: Counters beyond the four of the constructor's keywords (a class default: pickles of
    #: versions before ``stats`` existed have no instance value).
    _extra_counters: Mapping[str, int] = MappingProxyType({})

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Pickles of earlier versions hold the status as a plain int.
        state["_status"] = Status(state["_status"])
        self.__dict__.update(state)

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
    def status(self) -> Status:
        """A :class:`~filippov.Status`: 0 finished, 1 stationary point reached, < 0 failure."""
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
    def stats(self) -> Mapping[str, int]:
        """Counters, read-only: every key of :data:`filippov._status.STATS_KEYS`.

        ``nfev``, ``njev``, ``nlu``, ``n_selection_solves``, ``n_steps``, ``n_events``
        and the events by kind (``n_crossing``, ``n_sliding_entry``, ...), 0 where a path
        does not count; the same keys as :attr:`DiscreteTrajectory.stats
        <filippov.schemes.DiscreteTrajectory.stats>`. Counters a path adds come after them.

        Examples
        --------
        >>> from filippov.solution import FilippovSolution
        >>> sol = FilippovSolution([0.0], [[1.0]], [], [], 0, "Empty span.", nfev=3)
        >>> sol.stats["nfev"], sol.stats["n_events"], sol.stats["nlu"]
        (3, 0, 0)
        """
        nfev, njev, nlu, n_selection_solves = self._counters
        base = {
            "nfev": nfev,
            "njev": njev,
            "nlu": nlu,
            "n_selection_solves": n_selection_solves,
            **self._extra_counters,
        }
        return make_stats(base, self.counts)

    @property
    def nfev(self) -> int:
        """Number of right-hand-side evaluations (``stats["nfev"]``)."""
        return self._counters[0]

    @property
    def njev(self) -> int:
        """Number of Jacobian evaluations (``stats["njev"]``)."""
        return self._counters[1]

    @property
    def nlu(self) -> int:
        """Number of LU decompositions (``stats["nlu"]``)."""
        return self._counters[2]

    @property
    def n_selection_solves(self) -> int:
        """Solves of the sliding selection (box / simplex / ball VI; ``stats[...]``)."""
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

    def _in_range(self, flat: FloatArray) -> FloatArray:
        """The times ``flat`` (1-D, finite) clipped onto the time range, or ``ValueError``
        naming those outside it."""
        lo, hi = self.t_span
        # Times a few ulps outside are the range's ends (times built as k·h, or t0 + sums
        # of steps, land an ulp past them), clipped onto them.
        slack = 4 * np.finfo(np.float64).eps * max(abs(lo), abs(hi))
        outside = (flat < lo - slack) | (flat > hi + slack)
        if np.any(outside):
            # (every digit: a time just past an end shows as the end at fewer)
            shown = ", ".join(repr(float(v)) for v in flat[outside][:5])
            more = f" and {int(outside.sum()) - 5} more" if outside.sum() > 5 else ""
            raise ValueError(
                f"`t` must lie in the solution's time range [{lo!r}, {hi!r}]. "
                f"Got {shown}{more} instead."
            )
        return np.clip(flat, lo, hi)

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
            If a time lies outside ``[t[0], t[-1]]`` (by more than 4 ulps, taken as the
            end) or is not finite.
        """
        if np.asarray(t).dtype.kind == "b":
            raise TypeError(f"`t` must be a time or an array of times. Got {t!r} instead.")
        ts = as_float_array(t, "t")
        if ts.ndim > 1:
            raise ValueError(
                f"`t` must be a scalar or a 1-D array of times. Got an array of shape "
                f"{ts.shape} instead."
            )
        require_finite(ts, "t")
        flat = self._in_range(np.atleast_1d(ts))
        out = np.empty((flat.shape[0], self.n))
        if not self._segments:
            # A run that stopped at its start: only the breakpoints themselves are known.
            pos = np.searchsorted(self._t, flat, side="right") - 1
            if np.any(self._t[pos] != flat):
                raise ValueError(
                    "`t` must be one of the breakpoints: this solution has no segments "
                    f"(status {self._status}: {self._message}). Got {preview(flat)} instead."
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
            f"FilippovSolution(status={self._status}, t=[{fmt_time(lo)}, {fmt_time(hi)}], "
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
        return summary_text(self, max_rows)

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
            "stats": dict(self.stats),
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
            and dict(self._extra_counters) == dict(other._extra_counters)
            and self._info == other._info
        )

    __hash__ = None  # type: ignore[assignment]

    # ---- persistence

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        rtol: float = RESAMPLE_RTOL,
        atol: float = RESAMPLE_ATOL,
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
        return save_solution(self, path, rtol=rtol, atol=atol)

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
            :class:`~filippov.CompactSolution` loads as one.

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
        return load_solution(cls, path)

    def _to_arrays(self, *, rtol: float, atol: float) -> dict[str, np.ndarray]:
        """Everything :meth:`save` writes, as named arrays (a compact solution has its own)."""
        return solution_to_arrays(self, rtol=rtol, atol=atol)
