"""The fused LLM operators of rvai.ops (kernels/llm.py) against float64 NumPy, emulator and qemu, every VLEN."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kernel_runners import RUNNERS, VLENS, run
from rvai import ops

SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
rows_st = st.integers(1, 4)
width_st = st.sampled_from([1, 3, 8, 17, 33, 70])


def arr(shape, lo=-4.0, hi=4.0, dtype=np.float32):
    return hnp.arrays(dtype, shape, elements=st.floats(lo, hi, width=16 if dtype == np.float16 else 32))


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data(), rows=rows_st, n=width_st)
def test_swiglu(runner, vlen, data, rows, n):
    a = data.draw(arr((rows, n), -30, 30))
    b = data.draw(arr((rows, n)))
    out = run(ops.swiglu, a, b, runner=runner, vlen=vlen)
    a64 = a.astype(np.float64)
    want = a64 / (1 + np.exp(-a64)) * b
    np.testing.assert_allclose(out, want, rtol=2e-6, atol=1e-30)


def rope_ref(x, cos, sin, interleaved):
    """Rotate pairs (x1, x2) by the angles whose cos/sin are given, float64; (heads, tokens, d)."""
    x = x.astype(np.float64)
    c, s = cos[:, None, :].astype(np.float64), sin[:, None, :].astype(np.float64)
    if interleaved:
        x1, x2 = x[..., 0::2], x[..., 1::2]
        out = np.stack([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1).reshape(x.shape)
    else:
        half = x.shape[-1] // 2
        x1, x2 = x[..., :half], x[..., half:]
        out = np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)
    return out.transpose(1, 0, 2)


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data(), tokens=st.integers(1, 3), heads=st.integers(1, 3), d=st.sampled_from([2, 6, 64, 128]),
       interleaved=st.booleans())
def test_rope(runner, vlen, data, tokens, heads, d, interleaved):
    x = data.draw(arr((tokens, heads, d)))
    angles = data.draw(hnp.arrays(np.float64, (tokens, d // 2), elements=st.floats(-100, 100)))
    cos, sin = np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)
    out = run(ops.rope, x, cos, sin, interleaved=interleaved, runner=runner, vlen=vlen)
    assert out.shape == (heads, tokens, d)
    np.testing.assert_allclose(out, rope_ref(x, cos, sin, interleaved), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data(), rows=rows_st, n=width_st)
def test_add_rmsnorm_add_and_bias(runner, vlen, data, rows, n):
    x, r = data.draw(arr((rows, n))), data.draw(arr((rows, n)))
    w = data.draw(arr((n,)))
    out, h = run(ops.add_rmsnorm, x, r, w, 1e-6, runner=runner, vlen=vlen)
    h64 = x.astype(np.float64) + r
    np.testing.assert_allclose(h, h64, rtol=1e-6, atol=1e-6)
    want = h64 / np.sqrt((h64 ** 2).mean(-1, keepdims=True) + 1e-6) * w
    np.testing.assert_allclose(out, want, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(run(ops.add, x, r, runner=runner, vlen=vlen), h64, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(run(ops.add, x, w, runner=runner, vlen=vlen), x.astype(np.float64) + w,
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data(), vocab=st.integers(1, 40), n=width_st, tokens=st.integers(1, 6),
       half=st.booleans())
def test_embedding(runner, vlen, data, vocab, n, tokens, half):
    half = half and runner == "emu"        # f16 loads need Zvfhmin, which QEMU 7.2 lacks
    table = data.draw(arr((vocab, n), dtype=np.float16 if half else np.float32))
    ids = data.draw(hnp.arrays(np.int64, tokens, elements=st.integers(0, vocab - 1)))
    out = run(ops.embedding, table, ids, runner=runner, vlen=vlen)
    np.testing.assert_array_equal(out, table[ids].astype(np.float32))


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data(), out_rows=st.integers(1, 5), n=width_st, k=st.integers(1, 9))
def test_moe_combine(runner, vlen, data, out_rows, n, k):
    out0 = data.draw(arr((out_rows, n)))
    y = data.draw(arr((k, n)))
    rows = data.draw(hnp.arrays(np.int64, k, elements=st.integers(0, out_rows - 1)))
    weights = data.draw(arr((k,), 0, 1))
    want = out0.astype(np.float64)
    for i in range(k):
        want[rows[i]] += weights[i] * y[i].astype(np.float64)
    got = run(ops.moe_combine, out0.copy(), y, rows, weights, runner=runner, vlen=vlen)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * k)


def test_bad_input_raises():
    z = np.zeros((2, 4), np.float32)
    with pytest.raises(ValueError, match="one shape"):
        ops.swiglu(z, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="d even"):
        ops.rope(np.zeros((2, 1, 3)), np.zeros((2, 1)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="cos and sin"):
        ops.rope(np.zeros((2, 1, 4)), np.zeros((2, 1)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="weight must have shape"):
        ops.add_rmsnorm(z, z, np.ones(3))
    with pytest.raises(ValueError, match="shaped like x"):
        ops.add(z, np.zeros(3))
    with pytest.raises(ValueError, match="token ids"):
        ops.embedding(z, np.array([2]))
    with pytest.raises(ValueError, match="rows must be"):
        ops.moe_combine(z.copy(), z, np.array([0, 2]), np.ones(2, np.float32))
    with pytest.raises(TypeError, match="in place"):
        ops.moe_combine(np.zeros((2, 4)), z, np.array([0, 1]), np.ones(2, np.float32))
