"""Which flow a scheme discretizes (review F3, item 1).

GD, ``x_{k+1} = x_k − η g_k``, is the Euler step of the gradient flow ``x' = −∇f``, not of
the ℓ2 steepest-descent flow ``x' = −∇f/‖∇f‖₂`` (normalized GD's): against that flow its
"tracking error" is the difference of two speeds along one orbit (2.2 at every step on
the example below). compare, convergence_study and sweep refuse it, and any scheme of
another norm, naming both flows; every scheme still runs against its own flow.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg

import filippov as fp
import filippov.schemes as S
from filippov.objectives import rotated_quadratic, separable_quadratic

OBJ = rotated_quadratic([1.0, 10.0], rotation=0.4, seed=0)
X0 = np.array([3.0, -2.0])
T = 1.0
GD_MESSAGE = r"GD, which discretizes the gradient flow .*the l2 flow.*NormalizedGD"


def _solution(norm: str) -> tuple[fp.FilippovSystem, fp.FilippovSolution]:
    flow = fp.steepest_descent_flow(OBJ, norm)
    return flow, fp.solve(flow, X0, (0.0, T))


def test_compare_refuses_gd_against_the_l2_flow_and_names_both_flows() -> None:
    flow, sol = _solution("l2")
    traj = S.GD(step=0.01).run(OBJ, X0, t_final=T)
    with pytest.raises(ValueError, match=GD_MESSAGE) as info:
        fp.compare(traj, sol, system=flow)
    assert "B = 0" in str(info.value)  # ... and says which system GD does track


def test_compare_refuses_gd_from_a_trajectory_saved_without_its_flow() -> None:
    # (a trajectory saved before the metadata recorded `flow`: its class still says)
    flow, sol = _solution("l2")
    traj = S.GD(step=0.01).run(OBJ, X0, t_final=T)
    del traj.metadata["flow"]
    with pytest.raises(ValueError, match=GD_MESSAGE):
        fp.compare(traj, sol, system=flow)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_compare_warns_of_gd_against_a_relays_solution_without_the_system(norm: str) -> None:
    # (stranger fuzz fz11) without `system=` the check above could not run, and GD
    # against a sign flow's solution reported "errors" of 0.35 at every step size, silent
    _, sol = _solution(norm)
    traj = S.GD(step=0.01).run(OBJ, X0, t_final=T)
    with pytest.warns(UserWarning, match=GD_MESSAGE.replace("the l2 flow.*NormalizedGD", "")):
        fp.compare(traj, sol)
    # A system built for the gradient flow itself, given, compares without a word.
    n = X0.size
    gradient_flow = fp.FilippovSystem(
        lambda x: -OBJ.grad(x), np.zeros((n, 1)), lambda x: np.ones(1), "l1",
        jac_h=lambda x: np.zeros((1, n)),
    )  # fmt: skip
    exact = fp.solve(gradient_flow, X0, (0.0, T), rtol=1e-12, atol=1e-14)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = fp.compare(traj, exact, system=gradient_flow)
    # (against the closed form x(t) = x* + e^{−Ht}(x0 − x*) of this quadratic's flow)
    H = np.asarray(OBJ.hess(X0))
    x_star = np.linalg.solve(H, -OBJ.grad(np.zeros(n)))
    closed = [x_star + scipy.linalg.expm(-H * t) @ (X0 - x_star) for t in traj.t]
    by_hand = float(np.max(np.abs(traj.x - np.array(closed))))
    assert report.sup_error_inf == pytest.approx(by_hand, rel=1e-8)


def test_compare_refuses_a_scheme_of_another_norm() -> None:
    flow, sol = _solution("l1")
    traj = S.SignGD(step=0.01).run(OBJ, X0, t_final=T)
    with pytest.raises(ValueError, match=r"SignGD, which discretizes the linf .* the l1 flow"):
        fp.compare(traj, sol, system=flow)


def test_convergence_study_refuses_gd_against_the_l2_flow() -> None:
    flow = fp.steepest_descent_flow(OBJ, "l2")
    with pytest.raises(ValueError, match=r"`scheme_factory` gives " + GD_MESSAGE):
        fp.convergence_study(lambda h: S.GD(step=h), flow, X0, T, [0.02, 0.01])


def test_sweep_refuses_gd_for_a_comparison_before_running() -> None:
    with pytest.raises(ValueError, match=r"`scheme` is " + GD_MESSAGE):
        fp.sweep(OBJ, X0, t_span=(0.0, T), run="compare", scheme=S.GD(step=0.1))


def test_gd_tracks_the_gradient_flow_built_as_the_message_says() -> None:
    # The system the message names, against the closed form x(t) = exp(−Ht) x0 (b = 0):
    # GD's error is first order in the step.
    n = 2
    system = fp.FilippovSystem(
        lambda x: -OBJ.grad(x),
        np.zeros((n, 1)),
        lambda x: np.ones(1),
        "l1",
        jac_h=lambda x: np.zeros((1, n)),
    )
    sol = fp.solve(system, X0, (0.0, T))
    H = OBJ.quadratic_data[0]
    for t in (0.1, 0.5, T):
        np.testing.assert_allclose(sol(t), scipy.linalg.expm(-H * t) @ X0, atol=1e-7)
    errors = [
        fp.compare(S.GD(step=h).run(OBJ, X0, t_final=T), sol, system=system).sup_error_inf
        for h in (0.01, 0.005)
    ]
    assert errors[0] < 0.2
    assert 1.8 < errors[0] / errors[1] < 2.2


LEGITIMATE = [
    ("l2", lambda h: S.NormalizedGD(step=h)),
    ("linf", lambda h: S.SignGD(step=h)),
    ("linf", lambda h: S.ImplicitSignGD(step=h)),
    ("linf", lambda h: S.ProjectedSignGD(step=h, mode="freeze")),
    ("linf", lambda h: S.ProjectedSignGD(step=h, mode="sliding-track")),
    ("linf", lambda h: S.RestartedSignum(step=h, beta=0.5)),
    ("linf", lambda h: S.Signum(step=h, beta=0.5)),
    ("linf", lambda h: S.ASGD(step=h, beta=0.5)),
    ("linf", lambda h: S.Adam(step=h)),
    ("l1", lambda h: S.GreedyCD(step=h, tie="vertex")),
    ("l1", lambda h: S.GreedyCD(step=h, tie="equal")),
    ("l1", lambda h: S.GreedyCD(step=h, tie="selection")),
]


@pytest.mark.parametrize(("norm", "factory"), LEGITIMATE)
def test_every_scheme_is_compared_with_its_own_flow(norm, factory) -> None:
    obj = separable_quadratic([1.0, 3.0], [0.5, -1.0])
    flow = fp.steepest_descent_flow(obj, norm)
    sol = fp.solve(flow, [0.0, 0.0], (0.0, 0.5))
    traj = factory(0.01).run(obj, [0.0, 0.0], t_final=0.5)
    if isinstance(factory(0.01), S.ASGD):
        with pytest.warns(UserWarning, match="another clock"):
            rep = fp.compare(traj, sol, system=flow)
    else:
        rep = fp.compare(traj, sol, system=flow)
    assert np.isfinite(rep.sup_error_inf)


def test_asgd_is_compared_with_a_warning_because_its_distance_does_not_shrink_with_the_step():
    # Independently of the warning's text: ASGD's distance to x(t_k) does not fall with
    # the step (its steps settle at η/(1−β): another clock), SignGD's halves.
    obj = rotated_quadratic([1.0, 10.0], rotation=0.4, seed=0)  # (SignGD slides: O(η))
    flow = fp.steepest_descent_flow(obj, "linf")
    x0 = [3.0, -2.0]
    sol = fp.solve(flow, x0, (0.0, 3.0))  # (a sliding entry at t = 2.35)
    sup = {}
    for name, make in (("sign", S.SignGD), ("asgd", lambda step: S.ASGD(step=step, beta=0.5))):
        errs = []
        for h in (0.01, 0.005):
            traj = make(step=h).run(obj, x0, t_final=3.0)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                errs.append(fp.compare(traj, sol, system=flow).sup_error_inf)
            assert any("another clock" in str(w.message) for w in caught) == (name == "asgd")
        sup[name] = errs
    assert sup["sign"][1] < 0.6 * sup["sign"][0]
    assert sup["asgd"][1] > 0.8 * sup["asgd"][0] and sup["asgd"][0] > 0.1


def test_normalized_gd_tracks_the_l2_flow_at_first_order() -> None:
    flow = fp.steepest_descent_flow(OBJ, "l2")
    study = fp.convergence_study(lambda h: S.NormalizedGD(step=h), flow, X0, T, [0.02, 0.01])
    assert 0.8 < study.order < 1.2


def test_asgd_without_extrapolation_is_signgd_and_compared_without_a_warning():
    obj = rotated_quadratic([1.0, 10.0], rotation=0.4, seed=0)
    flow = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(flow, [3.0, -2.0], (0.0, 3.0))
    asgd = S.ASGD(step=0.01, beta=0.0, restart=False).run(obj, [3.0, -2.0], t_final=3.0)
    sign = S.SignGD(step=0.01).run(obj, [3.0, -2.0], t_final=3.0)
    np.testing.assert_allclose(asgd.x, sign.x, rtol=0, atol=1e-14)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = fp.compare(asgd, sol, system=flow)
    assert rep.sup_error_inf == pytest.approx(fp.compare(sign, sol, system=flow).sup_error_inf)
