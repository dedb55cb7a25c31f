"""The problem library: the test objectives of the seed papers' experiments.

Quadratics (:func:`separable_quadratic`, :func:`rotated_quadratic`, :func:`slope`), two
smooth non-quadratic losses (:func:`ridge_logistic`, :func:`smooth_max`) and generalized
linear models with a ridge term (:func:`linear_model`, with the losses of :data:`GLM_LOSSES`
or a :class:`GLMLoss` of the user's); the network
objective is in :mod:`filippov.objectives.mlp`. Each constructor records its recipe (its
validated arguments), so its objective pickles as the recipe and is rebuilt when loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from filippov._lazy import LazyModule
from filippov._validation import (
    FloatArray,
    as_matrix,
    as_vector,
    require_finite,
    require_positive,
    user_function,
)

# (The bodies below use the names these had when the library was part of one module.)
from ._checks import check_name as _check_name
from ._checks import finite_scalar as _finite_scalar
from ._checks import nonnegative as _nonnegative
from .base import Objective

if TYPE_CHECKING:
    import scipy.linalg
    import scipy.sparse
    import scipy.sparse.linalg
    import scipy.special
else:
    scipy = LazyModule("scipy")  # its submodules load on attribute access

__all__ = [
    "GLM_LOSSES",
    "GLMLoss",
    "linear_model",
    "ridge_logistic",
    "rotated_quadratic",
    "separable_quadratic",
    "slope",
    "smooth_max",
]


def _data_matrix(A: ArrayLike) -> FloatArray:
    """The data ``A`` of a loss over samples: a finite matrix with at least one row and
    one column (else ``ValueError``)."""
    Am = as_matrix(A, "A")
    if Am.shape[0] == 0 or Am.shape[1] == 0:
        raise ValueError(
            f"`A` must have at least one row and column. Got shape {Am.shape} instead."
        )
    return Am


def _kept_at_last_point(
    compute: Callable[[FloatArray], FloatArray],
) -> Callable[[FloatArray], FloatArray]:
    """``compute(x)``, kept for the last ``x``: solvers take several products at one point
    (a conjugate-gradient loop; Hessian rows after a gradient), and recomputing what
    depends on ``x`` alone (a loss's weights, a softmax) costs a pass over the data each
    time. Keyed by the bytes of ``x``, not the array (callers move arrays in place); one
    tuple, replaced whole, so that threads never see a value under another ``x``'s key.
    The value is read-only (it is handed out again)."""
    last: list[tuple[bytes, FloatArray]] = [(b"", np.zeros(0))]

    def kept(x: FloatArray) -> FloatArray:
        key = np.asarray(x, dtype=float).tobytes()
        kept_key, value = last[0]
        if kept_key == key:
            return value
        value = np.asarray(compute(x))
        value.flags.writeable = False
        last[0] = (key, value)
        return value

    return kept


def _sparse_data_matrix(A: Any) -> scipy.sparse.csr_array:
    """A scipy.sparse data ``A`` as a float64 CSR array (a copy), checked as
    :func:`_data_matrix` checks a dense one, on its stored entries alone: ``A`` is never
    made dense."""
    if A.ndim != 2:
        raise ValueError(
            f"`A` must be a 2-D matrix. Got a sparse array of shape {A.shape} instead."
        )
    if A.dtype.kind not in "biuf":
        raise TypeError(
            f"`A` must be an array of real numbers. Got a sparse array of dtype {A.dtype} instead."
        )
    if A.shape[0] == 0 or A.shape[1] == 0:
        raise ValueError(f"`A` must have at least one row and column. Got shape {A.shape} instead.")
    Ac = scipy.sparse.csr_array(A, dtype=np.float64, copy=True)
    Ac.sum_duplicates()  # (canonical: sorted indices, one entry per position)
    require_finite(Ac.data, "A")
    return Ac


def _mean_over_samples(total: Callable[[FloatArray], Any], w: FloatArray, m: int) -> Any:
    """``total(w) / m`` for a ``total`` linear in the per-sample weights ``w``: a sum over
    the samples (``np.sum``, ``w @ A``, ``Aᵀ diag(w) A``) made a mean.

    The sum is taken first, as it always was, and ``w / m`` summed instead only when that
    overflows: a Poisson model's ``e^z`` near ``z = 709`` has a finite mean whose sum is
    ``inf``, and ``f``, ``grad`` and ``hess`` refused such a point while ``hess_rows``
    (which divides first) returned finite rows. Where the mean itself overflows both give
    ``inf``, which the objective's finiteness checks then name (numpy's overflow warnings
    are silenced: they would only repeat it)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = total(w) / m
        if np.isfinite(out).all():
            return out
        return total(w / m)


#: Largest number of entries of an (m, k) block of ``A V`` that a sparse-data Hessian's
#: product with a matrix ``V`` forms at once (2 MB): its columns are taken in chunks.
_HESSIAN_BLOCK = 1 << 18


def _sparse_glm(
    B: scipy.sparse.csr_array,
    lam: float,
    value: Callable[[FloatArray], FloatArray],
    dloss: Callable[[FloatArray], FloatArray],
    d2loss: Callable[[FloatArray], FloatArray],
    name: str,
) -> Objective:
    """``f(x) = mean ℓ(B x) + (λ/2)‖x‖²`` on sparse data ``B`` (CSR), the per-sample loss
    and its derivatives given as functions of ``z = B x`` alone (``(m,) -> (m,)``).

    Every product is a sparse one, ``O(nnz(B))``: ``B v`` on the CSR rows and ``Bᵀ r`` on a
    CSR copy of ``Bᵀ`` (whose rows are also the Hessian rows' factors). The Hessian
    ``Bᵀ diag(ℓ''/m) B + λI`` is returned as a ``LinearOperator`` (of products only:
    ``Objective.hess`` makes it dense when asked, ``hvp`` and ``hess_rows`` never do), and
    no ``_linear_model`` is exposed (its users keep a dense copy of ``B``): the data is
    ``_sparse_linear_model`` instead, whose sparse columns the continuation path's
    products take (see ``_SparseLinearModel`` there).
    """
    m, n = B.shape
    Bt = B.T.tocsr()

    def f(x: FloatArray) -> float:
        return float(_mean_over_samples(np.sum, value(B @ x), m)) + 0.5 * lam * float(x @ x)

    def back(r: FloatArray) -> FloatArray:  # Bᵀ r
        return np.asarray(Bt @ r)

    def grad(x: FloatArray) -> FloatArray:
        return _mean_over_samples(back, dloss(B @ x), m) + lam * x

    weights = _kept_at_last_point(lambda x: d2loss(B @ x))  # ℓ''(B x)

    def hvp(x: FloatArray, v: FloatArray) -> FloatArray:
        Bv = B @ v
        return _mean_over_samples(lambda w: back(w * Bv), weights(x), m) + lam * v

    def hess(x: FloatArray) -> scipy.sparse.linalg.LinearOperator:
        w = weights(x)  # (never modified in place: the operator may keep it)

        def matvec(v: Any) -> FloatArray:
            vv = np.asarray(v, dtype=np.float64).reshape(-1)
            Bv = B @ vv
            return _mean_over_samples(lambda u: back(u * Bv), w, m) + lam * vv

        def matmat(V: Any) -> FloatArray:
            Vm = np.asarray(V, dtype=np.float64)
            out = np.empty((n, Vm.shape[1]))
            # Columns in chunks: B V is (m, k) and dense, k = n for a whole Hessian.
            step = max(1, _HESSIAN_BLOCK // m)
            for j in range(0, Vm.shape[1], step):
                Vj = Vm[:, j : j + step]
                out[:, j : j + step] = _mean_over_samples(_block(B @ Vj), w, m) + lam * Vj
            return out

        def _block(BV: FloatArray) -> Callable[[FloatArray], FloatArray]:
            return lambda u: back(u[:, None] * BV)  # Bᵀ diag(u) B V

        return scipy.sparse.linalg.LinearOperator(
            (n, n),
            matvec=matvec,
            rmatvec=matvec,
            matmat=matmat,
            rmatmat=matmat,
            dtype=np.float64,
        )

    def grad_batch(X: FloatArray) -> FloatArray:
        if X.ndim == 1:
            return grad(X)
        Z = np.asarray(B @ X.T)  # (m, k): one column per point
        # (column by column: a loss of the user's need only take vectors)
        D = np.empty_like(Z)
        for i in range(Z.shape[1]):
            D[:, i] = dloss(Z[:, i])
        return _mean_over_samples(back, D, m).T + lam * X

    def weighted_rows(x: FloatArray, rows: NDArray[np.intp], right: Any) -> FloatArray:
        # mean_i w_i B_rows,iᵀ right_i: the rows `rows` of Bᵀ, their entries weighted (a
        # new array: Bt itself is never written), times `right` (B itself, or its columns
        # `rows`), a sparse product made dense only as the result.
        Bt_rows = Bt[rows]

        def product(w: FloatArray) -> FloatArray:
            weighted = scipy.sparse.csr_array(
                (Bt_rows.data * w[Bt_rows.indices], Bt_rows.indices, Bt_rows.indptr),
                shape=Bt_rows.shape,
            )
            return np.asarray((weighted @ right(Bt_rows)).toarray())

        return np.asarray(_mean_over_samples(product, weights(x), m))

    def hess_rows(x: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        # Rows of Bᵀ diag(w) B + λI: (k, n)
        R = weighted_rows(x, rows, lambda _: B)
        R[np.arange(rows.size), rows] += lam
        return R

    def hess_block(x: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        # The block alone, (k, k): against the columns `rows` of B (the rows above would
        # be (k, n): the continuation path's blocks only need this)
        R = weighted_rows(x, rows, lambda Bt_rows: Bt_rows.T.tocsr())
        R[np.diag_indices(rows.size)] += lam
        return R

    obj = Objective._build(
        f=f, grad=grad, hess=hess, hvp=hvp, grad_batch=grad_batch, n=n, name=name
    )
    obj._hess_rows = hess_rows
    obj._hess_block = hess_block
    obj._sparse_linear_model = (B, lam, dloss, d2loss)
    return obj


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
        f_batch=lambda X: 0.5 * ((X - cv) ** 2 @ lv),
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

    ``A`` may be any scipy.sparse matrix or array (text features: many columns, few
    nonzeros): it is kept in CSR form, with a CSR copy of ``Aᵀ``, and never made dense.
    Every product is then a sparse one, ``O(nnz(A))``; the Hessian callable returns a
    ``scipy.sparse.linalg.LinearOperator`` (``hess(x)`` makes it dense only when asked
    for; ``hvp`` and ``hess_rows`` never do), and :func:`filippov.solve`'s continuation
    path takes the objective's products instead of its dense column products.

    Parameters
    ----------
    A : (m, n) array_like or scipy.sparse matrix/array
        Data, one sample ``a_i`` per row (finite).
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

    The same model on sparse data:

    >>> import scipy.sparse as sp
    >>> sparse = ridge_logistic(sp.csr_array([[1.0, 0.0], [0.0, 1.0]]), [1, 0], lam=0.1)
    >>> sparse.grad([0.0, 0.0])
    array([-0.25,  0.25])
    >>> sparse.hvp([0.0, 0.0], [1.0, 0.0])             # (¼·½ + 0.1, 0)
    array([0.225, 0.   ])
    """
    sparse_A = _sparse_data_matrix(A) if scipy.sparse.issparse(A) else None
    Am = _data_matrix(A) if sparse_A is None else sparse_A
    m, n = Am.shape
    yv = as_vector(y, "y", m)
    labels = set(np.unique(yv).tolist())
    if labels <= {0.0, 1.0}:
        yv = 2.0 * yv - 1.0
    elif not labels <= {-1.0, 1.0}:
        raise ValueError(
            f"`y` must hold labels in {{-1, 1}} or {{0, 1}}. Got values {sorted(labels)} instead."
        )
    lam_f = _nonnegative(lam, "lam")
    label = f"ridge_logistic(m={m}, n={n}, lam={lam_f:g})" if name is None else _check_name(name)
    if sparse_A is not None:
        # rows y_i a_i: the stored entries of row i scaled by y_i
        yB = sparse_A.copy()
        yB.data *= np.repeat(yv, np.diff(sparse_A.indptr))
        obj = _sparse_glm(yB, lam_f, _logistic_of_margin, _logistic_dloss, _logistic_d2loss, label)
        obj._loss_curvature_max = 0.25  # (as the dense model's: ℓ'' ≤ 1/4)
        return obj._with_recipe(ridge_logistic, sparse_A, yv, lam_f, name=obj.name)
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

    weights = _kept_at_last_point(lambda x: _logistic_d2loss(yA @ x))

    def hvp(x: FloatArray, v: FloatArray) -> FloatArray:
        return Am.T @ (weights(x) * (Am @ v)) / m + lam_f * v

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
        name=label,
    )
    obj._hess_rows = hess_rows
    # f = mean ℓ(yA x) + (λ/2)‖x‖² with ℓ(z) = log(1 + e^{−z}): the continuation path takes
    # its products on the sliding columns of yA only (ℓ' = −expit(−z), ℓ'' = expit·expit(−·)).
    obj._linear_model = (yA, lam_f, _logistic_dloss, _logistic_d2loss, _logistic_d3loss)
    obj._loss_curvature_max = 0.25  # (ℓ'' = p(1 − p) ≤ 1/4)
    return obj._with_recipe(ridge_logistic, Am, yv, lam_f, name=obj.name)


def _logistic_of_margin(z: FloatArray) -> FloatArray:
    """The logistic loss ``ℓ(z) = log(1 + e^{−z})`` of the margins ``z``."""
    return np.logaddexp(0.0, -z)


def _logistic_dloss(z: FloatArray) -> FloatArray:
    """``ℓ'(z)`` of the logistic loss ``ℓ(z) = log(1 + e^{−z})``."""
    return -scipy.special.expit(-z)


def _logistic_d2loss(z: FloatArray) -> FloatArray:
    """``ℓ''(z)`` of the logistic loss."""
    return scipy.special.expit(z) * scipy.special.expit(-z)


def _logistic_d3loss(z: FloatArray) -> FloatArray:
    """The third derivative of the logistic loss: ``pq(p − q)`` with ``p = expit(−z)``,
    ``q = 1 − p``. It is odd in ``z``, so with labels ``y = ±1`` the loss ``ℓ(yz)`` has
    the same third derivative in ``z`` (``y³ ℓ₃(yz) = ℓ₃(z)``)."""
    p = scipy.special.expit(-z)
    q = scipy.special.expit(z)
    # (p − q = −tanh(z/2): the difference of two numbers near ½ kept only the rounding of
    # ½ for small |z|, 9e-5 relative error at z = 1e-12 and 0 at z = 1e-20)
    return -p * q * np.tanh(0.5 * z)


@dataclass(frozen=True)
class GLMLoss:
    r"""A smooth per-sample loss ``ℓ(z, y)`` of a linear model, with its first two
    derivatives in ``z``: each callable takes the arrays ``z`` (the samples' linear
    predictors ``a_iᵀx``) and ``y`` (their targets), both of shape ``(m,)``, and returns an
    array of shape ``(m,)``.

    The loss must be twice continuously differentiable in ``z`` (the objective must be C²;
    :func:`filippov.solve` checks the derivatives against finite differences up front).
    Module-level functions pickle with the objective; lambdas do not.

    Attributes
    ----------
    value, first, second : callable
        ``ℓ(z, y)``, ``∂ℓ/∂z`` and ``∂²ℓ/∂z²``, elementwise.
    name : str
        Shown in the objective's name.
    check_targets : callable, optional
        ``y -> None`` raising ``ValueError`` for targets the loss does not accept.

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.objectives import GLMLoss, linear_model
    >>> cubic_soft = GLMLoss(                       # ℓ(z, y) = log(1 + (z − y)²)
    ...     value=lambda z, y: np.log1p((z - y) ** 2),
    ...     first=lambda z, y: 2 * (z - y) / (1 + (z - y) ** 2),
    ...     second=lambda z, y: 2 * (1 - (z - y) ** 2) / (1 + (z - y) ** 2) ** 2,
    ...     name="cauchy",
    ... )
    >>> obj = linear_model([[1.0, 0.0], [0.0, 2.0]], [0.0, 1.0], 1.0, loss=cubic_soft)
    >>> obj.grad([0.0, 0.0])
    array([ 0., -1.])
    """

    value: Callable[[FloatArray, FloatArray], Any]
    first: Callable[[FloatArray, FloatArray], Any]
    second: Callable[[FloatArray, FloatArray], Any]
    name: str = "custom"
    check_targets: Callable[[FloatArray], None] | None = None

    def __post_init__(self) -> None:
        for field in ("value", "first", "second"):
            if not callable(getattr(self, field)):
                raise TypeError(
                    f"GLMLoss `{field}` must be a callable (z, y) -> array. Got "
                    f"{type(getattr(self, field)).__name__} instead."
                )
        if self.check_targets is not None and not callable(self.check_targets):
            raise TypeError(
                "GLMLoss `check_targets` must be a callable y -> None or None. Got "
                f"{type(self.check_targets).__name__} instead."
            )
        _check_name(self.name)


def _logistic_value(z: FloatArray, y: FloatArray) -> FloatArray:
    return np.logaddexp(0.0, -y * z)


def _logistic_first(z: FloatArray, y: FloatArray) -> FloatArray:
    return -y * scipy.special.expit(-y * z)


def _logistic_second(z: FloatArray, y: FloatArray) -> FloatArray:
    # (y² = 1 for labels ±1)
    return scipy.special.expit(z) * scipy.special.expit(-z)


def _labels(y: FloatArray) -> None:
    if not set(np.unique(y).tolist()) <= {-1.0, 1.0}:
        raise ValueError(
            f"`y` must hold labels in {{-1, 1}} or {{0, 1}} for the logistic loss. Got "
            f"values {sorted(set(np.unique(y).tolist()))[:6]} instead."
        )


# (e^z overflows to inf beyond z ≈ 709: the objective's finiteness checks then name the
# problem, so numpy's overflow warning is silenced rather than raised as well.)
def _poisson_value(z: FloatArray, y: FloatArray) -> FloatArray:
    with np.errstate(over="ignore"):
        return np.exp(z) - y * z


def _poisson_first(z: FloatArray, y: FloatArray) -> FloatArray:
    with np.errstate(over="ignore"):
        return np.exp(z) - y


def _poisson_second(z: FloatArray, y: FloatArray) -> FloatArray:
    with np.errstate(over="ignore"):
        return np.exp(z)


def _counts(y: FloatArray) -> None:
    if (y < 0).any():
        raise ValueError(
            f"`y` must hold nonnegative counts for the Poisson loss. Got {float(y.min())!r} "
            "instead."
        )


def _squared_value(z: FloatArray, y: FloatArray) -> FloatArray:
    return 0.5 * (z - y) ** 2


def _squared_first(z: FloatArray, y: FloatArray) -> FloatArray:
    return z - y


def _squared_second(z: FloatArray, y: FloatArray) -> FloatArray:
    return np.ones_like(z)


def _logcosh_value(z: FloatArray, y: FloatArray) -> FloatArray:
    r = z - y
    # log cosh r = log(e^r + e^−r) − log 2, without overflow for large |r|; for |r| < 1
    # log1p(2 sinh²(r/2)) (cosh r − 1 = 2 sinh²(r/2)), since the former cancels to the
    # rounding of log 2 near a perfect fit (0 for |r| ≤ 1e-9, where the loss is r²/2).
    small = np.log1p(2.0 * np.sinh(0.5 * np.clip(r, -1.0, 1.0)) ** 2)
    return np.where(np.abs(r) < 1.0, small, np.logaddexp(r, -r) - np.log(2.0))


def _logcosh_first(z: FloatArray, y: FloatArray) -> FloatArray:
    return np.tanh(z - y)


def _logcosh_second(z: FloatArray, y: FloatArray) -> FloatArray:
    # sech² r = 4a/(1 + a)² with a = e^{−2|r|}: no overflow, and accurate in the tails
    # (1 − tanh² r cancels to 0 there).
    a = np.exp(-2.0 * np.abs(z - y))
    return 4.0 * a / (1.0 + a) ** 2


def _logcosh_third(z: FloatArray, y: FloatArray) -> FloatArray:
    # −2 sech² r tanh r, with sech² r as in `_logcosh_second`
    return -2.0 * _logcosh_second(z, y) * np.tanh(z - y)


def _poisson_third(z: FloatArray, y: FloatArray) -> FloatArray:
    with np.errstate(over="ignore"):
        return np.exp(z)


def _squared_third(z: FloatArray, y: FloatArray) -> FloatArray:
    return np.zeros_like(z)


def _logistic_third(z: FloatArray, y: FloatArray) -> FloatArray:
    return _logistic_d3loss(z)  # (labels ±1: see `_logistic_d3loss`)


#: The losses :func:`linear_model` knows by name: ``"logistic"`` (labels ±1 or 0/1,
#: ``ℓ = log(1 + e^{−yz})``), ``"poisson"`` (counts ``y ≥ 0``, ``ℓ = e^z − yz``, the log
#: link), ``"squared"`` (``ℓ = ½(z − y)²``: ridge regression) and ``"logcosh"`` (robust
#: regression, ``ℓ = log cosh(z − y)``).
GLM_LOSSES: dict[str, GLMLoss] = {
    "logistic": GLMLoss(
        _logistic_value, _logistic_first, _logistic_second, "logistic", check_targets=_labels
    ),
    "poisson": GLMLoss(
        _poisson_value, _poisson_first, _poisson_second, "poisson", check_targets=_counts
    ),
    "squared": GLMLoss(_squared_value, _squared_first, _squared_second, "squared"),
    "logcosh": GLMLoss(_logcosh_value, _logcosh_first, _logcosh_second, "logcosh"),
}

#: Bounds on the second derivative in ``z`` of the named losses, everywhere (Poisson's
#: ``e^z`` has none): ``ℓ''`` of the logistic loss is ``p(1 − p) ≤ 1/4``, of log-cosh
#: ``sech² ≤ 1``.
_CURVATURE_BOUNDS: dict[Any, float] = {
    _logistic_second: 0.25,
    _squared_second: 1.0,
    _logcosh_second: 1.0,
}

#: The third derivatives in ``z`` of the named losses, by their second derivative: with
#: them the continuation path's curves carry their second derivatives (one more solve per
#: point, and steps of order 6 instead of 4: see its `_LinearModel`). Not a field of
#: :class:`GLMLoss`: a user's third derivative would be one more formula to get wrong,
#: and the path does without it.
_THIRD_DERIVATIVES: dict[Any, Callable[[FloatArray, FloatArray], Any]] = {
    _logistic_second: _logistic_third,
    _poisson_second: _poisson_third,
    _squared_second: _squared_third,
    _logcosh_second: _logcosh_third,
}


def _loss_array(values: Any, m: int, what: str) -> FloatArray:
    """A loss callable's output as a float array of shape ``(m,)`` (else a clear error)."""
    out = np.asarray(values, dtype=float)
    if out.shape != (m,):
        raise ValueError(
            f"the loss's `{what}` must return an array of shape ({m},) for {m} samples. Got "
            f"shape {out.shape} instead."
        )
    return out


#: Largest dimension ``n`` of sparse data whose squared-loss model exposes its quadratic
#: data: the exact path takes the dense ``n × n`` Hessian (32 MB at this size), which sparse
#: storage exists to avoid for many features; beyond it the model runs the continuation
#: path on its sparse products.
_SPARSE_QUADRATIC_MAX_N = 2048


#: The largest condition number of a squared loss's ``H = AᵀA/m + λI`` for which its flows
#: take the exact path: ``h = Hx + b`` from the formed ``H`` is accurate to about
#: ``eps·cond(H)`` relative, against ``eps·cond(A)`` for the residuals the other paths use
#: (forming ``AᵀA`` squares ``A``'s condition). At 1e6 that is 2e-10, about the default
#: rtol; a ridge regression with singular values of A from 1 to 1e-6 (cond(H) = 1e12)
#: rested 3e-2 from its minimizer on the exact path, 3e-4 on the continuation path.
_SQUARED_LOSS_MAX_CONDITION = 1e6


def _squared_loss_quadratic(
    A: Any, y: FloatArray, lam: float
) -> Callable[[], tuple[FloatArray, FloatArray, float] | None]:
    """``() -> (H, b, c)`` of the ridge regression ``f(x) = mean ½(a_iᵀx − y_i)² +
    (λ/2)‖x‖²`` on the data ``A`` (dense, or scipy.sparse CSR): ``H = AᵀA/m + λI``,
    ``b = −Aᵀy/m``, ``c = yᵀy/(2m)``, so that ``½xᵀHx + bᵀx + c`` is ``f`` expanded.
    ``H`` is symmetrized as the objective's ``hess`` is. ``None`` where ``H`` is too
    ill-conditioned to stand for ``f`` (see `_SQUARED_LOSS_MAX_CONDITION`)."""

    def data() -> tuple[FloatArray, FloatArray, float] | None:
        m, n = A.shape
        if scipy.sparse.issparse(A):
            H = np.asarray((A.T @ A).toarray()) / m
            b = -np.asarray(A.T @ y) / m
        else:
            H = (A.T @ A) / m
            b = -(y @ A) / m
        H = H + lam * np.eye(n)
        H = 0.5 * (H + H.T)
        eig = np.linalg.eigvalsh(H)
        if not eig[0] * _SQUARED_LOSS_MAX_CONDITION >= eig[-1]:
            return None
        return H, b, 0.5 * float(y @ y) / m

    return data


#: Largest data (m·n entries) whose squared-loss minimizer `_squared_loss_minimizer` takes
#: by a dense least-squares solve (a sparse matrix is densified for it: 64 MB at most).
_SQUARED_LOSS_MINIMIZER_MAX_SIZE = 1 << 23


def _squared_loss_minimizer(A: Any, y: FloatArray, lam: float) -> Callable[[], FloatArray | None]:
    """``() -> x*`` of the ridge regression ``f(x) = mean ½(a_iᵀx − y_i)² + (λ/2)‖x‖²``:
    the least-squares solution of the stacked system ``[A/√m; √λ I] x = [y/√m; 0]``, whose
    condition is ``A``'s, not the squared one of the normal equations ``AᵀA/m + λI`` (at
    ``λ = 0`` on data with singular values from 1 to 1e-6: 5e-12 relative against 3e-6 by
    the normal equations, measured against a 50-digit solve). ``None`` where ``x*`` is not unique (``λ = 0`` and ``A`` of numerical rank below
    ``n``) or the data is above `_SQUARED_LOSS_MINIMIZER_MAX_SIZE` entries."""

    def solve() -> FloatArray | None:
        m, n = A.shape
        if m * n > _SQUARED_LOSS_MINIMIZER_MAX_SIZE:
            return None
        dense = np.asarray(A.toarray() if scipy.sparse.issparse(A) else A, dtype=float)
        root_m = np.sqrt(m)
        if lam > 0.0:
            K = np.vstack([dense / root_m, np.sqrt(lam) * np.eye(n)])
            rhs = np.concatenate([y / root_m, np.zeros(n)])
        else:
            K, rhs = dense / root_m, y / root_m
        x, _, rank, _ = np.linalg.lstsq(K, rhs, rcond=None)
        return np.asarray(x) if rank == n and np.all(np.isfinite(x)) else None

    return solve


def linear_model(
    A: ArrayLike,
    y: ArrayLike,
    lam: float,
    loss: str | GLMLoss = "logistic",
    *,
    name: str | None = None,
) -> Objective:
    r"""A generalized linear model with a ridge term.

    .. math:: f(x) = \frac1m \sum_{i=1}^m \ell(a_i^\top x,\, y_i) + \frac{\lambda}{2}\|x\|_2^2

    with a loss of :data:`GLM_LOSSES` (``"logistic"``, ``"poisson"``, ``"squared"``,
    ``"logcosh"``) or a :class:`GLMLoss` of your own. Its Hessian is
    ``Aᵀ diag(ℓ''(Ax, y)) A / m + λI``: a product costs two passes over ``A``. The objective
    exposes its data to the continuation path (:func:`filippov.solve`), which then takes
    its products on the sliding columns of ``A`` only, as for :func:`ridge_logistic`.

    A scipy.sparse ``A`` (any format) is kept in CSR form and never made dense, as for
    :func:`ridge_logistic`: sparse products, a ``LinearOperator`` Hessian, and the
    continuation path on the objective's own products.

    The squared loss (ridge regression) is the quadratic
    ``½xᵀ(AᵀA/m + λI)x − (Aᵀy/m)ᵀx + yᵀy/(2m)``: its ``quadratic_data`` is set (formed on
    first request), so that :func:`filippov.steepest_descent_flow` gives the
    piecewise-affine system and :func:`filippov.solve` the exact path, as for
    :meth:`Objective.quadratic`. For sparse ``A`` this holds up to ``n = 2048`` features
    (the exact path takes a dense ``n × n`` Hessian); beyond, the model runs the
    continuation path on its sparse products.

    Parameters
    ----------
    A : (m, n) array_like or scipy.sparse matrix/array
        Data, one sample ``a_i`` per row (finite).
    y : (m,) array_like
        Targets (for ``"logistic"``: labels in {-1, 1} or {0, 1}, 0 mapped to -1).
    lam : float
        Ridge weight ``λ ≥ 0``.
    loss : str or GLMLoss
        The per-sample loss.
    name : str, optional

    Returns
    -------
    Objective
        Pickles as its recipe when the loss is named or made of module-level functions.
        With ``loss="squared"`` (ridge regression) its ``minimizer`` is the closed form,
        a least-squares solve taken on first request (``None`` when it is not unique:
        ``lam = 0`` with rank-deficient ``A``; or for data above 2²³ entries).

    Raises
    ------
    ValueError
        Non-finite or misshapen data, targets the loss refuses (negative counts, labels
        outside {-1, 1}), a negative ``lam``, an unknown loss name, or loss callables that
        do not return one finite value per sample.

    Examples
    --------
    Poisson regression (log link) on three samples:

    >>> import numpy as np
    >>> from filippov.objectives import linear_model
    >>> A = np.array([[1.0, 0.5], [0.0, 1.0], [1.0, -1.0]])
    >>> obj = linear_model(A, [2.0, 0.0, 1.0], lam=0.1, loss="poisson")
    >>> float(obj.f([0.0, 0.0]))                       # mean of e⁰ − y·0
    1.0
    >>> obj.grad([0.0, 0.0])                          # Aᵀ(e⁰ − y)/m
    array([-0.33333333,  0.16666667])

    Ridge regression on sparse data (a text-like matrix of mostly zeros):

    >>> import scipy.sparse as sp
    >>> S = sp.csr_array([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0], [0.0, 1.0, 0.0]])
    >>> ridge = linear_model(S, [1.0, 2.0, 3.0], lam=0.5, loss="squared")
    >>> ridge.grad([0.0, 0.0, 0.0])                   # −Aᵀy/m
    array([-0.33333333, -1.        , -1.33333333])
    >>> ridge.hess([0.0, 0.0, 0.0]).diagonal()        # diag(AᵀA)/m + λ
    array([0.83333333, 0.83333333, 1.83333333])
    """
    sparse_A = _sparse_data_matrix(A) if scipy.sparse.issparse(A) else None
    Am = _data_matrix(A) if sparse_A is None else sparse_A
    m, n = Am.shape
    if isinstance(loss, str):
        if loss not in GLM_LOSSES:
            raise ValueError(
                f"`loss` must be one of {sorted(GLM_LOSSES)} or a GLMLoss. Got {loss!r} instead."
            )
        spec = GLM_LOSSES[loss]
    elif isinstance(loss, GLMLoss):
        spec = loss
    else:
        raise TypeError(
            f"`loss` must be a loss name or a GLMLoss. Got {type(loss).__name__} instead."
        )
    yv = as_vector(y, "y", m)
    if spec.check_targets is _labels and set(np.unique(yv).tolist()) <= {0.0, 1.0}:
        yv = 2.0 * yv - 1.0
    if spec.check_targets is not None:
        spec.check_targets(yv)
    lam_f = _nonnegative(lam, "lam")
    # (a GLMLoss of the user's: its functions raise what is not a numerical failure as a
    # UserFunctionError, so that a run keeps its partial solution, as an Objective's do;
    # the library's own losses are left as they are)
    value = user_function(spec.value, "loss.value")
    first = user_function(spec.first, "loss.first")
    second = user_function(spec.second, "loss.second")
    # Each callable once on the data at x = 0, so that a loss of the wrong shape fails
    # here, with the callable named, rather than inside a solver.
    z0 = np.zeros(m)
    for what, fn in (("value", value), ("first", first), ("second", second)):
        out = _loss_array(fn(z0, yv), m, what)
        if not np.isfinite(out).all():
            raise ValueError(f"the loss's `{what}` is not finite at x = 0.")

    def dloss(z: FloatArray) -> FloatArray:
        return _loss_array(first(z, yv), m, "first")

    def d2loss(z: FloatArray) -> FloatArray:
        return _loss_array(second(z, yv), m, "second")

    # The squared loss makes f the quadratic ½xᵀ(AᵀA/m + λI)x − (Aᵀy/m)ᵀx + yᵀy/(2m): its
    # data is exposed (formed on first request) so that the sign and greedy flows take
    # the exact path, as for every quadratic (DESIGN §1.4). Only the library's own
    # squared loss: a GLMLoss of the user's is taken as the functions it is.
    squared = (spec.value, spec.first, spec.second) == (
        _squared_value,
        _squared_first,
        _squared_second,
    )
    label = spec.name
    full_name = (
        f"linear_model({label}, m={m}, n={n}, lam={lam_f:g})" if name is None else _check_name(name)
    )
    if sparse_A is not None:

        def loss_value(z: FloatArray) -> FloatArray:
            return _loss_array(value(z, yv), m, "value")

        obj = _sparse_glm(sparse_A, lam_f, loss_value, dloss, d2loss, full_name)
        obj._loss_curvature_max = _CURVATURE_BOUNDS.get(spec.second)
        if squared and n <= _SPARSE_QUADRATIC_MAX_N:
            obj._quadratic_factory = _squared_loss_quadratic(sparse_A, yv, lam_f)
            obj._squared_loss = True
        if squared:
            obj._minimizer_factory = _squared_loss_minimizer(sparse_A, yv, lam_f)
        return obj._with_recipe(linear_model, sparse_A, yv, lam_f, loss, name=obj.name)

    def f(x: FloatArray) -> float:
        values = _loss_array(value(Am @ x, yv), m, "value")
        return float(_mean_over_samples(np.sum, values, m)) + 0.5 * lam_f * float(x @ x)

    # (Every sum over the samples through `_mean_over_samples`: a mean whose sum
    # overflows is still finite, in every method alike.)
    def grad(x: FloatArray) -> FloatArray:
        return _mean_over_samples(lambda d: d @ Am, dloss(Am @ x), m) + lam_f * x

    def hess(x: FloatArray) -> FloatArray:
        H = _mean_over_samples(lambda w: (Am.T * w) @ Am, d2loss(Am @ x), m)
        H = H + lam_f * np.eye(n)
        # (halves first: H + Hᵀ overflows for entries above half the largest float, and
        # halving is exact, so the result is (H + Hᵀ)/2 to the same rounding)
        return 0.5 * H + 0.5 * H.T

    weights = _kept_at_last_point(lambda x: d2loss(Am @ x))

    def hvp(x: FloatArray, v: FloatArray) -> FloatArray:
        Av = Am @ v
        return _mean_over_samples(lambda w: Am.T @ (w * Av), weights(x), m) + lam_f * v

    def grad_batch(X: FloatArray) -> FloatArray:
        Z = X @ Am.T
        if Z.ndim == 1:
            return _mean_over_samples(lambda d: d @ Am, dloss(Z), m) + lam_f * X
        # (row by row: a loss of the user's need only take vectors)
        D = np.empty_like(Z)
        for i, z in enumerate(Z):
            D[i] = dloss(z)
        return _mean_over_samples(lambda W: W @ Am, D, m) + lam_f * X

    At = np.ascontiguousarray(Am.T)

    def hess_rows(x: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        # (the weights divided by m before the sum: no overflow while the mean is finite;
        # where it is not, the finiteness check names it, as for the other methods)
        with np.errstate(over="ignore", invalid="ignore"):
            R = (At[rows] * (weights(x) / m)) @ Am
        R[np.arange(rows.size), rows] += lam_f
        return R

    obj = Objective._build(
        f=f,
        grad=grad,
        hess=hess,
        hvp=hvp,
        grad_batch=grad_batch,
        n=n,
        name=full_name,
    )
    obj._hess_rows = hess_rows
    # f = mean ℓ(Ax, y) + (λ/2)‖x‖²: the continuation path takes its products on the
    # sliding columns of A (see its `_LinearModel`), also for the squared loss when it is
    # asked for (method="continuation") instead of the exact path.
    third = _THIRD_DERIVATIVES.get(spec.second)
    d3loss = None if third is None else (lambda z: _loss_array(third(z, yv), m, "third"))
    obj._linear_model = (Am, lam_f, dloss, d2loss, d3loss)
    obj._loss_curvature_max = _CURVATURE_BOUNDS.get(spec.second)
    if squared:
        obj._quadratic_factory = _squared_loss_quadratic(Am, yv, lam_f)
        obj._squared_loss = True
        obj._minimizer_factory = _squared_loss_minimizer(Am, yv, lam_f)
    return obj._with_recipe(linear_model, Am, yv, lam_f, loss, name=obj.name)


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
    Am = _data_matrix(A)
    m, n = Am.shape
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

    # (the softmax at the last x kept: a third of a continuation run's time otherwise)
    probs = _kept_at_last_point(lambda x: scipy.special.softmax((Am @ x + bv) / T))

    def f(x: FloatArray) -> float:
        val = T * float(scipy.special.logsumexp((Am @ x + bv) / T)) + 0.5 * lam_f * float(x @ x)
        return val if Qm is None else val + 0.5 * float(x @ Qm @ x)

    def grad(x: FloatArray) -> FloatArray:
        g = probs(x) @ Am + lam_f * x
        return g if Qm is None else g + Qm @ x

    # The softmax's covariance Σ p_i (a_i − ā)(a_i − ā)ᵀ / T with the rows centred on their
    # p-weighted mean ā = pᵀA: the uncentred Aᵀ diag(p) A − ā āᵀ cancels to eps·|a|²/T,
    # far above a covariance of nearly one-hot p or of rows shifted by a common 1e7 (the
    # Hessian went indefinite; correct objectives failed their own derivative check).
    # The products centre without an m × n copy: Σ p_i w_i (a_i − ā) is Aᵀ(p∘w) − ā Σ p_i w_i,
    # the second term 0 in exact arithmetic and the offset's rounding in floating point.
    def hess(x: FloatArray) -> FloatArray:
        p = probs(x)
        Ac = Am - p @ Am  # (the dense Hessian is O(m·n²): the copy is its small part)
        H = (Ac.T * p) @ Ac / T + lam_f * np.eye(n)
        if Qm is not None:
            H = H + Qm
        return 0.5 * (H + H.T)

    # ā = pᵀA kept at the last x as the softmax (products at one point share it)
    mean_row = _kept_at_last_point(lambda x: probs(x) @ Am)

    def hvp(x: FloatArray, v: FloatArray) -> FloatArray:
        p, Ap = probs(x), mean_row(x)
        pw = p * (Am @ v - Ap @ v)
        out = (Am.T @ pw - Ap * pw.sum()) / T + lam_f * v
        return out if Qm is None else out + Qm @ v

    def grad_batch(X: FloatArray) -> FloatArray:
        P = scipy.special.softmax((X @ Am.T + bv) / T, axis=1)
        G = np.asarray(P @ Am + lam_f * X)
        return G if Qm is None else G + X @ Qm

    # Rows of Aᵀ contiguous, so that a block of Hessian rows is one (k, m) @ (m, n)
    # product, O(m·k·n), instead of the whole Hessian, O(m·n²).
    At = np.ascontiguousarray(Am.T)

    def hess_rows(x: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        p, Ap = probs(x), mean_row(x)
        # (centred as `hvp`: the k rows' columns, then the offset's rounding taken off)
        Cp = (At[rows] - Ap[rows, None]) * p
        R = (Cp @ Am - np.outer(Cp.sum(axis=1), Ap)) / T
        R[np.arange(rows.size), rows] += lam_f
        return R if Qm is None else R + Qm[rows]

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
    obj._hess_rows = hess_rows
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
