"""The fixed-width text of :meth:`FilippovSolution.summary <filippov.solution.FilippovSolution.summary>`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from filippov.solution.records import fmt_state, fmt_time

if TYPE_CHECKING:
    from filippov.solution.result import FilippovSolution

__all__ = ["summary_text"]


def summary_text(sol: FilippovSolution, max_rows: int) -> str:
    """The summary table of ``sol`` (``max_rows`` checked by the caller)."""
    lo, hi = sol.t_span
    outcome = "success" if sol.success else "FAILURE"
    nonzero = [f"{k} {v}" for k, v in sol.counts.items() if v]
    lines = [
        f"FilippovSolution: {outcome} (status {sol.status}): {sol.message}",
        f"  method: {sol.method or '-'}, n = {sol.n}, t in [{fmt_time(lo)}, {fmt_time(hi)}]",
        f"  counters: nfev {sol.nfev}, njev {sol.njev}, nlu {sol.nlu}, "
        f"selection solves {sol.n_selection_solves}",
        f"  events: {', '.join(nonzero) if nonzero else 'none'}",
        "",
    ]
    seg_rows = [
        [str(i), fmt_time(s.t0), fmt_time(s.t1), s.kind, s.mode.label, s._dense_label()]
        for i, s in enumerate(sol.segments)
    ]
    lines.append(f"Segments ({len(seg_rows)})")
    if seg_rows:
        lines += _table(
            ["#", "t0", "t1", "kind", "mode", "dense"],
            seg_rows,
            "rrrlll",
            max_rows,
            {1: 15, 2: 15, 3: 10},
        )
    ev_rows = [
        [
            str(i),
            fmt_time(e.t),
            e.kind,
            ", ".join(map(str, e.indices)) or "-",
            "yes" if e.unique else "NO",
            fmt_state(e.x),
            e.note,
        ]
        for i, e in enumerate(sol.events)
    ]
    lines.append("")
    lines.append(f"Events ({len(ev_rows)})")
    if ev_rows:
        headers = ["#", "t", "kind", "indices", "unique", "x", "note"]
        if not any(e.note for e in sol.events):
            headers, ev_rows = headers[:-1], [r[:-1] for r in ev_rows]
        lines += _table(headers, ev_rows, "rrlllll", max_rows, {1: 15, 2: 13})
    return "\n".join(line.rstrip() for line in lines)


def _table(
    headers: list[str],
    rows: list[list[str]],
    align: str,
    max_rows: int,
    min_widths: Mapping[int, int] | None = None,
) -> list[str]:
    """Fixed-width table lines (``align``: one 'l' or 'r' per column)."""
    if len(rows) > max_rows:
        head, tail = max_rows // 2, max_rows - max_rows // 2
        skipped = len(rows) - max_rows
        shown: list[list[str] | None] = [*rows[:head], None, *rows[-tail:]]
    else:
        skipped = 0
        shown = list(rows)
    widths = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(headers)]
    for j, w in (min_widths or {}).items():
        widths[j] = max(widths[j], w)

    def fmt(cells: list[str]) -> str:
        out = [
            c.rjust(w) if a == "r" else c.ljust(w)
            for c, w, a in zip(cells, widths, align, strict=False)
        ]
        return "  " + "  ".join(out)

    lines = [fmt(headers)]
    for row in shown:
        lines.append(
            f"  ... ({skipped} row{'s' if skipped > 1 else ''} omitted) ..."
            if row is None
            else fmt(row)
        )
    return lines
