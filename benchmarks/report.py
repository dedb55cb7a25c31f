"""Write a run's results: JSON (every figure), a markdown table and a work-precision plot."""

from __future__ import annotations

import json
import math
import os
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["markdown", "plot_work_precision", "write"]


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(type(o).__name__)


def _clean(o: Any) -> Any:
    """Replace non-finite floats by strings so the JSON stays standard."""
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, float) and not math.isfinite(o):
        return str(o)
    return o


def _fmt_err(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    return "0" if x == 0 else f"{x:.1e}"


def _fmt_wall(x: Any) -> str:
    if x is None:
        return "—"
    return f"{x:.4f}" if x < 1 else f"{x:.2f}"


def _counters(r: dict[str, Any]) -> str:
    c = r.get("counters") or {}
    parts = []
    for key in ("events", "steps", "nfev", "newton", "fesd_steps"):
        if c.get(key):
            parts.append(f"{key} {c[key]}")
    return ", ".join(parts)


def markdown(result: dict[str, Any]) -> str:
    """The human-readable report."""
    m = result["machine"]
    cfg = result["config"]
    lines = [
        f"# filippov benchmarks ({'quick' if cfg['quick'] else 'full'} run)",
        "",
        f"Machine: {m['processor']}, {m['cpus']} CPUs, {m['platform']}; Python {m['python']}, "
        f"numpy {m['numpy']}, scipy {m['scipy']}; BLAS threads {m['blas_threads']}; "
        f"load average at start {tuple(round(x, 2) for x in m['load_average_at_start'])}, "
        f"at end {tuple(round(x, 2) for x in m.get('load_average_at_end', (0, 0, 0)))}.",
        f"Siconos: {m['siconos']}. nosnoc: {m['nosnoc']} (casadi {m['casadi']}).",
        f"Wall-clock cap per run {cfg['cap']:g} s; medians of ≥ {cfg['repeats']} runs for every "
        "method that finishes (cases under 1 s: one untimed warm-up run, then 5; a capped or "
        "failed run is recorded once). Errors: max over the "
        "method's output times of ‖x(t) − x_ref(t)‖∞ (`max err`) and at T (`final err`).",
        f"Total time of this run: {result.get('total_wall', 0):.0f} s.",
        "",
    ]
    if result.get("targets"):
        lines += ["## Targets", "", "| target | met | measured |", "|---|---|---|"]
        for t in result["targets"]:
            met = "yes" if t["met"] else ("no" if t["met"] is False else "?")
            lines.append(f"| {t['target']} | {met} | {t['measured']} |")
        lines.append("")
    lines += ["## Methods side by side", ""]
    for name, info in result["problems"].items():
        ref = info["reference"]
        extra = ""
        if "self_check" in ref:
            extra = (
                f"; its own error ≤ {ref['self_check']:.1e} (vs the direct-selection exact path)"
            )
        lines += [
            f"### {name}: {info['description']}",
            "",
            f"n = {info['n']}, T = {info['T']:g}; reference: {ref['how']}{extra}.",
            "",
            "| method | status | runs | median wall [s] | max err | final err | counts | note |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in result["rows"]:
            if r["problem"] != name:
                continue
            err = _fmt_err(r.get("max_err"))
            if r["status"] != "ok" and r.get("max_err") is not None and r.get("t_reached"):
                err += f" (to t = {r['t_reached']:.3g} only)"
            lines.append(
                f"| {r['method']} | {r['status']} | {r.get('runs', 0)} | {_fmt_wall(r.get('wall'))} "
                f"| {err} | {_fmt_err(r.get('final_err'))} | {_counters(r)} "
                f"| {r.get('reason', '')} |"
            )
        if "extrapolation" in info:
            e = info["extrapolation"]
            if "error" in e:
                lines += ["", f"Extrapolation failed: {e['error']}"]
            else:
                lines += [
                    "",
                    "Implicit Euler at h = "
                    + ", ".join(f"{h:g}" for h in e["h"])
                    + " has errors "
                    + ", ".join(f"{x:.1e}" for x in e["ie_err_vs_ref"])
                    + " (O(h)); its Richardson limits differ by "
                    + f"{e['extrapolation_spread']:.1e}. Event path (default tolerances) vs the limit: "
                    + f"{e['events_default_vs_limit']:.1e}; tight event path vs the limit: "
                    + f"{e['events_tight_vs_limit']:.1e}; default vs tight: "
                    + f"{e['events_default_vs_tight']:.1e}.",
                ]
        lines.append("")
    sc = result.get("scaling")
    if sc:
        f = sc["fit"]
        lines += [
            "## Scaling of the exact path (sign flow, rotated quadratics, to the minimizer)",
            "",
            "| d | median wall [s] | events | ms / event | largest sliding set |",
            "|---|---|---|---|---|",
        ]
        for r in sc["rows"]:
            lines.append(
                f"| {r['d']} | {_fmt_wall(r['wall'])} | {r['events']} | {r['per_event_ms']:.3f} "
                f"| {r['max_sliding']} |"
            )
        lines += [
            "",
            f"Fitted exponents: time ∝ d^{f['time_exponent']:.2f} (d ≥ 200: "
            f"d^{f['time_exponent_d>=200']:.2f}), events ∝ d^{f['events_exponent']:.2f}, "
            f"time per event ∝ d^{f['per_event_exponent']:.2f}.",
        ]
        rss = sc.get("peak_rss", {})
        if "rss_peak_mb" in rss:
            lines.append(
                f"Peak RSS at d = {rss['d']} (fresh process): {rss['rss_peak_mb']:.0f} MB, of which "
                f"{rss['rss_before_solve_mb']:.0f} MB before the solve (interpreter, problem set-up); "
                f"tracemalloc peak during the solve {rss['tracemalloc_peak_mb']:.0f} MB, "
                f"solution kept {rss['retained_solution_mb']:.0f} MB ({rss['events']} events)."
            )
        elif rss:
            lines.append(f"Peak RSS measurement failed: {rss.get('error')}")
        lines.append("")
    sch = result.get("schemes")
    if sch:
        lines += ["## Discrete schemes (issue 6)", ""]
        if "error" in sch:
            lines.append(sch["error"])
        else:
            lines += ["| case | median wall [s] |", "|---|---|"]
            for k, v in sch.items():
                lines.append(f"| {k} | {_fmt_wall(v['wall'])} |")
        lines.append("")
    return "\n".join(lines)


def plot_work_precision(result: dict[str, Any], path: Path) -> Path | None:
    """Error against wall time, log-log, one panel per problem, one marker per method.

    Colours follow the method family and markers the variant, so the shared legend names
    every point and the panels need no labels of their own (they overlapped in crowded
    panels). Runs that did not finish or failed are listed under their panel; those that
    still measured an error on the part they computed are drawn hollow at that error.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullFormatter

    names = list(result["problems"])
    if not names:
        return None
    ncol = min(3, len(names))
    nrow = math.ceil(len(names) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.4 * ncol, 4.6 * nrow), squeeze=False)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = "osD^vP*Xh<>"
    fam_color: dict[str, str] = {}
    style: dict[str, tuple[str, str]] = {}  # method -> (colour, marker), in table order
    fam_count: dict[str, int] = {}
    for r in result["rows"]:
        fam, meth = r["family"], r["method"]
        if meth in style:
            continue
        col = fam_color.setdefault(fam, palette[len(fam_color) % len(palette)])
        k = fam_count.get(fam, 0)
        fam_count[fam] = k + 1
        style[meth] = (col, markers[k % len(markers)])
    floor = 1e-16
    used: set[str] = set()
    for ax, name in zip(axes.ravel(), names, strict=False):
        rows = [r for r in result["rows"] if r["problem"] == name and r.get("wall") is not None]
        fams: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            fams.setdefault(r["family"], []).append(r)
        unfinished: list[tuple[str, str]] = []
        for fam, rs in fams.items():
            done = sorted(
                (r for r in rs if r["status"] == "ok" and r.get("max_err") is not None),
                key=lambda r: r["wall"],
            )
            if len(done) > 1:
                ax.plot(
                    [r["wall"] for r in done],
                    [max(r["max_err"], floor) for r in done],
                    "-",
                    color=fam_color[fam],
                    lw=0.8,
                    alpha=0.6,
                )
            for r in rs:
                col, mk = style[r["method"]]
                raw_err = r.get("max_err")
                err = math.nan if raw_err is None else float(raw_err)
                has_err = math.isfinite(err)
                if r["status"] == "ok" and has_err:
                    ax.plot([r["wall"]], [max(err, floor)], mk, color=col, ms=6)
                    used.add(r["method"])
                    continue
                if r["status"] == "ok":
                    continue
                unfinished.append((r["method"], r["status"]))
                if has_err:
                    ax.plot([r["wall"]], [max(err, floor)], mk, color=col, ms=6, mfc="none")
                    used.add(r["method"])
        if unfinished:
            # Below the axes, not inside them: a box there hid points in crowded panels.
            by_status: dict[str, list[str]] = {}
            for meth, status in unfinished:
                by_status.setdefault(status, []).append(meth)
            text = "; ".join(f"{st}: {', '.join(ms)}" for st, ms in by_status.items())
            ax.annotate(
                textwrap.fill(text, 95),
                xy=(0.5, -0.2),
                xycoords="axes fraction",
                ha="center",
                va="top",
                fontsize=6,
                color="0.25",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collided on short ranges
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("wall time [s]")
        ax.set_ylabel("max error vs reference")
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    handles = [
        Line2D([], [], ls="", marker=mk, color=col, label=meth)
        for meth, (col, mk) in style.items()
        if meth in used
    ]
    fig.legend(handles=handles, loc="lower center", ncol=min(5, len(handles)), fontsize=7.5)
    fig.suptitle(
        "Work-precision: error against wall time (hollow: did not finish or failed, error on "
        "the part computed; errors below 1e-16 drawn at 1e-16)"
    )
    nleg = math.ceil(len(handles) / 5)
    fig.tight_layout(rect=(0, 0.02 + 0.022 * nleg, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(result: dict[str, Any], out_dir: Path, name: str) -> dict[str, Path]:
    """Write ``<name>.json``, ``<name>.md`` and ``<name>.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / f"{name}.json",
        "md": out_dir / f"{name}.md",
        "png": out_dir / f"{name}.png",
    }
    tmp = paths["json"].with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_clean(result), indent=1, default=_json_default))
    os.replace(tmp, paths["json"])
    paths["md"].write_text(markdown(result) + f"\n![work-precision]({paths['png'].name})\n")
    plot_work_precision(result, paths["png"])
    return paths
