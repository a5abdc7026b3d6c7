"""The Machine API checks its arguments before anything reaches the C core:
each bad call is a clear TypeError/ValueError, and the Machine is unchanged
and usable afterwards.  Oracles: the ISA (32 registers of each kind, 12-bit
CSR numbers, 64-bit registers), NumPy's own dtype kinds and the psABI."""
import numpy as np
import pytest

from conftest import CODE, load_program
from rvai.emu import Machine, errors

RET5 = ["li a0, 5", "ret"]


@pytest.fixture
def m():
    machine = Machine(vlen=128)
    load_program(machine, RET5)
    return machine


BAD_CALLS = [
    (lambda m: m.x(32), ValueError),
    (lambda m: m.x(-1), ValueError),
    (lambda m: m.x(1.0), TypeError),
    (lambda m: m.f(32), ValueError),
    (lambda m: m.v(40), ValueError),
    (lambda m: m.v(3, [0] * 16), TypeError),
    (lambda m: m.v(3, b"\0" * 15), ValueError),
    (lambda m: m.x(5, 2**64), ValueError),
    (lambda m: m.x(5, -2**63 - 1), ValueError),
    (lambda m: m.x(5, 1.5), TypeError),
    (lambda m: m.f(5, 2**64), ValueError),
    (lambda m: m.csr(0x1000), ValueError),
    (lambda m: m.csr(-1), ValueError),
    (lambda m: m.alloc(16, align=3), ValueError),
    (lambda m: m.alloc(16, align=0), ValueError),
    (lambda m: m.alloc(-1), ValueError),
    (lambda m: m.alloc(16.5), TypeError),
    (lambda m: m.map(0x30000, 4096, "q"), ValueError),
    (lambda m: m.map(0x30000, 4096, 7), TypeError),
    (lambda m: m.map(0x30001, 4096, "r"), ValueError),
    (lambda m: m.map(-4096, 4096, "r"), ValueError),
    (lambda m: m.map(0x30000, 0, "r"), ValueError),
    (lambda m: m.map(0x30000, 2**64, "r"), ValueError),
    (lambda m: m.map(CODE, 4096, "r"), ValueError),            # overlaps the code
    (lambda m: m.unmap(0x30000, -1), ValueError),
    (lambda m: m.protect(CODE, 4096, "rwz"), ValueError),
    (lambda m: m.read(-8), ValueError),
    (lambda m: m.read(2**64), ValueError),
    (lambda m: m.read(CODE, np.uint8, -1), ValueError),
    (lambda m: m.read_bytes(-8, 1), ValueError),
    (lambda m: m.write(-8, b"x"), ValueError),
    (lambda m: m.write(CODE, 5), TypeError),                   # bytes(5) would be 5 zeros
    (lambda m: m.write(CODE, [1, 2]), TypeError),
    (lambda m: m.find_free(0), ValueError),
    (lambda m: m.call(0x10), ValueError),                      # page 0: the host-call return address
    (lambda m: m.call(0x4000), ValueError),
    (lambda m: m.call(CODE + 1), ValueError),
    (lambda m: m.call(CODE, ret="f128"), ValueError),
    (lambda m: m.call(CODE, 2**64), ValueError),
    (lambda m: m.call(CODE, "5"), TypeError),
    (lambda m: m.call(CODE, np.zeros(2)), TypeError),
    (lambda m: m.call("nope"), KeyError),
    (lambda m: m.load_elf(b"\x7fELF", base=0x1001), ValueError),
]


@pytest.mark.parametrize("bad,exc", BAD_CALLS)
def test_bad_arguments_are_refused_before_anything_runs(m, bad, exc):
    before = (m.regions(), m.instret, [m.x(i) for i in range(32)], m.pc)
    with pytest.raises(exc):
        bad(m)
    assert (m.regions(), m.instret, [m.x(i) for i in range(32)], m.pc) == before
    assert m.call(CODE) == 5


def test_ret_is_checked_before_the_run(m):
    load_program(m, ["li a0, 1", "sd a0, 0(a1)", "ret"], 0x20000)
    m.map(0x30000, 4096, "rw")
    with pytest.raises(ValueError, match="return kind"):
        m.call(0x20000, 0, 0x30000, ret="f128")
    assert m.instret == 0 and m.read(0x30000, np.uint64, 1)[0] == 0


@pytest.mark.parametrize("target", [42, 3.5, object(), b"generic"])
def test_machine_target_must_be_a_target_or_a_name(target):
    with pytest.raises(TypeError, match="target"):
        Machine(target=target)


@pytest.mark.parametrize("kw,exc", [({"vlen": 100}, ValueError), ({"vlen": "256"}, TypeError),
                                    ({"mem_limit": -1}, ValueError), ({"mem_limit": 4096}, ValueError)])
def test_machine_options_are_checked(kw, exc):
    with pytest.raises(exc):
        Machine(**kw)


NOT_PLAIN = [object, "U4", "S4", "M8[s]", "m8[s]", "V8", [("a", "i4"), ("b", "f8")]]


@pytest.mark.parametrize("dtype", NOT_PLAIN, ids=str)
def test_only_plain_numeric_dtypes_cross(m, dtype):
    addr = m.alloc(64)
    with pytest.raises(TypeError, match="plain numeric"):
        m.read(addr, dtype, 2)
    arr = np.zeros(2, dtype=dtype)
    with pytest.raises(TypeError, match="plain numeric"):
        m.write(addr, arr)
    with pytest.raises(TypeError, match="plain numeric"):
        m.alloc(arr)
    assert m.read(addr, np.uint8, 64).tobytes() == bytes(64)


def test_object_arrays_never_carry_host_pointers(m):
    with pytest.raises(TypeError):
        m.alloc(np.array([object()]))
    with pytest.raises(TypeError):
        m.read(m.alloc(8), object, 1)


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.uint16, np.int32, np.uint64, np.float16,
                                   np.float32, np.float64, np.complex64, ">i4", ">f8", "<u2"])
def test_plain_dtypes_round_trip_in_guest_byte_order(m, dtype):
    data = (np.arange(6) * 3 + 1).astype(dtype)
    addr = m.alloc(data)
    back = m.read(addr, dtype, data.shape)
    assert np.array_equal(back, data)
    # The guest is little-endian: its bytes are the little-endian encoding
    # whatever the host array's byte order.
    little = data.astype(np.dtype(dtype).newbyteorder("<"))
    assert m.read_bytes(addr, data.nbytes) == little.tobytes()


def test_huge_read_fails_before_allocating(m):
    with pytest.raises(errors.LoadFault):
        m.read(CODE, np.uint8, 1 << 60)
    with pytest.raises(errors.LoadFault):
        m.read_bytes(CODE, 1 << 62)


def test_integer_arguments_keep_their_bits(m):
    load_program(m, ["mv a0, a1", "ret"], 0x20000)
    assert m.call(0x20000, 0, -1, ret="u64") == 2**64 - 1
    assert m.call(0x20000, 0, 2**64 - 1) == -1
    assert m.call(0x20000, 0, np.uint64(2**63), ret="u64") == 2**63
    assert m.call(0x20000, 0, True) == 1
