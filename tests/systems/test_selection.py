"""Tests of filippov.selection against brute force and closed forms."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filippov.selection import (
    Selection,
    SelectionError,
    _box_lemke,
    _box_primal_active_set,
    _solve_pattern,
    is_p_matrix,
    solve_ball_vi,
    solve_box_vi,
    solve_simplex_vi,
)


# ---------------------------------------------------------------------------------------
# independent references
# ---------------------------------------------------------------------------------------
def box_violation(M: np.ndarray, a: np.ndarray, lam: np.ndarray, edge: float = 1e-12) -> float:
    """Largest violation of the box VI conditions, classifying λ by its value."""
    w = a - M @ lam
    out = float(np.max(np.maximum(np.abs(lam) - 1.0, 0.0), initial=0.0))
    for li, wi in zip(lam, w, strict=True):
        if li >= 1.0 - edge:
            out = max(out, -wi)
        elif li <= -1.0 + edge:
            out = max(out, wi)
        else:
            out = max(out, abs(wi))
    return out


def brute_force_box(M: np.ndarray, a: np.ndarray, tol: float = 1e-9) -> list[np.ndarray]:
    """Every solution over the 3^k active patterns, one plain solve per pattern."""
    k = a.size
    sols: list[np.ndarray] = []
    for pattern in itertools.product((-1, 0, 1), repeat=k):
        p = np.array(pattern)
        F = p == 0
        lam = p.astype(float)
        if F.any():
            A = M[np.ix_(F, F)]
            if abs(np.linalg.det(A)) < 1e-12:
                continue
            lam[F] = np.linalg.solve(A, a[F] - M[np.ix_(F, ~F)] @ lam[~F])
        w = a - M @ lam
        feasible = np.all(np.abs(lam) <= 1 + tol) and np.all(w[p == 1] >= -tol)
        feasible = feasible and np.all(w[p == -1] <= tol)
        if feasible and not any(np.allclose(lam, s) for s in sols):
            sols.append(lam)
    return sols


def random_spd(rng: np.random.Generator, k: int, cond: float = 100.0) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.standard_normal((k, k)))
    return (Q * np.geomspace(1.0, cond, k)) @ Q.T / np.sqrt(cond)


def simplex_violation(M: np.ndarray, a: np.ndarray, w: np.ndarray, r: float) -> float:
    rho = a - M @ w
    pos = w > 0
    return max(
        abs(w.sum() - 1.0),
        float(np.max(-w, initial=0.0)),
        float(np.max(np.abs(rho[pos] - r), initial=0.0)),
        float(np.max(rho[~pos] - r, initial=0.0)),
    )


def brute_force_simplex(M: np.ndarray, a: np.ndarray, tol: float = 1e-9) -> list[np.ndarray]:
    k = a.size
    sols = []
    for size in range(1, k + 1):
        for S in itertools.combinations(range(k), size):
            idx = list(S)
            K = np.block([[M[np.ix_(idx, idx)], np.ones((size, 1))], [np.ones((1, size)), 0]])
            if abs(np.linalg.det(K)) < 1e-12:
                continue
            sol = np.linalg.solve(K, np.r_[a[idx], 1.0])
            w = np.zeros(k)
            w[idx] = sol[:size]
            if simplex_violation(M, a, np.maximum(w, 0), sol[size]) <= tol and w.min() >= -tol:
                sols.append(w)
    return sols


# ---------------------------------------------------------------------------------------
# box VI: symmetric positive definite
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("seed", range(4))
def test_box_spd_matches_brute_force(k: int, seed: int) -> None:
    rng = np.random.default_rng(100 * k + seed)
    M = random_spd(rng, k)
    a = 2.0 * rng.standard_normal(k)
    sel = solve_box_vi(M, a)
    assert sel.unique and sel.method.startswith("block-pivoting")
    assert box_violation(M, a, sel.lam) <= 1e-10
    assert sel.residual <= 1e-10
    if k <= 5 or seed < 2:
        (ref,) = brute_force_box(M, a)
        assert np.max(np.abs(sel.lam - ref)) <= 1e-10
    # sets and pattern agree with the values
    assert np.all(sel.lam[sel.at_upper] == 1.0) and np.all(sel.lam[sel.at_lower] == -1.0)
    assert np.all(np.abs(sel.lam[sel.interior]) < 1.0)
    assert sorted([*sel.at_upper, *sel.at_lower, *sel.interior]) == list(range(k))


def test_box_spd_is_the_box_qp_minimizer() -> None:
    rng = np.random.default_rng(7)
    M = random_spd(rng, 6)
    a = 3.0 * rng.standard_normal(6)
    lam = solve_box_vi(M, a).lam

    def q(x: np.ndarray) -> float:
        return float(0.5 * x @ M @ x - a @ x)

    trials = np.clip(lam + 0.3 * rng.standard_normal((2000, 6)), -1.0, 1.0)
    assert q(lam) <= min(q(x) for x in trials) + 1e-12


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-6, 1e6), st.floats(-1e6, 1e6))
def test_codim_one_is_the_utkin_formula(m: float, a: float) -> None:
    sel = solve_box_vi([[m]], [a])
    assert sel.lam[0] == pytest.approx(np.clip(a / m, -1.0, 1.0), rel=1e-15, abs=0.0)
    assert sel.unique


def test_ill_conditioned_spd_still_exact() -> None:
    rng = np.random.default_rng(3)
    M = random_spd(rng, 8, cond=1e8)
    a = rng.standard_normal(8)
    sel = solve_box_vi(M, a)
    assert box_violation(M, a, sel.lam) <= 1e-10 * (np.abs(a).max() + np.abs(M).sum(1).max())


def test_rounding_level_asymmetry_keeps_the_spd_path() -> None:
    rng = np.random.default_rng(12)
    M = random_spd(rng, 6)
    M = M + 1e-14 * rng.standard_normal((6, 6))  # e.g. M = J B evaluated in floating point
    a = 3.0 * rng.standard_normal(6)
    sel = solve_box_vi(M, a)
    assert sel.method == "block-pivoting" and sel.unique
    assert box_violation(M, a, sel.lam) <= 1e-13


def test_block_pivoting_cycle_falls_back_to_active_set() -> None:
    # Block pivoting (flip every infeasible index at once) can cycle on SPD matrices far
    # from M-matrices; this instance (found by search, ~0.2% of such draws) does, and the
    # finite primal active-set fallback must finish with the exact solution.
    r = np.random.default_rng(9)
    G = r.standard_normal((6, 6))
    M = G @ G.T + 1e-2 * np.eye(6)
    a = 5.0 * r.standard_normal(6)
    sel = solve_box_vi(M, a)
    assert sel.method == "block-pivoting+active-set"
    (ref,) = brute_force_box(M, a)
    assert np.max(np.abs(sel.lam - ref)) <= 1e-10


@pytest.mark.parametrize("seed", range(10))
def test_primal_active_set_alone_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = 5
    M = random_spd(rng, k, cond=1e3)
    a = 3.0 * rng.standard_normal(k)
    start = rng.uniform(-1.0, 1.0, k)
    p, _, _ = _box_primal_active_set(M, a, start, 1e-12, 1000)
    (ref,) = brute_force_box(M, a)
    assert np.max(np.abs(_solve_pattern(M, a, p) - ref)) <= 1e-10


# ---------------------------------------------------------------------------------------
# box VI: warm start
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_warm_start_gives_identical_results(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = 8
    M = random_spd(rng, k)
    a = 2.0 * rng.standard_normal(k)
    cold = solve_box_vi(M, a)
    warm = solve_box_vi(M, a, warm_start=cold)
    assert np.array_equal(warm.lam, cold.lam) and warm.n_pivots == 1
    assert np.array_equal(solve_box_vi(M, a, warm_start=cold.pattern).lam, cold.lam)
    # An index joins the zero set: warm-start from the previous pattern plus a free entry.
    small = solve_box_vi(M[:-1, :-1], a[:-1])
    joined = solve_box_vi(M, a, warm_start=np.r_[small.pattern, 0])
    assert np.max(np.abs(joined.lam - cold.lam)) <= 1e-12
    # A slightly moved right-hand side: the old pattern is (nearly) right.
    moved = solve_box_vi(M, a + 1e-6, warm_start=cold)
    assert moved.n_pivots <= 3
    assert np.max(np.abs(moved.lam - solve_box_vi(M, a + 1e-6).lam)) <= 1e-12


# ---------------------------------------------------------------------------------------
# box VI: general matrices and uniqueness
# ---------------------------------------------------------------------------------------
def test_non_p_matrix_is_flagged_and_min_norm_is_returned() -> None:
    M = np.array([[1.0, 2.0], [2.0, 1.0]])
    assert is_p_matrix(M) is False
    for a in ([0.0, 0.0], [0.5, -0.2], [3.0, 3.0]):
        sel = solve_box_vi(M, a)
        ref = brute_force_box(M, np.array(a))
        # uniqueness is read off the solution set (a = (3, 3): only λ = (1, 1)), not off M
        assert sel.unique == (len(ref) == 1) and sel.method == "enumeration"
        assert sel.n_solutions == len(ref)
        assert np.linalg.norm(sel.lam) == pytest.approx(min(np.linalg.norm(s) for s in ref))
        assert box_violation(M, np.array(a), sel.lam) <= 1e-12
    assert solve_box_vi(M, [0.0, 0.0]).lam.tolist() == [0.0, 0.0]


def test_two_solutions() -> None:
    # λ' = −λ relay with a = 1: λ = −1 (w = 0) and λ = +1 (w = 2) both solve.
    sel = solve_box_vi([[-1.0]], [1.0])
    assert (sel.n_solutions, sel.unique) == (2, False)
    assert abs(sel.lam[0]) == 1.0
    assert len(brute_force_box(np.array([[-1.0]]), np.array([1.0]))) == 2


def test_singular_psd_matrix_is_not_unique() -> None:
    M = np.array([[1.0, 1.0], [1.0, 1.0]])
    sel = solve_box_vi(M, [0.5, 0.5])
    assert not sel.unique
    assert box_violation(M, np.array([0.5, 0.5]), sel.lam) <= 1e-12
    assert sel.lam == pytest.approx([0.25, 0.25])  # min-norm point of {λ1 + λ2 = 1/2}


@pytest.mark.parametrize("seed", range(6))
def test_nonsymmetric_p_matrix_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = 5
    S = rng.standard_normal((k, k))
    M = random_spd(rng, k) + 0.8 * (S - S.T)  # PD symmetric part ⇒ P-matrix
    a = 2.0 * rng.standard_normal(k)
    assert is_p_matrix(M) is True
    sel = solve_box_vi(M, a)
    (ref,) = brute_force_box(M, a)
    assert sel.unique and sel.n_solutions == 1
    assert np.max(np.abs(sel.lam - ref)) <= 1e-10


@pytest.mark.parametrize("seed", range(8))
def test_general_random_matrices_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(50 + seed)
    k = 4
    M = rng.standard_normal((k, k))
    a = rng.standard_normal(k)
    sel = solve_box_vi(M, a)
    ref = brute_force_box(M, a)
    assert sel.n_solutions == len(ref) >= 1
    # random M has nonsingular blocks: the set is the brute-force list, unique iff one
    assert sel.unique == (len(ref) == 1)
    assert box_violation(M, a, sel.lam) <= 1e-10
    assert np.linalg.norm(sel.lam) == pytest.approx(min(np.linalg.norm(s) for s in ref))


def test_lemke_agrees_with_active_set_on_spd() -> None:
    rng = np.random.default_rng(5)
    for k in (3, 12, 20):
        M = random_spd(rng, k)
        a = 3.0 * rng.standard_normal(k)
        path = _box_lemke(M, a)
        assert path is not None
        lam = _solve_pattern(M, a, path[0])
        assert np.max(np.abs(lam - solve_box_vi(M, a).lam)) <= 1e-10


@pytest.mark.parametrize("seed", range(30))
def test_lemke_path_finds_a_brute_force_solution_for_any_matrix(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    k = 1 + seed % 5
    M = rng.standard_normal((k, k))
    a = 2.0 * rng.standard_normal(k)
    path = _box_lemke(M, a)
    assert path is not None
    lam = _solve_pattern(M, a, path[0])
    assert min(np.max(np.abs(lam - ref)) for ref in brute_force_box(M, a)) <= 1e-10


def test_large_non_monotone_matrix() -> None:
    # Lemke's method on the equivalent 2k LCP ends on a secondary ray for ~40% of such
    # draws; the box path must not.
    rng = np.random.default_rng(4)
    for _ in range(5):
        M = rng.standard_normal((15, 15))
        a = rng.standard_normal(15)
        sel = solve_box_vi(M, a)
        assert not sel.unique and sel.method in ("block-pivoting", "lemke")
        assert box_violation(M, a, sel.lam, edge=1e-9) <= 1e-10


def test_large_general_psd_uses_pivoting() -> None:
    rng = np.random.default_rng(9)
    k = 14
    G = rng.standard_normal((k, 6))
    S = rng.standard_normal((k, k))
    M = G @ G.T + (S - S.T)  # monotone (PSD symmetric part), singular, non-symmetric
    a = 3.0 * rng.standard_normal(k)
    sel = solve_box_vi(M, a)
    assert sel.method in ("block-pivoting", "lemke") and not sel.unique
    assert box_violation(M, a, sel.lam, edge=1e-9) <= 1e-8


# ---------------------------------------------------------------------------------------
# P-matrix test
# ---------------------------------------------------------------------------------------
def brute_p(M: np.ndarray) -> bool:
    k = M.shape[0]
    return all(
        np.linalg.det(M[np.ix_(S, S)]) > 0
        for size in range(1, k + 1)
        for S in itertools.combinations(range(k), size)
    )


@pytest.mark.parametrize("seed", range(20))
def test_is_p_matrix_matches_principal_minors(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = 1 + seed % 5
    M = rng.standard_normal((k, k)) + 1.5 * np.eye(k)
    assert is_p_matrix(M) == brute_p(M)
    Ms = M + M.T
    assert is_p_matrix(Ms) == brute_p(Ms)


def test_is_p_matrix_large_sizes() -> None:
    block = np.array([[1.0, -3.0], [1.0, 1.0]])  # P, but symmetric part only PSD
    assert is_p_matrix(block) is True
    big = np.kron(np.eye(7), block)  # k = 14: no minor enumeration, no sufficient test
    assert is_p_matrix(big) is None
    dominant = 4.0 * np.eye(14) + np.diag(np.ones(13), 1) - 2.0 * np.diag(np.ones(13), -1)
    assert is_p_matrix(dominant) is True
    assert is_p_matrix(-np.eye(14)) is False
    assert is_p_matrix(np.zeros((0, 0))) is True


# ---------------------------------------------------------------------------------------
# simplex VI
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_tie_selection_on_separable_quadratic(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = 2 + seed
    ell = rng.uniform(0.1, 10.0, k)
    s = rng.choice([-1.0, 1.0], k)
    H = np.diag(ell)
    S = np.diag(s)
    sel = solve_simplex_vi(S @ H @ S, S @ np.zeros(k))  # the caller's conjugation
    w = (1.0 / ell) / np.sum(1.0 / ell)
    assert np.max(np.abs(sel.lam - w)) <= 1e-14
    assert sel.rate == pytest.approx(-1.0 / np.sum(1.0 / ell), rel=1e-14)
    assert sel.unique and sel.interior.tolist() == list(range(k))
    assert sel.residual <= 1e-14


@pytest.mark.parametrize("k", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("seed", range(4))
def test_simplex_spd_matches_brute_force(k: int, seed: int) -> None:
    rng = np.random.default_rng(1000 + 10 * k + seed)
    M = random_spd(rng, k)
    a = 2.0 * rng.standard_normal(k)
    sel = solve_simplex_vi(M, a)
    (ref,) = brute_force_simplex(M, a)
    assert np.max(np.abs(sel.lam - ref)) <= 1e-10
    assert sel.rate is not None
    assert simplex_violation(M, a, sel.lam, sel.rate) <= 1e-10
    warm = solve_simplex_vi(M, a, warm_start=sel)
    assert np.array_equal(warm.lam, sel.lam) and warm.n_pivots == 1


def test_simplex_non_monotone_is_flagged() -> None:
    M = np.array([[0.0, 1.0], [1.0, 0.0]])
    sel = solve_simplex_vi(M, [0.0, 0.0])
    assert not sel.unique and sel.n_solutions == 3 and sel.method == "enumeration"
    assert sel.lam.tolist() == pytest.approx([0.5, 0.5])
    assert len(brute_force_simplex(M, np.zeros(2))) == 3


def test_simplex_nonsymmetric_matches_brute_force() -> None:
    rng = np.random.default_rng(2)
    M = random_spd(rng, 4) + 0.5 * np.array(
        [[0, 1, 0, 0], [-1, 0, 2, 0], [0, -2, 0, 1], [0, 0, -1, 0]]
    )
    a = rng.standard_normal(4)
    sel = solve_simplex_vi(M, a)
    (ref,) = brute_force_simplex(M, a)
    assert sel.unique and np.max(np.abs(sel.lam - ref)) <= 1e-10


def non_monotone(rng: np.random.Generator, k: int, symmetric: bool) -> np.ndarray:
    """A random matrix with negative curvature on the simplex's tangent space."""
    G = rng.standard_normal((k, k))
    M = G @ G.T / k - rng.uniform(0.2, 1.0) * np.eye(k)
    return M if symmetric else M + 0.3 * rng.standard_normal((k, k))


@pytest.mark.parametrize("seed", range(40))
def test_simplex_lemke_finds_the_single_solution_of_a_small_non_monotone_vi(seed: int) -> None:
    # Lemke's method (used above k = 12) against brute force where that is feasible: on a
    # VI with one solution it must find it; with several, one of them.
    from filippov.selection import _simplex_checked, _simplex_lemke

    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 8))
    M = non_monotone(rng, k, symmetric=seed % 2 == 0)
    a = rng.standard_normal(k) if seed % 3 else np.zeros(k)
    sols = brute_force_simplex(M, a)
    w = _simplex_checked(M, a, _simplex_lemke(M, a), 1e-10, 1e-10)
    assert w is not None
    assert min(np.max(np.abs(w - ref)) for ref in sols) <= 1e-9


@settings(max_examples=40, deadline=None)
@given(st.integers(13, 60), st.integers(0, 2**32 - 1), st.booleans(), st.booleans())
def test_simplex_large_non_monotone_vi_is_solved(
    k: int, seed: int, symmetric: bool, with_a: bool
) -> None:
    # Above the enumeration's k ≤ 12 a non-monotone VI raised SelectionError; the greedy
    # flows of small networks reach such ties (k = 13-51). Now one solution is found, and
    # it satisfies the VI's conditions (checked here, independently).
    rng = np.random.default_rng(seed)
    M = non_monotone(rng, k, symmetric)
    a = rng.standard_normal(k) if with_a else np.zeros(k)
    sel = solve_simplex_vi(M, a)
    assert sel.method in ("lemke", "milp") and not sel.unique
    assert simplex_violation(M, a, sel.lam, sel.rate) <= 1e-9 * (1.0 + np.abs(M).max())


@pytest.mark.parametrize(
    "M", [np.zeros((20, 20)), np.ones((20, 20)), -np.eye(20), np.diag(np.repeat([1.0, -1.0], 10))]
)
def test_simplex_degenerate_large_vi_is_solved(M: np.ndarray) -> None:
    # Every w (zeros), every w (ones), each vertex and the barycentre (−I), ...: ties in
    # every ratio test of the pivoting.
    sel = solve_simplex_vi(M, np.zeros(20))
    assert simplex_violation(M, np.zeros(20), sel.lam, sel.rate) <= 1e-12


@pytest.mark.parametrize("seed", range(6))
def test_simplex_large_integer_vi_is_solved(seed: int) -> None:
    # (From the stranger review.) Integer data make exact ties in Lemke's ratio tests; its
    # lexicographic rule compared float keys exactly, rounding broke the ties, and the
    # pivoting cycled: "no solution" for VIs that have one (14 of 200), or a singular KKT
    # system on the support found raised numpy's LinAlgError.
    rng = np.random.default_rng(seed)
    k = int(rng.integers(13, 60))
    B = rng.integers(-3, 4, (k, k)).astype(float)
    M = B + B.T if seed % 2 else B
    a = rng.integers(-2, 3, k).astype(float) if seed % 3 == 0 else np.zeros(k)
    sel = solve_simplex_vi(M, a)
    assert simplex_violation(M, a, sel.lam, sel.rate) <= 1e-9 * np.abs(M).max()


@pytest.mark.parametrize("scale", [1e-12, 1e-6, 1e6, 1e12])
def test_simplex_vi_does_not_depend_on_the_datas_scale(scale: float) -> None:
    # (From the stranger review.) The pivot threshold and the enumeration's tolerance
    # floors were absolute: at a scale of 1e12 Lemke's method saw a false ray (27 of 30
    # failed), and at 1e-12 the enumeration accepted 33 "solutions" against 3.
    rng = np.random.default_rng(5)
    for k in (6, 20):
        M = non_monotone(rng, k, symmetric=True)
        a = rng.standard_normal(k)
        ref = solve_simplex_vi(M, a)
        sel = solve_simplex_vi(scale * M, scale * a)
        assert sel.method == ref.method and sel.n_solutions == ref.n_solutions
        np.testing.assert_allclose(sel.lam, ref.lam, rtol=0, atol=1e-9)
        assert sel.rate == pytest.approx(scale * ref.rate, rel=1e-9)


def test_simplex_mixed_integer_search_where_lemke_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fallback of a failed pivoting: HiGHS's search for a feasible support, its
    # weights then polished and checked exactly.
    import filippov.selection as selection

    monkeypatch.setattr(selection, "_simplex_lemke", lambda M, a: None)
    rng = np.random.default_rng(11)
    M = non_monotone(rng, 16, symmetric=True)
    a = rng.standard_normal(16)
    sel = solve_simplex_vi(M, a)
    assert sel.method == "milp" and not sel.unique
    assert simplex_violation(M, a, sel.lam, sel.rate) <= 1e-10


def test_simplex_single_index() -> None:
    sel = solve_simplex_vi([[2.0]], [5.0])
    assert sel.lam.tolist() == [1.0] and sel.rate == 3.0 and sel.unique


# ---------------------------------------------------------------------------------------
# ball VI
# ---------------------------------------------------------------------------------------
def ball_violation(M: np.ndarray, a: np.ndarray, lam: np.ndarray) -> float:
    """Violation of the ball VI: interior ⇒ a = Mλ, sphere ⇒ a − Mλ = μλ with μ ≥ 0."""
    w = a - M @ lam
    nrm = np.linalg.norm(lam)
    if nrm < 1.0 - 1e-12:
        return float(np.max(np.abs(w)))
    mu = float(w @ lam)  # the only candidate multiplier (‖λ‖ = 1)
    return max(float(np.max(np.abs(w - mu * lam))), -mu, nrm - 1.0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-100.0, 100.0), min_size=1, max_size=5), st.floats(0.01, 100.0))
def test_ball_scaled_identity_closed_form(a: list[float], c: float) -> None:
    av = np.array(a)
    sel = solve_ball_vi(c * np.eye(av.size), av)
    expected = av / max(c, float(np.linalg.norm(av)))
    assert np.max(np.abs(sel.lam - expected)) <= 1e-12
    assert sel.unique


@pytest.mark.parametrize("seed", range(8))
def test_ball_spd_is_the_trust_region_minimizer(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = 2 + seed % 4
    M = random_spd(rng, k, cond=1e3)
    a = rng.standard_normal(k) * (0.1 if seed % 2 else 20.0)
    sel = solve_ball_vi(M, a)
    assert ball_violation(M, a, sel.lam) <= 1e-10 * max(1.0, np.abs(a).max())
    assert (sel.multiplier or 0.0) >= 0.0

    def q(x: np.ndarray) -> float:
        return float(0.5 * x @ M @ x - a @ x)

    pts = rng.standard_normal((4000, k))
    pts *= rng.uniform(0, 1, (4000, 1)) ** (1 / k) / np.linalg.norm(pts, axis=1, keepdims=True)
    assert q(sel.lam) <= min(q(x) for x in pts) + 1e-12


def test_ball_hard_case_and_indefinite() -> None:
    M = np.diag([-1.0, 2.0])
    sel = solve_ball_vi(M, [0.0, 1.0])  # hard case: a ⟂ eigenvector of −1
    assert sel.multiplier == pytest.approx(1.0)
    assert abs(sel.lam[1]) == pytest.approx(1.0 / 3.0) and abs(sel.lam[0]) == pytest.approx(
        np.sqrt(8.0) / 3.0
    )
    assert not sel.unique and ball_violation(M, np.array([0.0, 1.0]), sel.lam) <= 1e-12
    sel2 = solve_ball_vi(M, [0.5, 1.0])
    assert ball_violation(M, np.array([0.5, 1.0]), sel2.lam) <= 1e-12 and not sel2.unique


def test_ball_nonsymmetric() -> None:
    M = np.array([[1.0, 2.0], [-2.0, 1.0]])  # monotone: unique
    for a in ([0.1, 0.2], [10.0, -3.0]):
        sel = solve_ball_vi(M, a)
        assert sel.unique and ball_violation(M, np.array(a), sel.lam) <= 1e-10


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", [solve_box_vi, solve_simplex_vi, solve_ball_vi])
def test_bad_input(solver: object) -> None:
    with pytest.raises(ValueError, match="`M` must be square"):
        solver(np.ones((2, 3)), [1.0, 2.0])  # type: ignore[operator]
    with pytest.raises(ValueError, match=r"`M` must have shape \(3, 3\)"):
        solver(np.eye(2), [1.0, 2.0, 3.0])  # type: ignore[operator]
    with pytest.raises(ValueError, match="`M` must be finite"):
        solver([[1.0, np.nan], [0.0, 1.0]], [1.0, 2.0])  # type: ignore[operator]
    with pytest.raises(ValueError, match="`a` must be finite"):
        solver(np.eye(2), [np.inf, 2.0])  # type: ignore[operator]
    with pytest.raises(ValueError, match="`a` must be a 1-D vector"):
        solver(np.eye(2), np.ones((2, 1)))  # type: ignore[operator]
    with pytest.raises(ValueError, match="`tol`"):
        solver(np.eye(2), [1.0, 2.0], tol=-1.0)  # type: ignore[operator]


def test_bad_warm_start_and_empty_problems() -> None:
    with pytest.raises(ValueError, match="`warm_start` must have length 2"):
        solve_box_vi(np.eye(2), [1.0, 2.0], warm_start=[0, 0, 0])
    with pytest.raises(ValueError, match="-1/0/1"):
        solve_box_vi(np.eye(2), [1.0, 2.0], warm_start=[2, 0])
    with pytest.raises(ValueError, match="support indices"):
        solve_simplex_vi(np.eye(2), [1.0, 2.0], warm_start=[5])
    with pytest.raises(ValueError, match="at least one entry"):
        solve_simplex_vi(np.zeros((0, 0)), [])
    assert solve_box_vi(np.zeros((0, 0)), []).lam.size == 0
    assert solve_ball_vi(np.zeros((0, 0)), []).lam.size == 0
    with pytest.raises(SelectionError):
        raise SelectionError("named error class exported")


def test_selection_is_immutable() -> None:
    sel = solve_box_vi(np.eye(2), [3.0, 0.5])
    assert isinstance(sel, Selection)
    with pytest.raises(ValueError):
        sel.lam[0] = 0.0
    assert sel.pattern.tolist() == [1, 0]


# ---------------------------------------------------------------------------------------
# filippov.incremental_selection: the same selections kept from event to event
# ---------------------------------------------------------------------------------------
def _random_spd(d: int, rng: np.random.Generator, cond: float = 100.0) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    H = (Q * np.geomspace(1.0, cond, d)) @ Q.T
    return 0.5 * (H + H.T)


def test_inverse_block_keeps_w_through_capacity_changes() -> None:
    """Up to 90 members and back (the buffer grows and shrinks past its slack many times,
    reusing its two backing arrays): ``W`` stays the inverse of the block and every slot
    from ``k`` on stays exactly zero."""
    from filippov.incremental_selection import InverseBlock

    rng = np.random.default_rng(11)
    n = 90
    M = _random_spd(n, rng)
    blk = InverseBlock(M)
    order = rng.permutation(n).tolist()
    capacities = set()
    for step in range(2 * n):
        if step < n:
            blk.insert(order[step])
        else:
            members = blk.members.tolist()
            blk.delete(members[int(rng.integers(len(members)))])
        k = blk.k
        capacities.add(blk.L.shape[0])
        assert blk.L.flags.c_contiguous
        assert not np.any(blk.L[k:]) and not np.any(blk.L[:k, k:])
        if k:
            S = blk.members
            W = np.linalg.inv(M[np.ix_(S, S)])
            assert np.max(np.abs(blk.dense() - W)) <= 1e-11 * np.max(np.abs(W))
    assert len(capacities) >= 6  # grown and shrunk repeatedly


@settings(derandomize=True, deadline=None, max_examples=20)
@given(d=st.integers(min_value=2, max_value=16), seed=st.integers(min_value=0, max_value=10**6))
def test_spd_box_selector_matches_solve_box_vi(d: int, seed: int) -> None:
    """Event after event (candidates changing by a few indices, relays elsewhere flipping),
    the incremental selection is the box VI's unique solution on the candidate block."""
    from filippov.incremental_selection import SpdBoxSelector

    rng = np.random.default_rng(seed)
    GB = _random_spd(d, rng, cond=float(rng.choice([10.0, 1e4])))
    Gc0 = 3.0 * rng.standard_normal(d)
    sel = SpdBoxSelector(GB, Gc0)
    sigma = rng.choice([-1.0, 1.0], size=d)
    cand = np.zeros(0, dtype=np.intp)
    for _ in range(15):
        flip = rng.random(d) < 0.5
        cand = np.flatnonzero(flip) if rng.random() < 0.3 else np.union1d(cand, [rng.integers(d)])
        sigma[cand] = 0.0
        lam_c, interior, unique = sel.select(cand, sigma)
        assert unique
        a = (
            Gc0[cand]
            - GB[np.ix_(cand, np.setdiff1d(np.arange(d), cand))]
            @ sigma[np.setdiff1d(np.arange(d), cand)]
        )
        ref = solve_box_vi(GB[np.ix_(cand, cand)], a)
        np.testing.assert_allclose(lam_c, ref.lam, rtol=0, atol=1e-9)
        assert box_violation(GB[np.ix_(cand, cand)], a, lam_c, edge=1e-9) <= 1e-8
        # the next event: bound candidates take their side, the others a random sign
        sigma[cand[~interior]] = np.sign(lam_c[~interior])
        cand = cand[interior]
        free = np.setdiff1d(np.arange(d), cand)
        sigma[free] = np.where(sigma[free] == 0.0, 1.0, sigma[free])
        sigma[free[rng.random(free.size) < 0.2]] *= -1.0


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("c", [0.235, 1e-6, 3e4])
def test_simplex_with_rates_that_can_never_differ_is_not_unique(k: int, c: float) -> None:
    # (stranger review) M = c·11ᵀ (a function of x₀ + x₁ + …: every rate equal for any
    # weights): its reduced matrix on Σd = 0 is rounding (3e-33 at c = 0.235, k = 2), and
    # judged on its own scale a 1 × 1 rounding was "definite": unique=True, and the flow
    # moved one index alone, which one depending on the order of the variables.
    M = c * np.ones((k, k))
    sel = solve_simplex_vi(M, np.full(k, 0.3 * c))
    assert not sel.unique
    assert np.all(np.abs(sel.lam - 1.0 / k) <= 1e-12)  # the minimal-norm weights
    # a definite block of the same scale stays unique
    assert solve_simplex_vi(M + c * np.eye(k), np.zeros(k)).unique


def test_a_simplex_vi_with_one_isolated_solution_is_unique_without_monotonicity() -> None:
    # (stranger fuzz fz13, review rv9) M = diag(1, −1) is not monotone on the simplex, but
    # its VI has the single solution w = (0, 1) (checked here on a fine grid), and every
    # support's KKT system is regular: unique. It was flagged not unique, as every
    # non-monotone one was (51 of 316 ℓ∞ relays whose continuation is unique).
    M = np.diag([1.0, -1.0])
    a = np.zeros(2)
    sel = solve_simplex_vi(M, a)
    np.testing.assert_allclose(sel.lam, [0.0, 1.0], atol=1e-12)
    assert sel.unique and sel.method == "enumeration"
    grid = np.linspace(0.0, 1.0, 100_001)
    solutions = []
    for w0 in grid:
        w = np.array([w0, 1.0 - w0])
        rho = a - M @ w
        r = float(np.max(rho))  # (w solves the VI iff every index it uses attains max ρ)
        if np.all(rho[w > 0] >= r - 1e-12):
            solutions.append(w0)
    assert solutions == [0.0]


def test_a_simplex_vi_with_a_singular_support_is_not_called_unique() -> None:
    # (twin indices: every split of their weight solves it; the enumeration returns one)
    M = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    M[2, 2] = -3.0  # (not monotone: the enumeration decides)
    sel = solve_simplex_vi(M, np.zeros(3))
    assert not sel.unique


def test_a_rotating_simplex_vi_with_one_solution_is_not_called_unique() -> None:
    # (review rv10) Four indices, one VI solution e₀, every support regular; but among
    # indices 1–3 the rates turn about each other with an outward drift, so a relay can
    # spiral out of the four-way tie through them with index 0 left behind: a second
    # Filippov solution that no VI solution describes. Only symmetric matrices (or two
    # indices) are proven unique by the enumeration.
    eps = 0.1
    v = np.zeros((4, 4))
    v[:, 0] = [1.0, 0.0, 0.0, 0.0]
    outward = {1: [2.0, -1.0, -1.0], 2: [-1.0, 2.0, -1.0], 3: [-1.0, -1.0, 2.0]}
    turn = {1: [0.0, 1.0, -1.0], 2: [-1.0, 0.0, 1.0], 3: [1.0, -1.0, 0.0]}
    for i in (1, 2, 3):
        v[1:, i] = np.array(turn[i]) + eps * np.array(outward[i])
        v[0, i] = eps
    sel = solve_simplex_vi(-v, np.zeros(4))
    np.testing.assert_allclose(sel.lam, [1.0, 0.0, 0.0, 0.0], atol=1e-12)
    assert sel.n_solutions == 1 and not sel.unique
    # (in each sector of the spiral index 0 falls behind the leader)
    assert all(v[0, i] - v[i, i] < 0 for i in (1, 2, 3))
