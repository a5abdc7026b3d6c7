"""One point, run where a worker runs it: a local process or a Ray task.

:func:`run_point` never raises for a failing workload: a fault of the guest, an
exhausted instruction budget or a bad argument becomes the point's error record, so
the sweep goes on. (A crash of the worker process itself, or a timeout, is recorded
by the executor, which watches from outside.)
"""
from __future__ import annotations

from typing import Any

from rvai.sweep.spec import Point
from rvai.sweep.workloads import run_workload

__all__ = ["run_point", "metrics_of", "CORE_METRICS"]

#: Metrics every row keeps (the figures need them); a sweep's ``metrics`` adds others,
#: by name or pattern over the Profile's flattened ``to_dict`` (``class_counts.*``...).
CORE_METRICS = (
    "cycles", "instret", "ipc", "flops", "flops_per_cycle", "bytes_loaded", "bytes_stored",
    "bytes_per_cycle", "dram_bytes.*", "dram_bytes_per_cycle", "peak_flops_per_cycle_f32",
    "peak_dram_bytes_per_cycle", "stalls.*", "caches.*", "vector.utilisation", "bounds.*",
)
# Profile fields that are not measurements of the point (or are lists).
_NOT_METRICS = ("target", "vlen", "hot_pcs")


def _flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        elif isinstance(value, (int, float)):
            out[name] = value
    return out


# Figures that are ratios of counters, recomputed from the summed counters.
_RATIOS = {
    "ipc": (("instret",), "cycles"),
    "flops_per_cycle": (("flops",), "cycles"),
    "bytes_per_cycle": (("bytes_loaded", "bytes_stored"), "cycles"),
    "dram_bytes_per_cycle": (("dram_bytes.read", "dram_bytes.written"), "cycles"),
    "vector.utilisation": (("vector.active_elements",), "vector.vlmax_elements"),
}


def _summed(parts: list[tuple[dict, float]]) -> dict[str, Any]:
    """Flattened profiles of several runs (each with a weight) as one: counters
    summed times their weights, peaks kept, ``bounds.*`` averaged over cycles, ratios
    recomputed from the sums."""
    if len(parts) == 1 and parts[0][1] == 1:
        return parts[0][0]
    keys = list(dict.fromkeys(k for flat, _ in parts for k in flat))
    out: dict[str, Any] = {}
    cycles = sum(flat["cycles"] * w for flat, w in parts)
    for key in keys:
        if key.startswith("peak_"):
            out[key] = parts[0][0][key]
        elif key.startswith("bounds."):
            out[key] = sum(flat.get(key, 0) * flat["cycles"] * w for flat, w in parts) / cycles if cycles else 0.0
        elif key in _RATIOS:
            nums, den = _RATIOS[key]
            total = sum(flat.get(den, 0) * w for flat, w in parts)
            out[key] = sum(flat.get(n, 0) * w for flat, w in parts for n in nums) / total if total else 0.0
        else:
            out[key] = sum(flat.get(key, 0) * w for flat, w in parts)
    return out


def metrics_of(runs, patterns: tuple[str, ...] = ()) -> dict[str, Any]:
    """The figures of ``runs`` -- a Profile, or a list of (Profile, weight) pairs
    summed as one workload -- whose dotted names match :data:`CORE_METRICS` or
    ``patterns`` (shell-style), in the Profile's own order."""
    from fnmatch import fnmatchcase
    runs = [(runs, 1)] if not isinstance(runs, list) else runs
    if not runs:
        raise ValueError("the workload ran no kernel")
    # whole weights stay integers, so counters of unsampled runs stay whole in the table
    flat = _summed([(_flatten({k: v for k, v in p.to_dict().items() if k not in _NOT_METRICS}),
                     int(w) if float(w).is_integer() else w) for p, w in runs])
    wanted = CORE_METRICS + tuple(patterns)
    return {k: v for k, v in flat.items() if any(fnmatchcase(k, p) for p in wanted)}


def run_point(point: Point, patterns: tuple[str, ...] = ()) -> dict:
    """Run ``point`` and return its record: status ``ok`` with metrics, or ``error``."""
    from rvai.target import Target
    if point.error:
        return point.record("error", point.error)
    try:
        runs = run_workload(point.workload, Target.from_dict(point.target), point.budget)
        metrics = metrics_of(runs, patterns)
    except Exception as exc:   # any failure of this point is this point's result
        return point.record("error", f"{type(exc).__name__}: {exc}")
    return point.record("ok", metrics=metrics)
