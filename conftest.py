"""Repository-wide pytest configuration: docstring examples that need an optional package.

``python -m pytest -q`` collects the examples in ``filippov/`` (``--doctest-modules``,
``testpaths``). The test step of CI installs the ``test``, ``dev``, ``jax`` and ``export``
extras; an example that needs a package outside them is skipped, with the package named,
when it is missing (it still runs where the package is installed, and the gallery script
that uses the same function runs in the docs build).
"""

from __future__ import annotations

import pytest

# Doctest name (module.qualname) -> (import name, where it comes from).
_DOCTEST_NEEDS: dict[str, tuple[str, str]] = {
    "filippov.reproduce.breast_cancer_benchmark": (
        "sklearn",
        "scikit-learn, the `docs` extra: the data set ships with it",
    ),
}


@pytest.fixture(autouse=True)
def _skip_doctest_without_its_optional_package(request: pytest.FixtureRequest) -> None:
    need = _DOCTEST_NEEDS.get(request.node.name)
    if need is not None:
        module, reason = need
        pytest.importorskip(module, reason=f"needs {reason}")
