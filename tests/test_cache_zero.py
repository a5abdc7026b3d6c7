"""``Tensor.cache_zero``: Zicboz's ``cbo.zero`` on the whole 64-byte blocks (Zic64b) of a
range, on targets with Zicboz (spacemit-x60, xuantie-c930), and nothing elsewhere.

The oracle is the CMO specification's definition: cbo.zero writes zeros over the naturally
aligned 64-byte block holding its address; the runner places each array at the start of
its own pages, so element k of an f32 array lies in block (4 k) // 64.
"""
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rvai.lang as rl
from rvai.lang import f32
from rvai.target import Target

OBJDUMP = shutil.which("llvm-objdump-22")


@rl.kernel
def zero_range(o: rl.Tensor[f32, 2], r: rl.i64, j: rl.i64, n: rl.i64):
    o.cache_zero(r, j, count=n)


@rl.kernel
def zero_first_blocks(o: rl.Tensor[f32, 2], r: rl.i64, j: rl.i64, n: rl.i64, BLOCKS: int = 1):
    o.cache_zero(r, j, count=n, blocks=BLOCKS)


def zeroed_by_spec(preset, rows, cols, r, j, n, blocks=None):
    """What o = 1, 2, 3, ... (rows x cols) holds after claiming the n elements from (r, j):
    zeros over every whole 64-byte block of the range (the first ``blocks`` of them) where
    the preset has Zicboz."""
    want = np.arange(1, rows * cols + 1, dtype=np.float32)
    if "zicboz" in Target.preset(preset).extensions:
        first, end = r * cols + j, r * cols + j + n
        inside = [b for b in range(0, want.size * 4, 64) if first * 4 <= b and b + 64 <= end * 4]
        for block in inside[:blocks]:
            want[block // 4:block // 4 + 16] = 0
    return want


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(preset=st.sampled_from(["spacemit-x60", "xuantie-c930", "generic"]), vlen=st.sampled_from([256, 512, 1024]),
       rows=st.integers(1, 5), cols=st.integers(1, 70), data=st.data())
def test_only_whole_blocks_inside_the_range_are_zeroed(preset, vlen, rows, cols, data):
    r = data.draw(st.integers(0, rows - 1))
    j = data.draw(st.integers(0, cols - 1))
    n = data.draw(st.integers(0, cols - j))
    o = np.arange(1, rows * cols + 1, dtype=np.float32).reshape(rows, cols)
    zero_range(o, r, j, n, target=Target.preset(preset).with_vlen(vlen))
    np.testing.assert_array_equal(o.ravel(), zeroed_by_spec(preset, rows, cols, r, j, n))


@pytest.mark.parametrize("preset", ["spacemit-x60", "xuantie-c930"])
@pytest.mark.parametrize("cols, j, n", [(899, 0, 899), (899, 1, 898), (899, 17, 700), (3584, 0, 3584),
                                        (3584, 5, 3000), (200, 16, 80), (200, 16, 96), (200, 15, 114)])
def test_long_ranges_claim_every_whole_block_and_no_more(preset, cols, j, n):
    """Rows of Qwen widths and ranges of 5 to 224 blocks (the claim loop runs four blocks a
    trip, then the rest): every whole block of the range, none beyond it."""
    o = np.arange(1, 3 * cols + 1, dtype=np.float32).reshape(3, cols)
    zero_range(o, 1, j, n, target=Target.preset(preset))
    np.testing.assert_array_equal(o.ravel(), zeroed_by_spec(preset, 3, cols, 1, j, n))


@pytest.mark.parametrize("preset", ["spacemit-x60", "xuantie-c930", "generic"])
@pytest.mark.parametrize("blocks", [1, 2, 3, 4])
def test_blocks_claims_only_the_first_whole_blocks_of_the_range(preset, blocks):
    """``blocks=k``: the first k whole blocks of the range, none after them nor outside it,
    on ranges holding none, fewer, as many and more, from starts on and off a block."""
    cols = 90
    for j in (0, 1, 15, 16, 17):
        for n in sorted(m for m in {0, 15, 16, 31, 32, 48, 63, 64, 65, 73, cols - j} if m <= cols - j):
            o = np.arange(1, 3 * cols + 1, dtype=np.float32).reshape(3, cols)
            zero_first_blocks(o, 1, j, n, BLOCKS=blocks, target=Target.preset(preset))
            np.testing.assert_array_equal(o.ravel(), zeroed_by_spec(preset, 3, cols, 1, j, n, blocks),
                                          err_msg=f"j={j} n={n}")


@pytest.mark.parametrize("blocks", [0, -1, 1.0, True, "2"])
def test_blocks_must_be_a_positive_int(blocks):
    with pytest.raises(rl.KernelError, match="blocks must be a positive int"):
        zero_first_blocks(np.ones((2, 40), np.float32), 0, 0, 40, BLOCKS=blocks, target=Target.preset("spacemit-x60"))


def test_a_checked_kernel_stops_a_range_past_the_row():
    o = np.ones((2, 40), np.float32)
    with pytest.raises(rl.BoundsError):
        zero_range(o, 0, 30, 11, target=Target.preset("spacemit-x60"), checked=True)
    assert (o == 1).all()


@pytest.mark.skipif(OBJDUMP is None, reason="needs llvm-objdump-22")
@pytest.mark.parametrize("preset, has", [("spacemit-x60", True), ("xuantie-c930", True), ("generic", False)])
def test_the_object_holds_cbo_zero_where_the_target_has_zicboz(preset, has, tmp_path):
    compiled = zero_range.compile(Target.preset(preset))
    path = tmp_path / "k.o"
    path.write_bytes(compiled.elf)
    dump = subprocess.run([OBJDUMP, "-d", "--mattr=+zicboz,+v,+xsfvcp", str(path)], check=True,
                          capture_output=True, text=True).stdout
    # the claim loop is unrolled: several cbo.zero where the target has Zicboz
    assert dump.count("cbo.zero") == compiled.asm.count("cbo.zero")
    assert (dump.count("cbo.zero") > 0) == has
    assert "sf.vc" not in dump and "sf.vc" not in compiled.asm
