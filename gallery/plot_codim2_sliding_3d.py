"""
Codimension-2 sliding in three dimensions
=========================================

In three dimensions the sign flow :math:`\\dot x \\in -\\operatorname{Sign}(\\nabla f(x))`
has three switching surfaces :math:`\\partial_i f = 0`. A solution can slide on one of
them (codimension 1) and then on the *intersection* of two (codimension 2, a curve), where
two relay values are set at once by the sliding selection: a box-constrained linear
variational inequality in :math:`\\lambda_J \\in [-1, 1]^J`, here with
:math:`J = \\{1, 2\\}` (0-based) and :math:`M = \\nabla^2 f_{JJ}` positive definite, so
the selection is unique (:doc:`/theory`, "Modes and the sliding selection").
"""

# %%
# A coupled quadratic
# -------------------
import matplotlib.pyplot as plt
import numpy as np

import filippov as fp
from filippov import plot, schemes

H = np.array([[1.0, 0.45, 0.3], [0.45, 1.0, 0.45], [0.3, 0.45, 1.0]])
obj = fp.Objective.quadratic(H)  # minimizer at the origin
system = fp.steepest_descent_flow(obj, norm="linf")
x0 = np.array([3.0, -2.0, 1.0])
sol = fp.solve(system, x0, (0.0, 4.0))
print(sol.summary())

# %%
# On the codimension-2 segment both :math:`\partial_2 f` and :math:`\partial_3 f` are held at
# zero; the relay values of the two sliding coordinates are strictly inside
# :math:`(-1, 1)`.
seg = next(s for s in sol.segments if len(s.mode.free) == 2)
mid = 0.5 * (seg.t0 + seg.t1)
print(f"segment {seg.t0:.4f} .. {seg.t1:.4f}, mode {seg.mode.label}, relay values {seg.lam}")
print(f"grad f at t = {mid:.3f}: {obj.grad(sol(mid))}")

# %%
# The picture
# -----------
# Left: the solution in 3-D with SignGD iterates (:math:`\eta = 0.1`), the two planes
# :math:`\partial_2 f = 0` and :math:`\partial_3 f = 0`, and their intersection line.
# Right: the partial derivatives along the solution — each reaches zero at a
# sliding entry and stays there.
traj = schemes.SignGD(step=0.1).run(obj, x0, t_final=4.0)
fig = plt.figure(figsize=(13, 5.4), layout="constrained")
ax3 = fig.add_subplot(1, 2, 1, projection="3d")
ax2 = fig.add_subplot(1, 2, 2)

lo = np.minimum(sol.x.min(axis=0), traj.x.min(axis=0)) - 0.3
hi = np.maximum(sol.x.max(axis=0), traj.x.max(axis=0)) + 0.3
for k, color in ((1, "#CC3311"), (2, "#4477AA")):
    # the plane ∂_k f = H[k] · x = 0, solved for x_k over a grid of the two other coordinates
    a, c = (j for j in range(3) if j != k)
    U, V = np.meshgrid(np.linspace(lo[a], hi[a], 30), np.linspace(lo[c], hi[c], 30))
    W = -(H[k, a] * U + H[k, c] * V) / H[k, k]
    W[(lo[k] > W) | (hi[k] < W)] = np.nan  # clip to the box around the trajectories
    P = np.empty((3, *U.shape))
    P[a], P[c], P[k] = U, V, W
    ax3.plot_surface(
        *P, color=color, alpha=0.18, linewidth=0, label=f"plane $\\partial_{k + 1} f = 0$"
    )
direction = np.cross(H[1], H[2])
s = np.linspace(-5.0, 5.0, 400)[:, None] * direction / np.linalg.norm(direction)
s = s[np.all((s >= lo) & (s <= hi), axis=1)]
ax3.plot(
    *s.T, color="black", linestyle=":", linewidth=1.5, label="$\\partial_2 f = \\partial_3 f = 0$"
)
plot.trajectory(traj, ax=ax3, label="SignGD, $\\eta = 0.1$")
plot.trajectory(sol, ax=ax3)
ax3.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), zlim=(lo[2], hi[2]))
ax3.view_init(elev=22, azim=-60)
ax3.set_title("sign flow in $\\mathbb{R}^3$")
ax3.legend(fontsize="x-small", loc="upper left")

plot.time_series(sol, ax=ax2, fun=obj.grad_batch, name="h", samples=300, mark="indices")
ax2.axhline(0.0, color="#999999", linewidth=0.8)
ax2.set_ylabel("switching functions $h_i = \\partial_i f$ along $x(t)$")
ax2.set_title("switching functions along the solution")

# %%
# The SignGD iterates zig-zag around the intersection line in both sliding coordinates at
# once; the Filippov solution moves along it with the velocity given by the selection and
# reaches the minimizer at :math:`t = 3`.
