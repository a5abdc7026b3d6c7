"""The translating tier against the interpreter, its reference: random scalar
programs (the project's own assembler) run in both tiers with every block
translated on first entry, and every observable compared (registers, pc,
memory, instret, per-op counts, the stop and its message); then the cases
the tier must not change: self-modifying code, faults in the middle of a
block, budget stops inside a looping block, interrupts, many harts."""
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CODE, load_program
from rvai.emu import EmulatorError, Machine
from rvai.emu.isa import assemble

pytest.importorskip("llvmlite")

DATA = 0x20000          # one rw page the programs load from and store to
UNMAPPED = 0x40000      # s1 points here: accesses through it fault
REGS = ["a0", "a1", "a2", "a3", "t0", "t1", "zero"]
RR = ["add", "sub", "sll", "srl", "sra", "slt", "sltu", "xor", "or", "and", "addw", "subw", "sllw",
      "srlw", "sraw", "mul", "mulw", "mulh", "mulhsu", "mulhu", "sh1add", "sh2add", "sh3add", "add.uw",
      "andn", "orn", "xnor", "min", "max", "minu", "maxu",
      "div", "remu", "rol", "czero.eqz"]        # the last three are not translated: they end blocks
RI = ["addi", "slti", "sltiu", "xori", "ori", "andi", "addiw"]
SHIFTS = [("slli", 63), ("srli", 63), ("srai", 63), ("slliw", 31), ("srliw", 31), ("sraiw", 31)]
LOADS = ["lb", "lh", "lw", "ld", "lbu", "lhu", "lwu"]
STORES = ["sb", "sh", "sw", "sd"]
BRANCHES = ["beq", "bne", "blt", "bge", "bltu", "bgeu"]

reg = st.sampled_from(REGS)


@st.composite
def instruction(draw, index, length):
    """One instruction of a program of ``length`` at ``index`` (branch
    targets stay inside the program or land on its end)."""
    kind = draw(st.sampled_from(["rr", "ri", "shift", "un", "load", "store", "branch", "misc"]))
    rd, rs1, rs2 = draw(reg), draw(reg), draw(reg)
    if kind == "rr":
        return f"{draw(st.sampled_from(RR))} {rd}, {rs1}, {rs2}"
    if kind == "ri":
        return f"{draw(st.sampled_from(RI))} {rd}, {rs1}, {draw(st.integers(-2048, 2047))}"
    if kind == "shift":
        name, top = draw(st.sampled_from(SHIFTS))
        return f"{name} {rd}, {rs1}, {draw(st.integers(0, top))}"
    if kind == "un":
        return f"{draw(st.sampled_from(['sext.b', 'sext.h', 'zext.h', 'clz', 'cpop']))} {rd}, {rs1}"
    base = draw(st.sampled_from(["s0"] * 9 + ["s1"]))
    off = draw(st.integers(-8, 4095 + 8)) if base == "s0" else draw(st.integers(-16, 16))
    off = min(off, 2047) if base == "s0" else off
    if kind == "load":
        return f"{draw(st.sampled_from(LOADS))} {rd}, {off}(s0)" if base == "s0" else f"ld {rd}, {off}(s1)"
    if kind == "store":
        return f"{draw(st.sampled_from(STORES))} {rs2}, {off}({base})"
    if kind == "branch":
        target = draw(st.integers(0, length)) - index
        return f"{draw(st.sampled_from(BRANCHES))} {rs1}, {rs2}, {4 * target}"
    return draw(st.sampled_from(["fence", "fence.i", f"lui {rd}, {draw(st.integers(0, 0xfffff))}",
                                 f"auipc {rd}, {draw(st.integers(0, 0xfffff))}", f"rdinstret {rd}",
                                 f"jal ra, {4 * (draw(st.integers(0, length)) - index)}"]))


@st.composite
def program(draw):
    length = draw(st.integers(1, 40))
    body = [draw(instruction(i, length)) for i in range(length)]
    return body + ["ebreak"]


def run(lines, tier, budget, seeds, *, machine=None):
    """Run lines at CODE in a fresh machine of ``tier`` (or ``machine``); every observable."""
    m = machine or Machine(vlen=128, tier=tier)
    load_program(m, lines)
    m.map(DATA, 4096, "rw")
    m.write(DATA, np.frombuffer(seeds * (4096 // len(seeds)), dtype=np.uint8))
    for r, v in zip((10, 11, 12, 13, 5, 6), np.frombuffer(seeds[:48], dtype=np.uint64)):
        m.x(r, int(v))
    m.x(8, DATA + 16)    # s0
    m.x(9, UNMAPPED)     # s1
    m.pc = CODE
    try:
        m.resume(budget=budget)
        stop = None
    except EmulatorError as e:
        stop = (type(e).__name__, str(e))
    return {"x": [m.x(i) for i in range(32)], "pc": m.pc, "instret": m.instret, "stop": stop,
            "mem": bytes(m.read(DATA, np.uint8, 4096)), "ops": m.op_counts()}


@pytest.fixture
def every_block(monkeypatch):
    """Translate each block on its first entry."""
    monkeypatch.setenv("RVAI_JIT_HOT", "0")


@settings(max_examples=150)
@given(lines=program(), budget=st.integers(1, 3000), seeds=st.binary(min_size=64, max_size=64))
def test_random_programs_match_the_interpreter(lines, budget, seeds):
    with pytest.MonkeyPatch.context() as mp:   # (hypothesis examples run outside function-scoped fixtures)
        mp.setenv("RVAI_JIT_HOT", "0")
        assert run(lines, "translate", budget, seeds) == run(lines, "interpret", budget, seeds)


# Vector instructions: the ones a block computes inline (jit_llvm.VINLINE), others it
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
        return draw(instruction(index, length))
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
        base = draw(st.sampled_from(["s0"] * 5 + ["s1"]))
        return f"{draw(st.sampled_from(['vle', 'vse']))}{width}.v {vd}, ({base})"
    return draw(st.sampled_from([f"vmin.vv {vd}, {vs2}, {vs1}", f"vredsum.vs {vd}, {vs2}, {vs1}",
                                 f"vmerge.vvm {vd}, {vs2}, {vs1}, v0", f"vslidedown.vi {vd}, {vs2}, 3",
                                 f"vmseq.vv {vd}, {vs2}, {vs1}", f"vmv.x.s {x}, {vs2}", f"vcpop.m {x}, {vs2}",
                                 f"vfadd.vv {vd}, {vs2}, {vs1}", f"vfmacc.vf {vd}, fa0, {vs2}",
                                 f"vmv.v.x {vd}, {x}"]))


@st.composite
def vector_program(draw):
    length = draw(st.integers(1, 30))
    sew, lmul = draw(SEW_LMUL[0]), draw(SEW_LMUL[1])
    head = [draw(st.sampled_from([f"vsetvli t1, zero, {sew}, {lmul}, ta, ma", f"vsetvli t1, a2, {sew}, {lmul}, tu, mu"]))]
    return head + [draw(vector_instruction(i + 1, length + 1)) for i in range(length)] + ["ebreak"]


def vector_run(lines, tier, budget, seeds, vlen):
    """run() of a vector program: also every vector register, vl, vtype and fflags."""
    m = Machine(vlen=vlen, tier=tier)
    for i in range(32):
        m.v(i, (seeds * (vlen // 8))[(i * 7) % 64:][:vlen // 8])
    m.f(10, 0x3FC00000 | 0xFFFFFFFF00000000)   # fa0 = 1.5f, NaN-boxed
    out = run(lines, tier, budget, seeds, machine=m)
    out["v"] = [m.v(i) for i in range(32)]
    out["vcsr"] = [m.csr(c) for c in (0xC20, 0xC21, 0x001)]   # vl, vtype, fflags
    out["translated"] = m._translator.blocks if m._translator else None
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


def test_interrupt_stops_a_translated_loop(every_block):
    m = Machine(vlen=128, tier="translate")
    load_program(m, ["addi a0, a0, 1", "j -4"])
    m.pc = CODE
    threading.Timer(0.3, m.interrupt).start()
    with pytest.raises(EmulatorError, match="nterrupt"):
        m.resume(budget=1 << 60, timeout=60)
    assert m.x(10) == m.instret // 2 > 0


def test_tier_is_checked():
    with pytest.raises(ValueError, match="tier"):
        Machine(tier="fast")


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
            assert m._translator.blocks >= 1
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
    assert m._translator.blocks > 10


@pytest.mark.parametrize("vlen", [128, 512])
def test_qemu_rvv_kernels_match_in_the_translating_tier(every_block, monkeypatch, kernels, vlen):
    monkeypatch.setenv("RVAI_TIER", "translate")
    want, got = outputs(kernels, vlen)
    assert got == want
