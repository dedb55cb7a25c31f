"""The gallery scripts run headless, draw figures, and write nothing outside a temp dir.

Each script runs in its own interpreter (``MPLBACKEND=Agg``, working directory a fresh
temporary directory), the way sphinx-gallery executes it; the figures it leaves open are
saved to that directory, so a figure that cannot be rendered fails here too. Every script
takes a few seconds (the slowest about 5 s on two cores), all of them together well under
a minute. Set ``FILIPPOV_GALLERY_QUICK=1`` to run only the three fastest ones.
"""

from __future__ import annotations

import ast
import doctest
import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "gallery"
SCRIPTS = sorted(GALLERY.glob("plot_*.py"))
QUICK = ("plot_codim2_sliding_3d.py", "plot_tie_convexification.py", "plot_active_face.py")

# Runs each script given, in order, in this one interpreter, and saves the figures each
# leaves open as figure_<stem>_<k>.png. A script that a later one runs again with
# runpy.run_path (plot_paper_claims reruns plot_adam_signum_mlp for its network rows) is
# handed the namespace of the run just done instead of training the network twice.
_RUNNER = """
import os, runpy, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
done = {}
run_path = runpy.run_path
def run_again(path, init_globals=None, run_name=None):
    key = os.path.realpath(path)
    return dict(done[key]) if key in done else run_path(path, init_globals, run_name)
runpy.run_path = run_again
for script in sys.argv[1:]:
    stem = os.path.splitext(os.path.basename(script))[0]
    done[os.path.realpath(script)] = run_path(script, run_name="__main__")
    numbers = plt.get_fignums()
    for number in numbers:
        plt.figure(number).savefig(f"figure_{stem}_{number}.png", dpi=60)
    plt.close("all")
    print(f"FIGURES {stem} {len(numbers)}", flush=True)
"""

#: Scripts that another script runs again: they run first, in that script's process.
_RUN_BY = {"plot_adam_signum_mlp.py": "plot_paper_claims.py"}


def _selected() -> list[Path]:
    if os.environ.get("FILIPPOV_GALLERY_QUICK"):
        return [p for p in SCRIPTS if p.name in QUICK]
    return SCRIPTS


def test_gallery_is_not_empty_and_has_a_header():
    assert len(SCRIPTS) >= 10
    assert (GALLERY / "GALLERY_HEADER.rst").read_text(encoding="utf-8").strip()


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_script_has_a_title_and_text_blocks(script):
    source = script.read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(source))
    assert doc, "sphinx-gallery needs a module docstring with the title"
    title, underline = doc.strip().splitlines()[:2]
    assert underline == "=" * len(title), f"{script.name}: the title must be underlined"
    assert source.count("# %%") >= 2, "a story: at least two text/code blocks"
    comments = [line[2:] for line in source.splitlines() if line.startswith("# ")]
    for above, line in pairwise(comments):
        if line and set(line) <= set("-~^=") and len(line) >= 3:
            assert len(line) >= len(above), f"{script.name}: underline too short for {above!r}"


def test_every_script_is_in_the_narrative_order():
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        from gallery_order import ORDER
    finally:
        sys.path.pop(0)
    assert {p.name for p in SCRIPTS} <= set(ORDER)


def _runs() -> list[list[Path]]:
    """The selected scripts, one list per process: a script that another one runs again
    goes first in the other's list (see :data:`_RUN_BY`)."""
    selected = _selected()
    names = {p.name for p in selected}
    runs = []
    for script in selected:
        if _RUN_BY.get(script.name) in names:
            continue  # (in the process of the script that runs it)
        runs.append([p for p in selected if _RUN_BY.get(p.name) == script.name] + [script])
    return runs


def test_every_script_runs_once_and_the_pairs_still_hold():
    assert sorted(p.name for run in _runs() for p in run) == sorted(p.name for p in _selected())
    for dependency, runner in _RUN_BY.items():
        source = (GALLERY / runner).read_text(encoding="utf-8")
        assert dependency in source and "runpy.run_path" in source, (
            f"{runner} no longer runs {dependency}: drop the pair from _RUN_BY"
        )


@pytest.mark.parametrize("scripts", _runs(), ids=lambda run: "+".join(p.stem for p in run))
def test_script_runs_headless(scripts, tmp_path):
    if any("sklearn" in p.read_text(encoding="utf-8") for p in scripts):
        # Gallery-only dependency (the `docs` extra); the docs build in .ci/run runs it.
        pytest.importorskip("sklearn")
    # a coarser grid for the sweep map (the docs build renders the full 300 x 300 one)
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "FILIPPOV_GALLERY_GRID": "60"}
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, *map(str, scripts)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120 * len(scripts),
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Traceback" not in done.stderr
    figures = dict(
        line.split()[1:] for line in done.stdout.splitlines() if line.startswith("FIGURES ")
    )
    assert sorted(figures) == sorted(p.stem for p in scripts), done.stdout[-2000:]
    expected = []
    for stem, count in figures.items():
        assert int(count) >= 1, f"{stem}: every story draws at least one figure"
        expected += [f"figure_{stem}_{k}.png" for k in range(1, int(count) + 1)]
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(expected), "scripts must not write files of their own"


def test_getting_started_examples_are_current():
    """The ``>>>`` examples of docs/getting_started.rst run and print what the page shows."""
    result = doctest.testfile(
        str(ROOT / "docs" / "getting_started.rst"),
        module_relative=False,
        optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS,
        verbose=False,
    )
    assert result.attempted >= 8
    assert result.failed == 0


def test_getting_started_summary_listing_is_current():
    """The page's listing of ``sol.summary()`` is what the library prints today."""
    import filippov as fp
    from filippov.objectives import slope

    page = (ROOT / "docs" / "getting_started.rst").read_text(encoding="utf-8")
    sol = fp.solve(fp.steepest_descent_flow(slope(0.5), norm="linf"), [0.6, 0.1], (0.0, 4.0))
    for line in sol.summary().splitlines():
        assert ("   " + line).rstrip() in page, f"update docs/getting_started.rst: {line!r}"
