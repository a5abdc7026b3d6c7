"""``Tensor.touch``: a load whose value is discarded, the way to bring a cache line in on a
target without Zicbop. It must survive LLVM (a plain load with no use is deleted), change
no result (the emulator and qemu agree with NumPy), never make the in-order core wait
(nothing uses its register), and stay inside its tensor as a flat offset (checked kernels
stop one past the end, not one past the end of an axis)."""
import dataclasses

import numpy as np
import pytest

import rvai.lang as rl
from rvai.lang import f32
from rvai.target import Target
from tests.kernel_runners import RUNNERS, run

LINE = 16   # f32 elements in a 64-byte line


@rl.kernel
def touch_then_add(x: rl.Tensor[f32, 2], o: rl.Tensor[f32, 1], step: rl.i64):
    """Touch x's elements ``step`` apart, counted flat from x[0, 0] (past row 0's end), then
    o[0] = x[0, 0] + x[-1, -1]."""
    for e in rl.range(0, x.shape[0] * x.shape[1], step):
        x.touch(0, e)
    o[0] = x[0, 0] + x[x.shape[0] - 1, x.shape[1] - 1]


@rl.kernel
def touch_lines(x: rl.Tensor[f32, 1], n: rl.i64):
    """Touch the first element of each of n lines of x, a line apart."""
    for i in rl.range(n):
        x.touch(i * LINE)


@rl.kernel
def load_lines(x: rl.Tensor[f32, 1], o: rl.Tensor[f32, 1], n: rl.i64):
    """o[0] = the sum of the first elements of n lines of x, a line apart: each add waits on its load."""
    acc = rl.var(0.0)
    for i in rl.range(n):
        acc.value = acc.value + x[i * LINE]
    o[0] = acc.value


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("vlen", [128, 1024])
@pytest.mark.parametrize("rows, cols, step", [(1, 1, 1), (3, 5, 2), (7, 37, 16), (64, 64, 16)])
def test_touches_change_no_result(runner, vlen, rows, cols, step):
    x = np.random.default_rng(rows * cols).standard_normal((rows, cols)).astype(np.float32)
    before = x.copy()
    o = np.zeros(1, np.float32)
    run(touch_then_add, x, o, step, runner=runner, vlen=vlen)
    np.testing.assert_array_equal(x, before)
    assert o[0] == np.float32(x[0, 0]) + np.float32(x[-1, -1])


def test_llvm_keeps_the_touches_as_loads():
    """Without Zicbop (generic) the loop of touches is a loop of loads; a plain load with no
    use would be deleted, and the loop with it."""
    asm = touch_lines.compile(Target.preset("generic"), checked=False).asm
    assert "flw" in asm and "prefetch" not in asm


def test_touched_lines_come_in_without_the_core_waiting():
    """64 touches of lines in DRAM overlap: under a quarter of 64 DRAM latencies, which
    the same loads cost when each result is used (sifive-x280 without its stride
    prefetcher, so that every line is a miss of its own)."""
    x280 = Target.preset("sifive-x280")
    target = dataclasses.replace(x280, name="x280-no-hw-prefetch", model={**x280.model, "prefetch_degree": 0})
    n = 64
    x = np.ones(n * LINE, np.float32)
    touched = touch_lines(x, n, target=target)
    loaded = load_lines(x, np.zeros(1, np.float32), n, target=target)
    latency = target.model["dram_latency"]
    assert touched.profile.caches["L1"]["misses"] >= n
    assert 4 * touched.cycles < n * latency <= loaded.cycles


def test_a_checked_kernel_stops_a_touch_past_the_tensor_not_past_an_axis():
    x = np.ones((3, 5), np.float32)
    o = np.zeros(1, np.float32)
    touch_then_add(x, o, 4, target=Target.preset("generic"), checked=True)   # 0, 4, 8, 12: past row 0, inside x
    assert o[0] == 2

    @rl.kernel
    def touch_one_past(x: rl.Tensor[f32, 2]):
        x.touch(0, x.shape[0] * x.shape[1])

    with pytest.raises(rl.BoundsError):
        touch_one_past(x, target=Target.preset("generic"), checked=True)
