"""
Two switching surfaces: stick-slip of two blocks, and a gene network
====================================================================

Two blocks on springs, coupled by a third spring, ride on a belt that moves at speed
:math:`v_b`; each feels dry friction against the belt:

.. math:: \\ddot q_i = -k q_i + k_c (q_j - q_i) - \\mu_i \\operatorname{Sign}(\\dot q_i - v_b),
          \\qquad i = 1, 2.

The state :math:`x = (q_1, v_1, q_2, v_2)` has two switching surfaces,
:math:`c_i = v_i - v_b = 0`, and four regions, each with its own smooth field. A block
*sticks* to the belt (slides on its surface) while its spring force is below
:math:`\\mu_i`; when both stick at once the solution slides on the codimension-2
intersection of the surfaces. :func:`filippov.stewart_system` takes the field of each
region and builds the Filippov set on the surfaces as the convex hull of the adjacent
fields (Stewart's formulation); :func:`filippov.solve` integrates it mode by mode.
"""

# %%
# Solve from rest
# ---------------
import matplotlib.pyplot as plt
import numpy as np

import filippov as fp
from filippov import plot

k, kc, mu, vb = 1.0, 0.5, (1.0, 1.5), 0.5


def field(x, signs):
    q1, v1, q2, v2 = x
    return np.array(
        [
            v1,
            -k * q1 + kc * (q2 - q1) - mu[0] * signs[0],
            v2,
            -k * q2 + kc * (q1 - q2) - mu[1] * signs[1],
        ]
    )


G = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
blocks = fp.stewart_system(
    field, lambda x: G @ x - vb, jac=lambda x: G, n=4, name="two-block stick-slip"
)
sol = fp.solve(blocks, np.zeros(4), (0.0, 12.0), rtol=1e-12, atol=1e-14)
print(sol.message)
for ev in sol.events:
    print(f"t = {ev.t:.10f}  {ev.kind:<14} surface {ev.indices}  -> {ev.mode_after.label}")

# %%
# The test suite checks these event times and states against a closed-form hybrid
# reference (matrix exponentials of each mode's linear field) to 1e-8; they agree to
# about 1e-12. Block 2 (the larger friction) sticks first, then block 1: both ride the
# belt together (sliding on :math:`\{0, 1\}`) until block 1's spring force reaches
# :math:`\mu_1` and it slips back; block 2 follows later, and sticks once more.
fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
ts = np.linspace(0.0, 12.0, 1200)
xs = sol(ts)
ax = axes[0]
ax.plot(ts, xs[:, 1], color="#0077BB", label="$v_1$")
ax.plot(ts, xs[:, 3], color="#EE3377", linestyle="--", label="$v_2$")
ax.axhline(vb, color="#888888", linewidth=0.8, label="belt speed $v_b$")
for seg in sol.segments:
    if seg.mode.free == (0, 1):
        ax.axvspan(seg.t0, seg.t1, color="#EECC66", alpha=0.4, label="both stuck")
ax.set_xlabel("$t$")
ax.set_ylabel("velocity")
ax.legend(fontsize="small")
ax.set_title("velocities: stick phases sit on $v_i = v_b$")
ax = axes[1]
plot.trajectory(sol, ax=ax, dims=(1, 3))
ax.axvline(vb, color="#CC3311", linewidth=1.0)
ax.axhline(vb, color="#CC3311", linewidth=1.0)
ax.set_xlabel("$v_1$")
ax.set_ylabel("$v_2$")
ax.set_title("projection on $(v_1, v_2)$: the surfaces are the red lines")

# %%
# A gene network: sliding on a threshold, then a singular steady state
# ----------------------------------------------------------------------
# Piecewise-linear gene regulatory models (Glass, de Jong) multiply step functions
# :math:`s^\pm(x_j, \theta)`. Gene 1 represses itself and is repressed by gene 2, which
# gene 1 activates (a negative feedback loop):
#
# .. math:: \dot x_1 = 2\, s^-(x_1, 1)\, s^-(x_2, 1) - x_1, \qquad
#           \dot x_2 = 3\, s^+(x_1, 1) - x_2 .
#
# :func:`filippov.gene_network` builds it. The threshold :math:`x_1 = 1` attracts from
# both sides below :math:`x_2 = 1` (a "singular domain": gene 1 is held at its threshold),
# and the intersection of the thresholds is a Filippov equilibrium. From
# :math:`(0.5, 2)` the solution crosses :math:`x_2 = 1` at :math:`\ln 2`, reaches
# :math:`x_1 = 1` at :math:`\ln 3.5`, slides up to :math:`(1, 1)` and stops there at
# :math:`\ln 6.5` (closed forms checked in the tests).
net = fp.gene_network(
    [[(2.0, [(0, "-"), (1, "-")])], [(3.0, [(0, "+")])]], [1.0, 1.0], [(0, 1.0), (1, 1.0)]
)
runs = [fp.solve(net, x0, (0.0, 4.0)) for x0 in ([0.5, 2.0], [2.2, 0.3], [0.1, 0.1])]
for run in runs:
    print([(round(ev.t, 10), ev.kind, ev.indices) for ev in run.events])
print("ln 2, ln 3.5, ln 6.5 =", np.log([2.0, 3.5, 6.5]))
ax = plot.piecewise_portrait(net, (0.0, 2.4), (0.0, 2.6), trajectories=runs)
ax.set_title("regions shaded; thresholds drawn by kind (sliding: thick red)")

# %%
# Codimension 2: Stewart's hull and the bilinear selection differ
# -----------------------------------------------------------------
# On an intersection of two surfaces the sliding velocities of the convex hull form, in
# general, a segment: the Stewart selection takes the minimal-norm weights and flags the
# choice (``unique=False``); ``selection="bilinear"`` takes Dieci and Lopez's bilinear
# interpolation of the four fields, which is unique. With the fields below the two
# drift along the :math:`z` axis at :math:`11/38` and :math:`3/10`.
XY = {(-1, -1): (2.0, 1.0), (1, -1): (-1.0, 2.0), (-1, 1): (1.0, -1.0), (1, 1): (-1.0, -2.0)}


def corner_field(x, signs):
    return np.array([*XY[signs], 1.0 if signs == (1, 1) else 0.0])


for selection in ("stewart", "bilinear"):
    system = fp.stewart_system(
        corner_field, lambda x: x[:2], jac=lambda x: np.eye(3)[:2], n=3, selection=selection
    )
    s = fp.solve(system, [-1.0, -0.75, 0.0], (0.0, 1.65))
    print(f"{selection:>8}: z(1.65) = {s(1.65)[2]:.12f}, unique = {s.events[-1].unique}")
print(f"closed forms: 11/38 = {11 / 38:.12f}, 3/10 = {0.3:.12f}")
plt.show()
