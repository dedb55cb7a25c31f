"""Siconos Moreau–Jean time stepping of a linear relay system, run in the *system* Python.

Debian's ``python3-siconos`` installs into the system interpreter, not into a virtual
environment, so the runner executes this file as ``/usr/bin/python3 _siconos_worker.py``
with the problem as JSON on stdin and reads the trajectory as JSON on stdout. It must not
import filippov or anything outside the standard library, numpy and siconos.

System: ``x' = A x + c + Bs λ_s``, ``y = C x + e``, ``λ_s`` from Siconos's ``RelayNSL`` on
``[−1, 1]``. Siconos's relay gives ``λ_s ∈ −Sign(y)`` (checked on the slope example, where
``Bs = +I`` reproduces the sign flow ``x' ∈ −Sign(∇f)``), so ``Bs`` is filippov's ``B``
of ``x' ∈ c0 − B Sign(h)``. Integrator: ``EulerMoreauOSI(theta)`` (``theta = 1``: the
implicit Euler / Moreau scheme), one-step problem ``Relay`` with Siconos's default solver.
"""

import json
import sys
import time

import numpy as np


def main() -> None:
    spec = json.load(sys.stdin)
    import siconos.kernel as sk

    A = np.array(spec["A"], dtype=float)
    c = np.array(spec["c"], dtype=float)
    Bs = np.array(spec["B"], dtype=float)
    C = np.array(spec["C"], dtype=float)
    e = np.array(spec["e"], dtype=float)
    x0 = np.array(spec["x0"], dtype=float)
    h, T, theta = float(spec["h"]), float(spec["T"]), float(spec.get("theta", 1.0))
    every = int(spec["save_every"])
    cap = float(spec["cap"])
    m = C.shape[0]
    t_start = time.perf_counter()
    ds = sk.FirstOrderLinearTIDS(x0, A)
    if np.any(c):
        ds.setbPtr(c)
    rel = sk.FirstOrderLinearTIR(C, Bs)
    rel.setePtr(e)
    inter = sk.Interaction(sk.RelayNSL(m), rel)
    nsds = sk.NonSmoothDynamicalSystem(0.0, T)
    nsds.insertDynamicalSystem(ds)
    nsds.link(inter, ds)
    sim = sk.TimeStepping(nsds, sk.TimeDiscretisation(0.0, h), sk.EulerMoreauOSI(theta), sk.Relay())
    X = [x0.copy()]
    k = 0
    status, reason = "ok", ""
    while sim.hasNextEvent():
        sim.computeOneStep()
        k += 1
        if k % every == 0:
            X.append(np.array(ds.x(), dtype=float).copy())
        sim.nextStep()
        if time.perf_counter() - t_start > cap:
            status, reason = "did not finish", f"wall-clock cap {cap:g} s reached at t = {k * h:g}"
            break
    wall = time.perf_counter() - t_start
    json.dump(
        {"X": np.array(X).tolist(), "wall": wall, "steps": k, "status": status, "reason": reason},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
