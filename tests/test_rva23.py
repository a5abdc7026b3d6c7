"""The RVA23U64 extensions of csrc/insns_rva23.def (and the hints and
compressed forms in the decoder) against models written from their
specifications: Zicond, Zbc, Zbkb, Zbkx, Zicbom/Zicboz, Zawrs, Zimop, Zcmop,
Zicbop, Zihintntl, Zihintpause.  Hypothesis draws the operands; each
instruction runs through the assembler on a Machine."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, Machine, disasm_word
from rvai.emu.isa import assemble
from rvai.target import Target
from tests.conftest import CODE
from tests.vec_util import run

M64 = (1 << 64) - 1
words = st.one_of(st.integers(0, M64), st.sampled_from([0, 1, M64, 1 << 63, 0x8000_0000, 0xFF]))


def sext32(v):
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v >> 31 else v


def clmul_full(a, b):
    """The 127-bit carry-less product (the spec's loop over the bits of b)."""
    return sum_xor(a << i for i in range(64) if b >> i & 1)


def sum_xor(terms):
    r = 0
    for t in terms:
        r ^= t
    return r


def xperm(a, b, width):
    """Each width-bit field of b selects a field of a (out of range: 0)."""
    n, mask, r = 64 // width, (1 << width) - 1, 0
    for i in range(n):
        k = b >> (i * width) & mask
        if k < n:
            r |= (a >> (k * width) & mask) << (i * width)
    return r


MODELS = {
    "czero.eqz": lambda a, b: 0 if b == 0 else a,
    "czero.nez": lambda a, b: 0 if b != 0 else a,
    "clmul": lambda a, b: clmul_full(a, b) & M64,
    "clmulh": lambda a, b: clmul_full(a, b) >> 64,
    "clmulr": lambda a, b: clmul_full(a, b) >> 63 & M64,
    "pack": lambda a, b: (a & 0xFFFF_FFFF) | (b & 0xFFFF_FFFF) << 32,
    "packh": lambda a, b: (a & 0xFF) | (b & 0xFF) << 8,
    "packw": lambda a, b: sext32((a & 0xFFFF) | (b & 0xFFFF) << 16) & M64,
    "xperm4": lambda a, b: xperm(a, b, 4),
    "xperm8": lambda a, b: xperm(a, b, 8),
}


@pytest.mark.parametrize("name", list(MODELS))
@given(a=words, b=words)
@settings(max_examples=30, deadline=None)
def test_register_register_ops(name, a, b):
    m = Machine(vlen=128)
    run(m, [f"{name} a0, a1, a2", f"{name} a3, a1, a1", f"{name} zero, a1, a2"], a1=a, a2=b)
    assert m.x(10) == MODELS[name](a, b)
    assert m.x(13) == MODELS[name](a, a)


@given(a=words)
@settings(max_examples=30, deadline=None)
def test_brev8_reverses_the_bits_of_each_byte(a):
    m = Machine(vlen=128)
    run(m, ["brev8 a0, a1"], a1=a)
    want = int.from_bytes(bytes(int(f"{byte:08b}"[::-1], 2) for byte in a.to_bytes(8, "little")), "little")
    assert m.x(10) == want


@given(n=st.integers(0, 31), rr=st.integers(0, 7), a=words, b=words)
@settings(max_examples=30, deadline=None)
def test_may_be_operations_write_zero(n, rr, a, b):
    m = Machine(vlen=128)
    run(m, [f"mop.r.{n} a0, a1", f"mop.rr.{rr} a3, a1, a2"], a0=a, a1=a, a2=b, a3=b)
    assert m.x(10) == 0 and m.x(13) == 0 and m.x(11) == a


def test_compressed_may_be_operations_change_nothing():
    m = Machine(vlen=128)
    m.map(CODE, 4096, "rx")
    m.write(CODE, np.array([0x6081, 0x6781, 0x8082], np.uint16))   # c.mop.1, c.mop.15, ret
    m.call(CODE, 11, 22, ret=None)
    assert m.x(10) == 11 and m.x(11) == 22 and m.x(1) != 0


@given(offset=st.integers(0, 4095), fill=st.integers(1, 255))
@settings(max_examples=30, deadline=None)
def test_cbo_zero_clears_the_aligned_64_byte_block(offset, fill):
    m = Machine(vlen=128)
    buf = m.alloc(8192, align=4096)
    m.write(buf, np.full(8192, fill, np.uint8))
    addr = buf + 2048 + offset - 2048 // 2
    run(m, ["cbo.zero (a0)", "cbo.clean (a0)", "cbo.flush (a0)", "cbo.inval (a0)"], a0=addr)
    got = m.read(buf, np.uint8, 8192)
    block = (addr & ~63) - buf
    want = np.full(8192, fill, np.uint8)
    want[block:block + 64] = 0
    assert np.array_equal(got, want)


def test_hints_and_waits_change_nothing():
    m = Machine(vlen=128)
    lines = ["pause", "ntl.p1", "ntl.pall", "ntl.s1", "ntl.all", "prefetch.i 32(a0)", "prefetch.r -64(a0)",
             "prefetch.w 0(a0)", "wrs.nto", "wrs.sto"]
    run(m, lines, a0=0x1234, a1=77)
    assert m.x(10) == 0x1234 and m.x(11) == 77
    # the compressed hints run too (c.ntl.* are c.add zero, x2..x5; c.mop.N a c.lui with immediate 0)
    for word, text in [(0x900A, "c.ntl.p1"), (0x9016, "c.ntl.all"), (0x6181, "c.mop.3"), (0x6781, "c.mop.15")]:
        assert disasm_word(word) == text


def test_compressed_hints_run_as_no_ops_and_ntl_leaves_the_next_access_alone():
    """Zihintntl's c.ntl.* (c.add zero, x2..x5) and ntl.* only hint at the locality of
    the access after them: that access happens as without the hint (the spec's
    "no architecturally visible effect")."""
    m = Machine(vlen=128)
    buf = m.alloc(64)
    m.map(CODE, 4096, "rx")
    sd, ld = assemble("sd a1, 8(a0)"), assemble("ld a2, 8(a0)")
    half = [0x900A, 0x900E, 0x9012, 0x9016]   # c.ntl.p1, c.ntl.pall, c.ntl.s1, c.ntl.all
    words = np.array(half + [sd & 0xFFFF, sd >> 16, 0x9016, ld & 0xFFFF, ld >> 16, 0x8082], np.uint16)
    m.write(CODE, words)
    m.call(CODE, buf, 0x1234_5678_9ABC, 0, ret=None)
    assert m.x(12) == 0x1234_5678_9ABC and m.read(buf + 8, np.uint64, 1)[0] == 0x1234_5678_9ABC
    assert m.x(10) == buf and m.x(2) != 0   # sp (c.ntl.p1 names it as rs2) is untouched
    m = Machine(vlen=128)
    run(m, ["ntl.pall", "sd a1, 0(a0)", "ntl.s1", "ld a2, 0(a0)"], a0=m.alloc(8), a1=99)
    assert m.x(12) == 99


def test_hpmcounters_read_zero_and_are_read_only():
    m = Machine(vlen=128)
    run(m, ["csrr a0, hpmcounter3", "csrr a1, hpmcounter31"], a0=5, a1=5)
    assert m.x(10) == 0 and m.x(11) == 0
    with pytest.raises(IllegalInstruction, match="hpmcounter4"):
        run(Machine(vlen=128), ["csrw hpmcounter4, a0"])


def test_switching_an_extension_off_makes_it_illegal():
    target = Target(name="no-zicond", cpu="spacemit-x60", features=("-zicond",))
    run(Machine(target), ["clmul a0, a1, a2"])   # the cpu's Zbc stays
    with pytest.raises(IllegalInstruction, match=r"czero\.eqz"):
        run(Machine(target), ["czero.eqz a0, a1, a2"])
