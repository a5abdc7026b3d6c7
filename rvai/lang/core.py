"""The tracer and the values a kernel body computes with.

A kernel function runs once, at compile time, on proxy objects: :class:`Scalar`,
:class:`Vector`, :class:`Mask`, :class:`Tensor` and :class:`Var`. Every operation on a
proxy appends an op to the rvai IR being built, tagged with the author's source line.
Python control flow runs at trace time (and so unrolls); runtime loops are
:func:`range` and the strip-mined :func:`vloop`.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Any, Callable, Iterator

from rvai import ir

__all__ = ["KernelError", "BoundsError", "Scalar", "Vector", "Mask", "Tensor", "Var", "range", "vloop", "vector",
           "var", "const", "full", "zeros", "arange", "where", "fma", "dot4", "mma", "minimum", "maximum", "sqrt",
           "abs", "cast"]

_LANG_DIR = os.path.dirname(os.path.abspath(__file__))
_state = threading.local()


class KernelError(Exception):
    """A mistake in a kernel, reported at the author's source line (``filename``, ``lineno``)."""

    def __init__(self, message: str, loc: ir.Loc | None = None):
        self.filename, self.lineno = loc if loc else (None, None)
        self.message = message
        super().__init__(f"{loc[0]}:{loc[1]}: {message}" if loc else message)


class BoundsError(IndexError):
    """A checked kernel accessed a tensor outside its bounds (raised by the runner after the call).

    ``kernel``, ``tensor`` (parameter name), ``axis`` (-1: the flattened tensor), ``start``
    and ``count`` (the elements the access touched), ``size`` (of that axis), and the
    author's ``filename`` / ``lineno`` (None where the access could not be located).
    """

    def __init__(self, kernel: str, tensor: str, axis: int, start: int, count: int, size: int,
                 loc: ir.Loc | None = None, how: str = "exact check"):
        self.kernel, self.tensor, self.axis, self.start, self.count, self.size = \
            kernel, tensor, axis, start, count, size
        self.filename, self.lineno = loc if loc else (None, None)
        where = f"axis {axis} (size {size})" if axis >= 0 else f"the flattened tensor (size {size})"
        what = f"index {start}" if count == 1 else f"indices {start}..{start + count - 1}"
        text = f"kernel {kernel}: {tensor}: {what} out of bounds for {where} [{how}]"
        super().__init__(f"{loc[0]}:{loc[1]}: {text}" if loc else text)


def user_loc() -> ir.Loc | None:
    """(file, line) of the innermost caller outside ``rvai.lang``."""
    frame = sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(_LANG_DIR + os.sep):
            return (frame.f_code.co_filename, frame.f_lineno)
        frame = frame.f_back
    return None


def fail(message: str) -> KernelError:
    """A :class:`KernelError` at the author's current line (to ``raise``)."""
    return KernelError(message, user_loc())


class Tracer:
    """The state of one trace: the block stack and the active vector contexts."""

    def __init__(self, checked: bool = False, has_extension: Callable[[str], bool] | None = None) -> None:
        self.checked = checked   # emit a bounds check before every tensor access
        self.has_extension = has_extension   # answers rvai.lang.target_has; None: traced for no target
        self.blocks: list[ir.Block] = [ir.Block()]
        self.vctx: list[tuple[int, ir.Value]] = []   # (elements per vscale, vl)
        self.pending: KernelError | None = None
        # under a launch grid: the program's index and the grid's size on each axis
        self.programs: tuple[tuple["Scalar", ...], tuple["Scalar", ...]] | None = None
        self.fn_attrs: dict[str, Any] = {}   # the function's ir.Function.attrs

    def emit(self, opcode: str, operands: list[ir.Value], type: Any = None, attrs: dict | None = None,
             body: ir.Block | None = None) -> ir.Value | None:
        """Append an op to the innermost open block; return its result value."""
        if self.pending is not None:
            raise self.pending
        result = ir.Value(type) if type is not None else None
        op = ir.Op(opcode, list(operands), dict(attrs or {}), result, body, user_loc())
        try:
            ir._check_op(op)
        except ir.IRError as exc:
            raise KernelError(str(exc), op.loc) from None
        self.blocks[-1].ops.append(op)
        return result


def tracer() -> Tracer:
    """The active tracer; a :class:`KernelError` outside of a trace."""
    tr = getattr(_state, "tracer", None)
    if tr is None:
        raise fail("rvai.lang operations can only be used inside a kernel being traced")
    return tr


def tracing_active() -> bool:
    """True while a kernel body is being traced (in this thread)."""
    return getattr(_state, "tracer", None) is not None


@contextlib.contextmanager
def tracing(checked: bool = False, has_extension: Callable[[str], bool] | None = None) -> Iterator[Tracer]:
    """Make a fresh :class:`Tracer` active for the duration of the block.

    ``checked``: every tensor access is preceded by a ``bounds`` op (an exact check).
    ``has_extension``: what :func:`target_has` asks (None: traced for no target).
    """
    prev = getattr(_state, "tracer", None)
    _state.tracer = Tracer(checked, has_extension)
    try:
        yield _state.tracer
    finally:
        _state.tracer = prev


# ---------------------------------------------------------------------- conversions

def const(value: Any, dtype: ir.DType) -> "Scalar":
    """A compile-time constant scalar of ``dtype``."""
    if isinstance(value, bool) and dtype.kind != "b":
        value = int(value)
    if dtype.is_int and not float(value).is_integer():
        raise fail(f"constant {value!r} is not an integer but is used as {dtype}")
    v = int(value) if dtype.is_int or dtype.kind == "b" else float(value)
    return Scalar(tracer().emit("const", [], ir.ScalarType(dtype), {"value": v}))


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) or isinstance(x, bool)


def to_value(x: Any, dtype: ir.DType | None = None) -> "Scalar | Vector | Mask":
    """``x`` as a proxy: Python numbers become constants of ``dtype`` (i64/f32 by default)."""
    if isinstance(x, Var):
        x = x.value
    if isinstance(x, (Scalar, Vector, Mask)):
        return x
    if _is_num(x):
        if dtype is None:
            dtype = ir.f32 if isinstance(x, float) else ir.i64
        return const(x, dtype)
    if hasattr(x, "dtype") and hasattr(x, "item") and getattr(x, "shape", None) == ():
        return to_value(x.item(), dtype)
    raise fail(f"a kernel cannot compute with a {type(x).__name__} value ({x!r})")


def index(x: Any) -> ir.Value:
    """``x`` as an i64 IR value (Python ints or integer scalars, widened)."""
    s = to_value(x, ir.i64)
    if not isinstance(s, Scalar) or not s.dtype.is_int:
        raise fail(f"an index must be an integer scalar, not {s._desc()}")
    return s.to(ir.i64).value


def _unify(a: Any, b: Any) -> tuple[Any, Any]:
    """Proxies for ``a`` and ``b`` with Python numbers taking the other side's dtype."""
    if isinstance(a, Var):
        a = a.value
    if isinstance(b, Var):
        b = b.value
    da = a.dtype if isinstance(a, (Scalar, Vector)) else None
    db = b.dtype if isinstance(b, (Scalar, Vector)) else None
    a, b = to_value(a, db), to_value(b, da)
    if isinstance(a, Mask) or isinstance(b, Mask):
        raise fail("masks combine with &, | and ^ only; use rvai.lang.where to select values")
    if a.dtype != b.dtype:
        raise fail(f"operands differ in dtype: {a.dtype} and {b.dtype}; convert one with .to(dtype)")
    return a, b


def _active_vl(n: int) -> ir.Value:
    tr = tracer()
    if not tr.vctx:
        raise fail("vector operations need an active vector length: use them inside rvai.lang.vloop "
                   "or rvai.lang.vector")
    elems, vl = tr.vctx[-1]
    if n != elems:
        raise fail("this vector belongs to a vector context with another SEW/LMUL ratio than the "
                   "innermost vloop")
    return vl


def vtype(dtype: ir.DType) -> ir.VectorType:
    """The vector type of ``dtype`` elements in the innermost vector context."""
    tr = tracer()
    if not tr.vctx:
        zero = "0.0" if dtype.is_float else "0"
        raise fail(f"vector values need an active vector length: use rvai.lang.vloop or rvai.lang.vector; "
                   f"for a scalar write a number, rl.const({zero}, rl.{dtype.name}) or "
                   f"rl.var({zero}, rl.{dtype.name})")
    t = ir.VectorType(dtype, tr.vctx[-1][0])
    lmul = ir.lmul_of(t)
    if lmul > 8 or lmul < 0.125:
        raise fail(f"{dtype} vectors would need LMUL {lmul:g} in this vloop (allowed 1/8..8): "
                   "use a smaller lmul or sew")
    return t


def _binary(kind: str, a: Any, b: Any) -> "Scalar | Vector":
    a, b = _unify(a, b)
    dt = a.dtype
    if dt.is_float and kind not in ir.FLOAT_BIN_OPS:
        raise fail(f"operator {kind!r} is not defined on {dt} values")
    if isinstance(a, Vector) or isinstance(b, Vector):
        vt = a.type if isinstance(a, Vector) else b.type
        return Vector(tracer().emit("vbin", [a.value, b.value, _active_vl(vt.n)], vt, {"op": kind}))
    return Scalar(tracer().emit("bin", [a.value, b.value], a.type, {"op": kind}))


def _compare(pred: str, a: Any, b: Any) -> "Scalar | Mask":
    a, b = _unify(a, b)
    if isinstance(a, Vector) or isinstance(b, Vector):
        vt = a.type if isinstance(a, Vector) else b.type
        return Mask(tracer().emit("vcmp", [a.value, b.value, _active_vl(vt.n)], ir.MaskType(vt.n), {"pred": pred}))
    return Scalar(tracer().emit("cmp", [a.value, b.value], ir.ScalarType(ir.bool_), {"pred": pred}))


class _Arith:
    """Operators shared by scalars and vectors."""

    value: ir.Value

    @property
    def type(self):
        """The IR type of this value."""
        return self.value.type

    @property
    def dtype(self) -> ir.DType:
        """The element type."""
        return self.value.type.dtype

    def _desc(self) -> str:
        return f"{type(self).__name__.lower()} of {self.dtype}"

    def __add__(self, o): return _binary("add", self, o)
    def __radd__(self, o): return _binary("add", o, self)
    def __sub__(self, o): return _binary("sub", self, o)
    def __rsub__(self, o): return _binary("sub", o, self)
    def __mul__(self, o): return _binary("mul", self, o)
    def __rmul__(self, o): return _binary("mul", o, self)

    def __truediv__(self, o):
        if self.dtype.is_int:
            raise fail("use // for integer division")
        return _binary("div", self, o)

    def __rtruediv__(self, o):
        if self.dtype.is_int:
            raise fail("use // for integer division")
        return _binary("div", o, self)

    def __floordiv__(self, o):
        if self.dtype.is_float:
            raise fail("// is integer division; use / for floats")
        return _binary("div", self, o)

    def __rfloordiv__(self, o):
        if self.dtype.is_float:
            raise fail("// is integer division; use / for floats")
        return _binary("div", o, self)

    def __mod__(self, o): return _binary("rem", self, o)
    def __rmod__(self, o): return _binary("rem", o, self)
    def __and__(self, o): return _binary("and", self, o)
    def __rand__(self, o): return _binary("and", o, self)
    def __or__(self, o): return _binary("or", self, o)
    def __ror__(self, o): return _binary("or", o, self)
    def __xor__(self, o): return _binary("xor", self, o)
    def __rxor__(self, o): return _binary("xor", o, self)
    def __lshift__(self, o): return _binary("shl", self, o)
    def __rshift__(self, o): return _binary("shr", self, o)
    def __lt__(self, o): return _compare("lt", self, o)
    def __le__(self, o): return _compare("le", self, o)
    def __gt__(self, o): return _compare("gt", self, o)
    def __ge__(self, o): return _compare("ge", self, o)
    def __eq__(self, o): return _compare("eq", self, o)  # type: ignore[override]
    def __ne__(self, o): return _compare("ne", self, o)  # type: ignore[override]
    __hash__ = None  # type: ignore[assignment]

    def __neg__(self): return _unary("neg", self)
    def __pos__(self): return self
    def __abs__(self): return _unary("abs", self) if self.dtype.is_float else maximum(self, -self)

    def __pow__(self, o):
        raise fail("** is not supported on kernel values; multiply explicitly or use rvai.lang.exp")

    def __matmul__(self, o):
        raise fail("@ is not supported on kernel values; write the loops (see rvai.kernels.matmul)")

    def __bool__(self):
        raise fail("a runtime value has no truth value at trace time: Python if/while/and/or cannot "
                   "branch on it; use rvai.lang.where, or loop bounds computed with minimum/maximum")

    def __index__(self):
        raise fail("a runtime value cannot be used where Python needs an int (e.g. Python range()); "
                   "use rvai.lang.range for runtime loops")

    __int__ = __float__ = __index__

    def __iter__(self):
        raise fail(f"a {self._desc()} cannot be iterated")

    def to(self, dtype: ir.DType, rounding: str | None = None):
        """Convert to ``dtype`` (float<->float, int<->int widening or narrowing, int<->float).

        Float to int truncates toward zero, or for vectors rounds by ``rounding``
        (:data:`ROUNDINGS`: ``"even"``, nearest with ties to even; ``"away"``, nearest with
        ties away from zero, C's ``roundf``); float narrowing rounds to nearest even.
        """
        return cast(self, dtype, rounding)

    def bitcast(self, dtype: ir.DType):
        """Reinterpret the bits as ``dtype`` (same width)."""
        if dtype.bits != self.dtype.bits:
            raise fail(f"bitcast from {self.dtype} to {dtype} changes the width")
        if isinstance(self, Vector):
            return Vector(tracer().emit("vbitcast", [self.value], vtype(dtype)))
        return Scalar(tracer().emit("bitcast", [self.value], ir.ScalarType(dtype)))


def _unary(kind: str, x: Any):
    x = to_value(x, ir.f32)
    if isinstance(x, Vector):
        return Vector(tracer().emit("vun", [x.value, _active_vl(x.type.n)], x.type, {"op": kind}))
    return Scalar(tracer().emit("un", [x.value], x.type, {"op": kind}))


class Scalar(_Arith):
    """A runtime scalar (integer, float or bool) in a kernel."""

    __slots__ = ("value",)

    def __init__(self, value: ir.Value):
        self.value = value

    def __repr__(self) -> str:
        return f"<Scalar {self.dtype}>"


class Vector(_Arith):
    """A register-group vector of the active vector length; elements past ``vl`` are undefined."""

    __slots__ = ("value",)

    def __init__(self, value: ir.Value):
        self.value = value

    def __repr__(self) -> str:
        return f"<Vector {self.type}>"

    def _reduce(self, kind: str) -> Scalar:
        return Scalar(tracer().emit("vreduce", [self.value, _active_vl(self.type.n)], ir.ScalarType(self.dtype),
                                    {"op": kind}))

    def sum(self) -> Scalar:
        """Sum of the first ``vl`` elements (unordered; 0 when vl is 0)."""
        return self._reduce("sum")

    def max(self) -> Scalar:
        """Maximum of the first ``vl`` elements (-inf or the type's minimum when vl is 0)."""
        return self._reduce("max")

    def min(self) -> Scalar:
        """Minimum of the first ``vl`` elements (+inf or the type's maximum when vl is 0)."""
        return self._reduce("min")

    def first(self) -> Scalar:
        """Element 0 (``vfmv.f.s`` / ``vmv.x.s``): no reduction, so no reduction's cost (on
        sifive-x280 a reduction holds the permute unit 35 cycles and more, a move one). The
        vector must have been computed at a vl of at least 1; element 0 is otherwise
        unspecified."""
        if self.dtype == ir.bf16:
            raise fail("first() of bf16 vectors: convert to f32 first")
        return Scalar(tracer().emit("vfirst", [self.value], ir.ScalarType(self.dtype)))


class Mask:
    """A vector of booleans from a vector comparison; combine with ``&``, ``|``, ``^``, ``~``."""

    __slots__ = ("value",)

    def __init__(self, value: ir.Value):
        self.value = value

    def _logic(self, kind: str, other: Any) -> "Mask":
        if not isinstance(other, Mask) or other.value.type != self.value.type:
            raise fail(f"{kind} of a mask needs another mask of the same length")
        return Mask(tracer().emit("mlogic", [self.value, other.value], self.value.type, {"op": kind}))

    def __and__(self, o): return self._logic("and", o)
    def __or__(self, o): return self._logic("or", o)
    def __xor__(self, o): return self._logic("xor", o)

    def __invert__(self) -> "Mask":
        return Mask(tracer().emit("mnot", [self.value], self.value.type))

    def __bool__(self):
        raise fail("a mask has no truth value at trace time; use rvai.lang.where")


class Var:
    """A mutable kernel variable: the way to carry values across runtime loop iterations.

    Read it with ``.value`` (or use it directly in expressions); write it with
    ``.value = x`` or the augmented assignments ``+=``, ``-=``, ``*=``, ``/=``.
    """

    __slots__ = ("ref",)

    def __init__(self, init: Any, dtype: ir.DType | None = None):
        init = to_value(init, dtype)
        if dtype is not None and init.dtype != dtype:
            init = init.to(dtype)
        self.ref = tracer().emit("var", [init.value], ir.VarType(init.value.type))

    @property
    def value(self):
        """The current value."""
        inner = self.ref.type.inner
        v = tracer().emit("get", [self.ref], inner)
        if isinstance(inner, ir.VectorType):
            _active_vl(inner.n)
            return Vector(v)
        return Mask(v) if isinstance(inner, ir.MaskType) else Scalar(v)

    @value.setter
    def value(self, new: Any) -> None:
        inner = self.ref.type.inner
        new = to_value(new, inner.dtype if hasattr(inner, "dtype") else None)
        if new.value.type != inner:
            raise fail(f"cannot assign a {new.value.type} value to a variable of {inner}")
        tracer().emit("set", [self.ref, new.value])

    def __iadd__(self, o): self.value = self.value + o; return self
    def __isub__(self, o): self.value = self.value - o; return self
    def __imul__(self, o): self.value = self.value * o; return self
    def __itruediv__(self, o): self.value = self.value / o; return self

    def _fwd(name):  # noqa: N805 - builds forwarding operators
        def op(self, *args):
            return getattr(self.value, name)(*args)
        op.__name__ = name
        op.__doc__ = f"``{name}`` of the current value."
        return op

    for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
                  "__rtruediv__", "__floordiv__", "__mod__", "__neg__", "__lt__", "__le__", "__gt__",
                  "__ge__", "__eq__", "__ne__", "__bool__", "__index__", "to", "sum", "max", "min", "bitcast",
                  "__and__", "__or__", "__xor__", "__lshift__", "__rshift__"):
        locals()[_name] = _fwd(_name)
    del _name, _fwd
    __hash__ = None  # type: ignore[assignment]

    @property
    def dtype(self) -> ir.DType:
        """The element type of the value held."""
        return self.ref.type.inner.dtype


def var(init: Any, dtype: ir.DType | None = None) -> Var:
    """A new :class:`Var` holding ``init`` (converted to ``dtype`` if given)."""
    return Var(init, dtype)


# ---------------------------------------------------------------------- tensors

class Tensor:
    """A tensor parameter: a pointer, a runtime shape and runtime strides (in elements).

    The last axis is always unit-stride; ``t[i, j]`` loads a scalar, ``t[i, j] = x`` stores
    one, and :meth:`vload` / :meth:`vstore` move vectors of the active length.
    """

    def __init__(self, ptr: ir.Value, shape: tuple, strides: tuple, base: Any = None):
        # base: the element offset of a view's first element (see select), None for a parameter
        self.ptr, self.shape, self.strides, self.base = ptr, shape, strides, base

    @property
    def dtype(self) -> ir.DType:
        """The element type."""
        return self.ptr.type.dtype

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self.shape)

    def offset(self, idx: tuple) -> ir.Value:
        """Element offset of the position ``idx`` (one index per axis), from the parameter's pointer."""
        return self._flat(self._indices(idx))

    def select(self, i: Any) -> "Tensor":
        """The view ``t[i, ...]``: axis 0 fixed at ``i``, one axis fewer (as ``torch.select(t, 0, i)``).

        Loads and stores through the view address the same memory; bounds checks
        check ``i`` against axis 0 here and the other indices against the view's axes.
        A launch grid's programs take their own scratch so: ``s.select(rl.program_id(0))``.
        """
        if self.ndim < 2:
            raise fail("select needs a tensor of at least 2 axes (it fixes axis 0)")
        i = index(i)
        if tracer().checked:
            self._check("range", 0, [i, const(1, ir.i64).value, self.shape[0].value])
        start = Scalar(i) * self.strides[0]
        base = start if self.base is None else Scalar(self.base) + start
        return Tensor(self.ptr, self.shape[1:], self.strides[1:], base.value)

    def view(self, *shape: Any) -> "Tensor":
        """The tensor's memory, from its first element, as a row-major array of ``shape``
        (as ``torch.Tensor.view`` of a contiguous tensor; no instruction).

        The view reads memory in order, so a tensor whose rows are not packed (axis 0's
        stride past its row) shows the gaps between them too: view contiguous tensors
        (a kernel's scratch, an input made contiguous). Checked kernels check that the
        view's elements lie within the tensor (axis 0's size times its stride).
        """
        if not shape:
            raise fail("view needs at least one axis")
        dims = tuple(Scalar(index(n)) for n in shape)
        strides: list = [1]
        for n in reversed(dims[1:]):       # the row-major strides: each the product of the axes after it
            strides.insert(0, n if len(strides) == 1 else n * strides[0])
        if tracer().checked:
            count = dims[0] * strides[0] if len(dims) > 1 else dims[0]
            extent = self.shape[0] * self.strides[0] if self.ndim > 1 else self.shape[0]
            self._check("range", -1, [const(0, ir.i64).value, count.value, extent.value])
        return Tensor(self.ptr, dims, tuple(strides), self.base)

    def _indices(self, idx: tuple) -> list[ir.Value]:
        if len(idx) != self.ndim:
            raise fail(f"a {self.ndim}-d tensor needs {self.ndim} indices, got {len(idx)}")
        if any(isinstance(i, slice) for i in idx):
            raise fail("tensor slicing is not supported; index element by element or use vload")
        return [index(i) for i in idx]

    def _flat(self, indices: list[ir.Value], view: bool = False) -> ir.Value:
        """The element offset of ``indices`` from the pointer (``view``: from a view's first element)."""
        total = None if view or self.base is None else Scalar(self.base)
        for i, s in zip(indices, self.strides):
            term = Scalar(i) if isinstance(s, int) else Scalar(i) * s
            total = term if total is None else total + term
        return total.value

    def _check(self, kind: str, axis: int, operands: list[ir.Value]) -> None:
        """A ``bounds`` op (see :func:`rvai.ir._check_bounds`) at the author's line."""
        filename, lineno = user_loc() or ("?", 0)
        tracer().emit("bounds", operands, None,
                      {"kind": kind, "tensor": self.ptr.name, "axis": axis, "at": f"{filename}:{lineno}"})

    def _check_axes(self, indices: list[ir.Value], axis: int | None = None, vl: ir.Value | None = None,
                    mask: Any = None) -> None:
        """In checked kernels, each index within its axis; along ``axis`` the ``vl`` elements
        (the lanes in ``mask``) from it. An access of vl = 0 touches nothing and is not checked."""
        if not tracer().checked:
            return
        one = const(1, ir.i64) if vl is None else minimum(Scalar(vl), 1)
        for k, i in enumerate(indices):
            count, extra = (vl, [mask.value] if mask is not None else []) if k == axis else (one.value, [])
            self._check("range", k, [i, count, self.shape[k].value] + extra)

    def __getitem__(self, idx) -> Scalar:
        idx = idx if isinstance(idx, tuple) else (idx,)
        indices = self._indices(idx)
        self._check_axes(indices)
        return Scalar(tracer().emit("load", [self.ptr, self._flat(indices)], ir.ScalarType(self.dtype)))

    def __setitem__(self, idx, value) -> None:
        idx = idx if isinstance(idx, tuple) else (idx,)
        value = to_value(value, self.dtype)
        if not isinstance(value, Scalar):
            raise fail("t[...] = x stores one scalar; use t.vstore(vector, ...) for vectors")
        if value.dtype != self.dtype:
            raise fail(f"cannot store a {value.dtype} value into a {self.dtype} tensor; convert with .to()")
        indices = self._indices(idx)
        self._check_axes(indices)
        tracer().emit("store", [self.ptr, self._flat(indices), value.value])

    def _access(self, idx: tuple, axis: int, offsets: Any, mask: Any,
                fields: int = 1) -> tuple[list[ir.Value], dict, ir.VectorType]:
        vt = vtype(self.dtype)
        vl = _active_vl(vt.n)
        if not isinstance(axis, int) or not -self.ndim <= axis < self.ndim:
            raise fail(f"axis must be an int in [-{self.ndim}, {self.ndim}) for a {self.ndim}-d tensor, "
                       f"not {axis!r}")
        if mask is not None and (not isinstance(mask, Mask) or mask.value.type != ir.MaskType(vt.n)):
            raise fail("mask must be a Mask from a comparison in this vloop")
        indices = self._indices(idx)
        operands = [self.ptr, self._flat(indices), vl]
        attrs: dict = {"kind": "unit"}
        if offsets is not None:
            if not isinstance(offsets, Vector) or not offsets.dtype.is_int:
                raise fail("offsets must be an integer vector (element offsets)")
            attrs["kind"] = "indexed"
            operands.append(offsets.value if offsets.dtype.bits in (32, 64) else offsets.to(ir.i32).value)
            if tracer().checked:
                extent = self.shape[0] * self.strides[0] if self.ndim > 1 else self.shape[0]
                self._check("offsets", -1, [self._flat(indices, view=True), vl, extent.value, operands[3]]
                            + ([mask.value] if mask is not None else []))
        else:
            last = self.ndim - 1
            if axis % self.ndim != last:
                attrs["kind"] = "strided"
                operands.append(index(self.strides[axis % self.ndim]))
            if fields > 1 and axis % self.ndim == last:   # packed segments: vl * fields elements
                if tracer().checked:
                    self._check_axes(indices, last, (Scalar(vl) * fields).value)
            else:
                self._check_axes(indices, axis % self.ndim, vl, mask)
                if fields > 1 and tracer().checked:   # each segment's fields along the last axis
                    self._check("range", last, [indices[last], const(fields, ir.i64).value, self.shape[last].value])
        if mask is not None:
            attrs["masked"] = True
            operands.append(mask.value)
        return operands, attrs, vt

    def vload(self, *idx, axis: int = -1, mask: Mask | None = None, other: Any = 0) -> Vector:
        """Load ``vl`` elements starting at ``idx`` along ``axis`` (strided if not the last).

        With ``mask``, lanes where the mask is false are not read and hold ``other``.
        """
        operands, attrs, vt = self._access(idx, axis, None, mask)
        out = Vector(tracer().emit("vload", operands, vt, attrs))
        return where(mask, out, other) if mask is not None else out

    def vstore(self, value: Vector, *idx, axis: int = -1, mask: Mask | None = None) -> None:
        """Store the first ``vl`` elements of ``value`` at ``idx`` along ``axis``; only lanes in ``mask``."""
        self._store(value, idx, axis, None, mask)

    def vstore_segments(self, values: list, *idx, axis: int = -1, mask: Mask | None = None) -> None:
        """Store the first ``vl`` elements of the NF vectors ``values`` (2 to 8 fields of one
        type) as ``vl`` segments of NF elements: segment k holds element k of each vector, field f
        (``values[f]``) f elements along the last axis after the segment's first.

        Along the last axis (``axis`` -1) the segments are packed, segment k from the element
        k * NF after ``idx`` (``vsseg<NF>e<EEW>.v``; each preset prices segments by its own cost
        rows, e.g. spacemit-x60 a cycle a field element: docs/timing-model.md);
        along another axis segment k starts k steps along it, that axis's stride apart
        (``vssseg``). With ``mask`` only the segments whose lane is set are written; a
        checked kernel checks packed segments' elements, masked or not, against the last axis.
        ``values[f]`` at LMUL ``L`` takes L registers: L * NF must be at most 8 (RVV's EMUL * NFIELDS).
        """
        if not isinstance(values, (list, tuple)):
            raise fail("vstore_segments takes a list of 2 to 8 vectors, the segments' fields")
        values = [v.value if isinstance(v, Var) else v for v in values]
        if not 2 <= len(values) <= 8:
            raise fail(f"vstore_segments takes 2 to 8 fields, not {len(values)}")
        if not all(isinstance(v, Vector) for v in values):
            raise fail("vstore_segments stores vectors; broadcast scalars with rvai.lang.full")
        if any(v.type != values[0].type for v in values):
            raise fail("the fields of vstore_segments differ in type: "
                       + ", ".join(sorted({v._desc() for v in values})))
        if values[0].dtype != self.dtype:
            raise fail(f"cannot store {values[0].dtype} vectors into a {self.dtype} tensor; convert with .to()")
        lmul = ir.lmul_of(values[0].type)
        if lmul * len(values) > 8:
            raise fail(f"{len(values)} fields at LMUL {lmul:g} take {lmul * len(values):g} registers, more "
                       "than RVV's 8 for a segment (EMUL * NFIELDS <= 8): use a smaller lmul or fewer fields")
        operands, attrs, _ = self._access(idx, axis, None, mask, fields=len(values))
        tracer().emit("vstore_seg", [v.value for v in values] + operands, None, {**attrs, "fields": len(values)})

    def cache_zero(self, *idx, count: Any, blocks: int | None = None) -> None:
        """Declare that the ``count`` elements from ``idx`` along the last axis will be written
        before they are read: where the target has Zicboz, each 64-byte cache block (Zic64b)
        wholly inside them is zeroed with ``cbo.zero``, which claims the line in the cache
        without reading it from memory (a store miss would read it first); elsewhere nothing
        is emitted. Their values are unspecified until written: zero on one target, unchanged
        on another. Blocks that hold other elements (at either end) are left alone.

        ``blocks`` (an int) claims at most the first that many whole blocks, each by a
        compare and a branch, with no loop: for a claim inside a hot loop, where a loop of
        its own makes LLVM spill the registers around it (softmax's skewed exp pass).
        """
        if blocks is not None and (not isinstance(blocks, int) or isinstance(blocks, bool) or blocks < 1):
            raise fail(f"cache_zero: blocks must be a positive int or None, not {blocks!r}")
        indices = self._indices(idx)
        count = index(count)
        self._check_axes(indices, self.ndim - 1, count)
        tracer().emit("cache_zero", [self.ptr, self._flat(indices), count], None,
                      {} if blocks is None else {"blocks": blocks})

    def prefetch(self, *idx, write: bool = False) -> None:
        """Hint that the cache line holding element ``idx`` is read soon (``write=True``: written).

        Lowers to LLVM's ``llvm.prefetch``, which becomes Zicbop's ``prefetch.r`` /
        ``prefetch.w`` on targets that have Zicbop (the timing model then fills the line
        while the core goes on) and nothing on targets without it.  A prefetch never
        faults, so ``idx`` may lie past the tensor's end (the block after the last one):
        checked kernels do not check it, and it has no effect on any result.
        """
        if not isinstance(write, bool):
            raise fail("prefetch(write=...) takes True or False")
        tracer().emit("prefetch", [self.ptr, self._flat(self._indices(idx))], None, {"write": write})

    def touch(self, *idx) -> None:
        """Load element ``idx`` and discard it, so that its cache line comes in: a prefetch
        for targets without Zicbop. An in-order core (sifive-x280, the timing model) waits
        for a load only where its result is used, and nothing uses this one, so its miss
        overlaps the work after it. It is a real load (a volatile one, which LLVM keeps):
        the element must lie inside the tensor, counted as a flat offset from its first
        element (an index may run past the end of its axis into the rows after it), and
        checked kernels check that; outside the tensor it may fault as any load.
        """
        indices = self._indices(idx)
        if tracer().checked:
            extent = self.shape[0] * self.strides[0] if self.ndim > 1 else self.shape[0]
            self._check("range", -1, [self._flat(indices, view=True), const(1, ir.i64).value, extent.value])
        tracer().emit("touch", [self.ptr, self._flat(indices)], None)

    def gather(self, offsets: Vector, *idx, mask: Mask | None = None, other: Any = 0) -> Vector:
        """Load elements at ``idx`` plus each of the element ``offsets`` (indexed load)."""
        operands, attrs, vt = self._access(idx, -1, offsets, mask)
        out = Vector(tracer().emit("vload", operands, vt, attrs))
        return where(mask, out, other) if mask is not None else out

    def scatter(self, value: Vector, offsets: Vector, *idx, mask: Mask | None = None) -> None:
        """Store ``value`` at ``idx`` plus each of the element ``offsets`` (indexed store)."""
        self._store(value, idx, -1, offsets, mask)

    def _store(self, value: Any, idx: tuple, axis: int, offsets: Any, mask: Any) -> None:
        if isinstance(value, Var):
            value = value.value
        if not isinstance(value, Vector):
            raise fail("vstore needs a vector; broadcast scalars with rvai.lang.full")
        if value.dtype != self.dtype:
            raise fail(f"cannot store {value.dtype} vectors into a {self.dtype} tensor; convert with .to()")
        operands, attrs, _ = self._access(idx, axis, offsets, mask)
        tracer().emit("vstore", [value.value] + operands, None, attrs)


# ---------------------------------------------------------------------- loops

def _region(opcode: str, operands: list[ir.Value], arg_types: list, attrs: dict | None = None):
    tr = tracer()
    body = ir.Block([ir.Value(t) for t in arg_types])
    tr.emit(opcode, operands, None, attrs, body)
    tr.blocks.append(body)
    return tr, body


def _close(tr: Tracer, body: ir.Block, normal: bool, what: str) -> None:
    if tr.blocks and tr.blocks[-1] is body:
        tr.blocks.pop()
    if not normal and tr.pending is None:
        tr.pending = KernelError(f"a {what} body was left early (break, return or an exception): "
                                 "runtime loops always run to completion", body.ops[0].loc if body.ops else None)


def _grid_axis(axis: Any, what: str) -> int:
    tr = tracer()
    if tr.programs is None:
        raise fail(f"{what} needs a launch grid: call the kernel as kernel[grid](...)")
    if axis not in (0, 1, 2):
        raise fail(f"{what}: axis must be 0, 1 or 2, not {axis!r}")
    return axis


def program_id(axis: int = 0) -> Scalar:
    """This program's index along ``axis`` (0, 1 or 2) of the launch grid (i64)."""
    axis = _grid_axis(axis, "program_id")
    return tracer().programs[0][axis]


def num_programs(axis: int = 0) -> Scalar:
    """The launch grid's size along ``axis`` (i64)."""
    axis = _grid_axis(axis, "num_programs")
    return tracer().programs[1][axis]


def schedule_as(cpu: str) -> None:
    """Compile the kernel being traced with LLVM's tuning for ``cpu`` (``tune-cpu``: its
    scheduling model and its unrolling preferences) instead of the target cpu's; the
    instructions LLVM may use stay the target's.

    ``cpu`` is a name of :data:`rvai.target.KNOWN_CPUS` (checked when the kernel is
    compiled: the language knows no targets). The in-order sifive-x280 model,
    for one, places each scalar load of a loop right before its use, so the misses of
    several such loads wait one after the other on an in-order core, and unrolls small
    loops 4 times; ``"generic-rv64"`` keeps the loads together and the loop rolled.
    A kernel may call this more than once only with the same cpu.
    """
    tr = tracer()
    if not isinstance(cpu, str) or not cpu:
        raise fail(f"rvai.lang.schedule_as: cpu must be an LLVM cpu name, not {cpu!r}")
    if tr.fn_attrs.get("tune_cpu", cpu) != cpu:
        raise fail(f"rvai.lang.schedule_as: the kernel is already scheduled as {tr.fn_attrs['tune_cpu']!r}, "
                   f"not {cpu!r}")
    tr.fn_attrs["tune_cpu"] = cpu


def target_has(extension: str) -> bool:
    """Whether the target the kernel is being compiled for has ``extension`` (a lower-case
    name of :data:`rvai.target.KNOWN_EXTENSIONS`, e.g. ``"zicbop"``), as LLVM enables it
    for that target: a Python bool at trace time, so that a kernel can leave out what
    the target would run in vain (a loop that only issues Zicbop prefetches compiles to
    an empty loop that still runs where there is no Zicbop). The kernel is traced once
    per target; the compiler answers, and rejects a name it does not know (the language
    knows no targets). A trace made for no target (``Kernel.trace`` without
    ``has_extension``) cannot answer and raises.
    """
    tr = tracer()
    if not isinstance(extension, str):
        raise fail(f"rvai.lang.target_has: the extension must be a str, not {extension!r}")
    if tr.has_extension is None:
        raise fail("rvai.lang.target_has: this trace is for no target; compile the kernel for one "
                   "(Kernel.compile, a call) or pass Kernel.trace(has_extension=...)")
    try:
        return bool(tr.has_extension(extension))
    except ValueError as exc:
        raise fail(f"rvai.lang.target_has: {exc}") from None


def no_jump_tables() -> None:
    """Compile the kernel being traced without jump tables: LLVM lowers a switch (a chain of
    tests of one value, such as a dispatch over tile heights) to compares and branches.

    A jump table is data, read with a load and an indirect jump: in a kernel whose streams
    evict it from L1 between dispatches the load misses (``gemm_packed``'s row-tile
    dispatch on sifive-x280 at 16 x 3584 x 512 f16: 82 cycles a dispatch), where the
    branches cost a cycle or two each when predicted.
    """
    tracer().fn_attrs["no_jump_tables"] = True


def touch_frame() -> None:
    """Load and discard one byte of each cache line of the kernel's own stack frame (with the
    stack arguments it reads), so that those lines come back into cache here.

    LLVM keeps in the frame the values it spills (a loop nest's outer state, when the inner
    loops hold every register) and the arguments past the eighth. A loop that streams more
    data than the cache holds between two uses of a spilled value evicts its line, and the
    reload then waits for DRAM: placed once per block of such a stream, this keeps the frame
    in cache (``gemm_packed`` at 16 x 4096 f16 on sifive-x280: each row tile streams 512 KiB
    of B through the 256 KiB L2 and reloaded its loop state from DRAM). The frame's size is
    known only once the kernel is compiled: each touch is compiled as placeholder loads whose
    offsets :mod:`rvai.codegen.frame` patches into the object from the extent its own code
    uses above sp (one LLVM run). The loads are volatile (LLVM keeps them) and their values
    unused, so an in-order core does not wait for them; each lies inside the frame or the
    arguments (at most sp + 2047, a load's reach), so it never faults.
    """
    tracer().emit("touch_frame", [], None)


def range(start: Any, stop: Any = None, step: Any = 1, *, unroll: bool = True) -> Iterator[Scalar]:  # noqa: A001
    """A runtime loop ``for i in rvai.lang.range(start, stop, step)`` (step > 0), index i64.

    The body is traced once. Use Python's own ``range`` to unroll at trace time.
    ``unroll=False`` tells LLVM not to unroll the loop (``llvm.loop.unroll.disable``):
    its unroller copies a body per its cpu's cost model, and the copies' memory
    instructions can outnumber a target's prefetch streams (one per instruction).
    """
    if stop is None:
        start, stop = 0, start
    if isinstance(step, int) and step <= 0:
        raise fail("rvai.lang.range needs a positive step")
    if not isinstance(unroll, bool):
        raise fail(f"rvai.lang.range: unroll must be True or False, not {unroll!r}")
    operands = [index(start), index(stop), index(step)]
    tr, body = _region("for", operands, [ir.ScalarType(ir.i64)], None if unroll else {"unroll": False})
    normal = False
    try:
        yield Scalar(body.args[0])
        normal = True
    finally:
        _close(tr, body, normal, "rvai.lang.range")


_SEWS = (8, 16, 32, 64)
_LMULS = (0.125, 0.25, 0.5, 1, 2, 4, 8)


def _check_sew_lmul(sew: Any, lmul: Any) -> int:
    if sew not in _SEWS:
        raise fail(f"sew must be one of {_SEWS}, got {sew!r}")
    if lmul not in _LMULS:
        raise fail(f"lmul must be one of 1/8, 1/4, 1/2, 1, 2, 4, 8, got {lmul!r}")
    n = 64 * lmul / sew
    if n < 1:
        raise fail(f"sew={sew} with lmul={lmul} is not a legal RVV configuration for ELEN 64")
    return int(n)


def vloop(n: Any, sew: int = 32, lmul: Any = 1) -> Iterator[tuple[Scalar, Scalar]]:
    """A strip-mined loop over ``n`` elements: ``for vl, i in vloop(n, sew=32, lmul=4)``.

    Each trip sets ``vl = vsetvl(n - i)`` for elements of ``sew`` bits grouped by ``lmul``
    and covers elements ``i .. i+vl-1``. Vectors of other element widths in the body keep
    the same element count (an f16 load in an e32/m4 loop occupies m2).
    """
    elems = _check_sew_lmul(sew, lmul)
    tr, body = _region("vloop", [index(n)], [ir.ScalarType(ir.i64)] * 2, {"sew": sew, "lmul": lmul})
    tr.vctx.append((elems, body.args[0]))
    normal = False
    try:
        yield Scalar(body.args[0]), Scalar(body.args[1])
        normal = True
    finally:
        tr.vctx.pop()
        _close(tr, body, normal, "rvai.lang.vloop")


@contextlib.contextmanager
def vector(avl: Any, sew: int = 32, lmul: Any = 1) -> Iterator[Scalar]:
    """``with vector(avl, sew, lmul) as vl:`` sets ``vl = vsetvl(avl)`` for the block (no loop)."""
    elems = _check_sew_lmul(sew, lmul)
    tr = tracer()
    vl = tr.emit("vsetvl", [index(avl)], ir.ScalarType(ir.i64), {"sew": sew, "lmul": lmul})
    tr.vctx.append((elems, vl))
    try:
        yield Scalar(vl)
    finally:
        tr.vctx.pop()


# ---------------------------------------------------------------------- functions

def full(value: Any, dtype: ir.DType | None = None, *, bound: bool = False) -> Vector:
    """A vector with every element ``value`` (a scalar or number; f32 by default).

    LLVM's generic splat, unless ``bound``: then the ``vl``-bound ``vmv.v.x`` /
    ``vfmv.v.f`` intrinsic, into which LLVM folds nothing (a generic splat's bitcast
    becomes a splat of the bitcast scalar: an integer splat of a float's bits turns back
    into ``vfmv.v.f``) and whose register it allocates otherwise (softmax's ``BITS``).
    """
    s = to_value(value, dtype or ir.f32)
    if dtype is not None and s.dtype != dtype:
        s = s.to(dtype)
    if not isinstance(s, Scalar):
        raise fail("full() takes a scalar")
    vt = vtype(s.dtype)
    return Vector(tracer().emit("vsplat", [s.value, _active_vl(vt.n)], vt, {"bound": True} if bound else {}))


def zeros(dtype: ir.DType = ir.f32) -> Vector:
    """A vector of zeros."""
    return full(0, dtype)


def arange(dtype: ir.DType = ir.i32) -> Vector:
    """The vector ``0, 1, 2, ...`` (``vid``) of an integer ``dtype``."""
    if not dtype.is_int:
        raise fail("arange gives integers; convert with .to(f32)")
    vt = vtype(dtype)
    return Vector(tracer().emit("vid", [_active_vl(vt.n)], vt))


def slidedown(x: Any, offset: Any) -> Vector:
    """Elements ``offset`` on of the vector ``x``, moved down to element 0 (``vslidedown.vx``):
    element ``i`` of the result, for ``i`` below the innermost context's vl, is element
    ``i + offset`` of ``x``. Elements of ``x`` at or past the vl it was computed at are
    unspecified, so keep ``i + offset`` below that vl. ``offset`` is a non-negative integer
    scalar. A step of a tree maximum of the first n elements: ``rl.maximum(x, rl.slidedown(x,
    h))`` in a context of vl ``n - h``, ``h = n // 2``, leaves the maximum of the n in the
    first n - h (docs/dsl.md).
    """
    if isinstance(x, Var):
        x = x.value
    if not isinstance(x, Vector):
        raise fail("slidedown takes a vector")
    if x.dtype == ir.bf16:
        raise fail("slidedown of bf16 vectors: convert to f32 first")
    if isinstance(offset, int) and offset < 0:
        # vslidedown takes the offset unsigned: -1 would slide everything out
        raise fail(f"slidedown's offset must be non-negative, not {offset}")
    return Vector(tracer().emit("vslidedown", [x.value, index(offset), _active_vl(x.type.n)], x.type))


def where(cond: Any, a: Any, b: Any):
    """Elementwise ``a if cond else b``: ``cond`` a Mask (vectors) or a bool scalar."""
    if isinstance(cond, Var):
        cond = cond.value
    if isinstance(cond, Mask):
        n = cond.value.type.n
        a, b = _unify(a, b)
        vt = (a if isinstance(a, Vector) else b).type if isinstance(a, Vector) or isinstance(b, Vector) \
            else vtype(a.dtype)
        if vt.n != n:
            raise fail("where(): mask and values differ in length")
        a, b = (x if isinstance(x, Vector) else full(x, x.dtype) for x in (a, b))
        return Vector(tracer().emit("vselect", [cond.value, a.value, b.value, _active_vl(n)], vt))
    if isinstance(cond, Scalar) and cond.dtype == ir.bool_:
        a, b = _unify(a, b)
        if isinstance(a, Vector) or isinstance(b, Vector):
            raise fail("where() with a scalar condition takes scalar values")
        return Scalar(tracer().emit("select", [cond.value, a.value, b.value], a.type))
    raise fail("where() needs a Mask or a bool scalar condition (from a comparison)")


def fma(a: Any, b: Any, c: Any):
    """``a * b + c`` with one rounding (``vfmacc``); ``a`` may be a scalar and ``b`` a vector.

    Widening forms, where ``c`` is a vector of twice the width of ``a`` and ``b``:
    f16 operands and an f32 ``c``: the product is formed exactly in f32 and added with
    one rounding (``vfwmacc``, needs Zvfh); bf16 operands and an f32 ``c``: the same
    (``vfwmaccbf16`` where the target has Zvfbfwma, else both widened to f32 and one
    ``vfmacc``, which rounds identically); integer operands (i8/u8, i16/u16, i32/u32,
    mixed signs allowed) and an integer ``c`` of twice their width: the exact product
    added modulo 2^(2w) (``vwmacc``, ``vwmaccu``, ``vwmaccsu``, ``vwmaccus``); ``c`` is
    unsigned only when both factors are.
    """
    c = c.value if isinstance(c, Var) else c
    if isinstance(c, Vector) and c.dtype.is_int:
        return _wmacc(a, b, c)
    a, b = _unify(a, b)
    if isinstance(c, Vector) and a.dtype in (ir.f16, ir.bf16) and c.dtype == ir.f32:
        if isinstance(b, Scalar):
            a, b = b, a
        if not isinstance(b, Vector):
            raise fail(f"a widening fma needs a vector among its {a.dtype} operands")
        return Vector(tracer().emit("vfma", [a.value, b.value, c.value, _active_vl(c.type.n)], c.type))
    b, c = _unify(b, c)
    if not a.dtype.is_float:
        raise fail("fma() is for floats")
    if isinstance(b, Vector) or isinstance(c, Vector) or isinstance(a, Vector):
        if isinstance(b, Scalar):
            a, b = b, a
        vt = next(x.type for x in (a, b, c) if isinstance(x, Vector))
        b, c = (x if isinstance(x, Vector) else full(x, x.dtype) for x in (b, c))
        return Vector(tracer().emit("vfma", [a.value, b.value, c.value, _active_vl(vt.n)], vt))
    return Scalar(tracer().emit("fma", [a.value, b.value, c.value], a.type))


def _wmacc(a: Any, b: Any, c: "Vector") -> "Vector":
    """``c + a * b`` for integers, the product at the width of ``c`` (``vwmacc*``)."""
    half = ir.DTYPES.get(f"{c.dtype.kind}{c.dtype.bits // 2}")
    a, b = (x.value if isinstance(x, Var) else x for x in (a, b))
    da = a.dtype if isinstance(a, (Scalar, Vector)) else None
    db = b.dtype if isinstance(b, (Scalar, Vector)) else None
    a, b = to_value(a, db or half), to_value(b, da or half)
    if isinstance(b, Scalar):
        a, b = b, a
    if not isinstance(b, Vector) or isinstance(a, Mask):
        raise fail("an integer fma multiplies a vector (by a scalar or a vector) into a vector accumulator")
    return Vector(tracer().emit("vwmacc", [a.value, b.value, c.value, _active_vl(c.type.n)], c.type))


def dot4(acc: Any, a: Any, b: Any) -> "Vector":
    """Each 32-bit lane of ``acc`` plus the dot product of the 4 bytes packed in the same
    lane of ``a`` and of ``b`` (``b`` may be a scalar word, the same 4 bytes for every lane).

    ``a`` and ``b`` are i32 or u32 vectors holding packed 8-bit integers, little-endian,
    signed in i32 words and unsigned in u32 words (load an int8 tensor viewed as int32 to
    get them); ``acc`` is i32 (or u32) and the sum wraps modulo 2^32. Lowers to Zvqdotq's
    ``vqdot``/``vqdotu``/``vqdotsu``/``vqdotus`` where the target has it, else to plain
    RVV (each byte extracted by shifts, then ``vmacc``).
    """
    acc = acc.value if isinstance(acc, Var) else acc
    a = a.value if isinstance(a, Var) else a
    if not isinstance(acc, Vector) or not isinstance(a, Vector):
        raise fail("dot4(acc, a, b) needs vectors acc and a (b may be a scalar)")
    b = to_value(b, a.dtype)
    if isinstance(b, Mask):
        raise fail("dot4 takes integer words, not a mask")
    return Vector(tracer().emit("vdot4", [acc.value, a.value, b.value, _active_vl(acc.type.n)], acc.type))


def mma(acc: Any, a: Any, b: Any, shape: tuple[int, int, int]) -> "Vector":
    """Matrix tile multiply-accumulate: ``C += A @ B.T`` on a tile of ``shape = (M, N, K)``.

    ``acc`` (i32) holds C (M x N) row-major in its first M*N lanes; ``a`` holds A (M x K)
    and ``b`` holds B (N x K), row-major, as i8 (signed) or u8 (unsigned) vectors with
    twice ``acc``'s lanes. Shapes have M = N and K = 2N (the IME cores' shapes: 4 x 4 x 8
    at VLEN 256, 8 x 8 x 16 at VLEN 1024). On a target with SpacemiT's IME (XSMTVDot),
    compiled for the VLEN whose IME tile is ``shape``, this is one ``smt.vmadot*``
    (``acc`` must then be an LMUL-2 group, ``a`` and ``b`` LMUL 1); elsewhere it lowers to
    vector code (gathers, ``vwmul``, ``vwadd.wv``) with the same result.
    """
    acc, a, b = (x.value if isinstance(x, Var) else x for x in (acc, a, b))
    if not all(isinstance(x, Vector) for x in (acc, a, b)):
        raise fail("mma(acc, a, b, shape) takes three vectors")
    if not (isinstance(shape, tuple) and len(shape) == 3):
        raise fail(f"mma shape must be a tuple (M, N, K), got {shape!r}")
    return Vector(tracer().emit("mma", [acc.value, a.value, b.value], acc.type, dict(zip("MNK", shape))))


def minimum(a: Any, b: Any):
    """Elementwise minimum (``vfmin``/``vmin``; for floats, NaN loses to a number)."""
    return _binary("min", a, b)


def maximum(a: Any, b: Any):
    """Elementwise maximum (``vfmax``/``vmax``; for floats, NaN loses to a number)."""
    return _binary("max", a, b)


def sqrt(x: Any):
    """Correctly rounded square root (``vfsqrt`` / ``fsqrt``)."""
    return _unary("sqrt", x)


def abs(x: Any):  # noqa: A001
    """Absolute value."""
    return to_value(x, ir.f32).__abs__()


#: Rounding modes of a vector float-to-int conversion (:meth:`Scalar.to`), by the RISC-V
#: ``frm`` code each selects (LLVM sets it around the one instruction).
ROUNDINGS = {"even": 0, "away": 4}


def cast(x: Any, dtype: ir.DType, rounding: str | None = None):
    """``x`` converted to ``dtype`` (see :meth:`Scalar.to`)."""
    x = to_value(x, dtype)
    if rounding is not None and (rounding not in ROUNDINGS or not isinstance(x, Vector)
                                 or not x.dtype.is_float or not dtype.is_int):
        raise fail(f"rounding= ({sorted(ROUNDINGS)}) is for vector float-to-int conversions, "
                   f"got {rounding!r} for {x.dtype} to {dtype}")
    if x.dtype == dtype:
        return x
    if dtype.kind == "b" or x.dtype.kind == "b":
        raise fail("bool values convert with where(cond, 1, 0)")
    if isinstance(x, Vector):
        vt = vtype(dtype)
        attrs = {"frm": ROUNDINGS[rounding]} if rounding else None
        return Vector(tracer().emit("vcast", [x.value, _active_vl(vt.n)], vt, attrs))
    return Scalar(tracer().emit("cast", [x.value], ir.ScalarType(dtype)))
