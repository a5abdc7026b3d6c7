"""What a kernel call gives back to the caller's arrays (rvai.runner.call): every
array the kernel changed, bit for bit, and nothing else."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import rvai.lang as rl
from rvai.lang import f32


@rl.kernel
def copy(x: rl.Tensor[f32], y: rl.Tensor[f32]):
    for vl, i in rl.vloop(x.shape[0]):
        y.vstore(x.vload(i), i)


@rl.kernel
def double(x: rl.Tensor[f32], y: rl.Tensor[f32]):
    for vl, i in rl.vloop(x.shape[0]):
        y.vstore(x.vload(i) * 2.0, i)


#: float32 bit patterns a value comparison calls equal to others: zeros of both
#: signs, and NaNs of both signs, quiet and signalling, with other payloads
_SAME_VALUE = np.array([0x00000000, 0x80000000, 0x7FC00000, 0x7FC00001, 0xFFC00000, 0x7F800001, 0x7FBFFFFF],
                       np.uint32)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), data=st.data())
def test_a_copy_is_given_back_bit_for_bit(n, data):
    # y's old bits differ from x's only where a value comparison (NaN equal to
    # NaN, 0.0 to -0.0) sees no difference: the call must still hand back x's bits
    pick = st.lists(st.integers(0, len(_SAME_VALUE) - 1), min_size=n, max_size=n)
    x = _SAME_VALUE[data.draw(pick)].view(np.float32)
    y = _SAME_VALUE[data.draw(pick)].view(np.float32)
    copy(x, y)
    assert y.view(np.uint32).tolist() == x.view(np.uint32).tolist()


def test_an_array_passed_twice_gets_what_the_kernel_wrote():
    # x and y are one array: the kernel reads its copy as x and writes its copy
    # as y; the unchanged x must not be given back over y's result
    a = np.arange(10, dtype=np.float32)
    double(a, a)
    assert a.tolist() == (2 * np.arange(10, dtype=np.float64)).tolist()


def test_a_read_only_array_is_left_as_it_was():
    x = np.arange(10, dtype=np.float32)
    y = np.zeros(10, np.float32)
    y.flags.writeable = False
    double(x, y)
    assert not y.any()
