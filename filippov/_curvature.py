r"""Matrix-free Hessian diagnostics from Hessian-vector products only.

For objectives too large for a dense Hessian (a neural network's), the quantities of
seed paper 1 that need only a few products: the extreme eigenvalues by Lanczos
(:func:`scipy.sparse.linalg.eigsh` on a :class:`~scipy.sparse.linalg.LinearOperator`),
the trace, hence :math:`\lambda_{\mathrm{avg}} = \operatorname{tr}(H)/n`, by Hutchinson's
estimator with Rademacher probes (exact in expectation, with a standard error), and the
diagonal by the same probes (:math:`\mathbb{E}[z \odot Hz] = \operatorname{diag} H`).
The diagonal concentration :math:`\sum_i|H_{ii}|/\sum_{ij}|H_{ij}|` needs every entry:
use :func:`filippov.geometry.diagonal_concentration` on ``obj.hess(x)`` when ``n`` allows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse.linalg
from numpy.typing import ArrayLike

from filippov._validation import FloatArray, as_vector, require_int, require_positive
from filippov.objectives import Objective

__all__ = ["CurvatureProbe", "curvature_probe"]


@dataclass(frozen=True)
class CurvatureProbe:
    """What :func:`curvature_probe` estimated at one point.

    Attributes
    ----------
    lambda_max, lambda_min : float
        Largest and smallest eigenvalue of the Hessian (Lanczos, to ``tol``).
    trace : float
        Hutchinson estimate of ``tr(H)``.
    trace_stderr : float
        Its standard error (sample standard deviation over the probes / sqrt(probes)).
    diagonal : (n,) ndarray
        Hutchinson estimate of ``diag(H)`` (same probes).
    n : int
        Dimension.
    n_probes : int
        Rademacher probes used for the trace and the diagonal.
    n_hvp : int
        Hessian-vector products spent in all (Lanczos and probes).
    """

    lambda_max: float
    lambda_min: float
    trace: float
    trace_stderr: float
    diagonal: FloatArray
    n: int
    n_probes: int
    n_hvp: int

    @property
    def lambda_avg(self) -> float:
        """``tr(H) / n``, the average eigenvalue (estimated)."""
        return self.trace / self.n

    @property
    def eigenvalue_ratio(self) -> float:
        """``λ_max / λ_avg`` (meaningful when the trace is positive)."""
        return self.lambda_max / self.lambda_avg


def curvature_probe(
    objective: Objective,
    x: ArrayLike,
    *,
    n_probes: int = 32,
    seed: int = 0,
    tol: float = 1e-6,
) -> CurvatureProbe:
    r"""Extreme eigenvalues, trace and diagonal of :math:`\nabla^2 f(x)` from products only.

    Lanczos (:func:`scipy.sparse.linalg.eigsh`, ``which="LA"`` and ``"SA"``) for
    :math:`\lambda_{\max}` and :math:`\lambda_{\min}`; Hutchinson's estimator
    :math:`\operatorname{tr} H \approx \frac1p\sum_{j=1}^p z_j^\top H z_j` and
    :math:`\operatorname{diag} H \approx \frac1p\sum_j z_j \odot H z_j` with ``p``
    Rademacher probes :math:`z_j \in \{\pm1\}^n` drawn from
    ``numpy.random.default_rng(seed)`` (deterministic). For a neural network the Hessian
    is indefinite: :math:`\lambda_{\min} < 0` and the trace may be small, so read
    :math:`\lambda_{\max}/\lambda_{\mathrm{avg}}` together with the trace's standard error.

    Parameters
    ----------
    objective : Objective
        Must have an exact ``hvp`` (a finite-difference one works but is noisier).
    x : (n,) array_like
        The point.
    n_probes : int, default 32
        Number of Rademacher probes (the standard error falls as ``1/sqrt(n_probes)``).
    seed : int, default 0
        Seed of the probes and of Lanczos' starting vector.
    tol : float, default 1e-6
        Relative tolerance of the Lanczos eigenvalues.

    Returns
    -------
    CurvatureProbe

    Examples
    --------
    >>> import numpy as np
    >>> from filippov.geometry import curvature_probe
    >>> from filippov.objectives import Objective
    >>> obj = Objective.quadratic(np.diag([1.0, 2.0, 3.0, 10.0]))
    >>> probe = curvature_probe(obj, np.zeros(4), n_probes=4)
    >>> round(probe.lambda_max, 6), round(probe.lambda_min, 6), probe.trace  # diagonal: exact
    (10.0, 1.0, 16.0)
    """
    if not isinstance(objective, Objective):
        raise TypeError(f"`objective` must be an Objective. Got {objective!r} instead.")
    xv = as_vector(x, "x", objective.n)
    n = xv.size
    p = require_int(n_probes, "n_probes", minimum=2)
    rng = np.random.default_rng(require_int(seed, "seed", minimum=0))
    tol_v = require_positive(tol, "tol")
    count = [0]

    def matvec(v: FloatArray) -> FloatArray:
        count[0] += 1
        return objective.hvp(xv, np.asarray(v, dtype=np.float64).ravel())

    if n <= 2:
        # eigsh needs k < n; a dense 2x2 from two products is exact anyway
        H = np.column_stack([matvec(e) for e in np.eye(n)])
        eig = np.linalg.eigvalsh(0.5 * (H + H.T))
        lmax, lmin = float(eig[-1]), float(eig[0])
    else:
        op = scipy.sparse.linalg.LinearOperator((n, n), matvec=matvec, dtype=np.float64)
        v0 = rng.standard_normal(n)
        lmax = float(scipy.sparse.linalg.eigsh(op, k=1, which="LA", tol=tol_v, v0=v0)[0][0])
        lmin = float(scipy.sparse.linalg.eigsh(op, k=1, which="SA", tol=tol_v, v0=v0)[0][0])
    Z = rng.choice(np.array([-1.0, 1.0]), size=(p, n))
    ZHZ = np.stack([z * matvec(z) for z in Z])  # rows z ⊙ Hz
    quad = ZHZ.sum(axis=1)  # z^T H z
    return CurvatureProbe(
        lambda_max=lmax,
        lambda_min=lmin,
        trace=float(quad.mean()),
        trace_stderr=float(quad.std(ddof=1) / np.sqrt(p)),
        diagonal=ZHZ.mean(axis=0),
        n=n,
        n_probes=p,
        n_hvp=count[0],
    )
