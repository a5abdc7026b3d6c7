"""rvai IR: a small typed IR of kernels, with a printer and a verifier.

A :class:`Function` holds typed parameters and a :class:`Block` of :class:`Op` s. Loops
(``for``, ``vloop``) own a nested block whose arguments are the loop index (and the
vector length). Vectors are *scalable*: ``vec<8 x f32>`` means ``<vscale x 8 x float>``,
``vscale = VLEN / 64``, so one IR function runs at every VLEN. All vector ops take the
active vector length ``vl`` as an explicit operand. Mutable variables (``var``) carry
values across loop iterations; the backend turns them into SSA registers.
"""
from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Callable

__all__ = [
    "DType", "ScalarType", "VectorType", "MaskType", "PtrType", "VarType", "Value", "Op",
    "Block", "Function", "IRError", "Loc", "DTYPES", "verify", "lmul_of",
    "f16", "bf16", "f32", "f64", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "bool_",
]


@dataclasses.dataclass(frozen=True)
class DType:
    """An element type: ``kind`` is ``'f'`` (float), ``'i'`` (signed), ``'u'`` (unsigned) or ``'b'`` (bool)."""

    name: str
    kind: str
    bits: int

    @property
    def is_float(self) -> bool:
        """True for f16, bf16, f32, f64."""
        return self.kind == "f"

    @property
    def is_int(self) -> bool:
        """True for signed and unsigned integers."""
        return self.kind in "iu"

    def __repr__(self) -> str:
        return self.name


f16, bf16, f32, f64 = DType("f16", "f", 16), DType("bf16", "f", 16), DType("f32", "f", 32), DType("f64", "f", 64)
i8, i16, i32, i64 = DType("i8", "i", 8), DType("i16", "i", 16), DType("i32", "i", 32), DType("i64", "i", 64)
u8, u16, u32, u64 = DType("u8", "u", 8), DType("u16", "u", 16), DType("u32", "u", 32), DType("u64", "u", 64)
bool_ = DType("bool", "b", 1)
#: Every dtype by name.
DTYPES = {d.name: d for d in (f16, bf16, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64, bool_)}


@dataclasses.dataclass(frozen=True)
class ScalarType:
    """A scalar of ``dtype``."""

    dtype: DType

    def __str__(self) -> str:
        return self.dtype.name


@dataclasses.dataclass(frozen=True)
class VectorType:
    """A scalable vector ``<vscale x n x dtype>`` (LMUL = n * bits / 64)."""

    dtype: DType
    n: int

    def __str__(self) -> str:
        return f"vec<{self.n} x {self.dtype.name}>"


@dataclasses.dataclass(frozen=True)
class MaskType:
    """A scalable mask ``<vscale x n x i1>``."""

    n: int

    def __str__(self) -> str:
        return f"mask<{self.n}>"


@dataclasses.dataclass(frozen=True)
class PtrType:
    """A pointer to elements of ``dtype``."""

    dtype: DType

    def __str__(self) -> str:
        return f"ptr<{self.dtype.name}>"


@dataclasses.dataclass(frozen=True)
class VarType:
    """A mutable variable holding a value of type ``inner``."""

    inner: Any

    def __str__(self) -> str:
        return f"var<{self.inner}>"


def lmul_of(vtype: VectorType) -> float:
    """The register-group multiplier LMUL a vector type occupies."""
    return vtype.n * vtype.dtype.bits / 64


#: Where an op came from: (filename, line number) of the kernel author's source.
Loc = tuple[str, int]


class IRError(Exception):
    """An ill-formed IR function; ``loc`` is the offending op's source location."""

    def __init__(self, message: str, loc: Loc | None = None):
        super().__init__(message)
        self.loc = loc


_ids = itertools.count()


class Value:
    """An SSA value: a function parameter, a block argument or an op result."""

    __slots__ = ("type", "name", "id")

    def __init__(self, type: Any, name: str = ""):
        self.type = type
        self.name = name
        self.id = next(_ids)

    def __repr__(self) -> str:
        return f"%{self.name or self.id}: {self.type}"


@dataclasses.dataclass
class Block:
    """A list of ops with arguments (loop indices) defined on entry."""

    args: list[Value] = dataclasses.field(default_factory=list)
    ops: list["Op"] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Op:
    """One operation: ``opcode`` applied to ``operands`` with ``attrs``; maybe a result and a body."""

    opcode: str
    operands: list[Value]
    attrs: dict[str, Any] = dataclasses.field(default_factory=dict)
    result: Value | None = None
    body: Block | None = None
    loc: Loc | None = None


@dataclasses.dataclass
class Function:
    """A kernel: named, typed parameters and a body; ``attrs`` are whole-function
    settings for the compiler (``tune_cpu``: see :func:`rvai.lang.schedule_as`;
    ``no_jump_tables``: :func:`rvai.lang.no_jump_tables`)."""

    name: str
    params: list[Value]
    body: Block
    attrs: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        return Printer().function(self)


# ----------------------------------------------------------------------------- printer

class Printer:
    """Text form of IR, stable enough to hash for the compile cache."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}

    def name(self, v: Value) -> str:
        """The printed name of ``v`` (numbered in order of first appearance)."""
        if v.id not in self.names:
            self.names[v.id] = f"%{len(self.names)}"
        return self.names[v.id]

    def function(self, fn: Function) -> str:
        """Print a whole function."""
        params = ", ".join(f"{self.name(p)} {p.name}: {p.type}" for p in fn.params)
        attrs = "".join(f" {k}={_attr(v)}" for k, v in sorted(fn.attrs.items()))
        return f"func @{fn.name}({params}){attrs} {{\n" + self.block(fn.body, "  ") + "}\n"

    def block(self, block: Block, indent: str) -> str:
        """Print the ops of ``block`` at ``indent``."""
        out = []
        for op in block.ops:
            lhs = f"{self.name(op.result)} = " if op.result is not None else ""
            args = ", ".join(self.name(v) for v in op.operands)
            attrs = "".join(f" {k}={_attr(v)}" for k, v in sorted(op.attrs.items()))
            ty = f" : {op.result.type}" if op.result is not None else ""
            line = f"{indent}{lhs}{op.opcode}{attrs} {args}{ty}".rstrip()
            if op.body is not None:
                bargs = ", ".join(self.name(a) for a in op.body.args)
                out.append(f"{line} -> ({bargs}) {{\n" + self.block(op.body, indent + "  ") + f"{indent}}}\n")
            else:
                out.append(line + "\n")
        return "".join(out)


def _attr(v: Any) -> str:
    return repr(v) if isinstance(v, (float, str)) else str(v)


# ---------------------------------------------------------------------------- verifier

BIN_OPS = {"add", "sub", "mul", "div", "rem", "min", "max", "and", "or", "xor", "shl", "shr"}
FLOAT_BIN_OPS = {"add", "sub", "mul", "div", "min", "max"}
CMP_PREDS = {"lt", "le", "gt", "ge", "eq", "ne"}
UNARY_OPS = {"neg", "sqrt", "abs", "rsqrt7"}
REDUCE_OPS = {"sum", "max", "min"}
MASK_OPS = {"and", "or", "xor"}


def _scal(t: Any) -> bool:
    return isinstance(t, ScalarType)


def _vec(t: Any) -> bool:
    return isinstance(t, VectorType)


def _i64(t: Any) -> bool:
    return t == ScalarType(i64)


def _elem(t: Any) -> DType | None:
    return t.dtype if isinstance(t, (ScalarType, VectorType)) else None


def _check_bin(op: Op, vector: bool) -> None:
    a, b = op.operands[0].type, op.operands[1].type
    kind = op.attrs.get("op")
    _require(kind in BIN_OPS, op, f"unknown binary op {kind!r}")
    _require(_elem(a) is not None and _elem(a) == _elem(b), op,
             f"operands of {kind} differ in type: {a} and {b}")
    dt = _elem(a)
    _require(dt.kind != "b", op, f"{kind} is not defined on bool")
    _require(dt != bf16, op, f"{kind} is not defined on bf16: convert to f32 first")
    _require(dt.is_int or kind in FLOAT_BIN_OPS, op, f"{kind} is not defined on float {dt}")
    if vector:
        _require(_vec(a) or _vec(b), op, "vector op without a vector operand")
        _require(not (_vec(a) and _vec(b)) or a == b, op, f"vector shapes differ: {a} and {b}")
        _require(_i64(op.operands[2].type), op, "vl must be i64")
    else:
        _require(_scal(a), op, "scalar op on non-scalars")


def _check_vl(op: Op, index: int = -1) -> None:
    _require(_i64(op.operands[index].type), op, "vl must be i64")


def _check_vmem(op: Op) -> None:
    kind = op.attrs.get("kind")
    _require(kind in ("unit", "strided", "indexed"), op, f"unknown access kind {kind!r}")
    store = op.opcode != "vload"
    fields = op.attrs.get("fields") if op.opcode == "vstore_seg" else int(store)
    if op.opcode == "vstore_seg":   # vstore_seg(v0, ..., v{fields-1}, ptr, index, vl[, stride][, mask])
        _require(type(fields) is int and 2 <= fields <= 8 and kind != "indexed", op,
                 "vstore_seg needs fields 2..8 and a unit or strided access")
        _require(all(v.type == op.operands[0].type for v in op.operands[:fields]), op, "the fields differ in type")
    ops = op.operands[fields:]
    ptr, index, vl = ops[0].type, ops[1].type, ops[2].type
    _require(isinstance(ptr, PtrType), op, "vector memory op needs a pointer")
    _require(_i64(index) and _i64(vl), op, "index and vl must be i64")
    rest = ops[3:]
    if kind == "strided":
        _require(_i64(rest[0].type), op, "stride must be i64")
        rest = rest[1:]
    if kind == "indexed":
        _require(_vec(rest[0].type) and rest[0].type.dtype in (i32, i64, u32, u64), op,
                 "offsets must be a vector of i32/i64")
        rest = rest[1:]
    vtype = op.operands[0].type if store else op.result.type
    _require(_vec(vtype) and vtype.dtype == ptr.dtype, op, f"element type {ptr.dtype} does not match {vtype}")
    if kind == "indexed":
        _require(ops[3].type.n == vtype.n, op, "offsets and data differ in length")
    _require(len(rest) == int(bool(op.attrs.get("masked"))), op, "mask operand mismatch")
    if rest:
        _require(rest[0].type == MaskType(vtype.n), op, "mask length does not match the data")


def _check_bounds(op: Op) -> None:
    """``bounds`` asserts that a tensor access stays inside the tensor (checked kernels).

    kind ``range``: operands (start, count, size[, mask]): the elements start+k for lanes
    k < count (those set in the mask, if any) lie in [0, size); count 0 touches nothing.
    kind ``offsets``: operands (base, vl, extent, offsets[, mask]): base + offsets[k] lies
    in [0, extent) for the active lanes (32-bit offsets are zero-extended, as RVV does).
    attrs: ``tensor`` (name), ``axis`` (-1: the flattened tensor), ``at`` ("file:line").
    """
    t = [v.type for v in op.operands]
    kind = op.attrs.get("kind")
    _require(kind in ("range", "offsets") and isinstance(op.attrs.get("tensor"), str)
             and isinstance(op.attrs.get("axis"), int) and isinstance(op.attrs.get("at"), str), op,
             "bounds needs kind range|offsets, tensor, axis and at")
    _require(op.result is None and len(t) >= 3 and all(_i64(x) for x in t[:3]), op,
             "bounds(start: i64, count: i64, size: i64, ...)")
    rest = t[3:]
    if kind == "offsets":
        _require(bool(rest) and _vec(rest[0]) and rest[0].dtype in (i32, i64, u32, u64), op,
                 "offsets must be a vector of i32/i64")
        n, rest = rest[0].n, rest[1:]
    else:
        n = rest[0].n if rest and isinstance(rest[0], MaskType) else None
    _require(len(rest) <= 1 and all(x == MaskType(n) for x in rest), op, "bounds takes at most one mask")


def _check_vwmacc(op: Op) -> None:
    """``vwmacc(a, b, acc, vl)``: acc + a * b with the product formed at twice the width of
    ``a`` and ``b`` (integers of one width; ``a`` may be a scalar). The accumulator is
    unsigned when both factors are, else signed."""
    a, b, acc = (v.type for v in op.operands[:3])
    _require(_vec(b) and _vec(acc) and (_scal(a) or _vec(a) and a.n == b.n) and acc.n == b.n
             and op.result.type == acc, op, "vwmacc(int scalar|vec, int vec, int vec of twice the width)")
    da, db, dc = a.dtype, b.dtype, acc.dtype
    _require(da.is_int and db.is_int and da.bits == db.bits <= 32 and dc.is_int and dc.bits == 2 * da.bits, op,
             f"vwmacc multiplies two integers of one width into twice it: got {da} * {db} into {dc}")
    want = "u" if da.kind == db.kind == "u" else "i"
    _require(dc.kind == want, op, f"the accumulator of {da} * {db} must be {want}{dc.bits}, not {dc}")
    _check_vl(op)


def _check_vdot4(op: Op) -> None:
    """``vdot4(acc, a, b, vl)``: each 32-bit lane of acc plus the dot product of the four
    bytes packed in the lanes of ``a`` and ``b`` (``b`` may be a scalar word); bytes are
    signed in i32 words and unsigned in u32 words; the sum wraps modulo 2^32."""
    acc, a, b = (v.type for v in op.operands[:3])
    words = (i32, u32)
    _require(_vec(acc) and acc.dtype in words and _vec(a) and a.dtype in words and a.n == acc.n
             and (_scal(b) or _vec(b) and b.n == acc.n) and b.dtype in words and op.result.type == acc, op,
             "vdot4(acc: i32|u32 vec, a: i32|u32 vec of 4 packed bytes, b: i32|u32 scalar|vec)")
    _check_vl(op)


def _check_mma(op: Op) -> None:
    """``mma(acc, a, b)`` with attrs M, N, K: the M x N i32 tile in the first M*N lanes of
    acc (row-major) plus a (M x K bytes, row-major) times b (N x K bytes, row-major)
    transposed. Shapes as the IME cores have them: M = N and K = 2N, so a and b hold
    twice acc's lanes (one register each where acc is a register pair). Signed bytes in
    i8 vectors, unsigned in u8; the sums wrap modulo 2^32."""
    acc, a, b = (v.type for v in op.operands)
    m, n, k = (op.attrs.get(x) for x in "MNK")
    _require(all(isinstance(x, int) and x > 0 for x in (m, n, k)) and m == n and k == 2 * n, op,
             f"mma tiles are M x N x K with M = N and K = 2N, got {m} x {n} x {k}")
    _require(_vec(acc) and acc.dtype == i32 and op.result.type == acc, op, "mma accumulates into an i32 vector")
    _require(_vec(a) and _vec(b) and a.dtype in (i8, u8) and b.dtype in (i8, u8) and a.n == b.n == 2 * acc.n, op,
             f"mma multiplies i8/u8 vectors of twice the accumulator's lanes: got {a} and {b} for {acc}")


def _require(cond: bool, op: Op, msg: str) -> None:
    if not cond:
        raise IRError(f"{op.opcode}: {msg}", op.loc)


def _check_sew_lmul(op: Op) -> None:
    _require(op.attrs.get("sew") in (8, 16, 32, 64) and op.attrs.get("lmul") in
             (0.125, 0.25, 0.5, 1, 2, 4, 8), op, "bad sew/lmul")


def _check_op(op: Op) -> None:
    t = [v.type for v in op.operands]
    r = op.result.type if op.result is not None else None
    c = op.opcode
    if c == "const":
        _require(_scal(r) and not t, op, "const makes one scalar")
    elif c == "bin":
        _check_bin(op, vector=False)
        _require(r == t[0], op, "result type")
    elif c == "vbin":
        _check_bin(op, vector=True)
        _require(r == (t[0] if _vec(t[0]) else t[1]), op, "result type")
    elif c in ("cmp", "vcmp"):
        _require(op.attrs.get("pred") in CMP_PREDS, op, "unknown predicate")
        _require(_elem(t[0]) != bf16, op, "bf16 values compare after conversion to f32")
        _require(_elem(t[0]) is not None and _elem(t[0]) == _elem(t[1]), op,
                 f"compared values differ in type: {t[0]} and {t[1]}")
        if c == "cmp":
            _require(_scal(t[0]) and r == ScalarType(bool_), op, "scalar compare gives bool")
        else:
            vt = t[0] if _vec(t[0]) else t[1]
            _require(_vec(vt) and r == MaskType(vt.n), op, "vector compare gives a mask")
            _check_vl(op)
    elif c == "select":
        _require(t[0] == ScalarType(bool_) and t[1] == t[2] == r, op, "select(bool, T, T)")
    elif c == "vselect":
        _require(_vec(r) and t[0] == MaskType(r.n) and t[1] == t[2] == r, op, "vselect(mask, vec, vec)")
        _check_vl(op)
    elif c in ("un", "vun"):
        kind = op.attrs.get("op")
        _require(kind in UNARY_OPS and r == t[0], op, f"unary {kind!r}")
        _require(kind == "neg" or t[0].dtype.is_float, op, f"{kind} needs floats")
        _require(t[0].dtype != bf16, op, f"{kind} is not defined on bf16: convert to f32 first")
        _require(c == "vun" or kind != "rsqrt7", op, "rsqrt7 is a vector op")
        if c == "vun":
            _check_vl(op)
    elif c == "vfma" and _elem(t[0]) == _elem(t[1]) in (f16, bf16) and _elem(t[2]) == f32:   # vfwmacc(bf16)
        _require(_vec(t[1]) and t[2] == r and t[1].n == r.n and (_scal(t[0]) or t[0] == t[1]), op,
                 f"widening vfma({_elem(t[0])} scalar|vec, {_elem(t[0])} vec, f32 vec)")
        _check_vl(op)
    elif c == "vwmacc":
        _check_vwmacc(op)
    elif c == "vdot4":
        _check_vdot4(op)
    elif c == "mma":
        _check_mma(op)
    elif c in ("fma", "vfma"):
        _require(_elem(t[0]) == _elem(t[1]) == _elem(t[2]) and _elem(t[0]).is_float and _elem(t[0]) != bf16, op,
                 "fma operands must share one float type")
        if c == "vfma":
            _require(_vec(t[1]) and t[2] == t[1] == r and (t[0] == r or _scal(t[0])), op,
                     "vfma(scalar|vec, vec, vec)")
            _check_vl(op)
        else:
            _require(_scal(t[0]) and t[0] == t[1] == t[2] == r, op, "fma on scalars")
    elif c in ("cast", "bitcast"):
        _require(_scal(t[0]) and _scal(r), op, f"{c} of scalars")
        _require(c == "cast" or t[0].dtype.bits == r.dtype.bits, op, "bitcast changes the size")
    elif c in ("vcast", "vbitcast"):
        _require(_vec(t[0]) and _vec(r) and t[0].n == r.n, op, f"{c} keeps the length")
        _require(c == "vcast" or t[0].dtype.bits == r.dtype.bits, op, "bitcast changes the size")
        if c == "vcast":
            _check_vl(op)
    elif c == "load":
        _require(isinstance(t[0], PtrType) and _i64(t[1]) and r == ScalarType(t[0].dtype), op, "load(ptr, i64)")
    elif c == "store":
        _require(isinstance(t[0], PtrType) and _i64(t[1]) and t[2] == ScalarType(t[0].dtype), op,
                 f"store of {t[2]} through {t[0]}")
    elif c == "touch":
        _require(isinstance(t[0], PtrType) and _i64(t[1]) and r is None, op, "touch(ptr, i64)")
    elif c == "touch_frame":
        _require(not t and r is None, op, "touch_frame()")
    elif c == "prefetch":
        _require(isinstance(t[0], PtrType) and _i64(t[1]) and r is None and isinstance(op.attrs.get("write"), bool),
                 op, "prefetch(ptr, i64) with write=True|False")
    elif c in ("vload", "vstore", "vstore_seg"):
        _check_vmem(op)
    elif c == "cache_zero":
        blocks = op.attrs.get("blocks", 1)
        _require(len(t) == 3 and isinstance(t[0], PtrType) and _i64(t[1]) and _i64(t[2]) and r is None
                 and type(blocks) is int and blocks >= 1, op,
                 "cache_zero(ptr, index: i64, count: i64) with blocks a positive int if given")
    elif c == "vsplat":
        _require(_scal(t[0]) and _vec(r) and r.dtype == t[0].dtype and op.attrs.get("bound", False) in (False, True),
                 op, "vsplat(scalar) with bound a bool if given")
        _check_vl(op)
    elif c == "vid":
        _require(_vec(r) and r.dtype.is_int, op, "vid gives an integer vector")
        _check_vl(op)
    elif c == "vslidedown":
        _require(_vec(t[0]) and _i64(t[1]) and r == t[0] and t[0].dtype != bf16, op,
                 "vslidedown(vec, offset: i64) gives a vector of its type")
        _check_vl(op)
    elif c == "vfirst":
        _require(_vec(t[0]) and r == ScalarType(t[0].dtype) and t[0].dtype != bf16, op,
                 "vfirst(vec) gives a scalar of its element type")
    elif c == "vreduce":
        _require(op.attrs.get("op") in REDUCE_OPS and _vec(t[0]) and r == ScalarType(t[0].dtype)
                 and t[0].dtype != bf16, op,
                 "vreduce(vec) gives a scalar of its element type")
        _check_vl(op)
    elif c == "mlogic":
        _require(op.attrs.get("op") in MASK_OPS and isinstance(t[0], MaskType) and t[0] == t[1] == r, op,
                 "mask logic on equal masks")
    elif c == "mnot":
        _require(isinstance(t[0], MaskType) and t[0] == r, op, "mnot(mask)")
    elif c == "var":
        _require(r == VarType(t[0]), op, "var type")
    elif c == "get":
        _require(isinstance(t[0], VarType) and r == t[0].inner, op, "get(var)")
    elif c == "set":
        _require(isinstance(t[0], VarType) and t[1] == t[0].inner, op,
                 f"cannot assign {t[1]} to a variable of {t[0].inner if isinstance(t[0], VarType) else t[0]}")
    elif c == "bounds":
        _check_bounds(op)
    elif c == "for":
        _require(all(_i64(x) for x in t) and len(t) == 3, op, "for(start, stop, step) over i64")
        _require(op.attrs.get("unroll", True) in (True, False), op, "for's unroll attribute is a bool")
    elif c == "vsetvl":
        _require(len(t) == 1 and _i64(t[0]) and _i64(r), op, "vsetvl(avl: i64) -> i64")
        _check_sew_lmul(op)
    elif c == "vloop":
        _require(len(t) == 1 and _i64(t[0]), op, "vloop(n: i64)")
        _check_sew_lmul(op)
    else:
        raise IRError(f"unknown opcode {c!r}", op.loc)


def verify(fn: Function) -> None:
    """Check types and scoping of every op; raise :class:`IRError` at the first problem."""
    _verify_block(fn.body, set(p.id for p in fn.params), fn)


def _verify_block(block: Block, visible: set[int], fn: Function) -> None:
    visible = visible | {a.id for a in block.args}
    for op in block.ops:
        for v in op.operands:
            if v.id not in visible:
                raise IRError(f"{op.opcode}: uses a value not visible here, e.g. one defined inside a loop "
                              "body that has ended (carry values across iterations with rvai.lang.var)", op.loc)
        _check_op(op)
        if op.body is not None:
            _verify_block(op.body, visible, fn)
        if op.result is not None:
            visible.add(op.result.id)


#: Signature of callbacks walking ops in program order.
Visitor = Callable[[Op], None]


def walk(block: Block, visit: Visitor) -> None:
    """Call ``visit`` on every op of ``block`` and nested blocks, in program order."""
    for op in block.ops:
        visit(op)
        if op.body is not None:
            walk(op.body, visit)
