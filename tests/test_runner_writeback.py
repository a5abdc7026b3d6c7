"""What a kernel call gives back to the caller's arrays (rvai.runner.call): every
array the kernel changed, bit for bit, and nothing else. A tensor the kernel's code
never stores through is mapped read-only and not read back: that changes no result
and no cycle, and a store that lands in one raises."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rvai.lang as rl
from rvai import Target, runner
from rvai.lang import f32, i64


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


# ---- tensors the code never stores through: mapped read-only, not read back ----------

#: What each access does to its tensor's memory, by the ISA (the test's own table, not the
#: runner's): a write prefetch changes no byte, but counts as a write (the timing model
#: fills no line for one on a read-only page).
_WRITES = {"load": False, "vload": False, "touch": False, "prefetch_r": False, "prefetch_w": True,
           "store": True, "vstore": True, "vstore_seg": True, "cache_zero": True}


#: The accesses that need no loop, each to element 3 or line 0 of its tensor.
_SCALAR_ACCESS = {"load": lambda t: t[3], "touch": lambda t: t.touch(3), "prefetch_r": lambda t: t.prefetch(0),
                  "prefetch_w": lambda t: t.prefetch(0, write=True), "store": lambda t: t.__setitem__(5, t[2] + 1.0),
                  "cache_zero": lambda t: t.cache_zero(0, count=t.shape[0])}


def _one_access(t, kind: str) -> None:
    """One access of ``kind`` to tensor ``t`` (at least 16 f32 elements)."""
    if kind in _SCALAR_ACCESS:
        _SCALAR_ACCESS[kind](t)
        return
    for vl, i in rl.vloop(t.shape[0] // 2):
        v = t.vload(i) * 3.0
        if kind == "vstore":
            t.vstore(v, i)
        elif kind == "vstore_seg":
            t.vstore_segments([v, v + 1.0], 2 * i)


@rl.kernel
def accesses(a: rl.Tensor[f32], b: rl.Tensor[f32], c: rl.Tensor[f32], kinds):
    for t, kind in zip((a, b, c), kinds):
        _one_access(t, kind)


@settings(max_examples=30, deadline=None)
@given(kinds=st.tuples(*[st.sampled_from(sorted(_WRITES))] * 3), n=st.integers(16, 64), data=st.data())
def test_read_only_tensors_change_no_result_no_cycle_and_are_stored_through_by_nothing(kinds, n, data):
    # the oracle is the call with every tensor writable and read back (run_compiled's
    # stored=None, the runner before read-only mappings): the same arrays after the call,
    # the same cycles and instructions in the timed model (c930: Zicbop and Zicboz)
    target = Target.of("xuantie-c930")
    expected = {name for name, kind in zip("abc", kinds) if _WRITES[kind]}
    for checked in (False, True):
        assert runner.stored_tensors(accesses.trace(None, checked=checked, kinds=kinds)) == expected
    arrays = [np.asarray(data.draw(st.lists(st.floats(-8, 8, width=32), min_size=n, max_size=n)), np.float32)
              for _ in range(3)]
    got = [a.copy() for a in arrays]
    run = accesses(*got, kinds, target=target, checked=False)
    flat = [item for a in arrays for item in (("ptr", a.copy()), ("i64", n))]
    outs, cycles, instret, _ = runner.run_compiled(run.compiled, flat, target, names=list("abc"))
    assert (run.cycles, run.instret) == (cycles, instret)
    for mine, theirs, name in zip(got, outs, "abc"):
        assert mine.view(np.uint32).tolist() == theirs.view(np.uint32).tolist(), name


@rl.kernel
def store_far(x: rl.Tensor[f32], y: rl.Tensor[f32], off: i64):
    y[off] = 7.0  # the store


def test_a_store_into_a_tensor_the_code_never_stores_through_raises():
    # y's element off lies in x's pages (the slots are TENSOR_SLOT apart, x's first): the
    # unchecked kernel writes x through y's pointer. x is read-only: the store faults and
    # names x, where x's writable copy took the 7.0 and handed it back in silence.
    x, y = np.arange(16, dtype=np.float32), np.zeros(16, np.float32)
    with pytest.raises(rl.BoundsError, match="never stores through") as info:
        store_far(x, y, 3 - runner.TENSOR_SLOT // 4, checked=False)
    assert (info.value.tensor, info.value.start) == ("x", 3)
    assert x.tolist() == list(range(16)) and not y.any()
