"""The scalar and immediate forms of the carry/borrow instructions (vadc.vxm/.vim,
vsbc.vxm, vmadc.vxm/.vim/.vx/.vi, vmsbc.vxm/.vx) and of merge/move (vmerge.vim,
vmv.v.i) against models from the RVV 1.0 spec text (sections 11.4, 11.15,
11.16), over SEW, LMUL, vl, vstart, policies, agnostic fill and VLEN."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, Machine
from tests.test_vec_int import execute, expect_group, expect_mask, prepare, scenario
from tests.vec_util import UINT, get_group, run

VD, VS2 = 8, 16

# name -> (scalar source: "x" or "i", carry-in from v0?, mask result?, model(a, b, cin, sew))
CARRY = {
    "vadc.vxm": ("x", True, False, lambda a, b, c, w: a + b + c),
    "vadc.vim": ("i", True, False, lambda a, b, c, w: a + b + c),
    "vsbc.vxm": ("x", True, False, lambda a, b, c, w: a - b - c),
    "vmadc.vxm": ("x", True, True, lambda a, b, c, w: a + b + c >= 1 << w),
    "vmadc.vim": ("i", True, True, lambda a, b, c, w: a + b + c >= 1 << w),
    "vmadc.vx": ("x", False, True, lambda a, b, c, w: a + b >= 1 << w),
    "vmadc.vi": ("i", False, True, lambda a, b, c, w: a + b >= 1 << w),
    "vmsbc.vxm": ("x", True, True, lambda a, b, c, w: a - b - c < 0),
    "vmsbc.vx": ("x", False, True, lambda a, b, c, w: a - b < 0),
}


@pytest.mark.parametrize("name", sorted(CARRY))
@given(s=scenario(), data=st.data())
@settings(max_examples=25, deadline=None)
def test_carry_scalar_forms(name, s, data):
    src, uses_v0, mask_out, model = CARRY[name]
    s = dict(s, masked=False)   # v0 is the carry, not a mask: every body element is written
    m, rng = prepare(s)
    w, nregs = s["sew"], max(1, 2 ** s["lg"])
    x = data.draw(st.integers(0, 2**64 - 1) if src == "x" else st.integers(-16, 15))
    b = x % (1 << w)   # x[rs1] truncated / simm5 sign-extended to SEW
    v0 = np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(int)
    carry = v0 if uses_v0 else np.zeros_like(v0)
    a = get_group(m, VS2, 8, UINT[w]).astype(object)
    operand = "a0" if src == "x" else str(x)
    vd = 1 if mask_out else VD
    text = f"{name} v{vd}, v{VS2}, {operand}" + (", v0" if uses_v0 else "")
    if mask_out:
        old = np.unpackbits(np.frombuffer(m.v(vd), np.uint8), bitorder="little").astype(bool)
        execute(m, s, text, a0=x % 2**64)
        res = [model(int(a[i]), b, int(carry[i]), w) for i in range(s["vl"])]
        got = np.unpackbits(np.frombuffer(m.v(vd), np.uint8), bitorder="little").astype(bool)
        assert list(got) == list(expect_mask(s, old, res, None, s["vlen"])), text
    else:
        old = get_group(m, vd, nregs, UINT[w]).astype(object)
        execute(m, s, text, a0=x % 2**64)
        res = [model(int(a[i]), b, int(carry[i]), w) for i in range(len(old))]
        assert list(get_group(m, vd, nregs, UINT[w]).astype(object)) == list(expect_group(s, old, res, w, None))


@pytest.mark.parametrize("name", ["vmerge.vim", "vmv.v.i"])
@given(s=scenario(), k=st.integers(-16, 15))
@settings(max_examples=30, deadline=None)
def test_merge_move_immediate(name, s, k):
    s = dict(s, masked=False)
    m, _ = prepare(s)
    w, nregs = s["sew"], max(1, 2 ** s["lg"])
    v0 = np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(bool)
    a = get_group(m, VS2, 8, UINT[w]).astype(object)
    old = get_group(m, VD, nregs, UINT[w]).astype(object)
    text = f"vmerge.vim v{VD}, v{VS2}, {k}, v0" if name == "vmerge.vim" else f"vmv.v.i v{VD}, {k}"
    execute(m, s, text)
    imm = k % (1 << w)
    res = [imm if name == "vmv.v.i" or v0[i] else a[i] for i in range(len(old))]
    assert list(get_group(m, VD, nregs, UINT[w]).astype(object)) == list(expect_group(s, old, res, w, None))


@pytest.mark.parametrize("text", ["vadc.vim v0, v2, 1, v0", "vsbc.vxm v0, v2, a0, v0", "vmerge.vim v0, v2, 1, v0"])
def test_carry_and_merge_cannot_write_v0(text):
    with pytest.raises(IllegalInstruction):
        run(Machine(vlen=256), ["vsetvli t0, a7, e32, m1, ta, ma", text], a7=4)
