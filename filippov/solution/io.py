"""Saving and loading a :class:`~filippov.solution.FilippovSolution` (one ``.npz`` file).

Arrays go in as float64 arrays, everything else in a JSON entry (``meta``, stored as a
``uint8`` array, so the file is a plain npz that loads with ``allow_pickle=False``);
the file is checksummed and written atomically by :func:`filippov._npz_io.save_npz`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

from filippov._npz_io import contents_of, read_npz, save_npz
from filippov._status import EVENT_KINDS
from filippov._validation import (
    FloatArray,
    input_path,
    output_path,
    require_non_negative,
)
from filippov.solution.dense import (
    NODAL_POINTS,
    CallableDense,
    HermiteDense,
    LinearDense,
    NodalDense,
    SegmentDense,
)
from filippov.solution.records import Event, Mode
from filippov.solution.resample import RESAMPLE_MAX_NODES, resample_callable
from filippov.solution.segment import Segment

if TYPE_CHECKING:
    from filippov.solution.result import FilippovSolution

__all__ = ["FORMAT", "FORMAT_VERSION", "load_solution", "save_solution", "solution_to_arrays"]

SolutionT = TypeVar("SolutionT", bound="FilippovSolution")
#: The counters every version-2 file has in ``meta["counters"]``.
_COUNTERS = ("nfev", "njev", "nlu", "n_selection_solves")
#: ``stats`` keys recomputed from the events (not stored).
_EVENT_STATS = frozenset(["n_events", *("n_" + k.replace("-", "_") for k in EVENT_KINDS)])


def _stored_stats(stats: Mapping[str, int]) -> dict[str, int]:
    """The ``stats`` a file keeps: the counters, not what the events give back."""
    return {k: int(v) for k, v in stats.items() if k not in _EVENT_STATS}


FORMAT = "filippov.FilippovSolution"
#: Version 2 added :class:`NodalDense` segments; version 1 files still load.
FORMAT_VERSION = 2


def save_solution(
    solution: FilippovSolution, path: str | os.PathLike[str], *, rtol: float, atol: float
) -> Path:
    """Write ``solution`` to ``path`` (see :meth:`FilippovSolution.save`); returns the path."""
    path = output_path(path, "path")
    arrays = solution._to_arrays(
        rtol=require_non_negative(rtol, "rtol"), atol=require_non_negative(atol, "atol")
    )
    return save_npz(path, arrays)


def load_solution(cls: type[SolutionT], path: str | os.PathLike[str]) -> SolutionT:
    """The solution of class ``cls`` written to ``path`` (see :meth:`FilippovSolution.load`)."""
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
        from filippov.solution.compact import CompactSolution  # lazy: it imports us

        return cast(SolutionT, CompactSolution._from_npz(path, arrays))
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(
            f"`path` must be a filippov solution file ({FORMAT!r}). Got {str(path)!r} "
            f"with format {meta.get('format') if isinstance(meta, dict) else None!r} instead."
        )
    if meta.get("version") not in (1, FORMAT_VERSION):
        raise ValueError(
            f"`path` must be a format version 1 or {FORMAT_VERSION} file. Got version "
            f"{meta.get('version')!r} in {str(path)!r} instead (written by a newer filippov?)."
        )
    with contents_of(path, "filippov solution"):
        return solution_from_arrays(cls, meta, arrays)


def solution_from_arrays(
    cls: type[SolutionT], meta: dict[str, Any], arrays: dict[str, np.ndarray]
) -> SolutionT:
    """The solution :func:`solution_to_arrays` stored (``meta`` is its decoded JSON entry)."""
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
    # files written before ``stats`` existed have the four counters only
    extra = {k: v for k, v in meta.get("stats", {}).items() if k not in _COUNTERS}
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
        counters=extra,
    )


def solution_to_arrays(
    solution: FilippovSolution, *, rtol: float, atol: float
) -> dict[str, np.ndarray]:
    """Everything :func:`save_solution` writes, as named arrays (JSON metadata as uint8)."""
    n = solution.n
    events, segments = solution.events, solution.segments
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
        for e in events
    ]
    seg_meta: list[dict[str, Any]] = []
    lin_x0, lin_v, her_t, her_y, her_dy = [], [], [], [], []
    her_off, lam_off, lams = [0], [0], []
    nod_breaks: list[FloatArray] = []
    nod_values: list[FloatArray] = []
    nod_off = [0]
    for s in segments:
        d = s.dense
        if isinstance(d, CallableDense) or not isinstance(
            d, (LinearDense, HermiteDense, NodalDense)
        ):
            if s.t1 > s.t0:
                d = resample_callable(
                    d, s.t0, s.t1, rtol=rtol, atol=atol, max_nodes=RESAMPLE_MAX_NODES
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
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "status": int(solution.status),
        "message": solution.message,
        "method": solution.method,
        # "counters": the four every version-2 reader expects (earlier filippov too);
        # "stats": every counter that the events do not give back
        "counters": {key: solution.stats[key] for key in _COUNTERS},
        "stats": _stored_stats(solution.stats),
        "info": solution.info,
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
        "t": np.asarray(solution.t),
        "x": np.asarray(solution.x),
        "event_t": np.array([e.t for e in events], dtype=np.float64),
        "event_x": stack([e.x for e in events], n),
        "segment_t": np.array([[s.t0, s.t1] for s in segments], dtype=np.float64).reshape(-1, 2),
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
            else np.zeros((0, NODAL_POINTS, n), dtype=np.float64)
        ),
        "nodal_offsets": np.array(nod_off, dtype=np.int64),
    }
