"""Filippov systems at a single state (issue 4 acceptance): selector, velocity and Filippov
sets, classification of switching surfaces, and input validation."""

from __future__ import annotations

from itertools import product

import numpy as np
import problems as P
import pytest

fp = pytest.importorskip("filippov")
pytest.importorskip("filippov.systems")


def _rows(a):
    """Set of rows (rounded) for order-free comparison of vertex lists."""
    return {tuple(np.round(np.asarray(r, float), 12) + 0.0) for r in np.atleast_2d(a)}


def _affine_dim(V):
    V = np.atleast_2d(np.asarray(V, float))
    if len(V) <= 1:
        return 0
    return int(np.linalg.matrix_rank(V[1:] - V[0], tol=1e-10))


# ---------------------------------------------------------------------------------------
# Filippov sets
# ---------------------------------------------------------------------------------------
def test_lemma_4_2_vertical_segment():
    """Seed paper 2, Lemma 4.2: f = ½x2², greedy (ℓ1-constrained) flow at the origin.

    Near 0, ∇f = (0, x2): for x2 ≠ 0 only index 2 is in the argmax, so the Filippov set is
    the segment {(0, s) : |s| ≤ 1}; the hull of the active directions (the ℓ1 diamond) is
    strictly larger.
    """
    obj = fp.Objective.quadratic(np.diag([0.0, 1.0]))
    sys = fp.steepest_descent_flow(obj, norm="l1")
    fil = sys.filippov_set(np.zeros(2))
    assert _rows(fil.vertices) == {(0.0, 1.0), (0.0, -1.0)}
    assert _affine_dim(fil.vertices) == 1
    vel = sys.velocity_set(np.zeros(2))
    assert _rows(vel.vertices) == {(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)}
    # away from the origin on the x1 axis the same holds (index 1 never joins the argmax)
    assert _rows(sys.filippov_set([3.0, 0.0]).vertices) == {(0.0, 1.0), (0.0, -1.0)}


def test_greedy_filippov_set_full_tie_when_attainable():
    """Remark after Lemma 4.2: with non-zero tied partials the Filippov set is the hull."""
    obj = fp.Objective.quadratic(np.diag([1.0, 2.0]))
    sys = fp.steepest_descent_flow(obj, norm="l1")
    x = np.array([2.0, -1.0])  # ∇f = (2, −2): tie with both partials non-zero
    fil = sys.filippov_set(x)
    assert _rows(fil.vertices) == {(-1.0, 0.0), (0.0, 1.0)}


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
def test_sign_flow_filippov_set_is_k_box(k):
    """ℓ∞ sign flow: k zero partials give a k-dimensional box with 2^k vertices."""
    rng = np.random.default_rng(10 + k)
    n = 4
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    H = Q @ np.diag(rng.uniform(0.5, 3.0, n)) @ Q.T
    H = 0.5 * (H + H.T)
    g = rng.uniform(0.5, 2.0, n) * rng.choice([-1.0, 1.0], n)
    zero = rng.choice(n, size=k, replace=False)
    g[zero] = 0.0
    x = rng.normal(size=n)
    b = g - H @ x  # so that ∇f(x) = Hx + b = g exactly (up to rounding)
    sys = fp.steepest_descent_flow(fp.Objective.quadratic(H, b), norm="linf")
    fil = sys.filippov_set(x)
    brute = []
    for signs in product((-1.0, 1.0), repeat=k):
        v = -np.sign(g)
        v[zero] = signs
        brute.append(v)
    assert len(fil.vertices) == 2**k
    assert _rows(fil.vertices) == _rows(brute)
    assert _affine_dim(fil.vertices) == k


def test_l2_filippov_set_at_stationary_point_is_ball():
    obj = fp.Objective.quadratic(np.eye(2), [-1.0, 2.0])
    sys = fp.steepest_descent_flow(obj, norm="l2")
    fil = sys.filippov_set([1.0, -2.0])
    radii = np.linalg.norm(fil.vertices, axis=1)
    np.testing.assert_allclose(radii, 1.0, atol=1e-12)
    assert _affine_dim(fil.vertices) == 2


# ---------------------------------------------------------------------------------------
# Selector
# ---------------------------------------------------------------------------------------
def test_selectors_of_the_three_flows():
    rng = np.random.default_rng(3)
    H = np.diag([1.0, 2.0, 3.0])
    b = rng.normal(size=3)
    obj = fp.Objective.quadratic(H, b)
    for _ in range(20):
        x = rng.normal(size=3)
        g = H @ x + b
        np.testing.assert_array_equal(
            fp.steepest_descent_flow(obj, "linf").selector(x), -np.sign(g)
        )
        i = int(np.argmax(np.abs(g)))
        want = np.zeros(3)
        want[i] = -np.sign(g[i])
        np.testing.assert_array_equal(fp.steepest_descent_flow(obj, "l1").selector(x), want)
        np.testing.assert_allclose(
            fp.steepest_descent_flow(obj, "l2").selector(x), -g / np.linalg.norm(g), atol=1e-15
        )


def test_piecewise_system_fields_and_lure_form():
    """x' = F− for h < 0, F+ for h > 0; on h = 0 the Filippov set is the segment [F−, F+]."""
    Fm = lambda x: np.array([1.0, 2.0 + x[0]])  # noqa: E731
    Fp = lambda x: np.array([-1.0, x[1] - 1.0])  # noqa: E731
    h = lambda x: x[0] + x[1] ** 2  # noqa: E731
    sys = fp.piecewise_system(Fm, Fp, h, grad_h=lambda x: np.array([1.0, 2 * x[1]]))
    for x in ([1.0, 0.5], [-2.0, 0.3], [0.2, -1.0], [-0.5, 0.1]):
        x = np.asarray(x)
        want = Fp(x) if h(x) > 0 else Fm(x)
        np.testing.assert_allclose(sys.selector(x), want, atol=1e-15)
    x = np.array([-0.25, 0.5])  # h = 0
    assert _rows(sys.filippov_set(x).vertices) == _rows([Fm(x), Fp(x)])


def test_library_constructors_match_hand_built_systems():
    rng = np.random.default_rng(5)
    coul = fp.coulomb_oscillator(mu=0.1)
    mine = P.coulomb_problem(0.1, 1.0, 0.0, 1.0).make_system()
    twist = fp.twisting_system()
    mine_t = P.twisting_problem().make_system()
    for _ in range(20):
        x = rng.normal(size=2)
        np.testing.assert_allclose(coul.selector(x), mine.selector(x), atol=1e-15)
        np.testing.assert_allclose(twist.selector(x), mine_t.selector(x), atol=1e-15)


# ---------------------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "x", "kind", "a_plus", "a_minus"),
    [
        # a = 0.5 on x1 = a x2 at (−0.5, −1): a± = −1 + a, 1 + a with ∂2 f = 2 > 0
        (0.5, [-0.5, -1.0], "sliding", -0.5, 1.5),
        # a = 2 at (−1/3, −1/6): ∂2 f = 17/6 > 0, a± = −1 + 2, 1 + 2
        (2.0, [-1 / 3, -1 / 6], "crossing", 1.0, 3.0),
    ],
)
def test_classify_slope_example(a, x, kind, a_plus, a_minus):
    H, b, c = P.slope_hessian(a)
    sys = fp.steepest_descent_flow(fp.Objective.quadratic(H, b, c), "linf")
    cls = sys.classify(np.array(x), 0)
    assert cls.kind == kind
    assert cls.a_plus == pytest.approx(a_plus, abs=1e-12)
    assert cls.a_minus == pytest.approx(a_minus, abs=1e-12)


def _two_field(Fm, Fp):
    return fp.piecewise_system(Fm, Fp, lambda x: x[1], grad_h=lambda x: np.array([0.0, 1.0]))


@pytest.mark.parametrize(
    ("x", "kind", "a_plus", "a_minus"),
    [
        # F+ = (1, x1), F− = (1, 1) on h = x2: a+ = x1, a− = 1
        ([1.0, 0.0], "crossing", 1.0, 1.0),
        ([-1.0, 0.0], "sliding", -1.0, 1.0),
        ([0.0, 0.0], "tangency", 0.0, 1.0),  # fold of F+ (visible/invisible boundary)
    ],
)
def test_classify_fold_system(x, kind, a_plus, a_minus):
    sys = _two_field(lambda x: np.array([1.0, 1.0]), lambda x: np.array([1.0, x[0]]))
    cls = sys.classify(np.array(x), 0)
    assert cls.kind == kind
    assert cls.a_plus == pytest.approx(a_plus, abs=1e-12)
    assert cls.a_minus == pytest.approx(a_minus, abs=1e-12)


def test_classify_repulsive():
    """Both fields point away from h = x2 = 0: a+ = 1 > 0 > a− = −1."""
    sys = _two_field(lambda x: np.array([1.0, -1.0]), lambda x: np.array([1.0, 1.0]))
    cls = sys.classify(np.zeros(2), 0)
    assert (cls.kind, cls.a_plus, cls.a_minus) == ("repulsive", 1.0, -1.0)


@pytest.mark.parametrize(
    ("q", "kind"), [(0.5, "crossing"), (-0.5, "crossing"), (0.05, "sliding"), (0.1, "tangency")]
)
def test_classify_coulomb(q, kind):
    """On v = 0: a± = −q ∓ μ (μ = 0.1)."""
    sys = P.coulomb_problem(0.1, 1.0, 0.0, 1.0).make_system()
    cls = sys.classify(np.array([q, 0.0]), 0)
    assert cls.kind == kind
    assert cls.a_plus == pytest.approx(-q - 0.1, abs=1e-12)
    assert cls.a_minus == pytest.approx(-q + 0.1, abs=1e-12)


def test_greedy_tie_selection_weights():
    """ℓ∞ tie selection on a separable quadratic: w_i ∝ 1/l_i (common rate of |∂_i f|)."""
    L = np.array([1.0, 2.0, 4.0, 0.5])
    obj = fp.Objective.quadratic(np.diag(L))
    sys = fp.steepest_descent_flow(obj, "l1")
    x = np.array([1.0, -1.0, 1.0, -1.0]) / L  # |∂_i f| = 1 for all i: a full tie
    cv = sys.consistent_velocity(x)
    w = (1 / L) / np.sum(1 / L)
    np.testing.assert_allclose(cv.velocity, -np.sign(x) * w, atol=1e-10)


# ---------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------
def _system(f0=None, B=None, h=None, norm="l1"):
    return fp.FilippovSystem(
        f0 if f0 is not None else (lambda x: np.zeros(2)),
        B if B is not None else (lambda x: np.eye(2)),
        h if h is not None else (lambda x: x.copy()),
        norm=norm,
        jac_h=lambda x: np.eye(2),
    )


@pytest.mark.parametrize(
    ("kw", "culprit"),
    [
        ({"f0": lambda x: np.zeros(3)}, "f0"),
        ({"B": lambda x: np.eye(3)}, "B"),
        ({"B": lambda x: np.ones((2, 3))}, "B"),
        ({"h": lambda x: np.zeros((2, 2))}, "h"),  # a matrix is not a vector of switching functions
    ],
)
def test_wrong_output_shapes_raise(kw, culprit):
    with pytest.raises(ValueError, match=culprit):
        _system(**kw).selector(np.zeros(2))
    with pytest.raises(ValueError, match=culprit):
        fp.solve(_system(**kw), np.ones(2), (0.0, 1.0))


@pytest.mark.parametrize("name", ["l3", "max", "", "lp"])
def test_unknown_norm_names_raise(name):
    with pytest.raises(ValueError, match="l1"):
        _system(norm=name)
    obj = fp.Objective.quadratic(np.eye(2))
    with pytest.raises(ValueError, match="linf"):
        fp.steepest_descent_flow(obj, norm=name)


@pytest.mark.parametrize("x", [[np.nan, 0.0], [0.0, np.inf], [1.0, -np.inf]])
def test_non_finite_states_raise(x):
    sys = _system()
    with pytest.raises(ValueError, match="finite"):
        sys.selector(x)
    with pytest.raises(ValueError, match="finite"):
        sys.filippov_set(x)
    with pytest.raises(ValueError, match="finite"):
        fp.solve(sys, x, (0.0, 1.0))


def test_wrong_state_length_raises():
    obj = fp.Objective.quadratic(np.eye(3))
    sys = fp.steepest_descent_flow(obj, "linf")
    with pytest.raises(ValueError):
        sys.selector(np.zeros(2))
    with pytest.raises(ValueError):
        fp.solve(sys, np.zeros(2), (0.0, 1.0))


# ------------------------------------------------------------ clear errors (issue 22)


@pytest.mark.parametrize(
    ("make", "exc", "match"),
    [
        (lambda: fp.coulomb_oscillator(mu="a"), TypeError, "`mu` must be a positive number"),
        (lambda: fp.coulomb_oscillator(mass=float("nan")), ValueError, "`mass`"),
        (lambda: fp.twisting_system("x", 1), TypeError, "`a` must be a positive number"),
        (lambda: fp.twisting_system(2, None), TypeError, "`b` must be a positive number"),
        (lambda: fp.twisting_system(1.0, 2.0), ValueError, "`a` must be greater than `b`"),
    ],
)
def test_constructors_name_the_bad_argument(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_piecewise_system_with_a_field_of_the_wrong_size_names_the_field():
    sys2 = fp.piecewise_system(
        lambda x: np.ones(3), lambda x: -np.ones(3), lambda x: x[1], grad_h=lambda x: [0.0, 1.0]
    )
    with pytest.raises(ValueError, match=r"`F_plus\(x\)` must have shape \(2,\)"):
        sys2.selector([0.0, 1.0])


def test_piecewise_system_with_two_switching_values_names_h_not_B():
    sys2 = fp.piecewise_system(lambda x: np.ones(2), lambda x: -np.ones(2), lambda x: x)
    with pytest.raises(ValueError, match=r"`h\(x\)` must be one scalar") as info:
        sys2.selector([0.5, 1.0])
    assert "B(x)" not in str(info.value)


def test_piecewise_system_rejects_non_callables():
    with pytest.raises(TypeError, match="`F_minus` must be a callable"):
        fp.piecewise_system(np.ones(2), lambda x: x, lambda x: x[0])
    with pytest.raises(TypeError, match="`grad_h` must be a callable"):
        fp.piecewise_system(lambda x: x, lambda x: x, lambda x: x[0], grad_h=[0.0, 1.0])


def test_a_field_function_returning_complex_numbers_is_refused() -> None:
    # (stranger review) NumPy dropped the imaginary part with a ComplexWarning only: a
    # callable f0 returning [1j, 0] ran as f0 = 0.
    system = fp.FilippovSystem(
        lambda x: np.array([1j, 0.0]), np.eye(2), lambda x: x, "l1", jac_h=lambda x: np.eye(2)
    )
    with pytest.raises(TypeError, match=r"`f0\(x\)` must be an array of real numbers"):
        fp.solve(system, [1.0, 1.0], (0.0, 1.0))


def test_redundant_switching_functions_slide_to_rest_on_the_event_path() -> None:
    # (stranger review) h = (x1, x2, x1 + x2) with B = Gᵀ/2: the sliding selection
    # M = G Gᵀ/2 is exactly singular (its λ are not unique), but B maps its null space to 0,
    # so the motion is. The event path stopped −5 ("precision lost") at the origin, which
    # is a Filippov equilibrium (c = Bλ with λ = (0.6, −0.4, 0) in the box); the exact
    # path, independent code, ran through.
    G = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    B, c = 0.5 * G.T, np.array([0.3, -0.2])
    lam = np.array([0.6, -0.4, 0.0])
    np.testing.assert_allclose(B @ lam, c, atol=1e-15)
    affine = fp.FilippovSystem.affine(c, B, G, np.zeros(3), "l1")
    general = fp.FilippovSystem(lambda x: c.copy(), B, lambda x: G @ x, "l1", jac_h=lambda x: G)
    exact = fp.solve(affine, [1.0, 0.7], (0.0, 3.0), method="exact")
    for system in (general, affine):
        sol = fp.solve(system, [1.0, 0.7], (0.0, 3.0), method="events")
        assert sol.status == exact.status == 1, sol.message
        assert sol.events[-1].t == pytest.approx(exact.events[-1].t, abs=1e-9)
        np.testing.assert_allclose(sol.x[-1], 0.0, atol=1e-12)
        t = np.linspace(0.0, 3.0, 61)
        np.testing.assert_allclose(sol(t), exact(t), atol=1e-8)


@pytest.mark.parametrize("expr", ["0.25*y**4", "0.5*y**2 + 0.25*y**4", "0.5*y**2"])
def test_a_greedy_flows_filippov_set_where_the_hessian_vanishes_is_the_vertical_segment(
    expr: str,
) -> None:
    # (stranger review) f = ¼y⁴ at the origin: the first-order test of Lemma 4.2 saw no
    # region with interior for any vertex (a zero Hessian) and returned an empty set. Near
    # the origin |∂_y f| > |∂_x f| = 0 off y = 0, so only ±e_y are ever the greedy choice.
    system = fp.steepest_descent_flow(fp.Objective.from_expr(expr, ["x", "y"]), "l1")
    fset = system.filippov_set(np.zeros(2))
    assert sorted(map(tuple, fset.vertices + 0.0)) == [(0.0, -1.0), (0.0, 1.0)]
