"""The host-side packing of weights, against plain NumPy constructions.

:func:`rvai.kernels.pack_panels` writes each panel straight from B: it must give what
the panel-by-panel NumPy definition gives, bit for bit.
"""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rvai import kernels, ops
from rvai.kernels.quant import quantize_q8_0, to_bf16
from rvai.target import Target

#: NumPy dtypes panels are packed in: f32, f16, bf16 bits, Q8_0's int8 and dot4's int32 words.
_DTYPES = (np.float32, np.float16, np.uint16, np.int8, np.int32)


def panels_by_definition(b: np.ndarray, nr: int) -> np.ndarray:
    """``bp[p, k, j] = b[k, p*nr + j]``, 0 past N: panel by panel, each padded on its own."""
    k, n = b.shape
    out = np.zeros((-(-n // nr), k, nr), b.dtype)
    for p in range(out.shape[0]):
        cols = b[:, p * nr:(p + 1) * nr]
        out[p, :, :cols.shape[1]] = cols
    return out


def _same_bits(got: np.ndarray, want: np.ndarray) -> bool:
    return got.dtype == want.dtype and got.shape == want.shape and got.tobytes() == want.tobytes()


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 40), n=st.integers(1, 90), nr=st.sampled_from([4, 8, 16, 32, 64]),
       dtype=st.sampled_from(_DTYPES), layout=st.sampled_from(["rows", "transposed", "column slice"]),
       seed=st.integers(0, 2 ** 16))
def test_pack_panels_is_the_panel_definition(k, n, nr, dtype, layout, seed):
    # b as a row-major array, as the transpose of one (pack_weights' w.T) or as a slice of
    # a wider one's columns: every stride pattern the split into panels views
    bits = np.random.default_rng(seed).integers(0, 256, (k, n * np.dtype(dtype).itemsize + 40), np.uint8)
    wide = bits.view(dtype)
    b = {"rows": np.ascontiguousarray(wide[:, :n]), "transposed": np.ascontiguousarray(wide[:, :n].T).T,
         "column slice": wide[:, 3:3 + n]}[layout]
    got = kernels.pack_panels(b, nr)
    assert got.flags.c_contiguous and _same_bits(got, panels_by_definition(b, nr))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 70), k=st.integers(1, 80), dtype=st.sampled_from(["f32", "f16", "bf16", "q8_0"]),
       given_as=st.sampled_from([np.float32, np.float16, np.float64]), seed=st.integers(0, 2 ** 16))
def test_pack_weights_lays_out_the_converted_matrix(n, k, dtype, given_as, seed):
    # generic's int8 path is wmacc: Q8_0's int8 values and f32 scales in plain panels
    target = Target.of("generic")
    w = (np.random.default_rng(seed).standard_normal((n, k)) * 4).astype(given_as)
    nr = kernels.panel_width(target.vlen, 4)
    packed = ops.pack_weights(w, target=target, dtype=dtype, lmul=4)
    w32 = w.astype(np.float32)   # what pack_weights reads a float64 matrix as
    if dtype == "q8_0":
        q = quantize_q8_0(w32)
        assert _same_bits(packed.panels, panels_by_definition(q.q.T, nr))
        assert _same_bits(packed.scales, panels_by_definition(q.d.astype(np.float32).T, nr))
        return
    want = {"f32": w32, "f16": w32.astype(np.float16), "bf16": to_bf16(w32)}[dtype]
    assert _same_bits(packed.panels, panels_by_definition(want.T, nr)) and packed.dtype == dtype
