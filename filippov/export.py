"""Results as tables and labelled arrays: pandas DataFrames and xarray Datasets.

:meth:`FilippovSolution.to_dataframe` / :meth:`FilippovSolution.to_xarray` and
:meth:`DiscreteTrajectory.to_dataframe` / :meth:`DiscreteTrajectory.to_xarray` call the
functions of this module. Tables are tidy (one row per event, per segment, per sampled
time or per iterate; one column per variable, state coordinates as ``x0, x1, ...``), so
they write to parquet as they are; Datasets have named dimensions (``time``, ``coord``,
``event``, ``segment`` for a solution; ``k``, ``iterate``, ``step_index``, ``batch``, ``coord`` for a
trajectory) and carry ``status``, ``message`` and the ``stats`` counters as attributes,
so they write to netCDF as they are. pandas and xarray are imported here, when used (``pip install 'filippov[export]'``,
which also installs ``h5netcdf`` for netCDF and ``pyarrow`` for parquet).

Examples
--------
>>> import filippov as fp
>>> from filippov.objectives import slope
>>> sol = fp.solve(fp.steepest_descent_flow(slope(0.5), "linf"), [0.6, 0.1], (0, 4))
>>> sol.to_dataframe("events")[["t", "kind", "indices"]].round(12)
     t           kind indices
0  1.1  sliding-entry       0
1  3.1  sliding-entry       1
2  3.1     stationary     0,1
>>> ds = sol.to_xarray(n_samples=5)
>>> ds.x.dims, ds.attrs["status"]
(('time', 'coord'), 1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from filippov._validation import as_vector, require_int

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

    from filippov.schemes.trajectory import DiscreteTrajectory
    from filippov.solution import FilippovSolution

__all__ = [
    "SOLUTION_TABLES",
    "TRAJECTORY_TABLES",
    "solution_to_dataframe",
    "solution_to_xarray",
    "trajectory_to_dataframe",
    "trajectory_to_xarray",
]

#: Tables of :meth:`FilippovSolution.to_dataframe`.
SOLUTION_TABLES = ("events", "segments", "states")
#: Tables of :meth:`DiscreteTrajectory.to_dataframe`.
TRAJECTORY_TABLES = ("iterates", "steps")


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "to_dataframe needs pandas: pip install 'filippov[export]' (or pip install pandas)."
        ) from None
    return pandas


def _xarray() -> Any:
    try:
        import xarray
    except ImportError:
        raise ImportError(
            "to_xarray needs xarray: pip install 'filippov[export]' (or pip install xarray)."
        ) from None
    return xarray


def _ints(values: tuple[int, ...]) -> str:
    # Index sets as "0,2" strings: one scalar per cell, so the table stays tidy and writes
    # to parquet and netCDF alike ("" for the empty set).
    return ",".join(str(int(i)) for i in values)


def _coord_columns(n: int) -> list[str]:
    return [f"x{i}" for i in range(n)]


def _solution_attrs(sol: FilippovSolution) -> dict[str, Any]:
    # netCDF attributes are numbers and strings (no bools, no None): success as 0/1.
    lo, hi = sol.t_span
    return {
        "status": int(sol.status),
        "message": sol.message,
        "success": int(sol.success),
        "method": sol.method,
        "n": int(sol.n),
        "t0": lo,
        "t_end": hi,
        # every stats key (nfev, njev, nlu, n_selection_solves, n_steps, n_events, ...)
        **{key: int(value) for key, value in sol.stats.items()},
    }


def _sample_times(sol: FilippovSolution, t: ArrayLike | None, n_samples: int) -> np.ndarray:
    if t is not None:
        return np.asarray(as_vector(t, "t"), dtype=np.float64)
    n_samples = require_int(n_samples, "n_samples", minimum=2)
    if not sol.segments:  # a run that stopped at its start: only its breakpoints are known
        return np.unique(sol.t)
    lo, hi = sol.t_span
    # A uniform grid plus every breakpoint (events are where the state turns a corner).
    return np.unique(np.concatenate([np.linspace(lo, hi, n_samples), sol.t]))


def _event_columns(sol: FilippovSolution) -> dict[str, Any]:
    ev = sol.events
    X = np.array([e.x for e in ev], dtype=np.float64).reshape(len(ev), sol.n)
    cols: dict[str, Any] = {
        "t": np.array([e.t for e in ev], dtype=np.float64),
        "kind": [e.kind for e in ev],
        "indices": [_ints(e.indices) for e in ev],
        "mode_before": ["" if e.mode_before is None else e.mode_before.label for e in ev],
        "mode_after": ["" if e.mode_after is None else e.mode_after.label for e in ev],
        "unique": np.array([e.unique for e in ev], dtype=bool),
        "note": [e.note for e in ev],
    }
    for i, name in enumerate(_coord_columns(sol.n)):
        cols[name] = X[:, i]
    return cols


def _segment_columns(sol: FilippovSolution) -> dict[str, Any]:
    segs = sol.segments
    m = max((s.lam.shape[0] for s in segs), default=0)
    lam = np.full((len(segs), m), np.nan)
    for j, s in enumerate(segs):
        lam[j, : s.lam.shape[0]] = s.lam  # NaN-padded when modes differ in size
    cols: dict[str, Any] = {
        "t0": np.array([s.t0 for s in segs], dtype=np.float64),
        "t1": np.array([s.t1 for s in segs], dtype=np.float64),
        "kind": [s.kind for s in segs],
        "mode": [s.mode.label for s in segs],
        # The relay norm φ of the mode (the dual of a steepest-descent flow's norm: "l1"
        # for the linf sign flow), named so that it is not read as the flow's norm.
        "relay_norm": [s.mode.norm for s in segs],
        "signs": [_ints(s.mode.signs) for s in segs],
        "free": [_ints(s.mode.free) for s in segs],
        "dense": [s._dense_label() for s in segs],
    }
    for i in range(m):
        cols[f"lam{i}"] = lam[:, i]
    return cols


def solution_to_dataframe(
    sol: FilippovSolution,
    table: str = "events",
    *,
    t: ArrayLike | None = None,
    n_samples: int = 201,
) -> pd.DataFrame:
    """One table of a solution as a pandas DataFrame (see
    :meth:`FilippovSolution.to_dataframe`)."""
    if not isinstance(table, str) or table not in SOLUTION_TABLES:
        raise ValueError(f"`table` must be one of {SOLUTION_TABLES}. Got {table!r} instead.")
    pd = _pandas()
    if table == "events":
        df = pd.DataFrame(_event_columns(sol))
    elif table == "segments":
        df = pd.DataFrame(_segment_columns(sol))
    else:
        ts = _sample_times(sol, t, n_samples)
        X = sol(ts).reshape(ts.shape[0], sol.n)
        df = pd.DataFrame({"t": ts, **dict(zip(_coord_columns(sol.n), X.T, strict=True))})
    df.attrs.update(_solution_attrs(sol))
    return df


def solution_to_xarray(
    sol: FilippovSolution, *, t: ArrayLike | None = None, n_samples: int = 201
) -> xr.Dataset:
    """A solution as an xarray Dataset (see :meth:`FilippovSolution.to_xarray`)."""
    xr = _xarray()
    ts = _sample_times(sol, t, n_samples)
    X = sol(ts).reshape(ts.shape[0], sol.n)
    ev = _event_columns(sol)
    sg = _segment_columns(sol)
    coord = np.arange(sol.n)
    data: dict[str, Any] = {
        "x": (("time", "coord"), X, {"long_name": "state x(t), sampled from the dense output"}),
        "event_t": ("event", ev["t"]),
        "event_kind": ("event", np.array(ev["kind"], dtype=str)),
        "event_indices": ("event", np.array(ev["indices"], dtype=str)),
        "event_mode_before": ("event", np.array(ev["mode_before"], dtype=str)),
        "event_mode_after": ("event", np.array(ev["mode_after"], dtype=str)),
        "event_unique": ("event", ev["unique"].astype(np.int8)),
        "event_note": ("event", np.array(ev["note"], dtype=str)),
        "event_x": (
            ("event", "coord"),
            np.column_stack([ev[c] for c in _coord_columns(sol.n)]).reshape(-1, sol.n),
        ),
        "segment_t0": ("segment", sg["t0"]),
        "segment_t1": ("segment", sg["t1"]),
        "segment_kind": ("segment", np.array(sg["kind"], dtype=str)),
        "segment_mode": ("segment", np.array(sg["mode"], dtype=str)),
        "segment_dense": ("segment", np.array(sg["dense"], dtype=str)),
    }
    return xr.Dataset(data, coords={"time": ts, "coord": coord}, attrs=_solution_attrs(sol))


# ---------------------------------------------------------------------------- trajectories


def _trajectory_attrs(traj: DiscreteTrajectory) -> dict[str, Any]:
    md = traj.metadata
    return {
        "status": int(traj.status),
        "message": traj.message,
        "success": int(traj.success),
        "scheme": str(md.get("scheme", "")),
        "objective": str(md.get("objective", "")),
        "n": int(traj.n),
        # the same stats keys as a solution's (n_steps among them)
        **{key: int(value) for key, value in traj.stats.items()},
    }


def _diagnostic_split(traj: DiscreteTrajectory) -> tuple[dict[str, Any], dict[str, Any]]:
    """Diagnostics per iterate (``n_steps + 1`` rows) and per step (``n_steps`` rows)."""
    per_iterate: dict[str, Any] = {}
    per_step: dict[str, Any] = {}
    for name, arr in traj.diagnostics.items():
        if arr.shape[0] == traj.n_steps + 1:
            per_iterate[name] = arr
        elif arr.shape[0] == traj.n_steps:
            per_step[name] = arr
    return per_iterate, per_step


def trajectory_to_dataframe(traj: DiscreteTrajectory, table: str = "iterates") -> pd.DataFrame:
    """One table of a trajectory as a pandas DataFrame (see
    :meth:`DiscreteTrajectory.to_dataframe`)."""
    if not isinstance(table, str) or table not in TRAJECTORY_TABLES:
        raise ValueError(f"`table` must be one of {TRAJECTORY_TABLES}. Got {table!r} instead.")
    pd = _pandas()
    per_iterate, per_step = _diagnostic_split(traj)
    m = traj.m or 1
    # Long format for batched runs: rows (k, batch), batch varying fastest.
    if table == "iterates":
        rows = traj.x.shape[0]
        X = traj.x.reshape(rows * m, traj.n)
        cols: dict[str, Any] = {"k": np.repeat(traj.k, m)}
        if traj.batched:
            cols["batch"] = np.tile(np.arange(m), rows)
        cols["t"] = traj.t.reshape(rows * m)
        cols.update(zip(_coord_columns(traj.n), X.T, strict=True))
        for name, arr in per_iterate.items():
            if name != "t":  # the saved iterates' flow times are the column "t" already
                cols[name] = np.asarray(arr)[traj.k].reshape(rows * m)
    else:
        steps = traj.n_steps
        cols = {"step_index": np.repeat(np.arange(steps), m)}
        if traj.batched:
            cols["batch"] = np.tile(np.arange(m), steps)
        for name, arr in per_step.items():
            cols[name] = np.asarray(arr).reshape(steps * m)
    df = pd.DataFrame(cols)
    df.attrs.update(_trajectory_attrs(traj))
    return df


def trajectory_to_xarray(traj: DiscreteTrajectory) -> xr.Dataset:
    """A trajectory as an xarray Dataset (see :meth:`DiscreteTrajectory.to_xarray`)."""
    xr = _xarray()
    per_iterate, per_step = _diagnostic_split(traj)
    batch = ("batch",) if traj.batched else ()
    data: dict[str, Any] = {
        "x": (("k", *batch, "coord"), traj.x, {"long_name": "saved iterates x_k"}),
        "t": (("k", *batch), traj.t, {"long_name": "flow time of x_k"}),
    }
    for name, arr in per_iterate.items():
        data[f"{name}_all" if name == "t" else name] = (("iterate", *batch), arr)
    for name, arr in per_step.items():
        data[name] = (("step_index", *batch), arr)
    coords: dict[str, Any] = {
        "k": traj.k,
        "coord": np.arange(traj.n),
        "iterate": np.arange(traj.n_steps + 1),
        "step_index": np.arange(traj.n_steps),
    }
    if traj.batched:
        coords["batch"] = np.arange(traj.x.shape[1])
    return xr.Dataset(data, coords=coords, attrs=_trajectory_attrs(traj))
