"""The AI-kernel extensions of csrc/vai.c against models written from their
specifications: bfloat16 conversions and vfwmaccbf16 (Zvfbfmin, Zvfbfwma;
test_fp's exact rational oracle with a bfloat16 format), the int8 dot
products of Zvqdotq (NumPy, exact integers modulo 2^32) and SpacemiT's
smt.vmadot* tile multiply-accumulate (NumPy from the vendor's pseudo-code,
and the worked example printed in its text).  Hypothesis draws VLEN, LMUL,
vl, vstart, masks and policies; illegal uses must stop naming the instruction."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, Machine
from tests.test_fp import NV, RNE, S, Fmt, o_convert, o_fma
from tests.test_vec_int import VD, VS1, VS2, execute, expect_group, scenario
from tests.test_vfwide import fp_values, mask_of
from tests.vec_util import UINT, get_group, run, set_group

B = Fmt("bf16", 16, 8)   # bfloat16: the upper half of a single


def machine(s, fill):
    """A Machine for scenario s, every register random, then {reg: (fmt or width, nregs)} filled."""
    m = Machine(vlen=s["vlen"], tail_ones=s["ones"])
    rng = np.random.default_rng(s["seed"])
    for r in range(32):
        m.v(r, rng.integers(0, 256, s["vlen"] // 8, dtype=np.uint8).tobytes())
    for reg, (f, nregs) in fill.items():
        set_group(m, reg, np.array(fp_values(rng, f, nregs * s["vlen"] // f.width), dtype=UINT[f.width]))
    return m, rng


def expect_illegal(m, s, insn, **regs):
    with pytest.raises(IllegalInstruction, match=insn.split()[0].replace(".", r"\.")):
        execute(m, s, insn, **regs)


# ---- bfloat16 ----------------------------------------------------------------

@pytest.mark.parametrize("narrow", [False, True])
@given(s=scenario(sews=(16, 16, 16, 32, 8)), frm=st.integers(0, 4))
@settings(max_examples=40, deadline=None)
def test_bf16_conversions(narrow, s, frm):
    insn = f"{'vfncvtbf16.f.f.w' if narrow else 'vfwcvtbf16.f.f.v'} v{VD}, v{VS2}"
    if s["sew"] != 16 or s["lg"] == 3:   # SEW 16 only; the wide side's EMUL must stay <= 8
        expect_illegal(machine(s, {})[0], s, insn)
        return
    src, dst = (S, B) if narrow else (B, S)
    nn, nw = max(1, 2 ** s["lg"]), max(1, 2 ** (s["lg"] + 1))
    m, _ = machine(s, {VS2: (src, nw if narrow else nn), VD: (dst, nn if narrow else nw)})
    m.csr(2, frm)
    m.csr(1, 0)
    mask = mask_of(m)
    a = get_group(m, VS2, nw if narrow else nn, UINT[src.width])
    old = get_group(m, VD, nn if narrow else nw, UINT[dst.width]).astype(object)
    execute(m, s, insn)
    res, flags = list(old), 0
    for i in range(s["vstart"], s["vl"]):
        if not s["masked"] or mask[i]:
            res[i], f = o_convert(int(a[i]), src, dst, frm)
            flags |= f
    want = expect_group(s, old, res, dst.width, mask)
    got = get_group(m, VD, nn if narrow else nw, UINT[dst.width]).astype(object)
    assert [hex(v) for v in got] == [hex(v) for v in want]
    assert m.csr(1) == flags


@pytest.mark.parametrize("form", ["vv", "vf"])
@given(s=scenario(sews=(16, 16, 16, 32)), frm=st.integers(0, 4), improper_box=st.booleans())
@settings(max_examples=40, deadline=None)
def test_vfwmaccbf16_is_one_rounding_of_the_exact_value(form, s, frm, improper_box):
    src = f"v{VS1}" if form == "vv" else "fa0"
    insn = f"vfwmaccbf16.{form} v{VD}, {src}, v{VS2}"
    if s["sew"] != 16 or s["lg"] == 3:
        expect_illegal(machine(s, {})[0], s, insn)
        return
    nn, nw = max(1, 2 ** s["lg"]), max(1, 2 ** (s["lg"] + 1))
    m, rng = machine(s, {VS2: (B, nn), VS1: (B, nn), VD: (S, nw)})
    scalar = fp_values(rng, B, 1)[0]
    m.f(10, int(rng.integers(0, 2**63)) if improper_box else (2**64 - 2**16) | scalar)
    scalar = B.cnan if improper_box else scalar   # an improperly NaN-boxed operand reads as the canonical NaN
    m.csr(2, frm)
    m.csr(1, 0)
    mask = mask_of(m)
    a, b = get_group(m, VS2, nn, np.uint16), get_group(m, VS1, nn, np.uint16)
    old = get_group(m, VD, nw, np.uint32).astype(object)
    execute(m, s, insn)
    res, flags = list(old), 0
    for i in range(s["vstart"], s["vl"]):
        if s["masked"] and not mask[i]:
            continue
        # the widening is exact (a signalling NaN stays one, so the FMA signals it)
        x = int(a[i]) << 16
        y = (int(b[i]) if form == "vv" else scalar) << 16
        res[i], f = o_fma(y, x, int(old[i]), S, frm)
        flags |= f
    want = expect_group(s, old, res, 32, mask)
    got = get_group(m, VD, nw, np.uint32).astype(object)
    assert [hex(v) for v in got] == [hex(v) for v in want]
    assert m.csr(1) == flags


@pytest.mark.parametrize("frm", range(5))
@given(bits=st.integers(0, 2**32 - 1), back=st.integers(0, 2**16 - 1))
@settings(max_examples=60, deadline=None)
def test_scalar_zfbfmin_conversions(frm, bits, back):
    m = Machine(vlen=128)
    m.f(1, (2**64 - 2**32) | bits)
    m.f(2, (2**64 - 2**16) | back)
    m.csr(1, 0)
    run(m, [f"fcvt.bf16.s ft3, ft1, {['rne', 'rtz', 'rdn', 'rup', 'rmm'][frm]}", "frflags a1",
            "fcvt.s.bf16 ft4, ft2", "frflags a2"])
    want, flags = o_convert(bits, S, B, frm)
    assert m.f(3) == (2**64 - 2**16) | want and m.x(11) == flags
    want, flags2 = o_convert(back, B, S, RNE)   # exact: the rounding mode cannot matter
    assert m.f(4) == (2**64 - 2**32) | want and m.x(12) == flags | flags2


def test_bf16_widening_signals_only_signalling_nans():
    m = Machine(vlen=128)
    m.v(2, np.array([0x7f81, 0x7fc1, 0xff80, 0x0001, 0x8000, 0x3f80, 0, 0], np.uint16).tobytes())
    m.csr(1, 0)
    run(m, ["vsetivli zero, 8, e16, m1, ta, ma", "vfwcvtbf16.f.f.v v4, v2"])
    assert list(get_group(m, 4, 2, np.uint32)[:6]) == [0x7fc00000, 0x7fc00000, 0xff800000, 0x10000,
                                                      0x80000000, 0x3f800000]
    assert m.csr(1) == NV


# ---- Zvqdotq ---------------------------------------------------------------------

# name -> (forms, vs2 bytes signed, vs1 / rs1 bytes signed)
QDOT = {"vqdot": (("vv", "vx"), True, True), "vqdotu": (("vv", "vx"), False, False),
        "vqdotsu": (("vv", "vx"), True, False), "vqdotus": (("vx",), False, True)}


@pytest.mark.parametrize("name", list(QDOT))
@given(s=scenario(sews=(32, 32, 32, 8, 16, 64)), data=st.data())
@settings(max_examples=40, deadline=None)
def test_vqdot(name, s, data):
    forms, sa, sb = QDOT[name]
    form = data.draw(st.sampled_from(forms), label="form")
    insn = f"{name}.{form} v{VD}, v{VS2}, {'v%d' % VS1 if form == 'vv' else 'a0'}"
    m, rng = machine(s, {})
    x = int(rng.integers(0, 2**64, dtype=np.uint64))
    if s["sew"] != 32:
        expect_illegal(m, s, insn, a0=x)
        return
    n = max(1, 2 ** s["lg"])
    mask = mask_of(m)
    a = get_group(m, VS2, n, np.uint32)
    b = get_group(m, VS1, n, np.uint32) if form == "vv" else np.full(len(a), x & 0xffffffff, np.uint32)
    old = get_group(m, VD, n, np.uint32).astype(object)
    execute(m, s, insn, a0=x)
    bytes_a = a.view(np.int8 if sa else np.uint8).astype(np.int64).reshape(-1, 4)
    bytes_b = b.view(np.int8 if sb else np.uint8).astype(np.int64).reshape(-1, 4)
    dots = (bytes_a * bytes_b).sum(axis=1)
    res = [(int(o) + int(dt)) % 2**32 for o, dt in zip(old, dots)]
    want = expect_group(s, old, res, 32, mask)
    assert [hex(v) for v in get_group(m, VD, n, np.uint32).astype(object)] == [hex(v) for v in want]


# ---- XSMTVDot (SpacemiT IME) ---------------------------------------------------------

# The tile shape SpacemiT gives per core: (M = N, K) at the VLEN of the A60 and the A100.
TILE = {256: (4, 8), 1024: (8, 16)}
SIGNS = {"": (True, True), "u": (False, False), "us": (False, True), "su": (True, False)}


def vmadot_model(a_bytes, b_bytes, c, slide, sa, sb, mn, k):
    """The vendor's loop: vd[p] += sum_q vs1[(p / M) * K + q + slide * K] * vs2[(p % N) * K + q]."""
    a = a_bytes.view(np.int8 if sa else np.uint8).astype(np.int64)
    b = b_bytes.view(np.int8 if sb else np.uint8).astype(np.int64)
    A = a[slide * k: slide * k + mn * k].reshape(mn, k)
    Bt = b[: mn * k].reshape(mn, k)
    return ((c.astype(np.int64) + (A @ Bt.T).reshape(-1)) % 2**32).astype(np.uint32)


@pytest.mark.parametrize("slide", [0, 1, 2, 3])
@pytest.mark.parametrize("sign", list(SIGNS))
@given(vlen=st.sampled_from([256, 1024]), seed=st.integers(0, 2**32 - 1),
       regs=st.sampled_from([(8, 2, 4), (0, 4, 6), (16, 2, 31), (30, 4, 0), (2, 0, 4)]))
@settings(max_examples=15, deadline=None)
def test_vmadot_tiles(slide, sign, vlen, seed, regs):
    vd, vs1, vs2 = regs
    name = f"smt.vmadot{slide or ''}{sign}"
    m = Machine(vlen=vlen)
    rng = np.random.default_rng(seed)
    for r in range(32):
        m.v(r, rng.integers(0, 256, vlen // 8, dtype=np.uint8).tobytes())
    mn, k = TILE[vlen]
    a = get_group(m, vs1, 2 if slide else 1, np.uint8)
    b = get_group(m, vs2, 1, np.uint8)
    c = get_group(m, vd, 2, np.uint32)
    others = {r: m.v(r) for r in range(32) if r not in (vd, vd + 1)}
    run(m, ["vsetvli t0, zero, e8, m1, ta, ma", f"{name} v{vd}, v{vs1}, v{vs2}"])
    want = vmadot_model(a, b, c, slide, *SIGNS[sign], mn, k)
    assert np.array_equal(get_group(m, vd, 2, np.uint32), want)
    assert all(m.v(r) == v for r, v in others.items())


def test_vmadot_vendor_examples():
    """The A60 examples of SpacemiT's text (section 5.1.6 and 5.2.6), C printed there."""
    feature = [[0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7, 8], [2, 3, 4, 5, 6, 7, 8, 9],
               [4, 5, 6, 7, 8, 9, 10, 11], [5, 6, 7, 8, 9, 10, 11, 12], [6, 7, 8, 9, 10, 11, 12, 13],
               [0] * 8, [0] * 8]
    b = [[0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7, 8], [2, 3, 4, 5, 6, 7, 8, 9],
         [11, 4, 5, 6, 7, 8, 9, 10]]
    m = Machine(vlen=256)
    set_group(m, 0, np.array(feature, np.int8))
    set_group(m, 8, np.array(b, np.int8))
    set_group(m, 16, np.zeros(16, np.int32))
    run(m, ["vsetvli t0, zero, e8, m1, ta, ma", "smt.vmadot v16, v0, v8", "vmv2r.v v20, v16",
            "smt.vmadot1 v16, v0, v8"])
    assert get_group(m, 20, 2, np.int32).reshape(4, 4).tolist() == [
        [140, 168, 196, 224], [168, 204, 240, 284], [196, 240, 284, 344], [252, 312, 372, 464]]
    # vmadot1 accumulates A's rows 1..4 onto that C.  The text prints 224 as the
    # last entry of the first row (the old value, a typo: its own operands add
    # 1*11 + 2*4 + ... + 8*10 = 284 there); every other entry is checked as printed.
    got = get_group(m, 16, 2, np.int32).reshape(4, 4).tolist()
    assert got[1:] == [[364, 444, 524, 628], [448, 552, 656, 808], [532, 660, 788, 988]]
    assert got[0][:3] == [308, 372, 436]


@pytest.mark.parametrize("text,setup,vlen", [
    ("smt.vmadot v9, v4, v2", "e8, m1", 256),        # odd vd
    ("smt.vmadot1u v7, v4, v2", "e8, m1", 256),      # odd vd, sliding form
    ("smt.vmadot v4, v4, v2", "e8, m1", 256),        # vd overlaps vs1
    ("smt.vmadot v4, v6, v5", "e8, m1", 256),        # vd+1 is vs2
    ("smt.vmadot2 v4, v2, v8", "e8, m1", 256),       # the A pair v2, v3 ... no overlap: legal below
    ("smt.vmadot2 v4, v4, v8", "e8, m1", 256),       # vd overlaps the A pair
    ("smt.vmadot3 v6, v4, v8", "e8, m1", 256),       # vd overlaps vs1+1? no: v4,v5 vs v6,v7 legal below
    ("smt.vmadot2su v4, v2, v8", "e8, m2", 256),     # LMUL != 1
    ("smt.vmadot v4, v8, v2", "e8, m1", 128),        # no tile shape at this VLEN
    ("smt.vmadot v4, v8, v2", "e8, m1", 512),
])
def test_vmadot_illegal_uses(text, setup, vlen):
    legal = text in ("smt.vmadot2 v4, v2, v8", "smt.vmadot3 v6, v4, v8")
    m = Machine(vlen=vlen)
    lines = [f"vsetvli t0, zero, {setup}, ta, ma", text]
    if legal:
        run(m, lines)
        return
    with pytest.raises(IllegalInstruction, match=text.split()[0].replace(".", r"\.")):
        run(m, lines)
