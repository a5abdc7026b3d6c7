"""The timing model on real kernels from rvai.ops: the profile's FLOPs match an
independent count, and presets differ in the direction their parameters imply."""
import dataclasses

import numpy as np
import pytest

import rvai.lang as rl

from rvai import ops
from rvai.emu.profile import timing_params
from rvai.target import Target


def _gemm_profile(target, m, k, n, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    c = ops.matmul(a, b, target=target)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)
    return ops.last_run.profile


def _with_model(target, **fields):
    """`target` with some [model] fields replaced (same code: the model does not enter compilation)."""
    return dataclasses.replace(target, model={**target.model, **fields})


@pytest.mark.parametrize("preset", ["small-inorder", "xuantie-c930"])
@pytest.mark.parametrize("m,k,n", [(32, 64, 48), (5, 7, 19), (1, 33, 3)])
def test_gemm_flops_are_two_m_n_k(preset, m, k, n):
    # one multiply and one add per (i, j, l), plus one add per element of c and block of
    # KC = 512 steps of K (the block sums are added to c); tails (n not a multiple of
    # VLMAX) count active elements only
    prof = _gemm_profile(Target.preset(preset), m, k, n)
    assert prof.flops == 2 * m * n * k + m * n * -(-k // 512)


def test_a_wider_datapath_runs_the_same_gemm_in_fewer_cycles():
    # spacemit-x60 and xuantie-c930 share VLEN 256, so the same problem is the same
    # vector work; the C930's FP pipes are twice as wide (DLEN 256) and twice as many
    x60, c930 = Target.preset("spacemit-x60"), Target.preset("xuantie-c930")
    assert x60.vlen == c930.vlen
    slow, fast = (_packed_gemm_profile(t, 28, 256, 64) for t in (x60, c930))   # past the cold start
    assert slow.flops == fast.flops
    assert fast.peak_flops_per_cycle() > slow.peak_flops_per_cycle()
    assert fast.cycles < slow.cycles
    for prof in (slow, fast):   # no machine beats its own peak
        assert prof.flops <= prof.cycles * prof.peak_flops_per_cycle()


def _packed_gemm_profile(target, m, k, n, seed=0):
    """The GEMM micro-kernels alone: B packed into panels beforehand (by NumPy), as for weights."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k), dtype=np.float32)
    w = rng.standard_normal((n, k), dtype=np.float32)
    c = ops.linear(a, ops.pack_weights(w, target=target), target=target)
    np.testing.assert_allclose(c, a @ w.T, rtol=1e-4, atol=1e-4)
    return ops.last_run.profile


def test_doubling_dlen_halves_fp_pipe_occupancy_of_a_fp_bound_gemm():
    base = Target.preset("generic")
    narrow, wide = (_packed_gemm_profile(_with_model(base, dlen=d), 28, 256, 64) for d in (128, 256))
    assert narrow.class_counts == wide.class_counts           # the very same instructions ran
    assert narrow.bounds()["vector fp"] > 0.8                 # the FP pipe bounds the narrow machine
    assert narrow.pipe_busy["fp"] == 2 * wide.pipe_busy["fp"]
    assert wide.cycles < narrow.cycles
    units = timing_params(base.model).pipe_count[1]
    for prof in (narrow, wide):   # a pipe cannot be busy for longer than the run
        assert prof.pipe_busy["fp"] / units <= prof.cycles


@rl.kernel
def _strip_gemm(a: rl.Tensor[rl.f32, 2], b: rl.Tensor[rl.f32, 2], c: rl.Tensor[rl.f32, 2]):
    """c = a @ b for 4 rows, walking row-major b down column strips of one register group."""
    for vl, j in rl.vloop(b.shape[1], sew=32, lmul=4):
        acc = [rl.var(rl.zeros(rl.f32)) for _ in range(4)]
        for k in rl.range(a.shape[1]):
            bv = b.vload(k, j)
            for r in range(4):
                acc[r] += a[r, k] * bv
        for r in range(4):
            c.vstore(acc[r].value, r, j)


@pytest.mark.parametrize("preset", Target.presets())
def test_gemm_with_b_four_times_l2_moves_little_more_than_its_compulsory_bytes(preset):
    # A one-row-block GEMM reads every byte of B exactly once, walking it in column
    # strips (one or a few lines per row of B): a prefetcher must fetch the strip's
    # next rows, not the neighbouring strips that L2 cannot keep until their turn.
    target = Target.preset(preset)
    p = timing_params(target.model)
    k = 512
    n = 4 * p.l2_size // (4 * k)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    c = np.zeros((4, n), np.float32)
    prof = _strip_gemm(a, b, c, target=target).profile
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-3)
    compulsory = a.nbytes + b.nbytes + 4 * n * 4
    assert prof.dram_bytes["read"] <= 1.5 * compulsory
    # and no run moves more bytes a cycle than the channel carries
    moved = prof.dram_bytes["read"] + prof.dram_bytes["written"]
    assert moved / prof.cycles <= p.dram_bytes_per_cycle
