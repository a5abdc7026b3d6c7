"""Integer reductions against models written from the RVV 1.0 spec text
(section 14.1-14.2): vredsum/and/or/xor/minu/min/maxu/max and the widening
vwredsumu/vwredsum over SEW, LMUL, vl, masks, policies, agnostic fill and
VLEN in {128, 256, 512, 1024}; a non-zero vstart is illegal."""
from functools import reduce

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, Machine
from tests.test_vec_int import execute, prepare, scenario, sgn
from tests.vec_util import UINT, get_group, run

VD, VS2, VS1 = 8, 16, 24

# op(acc, element, sew) on unsigned SEW-bit values.
RED = {
    "vredsum": lambda a, b, w: a + b,
    "vredand": lambda a, b, w: a & b,
    "vredor": lambda a, b, w: a | b,
    "vredxor": lambda a, b, w: a ^ b,
    "vredminu": lambda a, b, w: min(a, b),
    "vredmaxu": lambda a, b, w: max(a, b),
    "vredmin": lambda a, b, w: min(sgn(a, w), sgn(b, w)),
    "vredmax": lambda a, b, w: max(sgn(a, w), sgn(b, w)),
}


@pytest.mark.parametrize("name", sorted(RED))
@given(s=scenario(), vd=st.sampled_from([VD, VS2, VS1, 0]))
@settings(max_examples=25, deadline=None)
def test_single_width_reduction(name, s, vd):
    m, _ = prepare(s)
    w, nregs = s["sew"], max(1, 2 ** s["lg"])
    ones = (1 << w) - 1
    a = get_group(m, VS2, nregs, UINT[w]).astype(object)
    init = int(get_group(m, VS1, 1, UINT[w])[0])
    v0 = np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(bool)
    old = get_group(m, vd, 1, UINT[w]).astype(object)
    text = f"{name}.vs v{vd}, v{VS2}, v{VS1}"   # vd may overlap the sources, even v0
    if s["vstart"]:
        with pytest.raises(IllegalInstruction):
            execute(m, s, text)
        return
    execute(m, s, text)
    act = [int(a[i]) for i in range(s["vl"]) if not s["masked"] or v0[i]]
    want = old.copy()
    if s["vl"]:
        want[0] = reduce(lambda acc, e: RED[name](acc, e, w), act, init) & ones
        if s["ta"] and s["ones"]:
            want[1:] = ones
    assert list(get_group(m, vd, 1, UINT[w]).astype(object)) == list(want), text


@pytest.mark.parametrize("name", ["vwredsumu", "vwredsum"])
@given(s=scenario(), vd=st.sampled_from([VD, VS1]))
@settings(max_examples=40, deadline=None)
def test_widening_reduction(name, s, vd):
    m, _ = prepare(s)
    w, nregs = s["sew"], max(1, 2 ** s["lg"])
    text = f"{name}.vs v{vd}, v{VS2}, v{VS1}"
    if w == 64 or s["vstart"]:   # 2*SEW above ELEN; vstart must be 0
        with pytest.raises(IllegalInstruction):
            execute(m, s, text)
        return
    ww, ones = 2 * w, (1 << (2 * w)) - 1
    a = get_group(m, VS2, nregs, UINT[w]).astype(object)
    init = int(get_group(m, VS1, 1, UINT[ww])[0])
    v0 = np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(bool)
    old = get_group(m, vd, 1, UINT[ww]).astype(object)
    execute(m, s, text)
    # Spec 14.2: 2*SEW sum of the sign- or zero-extended active elements and vs1[0].
    ext = (lambda v: sgn(v, w)) if name == "vwredsum" else int
    want = old.copy()
    if s["vl"]:
        want[0] = (init + sum(ext(int(a[i])) for i in range(s["vl"]) if not s["masked"] or v0[i])) & ones
        if s["ta"] and s["ones"]:
            want[1:] = ones
    assert list(get_group(m, vd, 1, UINT[ww]).astype(object)) == list(want), text


def test_reduction_misaligned_source_group_is_illegal():
    with pytest.raises(IllegalInstruction):
        run(Machine(vlen=256), ["vsetvli t0, a7, e32, m4, ta, ma", "vredsum.vs v1, v2, v3"], a7=4)
