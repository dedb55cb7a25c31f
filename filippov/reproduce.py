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
    "breast_cancer_benchmark",
    "iterations_to_gap",
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
    beta_tuned: float | None = None,
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
        ASGD momentum.
    beta_tuned : float, optional
        ASGD momentum of the tuned-constant runs (default ``beta``; the paper uses
        separate values for its smooth-max runs, whose numbers its text does not keep).
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
        bt = beta if beta_tuned is None else beta_tuned
        methods |= {
            "SignGD, tuned": SignGD(step=tune(sign_grid)),
            "ASGD + restart, tuned": ASGD(step=tune(sign_grid), beta=bt),
            "ASGD, no restart, tuned": ASGD(step=tune(sign_grid), beta=bt, restart=False),
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
