"""``@kernel``: parameters, tracing to rvai IR, compiling and calling with NumPy arrays."""
from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import re
import sys
import traceback
from typing import Any, Callable, Protocol

from rvai import ir
from rvai.lang import core

__all__ = ["kernel", "Kernel", "Launch", "TensorSpec", "Backend", "constexpr", "set_backend", "checked_default",
           "grid_size", "GRID_PARAMS"]

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

    #: Tunable parameters declared with :func:`rvai.lang.autotune` (None: not tunable).
    autotune = None

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

    def trace(self, types: dict | None = None, *, checked: bool = False, grid: bool = False,
              has_extension: Callable[[str], bool] | None = None, **constexprs) -> ir.Function:
        """Run the kernel body on proxies and return its verified rvai IR.

        ``checked`` puts a bounds check (a ``bounds`` op) before every tensor access.
        ``grid`` traces it as the programs of a launch grid: the function gains
        the i64 parameters of :data:`GRID_PARAMS` and runs the body for the
        programs ``first, first + step, ...`` below the grid's size, each with
        its ``program_id``/``num_programs``.
        ``has_extension`` answers :func:`rvai.lang.target_has` for the target (the
        runner's :func:`rvai.runner.extension_query`; it raises ValueError for a name it
        does not know); None traces for no target, and ``target_has`` raises.
        """
        dtypes = self._types(types)
        params: list[ir.Value] = []
        proxies: dict[str, Any] = {}
        with core.tracing(checked, has_extension) as tr:
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
                if grid:
                    self._trace_programs(tr, params, bound)
                else:
                    self.fn(*bound.args, **bound.kwargs)
            except core.KernelError:
                raise
            except RecursionError:
                raise
            except Exception as exc:
                # The author's own exception wins over the "loop body left early" note that
                # unwinding it through a runtime loop leaves behind (tr.pending).
                raise core.KernelError(f"{type(exc).__name__}: {exc}", _user_frame(exc)) from exc
            if tr.pending is not None:
                raise tr.pending
            fn = ir.Function(self.name, params, tr.blocks[0], dict(tr.fn_attrs))
        try:
            ir.verify(fn)
        except ir.IRError as exc:
            raise core.KernelError(str(exc), exc.loc) from None
        return fn

    def _trace_programs(self, tr: core.Tracer, params: list[ir.Value], bound) -> None:
        """The body once, inside a runtime loop over this thread's programs."""
        extra = [ir.Value(ir.ScalarType(ir.i64), n) for n in GRID_PARAMS]
        params += extra
        first, step, *sizes = (core.Scalar(v) for v in extra)
        n0, n1, n2 = sizes
        for lin in core.range(first, n0 * n1 * n2, step):
            tr.programs = ((lin % n0, lin // n0 % n1, lin // (n0 * n1)), (n0, n1, n2))
            self.fn(*bound.args, **bound.kwargs)
        tr.programs = None

    def __getitem__(self, grid) -> "Launch":
        """``kernel[grid](...)``: run the kernel as a grid of programs (Triton's
        shape), spread over the target machine's harts.  ``grid`` is an int, a
        tuple of up to three ints, or a function of the call's compile-time
        parameters (a dict) giving one."""
        return Launch(self, grid)

    def bind(self, *args, **kwargs) -> tuple[dict[str, Any], dict[str, Any]]:
        """Split a call's arguments into runtime arguments and compile-time parameters (by name)."""
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        runtime = {k: v for k, v in bound.arguments.items() if k in self.runtime}
        consts = {k: v for k, v in bound.arguments.items() if k not in self.runtime}
        return runtime, consts

    def compile(self, target=None, *, types: dict | None = None, vlen: int | None = None,
                checked: bool | None = None, grid: bool = False, **constexprs):
        """Compile for ``target`` (a Target or a preset name; the default preset if None): a
        :class:`rvai.codegen.CompiledKernel`.

        The object is vector-length agnostic unless ``vlen`` is given: then it is
        specialised for exactly that VLEN (and runs only there). ``checked`` compiles a
        bounds check into every tensor access (None: :func:`checked_default`). Cached in
        memory per (types, compile-time parameters, target, vlen, checked, grid) and on disk by IR.
        ``grid`` compiles the grid form (see :meth:`trace`).
        """
        return _backend().compile(self, target, types=types, vlen=vlen, constexprs=constexprs,
                                  checked=checked_default() if checked is None else checked, grid=grid)

    def __call__(self, *args, target=None, runner: str = "emu", specialise: bool = False,
                 checked: bool | None = None, budget: int | None = None, timeout: float | None = None,
                 **kwargs):
        """Compile for the arguments' dtypes and run; arrays are updated in place.

        ``target`` is a Target or a preset name (the default preset if None; the backend
        converts it). ``runner`` is ``"emu"`` (the rvai emulator, at ``target.vlen``) or ``"qemu"``
        (qemu-user, an independent oracle; no cycle counts). ``specialise=True`` compiles
        for exactly ``target.vlen`` instead of vector-length-agnostic code. ``checked``
        compiles in exact bounds checks (None: :func:`checked_default`); a failed one
        raises :class:`rvai.lang.BoundsError`. ``budget`` (instructions) and ``timeout``
        (seconds) bound the call (None: the runner's defaults, see docs/dsl.md). Returns a
        :class:`rvai.runner.Run` with cycles, retired instructions and the profile.
        """
        if core.tracing_active():
            raise core.fail(f"kernel {self.name} is called while a kernel is being traced: a kernel cannot "
                            "call a kernel (nor itself); put the shared code in a plain Python function "
                            "and call that from both")
        return _backend().call(self, args, kwargs, target=target, runner=runner, specialise=specialise,
                               checked=checked_default() if checked is None else checked,
                               budget=budget, timeout=timeout)


#: The i64 parameters a grid kernel gets after its own: the first program this
#: thread runs, the stride to its next, and the grid's size on axes 0, 1, 2.
GRID_PARAMS = ("program_first", "program_step", "num_programs0", "num_programs1", "num_programs2")


class Launch:
    """``kernel[grid]``: calling it runs the kernel's programs (see :meth:`Kernel.__getitem__`)."""

    def __init__(self, kernel: Kernel, grid):
        self.kernel, self.grid = kernel, grid

    def __call__(self, *args, target=None, specialise: bool = False, checked: bool | None = None,
                 budget: int | None = None, timeout: float | None = None, **kwargs):
        """As :meth:`Kernel.__call__` (on the emulator), the programs spread over the
        target's harts; ``budget`` counts the instructions of all of them."""
        if core.tracing_active():
            raise core.fail(f"kernel {self.kernel.name} is launched while a kernel is being traced")
        return _backend().call(self.kernel, args, kwargs, target=target, runner="emu", specialise=specialise,
                               checked=checked_default() if checked is None else checked,
                               budget=budget, timeout=timeout, grid=self.grid)


def grid_size(grid, constexprs: dict) -> tuple[int, int, int]:
    """A launch grid as three positive sizes: from an int, a tuple of one to
    three ints, or a function of the compile-time parameters giving one."""
    if callable(grid):
        grid = grid(dict(constexprs))
    dims = grid if isinstance(grid, tuple) else (grid,)
    if not 1 <= len(dims) <= 3 or not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
        raise TypeError(f"a launch grid is an int or a tuple of 1 to 3 ints, not {grid!r}")
    if any(d < 1 for d in dims):
        raise ValueError(f"a launch grid's sizes must be positive, not {grid!r}")
    return tuple(dims) + (1,) * (3 - len(dims))


def checked_default() -> bool:
    """Whether kernels are compiled with bounds checks when ``checked`` is not given:
    true when the environment variable ``RVAI_CHECKED`` is ``1`` (the test suite sets it)."""
    return os.environ.get("RVAI_CHECKED", "") == "1"


class Backend(Protocol):
    """What compiles and runs kernels for :class:`Kernel` (``rvai.runner`` is the one rvai installs)."""

    def compile(self, kernel: Kernel, target, *, types: dict | None, vlen: int | None, constexprs: dict,
                checked: bool, grid: bool = False) -> Any:
        """Trace ``kernel`` with ``types`` and ``constexprs`` (as a grid kernel with ``grid``)
        and compile it for ``target``."""

    def call(self, kernel: Kernel, args: tuple, kwargs: dict, *, target, runner: str, specialise: bool,
             checked: bool, budget: int | None, timeout: float | None, grid=None) -> Any:
        """Compile for the arguments and run within ``budget`` and ``timeout`` (the programs
        of launch grid ``grid`` over the target's harts, if given); write arrays back;
        return the run record."""


_BACKEND_LOADER: Callable[[], Backend] | None = None


def set_backend(loader: Callable[[], Backend]) -> None:
    """Install the compile-and-run backend, as a callable giving it on first use.

    The language itself knows no compiler or emulator (it imports only ``rvai.ir``);
    without a call here it uses the loader its parent package offers as
    ``rvai._kernel_backend`` (``rvai.runner``), so ``import rvai`` need not load
    the language at all.
    """
    global _BACKEND_LOADER
    _BACKEND_LOADER = loader


def _backend() -> Backend:
    loader = _BACKEND_LOADER or getattr(sys.modules.get("rvai"), "_kernel_backend", None)
    if loader is None:
        raise RuntimeError("no kernel backend installed: import rvai (it offers rvai.runner)")
    return loader()


def kernel(fn: Callable) -> Kernel:
    """Decorator: make ``fn`` an rvai :class:`Kernel`."""
    return Kernel(fn)
