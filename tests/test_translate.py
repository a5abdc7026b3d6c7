"""The translating tier against the interpreter, its reference: random
programs (the project's own assembler) run in both tiers with every block
translated on first entry, and every observable compared (registers, pc,
memory, instret, per-op counts, the stop and its message); then the cases
the tier must not change: self-modifying code, faults in the middle of a
block, budget stops inside a looping block, interrupts, many harts."""
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CODE, load_program, resume
from rvai.emu import EmulatorError, Machine
from rvai.emu.isa import ROUNDING, assemble, table

pytest.importorskip("llvmlite")
from rvai.emu import jit_llvm  # noqa: E402 (needs llvmlite)

DATA = 0x20000          # one rw page the programs load from and store to
UNMAPPED = 0x40000      # s1 points here: accesses through it fault
# Bases of the random programs' accesses: s0 inside the data page, s1 unmapped,
# s3 eight bytes before the data page's end (accesses near it straddle into
# unmapped memory), s4 the code itself (self-modifying programs only), s5 the
# log of results (the data page's upper half).
BASES = {"s0": DATA + 16, "s1": UNMAPPED, "s3": DATA + 4096 - 8, "s4": CODE, "s5": DATA + 2048}
# Registers the random instructions name; the bases, rarely (a rewritten base
# moves later accesses); never s2 (the loop count), t2 or t3 (jalr's base, a
# code word to store).
REGS = ["a0", "a1", "a2", "a3", "t0", "t1"] * 3 + ["zero", "zero", "s0", "s3"]
# The f registers they name (ft0 is f0: no sink register stands in for it),
# seeded by run(); fa0 is left to the vector programs, which set it.
FREGS = {"ft0": 0, "ft1": 1, "fa1": 11, "fa2": 12}
# Register values that expose sign and width errors, beside random ones.
EDGES = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
         1 << 32, (1 << 63) - 1, 1 << 63, (1 << 64) - 1, (1 << 64) - 0x80000000, (1 << 64) - 2]
# XORed into the data page's seed bytes: hypothesis's simplest seeds are zeros, and
# a sign- or zero-extension error shows only on a loaded value with its top bit set.
BASELINE = bytes((0x9E + 73 * i) & 0xFF for i in range(64))
reg = st.sampled_from(REGS)
freg = st.sampled_from(sorted(FREGS))
value = st.one_of(st.sampled_from(EDGES), st.integers(0, (1 << 64) - 1))
imm12 = st.one_of(st.sampled_from([-2048, -1, 0, 1, 2047]), st.integers(-2048, 2047))

# Every scalar op the translator emits, by its operand form: the test below
# holds this equal to jit_llvm.EMIT, so a newly translated op is generated here.
FORMS = {
    **{name: "rr" for name in jit_llvm.RR},
    **{name: "imm12" for name in ("addi", "slti", "sltiu", "xori", "ori", "andi", "addiw")},
    **{name: "shamt64" for name in ("slli", "srli", "srai")},
    **{name: "shamt32" for name in ("slliw", "srliw", "sraiw")},
    **{name: "upper" for name in ("lui", "auipc")},
    **{name: "unary" for name in ("sext.b", "sext.h", "zext.h")},
    **{name: "load" for name in jit_llvm.LOADS},
    **{name: "store" for name in jit_llvm.STORES},
    **{name: "branch" for name in jit_llvm.BRANCHES},
    **{name: "fload" for name in jit_llvm.FLOADS},
    **{name: "fstore" for name in jit_llvm.FSTORES},
    **{name: "fmv_to_f" for name in jit_llvm.FMV_TO_F},
    **{name: "fmv_to_x" for name in jit_llvm.FMV_TO_X},
    **{name: "frr" for name in (*jit_llvm.FSGNJ, *jit_llvm.FMINMAX)},
    **{name: "fcmp" for name in jit_llvm.FCMP},
    **{name: "fclass" for name in jit_llvm.FCLASS},
    **{name: "fcall" for name in jit_llvm.FCALL},
    "csrrs": "csr",   # its csrr rd, vlenb form; any other CSR read is drawn as "untranslated"
    "jal": "jal", "jalr": "jalr", "fence": "bare", "fence.i": "bare",
}
# Ops the translator leaves to the interpreter: a block ends before them.
UNTRANSLATED = ["ror", "clmul", "rol", "clmulh"]
UNTRANSLATED_UNARY = ["clz", "cpop"]
# CSRs a read of which stays interpreted (the translator emits vlenb's only).
OTHER_CSRS = ["vl", "vtype", "fflags", "frm", "cycle", "instret"]


def test_the_generator_covers_every_translated_op():
    assert set(FORMS) == jit_llvm.EMIT


def c_addi(rd, imm):
    """c.addi rd, imm (a 16-bit instruction; imm in [-32, 31], not 0)."""
    return (imm >> 5 & 1) << 12 | rd << 7 | (imm & 31) << 2 | 0b01


def c_add(rd, rs2):
    """c.add rd, rs2 (16 bits; rd, rs2 not x0)."""
    return 0b1001 << 12 | rd << 7 | rs2 << 2 | 0b10


# A program is a list of items, each a 32-bit instruction's text, a 16-bit
# instruction's halfword (int), or ("to", text, target, anchor): a text whose
# {off} is the byte distance from instruction `anchor` to instruction `target`
# ({odd}: that plus one)
# (branches, jumps; anchor None: from the code's start, for stores into code).
XREG = {"a0": 10, "a1": 11, "a2": 12, "a3": 13, "t0": 5, "t1": 6, "s0": 8, "s3": 19}


@st.composite
def instruction(draw, index, length, smc=False, focus=None):
    """The items of one random instruction at item ``index`` of a body of
    ``length`` items (jump targets: the body, its loop tail or its end), half
    the time op ``focus`` when given; a "group" is 2-3 accesses sharing a base
    (one TLB test), a "bump" moves a base; a result is often also stored to the
    log at s5, so that a wrong one shows even when a later one overwrites it."""
    items = draw(_instruction(index, length, smc, focus))
    text = items[-1]
    form = FORMS.get(text.split()[0]) if isinstance(text, str) else None
    if form in LOGGED and draw(st.booleans()):
        store = "sd" if form == "fcall" and table()[text.split()[0]].operands[0] == "d" else LOGGED[form]
        items.append(f"{store} {text.split()[1].rstrip(',')}, {8 * (index % 256)}(s5)")
    return items


# Forms whose result is logged, and the store that logs it (an f register's whole 64 bits: its NaN box too).
LOGGED = {**dict.fromkeys(["rr", "imm12", "shamt64", "shamt32", "upper", "unary", "load", "fmv_to_x", "csr", "fcmp",
                            "fclass"], "sd"),
          "fcall": "fsd",   # (an f result's; an x result's by sd: instruction())
          **dict.fromkeys(["fload", "fmv_to_f", "frr"], "fsd")}
MEMORY = ("load", "store", "fload", "fstore")


def _access(name, rd, rs2, fr, off, base):
    """The text of load or store ``name``: its data register is rd or rs2, or f register fr for an FP one."""
    data = fr if FORMS[name] in ("fload", "fstore") else rs2 if FORMS[name] == "store" else rd
    return f"{name} {data}, {off}({base})"


@st.composite
def _instruction(draw, index, length, smc, focus):
    rd, rs1, rs2, fr = draw(reg), draw(reg), draw(reg), draw(freg)
    target = draw(st.integers(0, length + 2))
    kinds = ["op"] * 12 + ["mem"] * 6 + ["group", "group", "bump", "rvc", "untranslated"] + \
        (["smc"] * 2 if smc else [])
    kind = draw(st.sampled_from(kinds))
    if focus and draw(st.booleans()):
        kind = "mem" if FORMS[focus] in MEMORY else "op"
    if kind == "rvc":
        a, b = XREG[draw(st.sampled_from(list(XREG)[:6]))], XREG[draw(st.sampled_from(list(XREG)[:6]))]
        return [draw(st.sampled_from([c_addi(a, draw(st.sampled_from([-32, -1, 1, 31]))), c_add(a, b)]))]
    if kind == "untranslated":
        return [draw(st.sampled_from([f"{draw(st.sampled_from(UNTRANSLATED))} {rd}, {rs1}, {rs2}",
                                      f"{draw(st.sampled_from(UNTRANSLATED_UNARY))} {rd}, {rs1}",
                                      f"rdinstret {rd}", f"csrr {rd}, {draw(st.sampled_from(OTHER_CSRS))}"]))]
    if kind == "smc":   # store an instruction word (a translatable one) over one of the program's,
        # often the next one (the store's own block then runs it: the block must end after the store)
        word = assemble(draw(st.sampled_from(["addi a0, a0, 100", "xori a1, a1, -1", "sub a2, a2, a3"])))
        target = draw(st.one_of(st.sampled_from([index + 3, index + 4]), st.just(target)))
        return [f"lui t3, {(word + 0x800) >> 12 & 0xFFFFF}", f"addiw t3, t3, {(word & 0xFFF) - ((word & 0x800) << 1)}",
                ("to", f"{draw(st.sampled_from(['sw', 'sh']))} t3, {{off}}(s4)", target, None)]
    if kind == "group":   # accesses of one kind through one base, one TLB test for all: their
        # offsets span the base's page and, through s3, the unmapped one after it
        kind_ = draw(st.sampled_from(["load", "store"]))
        base = draw(st.sampled_from(["s0", "s3"]))
        offs = st.integers(-24, 2047) if base == "s0" else st.integers(-16, 16)
        names = st.sampled_from(sorted(n for n, f in FORMS.items() if f in (kind_, "f" + kind_)))
        return [_access(draw(names), rd, rs2, fr, draw(offs), base) for _ in range(draw(st.integers(2, 3)))]
    if kind == "bump":   # move a base by a little: across a page edge, later accesses through it fault
        base = draw(st.sampled_from(["s0", "s3"]))
        return [f"addi {base}, {base}, {draw(st.sampled_from([-32, -16, 8, 16, 2047]))}"]
    if kind == "mem":
        name = focus if focus and FORMS[focus] in MEMORY and draw(st.booleans()) else \
            draw(st.sampled_from(sorted(n for n, f in FORMS.items() if f in MEMORY)))
        base = draw(st.sampled_from(["s0"] * 8 + ["s1", "s3", "s3"]))
        off = {"s0": draw(st.one_of(st.integers(-24, 2047), st.sampled_from([-17, -16, 2047]))),
               "s1": draw(st.integers(-16, 16)), "s3": draw(st.integers(-16, 16))}[base]
        return [_access(name, rd, rs2, fr, off, base)]
    name = focus if focus and FORMS[focus] not in MEMORY and draw(st.booleans()) else \
        draw(st.sampled_from(sorted(n for n, f in FORMS.items() if f not in MEMORY)))
    form = FORMS[name]
    if form == "rr":
        return [f"{name} {rd}, {rs1}, {rs2}"]
    if form == "imm12":
        return [f"{name} {rd}, {rs1}, {draw(imm12)}"]
    if form in ("shamt64", "shamt32"):
        top = 63 if form == "shamt64" else 31
        return [f"{name} {rd}, {rs1}, {draw(st.sampled_from([0, 1, top - 1, top]) | st.integers(0, top))}"]
    if form == "upper":
        return [f"{name} {rd}, {draw(st.sampled_from([0, 1, 0x7FFFF, 0x80000, 0xFFFFF]) | st.integers(0, 0xFFFFF))}"]
    if form == "unary":
        return [f"{name} {rd}, {rs1}"]
    if form == "fmv_to_f":
        return [f"{name} {fr}, {rs1}"]
    if form == "fmv_to_x":
        return [f"{name} {rd}, {fr}"]
    if form == "frr":
        return [f"{name} {fr}, {draw(freg)}, {draw(freg)}"]
    if form == "fcmp":
        return [f"{name} {rd}, {fr}, {draw(freg)}"]
    if form == "fclass":
        return [f"{name} {rd}, {fr}"]
    if form == "fcall":
        return [fp_text(draw, name, rd, rs1, fr, freg)]
    if form == "csr":
        return [f"csrr {rd}, vlenb"]
    if form == "branch":
        return [("to", f"{name} {rs1}, {rs2}, {{off}}", target, index)]
    if form == "jal":
        return [("to", f"jal {draw(st.sampled_from(['ra', 'zero', rd]))}, {{off}}", target, index)]
    if form == "jalr":   # auipc t2 then a jalr through it; an odd offset checks that bit 0 is cleared
        off = draw(st.sampled_from(["{off}", "{odd}"]))
        return ["auipc t2, 0", ("to", f"jalr {draw(st.sampled_from(['ra', 'zero', rd]))}, {off}(t2)",
                                target + 1 if target > index else target, index)]
    return [name]


def fp_text(draw, name, rd, rs1, fr, freg):
    """The text of FP op ``name`` by its operand letters (the instruction
    table's): f rd ``fr``, f sources drawn from ``freg``, x rd/rs1 ``rd``/``rs1``,
    and a rounding mode: none (dyn, frm's), a static one, or now and then
    the reserved 5 (an illegal instruction)."""
    ops = {"D": fr, "d": rd, "s": rs1}
    out = [ops[c] if c in ops else draw(freg) for c in table()[name].operands.split(",") if c != "m"]
    if "m" in table()[name].operands:
        rm = draw(st.sampled_from([None] * 6 + [r for r in ROUNDING if r] + ["5"]))
        out += [rm] if rm else []
    return f"{name} {', '.join(out)}"


@st.composite
def body(draw, length, first=0, smc=False, focus=None):
    """At least ``length`` items of random instructions, the first at item
    ``first``; a jump target past them is the item after them plus 0-2."""
    items = []
    while len(items) < length:
        items += draw(instruction(first + len(items), length, smc, focus))
    end = first + len(items)
    return [(x[0], x[1], x[2] if x[2] < length else end + x[2] - length, x[3]) if isinstance(x, tuple) else x
            for x in items]


@st.composite
def program(draw, smc=False, focus=None):
    """A random body run up to 3 times by a loop around it (so its blocks are
    also entered again, translated), then ebreak: a list of items."""
    items = draw(body(draw(st.integers(1, 40)), smc=smc, focus=focus))
    return items + ["addi s2, s2, -1", ("to", "bne s2, zero, {off}", 0, len(items) + 1), "ebreak"]


def encode(items) -> bytes:
    """The program's bytes: 16-bit items take two, others four."""
    offsets = [0]
    for x in items:
        offsets.append(offsets[-1] + (2 if isinstance(x, int) else 4))
    out = bytearray()
    for i, x in enumerate(items):
        if isinstance(x, int):
            out += x.to_bytes(2, "little")
            continue
        if isinstance(x, tuple):
            _, text, target, anchor = x
            target = min(target, len(items) - 1)
            off = offsets[target] - (offsets[anchor] if anchor is not None else 0)
            x = text.format(off=off, odd=off + 1)
        out += assemble(x).to_bytes(4, "little")
    return bytes(out)


def run(items, tier, budget, seeds, regs=(), *, machine=None, smc=False, passes=3, again=False):
    """Run the program ``items`` at CODE in a fresh machine of ``tier`` (or
    ``machine``; ``again``: one that ran a program before, its memory mapped)
    with registers a0-a3, t0, t1 = ``regs`` (else from ``seeds``), the loop
    count s2 = ``passes`` and the data page filled with ``seeds`` (XOR
    ``BASELINE``); every observable."""
    m = machine or Machine(vlen=128, tier=tier)
    code = encode(items)
    if not again:
        m.map(CODE, 4096, "rwx" if smc else "rx")
        m.map(DATA, 4096, "rw")
    m.write(CODE, np.frombuffer(code, dtype=np.uint8))
    data = bytes(a ^ b for a, b in zip(seeds, BASELINE))
    m.write(DATA, np.frombuffer(data * (4096 // len(data)), dtype=np.uint8))
    values = list(regs) or [int(v) for v in np.frombuffer(seeds[:48], dtype=np.uint64)]
    for r, v in zip((10, 11, 12, 13, 5, 6), values):
        m.x(r, v)
    for r, v in zip(FREGS.values(), reversed(values)):   # boxed and unboxed values (EDGES)
        m.f(r, v)
    for name, v in BASES.items():
        m.x({"s0": 8, "s1": 9, "s3": 19, "s4": 20, "s5": 21}[name], v)
    m.x(18, passes)   # s2: the loop count
    m.pc = CODE
    stop = resume(m, budget)
    return {"x": [m.x(i) for i in range(32)], "f": [m.f(i) for i in range(32)], "pc": m.pc, "instret": m.instret,
            "stop": stop,
            "mem": bytes(m.read(DATA, np.uint8, 4096)), "code": bytes(m.read(CODE, np.uint8, 4096)),
            "ops": m.op_counts(), "fflags": m.csr(0x001)}


def both_tiers(items, budget, seeds, regs=(), smc=False):
    """run() in the translating tier (every block translated at its first
    entry) and in the interpreter: (translated, interpreted)."""
    with pytest.MonkeyPatch.context() as mp:   # (hypothesis examples run outside function-scoped fixtures)
        mp.setenv("RVAI_JIT_HOT", "0")
        m = Machine(vlen=128, tier="translate")
        t = run(items, "translate", budget, seeds, regs, machine=m, smc=smc)
    first = items[0].split()[0] if isinstance(items[0], str) else None
    if first not in UNTRANSLATED + UNTRANSLATED_UNARY + ["rdinstret"] and not (first == "csrr" and "vlenb" not in items[0]):
        assert m.translation["blocks"] >= 1   # a run's first block is entered translated
    return t, run(items, "interpret", budget, seeds, regs, smc=smc)


@pytest.fixture
def every_block(monkeypatch):
    """Translate each block on its first entry."""
    monkeypatch.setenv("RVAI_JIT_HOT", "0")


@settings(max_examples=200)
@given(items=program(), budget=st.one_of(st.integers(1, 3000), st.just(10**6)),
       seeds=st.binary(min_size=64, max_size=64), regs=st.lists(value, min_size=6, max_size=6))
def test_random_programs_match_the_interpreter(items, budget, seeds, regs):
    t, i = both_tiers(items, budget, seeds, regs)
    assert t == i


@pytest.mark.parametrize("op", sorted(FORMS))
@settings(max_examples=20)
@given(data=st.data(), budget=st.one_of(st.integers(1, 3000), st.just(10**6)),
       seeds=st.binary(min_size=64, max_size=64), regs=st.lists(value, min_size=6, max_size=6))
def test_each_translated_op_matches_the_interpreter(op, data, budget, seeds, regs):
    """Random programs where op is every other instruction: a wrong result
    of any one translated op shows (the general test above draws each rarely)."""
    t, i = both_tiers(data.draw(program(focus=op)), budget, seeds, regs)
    assert t == i


@settings(max_examples=60)
@given(items=program(smc=True), budget=st.one_of(st.integers(1, 3000), st.just(10**6)),
       seeds=st.binary(min_size=64, max_size=64), regs=st.lists(value, min_size=6, max_size=6))
def test_random_self_modifying_programs_match_the_interpreter(items, budget, seeds, regs):
    """Stores into the code (rwx here) rewrite instructions of blocks already
    translated, the running one included."""
    t, i = both_tiers(items, budget, seeds, regs, smc=True)
    assert t == i


# Vector instructions: the ones a block computes inline (jit_ir.VINLINE), others it
# hands to jit_vec, and configuration; groups at v0/v8/v16/v24 are aligned for
# every LMUL, the odd ones are not (illegal past LMUL 1: the stop must match too).
VINT = [f"{op}.{form}" for op in ("vadd", "vsub", "vand", "vor", "vxor", "vmul") for form in ("vv", "vx", "vi")
        if not (op in ("vsub", "vmul") and form == "vi")]
VREG = st.sampled_from(["v8", "v16", "v24"] * 8 + ["v0", "v1", "v9"])
SEW_LMUL = st.sampled_from(["e8", "e16", "e32", "e64"]), st.sampled_from(["m1", "m2", "m4", "m8"] * 3 + ["mf2"])


@st.composite
def vector_instruction(draw, index, length):
    """A vector instruction, or (one time in three) a scalar one."""
    kind = draw(st.sampled_from(["int"] * 6 + ["other", "config", "mem", "scalar", "scalar", "scalar"]))
    vd, vs2, vs1, x = draw(VREG), draw(VREG), draw(VREG), draw(reg)
    if kind == "scalar":
        return draw(instruction(index, length))   # (items)
    if kind == "int":
        name = draw(st.sampled_from(VINT))
        form = name.split(".")[1]
        last = {"vv": vs1, "vx": x, "vi": str(draw(st.integers(-16, 15)))}[form]
        return f"{name} {vd}, {vs2}, {last}" + draw(st.sampled_from(["", "", "", ", v0.t"]))
    if kind == "config":
        sew, lmul = draw(SEW_LMUL[0]), draw(SEW_LMUL[1])
        pol = draw(st.sampled_from(["ta, ma", "tu, mu", "ta, mu"]))
        return draw(st.sampled_from([f"vsetvli t1, {x}, {sew}, {lmul}, {pol}", f"vsetvli t1, zero, {sew}, {lmul}, {pol}",
                                     f"vsetivli t1, {draw(st.integers(0, 31))}, {sew}, {lmul}, {pol}"]))
    if kind == "mem":
        width = draw(st.sampled_from(["8", "16", "32", "64"]))
        base = draw(st.sampled_from(["s0"] * 5 + ["s1", "s3"]))   # s3: the group crosses into unmapped memory
        return f"{draw(st.sampled_from(['vle', 'vse']))}{width}.v {vd}, ({base})" + \
            draw(st.sampled_from(["", "", "", ", v0.t"]))
    return draw(st.sampled_from([f"vmin.vv {vd}, {vs2}, {vs1}", f"vredsum.vs {vd}, {vs2}, {vs1}",
                                 f"vmerge.vvm {vd}, {vs2}, {vs1}, v0", f"vslidedown.vi {vd}, {vs2}, 3",
                                 f"vmseq.vv {vd}, {vs2}, {vs1}", f"vmv.x.s {x}, {vs2}", f"vcpop.m {x}, {vs2}",
                                 f"vfadd.vv {vd}, {vs2}, {vs1}", f"vfmacc.vf {vd}, fa0, {vs2}",
                                 f"vfmacc.vf {vd}, fa1, {vs2}",   # fa1: what flw/fmv.w.x (scalar) put there
                                 f"vmv.v.x {vd}, {x}"]))


@st.composite
def vector_program(draw):
    length = draw(st.integers(1, 30))
    sew, lmul = draw(SEW_LMUL[0]), draw(SEW_LMUL[1])
    # the data page into both TLBs first (a scalar load and store), so that unit-stride accesses find it there
    head = ["ld t2, 0(s0)", "sd t2, 0(s0)", draw(st.sampled_from([f"vsetvli t1, zero, {sew}, {lmul}, ta, ma",
                                                                 f"vsetvli t1, a2, {sew}, {lmul}, tu, mu"]))]
    items = head
    while len(items) < length + 3:
        x = draw(vector_instruction(len(items), length + 3))
        items += x if isinstance(x, list) else [x]
    return items + ["ebreak"]


def vector_run(lines, tier, budget, seeds, vlen):
    """run() of a vector program: also every vector register, vl, vtype and fflags."""
    m = Machine(vlen=vlen, tier=tier)
    for i in range(32):
        m.v(i, (seeds * (vlen // 8))[(i * 7) % 64:][:vlen // 8])
    m.f(10, 0x3FC00000 | 0xFFFFFFFF00000000)   # fa0 = 1.5f, NaN-boxed
    out = run(lines, tier, budget, seeds, machine=m)
    out["v"] = [m.v(i) for i in range(32)]
    out["vcsr"] = [m.csr(c) for c in (0xC20, 0xC21, 0x001, 0x008)]   # vl, vtype, fflags, vstart
    out["translated"] = m.translation["blocks"] if m.translation else None
    return out


@settings(max_examples=150)
@given(lines=vector_program(), budget=st.integers(1, 2000), seeds=st.binary(min_size=64, max_size=64),
       vlen=st.sampled_from([128, 256, 512]))
def test_random_vector_programs_match_the_interpreter(lines, budget, seeds, vlen):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVAI_JIT_HOT", "0")
        t = vector_run(lines, "translate", budget, seeds, vlen)
        i = vector_run(lines, "interpret", budget, seeds, vlen)
    if budget >= len(lines):   # its first block (every instruction here is translatable) ran translated
        assert t["translated"] >= 1
    t.pop("translated"), i.pop("translated")
    assert t == i


@pytest.mark.parametrize("vlen", [128, 256])
@pytest.mark.parametrize("avl", [3, 1000])
@pytest.mark.parametrize("budget", [40, 10**6])
def test_a_loop_of_inline_vector_ops_matches_with_its_vtype_tested_once(every_block, vlen, avl, budget):
    """The loop's block holds only inline vector ops, so it tests vtype, vl and
    vstart once per entry: with vl = VLMAX (avl 1000) they run inline, with
    vl < VLMAX (avl 3) every one goes to jit_vec, in both cases as interpreted."""
    lines = ["li a0, 50", f"li a2, {avl}", "vsetvli t1, a2, e32, m1, tu, mu", "vadd.vv v8, v8, v16",
             "vxor.vv v16, v16, v8", "vmul.vx v24, v8, a0", "addi a0, a0, -1", "bnez a0, -16", "ebreak"]
    seeds = bytes(range(64))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVAI_JIT_HOT", "0")
        t = vector_run(lines, "translate", budget, seeds, vlen)
    i = vector_run(lines, "interpret", budget, seeds, vlen)
    assert t.pop("translated") >= 1
    i.pop("translated")
    assert t == i


# vtype values (vsetvl's rs2): e32 m1 and e16 m1, tail and mask undisturbed
E32M1, E16M1 = 0x10, 0x08


@pytest.mark.parametrize("body", [["vadd.vv v8, v8, v16", "vxor.vv v16, v16, v8", "vmul.vx v24, v8, a0"],
                                  ["vle32.v v8, (s0)", "vadd.vv v8, v8, v16", "vse32.v v8, (s0)"]])
@pytest.mark.parametrize("first,second", [((1000, E32M1), (1000, E32M1)), ((1000, E32M1), (3, E32M1)),
                                          ((1000, E32M1), (1000, E16M1)), ((3, E32M1), (1000, E32M1)),
                                          ((3, E32M1), (3, E32M1))])
def test_a_loop_of_inline_vector_ops_entered_under_another_vtype(every_block, first, second, body):
    """The loop's block is translated at its first entry (reached through a
    jalr, so not with its predecessor, under the machine's vtype then), and
    entered again under the ``second`` (avl, vtype): one test at entry picks
    the copy of its body without tests (the vtype it was translated for,
    vl = VLMAX) or the one where jit_vec runs every op; both as interpreted.
    A unit-stride access (the TLB primed) calls jit_vec from both copies."""
    (avl1, vt1), (avl2, vt2) = first, second
    lines = ["ld t2, 0(s0)", "sd t2, 0(s0)", f"li a2, {avl1}", f"li a4, {vt1}", "li s2, 2",
             "vsetvl t1, a2, a4", "li a0, 20", "auipc t2, 0", "jalr zero, 8(t2)",   # the outer loop
             *body,   # the inner loop's block
             "addi a0, a0, -1", "bnez a0, -16",
             f"li a2, {avl2}", f"li a4, {vt2}", "addi s2, s2, -1", "bnez s2, -52", "ebreak"]
    seeds = bytes(range(64))
    for budget in (10**6, 111):
        t = vector_run(lines, "translate", budget, seeds, 128)
        i = vector_run(lines, "interpret", budget, seeds, 128)
        assert t.pop("translated") >= 2
        i.pop("translated")
        assert t == i


@pytest.mark.parametrize("vlen", [128, 256])
@pytest.mark.parametrize("sew,lmul", [("e32", "m1"), ("e8", "m8"), ("e64", "m2")])
@pytest.mark.parametrize("base", ["s0", "s3", "s4"])
def test_a_loop_of_unit_stride_accesses_matches(every_block, vlen, sew, lmul, base):
    """vle/vadd/vse in a loop, all inline under the block's vtype (the TLB
    primed by a scalar load and store): through s0 in the data page, moving
    on by 8 bytes a pass; through s3 the group crosses into unmapped memory
    (a fault part way, vstart set); through s4 the load reads the code and
    the store faults (the code page is read-only)."""
    lines = ["ld t2, 0(s0)", "sd t2, 0(s0)", "li a0, 40", f"vsetvli t1, zero, {sew}, {lmul}, ta, ma",
             f"vle{sew[1:]}.v v8, ({base})", "vadd.vv v8, v8, v16", f"vse{sew[1:]}.v v8, ({base})",
             f"addi {base}, {base}, 8", "addi a0, a0, -1", "bnez a0, -20", "ebreak"]
    seeds = bytes(range(64))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVAI_JIT_HOT", "0")
        t = vector_run(lines, "translate", 10**6, seeds, vlen)
    i = vector_run(lines, "interpret", 10**6, seeds, vlen)
    assert t.pop("translated") >= 1
    i.pop("translated")
    assert t == i
    assert (t["stop"][0] == "LoadFault") == (base == "s3")


LOOP = ["li a0, 0", "li a1, 1000", "addi a0, a0, 3", "xori a2, a0, 5", "sd a2, 0(s0)", "ld a3, 0(s0)",
        "add a0, a0, a3", "addi a1, a1, -1", "bnez a1, -24", "ebreak"]


@pytest.mark.parametrize("budget", [1, 2, 6, 7, 8, 13, 5000, 5003, 6001, 100000])
def test_budget_stops_at_the_same_instruction_in_a_looping_block(every_block, budget):
    seeds = bytes(64)
    assert run(LOOP, "translate", budget, seeds) == run(LOOP, "interpret", budget, seeds)


def test_fault_in_the_middle_of_a_block_has_the_pc_of_the_faulting_load(every_block):
    lines = ["li a0, 7", "li a1, 100", "addi a0, a0, 1", "addi a1, a1, -1", "bnez a1, -8",
             "addi a2, a0, 1", "sd a2, 0(s0)", "ld a3, 8(s1)", "addi a3, a3, 1", "ebreak"]
    t, i = run(lines, "translate", 10_000, bytes(64)), run(lines, "interpret", 10_000, bytes(64))
    assert t == i
    assert t["stop"][0] == "LoadFault" and t["pc"] == CODE + 7 * 4   # the ld, not retired
    assert t["instret"] == 2 + 300 + 2 and t["x"][13] == 0


# Scalar ops around a partial exit's access in the loop below (none writes
# a1, s0 or s3, the loop's count and bases).
FILLER = ["addi a0, a0, 3", "xor a2, a2, a0", "slli t0, a0, 2", "add t1, t1, t0", "mulw a0, a0, a2",
          "sd a0, 8(s5)", "ld t1, 16(s5)", "lw a3, 24(s5)", "sub a2, a2, t1"]


@st.composite
def partial_exit_loop(draw):
    """A loop whose block leaves part way through some pass: its access
    through s0 walks 8 bytes a pass towards the data page's end and faults
    on the first pass past it (after ``passes`` whole ones, looped in place),
    unless the count in a1 or the budget ends the run first; the access is a
    scalar load or store, or a unit-stride vector one (VLEN 128, m1: 16
    bytes, so it faults on the pass before too, half in the page)."""
    passes = draw(st.integers(1, 255))
    access = draw(st.sampled_from(["ld a3, 0(s0)", "sd a2, 0(s0)", "lw a3, 4(s0)", "sb a0, 7(s0)",
                                   "vle32.v v8, (s0)", "vse32.v v8, (s0)"]))
    before = draw(st.lists(st.sampled_from(FILLER), max_size=6))
    after = draw(st.lists(st.sampled_from(FILLER), max_size=6))
    body = [*before, access, *after, "addi s0, s0, 8", "addi a1, a1, -1"]
    return ["ld t2, 0(s0)", "sd t2, 0(s0)", "vsetvli t1, zero, e32, m1, ta, ma",   # both TLBs hold the page
            f"addi s0, s3, {-8 * (passes - 1)}", f"li a1, {draw(st.integers(1, 300))}",
            *body, f"bnez a1, {-4 * len(body)}", "ebreak"]


@settings(max_examples=150)
@given(lines=partial_exit_loop(), budget=st.one_of(st.integers(1, 4000), st.just(10**6)),
       seeds=st.binary(min_size=64, max_size=64))
def test_a_partial_exit_after_passes_looped_in_place_counts_as_interpreted(lines, budget, seeds):
    """A block that faults part way through a pass after looping in place
    counts its whole passes and the instructions of the last one before the
    fault (csrc/jit.c's jit_part): instret, per-op counts, pc, registers
    and memory as interpreted, and so does a budget stop between passes."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVAI_JIT_HOT", "0")
        t = vector_run(lines, "translate", budget, seeds, 128)
    i = vector_run(lines, "interpret", budget, seeds, 128)
    assert t.pop("translated") >= 1
    i.pop("translated")
    assert t == i


def test_self_modifying_code_invalidates_a_translated_block(every_block):
    """The loop rewrites its own `addi a0, a0, 1` into `addi a0, a0, 100` half
    way through: the rest of the iterations must add 100."""
    new = assemble("addi a0, a0, 100")
    lines = ["li a0, 0", "li a1, 10", f"li a2, {new & 0x7ff}", f"lui a3, {(new + 0x800) >> 12}",
             "add a3, a3, a2", "li a4, 5", "auipc a5, 0",
             "addi a0, a0, 1",              # +28: the instruction rewritten
             "addi a1, a1, -1",
             "bne a1, a4, 8", "sw a3, 4(a5)",   # at a1 == 5: store over +28 (a5 = +24)
             "bnez a1, -16", "ebreak"]
    results = []
    for tier in ("translate", "interpret"):
        m = Machine(vlen=128, tier=tier)
        load_program(m, lines)
        m.protect(CODE, 4096, "rwx")
        m.pc = CODE
        with pytest.raises(EmulatorError):
            m.resume(budget=10_000)
        results.append((m.x(10), m.instret, m.pc))
    assert results[0] == results[1]
    assert results[0][0] == 5 * 1 + 5 * 100


@pytest.mark.parametrize("tier", ["interpret", "translate"])
def test_a_store_that_rewrites_itself_moves_pc_past_it(every_block, tier):
    """The stored word replaces the store itself: execution goes on after it
    (the interpreter once read the cleared slot's length, 0, and ran the new
    instruction at the same pc)."""
    word = assemble("addi a0, a0, 100")
    lines = [f"lui t3, {(word + 0x800) >> 12 & 0xFFFFF}", f"addiw t3, t3, {(word & 0xFFF) - ((word & 0x800) << 1)}",
             "sw t3, 8(s4)", "addi a1, a1, 1", "ebreak"]
    m = Machine(vlen=128, tier=tier)
    load_program(m, lines)
    m.protect(CODE, 4096, "rwx")
    m.x(20, CODE)
    m.pc = CODE
    with pytest.raises(EmulatorError, match="ebreak|breakpoint"):
        m.resume(budget=100)
    assert (m.x(10), m.x(11), m.instret, m.pc) == (0, 1, 4, CODE + 16)
    assert int(m.read(CODE + 8, np.uint32, 1)[0]) == word


def interrupted_loop(stopper=None) -> Machine:
    """A translating machine that ran `addi a0, a0, 1; j -4` until
    interrupted (``stopper(m)``, run on another thread, calls m.interrupt;
    by default after 0.3 s): its state counts two instructions a pass."""
    m = Machine(vlen=128, tier="translate")
    load_program(m, ["addi a0, a0, 1", "j -4"])
    m.pc = CODE
    threading.Thread(target=stopper or (lambda m: threading.Timer(0.3, m.interrupt).start()), args=(m,)).start()
    with pytest.raises(EmulatorError, match="nterrupt"):
        m.resume(budget=1 << 60, timeout=60)
    assert m.x(10) == m.instret // 2 > 0
    return m


def test_interrupt_stops_a_translated_loop(every_block):
    interrupted_loop()


def test_translating_every_block_is_kept_out_of_the_time_limit(every_block, monkeypatch):
    """With every block translated at its first entry (--tier=translate), the
    time spent translating does not count against a run's wall-time limit:
    a short loop whose compile takes longer than its limit returns (timed
    kernels' hundreds of blocks took longer to translate than a kernel
    call's 60 s on a loaded host, and failed the suite); an endless loop
    still stops on it."""
    compile_blocks = jit_llvm.compile_blocks

    def slow(*args, **kwargs):
        time.sleep(0.5)
        return compile_blocks(*args, **kwargs)

    monkeypatch.setattr(jit_llvm, "compile_blocks", slow)
    m = Machine(vlen=128, tier="translate")
    # 2**20 passes: the loop looks at the limit every RV_RUN_SLICE instructions, so it does after the compile
    load_program(m, ["lui a1, 256", "addi a0, a0, 1", "addi a1, a1, -1", "bne a1, zero, -8", "ret"])
    assert m.call(CODE, 5, timeout=0.3) == 5 + 2**20
    assert m.translation["seconds"] > 0.3 and m.translation["blocks"] >= 2
    m = Machine(vlen=128, tier="translate")
    load_program(m, ["addi a0, a0, 1", "j -4"])
    with pytest.raises(EmulatorError, match="wall-time limit"):
        m.call(CODE, timeout=0.3)


def test_translating_every_block_compiles_only_the_blocks_that_run(every_block):
    """With every block translated at its first entry, a block is compiled
    when it is first entered, not beforehand with a block that may go to it:
    the branch's path not taken is never compiled (a timed attention kernel
    compiled 612-854 blocks, of which 281-346 ran)."""
    m = Machine(vlen=128, tier="translate")
    load_program(m, ["beq a0, zero, 12", "addi a0, a0, 1", "ret", "addi a0, a0, 100", "ret"])
    assert m.call(CODE, 5) == 6
    assert m._translator.installed == {CODE, CODE + 4} and m.translation["blocks"] == 2


def test_a_full_engine_is_left_for_a_fresh_one(every_block, monkeypatch):
    """Once the engine of a codegen level holds ENGINE_BLOCKS of it, new
    blocks go to a fresh engine (the old one freed with its last machine:
    what LLVM keeps stays bounded); the run's result is unchanged."""
    monkeypatch.setitem(jit_llvm.ENGINE_BLOCKS, 0, 1)
    m = Machine(vlen=128, tier="translate")
    load_program(m, ["beq a0, zero, 12", "addi a0, a0, 1", "ret", "addi a0, a0, 100", "ret"])
    assert m.call(CODE, 5) == 6 and m.call(CODE, 0) == 100
    assert m.translation["blocks"] == 3 and len(m._translator.engines) == 3


def chain(n: int, salt: int) -> list[str]:
    """A program of n blocks, each a few ops on constants of its own (``salt``
    makes another program's blocks differ) and a jump to the next; a0 is
    returned: a0 + the sum of the constants."""
    lines = []
    for b in range(n):
        lines += [f"addi a0, a0, {(7 * salt + b) % 2000 + 1}", "jal zero, 4"]
    return lines + ["jalr zero, 0(ra)"]


def test_a_dropped_machine_frees_its_translator_at_once(every_block):
    """A machine dropped frees its translator (and with it the guest memory
    and the engines its blocks are in) when its last reference goes, not at
    some later full collection: nothing of the tier refers back to it."""
    import gc
    import weakref
    gc.collect()
    gc.disable()
    try:
        gone = []
        for salt in range(3):
            m = Machine(vlen=128, tier="translate")
            load_program(m, chain(4, salt))
            assert m.call(CODE, 1) == 1 + sum((7 * salt + b) % 2000 + 1 for b in range(4))
            gone.append(weakref.ref(m._translator))
            del m
        assert [ref() for ref in gone] == [None] * 3
    finally:
        gc.enable()


def test_compiles_keep_no_ir_and_share_one_pass_manager(every_block, empty_engines, monkeypatch):
    """Each translated module's IR is freed once its code is loaded (MCJIT
    would keep it as long as the engine), and _optimise's pass manager and
    pass builder are made once, not per module (LLVM kept ~5 KB of each pair
    made and disposed; one manager a codegen level): what a process of many
    short runs keeps stays bounded."""
    llvm = jit_llvm.llvm
    parsed, made = [], []
    parse, new_pm, new_pb = llvm.parse_assembly, llvm.create_new_module_pass_manager, llvm.create_pass_builder
    monkeypatch.setattr(llvm, "parse_assembly", lambda text, *a: parsed.append((text, parse(text, *a))) or parsed[-1][1])
    monkeypatch.setattr(llvm, "create_new_module_pass_manager", lambda: made.append("pm") or new_pm())
    monkeypatch.setattr(llvm, "create_pass_builder", lambda *a: made.append("pb") or new_pb(*a))
    monkeypatch.setattr(jit_llvm, "_PASSES", None)
    for salt in range(3):
        m = Machine(vlen=128, tier="translate")
        load_program(m, chain(4, 100 + salt))
        m.call(CODE, 0)
    modules = [mod for text, mod in parsed if "define " in text]   # not an engine's empty first module
    assert len(modules) >= 12 and all(mod.closed for mod in modules)
    assert sorted(made) == ["pb", "pm", "pm"]


@pytest.mark.parametrize("opt, passes", [(1, ["sroa", "instruction_combine", "simplify_cfg", "jump_threading"]),
                                         (0, ["sroa"])])
def test_the_shared_pass_manager_gives_what_a_fresh_one_does(every_block, empty_engines, monkeypatch, opt, passes):
    """_optimise's one pass manager of codegen level ``opt``, run on module
    after module, leaves each module's IR and object code bit-equal to a
    fresh manager's of ``passes`` (d84be44 made one per module): the
    production tier's full pipeline at -O1, sroa alone at the forced tier's
    -O0 (tc58)."""
    llvm = jit_llvm.llvm
    texts = []
    parse = llvm.parse_assembly
    monkeypatch.setattr(llvm, "parse_assembly", lambda text, *a: texts.append(text) or parse(text, *a))
    m = Machine(vlen=128, tier="translate", timed=True)
    load_program(m, chain(3, 200))
    m.call(CODE, 0)
    m = Machine(vlen=128, tier="translate")
    run(LOOP, "translate", 10**6, bytes(64), machine=m)
    texts = [t for t in texts if "define " in t]
    tm = jit_llvm.host_target_machine(opt)
    assert len(texts) >= 5
    for text in texts:
        fresh, shared = parse(text), parse(text)
        pm = llvm.create_new_module_pass_manager()
        for name in passes:
            getattr(pm, f"add_{name}_pass")()
        pm.run(fresh, llvm.create_pass_builder(jit_llvm.host_target_machine(),
                                              llvm.create_pipeline_tuning_options(speed_level=1)))
        jit_llvm._optimise(shared, opt)
        assert str(shared) == str(fresh) and tm.emit_object(shared) == tm.emit_object(fresh)


def test_tier_is_checked():
    with pytest.raises(ValueError, match="tier"):
        Machine(tier="fast")


def test_the_default_tier_translates_a_hot_loop_and_ends_as_the_interpreter(monkeypatch):
    # A machine that names no tier (nor RVAI_TIER) translates the loop once it has run
    # about DEFAULT_HOT of its instructions (~7M here: 1,024,000 passes of 7), and every
    # observable ends as the interpreter's; RVAI_TIER=interpret interprets all of it.
    monkeypatch.delenv("RVAI_TIER", raising=False)
    monkeypatch.delenv("RVAI_JIT_HOT", raising=False)   # the suite's --tier=translate sets both
    lines = ["li a0, 0", "lui a1, 250"] + LOOP[2:]
    m = Machine(vlen=128)
    assert run(lines, None, 10**8, bytes(64), machine=m) == run(lines, "interpret", 10**8, bytes(64))
    assert m.tier == "translate" and m.translation["blocks"] >= 1 and 0 < m.translation["ran"] < m.instret
    monkeypatch.setenv("RVAI_TIER", "interpret")
    assert Machine(vlen=128).translation is None


def test_translation_counts_what_the_tier_did(every_block):
    assert Machine(tier="interpret").translation is None
    m = Machine(vlen=128, tier="translate")
    assert m.translation == {"blocks": 0, "cached": 0, "held": 0, "seconds": 0.0, "background_seconds": 0.0, "pending": 0,
                             "stale": 0, "vfp_calls": 0, "ran": 0}
    run(LOOP, "translate", 10**6, bytes(64), machine=m)
    t = m.translation
    assert t["blocks"] >= 2 and t["cached"] == 0 and t["seconds"] > 0   # the loop and its body
    assert t["ran"] == m.instret   # every instruction retired in a block translated at its first entry (not the ebreak)


@pytest.mark.parametrize("quantum", [1, 3, 5, 7, 100])
def test_harts_interleave_the_same_in_both_tiers(every_block, quantum):
    """Two harts increment one word with lw/addi/sw (a race whose outcome
    depends on where every quantum ends): both tiers lose the same updates."""
    body = ["lw t0, 0(a1)", "addi t0, t0, 1", "sw t0, 0(a1)", "addi a0, a0, -1", "bne a0, zero, -16",
            "jalr zero, 0(ra)"]
    results = []
    for tier in ("translate", "interpret"):
        m = Machine(vlen=128, harts=2, quantum=quantum, tier=tier)
        m.map(CODE, 4096, "rx")
        m.write(CODE, np.array([assemble(t) for t in body], np.uint32))
        word = m.alloc(np.zeros(1, np.uint32))
        m.call_threads(CODE, [(1000, word)] * 3)
        results.append((int(m.read(word, np.uint32, 1)[0]), m.instret, m.hart_cycles(),
                        [t["instret"] for t in m.threads()], m.op_counts()))
        if tier == "translate":
            assert m.translation["blocks"] >= 1
    assert results[0] == results[1]


# The qemu differential programs in the translating tier, every block translated
# at its first entry (the rest of the suite runs them interpreted; the whole
# suite runs in this tier with `pytest --tier=translate`).
from test_qemu_programs import ENV, built, needs_fd, needs_tools, qemu  # noqa: E402,F401 (built: a fixture)
from test_qemu_rvv import kernels, outputs  # noqa: E402,F401 (kernels: a fixture)


@needs_tools
@needs_fd
@pytest.mark.parametrize("name,args", [("crc32", ["777"]), ("sort_strings", []), ("numeric", []),
                                       ("freestanding", ["a", "b c"])])
def test_qemu_programs_match_in_the_translating_tier(every_block, built, name, args):
    exe = built[name, "rv64gc"]
    m = Machine(vlen=128, tier="translate")
    r = m.run([str(exe), *args], env=ENV, budget=2_000_000_000)
    assert (r.stdout, r.stderr, r.exit_code) == qemu(exe, args, b"")
    assert m.translation["blocks"] > 10


@pytest.mark.parametrize("vlen", [128, 512])
def test_qemu_rvv_kernels_match_in_the_translating_tier(every_block, monkeypatch, kernels, vlen):
    monkeypatch.setenv("RVAI_TIER", "translate")
    want, got = outputs(kernels, vlen)
    assert got == want


@pytest.mark.parametrize("vector", [True, False])
def test_a_vector_integer_loop_turns_hot_sooner(empty_engines, monkeypatch, vector):
    """Hotness counts a vector integer op as translate.VEC_INT_WEIGHT
    instructions (its loop saves that much more once translated): at a
    threshold of 300 passes of the loop below with its eight vadds weighed
    so, 1000 passes translate it; the same loop with scalar adds, weighing
    10 a pass, is not due before 1020, asked at 1200 (the loop asks every
    translate.ASK_EVERY entries)."""
    from rvai.emu.translate import VEC_INT_WEIGHT
    monkeypatch.setenv("RVAI_JIT_HOT", str(300 * (8 * VEC_INT_WEIGHT + 2)))
    op = "vadd.vv v8, v8, v16" if vector else "add a1, a1, a2"
    lines = ["li a0, 1000", "vsetvli t1, zero, e32, m1, ta, ma", *[op] * 8, "addi a0, a0, -1", "bnez a0, -36",
             "ebreak"]
    m = Machine(vlen=128, tier="translate")
    load_program(m, lines)
    m.pc = CODE
    with pytest.raises(EmulatorError, match="ebreak|breakpoint"):
        m.resume(budget=10**6)
    assert m.translation["blocks"] == (1 if vector else 0)


def cached_run(items, monkeypatch):
    """run() of ``items`` in the translating tier (every block at its first
    entry) with an empty in-process engine, so that its blocks are compiled
    or loaded from the object cache, not found in memory: (every
    observable, Machine.translation)."""
    monkeypatch.setattr(jit_llvm, "_engines", {})
    m = Machine(vlen=128, tier="translate")
    return run(items, "translate", 10**6, bytes(64), machine=m), m.translation


@pytest.fixture
def object_cache(tmp_path, monkeypatch):
    """An object cache of translated code in tmp_path, every block translated
    at its first entry: the fill(items, timed=False) function, which runs
    ``items`` in another process (other host addresses: ASLR; another
    PYTHONHASHSEED) and returns the files it kept."""
    monkeypatch.setenv("RVAI_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("RVAI_JIT_CACHE", "1")
    monkeypatch.setenv("RVAI_JIT_HOT", "0")

    seed = os.environ.get("PYTHONHASHSEED", "")
    other_seed = str(int(seed) + 1) if seed.isdigit() else "1"   # not this process's (random when unset)

    def fill(items, timed=False):
        script = tmp_path / "fill.py"
        script.write_text(f"from test_translate import Machine, run\n"
                          f"m = Machine(vlen=128, tier='translate', timed={timed})\n"
                          f"run({items!r}, 'translate', 10**6, bytes(64), machine=m)\n")
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent), PYTHONHASHSEED=other_seed)
        subprocess.run([sys.executable, str(script)], env=env, check=True, capture_output=True)
        return sorted((tmp_path / "translated").glob("*.o"))
    return fill


def test_blocks_compiled_by_another_process_are_loaded_from_the_object_cache(object_cache, monkeypatch):
    """The object code another process kept (the IR names the C helpers, so
    it holds no address of that process) runs here as compiled code does,
    without passes or codegen; a block whose code differs is compiled."""
    assert object_cache(LOOP)
    got, stats = cached_run(LOOP, monkeypatch)
    assert stats["blocks"] >= 2 and stats["cached"] == stats["blocks"]
    assert got == run(LOOP, "interpret", 10**6, bytes(64))
    other = [line.replace("addi a0, a0, 3", "addi a0, a0, 4") for line in LOOP]
    got, stats = cached_run(other, monkeypatch)
    assert stats["cached"] < stats["blocks"]   # (a block without the addi may be found)
    assert got == run(other, "interpret", 10**6, bytes(64))


def test_timed_blocks_compiled_by_another_process_are_loaded_from_the_object_cache(object_cache, monkeypatch):
    """So are a timed machine's: its blocks' keys hash the same in every
    process, so their functions' names do, and their modules' digests (before
    tc58 a str in the key named them differently in each process: never
    found), and they count and time as compiled ones do."""
    assert object_cache(LOOP, timed=True)
    monkeypatch.setattr(jit_llvm, "_engines", {})
    m = Machine(vlen=128, tier="translate", timed=True)
    got = run(LOOP, "translate", 10**6, bytes(64), machine=m)
    assert m.translation["blocks"] >= 2 and m.translation["cached"] == m.translation["blocks"]
    ref = Machine(vlen=128, tier="interpret", timed=True)
    assert got == run(LOOP, "interpret", 10**6, bytes(64), machine=ref) and m.cycles == ref.cycles


def test_a_damaged_object_in_the_cache_is_compiled_again(object_cache, monkeypatch):
    """A cached object that is not whole (LLVM could abort the process on
    it) is not loaded: its blocks are compiled and kept again."""
    for f in object_cache(LOOP):
        data = f.read_bytes()
        f.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    got, stats = cached_run(LOOP, monkeypatch)
    assert stats["blocks"] >= 2 and stats["cached"] == 0
    assert got == run(LOOP, "interpret", 10**6, bytes(64))
    assert cached_run(LOOP, monkeypatch)[1]["cached"] == stats["blocks"]   # kept whole again


def test_blocks_whose_keys_hash_alike_get_functions_of_their_own(every_block, monkeypatch):
    """Block functions are named by their key's hash; keys that clash (hash(-1) ==
    hash(-2) in CPython) still name distinct functions, each running its own block."""
    assert hash((-1,)) == hash((-2,))
    clashing = {}
    real_key = jit_llvm.key
    monkeypatch.setattr(jit_llvm, "key", lambda b: clashing.setdefault(real_key(b), (-1 - len(clashing),)))
    monkeypatch.setattr(jit_llvm, "_engines", {})
    got = run(LOOP, "translate", 10**6, bytes(64))
    assert len(clashing) >= 2 and got == run(LOOP, "interpret", 10**6, bytes(64))


def test_an_object_loaded_from_the_cache_is_marked_used(object_cache, monkeypatch):
    """A loaded object is the cache's most recently used entry (rvai.diskcache trims the
    least recently used first), as a freshly written one is."""
    files = object_cache(LOOP)
    for f in files:
        os.utime(f, (10**9, 10**9))
    assert cached_run(LOOP, monkeypatch)[1]["cached"] >= 2
    assert all(f.stat().st_mtime > 10**9 + 10**8 for f in files)


def test_no_object_cache_when_switched_off(object_cache, tmp_path, monkeypatch):
    """RVAI_JIT_CACHE=0 (the test suite's default) writes and reads none."""
    monkeypatch.setenv("RVAI_JIT_CACHE", "0")
    cached_run(LOOP, monkeypatch)
    assert not (tmp_path / "translated").exists()


@st.composite
def steady_loop(draw, smc=False):
    """A loop run s2 times (run's ``passes``), then ebreak, whose body of
    1-12 instructions neither faults nor leaves it: integer ops on the
    registers run() seeds, aligned accesses through s0 into the data page;
    with ``smc`` the loop also stores an instruction word (an addi, made
    before it in t3) over one of its own ops each pass."""
    ops = sorted(n for n, f in FORMS.items() if f in ("rr", "imm12", "shamt64", "upper"))
    sizes = {"ld": 8, "lw": 4, "lwu": 4, "lh": 2, "lhu": 2, "lb": 1, "lbu": 1, "sd": 8, "sw": 4, "sh": 2, "sb": 1}
    regs = st.sampled_from(["a0", "a1", "a2", "a3", "t0", "t1"])
    body = []
    for _ in range(draw(st.integers(1, 12))):
        rd, rs1, rs2 = draw(regs), draw(regs), draw(regs)
        if draw(st.integers(0, 2)) == 0:
            name = draw(st.sampled_from(sorted(sizes)))
            off = sizes[name] * draw(st.integers(0, 2040 // sizes[name]))
            body.append(f"{name} {rs2 if name[0] == 's' else rd}, {off}(s0)")
            continue
        name = draw(st.sampled_from(ops))
        form = FORMS[name]
        body.append(f"{name} {rd}, {rs1}, {rs2}" if form == "rr" else f"{name} {rd}, {rs1}, {draw(imm12)}"
                    if form == "imm12" else f"{name} {rd}, {rs1}, {draw(st.integers(0, 63))}"
                    if form == "shamt64" else f"{name} {rd}, {draw(st.integers(0, 0xFFFFF))}")
    head = []
    if smc:   # t3 = the word of an addi; stored over body instruction k (s4 is CODE)
        word = assemble(f"addi {draw(regs)}, {draw(regs)}, {draw(imm12)}")
        k = draw(st.integers(0, len(body) - 1))
        head = [f"lui t3, {(word + 0x800) >> 12 & 0xFFFFF}", f"addi t3, t3, {(word & 0xFFF) - ((word & 0x800) << 1)}"]
        body.insert(draw(st.integers(0, len(body))), f"sw t3, {4 * (len(head) + k)}(s4)")
    return head + body + ["addi s2, s2, -1", ("to", "bne s2, zero, {off}", len(head), len(head) + len(body) + 1),
                          "ebreak"]


def warm_pair(first, second, budget, seeds, regs=(), passes=300, then=()):
    """Program ``first`` run in the translating tier in a process whose
    engine is empty, each block translated once entered ASK_EVERY times
    (RVAI_JIT_HOT=1); then ``second`` (at the same address) on a second
    machine whose blocks are never due: any block it runs translated is one
    the engine held; then each program of ``then`` written over it there by
    the host and run.  The code is mapped writable (run's ``smc``).  (the
    first machine, the second, every observable of each of its runs)."""
    with pytest.MonkeyPatch.context() as mp:   # (hypothesis examples run outside function-scoped fixtures)
        mp.setattr(jit_llvm, "_engines", {})
        mp.setenv("RVAI_JIT_HOT", "1")
        a = Machine(vlen=128, tier="translate")
        run(first, "translate", budget, seeds, regs, machine=a, smc=True, passes=passes)
        mp.setenv("RVAI_JIT_HOT", str(10**12))
        b = Machine(vlen=128, tier="translate")
        return a, b, [run(second, "translate", budget, seeds, regs, machine=b, smc=True, passes=passes)] + \
            [run(items, "translate", budget, seeds, regs, machine=b, passes=passes, again=True) for items in then]


@settings(max_examples=40, deadline=None)
@given(items=steady_loop(), budget=st.one_of(st.integers(1, 3000), st.just(10**6)),
       seeds=st.binary(min_size=64, max_size=64), regs=st.lists(value, min_size=6, max_size=6))
def test_a_second_machine_runs_the_held_blocks_from_its_first_ask(items, budget, seeds, regs):
    """A machine made when the process already holds a block's code
    installs it when first asked, long before it would be due, and every
    observable stays the interpreter's."""
    a, b, (got,) = warm_pair(items, items, budget, seeds, regs)
    assert got == run(items, "interpret", budget, seeds, regs, smc=True, passes=300)
    assert b.translation["blocks"] == b.translation["held"]
    # the same run: a block the first machine translated at its first ask is held at its first ask here
    assert bool(b.translation["held"]) == bool(a.translation["blocks"])


@settings(max_examples=40, deadline=None)
@given(data=st.data(), budget=st.one_of(st.integers(1, 3000), st.just(10**6)),
       seeds=st.binary(min_size=64, max_size=64), regs=st.lists(value, min_size=6, max_size=6))
def test_held_blocks_are_not_installed_over_other_code(data, budget, seeds, regs):
    """The second machine's code at the first one's blocks' pcs is another
    program or the same; then the host writes a third over it on that
    machine; then a loop rewriting its own code runs there: a held block is
    installed only where the instructions, decoded there and then, are the
    ones it was compiled from."""
    first = data.draw(steady_loop())
    second, third = (data.draw(st.one_of(st.just(first), steady_loop())) for _ in range(2))
    fourth = data.draw(steady_loop(smc=True))
    _, _, got = warm_pair(first, second, budget, seeds, regs, then=(third, fourth))
    ref = Machine(vlen=128, tier="interpret")
    want = [run(second, "interpret", budget, seeds, regs, machine=ref, smc=True, passes=300)]
    want += [run(items, "interpret", budget, seeds, regs, machine=ref, passes=300, again=True) for items in (third, fourth)]
    assert got == want


def test_a_held_loop_is_installed_at_its_first_ask():
    """The C loop first asks about a block after translate.ASK_EVERY
    entries; on a machine made when the process holds the block's code, it
    is installed then, though never due: its entries stop being counted there."""
    from rvai._rvemu import lib
    from rvai.emu.translate import ASK_EVERY
    seeds = bytes(64)
    _, b, got = warm_pair(LOOP, LOOP, 10**6, seeds)
    assert b.translation["held"] >= 1 and lib.rv_jit_entries(b._m, CODE + 8) == ASK_EVERY
    # then the host writes other code over the loop there: the held code is not installed for it
    other = [line.replace("addi a0, a0, 3", "addi a0, a0, 4") for line in LOOP]
    _, b, got = warm_pair(LOOP, LOOP, 10**6, seeds, then=[other])
    ref = Machine(vlen=128, tier="interpret")
    want = [run(LOOP, "interpret", 10**6, seeds, machine=ref, smc=True, passes=300),
            run(other, "interpret", 10**6, seeds, machine=ref, passes=300, again=True)]
    assert got == want and b.translation["held"] == 1


def heat(m) -> int:
    """The most instructions of one block the process has counted toward
    RVAI_JIT_HOT (translate._ran, entries times the block's weight, the
    block decoded on machine ``m``, where it ran)."""
    from rvai.emu import translate
    return max((c * translate._weight(m._translator._decoded(k[0])) for k, c in translate._ran.items()), default=0)


def machines_in_turn(programs, budget, seeds, regs, hot_of=None, smc=False):
    """Each program of ``programs`` run at CODE on a machine of its own, one
    after the other, in a process whose engine and counts (translate._ran)
    start empty, the C loop asking every 4 entries: first the first program
    alone at a RVAI_JIT_HOT nothing reaches, to measure its hottest block
    (``heat``); then, counts emptied, all at ``hot_of(that)``.  (the
    machines, every observable of each run)."""
    from rvai.emu import translate
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(jit_llvm, "_engines", {})
        mp.setattr(translate, "ASK_EVERY", 4)
        mp.setattr(translate, "_ran", {})
        mp.setenv("RVAI_JIT_HOT", str(10**12))
        probe = Machine(vlen=128, tier="translate")
        run(programs[0], "translate", budget, seeds, regs, machine=probe, smc=smc, passes=300)
        one = heat(probe)
        mp.setattr(translate, "_ran", {})
        mp.setenv("RVAI_JIT_HOT", str(hot_of(one)))
        out = []
        for items in programs:
            m = Machine(vlen=128, tier="translate")
            out.append((m, run(items, "translate", budget, seeds, regs, machine=m, smc=smc, passes=300)))
        return one, out


@settings(max_examples=30, deadline=None)
@given(items=steady_loop(), k=st.integers(2, 4), seeds=st.binary(min_size=64, max_size=64),
       regs=st.lists(value, min_size=6, max_size=6))
def test_machines_running_the_same_code_make_it_due_together(items, k, seeds, regs):
    """k machines of one process run the same loop one after the other at
    a RVAI_JIT_HOT each reaches only a (k-1/2)-th of: none of the first
    k-1 translates (alone, nor the k-1 together, reach it), the k-th
    translates the loop (the process's count reaches it there), and every
    observable of each is the interpreter's."""
    one, got = machines_in_turn([items] * k, 10**6, seeds, regs, lambda one: (k - 1) * one + one // 2)
    assert one >= 300 * 2   # the loop ran its 300 passes: (entries counted in fours) times its weight
    want = run(items, "interpret", 10**6, seeds, regs, smc=True, passes=300)
    assert [r for _, r in got] == [want] * k
    assert [m.translation["blocks"] for m, _ in got[:-1]] == [0] * (k - 1)
    assert got[-1][0].translation["blocks"] >= 1 and got[-1][0].translation["held"] == 0


@settings(max_examples=30, deadline=None)
@given(data=st.data(), k=st.integers(2, 4), budget=st.one_of(st.integers(1, 3000), st.just(10**6)),
       seeds=st.binary(min_size=64, max_size=64), regs=st.lists(value, min_size=6, max_size=6))
def test_other_code_at_the_same_pcs_is_counted_apart(data, k, budget, seeds, regs):
    """k-1 machines run one loop, then a k-th runs another at the same pcs
    (the same, one instruction changed, or another), with or without a
    store rewriting one of its instructions each pass, at a RVAI_JIT_HOT
    the k machines reach together: code is counted by its instructions
    decoded at each ask, so the k-th translates the first loop's block
    only where its bytes are the same; every observable is the
    interpreter's."""
    smc = data.draw(st.booleans())
    first = data.draw(steady_loop(smc))
    other = list(first)   # the same length: the same pcs, one instruction (not the loop's control) another
    other[data.draw(st.integers(0, len(first) - 4))] = f"xori t1, t1, {data.draw(imm12)}"
    last = data.draw(st.sampled_from([first, other, data.draw(steady_loop(smc))]))
    programs = [first] * (k - 1) + [last]
    one, got = machines_in_turn(programs, budget, seeds, regs, lambda one: max((k - 1) * one + one // 2, 1), smc=True)
    want = [run(items, "interpret", budget, seeds, regs, smc=True, passes=300) for items in programs]
    assert [r for _, r in got] == want
    if last is other and encode(last) != encode(first) and not smc and one:
        # the loop is the one block run, as long as the first's (so its count alone): never due alone
        assert got[-1][0].translation["blocks"] == 0


@settings(max_examples=30, deadline=None)
@given(items=steady_loop(), k=st.integers(3, 4), seeds=st.binary(min_size=64, max_size=64),
       regs=st.lists(value, min_size=6, max_size=6))
def test_held_counts_the_blocks_found_compiled(items, k, seeds, regs):
    """k machines run the same loop one after the other at a RVAI_JIT_HOT
    the first two reach together: the second compiles it, and the later
    ones find it due at their first ask (the process's count is past due)
    and compiled in the engine.  On every machine ``held`` is the blocks
    it installed less those compiled while it ran (counted where LLVM's
    functions are built), and from the third on it holds the loop."""
    built = []
    with pytest.MonkeyPatch.context() as mp:
        build = jit_llvm._Block.build
        mp.setattr(jit_llvm._Block, "build", lambda self: built.append(self.start) or build(self))
        sizes = []

        def hot_of(one):
            sizes.append(len(built))
            return one + one // 2
        one, got = machines_in_turn([items] * k, 10**6, seeds, regs, hot_of)
    assert one >= 300 * 2
    # machines_in_turn's machines run one after another: split the builds by the blocks each installed
    t = [m.translation for m, _ in got]
    assert [x["blocks"] for x in t[:1]] == [0] and t[1]["blocks"] >= 1 and t[1]["held"] == 0
    assert len(built) - sizes[0] == sum(x["blocks"] - x["held"] for x in t)
    assert all(x["held"] >= 1 for x in t[2:])
    want = run(items, "interpret", 10**6, seeds, regs, smc=True, passes=300)
    assert [r for _, r in got] == [want] * k


def sliced(m, budget: int, slice_: int) -> dict:
    """LOOP run on machine ``m`` (translating, never due) in runs of
    ``slice_`` instructions (each ends in Translator.tally, which adds the
    run's entries to the process's counts) until it stops: its registers,
    pc, instret and stop."""
    stop = run(LOOP, "translate", 1, bytes(64), machine=m)["stop"]
    while stop is not None and stop[0] == "BudgetExceeded" and m.instret < budget:
        stop = resume(m, slice_)
    return {"x": [m.x(i) for i in range(32)], "pc": m.pc, "instret": m.instret, "stop": stop}


def test_machines_in_threads_count_every_entry():
    """Machines running the same loop in several threads at once, in short
    runs (each adding its entries to the one process-wide table: tally),
    never due, the interpreter switching threads every microsecond, count
    all their entries: the table holds threads times one machine's count,
    every run's result is the interpreter's, and no translation fails
    (translate.errors, checked for every test)."""
    import sys
    import threading
    from rvai.emu import translate
    threads, budget, slice_ = 4, 10**6, 37
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(translate, "ASK_EVERY", 4)
        mp.setenv("RVAI_JIT_HOT", str(10**12))
        alone = sliced(Machine(vlen=128, tier="translate"), budget, slice_)
        counts = dict(translate._ran)
        mp.setattr(translate, "_ran", {})
        machines = [Machine(vlen=128, tier="translate") for _ in range(threads)]
        results = [None] * threads

        def one(i):
            results[i] = sliced(machines[i], budget, slice_)
        switch = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            workers = [threading.Thread(target=one, args=(i,)) for i in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        finally:
            sys.setswitchinterval(switch)
        together = dict(translate._ran)
    want = run(LOOP, "interpret", 10**6, bytes(64))
    assert alone["stop"] and alone == {k: want[k] for k in alone}
    assert results == [alone] * threads
    assert counts and together == {key: threads * n for key, n in counts.items()}


def test_the_loops_around_a_due_block_are_compiled_with_it(empty_engines, monkeypatch):
    """When the inner loop of a nest is due, the blocks of the loop around
    it (its fall-through, entered uncounted, and the outer loop's head,
    entered once a pass) are compiled with it in one module, though
    neither is due: afterwards only they would be left to interpret.  The
    run's observables stay the interpreter's."""
    monkeypatch.setenv("RVAI_JIT_HOT", str(3 * 30_000))   # the inner block (3 instructions) due at outer pass 300
    lines = ["li a0, 0", "li a2, 600",
             "li a1, 100",                                     # +8: the outer loop
             "addi a0, a0, 1", "addi a1, a1, -1", "bnez a1, -8",   # +12: the inner loop
             "addi a2, a2, -1", "bnez a2, -20",               # +24: its fall-through
             "ebreak"]
    compiles = []
    real = jit_llvm.compile_blocks

    def counted(blocks, *args, **kwargs):
        compiles.append(sorted(b[0].pc - CODE for b in blocks))
        return real(blocks, *args, **kwargs)
    monkeypatch.setattr(jit_llvm, "compile_blocks", counted)
    results = []
    for tier in ("translate", "interpret"):
        m = Machine(vlen=128, tier=tier)
        load_program(m, lines)
        m.pc = CODE
        with pytest.raises(EmulatorError, match="ebreak|breakpoint"):
            m.resume(budget=10**7)
        results.append(([m.x(i) for i in range(32)], m.instret, m.pc, m.op_counts()))
        if tier == "translate":
            assert m.translation["blocks"] == 3
    assert compiles == [[8, 12, 24]]
    assert results[0] == results[1] and results[0][0][10] == 60_000
