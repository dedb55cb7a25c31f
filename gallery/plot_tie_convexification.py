"""
Filippov convexification on a tie facet
=======================================

The steepest-descent flow under the :math:`\\ell_1` constraint,
:math:`\\dot x \\in -\\partial\\|\\nabla f(x)\\|_\\infty`, is the continuous-time limit of
*greedy coordinate descent*: away from ties it moves only the coordinate with the largest
:math:`|\\partial_i f|`. Where two partial derivatives tie, :math:`|\\partial_1 f| =
|\\partial_2 f|`, the subdifferential of :math:`\\|\\cdot\\|_\\infty` is a whole facet and
Filippov's construction takes the convex hull of the signed vertices
:math:`-\\operatorname{sign}(\\partial_i f)\\, e_i` (seed paper 2, §4.5 and Figure 2).

Two facts from the paper are drawn here:

* every convex combination on the facet descends equally fast to first order
  (Lemma 4.4): :math:`\\langle \\nabla f, v\\rangle = -\\|\\nabla f\\|_\\infty`;
* the Filippov set can be *smaller* than the hull of the active vertices when an index
  is active only at the point itself (Lemma 4.2).
"""

# %%
# A quadratic and its greedy flow
# -------------------------------
import matplotlib.pyplot as plt
import numpy as np

import filippov as fp
from filippov import plot, schemes

H = np.array([[2.0, 0.6], [0.6, 1.0]])
b = np.array([-1.0, 0.5])
obj = fp.Objective.quadratic(H, b)
system = fp.steepest_descent_flow(obj, norm="l1")  # the relay norm is φ = ℓ∞
x0 = np.array([1.6, 1.4])
sol = fp.solve(system, x0, (0.0, 4.0))
print(sol.summary())

# %%
# Where the solution reaches the tie, the engine solves the selection on the simplex of
# weights that keeps the two tied :math:`|\partial_i f|` decreasing at a common rate.
tie = next(ev for ev in sol.events if ev.kind == "tie-entry")
cv = system.consistent_velocity(tie.x)
g = obj.grad(tie.x)
print(f"tie entered at t = {tie.t:.4f}, x = {np.round(tie.x, 4)}, grad f = {np.round(g, 4)}")
print(f"sliding velocity {np.round(cv.velocity, 4)} (weights {np.round(np.abs(cv.lam), 4)})")

# %%
# Lemma 4.4: every weight gives the same decrease :math:`\langle g, v\rangle =
# -\|g\|_\infty`, but only the Filippov selection keeps the tie (equal rates
# :math:`\tfrac{d}{dt}|\partial_i f|`).
s = np.sign(g)
for w in (1.0, 0.5, abs(cv.lam[0]), 0.0):
    v = -np.array([w * s[0], (1.0 - w) * s[1]])
    rates = s * (H @ v)  # d|g_i|/dt
    print(f"w1 = {w:.3f}: <g, v> = {g @ v:+.4f}, d|g_i|/dt = {np.round(rates, 4)}")

# %%
# The picture
# -----------
# Left: the greedy flow's phase portrait with its tie surfaces, the Filippov solution
# (teal on the tie facet) and greedy coordinate descent with two tie rules: the classical
# vertex choice zig-zags across the tie; the selection rule on the 5 % tie set (the
# convex weights that keep the tie, any of which descends equally fast) follows it. Middle: the Filippov set at the
# tie-entry point — the segment between the two one-sided fields, a face of the
# :math:`\ell_1` unit ball — and the sliding velocity where it meets the tangent of the
# tie surface. Right: Lemma 4.2 for :math:`f = \tfrac12 x_2^2` at the origin, where
# :math:`\nabla f = 0` makes every vertex of the :math:`\ell_1` ball active, but only
# :math:`\pm e_2` are realised by nearby states: the Filippov set is the vertical
# segment, not the diamond.
eta = 0.08
vertex = schemes.GreedyCD(step=eta, tie="vertex").run(obj, x0, n_steps=60)
blend = schemes.GreedyCD(step=eta, tie="selection", tie_tol=0.05).run(obj, x0, n_steps=60)

fig, axes = plt.subplots(1, 3, figsize=(15, 5.6), layout="constrained")
plot.phase_portrait(
    system,
    (-1.0, 2.0),
    (-1.5, 1.5),
    ax=axes[0],
    trajectories={
        "greedy CD, vertex rule": vertex,
        "greedy CD, tie-keeping selection": blend,
        "Filippov solution": sol,
    },
    density=0.6,
    title="greedy ($\\ell_1$-constrained) flow",
    legend="outside",
)
axes[0].set_aspect("equal")
plot.filippov_set(system, tie.x, ax=axes[1], title="Filippov set on the tie facet")
flat = fp.steepest_descent_flow(fp.Objective.quadratic(np.diag([0.0, 1.0])), norm="l1")
plot.filippov_set(flat, [0.0, 0.0], ax=axes[2], title="Lemma 4.2: $f = x_2^2/2$ at $0$")
