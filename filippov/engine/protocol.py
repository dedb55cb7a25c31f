"""The integration-path protocol: what each of the engine's paths provides.

A *path* integrates one kind of system from event to event (in the spirit of scipy's
``OdeSolver``: a stateful object with one ``step``). The driver,
:func:`filippov.engine.solve`, owns everything that is the same for every path: the
event limit, the accumulation (Zeno) check, the stationary stop, failure handling and
the end-of-run self-check. A path owns its mathematics only:

* ``unsupported(system)`` says why the path cannot run a system (``None`` when it can);
* ``Options`` is a frozen dataclass of the options the path reads, built by ``solve``
  from its keywords (or passed whole as ``solve(..., options=...)``);
* ``advance()`` moves to the next event, recording the segment up to it and the events
  at it into the recorder, and returns ``None``; or it ends the run and returns a
  :class:`Finished` (``t_end`` reached, or a failure) or a :class:`Rest` (a Filippov
  equilibrium, recorded by the driver).

A new path (say, for a new family of systems) subclasses :class:`IntegrationPath` and is
passed as ``solve(..., method=MyPath)``: the driver needs no change.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from filippov._validation import FloatArray

if TYPE_CHECKING:
    from filippov._recorder import Recorder
    from filippov.solution import Mode

__all__ = [
    "REACHED_END",
    "Finished",
    "IntegrationPath",
    "PathFailure",
    "Rest",
    "SteppedPath",
    "cyclic_gc_paused",
    "serial_blas",
]


@dataclass(frozen=True)
class Finished:
    """The end of a run other than rest: ``status`` 0 (``t_end`` reached) or negative."""

    status: int
    message: str


#: The end of a run that reached ``t_end``.
REACHED_END = Finished(0, "reached the end of t_span")


@dataclass(frozen=True, eq=False)
class Rest:
    """A Filippov equilibrium reached at ``t``: the driver records the ``"stationary"``
    event (unless ``record_event`` is false: the path recorded it already) and the
    segment at rest up to ``t_end``.

    Attributes
    ----------
    t, x : float, ndarray
        Where the run came to rest (path time τ).
    free : sequence of int
        The switching functions held at zero there.
    mode_before, mode : Mode or None, Mode
        The mode before the stationary event and the mode at rest.
    lam : ndarray
        The relay values at rest (recorded with the resting segment).
    unique : bool
        Whether staying at rest is the only Filippov solution from there.
    note : str
        Recorded with the event; also appended to the run's message.
    """

    t: float
    x: FloatArray
    free: Any
    mode_before: Mode | None
    mode: Mode
    lam: FloatArray
    unique: bool = True
    note: str = ""
    record_event: bool = True


class PathFailure(Exception):
    """A path cannot go on: the run ends with ``status`` and ``message``, the partial
    solution kept (the one internal failure exception of the engine's paths)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class IntegrationPath(ABC):
    """One integration path of the engine (see the module docstring).

    Parameters
    ----------
    system : FilippovSystem or PiecewiseSystem
        The system, for which ``unsupported(system)`` returned ``None``.
    x0 : ndarray
        The initial state (validated).
    horizon : float
        The end of the run in path time τ = t − t0 (the path runs from τ = 0).
    options : Options
        The path's options.
    recorder : Recorder
        Where segments and events go.
    """

    #: The ``method`` name ``solve`` knows the path by.
    name: ClassVar[str]
    #: The frozen dataclass of the path's options.
    Options: ClassVar[type]
    #: Statuses with which ``method="auto"`` retries the run on the next candidate path.
    retry_on: ClassVar[frozenset[int]] = frozenset()

    def __init__(
        self, system: Any, x0: FloatArray, horizon: float, options: Any, recorder: Recorder
    ) -> None:
        self.system = system
        self.x0 = x0
        self.horizon = horizon
        self.options = options
        self.recorder = recorder

    @classmethod
    @abstractmethod
    def unsupported(cls, system: Any) -> str | None:
        """Why the path cannot integrate ``system``, or ``None`` when it can."""

    @classmethod
    def supports(cls, system: Any) -> bool:
        """Whether the path can integrate ``system``."""
        return cls.unsupported(system) is None

    @property
    def label(self) -> str:
        """The method name recorded in the solution."""
        return self.name

    def running(self) -> contextlib.AbstractContextManager[object]:
        """Process-wide settings held while the path runs (none by default)."""
        return contextlib.nullcontext()

    def certify_tolerances(self) -> tuple[float, float] | None:
        """The ``(rtol, atol)`` of the state's drift off its manifolds that the end-of-run
        self-check allows (``(0, 0)`` for a path exact to rounding), or ``None`` when the
        self-check does not apply to the path's systems."""
        return (0.0, 0.0)

    @abstractmethod
    def advance(self) -> Finished | Rest | None:
        """Move to the next event (``None``), or end the run (``Finished`` / ``Rest``).

        Raises
        ------
        PathFailure
            When the path cannot go on (the driver ends the run with its status).
        """


class SteppedPath(IntegrationPath):
    """A path written as one generator: ``steps()`` yields once before each segment that
    ends in an event (where the driver checks the event limit and accumulation) and
    returns how the run ended. Why a generator: a path's loop keeps a dozen local
    arrays and closures from one event to the next, and a generator keeps them as they
    are, without turning each into an attribute read on every event."""

    def __init__(
        self, system: Any, x0: FloatArray, horizon: float, options: Any, recorder: Recorder
    ) -> None:
        super().__init__(system, x0, horizon, options, recorder)
        self._steps: Generator[None, None, Finished | Rest] | None = None

    @abstractmethod
    def steps(self) -> Generator[None, None, Finished | Rest]:
        """The path's loop (see the class docstring)."""

    def advance(self) -> Finished | Rest | None:
        if self._steps is None:
            self._steps = self.steps()
        try:
            next(self._steps)
        except StopIteration as stop:
            return stop.value
        return None


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the exact path runs, then restore it.

    Why: an exact-path run allocates a few records per event (mode, segment, events), and
    every few hundred allocations trigger a collection that walks the objects of the
    whole process — all the records of this run and anything else alive. None of these
    records refers back to another in a cycle (reference counting frees whatever is
    dropped, collector or not), and no user code runs inside the loop, so the collector
    has nothing to find there. Measured on the d = 1000 benchmark sign flow, alternating
    in one process: 6 % faster with nothing else alive, 10 % with earlier solutions kept.
    The collector state is process-wide: it is only re-enabled if it was enabled before.

    After a long pause the objects allocated meanwhile (the run's records, alive in the
    solution) are moved to the oldest generation before the collector is re-enabled
    (``gc.freeze()`` then ``gc.unfreeze()``, two list splices), where the collector would
    put them anyway after two collections. Why: otherwise the first allocation after the
    pause starts a collection of the youngest generation that walks all of them, the
    ``m`` signs of every mode included: 40–45 ms of CPU after the d = 1000 benchmark sign
    flow (under load), about 5 % of its solve. The price: cyclic garbage that other code
    made during the pause is reclaimed by the next full collection instead of a young one.
    Objects someone else froze (``gc.get_freeze_count() > 0``) are never touched: then
    nothing is moved.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_count()[0] > _PROMOTE_AFTER and gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


#: Allocations during a pause of the collector beyond which :func:`cyclic_gc_paused`
#: moves them to the oldest generation when it ends (short runs are left alone).
_PROMOTE_AFTER = 10_000
#: The BLAS limit of this process while paths run and the thread-pool controller that
#: set it: ``[limit, controller]`` (each ``None`` until used; see :func:`serial_blas`).
_BLAS_STATE: list[Any] = [None, None]
_BLAS_LOCK = threading.Lock()


@contextlib.contextmanager
def serial_blas() -> Iterator[None]:
    """Limit BLAS to one thread while the exact, continuation or event path runs, and while
    the driver checks a run's end state.

    Why: every event does a few matrix-vector products and rank-one updates on a few MB,
    which are memory bound, interleaved with short numpy operations. OpenBLAS's worker
    threads spin between those calls against the Python thread: the sign flow of the
    d = 1000 benchmark quadratic took 13.8 s with two threads on a two-core machine and
    2.9 s with one. Small systems too: a network's objective takes Gram products of
    ``m·c × n`` Jacobians, and the ℓ∞ flow of a 67-parameter network took 7.7-9.6 s
    with two threads on a two-core machine that ran another process, against 1.9-2.1 s
    with one. ``threadpoolctl`` (the scikit-learn team's library) changes the limit and
    restores it afterwards; its controller, made once, costs 0.03 ms a call (a fresh
    ``threadpool_limits`` 0.5-2 ms).

    The limit is process-wide, and the thread that set it restores it when it leaves,
    whether or not runs in other threads are still inside (they go on with BLAS's
    threads: slower, never wrong). Restored by another thread while the one that set it
    was alive, OpenBLAS 0.3.31 kept one thread for good; and runs that each saved and
    restored the setting, leaving in another order, also left the process at one.
    """
    with _BLAS_LOCK:
        # (the first in sets the limit and is the one to restore it)
        owner = _BLAS_STATE[0] is None
        if owner:
            if _BLAS_STATE[1] is None:
                from threadpoolctl import ThreadpoolController  # (first use: ~20 ms)

                _BLAS_STATE[1] = ThreadpoolController()
            _BLAS_STATE[0] = _BLAS_STATE[1].limit(limits=1, user_api="blas")
    try:
        yield
    finally:
        if owner:
            with _BLAS_LOCK:
                _BLAS_STATE[0].restore_original_limits()
                _BLAS_STATE[0] = None
