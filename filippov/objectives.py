"""Smooth objectives ``f: R^n -> R`` with gradients, Hessians and a small library.

An :class:`Objective` bundles ``f(x)``, ``grad(x)``, ``hess(x)`` (dense), ``hvp(x, v)`` and a
vectorized ``grad_batch(X)``; every public method validates its input and checks that what
comes back has the right shape and is finite. Three ways to build one:

* :meth:`Objective.quadratic` -- ``f(x) = ½xᵀHx + bᵀx + c`` (exact, with ``quadratic_data``
  so the engine can use the exact piecewise-affine path),
* :meth:`Objective.from_expr` -- a formula string, parsed **without eval** (an ``ast``
  whitelist) into sympy; gradient and Hessian are derived symbolically and lambdified,
* ``Objective(f, grad, hess=None)`` -- numpy callables (Hessian by finite differences of
  ``grad`` when it is missing, with a warning).

The library functions (:func:`separable_quadratic`, :func:`rotated_quadratic`,
:func:`ridge_logistic`, :func:`smooth_max`, :func:`slope`) build the test problems used in
the experiments of the seed papers.

Objectives must be smooth (C²): the non-smoothness of a Filippov system lives in the norm
(``steepest_descent_flow(obj, norm="linf")``), never in ``f``. That is why ``abs``, ``sign``,
``max`` and ``min`` are refused by :meth:`Objective.from_expr`.
"""

from __future__ import annotations

import ast
import functools
import keyword
import unicodedata
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from filippov._derivative_check import directional_mismatch, random_directions, relative_error
from filippov._lazy import LazyMapping, LazyModule
from filippov._validation import (
    FloatArray,
    as_float_array,
    as_matrix,
    as_square_matrix,
    as_vector,
    require_finite,
    require_positive,
    require_symmetric,
)

if TYPE_CHECKING:
    import scipy.linalg
    import scipy.special
    import sympy
else:
    # Imported on first use: sympy only when an expression is parsed (it costs ~0.3 s).
    scipy = LazyModule("scipy")  # its submodules load on attribute access
    sympy = LazyModule("sympy")

__all__ = [
    "ALLOWED_FUNCTIONS",
    "DerivativeCheck",
    "Objective",
    "parse_expression",
    "ridge_logistic",
    "rotated_quadratic",
    "separable_quadratic",
    "slope",
    "smooth_max",
]

# Relative step of central differences: eps**(1/3) balances truncation O(h²) against
# rounding O(eps/h), so the finite-difference Hessian is accurate to about eps**(2/3) ~ 4e-11.
_FD_STEP = float(np.finfo(float).eps ** (1.0 / 3.0))


# --------------------------------------------------------------------------------------
# The Objective type
# --------------------------------------------------------------------------------------


def _check_callable(value: Any, name: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not callable(value):
        raise TypeError(f"`{name}` must be callable. Got {value!r} instead.")


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string. Got {name!r} instead.")
    return name


def _check_n(n: Any) -> int | None:
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"`n` must be a positive integer or None. Got {n!r} instead.")
    return int(n)


def _out_vector(value: Any, name: str, n: int) -> FloatArray:
    """Validate what a callable returned: a finite float vector of length ``n``."""
    arr = as_float_array(value, name)
    if arr.shape != (n,):
        raise ValueError(
            f"`{name}` must return an array of shape ({n},). Got shape {arr.shape} instead."
        )
    return require_finite(arr, name)


def _out_matrix(value: Any, name: str, shape: tuple[int, int]) -> FloatArray:
    arr = as_float_array(value, name)
    if arr.shape != shape:
        raise ValueError(
            f"`{name}` must return an array of shape {shape}. Got shape {arr.shape} instead."
        )
    return require_finite(arr, name)


def _is_operator(H: Any) -> bool:
    """Whether a Hessian is a scipy sparse matrix/array or a ``LinearOperator``."""
    return scipy.sparse.issparse(H) or isinstance(H, scipy.sparse.linalg.LinearOperator)


def _operator_rows(H: Any, rows: NDArray[np.intp], n: int) -> FloatArray:
    """Rows ``rows`` of a sparse or LinearOperator Hessian as a dense ``(k, n)`` array
    (sparse: the rows sliced; operator: ``k`` products with unit vectors, the Hessian
    being symmetric)."""
    if scipy.sparse.issparse(H):
        return np.asarray(scipy.sparse.csr_array(H)[rows].toarray(), dtype=np.float64)
    E = np.zeros((n, rows.size))
    E[rows, np.arange(rows.size)] = 1.0
    return np.asarray(H @ E, dtype=np.float64).T.copy()


def _out_scalar(value: Any, name: str) -> float:
    arr = as_float_array(value, name)
    if arr.size != 1 or arr.ndim > 1:
        raise ValueError(
            f"`{name}` must return a scalar. Got an array of shape {arr.shape} instead."
        )
    return float(require_finite(arr, name).reshape(()))


def _readonly(arr: FloatArray) -> FloatArray:
    out = np.array(arr, dtype=float)
    out.flags.writeable = False
    return out


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


class Objective:
    """A smooth objective ``f: R^n -> R`` with gradient, Hessian and Hessian-vector product.

    Parameters
    ----------
    f : callable ``(n,) -> float``
        The objective.
    grad : callable ``(n,) -> (n,)``
        Its gradient.
    hess : callable ``(n,) -> (n, n)``, optional
        Its (dense) Hessian. When both ``hess`` and ``hvp`` are missing, the Hessian is
        computed by central finite differences of ``grad`` (``2n`` gradient calls, relative
        accuracy about ``1e-10``) and a ``UserWarning`` says so, once, at construction. When
        only ``hvp`` is given, ``hess(x)`` is assembled exactly from ``n`` products.
    hvp : callable ``(x, v) -> (n,)``, optional
        Hessian-vector product ``∇²f(x) v``; defaults to ``hess(x) @ v`` (or to a central
        difference of ``grad`` along ``v`` when there is no Hessian either).
    n : int, optional
        Dimension. When given, every input ``x`` is checked to have length ``n``.
    name : str, default "objective"
        A label used in reprs, plots and reports.

    Attributes
    ----------
    n : int or None
        Dimension (always known for quadratics, ``from_expr`` and library objectives).
    name : str
        Label.
    quadratic_data : tuple (H, b, c) or None
        ``(H, b, c)`` with ``f(x) = ½xᵀHx + bᵀx + c`` exactly, or ``None``.
    minimizer : (n,) ndarray or None
        The unique global minimizer when it is known in closed form.
    expr : sympy.Expr or None
        The parsed formula (parameters substituted) for :meth:`from_expr` objectives.

    Notes
    -----
    Every public method validates ``x`` (finite, 1-D, length ``n``) and the values the
    underlying callables return (shape and finiteness), raising ``ValueError``/``TypeError``
    with a message naming the culprit. ``grad_batch`` is vectorized for quadratics,
    ``from_expr`` and library objectives, and loops over rows otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.objectives import Objective
    >>> obj = Objective(lambda x: 0.5 * x @ x, lambda x: x, lambda x: np.eye(x.size), n=2)
    >>> obj.f([3.0, 4.0])
    12.5
    >>> obj.grad([3.0, 4.0])
    array([3., 4.])
    >>> obj.hvp([3.0, 4.0], [1.0, -1.0])
    array([ 1., -1.])
    """

    #: Optional ``(x, rows) -> rows of ∇²f(x)``, set by library objectives that compute a
    #: few rows for less than the whole Hessian (see :meth:`hess_rows`); ``None`` means
    #: "slice the dense Hessian".
    _hess_rows: Callable[[FloatArray, NDArray[np.intp]], Any] | None = None

    #: How to build this objective again, ``(constructor, args, kwargs)``, for pickling:
    #: set by the constructors of this module, whose callables are closures (see
    #: :meth:`__reduce_ex__`); ``None`` for objectives made of user callables.
    _recipe: tuple[Callable[..., Objective], tuple[Any, ...], dict[str, Any]] | None = None

    def __init__(
        self,
        f: Callable[[FloatArray], Any],
        grad: Callable[[FloatArray], Any],
        hess: Callable[[FloatArray], Any] | None = None,
        *,
        hvp: Callable[[FloatArray, FloatArray], Any] | None = None,
        n: int | None = None,
        name: str = "objective",
    ) -> None:
        _check_callable(f, "f")
        _check_callable(grad, "grad")
        _check_callable(hess, "hess", optional=True)
        _check_callable(hvp, "hvp", optional=True)
        self.n: int | None = _check_n(n)
        self.name: str = _check_name(name)
        self.expr: Any = None
        self._f = f
        self._grad = grad
        self._grad_batch: Callable[[FloatArray], Any] | None = None
        self._quadratic: tuple[FloatArray, FloatArray, float] | None = None
        self._separable: tuple[FloatArray, FloatArray, float] | None = None
        self._minimizer: FloatArray | None = None
        # True when the callables were built by this module (see `_build`): they return fresh
        # arrays of the right shape and never modify their input.
        self._trusted = False
        self._hess: Callable[[FloatArray], Any]
        self._hvp: Callable[[FloatArray, FloatArray], Any]
        if hess is not None:
            self._hess = hess
            self._hvp = hvp if hvp is not None else self._hvp_from_hess
            self._hess_kind = "exact"
        elif hvp is not None:
            self._hvp = hvp
            self._hess = self._hess_from_hvp
            self._hess_kind = "from hvp"
        else:
            warnings.warn(
                f"Objective {name!r}: no Hessian given; hess(x) and hvp(x, v) are computed by "
                "central finite differences of grad (relative accuracy ~1e-10, 2n gradient "
                "calls per Hessian). Pass `hess=` or `hvp=` for exact second derivatives.",
                UserWarning,
                stacklevel=2,
            )
            self._hess = self._fd_hess
            self._hvp = self._fd_hvp
            self._hess_kind = "finite differences"

    @classmethod
    def _build(
        cls,
        *,
        f: Callable[[FloatArray], Any],
        grad: Callable[[FloatArray], Any],
        hess: Callable[[FloatArray], Any],
        hvp: Callable[[FloatArray, FloatArray], Any] | None,
        grad_batch: Callable[[FloatArray], Any] | None,
        n: int,
        name: str,
        quadratic: tuple[FloatArray, FloatArray, float] | None = None,
        separable: tuple[FloatArray, FloatArray, float] | None = None,
        minimizer: FloatArray | None = None,
    ) -> Objective:
        # Only for callables written in this module: they must return fresh arrays and never
        # modify their input, because the scheme driver calls them without validation or
        # defensive copies (`_eval_grad_rows`). `separable = (l, b, c)` describes a quadratic
        # with diagonal Hessian diag(l); its dense `quadratic_data` is then built on demand.
        obj = cls(f, grad, hess, hvp=hvp, n=n, name=name)
        obj._grad_batch = grad_batch
        obj._trusted = True
        if quadratic is not None:
            H, b, c = quadratic
            obj._quadratic = (_readonly(H), _readonly(b), float(c))
        if separable is not None:
            lv, b, c = separable
            obj._separable = (_readonly(lv), _readonly(b), float(c))
        obj._minimizer = None if minimizer is None else _readonly(minimizer)
        return obj

    def _with_recipe(
        self, constructor: Callable[..., Objective], *args: Any, **kwargs: Any
    ) -> Objective:
        self._recipe = (constructor, args, kwargs)
        return self

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickle support: objectives of this module's constructors pickle their recipe
        (a formula with its variables and parameters, a quadratic's data, a library
        problem's arrays) and are rebuilt, compiled functions included, when loaded; an
        objective of user callables pickles them as they are, under pickle's usual rules
        (module-level functions pickle, lambdas and local functions do not)."""
        if self._recipe is not None:
            return (_rebuild, self._recipe)
        return super().__reduce_ex__(protocol)

    # ---- derived second-order callables ------------------------------------------------

    def _hvp_from_hess(self, x: FloatArray, v: FloatArray) -> FloatArray:
        H = self._hess(x)
        if _is_operator(H):  # sparse or LinearOperator: the product, never the matrix
            return np.asarray(H @ v, dtype=np.float64).reshape(-1)
        return _out_matrix(H, "hess(x)", (x.size, x.size)) @ v

    def _hess_from_hvp(self, x: FloatArray) -> FloatArray:
        n = x.size
        eye = np.eye(n)
        cols = [self._eval_hvp(x, eye[:, j]) for j in range(n)]
        H = np.column_stack(cols) if cols else np.zeros((0, 0))
        return 0.5 * (H + H.T)

    def _fd_hess(self, x: FloatArray) -> FloatArray:
        n = x.size
        H = np.empty((n, n))
        steps = _FD_STEP * np.maximum(1.0, np.abs(x))
        for j in range(n):
            xp = x.copy()
            xm = x.copy()
            xp[j] += steps[j]
            xm[j] -= steps[j]
            H[:, j] = (self._eval_grad(xp) - self._eval_grad(xm)) / (xp[j] - xm[j])
        return 0.5 * (H + H.T)

    def _fd_hvp(self, x: FloatArray, v: FloatArray) -> FloatArray:
        vmax = float(np.max(np.abs(v))) if v.size else 0.0
        if vmax == 0.0:
            return np.zeros_like(x)
        h = _FD_STEP * max(1.0, float(np.max(np.abs(x)))) / vmax
        return (self._eval_grad(x + h * v) - self._eval_grad(x - h * v)) / (2.0 * h)

    # ---- validated evaluation of the underlying callables ----------------------------

    def _check_x(self, x: ArrayLike, name: str = "x") -> FloatArray:
        return as_vector(x, name, self.n)

    def _eval_grad(self, x: FloatArray) -> FloatArray:
        return _out_vector(self._grad(x), "grad(x)", x.size)

    def _eval_hess(self, x: FloatArray) -> FloatArray:
        H = self._hess(x)
        if _is_operator(H):
            # A dense Hessian was asked for (hess(x), the event path): only then is a
            # sparse or LinearOperator Hessian made dense; hvp and hess_rows never do.
            H = _operator_rows(H, np.arange(x.size, dtype=np.intp), x.size)
        return _out_matrix(H, "hess(x)", (x.size, x.size))

    def _eval_hvp(self, x: FloatArray, v: FloatArray) -> FloatArray:
        return _out_vector(self._hvp(x, v), "hvp(x, v)", x.size)

    # ---- evaluation for the scheme driver ------------------------------------------

    def _eval_grad_rows(self, X: FloatArray) -> FloatArray:
        """Gradients at the rows of ``X``, as an ``(m, n)`` float array, for the scheme driver.

        ``X`` must be a finite float64 array of shape ``(m, n)``. The driver validates its
        initial point once and checks every iterate and gradient for finiteness itself, so
        the callables of library objectives (trusted, see :meth:`_build`) are called
        directly: the result may hold NaN or inf and its shape is the caller's to check.
        User callables go through the validating :meth:`grad`/:meth:`grad_batch`, which
        also copy ``x`` and the result (a user ``grad`` may modify its argument in place or
        return an array it reuses).
        """
        if not self._trusted:
            return self.grad(X[0]).reshape(1, -1) if X.shape[0] == 1 else self.grad_batch(X)
        if X.shape[0] == 1:
            return np.asarray(self._grad(X[0]), dtype=np.float64).reshape(1, -1)
        if self._grad_batch is not None:
            return np.asarray(self._grad_batch(X), dtype=np.float64)
        return np.stack([np.asarray(self._grad(x), dtype=np.float64) for x in X])

    def _eval_f_rows(self, X: FloatArray) -> FloatArray:
        """Objective values at the rows of ``X``, shape ``(m,)``, for the scheme driver.

        Like :meth:`_eval_grad_rows`: library callables are called without validation (the
        values may be NaN or inf), user callables through the validating :meth:`f`.
        """
        f = self._f if self._trusted else self.f
        return np.array([float(f(x)) for x in X], dtype=np.float64)

    # ---- public API ------------------------------------------------------------------

    def f(self, x: ArrayLike) -> float:
        """Objective value at ``x``.

        Parameters
        ----------
        x : (n,) array_like
            Point.

        Returns
        -------
        float

        Examples
        --------
        >>> from filippov.objectives import slope
        >>> slope(a=0.5).f([-1.5, -3.0])
        0.0
        """
        xv = self._check_x(x)
        return _out_scalar(self._f(xv), "f(x)")

    def grad(self, x: ArrayLike) -> FloatArray:
        """Gradient ``∇f(x)``.

        Parameters
        ----------
        x : (n,) array_like
            Point.

        Returns
        -------
        (n,) ndarray

        Examples
        --------
        >>> from filippov.objectives import Objective
        >>> Objective.quadratic([[2.0, 0.0], [0.0, 6.0]]).grad([1.0, 1.0])
        array([2., 6.])
        """
        return self._eval_grad(self._check_x(x))

    def hess(self, x: ArrayLike) -> FloatArray:
        """Dense Hessian ``∇²f(x)``.

        Parameters
        ----------
        x : (n,) array_like
            Point.

        Returns
        -------
        (n, n) ndarray

        Examples
        --------
        >>> from filippov.objectives import slope
        >>> slope(a=0.5).hess([0.0, 0.0])
        array([[ 1.  , -0.5 ],
               [-0.5 ,  1.25]])
        """
        return self._eval_hess(self._check_x(x))

    def hvp(self, x: ArrayLike, v: ArrayLike) -> FloatArray:
        """Hessian-vector product ``∇²f(x) v``.

        Parameters
        ----------
        x, v : (n,) array_like
            Point and direction.

        Returns
        -------
        (n,) ndarray

        Examples
        --------
        >>> from filippov.objectives import separable_quadratic
        >>> separable_quadratic([1.0, 10.0], [0.0, 0.0]).hvp([5.0, 5.0], [1.0, 1.0])
        array([ 1., 10.])
        """
        xv = self._check_x(x)
        vv = as_vector(v, "v", xv.size)
        return self._eval_hvp(xv, vv)

    def hess_rows(self, x: ArrayLike, rows: ArrayLike) -> FloatArray:
        """Rows ``rows`` of the Hessian, ``∇²f(x)[rows]``.

        The event path's sliding modes need only the Hessian rows of their sliding
        coordinates; objectives that can compute those alone (:func:`ridge_logistic`)
        do so, every other objective slices its dense :meth:`hess`. The two agree to
        rounding.

        Parameters
        ----------
        x : (n,) array_like
            Point.
        rows : (k,) array_like of int
            Row indices in ``[0, n)``.

        Returns
        -------
        (k, n) ndarray

        Examples
        --------
        >>> from filippov.objectives import slope
        >>> slope(a=0.5).hess_rows([0.0, 0.0], [1])
        array([[-0.5 ,  1.25]])
        """
        xv = self._check_x(x)
        idx = np.asarray(rows)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise ValueError(f"`rows` must be a 1-D array of integer indices. Got {rows!r}.")
        idx = idx.astype(np.intp, copy=False)
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= xv.size):
            raise ValueError(f"`rows` must lie in [0, {xv.size}). Got {rows!r} instead.")
        return self._eval_hess_rows(xv, idx)

    def _eval_hess_rows(self, x: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        """:meth:`hess_rows` for a validated ``x`` and valid ``rows`` (the event path's
        sliding modes call it in every right-hand side); the result is still checked."""
        if self._hess_rows is None:
            H = self._hess(x) if self._hess_kind == "exact" else None
            if H is not None and _is_operator(H):
                return _out_matrix(
                    _operator_rows(H, rows, x.size), "hess_rows(x, rows)", (rows.size, x.size)
                )
            return (
                self._eval_hess(x)[rows]
                if H is None
                else _out_matrix(H, "hess(x)", (x.size, x.size))[rows]
            )
        R = self._hess_rows(x, rows)
        if type(R) is np.ndarray and R.dtype == np.float64 and R.shape == (rows.size, x.size):
            # `_hess_rows` is set by library objectives only, which return fresh arrays:
            # checked for finiteness without the defensive copy of `_out_matrix`.
            return require_finite(R, "hess_rows(x, rows)")
        return _out_matrix(R, "hess_rows(x, rows)", (rows.size, x.size))

    def grad_batch(self, X: ArrayLike) -> FloatArray:
        """Gradients at the rows of ``X``.

        Parameters
        ----------
        X : (m, n) array_like
            One point per row (time-major, like every array of states in filippov).

        Returns
        -------
        (m, n) ndarray
            Row ``i`` is ``∇f(X[i])``.

        Examples
        --------
        >>> from filippov.objectives import Objective
        >>> obj = Objective.from_expr("x**2 + 3*y**2", variables=["x", "y"])
        >>> obj.grad_batch([[1.0, 1.0], [0.0, 2.0]])
        array([[ 2.,  6.],
               [ 0., 12.]])
        """
        Xm = as_matrix(X, "X", (None, self.n))
        m, n = Xm.shape
        if self._grad_batch is not None:
            return _out_matrix(self._grad_batch(Xm), "grad_batch(X)", (m, n))
        out = np.empty((m, n))
        for i in range(m):
            out[i] = self._eval_grad(Xm[i])
        return out

    def check_derivatives(
        self,
        x: ArrayLike,
        *,
        n_directions: int = 3,
        tol: float = 1e-6,
        seed: int = 0,
        dense: bool = True,
        hessian: bool = True,
    ) -> DerivativeCheck:
        r"""Compare the gradient with ``f`` and the Hessian with the gradient at ``x``.

        Along ``n_directions`` random unit directions ``v``, the directional derivative
        ``∇f(x)·v`` is compared with a fourth-order central difference of ``f``, and
        ``hvp(x, v)`` with one of ``grad``; with ``dense=True`` the dense :meth:`hess` is
        also checked for symmetry and against ``hvp``. Each mismatch is reported *relative*
        to the size of the derivative (``‖∇f(x)‖₂``, ``max_v ‖∇²f(x) v‖∞``) and only beyond
        the finite difference's own error estimate, so a correct derivative reads about
        zero and a sign slip or a missing term reads as order one. In the spirit of
        :func:`scipy.optimize.check_grad`.

        :func:`~filippov.engine.solve` runs this check at ``x0`` (one direction, no dense
        Hessian) and refuses an objective that fails it; see its ``check_derivatives``
        option.

        Parameters
        ----------
        x : (n,) array_like
            Point to check at. A point where a derivative vanishes by symmetry cannot reveal
            an error in it; a generic point can.
        n_directions : int, default 3
            Number of random directions (each costs 8 evaluations of ``f`` and of ``grad``).
        tol : float, default 1e-6
            Largest relative mismatch that passes.
        seed : int, default 0
            Seed of the random directions (the check is deterministic).
        dense : bool, default True
            Also evaluate the dense Hessian (costly for large ``n``).
        hessian : bool, default True
            Check second derivatives at all (``False``: the gradient only, for users of
            first-order methods; ``hess_error`` is then 0).

        Returns
        -------
        DerivativeCheck
            ``grad_error``, ``hess_error`` and ``ok``; ``str()`` of it is a one-line verdict.

        Examples
        --------
        >>> import numpy as np
        >>> from filippov.objectives import Objective
        >>> good = Objective.from_expr("cosh(x1 - x2) + x0**2", variables=["x0", "x1", "x2"])
        >>> good.check_derivatives([0.3, 1.0, -0.5]).ok
        True
        >>> bad = Objective(lambda x: x[0] ** 2 * x[1], lambda x: np.array([2 * x[0], x[0] ** 2]),
        ...                 lambda x: np.array([[2 * x[1], 2 * x[0]], [2 * x[0], 0.0]]))
        >>> check = bad.check_derivatives([1.0, 2.0])
        >>> check.ok, check.grad_error > 0.1
        (False, True)
        """
        xv = self._check_x(x)
        if isinstance(n_directions, (bool, np.bool_)) or not isinstance(
            n_directions, (int, np.integer)
        ):
            raise TypeError(f"`n_directions` must be an integer. Got {n_directions!r} instead.")
        if n_directions < 1:
            raise ValueError(f"`n_directions` must be at least 1. Got {n_directions} instead.")
        tol_value = _nonnegative(tol, "tol")
        # The raw callables at the offset points: a NaN there (a pole within the step) makes
        # the check inconclusive instead of raising. Copies of what they return: a user
        # callable may hand back one buffer it reuses (the offsets are fresh arrays).
        raw_f = lambda y: np.array(self._f(y), dtype=np.float64)  # noqa: E731
        raw_grad = lambda y: np.array(self._grad(y), dtype=np.float64)  # noqa: E731
        # At x itself through the validating methods (they copy x: a user callable may
        # write into its argument): a bad value there is an error, not a mismatch.
        g = self.grad(xv)
        self.f(xv)
        V = random_directions(xv.size, int(n_directions), int(seed))
        g_scale = float(np.linalg.norm(g))
        grad_error = hess_error = 0.0
        for v in V:
            excess, unc = directional_mismatch(raw_f, xv, v, np.asarray(g @ v))
            grad_error = max(grad_error, relative_error(excess, g_scale, unc))
        if not hessian:
            return DerivativeCheck(
                grad_error=grad_error, hess_error=0.0, tol=tol_value, name=self.name
            )
        hvps = [self.hvp(xv, v) for v in V]
        h_scale = max(float(np.max(np.abs(hv))) for hv in hvps)
        for v, hv in zip(V, hvps, strict=True):
            excess, unc = directional_mismatch(raw_grad, xv, v, hv)
            hess_error = max(hess_error, relative_error(excess, h_scale, unc))
        if dense:
            H = self.hess(xv)
            h_scale = max(h_scale, float(np.max(np.abs(H))) if H.size else 0.0)
            asym = float(np.max(np.abs(H - H.T))) if H.size else 0.0
            vs_hvp = max(float(np.max(np.abs(H @ v - hv))) for v, hv in zip(V, hvps, strict=True))
            hess_error = max(hess_error, relative_error(max(asym, vs_hvp), h_scale, 0.0))
        return DerivativeCheck(
            grad_error=grad_error, hess_error=hess_error, tol=tol_value, name=self.name
        )

    @property
    def quadratic_data(self) -> tuple[FloatArray, FloatArray, float] | None:
        """``(H, b, c)`` with ``f(x) = ½xᵀHx + bᵀx + c`` exactly, or ``None``.

        The arrays are read-only.

        Examples
        --------
        >>> from filippov.objectives import slope
        >>> H, b, c = slope(a=2.0).quadratic_data
        >>> H.tolist(), b.tolist(), c
        ([[1.0, -2.0], [-2.0, 5.0]], [0.0, 3.0], 4.5)
        """
        if self._quadratic is None and self._separable is not None:
            # built on first request only: the dense n x n Hessian of a large separable
            # quadratic is big (800 MB for n = 10^4) and the scheme driver never needs it
            lv, b, c = self._separable
            H = np.diag(lv)
            H.flags.writeable = False
            self._quadratic = (H, b, c)
        return self._quadratic

    @property
    def separable_quadratic_data(self) -> tuple[FloatArray, FloatArray, float] | None:
        """``(l, b, c)`` with ``f(x) = ½ Σ_i l_i x_i² + bᵀx + c`` exactly, or ``None``.

        Set for quadratics known to have the diagonal Hessian ``diag(l)``
        (:func:`separable_quadratic`), so that large ones can be used without forming
        the dense ``quadratic_data`` Hessian. The arrays are read-only.

        Examples
        --------
        >>> from filippov.objectives import separable_quadratic, slope
        >>> l, b, c = separable_quadratic([1.0, 4.0], [1.0, 0.5]).separable_quadratic_data
        >>> l.tolist(), b.tolist(), c
        ([1.0, 4.0], [-1.0, -2.0], 1.0)
        >>> slope(a=0.5).separable_quadratic_data is None
        True
        """
        return self._separable

    @property
    def minimizer(self) -> FloatArray | None:
        """The unique global minimizer when known in closed form, else ``None``.

        Examples
        --------
        >>> from filippov.objectives import slope
        >>> slope(a=0.5).minimizer
        array([-1.5, -3. ])
        """
        return self._minimizer

    def __repr__(self) -> str:
        quadratic = self._quadratic is not None or self._separable is not None
        kind = "quadratic" if quadratic else "general"
        return (
            f"Objective(name={self.name!r}, n={self.n}, kind={kind!r}, hessian={self._hess_kind!r})"
        )

    # ---- constructors ----------------------------------------------------------------

    @classmethod
    def quadratic(
        cls, H: ArrayLike, b: ArrayLike | None = None, c: float = 0.0, *, name: str = "quadratic"
    ) -> Objective:
        r"""The quadratic ``f(x) = ½xᵀHx + bᵀx + c``.

        .. math:: f(x) = \tfrac12 x^\top H x + b^\top x + c, \quad \nabla f(x) = Hx + b.

        Parameters
        ----------
        H : (n, n) array_like
            Symmetric, finite Hessian (asymmetry up to ``1e-10`` relative is symmetrized away).
        b : (n,) array_like, optional
            Linear term (default zero).
        c : float, default 0.0
            Constant.
        name : str, default "quadratic"

        Returns
        -------
        Objective
            With ``quadratic_data = (H, b, c)`` and, when ``H`` is positive definite,
            ``minimizer = -H⁻¹b``.

        Raises
        ------
        ValueError
            If ``H`` is not a finite square symmetric matrix, or ``b``/``c`` have the wrong
            shape or are not finite.

        Examples
        --------
        >>> from filippov.objectives import Objective
        >>> obj = Objective.quadratic([[2.0, 0.0], [0.0, 4.0]], b=[-2.0, 4.0])
        >>> obj.f([1.0, -1.0]), obj.minimizer
        (-3.0, array([ 1., -1.]))
        """
        Hm = require_symmetric(as_square_matrix(H, "H"), "H")
        Hm = 0.5 * (Hm + Hm.T)
        n = Hm.shape[0]
        if n == 0:
            raise ValueError("`H` must be at least 1 x 1. Got shape (0, 0) instead.")
        bv = np.zeros(n) if b is None else as_vector(b, "b", n)
        cf = _finite_scalar(c, "c")
        name = _check_name(name)
        return cls._build(
            f=lambda x: 0.5 * float(x @ (Hm @ x)) + float(bv @ x) + cf,
            grad=lambda x: Hm @ x + bv,
            hess=lambda x: Hm.copy(),
            hvp=lambda x, v: Hm @ v,
            grad_batch=lambda X: X @ Hm + bv,
            n=n,
            name=name,
            quadratic=(Hm, bv, cf),
            minimizer=_pd_solve(Hm, -bv),
        )._with_recipe(Objective.quadratic, Hm, bv, cf, name=name)

    @classmethod
    def from_expr(
        cls,
        expr: str,
        variables: Sequence[str],
        params: Mapping[str, float] | None = None,
        *,
        name: str | None = None,
    ) -> Objective:
        """An objective from a formula string, differentiated symbolically.

        The string is parsed with :mod:`ast` and walked against a whitelist -- numbers,
        the declared variables and parameters, the constant ``pi``, ``+ - * / **``, unary
        ``+``/``-`` and calls (one positional argument) to the functions in
        :data:`ALLOWED_FUNCTIONS`. The sympy expression is built node by node; the string is
        never passed to ``eval``, ``exec`` or ``sympify``. Gradient and Hessian are derived
        with sympy and lambdified to numpy (with common-subexpression elimination);
        floating-point literals and parameter values are used exactly.

        Parameters
        ----------
        expr : str
            Formula in Python syntax, e.g. ``"0.5*(x - a*y)**2 + 0.5*(y + 3)**2"``.
        variables : sequence of str
            Names of the coordinates ``x[0], x[1], ...``, in order.
        params : mapping of str to float, optional
            Named constants (finite reals); names must differ from the variables.
        name : str, optional
            Label; defaults to the expression.

        Returns
        -------
        Objective

        Raises
        ------
        ValueError
            For syntax errors, unknown symbols, disallowed syntax (attribute access,
            subscripts, lambdas, comprehensions, comparisons, strings, keyword arguments,
            non-whitelisted calls such as ``__import__``), non-smooth functions (``abs``,
            ``sign``, ``max``, ``min``, ...), non-scalar expressions (tuples, lists) and
            constants that are complex, infinite or too large. Also for formulas past
            the limits that keep parsing and differentiation bounded: more than 20 000
            characters, a syntax tree more than 100 levels deep, exact numeric powers
            of more than 4096 bits, exponents of a variable above 1000 in magnitude, and
            operations on the variables nested more than 32 deep.
        TypeError
            If ``expr`` is not a string, ``variables`` not a sequence of strings, or a
            parameter value not a real number.

        Examples
        --------
        >>> from filippov.objectives import Objective
        >>> obj = Objective.from_expr("x**2 + 3*y**2", variables=["x", "y"])
        >>> obj.grad([1, 1])
        array([2., 6.])
        >>> obj = Objective.from_expr(
        ...     "0.5*(x - a*y)**2 + 0.5*(y + 3)**2", variables=["x", "y"], params={"a": 0.5}
        ... )
        >>> obj.hess([0.0, 0.0])
        array([[ 1.  , -0.5 ],
               [-0.5 ,  1.25]])
        """
        var_names = _check_declared_names(variables)
        param_values = _check_params(params, var_names)
        symbols = {nm: sympy.Symbol(nm) for nm in (*var_names, *param_values)}
        f_expr = parse_expression(expr, symbols)
        xs = [symbols[v] for v in var_names]
        depth = _formula_depth(f_expr, set(xs))
        if depth > _MAX_FORMULA_DEPTH:
            raise ValueError(
                f"`expr` must nest operations on the variables at most {_MAX_FORMULA_DEPTH} "
                f"deep (calls, powers, products and sums; the size of the symbolic Hessian "
                f"grows like the cube of the depth). Got depth {depth} in "
                f"{_preview_text(expr)} instead; pass such a function as callables "
                "(Objective(f, grad, hess))."
            )
        ps = [symbols[p] for p in param_values]
        n = len(xs)
        # Float literals stand in as symbols while differentiating and compiling, and are
        # passed in as values: sympy's arithmetic on Float coefficients (assumption queries
        # at every product) made a logistic loss of 8 terms in 8 variables take 23 s to
        # differentiate, against 3 s with symbols; the values used are the same doubles.
        literals = sorted(f_expr.atoms(sympy.Float), key=lambda c: float(c))
        stand_ins = [sympy.Dummy(f"c{k}") for k in range(len(literals))]
        f_sym = f_expr.xreplace(dict(zip(literals, stand_ins, strict=True)))
        grad_exprs = [sympy.diff(f_sym, xi) for xi in xs]
        upper = [(i, j) for i in range(n) for j in range(i, n)]
        hess_exprs = [sympy.diff(grad_exprs[i], xs[j]) for i, j in upper]
        back = dict(zip(stand_ins, literals, strict=True))
        _check_derived(expr, [f_expr, *(e.xreplace(back) for e in (*grad_exprs, *hess_exprs))])

        args = [*xs, *ps, *stand_ins]
        f_num = _lambdify(args, f_sym)
        g_num = _lambdify(args, grad_exprs)
        h_num = _lambdify(args, hess_exprs)
        pvals = (*param_values.values(), *(float(c) for c in literals))
        rows = np.array([i for i, _ in upper], dtype=int)
        cols = np.array([j for _, j in upper], dtype=int)

        def f(x: FloatArray) -> Any:
            with np.errstate(all="ignore"):
                return f_num(*x, *pvals)

        def grad(x: FloatArray) -> FloatArray:
            with np.errstate(all="ignore"):
                return np.array(g_num(*x, *pvals), dtype=float).reshape(n)

        def hess(x: FloatArray) -> FloatArray:
            with np.errstate(all="ignore"):
                vals = np.array(h_num(*x, *pvals), dtype=float).reshape(len(upper))
            H = np.empty((n, n))
            H[rows, cols] = vals
            H[cols, rows] = vals
            return H

        def grad_batch(X: FloatArray) -> FloatArray:
            m = X.shape[0]
            with np.errstate(all="ignore"):
                comps = g_num(*X.T, *pvals)
            return np.column_stack(
                [np.broadcast_to(np.asarray(c, dtype=float), (m,)) for c in comps]
            ).reshape(m, n)

        # A formula of degree <= 2 is a quadratic: keep (H, b, c) so that its flows take the
        # engine's exact path (every second derivative is then free of the variables).
        quadratic = None
        minimizer = None
        if all(not (h.free_symbols & set(xs)) for h in hess_exprs):
            zero = np.zeros(n)
            H0, b0, c0 = hess(zero), grad(zero), float(f(zero))
            if np.all(np.isfinite(H0)) and np.all(np.isfinite(b0)) and np.isfinite(c0):
                quadratic = (H0, b0, c0)
                minimizer = _pd_solve(H0, -b0)
        obj = cls._build(
            f=f,
            grad=grad,
            hess=hess,
            hvp=None,
            grad_batch=grad_batch,
            n=n,
            name=_check_name(expr.strip() if name is None else name),
            quadratic=quadratic,
            minimizer=minimizer,
        )
        obj.expr = f_expr.xreplace({symbols[p]: sympy.Float(v) for p, v in param_values.items()})
        return obj._with_recipe(Objective.from_expr, expr, var_names, param_values, name=obj.name)

    @classmethod
    def from_jax(
        cls,
        fun: Callable[..., Any],
        n: int | None = None,
        *,
        dense_hessian: bool | None = None,
        name: str | None = None,
    ) -> Objective:
        """An objective from a JAX function, differentiated by JAX (jit-compiled, float64).

        ``f`` and ``grad`` come from ``jax.grad``; Hessian-vector products are forward-over-
        reverse (``jax.jvp`` of the gradient) and ``grad_batch`` is the vmapped gradient.
        The dense Hessian (``jax.hessian``) is compiled for small ``n`` only; otherwise the
        Hessian rows the event path's sliding modes need are batches of HVPs (``jax.vmap``),
        :meth:`hess` is assembled from ``n`` HVPs when something needs the whole matrix, and
        the general path of :func:`~filippov.solve` runs on HVPs alone. Every method takes and
        returns numpy float64 arrays. Requires JAX (``pip install 'filippov[jax]'``).

        **float64**: this calls ``jax.config.update("jax_enable_x64", True)``, a process-wide
        JAX setting (JAX computes in float32 by default). Build the JAX arrays ``fun`` closes
        over after it, or enable x64 yourself first: an array made before is float32.

        Parameters
        ----------
        fun : callable
            ``fun(x) -> scalar`` for a JAX array ``x`` of shape ``(n,)``, written with
            ``jax.numpy`` (traceable: no Python branching on values).
        n : int, optional
            Dimension (checked on every input when given).
        dense_hessian : bool, optional
            Compile the dense Hessian; default: when ``n`` is given and at most
            ``filippov._jax_objective.DENSE_HESSIAN_MAX_N`` (100).
        name : str, optional
            Label; defaults to ``fun.__name__``.

        Returns
        -------
        Objective

        Raises
        ------
        ImportError
            If JAX is not installed.
        TypeError
            If ``fun`` is not callable.

        Notes
        -----
        Pickling (for sweeps over processes) stores ``fun`` by reference and compiles again
        when loaded: a module-level function pickles with the standard :mod:`pickle`; a lambda
        or a local function needs ``cloudpickle``. Give process pools the ``"spawn"`` or
        ``"forkserver"`` start method: JAX is multithreaded, and a ``fork`` after it has
        started can deadlock.

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from filippov.objectives import Objective
        >>> def loss(x):
        ...     return jnp.sum(jnp.log1p(jnp.exp(x))) + 0.5 * jnp.dot(x, x)
        >>> obj = Objective.from_jax(loss, n=2)
        >>> obj.grad([0.0, 0.0])
        array([0.5, 0.5])
        >>> obj.hvp([0.0, 0.0], [1.0, 0.0])
        array([1.25, 0.  ])
        """
        from filippov._jax_objective import DENSE_HESSIAN_MAX_N, jax_callables

        _check_callable(fun, "fun")
        n_checked = _check_n(n)
        if dense_hessian is None:
            dense = n_checked is not None and n_checked <= DENSE_HESSIAN_MAX_N
        elif isinstance(dense_hessian, (bool, np.bool_)):
            dense = bool(dense_hessian)
        else:
            raise TypeError(
                f"`dense_hessian` must be True, False or None. Got {dense_hessian!r} instead."
            )
        label = _check_name(getattr(fun, "__name__", "jax objective") if name is None else name)
        parts = jax_callables(fun, dense_hessian=dense)
        obj = cls(parts.f, parts.grad, parts.hess, hvp=parts.hvp, n=n_checked, name=label)
        obj._grad_batch = parts.grad_batch
        obj._hess_rows = parts.hess_rows
        obj._trusted = True  # fresh float64 arrays, inputs never modified (_jax_objective)
        return obj._with_recipe(
            Objective.from_jax, fun, n_checked, dense_hessian=dense_hessian, name=label
        )


def _rebuild(
    constructor: Callable[..., Objective], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Objective:
    """Unpickling: build the objective again from its recipe (see ``__reduce_ex__``)."""
    return constructor(*args, **kwargs)


def _finite_scalar(value: Any, name: str) -> float:
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise TypeError(f"`{name}` must be a real number. Got {value!r} instead.")
    arr = as_float_array(value, name)
    if arr.ndim != 0:
        raise ValueError(f"`{name}` must be a scalar. Got an array of shape {arr.shape} instead.")
    return float(require_finite(arr, name))


def _nonnegative(value: Any, name: str) -> float:
    v = _finite_scalar(value, name)
    if v < 0:
        raise ValueError(f"`{name}` must be non-negative. Got {value!r} instead.")
    return v


def _pd_solve(H: FloatArray, rhs: FloatArray) -> FloatArray | None:
    """Solve ``H x = rhs`` when ``H`` is (numerically) positive definite, else ``None``."""
    try:
        factor = scipy.linalg.cho_factor(H)
    except np.linalg.LinAlgError:
        return None
    x = scipy.linalg.cho_solve(factor, rhs)
    return x if np.all(np.isfinite(x)) else None


# --------------------------------------------------------------------------------------
# Safe expression parsing (ast whitelist -> sympy)
# --------------------------------------------------------------------------------------


def _allowed_functions() -> dict[str, Any]:
    from sympy.codegen.cfunctions import expm1 as _sympy_expm1
    from sympy.codegen.cfunctions import log1p as _sympy_log1p

    return {
        "exp": sympy.exp,
        "log": sympy.log,
        "log1p": _sympy_log1p,
        "expm1": _sympy_expm1,
        "sqrt": sympy.sqrt,
        "sin": sympy.sin,
        "cos": sympy.cos,
        "tan": sympy.tan,
        "sinh": sympy.sinh,
        "cosh": sympy.cosh,
        "tanh": sympy.tanh,
        "asin": sympy.asin,
        "acos": sympy.acos,
        "atan": sympy.atan,
        "asinh": sympy.asinh,
        "acosh": sympy.acosh,
        "atanh": sympy.atanh,
        "arcsin": sympy.asin,
        "arccos": sympy.acos,
        "arctan": sympy.atan,
        "arcsinh": sympy.asinh,
        "arccosh": sympy.acosh,
        "arctanh": sympy.atanh,
        "erf": sympy.erf,
    }


ALLOWED_FUNCTIONS: Mapping[str, Any] = LazyMapping(_allowed_functions)
"""Functions :meth:`Objective.from_expr` accepts (smooth on their domains), by name."""

_NONSMOOTH_FUNCTIONS = frozenset(
    {
        "abs", "Abs", "fabs", "absolute", "sign", "sgn", "signum", "max", "min", "Max",
        "Min", "maximum", "minimum", "amax", "amin", "floor", "ceil", "ceiling", "round",
        "trunc", "Heaviside", "heaviside", "relu", "clip", "Piecewise", "hinge",
    }
)  # fmt: skip

_CONSTANTS: Mapping[str, Any] = LazyMapping(lambda: {"pi": sympy.pi})

_MAX_EXPR_CHARS = 20_000
_MAX_POWER_BITS = 4096  # exact integer/rational powers larger than this are refused
#: Deepest syntax tree accepted (nested calls, operators, unary signs); Python's parser
#: itself stops at 200 nested parentheses.
_MAX_SYNTAX_DEPTH = 100
#: Largest |exponent| of a power of a variable: x**1000 already overflows for |x| > 2.1.
_MAX_EXPONENT = 1000
#: Deepest nesting of operations that involve a variable (each call, power, product and
#: sum counts), in the expression sympy builds. The Hessian of a depth-d composition has
#: O(d**3) terms: sympy took 0.7 s at sin nested 32 deep, 25 s at 80 and > 65 s at 120.
_MAX_FORMULA_DEPTH = 32

_BINOPS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
}
_REFUSED_BINOPS: dict[type[ast.operator], str] = {
    ast.FloorDiv: "floor division `//` is not allowed",
    ast.Mod: "the modulo operator `%` is not allowed",
    ast.MatMult: "matrix multiplication `@` is not allowed",
    ast.BitXor: "`^` is bitwise xor, not a power (use `**`)",
    ast.BitAnd: "bitwise `&` is not allowed",
    ast.BitOr: "bitwise `|` is not allowed",
    ast.LShift: "shift `<<` is not allowed",
    ast.RShift: "shift `>>` is not allowed",
}
_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access is not allowed",
    ast.Subscript: "subscripts are not allowed",
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.Compare: "comparisons are not allowed (the objective is a number, not a boolean)",
    ast.BoolOp: "boolean operators `and`/`or` are not allowed",
    ast.IfExp: "conditional expressions are not allowed (objectives must be smooth)",
    ast.NamedExpr: "assignment expressions `:=` are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.Starred: "starred arguments are not allowed",
    ast.Await: "`await` is not allowed",
    ast.Yield: "`yield` is not allowed",
    ast.YieldFrom: "`yield` is not allowed",
    ast.Slice: "slices are not allowed",
}
_NON_SCALAR_NODES: dict[type[ast.AST], str] = {
    ast.Tuple: "a tuple",
    ast.List: "a list",
    ast.Set: "a set",
    ast.Dict: "a dict",
}


def _snippet(source: str, node: ast.AST) -> str:
    seg = ast.get_source_segment(source, node) or type(node).__name__
    seg = " ".join(seg.split())
    return seg if len(seg) <= 40 else seg[:37] + "..."


class _SympyBuilder:
    """Walk a parsed expression against the whitelist, building the sympy expression."""

    def __init__(self, source: str, symbols: Mapping[str, Any]) -> None:
        self.source = source
        self.symbols = symbols

    def fail(self, reason: str, node: ast.AST) -> ValueError:
        return ValueError(
            f"`expr` must be a smooth scalar formula: {reason}. "
            f"Got `{_snippet(self.source, node)}` in {self.source!r} instead."
        )

    def build(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            return self.binop_chain(node)
        if isinstance(node, ast.UnaryOp):
            return self.unaryop(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        for kind, what in _NON_SCALAR_NODES.items():
            if isinstance(node, kind):
                raise ValueError(
                    f"`expr` must be a single scalar expression. Got {what} "
                    f"`{_snippet(self.source, node)}` instead."
                )
        for kind, what in _REFUSED_NODES.items():
            if isinstance(node, kind):
                raise self.fail(what, node)
        raise self.fail(f"`{type(node).__name__}` syntax is not allowed", node)

    def constant(self, node: ast.Constant) -> Any:
        value = node.value
        if isinstance(value, bool):
            raise self.fail("booleans are not allowed", node)
        if isinstance(value, int):
            return sympy.Integer(value)
        if isinstance(value, float):
            if not np.isfinite(value):
                raise self.fail("non-finite numbers are not allowed", node)
            return sympy.Float(value)
        if isinstance(value, complex):
            raise self.fail("complex numbers are not allowed", node)
        if isinstance(value, (str, bytes)):
            raise self.fail("strings are not allowed", node)
        raise self.fail(f"the constant {value!r} is not allowed", node)

    def name(self, node: ast.Name) -> Any:
        ident = node.id
        if ident in self.symbols:
            return self.symbols[ident]
        if ident in _CONSTANTS:
            return _CONSTANTS[ident]
        if ident in ALLOWED_FUNCTIONS or ident in _NONSMOOTH_FUNCTIONS:
            raise self.fail(f"`{ident}` is a function; call it, e.g. `{ident}(x)`", node)
        declared = ", ".join(self.symbols) or "(none)"
        raise ValueError(
            f"`expr` contains the unknown symbol `{ident}`. Declared variables and "
            f"parameters: {declared} (plus the constant `pi`)."
        )

    def binop_chain(self, node: ast.BinOp) -> Any:
        # Left-deep chains (a + b + c + ...) are folded iteratively so long sums do not
        # recurse once per term.
        chain: list[tuple[ast.operator, ast.AST]] = []
        left: ast.AST = node
        while isinstance(left, ast.BinOp):
            chain.append((left.op, left.right))
            left = left.left
        chain.reverse()
        for op, _ in chain:
            if type(op) in _REFUSED_BINOPS:
                raise self.fail(_REFUSED_BINOPS[type(op)], node)
            if type(op) not in _BINOPS:  # pragma: no cover - every ast operator is listed
                raise self.fail(f"the operator `{type(op).__name__}` is not allowed", node)
        ops = {type(op) for op, _ in chain}
        first = self.build(left)
        if ops <= {ast.Add, ast.Sub}:
            terms = [first]
            for op, right in chain:
                term = self.build(right)
                terms.append(term if isinstance(op, ast.Add) else -term)
            return sympy.Add(*terms)
        if ops == {ast.Mult}:
            return sympy.Mul(first, *(self.build(right) for _, right in chain))
        acc = first
        for op, right in chain:
            rhs = self.build(right)
            if isinstance(op, ast.Add):
                acc = acc + rhs
            elif isinstance(op, ast.Sub):
                acc = acc - rhs
            elif isinstance(op, ast.Mult):
                acc = acc * rhs
            elif isinstance(op, ast.Div):
                acc = acc / rhs
            else:
                acc = self.power(acc, rhs, node)
        return acc

    def power(self, base: Any, exponent: Any, node: ast.AST) -> Any:
        if exponent.is_Number and base.free_symbols and abs(exponent) > _MAX_EXPONENT:
            raise self.fail(
                f"exponents of a variable must be at most {_MAX_EXPONENT} in magnitude "
                "(a larger power overflows for almost every x)",
                node,
            )
        if base.is_Rational and exponent.is_Integer:
            bits = abs(int(exponent)) * (int(base.p).bit_length() + int(base.q).bit_length())
            if bits > _MAX_POWER_BITS:
                raise self.fail(
                    "numeric powers this large are not allowed (they would be computed exactly)",
                    node,
                )
        return sympy.Pow(base, exponent)

    def unaryop(self, node: ast.UnaryOp) -> Any:
        if isinstance(node.op, ast.USub):
            return -self.build(node.operand)
        if isinstance(node.op, ast.UAdd):
            return self.build(node.operand)
        raise self.fail(f"the unary operator `{type(node.op).__name__}` is not allowed", node)

    def call(self, node: ast.Call) -> Any:
        func = node.func
        if not isinstance(func, ast.Name):
            what = (
                "attribute access is not allowed"
                if isinstance(func, ast.Attribute)
                else "only named functions can be called"
            )
            raise self.fail(what, node)
        fname = func.id
        if fname in _NONSMOOTH_FUNCTIONS:
            raise ValueError(
                f"`expr` uses `{fname}`, which is not smooth; objectives must be smooth (C²) "
                "because their gradient and Hessian are derived symbolically. A non-smooth "
                "term belongs in the norm of the flow (e.g. steepest_descent_flow(obj, "
                f"norm='l1')), not in f. Got {self.source!r} instead."
            )
        if fname not in ALLOWED_FUNCTIONS:
            raise self.fail(
                f"calling `{fname}` is not allowed "
                f"(allowed functions: {', '.join(sorted(ALLOWED_FUNCTIONS))})",
                node,
            )
        if node.keywords:
            raise self.fail("keyword arguments are not allowed", node)
        if len(node.args) != 1:
            raise self.fail(f"`{fname}` takes exactly 1 argument, not {len(node.args)}", node)
        return ALLOWED_FUNCTIONS[fname](self.build(node.args[0]))


def parse_expression(expr: str, symbols: Mapping[str, Any]) -> Any:
    """Parse a formula string into a sympy expression without evaluating any code.

    The string is parsed with ``ast.parse(..., mode="eval")`` and every node is checked
    against a whitelist: numeric literals, names in ``symbols`` (and ``pi``), the binary
    operators ``+ - * / **``, unary ``+``/``-`` and single-argument calls to
    :data:`ALLOWED_FUNCTIONS`. The sympy expression is built from the tree directly.

    Parameters
    ----------
    expr : str
        The formula.
    symbols : mapping of str to sympy.Symbol
        The names the formula may use.

    Returns
    -------
    sympy.Expr

    Raises
    ------
    ValueError
        If the formula is malformed, uses anything outside the whitelist, is not a single
        scalar, or contains complex, infinite or out-of-range constants.
    TypeError
        If ``expr`` is not a string.

    Examples
    --------
    >>> import sympy
    >>> from filippov.objectives import parse_expression
    >>> x = sympy.Symbol("x")
    >>> parse_expression("exp(-x**2) + 2*x", {"x": x})
    2*x + exp(-x**2)
    """
    if not isinstance(expr, str):
        raise TypeError(f"`expr` must be a string. Got {type(expr).__name__} {expr!r} instead.")
    if len(expr) > _MAX_EXPR_CHARS:
        raise ValueError(
            f"`expr` must be at most {_MAX_EXPR_CHARS} characters. Got {len(expr)} instead."
        )
    if not expr.strip():
        raise ValueError("`expr` must be a non-empty formula. Got an empty string instead.")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
        depth = _syntax_depth(tree.body)
        if depth > _MAX_SYNTAX_DEPTH:
            raise ValueError(
                f"`expr` must be nested at most {_MAX_SYNTAX_DEPTH} levels deep. Got an "
                f"expression nested {depth} levels deep instead."
            )
        result = _SympyBuilder(expr.strip(), symbols).build(tree.body)
    except SyntaxError as exc:
        raise ValueError(
            f"`expr` must be a valid Python-syntax formula. Got {expr!r} instead ({exc.msg})."
        ) from None
    except (RecursionError, MemoryError):
        raise ValueError(
            f"`expr` must be nested at most {_MAX_SYNTAX_DEPTH} levels deep. Got an "
            f"expression of {len(expr)} characters nested too deeply to parse instead."
        ) from None
    _check_constants(expr, result)
    return result


def _preview_text(text: str) -> str:
    """``repr`` of ``text``, shortened to 80 characters."""
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")


def _syntax_depth(root: ast.AST) -> int:
    """Depth of a syntax tree as :class:`_SympyBuilder` recurses into it, without recursion.

    The left operand of a binary operator does not count: left-deep chains (long sums)
    are folded iteratively. The walk stops one level past the limit.
    """
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > _MAX_SYNTAX_DEPTH:
            continue
        if isinstance(node, ast.BinOp):
            stack.append((node.left, depth))
            stack.append((node.right, depth + 1))
        else:
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _formula_depth(expr: Any, variables: set[Any]) -> int:
    """Deepest nesting of sympy operations that involve one of ``variables``.

    Iterative, and each shared subexpression is visited once (sympy builds a DAG).
    """
    depth: dict[Any, int] = {}
    stack = [(expr, False)]
    while stack:
        node, done = stack.pop()
        if node in depth:
            continue
        if not node.args or not (node.free_symbols & variables):
            depth[node] = 0
        elif done:
            depth[node] = 1 + max(depth[a] for a in node.args)
        else:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in depth)
    return depth[expr]


def _check_constants(source: str, result: Any) -> None:
    if result.has(sympy.I, sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
        raise ValueError(
            "`expr` must be real and finite; it simplifies to something complex or infinite "
            f"(e.g. a division by zero or log of a negative number). Got {source!r} instead."
        )
    for atom in result.atoms(sympy.Number):
        try:
            ok = bool(np.isfinite(float(atom)))
        except (OverflowError, TypeError):
            ok = False
        if not ok:
            raise ValueError(
                f"`expr` must only contain constants representable as floats. Got {source!r} "
                "instead (a constant overflows)."
            )


def _check_derived(source: str, exprs: Sequence[Any]) -> None:
    """Refuse derivatives that left the smooth, real, elementary world."""
    allowed = set(ALLOWED_FUNCTIONS.values())
    for e in exprs:
        _check_constants(source, e)
        for fn in e.atoms(sympy.Function):
            if fn.func not in allowed:
                raise ValueError(
                    f"`expr` must be twice differentiable in closed form; its derivatives "
                    f"involve `{fn.func.__name__}`. Got {source!r} instead."
                )
        if e.has(sympy.Derivative):
            raise ValueError(
                f"`expr` must be twice differentiable in closed form. Got {source!r} instead."
            )


def _check_declared_names(variables: Any) -> list[str]:
    if isinstance(variables, str) or not isinstance(variables, Sequence):
        raise TypeError(
            f"`variables` must be a list of names such as ['x', 'y']. Got {variables!r} instead."
        )
    names = [_check_identifier(v, "variables") for v in variables]
    if not names:
        raise ValueError("`variables` must name at least one variable. Got [] instead.")
    if len(set(names)) != len(names):
        raise ValueError(f"`variables` must not repeat a name. Got {list(variables)!r} instead.")
    return names


def _check_identifier(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"`{what}` must contain only strings. Got {value!r} instead.")
    # Python normalizes identifiers (NFKC) when parsing, so compare normalized names.
    name = unicodedata.normalize("NFKC", value)
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"`{what}` must contain valid identifiers. Got {value!r} instead.")
    if name in ALLOWED_FUNCTIONS or name in _NONSMOOTH_FUNCTIONS or name in _CONSTANTS:
        raise ValueError(
            f"`{what}` must not reuse a function or constant name. Got {value!r} instead."
        )
    return name


def _check_params(params: Any, var_names: Sequence[str]) -> dict[str, float]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError(f"`params` must be a dict of name -> number. Got {params!r} instead.")
    out: dict[str, float] = {}
    for key, value in params.items():
        name = _check_identifier(key, "params")
        if name in var_names:
            raise ValueError(
                f"`params` must not reuse a variable name. Got {key!r} in both instead."
            )
        if name in out:
            raise ValueError(f"`params` must not repeat a name. Got {key!r} twice instead.")
        out[name] = _finite_scalar(value, f"params[{key!r}]")
    return out


@functools.cache
def _exact_float_printer() -> type:
    from sympy.printing.numpy import SciPyPrinter

    class _ExactFloatPrinter(SciPyPrinter):
        """SciPy/NumPy printer that writes float constants with full (repr) precision."""

        def _print_Float(self, expr: Any) -> str:
            return repr(float(expr))

    return _ExactFloatPrinter


def _cse_with_private_names(exprs: Any) -> Any:
    # sympy's default `cse` names its subexpressions Symbol("x0"), Symbol("x1"), ...: equal,
    # as sympy symbols, to a user's variables of the same names, which `dummify` then
    # rewrites to the arguments -- every derivative of f(x0, x1, ...) came out wrong (sympy
    # issue 25043). Dummy symbols compare equal to nothing else and print with a private,
    # unique name.
    return sympy.cse(
        exprs, symbols=sympy.numbered_symbols(prefix="_cse", cls=sympy.Dummy), list=False
    )


def _lambdify(args: Sequence[Any], expr: Any) -> Callable[..., Any]:
    return sympy.lambdify(
        args,
        expr,
        modules=["scipy", "numpy"],
        printer=_exact_float_printer(),
        cse=_cse_with_private_names,
        dummify=True,
    )


# --------------------------------------------------------------------------------------
# Library
# --------------------------------------------------------------------------------------


def separable_quadratic(l: ArrayLike, c: ArrayLike, *, name: str | None = None) -> Objective:  # noqa: E741
    r"""The separable quadratic ``f(x) = ½ Σ_i l_i (x_i − c_i)²``.

    .. math:: f(x) = \tfrac12 \sum_i l_i (x_i - c_i)^2,\qquad \nabla^2 f = \operatorname{diag}(l).

    Parameters
    ----------
    l : (n,) array_like
        Curvatures (finite; the coordinate smoothness constants when non-negative).
    c : (n,) array_like or float
        Center (a scalar is broadcast).
    name : str, optional

    Returns
    -------
    Objective
        Quadratic, with ``minimizer = c`` when every ``l_i > 0``.

    Examples
    --------
    >>> from filippov.objectives import separable_quadratic
    >>> obj = separable_quadratic([1.0, 100.0], [1.0, -1.0])
    >>> obj.f([0.0, 0.0]), obj.grad([0.0, 0.0]), obj.minimizer
    (50.5, array([ -1., 100.]), array([ 1., -1.]))
    """
    lv = as_vector(l, "l")
    n = lv.size
    cv = np.full(n, _finite_scalar(c, "c")) if np.ndim(c) == 0 else as_vector(c, "c", n)

    def f(x: FloatArray) -> float:
        d = x - cv
        return 0.5 * float(d @ (lv * d))

    # The Hessian is kept as its diagonal: `quadratic_data` builds the dense matrix only
    # when asked for (and `hess(x)` returns it), so large instances stay cheap.
    obj = Objective._build(
        f=f,
        grad=lambda x: lv * (x - cv),
        hess=lambda x: np.diag(lv),
        hvp=lambda x, v: lv * v,
        grad_batch=lambda X: (X - cv) * lv,
        n=n,
        name=f"separable_quadratic(n={n})" if name is None else _check_name(name),
        separable=(lv, -lv * cv, 0.5 * float(np.sum(lv * cv**2))),
        minimizer=cv if np.all(lv > 0) else None,
    )
    return obj._with_recipe(separable_quadratic, lv, cv, name=obj.name)


def _skew_log_of_random_rotation(n: int, rng: np.random.Generator) -> FloatArray:
    """A skew-symmetric ``K`` whose exponential is a Haar-random rotation in SO(n)."""
    if n == 1:
        return np.zeros((1, 1))
    from scipy.stats import special_ortho_group

    return _rotation_log(special_ortho_group.rvs(n, random_state=rng))


def _rotation_log(R: FloatArray) -> FloatArray:
    """The real principal logarithm of a rotation ``R`` in SO(n): skew ``K``, ``exp(K) = R``."""
    n = R.shape[0]
    T, Z = scipy.linalg.schur(R, output="real")  # R normal => T block diagonal
    KT = np.zeros((n, n))
    minus_ones: list[int] = []
    i = 0
    while i < n:
        if i + 1 < n and T[i + 1, i] != 0.0:  # 2x2 rotation block [[cos, -sin], [sin, cos]]
            theta = float(np.arctan2(T[i + 1, i] - T[i, i + 1], T[i, i] + T[i + 1, i + 1]))
            KT[i, i + 1], KT[i + 1, i] = -theta, theta
            i += 2
        else:
            if T[i, i] < 0.0:  # eigenvalue -1: pair them up as rotations by pi
                minus_ones.append(i)
            i += 1
    for p, q in zip(minus_ones[::2], minus_ones[1::2], strict=False):
        KT[p, q], KT[q, p] = -np.pi, np.pi
    K = Z @ KT @ Z.T
    return 0.5 * (K - K.T)


def rotated_quadratic(
    eigenvalues: ArrayLike,
    rotation: float = 1.0,
    seed: int | np.random.Generator | None = None,
    *,
    name: str | None = None,
) -> Objective:
    r"""A quadratic ``½xᵀHx`` with spectrum ``eigenvalues`` and tunable rotation.

    .. math:: H = Q\,\operatorname{diag}(\lambda)\,Q^\top,\qquad Q = \exp(r K),

    where ``K`` is skew-symmetric and ``exp(K)`` is a Haar-random rotation in SO(n) (``K``
    is the principal logarithm of the random rotation, computed from its real Schur form).
    ``rotation = r = 0`` gives the diagonal ``H = diag(λ)``, ``r = 1`` the fully (randomly)
    rotated one, and ``0 < r < 1`` walks along the geodesic between them, so the diagonal
    concentration of ``H`` decreases (typically) as ``r`` grows. The same ``seed`` gives the
    same ``K`` for every ``r``.

    Parameters
    ----------
    eigenvalues : (n,) array_like
        The spectrum of ``H`` (finite).
    rotation : float in [0, 1], default 1.0
        Rotation strength ``r``.
    seed : int, numpy Generator or None
        Randomness of the rotation.
    name : str, optional

    Returns
    -------
    Objective
        Quadratic with ``b = 0``; minimizer ``0`` when all eigenvalues are positive.

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.objectives import rotated_quadratic
    >>> obj = rotated_quadratic([1.0, 10.0, 100.0], rotation=1.0, seed=0)
    >>> H = obj.quadratic_data[0]
    >>> np.allclose(np.linalg.eigvalsh(H), [1.0, 10.0, 100.0])
    True
    >>> rotated_quadratic([1.0, 10.0], rotation=0.0, seed=0).hess([0.0, 0.0])
    array([[ 1.,  0.],
           [ 0., 10.]])
    """
    lam = as_vector(eigenvalues, "eigenvalues")
    r = _finite_scalar(rotation, "rotation")
    if not 0.0 <= r <= 1.0:
        raise ValueError(f"`rotation` must be in [0, 1]. Got {rotation!r} instead.")
    n = lam.size
    rng = np.random.default_rng(seed)
    K = _skew_log_of_random_rotation(n, rng)
    Q = scipy.linalg.expm(r * K) if r > 0 else np.eye(n)
    H = (Q * lam) @ Q.T
    H = 0.5 * (H + H.T)
    return Objective.quadratic(
        H,
        name=f"rotated_quadratic(n={n}, rotation={r:g})" if name is None else name,
    )


def ridge_logistic(A: ArrayLike, y: ArrayLike, lam: float, *, name: str | None = None) -> Objective:
    r"""L2-regularized logistic regression (mean loss).

    .. math:: f(x) = \frac1m \sum_{i=1}^m \log\bigl(1 + e^{-y_i a_i^\top x}\bigr)
              + \frac{\lambda}{2}\|x\|_2^2,

    evaluated stably with ``np.logaddexp``; the gradient and Hessian use
    ``scipy.special.expit``.

    Parameters
    ----------
    A : (m, n) array_like
        Data, one sample ``a_i`` per row.
    y : (m,) array_like
        Labels in {-1, +1} or in {0, 1} (0 is mapped to -1).
    lam : float
        Ridge weight ``λ ≥ 0``.
    name : str, optional

    Returns
    -------
    Objective
        (No closed-form minimizer: ``minimizer`` is ``None``.)

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.objectives import ridge_logistic
    >>> obj = ridge_logistic([[1.0, 0.0], [0.0, 1.0]], [1, 0], lam=0.1)
    >>> bool(np.isclose(obj.f([0.0, 0.0]), np.log(2.0)))
    True
    >>> obj.grad([0.0, 0.0])
    array([-0.25,  0.25])
    """
    Am = as_matrix(A, "A")
    m, n = Am.shape
    if m == 0 or n == 0:
        raise ValueError(
            f"`A` must have at least one row and column. Got shape {Am.shape} instead."
        )
    yv = as_vector(y, "y", m)
    labels = set(np.unique(yv).tolist())
    if labels <= {0.0, 1.0}:
        yv = 2.0 * yv - 1.0
    elif not labels <= {-1.0, 1.0}:
        raise ValueError(
            f"`y` must hold labels in {{-1, 1}} or {{0, 1}}. Got values {sorted(labels)} instead."
        )
    lam_f = _nonnegative(lam, "lam")
    yA = yv[:, None] * Am  # rows y_i a_i

    def f(x: FloatArray) -> float:
        return float(np.mean(np.logaddexp(0.0, -(yA @ x)))) + 0.5 * lam_f * float(x @ x)

    def grad(x: FloatArray) -> FloatArray:
        return -(scipy.special.expit(-(yA @ x)) @ yA) / m + lam_f * x

    def hess(x: FloatArray) -> FloatArray:
        z = yA @ x
        w = scipy.special.expit(z) * scipy.special.expit(-z)
        H = (Am.T * w) @ Am / m + lam_f * np.eye(n)
        return 0.5 * (H + H.T)

    # The weights of the last point: solvers take several products at one point (CG),
    # and recomputing them cost a third product each time.
    last_w: list[tuple[bytes, FloatArray]] = []

    def hvp(x: FloatArray, v: FloatArray) -> FloatArray:
        key = x.tobytes()
        if last_w and last_w[0][0] == key:
            w = last_w[0][1]
        else:
            z = yA @ x
            w = scipy.special.expit(z) * scipy.special.expit(-z)
            last_w[:] = [(key, w)]
        return Am.T @ (w * (Am @ v)) / m + lam_f * v

    def grad_batch(X: FloatArray) -> FloatArray:
        return -(scipy.special.expit(-(X @ yA.T)) @ yA) / m + lam_f * X

    # Rows of Aᵀ contiguous, so that the rows of the Hessian the event path asks for are
    # one (k, m) @ (m, n) product instead of the whole (n, m) @ (m, n) one. The event path
    # asks for the same rows (its sliding set) many times in a row: the last selection of
    # rows of Aᵀ and the flat positions of their diagonal entries are kept.
    At = np.ascontiguousarray(Am.T)
    last_rows: list[tuple[bytes, FloatArray, NDArray[np.intp]]] = []

    def hess_rows(x: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        key = rows.tobytes()
        kept = last_rows[0] if last_rows else None
        if kept is None or kept[0] != key:
            kept = (key, At[rows], np.arange(rows.size) * n + rows)
            last_rows[:] = [kept]
        _, At_rows, diagonal = kept
        z = yA @ x
        w = scipy.special.expit(z) * scipy.special.expit(-z)
        w /= m
        R = (At_rows * w) @ Am
        R.flat[diagonal] += lam_f
        return R

    obj = Objective._build(
        f=f,
        grad=grad,
        hess=hess,
        hvp=hvp,
        grad_batch=grad_batch,
        n=n,
        name=f"ridge_logistic(m={m}, n={n}, lam={lam_f:g})" if name is None else _check_name(name),
    )
    obj._hess_rows = hess_rows
    return obj._with_recipe(ridge_logistic, Am, yv, lam_f, name=obj.name)


def smooth_max(
    A: ArrayLike,
    b: ArrayLike | None,
    lam: float,
    temperature: float = 1.0,
    *,
    quadratic: ArrayLike | None = None,
    name: str | None = None,
) -> Objective:
    r"""Log-sum-exp ("soft max") of affine maps plus a ridge term (and a quadratic).

    .. math:: f(x) = T \log \sum_{i=1}^m \exp\Bigl(\frac{a_i^\top x + b_i}{T}\Bigr)
              + \frac{\lambda}{2}\|x\|_2^2 + \frac12 x^\top Q x,

    a smooth upper approximation of ``max_i (a_iᵀx + b_i)`` (within ``T log m``), evaluated
    stably with ``scipy.special.logsumexp``. With ``p = softmax((Ax + b)/T)``:
    ``∇f = Aᵀp + λx + Qx`` and ``∇²f = Aᵀ(diag(p) − ppᵀ)A / T + λI + Q``. The optional
    quadratic ``Q`` (default none) sets the strong convexity and conditioning, as in the
    smooth-max benchmark of seed paper 2 (Sec. 7.1), where ``Q`` is a Haar-rotated
    diagonal with a chosen condition number (e.g. from
    :func:`rotated_quadratic`).

    Parameters
    ----------
    A : (m, n) array_like
        Slopes, one affine map per row.
    b : (m,) array_like or None
        Offsets (``None`` = zero).
    lam : float
        Ridge weight ``λ ≥ 0``.
    temperature : float, default 1.0
        Smoothing ``T > 0``.
    quadratic : (n, n) array_like, optional
        Symmetric matrix ``Q`` of the added term ``½xᵀQx`` (default: no such term).
    name : str, optional

    Returns
    -------
    Objective
        (``minimizer`` is ``None``: no closed form in general.)

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.objectives import smooth_max
    >>> obj = smooth_max([[1.0], [-1.0]], None, lam=0.0)
    >>> bool(np.isclose(obj.f([0.0]), np.log(2.0))), obj.grad([0.0])
    (True, array([0.]))
    >>> with_q = smooth_max([[1.0], [-1.0]], None, lam=0.0, quadratic=[[4.0]])
    >>> bool(np.isclose(with_q.f([0.5]), obj.f([0.5]) + 0.5)), with_q.hess([0.0])
    (True, array([[5.]]))
    """
    Am = as_matrix(A, "A")
    m, n = Am.shape
    if m == 0 or n == 0:
        raise ValueError(
            f"`A` must have at least one row and column. Got shape {Am.shape} instead."
        )
    bv = np.zeros(m) if b is None else as_vector(b, "b", m)
    lam_f = _nonnegative(lam, "lam")
    T = require_positive(temperature, "temperature")
    # λI + Q in one matrix (λI alone when no Q is given, keeping the former arithmetic)
    Qm: FloatArray | None = None
    if quadratic is not None:
        Qm = as_matrix(quadratic, "quadratic")
        if Qm.shape != (n, n) or not np.allclose(Qm, Qm.T, rtol=1e-12, atol=0.0):
            raise ValueError(
                f"`quadratic` must be a symmetric ({n}, {n}) matrix. "
                f"Got shape {Qm.shape}{'' if Qm.shape != (n, n) else ' (not symmetric)'} instead."
            )
        Qm = 0.5 * (Qm + Qm.T)

    def probs(x: FloatArray) -> FloatArray:
        return np.asarray(scipy.special.softmax((Am @ x + bv) / T))

    def f(x: FloatArray) -> float:
        val = T * float(scipy.special.logsumexp((Am @ x + bv) / T)) + 0.5 * lam_f * float(x @ x)
        return val if Qm is None else val + 0.5 * float(x @ Qm @ x)

    def grad(x: FloatArray) -> FloatArray:
        g = probs(x) @ Am + lam_f * x
        return g if Qm is None else g + Qm @ x

    def hess(x: FloatArray) -> FloatArray:
        p = probs(x)
        Ap = p @ Am
        H = ((Am.T * p) @ Am - np.outer(Ap, Ap)) / T + lam_f * np.eye(n)
        if Qm is not None:
            H = H + Qm
        return 0.5 * (H + H.T)

    def hvp(x: FloatArray, v: FloatArray) -> FloatArray:
        p = probs(x)
        Av = Am @ v
        out = Am.T @ (p * (Av - p @ Av)) / T + lam_f * v
        return out if Qm is None else out + Qm @ v

    def grad_batch(X: FloatArray) -> FloatArray:
        P = scipy.special.softmax((X @ Am.T + bv) / T, axis=1)
        G = np.asarray(P @ Am + lam_f * X)
        return G if Qm is None else G + X @ Qm

    obj = Objective._build(
        f=f,
        grad=grad,
        hess=hess,
        hvp=hvp,
        grad_batch=grad_batch,
        n=n,
        name=(
            f"smooth_max(m={m}, n={n}, lam={lam_f:g}, T={T:g}{'' if Qm is None else ', Q'})"
            if name is None
            else _check_name(name)
        ),
    )
    if Qm is None:
        return obj._with_recipe(smooth_max, Am, bv, lam_f, T, name=obj.name)
    return obj._with_recipe(smooth_max, Am, bv, lam_f, T, quadratic=Qm, name=obj.name)


def slope(a: float = 0.5, *, name: str | None = None) -> Objective:
    r"""The 2-D "slope" example ``f = ½(x₁ − a x₂)² + ½(x₂ + 3)²``.

    .. math:: f(x) = \tfrac12 (x_1 - a x_2)^2 + \tfrac12 (x_2 + 3)^2,
              \qquad x^\star = (-3a, -3).

    Under the ℓ∞ steepest-descent flow (sign gradient flow) the manifold
    ``∂f/∂x₁ = x₁ − a x₂ = 0`` is sliding for ``|a| < 1`` and crossing for ``|a| > 1``.

    Parameters
    ----------
    a : float, default 0.5
        Slope of the valley ``x₁ = a x₂``.
    name : str, optional

    Returns
    -------
    Objective
        Quadratic with ``H = [[1, −a], [−a, 1 + a²]]``, ``b = (0, 3)``, ``c = 4.5``.

    Examples
    --------
    >>> from filippov.objectives import slope
    >>> obj = slope(a=0.5)
    >>> obj.minimizer, obj.grad([0.0, 0.0])
    (array([-1.5, -3. ]), array([0., 3.]))
    """
    af = _finite_scalar(a, "a")
    H = np.array([[1.0, -af], [-af, 1.0 + af * af]])
    bv = np.array([0.0, 3.0])

    def f(x: FloatArray) -> float:
        return 0.5 * float((x[0] - af * x[1]) ** 2 + (x[1] + 3.0) ** 2)

    def grad(x: FloatArray) -> FloatArray:
        r = x[0] - af * x[1]
        return np.array([r, -af * r + x[1] + 3.0])

    def grad_batch(X: FloatArray) -> FloatArray:
        r = X[:, 0] - af * X[:, 1]
        return np.column_stack([r, -af * r + X[:, 1] + 3.0])

    obj = Objective._build(
        f=f,
        grad=grad,
        hess=lambda x: H.copy(),
        hvp=lambda x, v: H @ v,
        grad_batch=grad_batch,
        n=2,
        name=f"slope(a={af:g})" if name is None else _check_name(name),
        quadratic=(H, bv, 4.5),
        minimizer=np.array([-3.0 * af, -3.0]),
    )
    return obj._with_recipe(slope, af, name=obj.name)


# The neural-network objective lives in its own module (it imports Objective from here).
from filippov._mlp import mlp_classifier, mlp_init  # noqa: E402

__all__ += ["mlp_classifier", "mlp_init"]
