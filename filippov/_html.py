"""Rich notebook display: ``_repr_html_`` of solutions, events and trajectories.

Jupyter shows an object by its ``_repr_html_`` when it has one. Ours is the summary table
(status, message, counts, the first and last segments and events) and, for a 2-D state, a
small inline SVG portrait of the path. Every piece of text that comes from the user or the
run (messages, names, notes, mode labels) goes through :func:`html.escape`; matplotlib is
imported only while a portrait is drawn, and a portrait that cannot be drawn (no matplotlib)
is left out rather than failing the display.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from filippov.schemes.trajectory import DiscreteTrajectory
    from filippov.solution import Event, FilippovSolution

__all__ = ["event_html", "solution_html", "trajectory_html"]

#: Rows shown of a long segment or event table (the first ones and the last ones).
MAX_ROWS = 12
_STYLE = "border-collapse:collapse;font-family:monospace;font-size:12px"
_CELL = "padding:1px 8px;text-align:left;border-bottom:1px solid #ddd"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float) -> str:
    return _e(f"{value:.12g}")


def _vec(x: np.ndarray, limit: int = 4) -> str:
    vals = [f"{v:.6g}" for v in np.asarray(x, dtype=float).ravel()[:limit]]
    more = ", …" if np.size(x) > limit else ""
    return _e("[" + ", ".join(vals) + "]") + more


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], caption: str) -> str:
    """An HTML table of already-escaped cells, with the middle of long tables elided."""
    head = "".join(f'<th style="{_CELL}">{_e(h)}</th>' for h in headers)
    shown: list[Sequence[str] | None] = list(rows)
    if len(rows) > MAX_ROWS:
        half = MAX_ROWS // 2
        shown = [*rows[:half], None, *rows[-half:]]
    body = []
    for row in shown:
        if row is None:
            gap = f"… {len(rows) - 2 * (MAX_ROWS // 2)} more rows …"
            body.append(f'<tr><td style="{_CELL}" colspan="{len(headers)}">{_e(gap)}</td></tr>')
        else:
            body.append("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in row) + "</tr>")
    return (
        f'<table style="{_STYLE}"><caption style="text-align:left">{_e(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _fields(items: Sequence[tuple[str, str]]) -> str:
    rows = "".join(
        f'<tr><th style="{_CELL}">{_e(k)}</th><td style="{_CELL}">{v}</td></tr>' for k, v in items
    )
    return f'<table style="{_STYLE}"><tbody>{rows}</tbody></table>'


def _portrait_svg(paths: Sequence[np.ndarray], marks: np.ndarray | None, title: str) -> str:
    """A small SVG of 2-D paths (and event marks), or ``""`` when matplotlib is missing."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        return ""
    # A Figure without pyplot: no global figure registry, no GUI backend touched.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "filippov"}):
        fig = Figure(figsize=(3.2, 3.0), dpi=72)
        ax = fig.add_subplot()
        for path in paths:
            ax.plot(path[:, 0], path[:, 1], lw=1.2)
            ax.plot(path[:1, 0], path[:1, 1], "o", ms=4, color="k")
        if marks is not None and len(marks):
            ax.plot(marks[:, 0], marks[:, 1], "x", ms=6, color="C3")
        ax.set_xlabel("x0")
        ax.set_ylabel("x1")
        ax.set_title(title, fontsize=9)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]  # drop the XML declaration and DOCTYPE


def _wrap(title: str, parts: Sequence[str]) -> str:
    inner = "".join(f'<div style="margin:4px 12px 4px 0">{p}</div>' for p in parts if p)
    return (
        f'<div class="filippov-repr"><strong>{_e(title)}</strong>'
        f'<div style="display:flex;flex-wrap:wrap;align-items:flex-start">{inner}</div></div>'
    )


def solution_html(sol: FilippovSolution) -> str:
    """The HTML display of a :class:`~filippov.solution.FilippovSolution`."""
    lo, hi = sol.t_span
    counts = ", ".join(f"{k} {v}" for k, v in sol.counts.items() if v) or "none"
    fields = _fields(
        [
            ("status", _e(f"{sol.status} ({'success' if sol.success else 'FAILURE'})")),
            ("message", _e(sol.message)),
            ("method", _e(sol.method or "-")),
            ("n", _e(sol.n)),
            ("t", f"[{_num(lo)}, {_num(hi)}]"),
            ("segments", _e(len(sol.segments))),
            ("events", _e(f"{len(sol.events)} ({counts})")),
            ("counters", _e(f"nfev {sol.nfev}, njev {sol.njev}, nlu {sol.nlu}")),
        ]
    )
    seg_rows = [
        [_e(i), _num(s.t0), _num(s.t1), _e(s.kind), _e(s.mode.label)]
        for i, s in enumerate(sol.segments)
    ]
    ev_rows = [
        [_e(i), _num(ev.t), _e(ev.kind), _e(",".join(map(str, ev.indices)) or "-"), _vec(ev.x)]
        for i, ev in enumerate(sol.events)
    ]
    parts = [fields]
    if sol.n == 2 and sol.segments:
        ts = np.unique(np.concatenate([np.linspace(lo, hi, 200), sol.t]))
        marks = np.array([ev.x for ev in sol.events]).reshape(-1, 2)
        parts.append(_portrait_svg([sol(ts)], marks, "path (x: events)"))
    tables = []
    if seg_rows:
        tables.append(
            _table(["#", "t0", "t1", "kind", "mode"], seg_rows, f"Segments ({len(seg_rows)})")
        )
    if ev_rows:
        tables.append(
            _table(["#", "t", "kind", "indices", "x"], ev_rows, f"Events ({len(ev_rows)})")
        )
    return _wrap("FilippovSolution", parts) + "".join(tables)


def event_html(ev: Event) -> str:
    """The HTML display of an :class:`~filippov.solution.Event`."""
    fields = _fields(
        [
            ("t", _num(ev.t)),
            ("kind", _e(ev.kind)),
            ("indices", _e(",".join(map(str, ev.indices)) or "-")),
            ("mode before", _e("-" if ev.mode_before is None else ev.mode_before.label)),
            ("mode after", _e("-" if ev.mode_after is None else ev.mode_after.label)),
            ("unique", _e("yes" if ev.unique else "NO")),
            ("x", _vec(ev.x, limit=8)),
            *([("note", _e(ev.note))] if ev.note else []),
        ]
    )
    return _wrap("Event", [fields])


def trajectory_html(traj: DiscreteTrajectory) -> str:
    """The HTML display of a :class:`~filippov.schemes.DiscreteTrajectory`."""
    t_end = np.atleast_1d(traj.t[-1])
    items = [
        ("status", _e(f"{traj.status} ({'success' if traj.success else 'FAILURE'})")),
        ("message", _e(traj.message)),
        ("scheme", _e(traj.metadata.get("scheme", "?"))),
        ("objective", _e(traj.metadata.get("objective", "?"))),
        ("steps", _e(f"{traj.n_steps} (saved {traj.x.shape[0]} iterates)")),
        ("shape", _e(f"x {traj.x.shape}")),
        ("flow time", _e(f"{float(t_end.min()):.6g} .. {float(t_end.max()):.6g}")),
    ]
    if "f" in traj.diagnostics:
        f = np.asarray(traj.diagnostics["f"])
        items.append(("f", _e(f"{float(np.min(f[0])):.6g} -> {float(np.min(f[-1])):.6g}")))
    for name in ("flips", "freezes", "two_hit", "restarts", "tie_breaks"):
        if name in traj.diagnostics:
            items.append((name, _e(f"{int(np.sum(traj.diagnostics[name]))} in total")))
    parts = [_fields(items)]
    if traj.n == 2:
        paths = [traj.x] if not traj.batched else [traj.x[:, j] for j in range(traj.x.shape[1])]
        parts.append(_portrait_svg(paths[:8], None, "iterates"))
    return _wrap("DiscreteTrajectory", parts)
