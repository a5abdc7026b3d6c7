"""The translating tier's code generator: one hot basic block of scalar
integer code (M's division too), scalar FP (loads, stores, moves, sign
injections, compares, min/max and fclass inline; arithmetic and conversions
through csrc/jit_fp.c), ``csrr rd, vlenb`` and vector instructions becomes a host function through LLVM (llvmlite's MCJIT), which
the C loop runs in place of interpreting it (csrc/jit.h says how a block is
entered and what it returns; rvai.emu.translate decides when).

The interpreter stays the reference: a block holds only the instructions in
``EMIT`` below, up to and including its first branch or jump; any other
instruction ends the block before it and the interpreter runs it.  A block
keeps the guest registers it uses in locals, writes them back to the machine
on every exit, and counts what it retired into the machine's counters exactly
as the interpreter would.  Loads and stores take the software TLB's fast path
inline and call the C slow path on a miss; a slow-path store ends the block
after it (it may have rewritten code), and a fault ends it before the
faulting instruction with that pc.  A block whose last branch goes back to
its own start loops in place while the budget covers another full pass, so a
run stops at the same instruction as an interpreted one; leaving whole for
another block it tail-calls that block when the machine's link table holds
it and the budget covers it (chaining, csrc/jit.h), else returns to the loop.
"""
from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from llvmlite import binding as llvm

from rvai import diskcache
from rvai._rvemu import ffi, lib
from rvai.emu.jit_ir import (I1, I8, I16, I32, I64, I128, LIKELY_DEF, PTR, VINLINE, VOID, Builder, Function, Value,
                             const, vlmax_of)


def _w(b, v):
    """RV64's W results: the low 32 bits sign-extended."""
    return b.sext(b.trunc(v, I32), I64)


def _shamt(b, v, bits):
    return b.and_(v, _C(bits - 1))


def _imm(x):
    return _C(x.imm)


def _slt(b, op, a, c):
    return b.zext(b.icmp_signed(op, a, c) if op[0] != "u" else b.icmp_unsigned(op[1:], a, c), I64)


def _mulh(b, a, c, sa, sc):
    ext_a = b.sext(a, I128) if sa else b.zext(a, I128)
    ext_c = b.sext(c, I128) if sc else b.zext(c, I128)
    return b.trunc(b.lshr(b.mul(ext_a, ext_c), const(I128, 64)), I64)


def _w32(f):
    """An op on the low 32 bits of both operands, sign-extended back."""
    return lambda b_, x, y: b_.sext(f(b_, b_.trunc(x, I32), b_.trunc(y, I32)), I64)


def _C(v):
    """An i64 constant of v taken modulo 2**64."""
    return const(I64, v)


def _C32(v):
    return const(I32, v)


def _div(signed, rem, bits=64):
    """f(builder, a, c): RISC-V's div/divu/rem/remu (``bits`` 32: the W forms,
    on the low 32 bits, sign-extended) as exec_int.h computes them, with no
    case LLVM leaves undefined (a host trap): a zero divisor, and the signed
    overflow (the most negative dividend over -1), divide by 1 instead, which
    already gives the overflow's results (quotient the dividend, remainder 0);
    a zero divisor's results (quotient all ones, remainder the dividend) are
    then selected."""
    def div(b, a, c):
        ty = f"i{bits}"
        if bits == 32:
            a, c = b.trunc(a, ty), b.trunc(c, ty)
        zero = b.icmp_unsigned("==", c, const(ty, 0))
        bad = zero
        if signed:
            bad = b.or_(zero, b.and_(b.icmp_unsigned("==", a, const(ty, 1 << bits - 1)),
                                     b.icmp_unsigned("==", c, const(ty, -1))))
        safe = b.select(bad, const(ty, 1), c)
        op = (b.srem if rem else b.sdiv) if signed else (b.urem if rem else b.udiv)
        r = b.select(zero, a if rem else const(ty, -1), op(a, safe))
        return b.sext(r, I64) if bits == 32 else r
    return div


# Register-register ops: name -> f(builder, rs1 value, rs2 value).
RR = {
    "add": lambda b, x, y: b.add(x, y),
    "sub": lambda b, x, y: b.sub(x, y),
    "sll": lambda b, x, y: b.shl(x, _shamt(b, y, 64)),
    "srl": lambda b, x, y: b.lshr(x, _shamt(b, y, 64)),
    "sra": lambda b, x, y: b.ashr(x, _shamt(b, y, 64)),
    "slt": lambda b, x, y: _slt(b, "<", x, y),
    "sltu": lambda b, x, y: _slt(b, "u<", x, y),
    "xor": lambda b, x, y: b.xor(x, y),
    "or": lambda b, x, y: b.or_(x, y),
    "and": lambda b, x, y: b.and_(x, y),
    "addw": lambda b, x, y: _w(b, b.add(x, y)),
    "subw": lambda b, x, y: _w(b, b.sub(x, y)),
    "sllw": _w32(lambda b, x, y: b.shl(x, b.and_(y, _C32(31)))),
    "srlw": _w32(lambda b, x, y: b.lshr(x, b.and_(y, _C32(31)))),
    "sraw": _w32(lambda b, x, y: b.ashr(x, b.and_(y, _C32(31)))),
    "mul": lambda b, x, y: b.mul(x, y),
    "mulw": lambda b, x, y: _w(b, b.mul(x, y)),
    "mulh": lambda b, x, y: _mulh(b, x, y, True, True),
    "mulhsu": lambda b, x, y: _mulh(b, x, y, True, False),
    "mulhu": lambda b, x, y: _mulh(b, x, y, False, False),
    **{f"{op}{u}{w}": _div(not u, op == "rem", 32 if w else 64)
       for op in ("div", "rem") for u in ("", "u") for w in ("", "w")},
    "sh1add": lambda b, x, y: b.add(b.shl(x, _C(1)), y),
    "sh2add": lambda b, x, y: b.add(b.shl(x, _C(2)), y),
    "sh3add": lambda b, x, y: b.add(b.shl(x, _C(3)), y),
    "add.uw": lambda b, x, y: b.add(b.and_(x, _C(0xFFFFFFFF)), y),
    "andn": lambda b, x, y: b.and_(x, b.not_(y)),
    "orn": lambda b, x, y: b.or_(x, b.not_(y)),
    "xnor": lambda b, x, y: b.not_(b.xor(x, y)),
    "min": lambda b, x, y: b.select(b.icmp_signed("<", x, y), x, y),
    "max": lambda b, x, y: b.select(b.icmp_signed(">", x, y), x, y),
    "minu": lambda b, x, y: b.select(b.icmp_unsigned("<", x, y), x, y),
    "maxu": lambda b, x, y: b.select(b.icmp_unsigned(">", x, y), x, y),
    # Zicond (a machine with it off decodes these as illegal: no block holds one then)
    "czero.eqz": lambda b, x, y: b.select(b.icmp_unsigned("==", y, _C(0)), _C(0), x),
    "czero.nez": lambda b, x, y: b.select(b.icmp_unsigned("!=", y, _C(0)), _C(0), x),
}

# Register-immediate ops: name -> f(builder, rs1 value, immediate as an i64 constant, pc).
RI = {
    "addi": lambda b, x, i, pc: b.add(x, i),
    "slti": lambda b, x, i, pc: _slt(b, "<", x, i),
    "sltiu": lambda b, x, i, pc: _slt(b, "u<", x, i),
    "xori": lambda b, x, i, pc: b.xor(x, i),
    "ori": lambda b, x, i, pc: b.or_(x, i),
    "andi": lambda b, x, i, pc: b.and_(x, i),
    "slli": lambda b, x, i, pc: b.shl(x, i),
    "srli": lambda b, x, i, pc: b.lshr(x, i),
    "srai": lambda b, x, i, pc: b.ashr(x, i),
    "addiw": lambda b, x, i, pc: _w(b, b.add(x, i)),
    "slliw": lambda b, x, i, pc: b.sext(b.shl(b.trunc(x, I32), b.trunc(i, I32)), I64),
    "srliw": lambda b, x, i, pc: b.sext(b.lshr(b.trunc(x, I32), b.trunc(i, I32)), I64),
    "sraiw": lambda b, x, i, pc: b.sext(b.ashr(b.trunc(x, I32), b.trunc(i, I32)), I64),
    "lui": lambda b, x, i, pc: i,
    "auipc": lambda b, x, i, pc: b.add(_C(pc), i),
    "sext.b": lambda b, x, i, pc: b.sext(b.trunc(x, I8), I64),
    "sext.h": lambda b, x, i, pc: b.sext(b.trunc(x, I16), I64),
    "zext.h": lambda b, x, i, pc: b.and_(x, _C(0xFFFF)),
}

# Loads and stores: name -> (bytes, sign-extend).
LOADS = {"lb": (1, True), "lh": (2, True), "lw": (4, True), "ld": (8, False),
         "lbu": (1, False), "lhu": (2, False), "lwu": (4, False)}
STORES = {"sb": 1, "sh": 2, "sw": 4, "sd": 8}
BRANCHES = {"beq": "==", "bne": "!=", "blt": "<", "bge": ">=", "bltu": "u<", "bgeu": "u>="}
JUMPS = {"jal", "jalr"}
NOPS = {"fence", "fence.i"}   # the interpreter's are no-ops too (exec_int.h)
# Floating-point loads, stores and moves (the bits untouched, as exec_fp.h):
# the f registers stay in the machine, where vector ops and the slow paths
# read them.  A narrower value goes into f[rd] NaN-boxed (upper bits ones);
# a store or a move to x takes the low bits, boxed or not.  name -> bytes.
FLOADS = {"flh": 2, "flw": 4, "fld": 8}
FSTORES = {"fsh": 2, "fsw": 4, "fsd": 8}
FMV_TO_F = {"fmv.h.x": 2, "fmv.w.x": 4, "fmv.d.x": 8}
FMV_TO_X = {"fmv.x.h": 2, "fmv.x.w": 4, "fmv.x.d": 8}   # sign-extended from its width

# Sign injection, exec_fp.h's FSGNJ (fmv, fneg and fabs are its forms): the
# first operand's bits with a sign from both, no flags.  A narrower operand
# reads NaN-unboxed (_unbox) and the result goes NaN-boxed.  name -> (bytes,
# the sign's source: "" the second operand's, "n" its inverse, "x" the two XORed).
FSGNJ = {f"fsgnj{kind}.{fmt}": (size, kind) for fmt, size in (("h", 2), ("s", 4), ("d", 8)) for kind in ("", "n", "x")}
# The IEEE fields of each width, by bytes: the fraction's bits; from them its
# infinity, quiet bit and canonical NaN (fp.h's FP_CNAN16/32/64, which an
# unboxed narrower operand reads as).
FRAC_BITS = {2: 10, 4: 23, 8: 52}
FINF = {size: ((1 << 8 * size - 1 - f) - 1) << f for size, f in FRAC_BITS.items()}
FQUIET = {size: 1 << f - 1 for size, f in FRAC_BITS.items()}
CNAN = {size: FINF[size] | FQUIET[size] for size in FRAC_BITS}
#: fflags' invalid-operation flag (the ISA's layout, fp.h's FP_NV)
FP_NV = 16
FMTS = (("h", 2), ("s", 4), ("d", 8))

# Compares, min/max and classify (exec_fp.h's FCMP, FMINMAX, fclass with
# fp.h's rules), on the operands' bits (_fkey orders them as their values):
# narrower operands NaN-unboxed, a min/max result NaN-boxed, a compare's or
# class's in x[rd].  NV goes into fflags (in the machine) as fp.h raises it:
# flt/fle on any NaN, feq and fmin/fmax on a signalling one.  name -> (bytes, op).
FCMP = {f"{op}.{fmt}": (size, op) for fmt, size in FMTS for op in ("feq", "flt", "fle")}
FMINMAX = {f"{op}.{fmt}": (size, op) for fmt, size in FMTS for op in ("fmin", "fmax")}
FCLASS = {f"fclass.{fmt}": size for fmt, size in FMTS}

# Arithmetic and conversions: a call of csrc/jit_fp.c's jit_fp, the
# interpreter's own handler (rounding by the rm field or frm, fflags, NaNs:
# its results by construction; a reserved rounding mode stops as illegal,
# before the instruction).  name -> the integer register it reads or writes
# ("rs1": from an integer, "rd": to one; "": f registers only).
_INTS = ("w", "wu", "l", "lu")
FCALL = {**{f"{op}.{fmt}": "" for fmt, _ in FMTS
            for op in ("fadd", "fsub", "fmul", "fdiv", "fsqrt", "fmadd", "fmsub", "fnmsub", "fnmadd")},
         **{f"fcvt.{i}.{fmt}": "rd" for fmt, _ in FMTS for i in _INTS},
         **{f"fcvt.{fmt}.{i}": "rs1" for fmt, _ in FMTS for i in _INTS},
         **{f"fcvt.{to}.{src}": "" for to, _ in FMTS for src, _ in FMTS if to != src},
         "fcvt.bf16.s": "", "fcvt.s.bf16": ""}

# CSR reads: only ``csrr rd, vlenb`` (csrrs rd, vlenb, x0), VLEN/8, a constant
# of the machine (``_vlenb_read``); every other CSR access reads or writes machine
# state (fflags, frm, vl, vtype, vstart) or a counter (cycle and time read the
# timing model's clock), so a csrrs of any other form ends the block before it.
CSR_VLENB = 0xC22
CSRS = {"csrrs"}

#: Every op the translator handles; any other ends a block before it (and of
#: CSRS, any access but a vlenb read: ``emits``).
EMIT = frozenset(RR) | frozenset(RI) | frozenset(LOADS) | frozenset(STORES) | frozenset(BRANCHES) | JUMPS | NOPS | \
    frozenset(FLOADS) | frozenset(FSTORES) | frozenset(FMV_TO_F) | frozenset(FMV_TO_X) | frozenset(CSRS) | \
    frozenset(FSGNJ) | frozenset(FCMP) | frozenset(FMINMAX) | frozenset(FCLASS) | frozenset(FCALL)


def _x_operands(name) -> tuple[str, ...]:
    """The fields of a scalar op ``name`` that name integer registers (the
    others of an FP op name f registers)."""
    if name in FLOADS or name in FSTORES or name in FMV_TO_F:
        return ("rs1",)
    if name in CSRS:
        return ("rd",)   # (rs1 is x0: _vlenb_read)
    if name in FSGNJ or name in FMINMAX:
        return ()
    if name in FCALL:
        return (FCALL[name],) if FCALL[name] else ()
    return ("rd",) if name in FMV_TO_X or name in FCMP or name in FCLASS else ("rd", "rs1", "rs2")


def _writes_x(name) -> bool:
    """Does scalar op ``name`` write integer register rd?"""
    return "rd" in _x_operands(name) and not (name in STORES or name in BRANCHES or name in NOPS)


def _unbox(f, size, b):
    """f register bits ``f`` (an i64) as a ``size``-byte operand (an i{8 size}):
    NaN-unboxed as fp.h's fp_unbox32 and fp_unbox16 do, the canonical NaN unless
    every bit above the value is one."""
    if size == 8:
        return f
    bits, ty = 8 * size, f"i{8 * size}"
    boxed = b.icmp_unsigned("==", b.lshr(f, _C(bits)), _C((1 << 64 - bits) - 1))
    return b.select(boxed, b.trunc(f, ty), const(ty, CNAN[size]))


def _fsgnj(name, a, c, b):
    """Sign injection ``name`` (FSGNJ) of f register bits ``a`` and ``c``: f[rd]'s 64 bits."""
    size, kind = FSGNJ[name]
    a, c = _unbox(a, size, b), _unbox(c, size, b)
    sign = const(a.type, 1 << 8 * size - 1)
    src = c if kind == "" else b.not_(c) if kind == "n" else b.xor(a, c)
    return _box(b.or_(b.and_(a, b.not_(sign)), b.and_(src, sign)), size, b)


def _isnan(b, a, size):
    """Is ``size``-byte FP value a (its bits) a NaN?"""
    return b.icmp_unsigned(">", b.and_(a, const(a.type, (1 << 8 * size - 1) - 1)), const(a.type, FINF[size]))


def _issnan(b, a, size):
    """Is it a signalling NaN (a NaN, its quiet bit clear)?"""
    quiet = b.icmp_unsigned("!=", b.and_(a, const(a.type, FQUIET[size])), const(a.type, 0))
    return b.and_(_isnan(b, a, size), b.not_(quiet))


def _fkey(b, a, size):
    """A number's bits (sign and magnitude) as a signed integer of its width
    ordered as the values are: the magnitude, negated for a negative number
    (both zeros are 0; the magnitude has a bit to spare for the sign)."""
    mag = b.and_(a, const(a.type, (1 << 8 * size - 1) - 1))
    return b.select(b.icmp_signed("<", a, const(a.type, 0)), b.sub(const(a.type, 0), mag), mag)


def _fcmp(name, a, c, b):
    """Compare ``name`` (fp.h's FP_CMP) of ``size``-byte operands a and c: (the
    i1 result, the i1 test that raises NV)."""
    size, op = FCMP[name]
    nan = b.or_(_isnan(b, a, size), _isnan(b, c, size))
    nv = b.or_(_issnan(b, a, size), _issnan(b, c, size)) if op == "feq" else nan
    order = b.icmp_signed({"feq": "==", "flt": "<", "fle": "<="}[op], _fkey(b, a, size), _fkey(b, c, size))
    return b.and_(order, b.not_(nan)), nv


def _fminmax(name, a, c, b):
    """fmin/fmax ``name`` (fp.h's FP_MINMAX, minimumNumber/maximumNumber) of
    a and c: (the result, the NV test).  A NaN loses to a number, two NaNs
    give the canonical NaN, -0 is below +0."""
    size, op = FMINMAX[name]
    an, cn = _isnan(b, a, size), _isnan(b, c, size)
    ka, kc = _fkey(b, a, size), _fkey(b, c, size)
    neg = b.icmp_signed("<", a, const(a.type, 0))
    # equal keys: equal numbers (the same bits) or zeros of either sign, picked by a's sign
    if op == "fmax":
        pick_a = b.select(b.icmp_signed("==", ka, kc), b.not_(neg), b.icmp_signed(">", ka, kc))
    else:
        pick_a = b.select(b.icmp_signed("==", ka, kc), neg, b.icmp_signed("<", ka, kc))
    r = b.select(cn, a, b.select(pick_a, a, c))
    r = b.select(an, b.select(cn, const(a.type, CNAN[size]), c), r)
    return r, b.or_(_issnan(b, a, size), _issnan(b, c, size))


def _fclass(a, size, b):
    """fclass's mask (fp.h's fp_classify) of ``size``-byte operand a, an i64."""
    ty, fb = a.type, FRAC_BITS[size]
    k = lambda v: const(ty, v)   # noqa: E731
    e = b.and_(b.lshr(a, k(fb)), k(FINF[size] >> fb))
    frac = b.and_(a, k((1 << fb) - 1))
    neg = b.icmp_signed("<", a, k(0))
    zf = b.icmp_unsigned("==", frac, k(0))
    by_sign = lambda n, p: b.select(neg, k(1 << n), k(1 << p))   # noqa: E731
    quiet = b.icmp_unsigned("!=", b.and_(a, k(FQUIET[size])), k(0))
    special = b.select(zf, by_sign(0, 7), b.select(quiet, k(1 << 9), k(1 << 8)))
    low = b.select(zf, by_sign(3, 4), by_sign(2, 5))
    r = b.select(b.icmp_unsigned("==", e, k(FINF[size] >> fb)), special,
                 b.select(b.icmp_unsigned("==", e, k(0)), low, by_sign(1, 6)))
    return r if size == 8 else b.zext(r, I64)


def _vlenb_read(ins) -> bool:
    """Is decoded csrrs ``ins`` the one CSR access a block holds, ``csrr rd,
    vlenb`` (rs1 x0: no write; the decoder's immediate is the CSR number)?"""
    return ins.rs1 == 0 and ins.imm == CSR_VLENB


def emits(ins) -> bool:
    """Does a block hold decoded scalar instruction ``ins`` (EMIT, and of CSRS a vlenb read only)?"""
    name = _OP_NAMES[ins.op]
    return name in EMIT and (name not in CSRS or _vlenb_read(ins))


def _box(v, size, b):
    """A ``size``-byte value (an i{8 size}) as an f register holds it: NaN-boxed."""
    return v if size == 8 else b.or_(b.zext(v, I64), _C(-1 << 8 * size))

_OP_NAMES = [ffi.string(lib.rv_op_name(op)).decode() for op in range(lib.rv_num_ops())]
#: Vector ops a block holds: each a call of csrc/jit_vec.c, the interpreter's own semantics.
VEC = frozenset(op for op in range(lib.rv_num_ops()) if lib.rv_jit_vec_covers(op))
_LAYOUT = ffi.new("uint64_t[17]")
lib.rv_jit_layout(_LAYOUT)
X_OFF, OPC_OFF, TLB_R_OFF, TLB_W_OFF, LOAD_SLOW, STORE_SLOW, TLB_SIZE, PAGE_BITS, PART_FN, VEC_FN, VL_OFF, V_OFF, \
    JIT_OFF, LINKS_OFF, N_LINKS, F_OFF, FFLAGS_OFF = (int(v) for v in _LAYOUT)
VTYPE_OFF, VSTART_OFF = VL_OFF + 8, VL_OFF + 16
FRM_OFF = FFLAGS_OFF + 4   # (uint32_t fflags, frm: csrc/machine.h)
#: csrc/jit_vec.c's jit_vfp: a vector FP op with its context made at translation.
VFP_FN = int(lib.rv_jit_vfp_fn())
#: csrc/jit_fp.c's jit_fp: a scalar FP op run as the interpreter runs it (FCALL).
FP_FN = int(lib.rv_jit_fp_fn())
_TIMED_FNS = ffi.new("uint64_t[8]")
lib.rv_jit_timed_fns(_TIMED_FNS)
_TL = ffi.new("uint64_t[48]")
lib.rv_jit_timed_layout(_TL)
TIMING_OFF, T_NOW, T_ROOM, T_INLINE_FROM, T_LAST_DST, T_LAST_ISSUE, T_STALL, T_READY, T_KIND, SLOT_SIZE, \
    SLOT_PATH, PLAIN_S3, PLAIN_WAW, T_PENDING, T_BR_FALL, T_BR_SLOT, T_BR_IDX, T_BHT, T_HIT, T_LAST_LINE, T_LAST_WAY, \
    T_MEM_END, T_STAMP, T_L1_HITS, T_BYTES_LOADED, T_BYTES_STORED, T_BRANCHES, L_TAG, L_READY, L_LRU, L_DIRTY, \
    L_PREFETCHED, L_SHARED, P_BRANCH, PATH_END, K_MEM, SRC_NONE, DST_NONE, PATH_VECTOR, PATH_PREFETCH, PATH_PLAIN, \
    EXT_OFF_OFF, EXT_ZICBOP = (int(v) for v in _TL[0:43])
_VSL = ffi.new("uint64_t[32]")
lib.rv_jit_vstep_layout(_VSL)
T_VQ, T_VQ_POS, T_VQ_DEPTH, T_CONT_UNTIL, T_UNIT_FREE, MAX_UNITS, T_VFIRST, T_VDONE, T_V_END, T_VM_VD, T_VM_NREGS, \
    T_VM_START, T_VM_FIRST_SEEN, T_VM_TRAINED, T_VM_PC, T_VEC_OPS, T_VEC_ELEMS, T_VEC_ELEMS_MAX, T_FLOPS, \
    T_PIPE_BUSY, T_NTRACE, T_TRACE, TRACE_SIZE, TR_OP, TR_PIPE, TR_UNIT, TRACE_MAX, K_VEC, K_CONT, \
    P_VMEM, T_VSPLIT = (int(v) for v in _VSL[0:31])


def _planned(f) -> bool:
    """Whether timing slot fields ``f`` (rv_jit_tslot's: six, then a vector
    op's plan for the vtype and vl expected where it runs) hold a plan, so
    the op's step is written inline (_Block._tvector)."""
    return len(f) > 6


def _vcounts(f) -> dict:
    """The model's counters the vector step of slot fields ``f`` (its plan's:
    see _Block._tvector) adds a constant to, by offset: its op, elements,
    elements at VLMAX and flops, and its pipe's busy cycles when it does not
    chain (freed - start, its occupancy)."""
    (_, _, _, pipe, *_, chained, _, _, _, _, occ, _, elems, elems_max, flops) = f[6:]
    out = {T_VEC_OPS: 1, T_VEC_ELEMS: elems, T_VEC_ELEMS_MAX: elems_max, T_FLOPS: flops}
    if not chained:
        out[T_PIPE_BUSY + 8 * pipe] = occ
    return {off: n for off, n in out.items() if n}


def _reg_bits(r, n):
    """The bits of the n registers from v<r> in a register mask (timing.c's reg_bits)."""
    return ((1 << n) - 1) << r & 0xffffffff


#: The timing model's state a timed block keeps in locals (csrc/timing.h's
#: rv_timing): read at entry and after each call, written back before each
#: call and exit.  The block's memory accesses go through pointers LLVM cannot
#: tell from the model's, so kept in the model each field would be loaded and
#: stored again around every guest access.  Name -> (type, offset).  (The
#: ready cycles the block reads and writes are locals too, written through to
#: the model as they change: a local kept only for its exits would live
#: across the whole loop.)  ``clock`` holds the model's ``now`` and ``room``
#: as one count of issue slots, ``now * width + taken`` where ``taken`` is
#: the slots of cycle ``now`` already taken (width - room): a step taking a
#: slot adds 1 and its cycle is the clock over the width (a shift at the
#: widths of two's powers), where the pair cost a compare, a select and an
#: add a step at width 4 (_tissue).  Its offset is now's (room's: _tsync).
T_LOCALS = {"clock": (I64, T_NOW), "last_line": (I64, T_LAST_LINE),
            "last_way": (PTR, T_LAST_WAY), "mem_end": (I64, T_MEM_END)}
#: The locals of T_LOCALS the model's memory paths read and write (tm_mem's
#: slow paths, jit_tmem; tm_vmem's vmem_access and train): a block keeps them
#: when it makes a scalar access, and writes them back and reads them again
#: around those calls (only them: the clock is neither read nor written there)
T_MEM = ("last_line", "last_way", "mem_end")
#: _Block.known's value for a scoreboard entry a step of the pass waited for
#: (as if written with latency 0 before the pass's first slot: _tready)
READY = (0, 0)
#: tm_filter_index's multiplier (csrc/timing.h)
FILTER_HASH = 0x9e3779b97f4a7c15
#: The C functions blocks call, by the names their IR calls them (bound to
#: this process's addresses when a module is loaded, so that the IR and the
#: object code do not hold addresses: the object cache below needs that):
#: name -> (declaration, address).
HELPERS = {
    "rvai_jit_part": ("i64 (ptr, ptr, i64, i64, i64)", PART_FN),   # a partial exit's counting
    "rvai_jit_load_slow": ("i32 (ptr, i64, ptr, i32)", LOAD_SLOW),   # a load the TLB does not map
    "rvai_jit_store_slow": ("i32 (ptr, i64, ptr, i32)", STORE_SLOW),
    "rvai_jit_vec": ("i32 (ptr, ptr)", VEC_FN),
    "rvai_jit_vfp": ("i32 (ptr, ptr, ptr)", VFP_FN),
    "rvai_jit_fp": ("i32 (ptr, ptr)", FP_FN),
    "rvai_jit_tstep": ("void (ptr, i64)", int(_TIMED_FNS[0])),   # timed blocks: the model's step at pc
    "rvai_jit_tmem": ("void (ptr, i32, i64, i32, i32, i64)", int(_TIMED_FNS[1])),   # and its scalar memory hook
    "rvai_jit_tslots": ("ptr (ptr, i64)", int(_TIMED_FNS[2])),   # the timing slot of a pc
    "rvai_jit_tresolve": ("void (ptr, i64)", int(_TIMED_FNS[3])),   # the pending branch or jump, resolved at pc
    # a vector slot's step (t, d, m, pc, slot), and a prefetch whose line the filter did not find (t, m, d, addr, when)
    "rvai_jit_tvstep": ("void (ptr, ptr, ptr, i64, ptr)", int(_TIMED_FNS[4])),
    "rvai_jit_tprefetch_miss": ("void (ptr, ptr, ptr, i64, i64)", int(_TIMED_FNS[5])),
    "rvai_jit_tvmem": ("void (ptr, i64, i32, i32)", int(_TIMED_FNS[6])),   # a copied unit-stride group's accesses
    # a scalar access's first use of a prefetched line, the way found by the block's probe (timing.c's tm_first_use)
    "rvai_jit_tfirst_use": ("void (ptr, ptr, i64, i64, i32, i32, i64)", int(_TIMED_FNS[7])),
}
#: Helpers called only on rare paths: declared ``cold``, so LLVM lays the
#: blocks calling them out of the hot code and places the spills and
#: reloads around their calls there (as it does for a ``likely`` branch's
#: other side, jit_ir.LIKELY).
COLD = frozenset({"rvai_jit_part", "rvai_jit_load_slow", "rvai_jit_store_slow"})
#: Unit-stride loads and stores a block runs itself under the same test,
#: unmasked with EEW = SEW, when the group lies in one page the TLB maps (the
#: whole group copied, as csrc/vec.c's ldst_unit_page does): name -> is a
#: load.  A miss (another page, unmapped, a store to code) calls jit_vec.
#: Timed blocks do so for the ones whose step is planned (_tvector), then
#: time the group's accesses in one call (timing.c's tm_vmem).
VUNIT = {f"v{kind}e{eew}.v": kind == "l" for kind in "ls" for eew in (8, 16, 32, 64)}


def _fneg(b, x):
    return b._emit(x.type, f"fneg {x.type} {x}")


def _fbin(op, swap=False):
    """f(builder, a, s, d): ``op`` (fadd ...) of a (vs2) and s (vs1 or the
    scalar), or of s and a when ``swap`` (vfrsub, vfrdiv)."""
    return lambda b, a, s, d: b._emit(a.type, f"{op} {a.type} {s if swap else a}, {a if swap else s}")


def _fma(neg_product, y, neg_addend):
    """f(builder, a, s, d): fma(+-s, y, +-(the other of a and d)), ``y``
    "a" or "d": one rounding, as vfp_simd.c's op_ table (its fnmsub, fnmadd,
    fmsub are these negations, exact in round-to-nearest-even)."""
    def fma(b, a, s, d):
        x = _fneg(b, s) if neg_product else s
        y_, z = (a, d) if y == "a" else (d, a)
        z = _fneg(b, z) if neg_addend else z
        n, bits = a.type[1:-1].split(" x ")[0], 32 if "float" in a.type else 64
        return b._emit(a.type, f"call {a.type} @llvm.fma.v{n}f{bits}({a.type} {x}, {a.type} {y_}, {a.type} {z})")
    return fma


#: Vector FP arithmetic a block computes inline (_Block._vfp_inline), .vv and
#: .vf, unmasked, SEW 32/64: mnemonic without its form -> f(builder, a = vs2,
#: s = vs1 or f[rs1] splat, d = old vd) -> the result.  Plain IEEE operations,
#: no fast-math flags: under fp.h's invariant (I1) they round as the guest's
#: RNE does.  The RISC-V definitions: vfmacc vd = +(vs1*vs2)+vd, vfnmacc
#: -(vs1*vs2)-vd, vfmsac +(vs1*vs2)-vd, vfnmsac -(vs1*vs2)+vd; vfmadd
#: +(vs1*vd)+vs2, vfnmadd -(vs1*vd)-vs2, vfmsub +(vs1*vd)-vs2, vfnmsub -(vs1*vd)+vs2.
VFP_INLINE = {
    "vfadd": _fbin("fadd"), "vfsub": _fbin("fsub"), "vfrsub": _fbin("fsub", swap=True),
    "vfmul": _fbin("fmul"), "vfdiv": _fbin("fdiv"), "vfrdiv": _fbin("fdiv", swap=True),
    "vfmacc": _fma(False, "a", False), "vfnmacc": _fma(True, "a", True),
    "vfmsac": _fma(False, "a", True), "vfnmsac": _fma(True, "a", False),
    "vfmadd": _fma(False, "d", False), "vfnmadd": _fma(True, "d", True),
    "vfmsub": _fma(False, "d", True), "vfnmsub": _fma(True, "d", False),
}
_FPC = ffi.new("uint64_t[6]")
lib.rv_fp_consts(_FPC)
#: csrc/fp.h's, as the extension was built: the flag NX; fp_special32/64's
#: bounds of a magnitude that may carry a flag beyond NX (SEW -> (largest
#: finite, smallest normal): at or above the one, at or below the other);
#: whether fp.h keeps its MXCSR invariant (x86 builds only; elsewhere every
#: vector FP op calls jit_vfp).
FP_NX = int(_FPC[0])
FP_SPECIAL = {32: (int(_FPC[1]), int(_FPC[2])), 64: (int(_FPC[3]), int(_FPC[4]))}
VFP_HOST = bool(_FPC[5])

# jit_vec's statuses (csrc/jit.h, csrc/vec.h)
VEC_OK, VEC_CODE = 0, 3

#: Blocks one engine holds before new ones go to a fresh engine (the old one
#: is freed with the last machine running its blocks): bounds what LLVM keeps,
#: by codegen level.  A timed block's loaded code keeps ~45 KB (its IR, ~4x
#: that, is freed once the code is loaded: Engine.compile), and -O0 is the
#: tests' --tier=translate, which translates every block that runs: an engine
#: of 2,000 such blocks is ~100 MB.
ENGINE_BLOCKS = {0: 2_000, 1: 20_000}


def _vtype_shape(vtype, vlen):
    """(LMUL, SEW, VLMAX) under ``vtype`` at VLEN ``vlen`` when the inline
    vector ops may take it: known (not None), vill and the reserved bits
    clear, LMUL 1-8 (a fractional LMUL is left to C), SEW 8-64; else None."""
    if vtype is None or vtype >> 8:
        return None
    vlmul, vsew = vtype & 7, vtype >> 3 & 7
    if vlmul > 3 or vsew > 3:
        return None
    return 1 << vlmul, 8 << vsew, vlmax_of(vtype, vlen)


def _access_size(name) -> int:
    """The bytes a scalar load or store ``name`` accesses; 0 for other ops."""
    if name in LOADS:
        return LOADS[name][0]
    return STORES.get(name) or FLOADS.get(name) or FSTORES.get(name) or 0


def host_target_machine(opt: int = 1):
    """A target machine for the host, by default at -O1: the blocks are short
    and straight, -O2's scheduling and allocation cost compile time they do
    not repay (an engine owns and frees the one it is given)."""
    return llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=opt, jit=True)


def key(insns) -> tuple:
    """What a block's host code depends on: its decoded instructions with their
    pcs (everything else it reads, the machine's layout, is fixed in a process)."""
    return tuple((i.pc, i.slot[0], i.slot[1]) for i in insns)


#: The first item of a timed block's part of its key (Engine._keys)
TIMED_KEY = -1


class Engine:
    """One MCJIT engine (codegen at -O``opt``) and the blocks compiled into
    it, keyed by ``key``; with a ``cache`` directory, its modules' object
    code is kept there and found there (ObjectCache)."""

    def __init__(self, opt: int, cache: Path | None = None):
        tm = host_target_machine(opt)
        self.opt = opt
        self.mcjit = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)
        self.blocks: dict[tuple, int] = {}
        self.starts: set[int] = set()   # the pcs its blocks start at (a quick test before a key is made)
        self.names: dict[str, tuple] = {}   # function name -> the key of the block it holds
        self.cache_dir = cache
        self.cache = ObjectCache(cache, tm, opt) if cache is not None else None
        self.cached = 0   # blocks loaded from the cache
        self.found = 0    # blocks asked for (compile) that it held already: nothing built for them
        if self.cache is not None:
            self.mcjit.set_object_cache(self.cache.save, self.cache.take)

    def compile(self, blocks, vstate, timed=None) -> list[int]:
        """Host addresses of the blocks (lists of decoded instructions, each
        ``block_ops``' prefix) for a machine whose (VLEN, vtype) is ``vstate``,
        calling the timing model when ``timed`` (a list: each block's timing
        slots, Translator._tslots): the ones not yet held built, optimised and
        loaded as one module."""
        timed_each = timed if timed is not None else [None] * len(blocks)
        keys = self._keys(blocks, vstate, timed_each)
        timed_of = dict(zip(keys, timed_each))
        todo = {k: b for k, b in zip(keys, blocks) if k not in self.blocks}
        self.found += len(keys) - len(todo)
        if todo:
            module = [f'target triple = "{llvm.get_process_triple()}"', LIKELY_DEF,
                      *(f"declare {t.replace(' (', f' @{n}(', 1)}{' cold' if n in COLD else ''}"
                        for n, (t, _) in HELPERS.items())]
            names = {k: self._name(k) for k in todo}
            for k, b in todo.items():
                module += _Block(b, names[k], vstate, timed_of[k]).build()
            text = "\n".join(module)
            mod = llvm.parse_assembly(text)
            if self.cache is not None and self.cache.find(mod, text):
                self.cached += len(todo)
            else:
                _optimise(mod, self.opt)
            self.mcjit.add_module(mod)
            self.mcjit.finalize_object()
            for k, name in names.items():
                self.blocks[k] = self.mcjit.get_function_address(name)
            self.starts.update(b[0].pc for b in todo.values())
            # The code is loaded: MCJIT would keep the module's IR as long as
            # the engine, ~4x the code's size (a timed block: ~200 KB of IR,
            # ~45 KB loaded); the blocks call no function of another module,
            # so nothing needs it again.
            self.mcjit.remove_module(mod)
            mod.close()
        return [self.blocks[k] for k in keys]

    def held(self, blocks, vstate, timed=None) -> list[int] | None:
        """The host addresses ``compile`` would give for these blocks when
        the engine holds every one of them already, else None (nothing is
        compiled).  Safe while another thread compiles into the engine: an
        address is entered only once its code is loaded."""
        keys = self._keys(blocks, vstate, timed if timed is not None else [None] * len(blocks))
        addrs = [self.blocks.get(k) for k in keys]
        return None if None in addrs else addrs

    @staticmethod
    def _keys(blocks, vstate, timed_each) -> list[tuple]:
        """Each block's key in ``blocks``: ``key`` and what else its code
        depends on, the vector state when it holds a vector op, and its
        timing slots (``timed_each``: one per block, None when untimed).
        Ints throughout: a str hashes differently in each process, and so
        would the function's name (_name), and the object cache would never
        find a timed module again (its marker was "timed" before tc58)."""
        # (a vlenb read's code holds VLEN/8: its VLEN is part of its key, vstate's first)
        return [key(b) + ((vstate,) if any(i.op in VEC for i in b) else
                          (vstate[0],) if any(_OP_NAMES[i.op] in CSRS for i in b) else ())
                + (((TIMED_KEY, t["model"]) + tuple(t.get(i.pc, ()) for i in b),) if t is not None else ())
                for b, t in zip(blocks, timed_each)]

    def _name(self, k: tuple) -> str:
        """A function name for the block of key k, unique in the engine and,
        for the object cache to find a module again, the same in every
        process: from the key's hash (a tuple of ints hashes the same in
        every process), with a suffix in the unlikely case of a clash."""
        name = f"rvai_block_{hash(k) & (1 << 64) - 1:016x}"
        if self.names.setdefault(name, k) != k:
            name += f"_{len(self.names)}"
            self.names[name] = k
        return name


class ObjectCache:
    """Translated modules' object code kept in a directory between processes.
    A module is kept by a digest of its IR and of what else decides its code
    (LLVM's version, the host cpu and its features, the codegen level, the
    code generator's source: passes, target machine options); the IR names
    the C helpers (HELPERS), not their addresses, so it is the same in every
    process, and it holds rvai's layout offsets, so a rebuilt core with
    another layout misses.  A module found there is loaded without passes
    or codegen."""

    def __init__(self, path: Path, tm, opt: int):
        import hashlib   # here: a process that keeps no cache does not load OpenSSL (~3 ms)
        self.sha256 = hashlib.sha256
        self.path = path
        here = Path(__file__).parent
        source = b"".join((here / f).read_bytes() for f in ("jit_llvm.py", "jit_ir.py"))
        self.salt = f"{llvm.llvm_version_info} {tm.triple} {llvm.get_host_cpu_name()} " \
                    f"{llvm.get_host_cpu_features().flatten()} -O{opt} {self.sha256(source).hexdigest()}\n"
        self.found: dict[str, bytes] = {}   # object code read for a module about to be loaded

    def find(self, mod, text: str) -> bool:
        """Name module ``mod`` (IR ``text``) by its digest and say whether its
        object code is here, whole (a damaged object could make LLVM abort
        the process, so each file starts with its object's digest): if so,
        MCJIT takes it (``take``) instead of compiling the module."""
        mod.name = "rvai_" + self.sha256((self.salt + text).encode()).hexdigest()
        path = self.path / f"{mod.name}.o"
        try:
            data = path.read_bytes()
        except OSError:
            return False
        if self.sha256(data[32:]).digest() != data[:32]:
            return False
        self.found[mod.name] = data[32:]
        diskcache.used(path)
        return True

    def take(self, mod) -> bytes | None:
        """MCJIT asks for module ``mod``'s object code: what ``find`` read."""
        return self.found.pop(mod.name, None)

    def save(self, mod, obj: bytes) -> None:
        """MCJIT compiled module ``mod`` to ``obj``: keep it (written whole,
        so a reader never sees a part); not the engine's own empty first
        module."""
        if not mod.name.startswith("rvai_"):
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            diskcache.write_whole(self.path / f"{mod.name}.o", self.sha256(obj).digest() + obj)
        except OSError:   # a read-only or full disk: the next process compiles again
            return
        diskcache.stored(32 + len(obj))


def cache_dir() -> Path | None:
    """Where translated blocks' object code is kept between processes:
    ``$RVAI_CACHE_DIR/translated`` (``~/.cache/rvai/translated`` unset, the
    compile cache's place; trimmed by :mod:`rvai.diskcache`); ``RVAI_JIT_CACHE=0``
    keeps none (diskcache.translated)."""
    return diskcache.translated()


#: The passes _optimise runs at each codegen level, by llvmlite's names.  -O1
#: (the production tier, hot blocks): registers out of their stack slots into
#: SSA, then local folding, then jump threading (a TLB group's accesses after
#: its first branch on the group's one test again: threaded, the hit path runs
#: straight through them); no loop or interprocedural work.  -O0 (the forced
#: tier: every block translated at its first entry, most run a few times):
#: sroa alone.  instcombine was two thirds of the passes' time there, and
#: without it and the CFG passes -O0's codegen is cheaper too (the forced
#: test_matmul: passes 7.2 -> 1.0 ms a block, codegen 9.5 -> 7.4;
#: docs/performance.md, "(issue 15, tc58)").  The IR LLVM is given is the
#: same at both levels: the forced tier still tests the translator's IR.
PASSES = {0: ("sroa",), 1: ("sroa", "instruction_combine", "simplify_cfg", "jump_threading")}


def _optimise(mod, opt: int = 1):
    """Run the passes of codegen level ``opt`` (PASSES) on module ``mod``.
    The pass managers and their pass builder are the process's (_PASSES,
    made once): LLVM kept ~5 KB of each pair made and disposed (llvmlite
    0.50), which grew without bound with the forced tier's module per block
    (docs/performance.md, the forced tier's memory)."""
    pms, pb = _PASSES
    pms[opt].run(mod, pb)


def _passes() -> tuple:
    """The pass managers _optimise runs, by codegen level, and their pass
    builder (with a target machine of its own: an engine owns and frees the
    one it is given)."""
    pms = {}
    for opt, names in PASSES.items():
        pms[opt] = llvm.create_new_module_pass_manager()
        for name in names:
            getattr(pms[opt], f"add_{name}_pass")()
    tm = host_target_machine()
    return pms, llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=1))


_engines: dict[int, Engine] = {}   # by codegen level
_PASSES = None   # _optimise's pass managers and pass builder (_passes), made at the first compile
_lock = threading.Lock()   # llvmlite releases the GIL inside LLVM


def engine(opt: int) -> Engine | None:
    """The process-wide engine of codegen level ``opt`` that compile_blocks
    compiles into now; None before its first compile."""
    return _engines.get(opt)


def compile_blocks(blocks, vstate, opt: int = 1, timed=None) -> tuple[Engine, list[int], int, int]:
    """The process-wide engine of codegen level ``opt``, the host addresses
    of ``blocks`` (see ``Engine.compile``), how many of them it loaded
    from the object cache (cache_dir()) and how many it held already: a
    block compiled before, by any machine, is not compiled again.  The
    caller keeps the engine alive while it runs them."""
    global _PASSES
    with _lock:
        if _PASSES is None:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            for name, (_, address) in HELPERS.items():
                llvm.add_symbol(name, address)
            _PASSES = _passes()
        if opt not in _engines or len(_engines[opt].blocks) >= ENGINE_BLOCKS[opt] or _engines[opt].cache_dir != cache_dir():
            _engines[opt] = Engine(opt, cache_dir())
        engine = _engines[opt]
        cached, found = engine.cached, engine.found
        addrs = engine.compile(blocks, vstate, timed)
        return engine, addrs, engine.cached - cached, engine.found - found


def block_ops(insns) -> list:
    """The prefix of decoded instructions ``insns`` a block holds: the ones in
    EMIT, up to and including the first branch or jump."""
    out = []
    for ins in insns:
        name = _OP_NAMES[ins.op]
        if ins.op not in VEC and not emits(ins):
            break
        out.append(ins)
        if name in BRANCHES or name in JUMPS:
            break
    return out


def successors(insns) -> list[int]:
    """The pcs a block (``block_ops``' prefix) may go to that are known
    statically: the fall-through and branch or jal targets."""
    last = insns[-1]
    name, nxt = _OP_NAMES[last.op], last.pc + last.len
    if name in BRANCHES:
        return [nxt, (last.pc + last.imm) & (2**64 - 1)]
    if name == "jal":
        return [(last.pc + last.imm) & (2**64 - 1), nxt]   # nxt: where a call returns
    return [] if name == "jalr" else [nxt]


class _Block:
    """Builds one block's function (see the module docstring for its
    contract).  Two shared exits keep the code small: ``done`` after whole
    passes, ``part`` part way through one (a fault or a slow-path store),
    which counts in one cold call (csrc/jit.c's jit_part).  Whole passes
    looped in place are counted in one counter, from which the exits derive
    the op counts and the budget left.  Rare paths (TLB misses, faults, a vtype that does not
    hold, leaving the loop) are marked unlikely or call ``cold`` helpers, so
    the hot path is straight code and keeps the registers."""

    def __init__(self, insns, name, vstate, timed=None):
        self.insns = insns
        self.timed = timed is not None
        # pc -> its timing slot's fields (Translator._tslots), for this block's pcs: the plain ops'
        # and prefetches' (their steps inline) and the vector ops' (their C step called directly,
        # or inline with their plans for the vtype and vl expected where they run)
        self.tslot = {i.pc: timed[i.pc] for i in insns if i.pc in timed} if timed else {}
        # pc -> {offset: increment}: the counters an inline vector step adds a constant
        # to, which the exits add for every step (_tcount; a C step first takes them back)
        self.vcount = {pc: _vcounts(f) for pc, f in self.tslot.items() if _planned(f)}
        # the model's parameters (rv_jit_tparams), constants in the block's code
        self.width, self.line_bits, self.hit_shift, self.l1_latency, bht_entries = timed["model"] if timed else (0,) * 5
        self.bht_mask = bht_entries - 1
        self.vlen, self.vtype = vstate   # the vtype assumed at entry (checked where it is used)
        self.n = len(insns)
        self.start = insns[0].pc
        self.fn = Function(name, I64, [PTR, PTR])
        self.m, self.leftp = self.fn.args
        # module-level lines this function needs, by the name each defines
        # (once: both copies of an unswitched body call jit_vec for a unit-stride access)
        self.globals = {}
        entry = self.fn.append_basic_block("entry")
        self.b = b = Builder(self.fn)
        b.position_at_end(entry)
        self.full = Counter(i.op for i in insns)
        scalar = [i for i in insns if i.op not in VEC]   # a vector op's fields name vector registers
        regs = sorted({getattr(i, f) for i in scalar for f in _x_operands(_OP_NAMES[i.op])} - {0})
        self.written = sorted({i.rd for i in scalar if _writes_x(_OP_NAMES[i.op])})
        self.reg = {}
        for r in regs:
            self.reg[r] = b.alloca(I64, name=f"x{r}")
            b.store(b.load(I64, self._field(X_OFF + 8 * r)), self.reg[r])
        # the vector registers (m->v changes only between runs, when harts switch)
        self.vregs = b.load(PTR, self._field(V_OFF)) if len(scalar) < len(insns) else None
        # frm and NX for the inline vector FP ops, here where it dominates every
        # copy of the body (by name: a vsetvli in the block may give a later op
        # its inline shape, in any copy)
        may_vfp = VFP_HOST and any(_OP_NAMES[i.op].partition(".")[0] in VFP_INLINE for i in insns if i.op in VEC)
        self.fp_ok = self._vfp_state() if may_vfp else None
        # (VLMAX, the test that the expected vtype holds, None when it is
        # known to: tested at entry) while valid
        self.guard = None
        # The budget: one count of passes looped in place, against the most
        # the budget at entry covers (computed once), is the loop's only
        # induction variable; the budget left and the ops retired are
        # derived from it at the exits, through Builder.opaque (else LLVM's
        # strength reduction keeps a counter in the loop for each).
        self.left0 = b.load(I64, self.leftp)
        self.iters = b.alloca(I64, name="iters")   # whole passes looped in place
        b.store(_C(0), self.iters)
        if self.start in successors(insns):   # it may loop in place (_go): the passes the budget covers
            self.most = self.left0 if self.n == 1 else b.udiv(self.left0, _C(self.n))
        self.tmp = b.alloca(I64, name="tmp")
        self.tload = None   # (see _body)
        self.tcold = None   # the head of the copy whose steps all call C (timed, when the slots changed)
        if self.timed:
            self._tinit()
        entry = b.block   # (the entry's code goes on after the timed part's)
        self.head = self.fn.append_basic_block("head")
        self.done = self.fn.append_basic_block("done")
        self.part = self.fn.append_basic_block("part")
        b.position_at_end(self.done)
        self.done_pc = b.phi(I64)
        self.done_passes = b.phi(I64)   # passes counted in each exit's predecessor (_go's is its loop test's)
        b.position_at_end(self.part)
        self.part_pc, self.part_k = b.phi(I64), b.phi(I64)
        b.position_at_end(entry)
        vector = [i for i in insns if i.op in VEC]
        self.slow_head = None   # the head of the copy run when the hoisted test fails
        shapes = [self._inline_shape(i) or self._vfp_shape(i) for i in vector]
        # (not a timed block with a unit-stride access, whose timed body is large: a second copy
        # of c930's GEMM block cost +52 % of its IR for -0.5 % of the call's host instructions)
        unswitch = not (self.timed and any(_OP_NAMES[i.op] in VUNIT for i in vector))
        if vector and all(shapes) and unswitch:
            # every vector op is inline, or vector FP that may be (none changes
            # vtype, vl or vstart, and neither does jit_vec or jit_vfp running
            # one of them, but for a faulting access or an illegal op, which
            # leave the block): one test before the first pass serves every
            # pass, so the body is built twice, for the test holding (no test
            # in it) and for it failing (jit_vec runs them)
            self.guard_vlmax = vlmax = shapes[0][-1]
            self.slow_head = self.fn.append_basic_block("vhead")
            b.cbranch(self._guard(vlmax)[1], self.head, self.slow_head, likely=True)
            self.guard = (vlmax, None)
        else:
            b.branch(self.head)
        b.position_at_end(self.head)

    def _field(self, off):
        """A pointer to the machine's byte ``off`` (an int or an i64 value)."""
        return self.b.gep(self.m, _C(off) if isinstance(off, int) else off)

    def get(self, r):
        return _C(0) if r == 0 else self.b.load(I64, self.reg[r])

    def set(self, r, v):
        self.b.store(v, self.reg[r])

    def fget(self, r):
        """f register r's 64 bits (in the machine: see FLOADS)."""
        return self.b.load(I64, self._field(F_OFF + 8 * r))

    def fset(self, r, v):
        """Write f register r's 64 bits (already NaN-boxed when narrower)."""
        self.b.store(v, self._field(F_OFF + 8 * r))

    def _raise(self, cond, flag):
        """OR ``flag`` into fflags (in the machine) where i1 ``cond`` holds."""
        b = self.b
        p = self._field(FFLAGS_OFF)
        b.store(b.or_(b.load(I32, p, align=4), b.select(cond, _C32(flag), _C32(0))), p, align=4)

    def exit(self, next_pc, k, fault=False, passes=None):
        """Leave for next_pc (an int or a value) after k instructions of this
        pass; leaving whole, ``passes`` is this entry's passes with this one
        (made here if not given).  (The done exit adding 1 to the loop's count
        itself kept the count before and after its increment live together
        in the loop, one register copy a pass.)"""
        nxt = next_pc if not isinstance(next_pc, int) else _C(next_pc | fault)
        if self.timed:
            self._tflush()
            if fault and self.tload is not None:   # the faulting load's step wrote its ready cycle
                self._tload_ready(*self.tload)
            if fault and k < self.n and self.insns[k].pc in self.vcount:   # its step was charged: the
                self._tvcount(self.insns[k].pc, 1)   # prefix of k instructions the exit counts leaves it out
        if k == self.n:
            if passes is None:
                passes = self.b.add(self.b.load(I64, self.iters), _C(1))
            self.done_passes.add_incoming(passes, self.b.block)
            self.done_pc.add_incoming(nxt, self.b.block)
            self.b.branch(self.done)
        else:
            self.part_pc.add_incoming(nxt, self.b.block)
            self.part_k.add_incoming(_C(k), self.b.block)
            self.b.branch(self.part)

    def _leave_unless_ok(self, ok, k, go, stop, before=None):
        """Branch on i1 ``ok`` (a C call's status test): to block ``go``
        when it holds (the likely way), else to ``stop``, which leaves
        before instruction k as at a fault (the call filled m->stop), after
        ``before()`` there when given (another way out to test first).
        Positioned at ``go`` after."""
        b = self.b
        b.cbranch(ok, go, stop, likely=True)
        b.position_at_end(stop)
        if before is not None:
            before()
        self.exit(self.insns[k].pc, k, fault=True)
        b.position_at_end(go)

    def _leave(self, next_pc, passes, k=None):
        """An exit's body: write back, count ``passes`` whole passes (a value)
        and, when k is given, the first k instructions of one more (in one
        cold call); return."""
        b = self.b
        if self.timed:
            self._tsync()
        for r in self.written:
            b.store(b.load(I64, self.reg[r]), self._field(X_OFF + 8 * r))
        passes = b.opaque(passes, self.tmp)
        if self.timed:
            self._tcount(passes, k)
        left = b.sub(self.left0, b.add(b.mul(passes, _C(self.n)), k if k is not None else _C(0)))
        b.store(left, self.leftp)
        if k is not None:   # a fault, or a store that may have rewritten code: back to the loop
            ops = f"@{self.fn.name}_ops"
            self.globals[ops] = (f"{ops} = private constant [{self.n + 1} x i16] "
                                 f"[{', '.join(f'i16 {op}' for op in [self.n] + [i.op for i in self.insns])}]")
            b.ret(b.call("@rvai_jit_part", I64, [self.m, Value(PTR, ops), passes, k, next_pc], tail="tail"))
            return
        for op, full in sorted(self.full.items()):
            p = self._field(OPC_OFF + 8 * op)
            self._bump(p, b.mul(passes, _C(full)))
        self._chain(next_pc, left)

    def _chain(self, next_pc, left):
        """Leave for next_pc whole: tail-call its block when the machine's link
        for it says it is installed and ``left`` covers one pass of it (the
        loop's own entry test; csrc/jit.h), else return to the loop."""
        b = self.b
        jit = b.load(PTR, self._field(JIT_OFF))
        slot = b.and_(b.lshr(next_pc, _C(1)), _C(N_LINKS - 1))
        link = b.gep(jit, b.add(_C(LINKS_OFF), b.mul(slot, _C(24))))   # {pc, fn, n}
        check, go, back = (self.fn.append_basic_block(n) for n in ("link", "chain", "back"))
        b.cbranch(b.icmp_unsigned("==", b.load(I64, link), next_pc), check, back)
        b.position_at_end(check)
        b.cbranch(b.icmp_signed(">=", left, b.load(I64, b.gep(link, _C(16)))), go, back)
        b.position_at_end(go)
        fn = b.load(PTR, b.gep(link, _C(8)))
        b.ret(b.call(fn, I64, [self.m, self.leftp], tail="musttail"))
        b.position_at_end(back)
        b.ret(next_pc)

    def _tlb_entry(self, tlb_off, addr):
        b = self.b
        slot = b.and_(b.lshr(addr, _C(PAGE_BITS)), _C(TLB_SIZE - 1))
        return b.add(_C(tlb_off), b.shl(slot, _C(4)))   # 16-byte entries: tag, delta

    def _groups(self):
        """Accesses that may share one TLB test: {instruction index: (group,
        lowest offset, end offset)} for the loads (or the stores) through one
        value of one base register, when there are two or more of them; the
        group is (kind, register, version)."""
        version, members = Counter(), {}
        for k, ins in enumerate(self.insns):
            name = _OP_NAMES[ins.op]
            size = _access_size(name)
            if size:
                store = name in STORES or name in FSTORES
                members.setdefault((store, ins.rs1, version[ins.rs1]), []).append((k, ins.imm, size))
            if ins.op in VEC:   # it may write any scalar register (vsetvli, vmv.x.s, ...)
                version.update(range(33))
            elif _writes_x(name):
                version[ins.rd] += 1
        return {k: (g, min(o for _, o, _ in ms), max(o + s for _, o, s in ms))
                for g, ms in members.items() if len(ms) > 1 for k, _, _ in ms}

    def _group_test(self, k, tlb_off):
        """(hit, delta) of instruction k's group: one TLB test over the span of
        its accesses (offsets within 4 KiB: the span has at most 3 pages, so as
        for one access, the tag of the first page's slot equals the last page
        only when they are one page), made at its first access; None when k is
        in no group.  A hit is exact: each access would hit alone (no block
        instruction maps or unmaps memory, so the delta stays good even when
        another access refills the slot).  A timed block also tests there
        whether the span lies within one cache line (group_lines, _tmem)."""
        if k not in self.group_of:
            return None
        g, lo, end = self.group_of[k]
        if g not in self.group_tests:
            b = self.b
            base = self.get(self.insns[k].rs1)
            ent = self._tlb_entry(tlb_off, b.add(base, _C(lo)))
            last_page = b.lshr(b.add(base, _C(end - 1)), _C(PAGE_BITS))
            self.group_tests[g] = (b.icmp_unsigned("==", b.load(I64, self._field(ent)), last_page),
                                   b.load(I64, self._field(b.add(ent, _C(8)))))
            if self.timed:   # its span within one cache line: so is each access (_tmem)
                lb = _C(self.line_bits)
                self.group_lines[g] = b.icmp_unsigned("==", b.lshr(b.add(base, _C(lo)), lb),
                                                      b.lshr(b.add(base, _C(end - 1)), lb))
        return self.group_tests[g]

    def _mem(self, k, tlb_off, addr, size, slow_fn, fast, slow_ok, before_slow=None):
        """The TLB test (skipped when k's group test hit); fast(host pointer)
        in the hit branch, the C slow path (faulting out before instruction k)
        and slow_ok() otherwise; before_slow() first on the slow path."""
        b = self.b
        fast_bb, slow_bb = self.fn.append_basic_block(), self.fn.append_basic_block()
        fault_bb, join = self.fn.append_basic_block(), self.fn.append_basic_block()
        group = self._group_test(k, tlb_off)
        if group is not None:
            test_bb, group_bb = self.fn.append_basic_block("tlb"), b.block
            b.cbranch(group[0], fast_bb, test_bb, likely=True)
            b.position_at_end(test_bb)
        ent = self._tlb_entry(tlb_off, addr)
        tag = b.load(I64, self._field(ent))
        last_page = b.lshr(b.add(addr, _C(size - 1)), _C(PAGE_BITS))
        hit = b.icmp_unsigned("==", tag, last_page)
        hit_bb = self.fn.append_basic_block("hit") if group is not None else fast_bb
        b.cbranch(hit, hit_bb, slow_bb, likely=True)
        b.position_at_end(hit_bb)
        delta = b.load(I64, self._field(b.add(ent, _C(8))))
        if group is not None:
            b.branch(fast_bb)
            b.position_at_end(fast_bb)
            phi = b.phi(I64)
            phi.add_incoming(group[1], group_bb)
            phi.add_incoming(delta, hit_bb)
            delta = phi
        host = b.inttoptr(b.add(addr, delta), PTR)
        fast_val = fast(host)
        fast_end = b.block
        b.branch(join)
        b.position_at_end(slow_bb)
        if before_slow:
            before_slow()
        ok = b.call(slow_fn, I32, [self.m, addr, self.tmp, _C32(size)])
        self._leave_unless_ok(b.icmp_signed("!=", ok, _C32(0)), k, self.fn.append_basic_block(), fault_bb)
        slow_val = slow_ok()
        slow_end = b.block
        if slow_end.is_terminated:   # the slow path left the block
            b.position_at_end(join)
            return fast_val
        b.branch(join)
        b.position_at_end(join)
        if fast_val is None:
            return None
        phi = b.phi(fast_val.type)
        phi.add_incoming(fast_val, fast_end)
        phi.add_incoming(slow_val, slow_end)
        return phi

    def build(self) -> list[str]:
        """The function's module-level lines."""
        self._body()
        b = self.b
        if self.slow_head is not None:   # the copy for the hoisted test failing: C runs each vector op
            # (known to fail: int ops call jit_vec, FP ops jit_vfp, as when their own tests fail)
            self.head, self.guard = self.slow_head, (self.guard_vlmax, const(I1, 0))
            b.position_at_end(self.head)
            self._body()
        if self.tcold is not None:   # the copy for slots that changed since the translation: C steps only
            self.head, self.guard, self.vtype, self.tslot = self.tcold, None, None, {}
            b.position_at_end(self.head)
            self._body()
        b.position_at_end(self.done)
        self._leave(self.done_pc, self.done_passes)
        b.position_at_end(self.part)
        if self.part_pc.incomings:
            self._leave(self.part_pc, b.load(I64, self.iters), self.part_k)
        else:   # no partial exit: no phis without incoming values
            self.part.lines.clear()
            b.unreachable()
        return [*self.globals.values(), self.fn.text()]

    def _body(self):
        b = self.b
        self.group_of, self.group_tests, self.group_lines = self._groups(), {}, {}
        self.maybe_pending = False   # (the entry resolved what the block before left pending)
        # the issue cycle and destination of the step before, when this pass's
        # code knows them (the model's last_issue and last_dst then stale):
        # written to the model before a call, an exit and the next pass
        self.issue = self.prev_dst = None
        self.tload = None   # a load's step's (destination, ready cycle) its hook has not yet replaced
        # what this pass's code knows of the scoreboard statically (_tknown): entry -> the
        # inline slots taken before its writer's and that writer's latency, or READY
        self.known, self.taken = {}, 0
        for k, ins in enumerate(self.insns):
            name, pc, nxt = _OP_NAMES[ins.op], ins.pc, ins.pc + ins.len
            if self.timed:
                if name == "ori" and ins.rs1 in self.reg and pc not in self.tslot:
                    # a prefetch.r/w hint the C step charges: it reads its base
                    b.store(self.get(ins.rs1), self._field(X_OFF + 8 * ins.rs1))
                self._tstep(k, ins)
            if ins.op in VEC:
                self._vector(k, ins)
                if name in ("vsetvli", "vsetivli"):   # the vtype from here on, unless it was illegal
                    self.vtype = ins.imm & 0x7ff
                elif name == "vsetvl":
                    self.vtype = None
            elif name in RR:
                self.set(ins.rd, RR[name](b, self.get(ins.rs1), self.get(ins.rs2)))
            elif name in RI:
                self.set(ins.rd, RI[name](b, self.get(ins.rs1), _imm(ins), pc))
            elif name in LOADS or name in FLOADS:
                size = _access_size(name)
                ty = f"i{8 * size}"
                addr = b.add(self.get(ins.rs1), _imm(ins))
                v = self._mem(k, TLB_R_OFF, addr, size, "@rvai_jit_load_slow",
                              lambda p: b.load(ty, p, align=1),
                              lambda: b.load(ty, self.tmp))
                if self.timed:
                    self._tmem(addr, size, 0, pc, k)
                if name in FLOADS:
                    self.fset(ins.rd, _box(v, size, b))
                else:
                    self.set(ins.rd, v if size == 8 else (b.sext if LOADS[name][1] else b.zext)(v, I64))
            elif name in STORES or name in FSTORES:
                size = _access_size(name)
                ty = f"i{8 * size}"
                addr = b.add(self.get(ins.rs1), _imm(ins))
                val = self.get(ins.rs2) if name in STORES else self.fget(ins.rs2)
                val = val if size == 8 else b.trunc(val, ty)

                def slow_store(k=k, nxt=nxt, addr=addr, size=size, pc=pc):
                    # it went through the slow path (which may have rewritten code): leave
                    if self.timed:
                        self._tmem(addr, size, 1, pc, k)
                    self.exit(nxt, k + 1)

                self._mem(k, TLB_W_OFF, addr, size, "@rvai_jit_store_slow",
                          lambda p, val=val: (b.store(val, p, align=1), None)[1], slow_store,
                          lambda val=val: b.store(val, self.tmp))
                if self.timed:
                    self._tmem(addr, size, 1, pc, k)
            elif name in FMV_TO_F:
                size = FMV_TO_F[name]
                x = self.get(ins.rs1)
                self.fset(ins.rd, _box(x if size == 8 else b.trunc(x, f"i{8 * size}"), size, b))
            elif name in FMV_TO_X:
                size = FMV_TO_X[name]
                f = self.fget(ins.rs1)
                self.set(ins.rd, f if size == 8 else b.sext(b.trunc(f, f"i{8 * size}"), I64))
            elif name in FSGNJ:
                self.fset(ins.rd, _fsgnj(name, self.fget(ins.rs1), self.fget(ins.rs2), b))
            elif name in FCMP or name in FMINMAX:
                size = (FCMP.get(name) or FMINMAX[name])[0]
                a, c = _unbox(self.fget(ins.rs1), size, b), _unbox(self.fget(ins.rs2), size, b)
                if name in FCMP:
                    r, nv = _fcmp(name, a, c, b)
                    self.set(ins.rd, b.zext(r, I64))
                else:
                    r, nv = _fminmax(name, a, c, b)
                    self.fset(ins.rd, _box(r, size, b))
                self._raise(nv, FP_NV)
            elif name in FCLASS:
                self.set(ins.rd, _fclass(_unbox(self.fget(ins.rs1), FCLASS[name], b), FCLASS[name], b))
            elif name in FCALL:
                self._fp_call(k, ins, FCALL[name])
            elif name in CSRS:   # csrr rd, vlenb (block_ops holds no other)
                self.set(ins.rd, _C(self.vlen // 8))
            elif name in NOPS:
                pass
            elif name in BRANCHES:
                op = BRANCHES[name]
                x, y = self.get(ins.rs1), self.get(ins.rs2)
                cond = b.icmp_unsigned(op[1:], x, y) if op[0] == "u" else b.icmp_signed(op, x, y)
                taken, fall = self.fn.append_basic_block("taken"), self.fn.append_basic_block("fall")
                b.cbranch(cond, taken, fall)
                b.position_at_end(fall)
                self._tpend(nxt)
                self.exit(nxt, k + 1)
                b.position_at_end(taken)
                self._go((pc + ins.imm) & (2**64 - 1), k + 1, branch=nxt)
                return
            elif name == "jal":
                self.set(ins.rd, _C(nxt))
                self._go((pc + ins.imm) & (2**64 - 1), k + 1)
                return
            elif name == "jalr":
                t = b.and_(b.add(self.get(ins.rs1), _imm(ins)), _C(~1 & (2**64 - 1)))
                self.set(ins.rd, _C(nxt))
                self.exit(t, k + 1)
                return
        self.exit(self.insns[-1].pc + self.insns[-1].len, self.n)

    # ---- timed blocks: csrc/timing.h's tm_step, tm_mem and tm_resolve on the model's state in locals

    def _tinit(self):
        """Timed blocks, at entry: the model, the block's slots (one per
        halfword from its start), the model's fixed parameters the inline
        paths read, its hot state in locals (T_LOCALS, and the scoreboard
        entries the block's inline steps read and write), what the block
        before left pending, resolved as the first step would, and the test
        that every slot the block was translated for still holds its path:
        the inline steps run only then, else a copy of the body whose steps
        all call C (``tcold``; a slot of the scratch the model counts into
        when its ranges are used up may have been cleared)."""
        b = self.b
        self.issue = self.prev_dst = None   # (see _body)
        self.t = b.load(PTR, self._field(TIMING_OFF))
        self.slots = b.call("@rvai_jit_tslots", PTR, [self.m, _C(self.start)])
        self.hit = b.load(PTR, b.gep(self.t, _C(T_HIT)))
        self.bht = b.load(PTR, b.gep(self.t, _C(T_BHT)))
        # the scoreboard entries the inline steps both read and write in
        # locals (the others they only read or only write, in the model)
        inline = [f for f in self.tslot.values() if f[5] != PATH_VECTOR]
        read = {f[i] for f in inline for i in (1, 2, 3) if i < 3 or f[5] >= PATH_PLAIN and f[5] & PLAIN_S3}
        planned = any(_planned(f) for f in self.tslot.values())   # vector steps written inline
        # (only what the inline paths use: each call writes the locals back
        # and reads them again, which a block of vector ops mostly calling
        # the C step would pay for nothing)
        hooks = any(_access_size(_OP_NAMES[i.op]) for i in self.insns if i.pc in self.tslot)
        used = ({"clock"} if inline or planned else set()) | (set(T_MEM) if hooks else set())
        self.tl = {name: (b.alloca(ty, name=name), ty, off) for name, (ty, off) in T_LOCALS.items() if name in used}
        self.tnow = None   # (block, value): the clock's cycle as last computed there (_tnow)
        self.rl = {("r", i): (b.alloca(I64, name=f"r{i}"), I64, T_READY + 8 * i)
                   for i in sorted(read & {f[4] for f in inline})}
        self._treload()
        self._tpending(self.start)
        # the tests that vtype and vl are a plan's, made here once for the whole
        # entry when no instruction of the block sets either (a vset*, a
        # fault-only-first load; no C call it makes changes them): else at each step
        self.vheld = {}
        names = [_OP_NAMES[i.op] for i in self.insns]
        if not any(n.startswith("vset") or n.endswith("ff.v") for n in names):
            for f in self.tslot.values():
                if _planned(f) and (f[6], f[7]) not in self.vheld:
                    self.vheld[f[6], f[7]] = self._vheld(f[6], f[7])
        if self.tslot:   # the steps inline only while every slot holds the path it was translated for
            ok = const(I1, 1)
            for pc, f in sorted(self.tslot.items()):
                path = b.load(I8, b.gep(self._tslot(pc), _C(SLOT_PATH)), align=1)
                ok = b.and_(ok, b.icmp_unsigned("==", path, const(I8, f[5])))
            hot, self.tcold = self.fn.append_basic_block("thot"), self.fn.append_basic_block("tcold")
            b.cbranch(ok, hot, self.tcold, likely=True)
            b.position_at_end(hot)

    def _tslot(self, pc):
        """The address of pc's tm_slot (its cycles first)."""
        return self.b.gep(self.slots, _C((pc - self.start) // 2 * SLOT_SIZE))

    def _tget(self, name):
        a, ty, _ = self.tl[name] if name in self.tl else self.rl[name]
        return self.b.load(ty, a, align=4 if ty == I32 else 8)

    def _tset(self, name, v):
        a, ty, _ = self.tl[name] if name in self.tl else self.rl[name]
        self.b.store(v, a, align=4 if ty == I32 else 8)
        if name == "clock":
            self.tnow = None

    def _cycle(self, clock):
        """The cycle of a clock value (T_LOCALS): the clock over the issue width."""
        w = self.width
        return self.b.lshr(clock, _C(w.bit_length() - 1)) if w & (w - 1) == 0 else self.b.udiv(clock, _C(w))

    def _tnow(self):
        """The model's ``now``: the clock's cycle (the one _tissue computed, in
        the same basic block, where it dominates what follows)."""
        if self.tnow is not None and self.tnow[0] is self.b.block:
            return self.tnow[1]
        return self._cycle(self._tget("clock"))

    def _tsync(self, names=None):
        """The locals (those named) back into the model (before a call or an exit)."""
        b = self.b
        for name in self.tl if names is None else names:
            _, ty, off = self.tl[name]
            v = self._tget(name)
            if name == "clock":   # the model's now and room (width - the slots taken)
                b.store(b.trunc(b.sub(_C(self.width), b.urem(v, _C(self.width))), I32), b.gep(self.t, _C(T_ROOM)),
                        align=4)
                v = self._cycle(v)
            b.store(v, b.gep(self.t, _C(off)), align=4 if ty == I32 else 8)

    def _treload(self, names=None):
        """The locals (those named) from the model (at entry, after a call)."""
        b = self.b
        for name in [*self.tl, *self.rl] if names is None else names:
            _, ty, off = self.tl[name] if name in self.tl else self.rl[name]
            v = b.load(ty, b.gep(self.t, _C(off)), align=4 if ty == I32 else 8)
            if name == "clock":   # now * width + the slots taken (width - room)
                room = b.zext(b.load(I32, b.gep(self.t, _C(T_ROOM)), align=4), I64)
                v = b.add(b.mul(v, _C(self.width)), b.sub(_C(self.width), room))
            self._tset(name, v)

    def _ccall(self, fn, ret, args, sync=None, reload=None):
        """Call C function fn, which may run the model: in a timed block with
        the locals (or those named in ``sync``, which it reads) written back
        before and the locals (or those in ``reload``, which it writes) read
        again after."""
        if not self.timed:
            return self.b.call(fn, ret, args)
        self._tflush()
        self._tsync(sync)
        v = self.b.call(fn, ret, args)
        self._treload(reload)
        if fn in ("@rvai_jit_tstep", "@rvai_jit_tvstep"):   # it charged an instruction: the model knows the last one
            self.issue = self.prev_dst = None
        return v

    def _tcount(self, passes, k):
        """Leaving: the L1 hits and bytes of the block's scalar accesses, counted
        as if each access hit, and the constant counts of its planned vector
        steps (vcount), as if each ran inline (``passes`` whole passes and the
        first k instructions of one more; the C hook or step, called for the
        rest, first takes back its share: _tmem, _tvcount), so the inline hit
        path and vector steps count none of them."""
        b = self.b
        counts = [Counter()]   # per prefix of the block: offset -> count
        for ins in self.insns:
            name = _OP_NAMES[ins.op]
            size, store = _access_size(name), name in STORES or name in FSTORES
            c = counts[-1] + Counter({T_L1_HITS: int(bool(size)), T_BYTES_STORED if store else T_BYTES_LOADED: size})
            counts.append(c + Counter(self.vcount.get(ins.pc, {})))
        for off in sorted(counts[-1]):   # (a Counter keeps only positive counts)
            add = b.mul(passes, _C(counts[-1][off]))
            if k is not None:   # a table of the prefixes' counts
                tab = f"@{self.fn.name}_c{off}"
                self.globals[tab] = (f"{tab} = private constant [{self.n + 1} x i64] "
                                     f"[{', '.join(f'i64 {c[off]}' for c in counts)}]")
                add = b.add(add, b.load(I64, b.gep(Value(PTR, tab), b.shl(k, _C(3)))))
            p = b.gep(self.t, _C(off))
            self._bump(p, add)

    def _bump(self, p, v):
        """Add v to the model's i64 counter at p."""
        self.b.store(self.b.add(self.b.load(I64, p), v), p)

    def _tvcount(self, pc, sign):
        """Add (sign 1) or take back (-1) the constant counts of pc's planned vector step (vcount)."""
        b = self.b
        for off, n in self.vcount[pc].items():
            p = b.gep(self.t, _C(off))
            self._bump(p, _C(sign * n))

    def _tflush(self):
        """The last inline step's issue cycle and destination into the model."""
        if self.issue is not None:
            self.b.store(self.issue, self.b.gep(self.t, _C(T_LAST_ISSUE)))
            self.b.store(_C32(self.prev_dst), self.b.gep(self.t, _C(T_LAST_DST)), align=4)

    def _rget(self, i):
        """The ready cycle of scoreboard entry i (a local, or the model's; 0
        for the entries of absent sources, which nothing writes)."""
        if i == 0 or SRC_NONE <= i < DST_NONE:   # (x0's reads; writes of x0 go to x32)
            return _C(0)
        if ("r", i) in self.rl:
            return self._tget(("r", i))
        return self.b.load(I64, self.b.gep(self.t, _C(T_READY + 8 * i)))

    def _rset(self, i, v):
        """Set it: in the model, and in its local if it has one (not for the
        entries no instruction reads: x0's sink x32 and absent destinations)."""
        if i == 32 or i >= DST_NONE:
            return
        if ("r", i) in self.rl:
            self._tset(("r", i), v)
        self.b.store(v, self.b.gep(self.t, _C(T_READY + 8 * i)))

    def _kind(self, i):
        """A pointer to the model's kind of what scoreboard entry i waits for."""
        return self.b.gep(self.t, _C(T_KIND + i))

    def _tpending(self, pc):
        """What is pending resolved for the instruction at pc: a vector memory
        op cleared inline, anything else by the C call."""
        b = self.b
        res, vmem, other, on = (self.fn.append_basic_block(n) for n in ("tres", "tvmem", "tother", "tnone"))
        pending = b.load(I32, b.gep(self.t, _C(T_PENDING)), align=4)
        b.cbranch(b.icmp_unsigned("!=", pending, _C32(0)), res, on)
        b.position_at_end(res)
        b.cbranch(b.icmp_unsigned("==", pending, _C32(P_VMEM)), vmem, other)
        b.position_at_end(vmem)   # a vector memory op's, all its accesses made: tm_resolve_other only clears it
        b.store(_C32(0), b.gep(self.t, _C(T_PENDING)), align=4)
        b.store(_C32(PATH_PLAIN), b.gep(self.t, _C(T_INLINE_FROM)), align=4)
        b.branch(on)
        b.position_at_end(other)
        self._ccall("@rvai_jit_tresolve", VOID, [self.m, _C(pc)])
        b.branch(on)
        b.position_at_end(on)

    def _tstep(self, k, ins):
        """Charge instruction k (ins): tm_step written inline with its slot's
        fields as constants (a plain op, conditional branch or prefetch whose
        slot held them at translation), a vector op's C step called with its
        slot and decoded instruction (what tm_step would find), or the C step."""
        pc = ins.pc
        if pc not in self.tslot:
            if pc in self.vcount:   # (the copy for changed slots) the C step counts its own
                self._tvcount(pc, -1)
            self._ccall("@rvai_jit_tstep", VOID, [self.m, _C(pc)])
            self.maybe_pending = True   # (a jump's or a vector memory op's step sets some)
            self.known = {}   # (it may write any entry, and take no slot)
            return
        if self.maybe_pending:
            self._tpending(pc)
            self.maybe_pending = False
        lat, s1, s2, s3, dst, path = self.tslot[pc][:6]
        if path == PATH_VECTOR:
            if _planned(self.tslot[pc]):
                # only a memory op leaves something pending (vector_op's is_mem, which the op's
                # class decides: the plan's holds for the C step's side too); what was pending
                # before it, the step resolved, so the next step's test could not be taken
                self.maybe_pending = self._tvector(k, ins, self.tslot[pc])
                self._tknown((s1, s2), (dst, self.tslot[pc][13]))   # (its sdst: dynamic)
            else:
                self._tvcall(k, ins)
                self.known = {}   # (it may write a scalar result the slot does not name)
                self._tknown((s1, s2))
                self.maybe_pending = True   # (a vector memory op's)
        elif path == PATH_PREFETCH:   # tm_prefetch_step: a plain step that also asks for its line
            self._tinline_step(lat, s1, s2, s3, dst, PATH_PLAIN, pc)
            self._tknown((s1, s2), (dst,), lat)
            self._tprefetch(k, ins)
        else:
            name = _OP_NAMES[ins.op]
            # a load's hook sets its destination's ready cycle and kind on every
            # path but a fault before it (exit writes the step's then): not here
            load = name in LOADS or name in FLOADS
            self._tinline_step(lat, s1, s2, s3, dst, path, pc, load=load)
            self._tknown((s1, s2, s3) if path & PLAIN_S3 else (s1, s2), (dst,), None if load else lat)

    def _tknown(self, srcs, dsts=(), lat=None):
        """After a step that waited for scoreboard entries ``srcs`` (ready
        from here on, as the clock only moves forward) and wrote ``dsts``:
        each destination known ready ``lat`` cycles after the step's issue
        (None: its ready cycle is dynamic, a load's or a vector result's);
        the step took one slot."""
        for i in srcs:
            if i < SRC_NONE:
                self.known[i] = READY
        for i in dsts:
            self.known.pop(i, None)
            if lat is not None and i < SRC_NONE:
                self.known[i] = (self.taken, lat)
        self.taken += 1

    def _tready(self, i):
        """Whether entry i is ready for the step about to issue by the
        block's own schedule: x0 or absent; waited for by an earlier step of
        this pass and not written since (ready cycles only grow with their
        writes, the clock only moves forward); or written by an inline step
        of this pass ``n`` inline steps back with a latency of at most n over
        the issue width cycles (each step takes a slot: the clock counts
        slots, so n slots later its cycle is at least the writer's plus n //
        width).  Only the steps inline here count: a C step clears what is
        known (it may write any entry and take none)."""
        if i == 0 or SRC_NONE <= i < DST_NONE:
            return True
        w = self.known.get(i)
        return w is not None and w[1] <= (self.taken - w[0]) // self.width

    def _tload_ready(self, dst, ready):
        """What tm_step writes for a plain step's destination: its ready
        cycle (``ready``) and the kind TM_K_DATA."""
        self._rset(dst, ready)
        if dst != 32 and dst < DST_NONE:
            self.b.store(const(I8, 0), self._kind(dst), align=1)   # TM_K_DATA

    def _tvcall(self, k, ins):
        """Instruction k's vector step in C (tm_vector_step), called with its slot and decoded form."""
        self._ccall("@rvai_jit_tvstep", VOID, [self.t, self._decoded(k, ins), self.m, _C(ins.pc), self._tslot(ins.pc)])

    def _tsources(self, start, firsts, counts, chained):
        """timing.c's vector_op's wait for its source groups: their first
        registers alone while vsplit shows each group set by one write, else
        every register of them; (start, the last source's done cycle)."""
        b = self.b
        tf = lambda off: b.gep(self.t, _C(off))   # noqa: E731
        umax = lambda x, y: b.select(b.icmp_unsigned(">", y, x), y, x)   # noqa: E731

        def wait(regs):
            s, done = start, _C(0)
            for r in dict.fromkeys(regs):   # from its first beat with chaining, else its last
                done_r = b.load(I64, tf(T_VDONE + 8 * r))
                s = umax(s, b.load(I64, tf(T_VFIRST + 8 * r)) if chained else done_r)
                done = umax(done, done_r)
            return s, done

        inner = 0
        for first, n in zip(firsts, counts):
            inner |= _reg_bits(first + 1, n - 1)
        if not inner:   # groups of one register
            return wait(firsts)
        whole, split, join = (self.fn.append_basic_block(n) for n in ("vgwhole", "vgsplit", "vgjoin"))
        b.cbranch(b.icmp_unsigned("==", b.and_(b.load(I32, tf(T_VSPLIT), align=4), _C32(inner)), _C32(0)),
                  whole, split, likely=True)
        out = []
        for block, regs in ((whole, firsts), (split, [r for f, n in zip(firsts, counts) for r in range(f, f + n)])):
            b.position_at_end(block)
            out.append((*wait(regs), b.block))
            b.branch(join)
        b.position_at_end(join)
        phis = []
        for i in range(2):
            phi = b.phi(I64)
            for o in out:
                phi.add_incoming(o[i], o[2])
            phis.append(phi)
        return tuple(phis)

    def _vheld(self, vtype, vl):
        """The test that the machine's vtype and vl are these, made here."""
        b = self.b
        return b.and_(b.icmp_unsigned("==", b.load(I64, self._field(VTYPE_OFF)), _C(vtype)),
                      b.icmp_unsigned("==", b.load(I64, self._field(VL_OFF)), _C(vl)))

    def _tvector(self, k, ins, f):
        """Instruction k's vector step (timing.c's tm_vector_step) written
        inline with its slot's plan as constants (``f``: the slot's fields,
        then tm_plan_words'), while the machine's vtype and vl are the ones
        the plan was made for; else the C step; whether it is a memory op
        (which leaves its accesses pending). It duplicates csrc/timing.c's
        vector_op (and tm_vector_step around it) in IR: a change to either must be
        made in the other; tests/test_timed_translate.py's
        test_vector_loops_time_the_same_translated catches a mismatch (cycles differ)."""
        b, pc = self.b, ins.pc
        (vtype, vl, op, pipe, units, vd, nvd, sdst, nsrc, *groups, chained, first_at_done, is_mem, vm_vd, vm_nregs,
         occ, lat, _, _, _) = f[6:]   # (its constant counts: vcount)
        firsts, counts = groups[:4], groups[4:]   # the source groups' first registers, then their sizes
        tf = lambda off: b.gep(self.t, _C(off) if isinstance(off, int) else off)   # noqa: E731
        umax = lambda x, y: b.select(b.icmp_unsigned(">", y, x), y, x)   # noqa: E731
        fast, slow, join = (self.fn.append_basic_block(n) for n in ("vsfast", "vsslow", "vsjoin"))
        held = self.vheld[vtype, vl] if (vtype, vl) in self.vheld else self._vheld(vtype, vl)
        b.cbranch(held, fast, slow, likely=True)
        b.position_at_end(slow)
        self._tvcount(pc, -1)   # the C step counts its own
        self._tvcall(k, ins)
        b.branch(join)
        b.position_at_end(fast)
        before, now = self._twait(f[1], f[2], f[3], False)
        # the decoupling queue: wait until the op vq_depth places back has started
        pos = b.load(I32, tf(T_VQ_POS), align=4)
        q = tf(b.add(_C(T_VQ), b.shl(b.zext(pos, I64), _C(3))))
        queued, here = b.load(I64, q), b.block
        wait, on = self.fn.append_basic_block("vqwait"), self.fn.append_basic_block("vqon")
        b.cbranch(b.icmp_unsigned(">", queued, now), wait, on)
        b.position_at_end(wait)   # (waiting for work that contended memory held up counts as contention)
        kind = b.select(b.icmp_unsigned("<=", queued, b.load(I64, tf(T_CONT_UNTIL))), _C(K_CONT), _C(K_VEC))
        sp = tf(b.add(_C(T_STALL), b.shl(kind, _C(3))))
        self._bump(sp, b.sub(queued, now))
        self._tset("clock", b.mul(queued, _C(self.width)))   # issues at `queued`, none of its slots taken
        b.branch(on)
        b.position_at_end(on)
        dispatch = b.phi(I64)
        dispatch.add_incoming(now, here)
        dispatch.add_incoming(queued, wait)
        # the earliest free unit of its pipe (the first of equals)
        row = T_UNIT_FREE + 8 * MAX_UNITS * pipe
        unit, free = _C(0), b.load(I64, tf(row))
        for u in range(1, units):
            x = b.load(I64, tf(row + 8 * u))
            less = b.icmp_unsigned("<", x, free)
            unit, free = b.select(less, _C(u), unit), b.select(less, x, free)
        start, src_done = self._tsources(umax(dispatch, free), firsts[:nsrc], counts, chained)
        last_beat = b.add(start, _C(occ - 1))
        if chained:   # the last beat not before a chained source's last beat is there
            last_beat = umax(last_beat, src_done)
        done, freed = b.add(last_beat, _C(lat)), b.add(last_beat, _C(1))
        b.store(freed, tf(b.add(_C(row), b.shl(unit, _C(3)))))
        b.store(start, q)
        nxt = b.add(pos, _C32(1))
        b.store(b.select(b.icmp_unsigned("==", nxt, b.load(I32, tf(T_VQ_DEPTH), align=4)), _C32(0), nxt),
                tf(T_VQ_POS), align=4)
        b.store(umax(b.load(I64, tf(T_V_END)), done), tf(T_V_END))
        first = done if first_at_done else b.add(start, _C(lat))
        for r in range(vd, vd + nvd):
            b.store(first, tf(T_VFIRST + 8 * r))
            b.store(done, tf(T_VDONE + 8 * r))
        if nvd:   # its group's registers set alike, apart from the registers on either side (vsplit)
            wclear, wset = _reg_bits(vd + 1, nvd - 1), _reg_bits(vd, 1) | _reg_bits(vd + nvd, 1 if vd + nvd < 32 else 0)
            split = b.load(I32, tf(T_VSPLIT), align=4)
            b.store(b.or_(b.and_(split, _C32(~wclear & 0xffffffff)), _C32(wset)), tf(T_VSPLIT), align=4)
        if sdst != DST_NONE:   # a scalar result (vmv.x.s, vcpop.m, ...)
            self._rset(sdst, done)
            if sdst != 32:
                b.store(const(I8, K_VEC), self._kind(sdst), align=1)
        if is_mem:   # its accesses (jit_vec's, next) complete it: nothing was pending (the step resolved it)
            b.store(_C32(P_VMEM), tf(T_PENDING), align=4)
            b.store(_C32(PATH_END), tf(T_INLINE_FROM), align=4)
            b.store(_C32(vm_vd), tf(T_VM_VD), align=4)
            b.store(_C32(vm_nregs), tf(T_VM_NREGS), align=4)
            b.store(start, tf(T_VM_START))
            b.store(_C32(0), tf(T_VM_FIRST_SEEN), align=4)
            b.store(_C32(0), tf(T_VM_TRAINED), align=4)
            b.store(_C(pc), tf(T_VM_PC))
        if chained:   # (the other counts are the exits': vcount)
            self._bump(tf(T_PIPE_BUSY + 8 * pipe), b.sub(freed, start))
        n = b.load(I32, tf(T_NTRACE), align=4)
        rec, on = self.fn.append_basic_block("vtrace"), self.fn.append_basic_block("vtraced")
        b.cbranch(b.icmp_signed("<", n, _C32(TRACE_MAX)), rec, on)
        b.position_at_end(rec)   # the timeline's event
        ev = b.gep(b.load(PTR, tf(T_TRACE)), b.mul(b.zext(n, I64), _C(TRACE_SIZE)))
        b.store(start, ev)
        b.store(freed, b.gep(ev, _C(8)))
        b.store(_C(pc), b.gep(ev, _C(16)))
        b.store(const(I16, op), b.gep(ev, _C(TR_OP)), align=2)
        b.store(const(I8, pipe), b.gep(ev, _C(TR_PIPE)), align=1)
        b.store(b.trunc(unit, I8), b.gep(ev, _C(TR_UNIT)), align=1)
        b.store(b.add(n, _C32(1)), tf(T_NTRACE), align=4)
        b.branch(on)
        b.position_at_end(on)
        # issued at `dispatch`: the model's last issue and destination written now (the slow side's C step writes them)
        b.store(dispatch, tf(T_LAST_ISSUE))
        b.store(_C32(f[4]), tf(T_LAST_DST), align=4)
        self._tissue(before, pc)
        b.branch(join)
        b.position_at_end(join)
        self.issue = self.prev_dst = None
        return bool(is_mem)

    def _tprefetch(self, k, ins):
        """The line a Zicbop prefetch just charged asks for (timing.c's
        software_prefetch): nothing when L1's hit filter finds it, else the C
        request.  (Its step's part in tm_prefetch_step comes first; the
        request reads none of what the step writes.)"""
        b = self.b
        on = b.icmp_unsigned("==", b.and_(b.lshr(b.load(I64, self._field(EXT_OFF_OFF)), _C(EXT_ZICBOP)), _C(1)),
                             _C(0))
        addr = b.add(self._x(ins.rs1), _C(ins.imm & ~31))
        line = b.lshr(addr, _C(self.line_bits))
        probe, miss, join = (self.fn.append_basic_block(n) for n in ("pprobe", "pmiss", "pjoin"))
        b.cbranch(on, probe, join)
        b.position_at_end(probe)
        slot = b.gep(self.hit, b.shl(b.lshr(b.mul(line, _C(FILTER_HASH)), _C(self.hit_shift)), _C(3)))
        held = b.icmp_unsigned("==", b.load(I64, b.gep(b.load(PTR, slot), _C(L_TAG))), line)
        b.cbranch(held, join, miss, likely=True)
        b.position_at_end(miss)   # (the request reads and writes only these of the locals: install_l1)
        way = [n for n in ("last_line", "last_way") if n in self.tl]
        self._ccall("@rvai_jit_tprefetch_miss", VOID, [self.t, self.m, self._decoded(k, ins), addr, self.issue],
                    sync=way, reload=way)
        b.branch(join)
        b.position_at_end(join)

    def _tinline_step(self, lat, s1, s2, s3, dst, path, pc, load=False):
        """tm_step's plain part (nothing pending) on the locals; for a ``load``
        its destination's ready cycle and kind are left to its hook (``tload``
        until then, for a fault between the two)."""
        b = self.b
        before, now = self._twait(s1, s2, s3, path & PLAIN_S3)
        if path & PLAIN_WAW and self.prev_dst in (None, dst):
            # a write after the step before's write of the same register, in the cycle it
            # issued in with one of the cycle's slots taken: it issues a cycle later
            same = const(I1, 1) if self.prev_dst == dst else \
                b.icmp_unsigned("==", b.load(I32, b.gep(self.t, _C(T_LAST_DST)), align=4), _C32(dst))
            clock = self._tget("clock")
            waw = b.and_(same, b.icmp_unsigned("!=", b.urem(clock, _C(self.width)), _C(0)))
            now = b.add(now, b.zext(waw, I64))
            self._tset("clock", b.select(waw, b.mul(now, _C(self.width)), clock))
        self.issue, self.prev_dst = now, dst
        self.tload = (dst, b.add(now, _C(lat)))
        if not load:
            self._tload_ready(*self.tload)
            self.tload = None
        self._tissue(before, pc)

    def _twait(self, s1, s2, s3, three):
        """The step's wait for its sources (s3 too when ``three``): (the issue
        cycle before, the cycle it issues at), the wait charged as tm_step
        (and timing.c's stall) charge it.  Sources known ready (_tready) are
        left out: none was late, so none is the late one the wait goes to;
        with all of them known, there is no wait."""
        b = self.b
        srcs = [i for i in ((s1, s2, s3) if three else (s1, s2)) if not self._tready(i)]
        before = self._tnow()
        if not srcs:
            return before, before
        rs = [self._rget(i) for i in srcs]
        rdy = rs[0]
        for r in rs[1:]:
            rdy = b.select(b.icmp_unsigned(">", r, rdy), r, rdy)
        start = b.block
        late, on = self.fn.append_basic_block("tlate"), self.fn.append_basic_block("ton")
        b.cbranch(b.icmp_unsigned(">", rdy, before), late, on)
        b.position_at_end(late)   # the wait goes to what the first late source was waiting for
        k = b.load(I8, self._kind(srcs[-1]), align=1)
        for i, r in zip(srcs[-2::-1], rs[-2::-1]):
            k = b.select(b.icmp_unsigned("==", r, rdy), b.load(I8, self._kind(i), align=1), k)
        sp = b.gep(self.t, b.add(_C(T_STALL), b.shl(b.zext(k, I64), _C(3))))
        self._bump(sp, b.sub(rdy, before))
        self._tset("clock", b.mul(rdy, _C(self.width)))   # it issues at rdy, none of its slots taken
        late_end = b.block
        b.branch(on)
        b.position_at_end(on)
        now = b.phi(I64)
        now.add_incoming(rdy, late_end)
        now.add_incoming(before, start)
        return before, now

    def _tissue(self, before, pc):
        """The step issuing at the clock's cycle takes a slot (tm_take_slot:
        the clock's next count, the next cycle's first slot after the last),
        and pc's slot is charged the cycles from ``before`` to the cycle after."""
        b = self.b
        clock = b.add(self._tget("clock"), _C(1))
        self._tset("clock", clock)
        now = self._cycle(clock)
        self.tnow = (b.block, now)   # the next step's wait starts from it
        e = self._tslot(pc)
        self._bump(e, b.sub(now, before))

    def _tpend(self, fall):
        """Leaving after a conditional branch whose fall-through is ``fall``
        (None: no branch): its resolution pending for the next instruction,
        as tm_step leaves it (the same values its C step would have set)."""
        if not self.timed or fall is None or self.insns[-1].pc not in self.tslot:
            return
        b, pc = self.b, self.insns[-1].pc
        tf = lambda off: b.gep(self.t, _C(off))   # noqa: E731
        b.store(_C32(P_BRANCH), tf(T_PENDING), align=4)
        b.store(_C32(PATH_END), tf(T_INLINE_FROM), align=4)
        b.store(_C(fall), tf(T_BR_FALL))
        b.store(_C32(pc >> 1 & self.bht_mask), tf(T_BR_IDX), align=4)
        b.store(self._tslot(pc), tf(T_BR_SLOT))

    def _ttaken(self, pc):
        """The branch at pc taken, to this block's start, resolved inline
        (tm_resolve): predicted taken, the counter saturates; a misprediction
        goes to the C path with the branch left pending."""
        b = self.b
        pred, mis, on = (self.fn.append_basic_block(n) for n in ("tpred", "tmis", "tbron"))
        c = b.gep(self.bht, _C(pc >> 1 & self.bht_mask))
        b.cbranch(b.icmp_unsigned(">=", b.load(I8, c, align=1), const(I8, 2)), pred, mis, likely=True)
        b.position_at_end(pred)
        b.store(const(I8, 3), c, align=1)
        n = b.gep(self.t, _C(T_BRANCHES))
        self._bump(n, _C(1))
        b.branch(on)
        b.position_at_end(mis)
        self._tpend(self.insns[-1].pc + self.insns[-1].len)
        self._ccall("@rvai_jit_tresolve", VOID, [self.m, _C(self.start)])
        b.branch(on)
        b.position_at_end(on)

    def _tmem(self, addr, size, store, pc, k):
        """The model's hook for the scalar access just made by the instruction
        at pc (the block's k-th): tm_mem's L1 hit inline (the line of the last
        access, or one the hit filter finds not prefetched), the first use of
        a line the filter finds prefetched through tm_first_use, the C hook
        otherwise.  Whether the access stays within one line is one test of
        its TLB group's span (_group_test) when that holds."""
        b = self.b
        # the C hook (exec.c's jit_tmem) takes back the hit the exits count (_tcount) and counts its own; its
        # flag is 1 when the filter's probe found neither a plain hit nor a first use for the line, else 0
        args = lambda probed: [self.m, probed, addr, _C32(size), _C32(store), _C(pc)]  # noqa: E731

        self.tload = None   # (the hook sets the load's destination on each path)
        if pc not in self.tslot:
            self._ccall("@rvai_jit_tmem", VOID, args(_C32(0)))
            return
        same, filt, found, fhit, first, hit, slow, join = (self.fn.append_basic_block(n) for n in (
            "msame", "mfilt", "mfound", "mfhit", "mfirst", "mhit", "mslow", "mjoin"))
        dst = self.tslot[pc][4]
        mem = list(T_MEM)   # what both C calls sync and reload (all of T_MEM kept: an access), and a load's ready
        reload = mem + ([("r", dst)] if not store and ("r", dst) in self.rl else [])
        line = b.lshr(addr, _C(self.line_bits))
        slow_from = [filt]   # the blocks branching to slow
        if size > 1:   # within one line (known when its TLB group's span is: one test for the group)
            one = self.fn.append_basic_block("mone")
            within = self.group_lines.get(self.group_of[k][0]) if k in self.group_of else None
            if within is not None:
                test = self.fn.append_basic_block("mline")
                b.cbranch(within, one, test, likely=True)
                b.position_at_end(test)
            slow_from.append(b.block)
            b.cbranch(b.icmp_unsigned("==", b.lshr(b.add(addr, _C(size - 1)), _C(self.line_bits)), line), one, slow,
                      likely=True)
            b.position_at_end(one)
        way = self._tget("last_way")
        b.cbranch(b.icmp_unsigned("==", line, self._tget("last_line")), same, filt)
        b.position_at_end(same)
        if store:   # a store to a line another hart may hold: the C path invalidates theirs
            slow_from.append(same)
            b.cbranch(b.icmp_unsigned("==", b.load(I8, b.gep(way, _C(L_SHARED)), align=1), const(I8, 0)),
                      hit, slow, likely=True)
        else:
            b.branch(hit)
        b.position_at_end(filt)
        slot = b.gep(self.hit, b.shl(b.lshr(b.mul(line, _C(FILTER_HASH)), _C(self.hit_shift)), _C(3)))
        w = b.load(PTR, slot)
        ours = b.icmp_unsigned("==", b.load(I64, b.gep(w, _C(L_TAG))), line)   # the line is in L1, at w
        if store:   # (and no other hart holds it)
            ours = b.and_(ours, b.icmp_unsigned("==", b.load(I8, b.gep(w, _C(L_SHARED)), align=1), const(I8, 0)))
        b.cbranch(ours, found, slow, likely=True)
        b.position_at_end(found)
        b.cbranch(b.icmp_unsigned("==", b.load(I8, b.gep(w, _C(L_PREFETCHED)), align=1), const(I8, 0)), fhit, first,
                  likely=True)
        b.position_at_end(first)   # its first use since the prefetcher brought it in: the hit and bytes counted
        # at the exits, C does the rest (stamp, arrival, training) with the way found
        self._ccall("@rvai_jit_tfirst_use", VOID, [self.t, w, line, addr, _C32(size), _C32(store), _C(pc)],
                    sync=mem, reload=reload)
        b.branch(join)
        b.position_at_end(fhit)   # what access_line does on a hit of a line not prefetched
        sp = b.gep(self.t, _C(T_STAMP))
        stamp = b.add(b.load(I32, sp, align=4), _C32(1))
        b.store(stamp, sp, align=4)
        b.store(stamp, b.gep(w, _C(L_LRU)), align=4)
        self._tset("last_line", line)
        self._tset("last_way", w)
        b.branch(hit)
        b.position_at_end(hit)
        wp = b.phi(PTR)
        wp.add_incoming(way, same)
        wp.add_incoming(w, fhit)
        done = b.add(self.issue, _C(self.l1_latency))
        wr = b.load(I64, b.gep(wp, _C(L_READY)))
        done = b.select(b.icmp_unsigned(">", wr, done), wr, done)   # still being filled
        end = self._tget("mem_end")
        self._tset("mem_end", b.select(b.icmp_unsigned(">", done, end), done, end))
        if store:
            b.store(const(I8, 1), b.gep(wp, _C(L_DIRTY)), align=1)
        else:
            self._rset(dst, done)
            b.store(const(I8, K_MEM), self._kind(dst), align=1)
        b.branch(join)
        b.position_at_end(slow)   # (tm_mem's slow paths read and write only these of the locals)
        probed = b.phi(I32)
        for pred in slow_from:
            probed.add_incoming(_C32(int(pred is filt)), pred)
        self._ccall("@rvai_jit_tmem", VOID, args(probed), sync=mem, reload=reload)
        b.branch(join)
        b.position_at_end(join)

    def _vector(self, k, ins):
        """Instruction k, a vector one: inline for the vtype expected here
        when it holds, else jit_vec runs it."""
        b = self.b
        shape = self._inline_shape(ins)
        if shape is None:
            self._vector_call(k, ins)
            return
        lmul, sew, vlmax = shape
        holds = self._vguard(vlmax)
        ty, vlenb = f"<{vlmax} x i{sew}>", self.vlen // 8
        group = lambda r: b.gep(self.vregs, _C(r * vlenb))   # noqa: E731
        name = _OP_NAMES[ins.op]
        if holds is None and name not in VUNIT:
            self._vint(ins, sew, vlmax, ty, group)
            return
        fast, slow, join = (self.fn.append_basic_block(n) for n in ("vfast", "vslow", "vjoin"))
        if holds is None:
            b.branch(fast)
        else:
            b.cbranch(holds, fast, slow, likely=True)
        b.position_at_end(fast)
        if name in VUNIT:
            addr = self._unit_copy(ins, VUNIT[name], ty, lmul * vlenb, group(ins.rd), slow)
            if self.timed:   # what ldst_unit_page's TIMING_MEM does, on the locals it reads and writes
                mem = [n for n in T_MEM if n in self.tl]   # (none kept when no scalar access)
                self._ccall("@rvai_jit_tvmem", VOID, [self.t, addr, _C32(lmul * vlenb), _C32(int(not VUNIT[name]))],
                            sync=mem, reload=mem)
        else:
            self._vint(ins, sew, vlmax, ty, group)
        b.branch(join)
        b.position_at_end(slow)
        guard = self.guard
        self._vector_call(k, ins)
        self.guard = guard   # the call ran this same instruction: the test still holds
        b.branch(join)
        b.position_at_end(join)

    def _unit_copy(self, ins, load, ty, nbytes, vreg, miss):
        """The inline unit-stride access: the group of ``nbytes`` at ``vreg``
        from (to) guest memory at x[rs1] when the read (write) TLB maps it
        all, else on to block ``miss``; the address."""
        b = self.b
        addr = self._x(ins.rs1)
        ent = self._tlb_entry(TLB_R_OFF if load else TLB_W_OFF, addr)
        last_page = b.lshr(b.add(addr, _C(nbytes - 1)), _C(PAGE_BITS))
        copy = self.fn.append_basic_block("vcopy")
        b.cbranch(b.icmp_unsigned("==", b.load(I64, self._field(ent)), last_page), copy, miss, likely=True)
        b.position_at_end(copy)
        host = b.inttoptr(b.add(addr, b.load(I64, self._field(b.add(ent, _C(8))))), PTR)
        src, dst = (host, vreg) if load else (vreg, host)
        b.store(b.load(ty, src, align=1), dst, align=1)
        return addr

    def _vint(self, ins, sew, vlmax, ty, group):
        """The inline integer op (VINLINE) on register groups ``group(r)``, ``ty`` each."""
        b = self.b
        method, form = VINLINE[_OP_NAMES[ins.op]]
        a = b.load(ty, group(ins.rs2), align=1)
        if form == "vv":
            c = b.load(ty, group(ins.rs1), align=1)
        else:
            scalar = _imm(ins) if form == "vi" else self._x(ins.rs1)
            scalar = scalar if sew == 64 else b.trunc(scalar, f"i{sew}")
            one = b._emit(ty, f"insertelement {ty} poison, i{sew} {scalar}, i64 0")
            c = b._emit(ty, f"shufflevector {ty} {one}, {ty} poison, <{vlmax} x i32> zeroinitializer")
        b.store(getattr(b, method)(a, c), group(ins.rd), align=1)

    def _vguard(self, vlmax):
        """The test that vtype is the expected one, vl is vlmax and vstart 0,
        shared: vtype, vl and vstart change only in jit_vec (a vector FP op,
        inline or jit_vfp's, changes neither vtype nor vl and ends with vstart
        0), so one test serves the inline instructions up to the next jit_vec
        call; None when known to hold (tested at entry)."""
        if self.guard is None or self.guard[0] != vlmax:
            self.guard = self._guard(vlmax)
        return self.guard[1]

    def _guard(self, vlmax):
        """(vlmax, the test that the machine's vtype is the expected one, vl
        is vlmax and vstart 0) made here."""
        b = self.b
        vt = b.load(I64, self._field(VTYPE_OFF))
        vl = b.load(I64, self._field(VL_OFF))
        vstart = b.load(I64, self._field(VSTART_OFF))
        return vlmax, b.and_(b.and_(b.icmp_unsigned("==", vt, _C(self.vtype)), b.icmp_unsigned("==", vl, _C(vlmax))),
                             b.icmp_unsigned("==", vstart, _C(0)))

    def _inline_shape(self, ins):
        """(LMUL, SEW, VLMAX) when instruction ins is computed inline under the
        expected vtype (VINLINE, VUNIT), else None."""
        name, shape = _OP_NAMES[ins.op], _vtype_shape(self.vtype, self.vlen)
        if (name not in VINLINE and name not in VUNIT) or shape is None or not ins.slot[1] >> 25 & 1:   # vm=0: masked
            return None
        # timed, a unit-stride access only after a planned step: that step (its inline or its C
        # side) leaves the op's accesses pending (P_VMEM), which the access's tm_vmem call takes
        if name in VUNIT and self.timed and not _planned(self.tslot.get(ins.pc, ())):
            return None
        lmul, sew, vlmax = shape
        if name in VUNIT:   # EEW = SEW, and a group no larger than a page (one TLB test)
            if name != f"v{'l' if VUNIT[name] else 's'}e{sew}.v" or lmul * self.vlen // 8 > 1 << PAGE_BITS:
                return None
            vs = (ins.rd,)
        else:
            vs = (ins.rd, ins.rs2) + ((ins.rs1,) if VINLINE[name][1] == "vv" else ())
        if any(r % lmul for r in vs):
            return None   # a misaligned group: illegal, jit_vec says so
        return shape

    def _x(self, r):
        """Scalar register r's value where a vector instruction reads it."""
        if r == 0:
            return _C(0)
        return self.get(r) if r in self.reg else self.b.load(I64, self._field(X_OFF + 8 * r))

    def _vfp_ctx(self, ins):
        """The words of jit_vfp's context for instruction ins under the vtype
        expected here (vtype's fields, vm, vec_fp's op and form), or None when
        no vtype is expected, or ins is not vector FP, or it is illegal there."""
        if self.vtype is None:
            return None
        out = ffi.new("uint64_t[16]")
        slot = ffi.new("uint64_t[2]", [w & (1 << 64) - 1 for w in ins.slot])
        if not lib.rv_jit_vfp_ctx(self.vlen, self.vtype, slot, out, 16):
            return None
        return list(out)

    def _decoded(self, k, ins):
        """A pointer to instruction k's decoded form (its rv_decoded), a constant of the module."""
        d = f"@{self.fn.name}_d{k}"
        self.globals[d] = f"{d} = private constant [2 x i64] [i64 {_C(ins.slot[0])}, i64 {_C(ins.slot[1])}], align 8"
        return Value(PTR, d)

    def _vector_call(self, k, ins):
        """Instruction k, a vector one: jit_vec runs it on the machine, which
        holds the scalar registers meanwhile (it may read and write them);
        a vector FP op, jit_vfp, reads and writes neither them nor the
        timing model (no FP op accesses memory), so they stay in locals."""
        b = self.b
        d = self._decoded(k, ins)
        ctx = self._vfp_ctx(ins)
        if ctx is None:
            self.guard = None   # jit_vec may change vtype, vl, vstart
            for r in self.written:
                b.store(b.load(I64, self.reg[r]), self._field(X_OFF + 8 * r))
            status = self._ccall("@rvai_jit_vec", I32, [self.m, d])
            for r in self.reg:
                b.store(b.load(I64, self._field(X_OFF + 8 * r)), self.reg[r])
        else:   # vector FP legal under the vtype expected here: jit_vfp, with its context
            kc = f"@{self.fn.name}_k{k}"
            words = ", ".join(f"i64 {_C(w)}" for w in ctx)
            self.globals[kc] = f"{kc} = private constant [{len(ctx)} x i64] [{words}], align 8"
            args = [self.m, d, Value(PTR, kc)]
            call = lambda: self._ccall("@rvai_jit_vfp", I32, args, sync=[], reload=[])   # noqa: E731
            shape = self._vfp_shape(ins)
            status = call() if shape is None else self._vfp_inline(ins, *shape, call)

        def wrote_code():   # it ran and wrote code: leave after it; else a fault or illegal, before it
            code, other = self.fn.append_basic_block("vcode"), self.fn.append_basic_block("vother")
            b.cbranch(b.icmp_signed("==", status, _C32(VEC_CODE)), code, other)
            b.position_at_end(code)
            self.exit(ins.pc + ins.len, k + 1)
            b.position_at_end(other)

        ok, stop = self.fn.append_basic_block("vok"), self.fn.append_basic_block("vstop")
        self._leave_unless_ok(b.icmp_signed("==", status, _C32(VEC_OK)), k, ok, stop, before=wrote_code)

    def _fp_call(self, k, ins, xreg):
        """Instruction k, FCALL's: jit_fp runs it on the machine, the integer
        register it reads (``xreg`` "rs1") written back before, the one it
        writes ("rd") read after; a reserved rounding mode leaves before it.
        It touches neither memory nor the timing model: a plain call."""
        b = self.b
        if xreg == "rs1" and ins.rs1 in self.reg:
            b.store(self.get(ins.rs1), self._field(X_OFF + 8 * ins.rs1))
        status = b.call("@rvai_jit_fp", I32, [self.m, self._decoded(k, ins)])
        ok, stop = self.fn.append_basic_block("fpok"), self.fn.append_basic_block("fpstop")
        self._leave_unless_ok(b.icmp_signed("==", status, _C32(VEC_OK)), k, ok, stop)
        if xreg == "rd":
            self.set(ins.rd, b.load(I64, self._field(X_OFF + 8 * ins.rd)))

    def _vfp_shape(self, ins):
        """(SEW, VLMAX) when vector FP instruction ins, legal under the vtype
        expected here (_vfp_ctx), is one _vfp_inline computes: VFP_INLINE's,
        unmasked, SEW 32 or 64, LMUL >= 1; else None."""
        base, _, form = _OP_NAMES[ins.op].partition(".")
        if not VFP_HOST or base not in VFP_INLINE or form not in ("vv", "vf") or not ins.slot[1] >> 25 & 1:
            return None
        shape = _vtype_shape(self.vtype, self.vlen)
        if shape is None or shape[1] not in (32, 64):
            return None
        return shape[1:]

    def _vfp_inline(self, ins, sew, vlmax, call):
        """Vector FP instruction ins computed inline when it can be, else by
        ``call`` (jit_vfp); its status (VEC_OK inline).  Inline needs, at run
        time, the vtype expected here with vl = VLMAX and vstart 0, frm RNE
        and NX already in fflags (fp.h's fp_host_fast), and then no special
        result (fp_special32/64): only such a result can carry a flag beyond
        NX, or be a NaN to canonicalise.  The result is stored only after
        that test, so the call, when any lane is special, recomputes from
        the same sources (and the host flags the inline lanes raised are
        ones the call raises again and folds into fflags: (I2) holds)."""
        b = self.b
        fast, store, slow, join = (self.fn.append_basic_block(n) for n in ("ffast", "fstore", "fslow", "fjoin"))
        holds = self._vguard(vlmax)
        b.cbranch(self.fp_ok if holds is None else b.and_(holds, self.fp_ok), fast, slow, likely=True)
        b.position_at_end(fast)
        r = self._vfp_result(ins, sew, vlmax)
        b.cbranch(self._vfp_special(r, sew, vlmax), slow, store)
        b.position_at_end(store)
        b.store(r, b.gep(self.vregs, _C(ins.rd * self.vlen // 8)), align=1)
        b.branch(join)
        b.position_at_end(slow)
        called = call()
        slow_end = b.block
        b.branch(join)
        b.position_at_end(join)
        status = b.phi(I32)
        status.add_incoming(_C32(VEC_OK), store)
        status.add_incoming(called, slow_end)
        return status

    def _vfp_state(self):
        """The test, made at the block's entry, that frm is RNE and fflags
        holds NX (fp.h's fp_host_fast).  It holds for the whole entry once it
        holds at entry: no instruction of a block writes frm or clears fflags
        (CSR instructions end blocks; FP ops only OR flags in), and threads
        switch between runs.  (Failing at entry, it may come to hold after an
        op raises NX: those ops call jit_vfp, exact, until the next entry.)"""
        b = self.b
        frm = b.load(I32, self._field(FRM_OFF), align=4)
        nx = b.and_(b.load(I32, self._field(FFLAGS_OFF), align=4), _C32(FP_NX))
        return b.and_(b.icmp_unsigned("==", frm, _C32(0)), b.icmp_unsigned("!=", nx, _C32(0)))

    def _vfp_result(self, ins, sew, vlmax):
        """VFP_INLINE's result for ins, from the register file, not stored."""
        b = self.b
        base, _, form = _OP_NAMES[ins.op].partition(".")
        fty = "float" if sew == 32 else "double"
        ty = f"<{vlmax} x {fty}>"
        group = lambda r: b.load(ty, b.gep(self.vregs, _C(r * self.vlen // 8)), align=1)   # noqa: E731
        if form == "vv":
            s = group(ins.rs1)
        else:   # f[rs1], NaN-boxed at SEW 32 (unboxed: the canonical NaN, as fp_unbox32)
            f = self.fget(ins.rs1)
            if sew == 32:
                boxed = b.icmp_unsigned("==", b.lshr(f, _C(32)), _C(0xFFFFFFFF))
                f = b.select(boxed, b.trunc(f, I32), _C32(0x7FC00000))
            x = b._emit(fty, f"bitcast i{sew} {f} to {fty}")
            one = b._emit(ty, f"insertelement {ty} poison, {fty} {x}, i64 0")
            s = b._emit(ty, f"shufflevector {ty} {one}, {ty} poison, <{vlmax} x i32> zeroinitializer")
        return VFP_INLINE[base](b, group(ins.rs2), s, group(ins.rd))

    def _vfp_special(self, r, sew, vlmax):
        """Whether a lane of result r is special (fp_special32/64)."""
        b = self.b
        ity, bty = f"<{vlmax} x i{sew}>", f"<{vlmax} x i1>"
        splat = lambda v: Value(ity, "<" + ", ".join([f"i{sew} {v}"] * vlmax) + ">")   # noqa: E731
        big, tiny = FP_SPECIAL[sew]
        bits = b._emit(ity, f"bitcast {r.type} {r} to {ity}")
        mag = b._emit(ity, f"and {ity} {bits}, {splat((1 << sew - 1) - 1)}")
        over = b._emit(bty, f"icmp uge {ity} {mag}, {splat(big)}")
        under = b._emit(bty, f"icmp ule {ity} {mag}, {splat(tiny)}")
        lanes = b._emit(bty, f"or {bty} {over}, {under}")
        mask = b._emit(f"i{vlmax}", f"bitcast {bty} {lanes} to i{vlmax}")   # one bit a lane: any set?
        return b.icmp_unsigned("!=", mask, const(f"i{vlmax}", 0))

    def _go(self, target, k, branch=None):
        """Leave for a known target; loop in place when it is this block's start
        and the budget covers another full pass.  ``branch``: the target is a
        conditional branch's taken side (its fall-through pc)."""
        b = self.b
        if target != self.start:
            self._tpend(branch)
            self.exit(target, k)
            return
        iters = b.add(b.load(I64, self.iters), _C(1))
        again, out = self.fn.append_basic_block("again"), self.fn.append_basic_block("out")
        b.cbranch(b.icmp_signed("<", iters, self.most), again, out, likely=True)
        b.position_at_end(again)
        if self.timed:   # the next pass's first step resolves what this one left pending
            self._tflush()
            if branch is not None and self.insns[k - 1].pc in self.tslot:
                self._ttaken(self.insns[k - 1].pc)
            else:
                self._tpending(self.start)
        b.store(iters, self.iters)
        b.branch(self.head)
        b.position_at_end(out)
        self._tpend(branch)
        self.exit(target, k, passes=iters)
