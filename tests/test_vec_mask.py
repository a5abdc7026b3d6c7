"""Mask instructions against models written from the RVV 1.0 spec text
(section 15): the mask-register logical ops and their aliases (vmmv.m,
vmnot.m, vmclr.m, vmset.m), vcpop.m, vfirst.m, vmsbf/vmsif/vmsof.m,
viota.m and vid.v over SEW, LMUL, vl, vstart, masks, policies, agnostic
fill and VLEN in {128, 256, 512, 1024}, plus the spec's illegal cases."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, Machine
from tests.test_vec_int import execute, expect_group, expect_mask, prepare, scenario
from tests.vec_util import UINT, get_group, run

VD, VS2, VS1 = 8, 16, 24

# Spec 15.1: vd.mask[i] = f(vs2.mask[i], vs1.mask[i]).
LOGIC = {
    "vmand": lambda a, b: a & b, "vmnand": lambda a, b: ~(a & b), "vmandn": lambda a, b: a & ~b,
    "vmxor": lambda a, b: a ^ b, "vmor": lambda a, b: a | b, "vmnor": lambda a, b: ~(a | b),
    "vmorn": lambda a, b: a | ~b, "vmxnor": lambda a, b: ~(a ^ b),
}


def bits(m, reg):
    """All VLEN bits of register reg as a bool array."""
    return np.unpackbits(np.frombuffer(m.v(reg), np.uint8), bitorder="little").astype(bool)


def unmasked_mask_result(s, old, res):
    """Spec 15.1: body [vstart, vl) takes res, tail bits are agnostic (ones when filling);
    vstart >= vl writes nothing."""
    out = old.copy()
    if s["vstart"] < s["vl"]:
        out[s["vstart"]:s["vl"]] = res[s["vstart"]:s["vl"]]
        if s["ones"]:
            out[s["vl"]:] = True
    return out


@pytest.mark.parametrize("name", sorted(LOGIC))
@given(s=scenario(), data=st.data())
@settings(max_examples=15, deadline=None)
def test_mask_logical(name, s, data):
    m, _ = prepare(s)
    # vd may be any register, also one of the sources (mask ops are always unmasked).
    vd = data.draw(st.sampled_from([1, VS2, VS1]))
    a, b, old = bits(m, VS2), bits(m, VS1), bits(m, vd)
    execute(m, dict(s, masked=False), f"{name}.mm v{vd}, v{VS2}, v{VS1}")
    assert list(bits(m, vd)) == list(unmasked_mask_result(s, old, LOGIC[name](a, b)))


@pytest.mark.parametrize("alias,model", [
    ("vmmv.m v{d}, v{s}", lambda a, old: a), ("vmnot.m v{d}, v{s}", lambda a, old: ~a),
    ("vmclr.m v{d}", lambda a, old: np.zeros_like(a)), ("vmset.m v{d}", lambda a, old: np.ones_like(a)),
])
@given(s=scenario())
@settings(max_examples=15, deadline=None)
def test_mask_logical_aliases(alias, model, s):
    m, _ = prepare(s)
    a, old = bits(m, VS2), bits(m, 1)
    execute(m, dict(s, masked=False), alias.format(d=1, s=VS2))
    assert list(bits(m, 1)) == list(unmasked_mask_result(s, old, model(a, old)))


@pytest.mark.parametrize("name", ["vcpop", "vfirst"])
@given(s=scenario())
@settings(max_examples=40, deadline=None)
def test_vcpop_vfirst(name, s):
    m, _ = prepare(s)
    src, v0 = bits(m, VS2), bits(m, 0)
    if s["vstart"]:   # spec: illegal when vstart is non-zero
        with pytest.raises(IllegalInstruction):
            execute(m, s, f"{name}.m a0, v{VS2}")
        return
    execute(m, s, f"{name}.m a0, v{VS2}")
    hits = [i for i in range(s["vl"]) if src[i] and (not s["masked"] or v0[i])]
    want = len(hits) if name == "vcpop" else (hits[0] if hits else 2**64 - 1)
    assert m.x(10) == want


def set_first_model(name, src, active, vl):
    """Spec 15.4-15.6 on the active elements of [0, vl): set-before-first,
    set-including-first, set-only-first (inactive results are filled in later)."""
    out, seen = np.zeros(vl, bool), False
    for i in range(vl):
        if not active[i]:
            continue
        out[i] = {"vmsbf": not seen and not src[i], "vmsif": not seen, "vmsof": not seen and src[i]}[name]
        seen |= bool(src[i])
    return out


@pytest.mark.parametrize("name", ["vmsbf", "vmsif", "vmsof"])
@given(s=scenario(), data=st.data())
@settings(max_examples=30, deadline=None)
def test_set_first(name, s, data):
    m, rng = prepare(s)
    # Sparse sources so "first set bit" falls anywhere, including nowhere.
    density = data.draw(st.sampled_from([0.0, 0.02, 0.2, 0.7]))
    src = rng.random(s["vlen"]) < density
    m.v(VS2, np.packbits(src, bitorder="little").tobytes())
    v0, old = bits(m, 0), bits(m, 1)
    if s["vstart"]:
        with pytest.raises(IllegalInstruction):
            execute(m, s, f"{name}.m v1, v{VS2}")
        return
    execute(m, s, f"{name}.m v1, v{VS2}")
    active = [not s["masked"] or v0[i] for i in range(s["vl"])]
    res = set_first_model(name, src, active, s["vl"])
    assert list(bits(m, 1)) == list(expect_mask(s, old, res, v0, s["vlen"]))


@given(s=scenario())
@settings(max_examples=50, deadline=None)
def test_viota(s):
    m, _ = prepare(s)
    w, nregs = s["sew"], max(1, 2 ** s["lg"])
    src, v0 = bits(m, 1), bits(m, 0)
    old = get_group(m, VD, nregs, UINT[w]).astype(object)
    if s["vstart"]:
        with pytest.raises(IllegalInstruction):
            execute(m, s, f"viota.m v{VD}, v1")
        return
    execute(m, s, f"viota.m v{VD}, v1")
    # Spec 15.8: the sum of the active source bits below i (truncated to SEW).
    res, total = [], 0
    for i in range(len(old)):
        res.append(total)
        if i < s["vl"] and src[i] and (not s["masked"] or v0[i]):
            total += 1
    assert list(get_group(m, VD, nregs, UINT[w]).astype(object)) == list(expect_group(s, old, res, w, v0))


@given(s=scenario())
@settings(max_examples=50, deadline=None)
def test_vid(s):
    m, _ = prepare(s)
    w, nregs = s["sew"], max(1, 2 ** s["lg"])
    v0 = bits(m, 0)
    old = get_group(m, VD, nregs, UINT[w]).astype(object)
    execute(m, s, f"vid.v v{VD}")
    res = [i % (1 << w) for i in range(len(old))]   # spec 15.9: element index
    assert list(get_group(m, VD, nregs, UINT[w]).astype(object)) == list(expect_group(s, old, res, w, v0))


@pytest.mark.parametrize("lines", [
    ["vmsbf.m v2, v2"],                      # vd overlaps the source
    ["vmsif.m v0, v2, v0.t"],                # masked, vd = v0
    ["vmsof.m v3, v3"],
    ["viota.m v2, v2"],                      # vd overlaps the source mask
    ["viota.m v0, v2, v0.t"],                # masked, vd = v0
    ["vid.v v0, v0.t"],                      # masked, vd = v0
    ["vsetvli t0, a7, e32, m2, ta, ma", "viota.m v3, v1"],   # misaligned group
    ["vsetvli t0, a7, e32, m4, ta, ma", "viota.m v4, v6"],   # source mask inside the vd group
    ["vsetvli t0, a7, e32, m2, ta, ma", "vid.v v5"],
])
def test_illegal_mask_instructions(lines):
    if not lines[0].startswith("vsetvli"):
        lines = ["vsetvli t0, a7, e32, m1, ta, ma"] + lines
    with pytest.raises(IllegalInstruction):
        run(Machine(vlen=256), lines, a7=4)
