"""Every DSL op against NumPy, in the emulator and under qemu-user, at VLEN 128..1024 with one object per kernel."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rvai.lang as rl
from kernel_runners import RUNNERS, VLENS, run
from rvai.codegen import qemu
from rvai.target import Target

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
finite = st.floats(-1e3, 1e3, width=32, allow_subnormal=False)


def vec(n_min=0, n_max=70, elements=finite, dtype=np.float32):
    return hnp.arrays(dtype, st.integers(n_min, n_max), elements=elements)


N_ELEMENTWISE = 13


@rl.kernel
def elementwise(s: rl.f32, x: rl.Tensor[rl.f32], y: rl.Tensor[rl.f32], o: rl.Tensor[rl.f32, 2], LMUL=2):
    for vl, i in rl.vloop(x.shape[0], sew=32, lmul=LMUL):
        a, b = x.vload(i), y.vload(i)
        outs = [a + b, a - s, s - a, a * b, a / b, s / b, rl.minimum(a, b), rl.maximum(a, s),
                rl.fma(s, a, b), rl.where(a < b, a, b * 2.0), -a, rl.sqrt(rl.abs(a)), a * s + b]
        for k, v in enumerate(outs):
            o.vstore(v, k, i)


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data())
def test_elementwise_float(runner, vlen, data):
    x = data.draw(vec())
    y = data.draw(hnp.arrays(np.float32, x.shape, elements=st.floats(0.5, 100, width=32)))
    s = data.draw(finite)
    o = np.zeros((N_ELEMENTWISE, x.size), np.float32)
    run(elementwise, s, x, y, o, runner=runner, vlen=vlen)
    s32 = np.float32(s)
    want = [x + y, x - s32, s32 - x, x * y, x / y, s32 / y, np.minimum(x, y), np.maximum(x, s32),
            (np.float64(s32) * x + y).astype(np.float32), np.where(x < y, x, y * 2), -x,
            np.sqrt(np.abs(x)), (np.float64(s32) * x + y).astype(np.float32)]
    for k, w in enumerate(want):
        np.testing.assert_allclose(o[k], w, rtol=2e-7, atol=1e-30, err_msg=f"output {k}")


def fold(v, total, hi, lo):
    """Fold the sum, maximum and minimum of vector ``v`` into three vars (traced inline)."""
    total.value = total + v.sum()
    hi.value = rl.maximum(hi, v.max())
    lo.value = rl.minimum(lo, v.min())


@rl.kernel
def slides(x: rl.Tensor[None, 1], k: rl.i64, o: rl.Tensor[None, 1], m: rl.Tensor[None, 1]):
    """One chunk of x (at most VLMAX at VLEN 128, LMUL 8): o[:n - k] = x[k:n] by a slide,
    m[0] = x[0] by first(), m[1] = max(x) by a tree of slides (n -> n - n // 2)."""
    with rl.vector(x.shape[0], lmul=8) as vl:
        v = x.vload(0)
        with rl.vector(vl - k, lmul=8):
            o.vstore(rl.slidedown(v, k), 0)
        m[0] = v.first()
        t, n = rl.var(v), rl.var(vl)
        for _ in rl.range(0, 6, unroll=False):
            h = n.value // 2
            with rl.vector(n.value - h, lmul=8):
                t.value = rl.maximum(t.value, rl.slidedown(t.value, h))
            n.value = n.value - h
        m[1] = t.value.first()


@pytest.mark.parametrize("dtype", [np.float32, np.int32])
@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data())
def test_slidedown_and_first(runner, vlen, dtype, data):
    """vslidedown.vx moves elements k.. down to 0; vfmv.f.s / vmv.x.s read element 0; with
    them six halving steps give the maximum of up to 32 elements."""
    elements = finite if dtype == np.float32 else st.integers(-2**31, 2**31 - 1)
    x = data.draw(vec(1, 32, elements=elements, dtype=dtype))
    k = data.draw(st.integers(0, x.size - 1))
    o, m = np.zeros(x.size, dtype), np.zeros(2, dtype)
    run(slides, x, k, o, m, runner=runner, vlen=vlen)
    np.testing.assert_array_equal(o[:x.size - k], x[k:])
    assert (o[x.size - k:] == 0).all()
    assert m[0] == x[0] and m[1] == x.max()


@rl.kernel
def reductions(x: rl.Tensor[rl.f32], o: rl.Tensor[rl.f32]):
    total, hi, lo = rl.var(0.0), rl.var(float("-inf")), rl.var(float("inf"))
    for vl, i in rl.vloop(x.shape[0], sew=32, lmul=8):
        fold(x.vload(i), total, hi, lo)
    o[0], o[1], o[2] = total.value, hi.value, lo.value


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(x=vec(1, 300))
def test_reductions(runner, vlen, x):
    o = np.zeros(3, np.float32)
    run(reductions, x, o, runner=runner, vlen=vlen)
    # Any order of n-1 float32 additions is within (n-1)u/(1-(n-1)u) of the sum of |x|
    # (Higham, Accuracy and Stability, 4.2), u = 2**-24; the final store rounds once more.
    u, n = 2.0 ** -24, x.size
    bound = ((n - 1) * u / (1 - (n - 1) * u) + u) * np.abs(x).astype(np.float64).sum()
    assert abs(o[0] - x.astype(np.float64).sum()) <= bound + 1e-30
    assert o[1] == x.max() and o[2] == x.min()


@rl.kernel
def reductions_at_vl(x: rl.Tensor[rl.f32], xi: rl.Tensor[rl.i32], k: rl.i64, o: rl.Tensor[rl.f32, 2],
                     oi: rl.Tensor[rl.i32]):
    """Sums, maxima and minima whose vl cannot be 0: a vloop's (row 0), ``rl.vector`` of a
    positive constant (row 1) and of such a vl (row 2); then at ``rl.vector(k)``, a vl that may
    be 0 (row 3, and ``oi`` of ``xi``)."""
    total, hi, lo = rl.var(0.0), rl.var(float("-inf")), rl.var(float("inf"))
    for vl, i in rl.vloop(x.shape[0], sew=32, lmul=4):
        fold(x.vload(i), total, hi, lo)
    o[0, 0], o[0, 1], o[0, 2] = total.value, hi.value, lo.value
    with rl.vector(3, sew=32, lmul=4) as vl3:
        v = x.vload(0)
        o[1, 0], o[1, 1], o[1, 2] = v.sum(), v.max(), v.min()
        with rl.vector(vl3, sew=32, lmul=4):
            o[2, 0] = (v * 2.0).sum()
    with rl.vector(k, sew=32, lmul=4):
        v, w = x.vload(0), xi.vload(0)
        o[3, 0], o[3, 1], o[3, 2] = v.sum(), v.max(), v.min()
        oi[0], oi[1], oi[2] = w.sum(), w.max(), w.min()


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data())
def test_reductions_at_a_vl_that_may_be_zero(runner, vlen, data):
    """A reduction at vl 0 writes no element of vd (RVV 1.0, "Vector Reduction Operations"):
    there it gives the empty reduction's 0, -inf / +inf, or the integer type's extremes, also
    beside reductions whose destination the compiler left free (whose vl cannot be 0)."""
    x = data.draw(vec(3, 70, elements=st.floats(1, 1e3, width=32)))
    xi = data.draw(hnp.arrays(np.int32, x.size, elements=st.integers(-1000, 1000)))
    k = data.draw(st.sampled_from([0, 0, 1, x.size]))
    o, oi = np.full((4, 3), np.nan, np.float32), np.full(3, 7, np.int32)
    run(reductions_at_vl, x, xi, k, o, oi, runner=runner, vlen=vlen)
    x64, m = x.astype(np.float64), min(k, vlen // 8)      # rl.vector(k)'s vl at LMUL 4
    assert o[0, 1] == x.max() and o[0, 2] == x.min()
    assert o[0, 0] == pytest.approx(x64.sum(), rel=1e-5)
    assert o[1, 0] == pytest.approx(x64[:3].sum(), rel=1e-6) and (o[1, 1], o[1, 2]) == (x[:3].max(), x[:3].min())
    assert o[2, 0] == pytest.approx(2 * x64[:3].sum(), rel=1e-6)
    if k == 0:
        assert list(o[3]) == [0.0, -np.inf, np.inf] and list(oi) == [0, -2**31, 2**31 - 1]
    else:
        assert o[3, 0] == pytest.approx(x64[:m].sum(), rel=1e-5) and (o[3, 1], o[3, 2]) == (x[:m].max(), x[:m].min())
        assert list(oi) == [xi[:m].astype(np.int64).sum(), xi[:m].max(), xi[:m].min()]


def test_reductions_whose_vl_cannot_be_zero_leave_the_destination_free():
    """A reduction's result is read at element 0 only; where its vl cannot be 0 the passthru is
    poison (tail agnostic, any destination: LLVM need not copy the start value into it, a
    `vmv1r.v` where the start value is shared): :func:`reductions_at_vl`'s 7 reductions of rows
    0-2, not the 6 at ``rl.vector(k)``, which keep the start value as passthru."""
    ir = reductions_at_vl.compile(Target.preset("generic")).llvm_ir_unoptimized
    calls = [line for line in ir.splitlines() if "red" in line and " = call " in line]
    assert len(calls) == 13
    assert [c.count("(<vscale x 2 x float> poison,") + c.count("(<vscale x 2 x i32> poison,") for c in calls] == [1] * 7 + [0] * 6


@rl.kernel
def int_ops(x: rl.Tensor[rl.i32], y: rl.Tensor[rl.i32], o: rl.Tensor[rl.i32, 2]):
    for vl, i in rl.vloop(x.shape[0], sew=32, lmul=1):
        a, b = x.vload(i), y.vload(i)
        outs = [a + b, a - 3, 7 - a, a * b, a // b, a % b, rl.minimum(a, b), rl.maximum(a, 5),
                a & b, a | b, a ^ b, a << 3, a >> 2, rl.where(a > b, a, b), rl.arange(rl.i32) + i.to(rl.i32)]
        for k, v in enumerate(outs):
            o.vstore(v, k, i)


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data())
def test_int_ops(runner, vlen, data):
    x = data.draw(vec(elements=st.integers(-10000, 10000), dtype=np.int32))
    y = data.draw(hnp.arrays(np.int32, x.shape, elements=st.integers(1, 300)))
    o = np.zeros((15, x.size), np.int32)
    run(int_ops, x, y, o, runner=runner, vlen=vlen)
    q = np.trunc(x / y).astype(np.int32)
    want = [x + y, x - 3, 7 - x, x * y, q, x - q * y, np.minimum(x, y), np.maximum(x, 5), x & y, x | y,
            x ^ y, x << 3, x >> 2, np.where(x > y, x, y), np.arange(x.size, dtype=np.int32)]
    for k, w in enumerate(want):
        np.testing.assert_array_equal(o[k], w, err_msg=f"output {k}")


@rl.kernel
def conversions(x: rl.Tensor[rl.f32], b: rl.Tensor[rl.i8], h: rl.Tensor[rl.bf16],
                of: rl.Tensor[rl.f32, 2], oi: rl.Tensor[rl.i32, 2], oh: rl.Tensor[rl.bf16], os: rl.Tensor[rl.i16]):
    for vl, i in rl.vloop(x.shape[0], sew=32, lmul=4):
        v = x.vload(i)
        of.vstore(v.to(rl.f64).to(rl.f32) * 2.0, 0, i)
        of.vstore(h.vload(i).to(rl.f32), 1, i)
        of.vstore(b.vload(i).to(rl.f32), 2, i)
        oi.vstore(v.to(rl.i32), 0, i)
        oi.vstore(b.vload(i).to(rl.i32), 1, i)
        oh.vstore(v.to(rl.bf16), i)
        os.vstore(v.to(rl.i32).to(rl.i16), i)


def _bf16_round(x):
    bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data())
def test_conversions(runner, vlen, data):
    x = data.draw(vec(elements=st.floats(-3e4, 3e4, width=32)))
    b = data.draw(hnp.arrays(np.int8, x.shape))
    h = data.draw(hnp.arrays(np.uint16, x.shape, elements=st.integers(0x0000, 0x7F7F)))
    of, oi = np.zeros((3, x.size), np.float32), np.zeros((2, x.size), np.int32)
    oh, os_ = np.zeros(x.size, np.uint16), np.zeros(x.size, np.int16)
    run(conversions, x, b, h, of, oi, oh, os_, runner=runner, vlen=vlen)
    np.testing.assert_array_equal(of[0], x * 2)
    np.testing.assert_array_equal(of[1], (h.astype(np.uint32) << 16).view(np.float32))
    np.testing.assert_array_equal(of[2], b.astype(np.float32))
    np.testing.assert_array_equal(oi[0], np.trunc(x).astype(np.int32))
    np.testing.assert_array_equal(oi[1], b.astype(np.int32))
    np.testing.assert_array_equal(oh, _bf16_round(x))
    np.testing.assert_array_equal(os_, np.trunc(x).astype(np.int32).astype(np.int16))


@rl.kernel
def rounded(x: rl.Tensor[rl.f32], oi: rl.Tensor[rl.i32, 2], os: rl.Tensor[rl.i16], ob: rl.Tensor[rl.i8]):
    """Float to int to nearest: ties to even, and away from zero (C's roundf), widths 32/16/8."""
    for vl, i in rl.vloop(x.shape[0], sew=32, lmul=2):
        v = x.vload(i)
        oi.vstore(v.to(rl.i32, rounding="even"), 0, i)
        oi.vstore(v.to(rl.i32, rounding="away"), 1, i)
        os.vstore(v.to(rl.i16, rounding="away"), i)               # vfncvt.x.f.w
        ob.vstore((v * (1.0 / 256)).to(rl.i8, rounding="away"), i)   # vfncvt + vnsrl


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data())
def test_rounded_conversions(runner, vlen, data):
    """Half-integers (exact ties) and arbitrary floats; the oracle adds 0.5 in float64
    (exact) and truncates for ties away, np.rint for ties to even."""
    ties = st.integers(-60000, 60000).map(lambda k: k / 2)
    x = data.draw(vec(elements=st.one_of(ties, st.floats(-3e4, 3e4, width=32)))).astype(np.float32)
    oi, os_, ob = np.zeros((2, x.size), np.int32), np.zeros(x.size, np.int16), np.zeros(x.size, np.int8)
    run(rounded, x, oi, os_, ob, runner=runner, vlen=vlen)

    def away(v):
        v = v.astype(np.float64)
        return np.trunc(v + np.copysign(0.5, v))
    np.testing.assert_array_equal(oi[0], np.rint(x.astype(np.float64)))
    np.testing.assert_array_equal(oi[1], away(x))
    np.testing.assert_array_equal(os_, np.clip(away(x), -32768, 32767))    # vfncvt saturates at i16
    np.testing.assert_array_equal(ob, away(x * np.float32(1 / 256)).astype(np.int16).astype(np.int8))


def test_rounding_is_for_vector_float_to_int():
    for body in (lambda v: v.to(rl.i32, rounding="up"), lambda v: v.to(rl.f64, rounding="away")):
        @rl.kernel
        def bad(x: rl.Tensor[rl.f32], o: rl.Tensor[rl.i32]):
            for vl, i in rl.vloop(x.shape[0], sew=32, lmul=1):
                o.vstore(body(x.vload(i)).to(rl.i32), i)
        with pytest.raises(rl.KernelError, match="rounding="):
            bad.trace()


@rl.kernel
def half(x: rl.Tensor[rl.f16], y: rl.Tensor[rl.f16], s: rl.f32, oh: rl.Tensor[rl.f16, 2], of: rl.Tensor[rl.f32, 2],
         red: rl.Tensor[rl.f16]):
    """f16 vectors: Zvfh arithmetic, widening to f32 and narrowing back, f16 scalars, max/min folds."""
    hi, lo = rl.var(rl.const(float("-inf"), rl.f16)), rl.var(rl.const(float("inf"), rl.f16))
    for vl, i in rl.vloop(x.shape[0], sew=16, lmul=2):
        a, b = x.vload(i), y.vload(i)
        w = a.to(rl.f32)                                      # vfwcvt.f.f.v, the f32 vector at m4
        outs = [a + b, a * b, rl.maximum(a, b), (w * s).to(rl.f16), rl.where(a < b, a, b * s.to(rl.f16))]
        for k, v in enumerate(outs):
            oh.vstore(v, k, i)
        of.vstore(w, 0, i)
        of.vstore(w * s, 1, i)
        hi.value = rl.maximum(hi, a.max())
        lo.value = rl.minimum(lo, a.min())
    red[0], red[1] = hi.value, lo.value


@pytest.mark.parametrize("vlen", VLENS)
@SETTINGS
@given(data=st.data())
def test_half_precision(vlen, data):
    """Emulator only: QEMU 7.2 has no Zvfh. A sum or product of two f16 values is exact in
    float64, so rounding the float64 result once to f16 is the correctly rounded answer."""
    halfs = st.floats(-200, 200, width=16)
    x = data.draw(vec(1, 70, halfs, np.float16))
    y = data.draw(hnp.arrays(np.float16, x.shape, elements=halfs))
    s = data.draw(st.floats(-4, 4, width=32))
    oh, of, red = np.zeros((5, x.size), np.float16), np.zeros((2, x.size), np.float32), np.zeros(2, np.float16)
    run(half, x, y, s, oh, of, red, runner="emu", vlen=vlen)
    x64, y64, s32 = x.astype(np.float64), y.astype(np.float64), np.float32(s)
    ws = x.astype(np.float32) * s32
    want = [(x64 + y64).astype(np.float16), (x64 * y64).astype(np.float16), np.maximum(x, y),
            ws.astype(np.float16), np.where(x < y, x, (y64 * np.float16(s32)).astype(np.float16))]
    for k, w in enumerate(want):
        np.testing.assert_array_equal(oh[k], w, err_msg=f"output {k}")
    np.testing.assert_array_equal(of[0], x.astype(np.float32))
    np.testing.assert_array_equal(of[1], ws)
    assert red[0] == x.max() and red[1] == x.min()


@rl.kernel
def memory(a: rl.Tensor[rl.f32, 2], src: rl.Tensor[rl.f32], idx: rl.Tensor[rl.i32], col: rl.Tensor[rl.f32], g: rl.Tensor[rl.f32],
           m: rl.Tensor[rl.f32], limit: rl.f32, j: rl.i64):
    for vl, i in rl.vloop(a.shape[0], sew=32, lmul=1):
        c = a.vload(i, j, axis=0)                 # strided: column j
        col.vstore(c, i)
        g.vstore(src.gather(idx.vload(i), 0), i)  # indexed: src[idx]
        keep = c < limit
        m.vstore(a.vload(i, j, axis=0, mask=keep, other=-1.0), i)
        a.vstore(c * 0.0, i, j, axis=0, mask=keep)   # masked strided store


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data())
def test_memory_access_kinds(runner, vlen, data):
    rows, cols = data.draw(st.integers(1, 40)), data.draw(st.integers(1, 9))
    a = data.draw(hnp.arrays(np.float32, (rows, cols), elements=finite))
    j = data.draw(st.integers(0, cols - 1))
    src = data.draw(vec(1, 50))
    idx = data.draw(hnp.arrays(np.int32, rows, elements=st.integers(0, src.size - 1)))
    limit = data.draw(finite)
    col, g, m = (np.zeros(rows, np.float32) for _ in range(3))
    a0 = a.copy()
    run(memory, a, src, idx, col, g, m, limit, j, runner=runner, vlen=vlen)
    keep = a0[:, j] < np.float32(limit)
    np.testing.assert_array_equal(col, a0[:, j])
    np.testing.assert_array_equal(g, src[idx])
    np.testing.assert_array_equal(m, np.where(keep, a0[:, j], -1))
    want = a0.copy()
    want[keep, j] = 0
    np.testing.assert_array_equal(a, want)


@rl.kernel
def int_paths(b: rl.Tensor[rl.i8], u: rl.Tensor[rl.u16], idx: rl.Tensor[rl.i32], a: rl.Tensor[rl.i32, 2],
              oi: rl.Tensor[rl.i32, 2], on: rl.Tensor[rl.i8], red: rl.Tensor[rl.i64], j: rl.i64):
    """Integer-only paths: widening/narrowing, gathers, strided and masked access, reductions."""
    total, hi, lo = rl.var(rl.const(0, rl.i64)), rl.var(rl.const(-(1 << 62), rl.i64)), rl.var(rl.const(1 << 62, rl.i64))
    for vl, i in rl.vloop(b.shape[0], sew=32, lmul=4):
        w = b.vload(i).to(rl.i16).to(rl.i32)
        oi.vstore(w, 0, i)
        oi.vstore(u.vload(i).to(rl.i32), 1, i)
        oi.vstore(idx.gather(idx.vload(i), 0), 2, i)
        col = a.vload(i, j, axis=0, mask=w > 0, other=-7)
        oi.vstore(col, 3, i)
        on.vstore((w * 3).to(rl.i8), i)
        a.vstore(w, i, j, axis=0, mask=w < 0)
        fold(w.to(rl.i64), total, hi, lo)
    red[0], red[1], red[2] = total.value, hi.value, lo.value


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data())
def test_integer_paths(runner, vlen, data):
    n = data.draw(st.integers(1, 60))
    cols = data.draw(st.integers(1, 5))
    b = data.draw(hnp.arrays(np.int8, n))
    u = data.draw(hnp.arrays(np.uint16, n))
    a = data.draw(hnp.arrays(np.int32, (n, cols), elements=st.integers(-1000, 1000)))
    idx = data.draw(hnp.arrays(np.int32, n, elements=st.integers(0, n - 1)))
    j = data.draw(st.integers(0, cols - 1))
    oi, on, red = np.zeros((4, n), np.int32), np.zeros(n, np.int8), np.zeros(3, np.int64)
    a0 = a.copy()
    run(int_paths, b, u, idx, a, oi, on, red, j, runner=runner, vlen=vlen)
    w = b.astype(np.int32)
    np.testing.assert_array_equal(oi[0], w)
    np.testing.assert_array_equal(oi[1], u.astype(np.int32))
    np.testing.assert_array_equal(oi[2], idx[idx])
    np.testing.assert_array_equal(oi[3], np.where(w > 0, a0[:, j], -7))
    np.testing.assert_array_equal(on, (w * 3).astype(np.int8))
    want = a0.copy()
    want[w < 0, j] = w[w < 0]
    np.testing.assert_array_equal(a, want)
    assert list(red) == [w.sum(), w.max(), w.min()]


@rl.kernel
def scalars(x: rl.Tensor[rl.f32], o: rl.Tensor[rl.f32], n: rl.i64):
    acc = rl.var(0.0)
    count = rl.var(0)
    for i in rl.range(1, n, 2):
        v = x[i]
        acc += rl.where(v > 0.0, v * 2.0, rl.sqrt(rl.abs(v)))
        count += 1
    o[0] = acc.value
    o[1] = count.value.to(rl.f32)
    o[2] = rl.fma(x[0], x[0], 1.0)
    o[3] = (count.value // 2 * 3 % 5).to(rl.f32)


@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(x=vec(1, 40))
def test_scalar_ops_and_runtime_range(runner, x):
    o = np.zeros(4, np.float32)
    run(scalars, x, o, x.size, runner=runner, vlen=128)
    odd = x[1::2].astype(np.float64)
    want = np.where(odd > 0, odd * 2, np.sqrt(np.abs(odd))).sum()
    assert o[0] == pytest.approx(want, rel=1e-5, abs=1e-6)
    assert o[1] == len(odd) and o[3] == (len(odd) // 2 * 3) % 5
    assert o[2] == np.float32(np.float64(x[0]) * x[0] + 1)


@pytest.mark.skipif(not qemu.available(), reason="needs clang-19, ld.lld-19 and qemu-riscv64")
@pytest.mark.parametrize("vlen", [128, 1024])
@pytest.mark.parametrize("case", ["elementwise", "int_ops", "conversions", "memory"])
def test_emulator_matches_qemu_bit_for_bit(case, vlen):
    """The same object (no unordered reductions) under both runners: every output bit agrees."""
    rng = np.random.default_rng(vlen)
    n = 77
    x = rng.uniform(-1e3, 1e3, n).astype(np.float32)
    xi = rng.integers(-10000, 10000, n).astype(np.int32)
    yi = rng.integers(1, 300, n).astype(np.int32)
    cases = {
        "elementwise": (elementwise, lambda: (1.5, x.copy(), np.abs(x) + 0.5, np.zeros((N_ELEMENTWISE, n), np.float32))),
        "int_ops": (int_ops, lambda: (xi.copy(), yi.copy(), np.zeros((15, n), np.int32))),
        "conversions": (conversions, lambda: (x * 30, xi.astype(np.int8), xi.astype(np.uint16) & 0x7F7F,
                                              np.zeros((3, n), np.float32), np.zeros((2, n), np.int32),
                                              np.zeros(n, np.uint16), np.zeros(n, np.int16))),
        "memory": (memory, lambda: (x.reshape(11, 7).copy(), x.copy(), (xi % n).astype(np.int32)[:11] & 0x3F,
                                    *(np.zeros(11, np.float32) for _ in range(3)), 100.0, 3)),
    }
    kern, make = cases[case]
    results = {}
    for runner in ("emu", "qemu"):
        args = make()
        run(kern, *args, runner=runner, vlen=vlen, preset="generic-novfh")
        results[runner] = [a for a in args if isinstance(a, np.ndarray)]
    for got, want in zip(results["emu"], results["qemu"]):
        np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))
