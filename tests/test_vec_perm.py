"""Permutation instructions against models written from the RVV 1.0 spec text
(section 16): integer scalar moves, slides (up/down by x and by uimm5,
slide1 up/down), vrgather.vv/.vx/.vi, vrgatherei16.vv, vcompress.vm and the
whole-register moves, over SEW, LMUL, vl, vstart, masks, policies, agnostic
fill and VLEN in {128, 256, 512, 1024}, plus the spec's illegal cases."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, Machine
from tests.test_vec_int import execute, expect_group, prepare, scenario, sgn
from tests.vec_util import UINT, get_group, run, vlmax

VD, VS2, VS1 = 8, 16, 24


def v0_bits(m):
    return np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(bool)


@given(s=scenario())
@settings(max_examples=40, deadline=None)
def test_vmv_x_s_sign_extends_element_0(s):
    m, _ = prepare(s)
    e0 = int(get_group(m, VS2, 1, UINT[s["sew"]])[0])
    execute(m, dict(s, masked=False), f"vmv.x.s a0, v{VS2}")   # spec: ignores vl and vstart
    assert m.x(10) == sgn(e0, s["sew"]) % 2**64
    assert m.csr(0x008) == 0


@given(s=scenario(), x=st.integers(0, 2**64 - 1))
@settings(max_examples=40, deadline=None)
def test_vmv_s_x(s, x):
    m, _ = prepare(s)
    w = s["sew"]
    old = get_group(m, VD, 1, UINT[w]).astype(object)
    execute(m, dict(s, masked=False), f"vmv.s.x v{VD}, a0", a0=x)
    # Spec 16.1: element 0 = x[rs1] (low SEW bits) when vstart < vl; elements
    # 1 .. VLEN/SEW - 1 of the one register are tail, whatever LMUL is.
    want = old.copy()
    if s["vstart"] < s["vl"]:
        want[0] = x % (1 << w)
        if s["ta"] and s["ones"]:
            want[1:] = (1 << w) - 1
    assert list(get_group(m, VD, 1, UINT[w]).astype(object)) == list(want)


@pytest.mark.parametrize("name,form", [("vslideup", "vx"), ("vslideup", "vi"),
                                       ("vslidedown", "vx"), ("vslidedown", "vi")])
@given(s=scenario(), data=st.data())
@settings(max_examples=40, deadline=None)
def test_slide(name, form, s, data):
    m, rng = prepare(s)
    w, nregs, vmax = s["sew"], max(1, 2 ** s["lg"]), vlmax(s["vlen"], s["sew"], s["lg"])
    off = data.draw(st.integers(0, 31) if form == "vi" else
                    st.one_of(st.integers(0, vmax + 2), st.integers(0, 2**64 - 1)))
    v0 = v0_bits(m)
    old = get_group(m, VD, nregs, UINT[w]).astype(object)
    src = get_group(m, VS2, nregs, UINT[w]).astype(object)
    text = f"{name}.{form} v{VD}, v{VS2}, " + ("a0" if form == "vx" else str(off))
    execute(m, s, text, a0=off)
    if name == "vslideup":
        # Spec 16.3.1: vd[i] = vs2[i - OFFSET] for max(vstart, OFFSET) <= i < vl;
        # vd[0 .. OFFSET-1] are left alone; the tail follows the policy as usual.
        want = old.copy()
        if s["vstart"] < s["vl"]:
            ones = (1 << w) - 1
            for i in range(max(s["vstart"], off), s["vl"]):
                if not s["masked"] or v0[i]:
                    want[i] = src[i - off]
                elif s["ma"] and s["ones"]:
                    want[i] = ones
            if s["ta"] and s["ones"]:
                want[s["vl"]:] = ones
    else:
        # Spec 16.3.2: vd[i] = i + OFFSET < VLMAX ? vs2[i + OFFSET] : 0.
        res = [src[i + off] if i + off < vmax else 0 for i in range(len(old))]
        want = expect_group(s, old, res, w, v0)
    assert list(get_group(m, VD, nregs, UINT[w]).astype(object)) == list(want), text


@pytest.mark.parametrize("name", ["vslide1up", "vslide1down"])
@given(s=scenario(), x=st.integers(0, 2**64 - 1))
@settings(max_examples=40, deadline=None)
def test_slide1(name, s, x):
    m, _ = prepare(s)
    w, nregs = s["sew"], max(1, 2 ** s["lg"])
    v0 = v0_bits(m)
    old = get_group(m, VD, nregs, UINT[w]).astype(object)
    src = get_group(m, VS2, nregs, UINT[w]).astype(object)
    execute(m, s, f"{name}.vx v{VD}, v{VS2}, a0", a0=x)
    xs, vl = x % (1 << w), s["vl"]
    if name == "vslide1up":   # spec 16.3.3: vd[0] = x, vd[i] = vs2[i-1]
        res = [xs if i == 0 else src[i - 1] for i in range(len(old))]
    else:                     # spec 16.3.4: vd[vl-1] = x, vd[i] = vs2[i+1]
        res = [xs if i == vl - 1 else src[i + 1] if i + 1 < len(src) else 0 for i in range(len(old))]
    assert list(get_group(m, VD, nregs, UINT[w]).astype(object)) == list(expect_group(s, old, res, w, v0))


@pytest.mark.parametrize("form", ["vv", "vx", "vi", "ei16"])
@given(s=scenario(), data=st.data())
@settings(max_examples=40, deadline=None)
def test_vrgather(form, s, data):
    m, rng = prepare(s)
    w, lg, nregs = s["sew"], s["lg"], max(1, 2 ** s["lg"])
    vmax = vlmax(s["vlen"], w, lg)
    iw = 16 if form == "ei16" else w
    ilg = lg + 4 - (w.bit_length() - 1) if form == "ei16" else lg   # EMUL = 16/SEW * LMUL
    text = {"vv": f"vrgather.vv v{VD}, v{VS2}, v{VS1}", "ei16": f"vrgatherei16.vv v{VD}, v{VS2}, v{VS1}",
            "vx": f"vrgather.vx v{VD}, v{VS2}, a0", "vi": f"vrgather.vi v{VD}, v{VS2}, {{}}"}[form]
    if form == "ei16" and ilg > 3:
        with pytest.raises(IllegalInstruction):   # index EMUL above 8
            execute(m, s, text)
        return
    # Indices: mostly in range, some past VLMAX (those read 0).
    if form in ("vv", "ei16"):
        n_idx = s["vlen"] * max(1, 2 ** ilg) // iw
        idx = rng.integers(0, vmax + 3, n_idx).astype(UINT[iw]) if rng.random() < 0.8 else \
            rng.integers(0, 2**iw, n_idx, dtype=np.uint64).astype(UINT[iw])
        raw = idx.tobytes()
        for k in range(max(1, 2 ** ilg)):
            m.v(VS1 + k, raw[k * s["vlen"] // 8:(k + 1) * s["vlen"] // 8])
        index = [int(v) for v in idx] + [0] * 4096   # (entries past vl are never used)
    elif form == "vx":
        x = data.draw(st.one_of(st.integers(0, vmax + 2), st.integers(0, 2**64 - 1)))
        index = [x] * 4096
    else:
        k = data.draw(st.integers(0, 31))   # uimm5: zero-extended
        text = text.format(k)
        index = [k] * 4096
    v0 = v0_bits(m)
    old = get_group(m, VD, nregs, UINT[w]).astype(object)
    src = get_group(m, VS2, nregs, UINT[w]).astype(object)
    execute(m, s, text, a0=index[0])
    res = [src[index[i]] if index[i] < vmax else 0 for i in range(len(old))]
    assert list(get_group(m, VD, nregs, UINT[w]).astype(object)) == list(expect_group(s, old, res, w, v0)), text


@given(s=scenario(), density=st.sampled_from([0.0, 0.3, 0.8, 1.0]))
@settings(max_examples=50, deadline=None)
def test_vcompress(s, density):
    m, rng = prepare(s)
    w, nregs = s["sew"], max(1, 2 ** s["lg"])
    sel = rng.random(s["vlen"]) < density
    m.v(1, np.packbits(sel, bitorder="little").tobytes())
    old = get_group(m, VD, nregs, UINT[w]).astype(object)
    src = get_group(m, VS2, nregs, UINT[w]).astype(object)
    text = f"vcompress.vm v{VD}, v{VS2}, v1"
    if s["vstart"]:   # spec 16.5: vstart must be 0
        with pytest.raises(IllegalInstruction):
            execute(m, dict(s, masked=False), text)
        return
    execute(m, dict(s, masked=False), text)
    # The selected elements of vs2[0, vl) packed from vd[0]; the rest of vd is tail.
    packed = [src[i] for i in range(s["vl"]) if sel[i]]
    want = old.copy()
    want[:len(packed)] = packed
    if s["ta"] and s["ones"] and s["vl"] > 0:
        want[len(packed):] = (1 << w) - 1
    assert list(get_group(m, VD, nregs, UINT[w]).astype(object)) == list(want)


@pytest.mark.parametrize("nr", [1, 2, 4, 8])
@given(s=scenario())
@settings(max_examples=15, deadline=None)
def test_whole_register_move(nr, s):
    m, _ = prepare(s)
    w = s["sew"]
    evl = nr * s["vlen"] // w   # spec 16.6: EEW = SEW, EMUL = NREG, vl ignored
    vstart = min(s["vstart"], evl)
    old = get_group(m, VD, nr, UINT[w]).copy()
    src = get_group(m, VS2, nr, UINT[w])
    execute(m, dict(s, masked=False, vstart=vstart), f"vmv{nr}r.v v{VD}, v{VS2}")
    want = old.copy()
    want[vstart:] = src[vstart:]
    assert np.array_equal(get_group(m, VD, nr, UINT[w]), want)
    assert m.csr(0x008) == 0


@pytest.mark.parametrize("lines", [
    ["vslideup.vx v2, v2, a0"],                                   # vd overlaps vs2
    ["vslide1up.vx v4, v4, a0"],
    ["vslideup.vi v0, v2, 1, v0.t"],                              # masked, vd = v0
    ["vslidedown.vi v0, v2, 1, v0.t"],
    ["vsetvli t0, a7, e32, m2, ta, ma", "vslideup.vi v4, v5, 1"],  # misaligned source
    ["vrgather.vv v2, v4, v2"],                                   # vd overlaps the indices
    ["vrgather.vx v2, v2, a0"],                                   # vd overlaps vs2
    ["vrgather.vi v0, v2, 1, v0.t"],
    ["vsetvli t0, a7, e32, m4, ta, ma", "vrgatherei16.vv v8, v4, v10"],   # index group v10-v11 in vd
    ["vsetvli t0, a7, e8, m8, ta, ma", "vrgatherei16.vv v8, v16, v0"],    # index EMUL 16
    ["vcompress.vm v2, v2, v1"],                                  # vd overlaps vs2
    ["vcompress.vm v2, v4, v2"],                                  # vd overlaps the selector
    ["vsetvli t0, a7, e32, m2, ta, ma", "vcompress.vm v2, v4, v3"],
    ["csrrwi zero, vstart, 1", "vcompress.vm v2, v4, v1"],        # vstart != 0
    ["vmv2r.v v3, v4"], ["vmv4r.v v4, v6"], ["vmv8r.v v8, v4"],   # misaligned whole-register groups
])
def test_illegal_permutations(lines):
    if not lines[0].startswith("vsetvli"):
        lines = ["vsetvli t0, a7, e32, m1, ta, ma"] + lines
    with pytest.raises(IllegalInstruction):
        run(Machine(vlen=256), lines, a7=4, a0=1)
