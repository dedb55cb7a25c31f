"""Smooth objectives ``f: R^n -> R`` with gradients, Hessians and a small library.

An :class:`Objective` bundles ``f(x)``, ``grad(x)``, ``hess(x)`` (dense), ``hvp(x, v)`` and a
vectorized ``grad_batch(X)``; every public method validates its input and checks that what
comes back has the right shape and is finite. Three ways to build one:

* :meth:`Objective.quadratic` -- ``f(x) = ½xᵀHx + bᵀx + c`` (exact, with ``quadratic_data``
  so the engine can use the exact piecewise-affine path),
* :meth:`Objective.from_expr` -- a formula string, parsed **without eval** (an ``ast``
  whitelist) into sympy; gradient and Hessian are derived symbolically and lambdified,
* ``Objective(f, grad, hess=None)`` -- numpy callables (Hessian by finite differences of
  ``grad`` when it is missing, with a warning),

and :meth:`Objective.from_jax` for a loss written in JAX. The library functions
(:func:`separable_quadratic`, :func:`rotated_quadratic`, :func:`ridge_logistic`,
:func:`linear_model`, :func:`smooth_max`, :func:`slope`, :func:`mlp_classifier`) build the test problems used in
the experiments of the seed papers; :func:`matrix_factorization` is the nonconvex low-rank model.

Objectives must be smooth (C²): the non-smoothness of a Filippov system lives in the norm
(``steepest_descent_flow(obj, norm="linf")``), never in ``f``. That is why ``abs``, ``sign``,
``max`` and ``min`` are refused by :meth:`Objective.from_expr`.

The package, by job (import the names from here; the modules are its layout):

* :mod:`filippov.objectives.base` -- the :class:`Objective` type;
* :mod:`filippov.objectives.expression` -- the safe expression parser and ``from_expr``;
* :mod:`filippov.objectives.library` -- the quadratics and smooth losses of the library;
* :mod:`filippov.objectives.mlp` -- the one-hidden-layer network objective;
* :mod:`filippov.objectives.factorization` -- low-rank matrix factorization (completion);
* ``filippov.objectives._jax`` -- the JAX callables of ``from_jax`` (JAX imported on use);
* ``filippov.objectives._checks`` -- argument and value checks shared by the modules.

Examples
--------
>>> from filippov.objectives import slope
>>> obj = slope(a=0.5)
>>> obj.minimizer
array([-1.5, -3. ])
"""

from __future__ import annotations

from ._checks import DerivativeCheck
from .base import Objective

# Pickles of library objectives made before this module became a package call
# `filippov.objectives._rebuild` (their recipes name the public constructors below).
from .base import rebuild_from_recipe as _rebuild  # noqa: F401
from .expression import ALLOWED_FUNCTIONS, parse_expression
from .factorization import matrix_factorization, matrix_factorization_init, matrix_factors
from .library import (
    GLM_LOSSES,
    GLMLoss,
    linear_model,
    ridge_logistic,
    rotated_quadratic,
    separable_quadratic,
    slope,
    smooth_max,
)
from .mlp import mlp_classifier, mlp_init

__all__ = [
    "ALLOWED_FUNCTIONS",
    "GLM_LOSSES",
    "DerivativeCheck",
    "GLMLoss",
    "Objective",
    "linear_model",
    "matrix_factorization",
    "matrix_factorization_init",
    "matrix_factors",
    "mlp_classifier",
    "mlp_init",
    "parse_expression",
    "ridge_logistic",
    "rotated_quadratic",
    "separable_quadratic",
    "slope",
    "smooth_max",
]
