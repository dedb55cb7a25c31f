r"""Explicit Euler discretizations of the steepest-descent flows.

The mathematics: :doc:`/theory`, "Discretizations".

For a norm :math:`\|\cdot\|` with dual :math:`\|\cdot\|_*`, the steepest-descent flow is
:math:`x' \in -\partial\|\nabla f(x)\|_*` and its explicit Euler step is
:math:`x_{k+1} = x_k + \eta_k v_k` with :math:`v_k = \operatorname{lmo}(g_k) =
\arg\min_{\|v\|\le 1}\langle g_k, v\rangle`:

=================  ============  ======================================================
scheme             norm          direction :math:`v_k`
=================  ============  ======================================================
:class:`GD`        (Euclidean)   :math:`-g_k` (the smooth gradient flow)
:class:`NormalizedGD`  ℓ2        :math:`-g_k/\|g_k\|_2`
:class:`SignGD`    ℓ∞            :math:`-\operatorname{sign}(g_k)`
:class:`GreedyCD`  ℓ1            :math:`-\sum_{i\in A} w_i \operatorname{sign}(g_{k,i}) e_i`
=================  ============  ======================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..selection import solve_simplex_vi
from .base import Direction, FloatArray, Problem, Scheme, lmo_rows
from .steps import StepPolicy

__all__ = ["GD", "GreedyCD", "NormalizedGD", "SignGD"]

TIE_RULES = ("vertex", "equal", "selection")


class GD(Scheme):
    r"""Gradient descent, the explicit Euler step of the gradient flow :math:`x' = -\nabla f`.

    .. math::

        x_{k+1} = x_k - \eta_k g_k .

    The gradient flow is smooth; it is *not* the ℓ2 steepest-descent flow
    :math:`x' = -\nabla f/\|\nabla f\|_2` of ``steepest_descent_flow(obj, "l2")`` (same
    orbits, another speed), whose Euler step is :class:`NormalizedGD`. Its ``norm_name``
    "l2" only sets the diagnostics (``grad_norm`` is :math:`\|g_k\|_2`), and
    :func:`filippov.compare` refuses it against a steepest-descent flow.

    Parameters
    ----------
    step : StepPolicy, float or str
        Step policy (a number means a constant step).

    Examples
    --------
    >>> import filippov as fp
    >>> from filippov.objectives import separable_quadratic
    >>> traj = GD(step=0.5).run(separable_quadratic([1.0], [0.0]), [1.0], n_steps=3)
    >>> traj.x[:, 0]
    array([1.   , 0.5  , 0.25 , 0.125])
    """

    norm_name = "l2"
    flow = "gradient"

    def direction(self, problem: Problem, x: FloatArray, g: FloatArray, state: Any) -> Direction:
        return Direction(-g, state)


class NormalizedGD(Scheme):
    r"""Normalized gradient descent: Euler step of the ℓ2 steepest-descent flow.

    The flow is :math:`x' = -\nabla f/\|\nabla f\|_2`; its step is

    .. math::

        x_{k+1} = x_k - \eta_k \frac{g_k}{\|g_k\|_2}, \qquad (v_k = 0 \text{ if } g_k = 0).

    Parameters
    ----------
    step : StepPolicy, float or str
        Step policy; with a constant step the iterate moves exactly :math:`\eta` per step.

    References
    ----------
    Seed paper 2 (norm-constrained flows), Table 1.

    Examples
    --------
    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov.objectives import separable_quadratic
    >>> traj = NormalizedGD(step=0.1).run(
    ...     separable_quadratic([1.0, 1.0], [0.0, 0.0]), [3.0, 4.0], n_steps=2)
    >>> np.round(traj.x[1], 12)
    array([2.94, 3.92])
    """

    norm_name = "l2"

    def direction(self, problem: Problem, x: FloatArray, g: FloatArray, state: Any) -> Direction:
        v = lmo_rows(self.norm, g)
        v[~np.any(g != 0, axis=1)] = 0.0
        return Direction(v, state)


class SignGD(Scheme):
    r"""Sign gradient descent: Euler step of the ℓ∞ steepest-descent (sign) flow.

    The flow :math:`x' \in -\operatorname{Sign}(\nabla f(x))` is the steepest descent for
    the ℓ∞ norm (dual norm ℓ1); the step direction is the ℓ∞ linear minimization oracle
    with the minimal-norm choice :math:`\operatorname{sign}(0) = 0`:

    .. math::

        x_{k+1} = x_k - \eta_k \operatorname{sign}(g_k) .

    With :class:`~filippov.schemes.Adaptive` steps
    :math:`\eta_k = \|g_k\|_1/\sum_i L_i` it converges linearly with factor
    :math:`1 - \mu/\sum_i L_i` under :math:`\mu`-strong convexity (seed paper 2, Thm 5.4);
    with a constant step it tracks the Filippov solution of the sign flow at first order:
    its iterates chatter in a band of width :math:`O(\eta)` around sliding manifolds (the
    constant depends on the problem: 1.7 on a random quadratic with codimension-2
    sliding, where the error against the flow was 3.4 :math:`\eta`).

    Parameters
    ----------
    step : StepPolicy, float or str
        Step policy (a number means a constant step).

    References
    ----------
    J. Bernstein, Y.-X. Wang, K. Azizzadenesheli, A. Anandkumar, "signSGD: Compressed
    optimisation for non-convex problems", ICML 2018. Seed paper 1 (geometry of sign
    gradient descent) and seed paper 2, Sec. 5.

    Examples
    --------
    >>> import filippov as fp
    >>> from filippov.objectives import separable_quadratic
    >>> obj = separable_quadratic([1.0, 10.0], [0.0, 0.0])
    >>> traj = SignGD(step=0.25).run(obj, [1.0, -0.6], n_steps=3)
    >>> traj.x
    array([[ 1.  , -0.6 ],
           [ 0.75, -0.35],
           [ 0.5 , -0.1 ],
           [ 0.25,  0.15]])
    """

    norm_name = "linf"

    def direction(self, problem: Problem, x: FloatArray, g: FloatArray, state: Any) -> Direction:
        return Direction(lmo_rows(self.norm, g), state)


class GreedyCD(Scheme):
    r"""Greedy coordinate descent: Euler step of the ℓ1 steepest-descent flow.

    The ℓ1 flow moves only the coordinates where :math:`|\partial_i f|` is maximal; on the
    :math:`\varepsilon`-tie set :math:`A_k = \{i : |g_{k,i}| \ge (1-\varepsilon)
    \|g_k\|_\infty\}` the step is a convex combination of the signed vertices

    .. math::

        x_{k+1} = x_k - \eta_k \sum_{i \in A_k} w_i \operatorname{sign}(g_{k,i})\, e_i,
        \qquad w \in \Delta_{A_k},

    with the tie rule choosing :math:`w`:

    * ``"vertex"``: the ℓ1 linear minimization oracle (one coordinate, the first maximizer)
      -- classical greedy coordinate descent; zig-zags across ties;
    * ``"equal"``: :math:`w_i = 1/|A_k|`;
    * ``"selection"``: the Filippov sliding selection (:doc:`/theory`) on the tie facet,
      :math:`w = ` :func:`~filippov.selection.solve_simplex_vi` of
      :math:`\tilde M = S H_{AA} S` (:math:`S = \operatorname{diag}\operatorname{sign}
      g_A`, :math:`H = \nabla^2 f(x_k)`) with zero drift, which keeps every tied
      :math:`|g_i|` decreasing at a common rate: the tie is kept.

    All rules have the same first-order decrease :math:`\eta\|g\|_\infty` on an exact tie
    (seed paper 2, Lemma 4.4). The counter ``tie_breaks`` records how many indices leave
    the tie set at each step, ``tie_size`` records :math:`|A_k|`, and ``nonunique`` the
    steps whose selection is not known to be unique (``"selection"`` only, as
    :func:`~filippov.selection.solve_simplex_vi` decides it: duplicated coordinates, where
    every split of their weight keeps the tie, and other ties it cannot prove unique; the
    solution found is taken, and the run's message says so).

    Parameters
    ----------
    step : StepPolicy, float or str
        Step policy.
    tie : {"vertex", "equal", "selection"}, default "vertex"
        Tie rule.
    tie_tol : float, default 1e-9
        Relative tie tolerance :math:`\varepsilon` in [0, 1). In discrete time exact ties
        are rare; a tolerance of order :math:`\eta \max_i L_i / \|g\|_\infty` catches the
        near-ties a constant step creates.

    References
    ----------
    Seed paper 2, Sec. 4.5 ("convex-combination sliding on tie facets").

    Examples
    --------
    >>> import filippov as fp
    >>> from filippov.objectives import separable_quadratic
    >>> obj = separable_quadratic([1.0, 2.0], [0.0, 0.0])
    >>> traj = GreedyCD(step=0.5, tie="selection").run(obj, [2.0, 1.0], n_steps=2)
    >>> traj.x[1]  # the tie |g_1| = |g_2| = 2 is kept: weights 2/3, 1/3
    array([1.66666667, 0.83333333])
    """

    norm_name = "l1"
    extra_diagnostics = ("tie_breaks", "tie_size", "nonunique")
    nonunique_note = (
        "had a tie whose selection, a simplex variational inequality, is not known to be "
        "unique (the solution found was taken"
    )

    def __init__(
        self,
        step: StepPolicy | float | str,
        *,
        tie: str = "vertex",
        tie_tol: float = 1e-9,
    ) -> None:
        super().__init__(step)
        if tie not in TIE_RULES:
            raise ValueError(f"`tie` must be one of {TIE_RULES}. Got {tie!r} instead.")
        try:
            # (a string or a bool is no tolerance, although float() takes "0.1" and True)
            if isinstance(tie_tol, str | bytes | bool):
                raise TypeError
            tol = float(tie_tol)
        except (TypeError, ValueError):
            raise TypeError(
                f"`tie_tol` must be a number in [0, 1). Got {tie_tol!r} instead."
            ) from None
        if not 0.0 <= tol < 1.0:
            raise ValueError(f"`tie_tol` must lie in [0, 1). Got {tie_tol!r} instead.")
        self.tie = tie
        self.tie_tol = tol

    def _options(self) -> dict[str, Any]:
        return {"tie": self.tie, "tie_tol": self.tie_tol}

    def init(self, problem: Problem, x: FloatArray, g: FloatArray) -> Any:
        return None

    def tie_set(self, g: FloatArray) -> np.ndarray:
        """Boolean mask of the ε-tie set of each row of ``g`` (shape ``(m, n)``)."""
        absg = np.abs(g)
        gmax = np.max(absg, axis=1, keepdims=True)
        return (absg >= (1.0 - self.tie_tol) * gmax) & (gmax > 0)

    def direction(self, problem: Problem, x: FloatArray, g: FloatArray, state: Any) -> Direction:
        tie = self.tie_set(g)
        s = np.sign(g)
        size = np.count_nonzero(tie, axis=1)
        if self.tie == "vertex":
            v = lmo_rows(self.norm, g)
            v[size == 0] = 0.0
        elif self.tie == "equal":
            w = np.zeros_like(g)
            np.divide(tie, size[:, None], out=w, where=size[:, None] > 0)
            v = -s * w
        nonunique = np.zeros(g.shape[0], dtype=np.int64)
        if self.tie == "selection":
            v = np.zeros_like(g)
            for row in range(g.shape[0]):
                A = np.flatnonzero(tie[row])
                if A.size == 0:
                    continue
                sA = s[row, A]
                if A.size == 1:
                    weights = np.ones(1)
                else:
                    H = problem.hess(x[row])
                    M = sA[:, None] * H[np.ix_(A, A)] * sA[None, :]
                    sel = solve_simplex_vi(M, np.zeros(A.size))
                    weights = np.asarray(sel.lam, dtype=float)
                    # (a selection not proven unique -- for a singular tie block every
                    # split of some weights keeps the tie -- is not the flow's to choose
                    # silently; fz11. `unique` is a sufficient test (see
                    # `solve_simplex_vi`): "not known", not "several")
                    nonunique[row] = 0 if sel.unique else 1
                v[row, A] = -sA * weights
        breaks = (
            np.zeros(g.shape[0], dtype=np.int64)
            if state is None
            else np.count_nonzero(state & ~tie, axis=1)
        )
        return Direction(v, tie, {"tie_breaks": breaks, "tie_size": size, "nonunique": nonunique})
