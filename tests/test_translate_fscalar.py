"""Scalar FP sign injection and ``csrr rd, vlenb`` in translated blocks
against the interpreter, functional and timed: f registers drawn as the bit
patterns where the F/D/Zfh rules bite (NaN-boxed and not, quiet and
signalling NaNs of both signs, zeros, infinities, subnormals), VLEN drawn,
every block translated at its first entry, other CSR reads (which stay
interpreted) between them; a vlenb read also against the spec (VLEN/8)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_translate import run
from rvai.emu import Machine
from rvai.target import Target

jit_llvm = pytest.importorskip("rvai.emu.jit_llvm")

# Values of each width where the FP rules differ: +-0, +-inf, quiet and
# signalling NaNs of both signs (payload 1 and all ones), the smallest and
# largest subnormal, the largest normal, one.
SPECIALS = {
    16: [0x0000, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01, 0xFDFF, 0x0001, 0x83FF, 0x7BFF, 0x3C00],
    32: [0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001, 0x7F800001, 0xFFBFFFFF,
         0x00000001, 0x807FFFFF, 0x7F7FFFFF, 0x3F800000],
    64: [0, 1 << 63, 0x7FF0 << 48, 0xFFF0 << 48, 0x7FF8 << 48, (0xFFF8 << 48) | 1, (0x7FF0 << 48) | 1,
         0xFFF7FFFFFFFFFFFF, 1, 0x800FFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF, 0x3FF0 << 48],
}
narrow = st.sampled_from([16, 32]).flatmap(
    lambda bits: st.one_of(st.sampled_from(SPECIALS[bits]), st.integers(0, (1 << bits) - 1)).map(
        lambda v: (v, bits)))
# An f register's 64 bits: a narrow value NaN-boxed, or with upper bits not all
# ones (one bit off, or any), which reads as the canonical NaN; or a double.
fbits = st.one_of(
    narrow.map(lambda vb: v_boxed(*vb)),
    st.tuples(narrow, st.sampled_from([0, 0xFFFFFFFE, 0x7FFFFFFF]) | st.integers(0, (1 << 32) - 2)).map(
        lambda t: (t[1] << 32) | t[0][0]),
    st.sampled_from(SPECIALS[64]),
    st.integers(0, (1 << 64) - 1),
)


def v_boxed(v, bits):
    """A ``bits``-wide value as an f register holds it NaN-boxed."""
    return v | ((1 << 64) - (1 << bits))


FREG = st.sampled_from(["ft0", "ft1", "fa1", "fa2"])
OTHER_CSRS = ["vl", "vtype", "fflags", "frm", "instret", "cycle"]


@st.composite
def fp_program(draw):
    """Sign injections on the four f registers run() seeds, each result logged
    (all 64 bits, so a missing NaN box shows) and csrr vlenb reads, some
    other CSR reads between them (which stay interpreted: one emitted would
    read vlenb's value), looped by run()."""
    items = []
    for k in range(draw(st.integers(1, 24))):
        kind = draw(st.sampled_from(["fsgnj"] * 6 + ["vlenb", "csr"]))
        if kind == "fsgnj":
            rd = draw(FREG)
            items += [f"{draw(st.sampled_from(sorted(jit_llvm.FSGNJ)))} {rd}, {draw(FREG)}, {draw(FREG)}",
                      f"fsd {rd}, {8 * k}(s5)"]
        else:
            rd = draw(st.sampled_from(["a0", "a1", "t0", "zero"]))
            csr = "vlenb" if kind == "vlenb" else draw(st.sampled_from(OTHER_CSRS))
            # (now and then a write of vlenb, read-only: an illegal instruction, the interpreter's)
            read = f"csrr {rd}, {csr}" if draw(st.integers(0, 15)) else f"csrrs {rd}, vlenb, a1"
            items += [read, f"sd {rd}, {8 * k}(s5)"]
    return items + ["addi s2, s2, -1", ("to", "bne s2, zero, {off}", 0, len(items) + 1), "ebreak"]


def both(items, budget, seeds, regs, vlen, timed=None):
    """run() translated (every block at its first entry) and interpreted on
    machines of VLEN ``vlen``, timed on preset ``timed`` when given (then
    with cycles and per-pc cycles): (translated, interpreted, translated machine)."""
    out = []
    for tier in ("translate", "interpret"):
        with pytest.MonkeyPatch.context() as mp:   # (hypothesis examples run outside function-scoped fixtures)
            mp.setenv("RVAI_JIT_HOT", "0")
            mp.setenv("RVAI_JIT_TIMED", "1")
            kw = dict(timed=True) if timed else {}
            m = Machine(Target.preset(timed), vlen=vlen, tier=tier, **kw) if timed else \
                Machine(vlen=vlen, tier=tier)
            r = run(items, tier, budget, seeds, regs, machine=m)
            if timed:
                p = m.profile()
                r.update(cycles=m.cycles, profile=p.to_dict(), pc_cycles=p.pc_cycles)
        out.append((r, m))
    return out[0][0], out[1][0], out[0][1]


VLENS = st.sampled_from([64, 128, 256, 512, 1024, 4096])


@settings(max_examples=150, deadline=None)
@given(items=fp_program(), budget=st.one_of(st.integers(1, 500), st.just(10**6)),
       seeds=st.binary(min_size=64, max_size=64), regs=st.lists(fbits, min_size=6, max_size=6), vlen=VLENS)
def test_sign_injection_and_vlenb_match_the_interpreter(items, budget, seeds, regs, vlen):
    t, i, m = both(items, budget, seeds, regs, vlen)
    assert t == i
    if budget == 10**6 and not items[0].startswith("csrrs") and (items[0].startswith("fsgnj") or "vlenb" in items[0]):
        assert m.translation["ran"] > 0   # the loop's block, from its first op on, ran translated


@settings(max_examples=40, deadline=None)
@given(items=fp_program(), budget=st.one_of(st.integers(1, 500), st.just(10**6)),
       seeds=st.binary(min_size=64, max_size=64), regs=st.lists(fbits, min_size=6, max_size=6), vlen=VLENS,
       preset=st.sampled_from(["spacemit-x60", "xuantie-c930", "generic"]))
def test_sign_injection_and_vlenb_time_the_same_translated(items, budget, seeds, regs, vlen, preset):
    t, i, _ = both(items, budget, seeds, regs, vlen, timed=preset)
    assert t == i


@pytest.mark.parametrize("vlen", [64, 128, 256, 1024, 4096])
def test_vlenb_reads_vlen_over_8_translated(vlen):
    """The spec's value, read in a block that ran translated (all of it: the
    reads sit in its loop), and the block holds them and ends after its branch."""
    items = ["csrr a0, vlenb", "csrr a1, vlenb", "add a2, a0, a1", "addi s2, s2, -1",
             ("to", "bne s2, zero, {off}", 0, 4), "ebreak"]
    t, i, m = both(items, 10**6, bytes(64), [0] * 6, vlen)
    assert t == i
    assert t["x"][10] == t["x"][11] == vlen // 8 and t["x"][12] == vlen // 4
    assert m.translation["ran"] == 3 * 5   # the loop's 3 passes of 5, the ebreak interpreted
