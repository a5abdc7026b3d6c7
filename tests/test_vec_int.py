"""Integer and fixed-point vector arithmetic against models written from the
RVV 1.0 spec text (chapters 11-12): every op over SEW, LMUL, vl, vstart, masks,
tail/mask policies (with agnostic elements filled with ones or left alone) and
VLEN in {128, 256, 512, 1024}."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, Machine
from tests.vec_util import UINT, VLENS, get_group, lmul_name, run, vlmax

VD, VS2, VS1 = 8, 16, 24


def sgn(v, bits):
    """Two's complement value of the low `bits` of v."""
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def roundoff(v, d, xrm):
    """The spec's roundoff(v, d) for vxrm 0 rnu, 1 rne, 2 rdn, 3 rod (v any Python int)."""
    if d == 0:
        return v
    bit = lambda k: (v >> k) & 1
    low = v & ((1 << (d - 1)) - 1)
    r = [bit(d - 1), bit(d - 1) & int(low != 0 or bit(d)), 0, int(not bit(d) and (v & ((1 << d) - 1)) != 0)][xrm]
    return (v >> d) + r


def clamp(v, lo, hi):
    """(saturated value, saturated?)"""
    return (min(max(v, lo), hi), v < lo or v > hi)


def _div(a, b, w):
    if b == 0:
        return -1
    if a == -(1 << (w - 1)) and b == -1:
        return a
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _rem(a, b, w):
    if b == 0:
        return a
    if a == -(1 << (w - 1)) and b == -1:
        return 0
    return a - _div(a, b, w) * b


# name -> (forms, model(a, b, c, w, xrm) -> value or (value, saturated)); a = vs2, b = vs1/rs1/imm, c = old vd.
SINGLE = {
    "vadd": ("vxi", lambda a, b, c, w, x: a + b),
    "vsub": ("vx", lambda a, b, c, w, x: a - b),
    "vrsub": ("xi", lambda a, b, c, w, x: b - a),
    "vand": ("vxi", lambda a, b, c, w, x: a & b),
    "vor": ("vxi", lambda a, b, c, w, x: a | b),
    "vxor": ("vxi", lambda a, b, c, w, x: a ^ b),
    "vminu": ("vx", lambda a, b, c, w, x: min(a, b)),
    "vmin": ("vx", lambda a, b, c, w, x: min(sgn(a, w), sgn(b, w))),
    "vmaxu": ("vx", lambda a, b, c, w, x: max(a, b)),
    "vmax": ("vx", lambda a, b, c, w, x: max(sgn(a, w), sgn(b, w))),
    "vsll": ("vxu", lambda a, b, c, w, x: a << (b % w)),
    "vsrl": ("vxu", lambda a, b, c, w, x: a >> (b % w)),
    "vsra": ("vxu", lambda a, b, c, w, x: sgn(a, w) >> (b % w)),
    "vmul": ("vx", lambda a, b, c, w, x: a * b),
    "vmulh": ("vx", lambda a, b, c, w, x: (sgn(a, w) * sgn(b, w)) >> w),
    "vmulhu": ("vx", lambda a, b, c, w, x: (a * b) >> w),
    "vmulhsu": ("vx", lambda a, b, c, w, x: (sgn(a, w) * b) >> w),
    "vdivu": ("vx", lambda a, b, c, w, x: a // b if b else -1),
    "vdiv": ("vx", lambda a, b, c, w, x: _div(sgn(a, w), sgn(b, w), w)),
    "vremu": ("vx", lambda a, b, c, w, x: a % b if b else a),
    "vrem": ("vx", lambda a, b, c, w, x: _rem(sgn(a, w), sgn(b, w), w)),
    "vmacc": ("vxM", lambda a, b, c, w, x: c + a * b),
    "vnmsac": ("vxM", lambda a, b, c, w, x: c - a * b),
    "vmadd": ("vxM", lambda a, b, c, w, x: b * c + a),
    "vnmsub": ("vxM", lambda a, b, c, w, x: a - b * c),
    "vsaddu": ("vxi", lambda a, b, c, w, x: clamp(a + b, 0, (1 << w) - 1)),
    "vsadd": ("vxi", lambda a, b, c, w, x: clamp(sgn(a, w) + sgn(b, w), -(1 << (w - 1)), (1 << (w - 1)) - 1)),
    "vssubu": ("vx", lambda a, b, c, w, x: clamp(a - b, 0, (1 << w) - 1)),
    "vssub": ("vx", lambda a, b, c, w, x: clamp(sgn(a, w) - sgn(b, w), -(1 << (w - 1)), (1 << (w - 1)) - 1)),
    "vaaddu": ("vx", lambda a, b, c, w, x: roundoff(a + b, 1, x)),
    "vaadd": ("vx", lambda a, b, c, w, x: roundoff(sgn(a, w) + sgn(b, w), 1, x)),
    "vasubu": ("vx", lambda a, b, c, w, x: roundoff(a - b, 1, x)),
    "vasub": ("vx", lambda a, b, c, w, x: roundoff(sgn(a, w) - sgn(b, w), 1, x)),
    "vsmul": ("vx", lambda a, b, c, w, x: clamp(roundoff(sgn(a, w) * sgn(b, w), w - 1, x),
                                                -(1 << (w - 1)), (1 << (w - 1)) - 1)),
    "vssrl": ("vxu", lambda a, b, c, w, x: roundoff(a, b % w, x)),
    "vssra": ("vxu", lambda a, b, c, w, x: roundoff(sgn(a, w), b % w, x)),
}

# Widening: result 2*SEW; a is SEW (or 2*SEW for .w forms).
WIDE = {
    "vwaddu": ("vx", lambda a, b, c, w: a + b),
    "vwadd": ("vx", lambda a, b, c, w: sgn(a, w) + sgn(b, w)),
    "vwsubu": ("vx", lambda a, b, c, w: a - b),
    "vwsub": ("vx", lambda a, b, c, w: sgn(a, w) - sgn(b, w)),
    "vwaddu.w": ("vx", lambda a, b, c, w: a + b),
    "vwadd.w": ("vx", lambda a, b, c, w: a + sgn(b, w)),
    "vwsubu.w": ("vx", lambda a, b, c, w: a - b),
    "vwsub.w": ("vx", lambda a, b, c, w: a - sgn(b, w)),
    "vwmulu": ("vx", lambda a, b, c, w: a * b),
    "vwmul": ("vx", lambda a, b, c, w: sgn(a, w) * sgn(b, w)),
    "vwmulsu": ("vx", lambda a, b, c, w: sgn(a, w) * b),
    "vwmaccu": ("vxM", lambda a, b, c, w: c + a * b),
    "vwmacc": ("vxM", lambda a, b, c, w: c + sgn(a, w) * sgn(b, w)),
    "vwmaccsu": ("vxM", lambda a, b, c, w: c + sgn(b, w) * a),
    "vwmaccus": ("xM", lambda a, b, c, w: c + b * sgn(a, w)),
}

# Narrowing: a is 2*SEW, shift b & (2*SEW - 1).
NARROW = {
    "vnsrl": lambda a, sh, w, x: a >> sh,
    "vnsra": lambda a, sh, w, x: sgn(a, 2 * w) >> sh,
    "vnclipu": lambda a, sh, w, x: clamp(roundoff(a, sh, x), 0, (1 << w) - 1),
    "vnclip": lambda a, sh, w, x: clamp(roundoff(sgn(a, 2 * w), sh, x), -(1 << (w - 1)), (1 << (w - 1)) - 1),
}


def config(draw_sew, lg_choices):
    return st.tuples(st.sampled_from(VLENS), draw_sew, st.sampled_from(lg_choices))


@st.composite
def scenario(draw, sews=(8, 16, 32, 64), max_lg=3):
    vlen = draw(st.sampled_from(VLENS))
    sew = draw(st.sampled_from(sews))
    lg = draw(st.sampled_from([g for g in range(-3, max_lg + 1) if sew <= 64 * 2.0 ** g]))
    vmax = vlmax(vlen, sew, lg)
    vl = draw(st.integers(0, vmax))
    vstart = draw(st.sampled_from([0, 0, 0, draw(st.integers(0, vmax - 1))]))   # the CSR holds indices < VLMAX
    return dict(vlen=vlen, sew=sew, lg=lg, vl=vl, vstart=vstart, masked=draw(st.booleans()),
                ta=draw(st.booleans()), ma=draw(st.booleans()), ones=draw(st.booleans()),
                xrm=draw(st.integers(0, 3)), seed=draw(st.integers(0, 2**32 - 1)))


def prepare(s):
    """A machine with random registers and the scenario's vtype, vl, vstart and vxrm."""
    m = Machine(vlen=s["vlen"], tail_ones=s["ones"])
    rng = np.random.default_rng(s["seed"])
    for r in range(32):
        m.v(r, rng.integers(0, 256, s["vlen"] // 8, dtype=np.uint8).tobytes())
    m.csr(0x00A, s["xrm"])
    return m, rng


def execute(m, s, insn, **regs):
    pol = f"{'ta' if s['ta'] else 'tu'}, {'ma' if s['ma'] else 'mu'}"
    mask = ", v0.t" if s["masked"] else ""
    run(m, [f"vsetvli t0, a7, e{s['sew']}, {lmul_name(s['lg'])}, {pol}", "csrrw zero, vstart, a6",
            insn + mask], a7=s["vl"], a6=s["vstart"], **regs)


def expect_group(s, old, results, eew, mask):
    """Apply the spec's vstart/mask/tail rules to per-element results."""
    out = old.copy()
    ones = (1 << eew) - 1
    if s["vstart"] >= s["vl"]:
        return out
    for i in range(s["vstart"], s["vl"]):
        if not s["masked"] or mask[i]:
            out[i] = results[i] & ones
        elif s["ma"] and s["ones"]:
            out[i] = ones
    if s["ta"] and s["ones"]:
        out[s["vl"]:] = ones
    return out


def operand(m, s, rng, form, vs1_eew):
    """(asm text, per-element b values, registers) for the second operand."""
    w = s["sew"]
    if form == "v":
        return f"v{VS1}", [int(v) for v in get_group(m, VS1, 8, UINT[vs1_eew])], {}
    if form == "x":
        x = int(rng.integers(0, 2**64, dtype=np.uint64))
        return "a0", [x & ((1 << w) - 1)] * 4096, {"a0": x}
    if form == "i":
        k = int(rng.integers(-16, 16))
        return str(k), [k & ((1 << w) - 1)] * 4096, {}
    k = int(rng.integers(0, 32))   # "u": uimm5
    return str(k), [k] * 4096, {}


@pytest.mark.parametrize("name", sorted(SINGLE))
@given(s=scenario(), data=st.data())
@settings(max_examples=12, deadline=None)
def test_single_width(name, s, data):
    forms, model = SINGLE[name]
    mac = "M" in forms
    form = data.draw(st.sampled_from(forms.replace("M", "")))
    m, rng = prepare(s)
    w, nregs = s["sew"], max(1, 2 ** s["lg"])
    mask = np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(bool)
    text, bvals, regs = operand(m, s, rng, form, w)
    sfx = {"v": ".vv", "x": ".vx", "i": ".vi", "u": ".vi"}[form]
    insn = f"{name}{sfx} v{VD}, {text}, v{VS2}" if mac else f"{name}{sfx} v{VD}, v{VS2}, {text}"
    old = get_group(m, VD, nregs, UINT[w]).astype(object)
    a = get_group(m, VS2, nregs, UINT[w])
    m.csr(0x009, 0)
    execute(m, s, insn, **regs)
    res, sat = [], False
    for i in range(len(old)):
        r = model(int(a[i]), bvals[i], int(old[i]), w, s["xrm"])
        if isinstance(r, tuple):
            r, flag = r
            active = s["vstart"] <= i < s["vl"] and (not s["masked"] or mask[i])
            sat |= flag and active
        res.append(r)
    want = expect_group(s, old, res, w, mask)
    got = get_group(m, VD, nregs, UINT[w]).astype(object)
    assert list(got) == list(want), insn
    assert m.csr(0x008) == 0
    if name in ("vsaddu", "vsadd", "vssubu", "vssub", "vsmul"):
        assert m.csr(0x009) == int(sat)


@pytest.mark.parametrize("name", sorted(WIDE))
@given(s=scenario(sews=(8, 16, 32), max_lg=2), data=st.data())
@settings(max_examples=12, deadline=None)
def test_widening(name, s, data):
    forms, model = WIDE[name]
    mac = "M" in forms
    form = data.draw(st.sampled_from(forms.replace("M", "")))
    m, rng = prepare(s)
    w, wide_a = s["sew"], name.endswith(".w")
    base = name[:-2] if wide_a else name
    dregs = max(1, 2 ** (s["lg"] + 1))
    mask = np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(bool)
    text, bvals, regs = operand(m, s, rng, form, w)
    sfx = ("w" if wide_a else "v") + ("v" if form == "v" else "x")
    insn = f"{base}.{sfx} v{VD}, {text}, v{VS2}" if mac else f"{base}.{sfx} v{VD}, v{VS2}, {text}"
    old = get_group(m, VD, dregs, UINT[2 * w]).astype(object)
    a = get_group(m, VS2, 8, UINT[2 * w if wide_a else w])
    execute(m, s, insn, **regs)
    res = [model(int(a[i]), bvals[i], int(old[i]), w) for i in range(len(old))]
    want = expect_group(s, old, res, 2 * w, mask)
    assert list(get_group(m, VD, dregs, UINT[2 * w]).astype(object)) == list(want), insn


@pytest.mark.parametrize("name", sorted(NARROW))
@given(s=scenario(sews=(8, 16, 32), max_lg=2), data=st.data())
@settings(max_examples=15, deadline=None)
def test_narrowing(name, s, data):
    model = NARROW[name]
    form = data.draw(st.sampled_from("vxu"))
    m, rng = prepare(s)
    w, nregs = s["sew"], max(1, 2 ** s["lg"])
    mask = np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(bool)
    text, bvals, regs = operand(m, s, rng, form, w)
    insn = f"{name}.w{ {'v': 'v', 'x': 'x', 'u': 'i'}[form]} v{VD}, v{VS2}, {text}"
    old = get_group(m, VD, nregs, UINT[w]).astype(object)
    a = get_group(m, VS2, 8, UINT[2 * w])
    m.csr(0x009, 0)
    execute(m, s, insn, **regs)
    res, sat = [], False
    for i in range(len(old)):
        r = model(int(a[i]), bvals[i] % (2 * w), w, s["xrm"])
        if isinstance(r, tuple):
            r, flag = r
            sat |= flag and s["vstart"] <= i < s["vl"] and (not s["masked"] or mask[i])
        res.append(r)
    want = expect_group(s, old, res, w, mask)
    assert list(get_group(m, VD, nregs, UINT[w]).astype(object)) == list(want), insn
    if name.startswith("vnclip"):
        assert m.csr(0x009) == int(sat)


@pytest.mark.parametrize("factor", [2, 4, 8])
@pytest.mark.parametrize("signed", [False, True])
@given(s=scenario(), data=st.data())
@settings(max_examples=10, deadline=None)
def test_extension(factor, signed, s, data):
    w = s["sew"]
    src = w // factor
    m, rng = prepare(s)
    insn = f"v{'s' if signed else 'z'}ext.vf{factor} v{VD}, v{VS2}"
    if src < 8 or s["lg"] - {2: 1, 4: 2, 8: 3}[factor] < -3:
        with pytest.raises(IllegalInstruction):
            execute(m, s, insn)
        return
    nregs = max(1, 2 ** s["lg"])
    mask = np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(bool)
    old = get_group(m, VD, nregs, UINT[w]).astype(object)
    a = get_group(m, VS2, 8, UINT[src])
    execute(m, s, insn)
    res = [sgn(int(v), src) if signed else int(v) for v in a[:len(old)]]
    assert list(get_group(m, VD, nregs, UINT[w]).astype(object)) == list(expect_group(s, old, res, w, mask))


CMP = {
    "vmseq": ("vxi", lambda a, b, w: a == b), "vmsne": ("vxi", lambda a, b, w: a != b),
    "vmsltu": ("vx", lambda a, b, w: a < b), "vmslt": ("vx", lambda a, b, w: sgn(a, w) < sgn(b, w)),
    "vmsleu": ("vxi", lambda a, b, w: a <= b), "vmsle": ("vxi", lambda a, b, w: sgn(a, w) <= sgn(b, w)),
    "vmsgtu": ("xi", lambda a, b, w: a > b), "vmsgt": ("xi", lambda a, b, w: sgn(a, w) > sgn(b, w)),
}


def expect_mask(s, old_bits, results, mask, vlen):
    out = old_bits.copy()
    if s["vstart"] >= s["vl"]:
        return out
    for i in range(s["vstart"], s["vl"]):
        if not s["masked"] or mask[i]:
            out[i] = results[i]
        elif s["ma"] and s["ones"]:
            out[i] = True
    if s["ones"]:   # mask destinations are always tail agnostic
        out[s["vl"]:] = True
    return out


@pytest.mark.parametrize("name", sorted(CMP))
@given(s=scenario(), data=st.data())
@settings(max_examples=12, deadline=None)
def test_compare(name, s, data):
    forms, model = CMP[name]
    form = data.draw(st.sampled_from(forms))
    m, rng = prepare(s)
    w = s["sew"]
    mask = np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(bool)
    text, bvals, regs = operand(m, s, rng, form, w)
    a = get_group(m, VS2, 8, UINT[w])
    vd = data.draw(st.sampled_from([1, 0] if s["masked"] else [1, VS2]))   # vd=v0 / vd=vs2 are legal
    old = np.unpackbits(np.frombuffer(m.v(vd), np.uint8), bitorder="little").astype(bool)
    execute(m, s, f"{name}.v{form} v{vd}, v{VS2}, {text}", **regs)
    res = [model(int(a[i]), bvals[i], w) for i in range(s["vl"])]
    want = expect_mask(s, old, res, mask, s["vlen"])
    got = np.unpackbits(np.frombuffer(m.v(vd), np.uint8), bitorder="little").astype(bool)
    assert list(got) == list(want)


@given(s=scenario(), data=st.data())
@settings(max_examples=40, deadline=None)
def test_carry_and_merge(s, data):
    name = data.draw(st.sampled_from(["vadc.vvm", "vsbc.vvm", "vmadc.vvm", "vmsbc.vvm", "vmadc.vv", "vmsbc.vv",
                                      "vmerge.vvm", "vmv.v.v", "vmv.v.x", "vmerge.vxm"]))
    s = dict(s, masked=False)
    m, rng = prepare(s)
    w, nregs = s["sew"], max(1, 2 ** s["lg"])
    ones = (1 << w) - 1
    v0 = np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(int).tolist()
    a = get_group(m, VS2, 8, UINT[w]).astype(object)
    x = int(rng.integers(0, 2**64, dtype=np.uint64))
    scalar = name.endswith((".vxm", ".v.x"))
    b = [x & ones] * 4096 if scalar else list(get_group(m, VS1, 8, UINT[w]).astype(object))
    src = "a0" if scalar else f"v{VS1}"
    mask_out = name.startswith(("vmadc", "vmsbc"))
    vd = 1 if mask_out else VD
    if name.startswith("vmv"):
        text = f"{name} v{vd}, {src}"
    else:
        text = f"{name} v{vd}, v{VS2}, {src}" + (", v0" if name.endswith("m") else "")
    carry = v0 if name.endswith("m") else [0] * 4096
    if mask_out:
        old = np.unpackbits(np.frombuffer(m.v(vd), np.uint8), bitorder="little").astype(bool)
        execute(m, s, text, a0=x)
        f = (lambda i: a[i] + b[i] + carry[i] > ones) if "madc" in name else (lambda i: a[i] < b[i] + carry[i])
        want = expect_mask(s, old, [f(i) for i in range(s["vl"])], None, s["vlen"])
        got = np.unpackbits(np.frombuffer(m.v(vd), np.uint8), bitorder="little").astype(bool)
        assert list(got) == list(want)
        return
    old = get_group(m, vd, nregs, UINT[w]).astype(object)
    execute(m, s, text, a0=x)
    if name.startswith("vadc"):
        res = [a[i] + b[i] + carry[i] for i in range(len(old))]
    elif name.startswith("vsbc"):
        res = [a[i] - b[i] - carry[i] for i in range(len(old))]
    elif name.startswith("vmerge"):
        res = [b[i] if v0[i] else a[i] for i in range(len(old))]
    else:
        res = b[:len(old)]
    assert list(get_group(m, vd, nregs, UINT[w]).astype(object)) == list(expect_group(s, old, res, w, None))


@pytest.mark.parametrize("lines", [
    ["vsetvli t0, a7, e32, m2, ta, ma", "vadd.vv v1, v2, v4"],        # vd not a multiple of LMUL
    ["vsetvli t0, a7, e32, m4, ta, ma", "vadd.vv v4, v2, v8"],        # vs2 misaligned
    ["vsetvli t0, a7, e32, m1, ta, ma", "vadd.vv v0, v2, v4, v0.t"],  # masked op writing v0
    ["vsetvli t0, a7, e64, m1, ta, ma", "vwadd.vv v2, v4, v6"],       # 128-bit result
    ["vsetvli t0, a7, e32, m8, ta, ma", "vwadd.vv v0, v8, v16"],      # EMUL 16
    ["vsetvli t0, a7, e32, m1, ta, ma", "vwadd.vv v2, v2, v6"],       # source in the low half of vd
    ["vsetvli t0, a7, e32, m1, ta, ma", "vnsrl.wv v3, v2, v6"],       # vd in the high half of vs2
    ["vsetvli t0, a7, e32, m1, ta, ma", "vadc.vvm v0, v2, v4, v0"],   # carry op writing v0
    ["vsetvli t0, a7, e32, m1, ta, ma", "vrgather.vv v2, v2, v4"],    # vrgather vd = vs2
    ["vsetvli t0, a7, e32, m2, ta, ma", "vslideup.vi v2, v2, 1"],     # vslideup vd = vs2
    ["vsetvli t0, a7, e8, mf8, ta, ma", "vzext.vf2 v2, v4"],          # source EEW 4
    ["vsetvli t0, a7, e32, m1, ta, ma", "csrrwi zero, vstart, 1", "vredsum.vs v1, v2, v3"],  # vstart != 0
])
def test_illegal_vector_instructions(lines):
    m = Machine(vlen=256)
    with pytest.raises(IllegalInstruction):
        run(m, lines, a7=4)


def test_reserved_encoding_is_illegal():
    m = Machine(vlen=256)
    m.map(0x10000, 4096, "rx")
    # vsetvli is fine, then OP-V funct6=0x01 OPIVV (unassigned in RVV 1.0).
    from rvai.emu.isa import assemble
    m.write(0x10000, np.array([assemble("vsetvli t0, a0, e8, m1, ta, ma"), (0x01 << 26) | 0x57], np.uint32))
    with pytest.raises(IllegalInstruction):
        m.call(0x10000, 4)
