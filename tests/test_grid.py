"""Launch grids in the DSL (``kernel[grid](...)``, ``rl.program_id``, ``rl.num_programs``)
and the GEMM/GEMV of rvai.ops spread over harts, against NumPy."""
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import rvai.lang as rl
from rvai import kernels, ops
from rvai.kernels.attention import ATTENTION_CONFIGS
from rvai.target import Target

K1 = Target.preset("spacemit-k1")


@rl.kernel
def add_blocks(x: rl.Tensor[rl.f32], y: rl.Tensor[rl.f32], out: rl.Tensor[rl.f32], BLOCK: int):
    start = rl.program_id(0) * BLOCK
    for vl, i in rl.vloop(rl.maximum(rl.minimum(x.shape[0] - start, BLOCK), 0)):
        out.vstore(x.vload(start + i) + y.vload(start + i), start + i)


@rl.kernel
def ids(out: rl.Tensor[rl.i64, 3]):
    i, j, k = rl.program_id(0), rl.program_id(1), rl.program_id(2)
    out[i, j, k] = i * 1_000_000 + j * 10_000 + k * 100 + rl.num_programs(0) * 10 + rl.num_programs(2)


@settings(max_examples=6, deadline=None)
@given(n=st.integers(1, 3000), block=st.sampled_from([16, 100, 512]), preset=st.sampled_from(["spacemit-k1", "generic"]))
def test_a_1d_grid_covers_the_array(n, block, preset):
    rng = np.random.default_rng(n)
    x, y = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    out = np.zeros(n, np.float32)
    add_blocks[lambda meta: (-(-n // meta["BLOCK"]),)](x, y, out, BLOCK=block, target=Target.preset(preset))
    np.testing.assert_array_equal(out, x + y)


@pytest.mark.parametrize("grid", [(3, 4, 2), (1, 1, 1), (9, 1, 3)])
def test_program_ids_and_grid_sizes(grid):
    out = np.full(grid, -1, np.int64)
    run = ids[grid](out, target=K1)
    i, j, k = np.indices(grid)
    np.testing.assert_array_equal(out, i * 1_000_000 + j * 10_000 + k * 100 + grid[0] * 10 + grid[2])
    assert run.profile.harts == min(8, int(np.prod(grid)))


def test_grid_misuse_is_a_clear_error():
    with pytest.raises(rl.KernelError, match="needs a launch grid"):
        ids(np.zeros((1, 1, 1), np.int64))
    with pytest.raises(TypeError, match="launch grid"):
        ids[(1, 2, 3, 4)](np.zeros((1, 1, 1), np.int64))
    with pytest.raises(ValueError, match="positive"):
        ids[(0,)](np.zeros((1, 1, 1), np.int64))

    @rl.kernel
    def bad_axis(out: rl.Tensor[rl.i64]):
        out[0] = rl.program_id(3)
    with pytest.raises(rl.KernelError, match="axis must be 0, 1 or 2"):
        bad_axis[(1,)](np.zeros(1, np.int64))


def test_the_same_grid_run_twice_gives_the_same_cycles():
    x = np.arange(5000, dtype=np.float32)
    runs = [add_blocks[(10,)](x, x, np.zeros_like(x), BLOCK=500, target=K1) for _ in range(2)]
    assert runs[0].cycles == runs[1].cycles and runs[0].instret == runs[1].instret


@settings(max_examples=8, deadline=None)
@given(m=st.sampled_from([1, 2, 5, 30]), k=st.integers(1, 80), n=st.integers(1, 300),
       harts=st.sampled_from([1, 2, 3, 8]))
def test_matmul_on_harts_matches_numpy(m, k, n, harts):
    rng = np.random.default_rng(m * 1000 + n)
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    c = ops.matmul(a, b, target=K1, harts=harts)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    # each element is a sum of at most k products: gamma(k) * sum |a||b| (rvai/kernels/matmul.py)
    bound = 1.01 * k * 2.0 ** -24 * (np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)) + 1e-30
    assert np.all(np.abs(c - ref) <= bound)


@pytest.mark.parametrize("harts", [2, 8])
def test_linear_on_harts_matches_one_hart(harts):
    rng = np.random.default_rng(harts)
    x, w = rng.standard_normal((37, 64)).astype(np.float32), rng.standard_normal((100, 64)).astype(np.float32)
    packed = ops.pack_weights(w, target=K1)
    one = ops.linear(x, packed, target=K1, harts=1)
    many = ops.linear(x, packed, target=K1, harts=harts)
    np.testing.assert_array_equal(many, one)     # the same tiles and sums, only spread out
    assert ops.last_run.profile.harts == harts
    with pytest.raises(ValueError, match="harts"):
        ops.linear(x, packed, target=K1, harts=0)


# ---- attention on harts (rvai/kernels/attention_harts.py) ------------------------------

def _attention_ref(q, k, v, causal, scale):
    """float64 attention, GQA heads sharing K/V, bottom-right causal mask; rows seeing no key are 0."""
    group = q.shape[0] // k.shape[0]
    q, k, v = (t.astype(np.float64) for t in (q, np.repeat(k, group, 0), np.repeat(v, group, 0)))
    s = q @ np.swapaxes(k, -1, -2) * scale
    lq, lk = q.shape[-2], k.shape[-2]
    if causal:
        s = np.where(np.arange(lk)[None, :] <= np.arange(lq)[:, None] + lk - lq, s, -np.inf)
    mx = s.max(-1, keepdims=True, initial=-np.inf)
    p = np.exp(s - np.where(np.isfinite(mx), mx, 0))
    tot = p.sum(-1, keepdims=True)
    return np.where(tot > 0, p @ v / np.where(tot > 0, tot, 1), 0)


#: spacemit-k1 (8 harts) with code that runs from VLEN 128 up
K1_ANY_VLEN = dataclasses.replace(K1, min_vlen=128)


def _one_of_each_tunable():
    """For each of the attention kernel's tunables, the first tuner candidate that sets it
    away from its default (the tuner's entries, e.g. sifive-x280's prefill with MX 1, are
    what ops.attention hands the many-hart kernel)."""
    attention = kernels.attention
    defaults = {n: attention.signature.parameters[n].default for n in attention.autotune.names}
    picked = {}
    for cfg in ATTENTION_CONFIGS:
        for name, value in cfg.items():
            if value != defaults[name] and name not in picked:
                picked[name] = cfg
    return sorted(picked.items())


@pytest.mark.parametrize("name, config", _one_of_each_tunable(), ids=lambda x: x if isinstance(x, str) else "")
def test_attention_on_harts_takes_every_tunable(name, config):
    """Each tunable the tuner may choose runs on harts, and unsplit prefill tiles are the
    one-hart kernel's: the same bits, both against float64."""
    rng = np.random.default_rng(5)
    q = rng.standard_normal((7, 12, 16)).astype(np.float32)
    k, v = (rng.standard_normal((1, 12, 16)).astype(np.float32) for _ in range(2))
    one = ops.attention(q, k, v, causal=True, target=K1, harts=1, config=config)
    many = ops.attention(q, k, v, causal=True, target=K1, harts=2, config=config)
    np.testing.assert_allclose(many, _attention_ref(q, k, v, True, 1 / 4), rtol=1e-4, atol=2e-5)
    np.testing.assert_array_equal(many, one)


@settings(max_examples=12, deadline=None)
@given(vlen=st.sampled_from([128, 256, 512, 1024]), harts=st.sampled_from([1, 2, 4, 8]),
       kv=st.integers(1, 3), group=st.sampled_from([1, 2, 3, 7]), lq=st.sampled_from([1, 1, 2, 5, 9]),
       lk=st.sampled_from([1, 3, 17, 40, 130]), d=st.sampled_from([5, 16, 33, 64]), causal=st.booleans(),
       seed=st.integers(0, 2**16))
def test_attention_on_harts_matches_numpy(vlen, harts, kv, group, lq, lk, d, causal, seed):
    """Prefill tiles and decode key splits on 1 to 8 harts against float64, odd shapes, every VLEN."""
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((kv * group, lq, d)).astype(np.float32)
    k, v = (rng.standard_normal((kv, lk, d)).astype(np.float32) for _ in range(2))
    out = ops.attention(q, k, v, causal=causal, target=K1_ANY_VLEN.with_vlen(vlen), harts=harts)
    np.testing.assert_allclose(out, _attention_ref(q, k, v, causal, 1 / np.sqrt(d)), rtol=1e-4, atol=2e-5)
    assert ops.last_run.profile.harts <= harts


def test_attention_prefill_on_harts_is_the_one_hart_result():
    """Unsplit tiles are the one-hart kernel's tiles, spread: the same bits."""
    rng = np.random.default_rng(3)
    q = rng.standard_normal((6, 40, 32)).astype(np.float32)
    k, v = (rng.standard_normal((2, 40, 32)).astype(np.float32) for _ in range(2))
    one = ops.attention(q, k, v, causal=True, target=K1, harts=1)
    many = ops.attention(q, k, v, causal=True, target=K1, harts=8)
    np.testing.assert_array_equal(many, one)
    assert ops.last_run.profile.harts == 8


@pytest.mark.parametrize("lq", [1, 64])
def test_attention_on_harts_twice_gives_the_same_cycles(lq):
    """Decode (split keys and a combine launch) and prefill (a transpose launch first) on 8 harts."""
    rng = np.random.default_rng(lq)
    q = rng.standard_normal((14, lq, 64)).astype(np.float32)
    k, v = (rng.standard_normal((2, 256, 64)).astype(np.float32) for _ in range(2))
    runs = []
    for _ in range(2):
        ops.attention(q, k, v, causal=True, target=K1, harts=8)
        runs.append(ops.last_run)
    assert runs[0].cycles == runs[1].cycles and runs[0].instret == runs[1].instret
    assert runs[0].profile.harts == 8
    assert [h["cycles"] for h in runs[0].profile.per_hart] == [h["cycles"] for h in runs[1].profile.per_hart]


def test_attention_on_harts_adds_its_launches():
    """Decode on 8 harts runs the split launch, then the combine launch: the run's cycles,
    instructions and DRAM bytes are theirs added (each launch timed alone here)."""
    from rvai.kernels import attention_harts as ah
    rng = np.random.default_rng(9)
    q = rng.standard_normal((14, 1, 64)).astype(np.float32)
    k, v = (rng.standard_normal((2, 256, 64)).astype(np.float32) for _ in range(2))
    ops.attention(q, k, v, target=K1, harts=8)
    whole = ops.last_run
    cfg = ops.attention_config(K1, q, k, 7)
    splits, chunk = 4, 64                        # 2 tiles on 8 harts: 4 splits of 64 keys (2 blocks of 32)
    scratch = ah.scratch(8, 64, 256, cfg["BM"], cfg["LMUL"], K1.vlen)
    part_o, part_ml = np.zeros((splits, 14, 1, 64), np.float32), np.zeros((splits, 14, 1, 2), np.float32)
    out = np.zeros_like(q)
    first = ah.attention_grid[(8,)](q, k, v, out, *scratch, np.zeros((1, 1, 1), np.float32), part_o, part_ml,
                                    1 / 8, chunk, **cfg, SPLIT_KEYS=True, target=K1)
    second = ah.attention_combine_grid[(8,)](part_o, part_ml, out, LMUL=cfg["LMUL"], target=K1)
    assert whole.cycles == first.cycles + second.cycles
    assert whole.instret == first.instret + second.instret
    assert whole.profile.dram_bytes["read"] == first.profile.dram_bytes["read"] + second.profile.dram_bytes["read"]
    assert [h["flops"] for h in whole.profile.per_hart] == [
        a["flops"] + b["flops"] for a, b in zip(first.profile.per_hart, second.profile.per_hart)]
    np.testing.assert_allclose(out, _attention_ref(q, k, v, False, 1 / 8), rtol=1e-4, atol=2e-5)


# ---- tensor views (Tensor.select), what per-program scratch is made of ------------------

@rl.kernel
def scale_rows_in_scratch(x: rl.Tensor[rl.f32, 2], s: rl.Tensor[rl.f32, 3], out: rl.Tensor[rl.f32, 2]):
    """Program p copies row p of x into its own scratch slice s[p] (row 1) and writes it out doubled,
    its first element the row's first plus the sum of its first 4 (a gather through a view)."""
    me = rl.program_id(0)
    mine = s.select(me)
    for vl, j in rl.vloop(x.shape[1]):
        mine.vstore(x.vload(me, j), 1, j)
    row = mine.select(1)
    for vl, j in rl.vloop(x.shape[1]):
        out.vstore(row.vload(j) * 2.0, me, j)
    with rl.vector(4):
        out[me, 0] = mine[1, 0] + row.gather(rl.arange(rl.i32), 0).sum()


@pytest.mark.parametrize("checked", [False, True])
def test_select_views_address_their_slice(checked):
    x = np.arange(5 * 37, dtype=np.float32).reshape(5, 37)
    s, out = np.zeros((5, 3, 37), np.float32), np.zeros((5, 37), np.float32)
    scale_rows_in_scratch[(5,)](x, s, out, target=K1, checked=checked)
    np.testing.assert_array_equal(s[:, 1], x)
    assert not s[:, 0].any() and not s[:, 2].any()
    want = 2 * x
    want[:, 0] = x[:, 0] + x[:, :4].sum(1)
    np.testing.assert_array_equal(out, want)


def test_select_out_of_range_is_a_bounds_error():
    x, out = np.ones((5, 4), np.float32), np.zeros((5, 4), np.float32)
    with pytest.raises(rl.BoundsError, match=r"s: index 4 out of bounds for axis 0 \(size 4\)"):
        scale_rows_in_scratch[(5,)](x, np.zeros((4, 3, 4), np.float32), out, target=K1, checked=True)

    @rl.kernel
    def flat(x: rl.Tensor[rl.f32]):
        x.select(0)
    with pytest.raises(rl.KernelError, match="at least 2 axes"):
        flat(np.zeros(3, np.float32))


@rl.kernel
def copy_viewed(x: rl.Tensor[rl.f32, 2], out: rl.Tensor[rl.f32, 3], ROW: int = -1):
    """out = x's memory (from its row ROW, or all of x with ROW -1) read as out's shape,
    through x.view (on a select's view with ROW >= 0)."""
    src = x if ROW < 0 else x.select(ROW)
    y = src.view(out.shape[0], out.shape[1], out.shape[2])
    for i in rl.range(out.shape[0]):
        for j in rl.range(out.shape[1]):
            for vl, c in rl.vloop(out.shape[2]):
                out.vstore(y.vload(i, j, c), i, j, c)


@settings(max_examples=8, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 40), st.booleans(), st.sampled_from([128, 256, 1024]))
def test_view_reads_the_memory_row_major(a, b, c, checked, vlen):
    """x.view(b, a, c) is NumPy's x.reshape(b, a, c) of a contiguous (a, b * c) array (and of
    a row of a 3-d one, through select), the last axis moved by vectors at any VLEN."""
    x = np.arange(a * b * c, dtype=np.float32).reshape(a, b * c) + 0.5
    out = np.zeros((b, a, c), np.float32)
    copy_viewed(x, out, target=K1_ANY_VLEN.with_vlen(vlen), checked=checked)
    np.testing.assert_array_equal(out, x.reshape(b, a, c))
    rows = np.arange(3 * a * b * c, dtype=np.float32).reshape(3, a * b * c)
    out[:] = 0
    copy_viewed(rows, out, ROW=2, target=K1_ANY_VLEN.with_vlen(vlen), checked=checked)
    np.testing.assert_array_equal(out, rows[2].reshape(b, a, c))


def test_view_past_the_tensor_is_a_bounds_error():
    x, out = np.ones((2, 5), np.float32), np.zeros((1, 3, 4), np.float32)
    with pytest.raises(rl.BoundsError, match=r"x: .*the flattened tensor \(size 10\)"):
        copy_viewed(x, out, target=K1, checked=True)

    @rl.kernel
    def no_axes(x: rl.Tensor[rl.f32]):
        x.view()
    with pytest.raises(rl.KernelError, match="at least one axis"):
        no_axes(np.zeros(3, np.float32))


def test_matmul_on_harts_counts_its_packing():
    """B's packing is a launch on the harts, in the call's counts: the call stores the K x N
    panels besides C (the GEMM's own stores differ between the two kernels by their stack
    spills), and takes longer than the GEMM on weights packed beforehand."""
    rng = np.random.default_rng(4)
    m, k, n = 30, 70, 200
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    c = ops.matmul(a, b, target=K1, harts=8)
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-4)
    run = ops.last_run
    assert run.profile.harts == 8
    assert run.profile.bytes_stored >= 4 * k * n + 4 * m * n
    ops.linear(a, ops.pack_weights(np.ascontiguousarray(b.T), target=K1), target=K1, harts=8)
    assert run.cycles > ops.last_run.cycles


@pytest.mark.parametrize("harts", [2, 8])
def test_linear_bf16_on_harts_matches_one_hart(harts):
    rng = np.random.default_rng(harts)
    x, w = rng.standard_normal((37, 64)).astype(np.float32), rng.standard_normal((100, 64)).astype(np.float32)
    packed = ops.pack_weights(w, target=K1, dtype="bf16")
    one = ops.linear(x, packed, target=K1, harts=1)
    many = ops.linear(x, packed, target=K1, harts=harts)
    np.testing.assert_array_equal(many, one)     # the same tiles and sums, only spread out
    # without Zvfbfwma ops.linear runs MR 6 (docs: MR 7 does not fit the registers): 37 rows are 7 row
    # tiles, one program each, so 8 harts have 7 programs to run
    assert ops.last_run.profile.harts == min(harts, -(-37 // 6))
    from rvai.kernels.quant import from_bf16, to_bf16
    bits = lambda t: from_bf16(to_bf16(t)).astype(np.float64)  # noqa: E731
    want = bits(x) @ bits(w).T
    # products of bf16 values are exact in f32: the f32 GEMM's bound on the rounded inputs
    bound = 1.01 * 64 * 2.0 ** -24 * (np.abs(bits(x)) @ np.abs(bits(w)).T) + 1e-30
    assert np.all(np.abs(many - want) <= bound)


@pytest.mark.parametrize("preset, m", [("spacemit-k1", 1), ("spacemit-k1", 37), ("xuantie-c930-cluster", 1),
                                       ("xuantie-c930-cluster", 37), ("generic", 9)])
def test_linear_q8_0_on_harts_matches_one_hart_and_the_blocks(preset, m):
    """Q8_0 weights on 8 harts (IME tiles on the K1, vqdot on the C930, vwmacc on generic,
    whose one hart runs the programs in turn): x quantised by row blocks, then the int8
    GEMM spread; the same bits as one hart, and each block's exact integer dot product
    times its scales (float64) within the bound of rvai/kernels/int8.py."""
    from rvai.kernels.quant import quantize_q8_0
    target = Target.preset(preset)
    rng = np.random.default_rng(m)
    k, n = 100, 300
    x, w = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((n, k)).astype(np.float32)
    packed = ops.pack_weights(w, target=target, dtype="q8_0")
    one = ops.linear(x, packed, target=target, harts=1)
    many = ops.linear(x, packed, target=target, harts=8)
    np.testing.assert_array_equal(many, one)
    assert ops.last_run.profile.harts == min(8, target.harts)
    xq, wq = quantize_q8_0(x), quantize_q8_0(w)
    nb = xq.d.shape[1]
    isum = np.einsum("mbk,nbk->mnb", xq.q.reshape(m, nb, 32).astype(np.int64), wq.q.reshape(n, nb, 32))
    terms = isum * (xq.d.astype(np.float64)[:, None, :] * wq.d.astype(np.float64)[None, :, :])
    bound = (nb + 1) * 2.0 ** -24 * np.abs(terms).sum(-1) * 1.01 + 1e-30
    assert np.all(np.abs(many - terms.sum(-1)) <= bound)
