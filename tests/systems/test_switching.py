"""Tests of :mod:`filippov.switching` and :mod:`filippov.grid_maps`: the computations behind
the phase portraits, checked against values worked out by hand from the definitions.

A switching surface with normal ``n`` (pointing to its ``+`` side) separates the fields
``F−`` and ``F+``; with ``a± = n · F±`` it is *crossed* where ``a+`` and ``a−`` have the
same sign, *attractive sliding* where both fields point towards it (``a+ < 0 < a−``) and
*repulsive* where both point away (``a− < 0 < a+``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import filippov as fp
from filippov.grid_maps import grid_map
from filippov.objectives import slope
from filippov.switching import (
    _resample_path,
    classify_points,
    objective_values,
    piecewise_regions,
    piecewise_switching_set,
    selector_field,
    switching_set,
    window_grid,
)


def _kind_by_hand(a_plus: float, a_minus: float) -> str:
    if a_plus * a_minus > 0:
        return "crossing"
    return "sliding" if a_plus < 0 < a_minus else "repulsive"


def _linear_two_field_system(A_minus, b_minus, A_plus, b_plus, normal, offset):
    """``x' = A± x + b±`` on the two sides of the line ``normal · x = offset``."""
    normal = np.asarray(normal, dtype=float)
    return fp.piecewise_system(
        lambda x: A_minus @ x + b_minus,
        lambda x: A_plus @ x + b_plus,
        lambda x: float(normal @ x - offset),
        grad_h=lambda x: normal,
    )


# ------------------------------------------------------------------------------ classification


def test_classify_points_of_two_linear_fields_matches_the_definitions():
    rng = np.random.default_rng(7)
    A_minus, b_minus = rng.normal(size=(2, 2)), rng.normal(size=2)
    A_plus, b_plus = rng.normal(size=(2, 2)), rng.normal(size=2)
    normal, offset = np.array([0.6, -0.8]), 0.3
    system = _linear_two_field_system(A_minus, b_minus, A_plus, b_plus, normal, offset)
    # points on the line normal · x = offset
    tangent = np.array([0.8, 0.6])
    points = offset * normal + np.linspace(-6.0, 6.0, 41)[:, None] * tangent
    got = classify_points(system, points, 0)
    a_plus = np.array([normal @ (A_plus @ p + b_plus) for p in points])
    a_minus = np.array([normal @ (A_minus @ p + b_minus) for p in points])
    np.testing.assert_allclose(got.a_plus, a_plus, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.a_minus, a_minus, rtol=1e-12, atol=1e-12)
    assert got.kind == tuple(_kind_by_hand(p, m) for p, m in zip(a_plus, a_minus, strict=True))
    # the line is long enough for the kinds to change along it
    assert len(set(got.kind)) >= 2


@pytest.mark.parametrize(
    ("F_minus", "F_plus", "kind"),
    [
        ((0.0, 1.0), (0.0, 2.0), "crossing"),  # both upward
        ((0.0, -1.0), (1.0, -0.5), "crossing"),  # both downward
        ((1.0, 1.0), (1.0, -1.0), "sliding"),  # towards the line from both sides
        ((0.0, -1.0), (0.0, 1.0), "repulsive"),  # away from it on both sides
    ],
)
def test_classify_points_by_hand_for_constant_fields(F_minus, F_plus, kind):
    system = fp.piecewise_system(
        lambda x: np.array(F_minus),
        lambda x: np.array(F_plus),
        lambda x: x[1],
        grad_h=lambda x: np.array([0.0, 1.0]),
    )
    got = classify_points(system, [[-1.0, 0.0], [0.0, 0.0], [3.0, 0.0]], 0)
    assert got.kind == (kind,) * 3
    np.testing.assert_allclose(got.a_plus, F_plus[1])
    np.testing.assert_allclose(got.a_minus, F_minus[1])


@pytest.mark.parametrize("a", [0.5, 2.0])
def test_the_slope_valley_classified_as_worked_out_by_hand(a):
    """Sign flow of f = ½(x1 − a x2)² + ½(x2 + 3)²: on the valley h0 = x1 − a x2 = 0 the
    fields are −(±1, s) with s = sign(x2 + 3), the normal is (1, −a), so
    a± = ∓1 + a s: sliding for |a| < 1, crossing for |a| > 1."""
    flow = fp.steepest_descent_flow(slope(a))
    x2 = np.array([-5.0, -4.0, -2.5, -1.0, 0.5])
    points = np.column_stack([a * x2, x2])
    got = classify_points(flow, points, 0)
    s = np.sign(x2 + 3.0)
    np.testing.assert_allclose(got.a_plus, -1.0 + a * s, rtol=1e-12)
    np.testing.assert_allclose(got.a_minus, 1.0 + a * s, rtol=1e-12)
    assert set(got.kind) == {"sliding" if a < 1 else "crossing"}


def test_classify_points_of_a_piecewise_system_matches_the_region_fields():
    """Gene network x' = k(x) − x with one threshold x1 = 1: a± = ∂c/∂x · f_{±}."""
    net = fp.gene_network([[(2.0, [(0, "-")])], [(1.0, [])]], [1.0, 1.0], [(0, 1.0)])
    points = np.array([[1.0, 0.2], [1.0, 1.5]])
    got = classify_points(net, points, 0)
    for p, a_plus, a_minus in zip(points, got.a_plus, got.a_minus, strict=True):
        grad = net.jacobian(p)[0]
        assert a_plus == pytest.approx(grad @ net.field(p, (1,)))
        assert a_minus == pytest.approx(grad @ net.field(p, (-1,)))
    # x1' = 2·[x1 < 1] − x1: −1 above the threshold, +1 below: both towards it
    np.testing.assert_allclose(got.a_plus, -1.0)
    np.testing.assert_allclose(got.a_minus, 1.0)
    assert got.kind == ("sliding", "sliding")


def test_classify_points_rejects_bad_arguments():
    system = fp.twisting_system()
    with pytest.raises(TypeError, match="system"):
        classify_points(object(), [[0.0, 0.0]], 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="points"):
        classify_points(system, [0.0, 0.0], 0)
    with pytest.raises(TypeError, match="index"):
        classify_points(system, [[0.0, 1.0]], "0")  # type: ignore[arg-type]
    net = fp.gene_network([[(2.0, [(0, "-")])], [(1.0, [])]], [1.0, 1.0], [(0, 1.0)])
    with pytest.raises(ValueError, match="index"):
        classify_points(net, [[1.0, 0.0]], 3)


# ------------------------------------------------------------------------------ sampling


def test_window_grid_orders_x_fastest():
    xs, ys, P = window_grid((0.0, 2.0), (-1.0, 1.0), 5)
    np.testing.assert_allclose(xs, np.linspace(0.0, 2.0, 5))
    np.testing.assert_allclose(ys, np.linspace(-1.0, 1.0, 5))
    grid = P.reshape(5, 5, 2)
    np.testing.assert_allclose(grid[2, :, 0], xs)
    np.testing.assert_allclose(grid[:, 3, 1], ys)


def test_selector_field_of_a_sign_flow_is_minus_the_sign_of_the_gradient():
    obj = fp.Objective.quadratic(np.array([[2.0, 0.5], [0.5, 1.0]]), b=np.array([1.0, -2.0]))
    flow = fp.steepest_descent_flow(obj, "linf")
    _, _, P = window_grid((-3.0, 3.0), (-2.0, 4.0), 9)
    h, v = selector_field(flow, P)
    grads = np.array([obj.grad(p) for p in P])
    np.testing.assert_allclose(h, grads, rtol=1e-12, atol=1e-12)
    off = np.all(np.abs(grads) > 1e-12, axis=1)  # away from the manifolds
    np.testing.assert_array_equal(v[off], -np.sign(grads[off]))


def test_selector_field_without_batching_takes_the_side_of_each_point():
    """A two-field system evaluated point by point: F− below x2 = 0, F+ above."""
    system = fp.piecewise_system(
        lambda x: np.array([1.0, x[0]]),
        lambda x: np.array([-x[1], 2.0]),
        lambda x: x[1],
        grad_h=lambda x: np.array([0.0, 1.0]),
    )
    P = np.array([[0.5, -1.0], [-2.0, -0.25], [1.0, 3.0], [0.0, 0.5]])
    h, v = selector_field(system, P)
    np.testing.assert_allclose(h[:, 0], P[:, 1])
    expected = [[1.0, 0.5], [1.0, -2.0], [-3.0, 2.0], [-0.5, 2.0]]
    np.testing.assert_allclose(v, expected, rtol=1e-12, atol=1e-12)


def test_selector_field_of_a_piecewise_system_is_its_region_field():
    net = fp.gene_network([[(2.0, [(0, "-")])], [(1.0, [])]], [1.0, 1.0], [(0, 1.0)])
    P = np.array([[0.5, 0.5], [1.5, 0.5]])
    c, v = selector_field(net, P)
    np.testing.assert_allclose(c[:, 0], P[:, 0] - 1.0)
    # x1' = 2·[x1 < 1] − x1, x2' = 1 − x2
    np.testing.assert_allclose(v, [[1.5, 0.5], [-1.5, 0.5]])


def test_objective_values_match_f_point_by_point():
    rng = np.random.default_rng(3)
    P = rng.normal(size=(20, 2))
    quad = fp.Objective.quadratic(np.array([[3.0, 1.0], [1.0, 2.0]]), b=np.array([0.5, -1.0]))
    for obj in (quad, slope(0.5)):
        expected = np.array([obj.f(p) for p in P])
        np.testing.assert_allclose(objective_values(obj, P), expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(TypeError, match="objective"):
        objective_values(lambda x: 0.0, P)  # type: ignore[arg-type]


def test_resample_path_survives_huge_coordinates():
    xy = np.array([[-1e160, 0.0], [1e160, 0.0]])
    out = _resample_path(xy, 1e158)
    assert np.all(np.isfinite(out)) and out[0, 0] == -1e160 and out[-1, 0] == 1e160
    # consecutive points at most the spacing apart (up to rounding)
    assert np.max(np.diff(out[:, 0])) <= 1e158 * (1 + 1e-9)


# ------------------------------------------------------------------------------ switching sets


def test_switching_set_pieces_lie_on_their_manifold_and_have_the_kind_of_their_points():
    flow = fp.steepest_descent_flow(slope(2.0))
    sw = switching_set(flow, (-8.0, 2.0), (-5.0, 1.0))
    assert {(p.index, p.kind) for p in sw.pieces} == {((0,), "crossing"), ((1,), "sliding")}
    for piece in sw.pieces:
        h, _ = selector_field(flow, piece.xy)
        (i,) = piece.index
        np.testing.assert_allclose(h[:, i], 0.0, atol=1e-9)  # h is affine: exact contours
        mid = 0.5 * (piece.xy[1:] + piece.xy[:-1])
        assert set(classify_points(flow, mid, i).kind) == {piece.kind}


def test_switching_set_locates_the_fold_of_a_two_field_system():
    """x' = (1, 1) below x2 = 0, (1, x1) above: a+ = x1, a− = 1, so the line slides for
    x1 < 0, is crossed for x1 > 0, and has its fold at the origin."""
    system = fp.piecewise_system(
        lambda x: np.array([1.0, 1.0]),
        lambda x: np.array([1.0, x[0]]),
        lambda x: x[1],
        grad_h=lambda x: np.array([0.0, 1.0]),
    )
    sw = switching_set(system, (-2.0, 3.0), (-1.0, 1.0), resolution=51)
    kinds = {p.kind: p for p in sw.pieces}
    assert set(kinds) == {"sliding", "crossing"}
    assert kinds["sliding"].xy[:, 0].min() == pytest.approx(-2.0)
    assert kinds["sliding"].xy[:, 0].max() == pytest.approx(0.0, abs=1e-9)
    assert kinds["crossing"].xy[:, 0].min() == pytest.approx(0.0, abs=1e-9)
    assert len(sw.folds) == 1
    index, point = sw.folds[0]
    assert index == (0,)
    np.testing.assert_allclose(point, [0.0, 0.0], atol=1e-9)


def test_switching_set_of_an_l2_flow_is_empty():
    flow = fp.steepest_descent_flow(slope(0.5), "l2")
    sw = switching_set(flow, (-4.0, 2.0), (-5.0, 1.0), resolution=21)
    assert sw.pieces == () and sw.folds == ()


def test_piecewise_regions_code_the_signs_of_the_switching_functions():
    net = fp.gene_network(
        [[(2.0, [(0, "-"), (1, "-")])], [(3.0, [(0, "+")])]], [1.0, 1.0], [(0, 1.0), (1, 1.0)]
    )
    xs, ys, c, code = piecewise_regions(net, (0.0, 2.5), (0.0, 3.0), resolution=11)
    X, Y = np.meshgrid(xs, ys)
    np.testing.assert_allclose(c[:, :, 0], X - 1.0, atol=1e-12)
    np.testing.assert_allclose(c[:, :, 1], Y - 1.0, atol=1e-12)
    np.testing.assert_array_equal(code, (X > 1.0) * 1 + (Y > 1.0) * 2)


def test_piecewise_switching_set_pieces_lie_on_the_thresholds_with_the_kind_of_their_points():
    net = fp.gene_network(
        [[(2.0, [(0, "-"), (1, "-")])], [(3.0, [(0, "+")])]], [1.0, 1.0], [(0, 1.0), (1, 1.0)]
    )
    sw = piecewise_switching_set(net, (0.0, 2.5), (0.0, 3.0), resolution=60)
    assert sw.folds == ()
    assert {(p.index, p.kind) for p in sw.pieces} == {
        ((0,), "crossing"),
        ((0,), "sliding"),
        ((1,), "crossing"),
    }
    for piece in sw.pieces:
        (i,) = piece.index
        np.testing.assert_allclose(piece.xy[:, i], 1.0, atol=1e-9)  # the threshold x_i = 1
        # all but the last point (shared with the next piece) have the piece's kind
        assert set(classify_points(net, piece.xy[:-1], i).kind) == {piece.kind}


def test_piecewise_functions_need_a_planar_piecewise_system():
    with pytest.raises(TypeError, match="PiecewiseSystem"):
        piecewise_regions(fp.twisting_system(), (0, 1), (0, 1))  # type: ignore[arg-type]
    net3 = fp.gene_network(
        [[(2.0, [(0, "-")])], [(1.0, [])], [(1.0, [])]], [1.0, 1.0, 1.0], [(0, 1.0)]
    )
    with pytest.raises(ValueError, match="2-D"):
        piecewise_switching_set(net3, (0, 1), (0, 1))


# ------------------------------------------------------------------------------ grid maps


def test_grid_map_puts_each_row_at_its_grid_point():
    rng = np.random.default_rng(0)
    xs, ys = np.array([-1.0, 0.0, 2.0]), np.array([0.5, 1.5])
    X, Y = np.meshgrid(xs, ys)
    values = 10.0 * X + Y
    table = pd.DataFrame({"x0_0": X.ravel(), "x0_1": Y.ravel(), "t": values.ravel()})
    table.loc[4, "t"] = None  # a run that never arrived
    table = table.iloc[rng.permutation(len(table))]
    gx, gy, got = grid_map(table, "t")
    np.testing.assert_array_equal(gx, xs)
    np.testing.assert_array_equal(gy, ys)
    expected = values.copy()
    expected.ravel()[4] = np.nan
    np.testing.assert_array_equal(got, expected)


def test_grid_map_refuses_what_is_not_a_grid():
    table = pd.DataFrame({"x0_0": [0.0, 1.0, 0.0], "x0_1": [0.0, 0.0, 1.0], "t": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="one run per point"):
        grid_map(table, "t")
    full = pd.DataFrame(
        {"x0_0": [0.0, 1.0, 0.0, 1.0], "x0_1": [0.0, 0.0, 1.0, 1.0], "msg": ["a", "b", "c", "d"]}
    )
    with pytest.raises(ValueError, match="numeric"):
        grid_map(full, "msg")
    with pytest.raises(ValueError, match="column"):
        grid_map(full, "nope")
    with pytest.raises(ValueError, match="x0_1"):
        grid_map(full.drop(columns="x0_1"), "msg")


def test_classify_points_on_an_linf_tie_surface_matches_the_vertex_fields():
    """ℓ∞ flow of f = ½(x1² + 4 x2²): on the tie |∂1 f| = |∂2 f| with x1, x2 > 0, the
    fields of the two vertices are −e1 and −e2 and s = |h_0| − |h_1| = x1 − 4 x2 has
    normal (1, −4): a+ = (1, −4)·(−e1) = −1 and a− = (1, −4)·(−e2) = 4, both towards it."""
    flow = fp.steepest_descent_flow(fp.Objective.quadratic(np.diag([1.0, 4.0])), "l1")
    points = np.array([[4.0, 1.0], [2.0, 0.5]])
    for index in ((0, 1), np.array([0, 1])):
        got = classify_points(flow, points, index)
        assert got.kind == ("sliding", "sliding")
        np.testing.assert_allclose(got.a_plus, -1.0)
        np.testing.assert_allclose(got.a_minus, 4.0)


@pytest.mark.parametrize(
    ("xlim", "ylim"),
    [((-1e6, 1e6), (-3.5, -2.5)), ((-1.6, -1.4), (-5e5, 5e5)), ((0.0, 1e-7), (-5.0, 1.0))],
)
def test_manifolds_across_the_short_side_of_an_elongated_window_are_drawn(xlim, ylim) -> None:
    # (stranger review) pieces shorter than 1e-6 of the diagonal were dropped as junction
    # fragments: a whole manifold across the short side of a 1e6-to-1 window vanished.
    # slope(0.5): sliding on ∂₁f = 0 and on ∂₂f = 0, two lines that cross each window.
    system = fp.steepest_descent_flow(slope(0.5), "linf")
    sw = switching_set(system, xlim, ylim, resolution=101)
    assert sorted({(p.index, p.kind) for p in sw.pieces}) == [((0,), "sliding"), ((1,), "sliding")]


def test_a_grid_map_refuses_a_run_given_twice_for_one_missing() -> None:
    # (stranger review) four runs over 2 x 2 coordinates passed the count: (0, 0) twice,
    # the second overwriting the first, and (1, 1) drawn as never arrived
    table = pd.DataFrame(
        {"x0_0": [0.0, 1.0, 0.0, 0.0], "x0_1": [0.0, 0.0, 1.0, 0.0], "t": [1.0, 2.0, 3.0, 99.0]}
    )
    with pytest.raises(ValueError, match=r"4 runs at 3 distinct points over 2 x 2"):
        grid_map(table, "t")


@pytest.mark.parametrize("scale", [1.0, 1e4, 1e9])
def test_a_piecewise_surfaces_kind_does_not_depend_on_the_scale_of_its_function(scale) -> None:
    # (stranger review) the tangency tolerance counted ∇c twice: c = 1e9·y made every
    # sliding point a tangency, and at 1e4 a side 1e-5 weaker than the other was one
    for slow in (1.0, 1e-6):
        system = fp.stewart_system(
            lambda x, s, slow=slow: np.array([1.0, -slow if s[0] > 0 else 1.0]),
            lambda x: np.array([scale * x[1]]),
            jac=lambda x: np.array([[0.0, scale]]),
            n=2,
        )
        kind, a_plus, a_minus = system.classify(np.array([0.3, 0.0]), 0)
        assert kind == "sliding", (scale, slow, a_plus, a_minus)
        assert a_plus == pytest.approx(-slow * scale) and a_minus == pytest.approx(scale)


def test_coincident_switching_surfaces_are_classified_as_the_flow_moves() -> None:
    # (stranger review) f = ½(x₁ + x₂)²: h₀ = h₁ = x₁ + x₂. Off the line both relays take
    # the sign of x₁ + x₂, so a± = ∓2 (attracting); with the other relay held at its VI
    # value on the line, both surfaces were called tangencies.
    system = fp.steepest_descent_flow(fp.Objective.quadratic(np.ones((2, 2))), "linf")
    for i in (0, 1):
        c = system.classify([0.5, -0.5], i)
        assert (c.kind, c.a_plus, c.a_minus) == ("sliding", -2.0, 2.0)
    sw = switching_set(system, (-1.0, 1.0), (-1.0, 1.0), resolution=41)
    assert {p.kind for p in sw.pieces} == {"sliding"} and not sw.folds


@pytest.mark.parametrize(("xlim", "ylim"), [((1.0, 2.0), (1.0, 2.0)), ((0.0, 1.0), (0.0, 1.0))])
def test_a_manifold_on_the_windows_edge_is_drawn_on_either_side(xlim, ylim) -> None:
    # (stranger review) f = ½(x₁ − 1)² + (x₂ − 1)²: its sliding lines x₁ = 1 and x₂ = 1
    # on the left and bottom edges were drawn, on the right and top edges not (contourpy
    # counts a value equal to the level as below it).
    system = fp.steepest_descent_flow(fp.Objective.quadratic(np.diag([1.0, 2.0]), [-1.0, -2.0]))
    sw = switching_set(system, xlim, ylim, resolution=21)
    assert sorted({(p.index, p.kind) for p in sw.pieces}) == [((0,), "sliding"), ((1,), "sliding")]
    for p in sw.pieces:  # (each along its edge, from corner to corner)
        i = p.index[0]
        np.testing.assert_allclose(p.xy[:, i], 1.0, atol=1e-12)
        assert np.ptp(p.xy[:, 1 - i]) == pytest.approx(1.0)


@pytest.mark.parametrize("drift", [(1.0, 0.3), (0.3, -1.0)])
def test_a_manifold_tangential_all_along_has_no_fold(drift: tuple[float, float]) -> None:
    # (review R21) x' = d − sign(x): on x_i = 0, a+ = d_i − 1 and a− = d_i + 1. With
    # |d_i| = 1 one of them is 0 everywhere: the manifold is tangential all along, its kind
    # changes nowhere, and a fold (where the kind changes) has no place on it. A fold was
    # marked at the first point of the traced line, on the window's edge. The other
    # manifold (|d_j| < 1) is sliding throughout.
    system = fp.FilippovSystem.affine(drift, np.eye(2), np.eye(2), [0.0, 0.0], "l1")
    i = 0 if abs(drift[0]) == 1.0 else 1
    sw = switching_set(system, (-2.0, 2.0), (-2.0, 2.0), resolution=41)
    assert {(p.index, p.kind) for p in sw.pieces} == {((i,), "tangency"), ((1 - i,), "sliding")}
    assert sw.folds == ()
