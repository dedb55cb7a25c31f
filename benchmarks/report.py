"""Write a run's results: JSON (every figure), a markdown table and a work-precision plot."""

from __future__ import annotations

import json
import math
import os
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
        "method that finishes (a capped or failed run is recorded once). Errors: max over the "
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
    """Error against wall time, log-log, one panel per problem, one line per method family."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result["problems"])
    if not names:
        return None
    ncol = min(3, len(names))
    nrow = math.ceil(len(names) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 4.0 * nrow), squeeze=False)
    colors: dict[str, str] = {}
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    floor = 1e-16
    for ax, name in zip(axes.ravel(), names, strict=False):
        rows = [r for r in result["rows"] if r["problem"] == name and r.get("wall") is not None]
        fams: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            fams.setdefault(r["family"], []).append(r)
        for fam, rs in fams.items():
            col = colors.setdefault(fam, palette[len(colors) % len(palette)])
            done = sorted(
                (r for r in rs if r["status"] == "ok" and r.get("max_err") is not None),
                key=lambda r: r["wall"],
            )
            if done:
                ax.plot(
                    [r["wall"] for r in done],
                    [max(r["max_err"], floor) for r in done],
                    "o-",
                    color=col,
                    label=fam,
                )
                for r in done:
                    ax.annotate(
                        r["method"].replace(fam, "").strip() or r["method"],
                        (r["wall"], max(r["max_err"], floor)),
                        fontsize=6,
                        xytext=(3, 3),
                        textcoords="offset points",
                    )
            for r in rs:
                if r["status"] != "ok":
                    y = r.get("max_err")
                    y = 1.0 if y is None or not math.isfinite(y) else max(y, floor)
                    ax.plot([r["wall"]], [y], "x", color=col, ms=9)
                    ax.annotate(
                        f"{r['method']}: {r['status']}",
                        (r["wall"], y),
                        fontsize=6,
                        xytext=(3, -8),
                        textcoords="offset points",
                    )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("wall time [s]")
        ax.set_ylabel("max error vs reference")
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.ravel():
        for hnd, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(hnd)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8)
    fig.suptitle("Work-precision: error against wall time (x = did not finish / failed)")
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
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
