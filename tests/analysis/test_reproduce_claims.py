"""The measured checks behind the paper-claims table (filippov.reproduce).

Every reference is a closed form: separable quadratics ``½Σ l_i x_i²`` whose SignGD
iterates are geometric sequences, and ``‖H‖_{∞→1}`` of small matrices by hand.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import filippov.schemes as S
from filippov.objectives import Objective, separable_quadratic
from filippov.reproduce import (
    bound_iterations,
    check_linear_rate,
    describe_advantage,
    linf_vs_separable,
    paper2_runs,
    ridge_logistic_benchmark,
)

# f = ½(x1² + 2x2² + 3x3² + 4x4²), mu = 1 = L_1, sum L = 10, started on the flattest axis:
# there ‖g‖_1 = ‖g‖_2 and f - f* = ‖g‖²/(2mu), so Theorem 5.4's bound is tight up to the
# descent lemma: the adaptive step gives x_k = 0.9^k e_1 (gap ratio 0.81 <= rho = 0.9).
L4 = np.array([1.0, 2.0, 3.0, 4.0])
X0 = np.array([1.0, 0.0, 0.0, 0.0])
ZERO = np.zeros(4)


def tight_problem() -> Objective:
    return separable_quadratic(L4, ZERO)


def test_theorem_5_4_check_passes_for_the_theorems_scheme() -> None:
    obj = tight_problem()
    run = S.SignGD(step=S.Adaptive(L4)).run(obj, X0, n_steps=40)
    np.testing.assert_allclose(run.x[:, 0], 0.9 ** np.arange(41), rtol=1e-12)  # closed form
    check = check_linear_rate(run, obj, L4, 1.0, ZERO, 0.0)
    assert check.holds
    assert check.rho == pytest.approx(0.9, rel=1e-15)
    assert check.worst_contraction == pytest.approx(0.81, rel=1e-12)
    assert check.step_error < 1e-12
    assert (check.step_violations, check.f_violations, check.dist_violations) == (0, 0, 0)


def test_theorem_5_4_check_fails_for_a_step_10x_too_small() -> None:
    # eta = ‖g‖_1 / (10 sum L): x_k = 0.99^k e_1, gap ratio 0.9801 > 0.9 and
    # ‖x_k‖² = 0.9801^k > (2/mu) 0.9^k f_0 = 0.9^k: every bound of the theorem fails
    obj = tight_problem()
    run = S.SignGD(step=S.Adaptive(10.0 * L4)).run(obj, X0, n_steps=40)
    np.testing.assert_allclose(run.x[:, 0], 0.99 ** np.arange(41), rtol=1e-12)
    check = check_linear_rate(run, obj, L4, 1.0, ZERO, 0.0)
    assert not check.holds
    assert check.step_violations == 40
    assert check.step_error == pytest.approx(0.9, rel=1e-9)
    assert check.worst_contraction == pytest.approx(0.9801, rel=1e-12)
    assert check.f_violations >= 40 and check.dist_violations == 40


def test_theorem_5_4_check_rejects_other_schemes_that_meet_the_bound() -> None:
    obj = tight_problem()
    # GD with 1/lambda_max: x_k = 0.75^k e_1 beats the bound but is not the theorem's scheme
    gd = S.GD(step=0.25).run(obj, X0, n_steps=20)
    check = check_linear_rate(gd, obj, L4, 1.0, ZERO, 0.0)
    assert (check.f_violations, check.dist_violations) == (0, 0)
    assert check.step_violations == 20 and not check.holds
    # a step 10x too large lands on x* at once (eta = |x_0|): one wrong step
    big = S.SignGD(step=S.Adaptive(L4 / 10.0)).run(obj, X0, n_steps=5)
    check = check_linear_rate(big, obj, L4, 1.0, ZERO, 0.0)
    assert check.step_violations == 1 and not check.holds


def test_theorem_5_4_check_rejects_a_wrong_mu_and_wrong_L() -> None:
    obj = tight_problem()
    run = S.SignGD(step=S.Adaptive(L4)).run(obj, X0, n_steps=10)
    # mu = 1.5 > lambda_min = 1: assumption fails at every iterate
    assert check_linear_rate(run, obj, L4, 1.5, ZERO, 0.0).assumption_violations == 11
    # L = (0.5, 2, 3, 4.5) has the same sum (same step) but diag(L) does not dominate H
    bad_L = np.array([0.5, 2.0, 3.0, 4.5])
    check = check_linear_rate(run, obj, bad_L, 1.0, ZERO, 0.0)
    assert check.step_violations == 0 and check.assumption_violations == 11
    with pytest.raises(ValueError, match="`L` must be 4 positive"):
        check_linear_rate(run, obj, L4[:3], 1.0, ZERO, 0.0)


def test_theorem_5_4_check_on_a_benchmark_rejects_the_old_false_positives() -> None:
    # The old row accepted a step 10x too small and GD; on this benchmark both still
    # meet the (loose) bounds, so the scheme half of the check must reject them.
    bench = ridge_logistic_benchmark(n=8, m=60, m_val=20, seed=0)
    mu = bench.settings["lam"]

    def check(scheme):
        run = scheme.run(bench.objective, bench.x0, n_steps=60)
        return check_linear_rate(run, bench.objective, bench.L, mu, bench.x_star, bench.f_star)

    assert check(S.SignGD(step=S.Adaptive(bench.L))).holds
    slow = check(S.SignGD(step=S.Adaptive(10.0 * bench.L)))
    assert not slow.holds and slow.step_violations == 60
    assert not check(S.GD(step=S.Constant(1.0 / bench.L_euclid))).holds


def test_corollary_5_6_face_aware_rate_at_equal_curvature() -> None:
    # f = ½‖x‖² (L_i = 1 = mu), n = 10, two active coordinates: the face-aware step is
    # ‖g_A‖_1 / |A| = 2 then 1: x_1 = (1, -1, 0, ...), x_2 = 0; the gap goes 5 -> 1 -> 0,
    # within the refined factor 1 - mu/(|A| l) = 1/2 (Theorem 5.4's factor: 0.9).
    n = 10
    obj = separable_quadratic(np.ones(n), np.zeros(n))
    x0 = np.zeros(n)
    x0[:2] = [3.0, 1.0]
    face = S.SignGD(step=S.FaceAware(np.ones(n))).run(obj, x0, n_steps=5)
    np.testing.assert_array_equal(face.x[1, :2], [1.0, -1.0])
    np.testing.assert_array_equal(face.x[2], np.zeros(n))
    check = check_linear_rate(face, obj, np.ones(n), 1.0, np.zeros(n), 0.0, face=True)
    assert check.holds and check.max_face == 2
    assert check.rho == pytest.approx(0.5) and check.worst_contraction == pytest.approx(0.2)
    # the plain adaptive step eta = ‖g‖_1/10 = 0.4 gives x_1 = (2.6, 0.6, 0, ...): gap ratio
    # (2.6² + 0.6²)/10 = 0.712 -- within Theorem 5.4's 0.9, not within the refined 0.5
    plain = S.SignGD(step=S.Adaptive(np.ones(n))).run(obj, x0, n_steps=5)
    np.testing.assert_allclose(plain.x[1, :2], [2.6, 0.6], rtol=1e-15)
    assert check_linear_rate(plain, obj, np.ones(n), 1.0, np.zeros(n), 0.0).holds
    refined = check_linear_rate(plain, obj, np.ones(n), 1.0, np.zeros(n), 0.0, face=True)
    assert not refined.holds and refined.f_violations > 0
    assert plain.f[1] / plain.f[0] == pytest.approx(0.712, rel=1e-12)
    assert refined.worst_contraction >= 0.712 * (1 - 1e-12)


def test_corollary_5_6_complexity_ratio_tends_to_n_over_s() -> None:
    # ceil(log(eps)/log(rho)); the ratio for 1 - mu/(n l) against 1 - mu/(s l) -> n/s
    assert bound_iterations(0.5, 1e-3) == 10  # 2^-10 < 1e-3 < 2^-9
    assert bound_iterations(0.0, 1e-3) == 1
    n, s, eps = 1000, 10, 1e-8
    ratio = bound_iterations(1 - 1e-3 / n, eps) / bound_iterations(1 - 1e-3 / s, eps)
    assert ratio == pytest.approx(n / s, rel=1e-3)
    with pytest.raises(ValueError, match="rho"):
        bound_iterations(1.0, 1e-3)


def test_linf_equals_sum_of_separable_constants_for_a_diagonal_hessian() -> None:
    check = linf_vs_separable(np.diag([1.0, -2.0, 3.0]))  # ‖H‖_{∞→1} = Σ|h_ii| = 6
    assert (check.L_inf, check.sum_l, check.exact, check.holds) == (6.0, 6.0, True, True)
    assert check.ratio == 1.0


def test_linf_is_only_bounded_by_the_sum_for_a_coupled_hessian() -> None:
    # H = [[2,1,1],[1,2,-1],[1,-1,2]] (PSD): max_s sᵀHs = 6 + 2 max(s1s2 + s1s3 - s2s3) = 8,
    # row sums 4 + 4 + 4 = 12; with l_i = lambda_max = 3, sum 9
    H = np.array([[2.0, 1.0, 1.0], [1.0, 2.0, -1.0], [1.0, -1.0, 2.0]])
    rows = linf_vs_separable(H)
    assert rows.L_inf == pytest.approx(8.0, rel=1e-14) and rows.sum_l == 12.0 and rows.holds
    lmax = linf_vs_separable(H, np.full(3, 3.0))
    assert lmax.l_valid and lmax.holds and lmax.ratio == pytest.approx(8 / 9)
    # l_i = H_ii is not a separable bound here (diag(l) - H is indefinite)
    diag = linf_vs_separable(H, np.diag(H))
    assert not diag.l_valid and not diag.holds
    with pytest.raises(ValueError, match="symmetric"):
        linf_vs_separable(np.triu(H))


def test_describe_advantage_states_the_measurement() -> None:
    adv = np.array([[0.5, 1.2], [3.0, 0.95]])
    conc = np.array([[0.1, 0.8], [1.0, 0.3]])
    rat = np.array([[1.0, 5.0], [9.0, 2.0]])
    text = describe_advantage(adv, conc, rat)
    assert text.startswith("measured: sign descent >10% ahead on 2 of 4")
    assert "concentration ≥ 0.80" in text and "λmax/λavg ≥ 5.0" in text
    assert text.endswith("within 10% on 1")
    assert describe_advantage([0.5], [0.1], [1.0]).endswith("ahead on 0 of 1, within 10% on 0")
    with pytest.raises(ValueError, match="same size"):
        describe_advantage([1.0, 2.0], [0.1], [1.0])


def test_paper2_runs_has_one_momentum_for_every_asgd_run() -> None:
    # beta_tuned was accepted and never set by any caller: the seed keeps no second value
    assert "beta_tuned" not in inspect.signature(paper2_runs).parameters
    bench = ridge_logistic_benchmark(n=4, m=20, m_val=10, seed=0)
    runs = paper2_runs(bench, n_steps=3, beta=0.5, grid=[1e-2], budget=2)
    for label in ("ASGD + restart, tuned", "ASGD, no restart, tuned", "ASGD + restart, adaptive"):
        assert "beta=0.5," in runs[label].metadata["scheme"]


def test_describe_advantage_rounds_its_bounds_down() -> None:
    # (a review: a concentration of 0.8996 among the wins printed as "≥ 0.90")
    text = describe_advantage([1.5, 1.4], [0.8996, 0.95], [4.99, 6.0])
    assert "concentration ≥ 0.89" in text and "λmax/λavg ≥ 4.9" in text


@pytest.mark.parametrize("scale", [1.0, 1e-12])
def test_theorem_5_4_assumptions_are_judged_on_the_problems_own_scale(scale: float) -> None:
    # A wrong L (same sum, diag(L) not above H) or a μ above λ_min passed the assumption
    # test on the same quadratic scaled by 1e-12: its tolerance had an absolute floor.
    d = np.array([1.0, 2.0, 3.0, 4.0]) * scale
    obj = separable_quadratic(d, np.zeros(4))
    run = S.SignGD(step=S.Adaptive(d)).run(obj, np.array([0.1, 0.3, -0.7, 1.0]), n_steps=30)
    bad_L = np.array([0.5, 2.0, 3.0, 4.5]) * scale
    assert not check_linear_rate(run, obj, bad_L, 1.0 * scale, np.zeros(4), 0.0).holds
    high_mu = check_linear_rate(run, obj, d, 1.5 * scale, np.zeros(4), 0.0)
    assert high_mu.assumption_violations == 31 and not high_mu.holds
    assert check_linear_rate(run, obj, d, 1.0 * scale, np.zeros(4), 0.0).holds
