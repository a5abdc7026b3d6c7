"""The host-side making and packing of weights, against plain NumPy constructions.

:func:`rvai.kernels.pack_panels` writes each panel straight from B, and
:func:`rvai.models.layer.scaled_normal` makes a layer's random matrix block by block of
rows: each must give what the one-line NumPy definition gives, bit for bit. A Q8_0 layer's
blocks are quantised once (:func:`rvai.kernels.quant.requantize_q8_0`, against quantising
twice) and packed a block of K at a time (:func:`rvai.ops.pack_weights_by_k`, against
:func:`rvai.ops.pack_weights` of the whole matrix, every layout), and its kernels read its
matrix (:func:`rvai.ops.linear` on a scaled identity).
"""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rvai import kernels, ops
from rvai.kernels import quant
from rvai.kernels.quant import from_bf16, quantize_q8_0, requantize_q8_0, to_bf16
from rvai.models import layer
from rvai.models.configs import get
from rvai.models.layer import LayerWeights, scaled_normal
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


def stored_by_definition(w: np.ndarray, fmt: str) -> np.ndarray:
    """Float64 weights ``w`` (in, out) as the whole-matrix code stored them in ``fmt``."""
    if fmt == "q8_0":
        return np.ascontiguousarray(quantize_q8_0(w.T).dequantize().T)
    return {"f32": w.astype(np.float32), "f16": w.astype(np.float16), "bf16": from_bf16(to_bf16(w))}[fmt]


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 130), n=st.integers(1, 40), fmt=st.sampled_from(["f32", "f16", "bf16", "q8_0"]),
       block=st.sampled_from([1, 50, 1000, 1 << 19]), seed=st.integers(0, 2 ** 16))
@example(k=100, n=7, fmt="q8_0", block=50, seed=1)   # blocks of 7 rows would cut Q8_0 blocks
def test_scaled_normal_is_the_whole_matrix_expression(k, n, fmt, block, seed):
    # small blocks: many row blocks (the rows at least 32, whole Q8_0 blocks) and a short last one
    want = stored_by_definition(np.random.default_rng(seed).standard_normal((k, n), np.float32) / np.sqrt(k), fmt)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(layer, "_BLOCK_ELEMENTS", block)
        got = scaled_normal(np.random.default_rng(seed), (k, n), k, fmt)
    assert _same_bits(got, want)


@pytest.mark.parametrize("block", [1000, 1 << 19])
@pytest.mark.parametrize("first", ["packed", "matrix"])
def test_a_layers_packed_weights_are_its_matrix(first, block, monkeypatch):
    # what the kernels read (the panels) is what the float64 oracle multiplies by (matrix),
    # whether the panels were drawn straight (packed first: by blocks of 32 rows with
    # the small block) or packed from the matrix
    monkeypatch.setattr(layer, "_BLOCK_ELEMENTS", block)
    cfg, target = get("qwen2.5-0.5b").sliced(64, 96), Target.of("generic")
    nr = kernels.panel_width(target.vlen, 4)
    for fmt in ("f32", "f16", "bf16", "int8"):
        for name, cols in (("qkv", None), ("down", None), ("o", 40), ("o", 10 ** 6)):
            w = LayerWeights(cfg, fmt, seed=5)
            if first == "packed":
                packed, matrix = w.packed(name, target, cols), w.matrix(name, cols)
            else:
                matrix, packed = w.matrix(name, cols), w.packed(name, target, cols)
            assert matrix.dtype == (np.float16 if fmt == "f16" else np.float32)
            if fmt == "int8":
                want = ops.pack_weights(matrix.T, target=target, dtype="q8_0", lmul=4)
                assert _same_bits(packed.scales, want.scales) and _same_bits(packed.panels, want.panels)
            else:
                want = panels_by_definition(to_bf16(matrix) if fmt == "bf16" else matrix, nr)
                assert _same_bits(packed.panels, want), (fmt, name, cols)
            assert (packed.n, packed.k) == matrix.shape[::-1]


#: Magnitudes of Q8_0 blocks: an f16 scale of 0 (below ~3.8e-6), subnormal f16 scales, normal
#: ones, and past f16's range (an infinite scale).
_MAGNITUDES = (1e-7, 2e-6, 1e-5, 1.0, 1e3, 1e7)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 4), blocks=st.integers(1, 4), tail=st.integers(0, 31),
       scales=st.lists(st.sampled_from(_MAGNITUDES), min_size=20, max_size=20),
       given_as=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2 ** 16))
@example(n=1, blocks=1, tail=0, scales=[1e-7] * 20, given_as=np.float32, seed=0)    # f16 scale 0, q != 0
def test_requantize_q8_0_is_quantising_the_dequantised_values(n, blocks, tail, scales, given_as, seed):
    # each Q8_0 block of x at its own magnitude: the definition quantises twice
    k = 32 * blocks + tail
    per_block = np.repeat(np.array(scales[:n * (blocks + 1)]).reshape(n, blocks + 1), 32, axis=1)[:, :k]
    x = (np.random.default_rng(seed).standard_normal((n, k)) * per_block).astype(given_as)
    try:
        with np.errstate(invalid="ignore"):      # 0 * an infinite scale
            want = quantize_q8_0(quantize_q8_0(x).dequantize())
    except ValueError as e:                  # an infinite scale stands for values that are not finite
        with pytest.raises(ValueError, match=str(e)):
            requantize_q8_0(x)
        return
    got = requantize_q8_0(x)
    assert _same_bits(got.q, want.q) and _same_bits(got.d, want.d) and got.k == want.k


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 100), chunk=st.sampled_from([1, 64, 100, 1000]),
       seed=st.integers(0, 2 ** 16))
def test_quantize_q8_0_in_row_chunks_is_row_by_row(n, k, chunk, seed):
    # the rows' blocks are independent: a few rows at a time (a chunk of about ``chunk``
    # elements, at least a row) must give each row as quantising it alone gives it
    x = np.random.default_rng(seed).standard_normal((n, k)).astype(np.float32)
    rows = [quantize_q8_0(x[i:i + 1]) for i in range(n)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(quant, "_CHUNK_ELEMENTS", chunk)
        got = quantize_q8_0(x)
    assert _same_bits(got.q, np.concatenate([r.q for r in rows])) and got.k == k
    assert _same_bits(got.d, np.concatenate([r.d for r in rows]))


#: (preset, VLEN): each Q8_0 layout at the VLENs its path runs at (wmacc, dot4, IME tiles).
Q8_PLACES = ([("generic", v) for v in (128, 256, 512, 1024)] + [("xuantie-c930", v) for v in (256, 1024)]
             + [("spacemit-x60", v) for v in (256, 1024)])


def _fields(p: ops.PackedWeights) -> tuple:
    """Everything a PackedWeights holds, arrays as (dtype, shape, bytes)."""
    arrays = tuple(None if a is None else (a.dtype, a.shape, a.tobytes()) for a in (p.panels, p.scales))
    return arrays + (p.n, p.k, p.vlen, p.lmul, p.dtype, p.path)


@settings(max_examples=60, deadline=None)
@given(place=st.sampled_from(Q8_PLACES), n=st.sampled_from([1, 5, 8, 17, 33, 64, 70]),
       rows=st.lists(st.sampled_from([32, 64, 96]), min_size=1, max_size=4), tail=st.integers(0, 40),
       dtype=st.sampled_from(["q8_0", "q8_0 blocks", "f32", "f16", "bf16"]), seed=st.integers(0, 2 ** 16))
@example(place=("spacemit-x60", 1024), n=17, rows=[32, 64], tail=5, dtype="q8_0 blocks", seed=0)
def test_pack_weights_by_k_is_the_whole_pack(place, n, rows, tail, dtype, seed):
    # blocks of K (multiples of 32 rows, then a short or empty last one), each packed on
    # its own: byte for byte pack_weights of the whole matrix, for every layout
    target = Target.preset(place[0]).with_vlen(place[1])
    cuts = np.cumsum([0] + rows + [tail])
    w = (np.random.default_rng(seed).standard_normal((n, cuts[-1])) * 4).astype(np.float32)
    fmt = dtype.split()[0]
    blocks = [w[:, a:b] for a, b in zip(cuts, cuts[1:]) if b > a]
    if dtype == "q8_0 blocks":           # blocks already quantised, as LayerWeights passes them
        blocks = [quantize_q8_0(b) for b in blocks]
    got = ops.pack_weights_by_k(iter(blocks), cuts[-1], target=target, dtype=None if "blocks" in dtype else fmt)
    assert _fields(got) == _fields(ops.pack_weights(w, target=target, dtype=fmt))


@pytest.mark.parametrize("rows, k, match", [([40, 32], 72, "multiple of 32"), ([32, 32], 96, "hold 64 of"),
                                            ([64, 32], 70, "does not fit"), ([], 32, "hold 0 of")])
def test_pack_weights_by_k_refuses_blocks_that_do_not_make_k(rows, k, match):
    blocks = (np.ones((5, r), np.float32) for r in rows)
    with pytest.raises(ValueError, match=match):
        ops.pack_weights_by_k(blocks, k, target="xuantie-c930", dtype="q8_0")
    other_n = iter([np.ones((5, 32), np.float32), np.ones((6, 32), np.float32)])
    with pytest.raises(ValueError, match="N = 5"):
        ops.pack_weights_by_k(other_n, 64, target="generic", dtype="f32")


@pytest.mark.parametrize("place", [("generic", 256), ("xuantie-c930", 256), ("spacemit-x60", 256)])
def test_a_q8_0_layers_kernels_read_its_matrix(place, monkeypatch):
    # rows of x = (127/128) I quantise exactly (scale 2^-7, q = 127), so each output of
    # the Q8_0 kernel is the weight it read times 127/128, rounded once: the values the
    # float64 oracle multiplies by (matrix), through each layout the blocks were packed in
    monkeypatch.setattr(layer, "_BLOCK_ELEMENTS", 1000)     # blocks of 32 rows
    cfg, target = get("qwen2.5-0.5b").sliced(64, 96), Target.preset(place[0]).with_vlen(place[1])
    for name, cols in (("down", None), ("o", 40)):
        w = LayerWeights(cfg, "int8", seed=3)
        packed = w.packed(name, target, cols)
        k = packed.k
        y = ops.linear(np.eye(k, dtype=np.float32) * np.float32(127 / 128), packed, target=target)
        assert _same_bits(y, w.matrix(name, cols) * np.float32(127 / 128)), (place, name)
