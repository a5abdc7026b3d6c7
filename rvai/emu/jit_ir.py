"""LLVM IR as text, for the translating tier (rvai.emu.jit_llvm): the few
instructions its blocks use, spelled like llvmlite.ir's IRBuilder so the
translation tables read the same.  llvmlite.ir builds a tree of Python
objects and prints it, which cost more than LLVM's own parsing and most of a
block's compile time; this writes the lines directly.  Pointers are opaque
(``ptr``), types are their spellings (``"i64"``).
"""
from __future__ import annotations

I1, I8, I16, I32, I64, I128, PTR, VOID = "i1", "i8", "i16", "i32", "i64", "i128", "ptr", "void"

#: Vector integer ops a block computes itself, as host vector code, when the
#: vtype it was translated for holds (LMUL >= 1, vl = VLMAX, vstart 0,
#: unmasked: every element of the group is written, none is a tail one):
#: name -> (Builder method, operand form).  Any other case calls jit_vec.
#: Here rather than in jit_llvm, which imports llvmlite: rvai.emu.translate
#: weighs these ops before any block is due, when llvmlite is not loaded.
VINLINE = {f"{op}.{form}": (method, form) for op, method in
           (("vadd", "add"), ("vsub", "sub"), ("vand", "and_"), ("vor", "or_"), ("vxor", "xor"), ("vmul", "mul"))
           for form in ("vv", "vx", "vi") if not (op in ("vsub", "vmul") and form == "vi")}


def vlmax_of(vtype: int, vlen: int) -> int | None:
    """VLMAX under ``vtype`` at VLEN ``vlen`` (csrc/vec.c's vlmax_of), any
    LMUL; None when vtype is illegal (vill, reserved bits, LMUL or SEW).
    Here beside VINLINE for the same reason: rvai.emu.translate plans timed
    blocks for it without loading llvmlite."""
    vlmul, vsew = vtype & 7, vtype >> 3 & 7
    if vtype >> 8 or vlmul == 4 or vsew > 3:
        return None
    sh = (vlmul if vlmul < 4 else vlmul - 8) - 3 - vsew
    return vlen << sh if sh >= 0 else vlen >> -sh


#: The branch weights of a ``likely`` branch (Builder.cbranch), and their
#: definition, which each module holds once (clang's __builtin_expect's).
LIKELY = "!0"
LIKELY_DEF = f'{LIKELY} = !{{!"branch_weights", i32 2000, i32 1}}'


class Value:
    """An SSA value or a constant: its type and its spelling."""

    __slots__ = ("type", "name")

    def __init__(self, ty: str, name: str):
        self.type, self.name = ty, name

    def __str__(self):
        return self.name


def const(ty: str, v: int) -> Value:
    """The integer constant v of type ty, taken modulo 2**bits (LLVM spells it signed)."""
    c = _consts.get((ty, v))
    if c is None:
        if len(_consts) >= CONSTS_HELD:
            _consts.clear()
        bits = int(ty[1:])
        u = v & (1 << bits) - 1
        c = _consts[ty, v] = Value(ty, str(u - (1 << bits) if u >> (bits - 1) else u))
    return c


#: The most constants ``const`` keeps made (a block makes ~1,500, most of them
#: the same few offsets and pcs; made afresh each time, they were a fifth of
#: the IR's building).  Values are never changed once made, so one serves
#: every use; the bound (~2 MB; 180 timed GEMM blocks made 2,190 distinct
#: constants) keeps a long run's distinct pcs from piling up.
CONSTS_HELD = 1 << 13
_consts: dict[tuple[str, int], Value] = {}


class Block:
    """A basic block: its label and lines (a phi's is its Phi, spelled when
    the function is: its incoming values are added later)."""

    __slots__ = ("name", "lines", "is_terminated")

    def __init__(self, name: str):
        self.name, self.lines, self.is_terminated = name, [], False


class Phi(Value):
    """A phi whose incoming values are added while the function is built."""

    __slots__ = ("incomings", "block", "index")

    def __init__(self, ty, name, block, index):
        super().__init__(ty, name)
        self.incomings = []
        self.block, self.index = block, index   # where its line is (Function.text)

    def add_incoming(self, value, block):
        self.incomings.append((value, block))

    def definition(self) -> str:
        pairs = ", ".join(f"[ {v}, %{b.name} ]" for v, b in self.incomings)
        return f"{self.name} = phi {self.type} {pairs}"


class Function:
    """``define`` of one function; its blocks are appended in order, the
    first its entry."""

    def __init__(self, name: str, ret: str, args: list[str]):
        self.name, self.ret = name, ret
        self.args = [Value(t, f"%a{i}") for i, t in enumerate(args)]
        self.blocks: list[Block] = []
        self.phis: list[Phi] = []
        self.addrs: dict[str, Value] = {}   # global name -> its address, taken in the entry (address)

    def address(self, name: str) -> Value:
        """Global ``name``'s (a function's or a constant's) address as a value
        taken once, at the top of the entry block, for every use of the
        function (Builder's gep and call spell a global operand so: the blocks
        load no global but through a gep).  jit_llvm's
        engines use LLVM's large code model (MCJIT's: the C helpers may be
        anywhere), where the fast instruction selector of -O0 takes no
        global at all: a call to a helper, a helper's or a constant's
        address as an argument or a load's address each went to
        SelectionDAG, ~40 a timed block.  As a value, each use is a
        register's (an indirect call), and only the entry's top goes to
        SelectionDAG; at -O1 instcombine folds the address back into each
        use (a direct call, the code as before)."""
        v = self.addrs.get(name)
        if v is None:
            v = self.addrs[name] = Value(PTR, f"%g{len(self.addrs)}")
            self.blocks[0].lines.insert(len(self.addrs) - 1, f"{v.name} = getelementptr i8, ptr {name}, i64 0")
        return v

    def append_basic_block(self, name: str = "b") -> Block:
        blk = Block(f"{name}{len(self.blocks)}")
        self.blocks.append(blk)
        return blk

    def text(self) -> str:
        """The function's definition (once: its phis' lines are spelled in
        place, but for those of a block whose lines were dropped)."""
        for p in self.phis:
            lines = p.block.lines
            if p.index < len(lines) and lines[p.index] is p:
                lines[p.index] = p.definition()
        head = f"define {self.ret} @{self.name}({', '.join(f'{a.type} {a.name}' for a in self.args)}) {{"
        body = [f"{b.name}:\n  " + "\n  ".join(b.lines) for b in self.blocks]
        return "\n".join([head, *body, "}"])


class Builder:
    """Appends instructions at the end of a block (llvmlite.ir.IRBuilder's
    names and argument order)."""

    def __init__(self, fn: Function):
        self.fn, self.block, self._n = fn, None, 0

    def position_at_end(self, block: Block):
        self.block = block

    def _emit(self, ty: str, text: str) -> Value:
        self._n = n = self._n + 1
        name = f"%t{n}"
        self.block.lines.append(f"{name} = {text}")
        return Value(ty, name)

    def _end(self, text: str):
        self.block.lines.append(text)
        self.block.is_terminated = True

    def _bin(op):  # noqa: N805 - a factory of methods
        def method(self, a, b):
            return self._emit(a.type, f"{op} {a.type} {a.name}, {b.name}")
        return method

    add, sub, mul, shl, lshr, ashr = _bin("add"), _bin("sub"), _bin("mul"), _bin("shl"), _bin("lshr"), _bin("ashr")
    and_, or_, xor = _bin("and"), _bin("or"), _bin("xor")
    del _bin

    def not_(self, a):
        return self.xor(a, const(a.type, -1))

    def icmp_signed(self, op, a, b):
        return self._emit(I1, f"icmp {_SIGNED[op]} {a.type} {a.name}, {b.name}")

    def icmp_unsigned(self, op, a, b):
        return self._emit(I1, f"icmp {_UNSIGNED[op]} {a.type} {a.name}, {b.name}")

    def select(self, c, a, b):
        return self._emit(a.type, f"select i1 {c}, {a.type} {a}, {b.type} {b}")

    def _cast(op):  # noqa: N805
        def method(self, a, ty):
            return self._emit(ty, f"{op} {a.type} {a.name} to {ty}")
        return method

    zext, sext, trunc, inttoptr = _cast("zext"), _cast("sext"), _cast("trunc"), _cast("inttoptr")
    del _cast

    def udiv(self, a, b):
        return self._emit(a.type, f"udiv {a.type} {a}, {b}")

    def urem(self, a, b):
        """The unsigned remainder of a over b."""
        return self._emit(a.type, f"urem {a.type} {a}, {b}")

    def sdiv(self, a, b):
        """The signed quotient of a over b, rounded toward zero (LLVM's: b 0, or the
        most negative a over -1, is undefined behaviour: the caller rules them out)."""
        return self._emit(a.type, f"sdiv {a.type} {a}, {b}")

    def srem(self, a, b):
        """The signed remainder of a over b, the sign of a (the same cases undefined as sdiv)."""
        return self._emit(a.type, f"srem {a.type} {a}, {b}")

    def gep(self, base, offset):
        """The byte address base + offset."""
        p = base.name if base.name[0] != "@" else self.fn.address(base.name).name
        return self._emit(PTR, f"getelementptr i8, ptr {p}, {offset.type} {offset.name}")

    def load(self, ty, ptr, align=8):
        return self._emit(ty, f"load {ty}, ptr {ptr.name}, align {align}")

    def store(self, value, ptr, align=8):
        self.block.lines.append(f"store {value.type} {value.name}, ptr {ptr.name}, align {align}")

    def opaque(self, v, slot):
        """v, through a volatile store to and load from stack slot ``slot``:
        a value LLVM cannot see the origin of.  An exit counting from a loop's
        pass counter hides it so, else strength reduction keeps, in the
        loop, one more counter for each multiple of it the exit uses."""
        self.block.lines.append(f"store volatile {v.type} {v}, ptr {slot}, align 8")
        return self._emit(v.type, f"load volatile {v.type}, ptr {slot}, align 8")

    def alloca(self, ty, name):
        return self._emit(PTR, f"alloca {ty}")

    def call(self, fn, ret, args, tail=""):
        """Call the function at pointer fn (a value, or a function's name
        ``@name``) returning ret (VOID: no value); ``tail``: "musttail" (the
        callee's type is the caller's, its value returned at once) or "tail"
        (a hint: a jump where the ABI allows)."""
        fn = str(fn)
        if fn[0] == "@":
            fn = self.fn.address(fn).name
        ops = ", ".join(f"{a.type} {a.name if a.name[0] != '@' else self.fn.address(a.name).name}" for a in args)
        text = f"{tail + ' ' if tail else ''}call {ret} {fn}({ops})"
        if ret == VOID:
            self.block.lines.append(text)
            return None
        return self._emit(ret, text)

    def phi(self, ty):
        self._n += 1
        lines = self.block.lines
        p = Phi(ty, f"%t{self._n}", self.block, len(lines))
        lines.append(p)
        self.fn.phis.append(p)
        return p

    def branch(self, target):
        self._end(f"br label %{target.name}")

    def cbranch(self, cond, a, b, likely=False):
        """Branch to a when cond holds, else to b; ``likely``: a is the path
        taken (almost) always, b a slow path to be laid out cold, away from
        the hot code and spilling around it rather than in it (LIKELY)."""
        self._end(f"br i1 {cond}, label %{a.name}, label %{b.name}" + (f", !prof {LIKELY}" if likely else ""))

    def ret(self, v):
        self._end(f"ret {v.type} {v}")

    def unreachable(self):
        self._end("unreachable")


_SIGNED = {"==": "eq", "!=": "ne", "<": "slt", "<=": "sle", ">": "sgt", ">=": "sge"}
_UNSIGNED = {"==": "eq", "!=": "ne", "<": "ult", "<=": "ule", ">": "ugt", ">=": "uge"}
