"""What a sweep point runs: the workload kinds, one registry entry each.

A ``[[workload]]`` table has a ``name``, a ``kind`` (a key of :data:`KINDS`) and the
kind's own keys:

* ``op``: a function of :mod:`rvai.ops` on random arrays --
  ``op = "attention"``, ``shapes = [[4, 1, 64], [2, 256, 64], [2, 256, 64]]``,
  optional ``dtype`` (one name, or one per array), ``kwargs = {causal = true}``, ``seed``.
* ``kernel``: any DSL kernel, ``kernel = "rvai.kernels:matmul"``, with ``args`` where a
  table ``{shape = [..], dtype = "f32", fill = 0.0}`` is an array (random normal
  without ``fill``) and a number is a scalar; ``params`` are compile-time parameters.
* ``program``: a static riscv64 Linux executable, ``program = "path"``, ``argv = [..]``,
  optional ``stdin`` text; a non-zero exit status is an error.
* ``qwen``: one Qwen decoder layer (:mod:`rvai.models`) for one step --
  ``model = "qwen2.5-0.5b"``, ``phase = "decode"`` (one token after ``context`` cached)
  or ``"prefill"`` (``tokens`` after ``context``), optional ``dtype`` (projection
  weights: ``f32``, ``f16``, ``bf16``, ``int8``), ``max_macs`` (operators above it run on slices scaled up,
  as ``bench/qwen.py`` does; 0: all in full), ``seed``. Every kernel call of the layer
  is a run, weighted by its sampling scale.
* ``python``: ``function = "module:name"`` called as ``function(target, **kwargs)``
  (with ``budget=`` too when the workload has one),
  returning a :class:`rvai.runner.Run` or a :class:`rvai.emu.Profile`, or a list of
  them (each optionally as a ``(run, weight)`` pair) that count as one workload -- the
  way in for a workload rvai does not know (a model layer, a kernel sequence).

Each kind checks its table when the sweep is loaded, and runs it with the point's
instruction budget (per kernel call; None: the runner's default), returning the timing model's Profile, or a
list of (Profile, weight) pairs that :func:`rvai.sweep.job.metrics_of` sums.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

from rvai.target import Target

__all__ = ["KINDS", "Kind", "check_workload", "run_workload"]


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of workload: its keys, how its table is checked and how it runs.

    ``check(table, folder)`` raises ValueError on a bad table and returns it
    normalised (paths made absolute); ``run(table, target, budget)`` returns the
    Profile; ``fingerprint(table)`` adds what the table only names (a program's
    bytes) to the point's key.
    """

    keys: frozenset[str]
    check: Callable[[dict, Path], dict]
    run: Callable[[dict, Any, int | None], Any]
    fingerprint: Callable[[dict], str] = lambda table: ""


def check_workload(table: Any, folder: Path) -> dict:
    """``table`` checked against its kind (a ValueError names what is wrong)."""
    if not isinstance(table, dict):
        raise ValueError("workload: each [[workload]] must be a table")
    name, kind = table.get("name"), table.get("kind")
    if not isinstance(name, str) or not name:
        raise ValueError(f"workload {table!r}: needs a name")
    if kind not in KINDS:
        raise ValueError(f"workload {name!r}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    allowed = KINDS[kind].keys | {"name", "kind", "budget", "timeout"}
    extra = set(table) - allowed
    if extra:
        raise ValueError(f"workload {name!r}: unknown keys {sorted(extra)}; allowed: {sorted(allowed)}")
    try:
        return KINDS[kind].check(dict(table), folder)
    except (TypeError, ValueError, ImportError, AttributeError) as exc:
        raise ValueError(f"workload {name!r}: {exc}") from None


def run_workload(table: dict, target, budget: int | None):
    """Run ``table`` on ``target`` (a Target or a preset name) and return its Profile."""
    target = Target.of(target)
    return KINDS[table["kind"]].run(table, target, budget)


# ---- arrays -------------------------------------------------------------------

def _dtype(name: Any) -> np.dtype:
    from rvai.runner import NUMPY_DTYPES
    if name not in NUMPY_DTYPES or name == "bf16":
        raise ValueError(f"dtype {name!r} is not one of {', '.join(k for k in NUMPY_DTYPES if k != 'bf16')}")
    return np.dtype(NUMPY_DTYPES[name])


def _shape(shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, list) or not shape or not all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape):
        raise ValueError(f"shape {shape!r} is not a list of positive integers")
    return tuple(shape)


def _array(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype, fill=None) -> np.ndarray:
    """Random-normal data (small integers for integer dtypes), or ``fill`` everywhere."""
    if fill is not None:
        return np.full(shape, fill, dtype)
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(-8, 8, shape).astype(dtype)


def _import(ref: Any, what: str):
    """The object named ``"package.module:attribute"``."""
    if not isinstance(ref, str) or ref.count(":") != 1:
        raise ValueError(f"{what} must be 'module:name', not {ref!r}")
    module, attr = ref.split(":")
    return getattr(importlib.import_module(module), attr)


# ---- op: a function of rvai.ops ------------------------------------------------

def _op_names() -> list[str]:
    from rvai import ops
    return [n for n in ops.__all__ if callable(getattr(ops, n))]


def _check_op(t: dict, folder: Path) -> dict:
    if t.get("op") not in _op_names():
        raise ValueError(f"op must be one of {', '.join(_op_names())}, not {t.get('op')!r}")
    shapes = t.get("shapes")
    if not isinstance(shapes, list) or not shapes:
        raise ValueError("shapes must be a list of array shapes")
    for s in shapes:
        _shape(s)
    dtypes = t.get("dtype", "f32")
    for d in dtypes if isinstance(dtypes, list) else [dtypes]:
        _dtype(d)
    if isinstance(dtypes, list) and len(dtypes) != len(shapes):
        raise ValueError("dtype must be one name or one per shape")
    if not isinstance(t.get("kwargs", {}), dict):
        raise ValueError("kwargs must be a table")
    return t


def _run_op(t: dict, target, budget: int | None):
    from rvai import ops
    rng = np.random.default_rng(t.get("seed", 0))
    dtypes = t.get("dtype", "f32")
    dtypes = dtypes if isinstance(dtypes, list) else [dtypes] * len(t["shapes"])
    arrays = [_array(rng, tuple(s), _dtype(d)) for s, d in zip(t["shapes"], dtypes)]
    ops.last_run = None
    getattr(ops, t["op"])(*arrays, target=target, budget=budget, **t.get("kwargs", {}))
    if ops.last_run is None:
        raise RuntimeError(f"rvai.ops.{t['op']} ran no kernel for these shapes")
    return ops.last_run.profile


# ---- kernel: any DSL kernel -------------------------------------------------------

def _kernel_args(t: dict, rng: np.random.Generator | None) -> list:
    """The call's arguments (with ``rng``), or just their check (``rng`` None)."""
    args = t.get("args")
    if not isinstance(args, list):
        raise ValueError("args must be a list of arrays ({shape = [..], dtype = ..}) and numbers")
    out = []
    for a in args:
        if isinstance(a, dict):
            extra = set(a) - {"shape", "dtype", "fill"}
            if extra:
                raise ValueError(f"array argument {a!r}: unknown keys {sorted(extra)}")
            shape, dtype = _shape(a.get("shape")), _dtype(a.get("dtype", "f32"))
            out.append(None if rng is None else _array(rng, shape, dtype, a.get("fill")))
        elif isinstance(a, (int, float)) and not isinstance(a, bool):
            out.append(a)
        else:
            raise ValueError(f"argument {a!r} is neither an array table nor a number")
    return out


def _check_kernel(t: dict, folder: Path) -> dict:
    from rvai.lang.kernel import Kernel
    if not isinstance(_import(t.get("kernel"), "kernel"), Kernel):
        raise ValueError(f"{t['kernel']} is not an rvai kernel (@rvai.kernel)")
    _kernel_args(t, None)
    if not isinstance(t.get("params", {}), dict):
        raise ValueError("params must be a table of compile-time parameters")
    return t


def _run_kernel(t: dict, target, budget: int | None):
    kernel = _import(t["kernel"], "kernel")
    args = _kernel_args(t, np.random.default_rng(t.get("seed", 0)))
    return kernel(*args, target=target, budget=budget, **t.get("params", {})).profile


# ---- program: a static executable -----------------------------------------------

def _check_program(t: dict, folder: Path) -> dict:
    program = t.get("program")
    if not isinstance(program, str):
        raise ValueError("program must be the path of a static riscv64 executable")
    path = (folder / program).resolve()
    if not path.is_file():
        raise ValueError(f"program {path} does not exist")
    argv = t.get("argv", [])
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise ValueError("argv must be a list of strings")
    if not isinstance(t.get("stdin", ""), str):
        raise ValueError("stdin must be a string")
    return dict(t, program=str(path))


def _run_program(t: dict, target, budget: int | None):
    from rvai.emu import Machine
    m = Machine(target, timed=True, **({} if budget is None else {"budget": budget}))
    program = Path(t["program"])
    result = m.run([program.name, *t.get("argv", [])], program=program.read_bytes(),
                   stdin=t.get("stdin", "").encode())
    if result.exit_code != 0:
        raise RuntimeError(f"{program.name} exited with status {result.exit_code}")
    return m.profile()


def _program_bytes(t: dict) -> str:
    return hashlib.sha256(Path(t["program"]).read_bytes()).hexdigest()


# ---- qwen: a decoder layer of rvai.models ---------------------------------------

def _check_qwen(t: dict, folder: Path) -> dict:
    from rvai.models import configs
    from rvai.models.layer import weight_dtype
    from rvai.models.predict import DEFAULT_MAX_MACS, step_tokens
    configs.get(str(t.get("model")))
    ints = {k: t.get(k, d) for k, d in (("tokens", 128), ("context", 0), ("seed", 0))}
    for key, value in ints.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{key} must be an integer, not {value!r}")
    step_tokens(t.get("phase"), ints["tokens"], ints["context"])
    weight_dtype(t.get("dtype", "f32"))
    max_macs = t.get("max_macs", DEFAULT_MAX_MACS)
    if not isinstance(max_macs, (int, float)) or isinstance(max_macs, bool) or max_macs < 0:
        raise ValueError(f"max_macs must be a number >= 0 (0: never sample), not {max_macs!r}")
    return t


def _run_qwen(t: dict, target, budget: int | None):
    from rvai.models import configs
    from rvai.models.predict import DEFAULT_MAX_MACS, layer_costs
    costs = layer_costs(configs.get(t["model"]), target, t["phase"], t.get("tokens", 128), t.get("context", 0),
                        t.get("dtype", "f32"), t.get("max_macs", DEFAULT_MAX_MACS) or None, t.get("seed", 0),
                        keep_profiles=True, budget=budget)
    return costs.profiles


# ---- python: a function of the user's -------------------------------------------

def _check_python(t: dict, folder: Path) -> dict:
    if not callable(_import(t.get("function"), "function")):
        raise ValueError(f"{t['function']} is not callable")
    if not isinstance(t.get("kwargs", {}), dict):
        raise ValueError("kwargs must be a table")
    return t


def _run_python(t: dict, target, budget: int | None):
    from rvai.emu import Profile
    budgeted = {} if budget is None else {"budget": budget}
    out = _import(t["function"], "function")(target, **budgeted, **t.get("kwargs", {}))

    def profile_of(item):
        profile = item if isinstance(item, Profile) else getattr(item, "profile", None)
        if not isinstance(profile, Profile):
            raise TypeError(f"{t['function']} returned {type(item).__name__}, not a Run or a Profile")
        return profile
    if not isinstance(out, list):
        return profile_of(out)
    return [(profile_of(i[0]), float(i[1])) if isinstance(i, tuple) else (profile_of(i), 1.0) for i in out]


#: The workload kinds by the name a ``kind =`` key gives.
KINDS: dict[str, Kind] = {
    "op": Kind(frozenset({"op", "shapes", "dtype", "kwargs", "seed"}), _check_op, _run_op),
    "kernel": Kind(frozenset({"kernel", "args", "params", "seed"}), _check_kernel, _run_kernel),
    "program": Kind(frozenset({"program", "argv", "stdin"}), _check_program, _run_program,
                    _program_bytes),
    "qwen": Kind(frozenset({"model", "phase", "tokens", "context", "dtype", "max_macs", "seed"}),
                 _check_qwen, _run_qwen),
    "python": Kind(frozenset({"function", "kwargs"}), _check_python, _run_python),
}
