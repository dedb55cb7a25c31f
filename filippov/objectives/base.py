"""The :class:`Objective` type: a smooth ``f: R^n -> R`` with its derivatives, checked.

An :class:`Objective` bundles ``f(x)``, ``grad(x)``, ``hess(x)`` (dense), ``hvp(x, v)`` and a
vectorized ``grad_batch(X)``; every public method validates its input and checks that what
comes back has the right shape and is finite. Drivers that validate their own inputs (the
scheme driver, the event path) use the ``eval_*`` methods instead, documented as such.
:meth:`Objective.check_derivatives` compares the derivatives with finite differences
(the result is a :class:`~filippov.objectives.DerivativeCheck`). The constructors :meth:`Objective.from_expr` and
:meth:`Objective.from_jax` are defined beside what they build from
(:mod:`filippov.objectives.expression`, :mod:`filippov.objectives._jax`) and bound here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from filippov._validation import (
    FloatArray,
    as_matrix,
    as_square_matrix,
    as_vector,
    require_finite,
    require_symmetric,
    user_function,
)

from . import _jax, expression
from ._checks import (
    DerivativeCheck,
    check_callable,
    check_dimension,
    check_name,
    checked_operator,
    derivative_check,
    finite_scalar,
    is_operator,
    operator_block,
    operator_product,
    operator_rows,
    pd_solve,
    readonly,
    returned_matrix,
    returned_scalar,
    returned_vector,
)

__all__ = ["Objective", "rebuild_from_recipe"]

# Relative step of central differences: eps**(1/3) balances truncation O(h²) against
# rounding O(eps/h), so the finite-difference Hessian is accurate to about eps**(2/3) ~ 4e-11.
_FD_STEP = float(np.finfo(float).eps ** (1.0 / 3.0))


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
    with a message naming the culprit, except the ``eval_*`` methods (:meth:`eval_f_rows`,
    :meth:`eval_grad_rows`, :meth:`eval_grad`, :meth:`eval_hvp`, :meth:`eval_hess_rows`),
    meant for drivers that validate their inputs once themselves. ``grad_batch`` is vectorized for quadratics,
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

    #: Optional ``(x, rows) -> ∇²f(x)[rows][:, rows]``, set by library objectives whose
    #: square blocks cost less than their rows (see :meth:`eval_hess_block`).
    _hess_block: Callable[[FloatArray, NDArray[np.intp]], Any] | None = None

    #: Optional ``(B, λ, ℓ', ℓ'', ℓ''' or None)`` of an objective ``f(x) = mean_i
    #: ℓ(b_iᵀx) + (λ/2)‖x‖²`` (a generalized linear model, set by library objectives such
    #: as ``ridge_logistic``): the continuation path then takes its products on the
    #: sliding columns of ``B`` only (and with ``ℓ'''`` the curves' second derivatives).
    _linear_model: tuple[Any, float, Any, Any, Any] | None = None
    #: The same ``(B, λ, ℓ', ℓ'')`` for a ``B`` in scipy.sparse form (set by the library's
    #: models on sparse data instead of ``_linear_model``, whose users make ``B`` dense):
    #: the continuation path takes its products on the sparse columns of ``B``.
    _sparse_linear_model: tuple[Any, float, Any, Any] | None = None
    #: For such a linear model, a bound ``c`` on its loss's second derivative everywhere
    #: (``ℓ'' ≤ c``: 1/4 for the logistic loss, 1 for the squared and log-cosh ones), or
    #: ``None``: with it :func:`~filippov.geometry.separable_smoothness` certifies its
    #: constants (``∇²f ⪯ (c/m) BᵀB + λI``) instead of sampling.
    _loss_curvature_max: float | None = None
    #: Whether f is a mean of squared residuals whose quadratic data is derived (its
    #: values are best taken from the residuals, not the expanded quadratic).
    _squared_loss: bool = False

    #: Optional ``() -> (H, b, c)`` of an objective known to be the quadratic
    #: ``½xᵀHx + bᵀx + c`` whose dense ``H`` costs a pass over data to form (a squared-loss
    #: :func:`~filippov.objectives.linear_model`): :attr:`quadratic_data` calls it on first
    #: request only, so that an objective never used as a quadratic does not pay for it.
    _quadratic_factory: Callable[[], tuple[FloatArray, FloatArray, float] | None] | None = None
    #: ``() -> minimizer or None``, taken on the first request of `minimizer` (a closed form
    #: whose cost -- a least-squares solve on the data -- is not paid at construction).
    _minimizer_factory: Callable[[], FloatArray | None] | None = None

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
        check_callable(f, "f")
        check_callable(grad, "grad")
        check_callable(hess, "hess", optional=True)
        check_callable(hvp, "hvp", optional=True)
        self.n: int | None = check_dimension(n)
        self.name: str = check_name(name)
        self.expr: Any = None
        # (the user's callables raise what is not a numerical failure as a
        # UserFunctionError, so that a run keeps its partial solution: see UserFunction)
        f, grad = user_function(f, "f"), user_function(grad, "grad")
        hess, hvp = user_function(hess, "hess"), user_function(hvp, "hvp")
        self._f = f
        self._grad = grad
        self._grad_batch: Callable[[FloatArray], Any] | None = None
        self._f_batch: Callable[[FloatArray], Any] | None = None
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
        f_batch: Callable[[FloatArray], Any] | None = None,
    ) -> Objective:
        # Only for callables written in this module: they must return fresh arrays and never
        # modify their input, because the scheme driver calls them without validation or
        # defensive copies (`eval_grad_rows`). `separable = (l, b, c)` describes a quadratic
        # with diagonal Hessian diag(l); its dense `quadratic_data` is then built on demand.
        obj = cls(f, grad, hess, hvp=hvp, n=n, name=name)
        obj._grad_batch = grad_batch
        # (values at the rows of a matrix, in the same form as ``f``: a closed form that
        # expands it, ½Σ l x² + bᵀx + c for ½Σ l (x − c)², cancels where |c| is large)
        obj._f_batch = f_batch
        obj._trusted = True
        if quadratic is not None:
            H, b, c = quadratic
            obj._quadratic = (readonly(H), readonly(b), float(c))
        if separable is not None:
            lv, b, c = separable
            obj._separable = (readonly(lv), readonly(b), float(c))
        obj._minimizer = None if minimizer is None else readonly(minimizer)
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
            return (rebuild_from_recipe, self._recipe)
        return super().__reduce_ex__(protocol)

    # ---- derived second-order callables ------------------------------------------------

    def _hvp_from_hess(self, x: FloatArray, v: FloatArray) -> FloatArray:
        H = self._hess(x)
        if is_operator(H):  # sparse or LinearOperator: the product, never the matrix
            return operator_product(checked_operator(H, x.size), v).reshape(-1)
        return returned_matrix(H, "hess(x)", (x.size, x.size)) @ v

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
        return returned_vector(self._grad(x), "grad(x)", x.size)

    def _eval_hess(self, x: FloatArray) -> FloatArray:
        H = self._hess(x)
        if is_operator(H):
            # A dense Hessian was asked for (hess(x), the event path): only then is a
            # sparse or LinearOperator Hessian made dense; hvp and hess_rows never do.
            H = operator_rows(H, np.arange(x.size, dtype=np.intp), x.size)
        return returned_matrix(H, "hess(x)", (x.size, x.size))

    def _eval_hvp(self, x: FloatArray, v: FloatArray) -> FloatArray:
        return returned_vector(self._hvp(x, v), "hvp(x, v)", x.size)

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
        return returned_scalar(self._f(xv), "f(x)")

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
        return self.eval_hess_rows(xv, idx)

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
            return returned_matrix(self._grad_batch(Xm), "grad_batch(X)", (m, n))
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
        :func:`scipy.optimize.check_grad`. A mismatch seen at the larger steps stands when
        a smaller step's rounding alone hides it (errors of 0.1 % are caught); the price is
        that a feature of ``f`` only some hundred ulps of ``f`` tall, which no step
        resolves, can read as a mismatch of a correct derivative. Where ``f`` is large
        beside its variation (``f + 1e12``), its rounding hides gradient errors:
        ``grad_resolution`` of the result says how finely the gradient was checked, and a
        Hessian that disagrees with the gradient is then blamed on the gradient when
        wider steps of ``f`` show its error, on the Hessian when they check the gradient
        finely, and on neither alone (``"gradient or Hessian"``) when they cannot tell.

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
        return derivative_check(
            self, x, n_directions=n_directions, tol=tol, seed=seed, dense=dense, hessian=hessian
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
        if self._quadratic is None and self._quadratic_factory is not None:
            data = self._quadratic_factory()
            # (a factory may decline: its quadratic would not stand for f accurately)
            self._quadratic_factory = None
            if data is not None:
                H, b, c = data
                self._quadratic = (readonly(H), readonly(b), float(c))
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
        if self._minimizer is None and self._minimizer_factory is not None:
            found = self._minimizer_factory()
            self._minimizer_factory = None
            if found is not None:
                self._minimizer = readonly(found)
        return self._minimizer

    def __repr__(self) -> str:
        quadratic = (
            self._quadratic is not None
            or self._separable is not None
            or self._quadratic_factory is not None
        )
        kind = "quadratic" if quadratic else "general"
        return (
            f"Objective(name={self.name!r}, n={self.n}, kind={kind!r}, hessian={self._hess_kind!r})"
        )

    # ---- the driver interface: inputs validated by the caller ------------------------
    # For drivers that validate their own inputs once and check every result for
    # finiteness themselves (the scheme driver: `schemes.base`; the event path's sliding
    # modes: `systems`; the continuation path's products). The callables of this
    # package's constructors (trusted, see `_build`) are then called without per-call
    # validation or copies; user callables still go through the validating methods (a
    # user `grad` may modify its argument in place or return an array it reuses).

    def eval_grad_rows(self, X: FloatArray) -> FloatArray:
        """Gradients at the rows of ``X``, for a driver that validated ``X`` itself.

        Parameters
        ----------
        X : (m, n) ndarray
            Finite float64 points, one per row (not checked).

        Returns
        -------
        (m, n) ndarray
            For a trusted objective (the package's constructors) the callables' result,
            unchecked: it may hold NaN or inf and its shape is the caller's to check. For
            user callables the result of the validating :meth:`grad` / :meth:`grad_batch`.

        Examples
        --------
        >>> import numpy as np
        >>> from filippov.objectives import slope
        >>> slope(a=0.5).eval_grad_rows(np.array([[0.0, 0.0], [-1.5, -3.0]]))
        array([[0., 3.],
               [0., 0.]])
        """
        if not self._trusted:
            return self.grad(X[0]).reshape(1, -1) if X.shape[0] == 1 else self.grad_batch(X)
        if X.shape[0] == 1:
            return np.asarray(self._grad(X[0]), dtype=np.float64).reshape(1, -1)
        if self._grad_batch is not None:
            return np.asarray(self._grad_batch(X), dtype=np.float64)
        return np.stack([np.asarray(self._grad(x), dtype=np.float64) for x in X])

    @property
    def f_rows_vectorized(self) -> bool:
        """Whether :meth:`eval_f_rows` takes the values of several rows in one call of the
        objective's own formula (library objectives and expressions), rather than one call
        per row.

        Examples
        --------
        >>> from filippov.objectives import Objective
        >>> Objective.from_expr("(x - 3)**2", ["x"]).f_rows_vectorized
        True
        """
        return self._trusted and self._f_batch is not None

    def eval_f_rows(self, X: FloatArray) -> FloatArray:
        """Objective values at the rows of ``X``, for a driver that validated ``X`` itself.

        Like :meth:`eval_grad_rows`: shape ``(m,)``; unchecked (possibly NaN or inf) for a
        trusted objective, through the validating :meth:`f` for user callables.

        Examples
        --------
        >>> import numpy as np
        >>> from filippov.objectives import slope
        >>> slope(a=0.5).eval_f_rows(np.array([[0.0, 0.0], [-1.5, -3.0]]))
        array([4.5, 0. ])
        """
        if self._trusted and self._f_batch is not None and X.shape[0] > 1:
            return np.asarray(self._f_batch(X), dtype=np.float64).reshape(X.shape[0])
        f = self._f if self._trusted else self.f
        return np.array([float(f(x)) for x in X], dtype=np.float64)

    def eval_grad(self, x: FloatArray) -> FloatArray:
        """Gradient at one point, for a caller that validated ``x`` itself.

        Like :meth:`eval_grad_rows` for one finite float64 ``x`` of length ``n``: the
        callable's result unchecked for a trusted objective, :meth:`grad` otherwise.

        Examples
        --------
        >>> import numpy as np
        >>> from filippov.objectives import slope
        >>> slope(a=0.5).eval_grad(np.zeros(2))
        array([0., 3.])
        """
        if not self._trusted:
            return self.grad(x)
        return np.asarray(self._grad(x), dtype=np.float64)

    def eval_hvp(self, x: FloatArray, v: FloatArray) -> FloatArray:
        """Hessian-vector product, for a caller that validated ``x`` and ``v`` itself.

        Like :meth:`eval_grad`: the callable's result unchecked (possibly NaN or inf) for
        a trusted objective, :meth:`hvp` otherwise.

        Examples
        --------
        >>> import numpy as np
        >>> from filippov.objectives import slope
        >>> slope(a=0.5).eval_hvp(np.zeros(2), np.array([1.0, 0.0]))
        array([ 1. , -0.5])
        """
        if not self._trusted:
            return self.hvp(x, v)
        return np.asarray(self._hvp(x, v), dtype=np.float64)

    def eval_hess_rows(self, x: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        """:meth:`hess_rows` for a caller that validated ``x`` and ``rows`` itself.

        The event path's sliding modes call it in every right-hand side. ``x`` must be a
        finite float64 vector of length ``n`` and ``rows`` an ``intp`` array of indices in
        ``[0, n)`` (neither is checked); the result is checked (shape and finiteness).

        Examples
        --------
        >>> import numpy as np
        >>> from filippov.objectives import slope
        >>> slope(a=0.5).eval_hess_rows(np.zeros(2), np.array([1], dtype=np.intp))
        array([[-0.5 ,  1.25]])
        """
        if self._hess_rows is None:
            H = self._hess(x) if self._hess_kind == "exact" else None
            if H is not None and is_operator(H):
                return returned_matrix(
                    operator_rows(H, rows, x.size), "hess_rows(x, rows)", (rows.size, x.size)
                )
            return (
                self._eval_hess(x)[rows]
                if H is None
                else returned_matrix(H, "hess(x)", (x.size, x.size))[rows]
            )
        R = self._hess_rows(x, rows)
        if type(R) is np.ndarray and R.dtype == np.float64 and R.shape == (rows.size, x.size):
            # `_hess_rows` is set by library objectives only, which return fresh arrays:
            # checked for finiteness without the defensive copy of `returned_matrix`.
            return require_finite(R, "hess_rows(x, rows)")
        return returned_matrix(R, "hess_rows(x, rows)", (rows.size, x.size))

    def eval_hess_block(self, x: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        """The square block ``∇²f(x)[rows][:, rows]``, shape ``(k, k)``, for a caller that
        validated ``x`` and ``rows`` as for :meth:`eval_hess_rows`.

        What the continuation path factors for its sliding coordinates. Taking it as
        ``hess_rows(x, rows)[:, rows]`` forms ``k × n`` rows first: for a sparse or
        operator Hessian, or a model of sparse data, that is ``n/k`` times the block's
        memory (a dense ``n × n`` array when every coordinate slides). Objectives that
        can, form the block alone; a sparse Hessian is sliced as sparse, a
        ``LinearOperator`` is multiplied by unit vectors a chunk at a time.

        Examples
        --------
        >>> import numpy as np
        >>> from filippov.objectives import slope
        >>> slope(a=0.5).eval_hess_block(np.zeros(2), np.array([1], dtype=np.intp))
        array([[1.25]])
        """
        k = rows.size
        if self._hess_block is not None:
            return returned_matrix(self._hess_block(x, rows), "hess_block(x, rows)", (k, k))
        if self._hess_rows is None and self._hess_kind == "exact":
            H = self._hess(x)
            if is_operator(H):
                return returned_matrix(operator_block(H, rows, x.size), "hess(x)", (k, k))
            return returned_matrix(H, "hess(x)", (x.size, x.size))[np.ix_(rows, rows)]
        return self.eval_hess_rows(x, rows)[:, rows]

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
        cf = finite_scalar(c, "c")
        name = check_name(name)
        return cls._build(
            f=lambda x: 0.5 * float(x @ (Hm @ x)) + float(bv @ x) + cf,
            grad=lambda x: Hm @ x + bv,
            hess=lambda x: Hm.copy(),
            hvp=lambda x, v: Hm @ v,
            grad_batch=lambda X: X @ Hm + bv,
            n=n,
            name=name,
            quadratic=(Hm, bv, cf),
            minimizer=pd_solve(Hm, -bv),
        )._with_recipe(Objective.quadratic, Hm, bv, cf, name=name)

    from_expr = classmethod(expression.from_expr)
    from_jax = classmethod(_jax.from_jax)


def rebuild_from_recipe(
    constructor: Callable[..., Objective], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Objective:
    """Unpickling: build the objective again from its recipe (see ``__reduce_ex__``)."""
    return constructor(*args, **kwargs)
