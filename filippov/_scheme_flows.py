"""Which flow a scheme discretizes, and why it is not the flow it is compared with.

Shared by :mod:`filippov.comparison` (``compare``, ``convergence_study``) and
:mod:`filippov.sweeps` (``run="compare"``). A scheme states its flow by ``norm_name`` and
:attr:`filippov.schemes.Scheme.flow`.
"""

from __future__ import annotations

__all__ = ["RELAY_OF_CONSTRAINT", "flow_mismatch"]

#: The relay norm of a steepest-descent flow for each constraint norm (a scheme's
#: ``norm_name``): the relay is the constraint's dual.
RELAY_OF_CONSTRAINT = {"linf": "l1", "l1": "linf", "l2": "l2"}
CONSTRAINT_OF_RELAY = {v: k for k, v in RELAY_OF_CONSTRAINT.items()}
#: The steepest-descent flow of each constraint norm and the scheme that is its Euler step.
STEEPEST_DESCENT = {
    "linf": ("the sign flow x' ∈ −Sign(∇f)", "SignGD"),
    "l1": ("the greedy coordinate flow", "GreedyCD"),
    "l2": ("the normalized gradient flow x' = −∇f/‖∇f‖₂", "NormalizedGD"),
}
#: What a scheme's ``flow`` other than "steepest-descent" is, and how to compare with it.
OTHER_FLOWS = {
    "gradient": (
        "the gradient flow x' = −∇f",
        "The gradient flow is a smooth ODE: compare with it built as a system without "
        "switching (B = 0) and without an objective, "
        "fp.FilippovSystem(lambda x: -obj.grad(x), np.zeros((n, 1)), lambda x: np.ones(1), "
        "'l1', jac_h=lambda x: np.zeros((1, n)))",
    ),
}


def flow_mismatch(
    scheme: str, norm_name: str, flow: str, relay: str, what: str = "`system`"
) -> str | None:
    """Why the scheme named ``scheme`` (of ``norm_name`` and ``flow``, see
    :attr:`filippov.schemes.Scheme.flow`) does not discretize the steepest-descent flow
    whose relay norm is ``relay`` (``what``, in the message), as the end of an error
    message; ``None`` when it does.
    (Callers ask only of systems with an objective: one built by hand without one may be
    any flow, the gradient flow among them.)"""
    constraint = CONSTRAINT_OF_RELAY.get(relay, relay)
    target, euler = STEEPEST_DESCENT.get(constraint, ("", ""))
    target = f"the {constraint} flow" + (f" ({target})" if target else "")
    if flow != "steepest-descent":
        # (GD against the l2 flow reported a "tracking error" of 2.2 at every step size:
        # it follows the same orbits at another speed)
        own, how = OTHER_FLOWS.get(flow, (f"the {flow!r} flow", ""))
        return (
            f"{scheme}, which discretizes {own}, not a steepest-descent flow, but {what} "
            f"is {target}"
            + (f", whose Euler step is {euler}" if euler else "")
            + ". "
            + (f"{how}." if how else "Compare a scheme with the flow it discretizes.")
        )
    if RELAY_OF_CONSTRAINT.get(norm_name) != relay:
        # (SignGD against the greedy flow gave an "order" of 0.003 with errors of 1)
        return (
            f"{scheme}, which discretizes the {norm_name} steepest-descent flow, but "
            f"{what} is {target}; compare a scheme with the flow it discretizes."
        )
    return None
