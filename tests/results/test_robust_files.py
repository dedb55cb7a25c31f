"""Damaged, foreign and hostile result files are refused with a ValueError naming the file.

A fuzz test over solution (exact path, event path and compact) and trajectory files: truncations at
seeded random offsets, seeded random byte flips, foreign npz archives, pickle-bearing files,
an empty file and a folder. Every one must raise ``ValueError`` (never a raw ``zipfile``,
numpy or ``KeyError``), and a pickle payload that would create a marker file must never run.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

import filippov as fp
from filippov import objectives as obj_lib
from filippov._npz_io import npz_bytes
from filippov.compact_solution import CompactSolution
from filippov.schemes import DiscreteTrajectory
from filippov.solution import FilippovSolution

N_TRUNCATIONS = 60
N_FLIPS = 120


class _Payload:
    """Unpickling it calls ``open(marker, "w")``: the marker file appears iff it ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _exact_solution() -> FilippovSolution:
    return fp.solve(fp.steepest_descent_flow(obj_lib.slope(0.5), "linf"), [0.6, 0.1], (0.0, 4.0))


def _event_solution() -> FilippovSolution:
    obj = fp.Objective.from_expr("log(1 + x**2) + cosh(y - x)", ["x", "y"])
    return fp.solve(fp.steepest_descent_flow(obj, "l1"), [1.0, -0.5], (0.0, 2.0))


def _trajectory() -> DiscreteTrajectory:
    return fp.schemes.SignGD(step=0.1).run(obj_lib.slope(0.5), [0.6, 0.1], n_steps=20)


def _compact_solution() -> CompactSolution:
    a = np.array([[4.0, 1.0, 0.0, 0.0], [1.0, 3.0, 1.0, 0.0], [0.0, 1.0, 2.0, 0.5], [0, 0, 0.5, 1]])
    obj = fp.Objective.quadratic(a, np.array([1.0, -1.0, 0.5, 2.0]))
    system = fp.steepest_descent_flow(obj, "linf")
    sol = fp.solve(system, [1.0, 2.0, -1.0, 0.3], (0.0, 5.0), storage="compact")
    assert isinstance(sol, CompactSolution) and len(sol.events) == 5
    return sol


KINDS = {
    "compact-solution": (_compact_solution, CompactSolution.load),
    # the full-format reader routes compact files to CompactSolution: same checks
    "compact-via-full-load": (_compact_solution, FilippovSolution.load),
    "exact-solution": (_exact_solution, FilippovSolution.load),
    "event-solution": (_event_solution, FilippovSolution.load),
    "trajectory": (_trajectory, DiscreteTrajectory.load),
}


@pytest.fixture(scope="module", params=sorted(KINDS))
def saved(request, tmp_path_factory):
    make, load = KINDS[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    path = make().save(folder / "good.npz")
    load(path)  # the intact file loads
    return request.param, path.read_bytes(), load, folder


def _refused(load, path: Path) -> str:
    with pytest.raises(ValueError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message, message
    return message


def test_truncated_files(saved):
    _kind, raw, load, folder = saved
    rng = np.random.default_rng(21)
    offsets = {0, 1, 4, len(raw) - 1, len(raw) - 22, len(raw) - 64}
    offsets |= set(rng.integers(1, len(raw), N_TRUNCATIONS).tolist())
    path = folder / "truncated.npz"
    for cut in sorted(offsets):
        path.write_bytes(raw[:cut])
        message = _refused(load, path)
        assert "empty" in message if cut == 0 else "truncated" in message or "corrupt" in message


def test_flipped_bytes(saved):
    _kind, raw, load, folder = saved
    rng = np.random.default_rng(2121)
    positions = rng.integers(0, len(raw), N_FLIPS).tolist()
    # the headers and the end record too, where zip's CRCs do not look
    positions += [5, 10, 12, 30, len(raw) - 70, len(raw) - 84, len(raw) - 100, len(raw) - 1]
    path = folder / "flipped.npz"
    for pos in positions:
        damaged = bytearray(raw)
        damaged[pos] ^= int(rng.integers(1, 256))
        path.write_bytes(bytes(damaged))
        _refused(load, path)


def test_foreign_and_hostile_files(saved, tmp_path):
    kind, raw, load, _folder = saved
    marker = tmp_path / "pwned"
    cases: dict[str, bytes] = {}
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(3.0), meta=np.arange(4, dtype=np.uint8))
    cases["foreign npz"] = buf.getvalue()
    buf = io.BytesIO()
    np.savez_compressed(buf, x=np.zeros(3))
    cases["compressed npz"] = buf.getvalue()
    buf = io.BytesIO()
    np.savez(buf, x=np.array([_Payload(marker)], dtype=object))
    cases["npz with a pickled object array"] = buf.getvalue()
    # ... also with a valid filippov digest, so the checksum is not what stops it
    cases["signed npz with an object array"] = npz_bytes(
        {"x": np.array([_Payload(marker)], dtype=object)}
    )
    cases["pickle"] = pickle.dumps(_Payload(marker))
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    cases["npy"] = buf.getvalue()
    cases["text"] = b"x,y\n1,2\n"
    cases["empty"] = b""
    # a zip that holds something else than npy members
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("meta.npy", b"not an array")
    cases["zip of junk"] = buf.getvalue()
    # well-formed and signed, but with inconsistent or missing contents
    meta_key = "meta" if kind != "trajectory" else "__metadata__"

    def meta(value) -> np.ndarray:
        return np.frombuffer(json.dumps(value).encode(), dtype=np.uint8)

    good = {k: np.array(v) for k, v in np.load(io.BytesIO(raw), allow_pickle=False).items()}
    old_meta = json.loads(good[meta_key].tobytes().decode())
    cases["signed, meta is not JSON"] = npz_bytes({**good, meta_key: np.arange(5, dtype=np.uint8)})
    cases["signed, meta is a list"] = npz_bytes({**good, meta_key: meta([1, 2])})
    gone = "x" if "x" in good else "lam_val"
    cases["signed, an array missing"] = npz_bytes({k: v for k, v in good.items() if k != gone})
    cases["signed, wrong shapes"] = npz_bytes({**good, "t": np.zeros((2, 2, 2))})
    cases["signed, meta truncated"] = npz_bytes(
        {
            **good,
            meta_key: meta(
                {k: v for k, v in old_meta.items() if k not in ("status", "diagnostics")}
            ),
        }
    )
    if kind == "trajectory":
        newer = {**old_meta, "format": "filippov.DiscreteTrajectory/99"}
    else:
        newer = {**old_meta, "version": 99}
    cases["newer format"] = npz_bytes({**good, meta_key: meta(newer)})
    messages = {}
    for name, content in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.npz"
        path.write_bytes(content)
        messages[name] = _refused(load, path)
    assert not marker.exists(), "a pickle payload ran"
    assert "newer" in messages["newer format"]
    assert "empty" in messages["empty"]
    assert "pickle" in messages["pickle"]
    for name in ("npz with a pickled object array", "signed npz with an object array"):
        assert "object" in messages[name], messages[name]
    with pytest.raises(ValueError, match="folder"):
        load(tmp_path)


def test_saved_files_are_plain_npz(saved):
    # The digest sits in the zip comment: any npz reader still opens the file.
    _kind, raw, _load, _folder = saved
    with np.load(io.BytesIO(raw), allow_pickle=False) as data:
        assert "t" in data.files
    assert zipfile.ZipFile(io.BytesIO(raw)).comment.startswith(b"filippov-sha256:")


# ------------------------------------- compact files: well-formed but inconsistent contents
def _compact_tampered(good: dict[str, np.ndarray]) -> dict[str, tuple[str, dict]]:
    """Re-saved (validly signed) compact files with one entry edited: name -> (entry, arrays)."""
    n_modes = good["mode_norm"].size
    n_seg = good["tau0"].size

    def edit(key: str, value: np.ndarray) -> tuple[str, dict]:
        return key, {**good, key: value}

    def shorter(key: str) -> tuple[str, dict]:
        return edit(key, good[key][:-1])

    def replaced(key: str, index: tuple, value: int) -> tuple[str, dict]:
        a = good[key].copy()
        a[index] = value
        return edit(key, a)

    cases = {f"{key} shortened": shorter(key) for key in (
        "ev_tau", "t", "tau1", "seg_mode", "seg_kind", "v_rule", "sign_off", "free_off",
        "lam_off", "lam_val", "bp_seg", "chk_x", "ev_kind", "ev_mode", "ev_xref", "x_init",
        "mode_chk_signs",
    )}  # fmt: skip
    cases |= {
        "t reversed": edit("t", good["t"][::-1].copy()),
        "tau0 reversed": edit("tau0", good["tau0"][::-1].copy()),
        "ev_tau reversed": edit("ev_tau", good["ev_tau"][::-1].copy()),
        "t with a NaN": replaced("t", (1,), np.nan),
        "seg_mode out of range": replaced("seg_mode", (0,), n_modes),
        "ev_mode out of range": replaced("ev_mode", (0, 1), n_modes + 3),
        "seg_kind out of range": replaced("seg_kind", (0,), 100),
        "ev_note out of range": replaced("ev_note", (0,), 7),
        "ev_xref out of range": replaced("ev_xref", (0,), n_seg),
        "ev_xref before extra_x": replaced("ev_xref", (0,), -2),
        "bp_seg out of range": replaced("bp_seg", (1,), n_seg + 1),
        "lam_idx out of range": replaced("lam_idx", (0,), good["x_init"].size),
        "sign_idx negative": replaced("sign_idx", (0,), -1),
        "free_idx out of range": replaced("free_idx", (0,), 99),
        "lam_off not monotone": replaced("lam_off", (1,), 10**6),
        "chk_seg not at 0": replaced("chk_seg", (0,), 1),
        "mode_norm out of range": replaced("mode_norm", (0,), 9),
        "seg_mode as floats": edit("seg_mode", good["seg_mode"].astype(np.float64)),
    }
    return cases


def test_compact_files_with_inconsistent_contents_are_refused(tmp_path):
    good_path = _compact_solution().save(tmp_path / "good.npz")
    with np.load(good_path, allow_pickle=False) as data:
        good = {k: np.array(data[k]) for k in data.files}
    assert len(CompactSolution.load(good_path).events) == 5
    for name, (entry, arrays) in _compact_tampered(good).items():
        path = tmp_path / f"{name.replace(' ', '_')}.npz"
        path.write_bytes(npz_bytes(arrays))
        for load in (CompactSolution.load, FilippovSolution.load):
            message = _refused(load, path)
            assert repr(entry) in message, (name, message)


def test_compact_file_with_an_event_deleted_is_not_read_as_fewer_events(tmp_path):
    # The wrong-answer case: ev_tau one shorter loaded before as 4 events instead of 5.
    good_path = _compact_solution().save(tmp_path / "good.npz")
    with np.load(good_path, allow_pickle=False) as data:
        arrays = {k: np.array(data[k]) for k in data.files}
    arrays["ev_tau"] = np.delete(arrays["ev_tau"], 2)
    path = tmp_path / "fewer.npz"
    path.write_bytes(npz_bytes(arrays))
    with pytest.raises(ValueError, match=r"'ev_tau'.*one per event|'ev_kind'.*'ev_tau'"):
        CompactSolution.load(path)


# ------------------------------------------------------- save/load and pickle are exact
def _flow(expr: str, names: list[str], norm: str):
    return fp.steepest_descent_flow(fp.Objective.from_expr(expr, names), norm)


def _round_trip_cases():
    from filippov.systems import coulomb_oscillator, twisting_system

    smooth = ("log(1 + x**2) + cosh(y - x) + 0.3*y**2", ["x", "y"])
    return {
        "linf exact path": (fp.steepest_descent_flow(obj_lib.slope(0.5), "linf"), [0.6, 0.1], 4.0),
        "l1 exact path": (
            fp.steepest_descent_flow(obj_lib.separable_quadratic([1.0, 4.0], [0.5, -0.5]), "l1"),
            [1.0, 1.0],
            3.0,
        ),
        "linf event path": (_flow(*smooth, "linf"), [1.0, -0.5], 3.0),
        "linf continuation path": (_flow(*smooth, "linf"), [1.0, -0.5], 3.0),
        "l1 event path": (_flow(*smooth, "l1"), [1.0, -0.5], 3.0),
        "l2 event path": (_flow(*smooth, "l2"), [1.0, -0.5], 3.0),
        # a late start: the dense output is shifted by an offset, not by rounded times
        "l1 event path from t0 = 1e12": (_flow(*smooth, "l1"), [1.0, -0.5], 3.0, 1e12),
        "coulomb friction": (coulomb_oscillator(0.3), [1.5, 0.0], 6.0),
        "twisting relay": (twisting_system(), [1.0, 0.0], 3.0),
    }


def _assert_identical(a: FilippovSolution, b: FilippovSolution) -> None:
    assert a == b
    assert (a.status, a.message, a.method) == (b.status, b.message, b.method)
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.x, b.x)
    assert len(a.events) == len(b.events)
    for e, f in zip(a.events, b.events, strict=True):
        assert (e.t, e.kind, e.indices, e.mode_before, e.mode_after) == (
            f.t,
            f.kind,
            f.indices,
            f.mode_before,
            f.mode_after,
        )
        np.testing.assert_array_equal(e.x, f.x)
    assert [(s.t0, s.t1, s.mode, s.kind, type(s.dense)) for s in a.segments] == [
        (s.t0, s.t1, s.mode, s.kind, type(s.dense)) for s in b.segments
    ]
    ts = np.linspace(a.t[0], a.t[-1], 1777)
    ts = np.sort(np.r_[ts, a.t, [e.t for e in a.events]])
    np.testing.assert_array_equal(a(ts), b(ts))  # bit for bit, not to a tolerance
    for s, r in zip(a.segments, b.segments, strict=True):
        inside = np.linspace(s.t0, s.t1, 13)
        np.testing.assert_array_equal(s(inside), r(inside))


@pytest.mark.parametrize("case", sorted(_round_trip_cases()))
def test_save_load_and_pickle_give_an_identical_solution(case, tmp_path):
    system, x0, t_end, *start = _round_trip_cases()[case]
    t0 = start[0] if start else 0.0
    # "auto" runs sign flows of smooth objectives on the continuation path
    method = "events" if "event path" in case else "auto"
    sol = fp.solve(system, x0, (t0, t0 + t_end), method=method)
    np.testing.assert_array_equal(sol(t0), x0)
    if t0:
        # the engine integrates from 0 and shifts: at times t0 + τ with τ on a grid that
        # t0 + τ represents exactly, the late run reads like the run from 0
        early = fp.solve(system, x0, (0.0, t_end), method=method)
        tau = np.arange(0, int(64 * t_end) + 1) / 64.0
        np.testing.assert_allclose(sol(t0 + tau), early(tau), rtol=0, atol=1e-12)
    assert sol.status in (0, 1), sol.message
    if "event" in case or case in ("coulomb friction", "twisting relay"):
        assert sol.method.startswith("events"), sol.method
        assert len(sol.events) >= 1
    if "continuation" in case:
        assert sol.method == "continuation" and len(sol.events) >= 1
    loaded = FilippovSolution.load(sol.save(tmp_path / "sol.npz"))
    _assert_identical(sol, loaded)
    _assert_identical(sol, pickle.loads(pickle.dumps(sol)))
    # and the loaded copy saves to the same bytes
    assert loaded.save(tmp_path / "again.npz").read_bytes() == (tmp_path / "sol.npz").read_bytes()


def test_nodal_dense_reproduces_the_integrator_to_rounding():
    # An independent check of the stored samples: the event-path dense output of the
    # ℓ2 flow of a separable quadratic against its closed form (x_i − c_i ∝ e^{−λ_i s}).
    from filippov.solution import NodalDense

    obj = fp.Objective.from_expr("(x - 1)**2 + 4*(y + 2)**2 + 0.001*x**4", ["x", "y"])
    sol = fp.solve(
        fp.steepest_descent_flow(obj, "l2"), [3.0, 1.0], (0.0, 1.0), rtol=1e-12, atol=1e-12
    )
    nodal = [s for s in sol.segments if isinstance(s.dense, NodalDense)]
    assert nodal
    for seg in nodal:
        d = seg.dense
        nodes = d.nodes()
        # at the nodes the stored values come back exactly
        np.testing.assert_array_equal(d(nodes.ravel()), d.values.reshape(-1, d.n))
        # between nodes: the l2 velocity is −∇f/‖∇f‖, so ‖x'‖ = 1 (a centred difference)
        t = np.linspace(seg.t0, seg.t1, 50)[1:-1]
        h = 1e-5 * (seg.t1 - seg.t0)
        v = (d(t + h) - d(t - h)) / (2 * h)
        g = np.array([obj.grad(x) for x in d(t)])
        np.testing.assert_allclose(v, -g / np.linalg.norm(g, axis=1)[:, None], atol=1e-7)
