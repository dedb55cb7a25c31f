"""The shared look of :mod:`filippov.plot`: palettes, style tables, gids and legends.

Styles encode the kind of every object twice, by colour *and* by line style or marker
shape, so that the figures read in grey (Paul Tol's "bright" and "vibrant" palettes,
distinguishable with colour-vision deficiencies). Every artist the drawing functions
leave carries a ``gid`` naming what it shows; :func:`artists` finds them by pattern.

Nothing here imports matplotlib at module level.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from filippov.plot._inputs import check_axes

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.patheffects import AbstractPathEffect

__all__ = [
    "EVENT_STYLES",
    "MANIFOLD_STYLES",
    "SEGMENT_STYLES",
    "Labeller",
    "add_legend",
    "artists",
    "halo",
    "line_style",
    "tag",
]

BLUE, RED, ORANGE, PURPLE, TEAL, GREY = (
    "#4477AA",
    "#CC3311",
    "#EE7733",
    "#AA3377",
    "#009988",
    "#888888",
)

#: Line styles of switching-manifold pieces by kind.
MANIFOLD_STYLES: dict[str, dict[str, Any]] = {
    "crossing": {"color": BLUE, "linestyle": "--", "linewidth": 1.6},
    "sliding": {"color": RED, "linestyle": "-", "linewidth": 3.2, "alpha": 0.85},
    "repulsive": {"color": ORANGE, "linestyle": ":", "linewidth": 3.2},
    "tangency": {"color": "black", "linestyle": "-.", "linewidth": 1.2},
}
#: Legend labels of the manifold kinds.
MANIFOLD_LABELS = {
    "crossing": "crossing manifold",
    "sliding": "sliding manifold (attractive)",
    "repulsive": "repulsive manifold (escaping)",
    "tangency": "tangential manifold",
}
#: Marker of a fold (tangency) point.
FOLD_STYLE: dict[str, Any] = {
    "marker": "D",
    "markersize": 7,
    "markerfacecolor": "white",
    "markeredgecolor": "black",
    "markeredgewidth": 1.4,
    "linestyle": "none",
}

#: Line styles of solution segments by segment kind ("stationary" segments have no length
#: and are shown by their event marker).
SEGMENT_STYLES: dict[str, dict[str, Any]] = {
    "regular": {"color": "#222222", "linestyle": "-", "linewidth": 1.5},
    "sliding": {"color": PURPLE, "linestyle": "-", "linewidth": 2.6},
    "tie": {"color": TEAL, "linestyle": "--", "linewidth": 2.6},
    "stationary": {"color": "#222222", "linestyle": "-", "linewidth": 1.5},
}
#: Legend labels of the segment kinds.
SEGMENT_LABELS = {
    "regular": "solution: regular segment",
    "sliding": "solution: sliding segment",
    "tie": "solution: tie-facet segment",
    "stationary": "solution: at rest",
}

#: Marker styles of events by kind (see :data:`filippov.solution.EVENT_KINDS`).
EVENT_STYLES: dict[str, dict[str, Any]] = {
    "crossing": {"marker": "o", "markersize": 6, "markerfacecolor": "white"},
    "sliding-entry": {"marker": "s", "markersize": 7, "markerfacecolor": PURPLE},
    "exit": {"marker": "^", "markersize": 8, "markerfacecolor": "white"},
    "repulsive": {"marker": "X", "markersize": 9, "markerfacecolor": ORANGE},
    "tangency": {"marker": "D", "markersize": 6, "markerfacecolor": "#DDDDDD"},
    "stationary": {"marker": "*", "markersize": 14, "markerfacecolor": "#EECC66"},
    "tie-entry": {"marker": "P", "markersize": 9, "markerfacecolor": TEAL},
    "tie-exit": {"marker": "v", "markersize": 8, "markerfacecolor": "white"},
    "accumulation": {"marker": "h", "markersize": 9, "markerfacecolor": "black"},
}
for _style in EVENT_STYLES.values():
    _style.update(markeredgecolor="black", markeredgewidth=1.1, linestyle="none")
del _style

#: Discrete iterates and convergence curves: colour and line style / marker cycle together.
RUN_COLORS = ("#0077BB", "#EE3377", "#009988", "#EE7733", "#33BBEE", "#BBBBBB", "#222222")
RUN_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)), (0, (1, 3)))
RUN_MARKERS = ("o", "s", "^", "v", "D", "P", "X")

#: Light fills of the regions of a piecewise system (Paul Tol's "light" palette).
REGION_COLORS = (
    "#77AADD",
    "#EE8866",
    "#EEDD88",
    "#FFAABB",
    "#99DDFF",
    "#44BB99",
    "#BBCC33",
    "#AAAA00",
)


def line_style(style: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``style`` updated by a user's ``Line2D`` keywords, aliases (``lw``, ``c``…) resolved.

    Examples
    --------
    >>> from filippov.plot.styles import line_style
    >>> line_style({"color": "black", "linewidth": 1.5}, {"lw": 3})
    {'color': 'black', 'linewidth': 3}
    """
    from matplotlib import cbook
    from matplotlib.lines import Line2D

    return {
        **cbook.normalize_kwargs(dict(style), Line2D),
        **cbook.normalize_kwargs(dict(overrides), Line2D),
    }


def halo(width: float) -> list[AbstractPathEffect]:
    """A white outline so that a line stays visible on top of a manifold of equal colour."""
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width + 2.2, foreground="white"), patheffects.Normal()]


def tag(artist: Artist, gid: str, label: str | None) -> None:
    """Give ``artist`` its gid and its legend label (none when ``label`` is None)."""
    artist.set_gid(gid)
    artist.set_label(label if label is not None else "_nolegend_")


class Labeller:
    """Give the legend label of a kind to its first artist only (no duplicate entries)."""

    def __init__(self, ax: Axes) -> None:
        self.seen = {h.get_label() for h in ax.get_legend_handles_labels()[0]}

    def __call__(self, label: str) -> str | None:
        if label in self.seen:
            return None
        self.seen.add(label)
        return label


def add_legend(ax: Axes, *, outside: bool = False) -> None:
    """A legend of what is labelled on ``ax`` (right of the axes with ``outside``)."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    if outside:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    else:
        ax.legend(handles, labels, loc="best", fontsize="x-small", framealpha=0.92)


def artists(ax: Axes, pattern: str = "*") -> list[Artist]:
    """The artists drawn by :mod:`filippov.plot` whose ``gid`` matches ``pattern`` (glob syntax).

    Parameters
    ----------
    ax : matplotlib Axes
        Axes drawn by one of the functions of :mod:`filippov.plot`.
    pattern : str, default "*"
        An :mod:`fnmatch` pattern, e.g. ``"manifold:sliding:*"``, ``"solution0:segment:*"``
        or ``"solution*:event:crossing"``.

    Returns
    -------
    list of Artist
        In drawing order.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import filippov as fp
    >>> from filippov import plot
    >>> from filippov.objectives import slope
    >>> system = fp.steepest_descent_flow(slope(0.5), norm="linf")
    >>> ax = plot.phase_portrait(system, (-4, 2), (-5, 1), field=False)
    >>> sorted({a.get_gid() for a in plot.artists(ax, "manifold:*")})
    ['manifold:sliding:0', 'manifold:sliding:1']
    """
    if ax is None:
        raise TypeError("`ax` must be a matplotlib Axes. Got NoneType instead.")
    check_axes(ax)
    if not isinstance(pattern, str):
        raise TypeError(f"`pattern` must be a string. Got {type(pattern).__name__} instead.")
    found = []
    for a in ax.get_children():
        gid = a.get_gid()
        if isinstance(gid, str) and fnmatch.fnmatchcase(gid, pattern):
            found.append(a)
    return found
