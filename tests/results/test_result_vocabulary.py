"""Both result types speak one vocabulary, save one way, and read what earlier versions wrote.

* :class:`~filippov.FilippovSolution` and :class:`~filippov.DiscreteTrajectory` report the
  same :class:`~filippov.Status` code for the same outcome and the same ``stats`` keys;
* both save through :func:`filippov._npz_io.save_npz` (temporary file, fsync, replace);
* pickles and files written before ``filippov.solution`` became a package (and before
  the shared codes) still load: ``tests/reference/old_format_fixtures.py`` holds their bytes.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import old_format_fixtures as old
import pytest

import filippov as fp
from filippov import Status
from filippov._status import EVENT_KINDS, STATS_KEYS
from filippov.objectives import Objective, separable_quadratic, slope
from filippov.schemes import DiscreteTrajectory, StepFailure
from filippov.solution import FilippovSolution

# --- one vocabulary -----------------------------------------------------------------------


def _pole_solution() -> FilippovSolution:
    """h = 1/x has a pole at 0: a non-finite value for the solution."""
    system = fp.FilippovSystem(
        np.array([-1.0]),
        np.array([[0.5]]),
        lambda x: 1.0 / x,
        "l1",
        jac_h=lambda x: np.array([[-1.0 / x[0] ** 2]]),
    )
    return fp.solve(system, [1.0], (0.0, 3.0))


def _overflowing_trajectory() -> DiscreteTrajectory:
    """GD on a concave quadratic with a large step: |x| overflows, a non-finite value."""

    def f(x):
        with np.errstate(over="ignore"):
            return -float(x @ x)

    concave = Objective(f, lambda x: -2.0 * x, n=1, hvp=lambda x, v: -2 * v)
    return fp.schemes.GD(step=10.0).run(concave, [1.0], n_steps=1000)


class _FailingSignGD(fp.schemes.SignGD):
    """SignGD whose third update cannot be computed."""

    def update(self, problem, X, G, v, eta, state):
        if float(np.max(np.abs(X))) < 0.5:
            raise StepFailure("no update here")
        return super().update(problem, X, G, v, eta, state)


def test_the_same_outcome_has_the_same_code_in_both_result_types():
    # a non-finite value
    sol, traj = _pole_solution(), _overflowing_trajectory()
    assert sol.status == traj.status == Status.NON_FINITE == -3
    assert isinstance(sol.status, Status) and isinstance(traj.status, Status)
    # a stationary point
    flow = fp.steepest_descent_flow(slope(0.5), "linf")
    sol = fp.solve(flow, [0.6, 0.1], (0, 4))
    obj = separable_quadratic([1.0, 2.0], [0.0, 0.0])
    traj = fp.schemes.SignGD(step=0.25).run(obj, [1.0, 0.5], n_steps=100)
    assert sol.status == traj.status == Status.STATIONARY == 1
    # the end of the requested run
    sol = fp.solve(flow, [0.6, 0.1], (0, 0.1))
    traj = fp.schemes.SignGD(step=0.25).run(obj, [1.0, 0.5], n_steps=2)
    assert sol.status == traj.status == Status.FINISHED == 0
    # a failed step is an integration failure
    traj = _FailingSignGD(step=0.25).run(obj, [1.0, 0.5], n_steps=10)
    assert traj.status == Status.INTEGRATION_FAILED == -1 and "no update here" in traj.message
    assert not traj.success and traj.n_steps == 3


def test_status_is_an_int_compatible_enum_with_distinct_codes():
    codes = [int(s) for s in Status]
    assert len(set(codes)) == len(codes)
    assert all(s.success == (int(s) >= 0) for s in Status)
    assert Status(1) == 1 and f"status {Status.NON_FINITE}" == "status -3"
    assert fp.Status is Status


def test_both_result_types_have_the_same_read_only_stats_keys():
    flow = fp.steepest_descent_flow(slope(0.5), "linf")
    sol = fp.solve(flow, [0.6, 0.1], (0, 4))
    obj = separable_quadratic([1.0, 2.0], [0.0, 0.0])
    traj = fp.schemes.SignGD(step=0.25).run(obj, [1.0, 0.5], n_steps=3)
    assert list(sol.stats)[: len(STATS_KEYS)] == list(traj.stats) == list(STATS_KEYS)
    for key in ("nfev", "njev", "nlu", "n_selection_solves", "n_steps", "n_events"):
        assert key in STATS_KEYS
    for stats in (sol.stats, traj.stats):
        with pytest.raises(TypeError):
            stats["nfev"] = 1  # type: ignore[index]
    # the solution's old counters are views of stats; events by kind agree with counts
    assert (sol.nfev, sol.njev, sol.nlu, sol.n_selection_solves) == tuple(
        sol.stats[k] for k in ("nfev", "njev", "nlu", "n_selection_solves")
    )
    for kind in EVENT_KINDS:
        assert sol.stats["n_" + kind.replace("-", "_")] == sol.counts[kind]
    assert sol.stats["n_events"] == len(sol.events) == 3
    # the trajectory counts gradient (field) and Hessian (Jacobian) evaluations and steps
    assert traj.stats["nfev"] == traj.metadata["njev"] > 0
    assert traj.stats["njev"] == traj.metadata["nhev"]
    assert traj.stats["n_steps"] == traj.n_steps == 3 and traj.stats["n_events"] == 0


def test_counters_a_path_passes_reach_stats_and_survive_save_and_pickle(tmp_path):
    sol = FilippovSolution._from_engine(
        np.array([0.0, 1.0]),
        np.array([[1.0], [1.0]]),
        (),
        (),
        0,
        "Done.",
        nfev=5,
        njev=2,
        n_selection_solves=1,
        method="test",
        nlu=3,
        counters={"n_steps": 7, "n_rejected": 2},
    )
    assert (sol.nfev, sol.njev, sol.nlu, sol.n_selection_solves) == (5, 2, 3, 1)
    assert sol.stats["n_steps"] == 7 and sol.stats["n_rejected"] == 2
    back = FilippovSolution.load(sol.save(tmp_path / "s.npz"))
    assert back == sol and dict(back.stats) == dict(sol.stats)
    assert pickle.loads(pickle.dumps(sol)) == sol
    assert sol.to_dict()["stats"]["n_steps"] == 7


def test_an_unknown_status_is_refused_by_both():
    with pytest.raises(ValueError, match=r"`status` must be one of .*-5 \(UNCERTIFIED\)"):
        FilippovSolution([0.0], [[1.0]], [], [], 7, "?")
    with pytest.raises(ValueError, match=r"`status` must be one of .*-6 \(MAX_STEPS\)"):
        DiscreteTrajectory(np.zeros((1, 1)), np.zeros(1), np.zeros(1, int), {}, status=-4)


# --- one atomic save ------------------------------------------------------------------------


def _both_results() -> list[object]:
    flow = fp.steepest_descent_flow(slope(0.5), "linf")
    obj = separable_quadratic([1.0, 2.0], [0.0, 0.0])
    return [
        fp.solve(flow, [0.6, 0.1], (0, 4)),
        fp.schemes.SignGD(step=0.25).run(obj, [1.0, 0.5], n_steps=3),
    ]


@pytest.mark.parametrize("which", [0, 1], ids=["solution", "trajectory"])
def test_both_result_types_save_atomically_with_fsync(which, tmp_path, monkeypatch):
    result = _both_results()[which]
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    target = tmp_path / "result.npz"
    assert result.save(target) == target  # type: ignore[attr-defined]
    assert len(synced) >= 1  # the file (and, where it can be opened, the folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.npz"]
    good = target.read_bytes()

    def replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="No space left"):
        result.save(target)  # type: ignore[attr-defined]
    # the old file is intact and no temporary file is left behind
    assert target.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.npz"]


def test_the_trajectory_module_has_no_atomic_write_of_its_own():
    source = (Path(fp.schemes.__file__).parent / "trajectory.py").read_text(encoding="utf-8")
    assert "os.replace(" not in source and "mkstemp" not in source and "save_npz(" in source


# --- what earlier versions wrote ------------------------------------------------------------


def _same_path(a: FilippovSolution, b: FilippovSolution) -> None:
    """Same run: breakpoints, events, statuses and dense output (to rounding)."""
    np.testing.assert_allclose(a.t, b.t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-12, atol=1e-12)
    assert [e.kind for e in a.events] == [e.kind for e in b.events]
    assert a.status == b.status and a.message == b.message
    ts = np.linspace(a.t[0], a.t[-1], 57)
    np.testing.assert_allclose(a(ts), b(ts), rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def fresh() -> dict[str, FilippovSolution]:
    flow = fp.steepest_descent_flow(slope(0.5), "linf")
    l2 = fp.steepest_descent_flow(separable_quadratic([1.0, 2.0], [0.0, 0.0]), "l2")
    return {
        "exact": fp.solve(flow, [0.6, 0.1], (0, 4)),
        "compact": fp.solve(flow, [0.6, 0.1], (0, 4), storage="compact"),
        "events": fp.solve(l2, [1.0, -0.6], (0, 0.5)),
    }


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("exact", old.EXACT_PICKLE),
        ("compact", old.COMPACT_PICKLE),
        ("events", old.EVENTS_PICKLE),
    ],
)
def test_pickles_of_the_previous_layout_load(name, data, fresh):
    sol = pickle.loads(old.fixture(data))
    assert type(sol) is type(fresh[name])
    assert isinstance(sol.status, Status)
    _same_path(sol, fresh[name])
    assert list(sol.stats)[: len(STATS_KEYS)] == list(STATS_KEYS)
    assert sol.stats["n_events"] == len(sol.events)
    # and it pickles again under the new layout
    assert pickle.loads(pickle.dumps(sol)) == sol


@pytest.mark.parametrize(
    ("name", "data", "pickled"),
    [
        ("exact", old.EXACT_FILE, old.EXACT_PICKLE),
        ("compact", old.COMPACT_FILE, old.COMPACT_PICKLE),
        ("events", old.EVENTS_FILE, old.EVENTS_PICKLE),
    ],
)
def test_files_of_the_previous_version_load(name, data, pickled, fresh, tmp_path):
    path = tmp_path / f"{name}.npz"
    path.write_bytes(old.fixture(data))
    sol = FilippovSolution.load(path)
    assert type(sol) is type(fresh[name])
    assert sol == pickle.loads(old.fixture(pickled))  # both written by the old code
    _same_path(sol, fresh[name])
    # saved again by this version, it reads back equal
    assert FilippovSolution.load(sol.save(tmp_path / "again.npz")) == sol


def test_old_trajectory_files_and_pickles_map_their_codes(tmp_path):
    path = tmp_path / "traj.npz"
    path.write_bytes(old.fixture(old.TRAJ_FILE))
    from_file = DiscreteTrajectory.load(path)
    from_pickle = pickle.loads(old.fixture(old.TRAJ_PICKLE))
    for traj in (from_file, from_pickle):
        # the old -3 meant "a step failed": now INTEGRATION_FAILED (-1)
        assert traj.status is Status.INTEGRATION_FAILED
        assert traj.message == "Step 3 failed: old-code fixture."
        assert traj.n_steps == 8 and traj.stats["n_steps"] == 8
    np.testing.assert_array_equal(from_file.x, from_pickle.x)
    # written again, it is a format-2 file with the new code
    back = DiscreteTrajectory.load(from_file.save(tmp_path / "again.npz"))
    assert back.status is Status.INTEGRATION_FAILED


@pytest.mark.parametrize(
    ("old_code", "new"),
    [
        (2, Status.CALLBACK),
        (1, Status.STATIONARY),
        (0, Status.FINISHED),
        (-1, Status.MAX_STEPS),
        (-2, Status.NON_FINITE),
        (-3, Status.INTEGRATION_FAILED),
    ],
)
def test_every_format_1_trajectory_code_is_mapped(old_code, new, tmp_path):
    """Rewrite the old file's status (and re-sign it) for each old code."""
    import json

    from filippov._npz_io import npz_bytes, read_npz

    path = tmp_path / "traj.npz"
    path.write_bytes(old.fixture(old.TRAJ_FILE))
    arrays = read_npz(path, "trajectory")
    meta = json.loads(arrays["__metadata__"].tobytes().decode("utf-8"))
    assert meta["format"] == "filippov.DiscreteTrajectory/1"
    meta["status"] = old_code
    arrays["__metadata__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    path.write_bytes(npz_bytes(arrays))
    assert DiscreteTrajectory.load(path).status is new


def test_tables_carry_the_stats_of_both_result_types():
    pytest.importorskip("pandas")
    sol, traj = _both_results()
    for result, table in ((sol, "events"), (traj, "iterates")):
        attrs = result.to_dataframe(table).attrs  # type: ignore[attr-defined]
        assert {k: attrs[k] for k in STATS_KEYS} == dict(result.stats)  # type: ignore[attr-defined]


def test_no_module_imports_a_private_name_of_the_result_modules():
    """The engine uses the documented constructors (``trusted_record``, ``readonly_view``,
    ``CompactStore``, ...), not private names of ``filippov.solution`` and friends."""
    import ast

    result_modules = ("filippov.solution", "filippov.compact_solution", "filippov._status")
    root = Path(fp.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and not node.level
                and (node.module or "").startswith(result_modules)
            ):
                private = [a.name for a in node.names if a.name.startswith("_")]
                found += [f"{path.relative_to(root)}: {node.module}.{n}" for n in private]
    assert found == []
