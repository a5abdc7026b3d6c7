"""Compile and run DSL kernels: the glue between :mod:`rvai.lang`, :mod:`rvai.codegen` and the emulator.

Calling a :class:`rvai.lang.Kernel` comes here (the ``rvai`` package installs this
module as the language's backend): the compiled object is looked up in a cache keyed
by kernel, argument dtypes, compile-time parameters, target and VLEN specialisation;
NumPy arrays are copied C-contiguously into a fresh :class:`rvai.emu.Machine`, the
kernel is called following the psABI, the arrays it may write are copied back in place
(the others, mapped read-only, cannot have changed: a store into one faults), and a
:class:`Run` record comes back. ``runner="qemu"`` runs the same object under qemu-user
(:mod:`rvai.codegen.qemu`), an oracle independent of the rvai emulator.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from rvai import codegen, ir
from rvai.codegen import CompiledKernel
from rvai.codegen.lower import TRAP_ADDR
from rvai.emu import Machine, errors, f32
from rvai.emu.machine import PAGE
from rvai.lang import core
from rvai.lang.kernel import Kernel, TensorSpec, grid_size
from rvai.target import KNOWN_EXTENSIONS, Target

__all__ = ["Run", "compile", "call", "compiled_for", "extension_query", "run_compiled", "stored_tensors", "NUMPY_DTYPES",
           "DEFAULT_BUDGET", "DEFAULT_TIMEOUT"]

#: Instructions a kernel call may retire unless ``budget=`` says otherwise. The timed
#: emulator runs 11-50 million kernel instructions a second (measured on this project's
#: 2-core machines, docs/dsl.md), so a runaway kernel stops within 6-30 seconds.
DEFAULT_BUDGET = 300_000_000
#: Seconds of wall time a kernel call may take unless ``timeout=`` says otherwise (``math.inf``:
#: no limit): a safety net behind the budget, for a slow host or slow instructions.
DEFAULT_TIMEOUT = 60.0

# Each tensor argument gets its own pages at the start of its own 64 GiB slot from here
# up, everything else in the slot unmapped: a stray access faults, and its address says
# which tensor it strayed from. The rest of a tensor's last page is a red zone checked
# after the call.
TENSOR_BASE = 0x40_0000_0000
TENSOR_SLOT = 1 << 36
RED_ZONE = b"\xa5\xa5\xff\xff"   # NaN in f32/f64 and -1-ish in ints, so stray reads stand out

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


# Traced-and-compiled objects per (kernel, dtypes, compile-time parameters, target, vlen),
# each with the names of the tensors its code stores through: a hit skips tracing as well as LLVM.
_COMPILED: dict[tuple, tuple[CompiledKernel, frozenset[str]]] = {}

#: Ops that read memory through their pointer operands and never write it. Every other op
#: with a pointer operand counts as a write through it (a new opcode is a write until
#: listed here), and so does ``prefetch`` with ``write``: the timing model fills no line
#: for a write prefetch of a read-only page (a hint does nothing where it could not store).
_READS_ONLY = frozenset({"load", "vload", "touch"})


def stored_tensors(fn: ir.Function) -> frozenset[str]:
    """Names of the tensor parameters traced kernel ``fn`` may write: those whose pointer
    an op other than a plain read (:data:`_READS_ONLY`, read prefetches) takes; all of
    them if such an op takes a pointer that is not a parameter itself."""
    tensors = {p.id: p.name for p in fn.params if isinstance(p.type, ir.PtrType)}
    stored: set[str] = set()

    def visit(op: ir.Op) -> None:
        if op.opcode in _READS_ONLY or op.opcode == "prefetch" and not op.attrs.get("write"):
            return
        for v in op.operands:
            if isinstance(v.type, ir.PtrType):
                stored.update([tensors[v.id]] if v.id in tensors else tensors.values())
    ir.walk(fn.body, visit)
    return frozenset(stored)


def extension_query(target: Target) -> Callable[[str], bool]:
    """What :func:`rvai.lang.target_has` asks when a kernel is traced for ``target``: whether
    LLVM enables the extension for it (the set the lowering reads); ValueError for a name
    that is not in :data:`rvai.target.KNOWN_EXTENSIONS` (a typo would read as "absent")."""
    target = Target.of(target)
    enabled = codegen.target_extensions(target)

    def has(name: str) -> bool:
        if name not in KNOWN_EXTENSIONS:
            raise ValueError(f"{name!r} is not an extension name rvai knows (lower case, as in "
                             "rvai.target.KNOWN_EXTENSIONS)")
        return name in enabled
    return has


def compile(kernel: Kernel, target: Target | None = None, *, types: dict | None = None,  # noqa: A001
            vlen: int | None = None, constexprs: dict | None = None, checked: bool = False,
            grid: bool = False) -> CompiledKernel:
    """Trace ``kernel`` and compile it for ``target`` (a Target or a preset name; the default
    preset if None, :meth:`Target.of`), cached.

    ``vlen`` specialises the object for exactly that VLEN; None keeps it
    vector-length agnostic. ``checked`` compiles a bounds check into every tensor access.
    ``grid`` compiles the grid form (the programs of a launch grid, ``Kernel.trace``).
    """
    return _compiled(kernel, target, types, vlen, constexprs, checked, grid)[0]


def _compiled(kernel: Kernel, target: Target | None, types: dict | None, vlen: int | None, constexprs: dict | None,
              checked: bool, grid: bool) -> tuple[CompiledKernel, frozenset[str]]:
    """:func:`compile`'s object, with the names of the tensors it stores through (:func:`stored_tensors`)."""
    target = Target.of(target)
    constexprs = constexprs or {}
    key = (kernel, tuple(sorted((k, str(v)) for k, v in (types or {}).items())),
           tuple(sorted((k, repr(v)) for k, v in constexprs.items())), target.key, vlen, checked, grid)
    if key not in _COMPILED:
        fn = kernel.trace(types, checked=checked, grid=grid, has_extension=extension_query(target), **constexprs)
        try:
            _COMPILED[key] = codegen.compile_function(fn, target, vlen), stored_tensors(fn)
        except ir.IRError as exc:   # the target cannot compile an op: the author's line
            raise core.KernelError(str(exc), exc.loc) from None
    return _COMPILED[key]


def call(kernel: Kernel, args: tuple, kwargs: dict, *, target: Target | None = None,
         runner: str = "emu", specialise: bool = False, checked: bool = False,
         budget: int | None = None, timeout: float | None = None, grid=None) -> Run:
    """Compile ``kernel`` for the arguments' dtypes and run it; arrays are updated in place.

    The object is vector-length agnostic unless ``specialise``: then it is compiled for
    exactly ``target.vlen``. ``checked`` compiles in bounds checks; ``budget``, ``timeout``: see :func:`run_compiled`.
    ``grid`` (a launch grid, :func:`rvai.lang.kernel.grid_size`) runs its programs on the target's harts.
    """
    if runner not in ("emu", "qemu"):
        raise ValueError(f"runner must be 'emu' or 'qemu', not {runner!r}")
    target = Target.of(target)
    runtime, consts, types = _bind(kernel, args, kwargs, target)
    flat, arrays, names = [], [], []
    for name, spec in kernel.runtime.items():
        val = runtime[name]
        if isinstance(spec, TensorSpec):   # checked by _bind
            buf = np.ascontiguousarray(val)
            arrays.append((val, buf))
            names.append(name)
            flat.append(("ptr", buf))
            flat += [("i64", int(s)) for s in buf.shape]
            flat += [("i64", int(s) // buf.itemsize) for s in buf.strides[:-1]]
        else:
            flat.append(("f32" if spec == ir.f32 else "f64" if spec == ir.f64 else "i64",
                         _check_scalar(kernel, name, spec, val)))
    # QEMU 7.2 aborts translating some checked code ("decode_save_opc: Assertion"), and qemu
    # runs serve as an oracle of the arithmetic: they run the unchecked object.
    sizes = grid_size(grid, consts) if grid is not None else None
    compiled, stored = _compiled(kernel, target, types, target.vlen if specialise else None, consts,
                                 checked and runner == "emu", sizes is not None)
    outs, cycles, instret, profile = run_compiled(compiled, flat, target, runner, budget=budget, timeout=timeout,
                                                  names=names, grid=sizes, stored=stored)
    # An array is given back when the kernel changed any of its bytes, so that an
    # array passed as two arguments gets what was written, not the unchanged copy.
    # Bytes, not values: a value comparison calls a zero of the other sign or a
    # NaN of another payload equal and kept the old bits (and, with NaNs, cost
    # ~6 ms on a 4 MB weight matrix, a quarter of a functional ops.linear call).
    # A tensor the kernel does not store through comes back as the array itself: its
    # guest copy was read-only, so there is nothing to read back or compare (a 7B
    # layer's weights: 0.9 GB of each).
    for (orig, buf), out in zip(arrays, outs):
        if out is not buf and orig.flags.writeable and not np.array_equal(_bits(out), _bits(buf)):
            orig[...] = out
    return Run(cycles, instret, profile, runner, target.vlen, compiled)


def _bits(a: np.ndarray) -> np.ndarray:
    """Contiguous array ``a``'s bytes as a flat view of unsigned integers, one per
    element where its size is one of theirs (a bool per element to compare, not per byte)."""
    flat = a.reshape(-1)
    return flat.view(f"u{flat.itemsize}") if flat.itemsize in (1, 2, 4, 8) else flat.view(np.uint8)


def compiled_for(kernel: Kernel, args: tuple, kwargs: dict, *, target: Target | None = None,
                 checked: bool = False) -> CompiledKernel:
    """The object :func:`call` would run on the emulator for these arguments (no launch grid,
    not specialised), compiled and cached but not run: what :func:`rvai.tune.tune` tells
    candidates apart by."""
    target = Target.of(target)
    _, consts, types = _bind(kernel, args, kwargs, target)
    return compile(kernel, target, types=types, constexprs=consts, checked=checked)


def _bind(kernel: Kernel, args: tuple, kwargs: dict, target: Target) -> tuple[dict, dict, dict]:
    """A call's runtime arguments (the arrays checked against their annotations), its
    compile-time parameters (the tuner's choice where the call sets no tunable) and the
    element types of its tensors declared without one."""
    runtime, consts = kernel.bind(*args, **kwargs)
    if kernel.autotune is not None:   # a call that sets none of the tunables runs the tuner's choice, if any
        from rvai import tune
        given = kernel.signature.bind(*args, **kwargs).arguments
        consts.update(tune.config_for(kernel, target, tune.key_of(kernel, {**consts, **runtime}), given))
    types = {}
    for name, spec in kernel.runtime.items():
        if isinstance(spec, TensorSpec):
            dt = _check_array(kernel, name, spec, runtime[name])
            if spec.dtype is None:
                types[name] = dt
    return runtime, consts, types


def run_compiled(compiled: CompiledKernel, flat: list[tuple[str, Any]], target: Target,
                 runner: str = "emu", *, budget: int | None = None, timeout: float | None = None,
                 names: list[str] | None = None, grid: tuple[int, int, int] | None = None,
                 harts: int | None = None, stored: frozenset[str] | None = None
                 ) -> tuple[list[np.ndarray], int | None, int | None, Any]:
    """Call ``compiled`` at ``target.vlen`` with ``flat`` (kind, value) arguments.

    Kinds are ``ptr`` (a contiguous ndarray), ``i64``, ``f32`` and ``f64``; ``names`` names
    the ``ptr`` arguments in order (for error messages). Each array sits in its own pages
    between unmapped guard pages, the rest of its last page a red zone checked after the
    call: a stray access that faults there, a write to the red zone and a failed compiled-in
    check raise :class:`rvai.lang.BoundsError`. ``budget`` (instructions, default
    :data:`DEFAULT_BUDGET`) and ``timeout`` (seconds, default :data:`DEFAULT_TIMEOUT`) bound
    the call: ``BudgetExceeded`` / ``TimeLimitExceeded`` name the kernel and source line. Returns the arrays' contents after the call,
    then cycles, retired instructions and the profile (None, None, None under QEMU).
    ``grid`` (three sizes) runs a grid-compiled object's programs on a machine of
    ``harts`` harts (the target's by default): one thread per hart, thread k running
    programs k, k + T, k + 2T, ... of the T threads (docs/harts.md).
    ``stored`` names the tensors the code may write (:func:`stored_tensors`; None: all): on
    the emulator the others are mapped read-only, a store into one raises
    :class:`rvai.lang.BoundsError`, and each comes back as the very array passed in.
    """
    target = Target.of(target)
    if compiled.vlen is not None and compiled.vlen != target.vlen:
        raise ValueError(f"kernel {compiled.name} was specialised for VLEN {compiled.vlen} and cannot run "
                         f"at VLEN {target.vlen}; compile without vlen= for vector-length-agnostic code")
    if runner == "qemu":
        if grid is not None:
            raise ValueError("a launch grid runs on the rvai emulator only (runner='emu')")
        from rvai.codegen import qemu   # (subprocess, tempfile: ~5 ms of an emulator-only process's start)
        return qemu.run_qemu(compiled, flat, target.vlen), None, None, None
    m = Machine(target, vlen=target.vlen, timed=True, harts=harts)   # the target's [model] gives the cycles
    m.load_elf(compiled.elf)
    args, tensors = [], []
    names = iter(names or [])
    for kind, val in flat:
        if kind == "ptr":
            name = next(names, f"tensor{len(tensors)}")
            tensors.append(_Placed(m, val, name, TENSOR_BASE + len(tensors) * TENSOR_SLOT,
                                   writable=stored is None or name in stored))
            args.append(tensors[-1].addr)
        else:
            args.append(f32(val) if kind == "f32" else val)
    m.reset_counters()   # count the kernel call only
    limits = {"budget": DEFAULT_BUDGET if budget is None else budget,
              "timeout": DEFAULT_TIMEOUT if timeout is None else timeout}
    try:
        if grid is None:
            m.call(compiled.name, *args, ret=None, **limits)
        else:
            threads = min(m.harts, grid[0] * grid[1] * grid[2])
            m.call_threads(compiled.name, [(*args, k, threads, *grid) for k in range(threads)], ret=None,
                           **limits)
    except errors.EmulatorError as exc:
        raise _explain(exc, m, compiled, tensors, timeout) from exc
    for t in tensors:
        t.check_red_zone(compiled.name)
    outs = [m.read(t.addr, t.array.dtype, t.array.shape) if t.writable else t.array for t in tensors]
    return outs, m.cycles, m.instret, m.profile()


class _Placed:
    """One tensor argument in guest memory: its own pages at ``addr``, read-only unless
    ``writable``, unmapped memory around them, a red zone after the elements."""

    def __init__(self, m: Machine, array: np.ndarray, name: str, addr: int, writable: bool = True):
        self.m, self.array, self.name, self.addr, self.writable = m, array, name, addr, writable
        self.size = -(-max(array.nbytes, 1) // PAGE) * PAGE
        if self.size > TENSOR_SLOT // 2:
            raise MemoryError(f"tensor {name} ({array.nbytes} bytes) is too large for the emulator")
        m.map(self.addr, self.size, "rw" if writable else "r")
        m.write(self.addr, array)
        red = self.size - array.nbytes   # (not a whole tensor's worth of pattern cut down: 4 MB of page faults)
        self.red = (RED_ZONE * (red // len(RED_ZONE) + 1))[:red]
        m.write(self.addr + array.nbytes, self.red)

    def distance(self, addr: int) -> int:
        """How far ``addr`` lies outside this tensor's pages (0 inside)."""
        return max(self.addr - addr, addr - (self.addr + self.size - 1), 0)

    def check_red_zone(self, kernel: str) -> None:
        """Raise :class:`rvai.lang.BoundsError` if the kernel wrote past the tensor's end."""
        after = self.m.read_bytes(self.addr + self.array.nbytes, len(self.red))
        if after != self.red:
            first = next(i for i, (a, b) in enumerate(zip(after, self.red)) if a != b)
            last = max(i for i, (a, b) in enumerate(zip(after, self.red)) if a != b)
            n, item = self.array.size, self.array.itemsize
            raise core.BoundsError(kernel, self.name, -1, n + first // item, last // item - first // item + 1, n,
                                   None, "red zone written")


def _explain(exc: errors.EmulatorError, m: Machine, compiled: CompiledKernel, tensors: list[_Placed],
             timeout: float | None) -> Exception:
    """The exception to raise for a kernel stopped by ``exc``: a failed bounds check or a
    guard-page fault become :class:`rvai.lang.BoundsError`; others keep their class and
    gain the kernel's name."""
    report = m.symbols.get(f"{compiled.name}.bounds")
    check_id = int(m.read(report, np.int64, 1)[0]) if report is not None else 0
    if isinstance(exc, errors.StoreFault) and exc.addr == TRAP_ADDR and 0 < check_id <= len(compiled.checks):
        _, start, count, size = (int(v) for v in m.read(report, np.int64, 4))
        tensor, axis, filename, line = compiled.checks[check_id - 1]
        return core.BoundsError(compiled.name, tensor, axis, start, count, size, (filename, line))
    if isinstance(exc, (errors.LoadFault, errors.StoreFault)) and exc.addr is not None and tensors:
        near = min(tensors, key=lambda t: t.distance(exc.addr))
        if near.distance(exc.addr) < TENSOR_SLOT // 2:
            at, _ = compiled.source_at(exc.pc - m.symbols[compiled.name])
            where = ("a store into the tensor, which the kernel's code never stores through (mapped read-only)"
                     if near.distance(exc.addr) == 0 and not near.writable else "unmapped memory around the tensor")
            return core.BoundsError(compiled.name, near.name, -1, (exc.addr - near.addr) // near.array.itemsize, 1,
                                    near.array.size, at, f"{where}: {exc}")
    detail = f"in kernel {compiled.name}{_where(m, compiled, exc.pc)}"
    if isinstance(exc, errors.BudgetExceeded):
        detail = f"{m.instret} instructions retired {detail}; pass budget= to allow more"
    elif isinstance(exc, errors.TimeLimitExceeded):
        detail = (f"limit {DEFAULT_TIMEOUT if timeout is None else timeout:g} s; {m.instret} instructions "
                  f"retired {detail}; pass timeout= to allow more")
    return type(exc)(exc.pc, exc.addr, exc.disasm, exc.symbol, detail)


def _where(m: Machine, compiled: CompiledKernel, pc: int) -> str:
    """``" at file:line, in the loop at file:line"`` for a pc inside the kernel, from its line table."""
    at, loop = compiled.source_at(pc - m.symbols[compiled.name])
    if at is None:
        return ""
    text = f" at {at[0]}:{at[1]}"
    return text + (f", in the loop at {loop[0]}:{loop[1]}" if loop else "")


def _check_scalar(kernel: Kernel, name: str, dtype: ir.DType, val: Any) -> int | float:
    """``val`` as the Python number a scalar parameter of ``dtype`` receives; a value that
    would arrive changed (a fraction or out of range for an integer) is an error."""
    where = f"kernel {kernel.name}: {name} ({dtype})"
    if isinstance(val, np.ndarray) and val.shape == ():
        val = val.item()
    if not isinstance(val, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where} must be a number, not {type(val).__name__}")
    if dtype.is_float:
        return float(val)
    if isinstance(val, (float, np.floating)) and not float(val).is_integer():
        raise TypeError(f"{where} must be an integer, not {val!r}")
    lo, hi = (-(1 << (dtype.bits - 1)), 1 << (dtype.bits - 1)) if dtype.kind == "i" else (0, 1 << dtype.bits)
    if not lo <= int(val) < hi:
        raise OverflowError(f"{where} must lie in [{lo}, {hi - 1}], not {int(val)}")
    return int(val)


def _check_array(kernel: Kernel, name: str, spec: TensorSpec, val: Any) -> ir.DType:
    """The element type of ``val``, checked against the parameter's annotation."""
    where = f"kernel {kernel.name}: {name}"
    if not isinstance(val, np.ndarray):
        raise TypeError(f"{where} must be a NumPy array, not {type(val).__name__}")
    if val.ndim != spec.ndim:
        raise ValueError(f"{where} must have {spec.ndim} dimensions, not {val.ndim}")
    if spec.dtype is not None and spec.dtype.name == "bf16":
        if val.dtype != np.uint16:
            raise TypeError(f"{where}: bf16 tensors travel as uint16 bit patterns")
        return spec.dtype
    dt = _FROM_NUMPY.get(val.dtype)
    if dt is None:
        raise TypeError(f"{where} has unsupported dtype {val.dtype}")
    if spec.dtype is not None and dt != spec.dtype:
        raise TypeError(f"{where} must be {spec.dtype}, got {val.dtype}")
    return dt
