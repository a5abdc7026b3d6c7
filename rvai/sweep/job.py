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


def metrics_of(profile, patterns: tuple[str, ...] = ()) -> dict[str, Any]:
    """The Profile's figures whose dotted names match :data:`CORE_METRICS` or
    ``patterns`` (shell-style), in the Profile's own order."""
    from fnmatch import fnmatchcase
    wanted = CORE_METRICS + tuple(patterns)
    flat = _flatten({k: v for k, v in profile.to_dict().items() if k not in _NOT_METRICS})
    return {k: v for k, v in flat.items() if any(fnmatchcase(k, p) for p in wanted)}


def run_point(point: Point, patterns: tuple[str, ...] = ()) -> dict:
    """Run ``point`` and return its record: status ``ok`` with metrics, or ``error``."""
    from rvai.target import Target
    if point.error:
        return point.record("error", point.error)
    try:
        profile = run_workload(point.workload, Target.from_dict(point.target), point.budget)
    except Exception as exc:   # any failure of this point is this point's result
        return point.record("error", f"{type(exc).__name__}: {exc}")
    return point.record("ok", metrics=metrics_of(profile, patterns))
