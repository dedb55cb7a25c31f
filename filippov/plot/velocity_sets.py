r"""The Filippov set at a point of a planar system, drawn in velocity coordinates.

:func:`filippov_set` shows the convex set the velocity is chosen from, its vertices (the
one-sided fields), the sliding velocity and the tangent lines it must lie on, and the
unit ball of the constraint norm of which the set is a face (seed paper 2, Figure 2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from filippov._validation import FloatArray, as_vector
from filippov.plot._inputs import axes_or_new, flag, optional_text
from filippov.plot.styles import BLUE, EVENT_STYLES, GREY, PURPLE, RED, Labeller, tag
from filippov.switching import require_planar
from filippov.systems import FilippovSystem

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = ["filippov_set"]


def _convex_polygon(points: FloatArray) -> FloatArray:
    """Vertices of the convex hull of planar points, counter-clockwise (monotone chain)."""
    pts = np.unique(np.round(points, 14), axis=0)
    if len(pts) <= 2:
        return pts
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    pts = pts[order]

    def cross(o: FloatArray, a: FloatArray, b: FloatArray) -> float:
        return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))

    lower: list[FloatArray] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[FloatArray] = []
    for p in pts[::-1]:
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.asarray(lower[:-1] + upper[:-1])


def _draw_set(ax: Axes, verts: FloatArray, gid: str, label: str | None, **style: Any) -> Any:
    from matplotlib.patches import Polygon

    hull = _convex_polygon(verts)
    if len(hull) >= 3:
        patch = Polygon(hull, closed=True, **style)
        ax.add_patch(patch)
        tag(patch, gid, label)
        return patch
    if len(hull) == 2:
        line = ax.plot(
            hull[:, 0],
            hull[:, 1],
            color=style.get("edgecolor", "black"),
            linewidth=6.0 if style.get("fill", True) else 1.6,
            linestyle=style.get("linestyle", "-"),
            alpha=0.5 if style.get("fill", True) else 1.0,
            solid_capstyle="round",
        )[0]
        tag(line, gid, label)
        return line
    mk = ax.plot(
        hull[:, 0],
        hull[:, 1],
        marker="o",
        markersize=10,
        color=style.get("edgecolor", "black"),
        linestyle="none",
    )[0]
    tag(mk, gid, label)
    return mk


def _arrow(ax: Axes, v: FloatArray, gid: str, label: str | None, **style: Any) -> Any:
    """An arrow from the origin to ``v``; its legend entry is a line proxy of its style."""
    from matplotlib.patches import FancyArrowPatch

    arrow = FancyArrowPatch((0.0, 0.0), (float(v[0]), float(v[1])), **style)
    ax.add_patch(arrow)
    tag(arrow, gid, None)
    if label is not None:
        proxy = ax.plot(
            [],
            [],
            color=style.get("color", "black"),
            linestyle=style.get("linestyle", "-"),
            linewidth=style.get("linewidth", 1.5),
            marker=">",
            markevery=[-1],
        )[0]
        tag(proxy, f"legend:{gid.split(':')[0]}", label)
    return arrow


NORM_TEX = {"l1": "$\\ell_1$", "linf": "$\\ell_\\infty$", "l2": "$\\ell_2$"}


def _unit_ball(name: str) -> FloatArray:
    if name == "l1":
        return np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    if name == "linf":
        return np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
    th = np.linspace(0.0, 2.0 * np.pi, 181)[:-1]
    return np.column_stack([np.cos(th), np.sin(th)])


def filippov_set(
    system: FilippovSystem,
    x: ArrayLike,
    *,
    ax: Axes | None = None,
    unit_ball: bool = True,
    tangents: bool = True,
    legend: bool = True,
    title: str | None = None,
    **kwargs: Any,
) -> Axes:
    r"""The Filippov set at a point of a planar system, in velocity coordinates.

    Shows (seed paper 2, Figure 2):

    * the **Filippov set** :meth:`FilippovSystem.filippov_set` — a point, a segment or a
      polygon (gid ``"filippov-set"``);
    * the **one-sided fields**: its vertices ``f0 − B v``, the limits of the field from the
      regions that meet at ``x`` (gids ``"one-sided:{k}"``);
    * the hull of *all* vertices of the relay face when it is larger (ℓ∞ ties where an
      index is active only at the point itself, Lemma 4.2; gid ``"velocity-hull"``);
    * the **sliding velocity** :meth:`FilippovSystem.consistent_velocity` (gid
      ``"sliding-velocity"``) and, for each switching function it keeps at zero, the
      tangent line ``{v : ∇s · v = 0}`` of that manifold through the origin (gids
      ``"tangent:{i}"``): the sliding velocity is where the set meets these lines;
    * for steepest-descent flows (``f0 = 0``, ``B = I``) the unit ball of the constraint
      norm, of which the Filippov set is a face (gid ``"unit-ball"``).

    Parameters
    ----------
    system : FilippovSystem
        A system with a 2-D state.
    x : array_like, shape (2,)
        The state.
    ax : Axes, optional
        Where to draw (a new figure when None).
    unit_ball : bool, default True
        Draw the constraint norm's unit ball for steepest-descent flows.
    tangents : bool, default True
        Draw the tangent lines of the manifolds the sliding velocity keeps.
    legend : bool, default True
    title : str, optional
    **kwargs
        Passed to the :class:`~matplotlib.patches.Polygon` of the Filippov set (gid
        ``"filippov-set"``; ``Patch`` properties such as ``facecolor``, ``hatch``,
        ``alpha``), over its default style. A set without interior (a segment or a
        point) is drawn as a line or a marker in its ``edgecolor`` instead.

    Returns
    -------
    Axes

    Examples
    --------
    On the tie facet ``|∂1 f| = |∂2 f|`` of the greedy (ℓ1-constrained) flow the Filippov
    set is the segment between ``−e1`` and ``−e2``:

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import filippov as fp
    >>> from filippov import plot
    >>> obj = fp.Objective.quadratic(np.diag([1.0, 2.0]))
    >>> ax = plot.filippov_set(fp.steepest_descent_flow(obj, "l1"), [1.0, 0.5], alpha=0.5)
    >>> plot.artists(ax, "filippov-set")[0].get_xydata().tolist()
    [[-1.0, 0.0], [0.0, -1.0]]
    """
    if not isinstance(system, FilippovSystem):
        raise TypeError(f"`system` must be a FilippovSystem. Got {type(system).__name__} instead.")
    xv = as_vector(x, "x")
    if xv.shape != (2,):
        raise ValueError(f"`x` must be a 2-D state. Got shape {xv.shape} instead.")
    unit_ball = flag(unit_ball, "unit_ball")
    tangents = flag(tangents, "tangents")
    legend = flag(legend, "legend")
    title = optional_text(title, "title")
    require_planar(system, xv)
    ax = axes_or_new(ax)
    lab = Labeller(ax)
    fset = system.filippov_set(xv)
    vset = system.velocity_set(xv)
    cv = system.consistent_velocity(xv)
    points = [np.zeros((1, 2)), fset.vertices, vset.vertices, cv.velocity[None, :]]

    f0, B, _ = system.evaluate(xv)
    gradient_flow = not np.any(f0) and np.array_equal(B, np.eye(2))
    if unit_ball and gradient_flow:
        ball = _unit_ball(system.norm.dual.name)
        _draw_set(
            ax,
            ball,
            "unit-ball",
            lab(f"unit ball ({NORM_TEX[system.norm.dual.name]})"),
            fill=False,
            edgecolor=GREY,
            linestyle=":",
            linewidth=1.2,
        )
        points.append(ball)

    if len(_convex_polygon(vset.vertices)) > len(_convex_polygon(fset.vertices)):
        _draw_set(
            ax,
            vset.vertices,
            "velocity-hull",
            lab("hull of face vertices"),
            fill=False,
            edgecolor="black",
            linestyle="--",
            linewidth=1.2,
        )
    _draw_set(
        ax,
        fset.vertices,
        "filippov-set",
        lab("Filippov set $F(x)$"),
        **{"facecolor": "#BBCCEE", "edgecolor": BLUE, "linewidth": 1.5, "alpha": 0.9, **kwargs},
    )
    many = len(fset.vertices) > 8  # a sampled ball: every boundary point is a limit
    for k, v in enumerate([] if many else fset.vertices):
        _arrow(
            ax,
            v,
            f"one-sided:{k}",
            lab("one-sided fields"),
            arrowstyle="-|>",
            mutation_scale=14,
            color=BLUE,
            linewidth=1.4,
            linestyle="--",
            zorder=4,
        )

    J = system.jacobian(xv)
    if tangents and cv.free:
        extent = 1.3 * max(1.0, float(np.max(np.abs(np.vstack(points)))))
        normals: list[tuple[str, FloatArray]] = []
        if system.norm.name == "l1":
            normals = [(str(i), J[i]) for i in cv.free]
        elif system.norm.name == "linf" and len(cv.free) >= 2:
            s = np.sign(cv.lam)
            i0 = cv.free[0]
            normals = [(f"{i0},{i}", s[i0] * J[i0] - s[i] * J[i]) for i in cv.free[1:]]
        for text, nvec in normals:
            if not np.any(nvec):
                continue
            tvec = np.array([-nvec[1], nvec[0]]) / np.linalg.norm(nvec)
            seg = np.vstack([-extent * tvec, extent * tvec])
            line = ax.plot(
                seg[:, 0], seg[:, 1], color=RED, linestyle="-.", linewidth=1.0, zorder=2
            )[0]
            tag(line, f"tangent:{text}", lab("manifold tangent"))

    if np.linalg.norm(cv.velocity) > 1e-12 * max(1.0, float(np.max(np.abs(fset.vertices)))):
        _arrow(
            ax,
            cv.velocity,
            "sliding-velocity",
            lab("sliding velocity" if cv.free else "velocity"),
            arrowstyle="-|>",
            mutation_scale=20,
            color=PURPLE,
            linewidth=2.6,
            zorder=6,
        )
    else:
        rest = ax.plot([0.0], [0.0], **{**EVENT_STYLES["stationary"], "markersize": 16}, zorder=6)[
            0
        ]
        tag(rest, "sliding-velocity", lab("velocity 0 (at rest)"))
    origin = ax.plot([0.0], [0.0], marker="o", color="black", markersize=4, linestyle="none")[0]
    tag(origin, "origin", None)

    allpts = np.vstack(points)
    lo, hi = allpts.min(axis=0), allpts.max(axis=0)
    half = 0.5 * 1.3 * max(float(np.max(hi - lo)), 1e-9)
    mid = 0.5 * (lo + hi)
    ax.set_xlim(mid[0] - half, mid[0] + half)
    # headroom for the legend, so that it never hides the set
    ax.set_ylim(mid[1] - half, mid[1] + half * (1.65 if legend else 1.0))
    ax.set_aspect("equal", adjustable="box")
    ax.axhline(0.0, color="#DDDDDD", linewidth=0.6, zorder=0)
    ax.axvline(0.0, color="#DDDDDD", linewidth=0.6, zorder=0)
    ax.set_xlabel("velocity $\\dot x_1$")
    ax.set_ylabel("velocity $\\dot x_2$")
    if title is None:
        title = f"Filippov set at $x = ({xv[0]:.3g}, {xv[1]:.3g})$"
    ax.set_title(title)
    if legend:
        ax.legend(loc="upper center", ncol=2, fontsize="x-small", framealpha=0.92)
    return ax
