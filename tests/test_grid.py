"""Launch grids in the DSL (``kernel[grid](...)``, ``rl.program_id``, ``rl.num_programs``)
and the GEMM/GEMV of rvai.ops spread over harts, against NumPy."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import rvai.lang as rl
from rvai import ops
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
