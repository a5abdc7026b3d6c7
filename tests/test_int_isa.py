"""Every scalar integer instruction (RV64I, M, A, Zicsr, Zba, Zbb, Zbs and the
counters) against Python models written from the ISA manual's text, with
hypothesis choosing the operands."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, LoadFault, Machine, MisalignedAccess
from tests.conftest import CODE, load_program

M64, M32 = 2**64 - 1, 2**32 - 1
EDGES = [0, 1, 2, 31, 32, 63, 64, M32, 2**31, 2**31 - 1, 2**32, 2**63, 2**63 - 1, M64, M64 - 1,
         0xFFFFFFFF_80000000, 0x80000000_00000001, 0x01234567_89ABCDEF]
U64 = st.sampled_from(EDGES) | st.integers(0, M64)
IMM12 = st.sampled_from([0, 1, -1, 2047, -2048]) | st.integers(-2048, 2047)


def s64(x: int) -> int:
    x &= M64
    return x - 2**64 if x >> 63 else x


def s32(x: int) -> int:
    x &= M32
    return x - 2**32 if x >> 31 else x


def w(x: int) -> int:
    """The W ops' result: the low 32 bits, sign-extended to 64."""
    return s32(x) & M64


def trunc_div(a: int, b: int) -> int:
    """Division rounding toward zero, as the M extension's div does."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def div(a, b, bits):
    lo = -(2 ** (bits - 1))
    if b == 0:
        return -1
    if a == lo and b == -1:
        return a                      # overflow: the dividend
    return trunc_div(a, b)


def rem(a, b, bits):
    lo = -(2 ** (bits - 1))
    if b == 0:
        return a
    if a == lo and b == -1:
        return 0
    return a - b * trunc_div(a, b)


def rol(a, n, bits):
    n %= bits
    mask = 2**bits - 1
    return ((a << n) | (a >> (bits - n))) & mask


def clz(a, bits):
    return bits - (a & (2**bits - 1)).bit_length()


def ctz(a, bits):
    a &= 2**bits - 1
    return bits if a == 0 else (a & -a).bit_length() - 1


def orc_b(a):
    return sum(0xFF << i for i in range(0, 64, 8) if (a >> i) & 0xFF)


# rd = f(rs1, rs2), from the instruction descriptions of the manual.
REG_OPS = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b,
    "sll": lambda a, b: a << (b & 63), "srl": lambda a, b: a >> (b & 63),
    "sra": lambda a, b: s64(a) >> (b & 63),
    "slt": lambda a, b: int(s64(a) < s64(b)), "sltu": lambda a, b: int(a < b),
    "xor": lambda a, b: a ^ b, "or": lambda a, b: a | b, "and": lambda a, b: a & b,
    "addw": lambda a, b: w(a + b), "subw": lambda a, b: w(a - b),
    "sllw": lambda a, b: w(a << (b & 31)), "srlw": lambda a, b: w((a & M32) >> (b & 31)),
    "sraw": lambda a, b: w(s32(a) >> (b & 31)),
    "mul": lambda a, b: a * b, "mulh": lambda a, b: (s64(a) * s64(b)) >> 64,
    "mulhsu": lambda a, b: (s64(a) * b) >> 64, "mulhu": lambda a, b: (a * b) >> 64,
    "div": lambda a, b: div(s64(a), s64(b), 64), "rem": lambda a, b: rem(s64(a), s64(b), 64),
    "divu": lambda a, b: M64 if b == 0 else a // b, "remu": lambda a, b: a if b == 0 else a % b,
    "mulw": lambda a, b: w(a * b),
    "divw": lambda a, b: w(div(s32(a), s32(b), 32)), "remw": lambda a, b: w(rem(s32(a), s32(b), 32)),
    "divuw": lambda a, b: w(M32 if b & M32 == 0 else (a & M32) // (b & M32)),
    "remuw": lambda a, b: w(a if b & M32 == 0 else (a & M32) % (b & M32)),
    "sh1add": lambda a, b: (a << 1) + b, "sh2add": lambda a, b: (a << 2) + b,
    "sh3add": lambda a, b: (a << 3) + b, "add.uw": lambda a, b: (a & M32) + b,
    "sh1add.uw": lambda a, b: ((a & M32) << 1) + b, "sh2add.uw": lambda a, b: ((a & M32) << 2) + b,
    "sh3add.uw": lambda a, b: ((a & M32) << 3) + b,
    "andn": lambda a, b: a & ~b, "orn": lambda a, b: a | ~b, "xnor": lambda a, b: ~(a ^ b),
    "max": lambda a, b: max(s64(a), s64(b)), "min": lambda a, b: min(s64(a), s64(b)),
    "maxu": lambda a, b: max(a, b), "minu": lambda a, b: min(a, b),
    "rol": lambda a, b: rol(a, b & 63, 64), "ror": lambda a, b: rol(a, -(b & 63), 64),
    "rolw": lambda a, b: w(rol(a & M32, b & 31, 32)), "rorw": lambda a, b: w(rol(a & M32, -(b & 31), 32)),
    "bclr": lambda a, b: a & ~(1 << (b & 63)), "bset": lambda a, b: a | (1 << (b & 63)),
    "binv": lambda a, b: a ^ (1 << (b & 63)), "bext": lambda a, b: (a >> (b & 63)) & 1,
}
# rd = f(rs1, imm)
IMM_OPS = {
    "addi": lambda a, i: a + i, "slti": lambda a, i: int(s64(a) < i),
    "sltiu": lambda a, i: int(a < (i & M64)), "xori": lambda a, i: a ^ i,
    "ori": lambda a, i: a | i, "andi": lambda a, i: a & i, "addiw": lambda a, i: w(a + i),
}
# rd = f(rs1, shamt), with the shamt width
SHIFT_OPS = {
    "slli": (64, lambda a, n: a << n), "srli": (64, lambda a, n: a >> n),
    "srai": (64, lambda a, n: s64(a) >> n), "slliw": (32, lambda a, n: w(a << n)),
    "srliw": (32, lambda a, n: w((a & M32) >> n)), "sraiw": (32, lambda a, n: w(s32(a) >> n)),
    "slli.uw": (64, lambda a, n: (a & M32) << n), "rori": (64, lambda a, n: rol(a, -n, 64)),
    "roriw": (32, lambda a, n: w(rol(a & M32, -n, 32))),
    "bclri": (64, lambda a, n: a & ~(1 << n)), "bseti": (64, lambda a, n: a | (1 << n)),
    "binvi": (64, lambda a, n: a ^ (1 << n)), "bexti": (64, lambda a, n: (a >> n) & 1),
}
UNARY_OPS = {
    "clz": lambda a: clz(a, 64), "ctz": lambda a: ctz(a, 64), "cpop": lambda a: bin(a).count("1"),
    "clzw": lambda a: clz(a, 32), "ctzw": lambda a: ctz(a, 32), "cpopw": lambda a: bin(a & M32).count("1"),
    "sext.b": lambda a: s64((a & 0xFF) - ((a & 0x80) << 1)),
    "sext.h": lambda a: s64((a & 0xFFFF) - ((a & 0x8000) << 1)),
    "zext.h": lambda a: a & 0xFFFF, "orc.b": orc_b,
    "rev8": lambda a: int.from_bytes(a.to_bytes(8, "little"), "big"),
}


def run(lines, *args):
    """Run ``lines`` (ending in ret) as a function of args; a0 as u64."""
    m = Machine(vlen=128)
    load_program(m, lines)
    return m.call(CODE, *args, ret="u64")


@given(op=st.sampled_from(sorted(REG_OPS)), a=U64, b=U64)
@settings(max_examples=400, deadline=None)
def test_register_ops(op, a, b):
    assert run([f"{op} a0, a0, a1", "ret"], a, b) == REG_OPS[op](a, b) & M64


@given(op=st.sampled_from(sorted(REG_OPS)), a=U64)
@settings(max_examples=60, deadline=None)
def test_register_ops_with_one_source_twice(op, a):
    assert run([f"{op} a0, a0, a0", "ret"], a) == REG_OPS[op](a, a) & M64


@given(op=st.sampled_from(sorted(IMM_OPS)), a=U64, imm=IMM12)
@settings(max_examples=200, deadline=None)
def test_immediate_ops(op, a, imm):
    # The disassembler's aliases (li, mv, not, seqz, sext.w) encode the same rows.
    assert run([f"{op} a0, a0, {imm}", "ret"], a) == IMM_OPS[op](a, imm) & M64


@given(op=st.sampled_from(sorted(SHIFT_OPS)), a=U64, data=st.data())
@settings(max_examples=200, deadline=None)
def test_shift_immediate_ops(op, a, data):
    bits, f = SHIFT_OPS[op]
    n = data.draw(st.integers(0, bits - 1))
    assert run([f"{op} a0, a0, {n}", "ret"], a) == f(a, n) & M64


@given(op=st.sampled_from(sorted(UNARY_OPS)), a=U64)
@settings(max_examples=150, deadline=None)
def test_unary_bit_ops(op, a):
    assert run([f"{op} a0, a0", "ret"], a) == UNARY_OPS[op](a) & M64


@given(op=st.sampled_from(sorted(REG_OPS)), a=U64, b=U64)
@settings(max_examples=40, deadline=None)
def test_writes_to_x0_are_dropped(op, a, b):
    assert run([f"{op} zero, a0, a1", "add a0, zero, a1", "ret"], a, b) == b


@given(imm=st.integers(0, 2**20 - 1))
@settings(max_examples=50, deadline=None)
def test_lui_and_auipc(imm):
    upper = w(imm << 12)
    assert run([f"lui a0, {imm}", "ret"]) == upper
    # auipc sits at CODE + 4 here.
    assert run(["nop", f"auipc a0, {imm}", "ret"]) == (CODE + 4 + upper) & M64


BRANCHES = {"beq": lambda a, b: a == b, "bne": lambda a, b: a != b,
            "blt": lambda a, b: s64(a) < s64(b), "bge": lambda a, b: s64(a) >= s64(b),
            "bltu": lambda a, b: a < b, "bgeu": lambda a, b: a >= b}


@given(op=st.sampled_from(sorted(BRANCHES)), a=U64, b=U64, same=st.booleans())
@settings(max_examples=150, deadline=None)
def test_branches_forward_and_backward(op, a, b, same):
    b = a if same else b
    # Forward: taken lands on "li a0, 1".
    assert run([f"{op} a0, a1, 12", "li a0, 0", "ret", "li a0, 1", "ret"], a, b) == BRANCHES[op](a, b)
    # Backward: jump over the branch, which jumps back when taken.
    assert run(["j 12", "li a0, 1", "ret", f"{op} a0, a1, -8", "li a0, 0", "ret"], a, b) == \
        BRANCHES[op](a, b)


def test_jal_links_the_next_pc_and_jumps():
    assert run(["jal t0, 8", "ret", "mv a0, t0", "ret"]) == CODE + 4
    assert run(["jal zero, 8", "ret", "mv a0, zero", "ret"]) == 0


@given(offset=st.integers(-16, 16))
@settings(max_examples=30, deadline=None)
def test_jalr_adds_the_offset_clears_bit_0_and_links(offset):
    target = CODE + 12
    for low in (0, 1):   # bit 0 of the sum is dropped
        base = target - offset + low
        assert run([f"jalr t0, {offset}(a0)", "ret", "ret", "mv a0, t0", "ret"], base) == CODE + 4
    # rd == rs1: the target comes from the old value.
    assert run(["jalr a0, 0(a0)", "ret", "ret", "ret"], target) == CODE + 4


LOADS = {"lb": (1, True), "lh": (2, True), "lw": (4, True), "ld": (8, True),
         "lbu": (1, False), "lhu": (2, False), "lwu": (4, False)}
STORES = {"sb": 1, "sh": 2, "sw": 4, "sd": 8}


@given(op=st.sampled_from(sorted(LOADS)), data=st.binary(min_size=64, max_size=64),
       off=st.integers(0, 48), imm=st.integers(-8, 8))
@settings(max_examples=200, deadline=None)
def test_loads_extend_and_allow_misaligned_addresses(op, data, off, imm):
    m = Machine(vlen=128)
    buf = m.alloc(64)
    m.write(buf, np.frombuffer(data, np.uint8))
    load_program(m, [f"{op} a0, {imm}(a0)", "ret"])
    n, signed = LOADS[op]
    start = off + 8
    want = int.from_bytes(data[start:start + n], "little", signed=signed) & M64
    assert m.call(CODE, buf + start - imm, ret="u64") == want


@given(op=st.sampled_from(sorted(STORES)), value=U64, off=st.integers(8, 48), imm=st.integers(-8, 8))
@settings(max_examples=150, deadline=None)
def test_stores_write_only_their_bytes(op, value, off, imm):
    m = Machine(vlen=128)
    buf = m.alloc(64)
    m.write(buf, np.full(64, 0xA5, np.uint8))
    load_program(m, [f"{op} a1, {imm}(a0)", "ret"])
    m.call(CODE, buf + off - imm, value)
    n = STORES[op]
    want = bytearray([0xA5] * 64)
    want[off:off + n] = (value & (2 ** (8 * n) - 1)).to_bytes(n, "little")
    assert m.read_bytes(buf, 64) == bytes(want)


def test_load_into_x0_still_faults():
    with pytest.raises(LoadFault):
        run(["lw zero, 0(a0)", "ret"], 0xDEAD0000)


AMOS = {"amoswap": lambda o, s, b: s, "amoadd": lambda o, s, b: o + s,
        "amoxor": lambda o, s, b: o ^ s, "amoand": lambda o, s, b: o & s,
        "amoor": lambda o, s, b: o | s,
        "amomin": lambda o, s, b: o if sx(o, b) < sx(s, b) else s,
        "amomax": lambda o, s, b: o if sx(o, b) > sx(s, b) else s,
        "amominu": lambda o, s, b: min(o, s), "amomaxu": lambda o, s, b: max(o, s)}


def sx(v, bits):
    return s32(v) if bits == 32 else s64(v)


@given(op=st.sampled_from(sorted(AMOS)), width=st.sampled_from(["w", "d"]),
       order=st.sampled_from(["", ".aq", ".rl", ".aqrl"]), old=U64, src=U64)
@settings(max_examples=200, deadline=None)
def test_amo_returns_the_old_value_and_stores_the_result(op, width, order, old, src):
    bits = 32 if width == "w" else 64
    mask = 2**bits - 1
    m = Machine(vlen=128)
    buf = m.alloc(16)
    m.write(buf, np.array([old, 0], np.uint64))
    load_program(m, [f"{op}.{width}{order} a0, a1, (a2)", "ret"])
    got = m.call(CODE, 0, src, buf, ret="u64")
    assert got == (sx(old & mask, bits) & M64)
    stored = AMOS[op](old & mask, src & mask, bits) & mask
    assert int(m.read(buf, np.uint64, 1)[0]) == (old & ~mask & M64) | stored


@pytest.mark.parametrize("insn", ["lr.w a0, (a0)", "lr.d a0, (a0)", "sc.w a1, a1, (a0)",
                                  "sc.d a1, a1, (a0)", "amoadd.w a1, a1, (a0)", "amoswap.d a1, a1, (a0)"])
def test_misaligned_atomics_fault(insn):
    m = Machine(vlen=128)
    buf = m.alloc(16)
    load_program(m, [insn, "ret"])
    off = 2 if ".w" in insn else 4
    with pytest.raises(MisalignedAccess) as e:
        m.call(CODE, buf + off)
    assert e.value.addr == buf + off


@given(width=st.sampled_from(["w", "d"]), old=U64, new=U64)
@settings(max_examples=40, deadline=None)
def test_lr_sc_pairing(width, old, new):
    bits = 32 if width == "w" else 64
    mask = 2**bits - 1

    def go(lines):
        """Run lines with a0 = a buffer holding old, a1 = new; (a0, memory)."""
        m = Machine(vlen=128)
        buf = m.alloc(16)
        m.write(buf, np.array([old, 0], np.uint64))
        load_program(m, lines + ["ret"])
        return m.call(CODE, buf, new, ret="u64"), int(m.read(buf, np.uint64, 1)[0])

    # lr then sc: lr reads the old value sign-extended, the sc succeeds (rd = 0) and stores.
    got, mem = go([f"lr.{width} a3, (a0)", f"sc.{width} a0, a1, (a0)", "bnez a0, 8", "mv a0, a3"])
    assert got == sx(old & mask, bits) & M64 and mem & mask == new & mask
    # sc with no reservation fails (rd != 0) and leaves memory alone.
    got, mem = go([f"sc.{width} a0, a1, (a0)"])
    assert got != 0 and mem == old
    # One lr serves one sc: the second fails.
    got, _ = go([f"lr.{width} a3, (a0)", f"sc.{width} a4, a1, (a0)", f"sc.{width} a0, a1, (a0)"])
    assert got != 0
    # The reservation is for lr's address: an sc elsewhere fails.
    got, _ = go([f"lr.{width} a3, (a0)", "addi a2, a0, 8", f"sc.{width} a0, a1, (a2)"])
    assert got != 0


# fcsr = frm (bits 7:5) | fflags (bits 4:0); fflags and frm are views of it.
FP_CSRS = {"fflags": (0, 0x1F), "frm": (5, 0x7), "fcsr": (0, 0xFF)}


@given(csr=st.sampled_from(sorted(FP_CSRS)),
       op=st.sampled_from(["csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci"]),
       init=st.integers(0, 0xFF), v=U64)
@settings(max_examples=250, deadline=None)
def test_csr_read_modify_write(csr, op, init, v):
    shift, mask = FP_CSRS[csr]
    source = "a1"
    if op.endswith("i"):   # the immediate forms take a 5-bit unsigned source
        v &= 31
        source = str(v)
    m = Machine(vlen=128)
    m.csr(0x003, init)
    load_program(m, [f"{op} a0, {csr}, {source}", "ret"])
    old = (init >> shift) & mask
    assert m.call(CODE, 0, v, ret="u64") == old
    new = {"csrrw": v, "csrrs": old | v, "csrrc": old & ~v}[op.rstrip("i")] & mask
    assert (m.csr(0x003) >> shift) & mask == new


@pytest.mark.parametrize("csr", ["cycle", "time", "instret", "vl", "vtype", "vlenb"])
def test_read_only_csrs_read_but_refuse_writes(csr):
    for legal in (f"csrr a0, {csr}", f"csrrs a0, {csr}, zero", f"csrrci a0, {csr}, 0"):
        run([legal, "ret"])
    # A write is attempted whenever rs1 is not x0 (even holding 0) or uimm is not 0.
    for illegal in (f"csrrw a0, {csr}, a1", f"csrw {csr}, zero", f"csrrs a0, {csr}, a1",
                    f"csrrc a0, {csr}, a1", f"csrrwi a0, {csr}, 0", f"csrrsi a0, {csr}, 1"):
        with pytest.raises(IllegalInstruction):
            run([illegal, "ret"], 0, 0)


@pytest.mark.parametrize("csr", ["mstatus", "mscratch", "sstatus", "satp", "mcycle", "4095"])
def test_unknown_csrs_are_illegal(csr):
    for insn in (f"csrr a0, {csr}", f"csrw {csr}, a0", f"csrrw zero, {csr}, a0"):
        with pytest.raises(IllegalInstruction):
            run([insn, "ret"])


def test_vlenb_reads_vlen_over_8():
    for vlen in (128, 512):
        m = Machine(vlen=vlen)
        load_program(m, ["csrr a0, vlenb", "ret"])
        assert m.call(CODE) == vlen // 8


@given(n=st.integers(0, 40))
@settings(max_examples=20, deadline=None)
def test_instret_and_cycle_count_retired_instructions(n):
    # rdinstret reads the instructions retired before it.
    m = Machine(vlen=128)
    load_program(m, ["nop"] * n + ["rdinstret a0", "ret"])
    m.reset_counters()
    assert m.call(CODE) == n
    # In functional mode one instruction retires per cycle: rdcycle runs one after rdinstret.
    m = Machine(vlen=128)
    load_program(m, ["nop"] * n + ["rdinstret a0", "rdcycle a1", "sub a0, a1, a0", "ret"])
    assert m.call(CODE) == 1
    assert m.instret == n + 4
