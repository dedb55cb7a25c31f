"""Checks shared by the modules of :mod:`filippov.objectives`, and :class:`DerivativeCheck`.

Arguments of the constructors (callables, names, dimensions, finite scalars) and the values
the user's callables return (shape and finiteness), the positive-definite solve that gives
quadratics their minimizer, and :func:`derivative_check`, the computation of
:meth:`Objective.check_derivatives`, whose result :class:`DerivativeCheck` is public as
``filippov.objectives.DerivativeCheck``. Internal: the names are public so that the
modules of the package can share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from filippov._derivative_check import (
    coarse_mismatch,
    directional_mismatch,
    random_directions,
    relative_error,
)
from filippov._lazy import LazyModule
from filippov._validation import FloatArray, as_float_array, require_finite

if TYPE_CHECKING:
    import scipy.linalg
    import scipy.sparse
    import scipy.sparse.linalg

    from .base import Objective
else:
    scipy = LazyModule("scipy")  # its submodules load on attribute access

__all__ = [
    "DerivativeCheck",
    "check_callable",
    "check_dimension",
    "check_name",
    "checked_operator",
    "derivative_check",
    "finite_scalar",
    "is_operator",
    "nonnegative",
    "operator_product",
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


def checked_operator(H: Any, n: int, name: str = "hess(x)") -> Any:
    """A sparse or LinearOperator Hessian ``H`` returned by a user's callable, checked to
    be ``(n, n)`` and real before any product with it (else ``ValueError``/``TypeError``
    naming ``name``). Unchecked, a wrong shape surfaced as scipy's "dimension mismatch"
    or an ``IndexError`` that named nothing of the user's, and a complex one lost its
    imaginary part behind a ``ComplexWarning`` where a dense complex Hessian is refused."""
    kind = "sparse array" if scipy.sparse.issparse(H) else "LinearOperator"
    if tuple(H.shape) != (n, n):
        raise ValueError(
            f"`{name}` must return an array of shape ({n}, {n}). Got a {kind} of shape "
            f"{tuple(H.shape)} instead."
        )
    dtype = getattr(H, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind not in "biuf":
        raise TypeError(
            f"`{name}` must return an array of real numbers. Got a {kind} of dtype "
            f"{np.dtype(dtype)} instead."
        )
    return H


def operator_product(H: Any, V: Any, name: str = "hess(x)") -> FloatArray:
    """``H @ V`` for a checked operator ``H`` (:func:`checked_operator`), as float64: a
    complex result (a ``LinearOperator`` whose products are complex, whatever its
    ``dtype`` says) is refused rather than cut to its real part."""
    try:
        out = np.asarray(H @ V)
    except ValueError as err:
        if scipy.sparse.issparse(H):
            raise
        # (scipy's reshape of a matvec of the wrong length, naming nothing of the user's)
        raise ValueError(
            f"The LinearOperator returned by `{name}` failed a product with a "
            f"{np.shape(V)} array (do its matvec/matmat return arrays of its shape "
            f"{tuple(H.shape)}?): {err}"
        ) from err
    if out.dtype.kind not in "biuf":
        raise TypeError(
            f"`{name}` must return an array of real numbers. Got products of dtype "
            f"{out.dtype} from its LinearOperator instead."
        )
    expected = (H.shape[0], *np.shape(V)[1:])
    if out.shape != expected and out.size == int(np.prod(expected)) and out.ndim == 2:
        out = out.reshape(expected)  # (a (n, 1) product of a vector)
    if out.shape != expected:
        # (scipy checks a matvec's length, not a matmat's shape)
        raise ValueError(
            f"The LinearOperator returned by `{name}` gave a product of shape {out.shape} "
            f"with a {np.shape(V)} array; expected {expected}."
        )
    return np.asarray(out, dtype=np.float64)


def operator_rows(H: Any, rows: NDArray[np.intp], n: int) -> FloatArray:
    """Rows ``rows`` of a sparse or LinearOperator Hessian as a dense ``(k, n)`` array
    (sparse: the rows sliced; operator: ``k`` products with unit vectors, the Hessian
    being symmetric). ``H`` is checked first (:func:`checked_operator`)."""
    checked_operator(H, n)
    if scipy.sparse.issparse(H):
        return np.asarray(scipy.sparse.csr_array(H)[rows].toarray(), dtype=np.float64)
    # The unit vectors in blocks of at most ~1M entries: a whole Hessian (rows = all n)
    # then takes the (k, n) result and one block, not three (n, n) arrays.
    out = np.empty((rows.size, n))
    step = max(1, (1 << 20) // max(n, 1))
    for start in range(0, rows.size, step):
        part = rows[start : start + step]
        E = np.zeros((n, part.size))
        E[part, np.arange(part.size)] = 1.0
        out[start : start + part.size] = operator_product(H, E).T
    return out


def operator_block(H: Any, rows: NDArray[np.intp], n: int) -> FloatArray:
    """The square block ``H[rows][:, rows]`` of a sparse or LinearOperator Hessian as a
    dense ``(k, k)`` array, never forming its ``(k, n)`` rows (sparse: sliced as sparse;
    operator: products with the unit vectors of ``rows``, a chunk of ~1M entries at a
    time, of which only the entries of ``rows`` are kept). ``H`` is checked first
    (:func:`checked_operator`)."""
    checked_operator(H, n)
    if scipy.sparse.issparse(H):
        Hr = scipy.sparse.csr_array(H)[rows]
        return np.asarray(Hr[:, rows].toarray(), dtype=np.float64)
    out = np.empty((rows.size, rows.size))
    step = max(1, (1 << 20) // max(n, 1))
    for start in range(0, rows.size, step):
        part = rows[start : start + step]
        E = np.zeros((n, part.size))
        E[part, np.arange(part.size)] = 1.0
        # (column j of the product is H e_j: the entries of `rows` are the block's column)
        out[:, start : start + part.size] = operator_product(H, E)[rows]
    return out


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
    grad_resolution : float
        The smallest gradient error the comparison with ``f`` could have seen, relative
        as ``grad_error`` (to ``‖∇f(x)‖₂``, or to the gradient's change over the point's
        scale when that is larger). Tiny as a rule; above ``tol`` where ``f`` is large
        beside its variation (``f + 1e12``): its rounding then hides gradient errors, and
        a disagreement of gradient and Hessian cannot be blamed on the Hessian.

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
    grad_resolution: float = 0.0

    @property
    def ok(self) -> bool:
        """``True`` when both errors are within ``tol``."""
        return self.grad_error <= self.tol and self.hess_error <= self.tol

    @property
    def culprit(self) -> str | None:
        """``"gradient"`` or ``"Hessian"``: the derivative that failed (gradient first,
        because a wrong gradient also spoils the Hessian check), ``"gradient or Hessian"``
        when the Hessian disagrees with the gradient and ``f`` could not tell whether the
        gradient is right (``grad_resolution`` above ``tol`` and above 1/100 of
        ``hess_error``), or ``None``."""
        if self.grad_error > self.tol:
            return "gradient"
        if self.hess_error > self.tol:
            # The Hessian is blamed when the gradient was checked against f finely: to
            # tol, or to 1/100 of the Hessian's disagreement (a gradient error that tilts
            # its derivative by that much is, as a rule, of that relative size at x too:
            # a missing term, a wrong factor).
            if self.grad_resolution > max(self.tol, 0.01 * self.hess_error):
                return "gradient or Hessian"
            return "Hessian"
        return None

    def __str__(self) -> str:
        name = self.name if len(self.name) <= 60 else self.name[:57] + "..."
        numbers = (
            f"gradient error {self.grad_error:.3g}, Hessian error {self.hess_error:.3g}, "
            f"tol {self.tol:.3g}"
        )
        # (f's rounding hid gradient errors of this size: said, as the verdict rests on it)
        unresolved = (
            f"; finite differences of f resolve the gradient only to a relative "
            f"{self.grad_resolution:.3g} here: f is large beside its variation"
        )
        if self.ok:
            if self.grad_resolution > self.tol:
                numbers += unresolved
            return f"derivatives of {name!r} are consistent ({numbers})"
        if self.culprit == "gradient or Hessian":
            return (
                f"the gradient and the Hessian of {name!r} disagree (the Hessian with finite "
                f"differences of the gradient), and either may be wrong: {numbers}"
                f"{unresolved}, so the gradient could not be checked against f"
            )
        return (
            f"the {self.culprit} of {name!r} disagrees with finite differences of "
            f"{'f' if self.culprit == 'gradient' else 'the gradient'} ({numbers})"
        )


def derivative_check(
    objective: Objective,
    x: ArrayLike,
    *,
    n_directions: int,
    tol: float,
    seed: int,
    dense: bool,
    hessian: bool,
) -> DerivativeCheck:
    """The computation of :meth:`Objective.check_derivatives` (documented there)."""
    xv = objective._check_x(x)
    if isinstance(n_directions, (bool, np.bool_)) or not isinstance(
        n_directions, (int, np.integer)
    ):
        raise TypeError(f"`n_directions` must be an integer. Got {n_directions!r} instead.")
    if n_directions < 1:
        raise ValueError(f"`n_directions` must be at least 1. Got {n_directions} instead.")
    tol_value = nonnegative(tol, "tol")
    # The raw callables at the offset points: a NaN there (a pole within the step) makes
    # the check inconclusive instead of raising. Copies of what they return: a user
    # callable may hand back one buffer it reuses (the offsets are fresh arrays).
    raw_f = lambda y: np.array(objective._f(y), dtype=np.float64)  # noqa: E731
    raw_grad = lambda y: np.array(objective._grad(y), dtype=np.float64)  # noqa: E731
    # At x itself through the validating methods (they copy x: a user callable may
    # write into its argument): a bad value there is an error, not a mismatch.
    g = objective.grad(xv)
    objective.f(xv)
    V = random_directions(xv.size, int(n_directions), int(seed))
    # ‖g‖ scaled by its largest entry: the plain norm squares the entries and overflows to
    # inf beyond ~1e154, which turned every gradient error into 0 (any gradient passed).
    g_max = float(np.max(np.abs(g))) if g.size else 0.0
    g_scale = g_max * float(np.linalg.norm(g / g_max)) if g_max > 0.0 else 0.0
    grad_error = hess_error = 0.0
    # The largest uncertainty of the differences of f: what a gradient error below it
    # would have gone unseen behind (f's rounding, when f is large beside its variation).
    grad_unc = 0.0
    for v in V:
        excess, unc = directional_mismatch(raw_f, xv, v, np.asarray(g @ v))
        grad_error = max(grad_error, relative_error(excess, g_scale, unc))
        grad_unc = max(grad_unc, unc)
    if not hessian:
        return DerivativeCheck(
            grad_error=grad_error,
            hess_error=0.0,
            tol=tol_value,
            name=objective.name,
            grad_resolution=_resolution(grad_unc, g_scale),
        )
    hvps = [objective.hvp(xv, v) for v in V]
    h_scale = max(float(np.max(np.abs(hv))) for hv in hvps)
    for v, hv in zip(V, hvps, strict=True):
        excess, unc = directional_mismatch(raw_grad, xv, v, hv)
        hess_error = max(hess_error, relative_error(excess, h_scale, unc))
    if dense:
        H = objective.hess(xv)
        h_scale = max(h_scale, float(np.max(np.abs(H))) if H.size else 0.0)
        asym = float(np.max(np.abs(H - H.T))) if H.size else 0.0
        vs_hvp = max(float(np.max(np.abs(H @ v - hv))) for v, hv in zip(V, hvps, strict=True))
        hess_error = max(hess_error, relative_error(max(asym, vs_hvp), h_scale, 0.0))
    # The gradient's size, or its change over the point's scale (the unit of the steps)
    # when larger: at a stationary point a gradient known to 1e-10 is well checked.
    g_size = max(g_scale, h_scale * max(1.0, float(np.max(np.abs(xv)))))
    resolution = _resolution(grad_unc, g_size)
    if hess_error > tol_value and grad_error <= tol_value and resolution > tol_value:
        # (`DerivativeCheck.culprit` then needs the gradient's resolution beside the
        # Hessian's error)
        # The Hessian disagrees with the gradient, and f's differences could not say
        # whether the gradient is right (a wrong gradient passed at f + 1e12 and the
        # correct Hessian was blamed). Wider steps divide f's rounding: they either show
        # the gradient's mismatch or check it finely enough to blame the Hessian. (Only
        # here, where the check has failed already: they never fail a check.)
        resolution = 0.0
        for v in V:
            excess, unc = coarse_mismatch(raw_f, xv, v, np.asarray(g @ v))
            grad_error = max(grad_error, relative_error(excess, g_scale, unc))
            resolution = max(resolution, _resolution(unc, g_size))
    return DerivativeCheck(
        grad_error=grad_error,
        hess_error=hess_error,
        tol=tol_value,
        name=objective.name,
        grad_resolution=resolution,
    )


def _resolution(uncertainty: float, size: float) -> float:
    """The smallest mismatch a directional check of uncertainty ``uncertainty`` sees
    (``10·uncertainty``, see :func:`~filippov._derivative_check.relative_error`), relative
    to the derivative's ``size``."""
    if uncertainty == 0.0:
        return 0.0
    return 10.0 * uncertainty / max(size, float(np.finfo(float).tiny))
