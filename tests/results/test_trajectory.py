"""Tests of DiscreteTrajectory: shapes, diagnostics layout and exact save/load."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

import filippov.schemes as S
from filippov.objectives import rotated_quadratic, separable_quadratic, slope
from filippov.schemes import DiscreteTrajectory
from filippov.schemes.trajectory import ITERATE_DIAGNOSTICS, STEP_DIAGNOSTICS


def assert_same(a: DiscreteTrajectory, b: DiscreteTrajectory) -> None:
    for name in ("x", "t", "k"):
        arr_a, arr_b = getattr(a, name), getattr(b, name)
        assert arr_a.dtype == arr_b.dtype and arr_a.shape == arr_b.shape
        np.testing.assert_array_equal(arr_a, arr_b)
    assert sorted(a.diagnostics) == sorted(b.diagnostics)
    for name, value in a.diagnostics.items():
        other = b.diagnostics[name]
        assert value.dtype == other.dtype and value.shape == other.shape, name
        np.testing.assert_array_equal(value, other)  # NaN == NaN here
    assert a.status == b.status and a.message == b.message
    assert a.metadata == b.metadata


def test_single_run_shapes_and_diagnostics() -> None:
    traj = S.SignGD(step=0.05).run(slope(0.5), [1.0, 1.0], n_steps=30)
    assert traj.x.shape == (31, 2) and traj.t.shape == (31,)
    np.testing.assert_array_equal(traj.k, np.arange(31))
    assert not traj.batched and traj.m is None and traj.n == 2 and traj.n_steps == 30
    for name in ITERATE_DIAGNOSTICS:
        assert traj.diagnostics[name].shape == (31,), name
    for name in STEP_DIAGNOSTICS:
        assert traj.diagnostics[name].shape == (30,), name
    np.testing.assert_array_equal(traj.diagnostics["t"], traj.t)
    np.testing.assert_allclose(traj.f, [slope(0.5).f(x) for x in traj.x], rtol=1e-14)
    np.testing.assert_array_equal(traj.x_final, traj.x[-1])
    assert traj.t_end == pytest.approx(1.5)
    assert traj.diagnostics["flips"].dtype == np.int64
    g = np.array([slope(0.5).grad(x) for x in traj.x])
    np.testing.assert_allclose(traj.grad_norm, np.abs(g).sum(axis=1), rtol=1e-14)
    np.testing.assert_allclose(traj.diagnostics["grad_norm2"], np.linalg.norm(g, axis=1))
    np.testing.assert_array_equal(traj.diagnostics["flips"], np.sum(g[:-1] * g[1:] < 0, axis=1))


def test_batched_shapes() -> None:
    X0 = np.random.default_rng(1).uniform(-2, 2, (6, 3))
    obj = rotated_quadratic([1.0, 2.0, 5.0], rotation=0.5, seed=0)
    traj = S.RestartedSignum(step=0.02).run(obj, X0, n_steps=12, save_every=5)
    assert traj.batched and traj.m == 6 and traj.n == 3
    assert traj.x.shape == (4, 6, 3) and traj.t.shape == (4, 6)
    np.testing.assert_array_equal(traj.k, [0, 5, 10, 12])
    assert traj.diagnostics["f"].shape == (13, 6)
    assert traj.diagnostics["restarts"].shape == (12, 6)
    np.testing.assert_array_equal(traj.x[0], X0)
    assert traj.t_end.shape == (6,)
    assert "DiscreteTrajectory(scheme=RestartedSignum" in repr(traj) and "m=6" in repr(traj)


@pytest.mark.parametrize(
    "make",
    [
        lambda: S.SignGD(step=0.05).run(slope(0.5), [1.0, 1.0], n_steps=30),
        lambda: S.GreedyCD(step=0.1, tie="selection", tie_tol=1e-6).run(
            separable_quadratic([1.0, 2.0], 0.0), [2.0, 1.0], n_steps=10
        ),
        lambda: S.ProjectedSignGD(step=0.02).run(
            slope(0.5), np.random.default_rng(0).uniform(-2, 2, (5, 2)), t_final=1.0
        ),
        lambda: S.GD(step=S.Tuned(grid=[10.0, 0.1], budget=400)).run(  # eta=10 diverges
            separable_quadratic([1.0, 2.0], 0.0), [1.0, 1.0], n_steps=3
        ),
        lambda: S.ImplicitSignGD(step=0.1).run(
            slope(0.5), [1.0, 1.0], n_steps=7, diagnostics=False
        ),
        lambda: S.SignGD(step=0.1).run(slope(0.5), [1.0, 1.0], n_steps=9, save_every=4),
    ],
    ids=["single", "greedy-selection", "batched-t_final", "tuned-with-inf", "lean", "sparse"],
)
def test_save_load_exact_round_trip(tmp_path, make) -> None:
    traj = make()
    path = traj.save(tmp_path / "run.npz")
    back = DiscreteTrajectory.load(path)
    assert_same(traj, back)
    # (stranger fuzz fz14) equal objects, as the README says, loaded and pickled alike
    assert back == traj and pickle.loads(pickle.dumps(traj)) == traj
    # only the target file exists: the temporary file was renamed into place
    assert sorted(os.listdir(tmp_path)) == ["run.npz"]


def test_trajectories_differing_anywhere_are_not_equal() -> None:
    traj = S.SignGD(step=0.1).run(slope(0.5), [1.0, 1.0], n_steps=5)
    other = pickle.loads(pickle.dumps(traj))
    other.x[2, 0] += 1e-15
    assert other != traj
    other = pickle.loads(pickle.dumps(traj))
    other.metadata["step"] = "Constant(0.2)"
    assert other != traj
    other = pickle.loads(pickle.dumps(traj))
    other.diagnostics["f"] = other.diagnostics["f"][:-1]
    assert other != traj
    assert traj != "a trajectory"


def test_nan_diagnostics_and_no_suffix_path(tmp_path) -> None:
    obj = slope(0.5)
    traj = S.SignGD(step=0.1).run(obj, [1.0, 1.0], n_steps=3)
    traj.diagnostics["face_curvature"][:] = np.nan
    target = tmp_path / "trajectory.bin"
    assert traj.save(target) == target
    back = DiscreteTrajectory.load(target)
    assert np.all(np.isnan(back.diagnostics["face_curvature"]))
    assert_same(traj, back)


def test_save_overwrites_atomically(tmp_path, monkeypatch) -> None:
    target = tmp_path / "run.npz"
    first = S.SignGD(step=0.1).run(slope(0.5), [1.0, 1.0], n_steps=3)
    second = S.SignGD(step=0.2).run(slope(0.5), [1.0, 1.0], n_steps=5)
    first.save(target)
    second.save(target)
    assert_same(DiscreteTrajectory.load(target), second)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        first.save(target)
    monkeypatch.undo()
    # the old file is intact and no temporary file is left behind
    assert_same(DiscreteTrajectory.load(target), second)
    assert sorted(os.listdir(tmp_path)) == ["run.npz"]


def test_load_rejects_foreign_files(tmp_path) -> None:
    path = tmp_path / "other.npz"
    np.savez(path, x=np.zeros(3))
    with pytest.raises(ValueError, match="`path` must be a file written by"):
        DiscreteTrajectory.load(path)


def test_constructor_validates_shapes() -> None:
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="`t` must have shape"):
        DiscreteTrajectory(x, np.zeros(3), np.arange(4), {})
    with pytest.raises(ValueError, match="`k` must have shape"):
        DiscreteTrajectory(x, np.zeros(4), np.arange(5), {})
    with pytest.raises(ValueError, match="`x` must have shape"):
        DiscreteTrajectory(np.zeros(4), np.zeros(4), np.arange(4), {})


def test_missing_diagnostic_and_summary() -> None:
    lean = S.SignGD(step=0.1).run(slope(0.5), [1.0, 1.0], n_steps=3, diagnostics=False)
    with pytest.raises(AttributeError, match="no diagnostic 'f'"):
        lean.f
    np.testing.assert_allclose(lean.step, 0.1)
    text = S.ProjectedSignGD(step=0.02).run(slope(0.5), [1.0, 1.0], n_steps=100).summary()
    assert "ProjectedSignGD" in text and "two_hit" in text and "slope(a=0.5)" in text


# ------------------------------------------------------- argument checks (issue 22)


@pytest.mark.parametrize(
    ("kw", "exc", "match"),
    [
        ({"x": "abc"}, TypeError, "`x` must be an array of real numbers"),
        ({"k": [0.0, 1.5, 2.0, 3.0]}, ValueError, "`k` must hold whole numbers"),
        ({"diagnostics": {1: np.zeros(3)}}, TypeError, "`diagnostics` must be a mapping"),
        (
            {"diagnostics": {"f": ["a"] * 4}},
            TypeError,
            r"`diagnostics\['f'\]` must be a numeric array",
        ),
        ({"status": 7}, ValueError, r"`status` must be one of 2 \(CALLBACK\), 1 \(STATIONARY\)"),
        ({"status": True}, TypeError, "`status` must be an integer"),
        ({"message": None}, TypeError, "`message` must be a string"),
        ({"metadata": [("a", 1)]}, TypeError, "`metadata` must be a mapping or None"),
    ],
)
def test_constructor_names_the_bad_argument(kw, exc, match) -> None:
    args = {"x": np.zeros((4, 2)), "t": np.zeros(4), "k": np.arange(4), "diagnostics": {}}
    args.update(kw)
    with pytest.raises(exc, match=match):
        DiscreteTrajectory(**args)


def test_constructor_keeps_float_arrays_and_accepts_whole_float_counts() -> None:
    x = np.zeros((4, 2))
    traj = DiscreteTrajectory(x, np.zeros(4), np.arange(4.0), {}, metadata=None)
    assert traj.x is x  # no copy of a large batch
    assert traj.k.dtype == np.int64 and traj.k.tolist() == [0, 1, 2, 3]


def test_save_and_load_check_the_path_first(tmp_path) -> None:
    traj = S.SignGD(step=0.1).run(slope(0.5), [1.0, 1.0], n_steps=3)
    with pytest.raises(ValueError, match=r"`path` must name a file\. Got ''"):
        traj.save("")
    with pytest.raises(ValueError, match="`path` must name a file, not a folder"):
        traj.save(tmp_path)
    with pytest.raises(TypeError, match="`path` must be a file path"):
        traj.save(None)
    missing = tmp_path / "missing" / "run.npz"
    with pytest.raises(FileNotFoundError) as info:
        traj.save(missing)
    assert info.value.filename == str(missing) and ".tmp" not in str(info.value)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="`path` must name a file, not a folder"):
        DiscreteTrajectory.load(tmp_path)
    with pytest.raises(TypeError, match="`path` must be a file path"):
        DiscreteTrajectory.load(3)
    with pytest.raises(FileNotFoundError) as info:
        DiscreteTrajectory.load(missing)
    assert info.value.filename == str(missing)


def test_save_to_a_bare_name_writes_in_the_current_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    traj = S.SignGD(step=0.1).run(slope(0.5), [1.0, 1.0], n_steps=3)
    assert str(traj.save("run.npz")) == "run.npz"
    assert_same(DiscreteTrajectory.load("run.npz"), traj)
    assert os.listdir(tmp_path) == ["run.npz"]
