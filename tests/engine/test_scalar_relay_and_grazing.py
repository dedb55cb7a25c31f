"""A relay of one switching function under the ℓ∞ and the ℓ1 norm (the same inclusion:
both subdifferentials are sign off 0 and [−1, 1] at 0), and grazing contacts with a
switching surface, against closed forms.

Every system here is ``s' = 1``, ``y' = a(s) − c·λ``, ``λ ∈ ∂φ(y)`` (``h = y``), so the
solution is a polynomial in ``t`` on each side and its events are roots of polynomials.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import filippov as fp


def _relay(norm: str, a, c: float = 1.0) -> fp.FilippovSystem:
    """``s' = 1``, ``y' ∈ a(s) − c ∂φ(y)`` (f0 = (1, a(s)), B = (0, c)ᵀ, h = y)."""
    return fp.FilippovSystem(
        lambda x: np.array([1.0, a(x[0])]),
        np.array([[0.0], [c]]),
        lambda x: np.array([x[1]]),
        norm,
        jac_h=lambda x: np.array([[0.0, 1.0]]),
    )


# -- one relay: ℓ∞ as ℓ1 ----------------------------------------------------------------
# a(s) = s − 2 from y0 = 1/4: y' = s − 3 above 0 down to y = 0 at t1 = 3 − √8.5, where
# a ∓ 1 < 0 on both sides (a crossing); below, y' = s − 1 brings y back to 0 at
# t2 = 2 − t1 with |a| < 1 (sliding: λ = a); λ reaches 1 at t3 = 3 (exit), then
# y' = s − 3 > 0, y = (t − 3)²/2.
_T1 = 3.0 - math.sqrt(8.5)
_T2 = 2.0 - _T1


def _crossing_then_sliding(t: float) -> float:
    if t <= _T1:
        return 0.25 - 3.0 * t + 0.5 * t * t
    if t <= _T2:
        return 0.5 * (t * t - _T1 * _T1) - (t - _T1)
    if t <= 3.0:
        return 0.0
    return 0.5 * (t - 3.0) ** 2


@pytest.mark.parametrize("norm", ["l1", "linf"])
def test_scalar_relay_crosses_then_slides_then_exits_in_both_norms(norm):
    # Before the fix the ℓ∞ relay ended at t1 with status −4 ("passing through h = 0, or
    # moving along it, is not supported") where the ℓ1 relay went on.
    sol = fp.solve(_relay(norm, lambda s: s - 2.0), [0.0, 0.25], (0.0, 4.0), method="events")
    assert sol.status == 0, sol.message
    assert [e.kind for e in sol.events] == ["crossing", "sliding-entry", "exit"]
    np.testing.assert_allclose([e.t for e in sol.events], [_T1, _T2, 3.0], atol=1e-8)
    ts = np.linspace(0.0, 4.0, 41)
    expected = np.column_stack([ts, [_crossing_then_sliding(t) for t in ts]])
    np.testing.assert_allclose(sol(ts), expected, atol=1e-8)
    # The modes carry the system's own norm; the one on y = 0 is a sliding mode.
    assert {seg.mode.norm for seg in sol.segments} == {norm}
    assert [seg.kind for seg in sol.segments] == ["regular", "regular", "sliding", "regular"]


@pytest.mark.parametrize("norm", ["l1", "linf"])
@pytest.mark.parametrize(
    ("method", "storage"), [("events", "full"), ("auto", "full"), ("auto", "compact")]
)
def test_scalar_relay_with_tangent_drift_slides_in_both_norms(norm, method, storage):
    # y' = −sign(y) with f0 = (1, 0) tangent to y = 0: y = 1.5 − t down to t = 1.5, then
    # sliding at λ = 0 (s keeps moving: no rest). Piecewise affine: "auto" takes the
    # exact path, which refused the ℓ∞ relay with status −4 as the event path did.
    system = fp.FilippovSystem.affine([1.0, 0.0], [[0.0], [1.0]], [[0.0, 1.0]], [0.0], norm)
    sol = fp.solve(system, [0.0, 1.5], (0.0, 3.0), method=method, storage=storage)
    assert sol.status == 0, sol.message
    assert [(e.kind, e.indices) for e in sol.events] == [("sliding-entry", (0,))]
    assert sol.events[0].t == pytest.approx(1.5, abs=1e-9)
    ts = np.linspace(0.0, 3.0, 31)
    expected = np.column_stack([ts, np.maximum(1.5 - ts, 0.0)])
    np.testing.assert_allclose(sol(ts), expected, atol=1e-9)
    assert sol.segments[-1].mode.norm == norm
    assert sol.segments[-1].mode.kind == "sliding"


def test_scalar_linf_relay_rest_keeps_its_modes_named_linf():
    # x' = −sign(x − 1) (n = m = 1): the rest at x = 1 is reached at t = 2 from x0 = 3.
    system = fp.FilippovSystem.affine([0.0], [[1.0]], [[1.0]], [-1.0], "linf")
    sol = fp.solve(system, [3.0], (0.0, 5.0))
    assert sol.status == 1, sol.message
    assert sol.events[-1].kind == "stationary"
    assert sol.events[-1].t == pytest.approx(2.0, abs=1e-12)
    assert sol.events[-1].mode_after == fp.solution.Mode("linf", (0,), (0,))
    np.testing.assert_allclose(sol([1.0, 4.0]), [[2.0], [1.0]], atol=1e-12)


# -- grazing contacts ---------------------------------------------------------------------
# On the side y·side > 0 the field is y' = side·2k(s − τ): y = side·k(s − τ)², touching
# y = 0 at t = τ, state (τ, 0), and leaving it again. The field of that side is tangent
# there (its normal speed 2k(s − τ) vanishes), the other side's pushes back across: a
# grazing contact, the "tangency" event of the event vocabulary.
_GRAZES = [
    # (side, τ, k, integrator): each missed (no event at all) before the fix
    (-1.0, 1.0, 1.0, "DOP853"),
    (-1.0, 2.0764631744795237, 0.10126911166161184, "DOP853"),
    (-1.0, 0.6040079273858857, 5.325468800563892, "RK45"),
    (1.0, 0.5456427738581298, 0.7955706141643024, "DOP853"),
    (1.0, 0.5456427738581298, 0.7955706141643024, "RK45"),
    (1.0, 2.3825704523568603, 0.8319366913037666, "DOP853"),
]


@pytest.mark.parametrize("norm", ["l1", "linf"])
@pytest.mark.parametrize(("side", "tau", "k", "integrator"), _GRAZES)
def test_grazing_contact_is_recorded_as_a_tangency(norm, side, tau, k, integrator):
    system = _relay(norm, lambda s: side * (2.0 * k * (s - tau) + 1.0))
    sol = fp.solve(
        system, [0.0, side * k * tau**2], (0.0, 3.0), method="events", integrator=integrator
    )
    assert sol.status == 0, sol.message
    assert [(e.kind, e.indices) for e in sol.events] == [("tangency", (0,))]
    event = sol.events[0]
    assert event.t == pytest.approx(tau, abs=1e-6)
    np.testing.assert_allclose(event.x, [event.t, 0.0], atol=1e-12)
    ts = np.linspace(0.0, 3.0, 31)
    expected = np.column_stack([ts, side * k * (ts - tau) ** 2])
    np.testing.assert_allclose(sol(ts), expected, atol=1e-8)


def test_near_miss_of_a_surface_is_no_contact():
    # The same parabola lifted by 1e-8 (far above the contact tolerance) never touches.
    tau, k = 1.3, 0.7
    system = _relay("l1", lambda s: 2.0 * k * (s - tau) + 1.0)
    sol = fp.solve(system, [0.0, k * tau**2 + 1e-8], (0.0, 3.0), method="events")
    assert sol.status == 0, sol.message
    assert sol.events == ()


@pytest.mark.parametrize("k", [1e-6, 1e-3, 1.0])
def test_a_grazing_tolerance_in_the_units_of_h(k: float) -> None:
    # h = k·y with y(t) = y_min + (t − 1)²: the contact tolerance was 1e-10·max(1, h's
    # scale), so with h in micro-units a near miss 3e-5 off the surface was recorded as a
    # tangency, and a real dip of 1e-9 was taken for one (its sliding missed).
    def make() -> fp.FilippovSystem:
        return fp.FilippovSystem(
            lambda z: np.array([1.0, 2 * z[0] + 1]),
            np.array([[0.0], [1.0]]),
            lambda z: np.array([k * z[1]]),
            "l1",
            jac_h=lambda z: np.array([[0.0, k]]),
        )

    miss = fp.solve(make(), np.array([-1.0, 1.0 + 3e-5]), (0.0, 2.0))
    assert miss.status == 0 and not miss.events
    assert miss.x[-1][1] == pytest.approx(1.0 + 3e-5, abs=1e-12)
    # A dip of 1e-9 (y' = 2x above y = 0, 2x + 2 below, x = t − 1): it reaches y = 0 at
    # t = 1 − √(1e-9), slides while 2x ≤ 0 ≤ 2x + 2, until x = 0 (t = 1), and leaves
    # upward, y = (t − 1)² after.
    dip = fp.solve(make(), np.array([-1.0, 1.0 - 1e-9]), (0.0, 2.0))
    kinds = [e.kind for e in dip.events]
    assert kinds == ["sliding-entry", "exit"]
    assert dip.events[0].t == pytest.approx(1.0 - math.sqrt(1e-9), abs=1e-9)
    assert dip.x[-1][1] == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("form", ["two fields", "lur'e"])
def test_a_grazing_contact_at_a_two_fold_is_not_called_unique(form: str) -> None:
    # (stranger fuzz fz12) F± = (−1, ∓x₁) on ±y > 0, h = y, from (1, 0.5): y = 0.5 − t +
    # t²/2 touches y = 0 at t = 1, x₁ = 0, where F₋ is tangent too; beyond it both fields
    # leave the surface (ẏ = −x₁ > 0 above, ẏ = x₁ < 0 below), so turning back, crossing
    # into y < 0 and sliding on y = 0 are all Filippov solutions. It was flagged unique.
    def f_plus(x: np.ndarray) -> np.ndarray:
        return np.array([-1.0, -x[0]])

    def f_minus(x: np.ndarray) -> np.ndarray:
        return np.array([-1.0, x[0]])

    if form == "two fields":
        system = fp.piecewise_system(
            f_minus, f_plus, lambda x: x[1], grad_h=lambda x: np.array([0.0, 1.0])
        )
    else:
        system = fp.FilippovSystem(
            lambda x: np.array([-1.0, 0.0]), lambda x: np.array([[0.0], [x[0]]]),
            lambda x: x[1:2], "l1", jac_h=lambda x: np.array([[0.0, 1.0]]),
        )  # fmt: skip
    sol = fp.solve(system, [1.0, 0.5], (0.0, 3.0))
    touch = [ev for ev in sol.events if ev.kind == "tangency"]
    assert len(touch) == 1 and touch[0].t == pytest.approx(1.0, abs=1e-9)
    assert not touch[0].unique and "two-fold" in touch[0].note
    # the branch kept turns back: y = 0.5 − t + t²/2 with x₁ = 1 − t (closed form)
    np.testing.assert_allclose(sol(2.0), [-1.0, 0.5], atol=1e-8)


def test_a_grazing_contact_whose_other_side_pushes_back_stays_unique() -> None:
    # (the same touch with F₋ = (−1, 1) below: it pushes back across the surface, so
    # turning back is the only continuation)
    system = fp.piecewise_system(
        lambda x: np.array([-1.0, 1.0]), lambda x: np.array([-1.0, -x[0]]), lambda x: x[1],
        grad_h=lambda x: np.array([0.0, 1.0]),
    )  # fmt: skip
    sol = fp.solve(system, [1.0, 0.5], (0.0, 3.0))
    touch = [ev for ev in sol.events if ev.kind == "tangency"]
    assert len(touch) == 1 and touch[0].unique


@pytest.mark.parametrize(
    ("below", "fast"),
    [
        (lambda x: np.array([-1.0, x[0] ** 2, 0.0]), 0.0),  # tangent, pushes back beyond
        (lambda x: np.array([-1.0, 1e-12, 0.0]), 0.0),  # pushes back weakly
        (lambda x: np.array([-1.0, 1e-6 + x[0] ** 2, 1e4]), 1e4),  # a fast unrelated z
    ],
)
def test_a_grazing_contact_whose_other_side_pushes_back_is_unique_however_weakly(
    below, fast: float
) -> None:
    # (review rv9 of the two-fold flag) F₋ tangent at the contact but pushing back on both
    # sides of it (ẏ = x₁² ≥ 0), or pushing back by 1e-12, was called a two-fold; a
    # coordinate z' = 1e4 that h = y does not see widened the tolerance. Turning back is
    # the only continuation in each.
    def above(x: np.ndarray) -> np.ndarray:
        return np.array([-1.0, -x[0], fast])

    system = fp.piecewise_system(
        below, above, lambda x: x[1], grad_h=lambda x: np.array([0.0, 1.0, 0.0])
    )
    sol = fp.solve(system, [1.0, 0.5, 0.0], (0.0, 3.0))
    touch = [ev for ev in sol.events if ev.kind == "tangency"]
    assert len(touch) == 1 and touch[0].unique
    np.testing.assert_allclose(sol(2.0)[:2], [-1.0, 0.5], atol=1e-8)
