"""Zvbb and its subset Zvkb (csrc/vbb.c) against models written from the
vector crypto specification's text (riscv-isa-manual, "Zvbb"/"Zvkb"): every
SEW and LMUL, vl, vstart, masks and the tail/mask policies at VLEN 128-1024
(test_vec_int's scenarios), illegal register groups, and Zvkt's
data-independent timing on the model.  Encodings and disassembly are held to
llvm-mc-22 by tests/test_disasm.py (its extension rows include these); clang-22's
intrinsics are in tests/test_zvbb_clang.py."""
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, Machine
from rvai.target import Target
from tests.test_vec_int import VD, VS1, VS2, execute, expect_group, prepare, scenario
from tests.vec_util import UINT, get_group, run


def rev_bits(v: int, bits: int) -> int:
    return int(format(v, f"0{bits}b")[::-1], 2)


def rotl(a: int, s: int, w: int) -> int:
    s %= w
    return ((a << s) | (a >> (w - s))) & ((1 << w) - 1)


# name -> (forms, model(a = vs2 element, b = vs1 element / scalar, SEW))
SINGLE = {
    "vandn": ("vx", lambda a, b, w: a & ~b & ((1 << w) - 1)),
    "vrol": ("vx", lambda a, b, w: rotl(a, b & (w - 1), w)),
    "vror": ("vxi", lambda a, b, w: rotl(a, w - (b & (w - 1)), w)),
    "vbrev.v": ("", lambda a, b, w: rev_bits(a, w)),
    "vbrev8.v": ("", lambda a, b, w: int.from_bytes(bytes(rev_bits(x, 8) for x in a.to_bytes(w // 8, "little")),
                                                     "little")),
    "vrev8.v": ("", lambda a, b, w: int.from_bytes(a.to_bytes(w // 8, "little"), "big")),
    "vclz.v": ("", lambda a, b, w: w - a.bit_length()),
    "vctz.v": ("", lambda a, b, w: (a & -a).bit_length() - 1 if a else w),
    "vcpop.v": ("", lambda a, b, w: bin(a).count("1")),
}


def second_operand(m, s, rng, form, imm_bits):
    """(asm text, per-element values, registers) for vs1 / x[rs1] / the immediate."""
    if form == "v":
        return f"v{VS1}", [int(v) for v in get_group(m, VS1, 8, UINT[s["sew"]])], {}
    if form == "x":
        x = int(rng.choice([rng.integers(0, 2**64, dtype=np.uint64), rng.integers(0, 200)]))
        return "a0", [x & ((1 << s["sew"]) - 1)] * (8 * m.vlen), {"a0": x}
    imm = int(rng.integers(0, 1 << imm_bits))
    return str(imm), [imm] * (8 * m.vlen), {}


def with_value_corners(m, s, rng, reg):
    """Put zeros, all-ones and single bits among a group's elements (vclz/vctz/vcpop corners)."""
    w = s["sew"]
    data = get_group(m, reg, 8, UINT[w]) if reg + 8 <= 32 else None
    if data is None:
        return
    pick = rng.random(len(data))
    data[pick < 0.1] = 0
    data[(pick >= 0.1) & (pick < 0.2)] = np.iinfo(UINT[w]).max
    single = (pick >= 0.2) & (pick < 0.3)
    data[single] = (np.ones(single.sum(), UINT[w]) << rng.integers(0, w, single.sum()).astype(UINT[w]))
    raw = data.tobytes()
    for i in range(8):
        m.v(reg + i, raw[i * m.vlen // 8:(i + 1) * m.vlen // 8])


@pytest.mark.parametrize("name", list(SINGLE))
@given(s=scenario(), data=st.data())
@settings(max_examples=30, deadline=None)
def test_single_width(name, s, data):
    forms, model = SINGLE[name]
    m, rng = prepare(s)
    with_value_corners(m, s, rng, VS2)
    w, n = s["sew"], max(1, 2 ** s["lg"])
    if forms:
        form = data.draw(st.sampled_from(("v",) + tuple(forms)), label="form")
        text, b, regs = second_operand(m, s, rng, form, 6)
        insn = f"{name}.{'v' + form if form != 'i' else 'vi'} v{VD}, v{VS2}, {text}"
    else:
        b, regs, insn = [0] * (8 * m.vlen), {}, f"{name} v{VD}, v{VS2}"
    mask = np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(bool)
    a = [int(v) for v in get_group(m, VS2, n, UINT[w])]
    old = get_group(m, VD, n, UINT[w]).astype(object)
    execute(m, s, insn, **regs)
    want = expect_group(s, old, [model(x, y, w) for x, y in zip(a, b)], w, mask)
    got = get_group(m, VD, n, UINT[w]).astype(object)
    assert [hex(v) for v in got] == [hex(v) for v in want], insn


@given(s=scenario(sews=(8, 16, 32, 32, 64), max_lg=3), data=st.data())
@settings(max_examples=60, deadline=None)
def test_vwsll(s, data):
    form = data.draw(st.sampled_from("vxi"), label="form")
    m, rng = prepare(s)
    w, lg = s["sew"], s["lg"]
    text, b, regs = second_operand(m, s, rng, form, 5)
    insn = f"vwsll.{'v' + form} v{VD}, v{VS2}, {text}"
    if w == 64 or lg == 3:   # 2*SEW must be at most ELEN, and 2*LMUL at most 8
        with pytest.raises(IllegalInstruction, match=r"vwsll\."):
            execute(m, s, insn, **regs)
        return
    nn, nw = max(1, 2 ** lg), max(1, 2 ** (lg + 1))
    mask = np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(bool)
    a = [int(v) for v in get_group(m, VS2, nn, UINT[w])]
    old = get_group(m, VD, nw, UINT[2 * w]).astype(object)
    execute(m, s, insn, **regs)
    res = [(x << (y & (2 * w - 1))) & ((1 << 2 * w) - 1) for x, y in zip(a, b)]
    want = expect_group(s, old, res, 2 * w, mask)
    got = get_group(m, VD, nw, UINT[2 * w]).astype(object)
    assert [hex(v) for v in got] == [hex(v) for v in want], insn


ILLEGAL = [
    # masked, with vd = v0 (the mask register)
    ("vsetvli t0, zero, e32, m1, ta, ma", "vandn.vv v0, v2, v3, v0.t"),
    ("vsetvli t0, zero, e32, m1, ta, ma", "vbrev.v v0, v2, v0.t"),
    # register groups not aligned to LMUL
    ("vsetvli t0, zero, e16, m2, ta, ma", "vrol.vv v1, v2, v4"),
    ("vsetvli t0, zero, e16, m4, ta, ma", "vclz.v v4, v6"),
    ("vsetvli t0, zero, e8, m2, ta, ma", "vror.vv v2, v4, v5"),
    # vwsll: the wide vd may overlap a narrow source only in its highest part (LMUL >= 1)
    ("vsetvli t0, zero, e16, m1, ta, ma", "vwsll.vv v2, v2, v4"),
    ("vsetvli t0, zero, e16, m2, ta, ma", "vwsll.vx v4, v4, a0"),
    ("vsetvli t0, zero, e16, m1, ta, ma", "vwsll.vi v3, v4, 1"),
    ("vsetvli t0, zero, e64, m1, ta, ma", "vwsll.vi v2, v4, 1"),
]


@pytest.mark.parametrize("vset,insn", ILLEGAL)
def test_illegal_uses_stop_naming_the_instruction(vset, insn):
    with pytest.raises(IllegalInstruction, match=insn.split()[0].replace(".", r"\.")):
        run(Machine(vlen=128), [vset, insn])


def test_legal_vwsll_overlap_in_the_highest_part():
    m = Machine(vlen=128)
    m.v(3, np.arange(8, dtype=np.uint16).tobytes())
    run(m, ["vsetvli t0, zero, e16, m1, ta, ma", "vwsll.vi v2, v3, 4"])
    assert list(get_group(m, 2, 2, np.uint32)) == [i << 4 for i in range(8)]


def test_a_target_without_zvbb_refuses_it_and_zvkb_alone_keeps_its_subset():
    only_kb = Target(name="kb", cpu="generic-rv64", features=("+v", "+zvkb"))
    run(Machine(only_kb), ["vsetvli t0, zero, e32, m1, ta, ma", "vror.vi v1, v2, 3"])
    with pytest.raises(IllegalInstruction, match=r"vcpop\.v"):
        run(Machine(only_kb), ["vsetvli t0, zero, e32, m1, ta, ma", "vcpop.v v1, v2"])
    with pytest.raises(IllegalInstruction, match=r"vandn\.vv"):
        run(Machine(Target(name="none", cpu="generic-rv64", features=("+v",))),
            ["vsetvli t0, zero, e32, m1, ta, ma", "vandn.vv v1, v2, v3"])
    # +zvbb implies Zvkb, as in LLVM
    bb = Target(name="bb", cpu="generic-rv64", features=("+v", "+zvbb"))
    assert {"zvbb", "zvkb"} <= bb.extensions
    run(Machine(bb), ["vsetvli t0, zero, e32, m1, ta, ma", "vrev8.v v1, v2", "vwsll.vi v4, v2, 3"])


# ---- Zvkt: the model's timing does not depend on the data -------------------------------

ZVKT_BODY = ["vsetvli t0, a0, e32, m2, ta, ma", "vandn.vv v4, v8, v10", "vror.vx v6, v8, a1",
             "vrol.vv v12, v4, v6", "vbrev8.v v14, v12", "vrev8.v v16, v14", "vclz.v v18, v16",
             "vctz.v v20, v18", "vcpop.v v22, v20", "vbrev.v v24, v22", "vwsll.vx v4, v24, a1",
             "vror.vi v26, v8, 37"]


def with_zvbb(preset):
    target = Target.preset(preset)
    return dataclasses.replace(target, features=target.features + ("+zvbb",))


@pytest.mark.parametrize("preset", ["xuantie-c930", "spacemit-x60", "sifive-x280"])
@given(seeds=st.lists(st.integers(0, 2**32 - 1), min_size=2, max_size=2), shift=st.integers(0, 2**64 - 1))
@settings(max_examples=8, deadline=None)
def test_zvkt_timing_is_independent_of_the_data(preset, seeds, shift):
    """The same instructions over different register contents (zeros, all ones, random)
    and shift amounts take the same number of model cycles, on each preset's model
    (with Zvbb switched on where the preset lacks it)."""
    target = with_zvbb(preset)
    cycles = []
    for seed, amount in ((seeds[0], shift), (seeds[1], 0), (seeds[1], 2**64 - 1)):
        m = Machine(target)
        m.set_timed(True)
        rng = np.random.default_rng(seed)
        for r in range(32):
            m.v(r, rng.integers(0, 256, m.vlen // 8, dtype=np.uint8).tobytes() if seed % 3 else bytes(m.vlen // 8))
        run(m, ZVKT_BODY * 4, a0=16, a1=amount)
        cycles.append(m.cycles)
    assert len(set(cycles)) == 1, cycles
