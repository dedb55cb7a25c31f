"""Checks shared by the modules of :mod:`filippov.objectives`, and :class:`DerivativeCheck`.

Arguments of the constructors (callables, names, dimensions, finite scalars) and the values
the user's callables return (shape and finiteness), plus the positive-definite solve that
gives quadratics their minimizer. Internal: the names are public so that the modules of the
package can share them. :class:`DerivativeCheck`, the result of
:meth:`Objective.check_derivatives`, is public as ``filippov.objectives.DerivativeCheck``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from filippov._lazy import LazyModule
from filippov._validation import FloatArray, as_float_array, require_finite

if TYPE_CHECKING:
    import scipy.linalg
    import scipy.sparse
    import scipy.sparse.linalg
else:
    scipy = LazyModule("scipy")  # its submodules load on attribute access

__all__ = [
    "DerivativeCheck",
    "check_callable",
    "check_dimension",
    "check_name",
    "finite_scalar",
    "is_operator",
    "nonnegative",
    "operator_rows",
    "pd_solve",
    "readonly",
    "returned_matrix",
    "returned_scalar",
    "returned_vector",
]


def check_callable(value: Any, name: str, *, optional: bool = False) -> None:
    """Raise ``TypeError`` unless ``value`` is callable (or ``None`` when ``optional``)."""
    if value is None and optional:
        return
    if not callable(value):
        raise TypeError(f"`{name}` must be callable. Got {value!r} instead.")


def check_name(name: Any) -> str:
    """An objective's label: a string, else ``TypeError``."""
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string. Got {name!r} instead.")
    return name


def check_dimension(n: Any) -> int | None:
    """A dimension ``n``: a positive integer or ``None`` (unknown), else ``ValueError``."""
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"`n` must be a positive integer or None. Got {n!r} instead.")
    return int(n)


def returned_vector(value: Any, name: str, n: int) -> FloatArray:
    """Validate what a callable returned: a finite float vector of length ``n``."""
    arr = as_float_array(value, name)
    if arr.shape != (n,):
        raise ValueError(
            f"`{name}` must return an array of shape ({n},). Got shape {arr.shape} instead."
        )
    return require_finite(arr, name)


def returned_matrix(value: Any, name: str, shape: tuple[int, int]) -> FloatArray:
    """Validate what a callable returned: a finite float matrix of shape ``shape``."""
    arr = as_float_array(value, name)
    if arr.shape != shape:
        raise ValueError(
            f"`{name}` must return an array of shape {shape}. Got shape {arr.shape} instead."
        )
    return require_finite(arr, name)


def is_operator(H: Any) -> bool:
    """Whether a Hessian is a scipy sparse matrix/array or a ``LinearOperator``."""
    return scipy.sparse.issparse(H) or isinstance(H, scipy.sparse.linalg.LinearOperator)


def operator_rows(H: Any, rows: NDArray[np.intp], n: int) -> FloatArray:
    """Rows ``rows`` of a sparse or LinearOperator Hessian as a dense ``(k, n)`` array
    (sparse: the rows sliced; operator: ``k`` products with unit vectors, the Hessian
    being symmetric)."""
    if scipy.sparse.issparse(H):
        return np.asarray(scipy.sparse.csr_array(H)[rows].toarray(), dtype=np.float64)
    E = np.zeros((n, rows.size))
    E[rows, np.arange(rows.size)] = 1.0
    return np.asarray(H @ E, dtype=np.float64).T.copy()


def returned_scalar(value: Any, name: str) -> float:
    """Validate what a callable returned: one finite number (a size-1 array is accepted)."""
    arr = as_float_array(value, name)
    if arr.size != 1 or arr.ndim > 1:
        raise ValueError(
            f"`{name}` must return a scalar. Got an array of shape {arr.shape} instead."
        )
    return float(require_finite(arr, name).reshape(()))


def readonly(arr: FloatArray) -> FloatArray:
    """A read-only float copy of ``arr`` (the data an objective hands out must not change)."""
    out = np.array(arr, dtype=float)
    out.flags.writeable = False
    return out


def finite_scalar(value: Any, name: str) -> float:
    """A finite real argument as a float; booleans and strings are refused."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise TypeError(f"`{name}` must be a real number. Got {value!r} instead.")
    arr = as_float_array(value, name)
    if arr.ndim != 0:
        raise ValueError(f"`{name}` must be a scalar. Got an array of shape {arr.shape} instead.")
    return float(require_finite(arr, name))


def nonnegative(value: Any, name: str) -> float:
    """A finite, non-negative real argument as a float."""
    v = finite_scalar(value, name)
    if v < 0:
        raise ValueError(f"`{name}` must be non-negative. Got {value!r} instead.")
    return v


def pd_solve(H: FloatArray, rhs: FloatArray) -> FloatArray | None:
    """Solve ``H x = rhs`` when ``H`` is (numerically) positive definite, else ``None``."""
    try:
        factor = scipy.linalg.cho_factor(H)
    except np.linalg.LinAlgError:
        return None
    x = scipy.linalg.cho_solve(factor, rhs)
    return x if np.all(np.isfinite(x)) else None


# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DerivativeCheck:
    """Result of :meth:`Objective.check_derivatives`: how far the derivatives are from
    finite differences of the function, relative to their own size.

    Attributes
    ----------
    grad_error : float
        Worst relative mismatch of ``∇f·v`` against a difference of ``f``.
    hess_error : float
        Worst relative mismatch of ``∇²f v`` against a difference of ``grad`` (and of the
        dense Hessian's asymmetry and disagreement with ``hvp`` when it was checked).
    tol : float
        The tolerance the errors were held to.
    name : str
        The objective's name (used in the verdict).

    Examples
    --------
    >>> from filippov.objectives import Objective
    >>> print(Objective.from_expr("x**2 + 3*y**2", variables=["x", "y"]).check_derivatives(
    ...     [1.0, 2.0]))
    derivatives of 'x**2 + 3*y**2' are consistent (gradient error 0, Hessian error 0, tol 1e-06)
    """

    grad_error: float
    hess_error: float
    tol: float
    name: str = "objective"

    @property
    def ok(self) -> bool:
        """``True`` when both errors are within ``tol``."""
        return self.grad_error <= self.tol and self.hess_error <= self.tol

    @property
    def culprit(self) -> str | None:
        """``"gradient"`` or ``"Hessian"``: the derivative that failed (gradient first,
        because a wrong gradient also spoils the Hessian check), or ``None``."""
        if self.grad_error > self.tol:
            return "gradient"
        if self.hess_error > self.tol:
            return "Hessian"
        return None

    def __str__(self) -> str:
        name = self.name if len(self.name) <= 60 else self.name[:57] + "..."
        numbers = (
            f"gradient error {self.grad_error:.3g}, Hessian error {self.hess_error:.3g}, "
            f"tol {self.tol:.3g}"
        )
        if self.ok:
            return f"derivatives of {name!r} are consistent ({numbers})"
        return (
            f"the {self.culprit} of {name!r} disagrees with finite differences of "
            f"{'f' if self.culprit == 'gradient' else 'the gradient'} ({numbers})"
        )
