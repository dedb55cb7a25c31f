"""``import filippov`` and ``filippov --help`` stay light: no sympy, no matplotlib.

Each check runs a fresh interpreter (the test session itself has imported everything) and
lists the heavy modules it ended up with. Timings live in ``benchmarks/import_time.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Imported on first use only: sympy by from_expr, matplotlib by filippov.plot, scipy's
#: integrators and optimizers by the first solve, jax/pandas/xarray by their features.
HEAVY = (
    "sympy",
    "matplotlib",
    "scipy.integrate",
    "scipy.optimize",
    "scipy.interpolate",
    "jax",
    "pandas",
    "xarray",
    "filippov.plot",
    "filippov._event_path",
    "filippov._exact_path",
)

_REPORT = (
    "import json, sys; "
    "print(json.dumps(sorted(m for m in sys.modules "
    "if any(m == h or m.startswith(h + '.') for h in {heavy!r}))))"
)


def _loaded_after(code: str) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("MPLBACKEND", None)
    out = subprocess.run(
        [sys.executable, "-c", code + "\n" + _REPORT.format(heavy=HEAVY)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_filippov_loads_no_heavy_module() -> None:
    loaded = _loaded_after(f"import filippov; assert filippov.__file__.startswith({str(ROOT)!r})")
    assert loaded == []


def test_cli_help_loads_no_heavy_module() -> None:
    code = (
        "import contextlib, io\n"
        "from filippov.cli import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "assert 'simulate' in buf.getvalue()\n"
    )
    assert _loaded_after(code) == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # The guard above can fail: these uses do load what they need, lazily.
        (
            "import filippov as fp\nfrom filippov.objectives import slope\n"
            "sol = fp.solve(fp.steepest_descent_flow(slope(0.5), 'linf'), [0.6, 0.1], (0, 4))\n"
            "fp.plot.time_series(sol)",
            "matplotlib",
        ),
        (
            "from filippov import Objective\n"
            "Objective.from_expr('x**2 + y**2', variables=['x', 'y'])",
            "sympy",
        ),
        (
            "import filippov as fp\nfrom filippov.objectives import slope\n"
            "fp.solve(fp.steepest_descent_flow(slope(0.5), 'l2'), [0.6, 0.1], (0, 1))",
            "filippov._event_path",
        ),
    ],
)
def test_first_use_imports_the_dependency(code: str, expected: str) -> None:
    assert expected in _loaded_after(code)


def test_engine_paths_reachable_before_the_first_solve() -> None:
    # Tests and users patch `fp.engine._exact_path`; it must resolve before any solve.
    code = (
        "import filippov as fp\n"
        "assert fp.engine._exact_path.__name__ == 'filippov._exact_path'\n"
        "assert fp.engine._event_path.__name__ == 'filippov._event_path'\n"
        "try:\n"
        "    fp.engine.no_such_name\n"
        "except AttributeError as exc:\n"
        "    assert 'no_such_name' in str(exc)\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
    )
    assert "filippov._exact_path" in _loaded_after(code)


def test_lazy_module_imports_on_first_attribute() -> None:
    from filippov._lazy import LazyMapping, LazyModule

    mod = LazyModule("colorsys")
    assert "not yet imported" in repr(mod)
    assert mod.rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
    assert "(imported)" in repr(mod)
    with pytest.raises(AttributeError):
        mod.no_such_function
    calls: list[int] = []

    def build() -> dict[str, int]:
        calls.append(1)
        return {"a": 1, "b": 2}

    table = LazyMapping(build)
    assert calls == []
    assert "a" in table and table["b"] == 2 and sorted(table) == ["a", "b"] and len(table) == 2
    assert calls == [1]  # built once


def test_no_public_function_hides_its_module() -> None:
    # `import filippov.compare as m` used to give the function `fp.compare`, not a module.
    code = (
        "import types, filippov as fp\n"
        "import filippov.comparison as c, filippov.sweeps as s\n"
        "assert isinstance(c, types.ModuleType) and isinstance(s, types.ModuleType)\n"
        "assert callable(fp.compare) and callable(fp.sweep)\n"
        "import pkgutil\n"
        "names = {m.name for m in pkgutil.iter_modules(fp.__path__)}\n"
        "clash = [n for n in names if not isinstance(getattr(fp, n, types), (type, types.ModuleType))"
        " and callable(getattr(fp, n, None))]\n"
        "assert clash == [], clash\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
