"""The guest memcpy/memmove/memset routines against Python's own byte semantics."""
from hypothesis import given, settings, strategies as st

from rvai.emu import Machine
from rvai.emu.runtime import install

N = 256


@given(data=st.binary(min_size=N, max_size=N), dst=st.integers(0, N - 1), src=st.integers(0, N - 1),
       n=st.integers(0, N), name=st.sampled_from(["memmove", "memcpy"]))
@settings(max_examples=60, deadline=None)
def test_memmove_and_memcpy(data, dst, src, n, name):
    if name == "memcpy" and abs(dst - src) < n:
        n = abs(dst - src)        # memcpy's contract: no overlap
    n = min(n, N - dst, N - src)
    m = Machine(vlen=128)
    routines = install(m)
    base = m.alloc(N)
    m.write(base, data)
    ret = m.call(routines[name], base + dst, base + src, n, ret="u64")
    expect = bytearray(data)
    expect[dst:dst + n] = data[src:src + n]   # a slice copy reads before it writes: memmove
    assert ret == base + dst
    assert m.read_bytes(base, N) == bytes(expect)


@given(data=st.binary(min_size=64, max_size=64), at=st.integers(0, 63), n=st.integers(0, 64),
       c=st.integers(0, 2**64 - 1))
@settings(max_examples=40, deadline=None)
def test_memset_uses_the_low_byte(data, at, n, c):
    n = min(n, 64 - at)
    m = Machine(vlen=128)
    base = m.alloc(64)
    m.write(base, data)
    assert m.call(install(m)["memset"], base + at, c, n, ret="u64") == base + at
    expect = bytearray(data)
    expect[at:at + n] = bytes([c & 0xFF]) * n
    assert m.read_bytes(base, 64) == bytes(expect)
