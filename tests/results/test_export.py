"""Export to pandas/xarray: tidy tables against the hand solution, netCDF and parquet
round trips (the [export] extra, installed by CI)."""

from __future__ import annotations

import numpy as np
import pytest

import filippov as fp
from filippov.objectives import separable_quadratic, slope

pd = pytest.importorskip("pandas")
xr = pytest.importorskip("xarray")
pytest.importorskip("h5netcdf")
pytest.importorskip("pyarrow")


def hand_slope(t: np.ndarray) -> np.ndarray:
    """The slope example (a = 0.5) by hand (tests/reference/problems.py): x' = (-1, -1) until 1.1,
    sliding with x' = (-0.5, -1) until 3.1, then at rest at (-1.5, -3)."""
    t = np.asarray(t, dtype=float)
    s1 = np.minimum(t, 1.1)
    s2 = np.clip(t - 1.1, 0.0, 2.0)
    return np.column_stack([0.6 - s1 - 0.5 * s2, 0.1 - s1 - s2])


@pytest.fixture(scope="module")
def sol() -> fp.FilippovSolution:
    return fp.solve(fp.steepest_descent_flow(slope(0.5), "linf"), [0.6, 0.1], (0.0, 4.0))


def test_solution_tables_hold_the_hand_solution(sol: fp.FilippovSolution) -> None:
    ev = sol.to_dataframe("events")
    assert list(ev.columns[:7]) == [
        "t", "kind", "indices", "mode_before", "mode_after", "unique", "note",
    ]  # fmt: skip
    np.testing.assert_allclose(ev["t"], [1.1, 3.1, 3.1], atol=1e-12)
    assert list(ev["kind"]) == ["sliding-entry", "sliding-entry", "stationary"]
    np.testing.assert_allclose(ev[["x0", "x1"]].to_numpy(), hand_slope(ev["t"]), atol=1e-12)
    seg = sol.to_dataframe("segments")
    np.testing.assert_allclose(seg["t0"], [0.0, 1.1, 3.1], atol=1e-12)
    np.testing.assert_allclose(seg["t1"], [1.1, 3.1, 4.0], atol=1e-12)
    assert list(seg["kind"]) == ["regular", "sliding", "stationary"]
    # the linf flow's relay norm is its dual, l1; the column says which norm it is
    assert "norm" not in seg.columns and list(seg["relay_norm"]) == ["l1"] * 3
    # sliding: λ1 = a = 0.5 (Utkin's equivalent control), λ2 = 1
    np.testing.assert_allclose(seg.loc[1, ["lam0", "lam1"]].to_numpy(float), [0.5, 1.0], atol=1e-12)
    st = sol.to_dataframe("states", n_samples=41)
    assert st["t"].is_monotonic_increasing and {1.1, 3.1} <= set(np.round(st["t"], 12))
    np.testing.assert_allclose(st[["x0", "x1"]].to_numpy(), hand_slope(st["t"]), atol=1e-12)
    for df in (ev, seg, st):
        assert df.attrs["status"] == 1 and "stationary" in df.attrs["message"]


def test_solution_dataset_and_netcdf_round_trip(sol: fp.FilippovSolution, tmp_path) -> None:
    ds = sol.to_xarray(t=np.linspace(0.0, 4.0, 9))
    assert ds.x.dims == ("time", "coord") and ds.x.shape == (9, 2)
    np.testing.assert_allclose(ds.x.values, hand_slope(ds.time.values), atol=1e-12)
    assert ds.event_x.dims == ("event", "coord")
    assert ds.attrs["status"] == 1 and ds.attrs["success"] == 1
    path = tmp_path / "sol.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataset(path, engine="h5netcdf")
    xr.testing.assert_identical(back, ds)
    assert back.event_kind.values.tolist() == [e.kind for e in sol.events]


def test_solution_tables_round_trip_through_parquet(sol: fp.FilippovSolution, tmp_path) -> None:
    for table in ("events", "segments", "states"):
        df = sol.to_dataframe(table)
        path = tmp_path / f"{table}.parquet"
        df.to_parquet(path)
        back = pd.read_parquet(path)
        pd.testing.assert_frame_equal(back, df)
        assert back.attrs == df.attrs  # status and message travel in the file's metadata


def test_failed_solution_exports_its_status_and_partial_path() -> None:
    # A run stopped by max_events keeps its partial solution; the export says so.
    obj = separable_quadratic([1.0, 3.0, 7.0], [0.0, 0.0, 0.0])
    part = fp.solve(fp.steepest_descent_flow(obj, "linf"), [1.0, -2.0, 0.5], (0, 5), max_events=1)
    assert part.status < 0
    ds = part.to_xarray(n_samples=5)
    assert ds.attrs["status"] == part.status and ds.attrs["success"] == 0
    assert ds.attrs["message"] == part.message and ds.sizes["event"] == len(part.events)
    assert part.to_dataframe("events").attrs["status"] == part.status


@pytest.mark.parametrize("batched", [False, True])
def test_trajectory_tables_and_round_trips(batched: bool, tmp_path) -> None:
    obj = separable_quadratic([1.0, 4.0], [0.0, 0.0])
    x0 = np.array([[1.0, -1.0], [0.5, 0.25]]) if batched else np.array([1.0, -1.0])
    traj = fp.schemes.SignGD(step=0.01).run(obj, x0, n_steps=60, save_every=7)
    it = traj.to_dataframe("iterates")
    m = 2 if batched else 1
    assert len(it) == traj.x.shape[0] * m
    # iterates of SignGD from x0 with step 0.01: x0 - 0.01 k sign(x0) before any sign flip
    first = it[it["k"] == 7]
    np.testing.assert_allclose(
        first[["x0", "x1"]].to_numpy(), np.atleast_2d(x0) - 0.07 * np.sign(np.atleast_2d(x0))
    )
    np.testing.assert_allclose(it["f"], 0.5 * it["x0"] ** 2 + 2.0 * it["x1"] ** 2, rtol=1e-14)
    steps = traj.to_dataframe("steps")
    assert len(steps) == 60 * m and np.all(steps["step"] == 0.01)
    ds = traj.to_xarray()
    assert ds.x.dims == (("k", "batch", "coord") if batched else ("k", "coord"))
    np.testing.assert_array_equal(ds.k.values, traj.k)
    assert ds.sizes["iterate"] == 61 and ds.sizes["step_index"] == 60
    path = tmp_path / "traj.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    xr.testing.assert_identical(xr.load_dataset(path, engine="h5netcdf"), ds)
    for table, df in (("iterates", it), ("steps", steps)):
        df.to_parquet(tmp_path / f"{table}.parquet")
        back = pd.read_parquet(tmp_path / f"{table}.parquet")
        pd.testing.assert_frame_equal(back, df)
        assert back.attrs["scheme"] == traj.metadata["scheme"]


def test_run_stopped_at_its_start_exports_its_single_state() -> None:
    from filippov.solution import FilippovSolution

    sol = FilippovSolution([0.0], [[0.1, 0.2]], [], [], -3, "Non-finite field at x0.")
    ds = sol.to_xarray()
    np.testing.assert_array_equal(ds.x.values, [[0.1, 0.2]])
    assert ds.sizes["event"] == 0 and ds.sizes["segment"] == 0 and ds.attrs["status"] == -3
    st = sol.to_dataframe("states")
    assert st.shape == (1, 3) and st.attrs["message"] == "Non-finite field at x0."
    assert len(sol.to_dataframe("events")) == 0 and len(sol.to_dataframe("segments")) == 0


def test_bad_table_names(sol: fp.FilippovSolution) -> None:
    with pytest.raises(ValueError, match="`table` must be one of"):
        sol.to_dataframe("states_and_events")
    traj = fp.schemes.SignGD(step=0.1).run(separable_quadratic([1.0], [0.0]), [1.0], n_steps=3)
    with pytest.raises(ValueError, match="`table` must be one of"):
        traj.to_dataframe("events")
    with pytest.raises(ValueError, match="n_samples"):
        sol.to_xarray(n_samples=1)


def test_segments_table_names_the_relay_norm_of_each_flow() -> None:
    # The relay norm φ is the dual of the steepest-descent flow's norm (DESIGN.md).
    dual = {"linf": "l1", "l1": "linf", "l2": "l2"}
    obj = fp.Objective.quadratic(np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, -1.0]))
    for flow_norm, relay in dual.items():
        sol = fp.solve(fp.steepest_descent_flow(obj, flow_norm), [1.0, 2.0], (0.0, 1.0))
        seg = sol.to_dataframe("segments")
        assert len(seg) >= 1 and set(seg["relay_norm"]) == {relay}, flow_norm
        assert "norm" not in seg.columns
