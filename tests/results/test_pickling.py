"""Objects built by the library pickle and unpickle to working, equal objects.

They must cross process boundaries (multiprocessing, Dask, joblib, caches): each kind goes
through ``pickle`` and through a real ``ProcessPoolExecutor`` round trip, and the copy is
compared with the original by what it computes.
"""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import filippov as fp
from filippov import objectives as obj_lib
from filippov.objectives import Objective

RNG = np.random.default_rng(20261203)
A = RNG.standard_normal((12, 3))
LABELS = np.sign(RNG.standard_normal(12))

OBJECTIVES = {
    "quadratic": lambda: Objective.quadratic([[2.0, 0.5], [0.5, 1.0]], [1.0, -1.0], 0.5),
    "from_expr": lambda: Objective.from_expr(
        "0.5*(x0 - a*x1)**2 + cosh(x1 - x2) + x2**2", ["x0", "x1", "x2"], {"a": 0.3}
    ),
    "separable_quadratic": lambda: obj_lib.separable_quadratic([1.0, 4.0], [0.5, -0.5]),
    "rotated_quadratic": lambda: obj_lib.rotated_quadratic([1.0, 10.0, 100.0], seed=RNG),
    "ridge_logistic": lambda: obj_lib.ridge_logistic(A, LABELS, 0.1),
    "smooth_max": lambda: obj_lib.smooth_max(A[:5], None, 0.1, 0.5),
    "slope": lambda: obj_lib.slope(0.5),
}


def _same_objective(a: Objective, b: Objective) -> None:
    assert (a.n, a.name, repr(a)) == (b.n, b.name, repr(b))
    x = np.linspace(-0.7, 0.9, a.n)
    v = np.linspace(1.0, -1.0, a.n)
    assert a.f(x) == b.f(x)
    np.testing.assert_array_equal(a.grad(x), b.grad(x))
    np.testing.assert_array_equal(a.hess(x), b.hess(x))
    np.testing.assert_array_equal(a.hvp(x, v), b.hvp(x, v))
    assert (a.quadratic_data is None) == (b.quadratic_data is None)


def _round_trip(value):
    """Identity, run in a worker process (arguments and result are pickled)."""
    return value


@pytest.fixture(scope="module")
def pool():
    # "spawn": other test modules import JAX, which is multithreaded, and a fork after
    # that can deadlock (JAX warns); fresh interpreters also unpickle with nothing shared.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as executor:
        yield executor


@pytest.mark.parametrize("kind", sorted(OBJECTIVES))
def test_objectives_pickle(kind, pool):
    original = OBJECTIVES[kind]()
    _same_objective(original, pickle.loads(pickle.dumps(original)))
    _same_objective(original, pool.submit(_round_trip, original).result())


@pytest.mark.parametrize("kind", sorted(OBJECTIVES))
@pytest.mark.parametrize("norm", ["linf", "l1", "l2"])
def test_steepest_descent_systems_pickle(kind, norm):
    system = fp.steepest_descent_flow(OBJECTIVES[kind](), norm)
    copy = pickle.loads(pickle.dumps(system))
    x = np.linspace(-0.3, 0.8, system.n)
    np.testing.assert_array_equal(copy.h(x), system.h(x))
    np.testing.assert_array_equal(copy.jacobian(x), system.jacobian(x))
    assert copy.is_affine == system.is_affine
    assert copy.norm.name == system.norm.name


def test_exact_path_solution_pickles(pool):
    system = fp.steepest_descent_flow(obj_lib.slope(0.5), "linf")
    sol = fp.solve(system, [0.6, 0.1], (0.0, 4.0))
    for copy in (pickle.loads(pickle.dumps(sol)), pool.submit(_round_trip, sol).result()):
        ts = np.linspace(0.0, 4.0, 41)
        np.testing.assert_array_equal(copy(ts), sol(ts))
        assert [(e.t, e.kind, e.indices) for e in copy.events] == [
            (e.t, e.kind, e.indices) for e in sol.events
        ]
        assert (copy.status, copy.message) == (sol.status, sol.message)


def test_solve_in_a_worker_matches_solve_here(pool):
    system = fp.steepest_descent_flow(OBJECTIVES["from_expr"](), "linf")
    here = fp.solve(system, [1.0, -0.5, 0.3], (0.0, 3.0))
    there = pool.submit(fp.solve, system, [1.0, -0.5, 0.3], (0.0, 3.0)).result()
    np.testing.assert_allclose(there.x, here.x, rtol=0, atol=1e-14)
    assert there.status == here.status


def test_trajectory_and_schemes_pickle(pool):
    for scheme in (fp.schemes.SignGD(step=0.1), fp.schemes.SignGD(step="adaptive")):
        copy = pickle.loads(pickle.dumps(scheme))
        assert repr(copy) == repr(scheme)
    traj = fp.schemes.SignGD(step=0.1).run(obj_lib.slope(0.5), [0.6, 0.1], n_steps=20)
    copy = pool.submit(_round_trip, traj).result()
    np.testing.assert_array_equal(copy.x, traj.x)
    np.testing.assert_array_equal(copy.t, traj.t)


def _field_minus(x):
    return np.array([1.0, 1.0])


def _field_plus(x):
    return np.array([1.0, -1.0])


def _switch(x):
    return x[1]


def _switch_grad(x):
    return np.array([0.0, 1.0])


def test_library_systems_pickle():
    from filippov.systems import coulomb_oscillator, piecewise_system, twisting_system

    x = np.array([0.3, -0.7])
    for system in (
        coulomb_oscillator(0.2),
        twisting_system(),
        piecewise_system(_field_minus, _field_plus, _switch, grad_h=_switch_grad),
    ):
        copy = pickle.loads(pickle.dumps(system))
        np.testing.assert_array_equal(copy.selector(x), system.selector(x))
        np.testing.assert_array_equal(copy.jacobian(x), system.jacobian(x))


def _module_level_f(x):
    return float(x @ x)


def _module_level_grad(x):
    return 2.0 * x


def _module_level_hess(x):
    return 2.0 * np.eye(x.size)


def test_user_callables_follow_pickle_rules():
    ok = Objective(_module_level_f, _module_level_grad, _module_level_hess, n=2)
    _same_objective(ok, pickle.loads(pickle.dumps(ok)))
    local = Objective(lambda x: float(x @ x), lambda x: 2.0 * x, lambda x: 2.0 * np.eye(2))
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        pickle.dumps(local)


# ------------------------------------- every remaining public kind, through both routes
def _both_routes(value, pool):
    """The copies made by pickle and by a worker process round trip."""
    return [pickle.loads(pickle.dumps(value)), pool.submit(_round_trip, value).result()]


@pytest.mark.parametrize("name", ["linf", "l1", "l2"])
def test_norms_pickle(name, pool):
    norm = fp.get_norm(name)
    g = np.array([0.3, -0.3, 1.2, 0.0])
    for copy in _both_routes(norm, pool):
        assert copy == norm and copy.name == norm.name
        assert copy.dual == norm.dual
        assert copy(g) == norm(g)
        np.testing.assert_array_equal(copy.lmo(g), norm.lmo(g))
        assert copy.face(g) == norm.face(g)


def test_systems_pickle_through_a_worker(pool):
    from filippov.systems import coulomb_oscillator

    x = np.array([0.3, -0.7])
    for system in (
        fp.steepest_descent_flow(OBJECTIVES["from_expr"](), "l1"),
        coulomb_oscillator(0.2),
    ):
        xs = x if system.n == 2 else np.array([0.3, -0.7, 0.2])
        for copy in _both_routes(system, pool):
            np.testing.assert_array_equal(copy.h(xs), system.h(xs))
            np.testing.assert_array_equal(copy.jacobian(xs), system.jacobian(xs))
            # and it still solves, to the same solution
            assert fp.solve(copy, xs, (0.0, 1.0)) == fp.solve(system, xs, (0.0, 1.0))


SCHEMES = {
    "SignGD": lambda: fp.schemes.SignGD(step=0.05),
    "SignGD adaptive": lambda: fp.schemes.SignGD(step="adaptive"),
    "Signum": lambda: fp.schemes.Signum(step=0.05, beta=0.8),
    "RestartedSignum": lambda: fp.schemes.RestartedSignum(step=0.05),
    "ASGD": lambda: fp.schemes.ASGD(step="adaptive"),
    "ASGD no restart": lambda: fp.schemes.ASGD(step="adaptive", restart=False),
    "FaceAware": lambda: fp.schemes.SignGD(step=fp.schemes.FaceAware(tau=0.1)),
    "ImplicitSignGD": lambda: fp.schemes.ImplicitSignGD(step=0.05),
    "ProjectedSignGD": lambda: fp.schemes.ProjectedSignGD(step=0.05),
    "GreedyCD": lambda: fp.schemes.GreedyCD(step=0.05),
    "NormalizedGD": lambda: fp.schemes.NormalizedGD(step=0.05),
    "GD": lambda: fp.schemes.GD(step=fp.schemes.Armijo()),
    "Adam": lambda: fp.schemes.Adam(step=0.05),
}


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_schemes_pickle_and_run_the_same(name, pool):
    from test_trajectory import assert_same

    scheme = SCHEMES[name]()
    obj = obj_lib.separable_quadratic([1.0, 4.0], [0.5, -0.5])
    ref = scheme.run(obj, [1.0, 1.0], n_steps=15)
    for copy in _both_routes(scheme, pool):
        assert repr(copy) == repr(scheme)
        assert_same(copy.run(obj, [1.0, 1.0], n_steps=15), ref)
    # the trajectory itself, through both routes
    for copy in _both_routes(ref, pool):
        assert_same(copy, ref)


@pytest.mark.parametrize(
    ("norm", "method"),
    [("linf", "events"), ("l1", "events"), ("l2", "events"), ("linf", "continuation")],
)
def test_event_and_continuation_path_solutions_pickle_to_an_equal_solution(norm, method, pool):
    system = fp.steepest_descent_flow(OBJECTIVES["from_expr"](), norm)
    sol = fp.solve(system, [1.0, -0.5, 0.3], (0.0, 3.0), method=method)
    assert sol.method.startswith(method[:6]) and sol.segments
    ts = np.linspace(0.0, 3.0, 301)
    for copy in _both_routes(sol, pool):
        assert copy == sol
        np.testing.assert_array_equal(copy(ts), sol(ts))
        assert [(e.t, e.kind, e.indices, e.mode_after) for e in copy.events] == [
            (e.t, e.kind, e.indices, e.mode_after) for e in sol.events
        ]
        assert (copy.status, copy.message) == (sol.status, sol.message)
