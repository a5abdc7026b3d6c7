"""vsetvli / vsetivli / vsetvl: vtype legality, VLMAX and the AVL rules, from
the RVV 1.0 spec (sections 3.4, 6)."""
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, Machine
from rvai.emu.jit_ir import vlmax_of
from tests.vec_util import LMULS, SEWS, VLENS, legal, lmul_name, run, vlmax

VILL = 1 << 63
CSRS = {"vstart": 0x008, "vl": 0xC20, "vtype": 0xC21}


def vtype_of(sew, lg, ta, ma):
    return (lg & 7) | ({8: 0, 16: 1, 32: 2, 64: 3}[sew] << 3) | ta << 6 | ma << 7


@given(vlen=st.sampled_from(VLENS), sew=st.sampled_from(SEWS), lg=st.sampled_from(list(LMULS.values())),
       ta=st.booleans(), ma=st.booleans(), avl=st.integers(0, 5000))
@settings(max_examples=80, deadline=None)
def test_vsetvli_sets_vl_min_avl_vlmax_or_vill(vlen, sew, lg, ta, ma, avl):
    m = Machine(vlen=vlen)
    pol = f"{'ta' if ta else 'tu'}, {'ma' if ma else 'mu'}"
    run(m, [f"vsetvli a0, a1, e{sew}, {lmul_name(lg)}, {pol}"], a1=avl)
    if legal(sew, lg):
        assert m.x(10) == min(avl, vlmax(vlen, sew, lg))
        assert m.csr(CSRS["vtype"]) == vtype_of(sew, lg, ta, ma)
    else:
        assert m.x(10) == 0 and m.csr(CSRS["vtype"]) == VILL
    assert m.csr(CSRS["vl"]) == m.x(10)


@given(vlen=st.sampled_from(VLENS), sew=st.sampled_from(SEWS), lg=st.sampled_from(list(LMULS.values())),
       ta=st.booleans(), ma=st.booleans())
@settings(max_examples=60, deadline=None)
def test_the_translators_vlmax_is_what_vsetvli_gives(vlen, sew, lg, ta, ma):
    # rvai.emu.jit_ir.vlmax_of (what translate.py plans timed blocks for) on the
    # vtype vsetvli leaves: the vl it set with AVL = ~0, None when it set vill
    m = Machine(vlen=vlen)
    pol = f"{'ta' if ta else 'tu'}, {'ma' if ma else 'mu'}"
    run(m, [f"vsetvli a0, zero, e{sew}, {lmul_name(lg)}, {pol}"])
    assert vlmax_of(m.csr(CSRS["vtype"]), vlen) == (vlmax(vlen, sew, lg) if legal(sew, lg) else None)


@given(vlen=st.sampled_from(VLENS), sew=st.sampled_from(SEWS), lg=st.sampled_from([0, 1, 2, 3]),
       uimm=st.integers(0, 31))
@settings(max_examples=30, deadline=None)
def test_vsetivli_takes_avl_from_the_immediate(vlen, sew, lg, uimm):
    m = Machine(vlen=vlen)
    run(m, [f"vsetivli a0, {uimm}, e{sew}, {lmul_name(lg)}, ta, ma"])
    assert m.x(10) == min(uimm, vlmax(vlen, sew, lg))


def test_rs1_x0_rd_not_x0_gives_vlmax():
    m = Machine(vlen=256)
    run(m, ["vsetvli a0, zero, e16, m2, ta, ma"])
    assert m.x(10) == 32


def test_rs1_x0_rd_x0_keeps_vl_when_vlmax_unchanged():
    m = Machine(vlen=256)
    run(m, ["vsetvli a0, a1, e16, m2, ta, ma", "vsetvli zero, zero, e32, m4, ta, ma"], a1=7)
    assert m.csr(CSRS["vl"]) == 7 and m.csr(CSRS["vtype"]) == vtype_of(32, 2, 1, 1)


def test_rs1_x0_rd_x0_with_a_new_vlmax_sets_vill():
    # Reserved by the spec; implementations may set vill, which we do.
    m = Machine(vlen=256)
    run(m, ["vsetvli a0, a1, e16, m2, ta, ma", "vsetvli zero, zero, e32, m2, ta, ma"], a1=7)
    assert m.csr(CSRS["vtype"]) == VILL and m.csr(CSRS["vl"]) == 0


@pytest.mark.parametrize("vt", [1 << 8, 4, 0x20, 0x38, (3 << 3) | 5, (2 << 3) | 5, (3 << 3) | 6])
def test_vsetvl_with_reserved_vtype_sets_vill(vt):
    m = Machine(vlen=512)
    run(m, ["vsetvl a0, a1, a2"], a1=10, a2=vt)
    assert m.x(10) == 0 and m.csr(CSRS["vtype"]) == VILL and m.csr(CSRS["vl"]) == 0


def test_vector_instruction_under_vill_is_illegal():
    m = Machine(vlen=256)   # vtype starts with vill set
    with pytest.raises(IllegalInstruction):
        run(m, ["vadd.vv v1, v2, v3"])


def test_vsetvl_resets_vstart():
    m = Machine(vlen=256)
    m.csr(CSRS["vstart"], 3)
    run(m, ["vsetvli a0, a1, e8, m1, ta, ma"], a1=5)
    assert m.csr(CSRS["vstart"]) == 0
