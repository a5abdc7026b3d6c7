"""Zvbb / Zvkb as compilers use them: tests/rvv_programs/zvbb.c built by clang-22
(its RVV intrinsics for vandn, vbrev, vbrev8, vrev8, vclz, vctz, vcpop.v, vrol,
vror (.vv, .vx and the .vi clang makes of a constant), vwsll (.vv, .vx, .vi),
one masked form), each function called at VLEN 128, 256 and 512 and compared
with NumPy models written from the specification."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tests.conftest import clang22_object, loaded

SRC = Path(__file__).parent / "rvv_programs" / "zvbb.c"


@pytest.fixture(scope="module")
def obj(tmp_path_factory):
    return clang22_object(tmp_path_factory, SRC, "rv64gcv_zvbb")


def put(m, array):
    addr = m.alloc(max(array.nbytes, 8))
    m.write(addr, array)
    return addr


def values(rng, n, dtype):
    """Random elements with zeros, all-ones and single bits among them."""
    bits = np.iinfo(dtype).bits
    v = rng.integers(0, 2**bits, n, dtype=np.uint64 if bits == 64 else np.int64).astype(dtype)
    pick = rng.random(n)
    v[pick < 0.1] = 0
    v[(pick >= 0.1) & (pick < 0.2)] = np.iinfo(dtype).max
    single = pick >= 0.9
    v[single] = (np.ones(single.sum(), dtype) << rng.integers(0, bits, single.sum()).astype(dtype))
    return v


def per_element(fn, array):
    return [fn(int(x)) for x in array]


def rev_bits(x, bits):
    return int(format(x, f"0{bits}b")[::-1], 2)


def brev8(x, bits):
    return int.from_bytes(bytes(rev_bits(b, 8) for b in x.to_bytes(bits // 8, "little")), "little")


def rev8(x, bits):
    return int.from_bytes(x.to_bytes(bits // 8, "little"), "big")


def rot(x, s, bits):
    s %= bits
    return ((x << s) | (x >> (bits - s))) & ((1 << bits) - 1)


def clz(x, bits):
    return bits - x.bit_length()


def ctz(x, bits):
    return (x & -x).bit_length() - 1 if x else bits


VLENS = [128, 256, 512]


@pytest.mark.parametrize("vlen", VLENS)
@given(n=st.integers(0, 150), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=6, deadline=None)
def test_logic_and_reversals(obj, vlen, n, seed):
    rng, m = np.random.default_rng(seed), loaded(obj, vlen)
    a, b = values(rng, n, np.uint32), values(rng, n, np.uint32)
    out = m.alloc(8 * n + 8)
    m.call("andn_u32", out, put(m, a), put(m, b), n, ret=None)
    assert np.array_equal(m.read(out, np.uint32, n), a & ~b)

    a8, x = values(rng, n, np.uint8), int(rng.integers(0, 256))
    m.call("andn_scalar_u8", out, put(m, a8), x, n, ret=None)
    assert np.array_equal(m.read(out, np.uint8, n), a8 & ~np.uint8(x))

    h = values(rng, n, np.uint16)
    m.call("reverse_u16", out, put(m, h), n, ret=None)
    got = m.read(out, np.uint16, 3 * n).reshape(n, 3)
    assert [list(map(int, r)) for r in got] == [[rev_bits(v, 16), brev8(v, 16), rev8(v, 16)] for v in map(int, h)]

    d = values(rng, n, np.uint64)
    m.call("rev8_u64", out, put(m, d), n, ret=None)
    assert np.array_equal(m.read(out, np.uint64, n), d.byteswap())


@pytest.mark.parametrize("vlen", VLENS)
@given(n=st.integers(0, 150), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=6, deadline=None)
def test_counts(obj, vlen, n, seed):
    rng, m = np.random.default_rng(seed), loaded(obj, vlen)
    out = m.alloc(8 * 3 * n + 8)
    a = values(rng, n, np.uint32)
    m.call("counts_u32", out, put(m, a), n, ret=None)
    got = m.read(out, np.uint32, 3 * n).reshape(n, 3)
    assert [list(map(int, r)) for r in got] == [[clz(v, 32), ctz(v, 32), bin(v).count("1")] for v in map(int, a)]

    b = values(rng, n, np.uint8)
    m.call("counts_u8", out, put(m, b), n, ret=None)
    got = m.read(out, np.uint8, 2 * n).reshape(n, 2)
    assert [list(map(int, r)) for r in got] == [[clz(v, 8), ctz(v, 8)] for v in map(int, b)]

    d, old = values(rng, n, np.uint64), values(rng, n, np.uint64)
    pout = put(m, old)
    m.call("cpop_odd_u64", pout, put(m, d), n, ret=None)
    want = [bin(v).count("1") if v & 1 else int(o) for v, o in zip(map(int, d), old)]
    assert list(map(int, m.read(pout, np.uint64, n))) == want


@pytest.mark.parametrize("vlen", VLENS)
@given(n=st.integers(0, 150), seed=st.integers(0, 2**32 - 1), s=st.integers(0, 2**64 - 1))
@settings(max_examples=6, deadline=None)
def test_rotates_and_widening_shifts(obj, vlen, n, seed, s):
    rng, m = np.random.default_rng(seed), loaded(obj, vlen)
    out = m.alloc(8 * n + 8)
    a, amounts = values(rng, n, np.uint32), rng.integers(0, 2**32, n).astype(np.uint32)
    m.call("rol_u32", out, put(m, a), put(m, amounts), n, ret=None)
    assert list(map(int, m.read(out, np.uint32, n))) == [rot(int(v), int(k) % 32, 32) for v, k in zip(a, amounts)]

    d = values(rng, n, np.uint64)
    m.call("ror_u64", out, put(m, d), s, n, ret=None)
    assert list(map(int, m.read(out, np.uint64, n))) == [rot(v, 64 - s % 64, 64) for v in map(int, d)]
    m.call("ror45_u64", out, put(m, d), n, ret=None)
    assert list(map(int, m.read(out, np.uint64, n))) == [rot(v, 64 - 45, 64) for v in map(int, d)]

    h, hs = values(rng, n, np.uint16), rng.integers(0, 2**16, n).astype(np.uint16)
    m.call("wsll_u16", out, put(m, h), put(m, hs), n, ret=None)
    assert list(map(int, m.read(out, np.uint32, n))) == [(int(v) << (int(k) % 32)) % 2**32 for v, k in zip(h, hs)]

    m.call("wsll_u32", out, put(m, a), s, n, ret=None)
    assert list(map(int, m.read(out, np.uint64, n))) == [(int(v) << (s % 64)) % 2**64 for v in a]

    b = values(rng, n, np.uint8)
    m.call("wsll3_u8", out, put(m, b), n, ret=None)
    assert list(map(int, m.read(out, np.uint16, n))) == [int(v) << 3 for v in b]
