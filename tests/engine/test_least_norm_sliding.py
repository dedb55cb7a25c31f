"""Sliding on a block singular to double precision, with a consistent selection: the event
path follows the least-norm selection and flags it (DESIGN.md §1.2).

The references are closed forms derived by hand (a valley circle, duplicated features)
and, for a matrix factorization, the invariants of a Filippov solution: the velocity in
``−Sign(∇f)`` at every sampled time, ``f`` falling, the least-norm velocity orthogonal to
the rotations that leave ``f`` and the free coordinates unchanged, and a stationary end.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import filippov as fp
from filippov._mode_field import consistent_null_basis, least_norm_selection
from filippov.objectives import Objective, matrix_factorization, matrix_factorization_init

# f = ¼(x0² + x1² − x2)² + ½(x2 − 3)²: its valley r² = x2 makes the block of (x0, x1)
# singular along the circle's tangent. From (0.6, 0.3, 1) every coordinate moves at +1
# until r² = x2 at t1 (2t² + 0.8t − 0.55 = 0); then (x0, x1) slide on the valley while x2
# rises at 1, the least-norm motion radial: (x0, x1) ∝ √x2, until x2 = 3 (t = 2), the rest.
_CIRCLE = "(x0**2 + x1**2 - x2)**2/4 + (x2 - 3)**2/2"
_CIRCLE_X0 = np.array([0.6, 0.3, 1.0])
_T1 = (-0.8 + np.sqrt(0.64 + 4.4)) / 4


def _circle_exact(t: float) -> np.ndarray:
    if t <= _T1:
        return _CIRCLE_X0 + t
    x2_entry = 1.0 + _T1
    x2 = min(1.0 + t, 3.0)
    return np.r_[(_CIRCLE_X0[:2] + _T1) * np.sqrt(x2 / x2_entry), x2]


@pytest.mark.parametrize("method", ["events", "continuation", "auto"])
def test_a_valley_circle_is_followed_with_the_least_norm_motion(method: str) -> None:
    obj = Objective.from_expr(_CIRCLE, ["x0", "x1", "x2"])
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"), _CIRCLE_X0, (0.0, 5.0), method=method, rtol=1e-10
    )
    assert sol.status == 1, sol.message
    ts = np.linspace(0.0, 5.0, 401)
    err = max(float(np.max(np.abs(sol(t) - _circle_exact(float(t))))) for t in ts)
    assert err < 1e-7
    entry = sol.events[0]
    assert entry.kind == "sliding-entry" and set(entry.indices) == {0, 1}
    assert entry.t == pytest.approx(_T1, abs=1e-9)
    assert not entry.unique and "least-norm" in entry.note
    assert sol.info["least_norm_sliding"]["t"] == pytest.approx(_T1, abs=1e-9)
    assert sol.info["least_norm_sliding"]["indices"] == 2
    assert f"not unique from t = {_T1:.6f}"[:24] in sol.message
    assert sol.events[-1].kind == "stationary" and sol.events[-1].t == pytest.approx(2.0, abs=1e-8)


@pytest.mark.parametrize("method", ["events", "continuation"])
def test_duplicated_features_split_their_motion_equally(method: str) -> None:
    # f = ½(x0 + x1)² + ½(x0 + x1 + x2)² from (1, 2, 3): all move at −1 until ∂0f = ∂1f =
    # 9 − 5t vanishes (t = 1.8); then 2(x0 + x1) + x2 = 0 is kept with x2 falling at 1, so
    # x0 + x1 rises at ½, split equally by the least norm (¼ each), until x2 = 0 (t = 3).
    obj = Objective.from_expr("(x0 + x1)**2/2 + (x0 + x1 + x2)**2/2", ["x0", "x1", "x2"])
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"), np.array([1.0, 2.0, 3.0]), (0.0, 4.0),
        method=method, rtol=1e-10,
    )  # fmt: skip
    assert sol.status == 1, sol.message

    def exact(t: float) -> np.ndarray:
        if t <= 1.8:
            return np.array([1.0, 2.0, 3.0]) - t
        s = min(t, 3.0) - 1.8
        return np.array([-0.8 + s / 4, 0.2 + s / 4, 1.2 - s])

    err = max(float(np.max(np.abs(sol(t) - exact(float(t))))) for t in np.linspace(0, 4, 321))
    assert err < 1e-8
    assert not sol.events[0].unique and "least-norm" in sol.events[0].note
    assert "not unique" in sol.message


def _factorization(p: int, q: int, r: int, seed: int) -> tuple[Objective, np.ndarray]:
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((p, r)) @ rng.standard_normal((q, r)).T
    mask = rng.random((p, q)) < 0.7
    return (
        matrix_factorization(M, r, lam=1e-3, mask=mask),
        matrix_factorization_init((p, q), r, scale=0.1, seed=seed),
    )


def _rotation_tangents(x: np.ndarray, p: int, q: int, r: int) -> list[np.ndarray]:
    """The tangents at ``x`` of the rotations of two factor columns (f is invariant under
    them: the loss sees U Vᵀ only, the ridge ‖U‖² + ‖V‖²)."""
    U, V = x[: p * r].reshape(p, r), x[p * r :].reshape(q, r)
    out = []
    for a in range(r):
        for b in range(a + 1, r):
            A = np.zeros((r, r))
            A[a, b], A[b, a] = 1.0, -1.0
            out.append(np.r_[(U @ A).ravel(), (V @ A).ravel()])
    return out


def test_a_factorization_flow_passes_its_singular_sliding_block() -> None:
    # 8 × 6, rank 3: once every free coordinate lies in one column of the factors, the
    # rotations of the other two columns move sliding coordinates only, and H_SS is
    # singular along them. The run ended −5 ("precision lost") there.
    p, q, r = 8, 6, 3
    obj, x0 = _factorization(p, q, r, seed=4)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 100.0), method="events")
    assert sol.status == 1, sol.message
    assert "least_norm_sliding" in sol.info and "not unique" in sol.message
    assert any(not e.unique for e in sol.events)
    t_ln = sol.info["least_norm_sliding"]["t"]
    t_rest = sol.events[-1].t
    assert np.max(np.abs(obj.grad(sol.x[-1]))) < 1e-8
    # f falls, and the velocity is in −Sign(∇f) at every sampled time (inside segments).
    ts = np.r_[np.linspace(0.0, t_ln, 200)[1:], np.linspace(t_ln, t_rest, 200)[1:-1]]
    fs = np.array([obj.f(sol(t)) for t in ts])
    assert np.all(np.diff(fs) <= 1e-12 * max(1.0, abs(fs[0])))
    event_times = np.array([e.t for e in sol.events])
    checked_after = 0
    for t in ts:
        if np.min(np.abs(event_times - t)) < 1e-6:
            continue
        h = 1e-8
        v = (sol(t + h) - sol(t - h)) / (2 * h)
        x = sol(t)
        g = obj.grad(x)
        assert np.max(np.abs(v)) <= 1.0 + 1e-5
        moving = np.abs(g) > 1e-6
        assert np.allclose(v[moving], -np.sign(g[moving]), atol=1e-5)
        segment = next(s for s in sol.segments if s.t0 <= t <= s.t1)
        free = np.asarray(segment.mode.signs) != 0
        assert np.allclose(v[free], -np.asarray(segment.mode.signs)[free], atol=1e-5)
        if t > t_ln + 1e-6:
            # The least norm: no motion along a rotation that keeps every free coordinate.
            for tangent in _rotation_tangents(x, p, q, r):
                if np.max(np.abs(tangent[free]), initial=0.0) == 0.0:
                    checked_after += 1
                    along = abs(tangent @ v) / (np.linalg.norm(tangent) * np.linalg.norm(v))
                    assert along < 1e-6
    assert checked_after > 0  # (the least-norm stretch was sampled)


@pytest.mark.parametrize(("p", "q", "r"), [(6, 5, 3), (8, 6, 4)])
def test_a_factorization_flow_rests_where_its_whole_gradient_is_rounding(
    p: int, q: int, r: int
) -> None:
    # The flow reaches its valley with every partial at 1e-16; the last entries and exits
    # there were rounding, and the run ended −3 ("a pole or discontinuity of h") or −5 at
    # the minimizer (8 × 6 × 4: −3 with two BLAS threads only, a partial of 1e-16 whose
    # own change over an ulp was 1e-19 read as no rounding).
    obj, x0 = _factorization(p, q, r, seed=0)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 100.0), method="events")
    assert sol.status == 1, sol.message
    assert sol.events[-1].kind == "stationary"
    assert np.max(np.abs(obj.grad(sol.x[-1]))) < 1e-12


def test_an_inconsistent_singular_block_has_no_least_norm_selection() -> None:
    M = np.array([[1.0, 1.0], [1.0, 1.0]])
    assert consistent_null_basis(M, np.array([1.0, -1.0]), np.ones(2)) is None
    basis = consistent_null_basis(M, np.array([1.0, 1.0]), np.ones(2))
    assert basis is not None and basis.shape == (2, 1)
    assert abs(float(basis[0, 0])) == pytest.approx(np.sqrt(0.5))
    assert consistent_null_basis(np.eye(2), np.ones(2), np.ones(2)) is None  # (regular)


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(2, 8),
    q=st.integers(1, 2),
    seed=st.integers(0, 2**32 - 1),
    tilt=st.floats(0.0, 0.5),
)
def test_the_bordered_solve_is_the_least_norm_solution(
    k: int, q: int, seed: int, tilt: float
) -> None:
    # A PSD M of rank k − q, a right side in its range, and a border only transversal to
    # the null space (tilted off it): the solve is pinv(M) a, the basis spans null(M).
    if q >= k:
        q = k - 1
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((k, k)))
    w = np.r_[rng.uniform(0.1, 10.0, k - q), np.zeros(q)]
    M = (Q * w) @ Q.T
    M = 0.5 * (M + M.T)
    a = M @ rng.standard_normal(k)
    null = Q[:, k - q :]
    border, _ = np.linalg.qr(null + tilt * rng.standard_normal((k, q)))
    y, basis = least_norm_selection(M, a, border)
    assert basis is not None
    expected = np.linalg.pinv(M, rcond=1e-10) @ a
    assert np.allclose(y, expected, atol=1e-9 * max(1.0, float(np.max(np.abs(expected)))))
    assert np.allclose(basis @ (basis.T @ null), null, atol=1e-8)


@pytest.mark.parametrize("method", ["events", "auto", "exact"])
def test_duplicated_features_are_flagged_on_every_path_and_at_any_start_time(
    method: str,
) -> None:
    # The exact path (auto's choice for this quadratic) reported the split unique: its
    # Hessian passed Cholesky by rounding (condition estimate 2e16).
    obj = Objective.from_expr("(x0 + x1)**2/2 + (x0 + x1 + x2)**2/2", ["x0", "x1", "x2"])
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"), np.array([1.0, 2.0, 3.0]), (100.0, 104.0),
        method=method,
    )  # fmt: skip
    assert sol.status == 1, sol.message
    entry = sol.events[0]
    assert entry.kind == "sliding-entry" and entry.t == pytest.approx(101.8, abs=1e-9)
    assert not entry.unique
    assert sol.info["least_norm_sliding"]["t"] == pytest.approx(101.8, abs=1e-9)
    assert "not unique from t = 101.8" in sol.message
    assert np.allclose(sol(104.0), [-0.5, 0.5, 0.0], atol=1e-9)


def test_the_greedy_continuation_rests_where_its_whole_gradient_is_rounding() -> None:
    # 6 × 5, rank 3: the greedy (ℓ1) flow's tie continuation reached the valley with max
    # |∂f| = 1.8e-14 on a mode of scale 5e-6 and went on with crossings and tie exits of
    # rounding until the Zeno guard ended it −2. The event path (an independent reference
    # for the whole run: its own integrator, selections and event location) rests there.
    obj, x0 = _factorization(6, 5, 3, seed=0)
    system = fp.steepest_descent_flow(obj, "l1")
    sol = fp.solve(system, x0, (0.0, 100.0), method="continuation")
    assert sol.status == 1, sol.message
    assert sol.events[-1].kind == "stationary" and not sol.events[-1].unique
    reference = fp.solve(system, x0, (0.0, 100.0), method="events")
    assert reference.status == 1, reference.message
    assert len(sol.events) == len(reference.events)
    assert np.max(np.abs(sol.x[-1] - reference.x[-1])) < 1e-8
    assert sol.events[-1].t == pytest.approx(reference.events[-1].t, abs=1e-8)


# Cases of a review of the first version, each a wrong answer it gave with status 0 or 1.


def test_a_nearly_singular_but_regular_block_is_not_cut() -> None:
    # Eigenvalues 2 and 2e-14 (condition 1e14, the small one resolved to a few per cent),
    # the selection's component along it O(1): cutting it moved the run by 2.5, status 1,
    # "not unique". Exact: x = (−0.75t, −0.25t, t, t) to the rest at t = 10.
    obj = Objective.from_expr(
        "(x0 + x1 + x3)**2/2 + 1e-14*(x0 - x1 + 0.5*x2)**2/2 + (x2 - 10)**2/2 + (x3 - 10)**2/2",
        ["x0", "x1", "x2", "x3"],
    )
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"), np.zeros(4), (0.0, 12.0), method="events",
        rtol=1e-10,
    )  # fmt: skip
    assert "least_norm_sliding" not in sol.info
    if sol.status >= 0:
        for t in np.linspace(0.0, 12.0, 25):
            exact = np.array([-0.75, -0.25, 1.0, 1.0]) * min(float(t), 10.0)
            assert np.max(np.abs(sol(t) - exact)) < 1e-6
    else:
        assert sol.status == -5 and "precision lost" in sol.message


def test_the_exact_path_does_not_flag_a_regular_block_of_condition_1e14() -> None:
    # The same quadratic on the exact path: its Hessian passes Cholesky with condition
    # 8e13, unique in exact arithmetic; a first version flagged its entry "repulsive",
    # not unique, with the least-norm note (the test was "beyond 1e13", not "singular").
    obj = Objective.from_expr(
        "(x0 + x1 + x3)**2/2 + 1e-14*(x0 - x1 + 0.5*x2)**2/2 + (x2 - 10)**2/2 + (x3 - 10)**2/2",
        ["x0", "x1", "x2", "x3"],
    )
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), np.zeros(4), (0.0, 12.0), method="exact")
    assert sol.status == 1
    assert "least_norm_sliding" not in sol.info
    assert sol.events[0].kind == "sliding-entry" and sol.events[0].unique


def test_a_block_singular_only_where_the_mode_starts_is_not_followed_as_singular() -> None:
    # H_SS = [[1, 1], [1, 1]] at x2 = 0 and regular for x2 > 0: the unique solution is
    # (0.65t, −0.15t, t). The first version bordered the regular block for the whole
    # mode: 0.3 off at t = 1, status 0, and `sol(t)` raised.
    obj = Objective.from_expr(
        "(x0 + x1 - 0.5*x2)**2/2 + x2**2*(x0 - x1 - 0.8*x2)**2/2 + (x2 - 3)**2/2",
        ["x0", "x1", "x2"],
    )
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"), np.zeros(3), (0.0, 2.0), method="events",
        rtol=1e-10,
    )  # fmt: skip
    ts = np.linspace(0.0, sol.t[-1], 50)
    states = sol(ts)  # (readable everywhere)
    if sol.status >= 0:
        assert np.max(np.abs(states - np.outer(ts, [0.65, -0.15, 1.0]))) < 1e-6
    else:
        assert sol.status in (-4, -5)
        assert np.max(np.abs(states - np.outer(ts, [0.65, -0.15, 1.0]))) < 1e-6


def test_a_gradient_above_its_rounding_is_no_rest() -> None:
    # ∂1f = 2.7e-7 at the event is within 64 times its change over every coordinate's ulp
    # (x0 ≈ 1e8 leaks into it through the coupling) but 266 from its zero: the first
    # version declared the rest there and moved x1 by 268 at once. Exact: x1 = 501 − t.
    obj = Objective.from_expr("(x0 - 100000000.0 + 0.5*x1)**2/2 + 1e-9*(x1 - 1)**2/2", ["x0", "x1"])
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"), np.array([1e8 + 100.0, 501.0]), (0.0, 450.0),
        method="events", rtol=1e-10,
    )  # fmt: skip
    assert sol.status == 0, sol.message
    for t in (250.0, 300.0, 449.0):
        assert sol(t)[1] == pytest.approx(501.0 - t, abs=1e-6)


def test_a_least_norm_mode_start_is_projected_along_the_range_only() -> None:
    # 8 × 6, rank 2, no ridge (a GL(2) symmetry): the mode's start projection ignored the
    # null space, moved the state 2.7e-6 along it, and every `sol(t)` on that segment of a
    # status-1 run raised ("the system ... has changed since the solve").
    rng = np.random.default_rng(3)
    M = rng.standard_normal((8, 2)) @ rng.standard_normal((6, 2)).T
    mask = rng.random((8, 6)) < 0.7
    obj = matrix_factorization(M, 2, lam=0.0, mask=mask)
    x0 = matrix_factorization_init((8, 6), 2, scale=0.1, seed=3)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 100.0), method="events")
    sol(np.linspace(0.0, sol.t[-1], 400))  # (readable everywhere, whatever the status)
    if sol.status == 1:
        assert np.max(np.abs(obj.grad(sol.x[-1]))) < 1e-8


# The continuation path follows the same least-norm selections (`_least_norm_select`): it
# stopped −4 at each of them ("singular to double precision", or "leading minor not
# positive definite"), and "auto" ran the whole flow again on the event path.


def _events_by_time(sol: fp.Solution) -> list[tuple[float, str, frozenset[int]]]:
    """(time to 1e-7, kind, indices) with simultaneous events of a kind merged (the paths
    record two indices arriving at one instant as one event or two)."""
    merged: dict[tuple[float, str], set[int]] = {}
    for e in sol.events:
        merged.setdefault((round(e.t, 7), e.kind), set()).update(e.indices)
    return sorted((t, kind, frozenset(idx)) for (t, kind), idx in merged.items())


def test_a_factorization_flow_on_the_continuation_path_agrees_with_the_event_path() -> None:
    # 8 × 6, rank 3: both paths enter a singular block (every free coordinate in one
    # column of the factors) and follow its least-norm selection to the rest.
    obj, x0 = _factorization(8, 6, 3, seed=2)
    flow = fp.steepest_descent_flow(obj, "linf")
    cont = fp.solve(flow, x0, (0.0, 100.0), method="continuation")
    ev = fp.solve(flow, x0, (0.0, 100.0), method="events")
    assert cont.status == 1, cont.message
    assert ev.status == 1, ev.message
    assert "not unique" in cont.message
    t_ln = cont.info["least_norm_sliding"]["t"]
    assert t_ln == pytest.approx(ev.info["least_norm_sliding"]["t"], abs=1e-7)
    assert any(not e.unique and e.t == t_ln for e in cont.events)
    # (the events before the rest; at the rest's instant the gradient is rounding, and
    # which indices the two paths record arriving or leaving there is rounding too)
    t_rest = cont.events[-1].t
    assert t_rest == pytest.approx(ev.events[-1].t, abs=1e-7)
    before_c = [e for e in _events_by_time(cont) if e[0] < t_rest - 1e-6]
    before_e = [e for e in _events_by_time(ev) if e[0] < t_rest - 1e-6]
    assert [e[1:] for e in before_c] == [e[1:] for e in before_e]
    assert max(abs(c[0] - e[0]) for c, e in zip(before_c, before_e, strict=True)) < 1e-6
    ts = np.linspace(0.0, 100.0, 2001)
    assert max(float(np.max(np.abs(cont(t) - ev(t)))) for t in ts) < 1e-6
    assert np.max(np.abs(obj.grad(cont.x[-1]))) < 1e-8


def test_a_least_norm_solution_reads_the_same_after_pickling() -> None:
    # The pickled dense output rebuilds its mode, now with the null basis its projection
    # borders the singular block with (read before its first projection, as a worker
    # process would; an invariant: it passed without the basis too, its moves at rounding).
    import pickle

    obj = Objective.from_expr(_CIRCLE, ["x0", "x1", "x2"])
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"), _CIRCLE_X0, (0.0, 5.0), method="events", rtol=1e-10
    )
    ts = np.linspace(0.0, 5.0, 101)
    again = pickle.loads(pickle.dumps(sol))
    assert again.info == sol.info
    assert np.allclose(again(ts), sol(ts), rtol=0.0, atol=1e-12)


@pytest.mark.parametrize("method", ["exact", "continuation"])
def test_a_two_dimensional_null_space_is_reported_in_the_message(method: str) -> None:
    # The exact path flagged the events but left the message and info silent where the
    # Hessian's null space has two dimensions (Cholesky fails: no `gb_pd`).
    obj = Objective.from_expr(
        "(x0 + x1 - 1)**2/2 + (x2 + x3 - 2)**2/2 + (x0 + x1 + x2 + x3 + x4)**2/2",
        [f"x{i}" for i in range(5)],
    )
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "linf"), np.arange(1.0, 6.0), (0.0, 9.0), method=method,
        rtol=1e-10,
    )  # fmt: skip
    assert sol.status == 1, sol.message
    assert "least_norm_sliding" in sol.info and "not unique from t" in sol.message
    assert sol.info["least_norm_sliding"]["t"] == pytest.approx(17 / 7, abs=1e-8)
