"""Compile and run DSL kernels: the glue between :mod:`rvai.lang`, :mod:`rvai.codegen` and the emulator.

Calling a :class:`rvai.lang.Kernel` comes here (the ``rvai`` package installs this
module as the language's backend): the compiled object is looked up in a cache keyed
by kernel, argument dtypes, compile-time parameters, target and VLEN specialisation;
NumPy arrays are copied C-contiguously into a fresh :class:`rvai.emu.Machine`, the
kernel is called following the psABI, the arrays are copied back in place, and a
:class:`Run` record comes back. ``runner="qemu"`` runs the same object under qemu-user
(:mod:`rvai.codegen.qemu`), an oracle independent of the rvai emulator.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from rvai import codegen, ir
from rvai.codegen import CompiledKernel, qemu
from rvai.emu import Machine, f32
from rvai.lang import core
from rvai.lang.kernel import Kernel, TensorSpec
from rvai.target import Target

__all__ = ["Run", "compile", "call", "run_compiled", "NUMPY_DTYPES"]

#: NumPy dtype of each element type (bf16 tensors travel as uint16 bit patterns).
NUMPY_DTYPES = {"f16": np.float16, "bf16": np.uint16, "f32": np.float32, "f64": np.float64,
                "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64,
                "u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "u64": np.uint64}
_FROM_NUMPY = {np.dtype(v): ir.DTYPES[k] for k, v in NUMPY_DTYPES.items() if k != "bf16"}


@dataclasses.dataclass
class Run:
    """What one kernel call did.

    ``cycles`` (from the target's timing model) and ``instret`` come from the emulator,
    ``profile`` is its :class:`rvai.emu.Profile` of the call (all three None under QEMU);
    ``runner`` and ``vlen`` say where it ran; ``compiled`` is the object that ran.
    """

    cycles: int | None
    instret: int | None
    profile: Any = dataclasses.field(repr=False)
    runner: str
    vlen: int
    compiled: CompiledKernel = dataclasses.field(repr=False)


# Traced-and-compiled objects per (kernel, dtypes, compile-time parameters, target, vlen):
# a hit skips tracing as well as LLVM.
_COMPILED: dict[tuple, CompiledKernel] = {}


def compile(kernel: Kernel, target: Target | None = None, *, types: dict | None = None,  # noqa: A001
            vlen: int | None = None, constexprs: dict | None = None) -> CompiledKernel:
    """Trace ``kernel`` and compile it for ``target`` (the default preset if None), cached.

    ``vlen`` specialises the object for exactly that VLEN; None keeps it
    vector-length agnostic.
    """
    target = target or Target.default()
    constexprs = constexprs or {}
    key = (kernel, tuple(sorted((k, str(v)) for k, v in (types or {}).items())),
           tuple(sorted((k, repr(v)) for k, v in constexprs.items())), target.key, vlen)
    if key not in _COMPILED:
        _COMPILED[key] = codegen.compile_function(kernel.trace(types, **constexprs), target, vlen)
    return _COMPILED[key]


def call(kernel: Kernel, args: tuple, kwargs: dict, *, target: Target | None = None,
         runner: str = "emu", specialise: bool = False) -> Run:
    """Compile ``kernel`` for the arguments' dtypes and run it; arrays are updated in place.

    The object is vector-length agnostic unless ``specialise``: then it is compiled for
    exactly ``target.vlen``.
    """
    if runner not in ("emu", "qemu"):
        raise ValueError(f"runner must be 'emu' or 'qemu', not {runner!r}")
    target = target or Target.default()
    runtime, consts = kernel.bind(*args, **kwargs)
    types, flat, arrays = {}, [], []
    for name, spec in kernel.runtime.items():
        val = runtime[name]
        if isinstance(spec, TensorSpec):
            arr, dt = _check_array(kernel, name, spec, val)
            if spec.dtype is None:
                types[name] = dt
            buf = np.ascontiguousarray(arr)
            arrays.append((val, buf))
            flat.append(("ptr", buf))
            flat += [("i64", int(s)) for s in buf.shape]
            flat += [("i64", int(s) // buf.itemsize) for s in buf.strides[:-1]]
        else:
            if isinstance(val, (core.Scalar, core.Vector)):
                raise TypeError(f"kernel {kernel.name}: {name}: pass a Python number")
            flat.append(("f32" if spec == ir.f32 else "f64" if spec == ir.f64 else "i64",
                         float(val) if spec.is_float else int(val)))
    compiled = compile(kernel, target, types=types, vlen=target.vlen if specialise else None, constexprs=consts)
    outs, cycles, instret, profile = run_compiled(compiled, flat, target, runner)
    for (orig, buf), out in zip(arrays, outs):
        if orig.flags.writeable and not np.array_equal(out, buf, equal_nan=buf.dtype.kind == "f"):
            orig[...] = out
    return Run(cycles, instret, profile, runner, target.vlen, compiled)


def run_compiled(compiled: CompiledKernel, flat: list[tuple[str, Any]], target: Target,
                 runner: str = "emu") -> tuple[list[np.ndarray], int | None, int | None, Any]:
    """Call ``compiled`` at ``target.vlen`` with ``flat`` (kind, value) arguments.

    Kinds are ``ptr`` (a contiguous ndarray), ``i64``, ``f32`` and ``f64``. Returns the
    arrays' contents after the call, then cycles, retired instructions and the profile
    (None, None, None under QEMU).
    """
    if compiled.vlen is not None and compiled.vlen != target.vlen:
        raise ValueError(f"kernel {compiled.name} was specialised for VLEN {compiled.vlen} and cannot run "
                         f"at VLEN {target.vlen}; compile without vlen= for vector-length-agnostic code")
    if runner == "qemu":
        return qemu.run_qemu(compiled, flat, target.vlen), None, None, None
    m = Machine(target, vlen=target.vlen, timed=True)   # the target's [model] gives the cycles
    m.load_elf(compiled.elf)
    args, bufs = [], []
    for kind, val in flat:
        if kind == "ptr":
            addr = m.alloc(max(val.nbytes, 1), align=64)
            m.write(addr, val)
            bufs.append((addr, val))
            args.append(addr)
        else:
            args.append(f32(val) if kind == "f32" else val)
    m.reset_counters()   # count the kernel call only
    m.call(compiled.name, *args, ret=None)
    outs = [m.read(addr, buf.dtype, buf.shape) for addr, buf in bufs]
    return outs, m.cycles, m.instret, m.profile()


def _check_array(kernel: Kernel, name: str, spec: TensorSpec, val: Any) -> tuple[np.ndarray, ir.DType]:
    """``val`` checked against the parameter's annotation, and its element type."""
    where = f"kernel {kernel.name}: {name}"
    if not isinstance(val, np.ndarray):
        raise TypeError(f"{where} must be a NumPy array, not {type(val).__name__}")
    if val.ndim != spec.ndim:
        raise ValueError(f"{where} must have {spec.ndim} dimensions, not {val.ndim}")
    if spec.dtype is not None and spec.dtype.name == "bf16":
        if val.dtype != np.uint16:
            raise TypeError(f"{where}: bf16 tensors travel as uint16 bit patterns")
        return val, spec.dtype
    dt = _FROM_NUMPY.get(val.dtype)
    if dt is None:
        raise TypeError(f"{where} has unsupported dtype {val.dtype}")
    if spec.dtype is not None and dt != spec.dtype:
        raise TypeError(f"{where} must be {spec.dtype}, got {val.dtype}")
    return val, dt
