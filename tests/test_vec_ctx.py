"""The per-vtype context that vector instructions keep across instructions
(rv_machine.vtc, decoded once per change of vtype) and the paths that skip
work for the common case (unit-stride loads inside one page straight into
vd, vfp_simd's inlined loops), against qemu-riscv64 as the oracle: random
straight-line programs that change vtype and vl between vector instructions
(SEW 8-64, LMUL mf2-m8, every tail/mask policy, vl from 0 to past VLMAX),
mix masked and unmasked integer and FP ops with unit-stride loads and
stores at offsets in a page and across a page edge, then dump every vector
register, vl, vtype and fflags.  rvai must print the same bytes as qemu in
both tiers (the translating one with every block translated).  And, by the
spec: an instruction after a vsetvli that set vill is illegal at its own pc,
though the same instruction ran a moment before under a legal vtype."""
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import Machine
from rvai.emu.errors import Breakpoint, IllegalInstruction
from tests.test_qemu_rvv import CLANG, QEMU

from tests.conftest import CODE, load_program

SEWS = (8, 16, 32, 64)
LMULS = ("mf2", "m1", "m2", "m4", "m8")
GROUPS = ("v8", "v16", "v24")   # aligned for every LMUL; v0 holds the mask
PAGE = 4096


@st.composite
def vector_op(draw, sew):
    """One vector instruction legal under SEW ``sew`` (any LMUL)."""
    vd, vs2, vs1 = draw(st.sampled_from(GROUPS)), draw(st.sampled_from(GROUPS)), draw(st.sampled_from(GROUPS))
    mask = draw(st.sampled_from(["", "", ", v0.t"]))
    kinds = ["int", "int", "mem", "mask"] + (["fp", "fp", "fp"] if sew >= 32 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "int":
        name = draw(st.sampled_from(["vadd.vv", "vmul.vv", "vadd.vx", "vxor.vi", "vmacc.vv"]))
        last = {"vv": vs1, "vx": "a3", "vi": str(draw(st.integers(-16, 15)))}[name[-2:]]
        return [f"{name} {vd}, {vs2}, {last}{mask}" if name != "vmacc.vv" else f"vmacc.vv {vd}, {vs1}, {vs2}{mask}"]
    if kind == "fp":
        name = draw(st.sampled_from(["vfmacc.vf", "vfmacc.vv", "vfadd.vv", "vfmul.vf", "vfnmsac.vv", "vfmin.vv"]))
        if name.endswith(".vf"):
            return [f"{name} {vd}, fa0, {vs2}{mask}" if "macc" in name else f"{name} {vd}, {vs2}, fa0{mask}"]
        return [f"{name} {vd}, {vs1}, {vs2}{mask}" if "ac" in name else f"{name} {vd}, {vs2}, {vs1}{mask}"]
    if kind == "mask":
        return [f"vmsne.vv v0, {vs2}, {vs1}"]
    # a page's start, its middle, and just before its end (the access then spans two pages)
    off = draw(st.sampled_from([0, 40, PAGE // 2, PAGE - 8, PAGE - 64, 2 * PAGE - 24]))
    op = draw(st.sampled_from(["vle", "vle", "vse"]))
    return [f"addi t2, s0, {off}" if off < 2048 else f"li t2, {off}\nadd t2, s0, t2",
            f"{op}{sew}.v {vd}, (t2){mask if op == 'vle' else ''}"]


@st.composite
def vector_program(draw):
    """Lines of a program: vsetvli's with random vtype and AVL, each followed by ops legal under it."""
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        sew, lmul = draw(st.sampled_from(SEWS)), draw(st.sampled_from(LMULS))
        if sew == 64 and lmul == "mf2":   # SEW > LMUL * ELEN: reserved (vill)
            lmul = "m1"
        pol = draw(st.sampled_from(["ta, ma", "tu, mu", "ta, mu", "tu, ma"]))
        avl = draw(st.sampled_from(["zero", "a2"]))
        lines += [f"li a2, {draw(st.integers(0, 80))}", f"vsetvli t1, {avl}, e{sew}, {lmul}, {pol}"]
        for _ in range(draw(st.integers(1, 5))):
            lines += draw(vector_op(sew))
    return lines


# The program around the random lines: 3 pages of data (s0), the vector
# registers loaded from them, fa0 and a3 set; at the end every vector
# register, vl, vtype and fflags written to stdout.
HEAD = """\
.option norvc
.data
.balign 4096
data: .fill 3 * 4096, 1, 0
dump: .fill 32 * 512 + 24, 1, 0
.text
.globl _start
_start:
  la s0, data
  li t0, 0x9e3779b97f4a7c15
  mv t1, s0
  li t3, 3 * 4096 / 8
1: sd t0, 0(t1)
  mul t4, t0, t0
  xor t0, t0, t4
  addi t0, t0, 1000
  srli t4, t0, 29
  xor t0, t0, t4
  addi t1, t1, 8
  addi t3, t3, -1
  bnez t3, 1b
  mv t1, s0
  vl8re8.v v0, (t1)
  addi t1, t1, 1024
  vl8re8.v v8, (t1)
  addi t1, t1, 1024
  vl8re8.v v16, (t1)
  addi t1, t1, 1024
  vl8re8.v v24, (t1)
  li t0, 0x3fc00000
  fmv.w.x fa0, t0
  li a3, 0x1234567
"""
TAIL = """\
  la t1, dump
  csrr t0, vl
  sd t0, 0(t1)
  csrr t0, vtype
  sd t0, 8(t1)
  csrr t0, fflags
  sd t0, 16(t1)
  addi t1, t1, 24
  csrr t3, vlenb
  slli t3, t3, 3
  vs8r.v v0, (t1)
  add t1, t1, t3
  vs8r.v v8, (t1)
  add t1, t1, t3
  vs8r.v v16, (t1)
  add t1, t1, t3
  vs8r.v v24, (t1)
  add t1, t1, t3
  li a7, 64
  li a0, 1
  la a1, dump
  sub a2, t1, a1
  ecall
  li a7, 93
  li a0, 0
  ecall
"""


def build(lines, path) -> str:
    """The program as a static rv64gcv executable at ``path``."""
    src = path.with_suffix(".S")
    src.write_text(HEAD + "".join(f"  {line}\n" for line in "\n".join(lines).splitlines()) + TAIL)
    subprocess.run([CLANG, "--target=riscv64-linux-gnu", "-march=rv64gcv", "-static", "-fuse-ld=lld",
                    "-nostdlib", str(src), "-o", str(path)], check=True, capture_output=True)
    return str(path)


@pytest.mark.skipif(not (CLANG and QEMU), reason="needs clang-19 and qemu-riscv64")
@settings(max_examples=60, deadline=None)
@given(lines=vector_program(), vlen=st.sampled_from([128, 256, 512]))
def test_vtype_changes_match_qemu_in_both_tiers(tmp_path_factory, lines, vlen):
    exe = build(lines, tmp_path_factory.mktemp("vctx") / "prog")
    q = subprocess.run([QEMU, "-cpu", f"rv64,v=true,vlen={vlen}", exe], capture_output=True, timeout=60)
    assert q.returncode == 0, q.stderr
    assert len(q.stdout) == 24 + 32 * vlen // 8
    with pytest.MonkeyPatch.context() as mp:   # (hypothesis examples run outside function-scoped fixtures)
        mp.setenv("RVAI_JIT_HOT", "0")
        for tier in ("interpret", "translate"):
            r = Machine(vlen=vlen, tier=tier).run([exe], budget=10**6)
            assert r.exit_code == 0
            assert r.stdout == q.stdout, tier


def stops_illegal_after_legal_runs(tier, switch, op):
    """Run a loop whose op runs twice under e32 m1, then the ``switch``
    lines change vtype and a jump enters the op's block again; the loop was
    translated (RVAI_JIT_HOT=0) while e32 m1 held.  The op must stop illegal
    at its own pc, not retired; returns the machine."""
    m = Machine(vlen=256, tier=tier)
    lines = ["li a2, 8", "vsetvli t1, a2, e32, m1, ta, ma", "ebreak",
             "li a0, 3",                 # 0x0c: the loop
             "addi a0, a0, -1",
             "bnez a0, 16",              # to the op
             *switch,                    # two instructions
             "jal zero, 4",              # into the op's block
             op,                         # 0x24
             "jal zero, -24",            # to 0x10
             "ebreak"]
    m.pc = load_program(m, lines)
    m.map(0x20000, 4096, "rw")
    m.x(8, 0x20000)
    with pytest.raises(Breakpoint):
        m.resume(budget=1000)
    m.pc, before = CODE + 0x0c, m.instret
    with pytest.raises(IllegalInstruction):
        m.resume(budget=1000)
    assert m.pc == CODE + 0x24
    assert m.instret - before == 1 + 4 + 4 + 5
    return m


@pytest.mark.parametrize("tier", ["interpret", "translate"])
@pytest.mark.parametrize("op", ["vadd.vv v8, v16, v24", "vfmacc.vf v8, fa0, v16", "vle32.v v8, (s0)"])
def test_an_instruction_after_vill_is_illegal_at_its_pc(monkeypatch, tier, op):
    """The spec (RVV 1.0, 3.4.1): with vill set, a vector instruction that
    depends on vtype raises an illegal-instruction exception: here after a
    vsetvl with a reserved vtype (vsew 7), though the op ran legally before
    and the translating tier made its context for e32 m1."""
    monkeypatch.setenv("RVAI_JIT_HOT", "0")
    m = stops_illegal_after_legal_runs(tier, ["li t0, 0x38", "vsetvl t1, a2, t0"], op)
    assert m.csr(0xC21) == 1 << 63 and m.csr(0xC20) == 0   # vtype: vill, vl 0


@pytest.mark.parametrize("tier", ["interpret", "translate"])
@pytest.mark.parametrize("op", ["vfadd.vv v8, v16, v9", "vfadd.vv v8, v9, v16", "vfadd.vv v9, v8, v16",
                                "vfmacc.vv v8, v9, v16", "vfmacc.vf v8, fa0, v17", "vfmul.vf v7, v16, fa0"])
def test_a_misaligned_group_is_illegal_after_legal_runs(monkeypatch, tier, op):
    """The spec (RVV 1.0, 3.4.2): at LMUL 2 a register group must be
    even-numbered, else the instruction is illegal; the op ran legally at
    LMUL 1 before, and the translating tier made its context for LMUL 1."""
    monkeypatch.setenv("RVAI_JIT_HOT", "0")
    stops_illegal_after_legal_runs(tier, ["nop", "vsetvli t1, a2, e32, m2, ta, ma"], op)
