"""Issue 22, engine part: no silent wrong answer.

Every run the engine reports as a success (status 0 or 1) must be right; a run it cannot
get right must end with a negative status and a message. Each reproduction of the issue
has a test here, plus a property test over badly scaled quadratics.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import filippov as fp
from filippov.objectives import Objective, rotated_quadratic, slope

METHODS = ("exact", "events")


def _sign_flow(H: np.ndarray, b: np.ndarray | None = None) -> fp.FilippovSystem:
    return fp.steepest_descent_flow(Objective.quadratic(H, b), "linf")


# -- scale-aware zero tolerances --------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_small_resolved_gradient_component_moves(method):
    # ∇f = (1e13 x, y): y's component, 13 orders below x's, is still resolved exactly.
    sol = fp.solve(_sign_flow(np.diag([1e13, 1.0])), [1.0, 1.0], (0.0, 2.0), method=method)
    assert sol.status == 1, sol.message
    np.testing.assert_array_equal(sol(0.0), [1.0, 1.0])  # no jump at t0
    np.testing.assert_allclose(sol(0.5), [0.5, 0.5], rtol=1e-12)
    np.testing.assert_allclose(sol(2.0), [0.0, 0.0], atol=1e-12)
    stationary = [e for e in sol.events if e.kind == "stationary"]
    assert len(stationary) == 1 and abs(stationary[0].t - 1.0) <= 1e-12


@pytest.mark.parametrize("method", METHODS)
def test_small_component_reaches_its_manifold_first(method):
    # y = 1e-5 reaches 0 at t = 1e-5 and slides there; x reaches 0 at t = 1.
    sol = fp.solve(_sign_flow(np.diag([1e8, 1.0])), [1.0, 1e-5], (0.0, 2.0), method=method)
    assert sol.status == 1, sol.message
    np.testing.assert_array_equal(sol(0.0), [1.0, 1e-5])
    np.testing.assert_allclose(sol(0.5e-5), [1.0 - 0.5e-5, 0.5e-5], rtol=1e-9)
    np.testing.assert_allclose(sol(0.5), [0.5, 0.0], atol=1e-15, rtol=1e-12)
    np.testing.assert_allclose(sol(2.0), [0.0, 0.0], atol=1e-15)
    entry = [e for e in sol.events if e.indices == (1,) and e.kind == "sliding-entry"]
    assert entry and abs(entry[0].t - 1e-5) <= 1e-15
    stationary = [e for e in sol.events if e.kind == "stationary"]
    assert len(stationary) == 1 and abs(stationary[0].t - 1.0) <= 1e-12


def test_initial_state_never_jumps_for_a_steep_flat_objective():
    # x**1e100: ∇ is 1e100 at x = 1 and 0 (underflow) one ulp below; the engine
    # must neither snap the state at t0 nor call the end stationary. (A parameter: the
    # literal x**(10**100) is refused by from_expr's exponent limit.)
    obj = Objective.from_expr("x**p + y**2", ["x", "y"], {"p": 1e100})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), [1.0, 2.0], (0.0, 3.0))
    np.testing.assert_array_equal(sol(0.0), [1.0, 2.0])
    assert sol.status < 0 and sol.message


# -- poles and descent ------------------------------------------------------------------


def test_pole_coinciding_with_an_arrival_is_a_failure():
    # log(x): x reaches its pole at t = 1, the very time y reaches 0.
    obj = Objective.from_expr("log(x) + y**2", ["x", "y"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), [1.0, 1.0], (0.0, 3.0))
    assert sol.status == -3, sol.message
    assert "pole" in sol.message


@pytest.mark.parametrize("norm", ["linf", "l1"])
def test_a_crawl_into_a_pole_is_given_up_at_the_first_judgement(norm):
    # The continuation path's steps shrink toward the pole of log(x) without end (about
    # as the distance left to the power 5/4), nearly all accepted: judged by the progress
    # of its tries, the mode is given up where the cap on all tries gave it up (2000
    # tries). Let on, it reached the pole after 8648 tries and 100 000 events followed at
    # t = 1 + 1e-10, in 7 minutes (-2); given up, "auto" runs the event path, which
    # reports the pole (-3, the test above).
    obj = Objective.from_expr("log(x) + y**2", ["x", "y"])
    system = fp.steepest_descent_flow(obj, norm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sol = fp.solve(system, [1.0, 1.0], (0.0, 3.0), method="continuation")
        auto = fp.solve(system, [1.0, 1.0], (0.0, 3.0))
    assert sol.status == -1, sol.message
    assert "2000 continuation steps" in sol.message
    assert "the steps shrink without end" in sol.message
    assert auto.status == -3, auto.message
    assert "pole" in auto.message


class _GuardAlongSegment:
    """A stand-in for a mode field whose only guard entry is ``g(s)`` at ``x = s``."""

    def __init__(self, g):
        self.g = g

    def guard_values(self, x):
        return np.array([self.g(float(x[0]))]), None, None


@pytest.mark.parametrize(
    ("g", "jumps"),
    [
        # rises at first (rate 7.6e-5), turns back and crosses 0 within the probe: the
        # shape of the log-cosh guard below, continuous
        (lambda s: 2.4e-9 + 7.6e-5 * s - 4e-4 * s * s, False),
        (lambda s: 1e-12 - 3e-8 * s, False),  # an ordinary arrival
        (lambda s: 1.0 / (0.3 - s), True),  # a pole (the log(x) case's 1/x)
        (lambda s: 1.0 if s < 0.6 else -1.0, True),  # a discontinuity
        (lambda s: 2e-9 if s < 0.6 else -1e-9, True),  # a small one: no value near 0
    ],
)
def test_a_sign_change_along_the_probe_is_a_jump_only_where_the_guard_is_not_continuous(g, jumps):
    from filippov._event_path import _jumps_along

    x, step = np.zeros(1), np.ones(1)
    values, probe = np.array([g(0.0)]), np.array([g(1.0)])
    assert values[0] > 0.0 >= probe[0]
    assert _jumps_along(_GuardAlongSegment(g), x, step, 0, values, probe) is jumps


def test_a_guard_that_rises_and_turns_back_within_the_probe_is_not_a_pole(monkeypatch):
    # Log-cosh regression with columns scaled from 1e-3 to 1e3, started far away (a
    # stranger review's case): at t = 1026.27 index 1's guard is 2.4e-9 and rising at the
    # event, and crosses 0 a tenth of the probe's reach later. It was refused as a pole
    # (status -3, "changes sign ... while moving away from 0") on a smooth objective.
    import filippov._event_path as ep
    from filippov.objectives import linear_model

    rng = np.random.default_rng(30)
    d, m = 12, 50
    A = rng.standard_normal((m, d)) * np.logspace(-3, 3, d)[rng.permutation(d)]
    w = rng.standard_normal(d)
    eta = A @ w / max(1.0, np.linalg.norm(A @ w) / np.sqrt(m))
    y = eta + 0.3 * rng.standard_normal(m)
    obj = linear_model(A, y, 1e-3, loss="logcosh")
    x0 = 1e3 * rng.standard_normal(d)
    system = fp.steepest_descent_flow(obj, "linf")
    verdicts = []
    jumps_along = ep._jumps_along

    def spy(*args):
        verdicts.append(jumps_along(*args))
        return verdicts[-1]

    monkeypatch.setattr(ep, "_jumps_along", spy)
    sol = fp.solve(system, x0, (0.0, 1030.0), method="events", rtol=1e-8, atol=1e-10)
    assert sol.status == 0, sol.message
    assert False in verdicts  # (the case was met, and taken for a crossing)
    # An independent path at a tight tolerance (the continuation path, its own curves)
    ref = fp.solve(system, x0, (0.0, 1030.0), method="continuation", rtol=1e-12, atol=1e-14)
    assert ref.status == 0, ref.message
    t = np.linspace(0.0, 1030.0, 1001)
    scale = float(np.max(np.abs(ref(t))))
    assert float(np.max(np.abs(sol(t) - ref(t)))) <= 1e-10 * scale


def test_l2_flow_through_a_pole_is_not_a_success():
    # -1/x has a pole at 0: the ℓ2 flow from 1 must not cross it and report f increased.
    obj = Objective.from_expr("-1/x", ["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sol = fp.solve(fp.steepest_descent_flow(obj, "l2"), [1.0], (0.0, 3.0))
    if sol.status >= 0:  # only acceptable if it stayed on the right side of the pole
        assert float(sol(3.0)[0]) > 0.0
    else:
        assert sol.message


# -- time measured from t0 ----------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_large_t0_loses_no_time_resolution(method):
    t0 = 1e15
    sol = fp.solve(
        fp.steepest_descent_flow(slope(0.5), "linf"), [0.6, 0.1], (t0, t0 + 4.0), method=method
    )
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol(t0 + 4.0), [-1.5, -3.0], atol=1e-9)
    np.testing.assert_array_equal(sol(t0), [0.6, 0.1])
    assert sol.t[0] == t0 and sol.t[-1] == t0 + 4.0
    # Event times are t0 + τ, rounded once (the ulp at 1e15 is 0.125).
    ulp = np.spacing(t0)
    times = sorted({e.t for e in sol.events})
    np.testing.assert_allclose(times, [t0 + 1.1, t0 + 3.1], atol=ulp)
    assert f"t = {t0 + 3.1:.17g}" in sol.message or "1000000000000003" in sol.message


def test_same_answer_with_and_without_a_time_shift():
    flow = fp.steepest_descent_flow(slope(0.5), "linf")
    a = fp.solve(flow, [0.6, 0.1], (0.0, 4.0), method="events")
    b = fp.solve(flow, [0.6, 0.1], (1e6, 1e6 + 4.0), method="events")
    np.testing.assert_allclose(b.x, a.x, atol=1e-12)
    np.testing.assert_allclose(b.t - 1e6, a.t, atol=1e-9)
    np.testing.assert_allclose(b(1e6 + 2.0), a(2.0), atol=1e-9)


def test_span_below_time_resolution_is_refused():
    flow = fp.steepest_descent_flow(slope(0.5), "linf")
    with pytest.raises(ValueError, match="t_span"):
        fp.solve(flow, [0.6, 0.1], (1e16, 1e16 + 8.0))


# -- precision ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", [0, 1, 17, 26, 36, 45])
def test_condition_beyond_double_precision_is_not_a_success(method, seed):
    # Condition 1e16: the minimizer 0 is not resolved; these runs used to report a
    # stationary point with f ~ 1 (status 1) or finish with f ~ 1e7 (status 0).
    n = 2 + seed % 3
    obj = rotated_quadratic(np.geomspace(1.0, 1e16, n), rotation=1.0, seed=seed)
    x0 = np.random.default_rng(seed).standard_normal(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 20.0), method=method)
    if sol.status >= 0:
        assert obj.f(sol(20.0)) <= 1e-6 * max(1.0, obj.f(x0)), sol.message
    else:
        assert "precision" in sol.message or sol.message


# -- uniqueness from the geometry -----------------------------------------------------------


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
def test_strict_maximum_is_non_unique_on_every_norm(norm):
    obj = Objective.from_expr("exp(-x**2 - y**2)", ["x", "y"])
    sol = fp.solve(fp.steepest_descent_flow(obj, norm), [0.0, 0.0], (0.0, 1.0))
    assert sol.status == 1, sol.message
    stationary = [e for e in sol.events if e.kind == "stationary"]
    assert stationary and not stationary[-1].unique


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
def test_strict_minimum_is_unique_on_every_norm(norm):
    obj = Objective.from_expr("-exp(-x**2 - y**2)", ["x", "y"])
    sol = fp.solve(fp.steepest_descent_flow(obj, norm), [0.0, 0.0], (0.0, 1.0))
    assert sol.status == 1, sol.message
    assert all(e.unique for e in sol.events)


# -- arguments ------------------------------------------------------------------------------


def test_rtol_below_rounding_is_clamped_with_a_warning_and_never_raises():
    flow = fp.steepest_descent_flow(slope(0.5), "linf")
    with pytest.warns(RuntimeWarning, match="rtol"):
        sol = fp.solve(flow, [0.6, 0.1], (0.0, 4.0), method="events", rtol=1e-16)
    assert sol.status == 1, sol.message
    np.testing.assert_allclose(sol(4.0), [-1.5, -3.0], atol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"method": ["exact"]}, "method"),
        ({"method": "fast"}, "method"),
        ({"integrator": {"RK45": 1}}, "integrator"),
        ({"integrator": "Euler"}, "integrator"),
        ({"rtol": -1.0}, "rtol"),
        ({"atol": float("nan")}, "atol"),
        ({"max_events": 0}, "max_events"),
        ({"max_events": 2.5}, "max_events"),
        ({"zero_tol": 2.0}, "zero_tol"),
        ({"t_span": (1.0, 0.0)}, "t_span"),
        ({"t_span": (0.0,)}, "t_span"),
        ({"x0": [1.0, 2.0, 3.0]}, "x0"),
        ({"x0": [[1.0, 2.0]]}, "x0"),
        ({"x0": [np.nan, 2.0]}, "x0"),
    ],
)
def test_engine_arguments_are_validated_by_name(kwargs, name):
    flow = fp.steepest_descent_flow(slope(0.5), "linf")
    args = {"x0": [0.6, 0.1], "t_span": (0.0, 4.0)}
    args.update(kwargs)
    x0, t_span = args.pop("x0"), args.pop("t_span")
    with pytest.raises((TypeError, ValueError), match=name):
        fp.solve(flow, x0, t_span, **args)


# -- the property ---------------------------------------------------------------------------


@st.composite
def _badly_scaled_quadratic(draw):
    n = draw(st.integers(2, 4))
    log_cond = draw(st.floats(0.0, 12.0))
    rotated = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    eig = np.geomspace(1.0, 10.0**log_cond, n)
    if rotated:
        H = rotated_quadratic(eig, rotation=1.0, seed=seed).quadratic_data[0]
    else:
        H = np.diag(rng.permutation(eig))
    # x0 spans 12 orders of magnitude; the minimizer sits at a random point of size 1.
    x0 = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-6.0, 6.0, n)
    x_star = rng.standard_normal(n)
    b = -H @ x_star
    return H, b, x0, 10.0**log_cond


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(_badly_scaled_quadratic(), st.sampled_from(METHODS))
def test_success_implies_the_right_minimizer(problem, method):
    H, b, x0, cond = problem
    x_ref = np.linalg.solve(H, -b)  # the independent answer
    # The sign flow moves each coordinate at speed ≤ 1 and slides to the minimizer; this
    # horizon is past its arrival.
    T = 4.0 * float(np.max(np.abs(x0 - x_ref))) * len(x0) + 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sol = fp.solve(_sign_flow(H, b), x0, (0.0, T), method=method)
    assert sol.message
    if sol.status < 0:
        return  # an honest failure is allowed; a wrong success is not
    scale = max(float(np.max(np.abs(x0))), float(np.max(np.abs(x_ref))))
    err = float(np.max(np.abs(sol(T) - x_ref)))
    assert err <= max(cond * 1e-14, 1e-12) * scale, (sol.status, sol.message, err, scale)


@pytest.mark.parametrize("method", METHODS)
def test_state_slightly_off_its_manifold_is_not_moved_at_t0(method):
    # h_0(x0) = 1e-13 is beyond rounding of its terms: the state is not snapped onto
    # h_0 = 0 at t0 (a move of 1e-13); it gets there after a first segment of 1e-13.
    x0 = np.array([1e-13, 1.0])
    sol = fp.solve(_sign_flow(np.eye(2)), x0, (0.0, 2.0), method=method)
    assert sol.status == 1, sol.message
    np.testing.assert_array_equal(sol(0.0), x0)
    first = sol.events[0]
    assert first.indices == (0,) and abs(first.t - 1e-13) <= 1e-20
    np.testing.assert_allclose(sol(2.0), [0.0, 0.0], atol=1e-15)


def test_state_on_its_manifold_to_rounding_is_read_as_on_it():
    # h_0 = x_0 + 0.2 x_1 is 0 up to rounding at x0 (-0.06 + 0.2 * 0.3): read as 0, the
    # state slides on it from t0 (equivalent control λ_0 = -0.2), moved by rounding only.
    H = np.array([[1.0, 0.2], [0.2, 1.0]])
    x0 = np.array([-0.06, 0.3])
    for method in METHODS:
        sol = fp.solve(_sign_flow(H), x0, (0.0, 2.0), method=method)
        assert sol.status == 1, sol.message
        first = sol.events[0]
        assert (first.t, first.kind, first.indices) == (0.0, "sliding-entry", (0,))
        np.testing.assert_allclose(sol(0.0), x0, rtol=1e-15)


def test_a_numerical_routine_giving_up_mid_run_is_a_status_not_an_exception(monkeypatch):
    # solve raises only for invalid arguments: scipy's brentq giving up (as it did on
    # rtol=1e-16) ends the run with status −1, the partial solution and what it said.
    import filippov._event_location as event_location

    def give_up(*args, **kwargs):
        raise ValueError("f(a) and f(b) must have different signs")

    monkeypatch.setattr(event_location, "_earliest_root", give_up)
    sol = fp.solve(
        fp.steepest_descent_flow(slope(0.5), "linf"), [0.6, 0.1], (0.0, 4.0), method="events"
    )
    assert sol.status == -1
    assert "different signs" in sol.message and "t = " in sol.message
    np.testing.assert_array_equal(sol(0.0), [0.6, 0.1])


@pytest.mark.parametrize("method", METHODS)
def test_saddle_at_rest_is_non_unique_on_the_exact_and_event_paths(method):
    # h = 0 at a saddle of a quadratic (the ℓ1 / greedy flow's ℓ∞ relay, at rest there).
    flow = fp.steepest_descent_flow(Objective.quadratic(np.diag([1.0, -1.0])), "l1")
    sol = fp.solve(flow, [0.0, 0.0], (0.0, 1.0), method=method)
    assert sol.status == 1, sol.message
    stationary = [e for e in sol.events if e.kind == "stationary"]
    assert stationary and not stationary[-1].unique


def _duplicated_feature_models(seed: int) -> tuple[Objective, Objective, np.ndarray, int, int]:
    """A linear model (logistic or least squares, no ridge) with feature ``j`` duplicated
    ``copies`` times, the same model without the copies, and a start: ``(with copies,
    without, x0, j, copies)``."""
    from filippov.objectives import linear_model

    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 5)), int(rng.integers(5, 12))
    A = rng.normal(size=(m, n))
    j = int(rng.integers(n))
    copies = 2 if rng.random() < 0.3 else 1
    y = rng.choice([-1.0, 1.0], size=m)
    loss = str(rng.choice(["logistic", "squared"]))
    x0 = 0.5 * rng.normal(size=n + copies)
    if rng.random() < 0.5:
        x0[-1] = x0[j]
    wide = np.c_[A, np.repeat(A[:, [j]], copies, axis=1)]
    return linear_model(wide, y, 0.0, loss), linear_model(A, y, 0.0, loss), x0, j, copies


@pytest.mark.parametrize("seed", [11, 19, 22, 3, 7])
def test_an_l1_flow_with_duplicated_features_is_the_flow_without_them(seed: int) -> None:
    # (stranger review) f depends on x_j and its copies through their sum only: the ℓ1
    # flow in that sum is the flow of the model without copies, and the copies' tie can
    # never open (split evenly: minimal norm, flagged not unique). The tie's KKT matrix is
    # exactly singular; LU's rounding inverse split the weight at random -- once a
    # negative weight, read as a pole of h (status -3, seed 22), once a false tie exit
    # (seed 19) -- and the end's self-check took the valley of minimizers for a loss of
    # precision (status -5, seeds 11 and 19).
    wide, narrow, x0, j, copies = _duplicated_feature_models(seed)
    n = x0.size - copies
    sol = fp.solve(fp.steepest_descent_flow(wide, "l1"), x0, (0.0, 2.0))
    z0 = x0[:n].copy()
    z0[j] += x0[n:].sum()
    ref = fp.solve(fp.steepest_descent_flow(narrow, "l1"), z0, (0.0, 2.0))
    assert sol.status == ref.status and ref.status in (0, 1), (sol.message, ref.message)
    assert sol.events[-1].t == pytest.approx(ref.events[-1].t, rel=1e-9)
    assert sol.events[-1].kind == ref.events[-1].kind
    t = np.linspace(0.0, 2.0, 81)
    X, Z = sol(t), ref(t)
    summed = X[:, :n].copy()
    summed[:, j] += X[:, n:].sum(axis=1)
    np.testing.assert_allclose(summed, Z, rtol=0, atol=1e-8)
    # the copies move together with x_j (an even split of their common rate)
    moved = X - x0
    for c in range(n, x0.size):
        np.testing.assert_allclose(moved[:, c], moved[:, j], rtol=0, atol=1e-10)
    # a tie that holds a copy is never unique
    for e in sol.events:
        if e.kind.startswith("tie") and (j in e.indices or set(e.indices) & set(range(n, x0.size))):
            assert e.unique is False


@pytest.mark.parametrize("scale", [1e-8, 1e4, 1e8])
def test_an_l1_flow_does_not_depend_on_the_objectives_scale(scale: float) -> None:
    # (stranger review) ∂‖∇(s f)‖∞ = ∂‖∇f‖∞: the ℓ1 flow of s·f is that of f. A test of
    # the tie KKT matrix's pivots against a fixed fraction sent ordinary ties of f × 1e6
    # and beyond to least squares, which dropped their constraint (7 of 20 flows changed
    # at 1e6, 19 of 20 at 1e8; data in other units, f × 1e8, ended at the wrong place).
    t = np.linspace(0.0, 3.0, 61)
    for seed in range(6):
        rng = np.random.default_rng(seed)
        d = int(rng.integers(2, 7))
        obj = rotated_quadratic(10 ** rng.uniform(-2, 2, size=d), rotation=0.7, seed=seed)
        scaled = Objective(
            lambda x, o=obj: scale * o.f(x),
            grad=lambda x, o=obj: scale * np.asarray(o.grad(x)),
            hvp=lambda x, v, o=obj: scale * np.asarray(o.hvp(x, v)),
        )
        x0 = rng.normal(size=d)
        ref = fp.solve(fp.steepest_descent_flow(obj, "l1"), x0, (0.0, 3.0), method="events")
        sol = fp.solve(fp.steepest_descent_flow(scaled, "l1"), x0, (0.0, 3.0), method="events")
        assert sol.status == ref.status, (seed, sol.message, ref.message)
        assert [e.kind for e in sol.events] == [e.kind for e in ref.events], seed
        np.testing.assert_allclose(sol(t), ref(t), rtol=0, atol=1e-8, err_msg=f"seed {seed}")


# -- a solution read after its system changed -------------------------------------------


def _parametrised_objective(p: dict[str, float]) -> Objective:
    """A smooth objective whose callables read ``p["a"]`` when called (a parameter study
    over one closure)."""

    def f(x: np.ndarray) -> float:
        return 0.5 * (x[0] - p["a"] * x[1]) ** 2 + 0.5 * (x[1] + 3) ** 2 + 0.1 * np.cos(x[0])

    def grad(x: np.ndarray) -> np.ndarray:
        r = x[0] - p["a"] * x[1]
        return np.array([r - 0.1 * np.sin(x[0]), -p["a"] * r + x[1] + 3])

    def hess(x: np.ndarray) -> np.ndarray:
        a = p["a"]
        return np.array([[1 - 0.1 * np.cos(x[0]), -a], [-a, a * a + 1]])

    return Objective(f, grad, hess, n=2)


def test_the_event_paths_sliding_states_are_not_read_from_a_changed_system() -> None:
    # A stranger review's parameter loop: the event path projects its dense output onto
    # the sliding manifold when first read, with the user's functions as they are then.
    # The a = 0.5 run read after the a = 0.8 run was 0.80 off inside its sliding segment,
    # off its own manifold (|∂₁f| = 0.82), and jumped by 0.87 at the segment's end.
    p = {"a": 0.5}
    flow = fp.steepest_descent_flow(_parametrised_objective(p), "linf")
    x0, span = [0.6, 0.1], (0.0, 4.0)
    kept = fp.solve(flow, x0, span, method="events")
    read_now = fp.solve(flow, x0, span, method="events")
    seg = next(s for s in read_now.segments if s.kind == "sliding")
    tm = np.linspace(seg.t0, seg.t1, 7)[1:-1]
    expected = read_now(tm)
    # on the a = 0.5 manifold: ∂₁f = 0 (an independent check of what the read returns)
    assert max(abs(_parametrised_objective(p).grad(x)[0]) for x in expected) <= 1e-9
    p["a"] = 0.8
    fp.solve(flow, x0, span, method="events")
    with pytest.raises(RuntimeError, match="changed since the solve"):
        kept(tm)
    import pickle

    with pytest.raises(RuntimeError, match="changed since the solve"):
        pickle.dumps(kept)
    np.testing.assert_array_equal(kept.x, read_now.x)  # the breakpoints are kept
    p["a"] = 0.5  # the system as it was: the read is the one taken at once
    np.testing.assert_allclose(kept(tm), expected, rtol=0, atol=1e-14)


def test_a_change_of_the_manifold_inside_a_sliding_segment_is_refused_too() -> None:
    # (a review of the check above: it compared h_J at the mode's last state only, and a
    # bump term added at the middle of the segment, e^-50 at its end, was read 0.5 off)
    p: dict[str, float] = {"a": 0.0, "c": 0.0}

    def bump(x: np.ndarray) -> tuple[float, float, float]:
        z = x[1] - p["c"]
        e = p["a"] * np.exp(-(z**2) / 0.02)
        return e, e * (-2 * z / 0.02), e * ((2 * z / 0.02) ** 2 - 2 / 0.02)

    def grad(x: np.ndarray) -> np.ndarray:
        e, de, _ = bump(x)
        r = x[0] - 0.5 * x[1]
        return np.array([r + e, -0.5 * r + x[1] + 3 + de * x[0]])

    def hess(x: np.ndarray) -> np.ndarray:
        _, de, dde = bump(x)
        return np.array([[1.0, -0.5 + de], [-0.5 + de, 1.25 + dde * x[0]]])

    obj = Objective(
        lambda x: float(0.5 * (x[0] - 0.5 * x[1]) ** 2 + 0.5 * (x[1] + 3) ** 2 + bump(x)[0] * x[0]),
        grad,
        hess,
        n=2,
    )
    flow = fp.steepest_descent_flow(obj, "linf")
    kept = fp.solve(flow, [0.6, 0.1], (0.0, 4.0), method="events")
    seg = next(s for s in kept.segments if s.kind == "sliding")
    t_mid = 0.5 * (seg.t0 + seg.t1)
    x_mid = fp.solve(flow, [0.6, 0.1], (0.0, 4.0), method="events")(t_mid)
    p["a"], p["c"] = 0.5, float(x_mid[1])
    # (the end check passes here: the message names the two causes a projection's move
    # can have, not only a changed system)
    with pytest.raises(RuntimeError, match=r"may have changed since the solve.*inside the segment"):
        kept(t_mid)


def test_a_gradient_reproducible_only_to_1e_7_reads_without_a_false_alarm() -> None:
    # (the same review: a gradient from a warm-started inner solve stopped at 1e-7 moved
    # h_J by 1.8e-8 between the solve and the read, and the read was refused)
    rng = np.random.default_rng(3)
    A = rng.standard_normal((3, 3)) + 2 * np.eye(3)
    K = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    b = rng.standard_normal(3)
    K_inv = np.linalg.inv(K)
    warm = {"y": np.zeros(3)}

    def inner_solve(r: np.ndarray) -> np.ndarray:
        y = warm["y"].copy()
        for _ in range(500):
            y_new = y + (r - K @ y) / np.diag(K)
            done = np.max(np.abs(y_new - y)) <= 1e-7 * max(1.0, np.max(np.abs(y_new)))
            y = y_new
            if done:
                break
        warm["y"] = y
        return y

    obj = Objective(
        lambda x: float(0.5 * (A @ x - b) @ K_inv @ (A @ x - b) + np.sum(np.cosh(0.3 * x))),
        lambda x: A.T @ inner_solve(A @ x - b) + 0.3 * np.sinh(0.3 * x),
        lambda x: A.T @ K_inv @ A + np.diag(0.09 * np.cosh(0.3 * x)),
        n=3,
    )
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, [2.0, -1.5, 1.0], (0.0, 6.0), method="events", check_derivatives=False)
    assert sum(s.kind == "sliding" for s in sol.segments) >= 2
    X = sol(np.linspace(0.0, sol.t[-1], 201))  # (no error)
    exact = fp.solve(
        fp.steepest_descent_flow(
            Objective(
                obj.f, lambda x: A.T @ K_inv @ (A @ x - b) + 0.3 * np.sinh(0.3 * x), obj.hess, n=3
            ),
            "linf",
        ),
        [2.0, -1.5, 1.0],
        (0.0, 6.0),
        method="events",
    )
    np.testing.assert_allclose(X, exact(np.linspace(0.0, sol.t[-1], 201)), atol=1e-5)


def test_a_greedy_flow_stops_in_a_valley_of_minimizers_on_the_exact_path() -> None:
    # A review's singular PSD quadratic (rank 3, eigenvalues 75-99, b in the range of H):
    # the ℓ1 tie reached h = 0 with a join, to rounding, and the exact path took it for a
    # tie change; the new tie's block was singular, its rate 0, and the flow slid on along
    # the valley of minimizers at unit ℓ1 speed for 8 time units (|g| ~ 1e-14), status 0,
    # 3.55 away from the event path's rest.
    H = np.array(
        [
            [85.95425590262926, -5.292472757172263, 7.321284692840301, 5.0758776534406795],
            [-5.292472757172263, 66.55250865629677, -38.120709785129016, -12.464186466082136],
            [7.321284692840301, -38.120709785129016, 39.318111881305036, -26.654832633719092],
            [5.0758776534406795, -12.464186466082136, -26.654832633719092, 69.4713792680405],
        ]
    )
    b = np.array([-65.0124470555611, 9.078805466103066, -64.39887793691562, 105.43908991105772])
    x0 = np.array(
        [0.3339224286186936, 0.10593325338271584, 1.5322881179434122, 0.14318480381708215]
    )
    flow = fp.steepest_descent_flow(Objective.quadratic(H, b), "l1")
    exact = fp.solve(flow, x0, (3.0, 12.9), method="exact")
    assert exact.status == 1, exact.message
    rest = exact.events[-1]
    assert rest.kind == "stationary" and not rest.unique
    assert np.abs(H @ rest.x + b).max() <= 1e-10 * np.abs(b).max()
    ref = fp.solve(flow, x0, (3.0, 12.9), method="events", rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(exact(12.9), ref(12.9), atol=1e-9)
    assert abs(rest.t - ref.events[-1].t) <= 1e-9


def test_a_stiff_mode_ends_with_a_clear_failure_instead_of_crawling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (a review) The ℓ2 flow x' = −g/‖g‖ of x⁴/4 + y²/2 near its minimizer is stiff (its
    # Jacobian is about H/‖g‖): DOP853 crawled on with no result after minutes (15 at a
    # condition-1e6 quadratic). The mode's steps kept short by the accuracy are capped
    # (10 000, shorter than 1e-5 of the span; 500 here, for speed).
    import filippov._event_path as event_path

    monkeypatch.setattr(event_path, "_MAX_MODE_STEPS", 500)
    obj = Objective(
        lambda x: x[0] ** 4 / 4 + x[1] ** 2 / 2,
        lambda x: np.array([x[0] ** 3, x[1]]),
        lambda x: np.diag([3 * x[0] ** 2, 1.0]),
    )
    # (DOP853 named: the default, "auto", goes on with Radau in a stiff mode, see
    # tests/engine/test_stiff_default.py)
    flow = fp.steepest_descent_flow(obj, "l2")
    sol = fp.solve(flow, [0.8, -0.5], (0.0, 3.0), integrator="DOP853")
    assert sol.status == -1 and "Radau" in sol.message and "x = [" in sol.message
    # (the partial solution is kept, up to before the arrival at t = 1.0150809958967,
    # the arc length of the gradient path)
    assert 0.9 < sol.t[-1] < 1.0150809958967
    assert np.linalg.norm(sol.x[-1]) < np.linalg.norm([0.8, -0.5])


@pytest.mark.parametrize("seed", [0, 3])
def test_a_duplicated_feature_without_a_ridge_rests_where_the_gradient_vanishes(seed: int) -> None:
    # ∂₀f ≡ ∂₁f (two equal columns, λ = 0): a valley of minimizers. The continuation path
    # arrived there one index at a time, crossed index 0 with ∇f at rounding, and slid
    # along the valley at unit speed with ∇f = 0 to t = 10 (8.5 away, status 0): a velocity
    # in −Sign(0), but not the rest the flow comes to, and not flagged. The reference is
    # independent of the continuation path: the event path's end state, and a minimizer
    # check on the objective itself.
    from filippov.objectives import ridge_logistic

    rng = np.random.default_rng(seed)
    A = rng.normal(size=(30, 4))
    A[:, 1] = A[:, 0]
    y = np.where(A @ rng.normal(size=4) + rng.normal(size=30) > 0, 1.0, -1.0)
    obj = ridge_logistic(A, y, lam=0.0)
    x0 = np.random.default_rng(7).normal(size=4)
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, x0, (0.0, 10.0), method="continuation")
    ref = fp.solve(flow, x0, (0.0, 10.0), method="events")
    assert sol.status == 1, sol.message
    rest = sol.events[-1]
    assert rest.kind == "stationary" and not rest.unique  # (the valley: other solutions)
    assert "valley" in rest.note
    np.testing.assert_allclose(sol.x[-1], ref.x[-1], rtol=0, atol=1e-8)
    np.testing.assert_allclose(sol(10.0), sol(rest.t), rtol=0, atol=0)
    assert np.max(np.abs(obj.grad(sol.x[-1]))) < 1e-12
    # ℓ∞ flow: every coordinate moves at speed ≤ 1, the free ones at exactly 1, so the
    # rest cannot come before the largest distance any coordinate covered.
    assert rest.t >= np.max(np.abs(sol.x[-1] - x0)) - 1e-9


def test_a_sliding_block_singular_to_precision_is_not_split_by_rounding() -> None:
    # ∂₀f ≡ ∂₁f (½(x0 + x1)² + ½(x0 + x1 + x2)²): from t = 1 the flow slides on ∂₀f = 0
    # with x2 still moving, and how x0 and x1 share the motion is not determined. The
    # block factored with a pivot at rounding and the run went on with the split rounding
    # chose (x0 at 0.10, x1 at 0.40 per unit time; the least-norm split moves both at
    # 0.25), to a rest 0.15 from the exact path's, flagged unique, status 1. It was then
    # refused (−4); now the least-norm split is followed and flagged, as on the event path
    # (`_least_norm_select`).
    obj = Objective.from_expr("0.5*(x0+x1)**2 + 0.5*(x0+x1+x2)**2", ["x0", "x1", "x2"])
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, [1.0, 0.5, 2.0], (0.0, 5.0), method="continuation")
    assert sol.status == 1, sol.message
    entry = sol.events[0]
    assert entry.kind == "sliding-entry" and set(entry.indices) == {0, 1}
    assert entry.t == pytest.approx(1.0, abs=1e-12)
    assert not entry.unique and "least-norm" in entry.note
    assert "not unique from t = 1" in sol.message
    # The exact path takes the least-norm split and says the rest is not unique.
    exact = fp.solve(flow, [1.0, 0.5, 2.0], (0.0, 5.0), method="exact")
    assert exact.status == 1 and not exact.events[-1].unique
    np.testing.assert_allclose(exact.x[-1], [0.25, -0.25, 0.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(sol.x[-1], exact.x[-1], rtol=0, atol=1e-8)
    np.testing.assert_allclose(sol(1.5), [0.125, -0.375, 0.5], rtol=0, atol=1e-8)


@pytest.mark.parametrize(("stiff", "centre"), [(1e8, 1.0), (1.0, 1e9)])
def test_a_stiff_or_large_coordinate_does_not_hide_a_small_partial_as_rounding(stiff, centre):
    # The rest test at an entry compared the free partials with the gradient's largest
    # change over one ulp of every coordinate: the stiff (or large) coordinate's 1e-6
    # hid ∂₁f = 1e-7, and the run rested at t = 1 with x₁ 1e-7 from its minimizer,
    # reported unique. Closed form: x₀ arrives at t = 1, x₁ at t = 1 + 1e-7.
    c, d = 0.3, 1e-7
    obj = Objective(
        lambda z: (
            0.5 * stiff * (z[0] - centre) ** 2 + 0.5 * (z[1] - c) ** 2 + 0.25 * (z[1] - c) ** 4
        ),
        lambda z: np.array([stiff * (z[0] - centre), (z[1] - c) + (z[1] - c) ** 3]),
        lambda z: np.diag([stiff, 1.0 + 3 * (z[1] - c) ** 2]),
        n=2,
    )
    x0 = np.array([centre - 1.0, c + 1.0 + d])
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 3.0), method="continuation")
    assert sol.status == 1, sol.message
    rest = sol.events[-1]
    assert rest.kind == "stationary"
    assert rest.t == pytest.approx(1.0 + d, abs=1e-12)
    assert abs(sol.x[-1][1] - c) <= 1e-13


def _poisson_from_a_huge_gradient() -> tuple[Objective, np.ndarray]:
    """A Poisson model (λ = 1e-3, m = 43, n = 15, columns scaled 1e-3 … 1e3 then to
    |entries| ≤ 0.5) started where ``|∇f| ≈ 1e33`` (a reviewer's fuzz case)."""
    rng = np.random.default_rng(154)
    rng.choice(5), rng.choice(5)  # (the fuzz's draws of the loss and the ridge)
    n, m = 15, 43
    rng.integers(2, 25), rng.integers(5, 63)
    A = rng.standard_normal((m, n))
    if rng.random() < 0.5:
        A *= 10.0 ** rng.uniform(-3, 3, n)
    elif rng.random() < 0.5:
        A *= 10.0 ** rng.uniform(-1, 1, n)
    if rng.random() < 0.25:
        j, k = rng.choice(n, 2, replace=False)
        A[:, j] = A[:, k] * (1.0 if rng.random() < 0.5 else -2.0)
    rng.standard_normal(n)
    A = A / np.maximum(1.0, np.abs(A).max(axis=0)) * 0.5
    y = rng.poisson(np.exp(np.clip(A @ rng.standard_normal(n) * 0.3, -3, 3))).astype(float)
    obj = fp.objectives.linear_model(A, y, 1e-3, loss="poisson")
    rng.choice(3)
    x0 = rng.standard_normal(n) * 10.0 / np.maximum(np.linalg.norm(A, axis=0) / np.sqrt(m), 1e-3)
    return obj, x0


@pytest.mark.parametrize("method", ["events", "auto"])
def test_a_rest_far_above_its_residuals_rounding_is_not_certified_by_the_condition(method):
    # The ℓ1 event path "rested" where |∇f| = 2.9e19 (1e-5 of its terms; f = 3e20 against
    # a minimum near 1) with status 1: the Hessian's condition of 6.8e12 let the self-check
    # excuse a Newton distance of 7 % of the path's size, whatever the residual.
    obj, x0 = _poisson_from_a_huge_gradient()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sol = fp.solve(
            fp.steepest_descent_flow(obj, "l1"),
            x0,
            (0.0, 1e6),
            method=method,
            rtol=1e-10,
            atol=1e-12,
            check_derivatives=False,
        )
    if sol.status == 1:  # (a success must be the minimizer: its gradient at rounding)
        x = sol.x[-1]
        terms = np.abs(obj.hess(x)) @ np.abs(x) + 1.0
        assert np.all(np.abs(obj.grad(x)) <= 1e-8 * terms), sol.message
    else:
        assert sol.status < 0
