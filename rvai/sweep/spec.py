"""Sweep files: what to vary, what to run, and the points that makes.

A sweep file is TOML (docs/sweeps.md has the full walk-through)::

    name = "vlen-dlen-l2"           # titles the figures (default: the file's stem)
    base = "generic"                # a target preset, or a target TOML file
    cost = "vlen + 4 * model.dlen"  # optional cost proxy for the Pareto figure
    timeout = 300                   # optional, seconds per point
    budget = 2_000_000_000          # optional, guest instructions per point

    [params]                        # dotted paths into the Target's TOML data
    vlen = [128, 256, 512, 1024]
    "model.dlen" = ["=vlen/2", "=vlen"]              # '=' : derived from the point
    "model.l2_size" = { start = 65536, stop = 262144, factor = 4 }

    [[workload]]
    name = "gemm"
    kind = "op"                     # see rvai.sweep.workloads.KINDS
    op = "matmul"
    shapes = [[64, 64], [64, 64]]

Every combination of the parameters is a configuration, and every (configuration,
workload) pair a :class:`Point`: a self-contained job that a worker process or a Ray
task runs alone. A point's key hashes its machine description, its workload and the
rvai build, so finished points are recognised on a rerun.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import tomllib
from pathlib import Path
from typing import Any

from rvai.sweep import expr
from rvai.sweep.workloads import KINDS, check_workload
from rvai.target import Target

__all__ = ["Sweep", "Point", "load", "build_fingerprint"]

_TOP_KEYS = {"name", "base", "cost", "cost_label", "metrics", "timeout", "budget", "params", "workload"}


@dataclasses.dataclass(frozen=True)
class Point:
    """One (configuration, workload) job; plain data, so it travels to any worker.

    ``params`` holds the swept values, ``config`` labels the configuration by its
    choices (``"vlen=256; model.dlen=vlen/2"``), ``target`` is the full machine
    description as TOML data, ``error`` is set when that description is invalid (the
    point is then recorded as an error without running).
    """

    index: int
    key: str
    config: str
    params: dict[str, Any]
    target: dict[str, Any]
    workload: dict[str, Any]
    cost: float | None
    budget: int | None
    timeout: float | None
    error: str | None = None

    def record(self, status: str, error: str = "", metrics: dict | None = None) -> dict:
        """The result record of this point (what a row of results.csv is made from)."""
        return {"index": self.index, "key": self.key, "workload": self.workload["name"],
                "config": self.config, "params": self.params, "cost": self.cost,
                "status": status, "error": error, "metrics": metrics or {}}


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A parsed sweep file: the base machine, the parameter choices, the workloads."""

    name: str
    base: dict[str, Any]
    params: dict[str, list]
    workloads: list[dict[str, Any]]
    cost: str | None = None
    cost_label: str | None = None
    metrics: tuple[str, ...] = ()
    timeout: float | None = None
    budget: int | None = None

    def configurations(self) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """Each configuration as (label, swept values, full target data), first
        parameter outermost. Literal choices are applied first, then derived
        (``"=expr"``) ones in file order, each seeing the values set before it."""
        paths = list(self.params)
        out = []
        for combo in itertools.product(*self.params.values()):
            data = json.loads(json.dumps(self.base))   # a deep copy of plain TOML data
            values, labels, derived = {}, [], []
            for path, choice in zip(paths, combo):
                if isinstance(choice, str) and choice.startswith("="):
                    derived.append((path, choice[1:].strip()))
                    labels.append(f"{path}={choice[1:].strip()}")
                else:
                    _assign(data, path, choice)
                    values[path] = choice
                    labels.append(f"{path}={_label(choice)}")
            for path, text in derived:
                values[path] = expr.evaluate(text, data)
                _assign(data, path, values[path])
            out.append(("; ".join(labels), {p: values[p] for p in paths}, data))
        return out

    def points(self) -> list[Point]:
        """Every (configuration, workload) point, configurations outermost."""
        points = []
        for label, values, data in self.configurations():
            error = _check_target(data)
            cost = None
            if self.cost and error is None:
                try:
                    cost = float(expr.evaluate(self.cost, data))
                except ValueError as exc:
                    error = f"cost: {exc}"
            for workload in self.workloads:
                run = {k: v for k, v in workload.items() if k not in ("budget", "timeout")}
                points.append(Point(
                    index=len(points), key=_key(data, run), config=label, params=values,
                    target=data, workload=run, cost=cost,
                    budget=workload.get("budget", self.budget),
                    timeout=workload.get("timeout", self.timeout), error=error))
        return points

    def manifest(self) -> dict:
        """What the figures need to know besides results.csv (written as sweep.json)."""
        return {"name": self.name, "params": list(self.params), "cost": self.cost,
                "cost_label": self.cost_label or self.cost,
                "workloads": [w["name"] for w in self.workloads]}


def load(source: str | Path | dict, *, base_dir: str | Path | None = None) -> Sweep:
    """Read a sweep from a TOML file (or already parsed data), checking it all: an
    error names the key at fault. Relative paths (base target, programs) are taken
    from the file's folder, or ``base_dir``."""
    if isinstance(source, dict):
        data, name, folder = source, "sweep", Path(base_dir or ".")
    else:
        path = Path(source)
        try:
            data = tomllib.loads(path.read_text())
        except OSError as exc:
            raise ValueError(f"cannot read sweep file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from None
        name, folder = path.stem, Path(base_dir or path.parent)
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ValueError(f"sweep: unknown keys {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}")
    base = _base_target(data.get("base", "generic"), folder)
    params = {path: _choices(path, spec) for path, spec in _table(data, "params").items()}
    workloads = data.get("workload")
    if not isinstance(workloads, list) or not workloads:
        raise ValueError("sweep: needs at least one [[workload]] table")
    checked = [check_workload(w, folder) for w in workloads]
    names = [w["name"] for w in checked]
    if len(set(names)) != len(names):
        raise ValueError(f"sweep: workload names must differ: {names}")
    metrics = data.get("metrics", [])
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise ValueError("sweep: metrics must be a list of metric names or patterns")
    for key, kind in (("timeout", (int, float)), ("budget", int)):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kind) or value <= 0):
            raise ValueError(f"sweep: {key} must be a positive number, not {value!r}")
    cost = data.get("cost")
    if cost is not None and not isinstance(cost, str):
        raise ValueError("sweep: cost must be an expression string such as \"vlen * model.pipes.fp\"")
    sweep = Sweep(name=str(data.get("name", name)), base=base, params=params, workloads=checked,
                  cost=cost, cost_label=data.get("cost_label"), metrics=tuple(metrics),
                  timeout=data.get("timeout"), budget=data.get("budget"))
    first = sweep.configurations()[0][2]   # derived values are checked now, not mid-sweep
    if cost is not None:
        expr.evaluate(cost, first)
    return sweep


def _table(data: dict, key: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"sweep: {key} must be a table")
    return value


def _base_target(base: Any, folder: Path) -> dict:
    """The base machine as TOML data: a preset name or a target TOML file."""
    if not isinstance(base, str):
        raise ValueError("sweep: base must be a target preset name or a target TOML path")
    if base in Target.presets():
        target = Target.preset(base)
    elif base.endswith(".toml"):
        target = Target.from_toml(folder / base)
    else:
        raise ValueError(f"sweep: base {base!r} is neither a preset ({', '.join(Target.presets())}) "
                         "nor a .toml file")
    return tomllib.loads(target.to_toml())


def _choices(path: str, spec: Any) -> list:
    """The values parameter ``path`` takes: a list, or a range table
    ``{start, stop, step}`` / ``{start, stop, factor}`` (``stop`` included)."""
    if not isinstance(path, str) or not all(path.split(".")):
        raise ValueError(f"params: {path!r} is not a dotted path such as 'model.l2_size'")
    if isinstance(spec, dict):
        extra = set(spec) - {"start", "stop", "step", "factor"}
        start, stop = spec.get("start"), spec.get("stop")
        step, factor = spec.get("step"), spec.get("factor")
        if extra or start is None or stop is None or (step is None) == (factor is None):
            raise ValueError(f"params.{path}: a range is {{start, stop, step}} or {{start, stop, "
                             f"factor}}, got {spec!r}")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                   for v in (start, stop, step or factor)):
            raise ValueError(f"params.{path}: range bounds must be numbers, got {spec!r}")
        if (step is not None and step <= 0) or (factor is not None and (factor <= 1 or start <= 0)):
            raise ValueError(f"params.{path}: the range must grow (step > 0, or factor > 1 from "
                             f"start > 0), got {spec!r}")
        values, v = [], start
        while v <= stop:
            values.append(v)
            v = v + step if step is not None else v * factor
        spec = values
    if not isinstance(spec, list) or not spec:
        raise ValueError(f"params.{path}: give a non-empty list of values or a range table")
    return spec


def _assign(data: dict, path: str, value: Any) -> None:
    """Set dotted ``path`` in nested tables ``data`` (tables are created as needed:
    validation is the Target's job, so fields new to the model work unchanged)."""
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValueError(f"params: {path!r}: {part} is a value, not a table")
        node = child
    node[leaf] = value


def _label(value: Any) -> str:
    return json.dumps(value, separators=(",", ":")) if isinstance(value, (dict, list, bool)) else str(value)


def _check_target(data: dict) -> str | None:
    """Why the machine description ``data`` is invalid, or None: the Target and the
    timing model each check what they own."""
    from rvai.emu.profile import timing_params
    try:
        target = Target.from_dict(data)
        timing_params(target.model)
    except (ValueError, TypeError) as exc:
        return f"bad configuration: {exc}"
    return None


def _key(target: dict, workload: dict) -> str:
    """The hash that identifies a point's result: machine, workload, rvai build."""
    fingerprint = KINDS[workload["kind"]].fingerprint(workload)
    text = json.dumps({"target": target, "workload": workload, "inputs": fingerprint,
                       "build": build_fingerprint()}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def build_fingerprint() -> str:
    """A hash of the installed rvai (its Python sources, presets and emulator core):
    results made by another build are not taken for finished points."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    files = [p for pattern in ("**/*.py", "targets/*.toml", "_rvemu*.so")
             for p in root.glob(pattern) if "__pycache__" not in p.parts]
    for p in sorted(files):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]
