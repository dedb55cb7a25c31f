"""
Real data: logistic regression on the breast cancer data set
============================================================

The Wisconsin breast cancer data (569 samples, 30 features) ship with scikit-learn, so
this example needs no download (scikit-learn is a documentation-only extra of
``filippov``). We follow seed paper 2, Appendix A.4
(:func:`filippov.reproduce.breast_cancer_benchmark`): a stratified
train/validation/test split (60/20/20), features standardized with the training split's
statistics, ridge-regularized logistic regression on the training split, and SignGD
(tuned constant and adaptive steps) against the paper's ASGD with and without restart,
the face-aware step and gradient descent. Constant steps are selected on the
*validation* objective under a fixed budget.
"""

# %%
# Data and objective
# ------------------
import matplotlib.pyplot as plt
import numpy as np

from filippov import plot
from filippov.reproduce import (
    breast_cancer_benchmark,
    iterations_to_gap,
    nonmonotone_steps,
    paper2_runs,
)

bench = breast_cancer_benchmark(lam=1e-2, seed=0)
s = bench.settings
print(
    f"train/validation/test: {s['m']}/{s['m_val']}/{s['m_test']} samples, "
    f"n = {bench.x0.size} parameters (30 features + intercept), f* = {bench.f_star:.8f}, "
    f"sum L_i = {bench.L.sum():.1f}, L (Euclidean) = {bench.L_euclid:.2f}"
)

# %%
# Runs
# ----
# 500 steps from :math:`x_0 = 0`; tuned steps on a 9-point grid with a budget of 100
# steps, scored on the validation split.
tol = 1e-3
runs = paper2_runs(bench, n_steps=500)
for label, run in runs.items():
    k = iterations_to_gap(run, bench.f_star, tol)
    chosen = run.metadata["step"].get("selected")
    restarts = run.diagnostics.get("restarts")
    print(
        f"{label:28s} k(gap<=1e-3) = {'-' if k is None else k:>4}, "
        f"final gap {run.f[-1] - bench.f_star:8.1e}, increases {nonmonotone_steps(run):3d}"
        + ("" if restarts is None else f", restarts {int(restarts.sum()):3d}")
        + ("" if chosen is None else f", step {chosen:.2g}")
    )

# %%
# Convergence
# -----------
fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), layout="constrained")
plot.convergence(runs, ax=axes[0], objective=bench.objective, f_star=bench.f_star, legend=False)
plot.convergence(runs, ax=axes[1], metric="dist", x_star=bench.x_star, legend=False)
axes[0].axhline(tol, color="0.6", linewidth=0.8, linestyle=":")
axes[0].set_title("training objective gap")
axes[1].set_title("squared distance to the minimizer")
fig.legend(
    *axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize="small"
)

# %%
# Test accuracy
# -------------
# The optimizers minimise the training objective; the classifier they produce is judged
# on the held-out test split.
A_test, y_test = s["A_test"], s["y_test"]
accuracies = {}
for label, run in {"minimizer x*": None, **runs}.items():
    w = bench.x_star if run is None else run.x[-1]
    accuracies[label] = float(np.mean((A_test @ w > 0) == (y_test == 1)))
    print(f"{label:28s} test accuracy {accuracies[label]:.3f}")
print(f"test accuracies span [{min(accuracies.values()):.3f}, {max(accuracies.values()):.3f}]")

# %%
# What the numbers say
# --------------------
# * Adaptive SignGD is monotone (no increasing step) and needs 357 steps for a gap of
#   :math:`10^{-3}`; ASGD with restart under the same adaptive step is monotone as well
#   and needs 75 (the "k" column) — the paper's "ASGD with restart accelerates early
#   progress" of Appendix A.4, reproduced. Without the restart it needs 118 steps and
#   has 8 increasing steps.
# * With the validation-tuned constant steps every sign method chatters (over 200
#   increasing steps each). There the validation split picks a larger step for ASGD with
#   restart than for SignGD, and ASGD with restart ends *above* SignGD (final gaps
#   1.7e-3 against 1.9e-4): the paper's "improves the overall gap under the tuned
#   constant step" (Figure 11) is not reproduced for the restarted version; the
#   unrestarted one ends lowest of the sign methods.
# * The face-aware step ends about 2.4 times below the adaptive one (2.8e-4 against
#   6.6e-4).
# * Gradient descent with step :math:`1/L` needs 172 steps: fewer than adaptive SignGD,
#   more than ASGD with restart; with a tuned step, 29.
# * The test accuracy is 0.974 to 0.982 for every run (one test sample is 0.009): the
#   optimizers differ in the training objective, not in the classifier.
