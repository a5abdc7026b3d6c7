"""Segment fault-only-first loads (vlseg<nf>e<eew>ff.v), against a model of
the RVV 1.0 text (7.7 and 7.8): a fault on segment 0 traps; a fault on a
later segment trims vl to that segment's index and loads the segments before
it, each field de-interleaved into its own register group."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import LoadFault, Machine
from tests.conftest import CODE, load_program

PAGE = 4096
DATA = 0x40000            # one readable page; the page after it is unmapped
LMUL = {1: "m1", 2: "m2"}


@given(nf=st.integers(2, 4), eew=st.sampled_from([8, 16, 32, 64]), lmul=st.sampled_from([1, 2]),
       vlen=st.sampled_from([128, 256, 512]), avl=st.integers(1, 64), data=st.data())
@settings(max_examples=80)
def test_segment_ff_trims_vl_at_the_first_faulting_segment(nf, eew, lmul, vlen, avl, data):
    if nf * lmul > 8:
        return
    eb = eew // 8
    vlmax = lmul * vlen // eew
    vl = min(avl, vlmax)
    seg = nf * eb
    # Segment k (k >= 0) starts at base + k*seg; place the page end so that
    # segment `cut` is the first one not wholly readable.
    cut = data.draw(st.integers(0, vl), label="first faulting segment (vl = none)")
    split = data.draw(st.integers(0, seg - 1), label="bytes of the cut segment still readable")
    base = DATA + PAGE - (cut * seg + split) if cut < vl else DATA + PAGE - vl * seg
    mem = np.random.default_rng(avl).integers(0, 256, PAGE, dtype=np.uint8)

    m = Machine(vlen=vlen)
    m.map(DATA, PAGE, "r")
    m.write(DATA, mem)
    load_program(m, [f"vsetvli t0, a1, e{eew}, {LMUL[lmul]}, ta, ma",
                     f"vlseg{nf}e{eew}ff.v v8, (a0)",
                     "csrr a0, vl", "jalr zero, 0(ra)"])
    if cut == 0:
        with pytest.raises(LoadFault):
            m.call(CODE, base, avl)
        return
    got_vl = m.call(CODE, base, avl)
    want_vl = cut if cut < vl else vl
    assert got_vl == want_vl
    off = base - DATA
    for f in range(nf):
        field = b"".join(m.v(8 + f * lmul + r) for r in range(lmul))
        for k in range(want_vl):
            start = off + k * seg + f * eb
            assert field[k * eb:(k + 1) * eb] == mem[start:start + eb].tobytes(), (f, k)
