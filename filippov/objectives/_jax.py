"""Objectives from JAX functions: :meth:`Objective.from_jax` and its compiled callables.

JAX autodiff, jit-compiled, float64. A loss written in JAX, ``fun(x) -> scalar`` for ``x`` of shape ``(n,)``, gives every callable
an :class:`~filippov.objectives.Objective` carries:

* ``f`` and ``grad`` (reverse mode, ``jax.grad``);
* ``hvp(x, v) = ∇²f(x) v``, forward-over-reverse (``jax.jvp`` of ``jax.grad``): one
  product costs a few gradients, whatever ``n``;
* ``hess_rows(x, rows)``, the rows the event path's sliding modes ask for: without a dense
  Hessian, a batch of HVPs along unit vectors (``jax.vmap``; the Hessian is symmetric, so
  ``∇²f(x) e_i`` is row ``i``), padded to a power of two so that a run with sliding sets of
  many sizes compiles ``log2(n)`` programs, not ``n``; with one, its rows;
* ``grad_batch(X)`` (``jax.vmap`` of the gradient) for the scheme driver;
* for small ``n`` only, the dense Hessian (``jax.hessian``). Without it the Objective
  assembles ``hess(x)`` from ``n`` HVPs when something needs the whole matrix.

Every callable takes and returns numpy float64 arrays (fresh copies). JAX is imported by
:func:`jax_callables` only, when ``from_jax`` is called: ``import filippov`` never imports
JAX. :func:`from_jax` is bound to the class as :meth:`Objective.from_jax`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from filippov._validation import FloatArray

from ._checks import check_callable, check_dimension, check_name

if TYPE_CHECKING:
    from .base import Objective

__all__ = ["DENSE_HESSIAN_MAX_N", "JaxCallables", "from_jax", "jax_callables"]

#: ``from_jax`` builds the dense Hessian (``jax.hessian``) up to this dimension by default;
#: above it second derivatives come from Hessian-vector products only.
DENSE_HESSIAN_MAX_N = 100


@dataclass(frozen=True)
class JaxCallables:
    """The numpy-facing callables compiled from one JAX function (see the module doc)."""

    f: Callable[[FloatArray], float]
    grad: Callable[[FloatArray], FloatArray]
    hvp: Callable[[FloatArray, FloatArray], FloatArray]
    hess_rows: Callable[[FloatArray, NDArray[np.intp]], FloatArray]
    grad_batch: Callable[[FloatArray], FloatArray]
    hess: Callable[[FloatArray], FloatArray] | None


def _import_jax() -> Any:
    try:
        import jax
    except ImportError:
        raise ImportError(
            "Objective.from_jax needs JAX, which is not installed: "
            "pip install 'filippov[jax]' (or pip install jax)."
        ) from None
    # float64 everywhere (JAX computes in float32 by default): a process-wide JAX setting,
    # documented in Objective.from_jax.
    jax.config.update("jax_enable_x64", True)
    return jax


def _as_f64(value: Any) -> FloatArray:
    # A fresh, writable float64 numpy array (np.asarray of a JAX array is a read-only view
    # of its buffer, and the scheme driver may keep what it is given).
    return np.array(value, dtype=np.float64)


def _bucket(k: int, n: int) -> int:
    """The padded batch size for ``k`` rows: the next power of two, at most ``n``."""
    return min(n, 1 << max(0, (k - 1).bit_length()))


def jax_callables(fun: Callable[..., Any], *, dense_hessian: bool) -> JaxCallables:
    """Compile ``fun``'s value, gradient, HVPs and (when asked) dense Hessian with JAX.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> scalar`` for a JAX array ``x`` of shape ``(n,)``, written with
        ``jax.numpy``.
    dense_hessian : bool
        Also compile ``jax.hessian(fun)``.

    Returns
    -------
    JaxCallables
    """
    jax = _import_jax()
    jnp = jax.numpy

    grad_fun = jax.grad(fun)

    def hvp_fun(x: Any, v: Any) -> Any:
        return jax.jvp(grad_fun, (x,), (v,))[1]

    value_c = jax.jit(fun)
    grad_c = jax.jit(grad_fun)
    hvp_c = jax.jit(hvp_fun)
    # Products along the rows of V at once: (k, n) -> (k, n).
    hvps_c = jax.jit(jax.vmap(hvp_fun, in_axes=(None, 0)))
    grad_batch_c = jax.jit(jax.vmap(grad_fun))
    hess_c = jax.jit(jax.hessian(fun)) if dense_hessian else None

    checked: list[tuple[int, ...]] = []

    def require_scalar(x: FloatArray) -> None:
        # Why before the first call: a non-scalar ``fun`` otherwise fails inside JAX
        # ("Only scalar arrays can be converted...", "Gradient only defined for
        # scalar-output functions"), which does not say which argument is wrong.
        shape = tuple(np.shape(x))[-1:]
        if shape in checked:
            return
        out = jax.eval_shape(fun, jax.ShapeDtypeStruct(shape, jnp.float64))
        out_shape = getattr(out, "shape", None)
        if out_shape != ():
            raise ValueError(
                "`fun` must return a scalar (shape ()) for an input of shape "
                f"{shape}. Got {'a non-array' if out_shape is None else 'shape'} "
                f"{out if out_shape is None else tuple(out_shape)} instead."
            )
        checked.append(shape)

    def f(x: FloatArray) -> float:
        require_scalar(x)
        return float(value_c(x))

    def grad(x: FloatArray) -> FloatArray:
        require_scalar(x)
        return _as_f64(grad_c(x))

    def hvp(x: FloatArray, v: FloatArray) -> FloatArray:
        require_scalar(x)
        return _as_f64(hvp_c(x, v))

    def hess_rows(x: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        require_scalar(x)
        n, k = x.shape[0], rows.shape[0]
        if k == 0:
            return np.zeros((0, n))
        if hess_c is not None:  # small n: one compiled program, sliced in numpy
            return _as_f64(hess_c(x))[rows]
        # Each distinct row once (the batch is padded to at most n rows: more rows than n,
        # repeats asked for, overflowed it), handed out in the order asked for.
        distinct, where = np.unique(rows, return_inverse=True)
        units = np.zeros((_bucket(distinct.size, n), n))
        units[np.arange(distinct.size), distinct] = 1.0
        # (Sliced as a numpy array: slicing the JAX array compiles a program per shape.)
        return _as_f64(hvps_c(x, jnp.asarray(units)))[where]

    def grad_batch(X: FloatArray) -> FloatArray:
        require_scalar(X)
        return _as_f64(grad_batch_c(X))

    hess: Callable[[FloatArray], FloatArray] | None = None
    if hess_c is not None:
        dense = hess_c

        def hess(x: FloatArray) -> FloatArray:
            require_scalar(x)
            return _as_f64(dense(x))

    return JaxCallables(
        f=f, grad=grad, hvp=hvp, hess_rows=hess_rows, grad_batch=grad_batch, hess=hess
    )


def from_jax(
    cls: type[Objective],
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
        ``filippov.objectives._jax.DENSE_HESSIAN_MAX_N`` (100).
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
    check_callable(fun, "fun")
    n_checked = check_dimension(n)
    if dense_hessian is None:
        dense = n_checked is not None and n_checked <= DENSE_HESSIAN_MAX_N
    elif isinstance(dense_hessian, (bool, np.bool_)):
        dense = bool(dense_hessian)
    else:
        raise TypeError(
            f"`dense_hessian` must be True, False or None. Got {dense_hessian!r} instead."
        )
    label = check_name(getattr(fun, "__name__", "jax objective") if name is None else name)
    parts = jax_callables(fun, dense_hessian=dense)
    obj = cls(parts.f, parts.grad, parts.hess, hvp=parts.hvp, n=n_checked, name=label)
    obj._grad_batch = parts.grad_batch
    obj._hess_rows = parts.hess_rows
    obj._trusted = True  # fresh float64 arrays, inputs never modified (jax_callables)
    return obj._with_recipe(cls.from_jax, fun, n_checked, dense_hessian=dense_hessian, name=label)
