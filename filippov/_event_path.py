"""The event-driven path: mode-by-mode integration of smooth fields.

In a mode (a fixed face of ``∂φ``) the velocity ``f0 − B λ(x)`` is smooth: ``λ`` is fixed
on the vertex part and, on the free part, solves the *equality* form of the selection
(sliding: ``ḣ_J = 0``; ties: equal rates). It is integrated with one of scipy's
``OdeSolver`` classes driven step by step, so that a failure mid-mode keeps every accepted
step. After each step one *guard* — the minimum of the distances to every face boundary,
positive inside the mode — is checked; a sign change is located by ``brentq`` on the
solver's dense output (the same root finding ``solve_ivp`` does for its events, here on a
single function so that ``m`` switching functions cost one evaluation, not ``m``). The
common event, a switching function reaching its surface, is located from ``h`` alone (no
Jacobian, no selection), and the step is then searched for earlier dips up to that time
only. Only the Jacobian rows of the free indices are ever evaluated, and each mode starts
with the step size the previous one ended with.

At an event the selection is re-solved on the candidate face (the variational
inequality of docs/theory.rst, "Modes and the sliding selection"), the event is
classified, the state is projected back onto the
manifolds that stay active (drift control) and a fresh mode starts. Guards of indices that
start a mode exactly on their boundary (just crossed or just exited) are offset by the zero
tolerance, so an event can never re-trigger at its own time: the mode and the direction
of the guard prevent it, the state is never nudged.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import DOP853, RK23, RK45, OdeSolution, OdeSolver

from filippov._certify import (
    MAX_CONDITION,
    component_scales,
    equilibrated_condition,
    initial_zero_rtol,
)
from filippov._event_location import (
    ModeDense,
    early_on_projected_path,
    locate_event,
    on_projected_path,
    release_offsets,
    scan_step,
    turning_point,
    without_late_offsets,
)
from filippov._l2_arrival import arrive_l2
from filippov._mode_field import (
    TIE_MARGIN_ULPS,
    Margins,
    ModeField,
    check_selection_precision,
    min_norm_correction,
    selection_beyond_precision,
)
from filippov._recorder import Recorder, make_mode, record_l1_transition
from filippov._rest import record_initial_leave, rest_is_unique
from filippov._stiffness import (
    AUTO,
    StiffnessTest,
    check_integration_options,
    explicit_name,
    integrators,
    name_the_switch,
)
from filippov._tie_repelling import REPELLING_NOTE, locate_turn
from filippov._validation import FloatArray, require_positive_limit
from filippov.engine.protocol import (
    REACHED_END,
    Finished,
    PathFailure,
    Rest,
    SteppedPath,
    serial_blas,
)
from filippov.norms import Norm, get_norm
from filippov.selection import (
    SelectionError,
    box_tolerances,
    is_p_matrix,
    is_pd_symmetric,
    is_symmetric,
    solve_box_vi,
)
from filippov.solution import Mode
from filippov.systems import FilippovSystem, consistent_relay

_EPS = np.finfo(float).eps
#: A step that grew by this factor or more is not carried to the next mode: the last
#: step's error estimate was at most (0.9 / 5)^8 ≈ 1e-6 of the tolerances (DOP853's
#: growth rule), nothing the next mode's curvature can be read from (see `_integrate_mode`).
_GROWTH_UNINFORMED = 5.0
#: A turn of the ℓ2 direction within a step is a pole of ``h`` (status −3) when ``‖h‖``
#: there is more than this many times its size at both ends of the step (a pole makes it
#: unbounded; a step over the minimum, a turn of the order of the ends), or where ``h``
#: reversed above everything the mode has seen (see `_flipped_at_a_pole`).
_POLE_FACTOR = 1e3
#: Restarts of a mode's integrator from the projected path at an early event (see
#: `early_on_projected_path`), at most: each puts the integrator back on the manifold,
#: and a mode whose drift keeps firing its guard early takes the event after that many.
_EARLY_RESTARTS = 4
#: Drift off a sliding manifold, in state tolerances, past which a mode's integrator is
#: restarted from the projected state (see `_integrate_mode`).
_DRIFT_RESTART = 10.0
#: The most an ℓ∞ relay's rest state is moved onto ``h = 0``, in tolerances (see
#: `_onto_zero_set`).
_REST_MOVE = 100.0
#: The largest factor by which a tangential arrival at an ℓ∞ rest may lengthen the rest
#: correction's move along the path (see `_arrival`).
_ARRIVAL_FACTOR = 1e8
#: The most Newton corrections of an ℓ∞ relay's rest state (see `_onto_zero_set`).
_REST_NEWTON = 8
#: The most a mode's start moves the state onto its manifold (`ModeField.start`), in
#: tolerances (``rtol·max(1, |x|) + atol``), or the square root of ``rtol`` on the state's
#: scale where that is more (see `_start_jump`).
_START_MOVE = 100.0

# Solutions pickled before the mode field and the event location moved to their own
# modules reference these classes here (event-path dense outputs hold the field): the
# old names stay importable so that those pickles still load.
_ModeDense = ModeDense
_ModeField = ModeField


#: Steps of one mode, each kept short by the accuracy (not by ``max_step``) and
#: `_CRAWL_STEP`, after which the run ends as a failure instead of crawling on (see
#: `_integrate_mode`).
_MAX_MODE_STEPS = 10_000
#: ... counted only when shorter than this fraction of the run's span: a smooth mode over
#: a long span (an oscillation that never reaches its surface) takes as many steps as it
#: needs, a crawl does not.
_CRAWL_STEP = 1e-5
#: An ℓ2 mode's steps are held to this fraction of the time ``‖h‖`` would take to vanish
#: at its current rate of shrinking (the field is singular there; see `_integrate_mode`) ...
_L2_ARRIVAL_STEP = 0.5
#: ... and to the time ``h`` takes to turn by this many radians.
_L2_TURN_STEP = 1.0


@dataclass(frozen=True)
class EventOptions:
    """Options of the event path (see :func:`filippov.solve`, which validates them).

    Attributes
    ----------
    integrator : str
        The scipy ``OdeSolver`` used inside each mode (a key of ``_stiffness.INTEGRATORS``), or
        ``"auto"``: DOP853, continued with Radau in a mode DOP853 finds stiff (see
        :mod:`filippov._stiffness`).
    rtol, atol : float
        Its tolerances.
    zero_tol : float
        Relative tolerance for reading zeros and ties of ``h`` off the state.
    stabilization : float
        Gain of the drift correction on sliding manifolds, in units of ``1/(t_end − t0)``.
    max_step : float
        The integrator's largest step (``inf``: no limit, the default; > 0). Each step is
        searched for sign changes of the guards at samples inside it, through the
        polynomial that interpolates them: a guard that varies much faster than the field
        -- an ``h`` oscillating along a mode whose field is constant, where one step spans
        the whole interval -- can go below zero and back unseen between the samples. A
        ``max_step`` below the guards' scale of variation resolves it.

    Raises
    ------
    TypeError, ValueError
        If a field is out of its range (``integrator`` not a known name, a tolerance not
        finite and > 0, ``zero_tol`` not in ``[0, 1)``, ``stabilization`` negative,
        ``max_step`` not > 0); the error names the field.

    Examples
    --------
    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov.engine import EventOptions
    >>> omega = 40.0  # h = cos(ωs) − 0.999 > 0 only near s = 2πk/ω: 7 roots in [0, 0.5]
    >>> system = fp.FilippovSystem(
    ...     np.array([1.0, 0.0]),  # s' = 1, y' = −sign(h(s))
    ...     np.array([[0.0], [1.0]]),
    ...     lambda x: np.array([np.cos(omega * x[0]) - 0.999]),
    ...     "l1",
    ...     jac_h=lambda x: np.array([[-omega * np.sin(omega * x[0]), 0.0]]),
    ... )
    >>> opts = EventOptions(max_step=0.05)
    >>> sol = fp.solve(system, np.zeros(2), (0.0, 0.5), method="events", options=opts)
    >>> len(sol.events), round(float(sol.x[-1, 1]), 5)
    (7, 0.48435)
    """

    integrator: str = AUTO
    rtol: float = 1e-10
    atol: float = 1e-12
    zero_tol: float = 1e-12
    stabilization: float = 10.0
    max_step: float = np.inf

    def __post_init__(self) -> None:
        check_integration_options(
            self.integrator, self.rtol, self.atol, self.zero_tol, self.stabilization
        )
        require_positive_limit(self.max_step, "max_step")


class EventPath(SteppedPath):
    """Mode-by-mode integration of any Lur'e system with a scipy ``OdeSolver``, events
    located on its dense output."""

    name = "events"
    Options = EventOptions

    @classmethod
    def unsupported(cls, system: Any) -> str | None:
        if not isinstance(system, FilippovSystem):
            return "it is not a FilippovSystem (Lur'e form); see method='piecewise'"
        return None

    @property
    def label(self) -> str:
        return f"events ({explicit_name(self.options.integrator)})"

    def running(self) -> contextlib.AbstractContextManager[object]:
        # Non-finite values are found by explicit checks (status −3) and near a pole
        # overflow is expected on the way there: numpy's warnings would only be noise.
        # One BLAS thread, as the other paths (`serial_blas`).
        stack = contextlib.ExitStack()
        stack.enter_context(np.errstate(all="ignore"))
        stack.enter_context(serial_blas())
        return stack

    #: The face to start in, instead of reading it off ``h(x0)`` (set by the driver when
    #: it hands a run over from another path in the middle of a mode: that path's mode,
    #: so that the run goes on in it and records no start-up events).
    initial_mode: Mode | None = None

    def certify_tolerances(self) -> tuple[float, float] | None:
        return 100.0 * self.options.rtol, 100.0 * self.options.atol

    def steps(self) -> Generator[None, None, Finished | Rest]:
        return (
            yield from _steps(
                self.system,
                self.x0,
                0.0,
                self.horizon,
                self.options,
                self.recorder,
                initial_mode=self.initial_mode,
            )
        )


def _steps(
    system: FilippovSystem,
    x0: FloatArray,
    t0: float,
    t_end: float,
    opts: EventOptions,
    rec: Recorder,
    initial_mode: Mode | None = None,
) -> Generator[None, None, Finished | Rest]:
    """Integrate ``system`` from ``(t0, x0)`` to ``t_end`` mode by mode (the loop of
    :class:`EventPath`), from the face ``initial_mode`` when given (see
    `EventPath.initial_mode`)."""
    norm = system.norm.name
    x = np.array(x0, dtype=float)
    t = float(t0)
    f0, B, hx = system.kernel_evaluate(x)
    m = hx.shape[0]
    if norm == "linf" and m == 1:
        return (
            yield from scalar_linf_as_l1(
                lambda named: _steps(l1_twin(system), x0, t0, t_end, opts, named), rec
            )
        )
    # Scale of h: its size at x0, or (when x0 lies on the manifolds, h(x0) = 0) the size
    # of its first-order variation over the state's scale. It sets the ℓ2 stopping radius,
    # the pole test and the tolerance of ties (|h_i| compared with max |h|, so on the scale
    # of the largest component).
    jac0 = system.kernel_jacobian(x, m)
    h_scale = _h_scale(hx, jac0, x)
    # (the same per component: each ℓ1 guard's depth is judged on its own scale)
    index_scales = np.maximum(
        np.abs(hx), np.max(np.abs(jac0), axis=1) * max(1.0, float(np.max(np.abs(x))))
    )
    tie_tol = opts.zero_tol * h_scale
    # Whether h_i is zero is decided per index, on the scale of h_i alone (component_scales):
    # against the largest component, a small but resolved component of a badly scaled
    # gradient read as zero and never moved (or was snapped to its manifold at t0).
    ztol = initial_zero_rtol(opts.zero_tol) * np.maximum(component_scales(jac0, x), 1e-300)
    # The margin an index starting on its boundary keeps from it (its guard's offset) must
    # cover the rounding of h_i along the motion, not only at x0: h = v of an oscillator
    # started at rest has scale 0 at x0 and rounding ~1e-17 after a half period. So it is
    # the row's size times the state's size (still per index, never the largest h), the
    # state's size at least 1 as for h_scale (a state started at 0 has no size of its own).
    margin_x0 = _guard_margin(jac0, x, opts.zero_tol)
    margin: Margins = margin_x0
    h_x0 = float(np.max(np.abs(hx), initial=0.0))
    v_scale = max(float(np.max(np.abs(f0))) + float(np.max(np.abs(B))), 1e-300)
    span = t_end - t0
    gain = opts.stabilization / span if span > 0 else 0.0
    tols = (opts.rtol, opts.atol)
    solver_cls, stiff_cls = integrators(opts.integrator)

    if initial_mode is None:
        sigma, free, offset, stationary = _initial_mode(
            system, x, t, norm, ztol, margin, tie_tol, rec
        )
    else:
        sigma = np.asarray(initial_mode.signs, dtype=float)
        free = np.asarray(initial_mode.free, dtype=np.intp)
        offset, stationary = np.zeros(m), False
    h_scale_x0 = h_scale
    stalls = 0
    # The step size the last mode ended with: the next mode starts with it (the field's
    # smoothness scale barely changes at an event; the solver shrinks a step that fails).
    h_next: float | None = None
    seed: tuple[FloatArray, FloatArray] | None = None
    while True:
        field = ModeField(system, norm, sigma, free, offset, h_scale, gain, rec)
        field.index_scales = index_scales
        field.rounding_scale = h_scale_x0
        if not stationary:
            check_selection_precision(field, x)
            x_start = field.start(x, seed)
            jump = _start_jump(x, x_start, tols, t, field.mode)
            if jump is not None:
                return jump
            x = x_start
            field.settle_offsets(x, margin, tie_tol)
            stationary = _is_stationary(field, x, v_scale, _state_tol(x, tols))
        if stationary:
            recorded = bool(rec.events) and (
                rec.events[-1].kind == "stationary" and rec.events[-1].t == t
            )
            if recorded:  # (its note goes into the run's message, as the other paths')
                unique, note = rec.events[-1].unique, rec.events[-1].note
            else:
                unique = _rest_is_unique(system, x, free, m, sigma)
                note = "" if unique else _REST_AT_ZERO_NOTE
            f0, B, hx = system.kernel_evaluate(x)
            if norm == "linf" and free.size == m and not sigma.any():
                # At rest on h = 0 the face is the whole ℓ1 ball, and λ is the one that keeps
                # h = 0 (0 for a gradient flow), read as at h = 0 (`_linf_rest_at_zero`).
                # With the tie set passed as free, the selection was the tie's, on the
                # simplex: the greedy flow's every rest was recorded with ‖λ‖₁ = 1, a
                # velocity −λ of size 1 at a rest.
                hx = np.zeros(m)
                free_lam: np.ndarray | None = None
            else:
                free_lam = free
            lam = consistent_relay(
                system.norm, f0, B, hx, system.kernel_jacobian(x, m), free=free_lam, signs=sigma
            ).lam
            return Rest(
                t, x, free, field.mode, field.mode, lam, unique, note, record_event=not recorded
            )
        yield
        t_new, x_new, hit, h_next = _integrate_mode(
            field, solver_cls, t, x, t_end, opts, rec, first_step=h_next, stiff_cls=stiff_cls
        )
        if hit is None:
            return REACHED_END
        if hit is _REST_AT_ZERO:
            # (every h_i is 0 where the sliding block degenerates and the velocity 0 is
            # in the relay's set: a rest on the whole face, see `_rest_at_zero_of_h`)
            t, x = t_new, x_new
            sigma, free, offset, stationary = np.zeros(m), np.arange(m), np.zeros(m), True
            continue
        stalls = stalls + 1 if t_new == t else 0
        if stalls > 2 * m + 4:
            return Finished(
                -4,
                f"no consistent mode found at t = {t:.12g}: {stalls} zero-length modes in a "
                f"row at x = {np.array2string(x, precision=12)}",
            )
        t, x = t_new, x_new
        # The margins where this event is (see `_EventMargins`).
        margin = _EventMargins(system, x, m, opts.zero_tol, margin_x0, h_x0)
        jac_event = None
        if norm == "linf":
            # The scale of h, and with it the tolerance of ties, is taken again at each
            # event, as at x0 (never above x0's; the ceiling of a tie's offsets stays on
            # x0's scale, see `ModeField.rounding_scale`). Kept at x0's, a greedy flow
            # started where |∇f| = 2e17 read every index within 1e-12 · 2e17 of the
            # largest as tied once |∇f| was 1e4, and was reported stationary there: the
            # self-check's −5 (or −4) on 20 of 20 Poisson models started so far, and on 2
            # of 12 from |∇f| ≈ 3e8. (The transition needs the whole Jacobian anyway: it
            # is passed on.)
            jac_event = system.kernel_jacobian(x, m)
            h_scale = min(h_scale_x0, _h_scale(field.evaluate(x)[2], jac_event, x))
            tie_tol = opts.zero_tol * h_scale
        t, x, sigma, free, offset, stationary, seed = _transition(
            system, field, t, x, hit, norm, margin, tie_tol, opts.rtol * span, rec, tols, t_end,
            jac_event,
        )  # fmt: skip
        if not stationary and t >= t_end:
            return REACHED_END  # (a rest the path gets to only after t_end)


def _l2_step_cap(h: FloatArray, h_rate: FloatArray) -> float:
    """The longest step of an ℓ2 mode at ``h`` moving at ``h_rate``: `_L2_ARRIVAL_STEP`
    of the time ``‖h‖`` takes to vanish at its rate of shrinking (where it shrinks), and
    the time ``h`` takes to turn by `_L2_TURN_STEP` radians (see `_integrate_mode`)."""
    size = max(float(np.linalg.norm(h)), 1e-300)
    radial = float(h @ h_rate) / size
    # (the turn alone: h growing toward a pole is not capped, so that the step over the
    # pole is taken and named as one, as before the caps; capped at a turn of 1 with the
    # growth counted, the steps closed in on the pole of log x and ended there, −1)
    turning = float(np.linalg.norm(h_rate - (radial / size) * h))
    cap = _L2_TURN_STEP * size / turning if turning > 0.0 else math.inf
    return min(cap, _L2_ARRIVAL_STEP * size / -radial) if radial < 0.0 else cap


def _h_scale(hx: FloatArray, jac: FloatArray, x: FloatArray) -> float:
    """The scale of ``h`` at ``x``: its size, or (where ``h`` is 0 or small, on the
    manifolds or near a rest) the size of its first-order variation over the state's
    scale (at least 1: a state at 0 has no size of its own)."""
    jac_scale = float(np.max(np.abs(jac), initial=0.0)) * max(1.0, float(np.max(np.abs(x))))
    return max(float(np.max(np.abs(hx), initial=0.0)), jac_scale, 1e-300)


def _guard_margin(jac: FloatArray, x: FloatArray, zero_tol: float) -> FloatArray:
    """The margin (guard offset) of each index starting a mode on its boundary, at ``x``.

    It must cover the rounding of ``h_i`` along the motion, not only where it is read:
    ``h = v`` of an oscillator started at rest has scale 0 at x0 and rounding ~1e-17
    after a half period. So it is the row's size times the state's size (per index, never
    the largest ``h``), the state's size at least 1 (a state at 0 has no size of its
    own), and at least the tolerance that reads ``h_i = 0`` (:func:`initial_zero_rtol` of
    :func:`component_scales`).
    """
    ztol = initial_zero_rtol(zero_tol) * np.maximum(component_scales(jac, x), 1e-300)
    x_size = max(float(np.max(np.abs(x))), 1.0)
    return np.asarray(np.maximum(ztol, zero_tol * np.max(np.abs(jac), axis=1) * x_size), float)


class _EventMargins:
    """The guard margins at an event at ``x``, indexed as an array (``margins[i]``,
    ``margins[rows]``): x0's (:func:`_guard_margin`), lowered where both ``h`` as a whole
    and the row's own scale have fallen since x0.

    Kept on x0's scale, an index leaving its surface on a Poisson model started where
    ``|∇f| = 7e6`` kept an offset of 1.3e-5 where ``|∇f|`` had fallen to 7e-3: its partial
    went through 0 unseen, the coordinate moved against its sign for 0.009, and the next
    entry's projection jumped 1.6e-4 (7e3 tolerances at rtol 1e-8), reported as a success
    (review r32; the continuation path's tolerances follow each mode's scale too). The
    row's scale alone would not do: at a flat root of ``h_i`` (``|∂h_i/∂x|`` = 5e-5 there)
    it falls below the rounding of ``h_i``, which the margin is there to cover, and rounding
    then fired spurious events. So a margin is lowered to its row's scale at ``x`` only as
    far as ``max |h|`` has fallen from x0's (a gradient that shrank by orders of magnitude
    along the run); elsewhere it stays x0's.

    Only the rows asked for are taken (`kernel_jacobian_rows`): an event reads the margins
    of the few indices leaving or arriving, and the whole Jacobian at every event (a dense
    Hessian on a gradient flow, ``n`` Hessian–vector products for an objective with no
    rows of its own) was work for the other rows.
    """

    def __init__(
        self,
        system: FilippovSystem,
        x: FloatArray,
        m: int,
        zero_tol: float,
        margin_x0: FloatArray,
        h_x0: float,
    ) -> None:
        self._system, self._x, self._m, self._zero_tol = system, x, m, zero_tol
        self._x0 = margin_x0
        self._fallen = np.nan
        if h_x0 > 0.0:
            self._fallen = float(np.max(np.abs(system.kernel_f0_h(x)[1]), initial=0.0)) / h_x0
        self._known: dict[int, float] = {}

    def __getitem__(self, index: Any) -> Any:
        rows = np.atleast_1d(np.asarray(index, dtype=np.intp))
        if not self._fallen < 1.0:  # (h has not fallen, or no scale at x0: x0's margins)
            return self._x0[index]
        missing = np.array([i for i in rows.tolist() if i not in self._known], dtype=np.intp)
        if missing.size:
            jac = self._system.kernel_jacobian_rows(self._x, missing, self._m)
            here = _guard_margin(jac, self._x, self._zero_tol)
            lowered = np.minimum(
                self._x0[missing], np.maximum(here, self._fallen * self._x0[missing])
            )
            self._known.update(zip(missing.tolist(), lowered.tolist(), strict=True))
        values = np.array([self._known[i] for i in rows.tolist()], dtype=float)
        return values if np.ndim(index) else values[0]


def l1_twin(system: FilippovSystem) -> FilippovSystem:
    """``system`` with ``φ = ℓ1``: the same inclusion when ``h`` is scalar (``m = 1``).

    On ``R^1`` the ℓ∞ and ℓ1 norms are both ``|·|``, with the same subdifferential: sign
    off 0, ``[−1, 1]`` at 0. The ℓ∞ machinery reads ``h = 0`` as the codimension-``m``
    rest set of a tie (it neither crosses nor slides there), which for ``m = 1`` is an
    ordinary switching surface: a relay ``y' = a − sign(y)`` reaching ``y = 0`` ended with
    status −4 where the same system written with ``"l1"`` crossed or slid. The ℓ1
    machinery integrates it; `scalar_linf_as_l1` records its modes as ℓ∞ modes.
    """
    twin = copy.copy(system)  # (shallow: the same user functions and affine data)
    twin.norm = get_norm("l1")
    return twin


def _as_linf_mode(mode: Mode | None) -> Mode | None:
    """The ℓ∞ name of a scalar (``m = 1``) ℓ1 mode: ``h ≠ 0`` is the regular mode whose
    active set is ``{0}`` with the sign of ``h``; sliding on ``h = 0`` is the face
    ``signs = (0,)``, ``free = (0,)`` (the whole ``[−1, 1]``, as the ℓ∞ rest at ``h = 0``
    is named)."""
    if mode is None or mode.norm != "l1":
        return mode
    return make_mode("linf", np.asarray(mode.signs, dtype=float), (0,))


class _LinfNamedRecorder:
    """A recorder that names the modes it is given as ℓ∞ modes (`_as_linf_mode`) and
    passes everything else to the run's recorder (a full or a compact one: the records
    are renamed on their way in, never rewritten afterwards)."""

    def __init__(self, rec: Recorder) -> None:
        object.__setattr__(self, "_rec", rec)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rec, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._rec, name, value)  # (the counters the loops increment)

    def event(
        self,
        t: float,
        x: FloatArray,
        kind: str,
        indices: Any,
        mode_before: Mode | None,
        mode_after: Mode | None,
        **kwargs: Any,
    ) -> None:
        self._rec.event(
            t, x, kind, indices, _as_linf_mode(mode_before), _as_linf_mode(mode_after), **kwargs
        )

    def linear_segment(
        self,
        t0: float,
        t1: float,
        x0: FloatArray,
        v: FloatArray,
        mode: Mode,
        lam: FloatArray,
        **kwargs: Any,
    ) -> FloatArray:
        named = _as_linf_mode(mode)
        assert named is not None
        return self._rec.linear_segment(t0, t1, x0, v, named, lam, **kwargs)

    def dense_segment(
        self,
        t0: float,
        t1: float,
        dense: Callable[[FloatArray], FloatArray],
        x1: FloatArray,
        mode: Mode,
        lam: FloatArray,
        breaks: FloatArray,
    ) -> None:
        named = _as_linf_mode(mode)
        assert named is not None
        self._rec.dense_segment(t0, t1, dense, x1, named, lam, breaks)


def scalar_linf_as_l1(
    loop: Callable[[Recorder], Generator[None, None, Finished | Rest]], rec: Recorder
) -> Generator[None, None, Finished | Rest]:
    """Run ``loop(recorder)``, a path's ℓ1 loop over the twin of a scalar ℓ∞ system
    (`l1_twin`), on the run's recorder behind `_LinfNamedRecorder`: every mode it records,
    and the modes of a rest it ends at, are named as ℓ∞ modes (`_as_linf_mode`)."""
    named = cast(Recorder, _LinfNamedRecorder(rec))
    outcome = yield from loop(named)
    if isinstance(outcome, Rest):
        mode = _as_linf_mode(outcome.mode)
        assert mode is not None
        outcome = dataclasses.replace(
            outcome, mode_before=_as_linf_mode(outcome.mode_before), mode=mode
        )
    return outcome


def _flipped_at_a_pole(
    h_old: FloatArray, h_at: FloatArray | None, h_turn: float, h_far: float, h_seen: float
) -> bool:
    """Whether an ℓ2 turn whose ``‖h‖`` is within `_POLE_FACTOR` of the step's ends is a
    pole all the same: ``h`` reversed (at an angle above 120° from the step's start) with
    ``‖h‖`` there above the far end and above every ``‖h‖`` the mode has seen.

    An integrator that crawls up to a pole ends its step just past it, where ``‖h‖`` is
    already huge: 1.2e12 and 1.1e11 at the ends, 5.2e14 at the turn of ``log(x) + y²``,
    which the ends' test called an arrival. An arrival does not pass: ``h`` turns through
    90° continuously where the approach is curved, and where it reverses (a straight
    approach) ``‖h‖`` at the turn is near 0, below what the mode has seen.
    """
    # (at or above the far end: the turn located at the step's end itself, as when the
    # step ended just past the pole of log(x) + 1e4 y²/2 with ‖h‖ = 1.5e14 there and
    # 7000 the most the mode had seen; strictly above, that was called an arrival, on
    # one machine's rounding and not another's)
    if not (h_turn >= h_far and h_turn > h_seen):
        return False
    if h_at is None:  # (not finite at the turn: the ends' test calls it a pole already)
        return True
    cosine = float(h_old @ h_at) / (float(np.linalg.norm(h_old)) * h_turn)
    return cosine < -0.5


def _integrate_mode(
    field: ModeField,
    solver_cls: type[OdeSolver],
    t: float,
    x: FloatArray,
    t_end: float,
    opts: EventOptions,
    rec: Recorder,
    first_step: float | None = None,
    stiff_cls: type[OdeSolver] | None = None,
) -> tuple[float, FloatArray, FloatArray | None, float | None]:
    """Integrate one mode until its guard changes sign or ``t_end``.

    Returns ``(t, x, guard values at the event, h)``, the third item ``None`` at ``t_end``;
    ``h`` is the step the integrator would take next (``None`` if it does not say), for the
    next mode to start with: ``first_step`` spares scipy's initial-step heuristic, which
    costs an evaluation per mode and proposes steps far shorter than the tolerances allow.
    Given ``stiff_cls``, the mode goes on with it from the first state at which
    :class:`~filippov._stiffness.StiffnessTest` finds the mode stiff (``integrator="auto"``).
    Raises :class:`~filippov.engine.protocol.PathFailure` (after recording the steps taken) on non-finite values, a
    singular selection or a solver failure.
    """
    ts: list[float] = [t]
    interps: list[Callable[..., FloatArray]] = []
    lam0 = field.evaluate(x)[4].copy()

    on_manifold = field.free.size > (0 if field.norm in ("l1", "l2") else 1)

    def record(t_stop: float, x_stop: FloatArray) -> FloatArray:
        """Record the mode's segment up to ``t_stop``; return its end state, projected onto
        the mode's manifold like every state of its dense output (the event, the next
        mode and the breakpoint then see the same state as ``sol(t_stop)``)."""
        if on_manifold:
            x_stop = field.project(x_stop)
        if len(ts) < 2:
            return x_stop
        steps = np.asarray(ts)
        ode_sol = OdeSolution(steps, interps)
        check = None
        if on_manifold:
            # (h_J where the solve left the mode, and its gradients' norms: each read of the
            # dense output checks that the system still gives it, see `ModeDense`)
            _, _, h_stop, J_stop, _ = field.evaluate(x_stop)
            check = (
                x_stop.copy(),
                np.asarray(h_stop)[field.free].copy(),
                np.linalg.norm(np.asarray(J_stop), axis=1),
            )
        dense = ModeDense(ode_sol, field if on_manifold else None, check, (opts.rtol, opts.atol))
        # one piece per integrator step, the last one ending at t_stop
        breaks = np.r_[steps[steps < t_stop], t_stop] if t_stop > steps[0] else steps[:1].repeat(2)
        rec.dense_segment(ts[0], t_stop, dense, x_stop, field.mode, lam0, breaks)
        return x_stop

    def failure(status: int, what: str, t_last: float, x_last: FloatArray) -> PathFailure:
        return PathFailure(
            status,
            f"{what} at t = {t_last:.12g}, x = {np.array2string(x_last, precision=12)}; "
            "the solution is returned up to that point",
        )

    def fail(status: int, what: str, t_last: float, x_last: FloatArray) -> PathFailure:
        record(t_last, x_last)
        return failure(status, what, t_last, x_last)

    start: dict[str, float] = {}
    if first_step is not None and np.isfinite(first_step) and first_step > 0 and t_end > t:
        start["first_step"] = min(first_step, t_end - t)
    try:
        solver = solver_cls(
            field.rhs, t, x, t_end, rtol=opts.rtol, atol=opts.atol, max_step=opts.max_step, **start
        )
    except (FloatingPointError, np.linalg.LinAlgError) as exc:
        raise fail(-3, f"non-finite or singular value ({exc})", t, x) from None
    t_old, x_old = t, x
    g_old = field.guard_values(x)[0]
    if float(np.min(g_old)) <= 0.0:
        # The mode is already at one of its boundaries: an immediate event.
        return t, x, g_old, first_step
    # Whether the tie attracts at the last accepted state (None: not a watched tie); see
    # `_repelling_turn`.
    attracting = field.tie_curvature(x) > 0.0 if field.watches_ties else None
    # Whether a componentwise relay's sliding attracts at the last accepted state (None:
    # not watched); see `_sliding_turn`.
    sliding_attracts = field.sliding_attraction(x) > 0.0 if field.watches_sliding else None
    # The ℓ2 direction u = h/‖h‖ at the last accepted state (free ℓ2 modes only; see below).
    watch_reversal = field.norm == "l2" and not field.free.size
    h_old = field.evaluate(x)[2] if watch_reversal else None
    # The largest ‖h‖ at the mode's accepted states so far (ℓ2 free modes): a pole's turn
    # is far above it, an arrival's below it (see the turn test below).
    h_seen = float(np.linalg.norm(h_old)) if h_old is not None else 0.0
    # The ℓ2 field −B h/‖h‖ is singular where h = 0: a step longer than the time ‖h‖
    # takes to vanish passes the arrival, and the embedded error estimate, its stages
    # straddling the singularity, can accept it. Started 2.8e-7 from a minimizer (rtol
    # 1e-8), DOP853's first step was 2.1e-6 long and ended 1.3e-6 away; the path wandered,
    # f rose 38-fold, and the arrival came 16 times late, with status 1. So while ‖h‖
    # shrinks, steps are held to half of ‖h‖ over its rate of shrinking (−h·ḣ/‖h‖ at
    # the mode's start, then the last step's secant): near a minimum the distance to it
    # at unit speed, whatever the conditioning (not a stability limit). And h may turn by
    # about a radian per step (‖h‖ over the rate of ḣ across h): the turn test below
    # reads a turn of 90° in one step as an arrival missed, and a relay whose h turns at
    # a constant size (h = (cos ωs, sin ωs)) ended −1 at rtol 1e-4 ("the ℓ2 arrival ...
    # does not finish") when DOP853's steps turned it that far. (Set before every step,
    # so that an integrator started anew, Radau in a stiff mode, keeps it; scipy's LSODA
    # reads it only once.)
    l2_cap = math.inf
    if h_old is not None:
        l2_cap = _l2_step_cap(h_old, field.system.kernel_jacobian(x, field.m) @ field.rhs(t, x))
    span = max(abs(t_end - t), 1e-300)
    restarts = 0  # (from the projected path at an early event: see below)
    # The step cap of the retries toward a region where the field is not finite (see the
    # FloatingPointError below), and the end of the last step that met a non-finite
    # value (None: no retry under way).
    retry_cap = span
    retry_until: float | None = None
    crawl = 0  # (steps in this mode that the accuracy, not max_step, kept short)
    stiffness = StiffnessTest() if stiff_cls is not None else None
    explicit_cls = solver_cls
    h_seen_explicit = h_seen  # (h_seen when the mode switched to stiff_cls)
    fell_back = False  # (from stiff_cls to explicit_cls, which failed)

    def restarted_with_cap(t_at: float, x_at: FloatArray, cap: float) -> OdeSolver:
        """A new integrator of the mode from ``(t_at, x_at)`` with steps of at most ``cap``."""
        try:
            return solver_cls(
                field.rhs, t_at, x_at, t_end, rtol=opts.rtol, atol=opts.atol,
                max_step=min(cap, opts.max_step), first_step=min(cap, t_end - t_at),
            )  # fmt: skip
        except (FloatingPointError, np.linalg.LinAlgError) as exc:
            raise fail(-3, f"non-finite or singular value ({exc})", t_at, x_at) from None

    def restarted_at(t_at: float, x_at: FloatArray) -> OdeSolver:
        """A new integrator of the mode from ``(t_at, x_at)``, a projected state, that
        starts with the step the current one had reached."""
        h_go_on = float(getattr(solver, "h_abs", 0.0) or 0.0)
        restart = {"first_step": min(h_go_on, t_end - t_at)} if h_go_on > 0 else {}
        try:
            return solver_cls(
                field.rhs, t_at, x_at, t_end, rtol=opts.rtol, atol=opts.atol,
                max_step=opts.max_step, **restart,
            )  # fmt: skip
        except (FloatingPointError, np.linalg.LinAlgError) as exc:
            raise fail(-3, f"non-finite or singular value ({exc})", t_at, x_at) from None

    while True:
        try:
            if h_old is not None:  # (the ℓ2 mode's cap: see the mode's start)
                solver.max_step = min(opts.max_step, l2_cap)
            message = solver.step()
            rec.count_step(solver)
            h_now = float(getattr(solver, "h_abs", 0.0) or 0.0)
            crawl += h_now < 0.5 * opts.max_step and h_now < _CRAWL_STEP * span
            if crawl > _MAX_MODE_STEPS:
                # (never hang: an explicit integrator on a stiff mode crawls, as the ℓ2
                # flow x' = −g/‖g‖ near a minimizer, whose Jacobian is about H/‖g‖: no
                # result after 15 minutes at condition 1e6, 7.8 s with Radau)
                why = (
                    "a stiff mode? integrator='Radau' or 'auto' (the default) takes long "
                    "steps where an explicit method crawls"
                    if isinstance(solver, (RK23, RK45, DOP853))
                    else f"the implicit {type(solver).__name__} too: the field varies "
                    "on a scale shorter than 1e-5 of the span"
                )
                raise fail(
                    -1,
                    f"the integrator took {_MAX_MODE_STEPS} steps in one mode ({why})",
                    t_old,
                    x_old,
                )
            if solver.status == "failed":
                if stiff_cls is not None and isinstance(solver, stiff_cls):
                    # The implicit integrator that a stiff mode switched to fails where
                    # its Newton iteration meets a pole or a jump of the field (the ℓ2
                    # flow of log(x) + 1e4 y²/2 ended −1, "step size less than spacing",
                    # 2e-16 short of the pole): DOP853 goes on from the last state and
                    # steps over it, which the turn test below reads as a pole (−3). The
                    # ‖h‖ it compares with stays the mode's before the switch: the states
                    # near the pole, closer to it than a step lands beyond it (‖h‖ 5.8e15
                    # against 8e14 at the turn), made the pole an arrival.
                    solver_cls, h_seen, fell_back = explicit_cls, h_seen_explicit, True
                    solver = explicit_cls(
                        field.rhs, t_old, x_old, t_end, rtol=opts.rtol, atol=opts.atol,
                        max_step=opts.max_step,
                    )  # fmt: skip
                    continue
                raise fail(-1, f"the integrator failed ({message})", t_old, x_old)
            # (a step held by an ℓ2 mode's cap, not by the error control, is not at
            # the stability boundary, and says nothing of stiffness: counted, the capped
            # steps of a condition-10 quadratic's arrival switched it to Radau)
            capped = h_old is not None and (
                float(solver.t) - t_old >= (1.0 - 1e-9) * float(solver.max_step)
            )
            if stiffness is not None and not capped and stiffness.stiff_after(solver):
                # (the steps are held at DOP853's stability boundary: the mode goes on
                # with the implicit integrator from the end of this step, below)
                assert stiff_cls is not None
                solver_cls, stiffness, h_seen_explicit = stiff_cls, None, h_seen
            t_new, x_new = float(solver.t), np.array(solver.y)
            g_new = field.guard_values(x_new)[0]
            dense = solver.dense_output()
            scan = scan_step(field, dense, t_old, t_new, g_old, g_new)
        except FloatingPointError as exc:
            # A trial step reached a region where the field is not finite. Retry from the
            # last accepted state with a smaller step cap, so the partial solution runs
            # up to the edge of that region instead of stopping a whole step short.
            # The step that met it: the one just accepted when its guards or the scan of
            # its dense output did, else the trial step. Not `h_abs` after an accepted
            # step: that is the *next* step's size, up to ten times the step taken, and a
            # quarter of it retried the same step forever (a band |h| < 1e-4 where B(x)
            # is inf, which the integrator's stages stepped over and the event scan met:
            # a hang). The cap only shrinks while the retries last, so they end at the
            # edge (or pass what they met: see the end of the loop).
            taken = float(solver.t) - t_old
            trial = taken if taken > 0.0 else float(getattr(solver, "h_abs", span) or span)
            tried = min(trial, t_end - t_old, retry_cap)
            if tried <= 1e-13 * max(1.0, abs(t_old)) or tried <= 1e-15 * span:
                raise fail(-3, f"non-finite value ({exc})", t_old, x_old) from None
            retry_cap, retry_until = tried / 4, t_old + tried
            try:
                solver = solver_cls(
                    field.rhs,
                    t_old,
                    x_old,
                    t_end,
                    rtol=opts.rtol,
                    atol=opts.atol,
                    max_step=min(retry_cap, opts.max_step),
                    first_step=retry_cap,
                )
            except FloatingPointError:
                raise fail(-3, f"non-finite value ({exc})", t_old, x_old) from None
            continue
        except np.linalg.LinAlgError as exc:
            raise fail(-4, f"singular sliding selection ({exc})", t_old, x_old) from None
        except SelectionError as exc:
            raise fail(
                -4, f"the sliding selection could not be solved ({exc})", t_old, x_old
            ) from None
        except (ValueError, ArithmeticError, RuntimeError) as exc:
            # A user function (f, grad, h, a field) raised inside a step. The driver would
            # end the run too, but with the mode's accepted steps dropped and the message
            # naming the last event: a grad raising at t = 0.4 was reported "at t = 0,
            # x = x0", the solution ending there. Kept up to the last accepted step,
            # which the message names.
            raise fail(
                -1,
                f"the system's functions raised ({type(exc).__name__}: {exc}) in the step "
                "from the last accepted state",
                t_old,
                x_old,
            ) from exc
        h_next = getattr(solver, "h_abs", None)
        h_next = float(h_next) if h_next is not None else None
        h_last = getattr(solver, "h_previous", None)  # (scipy's explicit Runge–Kutta)
        if h_next is not None and h_last is not None and h_next >= _GROWTH_UNINFORMED * h_last:
            # The step grew fivefold or more (at most tenfold): its error estimate was
            # about 0, as on a free mode of a steepest-descent flow (a constant field), so
            # it says nothing about the next mode's curvature, which then starts from
            # scipy's own first-step rule. Carried over, such a step (1.5 after a free
            # mode of the greedy flow) was accepted by DOP853's error estimate far
            # outside its asymptotic range, and the tie mode it started was 7.7e-6 off
            # at rtol = 1e-8 (a step grown 9.2-fold, carried: 3.5e-7 off).
            h_next = None
        if h_old is not None:
            h_new = field.evaluate(x_new)[2]
            if float(h_old @ h_new) <= 0.0:
                # The ℓ2 velocity −h/‖h‖ is smooth where h ≠ 0: within one accepted step
                # it cannot turn by 90° or more unless h passed through 0 (an arrival the
                # guard's samples missed: h is small at the turn) or through infinity (a
                # pole, where the flow would cross and chatter around it: h is large).
                t_ev, x_ev = turning_point(field, dense, t_old, t_new, h_old)
                if t_ev > ts[-1]:
                    interps.append(dense)
                    ts.append(t_ev)
                h_at: FloatArray | None = None
                with contextlib.suppress(FloatingPointError):  # (not finite: a pole)
                    h_at = field.evaluate(x_ev)[2]
                h_turn = float("inf") if h_at is None else float(np.linalg.norm(h_at))
                # (large against both ends: not within a factor, as a step over a curved
                # approach to the minimum put the turn of its dense output at 1.6e-5
                # against ends just below it, 1.5e-6 from the minimizer: a false pole)
                h_far = float(np.linalg.norm(h_new))
                h_ends = max(float(np.linalg.norm(h_old)), h_far)
                if not h_turn <= _POLE_FACTOR * h_ends or _flipped_at_a_pole(
                    h_old, h_at, h_turn, h_far, h_seen
                ):
                    raise fail(
                        -3,
                        "h turns around without passing through 0 (a pole or discontinuity of h)",
                        t_ev,
                        x_ev,
                    )
                return t_ev, record(t_ev, x_ev), field.guard_values(x_ev)[0], h_next
            # (see the mode's start: from the step's secant)
            l2_cap = _l2_step_cap(h_new, (h_new - h_old) / max(t_new - t_old, 1e-300))
            h_old = h_new
            if not fell_back:
                h_seen = max(h_seen, float(np.linalg.norm(h_new)))
        t_touch, bracket = scan
        turn: tuple[float, FloatArray] | None = None
        if attracting is not None:
            attracting, turn = _repelling_turn(
                field, attracting, dense, t_old, t_new, x_new, (ts[0], x, ts, interps)
            )
        elif sliding_attracts is not None:
            sliding_attracts, turn = _sliding_turn(
                field, sliding_attracts, dense, t_old, t_new, x_new
            )

        def record_turn(until: float, keep_later: bool = False) -> None:
            # (in time order with the step's other events; a turn past the step's event
            # is not on this mode's trajectory, one past a contact may still be)
            nonlocal turn
            if turn is not None and turn[0] <= until:
                rec.event(
                    turn[0],
                    turn[1],
                    "repulsive",
                    field.free,
                    field.mode,
                    field.mode,
                    unique=False,
                    note=REPELLING_NOTE if field.watches_ties else SLIDING_REPELLING_NOTE,
                )
            elif keep_later:
                return
            turn = None

        def record_touch(t_touch: float | None, dense: Callable[..., FloatArray]) -> None:
            if t_touch is None:
                return
            record_turn(t_touch, keep_later=True)
            x_touch = np.asarray(dense(t_touch), dtype=float)
            vals = field.guard_values(x_touch)[0]
            k = int(np.argmin(vals))
            # (the ℓ∞ relay's rest guard, of no one index: the tie's indices touch 0)
            touched = (field.entry_index(k),) if field.entry_index(k) >= 0 else field.free
            fork = (
                ""
                if field.norm != "l1" or k >= field.fixed.size
                else _other_side_fork(field, x_touch, field.entry_index(k))
            )
            note = "grazing contact: the trajectory touches the surface and turns back"
            rec.event(
                t_touch,
                x_touch,
                "tangency",
                touched,
                field.mode,
                field.mode,
                unique=not fork,
                note=f"{note}; {fork}" if fork else note,
            )

        located: tuple[float, FloatArray, FloatArray] | None = None
        if bracket is not None:
            if bracket[0] == "event":  # already located by the scan
                _, t_ev, x_ev, values = bracket
            else:
                _, lo, hi, g_lo, g_hi = bracket
                try:
                    t_ev, x_ev, values = locate_event(field, dense, lo, hi, g_lo, g_hi)
                except FloatingPointError as exc:
                    record_touch(t_touch, dense)
                    if lo > ts[-1]:
                        interps.append(dense)
                        ts.append(lo)
                    raise fail(
                        -3, f"non-finite value while locating an event ({exc})", lo, dense(lo)
                    ) from None
            try:
                # (an index with an offset that crossed before the event: see
                # `without_late_offsets`)
                located = without_late_offsets(field, dense, t_old, g_old, t_ev, values)
            except FloatingPointError as exc:
                record_touch(t_touch, dense)
                raise fail(
                    -3, f"non-finite value while locating an event ({exc})", t_old, x_old
                ) from None
            if located is None:
                located = (t_ev, x_ev, values)
        if located is not None and on_manifold:
            # (the event on the recorded path: see `on_projected_path`; not before an
            # event already recorded, which must stay in time order)
            not_before = max(ts[0], rec.events[-1].t) if rec.events else ts[0]
            try:
                state_tol = opts.rtol * max(1.0, float(np.max(np.abs(located[1])))) + opts.atol
                moved = on_projected_path(field, dense, ts, interps, located, state_tol, not_before)
            except (FloatingPointError, np.linalg.LinAlgError):
                moved = None
            if moved is not None:
                located = moved
            elif restarts < _EARLY_RESTARTS:
                try:
                    x_on = early_on_projected_path(field, dense, ts[-1], located, state_tol)
                except (FloatingPointError, np.linalg.LinAlgError):
                    x_on = None
                if x_on is not None:
                    # The event is early on the recorded path: the mode goes on from the
                    # projected state, the same state as the record's at t_ev, with an
                    # integrator started there (drift 0; see `early_on_projected_path`).
                    restarts += 1
                    t_ev = located[0]
                    if t_touch is not None and t_touch < t_ev:
                        record_touch(t_touch, dense)
                    record_turn(t_ev)
                    if t_ev > ts[-1]:
                        interps.append(dense)
                        ts.append(t_ev)
                    solver = restarted_at(t_ev, x_on)
                    t_old, x_old = t_ev, x_on
                    g_old = release_offsets(field, x_on, field.guard_values(x_on)[0])
                    continue
        # (a contact found before the step's sign change: not one past the event when a
        # released offset, or the recorded path, moved the event before it)
        if t_touch is not None and (located is None or t_touch < located[0]):
            record_touch(t_touch, dense)
        if located is not None:
            t_ev, x_ev, values = located
            record_turn(t_ev)
            if t_ev > ts[-1]:
                interps.append(dense)
                ts.append(t_ev)
            if abs(float(np.min(values))) > 1e-6 * max(1.0, field.h_scale):
                k = int(np.argmin(values))
                if field.kinds[k] == 1 and _degenerate_block(field, x_ev):
                    # A relay value jumped, not h: it passed through the pole the selection
                    # has where the sliding block ∂h_F/∂x·B_F degenerates (h is smooth).
                    x_rest = record(t_ev, x_ev)
                    if _rest_at_zero_of_h(field, x_rest, opts.zero_tol):
                        return t_ev, x_rest, _REST_AT_ZERO, h_next
                    # (recorded just above: not again, which kept the mode twice)
                    raise failure(
                        -4,
                        f"the sliding selection is singular: the relay value of index "
                        f"{field.entry_index(k)} passes through a pole (guard "
                        f"{float(values[k]):.3g}) where the sliding block ∂h/∂x·B of "
                        f"{_brief_set(field.free)} degenerates, h being continuous there",
                        t_ev,
                        x_rest,
                    )
                # The guard changed sign without passing through zero: h has a pole or a
                # jump there, not a switching surface.
                raise fail(
                    -3,
                    "a switching function changes sign without passing through 0 (a pole or "
                    f"discontinuity of h; guard {float(np.min(values)):.3g})",
                    t_ev,
                    x_ev,
                )
            return t_ev, record(t_ev, x_ev), values, h_next
        record_turn(t_new)
        interps.append(dense)
        ts.append(t_new)
        if solver.status == "finished":
            return t_new, record(t_new, x_new), None, h_next
        if on_manifold:
            # Drift control (DESIGN §1.3): the drift correction in the field keeps the
            # integrator within about 120 tolerances of the manifold; where a sliding block
            # is nearly singular it does not (a tie whose block row shrank to 1.4e-5
            # drifted 1.1e4 tolerances, its events 1.7e-3 late; review R19). Past
            # `_DRIFT_RESTART` tolerances the mode goes on from the projected state, the
            # state the record holds at t_new.
            try:
                x_on = field.project(x_new)
            except (FloatingPointError, np.linalg.LinAlgError):
                x_on = x_new
            drift = float(np.max(np.abs(x_on - x_new)))
            if drift > _DRIFT_RESTART * _state_tol(x_new, (opts.rtol, opts.atol)):
                solver = restarted_at(t_new, x_on)
                x_new, g_new = x_on, field.guard_values(x_on)[0]
        t_old, x_old, g_old = t_new, x_new, release_offsets(field, x_new, g_new)
        if not isinstance(solver, solver_cls):
            try:
                solver = _switched_to(solver_cls, field, solver, t_end, opts, rec)
            except (FloatingPointError, np.linalg.LinAlgError) as exc:
                raise fail(-3, f"non-finite or singular value ({exc})", t_old, x_old) from None
            crawl = 0
        if retry_until is not None and t_old > retry_until:
            # The short steps passed the end of the step that met a non-finite value
            # without meeting one again: it was off the path (a stage, the scan's
            # interpolant) or at isolated points, not a region the solution enters. The
            # cap is raised again, fourfold per stretch of its length passed. (Kept,
            # B(x) = inf only where h(x) = 0 exactly, met at a few rounded states of a
            # sliding mode, crawled at 1.3e-5 of the span: 84 s instead of 0.3 s; raised
            # at once to full steps, stages 1e-8 off the path of a rotation met a NaN
            # every few steps: 1.7 times the steps.)
            retry_cap = min(4.0 * retry_cap, span)
            retry_until = t_old + retry_cap if retry_cap < span else None
            solver = restarted_with_cap(t_old, x_old, retry_cap)


def _switched_to(
    solver_cls: type[OdeSolver],
    field: ModeField,
    solver: OdeSolver,
    t_end: float,
    opts: EventOptions,
    rec: Recorder,
) -> OdeSolver:
    """``solver_cls`` started where ``solver`` stands, with its step size; the run's
    method names the switch (``integrator="auto"`` in a stiff mode)."""
    name_the_switch(rec)
    h = float(getattr(solver, "h_abs", 0.0) or 0.0)
    start = {"first_step": min(h, t_end - solver.t)} if h > 0 else {}
    return solver_cls(
        field.rhs,
        solver.t,
        np.array(solver.y),
        t_end,
        rtol=opts.rtol,
        atol=opts.atol,
        max_step=opts.max_step,
        **start,
    )


def _repelling_turn(
    field: ModeField,
    attracting: bool,
    dense: Callable[..., FloatArray],
    t_old: float,
    t_new: float,
    x_new: FloatArray,
    mode_so_far: tuple[float, FloatArray, list[float], list[Callable[..., FloatArray]]],
) -> tuple[bool, tuple[float, FloatArray] | None]:
    """Whether the tie attracts at the end of the step ``[t_old, t_new]``, and where in it
    the tie turned from attracting to repelling (``None``: it did not); see
    :mod:`filippov._tie_repelling`.

    The sign of the bordered selection matrix's determinant, from the factor the step's
    last selection solved with, settles an attracting tie that stays so (−1) at no cost;
    only otherwise is ``κ`` evaluated, and a turn located by ``brentq`` on ``κ`` along the
    mode's dense output (projected onto the tie, as the solution is). ``mode_so_far``:
    the mode's start time and state, and its steps before this one, a bracket of last
    resort when ``κ`` at ``t_old`` is not positive (two eigenvalues crossing 0 in one step).
    """
    sign = field.bordered_sign(x_new)
    if attracting and sign < 0.0:
        return True, None
    if not attracting and sign > 0.0:
        return False, None  # (an odd number of curvatures below 0: still repelling)
    kappa = field.tie_curvature(x_new)
    if kappa > 0.0:
        return True, None
    if not attracting:
        return False, None
    if kappa == 0.0:
        # κ within rounding of 0 (a tie whose rates can never differ): neither attracting
        # nor repelling, so no turn here; the watch goes on (see `tangent_curvature`)
        return True, None

    def state(steps: Callable[..., FloatArray], tau: float) -> FloatArray:
        return field.project(np.asarray(steps(tau), dtype=float))

    lo, steps = t_old, dense
    if not field.tie_curvature(state(steps, lo)) > 0.0:
        t0, x0, ts, interps = mode_so_far
        if field.tie_curvature(x0) > 0.0 and t_new > t0:
            lo = t0
            steps = OdeSolution(np.r_[ts, t_new], [*interps, dense])
    tau = locate_turn(lambda s: field.tie_curvature(state(steps, s)), lo, t_new)
    return False, (tau, state(steps, tau))


#: The note of a rest at ``h = 0`` (ℓ∞ or ℓ2 relay) recorded ``unique=False``: what the run
#: chose (an :class:`~filippov.solution.Event` documents its choice at a non-unique event).
_REST_AT_ZERO_NOTE = (
    "∂h/∂x B is no P-matrix at h = 0 (a gradient flow: no strict local minimum, e.g. a "
    "saddle), so other Filippov solutions may leave this equilibrium; the run stays at rest"
)

#: The note of a componentwise relay's sliding that turned repelling (`_sliding_turn`).
SLIDING_REPELLING_NOTE = (
    "the sliding turned repelling (a two-fold: the sliding block (dh/dx)_F B_F passed "
    "through a singular matrix): other Filippov solutions leave from here; the path keeps "
    "sliding"
)


def _sliding_turn(
    field: ModeField,
    attracting: bool,
    dense: Callable[..., FloatArray],
    t_old: float,
    t_new: float,
    x_new: FloatArray,
) -> tuple[bool, tuple[float, FloatArray] | None]:
    """Whether a componentwise relay's sliding attracts at the end of the step ``[t_old,
    t_new]``, and where in it it turned repelling (``None``: it did not), located by
    ``brentq`` on `ModeField.sliding_attraction` along the mode's dense output (projected,
    as the solution is).

    Why: at a two-fold (both fields tangent to the surface) the equivalent control stays
    inside its box, so no exit guard fires; past it both fields point away from the
    surface and sliding on is one Filippov solution among many (leaving to either side
    at any time are others). Unwatched, ``x' = (1, ±x)`` above and below ``y = 0`` slid
    on through ``x = 0`` with every event reported unique.
    """
    if field.sliding_attraction(x_new) > 0.0:
        return True, None
    if not attracting:
        return False, None

    def attraction(tau: float) -> float:
        return field.sliding_attraction(field.project(np.asarray(dense(tau), dtype=float)))

    tau = locate_turn(attraction, t_old, t_new)
    return False, (tau, field.project(np.asarray(dense(tau), dtype=float)))


#: The note of a grazing contact where the other side's field leads away from the surface.
_GRAZING_FORK_NOTE = (
    "the field on the other side leads away from the surface too: a solution that "
    "crosses into it here is a Filippov solution as well (the path keeps the side it is on)"
)
#: The note of a grazing contact where the other side's field is tangent too.
_TWO_FOLD_NOTE = (
    "the field on the other side is tangent to the surface there too (a two-fold): "
    "solutions that cross into that side or slide on the surface may leave here as well "
    "(the path keeps the side it is on)"
)


def _other_side_fork(field: ModeField, x: FloatArray, i: int) -> str:
    """Why other Filippov solutions leave a grazing contact of the ℓ1 relay's surface
    ``h_i = 0`` at ``x`` (the event's note), or ``""`` where the trajectory turning back is
    the only continuation: the field on the other side (``λ_i = −σ_i``, the mode's sliding
    indices with the equivalent control that keeps them on their surfaces there) points
    back across the surface. Where it points into its own side instead (``σ_i ḣ_i < 0``
    there), a solution entering that side exists too (a parabola grazing a surface whose
    other field leads upward; a sign flow where ``∂²f/∂x_i²``, or its Schur complement in
    the sliding block, is negative). Where it is tangent too (to 1e-9 of the scale of its
    normal rate), the contact is a two-fold, whose continuation higher orders decide: the
    other side's rate is read again a short way beyond the contact along the path (a move
    of 1e-6 of the state's size), and unless it points back across there, flagged (``F± = (−1, ∓x₁)`` on
    ``h = y`` touches at x₁ = 0, beyond which both fields leave the surface, and was
    called unique; stranger fuzz fz12; with ``F₋ = (−1, x₁²)``, tangent at the contact
    but pushing back on both sides of it, it stays unique; review rv9). Undecided
    (``""``) where that equivalent control leaves ``[−1, 1]``: the sliding set would
    change as well.
    """
    at_contact = _other_side_rate(field, x, i)
    if at_contact is None:
        return ""  # (not decided here)
    sigma_i = float(field.sigma[i])
    rate, scale, _ = at_contact
    if sigma_i * rate < -1e-9 * scale:
        return _GRAZING_FORK_NOTE
    if sigma_i * rate > 1e-9 * scale:
        return ""
    # Tangent on both sides to 1e-9 of the normal rates' scale: a little way on along the
    # path, where a solution crossing into the other side would go.
    f0, B, _, _, lam = field.evaluate(x)
    v = f0 - B @ lam
    speed = float(np.max(np.abs(v)))
    if not speed > 0.0:
        return _TWO_FOLD_NOTE
    ahead = x + (1e-6 * max(1.0, float(np.max(np.abs(x)))) / speed) * v
    beyond = _other_side_rate(field, ahead, i)
    # (against the rounding of the normal rate's own terms there: a fast coordinate that
    # h_i does not see widened the test by its speed, review rv9)
    if beyond is not None and sigma_i * beyond[0] > 64 * _EPS * beyond[2]:
        return ""  # (it points back across there: turning back is the only way on)
    return _TWO_FOLD_NOTE


def _other_side_rate(field: ModeField, x: FloatArray, i: int) -> tuple[float, float, float] | None:
    """``(ḣ_i, a scale, the scale of its terms)`` at ``x`` under the field of the other side
    of ``h_i = 0`` (see `_other_side_fork`): ``‖∇h_i‖·(‖f0‖ + Σ|B|)`` and ``|∇h_i|·(|f0| +
    |B||λ|)``, the latter over the components ``h_i`` depends on only; ``None`` where it is
    not decided here."""
    f0, B, _, _, lam = field.evaluate(x)
    row = field.system.kernel_jacobian_rows(x, np.array([i]), field.m)[0]
    other = lam.copy()
    other[i] = -field.sigma[i]
    F = field.free
    if F.size:
        # Sliding on F: the other side's velocity keeps h_F = 0 with its own equivalent
        # control (for a sign flow the rate is then the Schur complement's, not H_ii's:
        # H_ii = 0.037 against −0.678 on a review's case, which was called unique).
        JF = field.system.kernel_jacobian_rows(x, F, field.m)
        fixed = field.fixed
        try:
            other[F] = np.linalg.solve(JF @ B[:, F], JF @ (f0 - B[:, fixed] @ other[fixed]))
        except np.linalg.LinAlgError:
            return None
        if not float(np.max(np.abs(other[F]))) < 1.0:
            return None  # (the other side's sliding set would change too)
    rate = float(row @ (f0 - B @ other))
    scale = float(np.linalg.norm(row)) * (float(np.linalg.norm(f0)) + float(np.abs(B).sum()))
    terms = float(np.abs(row) @ (np.abs(f0) + np.abs(B) @ np.abs(other)))
    return rate, scale, terms


def _initial_mode(
    system: FilippovSystem,
    x: FloatArray,
    t: float,
    norm: str,
    ztol: FloatArray,
    margin: Margins,
    tie_tol: float,
    rec: Recorder,
) -> tuple[FloatArray, np.ndarray, FloatArray, bool]:
    """Read the initial face off ``h(x0)`` and make it consistent.

    ``ztol[i]`` decides whether ``h_i`` is zero (each index on its own scale), ``margin[i]``
    is the guard offset of an index leaving its boundary at once; ``tie_tol`` decides
    whether ``|h_i|`` ties the largest ``|h_j|`` (ℓ∞).
    """
    f0, B, hx = system.kernel_evaluate(x)
    m = hx.shape[0]
    offset = np.zeros(m)
    if norm == "l1":
        cand = np.flatnonzero(np.abs(hx) <= ztol)
        sigma = np.sign(hx)
        sigma[cand] = 0.0
        if not cand.size:
            return sigma, cand, offset, False
        Jac = system.kernel_jacobian(x, m)
        cv = consistent_relay(system.norm, f0, B, hx, Jac, free=cand, signs=sigma)
        free = np.asarray(cv.free, dtype=int)
        leaving = np.setdiff1d(cand, free)
        sigma[leaving] = np.sign(cv.lam[leaving])
        offset[leaving] = margin[leaving] + np.abs(hx[leaving])
        mode = make_mode("l1", sigma, free)
        v_scale = float(np.max(np.abs(f0))) + float(np.max(np.abs(B)))
        unique = cv.unique or (
            float(np.max(np.abs(cv.velocity))) <= 1e-12 * v_scale
            and _rest_is_unique(system, x, free, m, sigma)
        )
        if free.size:
            rec.event(
                t,
                x,
                "sliding-entry" if unique else "repulsive",
                free,
                None,
                mode,
                unique=unique,
                note="initial state on the switching manifold",
            )
        # A manifold left at once is labelled as classify() labels it (same as the exact path).
        JB = Jac[leaving] @ B
        scale = np.linalg.norm(Jac[leaving], axis=1) * (np.linalg.norm(f0) + np.abs(B).sum())
        record_initial_leave(
            rec, t, x, leaving, cv.velocity, JB, Jac[leaving], sigma[leaving], scale, mode
        )
        return sigma, free, offset, False
    if norm == "linf":
        hm = float(np.max(np.abs(hx)))
        if bool(np.all(np.abs(hx) <= ztol)):
            _linf_rest_at_zero(system.norm, f0, B, system.kernel_jacobian(x, m), t)
            return np.zeros(m), np.arange(m), offset, True
        # (not an index whose h_i is exactly 0, even where the largest |h| ties 0 at the
        # tie tolerance: its sign is 0, so as a member it would carry part of the tie's
        # weight and move nothing, a counterfeit rest; it meets the tie only at the rest,
        # see `_zero_entries_as_rest`)
        cand = np.flatnonzero((np.abs(hx) >= hm - tie_tol) & (hx != 0.0))
        sigma = np.zeros(m)
        sigma[cand] = np.sign(hx[cand])
        if cand.size == 1:
            return sigma, cand, offset, False
        Jac = system.kernel_jacobian(x, m)
        cv = consistent_relay(system.norm, f0, B, hx, Jac, free=cand, signs=sigma)
        free = np.asarray(cv.free, dtype=int)
        dropped = np.setdiff1d(cand, free)
        sigma[dropped] = 0.0
        offset[dropped] = tie_tol
        if free.size > 1:
            rec.event(
                t,
                x,
                "tie-entry",
                free,
                None,
                make_mode("linf", sigma, free),
                unique=cv.unique,
                note="initial tie",
            )
        return sigma, free, offset, False
    if bool(np.all(np.abs(hx) <= ztol)):
        # ℓ2 at h = 0: a rest or a motion along h = 0 where a relay value of the ball
        # makes one; where none does, the relay leaves h = 0 at once, which the path does
        # not continue (as `_transition` refuses it later in a run): a start at h = 0
        # with ‖B⁻¹f0‖ = 1.98 recorded a unique "stationary" event and ended −5 by the
        # self-check (stranger fuzz fz13).
        if _l2_passes_through(system, x, m):
            raise PathFailure(
                -4,
                f"the ℓ2 relay starts at h = 0 at t = {t:.12g} and leaves it at once (no "
                "velocity of its Filippov set there vanishes or stays on h = 0); "
                "continuing from h = 0 needs a direction choice the event path does not "
                "make (not supported)",
            )
        return np.zeros(m), np.arange(m), offset, False
    return np.zeros(m), np.empty(0, dtype=int), offset, False


def _onto_zero_set(
    system: FilippovSystem,
    x: FloatArray,
    hx: FloatArray,
    Jac: FloatArray,
    B: FloatArray,
    state_tol: tuple[float, float],
    arrival: tuple[FloatArray, float] | None = None,
) -> tuple[FloatArray, bool]:
    """The rest state at ``h = 0`` of an ℓ∞ relay: ``x`` moved onto ``h = 0`` by Newton
    corrections in the span of ``B`` (what the relay values can do; minimal-norm), as a
    sliding mode's start is moved onto its manifold (`ModeField.project`).

    The event was located on the dense output of a mode whose guard (the tie's common
    ``|h_i|``) falls to 0 slowly where ``∂h/∂x B`` is ill-conditioned, so its time, and
    the state there, are off by the dense output's error times that condition: on the
    greedy flow of convex objectives the rest state was up to 3e-7 from the minimizer at
    rtol = 1e-8 (29 tolerances at most on 240 runs of two families of random convex
    objectives), where the sign flow's last mode, projected onto ``h = 0``, ends at
    rounding.

    The move is kept only when it corrects that location error and nothing else:

    * ``∂h/∂x B`` is resolved in double precision (`filippov._certify.MAX_CONDITION`):
      the zero is isolated (on a valley of zeros a projection picks a point the solution
      does not reach);
    * Newton converges within `_REST_NEWTON` corrections, each reducing ``|h|`` (or, a
      hundredth of the first or less, at the noise of ``h``'s rounding) and contracting
      by at least half, until the distance left is under 1 % of the tolerance (at a
      degenerate zero, ``(x + 1)⁴``, it only creeps by 2/3 a step: four corrections left
      the state 8e-6 from the minimizer);
    * it moves the state by at most `_REST_MOVE` tolerances (``rtol·max(1, |x|) + atol``,
      ``state_tol = (rtol, atol)``): a rest merged too early with the entry before it
      (the entry's probe read the tie's tiny common ``|h_i|`` as 0 on the last mode's
      velocity) left the state 9e-3 from the zero, a whole tie mode skipped, which a
      projection would have hidden behind a success. With ``arrival = (v, A)``, the
      velocity of the mode that arrives and the factor by which its time error
      amplifies the guard's (`_arrival`), the part of the move along ``v`` may be
      ``A`` times longer: a location error moves the state along its path, a skipped
      mode across it. (On a valley, a Hessian eigenvalue of 2.8e-6, the greedy flow's
      last tie arrives with ``A = 5.9e5``; at rtol = 1e-10 its rest was located 3.8e-7,
      480 tolerances, from the minimizer along the path, and kept there.)

    Otherwise ``x`` is returned as it is (the end-of-run checks then judge it). Returns
    ``(state, whether the correction was kept or needed none)``."""
    M = Jac @ B
    if hx.shape[0] != x.shape[0] or not equilibrated_condition(M) <= MAX_CONDITION:
        return x, False
    tol = _state_tol(x, state_tol)
    allowed = _REST_MOVE * tol
    along, factor = arrival if arrival is not None else (np.zeros_like(x), 1.0)

    def within(move: FloatArray) -> bool:
        part = (move @ along) * along  # (``along`` is a unit vector, or 0)
        across = float(np.max(np.abs(move - part)))
        if float(np.max(np.abs(part))) <= allowed:
            return across <= allowed
        # A move along the path beyond `_REST_MOVE` tolerances is a location error only
        # when it stays on the path: `_rest_where_the_path_reaches` moves the rest's time
        # by it only then (across within one tolerance), else the state jumped at the
        # event's time. (An ill-conditioned greedy flow near its minimizer: a tie-entry
        # probed as the rest, the state moved 1.2e-4 = 233 tolerances onto the minimizer,
        # 59 of them across the path, two tie modes and half the run skipped, status 1;
        # review R20.)
        return float(np.max(np.abs(part))) <= allowed * factor and across <= tol

    start, size = x, float(np.max(np.abs(hx), initial=0.0))
    first = last = np.inf
    for k in range(_REST_NEWTON):
        if size == 0.0:
            return x, True
        d = B @ min_norm_correction(M, hx)
        step = float(np.max(np.abs(d)))
        if not math.isfinite(step):
            return start, False
        if step <= 64 * _EPS * float(np.max(np.abs(x))):
            return x, True  # (at rounding of x)
        # Newton's contraction θ = |d_k|/|d_{k−1}| (a first correction proves nothing by
        # its size: on a valley one moved the rest 2e4 tolerances along the path and
        # overshot, and the run reported success 2700 tolerances off). Converged once
        # the distance left, θ/(1 − θ)·|d_k| after this correction, is under 1 % of the
        # tolerance (at an ill-conditioned zero the contraction is only linear, 0.05 per
        # correction there); not contracting: no isolated zero within reach.
        theta = step / last
        if not theta < 0.5:
            return start, False
        converged = k > 0 and theta / (1.0 - theta) * step <= 1e-2 * tol
        moved = x - d
        _, B_new, h_new = system.kernel_evaluate(moved)
        new_size = float(np.max(np.abs(h_new), initial=0.0))
        if new_size < size and within(moved - start):
            x, hx, size, B = moved, h_new, new_size, B_new
        elif k > 0 and step <= 1e-2 * first and within(moved - start):
            # |h| no longer falls: the corrections are at the noise of h's rounding, a
            # hundredth of the first or less (the noise is the rounding over the smallest
            # singular value: above the rounding of x where ∂h/∂x B is ill-conditioned).
            return x, True
        else:
            return start, False
        if converged:
            return x, True
        first, last = (step if k == 0 else first), step
        M = system.kernel_jacobian(x, hx.shape[0]) @ B
    return start, False


def _linf_rest(
    system: FilippovSystem,
    field: ModeField,
    x: FloatArray,
    hx: FloatArray,
    Jac: FloatArray,
    B: FloatArray,
    v: FloatArray,
    values: FloatArray,
    hits: np.ndarray,
    kinds: np.ndarray,
    tie_tol: float,
    state_tol: tuple[float, float],
) -> tuple[FloatArray, tuple[FloatArray, float] | None] | None:
    """``(rest state, arrival)`` (`_onto_zero_set`, `_arrival`) when ``hits`` hold an ℓ∞
    relay's rest (``h`` reaching 0, guard kind 2); ``None`` without one, and when only
    the probe put it here (its guard above ``tie_tol``) and ``h = 0`` is not within the
    run's accuracy of ``x`` (the correction was refused): not a rest yet.

    Why: the probe reads the old mode's rates. On a valley an index crossed and two
    left the tie at the same event, to join it again 2.5e-5 later; only on the tie of
    all of them does the common value fall slowly, and the rest came 0.87 after that.
    The probe put the rest at the crossing (its guard 2.4e-5, falling fast on the old
    tie): the run ended −5, 0.3 from the minimizer."""
    rests = [int(p) for p in hits if kinds[p] == 2]
    if not rests:
        return None
    arrival = _arrival(field, Jac, v)
    x_rest, kept = _onto_zero_set(system, x, hx, Jac, B, state_tol, arrival)
    if not kept and all(values[p] > tie_tol for p in rests):
        return None
    return x_rest, arrival


#: The guard values `_integrate_mode` returns for a rest where every ``h_i`` vanishes and
#: the sliding block degenerates (see `_rest_at_zero_of_h`): compared by identity.
_REST_AT_ZERO: FloatArray = np.zeros(0)
#: A sliding block is degenerate when its smallest singular value is this fraction of
#: ``‖∂h_F/∂x‖·‖B_F‖`` or less (where a relay value ``λ = M⁻¹a`` has its pole).
_DEGENERATE_BLOCK = 1e-6


def _degenerate_block(field: ModeField, x: FloatArray) -> bool:
    """Whether the sliding block ``M = ∂h_F/∂x · B_F`` of ``field``'s mode is singular
    at ``x`` on its scale (`_DEGENERATE_BLOCK`): where the relay values it selects have a
    pole, without one in ``h``."""
    F = field.free
    if F.size == 0:
        return False
    _, B, hx, _, _ = field.evaluate(x)
    J = field.system.kernel_jacobian(x, hx.shape[0])[F]
    BF = np.asarray(B, dtype=float).reshape(x.size, field.m)[:, F]
    # (on the scale the rows had on the path, the run's `index_scales`: a row can vanish
    # with the block, ∂h_0/∂x = (2r + 4x0², 2x0) at the valley's x0 = 0 of the example below)
    rows = float(np.linalg.norm(J, 2))
    if field.index_scales is not None:
        rows = max(rows, float(np.max(field.index_scales[F])))
    scale = rows * float(np.linalg.norm(BF, 2))
    if not (math.isfinite(scale) and scale > 0.0):
        return False
    smallest = float(np.linalg.svd(J @ BF, compute_uv=False)[-1])
    return smallest <= _DEGENERATE_BLOCK * scale


def _rest_at_zero_of_h(field: ModeField, x: FloatArray, zero_tol: float) -> bool:
    """Whether ``x`` is a rest on the whole face ``h = 0``: every ``h_i`` is 0 to
    ``zero_tol`` on its own scale (`component_scales`), and the velocity 0 is in the relay's
    set there (``f0 = Bλ`` for a ``λ`` in the dual unit ball: least squares, to
    ``1e-12`` of the field's scale).

    Why: on ``(x0² + x1 − 1)²/2`` the ℓ∞ flow slides on ``x0 = 0`` into the valley
    ``x1 = 1 − x0²``, where ``∂h_0/∂x0 = 2(x0² + x1 − 1) + 4x0²`` vanishes: the sliding
    relay value ``λ_0 = −x0/(x0² + x1 − 1)``, a 0/0 on the path, passed through its pole
    2.7e-13 before the valley and the run ended −3 ("a pole or discontinuity of h") at
    the minimizer it had reached."""
    system = field.system
    f0, B, hx = system.kernel_evaluate(x)
    J = system.kernel_jacobian(x, hx.shape[0])
    scales = component_scales(J, x, hx - J @ x)
    if not bool(np.all(np.abs(hx) <= zero_tol * np.maximum(scales, 1e-300))):
        return False
    B = np.asarray(B, dtype=float).reshape(x.size, hx.shape[0])
    lam = np.linalg.lstsq(B, f0, rcond=None)[0]
    v_scale = max(float(np.max(np.abs(f0), initial=0.0)) + float(np.max(np.abs(B))), 1e-300)
    if not float(np.max(np.abs(f0 - B @ lam), initial=0.0)) <= 1e-12 * v_scale:
        return False
    return bool(system.norm.dual(lam) <= 1.0 + 1e-12)


def _brief_set(idx: np.ndarray) -> str:
    """``{0, 2, 3}`` (at most six indices, then ``...``)."""
    shown = ", ".join(str(int(i)) for i in idx[:6])
    return "{" + shown + (", ...}" if idx.size > 6 else "}")


def _start_jump(
    x: FloatArray, x_start: FloatArray, state_tol: tuple[float, float], t: float, mode: Mode
) -> Finished | None:
    """Status −4 when a mode's start (its Newton projection onto the manifold,
    `ModeField.start`) moved the state from ``x`` to ``x_start`` by more than
    `_START_MOVE` tolerances and ``√rtol·max(1, |x|)``; ``None`` otherwise.

    Why: a Filippov solution is continuous, and the projection only corrects the event's
    location error (the dense output's, at the tolerance). A larger move is a jump the
    inclusion does not make: the manifold is not where the path is. With two equal columns
    of a ridge-logistic objective (λ = 1e-13) both partials reached 0 together, up to
    λ·(x0 − x1); the rest mode's block had condition ~1e12 and its projection moved the
    state 0.15 across the valley in one instant, reported as a unique stationary point
    (status 1), where the solution slides on along the valley for 0.15 time units.
    """
    move = float(np.max(np.abs(x_start - x), initial=0.0))
    # The event's location error reaches the start amplified by the manifold's condition:
    # 100-960 tolerances (1e-9) on the ℓ1 flows of a scaled softplus family at rtol = 1e-12;
    # none reaches the square root of the tolerance, a jump across a valley (0.15) does.
    allowed = max(
        _START_MOVE * _state_tol(x, state_tol),
        math.sqrt(state_tol[0]) * max(1.0, float(np.max(np.abs(x)))),
    )
    if move <= allowed:
        return None
    return Finished(
        -4,
        f"no consistent mode found at t = {t:.12g}: starting mode {mode.label} would move "
        f"the state by {move:.3g} ({move / _state_tol(x, state_tol):.3g} tolerances) onto "
        f"its manifold, from x = {np.array2string(x, precision=12)} to "
        f"{np.array2string(x_start, precision=12)}; a Filippov solution does not jump "
        "(the manifold's equations are ill-conditioned or the mode is wrong here)",
    )


def _state_tol(x: FloatArray, state_tol: tuple[float, float]) -> float:
    """The run's tolerance on a state of the size of ``x``: ``rtol·max(1, |x|) + atol``."""
    rtol, atol = state_tol
    return rtol * max(1.0, float(np.max(np.abs(x)))) + atol


def _arrival(field: ModeField, Jac: FloatArray, v: FloatArray) -> tuple[FloatArray, float] | None:
    """``(v/‖v‖, A)`` for an ℓ∞ relay's tie arriving at ``h = 0`` with velocity ``v``:
    `_arrival_along` the tie's common ``σ_i h_i`` (its guard). ``None`` without a tie."""
    F = field.free
    if F.size == 0:
        return None
    return _arrival_along((field.sigma[F][:, None] * Jac[F]).mean(axis=0), v)


def _arrival_along(grad_guard: FloatArray, v: FloatArray) -> tuple[FloatArray, float] | None:
    """``(v/‖v‖, A)`` for a guard with gradient ``grad_guard`` reaching 0 at velocity
    ``v``: ``A = ‖v‖‖∇g‖/|∇g·v|`` (at most `_ARRIVAL_FACTOR`). The located time is off by
    the guard's error over its rate ``∇g·v``, and the state by ``v`` times that: ``A``
    times what the guard's error is in state units. ``None`` without a velocity."""
    speed = float(np.linalg.norm(v))
    if not speed > 0.0:
        return None
    rate = abs(float(grad_guard @ v))
    reach = speed * float(np.linalg.norm(grad_guard))
    factor = reach / rate if rate > 0.0 else np.inf
    return v / speed, float(min(max(factor, 1.0), _ARRIVAL_FACTOR))


def _rest_where_the_path_reaches(
    rec: Recorder,
    field: ModeField,
    t: float,
    x: FloatArray,
    x_rest: FloatArray,
    arrival: tuple[FloatArray, float],
    v: FloatArray,
    t_end: float,
    tol: float,
) -> float | None:
    """The time of a rest moved from ``x`` (located at ``t`` on the path of ``field``'s
    mode, velocity ``v`` there) to ``x_rest`` along the path: later by the move along it
    over the speed, the path going on at ``v`` until then (a linear segment, up to
    ``t_end``), or earlier, the recorded path cut there (`Recorder.cut_last_segment`).
    The state stays continuous along the path; the part across it must be within the
    state tolerance ``tol`` (else the rest keeps its time: a move mostly across the path is
    no location error). ``None`` when the path gets there only after ``t_end``: it is
    recorded at ``v`` up to ``t_end``, where the run ends before its rest (it jumped onto
    the rest there: 536 tolerances on a valley's sign flow, reported with the state at the
    minimizer)."""
    move = x_rest - x
    along = float(move @ arrival[0])
    if float(np.max(np.abs(move - along * arrival[0]))) > tol:
        # Mostly across the path: not the arrival's location error alone (the old velocity
        # would carry the state elsewhere, uphill on a valley's floor); the rest keeps its
        # time.
        return t
    ahead = along / float(np.linalg.norm(v))
    if ahead > 0.0 and t < t_end < t + ahead:
        rec.linear_segment(t, t_end, x, v, field.mode, field.evaluate(x)[4])
        return None
    if ahead > 0.0 and t < t + ahead <= t_end:
        rec.linear_segment(t, t + ahead, x, v, field.mode, field.evaluate(x)[4])
        return t + ahead
    if ahead < 0.0 and rec.cut_last_segment(t + ahead) is not None:
        return t + ahead
    return t


def _linf_rest_at_zero(
    norm: Norm, f0: FloatArray, B: FloatArray, Jac: FloatArray, t: float
) -> None:
    """At ``h = 0`` an ℓ∞ relay's face is the whole ℓ1 ball: the state is an equilibrium
    only if the consistent velocity there vanishes (always for gradient flows). Otherwise
    it moves along ``h = 0``, which this path does not integrate: fail clearly."""
    cv = consistent_relay(norm, f0, B, np.zeros(B.shape[1]), Jac)
    if float(np.max(np.abs(cv.velocity))) > 1e-12 * max(float(np.max(np.abs(B))), 1e-300):
        raise PathFailure(
            -4,
            f"h = 0 reached at t = {t:.12g}, where the linf relay cannot hold the state at "
            f"rest (its selection there gives the velocity "
            f"{np.array2string(cv.velocity, precision=6)}, not 0): passing through h = 0, "
            "or moving along it, is not supported",
        )


def _rest_is_unique(
    system: FilippovSystem,
    x: FloatArray,
    free: np.ndarray,
    m: int,
    sigma: FloatArray | None = None,
) -> bool:
    """Whether staying at the equilibrium ``x`` is the only Filippov solution.

    ℓ1: decided from the set of solutions of the selection on the zero set, with a
    second-order probe of each candidate departure (:func:`filippov._rest.rest_is_unique`).
    Other norms, with every relay value free (``h = 0``): only if ``M = ∂h/∂x B`` is a
    P-matrix (for a gradient flow: a strict local minimum). An equilibrium inside a
    smaller face keeps the uniqueness its entry event recorded."""
    if system.norm.name == "l1":

        def evaluate(z: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
            f0, B, hz = system.kernel_evaluate(z)
            return f0, B, hz, system.kernel_jacobian(z, m)

        f0, B, hx = system.kernel_evaluate(x)
        signs = np.sign(hx) if sigma is None else sigma
        v_scale = float(np.max(np.abs(f0))) + float(np.max(np.abs(B)))
        return rest_is_unique(evaluate, x, np.asarray(free, dtype=np.intp), signs, v_scale)
    if free.size != m:
        return True
    _, B, _ = system.kernel_evaluate(x)
    return is_p_matrix(system.kernel_jacobian(x, m) @ B) is True


def _is_stationary(field: ModeField, x: FloatArray, v_scale: float, state_tol: float) -> bool:
    """Whether the mode's velocity at ``x`` is 0 (to ``1e-12`` of the field's scale):
    either as the mode's field gives it, or without its drift correction while that
    correction (``gain`` times the move onto the manifold) moves the state by at most
    ``state_tol`` in all.

    Why the second: where every index slides the nominal velocity is 0 at any state, and
    the field's is the drift correction alone, ``gain`` times the Newton move onto the
    manifold, which is that move's rounding over the block's smallest eigenvalue. On a
    valley's sign flow (an eigenvalue of 4e-6) the state at the rest was 2.9e-12 from the
    minimizer, the correction 1.1e-12 at a gain of 0.1, just above the first test: the rest
    was integrated as a mode to ``t_end``, status 0 instead of 1.
    """
    f0, B, _, _, lam = field.evaluate(x)
    v = f0 - B @ lam
    speed = float(np.max(np.abs(v)))
    if speed <= 1e-12 * v_scale:
        return True
    if not field.gain > 0.0 or not field.free.size:
        return False
    if speed > field.gain * state_tol + 1e-12 * v_scale:
        return False  # (faster than any drift correction within the tolerance: moving)
    nominal = ModeField(
        field.system, field.norm, field.sigma, field.free, field.offset, field.h_scale, 0.0, None
    )
    f0, B, _, _, lam = nominal.evaluate(x)
    v_nominal = f0 - B @ lam
    if not float(np.max(np.abs(v_nominal))) <= 1e-12 * v_scale:
        return False
    return float(np.max(np.abs(v - v_nominal))) / field.gain <= state_tol


def _transition(
    system: FilippovSystem,
    field: ModeField,
    t: float,
    x: FloatArray,
    values: FloatArray,
    norm: str,
    margin: Margins,
    tie_tol: float,
    t_tol: float,
    rec: Recorder,
    state_tol: tuple[float, float],
    t_end: float = np.inf,
    jac: FloatArray | None = None,
) -> tuple[
    float,
    FloatArray,
    FloatArray,
    np.ndarray,
    FloatArray,
    bool,
    tuple[FloatArray, FloatArray] | None,
]:
    """New mode after an event: re-solve the selection on the candidate face, record.

    ``margin[i]`` is the guard offset of an ℓ1 index leaving its surface at the event,
    ``tie_tol`` that of an index leaving an ℓ∞ tie; ``jac`` the Jacobian of ``h`` at
    ``x`` when the caller took it already. Returns ``(t, x, sigma, free,
    offset, stationary, seed)``; ``seed`` holds ``h(x)`` and the Jacobian rows of the new
    free set when they were evaluated here (ℓ1). ``state_tol``: the run's ``(rtol, atol)``
    (they bound the move of a rest state onto ``h = 0``, see `_onto_zero_set`); a rest
    moved ahead along its path starts that much later, up to ``t_end`` (the returned
    ``t``).
    """
    m = field.m
    f0, B, hx, _, _ = field.evaluate(x)  # the event state, cached by the location
    _, lam_ev, kinds = field.guard_values(x)
    # Events are simultaneous when they would happen within `t_tol` (rtol times the time
    # span) of each other: probe that far ahead along the mode's field and see which
    # guards it crosses.
    v_ev = field.rhs(t, x)
    # (and within the state's tolerance along the path: with a generous t_end, rtol times
    # the span is many tolerances of travel, and an arrival merged that far ahead skips
    # what happens before it. On a valley's sign flow, span 196, an entry 4.2e-5 after
    # the event was merged and a crossing between them skipped: 73 tolerances off.)
    speed = float(np.max(np.abs(v_ev)))
    if speed > 0.0:
        t_tol = min(t_tol, _state_tol(x, state_tol) / speed)
    probe = field.guard_values(x + t_tol * v_ev)[0]
    hits = np.flatnonzero((values <= 0.0) | (probe <= 0.0))
    # (before the jump test: a guard of rounding that moves the wrong way is no pole)
    at_rounding = norm == "l1" and _gradient_at_rounding_everywhere(
        system, x, hx, field.h_scale, _state_tol(x, state_tol), rec
    )
    if norm == "l1" and not at_rounding:
        _refuse_jumps_in_probe(system, field, x, v_ev, values, probe, t, t_tol)
    old_mode = field.mode
    offset = np.zeros(m)
    if norm == "l1":
        sigma = field.sigma.copy()
        J = set(int(j) for j in field.free)
        exited = [field.entry_index(p) for p in hits if kinds[p] == 1]
        for j in exited:
            sigma[j] = np.sign(lam_ev[j])
            J.discard(j)
        for j in exited:
            sigma[j] = _exit_side(system, x, f0, B, sigma, J, j)
        entries = [int(p) for p in hits if kinds[p] == 0]
        late = _late_on_next_mode(system, field, x, f0, B, sigma, J, entries, values, margin, t_tol)
        # Arrivals the probe alone put at this event (their guards above their rounding).
        early = [p for p in entries if p not in late and values[p] > margin[field.entry_index(p)]]
        if at_rounding:
            # The whole gradient is rounding: every index arrives (the rest), none exits.
            J = set(int(j) for j in field.free)
            sigma = field.sigma.copy()
            entries, late, early, exited = list(range(field.fixed.size)), set(), [], []
        old_sigma = field.sigma.copy()
        signs = sigma
        while True:
            arrived = np.asarray(
                sorted(field.entry_index(p) for p in entries if p not in late), dtype=np.intp
            )
            cand = np.array(sorted(J | set(int(i) for i in arrived)), dtype=np.intp)
            sigma = signs.copy()
            sigma[cand] = 0.0
            rec.n_selection_solves += 1
            lam = sigma.copy()
            lam[cand], interior, unique, Jc = _l1_selection(system, x, f0, B, sigma, cand)
            free = cand[interior]
            leaving = np.delete(cand, interior)
            sigma[leaving] = np.sign(lam[leaving])
            if not early or not _merge_moves_state(x, hx, B, free, Jc[interior], state_tol):
                break
            # The merged arrivals put the new mode's manifold beyond the run's accuracy
            # from x: they are taken in their own events (see `_merge_moves_state`).
            late.update(early)
            early = []
        seed: tuple[FloatArray, FloatArray] | None = (hx, Jc[interior])
        if free.size == m == x.shape[0] and arrived.size and np.array_equal(cand, np.arange(m)):
            # Every index slides: the rest at h = 0 (a sign flow's minimizer). As for an
            # ℓ∞ relay's rest (`_onto_zero_set`), the state is moved onto it where that
            # only corrects the arrival's location along the path (on a valley the last
            # entry was located 7e-3 early, the start projection jumped that far, and
            # the run ended with status 0), and the rest starts where the path gets there.
            guards = old_sigma[arrived][:, None] * Jc[arrived]
            arrival = _arrival_along(guards.mean(axis=0), v_ev)
            x_rest, kept = _onto_zero_set(system, x, hx, Jc, B, state_tol, arrival)
            if kept and arrival is not None and x_rest is not x:
                t_rest = _rest_where_the_path_reaches(
                    rec, field, t, x, x_rest, arrival, v_ev, t_end, _state_tol(x, state_tol)
                )
                if t_rest is None:  # (the run ends on the path, before the rest)
                    return t_end, rec.x[-1], field.sigma, field.free, field.offset, False, None
                t, x, seed = t_rest, x_rest, None
        mode = make_mode("l1", sigma, free)
        in_J = np.zeros(m, dtype=bool)
        in_J[free] = True
        record_l1_transition(rec, t, x, arrived, old_sigma, sigma, in_J, old_mode, mode, unique)
        if free.size == m and _rests_on_a_singular_block(f0, B, lam, Jc):
            # (the loop records the rest, its uniqueness probed: `_rest_is_unique`)
            return t, x, sigma, free, offset, True, None
        # `record_l1_transition` reports free indices that left; exits found by the guard
        # were free before the event too, so they are covered.
        at_zero = np.zeros(m, dtype=bool)
        at_zero[leaving] = True
        at_zero[exited] = True
        at_zero[free] = False
        starting_at_zero = np.flatnonzero(at_zero)
        offset[starting_at_zero] = margin[starting_at_zero] + np.abs(hx[starting_at_zero])
        # h and the rows of the new sliding set at x: the new mode's projection starts
        # from them instead of evaluating them again.
        return t, x, sigma, free, offset, False, seed
    Jac = system.kernel_jacobian(x, m) if jac is None else jac
    if norm == "linf":
        hits = _zero_entries_as_rest(field, hx, hits, kinds, tie_tol)
        late = _late_on_next_tie(system, field, f0, B, hx, Jac, hits, values, kinds, tie_tol, t_tol)
        hits = np.asarray([p for p in hits if p not in late], dtype=np.intp)
        rest = _linf_rest(
            system, field, x, hx, Jac, B, v_ev, values, hits, kinds, tie_tol, state_tol
        )
        if rest is None:
            # (no rest, or one that only the probe put here and that is no rest yet: see
            # `_linf_rest`; the tie that the other events select goes on)
            hits = np.asarray([p for p in hits if kinds[p] != 2], dtype=np.intp)
        else:
            x_rest, arrival = rest
            _linf_rest_at_zero(system.norm, f0, B, Jac, t)
            if arrival is not None and x_rest is not x:
                t_rest = _rest_where_the_path_reaches(
                    rec, field, t, x, x_rest, arrival, v_ev, t_end, _state_tol(x, state_tol)
                )
                if t_rest is None:  # (the run ends on the path, before the rest)
                    return t_end, rec.x[-1], field.sigma, field.free, field.offset, False, None
                t = t_rest
            moved, x = x_rest is not x, x_rest
            x0 = np.zeros(m)
            # (every index, as the rest mode and the exact and continuation paths name it;
            # at h = 0 every relay value is free: staying is the only solution when
            # ∂h/∂x B is a P-matrix, see `solve`; read at the rest, not at the event: near
            # a valley of minimizers the Hessian's flat eigenvalue grows with the distance
            # to it: a rank-1 factorization's greedy flow had it at 6e-12 of the largest
            # at its event state, 8e-17 at the rest, and its rest recorded unique)
            if moved:
                f0, B, _ = system.kernel_evaluate(x)
                Jac = system.kernel_jacobian(x, m)
            unique = is_p_matrix(Jac @ B) is True
            rec.event(
                t,
                x,
                "stationary",
                np.arange(m),
                old_mode,
                make_mode("linf", x0, np.arange(m)),
                unique=unique,
                note="" if unique else _REST_AT_ZERO_NOTE,
            )
            return t, x, np.zeros(m), np.arange(m), offset, True, None
        A = set(int(i) for i in field.free)
        joined = [field.entry_index(p) for p in hits if kinds[p] == 0]
        left_by_guard = [field.entry_index(p) for p in hits if kinds[p] == 1]
        cand = np.array(sorted((A - set(left_by_guard)) | set(joined)), dtype=int)
        sigma = np.zeros(m)
        sigma[cand] = np.sign(hx[cand])
        rec.n_selection_solves += 1
        cv = consistent_relay(system.norm, f0, B, hx, Jac, free=cand, signs=sigma)
        free = np.asarray(cv.free, dtype=int) if cand.size > 1 else cand
        sigma_new = np.zeros(m)
        sigma_new[free] = sigma[free]
        mode = make_mode("linf", sigma_new, free)
        entered = sorted(set(int(i) for i in free) - A)
        left = sorted(A - set(int(i) for i in free))
        if entered:
            rec.event(
                t,
                x,
                "tie-entry" if not left else "crossing",
                entered,
                old_mode,
                mode,
                unique=cv.unique,
            )
        elif joined:
            rec.event(t, x, "tangency", joined, old_mode, mode, unique=cv.unique)
        if left:
            rec.event(t, x, "tie-exit", left, old_mode, mode, unique=cv.unique)
        # Offsets only for the indices that start the mode on the tie: those that left it
        # or were candidates not selected, and any at or above its value by rounding. Every
        # index outside the tie got one, and a tie offset is an absolute margin (`tie_tol`,
        # then on h's scale at x0, now at the event): near a minimizer, where |h| had fallen to 1e-6
        # of it, it was 3e-4 of the tie's value, and each later entry came that much late
        # (a greedy flow 2.4e4 tolerances off the exact path, status 1; review R19). An
        # index still below the tie, however little, fires where it reaches it.
        out = np.setdiff1d(np.arange(m), free)
        tie_value = float(np.mean(np.abs(hx[free]))) if free.size else 0.0
        on_tie = np.isin(out, cand) | np.isin(out, field.free)
        near = out[on_tie | (tie_value - np.abs(hx[out]) <= 0.0)]
        offset[out] = 0.0
        offset[near] = tie_tol
        return t, x, sigma_new, free, offset, False, None
    # ℓ2
    if field.free.size:  # leaving h = 0: ‖λ‖ reached 1
        rec.event(t, x, "exit", np.arange(m), old_mode, Mode("l2", (0,) * m))
        raise PathFailure(
            -4,
            f"the ℓ2 relay leaves h = 0 at t = {t:.12g}; continuing from h = 0 needs a "
            "direction choice the event path does not make (not supported)",
        )
    try:
        t, x, reached = arrive_l2(system, field, t, x, rec, t_end, state_tol)
    except PathFailure as failure:
        # The arrival's machinery follows a flow that comes to rest or slides at h = 0
        # (gradient flows: ‖h‖ → 0 as the flow slows down). A relay that reaches h = 0
        # at finite speed with no velocity of F there that vanishes or stays on h = 0
        # passes through it, which the README's limits name (−4); the arrival failed
        # −1 on it, with scipy's "`x` must contain at least 2 elements" or "does not
        # finish" (stranger fuzz fz12).
        if failure.status == -1 and _l2_passes_through(system, x, m):
            # (t and x are the arrival's start, ‖h‖ away from h = 0: said, not hidden)
            nh = float(np.linalg.norm(system.kernel_evaluate(x)[2]))
            raise PathFailure(
                -4,
                f"the ℓ2 relay passes through h = 0 just after t = {t:.12g} (‖h‖ = {nh:.3g} "
                "there; no velocity of its Filippov set at h = 0 vanishes or stays on it: "
                f"a crossing of a codimension-{m} set); the event path does not continue "
                "through it (not supported)",
            ) from failure
        raise
    if not reached:  # (the run ends on the way in, at t_end)
        return t, x, field.sigma, field.free, field.offset, False, None
    f0, B, hx = system.kernel_evaluate(x)
    Jac = system.kernel_jacobian(x, m)
    rec.n_selection_solves += 1
    cv = consistent_relay(system.norm, f0, B, hx, Jac, free=np.arange(m))
    mode = Mode("l2", (0,) * m, tuple(range(m)))
    if float(np.max(np.abs(cv.velocity))) <= 1e-10 * max(float(np.max(np.abs(B))), 1e-300):
        note = "" if cv.unique else _REST_AT_ZERO_NOTE
        rec.event(t, x, "stationary", np.arange(m), old_mode, mode, unique=cv.unique, note=note)
        return t, x, np.zeros(m), np.arange(m), offset, True, None
    if cv.free:
        rec.event(t, x, "sliding-entry", np.arange(m), old_mode, mode, unique=cv.unique)
        return t, x, np.zeros(m), np.arange(m), offset, False, None
    raise PathFailure(
        -4,
        f"the ℓ2 relay passes through h = 0 at t = {t:.12g} (a crossing of a codimension-"
        f"{m} set); the event path does not continue through it (not supported)",
    )


def _l2_passes_through(system: FilippovSystem, x: FloatArray, m: int) -> bool:
    """Whether an ℓ2 relay near ``h = 0`` at ``x`` can neither rest nor slide there: the
    consistent relay value on ``h = 0`` (``‖λ‖ ≤ 1``) leaves a nonzero velocity that does
    not keep ``h = 0``."""
    f0, B, hx = system.kernel_evaluate(x)
    Jac = system.kernel_jacobian(x, m)
    try:
        cv = consistent_relay(system.norm, f0, B, hx, Jac, free=np.arange(m))
    except (np.linalg.LinAlgError, ValueError):
        return False
    moving = float(np.max(np.abs(cv.velocity))) > 1e-10 * max(float(np.max(np.abs(B))), 1e-300)
    return moving and not cv.free


def _gradient_at_rounding_everywhere(
    system: FilippovSystem,
    x: FloatArray,
    hx: FloatArray,
    h_scale: float,
    state_tol: float,
    rec: Recorder,
) -> bool:
    """Whether a steepest-descent flow's every partial ``h = ∇f`` at ``x`` is at its
    rounding: at most 64 times the gradient's largest change when every coordinate moves
    by one ulp (one gradient more, taken only where every ``|h_i|`` is below 1e-8 of
    ``h_scale``) -- and ``x`` is a rest to
    the state's tolerance ``state_tol``: the least-norm Newton step to ``h = 0`` (the
    Hessian's singular values at rounding cut) is at most that long.

    The second test: a coupled gradient's rounding bound counts every coordinate's ulp,
    and ``½(x0 − 1e8 + ½x1)² + 1e-9·½(x1 − 1)²`` at x0 ≈ 1e8 had ∂₁f = 2.7e-7 within 64
    times its change over those ulps (7.5e-9) while 266 from its zero: the rest was
    declared there and the state moved by 268 at once (review of the first version).

    Why: a sign flow reaching a valley of minimizers on a singular sliding block (a
    matrix factorization's, `filippov._mode_field.LEAST_NORM_SLIDING_NOTE`) arrived with
    every partial at 1e-16: the last entries and exits there were rounding, taken one by
    one (an index "leaving" at ∂f = 3e-16 while others arrived), until a guard at
    rounding moved the wrong way and the run ended −3 ("a pole or discontinuity of h") at
    the minimizer."""
    if system.objective is None or not hx.size:
        return False
    if not float(np.max(np.abs(hx))) <= 1e-8 * h_scale:
        return False
    rec.nfev += 1
    h_up = system.kernel_evaluate(np.nextafter(x, np.inf))[2]
    # (against the gradient's largest change, not each partial's own: a partial of 1e-16
    # whose own change over an ulp was 1e-19 -- its coordinates near 0 -- kept a
    # factorization's rest from being read on one BLAS thread count, and the run ended
    # −3 at the minimizer; the Newton step below keeps a real partial beside a stiff one)
    if not float(np.max(np.abs(hx))) <= 64.0 * float(np.max(np.abs(h_up - hx))):
        return False
    jac = system.kernel_jacobian(x, hx.size)
    step = np.linalg.lstsq(jac, hx, rcond=hx.size * _EPS)[0]
    return float(np.max(np.abs(step))) <= state_tol


def _rests_on_a_singular_block(
    f0: FloatArray, B: FloatArray, lam: FloatArray, Jac: FloatArray
) -> bool:
    """Whether an ℓ1 relay whose every index is at zero (every relay value free, ``Jac``
    the Jacobian rows of all of them) rests where its selection block ``M = ∂h/∂x B`` is
    singular beyond double precision: the selected ``λ`` (the minimal-norm one) gives the
    velocity ``f0 − Bλ = 0`` to ``1e-12`` of the field's scale, as `_is_stationary` reads
    a rest.

    Why: the rest of a sign flow in a valley of minimizers (``f = g(x₀ + x₁)``, or two
    equal columns of a linear model without a ridge: ``∂₀f ≡ ∂₁f``, the Hessian singular
    everywhere) was taken for a sliding mode, whose selection ``check_selection_precision``
    refuses (condition number inf): the run ended −5 at the correct rest, where the exact
    and continuation paths report it (status 1, flagged not unique). Every partial is zero
    there and ``0 ∈ f0 − B·[−1, 1]^m``: the state stays, whatever the selection's other
    solutions (which `_rest_is_unique` probes). A nonzero velocity (a Lur'e system moving
    along a curve of zeros of ``h``) is no rest: it is left to that refusal."""
    M = Jac @ B
    if not selection_beyond_precision(M, B):
        return False
    v_scale = max(float(np.max(np.abs(f0), initial=0.0)) + float(np.max(np.abs(B))), 1e-300)
    return float(np.max(np.abs(f0 - B @ lam), initial=0.0)) <= 1e-12 * v_scale


def _late_on_next_mode(
    system: FilippovSystem,
    field: ModeField,
    x: FloatArray,
    f0: FloatArray,
    B: FloatArray,
    sigma: FloatArray,
    J: set[int],
    entries: list[int],
    values: FloatArray,
    margin: Margins,
    t_tol: float,
) -> set[int]:
    """The guard entries among ``entries`` (ℓ1 arrivals at an event) that only the probe
    along the old mode's velocity put within ``t_tol``: on the mode that follows the
    certain arrivals (guard at or below 0), they would not reach 0 within ``t_tol``.

    Why: the probe reads the old mode's rates, and an arrival changes them. On a valley
    (a softplus plus ``|Ax + b|²`` with a rank-deficient ``A`` and a ridge of 1e-5), the
    sign flow's last free index had its guard 2.9e-7 above 0, falling at rate 1.2 on the
    old mode: merged with the entry of another index, and the rest mode that followed
    was projected onto the minimizer, a jump of 0.027 (2.7e6 tolerances) past a mode of
    length 0.027 in which that guard falls at rate 1e-5; the run reported success. The
    guards within ``margin`` of 0 (their rounding) still arrive: they cannot be told
    from 0. Returns positions in ``values``."""
    candidates = [p for p in entries if values[p] > margin[field.entry_index(p)]]
    if not candidates:
        return set()
    certain = {field.entry_index(p) for p in entries if p not in candidates}
    cand = np.array(sorted(J | certain), dtype=np.intp)
    signs = sigma.copy()
    signs[cand] = 0.0
    try:
        lam_cand = _l1_selection(system, x, f0, B, signs, cand)[0]
    except np.linalg.LinAlgError:
        return set()  # (no next mode to judge by: the probe's answer stands)
    lam = signs
    lam[cand] = lam_cand
    velocity = f0 - B @ lam
    idx = np.array([field.entry_index(p) for p in candidates], dtype=np.intp)
    rates = sigma[idx] * (system.kernel_jacobian_rows(x, idx, sigma.shape[0]) @ velocity)
    return {p for p, rate in zip(candidates, rates, strict=True) if values[p] + t_tol * rate > 0.0}


def _merge_moves_state(
    x: FloatArray,
    hx: FloatArray,
    B: FloatArray,
    free: np.ndarray,
    rows: FloatArray,
    state_tol: tuple[float, float],
) -> bool:
    """Whether the first Newton correction of the new ℓ1 mode's start projection (onto
    ``h_free = 0`` in the span of ``B_free``, as `ModeField.project` takes it) moves ``x``
    by more than `_REST_MOVE` tolerances.

    Why: arrivals that the probe merged with an event are not at 0 there; the projection
    puts them there. Where the sliding block is ill-conditioned a small guard is a long
    way: on a valley (a Hessian eigenvalue of 1.4e-6) a sign flow's crossing at t = 0.3251
    and the entry of another index 4e-7 later were merged into one entry of both, the
    state was projected 0.037 (1e5 tolerances) onto the minimizer, and a whole sliding
    mode of length 0.037 was skipped (status 0, no warning). Taken one by one, each
    arrival is located on its own guard and the mode between them is integrated."""
    if free.size == 0:
        return False
    BF = B[:, free]
    with np.errstate(all="ignore"):
        move = BF @ min_norm_correction(rows @ BF, hx[free])
    return not float(np.max(np.abs(move))) <= _REST_MOVE * _state_tol(x, state_tol)


def _zero_entries_as_rest(
    field: ModeField, hx: FloatArray, hits: np.ndarray, kinds: np.ndarray, tie_tol: float
) -> np.ndarray:
    """``hits`` of an ℓ∞ relay's event with each arrival at the tie of an index whose
    ``h_i`` is at zero (``|h_i| <= tie_tol``) replaced by the tie's common value reaching
    0 (the rest, guard kind 2).

    Why: such an index meets the tie's common ``|h|`` only where that value is itself at
    zero, so its entry is the rest, not a tie with one more member. Taken as an entry, it
    joined the tie with sign ``sign(h_i) = 0``: a member that carries part of the tie's
    weight and moves nothing. On the greedy flow started 5e-11 from a minimizer whose
    partials 2 and 4 were exactly 0, the probe put those entries and the rest at the
    first event; the rest was judged late on the tie of all of them (its common rate
    diluted by the two dead members), the entries were kept, and the tie's velocity
    vanished with ``λ`` on the dead members: a counterfeit rest, recorded with ``λ`` of
    size 1 (velocity ``−λ ≠ 0``), and the run failed its self-check (−5). The rest is
    then decided as any other (`_late_on_next_tie`, `_linf_rest`), and an index at zero
    that does not arrive with it is left to its own event on the next mode (its guard
    there is at least the rest's)."""
    # (at zero to the rounding of h, not to the whole tie tolerance: near a minimizer
    # the tie's value itself fell to that tolerance, 2.6e-10 against 2.5e-10, and the
    # last entry before a long tie of every index was taken for the rest, 1.9e-5 short
    # of it; review R19)
    at_zero = min(tie_tol, TIE_MARGIN_ULPS * _EPS * field.h_scale)
    zero_entries = [
        int(p) for p in hits if kinds[p] == 0 and abs(hx[field.entry_index(p)]) <= at_zero
    ]
    if not zero_entries:
        return hits
    rest = [int(p) for p in np.flatnonzero(kinds == 2)]
    kept = set(int(p) for p in hits) - set(zero_entries)
    return np.asarray(sorted(kept | set(rest)), dtype=np.intp)


def _late_on_next_tie(
    system: FilippovSystem,
    field: ModeField,
    f0: FloatArray,
    B: FloatArray,
    hx: FloatArray,
    Jac: FloatArray,
    hits: np.ndarray,
    values: FloatArray,
    kinds: np.ndarray,
    tie_tol: float,
    t_tol: float,
) -> set[int]:
    """`_late_on_next_mode` for an ℓ∞ relay (the greedy flow's ties): the guard entries
    of ``hits`` that are above ``tie_tol`` at the event, indices joining the tie and the
    tie's common value reaching 0 (the rest), that the probe along the old mode's velocity
    put within ``t_tol`` but that would not reach 0 within it on the tie that the certain
    events select. (The tie's common ``|∂f|`` falls far more slowly once its last index
    has joined, where the Hessian is ill-conditioned: merged with that entry, the rest was
    taken a whole tie mode early, see `_onto_zero_set`.) First-order rates along the next
    mode's velocity; returns positions in ``values``."""
    candidates = [int(p) for p in hits if kinds[p] != 1 and values[p] > tie_tol]
    certain = [int(p) for p in hits if int(p) not in candidates]
    if not candidates or any(kinds[p] == 2 for p in certain):
        return set()
    m = hx.shape[0]
    joined = {field.entry_index(p) for p in certain if kinds[p] == 0}
    left = {field.entry_index(p) for p in certain if kinds[p] == 1}
    stay = set(int(i) for i in field.free) - left

    def tie_rates(members: set[int]) -> tuple[FloatArray, float] | None:
        """The rates of ``h`` and the common rate of the tie selected on ``members``."""
        cand = np.array(sorted(members), dtype=int)
        if cand.size == 0:
            return None
        signs = np.zeros(m)
        signs[cand] = np.sign(hx[cand])
        try:
            cv = consistent_relay(system.norm, f0, B, hx, Jac, free=cand, signs=signs)
        except np.linalg.LinAlgError:
            return None  # (no next mode to judge by: the probe's answer stands)
        free = np.asarray(cv.free, dtype=int) if cand.size > 1 else cand
        if free.size == 0:
            return None
        rates = Jac @ np.asarray(cv.velocity, dtype=float)
        return rates, float(np.mean(signs[free] * rates[free]))

    first = tie_rates(stay | joined)
    if first is None:
        return set()
    rates, tie_rate = first
    late = set()
    for p in candidates:
        i = field.entry_index(p)
        if kinds[p] == 0 and values[p] + t_tol * (tie_rate - np.sign(hx[i]) * rates[i]) > 0.0:
            late.add(p)
    # The rest on the tie that every arrival kept here makes (a cascade: on a valley an
    # index crossed, two left the tie and joined it again 2.5e-5 later, and only on the
    # tie of all of them does the common value fall slowly, 0.87 more to the rest).
    kept = {field.entry_index(p) for p in candidates if kinds[p] == 0 and p not in late}
    rests = [p for p in candidates if kinds[p] == 2]
    last = tie_rates(stay | joined | kept) if rests and kept else first
    if last is not None:
        late.update(p for p in rests if values[p] + t_tol * last[1] > 0.0)
    return late


def _refuse_jumps_in_probe(
    system: FilippovSystem,
    field: ModeField,
    x: FloatArray,
    v: FloatArray,
    values: FloatArray,
    probe: FloatArray,
    t: float,
    t_tol: float,
) -> None:
    """Raise a −3 :class:`~filippov.engine.protocol.PathFailure` when the probe of simultaneous events finds a
    switching function that crossed zero while moving away from it: it jumped (a pole or
    a discontinuity of h), it did not arrive.

    Why: the ℓ∞ flow of ``log(x) + y²`` has x reach the pole of ``∂f/∂x = 1/x`` at the
    very time y reaches 0; ``1/x`` jumps from +1e16 to −1e16 within the probe's reach and
    was taken for an arrival, and the run reported a "stationary point" at x ≈ 1e-15.
    An index that arrives within the probe mostly has its guard decreasing at the event;
    one that rises at first and turns back within the probe's reach (a guard far more
    curved than the step, as a log-cosh model's with features scaled by 1e3: its rate
    7.6e-5 at the event and −3.4e-4 a tenth of the reach later) is told from a jump by
    bisecting its sign change along the probe (`_jumps_along`).
    """
    n_out = field.fixed.size
    cand = np.flatnonzero((values[:n_out] > 0.0) & (probe[:n_out] <= 0.0))
    if not cand.size:
        return
    idx = field.fixed[cand]
    rows = system.kernel_jacobian_rows(x, idx, field.m)
    rates = field.sigma[idx] * (rows @ v)
    # (a sign change within the rounding of h_i's terms on both sides is no jump: a
    # two-class network's partial that is its twin's exactly sat at 2e-17 with a rate of
    # 2e-16, and the run ended −3 calling the smooth gradient a pole)
    noise = 64 * _EPS * (np.abs(rows) @ np.abs(x))
    resolved = (np.abs(values[cand]) > noise) | (np.abs(probe[cand]) > noise)
    away = np.flatnonzero(~(rates < 0.0) & resolved)
    away = np.asarray(
        [k for k in away if _jumps_along(field, x, t_tol * v, int(cand[k]), values, probe)],
        dtype=np.intp,
    )
    if away.size:
        i = int(idx[away[0]])
        raise PathFailure(
            -3,
            f"switching function h_{i} changes sign right after t = {t:.12g} while moving "
            f"away from 0 (guard {values[cand[away[0]]]:.3g}, rate {rates[away[0]]:.3g}): a "
            f"pole or discontinuity of h, at x = {np.array2string(x, precision=12)}; the "
            "solution is returned up to that point",
        )


def _jumps_along(
    field: ModeField,
    x: FloatArray,
    step: FloatArray,
    k: int,
    values: FloatArray,
    probe: FloatArray,
) -> bool:
    """Whether guard entry ``k``, positive at ``x`` and at most 0 at ``x + step``, jumps
    there rather than passes through 0: its sign change bisected along the segment to
    rounding, a continuous guard is near 0 on one side of it (within its rate times the
    last bracket, and its rounding), a pole or a discontinuity is not (``1/x`` grows as
    the bracket closes in on its pole; a step keeps its size). The test: the smaller
    value at the last bracket's ends is above 1 % of the larger of ``|values[k]|`` and
    ``|probe[k]|`` (the log-cosh guard of the docstring above: 9.8e-16 against 8.6e-9).
    A guard that cannot be evaluated on the way (a non-finite value, a division by zero)
    jumps. (Own bisection rather than ``brentq``: the bracket's end values are the
    answer, not the root.)"""
    lo, hi = 0.0, 1.0
    g_lo, g_hi = float(values[k]), float(probe[k])
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:
            break
        try:
            g_mid = float(field.guard_values(x + mid * step)[0][k])
        except ArithmeticError:  # (a non-finite h, or a division by zero, at a pole)
            return True
        if not math.isfinite(g_mid):
            return True
        if g_mid > 0.0:
            lo, g_lo = mid, g_mid
        else:
            hi, g_hi = mid, g_mid
    return min(abs(g_lo), abs(g_hi)) > 1e-2 * max(abs(float(values[k])), abs(float(probe[k])))


def _exit_side(
    system: FilippovSystem,
    x: FloatArray,
    f0: FloatArray,
    B: FloatArray,
    sigma: FloatArray,
    free: set[int],
    j: int,
) -> float:
    """The side relay ``j`` leaves to where its sliding ends with ``λ_j = s = sigma[j]``:
    ``s``, unless the field with relay ``j`` at ``−s`` (the others of ``free`` sliding on)
    leaves ``h_j = 0`` on its own side beyond the rounding of its terms. Then the sliding
    was repulsive (kept from a start on a repulsive manifold, flagged not unique): ``λ_j``
    reached ``s`` where the field of side ``s`` turns onto the manifold, and side ``−s``
    is the only way on.

    Why: side ``s`` was taken, where that field points back across at once; the state
    crossed to side ``−s`` only when ``h_j`` had passed the guard's margin, with the
    wrong field in between, ``√(2·atol)`` off (1.4e-6 at atol 1e-12) and a crossing
    recorded that no solution makes."""
    s = float(sigma[j])
    other = sigma.copy()
    other[j] = -s
    lam = other.copy()
    cand = np.asarray(sorted(free), dtype=np.intp)
    if cand.size:
        lam[cand] = _l1_selection(system, x, f0, B, other, cand)[0]
    row = system.kernel_jacobian_rows(x, np.array([j], dtype=np.intp), sigma.shape[0])[0]
    rate = float(row @ (f0 - B @ lam))
    terms = float(np.abs(row) @ (np.abs(f0) + np.abs(B) @ np.abs(lam)))
    return -s if -s * rate > 1e-9 * terms else s


def _l1_selection(
    system: FilippovSystem,
    x: FloatArray,
    f0: FloatArray,
    B: FloatArray,
    sigma: FloatArray,
    cand: NDArray[np.intp],
) -> tuple[FloatArray, np.ndarray, bool, FloatArray]:
    """The ℓ1 selection on the candidate zero set ``cand`` at an event.

    The box VI of :func:`~filippov.systems.consistent_relay` (``M = (∂h/∂x)_J B_J``, the
    drift ``a`` with the relays off ``J`` at ``sigma``), built from the Jacobian rows of
    ``J`` only. Returns ``(λ_J, positions in cand that stay free, unique, rows)``, the
    answer of :func:`~filippov.selection.solve_box_vi` and the Jacobian rows of ``cand``. Its most common case at an event is settled
    here first, at a fraction of its cost (it runs once per event): ``M`` symmetric
    positive definite by ``solve_box_vi``'s own tests (every sign flow: ``M = ∇²f_JJ``)
    and the unconstrained solution inside the box; then every candidate stays free and
    that solution is the unique one (the VI is a strictly convex QP). Anything else goes
    to ``solve_box_vi``.
    """
    k = cand.size
    if k == 0:
        return np.zeros(0), np.zeros(0, dtype=np.intp), True, np.zeros((0, x.shape[0]))
    outside = np.ones(sigma.shape[0], dtype=bool)
    outside[cand] = False
    Jc = system.kernel_jacobian_rows(x, cand, sigma.shape[0])
    a = Jc @ (f0 - B[:, outside] @ sigma[outside])
    M = Jc @ B[:, cand]
    tol = 1e-12  # solve_box_vi's default, as consistent_relay uses it
    if is_symmetric(M):
        Ms = 0.5 * (M + M.T)
        if is_pd_symmetric(Ms, tol):
            tol_lam, _ = box_tolerances(M, a, tol)
            # solve_box_vi's tests: the bounds on the symmetrised system, λ from M itself.
            if float(np.max(np.abs(np.linalg.solve(Ms, a)))) <= 1.0 + tol_lam:
                lam = np.clip(np.linalg.solve(M, a), -1.0, 1.0)
                return lam, np.arange(k), True, Jc
    sel = solve_box_vi(M, a)
    interior = np.asarray(sel.interior, dtype=np.intp)
    return np.asarray(sel.lam, dtype=float), interior, sel.unique, Jc


def _scale(values: FloatArray) -> float:
    return max(1.0, float(np.max(np.abs(values))))
