"""Tests of :mod:`filippov.plot`: what was drawn, not only that nothing raised.

Every function is called headless (Agg) and the artists it leaves on the axes are
inspected through their gids: geometry against closed forms (the slope example's valley
``x1 = a x2``, Coulomb friction's stick band ``|q| ≤ μ/k``, a fold of a two-field system),
styles against the documented style tables, and trajectories against the solution they
draw (one artist per segment, event markers at the event states).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import FancyArrowPatch, Polygon

import filippov as fp
from filippov import plot, schemes
from filippov.objectives import separable_quadratic, slope


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _xy(artist) -> np.ndarray:
    return np.asarray(artist.get_xydata(), dtype=float)


def _gids(ax, pattern="*") -> list[str]:
    return [a.get_gid() for a in plot.artists(ax, pattern)]


def _union_x_range(artists) -> tuple[float, float]:
    xs = np.concatenate([_xy(a)[:, 0] for a in artists])
    return float(xs.min()), float(xs.max())


def _fold_system():
    """x' = (1, 1) below x2 = 0 and (1, x1) above: sliding for x1 < 0, crossing for x1 > 0."""
    return fp.piecewise_system(
        lambda x: np.array([1.0, 1.0]),
        lambda x: np.array([1.0, x[0]]),
        lambda x: x[1],
        grad_h=lambda x: np.array([0.0, 1.0]),
    )


# ----------------------------------------------------------------------- manifolds


def test_slope_sliding_manifold_drawn_in_sliding_style_over_its_x_range():
    system = fp.steepest_descent_flow(slope(0.5), norm="linf")
    ax = plot.phase_portrait(system, (-4.0, 2.0), (-5.0, 1.0), field=False)
    pieces = plot.artists(ax, "manifold:*:0")
    assert [a.get_gid() for a in pieces] == ["manifold:sliding:0"]
    (line,) = pieces
    xy = _xy(line)
    # On the valley x1 = a x2 (h_0 = x1 − a x2 is affine: contouring is exact).
    np.testing.assert_allclose(xy[:, 0], 0.5 * xy[:, 1], atol=1e-9)
    # Over the whole window: x2 ∈ [−5, 1] gives x1 ∈ [−2.5, 0.5].
    lo, hi = _union_x_range(pieces)
    assert lo == pytest.approx(-2.5, abs=1e-9)
    assert hi == pytest.approx(0.5, abs=1e-9)
    style = plot.MANIFOLD_STYLES["sliding"]
    assert line.get_linestyle() == "-"
    assert line.get_linewidth() == pytest.approx(style["linewidth"])
    assert to_hex(line.get_color()) == to_hex(style["color"])
    # The second manifold ∂2 f = 0 is sliding too, and nothing is a fold.
    assert _gids(ax, "manifold:*:1") == ["manifold:sliding:1"]
    assert _gids(ax, "fold:*") == []


def test_slope_a2_valley_is_drawn_as_crossing():
    system = fp.steepest_descent_flow(slope(2.0), norm="linf")
    ax = plot.phase_portrait(system, (-8.0, 2.0), (-5.0, 1.0), field=False)
    pieces = plot.artists(ax, "manifold:*:0")
    assert pieces and all(a.get_gid() == "manifold:crossing:0" for a in pieces)
    for line in pieces:
        xy = _xy(line)
        np.testing.assert_allclose(xy[:, 0], 2.0 * xy[:, 1], atol=1e-9)
        assert line.get_linestyle() == "--"
        assert line.get_linewidth() == pytest.approx(plot.MANIFOLD_STYLES["crossing"]["linewidth"])
        assert to_hex(line.get_color()) == to_hex(plot.MANIFOLD_STYLES["crossing"]["color"])
    # x2 ∈ [−5, 1] gives x1 ∈ [−10, 2], cut by the window to [−8, 2]; the pieces meet
    # only at the minimizer (−6, −3), where the manifold ∂2 f = 0 crosses it (no fold).
    lo, hi = _union_x_range(pieces)
    assert (lo, hi) == (pytest.approx(-8.0, abs=1e-9), pytest.approx(2.0, abs=1e-9))
    total = sum(np.sum(np.linalg.norm(np.diff(_xy(a), axis=0), axis=1)) for a in pieces)
    assert total == pytest.approx(np.hypot(10.0, 5.0), rel=1e-9)
    assert _gids(ax, "fold:*") == []
    assert _gids(ax, "manifold:*:1") == ["manifold:sliding:1"]


def test_switching_set_matches_the_drawn_pieces():
    system = fp.steepest_descent_flow(slope(2.0), norm="linf")
    sw = plot.switching_set(system, (-8.0, 2.0), (-5.0, 1.0))
    assert {(p.index, p.kind) for p in sw.pieces} == {((0,), "crossing"), ((1,), "sliding")}
    assert sw.folds == ()


def test_fold_point_located_and_pieces_split_there():
    system = _fold_system()
    sw = plot.switching_set(system, (-2.0, 2.0), (-1.0, 1.0))
    kinds = {p.kind: p for p in sw.pieces}
    assert set(kinds) == {"sliding", "crossing"}
    assert _union_x_range_arr(kinds["sliding"].xy) == pytest.approx((-2.0, 0.0), abs=1e-9)
    assert _union_x_range_arr(kinds["crossing"].xy) == pytest.approx((0.0, 2.0), abs=1e-9)
    assert len(sw.folds) == 1
    index, point = sw.folds[0]
    assert index == (0,)
    np.testing.assert_allclose(point, [0.0, 0.0], atol=1e-9)
    ax = plot.phase_portrait(system, (-2.0, 2.0), (-1.0, 1.0), field=False)
    (fold,) = plot.artists(ax, "fold:0")
    np.testing.assert_allclose(_xy(fold), [[0.0, 0.0]], atol=1e-9)
    assert fold.get_marker() == "D"


def _union_x_range_arr(xy: np.ndarray) -> tuple[float, float]:
    return float(xy[:, 0].min()), float(xy[:, 0].max())


def test_coulomb_stick_band_is_sliding_between_two_folds():
    mu, k = 0.3, 1.0
    ax = plot.phase_portrait(fp.coulomb_oscillator(mu=mu, stiffness=k), (-2, 2), (-2, 2))
    (stick,) = plot.artists(ax, "manifold:sliding:0")
    xy = _xy(stick)
    np.testing.assert_allclose(xy[:, 1], 0.0, atol=1e-12)
    assert _union_x_range_arr(xy) == pytest.approx((-mu / k, mu / k), abs=1e-9)
    folds = np.vstack([_xy(a) for a in plot.artists(ax, "fold:0")])
    np.testing.assert_allclose(np.sort(folds[:, 0]), [-mu / k, mu / k], atol=1e-9)
    crossing = plot.artists(ax, "manifold:crossing:0")
    assert _union_x_range(crossing) == pytest.approx((-2.0, 2.0), abs=1e-9)
    assert plot.artists(ax, "field"), "the streamplot is drawn"
    assert not plot.artists(ax, "objective"), "no objective, no contours"


def test_repulsive_manifold_style():
    system = fp.piecewise_system(
        lambda x: np.array([1.0, -1.0]),
        lambda x: np.array([1.0, 1.0]),
        lambda x: x[1],
        grad_h=lambda x: np.array([0.0, 1.0]),
    )
    ax = plot.phase_portrait(system, (-1, 1), (-1, 1), field=False)
    (line,) = plot.artists(ax, "manifold:*")
    assert line.get_gid() == "manifold:repulsive:0"
    assert line.get_linestyle() == ":"
    labels = ax.get_legend_handles_labels()[1]
    assert "repulsive manifold (escaping)" in labels


def test_tie_surfaces_of_the_greedy_flow():
    # l1-constrained flow of ½(x1² + 2 x2²): ties |x1| = |2 x2|, i.e. x1 = ±2 x2.
    obj = fp.Objective.quadratic(np.diag([1.0, 2.0]))
    ax = plot.phase_portrait(fp.steepest_descent_flow(obj, "l1"), (-2, 2), (-1, 1), field=False)
    pieces = plot.artists(ax, "manifold:*:0,1")
    assert pieces
    for line in pieces:
        xy = _xy(line)
        np.testing.assert_allclose(np.abs(xy[:, 0]), np.abs(2.0 * xy[:, 1]), atol=1e-9)
    assert {a.get_gid().split(":")[1] for a in pieces} == {"sliding"}


def test_l2_flow_has_no_manifolds_but_a_field_and_contours():
    obj = fp.Objective.quadratic(np.diag([1.0, 2.0]))
    ax = plot.phase_portrait(fp.steepest_descent_flow(obj, "l2"), (-1, 1), (-1, 1))
    assert not plot.artists(ax, "manifold:*")
    assert plot.artists(ax, "field") and plot.artists(ax, "objective")
    np.testing.assert_allclose(_xy(plot.artists(ax, "minimizer")[0]), [[0.0, 0.0]])


def test_non_planar_system_rejected():
    obj = separable_quadratic([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="2-D state"):
        plot.phase_portrait(fp.steepest_descent_flow(obj), (-1, 1), (-1, 1))
    with pytest.raises(ValueError, match="xlim"):
        plot.phase_portrait(fp.steepest_descent_flow(slope(0.5)), (1, -1), (-1, 1))


# ----------------------------------------------------------------------- trajectories


@pytest.mark.parametrize("a", [0.5, 2.0])
def test_solution_segments_and_events_are_drawn(a):
    system = fp.steepest_descent_flow(slope(a), norm="linf")
    sol = fp.solve(system, [0.6, 0.1], (0.0, 10.0))
    ax = plot.phase_portrait(system, (-8, 2), (-5, 1), trajectories=[sol], field=False)
    segs = plot.artists(ax, "solution0:segment:*")
    assert len(segs) == len(sol.segments)
    for k, (line, seg) in enumerate(zip(segs, sol.segments, strict=True)):
        assert line.get_gid() == f"solution0:segment:{k}:{seg.kind}"
        xy = _xy(line)
        np.testing.assert_allclose(xy[0], seg(seg.t0), atol=1e-12)
        np.testing.assert_allclose(xy[-1], seg(seg.t1), atol=1e-12)
        style = plot.SEGMENT_STYLES[seg.kind]
        assert line.get_linewidth() == pytest.approx(style["linewidth"])
    assert [s.kind for s in sol.segments] == ["regular", "sliding", "stationary"]
    for kind in {ev.kind for ev in sol.events}:
        (markers,) = plot.artists(ax, f"solution0:event:{kind}")
        expected = np.array([ev.x for ev in sol.events if ev.kind == kind])
        np.testing.assert_allclose(_xy(markers), expected, atol=1e-12)
        assert markers.get_marker() == plot.EVENT_STYLES[kind]["marker"]
    labels = ax.get_legend().get_texts()
    texts = {t.get_text() for t in labels}
    assert {"event: sliding-entry", "event: stationary", "solution: sliding segment"} <= texts
    assert "event: crossing" not in texts
    assert len(texts) == len(labels), "no duplicate legend entries"


def test_curved_segments_are_sampled_on_the_dense_output():
    sol = fp.solve(fp.coulomb_oscillator(mu=0.3), [1.8, 0.0], (0.0, 12.0))
    ax = plot.trajectory(sol, samples=50)
    segs = plot.artists(ax, "solution0:segment:*")
    assert len(segs) == len(sol.segments)
    for line, seg in zip(segs, sol.segments, strict=True):
        xy = _xy(line)
        if seg.t1 > seg.t0 and seg.kind == "regular":
            assert len(xy) == 50
            np.testing.assert_allclose(xy, seg(np.linspace(seg.t0, seg.t1, 50)), atol=1e-12)


def test_discrete_iterates_single_and_batched():
    obj = slope(0.5)
    system = fp.steepest_descent_flow(obj)
    traj = schemes.SignGD(step=0.2).run(obj, [0.6, 0.1], n_steps=25)
    batch = schemes.SignGD(step=0.2).run(obj, np.array([[0.6, 0.1], [-3.0, 0.5]]), n_steps=10)
    ax = plot.phase_portrait(
        system, (-4, 2), (-5, 1), trajectories={"sign steps": traj, "batch": batch}
    )
    (line,) = plot.artists(ax, "iterates0")
    np.testing.assert_allclose(_xy(line), traj.x)
    assert line.get_label() == "sign steps"
    batch_lines = plot.artists(ax, "iterates1*")
    assert len(batch_lines) == 2
    for b, bl in enumerate(batch_lines):
        np.testing.assert_allclose(_xy(bl), batch.x[:, b, :])


def test_default_label_of_iterates_is_the_scheme():
    obj = slope(0.5)
    traj = schemes.SignGD(step=0.2).run(obj, [0.6, 0.1], n_steps=5)
    ax = plot.trajectory(traj)
    assert plot.artists(ax, "iterates0")[0].get_label() == traj.metadata["scheme"]


def test_plain_array_path_and_bad_input():
    ax = plot.trajectory(np.array([[0.0, 0.0], [1.0, 1.0]]), label="path")
    np.testing.assert_allclose(_xy(plot.artists(ax, "path0")[0]), [[0, 0], [1, 1]])
    with pytest.raises(TypeError, match="FilippovSolution"):
        plot.trajectory(np.zeros(3))


def test_trajectory_in_3d():
    H = np.array([[2.0, 0.3, 0.0], [0.3, 1.5, 0.2], [0.0, 0.2, 1.0]])
    obj = fp.Objective.quadratic(H, np.array([0.5, -1.0, 0.3]))
    sol = fp.solve(fp.steepest_descent_flow(obj), [1.0, 1.0, 1.0], (0.0, 5.0))
    fig = plt.figure()
    ax3 = fig.add_subplot(projection="3d")
    out = plot.trajectory(sol, ax=ax3)
    assert out is ax3
    segs = plot.artists(ax3, "solution0:segment:*")
    assert len(segs) == len(sol.segments)
    xs, ys, zs = segs[0].get_data_3d()
    np.testing.assert_allclose([xs[0], ys[0], zs[0]], sol.x[0])
    assert ax3.get_zlabel() == "$x_{3}$"


def test_passing_ax_reuses_it_and_never_creates_figures():
    _, ax = plt.subplots()
    before = plt.get_fignums()
    out = plot.phase_portrait(fp.steepest_descent_flow(slope(0.5)), (-4, 2), (-5, 1), ax=ax)
    assert out is ax
    assert plt.get_fignums() == before


# ----------------------------------------------------------------------- Filippov set


def test_filippov_set_on_a_tie_facet():
    obj = fp.Objective.quadratic(np.diag([1.0, 2.0]))
    system = fp.steepest_descent_flow(obj, "l1")
    ax = plot.filippov_set(system, [1.0, 0.5])
    (fset,) = plot.artists(ax, "filippov-set")
    np.testing.assert_allclose(_xy(fset), [[-1.0, 0.0], [0.0, -1.0]])
    arrows = plot.artists(ax, "one-sided:*")
    heads = sorted(tuple(a._posA_posB[1]) for a in arrows)
    assert heads == [(-1.0, 0.0), (0.0, -1.0)]
    (slide,) = plot.artists(ax, "sliding-velocity")
    assert isinstance(slide, FancyArrowPatch)
    # Keeping |∂1 f| = |∂2 f|: v = −(w, 1 − w) with w = 2(1 − w).
    np.testing.assert_allclose(slide._posA_posB[1], [-2 / 3, -1 / 3])
    (tangent,) = plot.artists(ax, "tangent:0,1")
    direction = np.diff(_xy(tangent), axis=0)[0]
    assert direction @ np.array([1.0, -2.0]) == pytest.approx(0.0, abs=1e-12)
    (ball,) = plot.artists(ax, "unit-ball")
    assert isinstance(ball, Polygon)
    assert not plot.artists(ax, "velocity-hull"), "all face vertices are realised"


def test_filippov_set_smaller_than_hull_lemma_4_2():
    obj = fp.Objective.quadratic(np.diag([0.0, 1.0]))
    ax = plot.filippov_set(fp.steepest_descent_flow(obj, "l1"), [0.0, 0.0])
    (fset,) = plot.artists(ax, "filippov-set")
    np.testing.assert_allclose(np.sort(_xy(fset)[:, 1]), [-1.0, 1.0])
    np.testing.assert_allclose(_xy(fset)[:, 0], 0.0)
    (hull,) = plot.artists(ax, "velocity-hull")
    assert len(hull.get_xy()) - 1 == 4  # the whole ℓ1 diamond (closed polygon)


def test_filippov_set_at_an_equilibrium_and_for_a_ball():
    system = fp.steepest_descent_flow(slope(0.5))
    ax = plot.filippov_set(system, [-1.5, -3.0])
    (fset,) = plot.artists(ax, "filippov-set")
    np.testing.assert_allclose(
        sorted(map(tuple, fset.get_xy()[:-1])), [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    )
    (rest,) = plot.artists(ax, "sliding-velocity")
    assert rest.get_marker() == "*"
    assert len(plot.artists(ax, "tangent:*")) == 2
    obj = fp.Objective.quadratic(np.diag([1.0, 2.0]))
    ax2 = plot.filippov_set(fp.steepest_descent_flow(obj, "l2"), [0.0, 0.0])
    (disc,) = plot.artists(ax2, "filippov-set")
    radii = np.linalg.norm(disc.get_xy(), axis=1)
    np.testing.assert_allclose(radii, 1.0)
    assert not plot.artists(ax2, "one-sided:*")


def test_filippov_set_needs_a_planar_state():
    with pytest.raises(ValueError, match="2-D"):
        plot.filippov_set(fp.steepest_descent_flow(slope(0.5)), [0.0, 0.0, 0.0])


# ----------------------------------------------------------------------- time series


def test_time_series_of_the_twisting_system():
    sol = fp.solve(fp.twisting_system(), [1.0, 0.0], (0.0, 6.0))
    ax = plot.time_series(sol, samples=200)
    lines = plot.artists(ax, "component:*")
    assert len(lines) == 2
    t, x1 = lines[0].get_xydata().T
    np.testing.assert_allclose(x1, sol(t)[:, 0], atol=1e-12)
    crossings = [ev for ev in sol.events if ev.kind == "crossing"]
    (mk,) = plot.artists(ax, "event:crossing")
    assert len(_xy(mk)) == 2 * len(crossings)
    np.testing.assert_allclose(_xy(mk)[0], [crossings[0].t, crossings[0].x[0]])


# ----------------------------------------------------------------------- convergence


@pytest.fixture(scope="module")
def runs():
    obj = separable_quadratic([1.0, 4.0, 9.0], [1.0, -1.0, 0.5])
    return obj, {
        "SignGD": schemes.SignGD(step="adaptive").run(obj, np.zeros(3), n_steps=40),
        "Signum + restart": schemes.RestartedSignum(step="adaptive").run(
            obj, np.zeros(3), n_steps=40
        ),
    }


def test_convergence_gap_and_distance(runs):
    obj, rs = runs
    fstar = obj.f(obj.minimizer)
    ax = plot.convergence(rs, objective=obj)
    for label, run in rs.items():
        (line,) = plot.artists(ax, f"run:{label}")
        k, y = line.get_xydata().T
        expected = run.diagnostics["f"] - fstar
        np.testing.assert_allclose(k, np.arange(len(expected)))
        mask = expected > 0
        np.testing.assert_allclose(y[mask], expected[mask])
        assert np.all(np.isnan(y[~mask]))
    assert ax.get_yscale() == "log"
    ax2 = plot.convergence(rs, objective=obj, metric="dist", against="time")
    (line,) = plot.artists(ax2, "run:SignGD")
    t, d = line.get_xydata().T
    run = rs["SignGD"]
    np.testing.assert_allclose(t, run.t)
    expected = np.sum((run.x - obj.minimizer) ** 2, axis=1)
    np.testing.assert_allclose(d[expected > 0], expected[expected > 0])
    assert "flow time" in ax2.get_xlabel()


def test_convergence_of_a_filippov_solution_and_arrays():
    obj = slope(0.5)
    sol = fp.solve(fp.steepest_descent_flow(obj), [0.6, 0.1], (0.0, 4.0))
    ax = plot.convergence({"flow": sol}, objective=obj, against="time", samples=100)
    (line,) = plot.artists(ax, "run:flow")
    t, y = line.get_xydata().T
    after = y[t > 3.1 + 1e-9]  # at rest at x* (up to rounding): f − f* is 0 or ~1e-31
    assert np.all(np.isnan(after) | (after < 1e-25))
    ok = ~np.isnan(y)
    np.testing.assert_allclose(y[ok], [obj.f(x) for x in sol(t[ok])])
    with pytest.raises(ValueError, match="against='time'"):
        plot.convergence(sol, objective=obj)
    ax3 = plot.convergence([1.0, 0.1, 0.01], metric="dist", labels=["values"])
    np.testing.assert_allclose(_xy(plot.artists(ax3, "run:values")[0])[:, 1], [1.0, 0.1, 0.01])


def test_convergence_without_f_star_uses_the_best_value(runs):
    _, rs = runs
    ax = plot.convergence(rs)  # f values come from the diagnostics
    assert "min f" in ax.get_ylabel()


def test_error_vs_step_reports_the_fitted_order():
    eta = np.array([0.2, 0.1, 0.05, 0.025])
    ax = plot.error_vs_step(steps=eta, errors=3.0 * eta**1.5, label="scheme")
    (fit,) = plot.artists(ax, "fit:scheme")
    assert fit.get_label() == "scheme: fitted order 1.50"
    h, e = fit.get_xydata().T
    np.testing.assert_allclose(e, 3.0 * h**1.5, rtol=1e-10)
    (pts,) = plot.artists(ax, "errors:scheme")
    np.testing.assert_allclose(_xy(pts), np.column_stack([eta, 3.0 * eta**1.5]))
    assert ax.get_xscale() == ax.get_yscale() == "log"


def test_error_vs_step_uses_a_study_and_its_order():
    from types import SimpleNamespace

    eta = np.array([0.1, 0.05, 0.025])
    study = SimpleNamespace(
        steps=eta, sup_errors=eta, final_errors=eta**2, order=0.97, final_order=2.0
    )
    ax = plot.error_vs_step({"SignGD": study})
    assert plot.artists(ax, "fit:SignGD")[0].get_label() == "SignGD: fitted order 0.97"
    ax2 = plot.error_vs_step(study, which="final", label="final")
    assert plot.artists(ax2, "fit:final")[0].get_label() == "final: fitted order 2.00"
    with pytest.raises(ValueError, match="which"):
        plot.error_vs_step(study, which="mean")


def test_active_face_normalized(runs):
    _, rs = runs
    ax = plot.active_face(rs)
    run = rs["SignGD"]
    (size,) = plot.artists(ax, "face-size:SignGD")
    np.testing.assert_allclose(size.get_xydata()[:, 1], run.diagnostics["face_size"] / 3)
    (curv,) = plot.artists(ax, "face-curvature:SignGD")
    total = run.metadata["smoothness"]["sum"]
    np.testing.assert_allclose(curv.get_xydata()[:, 1], run.diagnostics["face_curvature"] / total)
    assert size.get_linestyle() == "-" and curv.get_linestyle() == "--"
    ax2 = plot.active_face(run, quantity="size", normalize=False, labels=["raw"])
    assert _gids(ax2) == ["face-size:raw"]


def test_diagnostic_cumulative_mean():
    obj = slope(0.5)
    run = schemes.SignGD(step=0.1).run(obj, [0.6, 0.1], n_steps=60)
    ax = plot.diagnostic({"SignGD": run}, "flips", statistic="cumulative-mean")
    (line,) = plot.artists(ax, "diagnostic:flips:SignGD")
    flips = run.diagnostics["flips"].astype(float)
    np.testing.assert_allclose(line.get_xydata()[:, 1], np.cumsum(flips) / np.arange(1, 61))
    ax2 = plot.diagnostic(run, "flips", statistic="running-mean", window=5, labels=["r"])
    np.testing.assert_allclose(
        plot.artists(ax2, "diagnostic:*")[0].get_xydata()[:, 1],
        np.convolve(flips, np.ones(5) / 5, mode="valid"),
    )
    with pytest.raises(ValueError, match="no diagnostic"):
        plot.diagnostic(run, "nope")


def test_time_series_of_switching_functions_marks_only_the_event_indices():
    H = np.array([[1.0, 0.45, 0.3], [0.45, 1.0, 0.45], [0.3, 0.45, 1.0]])
    obj = fp.Objective.quadratic(H)
    sol = fp.solve(fp.steepest_descent_flow(obj), [3.0, -2.0, 1.0], (0.0, 4.0))
    ax = plot.time_series(sol, fun=obj.grad_batch, name="h", mark="indices")
    lines = plot.artists(ax, "component:*")
    assert [ln.get_label() for ln in lines] == ["$h_{1}(t)$", "$h_{2}(t)$", "$h_{3}(t)$"]
    t, h2 = lines[1].get_xydata().T
    np.testing.assert_allclose(h2, (sol(t) @ H.T)[:, 1], atol=1e-12)
    (entries,) = plot.artists(ax, "event:sliding-entry")
    expected = [
        (ev.t, (H @ ev.x)[i]) for ev in sol.events if ev.kind == "sliding-entry" for i in ev.indices
    ]
    np.testing.assert_allclose(_xy(entries), expected, atol=1e-12)
    np.testing.assert_allclose(_xy(entries)[:, 1], 0.0, atol=1e-12)  # h_i = 0 at entry
    ax2 = plot.time_series(sol, labels=["a", "b", "c"], legend=False)
    assert [ln.get_label() for ln in plot.artists(ax2, "component:*")] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="labels"):
        plot.time_series(sol, labels=["a"])


def test_active_face_of_a_solution_is_the_complement_of_the_sliding_set():
    obj = separable_quadratic([1.0, 2.0, 4.0], [0.5, -0.5, 0.25])
    sol = fp.solve(fp.steepest_descent_flow(obj), np.zeros(3), (0.0, 2.0))
    L = np.array([1.0, 2.0, 4.0])
    ax = plot.active_face({"flow": sol}, against="time", L=L)
    (size,) = plot.artists(ax, "face-size:flow")
    t, frac = size.get_xydata().T
    assert size.get_drawstyle() == "steps-post"
    segs = sol.segments
    np.testing.assert_allclose(t, [s.t0 for s in segs] + [segs[-1].t1])
    expected = [(3 - len(s.mode.free)) / 3 for s in segs]
    np.testing.assert_allclose(frac, [*expected, expected[-1]])
    # Separable: each coordinate reaches its minimizer at t = |c_i|, then slides.
    assert frac[0] == 1.0 and frac[-1] == 0.0
    (curv,) = plot.artists(ax, "face-curvature:flow")
    free_last = set(segs[1].mode.free)
    active = [i for i in range(3) if i not in free_last]
    assert curv.get_xydata()[1, 1] == pytest.approx(L[active].sum() / L.sum())
    with pytest.raises(ValueError, match="against='time'"):
        plot.active_face(sol)


def test_diagnostic_with_one_name_per_run():
    obj = slope(0.5)
    plain = schemes.SignGD(step=0.1).run(obj, [0.6, 0.1], n_steps=40)
    frozen = schemes.ProjectedSignGD(step=0.1, mode="freeze").run(obj, [0.6, 0.1], n_steps=40)
    ax = plot.diagnostic({"flips": plain, "freezes": frozen}, ["flips", "freezes"])
    assert _gids(ax, "diagnostic:*") == ["diagnostic:flips:flips", "diagnostic:freezes:freezes"]
    np.testing.assert_allclose(
        plot.artists(ax, "diagnostic:freezes:*")[0].get_xydata()[:, 1],
        frozen.diagnostics["freezes"],
    )
    with pytest.raises(ValueError, match="one per run"):
        plot.diagnostic({"a": plain, "b": frozen}, ["flips"])


# ------------------------------------------------------------ clear errors (issue 22)


@pytest.fixture(scope="module")
def planar():
    system = fp.steepest_descent_flow(slope(0.5), norm="linf")
    return system, fp.solve(system, [0.6, 0.1], (0.0, 4.0))


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"resolution": 0}, ValueError, "`resolution` must be an integer >= 3"),
        ({"resolution": 10.5}, TypeError, "`resolution` must be an integer"),
        ({"field_resolution": 0}, ValueError, "`field_resolution` must be an integer >= 2"),
        ({"trajectories": None}, TypeError, "`trajectories` must be an iterable"),
        ({"density": -1.0}, ValueError, "`density`"),
        ({"n_contours": 0}, ValueError, "`n_contours`"),
        ({"legend": "inside"}, ValueError, "`legend`"),
    ],
)
def test_phase_portrait_names_a_bad_argument(planar, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        plot.phase_portrait(planar[0], (-4, 2), (-5, 1), **kwargs)


def test_phase_portrait_refuses_a_single_solution_not_in_a_list(planar):
    with pytest.raises(TypeError, match="wrap it in a list"):
        plot.phase_portrait(planar[0], (-4, 2), (-5, 1), trajectories=planar[1])


def test_a_3d_solution_on_a_planar_portrait_is_refused(planar):
    obj = fp.Objective.quadratic(np.eye(3), np.ones(3))
    sol3 = fp.solve(fp.steepest_descent_flow(obj), [1.0, 2.0, 3.0], (0.0, 4.0))
    with pytest.raises(ValueError, match=r"`trajectories` must hold runs with a 2-D state.*n = 3"):
        plot.phase_portrait(planar[0], (-4, 2), (-5, 1), trajectories=[sol3], field=False)
    # the explicit way: choose the components
    ax = plot.phase_portrait(planar[0], (-4, 2), (-5, 1), field=False)
    plot.trajectory(sol3, ax=ax, dims=(0, 2))
    assert plot.artists(ax, "solution0:segment:*")


@pytest.mark.parametrize(
    ("xlim", "match"),
    [
        ((-1e160, 1e160), r"`xlim` must lie within"),
        ((1.0, 1.0 + 1e-15), r"`xlim` must be wider"),
        ((0.0, float("inf")), r"`xlim` must be finite"),
    ],
)
def test_windows_that_cannot_be_drawn_are_refused(planar, xlim, match):
    with pytest.raises(ValueError, match=match):
        plot.phase_portrait(planar[0], xlim, (-5, 1))
    with pytest.raises(ValueError, match=match):
        plot.switching_set(planar[0], xlim, (-5, 1))


def test_a_huge_window_within_the_limit_is_drawn(planar):
    ax = plot.phase_portrait(planar[0], (-1e99, 1e99), (-1e99, 1e99), field=False)
    assert ax.get_xlim() == pytest.approx((-1e99, 1e99), rel=1e-12)
    assert plot.artists(ax, "manifold:*")


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"dims": (0, 5)}, ValueError, r"`dims` must hold distinct indices in \[0, 2\)"),
        ({"dims": (0,)}, ValueError, "`dims` must hold 2 indices"),
        ({"dims": ("a", 1)}, TypeError, "`dims` must be an integer"),
        ({"samples": 0}, ValueError, "`samples` must be an integer >= 2"),
        ({"events": "yes"}, TypeError, "`events` must be True or False"),
    ],
)
def test_trajectory_names_a_bad_argument(planar, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        plot.trajectory(planar[1], **kwargs)


def test_time_series_components_out_of_range(planar):
    with pytest.raises(ValueError, match=r"`components` must hold distinct indices in \[0, 2\)"):
        plot.time_series(planar[1], components=[7])


def test_convergence_of_no_runs():
    with pytest.raises(ValueError, match="`runs` must hold at least one run"):
        plot.convergence([])
    with pytest.raises(TypeError, match="`runs` must be a run"):
        plot.convergence(None)


def test_phase_portrait_mapping_keys_are_labels(planar):
    with pytest.raises(TypeError, match="`trajectories` must map labels"):
        plot.phase_portrait(planar[0], (-4, 2), (-5, 1), trajectories={1: planar[1]}, field=False)


# ----------------------------------------------------------------------- the package


def test_every_public_name_is_importable_from_the_package_and_its_modules_are_small():
    from pathlib import Path

    import filippov.plot as fpplot
    from filippov import switching

    for name in fpplot.__all__:
        assert getattr(fpplot, name) is not None
    # the computations are the ones of filippov.switching (re-exported, not copied)
    assert fpplot.switching_set is switching.switching_set
    assert fpplot.SwitchingSet is switching.SwitchingSet
    assert fpplot.ManifoldPiece is switching.ManifoldPiece
    package = Path(fpplot.__file__).parent
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in package.glob("*.py")}
    assert len(sizes) >= 5 and max(sizes.values()) <= 720, sizes


# ----------------------------------------------------------------------- **kwargs to matplotlib


def test_trajectory_passes_keywords_to_its_lines_not_to_its_events():
    sol = fp.solve(fp.steepest_descent_flow(slope(0.5)), [0.6, 0.1], (0.0, 4.0))
    ax = plot.trajectory(sol, alpha=0.4, lw=5.0)
    segments = plot.artists(ax, "solution0:segment:*")
    assert segments and all(a.get_alpha() == pytest.approx(0.4) for a in segments)
    assert all(a.get_linewidth() == pytest.approx(5.0) for a in segments)
    # the kind's colour is kept where not overridden
    sliding = plot.artists(ax, "solution0:segment:*:sliding")[0]
    assert to_hex(sliding.get_color()) == to_hex(plot.SEGMENT_STYLES["sliding"]["color"])
    events = plot.artists(ax, "solution0:event:*")
    assert events and all(a.get_alpha() is None for a in events)
    path = plot.trajectory(np.array([[0.0, 0.0], [1.0, 1.0]]), color="red", linestyle=":")
    (line,) = plot.artists(path, "path0")
    assert to_hex(line.get_color()) == to_hex("red") and line.get_linestyle() == ":"
    its = plot.trajectory(schemes.SignGD(step=0.1).run(slope(0.5), [0.6, 0.1], n_steps=5), ms=9)
    assert plot.artists(its, "iterates0")[0].get_markersize() == pytest.approx(9.0)


def test_phase_portrait_passes_keywords_to_the_streamplot():
    system = fp.steepest_descent_flow(slope(0.5), norm="linf")
    ax = plot.phase_portrait(
        system, (-4, 2), (-5, 1), classify=False, color="#112233", linewidth=2.5
    )
    (field,) = plot.artists(ax, "field")
    assert to_hex(field.get_colors()[0]) == "#112233"
    assert np.all(np.asarray(field.get_linewidths()) == pytest.approx(2.5))
    with pytest.raises(TypeError, match="field=False"):
        plot.phase_portrait(system, (-4, 2), (-5, 1), field=False, color="red")


def test_drawing_functions_pass_keywords_to_the_artist_they_document(runs):
    obj, rs = runs
    ax = plot.convergence(rs, objective=obj, linewidth=4.0, marker="x")
    curves = plot.artists(ax, "run:*")
    assert len(curves) == 2
    assert all(c.get_linewidth() == pytest.approx(4.0) and c.get_marker() == "x" for c in curves)
    ax = plot.error_vs_step(steps=[0.1, 0.05], errors=[0.2, 0.1], label="a", markersize=11)
    assert plot.artists(ax, "errors:a")[0].get_markersize() == pytest.approx(11.0)
    assert plot.artists(ax, "fit:a")[0].get_markersize() != pytest.approx(11.0)
    ax = plot.diagnostic(rs, "flips", alpha=0.3)
    assert all(a.get_alpha() == pytest.approx(0.3) for a in plot.artists(ax, "diagnostic:*"))
    ax = plot.active_face(rs, quantity="size", lw=3.0)
    assert all(a.get_linewidth() == pytest.approx(3.0) for a in plot.artists(ax, "face-size:*"))
    ax = plot.face_ablation(obj, rs, 0.1, relative=True, linestyle=":")
    assert all(a.get_linestyle() == ":" for a in plot.artists(ax, "face-ablation:*"))
    sol = fp.solve(fp.twisting_system(), [1.0, 0.0], (0.0, 3.0))
    ax = plot.time_series(sol, linewidth=3.5)
    assert all(a.get_linewidth() == pytest.approx(3.5) for a in plot.artists(ax, "component:*"))


def test_filippov_set_passes_keywords_to_its_polygon():
    flow = fp.steepest_descent_flow(fp.Objective.quadratic(np.diag([1.0, 2.0])), "linf")
    ax = plot.filippov_set(flow, [0.0, 0.0], hatch="//", facecolor="#FFEEDD")
    (patch,) = plot.artists(ax, "filippov-set")
    assert isinstance(patch, Polygon)
    assert patch.get_hatch() == "//" and to_hex(patch.get_facecolor()) == "#ffeedd"


def test_maps_and_piecewise_portraits_pass_keywords_on():
    import pandas as pd

    X, Y = np.meshgrid([0.0, 1.0, 2.0], [0.0, 1.0])
    table = pd.DataFrame(
        {"x0_0": X.ravel(), "x0_1": Y.ravel(), "t_stationary": X.ravel() + Y.ravel()}
    )
    ax = plot.arrival_time_map(table, vmin=-1.0, vmax=10.0, alpha=0.5)
    (mesh,) = plot.artists(ax, "map:t_stationary")
    assert (mesh.norm.vmin, mesh.norm.vmax, mesh.get_alpha()) == (-1.0, 10.0, 0.5)
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(2, 3), X + Y)
    net = fp.gene_network([[(2.0, [(0, "-")])], [(1.0, [])]], [1.0, 1.0], [(0, 1.0)])
    ax = plot.piecewise_portrait(net, (0, 2), (0, 2), resolution=20, color="#123456")
    (field,) = plot.artists(ax, "field")
    assert to_hex(field.get_colors()[0]) == "#123456"


def test_time_series_names_a_fun_of_one_state_instead_of_the_rows() -> None:
    # (stranger review) fun=lambda x: x[0]**2 maps a single state: numpy said "cannot
    # reshape array of size 2 into shape (402,newaxis)"
    sol = fp.solve(fp.steepest_descent_flow(fp.Objective.quadratic(np.eye(2))), [1.0, 2.0], (0, 3))
    for fun in (lambda x: x[0] ** 2, lambda x: np.ones(5), lambda x: 1.0):
        with pytest.raises(ValueError, match=r"`fun` must map the states, an array of shape"):
            plot.time_series(sol, fun=fun)
    ax = plot.time_series(sol, fun=lambda X: X[:, 0] ** 2)  # one value per time: fine
    (line,) = plot.artists(ax, "component:*")
    t, y = line.get_xydata().T
    np.testing.assert_allclose(y, sol(t)[:, 0] ** 2, atol=1e-12)


def test_a_phase_portrait_of_a_tiny_window_leaks_no_overflow_warning() -> None:
    # (stranger review) streamplot squares speeds over the grid spacing: inf at width 1e-300
    system = fp.steepest_descent_flow(slope(0.5), "linf")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot.phase_portrait(system, xlim=(0.0, 1e-300), ylim=(0.0, 1e-300))
    assert plot.artists(ax, "field")
