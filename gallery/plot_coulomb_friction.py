"""
Dry friction: stick and slip
============================

A mass on a spring with dry (Coulomb) friction,

.. math:: m\\ddot q + kq \\in -\\mu \\operatorname{Sign}(\\dot q),

is the classical Filippov system. In the state :math:`x = (q, v)` the switching surface is
:math:`v = 0`. Where the spring force is weaker than the friction, :math:`|kq| \\le \\mu`,
both sides push onto it: the mass *sticks* (sliding with zero velocity). Elsewhere the
surface is crossed: the mass turns around and slips back. The band's ends
:math:`q = \\pm\\mu/k` are fold points.

Between turning points the motion is a half-period of a harmonic oscillator centred at
:math:`\\mp\\mu/k`, so the amplitude drops by exactly :math:`2\\mu/k` per half-cycle
until a turning point falls inside the stick band.
"""

# %%
# Solve from rest at :math:`q = 1.9`
# ----------------------------------
import matplotlib.pyplot as plt

import filippov as fp
from filippov import plot

mu, k = 0.3, 1.0
system = fp.coulomb_oscillator(mu=mu, stiffness=k)
sol = fp.solve(system, [1.9, 0.0], (0.0, 15.0))
print(sol.summary())

# %%
# The turning points are the crossings of :math:`v = 0`; their distances from the origin
# follow :math:`|q_j| = 1.9 - 2j\mu/k` until the mass sticks.
turns = [abs(ev.x[0]) for ev in sol.events if ev.kind in ("crossing", "sliding-entry")]
expected = [1.9 - 2 * j * mu / k for j in range(1, len(turns) + 1)]
for j, (q, e) in enumerate(zip(turns, expected, strict=True), start=1):
    print(f"turning point {j}: |q| = {q:.12f} (closed form {e:.12f})")

# %%
# The picture
# -----------
# Left: the phase portrait with the stick band (thick, sliding) between two folds, and
# solutions from three initial states. Right: position and velocity against time.
starts = [[1.9, 0.0], [-1.2, 0.9], [0.2, -1.4]]
sols = [sol] + [fp.solve(system, x0, (0.0, 15.0)) for x0 in starts[1:]]
fig, axes = plt.subplots(1, 2, figsize=(12, 5.0), layout="constrained")
plot.phase_portrait(
    system,
    (-2.0, 2.0),
    (-1.9, 1.9),
    ax=axes[0],
    trajectories=sols,
    density=0.8,
    title=f"Coulomb oscillator, $\\mu/k = {mu / k:g}$",
    legend="outside",
)
axes[0].set_xlabel("position $q$")
axes[0].set_ylabel("velocity $v$")
plot.time_series(sol, ax=axes[1], samples=600, labels=["position $q(t)$", "velocity $v(t)$"])
axes[1].axhspan(-mu / k, mu / k, color="#CC3311", alpha=0.1, label="stick band $|q| \\leq \\mu/k$")
axes[1].legend(fontsize="small")
axes[1].set_title("the solution from $q = 1.9$")

# %%
# The engine finds the final sliding entry where the turning point lies inside the band:
# from then on the selection keeps :math:`v = 0` with the relay value
# :math:`\lambda = -kq/\mu \in (-1, 1)` — the friction force exactly balances the spring —
# and the solution is at rest.
