"""Steepest-descent flows whose ``B = I`` is built lazily (``B_is_identity``): systems
pickled before that load and run, and the identity is never handed to a thread that
asked for another size."""

from __future__ import annotations

import base64
import pickle
import warnings
import zlib

import numpy as np

import filippov as fp
from filippov.systems import _GradientFlowSystem

#: ``pickle.dumps(steepest_descent_flow(Objective(np.sum, np.ones_like), "linf"))``, made
#: with the code of b84b17f (an objective of unknown dimension: ``B`` was then the static
#: method ``_GradientFlowSystem._eye``, pickled by its name), zlib-compressed, base64.
_OLD_UNSIZED_FLOW = (
    "eNptUU1LAzEQ9WPVWkFEESwqLJ70UvQv9KAXqaA/IGY3E5N2N7sm2dYKgl4EITfH/+tsxNqDub2Z9968mbwmX/cr"
    "S/GFHakLXdfVpO9mzkPpMOyxK8uFBuMvi2p6F8v4iWdv+IKnITGVLTFsz3UtJtX69cWw7URiWGXyHNVS6P3j1WfP"
    "YCsihk1isbwyzuMwrLBBqzj4VwEzaAUdNljgKypkjS68NhRg4wE89962vIN5uiobQe71BFw/4w5o5s1v5W+nZUN+"
    "ieFl258rMCTwVNs4SmJYM01Zz2g117RbhjX2QEFRpSQx4FihxzHjVqyzjPtckbbLHhsuLPc6j8hBzS3PCoio1EaX"
    "mu5BqMO8bWhdgR9krsA5VPuqR3UpfuA73lIopib1T2cjdgjFRjeS2FgbgWFXkrOHVGgpwYLJwWGThSRmjvR1NuI5"
    "3TA6JX/+XTbl1oAgb/xQR+Gk0EamlAtqcD4V4HL6nLSS6cKltrikgcAE9xyH6lj11OGwyfrfE/Hzyw=="
)


def test_flow_pickled_before_lazy_identity_loads_and_runs() -> None:
    flow = pickle.loads(zlib.decompress(base64.b64decode(_OLD_UNSIZED_FLOW)))
    x = np.array([0.25, -1.0, 2.0])
    f0, B, h = flow.evaluate(x)
    np.testing.assert_array_equal(f0, np.zeros(3))
    np.testing.assert_array_equal(B, np.eye(3))
    np.testing.assert_array_equal(h, np.ones(3))
    assert flow.B_is_identity
    # f = sum(x): the ℓ∞ flow moves every coordinate at unit speed, x(t) = x0 − t.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (finite-difference Hessian)
        sol = fp.solve(flow, x, (0.0, 1.5))
    np.testing.assert_allclose(sol(1.0), x - 1.0, atol=1e-12)
    # and it pickles again, to a system that still evaluates
    again = pickle.loads(pickle.dumps(flow))
    np.testing.assert_array_equal(again.evaluate(x[:2])[1], np.eye(2))


def test_unsized_flow_identity_has_the_asked_size_when_another_thread_stores_its_own() -> None:
    # The interleaving of two threads sharing a flow of unknown dimension, made
    # deterministic: right after this call stores its n × n identity, another stores an
    # (n + 1) × (n + 1) one. The call must still return its own.
    class Interleaved(_GradientFlowSystem):
        @property  # type: ignore[override]
        def _identity(self) -> np.ndarray:
            return self.__dict__.get("_kept", np.zeros((0, 0)))

        @_identity.setter
        def _identity(self, eye: np.ndarray) -> None:
            self.__dict__["_kept"] = np.eye(eye.shape[0] + 1)  # (the other thread's)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (finite-difference Hessian)
        flow = Interleaved(fp.Objective(np.sum, np.ones_like), "linf", "sum")
    for n in (2, 3):
        np.testing.assert_array_equal(flow.evaluate(np.zeros(n))[1], np.eye(n))
