"""Vector FP widening arithmetic (vfwadd/vfwsub .vv/.vf/.wv/.wf, vfwmul,
vfwmacc/vfwnmacc/vfwmsac/vfwnmsac) and vfslide1up/down.vf against the exact
oracle of test_fp.py, written from the spec: the narrow operands widen
exactly (a signalling NaN raises NV), then one correctly rounded operation in
the 2*SEW format.  Hypothesis draws SEW, LMUL, VLEN in {128..1024}, vl,
vstart, masks, frm and the tail/mask policies (with agnostic elements left
alone or filled with ones); fflags must be the OR over the active body
elements."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, Machine
from tests.test_fp import FMTS, RNE, box, o_add, o_convert, o_fma, o_mul, specials, unbox
from tests.test_vec_int import VD, VS1, VS2, execute, expect_group, scenario
from tests.vec_util import UINT, get_group, run, set_group

FMT = {16: FMTS["h"], 32: FMTS["s"], 64: FMTS["d"]}


def fp_values(rng, f, n):
    """n bit patterns of format f: mostly moderate numbers of both signs with
    exponents near one (sums cancel and round), some specials, some raw bits."""
    special = specials(f)
    out = []
    for _ in range(n):
        k = rng.random()
        if k < 0.75:
            e = f.emax + int(rng.integers(-6, 7))
            out.append(int(rng.integers(0, 2)) << (f.width - 1) | e << f.fbits | int(rng.integers(0, 1 << f.fbits)))
        elif k < 0.9:
            out.append(special[int(rng.integers(0, len(special)))])
        else:
            out.append(int(rng.integers(0, f.mask, dtype=np.uint64, endpoint=True)))
    return out


def fp_machine(s, frm, regs):
    """A Machine for scenario s with frm set and register groups {reg: (sew, nregs)}
    filled with fp_values; also f10 holds a scalar (sometimes improperly NaN-boxed)."""
    m = Machine(vlen=s["vlen"], tail_ones=s["ones"])
    rng = np.random.default_rng(s["seed"])
    for r in range(32):
        m.v(r, rng.integers(0, 256, s["vlen"] // 8, dtype=np.uint8).tobytes())
    for reg, (w, nregs) in regs.items():
        n = nregs * s["vlen"] // w
        set_group(m, reg, np.array(fp_values(rng, FMT[w], n), dtype=UINT[w]))
    f = FMT.get(s["sew"], FMT[16])   # SEW 8 (illegal for FP) still gets a scalar
    raw = box(fp_values(rng, f, 1)[0], f)
    if f.width < 64 and rng.random() < 0.15:
        raw = int(rng.integers(0, 2**64, dtype=np.uint64))   # improperly boxed: reads as the canonical NaN
    m.f(10, raw)
    m.csr(2, frm)
    return m, raw


def mask_of(m):
    return np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(bool)


# name -> (forms, wide vs2?, oracle(x = wide vs2, y = wide vs1/scalar, c = old wide vd, fmt, rm))
WIDE = {
    "vfwadd": ("vf", False, lambda x, y, c, f, rm: o_add(x, y, f, rm)),
    "vfwsub": ("vf", False, lambda x, y, c, f, rm: o_add(x, y ^ f.sign, f, rm)),
    "vfwadd.w": ("vf", True, lambda x, y, c, f, rm: o_add(x, y, f, rm)),
    "vfwsub.w": ("vf", True, lambda x, y, c, f, rm: o_add(x, y ^ f.sign, f, rm)),
    "vfwmul": ("vf", False, lambda x, y, c, f, rm: o_mul(x, y, f, rm)),
    # vd = +-(vs1 * vs2) +- vd
    "vfwmacc": ("vfM", False, lambda x, y, c, f, rm: o_fma(y, x, c, f, rm, False, False)),
    "vfwnmacc": ("vfM", False, lambda x, y, c, f, rm: o_fma(y, x, c, f, rm, True, True)),
    "vfwmsac": ("vfM", False, lambda x, y, c, f, rm: o_fma(y, x, c, f, rm, False, True)),
    "vfwnmsac": ("vfM", False, lambda x, y, c, f, rm: o_fma(y, x, c, f, rm, True, False)),
}


def widened(v, n, w):
    """The exact widening of narrow bits v: (wide bits, flags)."""
    return o_convert(v, n, w, RNE)


@pytest.mark.parametrize("name", list(WIDE))
@given(s=scenario(sews=(16, 32, 16, 32, 64), max_lg=3), frm=st.integers(0, 4), data=st.data())
@settings(max_examples=20, deadline=None)
def test_widening(name, s, frm, data):
    forms, wide_a, oracle = WIDE[name]
    mac = "M" in forms
    form = data.draw(st.sampled_from(forms.replace("M", "")), label="form")
    w, lg = s["sew"], s["lg"]
    base = name[:-2] if wide_a else name
    sfx = ("w" if wide_a else "v") + form
    src = f"v{VS1}" if form == "v" else "fa0"
    insn = f"{base}.{sfx} v{VD}, {src}, v{VS2}" if mac else f"{base}.{sfx} v{VD}, v{VS2}, {src}"
    if w == 64 or lg == 3:   # 2*SEW above ELEN, or EMUL 16
        m, _ = fp_machine(s, frm, {})
        with pytest.raises(IllegalInstruction):
            execute(m, s, insn)
        return
    n, wf = FMT[w], FMT[2 * w]
    dregs, nregs = max(1, 2 ** (lg + 1)), max(1, 2 ** lg)
    m, raw = fp_machine(s, frm, {VD: (2 * w, dregs), VS2: (2 * w if wide_a else w, dregs if wide_a else nregs),
                                 VS1: (w, nregs)})
    mask = mask_of(m)
    old = get_group(m, VD, dregs, UINT[2 * w]).astype(object)
    a = get_group(m, VS2, dregs if wide_a else nregs, UINT[2 * w if wide_a else w])
    b = get_group(m, VS1, nregs, UINT[w])
    scalar = unbox(raw, n)
    m.csr(1, 0)
    execute(m, s, insn)
    res, flags = list(old), 0
    for i in range(s["vstart"], s["vl"]):
        if s["masked"] and not mask[i]:
            continue
        x, fx = (int(a[i]), 0) if wide_a else widened(int(a[i]), n, wf)
        y, fy = widened(int(b[i]) if form == "v" else scalar, n, wf)
        res[i], fr = oracle(x, y, int(old[i]), wf, frm)
        flags |= fx | fy | fr
    want = expect_group(s, old, res, 2 * w, mask)
    got = get_group(m, VD, dregs, UINT[2 * w]).astype(object)
    assert [hex(v) for v in got] == [hex(v) for v in want], insn
    assert m.csr(1) == flags


def test_widening_overlap_rules():
    """Spec 5.2: a narrow source may overlap only the highest-numbered part of
    the wide destination, and only with source EMUL >= 1; masked vd = v0 is illegal."""
    ok = ["vfwadd.vv v2, v3, v6", "vfwmacc.vv v2, v3, v6", "vfwadd.wv v2, v2, v3", "vfwmul.vf v4, v5, fa0"]
    bad = ["vfwadd.vv v2, v2, v6", "vfwadd.vv v2, v6, v2", "vfwadd.vv v3, v4, v6", "vfwadd.wv v2, v3, v6",
           "vfwadd.wv v2, v4, v2", "vfwmul.vf v0, v4, fa0, v0.t"]
    for text in ok:
        run(Machine(vlen=128), ["vsetvli t0, a0, e16, m1, ta, ma", text], a0=8)
    for text in bad:
        with pytest.raises(IllegalInstruction):
            run(Machine(vlen=128), ["vsetvli t0, a0, e16, m1, ta, ma", text], a0=8)
    with pytest.raises(IllegalInstruction):   # fractional source EMUL: no overlap at all
        run(Machine(vlen=128), ["vsetvli t0, a0, e16, mf2, ta, ma", "vfwadd.vv v2, v2, v6"], a0=4)
    with pytest.raises(IllegalInstruction):   # SEW 8 has no FP format
        run(Machine(vlen=128), ["vsetvli t0, a0, e8, m1, ta, ma", "vfwadd.vv v2, v4, v6"], a0=4)


def test_widening_fma_is_fused_and_exact():
    """Products that need more than SEW bits are kept exactly: (1+2^-10)^2 - 1 in
    f32 from f16 is 2^-9 + 2^-20 (a rounded f16 product would lose 2^-20)."""
    m = Machine(vlen=128)
    one_eps = 0x3C01   # 1 + 2^-10 in binary16
    set_group(m, 4, np.full(8, one_eps, np.uint16))
    set_group(m, 8, np.full(4, 0xBF800000, np.uint32))   # -1.0f
    set_group(m, 9, np.full(4, 0xBF800000, np.uint32))
    m.f(10, box(one_eps, FMT[16]))
    run(m, ["vsetvli t0, a0, e16, m1, ta, ma", "vfwmacc.vf v8, fa0, v4"], a0=8)
    want = 0x3B000000 | (1 << (23 - 11))   # 2^-9 * (1 + 2^-11)
    assert list(get_group(m, 8, 2, np.uint32)) == [want] * 8
    assert m.csr(1) == 0


@pytest.mark.parametrize("down", [False, True])
@given(s=scenario(sews=(8, 16, 32, 64)), data=st.data())
@settings(max_examples=30, deadline=None)
def test_slide1(down, s, data):
    """vfslide1up: vd[0] = f, vd[i] = vs2[i-1]; vfslide1down: vd[i] = vs2[i+1],
    vd[vl-1] = f; the scalar NaN-unboxed to SEW (improper boxing -> canonical NaN)."""
    w, nregs = s["sew"], max(1, 2 ** s["lg"])
    name = "vfslide1down.vf" if down else "vfslide1up.vf"
    insn = f"{name} v{VD}, v{VS2}, fa0"
    if w == 8:
        m, _ = fp_machine(s, 0, {})
        with pytest.raises(IllegalInstruction):
            execute(m, s, insn)
        return
    m, raw = fp_machine(s, 0, {VS2: (w, nregs)})
    mask = mask_of(m)
    old = get_group(m, VD, nregs, UINT[w]).astype(object)
    a = get_group(m, VS2, nregs, UINT[w])
    scalar, vl = unbox(raw, FMT[w]), s["vl"]
    if down:
        res = [int(a[i + 1]) if i + 1 < vl else scalar for i in range(len(old))]
    else:
        res = [scalar if i == 0 else int(a[i - 1]) for i in range(len(old))]
    execute(m, s, insn)
    assert list(get_group(m, VD, nregs, UINT[w]).astype(object)) == list(expect_group(s, old, res, w, mask))
    assert m.csr(1) == 0


def test_slide1up_destination_must_not_overlap_source():
    with pytest.raises(IllegalInstruction):
        run(Machine(vlen=128), ["vsetvli t0, a0, e32, m2, ta, ma", "vfslide1up.vf v2, v2, fa0"], a0=4)
    run(Machine(vlen=128), ["vsetvli t0, a0, e32, m2, ta, ma", "vfslide1down.vf v2, v2, fa0"], a0=4)
