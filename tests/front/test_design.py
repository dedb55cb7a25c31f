"""The import graph of ``filippov/`` is the one docs/design.rst describes.

The layer table is read from the design page itself (the ``list-table`` named
``layer-table``), so the page and this test cannot disagree. Every intra-package import is
collected with :mod:`ast` — at module level, inside functions, under ``TYPE_CHECKING``,
and ``importlib.import_module("filippov....")`` calls with a literal name — and checked
against it: an import from a layer the table does not allow (an *upward* import such as
``filippov.selection`` importing ``filippov.engine``) fails, as does a module missing from
the table, a table entry with no module, and a "may import" entry no import uses.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "filippov"
DESIGN = ROOT / "docs" / "design.rst"


# --- the table, from the design page ------------------------------------------------------


def _layer_table(text: str) -> tuple[dict[str, str], dict[str, set[str]], list[str]]:
    """``(module -> layer, layer -> layers it may import, layers bottom-up)``."""
    start = text.index(":name: layer-table")
    block = []
    for line in text[start:].splitlines()[1:]:
        if line and not line.startswith(" "):  # the table ends at the next unindented text
            break
        block.append(line)
    rows = re.split(r"^   \* - ", "\n".join(block), flags=re.M)[1:]
    assert rows, "no rows in the layer table"
    layer_of: dict[str, str] = {}
    allowed: dict[str, set[str]] = {}
    order: list[str] = []
    for row in rows[1:]:  # rows[0] is the header
        cells = [" ".join(c.split()) for c in re.split(r"^     - ", row, flags=re.M)]
        assert len(cells) == 3, f"a layer row needs 3 cells: {cells}"
        layer, modules, may = cells
        order.append(layer)
        for name in re.findall(r"``([\w.]+)``", modules):
            full = "filippov" if name == "__init__" else f"filippov.{name}"
            assert full not in layer_of, f"{full} is listed twice"
            layer_of[full] = layer
        allowed[layer] = set() if may.strip() in ("—", "-") else {w.strip() for w in may.split(",")}
    for layer, below in allowed.items():
        unknown = below - set(order)
        assert not unknown, f"layer {layer!r} may import unknown layers {unknown}"
        later = {b for b in below if order.index(b) >= order.index(layer)}
        assert not later, f"layer {layer!r} may import {later}: not below it in the table"
    return layer_of, allowed, order


# --- the imports, from the code ------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(name: str, modules: set[str]) -> str:
    """The module ``name`` refers to: ``filippov.solution.Event`` -> ``filippov.solution``."""
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def intra_package_imports(source: str, module: str, is_package: bool, modules: set[str]):
    """``(target module, line)`` of every import of a ``filippov`` module in ``source``."""
    package = module if is_package else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from ..solution import y
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            names = [f"{origin}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            arg = node.args[0]
            if called in ("import_module", "__import__") and isinstance(arg, ast.Constant):
                names = [str(arg.value)]
        for name in names:
            if name == "filippov" or name.startswith("filippov."):
                target = _resolve(name, modules)
                if target != module:
                    found.append((target, node.lineno))
    return found


def _package_imports() -> tuple[set[str], list[tuple[str, str, int]]]:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in files}
    edges = []
    for path in files:
        module = _module_name(path)
        source = path.read_text(encoding="utf-8")
        for target, line in intra_package_imports(
            source, module, path.name == "__init__.py", modules
        ):
            edges.append((module, target, line))
    return modules, edges


def _violations(layer_of, allowed, edges):
    bad = []
    for module, target, line in edges:
        mine, theirs = layer_of.get(module), layer_of.get(target)
        if mine is None or theirs is None:
            bad.append(f"{module}:{line} imports {target}: not both in the layer table")
            continue
        if theirs != mine and theirs not in allowed[mine]:
            bad.append(f"{module}:{line} imports {target} ({mine} -> {theirs})")
    return bad


@pytest.fixture(scope="module")
def table():
    return _layer_table(DESIGN.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def graph():
    return _package_imports()


def test_every_module_is_in_the_layer_table_and_every_entry_exists(table, graph):
    layer_of, _, _ = table
    modules, _ = graph
    assert sorted(modules - set(layer_of)) == [], "add these modules to docs/design.rst"
    assert sorted(set(layer_of) - modules) == [], "docs/design.rst lists missing modules"


def test_no_import_crosses_the_layers_upward(table, graph):
    layer_of, allowed, _ = table
    _, edges = graph
    assert len(edges) > 100  # the walk really sees the package's imports
    assert _violations(layer_of, allowed, edges) == []


def test_every_allowed_dependency_is_used(table, graph):
    """The page does not claim dependencies the code does not have."""
    layer_of, allowed, _ = table
    _, edges = graph
    used = {(layer_of.get(m), layer_of.get(t)) for m, t, _ in edges}
    unused = sorted((a, b) for a, below in allowed.items() for b in below if (a, b) not in used)
    assert unused == [], "remove these from the 'may import' column of docs/design.rst"


def test_the_layer_order_is_the_pages(table):
    _, _, order = table
    assert order[0] == "foundation" and order[-1] == "front"
    assert order.index("blocks") < order.index("engine") < order.index("analysis")


@pytest.mark.parametrize(
    ("module", "is_package", "source", "expected"),
    [
        # module level, in a function, under TYPE_CHECKING, through importlib: all count
        ("filippov.selection", False, "import filippov.engine", ["filippov.engine"]),
        (
            "filippov.selection",
            False,
            "def f():\n    from filippov.engine import solve\n",
            ["filippov.engine"],
        ),
        (
            "filippov.selection",
            False,
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from filippov.solution import Event\n",
            ["filippov.solution"],
        ),
        (
            "filippov.selection",
            False,
            "import importlib\nm = importlib.import_module('filippov.plot')\n",
            ["filippov.plot"],
        ),
        ("filippov.schemes.steps", False, "from .base import Problem", ["filippov.schemes.base"]),
        ("filippov.schemes", True, "from . import base", ["filippov.schemes.base"]),
        ("filippov.plot", False, "from filippov import schemes", ["filippov.schemes"]),
        ("filippov.plot", False, "import numpy, scipy.linalg", []),
    ],
)
def test_the_walk_sees_every_kind_of_import(module, is_package, source, expected, graph):
    modules, _ = graph
    got = [t for t, _ in intra_package_imports(source, module, is_package, modules)]
    assert got == expected


def test_an_upward_import_is_reported(table, graph):
    """``filippov.selection`` importing ``filippov.engine`` (inside a function) must fail."""
    layer_of, allowed, _ = table
    modules, edges = graph
    source = (PACKAGE / "selection.py").read_text(encoding="utf-8")
    source += "\n\ndef _late():\n    from filippov.engine import solve\n\n    return solve\n"
    extra = [
        ("filippov.selection", t, line)
        for t, line in intra_package_imports(source, "filippov.selection", False, modules)
    ]
    bad = _violations(layer_of, allowed, edges + extra)
    assert len(bad) == 1 and "filippov.selection" in bad[0] and "filippov.engine" in bad[0]
    # and a sideways import between independent layers too (results -> systems)
    bad = _violations(layer_of, allowed, [("filippov.solution", "filippov.systems", 1)])
    assert bad == ["filippov.solution:1 imports filippov.systems (results -> systems)"]


def test_the_readme_test_command_runs_the_docstring_examples():
    """``python -m pytest -q`` (README, .ci/run) collects the examples in filippov/."""
    # (read as text: tomllib is Python 3.11+, the package supports 3.10)
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    testpaths = re.search(r"^testpaths = \[(.*)\]", config, flags=re.M)
    addopts = re.search(r'^addopts = "(.*)"', config, flags=re.M)
    assert testpaths and '"filippov"' in testpaths.group(1)
    assert addopts and "--doctest-modules" in addopts.group(1).split()
    assert "python -m pytest -q" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_layout_names_every_module(graph):
    modules, _ = graph
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") :]
    layout = layout[: layout.index("\n## ", 1)]
    missing = []
    for module in modules:
        parts = module.split(".")[1:]
        if not parts:
            names = {"__init__.py"}
        elif (ROOT / "filippov" / "/".join(parts) / "__init__.py").exists():
            names = {"/".join(parts) + "/"}  # a package: `engine/`
        else:  # `schemes/base.py` or, inside a package's paragraph, `base.py`
            names = {"/".join(parts) + ".py", parts[-1] + ".py"}
        if not any(f"`{name}`" in layout for name in names):
            missing.append(module)
    assert sorted(missing) == [], "describe these modules in the README's Layout section"


def _private_name_imports(
    source: str, package_dir: Path, here: Path | None = None
) -> list[tuple[int, str, str]]:
    """``(line, module, name)`` of every ``from <filippov module> import _name`` in
    ``source`` that imports a private *name* (a submodule such as ``_exact_path`` is not
    a name: internal modules are for the package's own use)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        module = node.module or ""
        if node.level == 0 and not (module == "filippov" or module.startswith("filippov.")):
            continue
        for alias in node.names:
            name = alias.name
            if not name.startswith("_") or name.startswith("__"):
                continue
            if node.level == 0:
                base = package_dir.joinpath(*module.split(".")[1:])
            else:  # relative to the package of the file `here`
                base = (here or package_dir / "x.py").parents[node.level - 1]
                base = base.joinpath(*module.split(".")) if module else base
            if (base / f"{name}.py").is_file() or (base / name / "__init__.py").is_file():
                continue  # a submodule
            found.append((node.lineno, "." * node.level + module, name))
    return found


def test_no_module_imports_a_private_name_of_another() -> None:
    package_dir = ROOT / "filippov"
    offenders = []
    for path in sorted(package_dir.rglob("*.py")):
        source = path.read_text("utf-8")
        for line, module, name in _private_name_imports(source, package_dir, path):
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {name} from {module}")
    assert offenders == [], "private names imported across modules:\n" + "\n".join(offenders)


def test_a_private_name_import_is_reported() -> None:
    package_dir = ROOT / "filippov"
    source = (
        "from filippov._validation import preview, _secret\n"
        "from filippov import _exact_path\n"
        "from numpy import _core\n"
        "from .norms import _hidden\n"
    )
    assert _private_name_imports(source, package_dir) == [
        (1, "filippov._validation", "_secret"),
        (4, ".norms", "_hidden"),
    ]
