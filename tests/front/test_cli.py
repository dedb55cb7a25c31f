"""The command line: summaries, JSON, saving, one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from filippov.cli import main
from filippov.solution import FilippovSolution

SLOPE = "0.5*(x - a*y)**2 + 0.5*(y + 3)**2"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_prints_the_hand_solution_of_the_slope_example(capsys):
    code, out, _ = run(
        [
            "simulate",
            SLOPE,
            "--vars",
            "x,y",
            "--params",
            "a=0.5",
            "--x0",
            "0.6,0.1",
            "--t-end",
            "4",
        ],
        capsys,
    )
    assert code == 0
    assert "sliding-entry" in out and "stationary" in out
    assert "1.1" in out and "3.1" in out


def test_simulate_json_round_trips_event_times(capsys):
    code, out, _ = run(
        [
            "simulate",
            SLOPE,
            "--vars",
            "x,y",
            "--params",
            "a=2",
            "--x0=-0.6,0.1",
            "--t-end",
            "1",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    data = json.loads(out)
    crossings = [e for e in data["events"] if e["kind"] == "crossing"]
    assert len(crossings) == 1
    assert crossings[0]["t"] == pytest.approx(0.8 / 3, abs=1e-9)


def test_simulate_save_writes_a_loadable_solution(tmp_path: Path, capsys):
    target = tmp_path / "sol.npz"
    code, _, _ = run(
        [
            "simulate",
            SLOPE,
            "--vars",
            "x,y",
            "--params",
            "a=0.5",
            "--x0",
            "0.6,0.1",
            "--t-end",
            "4",
            "--save",
            str(target),
        ],
        capsys,
    )
    assert code == 0
    sol = FilippovSolution.load(target)
    np.testing.assert_allclose(sol(4.0), [-1.5, -3.0], atol=1e-8)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["simulate", "x**2+", "--vars", "x", "--x0", "1", "--t-end", "1"], "expr"),
        (["simulate", "x**2", "--vars", "x", "--x0", "1,a", "--t-end", "1"], "--x0"),
        (["simulate", "x**2", "--vars", "x", "--x0", "1,2", "--t-end", "1"], "x0"),
        (["simulate", "x**2", "--vars", "x", "--x0", "nan", "--t-end", "1"], "finite"),
        (["simulate", "abs(x)", "--vars", "x", "--x0", "1", "--t-end", "1"], "smooth"),
        (
            ["simulate", "x**2", "--vars", "x", "--x0", "1", "--t-end", "1", "--norm", "l3"],
            "--norm",
        ),
        (["simulate", "x**2 + z", "--vars", "x", "--x0", "1", "--t-end", "1"], "z"),
        (["simulate", "x**2", "--vars", "x", "--x0", "1", "--t-end", "-1"], "t_span"),
        (
            ["simulate", "x**2", "--vars", "x", "--params", "a", "--x0", "1", "--t-end", "1"],
            "name=value",
        ),
        (
            [
                "portrait",
                "x**2+y**2",
                "--vars",
                "x,y",
                "--xlim",
                "1,0",
                "--ylim",
                "0,1",
                "--plot",
                "out.png",
            ],
            "--xlim",
        ),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, fragment, capsys):
    code, out, err = run(args, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("filippov: error:")
    assert fragment in lines[0]
    assert "Traceback" not in err + out


def test_console_script_entry_point_runs_the_demo():
    # Through the interpreter, as a fresh install runs it (no plot: that is tested in
    # test_plot with the Agg backend).
    proc = subprocess.run(
        [sys.executable, "-m", "filippov.cli", "demo", "--no-plot"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("FilippovSolution") == 2
    assert "crossing" in proc.stdout and "sliding-entry" in proc.stdout


def test_unwritable_save_path_is_a_one_line_error(tmp_path: Path, capsys):
    code, _, err = run(
        [
            "simulate",
            "x**2",
            "--vars",
            "x",
            "--x0",
            "1",
            "--t-end",
            "1",
            "--save",
            str(tmp_path / "missing" / "sol.npz"),
        ],
        capsys,
    )
    assert code == 2
    assert err.strip().startswith("filippov: error: cannot write")
    assert len(err.strip().splitlines()) == 1


# ------------------------------------------------------- files and pipes (issue 22)

SIM = ["simulate", "x**2 + 3*y**2", "--vars", "x,y", "--x0", "1,1", "--t-end", "2"]


def test_plot_to_a_folder_is_an_error_and_writes_nothing(tmp_path: Path, capsys):
    code, out, err = run(["demo", "--plot", str(tmp_path)], capsys)
    assert code == 2 and out == ""
    assert err.startswith("filippov: error: `--plot` must name a file, not a folder")
    assert not Path(str(tmp_path) + ".png").exists()


def test_plot_without_suffix_reports_the_file_written(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["demo", "--plot", "noext"], capsys)
    assert code == 0
    assert out.strip().endswith("phase portrait written to noext.png")
    assert (tmp_path / "noext.png").is_file() and not (tmp_path / "noext").exists()


def test_plot_with_an_unknown_suffix_fails_before_solving(tmp_path: Path, capsys):
    code, out, err = run([*SIM, "--plot", str(tmp_path / "a.xyz")], capsys)
    assert code == 2 and out == ""
    assert "--plot must end in an image suffix" in err


@pytest.mark.parametrize("where", ["folder", "empty", "missing"])
def test_bad_save_destination_fails_before_solving(tmp_path: Path, capsys, where):
    dest = {"folder": str(tmp_path), "empty": "", "missing": str(tmp_path / "no" / "s.npz")}
    code, out, err = run([*SIM, "--save", dest[where]], capsys)
    assert code == 2
    assert out == ""  # nothing was solved and printed, then lost
    assert len(err.strip().splitlines()) == 1 and err.startswith("filippov: error:")


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc")
def test_unwritable_save_destination_is_found_before_solving(capsys):
    code, out, err = run([*SIM, "--save", "/proc/x.npz"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("filippov: error: cannot write /proc/x.npz")


@pytest.mark.parametrize("position", ["first", "after --"])
def test_expression_starting_with_minus(capsys, position):
    expr = "-x*y+x**2+y**2"
    opts = ["--vars", "x,y", "--x0", "1,0.5", "--t-end", "1", "--json"]
    argv = ["simulate", expr, *opts] if position == "first" else ["simulate", *opts, "--", expr]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert json.loads(out)["status"] in (0, 1)


def test_portrait_with_a_huge_window_is_a_one_line_error(tmp_path: Path, capsys):
    code, _, err = run(
        [
            "portrait",
            "x**2+y**2",
            "--vars",
            "x,y",
            "--xlim=-1e160,1e160",
            "--ylim=-1,1",
            "--plot",
            str(tmp_path / "p.png"),
        ],
        capsys,
    )
    assert code == 2
    assert err.startswith("filippov: error: --xlim: `xlim` must lie within")
    assert len(err.strip().splitlines()) == 1


def test_json_into_a_closed_pipe_stops_quietly():
    code = "\n".join(
        [
            "import subprocess, sys",
            "p = subprocess.Popen([sys.executable, '-m', 'filippov.cli', 'simulate', 'x**2',",
            "    '--vars', 'x', '--x0', '1', '--t-end', '1', '--json'],",
            "    stdout=subprocess.PIPE, stderr=subprocess.PIPE)",
            "p.stdout.readline(); p.stdout.close()",
            "err = p.stderr.read(); p.wait()",
            "print(p.returncode); print(err.decode())",
        ]
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120
    )
    rc, _, err = done.stdout.partition("\n")
    # 141 (128 + SIGPIPE) and nothing on stderr, or 0 when the whole JSON fit in the pipe
    assert rc.strip() in ("141", "0"), done.stdout
    assert "Broken pipe" not in err and "Traceback" not in err and "cannot write" not in err


def test_readme_cli_example_runs_as_pasted(tmp_path: Path, capsys, monkeypatch):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("## Command line", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = block.replace("\\\n", " ").strip().splitlines()
    assert commands and all("[" not in c for c in commands)
    import shlex

    monkeypatch.chdir(tmp_path)
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "filippov"
        code, _, err = run(words[1:], capsys)
        assert code == 0, (command, err)


class _ClosedPipe:
    """A stdout whose reader has gone away."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        raise ValueError("no file descriptor")


def test_broken_pipe_is_status_141_without_a_message(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    code = main([*SIM, "--json"])
    monkeypatch.undo()
    _, err = capsys.readouterr()
    assert code == 141
    assert err == ""


def test_a_portrait_of_a_flat_objective_is_drawn_without_contours(capsys, tmp_path):
    # (stranger review) matplotlib refused the equal contour levels of a constant f:
    # "Contour levels must be increasing", exit 2.
    target = tmp_path / "flat.png"
    code, out, err = run(
        ["portrait", "3", "--vars", "x,y", "--xlim=-4,2", "--ylim=-4,2", "--plot", str(target)],
        capsys,
    )
    assert code == 0 and err == "" and target.stat().st_size > 0
    assert str(target) in out


def test_a_scheduler_that_cannot_be_reached_is_not_a_file_that_cannot_be_written(
    capsys, tmp_path, monkeypatch
):
    # (stranger review) Every OSError read "cannot write : ..." with an empty file name.
    pytest.importorskip("dask.distributed")
    import dask.distributed

    def unreachable(address: str) -> None:
        raise OSError(f"Timed out trying to connect to {address} after 30 s")

    monkeypatch.setattr(dask.distributed, "Client", unreachable)
    args = ["sweep", SLOPE, "--vars", "x,y", "--params", "a=0.5", "--xlim=-3,1", "--ylim=-3,1"]
    args += ["--num", "2", "--t-end", "1", "--out", str(tmp_path / "t.csv")]
    code, _, err = run([*args, "--scheduler", "tcp://127.0.0.1:1"], capsys)
    assert code == 2
    assert err.strip() == (
        "filippov: error: Timed out trying to connect to tcp://127.0.0.1:1 after 30 s"
    )


@pytest.mark.parametrize("x0", ["1,,2", "1,2,", ",1,2"])
def test_an_empty_item_between_commas_is_refused(capsys, x0):
    # (stranger review) "1,,2" ran as (1, 2): a number the user meant went missing unsaid.
    args = ["simulate", "x**2 + y**2", "--vars", "x,y", f"--x0={x0}", "--t-end", "1"]
    code, _, err = run(args, capsys)
    assert code == 2
    assert err.strip() == f"filippov: error: --x0 has an empty item between its commas, got {x0!r}"


def test_a_parameter_given_twice_is_refused(capsys):
    # (stranger review) the last value won without a word
    args = ["simulate", SLOPE, "--vars", "x,y", "--params", "a=0.5", "--params", "a=2"]
    code, _, err = run([*args, "--x0", "0.6,0.1", "--t-end", "1"], capsys)
    assert code == 2 and err.strip() == "filippov: error: --params gives 'a' twice"


def test_a_sweep_axis_the_expression_does_not_use_is_refused(capsys, tmp_path):
    # (stranger review) every value of such an axis repeated the same runs
    args = ["sweep", "x**2 + y**2", "--vars", "x,y", "--xlim=-1,1", "--ylim=-1,1"]
    args += ["--num", "2", "--t-end", "1", "--out", str(tmp_path / "t.csv"), "--axis", "b=1,2"]
    with pytest.warns(UserWarning, match=r"`params` \['b'\] do not occur"):
        code, _, err = run(args, capsys)
    assert code == 2
    assert err.strip() == "filippov: error: --axis b: the expression does not use 'b'"
    assert not (tmp_path / "t.csv").exists()


def test_simulate_takes_the_continuation_path_and_agrees_with_the_event_path(capsys):
    # (the continuation path was not among --method's choices: reachable only by "auto")
    args = [
        "simulate",
        "log(cosh(x - 2*y)) + 0.5*(y + 1)**2 + 0.1*x**2",
        "--vars",
        "x,y",
        "--x0",
        "0.7,0.2",
        "--t-end",
        "6",
        "--json",
    ]
    results = {}
    for method in ("continuation", "events"):
        code, out, err = run([*args, "--method", method], capsys)
        assert code == 0, err
        results[method] = json.loads(out)
    cont, ev = results["continuation"], results["events"]
    assert cont["status"] == ev["status"] == 1
    t_cont = [e["t"] for e in cont["events"]]
    t_ev = [e["t"] for e in ev["events"]]
    assert len(t_cont) == len(t_ev) >= 2
    np.testing.assert_allclose(t_cont, t_ev, rtol=0, atol=1e-7)
