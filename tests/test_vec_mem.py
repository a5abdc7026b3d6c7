"""Vector loads and stores against models from the RVV 1.0 spec (chapter 7):
unit-stride, strided, indexed (ordered/unordered), segments nf 2-8 of each,
fault-only-first, whole-register and mask loads/stores, and precise faults."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, LoadFault, Machine, StoreFault
from tests.vec_util import UINT, VLENS, get_group, lmul_name, run, vlmax

VD = 8
BUF = 1 << 18


@st.composite
def mem_case(draw):
    vlen = draw(st.sampled_from(VLENS))
    sew = draw(st.sampled_from([8, 16, 32, 64]))
    eew = draw(st.sampled_from([8, 16, 32, 64]))
    kind = draw(st.sampled_from(["unit", "strided", "indexed"]))
    data_eew = sew if kind == "indexed" else eew
    lg = draw(st.sampled_from([g for g in range(-3, 4) if sew <= 64 * 2.0 ** g]))
    emul = lg + (eew // 8).bit_length() - (sew // 8).bit_length()
    if not -3 <= emul <= 3:
        emul = None
    dlg = lg if kind == "indexed" else emul
    regs = max(1, 2 ** dlg) if dlg is not None else 1
    nf = draw(st.integers(1, max(1, 8 // regs)))
    vmax = vlmax(vlen, sew, lg)
    return dict(vlen=vlen, sew=sew, eew=eew, data_eew=data_eew, kind=kind, lg=lg, emul=emul, dlg=dlg, nf=nf,
                vl=draw(st.integers(0, vmax)), vstart=draw(st.sampled_from([0, 0, draw(st.integers(0, vmax - 1))])),
                masked=draw(st.booleans()), store=draw(st.booleans()), stride=draw(st.integers(-64, 64)),
                seed=draw(st.integers(0, 2**32 - 1)))


def mnemonic(c):
    w, nf = c["eew"], c["nf"]
    seg = f"seg{nf}" if nf > 1 else ""
    op = "s" if c["store"] else "l"
    if c["kind"] == "unit":
        return f"v{op}{seg}e{w}.v v{VD}, (a0)"
    if c["kind"] == "strided":
        return f"v{op}s{seg}e{w}.v v{VD}, (a0), a1"
    return f"v{op}ux{seg}ei{w}.v v{VD}, (a0), v{24}"


@given(c=mem_case())
@settings(max_examples=150, deadline=None)
def test_load_store_model(c):
    m = Machine(vlen=c["vlen"])
    rng = np.random.default_rng(c["seed"])
    for r in range(32):
        m.v(r, rng.integers(0, 256, c["vlen"] // 8, dtype=np.uint8).tobytes())
    base = m.alloc(BUF) + BUF // 2
    mem0 = rng.integers(0, 256, BUF, dtype=np.uint8)
    m.write(base - BUF // 2, mem0)
    db = c["data_eew"] // 8
    # Indices: small, distinct per element so the (unordered) store result is defined.
    n_el = vlmax(c["vlen"], c["sew"], c["lg"])
    if c["kind"] == "indexed" and c["emul"] is not None:
        limit = min(2 ** c["eew"] // (c["nf"] * db), 1000)
        picks = rng.permutation(limit)[:n_el] if limit >= n_el else rng.integers(0, limit, n_el)
        idx = np.zeros(c["vlen"] * 8 // c["eew"], UINT[c["eew"]])
        idx[:len(picks)] = picks * c["nf"] * db
        regs = max(1, 2 ** c["emul"])
        raw = idx.tobytes()[: regs * c["vlen"] // 8]
        for k in range(regs):
            m.v(24 + k, raw[k * c["vlen"] // 8:(k + 1) * c["vlen"] // 8])
    text = mnemonic(c) + (", v0.t" if c["masked"] else "")
    prog = [f"vsetvli t0, a7, e{c['sew']}, {lmul_name(c['lg'])}, tu, mu", "csrrw zero, vstart, a6", text]
    legal = c["emul"] is not None and (c["kind"] != "indexed" or 24 % max(1, 2 ** c["emul"]) == 0)
    regs_d = max(1, 2 ** c["dlg"]) if c["dlg"] is not None else 1
    legal = legal and c["nf"] * regs_d <= 8 and VD + c["nf"] * regs_d <= 32
    if c["kind"] == "indexed" and not c["store"] and legal:
        iregs = max(1, 2 ** c["emul"])
        overlap = VD < 24 + iregs and 24 < VD + c["nf"] * regs_d
        legal = not overlap
    if not legal:
        with pytest.raises(IllegalInstruction):
            run(m, prog, a0=base, a1=c["stride"], a7=c["vl"], a6=c["vstart"])
        return
    fields = [get_group(m, VD + f * regs_d, regs_d, np.uint8).reshape(-1, db).copy() for f in range(c["nf"])]
    mask = np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(bool)
    idxv = get_group(m, 24, 8, UINT[c["eew"]]) if c["kind"] == "indexed" else None
    run(m, prog, a0=base, a1=c["stride"], a7=c["vl"], a6=c["vstart"])
    mem = mem0.copy()
    o = BUF // 2
    for i in range(c["vstart"], c["vl"]):
        if c["masked"] and not mask[i]:
            continue
        for f in range(c["nf"]):
            if c["kind"] == "unit":
                off = (i * c["nf"] + f) * db
            elif c["kind"] == "strided":
                off = i * c["stride"] + f * db
            else:
                off = int(idxv[i]) + f * db
            if c["store"]:
                mem[o + off:o + off + db] = fields[f][i]
            else:
                fields[f][i] = mem0[o + off:o + off + db]
    if c["store"]:
        assert np.array_equal(m.read(base - o, np.uint8, BUF), mem)
    else:
        for f in range(c["nf"]):
            got = get_group(m, VD + f * regs_d, regs_d, np.uint8).reshape(-1, db)
            assert np.array_equal(got, fields[f]), f


@pytest.mark.parametrize("nf", [1, 2, 4, 8])
@pytest.mark.parametrize("eew", [8, 16, 32, 64])
def test_whole_register_load_store_ignore_vtype(nf, eew):
    m = Machine(vlen=256)   # vtype is vill: whole-register moves are still legal
    data = np.arange(nf * 32, dtype=np.uint8) ^ 0x5A
    src, dst = m.alloc(data), m.alloc(nf * 32)
    run(m, [f"vl{nf}re{eew}.v v{8}, (a0)", f"vs{nf}r.v v8, (a1)"], a0=src, a1=dst)
    assert np.array_equal(get_group(m, 8, nf, np.uint8), data)
    assert np.array_equal(m.read(dst, np.uint8, nf * 32), data)
    if nf > 1:
        with pytest.raises(IllegalInstruction):   # the group must be aligned to nf
            run(Machine(vlen=256), [f"vl{nf}re{eew}.v v{nf + 1}, (a0)"], a0=src)


def test_mask_load_store_move_ceil_vl_over_8_bytes():
    m = Machine(vlen=256)
    src, dst = m.alloc(np.arange(32, dtype=np.uint8) + 1), m.alloc(np.zeros(32, np.uint8))
    run(m, ["vsetvli t0, a2, e8, m1, ta, ma", "vlm.v v3, (a0)", "vsm.v v3, (a1)"], a0=src, a1=dst, a2=19)
    assert list(m.read(dst, np.uint8, 4)) == [1, 2, 3, 0]   # ceil(19 / 8) = 3 bytes


def test_fault_only_first_trims_vl_past_element_0():
    m = Machine(vlen=256)
    page = m.alloc(8192)
    page = (page + 4095) // 4096 * 4096
    # Elements from the 4th on lie past the mapped arena end: find a mapped/unmapped boundary.
    end = max(b + n for b, n, _ in m.regions() if b <= page < b + n)
    base = end - 12
    m.write(base, np.array([1, 2, 3], np.int32))
    run(m, ["vsetvli t0, a1, e32, m1, ta, ma", "vle32ff.v v4, (a0)", "csrr a0, vl"], a0=base, a1=8)
    assert m.x(10) == 3
    assert list(get_group(m, 4, 1, np.int32)[:3]) == [1, 2, 3]
    with pytest.raises(LoadFault):   # a fault on element 0 traps
        run(Machine(vlen=256), ["vsetvli t0, a1, e32, m1, ta, ma", "vle32ff.v v4, (a0)"], a0=end, a1=8)


def test_faulting_load_and_store_set_vstart_at_the_element():
    m = Machine(vlen=256)
    a = m.alloc(4096)
    end = max(b + n for b, n, _ in m.regions() if b <= a < b + n)
    with pytest.raises(LoadFault) as e:
        run(m, ["vsetvli t0, a1, e32, m1, ta, ma", "vle32.v v4, (a0)"], a0=end - 8, a1=8)
    assert e.value.addr == end and m.csr(0x008) == 2
    m = Machine(vlen=256)
    a = m.alloc(4096)
    with pytest.raises(StoreFault):
        run(m, ["vsetvli t0, a1, e64, m1, ta, ma", "vsse64.v v4, (a0), a2"], a0=end - 24, a1=4, a2=8)
    assert m.csr(0x008) == 3


@given(vlen=st.sampled_from(VLENS), sew=st.sampled_from([8, 16, 32, 64]), eew=st.sampled_from([8, 16, 32, 64]),
       lg=st.integers(-1, 2), masked=st.booleans(), store=st.booleans(), data=st.data())
@settings(max_examples=80, deadline=None)
def test_ordered_indexed_model(vlen, sew, eew, lg, masked, store, data):
    """vloxei/vsoxei (spec 7.6): element i at base + index[i] (index EEW from the
    instruction, data EEW = SEW), in element order: with repeated indices the
    store of the last active element is what memory keeps."""
    emul = lg + (eew // 8).bit_length() - (sew // 8).bit_length()
    if sew > 64 * 2.0 ** lg or not -3 <= emul <= 3:
        return
    vmax = vlmax(vlen, sew, lg)
    vl = data.draw(st.integers(0, vmax))
    seed = data.draw(st.integers(0, 2**32 - 1))
    m = Machine(vlen=vlen)
    rng = np.random.default_rng(seed)
    for r in range(32):
        m.v(r, rng.integers(0, 256, vlen // 8, dtype=np.uint8).tobytes())
    db, iregs, dregs = sew // 8, max(1, 2 ** emul), max(1, 2 ** lg)
    base = m.alloc(4096)
    mem0 = rng.integers(0, 256, 4096, dtype=np.uint8)
    m.write(base, mem0)
    # Few distinct slots, so indices repeat often.
    idx = np.zeros(iregs * vlen // eew, UINT[eew])
    idx[:vmax] = rng.integers(0, min(8, 2 ** eew // db), vmax) * db
    raw = idx.tobytes()
    for k in range(iregs):
        m.v(24 + k, raw[k * vlen // 8:(k + 1) * vlen // 8])
    mask = np.unpackbits(np.frombuffer(m.v(0), np.uint8), bitorder="little").astype(bool)
    data_regs = get_group(m, VD, dregs, UINT[sew]).copy()
    op = f"vsoxei{eew}.v" if store else f"vloxei{eew}.v"
    prog = [f"vsetvli t0, a7, e{sew}, {lmul_name(lg)}, tu, mu", f"{op} v{VD}, (a0), v24" + (", v0.t" if masked else "")]
    run(m, prog, a0=base, a7=vl)
    active = [i for i in range(vl) if not masked or mask[i]]
    if store:
        mem = mem0.copy()
        for i in active:
            mem[int(idx[i]):int(idx[i]) + db] = np.frombuffer(data_regs[i:i + 1].tobytes(), np.uint8)
        assert np.array_equal(m.read(base, np.uint8, 4096), mem)
    else:
        want = data_regs.copy()
        for i in active:
            want[i] = np.frombuffer(mem0[int(idx[i]):int(idx[i]) + db].tobytes(), UINT[sew])[0]
        assert np.array_equal(get_group(m, VD, dregs, UINT[sew]), want)
