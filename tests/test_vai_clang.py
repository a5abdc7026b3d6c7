"""The AI-kernel extensions as compilers use them: tests/rvv_programs/ai_kernels.c
built by clang-22 (its Zvqdotq, Zvfbfmin, Zvfbfwma and Zfbfmin intrinsics, and
inline smt.vmadot), each function called on a Machine at several VLENs and its
results compared with NumPy models written from the specifications (exact
integers; bfloat16 through test_fp's exact rational oracle)."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction
from tests.conftest import clang22_object, loaded
from tests.test_fp import RNE, S, o_convert, o_fma
from tests.test_vai import B, vmadot_model
from tests.test_vfwide import fp_values

SRC = Path(__file__).parent / "rvv_programs" / "ai_kernels.c"
MARCH = "rv64gcv_zfbfmin_zvfbfmin_zvfbfwma_zvqdotq0p0_xsmtvdot"


@pytest.fixture(scope="module")
def obj(tmp_path_factory):
    return clang22_object(tmp_path_factory, SRC, MARCH)


machine = loaded


def put(m, array):
    addr = m.alloc(max(array.nbytes, 1))
    m.write(addr, array)
    return addr


@pytest.mark.parametrize("vlen", [128, 256, 512])
@given(n=st.integers(0, 150), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=8, deadline=None)
def test_qdot_intrinsics(obj, vlen, n, seed):
    rng = np.random.default_rng(seed)
    m = machine(obj, vlen)
    a, b = rng.integers(0, 256, 4 * n, dtype=np.uint8), rng.integers(0, 256, 4 * n, dtype=np.uint8)
    acc = rng.integers(0, 2**32, n, dtype=np.uint32)
    w = int(rng.integers(-2**31, 2**31))
    pa, pb = put(m, a), put(m, b)

    def dots(x, sx, y, sy):
        xs = x.view(np.int8 if sx else np.uint8).astype(np.int64).reshape(-1, 4)
        ys = y.view(np.int8 if sy else np.uint8).astype(np.int64).reshape(-1, 4)
        return ((acc.astype(np.int64) + (xs * ys).sum(axis=1)) % 2**32).astype(np.uint32)

    wbytes = np.tile(np.array([w], np.int32).view(np.uint8), n)
    for fn, sa, sb, args, other in [("qdot_ss", True, True, (pa, pb), b), ("qdot_uu", False, False, (pa, pb), b),
                                    ("qdot_su", True, False, (pa, pb), b),
                                    ("qdot_us_scalar", False, True, (pa, w), wbytes)]:
        pacc = put(m, acc)
        m.call(fn, pacc, *args, n, ret=None)
        assert np.array_equal(m.read(pacc, np.uint32, n), dots(a, sa, other, sb)), fn


@pytest.mark.parametrize("vlen", [128, 256, 512])
@given(n=st.integers(0, 120), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=6, deadline=None)
def test_bf16_intrinsics(obj, vlen, n, seed):
    rng = np.random.default_rng(seed)
    m = machine(obj, vlen)
    a = np.array(fp_values(rng, B, n), np.uint16)
    b = np.array(fp_values(rng, B, n), np.uint16)
    s = np.array(fp_values(rng, S, n), np.uint32)
    acc = np.array(fp_values(rng, S, n), np.uint32)
    pa, pb, ps = put(m, a), put(m, b), put(m, s)

    out = m.alloc(4 * n + 4)
    m.call("bf16_widen", out, pa, n, ret=None)
    assert [hex(v) for v in m.read(out, np.uint32, n)] == [hex(o_convert(int(x), B, S, RNE)[0]) for x in a]

    m.call("bf16_narrow", out, ps, n, ret=None)
    assert [hex(v) for v in m.read(out, np.uint16, n)] == [hex(o_convert(int(x), S, B, RNE)[0]) for x in s]

    m.call("bf16_round_trip", out, ps, n, ret=None)
    want = [o_convert(o_convert(int(x), S, B, RNE)[0], B, S, RNE)[0] for x in s]
    assert [hex(v) for v in m.read(out, np.uint32, n)] == [hex(v) for v in want]

    pacc = put(m, acc)
    m.call("bf16_wmacc", pacc, pa, pb, n, ret=None)
    want = [o_fma(int(x) << 16, int(y) << 16, int(c), S, RNE)[0] for x, y, c in zip(a, b, acc)]
    assert [hex(v) for v in m.read(pacc, np.uint32, n)] == [hex(v) for v in want]

    scalar = int(b[0]) if n else 0x3f80
    pacc = put(m, acc)
    # the __bf16 argument travels NaN-boxed in fa0, as a half does: pass its bits as one
    m.call("bf16_wmacc_scalar", pacc, np.float16(np.uint16(scalar).view(np.float16)), pb, n, ret=None)
    want = [o_fma(scalar << 16, int(y) << 16, int(c), S, RNE)[0] for y, c in zip(b, acc)]
    assert [hex(v) for v in m.read(pacc, np.uint32, n)] == [hex(v) for v in want]


TILES = {256: (4, 8), 1024: (8, 16)}


@pytest.mark.parametrize("vlen", [256, 1024])
@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=10, deadline=None)
def test_ime_inline_asm(obj, vlen, seed):
    rng = np.random.default_rng(seed)
    m = machine(obj, vlen)
    mn, k = TILES[vlen]
    vlenb = vlen // 8
    a = rng.integers(0, 256, 2 * vlenb, dtype=np.uint8)
    b = rng.integers(0, 256, vlenb, dtype=np.uint8)
    c = rng.integers(0, 2**32, 2 * vlenb // 4, dtype=np.uint32)
    pa, pb = put(m, a), put(m, b)
    pc = put(m, c)
    m.call("ime_vmadot", pc, pa, pb, ret=None)
    assert np.array_equal(m.read(pc, np.uint32, len(c)), vmadot_model(a[:vlenb], b, c, 0, True, True, mn, k))
    pc = put(m, c)
    m.call("ime_vmadot1su", pc, pa, pb, ret=None)
    assert np.array_equal(m.read(pc, np.uint32, len(c)), vmadot_model(a, b, c, 1, True, False, mn, k))


@pytest.mark.parametrize("vlen", [128, 512])
def test_ime_has_no_tile_shape_at_other_vlens(obj, vlen):
    m = machine(obj, vlen)
    p = m.alloc(2 * vlen // 8 * 4)
    with pytest.raises(IllegalInstruction, match=r"smt\.vmadot\s+v16, v2, v3"):
        m.call("ime_vmadot", p, p, p, ret=None)
