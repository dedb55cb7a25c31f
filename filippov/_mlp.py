"""The network objective's former module, kept so that old pickles load.

Pickles of :func:`~filippov.objectives.mlp_classifier` objectives made before
:mod:`filippov.objectives` became a package name the loss class ``filippov._mlp._MLP``;
the class is now :class:`filippov.objectives.mlp.MLPLoss`. Import from
:mod:`filippov.objectives`.
"""

from __future__ import annotations

from filippov.objectives.mlp import MLPLoss as _MLP  # noqa: F401  (old pickles name it)
from filippov.objectives.mlp import mlp_classifier, mlp_init

__all__ = ["mlp_classifier", "mlp_init"]
