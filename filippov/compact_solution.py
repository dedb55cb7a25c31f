"""The public path of :class:`~filippov.CompactSolution` before :mod:`filippov.solution` was a package.

The class lives in :mod:`filippov.solution.compact` (its records in
:mod:`filippov.solution.compact_store`). This module keeps
``from filippov.compact_solution import CompactSolution`` working, and the dotted names
pickles of earlier versions refer to (``filippov.compact_solution.CompactSolution``,
``._Reader``, ``._LazyRecords``).
"""

from __future__ import annotations

from filippov.solution.compact import CompactSolution
from filippov.solution.compact_store import CompactReader, LazyRecords

__all__ = ["CompactSolution"]

# The names earlier pickles hold (the classes were private to this module then).
_Reader = CompactReader
_LazyRecords = LazyRecords
