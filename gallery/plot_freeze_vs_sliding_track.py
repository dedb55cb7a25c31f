"""
One-hit freeze, two-hit sliding-track and plain SignGD
======================================================

Near a sliding manifold :math:`\\partial_i f = 0` explicit SignGD jumps from side to side.
Seed paper 2 (§4.5) proposes two per-coordinate corrections that imitate the Filippov
solution, which stays on the manifold:

* **one-hit freeze**: when :math:`\\partial_i f` changes sign over a step, undo that
  coordinate's part of the step;
* **two-hit sliding-track**: after two consecutive sign flips of :math:`\\partial_i f`,
  fit the one-sided rates of :math:`\\partial_i f` and take the convex combination
  :math:`\\theta\\in[0, 1]` of the two relay values that lands :math:`\\partial_i f` on
  zero at the next step (then keep tracking the surface).

We repeat the paper's Appendix A.3 experiment: ridge-regularized logistic regression on
synthetic data in two dimensions, the adaptive step :math:`\\eta_k = \\|g_k\\|_1/\\sum_i
L_i` for all three methods, and flip statistics — the mean number per iteration of
sign flips (SignGD), freezes (one-hit) and two-hit detections (sliding-track).
"""

# %%
# Problems and reference solutions
# --------------------------------
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import minimize

from filippov import plot, schemes
from filippov.objectives import ridge_logistic

rng = np.random.default_rng(7)
m, lam, n_steps = 200, 1e-2, 400
problems = {}
for n in (20, 80):
    A = rng.standard_normal((m, n))
    A = (A - A.mean(axis=0)) / A.std(axis=0)
    y = np.sign(A @ rng.standard_normal(n) + 0.5 * rng.standard_normal(m))
    obj = ridge_logistic(A, y, lam)
    L = np.sum(np.abs(A.T @ A), axis=1) / (4 * m) + lam  # diag(L) ⪰ AᵀA/(4m) + λI ⪰ ∇²f
    res = minimize(
        obj.f,
        np.zeros(n),
        jac=obj.grad,
        hess=obj.hess,
        method="trust-exact",
        options={"gtol": 1e-13},
    )
    problems[n] = (obj, L, res.x)

# %%
# Runs
# ----
results = {}
for n, (obj, L, xstar) in problems.items():
    step = schemes.Adaptive(L)
    x0 = np.zeros(n)
    results[n] = {
        "SignGD": schemes.SignGD(step=step).run(obj, x0, n_steps=n_steps),
        "one-hit freeze": schemes.ProjectedSignGD(step=step, mode="freeze").run(
            obj, x0, n_steps=n_steps
        ),
        "two-hit sliding-track": schemes.ProjectedSignGD(step=step, mode="sliding-track").run(
            obj, x0, n_steps=n_steps
        ),
    }
    for label, run in results[n].items():
        d = run.diagnostics
        print(
            f"n = {n:3d} {label:22s} ‖x−x*‖² = {np.sum((run.x[-1] - xstar) ** 2):.2e}  "
            f"flips/it {d['flips'].mean():.2f}  freezes/it {d['freezes'].mean():.2f}  "
            f"two-hits/it {d['two_hit'].mean():.3f}"
        )

# %%
# Distance to the minimizer and flip statistics
# ---------------------------------------------
# Top: :math:`\|x_k - x^\star\|_2^2`. Bottom: the running mean (over the iterations so far)
# of the counter each method is about — sign flips for SignGD, freezes for one-hit,
# two-hit detections for sliding-track.
fig, axes = plt.subplots(2, 2, figsize=(12, 8), layout="constrained")
for col, (n, (_, _, xstar)) in enumerate(problems.items()):
    plot.convergence(results[n], ax=axes[0, col], metric="dist", x_star=xstar)
    axes[0, col].set_title(f"ridge logistic, $n = {n}$, $m = {m}$")
    plot.diagnostic(
        {
            "SignGD: sign flips": results[n]["SignGD"],
            "one-hit: freezes": results[n]["one-hit freeze"],
            "two-hit: detections": results[n]["two-hit sliding-track"],
        },
        ["flips", "freezes", "two_hit"],
        ax=axes[1, col],
        statistic="cumulative-mean",
        ylabel="events per iteration (mean so far)",
    )

# %%
# Observations
# ------------
# As in the paper, the three methods are close in distance: here the one-hit freeze is
# indistinguishable from SignGD and the two-hit sliding-track rule is slightly slower at
# :math:`n = 20`. The freeze rule is active often — every coordinate whose partial
# derivative would flip is frozen, so its freeze count mirrors SignGD's flip count — while
# two-hit detections are much rarer, consistent with their stricter trigger.
