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


#: A function copying n bytes through llvm.memcpy (n unknown to LLVM: it emits a call to
#: memcpy) and one that names no routine.
COPY = """
declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)
define void @copy(ptr %d, ptr %s, i64 %n) {
  call void @llvm.memcpy.p0.p0.i64(ptr %d, ptr %s, i64 %n, i1 false)
  ret void
}
"""
ADD = """
define i64 @add(i64 %a, i64 %b) {
  %r = add i64 %a, %b
  ret i64 %r
}
"""


@given(data=st.binary(min_size=1, max_size=200), n=st.integers(0, 200))
@settings(max_examples=10, deadline=None)
def test_routines_are_installed_for_the_objects_that_call_them(data, n):
    """An object that calls memcpy links against the routine and copies as Python's
    slices do; one that names no routine loads without them (Machine.load_elf asks
    runtime.needed, so most kernels' processes never assemble them)."""
    from rvai.codegen.backend import compile_llvm_ir
    from rvai.emu import runtime
    n = min(n, len(data))
    m = Machine(vlen=128)
    m.load_elf(compile_llvm_ir(ADD, "generic")[1])
    assert not any(f"__rvai_{name}" in m.symbols for name in runtime.NAMES)
    assert m.call(m.symbols["add"], 2, 40, ret="u64") == 42
    obj = compile_llvm_ir(COPY, "generic")[1]
    assert runtime.needed(obj)
    m.load_elf(obj)
    src, dst = m.alloc(len(data)), m.alloc(len(data))
    m.write(src, data)
    m.call(m.symbols["copy"], dst, src, n)
    assert m.read_bytes(dst, n) == data[:n]
