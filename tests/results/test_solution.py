"""Tests for filippov.solution: modes, events, segments, dense output, persistence."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from filippov.norms import L1Norm
from filippov.solution import (
    EVENT_KINDS,
    SEGMENT_KINDS,
    CallableDense,
    Event,
    FilippovSolution,
    HermiteDense,
    LinearDense,
    Mode,
    Segment,
)

# --------------------------------------------------------------------------- fixtures

# x' = f0 - B λ, λ ∈ Sign(h(x)) with h(x) = x1 - x2 (one switching function):
# from x0 = (-1, 0) the field is (2, 1) while h < 0 and (1, -1) while h > 0, so
# h(t) = -1 + t reaches 0 at t = 1, the trajectory crosses (a crossing event), and
# x(t) = (1, 1) + (t - 1) (1, -1) afterwards.
NEG = Mode("l1", (-1,))
POS = Mode("l1", (1,))
V_NEG = np.array([2.0, 1.0])
V_POS = np.array([1.0, -1.0])


def exact_path(t: np.ndarray) -> np.ndarray:
    t = np.asarray(t, dtype=float)[:, None]
    before = np.array([-1.0, 0.0]) + t * V_NEG
    after = np.array([1.0, 1.0]) + (t - 1.0) * V_POS
    return np.where(t < 1.0, before, after)


def crossing_solution(**kwargs: Any) -> FilippovSolution:
    segments = [
        Segment.linear(0.0, 1.0, [-1.0, 0.0], V_NEG, mode=NEG, lam=[-1.0]),
        Segment.linear(1.0, 2.5, [1.0, 1.0], V_POS, mode=POS, lam=[1.0]),
    ]
    events = [Event(1.0, [1.0, 1.0], "crossing", (0,), NEG, POS)]
    return FilippovSolution(
        t=[0.0, 1.0, 2.5],
        x=[[-1.0, 0.0], [1.0, 1.0], [2.5, -0.5]],
        events=events,
        segments=segments,
        status=0,
        message="Reached the end of t_span.",
        method="exact",
        **kwargs,
    )


def hermite_circle(n_nodes: int, t1: float = np.pi) -> Segment:
    t = np.linspace(0.0, t1, n_nodes)
    y = np.column_stack([np.cos(t), np.sin(t)])
    dy = np.column_stack([-np.sin(t), np.cos(t)])
    return Segment.from_samples(t, y, dy, mode=Mode("l2", (0,)), lam=[1.0])


def mixed_solution() -> FilippovSolution:
    """Hermite (circle) on [0, π], then a linear stationary segment, with events."""
    circle = hermite_circle(41)
    rest = Mode("l2", (0,), (0,))
    stay = Segment.linear(np.pi, 4.0, [-1.0, 0.0], [0.0, 0.0], mode=rest, lam=[0.3],
                          kind="stationary")  # fmt: skip
    events = [
        Event(np.pi, [-1.0, 0.0], "stationary", (0,), circle.mode, rest, note="h = 0"),
        Event(4.0, [-1.0, 0.0], "exit", (), rest, None, unique=False),
    ]
    return FilippovSolution(
        [0.0, np.pi, 4.0],
        [[1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]],
        events,
        [circle, stay],
        1,
        "A stationary point was reached at t = 3.14.",
        nfev=17,
        njev=3,
        nlu=2,
        n_selection_solves=5,
        method="events",
        info={"rtol": 1e-10, "t_span": (0.0, 4.0), "note": "ünïcode"},
    )


def assert_same_solution(a: FilippovSolution, b: FilippovSolution) -> None:
    assert np.array_equal(a.t, b.t) and np.array_equal(a.x, b.x)
    assert a.events == b.events
    assert a.segments == b.segments
    for sa, sb in zip(a.segments, b.segments, strict=True):
        assert sa.mode == sb.mode and sa.kind == sb.kind
        assert np.array_equal(sa.lam, sb.lam)
    assert (a.status, a.message, a.method) == (b.status, b.message, b.method)
    assert (a.nfev, a.njev, a.nlu, a.n_selection_solves) == (
        b.nfev,
        b.njev,
        b.nlu,
        b.n_selection_solves,
    )
    assert a.info == b.info
    ts = np.linspace(a.t[0], a.t[-1], 1001)
    ts = np.concatenate([ts, a.t, [s.t1 for s in a.segments]])
    assert np.array_equal(a(ts), b(ts))
    assert a == b


# --------------------------------------------------------------------------- Mode


class _CustomNorm(L1Norm):
    """A user-defined norm: its name is a valid ``Mode.norm``."""

    name = "custom"


@pytest.mark.parametrize(
    ("mode", "kind", "label"),
    [
        (Mode("l1", (1, -1, 1)), "regular", "regular [+-+]"),
        (Mode("l1", (1, 0, 0), (2, 1)), "sliding", "sliding on {1, 2}"),
        (Mode("linf", (0, -1, 0), (1,)), "regular", "regular -e1"),
        (Mode("linf", (1, 0, -1), (0, 2)), "tie", "tie on {0, 2}"),
        (Mode("linf", (0, 0), (0, 1)), "tie", "tie on {0, 1}"),
        (Mode("l2", (0, 0)), "regular", "regular"),
        (Mode("l2", (0, 0), (0, 1)), "sliding", "sliding at h = 0"),
        (Mode("custom", (1, 0), (1,)), "sliding", "free on {1}"),
        (Mode("l1", (1,) * 20), "regular", "regular [+++++++++...]"),
    ],
)
def test_mode_kind_and_label(mode: Mode, kind: str, label: str) -> None:
    assert mode.kind == kind
    assert mode.kind in SEGMENT_KINDS
    assert mode.label == label
    assert json.loads(json.dumps(mode.to_dict())) == mode.to_dict()


def test_mode_normalizes_and_compares() -> None:
    a = Mode("l1", [1, 0, 0], free=np.array([2, 1]))
    b = Mode("l1", (1, 0, 0), (1, 2))
    assert a.free == (1, 2) and a.signs == (1, 0, 0)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != Mode("l1", (-1, 0, 0), (1, 2))
    assert a.m == 3


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("", (1,)), TypeError, "`norm` must be a non-empty string"),
        (("l1", (2,)), ValueError, "`signs` must hold only -1, 0 and \\+1"),
        (("l1", (1.0,)), TypeError, "`signs` must be a sequence of integers"),
        (("l1", "+-"), TypeError, "`signs` must be a sequence of integers"),
        (("l1", (0, 0), (1, 1)), ValueError, "`free` must not repeat"),
        (("l1", (0,), (1,)), ValueError, "`free` must hold indices in \\[0, 1\\)"),
        (("l1", (1, 1), (1,)), ValueError, "`signs` must be 0 exactly on the sliding set"),
        (("l1", (1, 0)), ValueError, "`signs` must be 0 exactly on the sliding set"),
        (("linf", (1, 0)), ValueError, "active \\(argmax\\) set"),
        (("linf", (1, 1), (0,)), ValueError, "`signs` must be 0 off the active set"),
        (("l2", (1, 0)), ValueError, "`signs` must be all 0 for an l2 mode"),
        (("l2", (0, 0), (0,)), ValueError, "`free` must be empty \\(h != 0\\) or hold every"),
    ],
)
def test_mode_rejects_bad_input(args: tuple[Any, ...], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        Mode(*args)


@pytest.mark.parametrize(
    ("norm", "signs", "free", "expected"),
    [
        ("l1", [1.0, 1e-17, -2.0], [1], Mode("l1", (1, 0, -1), (1,))),
        ("linf", [0.5, -3.0, 3.0], [2, 1], Mode("linf", (0, -1, 1), (1, 2))),
        ("l2", [0.3, -0.1], [], Mode("l2", (0, 0))),
        ("l2", [0.0, 0.0], [0, 1], Mode("l2", (0, 0), (0, 1))),
    ],
)
def test_mode_from_face(norm: str, signs: list[float], free: list[int], expected: Mode) -> None:
    face = SimpleNamespace(norm=norm, signs=np.array(signs), free=np.array(free, dtype=int))
    assert Mode.from_face(face) == expected


# --------------------------------------------------------------------------- Event


def test_event_fields_and_equality() -> None:
    ev = Event(np.float64(0.5), [0.0, 1.0], "sliding-entry", [np.int64(2)], NEG, None)
    assert type(ev.t) is float and ev.indices == (2,) and ev.unique and ev.note == ""
    assert ev.x.dtype == np.float64 and not ev.x.flags.writeable
    same = Event(0.5, np.array([0.0, 1.0]), "sliding-entry", (2,), NEG, None)
    assert ev == same and hash(ev) == hash(same)
    assert ev != Event(0.5, [0.0, 1.0 + 1e-16 * 4], "sliding-entry", (2,), NEG, None)
    assert ev != Event(0.5, [0.0, 1.0], "sliding-entry", (2,), NEG, None, unique=False)
    d = ev.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["mode_before"]["signs"] == [-1] and d["mode_after"] is None
    assert "sliding-entry" in repr(ev)


def test_event_kinds_cover_design_table() -> None:
    table = {"crossing", "sliding-entry", "repulsive", "exit", "tangency", "stationary"}
    assert table <= set(EVENT_KINDS)
    assert {"tie-entry", "tie-exit", "accumulation"} <= set(EVENT_KINDS)
    for kind in EVENT_KINDS:
        assert Event(0.0, [0.0], kind, (), None, None).kind == kind


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kind": "switch"}, ValueError, "`kind` must be one of 'crossing', 'sliding-entry'"),
        ({"indices": (-1,)}, ValueError, "`indices` must be non-negative"),
        ({"indices": (0.5,)}, TypeError, "`indices` must be a sequence of integers"),
        ({"x": [np.nan, 1.0]}, ValueError, "`x` must be finite"),
        ({"x": [[1.0]]}, ValueError, "`x` must be a 1-D vector"),
        ({"t": np.inf}, ValueError, "`t` must be finite"),
        ({"t": "zero"}, TypeError, "`t` must be a real number"),
        ({"mode_before": "l1"}, TypeError, "`mode_before` must be a Mode or None"),
        ({"unique": 1}, TypeError, "`unique` must be a bool"),
        ({"note": None}, TypeError, "`note` must be a string"),
    ],
)
def test_event_rejects_bad_input(kwargs: dict[str, Any], error: type, match: str) -> None:
    args: dict[str, Any] = {
        "t": 0.0,
        "x": [0.0, 0.0],
        "kind": "crossing",
        "indices": (0,),
        "mode_before": NEG,
        "mode_after": POS,
    }
    args.update(kwargs)
    with pytest.raises(error, match=match):
        Event(**args)


# --------------------------------------------------------------------------- Segment


def test_linear_segment() -> None:
    seg = Segment.linear(1.0, 3.0, [1.0, 2.0], [0.5, -1.0], mode=POS, lam=[1.0])
    assert seg.kind == "regular" and seg.n == 2 and seg.duration == 2.0
    assert np.array_equal(seg(1.0), [1.0, 2.0])
    assert np.array_equal(seg([2.0, 3.0]), [[1.5, 1.0], [2.0, 0.0]])
    assert np.array_equal(seg.x1, [2.0, 0.0]) and np.array_equal(seg.x0, [1.0, 2.0])
    assert isinstance(seg.dense, LinearDense) and seg.dense.saveable
    assert seg.to_dict()["dense"] == {"type": "linear", "x0": [1.0, 2.0], "v": [0.5, -1.0]}
    with pytest.raises(ValueError, match=r"`t` must lie in the segment's range \[1.0, 3.0\]"):
        seg(3.5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"t1": 0.5}, ValueError, "`t1` must be >= `t0` = 1.0"),
        ({"kind": "sliding"}, ValueError, "`kind` must be the mode's kind 'regular' or 'stat"),
        ({"kind": "tie"}, ValueError, "`kind` must be the mode's kind"),
        ({"lam": [1.0, 0.0]}, ValueError, "`lam` must have length 1"),
        ({"v": [1.0]}, ValueError, "`v` must have length 2"),
        ({"x0": [np.inf, 0.0]}, ValueError, "`x0` must be finite"),
        ({"mode": "l1"}, AttributeError, "kind"),
    ],
)
def test_linear_segment_rejects_bad_input(kwargs: dict[str, Any], error: type, match: str) -> None:
    args: dict[str, Any] = {"t0": 1.0, "t1": 2.0, "x0": [0.0, 0.0], "v": [1.0, 1.0]}
    args.update(mode=POS, lam=[1.0])
    args.update(kwargs)
    with pytest.raises(error, match=match):
        Segment.linear(**args)


def test_segment_constructor_checks_dense() -> None:
    with pytest.raises(TypeError, match="`dense` must be a SegmentDense"):
        Segment(0.0, 1.0, POS, "regular", [1.0], lambda t: t)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`dense.t0` must equal `t0` = 0\.0"):
        Segment(0.0, 1.0, POS, "regular", [1.0], LinearDense(0.5, [0.0], [1.0]))
    herm = HermiteDense([0.0, 1.0], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match=r"`dense.t` must run from `t0` = 0.0 to `t1` = 2.0"):
        Segment(0.0, 2.0, POS, "regular", [1.0], herm)
    seg = Segment(0.0, 1.0, POS, "stationary", [1.0], herm)
    assert seg.kind == "stationary"


def test_hermite_segment_reproduces_cubics_exactly() -> None:
    t = np.array([0.0, 0.4, 1.0])
    seg = Segment.from_samples(t, t**3 - t, 3 * t**2 - 1, mode=POS, lam=[1.0])
    ts = np.linspace(0.0, 1.0, 101)
    np.testing.assert_allclose(seg(ts)[:, 0], ts**3 - ts, rtol=0, atol=1e-15)
    assert seg.t0 == 0.0 and seg.t1 == 1.0 and seg.n == 1


def test_hermite_segment_meets_the_cubic_hermite_error_bound() -> None:
    # For x = (cos t, sin t), |x''''| <= 1, so on spacing h the error is <= h^4/384, and
    # the bound is attained (to a few %) at interval midpoints where |cos| or |sin| ~ 1.
    ts = np.linspace(0.0, np.pi, 20_001)
    truth = np.column_stack([np.cos(ts), np.sin(ts)])
    hs, errs = [], []
    for n_nodes in (11, 21, 41, 81):
        seg = hermite_circle(n_nodes)
        h = np.pi / (n_nodes - 1)
        err = float(np.max(np.abs(seg(ts) - truth)))
        bound = h**4 / 384.0
        assert 0.9 * bound <= err <= bound * (1 + 1e-9)
        hs.append(h)
        errs.append(err)
    order = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert abs(order - 4.0) < 0.05


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([0.0], [[1.0]], [[0.0]]), "`t` must hold at least 2 nodes"),
        (([0.0, 0.0], [[1.0], [1.0]], [[0.0], [0.0]]), r"`t` must be strictly increasing"),
        (([0.0, 1.0], [[1.0], [1.0], [1.0]], [[0.0], [0.0]]), r"`y` must have shape \(2, '\*'\)"),
        (([0.0, 1.0], [[1.0], [1.0]], [[0.0, 1.0], [0.0, 1.0]]), r"`dy` must have shape \(2, 1\)"),
        (([0.0, 1.0], [[1.0], [np.nan]], [[0.0], [0.0]]), "`y` must be finite"),
    ],
)
def test_hermite_samples_rejected(args: tuple[Any, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Segment.from_samples(*args, mode=POS, lam=[1.0])


@pytest.mark.parametrize(
    ("method", "rtol"),
    [("RK23", 1e-8), ("RK45", 1e-10), ("DOP853", 1e-10), ("Radau", 1e-10), ("BDF", 1e-10),
     ("LSODA", 1e-10)],
)  # fmt: skip
def test_segment_from_ode_solution_reproduces_dense_output(method: str, rtol: float) -> None:
    ivp = solve_ivp(
        lambda t, x: [-x[1], x[0]],
        (0.0, 6.0),
        [1.0, 0.0],
        method=method,
        rtol=rtol,
        atol=1e-12,
        dense_output=True,
    )
    seg = Segment.from_ode_solution(ivp.sol, mode=POS, lam=[1.0])
    assert isinstance(seg.dense, HermiteDense) and seg.dense.source == "ode_solution"
    assert seg.t0 == 0.0 and seg.t1 == 6.0
    ts = np.linspace(0.0, 6.0, 30_001)
    dev = float(np.max(np.abs(seg(ts) - ivp.sol(ts).T)))
    tol = 1e-12 + 1e-12 * 1.5  # atol + rtol * max|x| (the fit bound is a bit above 1)
    assert seg.dense.error is not None and seg.dense.error <= 1.5 * tol
    assert dev <= 3 * tol
    assert np.array_equal(seg.dense.y, ivp.sol(seg.dense.t).T)  # node values are the source's
    # and the reproduction adds nothing visible to the solver's own error
    truth = np.column_stack([np.cos(ts), np.sin(ts)])
    solver_err = float(np.max(np.abs(ivp.sol(ts).T - truth)))
    assert float(np.max(np.abs(seg(ts) - truth))) <= solver_err + 3 * tol


def test_segment_from_ode_solution_subrange_and_tolerance() -> None:
    ivp = solve_ivp(lambda t, x: -x, (0.0, 3.0), [2.0], method="DOP853", dense_output=True)
    seg = Segment.from_ode_solution(ivp.sol, mode=POS, lam=[1.0], t0=0.5, t1=2.0, rtol=1e-6, atol=0)
    assert seg.t0 == 0.5 and seg.t1 == 2.0
    ts = np.linspace(0.5, 2.0, 5001)
    assert np.max(np.abs(seg(ts) - ivp.sol(ts).T)) <= 3e-6
    fine = Segment.from_ode_solution(ivp.sol, mode=POS, lam=[1.0], t0=0.5, t1=2.0)
    assert len(fine.dense.t) > len(seg.dense.t)  # type: ignore[attr-defined]


def test_segment_from_ode_solution_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="`ode_solution` must be a scipy OdeSolution"):
        Segment.from_ode_solution(np.zeros(3), mode=POS, lam=[1.0])
    back = solve_ivp(lambda t, x: -x, (1.0, 0.0), [1.0], dense_output=True)
    with pytest.raises(ValueError, match="must cover a forward time interval"):
        Segment.from_ode_solution(back.sol, mode=POS, lam=[1.0])
    fwd = solve_ivp(lambda t, x: -x, (0.0, 1.0), [1.0], dense_output=True)
    with pytest.raises(ValueError, match="`rtol` and `atol` must be >= 0 and not both 0"):
        Segment.from_ode_solution(fwd.sol, mode=POS, lam=[1.0], rtol=0.0, atol=0.0)
    with pytest.raises(ValueError, match=r"must lie in the dense output's range \[0.0, 1.0\]"):
        Segment.from_ode_solution(fwd.sol, mode=POS, lam=[1.0], t1=1.5)


@pytest.mark.parametrize("vectorized", [False, True])
def test_callable_segment(vectorized: bool) -> None:
    def fun(t: Any) -> np.ndarray:
        out = np.stack([np.exp(-t), np.sin(3 * t)], axis=-1)
        return np.asarray(out)

    seg = Segment.from_callable(0.0, 2.0, fun, mode=POS, lam=[1.0], vectorized=vectorized)
    assert isinstance(seg.dense, CallableDense) and not seg.dense.saveable and seg.n == 2
    ts = np.linspace(0.0, 2.0, 7)
    assert np.array_equal(seg(ts), fun(ts))
    assert np.array_equal(seg(0.5), fun(0.5))
    assert seg.to_dict()["dense"] == {"type": "callable"}


def test_callable_segment_rejects_bad_callables() -> None:
    with pytest.raises(TypeError, match="`fun` must be callable"):
        Segment.from_callable(0.0, 1.0, 3.0, mode=POS, lam=[1.0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`fun` must return a state of shape \(n,\)"):
        Segment.from_callable(0.0, 1.0, lambda t: np.eye(2), mode=POS, lam=[1.0])
    flaky = Segment.from_callable(
        0.0, 1.0, lambda t: np.zeros(2 if t == 0 else 3), mode=POS, lam=[1.0]
    )
    with pytest.raises(ValueError, match=r"`fun` must return states of shape \(2,\)"):
        flaky(0.5)


# --------------------------------------------------------------------------- FilippovSolution


def test_call_values_shapes_and_continuity() -> None:
    sol = crossing_solution()
    assert sol.n == 2 and sol.t_span == (0.0, 2.5)
    ts = np.linspace(0.0, 2.5, 251)
    np.testing.assert_allclose(sol(ts), exact_path(ts), rtol=0, atol=1e-15)
    assert sol(1.3).shape == (2,) and sol([1.3]).shape == (1, 2) and sol([]).shape == (0, 2)
    assert sol(np.float64(0.25)).shape == (2,)
    np.testing.assert_array_equal(sol(ts), np.array([sol(t) for t in ts]))
    # continuity across the event: the one-sided limits agree with the breakpoint state
    eps = 1e-9
    np.testing.assert_allclose(sol(1.0 - eps), sol.x[1], atol=3 * eps)
    np.testing.assert_allclose(sol(1.0 + eps), sol.x[1], atol=3 * eps)
    np.testing.assert_array_equal(sol(sol.t), sol.x)


def test_call_uses_the_later_segment_at_a_boundary() -> None:
    # the first segment ends at (0.999, 1) on purpose: the later segment must win at t = 1
    # (including over an instantaneous zero-length segment in between)
    a = Segment.linear(0.0, 1.0, [0.0, 1.0], [0.999, 0.0], mode=NEG, lam=[-1.0])
    z = Segment.linear(1.0, 1.0, [5.0, 5.0], [0.0, 0.0], mode=POS, lam=[1.0])
    b = Segment.linear(1.0, 2.0, [1.0, 1.0], [1.0, 0.0], mode=POS, lam=[1.0])
    sol = FilippovSolution([0.0, 1.0, 2.0], [[0, 1], [1, 1], [2, 1]], [], [a, z, b], 0, "ok")
    assert np.array_equal(sol(1.0), [1.0, 1.0])
    assert np.array_equal(sol([1.0, 2.0]), [[1.0, 1.0], [2.0, 1.0]])
    assert np.array_equal(sol(np.nextafter(1.0, 0.0)), a(np.nextafter(1.0, 0.0)))
    # a zero-length segment at the very end is what is evaluated there
    end = Segment.linear(2.0, 2.0, [7.0, 7.0], [0.0, 0.0], mode=POS, lam=[1.0])
    sol2 = FilippovSolution([0.0, 1.0, 2.0], [[0, 1], [1, 1], [7, 7]], [], [a, b, end], 0, "ok")
    assert np.array_equal(sol2(2.0), [7.0, 7.0])


def test_call_rejects_times_out_of_range() -> None:
    sol = crossing_solution()
    with pytest.raises(ValueError, match=r"`t` must lie in the solution's time range \[0.0, 2.5\]"):
        sol(2.6)
    with pytest.raises(ValueError, match=r"time range \[0.0, 2.5\]\. Got -1\.0 instead"):
        sol([0.5, -1.0])
    # (every digit of a time just past the end: at fewer it reads as the end itself)
    with pytest.raises(ValueError, match=r"Got 2\.500000000001 instead"):
        sol(2.500000000001)


def test_a_time_an_ulp_past_an_end_is_that_end() -> None:
    # (stranger review) Times built as k·h land an ulp past the end: 150000 * 1e-5 is
    # 1.5000000000000002, and sol(t) raised. A few ulps are the end itself.
    sol = crossing_solution()
    past, before = np.nextafter(2.5, 3.0), np.nextafter(0.0, -1.0)
    assert np.array_equal(sol(past), sol(2.5))
    assert np.array_equal(sol([before, 1.0, past]), sol([0.0, 1.0, 2.5]))
    with pytest.raises(ValueError, match="time range"):
        sol(2.5 + 1e-12)
    with pytest.raises(ValueError, match="`t` must be finite"):
        sol([np.nan])
    with pytest.raises(ValueError, match="`t` must be a scalar or a 1-D array"):
        sol(np.zeros((2, 2)))


def test_solution_without_segments() -> None:
    sol = FilippovSolution([0.0], [[0.1, 0.2]], [], [], -2, "Non-finite field at t = 0.")
    assert not sol.success
    assert np.array_equal(sol(0.0), [0.1, 0.2])
    with pytest.raises(ValueError, match="`t` must lie in the solution's time range"):
        sol(0.1)
    assert "FAILURE (status -2): Non-finite field at t = 0." in sol.summary()


def test_counts_status_and_repr() -> None:
    sol = mixed_solution()
    counts = sol.counts
    assert list(counts) == list(EVENT_KINDS)
    assert counts["stationary"] == 1 and counts["exit"] == 1 and sum(counts.values()) == 2
    assert sol.status == 1 and sol.success
    assert crossing_solution().counts["crossing"] == 1
    r = repr(sol)
    assert r.startswith("FilippovSolution(status=1, t=[0, 4], n=2, segments=2, events=2")
    assert sol.info == {"rtol": 1e-10, "t_span": [0.0, 4.0], "note": "ünïcode"}


def test_summary_contents() -> None:
    text = crossing_solution(nfev=12, n_selection_solves=2).summary()
    lines = text.splitlines()
    assert lines[0] == "FilippovSolution: success (status 0): Reached the end of t_span."
    assert "method: exact" in lines[1] and "t in [0, 2.5]" in lines[1]
    assert "nfev 12" in lines[2] and "selection solves 2" in lines[2]
    assert lines[3] == "  events: crossing 1"
    seg_rows = [ln.split() for ln in lines if ln.startswith("  0  ") or ln.startswith("  1  ")]
    assert ["0", "0", "1", "regular", "regular", "[-]", "linear"] in seg_rows
    assert ["1", "1", "2.5", "regular", "regular", "[+]", "linear"] in seg_rows
    ev_line = next(ln for ln in lines if "crossing" in ln and ln.lstrip().startswith("0"))
    assert ev_line.split()[:5] == ["0", "1", "crossing", "0", "yes"] and "[1, 1]" in ev_line
    # fixed width: every row of a table has the same column starts
    seg_block = lines[lines.index("Segments (2)") + 1 : lines.index("Segments (2)") + 4]
    assert len({ln.index("regular") for ln in seg_block[1:]}) == 1
    mixed = mixed_solution().summary()
    assert "sliding at h = 0" in mixed and "stationary" in mixed and "hermite (41)" in mixed
    assert "NO" in mixed and "h = 0" in mixed


def test_summary_truncates_long_tables() -> None:
    k = 30
    mode = Mode("l1", (1,))
    segs = [
        Segment.linear(float(i), i + 1.0, [float(i)], [1.0], mode=mode, lam=[1.0]) for i in range(k)
    ]
    sol = FilippovSolution(np.arange(k + 1.0), np.arange(k + 1.0)[:, None], [], segs, 0, "ok")
    text = sol.summary(max_rows=6)
    assert "... (24 rows omitted) ..." in text
    lines = text.splitlines()
    start = lines.index("Segments (30)") + 2
    shown = [ln.split()[0] for ln in lines[start : lines.index("", start)]]
    assert shown == ["0", "1", "2", "...", "27", "28", "29"]
    with pytest.raises(ValueError, match="`max_rows` must be an integer >= 2"):
        sol.summary(max_rows=0)


def test_to_dict_is_json_exact() -> None:
    sol = mixed_solution()
    d = sol.to_dict()
    back = json.loads(json.dumps(d, allow_nan=False))
    assert back == d
    assert back["t"] == sol.t.tolist() and back["t"][1] == np.pi
    assert back["counts"]["stationary"] == 1 and back["success"] is True
    assert back["segments"][0]["dense"] == {
        "type": "hermite",
        "n_nodes": 41,
        "source": "samples",
        "error": None,
    }
    assert back["segments"][1]["kind"] == "stationary"
    assert back["events"][1]["unique"] is False


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"t": [0.0, 1.0]}, ValueError, r"`x` must have shape \(len\(t\), n\) = \(2, n\)"),
        ({"x": [-1.0, 1.0, 2.5]}, ValueError, r"`x` must have shape \(len\(t\), n\) = \(3, n\)"),
        ({"t": [0.0, 1.5, 1.0]}, ValueError, r"`t` must be non-decreasing. Got t\[1\] = 1.5 > t"),
        ({"t": []}, ValueError, "`t` must hold at least one time"),
        ({"x": [[0.0, 0.0], [np.nan, 0.0], [0.0, 0.0]]}, ValueError, "`x` must be finite"),
        ({"status": 0.0}, TypeError, "`status` must be an integer. Got 0.0 instead."),
        ({"status": True}, TypeError, "`status` must be an integer"),
        ({"message": None}, TypeError, "`message` must be a string"),
        ({"nfev": -1}, ValueError, "`nfev` must be an integer >= 0. Got -1 instead."),
        ({"method": 3}, TypeError, "`method` must be a string"),
        ({"info": {"f": print}}, TypeError, "`info` must be JSON-serializable"),
        ({"info": {"a": np.nan}}, TypeError, "`info` must be JSON-serializable"),
        ({"info": [("a", 1)]}, TypeError, "`info` must be a mapping or None"),
        ({"events": "crossing"}, TypeError, "`events` must be a sequence of Event"),
        ({"events": [3]}, TypeError, r"`events\[0\]` must be an Event"),
        ({"segments": [None]}, TypeError, r"`segments\[0\]` must be a Segment"),
    ],
)
def test_solution_rejects_bad_input(change: dict[str, Any], error: type, match: str) -> None:
    args: dict[str, Any] = {
        "t": [0.0, 1.0, 2.5],
        "x": [[-1.0, 0.0], [1.0, 1.0], [2.5, -0.5]],
        "events": list(crossing_solution().events),
        "segments": list(crossing_solution().segments),
        "status": 0,
        "message": "ok",
    }
    args.update(change)
    with pytest.raises(error, match=match):
        FilippovSolution(**args)


def test_solution_rejects_inconsistent_events_and_segments() -> None:
    base = crossing_solution()
    t, x, segs = base.t, base.x, list(base.segments)
    late = Event(3.0, [0.0, 0.0], "crossing", (0,), NEG, POS)
    with pytest.raises(ValueError, match=r"`events\[0\].t` must lie in \[0.0, 2.5\]. Got 3.0"):
        FilippovSolution(t, x, [late], segs, 0, "ok")
    short = Event(1.0, [0.0], "crossing", (0,), NEG, POS)
    with pytest.raises(ValueError, match=r"`events\[0\].x` must have length n = 2"):
        FilippovSolution(t, x, [short], segs, 0, "ok")
    e1, e2 = Event(2.0, [0, 0], "exit", (), None, None), Event(1.0, [0, 0], "exit", (), None, None)
    with pytest.raises(ValueError, match="`events` must be in time order"):
        FilippovSolution(t, x, [e1, e2], segs, 0, "ok")
    gap = Segment.linear(1.5, 2.5, [1.0, 1.0], V_POS, mode=POS, lam=[1.0])
    with pytest.raises(ValueError, match=r"`segments` must be contiguous. Got segments\[0\].t1"):
        FilippovSolution(t, x, [], [segs[0], gap], 0, "ok")
    with pytest.raises(ValueError, match=r"`segments` must cover \[t\[0\], t\[-1\]\]"):
        FilippovSolution(t, x, [], [segs[0]], 0, "ok")
    one_d = Segment.linear(0.0, 2.5, [1.0], [1.0], mode=POS, lam=[1.0])
    with pytest.raises(ValueError, match=r"`segments\[0\]` must have state dimension n = 2"):
        FilippovSolution(t, x, [], [one_d], 0, "ok")


def test_solution_arrays_are_read_only() -> None:
    sol = crossing_solution()
    with pytest.raises(ValueError, match="read-only"):
        sol.t[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        sol.x[0, 0] = 1.0
    assert isinstance(sol.events, tuple) and isinstance(sol.segments, tuple)
    with pytest.raises(AttributeError):
        sol.nfev = 3  # type: ignore[misc]


# --------------------------------------------------------------------------- save / load


@pytest.mark.parametrize("make", [crossing_solution, mixed_solution])
def test_save_load_round_trip_is_exact(make: Any, tmp_path: Path) -> None:
    sol = make()
    path = sol.save(tmp_path / "sol.npz")
    assert path == tmp_path / "sol.npz" and os.listdir(tmp_path) == ["sol.npz"]
    loaded = FilippovSolution.load(path)
    assert_same_solution(sol, loaded)
    assert loaded.summary() == sol.summary()
    assert json.dumps(loaded.to_dict()) == json.dumps(sol.to_dict())
    with np.load(path, allow_pickle=False) as data:  # one plain npz, no pickles
        assert data["meta"].dtype == np.uint8
        meta = json.loads(data["meta"].tobytes().decode("utf-8"))
    assert meta["format"] == "filippov.FilippovSolution" and meta["version"] == 2


def test_save_uses_the_name_as_given(tmp_path: Path) -> None:
    sol = crossing_solution()
    sol.save(str(tmp_path / "result"))
    assert os.listdir(tmp_path) == ["result"]
    assert FilippovSolution.load(tmp_path / "result") == sol


def test_save_load_ode_segment_and_empty_solution(tmp_path: Path) -> None:
    ivp = solve_ivp(lambda t, x: [x[1], -x[0]], (0.0, 2.0), [0.0, 1.0], method="DOP853",
                    rtol=1e-10, atol=1e-12, dense_output=True)  # fmt: skip
    seg = Segment.from_ode_solution(ivp.sol, mode=Mode("l2", (0,)), lam=[1.0])
    ev = Event(2.0, seg.x1, "accumulation", (0,), seg.mode, None, note="Zeno point")
    sol = FilippovSolution([0.0, 2.0], [seg.x0, seg.x1], [ev], [seg], -3, "Zeno.")
    assert_same_solution(sol, FilippovSolution.load(sol.save(tmp_path / "a.npz")))
    empty = FilippovSolution([1.0], [[0.5]], [], [], -1, "NaN at t = 1, x = [0.5].")
    assert_same_solution(empty, FilippovSolution.load(empty.save(tmp_path / "b.npz")))


def test_save_resamples_callable_segments_and_says_so(tmp_path: Path) -> None:
    def fun(t: float) -> np.ndarray:
        return np.array([np.cos(2 * t), np.exp(-t)])

    mode = Mode("l2", (0,))
    seg = Segment.from_callable(0.0, 3.0, fun, mode=mode, lam=[1.0])
    stay = Segment.from_callable(3.0, 3.0, fun, mode=mode, lam=[1.0])  # zero length
    sol = FilippovSolution([0.0, 3.0], [fun(0.0), fun(3.0)], [], [seg, stay], 0, "ok")
    loaded = FilippovSolution.load(sol.save(tmp_path / "c.npz"))
    dense = loaded.segments[0].dense
    assert isinstance(dense, HermiteDense) and dense.source == "callable"
    assert dense.error is not None and dense.error <= 3e-12
    assert isinstance(loaded.segments[1].dense, LinearDense)
    assert "resampled" in loaded.summary()
    ts = np.linspace(0.0, 3.0, 20_001)
    truth = np.array([fun(t) for t in ts])
    assert np.max(np.abs(loaded(ts) - truth)) <= 3e-12
    assert np.array_equal(loaded(3.0), fun(3.0))
    # a second round trip is exact: the samples are now what is stored
    assert_same_solution(loaded, FilippovSolution.load(loaded.save(tmp_path / "d.npz")))
    coarse = FilippovSolution.load(sol.save(tmp_path / "e.npz", rtol=1e-6, atol=0.0))
    assert len(coarse.segments[0].dense.t) < len(dense.t)  # type: ignore[attr-defined]


def test_save_is_atomic_when_the_writer_fails(tmp_path: Path, monkeypatch: Any) -> None:
    path = tmp_path / "sol.npz"
    old = crossing_solution()
    old.save(path)
    before = path.read_bytes()

    real_savez = np.savez

    def broken_savez(file: Any, **arrays: Any) -> None:
        real_savez(file, **arrays)  # a full archive reaches the temp file ...
        file.seek(len(before) // 2)
        file.truncate()  # ... is cut in half ...
        raise OSError("disk full")  # ... and the writer dies mid-way

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        mixed_solution().save(path)
    assert path.read_bytes() == before
    assert FilippovSolution.load(path) == old
    assert os.listdir(tmp_path) == ["sol.npz"]  # no temporary file left behind


def test_save_is_atomic_when_the_rename_fails(tmp_path: Path, monkeypatch: Any) -> None:
    path = tmp_path / "sol.npz"
    old = crossing_solution()
    old.save(path)

    def broken_replace(src: Any, dst: Any) -> None:
        raise KeyboardInterrupt  # even an interrupt leaves the old file and no temp file

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(KeyboardInterrupt):
        mixed_solution().save(path)
    monkeypatch.undo()
    assert FilippovSolution.load(path) == old
    assert os.listdir(tmp_path) == ["sol.npz"]


def test_load_rejects_other_files(tmp_path: Path) -> None:
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="must be a filippov solution file written by"):
        FilippovSolution.load(tmp_path / "plain.npz")
    meta = json.dumps({"format": "other"}).encode()
    np.savez(tmp_path / "other.npz", meta=np.frombuffer(meta, dtype=np.uint8))
    with pytest.raises(ValueError, match="with format 'other' instead"):
        FilippovSolution.load(tmp_path / "other.npz")
    path = crossing_solution().save(tmp_path / "new.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta_d = json.loads(arrays["meta"].tobytes())
    meta_d["version"] = 99
    arrays["meta"] = np.frombuffer(json.dumps(meta_d).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=r"must be a format version 1 or 2 file\. Got version 99"):
        FilippovSolution.load(path)


# --------------------------------------------------------------------------- invariants


@st.composite
def piecewise_linear_solutions(draw: Any) -> FilippovSolution:
    """Random contiguous piecewise-linear solutions (zero-length segments allowed)."""
    n = draw(st.integers(1, 4))
    m = draw(st.integers(1, 3))
    k = draw(st.integers(1, 6))
    finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
    durations = draw(st.lists(st.sampled_from([0.0, 0.1, 0.25, 1.0, 3.7]), min_size=k, max_size=k))
    t0 = draw(st.floats(-10.0, 10.0))
    x = np.array(draw(st.lists(finite, min_size=n, max_size=n)))
    times, states, segments, events = [t0], [x.copy()], [], []
    t = t0
    prev: Mode | None = None
    for dur in durations:
        signs = tuple(draw(st.lists(st.sampled_from([-1, 0, 1]), min_size=m, max_size=m)))
        mode = Mode("l1", signs, tuple(i for i, s in enumerate(signs) if s == 0))
        v = np.array(draw(st.lists(finite, min_size=n, max_size=n)))
        lam = np.array(draw(st.lists(st.floats(-1, 1), min_size=m, max_size=m)))
        segments.append(Segment.linear(t, t + dur, x, v, mode=mode, lam=lam))
        t1 = t + dur
        x = segments[-1].x1
        if prev is not None:
            kind = draw(st.sampled_from(EVENT_KINDS))
            events.append(Event(t, segments[-1].x0, kind, (0,), prev, mode, draw(st.booleans())))
        times.append(t1)
        states.append(x)
        prev, t = mode, t1
    return FilippovSolution(times, states, events, segments, draw(st.integers(-5, 1)), "random")


@settings(max_examples=40, deadline=None)
@given(sol=piecewise_linear_solutions())
def test_invariants_random_piecewise_linear(sol: FilippovSolution, tmp_path_factory: Any) -> None:
    # evaluation at every breakpoint uses the later segment; vectorized == pointwise
    for i, seg in enumerate(sol.segments):
        later = [s for s in sol.segments if s.t0 == seg.t0][-1]
        assert np.array_equal(sol(seg.t0), later.x0)
        if i == len(sol.segments) - 1:
            assert np.array_equal(sol(seg.t1), seg.x1)
    ts = np.linspace(*sol.t_span, 37)
    assert np.array_equal(sol(ts), np.array([sol(t) for t in ts]).reshape(len(ts), sol.n))
    # the path is continuous: each segment starts where the previous one ended
    for a, b in zip(sol.segments, sol.segments[1:], strict=False):
        np.testing.assert_array_equal(a.x1, b.x0)
    assert sum(sol.counts.values()) == len(sol.events)
    assert sol.success == (sol.status >= 0)
    path = tmp_path_factory.mktemp("h") / "s.npz"
    assert_same_solution(sol, FilippovSolution.load(sol.save(path)))
    assert json.loads(json.dumps(sol.to_dict())) == sol.to_dict()


# ------------------------------------------- engine records satisfy the public invariants
def _rebuilt_through_public_constructors(sol: FilippovSolution) -> FilippovSolution:
    """Rebuild every record of an engine solution with the validating constructors."""

    def mode(m: Mode | None) -> Mode | None:
        return None if m is None else Mode(m.norm, list(m.signs), list(m.free))

    events = [
        Event(e.t, e.x, e.kind, list(e.indices), mode(e.mode_before), mode(e.mode_after),
              e.unique, e.note)
        for e in sol.events
    ]  # fmt: skip
    segments = []
    for s in sol.segments:
        md = mode(s.mode)
        assert md is not None
        if isinstance(s.dense, LinearDense):
            segments.append(Segment.linear(s.t0, s.t1, s.dense.x0, s.dense.v, mode=md,
                                           lam=s.lam, kind=s.kind))  # fmt: skip
        else:
            segments.append(Segment(s.t0, s.t1, md, s.kind, s.lam, s.dense))
    return FilippovSolution(sol.t, sol.x, events, segments, sol.status, sol.message)


@pytest.mark.parametrize("method", ["exact", "events"])
@pytest.mark.parametrize("flow", ["linf", "l1"])
def test_engine_records_pass_the_public_validation(method: str, flow: str) -> None:
    """The engine builds its records without validation (speed): they must still be valid,
    canonical and equal to what the public constructors make of them."""
    import filippov as fp
    from filippov.objectives import rotated_quadratic

    obj = rotated_quadratic(np.geomspace(1.0, 30.0, 12), rotation=1.0, seed=3)
    x0 = np.random.default_rng(3).standard_normal(12)
    sol = fp.solve(fp.steepest_descent_flow(obj, flow), x0, (0.0, 5.0), method=method)
    assert sol.events and sol.segments
    rebuilt = _rebuilt_through_public_constructors(sol)
    # The solution itself is also assembled unchecked (FilippovSolution._from_engine).
    np.testing.assert_array_equal(rebuilt.t, sol.t)
    np.testing.assert_array_equal(rebuilt.x, sol.x)
    assert not sol.t.flags.writeable and not sol.x.flags.writeable
    assert (rebuilt.status, rebuilt.message, rebuilt.info) == (sol.status, sol.message, {})
    assert sol.n_selection_solves > 0 and sol.nlu == 0
    assert rebuilt.events == sol.events
    assert [s.mode for s in rebuilt.segments] == [s.mode for s in sol.segments]
    assert [s.kind for s in rebuilt.segments] == [s.kind for s in sol.segments]
    for e in sol.events:
        assert not e.x.flags.writeable
    for s in sol.segments:
        assert not s.lam.flags.writeable


# ------------------------------------------------------- save destinations (issue 22)


def test_save_to_an_empty_name_or_a_folder_is_a_value_error(tmp_path: Path) -> None:
    sol = crossing_solution()
    with pytest.raises(ValueError, match=r"`path` must name a file\. Got ''"):
        sol.save("")
    with pytest.raises(ValueError, match="`path` must name a file, not a folder"):
        sol.save(tmp_path)
    with pytest.raises(ValueError, match="not a folder"):
        sol.save(str(tmp_path) + os.sep)
    with pytest.raises(TypeError, match="`path` must be a file path"):
        sol.save(3)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_save_errors_name_the_destination_not_the_temp_file(tmp_path: Path) -> None:
    sol = crossing_solution()
    missing = tmp_path / "missing" / "sol.npz"
    with pytest.raises(FileNotFoundError) as info:
        sol.save(missing)
    assert info.value.filename == str(missing)
    if Path("/proc/self").exists():  # a folder nobody can create files in, even root
        with pytest.raises(OSError) as info:
            sol.save("/proc/x.npz")
        assert info.value.filename == "/proc/x.npz"
        assert ".tmp" not in str(info.value)


@pytest.mark.parametrize(("kw", "exc"), [({"rtol": "a"}, TypeError), ({"atol": -1.0}, ValueError)])
def test_save_tolerances_are_validated(tmp_path: Path, kw: dict[str, Any], exc: type) -> None:
    name = next(iter(kw))
    with pytest.raises(exc, match=f"`{name}`"):
        crossing_solution().save(tmp_path / "s.npz", **kw)


def test_load_checks_the_path_first(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="`path` must be a file path"):
        FilippovSolution.load(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`path` must name a file\. Got ''"):
        FilippovSolution.load("")
    with pytest.raises(ValueError, match="`path` must name a file, not a folder"):
        FilippovSolution.load(tmp_path)
    missing = tmp_path / "sol.npz"
    with pytest.raises(FileNotFoundError) as info:
        FilippovSolution.load(missing)
    assert info.value.filename == str(missing)


def test_mode_norm_must_name_a_known_norm() -> None:
    with pytest.raises(ValueError, match="`norm` must be one of 'l1', 'linf', 'l2' or the name"):
        Mode("L1", (1,))
    assert Mode("custom", (1,)).norm == "custom"  # _CustomNorm above


def test_saved_mode_of_an_undefined_norm_still_loads() -> None:
    # a file written where a user-defined norm existed loads where it does not
    data = {"norm": "gone", "signs": [1, 0], "free": [1]}
    mode = Mode._from_json(data)
    assert (mode.norm, mode.signs, mode.free, mode.label) == ("gone", (1, 0), (1,), "free on {1}")
    with pytest.raises(ValueError, match="`free` must not repeat"):
        Mode._from_json({"norm": "gone", "signs": [1, 0], "free": [1, 1]})


@pytest.mark.parametrize("t", ["1", b"1", ["0.5", "1"], True, np.array([True, False])])
def test_a_time_given_as_text_or_a_boolean_is_refused(t: object) -> None:
    # (numpy parses "1" as 1.0 and takes True for 1: a stranger review's sol("1") and
    # sol(True) returned the state at t = 1)
    sol = crossing_solution()
    with pytest.raises(TypeError, match="`t` must be"):
        sol(t)
