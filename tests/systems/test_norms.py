"""Tests of filippov.norms: faces against brute force, LMO, selectors, tolerances, errors.

The brute-force reference is the norm-independent characterization of a subdifferential,
``∂‖y‖ = {λ : ‖λ‖_* ≤ 1, ⟨λ, y⟩ = ‖y‖}``, evaluated on the vertices of the dual unit ball.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from filippov.norms import DEFAULT_FACE_TOL, Face, L1Norm, L2Norm, LinfNorm, Norm, get_norm

NORMS = ["l1", "linf", "l2"]


def _value(name: str, y: np.ndarray) -> float:
    if name == "l1":
        return float(np.sum(np.abs(y)))
    top = float(np.max(np.abs(y)))
    if name == "linf" or top == 0.0:
        return top
    return top * float(np.linalg.norm(y / top))  # scaled: no underflow for tiny y


def _dual_name(name: str) -> str:
    return {"l1": "linf", "linf": "l1", "l2": "l2"}[name]


def _in_subdifferential(name: str, y: np.ndarray, lam: np.ndarray, tol: float = 1e-9) -> bool:
    top = float(np.max(np.abs(y)))
    y = y / top if top > 0 else y  # ∂φ is invariant under positive scaling; avoid subnormals
    dual = _value(_dual_name(name), lam)
    value = _value(name, y)
    return dual <= 1 + tol and abs(float(lam @ y) - value) <= tol * (value if value > 0 else 1.0)


def _dual_ball_vertices(name: str, m: int) -> np.ndarray:
    """Vertices of the unit ball of the dual of ``name`` (ℓ1 → ℓ∞ box, ℓ∞ → ℓ1 diamond)."""
    if name == "l1":
        return np.array(list(itertools.product((-1.0, 1.0), repeat=m)))
    eye = np.eye(m)
    return np.vstack([eye, -eye])


def _rows(a: np.ndarray) -> set[tuple[float, ...]]:
    return {tuple(np.round(r, 12)) for r in a}


@st.composite
def planted(draw: st.DrawFn) -> tuple[np.ndarray, int, int]:
    """A vector with planted exact zeros and exact ties of the max modulus (random signs)."""
    m = draw(st.integers(1, 7))
    n_zero = draw(st.integers(0, m - 1))
    n_tie = draw(st.integers(1, m - n_zero))
    scale = draw(st.sampled_from([1e-8, 1.0, 3.7e6]))
    top = scale * draw(st.floats(1.0, 10.0))
    rest = m - n_zero - n_tie
    vals = [0.0] * n_zero + [top] * n_tie
    vals += [top * draw(st.floats(0.01, 0.9)) for _ in range(rest)]
    signs = draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=m, max_size=m))
    perm = draw(st.permutations(range(m)))
    y = np.array(vals)[list(perm)] * np.array(signs)
    return y, n_zero, n_tie


# ---------------------------------------------------------------------------------------
# faces against brute force
# ---------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(planted())
def test_l1_face_vertices_match_brute_force(case: tuple[np.ndarray, int, int]) -> None:
    y, n_zero, _ = case
    face = get_norm("l1").face(y)
    brute = [v for v in _dual_ball_vertices("l1", y.size) if _in_subdifferential("l1", y, v)]
    assert _rows(face.vertices()) == _rows(np.array(brute))
    assert face.dim == n_zero
    assert face.kind == ("box" if n_zero else "point")
    assert sorted(face.free.tolist()) == np.flatnonzero(y == 0).tolist()
    assert np.array_equal(face.signs, np.sign(y).astype(int))


@settings(max_examples=150, deadline=None)
@given(planted())
def test_linf_face_vertices_match_brute_force(case: tuple[np.ndarray, int, int]) -> None:
    y, _, n_tie = case
    face = get_norm("linf").face(y)
    brute = [v for v in _dual_ball_vertices("linf", y.size) if _in_subdifferential("linf", y, v)]
    assert _rows(face.vertices()) == _rows(np.array(brute))
    assert face.free.size == n_tie
    assert face.dim == n_tie - 1
    assert face.kind == ("simplex" if n_tie > 1 else "point")


@settings(max_examples=100, deadline=None)
@given(planted(), st.integers(0, 2**32 - 1))
@pytest.mark.parametrize("name", NORMS)
def test_face_membership_matches_brute_force(
    name: str, case: tuple[np.ndarray, int, int], seed: int
) -> None:
    y = case[0]
    rng = np.random.default_rng(seed)
    face = get_norm(name).face(y)
    if name == "l2":
        inside = [y / np.linalg.norm(y)]
    else:
        V = face.vertices()
        inside = [rng.dirichlet(np.ones(V.shape[0])) @ V for _ in range(5)]
    for lam in inside:
        assert face.contains(lam, tol=1e-9)
        assert _in_subdifferential(name, y, lam)
        for _ in range(4):
            probe = lam + 1e-3 * rng.standard_normal(y.size)
            assert face.contains(probe, tol=1e-9) == _in_subdifferential(name, y, probe)


@settings(max_examples=100, deadline=None)
@given(planted(), st.integers(0, 2**32 - 1))
@pytest.mark.parametrize("name", ["l1", "linf"])
def test_project_is_the_nearest_point(
    name: str, case: tuple[np.ndarray, int, int], seed: int
) -> None:
    y = case[0]
    rng = np.random.default_rng(seed)
    face = get_norm(name).face(y)
    V = face.vertices()
    for _ in range(5):
        x = 2.0 * rng.standard_normal(y.size)
        p = face.project(x)
        assert face.contains(p, tol=1e-12)
        # Obtuse-angle criterion over the vertices: ⟨x − p, v − p⟩ ≤ 0 for all v.
        assert np.max((V - p) @ (x - p)) <= 1e-10


def test_zero_vector_faces_are_dual_balls() -> None:
    m = 4
    y = np.zeros(m)
    box = get_norm("l1").face(y)
    assert (box.kind, box.dim, box.ball_norm) == ("box", m, None)
    assert box.vertices().shape == (2**m, m)
    diamond = get_norm("linf").face(y)
    assert (diamond.kind, diamond.dim, diamond.ball_norm) == ("ball", m, "l1")
    assert _rows(diamond.vertices()) == _rows(np.vstack([np.eye(m), -np.eye(m)]))
    assert diamond.contains([0.5, -0.5, 0, 0]) and not diamond.contains([0.5, -0.6, 0, 0])
    assert np.allclose(diamond.project([3.0, -1.0, 0.0, 0.0]), [1.0, 0.0, 0.0, 0.0])
    ball = get_norm("l2").face(y)
    assert (ball.kind, ball.dim, ball.ball_norm) == ("ball", m, "l2")
    assert ball.contains([0.6, 0.8, 0, 0]) and not ball.contains([0.6, 0.81, 0, 0])
    with pytest.raises(ValueError, match="Euclidean ball"):
        ball.vertices()


def test_l2_face_is_the_normalized_point() -> None:
    face = get_norm("l2").face([3.0, 0.0, -4.0])
    assert face.kind == "point" and face.dim == 0 and face.free.size == 0
    assert np.allclose(face.center, [0.6, 0.0, -0.8])
    assert np.allclose(face.vertices(), [[0.6, 0.0, -0.8]])
    assert np.allclose(face.project([9.0, 9.0, 9.0]), face.center)


# ---------------------------------------------------------------------------------------
# LMO and selector
# ---------------------------------------------------------------------------------------
finite_vectors = arrays(
    np.float64,
    st.integers(1, 8),
    elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=200, deadline=None)
@given(finite_vectors)
@pytest.mark.parametrize("name", NORMS)
def test_lmo_attains_the_dual_norm(name: str, g: np.ndarray) -> None:
    norm = get_norm(name)
    v = norm.lmo(g)
    dual = _value(_dual_name(name), g)
    assert float(g @ v) == pytest.approx(-dual, rel=1e-12, abs=1e-300)
    assert norm(v) <= 1.0 + 1e-12
    assert norm.dual(g) == pytest.approx(dual, rel=1e-14)


@settings(max_examples=200, deadline=None)
@given(finite_vectors)
@pytest.mark.parametrize("name", NORMS)
def test_subgradient_lies_in_the_face(name: str, y: np.ndarray) -> None:
    norm = get_norm(name)
    s = norm.subgradient(y)
    if np.any(y != 0):
        assert norm.face(y, tol=0.0).contains(s, tol=1e-12)
        assert _in_subdifferential(name, y, s, tol=1e-12)
    else:
        assert np.array_equal(s, np.zeros_like(y))


@pytest.mark.parametrize("name", NORMS)
def test_lmo_and_subgradient_batches_equal_rows(name: str) -> None:
    rng = np.random.default_rng(0)
    G = rng.standard_normal((9, 5))
    G[2] = 0.0
    G[3, [1, 4]] = 7.0
    norm = get_norm(name)
    assert np.array_equal(norm.lmo(G), np.array([norm.lmo(g) for g in G]))
    assert np.array_equal(norm.subgradient(G), np.array([norm.subgradient(g) for g in G]))


def test_linf_selector_breaks_ties_towards_lowest_index() -> None:
    assert get_norm("linf").subgradient([1.0, -3.0, 3.0, -3.0]).tolist() == [0, -1, 0, 0]
    assert get_norm("l1").lmo([1.0, -3.0, 3.0]).tolist() == [0, 1, 0]
    assert get_norm("linf").lmo([2.0, 0.0, -1.0]).tolist() == [-1, 0, 1]


def test_duals_and_identity() -> None:
    assert L1Norm().dual == LinfNorm() and LinfNorm().dual == L1Norm()
    assert L2Norm().dual == L2Norm()
    assert get_norm("L1") is get_norm(" l1 ")
    custom = L2Norm()
    assert get_norm(custom) is custom
    assert len({L1Norm(), L1Norm(), L2Norm()}) == 2
    assert repr(get_norm("linf")) == "LinfNorm()"
    assert isinstance(get_norm("l2"), Norm)


# ---------------------------------------------------------------------------------------
# tolerances: relative to the scale of y, with an absolute floor
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e-12, 1.0, 1e12])
def test_zero_and_tie_tolerance_is_relative(scale: float) -> None:
    y = scale * np.array([1.0, 1e-14, -0.5])
    assert get_norm("l1").face(y).free.tolist() == [1]
    assert get_norm("l1").face(y, tol=0.0).free.size == 0
    assert get_norm("l1").face(y, tol=1e-15).free.size == 0
    z = scale * np.array([1.0, 1.0 - 1e-14, -0.5])
    assert get_norm("linf").face(z).free.tolist() == [0, 1]
    assert get_norm("linf").face(z, tol=0.0).free.tolist() == [0]
    assert get_norm("linf").face(z, tol=0.6).free.tolist() == [0, 1, 2]
    assert DEFAULT_FACE_TOL == 1e-12


def test_absolute_floor() -> None:
    y = np.array([1e-9, -2e-9])
    assert get_norm("l1").face(y).kind == "point"
    assert get_norm("l1").face(y, atol=1e-8).free.tolist() == [0, 1]
    assert get_norm("linf").face(y, atol=1e-8).kind == "ball"
    assert get_norm("l2").face(y, atol=1e-8).kind == "ball"
    assert get_norm("l2").face(y, atol=1e-10).kind == "point"
    face = get_norm("l1").face([1.0, 1e-9], atol=1e-8)
    assert face.signs.tolist() == [1, 0] and face.center.tolist() == [1.0, 0.0]


# ---------------------------------------------------------------------------------------
# embed / coordinates, immutability, equality
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "y"),
    [
        ("l1", [1.0, 0.0, 0.0, -2.0]),
        ("linf", [-2.0, 0.5, 2.0, 2.0]),
        ("linf", [0.0, 0.0, 0.0, 0.0]),
        ("l2", [0.0, 0.0, 0.0, 0.0]),
    ],
)
def test_embed_and_coordinates_round_trip(name: str, y: list[float]) -> None:
    face = get_norm(name).face(y)
    rng = np.random.default_rng(1)
    vals = rng.dirichlet(np.ones(face.free.size)) * (1.0 if face.kind == "simplex" else 0.9)
    lam = face.embed(vals)
    assert face.contains(lam)
    assert np.allclose(face.coordinates(lam), vals)


def test_point_faces_embed_to_center() -> None:
    face = get_norm("linf").face([1.0, -3.0])
    assert face.kind == "point" and face.free.tolist() == [1]
    assert face.embed([1.0]).tolist() == [0.0, -1.0]
    assert face.coordinates([0.0, -1.0]).tolist() == [1.0]


def test_face_is_immutable_and_hashable() -> None:
    face = get_norm("l1").face([1.0, 0.0])
    with pytest.raises(ValueError):
        face.center[0] = 5.0
    with pytest.raises(AttributeError):
        face.kind = "ball"  # type: ignore[misc]
    assert face == get_norm("l1").face([3.0, 0.0])
    assert face != get_norm("l1").face([-3.0, 0.0])
    assert len({face, get_norm("l1").face([3.0, 0.0])}) == 1


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------
def test_unknown_norm_names_list_the_choices() -> None:
    with pytest.raises(ValueError, match=r"one of 'l1', 'linf', 'l2'\. Got 'lp' instead"):
        get_norm("lp")
    with pytest.raises(TypeError, match="Got 2 instead"):
        get_norm(2)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NORMS)
def test_non_finite_and_badly_shaped_input(name: str) -> None:
    norm = get_norm(name)
    with pytest.raises(ValueError, match="`y` must be finite"):
        norm.face([1.0, np.nan])
    with pytest.raises(ValueError, match="`g` must be finite"):
        norm.lmo([np.inf, 1.0])
    with pytest.raises(ValueError, match="`y` must be a 1-D vector"):
        norm.face(np.ones((2, 2)))
    with pytest.raises(ValueError, match="non-empty"):
        norm.subgradient(np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match="non-empty"):
        norm.face([])
    with pytest.raises(TypeError, match="array of real numbers"):
        norm("abc")
    with pytest.raises(ValueError, match=r"`tol` must be in \[0, 1\)"):
        norm.face([1.0], tol=1.5)
    with pytest.raises(ValueError, match="`atol`"):
        norm.face([1.0], atol=-1.0)


def test_face_validation() -> None:
    with pytest.raises(ValueError, match="`kind` must be one of"):
        Face(
            norm="l1",
            kind="cube",
            center=np.zeros(2),
            free=np.zeros(0, int),
            signs=np.zeros(2, int),
        )
    assert Face(  # user norms may build faces (point, box, simplex) ...
        norm="l3", kind="point", center=np.zeros(2), free=np.zeros(0, int), signs=np.zeros(2, int)
    ).contains([0.0, 0.0])
    with pytest.raises(ValueError, match="'ball' is defined for the norms"):  # ... not balls
        Face(
            norm="l3",
            kind="ball",
            center=np.zeros(2),
            free=np.zeros(0, int),
            signs=np.zeros(2, int),
        )
    with pytest.raises(ValueError, match="`signs` must have length 2"):
        Face(
            norm="l1",
            kind="point",
            center=np.zeros(2),
            free=np.zeros(0, int),
            signs=np.zeros(1, int),
        )
    with pytest.raises(ValueError, match="distinct indices"):
        Face(
            norm="l1", kind="box", center=np.zeros(2), free=np.array([0, 0]), signs=np.zeros(2, int)
        )
    face = get_norm("l1").face([1.0, 0.0])
    with pytest.raises(ValueError, match="`lam` must have length 2"):
        face.contains([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="`values` must have length 1"):
        face.embed([0.1, 0.2])
