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

_RUNNER = """
import runpy, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
runpy.run_path(sys.argv[1], run_name="__main__")
numbers = plt.get_fignums()
for number in numbers:
    plt.figure(number).savefig(f"figure_{number}.png", dpi=60)
print(f"FIGURES {len(numbers)}")
"""


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


@pytest.mark.parametrize("script", _selected(), ids=lambda p: p.stem)
def test_script_runs_headless(script, tmp_path):
    if "sklearn" in script.read_text(encoding="utf-8"):
        # Gallery-only dependency (the `docs` extra); the docs build in .ci/run runs it.
        pytest.importorskip("sklearn")
    # a coarser grid for the sweep map (the docs build renders the full 300 x 300 one)
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "FILIPPOV_GALLERY_GRID": "60"}
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Traceback" not in done.stderr
    n_figures = int(done.stdout.rsplit("FIGURES", 1)[1])
    assert n_figures >= 1, "every story draws at least one figure"
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == [f"figure_{k}.png" for k in range(1, n_figures + 1)], (
        "scripts must not write files of their own"
    )


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
