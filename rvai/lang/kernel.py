"""``@kernel``: parameters, tracing to rvai IR, compiling and calling with NumPy arrays."""
from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import re
import traceback
from typing import Any, Callable

import numpy as np

from rvai import ir
from rvai.lang import core

__all__ = ["kernel", "Kernel", "TensorSpec", "Run", "constexpr", "NUMPY_DTYPES"]

#: NumPy dtype of each element type (bf16 tensors travel as uint16 bit patterns).
NUMPY_DTYPES = {"f16": np.float16, "bf16": np.uint16, "f32": np.float32, "f64": np.float64,
                "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64,
                "u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "u64": np.uint64}
_FROM_NUMPY = {np.dtype(v): ir.DTYPES[k] for k, v in NUMPY_DTYPES.items() if k != "bf16"}


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """Annotation of a tensor parameter: element ``dtype`` (None: taken from the argument) and ``ndim``."""

    dtype: ir.DType | None = None
    ndim: int = 1


class _ConstExpr:
    """Annotation marking a compile-time parameter (any hashable Python value)."""

    def __repr__(self) -> str:
        return "constexpr"


#: Annotation for compile-time parameters (unannotated parameters are compile-time too).
constexpr = _ConstExpr()


def _tensor_class_getitem(cls, item) -> TensorSpec:
    """``Tensor[f32]``, ``Tensor[f32, 2]``, ``Tensor[None, 2]``: a tensor parameter annotation."""
    item = item if isinstance(item, tuple) else (item,)
    if len(item) == 1 and isinstance(item[0], int):
        item = (None, item[0])
    dtype, ndim = (item + (1,))[:2]
    if dtype is not None and not isinstance(dtype, ir.DType) or not isinstance(ndim, int) or ndim < 1:
        raise TypeError(f"Tensor[dtype, ndim] expects a dtype (or None) and ndim >= 1, got {item}")
    return TensorSpec(dtype, ndim)


core.Tensor.__class_getitem__ = classmethod(_tensor_class_getitem)


@dataclasses.dataclass
class Run:
    """What one kernel call did: ``cycles`` and ``instret`` (None under QEMU) and the ``profile``."""

    cycles: int | None
    instret: int | None
    profile: Any
    runner: str
    vlen: int


def _user_frame(exc: BaseException) -> ir.Loc | None:
    frames = traceback.extract_tb(exc.__traceback__)
    lang = os.path.dirname(os.path.abspath(__file__))
    for fr in reversed(frames):
        path = os.path.abspath(fr.filename)
        if not path.startswith(lang + os.sep) and "importlib" not in path:
            return (fr.filename, fr.lineno)
    return None


class Kernel:
    """A kernel function: trace it with :meth:`trace`, compile with :meth:`compile`, or call it.

    Parameters annotated ``Tensor[...]`` or with a dtype (``n: i64``) are runtime
    arguments; all others are compile-time parameters that specialise the kernel.
    """

    def __init__(self, fn: Callable):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = re.sub(r"\W", "_", fn.__name__)
        self.signature = inspect.signature(fn)
        self.runtime: dict[str, Any] = {}
        for p in self.signature.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"kernel {self.name}: *args/**kwargs parameters are not supported")
            if isinstance(p.annotation, (TensorSpec, ir.DType)):
                self.runtime[p.name] = p.annotation
        self._compiled: dict[tuple, Any] = {}

    def _split(self, bound: inspect.BoundArguments) -> tuple[dict, dict]:
        runtime = {k: v for k, v in bound.arguments.items() if k in self.runtime}
        consts = {k: v for k, v in bound.arguments.items() if k not in self.runtime}
        return runtime, consts

    def _types(self, types: dict | None) -> dict[str, ir.DType]:
        out = {}
        for name, spec in self.runtime.items():
            dt = spec.dtype if isinstance(spec, TensorSpec) else spec
            given = (types or {}).get(name)
            if dt is None:
                if given is None:
                    raise TypeError(f"kernel {self.name}: give the dtype of tensor {name!r} (types={{...}})")
                dt = given
            elif given is not None and given != dt:
                raise TypeError(f"kernel {self.name}: {name} is declared {dt}, not {given}")
            out[name] = dt
        return out

    def trace(self, types: dict | None = None, **constexprs) -> ir.Function:
        """Run the kernel body on proxies and return its verified rvai IR."""
        dtypes = self._types(types)
        params: list[ir.Value] = []
        proxies: dict[str, Any] = {}
        with core.tracing() as tr:
            for name, spec in self.runtime.items():
                dt = dtypes[name]
                if isinstance(spec, TensorSpec):
                    ptr = ir.Value(ir.PtrType(dt), name)
                    shape = [ir.Value(ir.ScalarType(ir.i64), f"{name}.shape{k}") for k in range(spec.ndim)]
                    strides = [ir.Value(ir.ScalarType(ir.i64), f"{name}.stride{k}") for k in range(spec.ndim - 1)]
                    params += [ptr] + shape + strides
                    proxies[name] = core.Tensor(ptr, tuple(core.Scalar(s) for s in shape),
                                                tuple(core.Scalar(s) for s in strides) + (1,))
                else:
                    if dt.kind == "b" or dt.bits < 32 and dt.is_float:
                        raise TypeError(f"kernel {self.name}: scalar parameter {name} cannot be {dt}; "
                                        "pass f32 and convert in the kernel")
                    v = ir.Value(ir.ScalarType(dt), name)
                    params.append(v)
                    proxies[name] = core.Scalar(v)
            try:
                bound = self.signature.bind(**proxies, **constexprs)
            except TypeError as exc:
                raise TypeError(f"kernel {self.name}: {exc}") from None
            bound.apply_defaults()
            try:
                self.fn(*bound.args, **bound.kwargs)
            except core.KernelError:
                raise
            except RecursionError:
                raise
            except Exception as exc:
                if tr.pending is not None:
                    raise tr.pending from None
                raise core.KernelError(f"{type(exc).__name__}: {exc}", _user_frame(exc)) from exc
            if tr.pending is not None:
                raise tr.pending
            fn = ir.Function(self.name, params, tr.blocks[0])
        try:
            ir.verify(fn)
        except ir.IRError as exc:
            raise core.KernelError(str(exc), exc.loc) from None
        return fn

    def compile(self, target=None, *, types: dict | None = None, **constexprs):
        """Compile for ``target`` (default preset if None): a :class:`rvai.codegen.CompiledKernel`.

        Cached in memory per (types, compile-time parameters, target) and on disk by IR.
        """
        from rvai.codegen import compile_function
        from rvai.target import Target

        target = target or Target.default()
        key = (tuple(sorted((k, str(v)) for k, v in (types or {}).items())),
               tuple(sorted((k, repr(v)) for k, v in constexprs.items())), target.key)
        if key not in self._compiled:
            self._compiled[key] = compile_function(self.trace(types, **constexprs), target)
        return self._compiled[key]

    def __call__(self, *args, target=None, runner: str = "emu", **kwargs) -> Run:
        """Compile for the arguments' dtypes and run; arrays are updated in place.

        ``runner`` is ``"emu"`` (the rvai emulator, at ``target.vlen``) or ``"qemu"``
        (qemu-user, an independent oracle; no cycle counts).
        """
        from rvai.target import Target

        target = target or Target.default()
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        runtime, consts = self._split(bound)
        types, flat, arrays = {}, [], []
        for name, spec in self.runtime.items():
            val = runtime[name]
            if isinstance(spec, TensorSpec):
                arr, dt = self._check_array(name, spec, val)
                types[name] = dt
                buf = np.ascontiguousarray(arr)
                arrays.append((val, buf))
                flat.append(("ptr", buf))
                flat += [("i64", int(s)) for s in buf.shape]
                flat += [("i64", int(s) // buf.itemsize) for s in buf.strides[:-1]]
            else:
                if isinstance(val, (core.Scalar, core.Vector)):
                    raise TypeError(f"{name}: pass a Python number")
                flat.append(("f32" if spec == ir.f32 else "f64" if spec == ir.f64 else "i64",
                             float(val) if spec.is_float else int(val)))
        compiled = self.compile(target, types={k: v for k, v in types.items()
                                               if self.runtime[k].dtype is None}, **consts)
        if runner == "qemu":
            from rvai.codegen.qemu import run_qemu
            outs, record = run_qemu(compiled, flat, target.vlen), (None, None, None)
        elif runner == "emu":
            outs, record = _run_emu(compiled, flat, target)
        else:
            raise ValueError(f"runner must be 'emu' or 'qemu', not {runner!r}")
        for (orig, buf), out in zip(arrays, outs):
            if orig.flags.writeable and not np.array_equal(out, buf, equal_nan=buf.dtype.kind == "f"):
                orig[...] = out
        return Run(*record, runner=runner, vlen=target.vlen)

    def _check_array(self, name: str, spec: TensorSpec, val: Any) -> tuple[np.ndarray, ir.DType]:
        if not isinstance(val, np.ndarray):
            raise TypeError(f"kernel {self.name}: {name} must be a NumPy array, not {type(val).__name__}")
        if val.ndim != spec.ndim:
            raise ValueError(f"kernel {self.name}: {name} must have {spec.ndim} dimensions, not {val.ndim}")
        if spec.dtype is not None and spec.dtype.name == "bf16":
            if val.dtype != np.uint16:
                raise TypeError(f"kernel {self.name}: bf16 tensor {name} travels as uint16 bit patterns")
            return val, spec.dtype
        dt = _FROM_NUMPY.get(val.dtype)
        if dt is None:
            raise TypeError(f"kernel {self.name}: {name} has unsupported dtype {val.dtype}")
        if spec.dtype is not None and dt != spec.dtype:
            raise TypeError(f"kernel {self.name}: {name} must be {spec.dtype}, got {val.dtype}")
        return val, dt


def _run_emu(compiled, flat: list, target) -> tuple[list[np.ndarray], tuple]:
    from rvai.emu import Machine, f32

    m = Machine(vlen=target.vlen)
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
    m.call(compiled.name, *args, ret=None)
    outs = [m.read(addr, buf.dtype, buf.shape) for addr, buf in bufs]
    return outs, (m.cycles, m.instret, getattr(m, "profile", None))


def kernel(fn: Callable) -> Kernel:
    """Decorator: make ``fn`` an rvai :class:`Kernel`."""
    return Kernel(fn)
