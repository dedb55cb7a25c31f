"""The vocabulary both result types share: status codes, event kinds and ``stats`` keys.

A :class:`~filippov.FilippovSolution` (continuous runs) and a
:class:`~filippov.DiscreteTrajectory` (discrete runs) report how a run ended with one
:class:`Status` and what it cost with one read-only ``stats`` mapping holding the keys
:data:`STATS_KEYS`: the same code and the same key mean the same thing in both
(docs/design.rst, "Results and their vocabulary"). A foundation module (no filippov
imports), so that ``schemes.trajectory`` need not import the solution package.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["EVENT_KINDS", "STATS_KEYS", "Status", "make_stats"]


class Status(enum.IntEnum):
    """How a run ended; ``status >= 0`` is a success, a failure keeps the partial result.

    An :class:`enum.IntEnum`: ``sol.status == 1`` and ``int(sol.status)`` work as with the
    plain integers of earlier versions.

    ========  ==========================  ===============================================
    code      name                        meaning
    ========  ==========================  ===============================================
    2         ``CALLBACK``                a discrete run stopped by its callback
    1         ``STATIONARY``              a stationary point was reached
    0         ``FINISHED``                reached the end (``t_span``, ``n_steps``,
                                          ``t_final``)
    −1        ``INTEGRATION_FAILED``      the integrator, a numerical routine or a step
                                          failed (e.g. an implicit Newton solve)
    −2        ``TOO_MANY_EVENTS``         ``max_events`` reached or a Zeno accumulation
    −3        ``NON_FINITE``              a non-finite value, or a pole or jump of a
                                          switching function
    −4        ``UNSUPPORTED``             a situation the paths do not integrate or
                                          cannot decide (singular selection, ...)
    −5        ``UNCERTIFIED``             the end-of-run self-check failed
    −6        ``MAX_STEPS``               a discrete run used ``max_steps`` before
                                          ``t_final``
    −10       ``RAISED``                  the run raised (:func:`filippov.sweep` rows)
    ========  ==========================  ===============================================

    Examples
    --------
    >>> from filippov import Status
    >>> Status(1).name, Status.NON_FINITE == -3, Status.MAX_STEPS < 0
    ('STATIONARY', True, True)
    """

    CALLBACK = 2
    STATIONARY = 1
    FINISHED = 0
    INTEGRATION_FAILED = -1
    TOO_MANY_EVENTS = -2
    NON_FINITE = -3
    UNSUPPORTED = -4
    UNCERTIFIED = -5
    MAX_STEPS = -6
    RAISED = -10

    @property
    def success(self) -> bool:
        """``self >= 0``."""
        return self >= 0

    def __str__(self) -> str:
        # the number, as before the enum: messages and tables print "status -3"
        return str(int(self))


#: Kinds of :class:`~filippov.solution.Event` (docs/theory.rst, "Events and their
#: classification"; "tie-entry"/"tie-exit" are the ℓ∞ names of entering/leaving a tie
#: facet; "accumulation" is an extrapolated Zeno point).
EVENT_KINDS: tuple[str, ...] = (
    "crossing",
    "sliding-entry",
    "repulsive",
    "exit",
    "tangency",
    "stationary",
    "tie-entry",
    "tie-exit",
    "accumulation",
)


def _kind_key(kind: str) -> str:
    return "n_" + kind.replace("-", "_")


#: Keys of ``stats`` (both result types; every key is present, 0 where it does not apply):
#:
#: * ``nfev`` -- evaluations of the right-hand side (for a discrete run: of the gradient,
#:   the field of the flow it discretizes);
#: * ``njev`` -- evaluations of its Jacobian (discrete runs: of the Hessian);
#: * ``nlu`` -- LU decompositions;
#: * ``n_selection_solves`` -- solves of the sliding selection (box / simplex / ball VI);
#: * ``n_steps`` -- integrator steps (the continuation path's accepted steps, a step cut
#:   at an event included; 0 on the exact path; discrete runs: steps of the scheme);
#: * ``n_events`` -- events of every kind (0 for a discrete run);
#: * ``n_crossing``, ``n_sliding_entry``, ... -- events of each kind of
#:   :data:`EVENT_KINDS`, ``-`` written ``_`` (the column names of :func:`filippov.sweep`).
STATS_KEYS: tuple[str, ...] = (
    "nfev",
    "njev",
    "nlu",
    "n_selection_solves",
    "n_steps",
    "n_events",
    *(_kind_key(kind) for kind in EVENT_KINDS),
)


def make_stats(
    counters: Mapping[str, int] | None = None,
    event_counts: Mapping[str, int] | None = None,
) -> MappingProxyType[str, int]:
    """A read-only ``stats`` mapping with every key of :data:`STATS_KEYS`.

    Parameters
    ----------
    counters : mapping of str to int, optional
        Values of the counter keys (``nfev``, ``n_steps``, ...); keys outside
        :data:`STATS_KEYS` are kept after the standard ones (a path may count more).
    event_counts : mapping of str to int, optional
        Events by kind (keys of :data:`EVENT_KINDS`); ``n_events`` is their sum.

    Returns
    -------
    types.MappingProxyType

    Examples
    --------
    >>> from filippov._status import make_stats
    >>> s = make_stats({"nfev": 12}, {"crossing": 2, "exit": 1})
    >>> s["nfev"], s["n_events"], s["n_crossing"], s["nlu"]
    (12, 3, 2, 0)
    """
    out = dict.fromkeys(STATS_KEYS, 0)
    for key, value in (counters or {}).items():
        out[key] = int(value)
    if event_counts is not None:
        for kind, value in event_counts.items():
            out[_kind_key(kind)] = int(value)
        out["n_events"] = sum(int(v) for v in event_counts.values())
    return MappingProxyType(out)
