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
