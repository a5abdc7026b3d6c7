"""The figures of a sweep, drawn from its results.csv and sweep.json alone.

* ``cycles_vs_<param>.png``: cycles against each swept parameter, one panel per
  workload, one line per setting of the other parameters (by their choices, so a
  derived ``model.dlen = "=vlen/2"`` is one line across VLENs).
* ``pareto.png``: cycles against the sweep's cost proxy, with the Pareto front (no
  configuration is both cheaper and faster) drawn and labelled; with several
  workloads a last panel ranks configurations by their geometric-mean slowdown.
* ``roofline.png``: FLOP/cycle against FLOPs per DRAM byte, under each distinct
  machine's compute and DRAM roofs.

Needs matplotlib (``pip install 'rvai[plot]'``); nothing else in rvai.sweep does.
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

from rvai.sweep.results import read_table

__all__ = ["draw", "pareto_front", "config_choices"]


def config_choices(config: str) -> dict[str, str]:
    """``"vlen=256; model.dlen=vlen/2"`` as ``{"vlen": "256", "model.dlen": "vlen/2"}``."""
    return dict(part.split("=", 1) for part in config.split("; ") if part)


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indexes of the (cost, time) pairs no other pair beats on both (lower is
    better), by increasing cost."""
    order = sorted(range(len(points)), key=lambda i: points[i])
    front, best = [], math.inf
    for i in order:
        if points[i][1] < best:
            front.append(i)
            best = points[i][1]
    return front


def _natural(label: str) -> tuple:
    """Sort key putting numeric choice labels in numeric order (128 before 1024)."""
    try:
        return (0, float(label), "")
    except ValueError:
        return (1, 0.0, label)


def _short(config: str) -> str:
    """A configuration label with each path cut to its last part."""
    return " ".join(f"{p.rsplit('.', 1)[-1]}={v}" for p, v in config_choices(config).items())


def _grid(plt, n: int, title: str, cols: int = 3, width: float = 5.2):
    cols = min(n, cols)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, 3.8 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    fig.suptitle(title)
    return fig, list(axes.flat)


def _log2_if_wide(ax, values) -> None:
    nums = [v for v in values if isinstance(v, (int, float))]
    if nums and min(nums) > 0 and max(nums) / min(nums) >= 4:
        ax.set_xscale("log", base=2)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return path


def _metric_vs_params(plt, ok, params, workloads, name, out: Path) -> list[Path]:
    paths = []
    for param in params:
        others = [p for p in params if p != param]
        fig, axes = _grid(plt, len(workloads), f"{name}: cycles against {param}")
        for ax, wl in zip(axes, workloads):
            lines = defaultdict(list)
            for r in ok:
                if r["workload"] == wl:
                    choice = config_choices(r["config"])
                    lines[tuple(choice.get(p, "") for p in others)].append((r[param], r["cycles"]))
            numeric = all(isinstance(x, (int, float)) for pts in lines.values() for x, _ in pts)
            for group, pts in sorted(lines.items(), key=lambda kv: [_natural(g) for g in kv[0]]):
                pts.sort(key=lambda xy: xy[0] if numeric else str(xy[0]))
                xs = [x if numeric else str(x) for x, _ in pts]
                label = ", ".join(f"{p.rsplit('.', 1)[-1]}={g}" for p, g in zip(others, group))
                ax.plot(xs, [y for _, y in pts], marker="o", label=label or None)
            if numeric:
                _log2_if_wide(ax, [x for pts in lines.values() for x, _ in pts])
            ax.set_title(wl)
            ax.set_xlabel(param)
            ax.set_ylabel("cycles")
            if others and lines:
                ax.legend(fontsize=6)
        paths.append(_save(fig, out / f"cycles_vs_{param.replace('.', '_')}.png"))
        plt.close(fig)
    return paths


def _pareto(plt, ok, workloads, manifest, out: Path) -> list[Path]:
    cost_label = manifest.get("cost_label") or "cost"
    by_config = defaultdict(dict)
    cost = {}
    for r in ok:
        by_config[r["config"]][r["workload"]] = r["cycles"]
        cost[r["config"]] = r["cost"]
    panels = [(wl, {c: v[wl] for c, v in by_config.items() if wl in v}) for wl in workloads]
    complete = {c: v for c, v in by_config.items() if len(v) == len(workloads)}
    if len(workloads) > 1 and complete:
        best = {wl: min(v[wl] for v in complete.values()) for wl in workloads}
        panels.append(("all workloads: geomean slowdown vs best", {
            c: math.exp(sum(math.log(v[wl] / best[wl]) for wl in workloads) / len(workloads))
            for c, v in complete.items()}))
    fig, axes = _grid(plt, len(panels), f"{manifest.get('name', '')}: performance against {cost_label}",
                      cols=2, width=8.5)
    for ax, (title, values) in zip(axes, panels):
        configs = sorted(values)
        pts = [(cost[c], values[c]) for c in configs]
        ax.scatter([x for x, _ in pts], [y for _, y in pts], color="0.6", s=14, label="configurations")
        front = pareto_front(pts)
        ax.step([pts[i][0] for i in front], [pts[i][1] for i in front], where="post",
                color="tab:red", marker="o", label="Pareto front")
        # Numbers on the front, their configurations listed beside: labels would overlap.
        for n, i in enumerate(front, 1):
            ax.annotate(str(n), pts[i], fontsize=6, xytext=(3, 3), textcoords="offset points")
        ax.text(1.02, 1.0, "\n".join(f"{n}: {_short(configs[i])}" for n, i in enumerate(front, 1)),
                transform=ax.transAxes, fontsize=5.5, va="top", family="monospace")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(cost_label, fontsize=8)
        ax.set_ylabel("cycles" if not title.startswith("all") else "slowdown (1 = best)")
        ax.legend(fontsize=6)
    path = _save(fig, out / "pareto.png")
    plt.close(fig)
    return [path]


def _roofline(plt, ok, workloads, name, out: Path) -> list[Path]:
    fig, ax = plt.subplots(figsize=(7, 5))
    roofs = sorted({(r["peak_flops_per_cycle_f32"], r["peak_dram_bytes_per_cycle"]) for r in ok})
    shown = []
    for i, wl in enumerate(workloads):
        pts = [(r["flops"] / dram, r["flops_per_cycle"]) for r in ok if r["workload"] == wl
               and (dram := (r["dram_bytes.read"] or 0) + (r["dram_bytes.written"] or 0)) > 0
               and r["flops"]]
        shown += pts
        if pts:
            ax.scatter([x for x, _ in pts], [y for _, y in pts], s=16, color=f"C{i}", label=wl, zorder=3)
    if shown:
        lo = min(x for x, _ in shown) / 4
        hi = max(max(x for x, _ in shown) * 4, max(f / b for f, b in roofs) * 4)
        xs = [lo * (hi / lo) ** (k / 200) for k in range(201)]
        for f, b in roofs:
            ax.plot(xs, [min(f, b * x) for x in xs], color="0.3", lw=0.8, ls="--")
            ax.annotate(f"{f:g} FLOP/c, {b:g} B/c", (hi, f), fontsize=6, ha="right", va="bottom")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
    skipped = sum(1 for r in ok if r["flops"]) - len(shown)
    ax.set_title(f"{name}: roofline (f32 peak; DRAM)" + (f", {skipped} points without DRAM traffic"
                                                       if skipped else ""), fontsize=9)
    ax.set_xlabel("FLOPs per DRAM byte")
    ax.set_ylabel("FLOP / cycle")
    ax.legend(fontsize=7)
    path = _save(fig, out / "roofline.png")
    plt.close(fig)
    return [path]


def draw(folder: str | Path) -> list[Path]:
    """Draw the figures of the sweep in ``folder`` from its results; returns their paths."""
    try:
        import matplotlib
        matplotlib.use("Agg")   # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("the figures need matplotlib: pip install 'rvai[plot]'") from None
    folder = Path(folder)
    manifest = json.loads((folder / "sweep.json").read_text())
    rows = read_table(folder)
    ok = [r for r in rows if r["status"] == "ok"]
    workloads = [w for w in manifest["workloads"] if any(r["workload"] == w for r in ok)]
    name = manifest.get("name", folder.name)
    if not ok:
        return []
    paths = _metric_vs_params(plt, ok, manifest["params"], workloads, name, folder)
    if manifest.get("cost"):
        paths += _pareto(plt, ok, workloads, manifest, folder)
    paths += _roofline(plt, ok, workloads, name, folder)
    return paths
