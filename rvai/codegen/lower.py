"""Lowering of rvai IR to LLVM IR text with ``llvm.riscv.*`` intrinsics on scalable vectors.

Vector ops tied to the active vector length become RVV intrinsics that take ``vl``
(``vle``/``vse``/``vlse``/``vluxei``, ``vfadd``..., ``vfmacc``, ``vfred*``, ``vfwcvt``...),
so the code is vector-length agnostic. Mask logic, selects, compares and bit casts use
LLVM's generic instructions on scalable types. Variables become ``alloca`` s that
``mem2reg`` turns into SSA registers. A float vector product whose only use is an
add or subtract in the same block is contracted into ``vfmacc``/``vfnmsac``/``vfmsac``.
"""
from __future__ import annotations

import struct
from collections import Counter, defaultdict

import numpy as np

from rvai import ir
from rvai.codegen import frame

FRM_DYN = 7  # rounding mode operand: use the dynamic mode in fcsr (round to nearest even)
TAMA = 3     # policy operand: tail agnostic, mask agnostic
TRAP_ADDR = 8  # a failed bounds check stores here: page 0 is never mapped (rvai.emu, Linux)

# bf16 travels as i16 bit patterns: without Zfbfmin/Zvfbfmin LLVM cannot hold bfloat values.
_LLTYPE = {"f16": "half", "bf16": "i16", "f32": "float", "f64": "double", "bool": "i1"}
_SEW_CODE = {8: 0, 16: 1, 32: 2, 64: 3}
_LMUL_CODE = {1: 0, 2: 1, 4: 2, 8: 3, 0.125: 5, 0.25: 6, 0.5: 7}
#: The first metadata number of the loop hints: above any the debug info takes (LLVM's
#: numbering may have gaps).
_LOOP_MD = 1 << 20


def lltype(t) -> str:
    """LLVM type text of an IR type."""
    if isinstance(t, ir.DType):
        return _LLTYPE.get(t.name, f"i{t.bits}")
    if isinstance(t, ir.ScalarType):
        return lltype(t.dtype)
    if isinstance(t, ir.VectorType):
        return f"<vscale x {t.n} x {lltype(t.dtype)}>"
    if isinstance(t, ir.MaskType):
        return f"<vscale x {t.n} x i1>"
    if isinstance(t, ir.PtrType):
        return "ptr"
    raise TypeError(f"no LLVM type for {t}")


def mangle(t) -> str:
    """The type suffix LLVM uses in overloaded intrinsic names."""
    if isinstance(t, ir.VectorType):
        return f"nxv{t.n}{mangle(t.dtype)}"
    if isinstance(t, ir.MaskType):
        return f"nxv{t.n}i1"
    if isinstance(t, ir.ScalarType):
        return mangle(t.dtype)
    return {"f16": "f16", "f32": "f32", "f64": "f64"}.get(t.name, f"i{t.bits}")


def llconst(dtype: ir.DType, value) -> str:
    """LLVM literal for a constant of ``dtype``."""
    if dtype.kind == "b":
        return "true" if value else "false"
    if dtype.is_int:
        return str(int(value))
    if dtype.name == "f16":
        return "0xH%04X" % np.array(value, np.float16).view(np.uint16)
    if dtype.name == "bf16":
        return str(int(np.array(value, np.float32).view(np.uint32)) >> 16)
    value = float(np.float32(value)) if dtype.bits == 32 else float(value)
    return "0x%016X" % struct.unpack(">Q", struct.pack(">d", value))[0]


def _m1(dtype: ir.DType) -> ir.VectorType:
    return ir.VectorType(dtype, 64 // dtype.bits)


class Lowering:
    """Turns one :class:`rvai.ir.Function` into the text of an LLVM module."""

    def __init__(self, fn: ir.Function, vlen: int | None = None, extensions: frozenset[str] = frozenset(),
                 min_vlen: int = 128, touches: int = frame.PLACEHOLDERS):
        self.fn = fn
        self.vlen = vlen
        self.touches = touches           # placeholder loads of each touch_frame
        self.exts = extensions           # the target's extensions: pick bf16/dot/IME instructions
        self.min_vlen = vlen or min_vlen
        self.vals: dict[int, str] = {}
        self.lines: list[str] = []
        self.allocas: list[str] = []
        self.decls: dict[str, str] = {}
        self.counter = 0
        self.def_op: dict[int, ir.Op] = {}
        self.uses: Counter[int] = Counter()
        self.fused: set[int] = set()
        self.blocks_of: defaultdict[int, set[int]] = defaultdict(set)   # id(op) -> ids of the blocks holding it
        self.nonzero_vls: set[int] = set()   # vl values that cannot be 0 (op_vreduce's passthru)
        self.checks: list[tuple] = []   # per bounds op, by trap id: (tensor, axis, file, line)
        self.traps: list[str] = []      # the trap blocks, placed after the function's return
        # Debug line info (DWARF line tables only), so a stop's pc maps back to the author's line.
        self.loc: ir.Loc | None = None  # of the op being lowered
        self.dbg: dict[ir.Loc, int] = {}        # location -> its !DILocation number
        self.scopes: dict[str, int] = {}        # file -> the metadata number of its scope
        self.loop_stack: list[ir.Loc] = []
        self.loops: dict[ir.Loc, ir.Loc] = {}   # op location -> the innermost runtime loop around it
        self.loop_md: list[str] = []    # loop metadata (llvm.loop) nodes, numbered from _LOOP_MD

    # ------------------------------------------------------------------ helpers
    def tmp(self) -> str:
        """A fresh local name."""
        self.counter += 1
        return f"%t{self.counter}"

    def label(self, hint: str) -> str:
        """A fresh basic-block label."""
        self.counter += 1
        return f"{hint}{self.counter}"

    def emit(self, text: str) -> None:
        """Append one instruction to the current block, tagged with the current op's line."""
        self.lines.append("  " + text + (f", !dbg !{self._location(self.loc)}" if self.loc else ""))

    # Metadata numbers: 0-4 are fixed (see _debug_info); scopes and locations follow.
    def _scope(self, filename: str) -> int:
        if filename not in self.scopes:
            self.scopes[filename] = 5 + len(self.scopes) + len(self.dbg)
        return self.scopes[filename]

    def _location(self, loc: ir.Loc) -> int:
        if loc not in self.dbg:
            self._scope(loc[0])
            self.dbg[loc] = 5 + len(self.scopes) + len(self.dbg)
            if self.loop_stack and self.loop_stack[-1] != loc:
                self.loops.setdefault(loc, self.loop_stack[-1])
        return self.dbg[loc]

    def _debug_info(self) -> str:
        """Metadata for line tables: a compile unit, the kernel's subprogram, one scope per
        source file (the kernel's own, or a lexical block file for a helper's) and the locations."""
        main = next(iter(self.scopes), "<rvai>")
        first = min((line for f, line in self.dbg if f == main), default=1)
        out = ["!llvm.dbg.cu = !{!0}", "!llvm.module.flags = !{!1, !2}",
               '!0 = distinct !DICompileUnit(language: DW_LANG_C99, file: !3, producer: "rvai", isOptimized: true, '
               "runtimeVersion: 0, emissionKind: LineTablesOnly)",
               '!1 = !{i32 7, !"Dwarf Version", i32 4}', '!2 = !{i32 2, !"Debug Info Version", i32 3}',
               f'!3 = !DIFile(filename: "{_escape(main)}", directory: "")',
               f'!4 = distinct !DISubprogram(name: "{self.fn.name}", scope: !3, file: !3, line: {first}, '
               f"type: !DISubroutineType(types: !{{}}), scopeLine: {first}, "
               "spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)"]
        for filename, n in self.scopes.items():
            if filename == main:
                out.append(f"!{n} = !DILexicalBlockFile(scope: !4, file: !3, discriminator: 0)")
            else:
                out.append(f'!{n} = !DILexicalBlockFile(scope: !4, file: !DIFile(filename: "{_escape(filename)}", '
                           'directory: ""), discriminator: 0)')
        for (filename, line), n in self.dbg.items():
            out.append(f"!{n} = !DILocation(line: {line}, scope: !{self.scopes[filename]})")
        return "\n".join(out) + "\n"

    def start_block(self, label: str) -> None:
        """Begin the basic block ``label``."""
        self.lines.append(f"{label}:")

    def v(self, value: ir.Value) -> str:
        """The LLVM operand for an IR value."""
        return self.vals[value.id]

    def tv(self, value: ir.Value) -> str:
        """``type operand`` for an IR value."""
        if isinstance(value, _Lit):
            return f"{lltype(value.type)} {value.text}"
        return f"{lltype(value.type)} {self.v(value)}"

    def call(self, ret: str, name: str, args: list[str]) -> str:
        """Emit a call of intrinsic ``name`` (declared on first use); return its result name."""
        types = [a.rsplit(" ", 1)[0] if not a.startswith("<") else a[:a.rindex(">") + 1] for a in args]
        self.decls.setdefault(name, f"declare {ret} @{name}({', '.join(types)})")
        if ret == "void":
            self.emit(f"call void @{name}({', '.join(args)})")
            return ""
        out = self.tmp()
        self.emit(f"{out} = call {ret} @{name}({', '.join(args)})")
        return out

    def rvv(self, op: str, ret_t, overloads: list, args: list[str]) -> str:
        """Call ``llvm.riscv.<op>`` overloaded on ``overloads`` and XLEN."""
        name = "llvm.riscv." + op + "".join("." + mangle(t) for t in overloads) + ".i64"
        return self.call(lltype(ret_t) if ret_t is not None else "void", name, args)

    # ------------------------------------------------------------------ driver
    def module(self) -> str:
        """The complete LLVM module text."""
        ir.walk(self.fn.body, self._index)
        self._index_blocks(self.fn.body)
        ir.walk(self.fn.body, self._find_contractions)
        params = []
        for p in self.fn.params:
            name = f"%a{len(params)}"
            self.vals[p.id] = name
            attrs = " noalias" if isinstance(p.type, ir.PtrType) else ""
            params.append(f"{lltype(p.type)}{attrs} {name}")
        self.block(self.fn.body)
        self.loc = None
        self.emit("ret void")
        body = "\n".join(["entry:"] + ["  " + a for a in self.allocas] + self.lines + self.traps)
        decls = "\n".join(self.decls.values())
        # A known VLEN pins vscale (VLEN / 64): LLVM then folds VLMAX and vlenb to constants.
        vscale = f" vscale_range({self.vlen // 64},{self.vlen // 64})" if self.vlen else ""
        if self.checks:
            decls = f'@"{self.fn.name}.bounds" = internal global [4 x i64] zeroinitializer\n' + decls
        dbg = " !dbg !4" if self.dbg else ""
        tune = f' "tune-cpu"="{self._tune_cpu()}"' if "tune_cpu" in self.fn.attrs else ""
        tables = ' "no-jump-tables"="true"' if self.fn.attrs.get("no_jump_tables") else ""
        return (f"define void @{self.fn.name}({', '.join(params)}) #0{dbg} {{\n{body}\n}}\n\n{decls}\n\n"
                f'attributes #0 = {{ nounwind "frame-pointer"="none"{vscale}{tune}{tables} }}\n'
                + "".join(md + "\n" for md in self.loop_md) + (self._debug_info() if self.dbg else ""))

    def _tune_cpu(self) -> str:
        """The cpu of ``rvai.lang.schedule_as``, one LLVM knows (another name would abort it)."""
        from rvai.target import KNOWN_CPUS
        cpu = self.fn.attrs["tune_cpu"]
        if cpu not in KNOWN_CPUS:
            raise ir.IRError(f"rvai.lang.schedule_as: cpu must be one of {sorted(KNOWN_CPUS)}, not {cpu!r}")
        return cpu

    def _index(self, op: ir.Op) -> None:
        if op.result is not None:
            self.def_op[op.result.id] = op
        for v in op.operands:
            self.uses[v.id] += 1

    def _find_contractions(self, op: ir.Op) -> None:
        if op.opcode != "vbin" or op.attrs["op"] not in ("add", "sub") or not op.result.type.dtype.is_float:
            return
        for cand in op.operands[:2]:
            mul = self.def_op.get(cand.id)
            other = op.operands[1] if cand is op.operands[0] else op.operands[0]
            if (mul is not None and mul.opcode == "vbin" and mul.attrs["op"] == "mul"
                    and self.uses[cand.id] == 1 and mul.operands[2] is op.operands[2]
                    and isinstance(other.type, ir.VectorType) and self._same_block(mul, op)):
                self.fused.add(mul.result.id)
                op.attrs = {**op.attrs, "_fuse": cand.id}
                return

    def _index_blocks(self, block: ir.Block) -> None:
        """Note the block holding each op of ``block`` and its nested blocks
        (``_same_block`` asks once per candidate contraction: walking the whole
        function each time made lowering an attention kernel quadratic, 0.7 s)."""
        for op in block.ops:
            self.blocks_of[id(op)].add(id(block))
            if op.body is not None:
                self._index_blocks(op.body)

    def _same_block(self, a: ir.Op, b: ir.Op) -> bool:
        """Whether one block holds both ops (a mul fuses only into an add of its own block)."""
        return bool(self.blocks_of[id(a)] & self.blocks_of[id(b)])

    def block(self, block: ir.Block) -> None:
        """Lower every op of ``block`` into the current basic block."""
        for op in block.ops:
            if op.result is not None and op.result.id in self.fused:
                continue
            self.loc = op.loc
            out = getattr(self, "op_" + op.opcode)(op)
            if op.result is not None:
                self.vals[op.result.id] = out

    # ------------------------------------------------------------------ scalar ops
    def op_const(self, op: ir.Op) -> str:
        """A scalar constant: its LLVM literal, no instruction."""
        return llconst(op.result.type.dtype, op.attrs["value"])

    def op_bin(self, op: ir.Op) -> str:
        """Scalar arithmetic, bitwise or min/max (``attrs['op']``), float or int by the operand type."""
        a, b = op.operands
        dt, kind = a.type.dtype, op.attrs["op"]
        t = lltype(dt)
        if dt.is_float:
            if kind in ("min", "max"):
                return self.call(t, f"llvm.{kind}num.{mangle(dt)}", [self.tv(a), self.tv(b)])
            instr = {"add": "fadd", "sub": "fsub", "mul": "fmul", "div": "fdiv"}[kind] + " contract"
        else:
            s = dt.kind == "i"
            if kind in ("min", "max"):
                return self.call(t, f"llvm.{'s' if s else 'u'}{kind}.{mangle(dt)}", [self.tv(a), self.tv(b)])
            instr = {"add": "add", "sub": "sub", "mul": "mul", "div": "sdiv" if s else "udiv",
                     "rem": "srem" if s else "urem", "and": "and", "or": "or", "xor": "xor",
                     "shl": "shl", "shr": "ashr" if s else "lshr"}[kind]
        out = self.tmp()
        self.emit(f"{out} = {instr} {t} {self.v(a)}, {self.v(b)}")
        return out

    def op_cmp(self, op: ir.Op) -> str:
        """Scalar comparison ``attrs['pred']``: fcmp or icmp to an i1."""
        a, b = op.operands
        out = self.tmp()
        self.emit(f"{out} = {_cmp_instr(a.type.dtype, op.attrs['pred'])} {self.tv(a)}, {self.v(b)}")
        return out

    def op_select(self, op: ir.Op) -> str:
        """Scalar ``select``: operand 1 where the i1 condition holds, else operand 2."""
        c, a, b = op.operands
        out = self.tmp()
        self.emit(f"{out} = select i1 {self.v(c)}, {self.tv(a)}, {self.tv(b)}")
        return out

    def op_un(self, op: ir.Op) -> str:
        """Scalar unary op: neg, sqrt or abs."""
        (a,) = op.operands
        kind, dt = op.attrs["op"], a.type.dtype
        if kind == "neg":
            out = self.tmp()
            self.emit(f"{out} = fneg {self.tv(a)}" if dt.is_float else f"{out} = sub {lltype(dt)} 0, {self.v(a)}")
            return out
        name = {"sqrt": "sqrt", "abs": "fabs"}[kind]
        return self.call(lltype(dt), f"llvm.{name}.{mangle(dt)}", [self.tv(a)])

    def op_fma(self, op: ir.Op) -> str:
        """Scalar fused multiply-add through ``llvm.fma``."""
        t = op.result.type
        return self.call(lltype(t), f"llvm.fma.{mangle(t)}", [self.tv(x) for x in op.operands])

    def op_cast(self, op: ir.Op) -> str:
        """Scalar dtype conversion."""
        return self.convert(self.v(op.operands[0]), op.operands[0].type.dtype, op.result.type.dtype, None)

    def op_bitcast(self, op: ir.Op) -> str:
        """Reinterpret the bits of a value as another type of the same width."""
        out = self.tmp()
        self.emit(f"{out} = bitcast {self.tv(op.operands[0])} to {lltype(op.result.type)}")
        return out

    def gep(self, ptr: ir.Value, index: ir.Value) -> str:
        """Address of element ``index`` of ``ptr``."""
        out = self.tmp()
        self.emit(f"{out} = getelementptr inbounds {lltype(ptr.type.dtype)}, ptr {self.v(ptr)}, i64 {self.v(index)}")
        return out

    def op_load(self, op: ir.Op) -> str:
        """Load element ``index`` of a pointer."""
        addr = self.gep(*op.operands)
        out = self.tmp()
        self.emit(f"{out} = load {lltype(op.result.type)}, ptr {addr}")
        return out

    def op_store(self, op: ir.Op) -> str:
        """Store a scalar to element ``index`` of a pointer."""
        ptr, index, value = op.operands
        self.emit(f"store {self.tv(value)}, ptr {self.gep(ptr, index)}")
        return ""

    def op_touch(self, op: ir.Op) -> str:
        """A load of element ``index`` of a pointer whose value is discarded: ``load volatile``,
        so that LLVM keeps it (a plain load with no use is deleted)."""
        self.emit(f"{self.tmp()} = load volatile {lltype(op.operands[0].type.dtype)}, ptr {self.gep(*op.operands)}")
        return ""

    def op_touch_frame(self, op: ir.Op) -> str:
        """``touches`` volatile byte loads at placeholder offsets from sp (read with
        ``llvm.stacksave``: no dynamic allocas move it), which :mod:`rvai.codegen.frame`
        rewrites in the object into loads of each cache line the code uses above sp: that
        extent is known only after codegen, and the code must not depend on it."""
        self.lines.append("  " + frame.TAG)   # a comment: no line tag
        sp = self.call("ptr", "llvm.stacksave.p0", [])
        for i in range(self.touches):
            addr = self.tmp()
            self.emit(f"{addr} = getelementptr i8, ptr {sp}, i64 {frame.marker(i)}")
            self.emit(f"{self.tmp()} = load volatile i8, ptr {addr}")
        return ""

    def op_prefetch(self, op: ir.Op) -> str:
        """A cache prefetch hint for element ``index`` of a pointer: ``llvm.prefetch`` (read or
        write, keep in all levels, data), which the RISC-V backend turns into prefetch.r/w with
        Zicbop.  Without Zicbop nothing is emitted, so the address arithmetic goes with it
        (the backend would drop only the hint).  The address is computed without ``inbounds``:
        it may lie past the object (a prefetch never faults), where an inbounds one would be poison."""
        if "zicbop" not in self.exts:
            return ""
        ptr, index = op.operands
        addr = self.tmp()
        self.emit(f"{addr} = getelementptr {lltype(ptr.type.dtype)}, ptr {self.v(ptr)}, i64 {self.v(index)}")
        self.call("void", "llvm.prefetch.p0", [f"ptr {addr}", f"i32 {int(op.attrs['write'])}", "i32 3", "i32 1"])
        return ""

    # ------------------------------------------------------------------ variables, loops
    def op_var(self, op: ir.Op) -> str:
        """A mutable variable: an entry-block alloca, initialised here."""
        slot = f"%var{op.result.id}"
        self.allocas.append(f"{slot} = alloca {lltype(op.operands[0].type)}")
        self.emit(f"store {self.tv(op.operands[0])}, ptr {slot}")
        return slot

    def op_get(self, op: ir.Op) -> str:
        """Read a variable."""
        out = self.tmp()
        self.emit(f"{out} = load {lltype(op.result.type)}, ptr {self.v(op.operands[0])}")
        return out

    def op_set(self, op: ir.Op) -> str:
        """Write a variable."""
        self.emit(f"store {self.tv(op.operands[1])}, ptr {self.v(op.operands[0])}")
        return ""

    def _loop_hint(self, op: ir.Op) -> str:
        """The back edge's ``!llvm.loop`` attachment: ``llvm.loop.unroll.disable`` for
        ``rvai.lang.range(..., unroll=False)``, else nothing."""
        return "" if op.attrs.get("unroll", True) else self._loop_md('!"llvm.loop.unroll.disable"')

    def _loop_md(self, prop: str) -> str:
        """A back edge's ``!llvm.loop`` attachment: a loop node of its own holding ``prop``."""
        n = _LOOP_MD + len(self.loop_md)
        self.loop_md += [f"!{n} = !{{{prop}}}", f"!{n + 1} = distinct !{{!{n + 1}, !{n}}}"]
        return f", !llvm.loop !{n + 1}"

    def _loop(self, op: ir.Op, start: str, stop: str, step_of) -> str:
        slot = f"%idx{op.body.args[-1].id}"
        self.allocas.append(f"{slot} = alloca i64")
        self.emit(f"store i64 {start}, ptr {slot}")
        head, body, done = self.label("loop"), self.label("body"), self.label("done")
        self.emit(f"br label %{head}")
        self.start_block(head)
        idx = self.tmp()
        self.emit(f"{idx} = load i64, ptr {slot}")
        cond = self.tmp()
        self.emit(f"{cond} = icmp slt i64 {idx}, {stop}")
        self.emit(f"br i1 {cond}, label %{body}, label %{done}")
        self.start_block(body)
        self.vals[op.body.args[-1].id] = idx
        step = step_of(idx)
        if op.loc:
            self.loop_stack.append(op.loc)
        self.block(op.body)
        if op.loc:
            self.loop_stack.pop()
        self.loc = op.loc
        nxt = self.tmp()
        self.emit(f"{nxt} = add i64 {idx}, {step}")
        self.emit(f"store i64 {nxt}, ptr {slot}")
        self.emit(f"br label %{head}{self._loop_hint(op)}")
        self.start_block(done)
        return ""

    def op_for(self, op: ir.Op) -> str:
        """A counted scalar loop ``for idx in range(start, stop, step)``."""
        start, stop, step = (self.v(x) for x in op.operands)
        return self._loop(op, start, stop, lambda idx: step)

    def vsetvli(self, avl: str, sew: int, lmul) -> str:
        """Emit ``vsetvli`` for ``avl`` elements of ``sew`` bits at ``lmul``; return vl."""
        return self.call("i64", "llvm.riscv.vsetvli.i64",
                         [f"i64 {avl}", f"i64 {_SEW_CODE[sew]}", f"i64 {_LMUL_CODE[lmul]}"])

    def op_vsetvl(self, op: ir.Op) -> str:
        """An explicit ``vsetvli``: vl for the requested element count."""
        avl = op.operands[0]
        const = self.def_op.get(avl.id)
        if avl.id in self.nonzero_vls or (const is not None and const.opcode == "const" and const.attrs["value"] > 0):
            self.nonzero_vls.add(op.result.id)      # vl = min(avl, VLMAX) >= 1
        return self.vsetvli(self.v(avl), op.attrs["sew"], op.attrs["lmul"])

    def op_vloop(self, op: ir.Op) -> str:
        """A strip-mined loop: each trip sets vl for the remaining elements and steps by it."""
        n = self.v(op.operands[0])

        def vsetvl(idx: str) -> str:
            rem = self.tmp()
            self.emit(f"{rem} = sub i64 {n}, {idx}")
            vl = self.vsetvli(rem, op.attrs["sew"], op.attrs["lmul"])
            self.vals[op.body.args[0].id] = vl
            self.nonzero_vls.add(op.body.args[0].id)    # a trip runs only while n - i >= 1
            return vl
        return self._loop(op, "0", n, vsetvl)

    # ------------------------------------------------------------------ bounds checks
    def op_bounds(self, op: ir.Op) -> str:
        """A checked access: branch on the condition to the access or to a trap block that stores
        (check id + 1, first element, element count, size) in the kernel's ``<name>.bounds``
        words and stops with a store to page 0, which is never mapped (neither inline asm,
        which llvmlite cannot assemble for RISC-V, nor ``ebreak``/``unimp``, whose translation
        aborts QEMU 7.2); the runner maps the id back through :attr:`checks` to the tensor,
        axis and source line."""
        start, count, size = (self.v(x) for x in op.operands[:3])
        if op.attrs["kind"] == "range":
            ok = self._range_ok(start, count, size, op.operands[3] if len(op.operands) > 3 else None)
        else:
            ok, start, count = self._offsets_ok(op)
        filename, _, line = op.attrs["at"].rpartition(":")
        self.checks.append((op.attrs["tensor"], op.attrs["axis"], filename, int(line)))
        good, bad = self.label("inbounds"), self.label("trap")
        self.emit(f"br i1 {ok}, label %{good}, label %{bad}, !prof !{{!\"branch_weights\", i32 1048575, i32 1}}")
        words = [str(len(self.checks)), start, count, size]
        self.traps.append(f"{bad}:")
        for k, word in enumerate(words):
            self.traps.append(f"  store volatile i64 {word}, ptr getelementptr inbounds ([4 x i64], "
                              f'ptr @"{self.fn.name}.bounds", i64 0, i64 {k})')
        self.traps += [f"  store volatile i64 0, ptr inttoptr (i64 {TRAP_ADDR} to ptr)", "  unreachable"]
        self.start_block(good)
        return ""

    def _i1(self, text: str) -> str:
        out = self.tmp()
        self.emit(f"{out} = {text}")
        return out

    def _cpop(self, mask: ir.Value | None, n: int, vl: str) -> str:
        """Set lanes of ``mask`` among the first ``vl`` (``vl`` itself without a mask)."""
        if mask is None:
            return vl
        return self.call("i64", f"llvm.riscv.vcpop.i64.nxv{n}i1", [self.tv(mask), f"i64 {vl}"])

    def _range_ok(self, start: str, count: str, size: str, mask: ir.Value | None) -> str:
        if mask is None:   # count == 0, or start in [0, size) and count <= size - start
            room = self._i1(f"sub i64 {size}, {start}")
            inside = self._i1(f"and i1 {self._i1(f'icmp ult i64 {start}, {size}')}, "
                              f"{self._i1(f'icmp ule i64 {count}, {room}')}")
            return self._i1(f"or i1 {self._i1(f'icmp eq i64 {count}, 0')}, {inside}")
        # Masked: the active lanes among the first `count` all lie in [lo, hi), the lanes
        # whose elements start+k are inside [0, size).
        n = mask.type.n
        neg = self._i1(f"sub i64 0, {start}")
        lo = self.call("i64", "llvm.smin.i64", [f"i64 {self.call('i64', 'llvm.smax.i64', [f'i64 {neg}', 'i64 0'])}",
                                                f"i64 {count}"])
        room = self._i1(f"sub i64 {size}, {start}")
        hi = self.call("i64", "llvm.smin.i64", [f"i64 {self.call('i64', 'llvm.smax.i64', [f'i64 {room}', 'i64 0'])}",
                                                f"i64 {count}"])
        inside = self._i1(f"sub i64 {self._cpop(mask, n, hi)}, {self._cpop(mask, n, lo)}")
        return self._i1(f"icmp eq i64 {self._cpop(mask, n, count)}, {inside}")

    def _offsets_ok(self, op: ir.Op) -> tuple[str, str, str]:
        """Condition of an ``offsets`` check, and the first element and count to report."""
        base, vl, extent, offs = op.operands[:4]
        mask = op.operands[4] if len(op.operands) > 4 else None
        ot = offs.type
        m1 = _m1(ot.dtype)
        wide = ot.dtype.bits == 64   # 64-bit offsets are XLEN wide (signed); 32-bit ones zero-extend
        ends = []
        for kind, seed in (("min", (1 << 63) - 1 if wide else -1), ("max", -(1 << 63) if wide else 0)):
            name = f"vred{kind}{'' if wide else 'u'}" + (".mask" if mask is not None else "")
            args = [f"{lltype(m1)} poison", self.tv(offs),
                    f"{lltype(m1)} {self._i1(f'insertelement {lltype(m1)} poison, {lltype(ot.dtype)} {seed}, i64 0')}"]
            red = self.rvv(name, m1, [m1, ot], args + ([self.tv(mask)] if mask is not None else []) + [self.tv(vl)])
            elem = self._i1(f"extractelement {lltype(m1)} {red}, i64 0")
            if not wide:
                elem = self._i1(f"zext i32 {elem} to i64")
            ends.append(self._i1(f"add i64 {self.v(base)}, {elem}"))
        lo, hi = ends
        any_active = self._i1(f"icmp ne i64 {self._cpop(mask, ot.n, self.v(vl))}, 0")
        inside = self._i1(f"and i1 {self._i1(f'icmp ult i64 {lo}, {self.v(extent)}')}, "
                          f"{self._i1(f'icmp ult i64 {hi}, {self.v(extent)}')}")
        ok = self._i1(f"or i1 {self._i1(f'xor i1 {any_active}, true')}, {inside}")
        count = self._i1(f"add i64 {self._i1(f'sub i64 {hi}, {lo}')}, 1")
        return ok, lo, count

    # ------------------------------------------------------------------ vector ops
    def op_vbin(self, op: ir.Op) -> str:
        """Vector arithmetic, min/max or bitwise op, vector-vector or with a scalar on
        either side; ``vfmacc``/``vfnmsac`` when the multiply feeding it is marked ``_fuse``."""
        a, b, vl = op.operands
        rt = op.result.type
        if "_fuse" in op.attrs:
            return self._contract(op)
        kind, dt = op.attrs["op"], rt.dtype
        if not isinstance(a.type, ir.VectorType):   # scalar first: commute or use the reversed form
            if kind == "sub" or (kind == "div" and dt.is_float):
                name = {"sub": "vfrsub" if dt.is_float else "vrsub", "div": "vfrdiv"}[kind]
                args = [f"{lltype(rt)} poison", self.tv(b), self.tv(a)]
                if dt.is_float:
                    args.append(f"i64 {FRM_DYN}")
                return self.rvv(name, rt, [rt, a.type], args + [self.tv(vl)])
            if kind in ("add", "mul", "min", "max", "and", "or", "xor"):
                a, b = b, a
            else:
                return self._vbin_call(kind, rt, self.splat(a, rt, vl), b, vl)
        return self._vbin_call(kind, rt, self.tv(a), b, vl)

    def _vbin_call(self, kind: str, rt: ir.VectorType, a_text: str, b: ir.Value, vl: ir.Value) -> str:
        dt = rt.dtype
        if dt.is_float:
            name = {"add": "vfadd", "sub": "vfsub", "mul": "vfmul", "div": "vfdiv", "min": "vfmin", "max": "vfmax"}[kind]
            frm = [f"i64 {FRM_DYN}"] if kind in ("add", "sub", "mul", "div") else []
        else:
            u = dt.kind == "u"
            name = {"add": "vadd", "sub": "vsub", "mul": "vmul", "div": "vdivu" if u else "vdiv",
                    "rem": "vremu" if u else "vrem", "min": "vminu" if u else "vmin",
                    "max": "vmaxu" if u else "vmax", "and": "vand", "or": "vor", "xor": "vxor",
                    "shl": "vsll", "shr": "vsrl" if u else "vsra"}[kind]
            frm = []
        b_text, b_type = self.tv(b), b.type
        if kind in ("shl", "shr") and isinstance(b_type, ir.ScalarType) and b_type.dtype.bits < 64:
            # a vector shift takes its scalar amount as an XLEN integer
            b_type = ir.ScalarType(ir.i64)
            b_text = f"i64 {self._int_resize(self.v(b), b.type.dtype, ir.DTYPES[b.type.dtype.kind + '64'], None)}"
        return self.rvv(name, rt, [rt, b_type], [f"{lltype(rt)} poison", a_text, b_text] + frm + [self.tv(vl)])

    def splat(self, scalar: ir.Value, vt: ir.VectorType, vl: ir.Value) -> str:
        """Broadcast ``scalar`` to a vector of type ``vt``; returns ``type operand`` text."""
        name = "vfmv.v.f" if vt.dtype.is_float and vt.dtype != ir.bf16 else "vmv.v.x"   # bf16: i16 bits
        out = self.rvv(name, vt, [vt], [f"{lltype(vt)} poison", self.tv(scalar), self.tv(vl)])
        return f"{lltype(vt)} {out}"

    def _contract(self, op: ir.Op) -> str:
        mul = self.def_op[op.attrs["_fuse"]]
        acc = op.operands[1] if op.operands[0].id == mul.result.id else op.operands[0]
        x, y = mul.operands[:2]
        if isinstance(y.type, ir.ScalarType):
            x, y = y, x
        # acc + x*y: vfmacc; acc - x*y: vfnmsac; x*y - acc: vfmsac
        name = "vfmacc" if op.attrs["op"] == "add" else "vfnmsac" if acc is op.operands[0] else "vfmsac"
        rt = op.result.type
        return self.rvv(name, rt, [rt, x.type], [self.tv(acc), self.tv(x), self.tv(y), f"i64 {FRM_DYN}",
                                                 self.tv(op.operands[2]), f"i64 {TAMA}"])

    def op_vfma(self, op: ir.Op) -> str:
        """Vector fused multiply-add ``a * b + c`` as ``vfmacc``, or ``vfwmacc`` when ``a`` and
        ``b`` are half the width of ``c`` (the product is exact, one rounding at the add);
        bf16 factors: ``vfwmaccbf16`` with Zvfbfwma, else widened to f32 for one ``vfmacc``
        (a bf16 product is exact in f32, so both round the same)."""
        a, b, c, vl = op.operands
        rt = op.result.type
        if b.type.dtype == ir.bf16:
            return self._bf16_fma(a, b, c, vl, rt)
        widening = b.type.dtype != rt.dtype
        name, overloads = ("vfwmacc", [rt, a.type, b.type]) if widening else ("vfmacc", [rt, a.type])
        return self.rvv(name, rt, overloads, [self.tv(c), self.tv(a), self.tv(b), f"i64 {FRM_DYN}",
                                              self.tv(vl), f"i64 {TAMA}"])

    def _bf16_fma(self, a: ir.Value, b: ir.Value, c: ir.Value, vl: ir.Value, rt: ir.VectorType) -> str:
        n = rt.n
        if "zvfbfwma" in self.exts:
            bt = f"<vscale x {n} x bfloat>"
            av = self._generic("bitcast", self.v(a), ir.i16, ir.bf16, (n, vl) if isinstance(a.type, ir.VectorType)
                               else None, dst_type=bt if isinstance(a.type, ir.VectorType) else "bfloat")
            bv = self._generic("bitcast", self.v(b), ir.i16, ir.bf16, (n, vl), dst_type=bt)
            at = bt if isinstance(a.type, ir.VectorType) else "bfloat"
            name = f"llvm.riscv.vfwmaccbf16.nxv{n}f32.{'nxv%dbf16' % n if at == bt else 'bf16'}.nxv{n}bf16.i64"
            return self.call(lltype(rt), name, [self.tv(c), f"{at} {av}", f"{bt} {bv}", f"i64 {FRM_DYN}",
                                                self.tv(vl), f"i64 {TAMA}"])
        vec_a = isinstance(a.type, ir.VectorType)
        a32 = self.convert(self.v(a), ir.bf16, ir.f32, (n, vl) if vec_a else None)
        b32 = self.convert(self.v(b), ir.bf16, ir.f32, (n, vl))
        at = rt if vec_a else ir.ScalarType(ir.f32)
        return self.rvv("vfmacc", rt, [rt, at], [self.tv(c), f"{lltype(at)} {a32}", f"{lltype(rt)} {b32}",
                                                 f"i64 {FRM_DYN}", self.tv(vl), f"i64 {TAMA}"])

    def op_vwmacc(self, op: ir.Op) -> str:
        """Widening integer multiply-add: ``vwmacc`` (signed), ``vwmaccu`` (unsigned),
        ``vwmaccsu`` (signed vs1/rs1 times unsigned vs2), ``vwmaccus`` (unsigned rs1 times
        signed vs2)."""
        a, b, c, vl = op.operands
        rt = op.result.type
        ka, kb = a.type.dtype.kind, b.type.dtype.kind
        if ka == kb:
            name = "vwmacc" if ka == "i" else "vwmaccu"
        elif isinstance(a.type, ir.VectorType):
            name = "vwmaccsu"
            if ka == "u":
                a, b = b, a
        else:
            name = "vwmaccsu" if ka == "i" else "vwmaccus"
        return self.rvv(name, rt, [rt, a.type, b.type], [self.tv(c), self.tv(a), self.tv(b), self.tv(vl),
                                                         f"i64 {TAMA}"])

    def op_vdot4(self, op: ir.Op) -> str:
        """4-way byte dot products into 32-bit lanes: Zvqdotq's ``vqdot*`` where the target
        has it, else each byte extracted by shifts and multiplied-added in 32 bits."""
        acc, a, b, vl = op.operands
        n, sa, sb = acc.type.n, a.type.dtype.kind == "i", b.type.dtype.kind == "i"
        vec_b = isinstance(b.type, ir.VectorType)
        t32 = f"<vscale x {n} x i32>"
        if "zvqdotq" in self.exts:
            t8 = f"<vscale x {4 * n} x i8>"
            av = self._i1(f"bitcast {t32} {self.v(a)} to {t8}")
            bv = self._i1(f"bitcast {t32} {self.v(b)} to {t8}") if vec_b else self.v(b)
            if sa == sb:
                name = "vqdot" if sa else "vqdotu"
            elif sa:                        # signed vs2, unsigned vs1/rs1
                name = "vqdotsu"
            elif not vec_b:                 # unsigned vs2, signed rs1
                name = "vqdotus"
            else:                           # the .vv form has the signed side in vs2: swap
                name, av, bv = "vqdotsu", bv, av
            bt = t8 if vec_b else "i32"
            btag = f"nxv{4 * n}i8" if vec_b else "i32"
            return self.call(t32, f"llvm.riscv.{name}.nxv{n}i32.nxv{4 * n}i8.{btag}.i64",
                             [f"{t32} {self.v(acc)}", f"{t8} {av}", f"{bt} {bv}", self.tv(vl), f"i64 {TAMA}"])
        out = self.v(acc)
        for k in range(4):
            ak = self._byte(self.v(a), t32, k, sa, vector=True)
            bk = self._byte(self.v(b), t32 if vec_b else "i32", k, sb, vector=vec_b)
            if not vec_b:
                bk = self._i1(f"insertelement {t32} poison, i32 {bk}, i64 0")
                bk = self._i1(f"shufflevector {t32} {bk}, {t32} poison, <vscale x {n} x i32> zeroinitializer")
            prod = self._i1(f"mul {t32} {ak}, {bk}")
            out = self._i1(f"add {t32} {out}, {prod}")
        return out

    def _byte(self, x: str, t: str, k: int, signed: bool, vector: bool) -> str:
        """Byte ``k`` of each 32-bit word ``x`` (type ``t``), sign- or zero-extended."""
        lit = (lambda v: f"splat (i32 {v})") if vector else str
        up = x if k == 3 else self._i1(f"shl {t} {x}, {lit(24 - 8 * k)}")
        return self._i1(f"{'ashr' if signed else 'lshr'} {t} {up}, {lit(24)}")

    def op_mma(self, op: ir.Op) -> str:
        """Tile multiply-accumulate C (M x N, i32) += A (M x K) * B (N x K)^T: one IME
        ``smt.vmadot*`` where the target has XSMTVDot and the code is compiled for the VLEN
        whose IME tile this is (emitted as a placeholder, see :mod:`rvai.codegen.ime`), else
        vector code: per k, the A and B bytes of every C lane gathered (``vrgather``) and
        their product added in 32 bits."""
        from rvai.codegen import ime
        acc, a, b = op.operands
        m, n_, k = (op.attrs[x] for x in "MNK")
        n = acc.type.n
        if n * self.min_vlen // 64 < m * n_:
            raise ir.IRError(f"mma: the accumulator {acc.type} holds {n * self.min_vlen // 64} lanes at VLEN "
                             f"{self.min_vlen}, fewer than the {m} x {n_} tile: use a larger LMUL", op.loc)
        t32, t8 = f"<vscale x {n} x i32>", f"<vscale x {2 * n} x i8>"
        signs = (a.type.dtype.kind == "i", b.type.dtype.kind == "i")
        if "xsmtvdot" in self.exts and self.vlen is not None and ime.tile_shape(self.vlen) == (m, n_, k) and n == 4:
            t16 = "<vscale x 8 x i16>"
            wide = self._i1(f"bitcast {t32} {self.v(acc)} to {t16}")
            out = self.call(t16, ime.PLACEHOLDER + ".nxv8i16.i64.nxv8i16.nxv8i8.nxv8i8.i64",
                            [f"i64 {ime.variant(*signs)}", f"{t16} {wide}", f"{t8} {self.v(b)}",
                             f"{t8} {self.v(a)}", f"i64 {self.vlen // 8}"])
            return self._i1(f"bitcast {t16} {out} to {t32}")
        if m * k > 256:
            raise ir.IRError(f"mma: the vector lowering gathers with 8-bit indices, so A and B tiles of at most "
                             f"256 bytes: {m} x {k} is {m * k}", op.loc)
        n8 = f"<vscale x {n} x i8>"
        lanes = self.call(t8, f"llvm.stepvector.nxv{2 * n}i8", [])
        rows = self._i1(f"mul {t8} {self._i1(f'udiv {t8} {lanes}, splat (i8 {n_})')}, splat (i8 {k})")
        cols = self._i1(f"mul {t8} {self._i1(f'urem {t8} {lanes}, splat (i8 {n_})')}, splat (i8 {k})")
        out = self.v(acc)
        for q in range(k):
            parts = []
            for src, base, signed in ((a, rows, signs[0]), (b, cols, signs[1])):
                idx = self._i1(f"add {t8} {base}, splat (i8 {q})")
                got = self.call(t8, f"llvm.riscv.vrgather.vv.nxv{2 * n}i8.i64",
                                [f"{t8} poison", f"{t8} {self.v(src)}", f"{t8} {idx}", f"i64 {m * n_}"])
                low = self.call(n8, f"llvm.vector.extract.nxv{n}i8.nxv{2 * n}i8", [f"{t8} {got}", "i64 0"])
                parts.append(self._i1(f"{'sext' if signed else 'zext'} {n8} {low} to {t32}"))
            out = self._i1(f"add {t32} {out}, {self._i1(f'mul {t32} {parts[0]}, {parts[1]}')}")
        return out

    def _vector_operand(self, value: ir.Value, vt: ir.VectorType) -> str:
        """``type operand`` of ``value`` as a vector (scalars broadcast at VLMAX, generic IR)."""
        if isinstance(value.type, ir.VectorType):
            return self.tv(value)
        ins, out = self.tmp(), self.tmp()
        t = lltype(vt)
        self.emit(f"{ins} = insertelement {t} poison, {self.tv(value)}, i64 0")
        self.emit(f"{out} = shufflevector {t} {ins}, {t} poison, <vscale x {vt.n} x i32> zeroinitializer")
        return f"{t} {out}"

    def op_vcmp(self, op: ir.Op) -> str:
        """Vector comparison to a mask (scalars broadcast first)."""
        a, b = op.operands[:2]
        vt = a.type if isinstance(a.type, ir.VectorType) else b.type
        lhs, rhs = self._vector_operand(a, vt), self._vector_operand(b, vt)
        out = self.tmp()
        self.emit(f"{out} = {_cmp_instr(vt.dtype, op.attrs['pred'])} {lhs}, {rhs.split(' ')[-1]}")
        return out

    def op_vselect(self, op: ir.Op) -> str:
        """Vector select by mask, as ``vmerge``."""
        m, a, b = op.operands[:3]
        rt = op.result.type
        return self.rvv("vmerge", rt, [rt, rt],
                        [f"{lltype(rt)} poison", self.tv(b), self.tv(a), self.tv(m), self.tv(op.operands[3])])

    def op_vun(self, op: ir.Op) -> str:
        """Vector unary op: neg, abs, sqrt or the 7-bit reciprocal square-root estimate."""
        a, vl = op.operands
        kind, rt = op.attrs["op"], op.result.type
        if kind == "neg" and rt.dtype.is_float:
            out = self.tmp()
            self.emit(f"{out} = fneg {self.tv(a)}")
            return out
        if kind == "neg":
            return self.rvv("vrsub", rt, [rt, ir.ScalarType(rt.dtype)],
                            [f"{lltype(rt)} poison", self.tv(a), f"{lltype(rt.dtype)} 0", self.tv(vl)])
        if kind == "abs":
            return self.call(lltype(rt), f"llvm.fabs.{mangle(rt)}", [self.tv(a)])
        if kind == "sqrt":
            return self.rvv("vfsqrt", rt, [rt], [f"{lltype(rt)} poison", self.tv(a), f"i64 {FRM_DYN}", self.tv(vl)])
        return self.rvv("vfrsqrt7", rt, [rt], [f"{lltype(rt)} poison", self.tv(a), self.tv(vl)])

    def _vmem_operands(self, op: ir.Op, values: int):
        """The address, data type, stride or offsets, overloads, mask and vl of a vector memory
        op whose first ``values`` operands are the data it stores (0: a load)."""
        ops = op.operands[values:]
        ptr, index, vl, rest = ops[0], ops[1], ops[2], list(ops[3:])
        vt = op.operands[0].type if values else op.result.type
        extra, overloads = [], [vt]
        if op.attrs["kind"] == "strided":
            stride = rest.pop(0)
            nbytes = self.tmp()
            self.emit(f"{nbytes} = mul i64 {self.v(stride)}, {vt.dtype.bits // 8}")
            extra.append(f"i64 {nbytes}")
        elif op.attrs["kind"] == "indexed":
            offs = rest.pop(0)
            shift = (vt.dtype.bits // 8).bit_length() - 1
            ot = offs.type
            scaled = self._vbin_call("shl", ot, self.tv(offs), _Lit(ir.ScalarType(ir.i64), str(shift)), vl)
            extra.append(f"{lltype(ot)} {scaled}")
            overloads.append(ot)
        mask = [self.tv(rest[0])] if rest else []
        return self.gep(ptr, index), vt, extra, overloads, mask, vl

    def op_vload(self, op: ir.Op) -> str:
        """Vector load: unit-stride, strided or indexed, optionally masked."""
        addr, vt, extra, overloads, mask, vl = self._vmem_operands(op, 0)
        name = {"unit": "vle", "strided": "vlse", "indexed": "vluxei"}[op.attrs["kind"]]
        args = [f"{lltype(vt)} poison", f"ptr {addr}"] + extra + mask + [self.tv(vl)]
        if mask:
            return self.rvv(name + ".mask", vt, overloads, args + [f"i64 {TAMA}"])
        return self.rvv(name, vt, overloads, args)

    def op_vstore(self, op: ir.Op) -> str:
        """Vector store: unit-stride, strided or indexed, optionally masked."""
        addr, vt, extra, overloads, mask, vl = self._vmem_operands(op, 1)
        name = {"unit": "vse", "strided": "vsse", "indexed": "vsuxei"}[op.attrs["kind"]]
        args = [self.tv(op.operands[0]), f"ptr {addr}"] + extra + mask + [self.tv(vl)]
        self.rvv(name + (".mask" if mask else ""), None, overloads, args)
        return ""

    def op_vstore_seg(self, op: ir.Op) -> str:
        """Segment store of NF fields: ``vsseg<NF>`` (unit) or ``vssseg<NF>`` (strided), optionally
        masked. LLVM 22 takes the fields as one ``riscv.vector.tuple`` value of NF register
        groups (the bytes of one field's group as i8s), built by ``llvm.riscv.tuple.insert``."""
        nf = op.attrs["fields"]
        addr, vt, extra, _, mask, vl = self._vmem_operands(op, nf)
        tuple_t = f'target("riscv.vector.tuple", <vscale x {vt.n * vt.dtype.bits // 8} x i8>, {nf})'
        tuple_m = f"triscv.vector.tuple_nxv{vt.n * vt.dtype.bits // 8}i8_{nf}t"
        fields = "poison"
        for f, value in enumerate(op.operands[:nf]):
            fields = self.call(tuple_t, f"llvm.riscv.tuple.insert.{tuple_m}.{mangle(vt)}",
                               [f"{tuple_t} {fields}", self.tv(value), f"i32 {f}"])
        name = f"llvm.riscv.{'vssseg' if extra else 'vsseg'}{nf}{'.mask' if mask else ''}.{tuple_m}.p0"
        name += f".{mangle(ir.MaskType(vt.n))}.i64" if mask else ".i64"
        log2_sew = (vt.dtype.bits).bit_length() - 1
        self.call("void", name, [f"{tuple_t} {fields}", f"ptr {addr}"] + extra + mask + [self.tv(vl), f"i64 {log2_sew}"])
        return ""

    def op_cache_zero(self, op: ir.Op) -> str:
        """``cbo.zero`` on each 64-byte block (Zic64b) wholly inside the ``count`` elements
        from ``index`` (on the first ``blocks`` of them, straight-line, with that attribute),
        where the target has Zicboz; nothing elsewhere. Through a stand-in
        (:data:`rvai.codegen.standin.CBO_ZERO`), whose vl comes from a ``vsetvli`` before
        the claims, so that LLVM puts none among them."""
        if "zicboz" not in self.exts:
            return ""
        ptr, index, count = op.operands
        start, nbytes, first, stop = (self.tmp() for _ in range(4))
        self.emit(f"{start} = ptrtoint ptr {self.gep(ptr, index)} to i64")
        self.emit(f"{nbytes} = mul i64 {self.v(count)}, {ptr.type.dtype.bits // 8}")
        self.emit(f"{stop} = add i64 {start}, {nbytes}")
        self.emit(f"{stop}.block = and i64 {stop}, -64")
        self.emit(f"{first} = add i64 {start}, 63")
        self.emit(f"{first}.block = and i64 {first}, -64")
        vl = self.vsetvli(stop, 8, 1)   # the stand-in's vl (any; not a constant LLVM would fold and re-set in the loop)
        if "blocks" in op.attrs:
            for k in range(op.attrs["blocks"]):
                at, end, whole = self.tmp(), self.tmp(), self.tmp()
                body, done = self.label("zerobody"), self.label("zerodone")
                self.emit(f"{at} = add i64 {first}.block, {64 * k}")
                self.emit(f"{end} = add i64 {at}, 64")
                self.emit(f"{whole} = icmp ule i64 {end}, {stop}.block")
                self.emit(f"br i1 {whole}, label %{body}, label %{done}")
                self.start_block(body)
                self._cbo_zero(at, vl)
                self.emit(f"br label %{done}")
                self.start_block(done)
            return ""
        at, nxt, more, slot = (self.tmp() for _ in range(4))
        self.allocas.append(f"{slot} = alloca i64")
        self.emit(f"store i64 {first}.block, ptr {slot}")
        head, body, done = self.label("zero"), self.label("zerobody"), self.label("zerodone")
        self.emit(f"br label %{head}")
        self.start_block(head)
        self.emit(f"{at} = load i64, ptr {slot}")
        self.emit(f"{more} = icmp ult i64 {at}, {stop}.block")
        self.emit(f"br i1 {more}, label %{body}, label %{done}")
        self.start_block(body)
        self._cbo_zero(at, vl)
        self.emit(f"{nxt} = add i64 {at}, 64")
        self.emit(f"store i64 {nxt}, ptr {slot}")
        # unrolled four times: one claim per instruction pair, so a row's claims cost the
        # vector unit, which idles behind them, about half the cycles (spacemit-x60 softmax)
        unroll = self._loop_md('!"llvm.loop.unroll.count", i32 4')
        self.emit(f"br label %{head}{unroll}")
        self.start_block(done)
        return ""

    def _cbo_zero(self, addr: str, vl: str) -> None:
        """``cbo.zero`` of the block at ``addr`` (its stand-in, with the stand-in's ``vl``)."""
        from rvai.codegen import standin
        self.call("void", standin.CBO_ZERO.intrinsic + ".i64.i64.i64",
                  ["i64 3", "i64 31", "i64 31", f"i64 {addr}", "i64 8", "i64 0", f"i64 {vl}"])

    def op_vsplat(self, op: ir.Op) -> str:
        """Broadcast a scalar to a vector, as LLVM's generic splat (all VLMAX elements).

        Not the ``vl``-bound ``vfmv.v.f`` intrinsic: a splat of a loop-invariant scalar
        (a polynomial's coefficient) is then loop-invariant too, and LLVM hoists it out
        of the loop instead of spending a vector op on it at every trip. With ``bound``
        (``rl.full(bound=True)``) that intrinsic, which LLVM does not fold.
        """
        if op.attrs.get("bound"):
            return self.splat(op.operands[0], op.result.type, op.operands[1]).split(" ")[-1]
        return self._vector_operand(op.operands[0], op.result.type).split(" ")[-1]

    def op_vid(self, op: ir.Op) -> str:
        """The element indices 0, 1, 2, ... as a vector (``vid.v``)."""
        rt = op.result.type
        return self.rvv("vid", rt, [rt], [f"{lltype(rt)} poison", self.tv(op.operands[0])])

    def op_vslidedown(self, op: ir.Op) -> str:
        """``vslidedown.vx``: element i of the result is element i + offset of the source."""
        x, offset, vl = op.operands
        rt = op.result.type
        return self.rvv("vslidedown", rt, [rt], [f"{lltype(rt)} poison", self.tv(x), self.tv(offset), self.tv(vl),
                                                 f"i64 {TAMA}"])

    def op_vfirst(self, op: ir.Op) -> str:
        """Element 0 of a vector: ``extractelement``, which LLVM selects as ``vfmv.f.s`` /
        ``vmv.x.s``."""
        out = self.tmp()
        self.emit(f"{out} = extractelement {self.tv(op.operands[0])}, i64 0")
        return out

    def op_vreduce(self, op: ir.Op) -> str:
        """Reduce a vector to a scalar (sum, max or min) through an LMUL=1 accumulator."""
        vec, vl = op.operands
        dt, kind = vec.type.dtype, op.attrs["op"]
        m1 = _m1(dt)
        init = {"sum": 0, "max": -np.inf, "min": np.inf}[kind] if dt.is_float else {
            "sum": 0, "max": -(1 << (dt.bits - 1)) if dt.kind == "i" else 0,
            "min": (1 << (dt.bits - 1)) - 1 if dt.kind == "i" else (1 << dt.bits) - 1}[kind]
        seed = self.tmp()
        self.emit(f"{seed} = insertelement {lltype(m1)} poison, {lltype(dt)} {llconst(dt, init)}, i64 0")
        # The DSL reads only element 0 of the result, which a reduction writes whenever vl >= 1
        # (the rest of vd is tail); at vl = 0 it writes nothing (RVV 1.0, "Vector Reduction
        # Operations"), so there the seed as passthru gives the empty reduction's init. Where vl
        # cannot be 0 the passthru is poison: vd is then free, not tied to the seed's register,
        # which LLVM otherwise copies first (a `vmv1r.v` per reduction).
        passthru = "poison" if vl.id in self.nonzero_vls else seed
        if dt.is_float:
            name = {"sum": "vfredusum", "max": "vfredmax", "min": "vfredmin"}[kind]
            frm = [f"i64 {FRM_DYN}"] if kind == "sum" else []
        else:
            u = "u" if dt.kind == "u" and kind != "sum" else ""
            name, frm = {"sum": "vredsum", "max": f"vredmax{u}", "min": f"vredmin{u}"}[kind], []
        red = self.rvv(name, m1, [m1, vec.type], [f"{lltype(m1)} {passthru}", self.tv(vec), f"{lltype(m1)} {seed}"]
                       + frm + [self.tv(vl)])
        out = self.tmp()
        self.emit(f"{out} = extractelement {lltype(m1)} {red}, i64 0")
        return out

    def op_mlogic(self, op: ir.Op) -> str:
        """Mask logic (and, or, xor) between two masks."""
        a, b = op.operands
        out = self.tmp()
        self.emit(f"{out} = {op.attrs['op']} {self.tv(a)}, {self.v(b)}")
        return out

    def op_mnot(self, op: ir.Op) -> str:
        """Mask complement."""
        out = self.tmp()
        self.emit(f"{out} = xor {self.tv(op.operands[0])}, splat (i1 true)")
        return out

    def op_vbitcast(self, op: ir.Op) -> str:
        """Reinterpret the bits of a vector as another vector type."""
        return self.op_bitcast(op)

    def op_vcast(self, op: ir.Op) -> str:
        """Vector dtype conversion."""
        a, vl = op.operands
        return self.convert(self.v(a), a.type.dtype, op.result.type.dtype, (a.type.n, vl), op.attrs.get("frm"))

    # ------------------------------------------------------------------ conversions
    def convert(self, x: str, src: ir.DType, dst: ir.DType, vec, frm: int | None = None) -> str:
        """Convert ``x`` from ``src`` to ``dst`` (scalar if ``vec`` is None, else (n, vl));
        float to int truncates, or rounds by the RISC-V rounding mode ``frm`` (vectors)."""
        if src == dst or (src.is_int and dst.is_int and src.bits == dst.bits):
            return x
        if src.name == "bf16":
            return self.convert(self._bf16_to_f32(x, vec), ir.f32, dst, vec)
        if dst.name == "bf16":
            return self._f32_to_bf16(self.convert(x, src, ir.f32, vec), vec)
        if src.is_float and dst.is_float:
            step = ir.DTYPES[f"f{src.bits * 2}" if dst.bits > src.bits else f"f{src.bits // 2}"]
            return self.convert(self._float_step(x, src, step, vec), step, dst, vec)
        if src.is_int and dst.is_int:
            return self._int_resize(x, src, dst, vec)
        if src.is_int:     # int -> float: resize the integer to the float's width first
            mid = ir.DTYPES[f"{src.kind}{dst.bits}"]
            return self._int_float(self._int_resize(x, src, mid, vec), mid, dst, vec)
        if vec is not None and frm is not None and dst.bits < src.bits:   # vfncvt: one op less than vfcvt + vnsrl
            mid = ir.DTYPES[f"{dst.kind}{src.bits // 2}"]
            return self._int_resize(self._float_narrow_int(x, src, mid, vec, frm), mid, dst, vec)
        mid = ir.DTYPES[f"{dst.kind}{src.bits}"]
        return self._int_resize(self._int_float(x, src, mid, vec, frm), mid, dst, vec)

    def _ty(self, dt: ir.DType, vec) -> str:
        return lltype(dt) if vec is None else lltype(ir.VectorType(dt, vec[0]))

    def _generic(self, instr: str, x: str, src: ir.DType, dst: ir.DType, vec, dst_type: str | None = None) -> str:
        out = self.tmp()
        self.emit(f"{out} = {instr} {self._ty(src, vec)} {x} to {dst_type or self._ty(dst, vec)}")
        return out

    def _float_step(self, x: str, src: ir.DType, dst: ir.DType, vec) -> str:
        if vec is None:
            return self._generic("fpext" if dst.bits > src.bits else "fptrunc", x, src, dst, None)
        n, vl = vec
        st, dt = ir.VectorType(src, n), ir.VectorType(dst, n)
        if dst.bits > src.bits:
            return self.rvv("vfwcvt.f.f.v", dt, [dt, st], [f"{lltype(dt)} poison", f"{lltype(st)} {x}", self.tv(vl)])
        return self.rvv("vfncvt.f.f.w", dt, [dt, st], [f"{lltype(dt)} poison", f"{lltype(st)} {x}",
                                                       f"i64 {FRM_DYN}", self.tv(vl)])

    def _int_resize(self, x: str, src: ir.DType, dst: ir.DType, vec) -> str:
        if src.bits == dst.bits:
            return x
        if vec is None:
            instr = "trunc" if dst.bits < src.bits else ("sext" if src.kind == "i" else "zext")
            return self._generic(instr, x, src, dst, None)
        n, vl = vec
        st, dt = ir.VectorType(src, n), ir.VectorType(dst, n)
        if dst.bits > src.bits:
            name = f"{'vsext' if src.kind == 'i' else 'vzext'}.vf{dst.bits // src.bits}"
            return self.rvv(name, dt, [dt, st], [f"{lltype(dt)} poison", f"{lltype(st)} {x}", self.tv(vl)])
        half = ir.DTYPES[f"{dst.kind}{src.bits // 2}"]
        ht = ir.VectorType(half, n)
        out = self.rvv("vnsrl", ht, [ht, st, ir.ScalarType(ir.i64)],
                       [f"{lltype(ht)} poison", f"{lltype(st)} {x}", "i64 0", self.tv(vl)])
        return self._int_resize(out, half, dst, vec)

    def _float_narrow_int(self, x: str, src: ir.DType, dst: ir.DType, vec, frm: int) -> str:
        """Float vector to integers of half its width (saturating there) by ``vfncvt.x.f.w``
        in the static rounding mode ``frm``."""
        n, vl = vec
        st, dt = ir.VectorType(src, n), ir.VectorType(dst, n)
        name = "vfncvt.x.f.w" if dst.kind == "i" else "vfncvt.xu.f.w"
        return self.rvv(name, dt, [dt, st], [f"{lltype(dt)} poison", f"{lltype(st)} {x}", f"i64 {frm}", self.tv(vl)])

    def _int_float(self, x: str, src: ir.DType, dst: ir.DType, vec, frm: int | None = None) -> str:
        if vec is None:
            if src.is_int:
                return self._generic("sitofp" if src.kind == "i" else "uitofp", x, src, dst, None)
            return self._generic("fptosi" if dst.kind == "i" else "fptoui", x, src, dst, None)
        n, vl = vec
        st, dt = ir.VectorType(src, n), ir.VectorType(dst, n)
        if src.is_int:
            name, frm = ("vfcvt.f.x.v" if src.kind == "i" else "vfcvt.f.xu.v"), [f"i64 {FRM_DYN}"]
        else:
            u = "" if dst.kind == "i" else "u"
            name, frm = (f"vfcvt.rtz.x{u}.f.v", []) if frm is None else (f"vfcvt.x{u}.f.v", [f"i64 {frm}"])
        return self.rvv(name, dt, [dt, st], [f"{lltype(dt)} poison", f"{lltype(st)} {x}"] + frm + [self.tv(vl)])

    def _bf16_to_f32(self, x: str, vec) -> str:
        """bf16 bits to f32: ``vfwcvtbf16`` (``fcvt.s.bf16``) with Zvfbfmin (Zfbfmin), else the
        bits shifted up 16."""
        if vec is None and "zfbfmin" in self.exts:
            bits = self._i1(f"bitcast i16 {x} to bfloat")
            return self._i1(f"fpext bfloat {bits} to float")
        if vec is not None and "zvfbfmin" in self.exts:
            n, vl = vec
            bt = f"<vscale x {n} x bfloat>"
            bits = self._generic("bitcast", x, ir.i16, ir.bf16, vec, dst_type=bt)
            return self.call(lltype(ir.VectorType(ir.f32, n)), f"llvm.riscv.vfwcvtbf16.f.f.v.nxv{n}f32.nxv{n}bf16.i64",
                             [f"{lltype(ir.VectorType(ir.f32, n))} poison", f"{bt} {bits}", self.tv(vl)])
        wide = self._int_resize(x, ir.u16, ir.u32, vec)
        out = self.tmp()
        self.emit(f"{out} = shl {self._ty(ir.u32, vec)} {wide}, {self._splat_lit(ir.u32, 16, vec)}")
        return self._generic("bitcast", out, ir.u32, ir.f32, vec)

    def _f32_to_bf16(self, x: str, vec) -> str:
        """f32 to bf16 bits, nearest even: ``vfncvtbf16`` (``fcvt.bf16.s``) with Zvfbfmin
        (Zfbfmin), else integer rounding."""
        if vec is None and "zfbfmin" in self.exts:
            return self._i1(f"bitcast bfloat {self._i1(f'fptrunc float {x} to bfloat')} to i16")
        if vec is not None and "zvfbfmin" in self.exts:
            n, vl = vec
            bt = f"<vscale x {n} x bfloat>"
            narrow = self.call(bt, f"llvm.riscv.vfncvtbf16.f.f.w.nxv{n}bf16.nxv{n}f32.i64",
                               [f"{bt} poison", f"{lltype(ir.VectorType(ir.f32, n))} {x}", f"i64 {FRM_DYN}",
                                self.tv(vl)])
            out = self.tmp()
            self.emit(f"{out} = bitcast {bt} {narrow} to {self._ty(ir.i16, vec)}")
            return out
        t = self._ty(ir.u32, vec)
        bits = self._generic("bitcast", x, ir.f32, ir.u32, vec)
        lsb, one, bias, rounded, top = (self.tmp() for _ in range(5))
        self.emit(f"{lsb} = lshr {t} {bits}, {self._splat_lit(ir.u32, 16, vec)}")
        self.emit(f"{one} = and {t} {lsb}, {self._splat_lit(ir.u32, 1, vec)}")
        self.emit(f"{bias} = add {t} {one}, {self._splat_lit(ir.u32, 0x7FFF, vec)}")
        self.emit(f"{rounded} = add {t} {bits}, {bias}")
        self.emit(f"{top} = lshr {t} {rounded}, {self._splat_lit(ir.u32, 16, vec)}")
        return self._int_resize(top, ir.u32, ir.u16, vec)

    @staticmethod
    def _splat_lit(dt: ir.DType, value: int, vec) -> str:
        return str(value) if vec is None else f"splat ({lltype(dt)} {value})"


def _escape(text: str) -> str:
    """``text`` as the body of an LLVM metadata string."""
    return "".join(c if c.isprintable() and c not in '"\\' else f"\\{ord(c):02X}" for c in text)


class _Lit:
    """A literal standing in for an IR value in intrinsic argument lists."""

    def __init__(self, type, text: str):
        self.type, self.text, self.id = type, text, None


def _cmp_instr(dt: ir.DType, pred: str) -> str:
    if dt.is_float:
        return "fcmp " + {"lt": "olt", "le": "ole", "gt": "ogt", "ge": "oge", "eq": "oeq", "ne": "une"}[pred]
    s = "s" if dt.kind == "i" else "u"
    return "icmp " + {"lt": f"{s}lt", "le": f"{s}le", "gt": f"{s}gt", "ge": f"{s}ge", "eq": "eq", "ne": "ne"}[pred]


def lower(fn: ir.Function, vlen: int | None = None, extensions: frozenset[str] = frozenset(),
          min_vlen: int = 128, touches: int = frame.PLACEHOLDERS) -> tuple[str, tuple, tuple]:
    """LLVM module text for ``fn`` (which must have passed :func:`rvai.ir.verify`), the
    bounds-check table (tensor, axis, file, line) indexed by the id a failed check reports,
    and the loops table (file, line, loop file, loop line): the innermost runtime loop
    around each source line.

    Vector-length agnostic unless ``vlen`` is given: then specialised for that VLEN only.
    ``extensions`` (the target's, as LLVM names them) select the instructions of ops that
    have several lowerings (bf16, ``vdot4``, ``mma``); ``min_vlen`` bounds the lanes a
    vector-length-agnostic ``mma`` may count on. ``touches``: the placeholder loads of each
    ``touch_frame`` (:mod:`rvai.codegen.frame`).
    """
    lowering = Lowering(fn, vlen, extensions, min_vlen, touches)
    text = lowering.module()
    return text, tuple(lowering.checks), tuple(at + loop for at, loop in lowering.loops.items())
