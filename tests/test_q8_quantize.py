"""The Q8_0 activation quantiser that runs inside ops.linear's Q8_0 kernels (every layout:
bytes for vwmacc, words for vqdot, IME tiles) against the NumPy model of ggml's reference
quantiser (rvai.kernels.quant.quantize_q8_0), bit for bit: q and the f16 scales, at VLEN
128..1024, including ties (roundf rounds half away from zero, not to even), all-zero
blocks, subnormal and tiny scales and scales past f16's range."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rvai import ops
from rvai.codegen.ime import tile_shape
from rvai.kernels.quant import BLOCK, quantize_q8_0
from rvai.target import Target

#: (preset, VLEN, path): each layout at the VLENs its path runs at.
PLACES = ([("generic", v, "wmacc") for v in (128, 256, 512, 1024)]
          + [("xuantie-c930", v, "dot4") for v in (256, 1024)] + [("spacemit-x60", v, "ime") for v in (256, 1024)])


def quantised(x: np.ndarray, preset: str, vlen: int, path: str):
    """(q (M, Kp) int8, d (M, nb) f32) as the kernel of ``path`` made them from ``x`` (with
    all-zero weights: only the quantiser's scratch is looked at, read back by layout)."""
    t = Target.preset(preset).with_vlen(vlen)
    m, k = x.shape
    packed = ops.pack_weights(np.zeros((3, k), np.float32), target=t, dtype="q8_0")
    assert packed.path == path
    scratch = ops._q8_scratch(x, path, ops._q8_tile(t))
    ops._q8_gemm(scratch, packed, np.zeros((m, 3), np.float32), t, "emu", None, True, {})
    xq, xs = scratch[1:3]
    if path == "ime":
        tm = tile_shape(vlen)[0]
        g, kb = xq.shape[:2]
        q = xq.reshape(g, kb, tm, 2 * tm).transpose(0, 2, 1, 3).reshape(g * tm, kb * 2 * tm)
        lanes = xs.reshape(g, -1, tm, tm)
        assert np.all(lanes == lanes[..., :1])              # every lane of a row holds its scale
        d = lanes[..., 0].transpose(0, 2, 1).reshape(g * tm, -1)
        assert not q[m:].any() and not d[m:].any()          # padding rows stay 0
        return q[:m], d[:m]
    return xq.view(np.int8), xs


def check(x, preset, vlen, path):
    q, d = quantised(x, preset, vlen, path)
    ref = quantize_q8_0(x)
    assert np.array_equal(q, ref.q), np.argwhere(q != ref.q)[:5]
    assert np.array_equal(d, ref.d.astype(np.float32), equal_nan=True)


#: Blocks of 32 built to hit the edges: scale 1 (amax 127) with exact ties k + 0.5, all
#: zero, subnormal and tiny amax, amax past f16 (scale inf), and plain random data.
def _block(kind, rng):
    if kind == "ties":
        b = rng.integers(-127, 127, BLOCK) + 0.5
        b[rng.integers(BLOCK)] = rng.choice([-127.0, 127.0])
        return b
    if kind == "zero":
        return np.zeros(BLOCK)
    scale = {"subnormal": 1e-39, "tiny": 1e-36, "f16-subnormal": 1e-6, "huge": 1e7, "random": rng.uniform(1e-3, 1e3)}
    return rng.standard_normal(BLOCK) * scale[kind]


KINDS = ["ties", "zero", "subnormal", "tiny", "f16-subnormal", "huge", "random"]


@pytest.mark.parametrize("preset,vlen,path", PLACES)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=st.sampled_from([1, 2, 5, 9]), k=st.sampled_from([1, 13, 32, 33, 70, 128]),
       kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=40), seed=st.integers(0, 2**32 - 1))
def test_kernel_quantiser_matches_ggml_reference(preset, vlen, path, m, k, kinds, seed):
    rng = np.random.default_rng(seed)
    nb = -(-k // BLOCK)
    blocks = [_block(kinds[j % len(kinds)], rng) for j in range(m * nb)]
    x = np.concatenate(blocks).reshape(m, nb * BLOCK)[:, :k].astype(np.float32)
    check(x, preset, vlen, path)


def test_model_rounds_ties_away_from_zero():
    """The model itself against roundf's definition: with amax 127 the scale is 1, so
    k + 0.5 rounds to k + 1 for k >= 0 and to k - 1 below (to even would give 2, not 3)."""
    x = np.zeros((1, BLOCK), np.float32)
    x[0, :6] = [127, 2.5, -2.5, 0.5, -0.5, 126.5]
    q = quantize_q8_0(x).q[0, :6]
    assert q.tolist() == [127, 3, -3, 1, -1, 127]


def test_kernel_rounds_ties_away_from_zero_everywhere():
    x = np.zeros((3, 2 * BLOCK), np.float32)
    x[:, :BLOCK] = np.arange(BLOCK) - 15.5          # every value a tie once scaled by 1 ...
    x[:, 0] = 127                                   # ... with amax 127
    x[:, BLOCK:] = -np.arange(BLOCK) * 0.25         # and a block whose ties come from x * id
    for preset, vlen, path in PLACES:
        check(x, preset, vlen, path)


def test_linear_refuses_non_finite_activations():
    packed = ops.pack_weights(np.ones((2, 32), np.float32), dtype="q8_0")
    with pytest.raises(ValueError, match="finite"):
        ops.linear(np.full((1, 32), np.nan, np.float32), packed)
