"""Vector FP arithmetic computed inline in translated blocks (jit_llvm's
VFP_INLINE) against the interpreter, its reference: loops of vfadd ...
vfnmsub (.vv, .vf) over register data drawn as bit patterns (NaNs,
infinities, subnormals, the special-result boundaries of fp.h), under every
rounding mode, with fflags holding NX or not, vl = VLMAX or less, vstart 0
or not, masked or not, beside FP ops that are never inline; every vector
register, fflags, frm, the scalar registers, instret, and in timed mode the
cycles and profile must be bit-identical.  And the inline path is really
taken (translation stats' vfp_calls: the ops left to jit_vfp) when its guard
holds and every result is ordinary, and not otherwise."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CODE, load_program, resume
from rvai.emu import Machine
from rvai.target import Target

pytest.importorskip("llvmlite")
from rvai.emu import jit_llvm  # noqa: E402 (needs llvmlite)

pytestmark = pytest.mark.skipif(not jit_llvm.VFP_HOST, reason="inline vector FP needs an x86 host (fp.h)")

NX, FFLAGS, FRM = 1, 0x001, 0x002
# Bit patterns at the edges of fp.h's special results (NaN, infinity, largest
# finite, smallest normal and below, zero) and just inside them.
EDGES = {
    32: [0, 1 << 31, 1, 0x007FFFFF, 0x00800000, 0x00800001, 0x7F7FFFFF, 0x7F7FFFFE, 0x7F800000, 0xFF800000,
         0x7FC00000, 0x7F800001, 0xFFC00001, 0x3F800000, 0x3F800001, 0x80800000, 0x0C000000, 0x72000000],
    64: [0, 1 << 63, 1, 0x000FFFFFFFFFFFFF, 0x0010000000000000, 0x0010000000000001, 0x7FEFFFFFFFFFFFFF,
         0x7FEFFFFFFFFFFFFE, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0x7FF0000000000001,
         0x3FF0000000000000, 0x3FF0000000000001, 0x8010000000000000, 0x2000000000000000, 0x5FF0000000000000],
}
INLINE = sorted(jit_llvm.VFP_INLINE)
FMA = ["vfmacc", "vfnmacc", "vfmsac", "vfnmsac", "vfmadd", "vfnmadd", "vfmsub", "vfnmsub"]
OTHER = ["vfmin.vv", "vfmax.vf", "vfsgnjn.vv"]   # vector FP never inline: jit_vfp runs them
PRESET = "spacemit-x60"


def spelling(op, vd, vs2, vs1, masked):
    """The assembler's spelling of op (mnemonic with its form) on v registers, fa0 its scalar."""
    base, form = op.split(".")
    src = "fa0" if form == "vf" else f"v{vs1}"
    fma = base in FMA   # vd, rs1, vs2 order
    text = f"{op} v{vd}, {src}, v{vs2}" if fma else f"{op} v{vd}, v{vs2}, {src}"
    return text + (", v0.t" if masked else "")


@st.composite
def fp_op(draw):
    if draw(st.integers(0, 9)) == 0:
        op = draw(st.sampled_from(OTHER))
    else:
        base = draw(st.sampled_from(INLINE))
        op = base + (".vf" if base in ("vfrsub", "vfrdiv") else draw(st.sampled_from([".vv", ".vf"])))
    vs2, vs1 = draw(st.sampled_from([16, 16, 8])), draw(st.sampled_from([24, 8, 16]))
    return spelling(op, 8, vs2, vs1, draw(st.integers(0, 7)) == 0)


def fill(sew, vlenb, seed, edges, p_edge):
    """The 32 vector registers: lanes ordinary (magnitude in [0.5, 2), either
    sign), or with probability p_edge one of ``edges``."""
    rng = np.random.default_rng(seed)
    n = 32 * vlenb * 8 // sew
    ft, it = (np.float32, np.uint32) if sew == 32 else (np.float64, np.uint64)
    lanes = (rng.uniform(0.5, 2.0, n) * rng.choice([-1, 1], n)).astype(ft).view(it)
    pick = rng.random(n) < p_edge
    lanes[pick] = np.array(edges, dtype=it)[rng.integers(0, len(edges), int(pick.sum()))]
    return lanes.tobytes()


def vfp_run(tier, timed, vlen, sew, lmul, ops, regs, fa0, fflags, frm, avl, passes, vstart=0, clear=False,
            budget=10**6):
    """Run ``passes`` passes of a loop of the vector FP ``ops`` (with
    ``vstart`` written before them, fflags cleared by the loop when
    ``clear``) under e{sew} m{lmul}, vl from ``avl``; every observable, and
    the machine."""
    m = Machine(Target.preset(PRESET), vlen=vlen, tier=tier, timed=True) if timed else Machine(vlen=vlen, tier=tier)
    vlenb = vlen // 8
    for i in range(32):
        m.v(i, regs[i * vlenb:(i + 1) * vlenb])
    m.f(10, fa0)
    # (a jump after the csrw, which the translator leaves to the interpreter: the ops start a block)
    body = (["csrw vstart, a3", "jal zero, 4"] if vstart else []) + (["fsflags zero"] if clear else []) + list(ops)
    lines = [f"vsetvli t1, a2, e{sew}, m{lmul}, ta, mu", *body, "addi a0, a0, -1",
             f"bnez a0, {-4 * (len(body) + 1)}", "ebreak"]
    m.pc = load_program(m, lines)
    m.x(10, passes)
    m.x(12, avl)
    m.x(13, vstart)
    m.csr(FFLAGS, fflags)
    m.csr(FRM, frm)
    stop = resume(m, budget)
    out = {"v": [m.v(i) for i in range(32)], "x": [m.x(i) for i in range(32)], "pc": m.pc, "stop": stop,
           "instret": m.instret, "csr": [m.csr(c) for c in (FFLAGS, FRM, 0xC20, 0xC21, 0x008)]}
    if timed:
        p = m.profile()
        out.update(cycles=m.cycles, profile=p.to_dict(), pc_cycles=p.pc_cycles)
    return out, m


def both(timed, *args, **kw):
    """vfp_run translated (every block at its first entry) and interpreted: (translated, interpreted, machine)."""
    with pytest.MonkeyPatch.context() as mp:   # (hypothesis examples run outside function-scoped fixtures)
        mp.setenv("RVAI_JIT_HOT", "0")
        mp.setenv("RVAI_JIT_TIMED", "1")
        t, m = vfp_run("translate", timed, *args, **kw)
        i, _ = vfp_run("interpret", timed, *args, **kw)
    return t, i, m


@st.composite
def case(draw):
    sew, lmul, vlen = draw(st.sampled_from([32, 64])), draw(st.sampled_from([1, 2, 4, 8])), \
        draw(st.sampled_from([128, 256, 512, 1024]))
    vlmax = vlen * lmul // sew
    edges = EDGES[sew]
    regs = fill(sew, vlen // 8, draw(st.integers(0, 2**32)), edges, draw(st.sampled_from([0, 0, 0.002, 0.05, 0.5])))
    fa0 = draw(st.one_of(st.sampled_from(edges), st.just(0x3FC00000 if sew == 32 else 0x3FF8000000000000),
                         st.integers(0, 2**64 - 1)))
    if sew == 32 and draw(st.booleans()):
        fa0 = fa0 & 0xFFFFFFFF | 0xFFFFFFFF00000000   # NaN-boxed (else it reads as the canonical NaN)
    return dict(vlen=vlen, sew=sew, lmul=lmul, ops=draw(st.lists(fp_op(), min_size=1, max_size=3)), regs=regs,
                fa0=fa0, fflags=draw(st.sampled_from([NX] * 4 + [0, 31, NX | 16, 2])),
                frm=draw(st.sampled_from([0] * 6 + [1, 2, 3, 4])),
                avl=draw(st.sampled_from([vlmax] * 4 + [10**6, vlmax - 1, 1])),
                passes=draw(st.integers(1, 6)), vstart=draw(st.sampled_from([0] * 6 + [1, 3])),
                clear=draw(st.integers(0, 5)) == 0, budget=draw(st.sampled_from([10**6] * 4 + [7, 12])))


@settings(max_examples=150)
@given(c=case())
def test_inline_vector_fp_matches_the_interpreter(c):
    t, i, _ = both(False, **c)
    assert t == i


@settings(max_examples=60)
@given(c=case())
def test_inline_vector_fp_times_the_same(c):
    t, i, _ = both(True, **c)
    assert t == i


ALL_INLINE = [f"{b}.vf" for b in INLINE] + [f"{b}.vv" for b in INLINE if b not in ("vfrsub", "vfrdiv")]


@pytest.mark.parametrize("op", ALL_INLINE)
@settings(max_examples=8)
@given(data=st.data())
def test_each_inline_op_matches_on_edge_data(op, data):
    """Each inline op, its guard holding (RNE, NX, vl = VLMAX) and vd, vs2,
    vs1 distinct, over data with edge lanes (some special, some ordinary):
    the random programs above draw one op of many."""
    c = data.draw(case())
    vlmax = c["vlen"] * c["lmul"] // c["sew"]
    c.update(ops=[spelling(op, 8, 16, 24, False)], fflags=NX, frm=0, avl=vlmax, vstart=0, clear=False, budget=10**6,
             regs=fill(c["sew"], c["vlen"] // 8, data.draw(st.integers(0, 2**32)), EDGES[c["sew"]],
                       data.draw(st.sampled_from([0, 0.001, 0.01]))))
    t, i, _ = both(False, **c)
    assert t == i


@pytest.mark.parametrize("timed", [False, True])
@settings(max_examples=15)
@given(data=st.data())
def test_a_vl_change_between_inline_ops_is_seen(timed, data):
    """Inline ops share one test of vtype, vl and vstart until the block calls
    jit_vec: here a vsetivli to a short vl under the same vtype between two
    inline ops (and a vsetvli back to VLMAX after them), with frm RNE and NX
    tested once at the block's entry.  The second op must compute only its vl
    lanes, as interpreted."""
    c = data.draw(case())
    sew, lmul = c["sew"], c["lmul"]
    vlmax = c["vlen"] * lmul // sew
    short = data.draw(st.integers(0, min(vlmax - 1, 31)))
    first, second = (data.draw(st.sampled_from(ALL_INLINE)) for _ in range(2))
    ops = [spelling(first, 8, 16, 24, False), f"vsetivli zero, {short}, e{sew}, m{lmul}, ta, mu",
           spelling(second, 8, 16, 24, False), f"vsetvli zero, a2, e{sew}, m{lmul}, ta, mu"]
    fa0 = 0x3FC00000 | 0xFFFFFFFF00000000 if sew == 32 else 0x3FF8000000000000   # 1.5: ordinary results
    c.update(ops=ops, fa0=fa0, fflags=NX, frm=0, avl=vlmax, vstart=0, clear=False, budget=10**6,
             regs=fill(sew, c["vlen"] // 8, data.draw(st.integers(0, 2**32)), EDGES[sew], 0))
    t, i, _ = both(timed, **c)
    assert t == i


def ordinary(sew, vlen):
    """Registers whose every lane is ordinary (no op below gives a special result from them)."""
    return fill(sew, vlen // 8, 7, EDGES[sew], 0)


@pytest.mark.parametrize("timed", [False, True])
@pytest.mark.parametrize("op", ALL_INLINE)
@pytest.mark.parametrize("sew,lmul", [(32, 4), (64, 1), (32, 8)])
def test_the_inline_path_is_taken_when_its_guard_holds(op, sew, lmul, timed):
    """Ordinary data, RNE, NX in fflags, vl = VLMAX: every pass inline (no
    jit_vfp call), as interpreted."""
    fa0 = 0x3FC00000 | 0xFFFFFFFF00000000 if sew == 32 else 0x3FF8000000000000
    t, i, m = both(timed, 256, sew, lmul, [spelling(op, 8, 16, 24, False)], ordinary(sew, 256), fa0, NX, 0,
                   10**6, 5)
    assert t == i
    assert m.translation["vfp_calls"] == 0


@pytest.mark.parametrize("why", ["no NX", "RTZ", "RMM", "vl < VLMAX", "vstart", "masked", "a special lane",
                                 "unboxed scalar"])
def test_the_call_runs_when_the_guard_fails(why):
    """Each condition of the guard, or a special result, sends every pass to
    jit_vfp (5 passes, one op each), as interpreted."""
    sew, lmul, passes = 32, 2, 5
    regs = bytearray(ordinary(sew, 256))
    if why == "a special lane":   # v24's (vs1's) third lane: 2**100 * 2**100 overflows
        regs[24 * 32 + 8:24 * 32 + 12] = (0x71800000).to_bytes(4, "little")
        regs[16 * 32 + 8:16 * 32 + 12] = (0x71800000).to_bytes(4, "little")
    args = dict(fflags=0 if why == "no NX" else NX, frm={"RTZ": 1, "RMM": 4}.get(why, 0),
                avl=7 if why == "vl < VLMAX" else 10**6, vstart=2 if why == "vstart" else 0)
    fa0 = 0x3FC00000 | (0 if why == "unboxed scalar" else 0xFFFFFFFF00000000)
    op = "vfmul.vv" if why in ("no NX", "a special lane") else "vfmacc.vf"   # vfmul: exact, NX stays clear
    regs = bytes(regs) if why != "no NX" else fill_exact(sew, 256)
    t, i, m = both(False, 256, sew, lmul, [spelling(op, 8, 16, 24, why == "masked")], regs, fa0, passes=passes,
                   **args)
    assert t == i
    assert m.translation["vfp_calls"] == passes


def fill_exact(sew, vlen):
    """Registers of small integers as floats: their products are exact (raise nothing, NX stays clear)."""
    rng = np.random.default_rng(3)
    return rng.integers(1, 8, 32 * vlen // sew).astype(np.float32 if sew == 32 else np.float64).tobytes()


def test_the_host_code_fuses_without_extra_rounding(monkeypatch):
    """A block's vfmacc.vf (e32 m4, VLEN 256: 32 lanes) compiles to packed
    vfmadd on ymm (or zmm) registers, with no conversion between formats (an extra rounding)
    and no call (a libm fma) in the host code."""
    if "+fma" not in jit_llvm.llvm.get_host_cpu_features().flatten():
        pytest.skip("the host has no FMA unit")
    asm, real = [], jit_llvm._optimise

    def spy(mod, opt=1):
        real(mod, opt)
        asm.append(jit_llvm.host_target_machine().emit_assembly(mod))

    monkeypatch.setattr(jit_llvm, "_optimise", spy)
    monkeypatch.setenv("RVAI_JIT_CACHE", "0")
    monkeypatch.setenv("RVAI_JIT_HOT", "0")
    fa0 = 0x3FC00000 | 0xFFFFFFFF00000000
    # (registers no other test names: the process's engine compiles this block afresh)
    vfp_run("translate", False, 256, 32, 4, ["vfmacc.vf v4, fa0, v12"], ordinary(32, 256), fa0, NX, 0, 10**6, 3)
    text = "\n".join(asm)
    fma = [line for line in text.splitlines() if "vfmadd" in line]
    # packed single on whole vector registers (ymm; zmm on an AVX-512 host), never a scalar fma
    assert fma and all("ps" in line.split()[0] and ("ymm" in line or "zmm" in line) for line in fma)
    assert not any(w in text for w in ("cvtss2sd", "cvtsd2ss", "cvtps2pd", "cvtpd2ps", "fmaf"))
