r"""The experiments of the seed papers, set up as the papers describe them.

Seed paper 2 (Sec. 7.1, App. A.4) evaluates sign methods on three strongly convex
benchmarks and one real data set. Each builder here returns a :class:`Benchmark`: the
training objective, a held-out *validation* objective (constant steps are tuned on it,
:class:`~filippov.schemes.Tuned`), certified separable smoothness constants
:math:`L_i` (``diag(L)`` dominates every Hessian: row sums of the absolute value of a
matrix that dominates every Hessian), a Euclidean constant for gradient descent, the
starting point and a high-accuracy minimizer (trust-region Newton).

The paper's text fixes the recipe (column-normalized Gaussian data, a Haar-rotated
quadratic of chosen condition number :math:`\kappa` in the logistic–quadratic and
smooth-max objectives, standardized features for logistic regression, a validation split
for the constant steps, momentum 0.9) but not every number; the defaults below are the
ones this project uses and are recorded in :attr:`Benchmark.settings`.

:class:`ClaimsTable` collects "claim — paper — measured here — reproduced?" rows and
renders them as text, reStructuredText or HTML (the gallery shows it).

Examples
--------
>>> from filippov import schemes
>>> from filippov.reproduce import iterations_to_gap, ridge_logistic_benchmark
>>> bench = ridge_logistic_benchmark(n=10, m=60, m_val=30, seed=0)
>>> run = schemes.ASGD(step=schemes.Adaptive(bench.L)).run(
...     bench.objective, bench.x0, n_steps=200)
>>> iterations_to_gap(run, bench.f_star, 1e-3) is not None
True
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.optimize
from numpy.typing import NDArray

from ._validation import require_positive
from .objectives import Objective, ridge_logistic, rotated_quadratic, smooth_max
from .schemes import ASGD, GD, Adaptive, Constant, FaceAware, SignGD, Tuned
from .schemes.trajectory import DiscreteTrajectory

__all__ = [
    "Benchmark",
    "Claim",
    "ClaimsTable",
    "LinfVsSeparable",
    "RateCheck",
    "bound_iterations",
    "breast_cancer_benchmark",
    "check_linear_rate",
    "describe_advantage",
    "iterations_to_gap",
    "linf_vs_separable",
    "logistic_quadratic_benchmark",
    "nonmonotone_steps",
    "paper2_benchmarks",
    "paper2_runs",
    "ridge_logistic_benchmark",
    "smooth_max_benchmark",
    "steps_to_gap",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Benchmark:
    """One benchmark problem of seed paper 2 with everything a run needs.

    Attributes
    ----------
    name : str
    objective : Objective
        Training objective (the one optimized and reported).
    validation : Objective
        The same objective on the held-out validation split (for tuned constant steps).
    L : ndarray, shape (n,)
        Certified separable smoothness constants (``diag(L)`` dominates every Hessian).
    L_euclid : float
        Largest eigenvalue of a matrix that dominates every Hessian (GD's step ``1/L``).
    x0 : ndarray, shape (n,)
        Common starting point.
    x_star : ndarray, shape (n,)
        Minimizer of the training objective (trust-region Newton, gradient below 1e-10).
    f_star : float
        Its value.
    test : Objective or None
        Objective on a test split, when the benchmark has one.
    settings : dict
        The numbers that define the instance.
    """

    name: str
    objective: Objective
    validation: Objective
    L: FloatArray
    L_euclid: float
    x0: FloatArray
    x_star: FloatArray
    f_star: float
    test: Objective | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def _column_normalized(A: FloatArray) -> FloatArray:
    return A / np.linalg.norm(A, axis=0)


def _row_sums(M: FloatArray) -> FloatArray:
    # L_i = Σ_j |M_ij| makes diag(L) - M diagonally dominant, hence diag(L) ⪰ M
    return np.asarray(np.abs(M).sum(axis=1), dtype=np.float64)


def _minimize(obj: Objective, n: int) -> tuple[FloatArray, float]:
    """High-accuracy minimizer of a smooth strongly convex objective (trust-region Newton)."""
    res = scipy.optimize.minimize(
        obj.f,
        np.zeros(n),
        jac=obj.grad,
        hess=obj.hess,
        method="trust-exact",
        options={"gtol": 1e-12},
    )
    return np.asarray(res.x, dtype=np.float64), float(obj.f(res.x))


def _spectrum(n: int, kappa: float, top: float = 1.0) -> FloatArray:
    return np.geomspace(top / kappa, top, n)


def _plus_quadratic(base: Objective, Q: FloatArray, name: str) -> Objective:
    """``base + ½xᵀQx`` (the logistic–quadratic objective)."""
    return Objective(
        lambda x: base.f(x) + 0.5 * float(x @ Q @ x),
        lambda x: base.grad(x) + Q @ x,
        lambda x: base.hess(x) + Q,
        hvp=lambda x, v: base.hvp(x, v) + Q @ v,
        n=Q.shape[0],
        name=name,
    )


def logistic_quadratic_benchmark(
    n: int = 30, m: int = 120, m_val: int = 60, kappa: float = 100.0, seed: int = 0
) -> Benchmark:
    r"""Logistic–quadratic (LQ): mean logistic loss plus a Haar-rotated quadratic.

    .. math:: f(x) = \frac1m\sum_i \log(1 + e^{-y_i a_i^\top x}) + \tfrac12 x^\top Q x,

    :math:`A` Gaussian, column-normalized, labels from a noisy linear model,
    :math:`Q = U \operatorname{diag}(\lambda) U^\top` with Haar :math:`U` and spectrum
    ``geomspace(1/kappa, 1, n)``. ``m_val`` more samples form the validation split.

    Parameters
    ----------
    n, m, m_val : int
        Dimension, training and validation samples.
    kappa : float
        Condition number of :math:`Q`.
    seed : int

    Returns
    -------
    Benchmark

    Examples
    --------
    >>> bench = logistic_quadratic_benchmark(n=8, m=40, m_val=20)
    >>> bench.x_star.shape, bool(bench.L.sum() > 1.0)
    ((8,), True)
    """
    rng = np.random.default_rng(seed)
    A = _column_normalized(rng.standard_normal((m + m_val, n)))
    y = np.sign(A @ rng.standard_normal(n) + 0.1 * rng.standard_normal(m + m_val))
    Q = np.asarray(
        rotated_quadratic(_spectrum(n, kappa), seed=seed + 1).quadratic_data[0],  # type: ignore[index]
        dtype=np.float64,
    )
    train = _plus_quadratic(ridge_logistic(A[:m], y[:m], 0.0), Q, "logistic-quadratic")
    val = _plus_quadratic(ridge_logistic(A[m:], y[m:], 0.0), Q, "logistic-quadratic (val)")
    # the logistic Hessian is ⪯ AᵀA/(4m)
    M = A[:m].T @ A[:m] / (4 * m) + Q
    x_star, f_star = _minimize(train, n)
    return Benchmark(
        "logistic-quadratic",
        train,
        val,
        _row_sums(A[:m].T @ A[:m] / (4 * m)) + _row_sums(Q),
        float(np.linalg.eigvalsh(M)[-1]),
        np.ones(n),
        x_star,
        f_star,
        settings={"n": n, "m": m, "m_val": m_val, "kappa": kappa, "seed": seed},
    )


def smooth_max_benchmark(
    n: int = 30,
    m: int = 120,
    m_val: int = 60,
    kappa: float = 100.0,
    temperature: float = 0.5,
    seed: int = 0,
) -> Benchmark:
    r"""Smooth max of affine maps plus a Haar-rotated quadratic of condition ``kappa``.

    .. math:: f(x) = T \log\sum_i e^{(a_i^\top x + b_i)/T} + \tfrac12 x^\top Q x,

    :math:`A` Gaussian column-normalized, :math:`b` Gaussian,
    :math:`Q = U\operatorname{diag}(\lambda)U^\top` (Haar :math:`U`, spectrum
    ``geomspace(1/kappa, 1, n)``: the strong convexity comes from :math:`Q`). The
    validation split is ``m_val`` more affine pieces.

    Parameters
    ----------
    n, m, m_val : int
    kappa : float
        Condition number of :math:`Q`.
    temperature : float
        :math:`T`.
    seed : int

    Returns
    -------
    Benchmark

    Examples
    --------
    >>> bench = smooth_max_benchmark(n=8, m=40, m_val=20)
    >>> float(abs(bench.objective.grad(bench.x_star)).max()) < 1e-9
    True
    """
    T = require_positive(temperature, "temperature")
    rng = np.random.default_rng(seed + 100)
    A = _column_normalized(rng.standard_normal((m + m_val, n)))
    b = rng.standard_normal(m + m_val)
    Q = np.asarray(
        rotated_quadratic(_spectrum(n, kappa), seed=seed + 2).quadratic_data[0],  # type: ignore[index]
        dtype=np.float64,
    )
    train = smooth_max(A[:m], b[:m], 0.0, T, quadratic=Q)
    val = smooth_max(A[m:], b[m:], 0.0, T, quadratic=Q)
    # Aᵀ(diag p − ppᵀ)A/T ⪯ AᵀA/T
    x_star, f_star = _minimize(train, n)
    return Benchmark(
        "smooth max",
        train,
        val,
        _row_sums(A[:m].T @ A[:m] / T) + _row_sums(Q),
        float(np.linalg.eigvalsh(A[:m].T @ A[:m] / T + Q)[-1]),
        np.ones(n),
        x_star,
        f_star,
        settings={"n": n, "m": m, "m_val": m_val, "kappa": kappa, "T": T, "seed": seed},
    )


def ridge_logistic_benchmark(
    n: int = 30, m: int = 120, m_val: int = 60, lam: float = 1e-2, seed: int = 0
) -> Benchmark:
    r"""Ridge-regularized logistic regression on standardized synthetic features.

    Gaussian features with scales ``geomspace(0.2, 3, n)``, standardized with the
    training split's mean and standard deviation, labels from a noisy linear model,
    ``f(x) = mean logistic loss + (lam/2)‖x‖²``.

    Parameters
    ----------
    n, m, m_val : int
    lam : float
        Ridge weight.
    seed : int

    Returns
    -------
    Benchmark

    Examples
    --------
    >>> bench = ridge_logistic_benchmark(n=8, m=40, m_val=20)
    >>> bench.settings["lam"]
    0.01
    """
    lam = require_positive(lam, "lam")
    rng = np.random.default_rng(seed + 200)
    A = rng.standard_normal((m + m_val, n)) * np.geomspace(0.2, 3.0, n)
    A = (A - A[:m].mean(axis=0)) / A[:m].std(axis=0)
    y = np.sign(A @ rng.standard_normal(n) + 0.5 * rng.standard_normal(m + m_val))
    train = ridge_logistic(A[:m], y[:m], lam)
    val = ridge_logistic(A[m:], y[m:], lam)
    M = A[:m].T @ A[:m] / (4 * m)
    x_star, f_star = _minimize(train, n)
    return Benchmark(
        "ridge logistic",
        train,
        val,
        _row_sums(M) + lam,
        float(np.linalg.eigvalsh(M)[-1]) + lam,
        np.ones(n),
        x_star,
        f_star,
        settings={"n": n, "m": m, "m_val": m_val, "lam": lam, "seed": seed},
    )


def paper2_benchmarks(seed: int = 0) -> dict[str, Benchmark]:
    """The three synthetic benchmarks of seed paper 2, Sec. 7, with the default settings.

    Examples
    --------
    >>> sorted(paper2_benchmarks())
    ['logistic-quadratic', 'ridge logistic', 'smooth max']
    """
    out = [
        logistic_quadratic_benchmark(seed=seed),
        smooth_max_benchmark(seed=seed),
        ridge_logistic_benchmark(seed=seed),
    ]
    return {b.name: b for b in out}


def breast_cancer_benchmark(lam: float = 1e-2, seed: int = 0) -> Benchmark:
    """Ridge logistic regression on the Wisconsin breast cancer data (paper 2, App. A.4).

    A stratified 60/20/20 train/validation/test split, features standardized with the
    training split's statistics, an intercept column. Needs scikit-learn (the data ship
    with it; the ``docs`` extra installs it).

    Parameters
    ----------
    lam : float
        Ridge weight.
    seed : int
        Seed of the split.

    Returns
    -------
    Benchmark
        With ``test`` set; ``settings`` also holds the test design matrix and labels
        (``"A_test"``, ``"y_test"``) for accuracies.

    Examples
    --------
    >>> bench = breast_cancer_benchmark()
    >>> bench.settings["m"], bench.x0.shape
    (341, (31,))
    """
    try:
        from sklearn.datasets import load_breast_cancer
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "breast_cancer_benchmark needs scikit-learn (pip install 'filippov[docs]')."
        ) from exc
    lam = require_positive(lam, "lam")
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_rest, y_tr, y_rest = train_test_split(
        X, y, test_size=0.4, random_state=seed, stratify=y
    )
    X_val, X_te, y_val, y_te = train_test_split(
        X_rest, y_rest, test_size=0.5, random_state=seed, stratify=y_rest
    )
    scaler = StandardScaler().fit(X_tr)

    def design(features: Any) -> FloatArray:
        Z = scaler.transform(features)
        return np.column_stack([Z, np.ones(len(Z))])

    A = design(X_tr)
    n = A.shape[1]
    train = ridge_logistic(A, y_tr, lam, name="breast cancer (train)")
    M = A.T @ A / (4 * len(A))
    x_star, f_star = _minimize(train, n)
    return Benchmark(
        "breast cancer",
        train,
        ridge_logistic(design(X_val), y_val, lam),
        _row_sums(M) + lam,
        float(np.linalg.eigvalsh(M)[-1]) + lam,
        np.zeros(n),
        x_star,
        f_star,
        test=ridge_logistic(design(X_te), y_te, lam),
        settings={
            "m": len(A),
            "m_val": len(X_val),
            "m_test": len(X_te),
            "lam": lam,
            "seed": seed,
            "A_test": design(X_te),
            "y_test": np.asarray(y_te),
        },
    )


#: Threshold of the face-aware step in :func:`paper2_runs`: relative to ``‖g‖∞``.
FACE_TAU = 0.1
#: Momentum of ASGD in :func:`paper2_runs` (seed paper 2, Sec. 7: "unless stated otherwise").
BETA = 0.9


def paper2_runs(
    bench: Benchmark,
    *,
    n_steps: int = 400,
    beta: float = BETA,
    tau: float = FACE_TAU,
    grid: Any = None,
    budget: int = 100,
    tuned: bool = True,
) -> dict[str, DiscreteTrajectory]:
    r"""Run the methods of seed paper 2, Sec. 7 on a benchmark, all from ``bench.x0``.

    Adaptive policies use the certified ``bench.L``; "tuned" constant steps are chosen
    per method on a log ``grid`` by the *validation* objective after ``budget`` steps
    (:class:`~filippov.schemes.Tuned`); GD gets the classical step :math:`1/L` and a tuned
    one. The face-aware step moves only :math:`\{i : |g_i| > \tau\|g\|_\infty\}`.

    Parameters
    ----------
    bench : Benchmark
    n_steps : int, default 400
    beta : float, default 0.9
        ASGD momentum, of the adaptive and the tuned runs alike. (The paper's smooth-max
        runs use one momentum for the adaptive step and another for the tuned constant
        step, but its text does not keep either number, so there is no second value to
        reproduce; run twice with different ``beta`` to compare momenta.)
    tau : float, default 0.1
        Relative threshold of the face-aware step.
    grid : array_like, optional
        Constant steps tried (default ``logspace(-4, 0, 9)``; GD: ``logspace(-2, 2, 9)``).
    budget : int, default 100
        Steps per candidate of the tuning.
    tuned : bool, default True
        Include the tuned-constant runs.

    Returns
    -------
    dict of str to DiscreteTrajectory
        Labels ``"SignGD, adaptive"``, ``"SignGD, face-aware"``, ``"ASGD + restart,
        adaptive"``, ``"ASGD, no restart, adaptive"``, ``"GD, 1/L"`` and, with ``tuned``,
        ``"SignGD, tuned"``, ``"ASGD + restart, tuned"``, ``"ASGD, no restart, tuned"``,
        ``"GD, tuned"``.

    Examples
    --------
    >>> bench = ridge_logistic_benchmark(n=6, m=30, m_val=10)
    >>> runs = paper2_runs(bench, n_steps=20, tuned=False)
    >>> sorted(runs)[:2], runs["GD, 1/L"].n_steps
    (['ASGD + restart, adaptive', 'ASGD, no restart, adaptive'], 20)
    """
    sign_grid = np.logspace(-4.0, 0.0, 9) if grid is None else np.asarray(grid, dtype=float)
    gd_grid = np.logspace(-2.0, 2.0, 9) if grid is None else sign_grid

    def tune(values: FloatArray) -> Tuned:
        return Tuned(grid=values, budget=budget, validation=bench.validation)

    L = bench.L
    methods: dict[str, Any] = {
        "SignGD, adaptive": SignGD(step=Adaptive(L)),
        "SignGD, face-aware": SignGD(step=FaceAware(L, tau=tau, relative=True)),
        "ASGD + restart, adaptive": ASGD(step=Adaptive(L), beta=beta),
        "ASGD, no restart, adaptive": ASGD(step=Adaptive(L), beta=beta, restart=False),
        "GD, 1/L": GD(step=Constant(1.0 / bench.L_euclid)),
    }
    if tuned:
        methods |= {
            "SignGD, tuned": SignGD(step=tune(sign_grid)),
            "ASGD + restart, tuned": ASGD(step=tune(sign_grid), beta=beta),
            "ASGD, no restart, tuned": ASGD(step=tune(sign_grid), beta=beta, restart=False),
            "GD, tuned": GD(step=tune(gd_grid)),
        }
    return {
        label: s.run(bench.objective, bench.x0, n_steps=n_steps) for label, s in methods.items()
    }


def steps_to_gap(scheme: Any, bench: Benchmark, tol: float, max_steps: int = 20_000) -> int | None:
    """Iterations ``scheme`` needs from ``bench.x0`` to reach ``f - f* <= tol``.

    Runs until the gap is reached (a callback stops the run) or ``max_steps``; ``None``
    when the gap is not reached.

    Examples
    --------
    >>> from filippov import schemes
    >>> bench = ridge_logistic_benchmark(n=6, m=30, m_val=10)
    >>> k = steps_to_gap(schemes.SignGD(step=schemes.Adaptive(bench.L)), bench, 1e-3)
    >>> isinstance(k, int)
    True
    """
    run = scheme.run(
        bench.objective,
        bench.x0,
        n_steps=max_steps,
        callback=lambda info: info.f - bench.f_star <= tol,
    )
    return iterations_to_gap(run, bench.f_star, tol)


def iterations_to_gap(run: Any, f_star: float, tol: float) -> int | None:
    """First iteration ``k`` with ``f(x_k) - f_star <= tol``, or ``None`` if never.

    Parameters
    ----------
    run : DiscreteTrajectory
        A single run (``run.f`` of shape ``(n_steps + 1,)``).
    f_star : float
    tol : float

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> iterations_to_gap(SimpleNamespace(f=[3.0, 1.0, 0.4, 0.2]), 0.0, 0.5)
    2
    """
    gap = np.asarray(run.f, dtype=np.float64) - float(f_star)
    hits = np.flatnonzero(gap <= tol)
    return int(hits[0]) if hits.size else None


def nonmonotone_steps(run: Any, rtol: float = 1e-12) -> int:
    """Number of steps that increase ``f`` by more than rounding: ``f_{k+1} > f_k + rtol·|f_k|``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> nonmonotone_steps(SimpleNamespace(f=[3.0, 1.0, 1.5, 0.2, 0.2]))
    1
    """
    f = np.asarray(run.f, dtype=np.float64)
    return int(np.count_nonzero(f[1:] > f[:-1] + rtol * np.maximum(np.abs(f[:-1]), 1e-300)))


# --------------------------------------------------------------------------------------
# Seed paper 2, Theorem 5.4 and its face-aware refinement (Corollary 5.6)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateCheck:
    r"""What :func:`check_linear_rate` measured on one run.

    The statement checked (seed paper 2, Theorem 5.4; :doc:`/theory`): under coordinate-wise
    smoothness :math:`\operatorname{diag}(L) \succeq \nabla^2 f` and :math:`\mu`-strong
    convexity, SignGD with the step :math:`\eta_k = \|g_k\|_1 / \sum_i L_i` satisfies, with
    :math:`\rho = 1 - \mu/\sum_i L_i`,

    .. math::

        f_{k+1} - f^\star \le \rho\,(f_k - f^\star), \qquad
        f_k - f^\star \le \rho^k (f_0 - f^\star), \qquad
        \|x_k - x^\star\|_2^2 \le \tfrac{2}{\mu}\,\rho^k (f_0 - f^\star).

    The face-aware refinement replaces :math:`\sum_i L_i` by
    :math:`\sum_{i\in A_k} L_i` (:math:`A_k = \{i : g_{k,i} \ne 0\}`) in the step and in a
    per-step factor :math:`\rho_k`, and :math:`\rho^k` by :math:`\prod_{j<k}\rho_j`.

    Attributes
    ----------
    face : bool
        Whether the face-aware statement was checked.
    rho : float
        The largest per-step factor :math:`\rho_k` (``1 - mu / sum(L)`` without ``face``).
    step_error : float
        :math:`\max_k \|x_{k+1} - x_k + \eta_k^\star \operatorname{sign} g_k\|_\infty /
        \eta_k^\star`, with :math:`\eta_k^\star` the theorem's step: 0 (to rounding) when
        the run *is* the theorem's scheme.
    step_violations : int
        Steps that are not the theorem's step (beyond rounding).
    worst_contraction : float
        The largest measured :math:`(f_{k+1} - f^\star)/(f_k - f^\star)`.
    f_violations : int
        Steps where :math:`f_{k+1} - f^\star > \rho_k (f_k - f^\star)` or iterates where
        the cumulative bound fails (beyond rounding).
    dist_violations : int
        Iterates where the squared-distance bound fails (beyond rounding).
    assumption_violations : int
        Iterates where :math:`\operatorname{diag}(L) \succeq \nabla^2 f(x_k)` or
        :math:`\nabla^2 f(x_k) \succeq \mu I` fails (a necessary check along the run,
        not a certificate of the global assumptions).
    max_face : int
        :math:`\max_k |A_k|` over the steps taken.
    n_steps : int
    """

    face: bool
    rho: float
    step_error: float
    step_violations: int
    worst_contraction: float
    f_violations: int
    dist_violations: int
    assumption_violations: int
    max_face: int
    n_steps: int

    @property
    def holds(self) -> bool:
        """The hypotheses hold along the run and so do all of the theorem's bounds."""
        return (
            self.step_violations == 0
            and self.assumption_violations == 0
            and self.f_violations == 0
            and self.dist_violations == 0
        )

    def summary(self) -> str:
        """One line: the verdict and the numbers behind it."""
        return (
            f"{'holds' if self.holds else 'FAILS'}: step error {self.step_error:.1e}, "
            f"worst contraction {self.worst_contraction:.5f} vs rho {self.rho:.5f}; "
            f"violations: step {self.step_violations}, f {self.f_violations}, "
            f"distance {self.dist_violations}, assumptions {self.assumption_violations}"
        )


def check_linear_rate(
    run: DiscreteTrajectory,
    objective: Objective,
    L: Any,
    mu: float,
    x_star: Any,
    f_star: float,
    *,
    face: bool = False,
    check_assumptions: bool = True,
    rtol: float = 1e-9,
) -> RateCheck:
    r"""Check seed paper 2's Theorem 5.4 (or its face-aware refinement) on a run.

    The theorem is about one scheme with one step, so the check has two halves, both
    needed for :attr:`RateCheck.holds`: the run must *be* that scheme -- every step
    :math:`x_{k+1} = x_k - \eta_k^\star \operatorname{sign}(g_k)` with
    :math:`\eta_k^\star = \|g_k\|_1/\sum_i L_i` (``face``:
    :math:`\|g_{A_k}\|_1/\sum_{i\in A_k} L_i`, :math:`A_k = \{i : g_{k,i} \ne 0\}`), and
    :math:`\mu I \preceq \nabla^2 f(x_k) \preceq \operatorname{diag}(L)` at the iterates --
    and the conclusions must hold at every step: the per-step contraction the proof
    gives, the rate in :math:`f` and the distance decay (see :class:`RateCheck`). A step
    10x too small, plain gradient descent or ASGD are not the theorem's scheme and fail
    the first half; where the theorem's bound is tight (a separable quadratic started on
    its flattest axis) a step too small also fails the second.

    Parameters
    ----------
    run : DiscreteTrajectory
        A single (not batched) run saving every iterate.
    objective : Objective
    L : array_like, shape (n,)
        Separable smoothness constants.
    mu : float
        Strong-convexity constant claimed for ``objective``.
    x_star : array_like, shape (n,)
        The minimizer.
    f_star : float
        Its value.
    face : bool, default False
        Check the face-aware refinement (Sec. 5.3, Prop. 5.5, Corollary 5.6) instead.
    check_assumptions : bool, default True
        Evaluate the Hessian at every iterate to test the assumptions there.
    rtol : float, default 1e-9
        Relative slack for rounding (of the step and of the bounds).

    Returns
    -------
    RateCheck

    Examples
    --------
    >>> from filippov import schemes
    >>> from filippov.objectives import separable_quadratic
    >>> obj = separable_quadratic([1.0, 2.0, 3.0, 4.0], [0.0] * 4)
    >>> L = [1.0, 2.0, 3.0, 4.0]
    >>> run = schemes.SignGD(step=schemes.Adaptive(L)).run(obj, [1.0, 0, 0, 0], n_steps=20)
    >>> check = check_linear_rate(run, obj, L, 1.0, [0.0] * 4, 0.0)
    >>> check.holds, round(check.worst_contraction, 6), check.rho  # 0.9**2 <= 1 - 1/10
    (True, 0.81, 0.9)
    >>> slow = schemes.SignGD(step=schemes.Adaptive([10.0 * v for v in L]))
    >>> check_linear_rate(slow.run(obj, [1.0, 0, 0, 0], n_steps=20), obj, L, 1.0,
    ...                   [0.0] * 4, 0.0).holds
    False
    """
    mu = require_positive(mu, "mu")
    X = np.asarray(run.x, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(
            f"`run` must be a single run with iterates of shape (n_steps + 1, n). "
            f"Got iterates of shape {X.shape} instead."
        )
    if X.shape[0] != run.n_steps + 1:
        raise ValueError(
            f"`run` must save every iterate (save_every=1). Got {X.shape[0]} saved iterates "
            f"for {run.n_steps} steps instead."
        )
    n = X.shape[1]
    Lv = np.asarray(L, dtype=np.float64)
    if Lv.shape != (n,) or not np.all(np.isfinite(Lv)) or np.any(Lv <= 0):
        raise ValueError(
            f"`L` must be {n} positive finite constants. Got {np.array2string(Lv)} instead."
        )
    xs = np.asarray(x_star, dtype=np.float64)
    if xs.shape != (n,):
        raise ValueError(f"`x_star` must have shape ({n},). Got {xs.shape} instead.")
    fs = float(f_star)
    eps = float(np.finfo(float).eps)

    G = np.asarray(objective.grad_batch(X), dtype=np.float64)
    f = np.array([objective.f(x) for x in X], dtype=np.float64)
    active = G != 0.0  # the seed's face: the coordinates that can move
    curv = active.astype(np.float64) @ Lv if face else np.full(len(X), Lv.sum())
    g1 = np.where(active, np.abs(G), 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(curv > 0, g1 / np.where(curv > 0, curv, 1.0), 0.0)
        rho_k = np.where(curv > 0, 1.0 - mu / np.where(curv > 0, curv, 1.0), 0.0)

    # Half 1: the run is the theorem's scheme (the displacement itself, not the recorded
    # step sizes, so a scheme that reports its steps differently cannot pass by accident).
    dev = np.abs(X[1:] - (X[:-1] - eta[:-1, None] * np.sign(G[:-1]))).max(axis=1, initial=0.0)
    scale = np.abs(X[:-1]).max(axis=1, initial=0.0)
    step_bad = dev > rtol * eta[:-1] + 4.0 * eps * scale
    step_error = float(np.max(dev / np.maximum(eta[:-1], 1e-300), initial=0.0))
    assumption_violations = 0
    if check_assumptions:
        for x in X:
            H = np.asarray(objective.hess(x), dtype=np.float64)
            # (relative to the curvatures' own scale: an absolute floor of rtol let a wrong
            # L or μ pass on the same problem scaled by 1e-12)
            tol = rtol * float(np.abs(Lv).max(initial=0.0))
            if np.linalg.eigvalsh(np.diag(Lv) - H)[0] < -tol or np.linalg.eigvalsh(H)[0] < mu - tol:
                assumption_violations += 1

    # Half 2: the conclusions. Rounding of f near f* gets an absolute slack.
    gap = f - fs
    slack = rtol * max(float(np.abs(f).max()), abs(fs)) + 16.0 * eps * abs(fs)
    per_step_bad = gap[1:] > rho_k[:-1] * gap[:-1] + slack
    cum = np.concatenate([[1.0], np.cumprod(rho_k[:-1])]) * gap[0]
    cum_bad = gap > cum + slack
    dist2 = np.sum((X - xs) ** 2, axis=1)
    dist_bad = dist2 > 2.0 / mu * (cum + slack) * (1.0 + rtol)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = gap[1:] / gap[:-1]
    meaningful = gap[:-1] > 1e3 * slack
    worst = float(np.max(ratios[meaningful], initial=0.0))
    return RateCheck(
        face=bool(face),
        rho=float(np.max(rho_k[:-1], initial=0.0)),
        step_error=step_error,
        step_violations=int(np.count_nonzero(step_bad)),
        worst_contraction=worst,
        f_violations=int(np.count_nonzero(per_step_bad) + np.count_nonzero(cum_bad)),
        dist_violations=int(np.count_nonzero(dist_bad)),
        assumption_violations=assumption_violations,
        max_face=int(active[:-1].sum(axis=1).max(initial=0)),
        n_steps=run.n_steps,
    )


def bound_iterations(rho: float, reduction: float) -> int:
    r"""Iterations the bound :math:`\rho^k` needs to shrink the gap by ``reduction``.

    :math:`\lceil \log(\text{reduction}) / \log\rho \rceil`: the "iteration complexity"
    of a linear rate. With :math:`\rho = 1 - \mu/\sum_i L_i` against the face-aware
    :math:`1 - \mu/(s\ell)` at equal curvature :math:`L_i = \ell`, the ratio tends to
    :math:`n/s` as :math:`\mu/\ell \to 0` (seed paper 2, Corollary 5.6).

    Examples
    --------
    >>> bound_iterations(0.5, 1e-3)
    10
    """
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"`rho` must lie in [0, 1). Got {rho!r} instead.")
    if not 0.0 < reduction < 1.0:
        raise ValueError(f"`reduction` must lie in (0, 1). Got {reduction!r} instead.")
    if rho == 0.0:
        return 1
    return int(np.ceil(np.log(reduction) / np.log(rho) - 1e-12))


# --------------------------------------------------------------------------------------
# Seed paper 1: separable smoothness implies ℓ∞-smoothness with L∞ = Σ_i l_i
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinfVsSeparable:
    r"""ℓ∞-smoothness of a quadratic against the sum of separable constants.

    Attributes
    ----------
    L_inf : float
        :math:`\|H\|_{\infty\to1}`: exact when ``exact``, else an attained lower bound.
    exact : bool
    sum_l : float
        :math:`\sum_i l_i`.
    l_valid : bool
        Whether :math:`-\operatorname{diag}(l) \preceq H \preceq \operatorname{diag}(l)`
        (separable smoothness of :math:`\tfrac12 x^\top H x` with constants ``l``).
    """

    L_inf: float
    exact: bool
    sum_l: float
    l_valid: bool

    @property
    def holds(self) -> bool:
        r"""Valid ``l`` and :math:`L_\infty \le \sum_i l_i` (to rounding)."""
        return self.l_valid and self.L_inf <= self.sum_l * (1.0 + 1e-12)

    @property
    def ratio(self) -> float:
        r""":math:`L_\infty / \sum_i l_i` (1 when the bound is attained)."""
        return self.L_inf / self.sum_l if self.sum_l > 0 else float("nan")


def linf_vs_separable(H: Any, l: Any = None) -> LinfVsSeparable:  # noqa: E741
    r"""Measure seed paper 1's "separable smoothness implies :math:`L_\infty = \sum_i l_i`".

    For :math:`f = \tfrac12 x^\top H x` separable smoothness with constants :math:`l_i`
    means :math:`|d^\top H d| \le \sum_i l_i d_i^2`; the claim is that then :math:`f` is
    :math:`\ell_\infty`-smooth with constant :math:`\sum_i l_i`, i.e.
    :math:`\|H\|_{\infty\to1} \le \sum_i l_i` (an upper bound: attained for diagonal
    :math:`H` with :math:`l_i = |H_{ii}|`, strict in general).

    Parameters
    ----------
    H : (n, n) array_like
        Symmetric matrix (exact :math:`\|H\|_{\infty\to1}` for ``n <= 16``).
    l : array_like, shape (n,), optional
        Separable constants (default: the row sums :math:`\sum_j |H_{ij}|`).

    Returns
    -------
    LinfVsSeparable

    Examples
    --------
    >>> check = linf_vs_separable([[2.0, 0.0], [0.0, 3.0]])
    >>> check.L_inf, check.sum_l, check.holds
    (5.0, 5.0, True)
    """
    from .geometry import linf_smoothness

    Hm = np.asarray(H, dtype=np.float64)
    if Hm.ndim != 2 or Hm.shape[0] != Hm.shape[1] or not np.allclose(Hm, Hm.T, rtol=1e-12):
        raise ValueError(f"`H` must be a symmetric square matrix. Got shape {Hm.shape} instead.")
    lv = np.abs(Hm).sum(axis=1) if l is None else np.asarray(l, dtype=np.float64)
    if lv.shape != (Hm.shape[0],) or not np.all(np.isfinite(lv)) or np.any(lv < 0):
        raise ValueError(
            f"`l` must be {Hm.shape[0]} non-negative finite constants. Got {np.array2string(lv)} "
            "instead."
        )
    tol = 1e-12 * max(float(lv.max(initial=0.0)), float(np.abs(Hm).max(initial=0.0)))
    D = np.diag(lv)
    valid = bool(np.linalg.eigvalsh(D - Hm)[0] >= -tol and np.linalg.eigvalsh(D + Hm)[0] >= -tol)
    res = linf_smoothness(Hm, seed=0)
    return LinfVsSeparable(float(res.lower), bool(res.exact), float(lv.sum()), valid)


def describe_advantage(advantage: Any, concentration: Any, ratio: Any, margin: float = 0.1) -> str:
    r"""What the sign-vs-GD sweep measured, in a few words (for a figure's title).

    Counts the problems where sign descent is clearly ahead (``advantage > 1 + margin``),
    gives the smallest diagonal concentration and :math:`\lambda_{\max}/\lambda_{\mathrm{avg}}`
    among them, and how many are within the margin of break-even -- the measured result,
    not the paper's claim.

    Parameters
    ----------
    advantage, concentration, ratio : array_like
        One value per problem (any shape; all the same size).
    margin : float, default 0.1
        Relative margin around break-even (``advantage = 1``).

    Returns
    -------
    str

    Examples
    --------
    >>> describe_advantage([0.5, 2.0, 3.0, 1.05], [0.2, 0.9, 1.0, 0.3], [1.5, 6.0, 9.0, 2.0])
    'measured: sign descent >10% ahead on 2 of 4 (concentration ≥ 0.90, λmax/λavg ≥ 6.0), within 10% on 1'
    """
    adv = np.asarray(advantage, dtype=np.float64).ravel()
    conc = np.asarray(concentration, dtype=np.float64).ravel()
    rat = np.asarray(ratio, dtype=np.float64).ravel()
    if not adv.shape == conc.shape == rat.shape:
        raise ValueError(
            "`advantage`, `concentration` and `ratio` must have the same size. Got "
            f"{adv.size}, {conc.size} and {rat.size} instead."
        )
    m = require_positive(margin, "margin")
    wins = adv > 1.0 + m
    even = (adv >= 1.0 / (1.0 + m)) & ~wins
    where = (
        # (rounded down: the bound printed must hold for every win)
        f" (concentration ≥ {math.floor(100 * conc[wins].min()) / 100:.2f}, "
        f"λmax/λavg ≥ {math.floor(10 * rat[wins].min()) / 10:.1f})"
        if wins.any()
        else ""
    )
    return (
        f"measured: sign descent >{m:.0%} ahead on {int(wins.sum())} of {adv.size}{where}, "
        f"within {m:.0%} on {int(even.sum())}"
    )


@dataclass(frozen=True)
class Claim:
    """One row of a :class:`ClaimsTable`.

    Attributes
    ----------
    claim : str
        What the paper claims, in a few words.
    paper : str
        Where (section, figure) and what exactly it reports.
    measured : str
        What the code measured (numbers).
    reproduced : str
        ``"yes"``, ``"partly"`` or ``"no"`` (anything else is shown as given).
    """

    claim: str
    paper: str
    measured: str
    reproduced: str


class ClaimsTable:
    """A "claim — paper — measured here — reproduced?" table, built row by row.

    Rendered as plain text (``str``), reStructuredText (:meth:`to_rst`) or HTML (shown
    by notebooks and sphinx-gallery, which display the ``_repr_html_`` of a code block's
    last expression).

    Examples
    --------
    >>> table = ClaimsTable()
    >>> table = table.add("ASGD is faster", "Sec. 7.3", "54 vs 632 iterations", "yes")
    >>> len(table), table.rows[0].reproduced
    (1, 'yes')
    >>> print(table.to_rst().splitlines()[0])
    .. list-table:: Paper claims and what this project measured
    """

    columns = ("claim", "paper", "measured here", "reproduced?")

    def __init__(self, rows: list[Claim] | None = None) -> None:
        self.rows: list[Claim] = list(rows or [])

    def add(self, claim: str, paper: str, measured: str, reproduced: str) -> ClaimsTable:
        """Append a row (returns the table, so calls chain)."""
        for name, value in (
            ("claim", claim),
            ("paper", paper),
            ("measured", measured),
            ("reproduced", reproduced),
        ):
            if not isinstance(value, str):
                raise TypeError(f"`{name}` must be a string. Got {value!r} instead.")
        self.rows.append(Claim(claim, paper, measured, reproduced))
        return self

    def __len__(self) -> int:
        return len(self.rows)

    def _cells(self) -> list[tuple[str, str, str, str]]:
        return [(r.claim, r.paper, r.measured, r.reproduced) for r in self.rows]

    def __str__(self) -> str:
        lines = []
        for i, cells in enumerate(self._cells(), 1):
            lines.append(f"[{i}] {cells[0]}  ->  reproduced: {cells[3]}")
            lines.append(f"    paper:    {cells[1]}")
            lines.append(f"    measured: {cells[2]}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def to_rst(self, title: str = "Paper claims and what this project measured") -> str:
        """The table as an RST ``list-table`` directive."""
        out = [f".. list-table:: {title}", "   :header-rows: 1", "   :widths: 25 30 35 10", ""]
        for row in [self.columns, *self._cells()]:
            out.append(f"   * - {_rst_cell(row[0])}")
            out.extend(f"     - {_rst_cell(c)}" for c in row[1:])
        return "\n".join(out) + "\n"

    def _repr_html_(self) -> str:
        colors = {"yes": "#d9f2d9", "partly": "#fff2cc", "no": "#f8d7da"}
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = []
        for cells in self._cells():
            style = colors.get(cells[3].split()[0].lower() if cells[3] else "", "")
            tds = "".join(f"<td>{html.escape(c)}</td>" for c in cells[:3])
            last = f'<td style="background:{style}">' if style else "<td>"
            body.append(f"<tr>{tds}{last}{html.escape(cells[3])}</td></tr>")
        return (
            '<table class="table claims-table"><thead><tr>'
            + head
            + "</tr></thead><tbody>"
            + "".join(body)
            + "</tbody></table>"
        )


def _rst_cell(text: str) -> str:
    return " ".join(text.split()) or "\\ "
