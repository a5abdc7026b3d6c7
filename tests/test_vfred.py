"""Vector FP reductions against the exact oracle of test_fp.py, from the spec
(RVV 1.0 section 14.3): vfredosum/vfwredosum add the active elements of vs2
to vs1[0] in element order, one rounding per add (the widening forms widen
each element exactly first); vfredusum/vfwredusum are computed the same way
(the spec allows any association -- rvai picks the ordered one, so these are
checked against it); vfredmin/max fold with minimumNumber/maximumNumber
(NaNs lose to numbers, -0 < +0, NV only for signalling NaNs).  The result
goes to vd[0], the rest of vd is tail; vl = 0 writes nothing; vstart != 0 is
illegal.  Hypothesis draws SEW, LMUL, VLEN, vl, masks, frm and policies."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, Machine
from tests.test_fp import RNE, o_add, o_convert, o_minmax
from tests.test_vec_int import VD, VS1, VS2, execute, scenario
from tests.test_vfwide import FMT, fp_machine, mask_of
from tests.vec_util import UINT, get_group, run, set_group

SUMS = ["vfredosum", "vfredusum", "vfwredosum", "vfwredusum"]


@pytest.mark.parametrize("name", SUMS + ["vfredmin", "vfredmax"])
@given(s=scenario(sews=(16, 32, 64, 16, 32)), frm=st.integers(0, 4), vd=st.sampled_from([VD, VS2, VS1, 0]))
@settings(max_examples=25, deadline=None)
def test_reduction(name, s, frm, vd):
    w, nregs = s["sew"], max(1, 2 ** s["lg"])
    wide = name.startswith("vfw")
    text = f"{name}.vs v{vd}, v{VS2}, v{VS1}"   # vd may overlap the sources, even v0
    if s["vstart"] or (wide and w == 64):
        m, _ = fp_machine(s, frm, {})
        with pytest.raises(IllegalInstruction):
            execute(m, s, text)
        return
    rw = 2 * w if wide else w
    n, rf = FMT[w], FMT[rw]
    m, _ = fp_machine(s, frm, {VS2: (w, nregs), VS1: (rw, 1)})
    a = get_group(m, VS2, nregs, UINT[w])
    acc = int(get_group(m, VS1, 1, UINT[rw])[0])
    mask = mask_of(m)
    old = get_group(m, vd, 1, UINT[rw]).astype(object)
    m.csr(1, 0)
    execute(m, s, text)
    flags = 0
    for i in range(s["vl"]):
        if s["masked"] and not mask[i]:
            continue
        x = int(a[i])
        if name in ("vfredmin", "vfredmax"):
            acc, fl = o_minmax(acc, x, n, name == "vfredmax")
        else:
            if wide:
                x, fw = o_convert(x, n, rf, RNE)
                flags |= fw
            acc, fl = o_add(acc, x, rf, frm)
        flags |= fl
    want = old.copy()
    if s["vl"]:
        want[0] = acc
        if s["ta"] and s["ones"]:
            want[1:] = (1 << rw) - 1
    got = get_group(m, vd, 1, UINT[rw]).astype(object)
    assert [hex(v) for v in got] == [hex(v) for v in want], text
    assert m.csr(1) == flags


def _reduce(insn, sew, elems, init, vl=None, masked=None):
    """Run one reduction at VLEN 128 on f32/f64 data; returns (vd[0], fflags)."""
    m = Machine(vlen=128)
    u = UINT[sew]
    set_group(m, 8, np.array(elems, u))
    set_group(m, 4, np.array([init] + [0] * (128 // sew - 1), u))
    if masked is not None:
        bits = np.zeros(128, bool)
        bits[:len(masked)] = masked
        m.v(0, np.packbits(bits, bitorder="little").tobytes())
    run(m, [f"vsetvli t0, a0, e{sew}, m1, tu, mu", insn + (", v0.t" if masked is not None else "")],
        a0=len(elems) if vl is None else vl)
    return int(get_group(m, 2, 1, u)[0]), m.csr(1)


def test_ordered_sum_rounds_after_each_add():
    """1 + 2^-24 + 2^-24 + 2^-24 + 2^-24 in f32 round-to-nearest: each add ties
    back to 1 (ordered), whereas an exact sum would give 1 + 2^-22."""
    one, tiny = 0x3F800000, 0x33800000
    assert _reduce("vfredosum.vs v2, v8, v4", 32, [tiny] * 4, one) == (one, 1)
    assert _reduce("vfredusum.vs v2, v8, v4", 32, [tiny] * 4, one) == (one, 1)


def test_min_max_nan_and_signed_zero_rules():
    snan, qnan, pz, nz = 0x7F800001, 0x7FC00000, 0, 0x80000000
    assert _reduce("vfredmin.vs v2, v8, v4", 32, [pz, qnan, nz, qnan], qnan) == (nz, 0)
    assert _reduce("vfredmax.vs v2, v8, v4", 32, [nz, qnan, pz, qnan], nz) == (pz, 0)
    assert _reduce("vfredmax.vs v2, v8, v4", 32, [qnan, snan, qnan, qnan], qnan) == (0x7FC00000, 16)
    # an inactive signalling NaN raises nothing
    assert _reduce("vfredmax.vs v2, v8, v4", 32, [0x3F800000, snan, 0, 0], nz, masked=[1, 0, 1, 1]) == (0x3F800000, 0)


def test_vl_zero_leaves_vd_untouched_and_vstart_is_illegal():
    m = Machine(vlen=128, tail_ones=True)
    m.v(2, bytes(range(16)))
    run(m, ["vsetvli t0, a0, e32, m1, ta, ma", "vfredosum.vs v2, v8, v4"], a0=0)
    assert m.v(2) == bytes(range(16))
    with pytest.raises(IllegalInstruction):
        run(Machine(vlen=128), ["vsetvli t0, a0, e32, m1, ta, ma", "csrwi vstart, 1", "vfredusum.vs v2, v8, v4"],
            a0=4)
    with pytest.raises(IllegalInstruction):   # misaligned vs2 group
        run(Machine(vlen=128), ["vsetvli t0, a0, e32, m2, ta, ma", "vfredusum.vs v2, v9, v4"], a0=4)
