"""Deferred imports: heavy dependencies are imported where they are first used.

``import filippov`` must stay fast and must not import sympy or matplotlib (a solve of a
numpy objective never needs sympy; a batch job never draws). Modules that call into such a
dependency from many places bind a :class:`LazyModule` instead of the module itself;
a value table that must hold dependency objects (the sympy functions of the expression
whitelist) is a :class:`LazyMapping`, built on first use.

The standard library's :class:`importlib.util.LazyLoader` is not used on purpose: it puts a
half-loaded module into ``sys.modules`` at once, so ``"sympy" in sys.modules`` (what tools and
our import test check) would be true before anything is used, and it needs the package's
spec (``find_spec`` of ``sympy.codegen`` imports ``sympy``).

Examples
--------
>>> from filippov._lazy import LazyModule
>>> fractions = LazyModule("fractions")
>>> fractions.Fraction(1, 3) + fractions.Fraction(1, 6)
Fraction(1, 2)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from types import ModuleType
from typing import Any, TypeVar

__all__ = ["LazyMapping", "LazyModule"]

_V = TypeVar("_V")


class LazyModule:
    """A stand-in for a module, imported on the first attribute access.

    Parameters
    ----------
    name : str
        The module's absolute name (``"sympy"``, ``"scipy.linalg"``).
    """

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = importlib.import_module(self._name)
            self._module = module
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not yet imported"
        return f"<lazy module {self._name!r} ({state})>"


class LazyMapping(Mapping[str, _V]):
    """A read-only mapping whose contents are built by ``build()`` on first use.

    Membership tests and iteration build it too: keep the build cheap to call twice
    (it is called once) and free of side effects other than imports.

    Parameters
    ----------
    build : callable returning dict
        Builds the mapping (imports the dependency its values come from).
    """

    __slots__ = ("_build", "_data")

    def __init__(self, build: Callable[[], dict[str, _V]]) -> None:
        self._build = build
        self._data: dict[str, _V] | None = None

    def _resolved(self) -> dict[str, _V]:
        if self._data is None:
            self._data = self._build()
        return self._data

    def __getitem__(self, key: str) -> _V:
        return self._resolved()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._resolved())

    def __len__(self) -> int:
        return len(self._resolved())

    def __contains__(self, key: object) -> bool:
        return key in self._resolved()

    def __repr__(self) -> str:
        return repr(self._resolved())
