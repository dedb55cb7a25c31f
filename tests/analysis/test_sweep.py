"""Sweeps: one row per run, the same table on every executor, failures as rows, resume.

Closed form used throughout: the sign flow of a separable quadratic
``f = ½ Σ l_i (x_i − c_i)²`` moves every coordinate at unit speed towards ``c_i`` and
slides on ``{x_i = c_i}`` once there, so from ``x0`` the first sliding entry is at
``min_i |x0_i − c_i|``, the arrival at the minimizer at ``max_i |x0_i − c_i|``, and the
time spent sliding before it is the difference.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

import filippov as fp  # noqa: E402
from filippov.cli import main  # noqa: E402
from filippov.objectives import separable_quadratic, slope  # noqa: E402
from filippov.sweeps import STATUS_RAISED, read_table  # noqa: E402

L = np.array([1.0, 4.0])
C = np.array([0.5, -1.0])
RNG = np.random.default_rng(1812)
STARTS = RNG.uniform(-3.0, 3.0, size=(12, 2))


def _slope_sweep(**kw):
    """Two slopes and a NaN slope (whose factory raises) over nine starts."""
    return fp.sweep(
        slope,
        fp.grid((-6.0, 1.0), (-6.0, 0.5), num=3),
        t_span=(0.0, 30.0),
        params={"a": [0.5, 2.0, float("nan")]},
        **kw,
    )


def test_grid_order_and_shape():
    pts = fp.grid((0.0, 2.0), (10.0, 11.0), num=(3, 2))
    np.testing.assert_array_equal(pts, [[0, 10], [1, 10], [2, 10], [0, 11], [1, 11], [2, 11]])
    assert fp.grid((0, 1), (0, 1), (0, 1), num=4).shape == (64, 3)
    with pytest.raises(ValueError, match="num"):
        fp.grid((0, 1), (0, 1), num=(3, 3, 3))


def test_rows_match_the_closed_form():
    table = fp.sweep(separable_quadratic(L, C), STARTS, t_span=(0.0, 10.0), executor="serial")
    d = np.abs(STARTS - C)
    assert list(table["run"]) == list(range(len(STARTS)))
    np.testing.assert_array_equal(table[["x0_0", "x0_1"]].to_numpy(), STARTS)
    assert (table["status"] == 1).all()
    np.testing.assert_allclose(table["t_sliding_entry"], d.min(axis=1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(table["t_stationary"], d.max(axis=1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        table["sliding_duration"], d.max(axis=1) - d.min(axis=1), rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(table[["xf_0", "xf_1"]].to_numpy(), np.tile(C, (12, 1)), atol=1e-12)
    assert (table["n_sliding_entry"] == 2).all() and (table["n_stationary"] == 1).all()
    assert (table["n_crossing"] == 0).all()
    np.testing.assert_allclose(table["f_final"], 0.0, atol=1e-20)


def test_identical_tables_serial_process_pool_and_dask_cluster():
    distributed = pytest.importorskip("distributed")
    serial = _slope_sweep(executor="serial", chunk_size=4)
    # a fork server, as the sweep's own default pool (forking after JAX is loaded can hang)
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        pooled = _slope_sweep(executor=pool, chunk_size=5)
    assert pooled.attrs["sweep"]["chunks_run"] == list(range(6))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        dasked = _slope_sweep(executor=client, chunk_size=7)
    default_pool = _slope_sweep(workers=2)  # the default executor: a local process pool
    for other in (pooled, dasked, default_pool):
        pd.testing.assert_frame_equal(serial, other, check_exact=True)
    # The table is right, not only the same: the NaN slope raised in its factory.
    assert len(serial) == 27
    assert (serial["status"][:18] == 1).all()
    assert (serial["status"][18:] == STATUS_RAISED).all()
    assert serial["message"][18].startswith("NonFiniteError: `a` must be finite")
    np.testing.assert_allclose(serial["xf_1"][:18], -3.0, atol=1e-12)


def test_a_failing_run_becomes_a_row():
    # One event allowed: runs that need two stop with status -2 and their partial solution;
    # a start on the minimizer's manifolds needs fewer and succeeds.
    starts = np.array([[0.0, 0.0], [-1.5, -3.0], [0.5, 0.5]])
    table = fp.sweep(
        slope(0.5),
        starts,
        t_span=(0.0, 30.0),
        solve_options={"max_events": 1},
        executor="serial",
    )
    assert list(table["status"]) == [-2, 1, -2]
    assert "events" in table["message"][0]
    assert table["t_end"][0] < 30.0  # the partial solution's end


def test_resume_reruns_only_missing_chunks(tmp_path):
    out = tmp_path / "sweep"
    full = _slope_sweep(executor="serial", chunk_size=4)
    first = _slope_sweep(executor="serial", chunk_size=4, out=out)
    assert first.attrs["sweep"]["chunks_run"] == list(range(7))
    # An interruption: two chunks never written, one write cut short (a temp file left).
    os.remove(out / "chunk-000002.parquet")
    os.remove(out / "chunk-000005.parquet")
    (out / ".chunk-000005.parquet.123.tmp").write_bytes(b"partial")
    again = _slope_sweep(executor="serial", out=out)
    assert again.attrs["sweep"]["chunks_run"] == [2, 5]
    assert again.attrs["sweep"]["chunks_read"] == [0, 1, 3, 4, 6]
    assert not list(out.glob(".*.tmp"))
    pd.testing.assert_frame_equal(full, again, check_exact=True)
    pd.testing.assert_frame_equal(full, read_table(out), check_exact=True)
    # Nothing missing: nothing runs.
    assert _slope_sweep(executor="serial", out=out).attrs["sweep"]["chunks_run"] == []


def _interrupting_slope(a):
    # The interruption is read from the environment, not from a module-level value: a
    # value the factory reads is part of the sweep's identity (another value, another
    # sweep), which an interruption is not.
    if str(a) == os.environ.get("FILIPPOV_TEST_INTERRUPT_AT"):
        raise KeyboardInterrupt
    return slope(a)


def test_resume_after_a_keyboard_interrupt(tmp_path, monkeypatch):
    starts = fp.grid((-6.0, 1.0), (-6.0, 0.5), num=2)
    kw = {"t_span": (0.0, 30.0), "params": {"a": [0.5, 0.25, 2.0]}, "executor": "serial"}
    monkeypatch.setenv("FILIPPOV_TEST_INTERRUPT_AT", "2.0")
    with pytest.raises(KeyboardInterrupt):
        fp.sweep(_interrupting_slope, starts, chunk_size=4, out=tmp_path / "s", **kw)
    assert sorted(p.name for p in (tmp_path / "s").glob("chunk-*")) == [
        "chunk-000000.parquet",
        "chunk-000001.parquet",
    ]
    monkeypatch.delenv("FILIPPOV_TEST_INTERRUPT_AT")
    resumed = fp.sweep(_interrupting_slope, starts, out=tmp_path / "s", **kw)
    assert resumed.attrs["sweep"]["chunks_run"] == [2]
    fresh = fp.sweep(slope, starts, **kw)
    pd.testing.assert_frame_equal(fresh, resumed, check_exact=True)


def test_out_folder_of_another_sweep_is_refused(tmp_path):
    _slope_sweep(executor="serial", out=tmp_path)
    with pytest.raises(ValueError, match="another sweep"):
        fp.sweep(slope(0.5), [[0.0, 0.0]], t_span=(0.0, 30.0), executor="serial", out=tmp_path)
    # Same name, other data: still another sweep.
    H = np.diag(L)
    kw = {"t_span": (0.0, 10.0), "executor": "serial", "out": tmp_path / "q"}
    fp.sweep(fp.Objective.quadratic(H, -H @ C, name="q"), STARTS[:2], **kw)
    with pytest.raises(ValueError, match="another sweep"):
        fp.sweep(fp.Objective.quadratic(H, H @ C, name="q"), STARTS[:2], **kw)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_tables_round_trip_through_files(tmp_path, fmt):
    table = _slope_sweep(executor="serial", out=tmp_path / "chunks", table_format=fmt)
    pd.testing.assert_frame_equal(table, read_table(tmp_path / "chunks"), check_exact=True)
    path = tmp_path / f"table.{fmt}"
    getattr(table, f"to_{fmt}")(path, index=False)
    pd.testing.assert_frame_equal(table, read_table(path), check_exact=True)


def test_unpicklable_problem_is_refused_before_submitting():
    lock = threading.Lock()

    def factory(a):
        with lock:
            return slope(a)

    class NoSubmit(ProcessPoolExecutor):
        def submit(self, *args, **kwargs):  # pragma: no cover - must not be reached
            raise AssertionError("submitted")

    with NoSubmit(max_workers=1) as ex, pytest.raises(TypeError, match="cannot be sent"):
        fp.sweep(factory, [[0.0, 0.0]], t_span=(0.0, 3.0), params={"a": [0.5]}, executor=ex)
    # The same factory runs in this process.
    table = fp.sweep(factory, [[0.0, 0.0]], t_span=(0, 30), params={"a": [0.5]}, executor=None)
    assert table["status"][0] == 1


def test_compare_sweep_tracks_within_the_step():
    scheme = fp.schemes.SignGD(step=0.1)
    table = fp.sweep(
        separable_quadratic(L, C),
        STARTS[:4],
        t_span=(0.0, 4.0),
        run="compare",
        scheme=scheme,
        steps=[0.1, 0.01],
        executor="serial",
    )
    assert list(table["step"]) == [0.1] * 4 + [0.01] * 4
    assert (table["status"] == 1).all() and (table["scheme_status"] >= 0).all()
    # Separable sign flow: every coordinate of SignGD stays within one step of the flow.
    assert (table["tracking_error"] <= table["step"] + 1e-12).all()
    assert (table["tracking_error"] > 0).any()
    schemes = fp.sweep(
        separable_quadratic(L, C),
        STARTS[:2],
        t_span=(0.0, 4.0),
        run="scheme",
        scheme=scheme,
        executor="serial",
        keep_solutions=True,
    )
    assert list(schemes["n_steps"]) == [40, 40]
    np.testing.assert_array_equal(schemes["solution"][1].x[-1], schemes[["xf_0", "xf_1"]].iloc[1])


def test_norms_and_seeds_axes():
    def problem(seed):
        return fp.objectives.rotated_quadratic([1.0, 3.0], seed=seed)

    table = fp.sweep(
        problem,
        [[1.0, -1.0]],
        t_span=(0, 20),
        norms=["linf", "l1"],
        seeds=[3, 4],
        executor="serial",
    )
    assert list(zip(table["norm"], table["seed"], strict=True)) == [
        ("linf", 3),
        ("linf", 4),
        ("l1", 3),
        ("l1", 4),
    ]
    assert (table["status"] == 1).all()
    for seed in (3, 4):
        xstar = problem(seed).minimizer
        rows = table[table["seed"] == seed]
        np.testing.assert_allclose(rows[["xf_0", "xf_1"]].to_numpy(), [xstar, xstar], atol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"norms": ["l3"]}, ValueError, "norms"),
        ({"solve_options": {"rtoll": 1e-8}}, TypeError, "rtoll"),
        ({"run": "scheme"}, TypeError, "scheme"),
        ({"steps": [0.1]}, ValueError, "steps"),
        ({"params": {"a": [1.0]}}, ValueError, "factory"),
        ({"executor": "threads"}, TypeError, "executor"),
        ({"table_format": "xlsx"}, ValueError, "table_format"),
        # (stranger fuzz fz14: options of the other run kind were taken without effect)
        ({"scheme_options": {"max_steps": 5}}, ValueError, "scheme_options"),
        (
            {
                "run": "scheme",
                "scheme": fp.schemes.SignGD(step=0.1),
                "solve_options": {"rtol": 1e-3},
            },
            ValueError,
            "solve_options",
        ),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        fp.sweep(slope(0.5), [[0.0, 0.0]], t_span=(0.0, 3.0), **{"executor": None, **kwargs})


def test_wrong_gradient_fails_every_run_of_the_instance():
    good = slope(0.5)
    bad = fp.Objective(good.f, lambda x: 2.0 * good.grad(x), good.hess, n=2)
    table = fp.sweep(bad, [[0.0, 0.0], [1.0, 1.0]], t_span=(0, 3), executor="serial")
    assert (table["status"] == STATUS_RAISED).all()
    assert table["message"].str.contains("gradient").all()


def test_cli_sweep_writes_the_table(tmp_path, capsys):
    out = tmp_path / "t.csv"
    code = main(
        [
            "sweep",
            "0.5*(x - a*y)**2 + 0.5*(y + 3)**2",
            "--vars",
            "x,y",
            "--axis",
            "a=0.5,2",
            "--xlim=-6,1",
            "--ylim=-6,0.5",
            "--num",
            "3",
            "--t-end",
            "30",
            "--out",
            str(out),
            "--workers",
            "1",
        ]
    )
    assert code == 0
    assert "18 runs (status 1: 18)" in capsys.readouterr().out
    table = read_table(out)
    reference = _slope_sweep(executor="serial")[:18]
    np.testing.assert_array_equal(table["t_stationary"], reference["t_stationary"])
    assert (
        main(
            [
                "sweep",
                "x**2",
                "--vars",
                "x,y",
                "--xlim=0,1",
                "--ylim=0,1",
                "--t-end",
                "1",
                "--out",
                str(tmp_path / "t.txt"),
            ]
        )
        == 2
    )


def test_arrival_time_map_draws_the_grid_and_manifolds():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from filippov import plot

    flow = fp.steepest_descent_flow(slope(0.5))
    starts = fp.grid((-6.0, 1.0), (-6.0, 0.5), num=(5, 4))
    table = fp.sweep(slope(0.5), starts, t_span=(0.0, 30.0), executor="serial")
    ax = plot.arrival_time_map(table, flow)
    (mesh,) = plot.artists(ax, "map:t_stationary")
    values = np.asarray(mesh.get_array()).reshape(4, 5)
    np.testing.assert_array_equal(values, table["t_stationary"].to_numpy().reshape(4, 5))
    assert plot.artists(ax, "manifold:sliding:0") and plot.artists(ax, "minimizer")
    with pytest.raises(ValueError, match="grid"):
        plot.arrival_time_map(table.iloc[:-1], flow)
    plt.close("all")


def test_benchmark_cases_are_what_they_claim():
    """benchmarks/sweep.py: the exact-path case is exact, the logistic case event-path."""
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks.sweep import _cases

    cases = _cases(quick=True)
    assert len(cases["slope exact"]["x0"]) == 32 * 32
    for name, method in (("slope exact", "exact"), ("logistic events", "events")):
        case = dict(cases[name])
        problem, x0 = case.pop("problem"), case.pop("x0")
        if "seeds" in case:
            case["seeds"] = case["seeds"][:1]
        table = fp.sweep(problem, x0[:2], executor="serial", **case)
        assert table["method"].str.startswith(method).all() and (table["status"] >= 0).all()
