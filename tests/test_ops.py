"""rvai.ops against float64 NumPy references over awkward shapes, dtypes and layouts (emulator and qemu)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kernel_runners import RUNNERS, VLENS, run
from rvai import kernels, ops
from rvai.lang import KernelError
from rvai.target import Target

# The generic preset under both runners: under qemu, matmul's f16 inputs use only Zvfhmin's
# widening conversions, which QEMU 7.2 runs (its vfwmacc path needs Zvfh, which QEMU lacks).
PRESET = "generic"
SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
dims = st.sampled_from([1, 2, 3, 5, 7, 13, 17, 31, 33])


def arr(shape, dtype=np.float32, lo=-2.0, hi=2.0):
    return hnp.arrays(dtype, shape, elements=st.floats(lo, hi, width=16 if dtype == np.float16 else 32))


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data(), m=dims, k=dims, n=dims, dtype=st.sampled_from([np.float32, np.float16]),
       transposed=st.booleans())
def test_matmul(runner, vlen, data, m, k, n, dtype, transposed):
    a = data.draw(arr((m, k), dtype))
    b = data.draw(arr((n, k) if transposed else (k, n), dtype))
    b = b.T if transposed else b                      # a non-contiguous input
    c = run(ops.matmul, a, b, runner=runner, vlen=vlen, preset=PRESET)
    want = a.astype(np.float64) @ b.astype(np.float64)
    bound = 1e-6 * (np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)) * k + 1e-30
    assert c.dtype == np.float32 and c.shape == (m, n)
    assert np.all(np.abs(c - want) <= bound)


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data(), rows=st.integers(1, 4), n=st.integers(1, 90))
def test_softmax_and_rmsnorm(runner, vlen, data, rows, n):
    x = data.draw(arr((rows, n), lo=-30, hi=30))
    s = run(ops.softmax, x, runner=runner, vlen=vlen, preset=PRESET)
    e = np.exp(x - x.max(-1, keepdims=True).astype(np.float64))
    np.testing.assert_allclose(s, e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-7)
    w = data.draw(arr((n,)))
    r = run(ops.rmsnorm, x, w, eps=1e-5, runner=runner, vlen=vlen, preset=PRESET)
    x64 = x.astype(np.float64)
    want = x64 / np.sqrt((x64 ** 2).mean(-1, keepdims=True) + 1e-5) * w
    np.testing.assert_allclose(r, want, rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize("vlen", VLENS)
@SETTINGS
@given(data=st.data(), rows=st.integers(1, 4), n=st.integers(1, 90), preset=st.sampled_from(["generic", "xuantie-c930"]),
       offset=st.sampled_from([0.0, 700.0, -5000.0]))
def test_fast_softmax_within_its_stated_bound(vlen, data, rows, n, preset, offset):
    """exp="fast": each exp within 9.8e-5 relative (rvai.lang.exp_fast), so each result within
    about twice that (its exp and the row's sum); masked (-inf) entries are exactly 0. Rows
    far from 0 (``offset``): the row maximum is folded into the exp's FMA
    (rvai.lang.exp_fast_bias), whose shift grows with it."""
    x = (data.draw(arr((rows, n), lo=-30, hi=30)) + np.float32(offset)).astype(np.float32)
    if n > 1:
        x[:, ::3] = -np.inf
    s = run(ops.softmax, x, exp="fast", runner="emu", vlen=vlen, preset=preset if vlen >= 256 else "generic")
    e = np.exp(x - x.max(-1, keepdims=True).astype(np.float64))
    want = e / e.sum(-1, keepdims=True)
    assert np.all(np.abs(s - want) <= 2 * 9.8e-5 * want + 1e-30)


def test_softmax_names_an_unknown_exp():
    with pytest.raises(ValueError, match="exp must be one of"):
        ops.softmax(np.ones((2, 3), np.float32), exp="cheap")


@pytest.mark.parametrize("runner", RUNNERS)
def test_softmax_of_a_row_without_a_finite_max_is_nan_as_in_numpy(runner):
    """Issue 8: a row of all -inf came back uniform; NumPy's x - max is -inf - -inf = NaN."""
    inf = np.inf
    x = np.array([[-inf] * 5, [0, 1, -inf, 2, -inf], [1, inf, 2, 3, 4], [0, 0, 0, 0, 0], [-inf, -inf, 3, -inf, -inf]],
                 np.float32)
    got = run(ops.softmax, x, runner=runner, vlen=256)
    x64 = x.astype(np.float64)
    with np.errstate(invalid="ignore"):
        e = np.exp(x64 - x64.max(-1, keepdims=True))
        want = e / e.sum(-1, keepdims=True)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.isnan(want[0]).all() and np.isnan(want[2]).all() and not np.isnan(want[1]).any()
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-6, atol=0)   # exp(-inf) is exactly 0


@pytest.mark.parametrize("fuse", [True, 2])
@pytest.mark.parametrize("pipe", [False, True, 2])
@pytest.mark.parametrize("exp", ["accurate", "fast"])
def test_softmax_pipelined_division_keeps_each_rows_sum_and_nans(pipe, exp, fuse):
    """PIPE divides row r - PIPE inside row r's pass (at 2 with the 1 / sum taken a row
    late, from the held maximum and sum): every row by its own sum, a row without a finite
    maximum NaN, the first rows' no-op divisions and the last rows' after-passes included,
    on 1 to 5 rows; with the maximum fused one or two rows ahead (FUSE=2 holds it a row: a
    planted off-by-one row in its rotation fails it)."""
    inf = np.inf
    x = np.array([[-inf] * 37, np.linspace(-3, 5, 37), [1, inf] + [2] * 35, np.zeros(37), np.linspace(9, -30, 37)],
                 np.float32)
    for rows in range(1, 6):
        xs = x[-rows:] if rows % 2 else x[:rows]
        got = np.zeros_like(xs)
        run(kernels.softmax, xs, got, LMUL=1, CHAINS=1, FUSE=fuse, PIPE=pipe, SKEW="11", EXP=exp, runner="emu",
            vlen=256)
        x64 = xs.astype(np.float64)
        with np.errstate(invalid="ignore"):
            e = np.exp(x64 - x64.max(-1, keepdims=True))
            want = e / e.sum(-1, keepdims=True)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        ok = ~np.isnan(want)
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-5 if exp == "accurate" else 2e-4, atol=1e-8)


@pytest.mark.parametrize("pipe", [3, -1, "2", 1.0])
def test_softmax_names_a_bad_pipe(pipe):
    with pytest.raises(KernelError, match="PIPE must be 0, 1 or 2"):
        kernels.softmax(np.ones((2, 8), np.float32), np.zeros((2, 8), np.float32), PIPE=pipe)


def attention_ref(q, k, v, causal, scale):
    group = q.shape[-3] // k.shape[-3] if q.ndim > 2 else 1
    if q.ndim > 2:
        k, v = np.repeat(k, group, axis=-3), np.repeat(v, group, axis=-3)
    q, k, v = (t.astype(np.float64) for t in (q, k, v))
    s = q @ np.swapaxes(k, -1, -2) * scale
    lq, lk = q.shape[-2], k.shape[-2]
    if causal:
        s = np.where(np.arange(lk)[None, :] <= np.arange(lq)[:, None] + lk - lq, s, -np.inf)
    mx = s.max(-1, keepdims=True)
    p = np.exp(s - np.where(np.isfinite(mx), mx, 0))
    tot = p.sum(-1, keepdims=True)
    return np.where(tot > 0, p @ v / np.where(tot > 0, tot, 1), 0)


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data(), lq=st.sampled_from([1, 2, 5, 9]), lk=st.sampled_from([1, 3, 8, 17, 40]),
       d=st.sampled_from([5, 32, 33, 64]), kv=st.sampled_from([1, 2]), group=st.sampled_from([1, 2, 3, 7]),
       causal=st.booleans(), batched=st.booleans(), strided=st.booleans())
def test_attention(runner, vlen, data, lq, lk, d, kv, group, causal, batched, strided):
    lead = (2, kv * group) if batched else ()
    kv_lead = (2, kv) if batched else ()
    q = data.draw(arr(lead + (lq, d)))
    k, v = data.draw(arr(kv_lead + (lk, d))), data.draw(arr(kv_lead + (lk, d)))
    if strided:   # non-contiguous views: every other key of a cache twice as long
        k, v = (np.repeat(t, 2, axis=-2)[..., ::2, :] for t in (k, v))
        assert k.strides[-2] == 2 * 4 * d
    out = run(ops.attention, q, k, v, causal=causal, runner=runner, vlen=vlen, preset=PRESET)
    want = attention_ref(q, k, v, causal, 1 / np.sqrt(d))
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("vlen", [128, 1024])
@pytest.mark.parametrize("runner", RUNNERS)
def test_attention_head_dims_and_errors(runner, vlen):
    rng = np.random.default_rng(1)
    for d in (128, 256):
        q, k, v = (rng.standard_normal((3, d)).astype(np.float32) for _ in range(3))
        out = run(ops.attention, q, k, v, causal=True, runner=runner, vlen=vlen, preset=PRESET)
        np.testing.assert_allclose(out, attention_ref(q, k, v, True, 1 / np.sqrt(d)), rtol=1e-4, atol=2e-5)
    with pytest.raises(ValueError, match="multiple of KV heads"):
        ops.attention(np.zeros((3, 2, 4)), np.zeros((2, 2, 4)), np.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match=r"M, K\) @ \(\.\.\., K, N\)"):
        ops.matmul(np.zeros((2, 3)), np.zeros((2, 3)))
    assert ops.matmul(np.zeros((0, 3)), np.zeros((3, 4))).shape == (0, 4)


def test_attention_with_no_keys_is_zero():
    """Issue 8: Lk = 0 raised a reshape error. Every row then sees no key, and such rows are 0."""
    q = np.ones((2, 6, 3, 8), np.float32)
    for causal in (False, True):
        out = ops.attention(q, np.zeros((2, 3, 0, 8), np.float32), np.zeros((2, 3, 0, 8), np.float32), causal=causal)
        assert out.shape == q.shape and out.dtype == np.float32 and not out.any()
    assert ops.attention(np.ones((3, 8)), np.zeros((0, 8)), np.zeros((0, 8))).shape == (3, 8)


@pytest.mark.parametrize("runner", RUNNERS)
def test_attention_decode_against_a_preallocated_cache(runner):
    """One new token per head against the first kv_len rows of a longer (14, 2) GQA cache."""
    rng = np.random.default_rng(2)
    q = rng.standard_normal((14, 1, 64)).astype(np.float32)
    k, v = (rng.standard_normal((2, 40, 64)).astype(np.float32) for _ in range(2))
    for kv_len in (1, 17, 40):
        out = run(ops.attention, q, k, v, causal=True, kv_len=kv_len, runner=runner, vlen=128)
        want = attention_ref(q, k[:, :kv_len], v[:, :kv_len], True, 1 / 8)
        np.testing.assert_allclose(out, want, rtol=1e-4, atol=2e-5)
    with pytest.raises(ValueError, match="kv_len"):
        ops.attention(q, k, v, kv_len=41)


def test_attention_runs_a_given_config():
    """ops.attention(config=) runs those tunables (completed from the declared defaults),
    not the shape's own: the cycles of the kernel called with them, the result against
    float64; a name that is no tunable is a ValueError."""
    rng = np.random.default_rng(6)
    q = rng.standard_normal((7, 1, 64)).astype(np.float32)
    k, v = (rng.standard_normal((1, 90, 64)).astype(np.float32) for _ in range(2))
    target = Target.preset("spacemit-x60")
    cfg = {"BM": 3, "LMUL": 8, "KU": 1, "NB": 4}
    assert ops.attention_config(target, q, k, 7)["BM"] != 3
    out = ops.attention(q, k, v, True, target=target, config=cfg)
    np.testing.assert_allclose(out, attention_ref(q, k, v, True, 1 / 8), rtol=1e-4, atol=2e-5)
    o = np.zeros_like(q)
    direct = kernels.attention(q, k, v, o, *kernels.attention_scratch(64, 90, 3, 8, target.vlen, False), 1 / 8,
                               CAUSAL=True, **cfg, target=target)
    assert ops.last_run.cycles == direct.cycles
    with pytest.raises(ValueError, match="config must be a dict of attention's tunables"):
        ops.attention(q, k, v, True, target=target, config={"BM": 3, "TILE": 2})


def test_attention_takes_the_fast_exps_own_tuned_entry(tmp_path, monkeypatch):
    """The tuner keeps one entry per exp (EXP is in attention's key); ops.attention(exp=) runs
    that exp's entry, and with the fast exp and no entry of its own the accurate exp's: the
    cycles of the kernel called directly with that configuration, the result against float64."""
    from rvai import tune
    from rvai.kernels.attention import FAST_EXP_ERROR
    monkeypatch.setenv("RVAI_CACHE_DIR", str(tmp_path))   # a cache of this test's entries alone
    target = Target.preset("spacemit-x60")
    rng = np.random.default_rng(8)
    q = rng.standard_normal((7, 1, 16)).astype(np.float32)
    k, v = (rng.standard_normal((1, 40, 16)).astype(np.float32) for _ in range(2))
    want = attention_ref(q, k, v, True, 1 / 4)
    accurate, fast = {"BM": 7, "LMUL": 2, "KU": 1, "NB": 8}, {"BM": 3, "LMUL": 8, "KU": 1, "NB": 4}

    def direct(cfg, exp):
        scratch = kernels.attention_scratch(16, 40, cfg["BM"], cfg["LMUL"], target.vlen, False)
        return kernels.attention(q, k, v, np.zeros_like(q), *scratch, 1 / 4, CAUSAL=True, EXP=exp, **cfg,
                                 target=target).cycles

    args = tune.TUNABLE["attention"][1]((7, 1, 1, 40, 16), None, target)
    tune.tune(kernels.attention, args, target=target, configs=[accurate], CAUSAL=True)
    for exp, cfg in (("fast", accurate), ("accurate", accurate)):   # no fast entry yet: the accurate one's
        out = ops.attention(q, k, v, True, target=target, exp=exp)
        assert ops.last_run.cycles == direct(cfg, exp)
    tune.tune(kernels.attention, args, target=target, configs=[fast], CAUSAL=True, EXP="fast")
    for exp, cfg in (("fast", fast), ("accurate", accurate)):
        out = ops.attention(q, k, v, True, target=target, exp=exp)
        assert ops.last_run.cycles == direct(cfg, exp)
        bound = 2 * FAST_EXP_ERROR / (1 - FAST_EXP_ERROR) * np.abs(v).max() + 2e-5 if exp == "fast" else 1e-4
        assert np.abs(out - want).max() <= bound
    assert direct(fast, "fast") != direct(accurate, "fast")   # the two entries tell apart


# Each candidate at one VLEN, the two taking turns: compiling ~100 attention kernels twice
# was a tenth of the suite's time.
@pytest.mark.parametrize("cfg, vlen", [(c, (128, 1024)[i % 2]) for i, c in enumerate(kernels.attention.autotune.configs)],
                         ids=lambda x: "-".join(map(str, x.values())) if isinstance(x, dict) else str(x))
def test_every_attention_config_is_correct(cfg, vlen):
    """Each tuning candidate (tile rows, key-block LMUL, K columns a trip) on GQA prefill
    with partial tiles and blocks and on decode, causal, against float64."""
    rng = np.random.default_rng(5)
    for heads, kv, lq, lk, d in ((6, 2, 5, 37, 33), (7, 1, 1, 70, 64)):
        q = rng.standard_normal((heads, lq, d)).astype(np.float32)
        k, v = (rng.standard_normal((kv, lk, d)).astype(np.float32) for _ in range(2))
        o = np.zeros_like(q)
        scratch = kernels.attention_scratch(d, lk, cfg["BM"], cfg["LMUL"], vlen, lq > 1)
        run(kernels.attention, q, k, v, o, *scratch, 1 / np.sqrt(d), CAUSAL=True, TRANSPOSE_K=lq > 1, **cfg,
            runner="emu", vlen=vlen)
        np.testing.assert_allclose(o, attention_ref(q, k, v, True, 1 / np.sqrt(d)), rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("vlen", VLENS)
@SETTINGS
@given(data=st.data(), cfg=st.sampled_from(kernels.attention.autotune.configs), lq=st.sampled_from([1, 3, 8]),
       lk=st.sampled_from([1, 6, 29, 70]), d=st.sampled_from([3, 16, 37]), group=st.sampled_from([1, 2, 7]),
       width=st.sampled_from([1, 3, 8, 17, None]), causal=st.booleans())
def test_attention_over_many_key_blocks(vlen, data, cfg, lq, lk, d, group, width, causal):
    """The online softmax across blocks: a scratch p of ``width`` columns caps a block at
    that many keys (W = min(NB * VLMAX, width), not a multiple of VLMAX), so rows run
    through many blocks whose maxima rise and fall; every candidate, against float64."""
    q = data.draw(arr((2 * group, lq, d), lo=-4.0, hi=4.0))
    k, v = data.draw(arr((2, lk, d), lo=-4.0, hi=4.0)), data.draw(arr((2, lk, d)))
    q_s, o_s, p, k_t = kernels.attention_scratch(d, lk, cfg["BM"], cfg["LMUL"], vlen, lq > 1)
    if width is not None:
        p = np.zeros((p.shape[0], width), np.float32)
    o = np.zeros_like(q)
    run(kernels.attention, q, k, v, o, q_s, o_s, p, k_t, 1 / np.sqrt(d), CAUSAL=causal, TRANSPOSE_K=lq > 1, **cfg,
        runner="emu", vlen=vlen)
    np.testing.assert_allclose(o, attention_ref(q, k, v, causal, 1 / np.sqrt(d)), rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("vlen", [128, 1024])
def test_every_softmax_and_rmsnorm_config_is_correct(vlen):
    """Each tuning candidate of softmax (LMUL, exp chains, fusions, line claims; with each
    exp) and rmsnorm (LMUL, fusion, unrolling) on rows that leave partial chain groups and
    blocks, against float64."""
    rng = np.random.default_rng(6)
    x = (rng.standard_normal((3, 301)) * 8).astype(np.float32)
    w = rng.standard_normal(301).astype(np.float32)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(-1, keepdims=True))
    for cfg in kernels.softmax.autotune.configs:
        for exp, rtol in (("accurate", 1e-5), ("fast", 2 * 9.8e-5)):
            o = np.zeros_like(x)
            run(kernels.softmax, x, o, **cfg, EXP=exp, runner="emu", vlen=vlen)
            np.testing.assert_allclose(o, e / e.sum(-1, keepdims=True), rtol=rtol, atol=1e-8)
    for cfg in kernels.rmsnorm.autotune.configs:
        o = np.zeros_like(x)
        run(kernels.rmsnorm, x, w, o, 1e-6, **cfg, runner="emu", vlen=vlen)
        np.testing.assert_allclose(o, x64 / np.sqrt((x64 ** 2).mean(-1, keepdims=True) + 1e-6) * w,
                                   rtol=2e-5, atol=1e-5)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(skew=st.sampled_from(["1", "11", "111", "112", "1111", "13", "4"]), exp=st.sampled_from(["accurate", "fast"]),
       chains=st.sampled_from([1, 2, 3]), groups=st.integers(0, 6), tail=st.sampled_from([0, 1, 3]),
       fuse=st.sampled_from([False, True, 2]), pipe=st.sampled_from([False, True, 2]), vlen=st.sampled_from(VLENS),
       reverse=st.booleans(), bits=st.booleans(), seed=st.integers(0, 2**16))
def test_skewed_softmax_fills_and_drains_its_pipeline(skew, exp, chains, groups, tail, fuse, pipe, vlen, reverse,
                                                      bits, seed):
    """SKEW: rows of 0 to 6 whole groups of blocks (fewer than the stages, as many, more),
    whole blocks and a tail left over, on every cut of the exp's steps, each trip's stages
    in either order (REVERSE), the shift a scalar or broadcast as its bits (BITS), against
    float64 (each row's stages fill, run and drain once per row; a planted off-by-one group
    in the drain fails it, and so does a reversed trip whose stages read the carries its
    earlier stages just wrote, and a shift converted to an integer instead of bitcast)."""
    vl0 = vlen // 32                                  # LMUL 1
    n = max(1, (groups * chains + (1 if tail else 0)) * vl0 + tail)
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((3, n)) * 8).astype(np.float32)
    o = np.zeros_like(x)
    run(kernels.softmax, x, o, LMUL=1, CHAINS=chains, FUSE=fuse, PIPE=pipe, ZERO=0, SKEW=skew, REVERSE=reverse,
        BITS=bits, EXP=exp, runner="emu", vlen=vlen)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(-1, keepdims=True))
    want = e / e.sum(-1, keepdims=True)
    assert np.all(np.abs(o - want) <= (1e-5 if exp == "accurate" else 2 * 9.8e-5) * want + 1e-8)


@pytest.mark.parametrize("skew", ["5", "23", "0", "1a", "11111"])
def test_softmax_names_a_bad_skew(skew):
    with pytest.raises(KernelError, match="SKEW must be digits"):
        kernels.softmax(np.ones((2, 8), np.float32), np.zeros((2, 8), np.float32), SKEW=skew)


@pytest.mark.parametrize("fuse", [3, -1, "2", 1.0])
def test_softmax_names_a_bad_fuse(fuse):
    with pytest.raises(KernelError, match="FUSE must be 0, 1 or 2"):
        kernels.softmax(np.ones((2, 8), np.float32), np.zeros((2, 8), np.float32), FUSE=fuse)


@pytest.mark.parametrize("zero", [-16, "rows", 1.5, None])
def test_softmax_names_a_bad_zero(zero):
    with pytest.raises(KernelError, match="ZERO must be elements ahead"):
        kernels.softmax(np.ones((2, 8), np.float32), np.zeros((2, 8), np.float32), ZERO=zero)


@pytest.mark.parametrize("reverse", [1, "True", None])
def test_softmax_names_a_bad_reverse(reverse):
    with pytest.raises(KernelError, match="REVERSE must be True or False"):
        kernels.softmax(np.ones((2, 8), np.float32), np.zeros((2, 8), np.float32), REVERSE=reverse)


@pytest.mark.parametrize("bits", [1, "yes", None])
def test_softmax_names_a_bad_bits(bits):
    with pytest.raises(KernelError, match="BITS must be True or False"):
        kernels.softmax(np.ones((2, 8), np.float32), np.zeros((2, 8), np.float32), BITS=bits)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=st.sampled_from(kernels.softmax.autotune.configs), exp=st.sampled_from(["accurate", "fast"]),
       rcfg=st.sampled_from(kernels.rmsnorm.autotune.configs), vlen=st.sampled_from(VLENS),
       rows=st.sampled_from([1, 2, 3, 7]), n=st.sampled_from([1, 2, 3, 13, 31, 97, 257, 509]),
       offset=st.sampled_from([0.0, 300.0, -2000.0]), seed=st.integers(0, 2**16))
def test_tuning_candidates_on_odd_shapes_and_strided_rows(cfg, exp, rcfg, vlen, rows, n, offset, seed):
    """Any softmax candidate with either exp, and any rmsnorm candidate, at any VLEN, on rows
    of 1, prime and odd lengths, a view of every other row of a larger array (the results
    written back into a strided view), against float64; on the x60 preset (Zicboz: ZERO
    claims lines) from VLEN 256."""
    rng = np.random.default_rng(seed)
    big = (rng.standard_normal((2 * rows, n)) * 8 + offset).astype(np.float32)
    x = big[::2]
    preset = "spacemit-x60" if vlen >= 256 else "generic"
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(-1, keepdims=True))
    o = np.zeros_like(x)
    run(kernels.softmax, x, o, **cfg, EXP=exp, runner="emu", vlen=vlen, preset=preset)
    want = e / e.sum(-1, keepdims=True)
    assert np.all(np.abs(o - want) <= (1e-5 if exp == "accurate" else 2 * 9.8e-5) * want + 1e-8)
    w = rng.standard_normal(n).astype(np.float32)
    o = np.zeros_like(x)
    run(kernels.rmsnorm, x, w, o, 1e-6, **rcfg, runner="emu", vlen=vlen, preset=preset)
    np.testing.assert_allclose(o, x64 / np.sqrt((x64 ** 2).mean(-1, keepdims=True) + 1e-6) * w, rtol=2e-5, atol=1e-5)


@SETTINGS
@given(preset=st.sampled_from(["spacemit-x60", "xuantie-c930"]), vlen=st.sampled_from([256, 512, 1024]),
       rows=st.integers(1, 5), n=st.integers(1, 300), ahead=st.sampled_from([16, 48, 256]),
       seed=st.integers(0, 2**16))
def test_kernels_that_claim_output_lines_leave_the_lines_they_share(preset, vlen, rows, n, ahead, seed):
    """softmax (ZERO elements ahead) and rmsnorm (ZERO) claim their output's cache lines with
    cbo.zero on targets with Zicboz. Rows of n elements share the lines at their ends with
    the rows beside them (softmax reads the row before back while the next is claimed), and
    the last row's last line with the runner's red zone after the array (checked after the
    call): a claim that zeroed a shared line would show here as a wrong row or a BoundsError."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, n)) * 8).astype(np.float32)
    w = rng.standard_normal(n).astype(np.float32)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(-1, keepdims=True))
    o = np.full_like(x, 7.0)
    run(kernels.softmax, x, o, ZERO=ahead, runner="emu", vlen=vlen, preset=preset)
    np.testing.assert_allclose(o, e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-8)
    o = np.full_like(x, 7.0)
    run(kernels.rmsnorm, x, w, o, 1e-6, ZERO=True, runner="emu", vlen=vlen, preset=preset)
    np.testing.assert_allclose(o, x64 / np.sqrt((x64 ** 2).mean(-1, keepdims=True) + 1e-6) * w, rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize("runner", RUNNERS)
def test_demo_checks_every_op(runner, capsys):
    """``rvai demo --runner R --vlen 512`` (through the command line) checks all five cases."""
    from rvai import cli
    assert cli.main(["demo", "--runner", runner, "--vlen", "512"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if re.search(r"e-\d\d\s+ok\s", line)]   # tol, then ok
    assert len(rows) == 5 and "VLEN 512" in out and "all results agree with NumPy" in out
    for row in rows:   # cycles, instructions and the vector share close each row under the emulator
        counts = row[-3:]
        if runner == "emu":
            assert counts[0].isdigit() and counts[1].isdigit() and counts[2].endswith("%")
        else:
            assert counts == ["-", "-", "-"]


@pytest.mark.parametrize("name", ["saxpy", "matmul", "attention", "qwen_layer"])
def test_examples_run_as_written(name):
    """examples/NAME.py in the emulator, as a user runs it; each asserts its result against NumPy."""
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))    # this checkout's rvai, not an installed one
    done = subprocess.run([sys.executable, str(root / "examples" / f"{name}.py")], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
