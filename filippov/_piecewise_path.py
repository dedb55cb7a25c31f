"""The event-driven path of :class:`~filippov.piecewise.PiecewiseSystem` (Stewart systems).

A mode is a set ``S`` of surfaces held at ``c_i = 0`` plus the signs of the others; its
velocity is the region's field (``S`` empty) or the sliding selection of
:meth:`~filippov.piecewise.PiecewiseSystem.mode_velocity`, plus a drift correction
``−g ∇c_Sᵀ (∇c_S ∇c_Sᵀ)⁻¹ c_S`` towards the manifold. It is integrated with a scipy
``OdeSolver`` driven step by step, and every state the path records is projected onto
``c_S = 0`` (`_Mode.project`: the drift stays at rounding, not at the integrator's
tolerance). Its events, each a function that is negative while
the mode holds, are checked at nine equispaced points of every step (its end among
them), modelled between them by the polynomial through all of them (a surface reached and
left within one step), and located by ``brentq`` on the dense output:

* a switching function outside ``S`` reaching zero, ``−σ_i c_i``;
* for each ``i ∈ S`` and side ``s``, the normal velocity ``s ∇c_i · v`` of the mode with
  ``i`` released to side ``s``: positive means the flow leaves ``c_i = 0`` there (an exit;
  for one surface these are Filippov's ``∇c · f₊`` and ``−∇c · f₋``).

An event function that starts a mode on its boundary only becomes active once it is
strictly negative, so an event cannot fire again at its own time (the state is never
nudged). At an event the next mode is chosen among the ``3^s`` candidates on the surfaces
at zero (:func:`choose_mode`); several consistent candidates mean several Filippov
solutions, and the event is flagged ``unique=False``.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.integrate import DOP853, OdeSolution, OdeSolver
from scipy.optimize import brentq

from filippov._event_location import interpolant_dips
from filippov._mode_field import min_norm_correction
from filippov._recorder import Recorder, make_mode
from filippov._stiffness import (
    AUTO,
    StiffnessTest,
    check_integration_options,
    explicit_name,
    integrators,
    name_the_switch,
)
from filippov._validation import FloatArray, NonFiniteError
from filippov.engine.protocol import REACHED_END, Finished, PathFailure, Rest, SteppedPath
from filippov.piecewise import (
    MAX_CODIM,
    PiecewiseSelection,
    PiecewiseSystem,
    bilinear_root_near,
    bilinear_roots,
    bilinear_selection,
    in_weight_square,
    stewart_constraints,
    stewart_selection,
)


@dataclass(frozen=True)
class PiecewiseOptions:
    """Options of the piecewise path (see :func:`filippov.solve`, which validates them).

    Attributes
    ----------
    integrator : str
        The scipy ``OdeSolver`` used inside each mode, or ``"auto"``: DOP853, continued
        with Radau in a mode DOP853 finds stiff (see :mod:`filippov._stiffness`).
    rtol, atol : float
        Its tolerances.
    zero_tol : float
        Relative tolerance for reading zeros of the switching functions off the state.
    stabilization : float
        Gain of the drift correction on sliding surfaces, in units of ``1/(t_end − t0)``.

    Raises
    ------
    TypeError, ValueError
        If a field is out of its range; the error names the field.
    """

    integrator: str = AUTO
    rtol: float = 1e-10
    atol: float = 1e-12
    zero_tol: float = 1e-12
    stabilization: float = 10.0

    def __post_init__(self) -> None:
        check_integration_options(
            self.integrator, self.rtol, self.atol, self.zero_tol, self.stabilization
        )


class PiecewisePath(SteppedPath):
    """Mode-by-mode integration of a :class:`~filippov.piecewise.PiecewiseSystem`
    (Stewart form: a field per region, the selection of its ``selection`` rule)."""

    name = "piecewise"
    Options = PiecewiseOptions

    @classmethod
    def unsupported(cls, system: Any) -> str | None:
        if not isinstance(system, PiecewiseSystem):
            return "it is not a PiecewiseSystem"
        return None

    @property
    def label(self) -> str:
        return f"events ({explicit_name(self.options.integrator)}, {self.system.selection})"

    def running(self) -> contextlib.AbstractContextManager[object]:
        # (the fields at the last state kept while the run is inside, dropped when it
        # leaves: here, which the driver leaves however the run ends, not in the steps'
        # generator, which a run stopped early by the driver leaves paused, review rv25)
        stack = contextlib.ExitStack()
        stack.enter_context(np.errstate(all="ignore"))
        stack.enter_context(self.system.remembering())
        return stack

    def certify_tolerances(self) -> tuple[float, float] | None:
        return None  # the end-of-run self-check reads Lur'e systems only

    def steps(self) -> Generator[None, None, Finished | Rest]:
        return (
            yield from _steps(self.system, self.x0, 0.0, self.horizon, self.options, self.recorder)
        )


#: Points per integrator step at which the event functions are checked (the step's end
#: and equally spaced interior points of its dense output); between them each armed
#: guard is modelled by the polynomial through all of them (`_dip_between_samples`).
_SAMPLES = 9


#: How many recent samples (events and accepted integrator steps) `RunScales` keeps.
_SCALE_WINDOW = 16


class RunScales:
    """The recent scale of each state component and each field component.

    ``x[j]`` is the largest ``|x_j|`` and ``v[j]`` the largest ``|F_j|`` over the last
    `_SCALE_WINDOW` samples: the states and fields around them at the events, the states
    and the mode's velocity at the ends of accepted integrator steps. They are what
    rounding is judged against, component by component: a switching function ``c_i`` is
    at zero within ``zero_tol · |∇c_i| · x`` and a normal speed ``∇c_i · v`` is at
    rounding within a fraction of ``|∇c_i| · v``.

    Why recent values and not the current ones, nor absolute floors: near an accumulation
    point (the twisting controller's) the state and the field's first component are
    themselves rounding of the values of a few events before, so their current size judges
    nothing; and an absolute floor (``max(|x|, 1)``, ``‖∇c‖ · max_j |v_j|``) mixes units.
    The twisting controller with states of 1e-8 read ``x1 = 1e-12`` as zero (status 1,
    "stationary at t = 0"), and with times of 1e-4 read ``x1' = x2`` as at rounding
    beside ``x2' = ±(a ± b)`` (an absolute 1e-10 in time) and ended −4.

    Why not the whole run's largest values: a decayed transient is no measure of the
    accuracy now. ``x' = −(x − 1/2)`` from ``x = 1e9`` read ``x = 1 + 5e-5`` as on
    ``x = 1`` (a crossing merged into an event 1e-4 early), and from ``x = 1e6`` a crossing
    of ``x = 1`` at normal speed 1e-5 as a tangency (−4). A window of integrator steps
    forgets such a transient within the mode (the steps grow with its time scale); at an
    accumulation point the modes are a few steps each, and the window spans several
    events (its scales at the last turns of the twisting controller).
    """

    def __init__(self, x: FloatArray) -> None:
        x = np.abs(np.asarray(x, dtype=float))
        self._xs: collections.deque[np.ndarray] = collections.deque([x], maxlen=_SCALE_WINDOW)
        self._vs: collections.deque[np.ndarray] = collections.deque(maxlen=_SCALE_WINDOW)
        self.x = x
        self.v = np.zeros_like(x)

    def update(self, x: FloatArray, fields: FloatArray) -> None:
        """Take in the state ``x`` and the fields ``(m, n)`` around it (or the mode's
        velocity, ``(n,)``) as one sample; an empty ``fields`` adds the state alone."""
        self._xs.append(np.abs(np.asarray(x, dtype=float)))
        if np.size(fields):
            self._vs.append(np.max(np.abs(np.atleast_2d(fields)), axis=0))
        self.x = np.max(np.array(self._xs), axis=0)
        if self._vs:
            self.v = np.max(np.array(self._vs), axis=0)

    def update_fields(self, fields: FloatArray) -> None:
        """Take in the fields ``(m, n)`` around the last sample's state."""
        if np.size(fields):
            self._vs.append(np.max(np.abs(np.atleast_2d(fields)), axis=0))
            self.v = np.max(np.array(self._vs), axis=0)

    def rate_tol(self, grad: FloatArray, v: FloatArray, rtol: float) -> float:
        """``rtol · |∇c| · max(|v|, recent field scale)``, component by component: the
        rounding of the normal speed ``∇c · v``."""
        return rtol * float(np.abs(grad) @ np.maximum(np.abs(v), self.v))


def _released(
    system: PiecewiseSystem, x: FloatArray, free: tuple[int, ...], signs: np.ndarray, i: int, s: int
) -> float:
    """``s ∇c_i · v`` of the mode with ``i`` released to side ``s`` (> 0: the flow leaves)."""
    sub = tuple(j for j in free if j != i)
    sig = signs.copy()
    sig[i] = s
    grad = system.jacobian(x)[i]
    sel = system.mode_velocity(x, sub, sig, check_unique=False, extend=True)
    if sel is not None:
        return float(s * grad @ sel.velocity)
    # No sliding on the other surfaces on that side: the regions there decide; the flow
    # can leave to side s if some adjacent field points into it.
    _, F = system.adjacent(x, sub, sig)
    return float(np.max(s * F @ grad))


def _leaves(
    system: PiecewiseSystem,
    x: FloatArray,
    free: tuple[int, ...],
    signs: np.ndarray,
    i: int,
    s: int,
    scales: RunScales,
) -> float:
    """``s ∇c_i · v`` for the mode the flow would choose with ``i`` released to side ``s``.

    Unlike the event function :func:`_released` (the continuation of the sliding on the
    other surfaces, smooth in ``x``), this asks the whole question on the other surfaces
    at zero: on that side they may be crossed or left rather than slid on (a gene held
    at one threshold, released above the other, falls back into a region)."""
    sub = tuple(j for j in free if j != i)
    sig = signs.copy()
    sig[i] = s
    grad = system.jacobian(x)[i]
    if not sub:
        return float(s * grad @ system.field(x, sig))
    choice = choose_mode(system, x, sub, sig, scales=scales, check=False)
    if choice is None:
        return 0.0  # undecided on that side: neither proves nor rules out attraction
    return float(s * grad @ choice.selection.velocity)


def _two_fold(
    system: PiecewiseSystem,
    x: FloatArray,
    free: tuple[int, ...],
    signs: np.ndarray,
    i: int,
    s: int,
    scales: RunScales,
) -> bool:
    """Whether sliding index ``i``, leaving to side ``s`` at ``x``, leaves at a two-fold:
    released to the other side too, the flow does not come back (its normal velocity
    there is not negative beyond ``1e-8`` of its scale, `RunScales.rate_tol`).

    Why: at a regular exit the field on the other side still pushes onto the surface, and
    leaving to side ``s`` is the only continuation. At a two-fold both fields turn
    tangent at once and point away after it: leaving to either side and sliding on are
    all Filippov solutions. (``x' = (1, ±x)`` above and below ``y = 0`` left at ``x = 0``
    to one side, the event reported unique.)"""
    other = _leaves(system, x, free, signs, i, -s, scales)
    grad = system.jacobian(x)[i]
    fields = system.adjacent(x, free, signs)[1]
    return other > -scales.rate_tol(grad, np.max(np.abs(fields), axis=0), 1e-8)


@dataclass(frozen=True)
class ModeChoice:
    """The mode chosen at an event."""

    free: tuple[int, ...]
    signs: np.ndarray
    selection: PiecewiseSelection
    unique: bool
    n_candidates: int


def choose_mode(
    system: PiecewiseSystem,
    x: FloatArray,
    zero: tuple[int, ...],
    signs: np.ndarray,
    *,
    scales: RunScales,
    forced: dict[int, int] | None = None,
    previous: np.ndarray | None = None,
    check: bool = True,
    ceased: tuple[int, ...] | None = None,
    exit_slack: float = 0.0,
) -> ModeChoice | None:
    """The consistent mode at ``x`` among the ``3^s`` candidates on the surfaces ``zero``.

    A candidate keeps some of ``zero`` (sliding) and sends each other one to a side. It is
    consistent when its velocity exists, every index it sends to side ``s`` moves strictly
    into that side, and every kept index is attracting (released to either side, the flow
    comes back). ``forced`` fixes the side of indices known to leave (an exit event).
    Among several consistent candidates (non-unique solutions) the one keeping the most
    surfaces, then the fewest sign changes from ``previous``, is returned, flagged. A
    sliding mode whose velocity exists but whose kept surfaces are not attracting is never
    returned, but staying on them is a Filippov solution too: its existence flags the
    choice as well. Rates within ``1e-10`` of their scale (`RunScales.rate_tol`) are at
    rounding. ``ceased``: a set of surfaces whose sliding has ceased at ``x`` (a fold of
    its bilinear root, see `_run_mode`), not a candidate. ``exit_slack``: the relative
    tolerance of the event's state (the run's rtol); in the relaxed pass a forced index
    may leave with a rate that far below 0, and a choice that needs more than a thousand
    times the rounding is flagged not unique (whether the flow leaves is not decided at
    that tolerance).
    """
    forced = forced or {}
    grads = system.jacobian(x)
    cands: list[tuple[tuple[int, ...], np.ndarray, PiecewiseSelection]] = []
    # Sliding modes that keep surfaces the flow leaves (not attracting) but whose velocity
    # exists, with every other index moving into its side: staying on those surfaces is
    # a Filippov solution too. Never chosen, but the choice is then not unique: two
    # relays reaching a corner whose G B is not a P-matrix can rest there or cross into
    # either of two regions, and a gene network's corner with 0 in the hull of its four
    # fields can rest; both were flagged unique (stranger fuzz fz12).
    repelling = 0
    undecided = 0  # (candidates whose forced rate needed the slack)
    for relaxed in (False, True):
        for assign in itertools.product((0, 1, -1), repeat=len(zero)):
            if any(forced.get(i, a) != a for i, a in zip(zero, assign, strict=True)):
                continue
            free = tuple(i for i, a in zip(zero, assign, strict=True) if a == 0)
            if free == ceased:
                continue
            sig = signs.copy()
            for i, a in zip(zero, assign, strict=True):
                sig[i] = a
            sel = system.mode_velocity(x, free, sig, check_unique=False)
            if sel is None:
                continue
            v = sel.velocity
            crosses = attracts = True
            loose = False  # (a forced rate accepted only within `exit_slack`)
            for i, a in zip(zero, assign, strict=True):
                tol = max(scales.rate_tol(grads[i], v, 1e-10), 1e-300)
                if a != 0:
                    rate = a * float(grads[i] @ v)
                    need = -tol if (relaxed or i in forced) else tol
                    if relaxed and i in forced:
                        # An exit's index leaves tangentially: its rate is 0 at the exit
                        # and the event's state, projected onto the sliding surfaces, is
                        # off it by the integration's drift, which moves the rate by more
                        # than its rounding (−7.9e-10 against 1.9e-10 on a curved surface
                        # at rtol 1e-7: "no consistent mode", where rtol 1e-10 exits).
                        # By the run's tolerance, not a fixed factor of the rounding: a
                        # grazing sliding whose true rate is −1.1e-9 at rtol 1e-10 was
                        # left with a fixed 1e3 (review rv14).
                        need = -max(tol, scales.rate_tol(grads[i], v, exit_slack))
                        # (flagged beyond a thousand times the rounding: within it an
                        # exit's tangential rate is read as 0, as before; review rv15)
                        loose = loose or rate < -1e3 * tol
                    if rate < need:
                        crosses = False
                        break
                elif attracts:
                    for side in (1, -1):
                        leaves = _leaves(system, x, free, sig, i, side, scales)
                        if leaves > (1e3 if relaxed else 1) * tol:
                            attracts = False
                            break
            if crosses and attracts:
                cands.append((free, sig, sel))
                undecided += loose
            elif crosses and free and not relaxed:
                repelling += 1
        if cands:
            break
    if not cands:
        return None

    def rank(c: tuple[tuple[int, ...], np.ndarray, PiecewiseSelection]) -> tuple[int, int]:
        changes = 0 if previous is None else int(np.sum(c[1] != previous))
        return (-len(c[0]), changes)

    cands.sort(key=rank)
    free, sig, _ = cands[0]
    sel = system.mode_velocity(x, free, sig, check_unique=check)
    assert sel is not None
    unique = len(cands) == 1 and sel.unique and not repelling and not undecided
    return ModeChoice(free, sig, sel, unique, len(cands) + repelling)


#: A repulsive sliding's other side counts as leaving at the root of one side's guard
#: when its normal rate is above this fraction of its scale (`RunScales.rate_tol`;
#: `_Mode.repelled_exit`).
_TURN_RTOL = 1e-8

#: `_Mode.start_piece`'s piece when none is given: the one the weights at the state lie on.
_DECIDE = -2
#: `_Mode.start_piece`'s piece for a sliding on three or more surfaces taken again after
#: its support changed at one point over and over: its minimal-norm weights, unfollowed.
_NO_PIECES = -3
#: Changes of support at one point in a row after which `_NO_PIECES` is taken there.
_SUPPORT_CHANGES = 4
#: A support's weights hold at a state when its guards are at most this (rounding of
#: weights of size 1; `_Mode._take_support`).
_SUPPORT_HOLDS = 1e-9
#: A mode's piece: the codimension-2 piece (an index or ``None``), a support on three or
#: more surfaces (a tuple), or `_DECIDE` / `_NO_PIECES`.
Piece = int | tuple[int, ...] | None


class _Mode:
    """The right-hand side and the event functions of one mode."""

    def __init__(
        self,
        system: PiecewiseSystem,
        free: tuple[int, ...],
        signs: np.ndarray,
        gain: float,
        rec: Recorder,
        scales: RunScales,
        exit_slack: float = 0.0,
    ) -> None:
        self.system = system
        self.scales = scales
        self.free = free
        self.signs = signs
        self.gain = gain
        self.rec = rec
        self.regular = [i for i in range(system.k) if i not in free]
        #: (kind, index, side): "hit" of a regular index, "exit" of a free one to a side
        self.labels: list[tuple[str, int, int]] = [("hit", i, 0) for i in self.regular]
        self.labels += [("exit", i, s) for i in free for s in (1, -1)]
        #: the last state projected and its projection (`project`)
        self._projected: tuple[bytes, FloatArray] | None = None
        #: Sliding on two surfaces with the bilinear selection: the weights (α, β) of the
        #: root the mode follows (`follow`; α of ``free[0]``, β of ``free[1]``).
        self.bilinear = len(free) == 2 and system.selection == "bilinear"
        self.root: FloatArray | None = None
        if self.bilinear:
            # the other root entering the square: a second solution leaves from there
            self.labels.append(("branch", -1, 0))
        #: Sliding on two surfaces with the Stewart selection: the sliding ceases where
        #: its segment of feasible weights vanishes (one more guard, `_stewart_segment`;
        #: its hit is named after the pair of fields left, `exit_of`). Its release guards
        #: stay, each sign change read by `release_kind`: an exit where the segment is
        #: gone, else a branch recorded or a meaningless one passed, inside the mode.
        self.segment = len(free) == 2 and system.selection == "stewart"
        #: the run's rtol: the slack of an exit's rate (`choose_mode`), which a release
        #: read inside the mode takes too (without it a branch at rtol 1e-3 was read as
        #: meaningless and dropped, review rv15)
        self.exit_slack = exit_slack
        #: A Stewart sliding on two or more surfaces reads each sign change of a release
        #: guard at its root (`release_kind`): an exit, a branch or nothing.
        self.reads_releases = len(free) >= 2 and system.selection == "stewart"
        if self.segment:
            self.labels.append(("exit", -1, 0))
            # one guard per weight: where the minimal-norm weights change which of them
            # are zero (`start_piece`)
            self.labels += [("weight", k, 0) for k in range(4)]
        elif self.reads_releases:
            # (three or more surfaces: the sliding ceases where its weights do,
            # `_weights_margin`; its hit is a fold, the event choosing among the others)
            self.labels.append(("exit", -1, 0))
            # one guard per weight: where the minimal-norm weights change support
            # (`start_piece`)
            self.labels += [("weight", k, 0) for k in range(2 ** len(free))]
        #: The piece of the Stewart minimal-norm weights a codimension-2 mode integrates
        #: (`start_piece`): ``None`` the line's own minimal-norm point, ``j`` the segment's
        #: end where weight ``j`` is 0; ``pieces`` False where the weights are no segment.
        self.piece: int | None = None
        self.pieces = False
        #: The support of the Stewart minimal-norm weights a mode on three or more
        #: surfaces integrates (`start_piece`; ``None``: the weights are not followed on
        #: a support, each velocity is the minimal-norm one).
        self.support: tuple[int, ...] | None = None
        #: The weights of the last linear program of `_weights_margin` (or their
        #: projection since): a point inside the feasible set, taken on along the sliding.
        self._inside: FloatArray | None = None
        #: +1, or −1 for the exit guards of a codimension-1 sliding kept on a repulsive
        #: surface, read the other way round (`repel`)
        self.orient = np.ones(len(self.labels))

    def repel(self, g: FloatArray, g_tol: FloatArray) -> bool:
        """Read the exit guards the other way round where this is a codimension-1 sliding
        on a repulsive surface (both exit guards ``g`` positive beyond their rounding
        ``g_tol`` at the mode's start), and say whether it is.

        Why: such a sliding, kept on purpose and flagged not unique, ceases where one of
        them falls to 0 (its weight reaches 0 or 1: that side's field turns onto the
        surface, and the other side's still leaves it), and the run leaves to the other
        side there (`repelled_exit`). Read as attractive guards, they fired only where
        one came back up to 0; the sliding ran on in between with a weight outside
        [0, 1], a velocity outside the Filippov set, status 0 (review rv18: 3.1 off it)."""
        if len(self.free) != 1:
            return False
        exits = [k for k, (kind, _, _) in enumerate(self.labels) if kind == "exit"]
        if not all(g[k] > g_tol[k] for k in exits):
            return False
        self.orient[exits] = -1.0
        return True

    def repelled_exit(self, label: tuple[str, int, int], x: FloatArray) -> tuple[str, int, int]:
        """The exit a guard's root at ``x`` makes: for a repulsive sliding's guard (`repel`)
        of side ``s`` falling to 0, the other side's, where that side's field still leaves
        the surface; where it turns tangent at the same point (both rates vanish at once:
        the surface turns attractive), ``("turn", i, 0)``: the same sliding goes on, its
        guards read as usual again.

        Why the turn: the weight stays inside [0, 1] through such a point and the sliding
        is the only way on after it; reading it as an exit to the other side, where that
        field turns back onto the surface too, ended the run −4 "changed sign without an
        event" right after an exit flagged unique (review rv19, ``f± = (1, ±a(1 − x₁))``)."""
        kind, i, s = label
        if self.orient[self.labels.index(label)] > 0:
            return label
        k_other = self.labels.index((kind, i, -s))
        other = -float(self.guards(x)[k_other])  # (as read before `repel`: > 0 leaves)
        # (against the run's recent field scale, not the fields at x: their normal parts
        # vanish there, and a scale of 2e-19 read rounding as leaving)
        fields = self.system.adjacent(x, self.free, self.signs)[1]
        grad = self.system.jacobian(x)[i]
        if other > self.scales.rate_tol(grad, np.max(np.abs(fields), axis=0), _TURN_RTOL):
            return (kind, i, -s)
        return ("turn", i, 0)

    def follow(self, x: FloatArray) -> None:
        """Take the bilinear root at ``x`` as the one the mode follows: at its start the
        root the mode was chosen with (the first in the square), then at each accepted
        step the one nearest to the last.

        Why: the guards of a bilinear mode's exits are its own root's weights reaching
        0 or 1 (see `guards`), and its field is that root's blend. The first root in the
        square, taken afresh at every state, could be the other one where two are in it,
        and the exits were read off the sliding on one surface continued with the other
        released (`_released`), which also changes sign where the *other* root of the
        two equations crosses the square's edge: such a meaningless exit ended runs −4
        "no consistent mode" while the intersection still attracted (stranger fuzz fz13).
        """
        if not self.bilinear:
            return
        free = list(self.free)
        F = self.system.adjacent(x, free, self.signs)[1]
        N = self.system.jacobian(x)[free]
        try:
            if self.root is None:
                sols = bilinear_selection(F, N, extend=True)[0]
                self.root = sols[0] if sols else None
            else:
                self.root = bilinear_root_near(F, N, self.root)
        except ValueError:
            return

    def rhs(self, t: float, x: FloatArray) -> FloatArray:
        self.rec.nfev += 1
        if self.support is not None:
            # (the support's weights, smooth: `start_piece`)
            F, theta, _ = self._support_weights(x, self.support)
            v = theta @ F
        elif self.pieces:
            # (the piece's weights, smooth: `start_piece`)
            F, _, theta = self._piece_weights(x)
            v = theta @ F
        else:
            sel = self.system.mode_velocity(
                x, self.free, self.signs, check_unique=False, extend=True, near=self.root
            )
            if sel is None:
                raise PathFailure(
                    -4,
                    f"the sliding velocity on {set(self.free)} ceased to exist at "
                    f"t = {t:.12g} without an exit event",
                )
            v = sel.velocity
        if self.free and self.gain > 0:
            N = self.system.jacobian(x)[list(self.free)]
            cS = self.system.c(x)[list(self.free)]
            v = v - self.gain * N.T @ np.linalg.solve(N @ N.T, cS)
        if not np.all(np.isfinite(v)):
            # (the integrator would shrink its step on a NaN error estimate for ever)
            raise NonFiniteError(
                f"the mode's field is not finite at t = {t:.12g}, "
                f"x = {np.array2string(np.asarray(x), precision=12)}"
            )
        return v

    def guards(self, x: FloatArray) -> FloatArray:
        c = self.system.c(x)
        out = np.empty(len(self.labels))
        weights, other = self._root_pair(x) if self.bilinear else (None, None)
        # (the line of Stewart weights once for the segment's guard and the four weights')
        line = self._weight_line(x) if self.segment else None
        on_support = self._support_guards(x) if self.support is not None else None
        for k, (kind, i, s) in enumerate(self.labels):
            if kind == "hit":
                out[k] = -self.signs[i] * c[i]
            elif kind == "exit" and self.segment and i < 0:
                out[k] = -self._stewart_segment(x, line)[0]
            elif kind == "exit" and i < 0:
                out[k] = -self._weights_margin(x)
            elif kind == "weight" and on_support is not None:
                out[k] = on_support[i]
            elif kind == "weight":
                out[k] = self._piece_guard(x, i, line)
            elif kind == "branch":
                # how deep the other root is inside the square (−1 with no other real
                # root: it can only cease by meeting the followed one, a fold)
                out[k] = -1.0 if other is None else float(np.min(np.minimum(other, 1.0 - other)))
            elif weights is not None:
                # the followed root's weight of side s of surface i reaching 1 (α_i = 0
                # or 1: the blend is then the sliding on the other surface alone, tangent
                # to this one), unclipped, so that it crosses smoothly
                out[k] = s * (2.0 * weights[self.free.index(i)] - 1.0) - 1.0
            else:
                out[k] = _released(self.system, x, self.free, self.signs, i, s)
        return out * self.orient

    def _stewart_segment(
        self, x: FloatArray, line: tuple[FloatArray, FloatArray, FloatArray, Any] | None = None
    ) -> tuple[float, FloatArray]:
        """The length of the segment of feasible Stewart weights ``θ ≥ 0``, ``Σθ = 1``,
        ``N Fᵀ θ = 0`` on the two surfaces at ``x`` (negative: how far the two ends have
        passed each other, none feasible), and the weights at its end that bounds it
        from below (the last feasible point as it vanishes).

        Why: staying on both surfaces is a Filippov solution while some weights are
        feasible, and the minimal-norm velocity, a point of the segment, exists as long as
        the segment does. The release guards (`_released`: the sliding on one surface,
        continued with the other released) also change sign where that continuation has
        left its own box, which no mode makes: runs ended −4 "no consistent mode" in the
        middle of a sliding that goes on (a fuzz: 5 of 40 random cases; the minimal-norm
        weights integrated independently slide on to the end). The segment's length is
        continuous, and 0 exactly where its last point has two weights zero: the pair of
        fields left names the exit (`exit_of`). ``line``: `_weight_line` at ``x``, if
        already computed."""
        F, _, theta0, d = self._weight_line(x) if line is None else line
        if d is None:
            # (dependent equations: the feasible weights are not a segment; whether any
            # exist decides, and the selection's weights stand for the last point)
            N = self.system.jacobian(x)[list(self.free)]
            found = stewart_selection(F, N, check_unique=False)
            return (-1.0, np.full(F.shape[0], 0.25)) if found is None else (1.0, found[0])
        s_lo, s_hi, _, _ = _segment_ends(theta0, d)
        return s_hi - s_lo, theta0 + s_lo * d

    def _weight_line(self, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, Any]:
        """The adjacent fields ``F``, the scaled equations ``A θ = e₁`` of the Stewart
        weights on the two surfaces at ``x``, their minimal-norm solution ``θ₀`` and the
        direction ``d`` of their line of solutions (unit length; ``None`` where the
        equations are dependent and the solutions are no line)."""
        free = list(self.free)
        F = self.system.adjacent(x, free, self.signs)[1]
        N = self.system.jacobian(x)[free]
        A = stewart_constraints(F, N)
        b = np.zeros(A.shape[0])
        b[0] = 1.0
        _, singular, rows = np.linalg.svd(A)
        theta0: FloatArray = np.asarray(np.linalg.lstsq(A, b, rcond=None)[0], dtype=float)
        if singular[-1] <= 1e-12 * singular[0]:
            return F, A, theta0, None
        return F, A, theta0, rows[-1]

    def _piece_weights(
        self, x: FloatArray, line: tuple[FloatArray, FloatArray, FloatArray, Any] | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """The adjacent fields, the line's minimal-norm weights ``θ₀`` and the weights of
        the mode's piece at ``x`` (`start_piece`): ``θ₀`` itself, or the point of the line
        where weight ``j = piece`` is 0. Both are smooth in ``x``, where the minimal-norm
        weights of the segment (``θ₀`` clipped to it) have a kink at each change of piece.
        ``line``: `_weight_line` at ``x``, if already computed."""
        F, _, theta0, d = self._weight_line(x) if line is None else line
        if self.piece is None or d is None or abs(d[self.piece]) <= _FLAT_WEIGHT:
            return F, theta0, theta0
        return F, theta0, theta0 - (theta0[self.piece] / d[self.piece]) * d

    def _piece_guard(
        self,
        x: FloatArray,
        k: int,
        line: tuple[FloatArray, FloatArray, FloatArray, Any] | None = None,
    ) -> float:
        """Weight ``k``'s guard (< 0 while the piece holds): in the interior piece ``−θ₀ₖ``
        (the line's minimal-norm point leaves the segment through ``θₖ = 0``); at the end
        where ``θⱼ = 0``, ``θ₀ⱼ`` for ``k = j`` (the line's point comes back inside: the
        interior again) and ``−θₖ`` of the end point for the others (another weight
        reaches 0 there: the segment's other end, or a new binding weight)."""
        if not self.pieces:
            return -1.0
        _, theta0, theta = self._piece_weights(x, line)
        if self.piece is None:
            return float(-theta0[k])
        return float(theta0[k]) if k == self.piece else float(-theta[k])

    def start_piece(self, x: FloatArray, piece: Piece = _DECIDE) -> None:
        """Take the piece of the minimal-norm Stewart weights the mode integrates: the
        one given (after a change of piece inside the sliding, `next_piece`), or the one
        the minimal-norm weights at ``x`` lie on.

        Why pieces: those weights are ``θ₀`` (the minimal-norm solution of the equations)
        clipped to the segment of feasible ones, with a kink where ``θ₀`` leaves it. An
        integrator's step over the kink saw a smooth field on most of its stages (the
        minimal-norm solution continued past the segment's end, `mode_velocity`'s
        ``extend``), and DOP853 at rtol 1e-10 accepted a step of 0.12 over it: the state
        lagged by 6e-4 and its velocity was 4e-3 off the Filippov set, the sliding's end
        3e-3 late (random Stewart systems, seeds 593, 672, 954). Each piece's weights are
        smooth, and the guards ``("weight", k)`` end the piece at the kink.

        On three or more surfaces (`_start_support`) the pieces are the supports of the
        minimal-norm weights, and ``piece`` is a support."""
        if self.reads_releases and not self.segment:
            self._start_support(x, piece)
            return
        if not self.segment:
            return
        _, _, theta0, d = self._weight_line(x)
        self.pieces = d is not None
        if d is None:
            return
        if piece != _DECIDE and not isinstance(piece, tuple):
            self.piece = piece
            return
        s_lo, s_hi, j_lo, j_hi = _segment_ends(theta0, d)
        self.piece = (
            j_lo if s_lo > 0.0 and j_lo >= 0 else j_hi if s_hi < 0.0 and j_hi >= 0 else None
        )

    def _start_support(self, x: FloatArray, support: Piece) -> None:
        """Take the support of the minimal-norm Stewart weights a sliding on three or more
        surfaces integrates: the one given (after a weight's guard fired inside the
        sliding, `next_piece`), else that of the minimal-norm weights a little way on
        along the sliding (at ``x`` where there are none there, or where that support's
        weights do not hold at ``x``); none (each velocity the minimal-norm one) where
        the weights on it do not meet the equations or do not hold at ``x``.

        Why: the minimal-norm weights are those of their support's equations, with a
        kink wherever the support changes. An integrator's step over a kink saw a smooth
        field on its stages, and its error estimate missed the kink: a run on three
        surfaces at rtol 1e-10 ended 8.7e-7 off its exit time after a change of 1e-13 in
        the weights' rounding (`stewart_selection` solved another way) moved its steps.
        On a fixed support the weights are smooth in ``x``; the guards
        ``("weight", k)`` (`_support_guards`) end the support where a weight on it
        reaches 0 or a weight off it would enter, and the same sliding goes on, with no
        event, on the next one."""
        self.support = None
        if support == _NO_PIECES:
            return
        if isinstance(support, tuple):
            self._take_support(x, support)
            return
        here = self.system.mode_velocity(x, self.free, self.signs, check_unique=False)
        if here is None:
            return
        candidates = [tuple(np.flatnonzero(here.weights > 0.0).tolist())]
        ahead = _a_little_way_on(x, here.velocity, self.scales)
        there = (
            None
            if ahead is None
            else self.system.mode_velocity(ahead, self.free, self.signs, check_unique=False)
        )
        if there is not None:
            candidates.insert(0, tuple(np.flatnonzero(there.weights > 0.0).tolist()))
        for candidate in candidates:
            if self._take_support(x, candidate):
                return

    def _take_support(self, x: FloatArray, support: tuple[int, ...]) -> bool:
        """Follow the weights on ``support`` if they meet the equations and hold at ``x``
        (every guard of `_support_guards` at most ``_SUPPORT_HOLDS``); say whether."""
        self.support = support
        guards = self._support_guards(x)
        if guards is None or float(np.max(guards)) > _SUPPORT_HOLDS:
            self.support = None
            return False
        return True

    def _support_weights(
        self, x: FloatArray, support: tuple[int, ...]
    ) -> tuple[FloatArray, FloatArray, FloatArray | None]:
        """The adjacent fields, the minimal-norm weights of the equations on ``support``
        (0 off it; smooth in ``x``, continued below 0 past the support's end) and their
        multipliers ``y`` (``θ_P = A_Pᵀ y``; ``None`` where the weights on the support do
        not meet the equations to 1e-10: no such solution)."""
        free = list(self.free)
        F = self.system.adjacent(x, free, self.signs)[1]
        A = stewart_constraints(F, self.system.jacobian(x)[free])
        b = np.zeros(A.shape[0])
        b[0] = 1.0
        P = list(support)
        theta = np.zeros(F.shape[0])
        if not P:
            return F, theta, None
        AP = A[:, P]
        theta[P] = np.linalg.lstsq(AP, b, rcond=None)[0]
        if float(np.max(np.abs(AP @ theta[P] - b))) > 1e-10:
            return F, theta, None
        y = np.asarray(np.linalg.lstsq(AP.T, theta[P], rcond=None)[0], dtype=float)
        return F, theta, A.T @ y

    def _support_guards(self, x: FloatArray) -> FloatArray | None:
        """The guards ``("weight", k)`` of a sliding on its support (< 0 while it holds):
        ``−θ_k`` on the support (a weight reaching 0 leaves it), and off it ``(Aᵀy)_k``,
        the negative of the multiplier of ``θ_k ≥ 0`` (the KKT conditions of the
        minimal-norm weights: at 0 the weight enters). ``None`` where the support's
        weights do not meet the equations."""
        assert self.support is not None
        _, theta, multipliers = self._support_weights(x, self.support)
        if multipliers is None:
            return None
        out = multipliers.copy()
        out[list(self.support)] = -theta[list(self.support)]
        return out

    def next_piece(self, k: int) -> Piece:
        """The piece after weight ``k``'s guard fired (`_piece_guard`; on three or more
        surfaces the support with ``k`` taken out or in, `_support_guards`)."""
        if self.support is not None:
            return tuple(sorted(set(self.support) ^ {k}))
        if self.piece is None:
            return k
        return None if k == self.piece else k

    def segment_stays(self, x: FloatArray) -> bool:
        """Whether some Stewart weights still hold the state on both surfaces a little way
        on from ``x``, where the sliding ended, along the sliding's own last velocity
        (the blend of its last feasible weights, its normal part dropped).

        Why: where the segment of feasible weights shrinks to a point and stays one (two
        fields' blend cancels both normal rates whatever the others do), its length is
        0 to rounding from then on, and rounding decides where the guard changes sign: the
        run left at a time the tolerance set, flagged unique, while sliding on is a
        Filippov solution to the end. After a true vanishing the weights are infeasible
        at once. Along the sliding, not along the velocity of the mode chosen: that one
        leaves the surfaces, where the fields differ, and it may run backwards along the
        intersection (a random fuzz's seed 74 read a segment of 1.2e-6 ahead of a true
        vanishing). The step is a millionth of the state's scale (`_a_little_way_on`)."""
        length, theta = self._stewart_segment(x)
        if length > _SEGMENT_GONE:
            return True  # (a release of a sliding whose weights are still feasible)
        fields = self.system.adjacent(x, list(self.free), self.signs)[1]
        normals = self.system.jacobian(x)[list(self.free)]
        v = theta @ fields
        along = v - np.linalg.lstsq(normals, normals @ v, rcond=None)[0]
        ahead = _a_little_way_on(x, along, self.scales)
        if ahead is None:
            return True
        fields = self.system.adjacent(ahead, list(self.free), self.signs)[1]
        normals = self.system.jacobian(ahead)[list(self.free)]
        return stewart_selection(fields, normals, check_unique=False) is not None

    def at_pole(self, x: FloatArray, k: int) -> bool:
        """Whether guard ``k``'s sign change located at ``x`` is a pole, not a root: the
        guard there is far from 0 on its own scale (a release guard divides by the normal
        rate of the fields it blends, which can pass through 0). Read as a branch, a pole
        put a branch event late and twice (review rv14)."""
        return bool(abs(self.guards(x)[k]) > 1e-6 * self.guard_scales(x)[k])

    def release_kind(self, x: FloatArray, k: int) -> str:
        """What the sign change of a Stewart release guard ``k`` (a sliding on two or more
        surfaces) at its root ``x`` is: ``"exit"`` where the feasible weights are gone
        (the sliding ends: the run leaves); ``"meaningless"`` where no mode sends the
        index to that side (the sliding on the other surface, continued with it
        released, has left its own box there); else ``"branch"``: that sliding leaves
        the intersection, which no longer attracts from this side, while staying is a
        solution too.

        Why not an exit for every sign change: the meaningless ones ended runs −4 "no
        consistent mode" in the middle of a sliding that goes on (a fuzz: 49 of 280
        runs); and taking the branch's departure, as the release guards did, ran into
        zero-length modes and −4 or −2 soon after on 4 of 140 cases, where the sliding
        goes on. So the mode goes on with its minimal-norm weights, the branch recorded
        as a "repulsive" event flagged not unique (the bilinear selection's, too)."""
        _, i, s = self.labels[k]
        if self.segment and self._stewart_segment(x)[0] <= _SEGMENT_GONE:
            return "exit"
        if not self.segment and not self._holds_ahead(x):
            # (three or more surfaces: no segment to measure; the weights at x and a
            # little way on along the sliding decide whether it goes on. Read as an
            # exit, every release there ended the run −4 "no consistent mode" in the
            # middle of a sliding on three surfaces that goes on, its minimal-norm
            # weights all above 0.001: a random fuzz, 6 of 50 runs)
            return "exit"
        if self.at_pole(x, k):
            return "meaningless"
        choice = choose_mode(
            self.system, x, self.free, self.base_signs(), scales=self.scales, forced={i: s},
            check=False,
            exit_slack=self.exit_slack,
        )  # fmt: skip
        if choice is None:
            # (and a little way on along the sliding, where the departure's rate has left
            # 0: at the root itself its consistency is a matter of rounding, and a branch
            # of three surfaces was dropped with the state in thousands, review rv20)
            ahead = self._along_sliding(x)[1]
            if ahead is not None:
                choice = choose_mode(
                    self.system, ahead, self.free, self.base_signs(), scales=self.scales,
                    forced={i: s}, check=False, exit_slack=self.exit_slack,
                )  # fmt: skip
        return "meaningless" if choice is None else "branch"

    def _weights_margin(self, x: FloatArray) -> float:
        """How far inside its feasible set a Stewart sliding on three or more surfaces is
        at ``x``: the largest ``s`` with ``θ ≥ s`` for some ``θ`` of the equations
        (``Σθ = 1``, ``N Fᵀ θ = 0``), a linear program (below 0: no weights hold; −1 where
        the equations have no solution).

        Why: the minimal-norm weights continued past the end of the feasible set (the
        integrator's trial points need a field there) slid on with weights below 0, a
        velocity 0.11 off the Filippov set, where no release guard changed sign (a
        random system on three surfaces, status 0). Continuous in ``x``, 0 where the
        feasible set vanishes (on two surfaces the segment's length says it, exactly)."""
        from scipy.optimize import linprog  # on first use (light import)

        free = list(self.free)
        F = self.system.adjacent(x, free, self.signs)[1]
        A = stewart_constraints(F, self.system.jacobian(x)[free])
        r = F.shape[0]
        b = np.zeros(A.shape[0])
        b[0] = 1.0
        # The equations' own minimal-norm solution, when it is feasible, bounds the margin
        # from below: enough for the guard's sign, and the linear program (ms each) is
        # left for where no weights or only small ones hold, about the guard's root.
        whole = np.linalg.lstsq(A, b, rcond=None)[0]
        if np.max(np.abs(A @ whole - b)) <= 1e-12 and np.min(whole) > 1e-3:
            return float(np.min(whole))
        # So does the last linear program's maximizer moved onto this state's equations
        # (by their minimal-norm correction): where the minimal-norm weights have zeros
        # while the feasible set stays wide (two weights leaving the support together
        # and coming back, review rv22), the program ran at every guard evaluation, 3 to
        # 5.5 times the run's time on such stretches.
        inside = self._inside
        if inside is not None and inside.shape == whole.shape:
            moved = inside + np.linalg.lstsq(A, b - A @ inside, rcond=None)[0]
            if np.max(np.abs(A @ moved - b)) <= 1e-12 and np.min(moved) > 1e-3:
                self._inside = moved
                return float(np.min(moved))
        cost = np.zeros(r + 1)
        cost[-1] = -1.0
        res = linprog(
            cost,
            A_ub=np.hstack([-np.eye(r), np.ones((r, 1))]),
            b_ub=np.zeros(r),
            A_eq=np.hstack([A, np.zeros((A.shape[0], 1))]),
            b_eq=b,
            bounds=[(None, None)] * (r + 1),
            method="highs",
            # (HiGHS's default feasibility tolerance, 1e-7, would be the event's accuracy)
            options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
        )
        if res.status != 0:
            return -1.0
        self._inside = np.asarray(res.x[:r], dtype=float)
        return float(-res.fun)

    def _along_sliding(self, x: FloatArray) -> tuple[bool, FloatArray | None]:
        """Whether the mode's sliding has a velocity at ``x``, and the state a little way
        on along it (`_a_little_way_on`; ``None`` without one or where nothing moves)."""
        here = self.system.mode_velocity(x, self.free, self.signs, check_unique=False)
        if here is None:
            return False, None
        return True, _a_little_way_on(x, here.velocity, self.scales)

    def _holds_ahead(self, x: FloatArray) -> bool:
        """Whether Stewart weights hold the state on all the mode's surfaces at ``x`` and
        a little way on along that sliding's velocity."""
        holds, ahead = self._along_sliding(x)
        if not holds or ahead is None:
            return holds
        return (
            self.system.mode_velocity(ahead, self.free, self.signs, check_unique=False) is not None
        )

    def record_release(self, t: float, x: FloatArray, k: int, mode_rec: object) -> None:
        """Record a Stewart sliding's branch (`release_kind`), the mode going on."""
        self.rec.event(
            t, x, "repulsive", [self.labels[k][1]], mode_rec, mode_rec, unique=False,  # type: ignore[arg-type]
            note="the intersection stops attracting from this side: a sliding on the other "
            "surface leaves it from here",
        )  # fmt: skip

    def base_signs(self) -> np.ndarray:
        """The mode's signs with its sliding indices at +1: the ``signs`` `choose_mode`
        takes on this mode's surfaces (their sides come from its candidates)."""
        base = self.signs.copy()
        base[base == 0] = 1
        return base

    def choice_ahead(self, x: FloatArray, direction: FloatArray) -> ModeChoice | None:
        """The mode chosen on this mode's surfaces, none forced, a little way on from ``x``
        along ``direction`` (`_a_little_way_on`), where rates that are 0 at ``x`` have
        left it."""
        ahead = _a_little_way_on(x, direction, self.scales)
        if ahead is None:
            return None
        scales = RunScales(ahead)
        scales.update_fields(self.system.adjacent(ahead, list(self.free), self.signs)[1])
        return choose_mode(
            self.system, ahead, self.free, self.base_signs(), scales=scales, check=False
        )

    def corner_decided(self, x: FloatArray, choice: ModeChoice) -> bool:
        """Whether the region ``choice`` enters at a vertex exit (`exit_of`) is the only
        continuation: the choice a little way on along its field (`choice_ahead`) is that
        region, unique.

        Why a little way on: at the vertex its field is tangent to both surfaces, so every
        rate there is 0 to rounding, and the slidings on one surface that it ends (their
        velocity is that field there) cannot be told from it; which of them goes on is
        decided by how the rates leave 0 (rates of a millionth of their scale against a
        rounding band of 1e-10 of it)."""
        later = self.choice_ahead(x, choice.selection.velocity)
        return (
            later is not None
            and later.unique
            and later.free == choice.free
            and bool(np.array_equal(later.signs, choice.signs))
        )

    def vertex_exit(self, x: FloatArray) -> tuple[str, int, int] | None:
        """Where the last feasible weights at ``x`` are a vertex (three zero), the exit
        that the choice a little way on along the field left makes (`exit_of`); else, or
        where that choice keeps both surfaces or is none, ``None``."""
        theta = self._stewart_segment(x)[1]
        order = np.argsort(theta)
        if not theta[order[2]] <= _SEGMENT_GONE:
            return None
        patterns, fields = self.system.adjacent(x, list(self.free), self.signs)
        later = self.choice_ahead(x, fields[int(order[3])])
        if later is None or len(later.free) == 2:
            return None
        # (and only where that choice is consistent at x itself: located a little before
        # the vertex, a sliding that exists only after it is none there, and the run
        # ended −4; the pair reading then goes on as before)
        now = choose_mode(
            self.system, x, self.free, self.base_signs(), scales=self.scales, check=False,
            forced={j: int(later.signs[j]) for j in self.free}, exit_slack=self.exit_slack,
        )  # fmt: skip
        if now is None:
            return None
        if not later.free:
            corner = tuple(int(later.signs[i]) for i in self.free)
            kept_patterns = [tuple(int(p[i]) for i in self.free) for p in patterns]
            return ("corner", -1, kept_patterns.index(corner))
        (i,) = (j for j in self.free if j not in later.free)
        return ("exit", int(i), int(later.signs[i]))

    def exit_of(self, x: FloatArray) -> tuple[str, int, int]:
        """The hit of a Stewart codimension-2 mode's segment guard at ``x``: the exit of
        the surface whose side the two fields left share (``("exit", i, s)``), or a fold
        when they are diagonal (``("fold", -1, 0)``: the sliding ceased, no side named);
        where one field alone is left (a vertex of the weights), what the choice a little
        way on along that field is: the region of a field (``("corner", -1, k)``, ``k``
        its index in ``adjacent``), or the exit of one surface to a side.

        Why the vertex: there the pair was a tie among the zero weights. The exit of one
        surface then slid on the other with the same field, tangent to the first: exits
        and entries alternated at one time until the run ended −2 (review rv13's vertex).
        And why a little way on: at the vertex the field left is tangent to both surfaces,
        every rate is 0, and each continuation passes the local test there; taking its
        region always entered it where the field turns back to one surface after, and
        the run ended −4 (review rv16)."""
        at_vertex = self.vertex_exit(x)
        if at_vertex is not None:
            return at_vertex
        theta = self._stewart_segment(x)[1]
        patterns = self.system.adjacent(x, list(self.free), self.signs)[0]
        kept = np.argsort(theta)[2:]
        p, q = patterns[int(kept[0])], patterns[int(kept[1])]
        for i in self.free:
            if p[i] == q[i]:
                return ("exit", int(i), int(p[i]))
        return ("fold", -1, 0)

    def other_root(self, x: FloatArray) -> FloatArray | None:
        """The bilinear root at ``x`` other than the followed one (``None``: none)."""
        return self._root_pair(x)[1]

    def record_branch(self, t: float, x: FloatArray, mode_rec: object) -> None:
        """Record where the other root of the bilinear equations entered the square, the
        mode going on.

        Why: it enters through the edge of one surface's side, where the sliding on the
        other surface alone, on that side, turns tangent to the first and then leaves
        the intersection: another Filippov solution from here (the intersection no
        longer attracts from that side). The mode goes on with its own root, as the
        product regularization does; the point is a "repulsive" event flagged not
        unique. Before, the release guards read it as an exit that no mode makes (−4),
        and with the root's own exits alone nothing was said (review rv12)."""
        other = self.other_root(x)
        edge = 0 if other is None else int(np.argmin(np.minimum(other, 1.0 - other)))
        self.rec.event(
            t, x, "repulsive", [self.free[edge]], mode_rec, mode_rec, unique=False,  # type: ignore[arg-type]
            note="another root of the bilinear equations entered the square: a sliding "
            "on one surface leaves the intersection from here",
        )  # fmt: skip

    def _roots(self, x: FloatArray) -> list[FloatArray]:
        """Every real root of the bilinear equations at ``x`` (none where they coincide,
        or for a mode that follows no root)."""
        if not self.bilinear or self.root is None:
            return []
        free = list(self.free)
        F = self.system.adjacent(x, free, self.signs)[1]
        N = self.system.jacobian(x)[free]
        try:
            return bilinear_roots(F, N, 1e-12)
        except ValueError:
            return []

    def folds_at(self, x: FloatArray) -> bool:
        """Whether the followed bilinear root at ``x`` is in the square and the other real
        root is within `_FOLD_GAP` of it: the two meet just ahead (the retries toward
        where the field ceased to exist end a step of rounding before it, where the
        roots are ``O(√(rounding))`` apart)."""
        roots = self._roots(x)
        if len(roots) != 2:
            return False
        gap = float(np.max(np.abs(roots[0] - roots[1])))
        return gap <= _FOLD_GAP and all(in_weight_square(r) for r in roots)

    def other_root_in_square(self, x: FloatArray) -> bool:
        """Whether, beside the followed bilinear root, another real root at ``x`` lies in
        the square (more than `_FOLD_GAP` from it): at an exit of the followed one, the
        sliding on both surfaces can go on with that one's blend."""
        roots, root = self._roots(x), self.root
        if not roots or root is None:
            return False
        ours = min(roots, key=lambda ab: float(np.max(np.abs(ab - root))))
        return any(
            in_weight_square(r) and float(np.max(np.abs(r - ours))) > _FOLD_GAP for r in roots
        )

    def _root_pair(self, x: FloatArray) -> tuple[FloatArray, FloatArray | None]:
        """The followed bilinear root's ``(α, β)`` at ``x`` (`follow`) and the other real
        root (``None`` if there is none), not clipped."""
        roots, root = self._roots(x), self.root
        if not roots:
            raise PathFailure(
                -4,
                f"the sliding velocity on {set(self.free)} ceased to exist at x = "
                f"{np.array2string(np.asarray(x), precision=12)} (no real root of its "
                "bilinear equations) without an exit event; the solution is returned up to "
                "there",
            )
        assert root is not None  # (no roots are computed without it)
        roots.sort(key=lambda ab: float(np.max(np.abs(ab - root))))
        return roots[0], (roots[-1] if len(roots) > 1 else None)

    def guard_scales(self, x: FloatArray) -> FloatArray:
        """Each guard's natural size at ``x``, what "at rounding" is judged against,
        component by component (as `_zero_set`): ``|∇c_i|`` times the run's state scale
        (`RunScales`) for a hit of ``c_i = 0``, and ``|∇c_i|`` times the adjacent fields'
        largest ``|F_j|`` for an exit (a normal speed). Not an absolute 1e-12: fields of 1e-6 and a switching
        function in micro-units put an exit's whole guard below it, and the sliding went
        on past the exit unseen. Not with norms over all components either: a coordinate
        of 1e5 that ``c_i`` does not read hid a crossing 1e-8 deep."""
        J = np.abs(self.system.jacobian(x))
        fields = self.system.adjacent(x, self.free, self.signs)[1]
        speeds = np.max(np.abs(fields), axis=0) if np.size(fields) else np.zeros(x.size)
        hits = J @ np.maximum(np.abs(x), self.scales.x)
        # (a bilinear mode's exit guards are weights: of size 1)
        exits = np.ones(J.shape[0]) if self.bilinear else J @ speeds
        out = np.array(
            [
                hits[i]
                if kind == "hit"
                else 1.0
                if kind in ("branch", "weight") or (kind == "exit" and i < 0)
                else exits[i]
                for kind, i, _ in self.labels
            ],
            dtype=float,
        )
        return np.maximum(out, 1e-300)

    def lam(self, x: FloatArray) -> FloatArray:
        sel = self.system.mode_velocity(
            x, self.free, self.signs, check_unique=False, near=self.root
        )
        return self.signs.astype(float) if sel is None else sel.lam

    def project(self, x: FloatArray) -> FloatArray:
        """``x`` moved onto the mode's surfaces ``c_S = 0`` by Newton steps of least norm
        (``d = ∇c_Sᵀ (∇c_S ∇c_Sᵀ)⁻¹ c_S``); ``x`` itself in a region (no surface held).

        Why, beside the drift correction in :meth:`rhs`: that term only keeps the
        integrator's drift at its own tolerance (a sliding state 3e-11 off a circle at
        rtol = 1e-10, atol = 1e-12), while DESIGN §1.3 asks the solution on the manifold
        below ``atol``. Every state the path records (the dense output, events, a mode's
        start) is taken through this, as the Lur'e path's states are through its
        ``ModeField.project``; the guards read the integrator's own states.
        """
        if not self.free:
            return x
        key = x.tobytes()
        if self._projected is not None and self._projected[0] == key:
            return self._projected[1].copy()
        rows = list(self.free)
        y = np.array(x, dtype=float)
        for _ in range(3):
            cS = np.asarray(self.system.c(y), dtype=float)[rows]
            N = np.asarray(self.system.jacobian(y), dtype=float)[rows]
            d = min_norm_correction(N, cS)
            if not bool(np.all(np.isfinite(d))):
                # (a non-finite surface or gradient: the guards report it, with the state)
                return np.array(x, dtype=float)
            y = y - d
            # Newton converges quadratically: a step at the rounding of y leaves y on the
            # surfaces to rounding, and a further one would move it by rounding only.
            if float(np.max(np.abs(d))) <= 4 * _EPS * float(np.max(np.abs(y))):
                break
        self._projected = (key, y.copy())
        return y


_EPS = float(np.finfo(float).eps)

#: A Stewart segment of feasible weights this short (in weights) is gone: a release there
#: is the sliding's end, not a branch (`_Mode.release_kind`).
_SEGMENT_GONE = 1e-8

#: Two bilinear roots this close (in weights) where the field ceased to exist a step of
#: rounding ahead are a fold (`_Mode.folds_at`).
_FOLD_GAP = 1e-4

#: A guard is armed (below its surface, so that reaching 0 is an event) once it is below 0
#: by more than this fraction of its natural size (`_Mode.guard_scales`).
_ARM_RTOL = 1e-12


def _segment_ends(theta0: FloatArray, d: FloatArray) -> tuple[float, float, int, int]:
    """The ends ``s_lo ≤ s_hi`` of the segment ``θ₀ + s d ≥ 0`` (crossed over where it is
    empty) and the weight that is 0 at each (−1 where unbounded).

    A weight the line does not move (``|d_k|`` at rounding, `_FLAT_WEIGHT`) bounds
    nothing: it is ``θ₀ₖ`` everywhere, and the segment is empty only if that is below 0
    beyond rounding (its length then that value). Read as a bound, ``θ₀ₖ / d_k`` was
    rounding over rounding (−1e-16 / −2.5e-16): a segment of length 1e-3 in place of
    1.25, and a change of piece at every step where weight ``k`` is 0 throughout."""
    moving = np.abs(d) > _FLAT_WEIGHT
    flat_low = float(np.min(theta0[~moving], initial=0.0))
    if flat_low < -_FLAT_WEIGHT:
        return 0.0, flat_low, -1, -1
    with np.errstate(divide="ignore", invalid="ignore"):
        ends = -theta0 / d
    lo = np.where(moving & (d > 0), ends, -np.inf)
    hi = np.where(moving & (d < 0), ends, np.inf)
    j_lo, j_hi = int(np.argmax(lo)), int(np.argmin(hi))
    s_lo, s_hi = float(lo[j_lo]), float(hi[j_hi])
    return s_lo, s_hi, (j_lo if np.isfinite(s_lo) else -1), (j_hi if np.isfinite(s_hi) else -1)


#: A weight whose direction component along the line of solutions (of unit length) is
#: this small does not move along it (`_segment_ends`).
_FLAT_WEIGHT = 1e-12


def _finite_guards(mode: _Mode, t: float, x: FloatArray) -> FloatArray:
    """The mode's guards at ``x``; a failure (−3) naming the switching function, the time
    and the state where one is not finite (a NaN guard never fires: the mode ran on past
    ``c = NaN`` as if in a region, or event location failed on it, reported at the wrong
    time)."""
    g = mode.guards(x)
    if bool(np.all(np.isfinite(g))):
        return g
    c = np.asarray(mode.system.c(x), dtype=float)
    bad = np.flatnonzero(~np.isfinite(c))
    what = (
        f"switching function {int(bad[0])} is {c[bad[0]]}"
        if bad.size
        else "the sliding velocity is not finite"
    )
    raise PathFailure(
        -3,
        f"{what} at t = {t:.12g}, x = {np.array2string(np.asarray(x), precision=12)}; the "
        "solution is returned up to there",
    )


def _zero_set(
    system: PiecewiseSystem, x: FloatArray, opts: PiecewiseOptions, scales: RunScales
) -> np.ndarray:
    """The indices with ``|c_i| ≤ zero_tol · |∇c_i| · (the run's state scale)``.

    Why not ``max(|x|, 1)``: that absolute floor read ``x1 = 1e-12`` of a twisting
    controller started at ``(1e-12, 0)`` as on ``x1 = 0``; the start became the origin's
    double sliding, "stationary at t = 0" (status 1) for a state that moves."""
    c = system.c(x)
    J = system.jacobian(x)
    scale = np.abs(J) @ np.maximum(np.abs(x), scales.x)
    return np.flatnonzero(np.abs(c) <= opts.zero_tol * np.maximum(scale, 1e-300))


def _steps(
    system: PiecewiseSystem,
    x0: FloatArray,
    t0: float,
    t_end: float,
    opts: PiecewiseOptions,
    rec: Recorder,
) -> Generator[None, None, Finished | Rest]:
    """Integrate ``system`` from ``x0`` on ``[t0, t_end]`` into ``rec`` (the loop of
    :class:`PiecewisePath`)."""
    x = np.array(x0, dtype=float)
    t = float(t0)
    span = t_end - t0
    gain = opts.stabilization / span
    solver_cls, stiff_cls = integrators(opts.integrator)
    c = system.c(x)
    signs = np.where(c < 0, -1, 1)
    scales = RunScales(x)
    zero = tuple(int(i) for i in _zero_set(system, x, opts, scales))
    if len(zero) > MAX_CODIM:
        raise PathFailure(-4, f"{len(zero)} switching functions vanish at x0 (at most {MAX_CODIM})")
    scales.update_fields(system.adjacent(x, zero, signs)[1])
    old_mode = None
    choice = _choose(system, x, zero, signs, None, signs, t, scales)
    # A start on a repulsive surface: both sides and the sliding are Filippov solutions.
    # As the event path of piecewise_system, stay on it (the sliding mode, flagged
    # non-unique, labelled "repulsive" as classify() labels it).
    repulsive = tuple(i for i in zero if system.classify(x, i)[0] == "repulsive")
    if repulsive and not set(repulsive) <= set(choice.free):
        free0 = tuple(sorted(set(choice.free) | set(repulsive)))
        sig0 = choice.signs.copy()
        sig0[list(free0)] = 0
        sel0 = system.mode_velocity(x, free0, sig0, check_unique=False)
        # (only where its velocity keeps the other surfaces at zero on their sides: at an
        # intersection the sliding on a repulsive surface, with the choice's side of the
        # other one, moved x₁ off that side at −0.29 (a random fuzz's seed 8), and the
        # run ended −4 "changed sign without an event"; the choice stands then, with its
        # own flag: `choose_mode` counts the sliding modes that do not attract)
        if sel0 is not None and _keeps_sides(system, x, zero, sig0, sel0.velocity, scales):
            choice = ModeChoice(free0, sig0, sel0, False, choice.n_candidates + 1)
    signs = choice.signs
    if zero:
        _record_transition(
            system,
            rec,
            t,
            x,
            zero,
            (),
            np.where(c < 0, -1, 1),
            choice,
            None,
            initial=True,
            repulsive=repulsive,
        )
    free = choice.free
    refused: tuple[tuple[str, int, int], ...] = ()
    piece: Piece = _DECIDE
    # (changes of support at one point in a row: see `_NO_PIECES`)
    support_changes_here = 0
    while True:
        mode = _Mode(system, free, signs, gain, rec, scales, exit_slack=opts.rtol)
        mode_rec = make_mode("l1", signs, free)
        vel = choice.selection.velocity
        # At rest when every component of the velocity is zero relative to that component
        # of the fields around (with max(1, ·) fields of 1e-12 were "at rest"; with the
        # largest component, a component of 1e-13 beside one of 1 was).
        v_scale = np.max(np.abs(system.adjacent(x, free, signs)[1]), axis=0)
        if bool(np.all(np.abs(vel) <= 1e-12 * v_scale)):
            return Rest(t, x, free, old_mode, mode_rec, choice.selection.lam, choice.unique)
        yield
        t_new, x_new, hit = _run_mode(
            mode, solver_cls, t, x, t_end, opts, rec, mode_rec, stiff_cls, refused, piece
        )
        piece = _DECIDE
        # (releases read at this very point before stay refused: two read at one point
        # and each taken again after the other alternated there without end, −2; both
        # release guards of a vertex where a region opens)
        at_start = t_new == t
        still = refused if at_start else ()
        refused = ()
        t, x = t_new, x_new
        if hit is None:
            return REACHED_END
        kind, i, s = hit
        if kind == "turn":
            # (a repulsive sliding whose two sides turn tangent at once: it attracts from
            # here, and goes on with no event, `_Mode.repelled_exit`)
            refused = still
            continue
        if kind == "weight":
            # (the minimal-norm weights changed piece: the same sliding goes on, with no
            # event, from the kink, `_Mode.start_piece`)
            piece = mode.next_piece(i)
            if mode.support is not None:
                # (a support changed at the same point again and again -- several weights
                # at 0 together, rounding deciding each guard -- is given up there: the
                # minimal-norm weights, unfollowed, as before supports were followed)
                support_changes_here = support_changes_here + 1 if at_start else 0
                if support_changes_here >= _SUPPORT_CHANGES:
                    piece = _NO_PIECES
            refused = still
            again = system.mode_velocity(x, free, signs, check_unique=False)
            if again is not None:
                choice = dataclasses.replace(choice, selection=again)
            continue
        if kind == "exit" and i >= 0 and mode.reads_releases:
            # A Stewart codimension-2 mode's release reached by a dip between samples, or
            # with another guard at one (those alone at a sample are read inside the
            # mode): read here the same way, and the mode taken again from here with
            # that guard not armed on its first step (at its root it may dither about 0)
            # unless the sliding ends (`_Mode.release_kind`).
            k = mode.labels.index(hit)
            read = mode.release_kind(x, k)
            if read != "exit":
                if read == "branch":
                    mode.record_release(t, x, k, mode_rec)
                refused = (*still, hit)
                again = system.mode_velocity(x, free, signs, check_unique=False)
                if again is not None:
                    choice = dataclasses.replace(choice, selection=again)
                continue
        if kind == "exit" and i >= 0 and mode.segment:
            # (a release read as the sliding's end: at a vertex of the weights, the exit
            # the choice a little way on makes, as for the segment guard's own hit,
            # `_Mode.exit_of`)
            at_vertex = mode.vertex_exit(x)
            if at_vertex is not None:
                kind, i, s = at_vertex
        old_mode = mode_rec
        old_signs = signs.copy()
        scales.update(x, np.empty(0))
        ceased = free if kind == "fold" else None
        if kind == "hit":
            zero_now = set(free) | {i} | set(int(j) for j in _zero_set(system, x, opts, scales))
            forced = None
        else:
            zero_now = set(free) | set(int(j) for j in _zero_set(system, x, opts, scales))
            forced = {i: s} if kind == "exit" else None
            if kind == "corner":
                # (both surfaces left, to the sides of the one field left: `exit_of`)
                corner = system.adjacent(x, list(free), signs)[0][s]
                forced = {j: int(corner[j]) for j in free}
        zero_t = tuple(sorted(zero_now))
        if len(zero_t) > MAX_CODIM:
            return Finished(-4, f"{len(zero_t)} switching functions vanish at t = {t:.12g}")
        base = signs.copy()
        base[base == 0] = 1
        scales.update_fields(system.adjacent(x, zero_t, base)[1])
        # Surfaces read at zero off the state alone (the tolerance of `_zero_set`) but
        # strictly on the mode's side and not reached by the flow are no part of the event
        # (`_choice_beside`); the others are decided with it, as one event.
        aside = _aside(system, x, zero_t, free, i if kind == "hit" else None, old_signs, scales)
        # (an exit's released index may leave within the run's tolerance of a tangent)
        slack = opts.rtol if forced else 0.0
        beside = _choice_beside(
            system, x, zero_t, aside, base, forced, old_signs, scales, ceased, slack
        )
        if beside is not None:
            zero_t, choice = beside
        else:
            choice = _choose(system, x, zero_t, base, forced, old_signs, t, scales, ceased, slack)
        if mode.segment and kind in ("exit", "fold", "corner") and choice.n_candidates > 1:
            # The Stewart sliding ended with several continuations consistent at the
            # event itself, where some rate is 0 to rounding: the one the choice a little
            # way on along the sliding's last velocity makes, if it is among them. (Its
            # weights collapsed from a segment to none at once, and a release's exit slid
            # on one surface with a weight outside [0, 1] by rounding, which then grew:
            # a velocity outside the Filippov set, status 0; review rv16.)
            theta = mode._stewart_segment(x)[1]
            later = mode.choice_ahead(x, theta @ system.adjacent(x, list(free), old_signs)[1])
            if later is not None:
                taken = choose_mode(
                    system, x, zero_t, base, scales=scales, previous=old_signs,
                    forced={j: int(later.signs[j]) for j in free}, exit_slack=slack,
                )  # fmt: skip
                if taken is not None:
                    choice = dataclasses.replace(taken, unique=False)
        # (not after a repulsive sliding: the side ``-s`` turned tangent, not side ``s``,
        # whose field still leaves; `_Mode.repel`)
        repelled = bool(np.any(mode.orient < 0))
        if (
            kind == "exit"
            and not repelled
            and choice.unique
            and _two_fold(system, x, free, old_signs, i, s, scales)
        ):
            choice = dataclasses.replace(choice, unique=False)
        if kind == "corner" and choice.unique and not mode.corner_decided(x, choice):
            choice = dataclasses.replace(choice, unique=False)
        if kind in ("fold", "exit") and mode.segment and choice.unique and mode.segment_stays(x):
            # (the segment of feasible weights shrank to a point that stays feasible:
            # sliding on is a solution too, and the exit's time is the tolerance's)
            choice = dataclasses.replace(choice, unique=False)
        if kind == "exit" and choice.unique and mode.other_root_in_square(x):
            # (the blend of the other root slides on: a Filippov solution of the same
            # selection, which a regularization's fast dynamics can carry the state to)
            choice = dataclasses.replace(choice, unique=False)
        arrived = tuple(j for j in zero_t if j not in free)
        _record_transition(system, rec, t, x, arrived, free, old_signs, choice, old_mode)
        signs, free = choice.signs, choice.free


def _keeps_sides(
    system: PiecewiseSystem,
    x: FloatArray,
    zero: tuple[int, ...],
    signs: np.ndarray,
    v: FloatArray,
    scales: RunScales,
) -> bool:
    """Whether velocity ``v`` moves each index of ``zero`` with a nonzero sign into its
    side, to rounding (`RunScales.rate_tol`, as `choose_mode` judges rates)."""
    grads = system.jacobian(x)
    return all(
        signs[i] * float(grads[i] @ v) >= -max(scales.rate_tol(grads[i], v, 1e-10), 1e-300)
        for i in zero
        if signs[i] != 0
    )


def _a_little_way_on(x: FloatArray, direction: FloatArray, scales: RunScales) -> FloatArray | None:
    """``x`` moved along ``direction`` until a component has moved by a millionth of its
    scale (the larger of its size and the run's recent scale, `RunScales`); ``None`` for
    a direction that moves no component with a scale.

    Why per component and from the run's scales: ``1e-6 · max(1, |x|)`` is no step
    relative to a state below 1: on a vertex system scaled by 1e-3 it was a thousandth of
    the state, and stepped past a stretch of 1e-4 of it where the weights stay feasible
    (flagged unique, review rv17). Why not the components without scale (below 1e-12 of
    the largest): the coordinates held at 0 on the surfaces have none, and a direction's
    rounding along them (2e-10) made the step nothing; the choice was then read at the
    vertex itself. And why every other moving component, however slow: a fast bystander
    alone (x₄' = 1e4 at x₄ = 1e8, which no field reads) set a step of 1e-2 in time, past
    a stretch of 1e-4 where the weights stay feasible (review rv18)."""
    scale = np.maximum(np.abs(x), scales.x)
    moving = (np.abs(direction) > 0.0) & (scale > 1e-12 * float(np.max(scale)))
    if not moving.any():
        return None
    reach = float(np.min(scale[moving] / np.abs(direction[moving])))
    if not (reach > 0.0 and math.isfinite(reach)):
        return None
    return x + (1e-6 * reach) * direction


def _aside(
    system: PiecewiseSystem,
    x: FloatArray,
    zero: tuple[int, ...],
    free: tuple[int, ...],
    hit: int | None,
    signs: np.ndarray,
    scales: RunScales,
) -> tuple[int, ...]:
    """The indices of ``zero`` only read at zero by the tolerance: neither slid on nor the
    one whose guard fired, with ``c_i`` strictly on the side the mode held (``σ_i c_i > 0``)
    beyond the rounding of its terms.

    Why beyond rounding: an index the flow reaches at the same instant as the one whose
    guard fired is as close to zero as that one, its rounding; taken aside, the event was
    decided without it. Two relays reaching ``c = 0`` together (``c₀ = 5.5e-17``) were
    read as a crossing of one, flagged unique, where resting at the corner and the two
    other regions are Filippov solutions too (stranger fuzz fz12); the Lur'e paths flagged
    it."""
    c = system.c(x)
    rounding = 64 * _EPS * (np.abs(system.jacobian(x)) @ np.maximum(np.abs(x), scales.x))
    return tuple(
        j for j in zero if j not in free and j != hit and signs[j] * c[j] > max(rounding[j], 0.0)
    )


def _choice_beside(
    system: PiecewiseSystem,
    x: FloatArray,
    zero: tuple[int, ...],
    aside: tuple[int, ...],
    signs: np.ndarray,
    forced: dict[int, int] | None,
    previous: np.ndarray,
    scales: RunScales,
    ceased: tuple[int, ...] | None = None,
    exit_slack: float = 0.0,
) -> tuple[tuple[int, ...], ModeChoice] | None:
    """``(zero without aside, the mode chosen there)`` when that mode keeps the state on
    the side of every index of ``aside`` (its normal velocity does not point across beyond
    rounding, as `choose_mode` judges rates); ``None`` otherwise (they are then part of
    the event).

    Why: the zero tolerance of `_zero_set` is on the run's scale, and a trajectory
    converging to a point on several surfaces gets closer to the ones it is not crossing
    than that. At the twisting controller's Zeno point every x2 = 0 event
    at ``|x1| < 1e-12`` became a codimension-2 event whose candidates all move along
    ``x1 = 0`` (``x1' = x2 ≈ 0``): their rates were rounding, and the relaxed choice took
    the region on the other side of ``x1 = 0``, where the state was not. That mode's guard
    started positive, never armed, and the run ended with status −4 ("changed sign
    without an event") instead of reaching the accumulation check. A surface the flow does
    not reach is not part of the event: the Lur'e event path does not merge it either."""
    if not aside:
        return None
    reduced = tuple(j for j in zero if j not in aside)
    choice = choose_mode(
        system,
        x,
        reduced,
        signs,
        scales=scales,
        forced=forced,
        previous=previous,
        ceased=ceased,
        exit_slack=exit_slack,
    )
    if choice is None:
        return None
    v = choice.selection.velocity
    grads = system.jacobian(x)
    for j in aside:
        tol = scales.rate_tol(grads[j], v, 1e-10)
        if choice.signs[j] * float(grads[j] @ v) < -tol:
            return None  # it crosses c_j = 0 at once: a simultaneous event (a corner)
    return reduced, choice


def _choose(
    system: PiecewiseSystem,
    x: FloatArray,
    zero: tuple[int, ...],
    signs: np.ndarray,
    forced: dict[int, int] | None,
    previous: np.ndarray,
    t: float,
    scales: RunScales,
    ceased: tuple[int, ...] | None = None,
    exit_slack: float = 0.0,
) -> ModeChoice:
    choice = choose_mode(
        system, x, zero, signs, scales=scales, forced=forced, previous=previous,
        ceased=ceased, exit_slack=exit_slack,
    )  # fmt: skip
    if choice is None:
        raise PathFailure(
            -4,
            f"no consistent mode at t = {t:.12g} on the surfaces {set(zero)} "
            f"(x = {np.array2string(x, precision=6)})",
        )
    return choice


def _record_transition(
    system: PiecewiseSystem,
    rec: Recorder,
    t: float,
    x: FloatArray,
    arrived: tuple[int, ...],
    old_free: tuple[int, ...],
    old_signs: np.ndarray,
    choice: ModeChoice,
    old_mode: object,
    *,
    initial: bool = False,
    repulsive: tuple[int, ...] = (),
) -> None:
    """Record the events of a mode change, grouped by kind."""
    new_mode = make_mode("l1", choice.signs, choice.free)
    groups: dict[str, list[int]] = {}
    for i in arrived:
        if i in choice.free:
            kind = "repulsive" if i in repulsive else "sliding-entry"
        elif initial:
            # left at once: labelled as classify() labels the surface (as the l1 paths do)
            kind = {"crossing": "crossing", "tangency": "tangency"}.get(
                system.classify(x, i)[0], "exit"
            )
        elif choice.signs[i] == -old_signs[i]:
            kind = "crossing"
        else:
            kind = "tangency"
        groups.setdefault(kind, []).append(i)
    for i in old_free:
        if i not in choice.free:
            groups.setdefault("exit", []).append(i)
    for kind, idx in groups.items():
        rec.event(
            t,
            x,
            kind,
            idx,
            old_mode,  # type: ignore[arg-type]
            new_mode,
            unique=choice.unique,
            note="initial state on the switching surfaces" if initial else "",
        )


def _run_mode(
    mode: _Mode,
    solver_cls: type[OdeSolver],
    t: float,
    x: FloatArray,
    t_end: float,
    opts: PiecewiseOptions,
    rec: Recorder,
    mode_rec: object,
    stiff_cls: type[OdeSolver] | None = None,
    refused: tuple[tuple[str, int, int], ...] = (),
    piece: Piece = _DECIDE,
) -> tuple[float, FloatArray, tuple[str, int, int] | None]:
    """Integrate one mode to its first event or ``t_end``; record the segment (given
    ``stiff_cls``, the mode goes on with it where DOP853 finds it stiff: see
    :mod:`filippov._stiffness`; ``piece``: see `_Mode.start_piece`)."""
    # (a surface the event reached is at zero to the root's rounding: the mode starts on
    # all of its surfaces, as every state it records is)
    x = mode.project(x)
    mode.follow(x)
    mode.start_piece(x, piece)
    try:
        solver = solver_cls(mode.rhs, t, x, t_end, rtol=opts.rtol, atol=opts.atol)
    except FloatingPointError as exc:
        raise PathFailure(
            -3, f"non-finite value ({exc}); the solution is returned up to there"
        ) from None
    g_prev = _finite_guards(mode, t, x)
    # (a guard is armed once it is below 0 beyond the rounding of its own size)
    g_tol = _ARM_RTOL * mode.guard_scales(x)
    if mode.repel(g_prev, g_tol):
        g_prev = -g_prev
    armed = g_prev < -g_tol
    g_start = g_prev.copy()
    branch_mask = np.array([kind == "branch" for kind, _, _ in mode.labels], dtype=bool)
    weight_mask = np.array([kind == "weight" for kind, _, _ in mode.labels], dtype=bool)
    k_branch = int(np.flatnonzero(branch_mask)[0]) if branch_mask.any() else -1
    # (guards passed over inside the mode, until they arm again: no missed sign change;
    # a release the mode was taken again after, `refused`, from its start, and not armed
    # on the first step)
    passed = np.zeros(len(mode.labels), dtype=bool)
    # (when each was passed: a sign change of the guard up to then, found again by a dip
    # after the guard armed through a pole later in the same step, is not an event:
    # it made the mode's hit at an earlier time, events out of order; review rv14)
    passed_at = np.full(len(mode.labels), -np.inf)
    k_refused = [mode.labels.index(label) for label in refused if label in mode.labels]
    armed[k_refused], passed[k_refused] = False, True
    ts = [t]
    interps: list[object] = []
    hit: tuple[str, int, int] | None = None
    t_hit = t_end
    x_hit = x
    stiffness = StiffnessTest() if stiff_cls is not None else None
    # The retries toward a region where the field or a switching function is not finite,
    # as on the event path (`_integrate_mode` there): from the last accepted state, with
    # steps capped at a quarter of the step that met it, the cap shrinking while the
    # retries end inside that step, so that the solution ends at the region's edge, not
    # a whole step short of it (0.3 of 0.41 time units short, a field NaN for x₁ < 0.5).
    # Past the step's end without meeting it again, the cap grows fourfold per stretch.
    span = max(t_end - t, 1e-300)
    retry_cap, retry_until = span, None
    t_good, x_good = t, x

    def retried(tried: float) -> bool:
        """Whether the mode is taken again from the last accepted state after a step of
        length ``tried`` met a non-finite value (else the caller ends the run −3)."""
        nonlocal solver, retry_cap, retry_until
        tried = min(tried, t_end - t_good, retry_cap)
        if tried <= 1e-13 * max(1.0, abs(t_good)) or tried <= 1e-15 * span:
            return False
        retry_cap, retry_until = tried / 4, t_good + tried
        for cls in (type(solver), DOP853):
            try:
                solver = cls(
                    mode.rhs, t_good, x_good, t_end, rtol=opts.rtol, atol=opts.atol,
                    max_step=retry_cap, first_step=retry_cap,
                )  # fmt: skip
                return True
            except FloatingPointError:
                return False
            except PathFailure:
                # An implicit integrator's start evaluates the field at states a
                # finite-difference Jacobian's step apart: close to where a sliding
                # velocity ceases (a bilinear root's fold), one of them is past it, and
                # the mode was dropped whole (Radau and BDF, sol.t == [t0]). DOP853 needs
                # no Jacobian and closes in on it.
                if cls is DOP853:
                    return False
        return False

    while solver.status == "running":
        try:
            msg = solver.step()
        except FloatingPointError as exc:
            if retried(float(getattr(solver, "h_abs", span) or span)):
                continue
            _record(rec, mode, ts, interps, ts[-1], mode_rec)
            raise _non_finite(exc, ts[-1]) from None
        except PathFailure as failure:
            # The mode's own field failed inside a step: its sliding velocity ceased to
            # exist at a stage of a long step, beyond where the mode's exit guards would
            # have fired. Taken again with shorter steps, as toward a non-finite value
            # (a codimension-2 sliding mode stepped from t = 0.72 past its end at 1.35);
            # if that does not help, the mode is kept up to the last accepted step, which
            # the message names (the whole run was dropped, `sol.t == [t0]`; stranger
            # fuzz fz13).
            if retried(float(getattr(solver, "h_abs", span) or span)):
                continue
            if mode.folds_at(x_good):
                # The retries have closed in on where the followed bilinear root meets the
                # other one and both cease (a fold of the sliding: not a weight reaching
                # 0 or 1): the sliding on both surfaces ends here, a step of rounding
                # before the fold, and the event decides where the flow goes on.
                hit, t_hit, x_hit = ("fold", -1, 0), ts[-1], mode.project(x_good)
                break
            _record(rec, mode, ts, interps, ts[-1], mode_rec)
            where = np.array2string(np.asarray(solver.y), precision=12)
            raise PathFailure(
                failure.status,
                f"{failure.message}; the solution is returned up to t = {ts[-1]:.12g}, x = {where}",
            ) from failure
        except (ValueError, ArithmeticError, RuntimeError) as exc:
            # A user field or switching function raised inside a step: the mode is kept
            # up to the last accepted step, which the message names (the driver alone
            # dropped the mode and named the last event's time and state).
            _record(rec, mode, ts, interps, ts[-1], mode_rec)
            raise PathFailure(
                -1,
                f"the system's functions raised ({type(exc).__name__}: {exc}) in the step "
                f"from t = {ts[-1]:.12g}, x = {np.array2string(solver.y, precision=12)}; "
                "the solution is returned up to there",
            ) from exc
        rec.count_step(solver)
        if solver.status == "failed" and stiff_cls is not None and isinstance(solver, stiff_cls):
            # (the implicit integrator a stiff mode switched to fails where its Newton
            # iteration meets a jump or a pole: DOP853 goes on from the last state, as on
            # the event path)
            solver = solver_cls(mode.rhs, solver.t, solver.y, t_end, rtol=opts.rtol, atol=opts.atol)
            continue
        if solver.status == "failed":
            _record(rec, mode, ts, interps, solver.t_old or t, mode_rec)
            raise PathFailure(-1, f"the integrator failed at t = {solver.t:.12g}: {msg}")
        stiff = stiffness is not None and stiffness.stiff_after(solver)
        try:
            # (DOP853's dense output evaluates the field at stages of its own: a field not
            # finite there ended the run −1 in the driver, the whole mode dropped)
            dense = solver.dense_output()
        except FloatingPointError as exc:
            if retried(float(solver.t) - t_good):
                continue
            _record(rec, mode, ts, interps, ts[-1], mode_rec)
            raise _non_finite(exc, ts[-1]) from None
        ts.append(solver.t)
        interps.append(dense)
        # The guards at interior points of the step too: a surface touched and left
        # again within one step (a short stick of a block) changes no sign at its ends.
        t_step = t_lo = float(solver.t_old)
        fired = np.empty(0, dtype=int)
        g_new = g_prev
        samples = [(t_step, g_prev)]
        armed_before = armed.copy()
        restarted = False  # (a sample or root met a non-finite value: the step is retried)
        folded = False  # (a sample or root met a bilinear fold the retries closed in on)
        for j in range(1, _SAMPLES + 1):
            t_j = float(solver.t) if j == _SAMPLES else t_step + j * (solver.t - t_step) / _SAMPLES
            y_j = solver.y if j == _SAMPLES else dense(t_j)
            try:
                g_new = _finite_guards(mode, t_j, np.asarray(y_j, dtype=float))
            except PathFailure as failure:
                # (the step's end read before `retried` replaces the solver)
                if retried(float(ts[-1]) - t_good):
                    restarted = True
                    break
                if mode.folds_at(x_good):
                    folded = True  # (as where a step fails: see below)
                    break
                _record(rec, mode, ts, interps, t_lo, mode_rec)  # (up to the last finite one)
                raise PathFailure(
                    failure.status,
                    failure.message.replace("up to there", f"up to t = {t_lo:.12g}"),
                ) from None
            samples.append((t_j, g_new))
            # (a weight's guard that started at 0 -- a support taken at a kink -- and
            # rises fires too: its support does not hold. Two weights of a symmetric
            # system reached 0 at once; the support that dropped one kept the other,
            # which went below 0 and came back above it within one step. Only the
            # step's end was read, and the run slid on it with status 0, 4.4e-6 off at
            # rtol 1e-8, review rv22.)
            fired = np.flatnonzero(
                (armed & (g_new >= 0)) | (weight_mask & ~armed & ~passed & (g_new > g_tol))
            )
            if fired.size == 1 and (
                fired[0] == k_branch
                or (
                    mode.reads_releases
                    and mode.labels[fired[0]][0] == "exit"
                    and mode.labels[fired[0]][1] >= 0
                )
            ):
                # A bilinear branch, or a Stewart sliding's release, alone at
                # this sample: located, and recorded (a branch) or passed over (a
                # release no mode makes, `release_kind`) with the mode going on; with
                # another guard at the same sample it waits (the mode that follows a
                # branch flags a second root in the square at its start).
                k_pass = int(fired[0])

                def passing(tt: float, dense: Any = dense, k: int = k_pass) -> float:
                    return float(mode.guards(np.asarray(dense(tt), dtype=float))[k])

                t_p = t_lo if passing(t_lo) >= 0 else _root(passing, t_lo, t_j)
                x_p = mode.project(np.asarray(dense(t_p), dtype=float))
                if k_pass == k_branch:
                    mode.record_branch(t_p, x_p, mode_rec)
                    armed[k_pass], passed[k_pass] = False, True
                    passed_at[k_pass] = t_p
                    fired = fired[:0]
                elif (kind_p := mode.release_kind(x_p, k_pass)) != "exit":
                    if kind_p == "branch":
                        mode.record_release(t_p, x_p, k_pass, mode_rec)
                    armed[k_pass], passed[k_pass] = False, True
                    passed_at[k_pass] = t_p
                    fired = fired[:0]
            if fired.size:
                break
            # armed from interior samples too: a guard starting at 0 (just after a
            # crossing) may dip below 0 and come back within one step
            arming = g_new < -g_tol
            if len(ts) <= 2:
                arming[k_refused] = False
            armed |= arming
            passed &= ~armed
            t_lo = t_j
        # Brackets (guard, lo, hi): the guards fired at a sample, and those of a dip and
        # return between the samples up to it (a surface crossed and crossed back within
        # one step: DOP853 steps far over a polynomial solution), which may come first.
        brackets = [(int(k), t_lo, t_j) for k in fired]
        # (not the branch guard: a second root in the square and out again within a
        # step's samples is not flagged)
        dip = _dip_between_samples(mode, dense, samples, armed_before & ~branch_mask & ~passed)
        if dip is not None and (not fired.size or dip[0] <= t_lo):
            brackets += [(int(k), dip[0], dip[1]) for k in dip[2]]
        roots: list[tuple[float, int]] = []
        for k, lo, hi in brackets:

            def g(tt: float, k: int = k, dense: Any = dense) -> float:
                # (checked: brentq on a NaN guard raised its own ValueError, which ended
                # the run −1 in the driver, the mode dropped and c not named)
                return float(_finite_guards(mode, tt, np.asarray(dense(tt), dtype=float))[k])

            try:
                if g(lo) >= 0:
                    roots.append((lo, k))
                elif g(hi) < 0:
                    # The sample that fired read the integrator's own state at the step's
                    # end, and the dense output there is off it by rounding, below 0
                    # (Radau: −9.4e-16): no bracket, and brentq's ValueError ended the
                    # run −1 at its start. The guard reached 0 at the step's end.
                    roots.append((hi, k))
                else:
                    roots.append((_root(g, lo, hi), k))
            except PathFailure as failure:
                if not restarted and retried(float(ts[-1]) - t_good):
                    restarted = True
                    break
                if not restarted and mode.folds_at(x_good):
                    folded = True
                    break
                # (the guards were finite at lo, a sample: the mode is kept up to there)
                _record(rec, mode, ts, interps, lo, mode_rec)
                raise PathFailure(
                    failure.status, failure.message.replace("up to there", f"up to t = {lo:.12g}")
                ) from None
        if restarted:
            # (the step is dropped: the retries start from its start, the last accepted
            # state, with the guards armed as they were there)
            ts.pop()
            interps.pop()
            armed = armed_before
            continue
        if folded:
            # A guard read past a bilinear fold inside an accepted step (its dense output
            # crossed it where the step's own stages did not): the step is dropped and the
            # fold is the event, at the last accepted state the retries closed in from.
            # It ended −4 "ceased to exist" (review rv12, curved surfaces at rtol 1e-7).
            ts.pop()
            interps.pop()
            hit, t_hit, x_hit = ("fold", -1, 0), ts[-1], mode.project(x_good)
            break
        # Safety net: at the last point checked the state must lie in the mode's region
        # (sign c_i = σ_i for every regular i). A switching function that left its side
        # unseen (a dip and return between samples) is located on the dense output.
        roots += _missed_sign_changes(
            mode, dense, t_step, t_j, g_start, g_new, armed | passed, g_tol
        )
        roots = [(tr, k) for tr, k in roots if tr > passed_at[k]]
        if roots:
            best_t, best_k = min(roots)
            t_hit = float(best_t)
            # (the guards read the integrator's states, off the surfaces by its drift, a
            # fraction of the tolerance: projecting each of their nine samples a step
            # made the path 2.5 times slower; review R20. The event's state is the
            # solution's, projected.)
            x_hit = mode.project(np.asarray(dense(t_hit), dtype=float))
            hit = mode.repelled_exit(mode.labels[best_k], x_hit)
            if (
                hit[0] == "weight"
                and mode.segment
                and mode._stewart_segment(x_hit)[0] <= _SEGMENT_GONE
            ):
                # (the segment's other end reached: it vanishes, as its own guard says)
                hit = ("exit", -1, 0)
            if mode.segment and hit == ("exit", -1, 0):
                hit = mode.exit_of(x_hit)
            elif hit == ("exit", -1, 0):
                hit = ("fold", -1, 0)  # (three or more surfaces: `_weights_margin`)
            ts[-1] = t_hit
            break
        g_prev = g_new
        # (the window of recent scales follows the mode: a decayed transient is forgotten)
        f_step = getattr(solver, "f", None)
        mode.scales.update(solver.y, np.empty(0) if f_step is None else f_step)
        t_good, x_good = float(solver.t), np.array(solver.y, dtype=float)
        mode.follow(x_good)
        if retry_until is not None and t_good > retry_until and solver.status == "running":
            # The retries passed the end of the step that met a non-finite value without
            # meeting one again (it was off the path: a stage, the dense output's): the cap
            # grows fourfold per stretch of its length passed, as on the event path.
            retry_cap = min(4.0 * retry_cap, span)
            retry_until = t_good + retry_cap if retry_cap < span else None
            solver = type(solver)(
                mode.rhs, t_good, x_good, t_end, rtol=opts.rtol, atol=opts.atol,
                max_step=retry_cap, first_step=min(retry_cap, t_end - t_good),
            )  # fmt: skip
        if stiff and solver.status == "running":
            # (the steps are held at DOP853's stability boundary: the mode goes on with
            # the implicit integrator from here, with the step it reached)
            assert stiff_cls is not None
            stiffness = None
            first = {"first_step": min(solver.h_abs, t_end - solver.t)} if solver.h_abs > 0 else {}
            try:
                # (under a retry's cap as the integrator it replaces: see `retried`)
                first["max_step"] = retry_cap
                solver = stiff_cls(
                    mode.rhs, solver.t, solver.y, t_end, rtol=opts.rtol, atol=opts.atol, **first
                )
            except FloatingPointError as exc:
                _record(rec, mode, ts, interps, ts[-1], mode_rec)
                raise _non_finite(exc, ts[-1]) from None
            name_the_switch(rec)
    if hit is None:
        t_hit = float(solver.t)
        x_hit = mode.project(np.asarray(solver.y, dtype=float))
    _record(rec, mode, ts, interps, t_hit, mode_rec, x_hit)
    return t_hit, x_hit, hit


#: Event times are located to this fraction of the window they are bracketed in (and to
#: rounding of the time itself, brentq's ``rtol``).
_TIME_RTOL = 1e-15


def _root(g: Any, lo: float, hi: float) -> float:
    """The zero of ``g`` in ``[lo, hi]`` (``g(lo) < 0 <= g(hi)``) to rounding.

    Why relative to the window ``hi − lo`` (a part of one integrator step, the local time
    scale) and not an absolute 1e-15: with times of 1e-8 (the twisting controller with
    gains of 1 and states of 1e-16) an absolute 1e-15 put each event 1e-8 of the whole
    time off, and the accumulation of events was read with a contraction ratio of 1 and
    its limit at twice its time, or the mode at a misplaced event ended −4."""
    return float(
        brentq(g, lo, hi, xtol=max(_TIME_RTOL * (hi - lo), 1e-300), rtol=1e-15, maxiter=200)
    )


def _dip_between_samples(
    mode: _Mode,
    dense: Any,
    samples: list[tuple[float, FloatArray]],
    armed: np.ndarray,
) -> tuple[float, float, np.ndarray] | None:
    """``(t_lo, t_hi, fired)`` for the first window between a step's samples in which
    an armed guard (below 0 at the step's start, firing at 0) rises to 0 and falls back
    unseen: predicted by the polynomial through all the samples
    (:func:`filippov._event_location.interpolant_dips`, as on the event path) and checked
    on the guard itself, ``t_lo`` a sample where it is below 0 and ``t_hi`` a time where
    it is not; ``None`` when no predicted window holds.

    Why: the equispaced samples alone stepped over a parabola's dip 0.9 wide in a step
    of 20 (a surface reached and left within one DOP853 step on a polynomial solution):
    the mode's field was integrated 0.1 inside the other region, status 0.
    """
    idx = np.flatnonzero(armed)
    if not idx.size or len(samples) < 3:
        return None
    ts = np.array([t for t, _ in samples])
    G = -np.array([g[idx] for _, g in samples])  # (negative where an armed guard fired)
    windows = interpolant_dips(ts, G)
    for i in sorted(windows):
        t_mid = windows[i]
        g_mid = mode.guards(np.asarray(dense(t_mid), dtype=float))
        fired = idx[g_mid[idx] >= 0]
        if fired.size:
            return float(ts[i]), float(t_mid), fired
    return None


def _missed_sign_changes(
    mode: _Mode,
    dense: object,
    t0: float,
    t1: float,
    g_start: FloatArray,
    g_end: FloatArray,
    armed: np.ndarray,
    g_tol: FloatArray,
) -> list[tuple[float, int]]:
    """The (time, label) of each region guard that is on the wrong side at ``t1`` unseen.

    An "exit" guard not armed (it started at 0) but positive at ``t1`` beyond its rounding
    ``g_tol`` fires where it left 0. A "hit" guard ``−σ_i c_i`` not armed (it started at 0) but positive at ``t1`` beyond
    its start and rounding means ``c_i`` changed sign between samples without being seen.
    Its excursion below 0 is found on a fine grid of ``[t0, t1]`` (geometric near ``t0``,
    where such a guard starts) refined by a bounded minimisation, and the return to 0
    after it by ``brentq``. If no excursion exists the mode never held (a wrong choice):
    that is a failure, never a silent wrong answer."""
    from scipy.optimize import minimize_scalar

    out: list[tuple[float, int]] = []
    for k, (kind, _i, _s) in enumerate(mode.labels):
        if armed[k]:
            continue

        def g(tt: float, k: int = k) -> float:
            return float(mode.guards(np.asarray(dense(tt), dtype=float))[k])  # type: ignore[operator, arg-type]

        if kind == "branch":
            continue  # (not a mode change: nothing of the mode's is missed by it)
        if kind in ("exit", "weight"):
            # An exit guard never armed -- it started at 0, at a fold of the sliding
            # (the other side's field turning tangent there) -- and now clearly positive:
            # the sliding ceased where it left 0, the last time it was not above it (at the
            # step's start if it never was). Unseen, the mode ran on past the fold with
            # negative weights, a velocity outside the Filippov set, status 0.
            if not (g_end[k] > g_tol[k] and g_start[k] <= g_tol[k]):
                # (one positive from the mode's start is a repulsive sliding kept on
                # purpose, flagged not unique: the solution that stays)
                continue
            t_a = t0
            for tt in np.linspace(t0, t1, 65)[1:]:
                if g(float(tt)) > g_tol[k]:
                    t_b = float(tt)
                    break
                t_a = float(tt)
            else:
                t_b = t1
            if g(t_a) > 0.0:
                out.append((t_a, k))
            else:
                out.append((_root(g, t_a, t_b), k))
            continue
        tol = 1e-12 * max(abs(float(g_start[k])), abs(float(g_end[k])), 1e-300)
        if not g_end[k] > max(float(g_start[k]), 0.0) + tol:
            continue

        h = t1 - t0
        grid = np.unique(np.r_[t0 + h * 2.0 ** -np.arange(1, 60), np.linspace(t0, t1, 65)])
        grid = grid[(grid > t0) & (grid < t1)]
        vals = np.array([g(tt) for tt in grid])
        j = int(np.argmin(vals)) if grid.size else -1
        t_a, g_a = (float(grid[j]), float(vals[j])) if j >= 0 else (t0, 0.0)
        if not g_a < 0:
            # (to rounding of the window, not an absolute 1e-15: see `_root`)
            xatol = _TIME_RTOL * (t1 - t0)
            res = minimize_scalar(g, bounds=(t0, t1), method="bounded", options={"xatol": xatol})
            t_a, g_a = float(res.x), float(res.fun)
        if not g_a < 0:
            sw = mode.labels[k][1]
            raise PathFailure(
                -4,
                f"switching function {sw} changed sign between t = {t0:.12g} and "
                f"{t1:.12g} without an event (the mode never held there)",
            )
        later = grid[(grid > t_a)]
        t_b = t1
        for tt in later:
            if g(float(tt)) >= 0:
                t_b = float(tt)
                break
        out.append((_root(g, t_a, t_b), k))
    return out


def _non_finite(exc: BaseException, t_kept: float) -> PathFailure:
    """The failure (−3) of a mode that met a non-finite value, its solution kept up to
    ``t_kept`` (the last accepted step's end)."""
    return PathFailure(
        -3, f"non-finite value ({exc}); the solution is returned up to t = {t_kept:.12g}"
    )


def _record(
    rec: Recorder,
    mode: _Mode,
    ts: list[float],
    interps: list[object],
    t1: float,
    mode_rec: object,
    x1: FloatArray | None = None,
) -> None:
    if not interps or t1 <= ts[0]:
        return
    if len(ts) > 2 and ts[-1] <= ts[-2]:  # the event is at the start of the last step
        ts, interps = ts[:-1], interps[:-1]
    sol = OdeSolution(np.array(ts), interps)

    def dense(tt: FloatArray) -> FloatArray:
        xs = np.asarray(sol(np.asarray(tt, dtype=float)), dtype=float).T
        if not mode.free:
            return xs
        # (each state on the mode's surfaces, as the events and mode starts are: `_Mode.project`)
        if xs.ndim == 1:
            return mode.project(xs)
        return np.array([mode.project(row) for row in xs])

    x_end = dense(np.asarray(t1)) if x1 is None else x1
    # one piece per integrator step, the last one ending at t1 (sampled into a NodalDense,
    # so the solution pickles and saves like the event path's)
    steps = np.asarray(ts, dtype=float)
    breaks = np.r_[steps[steps < t1], t1]
    rec.dense_segment(ts[0], t1, dense, x_end, mode_rec, mode.lam(x_end), breaks)  # type: ignore[arg-type]
