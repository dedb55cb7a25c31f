"""
How long to the valley, how long to the minimizer: an arrival-time map
======================================================================

The sign flow :math:`\\dot x \\in -\\operatorname{Sign}(\\nabla f(x))` of the slope
example

.. math:: f(x) = \\tfrac12 (x_1 - a x_2)^2 + \\tfrac12 (x_2 + 3)^2, \\qquad a = 0.5,

moves diagonally at unit speed per coordinate until it meets a switching manifold; the
valley :math:`x_1 = a x_2` (:math:`\\partial_1 f = 0`) is a *sliding* manifold, and the
solution then slides along it to the minimizer :math:`x^\\star = (-3a, -3)`, where it stops
(see :ref:`sphx_glr_auto_examples_plot_slope_switching_sliding.py`).

How long each start takes is a question about *every* start: here a
300 × 300 grid of initial states — 90 000 Filippov solutions on the exact path, one table
row each — computed by :func:`filippov.sweep` on a local process pool.
"""

# %%
# The sweep
# ---------
# :func:`filippov.grid` lays out the initial states (the first coordinate varying
# fastest); :func:`filippov.sweep` runs :func:`filippov.solve` from each of them, in
# chunks, on a process pool with one worker per CPU, and returns a pandas table with one
# row per run: its inputs, its status, the time of the first sliding entry
# (``t_sliding_entry``), the arrival time at the equilibrium (``t_stationary``), the time
# spent sliding, the events counted by kind and the final state.
import os
import time

import matplotlib.pyplot as plt
import numpy as np

import filippov as fp
from filippov import plot
from filippov.objectives import slope

a = 0.5
flow = fp.steepest_descent_flow(slope(a), norm="linf")
# The docs build renders the 300 x 300 grid; the test suite, which runs every gallery
# script as a smoke test, asks for a coarser one through FILIPPOV_GALLERY_GRID.
num = int(os.environ.get("FILIPPOV_GALLERY_GRID", "300"))
starts = fp.grid((-8.0, 4.0), (-8.0, 2.0), num=num)

tic = time.perf_counter()
table = fp.sweep(slope(a), starts, t_span=(0.0, 40.0))
elapsed = time.perf_counter() - tic
print(f"{len(table)} runs in {elapsed:.1f} s ({1e3 * elapsed / len(table):.2f} ms per run)")
print(table["status"].value_counts().rename("runs by status").to_string())
print(table[["x0_0", "x0_1", "t_sliding_entry", "t_stationary", "n_events"]].head())

# %%
# Every run arrived, and every run ended at the minimizer:
print(
    "largest distance of a final state to x*:",
    float(np.abs(table[["xf_0", "xf_1"]].to_numpy() - [-3 * a, -3.0]).max()),
)

# %%
# Two maps
# --------
# For :math:`a = 0.5` both switching manifolds are sliding: the valley
# :math:`\partial_1 f = 0` and :math:`\partial_2 f = 0` (drawn over the maps). Left: the
# time to reach the first of them. It vanishes on them and grows linearly away from them
# (the flow meets a manifold at a constant normal speed); the bright rays ending at the
# minimizer separate the starts that meet one manifold first from those that meet the
# other (along them the straight path runs into the minimizer, where the two meet). Right: the arrival time at the
# minimizer — the time to a manifold plus the time sliding along it (on the valley
# :math:`x_2` moves at unit speed and :math:`x_1 = a x_2` at speed :math:`a`; on
# :math:`\partial_2 f = 0`, :math:`x_1` moves at unit speed and :math:`x_2` at speed
# :math:`a/(1+a^2)`).
fig, axes = plt.subplots(1, 2, figsize=(12, 5.0), sharey=True, layout="constrained")
plot.arrival_time_map(table, flow, value="t_sliding_entry", ax=axes[0], legend=False)
plot.arrival_time_map(table, flow, value="t_stationary", ax=axes[1])
axes[1].set_ylabel("")
for ax in axes:
    ax.set_aspect("equal")

# %%
# A closed form to check against
# ------------------------------
# Below the valley and above the manifold :math:`\partial_2 f = 0` both partial
# derivatives have fixed signs, so the solution moves on a straight diagonal line and the
# time to the valley is the root of a linear function: from :math:`x_0` with
# :math:`\partial_1 f(x_0) = x_1 - a x_2 > 0` and :math:`\partial_2 f(x_0) > 0` the
# velocity is :math:`(-1, -1)`, so :math:`\partial_1 f` decreases at rate :math:`1 - a`
# and the valley is reached at :math:`t = (x_1 - a x_2)/(1 - a)`.
x1, x2 = table["x0_0"].to_numpy(), table["x0_1"].to_numpy()
g1 = x1 - a * x2
g2 = -a * g1 + x2 + 3.0
both_positive = (g1 > 0.05) & (g2 > 0.05)
predicted = g1 / (1 - a)
# Starts whose straight line meets the other manifold first switch on the way.
g2_at_arrival = g2 - (1 - a + a * a) * predicted  # d(∂₂f)/dt = a - (1 + a²)
direct = both_positive & (g2_at_arrival > 0)
err = np.abs(table["t_sliding_entry"].to_numpy()[direct] - predicted[direct]).max()
print(f"{direct.sum()} starts checked against the closed form; largest error {err:.1e}")
