"""Vector floating point (RVV 1.0 + Zvfh) against the exact oracle of
test_fp.py: every active body element must be the correctly rounded scalar
result, inactive and tail elements undisturbed (tu, mu), and fflags the OR of
the active elements' flags."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, Machine
from tests.test_fp import (FMTS, NV, box, o_add, o_class, o_cmp, o_div, o_fma, o_minmax, o_mul, o_sqrt,
                           o_sub, operand)
from tests.vec_util import get_group, lmul_name, mask_bits, run, set_group, set_mask

SEW_FMT = {16: FMTS["h"], 32: FMTS["s"], 64: FMTS["d"]}
UINT = {16: np.uint16, 32: np.uint32, 64: np.uint64}


def _sgnj(kind):
    def f(a, b, fmt, rm):
        mag, s = fmt.mask >> 1, fmt.sign
        return {"n": a & mag | ~b & s, "x": a ^ b & s, "": a & mag | b & s}[kind], 0
    return f


# name -> (oracle(a=vs2, b=vs1/scalar, c=old vd, fmt, rm) -> (bits, flags), forms)
FMA = {"vfmacc": (False, False, "acc"), "vfnmacc": (True, True, "acc"), "vfmsac": (False, True, "acc"),
       "vfnmsac": (True, False, "acc"), "vfmadd": (False, False, "add"), "vfnmadd": (True, True, "add"),
       "vfmsub": (False, True, "add"), "vfnmsub": (True, False, "add")}


def _fma(name):
    neg_ab, neg_c, kind = FMA[name]
    if kind == "acc":   # vd = +-(vs1*vs2) +- vd
        return lambda a, b, c, f, rm: o_fma(b, a, c, f, rm, neg_ab, neg_c)
    return lambda a, b, c, f, rm: o_fma(b, c, a, f, rm, neg_ab, neg_c)   # vd = +-(vs1*vd) +- vs2


OPS = {
    "vfadd": (lambda a, b, c, f, rm: o_add(a, b, f, rm), "vf"),
    "vfsub": (lambda a, b, c, f, rm: o_sub(a, b, f, rm), "vf"),
    "vfrsub": (lambda a, b, c, f, rm: o_sub(b, a, f, rm), "f"),
    "vfmul": (lambda a, b, c, f, rm: o_mul(a, b, f, rm), "vf"),
    "vfdiv": (lambda a, b, c, f, rm: o_div(a, b, f, rm), "vf"),
    "vfrdiv": (lambda a, b, c, f, rm: o_div(b, a, f, rm), "f"),
    "vfmin": (lambda a, b, c, f, rm: o_minmax(a, b, f, False), "vf"),
    "vfmax": (lambda a, b, c, f, rm: o_minmax(a, b, f, True), "vf"),
    "vfsgnj": (lambda a, b, c, f, rm: _sgnj("")(a, b, f, rm), "vf"),
    "vfsgnjn": (lambda a, b, c, f, rm: _sgnj("n")(a, b, f, rm), "vf"),
    "vfsgnjx": (lambda a, b, c, f, rm: _sgnj("x")(a, b, f, rm), "vf"),
    **{n: (_fma(n), "vf") for n in FMA},
}
CMPS = {"vmfeq": ("eq", False, "vf"), "vmflt": ("lt", False, "vf"), "vmfle": ("le", False, "vf"),
        "vmfgt": ("lt", True, "f"), "vmfge": ("le", True, "f"), "vmfne": ("ne", False, "vf")}


def _setup(data, sew, lg=0, vlen=128, tail_ones=False):
    """A machine with vtype e<sew>, LMUL 2^lg (tu, mu), a drawn vl, frm, v0 mask
    and register groups v8 (vs2), v16 (vs1), v24 (vd) of drawn operands."""
    f = SEW_FMT[sew]
    n = vlen * 2 ** lg // sew
    m = Machine(vlen=vlen, tail_ones=tail_ones)
    vl = data.draw(st.integers(0, n), label="vl")
    frm = data.draw(st.integers(0, 4), label="frm")
    masked = data.draw(st.booleans(), label="masked")
    regs = {r: np.array(data.draw(st.lists(operand(f), min_size=n, max_size=n), label=f"v{r}"), dtype=UINT[sew])
            for r in (8, 16, 24)}
    for r, vals in regs.items():
        set_group(m, r, vals)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label="mask"))
    set_mask(m, 0, mask)
    scalar = data.draw(operand(f), label="f")
    m.f(1, box(scalar, f) if sew < 64 else scalar)
    m.csr(2, frm)
    pre = [f"vsetvli t0, a0, e{sew}, {lmul_name(lg)}, tu, mu"]
    return m, f, n, vl, frm, masked, mask, regs, scalar, pre


@pytest.mark.parametrize("sew", [16, 32, 64])
@pytest.mark.parametrize("name", list(OPS))
@given(data=st.data())
@settings(max_examples=12, deadline=None)
def test_elementwise_ops(name, sew, data):
    oracle, forms = OPS[name]
    form = data.draw(st.sampled_from(forms), label="form")
    lg = data.draw(st.sampled_from([0, 1]), label="lg")
    m, f, n, vl, frm, masked, mask, regs, scalar, pre = _setup(data, sew, lg)
    src = "v16" if form == "v" else "ft1"
    mnem = f"{name}.v{form}"
    if name in FMA:
        text = f"{mnem} v24, {src}, v8"
    else:
        text = f"{mnem} v24, v8, {src}"
    run(m, pre + [text + (", v0.t" if masked else "")], a0=vl)
    got = get_group(m, 24, 2 ** lg, UINT[sew])
    want, flags = regs[24].copy(), 0
    for i in range(vl):
        if masked and not mask[i]:
            continue
        b = int(regs[16][i]) if form == "v" else scalar
        r, fl = oracle(int(regs[8][i]), b, int(regs[24][i]), f, frm)
        want[i], flags = r, flags | fl
    assert [hex(v) for v in got] == [hex(v) for v in want]
    assert m.csr(1) == flags


@pytest.mark.parametrize("sew", [16, 32, 64])
@pytest.mark.parametrize("name", ["vfsqrt.v", "vfclass.v"])
@given(data=st.data())
@settings(max_examples=8, deadline=None)
def test_unary_ops(name, sew, data):
    m, f, n, vl, frm, masked, mask, regs, scalar, pre = _setup(data, sew)
    run(m, pre + [f"{name} v24, v8" + (", v0.t" if masked else "")], a0=vl)
    want, flags = regs[24].copy(), 0
    for i in range(vl):
        if masked and not mask[i]:
            continue
        a = int(regs[8][i])
        r, fl = o_sqrt(a, f, frm) if name == "vfsqrt.v" else (o_class(a, f), 0)
        want[i], flags = r, flags | fl
    assert [hex(v) for v in get_group(m, 24, 1, UINT[sew])] == [hex(v) for v in want]
    assert m.csr(1) == flags


@pytest.mark.parametrize("sew", [16, 32, 64])
@pytest.mark.parametrize("name", list(CMPS))
@given(data=st.data())
@settings(max_examples=12, deadline=None)
def test_compares_write_masks(name, sew, data):
    kind, swap, forms = CMPS[name]
    form = data.draw(st.sampled_from(forms), label="form")
    m, f, n, vl, frm, masked, mask, regs, scalar, pre = _setup(data, sew)
    old = mask_bits(m, 4, 128)
    src = "v16" if form == "v" else "ft1"
    run(m, pre + [f"{name}.v{form} v4, v8, {src}" + (", v0.t" if masked else "")], a0=vl)
    got = mask_bits(m, 4, 128)
    flags = 0
    for i in range(vl):
        if masked and not mask[i]:
            assert got[i] == old[i]
            continue
        a, b = int(regs[8][i]), int(regs[16][i]) if form == "v" else scalar
        if swap:
            a, b = b, a
        r, fl = o_cmp(a, b, f, "eq" if kind == "ne" else kind)
        assert got[i] == (bool(r) != (kind == "ne")), i
        flags |= fl
    assert m.csr(1) == flags


@given(data=st.data())
@settings(max_examples=10, deadline=None)
def test_merge_and_moves(data):
    sew = data.draw(st.sampled_from([16, 32, 64]))
    m, f, n, vl, frm, masked, mask, regs, scalar, pre = _setup(data, sew)
    run(m, pre + ["vfmerge.vfm v24, v8, ft1, v0", "vfmv.v.f v16, ft1", "vfmv.f.s ft2, v8", "vfmv.s.f v12, ft1"],
        a0=vl)
    merged, splat = get_group(m, 24, 1, UINT[sew]), get_group(m, 16, 1, UINT[sew])
    for i in range(n):
        if i < vl:
            assert merged[i] == (scalar if mask[i] else regs[8][i]) and splat[i] == scalar
        else:
            assert merged[i] == regs[24][i] and splat[i] == regs[16][i]
    assert m.f(2) == (box(int(regs[8][0]), f) if sew < 64 else int(regs[8][0]))
    if vl:
        assert get_group(m, 12, 1, UINT[sew])[0] == scalar
    assert m.csr(1) == 0


def test_bad_frm_and_sew8_are_illegal():
    m = Machine(vlen=128)
    m.csr(2, 5)
    with pytest.raises(IllegalInstruction):
        run(m, ["vsetvli t0, a0, e32, m1, ta, ma", "vfadd.vv v1, v2, v3"], a0=4)
    m = Machine(vlen=128)
    with pytest.raises(IllegalInstruction):
        run(m, ["vsetvli t0, a0, e8, m1, ta, ma", "vfadd.vv v1, v2, v3"], a0=4)


def test_only_active_elements_raise_flags():
    m = Machine(vlen=128)
    snan = 0x7F800001
    set_group(m, 8, np.array([snan, 0x3F800000, snan, 0x3F800000], np.uint32))
    set_group(m, 16, np.ones(4, np.uint32) * 0x3F800000)
    set_mask(m, 0, np.array([False, True, False, True]))
    run(m, ["vsetvli t0, a0, e32, m1, tu, mu", "vfadd.vv v24, v8, v16, v0.t", "csrrs a1, fflags, zero",
            "vfadd.vv v24, v8, v16"], a0=4)
    assert m.x(11) == 0 and m.csr(1) == NV


# The bulk host paths of vfp.c (SEW 32/64, rm != RMM: add/sub/rsub/mul/div/rdiv, sign injection
# and the FMA family, masked through operand copies) against the exact oracle,
# which the element path also matches (test_elementwise_ops): whole LMUL=8
# groups at VLEN 256, so the 8-wide host loops and their scalar tails both run.
FAST = ["vfadd", "vfsub", "vfrsub", "vfmul", "vfdiv", "vfrdiv", "vfsgnj", "vfsgnjn", "vfsgnjx", *FMA]


@pytest.mark.parametrize("sew", [32, 64])
@pytest.mark.parametrize("name", FAST)
@given(data=st.data())
@settings(max_examples=6, deadline=None)
def test_bulk_paths_match_oracle(name, sew, data):
    oracle, forms = OPS[name]
    form = data.draw(st.sampled_from(forms), label="form")
    tail_ones = data.draw(st.booleans(), label="tail_ones")
    m, f, n, vl, frm, masked, mask, regs, scalar, pre = _setup(data, sew, 3, 256, tail_ones)
    pre = [pre[0].replace("tu, mu", "ta, ma")] if tail_ones else pre
    src = "v16" if form == "v" else "ft1"
    ops = f"v24, {src}, v8" if name in FMA else f"v24, v8, {src}"
    run(m, pre + [f"{name}.v{form} {ops}" + (", v0.t" if masked else "")], a0=vl)
    got = get_group(m, 24, 8, UINT[sew])
    ones = int(np.iinfo(UINT[sew]).max)
    want, flags = regs[24].copy(), 0
    for i in range(n):
        if i >= vl or (masked and not mask[i]):
            if tail_ones and vl:   # vl = 0 writes nothing, not even the tail
                want[i] = ones
            continue
        b = int(regs[16][i]) if form == "v" else scalar
        r, fl = oracle(int(regs[8][i]), b, int(regs[24][i]), f, frm)
        want[i], flags = r, flags | fl
    assert [hex(v) for v in got] == [hex(v) for v in want]
    assert m.csr(1) == flags


@pytest.mark.parametrize("sew", [32, 64])
@pytest.mark.parametrize("form", ["vv", "vf"])
@pytest.mark.parametrize("rm", range(4))
def test_fma_inf_times_zero_with_quiet_nan_addend_is_invalid(sew, form, rm):
    """x86's FMA raises no invalid for inf*0 + qNaN; RISC-V requires NV.  Only
    one element of a long group has it; in a second run that element is
    masked off and must raise nothing."""
    f = SEW_FMT[sew]
    n = 256 * 8 // sew
    one = 0x3F800000 if sew == 32 else 0x3FF0000000000000
    for masked in (False, True):
        m = Machine(vlen=256)
        a, vd = np.full(n, one, UINT[sew]), np.full(n, one, UINT[sew])
        a[n - 3], vd[n - 3] = f.inf, f.cnan     # vs2 = inf, vd = qNaN, vs1 = 0 (vector or scalar)
        set_group(m, 8, a)
        set_group(m, 16, np.zeros(n, UINT[sew]))
        set_group(m, 24, vd)
        set_mask(m, 0, np.arange(n) != n - 3)
        m.f(1, box(0, f) if sew < 64 else 0)
        m.csr(2, rm)
        src = "v16" if form == "vv" else "ft1"
        run(m, [f"vsetvli t0, a0, e{sew}, m8, tu, mu", f"vfmacc.{form} v24, {src}, v8" + (", v0.t" if masked else "")],
            a0=n)
        assert m.csr(1) == (0 if masked else NV)
        assert int(get_group(m, 24, 8, UINT[sew])[n - 3]) == (f.cnan if not masked else vd[n - 3])


@pytest.mark.parametrize("sew", [32, 64])
@pytest.mark.parametrize("form", ["vv", "vf"])
def test_vfmadd_in_place_flags_only_a_real_inf_times_zero(sew, form):
    """vfmadd's product is vs1 * vd and its result overwrites vd.  0 * 1 + inf and
    0 * 1 + qNaN raise nothing (IEEE 754: a quiet NaN addend, no invalid product);
    inf * 0 + qNaN must raise NV (the RISC-V rule for fused multiply-add)."""
    f = SEW_FMT[sew]
    n = 256 * 8 // sew
    one = 0x3F800000 if sew == 32 else 0x3FF0000000000000
    for real in (False, True):
        m = Machine(vlen=256)
        vd, vs2 = np.full(n, one, UINT[sew]), np.full(n, f.inf, UINT[sew])
        vs2[n // 2] = f.cnan
        if real:
            vd[n // 2] = f.inf                   # inf (vd) * 0 (vs1) + qNaN
        set_group(m, 8, vs2)
        set_group(m, 16, np.zeros(n, UINT[sew]))
        set_group(m, 24, vd)
        m.f(1, box(0, f) if sew < 64 else 0)
        src = "v16" if form == "vv" else "ft1"
        run(m, [f"vsetvli t0, a0, e{sew}, m8, ta, ma", f"vfmadd.{form} v24, {src}, v8"], a0=n)
        got = get_group(m, 24, 8, UINT[sew])
        assert [int(v) for v in got[: n // 2]] == [f.inf] * (n // 2)
        assert int(got[n // 2]) == f.cnan
        assert m.csr(1) == (NV if real else 0)
