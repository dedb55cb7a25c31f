"""
Switching or sliding: the slope example
=======================================

The sign gradient flow :math:`\\dot x \\in -\\operatorname{Sign}(\\nabla f(x))` — the
continuous-time limit of SignGD — is a discontinuous ODE: its right-hand side jumps
wherever a partial derivative changes sign. What happens there is decided by Filippov's
construction, and it can be one of two things (seed paper 2, §4.4 and Figure 1):

* **switching** (crossing): the trajectory passes through the surface, its velocity
  jumps;
* **sliding**: the fields on both sides push onto the surface, and the solution moves
  *along* it with a velocity that is a convex combination of the two one-sided ones.

The slope example

.. math:: f(x) = \\tfrac12 (x_1 - a x_2)^2 + \\tfrac12 (x_2 + 3)^2

shows both. Its valley :math:`\\partial_1 f = x_1 - a x_2 = 0` is a sliding manifold
for :math:`|a| < 1` and a crossing manifold for :math:`|a| > 1`.
"""

# %%
# The flow and its switching surfaces
# -----------------------------------
# :func:`filippov.steepest_descent_flow` builds the inclusion in Lur'e form
# :math:`\dot x \in f_0 - B\,\partial\varphi(h(x))` with :math:`f_0 = 0`, :math:`B = I`,
# :math:`h = \nabla f` and :math:`\varphi = \|\cdot\|_1` (whose subdifferential is
# :math:`\operatorname{Sign}`). On a surface :math:`h_i = 0` the one-sided normal velocities
# :math:`a_\pm = \nabla h_i \cdot F(x, \lambda_i = \pm 1)` decide its kind.
import matplotlib.pyplot as plt
import numpy as np

import filippov as fp
from filippov import plot, schemes
from filippov.objectives import slope

for a in (0.5, 2.0):
    system = fp.steepest_descent_flow(slope(a), norm="linf")
    point = np.array([a * 1.0, 1.0])  # on the valley x1 = a x2
    c = system.classify(point, 0)
    print(f"a = {a}: valley is {c.kind:9s} (a+ = {c.a_plus:+.2f}, a- = {c.a_minus:+.2f})")

# %%
# Both regimes side by side
# -------------------------
# The phase portraits show the vertex-selector field :math:`-\operatorname{sign}(\nabla f)`
# (grey streamlines), the switching manifolds classified piece by piece, Filippov solutions
# from three initial points (segments styled by mode, events marked), and SignGD iterates
# with step :math:`\eta = 0.25` from the first point.
x0s = [[0.6, 0.1], [-7.0, 0.5], [1.5, -4.5]]
fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), sharey=True, layout="constrained")
for ax, a in zip(axes, (0.5, 2.0), strict=True):
    system = fp.steepest_descent_flow(slope(a), norm="linf")
    sols = [fp.solve(system, x0, (0.0, 12.0)) for x0 in x0s]
    iterates = schemes.SignGD(step=0.25).run(slope(a), x0s[0], n_steps=45)
    kind = "sliding" if abs(a) < 1 else "crossing"
    plot.phase_portrait(
        system,
        (-8.0, 2.0),
        (-5.0, 1.0),
        ax=ax,
        trajectories=[*sols, iterates],
        density=0.7,
        legend=False,
        title=f"$a = {a:g}$: the valley $x_1 = a x_2$ is {kind}",
    )
    ax.set_aspect("equal")
axes[1].set_ylabel("")
handles, labels = [], []
for ax in axes:
    for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
        if lab not in labels:
            handles.append(h)
            labels.append(lab)
fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize="small", frameon=False)

# %%
# What the solver recorded
# ------------------------
# Every event is typed. For :math:`a = 0.5` the solution from :math:`(0.6, 0.1)` enters
# sliding on the valley (index 0) and slides to the minimizer, where it is at rest; for
# :math:`a = 2` it meets the *other* manifold :math:`\partial_2 f = 0` first, slides along
# it, and the valley is never used.
for a in (0.5, 2.0):
    sol = fp.solve(fp.steepest_descent_flow(slope(a)), x0s[0], (0.0, 12.0))
    print(f"a = {a}")
    print(sol.summary())
    print()

# %%
# On the sliding manifold the grey streamlines zig-zag — the selector alternates between
# the two vertices — and so do the SignGD iterates, in a band of width
# :math:`O(\eta)` around the Filippov solution, which slides with the convex-combination
# velocity. Across a crossing manifold the iterates simply pass through.
