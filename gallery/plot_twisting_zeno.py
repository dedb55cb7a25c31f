"""
The twisting controller: infinitely many switches in finite time
================================================================

The twisting algorithm of sliding-mode control,

.. math:: \\dot x_1 = x_2, \\qquad \\dot x_2 \\in -a\\operatorname{Sign}(x_1)
          - b\\operatorname{Sign}(x_2), \\qquad a > b > 0,

drives the state to the origin in finite time while switching infinitely often: a
*Zeno* point. Each half-turn around the origin scales the speed at the crossings of
:math:`x_1 = 0` by :math:`\\rho = \\sqrt{(a - b)/(a + b)}`, so the switching times form a
geometric series with a finite sum. The engine cannot (and should not) integrate
infinitely many modes: its Zeno guard detects the accumulation, extrapolates the limit
time and state, records an ``accumulation`` event and returns the partial solution with
status −2.
"""

# %%
# Solve and compare with the closed form
# --------------------------------------
# From :math:`x_0 = (1, 0)` the first half-turn takes :math:`\sqrt 2` (speed :math:`\sqrt2`
# at :math:`x_1 = 0`), then a half-turn that starts with speed :math:`v` lasts
# :math:`v/(a+b) + \rho v/(a-b)`, so
# :math:`t^\star = \sqrt2\,\bigl(1 + (1/(a+b) + \rho/(a-b))/(1-\rho)\bigr)`.
import matplotlib.pyplot as plt
import numpy as np

import filippov as fp
from filippov import plot

a, b = 2.0, 1.0
system = fp.twisting_system(a=a, b=b)
sol = fp.solve(system, [1.0, 0.0], (0.0, 6.0))
print(sol.message)
print({k: v for k, v in sol.counts.items() if v})
rho = np.sqrt((a - b) / (a + b))
t_star = np.sqrt(2.0) * (1.0 + (1.0 / (a + b) + rho / (a - b)) / (1.0 - rho))
acc = next(ev for ev in sol.events if ev.kind == "accumulation")
print(
    f"extrapolated t* = {acc.t!r}, closed form t* = {t_star!r}, "
    f"difference {abs(acc.t - t_star):.1e}"
)

# %%
# The picture
# -----------
# Top: the phase portrait — both axes are crossing manifolds, and the origin is a fold of
# :math:`\{x_1 = 0\}` (there :math:`\dot x_1 = x_2 = 0` on both sides) — and the same
# portrait zoomed by :math:`\rho^{-8} = 81` in :math:`x_1` and :math:`\rho^{-4} = 9` in
# :math:`x_2`: four half-turns later the spiral repeats itself (:math:`x_1` scales like the
# square of the speed, :math:`x_2` like the speed). Bottom: the state against time,
# and the distance in time to the accumulation point at the crossings of
# :math:`x_1 = 0`, which decreases by :math:`\rho` per half-turn.
fig, axes = plt.subplots(2, 2, figsize=(12, 10), layout="constrained")
plot.phase_portrait(
    system,
    (-1.2, 1.2),
    (-1.6, 1.6),
    ax=axes[0, 0],
    trajectories=[sol],
    title="twisting controller, $a = 2$, $b = 1$",
)
s2 = rho**4  # four half-turns later the speed is rho**4 = 1/9 times smaller
plot.phase_portrait(
    system,
    (-1.2 * s2**2, 1.2 * s2**2),
    (-1.6 * s2, 1.6 * s2),
    ax=axes[0, 1],
    trajectories=[sol],
    legend=False,
    title="the same, zoomed 81× in $x_1$ and 9× in $x_2$",
)
plot.time_series(sol, ax=axes[1, 0], samples=2000)
axes[1, 0].axvline(acc.t, color="#999999", linestyle=":")
axes[1, 0].set_title("state against time ($t^\\star$ dotted)")

crossings = np.array([ev.t for ev in sol.events if ev.kind == "crossing" and ev.indices == (0,)])
k = np.arange(len(crossings))
ax = axes[1, 1]
ax.semilogy(k, acc.t - crossings, "o", color="#0077BB", label="$t^\\star - t_k$ (engine)")
ax.semilogy(
    k,
    (t_star - crossings[0]) * rho**k,
    "--",
    color="black",
    label=f"$\\propto \\rho^k$, $\\rho = \\sqrt{{(a-b)/(a+b)}} = {rho:.3f}$",
)
ax.set_xlabel("crossing $k$ of $x_1 = 0$")
ax.set_ylabel("time to the accumulation point")
ax.set_title("a geometric series of switching times")
ax.legend()

# %%
# The engine located every crossing exactly on the piecewise-quadratic arcs until the
# spacing fell below its threshold, then extrapolated the geometric tail: the limit time
# agrees with the closed form to about :math:`10^{-14}`. After :math:`t^\star` the
# state rests at the origin, a Filippov equilibrium (:math:`0 \in -a[-1, 1] - b[-1, 1]`).
